/*
 * proto_oracle.c: see proto_oracle.h. Each function below cites the line
 * of docs/confidentiality.md it implements; where the document leaves a
 * choice open, the reading taken is written next to the code (and in the
 * opening comment of test_confidentiality.c).
 *
 * Invariants: pure functions of the world and the reader; the only state
 * is the per-reader cache in or_oracle. Cycles between references cannot
 * arise in the test's worlds (an object only refers to objects stored
 * before it); the cache still marks objects being decided and treats a
 * cycle as "not readable", the conservative answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto_oracle.h"

/* ---------------------------------------------------------------- TLP */

/* TLP 2.0: the OASIS marking-definition objects; TLP 1.0: STIX 2.1
 * section 7.2.1.4. */
static const struct {
	const char *id;
	or_tlp level;
	bool v2;
} tlp_ids[] = {
	{"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", OR_TLP_CLEAR, true},
	{"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", OR_TLP_GREEN, true},
	{"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", OR_TLP_AMBER, true},
	{"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", OR_TLP_AMBER_STRICT, true},
	{"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", OR_TLP_RED, true},
	{"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", OR_TLP_CLEAR, false},
	{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", OR_TLP_GREEN, false},
	{"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", OR_TLP_AMBER, false},
	{"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", OR_TLP_RED, false},
};

or_tlp or_tlp_of_marking(const char *id)
{
	for (size_t i = 0; id && i < RK_ARRAY_LEN(tlp_ids); i++)
		if (strcmp(tlp_ids[i].id, id) == 0)
			return tlp_ids[i].level;
	return OR_TLP_NONE;
}

const char *or_tlp2_marking(or_tlp level)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(tlp_ids); i++)
		if (tlp_ids[i].v2 && tlp_ids[i].level == level)
			return tlp_ids[i].id;
	return NULL;
}

const char *or_tlp1_marking(or_tlp level)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(tlp_ids); i++)
		if (!tlp_ids[i].v2 && tlp_ids[i].level == level)
			return tlp_ids[i].id;
	return NULL;
}

const char *or_tlp_name(or_tlp level)
{
	static const char *const names[] = {"TLP:CLEAR", "TLP:GREEN", "TLP:AMBER",
					    "TLP:AMBER+STRICT", "TLP:RED"};
	return level >= OR_TLP_CLEAR && level <= OR_TLP_RED ? names[level] : "no TLP";
}

const char *or_role_name(or_role role)
{
	static const char *const names[] = {"admin", "analyst", "reader", "sensor", "partner"};
	return role >= 0 && role < OR_ROLE_COUNT ? names[role] : "?";
}

/* ---------------------------------------------------------------- world */

void or_world_init(or_world *w)
{
	memset(w, 0, sizeof *w);
}

void or_world_free(or_world *w)
{
	for (size_t i = 0; i < w->n_rows; i++)
		json_decref(w->rows[i].json);
	free(w->rows);
	free(w->objs);
	free(w->slots);
	memset(w, 0, sizeof *w);
}

void or_identity(const char *name, char out[64])
{
	char uuid[RK_UUID_BUF];
	if (rk_uuid_v5(OR_IDENTITY_NS, name, strlen(name), uuid) != RK_OK)
		uuid[0] = '\0';
	snprintf(out, 64, "identity--%s", uuid);
}

int or_find_org_by_identity(const or_world *w, const char *identity)
{
	for (int i = 0; identity && i < w->n_orgs; i++)
		if (strcmp(w->orgs[i].identity, identity) == 0)
			return i;
	return -1;
}

int or_find_user_by_identity(const or_world *w, const char *identity)
{
	for (int i = 0; identity && i < w->n_users; i++)
		if (strcmp(w->users[i].identity, identity) == 0)
			return i;
	return -1;
}

int or_find_comm(const or_world *w, const char *id)
{
	for (int i = 0; id && i < w->n_comms; i++)
		if (strcmp(w->comms[i].id, id) == 0)
			return i;
	return -1;
}

static size_t hash_str(const char *s)
{
	size_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

long or_find_object(const or_world *w, const char *id)
{
	if (!w->n_slots || !id)
		return -1;
	for (size_t i = hash_str(id) % w->n_slots;; i = (i + 1) % w->n_slots) {
		size_t s = w->slots[i];
		if (s == 0)
			return -1;
		if (strcmp(w->objs[s - 1].id, id) == 0)
			return (long)(s - 1);
	}
}

static void slots_put(or_world *w, size_t obj)
{
	for (size_t i = hash_str(w->objs[obj].id) % w->n_slots;; i = (i + 1) % w->n_slots) {
		if (w->slots[i] == 0) {
			w->slots[i] = obj + 1;
			return;
		}
	}
}

size_t or_world_add_object(or_world *w, const char *id, const char *type, int owner)
{
	if (w->n_objs == w->cap_objs) {
		w->cap_objs = w->cap_objs ? 2 * w->cap_objs : 256;
		w->objs = realloc(w->objs, w->cap_objs * sizeof *w->objs);
		if (!w->objs)
			abort();
	}
	if (2 * (w->n_objs + 1) > w->n_slots) {
		free(w->slots);
		w->n_slots = w->n_slots ? 2 * w->n_slots : 1024;
		while (2 * (w->n_objs + 1) > w->n_slots)
			w->n_slots *= 2;
		w->slots = calloc(w->n_slots, sizeof *w->slots);
		if (!w->slots)
			abort();
		for (size_t i = 0; i < w->n_objs; i++)
			slots_put(w, i);
	}
	or_object *o = &w->objs[w->n_objs];
	memset(o, 0, sizeof *o);
	snprintf(o->id, sizeof o->id, "%s", id);
	snprintf(o->type, sizeof o->type, "%s", type);
	o->owner = owner;
	slots_put(w, w->n_objs);
	return w->n_objs++;
}

/* The renkei extension's lists ("Each list is optional"). */
static const json_t *ext_list(const json_t *obj, const char *name)
{
	const json_t *ext = json_object_get(json_object_get(obj, "extensions"), OR_EXT_ID);
	const json_t *l = json_object_get(ext, name);
	return json_is_array(l) ? l : NULL;
}

/* "TLP level of an object: the TLP marking among its object_marking_refs"
 * (the first one; the submission rules leave at most one). */
static or_tlp marked_level(const json_t *obj)
{
	size_t i;
	const json_t *m;
	json_array_foreach(json_object_get(obj, "object_marking_refs"), i, m) {
		or_tlp l = or_tlp_of_marking(json_string_value(m));
		if (l != OR_TLP_NONE)
			return l;
	}
	return OR_TLP_NONE;
}

size_t or_world_add_row(or_world *w, int coll, size_t obj, json_t *json)
{
	if (w->n_rows == w->cap_rows) {
		w->cap_rows = w->cap_rows ? 2 * w->cap_rows : 256;
		w->rows = realloc(w->rows, w->cap_rows * sizeof *w->rows);
		if (!w->rows)
			abort();
	}
	or_row *r = &w->rows[w->n_rows];
	memset(r, 0, sizeof *r);
	r->coll = coll;
	r->obj = obj;
	r->json = json;
	const char *v = json_string_value(json_object_get(json, "modified"));
	if (!v)
		v = json_string_value(json_object_get(json, "created"));
	snprintf(r->version, sizeof r->version, "%s", v ? v : "");
	if (v)
		rk_time_parse(v, &r->version_time);
	r->marked = marked_level(json);
	r->recipients = ext_list(json, "recipients");
	r->distribution = ext_list(json, "distribution");
	r->communities = ext_list(json, "communities");
	return w->n_rows++;
}

long or_find_row(const or_world *w, int coll, const char *id, const char *version)
{
	long obj = or_find_object(w, id);
	if (obj < 0)
		return -1;
	for (size_t i = 0; i < w->n_rows; i++)
		if (w->rows[i].obj == (size_t)obj && w->rows[i].coll == coll &&
		    (!version || strcmp(w->rows[i].version, version) == 0))
			return (long)i;
	return -1;
}

/* "or, if it has none, its collection's default_marking". */
or_tlp or_row_level(const or_world *w, const or_row *r)
{
	return r->marked != OR_TLP_NONE ? r->marked : w->colls[r->coll].default_tlp;
}

/* ---------------------------------------------------------------- reach */

bool or_member(const or_world *w, int comm, int org)
{
	return org >= 0 && (w->comms[comm].members >> org & 1u);
}

/* "Clients: organisations registered in the directory as clients of an
 * audience organisation. A client reaches its provider's community API
 * root and collections as if it were a member." */
bool or_org_reaches_comm(const or_world *w, int org, int comm)
{
	if (or_member(w, comm, org))
		return true;
	for (int m = 0; m < w->n_orgs; m++)
		if (or_member(w, comm, m) && (w->orgs[m].clients >> org & 1u))
			return true;
	return false;
}

uint32_t or_audience(const or_world *w, int coll)
{
	int comm = w->colls[coll].comm;
	uint32_t a = w->comms[comm].members;
	for (int m = 0; m < w->n_orgs; m++)
		if (or_member(w, comm, m))
			a |= w->orgs[m].clients;
	return a;
}

/* Every path: discovery lists "communities the reader's organisation is a
 * member of or a client of a member of; anonymous readers: communities
 * with a public collection". */
bool or_sees_root(const or_world *w, int reader, int comm)
{
	if (reader == OR_ANON) {
		for (int c = 0; c < w->n_colls; c++)
			if (w->colls[c].comm == comm && w->colls[c].public)
				return true;
		return false;
	}
	return or_org_reaches_comm(w, w->users[reader].org, comm);
}

/* R1: "the reader's organisation is a member of the collection's
 * community, or a client of a member; anonymous readers reach only
 * collections marked public". */
bool or_reaches(const or_world *w, int reader, int coll)
{
	if (reader == OR_ANON)
		return w->colls[coll].public;
	return or_org_reaches_comm(w, w->users[reader].org, w->colls[coll].comm);
}

/* R2: "the reader's role is in the collection's can_read (anonymous
 * readers of a public collection need no role)". */
bool or_may_read_coll(const or_world *w, int reader, int coll)
{
	if (!or_reaches(w, reader, coll))
		return false;
	if (reader == OR_ANON)
		return true;
	return w->colls[coll].can_read >> w->users[reader].role & 1u;
}

bool or_may_write_coll(const or_world *w, int reader, int coll)
{
	return reader != OR_ANON && or_reaches(w, reader, coll) &&
	       (w->colls[coll].can_write >> w->users[reader].role & 1u);
}

/* ---------------------------------------------------------------- reading */

void or_oracle_init(or_oracle *o, const or_world *w)
{
	memset(o, 0, sizeof *o);
	o->w = w;
	o->reader = OR_ANON;
}

static void oracle_clear(or_oracle *o)
{
	for (size_t i = 0; o->v && i < o->n_rows; i++)
		json_decref(o->v[i].served);
	free(o->v);
	free(o->state);
	free(o->anywhere);
	free(o->stored);
	o->v = NULL;
	o->state = o->anywhere = o->stored = NULL;
}

void or_oracle_free(or_oracle *o)
{
	oracle_clear(o);
}

void or_oracle_reader(or_oracle *o, int reader)
{
	oracle_clear(o);
	o->reader = reader;
	o->n_rows = o->w->n_rows;
	o->n_objs = o->w->n_objs;
	o->v = calloc(o->n_rows ? o->n_rows : 1, sizeof *o->v);
	o->state = calloc(o->n_rows ? o->n_rows : 1, 1);
	o->anywhere = calloc(o->n_objs ? o->n_objs : 1, 1);
	o->stored = calloc(o->n_objs ? o->n_objs : 1, 1);
	if (!o->v || !o->state || !o->anywhere || !o->stored)
		abort();
	for (size_t i = 0; i < o->n_rows; i++)
		o->stored[o->w->rows[i].obj] = 1;
}

static bool list_has(const json_t *list, const char *s)
{
	size_t i;
	const json_t *v;
	json_array_foreach(list, i, v) {
		const char *x = json_string_value(v);
		if (x && s && strcmp(x, s) == 0)
			return true;
	}
	return false;
}

/* R4 for one TLP level, in collection coll, with the object's recipients.
 * why receives the refusal. */
static bool r4_allows(const or_world *w, int reader, int coll, or_tlp level,
		      const json_t *recipients, char *why, size_t whylen)
{
	bool auth = reader != OR_ANON;
	switch (level) {
	case OR_TLP_CLEAR:
		return true;
	case OR_TLP_GREEN:
	case OR_TLP_AMBER:
		if (!auth)
			snprintf(why, whylen, "R4 %s: anonymous reader", or_tlp_name(level));
		return auth;
	case OR_TLP_AMBER_STRICT:
		if (!auth) {
			snprintf(why, whylen, "R4 TLP:AMBER+STRICT: anonymous reader");
			return false;
		}
		if (!or_member(w, w->colls[coll].comm, w->users[reader].org)) {
			snprintf(why, whylen,
				 "R4 TLP:AMBER+STRICT: reader's organisation is a client, not a member");
			return false;
		}
		return true;
	case OR_TLP_RED:
		if (!auth) {
			snprintf(why, whylen, "R4 TLP:RED: anonymous reader");
			return false;
		}
		if (list_has(recipients, w->orgs[w->users[reader].org].identity) ||
		    list_has(recipients, w->users[reader].identity))
			return true;
		snprintf(why, whylen, "R4 TLP:RED: reader not among the recipients");
		return false;
	default:
		snprintf(why, whylen, "no TLP level");
		return false;
	}
}

/* R5: "when the object lists distribution or communities: the reader's
 * organisation is in distribution, or a member of one of the listed
 * communities". Reading taken: a client of a listed community's member is
 * not "a member of" it. */
static bool r5_allows(const or_world *w, int reader, const or_row *r, char *why,
		      size_t whylen)
{
	if (!r->distribution && !r->communities)
		return true;
	if (reader == OR_ANON) {
		snprintf(why, whylen, "R5/R6: anonymous reader, object lists distribution or communities");
		return false;
	}
	int org = w->users[reader].org;
	if (list_has(r->distribution, w->orgs[org].identity))
		return true;
	size_t i;
	const json_t *v;
	json_array_foreach(r->communities, i, v) {
		int c = or_find_comm(w, json_string_value(v));
		if (c >= 0 && or_member(w, c, org))
			return true;
	}
	snprintf(why, whylen, "R5: reader's organisation not in distribution nor a member of the communities");
	return false;
}

/* The type's required properties (STIX 2.1: the common ones, and each
 * type's own; the test only stores these types). */
static bool required_prop(const json_t *obj, const char *type, const char *prop)
{
	static const char *const common[] = {"type", "id", "spec_version", "created",
					     "modified", NULL};
	static const struct {
		const char *type;
		const char *props[4];
	} own[] = {
		{"indicator", {"pattern", "pattern_type", "valid_from", NULL}},
		{"malware", {"is_family", NULL}},
		{"identity", {"name", NULL}},
		{"report", {"name", "published", "object_refs", NULL}},
		{"note", {"content", "object_refs", NULL}},
		{"relationship", {"relationship_type", "source_ref", "target_ref", NULL}},
		{"sighting", {"sighting_of_ref", NULL}},
		{"grouping", {"context", "object_refs", NULL}},
		{"opinion", {"opinion", "object_refs", NULL}},
	};
	for (size_t i = 0; common[i]; i++)
		if (strcmp(common[i], prop) == 0)
			return true;
	for (size_t i = 0; i < RK_ARRAY_LEN(own); i++) {
		if (strcmp(own[i].type, type) != 0)
			continue;
		for (size_t k = 0; own[i].props[k]; k++)
			if (strcmp(own[i].props[k], prop) == 0)
				return true;
	}
	/* STIX 2.1 section 4.11: a malware's name is required when is_family
	 * is true. */
	if (strcmp(type, "malware") == 0 && strcmp(prop, "name") == 0 &&
	    json_is_true(json_object_get(obj, "is_family")))
		return true;
	return false;
}

/* The top-level property a granular-marking selector starts in. */
static void selector_top(const char *sel, char *out, size_t outlen)
{
	size_t n = strcspn(sel, ".");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, sel, n);
	out[n] = '\0';
}

/* ---------------------------------------------------------------- onward */

/* (c)'s level rule for organisation org (no user). */
static bool onward_level(const or_world *w, int org, const or_row *r, or_tlp level,
			 char *why, size_t whylen)
{
	switch (level) {
	case OR_TLP_CLEAR:
	case OR_TLP_GREEN:
	case OR_TLP_AMBER:
		return true;
	case OR_TLP_AMBER_STRICT:
		if (or_member(w, w->colls[r->coll].comm, org))
			return true;
		snprintf(why, whylen, "(c) TLP:AMBER+STRICT: O is a client, not a member");
		return false;
	case OR_TLP_RED:
		if (list_has(r->recipients, w->orgs[org].identity))
			return true;
		snprintf(why, whylen, "(c) TLP:RED: O is not a recipient");
		return false;
	default:
		snprintf(why, whylen, "no TLP level");
		return false;
	}
}

/* R5 for organisation org. */
static bool onward_lists(const or_world *w, int org, const or_row *r, char *why, size_t whylen)
{
	if (!r->distribution && !r->communities)
		return true;
	if (list_has(r->distribution, w->orgs[org].identity))
		return true;
	size_t i;
	const json_t *v;
	json_array_foreach(r->communities, i, v) {
		int c = or_find_comm(w, json_string_value(v));
		if (c >= 0 && or_member(w, c, org))
			return true;
	}
	snprintf(why, whylen, "(c) R5: O not in distribution nor a member of the communities");
	return false;
}

bool or_onward_export(const or_world *w, int org, size_t row, char *why, size_t whylen)
{
	const or_row *r = &w->rows[row];
	const char *type = w->objs[r->obj].type;
	or_tlp level = or_row_level(w, r);
	const json_t *gm = json_object_get(r->json, "granular_markings");
	char top[64];
	size_t i, k;
	const json_t *e, *sel;

	if (org == OR_ANON) {
		if (level != OR_TLP_CLEAR) {
			snprintf(why, whylen, "(b) %s is not public", or_tlp_name(level));
			return false;
		}
		if (r->recipients || r->distribution || r->communities) {
			snprintf(why, whylen, "(b) the object lists recipients, distribution or communities");
			return false;
		}
	} else {
		if (w->objs[r->obj].owner == org)
			return true;
		if (!or_org_reaches_comm(w, org, w->colls[r->coll].comm)) {
			snprintf(why, whylen, "(c) O does not reach the collection's community");
			return false;
		}
		if (!onward_level(w, org, r, level, why, whylen) ||
		    !onward_lists(w, org, r, why, whylen))
			return false;
	}
	json_array_foreach(gm, i, e) {
		or_tlp g = or_tlp_of_marking(json_string_value(json_object_get(e, "marking_ref")));
		if (g == OR_TLP_NONE)
			continue;
		bool required = false;
		json_array_foreach(json_object_get(e, "selectors"), k, sel) {
			selector_top(json_string_value(sel), top, sizeof top);
			required = required || required_prop(r->json, type, top);
		}
		if (!required)
			continue;
		if (org == OR_ANON ? g != OR_TLP_CLEAR
				   : !onward_level(w, org, r, g, why, whylen) ||
					     !onward_lists(w, org, r, why, whylen)) {
			if (org == OR_ANON)
				snprintf(why, whylen, "(b) granular %s on a required property",
					 or_tlp_name(g));
			return false;
		}
	}
	return true;
}

/* The strictest TLP level of a row: its own and granular markings on
 * required properties. */
static or_tlp strictest(const or_world *w, const or_row *r)
{
	or_tlp level = or_row_level(w, r);
	const json_t *e, *sel;
	size_t i, k;
	char top[64];

	json_array_foreach(json_object_get(r->json, "granular_markings"), i, e) {
		or_tlp g = or_tlp_of_marking(json_string_value(json_object_get(e, "marking_ref")));
		json_array_foreach(json_object_get(e, "selectors"), k, sel) {
			selector_top(json_string_value(sel), top, sizeof top);
			if (g > level && required_prop(r->json, w->objs[r->obj].type, top))
				level = g;
		}
	}
	return level;
}

bool or_onward_partner(const or_world *w, size_t row, int comm, const char *const *named,
		       size_t n, char *why, size_t whylen)
{
	const or_row *r = &w->rows[row];
	or_tlp level = strictest(w, r);

	if (r->communities && !list_has(r->communities, w->comms[comm].id)) {
		snprintf(why, whylen, "(a) X is not among the object's communities");
		return false;
	}
	if (r->recipients || r->distribution) {
		for (size_t i = 0; i < n; i++)
			if (list_has(r->recipients, named[i]) || list_has(r->distribution, named[i]))
				return true;
		snprintf(why, whylen, "(a) names no recipient named on the partner");
		return false;
	}
	if (level == OR_TLP_CLEAR)
		return true;
	if (level == OR_TLP_GREEN) {
		int c = w->colls[r->coll].comm;
		if (c == comm || (w->comms[c].members & w->comms[comm].members))
			return true;
		snprintf(why, whylen, "(a) TLP:GREEN: X is not connected to the collection's community");
		return false;
	}
	snprintf(why, whylen, "(a) %s without a named recipient stays", or_tlp_name(level));
	return false;
}

#define MAX_REMOVED 32

typedef struct removed_set {
	char names[MAX_REMOVED][64];
	size_t n;
} removed_set;

static bool removed_has(const removed_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return true;
	return false;
}

static void removed_add(removed_set *s, const char *name)
{
	if (!removed_has(s, name) && s->n < MAX_REMOVED)
		snprintf(s->names[s->n++], sizeof s->names[0], "%s", name);
}

/* Appends "<rule> '<prop>' <how>" to the verdict's list of changes. */
static void append_changed(char *changed, size_t len, const char *rule, const char *prop,
			   const char *how)
{
	size_t used = strlen(changed);
	if (used + 2 >= len)
		return;
	snprintf(changed + used, len - used, "%s%s '%s' %s", used ? "; " : "", rule, prop, how);
}

/*
 * Granular markings: "A granular_markings entry whose marking_ref is a TLP
 * marking gives the properties its selectors point at that TLP level. A
 * reader who may read the object reads such a property only if the rules
 * R4 and R5 also allow the reader at that level, with the object's own
 * recipients, distribution and communities." Then the property the
 * selector starts in is removed, entries left without selectors go, and a
 * removed required property withholds the object. Readings taken: a
 * property covered by several entries needs every one of them to allow
 * it; a granular_markings list left empty is removed (STIX 2.1 forbids
 * empty lists).
 * Returns false (and why) when the object is withheld.
 */
static bool granular_redact(or_oracle *o, const or_row *r, json_t *served, char *why,
			    size_t whylen, char *changed, size_t chlen)
{
	const or_world *w = o->w;
	const json_t *gm = json_object_get(r->json, "granular_markings");
	const char *type = w->objs[r->obj].type;
	removed_set rm = {.n = 0};
	size_t i, k;
	const json_t *e, *sel;
	char top[64], tmp[160];

	json_array_foreach(gm, i, e) {
		or_tlp level = or_tlp_of_marking(json_string_value(json_object_get(e, "marking_ref")));
		if (level == OR_TLP_NONE)
			continue;
		tmp[0] = '\0';
		bool ok = r4_allows(w, o->reader, r->coll, level, r->recipients, tmp, sizeof tmp) &&
			  r5_allows(w, o->reader, r, tmp, sizeof tmp);
		if (ok)
			continue;
		json_array_foreach(json_object_get(e, "selectors"), k, sel) {
			selector_top(json_string_value(sel), top, sizeof top);
			if (required_prop(r->json, type, top)) {
				snprintf(why, whylen,
					 "granular %s on required property '%.40s' (%.100s)",
					 or_tlp_name(level), top, tmp);
				return false;
			}
			removed_add(&rm, top);
		}
	}
	if (!rm.n)
		return true;
	for (i = 0; i < rm.n; i++) {
		json_object_del(served, rm.names[i]);
		append_changed(changed, chlen, "granular:", rm.names[i], "removed");
	}
	json_t *kept = json_array();
	json_array_foreach(gm, i, e) {
		json_t *sels = json_array();
		json_array_foreach(json_object_get(e, "selectors"), k, sel) {
			selector_top(json_string_value(sel), top, sizeof top);
			if (!removed_has(&rm, top))
				json_array_append(sels, (json_t *)sel);
		}
		if (json_array_size(sels)) {
			json_t *ne = json_deep_copy(e);
			json_object_set_new(ne, "selectors", sels);
			json_array_append_new(kept, ne);
		} else {
			json_decref(sels);
		}
	}
	if (json_array_size(kept))
		json_object_set_new(served, "granular_markings", kept);
	else {
		json_decref(kept);
		json_object_del(served, "granular_markings");
	}
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* "Where the hub stores the referenced object and the reader may not read
 * any stored version of it in any collection the reader reaches". "May
 * read" is the whole table, R7 and granular withholding included: an
 * object withheld from the reader "does not exist for that reader ... not
 * named". Returns 0 when the reference is served as it is (not stored, or
 * readable), 1 when the object is hidden by R1 to R6, 2 when it is hidden
 * only because every version the reader reaches is itself withheld by its
 * references or its granular markings. */
static int ref_state(or_oracle *o, const char *id)
{
	long obj = or_find_object(o->w, id);
	if (obj < 0 || !o->stored[obj])
		return 0; /* not stored: "served as it is" */
	if (or_readable_anywhere(o, (size_t)obj))
		return 0;
	bool reached = false, direct = false;
	for (size_t i = 0; i < o->w->n_rows; i++) {
		const or_row *r = &o->w->rows[i];
		if (r->obj != (size_t)obj || !or_reaches(o->w, o->reader, r->coll))
			continue;
		reached = true;
		const char *why = or_decide(o, i)->why;
		if (strncmp(why, "R7", 2) != 0 && strncmp(why, "granular", 8) != 0)
			direct = true;
	}
	return reached && !direct ? 2 : 1;
}

/*
 * R7, the References table, for a non-owner. Returns false (and why) when
 * the object is withheld.
 */
static bool filter_refs(or_oracle *o, const or_row *r, json_t *served, char *why,
			size_t whylen, char *changed, size_t chlen)
{
	const char *type = o->w->objs[r->obj].type;
	const char *keys[64];
	size_t n = 0;
	const char *k;
	json_t *v;

	json_object_foreach(served, k, v) {
		if (n < RK_ARRAY_LEN(keys))
			keys[n++] = k;
	}
	for (size_t i = 0; i < n; i++) {
		char key[64];
		/* a copy: deleting the member frees the object's own key */
		snprintf(key, sizeof key, "%s", keys[i]);
		k = key;
		v = json_object_get(served, k);
		/* "served as they are: the author and the markings ..." */
		if (strcmp(k, "created_by_ref") == 0 || strcmp(k, "object_marking_refs") == 0 ||
		    strcmp(k, "granular_markings") == 0)
			continue;
		if (ends_with(k, "_ref") && json_is_string(v)) {
			int st = ref_state(o, json_string_value(v));
			if (!st)
				continue;
			bool ends = (strcmp(type, "relationship") == 0 &&
				     (strcmp(k, "source_ref") == 0 || strcmp(k, "target_ref") == 0)) ||
				    (strcmp(type, "sighting") == 0 && strcmp(k, "sighting_of_ref") == 0);
			if (ends || required_prop(r->json, type, k)) {
				snprintf(why, whylen, "R7 %s points at an object %s", k,
					 st == 2 ? "withheld from the reader by its own references or "
						   "granular markings"
						 : "hidden from the reader");
				return false;
			}
			json_object_del(served, k);
			append_changed(changed, chlen, "R7:", k, "removed");
		} else if (ends_with(k, "_refs") && json_is_array(v)) {
			json_t *kept = json_array();
			size_t j;
			json_t *id;
			bool indirect = false;
			json_array_foreach(v, j, id) {
				int st = ref_state(o, json_string_value(id));
				if (!st)
					json_array_append(kept, id);
				indirect |= st == 2;
			}
			if (json_array_size(kept) == json_array_size(v)) {
				json_decref(kept);
				continue;
			}
			if (json_array_size(kept) == 0) {
				json_decref(kept);
				if (required_prop(r->json, type, k)) {
					snprintf(why, whylen, "R7 every id of required %s is hidden from the reader%s",
						 k, indirect ? " (some only by their own references or granular markings)"
							     : "");
					return false;
				}
				json_object_del(served, k);
				append_changed(changed, chlen, "R7:", k, "emptied and removed");
			} else {
				json_object_set_new(served, k, kept);
				append_changed(changed, chlen, "R7:", k,
					       indirect ? "lost hidden ids (some withheld by their own references or granular markings)"
							: "lost hidden ids");
			}
		}
	}
	return true;
}

/* with_refs false: R1 to R6 and granular markings only, References (R7)
 * aside, as the Sightings rule asks "may the poster read it". */
static void decide_ex(or_oracle *o, size_t row, or_verdict *v, bool with_refs)
{
	const or_world *w = o->w;
	const or_row *r = &w->rows[row];
	int reader = o->reader;
	char why[200] = "";

	v->visible = false;
	/* R1, R2 */
	if (!or_reaches(w, reader, r->coll)) {
		snprintf(v->why, sizeof v->why, "R1 reach: reader does not reach the collection");
		return;
	}
	if (!or_may_read_coll(w, reader, r->coll)) {
		snprintf(v->why, sizeof v->why, "R2 permission: role not in can_read");
		return;
	}
	/* R3: "the reader's organisation owns the object: R4 to R7 do not
	 * apply, the object is read whole". Granular markings too: "The owner
	 * always reads the object whole." */
	if (reader != OR_ANON && w->objs[r->obj].owner == w->users[reader].org) {
		v->visible = true;
		v->served = json_incref(r->json);
		snprintf(v->why, sizeof v->why, "R3 owner");
		return;
	}
	or_tlp level = or_row_level(w, r);
	if (!r4_allows(w, reader, r->coll, level, r->recipients, why, sizeof why)) {
		snprintf(v->why, sizeof v->why, "%s", why);
		return;
	}
	if (!r5_allows(w, reader, r, why, sizeof why)) {
		snprintf(v->why, sizeof v->why, "%s", why);
		return;
	}
	/* R6: "anonymous readers read only TLP:CLEAR objects without
	 * recipients, distribution or communities". */
	if (reader == OR_ANON && (level != OR_TLP_CLEAR || r->recipients || r->distribution ||
				  r->communities)) {
		snprintf(v->why, sizeof v->why,
			 "R6 anonymous: object is not TLP:CLEAR or lists recipients/distribution/communities");
		return;
	}
	json_t *served = json_deep_copy(r->json);
	char changed[200] = "";
	if (!granular_redact(o, r, served, why, sizeof why, changed, sizeof changed) ||
	    (with_refs && !filter_refs(o, r, served, why, sizeof why, changed, sizeof changed))) {
		json_decref(served);
		snprintf(v->why, sizeof v->why, "%s", why);
		return;
	}
	v->visible = true;
	v->served = served;
	snprintf(v->changed, sizeof v->changed, "%s", changed);
	/* the grounds, for a wrongful denial's report */
	bool client = reader != OR_ANON &&
		      !or_member(w, w->colls[r->coll].comm, w->users[reader].org);
	bool user_recipient = reader != OR_ANON && level == OR_TLP_RED &&
			      !list_has(r->recipients, w->orgs[w->users[reader].org].identity);
	snprintf(v->why, sizeof v->why, "%s%s%s%s%s%s", or_tlp_name(level),
		 reader == OR_ANON ? ", anonymous reader of a public collection" : "",
		 client ? ", reader's organisation a client of a member" : "",
		 user_recipient ? ", reader named as a user recipient" : "",
		 level == OR_TLP_RED && !user_recipient ? ", reader's organisation a recipient" : "",
		 r->distribution || r->communities ? ", allowed by distribution/communities" : "");
}

static void decide(or_oracle *o, size_t row, or_verdict *v)
{
	decide_ex(o, row, v, true);
}

const or_verdict *or_decide(or_oracle *o, size_t row)
{
	static or_verdict busy = {.visible = false, .why = "reference cycle"};
	if (row >= o->n_rows)
		return &busy;
	if (o->state[row] == 2)
		return &o->v[row];
	if (o->state[row] == 1)
		return &busy;
	o->state[row] = 1;
	decide(o, row, &o->v[row]);
	o->state[row] = 2;
	return &o->v[row];
}

bool or_readable_anywhere(or_oracle *o, size_t obj)
{
	if (obj >= o->n_objs)
		return false;
	if (o->anywhere[obj] >= 2)
		return o->anywhere[obj] == 2;
	if (o->anywhere[obj] == 1)
		return false;
	o->anywhere[obj] = 1;
	bool yes = false;
	for (size_t i = 0; i < o->w->n_rows && !yes; i++) {
		const or_row *r = &o->w->rows[i];
		if (r->obj == obj && or_reaches(o->w, o->reader, r->coll))
			yes = or_decide(o, i)->visible;
	}
	o->anywhere[obj] = yes ? 2 : 3;
	return yes;
}

/* ---------------------------------------------------------------- submission */

static or_tlp posted_level(const or_world *w, int coll, const json_t *obj)
{
	or_tlp l = marked_level(obj);
	return l != OR_TLP_NONE ? l : w->colls[coll].default_tlp;
}

static bool lists_equal(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return a == b;
	return json_equal((json_t *)a, (json_t *)b);
}

/* Re-sharing: "the target collection's audience is not wider than the
 * object's marking allows, judged against a collection the object is
 * already stored in". */
static bool reshare_allowed(const or_world *w, or_tlp level, const json_t *recipients,
			    int src, int tgt)
{
	switch (level) {
	case OR_TLP_CLEAR:
		return true;
	case OR_TLP_GREEN:
		return !w->colls[tgt].public;
	case OR_TLP_AMBER:
		return (or_audience(w, tgt) & ~or_audience(w, src)) == 0;
	case OR_TLP_AMBER_STRICT: {
		uint32_t ms = w->comms[w->colls[src].comm].members;
		uint32_t mt = w->comms[w->colls[tgt].comm].members;
		return (mt & ~ms) == 0;
	}
	case OR_TLP_RED: {
		/* Reading taken: a user recipient's organisation counts as a
		 * recipient organisation. */
		uint32_t need = 0;
		size_t i;
		const json_t *v;
		json_array_foreach(recipients, i, v) {
			int org = or_find_org_by_identity(w, json_string_value(v));
			int user = or_find_user_by_identity(w, json_string_value(v));
			if (org >= 0)
				need |= 1u << org;
			if (user >= 0)
				need |= 1u << w->users[user].org;
		}
		return (need & ~or_audience(w, tgt)) == 0;
	}
	default:
		return false;
	}
}

/* "The lists of the sighting lie within the sighted object's": present
 * whenever the sighted one has the list, and only its entries. */
static bool list_within(const json_t *a, const json_t *wide)
{
	size_t i, k;
	const json_t *x, *y;

	if (!json_array_size(wide))
		return true;
	if (!json_array_size(a))
		return false;
	json_array_foreach(a, i, x) {
		bool found = false;
		json_array_foreach(wide, k, y)
			found = found || json_equal((json_t *)x, (json_t *)y);
		if (!found)
			return false;
	}
	return true;
}

/* Sightings: "When the collection a sighting is posted to holds the
 * sighted object and the poster may read it there (R1 to R6 and granular
 * markings; References aside), the sighting must
 * have a TLP level at least the sighted object's, recipients (both
 * TLP:RED) among its recipients, distribution and communities present
 * whenever it has them and only entries among its." */
static const char *sighting_refusal(const or_world *w, int poster, int coll, const json_t *obj)
{
	const char *type = json_string_value(json_object_get(obj, "type"));
	const char *of = json_string_value(json_object_get(obj, "sighting_of_ref"));
	long o;

	if (!type || strcmp(type, "sighting") != 0 || !of || (o = or_find_object(w, of)) < 0)
		return NULL;
	for (size_t i = 0; i < w->n_rows; i++) {
		const or_row *r = &w->rows[i];
		if (r->obj != (size_t)o || r->coll != coll)
			continue;
		or_oracle tmp;
		or_verdict v = {0};
		or_oracle_init(&tmp, w);
		or_oracle_reader(&tmp, poster);
		decide_ex(&tmp, i, &v, false);
		bool readable = v.visible;
		json_decref(v.served);
		or_oracle_free(&tmp);
		if (!readable)
			return NULL;
		or_tlp mine = posted_level(w, coll, obj), theirs = or_row_level(w, r);
		if (mine < theirs)
			return "a sighting must be marked at least as strictly as what it sights";
		if ((mine == OR_TLP_RED && theirs == OR_TLP_RED &&
		     !list_within(ext_list(obj, "recipients"), r->recipients)) ||
		    !list_within(ext_list(obj, "distribution"), r->distribution) ||
		    !list_within(ext_list(obj, "communities"), r->communities))
			return "a sighting must not name readers beyond";
		return NULL;
	}
	return NULL;
}

static const char *submission_refusal(const or_world *w, int poster, int coll,
				      const json_t *obj);

const char *or_submission_refusal(const or_world *w, int poster, int coll, const json_t *obj)
{
	const char *why = submission_refusal(w, poster, coll, obj);
	return why ? why : sighting_refusal(w, poster, coll, obj);
}

/* Whether an identity (an organisation's, or a user's) belongs to an
 * organisation that reaches community comm. */
static bool names_reader_in(const or_world *w, const json_t *list, int comm)
{
	size_t i;
	const json_t *v;
	json_array_foreach(list, i, v) {
		const char *id = json_string_value(v);
		int org = or_find_org_by_identity(w, id);
		if (org < 0) {
			int u = or_find_user_by_identity(w, id);
			org = u >= 0 ? w->users[u].org : -1;
		}
		if (org >= 0 && or_org_reaches_comm(w, org, comm))
			return true;
	}
	return false;
}

/*
 * docs/confidentiality.md, "Federation": a writer of role partner may
 * name another creator than its organisation, but not an organisation
 * that is a member of a community here; and an object with recipients or
 * distribution, or a relayed (other creator) object at TLP:AMBER or
 * stricter (its own level, or a granular level on a required property),
 * must name an organisation that reaches the collection's community.
 */
static const char *relay_refusal(const or_world *w, int poster, int coll, const json_t *obj,
				 const json_t *recipients, const json_t *distribution)
{
	const or_user *u = &w->users[poster];
	const char *creator = json_string_value(json_object_get(obj, "created_by_ref"));
	size_t i, k;
	const json_t *e, *sel;
	char top[64];

	if (u->role != OR_ROLE_PARTNER)
		return NULL;
	bool relayed = creator && strcmp(creator, w->orgs[u->org].identity) != 0;
	int c = or_find_org_by_identity(w, creator);
	if (relayed && c >= 0 && c != u->org)
		for (int m = 0; m < w->n_comms; m++)
			if (or_member(w, m, c))
				return "organisation of this hub";
	or_tlp level = posted_level(w, coll, obj);
	const char *type = json_string_value(json_object_get(obj, "type"));
	json_array_foreach(json_object_get(obj, "granular_markings"), i, e) {
		or_tlp g = or_tlp_of_marking(json_string_value(json_object_get(e, "marking_ref")));
		json_array_foreach(json_object_get(e, "selectors"), k, sel) {
			selector_top(json_string_value(sel), top, sizeof top);
			if (g > level && type && required_prop(obj, type, top))
				level = g;
		}
	}
	bool named = json_array_size(recipients) || json_array_size(distribution);
	if (!named && !(relayed && level >= OR_TLP_AMBER))
		return NULL;
	int comm = w->colls[coll].comm;
	if (names_reader_in(w, recipients, comm) || names_reader_in(w, distribution, comm))
		return NULL;
	return "only when it names an organisation of this community";
}

static const char *submission_refusal(const or_world *w, int poster, int coll,
				      const json_t *obj)
{
	size_t i, k;
	const json_t *m, *e;
	const json_t *recipients = ext_list(obj, "recipients");
	const json_t *distribution = ext_list(obj, "distribution");
	const json_t *communities = ext_list(obj, "communities");
	int n_tlp = 0;
	const char *first_tlp = NULL;
	bool red = false;

	/* "every object_marking_refs and granular_markings[].marking_ref is a
	 * TLP marking (1.0 or 2.0), a marking definition in the same envelope,
	 * or one the hub stores; otherwise unknown marking" (the test sends no
	 * marking definitions). */
	json_array_foreach(json_object_get(obj, "object_marking_refs"), i, m) {
		const char *id = json_string_value(m);
		or_tlp l = or_tlp_of_marking(id);
		if (l == OR_TLP_NONE && or_find_object(w, id) < 0)
			return "unknown marking";
		if (l != OR_TLP_NONE) {
			/* "two different ones are conflicting TLP markings" */
			if (first_tlp && strcmp(first_tlp, id) != 0)
				n_tlp++;
			if (!first_tlp)
				first_tlp = id, n_tlp = 1;
			if (l == OR_TLP_RED)
				red = true;
		}
	}
	json_array_foreach(json_object_get(obj, "granular_markings"), i, e) {
		const char *id = json_string_value(json_object_get(e, "marking_ref"));
		if (!id)
			continue;
		or_tlp l = or_tlp_of_marking(id);
		if (l == OR_TLP_NONE && or_find_object(w, id) < 0)
			return "unknown marking";
		if (l == OR_TLP_RED)
			red = true;
	}
	if (n_tlp > 1)
		return "conflicting TLP markings";
	/* "TLP:RED, at object level or in a granular marking, needs a
	 * non-empty recipients" (the document quotes no message: the test
	 * looks for the word "recipients"). */
	if (red && json_array_size(recipients) == 0)
		return "recipients";
	json_array_foreach(recipients, k, m) {
		const char *id = json_string_value(m);
		if (or_find_org_by_identity(w, id) < 0 && or_find_user_by_identity(w, id) < 0)
			return "unknown recipient";
	}
	json_array_foreach(distribution, k, m) {
		if (or_find_org_by_identity(w, json_string_value(m)) < 0)
			return "unknown distribution";
	}
	json_array_foreach(communities, k, m) {
		if (or_find_comm(w, json_string_value(m)) < 0)
			return "unknown community";
	}
	long o = or_find_object(w, json_string_value(json_object_get(obj, "id")));
	/* (the hub's order: owner, the version rule, then policy's relay
	 * rule, re-sharing) */
	const char *relay = relay_refusal(w, poster, coll, obj, recipients, distribution);
	if (o < 0)
		return relay;
	if (w->objs[o].owner != w->users[poster].org)
		return "owned by another organisation";
	/* Versions: "a new version of a stored id keeps the stored TLP level
	 * and extension lists". */
	or_tlp level = posted_level(w, coll, obj);
	bool here = false;
	for (i = 0; i < w->n_rows; i++) {
		const or_row *r = &w->rows[i];
		if (r->obj != (size_t)o)
			continue;
		if (r->coll == coll)
			here = true;
		if (or_row_level(w, r) != level || !lists_equal(r->recipients, recipients) ||
		    !lists_equal(r->distribution, distribution) ||
		    !lists_equal(r->communities, communities))
			return "a new version keeps the markings of the earlier versions";
	}
	if (relay)
		return relay;
	if (here)
		return NULL;
	/* Re-sharing into another collection. */
	for (i = 0; i < w->n_rows; i++) {
		const or_row *r = &w->rows[i];
		if (r->obj == (size_t)o && reshare_allowed(w, level, recipients, r->coll, coll))
			return NULL;
	}
	/* The document gives "re-sharing would widen the audience of a
	 * TLP:AMBER object: ..." as an example of the reason only; the test
	 * looks for the word it turns on. */
	return "re-sharing";
}

/* ---------------------------------------------------------------- anonymous */

static bool word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A whole-word, ASCII case-insensitive occurrence of word in text. */
static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = text; n && *p; p++) {
		if (strncasecmp(p, word, n) != 0)
			continue;
		if ((p > text && word_char((unsigned char)p[-1])) || word_char((unsigned char)p[n]))
			continue;
		return true;
	}
	return false;
}

bool or_anon_leaks(const or_world *w, int org, const char *text, const char *const *secrets,
		   size_t n_secrets, char *why, size_t whylen)
{
	if (!text)
		return false;
	if (strstr(text, w->orgs[org].identity)) {
		snprintf(why, whylen, "the identity of organisation %s", w->orgs[org].slug);
		return true;
	}
	for (int u = 0; u < w->n_users; u++)
		if (w->users[u].org == org && strstr(text, w->users[u].identity)) {
			snprintf(why, whylen, "the identity of user %s", w->users[u].name);
			return true;
		}
	if (has_word(text, w->orgs[org].slug)) {
		snprintf(why, whylen, "the organisation's id '%s'", w->orgs[org].slug);
		return true;
	}
	for (size_t i = 0; i < n_secrets; i++)
		if (strstr(text, secrets[i])) {
			snprintf(why, whylen, "the scrubbed value '%s'", secrets[i]);
			return true;
		}
	return false;
}

bool or_anon_pseudonym_shape(const or_world *w, const char *id)
{
	if (!id || strncmp(id, "identity--", 10) != 0 || strlen(id) != 46)
		return false;
	const char *u = id + 10;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? u[i] != '-' : !strchr("0123456789abcdef", u[i]))
			return false;
	}
	if (u[14] != '4' || !strchr("89ab", u[19]))
		return false;
	return or_find_org_by_identity(w, id) < 0 && or_find_user_by_identity(w, id) < 0;
}

bool or_anon_id_as_expected(const char *posted, const char *served)
{
	const char *ps = strstr(posted, "--"), *ss = strstr(served, "--");
	if (!ps || !ss || ps - posted != ss - served || strncmp(posted, served, (size_t)(ps - posted)))
		return false; /* the type is kept */
	bool v4 = strlen(ps) == 38 && ps[2 + 14] == '4';
	return v4 ? strcmp(posted, served) == 0 : strcmp(posted, served) != 0;
}
