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
 *   audit_block.c   the readers index: where blocks of records end, and
 *                   the Bloom filter of a block's ids
 *   audit_log.c     open, schema (and its migration), the writer thread
 *                   and its queue, append
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
/* user_version of the audit database. 2: the readers index is the
 * append-only audit_blocks. 1 (audit_ix, a B-tree keyed by id hash) is
 * still read, and a writer migrates it to 2 at open. */
#define AUDIT_SCHEMA_VERSION 2
#define AUDIT_SCHEMA_V1 1
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

/* A block of records ends at the first record at which it holds this many
 * ids or records (audit_block.c). On-disk format: changing either moves
 * where blocks end, which audit_verify checks; it needs a new schema
 * version. */
#define AUDIT_BLOCK_IDS 65536
#define AUDIT_BLOCK_RECORDS 65536
/* Bloom filter bits per id of a block: about 0.8% false positives. */
#define AUDIT_BLOOM_BITS_PER_ID 16

typedef struct audit_item audit_item;

/* The ids of a block being accumulated: its first record, how many
 * records it holds, and the id hash of each id they name (repeats
 * included), in record order. */
typedef struct audit_blk {
	uint64_t first_seq;
	uint64_t n_records;
	int64_t *idh;
	size_t n_ids, cap;
	bool oom;
} audit_blk;

struct audit {
	char *dbpath;
	char *headpath;
	bool read_only;
	bool log_head;
	int version; /* the schema version (a writer migrates to AUDIT_SCHEMA_VERSION) */
	/* writer: connection and statements, used by the writer thread only
	 * once it runs */
	sqlite3 *w;
	sqlite3_stmt *ins;
	sqlite3_stmt *ins_blk;
	/* writer thread only (at open: open_writer): the unfinished block,
	 * every record above the last block row, as of record blk_seq (the
	 * last one this writer committed or read; UINT64_MAX: unknown, read
	 * it again) */
	audit_blk blk;
	uint64_t blk_seq;
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
/* The hash of an object id the readers index's filters hold (an on-disk
 * format). */
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

/* ---------------------------------------------------------------- blocks */
/* audit_block.c */

/* The rule's limits: AUDIT_BLOCK_IDS and AUDIT_BLOCK_RECORDS. Unit tests
 * lower them to make small logs of several blocks; nothing else changes
 * them. */
extern uint32_t audit_block_ids;
extern uint32_t audit_block_records;

void audit_blk_init(audit_blk *b, uint64_t first_seq);
void audit_blk_cleanup(audit_blk *b);
/* Empties b for a block starting at first_seq (keeps its memory). */
void audit_blk_restart(audit_blk *b, uint64_t first_seq);
/* Adds one record, with its ids text (NULL or "": none). RK_ENOMEM (then
 * b holds part of the record: restart it). */
rk_err audit_blk_add(audit_blk *b, const char *ids);
/* b holds a full block: it ends at the record added last. */
bool audit_blk_full(const audit_blk *b);

/* Words of the filter of a block of n_ids ids (at least one). */
size_t audit_bloom_words(uint64_t n_ids);
/* The filter of n id hashes, 8 * audit_bloom_words(n) bytes (*bytes),
 * malloc'd; NULL when out of memory. */
unsigned char *audit_bloom_build(const int64_t *idh, size_t n, size_t *bytes);
void audit_bloom_set(unsigned char *bloom, size_t n_words, int64_t idh);
/* The byte offset of the word an id hash probes in a filter of `bytes`
 * bytes (a positive multiple of 8). */
size_t audit_bloom_offset(size_t bytes, int64_t idh);
/* The word read at that offset has the id hash's bits. */
bool audit_bloom_word_has(const unsigned char word[8], int64_t idh);
/* The filter may hold the id hash (false as well for a filter whose size
 * is not a positive multiple of 8). */
bool audit_bloom_has(const unsigned char *bloom, size_t bytes, int64_t idh);

/* ---------------------------------------------------------------- log */
/* audit_log.c */

rk_err audit_sq_err(sqlite3 *db, int rc, rk_errctx *ctx, const char *what);
/* A connection for reading (query_only), each caller its own. */
rk_err audit_reader_open(const audit *a, sqlite3 **out, rk_errctx *ctx);
/* Fills rec from the AUDIT_COLUMNS of a row starting at column `col`;
 * strings point into the statement until its next step or reset. */
void audit_row_record(sqlite3_stmt *s, int col, audit_record *rec);

#endif
