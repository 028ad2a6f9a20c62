/*
 * store.c: the engine-neutral front of the object store.
 *
 * Every public store_* function lands here first. The front parses the
 * location ("sqlite:DIR" or a plain DIR), checks arguments against the
 * bounds in limits.h, and does the per-object work that needs no lock:
 * serialising each object compactly (rk_json_dump) unless the caller
 * brought that text (the hub slices it from the request), deciding its version
 * facts, rejecting items that can never be stored. Only then does it call
 * the engine through its store_ops, so the engine's write lock covers
 * nothing but database work.
 *
 * Invariants the front guarantees to engines: strings are non-NULL; filter
 * lists hold at most RK_MAX_FILTER_VALUES entries; a query's limit is at
 * least 1; an item not marked rejected has id, type, spec_version and JSON
 * text, and a version string only together with its parsed version_time.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

struct store {
	const store_ops *ops;
	store_engine *eng;
	int found_version;
};

/* ---------------------------------------------------------------- open */

rk_err store_open(const char *location, store **out, rk_errctx *ctx)
{
	const store_ops *ops = &store_sqlite_ops;
	const char *path = location;
	store *st = NULL;
	rk_err err;

	*out = NULL;
	if (!location || !*location)
		return rk_fail(ctx, RK_ECONFIG, NULL, "store: empty location");
	if (strncmp(location, "sqlite:", 7) == 0) {
		path = location + 7;
	} else if (strncmp(location, "postgresql:", 11) == 0 ||
		   strncmp(location, "postgres:", 9) == 0) {
		return rk_fail(ctx, RK_ECONFIG, NULL,
			       "store: location \"%s\": the PostgreSQL engine is "
			       "not available in this build", location);
	}
	if (!*path)
		return rk_fail(ctx, RK_ECONFIG, NULL,
			       "store: location \"%s\" names no directory", location);

	st = calloc(1, sizeof *st);
	if (!st)
		return rk_fail(ctx, RK_ENOMEM, NULL, "store: out of memory");
	st->ops = ops;
	err = ops->open(path, &st->eng, &st->found_version, ctx);
	if (err) {
		free(st);
		return err;
	}
	*out = st;
	return RK_OK;
}

void store_close(store *st)
{
	if (!st)
		return;
	st->ops->close(st->eng);
	free(st);
}

int store_schema_version(void)
{
	return STORE_SCHEMA_VERSION;
}

int store_schema_version_found(const store *st)
{
	return st ? st->found_version : 0;
}

rk_err store_check_integrity(store *st, rk_errctx *ctx)
{
	return st->ops->check_integrity(st->eng, ctx);
}

/* ---------------------------------------------------------------- writes */

static void put_reject(store_put_result *r, const char *msg)
{
	r->outcome = STORE_PUT_REJECTED;
	r->date_added = 0;
	snprintf(r->message, sizeof r->message, "%s", msg);
}

/* Fills `it` from `in`, or marks it rejected with the reason in `r`.
 * Returns RK_ENOMEM only when serialising failed for lack of memory. */
static rk_err put_prepare(const store_put_item *in, store_item *it,
			  store_put_result *r)
{
	const stix_info *info = &in->info;

	memset(it, 0, sizeof *it);
	memset(r, 0, sizeof *r);
	it->rejected = true;
	if (!in->object || !json_is_object(in->object)) {
		put_reject(r, "not a JSON object");
		return RK_OK;
	}
	if (!info->id || !info->type || !*info->id || !*info->type) {
		put_reject(r, "object has no id or type");
		return RK_OK;
	}
	if (strlen(info->id) > RK_MAX_STIX_ID) {
		put_reject(r, "object id too long");
		return RK_OK;
	}
	size_t tl = strlen(info->type);
	if (strncmp(info->id, info->type, tl) != 0 ||
	    strncmp(info->id + tl, "--", 2) != 0) {
		put_reject(r, "");
		snprintf(r->message, sizeof r->message,
			 "id %.200s does not begin with its type", info->id);
		return RK_OK;
	}
	/* STIX 2.1 section 3.1: an SCO without spec_version is 2.1. */
	it->spec_version = info->spec_version ? info->spec_version : "2.1";
	it->id = info->id;
	it->type = info->type;
	if (info->version) {
		rk_time t = info->version_time;
		if (!rk_time_parse(info->version, &t)) {
			put_reject(r, "");
			snprintf(r->message, sizeof r->message,
				 "version \"%.200s\" is not an RFC 3339 timestamp",
				 info->version);
			return RK_OK;
		}
		it->version = info->version;
		it->version_time = t;
	}
	if (in->json) {
		it->json = in->json;
		it->json_len = in->json_len;
	} else {
		it->json = it->json_buf = rk_json_dump(in->object);
		if (!it->json)
			return RK_ENOMEM;
		it->json_len = strlen(it->json);
	}
	if (it->json_len > RK_MAX_OBJECT_BYTES) {
		free(it->json_buf);
		it->json = it->json_buf = NULL;
		put_reject(r, "object larger than the largest stored object");
		return RK_OK;
	}
	it->audience = in->audience;
	it->flags = in->flags;
	it->rejected = false;
	return RK_OK;
}

static rk_err put_common(store *st, const char *collection_id,
			 const char *owner_org, const store_put_item *items,
			 size_t n, store_put_result *results,
			 const store_status_req *status, rk_errctx *ctx)
{
	store_item *prep = NULL;
	rk_err err = RK_OK;

	if (!collection_id || !*collection_id || !owner_org || !*owner_org)
		return rk_fail(ctx, RK_EINVAL, NULL,
			       "store_put: collection and owner are required");
	if (n == 0 && !status)
		return RK_OK;
	if (n && (!items || !results))
		return rk_fail(ctx, RK_EINVAL, NULL, "store_put: no items");
	if (n && !(prep = calloc(n, sizeof *prep)))
		return rk_fail(ctx, RK_ENOMEM, NULL, "store_put: out of memory");
	for (size_t i = 0; i < n; i++) {
		if (put_prepare(&items[i], &prep[i], &results[i]) != RK_OK) {
			err = rk_fail(ctx, RK_ENOMEM, NULL,
				      "store_put: out of memory serialising objects[%zu]",
				      i);
			goto out;
		}
	}
	err = st->ops->put(st->eng, collection_id, owner_org, prep, n, results,
			   status, ctx);
out:
	for (size_t i = 0; prep && i < n; i++)
		free(prep[i].json_buf);
	free(prep);
	return err;
}

rk_err store_put(store *st, const char *collection_id, const char *owner_org,
		 const store_put_item *items, size_t n, store_put_result *results,
		 rk_errctx *ctx)
{
	return put_common(st, collection_id, owner_org, items, n, results, NULL,
			  ctx);
}

rk_err store_put_with_status(store *st, const char *collection_id,
			     const char *owner_org, const store_put_item *items,
			     size_t n, store_put_result *results,
			     const char *api_root, const char *status_id,
			     store_status_fn make_status, void *status_arg,
			     rk_errctx *ctx)
{
	if (!api_root || !status_id || !make_status)
		return rk_fail(ctx, RK_EINVAL, NULL,
			       "store_put: api root, status id and status maker "
			       "are required");
	store_status_req status = {.api_root = api_root, .status_id = status_id,
				   .make = make_status, .arg = status_arg};
	return put_common(st, collection_id, owner_org, items, n, results,
			  &status, ctx);
}

rk_err store_object_owner(store *st, const char *object_id, char **owner_out,
			  rk_errctx *ctx)
{
	*owner_out = NULL;
	if (!object_id)
		return rk_fail(ctx, RK_EINVAL, NULL, "store: no object id");
	return st->ops->object_owner(st->eng, object_id, owner_out, ctx);
}

/* ---------------------------------------------------------------- queries */

static rk_err check_list(const char *const *v, size_t n, const char *what,
			 rk_errctx *ctx)
{
	if (n > RK_MAX_FILTER_VALUES)
		return rk_fail(ctx, RK_ETOOBIG, NULL,
			       "%s: %zu values, at most %d allowed", what, n,
			       RK_MAX_FILTER_VALUES);
	if (n && !v)
		return rk_fail(ctx, RK_EINVAL, NULL, "%s: missing values", what);
	for (size_t i = 0; i < n; i++)
		if (!v[i])
			return rk_fail(ctx, RK_EINVAL, NULL, "%s: NULL value", what);
	return RK_OK;
}

static rk_err check_version(const store_version_match *v, rk_errctx *ctx)
{
	if (!v)
		return RK_OK;
	if (v->n_at > RK_MAX_FILTER_VALUES)
		return rk_fail(ctx, RK_ETOOBIG, NULL,
			       "match[version]: %zu values, at most %d allowed",
			       v->n_at, RK_MAX_FILTER_VALUES);
	if (v->n_at && !v->at)
		return rk_fail(ctx, RK_EINVAL, NULL, "match[version]: missing values");
	return RK_OK;
}

rk_err store_query_rows(store *st, const store_query *q, store_visible_fn visible,
			void *visible_arg, store_emit_fn emit, void *emit_arg,
			store_page *page, rk_errctx *ctx)
{
	store_query qq;
	rk_err err;

	memset(page, 0, sizeof *page);
	if (!q || !q->collection_id)
		return rk_fail(ctx, RK_EINVAL, NULL, "store query: no collection");
	if ((err = check_list(q->ids, q->n_ids, "match[id]", ctx)) ||
	    (err = check_list(q->types, q->n_types, "match[type]", ctx)) ||
	    (err = check_list(q->spec_versions, q->n_spec_versions,
			      "match[spec_version]", ctx)) ||
	    (err = check_version(&q->version, ctx)))
		return err;
	qq = *q;
	if (qq.limit == 0)
		qq.limit = RK_PAGE_DEFAULT;
	return st->ops->query(st->eng, &qq, visible, visible_arg, emit, emit_arg,
			      page, ctx);
}

rk_err store_delete(store *st, const char *collection_id, const char *object_id,
		    const store_version_match *version,
		    const char *const *spec_versions, size_t n_spec_versions,
		    size_t *deleted, rk_errctx *ctx)
{
	rk_err err;

	*deleted = 0;
	if (!collection_id || !object_id)
		return rk_fail(ctx, RK_EINVAL, NULL,
			       "store delete: collection and object id are required");
	if ((err = check_list(spec_versions, n_spec_versions,
			      "match[spec_version]", ctx)) ||
	    (err = check_version(version, ctx)))
		return err;
	return st->ops->del(st->eng, collection_id, object_id, version,
			    spec_versions, n_spec_versions, deleted, ctx);
}

rk_err store_count(store *st, const char *collection_id, uint64_t *out,
		   rk_errctx *ctx)
{
	*out = 0;
	return st->ops->count(st->eng, collection_id, out, ctx);
}

/* ---------------------------------------------------------------- status */

rk_err store_status_put(store *st, const char *api_root, const char *status_id,
			const json_t *status, rk_errctx *ctx)
{
	char *text;
	rk_err err;

	if (!api_root || !status_id || !status)
		return rk_fail(ctx, RK_EINVAL, NULL,
			       "store status: api root, id and document are required");
	text = rk_json_dump(status);
	if (!text)
		return rk_fail(ctx, RK_ENOMEM, NULL, "store status: out of memory");
	err = st->ops->status_put(st->eng, api_root, status_id, text, ctx);
	free(text);
	return err;
}

rk_err store_status_put_text(store *st, const char *api_root,
			     const char *status_id, const char *doc,
			     rk_errctx *ctx)
{
	if (!api_root || !status_id || !doc)
		return rk_fail(ctx, RK_EINVAL, NULL,
			       "store status: api root, id and document are required");
	return st->ops->status_put(st->eng, api_root, status_id, doc, ctx);
}

/* Parses text the store wrote itself. */
static rk_err parse_stored(const char *text, const char *what, json_t **out,
			   rk_errctx *ctx)
{
	json_error_t jerr;

	*out = json_loads(text, JSON_DECODE_ANY, &jerr);
	if (!*out)
		return rk_fail(ctx, RK_EDB, NULL,
			       "store: stored %s is not valid JSON: %s", what,
			       jerr.text);
	return RK_OK;
}

rk_err store_status_get(store *st, const char *api_root, const char *status_id,
			json_t **out, rk_errctx *ctx)
{
	char *text = NULL;
	rk_err err;

	*out = NULL;
	if (!api_root || !status_id)
		return rk_fail(ctx, RK_EINVAL, NULL,
			       "store status: api root and id are required");
	err = st->ops->status_get(st->eng, api_root, status_id, &text, ctx);
	if (err == RK_OK)
		err = parse_stored(text, "status", out, ctx);
	free(text);
	return err;
}

/* ---------------------------------------------------------------- meta */

rk_err store_meta_get(store *st, const char *name, json_t **doc_out,
		      uint64_t *version_out, rk_errctx *ctx)
{
	char *text = NULL;
	uint64_t version = 0;
	rk_err err;

	if (doc_out)
		*doc_out = NULL;
	if (version_out)
		*version_out = 0;
	if (!name)
		return rk_fail(ctx, RK_EINVAL, NULL, "store meta: no name");
	err = st->ops->meta_get(st->eng, name, doc_out ? &text : NULL, &version,
				ctx);
	if (err == RK_OK && text && doc_out)
		err = parse_stored(text, "document", doc_out, ctx);
	free(text);
	if (err == RK_OK && version_out)
		*version_out = version;
	return err;
}

rk_err store_meta_put(store *st, const char *name, const json_t *doc,
		      uint64_t *version_out, bool *changed, rk_errctx *ctx)
{
	char *canon;
	rk_buf cb;
	bool ch = false;
	uint64_t version = 0;
	rk_err err;

	if (!name || !doc)
		return rk_fail(ctx, RK_EINVAL, NULL,
			       "store meta: name and document are required");
	/* Into libc memory (rk_json_dump_to), not json_dumps: see
	 * common_arena.c. */
	rk_buf_init(&cb);
	if (rk_json_dump_to(&cb, doc, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY)) {
		rk_buf_cleanup(&cb);
		return rk_fail(ctx, RK_ENOMEM, NULL, "store meta: out of memory");
	}
	canon = rk_buf_take(&cb);
	err = st->ops->meta_put(st->eng, name, canon, &version, &ch, ctx);
	free(canon);
	if (err == RK_OK) {
		if (version_out)
			*version_out = version;
		if (changed)
			*changed = ch;
	}
	return err;
}

rk_err store_meta_version(store *st, const char *name, uint64_t *version_out,
			  rk_errctx *ctx)
{
	return store_meta_get(st, name, NULL, version_out, ctx);
}

/* ---------------------------------------------------------------- audiences */

rk_err store_audiences(store *st, const char *collection_id, store_audience_fn fn,
		       void *arg, rk_errctx *ctx)
{
	if (!collection_id || !fn)
		return rk_fail(ctx, RK_EINVAL, NULL, "store audiences: no collection");
	return st->ops->audiences(st->eng, collection_id, fn, arg, ctx);
}

rk_err store_audience_key(store *st, int64_t aud, char **key_out, rk_errctx *ctx)
{
	*key_out = NULL;
	return st->ops->audience_key(st->eng, aud, key_out, ctx);
}

uint64_t store_audience_epoch(store *st)
{
	return st->ops->audience_epoch(st->eng);
}

bool store_may_hold(store *st, const char *id)
{
	return id && st->ops->may_hold(st->eng, id);
}

rk_err store_find_versions(store *st, const char *const *ids, size_t n_ids,
			   store_version_fn fn, void *arg, rk_errctx *ctx)
{
	rk_err err;

	if (!n_ids)
		return RK_OK;
	if ((err = check_list(ids, n_ids, "ids", ctx)))
		return err;
	return st->ops->find_versions(st->eng, ids, n_ids, fn, arg, ctx);
}

rk_err store_unclassified(store *st, size_t limit, store_emit_fn emit, void *arg,
			  rk_errctx *ctx)
{
	return st->ops->unclassified(st->eng, limit, emit, arg, ctx);
}

rk_err store_set_audiences(store *st, const uint64_t *seqs, const char *const *keys,
			   const unsigned *flags, size_t n, rk_errctx *ctx)
{
	for (size_t i = 0; i < n; i++)
		if (!keys[i])
			return rk_fail(ctx, RK_EINVAL, NULL, "store: no audience");
	return n ? st->ops->set_audiences(st->eng, seqs, keys, flags, n, ctx) : RK_OK;
}
