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
 * metrics, directory reload, config check and TLS.
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
	char first[64], last[64];
	assert_true(proto_header(&r, "X-TAXII-Date-Added-First", first, sizeof first));
	assert_true(proto_header(&r, "X-TAXII-Date-Added-Last", last, sizeof last));
	assert_true(strcmp(first, last) < 0);
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

	/* a version timestamp that is not stored: not found */
	assert_true(proto_get(&hub, OBJ3001 "?match[version]=2020-01-01T00:00:00Z", "meti-reader", &r));
	assert_int_equal(r.status, 404);
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
	assert_null(json_object_get(r.json, "objects"));
	assert_true(json_is_false(json_object_get(r.json, "more")));
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
		cmocka_unit_test(test_directory_reload),
		cmocka_unit_test(test_check_config),
		cmocka_unit_test(test_tls),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
