/*
 * notify.h: notification of affected organisations.
 *
 * When an object stored on the hub involves an asset an organisation
 * registered and the hub operator approved (src/assets), that
 * organisation is told, through: its notification collection, readable
 * over TAXII by its own users only (/notifications/collections/<id>/); a
 * webhook (JSON, signed with a shared secret); and e-mail digests over
 * SMTP, one mail per organisation per interval.
 *
 * Data flow (one engine thread in the hub, notify_run.c):
 *
 *   store rows (every collection, in seq order from a durable cursor)
 *     -> notify_observables: the values an object involves (an indicator's
 *        pattern values, a sighting's indicator and observed data, an
 *        observed-data's objects, an SCO's value)
 *     -> assets snapshot: the organisations whose approved claims cover them
 *     -> policy_decide(POLICY_SEND_ONWARD, POLICY_ONWARD_NOTIFY, org): only
 *        an organisation that may read the object is told anything
 *     -> notify.db: one notification per (organisation, object version,
 *        asset), its content fixed at that moment, and one delivery per
 *        configured channel (queued)
 *     -> delivery: webhook POSTs and digest mails with bounded exponential
 *        back-off; sent, failed and acknowledged tracked; audit records.
 *
 * What a notification may say (docs/confidentiality.md, "Onward paths"
 * (d)): the object in a reduced form (notify_view: the properties an
 * export keeps, never descriptions, extensions or references the
 * organisation may not read), the observable and the organisation's own
 * asset. An object whose decision is refused leaves no trace for that
 * organisation: no notification, no count, no delivery.
 *
 * Durable state: <data>/notify.db (notify_db.c), the module's own SQLite
 * file: cursors, notifications, deliveries, acknowledgements, digests.
 * Configuration: an INI file named by the hub option notify-config
 * (notify_config.c), checked at start with file:line errors.
 *
 * Ownership: x_open/x_close, x_new/x_free; strings handed in are copied;
 * records passed to callbacks live during the call only.
 */
#ifndef RK_NOTIFY_H
#define RK_NOTIFY_H

#include "assets.h"
#include "audit.h"
#include "common.h"
#include "directory.h"
#include "store.h"

/* ---------------------------------------------------------------- config */
/* notify_config.c */

typedef enum {
	NOTIFY_CH_WEBHOOK,
	NOTIFY_CH_EMAIL,
	NOTIFY_CH_COUNT
} notify_channel;

const char *notify_channel_name(notify_channel ch); /* "webhook", "email" */

typedef struct notify_org_config {
	char *org;
	char *webhook_url;          /* NULL: no webhook */
	unsigned char *secret;      /* the webhook secret (file contents) */
	size_t secret_len;
	char **emails;              /* digest recipients */
	size_t n_emails;
	unsigned digest_seconds;    /* digest interval */
	unsigned line;              /* where the section starts */
} notify_org_config;

typedef struct notify_config {
	char *path;
	/* [smtp] */
	char *smtp_url;             /* smtp://host:port or smtps:// */
	char *smtp_from;
	char *smtp_user;
	char *smtp_password;        /* from password_file */
	bool smtp_starttls;
	/* [delivery] */
	unsigned retry_initial_seconds; /* first back-off */
	unsigned retry_max_seconds;     /* back-off ceiling */
	unsigned max_attempts;          /* then the delivery is failed */
	unsigned timeout_seconds;       /* per webhook POST or SMTP session */
	char *hub_url;                  /* base URL for links in mails and bodies */
	/* [org ID] sections */
	notify_org_config *orgs;
	size_t n_orgs;
} notify_config;

void notify_config_init(notify_config *c);
void notify_config_cleanup(notify_config *c);
/*
 * Reads and checks a notification configuration file. Errors name the
 * file and line ("notify.ini:12: [org bank] webhook_url: ..."): unknown
 * sections and keys, bad URLs (http/https webhooks, smtp/smtps), a secret
 * file that cannot be read or is shorter than NOTIFY_SECRET_MIN bytes,
 * a webhook without a secret, e-mail without an [smtp] url and from,
 * malformed addresses, intervals out of range, an organisation twice.
 * Organisations are not checked against the directory here (the hub
 * does, notify_config_check_orgs).
 */
rk_err notify_config_load(notify_config *c, const char *path, rk_errctx *ctx);
/* The same over text (`name` stands for the file in messages); secret and
 * password files are still read from disk. */
rk_err notify_config_parse(notify_config *c, const char *text, const char *name,
			   rk_errctx *ctx);
/* Every [org ID] names an organisation of dir; else RK_ECONFIG naming the
 * line. */
rk_err notify_config_check_orgs(const notify_config *c, const directory *dir, rk_errctx *ctx);
const notify_org_config *notify_config_org(const notify_config *c, const char *org);

#define NOTIFY_SECRET_MIN 16

/* ---------------------------------------------------------------- matching */
/* notify_match.c */

/* What an object involves: addresses, domains (also of URLs and e-mail
 * addresses), AS numbers. */
typedef enum {
	NOTIFY_OBS_IPV4,
	NOTIFY_OBS_IPV6,
	NOTIFY_OBS_DOMAIN,
	NOTIFY_OBS_URL,
	NOTIFY_OBS_EMAIL,
	NOTIFY_OBS_ASN,
} notify_obs_kind;

const char *notify_obs_kind_name(notify_obs_kind k); /* "ipv4-addr", ... */

typedef struct notify_obs {
	notify_obs_kind kind;
	char value[ASSETS_VALUE_MAX + 8]; /* as found (URLs cut at this length) */
	int family;        /* 4 or 6 when the observable is an address (URLs too); 0 else */
	uint8_t addr[16];  /* the (network) address */
	unsigned prefix;   /* IPV4/IPV6: a block's length (32/128 for one address) */
	uint32_t asn;
	char domain[ASSETS_VALUE_MAX + 1]; /* DOMAIN, URL host, EMAIL domain; "" else */
} notify_obs;

typedef struct notify_obs_list {
	notify_obs *v;
	size_t n, cap;
} notify_obs_list;

void notify_obs_list_cleanup(notify_obs_list *l);

/*
 * Adds the observables object `obj` itself carries: an indicator's pattern
 * values (pattern_exact_values, or per observation expression for
 * compound patterns), an SCO's value (ipv4-addr, ipv6-addr, domain-name,
 * url, email-addr, autonomous-system), an observed-data's embedded
 * `objects`. At most NOTIFY_MAX_OBS per list; more are dropped.
 * References (a sighting's, an observed-data's object_refs) are the
 * caller's to follow (notify_refs_of).
 */
rk_err notify_observables(const json_t *obj, notify_obs_list *out);
/* The ids an object refers to whose values count for it: a sighting's
 * sighting_of_ref and observed_data_refs, an observed-data's object_refs.
 * Calls fn for each (at most NOTIFY_MAX_REFS). */
void notify_refs_of(const json_t *obj, void (*fn)(void *arg, const char *id), void *arg);

#define NOTIFY_MAX_OBS RK_NOTIFY_MAX_OBSERVABLES
#define NOTIFY_MAX_REFS RK_NOTIFY_MAX_REFS

/* One organisation touched: the observable and the organisation's claim
 * that covers it. */
typedef struct notify_touch {
	const char *org;          /* into the snapshot */
	const asset_claim *claim; /* into the snapshot */
	const notify_obs *obs;    /* into the list */
} notify_touch;

/* For every observable, each organisation whose approved assets cover it
 * (an organisation once per asset). Returns the count written (at most
 * max). A block observable (192.0.2.0/24) touches the organisations
 * whose claims cover its network address with a prefix no longer than
 * the block's, and those claiming inside it. */
size_t notify_touches(const assets_snapshot *s, const notify_obs_list *obs,
		      notify_touch *out, size_t max);

/*
 * The reduced form of a STIX object that a notification may carry (new
 * reference, NULL on OOM): type, spec_version, id, created, modified,
 * object_marking_refs, and per type: indicator pattern, pattern_type,
 * valid_from, valid_until (name and indicator_types only without granular
 * markings); sighting first_seen, last_seen, count and the references
 * ref_ok allows; observed-data first_observed, last_observed,
 * number_observed and the references ref_ok allows; SCOs their value or
 * number. Never descriptions, extensions, created_by_ref or
 * where_sighted_refs.
 */
json_t *notify_view(const json_t *obj, bool (*ref_ok)(void *arg, const char *id), void *arg);

/* ---------------------------------------------------------------- format */
/* notify_format.c */

/* One notification as stored. */
typedef struct notify_record {
	int64_t id;
	const char *org;
	const char *object_id;
	const char *object_type;
	const char *object_version; /* modified or created, as in the object */
	const char *collection;
	const char *asset;          /* the claim's value */
	const char *obs_kind;       /* notify_obs_kind_name */
	const char *obs_value;
	const char *content;        /* JSON array: the object's view (and refs' views) */
	rk_time created;
	rk_time acked_at;           /* 0: not acknowledged */
	const char *acked_by;       /* "" */
} notify_record;

/* The STIX note that says what was found and which asset it touches (new
 * reference): id note--UUIDv5 of the notification, created_by_ref the
 * hub's identity, object_refs the object, the object's markings. */
json_t *notify_note(const notify_record *n);
/* The webhook body (appended to out): {"type": "renkei-notification",
 * "organization", "notification": {...}, "objects": [view, note]}. */
rk_err notify_webhook_body(const notify_record *n, const char *hub_url, rk_buf *out);
/* X-Renkei-Signature: "v1=" + hex HMAC-SHA-256(secret, "<timestamp>." +
 * body); out must hold NOTIFY_SIGNATURE_BUF bytes. */
#define NOTIFY_SIGNATURE_BUF (3 + 64 + 1)
void notify_sign(const unsigned char *secret, size_t secret_len, long long timestamp,
		 const char *body, size_t len, char out[NOTIFY_SIGNATURE_BUF]);
/* Whether a signature verifies (constant time); receivers do the same. */
bool notify_verify(const unsigned char *secret, size_t secret_len, long long timestamp,
		   const char *body, size_t len, const char *signature);
/* One digest mail (RFC 5322, CRLF lines) for org listing n[0..count):
 * headers From, To, Subject, Date, Message-ID, MIME-Version,
 * Content-Type, then one block per notification. */
rk_err notify_digest_mail(const char *org, const char *from, const char *const *to,
			  size_t n_to, const notify_record *n, size_t count,
			  const char *hub_url, rk_time now, rk_buf *out);

/* ---------------------------------------------------------------- database */
/* notify_db.c */

typedef struct notify_db notify_db;

rk_err notify_db_open(const char *data_dir, notify_db **out, rk_errctx *ctx);
void notify_db_close(notify_db *db);

/* The notifications of one organisation with id > after_id, oldest
 * first, at most limit. */
typedef rk_err (*notify_record_fn)(void *arg, const notify_record *n);
rk_err notify_list(notify_db *db, const char *org, int64_t after_id, size_t limit,
		   notify_record_fn fn, void *arg, rk_errctx *ctx);
/* The same by time added (created > after), for TAXII added_after. */
rk_err notify_list_since(notify_db *db, const char *org, rk_time after, size_t limit,
			 notify_record_fn fn, void *arg, rk_errctx *ctx);
/* Acknowledges notification id of org (RK_ENOTFOUND when it is not
 * org's; acknowledging twice keeps the first). */
rk_err notify_ack(notify_db *db, const char *org, int64_t id, const char *by,
		  rk_errctx *ctx);

/* Per organisation and channel ("collection" for the TAXII collection). */
typedef struct notify_status_row {
	const char *org;
	const char *channel;
	uint64_t total, queued, delivered, failed, acknowledged;
	rk_time last_delivered; /* 0: never */
	const char *last_error; /* "" */
} notify_status_row;
typedef rk_err (*notify_status_fn)(void *arg, const notify_status_row *r);
rk_err notify_status(notify_db *db, const char *org, notify_status_fn fn, void *arg,
		     rk_errctx *ctx);

/* ---------------------------------------------------------------- engine */
/* notify_run.c */

typedef struct notify_engine notify_engine;

typedef struct notify_engine_opts {
	const char *data_dir;
	store *st;                  /* borrowed */
	audit *audit;               /* borrowed; NULL: no audit records */
	const notify_config *config;/* borrowed; NULL: the collection only */
	unsigned scan_ms;           /* how often the store is looked at (0: 500) */
} notify_engine_opts;

/* Opens notify.db and assets.db and starts the engine thread. */
rk_err notify_engine_start(const notify_engine_opts *o, notify_engine **out, rk_errctx *ctx);
/* Stops the thread after the step in hand (a delivery in flight finishes
 * or times out) and frees the engine. Accepts NULL. */
void notify_engine_stop(notify_engine *e);
/* The engine's database (for the hub's routes). */
notify_db *notify_engine_db(notify_engine *e);
/* One pass, for tests and the CLI: scans new store rows, then delivers
 * what is due. *made: notifications made. */
rk_err notify_engine_step(notify_engine *e, size_t *made, rk_errctx *ctx);

#endif
