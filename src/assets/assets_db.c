/*
 * assets_db.c: the registry's durable state, <data>/assets.db.
 *
 * One SQLite file of the module's own (the store's schema is not touched):
 *
 *   claims(id, org, kind, value, state, claimed_by, claimed_at,
 *          decided_by, decided_at)       UNIQUE(org, value)
 *   registry(key, value)                 key 'version': the change counter
 *
 * Every change (claim, decision, withdrawal) runs in one IMMEDIATE
 * transaction that also moves the version counter, so a reader that sees
 * the counter unchanged sees the claims unchanged; the hub polls it
 * (assets_db_version) and reloads its snapshot when it moves. The hub and
 * `renkei assets` may use the file at the same time: SQLite's locks
 * serialise writers (busy timeout ASSETS_BUSY_MS), and in this process a
 * mutex serialises the one connection's transactions.
 *
 * Values are stored in canonical text (assets_value.c) and parsed again
 * when read, so a row that would not parse (a file edited by hand) is
 * reported as an error naming the claim id rather than loaded wrongly.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "assets.h"

#define ASSETS_DB_FILE "assets.db"
#define ASSETS_BUSY_MS 10000

struct assets_db {
	sqlite3 *db;
	pthread_mutex_t lock;
};

static const char SCHEMA[] =
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE IF NOT EXISTS claims("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" org TEXT NOT NULL,"
	" kind TEXT NOT NULL,"
	" value TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('pending','approved','rejected')),"
	" claimed_by TEXT NOT NULL,"
	" claimed_at INTEGER NOT NULL,"
	" decided_by TEXT NOT NULL DEFAULT '',"
	" decided_at INTEGER NOT NULL DEFAULT 0,"
	" UNIQUE (org, value));"
	"CREATE TABLE IF NOT EXISTS registry(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO registry(key, value) VALUES ('version', 0);";

static rk_err db_fail(assets_db *db, rk_errctx *ctx, const char *what)
{
	return rk_fail(ctx, RK_EDB, ASSETS_DB_FILE, "%s: %s", what, sqlite3_errmsg(db->db));
}

rk_err assets_db_open(const char *data_dir, assets_db **out, rk_errctx *ctx)
{
	assets_db *db = NULL;
	char path[4096];
	char *errmsg = NULL;
	rk_err err = RK_OK;

	*out = NULL;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", data_dir, ASSETS_DB_FILE) >= sizeof path)
		return rk_fail(ctx, RK_EINVAL, data_dir, "data directory path too long");
	if (!(db = calloc(1, sizeof *db)))
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	pthread_mutex_init(&db->lock, NULL);
	if (sqlite3_open_v2(path, &db->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		err = rk_fail(ctx, RK_EDB, path, "cannot open: %s",
			      db->db ? sqlite3_errmsg(db->db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db->db, ASSETS_BUSY_MS);
	if (sqlite3_exec(db->db, SCHEMA, NULL, NULL, &errmsg) != SQLITE_OK) {
		err = rk_fail(ctx, RK_EDB, path, "cannot set up: %s", errmsg ? errmsg : "?");
		goto out;
	}
	*out = db;
	db = NULL;
out:
	sqlite3_free(errmsg);
	assets_db_close(db);
	return err;
}

void assets_db_close(assets_db *db)
{
	if (!db)
		return;
	sqlite3_close(db->db);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
	snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

/* Columns: id, org, value, state, claimed_by, claimed_at, decided_by, decided_at. */
#define CLAIM_COLUMNS "id, org, value, state, claimed_by, claimed_at, decided_by, decided_at"

static rk_err row_to_claim(sqlite3_stmt *s, asset_claim *c, rk_errctx *ctx)
{
	memset(c, 0, sizeof *c);
	c->id = sqlite3_column_int64(s, 0);
	copy_text(c->org, sizeof c->org, sqlite3_column_text(s, 1));
	const char *value = (const char *)sqlite3_column_text(s, 2);
	const char *state = (const char *)sqlite3_column_text(s, 3);
	char where[64];
	snprintf(where, sizeof where, "claim %lld", (long long)c->id);
	if (!value || assets_value_parse(value, strlen(value), &c->value, NULL) != RK_OK ||
	    strcmp(value, c->value.text) != 0)
		return rk_fail(ctx, RK_EDB, where, "stored value '%s' is not canonical",
			       value ? value : "");
	if (!state || !assets_state_parse(state, &c->state))
		return rk_fail(ctx, RK_EDB, where, "stored state is unknown");
	copy_text(c->claimed_by, sizeof c->claimed_by, sqlite3_column_text(s, 4));
	c->claimed_at = sqlite3_column_int64(s, 5);
	copy_text(c->decided_by, sizeof c->decided_by, sqlite3_column_text(s, 6));
	c->decided_at = sqlite3_column_int64(s, 7);
	return RK_OK;
}

static rk_err bump_version(assets_db *db, rk_errctx *ctx)
{
	if (sqlite3_exec(db->db, "UPDATE registry SET value = value + 1 WHERE key = 'version'",
			 NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, ctx, "moving the version");
	return RK_OK;
}

static rk_err count_where(assets_db *db, const char *sql, const char *org, int64_t *n,
			  rk_errctx *ctx)
{
	sqlite3_stmt *s = NULL;
	rk_err err = RK_OK;
	if (sqlite3_prepare_v2(db->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_fail(db, ctx, "counting claims");
	if (org)
		sqlite3_bind_text(s, 1, org, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		*n = sqlite3_column_int64(s, 0);
	else
		err = db_fail(db, ctx, "counting claims");
	sqlite3_finalize(s);
	return err;
}

static rk_err read_claim(assets_db *db, const char *where_sql, int64_t id, const char *org,
			 const char *value, asset_claim *c, bool *found, rk_errctx *ctx)
{
	char sql[256];
	sqlite3_stmt *s = NULL;
	rk_err err = RK_OK;

	*found = false;
	snprintf(sql, sizeof sql, "SELECT " CLAIM_COLUMNS " FROM claims WHERE %s", where_sql);
	if (sqlite3_prepare_v2(db->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_fail(db, ctx, "reading a claim");
	if (value) {
		sqlite3_bind_text(s, 1, org, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_int64(s, 1, id);
	}
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*found = true;
		err = row_to_claim(s, c, ctx);
	} else if (rc != SQLITE_DONE) {
		err = db_fail(db, ctx, "reading a claim");
	}
	sqlite3_finalize(s);
	return err;
}

static rk_err begin(assets_db *db, rk_errctx *ctx)
{
	pthread_mutex_lock(&db->lock);
	if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rk_err err = db_fail(db, ctx, "starting a transaction");
		pthread_mutex_unlock(&db->lock);
		return err;
	}
	return RK_OK;
}

static rk_err finish(assets_db *db, rk_err err, rk_errctx *ctx)
{
	if (!err && sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		err = db_fail(db, ctx, "committing");
	if (err)
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&db->lock);
	return err;
}

rk_err assets_claim(assets_db *db, const char *org, const char *value_text, const char *by,
		    asset_claim *out, rk_errctx *ctx)
{
	asset_value v;
	asset_claim c;
	sqlite3_stmt *s = NULL;
	bool found = false;
	int64_t n = 0;
	rk_err err;

	if (!org || !*org || strlen(org) > RK_MAX_NAME)
		return rk_fail(ctx, RK_EINVAL, "org", "organisation id missing or too long");
	if (!by || strlen(by) > RK_MAX_NAME)
		return rk_fail(ctx, RK_EINVAL, "by", "claimant name missing or too long");
	if ((err = assets_value_parse(value_text, strlen(value_text), &v, ctx)))
		return err;
	if ((err = begin(db, ctx)))
		return err;
	if ((err = read_claim(db, "org = ?1 AND value = ?2", 0, org, v.text, &c, &found, ctx)))
		goto out;
	rk_time now = rk_time_now();
	if (found && c.state != ASSET_REJECTED) {
		err = rk_fail(ctx, RK_ECONFLICT, v.text, "already claimed by %s (claim %lld, %s)",
			      org, (long long)c.id, assets_state_name(c.state));
		goto out;
	}
	if (found) {
		if (sqlite3_prepare_v2(db->db,
				       "UPDATE claims SET state = 'pending', claimed_by = ?2,"
				       " claimed_at = ?3, decided_by = '', decided_at = 0 WHERE id = ?1",
				       -1, &s, NULL) != SQLITE_OK) {
			err = db_fail(db, ctx, "claiming");
			goto out;
		}
		sqlite3_bind_int64(s, 1, c.id);
	} else {
		if ((err = count_where(db, "SELECT count(*) FROM claims WHERE org = ?1", org, &n,
				       ctx)))
			goto out;
		if (n >= RK_ASSETS_MAX_CLAIMS_PER_ORG) {
			err = rk_fail(ctx, RK_ETOOBIG, org, "more than %d claims of one organisation",
				      RK_ASSETS_MAX_CLAIMS_PER_ORG);
			goto out;
		}
		if ((err = count_where(db, "SELECT count(*) FROM claims", NULL, &n, ctx)))
			goto out;
		if (n >= RK_ASSETS_MAX_CLAIMS) {
			err = rk_fail(ctx, RK_ETOOBIG, NULL, "the registry holds %d claims already",
				      RK_ASSETS_MAX_CLAIMS);
			goto out;
		}
		if (sqlite3_prepare_v2(db->db,
				       "INSERT INTO claims(org, kind, value, state, claimed_by, claimed_at)"
				       " VALUES (?1, ?4, ?5, 'pending', ?2, ?3)",
				       -1, &s, NULL) != SQLITE_OK) {
			err = db_fail(db, ctx, "claiming");
			goto out;
		}
		sqlite3_bind_text(s, 1, org, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, assets_kind_name(v.kind), -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, v.text, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(s, 2, by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	if (sqlite3_step(s) != SQLITE_DONE) {
		err = db_fail(db, ctx, "claiming");
		goto out;
	}
	if ((err = bump_version(db, ctx)))
		goto out;
	if (out)
		err = read_claim(db, "org = ?1 AND value = ?2", 0, org, v.text, out, &found, ctx);
out:
	sqlite3_finalize(s);
	return finish(db, err, ctx);
}

rk_err assets_decide(assets_db *db, int64_t id, asset_state state, const char *by,
		     rk_errctx *ctx)
{
	sqlite3_stmt *s = NULL;
	rk_err err;

	if (state == ASSET_PENDING)
		return rk_fail(ctx, RK_EINVAL, NULL, "a decision approves or rejects");
	if (!by || strlen(by) > RK_MAX_NAME)
		return rk_fail(ctx, RK_EINVAL, "by", "decider name missing or too long");
	if ((err = begin(db, ctx)))
		return err;
	if (sqlite3_prepare_v2(db->db,
			       "UPDATE claims SET state = ?2, decided_by = ?3, decided_at = ?4"
			       " WHERE id = ?1",
			       -1, &s, NULL) != SQLITE_OK) {
		err = db_fail(db, ctx, "deciding");
		goto out;
	}
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, assets_state_name(state), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, rk_time_now());
	if (sqlite3_step(s) != SQLITE_DONE) {
		err = db_fail(db, ctx, "deciding");
		goto out;
	}
	if (sqlite3_changes(db->db) == 0) {
		err = rk_fail(ctx, RK_ENOTFOUND, NULL, "no claim %lld", (long long)id);
		goto out;
	}
	err = bump_version(db, ctx);
out:
	sqlite3_finalize(s);
	return finish(db, err, ctx);
}

rk_err assets_withdraw(assets_db *db, int64_t id, const char *org, rk_errctx *ctx)
{
	sqlite3_stmt *s = NULL;
	rk_err err;

	if ((err = begin(db, ctx)))
		return err;
	if (sqlite3_prepare_v2(db->db,
			       org ? "DELETE FROM claims WHERE id = ?1 AND org = ?2"
				   : "DELETE FROM claims WHERE id = ?1",
			       -1, &s, NULL) != SQLITE_OK) {
		err = db_fail(db, ctx, "withdrawing");
		goto out;
	}
	sqlite3_bind_int64(s, 1, id);
	if (org)
		sqlite3_bind_text(s, 2, org, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE) {
		err = db_fail(db, ctx, "withdrawing");
		goto out;
	}
	if (sqlite3_changes(db->db) == 0) {
		err = rk_fail(ctx, RK_ENOTFOUND, NULL, "no claim %lld%s%s", (long long)id,
			      org ? " of " : "", org ? org : "");
		goto out;
	}
	err = bump_version(db, ctx);
out:
	sqlite3_finalize(s);
	return finish(db, err, ctx);
}

rk_err assets_list(assets_db *db, const char *org, assets_claim_fn fn, void *arg,
		   rk_errctx *ctx)
{
	sqlite3_stmt *s = NULL;
	asset_claim c;
	rk_err err = RK_OK;
	int rc;

	pthread_mutex_lock(&db->lock);
	if (sqlite3_prepare_v2(db->db,
			       org ? "SELECT " CLAIM_COLUMNS " FROM claims WHERE org = ?1 ORDER BY id"
				   : "SELECT " CLAIM_COLUMNS " FROM claims ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK) {
		err = db_fail(db, ctx, "listing claims");
		goto out;
	}
	if (org)
		sqlite3_bind_text(s, 1, org, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((err = row_to_claim(s, &c, ctx)) || (err = fn(arg, &c)))
			goto out;
	}
	if (rc != SQLITE_DONE)
		err = db_fail(db, ctx, "listing claims");
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&db->lock);
	return err;
}

rk_err assets_db_version(assets_db *db, uint64_t *out, rk_errctx *ctx)
{
	int64_t v = 0;
	rk_err err;
	pthread_mutex_lock(&db->lock);
	err = count_where(db, "SELECT value FROM registry WHERE key = 'version'", NULL, &v, ctx);
	pthread_mutex_unlock(&db->lock);
	*out = (uint64_t)v;
	return err;
}
