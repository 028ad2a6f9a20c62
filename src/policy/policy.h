/*
 * policy.h: the one decision function for who may see and do what.
 *
 * Every path in renkei that reveals anything (discovery, API roots,
 * collections, objects, manifests, versions, status, headers and counts),
 * changes anything, or sends an object out of the hub asks policy_decide(),
 * and nothing else decides. The rules are docs/confidentiality.md; this
 * header names them:
 *
 *  - reach (R1): a community, its API root and its collections exist for
 *    its member organisations and for their clients; a public collection
 *    also for anonymous readers;
 *  - permission (R2): the user's role is in the collection's can_read or
 *    can_write;
 *  - per object (R3-R6): the owner reads its objects whole; otherwise the
 *    object's audience (policy_audience: its TLP level, the renkei
 *    extension's recipients, distribution and communities, and the TLP
 *    levels of granular markings on its required properties) decides;
 *  - the view (R7, granular markings): an object read by a non-owner may be
 *    served redacted, with properties removed and references to objects the
 *    reader may not see dropped (policy_view);
 *  - onward paths and re-sharing: where an object may go from the hub;
 *  - sightings: a sighting is marked at least as strictly as what it
 *    sights, in the collection that holds both;
 *  - the audit trail: who read an object is shown to its owner
 *    organisation only (POLICY_READ_AUDIT).
 *
 * The decision is a pure function of the directory, the subject (an
 * authenticated user, or nobody), the action and the resource; it keeps no
 * state and is safe from any thread. A refusal carries the reason for the
 * operator's log and the status the caller should answer (401, 403, or 404
 * where existence itself must not leak).
 */
#ifndef RK_POLICY_H
#define RK_POLICY_H

#include "common.h"
#include "directory.h"
#include "store.h"

/* The renkei property-extension that names recipients and narrows
 * distribution (docs/confidentiality.md). */
#define POLICY_EXTENSION_ID "extension-definition--4e3c1a2b-8f7d-4c6e-9b5a-1d2e3f4a5b6c"

typedef enum {
	POLICY_SEE_API_ROOT,    /* resource: community */
	POLICY_READ_COLLECTION, /* resource: collection (listing it, its objects, manifest) */
	POLICY_WRITE_COLLECTION,/* resource: collection */
	POLICY_READ_OBJECT,     /* resource: collection + audience (+ object for the view) */
	POLICY_WRITE_OBJECT,    /* resource: collection + object facts + audience + stored owner */
	POLICY_DELETE_OBJECT,   /* resource: collection + stored owner (+ audience) */
	POLICY_SEND_ONWARD,     /* resource: collection + audience + onward destination */
	POLICY_ADMIN,           /* directory administration */
	POLICY_READ_AUDIT,      /* who read an object; resource: collection + stored owner */
} policy_action;

typedef struct policy_subject {
	const dir_user *user; /* NULL: anonymous */
	const dir_org *org;   /* the user's organisation */
} policy_subject;

/* ---------------------------------------------------------------- audience */
/* policy_audience.c */

/*
 * Who an object version is for: everything R4 and R5 look at. Lists hold
 * identity ids (recipients: organisations or users; distribution:
 * organisations) and community ids, sorted and without repeats. `granular`
 * has bit (1u << level) for every TLP level a granular marking gives to a
 * property the object's type requires: a reader must be allowed at each of
 * them to see the object at all. All versions of an id share one audience
 * (the hub refuses a version that changes it).
 */
typedef struct policy_audience {
	stix_tlp tlp;
	unsigned granular;
	char *owner; /* organisation id */
	char **recipients;
	size_t n_recipients;
	char **distribution;
	size_t n_distribution;
	char **communities;
	size_t n_communities;
} policy_audience;

/* What a caller of policy_audience_of tells it: the collection (its default
 * marking) and organisation the object is written to, and how to know a
 * non-TLP marking definition (one in the same envelope, or stored). */
typedef bool (*policy_marking_known_fn)(void *arg, const char *marking_id);

typedef struct policy_audience_src {
	const directory *dir;
	const dir_collection *collection;
	const char *owner; /* organisation id */
	policy_marking_known_fn marking_known;
	void *marking_arg;
} policy_audience_src;

/*
 * The audience of a valid STIX object (docs/confidentiality.md,
 * "Submission"): its TLP level (at most one TLP marking; none: the
 * collection's default), the renkei extension's lists (known identities
 * and communities only), TLP:RED only with recipients, every marking
 * reference known. `path` prefixes error paths ("objects[3]"). *flags gets
 * POLICY_F_* for what a read must look at in the object itself. out is
 * cleaned up with policy_audience_cleanup, also after an error.
 */
#define POLICY_F_REFS 0x1u     /* it references other objects (R7) */
#define POLICY_F_GRANULAR 0x2u /* it has granular TLP markings */
rk_err policy_audience_of(const policy_audience_src *src, const json_t *obj,
			  const char *path, policy_audience *out, unsigned *flags,
			  rk_errctx *ctx);
void policy_audience_cleanup(policy_audience *a);
/* The canonical text of an audience (the store keeps it as the object's
 * audience class: equal audiences, equal text), heap memory; NULL when out
 * of memory. */
char *policy_audience_key(const policy_audience *a);
/* Parses what policy_audience_key wrote. */
rk_err policy_audience_parse(const char *key, policy_audience *out, rk_errctx *ctx);

/*
 * The extension-definition object of POLICY_EXTENSION_ID (new reference),
 * which the hub serves to every reader of every collection. Its creator is
 * renkei itself (POLICY_RENKEI_IDENTITY: identity--UUIDv5 of the directory
 * namespace and "renkei"), and its schema the page of the rules.
 */
#define POLICY_RENKEI_IDENTITY "identity--45f0cdd2-0731-5727-b2d4-53353e4736c3"
json_t *policy_extension_definition(void);

/* ---------------------------------------------------------------- decision */

/* Where an object would go (POLICY_SEND_ONWARD, docs "Onward paths"). */
typedef enum {
	POLICY_ONWARD_PARTNER_HUB, /* (a) community: onward_community */
	POLICY_ONWARD_PUBLIC,      /* (b) */
	POLICY_ONWARD_INTERNAL,    /* (c) organisation: onward_org */
	POLICY_ONWARD_NOTIFY,      /* (d) organisation: onward_org */
} policy_onward;

/* Whether a referenced id may be shown to the subject (R7): the caller
 * looks the id up (every stored version, every collection) and asks
 * policy_decide for each; unknown ids are visible. */
typedef bool (*policy_ref_visible_fn)(void *arg, const char *object_id);

typedef struct policy_resource {
	const dir_community *community;
	const dir_collection *collection;
	const policy_audience *audience; /* READ/WRITE/DELETE_OBJECT, SEND_ONWARD */
	const stix_info *object;         /* WRITE_OBJECT: the object being written */
	const char *owner_org;           /* WRITE/DELETE_OBJECT, READ_AUDIT: stored owner,
					  * NULL if new */
	/* WRITE_OBJECT: a collection the id is already stored in (re-sharing),
	 * with the audience it has there (NULL: as `audience`); NULL when the
	 * id is new. */
	const dir_collection *stored_in;
	const policy_audience *stored_audience;
	/* WRITE_OBJECT of a sighting: the collection written to when it
	 * holds the object the sighting's sighting_of_ref names, and that
	 * object's audience; NULL when it does not hold it. */
	const dir_collection *sighted_in;
	const policy_audience *sighted_audience;
	/* READ_OBJECT, for the view: the object itself (NULL: decide on the
	 * audience only) and how to tell visible references. */
	const json_t *json;
	policy_ref_visible_fn ref_visible;
	void *ref_arg;
	/* SEND_ONWARD */
	policy_onward onward;
	const dir_community *onward_community;
	const dir_org *onward_org;
	/* SEND_ONWARD to a partner hub: the identities (organisations at the
	 * partner) named on that partner, to whom objects for named
	 * recipients may go (docs "Onward paths", (a)). */
	const char *const *onward_recipients;
	size_t n_onward_recipients;
} policy_resource;

typedef struct policy_decision {
	bool allow;
	int http_status; /* when refused: 401, 403 or 404 */
	/* READ_OBJECT with res->json: the object to serve when it may not be
	 * served as stored (granular redaction, hidden references); a new
	 * reference the caller releases. NULL: serve it as stored. */
	json_t *view;
	char reason[192];
} policy_decision;

/* policy.c */
/* Builds the subject for a user found in dir (user may be NULL). */
policy_subject policy_subject_of(const directory *dir, const dir_user *user);
policy_decision policy_decide(const directory *dir, const policy_subject *subject,
			      policy_action action, const policy_resource *res);

#endif
