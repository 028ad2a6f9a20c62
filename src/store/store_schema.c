/*
 * store_schema.c: the SQLite schema of the object store and its forward
 * migrations.
 *
 * The schema version lives in PRAGMA user_version; PRAGMA application_id
 * marks the file as a renkei store so that pointing the hub at some other
 * SQLite file fails cleanly instead of "migrating" it. A new database runs
 * every step from 1; an older one runs the steps after its version; all in
 * one IMMEDIATE transaction, so a crash mid-migration leaves the old version
 * intact. A database newer than this build is refused: an old binary must
 * not write rows a newer schema would misread. Steps are append-only: once a
 * version shipped, its SQL never changes; a change is a new step.
 *
 * Layout (version 7) and why each index exists (store_sqlite_query builds
 * queries that name these indices with INDEXED BY, so a plan can never
 * silently fall back to a table scan):
 *
 *   collections(coll INTEGER PK, uuid UNIQUE, last_added, n_versions)
 *       last_added never decreases, even when versions are deleted, so
 *       date_added stays strictly increasing per collection; n_versions
 *       makes store_count O(1).
 *   objects(seq INTEGER PK AUTOINCREMENT, coll, id, type, spec_version,
 *           version, version_time, date_added, owner, json, is_first,
 *           is_last, idh, aud, flags)
 *       AUTOINCREMENT: a seq is never reused, even after the newest row is
 *       deleted, so paging cursors stay valid. json comes after the facts
 *       so that fact-only reads rarely touch overflow pages (is_first,
 *       is_last and idh were appended by migrations; they are read from
 *       the indices, not from the row). idh = store_idh(id), below.
 *     objects_ends  (coll, seq) WHERE is_first=1  match[version]=last (default)
 *                   OR is_last=1                  and first; a version that is
 *                                                 both has one entry
 *     objects_type  (coll, type, seq)             match[type], one ordered arm per type
 *     objects_vtime (coll, version_time)          match[version]=<timestamp>
 *     objects_aud   (coll, aud, seq)              the rows of the audience classes a
 *                                                 reader may read, when they are few
 *                                                 (one ordered arm per class)
 *     objects_added (coll, date_added)            paging over all versions (seq
 *                                                 order, see below) and
 *                                                 added_after -> first seq
 *   objects_ix(idh, seq PK) WITHOUT ROWID         the id index: every row up to
 *                                                 its slice's mark; match[id],
 *                                                 versions, duplicates, ownership
 *   objects_ix_marks(slice PK, mark)              one row per slice of the idh
 *                                                 space (STORE_IX_SLICES)
 *   audiences(aud PK, key UNIQUE)                 audience classes: key is the policy
 *                                                 module's canonical text of who may
 *                                                 read an object (TLP level, recipients,
 *                                                 distribution, owner); aud 0 = not
 *                                                 yet classified (rows older than v7)
 *   aud_counts(coll, aud PK, n) WITHOUT ROWID     stored versions per class and
 *                                                 collection: how much of a collection
 *                                                 a reader may read, before reading it
 *   owners(id PK, owner) WITHOUT ROWID            owners of ids whose every
 *                                                 version was deleted
 *   status(rid PK, api_root, status_id, doc)      TAXII status, oldest = smallest rid
 *   meta(name PK, version, doc) WITHOUT ROWID     named documents (directory)
 *
 * The id index is the only one keyed by something random (a STIX id is
 * type--UUIDv4), so its inserts land on a different page each time; it is
 * keyed by a 64-bit hash of the id (idh) instead of the ~45-byte text, so
 * an entry is ~20 bytes, not ~70. Hashes may collide: every lookup
 * compares the id on the row. Uniqueness of (coll, id, version_time) is
 * kept by the engine (one writer; put looks before it inserts), not by a
 * UNIQUE index. Since version 5 it is a table the engine fills, not an
 * index SQLite maintains on every insert: a row above the mark of its
 * slice (the top four bits of idh, STORE_IX_SLICE) is not in it yet (the
 * engine finds it in memory); rows are merged into it in bulk, sorted, a
 * slice at a time, in the transaction that moves that slice's mark
 * (store_sqlite.c, "The id index").
 *
 * Ownership ("the first organisation to store an id owns it store-wide")
 * is the owner column of the id's stored versions, found by the same probe
 * of the id index that put needs for duplicates and version flags, so a
 * new object costs one random-tree lookup (and its share of a merge). When the
 * last version of an id is deleted, its owner is kept in owners, which
 * therefore holds only such ids and stays small.
 *
 * store_idh (an on-disk format: it must never change): FNV-1a 64 over the
 * id's bytes, then the MurmurHash3 64-bit finaliser (FNV alone spreads the
 * last characters of an id poorly), read as a signed 64-bit integer.
 *
 * Within a collection date_added is strictly increasing with seq (the
 * engine makes it so, and last_added never decreases), so objects_added,
 * whose entries end with the rowid seq, is also in seq order: it serves
 * paging over all versions, the engine turning a seq cursor into a
 * date_added bound, and no separate (coll, seq) index is kept.
 *
 * spec_version has no index on purpose: a STIX 2.1 store holds "2.1" (or
 * nearly only), so an index would not narrow anything; the filter is a
 * residual term on whichever index drives the query.
 *
 * History: version 1 had no is_first/is_last flags (first/last were
 * computed with min/max per id); version 2 adds the flags, fills them from
 * the data, and adds the partial indices and objects_vtime. Version 3
 * replaces the text-keyed UNIQUE objects_id (coll, id, version_time) by
 * objects_idh and keeps in owners only the ids no version is stored of
 * (ownership of the others is their rows' owner column). Version 4 drops
 * objects_seq (objects_added does its work): one B-tree insert fewer per
 * stored version. Version 5 replaces objects_idh (idh, coll, version_time)
 * by the table objects_ix (idh, seq), filled from objects_idh, and
 * objects_ix_mark at the largest seq: the migration indexes every row.
 * Version 6 gives each slice of the idh space a mark of its own
 * (objects_ix_marks, all starting at version 5's one mark), so that a
 * merge rewrites one slice of the index, not all of it. Version 7 adds
 * the audience class of every row (aud, with flags saying whether a read
 * must look into the object: references, granular markings), the classes
 * and their counts, and objects_aud; existing rows get class 0, which the
 * hub classifies at start (store_unclassified, store_set_audiences). It
 * also folds objects_first and objects_last into objects_ends: most
 * objects have one version, which is both, and now costs one index entry.
 */
#include <string.h>

#include <sqlite3.h>

#include "store_int.h"

/* "rkei" */
#define STORE_APPLICATION_ID 0x726b6569

typedef struct schema_step {
	int to; /* version after this step */
	const char *sql;
} schema_step;

static const schema_step schema_steps[] = {
	{1,
	 "CREATE TABLE collections("
	 " coll INTEGER PRIMARY KEY,"
	 " uuid TEXT NOT NULL UNIQUE,"
	 " last_added INTEGER NOT NULL DEFAULT 0,"
	 " n_versions INTEGER NOT NULL DEFAULT 0);"
	 "CREATE TABLE objects("
	 " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	 " coll INTEGER NOT NULL,"
	 " id TEXT NOT NULL,"
	 " type TEXT NOT NULL,"
	 " spec_version TEXT NOT NULL,"
	 " version TEXT NOT NULL,"
	 " version_time INTEGER NOT NULL,"
	 " date_added INTEGER NOT NULL,"
	 " owner TEXT NOT NULL,"
	 " json TEXT NOT NULL);"
	 "CREATE INDEX objects_seq ON objects(coll, seq);"
	 "CREATE UNIQUE INDEX objects_id ON objects(coll, id, version_time);"
	 "CREATE INDEX objects_type ON objects(coll, type, seq);"
	 "CREATE INDEX objects_added ON objects(coll, date_added);"
	 "CREATE TABLE owners(id TEXT PRIMARY KEY, owner TEXT NOT NULL)"
	 " WITHOUT ROWID;"
	 "CREATE TABLE status("
	 " rid INTEGER PRIMARY KEY,"
	 " api_root TEXT NOT NULL,"
	 " status_id TEXT NOT NULL,"
	 " doc TEXT NOT NULL,"
	 " UNIQUE(api_root, status_id));"
	 "CREATE INDEX status_age ON status(api_root, rid);"
	 "CREATE TABLE meta("
	 " name TEXT PRIMARY KEY,"
	 " version INTEGER NOT NULL,"
	 " doc TEXT NOT NULL) WITHOUT ROWID;"},
	{2,
	 "ALTER TABLE objects ADD COLUMN is_first INTEGER NOT NULL DEFAULT 0;"
	 "ALTER TABLE objects ADD COLUMN is_last INTEGER NOT NULL DEFAULT 0;"
	 "UPDATE objects SET"
	 " is_first = (version_time = (SELECT min(o.version_time) FROM objects o"
	 "   WHERE o.coll = objects.coll AND o.id = objects.id)),"
	 " is_last = (version_time = (SELECT max(o.version_time) FROM objects o"
	 "   WHERE o.coll = objects.coll AND o.id = objects.id));"
	 "CREATE INDEX objects_first ON objects(coll, seq) WHERE is_first = 1;"
	 "CREATE INDEX objects_last ON objects(coll, seq) WHERE is_last = 1;"
	 "CREATE INDEX objects_vtime ON objects(coll, version_time);"},
	{3,
	 "ALTER TABLE objects ADD COLUMN idh INTEGER NOT NULL DEFAULT 0;"
	 "UPDATE objects SET idh = rk_idh(id);"
	 "DROP INDEX objects_id;"
	 "CREATE INDEX objects_idh ON objects(idh, coll, version_time);"
	 "DELETE FROM owners WHERE EXISTS (SELECT 1 FROM objects"
	 " INDEXED BY objects_idh"
	 " WHERE idh = rk_idh(owners.id) AND id = owners.id);"},
	{4,
	 "DROP INDEX objects_seq;"},
	{5,
	 "CREATE TABLE objects_ix(idh INTEGER NOT NULL, seq INTEGER NOT NULL,"
	 " PRIMARY KEY(idh, seq)) WITHOUT ROWID;"
	 "INSERT INTO objects_ix(idh, seq) SELECT idh, seq FROM objects"
	 " ORDER BY idh, seq;"
	 "DROP INDEX objects_idh;"
	 "CREATE TABLE objects_ix_mark(mark INTEGER NOT NULL);"
	 "INSERT INTO objects_ix_mark(mark)"
	 " SELECT coalesce(max(seq), 0) FROM objects;"},
	{6,
	 "CREATE TABLE objects_ix_marks(slice INTEGER PRIMARY KEY,"
	 " mark INTEGER NOT NULL);"
	 "WITH RECURSIVE s(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM s"
	 " WHERE k + 1 < 16)"
	 " INSERT INTO objects_ix_marks(slice, mark)"
	 " SELECT k, (SELECT mark FROM objects_ix_mark) FROM s;"
	 "DROP TABLE objects_ix_mark;"},
	{7,
	 "ALTER TABLE objects ADD COLUMN aud INTEGER NOT NULL DEFAULT 0;"
	 "ALTER TABLE objects ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;"
	 "CREATE TABLE audiences(aud INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);"
	 "CREATE TABLE aud_counts(coll INTEGER NOT NULL, aud INTEGER NOT NULL,"
	 " n INTEGER NOT NULL, PRIMARY KEY(coll, aud)) WITHOUT ROWID;"
	 "CREATE INDEX objects_aud ON objects(coll, aud, seq);"
	 "DROP INDEX objects_first;"
	 "DROP INDEX objects_last;"
	 "CREATE INDEX objects_ends ON objects(coll, seq)"
	 " WHERE is_first = 1 OR is_last = 1;"
	 "INSERT INTO aud_counts(coll, aud, n)"
	 " SELECT coll, 0, count(*) FROM objects GROUP BY coll;"},
};

_Static_assert(STORE_IX_SLICES == 16, "migration step 6 makes 16 slices");

_Static_assert(sizeof schema_steps / sizeof schema_steps[0] == STORE_SCHEMA_VERSION,
	       "one migration step per schema version");

int64_t store_idh(const char *id, size_t len)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)id[i]) * 0x100000001b3u;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdu;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53u;
	h ^= h >> 33;
	return (int64_t)h;
}

/* rk_idh(text): store_idh for SQL, used by migration step 3. */
static void sql_idh(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	(void)argc;
	const unsigned char *t = sqlite3_value_text(argv[0]);
	if (!t) {
		sqlite3_result_null(cx);
		return;
	}
	sqlite3_result_int64(cx, store_idh((const char *)t,
					   (size_t)sqlite3_value_bytes(argv[0])));
}

static rk_err schema_fail(sqlite3 *db, rk_errctx *ctx, const char *what)
{
	return rk_fail(ctx, RK_EDB, NULL, "store schema: %s: %s", what,
		       sqlite3_errmsg(db));
}

/* Runs a one-row integer query ("PRAGMA user_version"). */
static rk_err schema_int(sqlite3 *db, const char *sql, int64_t *out,
			 rk_errctx *ctx)
{
	sqlite3_stmt *st = NULL;
	rk_err err = RK_OK;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		err = schema_fail(db, ctx, sql);
		goto out;
	}
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
	} else if (rc == SQLITE_DONE) {
		*out = 0;
	} else {
		err = schema_fail(db, ctx, sql);
		goto out;
	}
out:
	sqlite3_finalize(st);
	return err;
}

rk_err store_schema_migrate(sqlite3 *db, int *found, rk_errctx *ctx)
{
	rk_err err = RK_OK;
	bool in_tx = false;
	int64_t version = 0, app_id = 0, n_tables = 0;
	char sql[96];

	if (sqlite3_create_function(db, "rk_idh", 1,
				    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				    sql_idh, NULL, NULL) != SQLITE_OK) {
		err = schema_fail(db, ctx, "cannot register rk_idh");
		goto out;
	}
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		err = schema_fail(db, ctx, "cannot start the migration transaction");
		goto out;
	}
	in_tx = true;
	if ((err = schema_int(db, "PRAGMA user_version", &version, ctx)) ||
	    (err = schema_int(db, "PRAGMA application_id", &app_id, ctx)) ||
	    (err = schema_int(db, "SELECT count(*) FROM sqlite_schema",
			      &n_tables, ctx)))
		goto out;
	*found = (int)version;

	if (n_tables > 0 && app_id != STORE_APPLICATION_ID) {
		err = rk_fail(ctx, RK_EDB, NULL,
			      "store schema: the database is not a renkei store "
			      "(application_id %lld)", (long long)app_id);
		goto out;
	}
	if (version > STORE_SCHEMA_VERSION) {
		err = rk_fail(ctx, RK_EDB, NULL,
			      "store schema: the database has schema version %lld, "
			      "newer than version %d that this renkei build knows; "
			      "refusing to open it (upgrade renkei)",
			      (long long)version, STORE_SCHEMA_VERSION);
		goto out;
	}
	if (version < 0) {
		err = rk_fail(ctx, RK_EDB, NULL,
			      "store schema: invalid schema version %lld",
			      (long long)version);
		goto out;
	}

	for (size_t i = 0; i < RK_ARRAY_LEN(schema_steps); i++) {
		if (schema_steps[i].to <= version)
			continue;
		if (sqlite3_exec(db, schema_steps[i].sql, NULL, NULL, NULL) !=
		    SQLITE_OK) {
			char what[64];
			snprintf(what, sizeof what, "migration to version %d",
				 schema_steps[i].to);
			err = schema_fail(db, ctx, what);
			goto out;
		}
	}
	if (version != STORE_SCHEMA_VERSION || app_id != STORE_APPLICATION_ID) {
		snprintf(sql, sizeof sql,
			 "PRAGMA user_version = %d; PRAGMA application_id = %d",
			 STORE_SCHEMA_VERSION, STORE_APPLICATION_ID);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			err = schema_fail(db, ctx, "cannot record the schema version");
			goto out;
		}
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		err = schema_fail(db, ctx, "cannot commit the migration");
		goto out;
	}
	in_tx = false;
out:
	if (in_tx)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}
