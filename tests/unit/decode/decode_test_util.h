/*
 * decode_test_util.h: hand-built packets for the decode tests and for the
 * fuzz seed corpus (test_decode_packets writes them out when asked).
 *
 * Builders append to a pkt (a fixed 4 KB frame): link headers first, then
 * an IP header whose lengths and checksum are fixed up by pkt_finish_ip*,
 * then a transport header and payload. Everything is static inline so
 * each test program takes only what it uses. A `seen` collects what a
 * decode context reports, as "kind=value" texts, addresses left out.
 */
#ifndef RK_DECODE_TEST_UTIL_H
#define RK_DECODE_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"

#define SEEN_MAX 64

typedef struct seen {
	int n;
	char v[SEEN_MAX][300];
} seen;

/* A decode_cb: every observable but the packet's addresses into a seen. */
static inline void collect(const decode_observable *o, void *user)
{
	seen *s = user;
	if (o->kind == DECODE_ADDR_SRC || o->kind == DECODE_ADDR_DST)
		return;
	if (s->n < SEEN_MAX)
		snprintf(s->v[s->n++], sizeof s->v[0], "%s=%s",
			 decode_kind_name(o->kind), o->value);
}

static inline int has(const seen *s, const char *want)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], want))
			return 1;
	return 0;
}

typedef struct pkt {
	uint8_t b[4096];
	size_t n;
	size_t ip;   /* offset of the IP header */
	size_t l4;   /* offset of the transport header */
} pkt;

static inline void put(pkt *p, const void *v, size_t n)
{
	if (n == 0)
		return;
	memcpy(p->b + p->n, v, n);
	p->n += n;
}

static inline void put8(pkt *p, unsigned v)
{
	p->b[p->n++] = (uint8_t)v;
}

static inline void put16(pkt *p, unsigned v)
{
	put8(p, v >> 8);
	put8(p, v & 0xff);
}

static inline void put32(pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

static inline void set16(pkt *p, size_t at, unsigned v)
{
	p->b[at] = (uint8_t)(v >> 8);
	p->b[at + 1] = (uint8_t)v;
}

static inline void eth(pkt *p, int vlans, unsigned type)
{
	static const uint8_t mac[12] = {0, 1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 10};
	p->n = 0;
	put(p, mac, 12);
	for (int i = 0; i < vlans; i++) {
		put16(p, i == 0 && vlans > 1 ? 0x88a8 : 0x8100);
		put16(p, 100 + i);
	}
	put16(p, type);
}

/* IPv4 header 10.0.0.1 -> 10.0.0.2 (a, b choose the last bytes). */
static inline void ip4(pkt *p, unsigned proto, unsigned id, unsigned frag,
		       unsigned a, unsigned b)
{
	p->ip = p->n;
	put8(p, 0x45);
	put8(p, 0);
	put16(p, 0); /* total length: pkt_finish_ip4 */
	put16(p, id);
	put16(p, frag);
	put8(p, 64);
	put8(p, proto);
	put16(p, 0);
	put8(p, 10); put8(p, 0); put8(p, 0); put8(p, a);
	put8(p, 10); put8(p, 0); put8(p, 0); put8(p, b);
	p->l4 = p->n;
}

static inline void pkt_finish_ip4(pkt *p)
{
	uint32_t sum = 0;
	set16(p, p->ip + 2, (unsigned)(p->n - p->ip));
	set16(p, p->ip + 10, 0);
	for (size_t i = 0; i < 20; i += 2)
		sum += (uint32_t)(p->b[p->ip + i] << 8 | p->b[p->ip + i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	set16(p, p->ip + 10, ~sum & 0xffff);
}

/* IPv6 header 2001:db8::1 -> 2001:db8::2; next header nh. */
static inline void ip6(pkt *p, unsigned nh)
{
	uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
	p->ip = p->n;
	put32(p, 0x60000000);
	put16(p, 0);
	put8(p, nh);
	put8(p, 64);
	a[15] = 1;
	put(p, a, 16);
	a[15] = 2;
	put(p, a, 16);
	p->l4 = p->n;
}

static inline void pkt_finish_ip6(pkt *p)
{
	set16(p, p->ip + 4, (unsigned)(p->n - p->ip - 40));
}

static inline void udp(pkt *p, unsigned sport, unsigned dport,
		       const void *pl, size_t n)
{
	p->l4 = p->n;
	put16(p, sport);
	put16(p, dport);
	put16(p, (unsigned)(8 + n));
	put16(p, 0);
	put(p, pl, n);
}

static inline void tcp(pkt *p, unsigned sport, unsigned dport, uint32_t seq,
		       unsigned flags, const void *pl, size_t n)
{
	p->l4 = p->n;
	put16(p, sport);
	put16(p, dport);
	put32(p, seq);
	put32(p, 0);
	put8(p, 5 << 4);
	put8(p, flags);
	put16(p, 65535);
	put16(p, 0);
	put16(p, 0);
	put(p, pl, n);
}

/* A DNS query for name (dotted) of type A; returns its length. */
static inline size_t dns_query(uint8_t *out, const char *name, unsigned id)
{
	size_t n = 0;
	const char *s = name;
	uint8_t hdr[12] = {(uint8_t)(id >> 8), (uint8_t)id, 1, 0, 0, 1};
	memcpy(out, hdr, 12);
	n = 12;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		out[n++] = (uint8_t)l;
		memcpy(out + n, s, l);
		n += l;
		s += l + (dot ? 1 : 0);
	}
	out[n++] = 0;
	out[n++] = 0; out[n++] = 1; out[n++] = 0; out[n++] = 1;
	return n;
}

/* A TLS ClientHello handshake message (no record header) naming sni. */
static inline size_t tls_client_hello(uint8_t *out, const char *sni)
{
	size_t n = 0, sl = strlen(sni), body;
	out[n++] = 1;
	n += 3; /* length */
	out[n++] = 3; out[n++] = 3;
	memset(out + n, 0x11, 32); n += 32;
	out[n++] = 0;              /* session id */
	out[n++] = 0; out[n++] = 4;
	out[n++] = 0x13; out[n++] = 1; out[n++] = 0xc0; out[n++] = 0x2f;
	out[n++] = 1; out[n++] = 0;  /* compression: null */
	size_t ext_len = 4 + 2 + 3 + sl + 4 + 3; /* server_name, then supported_versions (TLS 1.3) */
	out[n++] = (uint8_t)(ext_len >> 8); out[n++] = (uint8_t)ext_len;
	out[n++] = 0; out[n++] = 0;  /* server_name */
	out[n++] = (uint8_t)((sl + 5) >> 8); out[n++] = (uint8_t)(sl + 5);
	out[n++] = (uint8_t)((sl + 3) >> 8); out[n++] = (uint8_t)(sl + 3);
	out[n++] = 0;
	out[n++] = (uint8_t)(sl >> 8); out[n++] = (uint8_t)sl;
	memcpy(out + n, sni, sl); n += sl;
	out[n++] = 0; out[n++] = 43; /* supported_versions: TLS 1.3 */
	out[n++] = 0; out[n++] = 3;
	out[n++] = 2; out[n++] = 0x03; out[n++] = 0x04;
	body = n - 4;
	out[1] = (uint8_t)(body >> 16); out[2] = (uint8_t)(body >> 8);
	out[3] = (uint8_t)body;
	return n;
}

#endif
