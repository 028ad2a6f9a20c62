/*
 * test_common_json_slices.c: rk_json_array_slices finds each element of an
 * envelope's "objects" array in the text, and calls an element canonical
 * exactly when its bytes equal rk_json_dump of the parsed element (which
 * is what lets the hub store posted bytes instead of re-serialising them).
 * Every case is checked against jansson itself: a canonical slice must
 * equal the dump, and the expected flag is asserted, so a scanner that
 * says "canonical" too often or too rarely fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"

typedef struct slice_case {
	const char *element; /* text of one array element */
	bool canonical;
} slice_case;

static const slice_case cases[] = {
	{"{\"a\":1,\"b\":\"x\"}", true},
	{"{\"type\":\"indicator\",\"labels\":[\"c2\",\"botnet\"],\"confidence\":80}", true},
	{"{}", true},
	{"[]", true},
	{"[1,-2,0,{\"b\":null,\"c\":true,\"d\":false}]", true},
	{"\"plain\"", true},
	{"42", true},
	{"-7", true},
	{"{\"s\":\"line\\nbreak \\\"q\\\" \\\\ \\t \\r \\b \\f\"}", true},
	{"{\"s\":\"\\u001F\\u0001\"}", true},
	{"{\"s\":\"caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80\"}", true},
	{"{\"s\":\"a/b\"}", true},
	{"{ \"a\":1}", false},
	{"{\"a\" :1}", false},
	{"{\"a\": 1}", false},
	{"{\"a\":1 }", false},
	{"[1, 2]", false},
	{"[ ]", false},
	{"{\"a\":1.5}", false},
	{"{\"a\":1e5}", false},
	{"{\"a\":1E+2}", false},
	{"{\"a\":-0}", false},
	{"{\"a\":1.0}", false},
	{"{\"s\":\"a\\/b\"}", false},
	{"{\"s\":\"\\u001f\"}", false},
	{"{\"s\":\"\\u000A\"}", false},
	{"{\"s\":\"\\u00e9\"}", false},
	{"{\"s\":\"\\u0041\"}", false},
	{"{\"s\":\"\\ud83d\\ude00\"}", false},
	{"{\"k\\u0041\":1}", false},
};

/* Parses env, dumps objects[i] and compares with slice i. */
static void check_against_jansson(const char *env, const rk_json_slice *sl,
				  size_t n, const bool *want)
{
	json_t *v = NULL;
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	if (rk_json_parse(env, strlen(env), 32, &v, &ctx) != RK_OK)
		fail_msg("parse: %s: %s", ctx.msg, env);
	json_t *arr = json_object_get(v, "objects");
	assert_int_equal(json_array_size(arr), n);
	for (size_t i = 0; i < n; i++) {
		char *dump = rk_json_dump(json_array_get(arr, i));
		bool same = strlen(dump) == sl[i].len &&
			    memcmp(dump, env + sl[i].off, sl[i].len) == 0;
		if (sl[i].canonical && !same)
			fail_msg("element %zu called canonical: %.*s, dump %s", i,
				 (int)sl[i].len, env + sl[i].off, dump);
		if (want && sl[i].canonical != want[i])
			fail_msg("element %zu: canonical %d, expected %d: %.*s", i,
				 sl[i].canonical, want[i], (int)sl[i].len,
				 env + sl[i].off);
		free(dump);
	}
	json_decref(v);
}

static void test_cases(void **state)
{
	(void)state;
	enum { N = sizeof cases / sizeof cases[0] };
	rk_buf env;
	rk_json_slice sl[N];
	bool want[N];
	size_t n = 0;

	/* All cases in one envelope, with other members before and after
	 * and a nested "objects" that must not be taken for the top one. */
	rk_buf_init(&env);
	rk_buf_puts(&env, "{ \"more\": {\"objects\": [9, 9]},\n \"objects\" : [ ");
	for (size_t i = 0; i < N; i++) {
		rk_buf_printf(&env, "%s%s", i ? " ,\n " : "", cases[i].element);
		want[i] = cases[i].canonical;
	}
	rk_buf_puts(&env, " ] , \"x\": \"]}\" }");
	assert_int_equal(rk_json_array_slices(env.data, env.len, "objects", 32, sl,
					      N, &n),
			 RK_OK);
	assert_int_equal(n, N);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(sl[i].len, strlen(cases[i].element));
		assert_memory_equal(env.data + sl[i].off, cases[i].element, sl[i].len);
	}
	check_against_jansson(env.data, sl, n, want);
	rk_buf_cleanup(&env);
}

static rk_err slices(const char *env, size_t max, size_t depth, size_t *n)
{
	rk_json_slice sl[8];
	return rk_json_array_slices(env, strlen(env), "objects", depth, sl,
				    max < 8 ? max : 8, n);
}

static void test_errors(void **state)
{
	(void)state;
	size_t n = 99;

	assert_int_equal(slices("{\"objects\":[]}", 8, 32, &n), RK_OK);
	assert_int_equal(n, 0);
	assert_int_equal(slices("{}", 8, 32, &n), RK_ENOTFOUND);
	assert_int_equal(slices("{\"object\":[1]}", 8, 32, &n), RK_ENOTFOUND);
	assert_int_equal(slices("{\"\\u006fbjects\":[1]}", 8, 32, &n), RK_ENOTFOUND);
	assert_int_equal(slices("{\"objects\":{}}", 8, 32, &n), RK_EPARSE);
	assert_int_equal(slices("[{\"objects\":[1]}]", 8, 32, &n), RK_EPARSE);
	assert_int_equal(slices("{\"objects\":[1,2", 8, 32, &n), RK_EPARSE);
	assert_int_equal(n, 2); /* what was found before the cut */
	assert_int_equal(slices("{\"objects\":[\"abc", 8, 32, &n), RK_EPARSE);
	assert_int_equal(slices("{\"objects\":[\"a\\u12\"]}", 8, 32, &n), RK_EPARSE);
	assert_int_equal(slices("{\"objects\":[\"a\\x\"]}", 8, 32, &n), RK_EPARSE);
	assert_int_equal(slices("{\"objects\":[tru]}", 8, 32, &n), RK_EPARSE);
	assert_int_equal(slices("{\"objects\":[-]}", 8, 32, &n), RK_EPARSE);
	assert_int_equal(slices("{\"objects\":[1.]}", 8, 32, &n), RK_EPARSE);
	assert_int_equal(slices("{\"objects\":[1e]}", 8, 32, &n), RK_EPARSE);
	assert_int_equal(slices("{\"objects\":[1 2]}", 8, 32, &n), RK_EPARSE);
	assert_int_equal(slices("{\"objects\":[{\"a\"}]}", 8, 32, &n), RK_EPARSE);
	assert_int_equal(slices("", 8, 32, &n), RK_EPARSE);
	assert_int_equal(slices("{\"objects\":[1,2,3]}", 2, 32, &n), RK_ETOOBIG);
	assert_int_equal(slices("{\"objects\":[[[[1]]]]}", 8, 4, &n), RK_ETOOBIG);
	assert_int_equal(slices("{\"objects\":[[[1]]]}", 8, 4, &n), RK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(slices("{\"a\":[[[[1]]]],\"objects\":[]}", 8, 4, &n),
			 RK_ETOOBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
