/*
 * fuzz_fed_verify.c: libFuzzer harness for the check of a partner hub's
 * envelope (fed_verify, src/federation/fed_key.c), the federation's
 * untrusted input: the hub parses the body as ingest does
 * (rk_json_parse_slices) and hands the x_renkei_federation member and
 * each object's bytes to fed_verify.
 *
 * The partner's key is fixed (Ed25519 from the seed 32 x 0x42), so the
 * corpus holds validly signed envelopes as well as broken ones. Whatever
 * the input: an object accepted has the BLAKE2b digest its signed list
 * gives it, an envelope without the member is refused whole (the partner
 * must sign), and a refusal always says why. Anything else aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "federation.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define COLL "5b1f0c2e-8d4a-4c6b-9e3f-2a7d1c0b9e84"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static fed_partner p;
	static bool ready;
	json_t *env = NULL;
	rk_json_slice *slices = NULL;
	size_t n_slices = 0;
	rk_errctx ctx;

	if (!ready) {
		unsigned char seed[32], sk[64];
		if (sodium_init() < 0)
			abort();
		memset(seed, 0x42, sizeof seed);
		crypto_sign_seed_keypair(p.public_key, sk, seed);
		fed_b64(p.public_key, 32, p.public_key_b64, sizeof p.public_key_b64);
		p.name = "fuzz";
		p.require_signature = true;
		ready = true;
	}
	rk_errctx_clear(&ctx);
	if (rk_json_parse_slices((const char *)data, size, RK_MAX_JSON_DEPTH, "objects",
				 RK_MAX_OBJECTS_PER_ENVELOPE, &env, &slices, &n_slices,
				 &ctx) != RK_OK ||
	    !json_is_object(env)) {
		json_decref(env);
		free(slices);
		return 0;
	}
	size_t n = json_array_size(json_object_get(env, "objects"));
	const char **texts = calloc(n + 1, sizeof *texts);
	size_t *lens = calloc(n + 1, sizeof *lens);
	bool *ok = calloc(n + 1, sizeof *ok);
	const char **origins = calloc(n + 1, sizeof *origins);
	char why[192];
	if (!texts || !lens || !ok || !origins)
		abort();
	bool have = slices && n_slices == n;
	for (size_t i = 0; have && i < n; i++) {
		texts[i] = (const char *)data + slices[i].off;
		lens[i] = slices[i].len;
	}
	const json_t *member = json_object_get(env, FED_MEMBER);
	if (fed_verify(&p, member, COLL, n, have ? texts : NULL, lens, ok, origins, why,
		       sizeof why) != RK_OK)
		abort();
	size_t refused = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ok[i]) {
			refused++;
			continue;
		}
		if (!member || !have || !origins[i])
			abort();
		/* accepted: its bytes hash to the listed digest */
		unsigned char d[32], listed[32];
		size_t got = 0;
		const char *b64 = json_string_value(json_array_get(json_object_get(member, "digests"), i));
		crypto_generichash(d, sizeof d, (const unsigned char *)texts[i], lens[i], NULL, 0);
		if (!b64 || sodium_base642bin(listed, sizeof listed, b64, strlen(b64), NULL, &got, NULL,
					     sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    got != 32 || memcmp(d, listed, 32) != 0)
			abort();
	}
	if (refused && !why[0])
		abort();
	free(texts);
	free(lens);
	free(ok);
	free(origins);
	free(slices);
	json_decref(env);
	return 0;
}
