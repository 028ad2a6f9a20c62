/*
 * federation.h: hub-to-hub federation (partner hubs: a national centre,
 * sector ISACs, partner CERTs abroad).
 *
 * A hub is configured with partner hubs (fed_config, an INI file named by
 * the hub's `federation` option). For each partner and each mapped
 * collection the hub pushes, after a durable cursor in store `seq` order,
 * the versions that policy_decide(POLICY_SEND_ONWARD,
 * POLICY_ONWARD_PARTNER_HUB) lets go to that partner, as ordinary TAXII
 * 2.1 envelopes POSTed to the partner's collection with the credentials
 * of a user of role `partner` there; and it sends the deletions it
 * recorded (tombstones) as TAXII DELETE requests. The receiving hub takes
 * them through its normal ingest (validation, policy, store, audit); the
 * federation module adds, for writers of role partner, the check of the
 * envelope's signature (fed_verify) and keeps where each relayed object
 * came from (provenance). A partner may also pull: the hub serves it the
 * page a push would have sent (fed_page_build, the same decisions and
 * signature), and the puller stores it through its own ingest as the
 * partner's user (src/taxii/taxii_federation.c).
 *
 * Signing: each hub has an Ed25519 key pair (fed_key, libsodium) in its
 * data directory. An envelope carries the member
 *
 *   "x_renkei_federation": {"hub": <sender's public key, base64>,
 *       "collection": <destination collection id>,
 *       "digests": [<BLAKE2b-256 of object i's bytes as sent, base64>, ...],
 *       "origins": [<public key of the hub object i was first published
 *                    on, base64>, ...],
 *       "signature": <Ed25519 over fed_signed_text(), base64>}
 *
 * One signature per envelope, over the list of per-object digests, so a
 * page costs one verification and each object is still checked on its
 * own: an altered object fails its digest and is refused while its
 * page-mates are stored.
 *
 * Loops: an object is never pushed to the partner whose organisation owns
 * it here (it came from there), nor to the hub it was first published on
 * (its origin, kept as provenance); so national -> ISAC -> CERT never
 * returns to national. An object that reaches a hub by two paths is
 * stored once: the store refuses the second arrival ("owned by another
 * organisation"), which the sender counts as held already.
 *
 * Durability: a push cursor moves only after the partner answered for the
 * page (its 202 means the objects are on its disk); a crash replays at
 * most one page, which the partner's store answers as duplicates.
 *
 * Threads: fed_state serialises its own use (one mutex); the rest is
 * called by one thread at a time per object.
 *
 * Ownership: the _open and _load functions return objects released by the
 * matching _close and _free; strings in returned structures belong to them.
 */
#ifndef RK_FEDERATION_H
#define RK_FEDERATION_H

#include <stdatomic.h>

#include "common.h"
#include "directory.h"
#include "policy.h"
#include "store.h"

#define FED_MEMBER "x_renkei_federation"
#define FED_KEY_FILE "federation.key"
#define FED_STATE_FILE "federation.db"
#define FED_KEY_B64 45 /* base64 of 32 bytes with padding, and NUL */

/* ---------------------------------------------------------------- config */
/* fed_config.c */

typedef struct fed_map {
	char *local;  /* collection id here */
	char *remote; /* collection id on the partner */
} fed_map;

typedef struct fed_partner {
	char *name;      /* the INI section */
	int line;        /* where the section starts */
	char *url;       /* the partner's TAXII server base */
	char *root;      /* its API root (name or URL) */
	char *token;     /* read from token_file, whitespace trimmed */
	char *token_file;
	char *cacert;    /* optional PEM bundle */
	unsigned char public_key[32];
	char public_key_b64[FED_KEY_B64];
	bool require_signature; /* default yes */
	char *org;       /* the organisation (role partner users) that is the partner here */
	char *community; /* local community the partner is connected to */
	fed_map *maps;      /* `collection`: what may flow to the partner, pushed
			     * by this hub or pulled by the partner */
	size_t n_maps;
	fed_map *in_maps;   /* `pull_collection`: the partner's REMOTE pulled into LOCAL */
	size_t n_in_maps;
	bool push, pull;    /* direction: this hub pushes (maps), pulls (in_maps);
			     * by default, whichever has pairs */
	bool direction_set;
	unsigned interval;        /* seconds between rounds */
	unsigned timeout;         /* seconds per request */
	char **recipients;        /* identities named on the partner (AMBER/RED) */
	size_t n_recipients;
} fed_partner;

typedef struct fed_config {
	char *path;
	fed_partner *partners;
	size_t n_partners;
} fed_config;

/*
 * Reads and checks a federation file: one [partner NAME] section per
 * partner (keys in man/renkei-federation.1). Every error names file:line.
 * With dir, names are checked against the directory (organisation,
 * community, collections, recipients). Token files are read here.
 */
rk_err fed_config_load(const char *path, const directory *dir, fed_config **out,
		       rk_errctx *ctx);
void fed_config_free(fed_config *cfg);
const fed_partner *fed_partner_of_org(const fed_config *cfg, const char *org_id);
const fed_partner *fed_partner_named(const fed_config *cfg, const char *name);
/* Checks names against a directory (the hub does this again on every
 * directory change); errors name file:line. */
rk_err fed_config_check_dir(const fed_config *cfg, const directory *dir, rk_errctx *ctx);

/* ---------------------------------------------------------------- keys */
/* fed_key.c */

typedef struct fed_key {
	unsigned char pk[32];
	unsigned char sk[64];
	char pk_b64[FED_KEY_B64];
} fed_key;

/* Loads <data>/federation.key; with create, makes a new key pair there
 * (mode 0600) when absent. */
rk_err fed_key_load(const char *data_dir, bool create, fed_key *out, rk_errctx *ctx);
/* Parses a base64 public key (32 bytes). */
bool fed_key_parse(const char *b64, unsigned char out[32]);
void fed_b64(const unsigned char *data, size_t len, char *out, size_t outlen);

/* An envelope being signed: objects' bytes, digests and origins. */
typedef struct fed_signer {
	const fed_key *key;
	rk_buf digests; /* 32 bytes per object */
	rk_buf origins; /* NUL-terminated origin keys */
	size_t n;
} fed_signer;

void fed_signer_init(fed_signer *s, const fed_key *key);
void fed_signer_cleanup(fed_signer *s);
void fed_signer_reset(fed_signer *s);
rk_err fed_signer_add(fed_signer *s, const char *text, size_t len, const char *origin);
/* Appends ,"x_renkei_federation":{...} for the destination collection. */
rk_err fed_signer_finish(fed_signer *s, const char *collection, rk_buf *out);

/*
 * Checks the federation member of an envelope posted by `p` into
 * collection `collection` with n objects whose bytes are texts[i]
 * (lens[i]; NULL: not available). ok[i] tells whether object i may be
 * taken; origins[i] (pointers into member or p) its origin hub. *why gets
 * the reason the first refused object was refused. RK_ENOMEM only.
 */
rk_err fed_verify(const fed_partner *p, const json_t *member, const char *collection,
		  size_t n, const char *const *texts, const size_t *lens, bool *ok,
		  const char **origins, char *why, size_t whylen);

/* ---------------------------------------------------------------- state */
/* fed_state.c */

typedef struct fed_state fed_state;

/* <data>/federation.db: cursors, provenance, tombstones, per-partner
 * status. Created when absent (unless readonly). */
rk_err fed_state_open(const char *data_dir, bool readonly, fed_state **out, rk_errctx *ctx);
void fed_state_close(fed_state *fs);

rk_err fed_cursor_get(fed_state *fs, const char *partner, const char *collection,
		      const char *kind, uint64_t *value, rk_errctx *ctx);
rk_err fed_cursor_set(fed_state *fs, const char *partner, const char *collection,
		      const char *kind, uint64_t value, rk_errctx *ctx);

/* Provenance of objects relayed by partners: origin is recorded when it
 * is not the relaying partner itself (that is implied by the owner). */
rk_err fed_provenance_put(fed_state *fs, const char *partner, const char *const *ids,
			  const char *const *origins, size_t n, rk_errctx *ctx);
/* *origin (up to FED_KEY_B64) or "" when none recorded. */
rk_err fed_provenance_get(fed_state *fs, const char *id, char *origin, rk_errctx *ctx);

/* A deletion of every version of id in a collection, with the owner and
 * audience key it had (so its onward decision is the object's). */
rk_err fed_tombstone_add(fed_state *fs, const char *collection, const char *id,
			 const char *owner, const char *audience, rk_errctx *ctx);
typedef struct fed_tombstone {
	uint64_t seq;
	const char *collection, *id, *owner, *audience;
} fed_tombstone;
typedef rk_err (*fed_tombstone_fn)(void *arg, const fed_tombstone *t);
rk_err fed_tombstones_after(fed_state *fs, const char *collection, uint64_t after,
			    size_t limit, fed_tombstone_fn fn, void *arg, rk_errctx *ctx);

/* Per-partner status (what `renkei federation status` shows). */
typedef struct fed_status {
	char partner[RK_MAX_NAME];
	rk_time last_success; /* 0: never */
	rk_time last_attempt;
	uint64_t errors;
	char last_error[256];
	uint64_t sent, deleted_sent, held_already, refused_by_partner;
	uint64_t received, rejected; /* incoming */
	char last_reject[256];
	uint64_t backlog; /* push: versions after the cursor that may go (last round) */
} fed_status;

/* Adds to counters (NULL messages leave the last ones). */
typedef struct fed_status_delta {
	bool success, attempt;
	bool error;
	const char *error_msg;
	uint64_t sent, deleted_sent, held_already, refused_by_partner;
	uint64_t received, rejected;
	const char *reject_msg;
	bool set_backlog;
	uint64_t backlog;
} fed_status_delta;
rk_err fed_status_note(fed_state *fs, const char *partner, const fed_status_delta *d,
		       rk_errctx *ctx);
rk_err fed_status_get(fed_state *fs, const char *partner, fed_status *out, rk_errctx *ctx);

/* ---------------------------------------------------------------- push */
/* fed_push.c */

/* What a push round needs: this hub, and the partner's client. */
typedef struct fed_hub {
	store *st;
	fed_state *state;
	const fed_key *key;
	const fed_config *cfg;
	size_t page; /* objects per envelope */
	/* audit hook, called once per request sent to a partner with the ids
	 * it carried ('\n' between them; NULL: none) and the HTTP status
	 * (0: no answer); may be NULL */
	void (*audit_sent)(void *arg, const fed_partner *p, const char *method,
			   const char *url, const char *collection, const char *ids,
			   int status);
	void *audit_arg;
} fed_hub;

typedef struct fed_round {
	uint64_t sent, deleted, held, refused, skipped, pages;
	bool more; /* stopped with work left (stop requested) */
} fed_round;

/*
 * One push round to partner p: every mapped collection from its cursor to
 * the end of the store, then its tombstones. `stop` (may be NULL) is read
 * between pages. Status is noted in the state. Errors: the partner's or
 * transport's (the round stops, cursors stay where they are durable).
 */
rk_err fed_push_round(const fed_hub *h, const directory *dir, const fed_partner *p,
		      atomic_int *stop, fed_round *out, rk_errctx *ctx);

/* Whether one stored version may go to p (policy and loops); origin gets
 * the origin hub key used in the envelope. */
bool fed_may_send(const fed_hub *h, const directory *dir, const fed_partner *p,
		  const dir_collection *col, const policy_audience *a, const char *owner_org,
		  const char *id, char *origin);

/* One page of what may go to p from collection col after store seq
 * `after` (at most `limit` rows scanned), signed for the partner's
 * collection `dest`: appends {"objects":[...],"x_renkei_federation":{...}
 * to body WITHOUT the closing brace (the caller may add members), and the
 * ids sent to ids ('\n' between them). The serving side of a pull. */
typedef struct fed_page_info {
	size_t kept;       /* objects in the page */
	size_t rows;       /* store rows scanned */
	bool more;         /* rows left after last_seq */
	uint64_t last_seq; /* the cursor to ask from next */
} fed_page_info;
rk_err fed_page_build(const fed_hub *h, const directory *dir, const fed_partner *p,
		      const dir_collection *col, const char *dest, uint64_t after, size_t limit,
		      rk_buf *body, rk_buf *ids, fed_page_info *info, rk_errctx *ctx);
/* The outgoing pair (local, remote) of p, or NULL: may local's objects go
 * to the partner's collection remote. */
const fed_map *fed_map_pair(const fed_partner *p, const char *local, const char *remote);

/* The push backlog of p: versions after its cursors that may go (counts
 * at most `cap` rows scanned). */
rk_err fed_push_backlog(const fed_hub *h, const directory *dir, const fed_partner *p,
			uint64_t cap, uint64_t *out, rk_errctx *ctx);

#endif
