/*
 * match_lookup.c: looking values from traffic up in the matcher's tables.
 *
 * Runs per packet or log line, from any number of threads at once: it only
 * reads the matcher and allocates nothing. A value is first brought to the
 * normal form its table is keyed by (match_norm.c), into a stack buffer of
 * MATCH_MAX_VALUE bytes; a value with no normal form that fits does not
 * match. A domain can skip the buffer: match_domain_key hashes its normal
 * form as it reads the text, and the probe compares a candidate key with
 * the text lowercased (about one candidate in 2,500 misses). Addresses are probed in each prefix-length table present, longest
 * first, so a lookup reports every block that contains the address.
 * Entries naming an exact atom of a compound pattern (MATCH_ATOMREF) go to
 * match_observe's scratch when there is one, and are skipped by the plain
 * lookups below, which report whole indicators only.
 */
#include <string.h>

#include "match_int.h"

/* Reports one handle: a hit, or an atom of a compound pattern. */
static size_t emit_one(const match *m, uint32_t x, const match_sink *k)
{
	if (x & MATCH_ATOMREF) {
		const struct match_atomref *r = &m->atomref[x & ~MATCH_ATOMREF];
		if (k->s)
			match_scratch_note(k->s, r->compound, r->atom);
		return 0;
	}
	if (k->fn)
		k->fn(k->arg, x);
	return 1;
}

/* Reports the handle (or chain of handles) of one entry. */
static size_t emit(const match *m, uint32_t h, const match_sink *k)
{
	size_t n = 0;
	if (!(h & MATCH_CHAIN))
		return emit_one(m, h, k);
	for (uint32_t c = h & ~MATCH_CHAIN; c != MATCH_EMPTY; c = m->chain[c].next)
		n += emit_one(m, m->chain[c].handle, k);
	return n;
}

/* Whether the arena key k2/l2 is key/len, or with fold, key/len
 * lowercased (ASCII): the text of a domain whose hash was taken in
 * normal form (match_domain_key). */
static bool same_key(const char *key, size_t len, const char *k2, size_t l2, bool fold)
{
	if (l2 != len)
		return false;
	if (!fold)
		return memcmp(key, k2, len) == 0;
	for (size_t i = 0; i < len; i++) {
		char c = key[i];
		if ((c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c) != k2[i])
			return false;
	}
	return true;
}

/* The probe behind match_lookup_bytes and match_domain_keyed, given the
 * key's hash h (match_hash_bytes of its normal form). */
static inline size_t probe_bytes(const match *m, unsigned table, const char *key, size_t len,
				 uint64_t h, bool fold, const match_sink *k)
{
	const match_btab *tb = &m->bt[table];
	if (!tb->ng)
		return 0;
	uint16_t tag = match_tag(h);
	if (tb->f.w && !match_filter_has(&tb->f, match_filter_mix(h)))
		return 0;
	for (uint32_t gi = match_slot(h, tb->ng);; gi = gi + 1 == tb->ng ? 0 : gi + 1) {
		const match_taggroup *g = &tb->g[gi];
		for (uint32_t hit = match_tag_lanes(g, tag); hit; hit &= hit - 1) {
			const match_bent *e =
				&tb->e[(size_t)gi * MATCH_TAG_LANES + (unsigned)__builtin_ctz(hit)];
			size_t l2;
			const char *k2 = match_key_at(m->arena, e->off, &l2);
			if (same_key(key, len, k2, l2, fold))
				return emit(m, e->handle, k);
		}
		if (g->tag[MATCH_TAG_LANES - 1] == 0)
			return 0;
	}
}

size_t match_lookup_bytes(const match *m, unsigned table, const void *key, size_t len,
			  const match_sink *k)
{
	if (!m->bt[table].ng)
		return 0;
	return probe_bytes(m, table, key, len, match_hash_bytes(key, len), false, k);
}

size_t match_lookup_domain_key(const match *m, const char *s, const match_key *key,
			       const match_sink *k)
{
	return probe_bytes(m, MATCH_T_DOMAIN, s, key->len, key->hash, true, k);
}

/* The handle of key in one IPv4 table, or MATCH_EMPTY. */
static uint32_t probe_v4(const match_u32tab *tb, uint32_t key)
{
	if (key == tb->empty ||
	    (tb->f.w && !match_filter_has(&tb->f, match_filter_mix(match_v4_hash64(key)))))
		return MATCH_EMPTY;
	for (uint32_t gi = match_slot(match_hash_u32(key), tb->ng);;
	     gi = gi + 1 == tb->ng ? 0 : gi + 1) {
		const match_v4group *g = &tb->g[gi];
		uint32_t hit = match_v4_lanes(g, key);
		if (hit) /* keys are distinct: one lane at most */
			return tb->handle[(size_t)gi * MATCH_V4_LANES + (unsigned)__builtin_ctz(hit)];
		if (g->key[MATCH_V4_LANES - 1] == tb->empty)
			return MATCH_EMPTY;
	}
}

size_t match_lookup_ipv4(const match *m, uint32_t addr, const match_sink *k)
{
	size_t n = 0;
	for (size_t i = 0; i < m->n_v4_lens; i++) {
		unsigned p = m->v4_lens[i];
		uint32_t h = probe_v4(&m->v4[p], addr & (p ? ~0u << (32 - p) : 0));
		if (h != MATCH_EMPTY)
			n += emit(m, h, k);
	}
	return n;
}

size_t match_lookup_ipv6(const match *m, const uint8_t addr[16], const match_sink *k)
{
	size_t n = 0;
	for (size_t i = 0; i < m->n_v6_lens; i++) {
		unsigned p = m->v6_lens[i];
		uint8_t key[16];
		for (unsigned b = 0; b < 16; b++) {
			unsigned keep = p > b * 8 ? p - b * 8 : 0;
			key[b] = keep >= 8 ? addr[b] : (uint8_t)(addr[b] & (0xFF00u >> keep));
		}
		n += match_lookup_bytes(m, MATCH_T_V6 + p, key, 16, k);
	}
	return n;
}

/* ---------------------------------------------------------------- plain lookups */

size_t match_ipv4(const match *m, uint32_t addr, match_hit_fn fn, void *arg)
{
	match_sink k = { fn, arg, NULL };
	return match_lookup_ipv4(m, addr, &k);
}

size_t match_ipv6(const match *m, const uint8_t addr[16], match_hit_fn fn, void *arg)
{
	match_sink k = { fn, arg, NULL };
	return match_lookup_ipv6(m, addr, &k);
}

size_t match_domain(const match *m, const char *s, size_t len, match_hit_fn fn, void *arg)
{
	char buf[MATCH_MAX_VALUE];
	size_t n = match_norm_domain(s, len, buf);
	match_sink k = { fn, arg, NULL };
	return n ? match_lookup_bytes(m, MATCH_T_DOMAIN, buf, n, &k) : 0;
}

size_t match_domain_keyed(const match *m, const char *s, const match_key *key, match_hit_fn fn,
			  void *arg)
{
	match_sink k = { fn, arg, NULL };
	return match_lookup_domain_key(m, s, key, &k);
}

size_t match_email(const match *m, const char *s, size_t len, match_hit_fn fn, void *arg)
{
	char buf[MATCH_MAX_VALUE];
	size_t n = match_norm_email(s, len, buf);
	match_sink k = { fn, arg, NULL };
	return n ? match_lookup_bytes(m, MATCH_T_EMAIL, buf, n, &k) : 0;
}

size_t match_url(const match *m, const char *s, size_t len, match_hit_fn fn, void *arg)
{
	char buf[MATCH_MAX_VALUE];
	size_t n = match_norm_url(s, len, buf);
	match_sink k = { fn, arg, NULL };
	return n ? match_lookup_bytes(m, MATCH_T_URL, buf, n, &k) : 0;
}

size_t match_hash(const match *m, match_hash_kind kind, const char *hex, size_t len,
		  match_hit_fn fn, void *arg)
{
	static const size_t sizes[] = {16, 20, 32, 64};
	uint8_t bytes[64];
	if ((unsigned)kind > MATCH_SHA512 || len != 2 * sizes[kind] ||
	    !match_unhex(hex, sizes[kind], bytes))
		return 0;
	match_sink k = { fn, arg, NULL };
	return match_lookup_bytes(m, MATCH_T_MD5 + (unsigned)kind, bytes, sizes[kind], &k);
}
