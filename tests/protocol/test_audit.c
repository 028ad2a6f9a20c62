/*
 * test_audit.c: the audit trail of a live hub, read back with `renkei
 * audit`.
 *
 * One hub (the real program, see proto_hub.h) takes a POST of three
 * indicators by npa (gov collection), reads by meti (objects, manifest,
 * versions), a read of one object by npa, a refused read by bank-a (not a
 * member of gov) and a DELETE. The readers endpoint is then asked by the
 * owner (npa: meti's reads, oldest first), by a reader of another
 * organisation and by a non-member (each the same 404 as for an id never
 * stored). `renkei audit verify` says intact while the hub runs and after
 * a graceful stop, and `renkei audit show --json` / `readers` name the
 * right user, organisation, status and object ids for each request. Last,
 * the log is tampered with: verify exits 1 naming the record, and a hub
 * whose log was cut short refuses to start.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common.h"
#include "proto_hub.h"

#define ID(n) "indicator--00000000-0000-4000-8000-00000000" #n
#define ID1 ID(7001)
#define ID2 ID(7002)
#define ID3 ID(7003)
#define NEVER ID(7999)
#define GOV_OBJ(id) PROTO_GOV_OBJECTS id "/"

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

static void expect_status(const char *method, const char *path, const char *user,
			  long status, proto_resp *r)
{
	if (strcmp(method, "GET") == 0)
		assert_true(proto_get(&hub, path, user, r));
	else
		assert_true(proto_http(&hub, method, path, user,
				       (const char *[]){"Accept: " PROTO_TAXII, NULL}, NULL, 0, r));
	if (r->status != status)
		fail_msg("%s %s as %s: %ld, want %ld: %s", method, path, user ? user : "-",
			 r->status, status, r->body);
}

/* The same answer, but for the error_id every error carries. */
static void same_404(const proto_resp *a, const proto_resp *b)
{
	assert_int_equal(a->status, 404);
	assert_int_equal(b->status, 404);
	assert_non_null(a->json);
	assert_non_null(b->json);
	const char *keys[] = {"title", "description", "http_status"};
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(json_string_value(json_object_get(a->json, keys[i])),
				    json_string_value(json_object_get(b->json, keys[i])));
	assert_int_equal(json_object_size(a->json), json_object_size(b->json));
}

static void test_requests_and_readers(void **state)
{
	(void)state;
	proto_resp r, s;

	char *env = proto_envelope(7001, 3);
	assert_true(proto_post(&hub, PROTO_GOV_OBJECTS, "npa-analyst", env, &r));
	free(env);
	assert_int_equal(r.status, 202);
	assert_int_equal(json_integer_value(json_object_get(r.json, "success_count")), 3);
	proto_resp_free(&r);

	expect_status("GET", PROTO_GOV_OBJECTS, "meti-reader", 200, &r);
	assert_int_equal(json_array_size(json_object_get(r.json, "objects")), 3);
	proto_resp_free(&r);
	expect_status("GET", "/gov/collections/" PROTO_GOV_COLL "/manifest/", "meti-reader",
		      200, &r);
	proto_resp_free(&r);
	expect_status("GET", GOV_OBJ(ID1) "versions/", "meti-reader", 200, &r);
	proto_resp_free(&r);
	expect_status("GET", GOV_OBJ(ID2), "npa-analyst", 200, &r);
	proto_resp_free(&r);
	expect_status("GET", PROTO_GOV_OBJECTS, "bank-analyst", 404, &r);
	proto_resp_free(&r);
	expect_status("DELETE", GOV_OBJ(ID3), "npa-analyst", 200, &r);
	proto_resp_free(&r);

	/* The owner: meti's three reads of ID1 (objects, manifest, versions),
	 * oldest first; npa's read was of ID2. */
	expect_status("GET", GOV_OBJ(ID1) "readers/", "npa-analyst", 200, &r);
	char ct[128];
	assert_true(proto_header(&r, "Content-Type", ct, sizeof ct));
	assert_string_equal(ct, PROTO_TAXII);
	json_t *list = json_object_get(r.json, "readers");
	assert_int_equal(json_array_size(list), 3);
	assert_false(json_is_true(json_object_get(r.json, "more")));
	rk_time prev = 0;
	for (size_t i = 0; i < 3; i++) {
		json_t *e = json_array_get(list, i);
		rk_time at;
		assert_string_equal(json_string_value(json_object_get(e, "organization")), "meti");
		assert_string_equal(json_string_value(json_object_get(e, "user")), "meti-reader");
		assert_true(rk_time_parse(json_string_value(json_object_get(e, "at")), &at));
		assert_true(at >= prev);
		prev = at;
	}
	proto_resp_free(&r);
	/* ID2: meti's objects and manifest, npa's own read */
	expect_status("GET", GOV_OBJ(ID2) "readers/", "npa-analyst", 200, &r);
	assert_int_equal(json_array_size(json_object_get(r.json, "readers")), 3);
	proto_resp_free(&r);

	/* Anyone else: the 404 of an object never stored. */
	const char *others[] = {"meti-reader", "admin", "bank-analyst"};
	for (size_t i = 0; i < RK_ARRAY_LEN(others); i++) {
		expect_status("GET", GOV_OBJ(ID1) "readers/", others[i], 404, &r);
		expect_status("GET", GOV_OBJ(NEVER) "readers/", others[i], 404, &s);
		same_404(&r, &s);
		proto_resp_free(&r);
		proto_resp_free(&s);
	}
	/* ...and the owner, asking of an id never stored, gets that 404 too,
	 * as the object endpoint gives it. */
	expect_status("GET", GOV_OBJ(NEVER) "readers/", "npa-analyst", 404, &r);
	expect_status("GET", GOV_OBJ(NEVER), "npa-analyst", 404, &s);
	same_404(&r, &s);
	proto_resp_free(&r);
	proto_resp_free(&s);

	/* verify reads a log the hub is writing */
	char args[400];
	proto_run_result v;
	snprintf(args, sizeof args, "audit verify --data %s", hub.dir);
	proto_hub_run(&hub, args, &v);
	if (v.rc != 0)
		fail_msg("verify while the hub runs: exit %d: %s %s", v.rc, v.out.data, v.err);
	assert_non_null(strstr(v.out.data, "intact: "));
	proto_run_free(&v);
}

/* ---------------------------------------------------------------- the log */

static json_t *show_json(const char *extra)
{
	char args[600];
	proto_run_result r;
	json_error_t jerr;

	snprintf(args, sizeof args, "audit show --data %s --json %s", hub.dir, extra);
	proto_hub_run(&hub, args, &r);
	if (r.rc != 0)
		fail_msg("%s: exit %d: %s", args, r.rc, r.err);
	json_t *doc = json_loads(r.out.data, 0, &jerr);
	if (!json_is_array(doc))
		fail_msg("%s: not a JSON array: %s: %s", args, jerr.text, r.out.data);
	proto_run_free(&r);
	return doc;
}

/* The record of `method` on `route` (exact path), n-th of them (from 0). */
static json_t *find(json_t *records, const char *method, const char *route, int n)
{
	size_t i;
	json_t *rec;
	json_array_foreach(records, i, rec) {
		if (strcmp(json_string_value(json_object_get(rec, "method")), method) == 0 &&
		    strcmp(json_string_value(json_object_get(rec, "route")), route) == 0 && n-- == 0)
			return rec;
	}
	fail_msg("no record of %s %s", method, route);
	return NULL;
}

static void expect_record(json_t *rec, const char *user, const char *org, long status,
			  const char *const *ids)
{
	json_t *objects = json_object_get(rec, "objects");
	size_t n = 0;
	while (ids[n])
		n++;
	if (user)
		assert_string_equal(json_string_value(json_object_get(rec, "user")), user);
	else
		assert_true(json_is_null(json_object_get(rec, "user")));
	if (org)
		assert_string_equal(json_string_value(json_object_get(rec, "organization")), org);
	else
		assert_true(json_is_null(json_object_get(rec, "organization")));
	assert_int_equal(json_integer_value(json_object_get(rec, "status")), status);
	assert_int_equal(json_array_size(objects), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(json_string_value(json_array_get(objects, i)), ids[i]);
}

static void test_log_names_them(void **state)
{
	(void)state;
	proto_run_result r;
	char args[600];

	/* A graceful stop commits every queued record. */
	assert_int_equal(proto_hub_stop(&hub, SIGTERM), 0);

	snprintf(args, sizeof args, "audit verify --data %s", hub.dir);
	proto_hub_run(&hub, args, &r);
	if (r.rc != 0)
		fail_msg("verify: exit %d: %s %s", r.rc, r.out.data, r.err);
	assert_non_null(strstr(r.out.data, "intact: "));
	proto_run_free(&r);

	json_t *all = show_json("");
	const char *none[] = {NULL};
	const char *posted[] = {ID1, ID2, ID3, NULL};
	const char *one[] = {ID1, NULL};
	const char *two[] = {ID2, NULL};
	const char *three[] = {ID3, NULL};

	json_t *post = find(all, "POST", PROTO_GOV_OBJECTS, 0);
	expect_record(post, "npa-analyst", "npa", 202, posted);
	assert_string_equal(json_string_value(json_object_get(post, "api_root")), "gov");
	assert_string_equal(json_string_value(json_object_get(post, "collection")),
			    PROTO_GOV_COLL);
	assert_string_equal(json_string_value(json_object_get(post, "outcome")), "ok");
	expect_record(find(all, "GET", PROTO_GOV_OBJECTS, 0), "meti-reader", "meti", 200,
		      posted);
	expect_record(find(all, "GET", "/gov/collections/" PROTO_GOV_COLL "/manifest/", 0),
		      "meti-reader", "meti", 200, posted);
	expect_record(find(all, "GET", GOV_OBJ(ID1) "versions/", 0), "meti-reader", "meti",
		      200, one);
	expect_record(find(all, "GET", GOV_OBJ(ID2), 0), "npa-analyst", "npa", 200, two);
	json_t *refused = find(all, "GET", PROTO_GOV_OBJECTS, 1);
	expect_record(refused, "bank-analyst", "bank-a", 404, none);
	assert_string_not_equal(json_string_value(json_object_get(refused, "outcome")), "ok");
	expect_record(find(all, "DELETE", GOV_OBJ(ID3), 0), "npa-analyst", "npa", 200, three);
	expect_record(find(all, "GET", GOV_OBJ(ID1) "readers/", 0), "npa-analyst", "npa", 200,
		      none);
	expect_record(find(all, "GET", GOV_OBJ(ID1) "readers/", 1), "meti-reader", "meti", 404,
		      none);
	/* 17 requests read or changed data; the seq runs 1..17 */
	assert_int_equal(json_array_size(all), 17);
	for (size_t i = 0; i < json_array_size(all); i++)
		assert_int_equal(json_integer_value(json_object_get(json_array_get(all, i), "seq")),
				 (json_int_t)i + 1);
	json_decref(all);

	/* Filters. */
	json_t *meti = show_json("--org meti");
	assert_int_equal(json_array_size(meti), 5); /* 3 reads, 2 readers refusals */
	json_decref(meti);
	char filter[200];
	snprintf(filter, sizeof filter, "--object %s", ID2);
	json_t *of2 = show_json(filter);
	assert_int_equal(json_array_size(of2), 4); /* POST, objects, manifest, object */
	json_decref(of2);
	json_t *later = show_json("--since 2999-01-01T00:00:00Z");
	assert_int_equal(json_array_size(later), 0);
	json_decref(later);

	/* readers, as the operator sees it */
	snprintf(args, sizeof args, "audit readers --data %s %s", hub.dir, ID1);
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out.data, "meti-reader"));
	assert_null(strstr(r.out.data, "npa-analyst"));
	proto_run_free(&r);
	snprintf(args, sizeof args, "audit readers --data %s --json %s", hub.dir, ID2);
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 0);
	json_t *doc = json_loads(r.out.data, 0, NULL);
	assert_non_null(doc);
	json_t *rl = json_object_get(doc, "readers");
	assert_int_equal(json_array_size(rl), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rl, 0), "user")),
			    "meti-reader");
	assert_string_equal(json_string_value(json_object_get(json_array_get(rl, 2), "user")),
			    "npa-analyst");
	assert_string_equal(json_string_value(json_object_get(json_array_get(rl, 2),
							      "organization")),
			    "npa");
	json_decref(doc);
	proto_run_free(&r);

	/* usage errors */
	snprintf(args, sizeof args, "audit show --data %s --since yesterday", hub.dir);
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "--since"));
	proto_run_free(&r);
}

static void sql(const char *stmt)
{
	char path[400];
	sqlite3 *db = NULL;
	snprintf(path, sizeof path, "%s/audit.db", hub.dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, stmt, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_tampering_shows(void **state)
{
	(void)state;
	proto_run_result r;
	char args[600], log[400];

	/* hide npa's read of ID2 (record 5) */
	sql("UPDATE audit SET user = 'someone' WHERE seq = 5");
	snprintf(args, sizeof args, "audit verify --data %s", hub.dir);
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out.data,
			    "tampered: record 5: content does not match its hash (modified)\n");
	proto_run_free(&r);

	/* cut the end off: verify says so, and the hub does not start on it */
	sql("DELETE FROM audit WHERE seq > 12");
	sql("UPDATE audit SET user = 'npa-analyst' WHERE seq = 5");
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out.data, "tampered: the log ends at record 12 but was last seen "
					"at 17 (records removed from the end)\n");
	proto_run_free(&r);
	assert_false(proto_hub_restart(&hub));
	char *text = NULL;
	size_t len = 0;
	snprintf(log, sizeof log, "%s/hub.log", hub.dir);
	assert_int_equal(rk_read_file(log, 1 << 20, &text, &len, NULL), RK_OK);
	assert_non_null(strstr(text, "the log ends at record 12 but was last seen at 17"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests_and_readers),
		cmocka_unit_test(test_log_names_them),
		cmocka_unit_test(test_tampering_shows),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
