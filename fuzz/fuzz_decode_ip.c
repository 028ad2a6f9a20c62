/*
 * fuzz_decode_ip.c: libFuzzer harness for IPv4, IPv6 with its extension
 * headers, and the fragment table (decode_net.c).
 *
 * Input: byte 0 sets the context (bit 0: fragment buffers of 65535 bytes
 * instead of 1024, so offsets past the buffer are reached both ways; bits
 * 1-7: capture time between packets, in tenths of a second, against a 2 s
 * fragment timeout), then a sequence of raw IP packets, each preceded by
 * its length in 2 bytes (big-endian; a length past the end takes what is
 * left). All packets go to one context with two fragment slots, so
 * overlapping and duplicate fragments, fragments of several datagrams
 * competing for the slots, timeouts, IPv6 fragment headers behind other
 * extension headers and chains longer than the walk allows are all
 * reachable. Observables are checked by fuzz_observe (fuzz_net.h).
 *
 * Seeds (fuzz/corpus/decode_ip/, see its README): fragment trains from the
 * Zeek test traces (IPv4 fragments, IPv6 fragmented DNS, IPv6 atomic
 * fragment) and hand-made ones.
 */
#include <stdint.h>

#include "fuzz_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_seen seen = {{0}, 0};
	decode_config cfg = {0};
	decode_ctx *d;
	int64_t ts = 1000000, step;
	size_t pos = 1;

	if (size < 1)
		return 0;
	cfg.frag_slots = 2;
	cfg.frag_max_bytes = (data[0] & 1) ? 65535 : 1024;
	cfg.frag_timeout_s = 2;
	cfg.flows = 4;
	cfg.flow_buf = 256;
	cfg.emit_addresses = 1;
	step = (int64_t)(data[0] >> 1) * 100000;
	d = decode_new(&cfg, fuzz_observe, &seen);
	if (!d)
		return 0;
	while (size - pos >= 2) {
		size_t l = (size_t)data[pos] << 8 | data[pos + 1];
		pos += 2;
		if (l > size - pos)
			l = size - pos;
		fuzz_packet(d, DECODE_LINK_RAW, data + pos, l, ts);
		pos += l;
		ts += step;
	}
	fuzz_check_stats(d, &seen);
	decode_free(d);
	return 0;
}
