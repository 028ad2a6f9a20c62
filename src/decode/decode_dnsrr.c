/*
 * decode_dnsrr.c: the host name a DNS record's data points to, for the
 * records whose target is as telling as their owner: the mail exchanger of
 * an MX, the server of an NS (an answer, or the authority section of a
 * referral), the host of a PTR (a reverse lookup), the target of an SRV,
 * the primary server of an SOA (MNAME; RNAME is a mailbox, not a host),
 * the target of a CNAME or DNAME, and the TargetName of an SVCB or HTTPS
 * record. dns_parse (decode_app.c) calls it for every record of every
 * section it reads and reports what it returns as DECODE_DNS_ANSWER with
 * the record's type.
 *
 * One table (dns_targets) says for each type where its name sits in the
 * data and whether it may be a compression pointer. Names that RFC 1035
 * section 4.1.4 lets a server compress (NS, CNAME, SOA, PTR, MX), SRV
 * (RFC 2782 forbids it, but mDNS, RFC 6762 section 18.14, compresses it)
 * and DNAME (RFC 6672 section 2.5 forbids sending it compressed; a
 * resolver that follows the pointer anyway would go where it points, so
 * it is read as one) are decompressed with dns_name's loop guards (every
 * pointer jumps strictly backwards, at most 64 jumps, 255 bytes on the
 * wire); the SVCB/HTTPS TargetName, uncompressed by RFC 9460 section 2.2,
 * is malformed if it holds a pointer. A name must end inside the record's
 * data (a pointer may lead before it, never after). The root (".": a null
 * MX, RFC 7505; an SRV "service not here"; SVCB's "the owner itself")
 * names no host and is not reported.
 */
#include "decode_int.h"

/* The records that name a host, and where: the name starts `skip` bytes
 * into the data. */
static const struct {
	uint16_t type;
	uint8_t skip;
	uint8_t compressed; /* a compression pointer may stand in it */
} dns_targets[] = {
	{2, 0, 1},  /* NS: NSDNAME (RFC 1035 section 3.3.11) */
	{5, 0, 1},  /* CNAME (section 3.3.1) */
	{6, 0, 1},  /* SOA: MNAME, then RNAME (section 3.3.13) */
	{12, 0, 1}, /* PTR: PTRDNAME (section 3.3.12) */
	{15, 2, 1}, /* MX: PREFERENCE, EXCHANGE (section 3.3.9) */
	{33, 6, 1}, /* SRV: priority, weight, port, target (RFC 2782) */
	{39, 0, 1}, /* DNAME (RFC 6672 section 2.1) */
	{64, 2, 0}, /* SVCB: SvcPriority, TargetName (RFC 9460 section 2.2) */
	{65, 2, 0}, /* HTTPS: the same (RFC 9460 section 9) */
};

/* The name at m[off] has no compression pointer and ends before end. */
static int dns_uncompressed(const uint8_t *m, size_t off, size_t end)
{
	while (off < end) {
		if (m[off] & 0xc0)
			return 0;
		if (m[off] == 0)
			return 1;
		off += (size_t)m[off] + 1;
	}
	return 0;
}

int decode_dns_target(const uint8_t *m, size_t off, size_t rdlen,
		      uint16_t type, char out[256], size_t *outlen,
		      size_t *at, decode_err *why)
{
	size_t i, n = sizeof dns_targets / sizeof dns_targets[0];
	size_t end = off + rdlen;
	for (i = 0; i < n && dns_targets[i].type != type; i++)
		;
	if (i == n)
		return 0;
	*why = DECODE_E_DNS_MALFORMED;
	if (rdlen <= dns_targets[i].skip)
		return -1;
	off += dns_targets[i].skip;
	*at = off;
	if (!dns_targets[i].compressed && !dns_uncompressed(m, off, end))
		return -1;
	/* read as if the message ended with the record's data, so the name
	 * cannot run past it (a pointer leads backwards, into the message) */
	if (decode_dns_name(m, end, &off, out, outlen, why) != 0)
		return -1;
	return *outlen == 1 && out[0] == '.' ? 0 : 1;
}
