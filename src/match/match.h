/*
 * match.h: the sensor's compiled indicators, looked up by exact value.
 *
 * A builder collects indicators (id, pattern text, validity, revocation);
 * match_build turns them into an immutable matcher. Patterns that
 * pattern_exact_values recognises (one observable compared with `=` or `IN`)
 * go into open-addressing hash tables, one per kind of value; the others are
 * kept compiled in a list for the evaluator (a later step; nothing here
 * evaluates them). An observable seen in traffic is looked up in the tables
 * without allocating.
 *
 * Handles: every call to match_builder_add gives the next handle (0, 1, 2 ...
 * in order of calls), whether the indicator is kept or skipped, so a caller
 * can index its own arrays by handle. A lookup reports each indicator whose
 * value matches by handle and id.
 *
 * Tables: IPv4 and IPv6 addresses and CIDR blocks live in one table per
 * prefix length actually present (an address is a /32 or /128), probed
 * longest prefix first, so every containing block is reported. Domains
 * (lowercased, trailing dots removed), e-mail addresses (lowercased), URLs
 * (RFC 3986 section 6.2.2 normal form, see match_norm_url) and file hashes
 * (hex decoded to bytes) are keyed by their normal form. Key bytes live in
 * one arena; an entry is a 32-bit hash tag, the key's offset and a handle
 * (or a chain of handles when several indicators share the value).
 *
 * Skipped at build: revoked indicators, those whose valid_until is at or
 * before the builder's `now`, patterns that do not compile (reported through
 * the reject callback with the reason; never fatal) and single values that
 * cannot be keys (a bad address, a hash of the wrong length, a value longer
 * than MATCH_MAX_VALUE; reported and counted, the indicator's other values
 * stay). Indicators not yet valid (valid_from in the future) are kept: the
 * matcher is rebuilt on reload and the caller filters by time if it must.
 *
 * Ownership and threads: match_builder_new/match_builder_free and
 * match_build/match_free, heap objects owned by the caller (NULL accepted by
 * the frees). A builder is used by one thread. A matcher never changes after
 * match_build, so any number of threads may look up in it at once.
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

/* Called for each indicator or value skipped with a reason. */
typedef void (*match_reject_fn)(void *arg, uint32_t handle, const char *indicator_id,
				const char *reason);
/* Called for each indicator whose value matches. */
typedef void (*match_hit_fn)(void *arg, uint32_t handle, const char *indicator_id);

typedef enum {
	MATCH_MD5,
	MATCH_SHA1,
	MATCH_SHA256,
	MATCH_SHA512,
} match_hash_kind;

typedef struct match_stats {
	size_t added;      /* match_builder_add calls */
	size_t exact;      /* indicators in the hash tables */
	size_t needs_eval; /* compiled, kept for the evaluator */
	size_t revoked;
	size_t expired;
	size_t rejected;   /* pattern did not compile */
	size_t bad_values; /* values that could not be keys */
	size_t keys;       /* distinct keys in all tables */
	size_t table_bytes; /* hash tables and handle chains */
	size_t arena_bytes; /* key bytes */
	size_t id_bytes;    /* indicator ids and their offsets */
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
 * Adds one indicator. valid_until 0 means none. The texts are copied. A
 * pattern that does not compile is reported and skipped (RK_OK). Errors:
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
/* Compiled patterns kept for the evaluator, with their handles. */
size_t match_eval_count(const match *m);
const pattern *match_eval_pattern(const match *m, size_t i, uint32_t *handle);

/* ---------------------------------------------------------------- lookup */
/* match_lookup.c. Each returns the number of hits reported through fn. */

size_t match_ipv4(const match *m, uint32_t addr, match_hit_fn fn, void *arg); /* host order */
size_t match_ipv6(const match *m, const uint8_t addr[16], match_hit_fn fn, void *arg);
size_t match_domain(const match *m, const char *s, size_t len, match_hit_fn fn, void *arg);
size_t match_url(const match *m, const char *s, size_t len, match_hit_fn fn, void *arg);
size_t match_email(const match *m, const char *s, size_t len, match_hit_fn fn, void *arg);
/* hex: the hash in hex, either case. */
size_t match_hash(const match *m, match_hash_kind kind, const char *hex, size_t len,
		  match_hit_fn fn, void *arg);

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
