/*
 * feeds_value.c: what a feed value is, its normal form, and its pattern.
 *
 * One table (value_types) names each kind of value a feed can carry, the
 * STIX object path its indicator compares, and its aliases. Detection
 * tries the kinds in a fixed order (address, hash, URL, e-mail, domain) so
 * that a value has exactly one type: a 32-hex-digit string is an MD5, never
 * a domain; "a@b.example" is an e-mail address because '@' is not allowed
 * in a domain.
 *
 * Normal forms make the deterministic id independent of spelling:
 * addresses are re-printed by inet_ntop (so "2001:DB8::0:1" and
 * "2001:db8::1" are one value), CIDR blocks have their host bits cleared
 * and full-length prefixes become plain addresses, domains and hashes are
 * lowercase, a trailing dot of a domain is dropped. URLs and e-mail
 * addresses are kept as written apart from a lowercase host, since paths
 * are case-sensitive.
 *
 * Defanged values ("hxxp://evil[.]example", "10(.)1[.]2[.]3") are what
 * analysts paste into lists so that nobody clicks them; plain lists and
 * CSV refang them (feeds_refang) before the type is detected, so a
 * defanged and a clean spelling are one value with one id.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "feeds.h"

static const struct {
	const char *name;
	const char *path;
	const char *aliases; /* space-separated */
} value_types[FEEDS_VTYPE_COUNT] = {
	[FEEDS_IPV4] = { "ipv4", "ipv4-addr:value", "ip ip4 ipv4-addr cidr ip-src ip-dst" },
	[FEEDS_IPV6] = { "ipv6", "ipv6-addr:value", "ip6 ipv6-addr" },
	[FEEDS_DOMAIN] = { "domain", "domain-name:value", "hostname fqdn domain-name" },
	[FEEDS_URL] = { "url", "url:value", "uri link" },
	[FEEDS_EMAIL] = { "email", "email-addr:value", "e-mail email-addr" },
	[FEEDS_MD5] = { "md5", "file:hashes.MD5", "" },
	[FEEDS_SHA1] = { "sha1", "file:hashes.'SHA-1'", "sha-1" },
	[FEEDS_SHA256] = { "sha256", "file:hashes.'SHA-256'", "sha-256" },
	[FEEDS_SHA512] = { "sha512", "file:hashes.'SHA-512'", "sha-512" },
};

const char *feeds_vtype_name(feeds_vtype t)
{
	return t >= 0 && t < FEEDS_VTYPE_COUNT ? value_types[t].name : "?";
}

const char *feeds_vtype_path(feeds_vtype t)
{
	return t >= 0 && t < FEEDS_VTYPE_COUNT ? value_types[t].path : "?";
}

feeds_vtype feeds_vtype_parse(const char *name)
{
	size_t n = strlen(name);

	for (int t = 0; t < FEEDS_VTYPE_COUNT; t++) {
		if (strcasecmp(name, value_types[t].name) == 0)
			return (feeds_vtype)t;
		for (const char *a = value_types[t].aliases; *a;) {
			size_t l = strcspn(a, " ");
			if (l == n && strncasecmp(a, name, n) == 0)
				return (feeds_vtype)t;
			a += l;
			while (*a == ' ')
				a++;
		}
	}
	return FEEDS_VNONE;
}

static bool copy_value(const char *s, size_t len, char *out)
{
	if (len >= FEEDS_VALUE_MAX)
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

/* Address or CIDR block of family af; normal form into out. */
static bool parse_ip(int af, const char *s, size_t len, char *out, const char **why)
{
	char buf[64], *slash;
	unsigned char addr[16];
	unsigned long prefix;
	unsigned bits = af == AF_INET ? 32 : 128;

	if (len == 0 || len >= sizeof buf) {
		*why = "not an address";
		return false;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	prefix = bits;
	if ((slash = strchr(buf, '/'))) {
		char *end;
		*slash = '\0';
		if (!isdigit((unsigned char)slash[1]) || strlen(slash + 1) > 3) {
			*why = "bad CIDR prefix length";
			return false;
		}
		prefix = strtoul(slash + 1, &end, 10);
		if (*end || prefix > bits) {
			*why = "bad CIDR prefix length";
			return false;
		}
	}
	if (inet_pton(af, buf, addr) != 1) {
		*why = af == AF_INET ? "not an IPv4 address" : "not an IPv6 address";
		return false;
	}
	for (unsigned i = 0; i < bits / 8; i++) {
		unsigned keep = prefix >= (i + 1) * 8 ? 8 : prefix > i * 8 ? prefix - i * 8 : 0;
		addr[i] &= (unsigned char)(0xff00u >> keep);
	}
	char text[INET6_ADDRSTRLEN];
	if (!inet_ntop(af, addr, text, sizeof text)) {
		*why = "not an address";
		return false;
	}
	if (prefix == bits)
		snprintf(out, FEEDS_VALUE_MAX, "%s", text);
	else
		snprintf(out, FEEDS_VALUE_MAX, "%s/%lu", text, prefix);
	return true;
}

static bool parse_hash(size_t want, const char *s, size_t len, char *out, const char **why)
{
	if (len != want) {
		*why = "wrong length for this hash";
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)s[i])) {
			*why = "not hexadecimal";
			return false;
		}
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[len] = '\0';
	return true;
}

/* RFC 1035 host name (letters, digits, '-', '_' which real feeds carry),
 * at least two labels, a top-level label that is not all digits. */
static bool parse_domain(const char *s, size_t len, char *out, const char **why)
{
	size_t label = 0, labels = 0;
	bool digits_only = true;

	if (len && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253) {
		*why = len ? "domain name longer than 253 characters" : "empty value";
		return false;
	}
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? s[i] : '.';
		if (c == '.') {
			if (label == 0 || label > 63) {
				*why = label ? "domain label longer than 63 characters" : "empty domain label";
				return false;
			}
			if (s[i - 1] == '-' || s[i - label] == '-') {
				*why = "domain label starts or ends with '-'";
				return false;
			}
			labels++;
			if (i < len) {
				digits_only = true;
				out[i] = '.';
			}
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-' && c != '_') {
			*why = "character not allowed in a domain name";
			return false;
		}
		if (!isdigit((unsigned char)c))
			digits_only = false;
		label++;
		out[i] = (char)tolower((unsigned char)c);
	}
	if (labels < 2) {
		*why = "not a recognised value (no dot)";
		return false;
	}
	if (digits_only) {
		*why = "top-level label is all digits";
		return false;
	}
	out[len] = '\0';
	return true;
}

static bool parse_url(const char *s, size_t len, char *out, const char **why)
{
	size_t i = 0;

	while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
		i++;
	if (i == 0 || !isalpha((unsigned char)s[0]) || len - i < 4 || memcmp(s + i, "://", 3)) {
		*why = "not a URL (no scheme://)";
		return false;
	}
	size_t host = i + 3, end = host;
	while (end < len && s[end] != '/' && s[end] != '?' && s[end] != '#')
		end++;
	if (end == host) {
		*why = "URL without a host";
		return false;
	}
	for (size_t k = 0; k < len; k++) {
		if ((unsigned char)s[k] <= ' ' || s[k] == 0x7f) {
			*why = "space or control character in URL";
			return false;
		}
	}
	if (!copy_value(s, len, out)) {
		*why = "value too long";
		return false;
	}
	for (size_t k = 0; k < end; k++) /* scheme and authority are case-insensitive */
		out[k] = (char)tolower((unsigned char)out[k]);
	return true;
}

static bool parse_email(const char *s, size_t len, char *out, const char **why)
{
	const char *at = memchr(s, '@', len);

	if (!at || at == s || at - s > 64) {
		*why = "not an e-mail address";
		return false;
	}
	for (const char *p = s; p < at; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '"' || *p == '<' || *p == '>' ||
		    *p == '@') {
			*why = "character not allowed in an e-mail address";
			return false;
		}
	}
	size_t local = (size_t)(at - s);
	memcpy(out, s, local);
	out[local] = '@';
	if (!parse_domain(at + 1, len - local - 1, out + local + 1, why))
		return false;
	return true;
}

bool feeds_value_check(feeds_vtype t, const char *s, size_t len, char *out, const char **why)
{
	*why = NULL;
	if (len >= FEEDS_VALUE_MAX) {
		*why = "value too long";
		return false;
	}
	switch (t) {
	case FEEDS_IPV4: return parse_ip(AF_INET, s, len, out, why);
	case FEEDS_IPV6: return parse_ip(AF_INET6, s, len, out, why);
	case FEEDS_DOMAIN: return parse_domain(s, len, out, why);
	case FEEDS_URL: return parse_url(s, len, out, why);
	case FEEDS_EMAIL: return parse_email(s, len, out, why);
	case FEEDS_MD5: return parse_hash(32, s, len, out, why);
	case FEEDS_SHA1: return parse_hash(40, s, len, out, why);
	case FEEDS_SHA256: return parse_hash(64, s, len, out, why);
	case FEEDS_SHA512: return parse_hash(128, s, len, out, why);
	default: *why = "unknown value type"; return false;
	}
}

/* "://" inside s[0..len) (memmem is not POSIX). */
static bool has_sep(const char *s, size_t len)
{
	for (size_t i = 0; i + 3 <= len; i++)
		if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/')
			return true;
	return false;
}

static bool all_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* The defanging markers and what each stands for; matched in any case. */
static const struct {
	const char *marker;
	size_t len;
	char clear;
} defang_markers[] = {
	{ "[.]", 3, '.' },
	{ "(.)", 3, '.' },
	{ "[dot]", 5, '.' },
	{ "[:]", 3, ':' },
};

size_t feeds_refang(const char *s, size_t len, char *out, size_t cap, bool *changed)
{
	size_t i = 0, n = 0;

	*changed = false;
	if (!cap)
		return (size_t)-1;
	/* The scheme: "hxxp" -> "http", "hxxps" -> "https". */
	if (len >= 7 && strncasecmp(s, "hxxp", 4) == 0) {
		bool tls = s[4] == 's' || s[4] == 'S';
		size_t scheme = tls ? 5 : 4;
		if (len >= scheme + 3 && strncmp(s + scheme, "://", 3) == 0) {
			if (cap <= scheme)
				return (size_t)-1;
			memcpy(out, tls ? "https" : "http", scheme);
			n = i = scheme;
			*changed = true;
		}
	}
	while (i < len) {
		size_t m = 0;
		for (; m < RK_ARRAY_LEN(defang_markers); m++)
			if (len - i >= defang_markers[m].len &&
			    strncasecmp(s + i, defang_markers[m].marker, defang_markers[m].len) == 0)
				break;
		if (n + 1 >= cap)
			return (size_t)-1;
		if (m < RK_ARRAY_LEN(defang_markers)) {
			out[n++] = defang_markers[m].clear;
			i += defang_markers[m].len;
			*changed = true;
		} else {
			out[n++] = s[i++];
		}
	}
	out[n] = '\0';
	return n;
}

feeds_vtype feeds_value_refang_parse(feeds_vtype t, const char *s, size_t len, char *out,
				     const char **why, bool *refanged)
{
	char clear[FEEDS_VALUE_MAX];
	size_t n = feeds_refang(s, len, clear, sizeof clear, refanged);

	/* Too long once refanged means too long as written: let the
	 * parsers below say so. */
	if (n == (size_t)-1) {
		*refanged = false;
		n = len;
	} else {
		s = clear;
	}
	if (t == FEEDS_VNONE)
		return feeds_value_detect(s, n, out, why);
	return feeds_value_check(t, s, n, out, why) ? t : FEEDS_VNONE;
}

feeds_vtype feeds_value_detect(const char *s, size_t len, char *out, const char **why)
{
	const char *not_this_kind; /* why a candidate kind failed: unused */

	*why = NULL;
	if (len == 0) {
		*why = "empty value";
		return FEEDS_VNONE;
	}
	if (len >= FEEDS_VALUE_MAX) {
		*why = "value too long";
		return FEEDS_VNONE;
	}
	if (memchr(s, ':', len) && !has_sep(s, len) &&
	    parse_ip(AF_INET6, s, len, out, &not_this_kind))
		return FEEDS_IPV6;
	if (parse_ip(AF_INET, s, len, out, &not_this_kind))
		return FEEDS_IPV4;
	if (all_hex(s, len)) {
		static const feeds_vtype by_len[] = { FEEDS_MD5, FEEDS_SHA1, FEEDS_SHA256, FEEDS_SHA512 };
		static const size_t lens[] = { 32, 40, 64, 128 };
		for (size_t i = 0; i < RK_ARRAY_LEN(lens); i++)
			if (len == lens[i])
				return parse_hash(lens[i], s, len, out, why) ? by_len[i] : FEEDS_VNONE;
	}
	if (has_sep(s, len))
		return parse_url(s, len, out, why) ? FEEDS_URL : FEEDS_VNONE;
	if (memchr(s, '@', len))
		return parse_email(s, len, out, why) ? FEEDS_EMAIL : FEEDS_VNONE;
	bool dotted_digits = true;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]) && s[i] != '.' && s[i] != '/')
			dotted_digits = false;
	if (dotted_digits) {
		*why = "not a valid IPv4 address or CIDR block";
		return FEEDS_VNONE;
	}
	if (memchr(s, ':', len)) {
		*why = "not a valid IPv6 address";
		return FEEDS_VNONE;
	}
	if (all_hex(s, len) && len >= 16) {
		*why = "hexadecimal string of no hash length";
		return FEEDS_VNONE;
	}
	return parse_domain(s, len, out, why) ? FEEDS_DOMAIN : FEEDS_VNONE;
}

rk_err feeds_pattern_quote(rk_buf *b, const char *s)
{
	for (; *s; s++) {
		if ((*s == '\'' || *s == '\\') && rk_buf_append(b, "\\", 1))
			return RK_ENOMEM;
		if (rk_buf_append(b, s, 1))
			return RK_ENOMEM;
	}
	return RK_OK;
}

rk_err feeds_pattern_simple(rk_buf *b, feeds_vtype t, const char *value)
{
	if (rk_buf_printf(b, "[%s = '", feeds_vtype_path(t)) || feeds_pattern_quote(b, value) ||
	    rk_buf_puts(b, "']"))
		return RK_ENOMEM;
	return RK_OK;
}
