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

typedef struct ip_span {
	const uint8_t *p;
	size_t len;
} ip_span;

static ip_span ip_at(const uint8_t *p, size_t len)
{
	ip_span s = {p, len};
	return s;
}

static const ip_span NO_IP = {NULL, 0};

static ip_span l3_find(uint16_t type, const uint8_t *p, size_t len)
{
	switch (type) {
	case 0x0800:
	case 0x86dd:
		return ip_at(p, len);
	case 0x8847:
		for (int n = 0; n < 8 && len >= 4; n++) {
			int bottom = p[2] & 1;
			p += 4;
			len -= 4;
			if (bottom)
				return ip_at(p, len);
		}
		return NO_IP;
	case 0x8864:
		if (len < 8)
			return NO_IP;
		if (p[6] & 1)
			return ip_at(p + 7, len - 7);
		return ip_at(p + 8, len - 8);
	default:
		return NO_IP;
	}
}

static ip_span find_ip(int linktype, const uint8_t *p, size_t caplen)
{
	switch (linktype) {
	case DECODE_LINK_ETHERNET: {
		if (caplen < 14)
			return NO_IP;
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
				return NO_IP;
			type = rd16(p + 6);
			p += 8;
			caplen -= 8;
		}
		return l3_find(type, p, caplen);
	}
	case DECODE_LINK_RAW:
	case DECODE_LINK_RAW_BSD:
	case DECODE_LINK_RAW_LT:
	case DECODE_LINK_IPV4:
	case DECODE_LINK_IPV6:
		return ip_at(p, caplen);
	case DECODE_LINK_NULL:
	case DECODE_LINK_LOOP:
		return caplen >= 4 ? ip_at(p + 4, caplen - 4) : NO_IP;
	case DECODE_LINK_SLL:
		return caplen >= 16 ? l3_find(rd16(p + 14), p + 16, caplen - 16) : NO_IP;
	case DECODE_LINK_SLL2:
		return caplen >= 20 ? l3_find(rd16(p), p + 20, caplen - 20) : NO_IP;
	case DECODE_LINK_C_HDLC:
		return caplen >= 4 ? l3_find(rd16(p + 2), p + 4, caplen - 4) : NO_IP;
	case DECODE_LINK_NFLOG: {
		size_t pos = 4;
		while (caplen >= pos + 4) {
			size_t tl = (size_t)(p[pos] | p[pos + 1] << 8);
			uint16_t tt = (uint16_t)(p[pos + 2] | p[pos + 3] << 8);
			if (tl < 4 || tl > caplen - pos)
				return NO_IP;
			if (tt == 9)
				return ip_at(p + pos + 4, tl - 4);
			pos += (tl + 3) & ~(size_t)3;
		}
		return NO_IP;
	}
	default:
		return NO_IP;
	}
}

uint32_t decode_packet_hash(int linktype, const uint8_t *pkt, size_t caplen)
{
	ip_span ip = find_ip(linktype, pkt, caplen);
	if (ip.p && ip.len >= 20 && ip.p[0] >> 4 == 4)
		return pair_hash(ip.p + 12, ip.p + 16, 4);
	if (ip.p && ip.len >= 40 && ip.p[0] >> 4 == 6)
		return pair_hash(ip.p + 8, ip.p + 24, 16);
	return 0;
}

int decode_packet_flow(int linktype, const uint8_t *pkt, size_t caplen, decode_flow *f)
{
	ip_span ip = find_ip(linktype, pkt, caplen);
	const uint8_t *p = ip.p, *t;
	size_t len = ip.len, hl;

	memset(f, 0, sizeof(*f));
	if (p && len >= 20 && p[0] >> 4 == 4) {
		hl = (size_t)(p[0] & 15) * 4;
		if (hl < 20 || hl > len)
			return -1;
		f->family = 4;
		f->proto = p[9];
		memcpy(f->src, p + 12, 4);
		memcpy(f->dst, p + 16, 4);
		if ((rd16(p + 6) & 0x1fff) != 0)
			return 0; /* a later fragment: no ports here */
		t = p + hl;
		len -= hl;
	} else if (p && len >= 40 && p[0] >> 4 == 6) {
		uint8_t nh = p[6];
		f->family = 6;
		memcpy(f->src, p + 8, 16);
		memcpy(f->dst, p + 24, 16);
		t = p + 40;
		len -= 40;
		for (int n = 0; n < DECODE_MAX_EXT && (nh == 0 || nh == 43 || nh == 60 || nh == 44);
		     n++) {
			if (len < 8)
				return 0;
			if (nh == 44 && (rd16(t + 2) & 0xfff8) != 0)
				return 0;
			hl = nh == 44 ? 8 : ((size_t)t[1] + 1) * 8;
			if (hl > len)
				return 0;
			nh = t[0];
			t += hl;
			len -= hl;
		}
		f->proto = nh;
	} else {
		return -1;
	}
	if ((f->proto == 6 || f->proto == 17) && len >= 4) {
		f->sport = rd16(t);
		f->dport = rd16(t + 2);
	}
	return 0;
}
