/*
 * assets.h: the asset registry: which address ranges, AS numbers and
 * domains belong to which organisation.
 *
 * An organisation claims its assets (a user of it, over the hub's
 * /renkei/assets/ route, or an operator with `renkei assets claim`); a hub
 * operator approves or rejects each claim (`renkei assets approve|reject`).
 * Only approved claims count: notification (src/notify) tells an
 * organisation about objects that touch its approved assets, and
 * anonymous submission scrubs a submitter's own approved ranges and
 * domains. Two organisations may claim overlapping assets (a provider's
 * block and its customer's sub-block); the operator sees each overlap when
 * listing claims.
 *
 * Values (assets_value.c), one canonical text each:
 *   CIDR    "192.0.2.0/24", "2001:db8::/32"; a bare address is a /32 or
 *           /128; host bits must be zero; at least /RK_ASSETS_MIN_PREFIX4
 *           (IPv4) or /RK_ASSETS_MIN_PREFIX6 (IPv6)
 *   ASN     "AS64500" (1 to 4294967294, not AS_TRANS 23456); "as" accepted
 *   domain  "example.org": lower-cased, final dot dropped, LDH labels of
 *           1 to 63 characters, at least two labels, at most 253 characters
 *
 * Durable state (assets_db.c): a SQLite file of the module's own,
 * <data>/assets.db, one row per claim (unique per organisation and value)
 * and a version counter that every change moves in the same transaction,
 * so a running hub notices changes by polling the counter and reloads.
 * Several processes (the hub, `renkei assets`) may use the file at once.
 *
 * Lookups (assets_snap.c): an immutable snapshot of the approved claims,
 * built once per version and shared by any number of threads: address
 * lookups try each prefix length present (longest first) with a binary
 * search, domains each parent, AS numbers one binary search.
 *
 * Ownership: assets_db_open/close; assets_snapshot_* built snapshots freed
 * with assets_snapshot_free; pointers returned by lookups live as long as
 * the snapshot. Functions return RK_ENOMEM rather than aborting.
 */
#ifndef RK_ASSETS_H
#define RK_ASSETS_H

#include "common.h"

typedef enum {
	ASSET_KIND_CIDR,
	ASSET_KIND_ASN,
	ASSET_KIND_DOMAIN,
} asset_kind;

typedef enum {
	ASSET_PENDING,
	ASSET_APPROVED,
	ASSET_REJECTED,
} asset_state;

/* Longest canonical value text: a domain of 253 characters. */
#define ASSETS_VALUE_MAX 253

typedef struct asset_value {
	asset_kind kind;
	int family;       /* CIDR: 4 or 6 */
	uint8_t addr[16]; /* CIDR: network address, IPv4 in the first 4 bytes */
	unsigned prefix;  /* CIDR: prefix length */
	uint32_t asn;     /* ASN */
	char text[ASSETS_VALUE_MAX + 1]; /* canonical text, every kind */
} asset_value;

typedef struct asset_claim {
	int64_t id;
	char org[RK_MAX_NAME + 1];
	asset_value value;
	asset_state state;
	char claimed_by[RK_MAX_NAME + 1];
	rk_time claimed_at;
	char decided_by[RK_MAX_NAME + 1]; /* "" while pending */
	rk_time decided_at;               /* 0 while pending */
} asset_claim;

/* ---------------------------------------------------------------- values */
/* assets_value.c */

const char *assets_kind_name(asset_kind k);   /* "cidr", "asn", "domain" */
const char *assets_state_name(asset_state s); /* "pending", ... */
bool assets_state_parse(const char *s, asset_state *out);
bool assets_kind_parse(const char *s, asset_kind *out);

/*
 * Parses one claimed value (`len` bytes, need not be NUL-terminated) into
 * its canonical form: CIDR when it parses as an address or address/prefix,
 * ASN for "AS<digits>", a domain otherwise. Errors RK_EINVAL with a reason
 * the user can act on ("host bits set: did you mean 192.0.2.0/24?").
 */
rk_err assets_value_parse(const char *text, size_t len, asset_value *out,
			  rk_errctx *ctx);
/* A domain name as the registry keeps it (lower case, no final dot) into
 * out (ASSETS_VALUE_MAX + 1 bytes); false when it is not a host name the
 * registry could hold. Used by lookups of observed names. */
bool assets_domain_normalise(const char *name, size_t len,
			     char out[ASSETS_VALUE_MAX + 1]);
/* True when CIDR value `outer` covers address `addr` of `family`. */
bool assets_cidr_covers(const asset_value *outer, int family, const uint8_t *addr);

/* ---------------------------------------------------------------- database */
/* assets_db.c */

typedef struct assets_db assets_db;

/* Opens (creating it and its tables if needed) <data_dir>/assets.db. */
rk_err assets_db_open(const char *data_dir, assets_db **out, rk_errctx *ctx);
void assets_db_close(assets_db *db);

/*
 * Records a claim by organisation `org` (not checked against the directory
 * here: callers do) made by `by` (a user or operator name). A value the
 * organisation already claimed is RK_ECONFLICT ("already claimed, pending")
 * unless that claim was rejected: then it is pending again. More than
 * RK_ASSETS_MAX_CLAIMS_PER_ORG claims of one organisation, or
 * RK_ASSETS_MAX_CLAIMS in all: RK_ETOOBIG. *out (may be NULL) gets the
 * claim as stored.
 */
rk_err assets_claim(assets_db *db, const char *org, const char *value_text,
		    const char *by, asset_claim *out, rk_errctx *ctx);
/* Approves or rejects claim `id` (RK_ENOTFOUND if none); deciding again
 * is allowed (an approved claim may be rejected later). */
rk_err assets_decide(assets_db *db, int64_t id, asset_state state, const char *by,
		     rk_errctx *ctx);
/* Removes claim `id` of `org` (NULL: of any organisation). */
rk_err assets_withdraw(assets_db *db, int64_t id, const char *org, rk_errctx *ctx);

typedef rk_err (*assets_claim_fn)(void *arg, const asset_claim *c);
/* Every claim, of `org` only when not NULL, in id order. */
rk_err assets_list(assets_db *db, const char *org, assets_claim_fn fn, void *arg,
		   rk_errctx *ctx);
/* The version counter: moves with every change. */
rk_err assets_db_version(assets_db *db, uint64_t *out, rk_errctx *ctx);

/* ---------------------------------------------------------------- snapshot */
/* assets_snap.c */

typedef struct assets_snapshot assets_snapshot;

/* One organisation a lookup found, with the claim that matched (for an
 * address, the organisation's longest covering prefix). */
typedef struct assets_hit {
	const char *org;
	const asset_claim *claim;
} assets_hit;

/*
 * Builds a snapshot of claims[0..n) whose state is in `states` (a bit per
 * asset_state: 1u << ASSET_APPROVED for lookups). Copies what it keeps.
 */
rk_err assets_snapshot_build(const asset_claim *claims, size_t n, unsigned states,
			     uint64_t version, assets_snapshot **out, rk_errctx *ctx);
/* The approved claims of the database, at its current version. */
rk_err assets_snapshot_load(assets_db *db, assets_snapshot **out, rk_errctx *ctx);
void assets_snapshot_free(assets_snapshot *s);
uint64_t assets_snapshot_version(const assets_snapshot *s);

/*
 * The organisations whose claims cover address `addr` (4 bytes for IPv4,
 * 16 for IPv6, network order): each organisation once, with its longest
 * covering claim, longest prefixes first. Writes at most `max` hits and
 * returns how many organisations there are (which may exceed max).
 */
size_t assets_orgs_for_address(const assets_snapshot *s, const uint8_t *addr,
			       size_t addr_len, assets_hit *out, size_t max);
/* The organisations that claimed `domain` or a parent of it (longest
 * match first, each organisation once); the name is normalised first. */
size_t assets_orgs_for_domain(const assets_snapshot *s, const char *domain,
			      size_t len, assets_hit *out, size_t max);
size_t assets_orgs_for_asn(const assets_snapshot *s, uint32_t asn, assets_hit *out,
			   size_t max);

/* All claims of one organisation in the snapshot, by kind, each sorted by
 * value. Empty (all zero) for an organisation with none. */
typedef struct assets_of_org {
	const asset_claim *cidrs;
	size_t n_cidrs;
	const asset_claim *asns;
	size_t n_asns;
	const asset_claim *domains;
	size_t n_domains;
} assets_of_org;
void assets_approved_of_org(const assets_snapshot *s, const char *org,
			    assets_of_org *out);

/*
 * The claims of other organisations that overlap claims[i] in the
 * snapshot (cover it or lie inside it; the same domain or a parent or
 * child; the same AS number): at most max, returns how many there are.
 * `claim` must be a claim of the snapshot.
 */
size_t assets_overlaps(const assets_snapshot *s, const asset_claim *claim,
		       const asset_claim **out, size_t max);
/* The snapshot's claims, sorted by organisation, kind and value. */
const asset_claim *assets_snapshot_claims(const assets_snapshot *s, size_t *n);

#endif
