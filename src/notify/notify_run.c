/*
 * notify_run.c: the notification engine, one thread in the hub.
 *
 * Each step (every scan_ms, default 500 ms):
 *
 *   1. reload  the directory and the approved assets when their version
 *              counters moved (as the hub's directory poller does);
 *   2. scan    every collection from its cursor in notify.db: store rows
 *              (every version) in seq order, a page at a time; for each
 *              row the observables of the object and of what it refers to
 *              (a sighting's indicator and observed data, an observed
 *              data's objects, read with store_find_versions), the
 *              organisations whose approved assets they touch, and for
 *              each organisation policy_decide(POLICY_SEND_ONWARD,
 *              POLICY_ONWARD_NOTIFY): the object must be allowed, and so
 *              must the referenced object whose value touched the asset.
 *              Allowed: one notification (org, object version, asset)
 *              with its content (notify_view of the object and of that
 *              referenced object; other references only when allowed too)
 *              and a queued delivery per configured channel. A page's
 *              notifications and the cursor move are one transaction.
 *   3. deliver webhooks that are due, one POST each; digests whose
 *              interval has passed, one mail per organisation listing
 *              every due notification. Failures back off exponentially
 *              (retry_initial doubled per attempt up to retry_max) until
 *              max_attempts, then the delivery is failed. Each attempt
 *              leaves an audit record naming the object ids it revealed.
 *
 * The request path never waits for any of this: objects are found from
 * the store afterwards, and the engine holds no lock a request takes. A
 * stop waits for the step in hand (a delivery finishes or times out).
 *
 * Confidentiality: nothing is written for an organisation the decision
 * refuses, so a refused object leaves no notification, delivery, count or
 * audit record for it, and the organisation's collection, status and
 * digests cannot show it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "notify_int.h"
#include "policy.h"

#define SCAN_PAGE 200
#define DUE_BATCH 50
#define DIGEST_MAX 1000
#define MAX_TOUCHES 64
#define AUD_MEMO_MAX 4096

typedef struct aud_memo {
	int64_t aud;
	policy_audience a;
	bool ok;
} aud_memo;

struct notify_engine {
	char *data_dir;
	store *st;
	audit *audit;
	const notify_config *cfg;
	unsigned scan_ms;
	notify_db *db;
	assets_db *adb;
	assets_snapshot *snap;
	directory *dir;
	aud_memo *memo;
	size_t n_memo;
	pthread_t th;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool stopping;
};

/* ---------------------------------------------------------------- policy */

static const policy_audience *audience(notify_engine *e, int64_t aud)
{
	for (size_t i = 0; i < e->n_memo; i++)
		if (e->memo[i].aud == aud)
			return e->memo[i].ok ? &e->memo[i].a : NULL;
	if (e->n_memo >= AUD_MEMO_MAX) {
		for (size_t i = 0; i < e->n_memo; i++)
			policy_audience_cleanup(&e->memo[i].a);
		e->n_memo = 0;
	}
	if (!e->memo && !(e->memo = calloc(AUD_MEMO_MAX, sizeof *e->memo)))
		return NULL;
	aud_memo *m = &e->memo[e->n_memo++];
	char *key = NULL;
	memset(m, 0, sizeof *m);
	m->aud = aud;
	m->ok = aud > 0 && store_audience_key(e->st, aud, &key, NULL) == RK_OK &&
		policy_audience_parse(key, &m->a, NULL) == RK_OK;
	free(key);
	return m->ok ? &m->a : NULL;
}

/* May the organisation be told about the object stored in collection
 * `coll` with audience class `aud`? (docs/confidentiality.md, onward (d)) */
static bool may_tell(notify_engine *e, const char *coll, int64_t aud, const dir_org *org)
{
	const dir_collection *c = dir_find_collection(e->dir, coll);
	const policy_audience *a = c ? audience(e, aud) : NULL;
	if (!a || !org)
		return false;
	policy_resource res = {
		.community = dir_find_community(e->dir, c->community),
		.collection = c,
		.audience = a,
		.onward = POLICY_ONWARD_NOTIFY,
		.onward_org = org,
	};
	policy_subject nobody = policy_subject_of(e->dir, NULL);
	return policy_decide(e->dir, &nobody, POLICY_SEND_ONWARD, &res).allow;
}

/* ---------------------------------------------------------------- rows */

typedef struct row_copy {
	uint64_t seq;
	int64_t aud;
	char *collection;
	char *id;
	char *version;
	char *json;
	char *owner;
	rk_time version_time;
} row_copy;

static void row_free(row_copy *r)
{
	free(r->collection);
	free(r->id);
	free(r->version);
	free(r->json);
	free(r->owner);
	memset(r, 0, sizeof *r);
}

static rk_err row_dup(const store_row *s, row_copy *r)
{
	memset(r, 0, sizeof *r);
	r->seq = s->seq;
	r->aud = s->aud;
	r->version_time = s->version_time;
	r->collection = strdup(s->collection_id ? s->collection_id : "");
	r->id = strdup(s->id ? s->id : "");
	r->version = strdup(s->version ? s->version : "");
	r->owner = strdup(s->owner_org ? s->owner_org : "");
	if (s->json) {
		if ((r->json = malloc(s->json_len + 1))) {
			memcpy(r->json, s->json, s->json_len);
			r->json[s->json_len] = '\0';
		}
	}
	if (!r->collection || !r->id || !r->version || !r->owner || (s->json && !r->json)) {
		row_free(r);
		return RK_ENOMEM;
	}
	return RK_OK;
}

typedef struct page_acc {
	row_copy *v;
	size_t n, cap;
	const char *collection;
} page_acc;

static rk_err page_add(void *arg, const store_row *row)
{
	page_acc *p = arg;
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : SCAN_PAGE;
		row_copy *v = realloc(p->v, cap * sizeof *v);
		if (!v)
			return RK_ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	rk_err err = row_dup(row, &p->v[p->n]);
	if (!err && !row->collection_id) {
		free(p->v[p->n].collection);
		if (!(p->v[p->n].collection = strdup(p->collection)))
			err = RK_ENOMEM;
	}
	if (!err)
		p->n++;
	return err;
}

/* The referenced objects of a row: the latest stored version of each. */
typedef struct ref_obj {
	row_copy row;
	json_t *obj;
	int parent; /* index of the ref that referred to it; -1: the row itself */
} ref_obj;

typedef struct ref_set {
	ref_obj v[NOTIFY_MAX_REFS];
	size_t n;
	int parent;
	notify_engine *e;
} ref_set;

static rk_err latest_version(void *arg, const store_row *row)
{
	row_copy *best = arg;
	if (best->id && best->version_time >= row->version_time)
		return RK_OK;
	row_free(best);
	return row_dup(row, best);
}

static void add_ref(void *arg, const char *id)
{
	ref_set *rs = arg;
	if (rs->n >= NOTIFY_MAX_REFS)
		return;
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->v[i].row.id, id) == 0)
			return;
	ref_obj *r = &rs->v[rs->n];
	memset(r, 0, sizeof *r);
	const char *ids[1] = {id};
	if (!store_may_hold(rs->e->st, id) ||
	    store_find_versions(rs->e->st, ids, 1, latest_version, &r->row, NULL) != RK_OK ||
	    !r->row.id || !r->row.json || !(r->obj = json_loads(r->row.json, 0, NULL))) {
		row_free(&r->row);
		return;
	}
	r->parent = rs->parent;
	rs->n++;
}

static void refs_free(ref_set *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		row_free(&rs->v[i].row);
		json_decref(rs->v[i].obj);
	}
	rs->n = 0;
}

/* What a view of the object may name: references the organisation may be
 * told about. */
typedef struct view_ctx {
	notify_engine *e;
	ref_set *refs;
	const dir_org *org;
} view_ctx;

static bool ref_allowed(notify_engine *e, ref_set *rs, size_t i, const dir_org *org)
{
	/* the whole chain: a ref found through another needs that one too */
	for (int k = (int)i; k >= 0; k = rs->v[k].parent)
		if (!may_tell(e, rs->v[k].row.collection, rs->v[k].row.aud, org))
			return false;
	return true;
}

static bool view_ref_ok(void *arg, const char *id)
{
	view_ctx *v = arg;
	for (size_t i = 0; i < v->refs->n; i++)
		if (strcmp(v->refs->v[i].row.id, id) == 0)
			return ref_allowed(v->e, v->refs, i, v->org);
	return false; /* not stored here, or not read: not named */
}

static const char *version_of(const json_t *obj, const row_copy *row)
{
	const char *v = json_string_value(json_object_get(obj, "modified"));
	if (!v)
		v = json_string_value(json_object_get(obj, "created"));
	return v ? v : row->version;
}

static unsigned channels_of(notify_engine *e, const char *org)
{
	const notify_org_config *oc = notify_config_org(e->cfg, org);
	unsigned ch = 0;
	if (oc && oc->webhook_url)
		ch |= 1u << NOTIFY_CH_WEBHOOK;
	if (oc && oc->n_emails)
		ch |= 1u << NOTIFY_CH_EMAIL;
	return ch;
}

/* One touch: the organisation, its claim, the observable, and which ref
 * (-1: the object itself) carried it. */
static rk_err record_touch(notify_engine *e, const row_copy *row, const json_t *obj,
			   ref_set *refs, const notify_touch *t, int via, size_t *made,
			   rk_errctx *ctx)
{
	const dir_org *org = dir_find_org(e->dir, t->org);
	/* An organisation's own objects (its sensors' sightings of its own
	 * networks) tell it nothing new. */
	if (!org || strcmp(row->owner, org->id) == 0 ||
	    !may_tell(e, row->collection, row->aud, org))
		return RK_OK;
	if (via >= 0 && !ref_allowed(e, refs, (size_t)via, org))
		return RK_OK;
	view_ctx vc = {e, refs, org};
	json_t *content = json_array();
	json_t *view = notify_view(obj, view_ref_ok, &vc);
	if (!content || !view || json_array_append_new(content, view)) {
		json_decref(content);
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	}
	for (int k = via; k >= 0; k = refs->v[k].parent) {
		json_t *rv = notify_view(refs->v[k].obj, view_ref_ok, &vc);
		if (!rv || json_array_append_new(content, rv)) {
			json_decref(content);
			return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		}
	}
	char *text = rk_json_dump(content);
	json_decref(content);
	if (!text)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	notify_record n = {
		.org = org->id,
		.object_id = row->id,
		.object_type = json_string_value(json_object_get(obj, "type")),
		.object_version = version_of(obj, row),
		.collection = row->collection,
		.asset = t->claim->value.text,
		.obs_kind = notify_obs_kind_name(t->obs->kind),
		.obs_value = t->obs->value,
		.content = text,
		.created = rk_time_now(),
	};
	if (!n.object_type)
		n.object_type = "";
	int64_t id = 0;
	rk_err err = notify_db_add(e->db, &n, channels_of(e, org->id), &id, ctx);
	if (!err && id)
		(*made)++;
	free(text);
	return err;
}

static rk_err process_row(notify_engine *e, const row_copy *row, size_t *made, rk_errctx *ctx)
{
	json_t *obj = NULL;
	notify_obs_list own = {0};
	ref_set *refs = NULL;
	notify_touch t[MAX_TOUCHES];
	rk_err err = RK_OK;

	if (!row->json || !(obj = json_loads(row->json, 0, NULL)))
		return RK_OK;
	if (!(refs = calloc(1, sizeof *refs))) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	/* References first (views name only those the organisation may be
	 * told about): a sighting's indicator and observed data, and the
	 * objects of that observed data (two levels, NOTIFY_MAX_REFS). */
	refs->e = e;
	refs->parent = -1;
	notify_refs_of(obj, add_ref, refs);
	size_t first = refs->n;
	for (size_t i = 0; i < first; i++) {
		refs->parent = (int)i;
		notify_refs_of(refs->v[i].obj, add_ref, refs);
	}
	if ((err = notify_observables(obj, &own)))
		goto out;
	size_t n = notify_touches(e->snap, &own, t, MAX_TOUCHES);
	for (size_t i = 0; !err && i < n; i++)
		err = record_touch(e, row, obj, refs, &t[i], -1, made, ctx);
	for (size_t i = 0; !err && i < refs->n; i++) {
		notify_obs_list ro = {0};
		if (notify_observables(refs->v[i].obj, &ro) == RK_OK) {
			size_t k = notify_touches(e->snap, &ro, t, MAX_TOUCHES);
			for (size_t j = 0; !err && j < k; j++)
				err = record_touch(e, row, obj, refs, &t[j], (int)i, made, ctx);
		}
		notify_obs_list_cleanup(&ro);
	}
out:
	if (refs) {
		refs_free(refs);
		free(refs);
	}
	notify_obs_list_cleanup(&own);
	json_decref(obj);
	return err;
}

static rk_err scan_collection(notify_engine *e, const dir_collection *c, size_t *made,
			      rk_errctx *ctx)
{
	uint64_t cursor = 0;
	rk_err err = notify_db_cursor(e->db, c->id, &cursor, ctx);
	size_t claims = 0;
	assets_snapshot_claims(e->snap, &claims);
	while (!err) {
		page_acc p = {.collection = c->id};
		store_page page;
		memset(&page, 0, sizeof page);
		store_query q = {
			.collection_id = c->id,
			.version = {.all = true},
			.limit = SCAN_PAGE,
			.after_seq = cursor,
			/* without approved assets nothing can match: the cursor
			 * moves over the rows' facts only */
			.with_json = claims > 0,
		};
		err = store_query_rows(e->st, &q, NULL, NULL, page_add, &p, &page, ctx);
		if (!err && p.n) {
			if (!(err = notify_db_begin(e->db, ctx))) {
				for (size_t i = 0; !err && i < p.n; i++)
					err = process_row(e, &p.v[i], made, ctx);
				if (!err)
					err = notify_db_set_cursor(e->db, c->id, p.v[p.n - 1].seq, ctx);
				err = notify_db_end(e->db, err, ctx);
			}
			if (!err)
				cursor = p.v[p.n - 1].seq;
		}
		for (size_t i = 0; i < p.n; i++)
			row_free(&p.v[i]);
		free(p.v);
		if (err || !page.more || !p.n)
			break;
	}
	return err;
}

/* ---------------------------------------------------------------- deliver */

static rk_time backoff_next(const notify_config *cfg, unsigned attempts, rk_time now)
{
	/* attempts counts those made before this failure */
	if (attempts + 1 >= cfg->max_attempts)
		return 0;
	uint64_t s = cfg->retry_initial_seconds;
	for (unsigned i = 0; i < attempts && s < cfg->retry_max_seconds; i++)
		s *= 2;
	if (s > cfg->retry_max_seconds)
		s = cfg->retry_max_seconds;
	return now + (rk_time)s * 1000000;
}

/* The ids a notification's content reveals. */
static void content_ids(const char *content, audit_ids *ids)
{
	json_t *a = json_loads(content, 0, NULL);
	for (size_t i = 0; i < json_array_size(a); i++) {
		const char *id = json_string_value(json_object_get(json_array_get(a, i), "id"));
		if (id)
			audit_ids_add(ids, id);
	}
	json_decref(a);
}

static void audit_delivery(notify_engine *e, const char *org, notify_channel ch,
			   audit_ids *ids, bool ok, const char *error)
{
	char route[64], outcome[300];
	if (!e->audit)
		return;
	snprintf(route, sizeof route, "/notify/%s", notify_channel_name(ch));
	snprintf(outcome, sizeof outcome, ok ? "delivered" : "not delivered: %s", error);
	audit_record rec = {
		.at = rk_time_now(),
		.user = "renkei-notify",
		.org = org,
		.method = "NOTIFY",
		.route = route,
		.ids = audit_ids_text(ids),
		.status = ok ? 200 : 0,
		.outcome = outcome,
	};
	audit_append(e->audit, &rec, false, NULL);
}

typedef struct hook_job {
	int64_t id;
	unsigned attempts;
	char *org;
	char *body;
	size_t len;
	audit_ids ids;
} hook_job;

typedef struct hook_acc {
	notify_engine *e;
	hook_job v[DUE_BATCH];
	size_t n;
} hook_acc;

static rk_err hook_collect(void *arg, const notify_due *d)
{
	hook_acc *h = arg;
	hook_job *j = &h->v[h->n];
	rk_buf b;
	rk_buf_init(&b);
	memset(j, 0, sizeof *j);
	audit_ids_init(&j->ids);
	j->id = d->rec.id;
	j->attempts = d->attempts;
	if (!(j->org = strdup(d->rec.org)) ||
	    notify_webhook_body(&d->rec, h->e->cfg ? h->e->cfg->hub_url : NULL, &b)) {
		free(j->org);
		rk_buf_cleanup(&b);
		return RK_ENOMEM;
	}
	j->len = b.len;
	j->body = rk_buf_take(&b);
	content_ids(d->rec.content, &j->ids);
	h->n++;
	return RK_OK;
}

static rk_err deliver_webhooks(notify_engine *e, rk_errctx *ctx)
{
	hook_acc *h = calloc(1, sizeof *h);
	rk_err err;
	if (!h)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	h->e = e;
	err = notify_db_due(e->db, NOTIFY_CH_WEBHOOK, NULL, rk_time_now(), DUE_BATCH, hook_collect,
			    h, ctx);
	/* A receiver that failed in this step is not tried again in it: a
	 * hanging one costs one timeout per step, and other organisations'
	 * deliveries go on. */
	const char *failed[DUE_BATCH];
	size_t n_failed = 0;
	for (size_t i = 0; i < h->n; i++) {
		hook_job *j = &h->v[i];
		const notify_org_config *oc = notify_config_org(e->cfg, j->org);
		char error[256] = "";
		bool ok = false, skip = false;
		for (size_t k = 0; k < n_failed; k++)
			skip |= strcmp(failed[k], j->org) == 0;
		if (!err && !skip && !e->stopping) {
			if (!oc || !oc->webhook_url)
				snprintf(error, sizeof error, "no webhook configured for %s", j->org);
			else
				ok = notify_send_webhook(oc->webhook_url, oc->secret, oc->secret_len, j->id,
							 j->body, j->len, e->cfg->timeout_seconds, error,
							 sizeof error);
			rk_time now = rk_time_now();
			if (ok)
				err = notify_db_sent(e->db, j->id, NOTIFY_CH_WEBHOOK, now, ctx);
			else
				err = notify_db_retry(e->db, j->id, NOTIFY_CH_WEBHOOK, error,
						      oc && oc->webhook_url
							      ? backoff_next(e->cfg, j->attempts, now)
							      : 0,
						      ctx);
			audit_delivery(e, j->org, NOTIFY_CH_WEBHOOK, &j->ids, ok, error);
			if (!ok)
				failed[n_failed++] = j->org;
		}
	}
	for (size_t i = 0; i < h->n; i++) {
		hook_job *j = &h->v[i];
		free(j->org);
		free(j->body);
		audit_ids_cleanup(&j->ids);
	}
	free(h);
	return err;
}

/* Digest: deep copies of due records (the callback's strings are the
 * database's). */
typedef struct mail_acc {
	notify_record *v;
	unsigned *attempts;
	size_t n, cap;
} mail_acc;

static char *sdup(const char *s)
{
	return strdup(s ? s : "");
}

static void mail_acc_free(mail_acc *m)
{
	for (size_t i = 0; i < m->n; i++) {
		notify_record *r = &m->v[i];
		free((char *)r->org);
		free((char *)r->object_id);
		free((char *)r->object_type);
		free((char *)r->object_version);
		free((char *)r->collection);
		free((char *)r->asset);
		free((char *)r->obs_kind);
		free((char *)r->obs_value);
		free((char *)r->content);
		free((char *)r->acked_by);
	}
	free(m->v);
	free(m->attempts);
}

static rk_err mail_collect(void *arg, const notify_due *d)
{
	mail_acc *m = arg;
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 32;
		notify_record *v = realloc(m->v, cap * sizeof *v);
		if (!v)
			return RK_ENOMEM;
		m->v = v;
		unsigned *a = realloc(m->attempts, cap * sizeof *a);
		if (!a)
			return RK_ENOMEM;
		m->attempts = a;
		m->cap = cap;
	}
	notify_record *r = &m->v[m->n];
	*r = d->rec;
	r->org = sdup(d->rec.org);
	r->object_id = sdup(d->rec.object_id);
	r->object_type = sdup(d->rec.object_type);
	r->object_version = sdup(d->rec.object_version);
	r->collection = sdup(d->rec.collection);
	r->asset = sdup(d->rec.asset);
	r->obs_kind = sdup(d->rec.obs_kind);
	r->obs_value = sdup(d->rec.obs_value);
	r->content = sdup(d->rec.content);
	r->acked_by = sdup(d->rec.acked_by);
	m->attempts[m->n] = d->attempts;
	m->n++;
	if (!r->org || !r->object_id || !r->object_type || !r->object_version || !r->collection ||
	    !r->asset || !r->obs_kind || !r->obs_value || !r->content || !r->acked_by)
		return RK_ENOMEM;
	return RK_OK;
}

typedef struct org_list {
	char **v;
	size_t n;
} org_list;

static void org_add(void *arg, const char *org)
{
	org_list *l = arg;
	char **v = realloc(l->v, (l->n + 1) * sizeof *v);
	if (!v)
		return;
	l->v = v;
	if ((v[l->n] = strdup(org)))
		l->n++;
}

static rk_err deliver_digest(notify_engine *e, const char *org, rk_errctx *ctx)
{
	const notify_org_config *oc = notify_config_org(e->cfg, org);
	rk_time now = rk_time_now(), window = 0;
	mail_acc m = {0};
	rk_buf mail;
	rk_err err;

	rk_buf_init(&mail);
	if ((err = notify_db_window(e->db, org, &window, ctx)))
		return err;
	if (!window && oc && oc->n_emails)
		return notify_db_set_window(e->db, org, now, ctx); /* a window opens */
	if (oc && oc->n_emails && now < window + (rk_time)oc->digest_seconds * 1000000)
		return RK_OK;
	err = notify_db_due(e->db, NOTIFY_CH_EMAIL, org, now, DIGEST_MAX, mail_collect, &m, ctx);
	if (err == RK_ENOMEM)
		rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	if (!err && m.n) {
		char error[256] = "";
		bool ok = false;
		audit_ids ids;
		audit_ids_init(&ids);
		for (size_t i = 0; i < m.n; i++)
			content_ids(m.v[i].content, &ids);
		if (!oc || !oc->n_emails) {
			snprintf(error, sizeof error, "no e-mail configured for %s", org);
		} else if ((err = notify_digest_mail(org, e->cfg->smtp_from,
						     (const char *const *)oc->emails, oc->n_emails,
						     m.v, m.n, e->cfg->hub_url, now, &mail))) {
			rk_fail(ctx, err, NULL, "out of memory");
		} else {
			ok = notify_send_mail(e->cfg, (const char *const *)oc->emails, oc->n_emails,
					      mail.data, mail.len, error, sizeof error);
		}
		now = rk_time_now();
		for (size_t i = 0; !err && i < m.n; i++)
			err = ok ? notify_db_sent(e->db, m.v[i].id, NOTIFY_CH_EMAIL, now, ctx)
				 : notify_db_retry(e->db, m.v[i].id, NOTIFY_CH_EMAIL, error,
						   oc && oc->n_emails
							   ? backoff_next(e->cfg, m.attempts[i], now)
							   : 0,
						   ctx);
		if (!err && ok)
			err = notify_db_set_window(e->db, org, now, ctx);
		if (oc && oc->n_emails)
			audit_delivery(e, org, NOTIFY_CH_EMAIL, &ids, ok, error);
		audit_ids_cleanup(&ids);
	}
	mail_acc_free(&m);
	rk_buf_cleanup(&mail);
	return err;
}

static rk_err deliver_digests(notify_engine *e, rk_errctx *ctx)
{
	org_list l = {0};
	rk_err err = notify_db_orgs_queued(e->db, NOTIFY_CH_EMAIL, org_add, &l, ctx);
	for (size_t i = 0; i < l.n; i++) {
		if (!err && !e->stopping)
			err = deliver_digest(e, l.v[i], ctx);
		free(l.v[i]);
	}
	free(l.v);
	return err;
}

/* ---------------------------------------------------------------- step */

static rk_err reload(notify_engine *e, rk_errctx *ctx)
{
	uint64_t v = 0;
	rk_err err;
	if ((err = dir_stored_version(e->st, &v, ctx)))
		return err;
	if (!e->dir || v != e->dir->version) {
		directory *d = NULL;
		if ((err = dir_load(e->st, &d, ctx)))
			return err;
		dir_free(e->dir);
		e->dir = d;
	}
	if ((err = assets_db_version(e->adb, &v, ctx)))
		return err;
	if (!e->snap || v != assets_snapshot_version(e->snap)) {
		assets_snapshot *s = NULL;
		if ((err = assets_snapshot_load(e->adb, &s, ctx)))
			return err;
		assets_snapshot_free(e->snap);
		e->snap = s;
	}
	return RK_OK;
}

rk_err notify_engine_step(notify_engine *e, size_t *made, rk_errctx *ctx)
{
	size_t n = 0;
	rk_err err = reload(e, ctx);
	for (size_t i = 0; !err && i < e->dir->n_collections && !e->stopping; i++)
		err = scan_collection(e, &e->dir->collections[i], &n, ctx);
	if (!err && e->cfg && !e->stopping)
		err = deliver_webhooks(e, ctx);
	if (!err && e->cfg && !e->stopping)
		err = deliver_digests(e, ctx);
	if (made)
		*made = n;
	return err;
}

static void *engine_main(void *arg)
{
	notify_engine *e = arg;
	pthread_mutex_lock(&e->lock);
	while (!e->stopping) {
		pthread_mutex_unlock(&e->lock);
		rk_errctx ctx;
		size_t made = 0;
		rk_errctx_clear(&ctx);
		if (notify_engine_step(e, &made, &ctx) != RK_OK) {
			char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG];
			rk_errctx_format(&ctx, msg, sizeof msg);
			rk_log(RK_LOG_WARN, "notify_step_failed", json_pack("{ss}", "error", msg));
		} else if (made) {
			rk_log(RK_LOG_INFO, "notifications_made",
			       json_pack("{sI}", "count", (json_int_t)made));
		}
		pthread_mutex_lock(&e->lock);
		if (e->stopping)
			break;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)(e->scan_ms % 1000) * 1000000L;
		until.tv_sec += e->scan_ms / 1000 + until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&e->cond, &e->lock, &until);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static void engine_free(notify_engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_memo; i++)
		policy_audience_cleanup(&e->memo[i].a);
	free(e->memo);
	assets_snapshot_free(e->snap);
	dir_free(e->dir);
	assets_db_close(e->adb);
	notify_db_close(e->db);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->cond);
	free(e->data_dir);
	free(e);
}

static rk_err engine_open(const notify_engine_opts *o, notify_engine **out, rk_errctx *ctx)
{
	notify_engine *e = calloc(1, sizeof *e);
	rk_err err;
	*out = NULL;
	if (!e)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	e->st = o->st;
	e->audit = o->audit;
	e->cfg = o->config;
	e->scan_ms = o->scan_ms ? o->scan_ms : 500;
	if (!(e->data_dir = strdup(o->data_dir))) {
		engine_free(e);
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	}
	if ((err = notify_db_open(o->data_dir, &e->db, ctx)) ||
	    (err = assets_db_open(o->data_dir, &e->adb, ctx)) || (err = reload(e, ctx))) {
		engine_free(e);
		return err;
	}
	if (e->cfg && (err = notify_config_check_orgs(e->cfg, e->dir, ctx))) {
		engine_free(e);
		return err;
	}
	*out = e;
	return RK_OK;
}

rk_err notify_engine_start(const notify_engine_opts *o, notify_engine **out, rk_errctx *ctx)
{
	notify_engine *e = NULL;
	rk_err err;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return rk_fail(ctx, RK_EIO, NULL, "cannot initialise libcurl");
	if ((err = engine_open(o, &e, ctx)))
		return err;
	if (pthread_create(&e->th, NULL, engine_main, e) != 0) {
		engine_free(e);
		return rk_fail(ctx, RK_EIO, NULL, "cannot start the notification thread");
	}
	e->started = true;
	*out = e;
	return RK_OK;
}

void notify_engine_stop(notify_engine *e)
{
	if (!e)
		return;
	if (e->started) {
		pthread_mutex_lock(&e->lock);
		atomic_store(&e->stopping, true);
		pthread_cond_signal(&e->cond);
		pthread_mutex_unlock(&e->lock);
		pthread_join(e->th, NULL);
	}
	engine_free(e);
}

notify_db *notify_engine_db(notify_engine *e)
{
	return e ? e->db : NULL;
}
