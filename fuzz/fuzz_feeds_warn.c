/*
 * fuzz_feeds_warn.c: libFuzzer harness for MISP warninglist JSON
 * (feeds_warn.c) and lookups in what it loaded.
 *
 * Input: the warninglist text. A list that loads is then asked about a
 * fixed set of values of every type (CIDR blocks, URLs with user info,
 * ports and IPv6 literals, domains, hashes); lookups must not crash and
 * must name a list that exists. Errors are fine; crashes and sanitizer
 * reports are not.
 */
#include <stdint.h>
#include <stdlib.h>

#include "feeds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		feeds_vtype t;
		const char *v;
	} probes[] = {
		{ FEEDS_IPV4, "10.1.2.3" }, { FEEDS_IPV4, "0.0.0.0/0" }, { FEEDS_IPV6, "::1" },
		{ FEEDS_IPV6, "2001:db8::/32" }, { FEEDS_DOMAIN, "a.b.example.com" },
		{ FEEDS_URL, "http://user@[2001:db8::1]:8080/x?y#z" }, { FEEDS_URL, "https://example.com" },
		{ FEEDS_MD5, "d41d8cd98f00b204e9800998ecf8427e" }, { FEEDS_EMAIL, "a@b.example" },
	};
	feeds_warnlists *w = NULL;
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	if (feeds_warn_new(false, &w, &ctx))
		abort();
	if (feeds_warn_add_json(w, "fuzz", (const char *)data, size, &ctx) == RK_OK) {
		for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
			int k = feeds_warn_match(w, probes[i].t, probes[i].v);
			if (k >= (int)feeds_warn_count(w))
				abort();
		}
	}
	feeds_warn_free(w);
	return 0;
}
