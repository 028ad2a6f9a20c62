/*
 * pattern_regex.c: MATCHES without PCRE2 for the regular expressions that
 * are a literal with anchors and at most one `.+` or `.*` gap, the shape of
 * most indicator expressions (`^Final Report.+\.exe$`, `.+\@example\.com$`,
 * `^.+>-add GlobalSign.cer -c -s -r localMachine Root$`).
 *
 * Such an expression is, in order: an optional `^`; a run A of atoms; an
 * optional gap (`.+` or `.*`) followed by a run B of atoms; an optional `$`
 * at the very end. An atom is a literal character (a byte, an escaped
 * ASCII punctuation character, or a whole UTF-8 sequence) or `.`. Anything
 * else (classes, groups, alternation, other quantifiers, escapes of letters
 * or digits, lazy or possessive gaps) is left to PCRE2, as is every shape
 * for which a placement is not fixed by the anchors (see relit_shape).
 *
 * Why the answer is PCRE2's, for the options pattern_parse.c compiles with
 * (PCRE2_UTF and nothing else) and a subject known to be valid UTF-8:
 * `.` matches one code point other than the newline, which must be LF
 * (pattern_relit_compile checks the library's build default); `^` is the
 * start of the subject; `$` its end or the position before a final LF. A
 * run of atoms consumes one code point per atom, so anchored at one end it
 * matches in at most one way, and the gap between A and B is then any run
 * of code points without LF, at least one for `.+`. Subjects longer than
 * RELIT_MAX_SUBJECT go to PCRE2, so that its match limit, which these
 * shapes cannot reach below that length, never decides an answer here.
 */
#include <string.h>

#include "pattern_int.h"

#define RELIT_MAX_SUBJECT 4096

/* ---------------------------------------------------------------- compile */

static bool is_quantifier(char c)
{
	return c == '?' || c == '*' || c == '+' || c == '{';
}

static bool is_meta(char c)
{
	return c == '^' || c == '$' || c == '[' || c == ']' || c == '(' || c == ')' ||
	       c == '{' || c == '}' || c == '|' || c == '?' || c == '*' || c == '+' || c == 0;
}

static size_t utf8_seq_len(unsigned char b)
{
	return b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 0;
}

/* The placements a run of atoms can take are fixed only for these shapes;
 * the others go to PCRE2. */
static bool relit_shape(const pat_relit *r)
{
	if (!r->gap) {
		if (r->anchor_start || r->anchor_end)
			return true;
		/* a plain substring search: one literal segment at most */
		return r->na == 0 || (r->na == 1 && r->a[0].len > 0);
	}
	if (r->anchor_start && r->anchor_end)
		return true;
	if (r->anchor_start) /* ^A.+ : nothing after the gap */
		return r->nb == 0;
	return r->anchor_end && r->na == 0; /* .+B$ */
}

/* Appends one atom: `len` literal bytes, or (lit NULL) a `.`. Literal bytes
 * extend the last segment when it is literal and in the current run. */
static void push(pat_relit_seg *segs, size_t *nseg, size_t run0, char *bytes, size_t *nbytes,
		 const char *lit, size_t len)
{
	if (!lit) {
		segs[(*nseg)++] = (pat_relit_seg){ (uint32_t)*nbytes, 0 };
		return;
	}
	if (*nseg == run0 || segs[*nseg - 1].len == 0)
		segs[(*nseg)++] = (pat_relit_seg){ (uint32_t)*nbytes, 0 };
	memcpy(bytes + *nbytes, lit, len);
	*nbytes += len;
	segs[*nseg - 1].len += (uint32_t)len;
}

bool pattern_relit_compile(const char *re, size_t n, char *bytes, pat_relit_seg *segs,
			   pat_relit *out)
{
	uint32_t nl = 0;
	size_t i = 0, nseg = 0, nbytes = 0, run0 = 0;
	bool in_b = false;

	memset(out, 0, sizeof *out);
	if (n > UINT32_MAX || pcre2_config(PCRE2_CONFIG_NEWLINE, &nl) < 0 ||
	    nl != PCRE2_NEWLINE_LF)
		return false;
	out->bytes = bytes;
	out->a = segs;
	if (i < n && re[i] == '^') {
		out->anchor_start = true;
		i++;
	}
	while (i < n) {
		char c = re[i];
		size_t len = 1;
		const char *lit = &re[i];
		if (c == '$') {
			if (i + 1 != n)
				return false;
			out->anchor_end = true;
			break;
		}
		if (c == '.') {
			char q = i + 1 < n ? re[i + 1] : 0;
			if (q == '+' || q == '*') {
				if (in_b || (i + 2 < n && is_quantifier(re[i + 2])))
					return false;
				out->gap = q == '+' ? 2 : 1;
				out->na = nseg;
				out->b = segs + nseg;
				run0 = nseg;
				in_b = true;
				i += 2;
				continue;
			}
			if (is_quantifier(q))
				return false;
			push(segs, &nseg, run0, bytes, &nbytes, NULL, 0);
			i++;
			continue;
		}
		if (c == '\\') {
			unsigned char x = i + 1 < n ? (unsigned char)re[i + 1] : 0;
			/* only ASCII punctuation escapes to itself */
			if (!x || x >= 0x80 || (x >= '0' && x <= '9') || (x >= 'a' && x <= 'z') ||
			    (x >= 'A' && x <= 'Z'))
				return false;
			lit = &re[i + 1];
			i += 2;
		} else if (is_meta(c)) {
			return false;
		} else if ((unsigned char)c >= 0x80) {
			len = utf8_seq_len((unsigned char)c);
			if (!len || i + len > n)
				return false;
			i += len;
		} else {
			i++;
		}
		if (i < n && is_quantifier(re[i]))
			return false;
		push(segs, &nseg, run0, bytes, &nbytes, lit, len);
	}
	if (in_b)
		out->nb = nseg - out->na;
	else
		out->na = nseg;
	return relit_shape(out);
}

/* ---------------------------------------------------------------- match */

/* Segments g[0..ng) forward from byte p of s; the end, or (size_t)-1. */
static size_t run_forward(const pat_relit *r, const pat_relit_seg *g, size_t ng,
			  const unsigned char *s, size_t n, size_t p)
{
	for (size_t k = 0; k < ng; k++) {
		if (g[k].len == 0) {
			if (p >= n || s[p] == '\n')
				return (size_t)-1;
			p++;
			while (p < n && (s[p] & 0xc0) == 0x80)
				p++;
		} else {
			if (n - p < g[k].len || memcmp(s + p, r->bytes + g[k].off, g[k].len) != 0)
				return (size_t)-1;
			p += g[k].len;
		}
	}
	return p;
}

/* Segments g[0..ng) backward, ending at byte e of s; their start, or
 * (size_t)-1. */
static size_t run_backward(const pat_relit *r, const pat_relit_seg *g, size_t ng,
			   const unsigned char *s, size_t e)
{
	for (size_t k = ng; k-- > 0;) {
		if (g[k].len == 0) {
			if (e == 0)
				return (size_t)-1;
			e--;
			while (e > 0 && (s[e] & 0xc0) == 0x80)
				e--;
			if (s[e] == '\n')
				return (size_t)-1;
		} else {
			if (e < g[k].len ||
			    memcmp(s + e - g[k].len, r->bytes + g[k].off, g[k].len) != 0)
				return (size_t)-1;
			e -= g[k].len;
		}
	}
	return e;
}

/* The gap s[x..y): at least `min` bytes (then at least as many code points,
 * x and y being boundaries) and no LF. */
static bool gap_ok(const unsigned char *s, size_t x, size_t y, size_t min)
{
	return y >= x && y - x >= min && !memchr(s + x, '\n', y - x);
}

int pattern_relit_match(const pat_relit *r, const char *subject, size_t n)
{
	const unsigned char *s = (const unsigned char *)subject;
	size_t ends[2], nends = 0, x = 0;

	if (n > RELIT_MAX_SUBJECT)
		return -1;
	ends[nends++] = n;
	if (n > 0 && s[n - 1] == '\n')
		ends[nends++] = n - 1;
	if (r->anchor_start && (x = run_forward(r, r->a, r->na, s, n, 0)) == (size_t)-1)
		return 0;
	if (!r->gap) {
		if (r->anchor_start) {
			if (!r->anchor_end)
				return 1;
			for (size_t k = 0; k < nends; k++)
				if (x == ends[k])
					return 1;
			return 0;
		}
		if (r->anchor_end) {
			for (size_t k = 0; k < nends; k++)
				if (run_backward(r, r->a, r->na, s, ends[k]) != (size_t)-1)
					return 1;
			return 0;
		}
		/* a literal anywhere (relit_shape: one segment at most) */
		if (r->na == 0)
			return 1;
		for (size_t p = 0; n - p >= r->a[0].len; p++)
			if (run_forward(r, r->a, 1, s, n, p) != (size_t)-1)
				return 1;
		return 0;
	}
	size_t min = r->gap == 2 ? 1 : 0;
	if (!r->anchor_end) /* ^A.+ : one code point after A that is not LF */
		return !min || (x < n && s[x] != '\n');
	for (size_t k = 0; k < nends; k++) {
		size_t y = run_backward(r, r->b, r->nb, s, ends[k]);
		if (y == (size_t)-1)
			continue;
		if (r->anchor_start) {
			if (gap_ok(s, x, y, min))
				return 1;
		} else if (!min || (y > 0 && s[y - 1] != '\n')) {
			/* .+B$ : the match may start one code point before B */
			return 1;
		}
	}
	return 0;
}
