/*
 * fuzz_feeds_plain.c: libFuzzer harness for plain-list feeds
 * (feeds_plain.c) with the built-in warning lists.
 *
 * Input: the feed file. Byte 0 bit 0 chooses whether values on a warning
 * list are dropped or flagged. Checks: fuzz_feeds.h.
 */
#include <stdint.h>

#include "fuzz_feeds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static feeds_warnlists *warn;
	rk_errctx ctx;

	if (!warn) {
		rk_errctx_clear(&ctx);
		if (feeds_warn_new(true, &warn, &ctx))
			abort();
	}
	feeds_import *imp = fuzz_feeds_start(warn);
	fuzz_feeds_check(imp, feeds_parse_plain(imp, "fuzz", (const char *)data, size));
	return 0;
}
