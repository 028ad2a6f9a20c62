/*
 * fuzz_assets_value.c: libFuzzer harness for asset claim values (assets
 * module): the text a user sends to POST /renkei/assets/ or gives
 * `renkei assets claim`.
 *
 * The bytes of the input are the value. Invariants checked: a refusal
 * carries a message; an accepted value's canonical text parses again to
 * the same value (canonical form is a fixed point); a CIDR value covers
 * its own network address and has no host bits; a claim built from it
 * goes into a snapshot and is found again by the lookup of its kind.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	asset_value v, again;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	if (assets_value_parse((const char *)data, size, &v, &ctx) != RK_OK) {
		if (!ctx.msg[0])
			abort();
		return 0;
	}
	if (assets_value_parse(v.text, strlen(v.text), &again, NULL) != RK_OK ||
	    strcmp(again.text, v.text) != 0 || again.kind != v.kind)
		abort();

	asset_claim c;
	memset(&c, 0, sizeof c);
	c.id = 1;
	strcpy(c.org, "org");
	c.value = v;
	c.state = ASSET_APPROVED;
	assets_snapshot *s = NULL;
	if (assets_snapshot_build(&c, 1, 1u << ASSET_APPROVED, 1, &s, NULL) != RK_OK)
		return 0;
	assets_hit h[2];
	size_t n = 0;
	switch (v.kind) {
	case ASSET_KIND_CIDR:
		if (!assets_cidr_covers(&v, v.family, v.addr))
			abort();
		n = assets_orgs_for_address(s, v.addr, v.family == 4 ? 4 : 16, h, 2);
		break;
	case ASSET_KIND_ASN:
		n = assets_orgs_for_asn(s, v.asn, h, 2);
		break;
	case ASSET_KIND_DOMAIN:
		n = assets_orgs_for_domain(s, v.text, strlen(v.text), h, 2);
		break;
	}
	if (n != 1 || h[0].claim->id != 1)
		abort();
	assets_snapshot_free(s);
	return 0;
}
