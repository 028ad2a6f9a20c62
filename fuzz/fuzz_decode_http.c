/*
 * fuzz_decode_http.c: libFuzzer harness for the HTTP/1.x request parser
 * (decode_app.c) behind the TCP reassembly (decode_flow.c).
 *
 * The input is a mode byte, cut points and a client stream (the layout is
 * fuzz_stream's, in fuzz_net.h); the stream goes to port 80 as TCP
 * segments cut at the fuzzed points, with retransmissions, overlaps, a gap
 * or a small stream buffer as the mode byte asks. Pipelined requests,
 * Content-Length bodies that run past a segment, chunked bodies, header
 * lines split anywhere and requests larger than the stream buffer are all
 * reached through the public API only. Every Host, URL and User-Agent
 * handed out is checked by fuzz_observe.
 *
 * Seeds (fuzz/corpus/decode_http/, see its README): request streams taken
 * from the Zeek test traces, plus hand-made hostile ones.
 */
#include <stdint.h>

#include "fuzz_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_stream(data, size, 80);
	return 0;
}
