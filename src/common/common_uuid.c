/*
 * common_uuid.c: RFC 4122 UUIDs, as STIX identifiers and TAXII collection
 * and status ids use them.
 *
 * Validation accepts the 8-4-4-4-12 hex form in either case with the RFC 4122
 * variant (10xx) and a version from 1 to 8. Version 4 UUIDs come from
 * libsodium's CSPRNG; version 5 UUIDs hash namespace and name with SHA-1
 * through GnuTLS, so that the same organisation always gets the same STIX
 * identity id on every hub.
 */
#include <string.h>

#include <gnutls/crypto.h>
#include <sodium.h>

#include "common.h"

static bool uuid_parse(const char *s, unsigned char out[16])
{
	if (!s || strlen(s) != 36)
		return false;
	int j = 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
			continue;
		}
		int hi = rk_hex_value(s[i]), lo = rk_hex_value(s[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[j++] = (unsigned char)(hi << 4 | lo);
		i++;
	}
	return true;
}

static void uuid_format(const unsigned char b[16], char out[RK_UUID_BUF])
{
	static const char hex[] = "0123456789abcdef";
	int j = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[j++] = '-';
		out[j++] = hex[b[i] >> 4];
		out[j++] = hex[b[i] & 15];
	}
	out[j] = '\0';
}

bool rk_uuid_is_valid(const char *s)
{
	unsigned char b[16];
	if (!uuid_parse(s, b))
		return false;
	unsigned version = b[6] >> 4;
	return (b[8] & 0xc0) == 0x80 && version >= 1 && version <= 8;
}

void rk_uuid_v4(char out[RK_UUID_BUF])
{
	unsigned char b[16];
	randombytes_buf(b, sizeof b);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	uuid_format(b, out);
}

rk_err rk_uuid_v5(const char *ns, const char *name, size_t name_len,
		  char out[RK_UUID_BUF])
{
	unsigned char nsb[16], digest[20];
	gnutls_hash_hd_t h;

	if (!uuid_parse(ns, nsb))
		return RK_EINVAL;
	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA1) < 0)
		return RK_ENOMEM;
	gnutls_hash(h, nsb, sizeof nsb);
	gnutls_hash(h, name, name_len);
	gnutls_hash_deinit(h, digest);
	digest[6] = (unsigned char)((digest[6] & 0x0f) | 0x50);
	digest[8] = (unsigned char)((digest[8] & 0x3f) | 0x80);
	uuid_format(digest, out);
	return RK_OK;
}
