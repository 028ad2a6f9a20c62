/*
 * notify_db.c: the notification state, <data>/notify.db (SQLite, the
 * module's own file; the store's schema is not touched).
 *
 *   cursors(collection, seq)          the last store row looked at
 *   notifications(id, org, object_id, object_type, object_version,
 *                 collection, asset, obs_kind, obs_value, content,
 *                 created, acked_at, acked_by)
 *                 UNIQUE(org, object_id, object_version, asset)
 *   deliveries(notification, channel, state, attempts, next_at, sent_at,
 *              last_error)            PRIMARY KEY(notification, channel)
 *   digests(org, window_start)        the open digest window per org
 *
 * A delivery's life:
 *
 *        add           attempt ok
 *   ---> queued ------------------> sent
 *         |  ^  attempt failed,
 *         |  +-- next_at = now + back-off (attempts < max)
 *         +---------------------------> failed   (attempts reached max)
 *
 * The engine records the notifications of a page of store rows and moves
 * the cursor in one transaction, so a restart neither loses nor repeats
 * one; the UNIQUE key makes a row seen twice (another version in another
 * collection, the same version posted again) one notification. A
 * delivery's outcome is written right after the attempt: a hub killed in
 * between sends that one again (at least once; the receiver has the
 * delivery id to drop it).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "notify_int.h"

#define NOTIFY_DB_FILE "notify.db"

struct notify_db {
	sqlite3 *db;
	pthread_mutex_t lock; /* one transaction at a time on the connection */
	bool in_tx;
	/* A second connection for the hub's reads (collection, status): WAL
	 * lets them run while the engine holds a transaction open on db. */
	sqlite3 *rdb;
	pthread_mutex_t rlock;
};

static const char SCHEMA[] =
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE IF NOT EXISTS cursors(collection TEXT PRIMARY KEY, seq INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS notifications("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, org TEXT NOT NULL, object_id TEXT NOT NULL,"
	" object_type TEXT NOT NULL, object_version TEXT NOT NULL, collection TEXT NOT NULL,"
	" asset TEXT NOT NULL, obs_kind TEXT NOT NULL, obs_value TEXT NOT NULL,"
	" content TEXT NOT NULL, created INTEGER NOT NULL,"
	" acked_at INTEGER NOT NULL DEFAULT 0, acked_by TEXT NOT NULL DEFAULT '',"
	" UNIQUE (org, object_id, object_version, asset));"
	"CREATE INDEX IF NOT EXISTS notifications_org ON notifications(org, id);"
	"CREATE INDEX IF NOT EXISTS notifications_created ON notifications(org, created);"
	"CREATE TABLE IF NOT EXISTS deliveries("
	" notification INTEGER NOT NULL REFERENCES notifications(id), channel TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('queued','sent','failed')),"
	" attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL,"
	" sent_at INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',"
	" PRIMARY KEY (notification, channel));"
	"CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(channel, state, next_at);"
	"CREATE TABLE IF NOT EXISTS digests(org TEXT PRIMARY KEY, window_start INTEGER NOT NULL);";

static rk_err db_fail(notify_db *db, rk_errctx *ctx, const char *what)
{
	return rk_fail(ctx, RK_EDB, NOTIFY_DB_FILE, "%s: %s", what, sqlite3_errmsg(db->db));
}

rk_err notify_db_open(const char *data_dir, notify_db **out, rk_errctx *ctx)
{
	notify_db *db = NULL;
	char path[4096];
	char *errmsg = NULL;
	rk_err err = RK_OK;

	*out = NULL;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", data_dir, NOTIFY_DB_FILE) >= sizeof path)
		return rk_fail(ctx, RK_EINVAL, data_dir, "data directory path too long");
	if (!(db = calloc(1, sizeof *db)))
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	pthread_mutex_init(&db->lock, NULL);
	pthread_mutex_init(&db->rlock, NULL);
	if (sqlite3_open_v2(path, &db->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		err = rk_fail(ctx, RK_EDB, path, "cannot open: %s",
			      db->db ? sqlite3_errmsg(db->db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db->db, 10000);
	if (sqlite3_exec(db->db, SCHEMA, NULL, NULL, &errmsg) != SQLITE_OK) {
		err = rk_fail(ctx, RK_EDB, path, "cannot set up: %s", errmsg ? errmsg : "?");
		goto out;
	}
	if (sqlite3_open_v2(path, &db->rdb, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, NULL) !=
	    SQLITE_OK) {
		err = rk_fail(ctx, RK_EDB, path, "cannot open for reading: %s",
			      db->rdb ? sqlite3_errmsg(db->rdb) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db->rdb, 10000);
	*out = db;
	db = NULL;
out:
	sqlite3_free(errmsg);
	notify_db_close(db);
	return err;
}

void notify_db_close(notify_db *db)
{
	if (!db)
		return;
	sqlite3_close(db->rdb);
	sqlite3_close(db->db);
	pthread_mutex_destroy(&db->rlock);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

rk_err notify_db_begin(notify_db *db, rk_errctx *ctx)
{
	pthread_mutex_lock(&db->lock);
	if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rk_err err = db_fail(db, ctx, "starting a transaction");
		pthread_mutex_unlock(&db->lock);
		return err;
	}
	db->in_tx = true;
	return RK_OK;
}

rk_err notify_db_end(notify_db *db, rk_err err, rk_errctx *ctx)
{
	if (!err && sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		err = db_fail(db, ctx, "committing");
	if (err)
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
	db->in_tx = false;
	pthread_mutex_unlock(&db->lock);
	return err;
}

/* Runs one statement (within a transaction or alone, under the lock
 * either way when the caller is not in a transaction). */
typedef struct stmt_arg {
	int kind; /* 't' text, 'i' int64 */
	const char *t;
	int64_t i;
} stmt_arg;
#define T(x) ((stmt_arg){'t', (x), 0})
#define I(x) ((stmt_arg){'i', NULL, (int64_t)(x)})

static rk_err exec_args(notify_db *db, const char *sql, const stmt_arg *a, size_t n,
			rk_errctx *ctx)
{
	sqlite3_stmt *s = NULL;
	rk_err err = RK_OK;
	if (sqlite3_prepare_v2(db->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_fail(db, ctx, "preparing");
	for (size_t k = 0; k < n; k++) {
		if (a[k].kind == 't')
			sqlite3_bind_text(s, (int)k + 1, a[k].t, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(s, (int)k + 1, a[k].i);
	}
	if (sqlite3_step(s) != SQLITE_DONE)
		err = db_fail(db, ctx, "writing");
	sqlite3_finalize(s);
	return err;
}

static rk_err exec_locked(notify_db *db, const char *sql, const stmt_arg *a, size_t n,
			  rk_errctx *ctx)
{
	pthread_mutex_lock(&db->lock);
	rk_err err = exec_args(db, sql, a, n, ctx);
	pthread_mutex_unlock(&db->lock);
	return err;
}

rk_err notify_db_cursor(notify_db *db, const char *collection, uint64_t *seq, rk_errctx *ctx)
{
	sqlite3_stmt *s = NULL;
	rk_err err = RK_OK;
	*seq = 0;
	pthread_mutex_lock(&db->lock);
	if (sqlite3_prepare_v2(db->db, "SELECT seq FROM cursors WHERE collection = ?1", -1, &s,
			       NULL) != SQLITE_OK) {
		err = db_fail(db, ctx, "reading a cursor");
		goto out;
	}
	sqlite3_bind_text(s, 1, collection, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*seq = (uint64_t)sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		err = db_fail(db, ctx, "reading a cursor");
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&db->lock);
	return err;
}

/* Called inside a transaction (the lock is held). */
rk_err notify_db_set_cursor(notify_db *db, const char *collection, uint64_t seq, rk_errctx *ctx)
{
	stmt_arg a[] = {T(collection), I(seq)};
	return exec_args(db,
			 "INSERT INTO cursors(collection, seq) VALUES (?1, ?2)"
			 " ON CONFLICT(collection) DO UPDATE SET seq = excluded.seq",
			 a, 2, ctx);
}

/* Called inside a transaction. */
rk_err notify_db_add(notify_db *db, const notify_record *n, unsigned channels, int64_t *id,
		     rk_errctx *ctx)
{
	stmt_arg a[] = {T(n->org),	    T(n->object_id), T(n->object_type),
			T(n->object_version), T(n->collection), T(n->asset),
			T(n->obs_kind),	    T(n->obs_value), T(n->content),
			I(n->created)};
	rk_err err = exec_args(db,
			       "INSERT OR IGNORE INTO notifications(org, object_id, object_type,"
			       " object_version, collection, asset, obs_kind, obs_value, content,"
			       " created) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
			       a, RK_ARRAY_LEN(a), ctx);
	*id = 0;
	if (err || sqlite3_changes(db->db) == 0)
		return err;
	*id = sqlite3_last_insert_rowid(db->db);
	for (int ch = 0; ch < NOTIFY_CH_COUNT; ch++) {
		if (!(channels & (1u << ch)))
			continue;
		stmt_arg d[] = {I(*id), T(notify_channel_name((notify_channel)ch)), I(n->created)};
		if ((err = exec_args(db,
				     "INSERT INTO deliveries(notification, channel, state, next_at)"
				     " VALUES (?1, ?2, 'queued', ?3)",
				     d, 3, ctx)))
			return err;
	}
	return RK_OK;
}

#define REC_COLUMNS                                                                            \
	"n.id, n.org, n.object_id, n.object_type, n.object_version, n.collection, n.asset,"  \
	" n.obs_kind, n.obs_value, n.content, n.created, n.acked_at, n.acked_by"

static const char *col(sqlite3_stmt *s, int i)
{
	const char *t = (const char *)sqlite3_column_text(s, i);
	return t ? t : "";
}

static void row_to_record(sqlite3_stmt *s, notify_record *r)
{
	r->id = sqlite3_column_int64(s, 0);
	r->org = col(s, 1);
	r->object_id = col(s, 2);
	r->object_type = col(s, 3);
	r->object_version = col(s, 4);
	r->collection = col(s, 5);
	r->asset = col(s, 6);
	r->obs_kind = col(s, 7);
	r->obs_value = col(s, 8);
	r->content = col(s, 9);
	r->created = sqlite3_column_int64(s, 10);
	r->acked_at = sqlite3_column_int64(s, 11);
	r->acked_by = col(s, 12);
}

static rk_err list_query(notify_db *db, const char *sql, const char *org, int64_t after,
			 size_t limit, notify_record_fn fn, void *arg, rk_errctx *ctx)
{
	sqlite3_stmt *s = NULL;
	rk_err err = RK_OK;
	int rc;
	pthread_mutex_lock(&db->rlock);
	if (sqlite3_prepare_v2(db->rdb, sql, -1, &s, NULL) != SQLITE_OK) {
		err = rk_fail(ctx, RK_EDB, NOTIFY_DB_FILE, "listing notifications: %s", sqlite3_errmsg(db->rdb));
		goto out;
	}
	sqlite3_bind_text(s, 1, org, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, after);
	sqlite3_bind_int64(s, 3, (int64_t)limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		notify_record r;
		row_to_record(s, &r);
		if ((err = fn(arg, &r)))
			goto out;
	}
	if (rc != SQLITE_DONE)
		err = rk_fail(ctx, RK_EDB, NOTIFY_DB_FILE, "listing notifications: %s", sqlite3_errmsg(db->rdb));
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&db->rlock);
	return err;
}

rk_err notify_list(notify_db *db, const char *org, int64_t after_id, size_t limit,
		   notify_record_fn fn, void *arg, rk_errctx *ctx)
{
	return list_query(db,
			  "SELECT " REC_COLUMNS " FROM notifications n WHERE n.org = ?1 AND n.id > ?2"
			  " ORDER BY n.id LIMIT ?3",
			  org, after_id, limit, fn, arg, ctx);
}

rk_err notify_list_since(notify_db *db, const char *org, rk_time after, size_t limit,
			 notify_record_fn fn, void *arg, rk_errctx *ctx)
{
	return list_query(db,
			  "SELECT " REC_COLUMNS " FROM notifications n WHERE n.org = ?1"
			  " AND n.created > ?2 ORDER BY n.created, n.id LIMIT ?3",
			  org, after, limit, fn, arg, ctx);
}

rk_err notify_ack(notify_db *db, const char *org, int64_t id, const char *by, rk_errctx *ctx)
{
	sqlite3_stmt *s = NULL;
	rk_err err = RK_OK;
	int rc;
	pthread_mutex_lock(&db->lock);
	if (sqlite3_prepare_v2(db->db, "SELECT acked_at FROM notifications WHERE id = ?1 AND org = ?2",
			       -1, &s, NULL) != SQLITE_OK) {
		err = db_fail(db, ctx, "acknowledging");
		goto out;
	}
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, org, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		err = rk_fail(ctx, RK_ENOTFOUND, NULL, "no notification %lld for %s", (long long)id,
			      org);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		err = db_fail(db, ctx, "acknowledging");
		goto out;
	}
	if (sqlite3_column_int64(s, 0) == 0) {
		stmt_arg a[] = {I(id), I(rk_time_now()), T(by)};
		err = exec_args(db, "UPDATE notifications SET acked_at = ?2, acked_by = ?3 WHERE id = ?1",
				a, 3, ctx);
	}
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&db->lock);
	return err;
}

rk_err notify_status(notify_db *db, const char *org, notify_status_fn fn, void *arg,
		     rk_errctx *ctx)
{
	/* One row per organisation for the collection (every notification
	 * is there), one per organisation and channel for deliveries; the
	 * last error is the latest failed attempt's. */
	static const char SQL[] =
		"SELECT org, 'collection', count(*), 0, count(*), 0,"
		"  sum(acked_at != 0), max(created), ''"
		" FROM notifications WHERE (?1 IS NULL OR org = ?1) GROUP BY org "
		"UNION ALL "
		"SELECT n.org, d.channel, count(*), sum(d.state = 'queued'), sum(d.state = 'sent'),"
		"  sum(d.state = 'failed'), sum(n.acked_at != 0), max(d.sent_at),"
		"  coalesce((SELECT d2.last_error FROM deliveries d2 JOIN notifications n2"
		"    ON n2.id = d2.notification WHERE n2.org = n.org AND d2.channel = d.channel"
		"    AND d2.last_error != '' ORDER BY d2.next_at DESC LIMIT 1), '')"
		" FROM deliveries d JOIN notifications n ON n.id = d.notification"
		" WHERE (?1 IS NULL OR n.org = ?1) GROUP BY n.org, d.channel"
		" ORDER BY 1, 2";
	sqlite3_stmt *s = NULL;
	rk_err err = RK_OK;
	int rc;
	pthread_mutex_lock(&db->rlock);
	if (sqlite3_prepare_v2(db->rdb, SQL, -1, &s, NULL) != SQLITE_OK) {
		err = rk_fail(ctx, RK_EDB, NOTIFY_DB_FILE, "reading the status: %s", sqlite3_errmsg(db->rdb));
		goto out;
	}
	if (org)
		sqlite3_bind_text(s, 1, org, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		notify_status_row r = {
			.org = col(s, 0),
			.channel = col(s, 1),
			.total = (uint64_t)sqlite3_column_int64(s, 2),
			.queued = (uint64_t)sqlite3_column_int64(s, 3),
			.delivered = (uint64_t)sqlite3_column_int64(s, 4),
			.failed = (uint64_t)sqlite3_column_int64(s, 5),
			.acknowledged = (uint64_t)sqlite3_column_int64(s, 6),
			.last_delivered = sqlite3_column_int64(s, 7),
			.last_error = col(s, 8),
		};
		if ((err = fn(arg, &r)))
			goto out;
	}
	if (rc != SQLITE_DONE)
		err = rk_fail(ctx, RK_EDB, NOTIFY_DB_FILE, "reading the status: %s", sqlite3_errmsg(db->rdb));
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&db->rlock);
	return err;
}

rk_err notify_db_due(notify_db *db, notify_channel channel, const char *org, rk_time now,
		     size_t limit, notify_due_fn fn, void *arg, rk_errctx *ctx)
{
	sqlite3_stmt *s = NULL;
	rk_err err = RK_OK;
	int rc;
	pthread_mutex_lock(&db->lock);
	if (sqlite3_prepare_v2(db->db,
			       "SELECT " REC_COLUMNS ", d.attempts FROM deliveries d"
			       " JOIN notifications n ON n.id = d.notification"
			       " WHERE d.channel = ?1 AND d.state = 'queued' AND d.next_at <= ?2"
			       " AND (?3 IS NULL OR n.org = ?3) ORDER BY n.id LIMIT ?4",
			       -1, &s, NULL) != SQLITE_OK) {
		err = db_fail(db, ctx, "reading deliveries");
		goto out;
	}
	sqlite3_bind_text(s, 1, notify_channel_name(channel), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	if (org)
		sqlite3_bind_text(s, 3, org, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (int64_t)limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		notify_due d;
		row_to_record(s, &d.rec);
		d.channel = channel;
		d.attempts = (unsigned)sqlite3_column_int64(s, 13);
		if ((err = fn(arg, &d)))
			goto out;
	}
	if (rc != SQLITE_DONE)
		err = db_fail(db, ctx, "reading deliveries");
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&db->lock);
	return err;
}

rk_err notify_db_orgs_queued(notify_db *db, notify_channel channel,
			     void (*fn)(void *arg, const char *org), void *arg, rk_errctx *ctx)
{
	sqlite3_stmt *s = NULL;
	rk_err err = RK_OK;
	int rc;
	pthread_mutex_lock(&db->lock);
	if (sqlite3_prepare_v2(db->db,
			       "SELECT DISTINCT n.org FROM deliveries d JOIN notifications n"
			       " ON n.id = d.notification WHERE d.channel = ?1 AND d.state = 'queued'"
			       " ORDER BY 1",
			       -1, &s, NULL) != SQLITE_OK) {
		err = db_fail(db, ctx, "reading deliveries");
		goto out;
	}
	sqlite3_bind_text(s, 1, notify_channel_name(channel), -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		fn(arg, col(s, 0));
	if (rc != SQLITE_DONE)
		err = db_fail(db, ctx, "reading deliveries");
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&db->lock);
	return err;
}

rk_err notify_db_sent(notify_db *db, int64_t id, notify_channel channel, rk_time at,
		      rk_errctx *ctx)
{
	stmt_arg a[] = {I(id), T(notify_channel_name(channel)), I(at)};
	return exec_locked(db,
			   "UPDATE deliveries SET state = 'sent', sent_at = ?3, attempts = attempts + 1"
			   " WHERE notification = ?1 AND channel = ?2",
			   a, 3, ctx);
}

rk_err notify_db_retry(notify_db *db, int64_t id, notify_channel channel, const char *error,
		       rk_time next_at, rk_errctx *ctx)
{
	stmt_arg a[] = {I(id), T(notify_channel_name(channel)), T(error), I(next_at)};
	return exec_locked(db,
			   "UPDATE deliveries SET attempts = attempts + 1, last_error = ?3,"
			   " next_at = CASE WHEN ?4 = 0 THEN next_at ELSE ?4 END,"
			   " state = CASE WHEN ?4 = 0 THEN 'failed' ELSE 'queued' END"
			   " WHERE notification = ?1 AND channel = ?2",
			   a, 4, ctx);
}

rk_err notify_db_window(notify_db *db, const char *org, rk_time *start, rk_errctx *ctx)
{
	sqlite3_stmt *s = NULL;
	rk_err err = RK_OK;
	*start = 0;
	pthread_mutex_lock(&db->lock);
	if (sqlite3_prepare_v2(db->db, "SELECT window_start FROM digests WHERE org = ?1", -1, &s,
			       NULL) != SQLITE_OK) {
		err = db_fail(db, ctx, "reading a digest window");
		goto out;
	}
	sqlite3_bind_text(s, 1, org, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*start = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		err = db_fail(db, ctx, "reading a digest window");
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&db->lock);
	return err;
}

rk_err notify_db_set_window(notify_db *db, const char *org, rk_time start, rk_errctx *ctx)
{
	stmt_arg a[] = {T(org), I(start)};
	return exec_locked(db,
			   "INSERT INTO digests(org, window_start) VALUES (?1, ?2)"
			   " ON CONFLICT(org) DO UPDATE SET window_start = excluded.window_start",
			   a, 2, ctx);
}
