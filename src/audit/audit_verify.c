/*
 * audit_verify.c: walking the audit chain and naming the first problem.
 *
 * audit.head is read first and the records afterwards, in one read
 * transaction: the writer writes audit.head only after the records it
 * names are committed, so a log being written to is never seen shorter
 * than its head (a live hub can be verified; records after the head are
 * accepted, they are the ones not yet anchored).
 *
 * The walk takes records in number order and checks three things of each
 * record r after p (p is "record 0", hash 32 zero bytes, before record 1):
 *
 *     number   r.seq == p.seq + 1
 *     content  BLAKE2b(r.prev || S(r)) == r.hash          (audit_chain.c)
 *     link     r.prev == p.hash
 *
 * At the first record that fails one, the walk stops and says what it
 * sees, using the record before p (pp) and the one after r (n). The
 * number is part of S(r), and prev is stored, so "what number was this
 * record written as, and after which record" can be asked of any record
 * whose content is intact: the content check is retried with another
 * number. In that order:
 *
 *     gap in the numbers                   records removed (from the start,
 *                                          or between p and r)
 *     r intact as p.seq, follows pp        p was inserted (and hashed right)
 *     n intact as r.seq, follows p         r was inserted
 *     r intact as n.seq and follows n,     r and n were swapped
 *       n intact as r.seq and follows p
 *     r intact as r.seq + 1, not after p   a record was removed and the later
 *                                          ones renumbered
 *     content fails, link holds            r was modified
 *     content holds, link fails            p was replaced (hash recomputed), or
 *                                          records removed and r's hash recomputed
 *     both fail                            modified or moved
 *
 * After the walk: the log must reach the record audit.head names and that
 * record must carry its hash (otherwise records were removed from the end,
 * or the chain was recomputed); the same for a head given by the caller.
 *
 * Then the readers index (audit_block.c), whose problems are named only
 * when the chain and the heads are sound (they are what is reported
 * first). Its rows must be the blocks the records make, exactly: read
 * before the walk (without filters), they must start at record 1 and
 * follow each other without overlap or gap ("records 4 to 6: in no block"
 * for a row removed, "... overlaps the block starting at ..." for one
 * inserted). During the walk, each record's ids are hashed and probed in
 * its block's stored filter ("its filter lacks ids of record N": a read
 * hidden from the readers query), and the blocks are cut by the rule, so
 * that a block that ends before or after the rule ends it, a block whose
 * n_ids is not its records' count, and a filter that differs in any bit
 * from the one recomputed from its records are each named; the records
 * after the last row must not fill a block (the last row removed). After
 * the walk, no row may reach past the last record. A version 1 log has
 * no blocks: its old index, audit_ix, answers no query and is not read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit_int.h"

/* A row of audit_blocks, without its filter. */
typedef struct vblock {
	uint64_t first, last, n_ids;
} vblock;

typedef struct walk {
	audit_verdict *v;
	sqlite3 *db;
	sqlite3_stmt *next_row; /* the row after a given number */
	uint64_t p_seq, pp_seq;
	unsigned char p_hash[AUDIT_HASH_BYTES], pp_hash[AUDIT_HASH_BYTES];
	bool have_pp;
	/* readers index check: the rows (without filters), the one the
	 * walk is in (bi) and its stored filter, the block the records make
	 * (acc), and the first problem, named after the heads' */
	bool blocks;
	sqlite3_stmt *bloom_of;
	vblock *row;
	size_t n_rows, bi;
	unsigned char *bloom;
	size_t bloom_bytes;
	audit_blk acc;
	bool blk_bad;
	uint64_t blk_seq;
	char blk_msg[sizeof ((audit_verdict *)0)->message];
} walk;

static bool same(const unsigned char *x, const unsigned char *y)
{
	return sodium_memcmp(x, y, AUDIT_HASH_BYTES) == 0;
}

/* The record's content matches its hash when numbered `seq`. */
static bool intact_as(const audit_record *r, uint64_t seq)
{
	audit_record c = *r;
	unsigned char h[AUDIT_HASH_BYTES];
	c.seq = seq;
	audit_record_hash(r->prev, &c, h);
	return same(h, r->hash);
}

/* "record N", or "the start of the log" for 0. */
static const char *name_of(uint64_t seq, char buf[48])
{
	if (seq == 0)
		return "the start of the log";
	snprintf(buf, 48, "record %llu", (unsigned long long)seq);
	return buf;
}

static void problem(audit_verdict *v, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(audit_verdict *v, uint64_t seq, const char *fmt, ...)
{
	va_list ap;
	if (!v->intact)
		return; /* the first problem wins */
	v->intact = false;
	v->problem_seq = seq;
	va_start(ap, fmt);
	vsnprintf(v->message, sizeof v->message, fmt, ap);
	va_end(ap);
}

/* The first row numbered above `after` into *n (NULL when none); valid
 * until the statement is used again. */
static rk_err row_after(walk *w, uint64_t after, audit_record *n, bool *found,
			rk_errctx *ctx)
{
	sqlite3_stmt *s = w->next_row;
	sqlite3_reset(s);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)after);
	int rc = sqlite3_step(s);
	*found = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW)
		audit_row_record(s, 0, n);
	else if (rc != SQLITE_DONE)
		return audit_sq_err(w->db, rc, ctx, "reading the record after a problem");
	return RK_OK;
}

/* Names what happened at r, the first record that fails a check (the
 * opening comment has the table). */
static rk_err diagnose(walk *w, const audit_record *r, rk_errctx *ctx)
{
	audit_verdict *v = w->v;
	char b1[48], b2[48], b3[48];
	uint64_t p = w->p_seq;
	bool self_ok = intact_as(r, r->seq);
	bool link_ok = same(r->prev, w->p_hash);
	audit_record n;
	bool have_n = false;
	rk_err err;

	if (r->seq <= p || (int64_t)r->seq <= 0) {
		problem(v, r->seq, "record %lld: out of order after %s (numbers run 1, 2, 3, ...)",
			(long long)r->seq, name_of(p, b1));
		return RK_OK;
	}
	if (r->seq > p + 1) {
		if (p == 0)
			problem(v, r->seq, "record %llu: the log starts here, not at record 1 "
					   "(records removed from the start)",
				(unsigned long long)r->seq);
		else if (r->seq == p + 2)
			problem(v, r->seq, "record %llu: does not follow record %llu "
					   "(a record was removed)",
				(unsigned long long)r->seq, (unsigned long long)p);
		else
			problem(v, r->seq, "record %llu: does not follow record %llu "
					   "(records %llu to %llu were removed)",
				(unsigned long long)r->seq, (unsigned long long)p,
				(unsigned long long)p + 1, (unsigned long long)r->seq - 1);
		return RK_OK;
	}
	if (!self_ok && w->have_pp && same(r->prev, w->pp_hash) && intact_as(r, p)) {
		problem(v, p, "%s: inserted (record %llu was written as %s, right after %s)",
			name_of(p, b1), (unsigned long long)r->seq, name_of(p, b2),
			name_of(w->pp_seq, b3));
		return RK_OK;
	}
	if ((err = row_after(w, r->seq, &n, &have_n, ctx)))
		return err;
	have_n = have_n && n.seq == r->seq + 1;
	if (have_n && same(n.prev, w->p_hash) && intact_as(&n, r->seq) &&
	    !(same(r->prev, n.hash) && intact_as(r, n.seq))) {
		problem(v, r->seq, "%s: inserted (record %llu was written as %s, right after %s)",
			name_of(r->seq, b1), (unsigned long long)n.seq, name_of(r->seq, b2),
			name_of(p, b3));
		return RK_OK;
	}
	if (have_n && same(r->prev, n.hash) && intact_as(r, n.seq) &&
	    same(n.prev, w->p_hash) && intact_as(&n, r->seq)) {
		problem(v, r->seq, "records %llu and %llu: swapped (each holds what was written "
				   "as the other)",
			(unsigned long long)r->seq, (unsigned long long)n.seq);
		return RK_OK;
	}
	if (!self_ok && !link_ok && intact_as(r, r->seq + 1)) {
		problem(v, r->seq, "record %llu: does not follow %s (a record was removed and the "
				   "later ones renumbered: this one was written as record %llu)",
			(unsigned long long)r->seq, name_of(p, b1),
			(unsigned long long)r->seq + 1);
		return RK_OK;
	}
	if (!self_ok && link_ok)
		problem(v, r->seq, "record %llu: content does not match its hash (modified)",
			(unsigned long long)r->seq);
	else if (self_ok)
		problem(v, r->seq, "record %llu: does not follow %s (%s was replaced, or records "
				   "between them were removed and this one's hash recomputed)",
			(unsigned long long)r->seq, name_of(p, b1), name_of(p, b2));
	else
		problem(v, r->seq, "record %llu: content does not match its hash and it does not "
				   "follow %s (modified or moved)",
			(unsigned long long)r->seq, name_of(p, b1));
	return RK_OK;
}

/* ---------------------------------------------------------------- blocks */

static void blk_problem(walk *w, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The first readers index problem, kept until the heads are checked. */
static void blk_problem(walk *w, uint64_t seq, const char *fmt, ...)
{
	va_list ap;
	if (w->blk_bad)
		return;
	w->blk_bad = true;
	w->blk_seq = seq;
	va_start(ap, fmt);
	vsnprintf(w->blk_msg, sizeof w->blk_msg, fmt, ap);
	va_end(ap);
}

/* "records A to B" or "record A". */
static const char *span(uint64_t a, uint64_t b, char buf[64])
{
	if (a == b)
		snprintf(buf, 64, "record %llu", (unsigned long long)a);
	else
		snprintf(buf, 64, "records %llu to %llu", (unsigned long long)a,
			 (unsigned long long)b);
	return buf;
}

/* Reads the rows and checks that they tile the log from record 1. */
static rk_err load_rows(walk *w, rk_errctx *ctx)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	uint64_t prev_first = 0, prev_last = 0;
	char b[64];
	int rc = sqlite3_prepare_v2(w->db, "SELECT first_seq, last_seq, n_ids FROM audit_blocks "
					   "ORDER BY first_seq",
				    -1, &s, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		sqlite3_int64 f = sqlite3_column_int64(s, 0), l = sqlite3_column_int64(s, 1),
			      n = sqlite3_column_int64(s, 2);
		vblock r = {f > 0 ? (uint64_t)f : 0, l > 0 ? (uint64_t)l : 0,
			    n > 0 ? (uint64_t)n : 0};
		rc = SQLITE_OK;
		if (f < 1 || l < f)
			blk_problem(w, 0, "block starting at record %lld: ends at record %lld, "
					  "before it starts (a block row changed)",
				    (long long)f, (long long)l);
		else if (w->n_rows && r.first <= prev_last)
			blk_problem(w, r.first, "block starting at record %llu: overlaps the block "
						"starting at record %llu (a block row inserted)",
				    (unsigned long long)r.first, (unsigned long long)prev_first);
		else if (r.first > prev_last + 1)
			blk_problem(w, prev_last + 1, "%s: in no block of the readers index (a "
						      "block row removed)",
				    span(prev_last + 1, r.first - 1, b));
		if (w->n_rows == cap) {
			size_t nc = cap ? 2 * cap : 64;
			vblock *v = realloc(w->row, nc * sizeof *v);
			if (!v) {
				sqlite3_finalize(s);
				return rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
			}
			w->row = v;
			cap = nc;
		}
		w->row[w->n_rows++] = r;
		prev_first = r.first;
		if (r.last > prev_last)
			prev_last = r.last;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return audit_sq_err(w->db, rc, ctx, "reading the readers index");
	return RK_OK;
}

/* The walk enters row bi: its stored filter. */
static rk_err enter_row(walk *w, rk_errctx *ctx)
{
	sqlite3_stmt *s = w->bloom_of;
	free(w->bloom);
	w->bloom = NULL;
	w->bloom_bytes = 0;
	sqlite3_reset(s);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)w->row[w->bi].first);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return audit_sq_err(w->db, rc, ctx, "reading a block's filter");
	int n = sqlite3_column_bytes(s, 0);
	const void *p = sqlite3_column_blob(s, 0);
	if (n > 0 && p) {
		if (!(w->bloom = malloc((size_t)n)))
			return rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
		memcpy(w->bloom, p, (size_t)n);
		w->bloom_bytes = (size_t)n;
	}
	sqlite3_reset(s);
	return RK_OK;
}

/* One intact record, in number order: its block's checks. */
static rk_err check_blocks(walk *w, const audit_record *r, rk_errctx *ctx)
{
	char b[64];
	rk_err err;

	if (w->blk_bad || !w->blocks)
		return RK_OK;
	bool in_row = w->bi < w->n_rows;
	if (in_row && r->seq == w->row[w->bi].first) {
		if ((err = enter_row(w, ctx)))
			return err;
		audit_blk_restart(&w->acc, r->seq);
	}
	size_t from = w->acc.n_ids;
	if (audit_blk_add(&w->acc, r->ids))
		return rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
	if (!in_row) {
		/* the unfinished block */
		if (audit_blk_full(&w->acc))
			blk_problem(w, w->acc.first_seq,
				    "%s: in no block of the readers index (a block row removed)",
				    span(w->acc.first_seq, r->seq, b));
		return RK_OK;
	}
	const vblock *row = &w->row[w->bi];
	for (size_t i = from; i < w->acc.n_ids; i++)
		if (!audit_bloom_has(w->bloom, w->bloom_bytes, w->acc.idh[i])) {
			blk_problem(w, r->seq, "block starting at record %llu: its filter lacks ids "
					       "of record %llu (reads hidden from `audit readers`)",
				    (unsigned long long)row->first, (unsigned long long)r->seq);
			return RK_OK;
		}
	bool full = audit_blk_full(&w->acc);
	if (full && r->seq < row->last) {
		blk_problem(w, row->first, "block starting at record %llu: full at record %llu but "
					   "ends at record %llu (block rows changed)",
			    (unsigned long long)row->first, (unsigned long long)r->seq,
			    (unsigned long long)row->last);
		return RK_OK;
	}
	if (r->seq < row->last)
		return RK_OK;
	/* the row's last record */
	if (!full) {
		blk_problem(w, row->first, "block starting at record %llu: ends at record %llu "
					   "before it is full (a block row inserted or changed)",
			    (unsigned long long)row->first, (unsigned long long)row->last);
		return RK_OK;
	}
	if (row->n_ids != w->acc.n_ids) {
		blk_problem(w, row->first, "block starting at record %llu: says %llu ids, its "
					   "records name %llu (modified)",
			    (unsigned long long)row->first, (unsigned long long)row->n_ids,
			    (unsigned long long)w->acc.n_ids);
		return RK_OK;
	}
	size_t bytes = 0;
	unsigned char *want = audit_bloom_build(w->acc.idh, w->acc.n_ids, &bytes);
	if (!want)
		return rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
	if (bytes != w->bloom_bytes || memcmp(want, w->bloom, bytes) != 0)
		blk_problem(w, row->first, "block starting at record %llu: its filter does not "
					   "match its records (modified)",
			    (unsigned long long)row->first);
	free(want);
	w->bi++;
	audit_blk_restart(&w->acc, r->seq + 1);
	return RK_OK;
}

/* ---------------------------------------------------------------- heads */

/* The log must reach `h` and pass through it. `what` names where h came
 * from. */
static rk_err check_head(walk *w, const audit_head *h, const char *what, rk_errctx *ctx)
{
	audit_verdict *v = w->v;
	unsigned char at[AUDIT_HASH_BYTES] = {0};

	if (v->last_seq < h->seq) {
		problem(v, v->last_seq + 1, "the log ends at record %llu but was last seen at %llu "
					    "(records removed from the end)",
			(unsigned long long)v->last_seq, (unsigned long long)h->seq);
		return RK_OK;
	}
	if (h->seq > 0) {
		sqlite3_stmt *s = NULL;
		int rc = sqlite3_prepare_v2(w->db, "SELECT hash FROM audit WHERE seq = ?", -1, &s,
					    NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(s, 1, (sqlite3_int64)h->seq);
			rc = sqlite3_step(s);
		}
		if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 0) == AUDIT_HASH_BYTES)
			memcpy(at, sqlite3_column_blob(s, 0), AUDIT_HASH_BYTES);
		else
			memset(at, 0xff, sizeof at);
		sqlite3_finalize(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return audit_sq_err(w->db, rc, ctx, "reading a head record");
	}
	if (!same(at, h->hash))
		problem(v, h->seq, "record %llu: hash does not match %s (the chain was "
				   "recomputed at or before this record)",
			(unsigned long long)h->seq, what);
	return RK_OK;
}

/* ---------------------------------------------------------------- verify */

rk_err audit_verify(audit *a, const audit_head *expect, audit_verdict *v,
		    rk_errctx *ctx)
{
	walk w = {.v = v};
	audit_blk_init(&w.acc, 1);
	sqlite3_stmt *s = NULL;
	rk_errctx actx;
	rk_err err;
	int rc;

	memset(v, 0, sizeof *v);
	v->intact = true;
	/* audit.head before the records (opening comment). */
	rk_errctx_clear(&actx);
	err = audit_anchor_read(a->headpath, &v->have_anchor, &v->anchor, &actx);
	if (err == RK_EINVAL) {
		problem(v, 0, "%s: %s", AUDIT_HEAD_FILE, actx.msg);
	} else if (err) {
		*ctx = actx;
		return err;
	}
	if ((err = audit_reader_open(a, &w.db, ctx)))
		return err;
	if (sqlite3_exec(w.db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		err = audit_sq_err(w.db, SQLITE_ERROR, ctx, "starting a read");
		goto out;
	}
	rc = sqlite3_prepare_v2(w.db, "SELECT " AUDIT_COLUMNS " FROM audit ORDER BY seq", -1, &s,
				NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(w.db,
					"SELECT " AUDIT_COLUMNS " FROM audit WHERE seq > ? "
					"ORDER BY seq LIMIT 1",
					-1, &w.next_row, NULL);
	w.blocks = a->version >= AUDIT_SCHEMA_VERSION;
	if (rc == SQLITE_OK && w.blocks)
		rc = sqlite3_prepare_v2(w.db, "SELECT bloom FROM audit_blocks WHERE first_seq = ?",
					-1, &w.bloom_of, NULL);
	if (rc != SQLITE_OK) {
		err = audit_sq_err(w.db, rc, ctx, "preparing the walk");
		goto out;
	}
	if (w.blocks && (err = load_rows(&w, ctx)))
		goto out;
	bool chain_ok = true;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		audit_record r;
		audit_row_record(s, 0, &r);
		v->records++;
		v->last_seq = r.seq;
		memcpy(v->last_hash, r.hash, AUDIT_HASH_BYTES);
		if (!chain_ok)
			continue; /* count the rest; the first problem is named */
		if (r.seq != w.p_seq + 1 || !same(r.prev, w.p_hash) || !intact_as(&r, r.seq)) {
			chain_ok = false;
			/* A problem in the chain is named before one found so
			 * far in audit.head. */
			v->intact = true;
			v->message[0] = '\0';
			if ((err = diagnose(&w, &r, ctx)))
				goto out;
			continue;
		}
		if ((err = check_blocks(&w, &r, ctx)))
			goto out;
		w.pp_seq = w.p_seq;
		memcpy(w.pp_hash, w.p_hash, AUDIT_HASH_BYTES);
		w.have_pp = true;
		w.p_seq = r.seq;
		memcpy(w.p_hash, r.hash, AUDIT_HASH_BYTES);
	}
	if (rc != SQLITE_DONE) {
		err = audit_sq_err(w.db, rc, ctx, "reading the log");
		goto out;
	}
	if (!v->have_anchor && !v->message[0])
		problem(v, 0, "%s is missing: the end of the log cannot be checked "
			      "(records may have been removed from the end)",
			AUDIT_HEAD_FILE);
	if (v->have_anchor && (err = check_head(&w, &v->anchor, AUDIT_HEAD_FILE, ctx)))
		goto out;
	if (expect && (err = check_head(&w, expect, "the head given", ctx)))
		goto out;
	if (chain_ok && !w.blk_bad && w.bi < w.n_rows)
		blk_problem(&w, w.row[w.bi].first, "block starting at record %llu: ends at record "
						   "%llu, after the last record (%llu)",
			    (unsigned long long)w.row[w.bi].first,
			    (unsigned long long)w.row[w.bi].last, (unsigned long long)v->last_seq);
	if (chain_ok && w.blk_bad)
		problem(v, w.blk_seq, "%s", w.blk_msg);
	err = RK_OK;
out:
	sqlite3_finalize(s);
	sqlite3_finalize(w.next_row);
	sqlite3_finalize(w.bloom_of);
	if (w.db)
		sqlite3_exec(w.db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(w.db);
	free(w.row);
	free(w.bloom);
	audit_blk_cleanup(&w.acc);
	return err;
}
