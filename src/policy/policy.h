/*
 * policy.h: the one decision function for who may see and do what.
 *
 * Every path in renkei that reveals anything (discovery, API roots,
 * collections, objects, manifests, versions, status, headers and counts) or
 * changes anything asks policy_decide(), and nothing else decides. The
 * decision is a pure function of the directory, the subject (an
 * authenticated user, or nobody), the action and the resource; it keeps no
 * state and is safe from any thread.
 *
 * Rules (collection level; per-object TLP 2.0 and distribution rules are
 * added in the same function):
 *  - an API root (community) is visible to members of the community;
 *  - a collection is readable by a member organisation's users whose role is
 *    in the collection's can_read, writable likewise with can_write;
 *  - an object version may be added or deleted only by its owner
 *    organisation (the first to store the id) with write permission;
 *  - a written object's created_by_ref, when present, must be the writing
 *    organisation's identity;
 *  - who read an object (the audit trail) is shown to its owner
 *    organisation only.
 * A refusal carries the reason for the operator's log and the status the
 * caller should answer (403, or 404 where existence itself must not leak).
 */
#ifndef RK_POLICY_H
#define RK_POLICY_H

#include "common.h"
#include "directory.h"
#include "store.h"

typedef enum {
	POLICY_SEE_API_ROOT,    /* resource: community */
	POLICY_READ_COLLECTION, /* resource: collection (listing it, its objects, manifest) */
	POLICY_WRITE_COLLECTION,/* resource: collection */
	POLICY_READ_OBJECT,     /* resource: collection + row */
	POLICY_WRITE_OBJECT,    /* resource: collection + object facts + stored owner */
	POLICY_DELETE_OBJECT,   /* resource: collection + stored owner */
	POLICY_ADMIN,           /* directory administration */
	POLICY_READ_AUDIT,      /* who read an object; resource: collection + stored owner */
} policy_action;

typedef struct policy_subject {
	const dir_user *user; /* NULL: anonymous */
	const dir_org *org;   /* the user's organisation */
} policy_subject;

typedef struct policy_resource {
	const dir_community *community;
	const dir_collection *collection;
	const store_row *row;        /* READ_OBJECT */
	const stix_info *object;     /* WRITE_OBJECT: the object being written */
	const char *owner_org;       /* WRITE/DELETE_OBJECT, READ_AUDIT: stored owner, NULL if new */
} policy_resource;

typedef struct policy_decision {
	bool allow;
	int http_status; /* when refused: 401, 403 or 404 */
	char reason[160];
} policy_decision;

/* policy.c */
/* Builds the subject for a user found in dir (user may be NULL). */
policy_subject policy_subject_of(const directory *dir, const dir_user *user);
policy_decision policy_decide(const directory *dir, const policy_subject *subject,
			      policy_action action, const policy_resource *res);

#endif
