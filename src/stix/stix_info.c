/*
 * stix_info.c: the facts a store or a policy needs about an object that
 * validation accepted (type, id, version, creator, kind), read without
 * copying, and the identifier syntax every module checks references with.
 *
 * Strings in stix_info point into the json_t; they live as long as it does.
 * TAXII 2.1 names an object version by `modified`, falling back to
 * `created`; objects with neither (SCOs) have no version of their own and
 * the store uses the date it added them.
 */
#include <string.h>

#include "stix_int.h"

/* STIX 2.1 section 2.9: "<type>--<UUID>", the UUID RFC 4122. */
bool
stix_id_valid(const char *id, const char *type)
{
	if (id == NULL)
		return false;
	size_t len = strnlen(id, RK_MAX_STIX_ID + 1);
	if (len > RK_MAX_STIX_ID || len < 3 + 2 + 36)
		return false;
	const char *uuid = id + len - 36;
	if (uuid[-1] != '-' || uuid[-2] != '-')
		return false;
	size_t tlen = len - 38;
	if (!stix_type_name_valid_n(id, tlen))
		return false;
	if (type != NULL && (strlen(type) != tlen || memcmp(type, id, tlen) != 0))
		return false;
	return rk_uuid_is_valid(uuid);
}

rk_err
stix_object_info(const json_t *obj, stix_info *out, rk_errctx *ctx)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj))
		return rk_fail(ctx, RK_EINVAL, "", "not a JSON object");
	out->type = json_string_value(json_object_get(obj, "type"));
	out->id = json_string_value(json_object_get(obj, "id"));
	if (out->type == NULL)
		return rk_fail(ctx, RK_ESTIX, ".type", "required property missing");
	if (out->id == NULL)
		return rk_fail(ctx, RK_ESTIX, ".id", "required property missing");
	out->spec_version = json_string_value(json_object_get(obj, "spec_version"));
	out->created = json_string_value(json_object_get(obj, "created"));
	out->modified = json_string_value(json_object_get(obj, "modified"));
	out->created_by_ref =
		json_string_value(json_object_get(obj, "created_by_ref"));
	out->revoked = json_is_true(json_object_get(obj, "revoked"));
	out->kind = stix_type_kind(out->type);
	/* windows-registry-key and custom SCOs may carry a property named
	 * "modified" that is not a version: only SDO-like objects version. */
	if (out->kind == STIX_KIND_SCO) {
		out->created = NULL;
		out->modified = NULL;
	}
	out->version = out->modified != NULL ? out->modified : out->created;
	if (out->version != NULL && !rk_time_parse(out->version, &out->version_time))
		return rk_fail(ctx, RK_ESTIX,
			       out->modified != NULL ? ".modified" : ".created",
			       "not an RFC 3339 timestamp");
	return RK_OK;
}
