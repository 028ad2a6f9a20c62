/*
 * taxii_policy.c: between stored rows and policy_decide, for every path
 * that reads objects.
 *
 * A stored version carries its audience class (a number the store gives
 * the policy module's audience key). This file keeps the classes parsed
 * (one policy_audience per class, made once and kept for the server's
 * life: a class's key never changes), works out which classes of a
 * collection the caller may read, so that the store reads only those rows
 * (store_query.restrict_auds), and then asks policy_decide about every row
 * the store returns, with the object itself when the row says a read must
 * look inside it (references, granular markings): the store's class filter
 * only saves work, the decision per row is the one that counts.
 *
 * References (R7) are answered from the store: every stored version of the
 * id, in every collection, and policy_decide on each, with the referenced
 * object itself when its own references or granular markings may hide it
 * (so the rule applies all the way down); an id stored nowhere is visible.
 * Answers are remembered for the request; a cycle, or a chain deeper than
 * TAXII_REF_DEPTH, hides.
 *
 * At start the hub gives a class to every row stored before classes
 * existed (taxii_classify_stored), reading each object as it would have
 * at submission (its collection's default marking, its owner).
 */
#include <stdlib.h>
#include <string.h>

#include "taxii_int.h"

/* ---------------------------------------------------------------- classes */

/* One collection's classes with their counts, as store_audiences listed
 * them at `epoch` (store_audience_epoch): valid while the epoch holds. */
struct coll_classes {
	char collection[RK_UUID_BUF];
	uint64_t epoch;
	struct { int64_t aud; uint64_t n; } *v;
	size_t len, cap;
	struct coll_classes *next;
};

typedef struct aud_ent {
	int64_t aud;
	policy_audience a;
} aud_ent;

/* Under srv->aud_lock: an open-addressing table of parsed classes. */
static const policy_audience *cache_find(taxii_server *srv, int64_t aud)
{
	if (!srv->aud_cap)
		return NULL;
	for (size_t j = (size_t)aud & (srv->aud_cap - 1); srv->aud_tab[j];
	     j = (j + 1) & (srv->aud_cap - 1))
		if (srv->aud_tab[j]->aud == aud)
			return &srv->aud_tab[j]->a;
	return NULL;
}

static bool cache_put(taxii_server *srv, aud_ent *e)
{
	if ((srv->aud_n + 1) * 2 > srv->aud_cap) {
		size_t cap = srv->aud_cap ? srv->aud_cap * 2 : 64;
		aud_ent **t = calloc(cap, sizeof *t);
		if (!t)
			return false;
		for (size_t i = 0; i < srv->aud_cap; i++) {
			if (!srv->aud_tab[i])
				continue;
			size_t j = (size_t)srv->aud_tab[i]->aud & (cap - 1);
			while (t[j])
				j = (j + 1) & (cap - 1);
			t[j] = srv->aud_tab[i];
		}
		free(srv->aud_tab);
		srv->aud_tab = t;
		srv->aud_cap = cap;
	}
	size_t j = (size_t)e->aud & (srv->aud_cap - 1);
	while (srv->aud_tab[j])
		j = (j + 1) & (srv->aud_cap - 1);
	srv->aud_tab[j] = e;
	srv->aud_n++;
	return true;
}

void taxii_audiences_free(taxii_server *srv)
{
	for (size_t i = 0; i < srv->aud_cap; i++)
		if (srv->aud_tab[i]) {
			policy_audience_cleanup(&srv->aud_tab[i]->a);
			free(srv->aud_tab[i]);
		}
	free(srv->aud_tab);
	srv->aud_tab = NULL;
	srv->aud_cap = srv->aud_n = 0;
	while (srv->classes) {
		struct coll_classes *next = srv->classes->next;
		free(srv->classes->v);
		free(srv->classes);
		srv->classes = next;
	}
}

/* The parsed class aud (key: its text when the caller has it, else read
 * from the store); NULL for an unknown class or lacking memory. The
 * pointer lives as long as the server. */
static const policy_audience *audience_of(taxii_server *srv, int64_t aud, const char *key)
{
	const policy_audience *a;
	char *owned = NULL;
	rk_errctx ctx;

	if (aud <= 0)
		return NULL;
	pthread_rwlock_rdlock(&srv->aud_lock);
	a = cache_find(srv, aud);
	pthread_rwlock_unlock(&srv->aud_lock);
	if (a)
		return a;
	rk_errctx_clear(&ctx);
	if (!key && store_audience_key(srv->st, aud, &owned, &ctx) != RK_OK)
		return NULL;
	aud_ent *e = calloc(1, sizeof *e);
	if (!e || policy_audience_parse(key ? key : owned, &e->a, &ctx) != RK_OK) {
		if (e)
			policy_audience_cleanup(&e->a);
		free(e);
		free(owned);
		return NULL;
	}
	free(owned);
	e->aud = aud;
	pthread_rwlock_wrlock(&srv->aud_lock);
	if (!(a = cache_find(srv, aud))) {
		if (cache_put(srv, e)) {
			a = &e->a;
			e = NULL;
		}
	}
	pthread_rwlock_unlock(&srv->aud_lock);
	if (e) {
		policy_audience_cleanup(&e->a);
		free(e);
	}
	return a;
}

/* ---------------------------------------------------------------- readable classes */

static rk_err note_class(void *arg, int64_t aud, const char *key, uint64_t n)
{
	struct coll_classes *c = arg;
	(void)key;
	if (c->len == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		void *v = realloc(c->v, cap * sizeof *c->v);
		if (!v)
			return RK_ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->len].aud = aud;
	c->v[c->len].n = n;
	c->len++;
	return RK_OK;
}

/* A copy of the collection's classes, from the cache when the store says
 * nothing moved since. */
static rk_err classes_of(taxii_server *srv, const char *collection, struct coll_classes *out,
			 rk_errctx *ctx)
{
	uint64_t epoch = store_audience_epoch(srv->st);
	struct coll_classes *c;
	rk_err err = RK_ENOMEM;

	memset(out, 0, sizeof *out);
	pthread_rwlock_rdlock(&srv->aud_lock);
	for (c = srv->classes; c; c = c->next)
		if (strcmp(c->collection, collection) == 0)
			break;
	if (c && c->epoch == epoch && (out->v = malloc((c->len + 1) * sizeof *out->v))) {
		if (c->len)
			memcpy(out->v, c->v, c->len * sizeof *c->v);
		out->len = out->cap = c->len;
		err = RK_OK;
	}
	pthread_rwlock_unlock(&srv->aud_lock);
	if (!err)
		return RK_OK;
	if ((err = store_audiences(srv->st, collection, note_class, out, ctx))) {
		if (err == RK_ENOMEM && !ctx->code)
			rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		free(out->v);
		out->v = NULL;
		return err;
	}
	/* Keep it for the next request (a copy: out is the caller's). */
	struct coll_classes *keep = calloc(1, sizeof *keep);
	if (keep && (keep->v = malloc((out->len + 1) * sizeof *keep->v))) {
		snprintf(keep->collection, sizeof keep->collection, "%s", collection);
		keep->epoch = epoch;
		if (out->len)
			memcpy(keep->v, out->v, out->len * sizeof *out->v);
		keep->len = keep->cap = out->len;
		pthread_rwlock_wrlock(&srv->aud_lock);
		struct coll_classes **pp = &srv->classes;
		while (*pp && strcmp((*pp)->collection, collection) != 0)
			pp = &(*pp)->next;
		if (*pp) {
			keep->next = (*pp)->next;
			free((*pp)->v);
			free(*pp);
		}
		*pp = keep;
		keep = NULL;
		pthread_rwlock_unlock(&srv->aud_lock);
	}
	if (keep)
		free(keep->v);
	free(keep);
	return RK_OK;
}

rk_err taxii_readable_auds(taxii_req *r, store_query *q, int64_t **auds, rk_errctx *ctx)
{
	struct coll_classes c;
	rk_err err = classes_of(r->srv, r->collection->id, &c, ctx);

	*auds = NULL;
	if (err)
		return err;
	q->restrict_auds = true;
	q->n_auds = q->aud_rows = q->all_rows = 0;
	*auds = malloc((c.len + 1) * sizeof **auds);
	if (!*auds) {
		free(c.v);
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	}
	for (size_t i = 0; i < c.len; i++) {
		const policy_audience *a = audience_of(r->srv, c.v[i].aud, NULL);
		q->all_rows += c.v[i].n;
		if (!a)
			continue; /* an unreadable class: nobody reads it */
		policy_resource res = {.community = r->community, .collection = r->collection,
				       .audience = a};
		if (!policy_decide(r->dir, &r->subj, POLICY_READ_OBJECT, &res).allow)
			continue;
		(*auds)[q->n_auds++] = c.v[i].aud;
		q->aud_rows += c.v[i].n;
	}
	q->auds = *auds;
	/* Every class the collection holds: nothing to leave out, and the
	 * decision per row still stands behind every row served. */
	q->restrict_auds = q->n_auds < c.len;
	free(c.v);
	return RK_OK;
}

/* ---------------------------------------------------------------- references */

typedef struct ref_probe {
	taxii_req *r;
	bool any, visible;
} ref_probe;

static bool ref_visible(void *arg, const char *id);

/* Whether the caller may read this stored version of a referenced id,
 * its own references and granular markings included (R7 goes all the
 * way down: an object withheld from the reader is hidden wherever it is
 * referred to). */
static rk_err probe_version(void *arg, const store_row *row)
{
	ref_probe *p = arg;
	p->any = true;
	if (p->visible)
		return RK_OK;
	const dir_collection *col = dir_find_collection(p->r->dir, row->collection_id);
	const policy_audience *a = audience_of(p->r->srv, row->aud, NULL);
	if (!col || !a)
		return RK_OK;
	policy_resource res = {.collection = col, .audience = a};
	bool owner = p->r->subj.org && strcmp(a->owner, p->r->subj.org->id) == 0;
	json_t *obj = NULL;
	if (!owner && (row->flags & (STORE_F_REFS | STORE_F_GRANULAR))) {
		json_error_t jerr;
		if (!(obj = json_loadb(row->json, row->json_len, 0, &jerr)))
			return RK_OK;
		res.json = obj;
		res.ref_visible = ref_visible;
		res.ref_arg = p->r;
	}
	policy_decision d = policy_decide(p->r->dir, &p->r->subj, POLICY_READ_OBJECT, &res);
	json_decref(d.view);
	json_decref(obj);
	p->visible = d.allow;
	return RK_OK;
}

/* policy_ref_visible_fn: whether the caller may read some stored version
 * of `id`, or the hub stores none. A failed lookup hides, and so does a
 * reference that leads back to an object being decided (a cycle) or goes
 * deeper than TAXII_REF_DEPTH: the conservative answers. */
static bool ref_visible(void *arg, const char *id)
{
	taxii_req *r = arg;
	ref_probe p = {.r = r};
	rk_errctx ctx;
	size_t slot = r->n_refs;

	if (!id || strlen(id) > RK_MAX_STIX_ID)
		return true;
	for (size_t i = 0; i < r->n_refs; i++)
		if (strcmp(r->refs[i].id, id) == 0)
			return r->refs[i].state == TAXII_REF_VISIBLE;
	if (!store_may_hold(r->srv->st, id))
		return true; /* stored nowhere */
	if (r->ref_depth >= TAXII_REF_DEPTH)
		return false;
	if (slot < TAXII_REF_MEMO) {
		snprintf(r->refs[slot].id, sizeof r->refs[slot].id, "%s", id);
		r->refs[slot].state = TAXII_REF_DECIDING;
		r->n_refs++;
	}
	r->ref_depth++;
	rk_errctx_clear(&ctx);
	bool visible = store_find_versions(r->srv->st, &id, 1, probe_version, &p, &ctx) == RK_OK &&
		       (!p.any || p.visible);
	r->ref_depth--;
	if (slot < TAXII_REF_MEMO)
		r->refs[slot].state = visible ? TAXII_REF_VISIBLE : TAXII_REF_HIDDEN;
	return visible;
}

/* ---------------------------------------------------------------- rows */

bool taxii_row_visible(taxii_req *r, const store_row *row, json_t **view)
{
	const policy_audience *a = audience_of(r->srv, row->aud, NULL);
	policy_resource res = {.community = r->community, .collection = r->collection,
			       .audience = a};
	json_t *obj = NULL;

	*view = NULL;
	if (!a)
		return false;
	bool owner = r->subj.org && strcmp(a->owner, r->subj.org->id) == 0;
	bool inside = !owner && (row->flags & (STORE_F_REFS | STORE_F_GRANULAR));
	if (!inside) {
		/* The decision depends on the class alone: once per class. */
		for (size_t i = 0; i < r->n_decided; i++)
			if (r->decided[i].aud == row->aud)
				return r->decided[i].allow;
	}
	if (inside && row->json) {
		json_error_t jerr;
		obj = json_loadb(row->json, row->json_len, 0, &jerr);
		if (!obj)
			return false; /* stored text that does not parse: withhold */
		res.json = obj;
		res.ref_visible = ref_visible;
		res.ref_arg = r;
	}
	policy_decision d = policy_decide(r->dir, &r->subj, POLICY_READ_OBJECT, &res);
	json_decref(obj);
	*view = d.view;
	if (!inside && r->n_decided < TAXII_REF_MEMO) {
		r->decided[r->n_decided].aud = row->aud;
		r->decided[r->n_decided++].allow = d.allow;
	}
	return d.allow;
}

const policy_audience *taxii_row_audience(taxii_req *r, int64_t aud)
{
	return audience_of(r->srv, aud, NULL);
}

/* ---------------------------------------------------------------- start-up */

typedef struct classify_batch {
	taxii_server *srv;
	const directory *dir;
	uint64_t seqs[256];
	char *keys[256];
	unsigned flags[256];
	size_t n;
	rk_errctx *ctx;
} classify_batch;

static rk_err classify_row(void *arg, const store_row *row)
{
	classify_batch *b = arg;
	const dir_collection *col = dir_find_collection(b->dir, row->collection_id);
	policy_audience_src src = {.dir = b->dir, .collection = col, .owner = row->owner_org};
	policy_audience a;
	unsigned flags = 0;
	json_error_t jerr;
	rk_errctx ctx;
	json_t *obj = json_loadb(row->json, row->json_len, 0, &jerr);
	char *key = NULL;

	rk_errctx_clear(&ctx);
	if (obj && policy_audience_of(&src, obj, "", &a, &flags, &ctx) == RK_OK) {
		key = policy_audience_key(&a);
	} else {
		/* Does not meet today's submission rules (an unknown marking, a
		 * RED object without recipients): only its owner reads it. */
		policy_audience_cleanup(&a);
		memset(&a, 0, sizeof a);
		a.tlp = STIX_TLP_RED;
		a.owner = strdup(row->owner_org);
		key = a.owner ? policy_audience_key(&a) : NULL;
		rk_logf(RK_LOG_WARN, "classify",
			"%s in collection %s: %s; only its owner reads it", row->id,
			row->collection_id, ctx.msg[0] ? ctx.msg : "not a JSON object");
	}
	policy_audience_cleanup(&a);
	json_decref(obj);
	if (!key)
		return rk_fail(b->ctx, RK_ENOMEM, NULL, "out of memory classifying objects");
	b->seqs[b->n] = row->seq;
	b->keys[b->n] = key;
	b->flags[b->n] = flags;
	b->n++;
	return RK_OK;
}

rk_err taxii_classify_stored(taxii_server *srv, const directory *dir, rk_errctx *ctx)
{
	classify_batch *b = calloc(1, sizeof *b);
	size_t total = 0;
	rk_err err = RK_OK;

	if (!b)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	b->srv = srv;
	b->dir = dir;
	b->ctx = ctx;
	for (;;) {
		b->n = 0;
		err = store_unclassified(srv->st, RK_ARRAY_LEN(b->seqs), classify_row, b, ctx);
		if (!err && b->n)
			err = store_set_audiences(srv->st, b->seqs, (const char *const *)b->keys,
						  b->flags, b->n, ctx);
		for (size_t i = 0; i < b->n; i++)
			free(b->keys[i]);
		if (err || !b->n)
			break;
		total += b->n;
	}
	if (!err && total)
		rk_logf(RK_LOG_INFO, "classify", "%zu stored objects given their audience", total);
	free(b);
	return err;
}
