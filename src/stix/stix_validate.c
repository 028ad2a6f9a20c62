/*
 * stix_validate.c: is this JSON value a valid STIX 2.1 object or bundle?
 *
 * One object is checked in a fixed order, so the error a user sees is
 * stable and names the most basic problem first:
 *
 *   type -> table row -> id -> spec_version -> common properties (section
 *   3.2 / 6.1 / 7.2.1) -> extensions -> type-specific required list ->
 *   type check function -> every remaining property (reserved names,
 *   custom property names, empty lists)
 *
 * The table row (stix_types.def) says which common properties the type
 * carries and requires; types the table does not know are custom: accepted
 * with a warning unless opts->strict_types, and validated with the common
 * rules of the kind their extension-definition declares (new-sdo, new-sro,
 * new-sco) or, without one, with whatever common properties they carry.
 *
 * Invariants: nothing is allocated; the path buffer in the stix_vctx is the
 * only scratch space. The first failure stops validation of that object.
 */
#include <string.h>

#include "stix_int.h"

static const char *const stix_common_sdo[] = {
	"type",		"spec_version", "id",	  "created_by_ref",
	"created",	"modified",	"revoked", "labels",
	"confidence",	"lang",		"external_references",
	"object_marking_refs", "granular_markings", "extensions", NULL,
};
static const char *const stix_common_sco[] = {
	"type", "spec_version", "id", "object_marking_refs",
	"granular_markings", "defanged", "extensions", NULL,
};
static const char *const stix_common_marking[] = {
	"type",	   "spec_version", "id", "created_by_ref", "created",
	"external_references", "object_marking_refs", "granular_markings",
	"extensions", NULL,
};

/* STIX 2.1 section 3.2 (reserved property names): never to be used. */
static const char *const stix_reserved[] = {
	"severity", "action", "username", "phone_numbers", NULL,
};

/* What the extensions dictionary of an object declares, from a quick look
 * that does not validate (stix_extensions does that). */
#define STIX_X_TOPLEVEL 0x1u
#define STIX_X_NEW_SDO 0x2u
#define STIX_X_NEW_SRO 0x4u
#define STIX_X_NEW_SCO 0x8u

static unsigned
stix_ext_peek(const json_t *obj)
{
	const json_t *ex = json_object_get(obj, "extensions");
	if (!json_is_object(ex))
		return 0;
	unsigned f = 0;
	const char *k;
	const json_t *val;
	json_object_foreach((json_t *)ex, k, val)
	{
		const char *t = json_string_value(json_object_get(val, "extension_type"));
		if (t == NULL)
			continue;
		if (strcmp(t, "toplevel-property-extension") == 0)
			f |= STIX_X_TOPLEVEL;
		else if (strcmp(t, "new-sdo") == 0)
			f |= STIX_X_NEW_SDO;
		else if (strcmp(t, "new-sro") == 0)
			f |= STIX_X_NEW_SRO;
		else if (strcmp(t, "new-sco") == 0)
			f |= STIX_X_NEW_SCO;
	}
	return f;
}

/* ---------------------------------------------------------------- pieces */

/* Section 2.5 (external-reference). */
static rk_err
stix_ext_ref(stix_vctx *v, const json_t *r)
{
	if (!json_is_object(r))
		return stix_fail(v, "must be an external-reference object");
	const char *src = NULL, *xid = NULL;
	rk_err e = stix_p_string(v, r, "source_name", true, &src);
	if (e == RK_OK)
		e = stix_p_string(v, r, "description", false, NULL);
	if (e == RK_OK)
		e = stix_p_string(v, r, "url", false, NULL);
	if (e == RK_OK)
		e = stix_p_string(v, r, "external_id", false, &xid);
	if (e == RK_OK)
		e = stix_p_hashes(v, r, "hashes", false);
	if (e != RK_OK)
		return e;
	if (xid == NULL && json_object_get(r, "description") == NULL &&
	    json_object_get(r, "url") == NULL)
		return stix_fail(v, "needs at least one of description, url "
				    "and external_id");
	/* Section 2.5: CVE and CAPEC references carry the exact identifier. */
	if (strcmp(src, "cve") == 0 || strcmp(src, "capec") == 0) {
		bool cve = src[1] == 'v';
		if (xid == NULL)
			return stix_fail_key(v, "external_id",
					     "required property missing");
		const char *p = xid + (cve ? 4 : 6);
		bool ok = strncmp(xid, cve ? "CVE-" : "CAPEC-", cve ? 4 : 6) == 0;
		if (ok && cve) {
			/* CVE-YYYY-NNNN with four or more digits */
			for (int i = 0; i < 4 && ok; i++)
				ok = p[i] >= '0' && p[i] <= '9';
			ok = ok && p[4] == '-';
			p += 5;
		}
		size_t digits = 0;
		for (; ok && *p >= '0' && *p <= '9'; p++)
			digits++;
		ok = ok && *p == '\0' && digits >= (cve ? 4u : 1u);
		if (!ok)
			return stix_fail_key(v, "external_id",
					     cve ? "not a CVE identifier"
						 : "not a CAPEC identifier");
	}
	return RK_OK;
}

static rk_err
stix_ext_refs(stix_vctx *v, const json_t *obj)
{
	const json_t *j = json_object_get(obj, "external_references");
	if (j == NULL)
		return RK_OK;
	if (!json_is_array(j) || json_array_size(j) == 0)
		return stix_fail_key(v, "external_references",
				     json_is_array(j) ? "must not be an empty list"
						      : "must be a list");
	size_t m = stix_path_key(v, "external_references");
	rk_err e = RK_OK;
	size_t i;
	const json_t *it;
	json_array_foreach(j, i, it)
	{
		size_t m2 = stix_path_index(v, i);
		e = stix_ext_ref(v, it);
		stix_path_pop(v, m2);
		if (e != RK_OK)
			break;
	}
	stix_path_pop(v, m);
	return e;
}

/*
 * Section 7.2.3.1 (selectors): a selector names a property or list element
 * of the object it appears in, "prop", "prop.[2]", "prop.[0].sub"; every
 * step must exist.
 */
bool
stix_selector_resolves(const json_t *root, const char *sel)
{
	const json_t *cur = root;
	const char *p = sel;
	if (sel == NULL || *sel == '\0')
		return false;
	for (;;) {
		const char *end = strchr(p, '.');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n == 0)
			return false;
		if (p[0] == '[') {
			if (n < 3 || p[n - 1] != ']' || !json_is_array(cur))
				return false;
			size_t idx = 0;
			for (size_t i = 1; i < n - 1; i++) {
				if (p[i] < '0' || p[i] > '9' || idx > 100000000)
					return false;
				idx = idx * 10 + (size_t)(p[i] - '0');
			}
			cur = json_array_get(cur, idx);
		} else {
			if (!json_is_object(cur))
				return false;
			cur = json_object_getn(cur, p, n);
		}
		if (cur == NULL)
			return false;
		if (end == NULL)
			return true;
		p = end + 1;
	}
}

/* Section 7.2.3 (granular-marking). */
static rk_err
stix_granular_one(stix_vctx *v, const json_t *g)
{
	if (!json_is_object(g))
		return stix_fail(v, "must be a granular-marking object");
	const json_t *mr = json_object_get(g, "marking_ref");
	const json_t *lang = json_object_get(g, "lang");
	if ((mr == NULL) == (lang == NULL))
		return stix_fail(v, "must have exactly one of marking_ref and "
				    "lang");
	rk_err e = stix_p_ref(v, g, "marking_ref", false,
			      STIX_TYPES("marking-definition"));
	if (e == RK_OK)
		e = stix_p_string(v, g, "lang", false, NULL);
	if (e == RK_OK)
		e = stix_p_strings(v, g, "selectors", true);
	if (e != RK_OK)
		return e;
	const json_t *sels = json_object_get(g, "selectors");
	size_t i;
	const json_t *it;
	json_array_foreach(sels, i, it)
	{
		if (!stix_selector_resolves(v->root, json_string_value(it))) {
			size_t m = stix_path_key(v, "selectors");
			size_t m2 = stix_path_index(v, i);
			e = stix_fail(v, "selector \"%.100s\" does not resolve "
					 "to a property of this object",
				      json_string_value(it));
			stix_path_pop(v, m2);
			stix_path_pop(v, m);
			return e;
		}
	}
	return RK_OK;
}

static rk_err
stix_granular(stix_vctx *v, const json_t *obj)
{
	const json_t *j = json_object_get(obj, "granular_markings");
	if (j == NULL)
		return RK_OK;
	if (!json_is_array(j) || json_array_size(j) == 0)
		return stix_fail_key(v, "granular_markings",
				     json_is_array(j) ? "must not be an empty list"
						      : "must be a list");
	size_t m = stix_path_key(v, "granular_markings");
	rk_err e = RK_OK;
	size_t i;
	const json_t *it;
	json_array_foreach(j, i, it)
	{
		size_t m2 = stix_path_index(v, i);
		e = stix_granular_one(v, it);
		stix_path_pop(v, m2);
		if (e != RK_OK)
			break;
	}
	stix_path_pop(v, m);
	return e;
}

static bool
stix_prop_name_valid(const char *k)
{
	/* Section 11.1 (custom properties): a-z, 0-9, '_'; 3-250 chars. */
	size_t n = 0;
	for (; k[n] != '\0'; n++) {
		char c = k[n];
		if (n >= 250 || !((c >= 'a' && c <= 'z') ||
				  (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return n >= 3;
}

/* Properties of a predefined SCO extension or an extension-definition
 * property-extension: warn on the ones the definition does not list. */
static rk_err
stix_ext_props(stix_vctx *v, const json_t *ext, const stix_ext_def *d)
{
	rk_err e;
	if (d != NULL) {
		for (const char *const *r = d->required; *r != NULL; r++)
			if ((e = stix_p_required(v, ext, *r)) != RK_OK)
				return e;
	}
	const char *k;
	const json_t *val;
	size_t own = 0;
	json_object_foreach((json_t *)ext, k, val)
	{
		if (json_is_array(val) && json_array_size(val) == 0)
			return stix_fail_key(v, k, "must not be an empty list");
		if (d == NULL)
			continue;
		if (stix_name_in(k, d->required) || stix_name_in(k, d->optional)) {
			own++;
			continue;
		}
		if (!stix_prop_name_valid(k))
			return stix_fail_key(v, k, "not a valid property name: "
						   "use 3-250 characters of "
						   "a-z, 0-9 and _");
		stix_warn(v, k, "custom property");
	}
	if (d != NULL && (d->flags & STIX_F_ANY) && own == 0)
		return stix_fail(v, "must contain at least one property of %s",
				 d->name);
	return RK_OK;
}

static const char *const stix_ext_types[] = {
	"new-sdo", "new-sco", "new-sro", "property-extension",
	"toplevel-property-extension", NULL,
};

/* Section 3.2 (extensions) and 7.3. */
static rk_err
stix_extensions(stix_vctx *v, const json_t *obj, const char *type,
		const stix_type_def *def)
{
	const json_t *j = json_object_get(obj, "extensions");
	if (j == NULL)
		return RK_OK;
	if (!json_is_object(j))
		return stix_fail_key(v, "extensions", "must be a dictionary");
	if (json_object_size(j) == 0)
		return stix_fail_key(v, "extensions",
				     "must not be an empty dictionary");
	size_t m = stix_path_key(v, "extensions");
	rk_err e = RK_OK;
	const char *k;
	const json_t *val;
	json_object_foreach((json_t *)j, k, val)
	{
		size_t m2 = stix_path_key(v, k);
		if (!json_is_object(val)) {
			e = stix_fail(v, "must be an extension object");
		} else if (strncmp(k, "extension-definition--", 22) == 0) {
			const char *et = NULL;
			if (!stix_id_valid(k, "extension-definition"))
				e = stix_fail(v, "not a valid identifier: "
						 "expected extension-definition--<uuid>");
			if (e == RK_OK)
				e = stix_p_enum(v, val, "extension_type", true,
						stix_ext_types);
			if (e == RK_OK) {
				et = json_string_value(
					json_object_get(val, "extension_type"));
				if (def != NULL && strncmp(et, "new-", 4) == 0)
					e = stix_fail_key(
						v, "extension_type",
						"%s cannot define the predefined "
						"type %s",
						et, type);
			}
			if (e == RK_OK)
				e = stix_ext_props(v, val, NULL);
		} else {
			size_t n = strlen(k);
			const stix_ext_def *d = stix_ext_lookup(k);
			if (d != NULL) {
				if (strcmp(d->sco_type, type) != 0)
					e = stix_fail(v, "extension applies only "
							 "to %s objects",
						      d->sco_type);
				if (e == RK_OK)
					e = stix_ext_props(v, val, d);
				if (e == RK_OK)
					e = stix_check_sco_ext(v, k, val);
			} else if (n > 4 && strcmp(k + n - 4, "-ext") == 0 &&
				   stix_type_name_valid_n(k, n)) {
				stix_warn(v, NULL,
					  "custom extension: STIX 2.1 uses "
					  "extension-definition objects");
				e = stix_ext_props(v, val, NULL);
			} else {
				e = stix_fail(v, "not an extension-definition "
						 "identifier or predefined "
						 "extension name");
			}
		}
		stix_path_pop(v, m2);
		if (e != RK_OK)
			break;
	}
	stix_path_pop(v, m);
	return e;
}

/* ---------------------------------------------------------------- objects */

static rk_err
stix_common(stix_vctx *v, const json_t *obj, stix_profile prof, bool custom)
{
	rk_err e;
	rk_time created = 0, modified = 0;
	bool hc = false, hm = false;
	bool sdo = prof == STIX_PROF_SDO, sco = prof == STIX_PROF_SCO;

	/* Section 3.2: spec_version required on SDOs, SROs and meta objects;
	 * optional on SCOs (section 6.1) but "2.1" when present. */
	const char *sv = NULL;
	if ((e = stix_p_string(v, obj, "spec_version", !sco, &sv)) != RK_OK)
		return e;
	if (sv != NULL && strcmp(sv, "2.1") != 0)
		return stix_fail_key(v, "spec_version",
				     "unsupported spec_version: expected \"2.1\"");

	if (!sco) {
		/* created/modified: custom objects without a profile of
		 * their own carry them if they want. */
		/* Section 3.2 asks millisecond precision of created; the
		 * OASIS marking-definition schema does not, and published
		 * statement markings omit the fraction, so markings may. */
		const char *tn = json_string_value(json_object_get(obj, "type"));
		int created_digits =
			tn && strcmp(tn, "marking-definition") == 0 ? 0 : 3;
		e = stix_p_time(v, obj, "created", !custom, created_digits,
				&created, &hc);
		if (e == RK_OK && sdo)
			e = stix_p_time(v, obj, "modified", !custom, 3,
					&modified, &hm);
		if (e != RK_OK)
			return e;
		if (hc && hm && modified < created)
			return stix_fail_key(v, "modified",
					     "must not be earlier than created");
		if ((e = stix_p_ref(v, obj, "created_by_ref", false,
				    STIX_TYPES("identity"))) != RK_OK)
			return e;
	}
	if (sdo) {
		if ((e = stix_p_bool(v, obj, "revoked", false, NULL)) != RK_OK ||
		    (e = stix_p_strings(v, obj, "labels", false)) != RK_OK ||
		    (e = stix_p_int(v, obj, "confidence", false, 0, 100)) != RK_OK ||
		    (e = stix_p_string(v, obj, "lang", false, NULL)) != RK_OK)
			return e;
	}
	if (sco && (e = stix_p_bool(v, obj, "defanged", false, NULL)) != RK_OK)
		return e;
	if (!sco && (e = stix_ext_refs(v, obj)) != RK_OK)
		return e;
	if ((e = stix_p_refs(v, obj, "object_marking_refs", false,
			     STIX_TYPES("marking-definition"))) != RK_OK)
		return e;
	return stix_granular(v, obj);
}

/* Every property not checked by name: reserved names, custom property
 * names (warned), and the ban on empty lists for all of them. */
static rk_err
stix_scan(stix_vctx *v, const json_t *obj, const stix_type_def *def,
	  const char *const *common, bool quiet)
{
	const char *k;
	const json_t *val;
	json_object_foreach((json_t *)obj, k, val)
	{
		if (json_is_array(val) && json_array_size(val) == 0)
			return stix_fail_key(v, k, "must not be an empty list");
		if (stix_name_in(k, common))
			continue;
		if (def != NULL && (stix_name_in(k, def->required) ||
				    stix_name_in(k, def->optional)))
			continue;
		if (stix_name_in(k, stix_reserved))
			return stix_fail_key(v, k, "reserved property name");
		if (!stix_prop_name_valid(k))
			return stix_fail_key(v, k, "not a valid property name: "
						   "use 3-250 characters of "
						   "a-z, 0-9 and _");
		if (!quiet)
			stix_warn(v, k, "custom property");
	}
	return RK_OK;
}

static rk_err
stix_object(stix_vctx *v, const json_t *obj)
{
	rk_err e;
	const char *type = NULL, *id = NULL;

	v->root = obj;
	if ((e = stix_p_string(v, obj, "type", true, &type)) != RK_OK)
		return e;
	if (!stix_type_name_valid(type))
		return stix_fail_key(v, "type", "not a valid STIX type name");
	if (strcmp(type, "bundle") == 0)
		return stix_fail_key(v, "type", "a bundle cannot be nested");

	const stix_type_def *def = stix_type_lookup(type);
	unsigned xf = stix_ext_peek(obj);
	stix_profile prof;
	bool custom = false;
	if (def != NULL) {
		prof = def->profile;
	} else if (xf & (STIX_X_NEW_SDO | STIX_X_NEW_SRO)) {
		prof = STIX_PROF_SDO;
	} else if (xf & STIX_X_NEW_SCO) {
		prof = STIX_PROF_SCO;
	} else {
		if (v->opts != NULL && v->opts->strict_types)
			return stix_fail_key(v, "type",
					     "unknown object type \"%.64s\"",
					     type);
		stix_warn(v, "type",
			  "custom object type \"%.64s\" not defined by an "
			  "extension-definition",
			  type);
		custom = true;
		/* Without a declared kind: SDO-like if it carries the
		 * SDO timestamps, else SCO-like. */
		prof = json_object_get(obj, "created") != NULL ||
				       json_object_get(obj, "modified") != NULL
			       ? STIX_PROF_SDO
			       : STIX_PROF_SCO;
	}

	if ((e = stix_p_string(v, obj, "id", true, &id)) != RK_OK)
		return e;
	if (!stix_id_valid(id, type))
		return stix_fail_key(v, "id",
				     "not a valid identifier: expected "
				     "%.64s--<uuid>",
				     type);
	if ((e = stix_common(v, obj, prof, custom && prof == STIX_PROF_SDO)) !=
	    RK_OK)
		return e;
	if ((e = stix_extensions(v, obj, type, def)) != RK_OK)
		return e;

	const char *const *common = prof == STIX_PROF_SDO ? stix_common_sdo
				    : prof == STIX_PROF_SCO ? stix_common_sco
							    : stix_common_marking;
	if (def != NULL) {
		for (const char *const *r = def->required; *r != NULL; r++)
			if ((e = stix_p_required(v, obj, *r)) != RK_OK)
				return e;
		if (def->flags & STIX_F_ANY) {
			bool any = json_object_get(obj, "extensions") != NULL;
			for (const char *const *o = def->optional;
			     !any && *o != NULL; o++)
				any = json_object_get(obj, *o) != NULL;
			if (!any)
				return stix_fail(v, "a %s must have at least "
						    "one of its own properties",
						 type);
		}
		if (def->check != NULL && (e = def->check(v, obj)) != RK_OK)
			return e;
	}
	/* Custom types and top-level property extensions define their own
	 * properties: no custom-property warnings for them. */
	return stix_scan(v, obj, def, common,
			 def == NULL || (xf & STIX_X_TOPLEVEL));
}

rk_err
stix_validate_object(const json_t *obj, const char *path,
		     const stix_validate_opts *opts, rk_errctx *ctx)
{
	stix_vctx v;
	stix_vctx_init(&v, path, opts, ctx);
	if (!json_is_object(obj))
		return rk_fail(ctx, RK_EINVAL, v.path, "not a JSON object");
	return stix_object(&v, obj);
}

/* Section 8 (bundle). Bundle-level paths carry no leading dot ("id",
 * "objects[3].valid_from"), the way TAXII clients print them. */
rk_err
stix_validate_bundle(const json_t *bundle, const stix_validate_opts *opts,
		     rk_errctx *ctx)
{
	stix_vctx v;
	stix_vctx_init(&v, "", opts, ctx);
	if (!json_is_object(bundle))
		return rk_fail(ctx, RK_EINVAL, "", "not a JSON object");
	const json_t *type = json_object_get(bundle, "type");
	const json_t *id = json_object_get(bundle, "id");
	if (type == NULL)
		return rk_fail(ctx, RK_ESTIX, "type", "required property missing");
	if (!json_is_string(type) || strcmp(json_string_value(type), "bundle") != 0)
		return rk_fail(ctx, RK_ESTIX, "type", "expected \"bundle\"");
	if (id == NULL)
		return rk_fail(ctx, RK_ESTIX, "id", "required property missing");
	if (!json_is_string(id) || !stix_id_valid(json_string_value(id), "bundle"))
		return rk_fail(ctx, RK_ESTIX, "id",
			       "not a valid identifier: expected bundle--<uuid>");
	const json_t *sv = json_object_get(bundle, "spec_version");
	if (sv != NULL) {
		/* STIX 2.0 bundles carried spec_version; 2.1 has none. */
		if (json_is_string(sv) && strcmp(json_string_value(sv), "2.0") == 0)
			return rk_fail(ctx, RK_ESTIX, "spec_version",
				       "STIX 2.0 bundles are not supported");
		if (opts != NULL && opts->warn != NULL)
			opts->warn(opts->warn_arg, "spec_version",
				   "bundles have no spec_version in STIX 2.1");
	}
	const char *k;
	const json_t *val;
	json_object_foreach((json_t *)bundle, k, val)
	{
		if (strcmp(k, "type") == 0 || strcmp(k, "id") == 0 ||
		    strcmp(k, "objects") == 0 || strcmp(k, "spec_version") == 0)
			continue;
		if (!stix_prop_name_valid(k))
			return rk_fail(ctx, RK_ESTIX, k,
				       "not a valid property name: use 3-250 "
				       "characters of a-z, 0-9 and _");
		if (opts != NULL && opts->warn != NULL)
			opts->warn(opts->warn_arg, k, "custom property");
	}
	const json_t *objs = json_object_get(bundle, "objects");
	if (objs == NULL)
		return RK_OK;
	if (!json_is_array(objs))
		return rk_fail(ctx, RK_ESTIX, "objects", "must be a list");
	if (json_array_size(objs) == 0)
		return rk_fail(ctx, RK_ESTIX, "objects",
			       "must not be an empty list");
	if (json_array_size(objs) > RK_MAX_OBJECTS_PER_ENVELOPE)
		return rk_fail(ctx, RK_ETOOBIG, "objects",
			       "more than %u objects in one bundle",
			       (unsigned)RK_MAX_OBJECTS_PER_ENVELOPE);
	rk_err e = RK_OK;
	size_t i;
	const json_t *it;
	json_array_foreach(objs, i, it)
	{
		char path[32];
		snprintf(path, sizeof(path), "objects[%zu]", i);
		stix_vctx_init(&v, path, opts, ctx);
		if (!json_is_object(it))
			e = stix_fail(&v, "not a JSON object");
		else
			e = stix_object(&v, it);
		if (e != RK_OK)
			break;
	}
	return e;
}
