/*
 * fed_push.c: one push round to a partner hub.
 *
 * For each mapped collection, page by page in store seq order from the
 * partner's durable cursor:
 *
 *     store_query_rows (every version, RK_FED_PAGE rows, with JSON)
 *        -> fed_may_send: not the partner's own objects, not back to the
 *           hub they came from, policy_decide(POLICY_SEND_ONWARD,
 *           POLICY_ONWARD_PARTNER_HUB) for the partner's community and
 *           named recipients
 *        -> the stored text appended unchanged to the envelope, its
 *           digest and origin to the signer
 *     POST {"objects":[...], "x_renkei_federation":{...}}   (one request)
 *        -> the partner's status: successes sent; "owned by another
 *           organisation" held already (it came by another path);
 *           other failures refused by the partner (counted, reported)
 *     fed_cursor_set(last seq of the page)       (only after the answer)
 *
 * then the collection's tombstones after their own cursor, one DELETE
 * each. Memory is one page whatever the backlog: the envelope buffer is
 * reused, rows are never collected beyond a page. A transport error or
 * a non-2xx answer ends the round with the cursors where the partner
 * last answered; the caller backs off and retries, and the partner's
 * store answers the replayed page as duplicates.
 */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "federation.h"

/* Parsed audience classes of the current round, by store class. */
#define AUD_CACHE 64
typedef struct aud_cache {
	int64_t aud[AUD_CACHE];
	policy_audience a[AUD_CACHE];
	bool ok[AUD_CACHE];
	size_t n;
} aud_cache;

static void aud_cache_clear(aud_cache *c)
{
	for (size_t i = 0; i < c->n; i++)
		policy_audience_cleanup(&c->a[i]);
	c->n = 0;
}

static const policy_audience *aud_of(const fed_hub *h, aud_cache *c, int64_t aud)
{
	char *key = NULL;
	rk_errctx ctx;

	if (aud == 0)
		return NULL; /* not classified: nothing to decide on, stays here */
	for (size_t i = 0; i < c->n; i++)
		if (c->aud[i] == aud)
			return c->ok[i] ? &c->a[i] : NULL;
	if (c->n == AUD_CACHE)
		aud_cache_clear(c);
	rk_errctx_clear(&ctx);
	size_t i = c->n++;
	c->aud[i] = aud;
	memset(&c->a[i], 0, sizeof c->a[i]);
	c->ok[i] = store_audience_key(h->st, aud, &key, &ctx) == RK_OK &&
		   policy_audience_parse(key, &c->a[i], &ctx) == RK_OK;
	free(key);
	return c->ok[i] ? &c->a[i] : NULL;
}

bool fed_may_send(const fed_hub *h, const directory *dir, const fed_partner *p,
		  const dir_collection *col, const policy_audience *a, const char *owner_org,
		  const char *id, char *origin)
{
	const fed_partner *from;
	rk_errctx ctx;

	if (!a || !col)
		return false;
	/* It came from there. */
	if (owner_org && !strcmp(owner_org, p->org))
		return false;
	/* Where it was first published: here, or as the relaying partner's
	 * provenance says. */
	snprintf(origin, FED_KEY_B64, "%s", h->key->pk_b64);
	if (owner_org && (from = fed_partner_of_org(h->cfg, owner_org))) {
		rk_errctx_clear(&ctx);
		if (fed_provenance_get(h->state, id, origin, &ctx) != RK_OK)
			return false;
		if (!origin[0])
			snprintf(origin, FED_KEY_B64, "%s", from->public_key_b64);
	}
	if (!strcmp(origin, p->public_key_b64))
		return false;
	policy_resource res = {.collection = col,
			       .audience = a,
			       .onward = POLICY_ONWARD_PARTNER_HUB,
			       .onward_community = dir_find_community(dir, p->community),
			       .onward_recipients = (const char *const *)p->recipients,
			       .n_onward_recipients = p->n_recipients};
	return policy_decide(dir, NULL, POLICY_SEND_ONWARD, &res).allow;
}

/* One page being built. */
typedef struct page_build {
	const fed_hub *h;
	const directory *dir;
	const fed_partner *p;
	const dir_collection *col;
	aud_cache *auds;
	fed_signer signer;
	rk_buf body;
	rk_buf ids;
	size_t kept, skipped;
	bool count_only;
	uint64_t counted;
} page_build;

static rk_err on_row(void *arg, const store_row *row)
{
	page_build *b = arg;
	char origin[FED_KEY_B64];
	const policy_audience *a = aud_of(b->h, b->auds, row->aud);

	if (!fed_may_send(b->h, b->dir, b->p, b->col, a, row->owner_org, row->id, origin)) {
		b->skipped++;
		return RK_OK;
	}
	if (b->count_only) {
		b->counted++;
		return RK_OK;
	}
	if ((b->kept && rk_buf_puts(&b->body, ",")) ||
	    rk_buf_append(&b->body, row->json, row->json_len) ||
	    fed_signer_add(&b->signer, row->json, row->json_len, origin) ||
	    (b->kept && rk_buf_puts(&b->ids, "\n")) || rk_buf_puts(&b->ids, row->id))
		return RK_ENOMEM;
	b->kept++;
	return RK_OK;
}

rk_err fed_page_build(const fed_hub *h, const directory *dir, const fed_partner *p,
		      const dir_collection *col, const char *dest, uint64_t after, size_t limit,
		      rk_buf *body, rk_buf *ids, fed_page_info *info, rk_errctx *ctx)
{
	aud_cache auds = {0};
	page_build b = {.h = h, .dir = dir, .p = p, .col = col, .auds = &auds};
	store_page pg = {0};
	store_query q = {.collection_id = col->id,
			 .version = {.all = true},
			 .limit = limit ? limit : RK_FED_PAGE,
			 .after_seq = after,
			 .with_json = true};
	rk_err rc;

	memset(info, 0, sizeof *info);
	fed_signer_init(&b.signer, h->key);
	rk_buf_init(&b.body);
	rk_buf_init(&b.ids);
	if (rk_buf_puts(&b.body, "{\"objects\":[")) {
		rc = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	if ((rc = store_query_rows(h->st, &q, NULL, NULL, on_row, &b, &pg, ctx)))
		goto out;
	if (rk_buf_puts(&b.body, "]") || fed_signer_finish(&b.signer, dest, &b.body) ||
	    rk_buf_append(body, b.body.data, b.body.len) ||
	    (b.ids.len && rk_buf_append(ids, b.ids.data, b.ids.len))) {
		rc = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	info->kept = b.kept;
	info->rows = pg.count;
	info->more = pg.more;
	info->last_seq = pg.count ? pg.last_seq : after;
out:
	aud_cache_clear(&auds);
	fed_signer_cleanup(&b.signer);
	rk_buf_cleanup(&b.body);
	rk_buf_cleanup(&b.ids);
	return rc;
}

static bool is_held_already(const char *msg)
{
	return msg && strstr(msg, "owned by another organisation");
}

/* Sends the page; counts the partner's answer into r. */
static rk_err send_page(page_build *b, client_http *c, const char *root_url, const char *remote,
			fed_round *r, char *last_refusal, size_t lrlen, rk_errctx *ctx)
{
	json_t *status = NULL;
	long http = 0;
	rk_buf url;
	rk_err rc;

	rk_buf_init(&url);
	if (rk_buf_puts(&b->body, "]") || fed_signer_finish(&b->signer, remote, &b->body) ||
	    rk_buf_puts(&b->body, "}") ||
	    rk_buf_printf(&url, "%scollections/%s/objects/", root_url, remote)) {
		rk_buf_cleanup(&url);
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	}
	rc = client_http_request_text(c, "POST", url.data, b->body.data, b->body.len, &http,
				      &status, ctx);
	if (b->h->audit_sent)
		b->h->audit_sent(b->h->audit_arg, b->p, "POST", url.data, b->col->id,
				 b->ids.len ? b->ids.data : NULL, (int)http);
	rk_buf_cleanup(&url);
	if (rc)
		return rc;
	const json_t *succ = json_object_get(status, "successes");
	const json_t *fail = json_object_get(status, "failures");
	if (!json_is_object(status) || (succ && !json_is_array(succ)) ||
	    (fail && !json_is_array(fail))) {
		json_decref(status);
		return rk_fail(ctx, RK_EIO, b->p->url, "the partner's answer is not a status resource");
	}
	r->sent += json_array_size(succ);
	size_t i;
	const json_t *f;
	json_array_foreach(fail, i, f) {
		const char *msg = json_string_value(json_object_get(f, "message"));
		if (is_held_already(msg)) {
			r->held++;
		} else {
			r->refused++;
			snprintf(last_refusal, lrlen, "%s", msg ? msg : "refused without a message");
		}
	}
	json_decref(status);
	return RK_OK;
}

/* Tombstones of one collection. */
typedef struct tomb_ctx {
	const fed_hub *h;
	const directory *dir;
	const fed_partner *p;
	const dir_collection *col;
	client_http *c;
	const char *root_url;
	const char *remote;
	fed_round *r;
	uint64_t last;
	size_t seen;
	char *last_refusal;
	size_t lrlen;
	rk_errctx *ctx;
} tomb_ctx;

static rk_err on_tombstone(void *arg, const fed_tombstone *t)
{
	tomb_ctx *tc = arg;
	policy_audience a;
	rk_errctx actx;
	char origin[FED_KEY_B64];
	bool go;

	tc->seen++;
	rk_errctx_clear(&actx);
	memset(&a, 0, sizeof a);
	go = t->audience[0] && policy_audience_parse(t->audience, &a, &actx) == RK_OK &&
	     fed_may_send(tc->h, tc->dir, tc->p, tc->col, &a, t->owner[0] ? t->owner : NULL,
			  t->id, origin);
	policy_audience_cleanup(&a);
	if (go) {
		rk_buf url;
		json_t *resp = NULL;
		long http = 0;
		char *esc = client_http_escape(tc->c, t->id);
		rk_buf_init(&url);
		if (!esc || rk_buf_printf(&url, "%scollections/%s/objects/%s/", tc->root_url,
					  tc->remote, esc)) {
			free(esc);
			rk_buf_cleanup(&url);
			return rk_fail(tc->ctx, RK_ENOMEM, NULL, "out of memory");
		}
		free(esc);
		rk_err rc = client_http_request(tc->c, "DELETE", url.data, NULL, &http, &resp,
						tc->ctx);
		json_decref(resp);
		if (tc->h->audit_sent)
			tc->h->audit_sent(tc->h->audit_arg, tc->p, "DELETE", url.data,
					  tc->col->id, t->id, (int)http);
		rk_buf_cleanup(&url);
		if (rc == RK_OK) {
			tc->r->deleted++;
		} else if (http == 404) {
			/* it never got there, or is gone already */
		} else if (http == 403) {
			tc->r->refused++;
			snprintf(tc->last_refusal, tc->lrlen, "deletion of %s: %s", t->id,
				 tc->ctx->msg);
			fed_status_delta d = {.refused_by_partner = 1,
					      .reject_msg = tc->last_refusal};
			rk_errctx nctx;
			rk_errctx_clear(&nctx);
			fed_status_note(tc->h->state, tc->p->name, &d, &nctx);
		} else {
			return rc;
		}
		rk_errctx_clear(tc->ctx);
	}
	tc->last = t->seq;
	return fed_cursor_set(tc->h->state, tc->p->name, tc->col->id, "tomb", t->seq, tc->ctx);
}

static rk_err push_collection(const fed_hub *h, const directory *dir, const fed_partner *p,
			      const fed_map *m, client_http *c, const char *root_url,
			      atomic_int *stop, fed_round *r, aud_cache *auds,
			      char *last_refusal, size_t lrlen, rk_errctx *ctx)
{
	const dir_collection *col = dir_find_collection(dir, m->local);
	uint64_t cursor = 0;
	rk_err rc;
	page_build b = {.h = h, .dir = dir, .p = p, .col = col, .auds = auds};

	if (!col)
		return rk_fail(ctx, RK_ECONFIG, m->local, "no such collection in the directory");
	if ((rc = fed_cursor_get(h->state, p->name, col->id, "push", &cursor, ctx)))
		return rc;
	fed_signer_init(&b.signer, h->key);
	rk_buf_init(&b.body);
	rk_buf_init(&b.ids);
	for (;;) {
		store_page pg = {0};
		store_query q = {.collection_id = col->id,
				 .version = {.all = true},
				 .limit = h->page ? h->page : RK_FED_PAGE,
				 .after_seq = cursor,
				 .with_json = true};
		if (stop && atomic_load(stop)) {
			r->more = true;
			break;
		}
		fed_signer_reset(&b.signer);
		rk_buf_reset(&b.body);
		rk_buf_reset(&b.ids);
		b.kept = 0;
		if (rk_buf_puts(&b.body, "{\"objects\":[")) {
			rc = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
			break;
		}
		if ((rc = store_query_rows(h->st, &q, NULL, NULL, on_row, &b, &pg, ctx)))
			break;
		if (!pg.count)
			break;
		if (b.kept) {
			fed_round before = *r;
			rk_errctx nctx;
			if ((rc = send_page(&b, c, root_url, m->remote, r, last_refusal, lrlen,
					    ctx)))
				break;
			/* counted as each page is answered, so that a round cut
			 * short still shows what it sent */
			fed_status_delta d = {.sent = r->sent - before.sent,
					      .held_already = r->held - before.held,
					      .refused_by_partner = r->refused - before.refused,
					      .reject_msg = r->refused > before.refused ? last_refusal
											  : NULL};
			rk_errctx_clear(&nctx);
			fed_status_note(h->state, p->name, &d, &nctx);
		}
		r->pages++;
		cursor = pg.last_seq;
		if ((rc = fed_cursor_set(h->state, p->name, col->id, "push", cursor, ctx)))
			break;
		if (!pg.more)
			break;
	}
	r->skipped += b.skipped;
	fed_signer_cleanup(&b.signer);
	rk_buf_cleanup(&b.body);
	rk_buf_cleanup(&b.ids);
	if (rc || (stop && atomic_load(stop)))
		return rc;

	/* Deletions after their own cursor. */
	tomb_ctx tc = {.h = h, .dir = dir, .p = p, .col = col, .c = c, .root_url = root_url,
		       .remote = m->remote, .r = r, .last_refusal = last_refusal,
		       .lrlen = lrlen, .ctx = ctx};
	if ((rc = fed_cursor_get(h->state, p->name, col->id, "tomb", &tc.last, ctx)))
		return rc;
	do {
		tc.seen = 0;
		rc = fed_tombstones_after(h->state, col->id, tc.last, RK_FED_TOMBSTONE_PAGE,
					  on_tombstone, &tc, ctx);
	} while (!rc && tc.seen == RK_FED_TOMBSTONE_PAGE && !(stop && atomic_load(stop)));
	return rc;
}

rk_err fed_push_round(const fed_hub *h, const directory *dir, const fed_partner *p,
		      atomic_int *stop, fed_round *out, rk_errctx *ctx)
{
	client_http *c = NULL;
	char *root_url = NULL;
	aud_cache auds = {0};
	char last_refusal[256] = "";
	rk_errctx nctx;
	rk_err rc;
	client_remote rem = {.url = p->url,
			     .token = p->token,
			     .root = p->root,
			     .cacert = p->cacert,
			     .timeout_seconds = p->timeout,
			     .connect_timeout_seconds = p->timeout < 15 ? p->timeout : 15};

	memset(out, 0, sizeof *out);
	if ((rc = client_http_new(&rem, &c, ctx)) || (rc = client_http_root_url(c, &root_url, ctx)))
		goto out;
	for (size_t i = 0; !rc && i < p->n_maps; i++)
		rc = push_collection(h, dir, p, &p->maps[i], c, root_url, stop, out, &auds,
				     last_refusal, sizeof last_refusal, ctx);
out:
	aud_cache_clear(&auds);
	free(root_url);
	client_http_free(c);
	char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG] = "";
	if (rc)
		rk_errctx_format(ctx, msg, sizeof msg);
	fed_status_delta d = {.attempt = true,
			      .success = rc == RK_OK,
			      .error = rc != RK_OK,
			      .error_msg = rc ? msg : NULL,
			      .deleted_sent = out->deleted,
			      .set_backlog = rc == RK_OK && !out->more,
			      .backlog = 0};
	rk_errctx_clear(&nctx);
	fed_status_note(h->state, p->name, &d, &nctx);
	return rc;
}

rk_err fed_push_backlog(const fed_hub *h, const directory *dir, const fed_partner *p,
			uint64_t cap, uint64_t *out, rk_errctx *ctx)
{
	aud_cache auds = {0};
	rk_err rc = RK_OK;

	*out = 0;
	for (size_t i = 0; !rc && i < p->n_maps; i++) {
		const dir_collection *col = dir_find_collection(dir, p->maps[i].local);
		uint64_t cursor = 0, scanned = 0;
		page_build b = {.h = h, .dir = dir, .p = p, .col = col, .auds = &auds,
				.count_only = true};
		if (!col)
			continue;
		if ((rc = fed_cursor_get(h->state, p->name, col->id, "push", &cursor, ctx)))
			break;
		while (scanned < cap) {
			store_page pg = {0};
			store_query q = {.collection_id = col->id, .version = {.all = true},
					 .limit = RK_FED_PAGE, .after_seq = cursor, .with_json = false};
			if ((rc = store_query_rows(h->st, &q, NULL, NULL, on_row, &b, &pg, ctx)) ||
			    !pg.count)
				break;
			scanned += pg.count;
			cursor = pg.last_seq;
			if (!pg.more)
				break;
		}
		*out += b.counted;
	}
	aud_cache_clear(&auds);
	return rc;
}
