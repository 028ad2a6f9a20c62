/*
 * export_select.c: which indicators go into an export, decided by
 * policy_decide and nothing else.
 *
 * For every collection of the directory, the store lists the last version
 * of every indicator (store_query_rows, match[version]=last, one page of
 * RK_PAGE_MAX rows after another). Each row's audience class is parsed
 * (policy_audience_parse, once per class for the run) and
 * policy_decide(POLICY_SEND_ONWARD) is asked with the export's
 * destination: POLICY_ONWARD_INTERNAL with the organisation, or
 * POLICY_ONWARD_PUBLIC. A row it refuses is never copied out of the
 * store callback; a class that does not parse is refused. An id stored in
 * several collections is exported once, as the latest version among the
 * rows allowed; if that version is revoked or expired (valid_until at or
 * before the request's `now`) the id is left out. For the hub's HTTP
 * route the request also names the user asking, and only collections
 * that user may read (POLICY_READ_COLLECTION) are walked.
 *
 * Nothing here decides who may get an object: the only extra rules
 * (revoked, expired) narrow what policy_decide allowed.
 */
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "policy.h"

typedef struct aud_memo {
	int64_t aud;
	policy_audience a;
	bool ok;
} aud_memo;

typedef struct candidate {
	char *id;
	rk_time version;
	char *json;
	size_t json_len;
} candidate;

typedef struct walk {
	const export_request *rq;
	const dir_org *org;
	const dir_community *community;
	const dir_collection *collection;
	aud_memo *memo;
	size_t n_memo, cap_memo;
	candidate *c;
	size_t n_c, cap_c;
	rk_errctx *ctx;
} walk;

static const policy_audience *audience_of(walk *w, int64_t aud)
{
	for (size_t i = 0; i < w->n_memo; i++)
		if (w->memo[i].aud == aud)
			return w->memo[i].ok ? &w->memo[i].a : NULL;
	if (w->n_memo == w->cap_memo) {
		size_t cap = w->cap_memo ? w->cap_memo * 2 : 16;
		void *v = realloc(w->memo, cap * sizeof *w->memo);
		if (!v)
			return NULL;
		w->memo = v;
		w->cap_memo = cap;
	}
	aud_memo *m = &w->memo[w->n_memo++];
	char *key = NULL;
	rk_errctx ctx;
	memset(m, 0, sizeof *m);
	m->aud = aud;
	rk_errctx_clear(&ctx);
	m->ok = aud > 0 && store_audience_key(w->rq->st, aud, &key, &ctx) == RK_OK &&
		policy_audience_parse(key, &m->a, &ctx) == RK_OK;
	free(key);
	return m->ok ? &m->a : NULL;
}

/* store_visible_fn: the onward decision for this row. */
static bool row_allowed(void *arg, const store_row *row)
{
	walk *w = arg;
	const policy_audience *a = audience_of(w, row->aud);
	if (!a)
		return false;
	policy_resource res = {
		.community = w->community,
		.collection = w->collection,
		.audience = a,
		.onward = w->org ? POLICY_ONWARD_INTERNAL : POLICY_ONWARD_PUBLIC,
		.onward_org = w->org,
	};
	policy_subject nobody = policy_subject_of(w->rq->dir, NULL);
	return policy_decide(w->rq->dir, &nobody, POLICY_SEND_ONWARD, &res).allow;
}

static rk_err keep_row(void *arg, const store_row *row)
{
	walk *w = arg;
	if (!row->json)
		return RK_OK;
	if (w->n_c == w->cap_c) {
		size_t cap = w->cap_c ? w->cap_c * 2 : 256;
		void *v = realloc(w->c, cap * sizeof *w->c);
		if (!v)
			return rk_fail(w->ctx, RK_ENOMEM, NULL, "out of memory");
		w->c = v;
		w->cap_c = cap;
	}
	candidate *c = &w->c[w->n_c];
	c->id = strdup(row->id);
	c->json = malloc(row->json_len + 1);
	if (!c->id || !c->json) {
		free(c->id);
		free(c->json);
		return rk_fail(w->ctx, RK_ENOMEM, NULL, "out of memory");
	}
	memcpy(c->json, row->json, row->json_len);
	c->json[row->json_len] = '\0';
	c->json_len = row->json_len;
	c->version = row->version_time;
	w->n_c++;
	return RK_OK;
}

/* By id, the latest version first. */
static int cmp_candidate(const void *a, const void *b)
{
	const candidate *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	if (c)
		return c;
	return x->version > y->version ? -1 : x->version < y->version;
}

/* Whether the version is still to be used at `now`; *until: its
 * valid_until, 0 when it has none. */
static bool current(const json_t *obj, rk_time now, rk_time *until)
{
	const char *text = json_string_value(json_object_get(obj, "valid_until"));
	*until = 0;
	if (json_is_true(json_object_get(obj, "revoked")))
		return false;
	if (text && rk_time_parse(text, until) && *until <= now)
		return false;
	return true;
}

rk_err export_select(const export_request *rq, export_set *s, rk_errctx *ctx)
{
	walk w = {.rq = rq, .ctx = ctx};
	static const char *const types[] = {"indicator"};
	rk_err err = RK_OK;

	if (rq->org && !(w.org = dir_find_org(rq->dir, rq->org)))
		return rk_fail(ctx, RK_ENOTFOUND, NULL,
			       "no organisation \"%s\" in the directory", rq->org);
	for (size_t i = 0; !err && i < rq->dir->n_collections; i++) {
		w.collection = &rq->dir->collections[i];
		w.community = dir_find_community(rq->dir, w.collection->community);
		if (rq->subject) {
			policy_resource cres = {.community = w.community, .collection = w.collection};
			if (!policy_decide(rq->dir, rq->subject, POLICY_READ_COLLECTION, &cres).allow)
				continue;
		}
		store_query q = {
			.collection_id = w.collection->id,
			.types = types,
			.n_types = 1,
			.version = {.last = true},
			.limit = RK_PAGE_MAX,
			.with_json = true,
		};
		store_page page;
		do {
			memset(&page, 0, sizeof page);
			err = store_query_rows(rq->st, &q, row_allowed, &w, keep_row, &w, &page, ctx);
			q.after_seq = page.last_seq;
		} while (!err && page.more && page.count);
	}
	if (!err && w.n_c)
		qsort(w.c, w.n_c, sizeof *w.c, cmp_candidate);
	for (size_t i = 0; !err && i < w.n_c; i++) {
		if (i && strcmp(w.c[i].id, w.c[i - 1].id) == 0)
			continue; /* an older version, or the same id elsewhere */
		json_error_t jerr;
		json_t *obj = json_loadb(w.c[i].json, w.c[i].json_len, 0, &jerr);
		if (!obj)
			continue; /* stored text that does not parse: withheld */
		rk_time until;
		if (current(obj, rq->now, &until)) {
			size_t before = s->n_ind;
			err = export_set_add(s, obj, ctx);
			if (!err && s->n_ind > before && until && (!s->expires || until < s->expires))
				s->expires = until;
		}
		json_decref(obj);
	}
	for (size_t i = 0; i < w.n_c; i++) {
		free(w.c[i].id);
		free(w.c[i].json);
	}
	free(w.c);
	for (size_t i = 0; i < w.n_memo; i++)
		policy_audience_cleanup(&w.memo[i].a);
	free(w.memo);
	return err;
}
