/*
 * fed_state.c: the federation's durable state, <data>/federation.db, a
 * SQLite database of its own beside the store (the store's schema is not
 * touched):
 *
 *   cursors     (partner, collection, kind) -> last store seq or tombstone
 *               seq a partner has answered for ("push", "tomb")
 *   provenance  object id -> the hub it was first published on, for
 *               objects a partner relayed from a third hub
 *   tombstones  deletions made on this hub, in order, with the owner and
 *               audience the object had, so they travel like the object
 *   status      per-partner counters and last messages
 *
 * Every write is its own synced transaction (WAL, synchronous=FULL): a
 * cursor written is on disk, which is what lets a killed hub resume
 * without losing anything. One connection under one mutex serves the
 * request threads and the federation thread; `renkei federation status`
 * opens it read-only from another process (busy timeout).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "federation.h"

struct fed_state {
	sqlite3 *db;
	pthread_mutex_t lock;
};

static const char schema[] =
	"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	"CREATE TABLE IF NOT EXISTS cursors(partner TEXT NOT NULL, collection TEXT NOT NULL,"
	" kind TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY(partner, collection, kind));"
	"CREATE TABLE IF NOT EXISTS provenance(id TEXT PRIMARY KEY, partner TEXT NOT NULL,"
	" origin TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS tombstones(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" collection TEXT NOT NULL, id TEXT NOT NULL, owner TEXT NOT NULL,"
	" audience TEXT NOT NULL, at INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS tombstones_by_collection ON tombstones(collection, seq);"
	"CREATE TABLE IF NOT EXISTS status(partner TEXT PRIMARY KEY NOT NULL, last_success INTEGER"
	" NOT NULL DEFAULT 0, last_attempt INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL"
	" DEFAULT 0, last_error TEXT NOT NULL DEFAULT '', sent INTEGER NOT NULL DEFAULT 0,"
	" deleted_sent INTEGER NOT NULL DEFAULT 0, held INTEGER NOT NULL DEFAULT 0,"
	" refused INTEGER NOT NULL DEFAULT 0, received INTEGER NOT NULL DEFAULT 0,"
	" rejected INTEGER NOT NULL DEFAULT 0, last_reject TEXT NOT NULL DEFAULT '',"
	" backlog INTEGER NOT NULL DEFAULT 0);";

static rk_err db_err(fed_state *fs, rk_errctx *ctx, const char *what)
{
	return rk_fail(ctx, RK_EDB, FED_STATE_FILE, "%s: %s", what, sqlite3_errmsg(fs->db));
}

rk_err fed_state_open(const char *data_dir, bool readonly, fed_state **out, rk_errctx *ctx)
{
	fed_state *fs = calloc(1, sizeof *fs);
	rk_err rc;

	*out = NULL;
	if (!fs)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	pthread_mutex_init(&fs->lock, NULL);
	rc = rk_sqlite_open(data_dir, FED_STATE_FILE, readonly, 5000, readonly ? NULL : schema,
			    &fs->db, ctx);
	if (rc) {
		fed_state_close(fs);
		/* Read-only: the hub never made one (no partner ever synced). */
		if (readonly && ctx)
			ctx->code = RK_ENOTFOUND;
		return readonly ? RK_ENOTFOUND : rc;
	}
	*out = fs;
	return RK_OK;
}

void fed_state_close(fed_state *fs)
{
	if (!fs)
		return;
	sqlite3_close(fs->db);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
}

/* Runs a prepared statement to completion under the lock. */
static rk_err run(fed_state *fs, sqlite3_stmt *s, rk_errctx *ctx, const char *what)
{
	int rc = sqlite3_step(s);
	rk_err err = rc == SQLITE_DONE || rc == SQLITE_ROW ? RK_OK : db_err(fs, ctx, what);
	sqlite3_finalize(s);
	return err;
}

static sqlite3_stmt *prep(fed_state *fs, const char *sql)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(fs->db, sql, -1, &s, NULL) != SQLITE_OK)
		return NULL;
	return s;
}

rk_err fed_cursor_get(fed_state *fs, const char *partner, const char *collection,
		      const char *kind, uint64_t *value, rk_errctx *ctx)
{
	rk_err err = RK_OK;

	*value = 0;
	pthread_mutex_lock(&fs->lock);
	sqlite3_stmt *s = prep(fs, "SELECT value FROM cursors WHERE partner=?1 AND "
				   "collection=?2 AND kind=?3");
	if (!s) {
		err = db_err(fs, ctx, "reading a cursor");
		goto out;
	}
	sqlite3_bind_text(s, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, collection, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*value = (uint64_t)sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		err = db_err(fs, ctx, "reading a cursor");
	sqlite3_finalize(s);
out:
	pthread_mutex_unlock(&fs->lock);
	return err;
}

rk_err fed_cursor_set(fed_state *fs, const char *partner, const char *collection,
		      const char *kind, uint64_t value, rk_errctx *ctx)
{
	rk_err err;

	pthread_mutex_lock(&fs->lock);
	sqlite3_stmt *s = prep(fs, "INSERT INTO cursors(partner, collection, kind, value) "
				   "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(partner, collection, kind) "
				   "DO UPDATE SET value = excluded.value");
	if (!s) {
		err = db_err(fs, ctx, "writing a cursor");
	} else {
		sqlite3_bind_text(s, 1, partner, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, collection, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, (sqlite3_int64)value);
		err = run(fs, s, ctx, "writing a cursor");
	}
	pthread_mutex_unlock(&fs->lock);
	return err;
}

rk_err fed_provenance_put(fed_state *fs, const char *partner, const char *const *ids,
			  const char *const *origins, size_t n, rk_errctx *ctx)
{
	rk_err err = RK_OK;
	sqlite3_stmt *s = NULL;

	if (!n)
		return RK_OK;
	pthread_mutex_lock(&fs->lock);
	if (sqlite3_exec(fs->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		err = db_err(fs, ctx, "recording provenance");
		goto out;
	}
	s = prep(fs, "INSERT INTO provenance(id, partner, origin) VALUES(?1, ?2, ?3) "
		     "ON CONFLICT(id) DO NOTHING");
	for (size_t i = 0; s && !err && i < n; i++) {
		sqlite3_bind_text(s, 1, ids[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, partner, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, origins[i], -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE)
			err = db_err(fs, ctx, "recording provenance");
		sqlite3_reset(s);
	}
	if (!s)
		err = db_err(fs, ctx, "recording provenance");
	sqlite3_finalize(s);
	sqlite3_exec(fs->db, err ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
out:
	pthread_mutex_unlock(&fs->lock);
	return err;
}

rk_err fed_provenance_get(fed_state *fs, const char *id, char *origin, rk_errctx *ctx)
{
	rk_err err = RK_OK;

	origin[0] = '\0';
	pthread_mutex_lock(&fs->lock);
	sqlite3_stmt *s = prep(fs, "SELECT origin FROM provenance WHERE id=?1");
	if (!s) {
		err = db_err(fs, ctx, "reading provenance");
	} else {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			snprintf(origin, FED_KEY_B64, "%s", (const char *)sqlite3_column_text(s, 0));
		else if (rc != SQLITE_DONE)
			err = db_err(fs, ctx, "reading provenance");
		sqlite3_finalize(s);
	}
	pthread_mutex_unlock(&fs->lock);
	return err;
}

rk_err fed_tombstone_add(fed_state *fs, const char *collection, const char *id,
			 const char *owner, const char *audience, rk_errctx *ctx)
{
	rk_err err;

	pthread_mutex_lock(&fs->lock);
	sqlite3_stmt *s = prep(fs, "INSERT INTO tombstones(collection, id, owner, audience, at) "
				   "VALUES(?1, ?2, ?3, ?4, ?5)");
	if (!s) {
		err = db_err(fs, ctx, "recording a deletion");
	} else {
		sqlite3_bind_text(s, 1, collection, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, owner ? owner : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, audience ? audience : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, (sqlite3_int64)rk_time_now());
		err = run(fs, s, ctx, "recording a deletion");
	}
	pthread_mutex_unlock(&fs->lock);
	return err;
}

rk_err fed_tombstones_after(fed_state *fs, const char *collection, uint64_t after,
			    size_t limit, fed_tombstone_fn fn, void *arg, rk_errctx *ctx)
{
	rk_err err = RK_OK;
	int rc;

	/* Rows are copied out under the lock, then handed over without it
	 * (fn sends requests). */
	typedef struct {
		uint64_t seq;
		char *c, *id, *owner, *aud;
	} row;
	row *rows = calloc(limit ? limit : 1, sizeof *rows);
	size_t n = 0;

	if (!rows)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	pthread_mutex_lock(&fs->lock);
	sqlite3_stmt *s = prep(fs, "SELECT seq, collection, id, owner, audience FROM tombstones "
				   "WHERE collection=?1 AND seq > ?2 ORDER BY seq LIMIT ?3");
	if (!s) {
		err = db_err(fs, ctx, "reading deletions");
	} else {
		sqlite3_bind_text(s, 1, collection, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)after);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)limit);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < limit) {
			row *r = &rows[n++];
			r->seq = (uint64_t)sqlite3_column_int64(s, 0);
			r->c = strdup((const char *)sqlite3_column_text(s, 1));
			r->id = strdup((const char *)sqlite3_column_text(s, 2));
			r->owner = strdup((const char *)sqlite3_column_text(s, 3));
			r->aud = strdup((const char *)sqlite3_column_text(s, 4));
			if (!r->c || !r->id || !r->owner || !r->aud)
				err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		}
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			err = db_err(fs, ctx, "reading deletions");
		sqlite3_finalize(s);
	}
	pthread_mutex_unlock(&fs->lock);
	for (size_t i = 0; !err && i < n; i++) {
		fed_tombstone t = {rows[i].seq, rows[i].c, rows[i].id, rows[i].owner, rows[i].aud};
		err = fn(arg, &t);
	}
	for (size_t i = 0; i < n; i++) {
		free(rows[i].c);
		free(rows[i].id);
		free(rows[i].owner);
		free(rows[i].aud);
	}
	free(rows);
	return err;
}

rk_err fed_status_note(fed_state *fs, const char *partner, const fed_status_delta *d,
		       rk_errctx *ctx)
{
	rk_err err = RK_OK;
	rk_time now = rk_time_now();

	pthread_mutex_lock(&fs->lock);
	sqlite3_stmt *s = prep(
		fs, "INSERT INTO status(partner) VALUES(?1) ON CONFLICT(partner) DO NOTHING");
	if (s)
		sqlite3_bind_text(s, 1, partner, -1, SQLITE_STATIC);
	if (!s || run(fs, s, ctx, "noting status")) {
		err = db_err(fs, ctx, "noting status");
		goto out;
	}
	s = prep(fs,
		 "UPDATE status SET "
		 " last_success = CASE WHEN ?2 THEN ?3 ELSE last_success END,"
		 " last_attempt = CASE WHEN ?4 THEN ?3 ELSE last_attempt END,"
		 " errors = errors + ?5,"
		 " last_error = COALESCE(?6, last_error),"
		 " sent = sent + ?7, deleted_sent = deleted_sent + ?8, held = held + ?9,"
		 " refused = refused + ?10, received = received + ?11, rejected = rejected + ?12,"
		 " last_reject = COALESCE(?13, last_reject),"
		 " backlog = CASE WHEN ?14 THEN ?15 ELSE backlog END"
		 " WHERE partner = ?1");
	if (!s) {
		err = db_err(fs, ctx, "noting status");
		goto out;
	}
	sqlite3_bind_text(s, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, d->success);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	sqlite3_bind_int(s, 4, d->attempt);
	sqlite3_bind_int64(s, 5, d->error ? 1 : 0);
	if (d->error_msg)
		sqlite3_bind_text(s, 6, d->error_msg, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)d->sent);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)d->deleted_sent);
	sqlite3_bind_int64(s, 9, (sqlite3_int64)d->held_already);
	sqlite3_bind_int64(s, 10, (sqlite3_int64)d->refused_by_partner);
	sqlite3_bind_int64(s, 11, (sqlite3_int64)d->received);
	sqlite3_bind_int64(s, 12, (sqlite3_int64)d->rejected);
	if (d->reject_msg)
		sqlite3_bind_text(s, 13, d->reject_msg, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 14, d->set_backlog);
	sqlite3_bind_int64(s, 15, (sqlite3_int64)d->backlog);
	err = run(fs, s, ctx, "noting status");
out:
	pthread_mutex_unlock(&fs->lock);
	return err;
}

rk_err fed_status_get(fed_state *fs, const char *partner, fed_status *out, rk_errctx *ctx)
{
	rk_err err = RK_OK;

	memset(out, 0, sizeof *out);
	snprintf(out->partner, sizeof out->partner, "%s", partner);
	pthread_mutex_lock(&fs->lock);
	sqlite3_stmt *s = prep(fs, "SELECT last_success, last_attempt, errors, last_error, sent,"
				   " deleted_sent, held, refused, received, rejected, last_reject,"
				   " backlog FROM status WHERE partner=?1");
	if (!s) {
		err = db_err(fs, ctx, "reading status");
		goto out;
	}
	sqlite3_bind_text(s, 1, partner, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->last_success = sqlite3_column_int64(s, 0);
		out->last_attempt = sqlite3_column_int64(s, 1);
		out->errors = (uint64_t)sqlite3_column_int64(s, 2);
		snprintf(out->last_error, sizeof out->last_error, "%s",
			 (const char *)sqlite3_column_text(s, 3));
		out->sent = (uint64_t)sqlite3_column_int64(s, 4);
		out->deleted_sent = (uint64_t)sqlite3_column_int64(s, 5);
		out->held_already = (uint64_t)sqlite3_column_int64(s, 6);
		out->refused_by_partner = (uint64_t)sqlite3_column_int64(s, 7);
		out->received = (uint64_t)sqlite3_column_int64(s, 8);
		out->rejected = (uint64_t)sqlite3_column_int64(s, 9);
		snprintf(out->last_reject, sizeof out->last_reject, "%s",
			 (const char *)sqlite3_column_text(s, 10));
		out->backlog = (uint64_t)sqlite3_column_int64(s, 11);
	} else if (rc != SQLITE_DONE) {
		err = db_err(fs, ctx, "reading status");
	}
	sqlite3_finalize(s);
out:
	pthread_mutex_unlock(&fs->lock);
	return err;
}
