/*
 * test_audit_log.c: writing and querying the audit log.
 *
 * Covered: records read back field for field (NULL kept apart from ""),
 * the chain links, wait=true meaning committed, a log taken up again after
 * a reopen, several threads appending at once (the chain intact and the
 * count exact, each thread's records in its own order), show's filters,
 * readers (GET 2xx only, by collection, newest kept under a limit), the
 * same queries across many blocks of the readers index (small blocks),
 * also with a block row removed, a version 1 log (audit_ix) read as it
 * is and migrated by a writer, the Bloom filter's false-positive rate,
 * the ids list, refused input, the cost of recording on the request
 * thread, and the writer's cost per id as the log grows to 2,000,000 ids,
 * which are printed (and bounded loosely outside sanitizer builds).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "audit_int.h"
#include "audit_test_util.h"

#define BASE_AT (1700000000LL * 1000000)

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static audit *open_rw(const char *dir)
{
	audit *a = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	if (audit_open(dir, NULL, &a, &ctx) != RK_OK)
		fail_msg("audit_open: %s: %s", ctx.path, ctx.msg);
	return a;
}

static audit *open_ro(const char *dir)
{
	audit *a = NULL;
	audit_options ro = {.read_only = true};
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	if (audit_open(dir, &ro, &a, &ctx) != RK_OK)
		fail_msg("audit_open: %s: %s", ctx.path, ctx.msg);
	return a;
}

/* Collects copies of the records show gives. */
typedef struct seen {
	size_t n;
	uint64_t seq[4096];
	rk_time at[4096];
	char user[4096][24];
	char org[4096][24];
	char ids[8][400];
	audit_record first[8];
	unsigned char hash[8][AUDIT_HASH_BYTES], prev[8][AUDIT_HASH_BYTES];
	bool user_null[8], api_root_null[8], ids_null[8];
	char method[8][8], route[8][64], coll[8][40], outcome[8][40];
	int status[8];
} seen;

static rk_err collect(void *arg, const audit_record *r)
{
	seen *s = arg;
	if (s->n >= 4096)
		return RK_ETOOBIG;
	size_t i = s->n++;
	s->seq[i] = r->seq;
	s->at[i] = r->at;
	snprintf(s->user[i], sizeof s->user[i], "%s", r->user ? r->user : "-");
	snprintf(s->org[i], sizeof s->org[i], "%s", r->org ? r->org : "-");
	if (i < 8) {
		snprintf(s->ids[i], sizeof s->ids[i], "%s", r->ids ? r->ids : "");
		memcpy(s->hash[i], r->hash, AUDIT_HASH_BYTES);
		memcpy(s->prev[i], r->prev, AUDIT_HASH_BYTES);
		s->user_null[i] = r->user == NULL;
		s->api_root_null[i] = r->api_root == NULL;
		s->ids_null[i] = r->ids == NULL || !*r->ids;
		snprintf(s->method[i], sizeof s->method[i], "%s", r->method);
		snprintf(s->route[i], sizeof s->route[i], "%s", r->route);
		snprintf(s->coll[i], sizeof s->coll[i], "%s", r->collection ? r->collection : "-");
		snprintf(s->outcome[i], sizeof s->outcome[i], "%s", r->outcome);
		s->status[i] = r->status;
	}
	return RK_OK;
}

static void show(audit *a, const audit_filter *f, seen *s)
{
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	memset(s, 0, sizeof *s);
	if (audit_show(a, f, collect, s, &ctx) != RK_OK)
		fail_msg("audit_show: %s", ctx.msg);
}

static seen S; /* large: not on the stack */

static void test_round_trip(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	audit *a = open_rw(dir);
	rk_errctx ctx;
	audit_record r = {.at = BASE_AT + 5, .user = "npa-analyst", .org = "npa",
			  .method = "GET", .route = "/gov/collections/c/objects/",
			  .api_root = "gov", .collection = "c",
			  .ids = "indicator--a\nindicator--b", .status = 200, .outcome = "ok"};
	audit_record anon = {.at = BASE_AT + 6, .method = "GET", .route = "/x/",
			     .user = NULL, .org = NULL, .api_root = NULL, .collection = NULL,
			     .ids = NULL, .status = 401, .outcome = "authentication required"};
	audit_record empty_user = anon;
	empty_user.user = "";
	empty_user.org = "";

	rk_errctx_clear(&ctx);
	assert_int_equal(audit_append(a, &r, false, &ctx), RK_OK);
	assert_int_equal(audit_append(a, &anon, false, &ctx), RK_OK);
	assert_int_equal(audit_append(a, &empty_user, true, &ctx), RK_OK);
	show(a, NULL, &S);
	assert_int_equal(S.n, 3);
	assert_int_equal(S.seq[0], 1);
	assert_int_equal(S.seq[2], 3);
	assert_int_equal(S.at[0], BASE_AT + 5);
	assert_string_equal(S.user[0], "npa-analyst");
	assert_string_equal(S.org[0], "npa");
	assert_string_equal(S.method[0], "GET");
	assert_string_equal(S.route[0], "/gov/collections/c/objects/");
	assert_string_equal(S.coll[0], "c");
	assert_string_equal(S.ids[0], "indicator--a\nindicator--b");
	assert_int_equal(S.status[0], 200);
	assert_string_equal(S.outcome[0], "ok");
	assert_true(S.user_null[1]);
	assert_true(S.api_root_null[1]);
	assert_true(S.ids_null[1]);
	assert_int_equal(S.status[1], 401);
	assert_string_equal(S.outcome[1], "authentication required");
	assert_false(S.user_null[2]); /* "" stays "" */
	/* the chain: record 1 follows zeros, each next one its predecessor */
	unsigned char zero[AUDIT_HASH_BYTES] = {0};
	assert_memory_equal(S.prev[0], zero, AUDIT_HASH_BYTES);
	assert_memory_equal(S.prev[1], S.hash[0], AUDIT_HASH_BYTES);
	assert_memory_equal(S.prev[2], S.hash[1], AUDIT_HASH_BYTES);
	assert_memory_not_equal(S.hash[0], S.hash[1], AUDIT_HASH_BYTES);
	audit_close(a);
	tu_rmdir(dir);
}

static void test_wait_means_committed(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	audit *a = open_rw(dir);
	rk_errctx ctx;
	char p[512];
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	audit_record r = {.at = 1, .user = "u", .org = "o", .method = "POST", .route = "/r/",
			  .status = 202, .outcome = "accepted"};

	snprintf(p, sizeof p, "%s/audit.db", dir);
	rk_errctx_clear(&ctx);
	for (int i = 1; i <= 5; i++) {
		assert_int_equal(audit_append(a, &r, true, &ctx), RK_OK);
		/* another connection sees it at once, with no flush */
		assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM audit", -1, &s, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(s, 0), i);
		sqlite3_finalize(s);
		sqlite3_close(db);
	}
	audit_close(a);
	tu_rmdir(dir);
}

static void test_reopen_continues(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	audit_verdict v;

	assert_int_equal(tu_build(dir, 4), 0);
	assert_int_equal(tu_verify(dir, NULL, &v), 0);
	unsigned char h4[AUDIT_HASH_BYTES];
	memcpy(h4, v.last_hash, AUDIT_HASH_BYTES);
	audit *a = open_rw(dir);
	rk_errctx ctx;
	audit_record r;
	char user[32], org[32], coll[32], ids[256];
	rk_errctx_clear(&ctx);
	for (unsigned i = 5; i <= 7; i++) {
		tu_record(i, &r, user, org, coll, ids);
		assert_int_equal(audit_append(a, &r, false, &ctx), RK_OK);
	}
	audit_close(a);
	assert_int_equal(tu_verify(dir, NULL, &v), 0);
	assert_true(v.intact);
	assert_int_equal(v.records, 7);
	assert_int_equal(v.anchor.seq, 7);
	a = open_ro(dir);
	show(a, NULL, &S);
	assert_int_equal(S.n, 7);
	assert_memory_equal(S.prev[4], h4, AUDIT_HASH_BYTES);
	audit_close(a);
	tu_rmdir(dir);
}

/* ---------------------------------------------------------------- threads */

#define N_THREADS 4
#define PER_THREAD 500

typedef struct appender {
	audit *a;
	int k;
	int failures;
} appender;

static void *append_many(void *arg)
{
	appender *ap = arg;
	char org[16], ids[128];
	rk_errctx ctx;
	snprintf(org, sizeof org, "t%d", ap->k);
	for (int i = 0; i < PER_THREAD; i++) {
		snprintf(ids, sizeof ids, "indicator--%d-%d\nmalware--%d", ap->k, i, i % 10);
		audit_record r = {.at = (rk_time)i, .user = org, .org = org, .method = "GET",
				  .route = "/r/", .ids = ids, .status = 200, .outcome = "ok"};
		rk_errctx_clear(&ctx);
		if (audit_append(ap->a, &r, i % 3 == 0, &ctx) != RK_OK)
			ap->failures++;
	}
	return NULL;
}

static void test_concurrent_appends(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	audit *a = open_rw(dir);
	pthread_t th[N_THREADS];
	appender ap[N_THREADS];
	audit_verdict v;

	for (int k = 0; k < N_THREADS; k++) {
		ap[k] = (appender){.a = a, .k = k};
		assert_int_equal(pthread_create(&th[k], NULL, append_many, &ap[k]), 0);
	}
	for (int k = 0; k < N_THREADS; k++) {
		pthread_join(th[k], NULL);
		assert_int_equal(ap[k].failures, 0);
	}
	audit_close(a);

	assert_int_equal(tu_verify(dir, NULL, &v), 0);
	if (!v.intact)
		fail_msg("%s", v.message);
	assert_int_equal(v.records, N_THREADS * PER_THREAD);
	assert_int_equal(v.last_seq, N_THREADS * PER_THREAD);
	assert_int_equal(v.anchor.seq, N_THREADS * PER_THREAD);
	a = open_ro(dir);
	for (int k = 0; k < N_THREADS; k++) {
		char org[16];
		snprintf(org, sizeof org, "t%d", k);
		audit_filter f = {.org = org};
		show(a, &f, &S);
		assert_int_equal(S.n, PER_THREAD);
		for (size_t i = 0; i < S.n; i++)
			assert_int_equal(S.at[i], (rk_time)i); /* the thread's own order */
	}
	/* the shared ids are indexed once per record: malware--3 is in 50
	 * records of each thread */
	audit_filter f = {.object_id = "malware--3"};
	show(a, &f, &S);
	assert_int_equal(S.n, N_THREADS * PER_THREAD / 10);
	audit_close(a);
	tu_rmdir(dir);
}

/* ---------------------------------------------------------------- queries */

static void test_show_filters(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char id3[96];

	assert_int_equal(tu_build(dir, 10), 0);
	audit *a = open_ro(dir);

	audit_filter by_org = {.org = "org1"};
	show(a, &by_org, &S);
	assert_int_equal(S.n, 3); /* 1, 4, 7 (10 is anonymous) */
	assert_int_equal(S.seq[0], 1);
	assert_int_equal(S.seq[1], 4);
	assert_int_equal(S.seq[2], 7);

	tu_id(id3, sizeof id3, 3);
	audit_filter by_obj = {.object_id = id3};
	show(a, &by_obj, &S);
	assert_int_equal(S.n, 4); /* i % 7 in {1, 2}: 1, 2, 8, 9 */
	assert_int_equal(S.seq[0], 1);
	assert_int_equal(S.seq[3], 9);

	audit_filter by_time = {.has_since = true, .since = BASE_AT + 3 * 1000000,
				.has_until = true, .until = BASE_AT + 6 * 1000000};
	show(a, &by_time, &S);
	assert_int_equal(S.n, 3); /* 3, 4, 5: until is exclusive */
	assert_int_equal(S.seq[0], 3);
	assert_int_equal(S.seq[2], 5);

	audit_filter both = {.org = "org1", .has_since = true, .since = BASE_AT + 2 * 1000000};
	show(a, &both, &S);
	assert_int_equal(S.n, 2);
	assert_int_equal(S.seq[0], 4);
	assert_int_equal(S.seq[1], 7);

	audit_filter nobody = {.object_id = "indicator--not-there"};
	show(a, &nobody, &S);
	assert_int_equal(S.n, 0);
	audit_close(a);
	tu_rmdir(dir);
}

typedef struct reads {
	size_t n;
	uint64_t seq[64];
	char who[64][48];
} reads;

static rk_err collect_read(void *arg, const audit_read *r)
{
	reads *rs = arg;
	if (rs->n >= 64)
		return RK_ETOOBIG;
	rs->seq[rs->n] = r->seq;
	snprintf(rs->who[rs->n], sizeof rs->who[0], "%s/%s@%s", r->org ? r->org : "-",
		 r->user ? r->user : "-", r->collection ? r->collection : "-");
	rs->n++;
	return RK_OK;
}

static void test_readers(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char id3[96];
	reads rs;
	bool more = true;
	rk_errctx ctx;

	assert_int_equal(tu_build(dir, 12), 0);
	audit *a = open_ro(dir);
	tu_id(id3, sizeof id3, 3);
	rk_errctx_clear(&ctx);

	/* records naming id 3: 1, 2, 8, 9; 9 is a POST: reads 1, 2, 8 */
	memset(&rs, 0, sizeof rs);
	assert_int_equal(audit_readers(a, id3, NULL, 0, collect_read, &rs, &more, &ctx), RK_OK);
	assert_false(more);
	assert_int_equal(rs.n, 3);
	assert_int_equal(rs.seq[0], 1);
	assert_string_equal(rs.who[0], "org1/u1@c1");
	assert_int_equal(rs.seq[1], 2);
	assert_string_equal(rs.who[1], "org2/u2@c0");
	assert_int_equal(rs.seq[2], 8);
	assert_string_equal(rs.who[2], "org2/u0@c0");

	memset(&rs, 0, sizeof rs);
	assert_int_equal(audit_readers(a, id3, "c0", 0, collect_read, &rs, &more, &ctx), RK_OK);
	assert_int_equal(rs.n, 2);
	assert_int_equal(rs.seq[0], 2);
	assert_int_equal(rs.seq[1], 8);

	/* the newest two, oldest first, and more */
	memset(&rs, 0, sizeof rs);
	assert_int_equal(audit_readers(a, id3, NULL, 2, collect_read, &rs, &more, &ctx), RK_OK);
	assert_true(more);
	assert_int_equal(rs.n, 2);
	assert_int_equal(rs.seq[0], 2);
	assert_int_equal(rs.seq[1], 8);

	memset(&rs, 0, sizeof rs);
	assert_int_equal(audit_readers(a, "indicator--never", NULL, 0, collect_read, &rs, &more,
				       &ctx),
			 RK_OK);
	assert_int_equal(rs.n, 0);
	audit_close(a);
	tu_rmdir(dir);
}

/* A failed read is not a read; an anonymous one is. */
static void test_readers_outcomes(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	audit *a = open_rw(dir);
	reads rs = {0};
	rk_errctx ctx;
	audit_record ok = {.at = 1, .user = "u", .org = "o", .method = "GET", .route = "/r/",
			   .collection = "c", .ids = "x--1", .status = 200, .outcome = "ok"};
	audit_record refused = ok, anon = ok, posted = ok;
	refused.status = 404;
	refused.outcome = "no such object";
	anon.user = anon.org = NULL;
	posted.method = "POST";
	posted.status = 202;

	rk_errctx_clear(&ctx);
	assert_int_equal(audit_append(a, &ok, false, &ctx), RK_OK);
	assert_int_equal(audit_append(a, &refused, false, &ctx), RK_OK);
	assert_int_equal(audit_append(a, &posted, false, &ctx), RK_OK);
	assert_int_equal(audit_append(a, &anon, false, &ctx), RK_OK);
	assert_int_equal(audit_flush(a, &ctx), RK_OK);
	assert_int_equal(audit_readers(a, "x--1", NULL, 0, collect_read, &rs, NULL, &ctx), RK_OK);
	assert_int_equal(rs.n, 2);
	assert_int_equal(rs.seq[0], 1);
	assert_string_equal(rs.who[0], "o/u@c");
	assert_int_equal(rs.seq[1], 4);
	assert_string_equal(rs.who[1], "-/-@c");
	audit_close(a);
	tu_rmdir(dir);
}

/* ---------------------------------------------------------------- blocks */

/* What readers must answer for object k of the known log of n records
 * (tu_record): the GETs (i % 3 != 0) naming it, in collection coll (NULL:
 * any), the newest `limit` (0: all), oldest first. */
static size_t expected_reads(unsigned n, unsigned k, const char *coll, size_t limit,
			     uint64_t *out)
{
	size_t m = 0;
	for (unsigned i = n; i >= 1; i--) {
		char c[8];
		snprintf(c, sizeof c, "c%u", i % 2);
		if (i % 3 == 0 || (i % 7 + 1 != k && i % 7 + 2 != k) ||
		    (coll && strcmp(coll, c) != 0))
			continue;
		if (limit && m == limit)
			break;
		out[m++] = i;
	}
	for (size_t a = 0, b = m ? m - 1 : 0; a < b; a++, b--) {
		uint64_t t = out[a];
		out[a] = out[b];
		out[b] = t;
	}
	return m;
}

/* readers and show --object on the known log of n records give what the
 * records say, for every object, with and without a collection or limit. */
static void check_queries(const char *dir, unsigned n)
{
	audit *a = open_ro(dir);
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	for (unsigned k = 1; k <= 9; k++) {
		char id[96];
		uint64_t want[64];
		reads rs;
		bool more = false;
		tu_id(id, sizeof id, k);
		for (int v = 0; v < 3; v++) {
			const char *coll = v == 1 ? "c1" : NULL;
			size_t limit = v == 2 ? 3 : 0;
			size_t m = expected_reads(n, k, coll, limit, want);
			memset(&rs, 0, sizeof rs);
			assert_int_equal(audit_readers(a, id, coll, limit, collect_read, &rs, &more,
						       &ctx),
					 RK_OK);
			assert_int_equal(rs.n, m);
			for (size_t i = 0; i < m; i++)
				assert_int_equal(rs.seq[i], want[i]);
			if (limit)
				assert_int_equal(more, expected_reads(n, k, coll, 0, want) > limit);
		}
		/* show: every record naming it, reads or not */
		audit_filter f = {.object_id = id};
		show(a, &f, &S);
		size_t m = 0;
		for (unsigned i = 1; i <= n; i++)
			if (i % 7 + 1 == k || i % 7 + 2 == k) {
				assert_true(m < S.n);
				assert_int_equal(S.seq[m], i);
				m++;
			}
		assert_int_equal(S.n, m);
		/* with another filter too */
		audit_filter fo = {.object_id = id, .org = "org1"};
		show(a, &fo, &S);
		for (size_t i = 0; i < S.n; i++)
			assert_string_equal(S.org[i], "org1");
	}
	audit_close(a);
}

static int64_t count_rows(const char *dir, const char *sql)
{
	char p[512];
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t n = -1;
	snprintf(p, sizeof p, "%s/audit.db", dir);
	assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

/* Queries across blocks: the filters skip, the records decide. */
static void test_blocks_queries(void **state)
{
	(void)state;
	enum { N = 200 };
	char *dir = tu_tmpdir();
	audit_verdict v;
	uint32_t saved = audit_block_ids;

	audit_block_ids = 10; /* 5 records a block */
	assert_int_equal(tu_build(dir, N), 0);
	assert_int_equal(count_rows(dir, "SELECT count(*) FROM audit_blocks"), N / 5);
	assert_int_equal(tu_verify(dir, NULL, &v), 0);
	if (!v.intact)
		fail_msg("%s", v.message);
	check_queries(dir, N);
	/* a block row removed hides nothing from a query (verify reports it) */
	assert_int_equal(tu_sql(dir, "DELETE FROM audit_blocks WHERE first_seq = 101"), SQLITE_OK);
	check_queries(dir, N);
	assert_int_equal(tu_verify(dir, NULL, &v), 0);
	assert_false(v.intact);
	assert_string_equal(v.message,
			    "records 101 to 105: in no block of the readers index (a block row "
			    "removed)");
	audit_block_ids = saved;
	tu_rmdir(dir);
}

static void fill_ix(const char *dir)
{
	char p[512];
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL, *ins = NULL;
	snprintf(p, sizeof p, "%s/audit.db", dir);
	assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT seq, ids FROM audit", -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO audit_ix VALUES (?, ?)", -1,
					    &ins, NULL),
			 SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *ids = (const char *)sqlite3_column_text(s, 1);
		while (ids && *ids) {
			size_t len = strcspn(ids, "\n");
			sqlite3_reset(ins);
			sqlite3_bind_int64(ins, 1, audit_idh(ids, len));
			sqlite3_bind_int64(ins, 2, sqlite3_column_int64(s, 0));
			assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
			ids += len + (ids[len] == '\n');
		}
	}
	sqlite3_finalize(s);
	sqlite3_finalize(ins);
	sqlite3_close(db);
}

/* A log written with audit_ix (schema version 1): read as it is, then
 * migrated by the first writer, to the blocks a new log would have. */
static void test_migrate_v1(void **state)
{
	(void)state;
	enum { N = 40 };
	char *dir = tu_tmpdir();
	audit_verdict v;
	uint32_t saved = audit_block_ids;

	audit_block_ids = 6; /* 3 records a block */
	assert_int_equal(tu_build(dir, N), 0);
	/* the blocks a version 2 writer made, to compare with */
	assert_int_equal(count_rows(dir, "SELECT count(*) FROM audit_blocks"), N / 3);
	int64_t sum = count_rows(dir, "SELECT sum(first_seq * 7 + last_seq * 3 + n_ids + "
				      "length(bloom)) FROM audit_blocks");
	char *copy = tu_copy(dir); /* blooms, byte for byte */
	assert_non_null(copy);
	/* now as version 1 wrote it */
	assert_int_equal(tu_sql(dir, "DROP TABLE audit_blocks;"
				     "CREATE TABLE audit_ix(idh INTEGER NOT NULL, seq INTEGER NOT "
				     "NULL, PRIMARY KEY (idh, seq)) WITHOUT ROWID;"
				     "PRAGMA user_version = 1;"),
			 SQLITE_OK);
	fill_ix(dir);
	assert_int_equal(count_rows(dir, "SELECT count(*) FROM audit_ix"), 2 * N);

	/* read-only: the queries read every record; verify checks the chain */
	check_queries(dir, N);
	assert_int_equal(tu_verify(dir, NULL, &v), 0);
	if (!v.intact)
		fail_msg("%s", v.message);
	assert_int_equal(count_rows(dir, "PRAGMA user_version"), 1);

	/* a writer migrates it */
	audit *a = open_rw(dir);
	audit_close(a);
	assert_int_equal(count_rows(dir, "PRAGMA user_version"), 2);
	assert_int_equal(count_rows(dir, "SELECT count(*) FROM sqlite_master WHERE name = "
					 "'audit_ix'"),
			 0);
	assert_int_equal(count_rows(dir, "SELECT sum(first_seq * 7 + last_seq * 3 + n_ids + "
					 "length(bloom)) FROM audit_blocks"),
			 sum);
	{
		/* byte for byte the rows the writer had made */
		char p[512], attach[600];
		sqlite3 *db = NULL;
		sqlite3_stmt *s = NULL;
		snprintf(p, sizeof p, "%s/audit.db", dir);
		snprintf(attach, sizeof attach, "ATTACH '%s/audit.db' AS old", copy);
		assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, attach, NULL, NULL, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db,
						    "SELECT count(*) FROM audit_blocks b JOIN "
						    "old.audit_blocks o USING (first_seq) WHERE "
						    "b.last_seq = o.last_seq AND b.n_ids = o.n_ids "
						    "AND b.bloom = o.bloom",
						    -1, &s, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int64(s, 0), N / 3);
		sqlite3_finalize(s);
		sqlite3_close(db);
	}
	assert_int_equal(tu_verify(dir, NULL, &v), 0);
	if (!v.intact)
		fail_msg("%s", v.message);
	check_queries(dir, N);

	/* and goes on writing: record 40 (the unfinished block) and 41, 42 */
	a = open_rw(dir);
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	for (unsigned i = N + 1; i <= N + 2; i++) {
		audit_record r;
		char user[32], org[32], coll[32], ids[256];
		tu_record(i, &r, user, org, coll, ids);
		assert_int_equal(audit_append(a, &r, false, &ctx), RK_OK);
	}
	audit_close(a);
	assert_int_equal(count_rows(dir, "SELECT max(last_seq) FROM audit_blocks"), N + 2);
	assert_int_equal(tu_verify(dir, NULL, &v), 0);
	if (!v.intact)
		fail_msg("%s", v.message);
	check_queries(dir, N + 2);
	audit_block_ids = saved;
	tu_rmdir(copy);
	tu_rmdir(dir);
}

/* The filter holds every id it was built of, and answers "maybe" for
 * about 0.8% of the others (16 bits per id). */
static void test_bloom(void **state)
{
	(void)state;
	enum { KEYS = AUDIT_BLOCK_IDS, PROBES = 1000000 };
	static int64_t h[KEYS];
	char id[96];
	size_t bytes = 0, fp = 0;

	for (int i = 0; i < KEYS; i++) {
		snprintf(id, sizeof id, "indicator--%08x-0000-4000-8000-%012d",
			 (unsigned)i * 2654435761u, i);
		h[i] = audit_idh(id, strlen(id));
	}
	unsigned char *bloom = audit_bloom_build(h, KEYS, &bytes);
	assert_non_null(bloom);
	assert_int_equal(bytes, (size_t)KEYS * AUDIT_BLOOM_BITS_PER_ID / 8);
	for (int i = 0; i < KEYS; i++)
		assert_true(audit_bloom_has(bloom, bytes, h[i]));
	for (int i = 0; i < PROBES; i++) {
		snprintf(id, sizeof id, "malware--%08x-0000-4000-8000-%012d",
			 (unsigned)i * 2246822519u, i);
		fp += audit_bloom_has(bloom, bytes, audit_idh(id, strlen(id)));
	}
	print_message("audit block filter: %d ids in %zu bytes, %.3f%% false positives\n", KEYS,
		      bytes, 100.0 * (double)fp / PROBES);
	assert_true(fp < PROBES / 80); /* under 1.25% */
	assert_false(audit_bloom_has(bloom, 0, h[0]));
	assert_false(audit_bloom_has(bloom, 12, h[0]));
	free(bloom);
}

/* ---------------------------------------------------------------- input */

static void test_ids(void **state)
{
	(void)state;
	audit_ids l;
	char longid[RK_MAX_STIX_ID + 2];

	audit_ids_init(&l);
	assert_null(audit_ids_text(&l));
	assert_int_equal(audit_ids_add(&l, "a--1"), RK_OK);
	assert_int_equal(audit_ids_add(&l, "a--1"), RK_OK); /* repeated: once */
	assert_int_equal(audit_ids_add(&l, "b--2"), RK_OK);
	assert_int_equal(audit_ids_add(&l, "a--1"), RK_OK); /* not right after: again */
	assert_int_equal(l.n, 3);
	assert_string_equal(audit_ids_text(&l), "a--1\nb--2\na--1");
	assert_int_equal(audit_ids_add(&l, ""), RK_EINVAL);
	assert_int_equal(audit_ids_add(&l, "a\nb"), RK_EINVAL);
	assert_int_equal(audit_ids_add(&l, "a b"), RK_EINVAL);
	memset(longid, 'x', sizeof longid - 1);
	longid[sizeof longid - 1] = '\0';
	assert_int_equal(audit_ids_add(&l, longid), RK_EINVAL);
	longid[RK_MAX_STIX_ID] = '\0';
	assert_int_equal(audit_ids_add(&l, longid), RK_OK);
	assert_int_equal(l.n, 4);
	audit_ids_cleanup(&l);

	audit_ids_init(&l);
	char id[64];
	for (int i = 0; i < AUDIT_MAX_IDS; i++) {
		snprintf(id, sizeof id, "x--%d", i);
		assert_int_equal(audit_ids_add(&l, id), RK_OK);
	}
	assert_int_equal(audit_ids_add(&l, "x--more"), RK_ETOOBIG);
	assert_int_equal(l.n, AUDIT_MAX_IDS);
	audit_ids_cleanup(&l);
}

static void test_refused_input(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	audit *a = open_rw(dir);
	rk_errctx ctx;
	audit_record r = {.method = "GET", .route = "/r/", .outcome = "ok"};
	audit_record bad = r;

	rk_errctx_clear(&ctx);
	bad.method = NULL;
	assert_int_equal(audit_append(a, &bad, false, &ctx), RK_EINVAL);
	bad = r;
	bad.ids = "x--1\n";
	assert_int_equal(audit_append(a, &bad, false, &ctx), RK_EINVAL);
	bad.ids = "x--1\n\nx--2";
	assert_int_equal(audit_append(a, &bad, false, &ctx), RK_EINVAL);
	assert_int_equal(audit_append(a, &r, true, &ctx), RK_OK);
	audit_close(a);

	a = open_ro(dir);
	rk_errctx_clear(&ctx);
	assert_int_equal(audit_append(a, &r, false, &ctx), RK_EINVAL);
	audit_close(a);

	/* read-only needs a log; a writer makes one */
	char *empty = tu_tmpdir();
	audit_options ro = {.read_only = true};
	rk_errctx_clear(&ctx);
	assert_int_equal(audit_open(empty, &ro, &a, &ctx), RK_ENOTFOUND);
	assert_null(a);
	tu_rmdir(empty);
	tu_rmdir(dir);
}

/* ---------------------------------------------------------------- cost */

/*
 * What recording costs the request thread, and how fast the writer
 * commits. Each figure is the best of several rounds (the machine is
 * shared), printed for the record; the bounds asserted are loose, and only
 * outside sanitizer builds, where they mean "a few microseconds per id".
 */
static void test_cost(void **state)
{
	(void)state;
	enum { IDS = 1000, ROUNDS = 5, RECS = 200, PER = 100 };
	char *dir = tu_tmpdir();
	audit *a = open_rw(dir);
	audit_ids l;
	rk_errctx ctx;
	static char ids[IDS][64];
	double best_id = 1e9, best_rec0 = 1e9, best_rec = 1e9, best_writer = 1e9;

	for (int i = 0; i < IDS; i++)
		snprintf(ids[i], sizeof ids[i], "indicator--%08x-0000-4000-8000-%012d",
			 (unsigned)i * 2654435761u, i);
	rk_errctx_clear(&ctx);
	for (int round = 0; round < ROUNDS; round++) {
		/* ids, as taxii_audit_object adds them */
		audit_ids_init(&l);
		double t0 = now_us();
		for (int i = 0; i < IDS; i++)
			audit_ids_add(&l, ids[i]);
		double t1 = now_us();
		if ((t1 - t0) / IDS < best_id)
			best_id = (t1 - t0) / IDS;
		audit_ids_cleanup(&l);

		/* appends without ids, then with PER ids each */
		audit_record r = {.at = 1, .user = "sensor", .org = "power-east", .method = "GET",
				  .route = "/nation/collections/x/objects/", .api_root = "nation",
				  .collection = "x", .status = 200, .outcome = "ok"};
		t0 = now_us();
		for (int i = 0; i < RECS; i++)
			assert_int_equal(audit_append(a, &r, false, &ctx), RK_OK);
		t1 = now_us();
		if ((t1 - t0) / RECS < best_rec0)
			best_rec0 = (t1 - t0) / RECS;
		assert_int_equal(audit_flush(a, &ctx), RK_OK);

		audit_ids_init(&l);
		for (int i = 0; i < PER; i++)
			audit_ids_add(&l, ids[(round * PER + i) % IDS]);
		r.ids = audit_ids_text(&l);
		t0 = now_us();
		for (int i = 0; i < RECS; i++)
			assert_int_equal(audit_append(a, &r, false, &ctx), RK_OK);
		t1 = now_us();
		if ((t1 - t0) / RECS < best_rec)
			best_rec = (t1 - t0) / RECS;
		/* the writer: from the last append to everything committed */
		assert_int_equal(audit_flush(a, &ctx), RK_OK);
		double t2 = now_us();
		if ((t2 - t0) / RECS < best_writer)
			best_writer = (t2 - t0) / RECS;
		audit_ids_cleanup(&l);
	}
	audit_close(a);
	print_message("audit cost on the request thread: %.3f us per id added, "
		      "%.2f us per record appended (no ids), %.2f us per record of %d ids "
		      "(%.3f us per id)\n",
		      best_id, best_rec0, best_rec, PER, best_rec / PER);
	print_message("audit writer: %.1f us per record of %d ids committed "
		      "(%.0f records/s, %.0f ids/s)\n",
		      best_writer, PER, 1e6 / best_writer, 1e6 * PER / best_writer);
#if RK_ARENA_ENABLED /* not under sanitizers */
	assert_true(best_id < 2.0);
	assert_true(best_rec0 < 20.0);
	assert_true(best_rec / PER < 2.0);
#endif
	audit_verdict v;
	assert_int_equal(tu_verify(dir, NULL, &v), 0);
	assert_true(v.intact);
	assert_int_equal(v.records, 2 * RECS * ROUNDS);
	tu_rmdir(dir);
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/*
 * The writer's cost per id as the log grows: 20,000 records of 100 random
 * ids each (2,000,000 ids, 30 blocks), appended and committed in ten
 * chunks of 10%; each chunk's ids texts are made before it is timed. Wall
 * time runs from the chunk's first append to audit_flush; CPU time is the
 * process's (the writer, the appends and the anchor thread). The index is
 * appended to, so the last chunk costs about what the first does (a
 * B-tree keyed by random id hashes, as version 1 kept, grows with the
 * log). Under sanitizers a tenth of the records, and no bound.
 */
static void test_cost_growth(void **state)
{
	(void)state;
	enum { PER = 100, CHUNKS = 10, ID_LEN = 64 };
#if RK_ARENA_ENABLED
	const size_t recs = 20000;
#else
	const size_t recs = 2000;
#endif
	const size_t per_chunk = recs / CHUNKS;
	char *dir = tu_tmpdir();
	audit *a = open_rw(dir);
	rk_errctx ctx;
	char *texts = malloc(per_chunk * PER * ID_LEN);
	double wall[CHUNKS], cpu[CHUNKS];
	uint64_t x = 42;
	char first_id[ID_LEN];

	assert_non_null(texts);
	rk_errctx_clear(&ctx);
	for (int c = 0; c < CHUNKS; c++) {
		for (size_t r = 0; r < per_chunk; r++) {
			char *p = texts + r * PER * ID_LEN;
			for (int i = 0; i < PER; i++) {
				uint64_t h = splitmix(&x), l = splitmix(&x);
				p += sprintf(p, "%sindicator--%08x-%04x-4%03x-8%03x-%012llx",
					     i ? "\n" : "", (unsigned)(h >> 32),
					     (unsigned)(h >> 16) & 0xffff, (unsigned)h & 0xfff,
					     (unsigned)(l >> 48) & 0xfff,
					     (unsigned long long)(l & 0xffffffffffffull));
			}
		}
		if (c == 0)
			snprintf(first_id, sizeof first_id, "%.*s", (int)strcspn(texts, "\n"),
				 texts);
		/* POSTs and GETs by turns (readers reads the ids of GETs) */
		audit_record rec = {.at = 1, .user = "sensor", .org = "power-east",
				    .method = c % 2 ? "GET" : "POST",
				    .route = "/nation/collections/x/objects/", .api_root = "nation",
				    .collection = "x", .status = c % 2 ? 200 : 202, .outcome = "ok"};
		double t0 = now_us(), c0 = cpu_us();
		for (size_t r = 0; r < per_chunk; r++) {
			rec.ids = texts + r * PER * ID_LEN;
			assert_int_equal(audit_append(a, &rec, false, &ctx), RK_OK);
		}
		assert_int_equal(audit_flush(a, &ctx), RK_OK);
		wall[c] = (now_us() - t0) / (double)(per_chunk * PER);
		cpu[c] = (cpu_us() - c0) / (double)(per_chunk * PER);
	}
	/* what a query by object costs at that size: a probe per block, the
	 * records of the blocks that may name it and of the unfinished one */
	reads rs = {0};
	double q0 = now_us();
	assert_int_equal(audit_readers(a, first_id, NULL, 0, collect_read, &rs, NULL, &ctx),
			 RK_OK);
	double q1 = now_us();
	assert_int_equal(rs.n, 0); /* written by a POST */
	audit_filter f = {.object_id = first_id};
	show(a, &f, &S);
	double q2 = now_us();
	assert_int_equal(S.n, 1);
	assert_int_equal(S.seq[0], 1);
	audit_close(a);
	free(texts);
	print_message("audit query by object at %zu ids: readers %.1f ms, show --object %.1f ms\n",
		      recs * PER, (q1 - q0) / 1e3, (q2 - q1) / 1e3);
	print_message("audit writer cost per id over %zu ids in %zu records, by tenth of the log "
		      "(wall / cpu us):",
		      recs * PER, recs);
	for (int c = 0; c < CHUNKS; c++)
		print_message(" %.2f/%.2f", wall[c], cpu[c]);
	print_message("\naudit writer cost per id: first 10%% %.3f us (cpu %.3f), last 10%% %.3f us "
		      "(cpu %.3f)\n",
		      wall[0], cpu[0], wall[CHUNKS - 1], cpu[CHUNKS - 1]);
	assert_int_equal(count_rows(dir, "SELECT count(*) FROM audit_blocks"),
			 (int64_t)(recs * PER / (AUDIT_BLOCK_IDS + PER - AUDIT_BLOCK_IDS % PER)));
#if RK_ARENA_ENABLED
	assert_true(cpu[CHUNKS - 1] < 3 * cpu[0] + 0.2);
#endif
	tu_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_wait_means_committed),
		cmocka_unit_test(test_reopen_continues),
		cmocka_unit_test(test_concurrent_appends),
		cmocka_unit_test(test_show_filters),
		cmocka_unit_test(test_readers),
		cmocka_unit_test(test_readers_outcomes),
		cmocka_unit_test(test_blocks_queries),
		cmocka_unit_test(test_migrate_v1),
		cmocka_unit_test(test_bloom),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_refused_input),
		cmocka_unit_test(test_cost),
		cmocka_unit_test(test_cost_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
