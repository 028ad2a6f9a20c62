/*
 * stix_marking.c: marking-definition objects (STIX 2.1 section 7.2) and the
 * Traffic Light Protocol, the marking renkei's confidentiality policy runs
 * on.
 *
 * Two generations of TLP identifiers are in use and both must be honoured:
 *   - TLP 1.0 (WHITE, GREEN, AMBER, RED): the four fixed marking-definition
 *     objects of STIX 2.1 section 7.2.1.4 (definition_type "tlp");
 *   - TLP 2.0 (CLEAR, GREEN, AMBER, AMBER+STRICT, RED): the five objects
 *     OASIS publishes in cti-stix-common-objects, which carry the level in
 *     the property extension extension-definition--60a3c5c5-0d10-413e-
 *     aab3-9e08dde9e88d as "tlp_2_0".
 * TLP 1.0 WHITE maps to CLEAR (FIRST's TLP 2.0 text: "TLP:CLEAR replaces
 * TLP:WHITE"). Both specifications say these objects are fixed: nobody may
 * mint another identifier for a TLP level, and the fixed identifiers may
 * not be reused for anything else; the validator enforces both directions,
 * because the policy decides disclosure from the identifier alone.
 *
 * All tables are static const; nothing here is mutable.
 */
#include <string.h>
#include <strings.h>

#include "stix_int.h"

#define STIX_TLP2_EXT "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

static const struct {
	const char *id;
	stix_tlp level;
	const char *color; /* definition.tlp */
	const char *name;
} stix_tlp1[] = {
	{"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
	 STIX_TLP_CLEAR, "white", "TLP:WHITE"},
	{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
	 STIX_TLP_GREEN, "green", "TLP:GREEN"},
	{"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
	 STIX_TLP_AMBER, "amber", "TLP:AMBER"},
	{"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
	 STIX_TLP_RED, "red", "TLP:RED"},
};

/* Indexed by stix_tlp. */
static const struct {
	const char *id;
	const char *name;   /* "TLP:AMBER+STRICT" */
	const char *tlp2_0; /* extension value "amber+strict" */
} stix_tlp2[] = {
	[STIX_TLP_CLEAR] = {"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
			    "TLP:CLEAR", "clear"},
	[STIX_TLP_GREEN] = {"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
			    "TLP:GREEN", "green"},
	[STIX_TLP_AMBER] = {"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
			    "TLP:AMBER", "amber"},
	[STIX_TLP_AMBER_STRICT] = {"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
				   "TLP:AMBER+STRICT", "amber+strict"},
	[STIX_TLP_RED] = {"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
			  "TLP:RED", "red"},
};

/* The `created` of the published TLP 2.0 objects. */
#define STIX_TLP2_CREATED "2022-10-01T00:00:00.000Z"

static bool
stix_tlp_valid(stix_tlp level)
{
	return level >= STIX_TLP_CLEAR && level <= STIX_TLP_RED;
}

static int
stix_tlp1_index(const char *id)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(stix_tlp1); i++)
		if (strcasecmp(stix_tlp1[i].id, id) == 0)
			return (int)i;
	return -1;
}

static stix_tlp
stix_tlp2_of_id(const char *id)
{
	for (int l = STIX_TLP_CLEAR; l <= STIX_TLP_RED; l++)
		if (strcasecmp(stix_tlp2[l].id, id) == 0)
			return (stix_tlp)l;
	return STIX_TLP_NONE;
}

stix_tlp
stix_tlp_of_marking(const char *marking_id)
{
	if (marking_id == NULL)
		return STIX_TLP_NONE;
	int i = stix_tlp1_index(marking_id);
	if (i >= 0)
		return stix_tlp1[i].level;
	return stix_tlp2_of_id(marking_id);
}

const char *
stix_tlp_marking_id(stix_tlp level)
{
	return stix_tlp_valid(level) ? stix_tlp2[level].id : NULL;
}

stix_tlp
stix_tlp_parse(const char *name)
{
	if (name == NULL)
		return STIX_TLP_NONE;
	if (strncasecmp(name, "TLP:", 4) == 0)
		name += 4;
	if (strcasecmp(name, "WHITE") == 0)
		return STIX_TLP_CLEAR;
	for (int l = STIX_TLP_CLEAR; l <= STIX_TLP_RED; l++)
		if (strcasecmp(name, stix_tlp2[l].name + 4) == 0)
			return (stix_tlp)l;
	return STIX_TLP_NONE;
}

const char *
stix_tlp_name(stix_tlp level)
{
	return stix_tlp_valid(level) ? stix_tlp2[level].name : "(none)";
}

json_t *
stix_tlp_marking_object(stix_tlp level)
{
	if (!stix_tlp_valid(level))
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{s:s, s:s}}}",
			 "type", "marking-definition", "spec_version", "2.1",
			 "id", stix_tlp2[level].id, "created",
			 STIX_TLP2_CREATED, "name", stix_tlp2[level].name,
			 "extensions", STIX_TLP2_EXT, "extension_type",
			 "property-extension", "tlp_2_0",
			 stix_tlp2[level].tlp2_0);
}

/* ---------------------------------------------------------------- validation */

rk_err
stix_check_tlp_marking(stix_vctx *v, const json_t *obj)
{
	const char *id = json_string_value(json_object_get(obj, "id"));
	const char *dtype =
		json_string_value(json_object_get(obj, "definition_type"));
	const json_t *def = json_object_get(obj, "definition");
	const json_t *ext =
		json_object_get(json_object_get(obj, "extensions"), STIX_TLP2_EXT);
	int t1 = stix_tlp1_index(id);
	stix_tlp t2 = stix_tlp2_of_id(id);

	/* TLP 1.0: section 7.2.1.4. */
	if (dtype != NULL && strcmp(dtype, "tlp") == 0) {
		const json_t *c = json_object_get(def, "tlp");
		if (!json_is_string(c))
			return stix_fail_key(v, "definition",
					     "a tlp definition needs a tlp "
					     "colour");
		int want = -1;
		for (size_t i = 0; i < RK_ARRAY_LEN(stix_tlp1); i++)
			if (strcmp(stix_tlp1[i].color, json_string_value(c)) == 0)
				want = (int)i;
		if (want < 0) {
			size_t m = stix_path_key(v, "definition");
			rk_err e = stix_fail_key(v, "tlp", "\"%.32s\" is not a "
							   "TLP 1.0 colour",
						 json_string_value(c));
			stix_path_pop(v, m);
			return e;
		}
		if (t1 != want)
			return stix_fail_key(v, "id",
					     "TLP 1.0 markings must use the "
					     "fixed identifier %s",
					     stix_tlp1[want].id);
	} else if (t1 >= 0) {
		return stix_fail_key(v, "definition_type",
				     "%s is reserved for %s (definition_type "
				     "tlp)",
				     stix_tlp1[t1].id, stix_tlp1[t1].name);
	}

	/* TLP 2.0: the OASIS property extension. */
	if (ext != NULL) {
		size_t m = stix_path_key(v, "extensions");
		size_t m2 = stix_path_key(v, STIX_TLP2_EXT);
		rk_err e = RK_OK;
		const char *et = json_string_value(json_object_get(ext, "extension_type"));
		const char *lvl = json_string_value(json_object_get(ext, "tlp_2_0"));
		stix_tlp want = STIX_TLP_NONE;
		if (et == NULL || strcmp(et, "property-extension") != 0)
			e = stix_fail_key(v, "extension_type",
					  "must be \"property-extension\"");
		if (e == RK_OK && lvl == NULL)
			e = stix_fail_key(v, "tlp_2_0",
					  json_object_get(ext, "tlp_2_0") == NULL
						  ? "required property missing"
						  : "must be a string");
		if (e == RK_OK) {
			for (int l = STIX_TLP_CLEAR; l <= STIX_TLP_RED; l++)
				if (strcmp(stix_tlp2[l].tlp2_0, lvl) == 0)
					want = (stix_tlp)l;
			if (want == STIX_TLP_NONE)
				e = stix_fail_key(v, "tlp_2_0",
						  "\"%.32s\" is not a TLP 2.0 "
						  "level",
						  lvl);
		}
		stix_path_pop(v, m2);
		stix_path_pop(v, m);
		if (e != RK_OK)
			return e;
		if (t2 != want)
			return stix_fail_key(v, "id",
					     "TLP 2.0 markings must use the OASIS "
					     "identifier %s",
					     stix_tlp2[want].id);
		const char *name = json_string_value(json_object_get(obj, "name"));
		if (name == NULL)
			return stix_fail_key(v, "name",
					     "required property missing");
		if (strcmp(name, stix_tlp2[want].name) != 0)
			return stix_fail_key(v, "name", "must be \"%s\"",
					     stix_tlp2[want].name);
	} else if (t2 != STIX_TLP_NONE) {
		return stix_fail_key(v, "extensions",
				     "%s is reserved for %s: the TLP 2.0 "
				     "extension is missing",
				     stix_tlp2[t2].id, stix_tlp2[t2].name);
	}
	return RK_OK;
}

rk_err
stix_check_marking_definition(stix_vctx *v, const json_t *obj)
{
	rk_err e;
	const char *dtype = NULL;
	if ((e = stix_p_string(v, obj, "name", false, NULL)) != RK_OK ||
	    (e = stix_p_string(v, obj, "definition_type", false, &dtype)) != RK_OK)
		return e;
	const json_t *def = json_object_get(obj, "definition");
	/* Section 7.2.1: definition_type and definition go together, and are
	 * required unless an extension defines the marking. */
	bool ext = json_object_get(obj, "extensions") != NULL;
	if (dtype == NULL && (def != NULL || !ext))
		return stix_fail_key(v, "definition_type",
				     "required property missing");
	if (dtype != NULL && def == NULL)
		return stix_fail_key(v, "definition", "required property missing");
	if (def != NULL && !json_is_object(def))
		return stix_fail_key(v, "definition", "must be an object");
	if (dtype != NULL && strcmp(dtype, "statement") == 0) {
		size_t m = stix_path_key(v, "definition");
		e = stix_p_string(v, def, "statement", true, NULL);
		stix_path_pop(v, m);
		if (e != RK_OK)
			return e;
	}
	return stix_check_tlp_marking(v, obj);
}
