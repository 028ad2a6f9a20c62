/*
 * fuzz_feeds_csv.c: libFuzzer harness for CSV feeds (feeds_csv.c).
 *
 * Input: byte 0 picks the mapping: bits 0-1 the delimiter (',' ';' '|'
 * tab), bit 2 a header row with the value in column "value" (else column
 * 1 + bits 3-4), bit 5 a fixed type ipv4 (else detected); the rest is the
 * CSV text. Checks: fuzz_feeds.h.
 */
#include <stdint.h>

#include "fuzz_feeds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char delims[] = { ',', ';', '|', '\t' };
	feeds_csv_opts o;
	rk_errctx ctx;

	if (size < 1)
		return 0;
	feeds_csv_opts_init(&o);
	rk_errctx_clear(&ctx);
	o.delimiter = delims[data[0] & 3];
	if (data[0] & 4) {
		if (feeds_csv_opts_parse("value=value,name=name,description=description", &o, &ctx))
			abort();
	} else {
		o.value_col = 1u + ((data[0] >> 3) & 3);
		o.name_col = 2;
	}
	if (data[0] & 32)
		o.type = FEEDS_IPV4;
	feeds_import *imp = fuzz_feeds_start(NULL);
	fuzz_feeds_check(imp, feeds_parse_csv(imp, "fuzz", (const char *)data + 1, size - 1, &o));
	return 0;
}
