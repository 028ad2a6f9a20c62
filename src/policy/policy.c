/*
 * policy.c: policy_decide, the one place renkei decides who may see and do
 * what.
 *
 * Decisions are layered, and each layer can only refuse what the one
 * before allowed:
 *
 *   subject    anonymous -> 401 for everything
 *      |
 *   community  not a member of the collection's community -> 404: the
 *      |       subject must not learn that the API root or collection exists
 *   role       collection's can_read / can_write lacks the user's role -> 403
 *      |
 *   object     (write/delete) owner and created_by_ref must be the user's
 *              organisation -> 403; (read) the per-object rules in
 *              read_object()
 *
 * POLICY_ADMIN stands apart: only the admin role administers the
 * directory. The admin role gets nothing else for free: reading and
 * writing collections follows the same rules as every other role, so an
 * administrator of the directory is not a reader of all intelligence.
 *
 * Pure function of its arguments: no state, no allocation, safe from any
 * thread. Reasons are for the operator's log and never name anything the
 * subject could not already see.
 */
#include <stdarg.h>
#include <string.h>

#include "policy.h"

static policy_decision allow(void)
{
	policy_decision d = {.allow = true, .http_status = 200};
	return d;
}

static policy_decision deny(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static policy_decision deny(int status, const char *fmt, ...)
{
	policy_decision d = {.allow = false, .http_status = status};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d.reason, sizeof d.reason, fmt, ap);
	va_end(ap);
	return d;
}

policy_subject policy_subject_of(const directory *dir, const dir_user *user)
{
	policy_subject s = {.user = user, .org = NULL};
	if (user)
		s.org = dir_find_org(dir, user->org);
	return s;
}

static bool role_in(unsigned mask, dir_role role)
{
	return (unsigned)role < DIR_ROLE_COUNT && (mask & (1u << role));
}

/* The community a resource belongs to: given, or the collection's. */
static const dir_community *community_of(const directory *dir,
					 const policy_resource *res)
{
	if (res->community)
		return res->community;
	if (res->collection)
		return dir_find_community(dir, res->collection->community);
	return NULL;
}

/* Membership: an API root and everything under it exist, for the subject,
 * only if its organisation is a member. */
static policy_decision see_community(const policy_subject *s,
				     const dir_community *c)
{
	if (!c)
		return deny(404, "no such API root");
	if (!dir_org_is_member(c, s->org->id))
		return deny(404, "organisation %s is not a member of this community",
			    s->org->id);
	return allow();
}

static policy_decision collection_access(const directory *dir,
					 const policy_subject *s,
					 const policy_resource *res, bool write)
{
	const dir_collection *col = res->collection;
	policy_decision d;

	if (!col)
		return deny(404, "no such collection");
	d = see_community(s, community_of(dir, res));
	if (!d.allow)
		return d;
	if (res->community && strcmp(res->community->id, col->community) != 0)
		return deny(404, "collection not in this API root");
	if (!role_in(write ? col->can_write : col->can_read, s->user->role))
		return deny(403, "role %s may not %s collection %s",
			    dir_role_name(s->user->role), write ? "write to" : "read",
			    col->id);
	return allow();
}

/* An object version already stored belongs to the organisation that first
 * stored its id; nobody else may add versions of it or delete it. */
static policy_decision owned_by_subject(const policy_subject *s,
					const char *owner_org)
{
	if (owner_org && strcmp(owner_org, s->org->id) != 0)
		return deny(403, "object owned by another organisation");
	return allow();
}

static policy_decision write_object(const directory *dir,
				    const policy_subject *s,
				    const policy_resource *res)
{
	policy_decision d = collection_access(dir, s, res, true);

	if (!d.allow)
		return d;
	d = owned_by_subject(s, res->owner_org);
	if (!d.allow)
		return d;
	/* A user speaks only for its own organisation: an object naming
	 * another creator would put words in that organisation's mouth. The
	 * server sets created_by_ref on SDOs and SROs that lack it. */
	if (res->object && res->object->created_by_ref &&
	    strcmp(res->object->created_by_ref, s->org->identity_id) != 0)
		return deny(403, "created_by_ref %s is not the identity of organisation %s (%s)",
			    res->object->created_by_ref, s->org->id, s->org->identity_id);
	return allow();
}

static policy_decision delete_object(const directory *dir,
				     const policy_subject *s,
				     const policy_resource *res)
{
	policy_decision d = collection_access(dir, s, res, true);

	if (!d.allow)
		return d;
	return owned_by_subject(s, res->owner_org);
}

/*
 * Reading one stored object version (res->row) in a collection. Every path
 * that reveals an object, or its existence (objects, manifests, versions,
 * counts, headers), decides here. The collection's audience is its
 * community's members with a reading role; per-object limits (TLP marking,
 * narrower distribution, clients of members) narrow that audience in this
 * function and nowhere else.
 */
static policy_decision read_object(const directory *dir,
				   const policy_subject *s,
				   const policy_resource *res)
{
	return collection_access(dir, s, res, false);
}

policy_decision policy_decide(const directory *dir, const policy_subject *subject,
			      policy_action action, const policy_resource *res)
{
	static const policy_resource none = {0};

	if (!subject || !subject->user || !subject->org)
		return deny(401, "authentication required");
	if (!res)
		res = &none;
	switch (action) {
	case POLICY_ADMIN:
		if (subject->user->role != DIR_ROLE_ADMIN)
			return deny(403, "role %s may not administer the directory",
				    dir_role_name(subject->user->role));
		return allow();
	case POLICY_SEE_API_ROOT:
		return see_community(subject, community_of(dir, res));
	case POLICY_READ_COLLECTION:
		return collection_access(dir, subject, res, false);
	case POLICY_WRITE_COLLECTION:
		return collection_access(dir, subject, res, true);
	case POLICY_READ_OBJECT:
		return read_object(dir, subject, res);
	case POLICY_WRITE_OBJECT:
		return write_object(dir, subject, res);
	case POLICY_DELETE_OBJECT:
		return delete_object(dir, subject, res);
	case POLICY_READ_AUDIT:
		/* Who read an object is the owner's to know, and no one
		 * else's: 404, as for an object that does not exist. */
		if (!res->owner_org || strcmp(res->owner_org, subject->org->id) != 0)
			return deny(404, "only the owner organisation may see who read an object");
		return allow();
	}
	return deny(403, "unknown action");
}
