/*
 * test_feed_cli.c: `renkei feed import` as a user runs it: a plain feed
 * with bad lines to a bundle file (bad lines reported as file:line, the
 * summary's counts), the same feed again with its state (nothing new),
 * warning lists dropping documentation addresses, the feed pushed to a
 * live hub as the organisation power-east (its identity, as `renkei admin
 * identity org:power-east` prints it, is created_by_ref: the hub checks)
 * and read back; a remote TAXII collection of the same hub as a feed
 * (every indicator the first time, page by page; nothing the second; only
 * what was added the third; a source that is down, refuses, answers
 * garbage or stalls fails and leaves the state alone); and usage errors.
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
	proto_hub_run(&hub, args, &r);
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
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 0);
	proto_run_free(&r);

	/* Again with the state: nothing new. */
	snprintf(args, sizeof args,
		 "feed import --format plain --name example-drop --marking green --confidence 70 "
		 "--no-builtin-warninglists --state %s --out %s %s", st, out, feed);
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out.data, "5 read: 0 imported (0 new, 0 changed), 3 unchanged"));
	proto_run_free(&r);

	/* With the built-in lists, the documentation addresses are dropped. */
	snprintf(args, sizeof args,
		 "feed import --format plain --name example-drop --marking green %s "
		 "--out /dev/null 2>&1", feed);
	proto_hub_run(&hub, args, &r);
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
	proto_hub_run(&hub, args, &r);
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
	proto_hub_run(&hub, args, &r);
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

static char *slurp(const char *path)
{
	char *data = NULL;
	size_t len = 0;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	if (rk_read_file(path, 1 << 20, &data, &len, &ctx))
		return NULL;
	return data;
}

/* The indicator ids of a bundle file, in order, joined by ' '. */
static void bundle_ids(const char *path, char *out, size_t n)
{
	json_error_t jerr;
	json_t *bundle = json_load_file(path, 0, &jerr), *o;
	size_t i, used = 0;

	assert_non_null(bundle);
	out[0] = '\0';
	json_array_foreach(json_object_get(bundle, "objects"), i, o) {
		const char *type = json_string_value(json_object_get(o, "type"));
		if (type && strcmp(type, "indicator") == 0)
			used += (size_t)snprintf(out + used, n - used, "%s%s", used ? " " : "",
						 json_string_value(json_object_get(o, "id")));
		assert_true(used < n);
	}
	json_decref(bundle);
}

#define PROTO_ID(n) "indicator--00000000-0000-4000-8000-00000000" #n

static void test_feed_from_taxii(void **state)
{
	char out[300], st[300], tok[300], args[2048], source[512], ids[1024];
	proto_run_result r;
	proto_resp resp;

	(void)state;
	snprintf(out, sizeof out, "%s/taxii.json", hub.dir);
	snprintf(st, sizeof st, "%s/taxii-state", hub.dir);
	snprintf(tok, sizeof tok, "%s/taxii.token", hub.dir);
	write_file(tok, proto_token("npa-analyst"));
	char *env = proto_envelope(4001, 3);
	assert_true(proto_post(&hub, PROTO_GOV_OBJECTS, "npa-analyst", env, &resp));
	assert_int_equal(resp.status, 202);
	proto_resp_free(&resp);
	free(env);

	/* Pages of two: the three indicators come in two pages. */
	snprintf(source, sizeof source,
		 "--source-url http://127.0.0.1:%u --source-root gov --source-collection %s "
		 "--source-token-file %s --source-limit 2", hub.port, PROTO_GOV_COLL, tok);
	snprintf(args, sizeof args,
		 "feed import --format taxii --name gov-mirror --marking amber "
		 "--identity identity--bae1634f-2873-5dd6-a9b0-a693611f2f56 --state %s --out %s %s",
		 st, out, source);
	proto_hub_run(&hub, args, &r);
	if (r.rc != 0)
		fail_msg("feed import --format taxii: %d\n%s\n%s", r.rc, r.out.data, r.err);
	assert_non_null(strstr(r.out.data, "3 read: 3 imported (3 new, 0 changed), 0 unchanged, "
					   "0 duplicate, 0 on warning lists (0 dropped, 0 flagged), "
					   "0 rejected, 0 skipped, 0 gone\n"));
	proto_run_free(&r);
	bundle_ids(out, ids, sizeof ids);
	assert_string_equal(ids, PROTO_ID(4001) " " PROTO_ID(4002) " " PROTO_ID(4003));

	/* Again: the checkpoint asks only for what came since, which is nothing. */
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out.data, "0 read: 0 imported (0 new, 0 changed), 0 unchanged"));
	assert_non_null(strstr(r.out.data, "0 gone\n"));
	proto_run_free(&r);
	bundle_ids(out, ids, sizeof ids);
	assert_string_equal(ids, "");

	/* One more indicator: only it is read. */
	env = proto_envelope(4004, 1);
	assert_true(proto_post(&hub, PROTO_GOV_OBJECTS, "npa-analyst", env, &resp));
	assert_int_equal(resp.status, 202);
	proto_resp_free(&resp);
	free(env);
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out.data, "1 read: 1 imported (1 new, 0 changed), 0 unchanged"));
	proto_run_free(&r);
	bundle_ids(out, ids, sizeof ids);
	assert_string_equal(ids, PROTO_ID(4004));
}

static void test_feed_from_taxii_source_down(void **state)
{
	char out[300], st[300], tok[300], args[2048], path[400];
	proto_run_result r;
	proto_resp resp;

	(void)state;
	snprintf(out, sizeof out, "%s/down.json", hub.dir);
	snprintf(st, sizeof st, "%s/down-state", hub.dir);
	snprintf(tok, sizeof tok, "%s/down.token", hub.dir);
	write_file(tok, proto_token("npa-analyst"));
	char *env = proto_envelope(5001, 1);
	assert_true(proto_post(&hub, PROTO_GOV_OBJECTS, "npa-analyst", env, &resp));
	assert_int_equal(resp.status, 202);
	proto_resp_free(&resp);
	free(env);

	snprintf(args, sizeof args,
		 "feed import --format taxii --name gov-down --marking amber --state %s --out %s "
		 "--source-url http://127.0.0.1:%u --source-root gov --source-collection %s "
		 "--source-token-file %s", st, out, hub.port, PROTO_GOV_COLL, tok);
	proto_hub_run(&hub, args, &r);
	if (r.rc != 0)
		fail_msg("feed import --format taxii: %d\n%s\n%s", r.rc, r.out.data, r.err);
	proto_run_free(&r);
	/* The state file is the only one in its directory. */
	snprintf(path, sizeof path, "ls %s/gov-down-*.state", st);
	FILE *ls = popen(path, "r");
	assert_non_null(ls);
	assert_non_null(fgets(path, sizeof path, ls));
	pclose(ls);
	path[strcspn(path, "\n")] = '\0';
	char *before = slurp(path);
	assert_non_null(before);
	assert_non_null(strstr(before, "\ncheckpoint "));

	/* Nothing listens on port 1: an error naming the source, exit 1, the
	 * state as it was. */
	snprintf(args, sizeof args,
		 "feed import --format taxii --name gov-down --marking amber --state %s --out %s "
		 "--source-url http://127.0.0.1:1 --source-root gov --source-collection %s "
		 "--source-token-file %s", st, out, PROTO_GOV_COLL, tok);
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "http://127.0.0.1:1"));
	assert_non_null(strstr(r.err, PROTO_GOV_COLL));
	proto_run_free(&r);
	char *after = slurp(path);
	assert_non_null(after);
	assert_string_equal(before, after);
	free(after);

	/* A refusing source (a token of no user of the hub) is the same. */
	write_file(tok, "no-such-token\n");
	snprintf(args, sizeof args,
		 "feed import --format taxii --name gov-down --marking amber --state %s --out %s "
		 "--source-url http://127.0.0.1:%u --source-root gov --source-collection %s "
		 "--source-token-file %s", st, out, hub.port, PROTO_GOV_COLL, tok);
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "TAXII source"));
	proto_run_free(&r);
	after = slurp(path);
	assert_non_null(after);
	assert_string_equal(before, after);
	free(after);

	/* A source answering garbage, then one that never answers (bounded
	 * by --source-timeout): errors naming the source, the state as it
	 * was. The root is given as a URL, so the bad server is asked for the
	 * objects straight away. */
	static const char *const garbage[] = {
		"HTTP/1.1 200 OK\r\nContent-Type: application/taxii+json;version=2.1\r\n"
		"Content-Length: 9\r\nConnection: close\r\n\r\nnot json!",
		"HTTP/1.1 200 OK\r\nContent-Type: application/taxii+json;version=2.1\r\n"
		"Content-Length: 28\r\nConnection: close\r\n\r\n{\"objects\":{\"a\":1},\"more\":1}",
		NULL,
	};
	static const char *const expect[] = { "not JSON", "`objects` is not an array", "imed out" };
	for (size_t k = 0; k < 3; k++) {
		proto_bad_server bad;
		proto_bad_server_start(&bad, garbage[k]);
		snprintf(args, sizeof args,
			 "feed import --format taxii --name gov-down --marking amber --state %s "
			 "--out %s --source-url http://127.0.0.1:%u --source-root "
			 "http://127.0.0.1:%u/api/ --source-collection %s --source-timeout 1",
			 st, out, bad.port, bad.port, PROTO_GOV_COLL);
		proto_hub_run(&hub, args, &r);
		proto_bad_server_stop(&bad);
		assert_int_equal(r.rc, 1);
		char source[64];
		snprintf(source, sizeof source, "http://127.0.0.1:%u: TAXII source", bad.port);
		if (!strstr(r.err, source) || !strstr(r.err, expect[k]))
			fail_msg("case %zu: '%s' does not say '%s' and '%s'", k, r.err, source, expect[k]);
		proto_run_free(&r);
		after = slurp(path);
		assert_non_null(after);
		assert_string_equal(before, after);
		free(after);
	}
	free(before);
}

static void test_usage_errors(void **state)
{
	proto_run_result r;
	(void)state;
	proto_hub_run(&hub, "feed import --format plain --name x /dev/null", &r);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "--marking"));
	proto_run_free(&r);
	proto_hub_run(&hub, "feed import --format xml --name x --marking red /dev/null", &r);
	assert_int_equal(r.rc, 2);
	proto_run_free(&r);
	proto_hub_run(&hub, "feed import --format plain --name x --marking red /no/such/file", &r);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "/no/such/file"));
	proto_run_free(&r);
	proto_hub_run(&hub, "feed import --format taxii --name x --marking red --source-collection c", &r);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "--source-url"));
	proto_run_free(&r);
	proto_hub_run(&hub, "feed import --format plain --name x --marking red --source-url http://h /dev/null", &r);
	assert_int_equal(r.rc, 2);
	proto_run_free(&r);
	proto_hub_run(&hub, "feed --help", &r);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out.data, "usage: renkei feed import"));
	proto_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feed_to_file_and_hub),
		cmocka_unit_test(test_feed_from_taxii),
		cmocka_unit_test(test_feed_from_taxii_source_down),
		cmocka_unit_test(test_usage_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
