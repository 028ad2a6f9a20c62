/*
 * fuzz_decode_dns.c: libFuzzer harness for the DNS parser (decode_app.c).
 *
 * The input is one DNS message. It is delivered four ways, each in a fresh
 * context so the ways cannot mask each other: as a UDP/53 query, as a
 * UDP/53 response (the answers are read only in responses, by the QR bit
 * the message itself carries, but the port is what selects DNS), as an
 * mDNS message on UDP/5353, and over TCP port 53 with its 2-byte length
 * prefix (RFC 1035 section 4.2.2), the prefixed message cut in two segments
 * in the middle. Names with compression loops, pointers forwards, labels
 * running past the message and counts larger than the message are the
 * cases the seeds start from. Every name handed out is checked by
 * fuzz_observe (fuzz_net.h).
 *
 * Seeds (fuzz/corpus/decode_dns/, see its README): DNS payloads taken from
 * the Zeek test traces (mDNS replies without a question, a dynamic UPDATE
 * among them), plus hand-made ones (UPDATE, mDNS announcements, hostile,
 * and the record targets of decode_dnsrr.c: MX, NS with glue, PTR, SOA,
 * SRV, DNAME, SVCB/HTTPS, malformed record data).
 */
#include <stdint.h>

#include "fuzz_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t msg[FUZZ_IP_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_one_datagram(data, size, 49152, 53, 0);
	fuzz_one_datagram(data, size, 53, 49152, 1);
	fuzz_one_datagram(data, size, 5353, 5353, 0);

	/* over TCP: mode 0x81 = one cut, a 256-byte stream buffer; the cut
	 * byte 0x80 puts it in the middle */
	if (size > 65535 - 2)
		size = 65535 - 2;
	msg[0] = 0x81;
	msg[1] = 0x80;
	fuzz_put16(msg + 2, (unsigned)size);
	if (size)
		memcpy(msg + 4, data, size);
	if (size <= 254) {
		fuzz_stream(msg, size + 4, 53);
	} else {
		msg[0] = 0x01; /* a 4096-byte buffer for larger messages */
		fuzz_stream(msg, size + 4, 53);
	}
	return 0;
}
