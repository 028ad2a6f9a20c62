/*
 * audit.h: the hub's tamper-evident audit trail.
 *
 * Every TAXII request that reads or changes data leaves one record: when,
 * who (user and organisation, or anonymous), the HTTP method, the path, the
 * API root and collection, the ids of the objects read or written (ids
 * only, never contents), the HTTP status and a short outcome. Records are
 * append-only and numbered 1, 2, 3, ... without gaps; each carries a
 * BLAKE2b-256 hash over the previous record's hash and its own content, and
 * the newest (number, hash) is also kept outside the database (audit.head),
 * so audit_verify finds any record that was changed, inserted, removed
 * (also from the end) or moved, and says which. audit_chain.c has the
 * on-disk format and the threat model.
 *
 * The log is its own SQLite database, <data dir>/audit.db, next to the
 * object store's renkei.db and independent of it: recording never takes
 * the store's write lock. A writer thread commits queued records in
 * batches, so audit_append costs the request a copy of the record, not a
 * database write (audit_log.c). Queries by object go through the readers
 * index, an append-only table of Bloom filters over blocks of about 65,536
 * ids, whose upkeep costs the same per id whatever the size of the log
 * (audit_block.c, audit_query.c).
 *
 * This module depends on common only. Ownership: audit_open returns a
 * handle freed by audit_close; audit_ids_init/cleanup on caller storage.
 * Records handed to callbacks point into memory valid only during the
 * callback. Every function is safe from any thread, except that
 * audit_close must not race with other calls on the same handle.
 */
#ifndef RK_AUDIT_H
#define RK_AUDIT_H

#include "common.h"

#define AUDIT_HASH_BYTES 32
#define AUDIT_HASH_HEX (2 * AUDIT_HASH_BYTES + 1)
/* Object ids one record names at most: no TAXII request serves or writes
 * more (an envelope holds at most RK_MAX_OBJECTS_PER_ENVELOPE objects, a
 * page at most RK_PAGE_MAX). */
#define AUDIT_MAX_IDS RK_MAX_OBJECTS_PER_ENVELOPE

typedef struct audit audit;

/* One record. Strings are borrowed; the log copies what it keeps. */
typedef struct audit_record {
	uint64_t seq;           /* set by the log: 1, 2, 3, ... */
	rk_time at;             /* when the request started */
	const char *user;       /* NULL: anonymous */
	const char *org;        /* NULL: anonymous */
	const char *method;     /* "GET", "POST", "DELETE" */
	const char *route;      /* the request path, without the query */
	const char *api_root;   /* NULL: none */
	const char *collection; /* NULL: none */
	const char *ids;        /* object ids with '\n' between them; NULL: none */
	int status;             /* HTTP status; 0 when no answer was sent */
	const char *outcome;    /* short: "ok", or why the request failed */
	/* Read back only: the record's hash and its predecessor's. */
	unsigned char hash[AUDIT_HASH_BYTES];
	unsigned char prev[AUDIT_HASH_BYTES];
} audit_record;

/* ---------------------------------------------------------------- ids */
/* audit_chain.c */

/* The object ids of one request, in the form audit_record.ids takes. */
typedef struct audit_ids {
	rk_buf text; /* ids joined by '\n' */
	size_t n;
	size_t last; /* offset of the last id in text */
} audit_ids;

void audit_ids_init(audit_ids *l);
void audit_ids_cleanup(audit_ids *l);
/* The ids as audit_record.ids wants them (NULL when there are none). */
const char *audit_ids_text(const audit_ids *l);
/*
 * Adds one id. The same id right after itself is not repeated (a versions
 * listing names one id per version). RK_EINVAL for an empty id, one longer
 * than RK_MAX_STIX_ID or holding a byte below 0x21 (the separator must stay
 * unambiguous); RK_ETOOBIG past AUDIT_MAX_IDS; RK_ENOMEM. On error nothing
 * is added.
 */
rk_err audit_ids_add(audit_ids *l, const char *id);

/* ---------------------------------------------------------------- open */
/* audit_log.c */

typedef struct audit_options {
	/* Open an existing log for queries and audit_verify only: no writer
	 * thread, nothing is created or written, and a log that fails
	 * verification can still be opened (to be verified). */
	bool read_only;
	/* Writer: log the head ("audit_head", number and hash) through rk_log
	 * at most once a minute and at close, so that a copy of it leaves
	 * the machine with the hub's log (see audit_verify's `expect`). */
	bool log_head;
} audit_options;

/*
 * Opens the audit log in `location`, the hub's data directory (or
 * "sqlite:<dir>", as store_open takes it): <dir>/audit.db and
 * <dir>/audit.head. A writer (opt NULL or !read_only) creates both when
 * neither exists, and refuses (RK_ECONFLICT, with the reason) a log that
 * does not reach the head recorded in audit.head, or whose audit.head is
 * missing: it does not add to a log that was cut short, and it does not
 * repair (`renkei audit verify` says what is wrong). Then starts the
 * writer thread. Errors: RK_ENOTFOUND (read_only and no log), RK_EDB,
 * RK_EIO, RK_ENOMEM.
 */
rk_err audit_open(const char *location, const audit_options *opt, audit **out,
		  rk_errctx *ctx);
/* Commits every queued record, updates audit.head, stops the writer and
 * frees the handle. Accepts NULL. */
void audit_close(audit *a);

/* ---------------------------------------------------------------- writing */
/* audit_log.c */

/*
 * Queues one record (its strings are copied; rec->seq, hash and prev are
 * ignored). wait=false returns once queued; wait=true returns once the
 * record is committed (not yet synced: the WAL is synced before audit.head
 * names the record, see audit_log.c), with the error of its batch if the
 * commit failed. When the writer is far behind (AUDIT_QUEUE_MAX_BYTES
 * queued) the caller waits for room: records are never dropped to keep up.
 * Errors: RK_EINVAL (read-only handle, a missing method, route or outcome,
 * malformed ids), RK_ENOMEM, and for wait=true RK_EDB.
 */
rk_err audit_append(audit *a, const audit_record *rec, bool wait, rk_errctx *ctx);
/* Waits until every record queued before the call is committed, so that a
 * query sees it. */
rk_err audit_flush(audit *a, rk_errctx *ctx);

/* ---------------------------------------------------------------- verify */
/* audit_verify.c */

/* A (number, hash) the log must pass through: audit.head, or one kept
 * elsewhere (a copy of an "audit_head" log line). */
typedef struct audit_head {
	uint64_t seq;
	unsigned char hash[AUDIT_HASH_BYTES];
} audit_head;

/* "SEQ:HEX" (the form `renkei audit verify --head` takes) -> head. */
bool audit_head_parse(const char *s, audit_head *out);
/* Lowercase hex of a hash into out (AUDIT_HASH_HEX bytes). */
void audit_hash_hex(const unsigned char hash[AUDIT_HASH_BYTES], char out[AUDIT_HASH_HEX]);

typedef struct audit_verdict {
	bool intact;
	uint64_t records;       /* records read */
	uint64_t last_seq;      /* number of the last record, 0 when empty */
	unsigned char last_hash[AUDIT_HASH_BYTES];
	bool have_anchor;       /* audit.head was found and read */
	audit_head anchor;      /* what audit.head says */
	uint64_t problem_seq;   /* the record the first problem is at (0: none, or not one record) */
	/* The first problem, with its place, e.g. "record 1234: content does
	 * not match its hash (modified)"; "" when intact. */
	char message[320];
} audit_verdict;

/*
 * Walks the whole chain from record 1 and reports the first problem: a
 * record whose content does not match its hash, one that does not follow
 * its predecessor (removed, inserted, swapped or moved records), a log
 * that ends before the head in audit.head or does not pass through it, a
 * missing audit.head, a readers index that does not match the records (a
 * block's filter changed, a block row removed, inserted or moved).
 * `expect` (may be NULL) is a further head the log must pass through.
 * Tampering is reported in v (intact false), never repaired; the return
 * value is for failures to read (RK_EDB, RK_EIO, RK_ENOMEM).
 */
rk_err audit_verify(audit *a, const audit_head *expect, audit_verdict *v,
		    rk_errctx *ctx);

/* ---------------------------------------------------------------- queries */
/* audit_query.c */

typedef struct audit_filter {
	const char *org;       /* only this organisation's records; NULL: all */
	const char *object_id; /* only records naming this object; NULL: all */
	bool has_since;        /* at >= since */
	rk_time since;
	bool has_until;        /* at < until */
	rk_time until;
} audit_filter;

/* Receives one record; a non-RK_OK return stops the query and is returned. */
typedef rk_err (*audit_record_fn)(void *arg, const audit_record *rec);

/* The records that pass the filter, in number order. */
rk_err audit_show(audit *a, const audit_filter *f, audit_record_fn fn, void *arg,
		  rk_errctx *ctx);

/* One successful read of an object. */
typedef struct audit_read {
	uint64_t seq; /* the record */
	rk_time at;
	const char *user; /* NULL: anonymous */
	const char *org;
	const char *collection;
	const char *route;
} audit_read;

typedef rk_err (*audit_read_fn)(void *arg, const audit_read *r);

/*
 * Who read `object_id`: the records of GET requests answered 2xx that
 * name it, oldest first; only in `collection` when not NULL. With limit >
 * 0 only the newest `limit` reads are given and *more (may be NULL) says
 * whether older ones were left out.
 */
rk_err audit_readers(audit *a, const char *object_id, const char *collection,
		     size_t limit, audit_read_fn fn, void *arg, bool *more,
		     rk_errctx *ctx);

#endif
