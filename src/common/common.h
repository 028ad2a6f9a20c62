/*
 * common.h: the base every renkei module builds on.
 *
 * What lives here: the project-wide error enum (generated from
 * common_errors.def) and the error context that parsers fill with a human
 * message and the place it happened; a growable byte buffer; RFC 3339
 * timestamps as microseconds; RFC 4122 UUIDs; bounded JSON parsing; a
 * request-scoped arena for jansson's memory; base64url; random tokens;
 * structured JSON-lines logging.
 *
 * Dependencies: libc, jansson, libsodium, gnutls (SHA-1 for UUIDv5). Nothing
 * here depends on any other renkei module.
 *
 * Ownership: functions named x_new return heap memory the caller frees with
 * the matching x_free; x_init/x_cleanup work on caller storage; every free and
 * cleanup accepts NULL. No function here aborts on out-of-memory: it returns
 * RK_ENOMEM.
 */
#ifndef RK_COMMON_H
#define RK_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "limits.h"

/* ---------------------------------------------------------------- errors */
/* common_error.c */

typedef enum {
#define RK_ERROR(sym, http, title, text) sym,
#include "common_errors.def"
#undef RK_ERROR
	RK_ERR_COUNT
} rk_err;

/* Short fixed text for a code ("invalid STIX"); never NULL. */
const char *rk_strerror(rk_err code);
/* HTTP status a TAXII response carries for this code. */
int rk_err_http_status(rk_err code);
/* Reason phrase for that status ("Unprocessable Content"). */
const char *rk_err_title(rk_err code);

/*
 * Error context: filled at the point of failure with where (a JSON path such
 * as "objects[3].valid_from", a byte offset, a file:line) and why, in words a
 * user can act on. The code drives control flow; the message is for people.
 * The first failure recorded wins, so callers deeper in the stack keep the
 * most precise message; rk_errctx_clear() resets it.
 */
#define RK_ERRCTX_PATH 256
#define RK_ERRCTX_MSG 512
typedef struct rk_errctx {
	rk_err code;
	char path[RK_ERRCTX_PATH]; /* "" when there is no place to name */
	char msg[RK_ERRCTX_MSG];   /* the reason, without the path */
} rk_errctx;

void rk_errctx_clear(rk_errctx *ctx);
/* Records code, path (may be NULL) and a printf-style reason unless ctx
 * already holds an error; returns code so callers can `return rk_fail(...)`.
 * ctx may be NULL. */
rk_err rk_fail(rk_errctx *ctx, rk_err code, const char *path, const char *fmt,
	       ...) __attribute__((format(printf, 4, 5)));
/* "path: msg", or "msg" with no path, into out (always NUL-terminated). */
void rk_errctx_format(const rk_errctx *ctx, char *out, size_t outlen);

/* ---------------------------------------------------------------- buffer */
/* common_buf.c */

/* A growable byte buffer, always NUL-terminated after len bytes once any
 * append succeeded. */
typedef struct rk_buf {
	char *data;
	size_t len;
	size_t cap;
} rk_buf;

void rk_buf_init(rk_buf *b);
void rk_buf_cleanup(rk_buf *b);
void rk_buf_reset(rk_buf *b); /* len = 0, keeps memory */
rk_err rk_buf_reserve(rk_buf *b, size_t extra);
rk_err rk_buf_append(rk_buf *b, const void *data, size_t len);
rk_err rk_buf_puts(rk_buf *b, const char *s);
rk_err rk_buf_printf(rk_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Moves the data out; b is left empty. Caller frees the result. */
char *rk_buf_take(rk_buf *b);

/* ---------------------------------------------------------------- time */
/* common_time.c */

/* Microseconds since 1970-01-01T00:00:00Z. */
typedef int64_t rk_time;

#define RK_TIME_BUF 32 /* "YYYY-MM-DDTHH:MM:SS.ffffffZ" + NUL, with room */

/*
 * Parses an RFC 3339 timestamp in the form STIX 2.1 section 3.2 requires:
 * "YYYY-MM-DDTHH:MM:SS[.s+]Z", UTC ('Z' only, no offsets), with calendar
 * checks (month lengths, leap years; a leap second :60 is accepted and
 * folded into the next second). Sub-second digits beyond six are accepted
 * and truncated. Returns false on any deviation.
 */
bool rk_time_parse(const char *s, rk_time *out);
/* Same, but requires exactly `digits` sub-second digits (STIX properties
 * that mandate millisecond precision); digits 0 means none allowed. */
bool rk_time_parse_precision(const char *s, int digits, rk_time *out);
/* Formats with `digits` (0-6) sub-second digits and a trailing 'Z'. */
void rk_time_format(rk_time t, int digits, char out[RK_TIME_BUF]);
/* Current wall-clock time. */
rk_time rk_time_now(void);
/* Days from 1970-01-01 to year y, month m (1-12), day d of the proleptic
 * Gregorian calendar (negative before 1970). */
int64_t rk_days_from_civil(int64_t y, unsigned m, unsigned d);

/* ---------------------------------------------------------------- uuid */
/* common_uuid.c */

#define RK_UUID_BUF 37

/* True for a lowercase or uppercase 8-4-4-4-12 hex UUID whose variant is
 * RFC 4122 (10xx) and whose version is 1 to 8. */
bool rk_uuid_is_valid(const char *s);
/* New random (version 4) UUID, lowercase. */
void rk_uuid_v4(char out[RK_UUID_BUF]);
/* Name-based (version 5, SHA-1) UUID of `name` in namespace `ns` (a valid
 * UUID string), lowercase; as STIX 2.1 section 2.9 uses for deterministic
 * identifiers. Returns RK_EINVAL if ns is not a UUID. */
rk_err rk_uuid_v5(const char *ns, const char *name, size_t name_len,
		  char out[RK_UUID_BUF]);

/* ---------------------------------------------------------------- json */
/* common_json.c */

/*
 * Parses untrusted JSON text of `len` bytes: must be valid UTF-8, no
 * duplicate object keys, nesting at most max_depth, exactly one value.
 * On failure fills ctx with RK_EPARSE (or RK_ETOOBIG for depth) and a
 * message naming line, column and byte offset. *out is a new reference.
 */
rk_err rk_json_parse(const char *data, size_t len, size_t max_depth,
		     json_t **out, rk_errctx *ctx);
/* Reads a whole file (path "-" is standard input) of at most max_bytes and
 * parses it as above; the error path names the file. */
rk_err rk_json_load_file(const char *path, size_t max_bytes, size_t max_depth,
			 json_t **out, rk_errctx *ctx);
/* Compact, key-order-preserving serialisation; caller frees (libc memory,
 * not jansson's: see rk_arena_install_json). NULL on OOM. */
char *rk_json_dump(const json_t *v);
/* Appends v serialised with jansson's `flags` (JSON_COMPACT, ...) to b,
 * through json_dump_callback: the bytes json_dumps would return, in libc
 * memory. Use this, never json_dumps, whose result is jansson's memory.
 * RK_ENOMEM, or RK_EINVAL when jansson cannot serialise v; b is then
 * unchanged. */
rk_err rk_json_dump_to(rk_buf *b, const json_t *v, size_t flags);
/*
 * Appends the `len` bytes at s to b as one JSON string, quotes included,
 * byte for byte as rk_json_dump writes a json_t string: raw UTF-8 kept,
 * only '"', '\\' and control characters escaped (\" \\ \b \f \n \r \t,
 * else \u00XX in upper-case hex), '/' and DEL left alone. Lets a caller
 * write JSON text without building jansson values. Errors: RK_EINVAL when
 * s is not UTF-8 as jansson accepts it (json_string refuses such text;
 * overlong forms, surrogates and code points past U+10FFFF included), and
 * then b is unchanged; RK_ENOMEM.
 */
rk_err rk_json_put_string(rk_buf *b, const char *s, size_t len);

/* Where one array element lies in a JSON text: bytes [off, off + len). */
typedef struct rk_json_slice {
	size_t off, len;
	/* The bytes are exactly what rk_json_dump writes for the element
	 * once parsed (no whitespace, jansson's escapes, integers only), so
	 * they can be stored or sent without parsing and re-serialising. */
	bool canonical;
} rk_json_slice;

/*
 * Finds the elements of the array that is member `key` of the top-level
 * object of `data` (`len` bytes): out[i] for element i, *n_out elements.
 * Meant for text rk_json_parse accepted, so that slice i is the text of
 * json_array_get(member, i); on other input it never reads outside data
 * and fails. Nesting below max_depth levels only. Errors: RK_ENOTFOUND
 * (no such member, or its key is written with escapes), RK_EPARSE (not
 * JSON, or the member is not an array), RK_ETOOBIG (more than max
 * elements, or too deep). Allocates nothing.
 */
rk_err rk_json_array_slices(const char *data, size_t len, const char *key,
			    size_t max_depth, rk_json_slice *out, size_t max,
			    size_t *n_out);
/*
 * rk_json_array_slices over text that arrives a window at a time (a bundle
 * file too large to hold whole): the same scanner, the same verdicts, one
 * element at a time. The caller keeps the text from where the stream
 * stands (the start of its window) and passes it in again, with more
 * after it, whenever a call says *more; `eof` says the text given is all
 * there is, and only then is a failure final. The stream never looks at
 * the member list after the array, as rk_json_array_slices does not.
 *
 *   rk_json_stream_next     to the next element (st->at_element) or past
 *                           the array's end (st->done)
 *   rk_json_stream_element  measures the element the stream is at, or
 *   rk_json_stream_passed   when the caller measured it itself (it must
 *                           have read a complete JSON value there)
 *
 * Errors as rk_json_array_slices' (RK_ENOTFOUND, RK_EPARSE, RK_ETOOBIG);
 * st->n counts the elements passed. Allocates nothing.
 */
typedef struct rk_json_stream {
	const char *key;
	size_t depth; /* nesting levels left at the current position */
	size_t n;
	int state;
	bool at_element, done;
} rk_json_stream;

void rk_json_stream_init(rk_json_stream *st, const char *key, size_t max_depth);
/* *used: bytes of text passed (the caller drops them; 0 with *more). */
rk_err rk_json_stream_next(rk_json_stream *st, const char *text, size_t len, bool eof, size_t *used,
			   bool *more);
/* The element at text[0]: *elen bytes, passed. */
rk_err rk_json_stream_element(rk_json_stream *st, const char *text, size_t len, bool eof,
			      size_t *elen, bool *more);
void rk_json_stream_passed(rk_json_stream *st);
/* A stream that starts at an element of the array, as one that had just
 * entered the top-level member's '[' would stand there: for a second
 * reader of the same text that starts at an element boundary found by
 * other means (the caller checks that it is one). */
void rk_json_stream_init_in_array(rk_json_stream *st, const char *key, size_t max_depth);
/*
 * rk_json_parse, with the slices of member `key` as rk_json_array_slices
 * finds them, from the one scan of the text that also bounds its depth
 * (the hub's POST path reads each body once before jansson does). Errors
 * and *out are exactly rk_json_parse's. *slices (heap memory the caller
 * frees) and *n_slices are set only when the parse succeeded and the text
 * has that member with at most max_slices elements; else NULL and 0, and
 * the caller serialises what it needs.
 */
rk_err rk_json_parse_slices(const char *data, size_t len, size_t max_depth,
			    const char *key, size_t max_slices, json_t **out,
			    rk_json_slice **slices, size_t *n_slices, rk_errctx *ctx);

/* ---------------------------------------------------------------- arena */
/* common_arena.c */

/*
 * Request-scoped memory for jansson. rk_arena_install_json() makes jansson
 * allocate through rk_json_malloc/rk_json_free for the rest of the
 * process; while a thread has an arena active (rk_arena_begin .. _end),
 * what jansson allocates on that thread comes from the arena's chunks and
 * is released all at once by rk_arena_end, so json_delete's frees cost
 * nothing. Blocks are aligned to 16 bytes. The rules callers keep are in
 * common_arena.c's opening comment; the two that matter most: memory
 * jansson allocated is never handed to libc free(), and no jansson value
 * made inside a scope is used after it ends.
 *
 * RK_ARENA_ENABLED is 0 under AddressSanitizer: scopes still nest (or
 * refuse to) the same way, but every block is its own malloc, so the
 * sanitizers see each one. Ownership: rk_arena_init/cleanup on caller
 * storage; rk_arena_thread's arena belongs to the thread.
 */
#ifndef RK_ARENA_ENABLED
#if defined(__SANITIZE_ADDRESS__)
#define RK_ARENA_ENABLED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RK_ARENA_ENABLED 0
#endif
#endif
#endif
#ifndef RK_ARENA_ENABLED
#define RK_ARENA_ENABLED 1
#endif

#define RK_ARENA_ALIGN 16
#define RK_ARENA_CHUNK (64u * 1024u) /* bytes per chunk */
#define RK_ARENA_KEEP 16             /* chunks kept for the next scope */

typedef struct rk_arena_chunk rk_arena_chunk;
typedef struct rk_arena {
	rk_arena_chunk *used;  /* chunks of the current scope, newest first */
	rk_arena_chunk *spare; /* emptied chunks kept for the next scope */
	char *next, *end;      /* free space in `used` */
	size_t n_used, n_spare;
	bool active;
} rk_arena;

void rk_arena_init(rk_arena *a);
/* Frees every chunk. The arena must not be active. Accepts NULL. */
void rk_arena_cleanup(rk_arena *a);
/* Makes `a` the calling thread's arena until rk_arena_end. Scopes do not
 * nest: RK_EINVAL if the thread already has an arena active (or `a` is
 * active), and nothing changes; the caller then simply runs on the heap. */
rk_err rk_arena_begin(rk_arena *a);
/* Ends the scope: every block allocated in it is gone. Up to RK_ARENA_KEEP
 * chunks are kept for the next scope, the rest freed. */
void rk_arena_end(rk_arena *a);
/* The calling thread's own arena, made on first use and freed when the
 * thread exits; NULL when out of memory. */
rk_arena *rk_arena_thread(void);
/* Installs rk_json_malloc/rk_json_free as jansson's allocator, once per
 * process (later calls do nothing). Must run before jansson allocates
 * anything that is freed afterwards, and before other threads use
 * jansson. */
void rk_arena_install_json(void);
/* The allocator itself (for tests): a block from the thread's active
 * arena, or from malloc when there is none, when it is large or under
 * sanitizers; each carries a header saying which. rk_json_free of an
 * arena block does nothing; of a heap block, frees it. */
void *rk_json_malloc(size_t size);
void rk_json_free(void *p);

/* ---------------------------------------------------------------- codec */
/* common_codec.c */

/* base64url without padding. *out is heap memory the caller frees. */
rk_err rk_b64url_encode(const void *data, size_t len, char **out);
/* Returns RK_EINVAL on any character outside the alphabet. */
rk_err rk_b64url_decode(const char *s, size_t slen, unsigned char **out,
			size_t *outlen);
/* Value of one hexadecimal digit (either case), or -1. */
int rk_hex_value(char c);
/* Lowercase hex of `len` random bytes from the system CSPRNG into out,
 * which must hold 2*len+1 bytes. */
void rk_random_hex(char *out, size_t len);
/* Constant-time comparison of two equal-length buffers. */
bool rk_ct_equal(const void *a, const void *b, size_t len);
/* Reads a whole file (or "-" for stdin) up to max_bytes into a NUL-terminated
 * heap buffer. RK_ETOOBIG past max_bytes, RK_EIO on read errors; ctx says
 * which file and why. */
rk_err rk_read_file(const char *path, size_t max_bytes, char **out,
		    size_t *outlen, rk_errctx *ctx);
/* Replaces path with `len` bytes so that a reader, even after a crash,
 * sees the old content or the new one whole: written to "<path>.tmp"
 * (mode 0600), fsynced, renamed over path, the directory fsynced. RK_EIO
 * naming the file and the system's reason. */
rk_err rk_write_file_atomic(const char *path, const void *data, size_t len, rk_errctx *ctx);

/* ---------------------------------------------------------------- sqlite */
/* common_sqlite.c */

struct sqlite3;
/*
 * Opens DIR/FILE (DIR or the store location sqlite:DIR), a module's own
 * SQLite database: read-write and created
 * when missing (or read_only), serialised threading, busy_ms of waiting
 * for a lock, and `schema` (SQL, may be NULL) run once. RK_EDB naming the
 * file and SQLite's reason; RK_EINVAL for a path too long. The caller
 * closes *out with sqlite3_close.
 */
rk_err rk_sqlite_open(const char *dir, const char *file, bool read_only, int busy_ms,
		      const char *schema, struct sqlite3 **out, rk_errctx *ctx);

/* ---------------------------------------------------------------- log */
/* common_log.c */

typedef enum {
	RK_LOG_DEBUG,
	RK_LOG_INFO,
	RK_LOG_WARN,
	RK_LOG_ERROR,
} rk_log_level;

/* Process-wide log sink (default stderr, level INFO). Set once at start-up
 * by a program's main, before threads start. */
void rk_log_setup(FILE *sink, rk_log_level min_level);
/* Parses "debug", "info", "warn", "error". */
bool rk_log_level_parse(const char *s, rk_log_level *out);
/*
 * Writes one JSON line: {"ts":..., "level":..., "event":..., <fields>}.
 * `fields` may be NULL; the reference is stolen. Thread-safe: one write(2)
 * per line.
 */
void rk_log(rk_log_level level, const char *event, json_t *fields);
/* Convenience: {"msg": <formatted>} as the fields. */
void rk_logf(rk_log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------- misc */

#define RK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
