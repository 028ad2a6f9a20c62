/*
 * stix_types.c: the type table (stix_types.def) as data, and the STIX type
 * name rule.
 *
 * The table is a static const array built from the X-macro file; lookups are
 * a linear scan with a first-character filter, which over 45 rows costs
 * less than the hash lookups validation does anyway. Nothing here is
 * mutable.
 */
#include <string.h>

#include "stix_int.h"

#define REQ(...) ((const char *const[]){__VA_ARGS__, NULL})
#define OPT(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})

static const stix_type_def stix_types[] = {
#define STIX_TYPE(sym, name, kind, prof, flags, req, opt, check) \
	{name, kind, prof, flags, req, opt, check},
#define STIX_EXT(name, sco, flags, req, opt)
#include "stix_types.def"
#undef STIX_TYPE
#undef STIX_EXT
};

static const stix_ext_def stix_exts[] = {
#define STIX_TYPE(sym, name, kind, prof, flags, req, opt, check)
#define STIX_EXT(name, sco, flags, req, opt) {name, sco, flags, req, opt},
#include "stix_types.def"
#undef STIX_TYPE
#undef STIX_EXT
};

const stix_type_def *
stix_type_lookup(const char *type)
{
	if (type == NULL || type[0] == '\0')
		return NULL;
	for (size_t i = 0; i < RK_ARRAY_LEN(stix_types); i++) {
		const char *n = stix_types[i].name;
		if (n[0] == type[0] && strcmp(n, type) == 0)
			return &stix_types[i];
	}
	return NULL;
}

const stix_ext_def *
stix_ext_lookup(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < RK_ARRAY_LEN(stix_exts); i++)
		if (strcmp(stix_exts[i].name, name) == 0)
			return &stix_exts[i];
	return NULL;
}

bool
stix_name_in(const char *name, const char *const *list)
{
	if (list == NULL)
		return false;
	for (; *list != NULL; list++)
		if ((*list)[0] == name[0] && strcmp(*list, name) == 0)
			return true;
	return false;
}

stix_kind
stix_type_kind(const char *type)
{
	if (type != NULL && strcmp(type, "bundle") == 0)
		return STIX_KIND_BUNDLE;
	const stix_type_def *d = stix_type_lookup(type);
	return d != NULL ? d->kind : STIX_KIND_CUSTOM;
}

/*
 * STIX 2.1 section 3.1 (type): only a-z, 0-9 and '-'; must begin with a
 * letter; no '-' directly after another '-' (so "--" only ever separates an
 * identifier's type from its UUID); 3 to 250 characters.
 */
bool
stix_type_name_valid_n(const char *s, size_t n)
{
	if (s == NULL || n < 3 || n > RK_MAX_STIX_TYPE)
		return false;
	if (s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (c == '-') {
			if (s[i - 1] == '-')
				return false;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
			return false;
		}
	}
	return true;
}

bool
stix_type_name_valid(const char *type)
{
	if (type == NULL)
		return false;
	return stix_type_name_valid_n(type, strnlen(type, RK_MAX_STIX_TYPE + 1));
}

/*
 * STIX 2.1 sections 3.2, 6.1, 7.2.1 and the type's own section: the
 * common properties its profile requires, then the type's REQ list. An
 * unknown (custom) type requires the SDO common set.
 */
bool
stix_property_required(const char *type, const char *prop)
{
	static const char *const sdo_common[] = {"type", "spec_version", "id", "created",
						 "modified", NULL};
	static const char *const sco_common[] = {"type", "id", NULL};
	static const char *const marking_common[] = {"type", "spec_version", "id",
						     "created", NULL};
	const stix_type_def *d = stix_type_lookup(type);

	if (prop == NULL)
		return false;
	if (d == NULL)
		return stix_name_in(prop, sdo_common);
	const char *const *common = d->profile == STIX_PROF_SCO	      ? sco_common
				    : d->profile == STIX_PROF_MARKING ? marking_common
								      : sdo_common;
	return stix_name_in(prop, common) || stix_name_in(prop, d->required);
}

/*
 * stix_property_required, plus what an object's own values make required:
 * a malware's name when is_family is true (STIX 2.1 section 4.11), an
 * observed-data's object_refs when it has no (deprecated) objects (4.14).
 */
bool
stix_object_requires(const json_t *obj, const char *prop)
{
	const char *type = json_string_value(json_object_get(obj, "type"));

	if (!type || !prop)
		return false;
	if (stix_property_required(type, prop))
		return true;
	if (strcmp(type, "malware") == 0 && strcmp(prop, "name") == 0)
		return json_is_true(json_object_get(obj, "is_family"));
	if (strcmp(type, "observed-data") == 0 && strcmp(prop, "object_refs") == 0)
		return json_object_get(obj, "objects") == NULL;
	return false;
}
