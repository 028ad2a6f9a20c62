/*
 * taxii_audit.c: the hub's side of the audit trail (src/audit/): one
 * record per request that reads or changes data, and the readers endpoint.
 *
 * Which requests: objects (GET, POST), object (GET, DELETE), versions,
 * manifest, status, readers, exports (taxii_export.c) and the originals of
 * anonymous submissions (taxii_anon.c), whatever their outcome: a refused or
 * failed attempt is recorded too, with its status and the reason the hub
 * logged (error_msg). Discovery, API roots, collections and /metrics are
 * not. The set is the handlers in `audited` below, so a route added to the
 * table is not recorded until it is added here.
 *
 * When: handlers name each object id they serve or write with
 * taxii_audit_object (an append to the request's audit_ids, no I/O). A
 * request that names more ids than one record holds (AUDIT_MAX_IDS: an
 * export can) is recorded as several records, "part i of k" in their
 * outcome, each with the same request and status. The
 * record is made right after the handler returns (run_handler), while the
 * answer is queued but not yet sent; a request that changes data (POST,
 * DELETE) waits there until its record is committed, so the client never
 * hears "done" for a change the log does not hold. Reads only queue their
 * record. A request refused before its handler ran is recorded from
 * done_cb. Either way the record is made once (r->audited).
 *
 * The readers endpoint (renkei extension, docs/confidentiality.md "Audit"):
 * GET /<root>/collections/<id>/objects/<object-id>/readers/ answers
 * {"readers": [{"organization", "user", "at"}, ...], "more": bool} with
 * the newest RK_PAGE_MAX successful reads of the object in this
 * collection, oldest first (`more` when older ones were left out). As for
 * every TAXII resource, an empty list is omitted: {} when nobody read it.
 * Only a user of the owner organisation gets it (policy POLICY_READ_AUDIT);
 * anyone else gets the 404 of an object that does not exist, word for
 * word, whether it exists or not.
 */
#include <stdlib.h>
#include <string.h>

#include "taxii_int.h"

/* The handlers whose requests read or change data. */
static const taxii_handler audited[] = {
	taxii_h_objects_get, taxii_h_objects_post, taxii_h_object_get,
	taxii_h_object_delete, taxii_h_versions, taxii_h_manifest,
	taxii_h_status, taxii_h_readers, taxii_h_export, taxii_h_anon_original,
	taxii_h_assets, taxii_h_notify_objects, taxii_h_notify_status, taxii_h_notify_ack,
	taxii_h_federation_objects,
};

void taxii_audit_object(taxii_req *r, const char *id)
{
	rk_err rc = id ? audit_ids_add(&r->audit_ids, id) : RK_EINVAL;
	if (rc == RK_ETOOBIG) {
		/* the part is full: set it aside and start the next */
		audit_ids *more = realloc(r->audit_full, (r->n_audit_full + 1) * sizeof *more);
		if (more) {
			r->audit_full = more;
			more[r->n_audit_full++] = r->audit_ids;
			audit_ids_init(&r->audit_ids);
			rc = audit_ids_add(&r->audit_ids, id);
		}
	}
	if (rc)
		r->audit_ids_lost = true;
}

void taxii_audit_cleanup(taxii_req *r)
{
	for (size_t i = 0; i < r->n_audit_full; i++)
		audit_ids_cleanup(&r->audit_full[i]);
	free(r->audit_full);
	r->audit_full = NULL;
	r->n_audit_full = 0;
	audit_ids_cleanup(&r->audit_ids);
}

/* The request path, without the query, as printable ASCII (anything else
 * becomes '?'): the log holds what was asked for, not bytes to trip over. */
static void audit_path(const char *uri, char *out, size_t outlen)
{
	size_t n = 0;
	for (; uri && uri[n] && uri[n] != '?' && n + 1 < outlen; n++) {
		unsigned char c = (unsigned char)uri[n];
		out[n] = c > 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[n] = '\0';
}

void taxii_audit_request(taxii_req *r, bool handled)
{
	bool wanted = false;
	char path[RK_MAX_QUERY_BYTES], outcome[200];
	rk_errctx ctx;

	if (r->audited || !r->route || !r->method || !r->srv->audit)
		return;
	for (size_t i = 0; i < RK_ARRAY_LEN(audited); i++)
		wanted |= r->route->handler == audited[i];
	if (!wanted)
		return;
	r->audited = true;
	audit_path(r->uri, path, sizeof path);
	if (!r->responded)
		snprintf(outcome, sizeof outcome, "no answer (connection closed)");
	else if (r->error_msg[0])
		snprintf(outcome, sizeof outcome, "%s", r->error_msg);
	else
		snprintf(outcome, sizeof outcome, "ok");
	if (r->audit_ids_lost)
		strncat(outcome, " (object ids missing: out of memory)",
			sizeof outcome - strlen(outcome) - 1);
	bool changes = strcmp(r->method, "GET") != 0;
	size_t parts = r->n_audit_full + 1;
	for (size_t i = 0; i < parts; i++) {
		char part_outcome[sizeof outcome + 64]; /* " (part N of N)", 20 digits each */
		const audit_ids *ids = i < r->n_audit_full ? &r->audit_full[i] : &r->audit_ids;
		if (parts > 1)
			snprintf(part_outcome, sizeof part_outcome, "%s (part %zu of %zu)", outcome,
				 i + 1, parts);
		else
			snprintf(part_outcome, sizeof part_outcome, "%s", outcome);
		audit_record rec = {
			.at = r->start,
			.user = r->subj.user ? r->subj.user->name : NULL,
			.org = r->subj.org ? r->subj.org->id : NULL,
			.method = r->method,
			.route = path,
			.api_root = r->community ? r->community->id : NULL,
			.collection = r->collection ? r->collection->id : NULL,
			.ids = audit_ids_text(ids),
			.status = r->responded ? r->status : 0,
			.outcome = part_outcome,
		};
		rk_errctx_clear(&ctx);
		/* a change waits for its last part (the parts are committed in order) */
		if (audit_append(r->srv->audit, &rec, handled && changes && i + 1 == parts, &ctx) !=
		    RK_OK)
			rk_log(RK_LOG_ERROR, "audit_failed",
			       json_pack("{sssssi}", "error", ctx.msg, "path", path, "status",
					 rec.status));
	}
}

/* ---------------------------------------------------------------- readers */

typedef struct owner_of {
	char owner[RK_MAX_NAME + 1];
	bool found;
} owner_of;

static rk_err note_owner(void *arg, const store_row *row)
{
	owner_of *o = arg;
	snprintf(o->owner, sizeof o->owner, "%s", row->owner_org ? row->owner_org : "");
	o->found = true;
	return RK_OK;
}

typedef struct readers_out {
	rk_buf b;
	size_t n;
} readers_out;

static rk_err put_reader(void *arg, const audit_read *rd)
{
	readers_out *o = arg;
	char at[RK_TIME_BUF];
	rk_buf *b = &o->b;
	rk_err rc;

	rk_time_format(rd->at, 6, at);
	rc = rk_buf_puts(b, o->n++ ? ",{\"organization\":" : "{\"organization\":");
	if (!rc)
		rc = rd->org ? rk_json_put_string(b, rd->org, strlen(rd->org))
			     : rk_buf_puts(b, "null");
	if (!rc)
		rc = rk_buf_puts(b, ",\"user\":");
	if (!rc)
		rc = rd->user ? rk_json_put_string(b, rd->user, strlen(rd->user))
			      : rk_buf_puts(b, "null");
	if (!rc)
		rc = rk_buf_printf(b, ",\"at\":\"%s\"}", at);
	return rc;
}

rk_err taxii_h_readers(taxii_req *r)
{
	const char *id = r->path_arg[2];
	owner_of own = {0};
	readers_out out = {0};
	store_query q = {0};
	store_page page = {0};
	rk_errctx ctx;
	bool more = false;
	rk_err rc;

	rk_errctx_clear(&ctx);
	if (!id || strlen(id) > RK_MAX_STIX_ID || !stix_id_valid(id, NULL))
		return taxii_respond_error(r, 404, "no such object", NULL, NULL);
	/* The owner, from any version of the object in this collection
	 * (every version of an id has the same owner). */
	q.collection_id = r->collection->id;
	q.ids = &id;
	q.n_ids = 1;
	q.version.all = true;
	q.limit = 1;
	rc = store_query_rows(r->srv->st, &q, NULL, NULL, note_owner, &own, &page, &ctx);
	if (rc) {
		if (!ctx.code)
			rk_fail(&ctx, rc, NULL, "query failed");
		return taxii_respond_errctx(r, &ctx, false);
	}
	policy_resource res = {.community = r->community, .collection = r->collection,
			       .owner_org = own.found ? own.owner : NULL};
	policy_decision d = policy_decide(r->dir, &r->subj, POLICY_READ_AUDIT, &res);
	if (!own.found || !d.allow) {
		rc = taxii_respond_error(r, 404, "no such object", NULL, NULL);
		if (!d.allow && own.found)
			snprintf(r->error_msg, sizeof r->error_msg, "%s", d.reason);
		return rc;
	}
	/* Reads answered before this request are in the log. */
	rk_buf_init(&out.b);
	if ((rc = audit_flush(r->srv->audit, &ctx)) ||
	    (rc = rk_buf_puts(&out.b, "{\"readers\":[")) ||
	    (rc = audit_readers(r->srv->audit, id, r->collection->id, RK_PAGE_MAX, put_reader,
				&out, &more, &ctx))) {
		rk_buf_cleanup(&out.b);
		if (!ctx.code)
			rk_fail(&ctx, rc, NULL, "reading the audit log failed");
		return taxii_respond_errctx(r, &ctx, false);
	}
	if (out.n == 0) {
		rk_buf_reset(&out.b);
		rc = rk_buf_puts(&out.b, "{}");
	} else {
		rc = rk_buf_printf(&out.b, "],\"more\":%s}", more ? "true" : "false");
	}
	if (rc) {
		rk_buf_cleanup(&out.b);
		return rc;
	}
	size_t len = out.b.len;
	return taxii_respond(r, 200, TAXII_MEDIA_TAXII, rk_buf_take(&out.b), len, NULL);
}
