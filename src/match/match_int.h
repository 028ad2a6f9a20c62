/*
 * match_int.h: the matcher's tables, shared by match_build.c (which fills
 * them once) and match_lookup.c (which only reads them). Not for use
 * outside src/match/.
 *
 * Invariants: after match_build nothing here changes. A handle field with
 * MATCH_CHAIN set is an index into `chain` (a list of handles linked by
 * `next`, ended by UINT32_MAX) rather than a handle. A handle (in an entry
 * or a chain) with MATCH_ATOMREF set is an index into `atomref`: an exact
 * atom of a compound pattern, reported to match_observe's atom sink and
 * never by the plain lookups (match_ipv4 ...), whose callers know only
 * whole indicators. Handles stay below MATCH_ATOMREF. `compound` and
 * `eval` are in handle order, so a handle is found by binary search. Keys
 * in the arena are a length (one byte, or 0xFF and four bytes) followed by
 * the key bytes.
 *
 * The exact-value tables are laid out so that looking up a value that is
 * not there (nearly every lookup in traffic) reads one 64-byte line:
 *
 *   - IPv4 (one table per prefix length): groups of 16 keys, one line
 *     each, and beside them a handle per slot, read only on a hit. The
 *     key is the masked address itself; a free slot holds the table's
 *     `empty` key, a value no key of that table has (chosen at build), and
 *     a lookup of that value returns at once.
 *   - The byte tables (IPv6, domains, URLs ...): groups of 32 16-bit tags
 *     (taken from the key's hash, never 0), one line each, and beside them
 *     an entry per slot (arena offset, handle), read only when a tag
 *     matches (about once in 2,500 misses at the fill used).
 *
 * Both are probed group by group from the one the hash picks (linear
 * probing over groups, wrapping). Slots of a group fill from the first
 * lane and are never emptied, so a group whose last lane is free ends the
 * probe: a key is never stored past a group with room. Every table keeps
 * at least one free slot, so every probe ends. Groups are 64-byte aligned.
 *
 * A table of MATCH_FILTER_MIN keys or more (match_build.c) has a blocked
 * Bloom filter in front (`f`, 8 to 16 bits a key, one 64-bit word read per
 * lookup, about 1-4% false positives): small enough to stay in the cache
 * while traffic streams through, where the groups of a large table do not.
 * Every key in the table is in its filter.
 */
#ifndef RK_MATCH_INT_H
#define RK_MATCH_INT_H

#include "match.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#ifdef RK_HAVE_HYPERSCAN
#include <hs.h>
#endif

#define MATCH_CHAIN 0x80000000u
#define MATCH_ATOMREF 0x40000000u
#define MATCH_NOT_COMPOUND UINT32_MAX
#define MATCH_EMPTY UINT32_MAX

/* Byte tables: IPv6 prefix lengths 0..128, then the named kinds. */
enum {
	MATCH_T_V6 = 0,
	MATCH_T_DOMAIN = 129,
	MATCH_T_URL,
	MATCH_T_EMAIL,
	MATCH_T_MD5,
	MATCH_T_SHA1,
	MATCH_T_SHA256,
	MATCH_T_SHA512,
	MATCH_T_X509_SHA1,   /* certificates' fingerprints, apart from files' */
	MATCH_T_X509_SHA256,
	MATCH_T_COUNT
};

#define MATCH_V4_LANES 16
#define MATCH_TAG_LANES 32

typedef struct {
	uint32_t key[MATCH_V4_LANES];
} match_v4group;

typedef struct {
	uint16_t tag[MATCH_TAG_LANES];
} match_taggroup;

typedef struct {
	uint32_t off, handle;
} match_bent;

/* A blocked Bloom filter in front of a large table (match_filter_*). */
typedef struct {
	uint64_t *w; /* NULL: none */
	uint32_t mask; /* words - 1, words a power of two */
} match_filter;

typedef struct {
	uint32_t ng, n; /* groups, keys */
	uint32_t empty; /* the key of a free slot */
	match_filter f;
	match_v4group *g;
	uint32_t *handle; /* ng * MATCH_V4_LANES, slot for slot with the keys */
} match_u32tab;

typedef struct {
	uint32_t ng, n; /* groups, keys */
	match_filter f;
	match_taggroup *g;
	match_bent *e; /* ng * MATCH_TAG_LANES, slot for slot with the tags */
} match_btab;

typedef struct {
	uint32_t handle, next;
} match_link;

/* An atom evaluated per observable of one kind. */
typedef struct match_evref {
	const pattern_atom *a;
	uint32_t handle;
	uint32_t compound; /* MATCH_NOT_COMPOUND: a single-observation pattern */
	uint32_t atom;
} match_evref;

/* A 4-byte window of the literals atoms need (pattern_atom_literals) and
 * the atoms that need it: gram_refs[start .. start + count). */
typedef struct match_gram {
	uint32_t gram, start, count; /* count 0: empty slot */
} match_gram;

#define MATCH_GRAM 4

/*
 * The atoms evaluated for one kind, and their prefilters. An atom that
 * needs one of a set of literals, each of at least MATCH_GRAM bytes, is
 * listed under one window of each literal (the window fewest atoms share),
 * and evaluated only when an observable's value contains that window. A
 * value contains every window of a literal it contains, so no atom that
 * holds is skipped. Of the other atoms, those with regular expressions
 * every value they hold for matches (pattern_atom_regexes) are `gated`
 * behind one Hyperscan database (compiled in prefilter mode, so it reports
 * a superset; expression id = index in `gated`) when the build has
 * Hyperscan; the rest, and every one without Hyperscan, are in `always`.
 */
typedef struct match_kindeval {
	match_evref *ref;
	size_t n;
	uint32_t *always; /* indexes in ref */
	size_t n_always;
	uint32_t *gated;  /* indexes in ref */
	size_t n_gated;
#ifdef RK_HAVE_HYPERSCAN
	hs_database_t *hs;
#endif
	match_gram *gram;  /* open addressing, gram_cap slots (a power of two) */
	uint32_t gram_cap;
	uint32_t *gram_refs;
	size_t n_gram_refs;
	size_t stamp_base; /* first of this kind's stamps in a scratch */
} match_kindeval;

struct match {
	match_u32tab v4[33];
	uint8_t v4_lens[33]; /* prefix lengths present, longest first */
	size_t n_v4_lens;
	match_btab bt[MATCH_T_COUNT];
	uint8_t v6_lens[129];
	size_t n_v6_lens;
	char *arena;
	size_t arena_len;
	match_link *chain;
	size_t n_chain;
	size_t n_handles;
	void *attached; /* the caller's (match_attach), freed by attached_free */
	void (*attached_free)(void *);
	struct match_eval {
		pattern *p;
		uint32_t handle;
		uint32_t compound;       /* index in `compound`, or MATCH_NOT_COMPOUND */
		match_atomset exact;     /* atoms in the hash tables */
	} *eval;
	size_t n_eval;
	/* Exact atoms of compound patterns, named by MATCH_ATOMREF handles. */
	struct match_atomref {
		uint32_t compound, atom;
	} *atomref;
	size_t n_atomref;
	/* Compound patterns (owned by `eval`). */
	struct match_compound {
		const pattern *p;
		uint32_t handle;
	} *compound;
	size_t n_compound;
	/* Per kind of observable, the atoms to evaluate for it. */
	match_kindeval kev[MATCH_OBS_KIND_COUNT];
	size_t n_refs; /* evaluated atoms over all kinds (scratch stamps) */
	match_stats st;
};

/* Where lookups report: hits to fn, atoms of compound patterns to s (NULL
 * for the plain lookups, which skip them). */
typedef struct match_sink {
	match_hit_fn fn;
	void *arg;
	match_scratch *s;
} match_sink;

/* match_lookup.c: the table probes behind the plain lookups and
 * match_observe; each returns the number of hits reported. */
size_t match_lookup_ipv4(const match *m, uint32_t addr, const match_sink *k);
size_t match_lookup_ipv6(const match *m, const uint8_t addr[16], const match_sink *k);
size_t match_lookup_bytes(const match *m, unsigned table, const void *key, size_t len,
			  const match_sink *k);
/* A domain's table probed with its key from match_domain_key(s, ...). */
size_t match_lookup_domain_key(const match *m, const char *s, const match_key *key,
			       const match_sink *k);
/* match_observe.c: notes that atom `atom` of compound pattern `compound`
 * held for the observable being matched. */
void match_scratch_note(match_scratch *s, uint32_t compound, uint32_t atom);
/* The one-property object a kind stands for (type and path). */
void match_obs_prop(match_obs_kind k, pattern_prop *v);

/* match_quick.c: true when text is one `[path = 'value']` test whose kind
 * and value (a slice of text) pattern_compile + pattern_exact_values would
 * report, and nothing else; false when unsure (the full path decides). */
bool match_quick_exact(const char *text, size_t len, pattern_vkind *kind, const char **value,
		       size_t *vlen);

uint64_t match_hash_bytes(const void *p, size_t len);
uint32_t match_hash_u32(uint32_t k);
/* Group for a hash in a table of n groups (the low 32 bits). */
static inline uint32_t match_slot(uint64_t h, uint32_t n)
{
	return (uint32_t)(((h & 0xffffffffu) * (uint64_t)n) >> 32);
}
/* Tag of a hash in a byte table (its top 16 bits, never 0). */
static inline uint16_t match_tag(uint64_t h)
{
	uint16_t t = (uint16_t)(h >> 48);
	return t ? t : 1;
}

/*
 * The filter: one 64-bit word per key, picked by bits 32 and up of a
 * second mix of the key's hash, with four bits set from its low 24 bits.
 * A key whose four bits are not all set in its word is not in the table.
 */
static inline uint64_t match_filter_mix(uint64_t h)
{
	h ^= h >> 29;
	return h * 0xbf58476d1ce4e5b9ull;
}
static inline bool match_filter_has(const match_filter *f, uint64_t x)
{
	uint64_t bits = 1ull << (x & 63) | 1ull << (x >> 6 & 63) | 1ull << (x >> 12 & 63) |
			1ull << (x >> 18 & 63);
	return (f->w[(x >> 32) & f->mask] & bits) == bits;
}
static inline void match_filter_add(match_filter *f, uint64_t x)
{
	f->w[(x >> 32) & f->mask] |= 1ull << (x & 63) | 1ull << (x >> 6 & 63) |
				     1ull << (x >> 12 & 63) | 1ull << (x >> 18 & 63);
}
/* The 64-bit hash of an IPv4 key the filter uses. */
static inline uint64_t match_v4_hash64(uint32_t k)
{
	return (uint64_t)k * 0x9E3779B97F4A7C15ull;
}

/* Bit i set when lane i of the group holds key k (SSE2: one line, four
 * compares). */
static inline uint32_t match_v4_lanes(const match_v4group *g, uint32_t k)
{
#ifdef __SSE2__
	const __m128i *p = (const __m128i *)(const void *)g->key;
	__m128i x = _mm_set1_epi32((int)k);
	__m128i a = _mm_packs_epi32(_mm_cmpeq_epi32(_mm_load_si128(p), x),
				    _mm_cmpeq_epi32(_mm_load_si128(p + 1), x));
	__m128i b = _mm_packs_epi32(_mm_cmpeq_epi32(_mm_load_si128(p + 2), x),
				    _mm_cmpeq_epi32(_mm_load_si128(p + 3), x));
	return (uint32_t)_mm_movemask_epi8(_mm_packs_epi16(a, b));
#else
	uint32_t m = 0;
	for (unsigned i = 0; i < MATCH_V4_LANES; i++)
		m |= (uint32_t)(g->key[i] == k) << i;
	return m;
#endif
}

/* Bit i set when lane i of the group holds tag t. */
static inline uint32_t match_tag_lanes(const match_taggroup *g, uint16_t t)
{
#ifdef __SSE2__
	const __m128i *p = (const __m128i *)(const void *)g->tag;
	__m128i x = _mm_set1_epi16((short)t);
	__m128i a = _mm_packs_epi16(_mm_cmpeq_epi16(_mm_load_si128(p), x),
				    _mm_cmpeq_epi16(_mm_load_si128(p + 1), x));
	__m128i b = _mm_packs_epi16(_mm_cmpeq_epi16(_mm_load_si128(p + 2), x),
				    _mm_cmpeq_epi16(_mm_load_si128(p + 3), x));
	return (uint32_t)_mm_movemask_epi8(a) | (uint32_t)_mm_movemask_epi8(b) << 16;
#else
	uint32_t m = 0;
	for (unsigned i = 0; i < MATCH_TAG_LANES; i++)
		m |= (uint32_t)(g->tag[i] == t) << i;
	return m;
#endif
}
/* Length and bytes of the key at off. */
const char *match_key_at(const char *arena, uint32_t off, size_t *len);
/* Decodes 2*n hex digits into n bytes; false if not hex. */
bool match_unhex(const char *hex, size_t n, uint8_t *out);

#endif
