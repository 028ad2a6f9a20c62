/*
 * fuzz_decode_httpfile.c: libFuzzer harness for the hashing of HTTP/1.x
 * message bodies (decode_httpfile.c) behind the request parser
 * (decode_app.c) and the TCP reassembly (decode_flow.c).
 *
 * Both directions are fuzzed: a client stream of requests (bodies of
 * uploads among them) to port 80 and the server's stream of responses,
 * each cut into segments at the same fuzzed fractions and sent in turn
 * (client segment, then server segment), so that pipelined requests and
 * their responses interleave as on the wire. Input layout:
 *
 *   byte 0   mode: bits 0-3 number of cuts (0-15); bit 4 every segment is
 *            sent twice (retransmissions); bit 5 each server segment after
 *            the first overlaps the previous one by up to 7 bytes; bit 6
 *            the second server segment is left out (a gap); bit 7 one body
 *            slot and a 256-byte stream buffer
 *   byte 1   bits 0-2 the DECODE_HASH_* digests asked for; bit 3 the
 *            server ends with a FIN, bit 4 with a RST (after the FIN if
 *            both); bit 5 the hashes are turned off half way
 *   bytes 2+ one byte per cut: where it falls, as a fraction of a stream
 *   2 bytes  the client stream's length (big-endian, cut to what is left)
 *   the rest the client stream, then the server stream
 *
 * Besides fuzz_observe's checks, every file digest must be 32, 40 or 64
 * lowercase hex digits as its kind says, only the kinds asked for may
 * appear, and a body's digests come as one of each kind asked for, in
 * kind order, so their counts are equal.
 *
 * Seeds (fuzz/corpus/decode_httpfile/, see its README): the two streams of
 * HTTP downloads in the Suricata-verify and Zeek test captures (the EICAR
 * download, gzip, pipelining, an upload), plus hand-made ones (chunked
 * with extensions and trailers, deflate, HEAD, 204/304, 206, until close).
 */
#include <stdint.h>

#include "fuzz_net.h"

#define HTTPFILE_FIN 0x01

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct file_seen {
	fuzz_seen base;
	unsigned mask;
	unsigned next; /* the kind expected next within a body, 0 = a new body */
	uint64_t n[3];
} file_seen;

static void observe(const decode_observable *o, void *user)
{
	static const size_t hexlen[3] = {32, 40, 64};
	file_seen *s = user;
	fuzz_observe(o, &s->base);
	if (o->kind != DECODE_FILE_MD5 && o->kind != DECODE_FILE_SHA1 &&
	    o->kind != DECODE_FILE_SHA256)
		return;
	unsigned k = (unsigned)(o->kind - DECODE_FILE_MD5);
	if (o->len != hexlen[k])
		abort();
	for (size_t i = 0; i < o->len; i++)
		if (!((o->value[i] >= '0' && o->value[i] <= '9') ||
		      (o->value[i] >= 'a' && o->value[i] <= 'f')))
			abort();
	if (!(s->mask & (1u << k)))
		abort();
	/* within a body: each kind asked for once, in order */
	if (s->next && k != s->next - 1)
		abort();
	if (!s->next && (s->mask & ((1u << k) - 1)))
		abort(); /* a body starts with the first kind asked for */
	unsigned later = s->mask & ~((2u << k) - 1);
	s->next = later ? (unsigned)__builtin_ctz(later) + 1 : 0;
	s->n[k]++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[FUZZ_IP_MAX];
	decode_config cfg = {0};
	size_t ncut, n, len, clen, slen, l;
	const uint8_t *cs, *ss;
	file_seen seen;
	decode_ctx *d;
	uint8_t mode, flags;
	int64_t ts = 1000000;
	uint32_t cseq = 1, sseq = 1;

	if (size < 2)
		return 0;
	mode = data[0];
	flags = data[1];
	ncut = mode & 15;
	if (size < 4 + ncut)
		return 0;
	clen = (size_t)data[2 + ncut] << 8 | data[3 + ncut];
	len = size - 4 - ncut;
	if (clen > len)
		clen = len;
	cs = data + 4 + ncut;
	ss = cs + clen;
	slen = len - clen;
	if (clen > FUZZ_IP_MAX - 40)
		clen = FUZZ_IP_MAX - 40;
	if (slen > FUZZ_IP_MAX - 40)
		slen = FUZZ_IP_MAX - 40;

	memset(&seen, 0, sizeof seen);
	seen.mask = flags & 7;
	cfg.flows = 4;
	cfg.flow_buf = (mode & 0x80) ? 256 : 4096;
	cfg.frag_slots = 1;
	cfg.frag_max_bytes = 64;
	cfg.emit_addresses = 1;
	cfg.http_file_slots = (mode & 0x80) ? 1 : 4;
	cfg.file_hashes = seen.mask;
	d = decode_new(&cfg, observe, &seen);
	if (!d)
		return 0;
	size_t ccut[17], scut[17];
	n = fuzz_cut_points(data + 2, ncut, clen, ccut);
	fuzz_cut_points(data + 2, ncut, slen, scut);
	for (size_t k = 0; k < n; k++) {
		if (k == n / 2 && (flags & 0x20)) {
			decode_set_file_hashes(d, 0); /* bodies begun keep theirs */
		}
		if (ccut[k + 1] > ccut[k]) {
			l = fuzz_tcp(pkt, 49152, 80, cseq + (uint32_t)ccut[k], FUZZ_ACK | FUZZ_PSH,
				     cs + ccut[k], ccut[k + 1] - ccut[k], 0);
			for (int rep = (mode & 0x10) ? 2 : 1; rep > 0; rep--)
				fuzz_packet(d, DECODE_LINK_RAW, pkt, l, ts++);
		}
		size_t from = scut[k], to = scut[k + 1], back;
		if (to == from || ((mode & 0x40) && k == 1))
			continue;
		back = (mode & 0x20) && k > 0 ? (size_t)(ss[from] & 7) : 0;
		if (back > from)
			back = from;
		from -= back;
		l = fuzz_tcp(pkt, 80, 49152, sseq + (uint32_t)from, FUZZ_ACK | FUZZ_PSH, ss + from,
			     to - from, 1);
		for (int rep = (mode & 0x10) ? 2 : 1; rep > 0; rep--)
			fuzz_packet(d, DECODE_LINK_RAW, pkt, l, ts++);
	}
	if (flags & 0x08) {
		l = fuzz_tcp(pkt, 80, 49152, sseq + (uint32_t)slen, FUZZ_ACK | HTTPFILE_FIN, NULL, 0, 1);
		fuzz_packet(d, DECODE_LINK_RAW, pkt, l, ts++);
	}
	if (flags & 0x10) {
		l = fuzz_tcp(pkt, 49152, 80, cseq + (uint32_t)clen, FUZZ_RST, NULL, 0, 0);
		fuzz_packet(d, DECODE_LINK_RAW, pkt, l, ts++);
	}
	if (seen.next)
		abort(); /* a body's digests cut off midway */
	for (int k = 0; k < 3; k++)
		if ((seen.mask >> k & 1) && seen.n[k] != seen.n[__builtin_ctz(seen.mask)])
			abort();
	fuzz_check_stats(d, &seen.base);
	decode_free(d);
	return 0;
}
