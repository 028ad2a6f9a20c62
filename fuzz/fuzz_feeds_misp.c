/*
 * fuzz_feeds_misp.c: libFuzzer harness for MISP event JSON
 * (feeds_misp.c): single events, REST search answers, attributes inside
 * objects, every attribute type mapping.
 *
 * Input: the JSON text. Checks: fuzz_feeds.h (a composite pattern made
 * from a hostile file name or value must still be a valid indicator).
 */
#include <stdint.h>

#include "fuzz_feeds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	feeds_import *imp = fuzz_feeds_start(NULL);
	fuzz_feeds_check(imp, feeds_parse_misp(imp, "fuzz", (const char *)data, size));
	return 0;
}
