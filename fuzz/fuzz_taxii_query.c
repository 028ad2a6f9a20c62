/*
 * fuzz_taxii_query.c: libFuzzer harness for the TAXII query-string parser.
 *
 * Input: the raw bytes a client puts after '?' in a TAXII URL. The harness
 * runs them through taxii_query_parse (split on '&' and '=', percent-decode,
 * taxii_filter_add with every parameter allowed, then with none), and for
 * inputs that parse also exercises what the server does next with a filter:
 * the store-query mapping, the filter hash and a cursor round trip. It
 * checks the parser's own promises: success leaves every list within
 * RK_MAX_FILTER_VALUES and limit within 1..RK_PAGE_MAX; failure names a
 * parameter in the error context.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "taxii_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned sets[] = {TAXII_P_LISTING, TAXII_P_MATCH_VERSION | TAXII_P_MATCH_SPEC_VERSION, 0};

	for (size_t s = 0; s < RK_ARRAY_LEN(sets); s++) {
		taxii_filter f;
		rk_errctx ctx;
		taxii_filter_init(&f);
		rk_errctx_clear(&ctx);
		rk_err rc = taxii_query_parse(&f, sets[s], (const char *)data, size, &ctx);
		if (rc == RK_OK) {
			size_t total = f.n_ids + f.n_types + f.n_spec_versions + f.n_v_at;
			if (total > RK_MAX_FILTER_VALUES || f.limit > RK_PAGE_MAX)
				abort();
			store_query q = {0};
			taxii_filter_to_query(&f, &q, s == 1);
			if (q.limit == 0 || q.limit > RK_PAGE_MAX)
				abort();
			static const unsigned char key[TAXII_CURSOR_KEY] = {1, 2, 3};
			unsigned char h[8];
			char *cur = NULL;
			uint64_t seq = 0;
			taxii_filter_hash(&f, "objects fuzz", h);
			if (taxii_cursor_encode(key, size, h, &cur) == RK_OK) {
				if (taxii_cursor_decode(key, cur, h, &seq, NULL) != RK_OK || seq != size)
					abort();
				free(cur);
			}
			if (f.next)
				(void)taxii_cursor_decode(key, f.next, h, &seq, NULL);
		} else if (rc == RK_EINVAL && ctx.path[0] == '\0') {
			abort(); /* every refusal names the parameter */
		}
		taxii_filter_cleanup(&f);
	}
	return 0;
}
