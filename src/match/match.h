/*
 * match.h: the sensor's compiled indicators, matched against the
 * observables seen in traffic and logs.
 *
 * A builder collects indicators (pattern text, validity, revocation);
 * match_build turns them into an immutable matcher. A pattern is a set of
 * atoms, its observation expressions ([...]); the sensor sees one
 * observable at a time (match_obs: an address, a name, a URL, a hash, a
 * User-Agent), which stands for a one-property STIX object (table in
 * match_observe.c: ipv4-addr:value, file:hashes.'SHA-256', ...).
 *
 *   - Exact atoms (one observable compared with `=` or `IN`, see
 *     pattern_exact_values) go into open-addressing hash tables, one per
 *     kind of value.
 *   - Other atoms (LIKE, MATCHES, !=, <, ISSUBSET, AND/OR of tests ...) are
 *     indexed by the kinds of observable whose path they name and
 *     evaluated with the pattern module's own comparison code
 *     (pattern_atom_holds) only for those kinds, and only when a prefilter
 *     lets them through: a literal they need is in the value (4-byte
 *     windows, pattern_atom_literals), or, for atoms with no such literal,
 *     Hyperscan finds one of their expressions (pattern_atom_regexes) in
 *     the value; the rest are evaluated for every value of the kind.
 *     Prefilters only skip atoms that cannot hold (tested as properties).
 *   - A single-observation pattern (one atom, no qualifier) whose atom holds
 *     is a hit. An atom of a compound pattern (AND, OR, FOLLOWEDBY between
 *     observations, WITHIN, REPEATS, START/STOP) that holds is only reported
 *     as an atom; match_corr keeps bounded per-(pattern, key) state and
 *     decides with pattern_match's semantics when the whole pattern holds.
 *
 * Data flow in the sensor: worker threads call match_observe (any number at
 * once, one match_scratch each, nothing allocated); atom reports, which are
 * rare, go to one match_corr used under the caller's lock.
 *
 * Handles: every call to match_builder_add gives the next handle (0, 1, 2 ...
 * in order of calls), whether the indicator is kept or skipped, so a caller
 * can index its own arrays by handle. A lookup reports each indicator whose
 * value matches by handle only: the matcher keeps no indicator ids (at a
 * million indicators they would weigh as much as its tables), the caller
 * maps handles to its own records, and may hang that map on the matcher
 * (match_attach) so that it lives and dies with it. The id given to
 * match_builder_add is only used to name the indicator in reject reports,
 * during that call. The plain lookups (match_ipv4 ...) report
 * exact single-observation indicators only; match_observe reports every
 * single-observation indicator and the atoms of compound ones.
 *
 * Tables: IPv4 and IPv6 addresses and CIDR blocks live in one table per
 * prefix length actually present (an address is a /32 or /128), probed
 * longest prefix first, so every containing block is reported. Domains
 * (lowercased, trailing dots removed), e-mail addresses (lowercased), URLs
 * (RFC 3986 section 6.2.2 normal form, see match_norm_url), file hashes
 * and certificate fingerprints (hex decoded to bytes; a certificate's in
 * their own tables, so `file:hashes` and `x509-certificate:hashes`
 * indicators never meet each other's observables) are keyed by their
 * normal form. Key bytes live in
 * one arena; an entry is a 16-bit hash tag, the key's offset and a handle
 * (or a chain of handles when several indicators share the value); an IPv4
 * entry is the masked address and a handle. Tags and addresses sit 32 or 16
 * to a cache line and large tables have a Bloom filter in front, so the
 * usual lookup, of a value that is no indicator, reads about one line
 * (match_int.h).
 *
 * Skipped at build: revoked indicators, those whose valid_until is at or
 * before the builder's `now`, patterns that do not compile (reported through
 * the reject callback with the reason; never fatal) and single values that
 * cannot be keys (a bad address, a hash of the wrong length, a value longer
 * than MATCH_MAX_VALUE; reported and counted, the indicator's other values
 * stay). Indicators not yet valid (valid_from in the future) are kept: the
 * matcher is rebuilt on reload and the caller filters by time if it must.
 *
 * Ownership and threads: match_builder_new/match_builder_free,
 * match_build/match_free, match_scratch_new/match_scratch_free and
 * match_corr_new/match_corr_free, heap objects owned by the caller (NULL
 * accepted by the frees). A builder is used by one thread. A matcher never
 * changes after match_build, so any number of threads may look up in it at
 * once, each match_observe caller with its own scratch. A correlator is used
 * by one thread at a time. Scratches and correlators must be freed before
 * the matcher they serve.
 *
 * Semantics notes. Exact atoms keep the tables' reading: an address block
 * (`ipv4-addr:value = '10.0.0.0/8'`) hits any address inside, where
 * pattern_match compares the block as a value, and domains, e-mail
 * addresses and URLs compare in normal form (case-insensitive host), where
 * pattern_match compares bytes. Every evaluated atom follows pattern_match
 * exactly, on the observable's text as seen.
 */
#ifndef RK_MATCH_H
#define RK_MATCH_H

#include "common.h"
#include "pattern.h"

/* Longest normal form of a value (domain, e-mail, URL) that can match, in
 * bytes, and the size of the buffers the normalisers write. Longer values
 * simply do not match. */
#define MATCH_MAX_VALUE 4096

typedef struct match_builder match_builder;
typedef struct match match;

/* Called for each indicator or value skipped with a reason, from within
 * match_builder_add: indicator_id is the one given to that call. */
typedef void (*match_reject_fn)(void *arg, uint32_t handle, const char *indicator_id,
				const char *reason);
/* Called for each indicator whose value matches, by handle (see above). */
typedef void (*match_hit_fn)(void *arg, uint32_t handle);

/* Atoms of one compound pattern that one observable satisfied: bit i of
 * bits[i / 64] for atom i (same layout as pattern_atom_obs). */
typedef struct match_atomset {
	uint64_t bits[(PATTERN_MAX_OBSERVATIONS + 63) / 64];
} match_atomset;

/* Called once per compound pattern and observable, with every atom of that
 * pattern the observable satisfied. */
typedef void (*match_atom_fn)(void *arg, uint32_t handle, const match_atomset *atoms);

typedef enum {
	MATCH_MD5,
	MATCH_SHA1,
	MATCH_SHA256,
	MATCH_SHA512,
} match_hash_kind;

typedef struct match_stats {
	size_t added;      /* match_builder_add calls */
	size_t exact;      /* indicators in the hash tables */
	size_t needs_eval; /* compiled, kept for the evaluator: evaluated + compound */
	size_t evaluated;  /* single-observation patterns evaluated per observable */
	size_t compound;   /* patterns of several atoms or with qualifiers */
	size_t atoms_exact; /* atoms of compound patterns in the hash tables */
	size_t atoms_eval; /* atoms of compound patterns evaluated per observable */
	size_t unobservable; /* evaluated atoms naming no path a match_obs stands for */
	size_t prefiltered; /* (atom, kind) pairs tried only when a literal they
			     * need is in the value */
	size_t regex_gated; /* (atom, kind) pairs tried only when Hyperscan finds
			     * one of their expressions in the value */
	size_t always;      /* (atom, kind) pairs tried for every value */
	size_t regex_bytes; /* Hyperscan databases */
	size_t revoked;
	size_t expired;
	size_t rejected;   /* pattern did not compile */
	size_t bad_values; /* values that could not be keys */
	size_t keys;       /* distinct keys in all tables */
	size_t table_bytes; /* hash tables and handle chains */
	size_t arena_bytes; /* key bytes */
} match_stats;

/* ---------------------------------------------------------------- build */
/* match_build.c */

/*
 * A new builder; `now` decides which indicators have expired; on_reject
 * (may be NULL) hears of every skipped pattern or value. NULL on OOM.
 */
match_builder *match_builder_new(rk_time now, match_reject_fn on_reject, void *arg);
void match_builder_free(match_builder *b);

/*
 * Adds one indicator, the next handle. valid_until 0 means none. The id
 * only names the indicator in reject reports (it is not kept); what the
 * pattern needs is copied. A pattern that does not compile is reported
 * and skipped (RK_OK). Errors:
 * RK_EINVAL (id or pattern NULL, or more than 2^31 indicators), RK_ENOMEM;
 * ctx says why.
 */
rk_err match_builder_add(match_builder *b, const char *indicator_id, const char *pattern_text,
			 rk_time valid_from, rk_time valid_until, bool revoked, rk_errctx *ctx);

/*
 * Builds the matcher from everything added; the builder is emptied (free it
 * afterwards). On success *out is a new matcher. Errors: RK_ENOMEM.
 */
rk_err match_build(match_builder *b, match **out, rk_errctx *ctx);
void match_free(match *m);
void match_get_stats(const match *m, match_stats *st);
/*
 * Hangs the caller's data on the matcher (the sensor's handle-to-id map):
 * m owns it from here on, and match_free calls free_fn(data) (free_fn may
 * be NULL). Attaching again frees what was attached before. Call it before
 * the matcher is shared; match_attached (NULL when nothing is attached)
 * may then be called from any thread.
 */
void match_attach(match *m, void *data, void (*free_fn)(void *));
void *match_attached(const match *m);
/* Compiled patterns kept for the evaluator (single-observation and
 * compound), with their handles, in handle order. */
size_t match_eval_count(const match *m);
const pattern *match_eval_pattern(const match *m, size_t i, uint32_t *handle);

/* ---------------------------------------------------------------- lookup */
/* match_lookup.c. Each returns the number of hits reported through fn. */

size_t match_ipv4(const match *m, uint32_t addr, match_hit_fn fn, void *arg); /* host order */
size_t match_ipv6(const match *m, const uint8_t addr[16], match_hit_fn fn, void *arg);
size_t match_domain(const match *m, const char *s, size_t len, match_hit_fn fn, void *arg);
size_t match_url(const match *m, const char *s, size_t len, match_hit_fn fn, void *arg);
size_t match_email(const match *m, const char *s, size_t len, match_hit_fn fn, void *arg);
/*
 * A domain's key in the tables, worked out in one pass over its text
 * (match_domain_key): the length of its normal form (a prefix of the text:
 * only trailing dots go) and the hash of that normal form, lowercased on
 * the fly, so nothing is written out. match_domain_keyed reports exactly
 * what match_domain(m, s, len) does, for the s the key was made from.
 */
typedef struct match_key {
	uint64_t hash;
	size_t len;
} match_key;
/* false (key undefined) when s/len has no normal form: empty or all dots,
 * or longer than MATCH_MAX_VALUE. */
bool match_domain_key(const char *s, size_t len, match_key *key);
size_t match_domain_keyed(const match *m, const char *s, const match_key *key, match_hit_fn fn,
			  void *arg);
/* hex: the hash in hex, either case. */
size_t match_hash(const match *m, match_hash_kind kind, const char *hex, size_t len,
		  match_hit_fn fn, void *arg);

/* ---------------------------------------------------------------- observe */
/* match_observe.c */

/* What the sensor saw. The kinds follow the decoders' and log readers'
 * outputs; each stands for one STIX object path (match_obs_path). */
#define MATCH_OBS_KINDS(X)                                                 \
	X(IPV4, "ipv4")       /* ipv4-addr:value */                         \
	X(IPV6, "ipv6")       /* ipv6-addr:value */                         \
	X(DOMAIN, "domain")   /* domain-name:value */                       \
	X(URL, "url")         /* url:value */                               \
	X(EMAIL, "email")     /* email-addr:value */                        \
	X(MD5, "md5")         /* file:hashes.MD5 */                         \
	X(SHA1, "sha1")       /* file:hashes.'SHA-1' */                     \
	X(SHA256, "sha256")   /* file:hashes.'SHA-256' */                   \
	X(SHA512, "sha512")   /* file:hashes.'SHA-512' */                   \
	X(USER_AGENT, "user-agent") /* network-traffic:extensions.          \
		'http-request-ext'.request_header.'User-Agent' */            \
	X(X509_SHA1, "x509-sha1")     /* x509-certificate:hashes.'SHA-1' */   \
	X(X509_SHA256, "x509-sha256") /* x509-certificate:hashes.'SHA-256' */

#define MATCH_X_ENUM(name, str) MATCH_OBS_##name,
typedef enum { MATCH_OBS_KINDS(MATCH_X_ENUM) MATCH_OBS_KIND_COUNT } match_obs_kind;
#undef MATCH_X_ENUM

/*
 * One observable. For IPV4 and IPV6, value may be NULL: then the binary
 * ipv4 (host order) or ipv6 is used; otherwise value/len is the address as
 * text (as the decoders and log readers give it). For the other kinds
 * value/len is the text as seen (it need not be NUL-terminated); a
 * certificate fingerprint (X509_*) may also be written with a colon
 * between bytes (Suricata's "aa:bb:..."), read as the same hex without
 * them, by the tables and by the evaluator alike. time and
 * key are not used by match_observe; they travel with the observable to
 * match_corr_feed (key: the caller's correlation key, e.g. a hash of the
 * host the observable was seen with; 0 for sensor-wide).
 */
typedef struct match_obs {
	match_obs_kind kind;
	const char *value;
	size_t len;
	uint32_t ipv4;
	uint8_t ipv6[16];
	rk_time time;
	uint64_t key;
} match_obs;

/* Whether any indicator of m can hit an observable of kind k (an exact
 * value of that kind in the tables, or an atom evaluated for it): lets a
 * caller skip producing observables nothing can match (the sensor asks
 * for file digests of HTTP bodies only when file-hash indicators exist). */
bool match_observes(const match *m, match_obs_kind k);

/* Per-thread working space for match_observe, sized for one matcher. */
typedef struct match_scratch match_scratch;

const char *match_obs_kind_name(match_obs_kind k);
/* The STIX object path a kind stands for, as a pattern names it
 * ("file:hashes.'SHA-256'"). */
const char *match_obs_path(match_obs_kind k);

/* NULL on OOM. The scratch serves only m (and must be freed before m). */
match_scratch *match_scratch_new(const match *m);
void match_scratch_free(match_scratch *s);

/*
 * Matches one observable: the hash tables of its kind, then the evaluated
 * atoms that name its path. Each single-observation indicator that holds
 * goes to on_hit; each compound indicator with atoms that hold goes once to
 * on_atom (either callback may be NULL). Returns the number of on_hit
 * reports. Allocates nothing; s is used by one thread at a time. A kind out
 * of range or an address that does not parse matches nothing but the
 * evaluated atoms that take any text.
 */
size_t match_observe(const match *m, match_scratch *s, const match_obs *o, match_hit_fn on_hit,
		     match_atom_fn on_atom, void *arg);

/* ---------------------------------------------------------------- correlate */
/* match_corr.c */

/*
 * The correlator: per (compound pattern, key) a ring of the last `depth`
 * atom observations (time, atoms), at most max_keys such states. After each
 * feed the pattern is evaluated over its ring with pattern_match_atoms, so
 * AND (distinct observations), OR, FOLLOWEDBY, WITHIN, REPEATS and
 * START/STOP mean what pattern_match says they mean over the observations
 * kept. A completed pattern is reported once and its ring emptied, so the
 * next hit needs new observations.
 *
 * Bounds: when all max_keys states are taken, the state fed least recently
 * is evicted (counted); when a ring is full, its oldest observation is
 * dropped (counted). Matches that need older observations are missed, never
 * invented.
 *
 * Threads: a correlator is used by one thread at a time (the sensor feeds
 * it under its own lock; atom reports are rare). It reads m, which must
 * outlive it.
 */
typedef struct match_corr match_corr;

#define MATCH_CORR_MAX_DEPTH 64
/* Search steps one feed may spend (pattern_match_atoms), about 1 ms. */
#define MATCH_CORR_MAX_STEPS 50000

typedef struct match_corr_stats {
	size_t fed;       /* match_corr_feed calls */
	size_t hits;      /* completed patterns reported */
	size_t keys;      /* (pattern, key) states in use */
	size_t evicted;   /* states evicted to make room */
	size_t dropped;   /* observations pushed out of a full ring */
	size_t unknown;   /* feeds for a handle that is not a compound pattern */
	size_t errors;    /* evaluations past MATCH_CORR_MAX_STEPS or the
			   * pattern module's bounds: no hit, state kept */
} match_corr_stats;

/* max_keys >= 1 states, depth 1..MATCH_CORR_MAX_DEPTH observations each,
 * all allocated here. NULL on OOM or a bound out of range. */
match_corr *match_corr_new(const match *m, size_t max_keys, size_t depth);
void match_corr_free(match_corr *c);

/*
 * Records that one observable at `time`, correlated by `key`, satisfied
 * `atoms` of compound pattern `handle`, and reports the pattern through
 * on_hit (may be NULL) if it now holds. Returns 1 on a hit, else 0.
 */
int match_corr_feed(match_corr *c, uint32_t handle, const match_atomset *atoms, rk_time time,
		    uint64_t key, match_hit_fn on_hit, void *arg);
void match_corr_get_stats(const match_corr *c, match_corr_stats *st);

/* ---------------------------------------------------------------- normal forms */
/* match_norm.c. Each writes at most MATCH_MAX_VALUE bytes (no NUL) to out
 * and returns the length, or 0 when the value has no normal form that fits
 * (empty, too long, a URL without a scheme). Normalising a normal form gives
 * it back unchanged. */

/* ASCII lowercase, trailing dots removed. */
size_t match_norm_domain(const char *s, size_t len, char out[MATCH_MAX_VALUE]);
/* ASCII lowercase. */
size_t match_norm_email(const char *s, size_t len, char out[MATCH_MAX_VALUE]);
/*
 * RFC 3986 section 6.2.2 (and 6.2.3 for ports and empty paths): scheme and
 * host lowercased; percent-encoded unreserved characters decoded, other
 * triplets' hex upper-cased, a '%' not starting a triplet written %25;
 * dot-segments removed (section 5.2.4); the scheme's default port (http,
 * ws 80; https, wss 443; ftp 21) and an empty port removed; an empty path
 * after an authority becomes "/".
 */
size_t match_norm_url(const char *s, size_t len, char out[MATCH_MAX_VALUE]);

#endif
