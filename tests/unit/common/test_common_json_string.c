/*
 * test_common_json_string.c: rk_json_put_string writes a JSON string byte
 * for byte as jansson's compact dump (rk_json_dump) writes the same string
 * value, and refuses exactly the text json_stringn refuses (not UTF-8 as
 * jansson reads it). jansson is the oracle for every case: quotes,
 * backslash, '/', every control character, DEL, multi-byte UTF-8 at the
 * edges of each length, every malformed form (overlong, surrogate, past
 * U+10FFFF, cut short, stray continuation bytes), all two-byte strings, a
 * sweep of three- and four-byte leads, and seeded random strings over an
 * alphabet biased towards the bytes that matter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"

/* Compares rk_json_put_string(s, len), appended after "x", with jansson. */
static void check(const char *s, size_t len)
{
	rk_buf b;
	json_t *v = json_stringn(s, len);
	rk_err err;

	rk_buf_init(&b);
	assert_int_equal(rk_buf_puts(&b, "x"), RK_OK);
	err = rk_json_put_string(&b, s, len);
	if (!v) {
		if (err != RK_EINVAL)
			fail_msg("jansson refuses %zu bytes starting %02x, "
				 "rk_json_put_string gave %d",
				 len, len ? (unsigned char)s[0] : 0, err);
		/* nothing appended on refusal */
		assert_int_equal(b.len, 1);
		assert_string_equal(b.data, "x");
	} else {
		char *want = rk_json_dump(v);
		assert_non_null(want);
		if (err != RK_OK || b.len != 1 + strlen(want) ||
		    memcmp(b.data + 1, want, b.len - 1) != 0)
			fail_msg("%zu bytes starting %02x: got %d \"%s\", jansson %s",
				 len, len ? (unsigned char)s[0] : 0, err, b.data + 1,
				 want);
		assert_int_equal(b.data[b.len], '\0');
		free(want);
	}
	json_decref(v);
	rk_buf_cleanup(&b);
}

static void check_str(const char *s)
{
	check(s, strlen(s));
}

static void test_named_cases(void **state)
{
	(void)state;
	static const char *const cases[] = {
		"",
		"plain ascii",
		"\"",
		"\\",
		"say \"hi\" \\ there",
		"a/b</script>",
		"\x7f",
		"tab\there\nnew line\r\b\f",
		"caf\xc3\xa9",
		"\xc2\x80",             /* U+0080, first two-byte */
		"\xdf\xbf",             /* U+07FF */
		"\xe0\xa0\x80",         /* U+0800, first three-byte */
		"\xe2\x80\xa8",         /* U+2028 stays raw */
		"\xed\x9f\xbf",         /* U+D7FF, below the surrogates */
		"\xee\x80\x80",         /* U+E000, above them */
		"\xef\xbf\xbf",         /* U+FFFF */
		"\xf0\x90\x80\x80",     /* U+10000, first four-byte */
		"\xf0\x9f\x98\x80",     /* emoji */
		"\xf4\x8f\xbf\xbf",     /* U+10FFFF, the last */
		"\xc0\x80",             /* overlong NUL */
		"\xc1\xbf",             /* overlong */
		"\xe0\x9f\xbf",         /* overlong three-byte */
		"\xf0\x8f\xbf\xbf",     /* overlong four-byte */
		"\xed\xa0\x80",         /* U+D800, a surrogate */
		"\xed\xbf\xbf",         /* U+DFFF */
		"\xf4\x90\x80\x80",     /* U+110000 */
		"\xf5\x80\x80\x80",
		"\xff",
		"\x80",                 /* stray continuation */
		"ok\xe2\x82",           /* cut short at the end */
		"\xe2\x82z",            /* cut short in the middle */
		"\xc3\xa9\"\xc3",
	};

	for (size_t i = 0; i < RK_ARRAY_LEN(cases); i++)
		check_str(cases[i]);
}

/* Every byte alone and inside text, NUL included (json_stringn takes it). */
static void test_every_byte(void **state)
{
	(void)state;
	for (unsigned c = 0; c < 256; c++) {
		char s[8] = {(char)c};
		check(s, 1);
		memcpy(s, "ab", 2);
		s[2] = (char)c;
		memcpy(s + 3, "cd", 2);
		check(s, 5);
	}
	/* all control characters in one string, then DEL */
	char all[34];
	for (unsigned c = 0; c < 32; c++)
		all[c] = (char)c;
	all[32] = 0x7f;
	all[33] = 'z';
	check(all, sizeof all);
}

static void test_multibyte_sweep(void **state)
{
	(void)state;
	static const unsigned char tails[] = {0x00, 0x22, 0x41, 0x5c, 0x7f, 0x80,
					      0x9f, 0xa0, 0xbf, 0xc0, 0xff};
	char s[6];

	for (unsigned a = 0; a < 256; a++)
		for (unsigned b = 0; b < 256; b++) {
			s[0] = (char)a;
			s[1] = (char)b;
			check(s, 2);
		}
	for (unsigned a = 0xe0; a <= 0xf7; a++)
		for (unsigned b = 0; b < 256; b++)
			for (size_t c = 0; c < sizeof tails; c++)
				for (size_t d = 0; d < sizeof tails; d += 3) {
					s[0] = (char)a;
					s[1] = (char)b;
					s[2] = (char)tails[c];
					s[3] = (char)tails[d];
					s[4] = 'q';
					check(s, a < 0xf0 ? 3 : 4);
					check(s, 5);
				}
}

static void test_random_strings(void **state)
{
	(void)state;
	static const char alphabet[] = "ab\"\\/\x01\x1f\x7f\n\t\xc3\xa9\xe2\x80\xa8"
				       "\xf0\x9f\x98\x80\xed\xc0";
	uint64_t x = 0x9e3779b97f4a7c15u;
	char s[48];

	for (int n = 0; n < 20000; n++) {
		size_t len;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = x % sizeof s;
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			s[i] = alphabet[x % (sizeof alphabet - 1)];
		}
		check(s, len);
	}
}

/* Escapes that grow the text past what was reserved up front. */
static void test_growth(void **state)
{
	(void)state;
	char s[3000];
	for (size_t i = 0; i < sizeof s; i++)
		s[i] = (char)(i % 3 == 0 ? 0x01 : i % 3 == 1 ? '"' : 'x');
	check(s, sizeof s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_named_cases),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_multibyte_sweep),
		cmocka_unit_test(test_random_strings),
		cmocka_unit_test(test_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
