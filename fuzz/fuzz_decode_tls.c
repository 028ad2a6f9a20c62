/*
 * fuzz_decode_tls.c: libFuzzer harness for the TLS ClientHello parser
 * (decode_app.c) behind the TCP reassembly (decode_flow.c).
 *
 * The input is a mode byte, cut points and a client stream (the layout is
 * fuzz_stream's, in fuzz_net.h); the stream goes to port 443 as TCP
 * segments cut at the fuzzed points, with retransmissions, overlaps, a gap
 * or a small stream buffer as the mode byte asks. So a ClientHello split
 * across records and across segments, records with bad lengths or
 * versions, and handshakes larger than the buffers are all reached through
 * the public API only. Every SNI handed out is checked by fuzz_observe.
 *
 * Seeds (fuzz/corpus/decode_tls/, see its README): ClientHellos taken from
 * the Zeek test traces (TLS 1.0 to 1.3, ECH, a handshake fragmented over
 * records), plus hand-made hostile ones.
 */
#include <stdint.h>

#include "fuzz_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_stream(data, size, 443);
	return 0;
}
