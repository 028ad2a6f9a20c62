/*
 * anon_assets.c: what an organisation owns (address blocks, domains), in
 * the form the scrubbing rules compare against, and IDN conversion.
 *
 * Addresses are kept as 16 bytes, IPv4 mapped into ::ffff:0:0/96, so one
 * comparison serves both families and an IPv4-mapped IPv6 address written
 * in text is found inside an IPv4 block. Domains are kept twice: their
 * ASCII form (each label lowercased; a Unicode label turned into "xn--"
 * Punycode, RFC 3492) and, when that differs, their Unicode form, so that
 * "例え.jp" and "xn--r8jz45g.jp" in a text are both found. Only ASCII
 * letters are case-folded (no Unicode normalisation): a Unicode label must
 * be written as it was registered; the ACE form is exact either way.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "anonymise.h"

void anon_assets_init(anon_assets *a)
{
	memset(a, 0, sizeof *a);
}

void anon_assets_cleanup(anon_assets *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_domains; i++) {
		free(a->domains[i]);
		free(a->domains_u[i]);
	}
	free(a->domains);
	free(a->domains_u);
	free(a->nets);
	free(a->asns);
	memset(a, 0, sizeof *a);
}

rk_err anon_assets_add_cidr(anon_assets *a, const char *cidr, rk_errctx *ctx)
{
	char host[64];
	const char *slash = strchr(cidr, '/');
	size_t hl = slash ? (size_t)(slash - cidr) : strlen(cidr);
	unsigned char addr[16] = {0};
	unsigned max, prefix;
	struct in_addr v4;

	if (hl == 0 || hl >= sizeof host)
		return rk_fail(ctx, RK_EINVAL, NULL, "'%s' is not an address block", cidr);
	memcpy(host, cidr, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &v4) == 1) {
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &v4, 4);
		max = 32;
	} else if (inet_pton(AF_INET6, host, addr) == 1) {
		max = 128;
	} else {
		return rk_fail(ctx, RK_EINVAL, NULL, "'%s' is not an address block", cidr);
	}
	prefix = max;
	if (slash) {
		char *end;
		unsigned long p = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || p > max || slash[1] < '0' || slash[1] > '9')
			return rk_fail(ctx, RK_EINVAL, NULL,
				       "'%s': the prefix length must be 0 to %u", cidr, max);
		prefix = (unsigned)p;
	}
	if (max == 32)
		prefix += 96;
	/* host bits must be zero: a typo in a block should not widen it */
	for (unsigned bit = prefix; bit < 128; bit++)
		if (addr[bit / 8] & (0x80u >> (bit % 8)))
			return rk_fail(ctx, RK_EINVAL, NULL,
				       "'%s' has host bits set beyond its prefix", cidr);
	anon_net *n = realloc(a->nets, (a->n_nets + 1) * sizeof *n);
	if (!n)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	a->nets = n;
	memcpy(n[a->n_nets].addr, addr, 16);
	n[a->n_nets].prefix = prefix;
	a->n_nets++;
	return RK_OK;
}

rk_err anon_assets_add_asn(anon_assets *a, const char *asn, rk_errctx *ctx)
{
	const char *d = asn;
	char *end;

	if ((d[0] == 'A' || d[0] == 'a') && (d[1] == 'S' || d[1] == 's'))
		d += 2;
	unsigned long long v = strtoull(d, &end, 10);
	if (*d < '0' || *d > '9' || *end || v == 0 || v > 4294967295ull)
		return rk_fail(ctx, RK_EINVAL, NULL, "'%s' is not an AS number", asn);
	uint32_t *n = realloc(a->asns, (a->n_asns + 1) * sizeof *n);
	if (!n)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	a->asns = n;
	n[a->n_asns++] = (uint32_t)v;
	return RK_OK;
}

bool anon_assets_has_address(const anon_assets *a, const unsigned char addr[16])
{
	for (size_t i = 0; a && i < a->n_nets; i++) {
		const anon_net *n = &a->nets[i];
		unsigned full = n->prefix / 8, rest = n->prefix % 8;
		if (memcmp(n->addr, addr, full) != 0)
			continue;
		if (rest) {
			unsigned char mask = (unsigned char)(0xffu << (8 - rest));
			if ((n->addr[full] & mask) != (addr[full] & mask))
				continue;
		}
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------- punycode */

#define PC_BASE 36u
#define PC_TMIN 1u
#define PC_TMAX 26u
#define PC_SKEW 38u
#define PC_DAMP 700u
#define PC_BIAS 72u
#define PC_N 128u
#define PC_MAX_CP 256

/* One UTF-8 sequence at s (len bytes left) -> code point; its length, or
 * 0 when malformed. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	if (!n || n > len || s[0] >= 0xf8)
		return 0;
	uint32_t v = s[0] & (0x7fu >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3fu);
	}
	if (v > 0x10ffff || (n == 2 && v < 0x80) || (n == 3 && v < 0x800) ||
	    (n == 4 && v < 0x10000))
		return 0;
	*cp = v;
	return n;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static uint32_t adapt(uint32_t delta, uint32_t numpoints, bool first)
{
	uint32_t k = 0;
	delta = first ? delta / PC_DAMP : delta / 2;
	delta += delta / numpoints;
	while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
		delta /= PC_BASE - PC_TMIN;
		k += PC_BASE;
	}
	return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

static char digit_char(uint32_t d)
{
	return (char)(d < 26 ? 'a' + d : '0' + (d - 26));
}

/* RFC 3492 section 6.3 over one label's code points. */
static bool punycode_encode(const uint32_t *cp, size_t n, rk_buf *out)
{
	uint32_t code = PC_N, delta = 0, bias = PC_BIAS;
	size_t h, b = 0;

	for (size_t i = 0; i < n; i++)
		if (cp[i] < 0x80) {
			char c = (char)cp[i];
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (rk_buf_append(out, &c, 1) != RK_OK)
				return false;
			b++;
		}
	h = b;
	if (b && rk_buf_append(out, "-", 1) != RK_OK)
		return false;
	while (h < n) {
		uint32_t m = UINT32_MAX;
		for (size_t i = 0; i < n; i++)
			if (cp[i] >= code && cp[i] < m)
				m = cp[i];
		if ((uint64_t)(m - code) * (h + 1) + delta > UINT32_MAX / 2)
			return false;
		delta += (m - code) * (uint32_t)(h + 1);
		code = m;
		for (size_t i = 0; i < n; i++) {
			if (cp[i] < code && ++delta == 0)
				return false;
			if (cp[i] != code)
				continue;
			uint32_t q = delta;
			for (uint32_t k = PC_BASE;; k += PC_BASE) {
				uint32_t t = k <= bias ? PC_TMIN
					     : k >= bias + PC_TMAX ? PC_TMAX : k - bias;
				if (q < t)
					break;
				char c = digit_char(t + (q - t) % (PC_BASE - t));
				if (rk_buf_append(out, &c, 1) != RK_OK)
					return false;
				q = (q - t) / (PC_BASE - t);
			}
			char c = digit_char(q);
			if (rk_buf_append(out, &c, 1) != RK_OK)
				return false;
			bias = adapt(delta, (uint32_t)h + 1, h == b);
			delta = 0;
			h++;
		}
		delta++;
		code++;
	}
	return true;
}

static int digit_value(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '0' && c <= '9')
		return c - '0' + 26;
	return -1;
}

/* RFC 3492 section 6.2: the part after "xn--" -> code points. */
static bool punycode_decode(const char *in, size_t len, uint32_t *cp, size_t *n_out)
{
	uint32_t code = PC_N, i = 0, bias = PC_BIAS;
	size_t n = 0, b = 0, j;

	for (j = 0; j < len; j++)
		if (in[j] == '-')
			b = j;
	if (b > PC_MAX_CP)
		return false;
	for (j = 0; j < b; j++) {
		if ((unsigned char)in[j] >= 0x80)
			return false;
		cp[n++] = (unsigned char)in[j];
	}
	for (j = b ? b + 1 : 0; j < len;) {
		uint32_t oldi = i, w = 1;
		for (uint32_t k = PC_BASE;; k += PC_BASE) {
			if (j >= len)
				return false;
			int d = digit_value(in[j++]);
			if (d < 0 || (uint32_t)d > (UINT32_MAX - i) / w)
				return false;
			i += (uint32_t)d * w;
			uint32_t t = k <= bias ? PC_TMIN : k >= bias + PC_TMAX ? PC_TMAX : k - bias;
			if ((uint32_t)d < t)
				break;
			if (w > UINT32_MAX / (PC_BASE - t))
				return false;
			w *= PC_BASE - t;
		}
		bias = adapt(i - oldi, (uint32_t)n + 1, oldi == 0);
		if (i / (n + 1) > 0x10ffff - code)
			return false;
		code += i / (uint32_t)(n + 1);
		i %= (uint32_t)(n + 1);
		if (n >= PC_MAX_CP || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
			return false;
		memmove(cp + i + 1, cp + i, (n - i) * sizeof *cp);
		cp[i++] = code;
		n++;
	}
	*n_out = n;
	return true;
}

/* Whether c is one of the IDNA label separators: '.', U+3002 (ideographic
 * full stop), U+FF0E (fullwidth full stop), U+FF61 (halfwidth ideographic
 * full stop). */
static bool is_dot(uint32_t c)
{
	return c == '.' || c == 0x3002 || c == 0xff0e || c == 0xff61;
}

/* Converts every label; to_ace: Unicode -> "xn--", else the reverse. */
static bool idn_convert(const char *domain, bool to_ace, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)domain;
	size_t len = strlen(domain), pos = 0;
	uint32_t cp[PC_MAX_CP];
	rk_buf b;
	bool ok = true;

	rk_buf_init(&b);
	while (ok && pos <= len) {
		size_t n = 0;
		bool ascii = true;
		uint32_t c = 0;
		size_t l = 0;
		/* one label */
		while (pos < len && (l = utf8_decode(s + pos, len - pos, &c)) && !is_dot(c)) {
			if (n == PC_MAX_CP) {
				ok = false;
				break;
			}
			if (c >= 'A' && c <= 'Z')
				c = c - 'A' + 'a';
			ascii &= c < 0x80;
			cp[n++] = c;
			pos += l;
		}
		if (!ok || (pos < len && !l)) {
			ok = false;
			break;
		}
		if (to_ace && !ascii) {
			ok = rk_buf_puts(&b, "xn--") == RK_OK && punycode_encode(cp, n, &b);
		} else if (!to_ace && n > 4 && cp[0] == 'x' && cp[1] == 'n' && cp[2] == '-' &&
			   cp[3] == '-') {
			char label[PC_MAX_CP];
			uint32_t dec[PC_MAX_CP];
			size_t nd = 0;
			for (size_t i = 4; i < n; i++)
				label[i - 4] = (char)cp[i];
			ok = punycode_decode(label, n - 4, dec, &nd);
			for (size_t i = 0; ok && i < nd; i++) {
				char u[4];
				ok = rk_buf_append(&b, u, utf8_encode(dec[i], u)) == RK_OK;
			}
		} else {
			for (size_t i = 0; ok && i < n; i++) {
				char u[4];
				ok = rk_buf_append(&b, u, utf8_encode(cp[i], u)) == RK_OK;
			}
		}
		if (pos >= len)
			break;
		pos += l; /* the separator */
		ok = ok && rk_buf_append(&b, ".", 1) == RK_OK;
		if (pos == len)
			break; /* trailing dot kept as written */
	}
	ok = ok && b.len < outlen;
	if (ok)
		memcpy(out, b.data ? b.data : "", b.len + 1);
	rk_buf_cleanup(&b);
	return ok;
}

bool anon_idn_to_ace(const char *domain, char *out, size_t outlen)
{
	return idn_convert(domain, true, out, outlen);
}

bool anon_idn_to_unicode(const char *domain, char *out, size_t outlen)
{
	return idn_convert(domain, false, out, outlen);
}

rk_err anon_assets_add_domain(anon_assets *a, const char *domain, rk_errctx *ctx)
{
	char ace[RK_MAX_NAME], uni[RK_MAX_NAME * 2];
	size_t len;

	if (!anon_idn_to_ace(domain, ace, sizeof ace) ||
	    !anon_idn_to_unicode(ace, uni, sizeof uni))
		return rk_fail(ctx, RK_EINVAL, NULL, "'%s' is not a domain name", domain);
	len = strlen(ace);
	if (len && ace[len - 1] == '.')
		ace[--len] = '\0';
	size_t ulen = strlen(uni);
	if (ulen && uni[ulen - 1] == '.')
		uni[--ulen] = '\0';
	for (size_t i = 0; i < len; i++) {
		char c = ace[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.') ||
		    (c == '.' && (i == 0 || ace[i - 1] == '.')))
			return rk_fail(ctx, RK_EINVAL, NULL, "'%s' is not a domain name", domain);
	}
	if (!len)
		return rk_fail(ctx, RK_EINVAL, NULL, "'%s' is not a domain name", domain);
	char **d = realloc(a->domains, (a->n_domains + 1) * sizeof *d);
	if (!d)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	a->domains = d;
	char **u = realloc(a->domains_u, (a->n_domains + 1) * sizeof *u);
	if (!u)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	a->domains_u = u;
	d[a->n_domains] = strdup(ace);
	u[a->n_domains] = strcmp(ace, uni) ? strdup(uni) : NULL;
	if (!d[a->n_domains] || (strcmp(ace, uni) && !u[a->n_domains])) {
		free(d[a->n_domains]);
		free(u[a->n_domains]);
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	}
	a->n_domains++;
	return RK_OK;
}
