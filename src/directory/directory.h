/*
 * directory.h: who is on the hub: organisations, users, API tokens,
 * communities and collections.
 *
 * The directory is declarative. An operator writes one JSON file (see
 * docs and renkei(1) `admin apply`) and applies it; the hub's directory
 * becomes exactly that file: entries in the file are created or updated,
 * entries absent from it are removed, and applying the same file twice
 * changes nothing. The applied directory is kept in the store as one meta
 * document ("directory") with a version counter, so every hub node and every
 * `renkei admin` command see the same state, and a running hub notices a
 * change by polling the counter.
 *
 * Model:
 *  - organisation: id (slug), name, sectors (STIX industry-sector-ov),
 *    optional country (ISO 3166-1 alpha-2), clients (organisations it
 *    serves) and anonymous (submit anonymously by default). Each has a STIX identity, id identity--<UUIDv5 of the slug>,
 *    identity_class "organization".
 *  - user: name, organisation, role, API token (stored only as a BLAKE2b
 *    hash, compared in constant time). Tokens given in a file must have at
 *    least RK_TOKEN_MIN_CHARS characters; tokens renkei makes have
 *    RK_TOKEN_RANDOM_BYTES random bytes (256 bits).
 *  - community: id (slug; also the TAXII API root /<id>/), title,
 *    description, tier (government, nation, international), members.
 *  - collection: id (UUID), community, title, description, default marking
 *    (TLP name), roles that may read and write, and whether it is public
 *    (its TLP:CLEAR objects served to unauthenticated readers).
 *  - every organisation and user has a stable STIX identity id (UUIDv5 of
 *    DIR_IDENTITY_NAMESPACE and the slug, or "user:" and the user name),
 *    which markings and the renkei extension name them by.
 *
 * Ownership: dir_* functions returning `directory *` give the caller a heap
 * object freed with dir_free. Lookups return pointers into the directory,
 * valid while it lives. A directory is immutable once built and may be read
 * by many threads at once.
 */
#ifndef RK_DIRECTORY_H
#define RK_DIRECTORY_H

#include "common.h"
#include "store.h"

/* Roles, in one table: name, may-read-by-default flags live in policy. */
typedef enum {
	DIR_ROLE_ADMIN,
	DIR_ROLE_ANALYST,
	DIR_ROLE_READER,
	DIR_ROLE_SENSOR,
	DIR_ROLE_PARTNER,
	DIR_ROLE_COUNT
} dir_role;

typedef enum {
	DIR_TIER_GOVERNMENT,
	DIR_TIER_NATION,
	DIR_TIER_INTERNATIONAL,
	DIR_TIER_COUNT
} dir_tier;

#define DIR_TOKEN_HASH_BYTES 32

/* The namespace of organisation identity ids: identity--<UUIDv5 of this
 * namespace and the organisation's slug> (STIX 2.1 section 2.9). Fixed for
 * renkei forever: changing it renames every organisation. */
#define DIR_IDENTITY_NAMESPACE "90d694ba-160d-4d91-a625-be23d4aebeb8"

typedef struct dir_org {
	char *id;
	char *name;
	char **sectors;
	size_t n_sectors;
	char *country; /* NULL if absent */
	char **clients;
	size_t n_clients;
	char identity_id[RK_MAX_STIX_ID + 1]; /* identity--<uuid> */
	/* "anonymous": true: its submissions are anonymous unless a request
	 * says otherwise (docs/confidentiality.md, "Anonymous submission") */
	bool anonymous;
	/* created/modified of the STIX identity, kept in the stored form and
	 * set by dir_apply (modified moves when name or sectors change); 0 in
	 * a directory built from a file. */
	rk_time identity_created;
	rk_time identity_modified;
} dir_org;

typedef struct dir_user {
	char *name;
	char *org; /* organisation id */
	/* identity--<UUIDv5 of DIR_IDENTITY_NAMESPACE and "user:<name>">: the
	 * user as a STIX individual, which TLP:RED recipients may name. */
	char identity_id[RK_MAX_STIX_ID + 1];
	dir_role role;
	bool has_token;
	unsigned char token_hash[DIR_TOKEN_HASH_BYTES];
} dir_user;

typedef struct dir_community {
	char *id;
	char *title;
	char *description; /* "" if absent */
	dir_tier tier;
	char **members; /* organisation ids */
	size_t n_members;
} dir_community;

typedef struct dir_collection {
	char *id; /* UUID */
	char *community;
	char *title;
	char *description; /* "" if absent */
	char *default_marking; /* "TLP:AMBER" */
	unsigned can_read;  /* bit (1u << dir_role) per role */
	unsigned can_write;
	bool is_public; /* "public": its TLP:CLEAR objects are served to anyone */
} dir_collection;

typedef struct directory {
	dir_org *orgs;
	size_t n_orgs;
	dir_user *users;
	size_t n_users;
	dir_community *communities;
	size_t n_communities;
	dir_collection *collections;
	size_t n_collections;
	uint64_t version; /* store meta version it was loaded from; 0 if not stored */
} directory;

/* ---------------------------------------------------------------- names */
/* dir_names.c */

const char *dir_role_name(dir_role role);
bool dir_role_parse(const char *s, dir_role *out);
const char *dir_tier_name(dir_tier tier);
bool dir_tier_parse(const char *s, dir_tier *out);
/* The i-th value of the STIX 2.1 industry-sector-ov vocabulary, the
 * sectors an organisation may declare; NULL past the last. */
const char *dir_sector_name(size_t i);

/* ---------------------------------------------------------------- build */
/* dir_parse.c */

/*
 * Builds a directory from a directory file's JSON. Validates everything:
 * required fields, slugs, UUIDs, known roles/tiers/sectors/TLP names,
 * references between entries (a user's organisation, a community's
 * members, a collection's community, clients), duplicates, token length.
 * Errors name the JSON path ("users[2].organization: no organisation
 * 'npx'"). Plain tokens are hashed and not kept.
 */
rk_err dir_from_file_json(const json_t *doc, directory **out, rk_errctx *ctx);
/* The stored form (tokens as hashes) and back. */
json_t *dir_to_stored_json(const directory *dir);
rk_err dir_from_stored_json(const json_t *doc, directory **out, rk_errctx *ctx);
/* The directory as a directory file, without tokens or hashes (new
 * reference, NULL on OOM): what `renkei admin show` prints. Applying it
 * changes nothing, since users without a token keep their stored one. */
json_t *dir_to_file_json(const directory *dir);
void dir_free(directory *dir);

/* ---------------------------------------------------------------- store */
/* dir_store.c */

/* Loads the applied directory; an empty directory (version 0) when none was
 * ever applied. */
rk_err dir_load(store *st, directory **out, rk_errctx *ctx);
/* Reads the stored version counter only, for change polling. */
rk_err dir_stored_version(store *st, uint64_t *version, rk_errctx *ctx);

/* What an apply changed, for the operator. */
typedef struct dir_change_summary {
	size_t added, updated, removed; /* entries of all kinds */
	rk_buf text; /* one line per change: "+ user npa-analyst", "- collection ..." */
} dir_change_summary;
void dir_change_summary_cleanup(dir_change_summary *s);

/*
 * Makes the stored directory equal to `next`, in one transaction. Users
 * present in both without a token in `next` keep their stored token. Fills
 * summary (may be NULL); applying an identical directory changes nothing and
 * leaves the version as it was.
 */
rk_err dir_apply(store *st, const directory *next, dir_change_summary *summary,
		 rk_errctx *ctx);
/* What dir_apply would change, without changing anything. summary must be
 * initialised (zeroed) for both. */
rk_err dir_plan(store *st, const directory *next, dir_change_summary *summary,
		rk_errctx *ctx);
/* dir_diff.c */
/*
 * The changes that turn `cur` into `next` (both as stored: tokens compared
 * by hash), appended to s, which must be initialised (zeroed). Removed
 * collections are reported as removed from the directory only: their
 * stored objects stay in the store and reappear if the collection id is
 * applied again.
 */
rk_err dir_diff(const directory *cur, const directory *next,
		dir_change_summary *s);

/* ---------------------------------------------------------------- lookups */
/* dir_lookup.c */

const dir_org *dir_find_org(const directory *dir, const char *id);
const dir_user *dir_find_user(const directory *dir, const char *name);
const dir_community *dir_find_community(const directory *dir, const char *id);
const dir_collection *dir_find_collection(const directory *dir, const char *id);
/* The organisation or user whose STIX identity id this is (one of *org,
 * *user set, the other NULL); false if neither. */
bool dir_find_identity(const directory *dir, const char *identity_id,
		       const dir_org **org, const dir_user **user);
/* The identity id of organisation slug `id` or user `name` (whether or not
 * it exists); false if the name is too long. */
bool dir_identity_of(const char *kind, const char *name,
		     char out[RK_MAX_STIX_ID + 1]);
/* True if org_id is a member of community c, or a client of a member. */
bool dir_org_reaches(const directory *dir, const dir_community *c, const char *org_id);
bool dir_org_is_member(const dir_community *c, const char *org_id);
/* True if `org_id` is among the clients of `provider`. */
bool dir_org_serves(const dir_org *provider, const char *org_id);

/*
 * Finds the user whose token this is, in constant time per candidate
 * (every user's hash is compared). NULL if none. Tokens shorter than
 * RK_TOKEN_MIN_CHARS or longer than RK_TOKEN_MAX_CHARS never match.
 */
const dir_user *dir_authenticate_token(const directory *dir, const char *token,
				       size_t len);
/* HTTP Basic: user name plus that user's token as the password. */
const dir_user *dir_authenticate_basic(const directory *dir, const char *user,
				       const char *password, size_t password_len);

/* The STIX identity object of an organisation (new reference). */
json_t *dir_org_identity(const dir_org *org);

/* ---------------------------------------------------------------- tokens */
/* dir_token.c */

/* Hash of a token as stored. */
void dir_token_hash(const char *token, size_t len,
		    unsigned char out[DIR_TOKEN_HASH_BYTES]);
/* A new token: a prefix (may be "" ) and 64 hex characters of randomness.
 * out must hold strlen(prefix) + 2*RK_TOKEN_RANDOM_BYTES + 2 bytes. */
void dir_token_new(const char *prefix, char *out, size_t outlen);

#endif
