/*
 * test_feed_cli.c: `renkei feed import` as a user runs it: a plain feed
 * with bad lines to a bundle file (bad lines reported as file:line, the
 * summary's counts), the same feed again with its state (nothing new),
 * warning lists dropping documentation addresses, the feed pushed to a
 * live hub as the organisation power-east (its identity, as `renkei admin
 * identity org:power-east` prints it, is created_by_ref: the hub checks)
 * and read back, and usage errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"
#include "proto_hub.h"

static proto_hub hub;

static void run(const char *args, proto_run_result *r)
{
	char errpath[300];
	snprintf(errpath, sizeof errpath, "%s/cli-stderr", hub.dir);
	proto_run(NULL, errpath, args, r);
}

static int setup(void **state)
{
	(void)state;
	proto_watchdog(120);
	return proto_hub_start(&hub) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	proto_hub_cleanup(&hub);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_feed_to_file_and_hub(void **state)
{
	char feed[300], out[300], st[300], tok[300], args[2048];
	proto_run_result r;
	json_error_t jerr;

	(void)state;
	snprintf(feed, sizeof feed, "%s/feed.txt", hub.dir);
	snprintf(out, sizeof out, "%s/feed.json", hub.dir);
	snprintf(st, sizeof st, "%s/feed-state", hub.dir);
	snprintf(tok, sizeof tok, "%s/feed.token", hub.dir);
	write_file(feed, "; Example DROP list\n"
			 "203.0.113.0/24 ; SBL1\n"
			 "not a value\n"
			 "evil.example\n"
			 "198.51.100.77\n"
			 "999.0.0.1\n");

	snprintf(args, sizeof args,
		 "feed import --format plain --name example-drop --marking green --confidence 70 "
		 "--no-builtin-warninglists --state %s --out %s %s", st, out, feed);
	run(args, &r);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out.data, "rejected: "));
	assert_non_null(strstr(r.out.data, "feed.txt:3: "));
	assert_non_null(strstr(r.out.data, "feed.txt:6: "));
	assert_non_null(strstr(r.out.data, "5 read: 3 imported (3 new, 0 changed), 0 unchanged"));
	proto_run_free(&r);
	json_t *bundle = json_load_file(out, 0, &jerr);
	assert_non_null(bundle);
	assert_int_equal(json_array_size(json_object_get(bundle, "objects")), 4);
	json_decref(bundle);

	/* Validated offline by the same program. */
	snprintf(args, sizeof args, "validate --quiet %s", out);
	run(args, &r);
	assert_int_equal(r.rc, 0);
	proto_run_free(&r);

	/* Again with the state: nothing new. */
	snprintf(args, sizeof args,
		 "feed import --format plain --name example-drop --marking green --confidence 70 "
		 "--no-builtin-warninglists --state %s --out %s %s", st, out, feed);
	run(args, &r);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out.data, "5 read: 0 imported (0 new, 0 changed), 3 unchanged"));
	proto_run_free(&r);

	/* With the built-in lists, the documentation addresses are dropped. */
	snprintf(args, sizeof args,
		 "feed import --format plain --name example-drop --marking green %s "
		 "--out /dev/null 2>&1", feed);
	run(args, &r);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out.data, "1 imported"));
	assert_non_null(strstr(r.out.data, "2 on warning lists (2 dropped, 0 flagged)"));
	assert_non_null(strstr(r.out.data, "warning list builtin-reserved: 2\n"));
	proto_run_free(&r);

	/* To the hub, then read back. */
	write_file(tok, proto_token("power-analyst"));
	snprintf(args, sizeof args,
		 "feed import --format plain --name example-drop --marking green "
		 "--no-builtin-warninglists --identity identity--bae1634f-2873-5dd6-a9b0-a693611f2f56 "
		 "--hub http://127.0.0.1:%u --root nation --token-file %s --collection %s %s",
		 hub.port, tok, PROTO_NATION_COLL, feed);
	run(args, &r);
	if (r.rc != 0)
		fail_msg("feed import --hub: %d\n%s\n%s", r.rc, r.out.data, r.err);
	assert_non_null(strstr(r.out.data, "hub: 4 objects sent: 4 succeeded, 0 failed, 0 pending\n"));
	proto_run_free(&r);

	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%u", hub.port);
	setenv("RENKEI_URL", url, 1);
	setenv("RENKEI_TOKEN", proto_token("power-analyst"), 1);
	snprintf(args, sizeof args, "get --root nation --collection %s objects --type indicator --all",
		 PROTO_NATION_COLL);
	run(args, &r);
	assert_int_equal(r.rc, 0);
	json_t *doc = json_loads(r.out.data, 0, &jerr);
	assert_non_null(doc);
	size_t found = 0, i;
	json_t *o;
	json_array_foreach(json_object_get(doc, "objects"), i, o) {
		const char *p = json_string_value(json_object_get(o, "pattern"));
		if (p && (strcmp(p, "[ipv4-addr:value = '203.0.113.0/24']") == 0 ||
			  strcmp(p, "[domain-name:value = 'evil.example']") == 0 ||
			  strcmp(p, "[ipv4-addr:value = '198.51.100.77']") == 0))
			found++;
	}
	assert_int_equal(found, 3);
	json_decref(doc);
	proto_run_free(&r);
}

static void test_usage_errors(void **state)
{
	proto_run_result r;
	(void)state;
	run("feed import --format plain --name x /dev/null", &r);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "--marking"));
	proto_run_free(&r);
	run("feed import --format xml --name x --marking red /dev/null", &r);
	assert_int_equal(r.rc, 2);
	proto_run_free(&r);
	run("feed import --format plain --name x --marking red /no/such/file", &r);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "/no/such/file"));
	proto_run_free(&r);
	run("feed --help", &r);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out.data, "usage: renkei feed import"));
	proto_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feed_to_file_and_hub),
		cmocka_unit_test(test_usage_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
