/*
 * dir_int.h: what the directory module's files share and nobody else sees.
 *
 * The directory has two JSON forms built by one serialiser (dir_parse.c):
 * the file form an operator writes (plain tokens allowed, no stored facts)
 * and the stored form kept in the store's "directory" meta document (token
 * hashes, identity timestamps). Both put every list in a canonical order
 * (entries by id, set-like lists sorted), so two directories that mean the
 * same thing serialise to the same JSON; dir_apply's idempotency rests on
 * that.
 */
#ifndef RK_DIR_INT_H
#define RK_DIR_INT_H

#include "directory.h"

/* Longest slug (organisation and community ids) and user name. */
#define DIR_MAX_SLUG 64
/* Longest community or collection description, in bytes. */
#define DIR_MAX_DESCRIPTION 4096

/* dir_names.c */
/* True for a value of the STIX 2.1 industry-sector-ov vocabulary. */
bool dir_sector_known(const char *s);
/* For a near miss ("infrastructure-water"), the vocabulary value meant
 * ("water"); NULL otherwise. */
const char *dir_sector_hint(const char *s);
/* [a-z0-9][a-z0-9-]*, at most DIR_MAX_SLUG characters. */
bool dir_slug_valid(const char *s);
/* [A-Za-z0-9][A-Za-z0-9._@-]*, at most DIR_MAX_SLUG characters (never ':',
 * which HTTP Basic uses as the separator). */
bool dir_user_name_valid(const char *s);
/* JSON array of the names of the roles set in mask, in role order (new
 * reference, NULL on OOM). */
json_t *dir_roles_json(unsigned mask);

/* dir_parse.c */
/* One entry in a JSON form; `stored` adds token_hash and identity
 * timestamps. New reference, NULL on OOM. */
json_t *dir_org_json(const dir_org *o, bool stored);
json_t *dir_user_json(const dir_user *u, bool stored);
json_t *dir_community_json(const dir_community *c);
json_t *dir_collection_json(const dir_collection *c);

#endif
