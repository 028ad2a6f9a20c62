/*
 * fuzz_decode_tcp.c: libFuzzer harness for the TCP flow table and stream
 * reassembly (decode_flow.c), with segments in any order, both directions
 * and several flows at once.
 *
 * Input: byte 0 sets the context: bit 0 a 256-byte stream buffer (else
 * 1024), bits 1-2 the flow table size minus one (1 to 4 flows, so a fourth
 * concurrent flow evicts one), bits 3-4 the fourth flow's server port:
 * 8080, or the mail ports 25, 143, 110 (SMTP, IMAP and POP3 lines read for
 * STARTTLS, then TLS both ways). Then records, each a header of four bytes
 * and a payload:
 *
 *   byte 0   bits 0-1 which flow (client port 40000+n to port 80, 443, 53
 *            or the fourth port, so HTTP, TLS, DNS over TCP, STARTTLS and
 *            content-classified traffic all occur); bit 2 server to client; bit 3 SYN; bit 4
 *            RST; bit 5 FIN; bit 6 no ACK; bit 7 the capture clock jumps
 *            200 s first (past the 120 s flow timeout)
 *   byte 1-2 sequence number offset from that direction's base number
 *            (big-endian, signed: a SYN at -1 puts data at 0), so segments
 *            overlap, repeat, leave gaps or go back; the bases sit just
 *            below 2^32, so streams wrap the sequence space
 *   byte 3   payload length (cut to what is left)
 *
 * Every segment is a correct IPv4/TCP packet (fuzz_net.h); observables are
 * checked by fuzz_observe and the counters by fuzz_check_stats. The
 * stream-shaped harnesses (fuzz_decode_http.c, fuzz_decode_tls.c) reach the
 * application parsers more directly; this one goes after the bookkeeping:
 * retransmission trimming, gap handling, RST reuse, eviction, timeouts.
 *
 * Seeds (fuzz/corpus/decode_tcp/, see its README): interleaved flows built
 * from the HTTP and TLS seeds, and hand-made disorder; an SMTP STARTTLS
 * session of the Zeek test traces, as captured and with the ClientHello
 * ahead of the server's answer.
 */
#include <stdint.h>

#include "fuzz_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t fourth[4] = {8080, 25, 143, 110};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[FUZZ_IP_MAX];
	fuzz_seen seen = {{0}, 0};
	decode_config cfg = {0};
	decode_ctx *d;
	int64_t ts = 1000000;
	size_t pos = 1;
	uint16_t dports[4] = {80, 443, 53, 8080};

	if (size < 1)
		return 0;
	dports[3] = fourth[(data[0] >> 3) & 3];
	cfg.flow_buf = (data[0] & 1) ? 256 : 1024;
	cfg.flows = 1 + ((data[0] >> 1) & 3);
	cfg.flow_timeout_s = 120;
	cfg.frag_slots = 1;
	cfg.frag_max_bytes = 64;
	cfg.emit_addresses = 0;
	d = decode_new(&cfg, fuzz_observe, &seen);
	if (!d)
		return 0;
	while (size - pos >= 4) {
		uint8_t h = data[pos];
		unsigned fl = h & 3;
		int rev = (h >> 2) & 1;
		uint8_t flags = (uint8_t)(((h & 0x08) ? FUZZ_SYN : 0) |
					  ((h & 0x10) ? FUZZ_RST : 0) |
					  ((h & 0x20) ? 0x01 : 0) | /* FIN */
					  ((h & 0x40) ? 0 : FUZZ_ACK));
		int16_t off = (int16_t)(uint16_t)(data[pos + 1] << 8 | data[pos + 2]);
		uint32_t seq = (rev ? 0xffff8000u : 0xffffc000u) + (uint32_t)(int32_t)off;
		size_t len = data[pos + 3], l;
		uint16_t cport = (uint16_t)(40000 + fl);
		pos += 4;
		if (len > size - pos)
			len = size - pos;
		if (h & 0x80)
			ts += 200 * 1000000LL;
		if (rev)
			l = fuzz_tcp(pkt, dports[fl], cport, seq, flags, data + pos,
				     len, 1);
		else
			l = fuzz_tcp(pkt, cport, dports[fl], seq, flags, data + pos,
				     len, 0);
		fuzz_packet(d, DECODE_LINK_RAW, pkt, l, ts);
		ts += 1000;
		pos += len;
	}
	fuzz_check_stats(d, &seen);
	decode_free(d);
	return 0;
}
