/*
 * fuzz_net.h: what the decode harnesses share: packets built around a
 * fuzzed payload, a TCP stream cut into segments at fuzzed points, and an
 * observable callback that checks the decode module's promises.
 *
 * Each layer's harness (fuzz_decode_<layer>.c) wraps its fuzzed bytes in
 * well-formed lower layers built here (IPv4 with a correct header checksum
 * and total length, UDP with a correct length, TCP with consecutive
 * sequence numbers), so the fuzzer spends its time in the layer under test
 * instead of rediscovering the headers below it. Only decode.h is used.
 *
 * Invariants checked on every observable (a breach aborts, which libFuzzer
 * and the replay driver report as a crash): the kind is a known one, the
 * flow is given, the text is NUL-terminated at exactly len bytes (values may
 * hold any byte but NUL), and every byte of it is readable (the sanitizers
 * check the bounds). fuzz_check_stats() compares the context's counters
 * with what the callback saw.
 *
 * Everything here is static inline so a harness that uses only part of it
 * builds without unused-function warnings.
 */
#ifndef RK_FUZZ_NET_H
#define RK_FUZZ_NET_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

/* An IPv4 packet of at most 65535 bytes. */
#define FUZZ_IP_MAX 65535u

typedef struct fuzz_seen {
	uint64_t count[DECODE_KIND_COUNT];
	size_t sum; /* keeps the reads of each value from being optimised away */
} fuzz_seen;

static inline void fuzz_observe(const decode_observable *o, void *user)
{
	fuzz_seen *s = user;

	if ((unsigned)o->kind >= DECODE_KIND_COUNT || !o->flow || !o->value)
		abort();
	if (o->value[o->len] != 0 || strlen(o->value) != o->len)
		abort();
	for (size_t i = 0; i < o->len; i++)
		s->sum += (uint8_t)o->value[i];
	if (o->flow->family != 4 && o->flow->family != 6)
		abort();
	s->count[o->kind]++;
}

/* The context counted exactly the observables the callback was given. */
static inline void fuzz_check_stats(const decode_ctx *d, const fuzz_seen *s)
{
	const decode_stats *st = decode_get_stats(d);
	for (int k = 0; k < DECODE_KIND_COUNT; k++)
		if (st->observables[k] != s->count[k])
			abort();
}

/* Decodes a copy of the packet in a heap block of exactly len bytes, so a
 * read past the captured length is an AddressSanitizer report even when
 * the packet was cut from a larger buffer. */
static inline int fuzz_packet(decode_ctx *d, int link, const uint8_t *p,
			      size_t len, int64_t ts)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	if (!copy)
		return 0;
	if (len)
		memcpy(copy, p, len);
	rc = decode_packet(d, link, copy, len, ts);
	free(copy);
	return rc;
}

static inline void fuzz_put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void fuzz_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Writes a 20-byte IPv4 header for a payload of plen bytes (the caller
 * keeps 20 + plen <= FUZZ_IP_MAX) from 192.0.2.1 to 198.51.100.2, or the
 * other way round when reverse is set. */
static inline void fuzz_ip4(uint8_t *p, uint8_t proto, size_t plen,
			    int reverse)
{
	static const uint8_t a[4] = {192, 0, 2, 1}, b[4] = {198, 51, 100, 2};
	uint32_t sum = 0;

	memset(p, 0, 20);
	p[0] = 0x45;
	fuzz_put16(p + 2, (unsigned)(20 + plen));
	fuzz_put16(p + 4, 0x1234);
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, reverse ? b : a, 4);
	memcpy(p + 16, reverse ? a : b, 4);
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	fuzz_put16(p + 10, ~sum & 0xffff);
}

/* IPv4 + UDP around pl; returns the packet length (the payload is cut to
 * what fits in one IPv4 packet). */
static inline size_t fuzz_udp(uint8_t *out, uint16_t sport, uint16_t dport,
			      const uint8_t *pl, size_t len, int reverse)
{
	if (len > FUZZ_IP_MAX - 28)
		len = FUZZ_IP_MAX - 28;
	fuzz_ip4(out, 17, 8 + len, reverse);
	fuzz_put16(out + 20, sport);
	fuzz_put16(out + 22, dport);
	fuzz_put16(out + 24, (unsigned)(8 + len));
	fuzz_put16(out + 26, 0);
	if (len)
		memcpy(out + 28, pl, len);
	return 28 + len;
}

/* One UDP datagram sport -> dport holding the input, decoded by a context
 * of the smallest tables (one flow, one fragment slot) with its counts
 * checked; reverse as for fuzz_udp (the server's direction). */
static inline void fuzz_one_datagram(const uint8_t *data, size_t size, uint16_t sport,
				     uint16_t dport, int reverse)
{
	static uint8_t pkt[FUZZ_IP_MAX];
	fuzz_seen seen = {{0}, 0};
	decode_config cfg = {0};
	decode_ctx *d;

	cfg.emit_addresses = 0;
	cfg.flows = 1;
	cfg.frag_slots = 1;
	cfg.frag_max_bytes = 64;
	d = decode_new(&cfg, fuzz_observe, &seen);
	if (!d)
		return;
	size_t l = fuzz_udp(pkt, sport, dport, data, size, reverse);
	fuzz_packet(d, DECODE_LINK_RAW, pkt, l, 1);
	fuzz_check_stats(d, &seen);
	decode_free(d);
}

#define FUZZ_SYN 0x02
#define FUZZ_RST 0x04
#define FUZZ_ACK 0x10
#define FUZZ_PSH 0x08

/* IPv4 + a 20-byte TCP header around pl; returns the packet length. */
static inline size_t fuzz_tcp(uint8_t *out, uint16_t sport, uint16_t dport,
			      uint32_t seq, uint8_t flags, const uint8_t *pl,
			      size_t len, int reverse)
{
	if (len > FUZZ_IP_MAX - 40)
		len = FUZZ_IP_MAX - 40;
	fuzz_ip4(out, 6, 20 + len, reverse);
	memset(out + 20, 0, 20);
	fuzz_put16(out + 20, sport);
	fuzz_put16(out + 22, dport);
	fuzz_put32(out + 24, seq);
	out[32] = 5 << 4;
	out[33] = flags;
	fuzz_put16(out + 34, 65535);
	if (len)
		memcpy(out + 40, pl, len);
	return 40 + len;
}

/* Where a stream of len bytes is cut: cut[0] = 0, then one point per pick
 * byte (its fraction of len), in order, then cut[n] = len; returns n, the
 * number of pieces. cut has room for npicks + 2. */
static inline size_t fuzz_cut_points(const uint8_t *picks, size_t npicks, size_t len,
				     size_t *cut)
{
	size_t n = 0;
	cut[n++] = 0;
	for (size_t i = 0; i < npicks; i++) {
		size_t at = len * picks[i] / 256, j = n;
		while (j > 1 && cut[j - 1] > at) { /* insertion sort */
			cut[j] = cut[j - 1];
			j--;
		}
		cut[j] = at;
		n++;
	}
	cut[n] = len;
	return n;
}

/*
 * fuzz_stream: delivers a client-to-server TCP stream to dport, cut into
 * segments at fuzzed points. Input layout:
 *
 *   byte 0   mode: bits 0-2 number of cuts (0-7); bit 3 no handshake (the
 *            flow is picked up mid-stream); bit 4 every segment is sent
 *            twice (retransmissions); bit 5 each segment after the first
 *            overlaps the previous one by up to 7 bytes; bit 6 the last
 *            segment is sent before the others (a gap, then old data);
 *            bit 7 a small stream buffer (256 bytes) instead of 4096
 *   bytes 1+ one byte per cut: where it falls, as a fraction of the stream
 *   the rest the stream
 *
 * The same bytes then come back from the server in one segment (the decoder
 * classifies each direction by its own first bytes, so the reply is parsed
 * too, in one piece, as a contrast to the cut stream), then a RST. The
 * context is created and freed here; observables are checked by
 * fuzz_observe.
 */
static inline void fuzz_stream(const uint8_t *data, size_t size,
			       uint16_t dport)
{
	static uint8_t pkt[FUZZ_IP_MAX];
	decode_config cfg = {0};
	size_t cut[9], ncut, n = 0, len;
	const uint8_t *s;
	uint32_t isn = 0xfffff000u; /* the stream wraps the sequence space */
	fuzz_seen seen = {{0}, 0};
	decode_ctx *d;
	uint8_t mode;
	int64_t ts = 1000000;

	if (size < 1)
		return;
	mode = data[0];
	ncut = mode & 7;
	if (size < 1 + ncut)
		return;
	s = data + 1 + ncut;
	len = size - 1 - ncut;
	if (len > FUZZ_IP_MAX - 40)
		len = FUZZ_IP_MAX - 40;
	n = fuzz_cut_points(data + 1, ncut, len, cut);

	cfg.flows = 4;
	cfg.flow_buf = (mode & 0x80) ? 256 : 4096;
	cfg.frag_slots = 1; /* no fragments here: keep the context small */
	cfg.frag_max_bytes = 64;
	cfg.emit_addresses = 1;
	d = decode_new(&cfg, fuzz_observe, &seen);
	if (!d)
		return;
	if (!(mode & 0x08)) {
		size_t l = fuzz_tcp(pkt, 49152, dport, isn - 1, FUZZ_SYN, NULL,
				    0, 0);
		fuzz_packet(d, DECODE_LINK_RAW, pkt, l, ts++);
		l = fuzz_tcp(pkt, dport, 49152, 7, FUZZ_SYN | FUZZ_ACK, NULL, 0,
			     1);
		fuzz_packet(d, DECODE_LINK_RAW, pkt, l, ts++);
	}
	for (size_t k = 0; k < n; k++) {
		size_t i = (mode & 0x40) ? (k + n - 1) % n : k;
		size_t from = cut[i], to = cut[i + 1];
		size_t back, l;
		if (to == from)
			continue;
		back = (mode & 0x20) && i > 0 ? (size_t)(s[from] & 7) : 0;
		if (back > from)
			back = from;
		from -= back;
		l = fuzz_tcp(pkt, 49152, dport, isn + (uint32_t)from,
			     FUZZ_ACK | FUZZ_PSH, s + from, to - from, 0);
		for (int rep = (mode & 0x10) ? 2 : 1; rep > 0; rep--)
			fuzz_packet(d, DECODE_LINK_RAW, pkt, l, ts++);
	}
	if (len) {
		size_t l = fuzz_tcp(pkt, dport, 49152, 8, FUZZ_ACK, s, len, 1);
		fuzz_packet(d, DECODE_LINK_RAW, pkt, l, ts++);
	}
	{
		size_t l = fuzz_tcp(pkt, 49152, dport, isn + (uint32_t)len,
				    FUZZ_RST, NULL, 0, 0);
		fuzz_packet(d, DECODE_LINK_RAW, pkt, l, ts++);
	}
	fuzz_check_stats(d, &seen);
	decode_free(d);
}

#endif
