/*
 * test_uplink_spool.c: the sightings spool on disk: records survive a
 * reopen, a torn last line (a crash during an append) is cut, delivery
 * goes in order and stops at the first record the hub did not take, a
 * damaged line is reported with its line and byte offset and skipped, and
 * the bound on disk refuses an append without writing anything.
 *
 * The "hub" here is a receiver that keeps what it was sent in a JSON
 * array and answers per record from a script of outcomes, so every test
 * checks what arrived, in which order, and how often.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "uplink.h"
#include "uplink_test_util.h"

typedef struct receiver {
	json_t *got;            /* every record received, in order */
	const uplink_sent *script; /* outcome of the i-th record received; past the end: OK */
	size_t n_script;
	bool down;              /* the hub is unreachable */
	size_t calls;
} receiver;

static rk_err receive(void *arg, json_t *const *records, size_t n, uplink_sent *outcomes,
		      rk_errctx *ctx)
{
	receiver *r = arg;

	r->calls++;
	if (r->down)
		return rk_fail(ctx, RK_EUNAVAIL, "http://127.0.0.1:1/", "connection refused");
	for (size_t i = 0; i < n; i++) {
		size_t k = json_array_size(r->got);
		outcomes[i] = k < r->n_script ? r->script[k] : UPLINK_SENT_OK;
		json_array_append(r->got, records[i]);
	}
	return RK_OK;
}

static char dir[64];

static int setup(void **state)
{
	(void)state;
	return uplink_test_mkdir(dir, sizeof dir, "rk-spool");
}

static int teardown(void **state)
{
	(void)state;
	return uplink_test_rmdir(dir);
}

static json_t *rec(int n)
{
	return json_pack("{s:i, s:s}", "n", n, "type", "sighting");
}

static void append_n(uplink_spool *s, int from, int count)
{
	for (int i = from; i < from + count; i++) {
		json_t *r = rec(i);
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		assert_int_equal(uplink_spool_append(s, &r, 1, &ctx), RK_OK);
		json_decref(r);
	}
}

static int got_n(const receiver *r, size_t i)
{
	return (int)json_integer_value(json_object_get(json_array_get(r->got, i), "n"));
}

static void test_reopen_and_deliver(void **state)
{
	uplink_spool *s = NULL;
	uplink_spool_stats st;
	receiver r = { .got = json_array() };
	rk_errctx ctx;
	size_t done;

	(void)state;
	rk_errctx_clear(&ctx);
	assert_int_equal(uplink_spool_open(dir, 0, &s, &ctx), RK_OK);
	append_n(s, 0, 5);
	uplink_spool_free(s); /* the sensor stops with the hub away */

	assert_int_equal(uplink_spool_open(dir, 0, &s, &ctx), RK_OK);
	uplink_spool_stats_get(s, &st);
	assert_int_equal(st.pending, 5);
	r.down = true;
	assert_int_equal(uplink_spool_deliver(s, receive, &r, 2, &done, &ctx), RK_EUNAVAIL);
	assert_int_equal(done, 0);
	assert_int_equal(json_array_size(r.got), 0);
	r.down = false;
	rk_errctx_clear(&ctx);
	assert_int_equal(uplink_spool_deliver(s, receive, &r, 2, &done, &ctx), RK_OK);
	assert_int_equal(done, 5);
	assert_int_equal(r.calls, 4); /* one refused, then batches of 2, 2, 1 */
	assert_int_equal(json_array_size(r.got), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(got_n(&r, (size_t)i), i);
	uplink_spool_stats_get(s, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.delivered, 5);
	assert_int_equal(st.bytes, 0); /* emptied once everything was done */
	uplink_spool_free(s);

	/* Reopened: nothing is sent again. */
	assert_int_equal(uplink_spool_open(dir, 0, &s, &ctx), RK_OK);
	assert_int_equal(uplink_spool_deliver(s, receive, &r, 2, &done, &ctx), RK_OK);
	assert_int_equal(done, 0);
	assert_int_equal(json_array_size(r.got), 5);
	uplink_spool_free(s);
	json_decref(r.got);
}

static void test_partial_delivery_keeps_order(void **state)
{
	uplink_spool *s = NULL;
	static const uplink_sent script[] = { UPLINK_SENT_OK, UPLINK_SENT_REJECTED,
					      UPLINK_SENT_RETRY, UPLINK_SENT_OK };
	receiver r = { .got = json_array(), .script = script, .n_script = 4 };
	uplink_spool_stats st;
	rk_errctx ctx;
	size_t done;

	(void)state;
	rk_errctx_clear(&ctx);
	assert_int_equal(uplink_spool_open(dir, 0, &s, &ctx), RK_OK);
	append_n(s, 10, 4);
	/* One batch of 4: records 10 and 11 are done, 12 must be retried,
	 * and 13 (stored by the hub) waits behind it. */
	assert_int_equal(uplink_spool_deliver(s, receive, &r, 10, &done, &ctx), RK_OK);
	assert_int_equal(done, 2);
	uplink_spool_stats_get(s, &st);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.pending, 2);
	uplink_spool_free(s);
	/* The refused record is kept, not lost. */
	char path[128], *text = NULL;
	size_t len;
	snprintf(path, sizeof path, "%s/rejected.jsonl", dir);
	assert_int_equal(rk_read_file(path, 4096, &text, &len, &ctx), RK_OK);
	assert_string_equal(text, "{\"n\":11,\"type\":\"sighting\"}\n");
	free(text);

	/* A restart resends from 12, in order, and 13 again (the hub answers
	 * a duplicate as a success). */
	assert_int_equal(uplink_spool_open(dir, 0, &s, &ctx), RK_OK);
	assert_int_equal(uplink_spool_deliver(s, receive, &r, 10, &done, &ctx), RK_OK);
	assert_int_equal(done, 2);
	assert_int_equal(json_array_size(r.got), 6);
	assert_int_equal(got_n(&r, 4), 12);
	assert_int_equal(got_n(&r, 5), 13);
	uplink_spool_stats_get(s, &st);
	assert_int_equal(st.pending, 0);
	uplink_spool_free(s);
	json_decref(r.got);
}

static void write_raw(const char *name, const char *text, const char *mode)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, mode);
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_torn_and_corrupt_lines(void **state)
{
	uplink_spool *s = NULL;
	receiver r = { .got = json_array() };
	uplink_spool_stats st;
	rk_errctx ctx;
	size_t done;

	(void)state;
	rk_errctx_clear(&ctx);
	/* Three lines, the second damaged, then a torn fourth (no newline). */
	write_raw("spool.jsonl",
		  "{\"n\":1}\n"
		  "{\"n\":2,\"typ\x01\n"
		  "{\"n\":3}\n"
		  "{\"n\":4,\"ty", "w");
	assert_int_equal(uplink_spool_open(dir, 0, &s, &ctx), RK_OK);
	uplink_spool_stats_get(s, &st);
	assert_int_equal(st.pending, 3);
	assert_int_equal(st.bytes, 8 + 13 + 8); /* the torn line is cut */
	assert_int_equal(uplink_spool_deliver(s, receive, &r, 10, &done, &ctx), RK_OK);
	assert_int_equal(done, 2);
	assert_int_equal(json_array_size(r.got), 2);
	assert_int_equal(got_n(&r, 0), 1);
	assert_int_equal(got_n(&r, 1), 3);
	uplink_spool_stats_get(s, &st);
	assert_int_equal(st.corrupt, 1);
	assert_non_null(strstr(st.last_corrupt, "line 2 (byte 8)"));
	assert_int_equal(st.pending, 0);
	/* Appending after the cut gives whole lines again. */
	append_n(s, 5, 1);
	assert_int_equal(uplink_spool_deliver(s, receive, &r, 10, &done, &ctx), RK_OK);
	assert_int_equal(done, 1);
	assert_int_equal(got_n(&r, 2), 5);
	uplink_spool_free(s);
	json_decref(r.got);
}

/* A damaged line behind a record that must be retried is reported once,
 * when the position finally moves past it. */
static void test_corrupt_line_reported_once(void **state)
{
	uplink_spool *s = NULL;
	static const uplink_sent script[] = { UPLINK_SENT_OK, UPLINK_SENT_RETRY };
	receiver r = { .got = json_array(), .script = script, .n_script = 2 };
	uplink_spool_stats st;
	rk_errctx ctx;
	size_t done;

	(void)state;
	rk_errctx_clear(&ctx);
	write_raw("spool.jsonl", "{\"n\":1}\n{\"n\":2}\n[1]\n{\"n\":3}\n", "w");
	assert_int_equal(uplink_spool_open(dir, 0, &s, &ctx), RK_OK);
	assert_int_equal(uplink_spool_deliver(s, receive, &r, 10, &done, &ctx), RK_OK);
	assert_int_equal(done, 1);
	uplink_spool_stats_get(s, &st);
	assert_int_equal(st.corrupt, 0);
	assert_int_equal(uplink_spool_deliver(s, receive, &r, 10, &done, &ctx), RK_OK);
	assert_int_equal(done, 2);
	uplink_spool_stats_get(s, &st);
	assert_int_equal(st.corrupt, 1);
	assert_non_null(strstr(st.last_corrupt, "line 3 (byte 16)"));
	assert_int_equal(st.pending, 0);
	/* n:1 once; n:2 and n:3 (sent behind it in the first batch) twice */
	assert_int_equal(json_array_size(r.got), 5);
	assert_int_equal(got_n(&r, 3), 2);
	assert_int_equal(got_n(&r, 4), 3);
	uplink_spool_free(s);
	json_decref(r.got);
}

static void test_position_past_end_means_done(void **state)
{
	uplink_spool *s = NULL;
	receiver r = { .got = json_array() };
	rk_errctx ctx;
	size_t done;

	(void)state;
	rk_errctx_clear(&ctx);
	/* A crash after emptying the file and before resetting the position. */
	write_raw("spool.jsonl", "", "w");
	write_raw("spool.pos", "120 7\n", "w");
	assert_int_equal(uplink_spool_open(dir, 0, &s, &ctx), RK_OK);
	append_n(s, 1, 2);
	assert_int_equal(uplink_spool_deliver(s, receive, &r, 10, &done, &ctx), RK_OK);
	assert_int_equal(done, 2);
	assert_int_equal(json_array_size(r.got), 2);
	uplink_spool_free(s);

	write_raw("spool.pos", "garbage\n", "w");
	rk_errctx_clear(&ctx);
	assert_int_equal(uplink_spool_open(dir, 0, &s, &ctx), RK_EPARSE);
	assert_non_null(strstr(ctx.path, "spool.pos"));
	assert_null(s);
	json_decref(r.got);
}

static void test_bound_on_disk(void **state)
{
	uplink_spool *s = NULL;
	uplink_spool_stats st;
	rk_errctx ctx;
	json_t *r = rec(1);

	(void)state;
	rk_errctx_clear(&ctx);
	assert_int_equal(uplink_spool_open(dir, 40, &s, &ctx), RK_OK);
	assert_int_equal(uplink_spool_append(s, &r, 1, &ctx), RK_OK); /* 26 bytes */
	assert_int_equal(uplink_spool_append(s, &r, 1, &ctx), RK_ETOOBIG);
	assert_non_null(strstr(ctx.msg, "spool full"));
	uplink_spool_stats_get(s, &st);
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.bytes, 26);
	uplink_spool_free(s);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reopen_and_deliver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_delivery_keeps_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_and_corrupt_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_line_reported_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_position_past_end_means_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound_on_disk, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
