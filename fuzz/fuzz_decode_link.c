/*
 * fuzz_decode_link.c: libFuzzer harness for the link layers (decode_net.c):
 * Ethernet with 802.1Q/QinQ, 802.3 LLC/SNAP, MPLS and PPPoE, Linux cooked
 * capture (SLL, SLL2), raw IP, BSD loopback and null, NFLOG, Cisco HDLC.
 *
 * Input: byte 0 picks the link type from the table below (modulo its
 * size, so every byte value means a handled link type, unlike fuzz_decode
 * where the byte is the DLT value itself), the rest is one captured frame.
 * The frame is decoded twice in one context (a second copy completes
 * fragments and meets its own TCP flow), then cut short by one byte, which
 * must be counted, never read past. Observables are checked by
 * fuzz_observe (fuzz_net.h).
 *
 * Seeds (fuzz/corpus/decode_link/, see its README): first frames of the
 * Zeek test traces for each link type (VLAN, QinQ, MPLS, PPPoE over QinQ,
 * NFLOG, SNAP) and hand-made frames for the others.
 */
#include <stdint.h>

#include "fuzz_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int links[] = {
	DECODE_LINK_ETHERNET, DECODE_LINK_NULL,  DECODE_LINK_LOOP,
	DECODE_LINK_RAW,      DECODE_LINK_RAW_BSD, DECODE_LINK_RAW_LT,
	DECODE_LINK_IPV4,     DECODE_LINK_IPV6,  DECODE_LINK_SLL,
	DECODE_LINK_SLL2,     DECODE_LINK_NFLOG, DECODE_LINK_C_HDLC,
};
#define NLINKS (sizeof(links) / sizeof(links[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_seen seen = {{0}, 0};
	decode_config cfg = {0};
	decode_ctx *d;
	int link;

	if (size < 1)
		return 0;
	link = links[data[0] % NLINKS];
	data++;
	size--;
	cfg.frag_slots = 2;
	cfg.frag_max_bytes = 2048;
	cfg.flows = 4;
	cfg.flow_buf = 512;
	cfg.emit_addresses = 1;
	d = decode_new(&cfg, fuzz_observe, &seen);
	if (!d)
		return 0;
	fuzz_packet(d, link, data, size, 1);
	fuzz_packet(d, link, data, size, 2);
	if (size > 0)
		fuzz_packet(d, link, data, size - 1, 3);
	fuzz_check_stats(d, &seen);
	decode_free(d);
	return 0;
}
