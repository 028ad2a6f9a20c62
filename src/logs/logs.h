/*
 * logs.h: observables from security logs, for the sensor.
 *
 * The sensor reads the logs that Zeek and Suricata already write and looks
 * for the hub's indicators in them. This module turns each log line into
 * observables (an IP address, a domain, a URL, a file hash, ...) tagged
 * with the field they came from, and hands them to a callback; matching
 * them against indicators is the caller's business.
 *
 * Formats (logs_parse.c): Zeek TSV (the #separator, #set_separator,
 * #empty_field, #unset_field, #path, #fields headers; \xHH escapes), Zeek
 * JSON (one object per line), Suricata EVE JSON (flow, dns v1/v2/v3, http,
 * tls, fileinfo), and plain text, where addresses, domains, URLs, hashes
 * and e-mail addresses are found anywhere in the line on word boundaries
 * (logs_text.c). LOGS_FMT_AUTO decides per line: a '#' header switches to
 * Zeek TSV, a '{' line is JSON, anything else is text unless a TSV header
 * was seen.
 *
 * Line rate: a reader allocates its line buffer once (logs_reader_init)
 * and nothing per line. Values handed to the callback point into that
 * buffer (JSON and TSV escapes are decoded in place, which only shrinks a
 * value) and are valid only during the callback; they are not
 * NUL-terminated. JSON lines are walked by a small scanner (logs_json.c),
 * never parsed into a tree.
 *
 * Bad input is counted, never fatal: a line longer than max_line, a line
 * that is not valid UTF-8, or a JSON line that does not scan is skipped,
 * counted in logs_stats and reported through the error callback with file
 * name and line number.
 *
 * Ownership: logs_reader_init/logs_reader_cleanup on caller storage; the
 * file name given to logs_read_* is borrowed for the duration of the call
 * (for logs_follow_open, until logs_follow_close). A reader is used by one
 * thread at a time.
 */
#ifndef RK_LOGS_H
#define RK_LOGS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common.h"

/* What an observable is. LOGS_KIND_UA is a whole HTTP User-Agent value;
 * X509_SHA1 and X509_SHA256 are certificates' fingerprints (hex, or hex
 * bytes joined by colons as Suricata writes them), apart from the file
 * hashes. */
#define LOGS_KINDS(X)              \
	X(IPV4, "ipv4")            \
	X(IPV6, "ipv6")            \
	X(DOMAIN, "domain")        \
	X(URL, "url")              \
	X(MD5, "md5")              \
	X(SHA1, "sha1")            \
	X(SHA256, "sha256")        \
	X(SHA512, "sha512")        \
	X(EMAIL, "email")          \
	X(UA, "user-agent")        \
	X(X509_SHA1, "x509-sha1")  \
	X(X509_SHA256, "x509-sha256")

/* Which field of the log it came from. */
#define LOGS_FIELDS(X)                      \
	X(TEXT, "text")                     \
	X(CONN_SRC, "conn.src")             \
	X(CONN_DST, "conn.dst")             \
	X(DNS_QUERY, "dns.query")           \
	X(DNS_ANSWER, "dns.answer")         \
	X(HTTP_HOST, "http.host")           \
	X(HTTP_URI, "http.uri")             \
	X(HTTP_UA, "http.user_agent")       \
	X(TLS_SNI, "tls.sni")               \
	X(TLS_CERT, "tls.cert_fingerprint") \
	X(FILE_HASH, "file.hash")           \
	X(X509_SUBJECT, "x509.subject")     \
	X(X509_SAN, "x509.san")

#define LOGS_X_ENUM(name, str) LOGS_KIND_##name,
typedef enum { LOGS_KINDS(LOGS_X_ENUM) LOGS_KIND_COUNT } logs_kind;
#undef LOGS_X_ENUM
#define LOGS_X_ENUM(name, str) LOGS_FIELD_##name,
typedef enum { LOGS_FIELDS(LOGS_X_ENUM) LOGS_FIELD_COUNT } logs_field;
#undef LOGS_X_ENUM

const char *logs_kind_name(logs_kind k);
const char *logs_field_name(logs_field f);

typedef enum {
	LOGS_FMT_AUTO = 0,
	LOGS_FMT_ZEEK_TSV,
	LOGS_FMT_JSON, /* Zeek JSON and Suricata EVE: told apart by their keys */
	LOGS_FMT_TEXT,
} logs_format;

/* One observable. val/len point into the reader's line buffer. ts_us is
 * microseconds since 1970 when has_ts (the log line's own timestamp). A
 * reader set to read times lazily (logs_reader_lazy_time) leaves a Zeek
 * TSV line's time as text instead (ts_text/ts_len, in the line buffer,
 * has_ts 0) until someone asks, as most observables never need it;
 * logs_obs_time reads the time either way. For LOGS_KIND_IPV4 and
 * LOGS_KIND_IPV6, addr holds the address already parsed (network order;
 * an IPv4 address in its first four bytes), so a matcher need not parse
 * the text again; for other kinds its content is undefined. */
typedef struct logs_obs {
	logs_kind kind;
	logs_field field;
	const char *val;
	size_t len;
	const char *file;
	uint64_t line;
	int64_t ts_us;
	int has_ts;
	const char *ts_text; /* NULL, or the line's time not yet read */
	size_t ts_len;
	uint8_t addr[16];
} logs_obs;

/* The observable's line time in *us (microseconds since 1970): 1 when the
 * line has one, 0 when it has none (or it does not read as a time). Valid
 * during the callback only, like val. */
int logs_obs_time(const logs_obs *o, int64_t *us);

/* Return 0 to go on, anything else to stop reading (logs_read_* return
 * RK_OK after a stop; logs_reader.stopped says so). */
typedef int (*logs_obs_fn)(const logs_obs *o, void *arg);
/* why is a static string. */
typedef void (*logs_err_fn)(const char *file, uint64_t line, const char *why,
			    void *arg);

typedef struct logs_stats {
	uint64_t lines;       /* lines seen, including bad and header lines */
	uint64_t bytes;       /* bytes read */
	uint64_t observables; /* handed to the callback */
	uint64_t too_long;    /* lines over max_line, skipped */
	uint64_t bad_utf8;    /* lines that are not UTF-8, skipped */
	uint64_t bad_json;    /* '{' lines that do not scan as JSON, skipped */
	uint64_t bad_tsv;     /* Zeek data lines with the wrong field count */
} logs_stats;

/* Columns of a Zeek TSV log we can keep track of. */
#define LOGS_TSV_MAX_FIELDS 64

/* Observables of one line queued before the callback sees them. */
#define LOGS_QUEUE 128

/* Reader state; fields are private except stats and stopped. */
typedef struct logs_reader {
	logs_stats stats;
	int stopped;
	/* configuration */
	logs_format format;
	int lazy_time; /* logs_reader_lazy_time */
	size_t max_line;
	logs_obs_fn on_obs;
	logs_err_fn on_err;
	void *arg;
	/* buffer: max_line + 1 bytes of line plus read-ahead */
	char *buf;
	size_t cap, start, end;
	int skipping; /* inside a line that outgrew the buffer */
	/* current line */
	const char *file;
	uint64_t line;
	/* Zeek TSV header state */
	int tsv;               /* a #fields header is in force */
	char sep, set_sep;
	char empty[16], unset[16];
	size_t empty_len, unset_len;
	int nfields;
	signed char col[LOGS_TSV_MAX_FIELDS]; /* field table index or -1 */
	int ts_col;
	const char *ts_text; /* the current line's time column, not yet read */
	size_t ts_len;
	/* derived from col[] (logs_tsv_plan): the columns to read, in order,
	 * and the separators that bound them (bit t: the t-th separator);
	 * ts_first: no time column, or it is read before any other */
	int nwant;
	unsigned char want[LOGS_TSV_MAX_FIELDS];
	uint64_t want_seps;
	int ts_first;
	/* a lazy-time Zeek line whose time comes first needs no queue: its
	 * observables go to the callback as they are found, through now */
	int direct;
	logs_obs now;
	/* observables of the current line, emitted when it is done */
	struct {
		const char *val;
		uint32_t len;
		unsigned char kind, field;
		uint8_t addr[16]; /* IPV4, IPV6 */
	} q[LOGS_QUEUE];
	int nq;
	/* follow state */
	int fd;
	uint64_t ino, dev;
	uint64_t off;
} logs_reader;

/* logs_read.c */

/* Default bound on one line (limits.h); longer lines are skipped and
 * counted. */
#define LOGS_DEFAULT_MAX_LINE RK_MAX_LOG_LINE
#define LOGS_MIN_MAX_LINE 256

/* Sets up r with a buffer for lines of up to max_line bytes (0 for the
 * default; raised to LOGS_MIN_MAX_LINE). on_err may be NULL. RK_ENOMEM. */
rk_err logs_reader_init(logs_reader *r, logs_format fmt, size_t max_line,
			logs_obs_fn on_obs, logs_err_fn on_err, void *arg);
/* From now on, a Zeek TSV line's time goes to the callback as text, read
 * by logs_obs_time only when asked (see logs_obs). */
void logs_reader_lazy_time(logs_reader *r);
/* Frees the buffer and closes a followed file. Accepts a zeroed reader. */
void logs_reader_cleanup(logs_reader *r);

/* Reads fd to its end. name is used in observables and error reports.
 * RK_EIO on a read error (counted lines so far stay counted). */
rk_err logs_read_fd(logs_reader *r, int fd, const char *name);
/* Opens path and reads it; RK_ENOTFOUND/RK_EIO when it cannot. */
rk_err logs_read_file(logs_reader *r, const char *path);
/* Reads standard input, named "-". */
rk_err logs_read_stdin(logs_reader *r);

/* Follows a growing file, like tail -F. logs_follow_open opens path (RK_OK
 * also when it does not exist yet: it is tried again on each poll).
 * logs_follow_poll reads what was added since the last poll and returns
 * without waiting; when path now names another file (rotation: a new inode)
 * it finishes the old file and starts the new one from its beginning, and
 * when the file shrank (truncation) it starts again from its beginning. A
 * partial last line waits for its newline. logs_follow_run polls every
 * poll_ms until *stop becomes nonzero or the callback stops; stop is an
 * atomic because another thread (a signal watcher, a supervisor) sets it
 * while the loop reads it. */
rk_err logs_follow_open(logs_reader *r, const char *path);
rk_err logs_follow_poll(logs_reader *r);
rk_err logs_follow_run(logs_reader *r, const _Atomic int *stop, int poll_ms);
void logs_follow_close(logs_reader *r);

/* Feeds one line (without its newline) as if read from the current file;
 * line may be changed in place. For tests and the fuzz harness. */
void logs_feed_line(logs_reader *r, char *line, size_t len);

/* logs_text.c */

/* What a whole value is: an IP address, a hash (by length), an e-mail
 * address, a URL (scheme://...) or a domain name; -1 for none of those. */
int logs_classify(const char *s, size_t len);

/* logs_block.c: logs read in blocks by one thread and parsed by others.
 *
 * A blocker cuts a file into blocks of whole lines (the sensor's reader
 * thread); any reader can then parse a block (a worker thread) given the
 * block's first line number and the Zeek TSV header state in force at its
 * first line (a logs_header snapshot), so line numbers and header changes
 * come out as if one reader had read the file from the start. */

/* The Zeek TSV header state of a reader, copied by value. */
typedef struct logs_header {
	int tsv;
	char sep, set_sep;
	char empty[16], unset[16];
	size_t empty_len, unset_len;
	int nfields;
	signed char col[LOGS_TSV_MAX_FIELDS];
	int ts_col;
} logs_header;

void logs_header_get(const logs_reader *r, logs_header *h);
void logs_header_set(logs_reader *r, const logs_header *h);

/* Parses len bytes of whole lines (the last newline may be missing) as
 * lines first_line, first_line + 1, ... of file (borrowed for the call).
 * The bytes may be changed in place. */
void logs_feed_block(logs_reader *r, char *data, size_t len, const char *file,
		     uint64_t first_line);

typedef struct logs_blocker {
	logs_reader hdr;   /* header lines only: the state for the next block */
	const char *path;  /* borrowed; "-" is standard input */
	int fd;
	int follow;
	uint64_t dev, ino, off;
	char *carry;       /* a partial line waiting for its end */
	size_t carry_len, cap;
	int skipping;      /* inside a line longer than the bound */
	int eof;
	uint64_t line;     /* lines cut so far */
	uint64_t bytes;
	uint64_t too_long;
	logs_err_fn on_err;
	void *arg;
} logs_blocker;

/* Opens path for blocks of at most cap bytes (cap > max_line of fmt's
 * readers, so a line that fits a reader fits a block). follow: keep
 * reading as the file grows, across rotation and truncation, like
 * logs_follow_*. on_err hears of lines longer than cap - 1 (skipped,
 * counted in too_long). RK_ENOTFOUND/RK_EIO when path cannot be opened
 * (a followed file may not exist yet), RK_ENOMEM. */
rk_err logs_blocker_open(logs_blocker *b, const char *path, logs_format fmt,
			 size_t cap, int follow, logs_err_fn on_err, void *arg);
/*
 * Fills buf (cap bytes) with the next block of whole lines: *len bytes
 * (0 when nothing is ready: end of file, or a followed file that has not
 * grown), numbered from *first_line, with *hdr the header state at its
 * first line. A file's last line without a newline is a line of its own
 * once the file ends (on rotation, too). RK_EIO on a read error. *done
 * becomes 1 at the end of a file that is not followed.
 */
rk_err logs_blocker_next(logs_blocker *b, char *buf, size_t *len,
			 uint64_t *first_line, logs_header *hdr, int *done);
void logs_blocker_close(logs_blocker *b);

#endif
