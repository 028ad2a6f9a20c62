/*
 * fuzz_feeds_stix.c: libFuzzer harness for STIX bundles as a feed
 * (feeds_stix.c): each object validated alone, indicators passed
 * through, the others skipped.
 *
 * Input: the JSON text. Checks: fuzz_feeds.h.
 */
#include <stdint.h>

#include "fuzz_feeds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	feeds_import *imp = fuzz_feeds_start(NULL);
	fuzz_feeds_check(imp, feeds_parse_stix(imp, "fuzz", (const char *)data, size));
	return 0;
}
