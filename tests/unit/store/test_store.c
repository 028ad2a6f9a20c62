/*
 * test_store.c: the object store's behaviour through its public interface:
 * put outcomes (added, duplicate, rejected, ownership), version flags
 * (first/last after newer, older and deleted versions), every filter and
 * their combinations against a reference computed here, the query plan of
 * each combination (no table scan), visibility and paging, delete, count,
 * status and meta documents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store_int.h"
#include "store_test_util.h"

#define COLL "11111111-1111-4111-8111-111111111111"
#define COLL2 "22222222-2222-4222-8222-222222222222"
#define ORG_A "org-a"
#define ORG_B "org-b"

typedef struct fixture {
	char *dir;
	store *st;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	f->dir = tu_tmpdir();
	assert_non_null(f->dir);
	assert_int_equal(store_open(f->dir, &f->st, &ctx), RK_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	store_close(f->st);
	tu_rmdir(f->dir);
	free(f);
	return 0;
}

/* ---------------------------------------------------------------- collecting rows */

typedef struct got_row {
	uint64_t seq;
	rk_time date_added;
	char id[RK_MAX_STIX_ID + 1];
	char type[64];
	char version[RK_TIME_BUF];
	rk_time version_time;
	char owner[32];
	char *json;
	int64_t aud;
} got_row;

typedef struct got {
	got_row rows[512];
	size_t n;
} got;

static rk_err collect(void *arg, const store_row *row)
{
	got *g = arg;
	assert_true(g->n < RK_ARRAY_LEN(g->rows));
	got_row *r = &g->rows[g->n++];
	r->seq = row->seq;
	r->date_added = row->date_added;
	snprintf(r->id, sizeof r->id, "%s", row->id);
	snprintf(r->type, sizeof r->type, "%s", row->type);
	snprintf(r->version, sizeof r->version, "%s", row->version);
	r->version_time = row->version_time;
	snprintf(r->owner, sizeof r->owner, "%s", row->owner_org);
	r->json = row->json ? strndup(row->json, row->json_len) : NULL;
	r->aud = row->aud;
	return RK_OK;
}

static void got_free(got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->rows[i].json);
	g->n = 0;
}

/* Runs q from the start to the end, `limit` rows per page; checks the
 * page fields and returns every row in g. */
static void query_all(store *st, store_query q, size_t limit, got *g)
{
	store_page page;
	rk_errctx ctx;

	q.limit = limit;
	q.after_seq = 0;
	for (int guard = 0; guard < 1000; guard++) {
		size_t before = g->n;
		rk_errctx_clear(&ctx);
		assert_int_equal(store_query_rows(st, &q, NULL, NULL, collect, g,
						  &page, &ctx),
				 RK_OK);
		assert_int_equal(page.count, g->n - before);
		assert_true(page.count <= limit);
		if (page.count) {
			assert_int_equal(page.last_seq, g->rows[g->n - 1].seq);
			assert_int_equal(page.first_added, g->rows[before].date_added);
			assert_int_equal(page.last_added, g->rows[g->n - 1].date_added);
		}
		if (!page.more)
			return;
		assert_int_equal(page.count, limit);
		q.after_seq = page.last_seq;
	}
	fail_msg("paging did not end");
}

/* ---------------------------------------------------------------- put */

static void test_put_outcomes(void **state)
{
	fixture *f = *state;
	char id[3][128];
	json_t *o[3];
	store_put_item it[5];
	store_put_result res[5];
	rk_errctx ctx;

	for (int i = 0; i < 3; i++) {
		tu_id(id[i], sizeof id[i], "indicator", 1, (unsigned)i);
		o[i] = tu_obj("indicator", id[i], "2024-01-01T00:00:00.000Z", "a");
		tu_item(o[i], &it[i]);
	}
	/* A rejected item in the middle: not an object. */
	memset(&it[3], 0, sizeof it[3]);
	it[3].info = it[0].info;
	it[3].object = NULL;
	/* Bad version string. */
	tu_item(o[1], &it[4]);
	it[4].info.version = "yesterday";

	rk_errctx_clear(&ctx);
	assert_int_equal(store_put(f->st, COLL, ORG_A, it, 5, res, &ctx), RK_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(res[i].outcome, STORE_PUT_ADDED);
	assert_true(res[0].date_added > 0);
	assert_true(res[1].date_added > res[0].date_added);
	assert_true(res[2].date_added > res[1].date_added);
	assert_int_equal(res[3].outcome, STORE_PUT_REJECTED);
	assert_string_equal(res[3].message, "not a JSON object");
	assert_int_equal(res[4].outcome, STORE_PUT_REJECTED);
	assert_non_null(strstr(res[4].message, "RFC 3339"));

	/* Same (id, version) again: duplicate with the stored date_added. */
	store_put_result dup[3];
	assert_int_equal(store_put(f->st, COLL, ORG_A, it, 3, dup, &ctx), RK_OK);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(dup[i].outcome, STORE_PUT_DUPLICATE);
		assert_int_equal(dup[i].date_added, res[i].date_added);
	}
	/* Same id in another collection by the owner: a new version there. */
	assert_int_equal(tu_put1(f->st, COLL2, ORG_A, o[0], NULL), STORE_PUT_ADDED);

	/* Another organisation may not add versions of org-a's object, in
	 * any collection, while new ids of its own are fine. */
	json_t *o2 = tu_obj("indicator", id[0], "2024-02-01T00:00:00.000Z", "b");
	store_put_item it2[2];
	store_put_result r2[2];
	char idb[128];
	tu_id(idb, sizeof idb, "indicator", 2, 0);
	json_t *ob = tu_obj("indicator", idb, "2024-02-01T00:00:00.000Z", "b");
	tu_item(o2, &it2[0]);
	tu_item(ob, &it2[1]);
	assert_int_equal(store_put(f->st, COLL2, ORG_B, it2, 2, r2, &ctx), RK_OK);
	assert_int_equal(r2[0].outcome, STORE_PUT_REJECTED);
	assert_string_equal(r2[0].message, "owned by another organisation");
	assert_int_equal(r2[1].outcome, STORE_PUT_ADDED);

	char *owner = NULL;
	assert_int_equal(store_object_owner(f->st, id[0], &owner, &ctx), RK_OK);
	assert_string_equal(owner, ORG_A);
	free(owner);
	assert_int_equal(store_object_owner(f->st, idb, &owner, &ctx), RK_OK);
	assert_string_equal(owner, ORG_B);
	free(owner);
	rk_errctx_clear(&ctx);
	assert_int_equal(store_object_owner(f->st, "indicator--nope", &owner, &ctx),
			 RK_ENOTFOUND);

	uint64_t n;
	assert_int_equal(store_count(f->st, COLL, &n, &ctx), RK_OK);
	assert_int_equal(n, 3);
	assert_int_equal(store_count(f->st, COLL2, &n, &ctx), RK_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_count(f->st, NULL, &n, &ctx), RK_OK);
	assert_int_equal(n, 5);
	assert_int_equal(store_count(f->st, "33333333-3333-4333-8333-333333333333",
				     &n, &ctx), RK_OK);
	assert_int_equal(n, 0);

	/* The stored JSON is the compact serialisation. */
	got g = {.n = 0};
	store_query q = {.collection_id = COLL, .ids = (const char *const[]){id[1]},
			 .n_ids = 1, .with_json = true};
	query_all(f->st, q, 10, &g);
	assert_int_equal(g.n, 1);
	char *want = rk_json_dump(o[1]);
	assert_string_equal(g.rows[0].json, want);
	assert_string_equal(g.rows[0].version, "2024-01-01T00:00:00.000Z");
	assert_string_equal(g.rows[0].owner, ORG_A);
	assert_int_equal(g.rows[0].date_added, res[1].date_added);
	free(want);
	got_free(&g);

	for (int i = 0; i < 3; i++)
		json_decref(o[i]);
	json_decref(o2);
	json_decref(ob);
}

static void test_put_versionless(void **state)
{
	fixture *f = *state;
	char id[128];
	rk_time da1, da2, da3;
	rk_errctx ctx;

	tu_id(id, sizeof id, "ipv4-addr", 7, 7);
	json_t *a = tu_obj("ipv4-addr", id, NULL, "198.51.100.1");
	json_t *b = tu_obj("ipv4-addr", id, NULL, "198.51.100.2");
	assert_int_equal(tu_put1(f->st, COLL, ORG_A, a, &da1), STORE_PUT_ADDED);
	/* Identical JSON again: the newest version already says this. */
	assert_int_equal(tu_put1(f->st, COLL, ORG_A, a, &da2), STORE_PUT_DUPLICATE);
	assert_int_equal(da2, da1);
	assert_int_equal(tu_put1(f->st, COLL, ORG_A, b, &da3), STORE_PUT_ADDED);
	assert_true(da3 > da1);

	got g = {.n = 0};
	store_query q = {.collection_id = COLL, .version = {.all = true}};
	query_all(f->st, q, 10, &g);
	assert_int_equal(g.n, 2);
	char want[RK_TIME_BUF];
	rk_time_format(da1, 6, want);
	assert_string_equal(g.rows[0].version, want);
	assert_int_equal(g.rows[0].version_time, da1);
	assert_int_equal(g.rows[1].version_time, da3);
	got_free(&g);

	/* match[version]=<the formatted date_added> finds it exactly. */
	rk_time t;
	assert_true(rk_time_parse(want, &t));
	q.version = (store_version_match){.at = &t, .n_at = 1};
	query_all(f->st, q, 10, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.rows[0].date_added, da1);
	got_free(&g);
	(void)ctx;
	json_decref(a);
	json_decref(b);
}

/* date_added stays strictly increasing even for many items in one call. */
static void test_put_date_added_monotonic(void **state)
{
	fixture *f = *state;
	enum { N = 300 };
	json_t *o[N];
	store_put_item it[N];
	store_put_result r[N];
	rk_errctx ctx;
	rk_time prev = 0;

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			char id[128];
			tu_id(id, sizeof id, "note", (unsigned)round, (unsigned)i);
			o[i] = tu_obj("note", id, "2024-01-01T00:00:00Z", "n");
			tu_item(o[i], &it[i]);
		}
		rk_errctx_clear(&ctx);
		assert_int_equal(store_put(f->st, COLL, ORG_A, it, N, r, &ctx), RK_OK);
		for (int i = 0; i < N; i++) {
			assert_int_equal(r[i].outcome, STORE_PUT_ADDED);
			assert_true(r[i].date_added > prev);
			prev = r[i].date_added;
			json_decref(o[i]);
		}
	}
}

/* ---------------------------------------------------------------- versions */

static void expect_versions(store *st, const char *id, store_version_match vm,
			    size_t n, const rk_time *want)
{
	got g = {.n = 0};
	store_query q = {.collection_id = COLL, .ids = (const char *const[]){id},
			 .n_ids = 1, .version = vm};
	query_all(st, q, 2, &g);
	assert_int_equal(g.n, n);
	/* Rows come in seq order; compare as sets of version times. */
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		for (size_t j = 0; j < g.n; j++)
			found |= g.rows[j].version_time == want[i];
		assert_true(found);
	}
	got_free(&g);
}

static void test_versions_first_last(void **state)
{
	fixture *f = *state;
	char id[128];
	rk_time t1, t2, t3, t4;
	rk_errctx ctx;

	assert_true(rk_time_parse("2024-01-01T00:00:00Z", &t1));
	assert_true(rk_time_parse("2024-02-01T00:00:00Z", &t2));
	assert_true(rk_time_parse("2024-03-01T00:00:00Z", &t3));
	assert_true(rk_time_parse("2024-04-01T00:00:00Z", &t4));
	tu_id(id, sizeof id, "malware", 3, 3);
	json_t *v1 = tu_obj("malware", id, "2024-01-01T00:00:00Z", "v1");
	json_t *v2 = tu_obj("malware", id, "2024-02-01T00:00:00Z", "v2");
	json_t *v3 = tu_obj("malware", id, "2024-03-01T00:00:00Z", "v3");
	json_t *v4 = tu_obj("malware", id, "2024-04-01T00:00:00Z", "v4");
	const store_version_match FIRST = {.first = true}, LAST = {.last = true},
				  ALL = {.all = true},
				  BOTH = {.first = true, .last = true};

	assert_int_equal(tu_put1(f->st, COLL, ORG_A, v2, NULL), STORE_PUT_ADDED);
	expect_versions(f->st, id, FIRST, 1, (rk_time[]){t2});
	expect_versions(f->st, id, LAST, 1, (rk_time[]){t2});
	expect_versions(f->st, id, BOTH, 1, (rk_time[]){t2});
	/* Newer version. */
	assert_int_equal(tu_put1(f->st, COLL, ORG_A, v3, NULL), STORE_PUT_ADDED);
	expect_versions(f->st, id, FIRST, 1, (rk_time[]){t2});
	expect_versions(f->st, id, LAST, 1, (rk_time[]){t3});
	/* Older version, added later. */
	assert_int_equal(tu_put1(f->st, COLL, ORG_A, v1, NULL), STORE_PUT_ADDED);
	expect_versions(f->st, id, FIRST, 1, (rk_time[]){t1});
	expect_versions(f->st, id, LAST, 1, (rk_time[]){t3});
	expect_versions(f->st, id, BOTH, 2, (rk_time[]){t1, t3});
	expect_versions(f->st, id, ALL, 3, (rk_time[]){t1, t2, t3});
	expect_versions(f->st, id, (store_version_match){0}, 3,
			(rk_time[]){t1, t2, t3});
	expect_versions(f->st, id, (store_version_match){.at = &t2, .n_at = 1}, 1,
			(rk_time[]){t2});
	expect_versions(f->st, id,
			(store_version_match){.last = true, .at = &t1, .n_at = 1}, 2,
			(rk_time[]){t1, t3});
	expect_versions(f->st, id, (store_version_match){.at = &t4, .n_at = 1}, 0,
			NULL);
	/* Between: neither flag moves. */
	assert_int_equal(tu_put1(f->st, COLL, ORG_A, v4, NULL), STORE_PUT_ADDED);
	expect_versions(f->st, id, LAST, 1, (rk_time[]){t4});

	/* Delete the last: the previous becomes last. */
	size_t n = 0;
	rk_errctx_clear(&ctx);
	assert_int_equal(store_delete(f->st, COLL, id, &LAST, NULL, 0, &n, &ctx),
			 RK_OK);
	assert_int_equal(n, 1);
	expect_versions(f->st, id, LAST, 1, (rk_time[]){t3});
	expect_versions(f->st, id, FIRST, 1, (rk_time[]){t1});
	/* Delete the first. */
	assert_int_equal(store_delete(f->st, COLL, id, &FIRST, NULL, 0, &n, &ctx),
			 RK_OK);
	assert_int_equal(n, 1);
	expect_versions(f->st, id, FIRST, 1, (rk_time[]){t2});
	expect_versions(f->st, id, ALL, 2, (rk_time[]){t2, t3});
	/* Delete by timestamp; the survivor is first and last. */
	store_version_match at3 = {.at = &t3, .n_at = 1};
	assert_int_equal(store_delete(f->st, COLL, id, &at3, NULL, 0, &n, &ctx),
			 RK_OK);
	assert_int_equal(n, 1);
	expect_versions(f->st, id, FIRST, 1, (rk_time[]){t2});
	expect_versions(f->st, id, LAST, 1, (rk_time[]){t2});
	/* Nothing matches: not found, nothing removed. */
	assert_int_equal(store_delete(f->st, COLL, id, &at3, NULL, 0, &n, &ctx),
			 RK_ENOTFOUND);
	assert_int_equal(n, 0);
	rk_errctx_clear(&ctx);
	const char *sv20[] = {"2.0"};
	assert_int_equal(store_delete(f->st, COLL, id, NULL, sv20, 1, &n, &ctx),
			 RK_ENOTFOUND);
	rk_errctx_clear(&ctx);
	uint64_t cnt;
	assert_int_equal(store_count(f->st, COLL, &cnt, &ctx), RK_OK);
	assert_int_equal(cnt, 1);
	/* Delete everything; the count follows; re-adding works and later
	 * versions still get later date_added. */
	const char *sv21[] = {"2.1"};
	assert_int_equal(store_delete(f->st, COLL, id, NULL, sv21, 1, &n, &ctx),
			 RK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_count(f->st, COLL, &cnt, &ctx), RK_OK);
	assert_int_equal(cnt, 0);
	expect_versions(f->st, id, ALL, 0, NULL);
	assert_int_equal(tu_put1(f->st, COLL, ORG_A, v3, NULL), STORE_PUT_ADDED);
	expect_versions(f->st, id, BOTH, 1, (rk_time[]){t3});
	assert_int_equal(store_delete(f->st, COLL2, id, NULL, NULL, 0, &n, &ctx),
			 RK_ENOTFOUND);

	json_decref(v1);
	json_decref(v2);
	json_decref(v3);
	json_decref(v4);
}

/* ---------------------------------------------------------------- filters */

/* The reference data set: NOBJ ids over three types, 1 to 3 versions each,
 * versions posted out of order, plus noise in a second collection. */
#define NOBJ 40
static const char *const TYPES[] = {"indicator", "malware", "report"};

typedef struct ref_row {
	uint64_t seq;
	rk_time da, vt;
	char id[128];
	const char *type;
	bool first, last;
	int64_t aud;
} ref_row;

/* Audience classes of the data set: a rare one (about one id in seven),
 * else even or odd; every version of an id shares its id's class. */
static const char *aud_key_of(unsigned k)
{
	return k % 7 == 0 ? "class-rare" : k % 2 ? "class-odd" : "class-even";
}

static size_t load_dataset(store *st, ref_row *ref)
{
	rk_errctx ctx;
	size_t nref = 0;

	rk_errctx_clear(&ctx);
	/* Three rounds of puts in batches, mixing versions of many ids. */
	for (int round = 0; round < 3; round++) {
		json_t *objs[NOBJ];
		store_put_item it[NOBJ];
		store_put_result res[NOBJ];
		size_t n = 0;
		for (unsigned k = 0; k < NOBJ; k++) {
			int nver = 1 + (int)(k % 3);
			/* round 0 posts month 2, round 1 month 3, round 2
			 * month 1: newer then older versions. */
			int month = round == 0 ? 2 : round == 1 ? 3 : 1;
			if (round >= nver)
				continue;
			char id[128], ts[32];
			const char *type = TYPES[k % 3 == 0 ? 0 : k % 5 == 0 ? 2 : 1];
			tu_id(id, sizeof id, type, 100, k);
			snprintf(ts, sizeof ts, "2024-%02d-01T00:00:00Z", month);
			objs[n] = tu_obj(type, id, ts, "d");
			tu_item(objs[n], &it[n]);
			it[n].audience = aud_key_of(k);
			n++;
		}
		assert_int_equal(store_put(st, COLL, ORG_A, it, n, res, &ctx), RK_OK);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(res[i].outcome, STORE_PUT_ADDED);
			json_decref(objs[i]);
		}
		/* Noise elsewhere, interleaving seqs. */
		char nid[128];
		tu_id(nid, sizeof nid, "indicator", 900, (unsigned)round);
		json_t *noise = tu_obj("indicator", nid, "2024-01-01T00:00:00Z", "z");
		assert_int_equal(tu_put1(st, COLL2, ORG_A, noise, NULL),
				 STORE_PUT_ADDED);
		json_decref(noise);
	}
	/* Truth: every version, in seq order, from an unfiltered query. */
	got *g = calloc(1, sizeof *g);
	store_query all = {.collection_id = COLL, .version = {.all = true}};
	query_all(st, all, 1000, g);
	for (size_t i = 0; i < g->n; i++) {
		ref_row *r = &ref[nref++];
		r->seq = g->rows[i].seq;
		r->da = g->rows[i].date_added;
		r->vt = g->rows[i].version_time;
		snprintf(r->id, sizeof r->id, "%s", g->rows[i].id);
		r->aud = g->rows[i].aud;
		assert_true(r->aud > 0);
		for (size_t t = 0; t < 3; t++)
			if (strcmp(g->rows[i].type, TYPES[t]) == 0)
				r->type = TYPES[t];
		assert_non_null(r->type);
		if (i)
			assert_true(r->seq > ref[nref - 2].seq &&
				    r->da > ref[nref - 2].da);
	}
	got_free(g);
	free(g);
	for (size_t i = 0; i < nref; i++) {
		ref[i].first = ref[i].last = true;
		for (size_t j = 0; j < nref; j++) {
			if (strcmp(ref[i].id, ref[j].id) != 0)
				continue;
			if (ref[j].vt < ref[i].vt)
				ref[i].first = false;
			if (ref[j].vt > ref[i].vt)
				ref[i].last = false;
		}
	}
	/* 40 ids: k%3==0 one version, ==1 two, ==2 three. */
	size_t want = 0;
	for (unsigned k = 0; k < NOBJ; k++)
		want += 1 + k % 3;
	assert_int_equal(nref, want);
	return nref;
}

static bool in_list(const char *s, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, v[i]) == 0)
			return true;
	return false;
}

static bool ref_match(const ref_row *r, const store_query *q)
{
	const store_version_match *v = &q->version;
	if (q->has_added_after && r->da <= q->added_after)
		return false;
	if (q->n_ids && !in_list(r->id, q->ids, q->n_ids))
		return false;
	if (q->n_types && !in_list(r->type, q->types, q->n_types))
		return false;
	if (q->n_spec_versions && !in_list("2.1", q->spec_versions,
					   q->n_spec_versions))
		return false;
	if (q->restrict_auds) {
		bool in = false;
		for (size_t i = 0; i < q->n_auds; i++)
			in |= q->auds[i] == r->aud;
		if (!in)
			return false;
	}
	if (v->all || (!v->first && !v->last && !v->n_at))
		return true;
	bool ok = (v->first && r->first) || (v->last && r->last);
	for (size_t i = 0; i < v->n_at; i++)
		ok |= r->vt == v->at[i];
	return ok;
}

/* The classes store_audiences reports. */
typedef struct class_ids {
	char key[8][32];
	int64_t aud[8];
	uint64_t n_rows[8];
	size_t n;
} class_ids;

static rk_err note_class(void *arg, int64_t aud, const char *key, uint64_t n)
{
	class_ids *c = arg;
	assert_true(c->n < 8);
	snprintf(c->key[c->n], sizeof c->key[c->n], "%s", key);
	c->aud[c->n] = aud;
	c->n_rows[c->n] = n;
	c->n++;
	return RK_OK;
}

static int64_t class_id(const class_ids *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->key[i], key) == 0)
			return c->aud[i];
	fail_msg("no class %s", key);
	return 0;
}

static uint64_t class_count(const class_ids *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->key[i], key) == 0)
			return c->n_rows[i];
	return 0;
}

/* True if the plan of `sql` reads a table or an index from end to end
 * ("SCAN ..."); *searches counts index searches on objects. */
static bool plan_has_scan(sqlite3 *db, const char *sql, int *searches)
{
	char *ex = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
	sqlite3_stmt *s = NULL;
	bool scan = false;

	if (sqlite3_prepare_v2(db, ex, -1, &s, NULL) != SQLITE_OK)
		fail_msg("cannot explain %s: %s", sql, sqlite3_errmsg(db));
	*searches = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(s, 3);
		if (strncmp(d, "SCAN", 4) == 0)
			scan = true;
		if (strncmp(d, "SEARCH objects USING", 20) == 0)
			(*searches)++;
	}
	sqlite3_finalize(s);
	sqlite3_free(ex);
	return scan;
}

static void check_plan(sqlite3 *db, const char *sql)
{
	int searches;
	if (plan_has_scan(db, sql, &searches))
		fail_msg("plan scans for: %s", sql);
	assert_true(searches > 0);
}

static void test_filters_and_plans(void **state)
{
	fixture *f = *state;
	ref_row *ref = calloc(200, sizeof *ref);
	size_t nref = load_dataset(f->st, ref);
	got *g = calloc(1, sizeof *g);
	char dbpath[512];
	sqlite3 *db = NULL;
	size_t combos = 0, nonempty = 0;

	snprintf(dbpath, sizeof dbpath, "%s/renkei.db", f->dir);
	assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	/* The detector itself: an unindexed filter is reported. */
	int searches;
	assert_true(plan_has_scan(db, "SELECT seq FROM objects WHERE json = 'x'",
				  &searches));

	const char *ids2[] = {ref[3].id, ref[nref - 1].id};
	const char *types1[] = {"malware"};
	const char *types2[] = {"indicator", "report"};
	const char *sv21[] = {"2.1"};
	const char *sv20[] = {"2.0", "2.0x"};
	rk_time at1 = 0, at2[2] = {0, 0};
	assert_true(rk_time_parse("2024-03-01T00:00:00Z", &at1));
	at2[0] = at1;
	assert_true(rk_time_parse("2024-01-01T00:00:00Z", &at2[1]));
	store_version_match vms[] = {
		{0},
		{.all = true},
		{.first = true},
		{.last = true},
		{.first = true, .last = true},
		{.at = &at1, .n_at = 1},
		{.at = at2, .n_at = 2},
		{.last = true, .at = at2, .n_at = 2},
		{.first = true, .last = true, .at = &at1, .n_at = 1},
	};
	rk_time middle = ref[nref / 2].da;

	/* Audience classes: none asked, the rare one (a small part: one arm
	 * per class on objects_aud), two (a large part: a residual term), one
	 * with a class that does not exist, and none at all. */
	class_ids cls = {0};
	rk_errctx actx;
	rk_errctx_clear(&actx);
	assert_int_equal(store_audiences(f->st, COLL, note_class, &cls, &actx), RK_OK);
	assert_int_equal(cls.n, 3);
	int64_t rare = class_id(&cls, "class-rare"), even = class_id(&cls, "class-even"),
		odd = class_id(&cls, "class-odd");
	assert_int_equal(class_count(&cls, "class-rare"), 12);
	const int64_t aud_sets[][4] = {{0}, {rare}, {even, rare}, {odd, 999999}, {0}};
	const size_t aud_n[] = {0, 1, 2, 2, 0};

	for (int di = 0; di < 5; di++)
	for (int ii = 0; ii < 2; ii++)
	for (int ti = 0; ti < 3; ti++)
	for (int si = 0; si < 3; si++)
	for (size_t vi = 0; vi < RK_ARRAY_LEN(vms); vi++)
	for (int ai = 0; ai < 2; ai++)
	for (int ji = 0; ji < 2; ji++) {
		if (di && !ji)
			continue;
		store_query q = {.collection_id = COLL, .version = vms[vi],
				 .with_json = ji, .restrict_auds = di > 0,
				 .auds = aud_sets[di], .n_auds = aud_n[di]};
		if (ii) {
			q.ids = ids2;
			q.n_ids = 2;
		}
		if (ti == 1) {
			q.types = types1;
			q.n_types = 1;
		} else if (ti == 2) {
			q.types = types2;
			q.n_types = 2;
		}
		if (si == 1) {
			q.spec_versions = sv21;
			q.n_spec_versions = 1;
		} else if (si == 2) {
			q.spec_versions = sv20;
			q.n_spec_versions = 2;
		}
		if (ai) {
			q.has_added_after = true;
			q.added_after = middle;
		}
		combos++;
		query_all(f->st, q, 3, g);
		size_t k = 0;
		for (size_t i = 0; i < nref; i++) {
			if (!ref_match(&ref[i], &q))
				continue;
			if (k >= g->n)
				fail_msg("combo auds=%d ids=%d types=%d spec=%d v=%zu aa=%d: "
					 "missing row seq %llu", di, ii, ti, si, vi, ai,
					 (unsigned long long)ref[i].seq);
			assert_int_equal(g->rows[k].seq, ref[i].seq);
			assert_string_equal(g->rows[k].id, ref[i].id);
			assert_int_equal(g->rows[k].version_time, ref[i].vt);
			assert_true(ji ? g->rows[k].json != NULL
				       : g->rows[k].json == NULL);
			k++;
		}
		if (k != g->n)
			fail_msg("combo auds=%d ids=%d types=%d spec=%d v=%zu aa=%d: %zu "
				 "rows, expected %zu", di, ii, ti, si, vi, ai, g->n, k);
		nonempty += k > 0;
		got_free(g);

		for (int sparse = 0; sparse < 2 && q.n_auds; sparse++) {
			char *sql = NULL;
			assert_int_equal(store_sqlite_query_sql(&q, sparse, &sql), RK_OK);
			check_plan(db, sql);
			free(sql);
		}
		if (!q.restrict_auds) {
			char *sql = NULL;
			assert_int_equal(store_sqlite_query_sql(&q, false, &sql), RK_OK);
			check_plan(db, sql);
			free(sql);
		}
	}
	/* The data set exercises the filters: most combinations return rows. */
	assert_true(nonempty > combos / 3);

	/* Unknown collection: empty, no error. */
	store_query q = {.collection_id = "99999999-9999-4999-8999-999999999999"};
	query_all(f->st, q, 3, g);
	assert_int_equal(g->n, 0);
	/* added_after past the end: empty. */
	q = (store_query){.collection_id = COLL, .has_added_after = true,
			  .added_after = ref[nref - 1].da};
	query_all(f->st, q, 3, g);
	assert_int_equal(g->n, 0);

	sqlite3_close(db);
	free(g);
	free(ref);
}

/* ---------------------------------------------------------------- audiences */

static rk_err count_version(void *arg, const store_row *row)
{
	got *g = arg;
	got_row *r = &g->rows[g->n++];
	snprintf(r->id, sizeof r->id, "%s", row->id);
	snprintf(r->type, sizeof r->type, "%s", row->collection_id);
	snprintf(r->owner, sizeof r->owner, "%s", row->owner_org);
	r->aud = row->aud;
	r->json = NULL;
	return RK_OK;
}

static rk_err note_unclassified(void *arg, const store_row *row)
{
	got *g = arg;
	assert_non_null(row->json);
	assert_string_equal(row->collection_id, COLL);
	return collect(arg, row) == RK_OK && g->n ? RK_OK : RK_EINVAL;
}

/* Every version keeps its id's class; classes are counted per collection,
 * through puts, deletes and classification; versions are found in every
 * collection. */
static void test_audiences(void **state)
{
	fixture *f = *state;
	rk_errctx ctx;
	char id[128], plain[128];
	got *g = calloc(1, sizeof *g);
	class_ids cls = {0};
	store_put_item it;
	store_put_result res;

	rk_errctx_clear(&ctx);
	tu_id(id, sizeof id, "malware", 7, 1);
	json_t *v1 = tu_obj("malware", id, "2024-01-01T00:00:00Z", "v1");
	json_t *v2 = tu_obj("malware", id, "2024-02-01T00:00:00Z", "v2");
	tu_item(v1, &it);
	it.audience = "who-a";
	it.flags = STORE_F_REFS;
	assert_int_equal(store_put(f->st, COLL, ORG_A, &it, 1, &res, &ctx), RK_OK);
	assert_int_equal(res.outcome, STORE_PUT_ADDED);
	/* another class for a new version in the collection: refused */
	tu_item(v2, &it);
	it.audience = "who-b";
	assert_int_equal(store_put(f->st, COLL, ORG_A, &it, 1, &res, &ctx), RK_OK);
	assert_int_equal(res.outcome, STORE_PUT_REJECTED);
	assert_non_null(strstr(res.message, "a new version keeps the markings"));
	it.audience = "who-a";
	assert_int_equal(store_put(f->st, COLL, ORG_A, &it, 1, &res, &ctx), RK_OK);
	assert_int_equal(res.outcome, STORE_PUT_ADDED);
	/* a copy in another collection may have its own (its default marking) */
	it.audience = "who-b";
	assert_int_equal(store_put(f->st, COLL2, ORG_A, &it, 1, &res, &ctx), RK_OK);
	assert_int_equal(res.outcome, STORE_PUT_ADDED);
	/* an unclassified object (class 0) */
	tu_id(plain, sizeof plain, "indicator", 7, 2);
	json_t *p = tu_obj("indicator", plain, "2024-01-01T00:00:00Z", "p");
	assert_int_equal(tu_put1(f->st, COLL, ORG_B, p, NULL), STORE_PUT_ADDED);

	assert_int_equal(store_audiences(f->st, COLL, note_class, &cls, &ctx), RK_OK);
	assert_int_equal(cls.n, 1);
	assert_string_equal(cls.key[0], "who-a");
	assert_int_equal(cls.n_rows[0], 2);
	int64_t a = cls.aud[0];
	char *key = NULL;
	assert_int_equal(store_audience_key(f->st, a, &key, &ctx), RK_OK);
	assert_string_equal(key, "who-a");
	free(key);
	assert_int_equal(store_audience_key(f->st, a + 100, &key, &ctx), RK_ENOTFOUND);

	/* rows carry class and flags; a reader of no class reads nothing */
	store_query q = {.collection_id = COLL, .version = {.all = true}, .with_json = true};
	query_all(f->st, q, 10, g);
	assert_int_equal(g->n, 3);
	got_free(g);
	q.restrict_auds = true;
	q.auds = &a;
	q.n_auds = 1;
	query_all(f->st, q, 10, g);
	assert_int_equal(g->n, 2);
	assert_int_equal(g->rows[0].aud, a);
	got_free(g);
	q.n_auds = 0;
	query_all(f->st, q, 10, g);
	assert_int_equal(g->n, 0);

	/* every version in every collection */
	const char *ids[] = {id, plain, "malware--00000000-0000-4000-8000-000000000000"};
	assert_true(store_may_hold(f->st, id));
	assert_int_equal(store_find_versions(f->st, ids, 3, count_version, g, &ctx), RK_OK);
	assert_int_equal(g->n, 4);
	size_t in_coll2 = 0;
	for (size_t i = 0; i < g->n; i++)
		in_coll2 += strcmp(g->rows[i].type, COLL2) == 0;
	assert_int_equal(in_coll2, 1);
	got_free(g);

	/* classification of the class-0 row */
	assert_int_equal(store_unclassified(f->st, 10, note_unclassified, g, &ctx), RK_OK);
	assert_int_equal(g->n, 1);
	assert_string_equal(g->rows[0].id, plain);
	uint64_t seq = g->rows[0].seq;
	unsigned flags = STORE_F_GRANULAR;
	const char *keys[] = {"who-b"};
	got_free(g);
	assert_int_equal(store_set_audiences(f->st, &seq, keys, &flags, 1, &ctx), RK_OK);
	assert_int_equal(store_unclassified(f->st, 10, note_unclassified, g, &ctx), RK_OK);
	assert_int_equal(g->n, 0);
	cls.n = 0;
	assert_int_equal(store_audiences(f->st, COLL, note_class, &cls, &ctx), RK_OK);
	assert_int_equal(cls.n, 2);
	assert_int_equal(class_count(&cls, "who-b"), 1);

	/* deletes move the counts */
	size_t n = 0;
	assert_int_equal(store_delete(f->st, COLL, id, NULL, NULL, 0, &n, &ctx), RK_OK);
	assert_int_equal(n, 2);
	cls.n = 0;
	assert_int_equal(store_audiences(f->st, COLL, note_class, &cls, &ctx), RK_OK);
	assert_int_equal(cls.n, 1); /* a class with no row left is not listed */
	assert_string_equal(cls.key[0], "who-b");
	cls.n = 0;
	assert_int_equal(store_audiences(f->st, COLL2, note_class, &cls, &ctx), RK_OK);
	assert_int_equal(class_count(&cls, "who-b"), 1);

	json_decref(v1);
	json_decref(v2);
	json_decref(p);
	free(g);
}

/* ---------------------------------------------------------------- visibility */

typedef struct vis {
	size_t calls;
} vis;

static bool only_indicators(void *arg, const store_row *row)
{
	((vis *)arg)->calls++;
	return strcmp(row->type, "indicator") == 0;
}

static void test_visible_paging(void **state)
{
	fixture *f = *state;
	rk_errctx ctx;
	store_page page;
	got g = {.n = 0};
	vis v = {0};

	/* 10 objects: indicators at positions 0, 3, 6, 9 and a malware last. */
	for (unsigned i = 0; i < 10; i++) {
		char id[128];
		const char *type = i % 3 == 0 ? "indicator" : "malware";
		tu_id(id, sizeof id, type, 50, i);
		json_t *o = tu_obj(type, id, "2024-01-01T00:00:00Z", "v");
		assert_int_equal(tu_put1(f->st, COLL, ORG_A, o, NULL),
				 STORE_PUT_ADDED);
		json_decref(o);
	}
	rk_errctx_clear(&ctx);
	store_query q = {.collection_id = COLL, .limit = 2};
	assert_int_equal(store_query_rows(f->st, &q, only_indicators, &v, collect,
					  &g, &page, &ctx), RK_OK);
	assert_int_equal(page.count, 2);
	assert_true(page.more);
	assert_string_equal(g.rows[0].type, "indicator");
	assert_string_equal(g.rows[1].type, "indicator");
	/* It read rows up to the third visible one: 0..6 = 7 rows. */
	assert_int_equal(v.calls, 7);

	q.after_seq = page.last_seq;
	assert_int_equal(store_query_rows(f->st, &q, only_indicators, &v, collect,
					  &g, &page, &ctx), RK_OK);
	assert_int_equal(page.count, 2);
	/* The rows after the last indicator are invisible: no more. */
	assert_false(page.more);
	assert_int_equal(g.n, 4);

	q.after_seq = page.last_seq;
	assert_int_equal(store_query_rows(f->st, &q, only_indicators, &v, collect,
					  &g, &page, &ctx), RK_OK);
	assert_int_equal(page.count, 0);
	assert_false(page.more);

	/* Exactly `limit` visible rows: more is false. */
	q.after_seq = 0;
	q.limit = 4;
	got_free(&g);
	assert_int_equal(store_query_rows(f->st, &q, only_indicators, &v, collect,
					  &g, &page, &ctx), RK_OK);
	assert_int_equal(page.count, 4);
	assert_false(page.more);
	got_free(&g);
}

/* A cursor whose row was deleted between pages still continues right
 * after it (the engine finds the first later row without that row). */
static void test_cursor_after_delete(void **state)
{
	fixture *f = *state;
	rk_errctx ctx;
	store_page page;
	got g = {.n = 0};
	char ids[8][128];

	for (unsigned i = 0; i < 8; i++) {
		tu_id(ids[i], sizeof ids[i], "malware", 51, i);
		json_t *o = tu_obj("malware", ids[i], "2024-01-01T00:00:00Z", "v");
		assert_int_equal(tu_put1(f->st, COLL, ORG_A, o, NULL),
				 STORE_PUT_ADDED);
		json_decref(o);
	}
	rk_errctx_clear(&ctx);
	store_query q = {.collection_id = COLL, .limit = 3};
	assert_int_equal(store_query_rows(f->st, &q, NULL, NULL, collect, &g,
					  &page, &ctx), RK_OK);
	assert_int_equal(page.count, 3);
	size_t deleted = 0;
	/* Delete the cursor's row and the one after it. */
	assert_int_equal(store_delete(f->st, COLL, ids[2], NULL, NULL, 0, &deleted,
				      &ctx), RK_OK);
	assert_int_equal(store_delete(f->st, COLL, ids[3], NULL, NULL, 0, &deleted,
				      &ctx), RK_OK);
	got_free(&g);
	q.after_seq = page.last_seq;
	q.limit = 10;
	assert_int_equal(store_query_rows(f->st, &q, NULL, NULL, collect, &g,
					  &page, &ctx), RK_OK);
	assert_int_equal(page.count, 4);
	assert_string_equal(g.rows[0].id, ids[4]);
	assert_string_equal(g.rows[3].id, ids[7]);
	got_free(&g);
	/* Past the end, and with added_after too. */
	q.after_seq = page.last_seq;
	assert_int_equal(store_query_rows(f->st, &q, NULL, NULL, collect, &g,
					  &page, &ctx), RK_OK);
	assert_int_equal(page.count, 0);
	got_free(&g);
}

static rk_err stop_emit(void *arg, const store_row *row)
{
	(void)row;
	return ++*(int *)arg == 2 ? RK_EIO : RK_OK;
}

static void test_emit_error_stops(void **state)
{
	fixture *f = *state;
	rk_errctx ctx;
	store_page page;
	int calls = 0;

	for (unsigned i = 0; i < 5; i++) {
		char id[128];
		tu_id(id, sizeof id, "indicator", 60, i);
		json_t *o = tu_obj("indicator", id, "2024-01-01T00:00:00Z", "v");
		tu_put1(f->st, COLL, ORG_A, o, NULL);
		json_decref(o);
	}
	rk_errctx_clear(&ctx);
	store_query q = {.collection_id = COLL, .limit = 10};
	assert_int_equal(store_query_rows(f->st, &q, NULL, NULL, stop_emit, &calls,
					  &page, &ctx), RK_EIO);
	assert_int_equal(calls, 2);
	/* The connection is reusable afterwards. */
	assert_int_equal(store_query_rows(f->st, &q, NULL, NULL, NULL, NULL, &page,
					  &ctx), RK_OK);
	assert_int_equal(page.count, 5);
}

static void test_limits(void **state)
{
	fixture *f = *state;
	rk_errctx ctx;
	store_page page;
	const char *many[RK_MAX_FILTER_VALUES + 1];

	for (size_t i = 0; i < RK_ARRAY_LEN(many); i++)
		many[i] = "indicator";
	rk_errctx_clear(&ctx);
	store_query q = {.collection_id = COLL, .types = many,
			 .n_types = RK_ARRAY_LEN(many)};
	assert_int_equal(store_query_rows(f->st, &q, NULL, NULL, NULL, NULL, &page,
					  &ctx), RK_ETOOBIG);
	/* The maximum is fine (100 UNION ALL arms). */
	rk_errctx_clear(&ctx);
	q.n_types = RK_MAX_FILTER_VALUES;
	assert_int_equal(store_query_rows(f->st, &q, NULL, NULL, NULL, NULL, &page,
					  &ctx), RK_OK);
}

/* ---------------------------------------------------------------- status, meta */

static void test_status(void **state)
{
	fixture *f = *state;
	rk_errctx ctx;
	json_t *got_doc = NULL;

	rk_errctx_clear(&ctx);
	json_t *s1 = json_pack("{s:s, s:s, s:i}", "id", "s-1", "status", "pending",
			       "total_count", 3);
	json_t *s2 = json_pack("{s:s, s:s, s:i}", "id", "s-1", "status", "complete",
			       "total_count", 3);
	assert_int_equal(store_status_get(f->st, "root", "s-1", &got_doc, &ctx),
			 RK_ENOTFOUND);
	assert_null(got_doc);
	rk_errctx_clear(&ctx);
	assert_int_equal(store_status_put(f->st, "root", "s-1", s1, &ctx), RK_OK);
	assert_int_equal(store_status_get(f->st, "root", "s-1", &got_doc, &ctx),
			 RK_OK);
	assert_true(json_equal(got_doc, s1));
	json_decref(got_doc);
	assert_int_equal(store_status_put(f->st, "root", "s-1", s2, &ctx), RK_OK);
	assert_int_equal(store_status_get(f->st, "root", "s-1", &got_doc, &ctx),
			 RK_OK);
	assert_true(json_equal(got_doc, s2));
	json_decref(got_doc);
	/* Keyed by API root too. */
	assert_int_equal(store_status_get(f->st, "other", "s-1", &got_doc, &ctx),
			 RK_ENOTFOUND);
	json_decref(s1);
	json_decref(s2);
}

static void test_meta(void **state)
{
	fixture *f = *state;
	rk_errctx ctx;
	json_t *doc = NULL;
	uint64_t v = 99;
	bool changed = false;

	rk_errctx_clear(&ctx);
	assert_int_equal(store_meta_get(f->st, "directory", &doc, &v, &ctx), RK_OK);
	assert_null(doc);
	assert_int_equal(v, 0);
	assert_int_equal(store_meta_version(f->st, "directory", &v, &ctx), RK_OK);
	assert_int_equal(v, 0);

	json_t *d1 = json_loads("{\"b\":1,\"a\":[1,2]}", 0, NULL);
	json_t *d1b = json_loads("{\"a\":[1,2],  \"b\":1}", 0, NULL);
	json_t *d2 = json_loads("{\"a\":[2,1],\"b\":1}", 0, NULL);
	assert_int_equal(store_meta_put(f->st, "directory", d1, &v, &changed, &ctx),
			 RK_OK);
	assert_true(changed);
	assert_int_equal(v, 1);
	/* Same document, other key order: unchanged. */
	assert_int_equal(store_meta_put(f->st, "directory", d1b, &v, &changed, &ctx),
			 RK_OK);
	assert_false(changed);
	assert_int_equal(v, 1);
	assert_int_equal(store_meta_put(f->st, "directory", d2, &v, &changed, &ctx),
			 RK_OK);
	assert_true(changed);
	assert_int_equal(v, 2);
	assert_int_equal(store_meta_version(f->st, "directory", &v, &ctx), RK_OK);
	assert_int_equal(v, 2);
	assert_int_equal(store_meta_get(f->st, "directory", &doc, &v, &ctx), RK_OK);
	assert_true(json_equal(doc, d2));
	assert_int_equal(v, 2);
	json_decref(doc);
	/* Independent names. */
	assert_int_equal(store_meta_put(f->st, "other", d1, &v, &changed, &ctx),
			 RK_OK);
	assert_int_equal(v, 1);
	/* Survives reopening. */
	store_close(f->st);
	assert_int_equal(store_open(f->dir, &f->st, &ctx), RK_OK);
	assert_int_equal(store_schema_version_found(f->st), store_schema_version());
	assert_int_equal(store_meta_version(f->st, "directory", &v, &ctx), RK_OK);
	assert_int_equal(v, 2);
	assert_int_equal(store_check_integrity(f->st, &ctx), RK_OK);
	json_decref(d1);
	json_decref(d1b);
	json_decref(d2);
}

static void test_open_locations(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char loc[600];
	store *st = NULL;
	rk_errctx ctx;
	struct stat sb;

	/* "sqlite:DIR" with a missing nested directory: created 0700. */
	snprintf(loc, sizeof loc, "sqlite:%s/a/b", dir);
	rk_errctx_clear(&ctx);
	assert_int_equal(store_open(loc, &st, &ctx), RK_OK);
	assert_int_equal(store_schema_version_found(st), 0);
	store_close(st);
	snprintf(loc, sizeof loc, "%s/a/b", dir);
	assert_int_equal(stat(loc, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(store_open(loc, &st, &ctx), RK_OK);
	assert_int_equal(store_schema_version_found(st), store_schema_version());
	store_close(st);
	char *inner = strdup(loc);
	tu_rmdir(inner);
	snprintf(loc, sizeof loc, "%s/a", dir);
	rmdir(loc);
	/* Empty and unsupported locations. */
	assert_int_equal(store_open("", &st, &ctx), RK_ECONFIG);
	rk_errctx_clear(&ctx);
	assert_int_equal(store_open("sqlite:", &st, &ctx), RK_ECONFIG);
	rk_errctx_clear(&ctx);
	assert_int_equal(store_open("postgresql://x", &st, &ctx), RK_ECONFIG);
	assert_null(st);
	tu_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_outcomes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_versionless, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_date_added_monotonic, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_versions_first_last, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_filters_and_plans, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_visible_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audiences, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cursor_after_delete, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_emit_error_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
		cmocka_unit_test(test_open_locations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
