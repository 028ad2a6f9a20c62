/*
 * match_corr.c: compound patterns completed from atom observations, with
 * bounded state.
 *
 * State is one slot per (compound pattern, correlation key), at most
 * max_keys slots, all allocated by match_corr_new:
 *
 *   buckets[hash(pattern, key)] -> slot -> next slot in the bucket ...
 *   lru: most recently fed slot first; a full table evicts the last
 *   ring[slot * depth ...]: the slot's last `depth` observations, oldest at
 *   `head`, each (time, atoms satisfied)
 *
 * After each feed the slot's ring, oldest first, goes to
 * pattern_match_atoms: the same binding search pattern_match runs over
 * observed-data, so the semantics cannot drift from the evaluator's. For a
 * pattern qualified WITHIN d as a whole, only the observations within d of
 * the new one go (exact: a match must use the new observation, as the ring
 * held none before). The search is combinatorial when it fails (REPEATS n
 * AND an atom never seen: every n-subset is tried), so each feed gets
 * MATCH_CORR_MAX_STEPS steps; past them the feed counts as an error, no
 * hit, and the state stays.
 *
 * A hit empties the ring: a state never completes twice from the same
 * observations, so a steady stream of atoms yields one hit per completion
 * rather than one per feed.
 */
#include <stdlib.h>
#include <string.h>

#include "match_int.h"

#define NIL UINT32_MAX

typedef struct corr_slot {
	uint64_t key;
	uint32_t compound;   /* NIL: free */
	uint32_t bnext;      /* next slot in its bucket */
	uint32_t prev, next; /* LRU list */
	uint32_t head, n;    /* ring: oldest observation, count */
} corr_slot;

struct match_corr {
	const match *m;
	size_t depth;
	uint32_t cap, nbuckets, used;
	corr_slot *slots;
	uint32_t *buckets;
	pattern_atom_obs *ring;
	uint32_t lru_head, lru_tail; /* most and least recently fed */
	match_corr_stats st;
};

match_corr *match_corr_new(const match *m, size_t max_keys, size_t depth)
{
	match_corr *c;

	if (!m || max_keys == 0 || max_keys >= NIL / 2 || depth == 0 ||
	    depth > MATCH_CORR_MAX_DEPTH || max_keys > SIZE_MAX / depth / sizeof(pattern_atom_obs))
		return NULL;
	if (!(c = calloc(1, sizeof *c)))
		return NULL;
	c->m = m;
	c->depth = depth;
	c->cap = (uint32_t)max_keys;
	c->nbuckets = 1;
	while (c->nbuckets < 2 * c->cap)
		c->nbuckets *= 2;
	c->slots = malloc(c->cap * sizeof *c->slots);
	c->buckets = malloc(c->nbuckets * sizeof *c->buckets);
	c->ring = malloc(max_keys * depth * sizeof *c->ring);
	if (!c->slots || !c->buckets || !c->ring) {
		match_corr_free(c);
		return NULL;
	}
	for (uint32_t i = 0; i < c->cap; i++)
		c->slots[i].compound = NIL;
	memset(c->buckets, 0xff, c->nbuckets * sizeof *c->buckets);
	c->lru_head = c->lru_tail = NIL;
	return c;
}

void match_corr_free(match_corr *c)
{
	if (!c)
		return;
	free(c->slots);
	free(c->buckets);
	free(c->ring);
	free(c);
}

void match_corr_get_stats(const match_corr *c, match_corr_stats *st)
{
	*st = c->st;
	st->keys = c->used;
}

/* Compound patterns are in handle order. */
static uint32_t find_compound(const match *m, uint32_t handle)
{
	size_t lo = 0, hi = m->n_compound;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->compound[mid].handle < handle)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->n_compound && m->compound[lo].handle == handle ? (uint32_t)lo : NIL;
}

static uint32_t bucket_of(const match_corr *c, uint32_t compound, uint64_t key)
{
	uint64_t w[2] = { key, compound };
	return (uint32_t)(match_hash_bytes(w, sizeof w) & (c->nbuckets - 1));
}

static void lru_unlink(match_corr *c, uint32_t i)
{
	corr_slot *s = &c->slots[i];

	if (s->prev != NIL)
		c->slots[s->prev].next = s->next;
	else
		c->lru_head = s->next;
	if (s->next != NIL)
		c->slots[s->next].prev = s->prev;
	else
		c->lru_tail = s->prev;
}

static void lru_push_front(match_corr *c, uint32_t i)
{
	corr_slot *s = &c->slots[i];

	s->prev = NIL;
	s->next = c->lru_head;
	if (c->lru_head != NIL)
		c->slots[c->lru_head].prev = i;
	c->lru_head = i;
	if (c->lru_tail == NIL)
		c->lru_tail = i;
}

static void bucket_remove(match_corr *c, uint32_t i)
{
	corr_slot *s = &c->slots[i];
	uint32_t *p = &c->buckets[bucket_of(c, s->compound, s->key)];

	while (*p != i)
		p = &c->slots[*p].bnext;
	*p = s->bnext;
}

/* The slot of (compound, key), made (evicting the least recently fed slot
 * when all are taken) if there is none. */
static uint32_t slot_for(match_corr *c, uint32_t compound, uint64_t key)
{
	uint32_t b = bucket_of(c, compound, key), i;

	for (i = c->buckets[b]; i != NIL; i = c->slots[i].bnext)
		if (c->slots[i].compound == compound && c->slots[i].key == key) {
			lru_unlink(c, i);
			lru_push_front(c, i);
			return i;
		}
	if (c->used < c->cap) {
		i = c->used++;
	} else {
		i = c->lru_tail;
		lru_unlink(c, i);
		bucket_remove(c, i);
		c->st.evicted++;
	}
	corr_slot *s = &c->slots[i];
	s->key = key;
	s->compound = compound;
	s->head = s->n = 0;
	s->bnext = c->buckets[b];
	c->buckets[b] = i;
	lru_push_front(c, i);
	return i;
}

int match_corr_feed(match_corr *c, uint32_t handle, const match_atomset *atoms, rk_time time,
		    uint64_t key, match_hit_fn on_hit, void *arg)
{
	pattern_atom_obs seq[MATCH_CORR_MAX_DEPTH];
	const match *m;
	uint32_t compound, i;
	bool matched = false;

	if (!c || !atoms)
		return 0;
	m = c->m;
	c->st.fed++;
	if ((compound = find_compound(m, handle)) == NIL) {
		c->st.unknown++;
		return 0;
	}
	i = slot_for(c, compound, key);
	corr_slot *s = &c->slots[i];
	pattern_atom_obs *ring = &c->ring[(size_t)i * c->depth];
	pattern_atom_obs *o;
	if (s->n == c->depth) { /* full: the oldest goes */
		o = &ring[s->head];
		s->head = (uint32_t)((s->head + 1) % c->depth);
		c->st.dropped++;
	} else {
		o = &ring[(s->head + s->n) % c->depth];
		s->n++;
	}
	o->time = time;
	memcpy(o->atoms, atoms->bits, sizeof o->atoms);

	/* Before this feed the ring held no match (a hit empties it), so a
	 * match now uses the new observation; under WITHIN d every other
	 * observation of it lies within d of the new one. */
	const pattern *p = m->compound[compound].p;
	int64_t window = pattern_window(p);
	uint32_t n = 0;
	for (uint32_t k = 0; k < s->n; k++) {
		const pattern_atom_obs *x = &ring[(s->head + k) % c->depth];
		if (window < 0 || (x->time >= time - window && x->time <= time + window))
			seq[n++] = *x;
	}
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	if (pattern_match_atoms(p, seq, n, MATCH_CORR_MAX_STEPS, &matched, &ctx) != RK_OK) {
		c->st.errors++;
		return 0;
	}
	if (!matched)
		return 0;
	s->head = s->n = 0;
	c->st.hits++;
	if (on_hit)
		on_hit(arg, handle);
	return 1;
}
