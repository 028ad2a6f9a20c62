/*
 * fuzz_decode_nbns.c: libFuzzer harness for the NetBIOS Name Service
 * parser (decode_nbns.c, RFC 1002 section 4.2).
 *
 * The input is one NBNS message. It is delivered as the payload of a UDP
 * datagram from port 137 to port 137 (broadcast queries and registrations)
 * and from an ephemeral port to 137, each in a fresh context. Encoded
 * names of the wrong length or alphabet, scopes, compression pointers
 * (loops, forwards), counts larger than the message and NB records cut in
 * the middle are the cases the seeds start from. Every name handed out is
 * checked by fuzz_observe (fuzz_net.h): NUL-terminated at its length.
 *
 * Seeds (fuzz/corpus/decode_nbns/, see its README): NBNS queries from the
 * Zeek and Suricata test traces, plus the messages of test_decode_dns.c.
 */
#include <stdint.h>

#include "fuzz_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_one_datagram(data, size, 137, 137, 0);
	fuzz_one_datagram(data, size, 49152, 137, 0);
	return 0;
}
