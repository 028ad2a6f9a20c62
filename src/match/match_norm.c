/*
 * match_norm.c: the normal forms under which the sensor's tables key
 * domains, e-mail addresses and URLs.
 *
 * The same functions run on indicator values at build time and on values
 * from traffic at lookup time, so a value matches whenever both normalise
 * to the same bytes. They write into a caller buffer of MATCH_MAX_VALUE
 * bytes and never allocate (lookups run per packet). Invariant checked by
 * fuzz/fuzz_match.c: each is idempotent, normalising a normal form gives it
 * back unchanged; the URL form takes care of the two places where that is
 * not automatic (a bare '%' is written %25 so that decoding cannot create a
 * new triplet; a path starting "//" without an authority gets "/." in front,
 * RFC 3986 section 5.3, so that it does not read back as an authority).
 * match_domain_key gives a domain's key without writing its normal form:
 * the hash match_hash_bytes would give the normal form, taken as the text
 * is read; the unit tests hold the two equal.
 */
#include <string.h>

#include "match_int.h"

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

size_t match_norm_domain(const char *s, size_t len, char out[MATCH_MAX_VALUE])
{
	while (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > MATCH_MAX_VALUE)
		return 0;
	for (size_t i = 0; i < len; i++)
		out[i] = lower(s[i]);
	return len;
}

/* Eight bytes lowercased at once: a byte gets 0x20 when it is 'A'..'Z'.
 * Bytes are taken below 0x80 before the adds, so no add carries into the
 * next byte; bytes of 0x80 and up stay as they are. */
static inline uint64_t lower8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t low7 = w & ~high;
	uint64_t from_a = low7 + ones * (0x80 - 'A'); /* high bit: >= 'A' */
	uint64_t past_z = low7 + ones * (0x7F - 'Z'); /* high bit: > 'Z' */
	uint64_t upper = from_a & ~past_z & ~w & high;
	return w | upper >> 2;
}

/* The n < 8 bytes at s as memcpy into a zeroed word puts them; before:
 * bytes of the value before s, so that on a little-endian machine one
 * load that overlaps them, shifted, can do instead of a copy. */
static inline uint64_t tail_word(const char *s, size_t n, size_t before)
{
	uint64_t w = 0;
	if (n == 0)
		return 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (before + n >= 8) {
		memcpy(&w, s + n - 8, 8);
		return w >> (8 * (8 - n));
	}
#else
	(void)before;
#endif
	memcpy(&w, s, n);
	return w;
}

/*
 * match_norm_domain and match_hash_bytes (match_build.c) in one pass, with
 * no copy: the same steps as match_hash_bytes, each word lowercased as it
 * is read. The unit tests hold the two ways equal.
 */
bool match_domain_key(const char *s, size_t len, match_key *key)
{
	while (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > MATCH_MAX_VALUE)
		return false;
	uint64_t h = 0x9E3779B97F4A7C15ull ^ len, w;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		h = (h ^ lower8(w)) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
	}
	w = lower8(tail_word(s + i, len - i, i));
	h = (h ^ w) * 0x94d049bb133111ebull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	key->hash = h;
	key->len = len;
	return true;
}

size_t match_norm_email(const char *s, size_t len, char out[MATCH_MAX_VALUE])
{
	if (len == 0 || len > MATCH_MAX_VALUE)
		return 0;
	for (size_t i = 0; i < len; i++)
		out[i] = lower(s[i]);
	return len;
}

/* ---------------------------------------------------------------- URLs */

typedef struct {
	char *p;
	size_t len, cap;
	bool full;
} out_t;

static void put(out_t *o, char c)
{
	if (o->len >= o->cap) {
		o->full = true;
		return;
	}
	o->p[o->len++] = c;
}

static bool unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 3986 section 6.2.2.1 and 6.2.2.2 over s[0..len); lowercase: lowercase
 * letters that are not inside a triplet (the host). */
static void put_pct(out_t *o, const char *s, size_t len, bool lowercase)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			int hi = i + 2 < len ? rk_hex_value(s[i + 1]) : -1;
			int lo = (hi >= 0) ? rk_hex_value(s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				put(o, '%');
				put(o, '2');
				put(o, '5');
				continue;
			}
			unsigned char v = (unsigned char)(hi * 16 + lo);
			if (unreserved(v)) {
				put(o, lowercase ? lower((char)v) : (char)v);
			} else {
				put(o, '%');
				put(o, hex[v >> 4]);
				put(o, hex[v & 15]);
			}
			i += 2;
			continue;
		}
		put(o, lowercase ? lower(c) : c);
	}
}

/* RFC 3986 section 5.2.4 on in[0..len), written to o. */
static void remove_dots(out_t *o, const char *in, size_t len)
{
	size_t i = 0, start = o->len;
	while (i < len) {
		size_t rest = len - i;
		const char *p = in + i;
		if (rest >= 3 && memcmp(p, "../", 3) == 0) {
			i += 3;
		} else if (rest >= 2 && memcmp(p, "./", 2) == 0) {
			i += 2;
		} else if (rest >= 3 && memcmp(p, "/./", 3) == 0) {
			i += 2;
		} else if (rest == 2 && memcmp(p, "/.", 2) == 0) {
			i += 1; /* becomes "/" */
			put(o, '/');
			i += 1;
		} else if (rest >= 4 && memcmp(p, "/../", 4) == 0) {
			i += 3;
			while (o->len > start && o->p[o->len - 1] != '/')
				o->len--;
			if (o->len > start)
				o->len--;
		} else if (rest == 3 && memcmp(p, "/..", 3) == 0) {
			i += 3;
			while (o->len > start && o->p[o->len - 1] != '/')
				o->len--;
			if (o->len > start)
				o->len--;
			put(o, '/');
		} else if ((rest == 1 && p[0] == '.') || (rest == 2 && memcmp(p, "..", 2) == 0)) {
			i = len;
		} else {
			size_t j = i;
			if (in[j] == '/')
				j++;
			while (j < len && in[j] != '/')
				j++;
			for (; i < j; i++)
				put(o, in[i]);
		}
	}
}

static unsigned default_port(const char *scheme, size_t len)
{
	if ((len == 4 && memcmp(scheme, "http", 4) == 0) || (len == 2 && memcmp(scheme, "ws", 2) == 0))
		return 80;
	if ((len == 5 && memcmp(scheme, "https", 5) == 0) || (len == 3 && memcmp(scheme, "wss", 3) == 0))
		return 443;
	if (len == 3 && memcmp(scheme, "ftp", 3) == 0)
		return 21;
	return 0;
}

size_t match_norm_url(const char *s, size_t len, char out[MATCH_MAX_VALUE])
{
	char tmp[MATCH_MAX_VALUE];
	out_t o = {out, 0, MATCH_MAX_VALUE, false};
	out_t t = {tmp, 0, sizeof tmp, false};
	size_t i = 0;

	if (len > MATCH_MAX_VALUE)
		return 0;
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
	while (i < len && s[i] != ':') {
		char c = lower(s[i]);
		bool ok = (c >= 'a' && c <= 'z') || (i > 0 && ((c >= '0' && c <= '9') || c == '+' ||
							     c == '-' || c == '.'));
		if (!ok)
			return 0;
		put(&o, c);
		i++;
	}
	if (i == 0 || i == len)
		return 0;
	size_t scheme_len = i;
	put(&o, ':');
	i++;
	bool authority = len - i >= 2 && s[i] == '/' && s[i + 1] == '/';
	if (authority) {
		put(&o, '/');
		put(&o, '/');
		i += 2;
		size_t a = i;
		while (i < len && s[i] != '/' && s[i] != '?' && s[i] != '#')
			i++;
		size_t host = a, end = i;
		for (size_t k = a; k < end; k++)
			if (s[k] == '@')
				host = k + 1;
		if (host > a)
			put_pct(&o, s + a, host - a, false); /* userinfo and '@' */
		/* The port is read from the normalised host text, so that a second
		 * pass finds the same one: after the last ':' that follows any ']',
		 * only digits, and the host before it has no ':' unless it is an
		 * IP literal in brackets. Removing it leaves no port behind. */
		size_t hs = o.len;
		put_pct(&o, s + host, end - host, true);
		if (o.full)
			return 0;
		size_t colon = o.len;
		for (size_t k = o.len; k > hs; k--) {
			if (out[k - 1] == ']')
				break;
			if (out[k - 1] == ':') {
				colon = k - 1;
				break;
			}
		}
		bool is_port = colon < o.len;
		unsigned long port = 0;
		for (size_t k = colon + 1; is_port && k < o.len; k++) {
			if (out[k] < '0' || out[k] > '9')
				is_port = false;
			else if (port < 100000)
				port = port * 10 + (unsigned long)(out[k] - '0');
		}
		bool literal = colon > hs && out[hs] == '[' && out[colon - 1] == ']';
		if (is_port && !literal && memchr(out + hs, ':', colon - hs))
			is_port = false;
		if (is_port && (colon + 1 == o.len || port == default_port(out, scheme_len)))
			o.len = colon;
	}
	size_t p = i;
	while (i < len && s[i] != '?' && s[i] != '#')
		i++;
	put_pct(&t, s + p, i - p, false);
	if (t.full)
		return 0;
	size_t path_at = o.len;
	remove_dots(&o, tmp, t.len);
	if (authority && o.len == path_at)
		put(&o, '/');
	if (!authority && o.len - path_at >= 2 && out[path_at] == '/' && out[path_at + 1] == '/') {
		/* RFC 3986 section 5.3: "/." keeps "//x" from reading as an authority */
		if (o.len + 2 > o.cap)
			return 0;
		memmove(out + path_at + 2, out + path_at, o.len - path_at);
		out[path_at] = '/';
		out[path_at + 1] = '.';
		o.len += 2;
	}
	if (i < len && s[i] == '?') {
		size_t q = i;
		while (i < len && s[i] != '#')
			i++;
		put_pct(&o, s + q, i - q, false);
	}
	if (i < len)
		put_pct(&o, s + i, len - i, false); /* '#' fragment */
	if (o.full)
		return 0;
	return o.len;
}
