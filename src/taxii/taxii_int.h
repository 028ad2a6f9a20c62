/*
 * taxii_int.h: what the files of the taxii module share, and nothing more.
 *
 * Other modules include taxii.h only; this header is for src/taxii/ files, the
 * module's unit tests and its fuzz harness (they test the parsers directly).
 *
 * Map of the module:
 *   taxii_config.c   option table, INI file, consistency check
 *   taxii_query.c    TAXII query parameters -> taxii_filter; paging cursors
 *   taxii_media.c    Accept / Content-Type negotiation (TAXII 2.1 1.6.8)
 *   taxii_server.c   libmicrohttpd glue: request life cycle, authentication,
 *                    the route table, responses, directory reload, shutdown
 *   taxii_routes.c   handlers of the read endpoints (discovery ... versions)
 *   taxii_ingest.c   POST objects: validate, complete, decide, store, status
 *   taxii_anon.c     anonymous submission on the ingest path; originals route
 *   taxii_metrics.c  counters and the Prometheus text rendering
 *   taxii_audit.c    the audit record of each request; the readers endpoint
 *   taxii_hub.c      taxii_hub_run: open store, serve until SIGTERM
 */
#ifndef RK_TAXII_INT_H
#define RK_TAXII_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <microhttpd.h>

#include "anonymise.h"
#include "assets.h"
#include "audit.h"
#include "common.h"
#include "directory.h"
#include "export.h"
#include "notify.h"
#include "federation.h"
#include "policy.h"
#include "store.h"
#include "taxii.h"

#define TAXII_MEDIA_TAXII "application/taxii+json;version=2.1"
#define TAXII_MEDIA_STIX "application/stix+json;version=2.1"

/* ---------------------------------------------------------------- query */
/* taxii_query.c */

/* Query parameters an endpoint accepts (TAXII 2.1 section 3.4). */
enum {
	TAXII_P_ADDED_AFTER = 1u << 0,
	TAXII_P_LIMIT = 1u << 1,
	TAXII_P_NEXT = 1u << 2,
	TAXII_P_MATCH_ID = 1u << 3,
	TAXII_P_MATCH_TYPE = 1u << 4,
	TAXII_P_MATCH_VERSION = 1u << 5,
	TAXII_P_MATCH_SPEC_VERSION = 1u << 6,
};
#define TAXII_P_LISTING                                                         \
	(TAXII_P_ADDED_AFTER | TAXII_P_LIMIT | TAXII_P_NEXT | TAXII_P_MATCH_ID |   \
	 TAXII_P_MATCH_TYPE | TAXII_P_MATCH_VERSION | TAXII_P_MATCH_SPEC_VERSION)

/*
 * The parsed filter set of one request. Value arrays point into `arena`
 * (one heap block per value, owned here). `seen` records which parameters
 * were given, so a repeated scalar parameter is refused.
 */
typedef struct taxii_filter {
	unsigned seen;
	bool has_added_after;
	rk_time added_after;
	size_t limit; /* 0: not given */
	char *next;   /* as sent; NULL: not given */
	char **ids;
	size_t n_ids;
	char **types;
	size_t n_types;
	char **spec_versions;
	size_t n_spec_versions;
	bool v_first, v_last, v_all;
	rk_time *v_at;
	size_t n_v_at;
} taxii_filter;

void taxii_filter_init(taxii_filter *f);
void taxii_filter_cleanup(taxii_filter *f);
/*
 * Adds one decoded parameter. `allowed` is the endpoint's TAXII_P_* set.
 * Unknown names, parameters the endpoint does not take, repeated scalars,
 * empty or malformed values and too many values fail with RK_EINVAL; ctx's
 * path is the parameter name ("match[type]") and msg says why.
 */
rk_err taxii_filter_add(taxii_filter *f, unsigned allowed, const char *name,
			const char *value, rk_errctx *ctx);
/*
 * Parses a raw query string ("a=b&c=d", without '?', not NUL-terminated):
 * splits on '&' and the first '=', percent-decodes names and values ('+' is a
 * space), refuses bad escapes, NUL bytes and strings over
 * RK_MAX_QUERY_BYTES, and feeds each pair to taxii_filter_add.
 */
rk_err taxii_query_parse(taxii_filter *f, unsigned allowed, const char *query,
			 size_t len, rk_errctx *ctx);
/* Percent-decodes in place; returns false on a bad escape or a NUL byte. */
bool taxii_url_decode(char *s, size_t *len);

/*
 * Paging cursors. A cursor is base64url(version byte, seq as 8 bytes big
 * endian, first 8 bytes of BLAKE2b over the canonical filter set and the
 * resource it pages). It says where the previous page stopped; because the
 * store orders rows by a commit-ordered seq, "rows after seq" never skips
 * nor repeats a row while others are added. The hash ties a cursor to the
 * filters it was made for: reusing it with other filters is refused.
 * `scope` names the resource ("objects <collection>", "versions <coll> <id>").
 */
void taxii_filter_hash(const taxii_filter *f, const char *scope,
		       unsigned char out[8]);
/* Cursors are sealed under the hub's key (bytes). Caller frees *out. */
#define TAXII_CURSOR_KEY 32
rk_err taxii_cursor_encode(const unsigned char key[TAXII_CURSOR_KEY], uint64_t seq,
			   const unsigned char hash[8], char **out);
/* RK_EINVAL (param "next") when malformed, not sealed under key, or made
 * for another filter set. */
rk_err taxii_cursor_decode(const unsigned char key[TAXII_CURSOR_KEY], const char *cursor,
			   const unsigned char hash[8], uint64_t *seq, rk_errctx *ctx);

/* Fills a store query from a filter. `at` must stay valid as long as q. The
 * default version match (objects and manifest: last; versions: all) applies
 * when no match[version] was given. */
void taxii_filter_to_query(const taxii_filter *f, store_query *q,
			   bool default_all_versions);

/* ---------------------------------------------------------------- media */
/* taxii_media.c */

typedef enum {
	TAXII_MEDIA_TYPE_TAXII, /* application/taxii+json;version=2.1 */
	TAXII_MEDIA_TYPE_STIX,  /* application/stix+json;version=2.1 */
	TAXII_MEDIA_TYPE_TEXT,  /* text/plain (metrics) */
	TAXII_MEDIA_TYPE_ANY,   /* the handler says (exports): Accept not checked */
} taxii_media_type;

/*
 * True if an Accept header value (NULL or empty: anything) admits `want`.
 * Media ranges with q=0 are refusals; "*" wildcards match; for the TAXII and
 * STIX types a missing version parameter means the latest (2.1), any other
 * version does not match (TAXII 2.1 section 1.6.8.1).
 */
bool taxii_accept_allows(const char *accept, taxii_media_type want);
/* True if a request Content-Type is application/taxii+json with version 2.1
 * or no version; other parameters (charset) are ignored. */
bool taxii_content_type_ok(const char *content_type);

/* ---------------------------------------------------------------- config */
/* taxii_config.c */

/* Parses "HOST:PORT" or "[V6]:PORT"; host is copied into host (NUL
 * terminated). */
rk_err taxii_listen_parse(const char *listen, char *host, size_t hostlen,
			  unsigned *port, rk_errctx *ctx);

/* ---------------------------------------------------------------- metrics */
/* taxii_metrics.c */

#define TAXII_METRIC_ROUTES 32
#define TAXII_METRIC_STATUSES 16
#define TAXII_METRIC_BUCKETS 12

typedef struct taxii_metrics {
	atomic_uint_fast64_t requests[TAXII_METRIC_ROUTES][TAXII_METRIC_STATUSES];
	atomic_uint_fast64_t latency_bucket[TAXII_METRIC_BUCKETS + 1]; /* +Inf last */
	atomic_uint_fast64_t latency_sum_us;
	atomic_uint_fast64_t latency_count;
	atomic_uint_fast64_t objects_ingested;
	atomic_uint_fast64_t objects_rejected;
	atomic_uint_fast64_t bytes_out;
	rk_time started;
} taxii_metrics;

void taxii_metrics_init(taxii_metrics *m);
/* route: index into the route table, or TAXII_METRIC_ROUTES - 1 for "none". */
void taxii_metrics_request(taxii_metrics *m, size_t route, int status,
			   uint64_t duration_us, size_t bytes);
/* Appends the Prometheus text exposition. route_names[i] for i < n_routes. */
rk_err taxii_metrics_render(const taxii_metrics *m, const char *const *route_names,
			    size_t n_routes, store *st, rk_buf *out);

/* ---------------------------------------------------------------- server */
/* taxii_server.c */

/* A directory shared by requests; freed when the last holder lets go. */
typedef struct taxii_dirref {
	directory *dir;
	atomic_uint refs;
} taxii_dirref;

typedef struct taxii_route taxii_route;

/* One request in flight: everything handlers need. */
/* References remembered per request, and how deep a chain of references
 * is followed (taxii_policy.c). */
#define TAXII_REF_MEMO 64
#define TAXII_REF_DEPTH 8

typedef struct taxii_req {
	struct taxii_server *srv;
	struct MHD_Connection *conn;
	const taxii_route *route;
	size_t route_index;
	const char *method;
	char *uri;            /* raw request-target as received */
	const char *query;    /* into uri, after '?', or NULL */
	size_t query_len;
	char *path_arg[3];    /* decoded {root}, {coll|status}, {object} */
	taxii_dirref *dref;
	const directory *dir;
	policy_subject subj;
	const dir_community *community;
	const dir_collection *collection;
	taxii_filter filter;  /* parsed query parameters */
	rk_buf body;
	bool body_too_big;
	bool body_oom;
	size_t body_seen;     /* request body bytes received */
	bool responded;
	bool headers_seen;
	bool loopback;
	rk_time start;
	int status;
	size_t bytes_out;
	char error_id[RK_UUID_BUF];
	char error_msg[192];
	/* references answered for this request (taxii_policy.c) */
	struct {
		char id[RK_MAX_STIX_ID + 1];
		enum { TAXII_REF_DECIDING, TAXII_REF_VISIBLE, TAXII_REF_HIDDEN } state;
	} refs[TAXII_REF_MEMO];
	size_t n_refs;
	unsigned ref_depth;
	/* decisions on whole classes for this request (rows a read need not
	 * look inside): policy_decide once per class, not once per row */
	struct {
		int64_t aud;
		bool allow;
	} decided[TAXII_REF_MEMO];
	size_t n_decided;
	/* audit (taxii_audit.c): ids served or written, through
	 * taxii_audit_object, in parts of at most AUDIT_MAX_IDS (the full
	 * parts before audit_ids, which is filling); whether the record was
	 * made */
	audit_ids audit_ids;
	audit_ids *audit_full;
	size_t n_audit_full;
	bool audit_ids_lost;
	bool audited;
	/* A request the hub makes of itself (no connection: the federation
	 * applying what it pulled, taxii_federation.c): the answer is kept
	 * here instead of being sent. */
	char *internal_answer;
	size_t internal_len;
} taxii_req;

typedef rk_err (*taxii_handler)(taxii_req *r);

/* Route table row (taxii_server.c). */
struct taxii_route {
	const char *method;
	const char *pattern;   /* "/{root}/collections/{coll}/objects/{obj}/" */
	const char *name;      /* metrics/log label */
	taxii_handler handler;
	int action;            /* policy_action checked on the collection, or -1 */
	unsigned params;       /* TAXII_P_* accepted */
	taxii_media_type produces;
};

struct taxii_server {
	const taxii_config *cfg;
	store *st;
	struct MHD_Daemon *mhd;
	int listen_fd;
	unsigned port;
	char base_url[512];   /* discovery's API root prefix; "" for relative URLs */
	char listen_url[512]; /* where the server listens, for the log */
	size_t max_content_length;
	/* directory: current reference under dir_lock; poller thread */
	pthread_mutex_t dir_lock;
	taxii_dirref *dref;
	pthread_t poller;
	bool poller_started;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stopping;
	atomic_uint in_flight;
	taxii_metrics metrics;
	unsigned char cursor_key[TAXII_CURSOR_KEY];
	/* parsed audience classes, and each collection's classes as the
	 * store last listed them (taxii_policy.c) */
	pthread_rwlock_t aud_lock;
	struct aud_ent **aud_tab;
	size_t aud_cap, aud_n;
	struct coll_classes *classes; /* a list, under aud_lock */
	audit *audit;         /* <data>/audit.db, opened with the server */
	struct taxii_export_cache *exports; /* taxii_export.c */
	anon_state *anon;     /* <data>/anonymise.db and .key (taxii_anon.c) */
	anon_rules *anon_rules;
	struct taxii_fed *fed; /* taxii_federation.c; NULL without federation */
	assets_db *assets;    /* <data>/assets.db (taxii_assets.c) */
	notify_config notify_cfg; /* from notify-config (empty without) */
	notify_engine *notify;    /* the notification thread (taxii_notify.c) */
};

/*
 * Response helpers. All take ownership of `body` (heap, may be NULL for an
 * empty body), add the Content-Type of the route and the extra headers
 * (name/value pairs, NULL-terminated list), and queue the response.
 */
rk_err taxii_respond(taxii_req *r, int status, const char *content_type,
		     char *body, size_t len, const char *const *headers);
/* A TAXII error resource (TAXII 2.1 section 3.6.1). `param` or `where` (a
 * JSON path) go into details; both may be NULL. */
rk_err taxii_respond_error(taxii_req *r, int status, const char *description,
			   const char *param, const char *where);
/* Same, from an error context: status from the code, where = ctx->path. */
rk_err taxii_respond_errctx(taxii_req *r, const rk_errctx *ctx, bool ctx_is_param);
/* Serialises v (reference stolen) and responds with the route's type. */
rk_err taxii_respond_json(taxii_req *r, int status, json_t *v,
			  const char *const *headers);

/* ---------------------------------------------------------------- policy */
/* taxii_policy.c */

/* The audience classes of r->collection the caller may read, into q
 * (restrict_auds, auds, n_auds, aud_rows, all_rows); *auds is the heap
 * array q points at, freed by the caller. */
rk_err taxii_readable_auds(taxii_req *r, store_query *q, int64_t **auds, rk_errctx *ctx);
/* policy_decide on one row of r->collection; *view: the object to serve
 * instead of the stored text (a new reference), or NULL. */
bool taxii_row_visible(taxii_req *r, const store_row *row, json_t **view);
/* The parsed audience of a class (lives as long as the server), or NULL. */
const policy_audience *taxii_row_audience(taxii_req *r, int64_t aud);
/* Classifies rows stored before audience classes existed. */
rk_err taxii_classify_stored(taxii_server *srv, const directory *dir, rk_errctx *ctx);
void taxii_audiences_free(taxii_server *srv);

/* ---------------------------------------------------------------- handlers */
/* taxii_routes.c */

rk_err taxii_h_discovery(taxii_req *r);
rk_err taxii_h_api_root(taxii_req *r);
rk_err taxii_h_status(taxii_req *r);
rk_err taxii_h_collections(taxii_req *r);
rk_err taxii_h_collection(taxii_req *r);
rk_err taxii_h_manifest(taxii_req *r);
rk_err taxii_h_objects_get(taxii_req *r);
rk_err taxii_h_object_get(taxii_req *r);
rk_err taxii_h_object_delete(taxii_req *r);
rk_err taxii_h_versions(taxii_req *r);

/* ---------------------------------------------------------------- exports */
/* taxii_export.c */

/* Exports kept for pollers: (organisation, role, format) entries. */
#define TAXII_EXPORT_CACHE 16
typedef struct taxii_export_cache taxii_export_cache;
rk_err taxii_export_cache_new(taxii_export_cache **out);
void taxii_export_cache_free(taxii_export_cache *c);
/* GET /renkei/export/{format}/ and /renkei/export/{format}/{file}/ */
rk_err taxii_h_export(taxii_req *r);
rk_err taxii_h_metrics(taxii_req *r);
/* taxii_ingest.c */
rk_err taxii_h_objects_post(taxii_req *r);
/* taxii_assets.c: GET/POST /renkei/assets/, DELETE /renkei/assets/{id}/ */
rk_err taxii_h_assets(taxii_req *r);
/* taxii_notify.c: the notification API root and acknowledgements */
rk_err taxii_h_notify_root(taxii_req *r);
rk_err taxii_h_notify_collections(taxii_req *r);
rk_err taxii_h_notify_objects(taxii_req *r);
rk_err taxii_h_notify_status(taxii_req *r);
rk_err taxii_h_notify_ack(taxii_req *r);
#define TAXII_NOTIFY_ROOT "notifications"

/* ---------------------------------------------------------------- anonymous */
/* taxii_anon.c */

/* One POST's anonymous submission: whether it is one, what the
 * transformation did, the originals and posted ids (per object). */
typedef struct taxii_anon {
	bool on;
	anon_result res;
	anon_assets assets;
	const char **ids; /* the submitter's identity ids */
	size_t n_ids;
	char **originals; /* per object: its text as posted, or NULL */
	char **posted;    /* per object: its id as posted, or NULL */
	size_t n;
} taxii_anon;

/* Decides whether the request is anonymous (X-Renkei-Anonymous, else the
 * organisation's default) and, if so, keeps the originals and transforms
 * objs in place. RK_EINVAL (ctx: the header) for a bad header value. */
rk_err taxii_anon_begin(taxii_req *r, json_t *objs, taxii_anon *a, rk_errctx *ctx);
void taxii_anon_end(taxii_anon *a);
/* Whether an audience names the submitter (recipients, distribution). */
bool taxii_anon_names_submitter(const taxii_anon *a, const policy_audience *aud);
/* What a stored version's created_by_ref is to organisation org: its
 * pseudonym in the request's community, its pseudonym in another
 * community, or anything else. */
enum { TAXII_ANON_NAMED, TAXII_ANON_PSEUDONYM_HERE, TAXII_ANON_PSEUDONYM_ELSEWHERE };
int taxii_anon_creator_kind(taxii_req *r, const char *org, const char *creator);
/* Queues held objects / keeps originals after a POST (taxii_ingest.c
 * passes per object: stored or held, its id and version as stored). */
typedef struct taxii_anon_outcome {
	bool held;
	bool kept; /* stored or held: keep its original */
	const char *stored_id;
	const char *version;
	const char *object_text; /* held: the transformed object */
} taxii_anon_outcome;
rk_err taxii_anon_queue(taxii_req *r, const taxii_anon *a, const taxii_anon_outcome *o,
			const char *status_id, rk_errctx *ctx);
void taxii_anon_keep(taxii_req *r, const taxii_anon *a, const taxii_anon_outcome *o);
/* One audit record per transformed object: rule and path, no values. */
void taxii_anon_audit(taxii_req *r, const taxii_anon *a, const taxii_anon_outcome *o);
/* GET /renkei/anonymous/{object}/ */
rk_err taxii_h_anon_original(taxii_req *r);

/* ---------------------------------------------------------------- audit */
/* taxii_audit.c */

/* Handlers call this for each object id they serve or write; the request's
 * audit record names them. */
void taxii_audit_object(taxii_req *r, const char *id);
void taxii_audit_cleanup(taxii_req *r); /* frees what taxii_audit_object kept */
/* Records the request if its route reads or changes data (once; later
 * calls do nothing). handled: called right after the handler, so a
 * request that changes data waits for its record's commit before its
 * answer leaves; otherwise (done_cb) the record is queued. */
void taxii_audit_request(taxii_req *r, bool handled);
rk_err taxii_h_readers(taxii_req *r);

/* ---------------------------------------------------------------- federation */
/* taxii_federation.c */

typedef struct taxii_fed taxii_fed;

/* The current directory for a thread that is not a request (released
 * with taxii_dirref_release); taxii_server.c. */
taxii_dirref *taxii_dirref_acquire(taxii_server *srv);
void taxii_dirref_release(taxii_dirref *d);

/* GET /renkei/federation/{coll}/{to}/?next=S:T&limit=N: a signed page of
 * what may go from collection coll to the calling partner hub's
 * collection to (renkei extension). */
rk_err taxii_h_federation_objects(taxii_req *r);

/* Loads the federation file, key and state and starts the scheduler
 * (nothing without the `federation` option); stop joins and frees. */
rk_err taxii_fed_start(taxii_server *srv, const directory *dir, rk_errctx *ctx);
void taxii_fed_stop(taxii_server *srv);
/* The configured partner the request's user writes for (role partner,
 * its organisation a partner), or NULL. */
const fed_partner *taxii_fed_partner(const taxii_req *r);

/* What the signature check said of a posted envelope's objects (ok and
 * origins NULL: no check, the writer is not a configured partner). */
typedef struct taxii_fed_verdict {
	const fed_partner *partner;
	bool *ok;
	const char **origins;
	size_t n_refused;
	char why[192];
} taxii_fed_verdict;
rk_err taxii_fed_verify(taxii_req *r, const json_t *env, const char *body,
			const rk_json_slice *slices, size_t n_slices, size_t n,
			taxii_fed_verdict *v);
void taxii_fed_verdict_cleanup(taxii_fed_verdict *v);
/* After the store answered: provenance of relayed objects stored, and the
 * partner's incoming counters. */
void taxii_fed_received(taxii_req *r, const taxii_fed_verdict *v, const char *const *ids,
			const bool *stored, size_t n, uint64_t rejected, const char *reject_msg);
/* A delete of an object's versions here (a tombstone when every version
 * went). */
void taxii_fed_deleted(taxii_req *r, const char *id, const char *owner, int64_t aud,
		       bool every_version);

#endif
