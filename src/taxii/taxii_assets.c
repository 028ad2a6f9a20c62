/*
 * taxii_assets.c: /renkei/assets/, where an organisation's users claim
 * its address ranges, AS numbers and domains (src/assets) and see their
 * claims.
 *
 *   GET    /renkei/assets/        the caller's organisation's claims:
 *                                 {"claims": [{"id", "kind", "value",
 *                                 "state", "claimed_by", "claimed_at",
 *                                 "decided_at"}]}
 *   POST   /renkei/assets/        {"values": ["192.0.2.0/24", ...]}: one
 *                                 pending claim per value; answers
 *                                 {"claims": [...], "errors": [{"value",
 *                                 "error"}]} (200 when at least one value
 *                                 was claimed, 422 when none was)
 *   DELETE /renkei/assets/{id}/   withdraws one of the organisation's
 *                                 claims (404 for another's, word for word
 *                                 as for none)
 *
 * Who: any authenticated user reads its own organisation's claims and
 * nobody else's; claiming and withdrawing change what the hub tells the
 * organisation about, so they take its administrator (policy_decide,
 * POLICY_ADMIN: the admin role). Approval is the hub operator's
 * (`renkei assets approve` on the data directory), never a user's. The
 * organisation never learns of other organisations' claims, overlapping
 * or not: that is for the operator's listing.
 *
 * Bodies are application/json or application/taxii+json, at most
 * RK_ASSETS_MAX_PER_REQUEST values.
 */
#include <stdlib.h>
#include <string.h>

#include "assets.h"
#include "taxii_int.h"

static json_t *claim_json(const asset_claim *c)
{
	char at[RK_TIME_BUF], dt[RK_TIME_BUF];
	rk_time_format(c->claimed_at, 3, at);
	json_t *o = json_pack("{sI ss ss ss ss ss}", "id", (json_int_t)c->id, "kind",
			      assets_kind_name(c->value.kind), "value", c->value.text, "state",
			      assets_state_name(c->state), "claimed_by", c->claimed_by,
			      "claimed_at", at);
	if (o && c->decided_at) {
		rk_time_format(c->decided_at, 3, dt);
		json_object_set_new(o, "decided_at", json_string(dt));
	}
	return o;
}

static rk_err list_add(void *arg, const asset_claim *c)
{
	json_t *o = claim_json(c);
	if (!o || json_array_append_new(arg, o))
		return RK_ENOMEM;
	return RK_OK;
}

static bool may_change(taxii_req *r)
{
	policy_decision d = policy_decide(r->dir, &r->subj, POLICY_ADMIN, NULL);
	if (d.allow)
		return true;
	snprintf(r->error_msg, sizeof r->error_msg, "%s", d.reason);
	taxii_respond_error(r, d.http_status, "claims are made by the organisation's administrator",
			    NULL, NULL);
	return false;
}

rk_err taxii_h_assets(taxii_req *r)
{
	assets_db *db = r->srv->assets;
	json_t *claims = NULL, *errors = NULL, *body = NULL;
	rk_errctx ctx;
	rk_err err = RK_OK;

	if (!r->subj.user || !r->subj.org) {
		snprintf(r->error_msg, sizeof r->error_msg, "asset claims are for authenticated users");
		return taxii_respond_error(r, 401, "authentication required", NULL, NULL);
	}
	if (!db)
		return taxii_respond_error(r, 503, "the asset registry is not open", NULL, NULL);
	rk_errctx_clear(&ctx);
	if (!(claims = json_array()))
		return RK_ENOMEM;
	if (strcmp(r->method, "GET") == 0) {
		if ((err = assets_list(db, r->subj.org->id, list_add, claims, &ctx))) {
			json_decref(claims);
			return taxii_respond_errctx(r, &ctx, false);
		}
		return taxii_respond_json(r, 200, json_pack("{so}", "claims", claims), NULL);
	}
	if (strcmp(r->method, "DELETE") == 0) {
		json_decref(claims);
		if (!may_change(r))
			return RK_OK;
		char *end = NULL;
		long long id = strtoll(r->path_arg[0], &end, 10);
		if (!*r->path_arg[0] || *end || id <= 0 ||
		    assets_withdraw(db, id, r->subj.org->id, &ctx) == RK_ENOTFOUND)
			return taxii_respond_error(r, 404, "no such claim", NULL, NULL);
		if (ctx.code)
			return taxii_respond_errctx(r, &ctx, false);
		return taxii_respond_json(r, 200, json_pack("{sIss}", "id", (json_int_t)id, "state",
							    "withdrawn"),
					  NULL);
	}
	/* POST */
	if (!may_change(r)) {
		json_decref(claims);
		return RK_OK;
	}
	json_t *values = NULL;
	if ((err = rk_json_parse(r->body.data ? r->body.data : "", r->body.len, 8, &body, &ctx))) {
		json_decref(claims);
		return taxii_respond_errctx(r, &ctx, false);
	}
	values = json_object_get(body, "values");
	if (!json_is_array(values) || json_array_size(values) == 0 ||
	    json_array_size(values) > RK_ASSETS_MAX_PER_REQUEST) {
		json_decref(claims);
		json_decref(body);
		char desc[128];
		snprintf(desc, sizeof desc, "expected {\"values\": [...]} with 1 to %d values",
			 RK_ASSETS_MAX_PER_REQUEST);
		return taxii_respond_error(r, 400, desc, NULL, "values");
	}
	if (!(errors = json_array())) {
		err = RK_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < json_array_size(values); i++) {
		json_t *v = json_array_get(values, i);
		asset_claim c;
		rk_errctx one;
		rk_errctx_clear(&one);
		if (!json_is_string(v)) {
			json_array_append_new(errors, json_pack("{sIss}", "index", (json_int_t)i,
								"error", "not a string"));
			continue;
		}
		if (assets_claim(db, r->subj.org->id, json_string_value(v), r->subj.user->name, &c,
				 &one) != RK_OK) {
			char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG];
			rk_errctx_format(&one, msg, sizeof msg);
			json_array_append_new(errors, json_pack("{sIssss}", "index", (json_int_t)i,
								"value", json_string_value(v),
								"error", msg));
			continue;
		}
		json_array_append_new(claims, claim_json(&c));
	}
	int status = json_array_size(claims) ? 200 : 422;
	json_t *answer = json_pack("{sOsO}", "claims", claims, "errors", errors);
	err = taxii_respond_json(r, status, answer, NULL);
out:
	json_decref(claims);
	json_decref(errors);
	json_decref(body);
	return err;
}
