/*
 * test_match.c: the sensor's exact-value matcher.
 *
 * One matcher built from a small set of indicators covers exact hits and
 * misses for every kind of table, CIDR containment (nested IPv4 and IPv6
 * blocks all reported), a value shared by two indicators, and the
 * indicators skipped at build (revoked, expired, not compiling, a value
 * that cannot be a key) with their reports. URL normal forms are checked
 * against the examples of RFC 3986 sections 6.2.2, 6.2.3 and 5.2.4.
 * Threads look up in one matcher at once. The table layout's edges: the
 * addresses a free slot could be mistaken for, keys spilling over full
 * groups, and tables large enough to have a filter, each checked for every
 * key present and for keys absent. Hits carry handles only; the caller's
 * data hangs on the matcher. The quick reading of `[path = 'value']`
 * (match_quick.c) agrees with pattern_compile + pattern_exact_values on
 * edge cases and on a million mutated texts. A domain's key made in one
 * pass (match_domain_key) is its normal form's hash, and looks up the same
 * hits, over random and edge-case values. Last, build time and memory
 * for 1,000,000 generated indicators are printed, never asserted.
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

#include "match_int.h"
#include "match_test_util.h"


static const struct {
	const char *id, *pattern;
	bool revoked;
	rk_time until;
} IND[] = {
	/* 0 */ {"indicator--v4-host", "[ipv4-addr:value = '198.51.100.7']", false, 0},
	/* 1 */ {"indicator--v4-24", "[ipv4-addr:value = '198.51.100.0/24']", false, 0},
	/* 2 */ {"indicator--v4-16", "[ipv4-addr:value = '198.51.0.0/16']", false, 0},
	/* 3 */ {"indicator--v6-host", "[ipv6-addr:value = '2001:db8::1']", false, 0},
	/* 4 */ {"indicator--v6-32", "[ipv6-addr:value = '2001:db8::/32']", false, 0},
	/* 5 */ {"indicator--v6-48", "[ipv6-addr:value = '2001:db8::/48']", false, 0},
	/* 6 */ {"indicator--dom", "[domain-name:value = 'Evil.Example.COM.']", false, 0},
	/* 7 */ {"indicator--dom2", "[domain-name:value IN ('shared.example', 'other.example')]", false, 0},
	/* 8 */ {"indicator--dom3", "[domain-name:value = 'shared.example']", false, NOW + 1},
	/* 9 */ {"indicator--mail", "[email-addr:value = 'Bad@Example.org']", false, 0},
	/* 10 */ {"indicator--url", "[url:value = 'HTTP://www.Example.com:80/a/./b/../c/%7euser']", false, 0},
	/* 11 */ {"indicator--md5", "[file:hashes.'MD5' = '79054025255FB1A26E4BC422AEF54EB4']", false, 0},
	/* 12 */ {"indicator--sha1", "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']", false, 0},
	/* 13 */ {"indicator--sha256", "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']", false, 0},
	/* 14 */ {"indicator--revoked", "[ipv4-addr:value = '203.0.113.1']", true, 0},
	/* 15 */ {"indicator--expired", "[ipv4-addr:value = '203.0.113.2']", false, NOW - 1},
	/* 16 */ {"indicator--broken", "[ipv4-addr:value = ", false, 0},
	/* 17 */ {"indicator--eval", "[file:name = 'a.exe' AND file:size > 10]", false, 0},
	/* 18 */ {"indicator--badhash", "[file:hashes.'MD5' = 'abcd']", false, 0},
	/* 19 */ {"indicator--or", "[ipv4-addr:value = '192.0.2.1' OR domain-name:value = 'mixed.example']", false, 0},
};

typedef struct {
	uint32_t handles[16];
	size_t n;
} hits;

static void on_hit(void *arg, uint32_t handle)
{
	hits *h = arg;
	if (h->n < 16)
		h->handles[h->n++] = handle;
}

static bool has(const hits *h, uint32_t x)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->handles[i] == x)
			return true;
	return false;
}

typedef struct {
	uint32_t handle[8];
	char reason[8][160];
	size_t n;
} rejects;

static void on_reject(void *arg, uint32_t handle, const char *id, const char *reason)
{
	rejects *r = arg;
	assert_non_null(id);
	if (r->n < 8) {
		r->handle[r->n] = handle;
		snprintf(r->reason[r->n], sizeof r->reason[0], "%s", reason);
		r->n++;
	}
}

static match *M;
static rejects REJ;

static int setup(void **state)
{
	(void)state;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	match_builder *b = match_builder_new(NOW, on_reject, &REJ);
	if (!b)
		return -1;
	for (size_t i = 0; i < RK_ARRAY_LEN(IND); i++)
		if (match_builder_add(b, IND[i].id, IND[i].pattern, 0, IND[i].until, IND[i].revoked, &ctx))
			return -1;
	rk_err e = match_build(b, &M, &ctx);
	match_builder_free(b);
	return e ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	match_free(M);
	return 0;
}

static uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
}

static void test_ipv4(void **state)
{
	(void)state;
	hits h = {0};
	assert_int_equal(match_ipv4(M, v4(198, 51, 100, 7), on_hit, &h), 3);
	assert_true(has(&h, 0) && has(&h, 1) && has(&h, 2));
	memset(&h, 0, sizeof h);
	assert_int_equal(match_ipv4(M, v4(198, 51, 100, 8), on_hit, &h), 2);
	assert_true(has(&h, 1) && has(&h, 2));
	memset(&h, 0, sizeof h);
	assert_int_equal(match_ipv4(M, v4(198, 51, 7, 1), on_hit, &h), 1);
	assert_true(has(&h, 2));
	assert_int_equal(match_ipv4(M, v4(198, 52, 0, 1), NULL, NULL), 0);
	assert_int_equal(match_ipv4(M, v4(192, 0, 2, 1), NULL, NULL), 1);
	/* revoked and expired */
	assert_int_equal(match_ipv4(M, v4(203, 0, 113, 1), NULL, NULL), 0);
	assert_int_equal(match_ipv4(M, v4(203, 0, 113, 2), NULL, NULL), 0);
}

static void test_ipv6(void **state)
{
	(void)state;
	uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
	hits h = {0};
	a[15] = 1;
	assert_int_equal(match_ipv6(M, a, on_hit, &h), 3);
	assert_true(has(&h, 3) && has(&h, 4) && has(&h, 5));
	memset(&h, 0, sizeof h);
	a[15] = 2;
	assert_int_equal(match_ipv6(M, a, on_hit, &h), 2);
	assert_true(has(&h, 4) && has(&h, 5));
	memset(&h, 0, sizeof h);
	a[5] = 1; /* 2001:db8:1::2: outside the /48 */
	assert_int_equal(match_ipv6(M, a, on_hit, &h), 1);
	assert_true(has(&h, 4));
	a[3] = 0xb9;
	assert_int_equal(match_ipv6(M, a, NULL, NULL), 0);
}

static void test_domain_email(void **state)
{
	(void)state;
	hits h = {0};
	assert_int_equal(match_domain(M, "evil.example.com", 16, on_hit, &h), 1);
	assert_true(has(&h, 6));
	assert_int_equal(match_domain(M, "EVIL.example.Com.", 17, NULL, NULL), 1);
	assert_int_equal(match_domain(M, "evil.example.co", 15, NULL, NULL), 0);
	assert_int_equal(match_domain(M, "sub.evil.example.com", 20, NULL, NULL), 0);
	assert_int_equal(match_domain(M, "", 0, NULL, NULL), 0);
	memset(&h, 0, sizeof h);
	/* shared by 7 and 8 */
	assert_int_equal(match_domain(M, "Shared.Example", 14, on_hit, &h), 2);
	assert_true(has(&h, 7) && has(&h, 8));
	assert_int_equal(match_domain(M, "other.example", 13, NULL, NULL), 1);
	assert_int_equal(match_domain(M, "mixed.example", 13, NULL, NULL), 1);
	memset(&h, 0, sizeof h);
	assert_int_equal(match_email(M, "bad@EXAMPLE.ORG", 15, on_hit, &h), 1);
	assert_true(has(&h, 9));
	assert_int_equal(match_email(M, "good@example.org", 16, NULL, NULL), 0);
}

static void test_url_hash(void **state)
{
	(void)state;
	hits h = {0};
	const char *u = "http://www.example.com/a/c/~user";
	assert_int_equal(match_url(M, u, strlen(u), on_hit, &h), 1);
	assert_true(has(&h, 10));
	u = "HTTP://WWW.EXAMPLE.COM:80/a/%63/%7Euser";
	assert_int_equal(match_url(M, u, strlen(u), NULL, NULL), 1);
	u = "http://www.example.com:8080/a/c/~user";
	assert_int_equal(match_url(M, u, strlen(u), NULL, NULL), 0);
	u = "http://www.example.com/A/c/~user"; /* path case matters */
	assert_int_equal(match_url(M, u, strlen(u), NULL, NULL), 0);

	memset(&h, 0, sizeof h);
	const char *md5 = "79054025255fb1a26e4bc422aef54eb4";
	assert_int_equal(match_hash(M, MATCH_MD5, md5, 32, on_hit, &h), 1);
	assert_true(has(&h, 11));
	assert_int_equal(match_hash(M, MATCH_MD5, "79054025255fb1a26e4bc422aef54eb5", 32, NULL, NULL), 0);
	assert_int_equal(match_hash(M, MATCH_MD5, md5, 31, NULL, NULL), 0);
	assert_int_equal(match_hash(M, MATCH_SHA1, "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", 40, NULL, NULL), 1);
	const char *s256 = "AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F";
	assert_int_equal(match_hash(M, MATCH_SHA256, s256, 64, NULL, NULL), 1);
	assert_int_equal(match_hash(M, MATCH_SHA512, s256, 64, NULL, NULL), 0);
	assert_int_equal(match_hash(M, MATCH_SHA1, "zz39a3ee5e6b4b0d3255bfef95601890afd80709", 40, NULL, NULL), 0);
}

static void test_skipped(void **state)
{
	(void)state;
	match_stats st;
	match_get_stats(M, &st);
	assert_int_equal(st.added, RK_ARRAY_LEN(IND));
	assert_int_equal(st.revoked, 1);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.needs_eval, 1);
	assert_int_equal(st.rejected + st.bad_values, 2);
	assert_int_equal(match_eval_count(M), 1);
	uint32_t h = 0;
	assert_non_null(match_eval_pattern(M, 0, &h));
	assert_int_equal(h, 17);
	/* the broken pattern and the short hash, each reported with a reason */
	bool broken = false, badhash = false;
	for (size_t i = 0; i < REJ.n; i++) {
		assert_true(REJ.reason[i][0] != '\0');
		broken |= REJ.handle[i] == 16;
		badhash |= REJ.handle[i] == 18;
	}
	assert_true(broken);
	assert_true(badhash);
}

static void norm_url(const char *in, const char *want)
{
	char out[MATCH_MAX_VALUE];
	size_t n = match_norm_url(in, strlen(in), out);
	if (!want) {
		assert_int_equal(n, 0);
		return;
	}
	if (n != strlen(want) || memcmp(out, want, n) != 0)
		fail_msg("%s: got '%.*s', want '%s'", in, (int)n, out, want);
}

static void test_url_rfc3986(void **state)
{
	(void)state;
	/* 6.2.2: the three equivalent URIs of the section's example */
	norm_url("example://a/b/c/%7Bfoo%7D", "example://a/b/c/%7Bfoo%7D");
	norm_url("eXAMPLE://a/./b/../b/%63/%7bfoo%7d", "example://a/b/c/%7Bfoo%7D");
	/* 6.2.2.1 case normalisation */
	norm_url("HTTP://www.EXAMPLE.com/", "http://www.example.com/");
	norm_url("http://example.com/%3a%2f", "http://example.com/%3A%2F");
	/* 6.2.2.2 percent-encoding: unreserved decoded */
	norm_url("http://example.com/%7Esmith/%41%2D%5F%2E", "http://example.com/~smith/A-_.");
	/* 6.2.3: these are all equivalent to http://example.com/ */
	norm_url("http://example.com", "http://example.com/");
	norm_url("http://example.com/", "http://example.com/");
	norm_url("http://example.com:/", "http://example.com/");
	norm_url("http://example.com:80/", "http://example.com/");
	norm_url("https://example.com:443", "https://example.com/");
	norm_url("https://example.com:80/", "https://example.com:80/");
	/* 5.2.4's examples of remove_dot_segments */
	norm_url("http://h/a/b/c/./../../g", "http://h/a/g");
	norm_url("x:mid/content=5/../6", "x:mid/6");
	/* query and fragment keep their case; userinfo keeps its case */
	norm_url("http://User@Host.Example/p?Q=%7e#Frag", "http://User@host.example/p?Q=~#Frag");
	norm_url("http://[2001:DB8::1]:8080/", "http://[2001:db8::1]:8080/");
	norm_url("no scheme", NULL);
	norm_url("", NULL);
}

/* ---------------------------------------------------------------- threads */

static void *worker(void *arg)
{
	size_t *bad = arg;
	for (unsigned i = 0; i < 20000; i++) {
		if (match_ipv4(M, v4(198, 51, 100, 7), NULL, NULL) != 3)
			(*bad)++;
		if (match_domain(M, "shared.example", 14, NULL, NULL) != 2)
			(*bad)++;
		if (match_url(M, "http://www.example.com/a/c/~user", 32, NULL, NULL) != 1)
			(*bad)++;
		if (match_ipv4(M, v4(10, 0, 0, i & 255), NULL, NULL) != 0)
			(*bad)++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	run_four_threads(worker);
}

/* ---------------------------------------------------------------- layout */

static match *build_values(const char *type, const char *const *vals, size_t n)
{
	rk_errctx ctx;
	char id[64], pat[128];
	match *m = NULL;
	rk_errctx_clear(&ctx);
	match_builder *b = match_builder_new(NOW, NULL, NULL);
	assert_non_null(b);
	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof id, "indicator--%zu", i);
		snprintf(pat, sizeof pat, "[%s:value = '%s']", type, vals[i]);
		assert_int_equal(match_builder_add(b, id, pat, 0, 0, false, &ctx), RK_OK);
	}
	assert_int_equal(match_build(b, &m, &ctx), RK_OK);
	match_builder_free(b);
	return m;
}

/* The first addresses are named, so the free-slot key is one that lookups
 * must still miss; 0.0.0.0 and 255.255.255.255 are keys like any other. */
static void test_layout_edges(void **state)
{
	(void)state;
	static const char *const v[] = {"0.0.0.0", "0.0.0.1", "255.255.255.255", "0.0.0.3",
					 "10.0.0.0/8", "0.0.0.0/0"};
	match *m = build_values("ipv4-addr", v, RK_ARRAY_LEN(v));
	hits h = {0};
	assert_int_equal(match_ipv4(m, v4(0, 0, 0, 0), on_hit, &h), 2);
	assert_true(has(&h, 0) && has(&h, 5));
	assert_int_equal(match_ipv4(m, v4(0, 0, 0, 1), NULL, NULL), 2);
	assert_int_equal(match_ipv4(m, v4(0, 0, 0, 2), NULL, NULL), 1); /* only /0 */
	assert_int_equal(match_ipv4(m, v4(0, 0, 0, 3), NULL, NULL), 2);
	assert_int_equal(match_ipv4(m, v4(255, 255, 255, 255), NULL, NULL), 2);
	assert_int_equal(match_ipv4(m, v4(10, 0, 0, 1), NULL, NULL), 2); /* /8 and /0 */
	assert_int_equal(match_ipv4(m, v4(10, 0, 0, 0), NULL, NULL), 2);
	match_free(m);
}

/* Sizes around one group, two groups and the filter's threshold: every key
 * found (no false negatives from the filter or a spilled group), a shifted
 * set of keys never found. */
static void test_layout_sizes(void **state)
{
	(void)state;
	static const size_t sizes[] = {1, 12, 13, 16, 17, 25, 26, 33, 100, 16383, 16384, 40000};
	for (size_t si = 0; si < RK_ARRAY_LEN(sizes); si++) {
		size_t n = sizes[si];
		char **v4s = calloc(n, sizeof *v4s), **doms = calloc(n, sizeof *doms);
		assert_non_null(v4s);
		assert_non_null(doms);
		for (size_t i = 0; i < n; i++) {
			v4s[i] = malloc(32);
			doms[i] = malloc(48);
			assert_non_null(v4s[i]);
			assert_non_null(doms[i]);
			/* every other address in a run, so the neighbours are absent */
			snprintf(v4s[i], 32, "172.%zu.%zu.%zu", (2 * i) >> 16 & 255, (2 * i) >> 8 & 255,
				 (2 * i) & 255);
			snprintf(doms[i], 48, "n%zu.layout.example", 2 * i);
		}
		match *a = build_values("ipv4-addr", (const char *const *)v4s, n);
		match *d = build_values("domain-name", (const char *const *)doms, n);
		size_t found = 0, wrong = 0;
		char q[48];
		for (size_t i = 0; i < 2 * n; i++) {
			uint32_t addr = v4(172, (i >> 16) & 255, (i >> 8) & 255, i & 255);
			size_t want = i % 2 == 0;
			int l = snprintf(q, sizeof q, "n%zu.layout.example", i);
			size_t ga = match_ipv4(a, addr, NULL, NULL);
			size_t gd = match_domain(d, q, (size_t)l, NULL, NULL);
			found += (ga == want) + (gd == want);
			wrong += (ga != want) + (gd != want);
		}
		assert_int_equal(wrong, 0);
		assert_int_equal(found, 4 * n);
		match_free(a);
		match_free(d);
		for (size_t i = 0; i < n; i++) {
			free(v4s[i]);
			free(doms[i]);
		}
		free(v4s);
		free(doms);
	}
}

/* The id given to match_builder_add names the indicator in reject reports;
 * the matcher keeps none (match.h), so hits carry the handle only. */
static void test_ids_not_kept(void **state)
{
	(void)state;
	rejects rej = {0};
	rk_errctx ctx;
	match *m = NULL;
	hits h = {0};
	rk_errctx_clear(&ctx);
	match_builder *b = match_builder_new(NOW, on_reject, &rej);
	assert_non_null(b);
	assert_int_equal(match_builder_add(b, "indicator--kept", "[ipv4-addr:value = '192.0.2.1']",
					   0, 0, false, &ctx), RK_OK);
	assert_int_equal(match_builder_add(b, "indicator--refused", "[ipv4-addr:value = '192.0.2.x']",
					   0, 0, false, &ctx), RK_OK);
	assert_int_equal(rej.n, 1);
	assert_int_equal(rej.handle[0], 1);
	assert_int_equal(match_build(b, &m, &ctx), RK_OK);
	match_builder_free(b);
	assert_int_equal(match_ipv4(m, v4(192, 0, 2, 1), on_hit, &h), 1);
	assert_int_equal(h.handles[0], 0);
	/* what the caller hangs on the matcher is freed with it */
	assert_null(match_attached(m));
	char *mine = strdup("the caller's");
	match_attach(m, mine, free);
	assert_ptr_equal(match_attached(m), mine);
	match_attach(m, strdup("again"), free); /* frees mine */
	assert_string_equal(match_attached(m), "again");
	match_free(m);
}

/* ---------------------------------------------------------------- quick */

typedef struct {
	pattern_vkind kind;
	char v[256];
	size_t len, n;
} full_values;

static void on_full_value(void *arg, pattern_vkind kind, const char *v, size_t len)
{
	full_values *f = arg;
	if (f->n++ == 0 && len < sizeof f->v) {
		f->kind = kind;
		memcpy(f->v, v, len);
		f->len = len;
	}
}

/* Whether match_quick_exact takes text; when it does, the full path must
 * report exactly the same one value. */
static bool quick_agrees(const char *text, size_t len)
{
	pattern_vkind kind;
	const char *v;
	size_t vlen;
	if (!match_quick_exact(text, len, &kind, &v, &vlen))
		return false;
	pattern *p = NULL;
	full_values f = {0};
	if (pattern_compile(text, len, &p, NULL) != RK_OK)
		fail_msg("quick took a pattern that does not compile: %.*s", (int)len, text);
	if (!pattern_is_single(p) || !pattern_exact_values(p, on_full_value, &f))
		fail_msg("quick took a pattern that is not exact: %.*s", (int)len, text);
	pattern_free(p);
	if (f.n != 1 || f.kind != kind || f.len != vlen || memcmp(f.v, v, vlen) != 0)
		fail_msg("quick and full disagree on %.*s", (int)len, text);
	return true;
}

static void test_quick_agrees(void **state)
{
	(void)state;
	static const char *const taken[] = {
		"[ipv4-addr:value = '198.51.100.7']",
		"[ipv4-addr:value = '198.51.100.0/24']",
		"[ipv4-addr:value == 'not an address']",
		" \t[ \r\nipv4-addr:value\t=\n'x' ]\n ",
		"[ipv4-addr:value='']",
		"[ipv6-addr:value = '2001:db8::1']",
		"[domain-name:value = 'evil.example.com']",
		"[domain-name:value = 'caf\xc3\xa9 \"] [(']",
		"[url:value = 'http://a.example/b?c=d']",
		"[email-addr:value = 'bad@example.org']",
		"[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4']",
		"[file:hashes.'MD5' = '79054025255FB1A26E4BC422AEF54EB4']",
		"[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']",
		"[file:hashes.'SHA-256' = "
		"'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
		"[file:hashes.'SHA-512' = "
		"'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
		"47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e']",
		"[x509-certificate:hashes.'SHA-1' = 'DA39A3EE5E6B4B0D3255BFEF95601890AFD80709']",
		"[x509-certificate:hashes.'SHA-256' = "
		"'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
	};
	static const char *const left[] = {
		"", "[", "[]", "[ipv4-addr:value]", "[ipv4-addr:value = 'x'",
		"[ipv4-addr:value = 'x'] AND [ipv4-addr:value = 'y']",
		"[ipv4-addr:value = 'x'] WITHIN 5 SECONDS",
		"[ipv4-addr:value = 'x' OR ipv4-addr:value = 'y']",
		"[ipv4-addr:value IN ('x')]", "[ipv4-addr:value != 'x']",
		"[ipv4-addr:value NOT = 'x']", "[ipv4-addr:value = 'it\\'s']",
		"[ipv4-addr:value = 'a\\\\b']", "[ipv4-addr:'value' = 'x']",
		"[ipv4-addr :value = 'x']", "[ipv4-addr:value.x = 'x']",
		"[ipv4-addr:values = 'x']", "[ipv4-addr:value = 'x']]",
		"[ipv4-addr:value = 'x'] x", "([ipv4-addr:value = 'x'])",
		"[ipv4-addr:value =< 'x']", "[ipv4-addr:value => 'x']",
		"[file:hashes.MD5 = 'abcd']", "[file:hashes.'sha-256' = 'ab']",
		"[file:hashes.'SHA-1' = 'zz39a3ee5e6b4b0d3255bfef95601890afd80709']",
		"[file:hashes.SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']",
		"[x509-certificate:hashes.'SHA-1' = 'da:39:a3:ee:5e:6b:4b:0d:32:55:bf:ef:95:60:18:90:af:d8:07:09']",
		"[x509-certificate:hashes.'SHA-256' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']",
		"[x509-certificate:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4']",
		"[domain-name:value = 1]", "[domain-name:value = t'2020-01-01T00:00:00Z']",
		"[x-domain-name:value = 'x']", "[domain-name:value = 'x' ]\f",
	};
	for (size_t i = 0; i < RK_ARRAY_LEN(taken); i++)
		if (!quick_agrees(taken[i], strlen(taken[i])))
			fail_msg("quick left %s to the full path", taken[i]);
	for (size_t i = 0; i < RK_ARRAY_LEN(left); i++)
		if (quick_agrees(left[i], strlen(left[i])))
			fail_msg("quick took %s", left[i]);

	/* mutated texts: bytes replaced, inserted and deleted, with a bias
	 * to the characters the grammar cares about */
	static const char alphabet[] = " \t\n\f'\\[]()=!<>:.,-_ aAzZ09'";
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	size_t took = 0;
	for (unsigned round = 0; round < 1000000; round++) {
		char text[512];
		const char *base = taken[round % RK_ARRAY_LEN(taken)];
		size_t len = strlen(base);
		memcpy(text, base, len);
		unsigned edits = 1 + round % 3;
		for (unsigned e = 0; e < edits; e++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			uint32_t x = (uint32_t)(seed >> 33);
			size_t at = len ? x % (len + 1) : 0;
			char c = (x >> 20) & 1 ? alphabet[(x >> 8) % (sizeof alphabet - 1)]
					       : (char)(x >> 8);
			switch ((x >> 21) % 3) {
			case 0: /* replace */
				if (at < len)
					text[at] = c;
				break;
			case 1: /* insert */
				if (len + 1 < sizeof text) {
					memmove(text + at + 1, text + at, len - at);
					text[at] = c;
					len++;
				}
				break;
			default: /* delete */
				if (at < len) {
					memmove(text + at, text + at + 1, len - at - 1);
					len--;
				}
				break;
			}
		}
		took += quick_agrees(text, len);
	}
	/* the mutations that keep the shape (a changed value byte, a blank)
	 * are taken, so the comparison above was not vacuous */
	assert_true(took > 100000);
}

/* ---------------------------------------------------------------- scale */

static void test_million(void **state)
{
	(void)state;
#if defined(__SANITIZE_ADDRESS__)
	const unsigned n = 100000; /* the sanitizers slow the build tenfold */
#else
	const unsigned n = 1000000;
#endif
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	match_builder *b = match_builder_new(NOW, NULL, NULL);
	assert_non_null(b);
	char id[64], pat[128], val[64];
	size_t text = 0;
	double t0 = secs();
	for (unsigned i = 0; i < n; i++) {
		snprintf(id, sizeof id, "indicator--%08x-0000-4000-8000-000000000000", i);
		if (i % 2 == 0)
			snprintf(val, sizeof val, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		else
			snprintf(val, sizeof val, "host%u.example%u.com", i, i % 97);
		text += strlen(val);
		snprintf(pat, sizeof pat, "[%s:value = '%s']", i % 2 ? "domain-name" : "ipv4-addr", val);
		assert_int_equal(match_builder_add(b, id, pat, 0, 0, false, &ctx), RK_OK);
	}
	double t1 = secs();
	match *m = NULL;
	assert_int_equal(match_build(b, &m, &ctx), RK_OK);
	double t2 = secs();
	match_builder_free(b);
	match_stats st;
	match_get_stats(m, &st);
	assert_int_equal(st.exact, n);
	assert_int_equal(match_domain(m, "host1.example1.com", 18, NULL, NULL), 1);
	assert_int_equal(match_ipv4(m, v4(10, 0, 0, 2), NULL, NULL), 1);
	double t3 = secs();
	size_t hitsn = 0;
	for (unsigned i = 0; i < n; i++)
		hitsn += match_ipv4(m, v4(10, (i >> 16) & 255, (i >> 8) & 255, i & 255), NULL, NULL);
	double t4 = secs();
	assert_int_equal(hitsn, n / 2);
	size_t mem = st.table_bytes + st.arena_bytes;
	printf("match: %u indicators (half IPv4, half domains): add+compile %.2f s, "
	       "build %.3f s, total %.2f s\n",
	       n, t1 - t0, t2 - t1, t2 - t0);
	printf("match: tables %zu + arena %zu = %zu bytes for %zu bytes of value text "
	       "(%.2fx)\n",
	       st.table_bytes, st.arena_bytes, mem, text, (double)mem / (double)text);
	printf("match: %.1f M IPv4 lookups/s\n", n / (t4 - t3) / 1e6);
	match_free(m);
}

/* ---------------------------------------------------------------- domain keys */

static uint64_t rng_state = 0x243F6A8885A308D3ull;
static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A byte a domain-like value may hold: mostly name bytes of either case,
 * some dots, and bytes of 0x80 and up (0xC1 is 'A' with the high bit: the
 * word-at-a-time lowercasing must leave it alone). */
static char domain_byte(void)
{
	static const char odd[] = {'\xC1', '\xDA', '\xE1', '\xFF', '\x80', '\x9A', '@', '[', '`', '{', '\0'};
	unsigned r = (unsigned)(rng() % 100);
	if (r < 35)
		return (char)('a' + rng() % 26);
	if (r < 65)
		return (char)('A' + rng() % 26);
	if (r < 75)
		return (char)('0' + rng() % 10);
	if (r < 85)
		return '.';
	if (r < 90)
		return '-';
	return odd[rng() % sizeof odd];
}

/* Flips the case of some ASCII letters and adds trailing dots: text that
 * names the same domain as v. */
static size_t domain_variant(const char *v, size_t n, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k < cap; i++) {
		char c = v[i];
		if (rng() % 2 && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			c = (char)(c ^ 0x20);
		out[k++] = c;
	}
	for (unsigned d = (unsigned)(rng() % 4); d > 0 && k < cap; d--)
		out[k++] = '.';
	return k;
}

typedef struct {
	hits plain, keyed, observed;
	size_t n_plain, n_keyed, n_observed, values, hitting, bad;
} key_check;

/* One value three ways (match_domain, the key path, match_observe) and
 * the key against the normal form and its hash. */
static void check_domain_key(const match *m, match_scratch *scr, key_check *c, const char *v,
			     size_t len)
{
	char buf[MATCH_MAX_VALUE];
	match_key key;
	size_t n = match_norm_domain(v, len, buf);
	bool ok = match_domain_key(v, len, &key);
	c->values++;
	if (ok != (n != 0) || (ok && (key.len != n || key.hash != match_hash_bytes(buf, n)))) {
		c->bad++;
		return;
	}
	memset(&c->plain, 0, sizeof c->plain);
	memset(&c->keyed, 0, sizeof c->keyed);
	memset(&c->observed, 0, sizeof c->observed);
	size_t hp = match_domain(m, v, len, on_hit, &c->plain);
	size_t hk = ok ? match_domain_keyed(m, v, &key, on_hit, &c->keyed) : 0;
	match_obs o = {0};
	o.kind = MATCH_OBS_DOMAIN;
	o.value = v;
	o.len = len;
	size_t ho = match_observe(m, scr, &o, on_hit, NULL, &c->observed);
	if (hp != hk || hp != ho || c->plain.n != c->keyed.n || c->plain.n != c->observed.n ||
	    memcmp(c->plain.handles, c->keyed.handles, c->plain.n * sizeof(uint32_t)) != 0 ||
	    memcmp(c->plain.handles, c->observed.handles, c->plain.n * sizeof(uint32_t)) != 0)
		c->bad++;
	c->hitting += hp != 0;
}

/*
 * match_domain_key + match_domain_keyed (and match_observe, which takes
 * that way) against match_norm_domain + match_hash_bytes + match_domain:
 * the same key and the same hits for random values, for variants of the
 * indicators' values (case flipped, trailing dots) and for edges (empty,
 * all dots, lengths around the word size and MATCH_MAX_VALUE, non-ASCII
 * bytes), on a matcher large enough to have a filter in front.
 */
static void test_domain_key(void **state)
{
	(void)state;
	enum { NDOM = 20000 };
	static char dom[NDOM][48];
	static size_t dlen[NDOM];
	static char big[MATCH_MAX_VALUE + 16];
	char pat[128], v[96];
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	match_builder *b = match_builder_new(NOW, NULL, NULL);
	assert_non_null(b);
	for (size_t i = 0; i < NDOM; i++) {
		/* name bytes of either case, a dot inside; some end in '.' */
		size_t n = 3 + (size_t)(rng() % 40);
		for (size_t j = 0; j < n; j++) {
			unsigned r = (unsigned)(rng() % 10);
			dom[i][j] = r < 5 ? (char)('a' + rng() % 26)
				  : r < 8 ? (char)('A' + rng() % 26)
				  : r < 9 ? (char)('0' + rng() % 10) : '-';
		}
		dom[i][n / 2] = '.';
		if (i % 7 == 0)
			dom[i][n++] = '.';
		dlen[i] = n;
		snprintf(pat, sizeof pat, "[domain-name:value = '%.*s']", (int)n, dom[i]);
		assert_int_equal(match_builder_add(b, "indicator--k", pat, 0, 0, false, &ctx), RK_OK);
	}
	/* a name with UTF-8 in it: only ASCII letters fold */
	assert_int_equal(match_builder_add(b, "indicator--u", "[domain-name:value = 'B\xC3\x9C" "cher.Example']",
					   0, 0, false, &ctx), RK_OK);
	match *m = NULL;
	assert_int_equal(match_build(b, &m, &ctx), RK_OK);
	match_builder_free(b);
	match_scratch *scr = match_scratch_new(m);
	assert_non_null(scr);
	key_check c;
	memset(&c, 0, sizeof c);

	for (int i = 0; i < 200000; i++) { /* random values */
		size_t n = (size_t)(rng() % 40);
		for (size_t j = 0; j < n; j++)
			v[j] = domain_byte();
		check_domain_key(m, scr, &c, v, n);
	}
	for (size_t i = 0; i < NDOM; i++) { /* the indicators' values, as traffic might spell them */
		size_t n = domain_variant(dom[i], dlen[i], v, sizeof v);
		check_domain_key(m, scr, &c, v, n);
		check_domain_key(m, scr, &c, dom[i], dlen[i]);
	}
	assert_true(c.hitting >= 2 * NDOM);
	size_t before = c.hitting;
	static const char *const edges[] = {
		"", ".", "..", "a", "A.", "bücher.example", "b\xC3\x9C" "cher.example",
		"B\xC3\x9C" "CHER.EXAMPLE...", "b\xC3\xBC" "cher.example", "\xC1\xC1\xC1\xC1\xC1\xC1\xC1\xC1",
		"abcdefg", "abcdefgh", "abcdefghi", "ABCDEFGHIJKLMNOP.", "@[`{.AZaz",
	};
	for (size_t i = 0; i < RK_ARRAY_LEN(edges); i++)
		check_domain_key(m, scr, &c, edges[i], strlen(edges[i]));
	assert_int_equal(c.hitting, before + 2); /* the two spellings of the UTF-8 name */
	/* lengths around MATCH_MAX_VALUE, with and without trailing dots */
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)(i % 3 ? 'A' + i % 26 : 'x');
	for (size_t n = MATCH_MAX_VALUE - 9; n <= MATCH_MAX_VALUE + 1; n++)
		check_domain_key(m, scr, &c, big, n);
	memset(big + MATCH_MAX_VALUE, '.', 16);
	check_domain_key(m, scr, &c, big, MATCH_MAX_VALUE + 16);
	check_domain_key(m, scr, &c, big, MATCH_MAX_VALUE + 1);
	memset(big, '.', MATCH_MAX_VALUE);
	check_domain_key(m, scr, &c, big, MATCH_MAX_VALUE + 16);
	match_key key;
	assert_false(match_domain_key(big, MATCH_MAX_VALUE + 16, &key)); /* all dots */
	assert_false(match_domain_key("", 0, &key));
	assert_true(match_domain_key("Evil.Example.COM..", 18, &key));
	assert_int_equal(key.len, 16);
	assert_true(key.hash == match_hash_bytes("evil.example.com", 16));
	assert_int_equal(c.bad, 0);
	printf("match: %zu domain values two ways, %zu hitting, all the same\n", c.values, c.hitting);
	match_scratch_free(scr);
	match_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_domain_email),
		cmocka_unit_test(test_url_hash),
		cmocka_unit_test(test_skipped),
		cmocka_unit_test(test_url_rfc3986),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_layout_edges),
		cmocka_unit_test(test_layout_sizes),
		cmocka_unit_test(test_ids_not_kept),
		cmocka_unit_test(test_quick_agrees),
		cmocka_unit_test(test_domain_key),
		cmocka_unit_test(test_million),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
