/*
 * match_quick.c: the one shape nearly every shared indicator has,
 * `[ipv4-addr:value = '198.51.100.7']`, recognised without compiling it.
 *
 * match_builder_add spends most of its time in pattern_compile, building a
 * tree only to ask pattern_exact_values for the one value it names. For a
 * text that is exactly one `=` test of a string on one of the paths
 * below, the answer is known from the text: the value between the quotes.
 * match_quick_exact says yes only where the full path (pattern_compile,
 * pattern_is_single, pattern_exact_values) would report that same kind and
 * value and nothing else; anything it is not sure of (an escape, another
 * spelling of the path, a qualifier, a bad hash) it leaves to the full
 * path. So it can only be too cautious, never different: the unit tests
 * and fuzz_match hold it to the full path on edge cases and on mutated
 * texts.
 *
 * What the full path's lexer allows and this follows: blanks (space, tab,
 * CR, LF) between tokens, `=` or `==`, a string with any bytes but `'` and
 * `\` (escapes are left to the full path), and a hash value that must be
 * hex of the algorithm's length (the parser refuses anything else).
 */
#include <string.h>

#include "match_int.h"

static const struct {
	const char *path;
	pattern_vkind kind;
	size_t hexlen; /* hashes: the digest's length in hex; 0 otherwise */
} quick_paths[] = {
	{"ipv4-addr:value", PATTERN_V_IPV4, 0},
	{"domain-name:value", PATTERN_V_DOMAIN, 0},
	{"url:value", PATTERN_V_URL, 0},
	{"ipv6-addr:value", PATTERN_V_IPV6, 0},
	{"email-addr:value", PATTERN_V_EMAIL, 0},
	{"file:hashes.'SHA-256'", PATTERN_V_SHA256, 64},
	{"file:hashes.MD5", PATTERN_V_MD5, 32},
	{"file:hashes.'MD5'", PATTERN_V_MD5, 32},
	{"file:hashes.'SHA-1'", PATTERN_V_SHA1, 40},
	{"file:hashes.'SHA-512'", PATTERN_V_SHA512, 128},
	{"x509-certificate:hashes.'SHA-1'", PATTERN_V_X509_SHA1, 40},
	{"x509-certificate:hashes.'SHA-256'", PATTERN_V_X509_SHA256, 64},
};

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool match_quick_exact(const char *s, size_t len, pattern_vkind *kind, const char **value,
		       size_t *vlen)
{
	size_t i = 0, k, start;

	if (len > PATTERN_MAX_LEN)
		return false;
	while (i < len && blank(s[i]))
		i++;
	if (i == len || s[i++] != '[')
		return false;
	while (i < len && blank(s[i]))
		i++;
	for (k = 0; k < RK_ARRAY_LEN(quick_paths); k++) {
		size_t n = strlen(quick_paths[k].path);
		if (len - i > n && memcmp(s + i, quick_paths[k].path, n) == 0 &&
		    (blank(s[i + n]) || s[i + n] == '=')) {
			i += n;
			break;
		}
	}
	if (k == RK_ARRAY_LEN(quick_paths))
		return false;
	while (i < len && blank(s[i]))
		i++;
	if (i == len || s[i++] != '=')
		return false;
	if (i < len && s[i] == '=')
		i++;
	while (i < len && blank(s[i]))
		i++;
	if (i == len || s[i++] != '\'')
		return false;
	start = i;
	while (i < len && s[i] != '\'') {
		if (s[i] == '\\')
			return false;
		i++;
	}
	if (i == len)
		return false;
	*value = s + start;
	*vlen = i - start;
	i++;
	while (i < len && blank(s[i]))
		i++;
	if (i == len || s[i++] != ']')
		return false;
	while (i < len && blank(s[i]))
		i++;
	if (i != len)
		return false;
	if (quick_paths[k].hexlen) {
		if (*vlen != quick_paths[k].hexlen)
			return false;
		for (size_t j = 0; j < *vlen; j++)
			if (rk_hex_value((*value)[j]) < 0)
				return false;
	}
	*kind = quick_paths[k].kind;
	return true;
}
