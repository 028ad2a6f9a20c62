/*
 * taxii_federation.c: the hub's side of federation (src/federation).
 *
 * With the `federation` option the hub loads the partner file (checked
 * against the directory), its key pair (<data>/federation.key, made on
 * the first start) and its federation state (<data>/federation.db), and
 * runs one more thread per partner it pushes to, the partner's scheduler:
 *
 *     loop until the hub stops:
 *         fed_push_round(current directory)  -> ok: wait `interval`
 *                                            -> failed: back off 1, 2, 4 ...
 *                                               RK_FED_BACKOFF_MAX_SECONDS
 *
 * A partner that is down, slow or answers garbage costs only its own
 * thread its request timeouts and back-off: the other partners' rounds go
 * on (failures are counted in the partner's status and logged). The
 * threads share the store, the audit log and federation.db (one mutex),
 * as request threads do; stopping wakes them all and joins them.
 *
 * The hub side of what partners send: an envelope POSTed by a user of
 * role partner whose organisation is a configured partner is verified
 * first (taxii_fed_verify: signature, per-object digests; an object that
 * fails is refused with the reason while its page-mates go on); after the
 * store answered, the objects relayed from a third hub get their
 * provenance (taxii_fed_received). A delete of every version of an
 * object leaves a tombstone (taxii_fed_deleted) that pushes carry onward.
 * What is sent to partners is audited like requests (one record per
 * request sent: ids, partner, status).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "taxii_int.h"

/* One scheduler thread per partner that this hub pushes to. */
typedef struct fed_worker {
	struct taxii_fed *f;
	const fed_partner *p;
	pthread_t thread;
	bool started;
} fed_worker;

struct taxii_fed {
	taxii_server *srv;
	fed_config *cfg;
	fed_key key;
	fed_state *state;
	fed_worker *workers;
	size_t n_workers;
	volatile int stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void audit_sent(void *arg, const fed_partner *p, const char *method, const char *url,
		       const char *collection, const char *ids, int status)
{
	taxii_fed *f = arg;
	rk_errctx ctx;
	char outcome[128];
	const char *path = strstr(url, "://");

	path = path ? strchr(path + 3, '/') : url;
	snprintf(outcome, sizeof outcome, "sent to partner %s", p->name);
	audit_record rec = {.at = rk_time_now(),
			    .user = "federation",
			    .org = p->org,
			    .method = method,
			    .route = path ? path : url,
			    .collection = collection,
			    .ids = ids,
			    .status = status,
			    .outcome = outcome};
	rk_errctx_clear(&ctx);
	if (f->srv->audit)
		audit_append(f->srv->audit, &rec, false, &ctx);
}

static void fed_hub_of(taxii_fed *f, fed_hub *h)
{
	*h = (fed_hub){.st = f->srv->st,
		       .state = f->state,
		       .key = &f->key,
		       .cfg = f->cfg,
		       .page = RK_FED_PAGE,
		       .audit_sent = audit_sent,
		       .audit_arg = f};
}

/* A partner's rounds: push when due, then wait for the interval (after a
 * success) or the back-off (after a failure), or until the hub stops. */
static void *scheduler(void *arg)
{
	fed_worker *w = arg;
	taxii_fed *f = w->f;
	const fed_partner *p = w->p;
	unsigned backoff = 0;
	fed_hub h;

	fed_hub_of(f, &h);
	pthread_mutex_lock(&f->lock);
	while (!f->stop) {
		fed_round r;
		rk_errctx ctx;
		char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG];
		unsigned wait_s;

		pthread_mutex_unlock(&f->lock);
		taxii_dirref *d = taxii_dirref_acquire(f->srv);
		rk_errctx_clear(&ctx);
		rk_err rc = fed_push_round(&h, d->dir, p, &f->stop, &r, &ctx);
		taxii_dirref_release(d);
		if (rc) {
			backoff = backoff ? backoff * 2 : 1;
			if (backoff > RK_FED_BACKOFF_MAX_SECONDS)
				backoff = RK_FED_BACKOFF_MAX_SECONDS;
			wait_s = backoff;
			rk_errctx_format(&ctx, msg, sizeof msg);
			rk_log(RK_LOG_WARN, "federation_push_failed",
			       json_pack("{sssssI}", "partner", p->name, "error", msg,
					 "retry_seconds", (json_int_t)backoff));
		} else {
			backoff = 0;
			wait_s = p->interval;
			if (r.sent || r.deleted || r.refused)
				rk_log(RK_LOG_INFO, "federation_pushed",
				       json_pack("{sssIsIsIsI}", "partner", p->name, "sent",
						 (json_int_t)r.sent, "deleted", (json_int_t)r.deleted,
						 "held_already", (json_int_t)r.held, "refused",
						 (json_int_t)r.refused));
		}
		pthread_mutex_lock(&f->lock);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += wait_s;
		while (!f->stop &&
		       pthread_cond_timedwait(&f->cond, &f->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

rk_err taxii_fed_start(taxii_server *srv, const directory *dir, rk_errctx *ctx)
{
	taxii_fed *f;
	rk_err rc;

	if (!srv->cfg->federation)
		return RK_OK;
	if (!(f = calloc(1, sizeof *f)))
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	f->srv = srv;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	srv->fed = f;
	if ((rc = fed_config_load(srv->cfg->federation, dir, &f->cfg, ctx)) ||
	    (rc = fed_key_load(srv->cfg->data, true, &f->key, ctx)) ||
	    (rc = fed_state_open(srv->cfg->data, false, &f->state, ctx)))
		return rc;
	f->workers = calloc(f->cfg->n_partners + 1, sizeof *f->workers);
	if (!f->workers)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < f->cfg->n_partners; i++) {
		fed_worker *w = &f->workers[f->n_workers];
		if (!f->cfg->partners[i].push)
			continue;
		w->f = f;
		w->p = &f->cfg->partners[i];
		if (pthread_create(&w->thread, NULL, scheduler, w) != 0)
			return rk_fail(ctx, RK_EIO, NULL, "cannot start a federation thread");
		w->started = true;
		f->n_workers++;
	}
	rk_log(RK_LOG_INFO, "federation",
	       json_pack("{sssIss}", "file", srv->cfg->federation, "partners",
			 (json_int_t)f->cfg->n_partners, "public_key", f->key.pk_b64));
	return RK_OK;
}

void taxii_fed_stop(taxii_server *srv)
{
	taxii_fed *f = srv ? srv->fed : NULL;

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = 1;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	for (size_t i = 0; i < f->n_workers; i++)
		if (f->workers[i].started)
			pthread_join(f->workers[i].thread, NULL);
	fed_state_close(f->state);
	fed_config_free(f->cfg);
	sodium_memzero(&f->key, sizeof f->key);
	free(f->workers);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f);
	srv->fed = NULL;
}

/* ---------------------------------------------------------------- receiving */

const fed_partner *taxii_fed_partner(const taxii_req *r)
{
	const taxii_fed *f = r->srv->fed;

	if (!f || !r->subj.user || r->subj.user->role != DIR_ROLE_PARTNER || !r->subj.org)
		return NULL;
	return fed_partner_of_org(f->cfg, r->subj.org->id);
}

rk_err taxii_fed_verify(taxii_req *r, const json_t *env, const char *body,
			const rk_json_slice *slices, size_t n_slices, size_t n,
			taxii_fed_verdict *v)
{
	const char **texts = NULL;
	size_t *lens = NULL;
	rk_err rc = RK_OK;

	memset(v, 0, sizeof *v);
	if (!(v->partner = taxii_fed_partner(r)) || !n)
		return RK_OK;
	v->ok = calloc(n, sizeof *v->ok);
	v->origins = calloc(n, sizeof *v->origins);
	if (slices && n_slices == n) {
		texts = calloc(n, sizeof *texts);
		lens = calloc(n, sizeof *lens);
	}
	if (!v->ok || !v->origins || (slices && n_slices == n && (!texts || !lens))) {
		rc = RK_ENOMEM;
		goto out;
	}
	for (size_t i = 0; texts && i < n; i++) {
		texts[i] = body + slices[i].off;
		lens[i] = slices[i].len;
	}
	rc = fed_verify(v->partner, json_object_get(env, FED_MEMBER), r->collection->id, n, texts,
			lens, v->ok, v->origins, v->why, sizeof v->why);
	for (size_t i = 0; !rc && i < n; i++)
		if (!v->ok[i])
			v->n_refused++;
	if (v->n_refused)
		rk_log(RK_LOG_WARN, "federation_rejected",
		       json_pack("{sssIss}", "partner", v->partner->name, "objects",
				 (json_int_t)v->n_refused, "reason", v->why));
out:
	free(texts);
	free(lens);
	return rc;
}

void taxii_fed_verdict_cleanup(taxii_fed_verdict *v)
{
	free(v->ok);
	free(v->origins);
	memset(v, 0, sizeof *v);
}

void taxii_fed_received(taxii_req *r, const taxii_fed_verdict *v, const char *const *ids,
			const bool *stored, size_t n, uint64_t rejected, const char *reject_msg)
{
	const char **pids = NULL, **porig = NULL;
	size_t np = 0;
	rk_errctx ctx;
	uint64_t received = 0;

	if (!v->partner)
		return;
	rk_errctx_clear(&ctx);
	pids = calloc(n ? n : 1, sizeof *pids);
	porig = calloc(n ? n : 1, sizeof *porig);
	for (size_t i = 0; i < n; i++) {
		if (!stored[i])
			continue;
		received++;
		/* Relayed from a third hub: keep where it was first published. */
		if (pids && porig && v->origins && v->origins[i] && ids[i] &&
		    strcmp(v->origins[i], v->partner->public_key_b64) != 0) {
			pids[np] = ids[i];
			porig[np++] = v->origins[i];
		}
	}
	if (np && fed_provenance_put(r->srv->fed->state, v->partner->name, pids, porig, np,
				     &ctx) != RK_OK)
		rk_log(RK_LOG_ERROR, "federation_provenance", json_pack("{ss}", "error", ctx.msg));
	free(pids);
	free(porig);
	fed_status_delta d = {.received = received,
			      .rejected = rejected,
			      .reject_msg = rejected ? reject_msg : NULL};
	rk_errctx_clear(&ctx);
	fed_status_note(r->srv->fed->state, v->partner->name, &d, &ctx);
}

void taxii_fed_deleted(taxii_req *r, const char *id, const char *owner, int64_t aud,
		       bool every_version)
{
	taxii_fed *f = r->srv->fed;
	char *key = NULL;
	rk_errctx ctx;

	if (!f || !every_version)
		return;
	rk_errctx_clear(&ctx);
	if (aud)
		store_audience_key(r->srv->st, aud, &key, &ctx);
	rk_errctx_clear(&ctx);
	if (fed_tombstone_add(f->state, r->collection->id, id, owner, key ? key : "", &ctx))
		rk_log(RK_LOG_ERROR, "federation_tombstone",
		       json_pack("{ssss}", "id", id, "error", ctx.msg));
	free(key);
}
