/*
 * feeds.h: third-party indicator feeds into STIX 2.1 indicators.
 *
 * Where it sits: `renkei feed import` and `renkei feed run` read a feed
 * (a file, a URL, a remote TAXII collection), this module turns it into indicators
 * that then go to a bundle file or to a hub collection. One import is one
 * feeds_import object: a parser (plain list, CSV with a column mapping,
 * MISP event JSON, a MISP feed directory, a STIX 2.1 bundle, a remote
 * TAXII 2.1 collection) hands it one
 * feeds_item per value; the import checks the value against the warning
 * lists, builds the indicator with a deterministic id, compares it with
 * the feed's state and keeps it only when it is new or changed.
 *
 *   parser --item--> warning lists --(drop | flag)--> indicator
 *          --(id, digest)--> state: new / changed / unchanged / duplicate
 *          --> objects (new and changed only); rejects (file:line, reason)
 *
 * Invariants:
 * - A parser never stops on bad input: each bad line or element is one
 *   reject naming where (file:line, or file: JSON path) and why; only
 *   out-of-memory ends an import early.
 * - The id of an indicator is UUIDv5(FEEDS_NAMESPACE, feed name, value
 *   type, normalised value): importing the same feed again yields the same
 *   ids, and an unchanged indicator is not emitted again.
 * - Every bound on a feed (line length, file size, values per import) is in
 *   limits.h (RK_FEED_*).
 *
 * A remote TAXII collection (feeds_taxii.c) is one more parser that hands
 * each object of a page to feeds_import_object, as feeds_stix.c does, and
 * keeps the collection's X-TAXII-Date-Added-Last in the feed's state. An
 * import ends in feeds_deliver (to a hub) or a bundle; `renkei feed run`
 * (feeds_schedule.c) runs one import per feed when it is due, from a
 * schedule file that holds what feeds_config holds plus a source, a
 * collection and an interval.
 *
 * Ownership: x_new/x_free; every free accepts NULL. Strings in a
 * feeds_item are borrowed for the call. Objects returned by
 * feeds_import_objects belong to the import. Not thread-safe per import;
 * a feeds_warnlists is read-only once loaded and may be shared.
 */
#ifndef RK_FEEDS_H
#define RK_FEEDS_H

#include <stdio.h>

#include "client.h"
#include "common.h"
#include "stix.h"

/* The namespace of feed indicator ids (UUIDv5, STIX 2.1 section 2.9). */
#define FEEDS_NAMESPACE "4d3a9f0e-7b1c-5e2a-9c44-3f6b8e0d2a71"

/* ---------------------------------------------------------------- values */
/* feeds_value.c */

/* The observable kinds a feed value can be, in the order of the value
 * table (feeds_value.c). */
typedef enum feeds_vtype {
	FEEDS_VNONE = -1,
	FEEDS_IPV4 = 0, /* address or CIDR block */
	FEEDS_IPV6,
	FEEDS_DOMAIN,
	FEEDS_URL,
	FEEDS_EMAIL,
	FEEDS_MD5,
	FEEDS_SHA1,
	FEEDS_SHA256,
	FEEDS_SHA512,
	FEEDS_VTYPE_COUNT,
} feeds_vtype;

#define FEEDS_VALUE_MAX 2048 /* longest normalised value, NUL included */

/* "ipv4", "domain", "sha256" ...; "?" for FEEDS_VNONE. */
const char *feeds_vtype_name(feeds_vtype t);
/* The type named by `name` (the names above, plus "ip", "cidr",
 * "hostname", "sha-256" style aliases); FEEDS_VNONE if unknown. */
feeds_vtype feeds_vtype_parse(const char *name);
/* The STIX object path a value of this type is compared on
 * ("ipv4-addr:value", "file:hashes.'SHA-256'"). */
const char *feeds_vtype_path(feeds_vtype t);
/*
 * Detects what s[0..len) is and writes its normalised form (lowercase
 * domains and hashes, canonical addresses, CIDR blocks with host bits
 * cleared, /32 and /128 written as addresses) to out (FEEDS_VALUE_MAX
 * bytes). Returns the type, or FEEDS_VNONE with *why saying what is wrong.
 */
feeds_vtype feeds_value_detect(const char *s, size_t len, char *out, const char **why);
/* The same, for a value that must be of type t. */
bool feeds_value_check(feeds_vtype t, const char *s, size_t len, char *out, const char **why);
/*
 * Undoes the usual defanging of a value: a leading "hxxp://" or
 * "hxxps://" (any case) becomes "http://" or "https://", and every "[.]",
 * "(.)" or "[dot]" (any case) becomes "." and every "[:]" ":". Writes the
 * result NUL-terminated to out (cap bytes) and returns its length, or
 * (size_t)-1 when it does not fit; *changed says whether anything was
 * rewritten.
 */
size_t feeds_refang(const char *s, size_t len, char *out, size_t cap, bool *changed);
/*
 * feeds_value_detect (t FEEDS_VNONE) or feeds_value_check (t a type) of
 * the refanged s[0..len): the type, or FEEDS_VNONE with *why. *refanged
 * says whether the value was defanged. For plain lists and CSV, where
 * analysts paste values defanged.
 */
feeds_vtype feeds_value_refang_parse(feeds_vtype t, const char *s, size_t len, char *out,
				     const char **why, bool *refanged);
/* Appends s as the inside of a STIX pattern string literal: ' and \ are
 * escaped with a backslash (STIX 2.1 section 9.3). */
rk_err feeds_pattern_quote(rk_buf *b, const char *s);
/* Appends "[<path> = '<value>']". */
rk_err feeds_pattern_simple(rk_buf *b, feeds_vtype t, const char *value);

/* ---------------------------------------------------------------- warning lists */
/* feeds_warn.c */

/*
 * Warning lists: values that are almost never malicious and do harm when
 * blocked (private and reserved ranges, public resolvers, top sites). A
 * built-in set (feeds_warn_builtin.c) and MISP warninglist JSON files
 * (types cidr, string, hostname, substring, regex; matching_attributes
 * limits which value types a list applies to).
 */
typedef struct feeds_warnlists feeds_warnlists;

/* An empty set, or with `builtin` the built-in lists. */
rk_err feeds_warn_new(bool builtin, feeds_warnlists **out, rk_errctx *ctx);
void feeds_warn_free(feeds_warnlists *w);
/* Adds one MISP warninglist file (or a directory holding list.json).
 * Errors (RK_EPARSE, RK_EINVAL, RK_EIO) name the file and the entry. */
rk_err feeds_warn_load(feeds_warnlists *w, const char *path, rk_errctx *ctx);
/* Adds a warninglist from its JSON text (as feeds_warn_load). */
rk_err feeds_warn_add_json(feeds_warnlists *w, const char *where, const char *data, size_t len,
			   rk_errctx *ctx);
size_t feeds_warn_count(const feeds_warnlists *w);
/* The name of list i ("rfc1918", "List of RFC 1918 CIDR blocks"). */
const char *feeds_warn_name(const feeds_warnlists *w, size_t i);
/* The first list the normalised value of type t is on, or -1. */
int feeds_warn_match(const feeds_warnlists *w, feeds_vtype t, const char *value);

/* ---------------------------------------------------------------- import */
/* feeds_import.c */

typedef enum feeds_format {
	FEEDS_FORMAT_PLAIN,
	FEEDS_FORMAT_CSV,
	FEEDS_FORMAT_MISP,
	FEEDS_FORMAT_MISP_FEED,
	FEEDS_FORMAT_STIX,
	FEEDS_FORMAT_TAXII, /* feeds_import_taxii, not feeds_import_path */
} feeds_format;

/* "plain", "csv", "misp", "misp-feed", "stix", "taxii"; false if unknown. */
bool feeds_format_parse(const char *name, feeds_format *out);
/* The name of a format, "?" if unknown. */
const char *feeds_format_name(feeds_format fmt);

typedef enum feeds_on_warning {
	FEEDS_WARN_DROP, /* a value on a warning list is not imported */
	FEEDS_WARN_FLAG, /* imported with the label "warning-list:<name>" */
} feeds_on_warning;

/* A CSV column mapping: 1-based column numbers, 0 when absent; or header
 * names resolved against the header row. */
#define FEEDS_CSV_NAME 128
typedef struct feeds_csv_opts {
	char delimiter;      /* ',' by default */
	bool header;         /* the first record names the columns */
	unsigned value_col, name_col, description_col;
	char value_name[FEEDS_CSV_NAME], name_name[FEEDS_CSV_NAME],
		description_name[FEEDS_CSV_NAME];
	feeds_vtype type;    /* FEEDS_VNONE: detected per value */
} feeds_csv_opts;

/* Defaults: ',' delimiter, no header, value in column 1, type detected. */
void feeds_csv_opts_init(feeds_csv_opts *o);
/*
 * Parses a mapping such as "value=2,type=ipv4,name=3" or
 * "value=source ip,description=comment" (names imply a header row). Keys:
 * value, type, name, description. RK_EINVAL with ctx naming the key.
 */
rk_err feeds_csv_opts_parse(const char *spec, feeds_csv_opts *o, rk_errctx *ctx);

/* What a feed is and how its indicators are made; strings borrowed for
 * the import's life. */
typedef struct feeds_config {
	const char *name;        /* the feed's name: part of every id; required */
	stix_tlp marking;        /* object_marking_refs */
	int confidence;          /* 0-100, or -1 for none */
	const char *identity;    /* created_by_ref (identity--...), or NULL */
	const char *state_dir;   /* where the feed's state is kept; NULL: none */
	const feeds_warnlists *warn; /* NULL: no warning lists */
	feeds_on_warning on_warning;
	rk_time now;             /* 0: the current time */
	bool all_attributes;     /* MISP: also attributes without to_ids */
} feeds_config;

/* One value a parser found. Composite patterns (MISP filename|md5,
 * domain|ip ...) set `pattern`; else it is built from type and value. */
typedef struct feeds_item {
	const char *where;       /* "file:line" or "file: path" */
	feeds_vtype type;        /* of value */
	const char *value;       /* normalised */
	feeds_vtype type2;       /* a second value on warning lists, or FEEDS_VNONE */
	const char *value2;
	const char *key;         /* what the id is made from beyond the feed
				  * name; NULL: "<type>|<value>" */
	const char *pattern;     /* NULL: [<path> = '<value>'] */
	const char *name;        /* may be NULL */
	const char *description; /* may be NULL */
	const char *const *labels; /* extra labels */
	size_t n_labels;
	rk_time valid_from;      /* when the source saw it first (MISP
				  * first_seen); 0: the first version's time */
	bool refanged;           /* the value was written defanged */
} feeds_item;

typedef struct feeds_counts {
	uint64_t read;        /* values and lines looked at (not comments) */
	uint64_t imported;    /* emitted: new + changed */
	uint64_t fresh;       /* new ids */
	uint64_t changed;     /* known ids with new content: a new version */
	uint64_t unchanged;   /* known ids, same content: not emitted */
	uint64_t duplicate;   /* an id seen earlier in this import */
	uint64_t warned;      /* on a warning list (dropped + flagged) */
	uint64_t dropped, flagged;
	uint64_t rejected;    /* bad lines and elements */
	uint64_t refanged;    /* values written defanged (hxxp://, [.] ...),
			       * taken once refanged (plain and CSV) */
	uint64_t skipped;     /* not for import (MISP attributes without
			       * to_ids or of types with no pattern, STIX
			       * objects that are not indicators) */
	uint64_t gone;        /* ids in the state that this import lacked (never
			       * for a TAXII source, read from a checkpoint) */
} feeds_counts;

typedef struct feeds_import feeds_import;

/* Starts an import, reading the feed's state from cfg->state_dir (made if
 * missing). Errors: RK_EINVAL (no name, bad confidence or identity),
 * RK_EIO (state unreadable), RK_ENOMEM. */
rk_err feeds_import_new(const feeds_config *cfg, feeds_import **out, rk_errctx *ctx);
void feeds_import_free(feeds_import *imp);
/* Reads a file or directory in `fmt` (csv may be NULL for the defaults);
 * what is wrong inside is rejected, only RK_ENOMEM and an unreadable
 * path are errors. */
rk_err feeds_import_path(feeds_import *imp, feeds_format fmt, const char *path,
			 const feeds_csv_opts *csv, rk_errctx *ctx);
/* The same over a file's text already read (a feed fetched over HTTP);
 * `file` names it in rejects. Not for misp-feed and taxii. */
rk_err feeds_import_data(feeds_import *imp, feeds_format fmt, const char *file,
			 const char *data, size_t len, const feeds_csv_opts *csv, rk_errctx *ctx);
/* For parsers: one value; only RK_ENOMEM is returned. */
rk_err feeds_import_item(feeds_import *imp, const feeds_item *it);
/* For parsers: one STIX object passed through (validated here). */
rk_err feeds_import_object(feeds_import *imp, const char *where, json_t *obj);
/* For parsers: one rejected line or element (counted as read). */
rk_err feeds_import_reject(feeds_import *imp, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* For parsers: one element that is not for import. */
void feeds_import_skip(feeds_import *imp);
/* Ends the import: counts the ids that disappeared and, with a state
 * directory, writes the state (atomically). Call once, after the last
 * parser. RK_EIO naming the file. */
rk_err feeds_import_finish(feeds_import *imp, rk_errctx *ctx);

const feeds_counts *feeds_import_counts(const feeds_import *imp);
/* The emitted objects in order (borrowed array). */
json_t *feeds_import_objects(const feeds_import *imp);
/* The rejects: [{"where": "file:3", "reason": "..."}] (borrowed). */
json_t *feeds_import_rejects(const feeds_import *imp);
/* Ids in the state this import did not see (borrowed array of strings;
 * filled by feeds_import_finish). */
json_t *feeds_import_gone(const feeds_import *imp);
/* Values on warning list i of cfg->warn (dropped or flagged). */
uint64_t feeds_import_warn_hits(const feeds_import *imp, size_t i);
/* A bundle of the emitted objects (new reference), with the marking
 * definition they refer to. NULL on out-of-memory. */
json_t *feeds_import_bundle(const feeds_import *imp);

/* ---------------------------------------------------------------- delivery */
/* feeds_deliver.c */

/* What the hub said of the objects delivered. */
typedef struct feeds_delivery {
	uint64_t succeeded, failed, pending;
} feeds_delivery;

/*
 * Sends the import's objects (new and changed) to collection `collection`
 * of the hub `remote`, with the marking definition of `marking` first, and
 * counts each object's outcome; each failure is written to report
 * ("failed: <id>: <reason>"; report may be NULL), then one "hub: ..." line.
 * An error when a request failed (the hub down, refusing the request);
 * RK_OK with out->failed or out->pending set when it refused objects. The
 * caller finishes the import (writes the state) only when neither is set.
 */
rk_err feeds_deliver(const client_remote *remote, const char *collection, const feeds_import *imp,
		     stix_tlp marking, FILE *report, feeds_delivery *out, rk_errctx *ctx);
/* The summary of an import for an operator: every listed reject as
 * "rejected: <where>: <reason>", one line of counts, the refanged count
 * and the hits per warning list of warn (may be NULL). */
void feeds_import_summary(const feeds_import *imp, const feeds_warnlists *warn, FILE *out);

/* ---------------------------------------------------------------- schedule */
/* feeds_schedule.c */

/* One [feed NAME] section of a schedule file. */
typedef struct feeds_job {
	char *name;
	feeds_format format;
	bool has_format;
	char *source;           /* a file, a directory (misp-feed), an http(s)
				 * URL, or for taxii the server's URL */
	char *collection;       /* the hub collection the indicators go to */
	stix_tlp marking;
	int confidence;         /* -1: none */
	char *identity;         /* created_by_ref, or NULL */
	unsigned interval;      /* seconds between runs */
	feeds_on_warning on_warning;
	bool all_attributes;
	feeds_csv_opts csv;
	char *source_token_file; /* the source's credentials, or NULL */
	char *source_root, *source_cacert, *source_collection; /* taxii */
	unsigned source_limit;
	long timeout;           /* seconds per request to the source; 0: default */
} feeds_job;

/* A schedule file: the hub, the state directory, the warning lists, the
 * feeds. */
typedef struct feeds_schedule {
	char *path;
	char *hub, *token_file, *root, *cacert; /* where the indicators go */
	char *state;            /* the feeds' state and status files */
	bool builtin_warninglists;
	char **warninglists;
	size_t n_warninglists;
	feeds_job *jobs;
	size_t n_jobs;
} feeds_schedule;

/* Reads and checks a schedule file whole; RK_ECONFIG naming file:line
 * and the key, or the section and what it lacks. */
rk_err feeds_schedule_load(const char *path, feeds_schedule **out, rk_errctx *ctx);
void feeds_schedule_free(feeds_schedule *s);
const feeds_job *feeds_schedule_find(const feeds_schedule *s, const char *name);
/* "90", "90s", "15m", "1h", "1d" into seconds, within the bounds of
 * limits.h; false otherwise. */
bool feeds_interval_parse(const char *text, unsigned *out);

/* What the last run of a feed left (its status file). */
typedef struct feeds_job_status {
	rk_time last_attempt, last_success; /* 0: never */
	unsigned failures;                  /* consecutive failed runs */
	char last_error[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
	char etag[CLIENT_ETAG_MAX];          /* of the source's last delivered copy */
	feeds_counts counts;                /* of the last import that ran */
	feeds_delivery delivered;
} feeds_job_status;

/* The feed's status; all zero when it never ran. A damaged status file is
 * logged and read as never run. */
rk_err feeds_job_status_load(const feeds_schedule *s, const feeds_job *j, feeds_job_status *st,
			     rk_errctx *ctx);
/* When the feed should run next: the last attempt plus the interval, or
 * after a failure plus RK_FEED_RETRY_FIRST doubled per failure in a row
 * (never more than the interval); 0 when it never ran. */
rk_time feeds_job_due(const feeds_job *j, const feeds_job_status *st);
/*
 * Runs the feed once: reads its source (an http(s) source conditionally,
 * with the ETag of the last delivered run), imports, delivers to the hub,
 * and only when the hub took everything writes the feed's state; then
 * writes the status, failed or not. The summary and each refused object
 * go to report (may be NULL). *st is the status after the run.
 */
rk_err feeds_job_run(const feeds_schedule *s, const feeds_job *j, const feeds_warnlists *warn,
		     FILE *report, feeds_job_status *st, rk_errctx *ctx);

/* ---------------------------------------------------------------- parsers */
/* Each takes the whole text of one file (at most RK_FEED_MAX_FILE bytes),
 * `file` naming it in rejects; only RK_ENOMEM is returned. */

/* feeds_plain.c: one value per line, then any text. */
rk_err feeds_parse_plain(feeds_import *imp, const char *file, const char *data, size_t len);
/* feeds_csv.c: RFC 4180 records through a column mapping. */
rk_err feeds_parse_csv(feeds_import *imp, const char *file, const char *data, size_t len,
		       const feeds_csv_opts *o);
/* feeds_misp.c: {"Event": ...}, {"response": [{"Event": ...}, ...]} or
 * an array of either. */
rk_err feeds_parse_misp(feeds_import *imp, const char *file, const char *data, size_t len);
/* feeds_misp.c: a MISP feed directory: manifest.json naming <uuid>.json
 * events. An unreadable directory or manifest is an error (ctx). */
rk_err feeds_parse_misp_dir(feeds_import *imp, const char *dir, rk_errctx *ctx);
/* Reads the file `name` of a MISP feed ("manifest.json", "<uuid>.json")
 * into *data (NUL-terminated heap memory, at most RK_FEED_MAX_FILE bytes). */
typedef rk_err (*feeds_read_fn)(void *arg, const char *name, char **data, size_t *len,
				rk_errctx *ctx);
/* The same over any store of the feed's files (a directory, a web
 * server): `base` names it in rejects and errors. */
rk_err feeds_parse_misp_feed(feeds_import *imp, const char *base, feeds_read_fn read,
			     void *arg, rk_errctx *ctx);
/* feeds_misp.c: the STIX pattern of a MISP attribute, or FEEDS_VNONE
 * when the type has none (out left empty); *why on a bad value. Sets
 * item->type/value/type2/value2/pattern into the buffers given. */
typedef struct feeds_misp_value {
	feeds_vtype type, type2;
	char value[FEEDS_VALUE_MAX], value2[FEEDS_VALUE_MAX];
	rk_buf pattern;
} feeds_misp_value;
/* Returns 1 mapped, 0 type not imported, -1 bad value (*why). */
int feeds_misp_map(const char *misp_type, const char *value, feeds_misp_value *out,
		   const char **why);
/* feeds_stix.c: a bundle, envelope, array of objects or one object. */
rk_err feeds_parse_stix(feeds_import *imp, const char *file, const char *data, size_t len);

/* feeds_taxii.c: a remote TAXII 2.1 collection. */
typedef struct feeds_taxii_source {
	client_remote remote;   /* the server, its token, API root, TLS */
	const char *collection; /* the collection's id */
	unsigned page_limit;    /* objects asked for per page; 0: RK_FEED_PAGE_LIMIT */
} feeds_taxii_source;

/*
 * Reads the indicators the collection gained since the checkpoint the
 * feed's state holds for this source (all of them the first time), page
 * by page (added_after, then `next`), each through feeds_import_object.
 * The newest X-TAXII-Date-Added-Last becomes the state's checkpoint, which
 * feeds_import_finish writes with the rest of the state; without finish
 * nothing moves. A source that cannot be reached, times out, refuses the
 * request or answers something that is not a TAXII envelope is an error
 * (RK_EUNAVAIL, RK_EIO, the HTTP status's code ...) with ctx naming the
 * source; what was read before it stays in the import, but the caller
 * should not finish it. RK_EINVAL for a source with no URL or collection,
 * or with white space in them.
 */
rk_err feeds_import_taxii(feeds_import *imp, const feeds_taxii_source *src, rk_errctx *ctx);

#endif
