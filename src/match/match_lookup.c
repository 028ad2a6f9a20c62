/*
 * match_lookup.c: looking values from traffic up in the matcher's tables.
 *
 * Runs per packet or log line, from any number of threads at once: it only
 * reads the matcher and allocates nothing. A value is first brought to the
 * normal form its table is keyed by (match_norm.c), into a stack buffer of
 * MATCH_MAX_VALUE bytes; a value with no normal form that fits does not
 * match. Addresses are probed in each prefix-length table present, longest
 * first, so a lookup reports every block that contains the address.
 */
#include <string.h>

#include "match_int.h"

/* Reports the handle (or chain of handles) of one entry. */
static size_t emit(const match *m, uint32_t h, match_hit_fn fn, void *arg)
{
	size_t n = 0;
	if (!(h & MATCH_CHAIN)) {
		if (fn)
			fn(arg, h, m->ids + m->id_off[h]);
		return 1;
	}
	for (uint32_t k = h & ~MATCH_CHAIN; k != MATCH_EMPTY; k = m->chain[k].next) {
		uint32_t x = m->chain[k].handle;
		if (fn)
			fn(arg, x, m->ids + m->id_off[x]);
		n++;
	}
	return n;
}

static size_t probe_bytes(const match *m, const match_btab *tb, const void *key, size_t len,
			  match_hit_fn fn, void *arg)
{
	if (!tb->cap)
		return 0;
	uint64_t h = match_hash_bytes(key, len);
	uint32_t tag = (uint32_t)(h >> 32) | 1u;
	for (uint32_t s = match_slot(h, tb->cap);; s = s + 1 == tb->cap ? 0 : s + 1) {
		const match_bent *e = &tb->e[s];
		if (e->tag == 0)
			return 0;
		if (e->tag != tag)
			continue;
		size_t l2;
		const char *k2 = match_key_at(m->arena, e->off, &l2);
		if (l2 == len && memcmp(key, k2, len) == 0)
			return emit(m, e->handle, fn, arg);
	}
}

size_t match_ipv4(const match *m, uint32_t addr, match_hit_fn fn, void *arg)
{
	size_t n = 0;
	for (size_t i = 0; i < m->n_v4_lens; i++) {
		unsigned p = m->v4_lens[i];
		const match_u32tab *tb = &m->v4[p];
		uint32_t key = addr & (p ? ~0u << (32 - p) : 0);
		for (uint32_t s = match_slot(match_hash_u32(key), tb->cap);; s = s + 1 == tb->cap ? 0 : s + 1) {
			if (tb->e[s].handle == MATCH_EMPTY)
				break;
			if (tb->e[s].key == key) {
				n += emit(m, tb->e[s].handle, fn, arg);
				break;
			}
		}
	}
	return n;
}

size_t match_ipv6(const match *m, const uint8_t addr[16], match_hit_fn fn, void *arg)
{
	size_t n = 0;
	for (size_t i = 0; i < m->n_v6_lens; i++) {
		unsigned p = m->v6_lens[i];
		uint8_t key[16];
		for (unsigned b = 0; b < 16; b++) {
			unsigned keep = p > b * 8 ? p - b * 8 : 0;
			key[b] = keep >= 8 ? addr[b] : (uint8_t)(addr[b] & (0xFF00u >> keep));
		}
		n += probe_bytes(m, &m->bt[MATCH_T_V6 + p], key, 16, fn, arg);
	}
	return n;
}

size_t match_domain(const match *m, const char *s, size_t len, match_hit_fn fn, void *arg)
{
	char buf[MATCH_MAX_VALUE];
	size_t n = match_norm_domain(s, len, buf);
	return n ? probe_bytes(m, &m->bt[MATCH_T_DOMAIN], buf, n, fn, arg) : 0;
}

size_t match_email(const match *m, const char *s, size_t len, match_hit_fn fn, void *arg)
{
	char buf[MATCH_MAX_VALUE];
	size_t n = match_norm_email(s, len, buf);
	return n ? probe_bytes(m, &m->bt[MATCH_T_EMAIL], buf, n, fn, arg) : 0;
}

size_t match_url(const match *m, const char *s, size_t len, match_hit_fn fn, void *arg)
{
	char buf[MATCH_MAX_VALUE];
	size_t n = match_norm_url(s, len, buf);
	return n ? probe_bytes(m, &m->bt[MATCH_T_URL], buf, n, fn, arg) : 0;
}

size_t match_hash(const match *m, match_hash_kind kind, const char *hex, size_t len,
		  match_hit_fn fn, void *arg)
{
	static const size_t sizes[] = {16, 20, 32, 64};
	uint8_t bytes[64];
	if ((unsigned)kind > MATCH_SHA512 || len != 2 * sizes[kind] ||
	    !match_unhex(hex, sizes[kind], bytes))
		return 0;
	return probe_bytes(m, &m->bt[MATCH_T_MD5 + kind], bytes, sizes[kind], fn, arg);
}
