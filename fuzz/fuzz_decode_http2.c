/*
 * fuzz_decode_http2.c: libFuzzer harness for HTTP/2 in cleartext and DNS
 * over HTTPS (decode_http2.c: frames, HPACK, DoH) behind the TCP
 * reassembly (decode_flow.c), both directions of one connection.
 *
 * Input layout:
 *
 *   byte 0     mode: bits 0-2 number of cuts (0-7); bit 3 the connection
 *              is upgraded from HTTP/1.1 (Upgrade: h2c, 101) instead of
 *              prior knowledge; bit 7 a small stream buffer (256 bytes)
 *   bytes 1-2  length of the client's part (big-endian, cut to what is
 *              there)
 *   then one byte per cut: where it falls, as a fraction of each part
 *   the rest   the client's frames (sent after the preface), then the
 *              server's bytes (its frames, from its SETTINGS on)
 *
 * Both parts are cut at the same fractions and their segments alternate,
 * client first, so server SETTINGS, requests and responses interleave as
 * on the wire; a RST ends the connection. Every observable is checked by
 * fuzz_observe, and the counters against what it saw.
 *
 * Seeds (fuzz/corpus/decode_http2/, see its README): the two directions
 * of the h2c connections in the shared test captures, RFC 7541 Appendix C
 * header blocks in HEADERS frames, and hand-made DoH exchanges.
 */
#include <stdint.h>

#include "fuzz_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
static const char upgrade_req[] =
	"GET / HTTP/1.1\r\nHost: fuzz.example\r\nConnection: Upgrade, "
	"HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n";
static const char upgrade_resp[] =
	"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
	"Upgrade: h2c\r\n\r\n";

typedef struct side {
	uint32_t seq;
	int reverse;
	uint16_t sport, dport;
} side;

static void send_seg(decode_ctx *d, side *s, const uint8_t *p, size_t n,
		     uint8_t flags, int64_t *ts)
{
	static uint8_t pkt[FUZZ_IP_MAX];
	size_t l = fuzz_tcp(pkt, s->sport, s->dport, s->seq, flags, p, n,
			    s->reverse);
	fuzz_packet(d, DECODE_LINK_RAW, pkt, l, (*ts)++);
	s->seq += (uint32_t)n + (flags & FUZZ_SYN ? 1 : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode_config cfg = {0};
	fuzz_seen seen = {{0}, 0};
	side cli = {1000, 0, 49152, 80}, srv = {5000, 1, 80, 49152};
	size_t ncut, clen, slen, cut[9];
	const uint8_t *cp, *sp;
	decode_ctx *d;
	uint8_t mode;
	int64_t ts = 1000000;

	if (size < 3)
		return 0;
	mode = data[0];
	ncut = mode & 7;
	if (size < 3 + ncut)
		return 0;
	clen = (size_t)data[1] << 8 | data[2];
	cp = data + 3 + ncut;
	if (clen > size - 3 - ncut)
		clen = size - 3 - ncut;
	sp = cp + clen;
	slen = size - 3 - ncut - clen;
	if (clen > 60000 || slen > 60000)
		return 0;
	for (size_t i = 0; i < ncut; i++) /* fractions, sorted */
		cut[i] = data[3 + i];
	for (size_t i = 1; i < ncut; i++)
		for (size_t j = i; j > 0 && cut[j - 1] > cut[j]; j--) {
			size_t t = cut[j];
			cut[j] = cut[j - 1];
			cut[j - 1] = t;
		}

	cfg.flows = 4;
	cfg.flow_buf = (mode & 0x80) ? 256 : 4096;
	cfg.frag_slots = 1;
	cfg.frag_max_bytes = 64;
	d = decode_new(&cfg, fuzz_observe, &seen);
	if (!d)
		return 0;
	send_seg(d, &cli, NULL, 0, FUZZ_SYN, &ts);
	send_seg(d, &srv, NULL, 0, FUZZ_SYN | FUZZ_ACK, &ts);
	if (mode & 0x08) {
		send_seg(d, &cli, (const uint8_t *)upgrade_req,
			 sizeof upgrade_req - 1, FUZZ_ACK | FUZZ_PSH, &ts);
		send_seg(d, &srv, (const uint8_t *)upgrade_resp,
			 sizeof upgrade_resp - 1, FUZZ_ACK | FUZZ_PSH, &ts);
	}
	send_seg(d, &cli, (const uint8_t *)preface, 24, FUZZ_ACK | FUZZ_PSH,
		 &ts);
	for (size_t k = 0; k <= ncut; k++) {
		size_t cf = k ? clen * cut[k - 1] / 256 : 0;
		size_t ct = k < ncut ? clen * cut[k] / 256 : clen;
		size_t sf = k ? slen * cut[k - 1] / 256 : 0;
		size_t st = k < ncut ? slen * cut[k] / 256 : slen;
		if (ct > cf)
			send_seg(d, &cli, cp + cf, ct - cf, FUZZ_ACK | FUZZ_PSH,
				 &ts);
		if (st > sf)
			send_seg(d, &srv, sp + sf, st - sf, FUZZ_ACK | FUZZ_PSH,
				 &ts);
	}
	send_seg(d, &cli, NULL, 0, FUZZ_RST, &ts);
	fuzz_check_stats(d, &seen);
	decode_free(d);
	return 0;
}
