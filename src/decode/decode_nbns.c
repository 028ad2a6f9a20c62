/*
 * decode_nbns.c: the NetBIOS Name Service (RFC 1002 section 4.2, UDP port
 * 137), whose messages are DNS messages carrying NetBIOS names.
 *
 * A NetBIOS name is 16 bytes: up to 15 characters padded with spaces and
 * a suffix byte saying what the name is for (workstation, domain master
 * browser...). On the wire it is "first-level encoded" (RFC 1001 section
 * 14.1): each byte becomes two letters 'A'-'P', high nibble first, so the
 * first label of the DNS-style name is exactly 32 such letters; labels
 * after it are the NetBIOS scope. Names may use compression pointers
 * (RFC 1002 section 4.1), so they are read with the DNS name reader.
 *
 * What comes out, in the DNS kinds so that an indicator on a domain name
 * matches a NetBIOS name too: each question name as DECODE_DNS_QUERY; the
 * name of each resource record (answer, authority and additional) as
 * DECODE_DNS_ANSWER with rrtype 0, unless it is the name reported just
 * before it (a registration names its question again in its additional
 * record); the addresses of an NB record (section 4.2.1.3: pairs of
 * NB_FLAGS and NB_ADDRESS) as DECODE_DNS_ANSWER with rrtype 1. A name is
 * reported as sent (NetBIOS names are sent in upper case, and Zeek logs
 * them so): the 15 characters with the trailing padding (spaces, or the
 * NULs of the wildcard name "*") removed and the suffix byte dropped, as
 * Zeek's decode_netbios_name does, then ".scope" when there is a scope.
 * A NUL left inside is written '?'. A name whose first label is not 32
 * letters 'A'-'P', or that is empty once the padding is gone, and records
 * running past the message are counted as malformed DNS; a compression
 * loop as a DNS loop. Nothing is kept between packets.
 */
#include <string.h>

#include "decode_int.h"

#define NBNS_ENCODED 32 /* letters of a first-level encoded name */
#define NBNS_TYPE_NB 0x20

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Decodes the encoded name in text (as the DNS name reader wrote it) in
 * place; its new length, 0 when it is not a NetBIOS name. */
static size_t nbns_decode_name(char *text, size_t len)
{
	char name[16];
	size_t n = 15, scope;

	if (len < NBNS_ENCODED || (len > NBNS_ENCODED && text[NBNS_ENCODED] != '.'))
		return 0;
	scope = len - NBNS_ENCODED;
	for (size_t i = 0; i < 16; i++) {
		uint8_t hi = (uint8_t)(text[2 * i] - 'A');
		uint8_t lo = (uint8_t)(text[2 * i + 1] - 'A');
		if (hi > 15 || lo > 15)
			return 0;
		name[i] = (char)(hi << 4 | lo);
	}
	while (n && (name[n - 1] == ' ' || name[n - 1] == 0))
		n--; /* the 16th byte, the suffix, is left out */
	if (n == 0)
		return 0;
	memcpy(text, name, n);
	memmove(text + n, text + NBNS_ENCODED, scope + 1); /* with the NUL */
	for (char *z; (z = memchr(text, 0, n + scope)) != NULL;)
		*z = '?';
	return n + scope;
}

void decode_nbns(decode_ctx *d, const decode_flow *f, const uint8_t *m,
		 size_t mlen)
{
	char names[2][256]; /* names[!cur]: the name reported last */
	int cur = 0, have_last = 0;
	size_t off = 12, nl, last_len = 0;
	unsigned qd, rr;
	decode_err why = DECODE_E_DNS_MALFORMED;

	if (mlen < 12)
		goto bad;
	qd = be16(m + 4);
	rr = (unsigned)be16(m + 6) + be16(m + 8) + be16(m + 10);
	for (unsigned i = 0; i < qd + rr; i++) {
		char *name = names[cur];
		if (decode_dns_name(m, mlen, &off, name, &nl, &why) != 0)
			goto bad;
		why = DECODE_E_DNS_MALFORMED;
		if ((nl = nbns_decode_name(name, nl)) == 0)
			goto bad;
		if (i < qd) {
			if (off + 4 > mlen)
				goto bad;
			off += 4;
			decode_emit(d, DECODE_DNS_QUERY, f, 0, name, nl);
		} else {
			uint16_t type, rdlen;
			if (off + 10 > mlen)
				goto bad;
			type = be16(m + off);
			rdlen = be16(m + off + 8);
			off += 10;
			if (rdlen > mlen - off)
				goto bad;
			if (!have_last || last_len != nl ||
			    memcmp(name, names[cur ^ 1], nl))
				decode_emit(d, DECODE_DNS_ANSWER, f, 0, name, nl);
			if (type == NBNS_TYPE_NB) {
				for (size_t a = 0; a + 6 <= rdlen; a += 6) {
					char t[16];
					size_t tl = decode_fmt_ipv4(d, t, m + off + a + 2);
					decode_emit(d, DECODE_DNS_ANSWER, f, 1, t, tl);
				}
			}
			off += rdlen;
		}
		cur ^= 1;
		have_last = 1;
		last_len = nl;
	}
	return;
bad:
	decode_count(d, why);
}
