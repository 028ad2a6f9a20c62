/*
 * test_match_eval.c: the matcher beyond exact values: single-observation
 * patterns evaluated per observable (LIKE, MATCHES, ISSUBSET, !=, OR across
 * types), compound patterns reported as atoms and completed by the
 * correlator (FOLLOWEDBY both ways, WITHIN at its edge, REPEATS, distinct
 * observations for AND), the correlator's bounds (eviction of the least
 * recently fed state, a full ring dropping its oldest observation), and a
 * pattern that does not compile reported with its id.
 *
 * test_agrees_with_pattern_match generates compound patterns and sequences
 * of observables from a fixed seed, runs them through match_observe and
 * match_corr, and checks after every observable that the correlator hits
 * exactly when pattern_match, over the same observations as observed-data
 * (those since the last hit), finds the pattern. Four threads observe at
 * once, each with its scratch. Last, the observe rate with 1,000
 * LIKE/MATCHES indicators is printed, never asserted. The literals the
 * prefilter indexes are checked on a table of expressions and, as a
 * property, on random LIKE and MATCHES patterns: a value an atom holds for
 * contains one of the atom's literals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>

#include "match.h"
#include "match_test_util.h"

#define SEC ((rk_time)1000000)

static const char *const PAT[] = {
	/* 0 */ "[domain-name:value LIKE '%.evil.example']",
	/* 1 */ "[domain-name:value MATCHES '^bad[0-9]+\\\\.']",
	/* 2 */ "[ipv4-addr:value ISSUBSET '10.0.0.0/8']",
	/* 3 */ "[ipv6-addr:value ISSUBSET '2001:db8:aa::/48']",
	/* 4 */ "[ipv4-addr:value = '192.0.2.9' OR domain-name:value LIKE '%.or.example']",
	/* 5 */ "[url:value LIKE 'http://%/wp-admin/%' AND url:value != 'http://ok.example/wp-admin/']",
	/* 6 */ "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' "
		"MATCHES '^curl/7\\\\.']",
	/* 7 */ "[domain-name:value = 'first.example'] FOLLOWEDBY [ipv4-addr:value = '203.0.113.5']",
	/* 8 */ "([domain-name:value = 'w1.example'] AND [domain-name:value LIKE 'w2.%']) "
		"WITHIN 10 SECONDS",
	/* 9 */ "[ipv4-addr:value ISSUBSET '198.18.0.0/15'] REPEATS 3 TIMES",
	/* 10 */ "[domain-name:value LIKE '%.two'] AND [domain-name:value LIKE 'a.%']",
	/* 11 */ "[ipv4-addr:value = ",
	/* 12 */ "[file:name = 'x.exe' AND file:size > 3]",
	/* 13 */ "[file:hashes.'SHA-256' LIKE 'ab%']",
	/* 14 */ "[email-addr:value MATCHES '@phish\\\\.example$'] START t'2023-11-01T00:00:00Z' "
		 "STOP t'2023-12-01T00:00:00Z'",
};

typedef struct {
	uint32_t hit[16];
	size_t nhit;
	uint32_t atom_handle[16];
	match_atomset atoms[16];
	size_t natom;
} seen;

static void on_hit(void *arg, uint32_t handle)
{
	seen *s = arg;
	if (s->nhit < 16)
		s->hit[s->nhit++] = handle;
}

static void on_atom(void *arg, uint32_t handle, const match_atomset *atoms)
{
	seen *s = arg;
	if (s->natom < 16) {
		s->atom_handle[s->natom] = handle;
		s->atoms[s->natom++] = *atoms;
	}
}

typedef struct {
	uint32_t handle;
	char id[64];
	char reason[200];
	size_t n;
} rejects;

static void on_reject(void *arg, uint32_t handle, const char *id, const char *reason)
{
	rejects *r = arg;
	r->handle = handle;
	snprintf(r->id, sizeof r->id, "%s", id);
	snprintf(r->reason, sizeof r->reason, "%s", reason);
	r->n++;
}

static match *M;
static match_scratch *S;
static rejects REJ;

static int setup(void **state)
{
	(void)state;
	rk_errctx ctx;
	char id[64];
	rk_errctx_clear(&ctx);
	match_builder *b = match_builder_new(NOW, on_reject, &REJ);
	if (!b)
		return -1;
	for (size_t i = 0; i < RK_ARRAY_LEN(PAT); i++) {
		snprintf(id, sizeof id, "indicator--eval-%zu", i);
		if (match_builder_add(b, id, PAT[i], 0, 0, false, &ctx))
			return -1;
	}
	rk_err e = match_build(b, &M, &ctx);
	match_builder_free(b);
	if (e || !(S = match_scratch_new(M)))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	match_scratch_free(S);
	match_free(M);
	return 0;
}

/* Observes one text value; returns what was seen. */
static seen obs_text(match_obs_kind k, const char *v)
{
	seen s;
	memset(&s, 0, sizeof s);
	match_obs o = { .kind = k, .value = v, .len = strlen(v) };
	size_t n = match_observe(M, S, &o, on_hit, on_atom, &s);
	assert_int_equal(n, s.nhit);
	return s;
}

static bool hit_is(const seen *s, uint32_t h)
{
	return s->nhit == 1 && s->hit[0] == h;
}

static void test_like_matches(void **state)
{
	(void)state;
	seen s = obs_text(MATCH_OBS_DOMAIN, "c2.evil.example");
	assert_true(hit_is(&s, 0));
	s = obs_text(MATCH_OBS_DOMAIN, "evil.example"); /* LIKE '%.evil...' needs the dot */
	assert_int_equal(s.nhit, 0);
	s = obs_text(MATCH_OBS_DOMAIN, "c2.evil.example.org");
	assert_int_equal(s.nhit, 0);
	s = obs_text(MATCH_OBS_DOMAIN, "bad42.example");
	assert_true(hit_is(&s, 1));
	s = obs_text(MATCH_OBS_DOMAIN, "bad.example");
	assert_int_equal(s.nhit, 0);
	s = obs_text(MATCH_OBS_DOMAIN, "xbad42.example"); /* anchored */
	assert_int_equal(s.nhit, 0);
	s = obs_text(MATCH_OBS_USER_AGENT, "curl/7.88.1");
	assert_true(hit_is(&s, 6));
	s = obs_text(MATCH_OBS_USER_AGENT, "curl/8.4.0");
	assert_int_equal(s.nhit, 0);
	/* the same text as another kind is another object: no hit */
	s = obs_text(MATCH_OBS_URL, "curl/7.88.1");
	assert_int_equal(s.nhit, 0);
	s = obs_text(MATCH_OBS_SHA256,
		     "ab00000000000000000000000000000000000000000000000000000000000000");
	assert_true(hit_is(&s, 13));
	s = obs_text(MATCH_OBS_SHA1, "ab00000000000000000000000000000000000000");
	assert_int_equal(s.nhit, 0);
	/* LIKE and != together on one URL */
	s = obs_text(MATCH_OBS_URL, "http://shop.example/wp-admin/login.php");
	assert_true(hit_is(&s, 5));
	s = obs_text(MATCH_OBS_URL, "http://ok.example/wp-admin/");
	assert_int_equal(s.nhit, 0);
}

static void test_cidr_issubset(void **state)
{
	(void)state;
	seen s;
	memset(&s, 0, sizeof s);
	match_obs o = { .kind = MATCH_OBS_IPV4, .ipv4 = 0x0a010203 }; /* 10.1.2.3 */
	assert_int_equal(match_observe(M, S, &o, on_hit, on_atom, &s), 1);
	assert_true(hit_is(&s, 2));
	o.ipv4 = 0x0b000001;
	assert_int_equal(match_observe(M, S, &o, NULL, NULL, NULL), 0);
	s = obs_text(MATCH_OBS_IPV4, "10.255.255.255");
	assert_true(hit_is(&s, 2));
	s = obs_text(MATCH_OBS_IPV4, "9.255.255.255");
	assert_int_equal(s.nhit, 0);
	s = obs_text(MATCH_OBS_IPV4, "not an address");
	assert_int_equal(s.nhit, 0);
	match_obs o6 = { .kind = MATCH_OBS_IPV6,
			 .ipv6 = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7} };
	memset(&s, 0, sizeof s);
	assert_int_equal(match_observe(M, S, &o6, on_hit, NULL, &s), 1);
	assert_true(hit_is(&s, 3));
	o6.ipv6[5] = 0xab;
	assert_int_equal(match_observe(M, S, &o6, on_hit, NULL, NULL), 0);
}

static void test_or_across_types(void **state)
{
	(void)state;
	seen s = obs_text(MATCH_OBS_IPV4, "192.0.2.9");
	assert_true(hit_is(&s, 4));
	s = obs_text(MATCH_OBS_DOMAIN, "x.or.example");
	assert_true(hit_is(&s, 4));
	s = obs_text(MATCH_OBS_DOMAIN, "192.0.2.9"); /* a domain is not an ipv4-addr */
	assert_int_equal(s.nhit, 0);
	s = obs_text(MATCH_OBS_IPV4, "192.0.2.10");
	assert_int_equal(s.nhit, 0);
}

/* Feeds what one observable did to the correlator; returns the hits. */
static int feed(match_corr *c, match_obs_kind k, const char *v, rk_time t, uint64_t key,
		uint32_t want_handle)
{
	seen s = obs_text(k, v);
	int hits = 0;
	for (size_t i = 0; i < s.natom; i++) {
		seen h;
		memset(&h, 0, sizeof h);
		int r = match_corr_feed(c, s.atom_handle[i], &s.atoms[i], t, key, on_hit, &h);
		assert_int_equal((size_t)r, h.nhit);
		if (r)
			assert_int_equal(h.hit[0], want_handle);
		hits += r;
	}
	return hits;
}

static void test_followedby(void **state)
{
	(void)state;
	match_corr *c = match_corr_new(M, 16, 8);
	assert_non_null(c);
	/* an exact atom of a compound pattern is not a hit of its own */
	seen s = obs_text(MATCH_OBS_DOMAIN, "First.Example");
	assert_int_equal(s.nhit, 0);
	assert_int_equal(s.natom, 1);
	assert_int_equal(s.atom_handle[0], 7);
	assert_int_equal(s.atoms[0].bits[0], 1);
	assert_int_equal(match_domain(M, "first.example", 13, NULL, NULL), 0);
	/* in order */
	assert_int_equal(feed(c, MATCH_OBS_DOMAIN, "first.example", NOW, 1, 7), 0);
	assert_int_equal(feed(c, MATCH_OBS_IPV4, "203.0.113.5", NOW + SEC, 1, 7), 1);
	/* reversed: the address first, then the name, never holds */
	assert_int_equal(feed(c, MATCH_OBS_IPV4, "203.0.113.5", NOW + 10 * SEC, 2, 7), 0);
	assert_int_equal(feed(c, MATCH_OBS_DOMAIN, "first.example", NOW + 11 * SEC, 2, 7), 0);
	/* ... until the address comes again, after the name */
	assert_int_equal(feed(c, MATCH_OBS_IPV4, "203.0.113.5", NOW + 12 * SEC, 2, 7), 1);
	/* keys are separate: a name under key 3 and an address under key 4 */
	assert_int_equal(feed(c, MATCH_OBS_DOMAIN, "first.example", NOW, 3, 7), 0);
	assert_int_equal(feed(c, MATCH_OBS_IPV4, "203.0.113.5", NOW + SEC, 4, 7), 0);
	match_corr_stats st;
	match_corr_get_stats(c, &st);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.fed, 7);
	assert_int_equal(st.keys, 4);
	assert_int_equal(st.evicted, 0);
	match_corr_free(c);
}

static void test_within(void **state)
{
	(void)state;
	match_corr *c = match_corr_new(M, 16, 8);
	assert_non_null(c);
	/* 10 s apart: inside WITHIN 10 SECONDS */
	assert_int_equal(feed(c, MATCH_OBS_DOMAIN, "w1.example", NOW, 1, 8), 0);
	assert_int_equal(feed(c, MATCH_OBS_DOMAIN, "w2.example", NOW + 10 * SEC, 1, 8), 1);
	/* 10 s and a microsecond: outside */
	assert_int_equal(feed(c, MATCH_OBS_DOMAIN, "w2.example", NOW, 2, 8), 0);
	assert_int_equal(feed(c, MATCH_OBS_DOMAIN, "w1.example", NOW + 10 * SEC + 1, 2, 8), 0);
	/* AND has no order: w1 late then w2 early, within the window */
	assert_int_equal(feed(c, MATCH_OBS_DOMAIN, "w2.example", NOW + 5 * SEC, 2, 8), 1);
	match_corr_free(c);
}

static void test_repeats(void **state)
{
	(void)state;
	match_corr *c = match_corr_new(M, 16, 8);
	assert_non_null(c);
	assert_int_equal(feed(c, MATCH_OBS_IPV4, "198.18.0.1", NOW, 0, 9), 0);
	assert_int_equal(feed(c, MATCH_OBS_IPV4, "198.19.255.1", NOW + 1, 0, 9), 0);
	assert_int_equal(feed(c, MATCH_OBS_IPV4, "198.20.0.1", NOW + 2, 0, 9), 0); /* outside */
	assert_int_equal(feed(c, MATCH_OBS_IPV4, "198.18.7.7", NOW + 3, 0, 9), 1);
	/* the state was emptied: three more are needed */
	assert_int_equal(feed(c, MATCH_OBS_IPV4, "198.18.0.1", NOW + 4, 0, 9), 0);
	assert_int_equal(feed(c, MATCH_OBS_IPV4, "198.18.0.1", NOW + 5, 0, 9), 0);
	assert_int_equal(feed(c, MATCH_OBS_IPV4, "198.18.0.1", NOW + 6, 0, 9), 1);
	match_corr_free(c);
}

static void test_distinct_observations(void **state)
{
	(void)state;
	match_corr *c = match_corr_new(M, 4, 8);
	assert_non_null(c);
	/* 'a.two' satisfies both atoms of pattern 10, reported once with both */
	seen s = obs_text(MATCH_OBS_DOMAIN, "a.two");
	assert_int_equal(s.natom, 1);
	assert_int_equal(s.atom_handle[0], 10);
	assert_int_equal(s.atoms[0].bits[0], 3);
	assert_int_equal(s.atoms[0].bits[1], 0);
	/* one observation cannot be both sides of AND; a second one can */
	assert_int_equal(feed(c, MATCH_OBS_DOMAIN, "a.two", NOW, 0, 10), 0);
	assert_int_equal(feed(c, MATCH_OBS_DOMAIN, "a.two", NOW, 0, 10), 1);
	match_corr_free(c);
}

static void test_start_stop(void **state)
{
	(void)state;
	match_corr *c = match_corr_new(M, 4, 4);
	rk_time in, out;
	assert_non_null(c);
	assert_true(rk_time_parse("2023-11-30T23:59:59Z", &in));
	assert_true(rk_time_parse("2023-12-01T00:00:00Z", &out)); /* STOP is exclusive */
	assert_int_equal(feed(c, MATCH_OBS_EMAIL, "boss@phish.example", out, 0, 14), 0);
	assert_int_equal(feed(c, MATCH_OBS_EMAIL, "boss@phish.example", in, 0, 14), 1);
	assert_int_equal(feed(c, MATCH_OBS_EMAIL, "boss@phish.example.org", in, 0, 14), 0);
	match_corr_free(c);
}

static void test_bounds(void **state)
{
	(void)state;
	match_corr_stats st;
	/* two states: key 1's half-done FOLLOWEDBY is evicted by keys 2 and 3 */
	match_corr *c = match_corr_new(M, 2, 8);
	assert_non_null(c);
	assert_int_equal(feed(c, MATCH_OBS_DOMAIN, "first.example", NOW, 1, 7), 0);
	assert_int_equal(feed(c, MATCH_OBS_DOMAIN, "first.example", NOW, 2, 7), 0);
	assert_int_equal(feed(c, MATCH_OBS_DOMAIN, "first.example", NOW, 3, 7), 0);
	match_corr_get_stats(c, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.keys, 2);
	assert_int_equal(feed(c, MATCH_OBS_IPV4, "203.0.113.5", NOW + SEC, 1, 7), 0);
	/* key 3 was fed after key 2, so key 2 went when key 1 came back */
	assert_int_equal(feed(c, MATCH_OBS_IPV4, "203.0.113.5", NOW + SEC, 3, 7), 1);
	match_corr_get_stats(c, &st);
	assert_int_equal(st.evicted, 2);
	match_corr_free(c);

	/* a ring of two can never hold REPEATS 3: observations drop out */
	c = match_corr_new(M, 2, 2);
	assert_non_null(c);
	for (int i = 0; i < 5; i++)
		assert_int_equal(feed(c, MATCH_OBS_IPV4, "198.18.0.1", NOW + i, 0, 9), 0);
	match_corr_get_stats(c, &st);
	assert_int_equal(st.dropped, 3);
	assert_int_equal(st.hits, 0);
	/* a handle that is not a compound pattern is counted, not matched */
	match_atomset one = {{1, 0}};
	assert_int_equal(match_corr_feed(c, 0, &one, NOW, 0, NULL, NULL), 0);
	assert_int_equal(match_corr_feed(c, 999, &one, NOW, 0, NULL, NULL), 0);
	match_corr_get_stats(c, &st);
	assert_int_equal(st.unknown, 2);
	match_corr_free(c);
	assert_null(match_corr_new(M, 0, 4));
	assert_null(match_corr_new(M, 4, MATCH_CORR_MAX_DEPTH + 1));
}

/* A failing search is combinatorial (every 5 of the 16 addresses, each
 * time without the name): each feed stops at MATCH_CORR_MAX_STEPS and is
 * counted; a search that succeeds finds its match at once. */
static void test_search_budget(void **state)
{
	(void)state;
	rk_errctx ctx;
	match *m = NULL;
	match_corr_stats st;
	rk_errctx_clear(&ctx);
	match_builder *b = match_builder_new(NOW, NULL, NULL);
	assert_non_null(b);
	assert_int_equal(match_builder_add(b, "indicator--budget",
					   "([ipv4-addr:value ISSUBSET '10.0.0.0/8'] REPEATS 5 TIMES "
					   "AND [domain-name:value = 'late.example']) WITHIN 600 SECONDS",
					   0, 0, false, &ctx), RK_OK);
	assert_int_equal(match_build(b, &m, &ctx), RK_OK);
	match_builder_free(b);
	match_corr *c = match_corr_new(m, 2, 16);
	assert_non_null(c);
	match_atomset addr = {{1, 0}}, name = {{2, 0}};
	for (int i = 0; i < 16; i++)
		assert_int_equal(match_corr_feed(c, 0, &addr, NOW + i * SEC, 0, NULL, NULL), 0);
	match_corr_get_stats(c, &st);
	assert_true(st.errors > 0);
	assert_int_equal(st.hits, 0);
	assert_int_equal(match_corr_feed(c, 0, &name, NOW + 20 * SEC, 0, NULL, NULL), 1);
	/* the first address 605 s before the name: outside; 600 s: inside */
	for (int i = 0; i < 5; i++)
		assert_int_equal(match_corr_feed(c, 0, &addr, NOW + i * SEC, 1, NULL, NULL), 0);
	assert_int_equal(match_corr_feed(c, 0, &name, NOW + 605 * SEC, 1, NULL, NULL), 0);
	assert_int_equal(match_corr_feed(c, 0, &name, NOW + 600 * SEC, 1, NULL, NULL), 1);
	match_corr_free(c);
	match_free(m);
}

static void test_build_report(void **state)
{
	(void)state;
	match_stats st;
	match_get_stats(M, &st);
	assert_int_equal(st.added, RK_ARRAY_LEN(PAT));
	assert_int_equal(st.rejected, 1);
	assert_int_equal(REJ.n, 1);
	assert_int_equal(REJ.handle, 11);
	assert_string_equal(REJ.id, "indicator--eval-11");
	assert_non_null(strstr(REJ.reason, "at "));
	assert_int_equal(st.exact, 0);
	/* 0-6, 12, 13 single; 7-10, 14 compound */
	assert_int_equal(st.evaluated, 9);
	assert_int_equal(st.compound, 5);
	assert_int_equal(st.needs_eval, 14);
	assert_int_equal(st.atoms_exact, 3); /* first.example, 203.0.113.5, w1.example */
	assert_int_equal(st.atoms_eval, 5);
	assert_int_equal(st.unobservable, 1); /* file:name and file:size */
	/* every (atom, kind) pair is behind one prefilter or tried always */
	size_t pairs = 0;
	for (size_t i = 0; i < RK_ARRAY_LEN(PAT); i++) {
		pattern *p = NULL;
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		if (pattern_compile(PAT[i], strlen(PAT[i]), &p, &ctx) != RK_OK)
			continue;
		for (size_t a = 0; a < pattern_observation_count(p); a++)
			for (unsigned k = 0; k < MATCH_OBS_KIND_COUNT; k++) {
				static const char *const val[] = {"value"};
				pattern_prop v = {NULL, val, 1, NULL, 0};
				static const char *const types[] = {"ipv4-addr", "ipv6-addr", "domain-name",
								    "url", "email-addr"};
				if (k >= 5)
					continue; /* the file and network-traffic kinds below */
				v.type = types[k];
				pairs += pattern_atom_literals(pattern_atom_at(p, a), &v, NULL, NULL) !=
					 PATTERN_LIT_NEVER;
			}
		pattern_free(p);
	}
	pairs += 2; /* 6: User-Agent, 13: SHA-256 */
	pairs -= 3; /* the exact atoms of 7 and 8 are in the tables */
	assert_int_equal(st.prefiltered + st.regex_gated + st.always, pairs);
	assert_int_equal(match_eval_count(M), 14);
	assert_string_equal(match_obs_kind_name(MATCH_OBS_USER_AGENT), "user-agent");
	assert_string_equal(match_obs_path(MATCH_OBS_SHA1), "file:hashes.'SHA-1'");
	/* bad input to match_observe: no crash, no hit */
	match_obs bad = { .kind = MATCH_OBS_KIND_COUNT, .value = "x", .len = 1 };
	assert_int_equal(match_observe(M, S, &bad, on_hit, on_atom, NULL), 0);
	match_obs none = { .kind = MATCH_OBS_DOMAIN };
	assert_int_equal(match_observe(M, S, &none, on_hit, on_atom, NULL), 0);
}

static unsigned rnd(unsigned n);

/* ---------------------------------------------------------------- literals */

typedef struct {
	char lit[8][64];
	size_t n;
} lit_seen;

static void on_regex_seen(void *arg, const char *re, unsigned flags)
{
	lit_seen *l = arg;
	if (l->n < 8)
		snprintf(l->lit[l->n++], sizeof l->lit[0], "%s%s",
			 flags & PATTERN_RE_DOTALL ? "(?s)" : "", re);
}

static void on_lit(void *arg, const char *s, size_t len)
{
	lit_seen *l = arg;
	if (l->n < 8)
		snprintf(l->lit[l->n++], sizeof l->lit[0], "%.*s", (int)len, s);
}

/* The literals pattern_atom_literals gives for a domain observable, joined
 * by '|'; "ANY" or "NEVER" otherwise. */
static void literals_are(const char *text, const char *want)
{
	pattern *p = NULL;
	rk_errctx ctx;
	lit_seen l;
	char got[256] = "";
	static const char *const keys[] = {"value"};
	pattern_prop v = {"domain-name", keys, 1, NULL, 0};

	memset(&l, 0, sizeof l);
	rk_errctx_clear(&ctx);
	assert_int_equal(pattern_compile(text, strlen(text), &p, &ctx), RK_OK);
	pattern_lit r = pattern_atom_literals(pattern_atom_at(p, 0), &v, on_lit, &l);
	if (r == PATTERN_LIT_ANY)
		snprintf(got, sizeof got, "ANY");
	else if (r == PATTERN_LIT_NEVER)
		snprintf(got, sizeof got, "NEVER");
	for (size_t i = 0; r == PATTERN_LIT_SOME && i < l.n; i++)
		snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? "|" : "", l.lit[i]);
	if (strcmp(got, want) != 0)
		fail_msg("%s: got '%s', want '%s'", text, got, want);
	pattern_free(p);
}

static void test_literals(void **state)
{
	(void)state;
	literals_are("[domain-name:value LIKE '%.evil_x.example']", "x.example");
	literals_are("[domain-name:value LIKE '%']", "ANY");
	literals_are("[domain-name:value = 'a.example']", "a.example");
	literals_are("[domain-name:value IN ('ab.example', 'c.test')]", "ab.example|c.test");
	literals_are("[domain-name:value NOT LIKE '%evil%']", "ANY");
	literals_are("[domain-name:value != 'x']", "ANY");
	literals_are("[ipv4-addr:value = '10.0.0.1']", "NEVER");
	literals_are("[domain-name:value LIKE 'ab%' AND domain-name:value LIKE '%longer%']", "longer");
	literals_are("[domain-name:value LIKE 'ab%' OR domain-name:value LIKE '%cd']", "ab|cd");
	literals_are("[domain-name:value LIKE 'ab%' OR domain-name:value != 'x']", "ANY");
	literals_are("[domain-name:value LIKE 'ab%' OR ipv4-addr:value = '10.0.0.1']", "ab");
	literals_are("[domain-name:value LIKE 'ab%' AND file:name = 'x']", "NEVER");
	/* regular expressions: only what every match must contain */
	literals_are("[domain-name:value MATCHES '^bad[0-9]+\\\\.example$']", "example");
	literals_are("[domain-name:value MATCHES 'abcd?e']", "abc");
	literals_are("[domain-name:value MATCHES 'abcx*yz']", "abc");
	literals_are("[domain-name:value MATCHES 'ab+cdef']", "cdef");
	literals_are("[domain-name:value MATCHES 'zz{2,3}longtail']", "longtail");
	literals_are("[domain-name:value MATCHES 'q{1,2}ab']", "ab");
	literals_are("[domain-name:value MATCHES 'evil|bad']", "ANY");
	literals_are("[domain-name:value MATCHES '(?i)evil']", "ANY");
	literals_are("[domain-name:value MATCHES '(?:www|api)\\\\.brand']", "brand");
	literals_are("[domain-name:value MATCHES '[[:digit:]x]abc']", "ANY");
	literals_are("[domain-name:value MATCHES '[]a]bcd']", "bcd");
	literals_are("[domain-name:value MATCHES '\\\\d+host']", "ANY");
}

/* Property: an atom that holds for a value finds one of its literals in
 * the value (the prefilter never hides a hit). Random LIKE and MATCHES
 * patterns and values over a small alphabet. */
static void regexes_are(const char *text, const char *want)
{
	pattern *p = NULL;
	rk_errctx ctx;
	char got[512] = "";
	static const char *const keys[] = {"value"};
	pattern_prop v = {"domain-name", keys, 1, NULL, 0};

	rk_errctx_clear(&ctx);
	assert_int_equal(pattern_compile(text, strlen(text), &p, &ctx), RK_OK);
	pattern_lit r = pattern_atom_regexes(pattern_atom_at(p, 0), &v, NULL, NULL);
	if (r == PATTERN_LIT_SOME) {
		lit_seen l;
		memset(&l, 0, sizeof l);
		pattern_atom_regexes(pattern_atom_at(p, 0), &v, on_regex_seen, &l);
		for (size_t i = 0; i < l.n; i++)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? " | " : "",
				 l.lit[i]);
	} else {
		snprintf(got, sizeof got, "%s", r == PATTERN_LIT_ANY ? "ANY" : "NEVER");
	}
	if (strcmp(got, want) != 0)
		fail_msg("%s: got '%s', want '%s'", text, got, want);
	pattern_free(p);
}

static void test_regexes(void **state)
{
	(void)state;
	regexes_are("[domain-name:value LIKE '%.ev_l.example']", "(?s)^.*\\x2eev.l\\x2eexample\\z");
	regexes_are("[domain-name:value = 'a-b.c']", "^a\\x2db\\x2ec\\z");
	regexes_are("[domain-name:value MATCHES '^[a-z]{12}\\\\.com$']", "^[a-z]{12}\\.com$");
	regexes_are("[domain-name:value MATCHES 'x' OR domain-name:value LIKE 'y%']",
		    "x | (?s)^y.*\\z");
	regexes_are("[domain-name:value MATCHES 'x' OR domain-name:value != 'y']", "ANY");
	regexes_are("[domain-name:value ISSUBSET '10.0.0.0/8']", "ANY");
	regexes_are("[ipv4-addr:value MATCHES '^10\\\\.']", "NEVER");
}

/* A random LIKE or MATCHES comparison of domain names whose literal is 1
 * to 8 characters drawn from like_alpha or re_alpha, its text in text (a
 * trailing backslash, which would escape the closing quote, made an x);
 * NULL when it does not compile. Draws from rnd in a fixed order, so a
 * round is the same from run to run. */
static pattern *random_comparison(const char *like_alpha, const char *re_alpha, char *text,
				  size_t cap)
{
	char lit[16];
	size_t n = 1 + rnd(8);
	bool re = rnd(2);
	for (size_t i = 0; i < n; i++)
		lit[i] = re ? re_alpha[rnd((unsigned)strlen(re_alpha))]
			    : like_alpha[rnd((unsigned)strlen(like_alpha))];
	lit[n] = 0;
	if (lit[n - 1] == '\\')
		lit[n - 1] = 'x';
	snprintf(text, cap, "[domain-name:value %s '%s']", re ? "MATCHES" : "LIKE", lit);
	pattern *p = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	return pattern_compile(text, strlen(text), &p, &ctx) == RK_OK ? p : NULL;
}

/* Property: a single pattern behind any prefilter (literal windows, the
 * Hyperscan gate) hits through match_observe exactly when its atom holds,
 * for random LIKE and MATCHES patterns and values, some not UTF-8. */
static void test_prefilters_sound(void **state)
{
	(void)state;
	static const char re_alpha[] = "ab.x?*+|()[]{}^$12,\\d";
	static const char like_alpha[] = "ab.x%_";
	static const char *const keys[] = {"value"};
	size_t held = 0;
	for (int round = 0; round < 3000; round++) {
		char text[96];
		pattern *p = random_comparison(like_alpha, re_alpha, text, sizeof text);
		if (!p)
			continue;
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		match_builder *b = match_builder_new(NOW, NULL, NULL);
		match *m = NULL;
		assert_non_null(b);
		assert_int_equal(match_builder_add(b, "indicator--prop", text, 0, 0, false, &ctx), RK_OK);
		assert_int_equal(match_build(b, &m, &ctx), RK_OK);
		match_builder_free(b);
		match_scratch *s = match_scratch_new(m);
		assert_non_null(s);
		for (int k = 0; k < 20; k++) {
			char value[16];
			size_t vn = rnd(10);
			for (size_t i = 0; i < vn; i++)
				value[i] = "ab.x12\n\xc3\xa9\xff"[rnd(10)];
			value[vn] = 0;
			pattern_prop v = {"domain-name", keys, 1, value, vn};
			bool holds = pattern_atom_holds(pattern_atom_at(p, 0), &v);
			match_obs o = { .kind = MATCH_OBS_DOMAIN, .value = value, .len = vn };
			size_t got = match_observe(m, s, &o, NULL, NULL, NULL);
			if (got != (holds ? 1u : 0u))
				fail_msg("%s on '%s' (%zu bytes): observe %zu, holds %d", text, value, vn,
					 got, holds);
			held += holds;
		}
		match_scratch_free(s);
		match_free(m);
		pattern_free(p);
	}
	assert_true(held > 1000);
}

static void test_literals_sound(void **state)
{
	(void)state;
	static const char alpha[] = "ab.x%_";
	static const char re_alpha[] = "ab.x?*+|()[]{}^$12,";
	static const char *const keys[] = {"value"};
	size_t held = 0;
	for (int round = 0; round < 20000; round++) {
		char text[96], value[16];
		pattern *p = random_comparison(alpha, re_alpha, text, sizeof text);
		if (!p)
			continue; /* an invalid expression */
		const pattern_atom *a = pattern_atom_at(p, 0);
		for (int k = 0; k < 20; k++) {
			size_t vn = rnd(10);
			for (size_t i = 0; i < vn; i++)
				value[i] = "ab.x12"[rnd(6)];
			value[vn] = 0;
			pattern_prop v = {"domain-name", keys, 1, value, vn};
			if (!pattern_atom_holds(a, &v))
				continue;
			held++;
			lit_seen l;
			memset(&l, 0, sizeof l);
			pattern_lit r = pattern_atom_literals(a, &v, on_lit, &l);
			assert_int_not_equal(r, PATTERN_LIT_NEVER);
			if (r != PATTERN_LIT_SOME)
				continue;
			bool found = false;
			for (size_t i = 0; i < l.n && !found; i++)
				found = strstr(value, l.lit[i]) != NULL;
			if (!found)
				fail_msg("%s holds for '%s', which lacks its literal '%s'", text, value,
					 l.lit[0]);
		}
		pattern_free(p);
	}
	assert_true(held > 1000);
}

/* ---------------------------------------------------------------- agreement */

/* xorshift64*: a fixed seed, so a failure replays. */
static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (unsigned)((rng_state * 0x2545F4914F6CDD1Dull) >> 33) % n;
}

/* Observables: domains d0..d3.example and addresses 10.0.0.0..3. */
static void gen_atom(char *out, size_t cap)
{
	unsigned v = rnd(4);
	switch (rnd(6)) {
	case 0:
		snprintf(out, cap, "[domain-name:value = 'd%u.example']", v);
		break;
	case 1:
		snprintf(out, cap, "[domain-name:value LIKE 'd%u.%%']", v);
		break;
	case 2:
		snprintf(out, cap, "[ipv4-addr:value = '10.0.0.%u']", v);
		break;
	case 3:
		snprintf(out, cap, "[ipv4-addr:value ISSUBSET '10.0.0.%u/31']", v & 2);
		break;
	case 4:
		snprintf(out, cap, "[domain-name:value = 'd%u.example' OR ipv4-addr:value = '10.0.0.%u']",
			 v, rnd(4));
		break;
	default:
		snprintf(out, cap, "[domain-name:value MATCHES '^d[%u-3]\\\\.']", v);
		break;
	}
}

static void gen_expr(char *out, size_t cap, int depth)
{
	char a[1024], b[1024];
	if (depth == 0 || rnd(3) == 0) {
		gen_atom(out, cap);
		return;
	}
	gen_expr(a, sizeof a, depth - 1);
	switch (rnd(8)) {
	case 0:
	case 1:
		gen_expr(b, sizeof b, depth - 1);
		snprintf(out, cap, "(%s AND %s)", a, b);
		break;
	case 2:
		gen_expr(b, sizeof b, depth - 1);
		snprintf(out, cap, "(%s OR %s)", a, b);
		break;
	case 3:
	case 4:
		gen_expr(b, sizeof b, depth - 1);
		snprintf(out, cap, "(%s FOLLOWEDBY %s)", a, b);
		break;
	case 5:
		snprintf(out, cap, "(%s WITHIN %u SECONDS)", a, 1 + rnd(4));
		break;
	case 6: {
		/* sequences start at NOW (2023-11-14T22:13:20Z) and last up to
		 * 22 s, some observations 2 s early */
		unsigned from = rnd(12), to = from + 1 + rnd(12);
		snprintf(out, cap, "(%s START t'2023-11-14T22:13:%02uZ' STOP t'2023-11-14T22:13:%02uZ')",
			 a, 18 + from, 18 + to);
		break;
	}
	default:
		snprintf(out, cap, "(%s REPEATS %u TIMES)", a, 2 + rnd(2));
		break;
	}
}

typedef struct {
	match_obs_kind kind;
	char value[32];
	rk_time t;
} gobs;

/* pattern_match over obs[from..to] as observed-data. */
static bool reference(const char *pattern_text, const gobs *obs, size_t from, size_t to,
		      bool *ok)
{
	json_t *arr = json_array();
	pattern *p = NULL;
	pattern_obs_set *set = NULL;
	rk_errctx ctx;
	bool matched = false;

	rk_errctx_clear(&ctx);
	assert_int_equal(pattern_compile(pattern_text, strlen(pattern_text), &p, &ctx), RK_OK);
	for (size_t i = from; i <= to; i++) {
		char ts[RK_TIME_BUF], id[64];
		rk_time_format(obs[i].t, 6, ts);
		snprintf(id, sizeof id, "observed-data--%zu", i);
		json_t *od = json_pack("{s:s, s:s, s:s, s:s, s:i, s:{s:{s:s, s:s}}}", "type",
				       "observed-data", "id", id, "first_observed", ts,
				       "last_observed", ts, "number_observed", 1, "objects", "0",
				       "type", obs[i].kind == MATCH_OBS_IPV4 ? "ipv4-addr" : "domain-name",
				       "value", obs[i].value);
		assert_non_null(od);
		json_array_append_new(arr, od);
	}
	assert_int_equal(pattern_obs_load(arr, &set, &ctx), RK_OK);
	*ok = pattern_match(p, set, &matched, &ctx) == RK_OK;
	pattern_obs_free(set);
	json_decref(arr);
	pattern_free(p);
	return matched;
}

static void test_agrees_with_pattern_match(void **state)
{
	(void)state;
	size_t cases = 0, hits = 0, compound_hits = 0, skipped = 0;
	for (int round = 0; round < 300; round++) {
		char text[4096];
		gen_expr(text, sizeof text, 3);
		match_builder *b = match_builder_new(NOW, NULL, NULL);
		match *m = NULL;
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		assert_non_null(b);
		assert_int_equal(match_builder_add(b, "indicator--gen", text, 0, 0, false, &ctx), RK_OK);
		assert_int_equal(match_build(b, &m, &ctx), RK_OK);
		match_builder_free(b);
		match_scratch *s = match_scratch_new(m);
		match_corr *c = match_corr_new(m, 4, MATCH_CORR_MAX_DEPTH);
		assert_non_null(s);
		assert_non_null(c);
		/* gen_expr brackets every compound expression */
		bool single = text[0] == '[';
		for (int seq = 0; seq < 6; seq++) {
			gobs obs[12];
			size_t n = 4 + rnd(8), from = 0;
			rk_time t = NOW;
			for (size_t i = 0; i < n; i++) {
				bool ip = rnd(2);
				obs[i].kind = ip ? MATCH_OBS_IPV4 : MATCH_OBS_DOMAIN;
				if (ip)
					snprintf(obs[i].value, sizeof obs[i].value, "10.0.0.%u", rnd(4));
				else
					snprintf(obs[i].value, sizeof obs[i].value, "d%u.example", rnd(4));
				t += (rk_time)rnd(3) * SEC; /* often the same second */
				obs[i].t = rnd(4) == 0 ? t - 2 * SEC : t; /* some out of order */
			}
			for (size_t i = 0; i < n; i++) {
				seen sn;
				memset(&sn, 0, sizeof sn);
				match_obs o = { .kind = obs[i].kind, .value = obs[i].value,
						.len = strlen(obs[i].value), .time = obs[i].t,
						.key = (uint64_t)seq };
				int got = (int)match_observe(m, s, &o, on_hit, on_atom, &sn);
				for (size_t a = 0; a < sn.natom; a++)
					got += match_corr_feed(c, sn.atom_handle[a], &sn.atoms[a], o.time,
							       o.key, NULL, NULL);
				bool ok;
				/* a single-observation pattern has no state: one observable */
				bool want = reference(text, obs, single ? i : from, i, &ok);
				if (!ok) {
					skipped++;
					from = i + 1;
					continue;
				}
				cases++;
				if (want != (got > 0))
					fail_msg("pattern %s: observable %zu (%s): correlator %d, "
						 "pattern_match %d", text, i, obs[i].value, got, want);
				if (got) {
					hits++;
					compound_hits += !single;
					from = i + 1;
				}
			}
		}
		match_corr_free(c);
		match_scratch_free(s);
		match_free(m);
	}
	printf("agreement: %zu observables checked, %zu hits (%zu of compound patterns), "
	       "%zu past the evaluation bounds\n", cases, hits, compound_hits, skipped);
	assert_true(compound_hits > 100);
	assert_true(cases > 5000);
}

/* ---------------------------------------------------------------- certificates */

/* x509-certificate:hashes and file:hashes of the same value are apart:
 * each meets only its own kind; hex in either case and Suricata's colon
 * form meet the table, the evaluated atoms and the compound atoms alike. */
static void test_certificate_hashes(void **state)
{
	(void)state;
	static const char *const pats[] = {
		/* 0 */ "[x509-certificate:hashes.'SHA-1' = '4FA842C2462FB04C1D3E8EA966134D2B6F6E75E3']",
		/* 1 */ "[file:hashes.'SHA-1' = '4fa842c2462fb04c1d3e8ea966134d2b6f6e75e3']",
		/* 2 */ "[x509-certificate:hashes.'SHA-256' IN ('ab01000000000000000000000000000000"
			"000000000000000000000000000000', 'cd02000000000000000000000000000000"
			"000000000000000000000000000000')]",
		/* 3 */ "[x509-certificate:hashes.'SHA-256' LIKE 'ef03%']",
		/* 4 */ "[x509-certificate:hashes.'SHA-1' = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'] "
			"AND [domain-name:value = 'c2.example']",
		/* 5 */ "[file:hashes.'SHA-256' = 'cd0200000000000000000000000000000000000000"
			"0000000000000000000000']",
	};
	rk_errctx ctx;
	match *m = NULL;
	match_builder *b = match_builder_new(NOW, NULL, NULL);
	assert_non_null(b);
	for (size_t i = 0; i < RK_ARRAY_LEN(pats); i++)
		assert_int_equal(match_builder_add(b, "indicator--x509", pats[i], 0, 0, false, &ctx),
				 RK_OK);
	assert_int_equal(match_build(b, &m, &ctx), RK_OK);
	match_builder_free(b);
	match_stats st;
	match_get_stats(m, &st);
	assert_int_equal(st.exact, 4);     /* 0, 1, 2, 5 in the tables */
	assert_int_equal(st.evaluated, 1); /* 3 */
	assert_int_equal(st.compound, 1);  /* 4 */
	match_scratch *s = match_scratch_new(m);
	assert_non_null(s);
	assert_string_equal(match_obs_path(MATCH_OBS_X509_SHA1), "x509-certificate:hashes.'SHA-1'");
	assert_string_equal(match_obs_path(MATCH_OBS_X509_SHA256),
			    "x509-certificate:hashes.'SHA-256'");
	assert_string_equal(match_obs_kind_name(MATCH_OBS_X509_SHA256), "x509-sha256");

	static const struct {
		match_obs_kind kind;
		const char *value;
		int hit;    /* the handle hit, -1 none */
		int atom;   /* the compound reported, -1 none */
	} cases[] = {
		{MATCH_OBS_X509_SHA1, "4fa842c2462fb04c1d3e8ea966134d2b6f6e75e3", 0, -1},
		{MATCH_OBS_X509_SHA1, "4FA842C2462FB04C1D3E8EA966134D2B6F6E75E3", 0, -1},
		{MATCH_OBS_X509_SHA1, "4f:a8:42:c2:46:2f:b0:4c:1d:3e:8e:a9:66:13:4d:2b:6f:6e:75:e3", 0, -1},
		{MATCH_OBS_X509_SHA1, "4F:A8:42:C2:46:2F:B0:4C:1D:3E:8E:A9:66:13:4D:2B:6F:6E:75:E3", 0, -1},
		{MATCH_OBS_SHA1, "4fa842c2462fb04c1d3e8ea966134d2b6f6e75e3", 1, -1},
		{MATCH_OBS_SHA1, "4f:a8:42:c2:46:2f:b0:4c:1d:3e:8e:a9:66:13:4d:2b:6f:6e:75:e3", -1, -1},
		/* colons astray, a byte short: no fingerprint */
		{MATCH_OBS_X509_SHA1, "4fa8:42:c2:46:2f:b0:4c:1d:3e:8e:a9:66:13:4d:2b:6f:6e:75:e3:", -1, -1},
		{MATCH_OBS_X509_SHA1, "4f:a8:42:c2:46:2f:b0:4c:1d:3e:8e:a9:66:13:4d:2b:6f:6e:75", -1, -1},
		{MATCH_OBS_X509_SHA256,
		 "CD02000000000000000000000000000000000000000000000000000000000000", 2, -1},
		{MATCH_OBS_SHA256, "cd02000000000000000000000000000000000000000000000000000000000000", 5, -1},
		{MATCH_OBS_X509_SHA256,
		 "ef:03:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:"
		 "00:00:00:00:00", 3, -1},
		{MATCH_OBS_SHA256, "ef03000000000000000000000000000000000000000000000000000000000000", -1, -1},
		{MATCH_OBS_X509_SHA1, "aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa:aa", -1, 4},
		{MATCH_OBS_SHA1, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", -1, -1},
	};
	for (size_t i = 0; i < RK_ARRAY_LEN(cases); i++) {
		seen h;
		memset(&h, 0, sizeof h);
		match_obs o = { .kind = cases[i].kind, .value = cases[i].value,
				.len = strlen(cases[i].value) };
		size_t n = match_observe(m, s, &o, on_hit, on_atom, &h);
		if (cases[i].hit < 0 ? n != 0 : !(n == 1 && h.hit[0] == (uint32_t)cases[i].hit))
			fail_msg("case %zu (%s): %zu hits, first %u", i, cases[i].value, n,
				 h.nhit ? h.hit[0] : 99);
		if (cases[i].atom < 0 ? h.natom != 0
				      : !(h.natom == 1 && h.atom_handle[0] == (uint32_t)cases[i].atom))
			fail_msg("case %zu (%s): %zu atom reports", i, cases[i].value, h.natom);
	}
	match_scratch_free(s);
	match_free(m);
}

/* ---------------------------------------------------------------- threads */

/* Four threads observe through one matcher, each with its own scratch:
 * every evaluated pattern (PCRE2 scratch per thread included) and every
 * atom report must come out the same as on one thread. */
static void *observer(void *arg)
{
	size_t *bad = arg;
	match_scratch *s = match_scratch_new(M);
	if (!s) {
		(*bad)++;
		return NULL;
	}
	for (unsigned i = 0; i < 5000; i++) {
		seen h;
		memset(&h, 0, sizeof h);
		match_obs o = { .kind = MATCH_OBS_DOMAIN, .value = "bad42.example", .len = 13 };
		if (match_observe(M, s, &o, on_hit, on_atom, &h) != 1 || h.hit[0] != 1)
			(*bad)++;
		memset(&h, 0, sizeof h);
		o.value = "a.two";
		o.len = 5;
		if (match_observe(M, s, &o, on_hit, on_atom, &h) != 0 || h.natom != 1 ||
		    h.atoms[0].bits[0] != 3)
			(*bad)++;
		o = (match_obs){ .kind = MATCH_OBS_IPV4, .ipv4 = 0x0a000000u | i };
		if (match_observe(M, s, &o, NULL, NULL, NULL) != 1)
			(*bad)++;
	}
	match_scratch_free(s);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	run_four_threads(observer);
}

/* ---------------------------------------------------------------- rate */

static void test_observe_rate(void **state)
{
	(void)state;
	rk_errctx ctx;
	char id[64], pat[160];
	rk_errctx_clear(&ctx);
	match_builder *b = match_builder_new(NOW, NULL, NULL);
	assert_non_null(b);
	/* 100,000 exact domains, 500 LIKE and 500 MATCHES domain patterns */
	for (unsigned i = 0; i < 101000; i++) {
		snprintf(id, sizeof id, "indicator--%08x-0000-4000-8000-000000000000", i);
		if (i < 100000)
			snprintf(pat, sizeof pat, "[domain-name:value = 'host%u.example%u.com']", i, i % 97);
		else if (i % 2)
			snprintf(pat, sizeof pat, "[domain-name:value LIKE '%%.cdn%u.example']", i);
		else
			snprintf(pat, sizeof pat, "[domain-name:value MATCHES '^(www|api)\\\\.brand%u\\\\.']", i);
		assert_int_equal(match_builder_add(b, id, pat, 0, 0, false, &ctx), RK_OK);
	}
	match *m = NULL;
	assert_int_equal(match_build(b, &m, &ctx), RK_OK);
	match_builder_free(b);
	match_scratch *s = match_scratch_new(m);
	assert_non_null(s);
	char dom[64];
	match_obs o = { .kind = MATCH_OBS_DOMAIN, .value = dom };
	/* one hit of each kind, to show the patterns are live */
	o.len = (size_t)snprintf(dom, sizeof dom, "host7.example7.com");
	assert_int_equal(match_observe(m, s, &o, NULL, NULL, NULL), 1);
	o.len = (size_t)snprintf(dom, sizeof dom, "img.cdn100001.example");
	assert_int_equal(match_observe(m, s, &o, NULL, NULL, NULL), 1);
	o.len = (size_t)snprintf(dom, sizeof dom, "api.brand100002.example");
	assert_int_equal(match_observe(m, s, &o, NULL, NULL, NULL), 1);
#if defined(__SANITIZE_ADDRESS__)
	const unsigned n = 2000;
#else
	const unsigned n = 20000;
#endif
	size_t hits = 0;
	double t0 = secs();
	for (unsigned i = 0; i < n; i++) {
		o.len = (size_t)snprintf(dom, sizeof dom, "host%u.example%u.com", i * 7 % 100000,
					 (i * 7 % 100000) % 97);
		hits += match_observe(m, s, &o, NULL, NULL, NULL);
	}
	double t1 = secs();
	assert_int_equal(hits, n);
	match_stats st;
	match_get_stats(m, &st);
	assert_int_equal(st.prefiltered, 1000);
	printf("match_observe: %.0f domains/s against 100,000 exact + 1,000 LIKE/MATCHES "
	       "indicators (prefiltered by literal)\n", n / (t1 - t0));
	match_scratch_free(s);
	match_free(m);

	/* the worst case: 1,000 expressions with no literal to index, each
	 * evaluated (PCRE2, JIT where available) for every domain */
	b = match_builder_new(NOW, NULL, NULL);
	assert_non_null(b);
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(id, sizeof id, "indicator--%08x-0000-4000-8000-00000000ffff", i);
		snprintf(pat, sizeof pat, "[domain-name:value MATCHES '^x%u\\\\.|\\\\.y%u$']", i, i);
		assert_int_equal(match_builder_add(b, id, pat, 0, 0, false, &ctx), RK_OK);
	}
	assert_int_equal(match_build(b, &m, &ctx), RK_OK);
	match_builder_free(b);
	match_get_stats(m, &st);
	assert_int_equal(st.prefiltered, 0);
	assert_int_equal(st.regex_gated + st.always, 1000);
	assert_non_null(s = match_scratch_new(m));
	o.len = (size_t)snprintf(dom, sizeof dom, "x999.example");
	assert_int_equal(match_observe(m, s, &o, NULL, NULL, NULL), 1);
	hits = 0;
	t0 = secs();
	for (unsigned i = 0; i < n / 10; i++) {
		o.len = (size_t)snprintf(dom, sizeof dom, "host%u.example%u.com", i, i % 97);
		hits += match_observe(m, s, &o, NULL, NULL, NULL);
	}
	t1 = secs();
	assert_int_equal(hits, 0);
	printf("match_observe: %.0f domains/s against 1,000 MATCHES with no literal "
	       "(%zu behind the Hyperscan gate, database %zu bytes; %zu tried for every domain)\n",
	       n / 10 / (t1 - t0), st.regex_gated, st.regex_bytes, st.always);
	match_scratch_free(s);
	match_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_like_matches),
		cmocka_unit_test(test_certificate_hashes),
		cmocka_unit_test(test_cidr_issubset),
		cmocka_unit_test(test_or_across_types),
		cmocka_unit_test(test_followedby),
		cmocka_unit_test(test_within),
		cmocka_unit_test(test_repeats),
		cmocka_unit_test(test_distinct_observations),
		cmocka_unit_test(test_start_stop),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_search_budget),
		cmocka_unit_test(test_build_report),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_literals_sound),
		cmocka_unit_test(test_regexes),
		cmocka_unit_test(test_prefilters_sound),
		cmocka_unit_test(test_agrees_with_pattern_match),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_observe_rate),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
