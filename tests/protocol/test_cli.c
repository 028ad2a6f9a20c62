/*
 * test_cli.c: `renkei push` and `renkei get` against a live hub.
 *
 * Runs the real program ($RENKEI_BIN) as a user would, with the token in
 * RENKEI_TOKEN: pushes a bundle in small envelopes (one object invalid),
 * checks the per-object report and totals, reads the collection back with
 * paging (--limit 1 --all), reads one object, and checks that a refused
 * request prints the TAXII error resource and exits 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "common.h"
#include "proto_hub.h"

static proto_hub hub;

/* Runs `$RENKEI_BIN args` as user (NULL: no token) against the hub. */
static void run(const char *user, const char *args, proto_run_result *r)
{
	char url[64];

	snprintf(url, sizeof url, "http://127.0.0.1:%u", hub.port);
	setenv("RENKEI_URL", url, 1);
	if (user)
		setenv("RENKEI_TOKEN", proto_token(user) ? proto_token(user) : user, 1);
	else
		unsetenv("RENKEI_TOKEN");
	proto_hub_run(&hub, args, r);
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

#define BAD_ID "indicator--00000000-0000-4000-8000-00000000c1f3"

static void test_push_then_get(void **state)
{
	char path[300], args[1024];
	proto_run_result r;

	(void)state;
	snprintf(path, sizeof path, "%s/push.json", hub.dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"type\": \"bundle\", \"id\": \"bundle--00000000-0000-4000-8000-0000000000b1\", "
	      "\"objects\": [",
	      f);
	for (unsigned i = 0; i < 5; i++) {
		fprintf(f,
			"%s{\"type\": \"indicator\", \"spec_version\": \"2.1\", "
			"\"id\": \"indicator--00000000-0000-4000-8000-00000000c1%02u\", "
			"\"created\": \"2024-05-01T00:00:00.000Z\", "
			"\"modified\": \"2024-05-01T00:00:00.000Z\", "
			"\"pattern\": \"[ipv4-addr:value = '203.0.113.%u']\", "
			"\"pattern_type\": \"stix\", \"valid_from\": \"2024-05-01T00:00:00Z\"}",
			i ? ", " : "", i, i + 1);
	}
	fputs(", {\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": \"" BAD_ID "\", "
	      "\"created\": \"2024-05-01T00:00:00.000Z\", "
	      "\"modified\": \"2024-05-01T00:00:00.000Z\", "
	      "\"pattern\": \"[ipv4-addr:value = '203.0.113.9']\", "
	      "\"pattern_type\": \"stix\", \"valid_from\": \"soon\"}]}",
	      f);
	fclose(f);

	snprintf(args, sizeof args, "push --root nation --collection %s --batch 2 %s",
		 PROTO_NATION_COLL, path);
	run("power-analyst", args, &r);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.out.data, "failed: " BAD_ID " 2024-05-01T00:00:00.000Z: "));
	assert_non_null(strstr(r.out.data, "valid_from: not an RFC 3339 timestamp\n"));
	assert_non_null(strstr(r.out.data, "6 objects: 5 succeeded, 1 failed, 0 pending\n"));
	proto_run_free(&r);

	/* Pushing again: duplicates are successes. */
	run("power-analyst", args, &r);
	assert_non_null(strstr(r.out.data, "6 objects: 5 succeeded, 1 failed, 0 pending\n"));
	proto_run_free(&r);

	/* Page by page, merged. */
	snprintf(args, sizeof args, "get --root nation --collection %s objects --limit 1 --all",
		 PROTO_NATION_COLL);
	run("power-analyst", args, &r);
	assert_int_equal(r.rc, 0);
	json_error_t jerr;
	json_t *doc = json_loads(r.out.data, 0, &jerr);
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_object_get(doc, "objects")), 5);
	assert_false(json_is_true(json_object_get(doc, "more")));
	assert_null(json_object_get(doc, "next"));
	json_decref(doc);
	proto_run_free(&r);

	/* One object, filtered by type on the way. */
	snprintf(args, sizeof args,
		 "get --root nation --collection %s object "
		 "indicator--00000000-0000-4000-8000-00000000c103",
		 PROTO_NATION_COLL);
	run("power-analyst", args, &r);
	assert_int_equal(r.rc, 0);
	doc = json_loads(r.out.data, 0, &jerr);
	assert_non_null(doc);
	json_t *obj = json_array_get(json_object_get(doc, "objects"), 0);
	assert_string_equal(json_string_value(json_object_get(obj, "pattern")),
			    "[ipv4-addr:value = '203.0.113.4']");
	json_decref(doc);
	proto_run_free(&r);
}

static void test_errors(void **state)
{
	char args[512];
	proto_run_result r;

	(void)state;
	run("not-a-valid-token-not-a-valid-token", "get --root nation collections", &r);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "renkei get: "));
	assert_non_null(strstr(r.err, "HTTP 401"));
	proto_run_free(&r);

	/* A reader may not write: the whole push is refused. */
	snprintf(args, sizeof args, "push --root gov --collection %s %s/push.json",
		 PROTO_GOV_COLL, hub.dir);
	run("meti-reader", args, &r);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "renkei push: "));
	assert_non_null(strstr(r.err, "HTTP 403"));
	proto_run_free(&r);

	run("power-analyst", "get --root nation objects", &r);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "objects: needs --collection ID"));
	proto_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_then_get),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
