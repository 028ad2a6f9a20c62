/*
 * dir_parse.c: directory JSON (file form and stored form) to a `directory`
 * and back.
 *
 * Parsing runs in three passes so that every error names the place in the
 * operator's file: (1) each entry is checked on its own, in file order
 * (types, lengths, slugs, vocabularies, token length); (2) ids are sorted
 * with their file positions, which finds duplicates and gives the index
 * that (3) reference checks (a user's organisation, clients, members, a
 * collection's community) search. Only then are entries moved into id
 * order. Invariants of a built directory, which lookups rely on:
 *  - orgs, users, communities, collections are sorted by id (users by
 *    name) with no duplicates, so lookups are binary searches;
 *  - sectors, clients and members are sorted and unique;
 *  - every reference names an entry that exists;
 *  - plain tokens are never kept: only their BLAKE2b-256 hash, and no two
 *    users share a token.
 * Unknown properties are errors everywhere, not warnings: in an access
 * control file a misspelt "can_wrte" must not silently mean "nobody".
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dir_int.h"
#include "stix.h"

typedef struct keypos {
	const char *key;
	size_t pos; /* index in the file */
} keypos;

static int keypos_cmp(const void *a, const void *b)
{
	const keypos *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

static int keypos_find_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const keypos *)elem)->key);
}

/* Sorts kp and reports the repeated key whose second occurrence comes
 * first in the file: *first and *second are file positions. */
static bool keypos_sort_find_dup(keypos *kp, size_t n, size_t *first,
				 size_t *second)
{
	bool found = false;

	if (n == 0)
		return false;
	qsort(kp, n, sizeof *kp, keypos_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(kp[i - 1].key, kp[i].key) != 0)
			continue;
		if (!found || kp[i].pos < *second) {
			*first = kp[i - 1].pos;
			*second = kp[i].pos;
			found = true;
		}
	}
	return found;
}

static bool keypos_has(const keypos *kp, size_t n, const char *key)
{
	return n && bsearch(key, kp, n, sizeof *kp, keypos_find_cmp);
}

/* JSON paths in messages: a path too long for the buffer ends in "...". */
static void path_mark_truncated(char out[RK_ERRCTX_PATH], int n)
{
	if (n < 0 || n >= RK_ERRCTX_PATH)
		memcpy(out + RK_ERRCTX_PATH - 4, "...", 4);
}

static void path_key(char out[RK_ERRCTX_PATH], const char *path, const char *key)
{
	path_mark_truncated(out, snprintf(out, RK_ERRCTX_PATH, "%s%s%s", path,
					  *path ? "." : "", key));
}

static void path_index(char out[RK_ERRCTX_PATH], const char *path, size_t i)
{
	path_mark_truncated(out, snprintf(out, RK_ERRCTX_PATH, "%s[%zu]", path, i));
}

static rk_err oom(rk_errctx *ctx)
{
	return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
}

/* ---------------------------------------------------------------- fields */

static rk_err check_keys(const json_t *obj, const char *const *allowed,
			 const char *path, rk_errctx *ctx)
{
	const char *key;

	for (void *it = json_object_iter((json_t *)obj); it;
	     it = json_object_iter_next((json_t *)obj, it)) {
		key = json_object_iter_key(it);
		bool ok = false;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = strcmp(key, allowed[i]) == 0;
		if (ok)
			continue;
		char list[256] = "";
		size_t used = 0;
		for (size_t i = 0; allowed[i] && used < sizeof list; i++)
			used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
						 i ? ", " : "", allowed[i]);
		return rk_fail(ctx, RK_EINVAL, *path ? path : NULL,
			       "unknown property '%s' (allowed: %s)", key, list);
	}
	return RK_OK;
}

/* obj[key] as a string of 1..maxlen bytes with no NUL; *out is NULL when
 * the key is absent and not required. */
static rk_err get_str(const json_t *obj, const char *key, bool required,
		      size_t maxlen, const char *path, const char **out,
		      rk_errctx *ctx)
{
	char p[RK_ERRCTX_PATH];
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	path_key(p, path, key);
	if (!v) {
		if (required)
			return rk_fail(ctx, RK_EINVAL, p, "required but missing");
		return RK_OK;
	}
	if (!json_is_string(v))
		return rk_fail(ctx, RK_EINVAL, p, "not a string");
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (strlen(s) != n)
		return rk_fail(ctx, RK_EINVAL, p, "contains a NUL character");
	if (n == 0)
		return rk_fail(ctx, RK_EINVAL, p, "empty");
	if (n > maxlen)
		return rk_fail(ctx, RK_EINVAL, p, "longer than %zu bytes", maxlen);
	*out = s;
	return RK_OK;
}

static rk_err get_array(const json_t *obj, const char *key, const char *path,
			const json_t **out, rk_errctx *ctx)
{
	char p[RK_ERRCTX_PATH];
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v)
		return RK_OK;
	path_key(p, path, key);
	if (!json_is_array(v))
		return rk_fail(ctx, RK_EINVAL, p, "not an array");
	if (json_array_size(v) > RK_MAX_DIR_ENTRIES)
		return rk_fail(ctx, RK_ETOOBIG, p, "more than %d entries",
			       RK_MAX_DIR_ENTRIES);
	*out = v;
	return RK_OK;
}

typedef rk_err (*item_check_fn)(const char *s, const char *path, rk_errctx *ctx);

/*
 * arr (may be NULL: empty) as a list of unique strings, each passing check,
 * copied into *out sorted. path names the array ("organizations[3].sectors").
 */
static rk_err get_str_list(const json_t *arr, const char *path, size_t maxlen,
			   item_check_fn check, const char *what, char ***out,
			   size_t *n_out, rk_errctx *ctx)
{
	char p[RK_ERRCTX_PATH];
	keypos *kp = NULL;
	char **list = NULL;
	size_t n = arr ? json_array_size(arr) : 0, first, second;
	rk_err err = RK_OK;

	*out = NULL;
	*n_out = 0;
	if (n == 0)
		return RK_OK;
	kp = calloc(n, sizeof *kp);
	list = calloc(n, sizeof *list);
	if (!kp || !list) {
		err = oom(ctx);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(arr, i);
		path_index(p, path, i);
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
			err = rk_fail(ctx, RK_EINVAL, p, "not a string");
			goto out;
		}
		const char *s = json_string_value(v);
		if (!*s || strlen(s) > maxlen) {
			err = rk_fail(ctx, RK_EINVAL, p, "empty or longer than %zu bytes",
				      maxlen);
			goto out;
		}
		if (check && (err = check(s, p, ctx)) != RK_OK)
			goto out;
		kp[i].key = s;
		kp[i].pos = i;
	}
	if (keypos_sort_find_dup(kp, n, &first, &second)) {
		path_index(p, path, second);
		err = rk_fail(ctx, RK_EINVAL, p, "%s '%s' listed twice (also at [%zu])",
			      what, json_string_value(json_array_get(arr, second)), first);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!(list[i] = strdup(kp[i].key))) {
			err = oom(ctx);
			goto out;
		}
	}
	*out = list;
	*n_out = n;
	list = NULL;
out:
	if (list) {
		for (size_t i = 0; i < n; i++)
			free(list[i]);
		free(list);
	}
	free(kp);
	return err;
}

static rk_err check_sector(const char *s, const char *path, rk_errctx *ctx)
{
	if (dir_sector_known(s))
		return RK_OK;
	const char *hint = dir_sector_hint(s);
	if (hint)
		return rk_fail(ctx, RK_EINVAL, path,
			       "unknown sector '%s': STIX 2.1 industry-sector-ov calls it '%s'",
			       s, hint);
	return rk_fail(ctx, RK_EINVAL, path,
		       "unknown sector '%s': not in the STIX 2.1 industry-sector-ov "
		       "vocabulary (`renkei admin sectors` lists it)",
		       s);
}

static rk_err check_slug(const char *s, const char *path, rk_errctx *ctx)
{
	if (dir_slug_valid(s))
		return RK_OK;
	return rk_fail(ctx, RK_EINVAL, path,
		       "'%s' is not a valid id: lowercase letters, digits and '-', "
		       "starting with a letter or digit, at most %d characters",
		       s, DIR_MAX_SLUG);
}

static rk_err check_role(const char *s, const char *path, rk_errctx *ctx)
{
	dir_role r;
	if (dir_role_parse(s, &r))
		return RK_OK;
	return rk_fail(ctx, RK_EINVAL, path,
		       "unknown role '%s' (expected admin, analyst, reader, sensor or partner)",
		       s);
}

static rk_err get_roles(const json_t *obj, const char *key, const char *path,
			unsigned *mask, rk_errctx *ctx)
{
	char p[RK_ERRCTX_PATH];
	const json_t *arr;
	char **list = NULL;
	size_t n = 0;
	rk_err err;

	*mask = 0;
	path_key(p, path, key);
	if ((err = get_array(obj, key, path, &arr, ctx)) != RK_OK)
		return err;
	if ((err = get_str_list(arr, p, DIR_MAX_SLUG, check_role, "role", &list,
				&n, ctx)) != RK_OK)
		return err;
	for (size_t i = 0; i < n; i++) {
		dir_role r;
		if (dir_role_parse(list[i], &r))
			*mask |= 1u << r;
		free(list[i]);
	}
	free(list);
	return RK_OK;
}

static rk_err get_time(const json_t *obj, const char *key, const char *path,
		       rk_time *out, rk_errctx *ctx)
{
	const char *s;
	rk_err err = get_str(obj, key, false, RK_TIME_BUF, path, &s, ctx);

	*out = 0;
	if (err || !s)
		return err;
	if (!rk_time_parse(s, out)) {
		char p[RK_ERRCTX_PATH];
		path_key(p, path, key);
		return rk_fail(ctx, RK_EINVAL, p, "not an RFC 3339 timestamp");
	}
	return RK_OK;
}

/* ---------------------------------------------------------------- entries */

static rk_err parse_org(const json_t *o, bool stored, const char *path,
			dir_org *org, rk_errctx *ctx)
{
	static const char *const file_keys[] = {"id", "name", "sectors", "country",
						"clients", "anonymous", NULL};
	static const char *const stored_keys[] = {"id", "name", "sectors", "country",
						  "clients", "anonymous", "created", "modified", NULL};
	char p[RK_ERRCTX_PATH];
	const char *id, *name, *country;
	const json_t *arr;
	rk_err err;

	if (!json_is_object(o))
		return rk_fail(ctx, RK_EINVAL, path, "not an object");
	if ((err = check_keys(o, stored ? stored_keys : file_keys, path, ctx)) ||
	    (err = get_str(o, "id", true, DIR_MAX_SLUG, path, &id, ctx)) ||
	    (err = get_str(o, "name", true, RK_MAX_NAME, path, &name, ctx)) ||
	    (err = get_str(o, "country", false, 8, path, &country, ctx)))
		return err;
	path_key(p, path, "id");
	if ((err = check_slug(id, p, ctx)))
		return err;
	if (country && (strlen(country) != 2 || country[0] < 'A' || country[0] > 'Z' ||
			country[1] < 'A' || country[1] > 'Z')) {
		path_key(p, path, "country");
		return rk_fail(ctx, RK_EINVAL, p,
			       "'%s' is not an ISO 3166-1 alpha-2 code (two capital letters)",
			       country);
	}
	if (!(org->id = strdup(id)) || !(org->name = strdup(name)) ||
	    (country && !(org->country = strdup(country))))
		return oom(ctx);
	path_key(p, path, "sectors");
	if ((err = get_array(o, "sectors", path, &arr, ctx)) ||
	    (err = get_str_list(arr, p, RK_MAX_NAME, check_sector, "sector",
				&org->sectors, &org->n_sectors, ctx)))
		return err;
	path_key(p, path, "clients");
	if ((err = get_array(o, "clients", path, &arr, ctx)) ||
	    (err = get_str_list(arr, p, DIR_MAX_SLUG, check_slug, "client",
				&org->clients, &org->n_clients, ctx)))
		return err;
	/* anonymous submission by default (docs/confidentiality.md) */
	const json_t *anon = json_object_get(o, "anonymous");
	if (anon && !json_is_boolean(anon)) {
		path_key(p, path, "anonymous");
		return rk_fail(ctx, RK_EINVAL, p, "not true or false");
	}
	org->anonymous = json_is_true(anon);
	if (stored && ((err = get_time(o, "created", path, &org->identity_created, ctx)) ||
		       (err = get_time(o, "modified", path, &org->identity_modified, ctx))))
		return err;
	if (!dir_identity_of("org", id, org->identity_id))
		return rk_fail(ctx, RK_EINVAL, path, "cannot derive the identity id");
	return RK_OK;
}

static bool hex_decode(const char *s, unsigned char *out, size_t n)
{
	size_t len = 0;
	const char *end = NULL;

	if (strlen(s) != 2 * n)
		return false;
	return sodium_hex2bin(out, n, s, 2 * n, NULL, &len, &end) == 0 && len == n &&
	       end == s + 2 * n;
}

static rk_err parse_user(const json_t *o, bool stored, const char *path,
			 dir_user *u, rk_errctx *ctx)
{
	static const char *const file_keys[] = {"name", "organization", "role",
						"token", NULL};
	static const char *const stored_keys[] = {"name", "organization", "role",
						  "token_hash", NULL};
	char p[RK_ERRCTX_PATH];
	const char *name, *org, *role, *token = NULL, *hash = NULL;
	rk_err err;

	if (!json_is_object(o))
		return rk_fail(ctx, RK_EINVAL, path, "not an object");
	if ((err = check_keys(o, stored ? stored_keys : file_keys, path, ctx)) ||
	    (err = get_str(o, "name", true, DIR_MAX_SLUG, path, &name, ctx)) ||
	    (err = get_str(o, "organization", true, DIR_MAX_SLUG, path, &org, ctx)) ||
	    (err = get_str(o, "role", true, DIR_MAX_SLUG, path, &role, ctx)))
		return err;
	if (!dir_user_name_valid(name)) {
		path_key(p, path, "name");
		return rk_fail(ctx, RK_EINVAL, p,
			       "'%s' is not a valid user name: letters, digits and . _ @ -, "
			       "starting with a letter or digit, at most %d characters",
			       name, DIR_MAX_SLUG);
	}
	path_key(p, path, "role");
	if ((err = check_role(role, p, ctx)))
		return err;
	dir_role_parse(role, &u->role);
	if (stored) {
		if ((err = get_str(o, "token_hash", false, 2 * DIR_TOKEN_HASH_BYTES,
				   path, &hash, ctx)))
			return err;
		if (hash) {
			if (!hex_decode(hash, u->token_hash, DIR_TOKEN_HASH_BYTES)) {
				path_key(p, path, "token_hash");
				return rk_fail(ctx, RK_EINVAL, p,
					       "not %d hex digits", 2 * DIR_TOKEN_HASH_BYTES);
			}
			u->has_token = true;
		}
	} else {
		path_key(p, path, "token");
		json_t *tv = json_object_get(o, "token");
		if (tv) {
			/* Never echo a token (or part of one) in a message. */
			if (!json_is_string(tv))
				return rk_fail(ctx, RK_EINVAL, p, "not a string");
			token = json_string_value(tv);
			size_t n = json_string_length(tv);
			if (n < RK_TOKEN_MIN_CHARS)
				return rk_fail(ctx, RK_EINVAL, p,
					       "too short: %zu characters, at least %d", n,
					       RK_TOKEN_MIN_CHARS);
			if (n > RK_TOKEN_MAX_CHARS)
				return rk_fail(ctx, RK_EINVAL, p,
					       "too long: %zu characters, at most %d", n,
					       RK_TOKEN_MAX_CHARS);
			for (size_t i = 0; i < n; i++)
				if ((unsigned char)token[i] < 0x21 ||
				    (unsigned char)token[i] > 0x7e)
					return rk_fail(ctx, RK_EINVAL, p,
						       "only printable ASCII without spaces is allowed");
			dir_token_hash(token, n, u->token_hash);
			u->has_token = true;
		}
	}
	if (!(u->name = strdup(name)) || !(u->org = strdup(org)))
		return oom(ctx);
	if (!dir_identity_of("user", name, u->identity_id))
		return rk_fail(ctx, RK_EINVAL, path, "cannot derive the identity id");
	return RK_OK;
}

static rk_err parse_community(const json_t *o, const char *path,
			      dir_community *c, rk_errctx *ctx)
{
	static const char *const keys[] = {"id", "title", "description", "tier",
					   "members", NULL};
	char p[RK_ERRCTX_PATH];
	const char *id, *title, *desc, *tier;
	const json_t *arr;
	rk_err err;

	if (!json_is_object(o))
		return rk_fail(ctx, RK_EINVAL, path, "not an object");
	if ((err = check_keys(o, keys, path, ctx)) ||
	    (err = get_str(o, "id", true, DIR_MAX_SLUG, path, &id, ctx)) ||
	    (err = get_str(o, "title", true, RK_MAX_NAME, path, &title, ctx)) ||
	    (err = get_str(o, "description", false, DIR_MAX_DESCRIPTION, path, &desc,
			   ctx)) ||
	    (err = get_str(o, "tier", true, DIR_MAX_SLUG, path, &tier, ctx)))
		return err;
	path_key(p, path, "id");
	if ((err = check_slug(id, p, ctx)))
		return err;
	/* The id is also the API root path /<id>/; /taxii2/ is discovery and
	 * /metrics the hub's Prometheus endpoint. */
	if (strcmp(id, "taxii2") == 0)
		return rk_fail(ctx, RK_EINVAL, p,
			       "'taxii2' is reserved for the TAXII discovery endpoint");
	if (strcmp(id, "metrics") == 0)
		return rk_fail(ctx, RK_EINVAL, p,
			       "'metrics' is reserved for the hub's metrics endpoint");
	if (!dir_tier_parse(tier, &c->tier)) {
		path_key(p, path, "tier");
		return rk_fail(ctx, RK_EINVAL, p,
			       "unknown tier '%s' (expected government, nation or international)",
			       tier);
	}
	if (!(c->id = strdup(id)) || !(c->title = strdup(title)) ||
	    !(c->description = strdup(desc ? desc : "")))
		return oom(ctx);
	path_key(p, path, "members");
	if ((err = get_array(o, "members", path, &arr, ctx)) ||
	    (err = get_str_list(arr, p, DIR_MAX_SLUG, check_slug, "member",
				&c->members, &c->n_members, ctx)))
		return err;
	return RK_OK;
}

static rk_err parse_collection(const json_t *o, const char *path,
			       dir_collection *c, rk_errctx *ctx)
{
	static const char *const keys[] = {"id", "community", "title", "description",
					   "default_marking", "can_read", "can_write",
					   "public", NULL};
	char p[RK_ERRCTX_PATH];
	const char *id, *community, *title, *desc, *marking;
	rk_err err;

	if (!json_is_object(o))
		return rk_fail(ctx, RK_EINVAL, path, "not an object");
	if ((err = check_keys(o, keys, path, ctx)) ||
	    (err = get_str(o, "id", true, RK_UUID_BUF, path, &id, ctx)) ||
	    (err = get_str(o, "community", true, DIR_MAX_SLUG, path, &community, ctx)) ||
	    (err = get_str(o, "title", true, RK_MAX_NAME, path, &title, ctx)) ||
	    (err = get_str(o, "description", false, DIR_MAX_DESCRIPTION, path, &desc,
			   ctx)) ||
	    (err = get_str(o, "default_marking", true, 32, path, &marking, ctx)))
		return err;
	if (!rk_uuid_is_valid(id)) {
		path_key(p, path, "id");
		return rk_fail(ctx, RK_EINVAL, p, "'%s' is not an RFC 4122 UUID", id);
	}
	stix_tlp tlp = stix_tlp_parse(marking);
	if (tlp == STIX_TLP_NONE) {
		path_key(p, path, "default_marking");
		return rk_fail(ctx, RK_EINVAL, p,
			       "unknown TLP marking '%s' (expected TLP:CLEAR, TLP:GREEN, "
			       "TLP:AMBER, TLP:AMBER+STRICT or TLP:RED)",
			       marking);
	}
	if ((err = get_roles(o, "can_read", path, &c->can_read, ctx)) ||
	    (err = get_roles(o, "can_write", path, &c->can_write, ctx)))
		return err;
	const json_t *pub = json_object_get(o, "public");
	if (pub && !json_is_boolean(pub)) {
		path_key(p, path, "public");
		return rk_fail(ctx, RK_EINVAL, p, "not true or false");
	}
	c->is_public = json_is_true(pub);
	if (!(c->id = strdup(id)) || !(c->community = strdup(community)) ||
	    !(c->title = strdup(title)) ||
	    !(c->description = strdup(desc ? desc : "")) ||
	    !(c->default_marking = strdup(stix_tlp_name(tlp))))
		return oom(ctx);
	/* TAXII compares collection ids as strings: keep one spelling. */
	for (char *q = c->id; *q; q++)
		if (*q >= 'A' && *q <= 'F')
			*q = (char)(*q - 'A' + 'a');
	return RK_OK;
}

/* ---------------------------------------------------------------- free */

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

static void org_cleanup(dir_org *o)
{
	free(o->id);
	free(o->name);
	free_list(o->sectors, o->n_sectors);
	free(o->country);
	free_list(o->clients, o->n_clients);
}

static void user_cleanup(dir_user *u)
{
	free(u->name);
	free(u->org);
	sodium_memzero(u->token_hash, sizeof u->token_hash);
}

static void community_cleanup(dir_community *c)
{
	free(c->id);
	free(c->title);
	free(c->description);
	free_list(c->members, c->n_members);
}

static void collection_cleanup(dir_collection *c)
{
	free(c->id);
	free(c->community);
	free(c->title);
	free(c->description);
	free(c->default_marking);
}

void dir_free(directory *dir)
{
	if (!dir)
		return;
	for (size_t i = 0; i < dir->n_orgs; i++)
		org_cleanup(&dir->orgs[i]);
	for (size_t i = 0; i < dir->n_users; i++)
		user_cleanup(&dir->users[i]);
	for (size_t i = 0; i < dir->n_communities; i++)
		community_cleanup(&dir->communities[i]);
	for (size_t i = 0; i < dir->n_collections; i++)
		collection_cleanup(&dir->collections[i]);
	free(dir->orgs);
	free(dir->users);
	free(dir->communities);
	free(dir->collections);
	free(dir);
}

/* ---------------------------------------------------------------- document */

/* Moves entries (of `size` bytes each) into the order of kp; kp[i].pos is
 * the current index of the entry that goes to i. */
static rk_err permute(void *entries, size_t n, size_t size, const keypos *kp,
		      rk_errctx *ctx)
{
	if (n < 2)
		return RK_OK;
	unsigned char *tmp = malloc(n * size);
	if (!tmp)
		return oom(ctx);
	for (size_t i = 0; i < n; i++)
		memcpy(tmp + i * size, (unsigned char *)entries + kp[i].pos * size, size);
	memcpy(entries, tmp, n * size);
	free(tmp);
	return RK_OK;
}

typedef struct hashpos {
	const unsigned char *hash;
	size_t pos;
} hashpos;

static int hashpos_cmp(const void *a, const void *b)
{
	const hashpos *x = a, *y = b;
	int c = memcmp(x->hash, y->hash, DIR_TOKEN_HASH_BYTES);
	if (c)
		return c;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

/* No two users may share a token: authentication would pick one of them. */
static rk_err check_unique_tokens(const directory *d, const char *what,
				  rk_errctx *ctx)
{
	hashpos *hp = NULL;
	size_t n = 0;
	rk_err err = RK_OK;

	if (d->n_users < 2)
		return RK_OK;
	if (!(hp = calloc(d->n_users, sizeof *hp)))
		return oom(ctx);
	for (size_t i = 0; i < d->n_users; i++)
		if (d->users[i].has_token)
			hp[n++] = (hashpos){d->users[i].token_hash, i};
	if (n > 1)
		qsort(hp, n, sizeof *hp, hashpos_cmp);
	for (size_t i = 1; i < n; i++) {
		if (memcmp(hp[i - 1].hash, hp[i].hash, DIR_TOKEN_HASH_BYTES) == 0) {
			char p[RK_ERRCTX_PATH];
			snprintf(p, sizeof p, "users[%zu].%s", hp[i].pos, what);
			err = rk_fail(ctx, RK_EINVAL, p, "same token as users[%zu]",
				      hp[i - 1].pos);
			break;
		}
	}
	free(hp);
	return err;
}

static rk_err dup_error(const char *kind, size_t first, size_t second,
			const char *field, const char *key, rk_errctx *ctx)
{
	char p[RK_ERRCTX_PATH];
	snprintf(p, sizeof p, "%s[%zu].%s", kind, second, field);
	return rk_fail(ctx, RK_EINVAL, p, "duplicate %s '%s' (also at %s[%zu])",
		       field, key, kind, first);
}

static rk_err parse_doc(const json_t *doc, bool stored, directory **out,
			rk_errctx *ctx)
{
	static const char *const top_keys[] = {"organizations", "users",
					       "communities", "collections", NULL};
	directory *d = NULL;
	keypos *okp = NULL, *ukp = NULL, *ckp = NULL, *lkp = NULL;
	const json_t *orgs, *users, *coms, *cols;
	char p[RK_ERRCTX_PATH];
	size_t first, second;
	rk_err err;

	*out = NULL;
	if (!json_is_object(doc))
		return rk_fail(ctx, RK_EINVAL, NULL,
			       "a directory file is a JSON object");
	if ((err = check_keys(doc, top_keys, "", ctx)) ||
	    (err = get_array(doc, "organizations", "", &orgs, ctx)) ||
	    (err = get_array(doc, "users", "", &users, ctx)) ||
	    (err = get_array(doc, "communities", "", &coms, ctx)) ||
	    (err = get_array(doc, "collections", "", &cols, ctx)))
		return err;
	if (!(d = calloc(1, sizeof *d))) {
		err = oom(ctx);
		goto out;
	}
	size_t no = orgs ? json_array_size(orgs) : 0;
	size_t nu = users ? json_array_size(users) : 0;
	size_t nc = coms ? json_array_size(coms) : 0;
	size_t nl = cols ? json_array_size(cols) : 0;
	/* Zeroed entries are safe to free, so counts are set up front. */
	if ((no && !(d->orgs = calloc(no, sizeof *d->orgs))) ||
	    (nu && !(d->users = calloc(nu, sizeof *d->users))) ||
	    (nc && !(d->communities = calloc(nc, sizeof *d->communities))) ||
	    (nl && !(d->collections = calloc(nl, sizeof *d->collections))) ||
	    (no && !(okp = calloc(no, sizeof *okp))) ||
	    (nu && !(ukp = calloc(nu, sizeof *ukp))) ||
	    (nc && !(ckp = calloc(nc, sizeof *ckp))) ||
	    (nl && !(lkp = calloc(nl, sizeof *lkp)))) {
		err = oom(ctx);
		goto out;
	}
	d->n_orgs = no;
	d->n_users = nu;
	d->n_communities = nc;
	d->n_collections = nl;

	/* Pass 1: each entry on its own. */
	for (size_t i = 0; i < no; i++) {
		path_index(p, "organizations", i);
		if ((err = parse_org(json_array_get(orgs, i), stored, p, &d->orgs[i], ctx)))
			goto out;
		okp[i] = (keypos){d->orgs[i].id, i};
	}
	for (size_t i = 0; i < nu; i++) {
		path_index(p, "users", i);
		if ((err = parse_user(json_array_get(users, i), stored, p, &d->users[i], ctx)))
			goto out;
		ukp[i] = (keypos){d->users[i].name, i};
	}
	for (size_t i = 0; i < nc; i++) {
		path_index(p, "communities", i);
		if ((err = parse_community(json_array_get(coms, i), p,
					   &d->communities[i], ctx)))
			goto out;
		ckp[i] = (keypos){d->communities[i].id, i};
	}
	for (size_t i = 0; i < nl; i++) {
		path_index(p, "collections", i);
		if ((err = parse_collection(json_array_get(cols, i), p,
					    &d->collections[i], ctx)))
			goto out;
		lkp[i] = (keypos){d->collections[i].id, i};
	}

	/* Pass 2: duplicates. */
	if (keypos_sort_find_dup(okp, no, &first, &second)) {
		err = dup_error("organizations", first, second, "id",
				d->orgs[second].id, ctx);
		goto out;
	}
	if (keypos_sort_find_dup(ukp, nu, &first, &second)) {
		err = dup_error("users", first, second, "name", d->users[second].name, ctx);
		goto out;
	}
	if (keypos_sort_find_dup(ckp, nc, &first, &second)) {
		err = dup_error("communities", first, second, "id",
				d->communities[second].id, ctx);
		goto out;
	}
	if (keypos_sort_find_dup(lkp, nl, &first, &second)) {
		err = dup_error("collections", first, second, "id",
				d->collections[second].id, ctx);
		goto out;
	}
	if ((err = check_unique_tokens(d, stored ? "token_hash" : "token", ctx)))
		goto out;

	/* Pass 3: references, reported in file order. */
	for (size_t i = 0; i < no; i++) {
		/* The lists in entries are sorted by now; walk the file's. */
		const json_t *arr = json_object_get(json_array_get(orgs, i), "clients");
		for (size_t k = 0; k < json_array_size(arr); k++) {
			const char *c = json_string_value(json_array_get(arr, k));
			snprintf(p, sizeof p, "organizations[%zu].clients[%zu]", i, k);
			if (strcmp(c, d->orgs[i].id) == 0) {
				err = rk_fail(ctx, RK_EINVAL, p,
					      "an organisation cannot be its own client");
				goto out;
			}
			if (!keypos_has(okp, no, c)) {
				err = rk_fail(ctx, RK_EINVAL, p, "no organisation '%s'", c);
				goto out;
			}
		}
	}
	for (size_t i = 0; i < nu; i++) {
		if (!keypos_has(okp, no, d->users[i].org)) {
			snprintf(p, sizeof p, "users[%zu].organization", i);
			err = rk_fail(ctx, RK_EINVAL, p, "no organisation '%s'",
				      d->users[i].org);
			goto out;
		}
	}
	for (size_t i = 0; i < nc; i++) {
		const json_t *arr = json_object_get(json_array_get(coms, i), "members");
		for (size_t k = 0; k < json_array_size(arr); k++) {
			const char *m = json_string_value(json_array_get(arr, k));
			if (!keypos_has(okp, no, m)) {
				snprintf(p, sizeof p, "communities[%zu].members[%zu]", i, k);
				err = rk_fail(ctx, RK_EINVAL, p, "no organisation '%s'", m);
				goto out;
			}
		}
	}
	for (size_t i = 0; i < nl; i++) {
		if (!keypos_has(ckp, nc, d->collections[i].community)) {
			snprintf(p, sizeof p, "collections[%zu].community", i);
			err = rk_fail(ctx, RK_EINVAL, p, "no community '%s'",
				      d->collections[i].community);
			goto out;
		}
	}

	/* Into id order, the invariant lookups rely on. */
	if ((err = permute(d->orgs, no, sizeof *d->orgs, okp, ctx)) ||
	    (err = permute(d->users, nu, sizeof *d->users, ukp, ctx)) ||
	    (err = permute(d->communities, nc, sizeof *d->communities, ckp, ctx)) ||
	    (err = permute(d->collections, nl, sizeof *d->collections, lkp, ctx)))
		goto out;
	*out = d;
	d = NULL;
out:
	free(okp);
	free(ukp);
	free(ckp);
	free(lkp);
	dir_free(d);
	return err;
}

rk_err dir_from_file_json(const json_t *doc, directory **out, rk_errctx *ctx)
{
	return parse_doc(doc, false, out, ctx);
}

rk_err dir_from_stored_json(const json_t *doc, directory **out, rk_errctx *ctx)
{
	return parse_doc(doc, true, out, ctx);
}

/* ---------------------------------------------------------------- to JSON */

static json_t *str_list_json(char *const *l, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		if (json_array_append_new(a, json_string(l[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* json_object_set_new that tolerates a NULL value (jansson returns -1 and
 * the caller treats it as out of memory). */
static bool put(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v) == 0;
}

static bool put_time(json_t *o, const char *key, rk_time t)
{
	char buf[RK_TIME_BUF];
	rk_time_format(t, 3, buf);
	return put(o, key, json_string(buf));
}

json_t *dir_org_json(const dir_org *org, bool stored)
{
	json_t *o = json_object();
	if (!o || !put(o, "id", json_string(org->id)) ||
	    !put(o, "name", json_string(org->name)) ||
	    (org->n_sectors && !put(o, "sectors", str_list_json(org->sectors, org->n_sectors))) ||
	    (org->country && !put(o, "country", json_string(org->country))) ||
	    (org->n_clients && !put(o, "clients", str_list_json(org->clients, org->n_clients))) ||
	    (org->anonymous && !put(o, "anonymous", json_true())) ||
	    (stored && org->identity_created &&
	     (!put_time(o, "created", org->identity_created) ||
	      !put_time(o, "modified", org->identity_modified)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *dir_user_json(const dir_user *u, bool stored)
{
	char hex[2 * DIR_TOKEN_HASH_BYTES + 1];
	json_t *o = json_object();

	if (!o || !put(o, "name", json_string(u->name)) ||
	    !put(o, "organization", json_string(u->org)) ||
	    !put(o, "role", json_string(dir_role_name(u->role))))
		goto fail;
	if (stored && u->has_token) {
		sodium_bin2hex(hex, sizeof hex, u->token_hash, DIR_TOKEN_HASH_BYTES);
		if (!put(o, "token_hash", json_string(hex)))
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *dir_community_json(const dir_community *c)
{
	json_t *o = json_object();
	if (!o || !put(o, "id", json_string(c->id)) ||
	    !put(o, "title", json_string(c->title)) ||
	    (c->description && *c->description &&
	     !put(o, "description", json_string(c->description))) ||
	    !put(o, "tier", json_string(dir_tier_name(c->tier))) ||
	    !put(o, "members", str_list_json(c->members, c->n_members))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *dir_collection_json(const dir_collection *c)
{
	json_t *o = json_object();
	if (!o || !put(o, "id", json_string(c->id)) ||
	    !put(o, "community", json_string(c->community)) ||
	    !put(o, "title", json_string(c->title)) ||
	    (c->description && *c->description &&
	     !put(o, "description", json_string(c->description))) ||
	    !put(o, "default_marking", json_string(c->default_marking)) ||
	    !put(o, "can_read", dir_roles_json(c->can_read)) ||
	    !put(o, "can_write", dir_roles_json(c->can_write)) ||
	    (c->is_public && !put(o, "public", json_true()))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Entries are already in id order (see the invariants above), so the
 * output is canonical without sorting here. put() consumes its value even
 * when it fails, so each array belongs to doc from its creation. */
static json_t *dir_to_json(const directory *dir, bool stored)
{
	json_t *doc = json_object();
	json_t *orgs = NULL, *users = NULL, *coms = NULL, *cols = NULL;

	if (!doc || !put(doc, "organizations", orgs = json_array()) ||
	    !put(doc, "users", users = json_array()) ||
	    !put(doc, "communities", coms = json_array()) ||
	    !put(doc, "collections", cols = json_array()))
		goto fail;
	for (size_t i = 0; i < dir->n_orgs; i++)
		if (json_array_append_new(orgs, dir_org_json(&dir->orgs[i], stored)))
			goto fail;
	for (size_t i = 0; i < dir->n_users; i++)
		if (json_array_append_new(users, dir_user_json(&dir->users[i], stored)))
			goto fail;
	for (size_t i = 0; i < dir->n_communities; i++)
		if (json_array_append_new(coms, dir_community_json(&dir->communities[i])))
			goto fail;
	for (size_t i = 0; i < dir->n_collections; i++)
		if (json_array_append_new(cols, dir_collection_json(&dir->collections[i])))
			goto fail;
	return doc;
fail:
	json_decref(doc);
	return NULL;
}

json_t *dir_to_stored_json(const directory *dir)
{
	return dir_to_json(dir, true);
}

json_t *dir_to_file_json(const directory *dir)
{
	return dir_to_json(dir, false);
}
