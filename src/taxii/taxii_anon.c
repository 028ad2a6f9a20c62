/*
 * taxii_anon.c: the hub's side of anonymous submission
 * (docs/confidentiality.md, "Anonymous submission"; the transformation is
 * src/anonymise/).
 *
 * A POST is anonymous when its request says `X-Renkei-Anonymous: true`, or
 * when it says nothing and the posting organisation has "anonymous": true
 * in the directory; `X-Renkei-Anonymous: false` posts under the
 * organisation's name whatever its default. taxii_anon_begin then keeps
 * each object's text as posted, and runs anon_envelope over the envelope
 * before anything else looks at it, so validation, completion (the
 * pseudonym becomes created_by_ref), the policy and the store only ever see
 * the transformed objects; taxii_ingest.c asks the rest here:
 *
 *  - what the submitter owns (taxii_anon_assets): the one place that
 *    fills the owned-address, owned-domain and owned-asn rules: the
 *    claims of the asset registry (src/assets) an operator approved for
 *    the organisation, read at each anonymous POST (so an approval counts
 *    from the next submission), plus the rules file's `owned` lines;
 *  - held objects go to the review queue, with the status id the
 *    submitter polls; originals are kept for the submitter alone;
 *  - one audit record per transformed object names the rules and the
 *    paths they touched, never a value.
 *
 * GET /renkei/anonymous/{object}/ answers the caller's organisation with
 * the originals it posted under that id (as posted or as stored):
 * {"originals": [{"collection", "stored_id", "version", "kept", "object"}]};
 * any other caller, and an id with no original of the caller's
 * organisation, gets the same 404. Originals older than the retention
 * (hub option anonymise-retention) are deleted before every such read and
 * every anonymous POST.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "taxii_int.h"

#define US_PER_DAY (86400LL * 1000000LL)

static void purge_old(taxii_req *r)
{
	rk_errctx ctx;
	rk_time before = rk_time_now() - (rk_time)r->srv->cfg->anonymise_retention * US_PER_DAY;
	rk_errctx_clear(&ctx);
	if (anon_state_purge(r->srv->anon, before, NULL, &ctx) != RK_OK)
		rk_log(RK_LOG_ERROR, "anonymise_purge_failed", json_pack("{ss}", "error", ctx.msg));
}

/* One approved claim of the registry into the rules' assets. */
typedef struct claims_in {
	anon_assets *out;
	rk_errctx *ctx;
} claims_in;

static rk_err add_claim(void *arg, const asset_claim *c)
{
	claims_in *in = arg;
	if (c->state != ASSET_APPROVED)
		return RK_OK;
	switch (c->value.kind) {
	case ASSET_KIND_CIDR: return anon_assets_add_cidr(in->out, c->value.text, in->ctx);
	case ASSET_KIND_DOMAIN: return anon_assets_add_domain(in->out, c->value.text, in->ctx);
	case ASSET_KIND_ASN: return anon_assets_add_asn(in->out, c->value.text, in->ctx);
	}
	return RK_OK;
}

/* What organisation org owns, for the owned-address, owned-domain and
 * owned-asn rules: its approved claims in the asset registry, and the
 * rules file's `owned` lines. */
static rk_err taxii_anon_assets(taxii_req *r, const dir_org *org, anon_assets *out,
				rk_errctx *ctx)
{
	claims_in in = {out, ctx};
	rk_err rc = RK_OK;

	if (r->srv->assets)
		rc = assets_list(r->srv->assets, org->id, add_claim, &in, ctx);
	return rc ? rc : anon_rules_owned(r->srv->anon_rules, org->id, out, ctx);
}

int taxii_anon_creator_kind(taxii_req *r, const char *org, const char *creator)
{
	char p[RK_MAX_STIX_ID + 1];

	for (size_t i = 0; i < r->dir->n_communities; i++) {
		const char *c = r->dir->communities[i].id;
		anon_pseudonym(anon_state_key(r->srv->anon), org, c, p);
		if (strcmp(p, creator) == 0)
			return strcmp(c, r->community->id) == 0 ? TAXII_ANON_PSEUDONYM_HERE
								 : TAXII_ANON_PSEUDONYM_ELSEWHERE;
	}
	return TAXII_ANON_NAMED;
}

void taxii_anon_end(taxii_anon *a)
{
	for (size_t i = 0; i < a->n; i++) {
		if (a->originals)
			free(a->originals[i]);
		if (a->posted)
			free(a->posted[i]);
	}
	free(a->originals);
	free(a->posted);
	free(a->ids);
	anon_result_cleanup(&a->res);
	anon_assets_cleanup(&a->assets);
	memset(a, 0, sizeof *a);
}

rk_err taxii_anon_begin(taxii_req *r, json_t *objs, taxii_anon *a, rk_errctx *ctx)
{
	const dir_org *org = r->subj.org;
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						    "X-Renkei-Anonymous");
	rk_err rc;

	memset(a, 0, sizeof *a);
	anon_assets_init(&a->assets);
	if (!org)
		return RK_OK;
	if (h) {
		if (!strcasecmp(h, "true") || !strcmp(h, "1") || !strcasecmp(h, "yes"))
			a->on = true;
		else if (!strcasecmp(h, "false") || !strcmp(h, "0") || !strcasecmp(h, "no"))
			a->on = false;
		else
			return rk_fail(ctx, RK_EINVAL, "X-Renkei-Anonymous",
				       "X-Renkei-Anonymous must be true or false");
	} else {
		a->on = org->anonymous;
	}
	if (!a->on)
		return RK_OK;
	purge_old(r);

	a->n = json_array_size(objs);
	a->originals = calloc(a->n ? a->n : 1, sizeof *a->originals);
	a->posted = calloc(a->n ? a->n : 1, sizeof *a->posted);
	a->ids = calloc(r->dir->n_users + 1, sizeof *a->ids);
	if (!a->originals || !a->posted || !a->ids)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < a->n; i++) {
		json_t *o = json_array_get(objs, i);
		const char *id = json_string_value(json_object_get(o, "id"));
		if (!(a->originals[i] = rk_json_dump(o)) || (id && !(a->posted[i] = strdup(id))))
			return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	}
	/* the organisation's identity and its users' */
	a->ids[a->n_ids++] = org->identity_id;
	for (size_t i = 0; i < r->dir->n_users; i++)
		if (strcmp(r->dir->users[i].org, org->id) == 0)
			a->ids[a->n_ids++] = r->dir->users[i].identity_id;
	if ((rc = taxii_anon_assets(r, org, &a->assets, ctx)))
		return rc;
	anon_submitter sub = {.org_id = org->id, .org_name = org->name,
			      .community_id = r->community->id, .identity_ids = a->ids,
			      .n_identity_ids = a->n_ids, .assets = &a->assets};
	return anon_envelope(r->srv->anon_rules, anon_state_key(r->srv->anon), &sub, objs,
			     &a->res, ctx);
}

static bool list_has(char *const *list, size_t n, const char *const *ids, size_t n_ids)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < n_ids; k++)
			if (strcmp(list[i], ids[k]) == 0)
				return true;
	return false;
}

bool taxii_anon_names_submitter(const taxii_anon *a, const policy_audience *aud)
{
	return list_has(aud->recipients, aud->n_recipients, a->ids, a->n_ids) ||
	       list_has(aud->distribution, aud->n_distribution, a->ids, a->n_ids);
}

/* The findings of object i as "rule path" lines (review ones marked). */
static char *findings_text(const taxii_anon *a, size_t i, bool *any)
{
	rk_buf b;
	rk_buf_init(&b);
	*any = false;
	for (size_t k = 0; k < a->res.n_findings; k++) {
		const anon_finding *f = &a->res.findings[k];
		if (f->object != i)
			continue;
		if (rk_buf_printf(&b, "%s%s %s%s", *any ? "\n" : "", f->rule,
				  f->path[0] ? f->path : "(object)", f->review ? " (review)" : "") !=
		    RK_OK) {
			rk_buf_cleanup(&b);
			return NULL;
		}
		*any = true;
	}
	if (rk_buf_append(&b, "", 0) != RK_OK) {
		rk_buf_cleanup(&b);
		return NULL;
	}
	return rk_buf_take(&b);
}

rk_err taxii_anon_queue(taxii_req *r, const taxii_anon *a, const taxii_anon_outcome *o,
			const char *status_id, rk_errctx *ctx)
{
	anon_review_item *items = calloc(a->n ? a->n : 1, sizeof *items);
	char (*ids)[RK_UUID_BUF] = calloc(a->n ? a->n : 1, sizeof *ids);
	char **findings = calloc(a->n ? a->n : 1, sizeof *findings);
	size_t n = 0;
	rk_err rc = RK_OK;

	if (!items || !ids || !findings) {
		rc = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < a->n; i++) {
		bool any;
		if (!o[i].held)
			continue;
		rk_uuid_v4(ids[n]);
		if (!(findings[n] = findings_text(a, i, &any))) {
			rc = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
			goto out;
		}
		items[n] = (anon_review_item){
			.id = ids[n], .org = r->subj.org->id, .user = r->subj.user->name,
			.community = r->community->id, .collection = r->collection->id,
			.status_id = status_id, .posted_id = a->posted[i] ? a->posted[i] : "",
			.stored_id = o[i].stored_id, .version = o[i].version,
			.object = o[i].object_text, .findings = findings[n],
			.received = r->start};
		n++;
	}
	rc = anon_state_queue(r->srv->anon, items, n, ctx);
out:
	for (size_t i = 0; findings && i < a->n; i++)
		free(findings[i]);
	free(findings);
	free(ids);
	free(items);
	return rc;
}

void taxii_anon_keep(taxii_req *r, const taxii_anon *a, const taxii_anon_outcome *o)
{
	anon_original *keep = calloc(a->n ? a->n : 1, sizeof *keep);
	size_t n = 0;
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	if (!keep) {
		rk_log(RK_LOG_ERROR, "anonymise_keep_failed", json_pack("{ss}", "error", "out of memory"));
		return;
	}
	for (size_t i = 0; i < a->n; i++) {
		if (!o[i].kept || !a->originals[i])
			continue;
		keep[n++] = (anon_original){.org = r->subj.org->id, .community = r->community->id,
					    .collection = r->collection->id,
					    .posted_id = a->posted[i] ? a->posted[i] : "",
					    .stored_id = o[i].stored_id ? o[i].stored_id : "",
					    .version = o[i].version ? o[i].version : "",
					    .object = a->originals[i], .kept = r->start};
	}
	/* The objects are stored already: an original that cannot be kept
	 * is logged, and the submission stands. */
	if (anon_state_keep(r->srv->anon, keep, n, &ctx) != RK_OK)
		rk_log(RK_LOG_ERROR, "anonymise_keep_failed", json_pack("{ss}", "error", ctx.msg));
	free(keep);
}

void taxii_anon_audit(taxii_req *r, const taxii_anon *a, const taxii_anon_outcome *o)
{
	char path[RK_MAX_QUERY_BYTES];
	size_t n = 0;

	if (!r->srv->audit)
		return;
	for (; n < sizeof path - 1 && r->uri[n] && r->uri[n] != '?'; n++) {
		unsigned char c = (unsigned char)r->uri[n];
		path[n] = c > 0x20 && c < 0x7f ? (char)c : '?';
	}
	path[n] = '\0';
	for (size_t i = 0; i < a->n; i++) {
		bool any;
		rk_errctx ctx;
		if (!o[i].kept || !o[i].stored_id)
			continue;
		char *text = findings_text(a, i, &any);
		rk_buf outcome;
		rk_buf_init(&outcome);
		if (!text || rk_buf_printf(&outcome, "anonymised%s:%s%s",
					   o[i].held ? ", held for review" : "", any ? "\n" : " no rule applied",
					   text) != RK_OK ||
		    rk_buf_append(&outcome, "", 0) != RK_OK) {
			free(text);
			rk_buf_cleanup(&outcome);
			continue;
		}
		if (outcome.len > 60000)
			outcome.data[60000] = '\0';
		audit_record rec = {.at = r->start,
				    .user = r->subj.user->name,
				    .org = r->subj.org->id,
				    .method = "POST",
				    .route = path,
				    .api_root = r->community->id,
				    .collection = r->collection->id,
				    .ids = o[i].stored_id,
				    .status = 202,
				    .outcome = outcome.data};
		rk_errctx_clear(&ctx);
		if (audit_append(r->srv->audit, &rec, false, &ctx) != RK_OK)
			rk_log(RK_LOG_ERROR, "audit_failed", json_pack("{ss}", "error", ctx.msg));
		free(text);
		rk_buf_cleanup(&outcome);
	}
}

/* ---------------------------------------------------------------- originals */

static rk_err add_original(void *arg, const anon_original *o)
{
	json_t *list = arg, *obj = NULL;
	char kept[RK_TIME_BUF];
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	if (rk_json_parse(o->object, strlen(o->object), RK_MAX_JSON_DEPTH, &obj, &ctx))
		obj = json_string(o->object); /* as it was posted, whatever it was */
	rk_time_format(o->kept, 6, kept);
	json_t *e = json_pack("{ss ss ss ss so}", "collection", o->collection, "stored_id",
			      o->stored_id, "version", o->version, "kept", kept, "object", obj);
	return e && !json_array_append_new(list, e) ? RK_OK : RK_ENOMEM;
}

rk_err taxii_h_anon_original(taxii_req *r)
{
	json_t *list = NULL;
	rk_errctx ctx;
	rk_err rc;

	rk_errctx_clear(&ctx);
	if (!r->subj.user)
		return taxii_respond_error(r, 401, "authentication required", NULL, NULL);
	purge_old(r);
	if (!(list = json_array()))
		return RK_ENOMEM;
	rc = anon_state_originals(r->srv->anon, r->subj.org->id, r->path_arg[0], add_original,
				  list, &ctx);
	if (rc) {
		json_decref(list);
		if (rc == RK_ENOMEM)
			return RK_ENOMEM;
		return taxii_respond_errctx(r, &ctx, false);
	}
	if (!json_array_size(list)) {
		json_decref(list);
		return taxii_respond_error(r, 404, "no such object", NULL, NULL);
	}
	for (size_t i = 0; i < json_array_size(list); i++)
		taxii_audit_object(r, json_string_value(json_object_get(json_array_get(list, i),
								       "stored_id")));
	return taxii_respond_json(r, 200, json_pack("{so}", "originals", list), NULL);
}
