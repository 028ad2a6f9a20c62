/*
 * store_known.c: the set of id hashes a store may hold, as a filter with no
 * false negatives, so that storing an object whose id was never seen skips
 * the id-index lookup (store_sqlite.c, put_item).
 *
 * Most objects a hub ingests are new: their lookup finds nothing, yet it
 * costs a descent of the id index and a statement step. The filter answers
 * "certainly absent" for about 99% of new ids and "maybe present" for every
 * stored one, after which the engine looks as before.
 *
 * Layout: a blocked Bloom filter (Putze, Sanders, Singler 2007): one 64-bit
 * word per key, chosen by the low bits of idh, in which three bits chosen by
 * higher bits of idh are set, so a probe reads one cache line. idh is
 * already a well-mixed 64-bit hash (store_idh), so no rehashing is needed.
 * Sized at 16 bits per key, a level's false-positive rate stays near 1%.
 * The filter never needs a rebuild: when the newest level holds as many
 * keys as it was sized for, a level twice as large is added and takes the
 * new keys (a "scalable" Bloom filter, Almeida et al. 2007); a probe asks
 * every level, and there are log2 of the growth of them.
 *
 * Invariant: every key added is reported present. Should memory for a new
 * level be lacking, the filter turns saturated and reports every key
 * present: lookups then all run, which is slower but never wrong.
 * Not thread-safe: the engine holds its tail lock around every call.
 */
#include <stdlib.h>

#include "store_int.h"

#define KNOWN_MIN_KEYS ((size_t)1 << 16)
#define KNOWN_MAX_LEVELS 40
#define KNOWN_KEYS_PER_WORD 4 /* 64 bits / 16 bits per key */

typedef struct known_level {
	uint64_t *words;
	size_t mask; /* number of words - 1 (a power of two minus one) */
	size_t n, cap;
} known_level;

struct store_known {
	known_level level[KNOWN_MAX_LEVELS];
	size_t n_levels;
	bool saturated;
};

static uint64_t known_bits(uint64_t h)
{
	return ((uint64_t)1 << ((h >> 40) & 63)) | ((uint64_t)1 << ((h >> 46) & 63)) |
	       ((uint64_t)1 << ((h >> 52) & 63));
}

static bool level_add(store_known *k, size_t keys)
{
	size_t words = 1;

	if (k->n_levels == KNOWN_MAX_LEVELS)
		return false;
	while (words * KNOWN_KEYS_PER_WORD < keys)
		words *= 2;
	known_level *l = &k->level[k->n_levels];
	l->words = calloc(words, sizeof *l->words);
	if (!l->words)
		return false;
	l->mask = words - 1;
	l->n = 0;
	l->cap = words * KNOWN_KEYS_PER_WORD;
	k->n_levels++;
	return true;
}

store_known *store_known_new(size_t expect)
{
	store_known *k = calloc(1, sizeof *k);

	if (!k)
		return NULL;
	if (!level_add(k, expect * 2 > KNOWN_MIN_KEYS ? expect * 2 : KNOWN_MIN_KEYS)) {
		free(k);
		return NULL;
	}
	return k;
}

void store_known_add(store_known *k, int64_t idh)
{
	uint64_t h = (uint64_t)idh;

	if (k->saturated)
		return;
	known_level *l = &k->level[k->n_levels - 1];
	if (l->n >= l->cap) {
		if (!level_add(k, l->cap * 2)) {
			k->saturated = true;
			return;
		}
		l = &k->level[k->n_levels - 1];
	}
	l->words[h & l->mask] |= known_bits(h);
	l->n++;
}

bool store_known_may_have(const store_known *k, int64_t idh)
{
	uint64_t h = (uint64_t)idh, bits = known_bits(h);

	if (k->saturated)
		return true;
	for (size_t i = 0; i < k->n_levels; i++)
		if ((k->level[i].words[h & k->level[i].mask] & bits) == bits)
			return true;
	return false;
}

size_t store_known_bytes(const store_known *k)
{
	size_t bytes = sizeof *k;

	for (size_t i = 0; i < k->n_levels; i++)
		bytes += (k->level[i].mask + 1) * sizeof(uint64_t);
	return bytes;
}

void store_known_free(store_known *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n_levels; i++)
		free(k->level[i].words);
	free(k);
}
