/*
 * test_taxii_hub.c: TAXII 2.1 protocol tests against a live hub.
 *
 * One hub (the real program, see proto_hub.h) serves the whole group; tests
 * write to distinct object numbers so they do not depend on each other's
 * order, except where noted. Covered here: discovery and API-root visibility,
 * authentication (Bearer, Basic, 401 with WWW-Authenticate), collections,
 * POST with per-object outcomes and the status resource, created_by_ref and
 * default-marking completion, writes claiming another organisation,
 * versions and match[version], filters and their 400s, paging cursors (also
 * under concurrent inserts), media types (406/415), limits (413 by
 * Content-Length, chunked and object count; 400 for malformed JSON), delete,
 * metrics, directory reload, config check and TLS. Also: every bad input of
 * the list with the stored count unchanged and the hub still
 * serving, limit above the page size, exact /metrics values after known
 * traffic, complete error answers to early (pre-body) POST refusals, and
 * DELETE by version. Plain request/response cases are data in
 * exchanges/ (test_taxii_exchanges.c).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "proto_hub.h"
#include "stix.h"

#define NPA_IDENTITY_ORG "npa"

static proto_hub hub;

static int group_setup(void **state)
{
	(void)state;
	proto_watchdog(100);
	/* A small max_content_length so 413 is cheap to provoke. */
	snprintf(hub.extra[hub.n_extra++], 256, "--max-content-length");
	snprintf(hub.extra[hub.n_extra++], 256, "2000000");
	return proto_hub_start(&hub) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	int st = proto_hub_stop(&hub, SIGTERM);
	proto_hub_cleanup(&hub);
	return st == 0 ? 0 : -1; /* graceful stop exits 0 */
}

static void get_ok(const char *path, const char *user, proto_resp *r)
{
	assert_true(proto_get(&hub, path, user, r));
	if (r->status != 200)
		fail_msg("GET %s as %s: %ld %s", path, user ? user : "-", r->status, r->body);
}

static void expect_error(const proto_resp *r, long status, const char *param)
{
	if (r->status != status)
		fail_msg("expected %ld, got %ld: %s", status, r->status, r->body);
	assert_non_null(r->json);
	assert_non_null(json_string_value(json_object_get(r->json, "title")));
	char want[8];
	snprintf(want, sizeof want, "%ld", status);
	assert_string_equal(json_string_value(json_object_get(r->json, "http_status")), want);
	if (param)
		assert_string_equal(json_string_value(json_object_get(
					    json_object_get(r->json, "details"), "param")),
				    param);
}

static json_t *post_ok(const char *path, const char *user, const char *body)
{
	proto_resp r;
	assert_true(proto_post(&hub, path, user, body, &r));
	if (r.status != 202)
		fail_msg("POST %s: %ld %s", path, r.status, r.body);
	json_t *st = json_incref(r.json);
	proto_resp_free(&r);
	return st;
}

static void test_discovery(void **state)
{
	(void)state;
	proto_resp r;
	char v[256];

	get_ok("/taxii2/", "npa-analyst", &r);
	json_t *roots = json_object_get(r.json, "api_roots");
	assert_int_equal(json_array_size(roots), 1); /* npa is only in gov */
	assert_non_null(strstr(json_string_value(json_array_get(roots, 0)), "/gov/"));
	assert_true(proto_header(&r, "Content-Type", v, sizeof v));
	assert_string_equal(v, PROTO_TAXII);
	proto_resp_free(&r);

	get_ok("/taxii2/", "admin", &r); /* nisc: gov, nation, intl */
	assert_int_equal(json_array_size(json_object_get(r.json, "api_roots")), 3);
	proto_resp_free(&r);

	assert_true(proto_get(&hub, "/taxii2/", NULL, &r));
	expect_error(&r, 401, NULL);
	assert_true(proto_header(&r, "WWW-Authenticate", v, sizeof v));
	proto_resp_free(&r);

	assert_true(proto_get(&hub, "/taxii2/", "not-a-valid-token-0123456789abcdef0123", &r));
	expect_error(&r, 401, NULL);
	proto_resp_free(&r);

	/* HTTP Basic: user name and token as password */
	char basic[512], *b64 = NULL, cred[400];
	snprintf(cred, sizeof cred, "npa-analyst:%s", proto_token("npa-analyst"));
	/* base64 (standard alphabet) by hand via rk_b64url + translation */
	assert_int_equal(rk_b64url_encode(cred, strlen(cred), &b64), RK_OK);
	for (char *c = b64; *c; c++)
		*c = *c == '-' ? '+' : *c == '_' ? '/' : *c;
	size_t bl = strlen(b64);
	snprintf(basic, sizeof basic, "Authorization: Basic %s%s", b64,
		 bl % 4 == 2 ? "==" : bl % 4 == 3 ? "=" : "");
	free(b64);
	const char *h1[] = {basic, NULL};
	assert_true(proto_http(&hub, "GET", "/gov/", NULL, h1, NULL, 0, &r));
	assert_int_equal(r.status, 200);
	proto_resp_free(&r);
	const char *h2[] = {"Authorization: Basic bnBhLWFuYWx5c3Q6d3Jvbmc=", NULL}; /* npa-analyst:wrong */
	assert_true(proto_http(&hub, "GET", "/gov/", NULL, h2, NULL, 0, &r));
	expect_error(&r, 401, NULL);
	proto_resp_free(&r);

	assert_true(proto_get(&hub, "/no/such/thing/at/all/here/", "npa-analyst", &r));
	expect_error(&r, 404, NULL);
	proto_resp_free(&r);
}

static void test_api_root_and_collections(void **state)
{
	(void)state;
	proto_resp r;

	get_ok("/gov/", "npa-analyst", &r);
	assert_string_equal(json_string_value(json_array_get(json_object_get(r.json, "versions"), 0)),
			    PROTO_TAXII);
	assert_int_equal(json_integer_value(json_object_get(r.json, "max_content_length")), 2000000);
	proto_resp_free(&r);

	/* bank-a is not a member of gov: the root is not visible */
	assert_true(proto_get(&hub, "/gov/", "bank-analyst", &r));
	assert_true(r.status == 404 || r.status == 403);
	proto_resp_free(&r);

	get_ok("/gov/collections/", "meti-reader", &r);
	json_t *c = json_array_get(json_object_get(r.json, "collections"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "id")), PROTO_GOV_COLL);
	assert_true(json_is_true(json_object_get(c, "can_read")));
	assert_true(json_is_false(json_object_get(c, "can_write")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(c, "media_types"), 0)),
			    "application/stix+json;version=2.1");
	proto_resp_free(&r);

	get_ok("/gov/collections/" PROTO_GOV_COLL "/", "npa-analyst", &r);
	assert_true(json_is_true(json_object_get(r.json, "can_write")));
	proto_resp_free(&r);

	/* a collection of another root through this root */
	assert_true(proto_get(&hub, "/gov/collections/" PROTO_NATION_COLL "/", "admin", &r));
	expect_error(&r, 404, NULL);
	proto_resp_free(&r);

	/* wrong method: 405 with Allow */
	assert_true(proto_http(&hub, "PUT", "/gov/collections/", "npa-analyst", NULL, NULL, 0, &r));
	expect_error(&r, 405, NULL);
	char allow[64];
	assert_true(proto_header(&r, "Allow", allow, sizeof allow));
	assert_non_null(strstr(allow, "GET"));
	proto_resp_free(&r);
}

static void test_post_status_and_completion(void **state)
{
	(void)state;
	proto_resp r;
	char *good = proto_indicator(1001, NULL);
	char body[4096];
	snprintf(body, sizeof body,
		 "{\"objects\":[%s,"
		 "{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"indicator--00000000-0000-4000-8000-000000001002\","
		 "\"created\":\"2024-01-01T00:00:00.000Z\",\"modified\":\"2024-01-01T00:00:00.000Z\","
		 "\"pattern\":\"[ipv4-addr:value = '1.2.3.4']\",\"pattern_type\":\"stix\",\"valid_from\":\"not a time\"},"
		 "{\"type\":\"ipv4-addr\",\"spec_version\":\"2.1\",\"id\":\"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd\",\"value\":\"198.51.100.3\"}"
		 "]}",
		 good);
	free(good);
	json_t *st = post_ok(PROTO_GOV_OBJECTS, "npa-analyst", body);
	assert_string_equal(json_string_value(json_object_get(st, "status")), "complete");
	assert_int_equal(json_integer_value(json_object_get(st, "total_count")), 3);
	assert_int_equal(json_integer_value(json_object_get(st, "success_count")), 2);
	assert_int_equal(json_integer_value(json_object_get(st, "failure_count")), 1);
	assert_int_equal(json_integer_value(json_object_get(st, "pending_count")), 0);
	json_t *f = json_array_get(json_object_get(st, "failures"), 0);
	assert_string_equal(json_string_value(json_object_get(f, "id")),
			    "indicator--00000000-0000-4000-8000-000000001002");
	assert_non_null(strstr(json_string_value(json_object_get(f, "message")), "objects[1].valid_from"));

	/* status later: same organisation yes, another no */
	char path[256];
	snprintf(path, sizeof path, "/gov/status/%s/", json_string_value(json_object_get(st, "id")));
	get_ok(path, "npa-analyst", &r);
	assert_true(json_equal(r.json, st));
	proto_resp_free(&r);
	assert_true(proto_get(&hub, path, "meti-reader", &r));
	expect_error(&r, 404, NULL);
	proto_resp_free(&r);
	assert_true(proto_get(&hub, "/gov/status/6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9/", "npa-analyst", &r));
	expect_error(&r, 404, NULL);
	proto_resp_free(&r);
	json_decref(st);

	/* the rejected object stored nothing */
	assert_true(proto_get(&hub, PROTO_GOV_OBJECTS "indicator--00000000-0000-4000-8000-000000001002/",
			      "npa-analyst", &r));
	expect_error(&r, 404, NULL);
	proto_resp_free(&r);

	/* completion: created_by_ref and the collection's default marking */
	get_ok(PROTO_GOV_OBJECTS "indicator--00000000-0000-4000-8000-000000001001/", "meti-reader", &r);
	json_t *o = json_array_get(json_object_get(r.json, "objects"), 0);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "created_by_ref")),
			    "identity--77b11b83-28ff-5d2a-84db-67995ad3a855");
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "object_marking_refs"), 0)),
			    stix_tlp_marking_id(STIX_TLP_AMBER));
	assert_false(json_object_get(r.json, "more") == NULL);
	proto_resp_free(&r);
	/* SCOs are marked too, without a created_by_ref */
	get_ok(PROTO_GOV_OBJECTS "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd/", "npa-analyst", &r);
	o = json_array_get(json_object_get(r.json, "objects"), 0);
	assert_null(json_object_get(o, "created_by_ref"));
	assert_non_null(json_object_get(o, "object_marking_refs"));
	proto_resp_free(&r);
}

static void test_write_claiming_other_org(void **state)
{
	(void)state;
	proto_resp r;
	/* nisc's identity, posted by npa */
	const char *body =
		"{\"objects\":[{\"type\":\"malware\",\"spec_version\":\"2.1\","
		"\"id\":\"malware--00000000-0000-4000-8000-000000002001\","
		"\"created\":\"2024-01-01T00:00:00.000Z\",\"modified\":\"2024-01-01T00:00:00.000Z\","
		"\"name\":\"x\",\"is_family\":false,"
		"\"created_by_ref\":\"identity--00000000-0000-4000-8000-000000009999\"}]}";
	json_t *st = post_ok(PROTO_GOV_OBJECTS, "npa-analyst", body);
	assert_int_equal(json_integer_value(json_object_get(st, "failure_count")), 1);
	assert_int_equal(json_integer_value(json_object_get(st, "success_count")), 0);
	json_decref(st);
	assert_true(proto_get(&hub, PROTO_GOV_OBJECTS "malware--00000000-0000-4000-8000-000000002001/",
			      "npa-analyst", &r));
	expect_error(&r, 404, NULL);
	proto_resp_free(&r);

	/* a new version of npa's object by another organisation (nisc) */
	char *o = proto_indicator(1001, "2025-01-01T00:00:00.000Z");
	char env[4096];
	snprintf(env, sizeof env, "{\"objects\":[%s]}", o);
	free(o);
	st = post_ok(PROTO_GOV_OBJECTS, "admin", env);
	assert_int_equal(json_integer_value(json_object_get(st, "failure_count")), 1);
	json_decref(st);

	/* a reader may not write at all */
	assert_true(proto_post(&hub, PROTO_GOV_OBJECTS, "meti-reader", "{\"objects\":[]}", &r));
	expect_error(&r, 403, NULL);
	proto_resp_free(&r);
	/* anonymous */
	assert_true(proto_post(&hub, PROTO_GOV_OBJECTS, NULL, "{\"objects\":[]}", &r));
	expect_error(&r, 401, NULL);
	proto_resp_free(&r);
}

static void test_versions(void **state)
{
	(void)state;
	proto_resp r;
	const char *mods[] = {"2024-03-01T00:00:00.000Z", "2024-02-01T00:00:00.000Z",
			      "2024-04-01T00:00:00.000Z"};
	for (int i = 0; i < 3; i++) {
		char *o = proto_indicator(3001, mods[i]);
		char env[4096];
		snprintf(env, sizeof env, "{\"objects\":[%s]}", o);
		free(o);
		json_t *st = post_ok(PROTO_GOV_OBJECTS, "npa-analyst", env);
		assert_int_equal(json_integer_value(json_object_get(st, "success_count")), 1);
		json_decref(st);
	}
#define OBJ3001 PROTO_GOV_OBJECTS "indicator--00000000-0000-4000-8000-000000003001/"
	get_ok(OBJ3001 "versions/", "meti-reader", &r);
	json_t *v = json_object_get(r.json, "versions");
	assert_int_equal(json_array_size(v), 3);
	char first[64], last[64], last3[64], path[512];
	assert_true(proto_header(&r, "X-TAXII-Date-Added-First", first, sizeof first));
	assert_true(proto_header(&r, "X-TAXII-Date-Added-Last", last, sizeof last));
	assert_true(strcmp(first, last) < 0);
	snprintf(last3, sizeof last3, "%s", last);
	/* versions are listed in date_added order (section 3.3), not by version */
	assert_string_equal(json_string_value(json_array_get(v, 0)), mods[0]);
	assert_string_equal(json_string_value(json_array_get(v, 2)), mods[2]);
	proto_resp_free(&r);

	get_ok(OBJ3001, "meti-reader", &r); /* default: last */
	json_t *objs = json_object_get(r.json, "objects");
	assert_int_equal(json_array_size(objs), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(objs, 0), "modified")),
			    mods[2]);
	proto_resp_free(&r);

	get_ok(OBJ3001 "?match[version]=first", "meti-reader", &r);
	objs = json_object_get(r.json, "objects");
	assert_string_equal(json_string_value(json_object_get(json_array_get(objs, 0), "modified")),
			    mods[1]);
	proto_resp_free(&r);

	get_ok(OBJ3001 "?match[version]=all", "meti-reader", &r);
	assert_int_equal(json_array_size(json_object_get(r.json, "objects")), 3);
	proto_resp_free(&r);

	get_ok(OBJ3001 "?match[version]=2024-03-01T00:00:00.000Z", "meti-reader", &r);
	objs = json_object_get(r.json, "objects");
	assert_int_equal(json_array_size(objs), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(objs, 0), "modified")),
			    mods[0]);
	proto_resp_free(&r);

	get_ok(OBJ3001 "?match[version]=first,last", "meti-reader", &r);
	assert_int_equal(json_array_size(json_object_get(r.json, "objects")), 2);
	proto_resp_free(&r);

	get_ok(PROTO_GOV_OBJECTS "?match[id]=indicator--00000000-0000-4000-8000-000000003001&match[version]=all",
	       "meti-reader", &r);
	assert_int_equal(json_array_size(json_object_get(r.json, "objects")), 3);
	proto_resp_free(&r);

	/* manifest of the same */
	get_ok("/gov/collections/" PROTO_GOV_COLL "/manifest/?match[id]=indicator--00000000-0000-4000-8000-000000003001",
	       "meti-reader", &r);
	json_t *m = json_array_get(json_object_get(r.json, "objects"), 0);
	assert_string_equal(json_string_value(json_object_get(m, "version")), mods[2]);
	assert_string_equal(json_string_value(json_object_get(m, "media_type")),
			    "application/stix+json;version=2.1");
	assert_non_null(json_string_value(json_object_get(m, "date_added")));
	proto_resp_free(&r);

	/* a version timestamp that is not stored: the object exists, so an
	 * empty envelope (TAXII 2.1 section 5.6), with both date headers */
	get_ok(OBJ3001 "?match[version]=2020-01-01T00:00:00Z", "meti-reader", &r);
	assert_string_equal(r.body, "{}");
	assert_true(proto_header(&r, "X-TAXII-Date-Added-First", first, sizeof first));
	assert_true(proto_header(&r, "X-TAXII-Date-Added-Last", last, sizeof last));
	proto_resp_free(&r);
	/* added_after past the last version: likewise */
	snprintf(path, sizeof path, OBJ3001 "?added_after=%s", last3);
	get_ok(path, "meti-reader", &r);
	assert_string_equal(r.body, "{}");
	proto_resp_free(&r);
	snprintf(path, sizeof path, OBJ3001 "versions/?added_after=%s", last3);
	get_ok(path, "meti-reader", &r);
	assert_string_equal(r.body, "{}");
	proto_resp_free(&r);
	/* one microsecond earlier: exactly the last version (strictly after) */
	rk_time t;
	assert_true(rk_time_parse(last3, &t));
	char before[RK_TIME_BUF];
	rk_time_format(t - 1, 6, before);
	snprintf(path, sizeof path, OBJ3001 "versions/?added_after=%s", before);
	get_ok(path, "meti-reader", &r);
	v = json_object_get(r.json, "versions");
	assert_int_equal(json_array_size(v), 1);
	assert_string_equal(json_string_value(json_array_get(v, 0)), mods[2]);
	proto_resp_free(&r);
	snprintf(path, sizeof path, OBJ3001 "?added_after=%s", before);
	get_ok(path, "meti-reader", &r);
	assert_int_equal(json_array_size(json_object_get(r.json, "objects")), 1);
	proto_resp_free(&r);
	/* an object the collection does not hold: 404 */
	assert_true(proto_get(&hub, PROTO_GOV_OBJECTS "indicator--00000000-0000-4000-8000-000000003999/versions/",
			      "meti-reader", &r));
	expect_error(&r, 404, NULL);
	proto_resp_free(&r);
	/* versions does not take match[version] */
	assert_true(proto_get(&hub, OBJ3001 "versions/?match[version]=all", "meti-reader", &r));
	expect_error(&r, 400, "match[version]");
	proto_resp_free(&r);
}

static void test_filters_and_errors(void **state)
{
	(void)state;
	proto_resp r;
	char last[64], path[512];

	get_ok(PROTO_GOV_OBJECTS "?match[type]=indicator,malware&match[spec_version]=2.1", "npa-analyst", &r);
	json_t *objs = json_object_get(r.json, "objects");
	assert_true(json_array_size(objs) >= 2);
	size_t i;
	json_t *o;
	json_array_foreach(objs, i, o)
		assert_string_equal(json_string_value(json_object_get(o, "type")), "indicator");
	proto_resp_free(&r);

	get_ok(PROTO_GOV_OBJECTS "?match[spec_version]=2.0", "npa-analyst", &r);
	assert_string_equal(r.body, "{}"); /* TAXII 2.1 section 3.7: empty envelope */
	proto_resp_free(&r);

	/* added_after from X-TAXII-Date-Added-Last: nothing newer */
	get_ok(PROTO_GOV_OBJECTS "?limit=1000", "npa-analyst", &r);
	assert_true(proto_header(&r, "X-TAXII-Date-Added-Last", last, sizeof last));
	proto_resp_free(&r);
	snprintf(path, sizeof path, PROTO_GOV_OBJECTS "?added_after=%s", last);
	get_ok(path, "npa-analyst", &r);
	assert_null(json_object_get(r.json, "objects"));
	proto_resp_free(&r);

	static const struct {
		const char *q, *param;
	} bad[] = {
		{"?limit=0", "limit"},
		{"?limit=ten", "limit"},
		{"?added_after=yesterday", "added_after"},
		{"?match[type]=Not_A_Type", "match[type]"},
		{"?match[id]=nope", "match[id]"},
		{"?match[version]=newest", "match[version]"},
		{"?match[spec_version]=x", "match[spec_version]"},
		{"?match[type]=indicator,,malware", "match[type]"},
		{"?colour=blue", "colour"},
		{"?next=!!!", "next"},
		{"?next=AQAAAAAAAAABG5_L4rdAU1I", "next"},
	};
	for (size_t k = 0; k < RK_ARRAY_LEN(bad); k++) {
		snprintf(path, sizeof path, PROTO_GOV_OBJECTS "%s", bad[k].q);
		assert_true(proto_get(&hub, path, "npa-analyst", &r));
		expect_error(&r, 400, bad[k].param);
		proto_resp_free(&r);
	}
	assert_true(proto_get(&hub, "/taxii2/?x=1", "npa-analyst", &r));
	expect_error(&r, 400, "x");
	proto_resp_free(&r);
}

static void test_media_types(void **state)
{
	(void)state;
	proto_resp r;
	const char *json_only[] = {"Accept: application/json", NULL};
	assert_true(proto_http(&hub, "GET", PROTO_GOV_OBJECTS, "npa-analyst", json_only, NULL, 0, &r));
	expect_error(&r, 406, NULL);
	proto_resp_free(&r);
	const char *old[] = {"Accept: application/taxii+json;version=2.0", NULL};
	assert_true(proto_http(&hub, "GET", "/taxii2/", "npa-analyst", old, NULL, 0, &r));
	expect_error(&r, 406, NULL);
	proto_resp_free(&r);
	const char *any[] = {"Accept: */*", NULL};
	assert_true(proto_http(&hub, "GET", "/taxii2/", "npa-analyst", any, NULL, 0, &r));
	assert_int_equal(r.status, 200);
	proto_resp_free(&r);
	const char *ct[] = {"Content-Type: application/json", NULL};
	assert_true(proto_http(&hub, "POST", PROTO_GOV_OBJECTS, "npa-analyst", ct, "{\"objects\":[]}", 14, &r));
	expect_error(&r, 415, NULL);
	proto_resp_free(&r);
	const char *stix[] = {"Content-Type: application/stix+json;version=2.1", NULL};
	assert_true(proto_http(&hub, "POST", PROTO_GOV_OBJECTS, "npa-analyst", stix, "{\"objects\":[]}", 14, &r));
	expect_error(&r, 415, NULL);
	proto_resp_free(&r);
}

static void test_limits_and_malformed(void **state)
{
	(void)state;
	proto_resp r;
	size_t big = 2100000;
	char *body = malloc(big + 1);
	assert_non_null(body);
	memset(body, ' ', big);
	memcpy(body, "{\"objects\":[", 12);
	memcpy(body + big - 2, "]}", 2);
	body[big] = '\0';
	assert_true(proto_post(&hub, PROTO_GOV_OBJECTS, "npa-analyst", body, &r));
	expect_error(&r, 413, NULL);
	proto_resp_free(&r);
	/* the same, chunked: no Content-Length to check up front */
	const char *chunked[] = {"Content-Type: " PROTO_TAXII, "Transfer-Encoding: chunked", NULL};
	assert_true(proto_http(&hub, "POST", PROTO_GOV_OBJECTS, "npa-analyst", chunked, body, big, &r));
	expect_error(&r, 413, NULL);
	proto_resp_free(&r);
	free(body);

	/* more objects than RK_MAX_OBJECTS_PER_ENVELOPE */
	rk_buf b;
	rk_buf_init(&b);
	rk_buf_puts(&b, "{\"objects\":[{}");
	for (int k = 0; k < RK_MAX_OBJECTS_PER_ENVELOPE; k++)
		rk_buf_puts(&b, ",{}");
	rk_buf_puts(&b, "]}");
	assert_true(proto_post(&hub, PROTO_GOV_OBJECTS, "npa-analyst", b.data, &r));
	expect_error(&r, 413, NULL);
	proto_resp_free(&r);
	rk_buf_cleanup(&b);

	static const char *const malformed[] = {
		"{\"objects\":[",                         /* truncated */
		"{\"objects\":[], \"objects\":[]}",       /* duplicate key */
		"{\"objects\":[\"\xff\xfe\"]}",           /* not UTF-8 */
		"[]",                                     /* not an envelope */
		"{\"more\":false}",                      /* no objects */
		"",                                       /* empty */
	};
	for (size_t k = 0; k < RK_ARRAY_LEN(malformed); k++) {
		assert_true(proto_post(&hub, PROTO_GOV_OBJECTS, "npa-analyst", malformed[k], &r));
		expect_error(&r, 400, NULL);
		proto_resp_free(&r);
	}
	/* nesting deeper than RK_MAX_JSON_DEPTH */
	rk_buf_init(&b);
	rk_buf_puts(&b, "{\"objects\":[");
	for (int k = 0; k < 100; k++)
		rk_buf_puts(&b, "[");
	for (int k = 0; k < 100; k++)
		rk_buf_puts(&b, "]");
	rk_buf_puts(&b, "]}");
	assert_true(proto_post(&hub, PROTO_GOV_OBJECTS, "npa-analyst", b.data, &r));
	expect_error(&r, 400, NULL);
	assert_non_null(json_object_get(json_object_get(r.json, "details"), "path"));
	proto_resp_free(&r);
	rk_buf_cleanup(&b);
}

static void test_delete(void **state)
{
	(void)state;
	proto_resp r;
	char *env = proto_envelope(4001, 1);
	json_decref(post_ok(PROTO_GOV_OBJECTS, "npa-analyst", env));
	free(env);
#define OBJ4001 PROTO_GOV_OBJECTS "indicator--00000000-0000-4000-8000-000000004001/"
	assert_true(proto_http(&hub, "DELETE", OBJ4001, "meti-reader", NULL, NULL, 0, &r));
	expect_error(&r, 403, NULL); /* no write permission */
	proto_resp_free(&r);
	assert_true(proto_http(&hub, "DELETE", OBJ4001, "admin", NULL, NULL, 0, &r));
	assert_true(r.status == 403 || r.status == 404); /* not the owner */
	proto_resp_free(&r);
	assert_true(proto_http(&hub, "DELETE", OBJ4001, "npa-analyst", NULL, NULL, 0, &r));
	assert_int_equal(r.status, 200);
	proto_resp_free(&r);
	assert_true(proto_get(&hub, OBJ4001, "npa-analyst", &r));
	expect_error(&r, 404, NULL);
	proto_resp_free(&r);
	assert_true(proto_http(&hub, "DELETE", OBJ4001, "npa-analyst", NULL, NULL, 0, &r));
	expect_error(&r, 404, NULL);
	proto_resp_free(&r);
}

static void test_paging(void **state)
{
	(void)state;
	proto_resp r;
	char path[512];
	char *env = proto_envelope(5001, 25);
	json_t *st = post_ok(PROTO_NATION_OBJECTS, "power-analyst", env);
	assert_int_equal(json_integer_value(json_object_get(st, "success_count")), 25);
	json_decref(st);
	free(env);

	json_t *seen = json_object();
	char next[128] = "";
	int pages = 0;
	for (;;) {
		snprintf(path, sizeof path, PROTO_NATION_OBJECTS "?limit=10%s%s",
			 next[0] ? "&next=" : "", next);
		get_ok(path, "bank-analyst", &r);
		size_t i;
		json_t *o;
		json_array_foreach(json_object_get(r.json, "objects"), i, o) {
			const char *id = json_string_value(json_object_get(o, "id"));
			assert_null(json_object_get(seen, id));
			json_object_set_new(seen, id, json_true());
		}
		pages++;
		bool more = json_is_true(json_object_get(r.json, "more"));
		const char *n = json_string_value(json_object_get(r.json, "next"));
		if (!more) {
			assert_null(n);
			proto_resp_free(&r);
			break;
		}
		assert_int_equal(json_array_size(json_object_get(r.json, "objects")), 10);
		assert_non_null(n);
		snprintf(next, sizeof next, "%s", n);
		proto_resp_free(&r);
	}
	assert_int_equal(pages, 3);
	assert_int_equal(json_object_size(seen), 25);
	json_decref(seen);

	/* manifest pages with the same cursor rule */
	get_ok("/nation/collections/" PROTO_NATION_COLL "/manifest/?limit=20", "bank-analyst", &r);
	assert_int_equal(json_array_size(json_object_get(r.json, "objects")), 20);
	const char *n = json_string_value(json_object_get(r.json, "next"));
	assert_non_null(n);
	snprintf(next, sizeof next, "%s", n);
	proto_resp_free(&r);
	snprintf(path, sizeof path, "/nation/collections/" PROTO_NATION_COLL "/manifest/?limit=20&next=%s", next);
	get_ok(path, "bank-analyst", &r);
	assert_int_equal(json_array_size(json_object_get(r.json, "objects")), 5);
	proto_resp_free(&r);
	/* a manifest cursor is not an objects cursor, nor for other filters */
	snprintf(path, sizeof path, PROTO_NATION_OBJECTS "?next=%s", next);
	assert_true(proto_get(&hub, path, "bank-analyst", &r));
	expect_error(&r, 400, "next");
	proto_resp_free(&r);
	snprintf(path, sizeof path, "/nation/collections/" PROTO_NATION_COLL "/manifest/?match[type]=indicator&next=%s", next);
	assert_true(proto_get(&hub, path, "bank-analyst", &r));
	expect_error(&r, 400, "next");
	proto_resp_free(&r);
}

/* Writer thread for the concurrent-paging test. */
static atomic_bool writer_finished;

static void *writer(void *arg)
{
	(void)arg;
	for (unsigned k = 0; k < 20; k++) {
		char *env = proto_envelope(100000 + k * 50, 50);
		proto_resp r;
		if (proto_post(&hub, "/intl/collections/" PROTO_INTL_COLL "/objects/", "kr-partner", env, &r)) {
			if (r.status != 202)
				fprintf(stderr, "writer: %ld %s\n", r.status, r.body);
			proto_resp_free(&r);
		}
		free(env);
	}
	atomic_store(&writer_finished, true);
	return NULL;
}

/*
 * A reader pages (limit 37) while a writer posts 1000 objects in 20
 * envelopes. While `more` is true the reader follows `next`; when it has
 * caught up it resumes with added_after = the last X-TAXII-Date-Added-Last
 * (what a polling client does). One final round after the writer finished
 * drains the rest. No id may come twice, none may be missing.
 */
static void test_cursor_under_concurrent_inserts(void **state)
{
	(void)state;
	pthread_t t;
	json_t *seen = json_object();
	char next[128] = "", aa[64] = "", last[64] = "", path[512];
	bool final_round = false;
	size_t dup = 0;

	atomic_store(&writer_finished, false);
	assert_int_equal(pthread_create(&t, NULL, writer, NULL), 0);
	for (int guard = 0; guard < 20000; guard++) {
		proto_resp r;
		snprintf(path, sizeof path,
			 "/intl/collections/" PROTO_INTL_COLL "/objects/?limit=37%s%s%s%s",
			 aa[0] ? "&added_after=" : "", aa, next[0] ? "&next=" : "", next);
		get_ok(path, "admin", &r);
		size_t i;
		json_t *o;
		json_array_foreach(json_object_get(r.json, "objects"), i, o) {
			const char *id = json_string_value(json_object_get(o, "id"));
			if (json_object_get(seen, id))
				dup++;
			json_object_set_new(seen, id, json_true());
		}
		proto_header(&r, "X-TAXII-Date-Added-Last", last, sizeof last);
		const char *n = json_string_value(json_object_get(r.json, "next"));
		bool more = json_is_true(json_object_get(r.json, "more"));
		if (more) {
			assert_non_null(n);
			snprintf(next, sizeof next, "%s", n);
			proto_resp_free(&r);
			continue;
		}
		proto_resp_free(&r);
		if (final_round)
			break;
		if (atomic_load(&writer_finished))
			final_round = true;
		snprintf(aa, sizeof aa, "%s", last);
		next[0] = '\0';
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	pthread_join(t, NULL);
	assert_true(final_round);
	assert_int_equal(dup, 0);
	for (unsigned k = 0; k < 1000; k++) {
		char id[64];
		snprintf(id, sizeof id, "indicator--00000000-0000-4000-8000-%012u", 100000 + k);
		if (!json_object_get(seen, id))
			fail_msg("%s was never returned", id);
	}
	json_decref(seen);
}

static void test_metrics(void **state)
{
	(void)state;
	proto_resp r;
	const char *acc[] = {"Accept: text/plain", NULL};
	assert_true(proto_http(&hub, "GET", "/metrics", NULL, acc, NULL, 0, &r));
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "renkei_http_requests_total{route=\"objects_post\",status=\"202\"}"));
	assert_non_null(strstr(r.body, "renkei_http_request_duration_seconds_bucket{le=\"+Inf\"}"));
	assert_non_null(strstr(r.body, "renkei_objects_ingested_total"));
	assert_non_null(strstr(r.body, "renkei_objects_stored"));
	proto_resp_free(&r);
}

/* One value of the hub's /metrics; 0 when the series is absent. */
static double series(const char *text, const char *name);
static char *metrics_snapshot(void);
static double metric(const char *name)
{
	char *text = metrics_snapshot();
	double v = series(text, name);
	free(text);
	return v;
}

/*
 * The bad-input list: each is refused as documented, the hub keeps
 * serving afterwards, and the store holds exactly what it held before
 * (renkei_objects_stored), except where a valid object rode along.
 */
static void test_bad_inputs_store_nothing(void **state)
{
	(void)state;
	proto_resp r;
	rk_buf b;
	char *big;
	size_t n;
	typedef struct bad_case {
		const char *what, *user, *path, *ctype;
		char *body;
		size_t len;
		long status;
		const char *param; /* details.param expected, or NULL */
	} bad_case;
	bad_case cases[16];
	int nc = 0;
#define CASE(w, u, p, ct, bd, l, st, pr) cases[nc++] = (bad_case){w, u, p, ct, bd, l, st, pr}

	CASE("malformed JSON", "npa-analyst", PROTO_GOV_OBJECTS, PROTO_TAXII,
	     strdup("{\"objects\":[{\"type\":}]}"), 0, 400, NULL);
	CASE("invalid UTF-8", "npa-analyst", PROTO_GOV_OBJECTS, PROTO_TAXII,
	     strdup("{\"objects\":[{\"type\":\"indicator\",\"name\":\"\xc3\x28\"}]}"), 0, 400, NULL);
	rk_buf_init(&b);
	rk_buf_puts(&b, "{\"objects\":[");
	for (int k = 0; k < RK_MAX_JSON_DEPTH; k++) /* envelope+list+this > limit */
		rk_buf_puts(&b, "{\"a\":");
	rk_buf_puts(&b, "1");
	for (int k = 0; k < RK_MAX_JSON_DEPTH; k++)
		rk_buf_puts(&b, "}");
	rk_buf_puts(&b, "]}");
	n = b.len;
	CASE("nesting past RK_MAX_JSON_DEPTH", "npa-analyst", PROTO_GOV_OBJECTS, PROTO_TAXII,
	     rk_buf_take(&b), n, 400, NULL);
	big = malloc(2000001);
	assert_non_null(big);
	memset(big, ' ', 2000001);
	memcpy(big, "{\"objects\":[", 12);
	memcpy(big + 2000001 - 2, "]}", 2);
	CASE("body over max_content_length", "npa-analyst", PROTO_GOV_OBJECTS, PROTO_TAXII, big,
	     2000001, 413, NULL);
	rk_buf_init(&b);
	rk_buf_puts(&b, "{\"objects\":[");
	for (int k = 0; k <= RK_MAX_OBJECTS_PER_ENVELOPE; k++) {
		char *o = proto_indicator(600000 + (unsigned)k, NULL);
		rk_buf_printf(&b, "%s%s", k ? "," : "", k < 2 ? o : "{}");
		free(o);
	}
	rk_buf_puts(&b, "]}");
	n = b.len;
	CASE("too many objects", "npa-analyst", PROTO_GOV_OBJECTS, PROTO_TAXII, rk_buf_take(&b), n,
	     413, NULL);
	CASE("bad filter", "npa-analyst", PROTO_GOV_OBJECTS "?match[version]=all,last", PROTO_TAXII,
	     NULL, 0, 400, "match[version]");
	CASE("bad cursor", "npa-analyst", PROTO_GOV_OBJECTS "?next=AAAA", PROTO_TAXII, NULL, 0, 400,
	     "next");
	CASE("unknown API root", "npa-analyst", "/atlantis/collections/" PROTO_GOV_COLL "/objects/",
	     PROTO_TAXII, strdup("{\"objects\":[]}"), 0, 404, NULL);
	CASE("unknown collection", "npa-analyst",
	     "/gov/collections/00000000-0000-4000-8000-000000000000/objects/", PROTO_TAXII,
	     strdup("{\"objects\":[]}"), 0, 404, NULL);
	CASE("no credentials", NULL, PROTO_GOV_OBJECTS, PROTO_TAXII, proto_envelope(600100, 2), 0,
	     401, NULL);
	CASE("wrong credentials", "wrong-0123456789abcdef0123456789abcdef", PROTO_GOV_OBJECTS,
	     PROTO_TAXII, proto_envelope(600100, 2), 0, 401, NULL);
	CASE("role without write", "meti-reader", PROTO_GOV_OBJECTS, PROTO_TAXII,
	     proto_envelope(600100, 2), 0, 403, NULL);
#undef CASE
	double before = metric("renkei_objects_stored");
	assert_true(before > 0);
	for (int k = 0; k < nc; k++) {
		const char *hdr[] = {"Accept: " PROTO_TAXII, NULL, NULL};
		char ct[128];
		snprintf(ct, sizeof ct, "Content-Type: %s", cases[k].ctype);
		hdr[1] = ct;
		size_t len = cases[k].body ? (cases[k].len ? cases[k].len : strlen(cases[k].body)) : 0;
		assert_true(proto_http(&hub, cases[k].body ? "POST" : "GET", cases[k].path, cases[k].user,
				       hdr, cases[k].body, len, &r));
		if (r.status != cases[k].status)
			fail_msg("%s: expected %ld, got %ld: %s", cases[k].what, cases[k].status,
				 r.status, r.body);
		expect_error(&r, cases[k].status, cases[k].param);
		if (r.status == 401) {
			char v[128];
			assert_true(proto_header(&r, "WWW-Authenticate", v, sizeof v));
		}
		proto_resp_free(&r);
		/* still serving, and nothing was stored */
		get_ok("/gov/", "npa-analyst", &r);
		proto_resp_free(&r);
		if (metric("renkei_objects_stored") != before)
			fail_msg("%s: stored count changed from %.0f", cases[k].what, before);
		free(cases[k].body);
	}

	/* invalid STIX beside a valid object: the valid one is stored, the
	 * invalid one is a failure naming its path, nothing else changes */
	char *good = proto_indicator(600200, NULL);
	char env[4096];
	snprintf(env, sizeof env,
		 "{\"objects\":[%s,{\"type\":\"indicator\",\"spec_version\":\"2.1\","
		 "\"id\":\"indicator--00000000-0000-4000-8000-000000600201\","
		 "\"created\":\"2024-01-01T00:00:00.000Z\",\"modified\":\"2024-01-01T00:00:00.000Z\","
		 "\"pattern\":\"[x:y = 'z']\",\"pattern_type\":\"stix\"}]}",
		 good);
	free(good);
	json_t *st = post_ok(PROTO_GOV_OBJECTS, "npa-analyst", env);
	assert_int_equal(json_integer_value(json_object_get(st, "success_count")), 1);
	assert_int_equal(json_integer_value(json_object_get(st, "failure_count")), 1);
	json_t *f = json_array_get(json_object_get(st, "failures"), 0);
	assert_string_equal(json_string_value(json_object_get(f, "id")),
			    "indicator--00000000-0000-4000-8000-000000600201");
	assert_non_null(strstr(json_string_value(json_object_get(f, "message")), "objects[1]"));
	json_decref(st);
	assert_true(metric("renkei_objects_stored") == before + 1);

	/* a write naming another organisation: refused, named, not stored */
	const char *claim =
		"{\"objects\":[{\"type\":\"malware\",\"spec_version\":\"2.1\","
		"\"id\":\"malware--00000000-0000-4000-8000-000000600202\","
		"\"created\":\"2024-01-01T00:00:00.000Z\",\"modified\":\"2024-01-01T00:00:00.000Z\","
		"\"name\":\"x\",\"is_family\":false,"
		"\"created_by_ref\":\"identity--00000000-0000-4000-8000-000000009999\"}]}";
	st = post_ok(PROTO_GOV_OBJECTS, "npa-analyst", claim);
	assert_int_equal(json_integer_value(json_object_get(st, "failure_count")), 1);
	f = json_array_get(json_object_get(st, "failures"), 0);
	assert_non_null(strstr(json_string_value(json_object_get(f, "message")), "created_by_ref"));
	json_decref(st);
	assert_true(metric("renkei_objects_stored") == before + 1);
}

/* limit above RK_PAGE_MAX: a full page of RK_PAGE_MAX, more true and a
 * working next (TAXII 2.1 section 3.4: a server may return fewer). */
static void test_limit_above_page_max(void **state)
{
	(void)state;
	proto_resp r;
	char path[512], next[128];
	char *env = proto_envelope(700000, RK_PAGE_MAX + 1);
	json_t *st = post_ok(PROTO_NATION_OBJECTS, "power-analyst", env);
	assert_int_equal(json_integer_value(json_object_get(st, "success_count")), RK_PAGE_MAX + 1);
	json_decref(st);
	free(env);

	get_ok(PROTO_NATION_OBJECTS "?limit=5000&match[type]=indicator", "bank-analyst", &r);
	size_t total = json_array_size(json_object_get(r.json, "objects"));
	assert_int_equal(total, RK_PAGE_MAX);
	assert_true(json_is_true(json_object_get(r.json, "more")));
	const char *n = json_string_value(json_object_get(r.json, "next"));
	assert_non_null(n);
	snprintf(next, sizeof next, "%s", n);
	proto_resp_free(&r);
	for (int guard = 0; guard < 10; guard++) {
		snprintf(path, sizeof path, PROTO_NATION_OBJECTS "?limit=5000&match[type]=indicator&next=%s",
			 next);
		get_ok(path, "bank-analyst", &r);
		total += json_array_size(json_object_get(r.json, "objects"));
		bool more = json_is_true(json_object_get(r.json, "more"));
		n = json_string_value(json_object_get(r.json, "next"));
		if (!more) {
			assert_null(n);
			proto_resp_free(&r);
			break;
		}
		snprintf(next, sizeof next, "%s", n);
		proto_resp_free(&r);
	}
	/* everything nation holds: these 1001, plus what other tests put there */
	get_ok(PROTO_NATION_OBJECTS "?limit=1&match[id]=indicator--00000000-0000-4000-8000-000000700000",
	       "bank-analyst", &r);
	assert_int_equal(json_array_size(json_object_get(r.json, "objects")), 1);
	proto_resp_free(&r);
	assert_true(total >= RK_PAGE_MAX + 1);
}

/* The /metrics text once the hub is quiet (a request is counted when it
 * has finished, which may be a moment after the client has its answer). */
static char *metrics_snapshot(void)
{
	proto_resp r;
	const char *acc[] = {"Accept: text/plain", NULL};
	struct timespec ts = {0, 100 * 1000 * 1000};
	nanosleep(&ts, NULL);
	assert_true(proto_http(&hub, "GET", "/metrics", NULL, acc, NULL, 0, &r));
	assert_int_equal(r.status, 200);
	char *body = r.body;
	r.body = NULL;
	proto_resp_free(&r);
	return body;
}

static double series(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = text; p && *p;) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return 0;
}

/* /metrics after known traffic: exact deltas of the request counters by
 * route and status, of the latency histogram and of the object counters
 * (ingested, rejected, stored). */
static void test_metrics_values(void **state)
{
	(void)state;
	proto_resp r;
	static const char *const names[] = {
		"renkei_http_requests_total{route=\"api_root\",status=\"200\"}",
		"renkei_http_requests_total{route=\"api_root\",status=\"404\"}",
		"renkei_http_requests_total{route=\"objects_post\",status=\"202\"}",
		"renkei_http_requests_total{route=\"none\",status=\"404\"}",
		"renkei_http_requests_total{route=\"metrics\",status=\"200\"}",
		"renkei_http_request_duration_seconds_count",
		"renkei_objects_ingested_total",
		"renkei_objects_rejected_total",
		"renkei_objects_stored",
	};
	static const double delta[] = {3, 1, 1, 1, 1, 7, 2, 1, 2};
	char *s0 = metrics_snapshot();
	for (int k = 0; k < 3; k++) {
		get_ok("/gov/", "npa-analyst", &r);
		proto_resp_free(&r);
	}
	assert_true(proto_get(&hub, "/gov/", "bank-analyst", &r)); /* not a member: 404 */
	assert_int_equal(r.status, 404);
	proto_resp_free(&r);
	assert_true(proto_get(&hub, "/no/such/path/at/all/x/y/", "npa-analyst", &r));
	assert_int_equal(r.status, 404);
	proto_resp_free(&r);
	char *o1 = proto_indicator(800001, NULL), *o2 = proto_indicator(800002, NULL);
	char env[4096];
	snprintf(env, sizeof env, "{\"objects\":[%s,%s,{\"type\":\"nothing\"}]}", o1, o2);
	free(o1);
	free(o2);
	json_decref(post_ok(PROTO_GOV_OBJECTS, "npa-analyst", env));
	char *s1 = metrics_snapshot();

	/* 6 requests above, plus the /metrics read of s0 */
	for (size_t k = 0; k < RK_ARRAY_LEN(names); k++) {
		double a = series(s0, names[k]), b = series(s1, names[k]);
		if (b - a != delta[k])
			fail_msg("%s: %.0f -> %.0f, want +%.0f", names[k], a, b, delta[k]);
	}
	assert_true(series(s1, "renkei_objects_stored") > 0);
	/* histogram: cumulative buckets, +Inf equal to the count */
	double prev = 0, count = series(s1, "renkei_http_request_duration_seconds_count");
	static const char *const le[] = {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
					 "0.05", "0.1", "0.25", "1", "2.5", "10", "+Inf"};
	for (size_t k = 0; k < RK_ARRAY_LEN(le); k++) {
		char name[96];
		snprintf(name, sizeof name, "renkei_http_request_duration_seconds_bucket{le=\"%s\"}", le[k]);
		double v = series(s1, name);
		assert_true(v >= prev);
		prev = v;
	}
	assert_true(prev == count);
	assert_true(series(s1, "renkei_http_request_duration_seconds_sum") > 0);
	free(s0);
	free(s1);
}

/* A raw HTTP/1.1 exchange on a fresh connection: sends `head` and up to
 * `body_bytes` of body, then reads until the server closes. */
static char *raw_http(const char *head, size_t body_bytes)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {0};
	rk_buf in;
	assert_true(fd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)hub.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	assert_true(write(fd, head, strlen(head)) == (ssize_t)strlen(head));
	char chunk[16384];
	memset(chunk, ' ', sizeof chunk);
	for (size_t sent = 0; sent < body_bytes; sent += sizeof chunk)
		if (send(fd, chunk, sizeof chunk, MSG_NOSIGNAL) < 0)
			break; /* the server has answered and closed */
	rk_buf_init(&in);
	for (;;) {
		ssize_t got = read(fd, chunk, sizeof chunk);
		if (got <= 0)
			break;
		rk_buf_append(&in, chunk, (size_t)got);
	}
	close(fd);
	rk_buf_puts(&in, "");
	return rk_buf_take(&in);
}

/* Checks a raw response: status line, Connection: close, and a complete
 * TAXII error resource of exactly Content-Length bytes. */
static void expect_raw_error(const char *resp, int status)
{
	char line[32];
	snprintf(line, sizeof line, "HTTP/1.1 %d ", status);
	if (strncmp(resp, line, strlen(line)) != 0)
		fail_msg("want %d, got: %.300s", status, resp);
	assert_non_null(strstr(resp, "\r\nConnection: close\r\n"));
	assert_non_null(strstr(resp, "\r\nContent-Type: " PROTO_TAXII "\r\n"));
	assert_null(strstr(resp, "100 Continue"));
	const char *cl = strstr(resp, "\r\nContent-Length: ");
	assert_non_null(cl);
	size_t len = strtoul(cl + 18, NULL, 10);
	const char *body = strstr(resp, "\r\n\r\n");
	assert_non_null(body);
	body += 4;
	assert_int_equal(strlen(body), len);
	json_error_t e;
	json_t *j = json_loads(body, 0, &e);
	assert_non_null(j);
	char hs[8];
	snprintf(hs, sizeof hs, "%d", status);
	assert_string_equal(json_string_value(json_object_get(j, "http_status")), hs);
	assert_non_null(json_string_value(json_object_get(j, "title")));
	json_decref(j);
}

/* 401/413/415 on POST are decided from the headers, before the body is
 * read; the connection is then closed, and the client still gets the
 * whole TAXII error (also when it waits for 100 Continue, or is still
 * sending). The hub keeps serving. */
static void test_early_refusals_complete(void **state)
{
	(void)state;
	char head[1024];
	const char *tok = proto_token("npa-analyst");
	static const struct {
		bool auth;
		const char *ctype, *extra;
		unsigned long long length;
		size_t send;
		int status;
	} cases[] = {
		{true, PROTO_TAXII, "", 50000000ULL, 1u << 20, 413},
		{true, PROTO_TAXII, "Expect: 100-continue\r\n", 50000000ULL, 0, 413},
		{true, "application/json", "", 1000, 1u << 20, 415},
		{false, PROTO_TAXII, "", 1000, 1u << 20, 401},
		{false, PROTO_TAXII, "Expect: 100-continue\r\n", 1000, 0, 401},
	};
	for (size_t k = 0; k < RK_ARRAY_LEN(cases); k++) {
		char auth[256] = "";
		if (cases[k].auth)
			snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", tok);
		snprintf(head, sizeof head,
			 "POST " PROTO_GOV_OBJECTS " HTTP/1.1\r\nHost: 127.0.0.1\r\n%s"
			 "Accept: " PROTO_TAXII "\r\nContent-Type: %s\r\n%sContent-Length: %llu\r\n\r\n",
			 auth, cases[k].ctype, cases[k].extra, cases[k].length);
		char *resp = raw_http(head, cases[k].send);
		expect_raw_error(resp, cases[k].status);
		if (cases[k].status == 401)
			assert_non_null(strstr(resp, "\r\nWWW-Authenticate: Bearer realm=\"renkei\"\r\n"));
		free(resp);
	}
	proto_resp r;
	get_ok("/gov/", "npa-analyst", &r);
	proto_resp_free(&r);
}

/* DELETE with match[version] removes only those versions; 200 carries the
 * TAXII Content-Type (section 5.7); without a filter every version goes. */
static void test_delete_versions(void **state)
{
	(void)state;
	proto_resp r;
	char ct[128];
	const char *mods[] = {"2024-01-01T00:00:00.000Z", "2024-02-01T00:00:00.000Z",
			      "2024-03-01T00:00:00.000Z"};
	for (int i = 0; i < 3; i++) {
		char *o = proto_indicator(4101, mods[i]);
		char env[4096];
		snprintf(env, sizeof env, "{\"objects\":[%s]}", o);
		free(o);
		json_decref(post_ok(PROTO_GOV_OBJECTS, "npa-analyst", env));
	}
#define OBJ4101 PROTO_GOV_OBJECTS "indicator--00000000-0000-4000-8000-000000004101/"
	assert_true(proto_http(&hub, "DELETE", OBJ4101 "?match[version]=first", "npa-analyst", NULL,
			       NULL, 0, &r));
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 0);
	assert_true(proto_header(&r, "Content-Type", ct, sizeof ct));
	assert_string_equal(ct, PROTO_TAXII);
	proto_resp_free(&r);
	get_ok(OBJ4101 "versions/", "npa-analyst", &r);
	json_t *v = json_object_get(r.json, "versions");
	assert_int_equal(json_array_size(v), 2);
	assert_string_equal(json_string_value(json_array_get(v, 0)), mods[1]);
	proto_resp_free(&r);
	/* a version that is not there: 404, nothing removed */
	assert_true(proto_http(&hub, "DELETE", OBJ4101 "?match[version]=2020-01-01T00:00:00.000Z",
			       "npa-analyst", NULL, NULL, 0, &r));
	expect_error(&r, 404, NULL);
	proto_resp_free(&r);
	assert_true(proto_http(&hub, "DELETE", OBJ4101, "npa-analyst", NULL, NULL, 0, &r));
	assert_int_equal(r.status, 200);
	proto_resp_free(&r);
	assert_true(proto_get(&hub, OBJ4101 "versions/", "npa-analyst", &r));
	expect_error(&r, 404, NULL);
	proto_resp_free(&r);
	/* and the manifest no longer lists it */
	get_ok("/gov/collections/" PROTO_GOV_COLL "/manifest/?match[id]=indicator--00000000-0000-4000-8000-000000004101",
	       "npa-analyst", &r);
	assert_string_equal(r.body, "{}");
	proto_resp_free(&r);
}

static void test_directory_reload(void **state)
{
	(void)state;
	proto_resp r;
	char file[300];
	const char *tok = "new-0123456789abcdef0123456789abcdef0123456789abcdef";
	json_error_t e;
	json_t *d = json_load_file("tests/protocol/proto-directory.json", 0, &e);
	assert_non_null(d);
	json_array_append_new(json_object_get(d, "users"),
			      json_pack("{ssssssss}", "name", "npa-new", "organization", "npa",
					"role", "analyst", "token", tok));
	snprintf(file, sizeof file, "%s/dir2.json", hub.dir);
	assert_int_equal(json_dump_file(d, file, 0), 0);
	json_decref(d);

	assert_true(proto_get(&hub, "/taxii2/", tok, &r)); /* unknown user: the raw token */
	assert_int_equal(r.status, 401);
	proto_resp_free(&r);
	assert_true(proto_hub_apply(&hub, file));
	long status = 0;
	for (int i = 0; i < 50 && status != 200; i++) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
		assert_true(proto_get(&hub, "/taxii2/", tok, &r));
		status = r.status;
		proto_resp_free(&r);
	}
	assert_int_equal(status, 200); /* picked up within 5 s */
	/* the old users still work */
	get_ok("/gov/", "npa-analyst", &r);
	proto_resp_free(&r);
}

static int run_renkei(const char *const *args)
{
	const char *bin = getenv("RENKEI_BIN");
	const char *argv[16];
	int n = 0;
	argv[n++] = bin && *bin ? bin : "build/renkei";
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		FILE *f = freopen("/dev/null", "w", stdout);
		f = freopen("/dev/null", "w", stderr);
		(void)f;
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_check_config(void **state)
{
	(void)state;
	char conf[300];
	const char *ok[] = {"hub", "--data", hub.dir, "--check-config", NULL};
	assert_int_equal(run_renkei(ok), 0);
	const char *open_net[] = {"hub", "--data", hub.dir, "--listen", "0.0.0.0:6443", "-n", NULL};
	assert_int_equal(run_renkei(open_net), 1);
	const char *insecure[] = {"hub", "--data", hub.dir, "--listen", "0.0.0.0:6443",
				  "--insecure-http", "-n", NULL};
	assert_int_equal(run_renkei(insecure), 0);
	const char *half_tls[] = {"hub", "--data", hub.dir, "--tls-cert", "/etc/hostname", "-n", NULL};
	assert_int_equal(run_renkei(half_tls), 1);

	snprintf(conf, sizeof conf, "%s/renkei.conf", hub.dir);
	FILE *f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "[hub]\ndata = %s\nlisten = 127.0.0.1:0\nmax_content_length = 1000\n", hub.dir);
	fclose(f);
	const char *good_file[] = {"hub", "--config", conf, "-n", NULL};
	assert_int_equal(run_renkei(good_file), 0);
	f = fopen(conf, "w");
	fprintf(f, "[hub]\ndata = %s\nthreads = many\n", hub.dir);
	fclose(f);
	assert_int_equal(run_renkei(good_file), 1);
	f = fopen(conf, "w");
	fprintf(f, "[hub]\nno_such_option = 1\n");
	fclose(f);
	assert_int_equal(run_renkei(good_file), 1);
}

static void test_tls(void **state)
{
	(void)state;
	proto_hub th = {0};
	char cmd[1200], cert[300], key[300];
	proto_resp r;

	if (system("command -v openssl >/dev/null 2>&1") != 0)
		skip();
	assert_true(proto_hub_prepare(&th));
	snprintf(cert, sizeof cert, "%s/cert.pem", th.dir);
	snprintf(key, sizeof key, "%s/key.pem", th.dir);
	snprintf(cmd, sizeof cmd,
		 "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
		 "-keyout '%s' -out '%s' >/dev/null 2>&1", key, cert);
	assert_int_equal(system(cmd), 0);
	snprintf(th.extra[th.n_extra++], 256, "--tls-cert");
	snprintf(th.extra[th.n_extra++], sizeof th.extra[0], "%s", cert);
	snprintf(th.extra[th.n_extra++], 256, "--tls-key");
	snprintf(th.extra[th.n_extra++], sizeof th.extra[0], "%s", key);
	th.tls = true;
	assert_true(proto_hub_restart(&th));
	assert_true(proto_get(&th, "/taxii2/", "admin", &r));
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "https://"));
	proto_resp_free(&r);
	assert_int_equal(proto_hub_stop(&th, SIGTERM), 0);
	proto_hub_cleanup(&th);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_discovery),
		cmocka_unit_test(test_api_root_and_collections),
		cmocka_unit_test(test_post_status_and_completion),
		cmocka_unit_test(test_write_claiming_other_org),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_filters_and_errors),
		cmocka_unit_test(test_media_types),
		cmocka_unit_test(test_limits_and_malformed),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_paging),
		cmocka_unit_test(test_cursor_under_concurrent_inserts),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_bad_inputs_store_nothing),
		cmocka_unit_test(test_limit_above_page_max),
		cmocka_unit_test(test_metrics_values),
		cmocka_unit_test(test_early_refusals_complete),
		cmocka_unit_test(test_delete_versions),
		cmocka_unit_test(test_directory_reload),
		cmocka_unit_test(test_check_config),
		cmocka_unit_test(test_tls),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
