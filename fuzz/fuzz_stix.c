/*
 * fuzz_stix.c: libFuzzer harness for the STIX validator.
 *
 * The hub validates every object a TAXII client posts, so everything from
 * the JSON parser down through stix_validate_bundle/object, the selector
 * walk, the TLP checks and stix_object_info sees attacker-chosen input.
 * The input is parsed with the hub's depth bound; a bundle is validated as
 * one, anything else as a bare object and (for arrays) member by member
 * with per-object paths. Valid objects also go through stix_object_info,
 * and a warning callback is installed so the warning paths run too.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "stix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_warn(void *arg, const char *path, const char *msg)
{
	size_t *n = arg;
	*n += strlen(path) + strlen(msg);
}

static void
fuzz_one(const json_t *obj, const char *path, const stix_validate_opts *opts)
{
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	if (stix_validate_object(obj, path, opts, &ctx) == RK_OK) {
		stix_info info;
		rk_errctx_clear(&ctx);
		(void)stix_object_info(obj, &info, &ctx);
		(void)stix_tlp_of_marking(info.id);
	}
	char buf[RK_ERRCTX_PATH + RK_ERRCTX_MSG];
	rk_errctx_format(&ctx, buf, sizeof(buf));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = NULL;
	rk_errctx ctx;
	size_t warned = 0;
	stix_validate_opts opts = {.warn = fuzz_warn, .warn_arg = &warned};

	rk_errctx_clear(&ctx);
	if (rk_json_parse((const char *)data, size, RK_MAX_JSON_DEPTH, &doc,
			  &ctx) != RK_OK)
		return 0;
	const char *type = json_string_value(json_object_get(doc, "type"));
	if (type != NULL && strcmp(type, "bundle") == 0) {
		(void)stix_validate_bundle(doc, &opts, &ctx);
		opts.strict_types = true;
		rk_errctx_clear(&ctx);
		(void)stix_validate_bundle(doc, &opts, &ctx);
	} else if (json_is_array(doc)) {
		size_t i;
		json_t *it;
		json_array_foreach(doc, i, it)
		{
			char path[32];
			snprintf(path, sizeof(path), "objects[%zu]", i);
			fuzz_one(it, path, &opts);
		}
	} else {
		fuzz_one(doc, "", &opts);
		if (json_is_object(doc)) {
			const json_t *sel = json_object_get(doc, "x_selector");
			if (json_is_string(sel))
				(void)stix_selector_resolves(doc, json_string_value(sel));
		}
	}
	json_decref(doc);
	return 0;
}
