/*
 * test_store_schema.c: schema versions on disk. A version 1 database
 * written with raw SQL (as renkei 1 wrote it) opens, is migrated forward
 * with its data intact, its version flags computed, its ids hashed into
 * objects_idh (version 3) and then objects_ix (version 5) and ownership read from the rows (the owners table then
 * keeps only ids with no version left, and keeps them when the last
 * version is deleted); a database from a
 * newer renkei, or one that is not a renkei store, is refused with a
 * message naming the problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store_int.h"
#include "store_test_util.h"

#define COLL "11111111-1111-4111-8111-111111111111"

/* Version 1 exactly as it shipped (store_schema.c step 1), with data. */
static const char V1_SQL[] =
	"PRAGMA journal_mode = WAL;"
	"CREATE TABLE collections(coll INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE,"
	" last_added INTEGER NOT NULL DEFAULT 0, n_versions INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE objects(seq INTEGER PRIMARY KEY AUTOINCREMENT, coll INTEGER NOT NULL,"
	" id TEXT NOT NULL, type TEXT NOT NULL, spec_version TEXT NOT NULL,"
	" version TEXT NOT NULL, version_time INTEGER NOT NULL,"
	" date_added INTEGER NOT NULL, owner TEXT NOT NULL, json TEXT NOT NULL);"
	"CREATE INDEX objects_seq ON objects(coll, seq);"
	"CREATE UNIQUE INDEX objects_id ON objects(coll, id, version_time);"
	"CREATE INDEX objects_type ON objects(coll, type, seq);"
	"CREATE INDEX objects_added ON objects(coll, date_added);"
	"CREATE TABLE owners(id TEXT PRIMARY KEY, owner TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE status(rid INTEGER PRIMARY KEY, api_root TEXT NOT NULL,"
	" status_id TEXT NOT NULL, doc TEXT NOT NULL, UNIQUE(api_root, status_id));"
	"CREATE INDEX status_age ON status(api_root, rid);"
	"CREATE TABLE meta(name TEXT PRIMARY KEY, version INTEGER NOT NULL,"
	" doc TEXT NOT NULL) WITHOUT ROWID;"
	"INSERT INTO collections VALUES(1, '" COLL "', 3000, 3);"
	"INSERT INTO objects(coll, id, type, spec_version, version, version_time,"
	" date_added, owner, json) VALUES"
	" (1, 'malware--00000001-0000-4000-8000-000000000001', 'malware', '2.1',"
	"  '2024-01-01T00:00:00Z', 1704067200000000, 1000, 'org-a', '{\"v\":1}'),"
	" (1, 'malware--00000001-0000-4000-8000-000000000001', 'malware', '2.1',"
	"  '2024-02-01T00:00:00Z', 1706745600000000, 2000, 'org-a', '{\"v\":2}'),"
	" (1, 'malware--00000001-0000-4000-8000-000000000001', 'malware', '2.1',"
	"  '2023-12-01T00:00:00Z', 1701388800000000, 3000, 'org-a', '{\"v\":0}');"
	"INSERT INTO owners VALUES('malware--00000001-0000-4000-8000-000000000001', 'org-a');"
	"INSERT INTO meta VALUES('directory', 7, '{\"a\":1}');"
	"PRAGMA application_id = 1919640937;" /* 0x726b6569 "rkei" */
	"PRAGMA user_version = 1;";

static char *make_db(const char *sql)
{
	char *dir = tu_tmpdir();
	char path[512];
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_non_null(dir);
	snprintf(path, sizeof path, "%s/renkei.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("setup SQL: %s", msg);
	sqlite3_close(db);
	return dir;
}

static int64_t db_int(const char *dir, const char *sql)
{
	char path[512];
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	snprintf(path, sizeof path, "%s/renkei.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

typedef struct seen {
	int n;
	rk_time vt[8];
	char json[8][32];
} seen;

static rk_err remember(void *arg, const store_row *row)
{
	seen *s = arg;
	if (s->n < 8) {
		s->vt[s->n] = row->version_time;
		snprintf(s->json[s->n], sizeof s->json[0], "%s", row->json);
	}
	s->n++;
	return RK_OK;
}

static void test_migrate_v1(void **state)
{
	(void)state;
	char *dir = make_db(V1_SQL);
	store *st = NULL;
	rk_errctx ctx;
	store_page page;

	rk_errctx_clear(&ctx);
	if (store_open(dir, &st, &ctx) != RK_OK)
		fail_msg("open: %s", ctx.msg);
	assert_int_equal(store_schema_version_found(st), 1);
	assert_int_equal(store_check_integrity(st, &ctx), RK_OK);

	/* Data kept; flags computed: last = February, first = December. */
	uint64_t n;
	assert_int_equal(store_count(st, COLL, &n, &ctx), RK_OK);
	assert_int_equal(n, 3);
	seen s = {0};
	store_query q = {.collection_id = COLL, .version = {.last = true},
			 .with_json = true, .limit = 10};
	assert_int_equal(store_query_rows(st, &q, NULL, NULL, remember, &s, &page,
					  &ctx), RK_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.vt[0], 1706745600000000);
	assert_string_equal(s.json[0], "{\"v\":2}");
	s.n = 0;
	q.version = (store_version_match){.first = true};
	assert_int_equal(store_query_rows(st, &q, NULL, NULL, remember, &s, &page,
					  &ctx), RK_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.json[0], "{\"v\":0}");
	uint64_t v;
	assert_int_equal(store_meta_version(st, "directory", &v, &ctx), RK_OK);
	assert_int_equal(v, 7);
	char *owner = NULL;
	assert_int_equal(store_object_owner(st, "malware--00000001-0000-4000-8000-000000000001",
					    &owner, &ctx), RK_OK);
	assert_string_equal(owner, "org-a");
	free(owner);

	/* New puts continue after the old date_added. */
	char id[128];
	rk_time da;
	tu_id(id, sizeof id, "malware", 2, 2);
	json_t *o = tu_obj("malware", id, "2024-01-01T00:00:00Z", "m");
	assert_int_equal(tu_put1(st, COLL, "org-a", o, &da), STORE_PUT_ADDED);
	assert_true(da > 3000);
	json_decref(o);
	store_close(st);

	assert_int_equal(db_int(dir, "PRAGMA user_version"), store_schema_version());
	assert_int_equal(db_int(dir, "SELECT count(*) FROM objects WHERE is_last = 1"), 2);
	/* Version 3: every row hashed, owners emptied of stored ids. */
	assert_int_equal(db_int(dir, "SELECT count(*) FROM objects WHERE idh = 0"), 0);
	assert_int_equal(db_int(dir, "SELECT count(*) FROM owners"), 0);
	/* Version 5: objects_idh replaced by objects_ix, which the migration
	 * filled with the three old rows (the mark); the row put since lies
	 * above the mark, in the store's in-memory tail. */
	assert_int_equal(db_int(dir, "SELECT count(*) FROM sqlite_schema"
				     " WHERE name = 'objects_idh'"), 0);
	/* Version 6: every slice starts at version 5's mark. */
	assert_int_equal(db_int(dir, "SELECT count(*) FROM objects_ix_marks"), 16);
	assert_int_equal(db_int(dir, "SELECT count(*) FROM objects_ix_marks"
				     " WHERE mark = 3"), 16);
	assert_int_equal(db_int(dir, "SELECT count(*) FROM sqlite_schema"
				     " WHERE name = 'objects_ix_mark'"), 0);
	/* Version 7: every row starts in class 0, counted per collection,
	 * until the hub classifies it. */
	assert_int_equal(db_int(dir, "SELECT count(*) FROM objects WHERE aud = 0"),
			 db_int(dir, "SELECT count(*) FROM objects"));
	assert_int_equal(db_int(dir, "SELECT sum(n) FROM aud_counts WHERE aud = 0"),
			 db_int(dir, "SELECT count(*) FROM objects"));
	assert_int_equal(db_int(dir, "SELECT count(*) FROM audiences"), 0);
	assert_int_equal(db_int(dir, "SELECT count(*) FROM sqlite_schema WHERE name IN"
				     " ('objects_first', 'objects_last')"), 0);
	assert_int_equal(db_int(dir, "SELECT count(*) FROM sqlite_schema WHERE name ="
				     " 'objects_ends'"), 1);
	assert_int_equal(db_int(dir, "SELECT count(*) FROM objects_ix o WHERE"
				     " idh = (SELECT idh FROM objects WHERE seq = o.seq)"),
			 3);
	assert_int_equal(db_int(dir, "SELECT count(*) FROM objects WHERE seq > 3"), 1);
	assert_int_equal(db_int(dir, "SELECT count(*) FROM sqlite_schema"
				     " WHERE name = 'objects_id'"), 0);
	/* Version 4: objects_added pages over all versions, objects_seq is gone. */
	assert_int_equal(db_int(dir, "SELECT count(*) FROM sqlite_schema"
				     " WHERE name = 'objects_seq'"), 0);
	assert_int_equal(db_int(dir, "SELECT count(*) FROM sqlite_schema"
				     " WHERE name = 'objects_added'"), 1);
	/* Reopening finds the current version and migrates nothing. */
	assert_int_equal(store_open(dir, &st, &ctx), RK_OK);
	assert_int_equal(store_schema_version_found(st), store_schema_version());
	/* The migrated id is still found by id, and its owner outlives its
	 * versions: another organisation cannot take it over. */
	const char *mid = "malware--00000001-0000-4000-8000-000000000001";
	s.n = 0;
	q = (store_query){.collection_id = COLL, .ids = &mid, .n_ids = 1,
			  .version = {.all = true}, .limit = 10};
	assert_int_equal(store_query_rows(st, &q, NULL, NULL, remember, &s, &page,
					  &ctx), RK_OK);
	assert_int_equal(s.n, 3);
	size_t deleted = 0;
	assert_int_equal(store_delete(st, COLL, mid, NULL, NULL, 0, &deleted, &ctx),
			 RK_OK);
	assert_int_equal(deleted, 3);
	owner = NULL;
	assert_int_equal(store_object_owner(st, mid, &owner, &ctx), RK_OK);
	assert_string_equal(owner, "org-a");
	free(owner);
	o = tu_obj("malware", mid, "2024-03-01T00:00:00Z", "m");
	assert_int_equal(tu_put1(st, COLL, "org-b", o, NULL), STORE_PUT_REJECTED);
	assert_int_equal(tu_put1(st, COLL, "org-a", o, NULL), STORE_PUT_ADDED);
	json_decref(o);
	store_close(st);
	assert_int_equal(db_int(dir, "SELECT count(*) FROM owners"), 1);
	tu_rmdir(dir);
}

static int by_id(store *st, const char *id, bool last, seen *s)
{
	rk_errctx ctx;
	store_page page;
	store_query q = {.collection_id = COLL, .ids = &id, .n_ids = 1,
			 .version = {.all = !last, .last = last},
			 .with_json = true, .limit = 10};
	rk_errctx_clear(&ctx);
	s->n = 0;
	if (store_query_rows(st, &q, NULL, NULL, remember, s, &page, &ctx) != RK_OK)
		fail_msg("query: %s", ctx.msg);
	return s->n;
}

/* The id index in levels (schema 5) and slices (schema 6): rows above their
 * slice's mark are found through each store's in-memory tail, merged a
 * slice at a time every few rows here; two stores on
 * one directory (a hub and `renkei admin`) see each other's rows, whether
 * merged or not, and duplicates, ownership and deletes stay right. */
static void test_id_index_levels(void **state)
{
	(void)state;
	long saved = store_sqlite_ix_merge;
	char *dir = tu_tmpdir();
	store *a = NULL, *b = NULL;
	rk_errctx ctx;
	char id[128];
	seen s;

	store_sqlite_ix_merge = 7;
	rk_errctx_clear(&ctx);
	assert_int_equal(store_open(dir, &a, &ctx), RK_OK);
	assert_int_equal(store_open(dir, &b, &ctx), RK_OK);
	for (unsigned i = 0; i < 40; i++) {
		store *one = i % 2 ? a : b, *other = i % 2 ? b : a;
		tu_id(id, sizeof id, "malware", i, i);
		json_t *v1 = tu_obj("malware", id, "2024-01-01T00:00:00Z", "v1");
		json_t *v2 = tu_obj("malware", id, "2024-02-01T00:00:00Z", "v2");
		assert_int_equal(tu_put1(one, COLL, "org-a", v1, NULL), STORE_PUT_ADDED);
		assert_int_equal(tu_put1(other, COLL, "org-a", v1, NULL),
				 STORE_PUT_DUPLICATE);
		assert_int_equal(tu_put1(other, COLL, "org-b", v2, NULL),
				 STORE_PUT_REJECTED);
		assert_int_equal(tu_put1(other, COLL, "org-a", v2, NULL), STORE_PUT_ADDED);
		assert_int_equal(by_id(one, id, true, &s), 1);
		assert_int_equal(s.vt[0], 1706745600000000);
		json_decref(v1);
		json_decref(v2);
	}
	for (unsigned i = 0; i < 40; i++) {
		tu_id(id, sizeof id, "malware", i, i);
		assert_int_equal(by_id(a, id, false, &s), 2);
		assert_int_equal(by_id(b, id, false, &s), 2);
	}
	/* Delete through one, the other sees it. */
	tu_id(id, sizeof id, "malware", 3, 3);
	size_t deleted = 0;
	rk_time feb;
	assert_true(rk_time_parse("2024-02-01T00:00:00Z", &feb));
	store_version_match vm = {.at = &feb, .n_at = 1};
	assert_int_equal(store_delete(a, COLL, id, &vm, NULL, 0, &deleted, &ctx),
			 RK_OK);
	assert_int_equal(deleted, 1);
	assert_int_equal(by_id(b, id, false, &s), 1);
	assert_int_equal(by_id(b, id, true, &s), 1);
	store_close(a);
	store_close(b);
	/* Slices were merged one at a time, and each slice's index holds
	 * every row up to its mark. */
	assert_true(db_int(dir, "SELECT count(*) FROM objects_ix_marks WHERE mark > 0") > 1);
	assert_true(db_int(dir, "SELECT count(DISTINCT mark) FROM objects_ix_marks") > 1);
	assert_int_equal(db_int(dir, "SELECT count(*) FROM objects o WHERE seq <="
				     " (SELECT mark FROM objects_ix_marks"
				     "  WHERE slice = (o.idh >> 60) & 15) AND seq NOT IN"
				     " (SELECT seq FROM objects_ix)"), 0);
	assert_true(db_int(dir, "SELECT count(*) FROM objects_ix") > 7);
	/* Reopened: the tail is read back. */
	store_sqlite_ix_merge = 1000;
	assert_int_equal(store_open(dir, &a, &ctx), RK_OK);
	for (unsigned i = 0; i < 40; i++) {
		tu_id(id, sizeof id, "malware", i, i);
		assert_int_equal(by_id(a, id, false, &s), i == 3 ? 1 : 2);
	}
	store_close(a);
	store_sqlite_ix_merge = saved;
	tu_rmdir(dir);
}

/* Many slice merges and tail prunes: 30,000 ids spread like random UUIDs,
 * put 100 at a time with a merge every 500 rows. Every id is found, a
 * second put of each is a duplicate, and each slice's index holds every
 * row up to its mark, before and after reopening. */
static void test_id_index_many(void **state)
{
	(void)state;
	enum { N = 30000, BATCH = 100 };
	long saved = store_sqlite_ix_merge;
	char *dir = tu_tmpdir();
	store *st = NULL;
	rk_errctx ctx;
	static char ids[N][64];
	json_t *objs[BATCH];
	store_put_item items[BATCH];
	store_put_result res[BATCH];
	seen s;

	store_sqlite_ix_merge = 500;
	rk_errctx_clear(&ctx);
	for (unsigned i = 0; i < N; i++)
		tu_id(ids[i], sizeof ids[i], "indicator", i * 2654435761u, i);
	assert_int_equal(store_open(dir, &st, &ctx), RK_OK);
	for (unsigned round = 0; round < 2; round++) {
		for (unsigned at = 0; at < N; at += BATCH) {
			for (unsigned k = 0; k < BATCH; k++) {
				objs[k] = tu_obj("indicator", ids[at + k],
						 "2024-01-01T00:00:00Z", "i");
				tu_item(objs[k], &items[k]);
			}
			assert_int_equal(store_put(st, COLL, "org-a", items, BATCH, res, &ctx),
					 RK_OK);
			for (unsigned k = 0; k < BATCH; k++) {
				assert_int_equal(res[k].outcome, round ? STORE_PUT_DUPLICATE
								       : STORE_PUT_ADDED);
				json_decref(objs[k]);
			}
		}
	}
	for (unsigned i = 0; i < N; i += 7)
		assert_int_equal(by_id(st, ids[i], false, &s), 1);
	store_close(st);
	assert_int_equal(db_int(dir, "SELECT count(*) FROM objects"), N);
	assert_int_equal(db_int(dir, "SELECT count(*) FROM objects o WHERE seq <="
				     " (SELECT mark FROM objects_ix_marks"
				     "  WHERE slice = (o.idh >> 60) & 15) AND seq NOT IN"
				     " (SELECT seq FROM objects_ix)"), 0);
	assert_true(db_int(dir, "SELECT count(*) FROM objects_ix") > N / 2);
	assert_int_equal(store_open(dir, &st, &ctx), RK_OK);
	for (unsigned i = 3; i < N; i += 7)
		assert_int_equal(by_id(st, ids[i], false, &s), 1);
	store_close(st);
	store_sqlite_ix_merge = saved;
	tu_rmdir(dir);
}

static void test_refuse_newer(void **state)
{
	(void)state;
	char *dir = make_db("CREATE TABLE future(x);"
			    "PRAGMA application_id = 1919640937;"
			    "PRAGMA user_version = 99;");
	store *st = NULL;
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	assert_int_equal(store_open(dir, &st, &ctx), RK_EDB);
	assert_null(st);
	assert_non_null(strstr(ctx.msg, "99"));
	char cur[16];
	snprintf(cur, sizeof cur, "version %d", store_schema_version());
	assert_non_null(strstr(ctx.msg, cur));
	/* Untouched. */
	assert_int_equal(db_int(dir, "PRAGMA user_version"), 99);
	tu_rmdir(dir);
}

static void test_refuse_foreign(void **state)
{
	(void)state;
	char *dir = make_db("CREATE TABLE something(x); INSERT INTO something VALUES(1);");
	store *st = NULL;
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	assert_int_equal(store_open(dir, &st, &ctx), RK_EDB);
	assert_non_null(strstr(ctx.msg, "not a renkei store"));
	assert_int_equal(db_int(dir, "SELECT count(*) FROM something"), 1);
	tu_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_v1),
		cmocka_unit_test(test_id_index_levels),
		cmocka_unit_test(test_id_index_many),
		cmocka_unit_test(test_refuse_newer),
		cmocka_unit_test(test_refuse_foreign),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
