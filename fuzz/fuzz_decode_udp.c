/*
 * fuzz_decode_udp.c: libFuzzer harness for the UDP layer and the tunnels
 * it leads to (decode_net.c): VXLAN (4789), Teredo (3544, and an IPv6
 * packet on any port), GRE over UDP (4754), GTP-U (2152), DNS and mDNS.
 *
 * Input: byte 0 chooses the port pair from a table (the tunnel and DNS
 * ports, either direction; an index past the table takes both ports from
 * bytes 1-2), the rest is the UDP payload, wrapped in a correct IPv4/UDP
 * header built by fuzz_net.h. A second pass gives the IPv4 header a UDP
 * length longer than the datagram by one byte, which must be counted as
 * truncated, never read past. Tunnels re-enter the IP layer, so nesting
 * bounds are exercised too. Observables are checked by fuzz_observe.
 *
 * Seeds (fuzz/corpus/decode_udp/, see its README): tunnel payloads from
 * the Zeek test traces, plus hand-made ones.
 */
#include <stdint.h>

#include "fuzz_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t ports[][2] = {
	{49152, 4789}, {3544, 49152}, {49152, 3544}, {49152, 4754},
	{4754, 49152}, {2152, 2152},  {49152, 53},   {53, 49152},
	{5353, 5353},  {5355, 49152}, {49152, 9999},
};
#define NPORTS (sizeof(ports) / sizeof(ports[0]))

static uint8_t pkt[FUZZ_IP_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_seen seen = {{0}, 0};
	decode_config cfg = {0};
	uint16_t sport, dport;
	decode_ctx *d;
	size_t l;

	if (size < 1)
		return 0;
	if (data[0] < NPORTS) {
		sport = ports[data[0]][0];
		dport = ports[data[0]][1];
		data++;
		size--;
	} else {
		if (size < 3)
			return 0;
		sport = 49152;
		dport = (uint16_t)(data[1] << 8 | data[2]);
		data += 3;
		size -= 3;
	}
	cfg.flows = 4;
	cfg.flow_buf = 256;
	cfg.frag_slots = 2;
	cfg.frag_max_bytes = 2048;
	cfg.emit_addresses = 1;
	d = decode_new(&cfg, fuzz_observe, &seen);
	if (!d)
		return 0;
	l = fuzz_udp(pkt, sport, dport, data, size, 0);
	fuzz_packet(d, DECODE_LINK_RAW, pkt, l, 1);
	/* the UDP length one byte past the datagram */
	fuzz_put16(pkt + 24, (unsigned)(l - 20 + 1) & 0xffff);
	fuzz_packet(d, DECODE_LINK_RAW, pkt, l, 2);
	fuzz_check_stats(d, &seen);
	decode_free(d);
	return 0;
}
