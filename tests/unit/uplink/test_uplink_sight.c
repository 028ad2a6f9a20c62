/*
 * test_uplink_sight.c: hits aggregated into one STIX sighting per
 * indicator per interval: counts from several threads, first/last seen,
 * the deterministic id, markings copied from the indicator, intervals
 * closed by the clock (a test clock here), a restarted sensor never
 * reusing an interval's id, and intervals kept in memory while the spool
 * is full. Every sighting made is checked against the STIX validator.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "stix.h"
#include "uplink.h"
#include "uplink_test_util.h"

#define IDENTITY "identity--5a0f4c1e-9b8d-5e7f-a1b2-c3d4e5f6a7b8"
#define IND_A "indicator--11111111-1111-4111-8111-111111111111"
#define IND_B "indicator--22222222-2222-4222-8222-222222222222"
#define AMBER "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
#define SEC 1000000LL
#define T0 (1767225600LL * SEC) /* 2026-01-01T00:00:00Z */

static char dir[64];
static rk_time clock_now;

static rk_time test_clock(void *arg)
{
	(void)arg;
	return __atomic_load_n(&clock_now, __ATOMIC_SEQ_CST);
}

static int setup(void **state)
{
	(void)state;
	clock_now = T0 + 5 * SEC;
	return uplink_test_mkdir(dir, sizeof dir, "rk-sight");
}

static int teardown(void **state)
{
	(void)state;
	return uplink_test_rmdir(dir);
}

typedef struct collected {
	json_t *got;
} collected;

static rk_err collect(void *arg, json_t *const *records, size_t n, uplink_sent *outcomes,
		      rk_errctx *ctx)
{
	collected *c = arg;
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		json_array_append(c->got, records[i]);
		outcomes[i] = UPLINK_SENT_OK;
	}
	return RK_OK;
}

static const json_t *find(const json_t *list, const char *of, size_t nth)
{
	size_t i;
	const json_t *o;
	json_array_foreach(list, i, o) {
		const char *ref = json_string_value(json_object_get(o, "sighting_of_ref"));
		if (ref && strcmp(ref, of) == 0 && nth-- == 0)
			return o;
	}
	return NULL;
}

static void assert_valid_stix(const json_t *o)
{
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	rk_err err = stix_validate_object(o, "", NULL, &ctx);
	if (err)
		fprintf(stderr, "invalid sighting: %s: %s\n", ctx.path, ctx.msg);
	assert_int_equal(err, RK_OK);
}

typedef struct hitter {
	uplink_sight *s;
	int n;
} hitter;

static void *hit_many(void *arg)
{
	hitter *h = arg;
	const char *marks[] = { AMBER };
	for (int i = 0; i < h->n; i++)
		assert_int_equal(uplink_sight_record(h->s, IND_A, marks, 1, T0 + i), RK_OK);
	return NULL;
}

static void test_one_sighting_per_indicator_and_interval(void **state)
{
	uplink_spool *sp = NULL;
	uplink_sight *s = NULL;
	uplink_sight_opts o = { .identity = IDENTITY, .interval_seconds = 60, .clock = test_clock };
	collected c = { json_array() };
	pthread_t th[4];
	hitter h = { NULL, 2500 };
	rk_errctx ctx;
	size_t closed;

	(void)state;
	rk_errctx_clear(&ctx);
	assert_int_equal(uplink_spool_open(dir, 0, &sp, &ctx), RK_OK);
	assert_int_equal(uplink_sight_new(&o, sp, &s, &ctx), RK_OK);
	h.s = s;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hit_many, &h), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(uplink_sight_record(s, IND_B, NULL, 0, T0 - 7 * SEC), RK_OK);
	assert_int_equal(uplink_sight_record(s, "malware--11111111-1111-4111-8111-111111111111",
					     NULL, 0, T0), RK_EINVAL);
	/* The interval has not ended: nothing to close. */
	assert_int_equal(uplink_sight_close(s, false, &closed, &ctx), RK_OK);
	assert_int_equal(closed, 0);
	/* The clock passes the end of [T0, T0+60 s); a hit then opens the next. */
	clock_now = T0 + 61 * SEC;
	assert_int_equal(uplink_sight_record(s, IND_A, NULL, 0, T0 + 61 * SEC), RK_OK);
	assert_int_equal(uplink_sight_close(s, false, &closed, &ctx), RK_OK);
	assert_int_equal(closed, 2);
	assert_int_equal(uplink_spool_deliver(sp, collect, &c, 100, NULL, &ctx), RK_OK);
	assert_int_equal(json_array_size(c.got), 2);

	const json_t *a = find(c.got, IND_A, 0), *b = find(c.got, IND_B, 0);
	assert_non_null(a);
	assert_non_null(b);
	assert_valid_stix(a);
	assert_valid_stix(b);
	assert_int_equal(json_integer_value(json_object_get(a, "count")), 10000);
	assert_int_equal(json_integer_value(json_object_get(b, "count")), 1);
	assert_string_equal(json_string_value(json_object_get(a, "first_seen")),
			    "2026-01-01T00:00:00.000000Z");
	assert_string_equal(json_string_value(json_object_get(a, "last_seen")),
			    "2026-01-01T00:00:00.002499Z");
	assert_string_equal(json_string_value(json_object_get(b, "first_seen")),
			    "2025-12-31T23:59:53.000000Z");
	/* The first interval starts when the aggregator was made (T0 + 5 s). */
	assert_string_equal(json_string_value(json_object_get(a, "created")),
			    "2026-01-01T00:00:05.000Z");
	assert_string_equal(json_string_value(json_object_get(a, "created_by_ref")), IDENTITY);
	assert_string_equal(json_string_value(json_array_get(json_object_get(a, "where_sighted_refs"), 0)),
			    IDENTITY);
	assert_string_equal(json_string_value(json_array_get(json_object_get(a, "object_marking_refs"), 0)),
			    AMBER);
	assert_null(json_object_get(b, "object_marking_refs"));
	/* The id: UUIDv5 over identity, indicator and interval start. */
	char uuid[RK_UUID_BUF], want[80];
	const char *name = IDENTITY "\n" IND_A "\n2026-01-01T00:00:05.000000Z";
	assert_int_equal(rk_uuid_v5(UPLINK_SIGHTING_NAMESPACE, name, strlen(name), uuid), RK_OK);
	snprintf(want, sizeof want, "sighting--%s", uuid);
	assert_string_equal(json_string_value(json_object_get(a, "id")), want);

	/* Closing everything (the sensor stops) closes the second interval,
	 * which starts on the minute. */
	assert_int_equal(uplink_sight_close(s, true, &closed, &ctx), RK_OK);
	assert_int_equal(closed, 1);
	assert_int_equal(uplink_spool_deliver(sp, collect, &c, 100, NULL, &ctx), RK_OK);
	const json_t *a2 = find(c.got, IND_A, 1);
	assert_non_null(a2);
	assert_string_equal(json_string_value(json_object_get(a2, "created")),
			    "2026-01-01T00:01:00.000Z");
	assert_int_equal(json_integer_value(json_object_get(a2, "count")), 1);
	char first_id[80];
	snprintf(first_id, sizeof first_id, "%s", json_string_value(json_object_get(a2, "id")));
	uplink_sight_free(s);

	/* A restart inside the same minute: its interval starts now, so its
	 * sighting has another id than the one closed at exit. */
	clock_now = T0 + 70 * SEC;
	assert_int_equal(uplink_sight_new(&o, sp, &s, &ctx), RK_OK);
	assert_int_equal(uplink_sight_record(s, IND_A, NULL, 0, T0), RK_OK);
	assert_int_equal(uplink_sight_close(s, true, &closed, &ctx), RK_OK);
	assert_int_equal(uplink_spool_deliver(sp, collect, &c, 100, NULL, &ctx), RK_OK);
	const json_t *a3 = find(c.got, IND_A, 2);
	assert_non_null(a3);
	assert_string_not_equal(json_string_value(json_object_get(a3, "id")), first_id);
	assert_string_equal(json_string_value(json_object_get(a3, "created")),
			    "2026-01-01T00:01:10.000Z");
	uplink_sight_free(s);
	uplink_spool_free(sp);
	json_decref(c.got);
}

static void test_full_spool_keeps_the_interval(void **state)
{
	uplink_spool *sp = NULL;
	uplink_sight *s = NULL;
	uplink_sight_opts o = { .identity = IDENTITY, .interval_seconds = 10, .clock = test_clock };
	collected c = { json_array() };
	rk_errctx ctx;
	size_t closed;

	(void)state;
	rk_errctx_clear(&ctx);
	assert_int_equal(uplink_spool_open(dir, 700, &sp, &ctx), RK_OK);
	assert_int_equal(uplink_sight_new(&o, sp, &s, &ctx), RK_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(uplink_sight_record(s, IND_A, NULL, 0, T0), RK_OK);
	clock_now += 10 * SEC;
	assert_int_equal(uplink_sight_close(s, false, &closed, &ctx), RK_OK);
	assert_int_equal(closed, 1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(uplink_sight_record(s, IND_A, NULL, 0, T0), RK_OK);
	clock_now += 10 * SEC;
	/* The hub is away and the spool holds one sighting only. */
	assert_int_equal(uplink_sight_close(s, false, &closed, &ctx), RK_ETOOBIG);
	assert_non_null(strstr(ctx.msg, "spool full"));
	assert_int_equal(closed, 0);
	/* Delivered, the spool has room: the kept interval goes in. */
	rk_errctx_clear(&ctx);
	assert_int_equal(uplink_spool_deliver(sp, collect, &c, 100, NULL, &ctx), RK_OK);
	assert_int_equal(uplink_sight_close(s, false, &closed, &ctx), RK_OK);
	assert_int_equal(closed, 1);
	assert_int_equal(uplink_spool_deliver(sp, collect, &c, 100, NULL, &ctx), RK_OK);
	assert_int_equal(json_array_size(c.got), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(c.got, 0), "count")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(c.got, 1), "count")), 4);
	uplink_sight_free(s);
	uplink_spool_free(sp);
	json_decref(c.got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_sighting_per_indicator_and_interval, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_full_spool_keeps_the_interval, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
