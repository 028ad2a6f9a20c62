/*
 * dir_store.c: the applied directory in the store.
 *
 * The directory is one meta document named "directory" in its stored form
 * (dir_parse.c). store_meta_put writes it only when it differs from the
 * stored one, and bumps the version counter then, so applying the same
 * file twice leaves the version alone; hub nodes poll the counter
 * (dir_stored_version) and reload on change.
 *
 * Applying a directory merges in the two things a directory file does not
 * carry: the token hash of users given without a token (they keep the
 * stored one), and the created/modified times of each organisation's STIX
 * identity (kept while name and sectors stay the same; modified moves to
 * now when they change). The merged document is parsed back before it is
 * written, so whatever is stored is known to load.
 *
 * The write itself is one store transaction (store_meta_put). Reading the
 * current directory for the merge happens just before it, outside that
 * transaction: of two applies racing on different nodes, the later write
 * wins whole, and neither can leave a half-applied directory.
 *
 * Nothing here deletes STIX objects: removing a collection from the
 * directory leaves its objects in the store (see dir_diff.c).
 */
#include <stdlib.h>
#include <string.h>

#include "dir_int.h"

#define DIR_META_NAME "directory"

rk_err dir_load(store *st, directory **out, rk_errctx *ctx)
{
	json_t *doc = NULL;
	uint64_t version = 0;
	directory *d = NULL;
	rk_err err;

	*out = NULL;
	if ((err = store_meta_get(st, DIR_META_NAME, &doc, &version, ctx)))
		goto out;
	if (!doc) {
		if (!(d = calloc(1, sizeof *d))) {
			err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
			goto out;
		}
	} else if ((err = dir_from_stored_json(doc, &d, ctx))) {
		goto out;
	}
	d->version = version;
	*out = d;
out:
	json_decref(doc);
	return err;
}

rk_err dir_stored_version(store *st, uint64_t *version, rk_errctx *ctx)
{
	return store_meta_version(st, DIR_META_NAME, version, ctx);
}

static bool same_identity(const dir_org *a, const dir_org *b)
{
	if (strcmp(a->name, b->name) != 0 || a->n_sectors != b->n_sectors)
		return false;
	for (size_t i = 0; i < a->n_sectors; i++)
		if (strcmp(a->sectors[i], b->sectors[i]) != 0)
			return false;
	return true;
}

/*
 * Loads the current directory into *cur and builds the stored document of
 * `next` merged with it (*doc) and that document parsed back (*merged).
 */
static rk_err merge(store *st, const directory *next, directory **cur,
		    json_t **doc, directory **merged, rk_errctx *ctx)
{
	directory view = *next;
	dir_user *users = NULL;
	dir_org *orgs = NULL;
	rk_time now = rk_time_now();
	rk_err err;

	*cur = NULL;
	*doc = NULL;
	*merged = NULL;
	now -= now % 1000; /* stored with millisecond precision */
	if ((err = dir_load(st, cur, ctx)))
		goto out;
	if ((next->n_users && !(users = malloc(next->n_users * sizeof *users))) ||
	    (next->n_orgs && !(orgs = malloc(next->n_orgs * sizeof *orgs)))) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	/* Shallow copies: the strings stay next's; only fields set below
	 * differ. */
	for (size_t i = 0; i < next->n_users; i++) {
		users[i] = next->users[i];
		const dir_user *old = dir_find_user(*cur, users[i].name);
		if (!users[i].has_token && old && old->has_token) {
			memcpy(users[i].token_hash, old->token_hash, DIR_TOKEN_HASH_BYTES);
			users[i].has_token = true;
		}
	}
	for (size_t i = 0; i < next->n_orgs; i++) {
		orgs[i] = next->orgs[i];
		const dir_org *old = dir_find_org(*cur, orgs[i].id);
		if (!old || !old->identity_created) {
			orgs[i].identity_created = orgs[i].identity_modified = now;
		} else if (same_identity(old, &orgs[i])) {
			orgs[i].identity_created = old->identity_created;
			orgs[i].identity_modified = old->identity_modified;
		} else {
			/* STIX 2.1 section 3.6: a new version's modified is
			 * later than the previous one's. */
			orgs[i].identity_created = old->identity_created;
			orgs[i].identity_modified =
				now > old->identity_modified ? now : old->identity_modified + 1000;
		}
	}
	view.users = users;
	view.orgs = orgs;
	if (!(*doc = dir_to_stored_json(&view))) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	if ((err = dir_from_stored_json(*doc, merged, ctx)))
		goto out;
out:
	if (users)
		memset(users, 0, next->n_users * sizeof *users);
	free(users);
	free(orgs);
	if (err) {
		dir_free(*cur);
		*cur = NULL;
		json_decref(*doc);
		*doc = NULL;
	}
	return err;
}

static rk_err apply(store *st, const directory *next, dir_change_summary *summary,
		    bool write, rk_errctx *ctx)
{
	directory *cur = NULL, *merged = NULL;
	json_t *doc = NULL;
	dir_change_summary local = {0};
	uint64_t version = 0;
	bool changed = false;
	rk_err err;

	if (!summary)
		summary = &local;
	if ((err = merge(st, next, &cur, &doc, &merged, ctx)))
		goto out;
	if ((err = dir_diff(cur, merged, summary))) {
		rk_fail(ctx, err, NULL, "out of memory");
		goto out;
	}
	if (write &&
	    (err = store_meta_put(st, DIR_META_NAME, doc, &version, &changed, ctx)))
		goto out;
out:
	dir_change_summary_cleanup(&local);
	dir_free(cur);
	dir_free(merged);
	json_decref(doc);
	return err;
}

rk_err dir_apply(store *st, const directory *next, dir_change_summary *summary,
		 rk_errctx *ctx)
{
	return apply(st, next, summary, true, ctx);
}

rk_err dir_plan(store *st, const directory *next, dir_change_summary *summary,
		rk_errctx *ctx)
{
	return apply(st, next, summary, false, ctx);
}
