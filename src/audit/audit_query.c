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
 * An object id is found through the readers index (audit_block.c): in
 * one read transaction, each block row's filter is probed (one 8-byte
 * read of its blob, sqlite3_blob_read), and the records are read only in
 * the ranges that may name the id: the blocks whose filter says "maybe",
 * the unfinished block after the last row, and any records no block row
 * covers (none in an intact log: a row removed must not hide a read from
 * a query; audit_verify reports it). In each range the record's own ids
 * text decides, so a false positive or a hash collision costs a scan of
 * one block, never a wrong answer. readers takes the ranges newest first
 * and stops at its limit; show takes them in number order.
 *
 * Cost of an object query: one probe per block (a block per 65,536 ids),
 * plus reading the records of about 1% of the blocks, of the blocks that
 * do name the id, and of the unfinished block. Other filters are served by
 * indexes (audit_chain.c): the organisation by audit_org, times by
 * audit_at.
 */
#include <stdlib.h>
#include <string.h>

#include "audit_int.h"

/* Records lo..hi (inclusive) that may name an object. */
typedef struct seq_range {
	int64_t lo, hi;
} seq_range;

typedef struct ranges {
	seq_range *v;
	size_t n, cap;
} ranges;

static bool ranges_add(ranges *r, int64_t lo, int64_t hi)
{
	if (lo > hi)
		return true;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		seq_range *v = realloc(r->v, cap * sizeof *v);
		if (!v)
			return false;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (seq_range){lo, hi};
	return true;
}

static int range_cmp(const void *pa, const void *pb)
{
	const seq_range *x = pa, *y = pb;
	return (x->lo > y->lo) - (x->lo < y->lo);
}

/* Sets *maybe: the block row at first_seq may hold idh, because its
 * filter's word has the bits or because the filter cannot be read as one
 * (then the block's records are read, and a failure to read shows
 * there). False only when out of memory. */
static bool probe(sqlite3 *db, sqlite3_blob **blob, int64_t first_seq, int64_t idh, bool *maybe)
{
	unsigned char word[8];
	int rc = *blob ? sqlite3_blob_reopen(*blob, first_seq)
		       : sqlite3_blob_open(db, "main", "audit_blocks", "bloom", first_seq, 0, blob);
	*maybe = true;
	if (rc == SQLITE_OK) {
		int bytes = sqlite3_blob_bytes(*blob);
		if (bytes < 8 || bytes % 8)
			return true;
		rc = sqlite3_blob_read(*blob, word, 8,
				       (int)audit_bloom_offset((size_t)bytes, idh));
		if (rc == SQLITE_OK) {
			*maybe = audit_bloom_word_has(word, idh);
			return true;
		}
	}
	/* a value of another type, or a failed read: start afresh */
	sqlite3_blob_close(*blob);
	*blob = NULL;
	return (rc & 0xff) != SQLITE_NOMEM;
}

/*
 * The record ranges that may name object_id, sorted and disjoint, in the
 * connection's open read transaction (opening comment). On a version 1
 * log (no blocks) that is every record.
 */
static rk_err candidates(const audit *a, sqlite3 *db, const char *object_id, ranges *out,
			 rk_errctx *ctx)
{
	sqlite3_stmt *s = NULL;
	sqlite3_blob *blob = NULL;
	int64_t idh = audit_idh(object_id, strlen(object_id));
	int64_t uncovered = 1; /* records from here on are in no row seen so far */
	bool oom = false;
	int rc = SQLITE_DONE;

	out->n = 0;
	if (a->version >= AUDIT_SCHEMA_VERSION) {
		rc = sqlite3_prepare_v2(db, "SELECT first_seq, last_seq FROM audit_blocks "
					    "ORDER BY first_seq",
					-1, &s, NULL);
		while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
			int64_t lo = sqlite3_column_int64(s, 0), hi = sqlite3_column_int64(s, 1);
			bool maybe = true;
			rc = SQLITE_OK;
			if (lo > hi || lo < 1)
				continue; /* covers nothing */
			if (!probe(db, &blob, lo, idh, &maybe) ||
			    (lo > uncovered && !ranges_add(out, uncovered, lo - 1)) ||
			    (maybe && !ranges_add(out, lo, hi))) {
				oom = true;
				break;
			}
			if (hi >= uncovered)
				uncovered = hi == INT64_MAX ? INT64_MAX : hi + 1;
		}
		sqlite3_finalize(s);
		sqlite3_blob_close(blob);
	}
	if (!oom && rc == SQLITE_DONE && !ranges_add(out, uncovered, INT64_MAX))
		oom = true;
	if (oom)
		return rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
	if (rc != SQLITE_DONE)
		return audit_sq_err(db, rc, ctx, "reading the readers index");
	/* sorted, then merged where rows overlap or meet */
	qsort(out->v, out->n, sizeof *out->v, range_cmp);
	size_t m = 0;
	for (size_t i = 0; i < out->n; i++) {
		if (m && out->v[i].lo - 1 <= out->v[m - 1].hi) {
			if (out->v[i].hi > out->v[m - 1].hi)
				out->v[m - 1].hi = out->v[i].hi;
		} else {
			out->v[m++] = out->v[i];
		}
	}
	out->n = m;
	return RK_OK;
}

/* Ends a query: closes its read transaction and connection. */
static rk_err finish(sqlite3 *db, sqlite3_stmt *s, int rc, rk_err err, rk_errctx *ctx,
		     const char *what)
{
	if (!err && rc != SQLITE_DONE)
		err = audit_sq_err(db, rc, ctx, what);
	sqlite3_finalize(s);
	if (db)
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	return err;
}

/* A read connection in a read transaction: the blocks and the records it
 * reads are one snapshot. */
static rk_err begin(const audit *a, sqlite3 **db, rk_errctx *ctx)
{
	rk_err err = audit_reader_open(a, db, ctx);
	if (err)
		return err;
	int rc = sqlite3_exec(*db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		err = audit_sq_err(*db, rc, ctx, "starting a read");
		sqlite3_close(*db);
		*db = NULL;
	}
	return err;
}

rk_err audit_show(audit *a, const audit_filter *f, audit_record_fn fn, void *arg,
		  rk_errctx *ctx)
{
	static const audit_filter none = {0};
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	ranges rg = {0};
	rk_buf sql;
	rk_err err = RK_OK;
	int rc;

	if (!f)
		f = &none;
	rk_buf_init(&sql);
	if (rk_buf_puts(&sql, "SELECT " AUDIT_COLUMNS " FROM audit WHERE seq BETWEEN ? AND ?") ||
	    (f->org && rk_buf_puts(&sql, " AND org = ?")) ||
	    (f->has_since && rk_buf_puts(&sql, " AND at >= ?")) ||
	    (f->has_until && rk_buf_puts(&sql, " AND at < ?")) ||
	    rk_buf_puts(&sql, " ORDER BY seq")) {
		rk_buf_cleanup(&sql);
		return rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
	}
	if ((err = begin(a, &db, ctx))) {
		rk_buf_cleanup(&sql);
		return err;
	}
	rc = sqlite3_prepare_v2(db, sql.data, -1, &s, NULL);
	rk_buf_cleanup(&sql);
	if (rc != SQLITE_OK)
		return finish(db, s, rc, RK_OK, ctx, "preparing a query");
	if (f->object_id)
		err = candidates(a, db, f->object_id, &rg, ctx);
	else if (!ranges_add(&rg, 1, INT64_MAX))
		err = rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
	rc = SQLITE_DONE;
	for (size_t k = 0; !err && rc == SQLITE_DONE && k < rg.n; k++) {
		int i = 1;
		sqlite3_reset(s);
		sqlite3_bind_int64(s, i++, rg.v[k].lo);
		sqlite3_bind_int64(s, i++, rg.v[k].hi);
		if (f->org)
			sqlite3_bind_text(s, i++, f->org, -1, SQLITE_STATIC);
		if (f->has_since)
			sqlite3_bind_int64(s, i++, f->since);
		if (f->has_until)
			sqlite3_bind_int64(s, i++, f->until);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			audit_record r;
			audit_row_record(s, 0, &r);
			if (f->object_id && !audit_ids_contain(r.ids, f->object_id))
				continue;
			if ((err = fn(arg, &r)))
				break;
		}
	}
	free(rg.v);
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
	ranges rg = {0};
	size_t n = 0, cap = 0;
	rk_err err = RK_OK;
	bool full = false;
	int rc;

	if (more)
		*more = false;
	if ((err = begin(a, &db, ctx)))
		return err;
	/* Newest first, so that a limit keeps the newest. */
	rc = sqlite3_prepare_v2(db,
				"SELECT seq, at, user, org, collection, route, ids FROM audit "
				"WHERE seq BETWEEN ?1 AND ?2 "
				"AND method = 'GET' AND status BETWEEN 200 AND 299 "
				"AND (?3 IS NULL OR collection = ?3) ORDER BY seq DESC",
				-1, &s, NULL);
	if (rc != SQLITE_OK)
		return finish(db, s, rc, RK_OK, ctx, "preparing a query");
	err = candidates(a, db, object_id, &rg, ctx);
	rc = SQLITE_DONE;
	for (size_t k = rg.n; !err && !full && rc == SQLITE_DONE && k > 0; k--) {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, rg.v[k - 1].lo);
		sqlite3_bind_int64(s, 2, rg.v[k - 1].hi);
		if (collection)
			sqlite3_bind_text(s, 3, collection, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			const char *ids = (const char *)sqlite3_column_text(s, 6);
			if (!audit_ids_contain(ids, object_id))
				continue;
			if (limit && n == limit) {
				if (more)
					*more = true;
				full = true;
				rc = SQLITE_DONE;
				break;
			}
			if (n == cap) {
				size_t nc = cap ? 2 * cap : 64;
				kept_read *kr = realloc(kept, nc * sizeof *kr);
				if (!kr) {
					err = rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
					break;
				}
				kept = kr;
				cap = nc;
			}
			if (keep_read(&kept[n], s) != RK_OK) {
				err = rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
				break;
			}
			n++;
		}
	}
	for (size_t i = n; !err && rc == SQLITE_DONE && i > 0; i--)
		err = fn(arg, &kept[i - 1].r);
	for (size_t i = 0; i < n; i++)
		free(kept[i].mem);
	free(kept);
	free(rg.v);
	return finish(db, s, err ? SQLITE_DONE : rc, err, ctx, "reading the log");
}
