/*
 * fuzz_match.c: libFuzzer harness for the match module: normal forms,
 * match_observe and the correlator.
 *
 * Domains, e-mail addresses and URLs from traffic are normalised before
 * every lookup, so the normalisers see arbitrary bytes. Each whole input
 * goes through match_norm_url, match_norm_domain and match_norm_email.
 * Invariants checked: a result fits MATCH_MAX_VALUE, and normalising a
 * normal form gives it back unchanged (otherwise an indicator value and the
 * same value seen in traffic could normalise to different keys).
 *
 * Then the input is read as an indicator and observables: the first line
 * is a pattern, each further line an observable whose first byte picks the
 * kind, second the correlation key, third the time step, the rest being
 * the value. The pattern is built into a matcher (with a fixed compound
 * pattern beside it), every observable goes through match_observe, and
 * atom reports feed a small correlator (4 keys, 4 observations each).
 * Invariants checked: for a single-observation pattern that is evaluated,
 * match_observe hits exactly when pattern_atom_holds says the atom holds
 * for the observable's path (the literal prefilter never hides a hit), and
 * such a value contains one of the literals pattern_atom_literals names;
 * the correlator never reports more hits than feeds and never keeps more
 * states than its bound. And when the quick reading of the builder
 * (match_quick_exact) takes the first line, pattern_compile and
 * pattern_exact_values report exactly its one value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "match_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef size_t (*norm_fn)(const char *s, size_t len, char out[MATCH_MAX_VALUE]);

static void check(norm_fn f, const uint8_t *data, size_t size)
{
	static char a[MATCH_MAX_VALUE], b[MATCH_MAX_VALUE];
	size_t n = f((const char *)data, size, a);
	if (n == 0)
		return;
	if (n > MATCH_MAX_VALUE)
		abort();
	size_t m = f(a, n, b);
	if (m != n || memcmp(a, b, n) != 0)
		abort();
}

/* The paths of the text kinds whose one-property object is checked
 * directly (addresses and hashes go through other lookups first). */
static const char *const K_VALUE[] = {"value"};
static const char *const K_UA[] = {"extensions", "http-request-ext", "request_header",
				   "User-Agent"};

static bool prop_of(match_obs_kind k, pattern_prop *v)
{
	memset(v, 0, sizeof *v);
	v->keys = K_VALUE;
	v->nkeys = 1;
	switch (k) {
	case MATCH_OBS_DOMAIN:
		v->type = "domain-name";
		return true;
	case MATCH_OBS_URL:
		v->type = "url";
		return true;
	case MATCH_OBS_EMAIL:
		v->type = "email-addr";
		return true;
	case MATCH_OBS_USER_AGENT:
		v->type = "network-traffic";
		v->keys = K_UA;
		v->nkeys = 4;
		return true;
	default:
		return false;
	}
}

typedef struct {
	match_corr *c;
	rk_time t;
	uint64_t key;
	size_t fed;
} feed_ctx;

static void on_atom(void *arg, uint32_t handle, const match_atomset *atoms)
{
	feed_ctx *f = arg;
	f->fed++;
	match_corr_feed(f->c, handle, atoms, f->t, f->key, NULL, NULL);
}

typedef struct {
	const char *value;
	size_t len;
	const char *lit[16];
	size_t litlen[16];
	size_t n;
} lit_check;

static void on_literal(void *arg, const char *s, size_t len)
{
	lit_check *l = arg;
	if (l->n < 16) {
		l->lit[l->n] = s;
		l->litlen[l->n++] = len;
	}
}

static bool contains(const char *s, size_t n, const char *lit, size_t ln)
{
	for (size_t i = 0; i + ln <= n; i++)
		if (memcmp(s + i, lit, ln) == 0)
			return true;
	return false;
}

typedef struct {
	pattern_vkind kind;
	const char *v;
	size_t len, n;
} one_value;

static void on_value(void *arg, pattern_vkind kind, const char *v, size_t len)
{
	one_value *o = arg;
	if (o->n++ == 0) {
		o->kind = kind;
		o->v = v;
		o->len = len;
	}
}

static void check_quick(const char *text, size_t len)
{
	pattern_vkind kind;
	const char *v;
	size_t vlen;
	pattern *p = NULL;
	one_value o = {0};
	if (!match_quick_exact(text, len, &kind, &v, &vlen))
		return;
	if (pattern_compile(text, len, &p, NULL) != RK_OK || !pattern_is_single(p) ||
	    !pattern_exact_values(p, on_value, &o) || o.n != 1 || o.kind != kind ||
	    o.len != vlen || memcmp(o.v, v, vlen) != 0)
		abort();
	pattern_free(p);
}

static void observe_all(const char *text, size_t tlen, const uint8_t *rest, size_t rlen)
{
	char pat[4096];
	match_builder *b = NULL;
	match *m = NULL;
	match_scratch *s = NULL;
	feed_ctx f = {0};
	rk_errctx ctx;
	pattern *p = NULL;

	if (tlen >= sizeof pat)
		return;
	memcpy(pat, text, tlen);
	pat[tlen] = 0;
	rk_errctx_clear(&ctx);
	if (!(b = match_builder_new(0, NULL, NULL)) ||
	    match_builder_add(b, "indicator--fuzz", pat, 0, 0, false, &ctx) ||
	    match_builder_add(b, "indicator--fixed",
			      "([domain-name:value LIKE '%.fuzz'] FOLLOWEDBY "
			      "[ipv4-addr:value ISSUBSET '10.0.0.0/8']) WITHIN 5 SECONDS",
			      0, 0, false, &ctx) ||
	    match_build(b, &m, &ctx) || !(s = match_scratch_new(m)) ||
	    !(f.c = match_corr_new(m, 4, 4)))
		goto out;
	match_stats st;
	match_get_stats(m, &st);
	/* a single evaluated pattern: its atom, for the direct check */
	const pattern_atom *atom = NULL;
	if (st.evaluated == 1 && pattern_compile(pat, strlen(pat), &p, &ctx) == RK_OK &&
	    pattern_is_single(p))
		atom = pattern_atom_at(p, 0);

	while (rlen > 0) {
		const uint8_t *nl = memchr(rest, '\n', rlen);
		size_t ln = nl ? (size_t)(nl - rest) : rlen;
		if (ln >= 3) {
			match_obs o = {0};
			o.kind = (match_obs_kind)(rest[0] % MATCH_OBS_KIND_COUNT);
			o.value = (const char *)rest + 3;
			o.len = ln - 3;
			f.key = rest[1] % 8;
			f.t += (rk_time)(rest[2] % 8) * 1000000;
			o.time = f.t;
			o.key = f.key;
			size_t hits = match_observe(m, s, &o, NULL, on_atom, &f);
			pattern_prop v;
			if (atom && prop_of(o.kind, &v)) {
				v.value = o.value;
				v.len = o.len;
				bool holds = pattern_atom_holds(atom, &v);
				if (holds != (hits == 1))
					abort();
				lit_check l = {o.value, o.len, {0}, {0}, 0};
				if (holds &&
				    pattern_atom_literals(atom, &v, on_literal, &l) == PATTERN_LIT_SOME) {
					bool found = false;
					for (size_t i = 0; i < l.n && !found; i++)
						found = contains(o.value, o.len, l.lit[i], l.litlen[i]);
					if (!found && l.n < 16)
						abort();
				}
			}
		}
		if (!nl)
			break;
		rlen -= ln + 1;
		rest = nl + 1;
	}
	match_corr_stats cs;
	match_corr_get_stats(f.c, &cs);
	if (cs.fed != f.fed || cs.hits > cs.fed || cs.keys > 4)
		abort();
out:
	pattern_free(p);
	match_corr_free(f.c);
	match_scratch_free(s);
	match_free(m);
	match_builder_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(match_norm_url, data, size);
	check(match_norm_domain, data, size);
	check(match_norm_email, data, size);
	const uint8_t *nl = memchr(data, '\n', size);
	check_quick((const char *)data, nl ? (size_t)(nl - data) : size);
	if (nl && data[0] == '[')
		observe_all((const char *)data, (size_t)(nl - data), nl + 1,
			    size - (size_t)(nl - data) - 1);
	return 0;
}
