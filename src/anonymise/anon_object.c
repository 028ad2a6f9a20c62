/*
 * anon_object.c: the anonymising transformation of one envelope.
 *
 * Three steps over the envelope's objects array, in place:
 *
 *  1. the id map: the submitter's identities (its organisation's, its
 *     users', and any identity object in the envelope named like the
 *     organisation) map to the pseudonym; every other object id in the
 *     envelope whose UUID is not version 4 maps to a keyed id of the same
 *     type (anon_mapped_id), because a name-based id (UUIDv5 of an
 *     observable's value, as STIX 2.1 section 2.9 makes them) gives the
 *     value away to anyone who guesses it, and a version-1 id carries the
 *     machine's MAC address and a time;
 *  2. the names to scrub: the names of the individuals identity objects of
 *     the envelope describe (identity_class "individual");
 *  3. a walk of every object: an identity of the submitter becomes the
 *     pseudonym's identity object whole; `*_ref` / `*_refs` values go
 *     through the id map; properties that are personal by definition
 *     (an individual's name and contact information, an account's login
 *     and display name, a note's authors) are replaced; opaque content
 *     (an artifact's payload, an e-mail body) is flagged for review; every
 *     other string, at any depth and in property names, goes through the
 *     id map (as text) and the text rules (anon_text.c). A property whose
 *     name names the submitter (x_acme_score) is removed.
 *
 * Left alone: type, spec_version, created, modified (when well-formed:
 * anything else is text like any other), object_marking_refs,
 * granular_markings and the renkei extension (who may read the object is
 * decided on them, unchanged; an anonymous submission naming its own
 * submitter there is refused by the hub, not rewritten).
 *
 * Invariant (checked by the fuzz harness): after anon_envelope, no string
 * in the array, key or value, contains one of the submitter's identity ids
 * or its name.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "anon_int.h"
#include "policy.h"
#include "stix.h"

/* ---------------------------------------------------------------- keyed ids */

static void keyed_uuid(const unsigned char key[ANON_KEY_BYTES], const char *what,
		       const char *a, const char *b, const char *c, char out[RK_UUID_BUF])
{
	crypto_generichash_state st;
	unsigned char h[16];
	static const char hex[] = "0123456789abcdef";
	const char *parts[] = {what, a, b, c};

	crypto_generichash_init(&st, key, ANON_KEY_BYTES, sizeof h);
	for (size_t i = 0; i < RK_ARRAY_LEN(parts); i++) {
		const char *p = parts[i] ? parts[i] : "";
		/* each part with its terminating NUL: no two inputs meet */
		crypto_generichash_update(&st, (const unsigned char *)p, strlen(p) + 1);
	}
	crypto_generichash_final(&st, h, sizeof h);
	h[6] = (unsigned char)((h[6] & 0x0f) | 0x40); /* shaped as version 4 */
	h[8] = (unsigned char)((h[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	size_t o = 0;
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[h[i] >> 4];
		out[o++] = hex[h[i] & 15];
	}
	out[o] = '\0';
}

void anon_pseudonym(const unsigned char key[ANON_KEY_BYTES], const char *org,
		    const char *community, char out[RK_MAX_STIX_ID + 1])
{
	char uuid[RK_UUID_BUF];
	keyed_uuid(key, "renkei anonymous pseudonym", org, community, NULL, uuid);
	snprintf(out, RK_MAX_STIX_ID + 1, "identity--%s", uuid);
}

void anon_mapped_id(const unsigned char key[ANON_KEY_BYTES], const char *org,
		    const char *community, const char *id, char out[RK_MAX_STIX_ID + 1])
{
	char uuid[RK_UUID_BUF];
	const char *sep = strstr(id, "--");
	size_t tl = sep ? (size_t)(sep - id) : 0;

	keyed_uuid(key, "renkei anonymous object id", org, community, id, uuid);
	if (!sep || tl > RK_MAX_STIX_TYPE)
		tl = 0;
	snprintf(out, RK_MAX_STIX_ID + 1, "%.*s--%s", (int)tl, tl ? id : "x-renkei-object",
		 uuid);
}

bool anon_id_is_random(const char *id)
{
	const char *sep = strstr(id, "--");
	/* "--" then 8-4-4: the version digit is the 15th character */
	return sep && strlen(sep + 2) == 36 && sep[2 + 14] == '4';
}

json_t *anon_pseudonym_identity(const char *pseudonym_id)
{
	char name[48];
	const char *uuid = strstr(pseudonym_id, "--");

	snprintf(name, sizeof name, "anonymous-%.8s", uuid ? uuid + 2 : "submitter");
	return json_pack("{ss ss ss ss ss ss ss ss s[s]}", "type", "identity", "spec_version",
			 "2.1", "id", pseudonym_id, "created", ANON_PSEUDONYM_CREATED,
			 "modified", ANON_PSEUDONYM_CREATED, "created_by_ref", pseudonym_id,
			 "name", name, "identity_class", "organization", "object_marking_refs",
			 stix_tlp_marking_id(STIX_TLP_CLEAR));
}

/* ---------------------------------------------------------------- the walk */

typedef struct id_map {
	char from[RK_MAX_STIX_ID + 1];
	char to[RK_MAX_STIX_ID + 1];
	bool submitter;
} id_map;

typedef struct walk {
	const anon_rules *rules;
	const anon_submitter *sub;
	anon_result *res;
	id_map *map;
	size_t n_map;
	const char **names;
	size_t n_names;
	size_t object;  /* index of the object being walked */
	const char *path; /* of the string being scrubbed */
	bool oom;
} walk;

static void add_finding(walk *w, const char *rule, const char *path, bool review)
{
	anon_result *res = w->res;
	if (review && w->object < res->n_objects)
		res->review[w->object] = true;
	if (res->n_findings > RK_ANON_MAX_FINDINGS)
		return;
	if (res->n_findings == RK_ANON_MAX_FINDINGS) {
		rule = "more-findings-left-out";
		path = "";
	}
	anon_finding *f = realloc(res->findings, (res->n_findings + 1) * sizeof *f);
	if (!f) {
		w->oom = true;
		return;
	}
	res->findings = f;
	f += res->n_findings++;
	f->object = w->object;
	f->rule = rule;
	f->review = review;
	snprintf(f->path, sizeof f->path, "%s", path);
}

static void on_note(void *arg, const char *rule, bool review)
{
	walk *w = arg;
	add_finding(w, rule, w->path, review);
}

static const id_map *map_find(const walk *w, const char *id)
{
	for (size_t i = 0; i < w->n_map; i++)
		if (strcmp(w->map[i].from, id) == 0)
			return &w->map[i];
	return NULL;
}

/* Every id of the map found in text replaced (ids as text in a
 * description, an external reference...); *out NULL when none. */
static rk_err map_text(walk *w, const char *text, char **out, bool *submitter)
{
	char *cur = NULL;
	const char *t = text;

	*out = NULL;
	for (size_t i = 0; i < w->n_map; i++) {
		const char *hit = strstr(t, w->map[i].from);
		if (!hit)
			continue;
		rk_buf b;
		size_t fl = strlen(w->map[i].from);
		rk_buf_init(&b);
		while (hit) {
			if (rk_buf_append(&b, t, (size_t)(hit - t)) != RK_OK ||
			    rk_buf_puts(&b, w->map[i].to) != RK_OK) {
				rk_buf_cleanup(&b);
				free(cur);
				return RK_ENOMEM;
			}
			t = hit + fl;
			hit = strstr(t, w->map[i].from);
		}
		if (rk_buf_puts(&b, t) != RK_OK || rk_buf_append(&b, "", 0) != RK_OK) {
			rk_buf_cleanup(&b);
			free(cur);
			return RK_ENOMEM;
		}
		free(cur);
		cur = rk_buf_take(&b);
		if (!cur)
			return RK_ENOMEM;
		t = cur;
		*submitter |= w->map[i].submitter;
	}
	*out = cur;
	return RK_OK;
}

/* Scrubs one string value; *out NULL when unchanged. */
static void scrub_string(walk *w, const char *in, const char *path, bool observable,
			 char **out)
{
	char *mapped = NULL, *scrubbed = NULL;
	bool submitter = false;

	*out = NULL;
	if (map_text(w, in, &mapped, &submitter)) {
		w->oom = true;
		return;
	}
	if (mapped)
		add_finding(w, submitter ? ANON_RULE_SUBMITTER_ID : ANON_RULE_OBJECT_ID, path,
			    false);
	w->path = path;
	if (anon_scrub_text(w->rules, w->sub, w->names, w->n_names, mapped ? mapped : in,
			    observable, &scrubbed, on_note, w)) {
		free(mapped);
		w->oom = true;
		return;
	}
	if (strcmp(scrubbed, in) == 0) {
		free(scrubbed);
		scrubbed = NULL;
	}
	free(mapped);
	*out = scrubbed;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Observable types whose "value" is the indicator itself. */
static bool value_is_observable(const json_t *obj)
{
	static const char *const types[] = {"ipv4-addr", "ipv6-addr", "domain-name", "url",
					    "email-addr", "mac-addr"};
	const char *t = json_string_value(json_object_get(obj, "type"));
	for (size_t i = 0; t && i < RK_ARRAY_LEN(types); i++)
		if (strcmp(t, types[i]) == 0)
			return true;
	return false;
}

/* Properties replaced whole (personal by definition): type, property,
 * the replacement. */
static const struct personal {
	const char *type;
	const char *prop;
	const char *rule;
} personal_props[] = {
	{"identity", "contact_information", ANON_RULE_PERSONAL},
	{"user-account", "display_name", ANON_RULE_PERSONAL},
	{"user-account", "account_login", ANON_RULE_PERSONAL},
	{"user-account", "user_id", ANON_RULE_PERSONAL},
	{"email-addr", "display_name", ANON_RULE_PERSON_NAME},
	{"note", "authors", ANON_RULE_PERSON_NAME},
	{"opinion", "authors", ANON_RULE_PERSON_NAME},
};

/* Content that no rule can read: flagged, and its text scrubbed where it
 * is text. */
static const struct opaque {
	const char *type;
	const char *prop;
} opaque_props[] = {
	{"artifact", "payload_bin"},
	{"email-message", "body"},
	{"email-message", "body_multipart"},
	{"x509-certificate", "subject"},
};

static bool is_individual(const json_t *obj)
{
	const char *t = json_string_value(json_object_get(obj, "type"));
	const char *c = json_string_value(json_object_get(obj, "identity_class"));
	return t && c && strcmp(t, "identity") == 0 && strcmp(c, "individual") == 0;
}

static void walk_value(walk *w, json_t *v, const char *path, const json_t *holder,
		       const char *key, unsigned depth);

/* type, spec_version, created and modified are left alone when they hold
 * what they must (a type name, "2.1", a timestamp): no rule has anything
 * to take from those, and a configured pattern must not break them. Any
 * other value (an observable may carry "created" as a custom property)
 * goes through the rules like any string. */
static bool is_fixed_fact(const char *key, const json_t *v)
{
	const char *s = json_string_value(v);
	rk_time t;

	if (!s)
		return false;
	if (!strcmp(key, "type"))
		return stix_type_name_valid(s);
	if (!strcmp(key, "spec_version"))
		return !strcmp(s, "2.1") || !strcmp(s, "2.0");
	if (!strcmp(key, "created") || !strcmp(key, "modified"))
		return rk_time_parse(s, &t);
	return false;
}

/* Replaces every string under v (a personal property) by the redaction. */
static void redact_all(walk *w, json_t *holder, const char *key, json_t *v)
{
	if (json_is_string(v)) {
		if (json_object_set_new(holder, key, json_string("[redacted]")))
			w->oom = true;
		return;
	}
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			if (json_is_string(json_array_get(v, i)) &&
			    json_array_set_new(v, i, json_string("[redacted]")))
				w->oom = true;
	}
}

static void walk_object(walk *w, json_t *obj, const char *path, unsigned depth)
{
	/* a copy: the walk may replace the "type" member itself */
	char type_buf[RK_MAX_STIX_TYPE + 1];
	const char *tv = json_string_value(json_object_get(obj, "type"));
	const char *type = tv && strlen(tv) < sizeof type_buf ? type_buf : NULL;
	const char *key;
	json_t *v;
	void *tmp;
	char sub[sizeof ((anon_finding *)0)->path];

	json_t *renames = json_array(); /* value, new key, value, new key... */

	if (type)
		memcpy(type_buf, tv, strlen(tv) + 1);

	if (depth > RK_MAX_JSON_DEPTH || !renames) {
		w->oom |= !renames;
		json_decref(renames);
		return;
	}
	json_object_foreach_safe(obj, tmp, key, v) {
		snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", key);
		if (depth == 0 && (!strcmp(key, "object_marking_refs") ||
				   !strcmp(key, "granular_markings")))
			continue;
		if (depth == 0 && is_fixed_fact(key, v)) {
			/* a custom type may name the submitter (x-acme-report):
			 * it cannot be rewritten, so the object is held */
			char *out = NULL;
			scrub_string(w, json_string_value(v), sub, false, &out);
			if (out)
				add_finding(w, ANON_RULE_FIXED, sub, true);
			free(out);
			continue;
		}
		if (depth == 1 && strcmp(key, POLICY_EXTENSION_ID) == 0 &&
		    strcmp(path, "extensions") == 0)
			continue;
		/* a property name holding an id of the map is renamed after the
		 * loop (an extension's id); one the text rules change names
		 * the submitter, and goes with its value */
		char *mapped_key = NULL, *scrubbed_key = NULL;
		bool sub_key = false;
		if (map_text(w, key, &mapped_key, &sub_key)) {
			w->oom = true;
			return;
		}
		if (mapped_key) {
			add_finding(w, sub_key ? ANON_RULE_SUBMITTER_ID : ANON_RULE_OBJECT_ID, sub,
				    false);
			/* the value goes through the rules as any value would */
			json_t *moved;
			if (json_is_string(v)) {
				char *out = NULL;
				scrub_string(w, json_string_value(v), sub, false, &out);
				moved = json_string(out ? out : json_string_value(v));
				free(out);
			} else {
				walk_value(w, v, sub, NULL, NULL, depth + 1);
				moved = json_incref(v);
			}
			if (!moved || json_object_del(obj, key) ||
			    json_array_append_new(renames, moved) ||
			    json_array_append_new(renames, json_string(mapped_key)))
				w->oom = true;
			free(mapped_key);
			continue;
		}
		w->path = sub;
		if (anon_scrub_text(w->rules, w->sub, w->names, w->n_names, key, false,
				    &scrubbed_key, on_note, w)) {
			w->oom = true;
			return;
		}
		bool key_changed = strcmp(scrubbed_key, key) != 0;
		free(scrubbed_key);
		if (key_changed) {
			if (json_object_del(obj, key))
				w->oom = true;
			continue;
		}
		bool done = false;
		for (size_t i = 0; type && i < RK_ARRAY_LEN(personal_props); i++) {
			if (strcmp(type, personal_props[i].type) || strcmp(key, personal_props[i].prop))
				continue;
			redact_all(w, obj, key, v);
			add_finding(w, personal_props[i].rule, sub, false);
			done = true;
		}
		if (done)
			continue;
		if (depth == 0 && strcmp(key, "name") == 0 && is_individual(obj) &&
		    json_is_string(v)) {
			if (json_object_set_new(obj, key, json_string("[redacted-name]")))
				w->oom = true;
			add_finding(w, ANON_RULE_PERSON_NAME, sub, false);
			continue;
		}
		for (size_t i = 0; type && i < RK_ARRAY_LEN(opaque_props); i++)
			if (!strcmp(type, opaque_props[i].type) && !strcmp(key, opaque_props[i].prop))
				add_finding(w, ANON_RULE_OPAQUE, sub, true);
		walk_value(w, v, sub, obj, key, depth + 1);
	}
	for (size_t i = 0; i + 1 < json_array_size(renames); i += 2)
		if (json_object_set(obj, json_string_value(json_array_get(renames, i + 1)),
				    json_array_get(renames, i)))
			w->oom = true;
	json_decref(renames);
}

static void walk_ref(walk *w, json_t *holder, const char *key, size_t index, json_t *v,
		     const char *path)
{
	const id_map *m = map_find(w, json_string_value(v));
	char *out = NULL;

	if (m) {
		json_t *nv = json_string(m->to);
		if (!nv || (key ? json_object_set_new(holder, key, nv)
				: json_array_set_new(holder, index, nv)))
			w->oom = true;
		add_finding(w, m->submitter ? ANON_RULE_SUBMITTER_ID : ANON_RULE_OBJECT_ID, path,
			    false);
		return;
	}
	/* not an id of the envelope: any text in it still goes through the
	 * rules (a reference is an id, but the walk trusts nothing) */
	scrub_string(w, json_string_value(v), path, false, &out);
	if (out) {
		json_t *nv = json_string(out);
		if (!nv || (key ? json_object_set_new(holder, key, nv)
				: json_array_set_new(holder, index, nv)))
			w->oom = true;
		free(out);
	}
}

static void walk_value(walk *w, json_t *v, const char *path, const json_t *holder,
		       const char *key, unsigned depth)
{
	char sub[sizeof ((anon_finding *)0)->path];
	bool is_ref = key && (ends_with(key, "_ref") || ends_with(key, "_refs") ||
			      (depth == 1 && strcmp(key, "id") == 0));

	if (w->oom || depth > RK_MAX_JSON_DEPTH)
		return;
	if (json_is_object(v)) {
		walk_object(w, v, path, depth);
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *e = json_array_get(v, i);
			snprintf(sub, sizeof sub, "%s[%zu]", path, i);
			if (json_is_string(e) && is_ref)
				walk_ref(w, v, NULL, i, e, sub);
			else if (json_is_string(e)) {
				char *out = NULL;
				scrub_string(w, json_string_value(e), sub, false, &out);
				if (out && json_array_set_new(v, i, json_string(out)))
					w->oom = true;
				free(out);
			} else {
				walk_value(w, e, sub, v, NULL, depth + 1);
			}
		}
	} else if (json_is_string(v) && key) {
		json_t *h = (json_t *)holder;
		if (is_ref) {
			walk_ref(w, h, key, 0, v, path);
			return;
		}
		bool observable = (depth == 1 && strcmp(key, "pattern") == 0) ||
				  (strcmp(key, "value") == 0 && value_is_observable(holder));
		char *out = NULL;
		scrub_string(w, json_string_value(v), path, observable, &out);
		if (out && json_object_set_new(h, key, json_string(out)))
			w->oom = true;
		free(out);
	}
}

/* ---------------------------------------------------------------- envelope */

void anon_result_cleanup(anon_result *res)
{
	if (!res)
		return;
	free(res->findings);
	free(res->review);
	free(res->replaced);
	memset(res, 0, sizeof *res);
}

static bool is_submitter_id(const anon_submitter *sub, const char *id)
{
	for (size_t i = 0; id && i < sub->n_identity_ids; i++)
		if (strcmp(sub->identity_ids[i], id) == 0)
			return true;
	return false;
}

static bool named_like_submitter(const anon_submitter *sub, const json_t *obj)
{
	const char *t = json_string_value(json_object_get(obj, "type"));
	const char *n = json_string_value(json_object_get(obj, "name"));
	if (!t || !n || strcmp(t, "identity") != 0)
		return false;
	return (sub->org_name && strcasecmp(n, sub->org_name) == 0) ||
	       (sub->org_id && strcasecmp(n, sub->org_id) == 0);
}

rk_err anon_envelope(const anon_rules *rules, const unsigned char key[ANON_KEY_BYTES],
		     const anon_submitter *sub, json_t *objects, anon_result *res,
		     rk_errctx *ctx)
{
	walk w = {.rules = rules, .sub = sub, .res = res};
	size_t n = json_array_size(objects);

	memset(res, 0, sizeof *res);
	anon_pseudonym(key, sub->org_id, sub->community_id, res->pseudonym);
	res->n_objects = n;
	res->review = calloc(n ? n : 1, sizeof *res->review);
	res->replaced = calloc(n ? n : 1, sizeof *res->replaced);
	w.map = calloc(n + sub->n_identity_ids + 1, sizeof *w.map);
	w.names = calloc(RK_ANON_MAX_NAMES, sizeof *w.names);
	if (!res->review || !res->replaced || !w.map || !w.names)
		goto nomem;

	/* 1. the id map */
	for (size_t i = 0; i < sub->n_identity_ids; i++) {
		id_map *m = &w.map[w.n_map++];
		snprintf(m->from, sizeof m->from, "%s", sub->identity_ids[i]);
		snprintf(m->to, sizeof m->to, "%s", res->pseudonym);
		m->submitter = true;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(objects, i);
		const char *id = json_string_value(json_object_get(o, "id"));
		/* only ids that are ids ("" would be found everywhere) */
		if (!id || !stix_id_valid(id, NULL) || map_find(&w, id) ||
		    strcmp(id, res->pseudonym) == 0)
			continue;
		id_map *m = &w.map[w.n_map];
		if (named_like_submitter(sub, o)) {
			m->submitter = true;
			snprintf(m->to, sizeof m->to, "%s", res->pseudonym);
		} else if (!anon_id_is_random(id)) {
			anon_mapped_id(key, sub->org_id, sub->community_id, id, m->to);
		} else {
			continue;
		}
		snprintf(m->from, sizeof m->from, "%s", id);
		w.n_map++;
	}
	/* 2. names of individuals */
	for (size_t i = 0; i < n && w.n_names < RK_ANON_MAX_NAMES; i++) {
		json_t *o = json_array_get(objects, i);
		const char *name = json_string_value(json_object_get(o, "name"));
		if (name && is_individual(o))
			w.names[w.n_names++] = name;
	}
	/* The names point into the objects, which the walk rewrites: copy. */
	for (size_t i = 0; i < w.n_names; i++)
		if (!(w.names[i] = strdup(w.names[i]))) {
			w.n_names = i;
			goto nomem;
		}

	/* 3. the walk */
	for (size_t i = 0; i < n && !w.oom; i++) {
		json_t *o = json_array_get(objects, i);
		const char *id = json_string_value(json_object_get(o, "id"));
		const char *type = json_string_value(json_object_get(o, "type"));
		w.object = i;
		if (!json_is_object(o))
			continue;
		const id_map *m = id ? map_find(&w, id) : NULL;
		if (type && strcmp(type, "identity") == 0 &&
		    ((m && m->submitter) || (id && strcmp(id, res->pseudonym) == 0) ||
		     is_submitter_id(sub, id))) {
			json_t *p = anon_pseudonym_identity(res->pseudonym);
			if (!p || json_array_set_new(objects, i, p))
				goto nomem;
			res->replaced[i] = true;
			add_finding(&w, ANON_RULE_SUBMITTER_ID, "", false);
			continue;
		}
		walk_object(&w, o, "", 0);
	}
	if (w.oom)
		goto nomem;
	for (size_t i = 0; i < w.n_names; i++)
		free((char *)w.names[i]);
	free(w.names);
	free(w.map);
	return RK_OK;
nomem:
	for (size_t i = 0; i < w.n_names; i++)
		free((char *)w.names[i]);
	free(w.names);
	free(w.map);
	anon_result_cleanup(res);
	return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory anonymising the envelope");
}
