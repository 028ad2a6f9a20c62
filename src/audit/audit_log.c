/*
 * audit_log.c: opening the audit log, and writing it off the request path.
 *
 * A request thread's share of recording is audit_append: one malloc and a
 * copy of the record's strings into it, then a push onto a queue under a
 * mutex. One writer thread per open log takes the whole queue at once and
 * commits it as one batch: BEGIN IMMEDIATE, read the last (seq, hash) back
 * from the table (so that a second process writing the same log would
 * still chain correctly), hash and insert each record in queue order,
 * COMMIT. WAL mode, synchronous=NORMAL: COMMIT does not sync, so a batch
 * costs its waiters no fsync.
 *
 *     request:  copy -> enqueue --(wait=false)--> return
 *                          |
 *                          +--(wait=true)--> sleep until its batch is done
 *     writer:   take all -> BEGIN; last; {hash; INSERT; ids -> block}*;
 *                          [full block: INSERT its filter]; COMMIT
 *                        -> publish (seq, hash); wake the batch's waiters
 *     anchor:   (a new commit, at most every AUDIT_ANCHOR_DELAY_US)
 *                  fdatasync(WAL); write audit.head
 *
 * audit.head must never name a record a crash could take back, and with
 * synchronous=NORMAL a committed record is only in the OS's cache until
 * the WAL is synced; so the anchor thread syncs the WAL through a
 * descriptor of its own before each audit.head write (if the WAL cannot
 * be opened that way, the log runs synchronous=FULL instead). Frames
 * checkpointed meanwhile are safe too: a checkpoint syncs the WAL before
 * copying and the database after, inside the COMMIT that ran it, before
 * (seq, hash) is published. Because the syncs run on their own thread,
 * neither the writer nor any waiter waits for one.
 *
 * The queue is bounded (AUDIT_QUEUE_MAX_BYTES): when the writer falls that
 * far behind, appenders wait for room. An audit trail that drops records
 * to keep up would not be one. A batch that fails to commit is rolled back
 * whole and its records are lost; the failure goes to the hub's log and to
 * the batch's waiters, and the chain goes on from the last committed
 * record, so the log stays verifiable.
 *
 * At open a writer checks the log against audit.head (the last record's
 * number at least the head's, and the head's record carrying the head's
 * hash) and refuses a log that fails: it neither adds to nor repairs a log
 * that was tampered with. The full walk is audit_verify's job; this check
 * costs two indexed reads, whatever the log's size. Closing stops the
 * writer once the queue is empty, then the anchor thread once audit.head
 * names the last commit.
 *
 * The readers index (audit_block.c, audit_chain.c) is appended to, never
 * updated: every write the writer makes goes at the end of a table keyed
 * by an increasing number, so its cost per id does not grow with the log.
 * The writer keeps the unfinished block in memory: the id hashes of the
 * records after the last block row (at most AUDIT_BLOCK_IDS +
 * AUDIT_MAX_IDS of them, 8 bytes each), read back from those records'
 * ids at open. Each record's ids are hashed into it as the record is
 * inserted; when the block is full its filter is built and its row
 * inserted in the same transaction as the record that filled it, so the
 * rows and the records commit together and a crash leaves nothing to
 * repair. Should the batch fail, or the log have grown under another
 * writer (its last record is not the one this writer last saw), the
 * unfinished block is read back from the table first.
 *
 * Schema. A new log is created at AUDIT_SCHEMA_VERSION. A version 1 log
 * (readers index audit_ix, one B-tree entry per id and record) is
 * migrated by the first writer that opens it, after the head check, in
 * one transaction: drop audit_ix, create audit_blocks, read every
 * record's ids in order and insert each full block, set the version. A
 * crash during it leaves version 1, migrated again at the next open. A
 * read-only handle never writes: on a version 1 log its queries read
 * every record (there are no blocks), and audit_verify checks the chain
 * and heads only (audit_ix answers no query any more, so it is ignored).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit_int.h"

/* Longest string field of a record (route, outcome, names), and the
 * longest ids text (AUDIT_MAX_IDS ids of RK_MAX_STIX_ID bytes). */
#define AUDIT_MAX_FIELD (64u * 1024u)
#define AUDIT_MAX_IDS_TEXT ((size_t)AUDIT_MAX_IDS * (RK_MAX_STIX_ID + 1))

struct audit_item {
	audit_item *next;
	uint64_t ticket;
	size_t bytes;
	bool wait;
	bool done;
	rk_err rc;
	audit_record rec; /* strings point into data */
	char data[];
};

#define BLOCKS_SQL                                                         \
	"CREATE TABLE audit_blocks("                                       \
	" first_seq INTEGER PRIMARY KEY,"                                  \
	" last_seq INTEGER NOT NULL,"                                      \
	" n_ids INTEGER NOT NULL,"                                         \
	" bloom BLOB NOT NULL);"

static const char schema_sql[] =
	"CREATE TABLE audit("
	" seq INTEGER PRIMARY KEY,"
	" at INTEGER NOT NULL,"
	" user TEXT,"
	" org TEXT,"
	" method TEXT NOT NULL,"
	" route TEXT NOT NULL,"
	" api_root TEXT,"
	" collection TEXT,"
	" ids TEXT NOT NULL,"
	" status INTEGER NOT NULL,"
	" outcome TEXT NOT NULL,"
	" prev BLOB NOT NULL,"
	" hash BLOB NOT NULL);"
	"CREATE INDEX audit_at ON audit(at);"
	"CREATE INDEX audit_org ON audit(org, seq);"
	BLOCKS_SQL;

/* ---------------------------------------------------------------- sqlite */

rk_err audit_sq_err(sqlite3 *db, int rc, rk_errctx *ctx, const char *what)
{
	if ((rc & 0xff) == SQLITE_NOMEM)
		return rk_fail(ctx, RK_ENOMEM, NULL, "audit: %s: out of memory", what);
	return rk_fail(ctx, RK_EDB, NULL, "audit: %s: %s", what,
		       db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static rk_err sq_exec(sqlite3 *db, const char *sql, rk_errctx *ctx)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? RK_OK : audit_sq_err(db, rc, ctx, sql);
}

/* One integer from a one-row statement ("PRAGMA user_version"). */
static rk_err sq_int(sqlite3 *db, const char *sql, int64_t *out, rk_errctx *ctx)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		rk_err err = audit_sq_err(db, rc, ctx, sql);
		sqlite3_finalize(s);
		return err;
	}
	*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return RK_OK;
}

static rk_err conn_open(const char *path, bool writer, sqlite3 **out, rk_errctx *ctx)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	*out = NULL;
	if (writer)
		flags |= SQLITE_OPEN_CREATE;
	int rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		rk_fail(ctx, RK_EDB, NULL, "audit: cannot open %s: %s", path,
			db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return RK_EDB;
	}
	sqlite3_busy_timeout(db, AUDIT_BUSY_TIMEOUT_MS);
	rk_err err = sq_exec(db, writer ? "PRAGMA temp_store = MEMORY"
					: "PRAGMA query_only = 1; PRAGMA temp_store = MEMORY",
			     ctx);
	if (err) {
		sqlite3_close(db);
		return err;
	}
	*out = db;
	return RK_OK;
}

/* The file is an audit log of a version this build reads (the current
 * one, or version 1, which a writer migrates); *out is the version. */
static rk_err check_schema(sqlite3 *db, const char *path, int *out, rk_errctx *ctx)
{
	int64_t app = 0, version = 0;
	rk_err err;

	if ((err = sq_int(db, "PRAGMA application_id", &app, ctx)) ||
	    (err = sq_int(db, "PRAGMA user_version", &version, ctx)))
		return err;
	if (app != AUDIT_APPLICATION_ID)
		return rk_fail(ctx, RK_EDB, path, "not a renkei audit log (application_id %lld)",
			       (long long)app);
	if (version != AUDIT_SCHEMA_VERSION && version != AUDIT_SCHEMA_V1)
		return rk_fail(ctx, RK_EDB, path,
			       "audit log schema version %lld; this renkei reads versions %d "
			       "to %d",
			       (long long)version, AUDIT_SCHEMA_V1, AUDIT_SCHEMA_VERSION);
	*out = (int)version;
	return RK_OK;
}

rk_err audit_reader_open(const audit *a, sqlite3 **out, rk_errctx *ctx)
{
	return conn_open(a->dbpath, false, out, ctx);
}

static const char *col_text(sqlite3_stmt *s, int col)
{
	return sqlite3_column_type(s, col) == SQLITE_NULL
		       ? NULL
		       : (const char *)sqlite3_column_text(s, col);
}

static void col_hash(sqlite3_stmt *s, int col, unsigned char out[AUDIT_HASH_BYTES])
{
	const void *b = sqlite3_column_blob(s, col);
	int n = sqlite3_column_bytes(s, col);
	memset(out, 0, AUDIT_HASH_BYTES);
	/* A blob of another size cannot be a hash: leave a value no hash
	 * computation gives back (all ones), so the record fails its check. */
	if (b && n == AUDIT_HASH_BYTES)
		memcpy(out, b, AUDIT_HASH_BYTES);
	else
		memset(out, 0xff, AUDIT_HASH_BYTES);
}

void audit_row_record(sqlite3_stmt *s, int col, audit_record *rec)
{
	memset(rec, 0, sizeof *rec);
	rec->seq = (uint64_t)sqlite3_column_int64(s, col);
	rec->at = sqlite3_column_int64(s, col + 1);
	rec->user = col_text(s, col + 2);
	rec->org = col_text(s, col + 3);
	rec->method = col_text(s, col + 4);
	rec->route = col_text(s, col + 5);
	rec->api_root = col_text(s, col + 6);
	rec->collection = col_text(s, col + 7);
	rec->ids = col_text(s, col + 8);
	rec->status = (int)sqlite3_column_int64(s, col + 9);
	rec->outcome = col_text(s, col + 10);
	col_hash(s, col + 11, rec->prev);
	col_hash(s, col + 12, rec->hash);
}

/* The last record's number and hash (0 and zeros for an empty log). */
static rk_err last_record(sqlite3 *db, uint64_t *seq, unsigned char hash[AUDIT_HASH_BYTES],
			  rk_errctx *ctx)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
				    -1, &s, NULL);
	*seq = 0;
	memset(hash, 0, AUDIT_HASH_BYTES);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*seq = (uint64_t)sqlite3_column_int64(s, 0);
		col_hash(s, 1, hash);
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? RK_OK : audit_sq_err(db, rc, ctx, "reading the last record");
}

/* ---------------------------------------------------------------- open */

static char *path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p = malloc(dl + nl + 2);
	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
	return p;
}

static void stop_threads(audit *a);

static void free_handle(audit *a)
{
	if (!a)
		return;
	stop_threads(a);
	sqlite3_finalize(a->ins);
	sqlite3_finalize(a->ins_blk);
	audit_blk_cleanup(&a->blk);
	sqlite3_close(a->w);
	if (a->walfd >= 0)
		close(a->walfd);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->work);
	pthread_cond_destroy(&a->done);
	pthread_cond_destroy(&a->room);
	pthread_cond_destroy(&a->anchor_cv);
	free(a->dbpath);
	free(a->headpath);
	free(a);
}

/*
 * The light check a writer makes before adding to a log (the opening
 * comment says why it refuses rather than repairs).
 */
static rk_err check_against_head(audit *a, rk_errctx *ctx)
{
	audit_head head;
	bool found = false;
	rk_err err;

	if ((err = audit_anchor_read(a->headpath, &found, &head, ctx)))
		return err;
	if (!found) {
		if (a->last_seq == 0)
			return audit_anchor_write(a->headpath,
						  &(audit_head){.seq = 0}, ctx);
		return rk_fail(ctx, RK_ECONFLICT, a->headpath,
			       "missing, but the audit log holds %llu records: the end of "
			       "the log cannot be checked (run `renkei audit verify`)",
			       (unsigned long long)a->last_seq);
	}
	if (a->last_seq < head.seq)
		return rk_fail(ctx, RK_ECONFLICT, a->dbpath,
			       "the log ends at record %llu but was last seen at %llu "
			       "(records removed from the end; run `renkei audit verify`)",
			       (unsigned long long)a->last_seq, (unsigned long long)head.seq);
	unsigned char at_head[AUDIT_HASH_BYTES] = {0};
	if (head.seq > 0) {
		sqlite3_stmt *s = NULL;
		int rc = sqlite3_prepare_v2(a->w, "SELECT hash FROM audit WHERE seq = ?", -1, &s,
					    NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(s, 1, (sqlite3_int64)head.seq);
			rc = sqlite3_step(s);
		}
		if (rc == SQLITE_ROW)
			col_hash(s, 0, at_head);
		else
			memset(at_head, 0xff, sizeof at_head);
		sqlite3_finalize(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return audit_sq_err(a->w, rc, ctx, "reading the head record");
	}
	if (sodium_memcmp(at_head, head.hash, AUDIT_HASH_BYTES) != 0)
		return rk_fail(ctx, RK_ECONFLICT, a->dbpath,
			       "record %llu: hash does not match %s (the log was rewritten; "
			       "run `renkei audit verify`)",
			       (unsigned long long)head.seq, AUDIT_HEAD_FILE);
	a->anchored_seq = head.seq;
	return RK_OK;
}

/* ---------------------------------------------------------------- blocks */

/* Ends the block b holds at record last_seq: inserts its row, then
 * restarts b at the record after. */
static rk_err close_block(sqlite3 *db, sqlite3_stmt *ins, audit_blk *b, uint64_t last_seq,
			  rk_errctx *ctx)
{
	size_t bytes = 0;
	unsigned char *bloom = audit_bloom_build(b->idh, b->n_ids, &bytes);
	if (!bloom)
		return rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
	sqlite3_reset(ins);
	sqlite3_bind_int64(ins, 1, (sqlite3_int64)b->first_seq);
	sqlite3_bind_int64(ins, 2, (sqlite3_int64)last_seq);
	sqlite3_bind_int64(ins, 3, (sqlite3_int64)b->n_ids);
	sqlite3_bind_blob(ins, 4, bloom, (int)bytes, SQLITE_STATIC);
	int rc = sqlite3_step(ins);
	sqlite3_reset(ins);
	sqlite3_clear_bindings(ins);
	free(bloom);
	if (rc != SQLITE_DONE)
		return audit_sq_err(db, rc, ctx, "adding a block to the readers index");
	audit_blk_restart(b, last_seq + 1);
	return RK_OK;
}

/*
 * Reads the unfinished block into a->blk: the ids of the records after the
 * last block row, the log ending at record `last`. With `ins` (a
 * migration) each block that fills up on the way is closed; without, a
 * full block there means a block row was removed, and a writer does not
 * add to (nor repair) such a log. In the caller's transaction.
 */
static rk_err load_blocks(audit *a, sqlite3_stmt *ins, uint64_t last, rk_errctx *ctx)
{
	sqlite3_stmt *s = NULL;
	uint64_t end = 0;
	rk_err err = RK_OK;
	int rc = sqlite3_prepare_v2(a->w, "SELECT last_seq FROM audit_blocks "
					  "ORDER BY first_seq DESC LIMIT 1",
				    -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		sqlite3_int64 v = sqlite3_column_int64(s, 0);
		end = v > 0 ? (uint64_t)v : 0;
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (rc != SQLITE_DONE)
		return audit_sq_err(a->w, rc, ctx, "reading the readers index");
	if (end > last)
		return rk_fail(ctx, RK_ECONFLICT, a->dbpath,
			       "the readers index has a block ending at record %llu but the log "
			       "ends at record %llu (run `renkei audit verify`)",
			       (unsigned long long)end, (unsigned long long)last);
	audit_blk_restart(&a->blk, end + 1);
	rc = sqlite3_prepare_v2(a->w, "SELECT seq, ids FROM audit WHERE seq > ? ORDER BY seq", -1,
				&s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, (sqlite3_int64)end);
		rc = sqlite3_step(s);
	}
	for (; rc == SQLITE_ROW; rc = sqlite3_step(s)) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(s, 0);
		if (audit_blk_add(&a->blk, (const char *)sqlite3_column_text(s, 1))) {
			err = rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
			break;
		}
		if (!audit_blk_full(&a->blk))
			continue;
		if (!ins) {
			err = rk_fail(ctx, RK_ECONFLICT, a->dbpath,
				      "records %llu to %llu are in no block of the readers index "
				      "(a block was removed; run `renkei audit verify`)",
				      (unsigned long long)a->blk.first_seq,
				      (unsigned long long)seq);
			break;
		}
		if ((err = close_block(a->w, ins, &a->blk, seq, ctx)))
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = audit_sq_err(a->w, rc, ctx, "reading the unfinished block");
	sqlite3_finalize(s);
	if (err)
		audit_blk_restart(&a->blk, end + 1);
	return err;
}

static rk_err prepare_ins_blk(audit *a, rk_errctx *ctx)
{
	int rc = sqlite3_prepare_v3(a->w,
				    "INSERT INTO audit_blocks(first_seq, last_seq, n_ids, bloom) "
				    "VALUES (?, ?, ?, ?)",
				    -1, SQLITE_PREPARE_PERSISTENT, &a->ins_blk, NULL);
	return rc == SQLITE_OK ? RK_OK : audit_sq_err(a->w, rc, ctx, "preparing statements");
}

/* Version 1 -> 2 (the opening comment). In one transaction, which also
 * reads the unfinished block. */
static rk_err migrate(audit *a, rk_errctx *ctx)
{
	int64_t version = 0, blocks = 0;
	rk_err err;

	if ((err = sq_exec(a->w, "BEGIN IMMEDIATE", ctx)))
		return err;
	if ((err = sq_int(a->w, "PRAGMA user_version", &version, ctx)))
		goto fail;
	if (version == AUDIT_SCHEMA_V1) {
		char sql[64];
		if ((err = sq_exec(a->w, "DROP TABLE IF EXISTS audit_ix; " BLOCKS_SQL, ctx)) ||
		    (err = prepare_ins_blk(a, ctx)) ||
		    (err = load_blocks(a, a->ins_blk, a->last_seq, ctx)) ||
		    (err = sq_int(a->w, "SELECT count(*) FROM audit_blocks", &blocks, ctx)))
			goto fail;
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", AUDIT_SCHEMA_VERSION);
		if ((err = sq_exec(a->w, sql, ctx)))
			goto fail;
	} else {
		/* another process migrated it meanwhile */
		if ((err = prepare_ins_blk(a, ctx)) ||
		    (err = load_blocks(a, NULL, a->last_seq, ctx)))
			goto fail;
	}
	if ((err = sq_exec(a->w, "COMMIT", ctx)))
		goto fail;
	a->version = AUDIT_SCHEMA_VERSION;
	if (version == AUDIT_SCHEMA_V1)
		rk_log(RK_LOG_INFO, "audit_migrated",
		       json_pack("{sisisIsI}", "from", AUDIT_SCHEMA_V1, "to", AUDIT_SCHEMA_VERSION,
				 "records", (json_int_t)a->last_seq, "blocks", (json_int_t)blocks));
	return RK_OK;
fail:
	sqlite3_exec(a->w, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

static rk_err open_writer(audit *a, rk_errctx *ctx)
{
	int64_t version = 0;
	rk_err err;

	if ((err = conn_open(a->dbpath, true, &a->w, ctx)))
		return err;
	/* WAL: the CLI reads while the hub writes. */
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(a->w, "PRAGMA journal_mode = WAL", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
	bool wal = mode && strcmp(mode, "wal") == 0;
	sqlite3_finalize(s);
	if (!wal)
		return rk_fail(ctx, RK_EDB, a->dbpath,
			       "cannot use SQLite WAL mode on this file system");
	if ((err = sq_int(a->w, "PRAGMA user_version", &version, ctx)))
		return err;
	a->version = AUDIT_SCHEMA_VERSION;
	if (version == 0) {
		char sql[sizeof schema_sql + 128];
		snprintf(sql, sizeof sql,
			 "BEGIN IMMEDIATE; %s PRAGMA application_id = %d; "
			 "PRAGMA user_version = %d; COMMIT;",
			 schema_sql, AUDIT_APPLICATION_ID, AUDIT_SCHEMA_VERSION);
		if ((err = sq_exec(a->w, sql, ctx))) {
			sqlite3_exec(a->w, "ROLLBACK", NULL, NULL, NULL);
			return err;
		}
	} else {
		/* Rewrites the header: the WAL exists from here on while the
		 * log is open (it is reset, never deleted, under a writer). */
		char sql[64];
		if ((err = check_schema(a->w, a->dbpath, &a->version, ctx)))
			return err;
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", a->version);
		if ((err = sq_exec(a->w, sql, ctx)))
			return err;
	}
	if ((err = last_record(a->w, &a->last_seq, a->last_hash, ctx)) ||
	    (err = check_against_head(a, ctx)))
		return err;
	/* The readers index: migrated from version 1, or the unfinished
	 * block read back (opening comment). */
	if (a->version == AUDIT_SCHEMA_V1) {
		if ((err = migrate(a, ctx)))
			return err;
	} else {
		if ((err = prepare_ins_blk(a, ctx)) || (err = sq_exec(a->w, "BEGIN", ctx)))
			return err;
		err = load_blocks(a, NULL, a->last_seq, ctx);
		sqlite3_exec(a->w, "COMMIT", NULL, NULL, NULL);
		if (err)
			return err;
	}
	a->blk_seq = a->last_seq;

	/* synchronous=NORMAL with the WAL synced before each audit.head
	 * write (opening comment); FULL if the WAL cannot be opened. */
	char *walpath = malloc(strlen(a->dbpath) + sizeof "-wal");
	if (walpath) {
		strcpy(walpath, a->dbpath);
		strcat(walpath, "-wal");
		a->walfd = open(walpath, O_RDWR | O_CLOEXEC);
		free(walpath);
	}
	if ((err = sq_exec(a->w, a->walfd >= 0 ? "PRAGMA synchronous = NORMAL"
					       : "PRAGMA synchronous = FULL",
			   ctx)))
		return err;
	rc = sqlite3_prepare_v3(a->w,
				"INSERT INTO audit(" AUDIT_COLUMNS ") "
				"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
				-1, SQLITE_PREPARE_PERSISTENT, &a->ins, NULL);
	if (rc != SQLITE_OK)
		return audit_sq_err(a->w, rc, ctx, "preparing statements");
	return RK_OK;
}

static void *writer_main(void *arg);
static void *anchor_main(void *arg);

rk_err audit_open(const char *location, const audit_options *opt, audit **out,
		  rk_errctx *ctx)
{
	static const audit_options defaults = {0};
	audit *a = NULL;
	rk_err err = RK_OK;

	*out = NULL;
	if (!opt)
		opt = &defaults;
	if (sodium_init() < 0)
		return rk_fail(ctx, RK_EIO, NULL, "audit: libsodium failed to initialise");
	if (!location || !*location)
		return rk_fail(ctx, RK_EINVAL, NULL, "audit: no data directory");
	if (strncmp(location, "sqlite:", 7) == 0)
		location += 7;
	a = calloc(1, sizeof *a);
	if (!a)
		return rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
	a->walfd = -1;
	a->read_only = opt->read_only;
	a->log_head = opt->log_head;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->work, NULL);
	pthread_cond_init(&a->done, NULL);
	pthread_cond_init(&a->room, NULL);
	pthread_cond_init(&a->anchor_cv, NULL);
	a->dbpath = path_join(location, AUDIT_DB_FILE);
	a->headpath = path_join(location, AUDIT_HEAD_FILE);
	if (!a->dbpath || !a->headpath) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
		goto out;
	}
	if (a->read_only) {
		struct stat sb;
		sqlite3 *db = NULL;
		if (stat(a->dbpath, &sb) != 0) {
			err = rk_fail(ctx, RK_ENOTFOUND, a->dbpath, "no audit log: %s",
				      strerror(errno));
			goto out;
		}
		if (!(err = conn_open(a->dbpath, false, &db, ctx)))
			err = check_schema(db, a->dbpath, &a->version, ctx);
		sqlite3_close(db);
		goto out;
	}
	if (mkdir(location, 0700) != 0 && errno != EEXIST) {
		err = rk_fail(ctx, RK_EIO, location, "cannot create the directory: %s",
			      strerror(errno));
		goto out;
	}
	if ((err = open_writer(a, ctx)))
		goto out;
	if (pthread_create(&a->anchor_thread, NULL, anchor_main, a) != 0) {
		err = rk_fail(ctx, RK_EIO, NULL, "audit: cannot start the anchor thread");
		goto out;
	}
	a->anchor_started = true;
	if (pthread_create(&a->thread, NULL, writer_main, a) != 0) {
		err = rk_fail(ctx, RK_EIO, NULL, "audit: cannot start the writer thread");
		goto out;
	}
	a->started = true;
out:
	if (err) {
		free_handle(a);
		return err;
	}
	*out = a;
	return RK_OK;
}

/* ---------------------------------------------------------------- writer */

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

/* One batch in one transaction (opening comment). On success *seq_out
 * and hash_out are the batch's last record. */
static rk_err commit_batch(audit *a, audit_item *batch, uint64_t *seq_out,
			   unsigned char hash_out[AUDIT_HASH_BYTES], rk_errctx *ctx)
{
	uint64_t seq = 0;
	unsigned char prev[AUDIT_HASH_BYTES];
	rk_err err;
	int rc = SQLITE_OK;

	if ((err = sq_exec(a->w, "BEGIN IMMEDIATE", ctx)))
		return err;
	if ((err = last_record(a->w, &seq, prev, ctx)))
		goto fail;
	/* the unfinished block, read back if it is not the one in memory */
	if (seq != a->blk_seq && (err = load_blocks(a, NULL, seq, ctx)))
		goto fail;
	a->blk_seq = UINT64_MAX; /* until this batch commits */
	for (audit_item *it = batch; it; it = it->next) {
		audit_record *r = &it->rec;
		sqlite3_stmt *s = a->ins;
		r->seq = ++seq;
		memcpy(r->prev, prev, AUDIT_HASH_BYTES);
		audit_record_hash(prev, r, r->hash);
		memcpy(prev, r->hash, AUDIT_HASH_BYTES);
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, (sqlite3_int64)r->seq);
		sqlite3_bind_int64(s, 2, r->at);
		bind_text(s, 3, r->user);
		bind_text(s, 4, r->org);
		bind_text(s, 5, r->method);
		bind_text(s, 6, r->route);
		bind_text(s, 7, r->api_root);
		bind_text(s, 8, r->collection);
		bind_text(s, 9, r->ids ? r->ids : "");
		sqlite3_bind_int64(s, 10, r->status);
		bind_text(s, 11, r->outcome);
		sqlite3_bind_blob(s, 12, r->prev, AUDIT_HASH_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(s, 13, r->hash, AUDIT_HASH_BYTES, SQLITE_STATIC);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE) {
			err = audit_sq_err(a->w, rc, ctx, "inserting a record");
			goto fail;
		}
		if (audit_blk_add(&a->blk, r->ids)) {
			err = rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
			goto fail;
		}
		if (audit_blk_full(&a->blk) &&
		    (err = close_block(a->w, a->ins_blk, &a->blk, r->seq, ctx)))
			goto fail;
	}
	if ((err = sq_exec(a->w, "COMMIT", ctx)))
		goto fail;
	a->blk_seq = seq;
	*seq_out = seq;
	memcpy(hash_out, prev, AUDIT_HASH_BYTES);
	return RK_OK;
fail:
	sqlite3_exec(a->w, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

static void *writer_main(void *arg)
{
	audit *a = arg;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (!a->qhead && !a->stopping)
			pthread_cond_wait(&a->work, &a->mu);
		if (!a->qhead)
			break; /* stopping, and everything queued is done */
		audit_item *batch = a->qhead;
		size_t n = 0;
		a->qhead = a->qtail = NULL;
		a->qbytes = 0;
		pthread_cond_broadcast(&a->room);
		pthread_mutex_unlock(&a->mu);

		rk_errctx ctx;
		uint64_t seq = 0;
		unsigned char hash[AUDIT_HASH_BYTES];
		rk_errctx_clear(&ctx);
		rk_err rc = commit_batch(a, batch, &seq, hash, &ctx);
		for (audit_item *it = batch; it; it = it->next)
			n++;
		if (rc) {
			char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG];
			rk_errctx_format(&ctx, msg, sizeof msg);
			rk_log(RK_LOG_ERROR, "audit_write_failed",
			       json_pack("{sssI}", "error", msg, "records_lost", (json_int_t)n));
		}

		audit_item *to_free = NULL;
		pthread_mutex_lock(&a->mu);
		if (!rc) {
			a->last_seq = seq;
			memcpy(a->last_hash, hash, AUDIT_HASH_BYTES);
			pthread_cond_signal(&a->anchor_cv);
		}
		for (audit_item *it = batch, *next; it; it = next) {
			next = it->next;
			a->done_ticket = it->ticket;
			if (it->wait) {
				it->rc = rc;
				it->done = true;
			} else {
				it->next = to_free;
				to_free = it;
			}
		}
		pthread_cond_broadcast(&a->done);
		pthread_mutex_unlock(&a->mu);
		while (to_free) {
			audit_item *next = to_free->next;
			free(to_free);
			to_free = next;
		}
		pthread_mutex_lock(&a->mu);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* Makes the records up to h durable, then names h in audit.head. */
static bool anchor_write(audit *a, const audit_head *h)
{
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	if (a->walfd >= 0 && fdatasync(a->walfd) != 0) {
		rk_logf(RK_LOG_ERROR, "audit_sync_failed", "%s-wal: %s", a->dbpath,
			strerror(errno));
		return false;
	}
	if (audit_anchor_write(a->headpath, h, &ctx) != RK_OK) {
		char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG];
		rk_errctx_format(&ctx, msg, sizeof msg);
		rk_log(RK_LOG_ERROR, "audit_head_failed", json_pack("{ss}", "error", msg));
		return false;
	}
	return true;
}

static void log_head(audit *a, const audit_head *h)
{
	char hex[AUDIT_HASH_HEX];
	audit_hash_hex(h->hash, hex);
	rk_log(RK_LOG_INFO, "audit_head",
	       json_pack("{sIss}", "seq", (json_int_t)h->seq, "hash", hex));
	a->logged_seq = h->seq;
	a->logged_at = rk_time_now();
}

/* The anchor thread: after each commit the writer publishes (last_seq,
 * last_hash); this thread syncs the WAL and writes audit.head, at most
 * once per AUDIT_ANCHOR_DELAY_US, so that neither the writer nor a waiter
 * ever waits for an fsync. It stops after the writer, anchoring the last
 * commit first. */
static void *anchor_main(void *arg)
{
	audit *a = arg;
	audit_head h = {0};

	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (a->last_seq == a->anchored_seq && !a->anchor_stop)
			pthread_cond_wait(&a->anchor_cv, &a->mu);
		if (a->last_seq == a->anchored_seq)
			break;
		h.seq = a->last_seq;
		memcpy(h.hash, a->last_hash, AUDIT_HASH_BYTES);
		pthread_mutex_unlock(&a->mu);
		bool ok = anchor_write(a, &h);
		rk_time now = rk_time_now();
		if (ok && a->log_head && now - a->logged_at >= AUDIT_HEAD_LOG_US)
			log_head(a, &h);
		pthread_mutex_lock(&a->mu);
		if (ok)
			a->anchored_seq = h.seq;
		else if (a->anchor_stop)
			break; /* logged; do not spin on a disk that refuses */
		/* rest until the next anchor is due (or stop) */
		rk_time until = now + AUDIT_ANCHOR_DELAY_US;
		while (!a->anchor_stop && rk_time_now() < until) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			rk_time left = until - rk_time_now();
			ts.tv_nsec += (long)(left % 1000000) * 1000;
			ts.tv_sec += (time_t)(left / 1000000) + ts.tv_nsec / 1000000000;
			ts.tv_nsec %= 1000000000;
			pthread_cond_timedwait(&a->anchor_cv, &a->mu, &ts);
		}
	}
	h.seq = a->anchored_seq;
	memcpy(h.hash, a->last_hash, AUDIT_HASH_BYTES);
	bool final_log = a->log_head && a->logged_seq != a->anchored_seq &&
			 a->anchored_seq == a->last_seq;
	pthread_mutex_unlock(&a->mu);
	if (final_log)
		log_head(a, &h);
	return NULL;
}

/* ---------------------------------------------------------------- append */

static bool field_ok(const char *s, size_t max, size_t *len)
{
	*len = s ? strlen(s) : 0;
	return *len <= max;
}

static char *copy_in(char **p, const char *s, size_t len)
{
	if (!s)
		return NULL;
	char *d = *p;
	memcpy(d, s, len);
	d[len] = '\0';
	*p += len + 1;
	return d;
}

rk_err audit_append(audit *a, const audit_record *rec, bool wait, rk_errctx *ctx)
{
	const char *f[8] = {rec->user, rec->org, rec->method, rec->route,
			    rec->api_root, rec->collection, rec->outcome, rec->ids};
	size_t len[8], total = 0;

	if (!a || a->read_only || !a->started)
		return rk_fail(ctx, RK_EINVAL, NULL, "audit: the log is not open for writing");
	if (!rec->method || !rec->route || !rec->outcome)
		return rk_fail(ctx, RK_EINVAL, NULL, "audit: a record needs a method, a route "
						     "and an outcome");
	for (size_t i = 0; i < 8; i++) {
		if (!field_ok(f[i], i == 7 ? AUDIT_MAX_IDS_TEXT : AUDIT_MAX_FIELD, &len[i]))
			return rk_fail(ctx, RK_EINVAL, NULL, "audit: a record field is too long");
		total += len[i] + 1;
	}
	if (rec->ids && (rec->ids[0] == '\n' || (len[7] && rec->ids[len[7] - 1] == '\n') ||
			 strstr(rec->ids, "\n\n")))
		return rk_fail(ctx, RK_EINVAL, NULL, "audit: malformed ids");

	audit_item *it = malloc(sizeof *it + total);
	if (!it)
		return rk_fail(ctx, RK_ENOMEM, NULL, "audit: out of memory");
	memset(it, 0, sizeof *it);
	char *p = it->data;
	it->rec.at = rec->at;
	it->rec.status = rec->status;
	it->rec.user = copy_in(&p, f[0], len[0]);
	it->rec.org = copy_in(&p, f[1], len[1]);
	it->rec.method = copy_in(&p, f[2], len[2]);
	it->rec.route = copy_in(&p, f[3], len[3]);
	it->rec.api_root = copy_in(&p, f[4], len[4]);
	it->rec.collection = copy_in(&p, f[5], len[5]);
	it->rec.outcome = copy_in(&p, f[6], len[6]);
	it->rec.ids = len[7] ? copy_in(&p, f[7], len[7]) : NULL;
	it->bytes = sizeof *it + total;
	it->wait = wait;

	pthread_mutex_lock(&a->mu);
	while (a->qbytes && a->qbytes + it->bytes > AUDIT_QUEUE_MAX_BYTES && !a->stopping)
		pthread_cond_wait(&a->room, &a->mu);
	if (a->stopping) {
		pthread_mutex_unlock(&a->mu);
		free(it);
		return rk_fail(ctx, RK_EUNAVAIL, NULL, "audit: the log is closing");
	}
	it->ticket = ++a->next_ticket;
	if (a->qtail)
		a->qtail->next = it;
	else
		a->qhead = it;
	a->qtail = it;
	a->qbytes += it->bytes;
	pthread_cond_signal(&a->work);
	if (!wait) {
		pthread_mutex_unlock(&a->mu);
		return RK_OK;
	}
	while (!it->done)
		pthread_cond_wait(&a->done, &a->mu);
	pthread_mutex_unlock(&a->mu);
	rk_err rc = it->rc;
	free(it);
	if (rc)
		return rk_fail(ctx, rc, NULL, "audit: the record could not be committed "
					      "(the hub's log says why)");
	return RK_OK;
}

rk_err audit_flush(audit *a, rk_errctx *ctx)
{
	(void)ctx;
	if (!a || !a->started)
		return RK_OK;
	pthread_mutex_lock(&a->mu);
	uint64_t t = a->next_ticket;
	while (a->done_ticket < t)
		pthread_cond_wait(&a->done, &a->mu);
	pthread_mutex_unlock(&a->mu);
	return RK_OK;
}

/* Stops the writer (after everything queued), then the anchor thread
 * (after it anchored the writer's last commit). */
static void stop_threads(audit *a)
{
	if (a->started) {
		pthread_mutex_lock(&a->mu);
		a->stopping = true;
		pthread_cond_signal(&a->work);
		pthread_cond_broadcast(&a->room);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->thread, NULL);
		a->started = false;
	}
	if (a->anchor_started) {
		pthread_mutex_lock(&a->mu);
		a->anchor_stop = true;
		pthread_cond_signal(&a->anchor_cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->anchor_thread, NULL);
		a->anchor_started = false;
	}
}

void audit_close(audit *a)
{
	if (!a)
		return;
	stop_threads(a);
	free_handle(a);
}
