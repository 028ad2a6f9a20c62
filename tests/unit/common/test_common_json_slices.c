/*
 * test_common_json_slices.c: rk_json_array_slices finds each element of an
 * envelope's "objects" array in the text, and calls an element canonical
 * exactly when its bytes equal rk_json_dump of the parsed element (which
 * is what lets the hub store posted bytes instead of re-serialising them).
 * Every case is checked against jansson itself: a canonical slice must
 * equal the dump, and the expected flag is asserted, so a scanner that
 * says "canonical" too often or too rarely fails here. rk_json_stream,
 * fed the text in pieces of every size, finds what rk_json_array_slices
 * finds and fails where it fails.
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

/*
 * rk_json_parse_slices against rk_json_parse and rk_json_array_slices on
 * the same text: the same error (code, place, message) or the same value;
 * and slices, when it gives any, equal to rk_json_array_slices' (which
 * must then have succeeded). Returns how many slices it gave, or -1.
 */
static long check_parse_slices(const char *text, size_t len, size_t max,
			       size_t depth)
{
	json_t *a = NULL, *b = NULL;
	rk_json_slice *sl = NULL, fixed[16];
	size_t n = 0, n_fixed = 0;
	rk_errctx ca, cb;
	long got = -1;

	rk_errctx_clear(&ca);
	rk_errctx_clear(&cb);
	rk_err ea = rk_json_parse(text, len, depth, &a, &ca);
	rk_err eb = rk_json_parse_slices(text, len, depth, "objects", max, &b, &sl, &n, &cb);
	if (ea != eb || ca.code != cb.code || strcmp(ca.path, cb.path) != 0 ||
	    strcmp(ca.msg, cb.msg) != 0)
		fail_msg("%.*s: rk_json_parse %d %s: %s, rk_json_parse_slices %d %s: %s",
			 (int)len, text, ea, ca.path, ca.msg, eb, cb.path, cb.msg);
	if (ea == RK_OK) {
		char *da = rk_json_dump(a), *db = rk_json_dump(b);
		assert_non_null(da);
		assert_non_null(db);
		assert_string_equal(da, db);
		free(da);
		free(db);
	} else {
		assert_null(b);
	}
	if (sl) {
		assert_int_equal(ea, RK_OK);
		assert_true(n <= max);
		assert_int_equal(rk_json_array_slices(text, len, "objects", depth, fixed,
						      RK_ARRAY_LEN(fixed), &n_fixed),
				 RK_OK);
		assert_int_equal(n, n_fixed);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(sl[i].off, fixed[i].off);
			assert_int_equal(sl[i].len, fixed[i].len);
			assert_int_equal(sl[i].canonical, fixed[i].canonical);
		}
		got = (long)n;
	} else {
		assert_int_equal(n, 0);
	}
	free(sl);
	json_decref(a);
	json_decref(b);
	return got;
}

static long parse_slices(const char *text, size_t max, size_t depth)
{
	return check_parse_slices(text, strlen(text), max, depth);
}

static void test_parse_slices(void **state)
{
	(void)state;
	/* slices come with the parse */
	assert_int_equal(parse_slices("{\"objects\":[1,{\"a\":[2]},\"x\"]}", 8, 32), 3);
	assert_int_equal(parse_slices(" {\"more\":{\"objects\":[9]}, \"objects\" : [ {} , [] ] ,"
				      "\"x\":\"]}\" } \n", 8, 32), 2);
	assert_int_equal(parse_slices("{\"objects\":[[[1]]]}", 8, 4), 1);
	/* an empty array has no slices, and needs none */
	assert_int_equal(parse_slices("{\"objects\":[]}", 8, 32), -1);
	/* parsed, without slices */
	assert_int_equal(parse_slices("{\"objects\":[1,2,3]}", 2, 32), -1);
	assert_int_equal(parse_slices("{\"object\":[1]}", 8, 32), -1);
	assert_int_equal(parse_slices("{\"\\u006fbjects\":[1]}", 8, 32), -1);
	assert_int_equal(parse_slices("{\"objects\":{}}", 8, 32), -1);
	assert_int_equal(parse_slices("[{\"objects\":[1]}]", 8, 32), -1);
	/* non-canonical slices are slices all the same */
	assert_int_equal(parse_slices("{\"objects\":[1.5, 2 ]}", 8, 32), 2);
	assert_int_equal(parse_slices("{}", 8, 32), -1);
	assert_int_equal(parse_slices("\"text\"", 8, 32), -1);
	/* errors, each as rk_json_parse reports it */
	assert_int_equal(parse_slices("{\"objects\":[[[[1]]]]}", 8, 4), -1);
	assert_int_equal(parse_slices("{\"objects\":[1],\"x\":[[[[1]]]]}", 8, 4), -1);
	assert_int_equal(parse_slices("{\"a\":[[[[1]]]],\"objects\":[]}", 8, 4), -1);
	assert_int_equal(parse_slices("{\"objects\":[1]} x", 8, 32), -1);
	assert_int_equal(parse_slices("{\"objects\":[1]}{", 8, 32), -1);
	assert_int_equal(parse_slices("{\"objects\":[1],\"objects\":[2]}", 8, 32), -1);
	assert_int_equal(parse_slices("{\"objects\":[\"\xc3\x28\"]}", 8, 32), -1);
	assert_int_equal(parse_slices("{\"objects\":[\"\\u0000\"]}", 8, 32), -1);
	assert_int_equal(parse_slices("{\"objects\":[1,2", 8, 32), -1);
	assert_int_equal(parse_slices("{\"objects\":[01]}", 8, 32), -1);
	assert_int_equal(parse_slices("", 8, 32), -1);
	/* NUL bytes, which the slice scan takes for white space */
	assert_int_equal(check_parse_slices("{\"objects\":[1]}\0", 16, 8, 32), -1);
	assert_int_equal(check_parse_slices("{\"objects\":[1,\0 2]}", 19, 8, 32), -1);
}

/* Cuts and byte changes of one envelope: whatever rk_json_parse says,
 * rk_json_parse_slices says too. */
static void test_parse_slices_mutations(void **state)
{
	(void)state;
	static const char env[] =
		"{\"type\":\"bundle\",\"objects\":[{\"a\":1,\"b\":[true,false,null]},"
		"{\"s\":\"q\\\"\\\\\\u0001 caf\xc3\xa9\"},[[[-0.5e3]]],\"x\"],"
		"\"more\":{\"objects\":[1]},\"t\":[[{}]]}";
	static const char bytes[] = "{}[],:\" \\0\x80\xc3\x01x";
	char buf[sizeof env];
	uint64_t x = 0x2545f4914f6cdd1du;

	assert_int_equal(check_parse_slices(env, sizeof env - 1, 8, 32), 4);
	for (size_t cut = 0; cut < sizeof env; cut++)
		for (size_t depth = 3; depth <= 6; depth += 3)
			check_parse_slices(env, cut, 8, depth);
	for (int n = 0; n < 20000; n++) {
		memcpy(buf, env, sizeof env);
		for (int k = 0; k < 1 + n % 3; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[x % (sizeof env - 1)] = bytes[(x >> 32) % (sizeof bytes - 1)];
		}
		check_parse_slices(buf, sizeof env - 1, 3 + n % 3, 2 + n % 6);
	}
}

/*
 * rk_json_stream over text handed in `piece` bytes at a time (the caller
 * keeping what the stream has not passed, as a reader's window does)
 * against rk_json_array_slices on the whole: the same verdict, the same
 * elements up to it.
 */
static void check_stream(const char *text, size_t len, size_t depth, size_t piece)
{
	rk_json_slice want[16];
	size_t n_want = 0;
	rk_err ew =
	    rk_json_array_slices(text, len, "objects", depth, want, RK_ARRAY_LEN(want), &n_want);
	if (ew == RK_ETOOBIG && n_want == RK_ARRAY_LEN(want))
		return; /* more elements than this test keeps */

	rk_json_stream js;
	size_t pos = 0, have = piece < len ? piece : len, n = 0;
	rk_err err = RK_OK;
	rk_json_stream_init(&js, "objects", depth);
	for (;;) {
		size_t used = 0;
		bool more = false, eof = have == len;
		if (!js.at_element) {
			err = rk_json_stream_next(&js, text + pos, have - pos, eof, &used, &more);
		} else {
			err =
			    rk_json_stream_element(&js, text + pos, have - pos, eof, &used, &more);
			if (!err && !more) {
				assert_true(n < RK_ARRAY_LEN(want));
				assert_int_equal(pos, want[n].off);
				assert_int_equal(used, want[n].len);
				n++;
			}
		}
		if (err)
			break;
		if (more) {
			assert_false(eof);
			have = have + piece < len ? have + piece : len;
			continue;
		}
		pos += used;
		if (js.done)
			break;
	}
	if (err != ew || (ew == RK_OK && n != n_want) || js.n != n)
		fail_msg("%.*s (piece %zu): stream %d after %zu elements, slices %d with %zu",
			 (int)len, text, piece, err, n, ew, n_want);
}

static void test_stream(void **state)
{
	(void)state;
	static const char *texts[] = {
	    "{\"objects\":[]}",
	    "{}",
	    "{\"object\":[1]}",
	    "{\"objects\":{}}",
	    "[{\"objects\":[1]}]",
	    "{\"objects\":[1,2",
	    "{\"objects\":[1,2,]}",
	    "{\"objects\":[,]}",
	    "{\"objects\":[1 2]}",
	    " \n{ \"a\" : [1, {\"b\":\"}]\"}] , \"objects\" : [ {\"x\":[1,[2]]} , \"s\\\"\" ,3 ] , "
	    "\"z\": }",
	    "{\"objects\":[[[[1]]]]}",
	    "{\"a\":[[[[1]]]],\"objects\":[]}",
	    "",
	    "  ",
	    "\"objects\"",
	};
	for (size_t t = 0; t < RK_ARRAY_LEN(texts); t++)
		for (size_t piece = 1; piece <= strlen(texts[t]) + 1; piece++)
			for (size_t depth = 3; depth <= 5; depth += 2)
				check_stream(texts[t], strlen(texts[t]), depth, piece);

	static const char env[] =
	    "{\"type\":\"bundle\",\"objects\":[{\"a\":1,\"b\":[true,false,null]},"
	    "{\"s\":\"q\\\"\\\\\\u0001 caf\xc3\xa9\"},[[[-0.5e3]]],\"x\"],"
	    "\"more\":{\"objects\":[1]},\"t\":[[{}]]}";
	static const char bytes[] = "{}[],:\" \\0\x80\xc3\x01x";
	char buf[sizeof env];
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (size_t cut = 0; cut < sizeof env; cut++)
		check_stream(env, cut, 6, 1 + cut % 7);
	for (int n = 0; n < 20000; n++) {
		memcpy(buf, env, sizeof env);
		for (int k = 0; k < 1 + n % 3; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[x % (sizeof env - 1)] = bytes[(x >> 32) % (sizeof bytes - 1)];
		}
		check_stream(buf, sizeof env - 1, 2 + n % 6, 1 + (size_t)(x >> 40) % 40);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),	 cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_parse_slices), cmocka_unit_test(test_parse_slices_mutations),
	    cmocka_unit_test(test_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
