/*
 * audit_query.c: reading the audit log: show (filtered records) and
 * readers (who read an object).
 *
 * Each query opens a read connection of its own (audit_reader_open), so
 * queries from any thread, or from `renkei audit` while the hub writes,
 * run in their own WAL snapshot and never wait for the writer. They see
 * committed records; the hub calls audit_flush first when a query must
 * see the records of requests it already answered.
 *
 * An object id is found through the readers index (idh -> record), and
 * the record's own ids decide: a hash collision only costs a comparison.
 * Indexes (audit_chain.c) serve every filter: the organisation by
 * audit_org, times by audit_at, an object by audit_ix.
 */
#include <stdlib.h>
#include <string.h>

#include "audit_int.h"

static rk_err finish(sqlite3 *db, sqlite3_stmt *s, int rc, rk_err err, rk_errctx *ctx,
		     const char *what)
{
	if (!err && rc != SQLITE_DONE)
		err = audit_sq_err(db, rc, ctx, what);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return err;
}

rk_err audit_show(audit *a, const audit_filter *f, audit_record_fn fn, void *arg,
		  rk_errctx *ctx)
{
	static const audit_filter none = {0};
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	rk_buf sql;
	rk_err err = RK_OK;
	int rc, i = 1;

	if (!f)
		f = &none;
	rk_buf_init(&sql);
	if (rk_buf_puts(&sql, "SELECT " AUDIT_COLUMNS " FROM audit WHERE 1") ||
	    (f->org && rk_buf_puts(&sql, " AND org = ?")) ||
	    (f->has_since && rk_buf_puts(&sql, " AND at >= ?")) ||
	    (f->has_until && rk_buf_puts(&sql, " AND at < ?")) ||
	    (f->object_id && rk_buf_puts(&sql, " AND seq IN (SELECT seq FROM audit_ix "
					       "WHERE idh = ?)")) ||
	    rk_buf_puts(&sql, " ORDER BY seq")) {
		rk_buf_cleanup(&sql);
		return rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
	}
	if ((err = audit_reader_open(a, &db, ctx))) {
		rk_buf_cleanup(&sql);
		return err;
	}
	rc = sqlite3_prepare_v2(db, sql.data, -1, &s, NULL);
	rk_buf_cleanup(&sql);
	if (rc != SQLITE_OK)
		return finish(db, s, rc, RK_OK, ctx, "preparing a query");
	if (f->org)
		sqlite3_bind_text(s, i++, f->org, -1, SQLITE_STATIC);
	if (f->has_since)
		sqlite3_bind_int64(s, i++, f->since);
	if (f->has_until)
		sqlite3_bind_int64(s, i++, f->until);
	if (f->object_id)
		sqlite3_bind_int64(s, i++, audit_idh(f->object_id, strlen(f->object_id)));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		audit_record r;
		audit_row_record(s, 0, &r);
		if (f->object_id && !audit_ids_contain(r.ids, f->object_id))
			continue;
		if ((err = fn(arg, &r)))
			break;
	}
	return finish(db, s, err ? SQLITE_DONE : rc, err, ctx, "reading the log");
}

/* A read kept until it is handed out oldest first. */
typedef struct kept_read {
	audit_read r;
	char *mem;
} kept_read;

static char *keep(char **p, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = *p;
	memcpy(d, s, n);
	*p += n;
	return d;
}

static rk_err keep_read(kept_read *k, sqlite3_stmt *s)
{
	const char *f[4];
	size_t total = 0;
	for (int c = 0; c < 4; c++) {
		f[c] = sqlite3_column_type(s, 2 + c) == SQLITE_NULL
			       ? NULL
			       : (const char *)sqlite3_column_text(s, 2 + c);
		total += f[c] ? strlen(f[c]) + 1 : 0;
	}
	k->mem = malloc(total ? total : 1);
	if (!k->mem)
		return RK_ENOMEM;
	char *p = k->mem;
	k->r.seq = (uint64_t)sqlite3_column_int64(s, 0);
	k->r.at = sqlite3_column_int64(s, 1);
	k->r.user = keep(&p, f[0]);
	k->r.org = keep(&p, f[1]);
	k->r.collection = keep(&p, f[2]);
	k->r.route = keep(&p, f[3]);
	return RK_OK;
}

rk_err audit_readers(audit *a, const char *object_id, const char *collection,
		     size_t limit, audit_read_fn fn, void *arg, bool *more,
		     rk_errctx *ctx)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	kept_read *kept = NULL;
	size_t n = 0, cap = 0;
	rk_err err = RK_OK;
	int rc;

	if (more)
		*more = false;
	if ((err = audit_reader_open(a, &db, ctx)))
		return err;
	/* Newest first, so that a limit keeps the newest. */
	rc = sqlite3_prepare_v2(db,
				"SELECT seq, at, user, org, collection, route, ids FROM audit "
				"WHERE seq IN (SELECT seq FROM audit_ix WHERE idh = ?1) "
				"AND method = 'GET' AND status BETWEEN 200 AND 299 "
				"AND (?2 IS NULL OR collection = ?2) ORDER BY seq DESC",
				-1, &s, NULL);
	if (rc != SQLITE_OK)
		return finish(db, s, rc, RK_OK, ctx, "preparing a query");
	sqlite3_bind_int64(s, 1, audit_idh(object_id, strlen(object_id)));
	if (collection)
		sqlite3_bind_text(s, 2, collection, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *ids = (const char *)sqlite3_column_text(s, 6);
		if (!audit_ids_contain(ids, object_id))
			continue;
		if (limit && n == limit) {
			if (more)
				*more = true;
			rc = SQLITE_DONE;
			break;
		}
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 64;
			kept_read *k = realloc(kept, nc * sizeof *k);
			if (!k) {
				err = rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
				break;
			}
			kept = k;
			cap = nc;
		}
		if (keep_read(&kept[n], s) != RK_OK) {
			err = rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
			break;
		}
		n++;
	}
	for (size_t i = n; !err && rc == SQLITE_DONE && i > 0; i--)
		err = fn(arg, &kept[i - 1].r);
	for (size_t i = 0; i < n; i++)
		free(kept[i].mem);
	free(kept);
	return finish(db, s, err ? SQLITE_DONE : rc, err, ctx, "reading the log");
}
