/*
 * policy_view.c: what a reader who may read an object is shown of it
 * (docs/confidentiality.md, "Granular markings" and "References").
 *
 * Given an object a non-owner may read, policy_view finds the top-level
 * properties the reader may not see: those a granular TLP marking gives a
 * level the reader is not allowed at (R4, R5 at that level), and
 * references (R7) to stored objects the reader may not read, which the
 * caller's ref_visible answers. A hidden source_ref, target_ref or
 * sighting_of_ref, or any hidden required property, withholds the whole
 * object (404, as for an object never stored). Otherwise hidden properties
 * are removed, hidden ids dropped from reference lists, and the
 * granular_markings kept consistent with what remains: selectors into a
 * removed property go, selectors into a filtered list are renumbered, and
 * entries left without selectors go. When nothing is hidden the decision
 * carries no view and the caller serves the stored bytes.
 *
 * The object is never modified; a view is a new object sharing no mutable
 * parts with it.
 */
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

#define VIEW_MAX_KEYS 64

/* The hidden parts of one object. */
typedef struct view_plan {
	const char *removed[VIEW_MAX_KEYS];
	size_t n_removed;
	const char *filtered[VIEW_MAX_KEYS]; /* reference lists with ids dropped */
	json_t *kept[VIEW_MAX_KEYS];         /* their new values */
	int *map[VIEW_MAX_KEYS];             /* old index -> new index, or -1 */
	size_t n_filtered;
	bool overflow;
} view_plan;

static void plan_cleanup(view_plan *p)
{
	for (size_t i = 0; i < p->n_filtered; i++) {
		json_decref(p->kept[i]);
		free(p->map[i]);
	}
}

static bool in(const char *const *l, size_t n, const char *k)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i], k) == 0)
			return true;
	return false;
}

static void plan_remove(view_plan *p, const char *key)
{
	if (in(p->removed, p->n_removed, key))
		return;
	if (p->n_removed == VIEW_MAX_KEYS) {
		p->overflow = true;
		return;
	}
	p->removed[p->n_removed++] = key;
}

/* The top-level property a selector starts in, as a key of obj (so the
 * pointer lives as long as obj), or NULL. */
static const char *selector_top(const json_t *obj, const char *sel)
{
	const char *key;
	const json_t *v;
	size_t n = strcspn(sel, ".");

	json_object_foreach((json_t *)obj, key, v)
		if (strlen(key) == n && strncmp(key, sel, n) == 0)
			return key;
	return NULL;
}

static bool withholding_ref(const json_t *obj, const char *key)
{
	return strcmp(key, "source_ref") == 0 || strcmp(key, "target_ref") == 0 ||
	       strcmp(key, "sighting_of_ref") == 0 || stix_object_requires(obj, key);
}

/* Plans the references: false when the object must be withheld. */
static bool plan_refs(const json_t *obj, const policy_resource *res,
		      view_plan *p)
{
	const char *key;
	const json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		if (!policy_is_ref_property(key) || in(p->removed, p->n_removed, key))
			continue;
		if (json_is_string(v)) {
			if (res->ref_visible(res->ref_arg, json_string_value(v)))
				continue;
			if (withholding_ref(obj, key))
				return false;
			plan_remove(p, key);
			continue;
		}
		size_t n = json_array_size(v), kept = 0;
		if (!n)
			continue;
		int *map = malloc(n * sizeof *map);
		json_t *arr = json_array();
		if (!map || !arr) {
			free(map);
			json_decref(arr);
			p->overflow = true;
			return true;
		}
		for (size_t i = 0; i < n; i++) {
			const json_t *e = json_array_get(v, i);
			const char *id = json_string_value(e);
			if (id && !res->ref_visible(res->ref_arg, id)) {
				map[i] = -1;
				continue;
			}
			map[i] = (int)kept++;
			json_array_append(arr, (json_t *)e);
		}
		if (kept == n) {
			free(map);
			json_decref(arr);
			continue;
		}
		if (!kept) {
			free(map);
			json_decref(arr);
			if (stix_object_requires(obj, key))
				return false;
			plan_remove(p, key);
			continue;
		}
		if (p->n_filtered == VIEW_MAX_KEYS) {
			free(map);
			json_decref(arr);
			p->overflow = true;
			continue;
		}
		p->filtered[p->n_filtered] = key;
		p->kept[p->n_filtered] = arr;
		p->map[p->n_filtered] = map;
		p->n_filtered++;
	}
	return true;
}

/* A selector as it reads after the plan, or NULL if it goes. *buf holds a
 * renumbered one. */
static const char *remap_selector(const json_t *obj, const view_plan *p, const char *sel,
				  char *buf, size_t size)
{
	const char *top = selector_top(obj, sel);

	if (!top || in(p->removed, p->n_removed, top))
		return NULL;
	for (size_t f = 0; f < p->n_filtered; f++) {
		if (strcmp(p->filtered[f], top) != 0)
			continue;
		size_t n = strlen(top);
		if (sel[n] == '\0')
			return sel;
		if (strncmp(sel + n, ".[", 2) != 0)
			return NULL;
		char *end;
		unsigned long i = strtoul(sel + n + 2, &end, 10);
		if (*end != ']' ||
		    i >= json_array_size(json_object_get(obj, top)) || p->map[f][i] < 0)
			return NULL;
		int w = snprintf(buf, size, "%s.[%d]%s", top, p->map[f][i], end + 1);
		return w > 0 && (size_t)w < size ? buf : NULL;
	}
	return sel;
}

/* granular_markings with every selector remapped, or NULL when none is
 * left. */
static json_t *remap_granular(const json_t *obj, const view_plan *p)
{
	const json_t *gran = json_object_get(obj, "granular_markings");
	json_t *out = json_array();
	size_t i;
	const json_t *gm;

	if (!out)
		return NULL;
	json_array_foreach(gran, i, gm) {
		const json_t *sels = json_object_get(gm, "selectors");
		json_t *nsels = json_array(), *ngm;
		size_t j;
		const json_t *s;
		json_array_foreach(sels, j, s) {
			char buf[RK_MAX_NAME * 2];
			const char *sel = json_string_value(s);
			const char *ns = sel ? remap_selector(obj, p, sel, buf, sizeof buf) : NULL;
			if (ns)
				json_array_append_new(nsels, json_string(ns));
		}
		if (!json_array_size(nsels) || !(ngm = json_copy((json_t *)gm))) {
			json_decref(nsels);
			continue;
		}
		json_object_set_new(ngm, "selectors", nsels);
		json_array_append_new(out, ngm);
	}
	if (!json_array_size(out)) {
		json_decref(out);
		return NULL;
	}
	return out;
}

policy_decision policy_view(const directory *dir, const policy_subject *s,
			    const policy_resource *res)
{
	const json_t *obj = res->json, *gran = json_object_get(obj, "granular_markings");
	const char *type = json_string_value(json_object_get(obj, "type"));
	const dir_org *org = s && s->user ? s->org : NULL;
	const dir_user *user = s ? s->user : NULL;
	policy_decision d = {.allow = true, .http_status = 200};
	view_plan p = {0};
	size_t i;
	const json_t *gm;

	if (!type)
		return policy_deny(404, "no such object");
	json_array_foreach(gran, i, gm) {
		stix_tlp level = stix_tlp_of_marking(
			json_string_value(json_object_get(gm, "marking_ref")));
		if (level == STIX_TLP_NONE ||
		    policy_reader_allowed(dir, org, user, res->collection, res->audience,
					  level))
			continue;
		size_t j;
		const json_t *sel;
		json_array_foreach(json_object_get(gm, "selectors"), j, sel) {
			const char *top = json_string_value(sel)
						  ? selector_top(obj, json_string_value(sel))
						  : NULL;
			if (!top)
				continue;
			if (stix_object_requires(obj, top))
				return policy_deny(404, "no such object");
			plan_remove(&p, top);
		}
	}
	/* References below the top level (in extensions, lists of objects)
	 * cannot be taken out without rewriting what holds them: one hidden
	 * there withholds the object. */
	if (res->ref_visible && (!plan_refs(obj, res, &p) ||
				 !policy_nested_refs(obj, res->ref_visible, res->ref_arg))) {
		plan_cleanup(&p);
		return policy_deny(404, "no such object");
	}
	if (p.overflow) {
		/* Too many hidden parts to describe: withhold rather than guess. */
		plan_cleanup(&p);
		return policy_deny(404, "no such object");
	}
	if (!p.n_removed && !p.n_filtered) {
		plan_cleanup(&p);
		return d;
	}
	json_t *view = json_copy((json_t *)obj);
	if (!view) {
		plan_cleanup(&p);
		return policy_deny(503, "out of memory");
	}
	json_t *ngran = gran ? remap_granular(obj, &p) : NULL;
	for (size_t k = 0; k < p.n_removed; k++)
		json_object_del(view, p.removed[k]);
	for (size_t k = 0; k < p.n_filtered; k++)
		json_object_set(view, p.filtered[k], p.kept[k]);
	if (gran) {
		if (ngran)
			json_object_set_new(view, "granular_markings", ngran);
		else
			json_object_del(view, "granular_markings");
	}
	plan_cleanup(&p);
	d.view = view;
	return d;
}
