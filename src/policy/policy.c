/*
 * policy.c: policy_decide, the one place renkei decides who may see and do
 * what (docs/confidentiality.md is the rule book; the rule numbers below
 * are its).
 *
 * Decisions are layered, and each layer can only refuse what the one
 * before allowed:
 *
 *   subject    anonymous: only public collections and their TLP:CLEAR
 *      |       objects; anything else 401, existing or not
 *   reach      (R1) neither a member of the collection's community nor a
 *      |       client of a member -> 404: the subject must not learn that
 *      |       the API root or collection exists
 *   role       (R2) collection's can_read / can_write lacks the user's
 *      |       role -> 403
 *   object     read (R3-R6): the owner, else the audience; refused -> 404,
 *              the same as an object never stored. The view (R7, granular
 *              markings) in policy_view.c. Write: owner, created_by_ref,
 *              re-sharing -> 403. Delete: the owner; anyone else 403 if
 *              it may read the object, 404 if not.
 *
 * POLICY_ADMIN stands apart: only the admin role administers the
 * directory. The admin role gets nothing else for free: reading and
 * writing collections follows the same rules as every other role, so an
 * administrator of the directory is not a reader of all intelligence.
 * POLICY_SEND_ONWARD answers "may this object go there" for the parts of
 * renkei that send objects out of the hub (the onward-path table).
 *
 * Pure function of its arguments: no state, safe from any thread; it
 * allocates only the redacted view it returns. Reasons are for the
 * operator's log and never name anything the subject could not already
 * see.
 */
#include <stdarg.h>
#include <string.h>

#include "policy_int.h"

static policy_decision allow(void)
{
	policy_decision d = {.allow = true, .http_status = 200};
	return d;
}

policy_decision policy_deny(int status, const char *fmt, ...)
{
	policy_decision d = {.allow = false, .http_status = status};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d.reason, sizeof d.reason, fmt, ap);
	va_end(ap);
	return d;
}
#define deny policy_deny

static stix_tlp strictest_level(const policy_audience *a);

policy_subject policy_subject_of(const directory *dir, const dir_user *user)
{
	policy_subject s = {.user = user, .org = NULL};
	if (user)
		s.org = dir_find_org(dir, user->org);
	return s;
}

static bool anonymous(const policy_subject *s)
{
	return !s || !s->user || !s->org;
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

static bool has_public_collection(const directory *dir, const dir_community *c)
{
	for (size_t i = 0; i < dir->n_collections; i++)
		if (dir->collections[i].is_public &&
		    strcmp(dir->collections[i].community, c->id) == 0)
			return true;
	return false;
}

/* R1 for an API root: members and clients of members; anonymous readers
 * reach communities with a public collection. */
static policy_decision see_community(const directory *dir, const policy_subject *s,
				     const dir_community *c)
{
	if (anonymous(s)) {
		if (c && has_public_collection(dir, c))
			return allow();
		return deny(401, "authentication required");
	}
	if (!c)
		return deny(404, "no such API root");
	if (!dir_org_reaches(dir, c, s->org->id))
		return deny(404, "organisation %s does not reach this community", s->org->id);
	return allow();
}

/* R1 and R2 for a collection. */
static policy_decision collection_access(const directory *dir,
					 const policy_subject *s,
					 const policy_resource *res, bool write)
{
	const dir_collection *col = res->collection;
	policy_decision d;

	if (anonymous(s)) {
		if (col && col->is_public && !write &&
		    (!res->community || strcmp(res->community->id, col->community) == 0))
			return allow();
		return deny(401, "authentication required");
	}
	if (!col)
		return deny(404, "no such collection");
	d = see_community(dir, s, community_of(dir, res));
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

/* ---------------------------------------------------------------- audience */

static bool in_list(char *const *l, size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i], v) == 0)
			return true;
	return false;
}

bool policy_reader_allowed(const directory *dir, const dir_org *org,
			   const dir_user *user, const dir_collection *col,
			   const policy_audience *a, stix_tlp level)
{
	bool lists = a->n_distribution || a->n_communities;

	if (!org) /* anonymous (R6) */
		return level == STIX_TLP_CLEAR && !lists && !a->n_recipients;
	switch (level) {
	case STIX_TLP_CLEAR:
	case STIX_TLP_GREEN:
	case STIX_TLP_AMBER:
		break;
	case STIX_TLP_AMBER_STRICT: {
		const dir_community *c = col ? dir_find_community(dir, col->community) : NULL;
		if (!c || !dir_org_is_member(c, org->id))
			return false;
		break;
	}
	case STIX_TLP_RED:
		if (!in_list(a->recipients, a->n_recipients, org->identity_id) &&
		    !(user && in_list(a->recipients, a->n_recipients, user->identity_id)))
			return false;
		break;
	default:
		return false;
	}
	if (!lists) /* R5 */
		return true;
	if (in_list(a->distribution, a->n_distribution, org->identity_id))
		return true;
	for (size_t i = 0; i < a->n_communities; i++)
		if (dir_org_is_member(dir_find_community(dir, a->communities[i]), org->id))
			return true;
	return false;
}

/* R4 and R5 at the object's level and at every granular level of its
 * required properties. */
static bool audience_allows(const directory *dir, const dir_org *org,
			    const dir_user *user, const dir_collection *col,
			    const policy_audience *a)
{
	if (!policy_reader_allowed(dir, org, user, col, a, a->tlp))
		return false;
	for (int l = STIX_TLP_CLEAR; l <= STIX_TLP_RED; l++)
		if ((a->granular & (1u << l)) &&
		    !policy_reader_allowed(dir, org, user, col, a, (stix_tlp)l))
			return false;
	return true;
}

static bool owns(const policy_subject *s, const policy_audience *a)
{
	return !anonymous(s) && a && a->owner && strcmp(a->owner, s->org->id) == 0;
}

/*
 * Reading one stored object version. Every path that reveals an object, or
 * its existence (objects, manifests, versions, counts, headers), decides
 * here: R1-R2 for the collection, R3 the owner, R4-R6 the audience, and
 * with res->json the view (R7, granular markings).
 */
static policy_decision read_object(const directory *dir, const policy_subject *s,
				   const policy_resource *res)
{
	policy_decision d = collection_access(dir, s, res, false);

	if (!d.allow)
		return d;
	if (!res->audience)
		return deny(404, "no such object"); /* nothing to decide on: refuse */
	if (owns(s, res->audience))
		return allow();
	if (!audience_allows(dir, anonymous(s) ? NULL : s->org, anonymous(s) ? NULL : s->user,
			     res->collection, res->audience))
		return deny(404, "no such object");
	if (res->json)
		return policy_view(dir, s, res);
	return allow();
}

/* ---------------------------------------------------------------- writes */

/* Every organisation reaching `wider` also reaches `narrower` (members and
 * clients); with members_only, members of `wider` are members of
 * `narrower`. */
static const dir_org *outside(const directory *dir, const dir_community *wider,
			      const dir_community *narrower, bool members_only)
{
	for (size_t i = 0; i < dir->n_orgs; i++) {
		const dir_org *o = &dir->orgs[i];
		bool in_wide = members_only ? dir_org_is_member(wider, o->id)
					    : dir_org_reaches(dir, wider, o->id);
		bool in_narrow = members_only ? dir_org_is_member(narrower, o->id)
					      : dir_org_reaches(dir, narrower, o->id);
		if (in_wide && !in_narrow)
			return o;
	}
	return NULL;
}

/* Re-sharing (docs "Re-sharing"): posting a stored object into another
 * collection must not widen its audience. */
static policy_decision reshare(const directory *dir, const policy_resource *res)
{
	const dir_collection *to = res->collection, *from = res->stored_in;
	/* Judged by how the object is marked where it is stored. */
	const policy_audience *a = res->stored_audience ? res->stored_audience : res->audience;
	const dir_community *cto, *cfrom;

	if (!from || !a || strcmp(from->id, to->id) == 0)
		return allow();
	cto = dir_find_community(dir, to->community);
	cfrom = dir_find_community(dir, from->community);
	if (!cto || !cfrom)
		return deny(403, "re-sharing: unknown community");
	switch (a->tlp) {
	case STIX_TLP_CLEAR:
		return allow();
	case STIX_TLP_GREEN:
		if (to->is_public)
			return deny(403, "re-sharing would publish a TLP:GREEN object: "
					 "collection '%s' is public", to->title);
		return allow();
	case STIX_TLP_AMBER:
	case STIX_TLP_AMBER_STRICT: {
		bool strict = a->tlp == STIX_TLP_AMBER_STRICT;
		if (to->is_public || outside(dir, cto, cfrom, strict))
			return deny(403,
				    "re-sharing would widen the audience of a %s object: "
				    "collection '%s' reaches organisations outside "
				    "community '%s'",
				    stix_tlp_name(a->tlp), to->title, cfrom->id);
		return allow();
	}
	case STIX_TLP_RED:
		for (size_t i = 0; i < a->n_recipients; i++) {
			const dir_org *org;
			const dir_user *user;
			if (!dir_find_identity(dir, a->recipients[i], &org, &user))
				continue;
			const char *oid = org ? org->id : user->org;
			if (!dir_org_reaches(dir, cto, oid))
				return deny(403,
					    "re-sharing a TLP:RED object: collection '%s' "
					    "does not reach recipient organisation %s",
					    to->title, oid);
		}
		return to->is_public ? deny(403, "re-sharing would publish a TLP:RED object")
				     : allow();
	default:
		return deny(403, "re-sharing: unknown TLP level");
	}
}

/* An object version already stored belongs to the organisation that first
 * stored its id; nobody else may add versions of it or delete it. */
static policy_decision owned_by_subject(const policy_subject *s, const char *owner_org)
{
	if (owner_org && strcmp(owner_org, s->org->id) != 0)
		return deny(403, "owned by another organisation");
	return allow();
}

/* The lists of `a` name only what the lists of `wide` name: every entry
 * of a's list is in wide's, and a has a list wherever wide has one. */
static bool lists_within(char *const *a, size_t na, char *const *wide, size_t nwide)
{
	if (!nwide)
		return true;
	if (!na)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!in_list(wide, nwide, a[i]))
			return false;
	return true;
}

/*
 * Sightings (docs "Sightings"): a sighting tells its readers that what it
 * sights exists and was seen, so in the collection that holds both it
 * must not reach anyone the sighted object does not: its TLP level is at
 * least the sighted object's, and its recipients, distribution and
 * communities lie within the sighted object's. Judged only when the
 * writer may read the sighted object itself (R1 to R6, as a read of it
 * would be decided); otherwise the rule would
 * tell the writer how a hidden object is marked. (Elsewhere, R7 already
 * withholds a sighting from whoever may not read what it sights.)
 */
static policy_decision sighting_markings(const directory *dir, const policy_subject *s,
					 const policy_resource *res)
{
	const policy_audience *a = res->audience, *of = res->sighted_audience;
	const dir_collection *in = res->sighted_in;

	if (!a || !of || !in || !res->object || !res->object->type ||
	    strcmp(res->object->type, "sighting") != 0)
		return allow();
	policy_resource as_read = {.collection = in, .audience = of};
	if (!read_object(dir, s, &as_read).allow)
		return allow();
	if (a->tlp < of->tlp)
		return deny(403, "a sighting must be marked at least as strictly as what it "
				 "sights: %s sighting of a %s object", stix_tlp_name(a->tlp),
			    stix_tlp_name(of->tlp));
	if ((a->tlp == STIX_TLP_RED && of->tlp == STIX_TLP_RED &&
	     !lists_within(a->recipients, a->n_recipients, of->recipients, of->n_recipients)) ||
	    !lists_within(a->distribution, a->n_distribution, of->distribution,
			  of->n_distribution) ||
	    !lists_within(a->communities, a->n_communities, of->communities, of->n_communities))
		return deny(403, "a sighting must not name readers beyond those of what it "
				 "sights (recipients, distribution, communities)");
	return allow();
}

/*
 * Relay (docs "Federation"): a user of role partner is a partner hub
 * writing objects that organisations of the other hub created, so its
 * objects may name another creator, but never an organisation that is a
 * member of a community here (that would put words in a local
 * organisation's mouth; such objects never need to come back). And a
 * partner hub may bring AMBER, AMBER+STRICT or RED only to organisations
 * it names: an object with recipients or distribution (whoever created
 * it), and a relayed AMBER or AMBER+STRICT object, must name an
 * organisation that reaches the collection's community; anything else
 * was not for this hub and is refused. (A partner's own AMBER object
 * without names is for the collection's audience, as from any writer.)
 */
static bool is_local_member(const directory *dir, const char *identity_id,
			    const dir_org *except)
{
	const dir_org *o = NULL;
	const dir_user *u = NULL;

	if (!dir_find_identity(dir, identity_id, &o, &u))
		return false;
	if (!o && u)
		o = dir_find_org(dir, u->org);
	if (!o || (except && strcmp(o->id, except->id) == 0))
		return false;
	for (size_t i = 0; i < dir->n_communities; i++)
		if (dir_org_is_member(&dir->communities[i], o->id))
			return true;
	return false;
}

static bool names_reader_here(const directory *dir, const dir_community *c,
			      char *const *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const dir_org *o = NULL;
		const dir_user *u = NULL;
		if (!dir_find_identity(dir, ids[i], &o, &u))
			continue;
		const char *oid = o ? o->id : u->org;
		if (dir_org_reaches(dir, c, oid))
			return true;
	}
	return false;
}

static policy_decision relay(const directory *dir, const policy_subject *s,
			     const policy_resource *res)
{
	const policy_audience *a = res->audience;
	const char *creator = res->object ? res->object->created_by_ref : NULL;

	if (creator && strcmp(creator, s->org->identity_id) != 0 &&
	    is_local_member(dir, creator, s->org))
		return deny(403, "a partner hub may not relay objects created by %s, an "
				 "organisation of this hub", creator);
	if (!a)
		return allow();
	bool relayed = creator && strcmp(creator, s->org->identity_id) != 0;
	bool named = a->n_recipients || a->n_distribution;
	if (named || (relayed && strictest_level(a) >= STIX_TLP_AMBER)) {
		const dir_community *c = community_of(dir, res);
		if (!c || !(names_reader_here(dir, c, a->recipients, a->n_recipients) ||
			    names_reader_here(dir, c, a->distribution, a->n_distribution)))
			return deny(403, "a partner hub may bring a %s object %s only when it names "
					 "an organisation of this community",
				    stix_tlp_name(strictest_level(a)),
				    named ? "for named organisations" : "of another creator");
	}
	return allow();
}

static policy_decision write_object(const directory *dir, const policy_subject *s,
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
	if (s->user->role == DIR_ROLE_PARTNER) {
		d = relay(dir, s, res);
		if (!d.allow)
			return d;
	} else if (res->object && res->object->created_by_ref &&
		   strcmp(res->object->created_by_ref, s->org->identity_id) != 0)
		return deny(403, "created_by_ref %s is not the identity of organisation %s (%s)",
			    res->object->created_by_ref, s->org->id, s->org->identity_id);
	d = reshare(dir, res);
	if (!d.allow)
		return d;
	return sighting_markings(dir, s, res);
}

static policy_decision delete_object(const directory *dir, const policy_subject *s,
				     const policy_resource *res)
{
	policy_decision d = collection_access(dir, s, res, true);

	if (!d.allow)
		return d;
	if (!res->owner_org || strcmp(res->owner_org, s->org->id) == 0)
		return allow();
	/* Someone else's object: refused, in the words it would get for an
	 * id never stored unless it may read the object. */
	if (res->audience &&
	    audience_allows(dir, s->org, s->user, res->collection, res->audience))
		return deny(403, "owned by another organisation");
	return deny(404, "no such object");
}

/* ---------------------------------------------------------------- onward */

/* Whether organisation o may read the object as an organisation (no
 * user): reach, and the audience at the organisation's level. */
static bool org_reads(const directory *dir, const dir_org *o, const dir_collection *col,
		      const policy_audience *a)
{
	const dir_community *c = dir_find_community(dir, col->community);

	if (!o || !c)
		return false;
	if (a->owner && strcmp(a->owner, o->id) == 0)
		return true;
	return dir_org_reaches(dir, c, o->id) && audience_allows(dir, o, NULL, col, a);
}

/* Two communities are connected when they are the same or share a member. */
static bool connected(const dir_community *a, const dir_community *b)
{
	if (!a || !b)
		return false;
	if (strcmp(a->id, b->id) == 0)
		return true;
	for (size_t i = 0; i < a->n_members; i++)
		if (dir_org_is_member(b, a->members[i]))
			return true;
	return false;
}

/* The strictest TLP level of an audience: the object's, or a granular
 * marking's on a required property (which cannot be cut out of a copy). */
static stix_tlp strictest_level(const policy_audience *a)
{
	stix_tlp level = a->tlp;
	for (int l = STIX_TLP_RED; l > (int)level; l--)
		if (a->granular & (1u << l))
			return (stix_tlp)l;
	return level;
}

/* Whether the object's recipients or distribution name one of the
 * identities named on the partner hub it would go to. */
static bool names_partner_recipient(const policy_audience *a, const policy_resource *res)
{
	for (size_t i = 0; i < res->n_onward_recipients; i++) {
		const char *id = res->onward_recipients[i];
		if (in_list(a->recipients, a->n_recipients, id) ||
		    in_list(a->distribution, a->n_distribution, id))
			return true;
	}
	return false;
}

static policy_decision send_onward(const directory *dir, const policy_resource *res)
{
	const policy_audience *a = res->audience;
	const dir_collection *col = res->collection;
	bool lists = a && (a->n_distribution || a->n_communities);

	if (!a || !col)
		return deny(403, "onward: no object");
	switch (res->onward) {
	case POLICY_ONWARD_PUBLIC:
		/* What R6 lets anonymous readers read: TLP:CLEAR without lists,
		 * and no granular marking on a required property above CLEAR. */
		if (strictest_level(a) == STIX_TLP_CLEAR && !lists && !a->n_recipients)
			return allow();
		return deny(403, "only TLP:CLEAR objects without distribution limits are public");
	case POLICY_ONWARD_PARTNER_HUB: {
		const dir_community *x = res->onward_community;
		if (!x)
			return deny(403, "onward: no community");
		if (a->n_communities && !in_list(a->communities, a->n_communities, x->id))
			return deny(403, "community %s is not in the object's communities", x->id);
		/* An object for named organisations (recipients, distribution)
		 * goes to a partner only when it names one of the recipients
		 * named on that partner, whatever its level: there, the
		 * partner hub's own policy keeps it to those it names. */
		if (a->n_distribution || a->n_recipients) {
			if (names_partner_recipient(a, res))
				return allow();
			return deny(403, "an object for named organisations goes only to a partner "
					 "hub where one of them is named");
		}
		/* a copy goes whole: a granular marking on a required property
		 * counts like the object's own */
		stix_tlp level = strictest_level(a);
		if (level == STIX_TLP_CLEAR)
			return allow();
		if (level == STIX_TLP_GREEN && connected(dir_find_community(dir, col->community), x))
			return allow();
		return deny(403, "%s does not leave for community %s", stix_tlp_name(level), x->id);
	}
	case POLICY_ONWARD_INTERNAL:
	case POLICY_ONWARD_NOTIFY: {
		const dir_org *o = res->onward_org;
		if (!o)
			return deny(403, "onward: no organisation");
		if (a->tlp == STIX_TLP_RED &&
		    !in_list(a->recipients, a->n_recipients, o->identity_id) &&
		    !(a->owner && strcmp(a->owner, o->id) == 0))
			return deny(403, "TLP:RED goes to its recipient organisations only");
		if (!org_reads(dir, o, col, a))
			return deny(403, "organisation %s may not read this object", o->id);
		return allow();
	}
	}
	return deny(403, "unknown onward path");
}

policy_decision policy_decide(const directory *dir, const policy_subject *subject,
			      policy_action action, const policy_resource *res)
{
	static const policy_resource none = {0};

	if (!res)
		res = &none;
	switch (action) {
	case POLICY_SEE_API_ROOT:
		return see_community(dir, subject, community_of(dir, res));
	case POLICY_READ_COLLECTION:
		return collection_access(dir, subject, res, false);
	case POLICY_READ_OBJECT:
		return read_object(dir, subject, res);
	case POLICY_SEND_ONWARD:
		return send_onward(dir, res);
	default:
		break;
	}
	if (anonymous(subject))
		return deny(401, "authentication required");
	switch (action) {
	case POLICY_ADMIN:
		if (subject->user->role != DIR_ROLE_ADMIN)
			return deny(403, "role %s may not administer the directory",
				    dir_role_name(subject->user->role));
		return allow();
	case POLICY_WRITE_COLLECTION:
		return collection_access(dir, subject, res, true);
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
	default:
		break;
	}
	return deny(403, "unknown action");
}
