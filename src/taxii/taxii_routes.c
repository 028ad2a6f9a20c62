/*
 * taxii_routes.c: the read endpoints of TAXII 2.1 and object deletion.
 *
 * By the time a handler runs, taxii_server.c has authenticated the caller,
 * negotiated the media type, resolved the API root and collection and
 * applied the route's collection-level policy action, and parsed the query
 * into r->filter. Handlers add what is specific to their resource; every
 * object-level decision still goes through policy_decide (the store calls
 * back `row_visible` for each row, so invisible rows are neither emitted nor
 * counted in `more`).
 *
 * Listings (objects, manifest, versions, one object) are built by appending
 * the stored JSON text of each row to one buffer: no parse, no
 * re-serialisation. Pages follow the store's seq order; `next` is an opaque
 * cursor (taxii_query.c). Every 200 listing carries X-TAXII-Date-Added-First
 * and -Last (TAXII 2.1 section 3.2) with microsecond timestamps so that a
 * client paging by added_after loses nothing; an empty page repeats the
 * client's added_after (or the epoch when none was given), which moves no
 * client past anything. An empty page is `{}` (`{"more":true,...}` when a
 * later page may still hold rows): sections 3.7, 5.3.1 and 5.8.1 want the
 * list omitted. One object's listing is a 404 only when the collection
 * holds no version of it the caller may see; when filters exclude every
 * version it is an empty envelope (section 5.6).
 *
 * Discovery (section 4.1.1) lists API roots as HTTPS absolute URLs, or as
 * relative URLs ("/gov/") when the hub serves plain HTTP and no public_url
 * was configured: the spec allows no http:// URL there.
 *
 * renkei extension: manifest and versions responses also carry `next` when
 * `more` is true (TAXII 2.1 defines `next` only on envelopes; clients that
 * ignore it page with added_after as the spec describes).
 */
#include <stdlib.h>
#include <string.h>

#include "taxii_int.h"

/* ---------------------------------------------------------------- discovery */

/* TAXII 2.1 section 4.1: only API roots the caller's organisation may see. */
rk_err taxii_h_discovery(taxii_req *r)
{
	const taxii_config *cfg = r->srv->cfg;
	json_t *d = json_object(), *roots = json_array();
	rk_err rc = RK_OK;

	if (!d || !roots) {
		rc = RK_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < r->dir->n_communities; i++) {
		policy_resource res = {.community = &r->dir->communities[i]};
		policy_decision dec = policy_decide(r->dir, &r->subj, POLICY_SEE_API_ROOT, &res);
		if (!dec.allow)
			continue;
		char url[1024];
		snprintf(url, sizeof url, "%s/%s/", r->srv->base_url, r->dir->communities[i].id);
		json_array_append_new(roots, json_string(url));
	}
	if (!r->subj.user && json_array_size(roots) == 0) {
		rc = taxii_respond_error(r, 401, "authentication required", NULL, NULL);
		goto out;
	}
	json_object_set_new(d, "title", json_string(cfg->title ? cfg->title : "renkei hub"));
	if (cfg->description)
		json_object_set_new(d, "description", json_string(cfg->description));
	if (cfg->contact)
		json_object_set_new(d, "contact", json_string(cfg->contact));
	/* TAXII 2.1 section 2: an empty list is omitted, never sent as []. */
	if (json_array_size(roots)) {
		json_object_set(d, "default", json_array_get(roots, 0));
		json_object_set(d, "api_roots", roots);
	}
	rc = taxii_respond_json(r, 200, d, NULL);
	d = NULL;
out:
	json_decref(d);
	json_decref(roots);
	return rc;
}

/* TAXII 2.1 section 4.2 */
rk_err taxii_h_api_root(taxii_req *r)
{
	const dir_community *c = r->community;
	json_t *v = json_pack("{ss s[s] sI}", "title", c->title, "versions",
			      TAXII_MEDIA_TAXII, "max_content_length",
			      (json_int_t)r->srv->max_content_length);
	if (!v)
		return RK_ENOMEM;
	if (c->description && *c->description)
		json_object_set_new(v, "description", json_string(c->description));
	return taxii_respond_json(r, 200, v, NULL);
}

/* TAXII 2.1 section 4.3. Stored as {"org": poster, "status": resource}; a
 * status is shown only to the organisation that posted the request. */
rk_err taxii_h_status(taxii_req *r)
{
	json_t *doc = NULL;
	rk_errctx ctx;
	rk_err rc;

	rk_errctx_clear(&ctx);
	if (!rk_uuid_is_valid(r->path_arg[1]) || !r->subj.org)
		return taxii_respond_error(r, r->subj.user ? 404 : 401,
					   r->subj.user ? "no such status" : "authentication required",
					   NULL, NULL);
	rc = store_status_get(r->srv->st, r->community->id, r->path_arg[1], &doc, &ctx);
	if (rc == RK_ENOTFOUND)
		return taxii_respond_error(r, 404, "no such status", NULL, NULL);
	if (rc)
		return taxii_respond_errctx(r, &ctx, false);
	const char *org = json_string_value(json_object_get(doc, "org"));
	json_t *status = json_object_get(doc, "status");
	if (!org || !status || strcmp(org, r->subj.org->id) != 0) {
		json_decref(doc);
		return taxii_respond_error(r, 404, "no such status", NULL, NULL);
	}
	json_incref(status);
	json_decref(doc);
	return taxii_respond_json(r, 200, status, NULL);
}

/* ---------------------------------------------------------------- collections */

static json_t *collection_json(taxii_req *r, const dir_collection *c, bool *visible)
{
	policy_resource res = {.community = r->community, .collection = c};
	bool can_read = policy_decide(r->dir, &r->subj, POLICY_READ_COLLECTION, &res).allow;
	bool can_write = policy_decide(r->dir, &r->subj, POLICY_WRITE_COLLECTION, &res).allow;
	*visible = can_read || can_write;
	if (!*visible)
		return NULL;
	json_t *v = json_pack("{ss ss sb sb s[s]}", "id", c->id, "title", c->title,
			      "can_read", can_read, "can_write", can_write, "media_types",
			      TAXII_MEDIA_STIX);
	if (v && c->description && *c->description)
		json_object_set_new(v, "description", json_string(c->description));
	return v;
}

/* TAXII 2.1 section 5.1 */
rk_err taxii_h_collections(taxii_req *r)
{
	json_t *list = json_array(), *out = NULL;
	if (!list)
		return RK_ENOMEM;
	for (size_t i = 0; i < r->dir->n_collections; i++) {
		const dir_collection *c = &r->dir->collections[i];
		bool visible;
		if (strcmp(c->community, r->community->id) != 0)
			continue;
		json_t *v = collection_json(r, c, &visible);
		if (visible && !v) {
			json_decref(list);
			return RK_ENOMEM;
		}
		if (v)
			json_array_append_new(list, v);
	}
	out = json_object();
	if (!out) {
		json_decref(list);
		return RK_ENOMEM;
	}
	/* An API root with no collections the caller may see answers {}. */
	if (json_array_size(list))
		json_object_set(out, "collections", list);
	json_decref(list);
	return taxii_respond_json(r, 200, out, NULL);
}

/* TAXII 2.1 section 5.2 */
rk_err taxii_h_collection(taxii_req *r)
{
	bool visible;
	json_t *v = collection_json(r, r->collection, &visible);
	if (!visible)
		return taxii_respond_error(r, 404, "no such collection", NULL, NULL);
	if (!v)
		return RK_ENOMEM;
	return taxii_respond_json(r, 200, v, NULL);
}

/* ---------------------------------------------------------------- listings */

typedef enum { LIST_OBJECTS, LIST_MANIFEST, LIST_VERSIONS } list_kind;

typedef struct listing {
	taxii_req *r;
	list_kind kind;
	rk_buf out;
	size_t count;
	json_t *view; /* the redacted object of the row just decided */
	bool audit; /* rows served: the request's audit record names them */
} listing;

/* The per-object decision (taxii_policy.c); a redacted view waits for
 * emit_row. */
static bool row_visible(void *arg, const store_row *row)
{
	listing *l = arg;
	json_decref(l->view);
	l->view = NULL;
	return taxii_row_visible(l->r, row, &l->view);
}

/* Appends s as a JSON string. Ids and versions are validated ASCII, but
 * escape anyway: the buffer is sent to clients. */
static rk_err append_json_str(rk_buf *b, const char *s)
{
	rk_err rc = rk_buf_append(b, "\"", 1);
	const char *run = s;
	for (; !rc && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\' || c < 0x20) {
			rc = rk_buf_append(b, run, (size_t)(s - run));
			if (!rc)
				rc = rk_buf_printf(b, "\\u%04x", c);
			run = s + 1;
		}
	}
	if (!rc)
		rc = rk_buf_append(b, run, (size_t)(s - run));
	if (!rc)
		rc = rk_buf_append(b, "\"", 1);
	return rc;
}

static rk_err emit_row(void *arg, const store_row *row)
{
	listing *l = arg;
	rk_buf *b = &l->out;
	rk_err rc = RK_OK;
	char ts[RK_TIME_BUF];

	if (l->audit)
		taxii_audit_object(l->r, row->id);
	if (l->count++)
		rc = rk_buf_append(b, ",", 1);
	if (rc)
		return rc;
	switch (l->kind) {
	case LIST_OBJECTS:
		if (l->view) {
			rc = rk_json_dump_to(b, l->view, JSON_COMPACT | JSON_PRESERVE_ORDER);
			json_decref(l->view);
			l->view = NULL;
			return rc;
		}
		return rk_buf_append(b, row->json, row->json_len);
	case LIST_VERSIONS:
		return append_json_str(b, row->version);
	case LIST_MANIFEST:
		rk_time_format(row->date_added, 6, ts);
		rc = rk_buf_puts(b, "{\"id\":");
		if (!rc)
			rc = append_json_str(b, row->id);
		if (!rc)
			rc = rk_buf_printf(b, ",\"date_added\":\"%s\",\"version\":", ts);
		if (!rc)
			rc = append_json_str(b, row->version);
		if (!rc)
			rc = rk_buf_puts(b, ",\"media_type\":\"" TAXII_MEDIA_STIX "\"}");
		return rc;
	}
	return RK_OK;
}

/* Whether the collection holds any version of `id` that the caller may
 * see, whatever the request's filters. */
static rk_err object_visible(taxii_req *r, const char *id, bool *found, rk_errctx *ctx)
{
	listing l = {.r = r, .kind = LIST_VERSIONS};
	store_query q = {0};
	store_page page = {0};

	rk_buf_init(&l.out);
	q.collection_id = r->collection->id;
	q.ids = &id;
	q.n_ids = 1;
	q.version.all = true;
	q.limit = 1;
	q.with_json = true; /* the decision may look inside */
	rk_err rc = store_query_rows(r->srv->st, &q, row_visible, &l, emit_row, &l, &page, ctx);
	*found = l.count > 0;
	json_decref(l.view);
	rk_buf_cleanup(&l.out);
	return rc;
}

/* Objects the hub itself publishes in every collection it lets the caller
 * read: the renkei extension's definition and the TLP 2.0 marking
 * definitions that markings refer to (new reference, or NULL). */
static json_t *builtin_object(const char *id)
{
	if (strcmp(id, POLICY_EXTENSION_ID) == 0)
		return policy_extension_definition();
	stix_tlp level = stix_tlp_of_marking(id);
	if (level != STIX_TLP_NONE && strcmp(stix_tlp_marking_id(level), id) == 0)
		return stix_tlp_marking_object(level);
	return NULL;
}

/* A listing of one built-in object: itself, or its one version. */
static rk_err respond_builtin(taxii_req *r, list_kind kind, json_t *obj)
{
	const char *created = json_string_value(json_object_get(obj, "created"));
	const char *version = json_string_value(json_object_get(obj, "modified"));
	rk_time t = 0;
	char ts[RK_TIME_BUF];
	json_t *env;

	if (!version)
		version = created;
	rk_time_parse(created, &t);
	rk_time_format(t, 6, ts);
	if (kind == LIST_VERSIONS) {
		env = json_pack("{s:[s], s:b}", "versions", version, "more", 0);
		json_decref(obj);
	} else {
		env = json_pack("{s:[o], s:b}", "objects", obj, "more", 0);
	}
	if (!env)
		return RK_ENOMEM;
	const char *hdrs[5] = {"X-TAXII-Date-Added-First", ts, "X-TAXII-Date-Added-Last", ts,
			       NULL};
	return taxii_respond_json(r, 200, env, hdrs);
}

/*
 * Runs one listing and responds. object_id: restrict to one object (object
 * and versions endpoints); a listing of one object that finds nothing on
 * its first page is a 404 when no version of the object is visible to the
 * caller (absent and hidden must look alike), an empty envelope otherwise.
 */
static rk_err run_listing(taxii_req *r, list_kind kind, const char *object_id)
{
	static const char *const kind_names[] = {"objects", "manifest", "versions"};
	listing l = {.r = r, .kind = kind, .audit = true};
	store_query q = {0};
	store_page page = {0};
	rk_errctx ctx;
	unsigned char hash[8];
	char scope[RK_MAX_STIX_ID + 128];
	char *next = NULL;
	int64_t *auds = NULL;
	rk_err rc;

	rk_errctx_clear(&ctx);
	rk_buf_init(&l.out);
	snprintf(scope, sizeof scope, "%s %s %s", kind_names[kind], r->collection->id,
		 object_id ? object_id : "");
	taxii_filter_hash(&r->filter, scope, hash);
	if (r->filter.next) {
		rc = taxii_cursor_decode(r->srv->cursor_key, r->filter.next, hash, &q.after_seq,
					 &ctx);
		if (rc) {
			rc = taxii_respond_errctx(r, &ctx, true);
			goto out;
		}
	}
	q.collection_id = r->collection->id;
	taxii_filter_to_query(&r->filter, &q, kind == LIST_VERSIONS);
	if (object_id) {
		q.ids = &object_id;
		q.n_ids = 1;
	}
	/* Every listing reads the JSON: the decision on a row may need to
	 * look inside it (references, granular markings). */
	q.with_json = true;
	/* Only the audience classes the caller may read are read at all. */
	rc = taxii_readable_auds(r, &q, &auds, &ctx);
	if (rc) {
		rc = taxii_respond_errctx(r, &ctx, false);
		goto out;
	}

	rc = rk_buf_puts(&l.out, kind == LIST_VERSIONS ? "{\"versions\":[" : "{\"objects\":[");
	if (rc)
		goto out;
	rc = store_query_rows(r->srv->st, &q, row_visible, &l, emit_row, &l, &page, &ctx);
	if (rc) {
		if (!ctx.code)
			rk_fail(&ctx, rc, NULL, "query failed");
		rc = taxii_respond_errctx(r, &ctx, false);
		goto out;
	}
	if (object_id && l.count == 0 && q.after_seq == 0) {
		bool found = false;
		rc = object_visible(r, object_id, &found, &ctx);
		if (rc) {
			if (!ctx.code)
				rk_fail(&ctx, rc, NULL, "query failed");
			rc = taxii_respond_errctx(r, &ctx, false);
			goto out;
		}
		if (!found) {
			json_t *builtin = kind == LIST_MANIFEST ? NULL : builtin_object(object_id);
			rc = builtin ? respond_builtin(r, kind, builtin)
				     : taxii_respond_error(r, 404, "no such object", NULL, NULL);
			goto out;
		}
	}
	if (page.more) {
		rc = taxii_cursor_encode(r->srv->cursor_key, page.last_seq, hash, &next);
		if (rc)
			goto out;
	}
	if (l.count == 0) {
		/* TAXII 2.1 sections 3.7, 5.3.1, 5.8.1: with nothing to list the
		 * list is omitted and the response is an empty object; `more`
		 * (absent means false) stays when a later page may hold rows. */
		rk_buf_reset(&l.out);
		rc = rk_buf_puts(&l.out, page.more ? "{\"more\":true" : "{");
	} else {
		rc = rk_buf_puts(&l.out, "],");
		if (!rc)
			rc = rk_buf_printf(&l.out, "\"more\":%s", page.more ? "true" : "false");
	}
	if (!rc && next)
		rc = rk_buf_printf(&l.out, ",\"next\":\"%s\"", next);
	if (!rc)
		rc = rk_buf_puts(&l.out, "}");
	if (rc)
		goto out;

	/* TAXII 2.1 section 3.2: every 200 from a listing carries both
	 * headers. An empty page names the client's own added_after (or the
	 * epoch): resuming from there skips nothing. */
	char first[RK_TIME_BUF], last[RK_TIME_BUF];
	if (l.count) {
		rk_time_format(page.first_added, 6, first);
		rk_time_format(page.last_added, 6, last);
	} else {
		rk_time_format(r->filter.has_added_after ? r->filter.added_after : 0, 6, first);
		memcpy(last, first, sizeof last);
	}
	const char *hdrs[5] = {"X-TAXII-Date-Added-First", first, "X-TAXII-Date-Added-Last",
			       last, NULL};
	size_t len = l.out.len;
	rc = taxii_respond(r, 200, TAXII_MEDIA_TAXII, rk_buf_take(&l.out), len, hdrs);
out:
	free(next);
	free(auds);
	json_decref(l.view);
	rk_buf_cleanup(&l.out);
	return rc;
}

/* TAXII 2.1 section 5.3 */
rk_err taxii_h_manifest(taxii_req *r)
{
	return run_listing(r, LIST_MANIFEST, NULL);
}

/* TAXII 2.1 section 5.4 */
rk_err taxii_h_objects_get(taxii_req *r)
{
	return run_listing(r, LIST_OBJECTS, NULL);
}

static bool object_id_ok(taxii_req *r)
{
	const char *id = r->path_arg[2];
	return id && strlen(id) <= RK_MAX_STIX_ID && stix_id_valid(id, NULL);
}

/* TAXII 2.1 section 5.6 */
rk_err taxii_h_object_get(taxii_req *r)
{
	if (!object_id_ok(r))
		return taxii_respond_error(r, 404, "no such object", NULL, NULL);
	return run_listing(r, LIST_OBJECTS, r->path_arg[2]);
}

/* TAXII 2.1 section 5.8 */
rk_err taxii_h_versions(taxii_req *r)
{
	if (!object_id_ok(r))
		return taxii_respond_error(r, 404, "no such object", NULL, NULL);
	return run_listing(r, LIST_VERSIONS, r->path_arg[2]);
}

/* TAXII 2.1 section 5.7: deletes the versions matched (all when no
 * match[version] is given); 200 with no body. The caller needs both
 * can_read and can_write on the collection (checked before this runs, see
 * taxii_server.c); only the owner organisation may delete (policy
 * POLICY_DELETE_OBJECT). */
/* The owner and audience of an id's stored versions (all versions share
 * both). */
typedef struct id_facts {
	char *owner;
	int64_t aud;
} id_facts;

static rk_err note_facts(void *arg, const store_row *row)
{
	id_facts *f = arg;
	if (!f->owner && !(f->owner = strdup(row->owner_org)))
		return RK_ENOMEM;
	if (row->aud)
		f->aud = row->aud;
	return RK_OK;
}

rk_err taxii_h_object_delete(taxii_req *r)
{
	id_facts f = {0};
	rk_errctx ctx;
	size_t deleted = 0;
	rk_err rc;
	store_query q = {0};
	const char *id = r->path_arg[2];

	rk_errctx_clear(&ctx);
	if (!object_id_ok(r))
		return taxii_respond_error(r, 404, "no such object", NULL, NULL);
	rc = store_find_versions(r->srv->st, &id, 1, note_facts, &f, &ctx);
	if (!rc && !f.owner) {
		rc = taxii_respond_error(r, 404, "no such object", NULL, NULL);
		goto out;
	}
	if (rc) {
		if (!ctx.code)
			rk_fail(&ctx, rc, NULL, "out of memory");
		rc = taxii_respond_errctx(r, &ctx, false);
		goto out;
	}
	if (!r->subj.org || strcmp(f.owner, r->subj.org->id) != 0) {
		/* Someone else's: refused, and in the words for an id never
		 * stored unless the caller may read a version of it here. */
		bool found = false;
		rc = object_visible(r, id, &found, &ctx);
		if (rc) {
			rc = taxii_respond_errctx(r, &ctx, false);
			goto out;
		}
		if (!found) {
			rc = taxii_respond_error(r, 404, "no such object", NULL, NULL);
			goto out;
		}
	}
	policy_resource res = {.community = r->community,
			       .collection = r->collection,
			       .owner_org = f.owner,
			       .audience = taxii_row_audience(r, f.aud)};
	policy_decision d = policy_decide(r->dir, &r->subj, POLICY_DELETE_OBJECT, &res);
	if (!d.allow) {
		snprintf(r->error_msg, sizeof r->error_msg, "%s", d.reason);
		rc = taxii_respond_error(r, d.http_status ? d.http_status : 403,
					 d.http_status == 404 ? "no such object"
							      : "only the owner organisation may delete this object",
					 NULL, NULL);
		goto out;
	}
	taxii_filter_to_query(&r->filter, &q, true);
	rc = store_delete(r->srv->st, r->collection->id, r->path_arg[2], &q.version,
			  q.spec_versions, q.n_spec_versions, &deleted, &ctx);
	if (rc == RK_ENOTFOUND) {
		rc = taxii_respond_error(r, 404, "no such object", NULL, NULL);
		goto out;
	}
	if (rc) {
		rc = taxii_respond_errctx(r, &ctx, false);
		goto out;
	}
	taxii_audit_object(r, r->path_arg[2]);
	taxii_fed_deleted(r, r->path_arg[2], f.owner, f.aud,
			  !r->filter.n_v_at && !r->filter.v_first && !r->filter.v_last &&
				  !r->filter.n_spec_versions);
	/* TAXII 2.1 section 5.7: 200 with the TAXII Content-Type, no body. */
	rc = taxii_respond(r, 200, TAXII_MEDIA_TAXII, NULL, 0, NULL);
out:
	free(f.owner);
	return rc;
}
