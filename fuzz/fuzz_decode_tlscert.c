/*
 * fuzz_decode_tlscert.c: libFuzzer harness for the reader of a TLS server's
 * flight (decode_tlscert.c) behind the TCP reassembly (decode_flow.c).
 *
 * A fixed ClientHello goes from the client to port 443 first, so that the
 * server's direction is read for its certificates; the fuzzed bytes are
 * that server's stream, cut into segments at fuzzed points. Input layout:
 *
 *   byte 0   mode: bits 0-3 number of cuts (0-15); bit 4 every segment is
 *            sent twice (retransmissions); bit 5 each segment after the
 *            first overlaps the previous one by up to 7 bytes; bit 6 the
 *            second segment is left out (a gap); bit 7 one slot for two
 *            connections, the second getting the same bytes interleaved
 *   bytes 1+ one byte per cut: where it falls, as a fraction of the stream
 *   the rest the server's stream
 *
 * Besides fuzz_observe's checks, every certificate digest must be 40 or 64
 * lowercase hex digits, SHA-1 and SHA-256 in pairs.
 *
 * Seeds (fuzz/corpus/decode_tlscert/, see its README): server flights of
 * the Zeek test traces (TLS 1.0 to 1.2, ECDHE, TLS 1.3), plus hand-made
 * hostile ones (one of them a flight in one-byte records).
 */
#include <stdint.h>

#include "fuzz_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t client_hello[] = {
	22, 3, 1, 0, 47,                 /* record */
	1, 0, 0, 43, 3, 3,               /* ClientHello, TLS 1.2 */
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
	21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
	0,                               /* session id */
	0, 2, 0xc0, 0x2f,                /* cipher suites */
	1, 0,                            /* compression */
	0, 0,                            /* no extensions */
};

typedef struct cert_seen {
	fuzz_seen base;
	uint64_t sha1, sha256;
} cert_seen;

static void observe(const decode_observable *o, void *user)
{
	cert_seen *s = user;
	fuzz_observe(o, &s->base);
	if (o->kind != DECODE_TLS_CERT_SHA1 && o->kind != DECODE_TLS_CERT_SHA256)
		return;
	if (o->len != (o->kind == DECODE_TLS_CERT_SHA1 ? 40u : 64u))
		abort();
	for (size_t i = 0; i < o->len; i++)
		if (!((o->value[i] >= '0' && o->value[i] <= '9') ||
		      (o->value[i] >= 'a' && o->value[i] <= 'f')))
			abort();
	if (o->kind == DECODE_TLS_CERT_SHA1)
		s->sha1++;
	else if (++s->sha256 != s->sha1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[FUZZ_IP_MAX];
	decode_config cfg = {0};
	size_t cut[17], ncut, n = 0, len, l;
	const uint8_t *s;
	cert_seen seen;
	decode_ctx *d;
	uint8_t mode;
	int64_t ts = 1000000;
	int conns;

	if (size < 1)
		return 0;
	mode = data[0];
	ncut = mode & 15;
	if (size < 1 + ncut)
		return 0;
	s = data + 1 + ncut;
	len = size - 1 - ncut;
	if (len > FUZZ_IP_MAX - 40)
		len = FUZZ_IP_MAX - 40;
	n = fuzz_cut_points(data + 1, ncut, len, cut);

	memset(&seen, 0, sizeof seen);
	cfg.flows = 8;
	cfg.frag_slots = 1;
	cfg.frag_max_bytes = 64;
	cfg.emit_addresses = 1;
	cfg.tls_cert_slots = (mode & 0x80) ? 1 : 4;
	d = decode_new(&cfg, observe, &seen);
	if (!d)
		return 0;
	conns = (mode & 0x80) ? 2 : 1;
	for (int c = 0; c < conns; c++) {
		l = fuzz_tcp(pkt, (uint16_t)(49152 + c), 443, 1, FUZZ_ACK | FUZZ_PSH,
			     client_hello, sizeof client_hello, 0);
		fuzz_packet(d, DECODE_LINK_RAW, pkt, l, ts++);
	}
	for (size_t k = 0; k < n; k++) {
		size_t from = cut[k], to = cut[k + 1], back;
		if (to == from || ((mode & 0x40) && k == 1))
			continue;
		back = (mode & 0x20) && k > 0 ? (size_t)(s[from] & 7) : 0;
		if (back > from)
			back = from;
		from -= back;
		for (int c = 0; c < conns; c++) {
			l = fuzz_tcp(pkt, 443, (uint16_t)(49152 + c), 7 + (uint32_t)from,
				     FUZZ_ACK | FUZZ_PSH, s + from, to - from, 1);
			for (int rep = (mode & 0x10) ? 2 : 1; rep > 0; rep--)
				fuzz_packet(d, DECODE_LINK_RAW, pkt, l, ts++);
		}
	}
	if (seen.sha1 != seen.sha256)
		abort();
	fuzz_check_stats(d, &seen.base);
	decode_free(d);
	return 0;
}
