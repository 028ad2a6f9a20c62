/*
 * sensor_values.h: the value scheme the sensor benchmark's inputs share.
 *
 * gen_sensor.c writes indicator bundles, logs and pcaps from it, and
 * bench_match.c builds matchers from the same indicators without going
 * through a file, so both measure the same values. Everything here is a
 * pure function of (seed, number of indicators, index): indicator i is
 * value(i), even i an IPv4 address in 11-100.x.x.x, odd i a domain
 * "w<8 hex>-<6 hex>.example-<2 digits>.net". Values from index n_ind up
 * (what traffic carries when it has no hit) are addresses in 101-190.x.x.x
 * and domains of the same shape, so no non-indicator is an indicator and,
 * every label having the same shape and length, no domain is a substring
 * of another.
 *
 * Header-only (static functions) because it is shared by two bench
 * programs and by nothing in src/.
 */
#ifndef RK_BENCH_SENSOR_VALUES_H
#define RK_BENCH_SENSOR_VALUES_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct gen {
	uint64_t seed;
	size_t n_ind;
	unsigned hit_every;
} gen;

#define GEN_DEFAULT_SEED 20261126u

static inline uint64_t gen_mix64(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

/* SplitMix64: the next value of stream *s. */
static inline uint64_t gen_rnd(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15u;
	return gen_mix64(*s);
}

static inline void gen_ipv4(const gen *g, size_t i, unsigned char out[4])
{
	uint64_t h = gen_mix64(g->seed ^ (i * 2 + 1));
	/* indicators in 11-100.x.x.x, other addresses in 101-190.x.x.x: no
	 * address is both */
	out[0] = (unsigned char)((i < g->n_ind ? 11 : 101) + h % 90);
	out[1] = (unsigned char)(h >> 8);
	out[2] = (unsigned char)(h >> 16);
	out[3] = (unsigned char)(1 + (h >> 24) % 254);
}

static inline int gen_domain(const gen *g, size_t i, char *out, size_t len)
{
	uint64_t h = gen_mix64(g->seed ^ (i * 2 + 2));
	return snprintf(out, len, "w%08" PRIx64 "-%06" PRIx64 ".example-%02u.net",
			h & 0xffffffffu, (h >> 32) & 0xffffffu, (unsigned)(h >> 56) % 100);
}

/* A value index from random bits r: a domain (odd) or an address (even),
 * an indicator (below n_ind) or not (from n_ind to 4 n_ind). */
static inline size_t gen_pick(const gen *g, uint64_t r, bool domain, bool indicator)
{
	size_t base = indicator ? 0 : g->n_ind + (g->n_ind & 1);
	size_t span = indicator ? g->n_ind / 2 : 3 * g->n_ind / 2 + 1;
	return base + 2 * (size_t)(r % (span ? span : 1)) + (domain ? 1 : 0);
}

/* Value i as text (even i an address, odd i a domain); returns its length. */
static inline int gen_value(const gen *g, size_t i, char *out, size_t len)
{
	if (i % 2 == 0) {
		unsigned char a[4];
		gen_ipv4(g, i, a);
		return snprintf(out, len, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	}
	return gen_domain(g, i, out, len);
}

/* Indicator i's STIX id (a UUIDv4-shaped mix of i). */
static inline int gen_indicator_id(const gen *g, size_t i, char *out, size_t len)
{
	uint64_t a = gen_mix64(g->seed ^ (0x1d1d0000u + i)), b = gen_mix64(a);
	return snprintf(out, len, "indicator--%08x-%04x-4%03x-8%03x-%012" PRIx64,
			(unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffffu,
			(unsigned)(a >> 4) & 0xfffu, (unsigned)b & 0xfffu,
			(b >> 16) & 0xffffffffffffu);
}

/* Indicator i's pattern text; returns its length. */
static inline int gen_pattern(const gen *g, size_t i, char *out, size_t len)
{
	char v[128];
	gen_value(g, i, v, sizeof v);
	return snprintf(out, len, "[%s:value = '%s']", i % 2 ? "domain-name" : "ipv4-addr", v);
}

#endif
