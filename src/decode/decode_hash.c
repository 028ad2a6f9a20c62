/*
 * decode_hash.c: which worker a packet belongs to, before decoding it.
 *
 * The sensor spreads packets over worker threads, each with its own
 * decode_ctx (fragment and TCP flow tables). Fragments of one datagram and
 * both directions of a TCP flow must meet in one context, so the key is
 * the outermost IP address pair only (fragments after the first carry no
 * ports), made symmetric by ordering the two addresses. The link layers
 * are walked as decode_packet walks them (decode_net.c), without counting
 * anything: a packet whose IP header cannot be found hashes to 0 and is
 * decoded, and counted as bad, by whichever worker gets it.
 *
 * Tunnelled traffic (GRE, VXLAN, IP-in-IP, ...) goes by its outer pair,
 * which is the same for every packet of an inner flow through one tunnel.
 */
#include <string.h>

#include "decode_int.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* FNV-1a over the smaller address, then the larger. */
static uint32_t pair_hash(const uint8_t *a, const uint8_t *b, size_t n)
{
	if (memcmp(a, b, n) > 0) {
		const uint8_t *t = a;
		a = b;
		b = t;
	}
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ a[i]) * 16777619u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	h ^= h >> 15;
	return h ? h : 1;
}

static uint32_t ip_hash(const uint8_t *p, size_t len)
{
	if (len >= 20 && p[0] >> 4 == 4)
		return pair_hash(p + 12, p + 16, 4);
	if (len >= 40 && p[0] >> 4 == 6)
		return pair_hash(p + 8, p + 24, 16);
	return 0;
}

static uint32_t l3_hash(uint16_t type, const uint8_t *p, size_t len)
{
	switch (type) {
	case 0x0800:
	case 0x86dd:
		return ip_hash(p, len);
	case 0x8847:
		for (int n = 0; n < 8 && len >= 4; n++) {
			int bottom = p[2] & 1;
			p += 4;
			len -= 4;
			if (bottom)
				return ip_hash(p, len);
		}
		return 0;
	case 0x8864:
		if (len < 8)
			return 0;
		if (p[6] & 1)
			return ip_hash(p + 7, len - 7);
		return ip_hash(p + 8, len - 8);
	default:
		return 0;
	}
}

uint32_t decode_packet_hash(int linktype, const uint8_t *p, size_t caplen)
{
	switch (linktype) {
	case DECODE_LINK_ETHERNET: {
		if (caplen < 14)
			return 0;
		uint16_t type = rd16(p + 12);
		p += 14;
		caplen -= 14;
		for (int n = 0; (type == 0x8100 || type == 0x88a8 || type == 0x9100) &&
				n < DECODE_MAX_VLAN && caplen >= 4;
		     n++) {
			type = rd16(p + 2);
			p += 4;
			caplen -= 4;
		}
		if (type <= 1500) {
			if (caplen < 8 || p[0] != 0xaa || p[1] != 0xaa || p[2] != 3)
				return 0;
			type = rd16(p + 6);
			p += 8;
			caplen -= 8;
		}
		return l3_hash(type, p, caplen);
	}
	case DECODE_LINK_RAW:
	case DECODE_LINK_RAW_BSD:
	case DECODE_LINK_RAW_LT:
	case DECODE_LINK_IPV4:
	case DECODE_LINK_IPV6:
		return ip_hash(p, caplen);
	case DECODE_LINK_NULL:
	case DECODE_LINK_LOOP:
		return caplen >= 4 ? ip_hash(p + 4, caplen - 4) : 0;
	case DECODE_LINK_SLL:
		return caplen >= 16 ? l3_hash(rd16(p + 14), p + 16, caplen - 16) : 0;
	case DECODE_LINK_SLL2:
		return caplen >= 20 ? l3_hash(rd16(p), p + 20, caplen - 20) : 0;
	case DECODE_LINK_C_HDLC:
		return caplen >= 4 ? l3_hash(rd16(p + 2), p + 4, caplen - 4) : 0;
	case DECODE_LINK_NFLOG: {
		size_t pos = 4;
		while (caplen >= pos + 4) {
			size_t tl = (size_t)(p[pos] | p[pos + 1] << 8);
			uint16_t tt = (uint16_t)(p[pos + 2] | p[pos + 3] << 8);
			if (tl < 4 || tl > caplen - pos)
				return 0;
			if (tt == 9)
				return ip_hash(p + pos + 4, tl - 4);
			pos += (tl + 3) & ~(size_t)3;
		}
		return 0;
	}
	default:
		return 0;
	}
}
