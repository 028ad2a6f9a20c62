/*
 * pattern.h: STIX 2.1 Patterning (STIX 2.1 specification, section 9):
 * compile a pattern, evaluate it against observed-data.
 *
 * An indicator's `pattern` is text from an untrusted producer. pattern_compile
 * turns it into an immutable tree (lexer and recursive-descent parser in
 * pattern_parse.c, following the normative ANTLR grammar STIXPattern.g4 of
 * the OASIS pattern validator); constants are decoded once there (hex and
 * base64 binaries, t'' timestamps, CIDR blocks, regular expressions compiled
 * with PCRE2), so that evaluation (pattern_eval.c) allocates nothing.
 *
 * Precedence, tightest first (section 9.5, 9.6): inside [...], AND then OR;
 * between observation expressions, qualifiers (WITHIN, REPEATS, START/STOP)
 * then AND, then OR, then FOLLOWEDBY. A comparison negated with NOT puts it
 * before the operator: `file:name NOT = 'a'`.
 *
 * Evaluation follows the OASIS reference matcher: the comparisons inside one
 * [...] must hold for one root object of one observed-data (AND within the
 * same object); an observed-data with number_observed N stands for N
 * observations; AND, FOLLOWEDBY and REPEATS combine observations that are
 * distinct; FOLLOWEDBY, WITHIN and START/STOP ask whether timestamps can be
 * chosen inside each observation's [first_observed, last_observed] that
 * satisfy them.
 *
 * Errors: pattern_compile fails with RK_EINVAL (or RK_ETOOBIG past a limit
 * below) and ctx->msg "at N: reason", N the 0-based byte offset in the text
 * ("at 17: expected ']' after comparison"). pattern_obs_load fails with
 * RK_EINVAL and ctx->path the JSON path of the bad observed-data property.
 *
 * Ownership and threads: pattern_compile and pattern_obs_load return heap
 * objects the caller frees with the matching _free (NULL accepted). Both are
 * immutable once made, so any number of threads may evaluate the same
 * pattern against the same set at once (PCRE2's scratch space is one small
 * block per thread, made on its first MATCHES and freed when it ends). An
 * observation set keeps a reference on the json_t it was loaded from; that
 * json_t must not change while the set lives.
 */
#ifndef RK_PATTERN_H
#define RK_PATTERN_H

#include "common.h"

/* ---------------------------------------------------------------- limits */

/* Longest pattern text accepted, in bytes. */
#define PATTERN_MAX_LEN 65536
/* Nesting of parentheses and brackets. */
#define PATTERN_MAX_DEPTH 64
/* Observation expressions ([...]) in one pattern. */
#define PATTERN_MAX_OBSERVATIONS 128
/* Comparisons in one pattern. */
#define PATTERN_MAX_COMPARISONS 4096
/* Largest REPEATS count. */
#define PATTERN_MAX_REPEATS 1000
/* observed-data objects in one observation set. */
#define PATTERN_MAX_OBSERVED 4096
/* Distinct observed-data one combined match may draw on. */
#define PATTERN_MAX_BINDING 32
/* Work one evaluation may do (candidate observations tried) before it gives
 * up with RK_ETOOBIG: combinations of AND/FOLLOWEDBY/REPEATS grow as a
 * product of the candidates. */
#define PATTERN_MAX_STEPS 2000000u
/* Nesting of the search: one level per REPEATS round and per AND or
 * FOLLOWEDBY operand on the way to a match (nested REPEATS multiply). Each
 * level takes under 1 KiB of stack, so an evaluation needs about 1.5 MiB
 * at most (more under sanitizers). */
#define PATTERN_MAX_EVAL_DEPTH 1200

typedef struct pattern pattern;
typedef struct pattern_obs_set pattern_obs_set;

/* ---------------------------------------------------------------- compile */
/* pattern_parse.c */

/*
 * Compiles `len` bytes of pattern text (need not be NUL-terminated). On
 * success *out is a new pattern the caller frees with pattern_free. Errors:
 * RK_EINVAL with ctx->msg "at N: reason"; RK_ETOOBIG past a limit above;
 * RK_ENOMEM.
 */
rk_err pattern_compile(const char *text, size_t len, pattern **out, rk_errctx *ctx);
void pattern_free(pattern *p);
/* Number of observation expressions ([...]) and comparisons compiled. */
size_t pattern_observation_count(const pattern *p);
size_t pattern_comparison_count(const pattern *p);

/* ---------------------------------------------------------------- evaluate */
/* pattern_eval.c */

/*
 * Loads the observed-data of `doc`: a bundle, a JSON array of objects, or one
 * observed-data object. Every observed-data needs first_observed,
 * last_observed (RFC 3339) and number_observed >= 1, and either `objects`
 * (the STIX 2.0 dictionary of embedded objects, references by key) or
 * `object_refs` (ids resolved among the document's other objects). Objects
 * that are not observed-data are only reference targets. *out keeps a
 * reference on doc. The set holds a flat copy of the objects evaluation can
 * reach (about 150 bytes per JSON value, strings shared with doc), with
 * keys, timestamps, addresses and references worked out once, so that
 * pattern_match reads no JSON. Errors: RK_EINVAL with ctx->path
 * ("objects[2].first_observed"), RK_ETOOBIG past PATTERN_MAX_OBSERVED,
 * RK_ENOMEM.
 */
rk_err pattern_obs_load(json_t *doc, pattern_obs_set **out, rk_errctx *ctx);
void pattern_obs_free(pattern_obs_set *s);
size_t pattern_obs_count(const pattern_obs_set *s);

/*
 * Evaluates p against the observations of s: *matched true if some choice of
 * observations satisfies the whole pattern. Allocates nothing (except a
 * buffer for MATCHES on base64 binaries longer than 4 KiB, and the thread's
 * PCRE2 scratch block on its first MATCHES). Errors:
 * RK_ETOOBIG past PATTERN_MAX_STEPS, PATTERN_MAX_EVAL_DEPTH or
 * PATTERN_MAX_BINDING; *matched is then false.
 */
rk_err pattern_match(const pattern *p, const pattern_obs_set *s, bool *matched,
		     rk_errctx *ctx);

/* ---------------------------------------------------------------- exact values */
/* pattern_values.c */

/* What an indicator's pattern can name by value alone: the keys a sensor
 * looks up in hash tables rather than evaluating the pattern. */
typedef enum {
	PATTERN_V_IPV4,   /* an address or CIDR block (ipv4-addr:value) */
	PATTERN_V_IPV6,   /* an address or CIDR block (ipv6-addr:value) */
	PATTERN_V_DOMAIN, /* domain-name:value */
	PATTERN_V_URL,    /* url:value */
	PATTERN_V_EMAIL,  /* email-addr:value */
	PATTERN_V_MD5,    /* file:hashes.'MD5' and the other hash names */
	PATTERN_V_SHA1,
	PATTERN_V_SHA256,
	PATTERN_V_SHA512,
	PATTERN_V_X509_SHA1,   /* x509-certificate:hashes.'SHA-1' */
	PATTERN_V_X509_SHA256, /* x509-certificate:hashes.'SHA-256' */
} pattern_vkind;

typedef void (*pattern_value_fn)(void *arg, pattern_vkind kind, const char *value,
				 size_t len);

/*
 * Whether p matches exactly when an observed object has one of a list of
 * values: one observation expression, no qualifier, and a comparison that is
 * an OR of `=` and `IN` tests (not negated) on the paths of pattern_vkind.
 * Then calls fn for every value, in pattern order, and returns true;
 * otherwise calls nothing and returns false (the pattern needs the
 * evaluator).
 */
bool pattern_exact_values(const pattern *p, pattern_value_fn fn, void *arg);

/* ---------------------------------------------------------------- atoms */
/*
 * A sensor sees one observable at a time (an address, a name, a hash), not
 * observed-data. For it a pattern is a set of atoms, its observation
 * expressions ([...]) numbered from 0 in text order, and an observable is a
 * one-property object: `type` with the string `value` at the property path
 * `keys` (for example "file", {"hashes", "SHA-256"}). An atom holds for such
 * an object exactly when pattern_match would find its [...] true on an
 * observed-data holding only that object: a test on another type or path
 * is false, even under NOT.
 *
 * pattern_match_atoms then evaluates the whole pattern over a sequence of
 * such observations, each reduced to its time and the atoms it satisfied,
 * with the same code and semantics as pattern_match (each observation is an
 * observed-data with first_observed = last_observed = time and
 * number_observed 1).
 */

typedef struct pattern_atom pattern_atom; /* a [...] leaf of a compiled pattern */

typedef struct pattern_prop {
	const char *type;        /* STIX object type, "ipv4-addr" */
	const char *const *keys; /* property path, {"value"} */
	size_t nkeys;
	const char *value;       /* the property's string value */
	size_t len;
} pattern_prop;

/* Bit i of atoms[i / 64] set: the observation satisfied atom i. */
typedef struct pattern_atom_obs {
	rk_time time;
	uint64_t atoms[(PATTERN_MAX_OBSERVATIONS + 63) / 64];
} pattern_atom_obs;

/* pattern_eval.c */

/* Atom i of p (i < pattern_observation_count), or NULL. Lives as long as p. */
const pattern_atom *pattern_atom_at(const pattern *p, size_t i);
/* True if p is one atom with no qualifier (a single-observation pattern). */
bool pattern_is_single(const pattern *p);
/* Whether the atom holds for the one-property object v. Allocates nothing
 * (but the thread's PCRE2 scratch on its first MATCHES); false if that
 * allocation fails. */
bool pattern_atom_holds(const pattern_atom *a, const pattern_prop *v);
/* When the whole pattern is qualified WITHIN d, d in microseconds (every
 * match then lies inside one window of d); -1 otherwise. */
int64_t pattern_window(const pattern *p);
/*
 * Evaluates p over n observations (any time order). max_steps bounds the
 * search below PATTERN_MAX_STEPS (0: that bound). Errors as pattern_match
 * (RK_ETOOBIG past the evaluation bounds; *matched false).
 */
rk_err pattern_match_atoms(const pattern *p, const pattern_atom_obs *obs, size_t n,
			   uint64_t max_steps, bool *matched, rk_errctx *ctx);

/* pattern_values.c */

typedef enum {
	PATTERN_LIT_NEVER, /* the atom cannot hold for an object of v's path */
	PATTERN_LIT_ANY,   /* it can, and no substring is known to be needed */
	PATTERN_LIT_SOME,  /* it holds only if the value contains one of the
			    * literals reported */
} pattern_lit;

typedef void (*pattern_literal_fn)(void *arg, const char *lit, size_t len);

/*
 * What a one-property object v (its value ignored) needs for atom a to
 * hold: a prefilter for evaluating many atoms against one value. Literals
 * come from `=` and IN on string constants (not on address paths, where
 * equal addresses may differ in text), from the literal runs of LIKE
 * patterns and from the plain literal runs of MATCHES expressions that a
 * conservative reading can vouch for (no top-level alternation, no inline
 * options); AND picks its child with the longest shortest literal, OR needs
 * every child to have some. Negated tests give ANY. fn is called only for
 * SOME.
 */
pattern_lit pattern_atom_literals(const pattern_atom *a, const pattern_prop *v,
				  pattern_literal_fn fn, void *arg);

/* For pattern_atom_regexes: the expression wants `.` to match newlines. */
#define PATTERN_RE_DOTALL 1u

typedef void (*pattern_regex_fn)(void *arg, const char *re, unsigned flags);

/*
 * Like pattern_atom_literals, but as regular expressions (PCRE syntax, for
 * UTF-8 text, NUL-terminated): for SOME, every value the atom holds for
 * matches at least one expression reported. `=` and IN give the anchored
 * escaped value, LIKE its translation (`%` .*, `_` one character, DOTALL),
 * MATCHES its own expression (which a regex engine may only approximate
 * as a prefilter). Out of memory gives ANY, possibly after some calls to
 * fn, which the caller then discards.
 */
pattern_lit pattern_atom_regexes(const pattern_atom *a, const pattern_prop *v,
				 pattern_regex_fn fn, void *arg);

/* pattern_exact_values for one atom: whether it holds exactly when the
 * observed object has one of the values reported through fn. */
bool pattern_atom_exact_values(const pattern_atom *a, pattern_value_fn fn, void *arg);

#endif
