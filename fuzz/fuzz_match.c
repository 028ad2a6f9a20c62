/*
 * fuzz_match.c: libFuzzer harness for the match module's normal forms.
 *
 * Domains, e-mail addresses and URLs from traffic are normalised before
 * every lookup, so the normalisers see arbitrary bytes. Each input goes
 * through match_norm_url, match_norm_domain and match_norm_email. Invariants
 * checked: a result fits MATCH_MAX_VALUE, and normalising a normal form
 * gives it back unchanged (otherwise an indicator value and the same value
 * seen in traffic could normalise to different keys).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef size_t (*norm_fn)(const char *s, size_t len, char out[MATCH_MAX_VALUE]);

static void check(norm_fn f, const uint8_t *data, size_t size)
{
	static char a[MATCH_MAX_VALUE], b[MATCH_MAX_VALUE];
	size_t n = f((const char *)data, size, a);
	if (n == 0)
		return;
	if (n > MATCH_MAX_VALUE)
		abort();
	size_t m = f(a, n, b);
	if (m != n || memcmp(a, b, n) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(match_norm_url, data, size);
	check(match_norm_domain, data, size);
	check(match_norm_email, data, size);
	return 0;
}
