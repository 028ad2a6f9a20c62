/*
 * feeds_plain.c: plain lists, one value per line.
 *
 * A line is: optional blanks, the value, then anything (Spamhaus DROP
 * writes "1.2.3.0/24 ; SBL123", others "value,extra,fields" or
 * "value # note"). Lines that are empty or start with '#' or ';' (after
 * blanks) are comments and not counted. The value is the text up to the
 * first blank; when that is not a value, the text up to the first of
 * ",;|#" is tried (a URL may carry those characters, so blanks come
 * first). Its type is detected per line (feeds_value_detect). The text
 * after the value becomes the indicator's description when it is more
 * than separators. A defanged value ("hxxp://evil[.]example") is refanged
 * before its type is detected (feeds_refang) and counted as refanged.
 *
 * Lines are cut at '\n' (a '\r' before it is dropped); a line longer than
 * RK_FEED_MAX_LINE, a NUL byte in a line, or a value of no known type is
 * rejected as "file:line: reason" and the next line read.
 */
#include <string.h>

#include "feeds.h"

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static rk_err one_line(feeds_import *imp, const char *where, const char *s, size_t len)
{
	char value[FEEDS_VALUE_MAX], rest[512];
	const char *why = NULL, *why2;
	bool refanged = false;
	size_t i = 0;
	feeds_vtype t;

	while (i < len && blank(s[i]))
		i++;
	if (i == len || s[i] == '#' || s[i] == ';')
		return RK_OK;
	if (memchr(s, '\0', len))
		return feeds_import_reject(imp, where, "NUL byte in line");
	size_t end = i;
	while (end < len && !blank(s[end]))
		end++;
	t = feeds_value_refang_parse(FEEDS_VNONE, s + i, end - i, value, &why, &refanged);
	if (t == FEEDS_VNONE) {
		size_t cut = i;
		while (cut < end && !strchr(",;|#", s[cut]))
			cut++;
		if (cut < end && cut > i) {
			t = feeds_value_refang_parse(FEEDS_VNONE, s + i, cut - i, value, &why2,
						     &refanged);
			if (t != FEEDS_VNONE)
				end = cut;
		}
	}
	if (t == FEEDS_VNONE) {
		size_t show = end - i < 64 ? end - i : 64;
		return feeds_import_reject(imp, where, "%s: \"%.*s\"", why, (int)show, s + i);
	}
	/* The rest of the line, without leading separators and trailing
	 * blanks, as a description. */
	size_t r = end, rend = len;
	while (r < rend && (blank(s[r]) || strchr(",;|#", s[r])))
		r++;
	while (rend > r && blank(s[rend - 1]))
		rend--;
	size_t rl = rend - r < sizeof rest - 1 ? rend - r : sizeof rest - 1;
	memcpy(rest, s + r, rl);
	rest[rl] = '\0';
	feeds_item it = {
		.where = where,
		.type = t,
		.value = value,
		.type2 = FEEDS_VNONE,
		.description = rl ? rest : NULL,
		.refanged = refanged,
	};
	return feeds_import_item(imp, &it);
}

rk_err feeds_parse_plain(feeds_import *imp, const char *file, const char *data, size_t len)
{
	size_t lineno = 0;
	char where[RK_ERRCTX_PATH];
	rk_err err;

	for (size_t off = 0; off < len;) {
		const char *nl = memchr(data + off, '\n', len - off);
		size_t end = nl ? (size_t)(nl - data) : len;
		lineno++;
		snprintf(where, sizeof where, "%s:%zu", file, lineno);
		if (end - off > RK_FEED_MAX_LINE)
			err = feeds_import_reject(imp, where, "line longer than %d bytes",
						  RK_FEED_MAX_LINE);
		else
			err = one_line(imp, where, data + off, end - off);
		if (err)
			return err;
		off = end + 1;
	}
	return RK_OK;
}
