/*
 * test_audit_verify.c: audit_verify finds and places every kind of
 * tampering.
 *
 * One known log of 10 records (2 ids each) is written through the real
 * writer, with blocks of the readers index lowered to 6 ids, so that it
 * has three blocks (records 1-3, 4-6, 7-9) and an unfinished one (10);
 * each case copies it, tampers with the copy through raw SQL (or, for the
 * cases that need a correct hash, through SQL plus the module's own hash
 * function, as an adversary who read the source would), and checks the
 * exact message and the record it names. The table covers records changed
 * in place, removed (middle, start, end, renumbered after), inserted,
 * swapped, and the readers index's block rows (a filter emptied or with
 * bits added, rows removed, inserted, merged, counts changed); the
 * functions after it cover forged hashes, a recomputed chain, audit.head
 * removed or rewritten, an outside head (--head), and a writer refusing
 * to add to a tampered log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "audit_int.h"
#include "audit_test_util.h"

#define N_RECORDS 10

static char *base;
static audit_verdict base_v;

#define BLOCK_IDS 6

static int setup(void **state)
{
	(void)state;
	audit_block_ids = BLOCK_IDS;
	base = tu_tmpdir();
	if (!base || tu_build(base, N_RECORDS) != 0)
		return -1;
	return tu_verify(base, NULL, &base_v);
}

static int teardown(void **state)
{
	(void)state;
	tu_rmdir(base);
	return 0;
}

static void test_intact(void **state)
{
	(void)state;
	assert_true(base_v.intact);
	assert_string_equal(base_v.message, "");
	assert_int_equal(base_v.records, N_RECORDS);
	assert_int_equal(base_v.last_seq, N_RECORDS);
	assert_true(base_v.have_anchor);
	assert_int_equal(base_v.anchor.seq, N_RECORDS);
	assert_memory_equal(base_v.anchor.hash, base_v.last_hash, AUDIT_HASH_BYTES);
	assert_int_equal(base_v.problem_seq, 0);

	/* the readers index: three full blocks of 6 ids, 2 words of filter
	 * each (16 bits per id); record 10 is the unfinished block */
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char p[512];
	snprintf(p, sizeof p, "%s/audit.db", base);
	assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT group_concat(first_seq || '-' || last_seq || ':' "
					    "|| n_ids || ':' || length(bloom), ' ') FROM "
					    "(SELECT * FROM audit_blocks ORDER BY first_seq)",
					    -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "1-3:6:16 4-6:6:16 7-9:6:16");
	sqlite3_finalize(s);
	sqlite3_close(db);
}

typedef struct tamper_case {
	const char *what;
	const char *sql;
	const char *message;
	uint64_t problem_seq;
} tamper_case;

/* Columns of a forged copy of record 4 as record 5 (after renumbering). */
#define FORGE_5                                                               \
	"INSERT INTO audit(" AUDIT_COLUMNS ") SELECT 5, at, 'mallory', org, "   \
	"method, route, api_root, collection, ids, status, outcome, hash, "     \
	"randomblob(32) FROM audit WHERE seq = 4;"
#define RENUMBER_FROM_5_UP                                                    \
	"UPDATE audit SET seq = -seq WHERE seq >= 5;"                           \
	"UPDATE audit SET seq = -seq + 1 WHERE seq < 0;"

static const tamper_case cases[] = {
	{"a field changed", "UPDATE audit SET method = 'DELETE' WHERE seq = 5",
	 "record 5: content does not match its hash (modified)", 5},
	{"anonymous made named", "UPDATE audit SET user = 'mallory' WHERE seq = 5",
	 "record 5: content does not match its hash (modified)", 5},
	{"NULL made empty (they hash differently)", "UPDATE audit SET org = '' WHERE seq = 10",
	 "record 10: content does not match its hash (modified)", 10},
	{"an id removed from a record",
	 "UPDATE audit SET ids = substr(ids, 1, instr(ids, char(10)) - 1) WHERE seq = 7",
	 "record 7: content does not match its hash (modified)", 7},
	{"the time moved", "UPDATE audit SET at = at + 1 WHERE seq = 1",
	 "record 1: content does not match its hash (modified)", 1},
	{"the hash replaced", "UPDATE audit SET hash = randomblob(32) WHERE seq = 4",
	 "record 4: content does not match its hash (modified)", 4},
	{"prev replaced", "UPDATE audit SET prev = randomblob(32) WHERE seq = 4",
	 "record 4: content does not match its hash and it does not follow record 3 "
	 "(modified or moved)",
	 4},
	{"a record removed", "DELETE FROM audit WHERE seq = 5",
	 "record 6: does not follow record 4 (a record was removed)", 6},
	{"three records removed", "DELETE FROM audit WHERE seq BETWEEN 4 AND 6",
	 "record 7: does not follow record 3 (records 4 to 6 were removed)", 7},
	{"the first record removed", "DELETE FROM audit WHERE seq = 1",
	 "record 2: the log starts here, not at record 1 (records removed from the start)", 2},
	{"a record removed, the rest renumbered",
	 "DELETE FROM audit WHERE seq = 5;"
	 "UPDATE audit SET seq = -seq WHERE seq > 5;"
	 "UPDATE audit SET seq = -seq - 1 WHERE seq < 0;",
	 "record 5: does not follow record 4 (a record was removed and the later ones "
	 "renumbered: this one was written as record 6)",
	 5},
	{"the last record removed", "DELETE FROM audit WHERE seq = 10",
	 "the log ends at record 9 but was last seen at 10 (records removed from the end)", 10},
	{"the last two removed", "DELETE FROM audit WHERE seq > 8",
	 "the log ends at record 8 but was last seen at 10 (records removed from the end)", 9},
	{"every record removed", "DELETE FROM audit",
	 "the log ends at record 0 but was last seen at 10 (records removed from the end)", 1},
	{"a record inserted (its hash made up)", RENUMBER_FROM_5_UP FORGE_5,
	 "record 5: inserted (record 6 was written as record 5, right after record 4)", 5},
	{"two records swapped",
	 "UPDATE audit SET seq = -1 WHERE seq = 5; UPDATE audit SET seq = 5 WHERE seq = 6;"
	 "UPDATE audit SET seq = 6 WHERE seq = -1;",
	 "records 5 and 6: swapped (each holds what was written as the other)", 5},
	{"the first two swapped",
	 "UPDATE audit SET seq = -1 WHERE seq = 1; UPDATE audit SET seq = 1 WHERE seq = 2;"
	 "UPDATE audit SET seq = 2 WHERE seq = -1;",
	 "records 1 and 2: swapped (each holds what was written as the other)", 1},
	{"a block's filter emptied (reads hidden from the readers query)",
	 "UPDATE audit_blocks SET bloom = zeroblob(length(bloom)) WHERE first_seq = 4",
	 "block starting at record 4: its filter lacks ids of record 4 (reads hidden from "
	 "`audit readers`)",
	 4},
	{"a block's filter cut short",
	 "UPDATE audit_blocks SET bloom = substr(bloom, 1, 8) WHERE first_seq = 7",
	 "block starting at record 7: its filter lacks ids of record 8 (reads hidden from "
	 "`audit readers`)",
	 8},
	{"a block row removed", "DELETE FROM audit_blocks WHERE first_seq = 4",
	 "records 4 to 6: in no block of the readers index (a block row removed)", 4},
	{"the first block row removed", "DELETE FROM audit_blocks WHERE first_seq = 1",
	 "records 1 to 3: in no block of the readers index (a block row removed)", 1},
	{"the last block row removed", "DELETE FROM audit_blocks WHERE first_seq = 7",
	 "records 7 to 9: in no block of the readers index (a block row removed)", 7},
	{"every block row removed", "DELETE FROM audit_blocks",
	 "records 1 to 3: in no block of the readers index (a block row removed)", 1},
	{"a block row cut short", "UPDATE audit_blocks SET last_seq = 5 WHERE first_seq = 4",
	 "record 6: in no block of the readers index (a block row removed)", 6},
	{"a block row inserted",
	 "INSERT INTO audit_blocks SELECT 5, 6, n_ids, bloom FROM audit_blocks WHERE first_seq = 4",
	 "block starting at record 5: overlaps the block starting at record 4 (a block row "
	 "inserted)",
	 5},
	{"a block row inserted for the unfinished block",
	 "INSERT INTO audit_blocks VALUES (10, 10, 2, zeroblob(8))",
	 "block starting at record 10: its filter lacks ids of record 10 (reads hidden from "
	 "`audit readers`)",
	 10},
	{"two block rows merged",
	 "DELETE FROM audit_blocks WHERE first_seq = 4;"
	 "UPDATE audit_blocks SET last_seq = 6 WHERE first_seq = 1",
	 "block starting at record 1: full at record 3 but ends at record 6 (block rows "
	 "changed)",
	 1},
	{"a block's count changed", "UPDATE audit_blocks SET n_ids = 7 WHERE first_seq = 4",
	 "block starting at record 4: says 7 ids, its records name 6 (modified)", 4},
	{"a block row past the end of the log",
	 "UPDATE audit_blocks SET last_seq = 12 WHERE first_seq = 7",
	 "block starting at record 7: full at record 9 but ends at record 12 (block rows "
	 "changed)",
	 7},
};

static void test_table(void **state)
{
	(void)state;
	int failures = 0;

	for (size_t i = 0; i < RK_ARRAY_LEN(cases); i++) {
		const tamper_case *c = &cases[i];
		audit_verdict v;
		char *copy = tu_copy(base);
		assert_non_null(copy);
		assert_int_equal(tu_sql(copy, c->sql), SQLITE_OK);
		assert_int_equal(tu_verify(copy, NULL, &v), 0);
		if (v.intact || strcmp(v.message, c->message) != 0 ||
		    v.problem_seq != c->problem_seq) {
			print_error("%s:\n  got  %s (at %llu)\n  want %s (at %llu)\n", c->what,
				    v.intact ? "intact" : v.message,
				    (unsigned long long)v.problem_seq, c->message,
				    (unsigned long long)c->problem_seq);
			failures++;
		}
		tu_rmdir(copy);
	}
	assert_int_equal(failures, 0);
}

/* ---------------------------------------------------------------- forged hashes */

/* Reads record `seq` of dir's log into *r (strings into the statement,
 * which *s keeps open) */
static sqlite3 *open_db(const char *dir)
{
	char p[512];
	sqlite3 *db = NULL;
	snprintf(p, sizeof p, "%s/audit.db", dir);
	assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	return db;
}

static void get_hash(sqlite3 *db, uint64_t seq, unsigned char out[AUDIT_HASH_BYTES])
{
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT hash FROM audit WHERE seq = ?", -1, &s,
					    NULL),
			 SQLITE_OK);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)seq);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_bytes(s, 0), AUDIT_HASH_BYTES);
	memcpy(out, sqlite3_column_blob(s, 0), AUDIT_HASH_BYTES);
	sqlite3_finalize(s);
}

static void put_record(sqlite3 *db, const audit_record *r)
{
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(db,
					    "INSERT OR REPLACE INTO audit(" AUDIT_COLUMNS ") "
					    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
					    -1, &s, NULL),
			 SQLITE_OK);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)r->seq);
	sqlite3_bind_int64(s, 2, r->at);
	const char *t[] = {r->user, r->org, r->method, r->route, r->api_root, r->collection,
			   r->ids ? r->ids : ""};
	for (int i = 0; i < 7; i++) {
		if (t[i])
			sqlite3_bind_text(s, 3 + i, t[i], -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(s, 3 + i);
	}
	sqlite3_bind_int64(s, 10, r->status);
	sqlite3_bind_text(s, 11, r->outcome, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 12, r->prev, AUDIT_HASH_BYTES, SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 13, r->hash, AUDIT_HASH_BYTES, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
}

/*
 * Rewrites records from..to (inclusive) as an adversary with the source
 * would: record `from` gets user "mallory", and each record's prev and
 * hash are recomputed so that the chain holds from `from` to `to`.
 */
static void rewrite(const char *dir, uint64_t from, uint64_t to)
{
	sqlite3 *db = open_db(dir);
	unsigned char prev[AUDIT_HASH_BYTES];
	get_hash(db, from - 1, prev);
	for (uint64_t seq = from; seq <= to; seq++) {
		sqlite3_stmt *s = NULL;
		audit_record r;
		assert_int_equal(sqlite3_prepare_v2(db,
						    "SELECT " AUDIT_COLUMNS
						    " FROM audit WHERE seq = ?",
						    -1, &s, NULL),
				 SQLITE_OK);
		sqlite3_bind_int64(s, 1, (sqlite3_int64)seq);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		audit_row_record(s, 0, &r);
		if (seq == from)
			r.user = "mallory";
		memcpy(r.prev, prev, AUDIT_HASH_BYTES);
		audit_record_hash(prev, &r, r.hash);
		memcpy(prev, r.hash, AUDIT_HASH_BYTES);
		put_record(db, &r);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
}

static void expect_problem(const char *dir, const audit_head *expect, const char *message,
			   uint64_t seq)
{
	audit_verdict v;
	assert_int_equal(tu_verify(dir, expect, &v), 0);
	assert_false(v.intact);
	assert_string_equal(v.message, message);
	assert_int_equal(v.problem_seq, seq);
}

static void test_inserted_with_correct_hash(void **state)
{
	(void)state;
	char *copy = tu_copy(base);
	assert_non_null(copy);
	assert_int_equal(tu_sql(copy, RENUMBER_FROM_5_UP FORGE_5), SQLITE_OK);
	/* now give the forged record 5 the hash the chain wants */
	rewrite(copy, 5, 5);
	expect_problem(copy, NULL,
		       "record 5: inserted (record 6 was written as record 5, right after record 4)",
		       5);
	tu_rmdir(copy);
}

static void test_modified_with_own_hash_recomputed(void **state)
{
	(void)state;
	char *copy = tu_copy(base);
	assert_non_null(copy);
	rewrite(copy, 5, 5);
	expect_problem(copy, NULL,
		       "record 6: does not follow record 5 (record 5 was replaced, or records "
		       "between them were removed and this one's hash recomputed)",
		       6);
	tu_rmdir(copy);
}

static void test_chain_recomputed(void **state)
{
	(void)state;
	char *copy = tu_copy(base);
	assert_non_null(copy);
	rewrite(copy, 3, N_RECORDS);
	expect_problem(copy, NULL,
		       "record 10: hash does not match audit.head (the chain was recomputed at "
		       "or before this record)",
		       10);

	/* The same, with audit.head rewritten to match: out of reach of the
	 * log alone (the documented limit)... */
	audit_verdict v;
	audit_head h = {.seq = N_RECORDS};
	sqlite3 *db = open_db(copy);
	get_hash(db, N_RECORDS, h.hash);
	sqlite3_close(db);
	char path[512];
	snprintf(path, sizeof path, "%s/audit.head", copy);
	assert_int_equal(audit_anchor_write(path, &h, NULL), RK_OK);
	assert_int_equal(tu_verify(copy, NULL, &v), 0);
	assert_true(v.intact);
	/* ...but not of a head kept elsewhere (an "audit_head" log line). */
	audit_head outside = base_v.anchor;
	expect_problem(copy, &outside,
		       "record 10: hash does not match the head given (the chain was recomputed "
		       "at or before this record)",
		       10);
	tu_rmdir(copy);
}

static void test_truncated_head_rewritten(void **state)
{
	(void)state;
	char *copy = tu_copy(base);
	char path[512], hex[AUDIT_HASH_HEX], text[128];
	audit_head h = {.seq = 8}, parsed;
	audit_verdict v;

	assert_non_null(copy);
	assert_int_equal(tu_sql(copy, "DELETE FROM audit WHERE seq > 8"), SQLITE_OK);
	sqlite3 *db = open_db(copy);
	get_hash(db, 8, h.hash);
	sqlite3_close(db);
	snprintf(path, sizeof path, "%s/audit.head", copy);
	assert_int_equal(audit_anchor_write(path, &h, NULL), RK_OK);
	/* the block of records 7 to 9 still reaches record 9 */
	expect_problem(copy, NULL,
		       "block starting at record 7: ends at record 9, after the last record (8)",
		       7);
	/* a careful adversary: the block rows of the removed records go too */
	assert_int_equal(tu_sql(copy, "DELETE FROM audit_blocks WHERE last_seq > 8"), SQLITE_OK);
	assert_int_equal(tu_verify(copy, NULL, &v), 0);
	assert_true(v.intact);
	assert_int_equal(v.last_seq, 8);

	/* The head as `renkei audit verify --head` takes it. */
	audit_hash_hex(base_v.anchor.hash, hex);
	snprintf(text, sizeof text, "%llu:%s", (unsigned long long)base_v.anchor.seq, hex);
	assert_true(audit_head_parse(text, &parsed));
	assert_int_equal(parsed.seq, N_RECORDS);
	assert_memory_equal(parsed.hash, base_v.anchor.hash, AUDIT_HASH_BYTES);
	expect_problem(copy, &parsed,
		       "the log ends at record 8 but was last seen at 10 (records removed from "
		       "the end)",
		       9);
	assert_false(audit_head_parse("10", &parsed));
	assert_false(audit_head_parse("x:00", &parsed));
	hex[10] = 'g';
	snprintf(text, sizeof text, "10:%s", hex);
	assert_false(audit_head_parse(text, &parsed));
	tu_rmdir(copy);
}

static void test_head_missing_or_damaged(void **state)
{
	(void)state;
	char *copy = tu_copy(base);
	char path[512];
	audit *a = NULL;
	rk_errctx ctx;

	assert_non_null(copy);
	snprintf(path, sizeof path, "%s/audit.head", copy);
	assert_int_equal(unlink(path), 0);
	expect_problem(copy, NULL,
		       "audit.head is missing: the end of the log cannot be checked (records may "
		       "have been removed from the end)",
		       0);
	/* A writer does not start on it, and does not recreate the head. */
	rk_errctx_clear(&ctx);
	assert_int_equal(audit_open(copy, NULL, &a, &ctx), RK_ECONFLICT);
	assert_null(a);
	assert_non_null(strstr(ctx.msg, "missing, but the audit log holds 10 records"));
	assert_int_equal(access(path, F_OK), -1);

	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("renkei-audit-head 1 10 nothex\n", f);
	fclose(f);
	expect_problem(copy, NULL,
		       "audit.head: not an audit head (\"renkei-audit-head 1 <seq> <hash>\")", 0);
	tu_rmdir(copy);
}

/* A filter with every bit set still holds every id (it hides nothing),
 * but it is not the filter of its records. */
static void test_filter_bits_added(void **state)
{
	(void)state;
	char *copy = tu_copy(base);
	unsigned char ones[16];
	sqlite3_stmt *s = NULL;

	assert_non_null(copy);
	memset(ones, 0xff, sizeof ones);
	sqlite3 *db = open_db(copy);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE audit_blocks SET bloom = ? "
						"WHERE first_seq = 4",
					    -1, &s, NULL),
			 SQLITE_OK);
	sqlite3_bind_blob(s, 1, ones, sizeof ones, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(db);
	expect_problem(copy, NULL,
		       "block starting at record 4: its filter does not match its records "
		       "(modified)",
		       4);
	tu_rmdir(copy);
}

static void test_writer_refuses(void **state)
{
	(void)state;
	audit *a = NULL;
	rk_errctx ctx;

	char *cut = tu_copy(base);
	assert_non_null(cut);
	assert_int_equal(tu_sql(cut, "DELETE FROM audit WHERE seq > 7"), SQLITE_OK);
	rk_errctx_clear(&ctx);
	assert_int_equal(audit_open(cut, NULL, &a, &ctx), RK_ECONFLICT);
	assert_null(a);
	assert_non_null(strstr(ctx.msg, "the log ends at record 7 but was last seen at 10"));
	tu_rmdir(cut);

	/* the last block row removed: its records would be the unfinished
	 * block, which they overfill */
	char *unblocked = tu_copy(base);
	assert_non_null(unblocked);
	assert_int_equal(tu_sql(unblocked, "DELETE FROM audit_blocks WHERE first_seq = 7"),
			 SQLITE_OK);
	rk_errctx_clear(&ctx);
	assert_int_equal(audit_open(unblocked, NULL, &a, &ctx), RK_ECONFLICT);
	assert_null(a);
	assert_non_null(strstr(ctx.msg, "records 7 to 9 are in no block of the readers index"));
	tu_rmdir(unblocked);

	/* a block row past the last record */
	char *past = tu_copy(base);
	assert_non_null(past);
	assert_int_equal(tu_sql(past, "INSERT INTO audit_blocks VALUES (10, 11, 4, zeroblob(8))"),
			 SQLITE_OK);
	rk_errctx_clear(&ctx);
	assert_int_equal(audit_open(past, NULL, &a, &ctx), RK_ECONFLICT);
	assert_non_null(strstr(ctx.msg, "a block ending at record 11 but the log ends at "
					"record 10"));
	tu_rmdir(past);

	char *redone = tu_copy(base);
	assert_non_null(redone);
	rewrite(redone, 9, N_RECORDS);
	rk_errctx_clear(&ctx);
	assert_int_equal(audit_open(redone, NULL, &a, &ctx), RK_ECONFLICT);
	assert_non_null(strstr(ctx.msg, "record 10: hash does not match audit.head"));
	tu_rmdir(redone);

	/* An intact log is taken up where it ended; the unfinished block
	 * (record 10), read back at open, is completed by records 11 and 12. */
	char *more = tu_copy(base);
	audit_record r;
	char user[32], org[32], coll[32], ids[256];
	audit_verdict v;
	assert_non_null(more);
	rk_errctx_clear(&ctx);
	assert_int_equal(audit_open(more, NULL, &a, &ctx), RK_OK);
	for (unsigned i = 11; i <= 12; i++) {
		tu_record(i, &r, user, org, coll, ids);
		assert_int_equal(audit_append(a, &r, true, &ctx), RK_OK);
	}
	audit_close(a);
	assert_int_equal(tu_verify(more, NULL, &v), 0);
	if (!v.intact)
		fail_msg("%s", v.message);
	assert_int_equal(v.last_seq, 12);
	assert_int_equal(v.anchor.seq, 12);
	assert_int_equal(tu_sql(more, "DELETE FROM audit_blocks WHERE first_seq = 10 AND "
				      "last_seq = 12 AND n_ids = 6"),
			 SQLITE_OK);
	expect_problem(more, NULL,
		       "records 10 to 12: in no block of the readers index (a block row removed)",
		       10);
	tu_rmdir(more);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intact),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_inserted_with_correct_hash),
		cmocka_unit_test(test_modified_with_own_hash_recomputed),
		cmocka_unit_test(test_chain_recomputed),
		cmocka_unit_test(test_truncated_head_rewritten),
		cmocka_unit_test(test_head_missing_or_damaged),
		cmocka_unit_test(test_filter_bits_added),
		cmocka_unit_test(test_writer_refuses),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
