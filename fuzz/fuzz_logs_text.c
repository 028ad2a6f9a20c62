/*
 * fuzz_logs_text.c: libFuzzer harness for the plain-text log parser
 * (logs_text.c): addresses, domains, URLs, hashes and e-mail addresses
 * found anywhere in a line on word boundaries.
 *
 * Input: byte 0 bit 0 chooses the way in: the lines one by one through
 * logs_feed_line, or the whole input as a file through the buffered reader
 * with a 256-byte line limit (so over-long lines, a last line without a
 * newline and CRLF endings are met); the rest is the log. The reader is
 * fixed to the text format. The checks on every observable are
 * fuzz_lines.h's; the one that matters most here is that a value found in
 * free text classifies as the kind it was reported as.
 *
 * Seeds (fuzz/corpus/logs_text/, see its README): lines of the shared
 * data's feeds and hand-made hostile ones (invalid UTF-8, IPv6 edge forms,
 * URLs with odd ports, overlong lines).
 */
#include <stdint.h>

#include "fuzz_lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_lines s = {0};
	logs_reader r;
	int via_fd;

	if (size < 1)
		return 0;
	via_fd = data[0] & 1;
	data++;
	size--;
	if (logs_reader_init(&r, LOGS_FMT_TEXT, via_fd ? 256 : 0,
			     fuzz_lines_check, NULL, &s) != RK_OK)
		return 0;
	s.r = &r;
	if (via_fd)
		fuzz_lines_fd(&r, &s, data, size);
	else
		fuzz_lines_feed(&r, &s, data, size);
	fuzz_lines_done(&s, &r);
	logs_reader_cleanup(&r);
	return 0;
}
