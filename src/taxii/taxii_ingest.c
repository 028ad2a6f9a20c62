/*
 * taxii_ingest.c: POST objects (TAXII 2.1 section 5.5), the hub's way in.
 *
 * One request is: parse the envelope once (bounded: depth, UTF-8, duplicate
 * keys), then for each object in order
 *
 *     validate (stix) -> complete (created_by_ref, default marking)
 *       -> decide (policy POLICY_WRITE_OBJECT)
 *
 * and hand every accepted object to ONE store_put, which commits the batch
 * durably. Ownership ("only the organisation that first stored an id adds
 * versions of it") is not looked up here: store_put applies that rule
 * inside its write transaction, with the one index probe it needs anyway,
 * so there is no window between a check and the insert; its refusal comes
 * back as the object's failure ("objects[3]: owned by another
 * organisation"). policy_decide still rules on everything else (role,
 * created_by_ref).
 *
 * The store keeps each object as its compact JSON text. Rather than have
 * it re-serialise every object, the handler finds each object's bytes in
 * the request body (rk_json_parse_slices: the same scan that bounds the
 * body's depth before jansson parses it) and passes them when they are
 * exactly what rk_json_dump would write ("canonical": no whitespace,
 * jansson's escapes, integers). When completion adds members, jansson
 * would append them at the end, so the same bytes are made by splicing
 * ,"created_by_ref":..., "object_marking_refs":[...] before the closing
 * brace. Anything else (indented JSON, reals, a completed key that was
 * present but empty) falls back to serialising the parsed object: the
 * stored bytes are the same either way. Objects are accepted or
 * rejected one by one: a rejected object stores nothing and does not stop
 * the others; its failure entry in the status says why and where
 * ("objects[3].valid_from: not an RFC 3339 timestamp"). The answer is 202
 * with a status resource that is also kept in the store, so it can be
 * fetched later from /<root>/status/<id>/ by the same organisation. The
 * status is made from the store's per-object results inside the store's
 * write transaction (store_put_with_status, make_status below) and
 * committed with the objects: one commit per POST, a status is never seen
 * without its objects, and a 202 means both are on disk.
 * Processing is synchronous: the status is always "complete" and
 * pending_count 0.
 *
 * Memory: the request runs inside the thread's jansson arena
 * (common_arena.c), so the thousands of small values of a parsed envelope
 * cost a pointer bump each and are released together. Hence: every
 * jansson value made here is gone (json_decref'd) when the handler
 * returns, and serialised text is always libc memory (rk_json_dump,
 * rk_buf). The status resource is written as text, without jansson (see
 * make_status), because the store may run it on another thread.
 *
 * Status details (TAXII 2.1 section 4.3.1). Every posted object is
 * accounted for, in successes or failures, so total_count = success_count
 * + failure_count (+ pending_count, always 0). An entry's `id` is the
 * object's id as posted when the object has a string `id`, even a
 * malformed one (the client can match it to what it sent). An object with
 * no string id has no identifier at all; its failure entry gets one made
 * by the hub, "<type>--<random UUIDv4>" when the object's `type` is a
 * valid STIX type name, else "x-renkei-unidentified--<random UUIDv4>",
 * never stored and never a made-up value that could be mistaken for another
 * entry, while its message names the object by JSON path ("objects[3]:
 * ..."). `version` is the object's version when known (modified, else
 * created, else the date_added the store gave it); an object refused
 * before its version was established (it failed validation) is named by
 * the raw `modified` or `created` text it carried, else by the request
 * timestamp, so every entry has the `version` section 4.3.1 requires.
 *
 * Completion rules and their tension with STIX 2.1:
 *  - created_by_ref: SDOs, SROs and marking definitions without one get the
 *    writer's organisation identity. Objects naming another organisation
 *    are refused by policy.
 *  - default marking: an object with neither object_marking_refs nor
 *    granular_markings gets object_marking_refs = [the TLP 2.0 marking of
 *    the collection's default_marking]. SCOs carry object_marking_refs too
 *    (STIX 2.1 section 6.1; the property is not ID-contributing, so a
 *    deterministic SCO id stays valid). Marking definitions are left
 *    alone: marking a marking definition with a TLP marking is circular for
 *    the TLP definitions and meaningless for statements.
 *  Both rules change an object's content without a new `modified`, which
 *  STIX 2.1 section 3.6 reserves for the object creator: the copy the hub
 *  keeps then differs from the copy the producer holds under the same
 *  (id, version). renkei accepts this because the hub is the point of
 *  first publication for its members (the object becomes shared in this
 *  form) and the additions only make explicit what the collection already
 *  implies; a producer that wants byte-identical copies sets both
 *  properties itself, and then nothing is changed.
 */
#include <stdlib.h>
#include <string.h>

#include "stix.h"
#include "taxii_int.h"

typedef struct obj_state {
	const char *id;      /* into the envelope; may be NULL for garbage */
	const char *version; /* as TAXII names it; NULL until known */
	const json_t *obj;   /* the posted object (any JSON value) */
	char message[RK_ERRCTX_PATH + RK_ERRCTX_MSG];
	bool failed;
	int item;   /* index into items, -1 when not sent to the store */
	char *text; /* spliced JSON text handed to the store, or NULL */
	char *audience; /* its audience key (policy_audience_key), or NULL */
	bool pending;   /* anonymous, held for review (taxii_anon.c) */
	const char *stored_as; /* anonymous: the id it is stored under, when not id */
} obj_state;

/* What the store holds of an id: its owner, and a collection other than
 * the request's that holds it (re-sharing). */
typedef struct stored_facts {
	taxii_req *r;
	bool any;
	char owner[RK_MAX_NAME];
	const dir_collection *elsewhere;
	int64_t elsewhere_aud; /* its audience class there */
	int64_t here_aud;      /* its class in the request's collection, or 0 */
	char creator[RK_MAX_STIX_ID + 1]; /* a stored version's created_by_ref, or "" */
} stored_facts;

static rk_err note_stored(void *arg, const store_row *row)
{
	stored_facts *f = arg;
	if (!f->any) {
		snprintf(f->owner, sizeof f->owner, "%s", row->owner_org);
		/* who a stored version names as its creator: a named and an
		 * anonymous version of one id would link the pseudonym to the
		 * organisation (taxii_anon.c) */
		static const char key[] = "\"created_by_ref\":\"";
		const char *c = row->json ? strstr(row->json, key) : NULL;
		if (c) {
			c += sizeof key - 1;
			size_t l = strcspn(c, "\"");
			if (l < sizeof f->creator)
				snprintf(f->creator, sizeof f->creator, "%.*s", (int)l, c);
		}
	}
	f->any = true;
	if (strcmp(row->collection_id, f->r->collection->id) == 0)
		f->here_aud = row->aud;
	else if (!f->elsewhere &&
		 (f->elsewhere = dir_find_collection(f->r->dir, row->collection_id)))
		f->elsewhere_aud = row->aud;
	return RK_OK;
}

/* Whether the store holds a version of id (a failed lookup says yes,
 * owned by nobody: the write is then refused rather than let through). */
static bool ingest_stored(taxii_req *r, const char *id, stored_facts *out)
{
	stored_facts f = {.r = r};
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	if (store_find_versions(r->srv->st, &id, 1, note_stored, &f, &ctx) != RK_OK) {
		f.any = true;
		snprintf(f.owner, sizeof f.owner, "%s", "");
	}
	if (out)
		*out = f;
	return f.any;
}

/* Whether stored class aud is the audience with this key. */
static bool same_audience(taxii_req *r, int64_t aud, const char *key)
{
	char *stored = NULL;
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	if (store_audience_key(r->srv->st, aud, &stored, &ctx) != RK_OK)
		return true; /* unknown: the store decides */
	bool same = strcmp(stored, key) == 0;
	free(stored);
	return same;
}

/* What the audience rules need to know from the envelope and the store. */
typedef struct ingest_ctx {
	taxii_req *r;
	const json_t *objs; /* the envelope's objects */
} ingest_ctx;

/* policy_marking_known_fn: a marking definition in the same envelope, or
 * one the hub stores. */
static bool marking_known(void *arg, const char *id)
{
	const ingest_ctx *ic = arg;
	size_t i;
	const json_t *o;

	if (!stix_id_valid(id, "marking-definition"))
		return false;
	json_array_foreach(ic->objs, i, o) {
		const char *oid = json_string_value(json_object_get(o, "id"));
		if (oid && strcmp(oid, id) == 0)
			return true;
	}
	return store_may_hold(ic->r->srv->st, id) && ingest_stored(ic->r, id, NULL);
}

/* What complete_object added, at the end of the object (the key was
 * absent before), or NULL. */
typedef struct added_members {
	const json_t *creator;
	const json_t *marking;
	bool in_place; /* a key existed and was replaced where it stood */
} added_members;

static bool needs_creator(const stix_info *info)
{
	return info->kind == STIX_KIND_SDO || info->kind == STIX_KIND_SRO ||
	       (info->type && strcmp(info->type, "marking-definition") == 0 &&
		stix_tlp_of_marking(info->id) == STIX_TLP_NONE);
}

static bool is_marked(const json_t *obj)
{
	const json_t *refs = json_object_get(obj, "object_marking_refs");
	const json_t *gran = json_object_get(obj, "granular_markings");
	return json_array_size(refs) > 0 || json_array_size(gran) > 0;
}

/* Adds created_by_ref / object_marking_refs as described above. obj is
 * the request's own parsed copy. */
static rk_err complete_object(taxii_req *r, json_t *obj, const stix_info *info,
			      const char *creator, bool *changed, added_members *added)
{
	*changed = false;
	memset(added, 0, sizeof *added);
	if (needs_creator(info) && !info->created_by_ref && r->subj.org) {
		json_t *v = json_string(creator);
		added->in_place |= json_object_get(obj, "created_by_ref") != NULL;
		if (json_object_set_new(obj, "created_by_ref", v))
			return RK_ENOMEM;
		added->creator = v;
		*changed = true;
	}
	if (info->type && strcmp(info->type, "marking-definition") != 0 && !is_marked(obj)) {
		stix_tlp level = stix_tlp_parse(r->collection->default_marking);
		const char *mid = level == STIX_TLP_NONE ? NULL : stix_tlp_marking_id(level);
		if (mid) {
			json_t *v = json_pack("[s]", mid);
			added->in_place |= json_object_get(obj, "object_marking_refs") != NULL;
			if (json_object_set_new(obj, "object_marking_refs", v))
				return RK_ENOMEM;
			added->marking = v;
			*changed = true;
		}
	}
	return RK_OK;
}

/* The members completion appends, as text: the same for every object of
 * one request (the writer's identity, the collection's marking), so made
 * once per request. */
typedef struct splice_texts {
	char *creator; /* ,"created_by_ref":"identity--..." */
	char *marking; /* ,"object_marking_refs":["marking-definition--..."] */
} splice_texts;

/* Appends `,"key":<value>` to b, making *cached on first use; false on
 * lack of memory. */
static bool splice_member(rk_buf *b, const char *key, const json_t *value,
			  char **cached)
{
	if (!*cached) {
		rk_buf m;
		char *text = rk_json_dump(value);
		rk_buf_init(&m);
		if (!text || rk_buf_printf(&m, ",\"%s\":%s", key, text) != RK_OK) {
			free(text);
			rk_buf_cleanup(&m);
			return false;
		}
		free(text);
		*cached = rk_buf_take(&m);
	}
	return rk_buf_puts(b, *cached) == RK_OK;
}

/*
 * The object's stored text from its canonical slice of the body plus what
 * completion appended: jansson puts new keys last, so this is byte for
 * byte rk_json_dump(obj). *out is NULL when the slice cannot be used (the
 * store then serialises obj). RK_ENOMEM only for lack of memory.
 */
static rk_err object_text(const char *slice, size_t len, const added_members *a,
			  splice_texts *cache, char **out, size_t *out_len)
{
	rk_buf b;

	*out = NULL;
	*out_len = 0;
	if (a->in_place || len < 3 || slice[0] != '{' || slice[len - 1] != '}')
		return RK_OK;
	rk_buf_init(&b);
	if (rk_buf_reserve(&b, len + 160) != RK_OK ||
	    rk_buf_append(&b, slice, len - 1) != RK_OK ||
	    (a->creator &&
	     !splice_member(&b, "created_by_ref", a->creator, &cache->creator)) ||
	    (a->marking && !splice_member(&b, "object_marking_refs", a->marking,
					  &cache->marking)) ||
	    rk_buf_puts(&b, "}") != RK_OK) {
		rk_buf_cleanup(&b);
		return RK_ENOMEM;
	}
	*out_len = b.len;
	*out = rk_buf_take(&b);
	return RK_OK;
}

/* `,"key":"value"` (no comma when *first), as rk_json_dump writes a member
 * whose value is json_string(value). Text jansson would refuse (not UTF-8)
 * leaves the member out, as json_object_set_new does with the NULL that
 * json_string returns for it. False on lack of memory. */
static bool put_member(rk_buf *b, bool *first, const char *key, const char *value)
{
	size_t mark = b->len;
	rk_err err;

	if ((!*first && rk_buf_append(b, ",", 1) != RK_OK) ||
	    rk_buf_append(b, "\"", 1) != RK_OK || rk_buf_puts(b, key) != RK_OK ||
	    rk_buf_append(b, "\":", 2) != RK_OK)
		return false;
	err = rk_json_put_string(b, value, strlen(value));
	if (err == RK_EINVAL) {
		b->len = mark;
		b->data[mark] = '\0';
		return true;
	}
	*first = false;
	return err == RK_OK;
}

/* The status-details entry of one object, {"id":..,"version":..,
 * "message":..}, appended to b. TAXII 2.1 section 4.3.1 requires both id
 * and version; the fall-backs for objects that never got that far are
 * described in the opening comment. Reads the posted object and allocates
 * nothing with jansson. False on lack of memory. */
static bool put_status_entry(rk_buf *b, const obj_state *s, const char *req_ts)
{
	const char *id = s->id, *version = s->version;
	char made_id[RK_MAX_STIX_ID + 1];
	bool first = true;

	if (!id)
		id = json_string_value(json_object_get(s->obj, "id"));
	if (!id) {
		char uuid[RK_UUID_BUF];
		const char *type = json_string_value(json_object_get(s->obj, "type"));
		rk_uuid_v4(uuid);
		made_id[0] = '\0';
		if (type && strlen(type) <= 250)
			snprintf(made_id, sizeof made_id, "%s--%s", type, uuid);
		if (!stix_id_valid(made_id, NULL))
			snprintf(made_id, sizeof made_id, "x-renkei-unidentified--%s",
				 uuid);
		id = made_id;
	}
	/* TAXII 2.1 section 4.3.1: every entry names a version. An object
	 * refused before its version was established is named by the raw
	 * modified or created text it carried, else by the request time. */
	if (!version)
		version = json_string_value(json_object_get(s->obj, "modified"));
	if (!version)
		version = json_string_value(json_object_get(s->obj, "created"));
	if (!version)
		version = req_ts;
	return rk_buf_puts(b, "{") == RK_OK && put_member(b, &first, "id", id) &&
	       put_member(b, &first, "version", version) &&
	       (!s->message[0] || put_member(b, &first, "message", s->message)) &&
	       rk_buf_puts(b, "}") == RK_OK;
}

/* The entries of every object that succeeded (or failed), as the members
 * of one JSON array, in posting order. */
static bool put_status_entries(rk_buf *b, const obj_state *states, size_t n,
			       bool failed, const char *req_ts)
{
	bool first = true;

	for (size_t i = 0; i < n; i++) {
		if (states[i].failed != failed || states[i].pending)
			continue;
		if ((!first && rk_buf_puts(b, ",") != RK_OK) ||
		    !put_status_entry(b, &states[i], req_ts))
			return false;
		first = false;
	}
	return true;
}

/* The entries held for review (anonymous submission), in posting order. */
static bool put_pending_entries(rk_buf *b, const obj_state *states, size_t n,
				const char *req_ts)
{
	bool first = true;

	for (size_t i = 0; i < n; i++) {
		if (!states[i].pending)
			continue;
		if ((!first && rk_buf_puts(b, ",") != RK_OK) ||
		    !put_status_entry(b, &states[i], req_ts))
			return false;
		first = false;
	}
	return true;
}

/* What make_status needs, and what it leaves for the answer. */
typedef struct status_maker {
	taxii_req *r;
	obj_state *states;
	size_t n;
	char (*added_ts)[RK_TIME_BUF];
	const char *status_id;
	const char *req_ts;
	char *status_text; /* the status resource, for the answer */
	size_t n_added, n_fail;
} status_maker;

/*
 * store_status_fn: the status resource (TAXII 2.1 section 4.3.1) from the
 * store's results, made inside the store's write transaction so that it is
 * committed with the objects. Leaves the resource's text in m->status_text
 * (for the answer) and returns the stored copy, {"org":..,"status":..} as
 * rk_json_dump writes it.
 *
 * The text is written directly, byte for byte what rk_json_dump writes
 * for the jansson object {id, status, request_timestamp, total_count,
 * success_count, successes (only if any), failure_count, failures (only if
 * any), pending_count} with entries {id, version, message (only if any)}.
 * It only reads the posted objects and allocates nothing with jansson, so
 * it does not matter which thread runs it: the store may run it on another
 * request's thread (the group-commit leader), with that request's jansson
 * arena active, and nothing allocated there may outlive that request's
 * scope (common_arena.c, invariant (c)).
 */
static rk_err make_status(void *arg, const store_put_result *results,
			  size_t n_results, char **doc_out, rk_errctx *ctx)
{
	status_maker *m = arg;
	rk_buf status, stored;
	size_t n_ok = 0, n_pend = 0;
	rk_err rc = RK_OK;

	(void)n_results;
	rk_buf_init(&status);
	rk_buf_init(&stored);
	*doc_out = NULL;
	m->n_added = m->n_fail = 0;
	free(m->status_text);
	m->status_text = NULL;
	for (size_t i = 0; i < m->n; i++) {
		obj_state *s = &m->states[i];
		if (s->pending) {
			n_pend++;
			continue;
		}
		if (s->item >= 0) {
			const store_put_result *res = &results[s->item];
			if (res->outcome == STORE_PUT_REJECTED) {
				snprintf(s->message, sizeof s->message, "objects[%zu]: %s", i,
					 res->message);
				s->failed = true;
			} else {
				if (!s->version) {
					/* no modified/created: TAXII names the
					 * version by date_added */
					rk_time_format(res->date_added, 6, m->added_ts[i]);
					s->version = m->added_ts[i];
				}
				if (res->outcome == STORE_PUT_ADDED && s->stored_as) {
					m->n_added++;
					snprintf(s->message, sizeof s->message, "added as %s",
						 s->stored_as);
				} else if (res->outcome == STORE_PUT_ADDED) {
					m->n_added++;
					snprintf(s->message, sizeof s->message, "added");
				} else {
					snprintf(s->message, sizeof s->message,
						 "already present");
				}
			}
		}
		if (s->failed)
			m->n_fail++;
		else
			n_ok++;
	}

	bool first = true;
	if (rk_buf_reserve(&status, 256 + 160 * m->n) != RK_OK ||
	    rk_buf_puts(&status, "{") != RK_OK ||
	    !put_member(&status, &first, "id", m->status_id) ||
	    !put_member(&status, &first, "status", n_pend ? "pending" : "complete") ||
	    !put_member(&status, &first, "request_timestamp", m->req_ts) ||
	    rk_buf_printf(&status, ",\"total_count\":%zu,\"success_count\":%zu", m->n,
			  n_ok) != RK_OK ||
	    (n_ok && (rk_buf_puts(&status, ",\"successes\":[") != RK_OK ||
		      !put_status_entries(&status, m->states, m->n, false, m->req_ts) ||
		      rk_buf_puts(&status, "]") != RK_OK)) ||
	    rk_buf_printf(&status, ",\"failure_count\":%zu", m->n_fail) != RK_OK ||
	    (m->n_fail &&
	     (rk_buf_puts(&status, ",\"failures\":[") != RK_OK ||
	      !put_status_entries(&status, m->states, m->n, true, m->req_ts) ||
	      rk_buf_puts(&status, "]") != RK_OK)) ||
	    rk_buf_printf(&status, ",\"pending_count\":%zu", n_pend) != RK_OK ||
	    (n_pend && (rk_buf_puts(&status, ",\"pendings\":[") != RK_OK ||
			!put_pending_entries(&status, m->states, m->n, m->req_ts) ||
			rk_buf_puts(&status, "]") != RK_OK)) ||
	    rk_buf_puts(&status, "}") != RK_OK)
		goto nomem;

	/* The answer, and inside {"org":..,"status":..} the stored copy. */
	const char *org = m->r->subj.org->id;
	if (rk_buf_reserve(&stored, status.len + strlen(org) + 32) != RK_OK ||
	    rk_buf_puts(&stored, "{\"org\":") != RK_OK ||
	    rk_json_put_string(&stored, org, strlen(org)) != RK_OK ||
	    rk_buf_puts(&stored, ",\"status\":") != RK_OK ||
	    rk_buf_append(&stored, status.data, status.len) != RK_OK ||
	    rk_buf_puts(&stored, "}") != RK_OK)
		goto nomem;
	m->status_text = rk_buf_take(&status);
	*doc_out = rk_buf_take(&stored);
	goto done;
nomem:
	rc = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory making the status");
done:
	rk_buf_cleanup(&status);
	rk_buf_cleanup(&stored);
	return rc;
}

/* Tells the federation which objects of a partner hub's envelope were
 * stored, and what was refused. */
static void fed_received(taxii_req *r, const taxii_fed_verdict *fed, const obj_state *states,
			 size_t n, size_t n_fail)
{
	const char **ids = calloc(n ? n : 1, sizeof *ids);
	bool *stored = calloc(n ? n : 1, sizeof *stored);
	const char *reject = NULL;

	for (size_t i = 0; ids && stored && i < n; i++) {
		ids[i] = states[i].id;
		stored[i] = states[i].item >= 0 && !states[i].failed;
		if (states[i].failed && !reject)
			reject = states[i].message;
	}
	if (ids && stored)
		taxii_fed_received(r, fed, ids, stored, n, n_fail, reject);
	free(ids);
	free(stored);
}

static rk_err objects_post(taxii_req *r)
{
	json_t *env = NULL;
	status_maker maker = {0};
	store_put_item *items = NULL;
	store_put_result *results = NULL;
	obj_state *states = NULL;
	rk_json_slice *slices = NULL;
	size_t n_slices = 0;
	splice_texts splices = {0};
	bool have_slices = false;
	char (*added_ts)[RK_TIME_BUF] = NULL;
	taxii_anon anon = {0};
	taxii_anon_outcome *anon_out = NULL;
	json_t *pseudonym_obj = NULL;
	char *pseudonym_key = NULL;
	bool queued = false;
	taxii_fed_verdict fed = {0}; /* a partner hub's signature (taxii_federation.c) */
	rk_errctx ctx;
	rk_err rc = RK_OK;
	size_t n = 0, n_items = 0;
	char status_id[RK_UUID_BUF], req_ts[RK_TIME_BUF];

	rk_errctx_clear(&ctx);
	if (r->body.len == 0) {
		rc = taxii_respond_error(r, 400, "empty request body; expected a TAXII envelope",
					 NULL, NULL);
		goto out;
	}
	/* One scan of the body bounds its depth and finds each object's
	 * bytes (slices), then jansson parses it. */
	if (rk_json_parse_slices(r->body.data, r->body.len, RK_MAX_JSON_DEPTH, "objects",
				 RK_MAX_OBJECTS_PER_ENVELOPE, &env, &slices, &n_slices,
				 &ctx)) {
		/* depth, UTF-8, duplicate keys, syntax: all 400 with where */
		rc = taxii_respond_error(r, 400, ctx.msg, NULL, ctx.path[0] ? ctx.path : "body");
		goto out;
	}
	if (!json_is_object(env)) {
		rc = taxii_respond_error(r, 400, "the body must be a TAXII envelope (an object)",
					 NULL, "body");
		goto out;
	}
	json_t *objs = json_object_get(env, "objects");
	ingest_ctx ic = {.r = r, .objs = objs};
	if (!json_is_array(objs)) {
		rc = taxii_respond_error(r, 400, "an envelope needs an \"objects\" array", NULL,
					 "objects");
		goto out;
	}
	n = json_array_size(objs);
	if (n > RK_MAX_OBJECTS_PER_ENVELOPE) {
		char desc[96];
		snprintf(desc, sizeof desc, "more than %d objects in one envelope",
			 RK_MAX_OBJECTS_PER_ENVELOPE);
		rc = taxii_respond_error(r, 413, desc, NULL, "objects");
		goto out;
	}
	if (n) {
		/* one more item: an anonymous submission's pseudonym */
		items = calloc(n + 1, sizeof *items);
		results = calloc(n + 1, sizeof *results);
		states = calloc(n, sizeof *states);
		added_ts = calloc(n, sizeof *added_ts);
		if (!items || !results || !states || !added_ts) {
			rc = RK_ENOMEM;
			goto out;
		}
		have_slices = slices && n_slices == n;
		if (taxii_fed_verify(r, env, r->body.data, slices, n_slices, n, &fed)) {
			rc = RK_ENOMEM;
			goto out;
		}
	}
	/* Anonymous submission (taxii_anon.c): the envelope is transformed
	 * before anything else reads it; the originals are kept aside. */
	if (taxii_anon_begin(r, objs, &anon, &ctx)) {
		if (ctx.code == RK_ENOMEM) {
			rc = RK_ENOMEM;
			goto out;
		}
		rc = taxii_respond_error(r, 400, ctx.msg, NULL, ctx.path);
		goto out;
	}
	if (anon.on) {
		have_slices = false; /* the objects are not the bytes posted */
		anon_out = calloc(n ? n : 1, sizeof *anon_out);
		if (!anon_out) {
			rc = RK_ENOMEM;
			goto out;
		}
	}
	const char *creator = anon.on ? anon.res.pseudonym
				      : r->subj.org ? r->subj.org->identity_id : NULL;

	for (size_t i = 0; i < n; i++) {
		json_t *obj = json_array_get(objs, i);
		obj_state *s = &states[i];
		char path[32];
		stix_info info;
		rk_errctx octx;
		bool changed = false;
		added_members added;

		s->item = -1;
		s->obj = obj;
		s->id = anon.on ? anon.posted[i] : json_string_value(json_object_get(obj, "id"));
		snprintf(path, sizeof path, "objects[%zu]", i);
		rk_errctx_clear(&octx);
		if (fed.ok && !fed.ok[i]) {
			snprintf(s->message, sizeof s->message, "%s: federation: %s", path,
				 fed.why);
			s->failed = true;
			continue;
		}
		if (stix_validate_object(obj, path, NULL, &octx) != RK_OK ||
		    stix_object_info(obj, &info, &octx) != RK_OK) {
			if (!octx.code)
				rk_fail(&octx, RK_ESTIX, path, "not a STIX object");
			rk_errctx_format(&octx, s->message, sizeof s->message);
			s->failed = true;
			continue;
		}
		if (info.kind == STIX_KIND_BUNDLE) {
			snprintf(s->message, sizeof s->message,
				 "%s: a bundle cannot be stored; post its objects", path);
			s->failed = true;
			continue;
		}
		if (complete_object(r, obj, &info, creator, &changed, &added)) {
			rc = RK_ENOMEM;
			goto out;
		}
		if (changed && stix_object_info(obj, &info, &octx) != RK_OK) {
			rk_errctx_format(&octx, s->message, sizeof s->message);
			s->failed = true;
			continue;
		}
		if (anon.on && s->id && strcmp(s->id, info.id) != 0)
			s->stored_as = info.id; /* a mapped id: the submitter learns it */
		else
			s->id = info.id;
		s->version = info.version;
		/* The pseudonym speaks for the organisation: the policy is
		 * asked about the write as the organisation's. */
		stix_info as_org = info;
		if (anon.on && info.created_by_ref &&
		    strcmp(info.created_by_ref, anon.res.pseudonym) == 0)
			as_org.created_by_ref = r->subj.org->identity_id;

		/* Who the object is for (docs/confidentiality.md,
		 * "Submission"): markings, recipients, distribution. */
		policy_audience aud;
		unsigned aflags = 0;
		policy_audience_src asrc = {.dir = r->dir, .collection = r->collection,
					    .owner = r->subj.org->id,
					    .marking_known = marking_known, .marking_arg = &ic};
		if (policy_audience_of(&asrc, obj, path, &aud, &aflags, &octx) != RK_OK) {
			policy_audience_cleanup(&aud);
			if (octx.code == RK_ENOMEM) {
				rc = RK_ENOMEM;
				goto out;
			}
			rk_errctx_format(&octx, s->message, sizeof s->message);
			s->failed = true;
			continue;
		}
		if (anon.on && taxii_anon_names_submitter(&anon, &aud)) {
			snprintf(s->message, sizeof s->message,
				 "%s: an anonymous submission cannot name its own organisation or "
				 "users in recipients or distribution",
				 path);
			s->failed = true;
			policy_audience_cleanup(&aud);
			continue;
		}
		s->audience = policy_audience_key(&aud);
		/* A stored id: its owner decides first (the store applies the
		 * rule again in its transaction), then re-sharing. New ids, most
		 * of them, cost no lookup. */
		stored_facts sf = {0};
		if (store_may_hold(r->srv->st, info.id))
			ingest_stored(r, info.id, &sf);
		if (s->audience && sf.here_aud && !strcmp(sf.owner, r->subj.org->id) &&
		    !same_audience(r, sf.here_aud, s->audience)) {
			/* the version rule speaks before re-sharing (the store
			 * keeps it too, in its transaction) */
			snprintf(s->message, sizeof s->message, "%s: %s", path,
				 STORE_VERSION_KEEPS_MARKINGS);
			s->failed = true;
			policy_audience_cleanup(&aud);
			continue;
		}
		/* A named and an anonymous version of one id would link the
		 * pseudonym to the organisation. */
		if (sf.any && sf.creator[0] && r->subj.org && !strcmp(sf.owner, r->subj.org->id)) {
			int kind = taxii_anon_creator_kind(r, r->subj.org->id, sf.creator);
			if (anon.on ? kind != TAXII_ANON_PSEUDONYM_HERE : kind != TAXII_ANON_NAMED) {
				snprintf(s->message, sizeof s->message, "%s: %s", path,
					 anon.on ? "this object was shared under another name (the "
						   "organisation's, or its pseudonym in another "
						   "community); an anonymous version here would "
						   "link the two: publish it as a new object"
						 : "this object was shared anonymously; a version "
						   "under the organisation's name would reveal its "
						   "submitter: post it anonymously");
				s->failed = true;
				policy_audience_cleanup(&aud);
				continue;
			}
		}
		policy_resource res = {.community = r->community,
				       .collection = r->collection,
				       .object = &as_org,
				       .audience = &aud,
				       .owner_org = sf.any ? sf.owner : NULL,
				       .stored_in = sf.elsewhere,
				       .stored_audience = sf.elsewhere
							  ? taxii_row_audience(r, sf.elsewhere_aud)
							  : NULL};
		/* A sighting of an object this collection holds: how that
		 * object is marked (policy: no sighting wider than what it
		 * sights). */
		const char *sighted = strcmp(info.type, "sighting") == 0
					      ? json_string_value(json_object_get(obj, "sighting_of_ref"))
					      : NULL;
		stored_facts of = {0};
		if (sighted && store_may_hold(r->srv->st, sighted) &&
		    ingest_stored(r, sighted, &of) && of.here_aud) {
			res.sighted_in = r->collection;
			res.sighted_audience = taxii_row_audience(r, of.here_aud);
		}
		policy_decision d = policy_decide(r->dir, &r->subj, POLICY_WRITE_OBJECT, &res);
		policy_audience_cleanup(&aud);
		if (!s->audience) {
			rc = RK_ENOMEM;
			goto out;
		}
		if (!d.allow) {
			snprintf(s->message, sizeof s->message, "%s: %s", path,
				 d.reason[0] ? d.reason : "not permitted");
			s->failed = true;
			continue;
		}
		if (anon.on) {
			anon_out[i].kept = true;
			anon_out[i].stored_id = info.id;
			anon_out[i].version = info.version;
			if (anon.res.review[i]) {
				/* held: invisible to everyone until an analyst
				 * decides (renkei review) */
				s->pending = true;
				anon_out[i].held = true;
				if (!(s->text = rk_json_dump(obj))) {
					rc = RK_ENOMEM;
					goto out;
				}
				anon_out[i].object_text = s->text;
				snprintf(s->message, sizeof s->message, "held for review");
				continue;
			}
		}
		if (have_slices && slices[i].canonical) {
			const char *text = r->body.data + slices[i].off;
			size_t len = slices[i].len;
			if (changed) {
				if (object_text(text, len, &added, &splices, &s->text,
						&len)) {
					rc = RK_ENOMEM;
					goto out;
				}
				text = s->text;
			}
			items[n_items].json = text;
			items[n_items].json_len = text ? len : 0;
		}
		items[n_items].object = obj;
		items[n_items].info = info;
		items[n_items].audience = s->audience;
		items[n_items].flags = aflags;
		s->item = (int)n_items++;
	}

	rk_uuid_v4(status_id);
	/* Anonymous: the pseudonym's identity goes with the objects, so
	 * created_by_ref resolves for readers; the held objects go to the
	 * review queue first (a status saying "pending" always has its
	 * queue items; a failed store forgets them again). */
	if (anon.on && n_items) {
		policy_audience paud;
		unsigned pflags = 0;
		policy_audience_src psrc = {.dir = r->dir, .collection = r->collection,
					    .owner = r->subj.org->id,
					    .marking_known = marking_known, .marking_arg = &ic};
		rk_errctx pctx;
		rk_errctx_clear(&pctx);
		pseudonym_obj = anon_pseudonym_identity(anon.res.pseudonym);
		if (!pseudonym_obj ||
		    stix_object_info(pseudonym_obj, &items[n_items].info, &pctx) ||
		    policy_audience_of(&psrc, pseudonym_obj, "pseudonym", &paud, &pflags, &pctx)) {
			rc = RK_ENOMEM;
			goto out;
		}
		pseudonym_key = policy_audience_key(&paud);
		policy_audience_cleanup(&paud);
		if (!pseudonym_key) {
			rc = RK_ENOMEM;
			goto out;
		}
		items[n_items].object = pseudonym_obj;
		items[n_items].audience = pseudonym_key;
		items[n_items].flags = pflags;
		n_items++;
	}
	if (anon.on) {
		if (taxii_anon_queue(r, &anon, anon_out, status_id, &ctx)) {
			rc = taxii_respond_errctx(r, &ctx, false);
			goto out;
		}
		queued = true;
	}
	/* The objects and their status resource in one durable commit: a 202
	 * is only sent once both are on disk, and a status is only ever seen
	 * together with its objects. */
	rk_time_format(r->start, 6, req_ts);
	maker = (status_maker){.r = r, .states = states, .n = n,
			       .added_ts = added_ts, .status_id = status_id,
			       .req_ts = req_ts};
	rc = store_put_with_status(r->srv->st, r->collection->id, r->subj.org->id,
				   items, n_items, results, r->community->id,
				   status_id, make_status, &maker, &ctx);
	if (rc) {
		if (!ctx.code)
			rk_fail(&ctx, rc, NULL, "the objects could not be stored");
		if (queued) {
			rk_errctx qctx;
			rk_errctx_clear(&qctx);
			anon_state_forget_status(r->srv->anon, status_id, &qctx);
		}
		rc = taxii_respond_errctx(r, &ctx, false);
		goto out;
	}
	if (anon.on) {
		for (size_t i = 0; i < n; i++)
			anon_out[i].kept &= !states[i].failed || states[i].pending;
		taxii_anon_keep(r, &anon, anon_out);
		taxii_anon_audit(r, &anon, anon_out);
	}
	atomic_fetch_add(&r->srv->metrics.objects_ingested, maker.n_added);
	atomic_fetch_add(&r->srv->metrics.objects_rejected, maker.n_fail);
	for (size_t i = 0; i < n; i++)
		if (states[i].item >= 0 && !states[i].failed)
			taxii_audit_object(r, states[i].stored_as ? states[i].stored_as
								  : states[i].id);
	if (fed.partner)
		fed_received(r, &fed, states, n, maker.n_fail);

	/* TAXII 2.1 section 5.5: the answer is a status resource. */
	rc = taxii_respond(r, 202, TAXII_MEDIA_TAXII, maker.status_text,
			   strlen(maker.status_text), NULL);
	maker.status_text = NULL;
out:
	free(maker.status_text);
	json_decref(pseudonym_obj);
	free(pseudonym_key);
	free(anon_out);
	taxii_anon_end(&anon);
	json_decref(env);
	for (size_t i = 0; states && i < n; i++) {
		free(states[i].text);
		free(states[i].audience);
	}
	free(items);
	free(results);
	free(states);
	free(slices);
	free(splices.creator);
	free(splices.marking);
	free(added_ts);
	taxii_fed_verdict_cleanup(&fed);
	return rc;
}

/* The whole request runs in the thread's jansson arena (common_arena.c):
 * the envelope, its completion and the answer's error values are all
 * released when objects_post returns (env is json_decref'd there), so the
 * scope can end right after. If the arena cannot be had, the request runs
 * on the heap all the same. */
rk_err taxii_h_objects_post(taxii_req *r)
{
	rk_arena *a = rk_arena_thread();
	bool scoped = a && rk_arena_begin(a) == RK_OK;
	rk_err rc = objects_post(r);

	if (scoped)
		rk_arena_end(a);
	return rc;
}
