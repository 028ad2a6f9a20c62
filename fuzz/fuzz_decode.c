/*
 * fuzz_decode.c: libFuzzer harness for the whole decode stack.
 *
 * Input: one byte choosing the link type (255 = SLL2, else the DLT value
 * itself, so 0, 1, 12, 101, 108, 113, 228, 229, 239 reach a decoder),
 * then a frame. The frame is decoded as two packets in a row, then as
 * three pieces of itself (so TCP reassembly and fragment tables see state
 * carried between packets) in a context with small tables, so evictions and
 * full buffers are reached quickly. Every observable's text is read whole
 * so the sanitizers check its bounds. Seeds in fuzz/corpus/decode/ are the
 * hand-built packets of tests/unit/decode/test_decode_packets.c.
 */
#include <stdint.h>
#include <string.h>

#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(const decode_observable *o, void *user)
{
	size_t *sum = user;
	for (size_t i = 0; i < o->len; i++)
		*sum += (uint8_t)o->value[i];
	*sum += strlen(o->value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode_config cfg = {0};
	decode_ctx *d;
	size_t sum = 0;
	int link;

	if (size < 1)
		return 0;
	link = data[0] == 255 ? DECODE_LINK_SLL2 : data[0];
	data++;
	size--;
	cfg.frag_slots = 4;
	cfg.frag_max_bytes = 4096;
	cfg.flows = 8;
	cfg.flow_buf = 512;
	cfg.emit_addresses = 1;
	d = decode_new(&cfg, touch, &sum);
	if (!d)
		return 0;
	decode_packet(d, link, data, size, 1);
	decode_packet(d, link, data, size, 2);
	decode_packet(d, link, data, size / 3, 3);
	decode_packet(d, link, data + size / 3, size - size / 3, 4);
	decode_free(d);
	return 0;
}
