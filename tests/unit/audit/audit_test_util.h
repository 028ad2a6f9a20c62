/*
 * audit_test_util.h: helpers shared by the audit unit tests (header-only:
 * each test_*.c is its own program).
 *
 * A log lives in a directory under /tmp (mkdtemp), removed afterwards.
 * tu_build writes a known log of n records through the real writer;
 * tu_copy copies a closed log (audit.db and audit.head) so that each test
 * tampers with its own copy; tu_sql runs raw SQL on a copy, as someone
 * with the file would.
 */
#ifndef AUDIT_TEST_UTIL_H
#define AUDIT_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "audit.h"

static inline char *tu_tmpdir(void)
{
	char tmpl[] = "/tmp/renkei-audit-XXXXXX";
	char *d = mkdtemp(tmpl);
	return d ? strdup(d) : NULL;
}

static const char *const tu_files[] = {"audit.db", "audit.db-wal", "audit.db-shm",
				       "audit.head", "audit.head.tmp"};

static inline void tu_rmdir(char *dir)
{
	char p[512];
	if (!dir)
		return;
	for (size_t i = 0; i < sizeof tu_files / sizeof tu_files[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, tu_files[i]);
		unlink(p);
	}
	rmdir(dir);
	free(dir);
}

static inline int tu_copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = NULL;
	char buf[65536];
	size_t n;
	int rc = -1;
	if (!in)
		return 1; /* absent: nothing to copy */
	out = fopen(to, "wb");
	if (!out)
		goto done;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			goto done;
	rc = 0;
done:
	fclose(in);
	if (out && fclose(out) != 0)
		rc = -1;
	return rc;
}

/* A new directory holding a copy of the (closed) log in `dir`. */
static inline char *tu_copy(const char *dir)
{
	char *copy = tu_tmpdir();
	char a[512], b[512];
	if (!copy)
		return NULL;
	for (size_t i = 0; i < sizeof tu_files / sizeof tu_files[0]; i++) {
		snprintf(a, sizeof a, "%s/%s", dir, tu_files[i]);
		snprintf(b, sizeof b, "%s/%s", copy, tu_files[i]);
		if (tu_copy_file(a, b) < 0) {
			tu_rmdir(copy);
			return NULL;
		}
	}
	return copy;
}

/* Runs SQL on dir/audit.db directly; returns sqlite3_exec's code. */
static inline int tu_sql(const char *dir, const char *sql)
{
	char p[512];
	sqlite3 *db = NULL;
	snprintf(p, sizeof p, "%s/audit.db", dir);
	int rc = sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "tu_sql: %s: %s\n", sql, db ? sqlite3_errmsg(db) : "?");
	sqlite3_close(db);
	return rc;
}

/* Object id number k: "indicator--00000000-0000-4000-8000-<k>". */
static inline void tu_id(char *out, size_t len, unsigned k)
{
	snprintf(out, len, "indicator--00000000-0000-4000-8000-%012u", k);
}

/*
 * Record i (from 1) of the known log: user u<i%4> of organisation
 * org<i%3> (every 5th anonymous), GET of object i%7+1 and i%7+2 in
 * collection "c<i%2>", POST every 3rd; at = 1,700,000,000 s + i seconds.
 */
static inline void tu_record(unsigned i, audit_record *r, char user[32], char org[32],
			     char coll[32], char ids[256])
{
	char a[96], b[96];
	memset(r, 0, sizeof *r);
	snprintf(user, 32, "u%u", i % 4);
	snprintf(org, 32, "org%u", i % 3);
	snprintf(coll, 32, "c%u", i % 2);
	tu_id(a, sizeof a, i % 7 + 1);
	tu_id(b, sizeof b, i % 7 + 2);
	snprintf(ids, 256, "%s\n%s", a, b);
	r->at = 1700000000LL * 1000000 + (rk_time)i * 1000000;
	r->user = i % 5 ? user : NULL;
	r->org = i % 5 ? org : NULL;
	r->method = i % 3 ? "GET" : "POST";
	r->route = "/gov/collections/c/objects/";
	r->api_root = "gov";
	r->collection = coll;
	r->ids = ids;
	r->status = i % 3 ? 200 : 202;
	r->outcome = "ok";
}

/* Writes the known log of n records into dir (created by the writer). */
static inline int tu_build(const char *dir, unsigned n)
{
	audit *a = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	if (audit_open(dir, NULL, &a, &ctx) != RK_OK) {
		fprintf(stderr, "tu_build: %s\n", ctx.msg);
		return -1;
	}
	for (unsigned i = 1; i <= n; i++) {
		audit_record r;
		char user[32], org[32], coll[32], ids[256];
		tu_record(i, &r, user, org, coll, ids);
		if (audit_append(a, &r, i % 2 == 0, &ctx) != RK_OK) {
			fprintf(stderr, "tu_build: %s\n", ctx.msg);
			audit_close(a);
			return -1;
		}
	}
	audit_close(a);
	return 0;
}

/* audit_verify on a read-only handle; fails the test on errors. */
static inline int tu_verify(const char *dir, const audit_head *expect, audit_verdict *v)
{
	audit *a = NULL;
	audit_options ro = {.read_only = true};
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	int rc = audit_open(dir, &ro, &a, &ctx) == RK_OK &&
			 audit_verify(a, expect, v, &ctx) == RK_OK
		 ? 0
		 : -1;
	if (rc)
		fprintf(stderr, "tu_verify: %s: %s\n", ctx.path, ctx.msg);
	audit_close(a);
	return rc;
}

#endif
