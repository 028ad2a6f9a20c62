/*
 * anon_review.c: a hub analyst's decision on a held object
 * (`renkei review approve|reject`).
 *
 * Approve stores the transformed object through the normal store path:
 * the directory as it is now, the submitting user as at submission
 * (deleted users and users moved to another organisation are refused),
 * policy_decide(POLICY_WRITE_OBJECT) with the object's audience, its
 * stored owner and the collection it is already stored in (re-sharing),
 * then store_put as the submitting organisation, with the pseudonym's
 * identity beside it so the reference resolves for readers. The pseudonym
 * stands for the organisation: the policy is asked about created_by_ref
 * as if it named the organisation, which it does, under a pseudonym.
 *
 * The submitter learns the outcome from its TAXII status (only it reads
 * the status): the object's entry moves from `pendings` to `successes`
 * ("added after review") or `failures` ("rejected in review: ..."), the
 * counts follow, and the status becomes "complete" when nothing is
 * pending. Order on approve: store, then the status, then the queue row;
 * each step can be repeated after a crash (a stored duplicate is a
 * success; a settled entry is not settled twice).
 */
#include <stdlib.h>
#include <string.h>

#include "anonymise.h"
#include "directory.h"
#include "policy.h"
#include "stix.h"

/* A copy of one queue item. */
typedef struct item_copy {
	char *state, *org, *user, *community, *collection, *status_id, *posted_id,
		*stored_id, *object;
	bool oom;
} item_copy;

static char *dup_or_null(const char *s, bool *oom)
{
	char *d = s ? strdup(s) : NULL;
	if (s && !d)
		*oom = true;
	return d;
}

static rk_err copy_item(void *arg, const anon_review_item *it)
{
	item_copy *c = arg;
	c->state = dup_or_null(it->state, &c->oom);
	c->org = dup_or_null(it->org, &c->oom);
	c->user = dup_or_null(it->user, &c->oom);
	c->community = dup_or_null(it->community, &c->oom);
	c->collection = dup_or_null(it->collection, &c->oom);
	c->status_id = dup_or_null(it->status_id, &c->oom);
	c->posted_id = dup_or_null(it->posted_id, &c->oom);
	c->stored_id = dup_or_null(it->stored_id, &c->oom);
	c->object = dup_or_null(it->object, &c->oom);
	return c->oom ? RK_ENOMEM : RK_OK;
}

static void item_free(item_copy *c)
{
	free(c->state);
	free(c->org);
	free(c->user);
	free(c->community);
	free(c->collection);
	free(c->status_id);
	free(c->posted_id);
	free(c->stored_id);
	free(c->object);
}

static rk_err get_pending(anon_state *as, const char *id, item_copy *c, rk_errctx *ctx)
{
	rk_err rc = anon_state_review_get(as, id, copy_item, c, ctx);
	if (rc == RK_ENOMEM && !ctx->code)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	if (rc)
		return rc;
	if (strcmp(c->state, "pending") != 0)
		return rk_fail(ctx, RK_ECONFLICT, NULL, "review item '%s' is already %s", id,
			       c->state);
	return RK_OK;
}

/* ---------------------------------------------------------------- status */

static json_t *take_entry(json_t *list, const char *id)
{
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *e = json_array_get(list, i);
		const char *eid = json_string_value(json_object_get(e, "id"));
		if (eid && strcmp(eid, id) == 0) {
			json_incref(e);
			json_array_remove(list, i);
			return e;
		}
	}
	return NULL;
}

static json_t *list_of(json_t *status, const char *key)
{
	json_t *l = json_object_get(status, key);
	if (!json_is_array(l)) {
		l = json_array();
		if (!l || json_object_set_new(status, key, l))
			return NULL;
	}
	return l;
}

rk_err anon_status_settle(store *st, const char *community, const char *status_id,
			  const char *posted_id, bool ok, const char *message, rk_errctx *ctx)
{
	json_t *doc = NULL;
	rk_err rc = store_status_get(st, community, status_id, &doc, ctx);

	if (rc)
		return rc;
	json_t *status = json_object_get(doc, "status");
	json_t *pend = json_object_get(status, "pendings");
	json_t *entry = take_entry(pend, posted_id);
	if (!entry) { /* settled already (a repeated approve) */
		json_decref(doc);
		return RK_OK;
	}
	json_t *dest = list_of(status, ok ? "successes" : "failures");
	if (!dest || json_object_set_new(entry, "message", json_string(message)) ||
	    json_array_append_new(dest, entry)) {
		json_decref(doc);
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	}
	if (!json_array_size(pend))
		json_object_del(status, "pendings");
	json_int_t n_pend = (json_int_t)json_array_size(pend);
	json_object_set_new(status, "pending_count", json_integer(n_pend));
	json_object_set_new(status, ok ? "success_count" : "failure_count",
			    json_integer((json_int_t)json_array_size(dest)));
	json_object_set_new(status, "status", json_string(n_pend ? "pending" : "complete"));
	rc = store_status_put(st, community, status_id, doc, ctx);
	json_decref(doc);
	return rc;
}

/* ---------------------------------------------------------------- approve */

typedef struct stored_facts {
	const directory *dir;
	const char *collection;
	bool any;
	char owner[RK_MAX_NAME];
	const dir_collection *elsewhere;
	char *elsewhere_key;
	store *st;
} stored_facts;

static rk_err note_stored(void *arg, const store_row *row)
{
	stored_facts *f = arg;
	if (!f->any)
		snprintf(f->owner, sizeof f->owner, "%s", row->owner_org);
	f->any = true;
	if (strcmp(row->collection_id, f->collection) != 0 && !f->elsewhere &&
	    (f->elsewhere = dir_find_collection(f->dir, row->collection_id))) {
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		if (store_audience_key(f->st, row->aud, &f->elsewhere_key, &ctx) != RK_OK)
			f->elsewhere_key = NULL;
	}
	return RK_OK;
}

typedef struct known_arg {
	store *st;
} known_arg;

static rk_err found_one(void *arg, const store_row *row)
{
	(void)row;
	*(bool *)arg = true;
	return RK_OK;
}

static bool marking_known(void *arg, const char *id)
{
	known_arg *k = arg;
	bool found = false;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	if (!stix_id_valid(id, "marking-definition") || !store_may_hold(k->st, id))
		return false;
	store_find_versions(k->st, &id, 1, found_one, &found, &ctx);
	return found;
}

/* The policy's answer and, when it allows, the store's; *why says why
 * not. */
static rk_err decide_and_store(store *st, const directory *dir,
			       const unsigned char key_bytes[ANON_KEY_BYTES], const item_copy *c,
			       bool *stored, char *why, size_t why_len, rk_errctx *ctx)
{
	const dir_user *user = dir_find_user(dir, c->user);
	const dir_org *org = dir_find_org(dir, c->org);
	const dir_collection *col = dir_find_collection(dir, c->collection);
	const dir_community *com = col ? dir_find_community(dir, col->community) : NULL;
	json_t *obj = NULL, *pseud = NULL;
	policy_audience aud = {0}, paud = {0}, stored_aud = {0};
	char *key = NULL, *pkey = NULL;
	stored_facts sf = {.dir = dir, .collection = c->collection, .st = st};
	stix_info info, pinfo;
	unsigned flags = 0, pflags = 0;
	rk_errctx octx;
	rk_err rc = RK_OK;

	*stored = false;
	rk_errctx_clear(&octx);
	if (!user || !org || strcmp(user->org, org->id) != 0) {
		snprintf(why, why_len, "the submitting user '%s' is no longer a user of '%s'",
			 c->user, c->org);
		return RK_OK;
	}
	if (!col || !com) {
		snprintf(why, why_len, "collection %s no longer exists", c->collection);
		return RK_OK;
	}
	if (!c->object || rk_json_parse(c->object, strlen(c->object), RK_MAX_JSON_DEPTH, &obj,
					&octx) ||
	    stix_validate_object(obj, "object", NULL, &octx) ||
	    stix_object_info(obj, &info, &octx)) {
		if (octx.code == RK_ENOMEM) {
			rc = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
			goto out;
		}
		rk_errctx_format(&octx, why, why_len);
		goto out;
	}
	known_arg ka = {st};
	policy_audience_src src = {.dir = dir, .collection = col, .owner = org->id,
				   .marking_known = marking_known, .marking_arg = &ka};
	if (policy_audience_of(&src, obj, "object", &aud, &flags, &octx) != RK_OK) {
		rk_errctx_format(&octx, why, why_len);
		goto out;
	}
	if (store_may_hold(st, info.id) &&
	    (rc = store_find_versions(st, &info.id, 1, note_stored, &sf, ctx)))
		goto out;
	if (sf.elsewhere_key && policy_audience_parse(sf.elsewhere_key, &stored_aud, &octx)) {
		sf.elsewhere = NULL; /* unreadable: the store's rule still holds */
	}
	/* the pseudonym speaks for the organisation (and only it: any other
	 * creator is judged as it stands) */
	char pseud_id[RK_MAX_STIX_ID + 1];
	anon_pseudonym(key_bytes, org->id, com->id, pseud_id);
	stix_info as_org = info;
	if (as_org.created_by_ref && strcmp(as_org.created_by_ref, pseud_id) == 0)
		as_org.created_by_ref = org->identity_id;
	policy_subject subj = policy_subject_of(dir, user);
	policy_resource res = {.community = com, .collection = col, .object = &as_org,
			       .audience = &aud, .owner_org = sf.any ? sf.owner : NULL,
			       .stored_in = sf.elsewhere,
			       .stored_audience = sf.elsewhere ? &stored_aud : NULL};
	policy_decision d = policy_decide(dir, &subj, POLICY_WRITE_OBJECT, &res);
	if (!d.allow) {
		snprintf(why, why_len, "%s", d.reason[0] ? d.reason : "not permitted");
		goto out;
	}
	key = policy_audience_key(&aud);
	const char *pid = info.created_by_ref;
	if (pid && strcmp(pid, pseud_id) == 0) {
		pseud = anon_pseudonym_identity(pid);
		if (!pseud || stix_object_info(pseud, &pinfo, &octx) ||
		    policy_audience_of(&src, pseud, "pseudonym", &paud, &pflags, &octx) ||
		    !(pkey = policy_audience_key(&paud))) {
			json_decref(pseud);
			pseud = NULL;
		}
	}
	if (!key) {
		rc = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	store_put_item items[2] = {{.object = obj, .info = info, .audience = key,
				    .flags = flags}};
	store_put_result results[2];
	size_t n = 1;
	if (pseud)
		items[n++] = (store_put_item){.object = pseud, .info = pinfo, .audience = pkey,
					      .flags = pflags};
	if ((rc = store_put(st, col->id, org->id, items, n, results, ctx)))
		goto out;
	if (results[0].outcome == STORE_PUT_REJECTED) {
		snprintf(why, why_len, "%s", results[0].message);
		goto out;
	}
	*stored = true;
out:
	policy_audience_cleanup(&aud);
	policy_audience_cleanup(&paud);
	policy_audience_cleanup(&stored_aud);
	free(sf.elsewhere_key);
	free(key);
	free(pkey);
	json_decref(pseud);
	json_decref(obj);
	return rc;
}

rk_err anon_review_approve(anon_state *as, store *st, const char *id, bool *approved,
			   char *why, size_t why_len, rk_errctx *ctx)
{
	item_copy c = {0};
	directory *dir = NULL;
	bool stored = false;
	rk_err rc;

	*approved = false;
	why[0] = '\0';
	if ((rc = get_pending(as, id, &c, ctx)) || (rc = dir_load(st, &dir, ctx)) ||
	    (rc = decide_and_store(st, dir, anon_state_key(as), &c, &stored, why, why_len,
				   ctx)))
		goto out;
	if (stored) {
		if ((rc = anon_status_settle(st, c.community, c.status_id, c.posted_id, true,
					     "added after review", ctx)) ||
		    (rc = anon_state_review_decide(as, id, true, NULL, ctx)))
			goto out;
		*approved = true;
	} else {
		char msg[RK_ERRCTX_MSG + 64];
		snprintf(msg, sizeof msg, "rejected in review: %s", why);
		if ((rc = anon_status_settle(st, c.community, c.status_id, c.posted_id, false,
					     msg, ctx)) ||
		    (rc = anon_state_review_decide(as, id, false, why, ctx)))
			goto out;
	}
out:
	dir_free(dir);
	item_free(&c);
	return rc;
}

rk_err anon_review_reject(anon_state *as, store *st, const char *id, const char *reason,
			  rk_errctx *ctx)
{
	item_copy c = {0};
	char msg[RK_ERRCTX_MSG];
	rk_err rc;

	if (!reason || !*reason)
		reason = "withheld by the hub's analyst";
	snprintf(msg, sizeof msg, "rejected in review: %s", reason);
	if (!(rc = get_pending(as, id, &c, ctx)) &&
	    !(rc = anon_status_settle(st, c.community, c.status_id, c.posted_id, false, msg,
				      ctx)))
		rc = anon_state_review_decide(as, id, false, reason, ctx);
	item_free(&c);
	return rc;
}
