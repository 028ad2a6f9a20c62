/*
 * assets_value.c: claimed values (CIDR blocks, AS numbers, domains) parsed
 * into one canonical form each.
 *
 * Claim values come from users over HTTP and from operators on the command
 * line, so this is an untrusted parser (fuzz/fuzz_assets_value.c). The
 * canonical text is what the registry stores and compares: two spellings
 * of one block ("2001:DB8:0::/32", "2001:db8::/32") are one claim. Host
 * bits set are refused rather than silently masked: a claim of
 * 192.0.2.77/24 is more likely a typo than a wish for 192.0.2.0/24, and
 * the message says which block was meant.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "assets.h"

const char *assets_kind_name(asset_kind k)
{
	switch (k) {
	case ASSET_KIND_CIDR: return "cidr";
	case ASSET_KIND_ASN: return "asn";
	case ASSET_KIND_DOMAIN: return "domain";
	}
	return "?";
}

const char *assets_state_name(asset_state s)
{
	switch (s) {
	case ASSET_PENDING: return "pending";
	case ASSET_APPROVED: return "approved";
	case ASSET_REJECTED: return "rejected";
	}
	return "?";
}

bool assets_state_parse(const char *s, asset_state *out)
{
	for (int i = ASSET_PENDING; i <= ASSET_REJECTED; i++)
		if (strcmp(s, assets_state_name((asset_state)i)) == 0) {
			*out = (asset_state)i;
			return true;
		}
	return false;
}

bool assets_kind_parse(const char *s, asset_kind *out)
{
	for (int i = ASSET_KIND_CIDR; i <= ASSET_KIND_DOMAIN; i++)
		if (strcmp(s, assets_kind_name((asset_kind)i)) == 0) {
			*out = (asset_kind)i;
			return true;
		}
	return false;
}

bool assets_cidr_covers(const asset_value *outer, int family, const uint8_t *addr)
{
	if (outer->kind != ASSET_KIND_CIDR || outer->family != family)
		return false;
	unsigned full = outer->prefix / 8, rest = outer->prefix % 8;
	if (memcmp(outer->addr, addr, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xffu << (8 - rest));
		if ((outer->addr[full] & mask) != (addr[full] & mask))
			return false;
	}
	return true;
}

static bool ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Domain checks; on failure *why says what is wrong. */
static bool domain_canonical(const char *name, size_t len, char *out, const char **why)
{
	if (len && name[len - 1] == '.')
		len--;
	if (len == 0) {
		*why = "empty";
		return false;
	}
	if (len > ASSETS_VALUE_MAX) {
		*why = "longer than 253 characters";
		return false;
	}
	size_t label = 0, labels = 1;
	bool all_digits_last = true;
	for (size_t i = 0; i < len; i++) {
		char c = (char)tolower((unsigned char)name[i]);
		out[i] = c;
		if (c == '.') {
			if (label == 0 || out[i - 1] == '-') {
				*why = "empty label or label ending in '-'";
				return false;
			}
			label = 0;
			labels++;
			all_digits_last = true;
			continue;
		}
		if (!ldh(c)) {
			*why = "only letters, digits, '-' and '.' may appear in a domain";
			return false;
		}
		if (label == 0 && c == '-') {
			*why = "a label starts with '-'";
			return false;
		}
		if (++label > 63) {
			*why = "a label is longer than 63 characters";
			return false;
		}
		if (!(c >= '0' && c <= '9'))
			all_digits_last = false;
	}
	out[len] = '\0';
	if (label == 0 || out[len - 1] == '-') {
		*why = "empty label or label ending in '-'";
		return false;
	}
	if (labels < 2) {
		*why = "a top-level domain alone cannot be claimed";
		return false;
	}
	if (all_digits_last) {
		*why = "the last label is numeric (an address?)";
		return false;
	}
	return true;
}

bool assets_domain_normalise(const char *name, size_t len, char out[ASSETS_VALUE_MAX + 1])
{
	const char *why = NULL;
	return domain_canonical(name, len, out, &why);
}

static rk_err parse_asn(const char *s, size_t len, asset_value *out, rk_errctx *ctx)
{
	uint64_t v = 0;
	if (len == 2 || len > 12)
		return rk_fail(ctx, RK_EINVAL, NULL, "AS number: expected AS followed by 1 to 10 digits");
	for (size_t i = 2; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return rk_fail(ctx, RK_EINVAL, NULL,
				       "AS number: expected AS followed by digits only");
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (len > 3 && s[2] == '0')
		return rk_fail(ctx, RK_EINVAL, NULL, "AS number: leading zero");
	if (v == 0 || v >= 4294967295u)
		return rk_fail(ctx, RK_EINVAL, NULL,
			       "AS number: must be from 1 to 4294967294 (RFC 7607, RFC 7300)");
	if (v == 23456)
		return rk_fail(ctx, RK_EINVAL, NULL,
			       "AS number: AS23456 is AS_TRANS (RFC 6793), not a network's own");
	out->kind = ASSET_KIND_ASN;
	out->asn = (uint32_t)v;
	snprintf(out->text, sizeof out->text, "AS%u", out->asn);
	return RK_OK;
}

static rk_err parse_cidr(const char *s, size_t len, asset_value *out, rk_errctx *ctx)
{
	char host[64];
	const char *slash = memchr(s, '/', len);
	size_t hlen = slash ? (size_t)(slash - s) : len;
	unsigned prefix = 0;

	if (hlen == 0 || hlen >= sizeof host)
		return rk_fail(ctx, RK_EINVAL, NULL, "address range: no address before '/'");
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = 4;
		prefix = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = 6;
		prefix = 128;
	} else {
		return rk_fail(ctx, RK_EINVAL, NULL, "address range: '%s' is not an IPv4 or IPv6 address",
			       host);
	}
	if (slash) {
		size_t plen = len - hlen - 1;
		unsigned p = 0;
		if (plen == 0 || plen > 3)
			return rk_fail(ctx, RK_EINVAL, NULL, "address range: prefix length missing or too long");
		for (size_t i = 0; i < plen; i++) {
			char c = slash[1 + i];
			if (c < '0' || c > '9')
				return rk_fail(ctx, RK_EINVAL, NULL,
					       "address range: prefix length is not a number");
			p = p * 10 + (unsigned)(c - '0');
		}
		if (plen > 1 && slash[1] == '0')
			return rk_fail(ctx, RK_EINVAL, NULL, "address range: prefix length has a leading zero");
		if (p > prefix)
			return rk_fail(ctx, RK_EINVAL, NULL, "address range: /%u is longer than /%u", p,
				       prefix);
		prefix = p;
	}
	unsigned min = out->family == 4 ? RK_ASSETS_MIN_PREFIX4 : RK_ASSETS_MIN_PREFIX6;
	if (prefix < min)
		return rk_fail(ctx, RK_EINVAL, NULL,
			       "address range: /%u is too wide to claim (at least /%u for IPv%d)", prefix,
			       min, out->family);
	out->kind = ASSET_KIND_CIDR;
	out->prefix = prefix;
	/* Host bits must be zero. */
	uint8_t net[16];
	size_t nbytes = out->family == 4 ? 4 : 16;
	memcpy(net, out->addr, nbytes);
	for (size_t i = 0; i < nbytes; i++) {
		unsigned keep = prefix >= (i + 1) * 8 ? 8 : prefix > i * 8 ? prefix - (unsigned)i * 8 : 0;
		net[i] &= (uint8_t)(keep ? 0xffu << (8 - keep) : 0);
	}
	char ntext[INET6_ADDRSTRLEN];
	inet_ntop(out->family == 4 ? AF_INET : AF_INET6, net, ntext, sizeof ntext);
	if (memcmp(net, out->addr, nbytes) != 0)
		return rk_fail(ctx, RK_EINVAL, NULL,
			       "address range: host bits set: did you mean %s/%u?", ntext, prefix);
	if (nbytes == 4)
		memset(out->addr + 4, 0, 12);
	snprintf(out->text, sizeof out->text, "%s/%u", ntext, prefix);
	return RK_OK;
}

rk_err assets_value_parse(const char *text, size_t len, asset_value *out, rk_errctx *ctx)
{
	memset(out, 0, sizeof *out);
	/* Surrounding blanks are a copy-paste artefact, not part of a value. */
	while (len && isspace((unsigned char)*text)) {
		text++;
		len--;
	}
	while (len && isspace((unsigned char)text[len - 1]))
		len--;
	if (len == 0)
		return rk_fail(ctx, RK_EINVAL, NULL, "empty value");
	if (len > ASSETS_VALUE_MAX + 1)
		return rk_fail(ctx, RK_EINVAL, NULL, "value longer than %d characters",
			       ASSETS_VALUE_MAX);
	if (memchr(text, '\0', len))
		return rk_fail(ctx, RK_EINVAL, NULL, "value contains a NUL byte");
	if (len > 2 && strncasecmp(text, "AS", 2) == 0 && text[2] >= '0' && text[2] <= '9')
		return parse_asn(text, len, out, ctx);
	if (memchr(text, ':', len) || memchr(text, '/', len))
		return parse_cidr(text, len, out, ctx);
	/* Dotted digits only: an IPv4 address (or a typo of one). */
	bool dotted_digits = true;
	for (size_t i = 0; i < len; i++)
		if (!((text[i] >= '0' && text[i] <= '9') || text[i] == '.'))
			dotted_digits = false;
	if (dotted_digits)
		return parse_cidr(text, len, out, ctx);
	const char *why = NULL;
	if (!domain_canonical(text, len, out->text, &why)) {
		memset(out->text, 0, sizeof out->text);
		return rk_fail(ctx, RK_EINVAL, NULL, "domain: %s", why);
	}
	out->kind = ASSET_KIND_DOMAIN;
	return RK_OK;
}
