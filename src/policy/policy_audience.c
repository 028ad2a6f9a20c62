/*
 * policy_audience.c: what decides who reads an object, read off the object
 * at submission, and its canonical text.
 *
 * policy_audience_of applies the submission rules of docs/confidentiality.md
 * ("Submission") to one valid STIX object and, when they hold, describes
 * its audience: the TLP level (the one TLP marking among
 * object_marking_refs, else the collection's default), the renkei
 * extension's recipients, distribution and communities (each an entry of
 * the directory), and the TLP levels of granular markings on properties the
 * type requires. Messages name the JSON path ("objects[3].extensions.
 * extension-definition--4e3c...recipients[1]: unknown recipient ...").
 *
 * The key (policy_audience_key) is the audience as one line of text,
 * "1|tlp|granular|owner|recipients|distribution|communities" with the lists
 * sorted and comma-separated: equal audiences have equal keys, so the store
 * can keep one row per audience class and index objects by it. None of the
 * parts can contain '|' or ',' (identity ids, slugs). policy_audience_parse
 * reads it back and refuses anything else.
 */
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

#define KEY_VERSION "1"

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

void policy_audience_cleanup(policy_audience *a)
{
	if (!a)
		return;
	free(a->owner);
	free_list(a->recipients, a->n_recipients);
	free_list(a->distribution, a->n_distribution);
	free_list(a->communities, a->n_communities);
	memset(a, 0, sizeof *a);
	a->tlp = STIX_TLP_NONE;
}

/* Sorts a list and drops repeats. */
static void sort_unique(char **l, size_t *n)
{
	size_t w = 0;

	if (*n < 2)
		return;
	qsort(l, *n, sizeof *l, str_cmp);
	for (size_t i = 0; i < *n; i++) {
		if (w && strcmp(l[w - 1], l[i]) == 0) {
			free(l[i]);
			continue;
		}
		l[w++] = l[i];
	}
	*n = w;
}

/* ---------------------------------------------------------------- extension */

typedef enum { LIST_RECIPIENTS, LIST_DISTRIBUTION, LIST_COMMUNITIES } list_kind;

static const char *const list_names[] = {"recipients", "distribution", "communities"};

/* Whether `v` names an entry of the directory of the list's kind. */
static bool list_value_known(const directory *dir, list_kind kind, const char *v)
{
	const dir_org *org;
	const dir_user *user;

	switch (kind) {
	case LIST_RECIPIENTS:
		return dir_find_identity(dir, v, &org, &user);
	case LIST_DISTRIBUTION:
		return dir_find_identity(dir, v, &org, &user) && org;
	case LIST_COMMUNITIES:
		return dir_find_community(dir, v) != NULL;
	}
	return false;
}

static rk_err read_list(const directory *dir, const json_t *ext, list_kind kind,
			const char *path, char ***out, size_t *n, rk_errctx *ctx)
{
	static const char *const what[] = {"recipient", "distribution organisation",
					   "community"};
	const json_t *arr = json_object_get(ext, list_names[kind]);
	char p[RK_ERRCTX_PATH];

	if (!arr)
		return RK_OK;
	snprintf(p, sizeof p, "%s.%s", path, list_names[kind]);
	if (!json_is_array(arr))
		return rk_fail(ctx, RK_ESTIX, p, "not a list");
	size_t len = json_array_size(arr);
	if (len > RK_MAX_OBJECTS_PER_ENVELOPE)
		return rk_fail(ctx, RK_ESTIX, p, "more than %d entries",
			       RK_MAX_OBJECTS_PER_ENVELOPE);
	*out = calloc(len ? len : 1, sizeof **out);
	if (!*out)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < len; i++) {
		const char *v = json_string_value(json_array_get(arr, i));
		snprintf(p, sizeof p, "%s.%s[%zu]", path, list_names[kind], i);
		if (!v)
			return rk_fail(ctx, RK_ESTIX, p, "not a string");
		if (strchr(v, '|') || strchr(v, ',') || !list_value_known(dir, kind, v))
			return rk_fail(ctx, RK_ESTIX, p, "unknown %s '%.80s'", what[kind], v);
		if (!((*out)[*n] = strdup(v)))
			return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		(*n)++;
	}
	sort_unique(*out, n);
	return RK_OK;
}

static rk_err read_extension(const directory *dir, const json_t *obj, const char *path,
			     policy_audience *a, rk_errctx *ctx)
{
	static const char *const allowed[] = {"extension_type", "recipients",
					      "distribution", "communities", NULL};
	const json_t *ext = json_object_get(json_object_get(obj, "extensions"),
					    POLICY_EXTENSION_ID);
	char p[RK_ERRCTX_PATH];
	const char *key;
	const json_t *v;

	if (!ext)
		return RK_OK;
	snprintf(p, sizeof p, "%s.extensions.%s", path, POLICY_EXTENSION_ID);
	if (!json_is_object(ext))
		return rk_fail(ctx, RK_ESTIX, p, "not an object");
	json_object_foreach((json_t *)ext, key, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			ok |= strcmp(key, allowed[i]) == 0;
		if (!ok)
			return rk_fail(ctx, RK_ESTIX, p,
				       "unknown property '%.64s' (allowed: extension_type, "
				       "recipients, distribution, communities)",
				       key);
	}
	const char *type = json_string_value(json_object_get(ext, "extension_type"));
	if (!type || strcmp(type, "property-extension") != 0)
		return rk_fail(ctx, RK_ESTIX, p,
			       "extension_type must be \"property-extension\"");
	rk_err err;
	if ((err = read_list(dir, ext, LIST_RECIPIENTS, p, &a->recipients,
			     &a->n_recipients, ctx)) ||
	    (err = read_list(dir, ext, LIST_DISTRIBUTION, p, &a->distribution,
			     &a->n_distribution, ctx)) ||
	    (err = read_list(dir, ext, LIST_COMMUNITIES, p, &a->communities,
			     &a->n_communities, ctx)))
		return err;
	return RK_OK;
}

/* ---------------------------------------------------------------- markings */

static bool refs_walk(const json_t *v, const char *key, unsigned depth,
		      bool (*fn)(void *arg, const char *id), void *arg)
{
	if (depth > RK_MAX_JSON_DEPTH)
		return true;
	/* a granular marking's marking_ref names a marking, served as it is */
	if (key && depth > 1 && policy_is_ref_property(key) && strcmp(key, "marking_ref") != 0) {
		if (json_is_string(v))
			return fn(arg, json_string_value(v));
		size_t i;
		const json_t *e;
		json_array_foreach(v, i, e)
			if (json_is_string(e) && !fn(arg, json_string_value(e)))
				return false;
		return true;
	}
	if (json_is_object(v)) {
		const char *k;
		const json_t *c;
		json_object_foreach((json_t *)v, k, c)
			if (!refs_walk(c, k, depth + 1, fn, arg))
				return false;
	} else if (json_is_array(v)) {
		size_t i;
		const json_t *c;
		json_array_foreach(v, i, c)
			if (!refs_walk(c, NULL, depth + 1, fn, arg))
				return false;
	}
	return true;
}

bool policy_nested_refs(const json_t *obj, bool (*fn)(void *arg, const char *id), void *arg)
{
	return refs_walk(obj, NULL, 0, fn, arg);
}

/* Stops at the first nested reference. */
static bool no_ref(void *arg, const char *id)
{
	(void)arg;
	(void)id;
	return false;
}

bool policy_is_ref_property(const char *key)
{
	size_t n = strlen(key);

	if (strcmp(key, "created_by_ref") == 0 || strcmp(key, "object_marking_refs") == 0)
		return false;
	return (n > 4 && strcmp(key + n - 4, "_ref") == 0) ||
	       (n > 5 && strcmp(key + n - 5, "_refs") == 0);
}

/* A marking reference: TLP (its level in *tlp), known, or refused. */
static rk_err check_marking_ref(const policy_audience_src *src, const char *id,
				const char *p, stix_tlp *tlp, rk_errctx *ctx)
{
	*tlp = id ? stix_tlp_of_marking(id) : STIX_TLP_NONE;
	if (*tlp != STIX_TLP_NONE)
		return RK_OK;
	if (!id || !src->marking_known || !src->marking_known(src->marking_arg, id))
		return rk_fail(ctx, RK_ESTIX, p, "unknown marking '%.80s'", id ? id : "");
	return RK_OK;
}

static rk_err red_needs_recipients(const policy_audience *a, const char *p,
				   rk_errctx *ctx)
{
	if (a->n_recipients)
		return RK_OK;
	return rk_fail(ctx, RK_ESTIX, p,
		       "TLP:RED needs recipients: list them in the renkei extension "
		       "(" POLICY_EXTENSION_ID ") as \"recipients\"");
}

rk_err policy_audience_of(const policy_audience_src *src, const json_t *obj,
			  const char *path, policy_audience *out, unsigned *flags,
			  rk_errctx *ctx)
{
	const char *type = json_string_value(json_object_get(obj, "type"));
	const json_t *refs = json_object_get(obj, "object_marking_refs");
	const json_t *gran = json_object_get(obj, "granular_markings");
	const char *tlp_ref = NULL, *key;
	char p[RK_ERRCTX_PATH];
	const json_t *v;
	size_t i;
	rk_err err;

	memset(out, 0, sizeof *out);
	out->tlp = STIX_TLP_NONE;
	*flags = 0;
	if (!(out->owner = strdup(src->owner)))
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	json_array_foreach(refs, i, v) {
		const char *id = json_string_value(v);
		stix_tlp level;
		snprintf(p, sizeof p, "%s.object_marking_refs[%zu]", path, i);
		if ((err = check_marking_ref(src, id, p, &level, ctx)))
			return err;
		if (level == STIX_TLP_NONE)
			continue;
		if (tlp_ref && strcmp(tlp_ref, id) != 0)
			return rk_fail(ctx, RK_ESTIX, p,
				       "conflicting TLP markings (%s and %s): an object "
				       "carries at most one",
				       stix_tlp_name(out->tlp), stix_tlp_name(level));
		tlp_ref = id;
		out->tlp = level;
	}
	if (out->tlp == STIX_TLP_NONE && src->collection)
		out->tlp = stix_tlp_parse(src->collection->default_marking);
	if (out->tlp == STIX_TLP_NONE)
		out->tlp = STIX_TLP_AMBER; /* no collection: the cautious default */
	if ((err = read_extension(src->dir, obj, path, out, ctx)))
		return err;
	if (out->tlp == STIX_TLP_RED) {
		snprintf(p, sizeof p, "%s%s", path,
			 tlp_ref ? ".object_marking_refs" : "");
		if ((err = red_needs_recipients(out, p, ctx)))
			return err;
	}
	json_array_foreach(gran, i, v) {
		const char *mref = json_string_value(json_object_get(v, "marking_ref"));
		const json_t *sels = json_object_get(v, "selectors");
		stix_tlp level;
		size_t j;
		const json_t *s;

		if (!mref)
			continue; /* a language marking */
		snprintf(p, sizeof p, "%s.granular_markings[%zu].marking_ref", path, i);
		if ((err = check_marking_ref(src, mref, p, &level, ctx)))
			return err;
		if (level == STIX_TLP_NONE)
			continue;
		if (level == STIX_TLP_RED && (err = red_needs_recipients(out, p, ctx)))
			return err;
		*flags |= POLICY_F_GRANULAR;
		json_array_foreach(sels, j, s) {
			const char *sel = json_string_value(s);
			char top[RK_MAX_NAME];
			if (!sel)
				continue;
			size_t n = strcspn(sel, ".");
			if (n >= sizeof top)
				continue;
			memcpy(top, sel, n);
			top[n] = '\0';
			if (type && stix_object_requires(obj, top))
				out->granular |= 1u << level;
		}
	}
	json_object_foreach((json_t *)obj, key, v)
		if (policy_is_ref_property(key))
			*flags |= POLICY_F_REFS;
	if (!policy_nested_refs(obj, no_ref, NULL))
		*flags |= POLICY_F_REFS;
	return RK_OK;
}

/* ---------------------------------------------------------------- key */

static void put_list(rk_buf *b, char **l, size_t n)
{
	rk_buf_puts(b, "|");
	for (size_t i = 0; i < n; i++) {
		if (i)
			rk_buf_puts(b, ",");
		rk_buf_puts(b, l[i]);
	}
}

char *policy_audience_key(const policy_audience *a)
{
	rk_buf b;

	rk_buf_init(&b);
	rk_buf_printf(&b, KEY_VERSION "|%d|%u|%s", (int)a->tlp, a->granular,
		      a->owner ? a->owner : "");
	put_list(&b, a->recipients, a->n_recipients);
	put_list(&b, a->distribution, a->n_distribution);
	put_list(&b, a->communities, a->n_communities);
	if (rk_buf_puts(&b, "") != RK_OK) {
		rk_buf_cleanup(&b);
		return NULL;
	}
	return rk_buf_take(&b);
}

/* Splits field (len bytes) at ',' into a new list. */
static bool split_list(const char *s, size_t len, char ***out, size_t *n)
{
	*n = 0;
	*out = NULL;
	if (!len)
		return true;
	size_t parts = 1;
	for (size_t i = 0; i < len; i++)
		parts += s[i] == ',';
	if (!(*out = calloc(parts, sizeof **out)))
		return false;
	for (size_t start = 0, i = 0; i <= len; i++) {
		if (i < len && s[i] != ',')
			continue;
		if (i == start || !((*out)[*n] = strndup(s + start, i - start)))
			return false;
		(*n)++;
		start = i + 1;
	}
	return true;
}

rk_err policy_audience_parse(const char *key, policy_audience *out, rk_errctx *ctx)
{
	const char *f[7];
	size_t len[7], nf = 0;
	const char *s = key;

	memset(out, 0, sizeof *out);
	out->tlp = STIX_TLP_NONE;
	if (!key)
		return rk_fail(ctx, RK_EINVAL, NULL, "no audience");
	while (nf < 7) {
		const char *bar = strchr(s, '|');
		f[nf] = s;
		len[nf] = bar ? (size_t)(bar - s) : strlen(s);
		nf++;
		if (!bar)
			break;
		s = bar + 1;
	}
	if (nf != 7 || strchr(f[6], '|') || len[0] != 1 || f[0][0] != KEY_VERSION[0])
		return rk_fail(ctx, RK_EINVAL, NULL, "not an audience key: '%.120s'", key);
	char *end;
	long tlp = strtol(f[1], &end, 10);
	unsigned long gran = strtoul(f[2], &end, 10);
	if (tlp < STIX_TLP_CLEAR || tlp > STIX_TLP_RED || *end != '|' || gran >= 64)
		return rk_fail(ctx, RK_EINVAL, NULL, "not an audience key: '%.120s'", key);
	out->tlp = (stix_tlp)tlp;
	out->granular = (unsigned)gran;
	if (!(out->owner = strndup(f[3], len[3])) ||
	    !split_list(f[4], len[4], &out->recipients, &out->n_recipients) ||
	    !split_list(f[5], len[5], &out->distribution, &out->n_distribution) ||
	    !split_list(f[6], len[6], &out->communities, &out->n_communities)) {
		policy_audience_cleanup(out);
		return rk_fail(ctx, RK_EINVAL, NULL, "not an audience key: '%.120s'", key);
	}
	return RK_OK;
}

/* ---------------------------------------------------------------- the extension */

json_t *policy_extension_definition(void)
{
	return json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s]}", "type",
		"extension-definition", "spec_version", "2.1", "id", POLICY_EXTENSION_ID,
		"created_by_ref", POLICY_RENKEI_IDENTITY, "created", "2026-11-26T00:00:00.000Z",
		"modified", "2026-11-26T00:00:00.000Z", "name", "renkei distribution",
		"description",
		"Who may read an object beyond its TLP marking, as a renkei hub enforces it "
		"on every path (renkei docs/confidentiality.md).",
		"schema",
		"Properties, all optional lists of strings. recipients: STIX identity ids of "
		"organisations or individual users of the hub's directory; a TLP:RED object, "
		"or a TLP:RED granular marking, is read only by them and requires the list. "
		"distribution: identity ids of organisations. communities: community ids of "
		"the hub. When distribution or communities is present, a reader's "
		"organisation must be listed in distribution or be a member of a listed "
		"community, in addition to what the TLP marking allows.",
		"version",
		"1.0.0", "extension_types", "property-extension");
}
