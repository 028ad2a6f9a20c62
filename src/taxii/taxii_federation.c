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

#include "client.h"
#include "stix.h"
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
	atomic_int stop;
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

static rk_err pull_round(taxii_fed *f, const directory *dir, const fed_partner *p,
			 fed_round *out, rk_errctx *ctx);

/* A partner's rounds: push (and pull) when due, then wait for the interval (after a
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
	while (!atomic_load(&f->stop)) {
		fed_round r;
		rk_errctx ctx;
		char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG];
		unsigned wait_s;

		pthread_mutex_unlock(&f->lock);
		taxii_dirref *d = taxii_dirref_acquire(f->srv);
		rk_errctx_clear(&ctx);
		rk_err rc = RK_OK;
		if (p->push)
			rc = fed_push_round(&h, d->dir, p, &f->stop, &r, &ctx);
		if (!rc && p->pull) {
			fed_round pr;
			rc = pull_round(f, d->dir, p, &pr, &ctx);
			r.sent += pr.sent;
			r.held += pr.held;
			r.refused += pr.refused;
			r.deleted += pr.deleted;
		}
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
		while (!atomic_load(&f->stop) &&
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
		if (!f->cfg->partners[i].push && !f->cfg->partners[i].pull)
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
	atomic_store(&f->stop, 1);
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

/* ---------------------------------------------------------------- serving a pull */

/* "S:T": the store seq and the tombstone seq a pull continues after. */
static bool parse_cursor(const char *text, uint64_t *s, uint64_t *t)
{
	char *end;
	if (!text || !*text)
		return false;
	if (text[0] < '0' || text[0] > '9')
		return false;
	*s = strtoull(text, &end, 10);
	if (*end != ':' || end[1] < '0' || end[1] > '9')
		return false;
	*t = strtoull(end + 1, &end, 10);
	return *end == '\0';
}

/* Tombstones a pull carries, filtered like the objects. */
typedef struct tomb_serve {
	taxii_req *r;
	const fed_hub *h;
	const directory *dir;
	const fed_partner *p;
	const dir_collection *col;
	rk_buf *out;
	size_t n, seen;
	uint64_t last;
} tomb_serve;

static rk_err serve_tombstone(void *arg, const fed_tombstone *t)
{
	tomb_serve *ts = arg;
	policy_audience a;
	rk_errctx ctx;
	char origin[FED_KEY_B64];

	ts->seen++;
	ts->last = t->seq;
	memset(&a, 0, sizeof a);
	rk_errctx_clear(&ctx);
	bool go = t->audience[0] && policy_audience_parse(t->audience, &a, &ctx) == RK_OK &&
		  fed_may_send(ts->h, ts->dir, ts->p, ts->col, &a, t->owner[0] ? t->owner : NULL,
			       t->id, origin);
	policy_audience_cleanup(&a);
	if (!go)
		return RK_OK;
	if ((ts->n && rk_buf_puts(ts->out, ",")) ||
	    rk_json_put_string(ts->out, t->id, strlen(t->id)))
		return RK_ENOMEM;
	taxii_audit_object(ts->r, t->id);
	ts->n++;
	return RK_OK;
}

/*
 * What a partner hub pulls: the same page a push would send it (policy,
 * loops, signature: fed_page_build), after the cursor it gives, and once
 * the objects are caught up the deletions it may hear of. Only a user of
 * role partner whose organisation is a configured partner, for a pair
 * (this collection, the partner's collection TO) listed as `collection`
 * for that partner; the page is signed for TO. The route lies outside the
 * API roots: a partner hub need not be a member of the collection's
 * community (what goes is the onward decision, not a read).
 *
 *   {"objects": [...], "x_renkei_federation": {...}, "deleted": [ids],
 *    "more": bool, "next": "S:T"}
 */
rk_err taxii_h_federation_objects(taxii_req *r)
{
	taxii_fed *f = r->srv->fed;
	const fed_partner *p = taxii_fed_partner(r);
	const fed_map *m;
	uint64_t after = 0, tafter = 0;
	fed_page_info info;
	rk_buf body, ids;
	rk_errctx ctx;
	rk_err rc;
	fed_hub h;

	if (!r->subj.user)
		return taxii_respond_error(r, 401, "authentication required", NULL, NULL);
	if (!p) {
		snprintf(r->error_msg, sizeof r->error_msg, "not a partner hub configured here");
		return taxii_respond_error(r, 403, "only a partner hub configured here may pull",
					   NULL, NULL);
	}
	/* Only the pairs in the partner file exist for the partner: anything
	 * else is the same 404, whether the collection exists or not. */
	if (!(m = fed_map_pair(p, r->path_arg[0], r->path_arg[1])) ||
	    !(r->collection = dir_find_collection(r->dir, r->path_arg[0]))) {
		snprintf(r->error_msg, sizeof r->error_msg, "collection not paired with %s for %s",
			 r->path_arg[1] ? r->path_arg[1] : "-", p->name);
		return taxii_respond_error(r, 404,
					   "this collection is not shared with that collection of "
					   "your hub",
					   NULL, NULL);
	}
	r->community = dir_find_community(r->dir, r->collection->community);
	if (r->filter.next && !parse_cursor(r->filter.next, &after, &tafter))
		return taxii_respond_error(r, 400, "next is not a federation cursor (S:T)", "next",
					   NULL);
	size_t limit = r->filter.limit && r->filter.limit < RK_FED_PAGE ? r->filter.limit
									  : RK_FED_PAGE;
	fed_hub_of(f, &h);
	rk_buf_init(&body);
	rk_buf_init(&ids);
	rk_errctx_clear(&ctx);
	rc = fed_page_build(&h, r->dir, p, r->collection, m->remote, after, limit, &body, &ids,
			    &info, &ctx);
	bool more = info.more;
	uint64_t tnext = tafter;
	if (!rc && rk_buf_puts(&body, ",\"deleted\":["))
		rc = rk_fail(&ctx, RK_ENOMEM, NULL, "out of memory");
	if (!rc && !info.more) {
		tomb_serve ts = {.r = r, .h = &h, .dir = r->dir, .p = p, .col = r->collection,
				 .out = &body, .last = tafter};
		rc = fed_tombstones_after(f->state, r->collection->id, tafter,
					  RK_FED_TOMBSTONE_PAGE, serve_tombstone, &ts, &ctx);
		tnext = ts.last;
		more = ts.seen == RK_FED_TOMBSTONE_PAGE;
	}
	if (!rc && rk_buf_printf(&body, "],\"more\":%s,\"next\":\"%llu:%llu\"}",
				 more ? "true" : "false", (unsigned long long)info.last_seq,
				 (unsigned long long)tnext))
		rc = rk_fail(&ctx, RK_ENOMEM, NULL, "out of memory");
	if (rc) {
		rk_buf_cleanup(&body);
		rk_buf_cleanup(&ids);
		return taxii_respond_errctx(r, &ctx, false);
	}
	/* every id served is in the audit record */
	for (char *id = ids.data, *nl; id && *id; id = nl ? nl + 1 : NULL) {
		nl = strchr(id, '\n');
		if (nl)
			*nl = '\0';
		taxii_audit_object(r, id);
	}
	fed_status_delta d = {.sent = info.kept};
	rk_errctx_clear(&ctx);
	fed_status_note(f->state, p->name, &d, &ctx);
	rk_buf_cleanup(&ids);
	size_t len = body.len;
	return taxii_respond(r, 200, TAXII_MEDIA_TAXII, rk_buf_take(&body), len, NULL);
}

/* ---------------------------------------------------------------- pulling */

/* The user of role partner that stands for partner p here. */
static const dir_user *partner_user(const directory *dir, const fed_partner *p)
{
	for (size_t i = 0; i < dir->n_users; i++)
		if (dir->users[i].role == DIR_ROLE_PARTNER && !strcmp(dir->users[i].org, p->org))
			return &dir->users[i];
	return NULL;
}

static const taxii_route internal_post = {"POST", "/{root}/collections/{coll}/objects/",
					  "objects_post", taxii_h_objects_post, -1, 0,
					  TAXII_MEDIA_TYPE_TAXII};
static const taxii_route internal_delete = {"DELETE",
					    "/{root}/collections/{coll}/objects/{object}/",
					    "object_delete", taxii_h_object_delete, -1, 0,
					    TAXII_MEDIA_TYPE_TAXII};

/*
 * A request the hub makes of itself as the partner's user: what a partner
 * hub pulled goes through the same ingest (validation, signature, policy,
 * store, audit) or delete as if the partner had sent it. *answer (may be
 * NULL) is the parsed answer body.
 */
static rk_err internal_request(taxii_fed *f, const directory *dir, const dir_user *u,
			       const dir_collection *col, const char *object_id, rk_buf *body,
			       int *status, json_t **answer, rk_errctx *ctx)
{
	taxii_req r;
	rk_buf uri;
	rk_err rc;

	memset(&r, 0, sizeof r);
	rk_buf_init(&uri);
	if (rk_buf_printf(&uri, "/%s/collections/%s/objects/%s%s", col->community, col->id,
			  object_id ? object_id : "", object_id ? "/" : ""))
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	r.srv = f->srv;
	r.route = object_id ? &internal_delete : &internal_post;
	r.method = object_id ? "DELETE" : "POST";
	r.uri = uri.data;
	r.path_arg[0] = col->community;
	r.path_arg[1] = col->id;
	r.path_arg[2] = (char *)object_id;
	r.dir = dir;
	r.subj = policy_subject_of(dir, u);
	r.community = dir_find_community(dir, col->community);
	r.collection = col;
	r.start = rk_time_now();
	taxii_filter_init(&r.filter);
	audit_ids_init(&r.audit_ids);
	if (body)
		r.body = *body;
	else
		rk_buf_init(&r.body);
	rc = r.route->handler(&r);
	taxii_audit_request(&r, true);
	taxii_audit_cleanup(&r);
	taxii_filter_cleanup(&r.filter);
	if (body)
		*body = r.body; /* the caller's buffer, kept */
	*status = r.status;
	if (answer) {
		*answer = NULL;
		rk_errctx pctx;
		rk_errctx_clear(&pctx);
		if (r.internal_answer && r.internal_len)
			rk_json_parse(r.internal_answer, r.internal_len, RK_MAX_JSON_DEPTH, answer,
				      &pctx);
	}
	free(r.internal_answer);
	rk_buf_cleanup(&uri);
	if (rc)
		return rk_fail(ctx, rc, NULL, "applying what was pulled: %s", rk_strerror(rc));
	return RK_OK;
}

/* What rk_json_dump writes: the canonical text digests are taken over. */
#define FED_DUMP (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)

static void count_status(const json_t *st, fed_round *out)
{
	size_t i;
	const json_t *e;
	out->sent += json_array_size(json_object_get(st, "successes"));
	json_array_foreach(json_object_get(st, "failures"), i, e) {
		const char *msg = json_string_value(json_object_get(e, "message"));
		if (msg && strstr(msg, "owned by another organisation"))
			out->held++;
		else
			out->refused++;
	}
}

/* One collection pulled from its cursors to the partner's end. */
static rk_err pull_collection(taxii_fed *f, const directory *dir, const fed_partner *p,
			      const fed_map *m, const dir_user *u, client_http *c,
			      fed_round *out, rk_errctx *ctx)
{
	const dir_collection *col = dir_find_collection(dir, m->local);
	uint64_t s = 0, t = 0;
	rk_err rc;
	rk_buf url, env;

	if (!col)
		return rk_fail(ctx, RK_ECONFIG, m->local, "no such collection in the directory");
	if ((rc = fed_cursor_get(f->state, p->name, col->id, "pull", &s, ctx)) ||
	    (rc = fed_cursor_get(f->state, p->name, col->id, "pulltomb", &t, ctx)))
		return rc;
	rk_buf_init(&url);
	rk_buf_init(&env);
	for (int guard = 0; !atomic_load(&f->stop) && guard < RK_FEED_MAX_PAGES; guard++) {
		json_t *ans = NULL;
		long http = 0;
		uint64_t ns, nt;
		char cur[48];
		snprintf(cur, sizeof cur, "%llu:%llu", (unsigned long long)s, (unsigned long long)t);
		rk_buf_reset(&url);
		if (rk_buf_printf(&url, "/renkei/federation/%s/%s/?limit=%d", m->remote, col->id,
				  RK_FED_PAGE) ||
		    client_http_add_param(c, &url, "next", cur)) {
			rc = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
			break;
		}
		if ((rc = client_http_request(c, "GET", url.data, NULL, &http, &ans, ctx)))
			break;
		const json_t *objs = json_object_get(ans, "objects");
		const json_t *del = json_object_get(ans, "deleted");
		const json_t *more = json_object_get(ans, "more");
		const char *next = json_string_value(json_object_get(ans, "next"));
		if (!json_is_object(ans) || !json_is_array(objs) || (del && !json_is_array(del)) ||
		    !json_is_boolean(more) || !parse_cursor(next, &ns, &nt) ||
		    json_array_size(objs) > RK_MAX_OBJECTS_PER_ENVELOPE ||
		    json_array_size(del) > RK_FED_TOMBSTONE_PAGE) {
			json_decref(ans);
			rc = rk_fail(ctx, RK_EIO, url.data, "the partner's answer is not a federation page");
			break;
		}
		/* the page as an envelope, objects as they came (their canonical
		 * text, which their digests cover) */
		if (json_array_size(objs)) {
			size_t i;
			const json_t *o;
			json_t *st = NULL;
			int status = 0;
			rk_buf_reset(&env);
			rc = rk_buf_puts(&env, "{\"objects\":[");
			json_array_foreach(objs, i, o) {
				if (!rc && i)
					rc = rk_buf_puts(&env, ",");
				if (!rc)
					rc = rk_json_dump_to(&env, o, FED_DUMP);
			}
			if (!rc)
				rc = rk_buf_puts(&env, "]");
			const json_t *member = json_object_get(ans, FED_MEMBER);
			if (!rc && member) {
				rc = rk_buf_puts(&env, ",\"" FED_MEMBER "\":");
				if (!rc)
					rc = rk_json_dump_to(&env, member, FED_DUMP);
			}
			if (!rc)
				rc = rk_buf_puts(&env, "}");
			if (rc) {
				json_decref(ans);
				rc = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
				break;
			}
			rc = internal_request(f, dir, u, col, NULL, &env, &status, &st, ctx);
			if (!rc && status != 202)
				rc = rk_fail(ctx, RK_EIO, NULL, "storing what was pulled: status %d: %s",
					     status,
					     st ? json_string_value(json_object_get(st, "description"))
						: "no answer");
			if (!rc)
				count_status(st, out);
			json_decref(st);
			if (rc) {
				json_decref(ans);
				break;
			}
		}
		size_t i;
		const json_t *d;
		json_array_foreach(del, i, d) {
			const char *id = json_string_value(d);
			int status = 0;
			if (!id || !stix_id_valid(id, NULL))
				continue;
			if ((rc = internal_request(f, dir, u, col, id, NULL, &status, NULL, ctx)))
				break;
			if (status == 200)
				out->deleted++;
			else if (status == 403)
				out->refused++;
		}
		bool again = json_is_true(more);
		json_decref(ans);
		if (rc)
			break;
		out->pages++;
		/* the page is on disk: the cursors may move */
		s = ns;
		t = nt;
		if ((rc = fed_cursor_set(f->state, p->name, col->id, "pull", s, ctx)) ||
		    (rc = fed_cursor_set(f->state, p->name, col->id, "pulltomb", t, ctx)))
			break;
		if (!again)
			break;
	}
	rk_buf_cleanup(&url);
	rk_buf_cleanup(&env);
	return rc;
}

/* One pull round from partner p: every mapped collection. */
static rk_err pull_round(taxii_fed *f, const directory *dir, const fed_partner *p,
			 fed_round *out, rk_errctx *ctx)
{
	client_http *c = NULL;
	rk_err rc;
	const dir_user *u = partner_user(dir, p);
	client_remote rem = {.url = p->url,
			     .token = p->token,
			     .root = p->root,
			     .cacert = p->cacert,
			     .timeout_seconds = p->timeout,
			     .connect_timeout_seconds = p->timeout < 15 ? p->timeout : 15};

	memset(out, 0, sizeof *out);
	if (!u)
		return rk_fail(ctx, RK_ECONFIG, p->org,
			       "no user of role partner in organisation %s to store what %s sends",
			       p->org, p->name);
	if ((rc = client_http_new(&rem, &c, ctx)))
		goto out;
	for (size_t i = 0; !rc && i < p->n_in_maps; i++)
		rc = pull_collection(f, dir, p, &p->in_maps[i], u, c, out, ctx);
out:
	client_http_free(c);
	char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG] = "";
	if (rc)
		rk_errctx_format(ctx, msg, sizeof msg);
	fed_status_delta d = {.attempt = true, .success = rc == RK_OK, .error = rc != RK_OK,
			      .error_msg = rc ? msg : NULL};
	rk_errctx nctx;
	rk_errctx_clear(&nctx);
	fed_status_note(f->state, p->name, &d, &nctx);
	return rc;
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
