/*
 * fuzz_anon_envelope.c: libFuzzer harness for the anonymising
 * transformation (anon_object.c over anon_text.c), checking its promise.
 *
 * Input: JSON text, an array of objects or one object (made an array of
 * one). It is transformed for submitter "acme" ("ACME Power", identities
 * ORG and USER below, owning 203.0.113.0/24 and acme.example). Then, in
 * every element that is a valid STIX object and not held for review
 * (what the hub would go on to store), no string, key or value, outside object_marking_refs,
 * granular_markings and the renkei extension (which the hub decides on
 * unchanged, and refuses when they name the submitter) may hold ORG or
 * USER, or "acme" or "ACME Power" as a word (ASCII case-insensitive);
 * and the transformation runs again over its own output without error.
 * A violation aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "anonymise.h"
#include "policy.h"
#include "stix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ORG "identity--11111111-1111-4111-8111-111111111111"
#define USER "identity--22222222-2222-4222-8222-222222222222"

static bool word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool has_word(const char *s, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = s; *p; p++)
		if (!strncasecmp(p, w, n) && (p == s || !word_char((unsigned char)p[-1]) ||
					      !word_char((unsigned char)w[0])) &&
		    (!word_char((unsigned char)p[n]) || !word_char((unsigned char)w[n - 1])))
			return true;
	return false;
}

static void check_string(const char *s)
{
	if (strstr(s, ORG) || strstr(s, USER) || has_word(s, "acme") || has_word(s, "ACME Power"))
		abort();
}

static void check(const json_t *v, unsigned depth, const char *holder_key)
{
	const char *k;
	const json_t *e;
	size_t i;

	if (json_is_string(v)) {
		check_string(json_string_value(v));
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			check(e, depth + 1, NULL);
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, e) {
			if (depth == 0 && (!strcmp(k, "object_marking_refs") ||
					   !strcmp(k, "granular_markings")))
				continue;
			if (depth == 1 && holder_key && !strcmp(holder_key, "extensions") &&
			    !strcmp(k, POLICY_EXTENSION_ID))
				continue;
			check_string(k);
			check(e, depth + 1, k);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[ANON_KEY_BYTES] = {42};
	static const char *const ids[] = {ORG, USER};
	json_t *v = NULL;
	anon_rules *rules = NULL;
	anon_assets a;
	anon_result res;
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	if (rk_json_parse((const char *)data, size, RK_MAX_JSON_DEPTH, &v, &ctx) != RK_OK)
		return 0;
	if (!json_is_array(v)) {
		json_t *arr = json_array();
		json_array_append_new(arr, v);
		v = arr;
	}
	anon_assets_init(&a);
	if (anon_rules_empty(&rules, &ctx) || anon_assets_add_cidr(&a, "203.0.113.0/24", &ctx) ||
	    anon_assets_add_domain(&a, "acme.example", &ctx))
		abort();
	anon_submitter sub = {.org_id = "acme", .org_name = "ACME Power", .community_id = "c",
			      .identity_ids = ids, .n_identity_ids = 2, .assets = &a};
	if (anon_envelope(rules, key, &sub, v, &res, &ctx) != RK_OK)
		abort();
	size_t i;
	json_t *o;
	json_array_foreach(v, i, o) {
		rk_errctx vctx;
		rk_errctx_clear(&vctx);
		if (!res.review[i] && json_is_object(o) &&
		    stix_validate_object(o, "o", NULL, &vctx) == RK_OK)
			check(o, 0, NULL);
	}
	anon_result_cleanup(&res);
	/* and once more over its own output */
	if (anon_envelope(rules, key, &sub, v, &res, &ctx) != RK_OK)
		abort();
	anon_result_cleanup(&res);
	json_decref(v);
	anon_rules_free(rules);
	anon_assets_cleanup(&a);
	return 0;
}
