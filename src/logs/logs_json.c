/*
 * logs_json.c: a scanner for one JSON object per line, for Zeek JSON and
 * Suricata EVE logs.
 *
 * It checks the line's JSON grammar (RFC 8259) and keeps, while it walks,
 * the dotted path of keys down to the current value (array levels add
 * nothing, so "dns.answers[3].rdata" is "dns.answers.rdata"). A string
 * whose path is in the field table (logs_parse.c) is unescaped in place,
 * which only ever shortens it, and classified; every other value is only
 * stepped over. There is no tree and no allocation: the path lives in a
 * fixed buffer on the stack and nesting is bounded by LOGS_JSON_DEPTH, a
 * deeper line being an error. A key longer than the path buffer makes the
 * path unmatchable below it rather than truncated, so it never matches a
 * wrong row. The observables of a line that turns out malformed are
 * dropped by the caller. One key means two things: "host" is Zeek http's
 * Host header but the sensor's name in EVE, so it counts only in a line
 * without "event_type".
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "logs_int.h"

#define LOGS_JSON_DEPTH 32
#define LOGS_JSON_PATH 128

typedef struct jscan {
	logs_reader *r;
	char *p, *end;
	char path[LOGS_JSON_PATH];
	size_t plen;  /* SIZE_MAX: unmatchable */
	int64_t *ts;
	int *has_ts;
	/* Zeek's http "host" is also EVE's top-level sensor name: held back
	 * until the line is known to be Zeek (no "event_type") */
	char *host;
	size_t host_len;
	int eve;
} jscan;

static void ws(jscan *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' ||
				 *j->p == '\n'))
		j->p++;
}

static int hexv(int c)
{
	return rk_hex_value((char)c);
}

/* The first byte at or after p (before end) that ends a run of plain
 * string bytes: '"', '\\' or a control character; end if none. Sixteen
 * bytes a step where SSE2 is there. */
static char *plain_run(char *p, char *end)
{
#ifdef __SSE2__
	const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\');
	const __m128i c = _mm_set1_epi8(0x1f);
	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		/* control: v <= 0x1f unsigned, i.e. min(v, 0x1f) == v */
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q),
						      _mm_cmpeq_epi8(v, b)),
					 _mm_cmpeq_epi8(_mm_min_epu8(v, c), v));
		unsigned bits = (unsigned)_mm_movemask_epi8(m);
		if (bits)
			return p + __builtin_ctz(bits);
		p += 16;
	}
#endif
	while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
		p++;
	return p;
}

/* At an opening quote: finds the closing one. *s and *n are the raw content,
 * *esc whether it has escapes. Checks escapes and control characters. */
static int string_span(jscan *j, char **s, size_t *n, int *esc)
{
	char *p = ++j->p;
	*esc = 0;
	for (;;) {
		/* fast path over plain bytes */
		p = plain_run(p, j->end);
		if (p >= j->end || (unsigned char)*p < 0x20)
			return -1;
		if (*p == '"')
			break;
		*esc = 1;
		if (p + 1 >= j->end)
			return -1;
		switch (p[1]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n':
		case 'r': case 't':
			p += 2;
			break;
		case 'u':
			if (j->end - p < 6 || hexv(p[2]) < 0 || hexv(p[3]) < 0 ||
			    hexv(p[4]) < 0 || hexv(p[5]) < 0)
				return -1;
			p += 6;
			break;
		default:
			return -1;
		}
	}
	*s = j->p;
	*n = (size_t)(p - j->p);
	j->p = p + 1;
	return 0;
}

static unsigned hex4(const char *p)
{
	return (unsigned)(hexv(p[0]) << 12 | hexv(p[1]) << 8 | hexv(p[2]) << 4 |
			  hexv(p[3]));
}

/* Unescapes a string that string_span accepted, in place. */
static size_t unescape(char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			s[o++] = s[i];
			continue;
		}
		char c = s[++i];
		switch (c) {
		case 'b': s[o++] = '\b'; break;
		case 'f': s[o++] = '\f'; break;
		case 'n': s[o++] = '\n'; break;
		case 'r': s[o++] = '\r'; break;
		case 't': s[o++] = '\t'; break;
		case 'u': {
			unsigned cp = hex4(s + i + 1);
			i += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && i + 6 < n &&
			    s[i + 1] == '\\' && s[i + 2] == 'u') {
				unsigned lo = hex4(s + i + 3);
				if (lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					i += 6;
				}
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd; /* a lone surrogate */
			/* the UTF-8 form is never longer than the escape */
			if (cp < 0x80) {
				s[o++] = (char)cp;
			} else if (cp < 0x800) {
				s[o++] = (char)(0xc0 | cp >> 6);
				s[o++] = (char)(0x80 | (cp & 0x3f));
			} else if (cp < 0x10000) {
				s[o++] = (char)(0xe0 | cp >> 12);
				s[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				s[o++] = (char)(0x80 | (cp & 0x3f));
			} else {
				s[o++] = (char)(0xf0 | cp >> 18);
				s[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
				s[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				s[o++] = (char)(0x80 | (cp & 0x3f));
			}
			break;
		}
		default: s[o++] = c; break; /* " \ / */
		}
	}
	return o;
}

static int value(jscan *j, int depth);

static int number(jscan *j, char **s, size_t *n)
{
	char *p = j->p;
	if (p < j->end && *p == '-')
		p++;
	if (p >= j->end || *p < '0' || *p > '9')
		return -1;
	if (*p == '0')
		p++;
	else
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	if (p < j->end && *p == '.') {
		p++;
		if (p >= j->end || *p < '0' || *p > '9')
			return -1;
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < j->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < j->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= j->end || *p < '0' || *p > '9')
			return -1;
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	}
	*s = j->p;
	*n = (size_t)(p - j->p);
	j->p = p;
	return 0;
}

static int literal(jscan *j, const char *w, size_t n)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

static int object(jscan *j, int depth)
{
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return 0;
	}
	size_t saved = j->plen;
	for (;;) {
		char *k;
		size_t kn;
		int esc;
		ws(j);
		if (j->p >= j->end || *j->p != '"' || string_span(j, &k, &kn, &esc) < 0)
			return -1;
		ws(j);
		if (j->p >= j->end || *j->p != ':')
			return -1;
		j->p++;
		/* path = saved + "." + key */
		if (saved == SIZE_MAX || esc ||
		    saved + (saved ? 1 : 0) + kn > sizeof(j->path)) {
			j->plen = SIZE_MAX;
		} else {
			size_t o = saved;
			if (o)
				j->path[o++] = '.';
			memcpy(j->path + o, k, kn);
			j->plen = o + kn;
		}
		if (value(j, depth) < 0)
			return -1;
		j->plen = saved;
		ws(j);
		if (j->p >= j->end)
			return -1;
		if (*j->p == '}') {
			j->p++;
			return 0;
		}
		if (*j->p != ',')
			return -1;
		j->p++;
	}
}

static int array(jscan *j, int depth)
{
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return 0;
	}
	for (;;) {
		if (value(j, depth) < 0)
			return -1;
		ws(j);
		if (j->p >= j->end)
			return -1;
		if (*j->p == ']') {
			j->p++;
			return 0;
		}
		if (*j->p != ',')
			return -1;
		j->p++;
	}
}

static int value(jscan *j, int depth)
{
	char *s;
	size_t n;
	int esc, k;
	ws(j);
	if (j->p >= j->end)
		return -1;
	switch (*j->p) {
	case '{':
		if (depth >= LOGS_JSON_DEPTH)
			return -1;
		return object(j, depth + 1);
	case '[':
		if (depth >= LOGS_JSON_DEPTH)
			return -1;
		return array(j, depth + 1);
	case '"':
		if (string_span(j, &s, &n, &esc) < 0)
			return -1;
		if (j->plen == 10 && memcmp(j->path, "event_type", 10) == 0)
			j->eve = 1;
		if (j->plen == SIZE_MAX || (k = logs_key_find(j->path, j->plen)) < 0)
			return 0;
		if (esc)
			n = unescape(s, n);
		if (j->plen == 4 && memcmp(j->path, "host", 4) == 0) {
			j->host = s;
			j->host_len = n;
		} else if (logs_key_get(k)->mode == LOGS_M_TS)
			*j->has_ts = logs_parse_ts(s, n, j->ts);
		else
			logs_emit_value(j->r, k, s, n);
		return 0;
	case 't':
		return literal(j, "true", 4);
	case 'f':
		return literal(j, "false", 5);
	case 'n':
		return literal(j, "null", 4);
	default:
		if (number(j, &s, &n) < 0)
			return -1;
		/* Zeek JSON with epoch timestamps: "ts":1521911720.865716 */
		if (j->plen == 2 && memcmp(j->path, "ts", 2) == 0)
			*j->has_ts = logs_parse_ts(s, n, j->ts);
		return 0;
	}
}

int logs_json_line(logs_reader *r, char *line, size_t len, int64_t *ts,
		   int *has_ts)
{
	jscan j;
	j.r = r;
	j.p = line;
	j.end = line + len;
	j.plen = 0;
	j.ts = ts;
	j.has_ts = has_ts;
	j.host = NULL;
	j.host_len = 0;
	j.eve = 0;
	ws(&j);
	if (j.p >= j.end || *j.p != '{' || value(&j, 0) < 0)
		return -1;
	ws(&j);
	if (j.p != j.end)
		return -1;
	if (j.host && !j.eve)
		logs_emit_value(r, logs_key_find("host", 4), j.host, j.host_len);
	return 0;
}
