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
 * or the chain was recomputed); the same for a head given by the caller;
 * and the readers index must hold exactly one entry per (object id,
 * record) of the records, no more and no less (checked only when the chain
 * is intact: the chain is what is reported first).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit_int.h"

typedef struct walk {
	audit_verdict *v;
	sqlite3 *db;
	sqlite3_stmt *next_row; /* the row after a given number */
	sqlite3_stmt *ix_has;   /* (idh, seq) in the readers index */
	uint64_t p_seq, pp_seq;
	unsigned char p_hash[AUDIT_HASH_BYTES], pp_hash[AUDIT_HASH_BYTES];
	bool have_pp;
	/* readers index check */
	int64_t *idh;
	size_t n_idh, cap_idh;
	bool oom;
	uint64_t ix_expected;
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

/* ---------------------------------------------------------------- index */

static void collect_idh(void *arg, const char *id, size_t len)
{
	walk *w = arg;
	if (w->n_idh == w->cap_idh) {
		size_t cap = w->cap_idh ? 2 * w->cap_idh : 256;
		int64_t *p = realloc(w->idh, cap * sizeof *p);
		if (!p) {
			w->oom = true;
			return;
		}
		w->idh = p;
		w->cap_idh = cap;
	}
	w->idh[w->n_idh++] = audit_idh(id, len);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Every id of an intact record has its readers index entry. */
static rk_err check_index(walk *w, const audit_record *r, rk_errctx *ctx)
{
	w->n_idh = 0;
	audit_ids_each(r->ids, collect_idh, w);
	if (w->oom)
		return rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
	if (w->n_idh)
		qsort(w->idh, w->n_idh, sizeof *w->idh, cmp_i64);
	for (size_t i = 0; i < w->n_idh; i++) {
		if (i && w->idh[i] == w->idh[i - 1])
			continue;
		w->ix_expected++;
		sqlite3_stmt *s = w->ix_has;
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, w->idh[i]);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)r->seq);
		int rc = sqlite3_step(s);
		if (rc == SQLITE_DONE) {
			problem(w->v, r->seq, "record %llu: an object it names is missing from the "
					      "readers index (reads hidden from `audit readers`)",
				(unsigned long long)r->seq);
			return RK_OK;
		}
		if (rc != SQLITE_ROW)
			return audit_sq_err(w->db, rc, ctx, "reading the readers index");
	}
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
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(w.db, "SELECT 1 FROM audit_ix WHERE idh = ? AND seq = ?",
					-1, &w.ix_has, NULL);
	if (rc != SQLITE_OK) {
		err = audit_sq_err(w.db, rc, ctx, "preparing the walk");
		goto out;
	}
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
			 * far in audit.head or the readers index. */
			v->intact = true;
			v->message[0] = '\0';
			if ((err = diagnose(&w, &r, ctx)))
				goto out;
			continue;
		}
		if (v->intact && (err = check_index(&w, &r, ctx)))
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
	if (v->intact) {
		int64_t entries = 0;
		sqlite3_stmt *c = NULL;
		rc = sqlite3_prepare_v2(w.db, "SELECT count(*) FROM audit_ix", -1, &c, NULL);
		if (rc == SQLITE_OK && (rc = sqlite3_step(c)) == SQLITE_ROW)
			entries = sqlite3_column_int64(c, 0);
		sqlite3_finalize(c);
		if (rc != SQLITE_ROW) {
			err = audit_sq_err(w.db, rc, ctx, "counting the readers index");
			goto out;
		}
		if ((uint64_t)entries != w.ix_expected)
			problem(v, 0, "the readers index has %lld entries but the records name "
				      "%llu (entries added or removed outside the hub)",
				(long long)entries, (unsigned long long)w.ix_expected);
	}
	err = RK_OK;
out:
	sqlite3_finalize(s);
	sqlite3_finalize(w.next_row);
	sqlite3_finalize(w.ix_has);
	if (w.db)
		sqlite3_exec(w.db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(w.db);
	free(w.idh);
	return err;
}
