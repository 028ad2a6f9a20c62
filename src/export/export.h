/*
 * export.h: what an organisation may use in its own tools, written in the
 * formats those tools read (Zeek intel, Suricata datasets and rules, a DNS
 * response-policy zone, nftables sets, plain lists, CSV, a MISP event, a
 * STIX 2.1 bundle).
 *
 * Data flow: store rows --(policy_decide, POLICY_SEND_ONWARD)--> export_set
 * --(one writer per format)--> export_output (named files + ETag).
 *
 * Invariants:
 *  - export_select puts an indicator in a set only when policy_decide
 *    answered POLICY_SEND_ONWARD for that row with the export's
 *    destination: POLICY_ONWARD_INTERNAL and the organisation, or
 *    POLICY_ONWARD_PUBLIC. This module has no rule of its own about who
 *    may get what; it only narrows further (revoked and expired indicators
 *    are left out, and properties a granular marking may cover are not
 *    copied, see export_set_add).
 *  - Values come from pattern_exact_values (src/pattern); patterns that
 *    are not a plain list of values are not exported. Each value is
 *    normalised for its kind once (addresses canonical with host bits
 *    cleared, domains lower-case without the final dot, hashes lower-case)
 *    and a value that is not valid for its kind is left out and counted:
 *    a writer never sees a value it would have to escape into a broken
 *    file. What a format cannot carry (a URL in nftables) is left out and
 *    counted too.
 *  - Output is deterministic: values sorted, JSON with sorted keys, no
 *    clock read by the writers (the set carries its own time), so equal
 *    content gives equal bytes and the same ETag.
 *
 * Ownership: export_set and export_output are caller storage
 * (init/cleanup); strings handed in are copied.
 */
#ifndef RK_EXPORT_H
#define RK_EXPORT_H

#include "common.h"
#include "directory.h"
#include "pattern.h"
#include "policy.h"
#include "store.h"

/* ---------------------------------------------------------------- formats */
/* export_write.c */

typedef enum {
	EXPORT_ZEEK,
	EXPORT_SURICATA,
	EXPORT_RPZ,
	EXPORT_NFTABLES,
	EXPORT_PLAIN,
	EXPORT_CSV,
	EXPORT_MISP,
	EXPORT_STIX,
	EXPORT_N_FORMATS
} export_format;

/* "zeek" ... "stix"; NULL for a value out of range. */
const char *export_format_name(export_format f);
/* The media type a format's files are served as. */
const char *export_format_media_type(export_format f);
/* false for an unknown name. */
bool export_format_parse(const char *name, export_format *out);
/* "zeek, suricata, ...": for messages. */
const char *export_format_names(void);

/* ---------------------------------------------------------------- set */
/* export_set.c */

typedef struct export_indicator {
	char *id;
	char *name;           /* "" when absent or possibly covered by a granular marking */
	rk_time modified;
	json_t *stix;         /* the indicator as exported (see export_set_add) */
} export_indicator;

typedef struct export_value {
	pattern_vkind kind;
	char *value;          /* normalised */
	size_t indicator;     /* index into export_set.ind */
} export_value;

typedef struct export_set {
	char *org;            /* the organisation the export is for; NULL: public */
	export_indicator *ind;
	size_t n_ind, cap_ind;
	export_value *val;
	size_t n_val, cap_val;
	size_t not_exact;     /* indicators whose pattern is not a list of values */
	size_t invalid;       /* values not valid for their kind, left out */
	rk_time newest;       /* latest `modified` in the set; 0 when empty */
	rk_time expires;      /* earliest valid_until still ahead; 0: none */
	bool sorted;
} export_set;

/* org: the organisation id (copied), NULL for the public export. */
rk_err export_set_init(export_set *s, const char *org);
void export_set_cleanup(export_set *s);
/*
 * Adds one indicator (a valid STIX 2.1 indicator, as stored) and the exact
 * values of its pattern. A pattern that does not compile, or is not a
 * list of values, adds nothing and counts in not_exact; RK_OK. The
 * exported form keeps type, spec_version, id, created, modified, pattern,
 * pattern_type, pattern_version, valid_from, valid_until and
 * object_marking_refs; name and indicator_types only when the object has
 * no granular markings (one may cover them), and never references,
 * extensions or descriptions. Errors: RK_ENOMEM, RK_EINVAL (not an
 * indicator with an id).
 */
rk_err export_set_add(export_set *s, const json_t *indicator, rk_errctx *ctx);
/* Sorts indicators by id and values by (kind, value, indicator id);
 * export_render calls it. RK_ENOMEM leaves the set unsorted. */
rk_err export_set_sort(export_set *s);
/* Normalises a value of a kind into out (NUL-terminated); false when the
 * value is not valid for its kind (then out is unspecified). */
bool export_value_normalise(pattern_vkind kind, const char *value, size_t len,
			    char *out, size_t outlen);

/* ---------------------------------------------------------------- select */
/* export_select.c */

typedef struct export_request {
	const directory *dir;
	store *st;
	const char *org;  /* organisation id; NULL: the public export */
	rk_time now;      /* indicators with valid_until at or before it are expired */
	/* Optional: the user asking (the hub's HTTP route). Then only
	 * collections policy_decide(POLICY_READ_COLLECTION) lets that user
	 * read are walked: a user gets no more through an export than its
	 * role reads over TAXII. NULL: the organisation's whole export (an
	 * operator on the hub's machine, `renkei export`). */
	const policy_subject *subject;
} export_request;

/*
 * Fills s (initialised by the caller with the same org) with the latest
 * version of every indicator of every collection that policy_decide lets
 * go to the request's destination, leaving out revoked and expired ones.
 * Errors: RK_ENOTFOUND for an organisation not in the directory (message
 * names it), store errors, RK_ENOMEM.
 */
rk_err export_select(const export_request *rq, export_set *s, rk_errctx *ctx);

/* ---------------------------------------------------------------- output */
/* export_write.c */

#define EXPORT_MAX_FILES 8
#define EXPORT_ETAG_BUF 35 /* "\"" + 32 hex + "\"" + NUL */

typedef struct export_file {
	const char *name; /* static: "renkei.intel" ... */
	rk_buf body;
} export_file;

typedef struct export_output {
	export_file files[EXPORT_MAX_FILES];
	size_t n_files;   /* the first is the format's main file */
	size_t written;   /* values (or indicators, for misp and stix) written */
	size_t left_out;  /* values the format cannot carry */
	char etag[EXPORT_ETAG_BUF]; /* a strong ETag over every file's name and bytes */
} export_output;

void export_output_init(export_output *o);
void export_output_cleanup(export_output *o);
/*
 * Writes s (sorting it first) in format f into out (initialised by the
 * caller, empty). Errors: RK_ENOMEM, RK_EINVAL for an unknown format.
 */
rk_err export_render(export_set *s, export_format f, export_output *out, rk_errctx *ctx);
/* The file of out named name, or NULL. */
const export_file *export_output_file(const export_output *out, const char *name);

#endif
