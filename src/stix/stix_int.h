/*
 * stix_int.h: what the files of the stix module share and nobody else sees.
 *
 * Validation walks one object with a stix_vctx: the caller's options, the
 * error context, and the JSON path of the value being looked at, kept in a
 * fixed buffer that grows and shrinks as the walk descends (push returns the
 * old length, pop restores it). Nothing is allocated per property; messages
 * are only formatted when something fails or a warning callback is set.
 *
 * Invariants: v->path is always NUL-terminated at v->plen; a push that does
 * not fit is truncated (the path then ends in "...") but pop still restores
 * the exact previous state. The first error recorded in v->err wins (see
 * rk_fail), so check helpers can simply return their rk_err upwards.
 */
#ifndef RK_STIX_INT_H
#define RK_STIX_INT_H

#include "stix.h"

typedef struct stix_vctx {
	const stix_validate_opts *opts;
	rk_errctx *err;
	const json_t *root; /* the object being validated (selectors resolve here) */
	size_t plen;
	char path[RK_ERRCTX_PATH];
} stix_vctx;

/* ---------------------------------------------------------------- table */
/* stix_types.c */

/* Which set of common properties a type carries (STIX 2.1 sections 3.2,
 * 6.1, 7.2.1): it decides which common properties are required and which
 * are defined (so not "custom"). */
typedef enum {
	STIX_PROF_SDO,     /* SDOs, SROs, language-content, extension-definition */
	STIX_PROF_SCO,     /* cyber-observables */
	STIX_PROF_MARKING, /* marking-definition: created but never modified */
} stix_profile;

/* Flags of a table row. */
#define STIX_F_ANY 0x1u /* at least one type-specific property must be present */

typedef rk_err (*stix_check_fn)(stix_vctx *v, const json_t *obj);

typedef struct stix_type_def {
	const char *name;
	stix_kind kind;
	stix_profile profile;
	unsigned flags;
	const char *const *required; /* NULL-terminated */
	const char *const *optional; /* NULL-terminated */
	stix_check_fn check;         /* may be NULL */
} stix_type_def;

typedef struct stix_ext_def {
	const char *name;     /* "archive-ext" */
	const char *sco_type; /* the SCO it extends */
	unsigned flags;
	const char *const *required;
	const char *const *optional;
} stix_ext_def;

const stix_type_def *stix_type_lookup(const char *type);
const stix_ext_def *stix_ext_lookup(const char *name);
/* True if name is in the NULL-terminated list. */
bool stix_name_in(const char *name, const char *const *list);
/* Type-name rule on a counted string (see stix_type_name_valid). */
bool stix_type_name_valid_n(const char *s, size_t n);

/* ---------------------------------------------------------------- paths */
/* stix_props.c */

void stix_vctx_init(stix_vctx *v, const char *path,
		    const stix_validate_opts *opts, rk_errctx *err);
size_t stix_path_key(stix_vctx *v, const char *key);
size_t stix_path_index(stix_vctx *v, size_t i);
void stix_path_pop(stix_vctx *v, size_t old);

/* Records RK_ESTIX at the current path; returns RK_ESTIX. */
rk_err stix_fail(stix_vctx *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same, at path + "." + key. */
rk_err stix_fail_key(stix_vctx *v, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Calls the warning callback (if any) at path + "." + key (key may be
 * NULL). */
void stix_warn(stix_vctx *v, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------- properties */
/* stix_props.c: one helper per STIX property type. Each looks up `key` in
 * obj; absent and !req is RK_OK (outputs untouched), absent and req is
 * "required property missing". Errors name path.key. */

/* json_int_t is long long (jansson with JSON_INTEGER_IS_LONG_LONG). */
#define STIX_INT_MAX ((json_int_t)9223372036854775807LL)
#define STIX_INT_MIN (-STIX_INT_MAX - 1)

#define STIX_TYPES(...) ((const char *const[]){__VA_ARGS__, NULL})

rk_err stix_p_required(stix_vctx *v, const json_t *obj, const char *key);
rk_err stix_p_string(stix_vctx *v, const json_t *obj, const char *key,
		     bool req, const char **out);
rk_err stix_p_bool(stix_vctx *v, const json_t *obj, const char *key, bool req,
		   bool *out);
rk_err stix_p_int(stix_vctx *v, const json_t *obj, const char *key, bool req,
		  json_int_t min, json_int_t max);
rk_err stix_p_number(stix_vctx *v, const json_t *obj, const char *key,
		     bool req, double min, double max);
/* min_digits: fewest sub-second digits (3 for created/modified). *present
 * (may be NULL) tells whether the value was there. */
rk_err stix_p_time(stix_vctx *v, const json_t *obj, const char *key, bool req,
		   int min_digits, rk_time *out, bool *present);
/* later must be >= earlier (or > when strict) when both are present. */
rk_err stix_p_time_order(stix_vctx *v, const json_t *obj, const char *earlier,
			 const char *later, bool strict);
/* An identifier whose type is in `types` (NULL: any type). */
rk_err stix_p_ref(stix_vctx *v, const json_t *obj, const char *key, bool req,
		  const char *const *types);
/* Same, but the type must NOT be in `forbidden`. */
rk_err stix_p_ref_not(stix_vctx *v, const json_t *obj, const char *key,
		      bool req, const char *const *forbidden);
rk_err stix_p_refs(stix_vctx *v, const json_t *obj, const char *key, bool req,
		   const char *const *types);
rk_err stix_p_strings(stix_vctx *v, const json_t *obj, const char *key,
		      bool req);
/* String whose value must be one of `values` (a closed enumeration). */
rk_err stix_p_enum(stix_vctx *v, const json_t *obj, const char *key, bool req,
		   const char *const *values);
/* String (or list of strings if `list`) checked against an open vocabulary:
 * values outside it only warn. */
rk_err stix_p_vocab(stix_vctx *v, const json_t *obj, const char *key,
		    bool req, bool list, const char *const *values);
rk_err stix_p_hashes(stix_vctx *v, const json_t *obj, const char *key,
		     bool req);
rk_err stix_p_dict(stix_vctx *v, const json_t *obj, const char *key, bool req);
rk_err stix_p_kill_chain(stix_vctx *v, const json_t *obj, const char *key);
rk_err stix_p_hex(stix_vctx *v, const json_t *obj, const char *key, bool req);
rk_err stix_p_binary(stix_vctx *v, const json_t *obj, const char *key,
		     bool req);

/* ---------------------------------------------------------------- checks */
/* stix_sdo.c, stix_sco.c, stix_validate.c: per-type checks named in
 * stix_types.def. */

#define STIX_TYPE(sym, name, kind, prof, flags, req, opt, check) \
	rk_err check(stix_vctx *v, const json_t *obj);
#define STIX_EXT(name, sco, flags, req, opt)
#include "stix_types.def"
#undef STIX_TYPE
#undef STIX_EXT

/* stix_sco.c: deeper checks of a predefined SCO extension (name is one of
 * the STIX_EXT rows). */
rk_err stix_check_sco_ext(stix_vctx *v, const char *name, const json_t *ext);
/* stix_sco.c: syntax of address values, exposed for the unit tests. */
bool stix_ipv4_valid(const char *s);
bool stix_ipv6_valid(const char *s);
bool stix_mac_valid(const char *s);

/* stix_marking.c */
/* STIX 2.1 section 7.2.1.4 and TLP 2.0: checks a marking-definition whose
 * id, definition or extensions claim to be TLP. */
rk_err stix_check_tlp_marking(stix_vctx *v, const json_t *obj);

#endif
