/*
 * proto_oracle.h: a second, independent implementation of the rule book
 * docs/confidentiality.md, for tests/protocol/test_confidentiality.c.
 *
 * The oracle is written from the document alone and never calls src/policy
 * (nor src/stix's marking tables: the TLP identifiers are spelt out again
 * here). It holds a small world (organisations, users, communities,
 * collections, and every stored version of every object with its owner)
 * and answers, for one reader at a time:
 *   - reach, permission, API roots and collections (R1, R2);
 *   - whether a stored version may be read in a collection, and if so the
 *     exact object served (R3 to R7, granular redaction, reference
 *     filtering), with the rule that decided in words;
 *   - whether a posted object must be refused, and the documented reason
 *     (Submission, Versions, Re-sharing, Sightings).
 *
 * Invariants: the world is filled by the test before any reader is asked;
 * all versions of an id keep the markings of the first (the test posts
 * them so), so a decision is per row but never differs between versions of
 * one id. Verdicts are cached per reader and freed when the reader
 * changes. Nothing here talks to the hub.
 */
#ifndef RK_PROTO_ORACLE_H
#define RK_PROTO_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common.h"

/* The renkei distribution extension (docs/confidentiality.md, Terms). */
#define OR_EXT_ID "extension-definition--4e3c1a2b-8f7d-4c6e-9b5a-1d2e3f4a5b6c"
/* Namespace of organisation and user identity ids (UUIDv5). */
#define OR_IDENTITY_NS "90d694ba-160d-4d91-a625-be23d4aebeb8"

#define OR_MAX_ORGS 32
#define OR_MAX_USERS 192
#define OR_MAX_COMMS 12
#define OR_MAX_COLLS 24
#define OR_ANON (-1) /* the anonymous reader */

typedef enum {
	OR_TLP_NONE = -1,
	OR_TLP_CLEAR = 0,
	OR_TLP_GREEN,
	OR_TLP_AMBER,
	OR_TLP_AMBER_STRICT,
	OR_TLP_RED,
} or_tlp;

typedef enum {
	OR_ROLE_ADMIN,
	OR_ROLE_ANALYST,
	OR_ROLE_READER,
	OR_ROLE_SENSOR,
	OR_ROLE_PARTNER,
	OR_ROLE_COUNT
} or_role;

typedef struct or_org {
	char slug[32];
	char identity[64]; /* identity--<UUIDv5(ns, slug)> */
	uint32_t clients;  /* bit per organisation index */
} or_org;

typedef struct or_user {
	char name[64];
	int org;
	or_role role;
	char token[80];
	char identity[64]; /* identity--<UUIDv5(ns, "user:" name)> */
} or_user;

typedef struct or_comm {
	char id[32];
	uint32_t members; /* bit per organisation index */
} or_comm;

typedef struct or_coll {
	char id[RK_UUID_BUF];
	int comm;
	or_tlp default_tlp;
	bool public;
	unsigned can_read, can_write; /* bit per or_role */
} or_coll;

typedef struct or_object {
	char id[96];
	char type[40];
	int owner; /* organisation index: the first to store the id */
} or_object;

/* One stored version of one object in one collection. */
typedef struct or_row {
	int coll;
	size_t obj;
	json_t *json;      /* the version as the hub keeps it */
	char version[40];  /* modified (or created) */
	rk_time version_time;
	rk_time date_added; /* from the store, once known */
	uint64_t seq;
	/* derived by or_world_add_row */
	or_tlp marked; /* the TLP marking among object_marking_refs, or NONE */
	const json_t *recipients, *distribution, *communities; /* NULL if absent */
} or_row;

typedef struct or_world {
	or_org orgs[OR_MAX_ORGS];
	int n_orgs;
	or_user users[OR_MAX_USERS];
	int n_users;
	or_comm comms[OR_MAX_COMMS];
	int n_comms;
	or_coll colls[OR_MAX_COLLS];
	int n_colls;
	or_object *objs;
	size_t n_objs, cap_objs;
	or_row *rows;
	size_t n_rows, cap_rows;
	/* id -> object index, open addressing */
	size_t *slots;
	size_t n_slots;
} or_world;

/* ---------------------------------------------------------------- TLP */

/* The level a marking-definition id stands for: TLP 2.0 ids, and TLP 1.0
 * ids read as their TLP 2.0 counterparts (WHITE as CLEAR). */
or_tlp or_tlp_of_marking(const char *id);
const char *or_tlp2_marking(or_tlp level);
/* TLP 1.0 id of a level; NULL for AMBER+STRICT, which TLP 1.0 lacks. */
const char *or_tlp1_marking(or_tlp level);
const char *or_tlp_name(or_tlp level); /* "TLP:AMBER+STRICT" */
const char *or_role_name(or_role role);

/* ---------------------------------------------------------------- world */

void or_world_init(or_world *w);
void or_world_free(or_world *w);
/* identity--<UUIDv5(OR_IDENTITY_NS, name)> into out (64 bytes). */
void or_identity(const char *name, char out[64]);
int or_find_org_by_identity(const or_world *w, const char *identity);
int or_find_user_by_identity(const or_world *w, const char *identity);
int or_find_comm(const or_world *w, const char *id);
/* Object index of an id stored anywhere, or -1. */
long or_find_object(const or_world *w, const char *id);
size_t or_world_add_object(or_world *w, const char *id, const char *type, int owner);
/* Takes the reference to json. */
size_t or_world_add_row(or_world *w, int coll, size_t obj, json_t *json);
/* The row of (coll, id, version), or -1. */
long or_find_row(const or_world *w, int coll, const char *id, const char *version);
/* TLP level of a row in its collection. */
or_tlp or_row_level(const or_world *w, const or_row *r);

/* ---------------------------------------------------------------- reach */

bool or_member(const or_world *w, int comm, int org);
/* The reader's organisation is a member of comm or a client of a member. */
bool or_org_reaches_comm(const or_world *w, int org, int comm);
/* API root visible to the reader (discovery, API root). */
bool or_sees_root(const or_world *w, int reader, int comm);
/* R1 */
bool or_reaches(const or_world *w, int reader, int coll);
/* R1 and R2 */
bool or_may_read_coll(const or_world *w, int reader, int coll);
/* R1 and the role in can_write (never anonymous) */
bool or_may_write_coll(const or_world *w, int reader, int coll);
/* Members plus their clients, as an organisation bit set. */
uint32_t or_audience(const or_world *w, int coll);

/* ---------------------------------------------------------------- reading */

typedef struct or_verdict {
	bool visible;
	json_t *served; /* visible: the object as the reader must get it */
	char why[200];  /* hidden: the rule that hid it; visible: the grounds */
	char changed[200]; /* visible: what was redacted or filtered, "" if whole */
} or_verdict;

typedef struct or_oracle {
	const or_world *w;
	int reader;
	or_verdict *v;         /* per row */
	unsigned char *state;  /* per row: 0 unknown, 1 deciding, 2 decided */
	unsigned char *anywhere; /* per object: 0 unknown, 1 deciding, 2 yes, 3 no */
	unsigned char *stored;   /* per object: some version is stored */
	size_t n_rows, n_objs;
} or_oracle;

void or_oracle_init(or_oracle *o, const or_world *w);
void or_oracle_free(or_oracle *o);
/* Starts answering for another reader (user index or OR_ANON). */
void or_oracle_reader(or_oracle *o, int reader);
const or_verdict *or_decide(or_oracle *o, size_t row);
/* May the reader read some stored version of the object in some
 * collection it reaches (the References test)? */
bool or_readable_anywhere(or_oracle *o, size_t obj);

/* ---------------------------------------------------------------- onward */

/*
 * docs/confidentiality.md, "Onward paths": may stored version `row` go to
 * (b) the public export (org OR_ANON) or (c) the internal export of
 * organisation org? On refusal why receives the rule. Readings taken:
 *   - "O may read the object" is read at the organisation's level (no
 *     user, no role): the owner; otherwise O reaches the collection's
 *     community (a member, or a client of one) and the object's audience
 *     admits O (R4 with O as the reader's organisation, R5, and the same
 *     for each TLP level of a granular marking on a required property);
 *   - TLP:RED: "only when O is a recipient" means O's own identity is
 *     among the recipients (a user of O named alone is not O);
 *   - (b) takes R6's wording for anonymous readers: TLP:CLEAR without
 *     recipients, distribution or communities, and no granular marking on
 *     a required property above TLP:CLEAR.
 */
bool or_onward_export(const or_world *w, int org, size_t row, char *why, size_t whylen);
/*
 * Column (a), a partner hub connected to community `comm` of this hub,
 * on which the identities `named` (n of them: organisations at the
 * partner) are named: may stored version `row` go there? Readings taken:
 *   - the level is the strictest of the object's and of granular TLP
 *     markings on required properties, as for (b) and (c);
 *   - an object with recipients or distribution goes, at any level,
 *     exactly when one of those lists names one of `named`;
 *   - otherwise CLEAR goes, GREEN when comm and the collection's
 *     community are the same or share a member, and the stricter levels
 *     never;
 *   - with a `communities` list, comm must be in it.
 */
bool or_onward_partner(const or_world *w, size_t row, int comm, const char *const *named,
		       size_t n, char *why, size_t whylen);

/* ---------------------------------------------------------------- submission */

/*
 * The documented reason a posted object must be refused, or NULL when it
 * must be stored. poster: user index; coll: target collection; obj: the
 * object as posted (before the hub completes it). The phrase returned is
 * the part of the reason the document quotes (or, where it quotes none,
 * the word it turns on), to be found in the refusal message.
 */
const char *or_submission_refusal(const or_world *w, int poster, int coll,
				  const json_t *obj);

/* ---------------------------------------------------------------- anonymous */

/*
 * docs/confidentiality.md, "Anonymous submission", read for what must
 * never reach anyone outside the submitting organisation `org`: its
 * organisation identity id and its users' (the table's first row: they
 * become the pseudonym everywhere, text included), its directory id as a
 * word (the name rule; ASCII case-insensitive, a word being a run of
 * letters and digits), and `secrets`, the values the test planted that a
 * scrubbing rule of the table must remove (e-mail addresses, query
 * strings, owned addresses and domains, personal names, the
 * organisation's name). True when `text` (anything served: an object, a
 * listing, a status, an export, an error) holds one; *why names it.
 */
bool or_anon_leaks(const or_world *w, int org, const char *text, const char *const *secrets,
		   size_t n_secrets, char *why, size_t whylen);
/* The pseudonym's shape (first row of the table): identity--<a version-4
 * UUID> that is no organisation's or user's identity in the world. */
bool or_anon_pseudonym_shape(const or_world *w, const char *id);
/* The id rule (third row): an id whose UUID is version 4 is served as
 * posted; any other is served under another id of the same type. */
bool or_anon_id_as_expected(const char *posted, const char *served);

#endif
