/*
 * audit_int.h: what the files of the audit module share, and nothing more.
 *
 * Other modules include audit.h only; this header is for src/audit/ files
 * and the module's unit tests (which tamper with a log and need its hash).
 *
 * Map of the module:
 *   audit_chain.c   the on-disk format and threat model: canonical record
 *                   serialisation, record hash, id hash, the audit.head
 *                   anchor file, the ids list
 *   audit_log.c     open, schema, the writer thread and its queue, append
 *   audit_verify.c  walking the chain and naming the first problem
 *   audit_query.c   show (filters) and readers
 */
#ifndef RK_AUDIT_INT_H
#define RK_AUDIT_INT_H

#include <pthread.h>

#include <sqlite3.h>

#include "audit.h"

#define AUDIT_DB_FILE "audit.db"
#define AUDIT_HEAD_FILE "audit.head"
/* "rkau": PRAGMA application_id of an audit database. */
#define AUDIT_APPLICATION_ID 0x726b6175
#define AUDIT_SCHEMA_VERSION 1
#define AUDIT_BUSY_TIMEOUT_MS 10000
/* Bytes of records queued for the writer past which audit_append waits. */
#define AUDIT_QUEUE_MAX_BYTES (64u << 20)
/* audit.head is written at most this often (and trails the last commit
 * by about this much, plus two fsyncs, under load). */
#define AUDIT_ANCHOR_DELAY_US 50000
/* The head goes to the hub's log at most this often (log_head). */
#define AUDIT_HEAD_LOG_US (60 * 1000000LL)

/* The columns every query reads a record with, in audit_row_record's
 * order. */
#define AUDIT_COLUMNS                                                      \
	"seq, at, user, org, method, route, api_root, collection, ids, "   \
	"status, outcome, prev, hash"

typedef struct audit_item audit_item;

struct audit {
	char *dbpath;
	char *headpath;
	bool read_only;
	bool log_head;
	/* writer: connection and statements, used by the writer thread only
	 * once it runs */
	sqlite3 *w;
	sqlite3_stmt *ins;
	sqlite3_stmt *ins_ix;
	int walfd; /* the WAL, synced before audit.head names a record; -1: synchronous=FULL */
	pthread_t thread; /* the writer */
	bool started;
	pthread_t anchor_thread;
	bool anchor_started;
	/* the queue, under mu */
	pthread_mutex_t mu;
	pthread_cond_t work; /* writer: something queued, or stopping */
	pthread_cond_t done; /* waiters: a batch finished */
	pthread_cond_t room; /* appenders: the queue shrank */
	audit_item *qhead, *qtail;
	size_t qbytes;
	uint64_t next_ticket; /* tickets given to queued records */
	uint64_t done_ticket; /* every ticket up to this one is finished */
	bool stopping;
	/* the chain's end, under mu: set by the writer after each commit,
	 * anchored by the anchor thread */
	pthread_cond_t anchor_cv; /* anchor thread: a commit, or stop */
	bool anchor_stop;
	uint64_t last_seq;
	unsigned char last_hash[AUDIT_HASH_BYTES];
	uint64_t anchored_seq; /* what audit.head says */
	/* anchor thread only */
	uint64_t logged_seq; /* the head last logged (log_head) */
	rk_time logged_at;
};

/* ---------------------------------------------------------------- chain */
/* audit_chain.c */

/* hash = BLAKE2b-256(prev || serialisation of rec, with rec->seq). */
void audit_record_hash(const unsigned char prev[AUDIT_HASH_BYTES],
		       const audit_record *rec, unsigned char out[AUDIT_HASH_BYTES]);
/* The readers index key of an object id (an on-disk format). */
int64_t audit_idh(const char *id, size_t len);
/* Calls fn for each id of a record's ids text (NULL or "": none). */
void audit_ids_each(const char *ids, void (*fn)(void *arg, const char *id, size_t len),
		    void *arg);
/* True if the ids text names `id`. */
bool audit_ids_contain(const char *ids, const char *id);
/* Reads audit.head: *found false (and RK_OK) when the file does not
 * exist; RK_EIO when it cannot be read, RK_EINVAL when it is malformed. */
rk_err audit_anchor_read(const char *path, bool *found, audit_head *out, rk_errctx *ctx);
/* Writes audit.head atomically: a temporary file, synced, renamed over. */
rk_err audit_anchor_write(const char *path, const audit_head *h, rk_errctx *ctx);

/* ---------------------------------------------------------------- log */
/* audit_log.c */

rk_err audit_sq_err(sqlite3 *db, int rc, rk_errctx *ctx, const char *what);
/* A connection for reading (query_only), each caller its own. */
rk_err audit_reader_open(const audit *a, sqlite3 **out, rk_errctx *ctx);
/* Fills rec from the AUDIT_COLUMNS of a row starting at column `col`;
 * strings point into the statement until its next step or reset. */
void audit_row_record(sqlite3_stmt *s, int col, audit_record *rec);

#endif
