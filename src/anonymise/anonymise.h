/*
 * anonymise.h: anonymous submission (docs/confidentiality.md, "Anonymous
 * submission").
 *
 * An organisation may post objects without being named. Before anyone else
 * can see such an object, the hub runs it through anon_envelope:
 *
 *   submitter's identities  -> one pseudonym per (organisation, community):
 *                              identity--<UUID from a keyed BLAKE2b of the
 *                              hub's secret, the organisation and the
 *                              community>, shaped as a version-4 UUID so it
 *                              is indistinguishable from a random id; nobody
 *                              without the secret goes from pseudonym to
 *                              organisation or links two communities'
 *                              pseudonyms
 *   ids that may encode      -> an object id whose UUID is not version 4
 *   something (v1: MAC and      (name-based ids of observables, time-based
 *   time; v3/v5: content)       ids) gets a keyed id of the same type, and
 *                              every reference to it in the envelope follows
 *   every string, at any     -> the scrubbing rules (anon_text.c): e-mail
 *   depth (description, name,   addresses, URL query strings and fragments,
 *   pattern, labels,            the submitter's own address ranges and
 *   external_references,        domains (IDN and subdomains included), the
 *   x_ properties,              submitter's name, names of individuals,
 *   extensions)                 configured PCRE2 patterns
 *
 * and what it cannot scrub with certainty is flagged for review: a value
 * that is the observable itself (a pattern, an observable's value) holding
 * an e-mail address, a URL query or one of the submitter's own addresses or
 * domains (scrubbing it would change what the indicator means), opaque
 * content (artifact payloads, e-mail bodies), and configured "review"
 * patterns. Flagged objects wait in the review queue (anon_state.c) until
 * a hub analyst approves or rejects them (anon_review.c).
 *
 * Markings (object_marking_refs, granular_markings) and the renkei
 * extension are never changed: they say who may read the object, and the
 * policy decides on them exactly as for a named submission.
 *
 * The transformation is a pure function of the rules, the key, the
 * submitter and the envelope; it keeps no state. The durable part (the key
 * file, the review queue, the originals kept for the submitter) is
 * anon_state, a SQLite database of its own in the hub's data directory
 * (anonymise.db, with the secret in anonymise.key beside it).
 *
 * Dependencies: policy, directory, store, stix, common; PCRE2 and
 * libsodium. Ownership: anon_*_new/load/open return heap objects freed by
 * the matching free/close (which accept NULL); *_init/cleanup act on caller
 * storage. Strings handed to callbacks are valid during the callback only.
 * A rules object is immutable once built and may be shared by threads; an
 * anon_state serialises its own calls.
 */
#ifndef RK_ANONYMISE_H
#define RK_ANONYMISE_H

#include "common.h"
#include "store.h"

#define ANON_KEY_BYTES 32

/* ---------------------------------------------------------------- assets */
/* anon_assets.c */

/* An address block: IPv6, IPv4 as ::ffff:a.b.c.d with prefix 96 + len. */
typedef struct anon_net {
	unsigned char addr[16];
	unsigned prefix;
} anon_net;

/*
 * What an organisation owns, as the scrubbing rules need it: address
 * blocks and domains. Domains are kept lowercase in their ASCII (ACE,
 * "xn--") form and, when they have one, their Unicode form, so a domain
 * is found whichever way the text writes it.
 */
typedef struct anon_assets {
	anon_net *nets;
	size_t n_nets;
	char **domains;   /* ACE form */
	char **domains_u; /* Unicode form, or NULL when it is the ACE form */
	size_t n_domains;
	uint32_t *asns;   /* AS numbers */
	size_t n_asns;
} anon_assets;

void anon_assets_init(anon_assets *a);
void anon_assets_cleanup(anon_assets *a);
/* "203.0.113.0/24", "2001:db8::/32", or a single address. RK_EINVAL with
 * the reason for anything else (host bits set included). */
rk_err anon_assets_add_cidr(anon_assets *a, const char *cidr, rk_errctx *ctx);
/* A domain name, ASCII or Unicode (IDN); a trailing dot is ignored. */
rk_err anon_assets_add_domain(anon_assets *a, const char *domain, rk_errctx *ctx);
/* An AS number ("AS64500" or "64500"). */
rk_err anon_assets_add_asn(anon_assets *a, const char *asn, rk_errctx *ctx);
/* Whether the 16-byte address (IPv4 mapped) is in one of the blocks. */
bool anon_assets_has_address(const anon_assets *a, const unsigned char addr[16]);
/* Punycode (RFC 3492) of one label's code points into ACE "xn--..."
 * form, and back; exposed for tests. False when it does not fit or is
 * malformed. */
bool anon_idn_to_ace(const char *domain, char *out, size_t outlen);
bool anon_idn_to_unicode(const char *domain, char *out, size_t outlen);

/* ---------------------------------------------------------------- rules */
/* anon_rules.c */

typedef enum { ANON_ACT_SCRUB, ANON_ACT_REVIEW } anon_action;

typedef struct anon_rules anon_rules;

/*
 * Parses a rules file (renkei-review(1), "RULES FILE"): one rule a line,
 * '#' comments,
 *
 *     pattern scrub NAME REGEX      matches are replaced by [redacted:NAME]
 *     pattern review NAME REGEX     a match holds the object for review
 *     owned ORG range CIDR          ORG's address block
 *     owned ORG domain DOMAIN       ORG's domain (and its subdomains)
 *     owned ORG asn ASN             ORG's AS number
 *
 * REGEX is the rest of the line, a PCRE2 pattern (UTF, case-sensitive
 * unless it says (?i)). Errors name file:line and why. `name` is the file
 * name used in messages. Bounds: RK_ANON_MAX_RULES, RK_MAX_CONFIG_LINE.
 */
rk_err anon_rules_parse(const char *text, size_t len, const char *name,
			anon_rules **out, rk_errctx *ctx);
rk_err anon_rules_load(const char *path, anon_rules **out, rk_errctx *ctx);
/* An empty rule set (the built-in rules only). */
rk_err anon_rules_empty(anon_rules **out, rk_errctx *ctx);
void anon_rules_free(anon_rules *r);
/* Adds the blocks and domains the rules file lists for organisation org. */
rk_err anon_rules_owned(const anon_rules *r, const char *org, anon_assets *out,
			rk_errctx *ctx);
size_t anon_rules_count(const anon_rules *r); /* pattern rules */

/* ---------------------------------------------------------------- transform */
/* anon_text.c, anon_object.c */

/* Names of the built-in rules, as findings and the audit name them. */
#define ANON_RULE_EMAIL "email"
#define ANON_RULE_URL_QUERY "url-query"
#define ANON_RULE_OWNED_ADDRESS "owned-address"
#define ANON_RULE_OWNED_DOMAIN "owned-domain"
#define ANON_RULE_OWNED_ASN "owned-asn"
#define ANON_RULE_SUBMITTER_NAME "submitter-name"
#define ANON_RULE_PERSON_NAME "person-name"
#define ANON_RULE_PERSONAL "personal-property"
#define ANON_RULE_OPAQUE "opaque-content"
#define ANON_RULE_SUBMITTER_ID "submitter-identity"
#define ANON_RULE_OBJECT_ID "object-id"
#define ANON_RULE_FIXED "fixed-property" /* type, created... a rule would change */

/* Who submits: the organisation, its names, its identities (the
 * organisation's and its users'), the community the object goes to and
 * what it owns (may be NULL). */
typedef struct anon_submitter {
	const char *org_id;
	const char *org_name;
	const char *community_id;
	const char *const *identity_ids;
	size_t n_identity_ids;
	const anon_assets *assets;
} anon_submitter;

/* One transformation: which rule, at which object (index in the envelope)
 * and which path inside it; never the value. */
typedef struct anon_finding {
	size_t object;
	const char *rule; /* static, or a pattern rule's name (lives with the rules) */
	char path[128];
	bool review; /* flagged for review rather than scrubbed */
} anon_finding;

typedef struct anon_result {
	char pseudonym[RK_MAX_STIX_ID + 1];
	anon_finding *findings;
	size_t n_findings;
	size_t n_objects;
	bool *review;   /* per object: held for review */
	bool *replaced; /* per object: an identity of the submitter, replaced by the pseudonym's */
} anon_result;

void anon_result_cleanup(anon_result *res);

/*
 * Transforms the envelope's objects array in place (elements that are not
 * JSON objects are left alone: validation refuses them later). After it no
 * string anywhere in `objects` holds one of the submitter's identity ids,
 * its name, or anything the rules scrub; identity objects of the submitter
 * (its identity id, or an identity named like it) have become the
 * pseudonym's identity object (res->replaced). RK_ENOMEM only.
 */
rk_err anon_envelope(const anon_rules *rules, const unsigned char key[ANON_KEY_BYTES],
		     const anon_submitter *sub, json_t *objects, anon_result *res,
		     rk_errctx *ctx);

/*
 * One string through the text rules: *out is a new heap string (the input
 * unchanged when nothing matched); rule names scrubbed or flagged are
 * reported through `note` (may be NULL). `observable`: the string is an
 * indicator's value (a pattern, an observable's value), where e-mail
 * addresses, URL queries and owned values are flagged, not only scrubbed.
 * `names` are extra names to scrub (individuals named in the envelope).
 */
typedef void (*anon_note_fn)(void *arg, const char *rule, bool review);
rk_err anon_scrub_text(const anon_rules *rules, const anon_submitter *sub,
		       const char *const *names, size_t n_names, const char *in,
		       bool observable, char **out, anon_note_fn note, void *arg);

/* The pseudonym of org in community, and the keyed replacement of an
 * object id (same type) for org in community. */
void anon_pseudonym(const unsigned char key[ANON_KEY_BYTES], const char *org,
		    const char *community, char out[RK_MAX_STIX_ID + 1]);
void anon_mapped_id(const unsigned char key[ANON_KEY_BYTES], const char *org,
		    const char *community, const char *id, char out[RK_MAX_STIX_ID + 1]);
/* The pseudonym's STIX identity object (new reference; NULL on OOM),
 * always the same for one id: fixed created/modified, TLP:CLEAR. */
#define ANON_PSEUDONYM_CREATED "2020-01-01T00:00:00.000Z"
json_t *anon_pseudonym_identity(const char *pseudonym_id);
/* Whether a STIX id's UUID is a version-4 UUID (kept as it is). */
bool anon_id_is_random(const char *id);

/* ---------------------------------------------------------------- state */
/* anon_state.c */

typedef struct anon_state anon_state;

/*
 * Opens <dir>/anonymise.db (creating it) and <dir>/anonymise.key (32
 * random bytes made on first use, mode 0600; a key file of another size is
 * refused). `dir` as store_open takes it ("sqlite:DIR" or DIR).
 */
rk_err anon_state_open(const char *dir, anon_state **out, rk_errctx *ctx);
void anon_state_close(anon_state *s);
const unsigned char *anon_state_key(const anon_state *s);

/* An original as the submitter posted it, kept for the submitter only. */
typedef struct anon_original {
	const char *org;
	const char *community;
	const char *collection;
	const char *posted_id; /* the id as posted */
	const char *stored_id; /* the id it is stored (or queued) under */
	const char *version;
	const char *object;    /* JSON text */
	rk_time kept;
} anon_original;

rk_err anon_state_keep(anon_state *s, const anon_original *o, size_t n, rk_errctx *ctx);
typedef rk_err (*anon_original_fn)(void *arg, const anon_original *o);
/* The originals of organisation org whose posted or stored id is id. */
rk_err anon_state_originals(anon_state *s, const char *org, const char *id,
			    anon_original_fn fn, void *arg, rk_errctx *ctx);
/* Deletes originals kept before `before`; *n_out (may be NULL) counts them. */
rk_err anon_state_purge(anon_state *s, rk_time before, size_t *n_out, rk_errctx *ctx);

/* One item of the review queue. */
typedef struct anon_review_item {
	const char *id;         /* UUID of the item */
	const char *state;      /* "pending", "approved", "rejected" */
	const char *org;
	const char *user;
	const char *community;
	const char *collection;
	const char *status_id;  /* the TAXII status the submitter reads */
	const char *posted_id;
	const char *stored_id;
	const char *version;
	const char *object;     /* the transformed object (NULL once rejected) */
	const char *findings;   /* "rule path" lines, no values */
	const char *reason;     /* the decision's reason, or NULL */
	rk_time received;
	rk_time decided;        /* 0 while pending */
} anon_review_item;

rk_err anon_state_queue(anon_state *s, const anon_review_item *items, size_t n,
			rk_errctx *ctx);
typedef rk_err (*anon_review_fn)(void *arg, const anon_review_item *it);
/* Items in a state ("pending"...; NULL: all), oldest first. */
rk_err anon_state_review_list(anon_state *s, const char *state, anon_review_fn fn,
			      void *arg, rk_errctx *ctx);
/* One item; RK_ENOTFOUND when there is none. */
rk_err anon_state_review_get(anon_state *s, const char *id, anon_review_fn fn,
			     void *arg, rk_errctx *ctx);
/* Pending -> approved or rejected (a rejected item's object is dropped).
 * RK_ECONFLICT when the item is not pending. */
rk_err anon_state_review_decide(anon_state *s, const char *id, bool approve,
				const char *reason, rk_errctx *ctx);
/* Drops the queue items of a status whose request was not stored. */
rk_err anon_state_forget_status(anon_state *s, const char *status_id, rk_errctx *ctx);

/* ---------------------------------------------------------------- review */
/* anon_review.c */

/*
 * Approves a pending item: loads the directory from the store, asks
 * policy_decide(POLICY_WRITE_OBJECT) for the submitting user as at
 * submission (the pseudonym speaks for the organisation), stores the
 * transformed object (and the pseudonym's identity) into its collection
 * with store_put, and moves the item's entry in the submitter's status
 * from pending to successes. A policy refusal rejects the item instead
 * (*approved false, the reason in `why`). RK_ENOTFOUND, RK_ECONFLICT (not
 * pending), RK_EDB...
 */
rk_err anon_review_approve(anon_state *as, store *st, const char *id, bool *approved,
			   char *why, size_t why_len, rk_errctx *ctx);
/* Rejects a pending item: drops the transformed object and moves its
 * status entry to failures with "rejected in review: REASON". */
rk_err anon_review_reject(anon_state *as, store *st, const char *id, const char *reason,
			  rk_errctx *ctx);
/* Moves the entry of posted_id in a stored status from pendings to
 * successes (ok) or failures, with message. */
rk_err anon_status_settle(store *st, const char *community, const char *status_id,
			  const char *posted_id, bool ok, const char *message,
			  rk_errctx *ctx);

#endif
