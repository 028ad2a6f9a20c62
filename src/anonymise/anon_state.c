/*
 * anon_state.c: the durable state of anonymous submission, in the hub's
 * data directory beside the store and the audit log:
 *
 *   anonymise.key  32 random bytes, hex, mode 0600: the secret pseudonyms
 *                  and mapped ids are derived from. Losing it changes every
 *                  pseudonym from then on (new versions of old objects would
 *                  then carry a new pseudonym and be refused); it is made
 *                  once and never rotated by renkei.
 *   anonymise.db   SQLite (WAL), two tables:
 *     review    the queue: one row per held object, pending -> approved |
 *               rejected, with the transformed object (dropped on reject)
 *               and the findings (rule and path, never values);
 *     original  what the submitter posted, for the submitter alone,
 *               deleted past the retention (anon_state_purge).
 *
 * The database is its own, so the store's schema is untouched and the
 * store's write lock never waits for it. `renkei review` opens the same
 * files while the hub runs; SQLite's locking and a busy timeout serialise
 * the two processes. One mutex serialises the calls of one handle.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "anonymise.h"

struct anon_state {
	sqlite3 *db;
	pthread_mutex_t lock;
	unsigned char key[ANON_KEY_BYTES];
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE IF NOT EXISTS review("
	" id TEXT PRIMARY KEY, state TEXT NOT NULL, org TEXT NOT NULL, user TEXT NOT NULL,"
	" community TEXT NOT NULL, collection TEXT NOT NULL, status_id TEXT NOT NULL,"
	" posted_id TEXT NOT NULL, stored_id TEXT NOT NULL, version TEXT NOT NULL,"
	" object TEXT, findings TEXT NOT NULL, reason TEXT,"
	" received INTEGER NOT NULL, decided INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS review_state ON review(state, received);"
	"CREATE INDEX IF NOT EXISTS review_status ON review(status_id);"
	"CREATE TABLE IF NOT EXISTS original("
	" org TEXT NOT NULL, community TEXT NOT NULL, collection TEXT NOT NULL,"
	" posted_id TEXT NOT NULL, stored_id TEXT NOT NULL, version TEXT NOT NULL,"
	" object TEXT NOT NULL, kept INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS original_posted ON original(org, posted_id);"
	"CREATE INDEX IF NOT EXISTS original_stored ON original(org, stored_id);"
	"CREATE INDEX IF NOT EXISTS original_kept ON original(kept);";

static rk_err db_fail(anon_state *s, rk_errctx *ctx, const char *what)
{
	return rk_fail(ctx, RK_EDB, NULL, "anonymise.db: %s: %s", what, sqlite3_errmsg(s->db));
}

/* "sqlite:DIR" or DIR -> DIR/name */
static bool path_in(const char *dir, const char *name, char *out, size_t outlen)
{
	if (strncmp(dir, "sqlite:", 7) == 0)
		dir += 7;
	int n = snprintf(out, outlen, "%s/%s", dir, name);
	return n > 0 && (size_t)n < outlen;
}

static rk_err load_key(const char *path, unsigned char key[ANON_KEY_BYTES], rk_errctx *ctx)
{
	char *text = NULL;
	size_t len = 0;
	rk_errctx rctx;

	rk_errctx_clear(&rctx);
	if (rk_read_file(path, 4096, &text, &len, &rctx) == RK_OK) {
		while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
			len--;
		size_t got = 0;
		bool ok = len == 2 * ANON_KEY_BYTES &&
			  sodium_hex2bin(key, ANON_KEY_BYTES, text, len, NULL, &got, NULL) == 0 &&
			  got == ANON_KEY_BYTES;
		sodium_memzero(text, len);
		free(text);
		return ok ? RK_OK
			  : rk_fail(ctx, RK_ECONFIG, path,
				    "not a key: expected %d hexadecimal characters",
				    2 * ANON_KEY_BYTES);
	}
	/* first use: make it, readable by the hub's user only */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return rk_fail(ctx, RK_EIO, path, "cannot create the key: %s", strerror(errno));
	char hex[2 * ANON_KEY_BYTES + 2];
	randombytes_buf(key, ANON_KEY_BYTES);
	sodium_bin2hex(hex, sizeof hex - 1, key, ANON_KEY_BYTES);
	strcat(hex, "\n");
	bool ok = write(fd, hex, strlen(hex)) == (ssize_t)strlen(hex) && fsync(fd) == 0;
	sodium_memzero(hex, sizeof hex);
	if (close(fd) != 0 || !ok) {
		unlink(path);
		return rk_fail(ctx, RK_EIO, path, "cannot write the key");
	}
	return RK_OK;
}

rk_err anon_state_open(const char *dir, anon_state **out, rk_errctx *ctx)
{
	char path[4096];
	anon_state *s;
	rk_err rc;

	*out = NULL;
	if (sodium_init() < 0)
		return rk_fail(ctx, RK_EIO, NULL, "libsodium could not start");
	s = calloc(1, sizeof *s);
	if (!s)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	if (!path_in(dir, "anonymise.key", path, sizeof path)) {
		rc = rk_fail(ctx, RK_EINVAL, NULL, "data directory path too long");
		goto fail;
	}
	if ((rc = load_key(path, s->key, ctx)))
		goto fail;
	if ((rc = rk_sqlite_open(dir, "anonymise.db", false, 10000, schema, &s->db, ctx)))
		goto fail;
	*out = s;
	return RK_OK;
fail:
	anon_state_close(s);
	return rc;
}

void anon_state_close(anon_state *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	sodium_memzero(s->key, sizeof s->key);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const unsigned char *anon_state_key(const anon_state *s)
{
	return s->key;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* Begins an immediate transaction, or commits one (rolled back when the commit fails). */
static rk_err in_tx(anon_state *s, rk_errctx *ctx, bool begin)
{
	if (sqlite3_exec(s->db, begin ? "BEGIN IMMEDIATE" : "COMMIT", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		rk_err rc = db_fail(s, ctx, begin ? "begin" : "commit");
		if (!begin)
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	return RK_OK;
}

/* Inserts n rows in one transaction: `sql` is prepared once and bind(st,
 * items, i) gives row i its values; any failure rolls back all of them. */
typedef void (*row_binder)(sqlite3_stmt *st, const void *items, size_t i);
static rk_err insert_all(anon_state *s, const char *sql, const char *what, row_binder bind,
			 const void *items, size_t n, rk_errctx *ctx)
{
	sqlite3_stmt *st = NULL;
	rk_err rc = RK_OK;

	if (!n)
		return RK_OK;
	pthread_mutex_lock(&s->lock);
	if ((rc = in_tx(s, ctx, true)))
		goto out;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(s, ctx, what);
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bind(st, items, i);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = db_fail(s, ctx, what);
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
		sqlite3_reset(st);
	}
	rc = in_tx(s, ctx, false);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static void bind_original(sqlite3_stmt *st, const void *items, size_t i)
{
	const anon_original *o = (const anon_original *)items + i;
	bind_text(st, 1, o->org);
	bind_text(st, 2, o->community);
	bind_text(st, 3, o->collection);
	bind_text(st, 4, o->posted_id);
	bind_text(st, 5, o->stored_id);
	bind_text(st, 6, o->version);
	bind_text(st, 7, o->object);
	sqlite3_bind_int64(st, 8, o->kept);
}

rk_err anon_state_keep(anon_state *s, const anon_original *o, size_t n, rk_errctx *ctx)
{
	return insert_all(s,
			  "INSERT INTO original(org, community, collection, posted_id,"
			  " stored_id, version, object, kept) VALUES(?,?,?,?,?,?,?,?)",
			  "keeping originals", bind_original, o, n, ctx);
}

rk_err anon_state_originals(anon_state *s, const char *org, const char *id,
			    anon_original_fn fn, void *arg, rk_errctx *ctx)
{
	sqlite3_stmt *st = NULL;
	rk_err rc = RK_OK;
	int step;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db,
			       "SELECT org, community, collection, posted_id, stored_id, version,"
			       " object, kept FROM original WHERE org = ?1 AND (posted_id = ?2"
			       " OR stored_id = ?2) ORDER BY kept, rowid",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(s, ctx, "reading originals");
		goto out;
	}
	bind_text(st, 1, org);
	bind_text(st, 2, id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		anon_original o = {col_text(st, 0), col_text(st, 1), col_text(st, 2),
				   col_text(st, 3), col_text(st, 4), col_text(st, 5),
				   col_text(st, 6), sqlite3_column_int64(st, 7)};
		if ((rc = fn(arg, &o)))
			goto out;
	}
	if (step != SQLITE_DONE)
		rc = db_fail(s, ctx, "reading originals");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

rk_err anon_state_purge(anon_state *s, rk_time before, size_t *n_out, rk_errctx *ctx)
{
	sqlite3_stmt *st = NULL;
	rk_err rc = RK_OK;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, "DELETE FROM original WHERE kept < ?", -1, &st, NULL) !=
		    SQLITE_OK ||
	    (sqlite3_bind_int64(st, 1, before), sqlite3_step(st)) != SQLITE_DONE) {
		rc = db_fail(s, ctx, "deleting originals past their retention");
	} else if (n_out) {
		*n_out = (size_t)sqlite3_changes(s->db);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static void bind_review_item(sqlite3_stmt *st, const void *items, size_t i)
{
	const anon_review_item *it = (const anon_review_item *)items + i;
	bind_text(st, 1, it->id);
	bind_text(st, 2, it->org);
	bind_text(st, 3, it->user);
	bind_text(st, 4, it->community);
	bind_text(st, 5, it->collection);
	bind_text(st, 6, it->status_id);
	bind_text(st, 7, it->posted_id);
	bind_text(st, 8, it->stored_id);
	bind_text(st, 9, it->version);
	bind_text(st, 10, it->object);
	bind_text(st, 11, it->findings ? it->findings : "");
	sqlite3_bind_int64(st, 12, it->received);
}

rk_err anon_state_queue(anon_state *s, const anon_review_item *items, size_t n,
			rk_errctx *ctx)
{
	return insert_all(s,
			  "INSERT INTO review(id, state, org, user, community, collection,"
			  " status_id, posted_id, stored_id, version, object, findings,"
			  " received) VALUES(?,'pending',?,?,?,?,?,?,?,?,?,?,?)",
			  "queueing for review", bind_review_item, items, n, ctx);
}

#define REVIEW_COLUMNS                                                              \
	"id, state, org, user, community, collection, status_id, posted_id, stored_id," \
	" version, object, findings, reason, received, decided"

static rk_err review_rows(anon_state *s, sqlite3_stmt *st, anon_review_fn fn, void *arg,
			  size_t *n, rk_errctx *ctx)
{
	int step;
	rk_err rc;

	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		anon_review_item it = {
			col_text(st, 0),  col_text(st, 1),  col_text(st, 2),  col_text(st, 3),
			col_text(st, 4),  col_text(st, 5),  col_text(st, 6),  col_text(st, 7),
			col_text(st, 8),  col_text(st, 9),  col_text(st, 10), col_text(st, 11),
			col_text(st, 12), sqlite3_column_int64(st, 13),
			sqlite3_column_int64(st, 14)};
		(*n)++;
		if ((rc = fn(arg, &it)))
			return rc;
	}
	return step == SQLITE_DONE ? RK_OK : db_fail(s, ctx, "reading the review queue");
}

rk_err anon_state_review_list(anon_state *s, const char *state, anon_review_fn fn,
			      void *arg, rk_errctx *ctx)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	rk_err rc;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db,
			       "SELECT " REVIEW_COLUMNS " FROM review WHERE ?1 IS NULL OR"
			       " state = ?1 ORDER BY received, id",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(s, ctx, "reading the review queue");
	} else {
		bind_text(st, 1, state);
		rc = review_rows(s, st, fn, arg, &n, ctx);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

rk_err anon_state_review_get(anon_state *s, const char *id, anon_review_fn fn, void *arg,
			     rk_errctx *ctx)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	rk_err rc;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, "SELECT " REVIEW_COLUMNS " FROM review WHERE id = ?", -1,
			       &st, NULL) != SQLITE_OK) {
		rc = db_fail(s, ctx, "reading the review queue");
	} else {
		bind_text(st, 1, id);
		rc = review_rows(s, st, fn, arg, &n, ctx);
		if (!rc && !n)
			rc = rk_fail(ctx, RK_ENOTFOUND, NULL, "no review item '%s'", id);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

rk_err anon_state_review_decide(anon_state *s, const char *id, bool approve,
				const char *reason, rk_errctx *ctx)
{
	sqlite3_stmt *st = NULL;
	rk_err rc = RK_OK;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db,
			       approve ? "UPDATE review SET state = 'approved', reason = ?2,"
					 " decided = ?3 WHERE id = ?1 AND state = 'pending'"
				       : "UPDATE review SET state = 'rejected', reason = ?2,"
					 " decided = ?3, object = NULL WHERE id = ?1 AND"
					 " state = 'pending'",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = db_fail(s, ctx, "deciding a review item");
		goto out;
	}
	bind_text(st, 1, id);
	bind_text(st, 2, reason);
	sqlite3_bind_int64(st, 3, rk_time_now());
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_fail(s, ctx, "deciding a review item");
	else if (sqlite3_changes(s->db) != 1)
		rc = rk_fail(ctx, RK_ECONFLICT, NULL, "review item '%s' is not pending", id);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

rk_err anon_state_forget_status(anon_state *s, const char *status_id, rk_errctx *ctx)
{
	sqlite3_stmt *st = NULL;
	rk_err rc = RK_OK;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, "DELETE FROM review WHERE status_id = ?", -1, &st,
			       NULL) != SQLITE_OK ||
	    (bind_text(st, 1, status_id), sqlite3_step(st)) != SQLITE_DONE)
		rc = db_fail(s, ctx, "dropping review items");
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}
