/*
 * logs_text.c: what a string is, and finding observables in free text.
 *
 * logs_classify decides for one whole value whether it is an IPv4 or IPv6
 * address, a hash (hex of length 32/40/64/128), an e-mail address, a URL
 * (scheme "://" rest) or a domain name (two or more labels of letters,
 * digits, '-' and '_', the last one not all digits). Free text is cut into
 * tokens at characters that never occur inside those (space, quotes,
 * brackets, ',', ';', '|', ...); a token is classified whole after its
 * trailing punctuation is dropped, so "evil.com" is never found inside
 * "notevil.community": word boundaries fall out of the tokenising, not of
 * a search. A URL token keeps everything up to the next delimiter.
 *
 * Also here: emitting into the reader's per-line queue, timestamps (Zeek's
 * epoch seconds, RFC 3339 as Zeek JSON and EVE write it) and the UTF-8
 * check. Nothing allocates.
 */
#include <arpa/inet.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "logs_int.h"

#define X_NAME(name, str) str,
static const char *const kind_names[] = {LOGS_KINDS(X_NAME)};
static const char *const field_names[] = {LOGS_FIELDS(X_NAME)};
#undef X_NAME

const char *logs_kind_name(logs_kind k)
{
	return (unsigned)k < LOGS_KIND_COUNT ? kind_names[k] : "?";
}

const char *logs_field_name(logs_field f)
{
	return (unsigned)f < LOGS_FIELD_COUNT ? field_names[f] : "?";
}

static int is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Character classes for the value checks, one table lookup a byte. */
enum { C_DIGIT = 1, C_ALPHA = 2, C_HYPHEN = 4, C_DOT = 8 };
static const unsigned char cls[256] = {
	['0'] = C_DIGIT, ['1'] = C_DIGIT, ['2'] = C_DIGIT, ['3'] = C_DIGIT,
	['4'] = C_DIGIT, ['5'] = C_DIGIT, ['6'] = C_DIGIT, ['7'] = C_DIGIT,
	['8'] = C_DIGIT, ['9'] = C_DIGIT,
	['a'] = C_ALPHA, ['b'] = C_ALPHA, ['c'] = C_ALPHA, ['d'] = C_ALPHA,
	['e'] = C_ALPHA, ['f'] = C_ALPHA, ['g'] = C_ALPHA, ['h'] = C_ALPHA,
	['i'] = C_ALPHA, ['j'] = C_ALPHA, ['k'] = C_ALPHA, ['l'] = C_ALPHA,
	['m'] = C_ALPHA, ['n'] = C_ALPHA, ['o'] = C_ALPHA, ['p'] = C_ALPHA,
	['q'] = C_ALPHA, ['r'] = C_ALPHA, ['s'] = C_ALPHA, ['t'] = C_ALPHA,
	['u'] = C_ALPHA, ['v'] = C_ALPHA, ['w'] = C_ALPHA, ['x'] = C_ALPHA,
	['y'] = C_ALPHA, ['z'] = C_ALPHA,
	['A'] = C_ALPHA, ['B'] = C_ALPHA, ['C'] = C_ALPHA, ['D'] = C_ALPHA,
	['E'] = C_ALPHA, ['F'] = C_ALPHA, ['G'] = C_ALPHA, ['H'] = C_ALPHA,
	['I'] = C_ALPHA, ['J'] = C_ALPHA, ['K'] = C_ALPHA, ['L'] = C_ALPHA,
	['M'] = C_ALPHA, ['N'] = C_ALPHA, ['O'] = C_ALPHA, ['P'] = C_ALPHA,
	['Q'] = C_ALPHA, ['R'] = C_ALPHA, ['S'] = C_ALPHA, ['T'] = C_ALPHA,
	['U'] = C_ALPHA, ['V'] = C_ALPHA, ['W'] = C_ALPHA, ['X'] = C_ALPHA,
	['Y'] = C_ALPHA, ['Z'] = C_ALPHA,
	['-'] = C_HYPHEN, ['_'] = C_HYPHEN, ['.'] = C_DOT,
};

#ifdef __SSE2__
/* The 16 bytes at s with those from len (at most 16) on zeroed: one load
 * when avail (bytes readable at s) allows it, else a copy. */
static __m128i load16_upto(const char *s, size_t len, size_t avail)
{
	static const unsigned char keep[32] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	__m128i v;
	if (avail >= 16) {
		v = _mm_loadu_si128((const __m128i *)(const void *)s);
	} else {
		char b[16] = {0};
		memcpy(b, s, len);
		v = _mm_loadu_si128((const __m128i *)(const void *)b);
	}
	return _mm_and_si128(v, _mm_loadu_si128((const __m128i *)(const void *)(keep + 16 - len)));
}
#endif

/*
 * Dotted quad without leading zeros (as inet_pton(AF_INET) reads it); the
 * address goes to out. This runs on most values of a connection or DNS
 * log, whose parts vary in length from value to value, so with SSE2 it
 * takes no branch that depends on them: the 16 bytes (zero-padded past
 * len) give a mask of digits and one of dots, the rules are checks on the
 * masks (every byte one or the other, exactly three dots, no empty part,
 * no run of four digits, no '0' starting a part of two digits or more),
 * and each part's value is read from where it ends: its last three bytes
 * as digit values, dots counting 0, so a part of one or two digits needs
 * no case of its own (only the third byte back is masked off, which for a
 * one-digit part is the previous part's). The address is gathered in a
 * register and stored once, so the caller's four-byte load of it is
 * forwarded from one store rather than stalling on four.
 */
#ifdef __SSE2__
int logs_is_ipv4_at(const char *s, size_t len, size_t avail, uint8_t out[4])
{
	if (len < 7 || len > 15)
		return 0;
	__m128i v = load16_upto(s, len, avail);
	__m128i dg = _mm_sub_epi8(v, _mm_set1_epi8('0'));
	__m128i isd = _mm_and_si128(_mm_cmpgt_epi8(dg, _mm_set1_epi8(-1)),
				    _mm_cmplt_epi8(dg, _mm_set1_epi8(10)));
	unsigned digits = (unsigned)_mm_movemask_epi8(isd);
	unsigned dots = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')));
	unsigned zeros = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('0')));
	unsigned d1 = dots & (dots - 1), d2 = d1 & (d1 - 1);
	if ((digits | dots) != (1u << len) - 1 || !d2 || (d2 & (d2 - 1)))
		return 0; /* a byte neither digit nor dot, or not three dots */
	if ((dots & 1) || (dots >> (len - 1)) || (dots & (dots >> 1)))
		return 0; /* an empty part */
	if (digits & digits >> 1 & digits >> 2 & digits >> 3)
		return 0; /* a part of four digits or more */
	if (zeros & ((dots << 1) | 1) & (digits >> 1))
		return 0; /* a leading zero */
	/* t[2 + i]: the digit value of byte i, 0 for a dot and past len */
	unsigned char t[18];
	t[0] = t[1] = 0;
	_mm_storeu_si128((__m128i *)(void *)(t + 2), _mm_and_si128(dg, isd));
	unsigned e0 = (unsigned)__builtin_ctz(dots), e1 = (unsigned)__builtin_ctz(d1);
	unsigned e2 = (unsigned)__builtin_ctz(d2), e3 = (unsigned)len;
	/* a part ending at end (a dot, or len) that starts at start */
#define PART(end, start) \
	(t[(end) + 1] + 10u * t[(end)] + ((end) - (start) == 3 ? 100u : 0u) * t[(end) - 1])
	unsigned n0 = PART(e0, 0), n1 = PART(e1, e0 + 1), n2 = PART(e2, e1 + 1),
		 n3 = PART(e3, e2 + 1);
#undef PART
	uint32_t over = n0 | n1 | n2 | n3;
	uint32_t word = (n0 & 0xFF) << 24 | (n1 & 0xFF) << 16 | (n2 & 0xFF) << 8 | (n3 & 0xFF);
	if (over > 255)
		return 0;
	word = htonl(word);
	memcpy(out, &word, 4);
	return 1;
}
#else
int logs_is_ipv4_at(const char *s, size_t len, size_t avail, uint8_t out[4])
{
	unsigned char b[32];
	uint32_t word = 0;
	(void)avail;
	if (len < 7 || len > 15)
		return 0;
	memset(b, 0, sizeof b);
	memcpy(b, s, len);
	const unsigned char *p = b; /* zero-padded: a NUL is neither digit nor dot */
	for (int part = 0; part < 4; part++) {
		unsigned v = (unsigned)p[0] - '0', d;
		if (v > 9)
			return 0;
		if ((d = (unsigned)p[1] - '0') <= 9) {
			if (v == 0)
				return 0; /* a leading zero */
			v = v * 10 + d;
			if ((d = (unsigned)p[2] - '0') <= 9) {
				v = v * 10 + d;
				if (v > 255)
					return 0;
				p += 3;
			} else {
				p += 2;
			}
		} else {
			p += 1;
		}
		word = word << 8 | v;
		if (part < 3) {
			if (*p != '.')
				return 0;
			p++;
		}
	}
	word = htonl(word);
	memcpy(out, &word, 4);
	return (size_t)(p - b) == len;
}
#endif

int logs_is_ipv4(const char *s, size_t len, uint8_t out[4])
{
	return logs_is_ipv4_at(s, len, len, out);
}

static int is_ipv6(const char *s, size_t len, uint8_t out[16])
{
	char tmp[INET6_ADDRSTRLEN + 1];
	if (len < 2 || len > INET6_ADDRSTRLEN || !memchr(s, ':', len))
		return 0;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET6, tmp, out) == 1;
}

static int is_domain_scalar(const char *s, size_t len)
{
	size_t labels = 0, lab = 0, last = 0;
	unsigned alpha = 0, last_alpha = 0;
	if (len < 3 || len > 253)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned c = cls[(unsigned char)s[i]];
		if (c == C_DOT) {
			if (lab == 0 || lab > 63 || s[i - 1] == '-' || s[i - lab] == '-')
				return 0;
			labels++;
			last = lab;
			last_alpha = alpha;
			lab = 0;
			alpha = 0;
			continue;
		}
		if (!c)
			return 0;
		alpha |= c & C_ALPHA;
		lab++;
	}
	if (lab > 0) {
		/* the last label; a name ending in '.' is fully qualified */
		if (lab > 63 || s[len - 1] == '-' || s[len - lab] == '-')
			return 0;
		labels++;
		last = lab;
		last_alpha = alpha;
	}
	return labels >= 2 && last_alpha && last >= 2;
}

/* A domain name of at most 32 bytes, its 32 bytes looked at together: a
 * mask each of dots, hyphens, letters and bytes that may be in a name,
 * then the rules of is_domain_scalar on the masks. */
#ifdef __SSE2__
static unsigned domain_class_mask(__m128i v, unsigned *dot, unsigned *hyphen, unsigned *alpha)
{
	__m128i lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
	__m128i la = _mm_sub_epi8(lower, _mm_set1_epi8('a'));
	__m128i dg = _mm_sub_epi8(v, _mm_set1_epi8('0'));
	__m128i isa = _mm_and_si128(_mm_cmpgt_epi8(la, _mm_set1_epi8(-1)),
				    _mm_cmplt_epi8(la, _mm_set1_epi8(26)));
	__m128i isd = _mm_and_si128(_mm_cmpgt_epi8(dg, _mm_set1_epi8(-1)),
				    _mm_cmplt_epi8(dg, _mm_set1_epi8(10)));
	__m128i dt = _mm_cmpeq_epi8(v, _mm_set1_epi8('.'));
	__m128i hy = _mm_cmpeq_epi8(v, _mm_set1_epi8('-'));
	__m128i us = _mm_cmpeq_epi8(v, _mm_set1_epi8('_'));
	*dot = (unsigned)_mm_movemask_epi8(dt);
	*hyphen = (unsigned)_mm_movemask_epi8(hy);
	*alpha = (unsigned)_mm_movemask_epi8(isa);
	return (unsigned)_mm_movemask_epi8(
		_mm_or_si128(_mm_or_si128(isa, isd), _mm_or_si128(_mm_or_si128(dt, hy), us)));
}

static int is_domain_short(const char *s, size_t len, size_t avail)
{
	unsigned dot, hy, alpha, dot2 = 0, hy2 = 0, alpha2 = 0, ok2 = 0;
	size_t n1 = len < 16 ? len : 16;
	unsigned ok = domain_class_mask(load16_upto(s, n1, avail), &dot, &hy, &alpha);
	if (len > 16)
		ok2 = domain_class_mask(load16_upto(s + 16, len - 16, avail - 16), &dot2, &hy2,
					&alpha2);
	ok |= ok2 << 16;
	dot |= dot2 << 16;
	hy |= hy2 << 16;
	alpha |= alpha2 << 16;
	uint32_t in = len == 32 ? 0xffffffffu : ((uint32_t)1 << len) - 1;
	if ((ok & in) != in)
		return 0; /* a byte that is in no name */
	if ((dot & 1) || (dot & (dot >> 1)))
		return 0; /* an empty label */
	size_t end = len; /* a name ending in '.' is fully qualified */
	if (dot >> (len - 1) & 1) {
		end = len - 1;
		dot &= ~((uint32_t)1 << end);
	}
	if (!dot)
		return 0; /* one label */
	uint32_t in_end = end == 32 ? 0xffffffffu : ((uint32_t)1 << end) - 1;
	uint32_t starts = ((dot << 1) | 1) & in_end;
	uint32_t ends = ((dot >> 1) | ((uint32_t)1 << (end - 1))) & in_end;
	if ((starts | ends) & hy)
		return 0; /* a label that starts or ends with '-' */
	unsigned last_dot = 31u - (unsigned)__builtin_clz(dot);
	uint32_t last = in_end & ~(((uint32_t)2 << last_dot) - 1);
	return end - last_dot - 1 >= 2 && (alpha & last);
}
#endif

int logs_is_domain_at(const char *s, size_t len, size_t avail)
{
#ifdef __SSE2__
	if (len >= 3 && len <= 32)
		return is_domain_short(s, len, avail);
#else
	(void)avail;
#endif
	return is_domain_scalar(s, len);
}

int logs_is_domain(const char *s, size_t len)
{
	return logs_is_domain_at(s, len, len);
}

static int is_email(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	if (!at || at == s)
		return 0;
	for (const char *p = s; p < at; p++) {
		int c = (unsigned char)*p;
		if (!is_alpha(c) && !is_digit(c) && !strchr(".!#$%&'*+/=?^_`{|}~-", c))
			return 0;
	}
	if (*s == '.' || at[-1] == '.')
		return 0;
	return logs_is_domain(at + 1, len - (size_t)(at + 1 - s));
}

static int is_url(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && (is_alpha(s[i]) || (i && (is_digit(s[i]) || s[i] == '+' ||
						   s[i] == '-' || s[i] == '.'))))
		i++;
	return i >= 2 && i + 3 < len && memcmp(s + i, "://", 3) == 0;
}

int logs_classify_addr(const char *s, size_t len, uint8_t addr[16])
{
	if (len == 0)
		return -1;
	if (len == 32 || len == 40 || len == 64 || len == 128) {
		size_t i = 0;
		while (i < len && is_hex(s[i]))
			i++;
		if (i == len)
			return len == 32 ? LOGS_KIND_MD5 : len == 40 ? LOGS_KIND_SHA1
				: len == 64 ? LOGS_KIND_SHA256 : LOGS_KIND_SHA512;
	}
	if (is_digit(s[0]) && logs_is_ipv4(s, len, addr))
		return LOGS_KIND_IPV4;
	/* A domain has neither ':' nor '@', so trying it first (the common
	 * case) decides the same as looking for those first. */
	if (logs_is_domain(s, len))
		return LOGS_KIND_DOMAIN;
	if (memchr(s, ':', len)) {
		if (is_ipv6(s, len, addr))
			return LOGS_KIND_IPV6;
		return is_url(s, len) ? LOGS_KIND_URL : -1;
	}
	if (memchr(s, '@', len))
		return is_email(s, len) ? LOGS_KIND_EMAIL : -1;
	return -1;
}

int logs_classify(const char *s, size_t len)
{
	uint8_t addr[16];
	return logs_classify_addr(s, len, addr);
}

/* ------------------------------------------------------------ emitting */

void logs_flush(logs_reader *r, int64_t ts, int has_ts)
{
	logs_obs o;
	o.file = r->file;
	o.line = r->line;
	o.ts_us = has_ts ? ts : 0;
	o.has_ts = has_ts;
	o.ts_text = has_ts ? NULL : r->ts_text;
	o.ts_len = r->ts_len;
	for (int i = 0; i < r->nq && !r->stopped; i++) {
		o.kind = (logs_kind)r->q[i].kind;
		o.field = (logs_field)r->q[i].field;
		o.val = r->q[i].val;
		o.len = r->q[i].len;
		/* copied as logs_emit stored it, so the loads meet whole stores */
		if (o.kind == LOGS_KIND_IPV4) {
			memcpy(o.addr, r->q[i].addr, 4);
			memset(o.addr + 4, 0, 12);
		} else if (o.kind == LOGS_KIND_IPV6) {
			memcpy(o.addr, r->q[i].addr, 16);
		}
		r->stats.observables++;
		if (r->on_obs && r->on_obs(&o, r->arg))
			r->stopped = 1;
	}
	r->nq = 0;
}

int logs_obs_time(const logs_obs *o, int64_t *us)
{
	if (o->has_ts) {
		*us = o->ts_us;
		return 1;
	}
	return o->ts_text && logs_parse_ts(o->ts_text, o->ts_len, us);
}

/* A distinguished name, as Zeek ("CN=a,O=b\\, c") or Suricata ("C=US, CN=a")
 * write it: emit the CN as a host and emailAddress as an e-mail. */
static void emit_subject(logs_reader *r, logs_field f, const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == ','))
			i++;
		size_t st = i;
		while (i < len && s[i] != ',') {
			if (s[i] == '\\' && i + 1 < len)
				i++;
			i++;
		}
		const char *c = s + st;
		size_t n = i - st;
		if (n > 3 && memcmp(c, "CN=", 3) == 0) {
			c += 3, n -= 3;
			if (n > 2 && c[0] == '*' && c[1] == '.')
				c += 2, n -= 2;
			uint8_t a[16];
			int k = logs_classify_addr(c, n, a);
			if (k == LOGS_KIND_DOMAIN || k == LOGS_KIND_IPV4 || k == LOGS_KIND_IPV6)
				logs_emit(r, (logs_kind)k, f, c, n, a);
		} else if (n > 13 && memcmp(c, "emailAddress=", 13) == 0) {
			if (logs_classify(c + 13, n - 13) == LOGS_KIND_EMAIL)
				logs_emit(r, LOGS_KIND_EMAIL, f, c + 13, n - 13, NULL);
		}
	}
}

/* A certificate's fingerprint: 40 or 64 hex digits, either plain or as
 * bytes joined by colons; its kind, or -1. */
static int cert_kind(const char *s, size_t len)
{
	size_t digits = 0;
	bool colons = len > 2 && s[2] == ':';

	for (size_t i = 0; i < len; i++) {
		if (colons && i % 3 == 2) {
			if (s[i] != ':')
				return -1;
		} else if (is_hex(s[i])) {
			digits++;
		} else {
			return -1;
		}
	}
	if (colons && len % 3 != 2)
		return -1;
	return digits == 40 ? LOGS_KIND_X509_SHA1 : digits == 64 ? LOGS_KIND_X509_SHA256 : -1;
}

void logs_emit_value(logs_reader *r, int key, char *v, size_t len)
{
	const logs_key *k = logs_key_get(key);
	logs_field f = (logs_field)k->field;
	uint8_t addr[16];
	int c;
	if (len == 0)
		return;
	switch (k->mode) {
	case LOGS_M_URI:
		logs_emit(r, LOGS_KIND_URL, f, v, len, NULL);
		return;
	case LOGS_M_UA:
		logs_emit(r, LOGS_KIND_UA, f, v, len, NULL);
		return;
	case LOGS_M_SUBJECT:
		emit_subject(r, f, v, len);
		return;
	case LOGS_M_TS:
		return;
	case LOGS_M_CERT:
		if ((c = cert_kind(v, len)) >= 0)
			logs_emit(r, (logs_kind)c, f, v, len, NULL);
		return;
	default:
		break;
	}
	c = logs_classify_addr(v, len, addr);
	switch (k->mode) {
	case LOGS_M_ADDR:
		if (c != LOGS_KIND_IPV4 && c != LOGS_KIND_IPV6)
			return;
		break;
	case LOGS_M_HOST:
		if (c != LOGS_KIND_IPV4 && c != LOGS_KIND_IPV6 && c != LOGS_KIND_DOMAIN)
			return;
		break;
	case LOGS_M_HASH:
		if (c < LOGS_KIND_MD5 || c > LOGS_KIND_SHA512)
			return;
		break;
	case LOGS_M_EMAIL:
		if (c != LOGS_KIND_EMAIL)
			return;
		break;
	case LOGS_M_URL:
		if (c != LOGS_KIND_URL)
			return;
		break;
	default:
		return;
	}
	logs_emit(r, (logs_kind)c, f, v, len, addr);
}

/* ------------------------------------------------------------ free text */

static int is_delim(int c)
{
	return c <= ' ' || c == '"' || c == '\'' || c == '<' || c == '>' ||
	       c == '(' || c == ')' || c == '[' || c == ']' || c == '{' ||
	       c == '}' || c == ',' || c == ';' || c == '|' || c == '`' ||
	       c == '\\' || c == 0x7f;
}

static int is_trail(int c)
{
	return c == '.' || c == ':' || c == '!' || c == '?' || c == '=' ||
	       c == '-' || c == '/' || c == '*';
}

void logs_text_line(logs_reader *r, char *line, size_t len)
{
	size_t i = 0;
	while (i < len) {
		while (i < len && is_delim((unsigned char)line[i]))
			i++;
		size_t st = i;
		while (i < len && !is_delim((unsigned char)line[i]))
			i++;
		const char *t = line + st;
		size_t n = i - st;
		/* a URL anywhere in the token starts at its scheme */
		const char *u = NULL;
		for (size_t j = 0; j + 3 < n; j++)
			if (t[j] == ':' && t[j + 1] == '/' && t[j + 2] == '/') {
				size_t b = j;
				while (b > 0 && is_alpha(t[b - 1]))
					b--;
				if (b < j)
					u = t + b;
				break;
			}
		if (u) {
			size_t un = n - (size_t)(u - t);
			while (un > 0 && (u[un - 1] == '.' || u[un - 1] == ':'))
				un--;
			if (is_url(u, un))
				logs_emit(r, LOGS_KIND_URL, LOGS_FIELD_TEXT, u, un, NULL);
			continue;
		}
		while (n > 0 && is_trail((unsigned char)t[n - 1]))
			n--;
		while (n > 0 && (t[0] == '.' || t[0] == ':' || t[0] == '=') &&
		       !(n > 2 && t[0] == ':' && t[1] == ':'))
			t++, n--;
		/* key=value: the value */
		const char *eq = memchr(t, '=', n);
		if (eq) {
			n -= (size_t)(eq + 1 - t);
			t = eq + 1;
		}
		if (n < 3)
			continue;
		uint8_t a[16];
		int c = logs_classify_addr(t, n, a);
		if (c < 0) {
			/* host:port */
			const char *colon = memchr(t, ':', n);
			if (colon && !memchr(colon + 1, ':', n - (size_t)(colon + 1 - t))) {
				size_t hn = (size_t)(colon - t);
				c = logs_classify_addr(t, hn, a);
				if (c == LOGS_KIND_IPV4 || c == LOGS_KIND_DOMAIN)
					n = hn;
				else
					c = -1;
			}
		}
		if (c >= 0)
			logs_emit(r, (logs_kind)c, LOGS_FIELD_TEXT, t, n, a);
	}
}

/* ------------------------------------------------------------ time, UTF-8 */


static int digits(const char *s, size_t n, unsigned *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return 0;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return 1;
}

/* Eight ASCII digits at s as a number, or -1 when one is not a digit.
 * SWAR: each byte's high nibble must be 3 and adding 6 must keep it 3;
 * then the digits are paired, paired again and again. */
static int64_t digits8(const char *s)
{
	uint64_t v;
	memcpy(&v, s, 8);
	if (((v & 0xf0f0f0f0f0f0f0f0ull) |
	     (((v + 0x0606060606060606ull) & 0xf0f0f0f0f0f0f0f0ull) >> 4)) !=
	    0x3333333333333333ull)
		return -1;
	v -= 0x3030303030303030ull; /* little-endian: s[0] in the low byte */
	v = (v * 10 + (v >> 8)) & 0x00ff00ff00ff00ffull;
	v = (v * 100 + (v >> 16)) & 0x0000ffff0000ffffull;
	v = (v * 10000 + (v >> 32)) & 0xffffffffull;
	return (int64_t)v;
}

/* "1521911720.865716" or "2018-03-24T17:15:20.865716Z" / "...+0000". */
int logs_parse_ts(const char *s, size_t len, int64_t *us)
{
	size_t i = 0;
	int64_t sec = 0, frac = 0;
	unsigned fd = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (len == 17 && s[10] == '.') {
		/* what Zeek writes: ten digits, a point, six digits; the
		 * fraction is read as "00" + its six digits */
		uint64_t f;
		memcpy(&f, s + 9, 8);
		f = (f & ~0xffffull) | 0x3030u;
		char fb[8];
		memcpy(fb, &f, 8);
		int64_t hi = digits8(s), lo = digits8(fb);
		unsigned d8 = (unsigned)(s[8] - '0'), d9 = (unsigned)(s[9] - '0');
		if (hi >= 0 && lo >= 0 && d8 <= 9 && d9 <= 9) {
			*us = (hi * 100 + d8 * 10 + d9) * 1000000 + lo;
			return 1;
		}
	}
#endif
	if (len >= 19 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' ')) {
		unsigned y, mo, d, h, mi, se;
		if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
		    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
		    !digits(s + 17, 2, &se) || mo < 1 || mo > 12 || d < 1 || d > 31 ||
		    h > 23 || mi > 59 || se > 60)
			return 0;
		sec = rk_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
		i = 19;
	} else {
		size_t st = i;
		while (i < len && is_digit(s[i]) && i - st < 12)
			sec = sec * 10 + (s[i++] - '0');
		if (i == st)
			return 0;
	}
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && is_digit(s[i])) {
			if (fd < 6)
				frac = frac * 10 + (s[i] - '0'), fd++;
			i++;
		}
	}
	while (fd < 6)
		frac *= 10, fd++;
	/* zone: Z, +hhmm, +hh:mm */
	if (i < len && (s[i] == '+' || s[i] == '-') && len - i >= 5) {
		unsigned zh, zm;
		int sign = s[i] == '-' ? -1 : 1;
		size_t m = s[i + 3] == ':' ? 4 : 3;
		if (!digits(s + i + 1, 2, &zh) || i + m + 2 > len ||
		    !digits(s + i + m, 2, &zm))
			return 0;
		sec -= sign * (int64_t)(zh * 3600 + zm * 60);
	}
	*us = sec * 1000000 + frac;
	return 1;
}

int logs_utf8_ok(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		/* ASCII runs eight bytes at a time */
		while (i + 8 <= len) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (w & 0x8080808080808080ull)
				break;
			i += 8;
		}
		if (i >= len)
			break;
		unsigned c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t n;
		unsigned min;
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, min = 0x10000;
		else
			return 0;
		if (len - i <= n)
			return 0;
		unsigned cp = c & (0x3f >> n);
		for (size_t j = 1; j <= n; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

void logs_report(logs_reader *r, const char *why)
{
	if (r->on_err)
		r->on_err(r->file, r->line, why, r->arg);
}
