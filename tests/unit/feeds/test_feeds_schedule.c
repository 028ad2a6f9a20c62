/*
 * test_feeds_schedule.c: the feed schedule's arithmetic and its status
 * file, without a hub: intervals as operators write them, when a feed is
 * due (its interval after the last run; after failures a minute doubled
 * per failure, never more than the interval), and a status file that is
 * absent or damaged read as "never ran".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "feeds.h"

#define SECOND ((rk_time)1000000)

static void test_interval_parse(void **state)
{
	static const struct {
		const char *text;
		bool ok;
		unsigned seconds;
	} cases[] = {
		{ "90", true, 90 },       { "90s", true, 90 },     { "15m", true, 900 },
		{ "1h", true, 3600 },     { "2d", true, 172800 },  { "30d", true, 2592000 },
		{ "10", true, 10 },       { "9", false, 0 },       { "31d", false, 0 },
		{ "", false, 0 },         { "h", false, 0 },       { "1w", false, 0 },
		{ "1hh", false, 0 },      { "-5m", false, 0 },     { "1.5h", false, 0 },
		{ "99999999999999999999", false, 0 },
	};
	(void)state;
	for (size_t i = 0; i < RK_ARRAY_LEN(cases); i++) {
		unsigned got = 0;
		bool ok = feeds_interval_parse(cases[i].text, &got);
		if (ok != cases[i].ok || (ok && got != cases[i].seconds))
			fail_msg("'%s': %s %u", cases[i].text, ok ? "ok" : "refused", got);
	}
}

static void test_due(void **state)
{
	feeds_job j = { .interval = 3600 };
	feeds_job_status st = { 0 };
	const rk_time t = 1700000000 * SECOND;

	(void)state;
	assert_int_equal(feeds_job_due(&j, &st), 0); /* never ran: now */
	st.last_attempt = t;
	assert_int_equal(feeds_job_due(&j, &st), t + 3600 * SECOND);
	/* Failures: 1, 2, 4 ... minutes, never past the interval. */
	static const rk_time waits[] = { 60, 120, 240, 480, 960, 1920, 3600, 3600 };
	for (unsigned f = 1; f <= RK_ARRAY_LEN(waits); f++) {
		st.failures = f;
		assert_int_equal(feeds_job_due(&j, &st), t + waits[f - 1] * SECOND);
	}
	st.failures = 4000000000u; /* no overflow however many */
	assert_int_equal(feeds_job_due(&j, &st), t + 3600 * SECOND);
	j.interval = 30; /* an interval shorter than the first retry wins */
	st.failures = 1;
	assert_int_equal(feeds_job_due(&j, &st), t + 30 * SECOND);
}

static void test_status_absent_and_damaged(void **state)
{
	char dir[] = "/tmp/renkei-feed-status-XXXXXX", path[256], job_name[] = "drop",
	     source[] = "http://127.0.0.1/drop.txt";
	feeds_schedule s = { 0 };
	feeds_job j = { .name = job_name, .source = source, .interval = 60 };
	feeds_job_status st;
	rk_errctx ctx;

	(void)state;
	assert_non_null(mkdtemp(dir));
	s.state = dir;
	rk_errctx_clear(&ctx);
	memset(&st, 0xff, sizeof st);
	assert_int_equal(feeds_job_status_load(&s, &j, &st, &ctx), RK_OK);
	assert_int_equal(st.last_attempt, 0);
	assert_int_equal(st.failures, 0);
	assert_string_equal(st.etag, "");

	/* The file names the feed: <name>-<first 8 hex of its UUIDv5>.status. */
	char uuid[RK_UUID_BUF];
	FILE *f;
	assert_int_equal(rk_uuid_v5(FEEDS_NAMESPACE, "drop", 4, uuid), RK_OK);
	snprintf(path, sizeof path, "%s/drop-%.8s.status", dir, uuid);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "{\"last_attempt\": \"2026-01-02T03:04:05.000Z\", \"failures\": 3, "
		   "\"etag\": \"\\\"x\\\"\", \"etag_source\": \"%s\", \"counts\": {\"imported\": 7}}",
		source);
	fclose(f);
	assert_int_equal(feeds_job_status_load(&s, &j, &st, &ctx), RK_OK);
	assert_int_equal(st.failures, 3);
	assert_int_equal(st.counts.imported, 7);
	assert_string_equal(st.etag, "\"x\"");
	rk_time t;
	assert_true(rk_time_parse("2026-01-02T03:04:05.000Z", &t));
	assert_int_equal(st.last_attempt, t);

	/* An ETag of another source is not sent to this one. */
	char other[] = "http://127.0.0.1/other.txt";
	j.source = other;
	assert_int_equal(feeds_job_status_load(&s, &j, &st, &ctx), RK_OK);
	assert_string_equal(st.etag, "");
	j.source = source;

	/* Damaged: read as never ran, not an error. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"last_attempt\": \"2026-01-02", f);
	fclose(f);
	assert_int_equal(feeds_job_status_load(&s, &j, &st, &ctx), RK_OK);
	assert_int_equal(st.last_attempt, 0);
	assert_int_equal(st.failures, 0);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interval_parse),
		cmocka_unit_test(test_due),
		cmocka_unit_test(test_status_absent_and_damaged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
