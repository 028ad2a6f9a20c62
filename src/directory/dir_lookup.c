/*
 * dir_lookup.c: finding entries in a built directory, authenticating
 * tokens, and publishing an organisation as a STIX identity.
 *
 * A built directory keeps every entry array sorted by id (dir_parse.c), so
 * lookups are binary searches and need no index of their own; the
 * directory is immutable, so any number of request threads may search it
 * at once.
 *
 * Token checks hash the presented token once and compare it with every
 * user's stored hash using sodium_memcmp, without stopping at a match: the
 * time taken depends on the number of users, never on how much of a hash
 * matched or on which user it was.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dir_int.h"

static int org_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const dir_org *)elem)->id);
}

static int user_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const dir_user *)elem)->name);
}

static int community_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const dir_community *)elem)->id);
}

static int collection_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const dir_collection *)elem)->id);
}

static int str_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(char *const *)elem);
}

const dir_org *dir_find_org(const directory *dir, const char *id)
{
	if (!dir || !id || !dir->n_orgs)
		return NULL;
	return bsearch(id, dir->orgs, dir->n_orgs, sizeof *dir->orgs, org_cmp);
}

const dir_user *dir_find_user(const directory *dir, const char *name)
{
	if (!dir || !name || !dir->n_users)
		return NULL;
	return bsearch(name, dir->users, dir->n_users, sizeof *dir->users, user_cmp);
}

const dir_community *dir_find_community(const directory *dir, const char *id)
{
	if (!dir || !id || !dir->n_communities)
		return NULL;
	return bsearch(id, dir->communities, dir->n_communities,
		       sizeof *dir->communities, community_cmp);
}

const dir_collection *dir_find_collection(const directory *dir, const char *id)
{
	char low[RK_UUID_BUF];
	size_t n;

	if (!dir || !id || !dir->n_collections)
		return NULL;
	/* Ids are stored lowercase; accept a client's uppercase spelling. */
	n = strlen(id);
	if (n >= sizeof low)
		return NULL;
	for (size_t i = 0; i <= n; i++)
		low[i] = (id[i] >= 'A' && id[i] <= 'F') ? (char)(id[i] - 'A' + 'a') : id[i];
	return bsearch(low, dir->collections, dir->n_collections,
		       sizeof *dir->collections, collection_cmp);
}

bool dir_org_is_member(const dir_community *c, const char *org_id)
{
	return c && org_id && c->n_members &&
	       bsearch(org_id, c->members, c->n_members, sizeof *c->members, str_cmp);
}

bool dir_org_serves(const dir_org *provider, const char *org_id)
{
	return provider && org_id && provider->n_clients &&
	       bsearch(org_id, provider->clients, provider->n_clients,
		       sizeof *provider->clients, str_cmp);
}

const dir_user *dir_authenticate_token(const directory *dir, const char *token,
				       size_t len)
{
	unsigned char h[DIR_TOKEN_HASH_BYTES];
	const dir_user *found = NULL;

	if (!dir || !token || len < RK_TOKEN_MIN_CHARS || len > RK_TOKEN_MAX_CHARS)
		return NULL;
	dir_token_hash(token, len, h);
	for (size_t i = 0; i < dir->n_users; i++) {
		const dir_user *u = &dir->users[i];
		bool eq = sodium_memcmp(h, u->token_hash, sizeof h) == 0;
		if (eq && u->has_token && !found)
			found = u;
	}
	sodium_memzero(h, sizeof h);
	return found;
}

const dir_user *dir_authenticate_basic(const directory *dir, const char *user,
				       const char *password, size_t password_len)
{
	static const unsigned char none[DIR_TOKEN_HASH_BYTES];
	unsigned char h[DIR_TOKEN_HASH_BYTES];
	const dir_user *u;
	bool eq;

	if (!dir || !user || !password || password_len < RK_TOKEN_MIN_CHARS ||
	    password_len > RK_TOKEN_MAX_CHARS)
		return NULL;
	u = dir_find_user(dir, user);
	/* Hash and compare even for an unknown user, so the answer takes the
	 * same time whether or not the name exists. */
	dir_token_hash(password, password_len, h);
	eq = sodium_memcmp(h, u ? u->token_hash : none, sizeof h) == 0;
	sodium_memzero(h, sizeof h);
	return (u && u->has_token && eq) ? u : NULL;
}

json_t *dir_org_identity(const dir_org *org)
{
	char created[RK_TIME_BUF], modified[RK_TIME_BUF];
	json_t *o, *sectors = NULL;

	if (!org)
		return NULL;
	/* A directory that was never stored has no identity timestamps; the
	 * identity then carries the epoch, which any stored version of it
	 * supersedes. */
	rk_time_format(org->identity_created, 3, created);
	rk_time_format(org->identity_modified ? org->identity_modified
					      : org->identity_created,
		       3, modified);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", "identity",
		      "spec_version", "2.1", "id", org->identity_id, "created", created,
		      "modified", modified, "name", org->name, "identity_class",
		      "organization");
	if (!o)
		return NULL;
	if (org->n_sectors) {
		sectors = json_array();
		for (size_t i = 0; sectors && i < org->n_sectors; i++) {
			if (json_array_append_new(sectors, json_string(org->sectors[i]))) {
				json_decref(sectors);
				sectors = NULL;
			}
		}
		if (json_object_set_new(o, "sectors", sectors)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

bool dir_identity_of(const char *kind, const char *name, char out[RK_MAX_STIX_ID + 1])
{
	char key[DIR_MAX_SLUG + 8], uuid[RK_UUID_BUF];
	/* Organisations keep the plain slug (their ids predate users having
	 * identities); users are "user:<name>", which no slug can spell. */
	bool user = strcmp(kind, "user") == 0;
	int n = snprintf(key, sizeof key, "%s%s", user ? "user:" : "", name);

	if (n < 0 || (size_t)n >= sizeof key ||
	    rk_uuid_v5(DIR_IDENTITY_NAMESPACE, key, (size_t)n, uuid) != RK_OK)
		return false;
	snprintf(out, RK_MAX_STIX_ID + 1, "identity--%s", uuid);
	return true;
}

bool dir_find_identity(const directory *dir, const char *identity_id,
		       const dir_org **org, const dir_user **user)
{
	*org = NULL;
	*user = NULL;
	if (!dir || !identity_id)
		return false;
	for (size_t i = 0; i < dir->n_orgs; i++)
		if (strcmp(dir->orgs[i].identity_id, identity_id) == 0) {
			*org = &dir->orgs[i];
			return true;
		}
	for (size_t i = 0; i < dir->n_users; i++)
		if (strcmp(dir->users[i].identity_id, identity_id) == 0) {
			*user = &dir->users[i];
			return true;
		}
	return false;
}

bool dir_org_reaches(const directory *dir, const dir_community *c, const char *org_id)
{
	if (!c || !org_id)
		return false;
	if (dir_org_is_member(c, org_id))
		return true;
	for (size_t i = 0; i < c->n_members; i++) {
		const dir_org *m = dir_find_org(dir, c->members[i]);
		if (m && dir_org_serves(m, org_id))
			return true;
	}
	return false;
}
