/*
 * fuzz_anon_rules.c: libFuzzer harness for the anonymisation rules file
 * (anon_rules.c) and the text rules it drives (anon_text.c).
 *
 * Input: the rules file's text. A file that parses is then applied to a
 * fixed set of strings (free text and observables, with e-mail addresses,
 * URLs, addresses and IDN domains), once with the owned entries it gives
 * organisation "acme" and once with none; every output must be a string.
 * A file that does not parse must have said where (file:line). Errors are
 * fine; crashes and sanitizer reports are not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anonymise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const probes[] = {
		"mail alice@corp.example at https://x.example/a?b=c#d from 203.0.113.5",
		"[ipv4-addr:value = '2001:db8::1'] or ::ffff:198.51.100.3/24",
		"例え.jp www.xn--r8jz45g.jp EMP-123456 Ticket #12 acme power",
		"",
	};
	anon_rules *r = NULL;
	anon_assets a;
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	anon_assets_init(&a);
	if (anon_rules_parse((const char *)data, size, "fuzz.rules", &r, &ctx) != RK_OK) {
		if (ctx.code != RK_ENOMEM && strncmp(ctx.path, "fuzz.rules:", 11) != 0)
			abort();
		return 0;
	}
	if (anon_rules_owned(r, "acme", &a, &ctx) != RK_OK)
		abort(); /* what parsed must load */
	anon_submitter sub = {.org_id = "acme", .org_name = "ACME Power",
			      .community_id = "c", .assets = &a};
	for (int with = 0; with < 2; with++)
		for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
			for (int obs = 0; obs < 2; obs++) {
				char *out = NULL;
				if (anon_scrub_text(r, with ? &sub : NULL, NULL, 0, probes[i], obs,
						    &out, NULL, NULL) != RK_OK || !out)
					abort();
				free(out);
			}
	anon_assets_cleanup(&a);
	anon_rules_free(r);
	return 0;
}
