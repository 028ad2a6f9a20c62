/*
 * stix.h: STIX 2.1 objects: validation, identity facts, markings.
 *
 * The hub, the CLI (`renkei validate`) and later the sensor take STIX from
 * untrusted sources; this module decides whether a JSON value is a valid STIX
 * 2.1 object or bundle and says precisely why not. Rules come from the STIX
 * 2.1 specification (OASIS, 2021): common properties (section 3), SDOs
 * (section 4), SROs (section 5), SCOs (section 6), marking definitions
 * (section 7.2), language content (7.1), extension definitions (7.3).
 * Per-type rules live in one table (stix_types.def): adding a type is one row
 * plus, where needed, one check function.
 *
 * Errors: every failure is RK_ESTIX (or RK_EINVAL for a non-object) with
 * ctx->path the JSON path of the offending value, built from the caller's
 * prefix ("objects[3]" -> "objects[3].valid_from") and ctx->msg the reason
 * ("not an RFC 3339 timestamp"). Warnings (custom properties, deprecated
 * vocabulary values) never fail validation; they go to an optional callback.
 *
 * Ownership: nothing here takes ownership of the json_t it is given; outputs
 * that point into the object (stix_info strings) are valid while it lives.
 * Thread-safe: no mutable global state.
 */
#ifndef RK_STIX_H
#define RK_STIX_H

#include "common.h"

/* ---------------------------------------------------------------- kinds */

typedef enum {
	STIX_KIND_SDO,
	STIX_KIND_SRO,
	STIX_KIND_SCO,
	STIX_KIND_META,   /* marking-definition, language-content, extension-definition */
	STIX_KIND_BUNDLE, /* only at the top level, never stored */
	STIX_KIND_CUSTOM, /* a syntactically valid type this table does not know */
} stix_kind;

/* stix_types.c */
/* Kind of a type name; STIX_KIND_CUSTOM for an unknown but well-formed name. */
stix_kind stix_type_kind(const char *type);
/* True if `type` matches the STIX type-name rule (section 2.9: lowercase
 * ASCII letters, digits and '-', 3 to 250 characters, no leading digit or
 * '-'), or "x-" custom names. */
bool stix_type_name_valid(const char *type);

/* ---------------------------------------------------------------- validation */
/* stix_validate.c */

typedef void (*stix_warn_fn)(void *arg, const char *path, const char *msg);

typedef struct stix_validate_opts {
	stix_warn_fn warn; /* may be NULL */
	void *warn_arg;
	/* Reject objects of types the table does not know (default: accept
	 * custom types that follow the naming rules, with a warning). */
	bool strict_types;
} stix_validate_opts;

/*
 * Validates one STIX 2.1 object (not a bundle). `path` is the JSON path of
 * obj in its document ("objects[3]", or "" for a bare object) and prefixes
 * every error path. opts may be NULL. Returns RK_OK or RK_ESTIX with ctx set.
 */
rk_err stix_validate_object(const json_t *obj, const char *path,
			    const stix_validate_opts *opts, rk_errctx *ctx);

/*
 * Validates a bundle: type "bundle", id "bundle--<uuid>", optional
 * "objects" array whose members are each validated. Stops at the first
 * invalid object; use stix_validate_object per member to collect all.
 * More than RK_MAX_OBJECTS_PER_ENVELOPE members is RK_ETOOBIG (path
 * "objects"). Bundle-level paths have no leading dot ("id",
 * "objects[3].valid_from"); a bare object's own properties do (".id").
 */
rk_err stix_validate_bundle(const json_t *bundle, const stix_validate_opts *opts,
			    rk_errctx *ctx);

/*
 * True if a granular-marking selector (STIX 2.1 section 7.2.3.1: "prop",
 * "prop.[2]", "prop.[0].sub") names a property or list element present in
 * obj. The validator requires every selector to resolve; a policy that
 * redacts marked content can use the same walk.
 */
bool stix_selector_resolves(const json_t *obj, const char *selector);

/* ---------------------------------------------------------------- facts */
/* stix_info.c */

/*
 * The facts a store needs about a valid object. `version` is the string
 * TAXII uses to name the version: `modified` if present, else `created`,
 * else NULL (SCOs and other objects without either; a store then uses the
 * time the object was added, TAXII 2.1 section 3.4.2 / 5.x).
 */
typedef struct stix_info {
	const char *type;
	const char *id;
	const char *spec_version;   /* "2.1" */
	const char *created;        /* may be NULL */
	const char *modified;       /* may be NULL */
	const char *version;        /* modified, else created, else NULL */
	rk_time version_time;       /* parsed `version`; 0 when version is NULL */
	const char *created_by_ref; /* may be NULL */
	stix_kind kind;
	bool revoked;
} stix_info;

/* Extracts the facts of an object that stix_validate_object accepted.
 * Returns RK_ESTIX if a required fact (type, id) is missing. */
rk_err stix_object_info(const json_t *obj, stix_info *out, rk_errctx *ctx);

/* True for "<type>--<RFC 4122 UUID>" with a valid type name; if `type` is
 * non-NULL the prefix must equal it. */
bool stix_id_valid(const char *id, const char *type);

/* stix_types.c */
/* True if an object of `type` must carry top-level property `prop` (the
 * common properties its kind requires, and the type's own required ones).
 * Used to withhold, rather than redact, an object whose required property a
 * reader may not see. */
bool stix_property_required(const char *type, const char *prop);
/* The same for one object: also the properties its values make required
 * (a malware's name when is_family is true, ...). */
bool stix_object_requires(const json_t *obj, const char *prop);

/* ---------------------------------------------------------------- markings */
/* stix_marking.c */

/* TLP levels, narrowest last. The order is used for comparisons: a higher
 * value discloses less. */
typedef enum {
	STIX_TLP_NONE = -1, /* not a TLP marking */
	STIX_TLP_CLEAR = 0, /* TLP 2.0 CLEAR; TLP 1.0 WHITE maps here */
	STIX_TLP_GREEN,
	STIX_TLP_AMBER,
	STIX_TLP_AMBER_STRICT,
	STIX_TLP_RED,
} stix_tlp;

/* The TLP level a marking-definition id stands for: the TLP 1.0 ids from
 * STIX 2.1 section 7.2.1.4 and the TLP 2.0 ids published by OASIS. */
stix_tlp stix_tlp_of_marking(const char *marking_id);
/* The canonical TLP 2.0 marking-definition id for a level. */
const char *stix_tlp_marking_id(stix_tlp level);
/* Parses "TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT",
 * "TLP:RED" (and "TLP:WHITE" as CLEAR), case-insensitive. */
stix_tlp stix_tlp_parse(const char *name);
/* "TLP:AMBER+STRICT" etc. */
const char *stix_tlp_name(stix_tlp level);
/* The full STIX marking-definition object for a TLP 2.0 level (new
 * reference), for a hub to serve alongside objects that refer to it. */
json_t *stix_tlp_marking_object(stix_tlp level);

#endif
