/*
 * test_pattern.c: STIX 2.1 patterns, as data.
 *
 * Behaviour lives in three files next to this one, and this program only
 * runs them, printing one line per failing case and a count per file:
 *
 *   valid.txt    patterns that must compile (the STIX 2.1 section 9
 *                examples, the OASIS validator's pass cases, the indicator
 *                patterns of the shared STIX data, renkei's own)
 *   errors.json  [{pattern, error}]: must fail with exactly that message,
 *                position included
 *   cases.json   {observed: {name: document}, cases: [{pattern, observed,
 *                expect}]}: pattern_match against the named document must
 *                give `expect`
 *
 * Every example pattern of the STIX 2.1 OASIS Standard text (sections 9.1
 * to 9.8, and the indicator patterns of sections 4.7, 4.16 and 7.3) is in
 * cases.json with observed-data on both sides of it (notes name the
 * section), or, where the text is schematic or breaks its own rules (an
 * unquoted '-' in a property name, a placeholder hash), in errors.json.
 *
 * Then the API's edges (limits, observed-data errors, the work bound) and a
 * speed printout (evaluations/s and parses/s; printed, never asserted, so a
 * slow machine does not fail the suite).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "pattern.h"

#define DIR "tests/unit/pattern/"

static json_t *load(const char *path)
{
	json_t *doc = NULL;
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	if (rk_json_load_file(path, 16 << 20, RK_MAX_JSON_DEPTH, &doc, &ctx) != RK_OK)
		fail_msg("%s: %s", path, ctx.msg);
	return doc;
}

static void test_valid_patterns(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0, n = 0, failed = 0;
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	assert_int_equal(rk_read_file(DIR "valid.txt", 1 << 20, &text, &len, &ctx), RK_OK);
	for (char *line = text, *end; line && *line; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		size_t l = end ? (size_t)(end - line) : strlen(line);
		if (l == 0 || line[0] == '#')
			continue;
		pattern *p = NULL;
		rk_errctx_clear(&ctx);
		n++;
		if (pattern_compile(line, l, &p, &ctx) != RK_OK) {
			printf("FAIL valid: %.*s\n  -> %s\n", (int)l, line, ctx.msg);
			failed++;
		} else if (pattern_observation_count(p) < 1 || pattern_comparison_count(p) < 1) {
			printf("FAIL valid (empty tree): %.*s\n", (int)l, line);
			failed++;
		}
		pattern_free(p);
	}
	printf("valid.txt: %zu patterns, %zu failed\n", n, failed);
	free(text);
	assert_true(n >= 100);
	assert_int_equal(failed, 0);
}

static void test_error_patterns(void **state)
{
	(void)state;
	json_t *doc = load(DIR "errors.json"), *c;
	size_t i, failed = 0;

	assert_true(json_array_size(doc) >= 50);
	json_array_foreach(doc, i, c) {
		const char *text = json_string_value(json_object_get(c, "pattern"));
		const char *want = json_string_value(json_object_get(c, "error"));
		pattern *p = NULL;
		rk_errctx ctx;
		assert_non_null(text);
		assert_non_null(want);
		rk_errctx_clear(&ctx);
		rk_err err = pattern_compile(text, strlen(text), &p, &ctx);
		if (err == RK_OK) {
			printf("FAIL error case %zu compiled: %s\n", i, text);
			failed++;
		} else if (strcmp(ctx.msg, want) != 0) {
			printf("FAIL error case %zu: %s\n  want: %s\n  got:  %s\n", i, text, want,
			       ctx.msg);
			failed++;
		} else if (p) {
			printf("FAIL error case %zu left a pattern\n", i);
			failed++;
		}
		pattern_free(p);
	}
	printf("errors.json: %zu cases, %zu failed\n", json_array_size(doc), failed);
	json_decref(doc);
	assert_int_equal(failed, 0);
}

static void test_match_cases(void **state)
{
	(void)state;
	json_t *doc = load(DIR "cases.json"), *c;
	json_t *observed = json_object_get(doc, "observed");
	json_t *cases = json_object_get(doc, "cases");
	size_t i, failed = 0, yes = 0;

	assert_true(json_array_size(cases) >= 50);
	json_array_foreach(cases, i, c) {
		const char *text = json_string_value(json_object_get(c, "pattern"));
		const char *name = json_string_value(json_object_get(c, "observed"));
		bool want = json_is_true(json_object_get(c, "expect")), got = !want;
		pattern *p = NULL;
		pattern_obs_set *set = NULL;
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		assert_non_null(text);
		assert_non_null(name);
		if (pattern_compile(text, strlen(text), &p, &ctx) != RK_OK ||
		    pattern_obs_load(json_object_get(observed, name), &set, &ctx) != RK_OK ||
		    pattern_match(p, set, &got, &ctx) != RK_OK) {
			printf("FAIL case %zu: %s\n  error: %s\n", i, text, ctx.msg);
			failed++;
		} else if (got != want) {
			printf("FAIL case %zu: %s against %s: want %s, got %s\n", i, text, name,
			       want ? "match" : "no match", got ? "match" : "no match");
			failed++;
		}
		yes += want;
		pattern_obs_free(set);
		pattern_free(p);
	}
	printf("cases.json: %zu cases (%zu match, %zu not), %zu failed\n",
	       json_array_size(cases), yes, json_array_size(cases) - yes, failed);
	json_decref(doc);
	assert_int_equal(failed, 0);
}

static rk_err compile_str(const char *s, pattern **p, rk_errctx *ctx)
{
	rk_errctx_clear(ctx);
	return pattern_compile(s, strlen(s), p, ctx);
}

static void test_limits(void **state)
{
	(void)state;
	pattern *p = NULL;
	rk_errctx ctx;
	char *big = malloc(PATTERN_MAX_LEN + 2);

	pattern_free(NULL);
	pattern_obs_free(NULL);
	assert_non_null(big);
	memset(big, ' ', PATTERN_MAX_LEN + 1);
	big[PATTERN_MAX_LEN + 1] = 0;
	rk_errctx_clear(&ctx);
	assert_int_equal(pattern_compile(big, PATTERN_MAX_LEN + 1, &p, &ctx), RK_ETOOBIG);
	assert_null(p);
	free(big);

	/* the text need not be NUL-terminated: only len bytes are read */
	rk_errctx_clear(&ctx);
	assert_int_equal(pattern_compile("[a:b = 1]garbage", 9, &p, &ctx), RK_OK);
	assert_int_equal(pattern_observation_count(p), 1);
	pattern_free(p);

	/* depth */
	char deep[512];
	size_t o = 0;
	for (int i = 0; i < PATTERN_MAX_DEPTH; i++)
		deep[o++] = '(';
	o += (size_t)sprintf(deep + o, "[a:b = 1]");
	for (int i = 0; i < PATTERN_MAX_DEPTH; i++)
		deep[o++] = ')';
	deep[o] = 0;
	assert_int_equal(compile_str(deep, &p, &ctx), RK_ETOOBIG);
	assert_string_equal(ctx.msg, "at 64: nesting deeper than 64");
	deep[o - 1] = 0; /* one level fewer: '[' is the 64th */
	assert_int_equal(compile_str(deep + 1, &p, &ctx), RK_OK);
	pattern_free(p);
}

static void test_observed_errors(void **state)
{
	(void)state;
	static const struct {
		const char *doc, *path, *msg;
		rk_err code;
	} rows[] = {
		{ "{\"type\": \"indicator\"}", "",
		  "expected a bundle, an array of objects or an observed-data", RK_EINVAL },
		{ "[{\"type\": \"observed-data\", \"last_observed\": \"2020-01-01T00:00:00Z\","
		  " \"number_observed\": 1, \"objects\": {}}]", "[0]",
		  "first_observed: missing or not an RFC 3339 timestamp", RK_EINVAL },
		{ "{\"type\": \"bundle\", \"objects\": [{\"type\": \"x\"}, {\"type\": \"observed-data\","
		  " \"first_observed\": \"2020-01-01T00:00:00Z\", \"last_observed\": \"2020-01-01T00:00:00Z\","
		  " \"number_observed\": 0, \"objects\": {}}]}", "objects[1]",
		  "number_observed: not an integer from 1 to 999999999", RK_EINVAL },
		{ "{\"type\": \"observed-data\", \"first_observed\": \"2020-01-02T00:00:00Z\","
		  " \"last_observed\": \"2020-01-01T00:00:00Z\", \"number_observed\": 1,"
		  " \"objects\": {}}", "", "last_observed is before first_observed", RK_EINVAL },
		{ "{\"type\": \"observed-data\", \"first_observed\": \"2020-01-01T00:00:00Z\","
		  " \"last_observed\": \"2020-01-01T00:00:00Z\", \"number_observed\": 1}", "",
		  "neither objects nor object_refs", RK_EINVAL },
	};
	for (size_t i = 0; i < RK_ARRAY_LEN(rows); i++) {
		json_t *doc = json_loads(rows[i].doc, 0, NULL);
		pattern_obs_set *s = NULL;
		rk_errctx ctx;
		assert_non_null(doc);
		rk_errctx_clear(&ctx);
		assert_int_equal(pattern_obs_load(doc, &s, &ctx), rows[i].code);
		assert_null(s);
		assert_string_equal(ctx.path, rows[i].path);
		assert_string_equal(ctx.msg, rows[i].msg);
		json_decref(doc);
	}
}

/* Twenty observations that all satisfy [a:b = 1], and a pattern that asks
 * for nine of them AND one that never matches: the search would try 20^9
 * combinations, and must stop at PATTERN_MAX_STEPS instead. */
static void test_work_bound(void **state)
{
	(void)state;
	json_t *arr = json_array();
	pattern *p = NULL;
	pattern_obs_set *s = NULL;
	rk_errctx ctx;
	bool m = true;

	for (int i = 0; i < 20; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:i, s:{s:{s:s, s:i}}}",
			"type", "observed-data", "first_observed", "2020-01-01T00:00:00Z",
			"last_observed", "2020-01-01T00:00:00Z", "number_observed", 1,
			"objects", "0", "type", "a", "b", 1));
	rk_errctx_clear(&ctx);
	assert_int_equal(pattern_obs_load(arr, &s, &ctx), RK_OK);
	assert_int_equal(pattern_obs_count(s), 20);
	assert_int_equal(compile_str("[a:b = 1] AND [a:b = 1] AND [a:b = 1] AND [a:b = 1] AND "
				     "[a:b = 1] AND [a:b = 1] AND [a:b = 1] AND [a:b = 1] AND "
				     "[a:b = 1] AND [a:b = 2]", &p, &ctx), RK_OK);
	assert_int_equal(pattern_match(p, s, &m, &ctx), RK_ETOOBIG);
	assert_false(m);
	pattern_free(p);

	/* REPEATS over distinct observations uses each once */
	assert_int_equal(compile_str("[a:b = 1] REPEATS 20 TIMES", &p, &ctx), RK_OK);
	rk_errctx_clear(&ctx);
	assert_int_equal(pattern_match(p, s, &m, &ctx), RK_OK);
	assert_true(m);
	pattern_free(p);
	assert_int_equal(compile_str("[a:b = 1] REPEATS 21 TIMES", &p, &ctx), RK_OK);
	rk_errctx_clear(&ctx);
	assert_int_equal(pattern_match(p, s, &m, &ctx), RK_OK);
	assert_false(m);
	pattern_free(p);
	pattern_obs_free(s);
	json_decref(arr);

	/* one observed-data standing for many: REPEATS 1000 recurses 1000
	 * rounds deep; nested, the rounds multiply and the depth bound stops
	 * the search instead of the stack */
	json_t *many = json_pack("{s:s, s:s, s:s, s:i, s:{s:{s:s, s:i}}}",
		"type", "observed-data", "first_observed", "2020-01-01T00:00:00Z",
		"last_observed", "2020-01-01T00:00:00Z", "number_observed", 999999999,
		"objects", "0", "type", "a", "b", 1);
	rk_errctx_clear(&ctx);
	assert_int_equal(pattern_obs_load(many, &s, &ctx), RK_OK);
	assert_int_equal(compile_str("[a:b = 1] REPEATS 1000 TIMES", &p, &ctx), RK_OK);
	assert_int_equal(pattern_match(p, s, &m, &ctx), RK_OK);
	assert_true(m);
	pattern_free(p);
	assert_int_equal(compile_str("(([a:b = 1] REPEATS 1000 TIMES) REPEATS 1000 TIMES)", &p,
				     &ctx), RK_OK);
	assert_int_equal(pattern_match(p, s, &m, &ctx), RK_ETOOBIG);
	assert_string_equal(ctx.msg, "evaluation nests deeper than 1200");
	assert_false(m);
	pattern_free(p);
	pattern_obs_free(s);
	json_decref(many);
}

/* One compiled pattern and one observation set shared by four threads at
 * once: both are immutable, and each thread gets its own PCRE2 scratch. */
typedef struct shared {
	const pattern *p;
	const pattern_obs_set *s;
	size_t hits;
} shared;

static void *evaluate_many(void *arg)
{
	shared *sh = arg;

	for (int i = 0; i < 2000; i++) {
		bool m = false;
		if (pattern_match(sh->p, sh->s, &m, NULL) == RK_OK && m)
			sh->hits++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	json_t *doc = json_loads(
		"{\"type\": \"observed-data\", \"first_observed\": \"2020-01-01T00:00:00Z\","
		" \"last_observed\": \"2020-01-01T00:00:00Z\", \"number_observed\": 2,"
		" \"objects\": {\"0\": {\"type\": \"file\", \"name\": \"Final Report 2020.exe\"}}}",
		0, NULL);
	pattern *p = NULL;
	pattern_obs_set *s = NULL;
	rk_errctx ctx;
	pthread_t t[4];
	shared sh[4];

	assert_non_null(doc);
	rk_errctx_clear(&ctx);
	assert_int_equal(pattern_obs_load(doc, &s, &ctx), RK_OK);
	assert_int_equal(compile_str("[file:name MATCHES '^Final Report.+\\\\.exe$'] REPEATS 2 TIMES",
				     &p, &ctx), RK_OK);
	for (int i = 0; i < 4; i++) {
		sh[i] = (shared){ p, s, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, evaluate_many, &sh[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 4; i++)
		assert_int_equal(sh[i].hits, 2000);
	pattern_free(p);
	pattern_obs_free(s);
	json_decref(doc);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The figure the issue names: [ipv4-addr:value = '198.51.100.1'] against
 * one observed-data holding that address. Printed, not asserted. */
/* The values a sensor can look up directly, and the patterns it cannot. */
typedef struct seen_values {
	char text[1024];
} seen_values;

static void note_value(void *arg, pattern_vkind kind, const char *value, size_t len)
{
	static const char *const names[] = {"ipv4", "ipv6", "domain", "url", "email",
					    "md5", "sha1", "sha256", "sha512"};
	seen_values *s = arg;
	size_t n = strlen(s->text);
	snprintf(s->text + n, sizeof s->text - n, "%s%s=%.*s", n ? " " : "", names[kind],
		 (int)len, value);
}

static void test_exact_values(void **state)
{
	(void)state;
	static const struct {
		const char *pattern, *want; /* want NULL: left to the evaluator */
	} cases[] = {
		{"[ipv4-addr:value = '198.51.100.1']", "ipv4=198.51.100.1"},
		{"[ipv4-addr:value = '198.51.100.0/24']", "ipv4=198.51.100.0/24"},
		{"[domain-name:value = 'a.example' OR domain-name:value = 'b.example']",
		 "domain=a.example domain=b.example"},
		{"[file:hashes.'SHA-256' IN ('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb') OR "
		 "file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
		 "sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 sha256=ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb md5=d41d8cd98f00b204e9800998ecf8427e"},
		{"[url:value = 'http://x.example/a' OR (email-addr:value = 'm@x.example' OR "
		 "ipv6-addr:value = '2001:db8::1')]",
		 "url=http://x.example/a email=m@x.example ipv6=2001:db8::1"},
		{"[ipv4-addr:value = '198.51.100.1' AND ipv4-addr:value = '198.51.100.2']", NULL},
		{"[ipv4-addr:value != '198.51.100.1']", NULL},
		{"[ipv4-addr:value NOT = '198.51.100.1']", NULL},
		{"[domain-name:value LIKE '%.example']", NULL},
		{"[ipv4-addr:value = '198.51.100.1'] OR [ipv4-addr:value = '198.51.100.2']", NULL},
		{"[ipv4-addr:value = '198.51.100.1'] REPEATS 2 TIMES", NULL},
		{"[network-traffic:dst_ref.value = '198.51.100.1']", NULL},
		{"[domain-name:value = 'a.example' OR file:name = 'x']", NULL},
	};
	rk_errctx ctx;

	for (size_t i = 0; i < RK_ARRAY_LEN(cases); i++) {
		pattern *p = NULL;
		seen_values seen = {{0}};
		rk_errctx_clear(&ctx);
		if (pattern_compile(cases[i].pattern, strlen(cases[i].pattern), &p, &ctx) != RK_OK)
			fail_msg("%s: %s", cases[i].pattern, ctx.msg);
		bool exact = pattern_exact_values(p, note_value, &seen);
		if (exact != (cases[i].want != NULL) ||
		    (exact && strcmp(seen.text, cases[i].want) != 0) || (!exact && seen.text[0]))
			fail_msg("%s:\n  got  %s %s\n  want %s", cases[i].pattern,
				 exact ? "exact" : "not exact", seen.text,
				 cases[i].want ? cases[i].want : "not exact");
		pattern_free(p);
	}
}

static void test_speed(void **state)
{
	(void)state;
	static const char PAT[] = "[ipv4-addr:value = '198.51.100.1']";
	json_t *doc = json_loads(
		"{\"type\": \"bundle\", \"id\": \"bundle--1\", \"objects\": ["
		"{\"type\": \"observed-data\", \"id\": \"observed-data--1\","
		" \"first_observed\": \"2020-01-01T00:00:00Z\","
		" \"last_observed\": \"2020-01-01T00:00:00Z\", \"number_observed\": 1,"
		" \"object_refs\": [\"ipv4-addr--1\"]},"
		"{\"type\": \"ipv4-addr\", \"id\": \"ipv4-addr--1\", \"value\": \"198.51.100.1\"}]}",
		0, NULL);
	pattern *p = NULL;
	pattern_obs_set *s = NULL;
	rk_errctx ctx;
	bool m = false;
	size_t hits = 0, n;
	double t0, dt;

	assert_non_null(doc);
	rk_errctx_clear(&ctx);
	assert_int_equal(pattern_obs_load(doc, &s, &ctx), RK_OK);
	assert_int_equal(compile_str(PAT, &p, &ctx), RK_OK);
	n = 0;
	t0 = now_s();
	do {
		for (int i = 0; i < 100000; i++, n++) {
			pattern_match(p, s, &m, NULL);
			hits += m;
		}
		dt = now_s() - t0;
	} while (dt < 0.5);
	assert_int_equal(hits, n);
	printf("speed: %.0f evaluations/s of %s\n", (double)n / dt, PAT);
	pattern_free(p);

	n = 0;
	t0 = now_s();
	do {
		for (int i = 0; i < 10000; i++, n++) {
			pattern *q = NULL;
			pattern_compile(PAT, sizeof PAT - 1, &q, NULL);
			pattern_free(q);
		}
		dt = now_s() - t0;
	} while (dt < 0.5);
	printf("speed: %.0f parses/s of %s\n", (double)n / dt, PAT);
	pattern_obs_free(s);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_patterns),
		cmocka_unit_test(test_error_patterns),
		cmocka_unit_test(test_match_cases),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_observed_errors),
		cmocka_unit_test(test_work_bound),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_exact_values),
		cmocka_unit_test(test_speed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
