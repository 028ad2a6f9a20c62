/*
 * taxii_server.c: the hub's HTTP side: request life cycle, route table,
 * authentication, responses, directory reload, start and stop.
 *
 * Life of a request (libmicrohttpd calls, in order):
 *
 *   uri_cb        request line read: allocate taxii_req, keep the raw URI
 *                 (we parse path and query ourselves, see taxii_query.c),
 *                 count it in flight
 *   access_cb #1  headers read: route -> 404/405, credentials -> 401,
 *                 Accept -> 406, API root and collection -> 404/403 (policy),
 *                 query parameters -> 400; for POST also Content-Type -> 415
 *                 and Content-Length -> 413, then wait for the body.
 *                 Other methods run their handler now.
 *   access_cb #k  body chunks, appended to r->body (413 past the limit,
 *                 checked again here for chunked uploads)
 *   access_cb #n  body complete: run the handler
 *   (each)        once the handler ran: the audit record (taxii_audit.c),
 *                 waited for when the request changes data
 *   done_cb       log one JSON line, count metrics, audit a request the
 *                 handler never saw (refused early), release the directory
 *
 * Routes live in ONE table (`routes` below): method, path pattern, name,
 * handler, the policy action checked on the collection before the handler
 * runs, the query parameters the endpoint takes and the media type it
 * produces. Adding an endpoint is one row plus one handler.
 *
 * Directory reload: the current directory sits behind a refcounted
 * taxii_dirref. A request takes a reference at start and drops it when done,
 * so it sees one consistent directory however long it runs. A poller thread
 * checks the stored version once a second and, when it changed, loads the
 * new directory and swaps the pointer under dir_lock; the old one is freed
 * by whoever drops the last reference.
 *
 * Memory: taxii_server_start installs jansson's allocator
 * (rk_arena_install_json) before anything else, so that POST handlers can
 * parse inside a request-scoped arena; the rules that come with it (no
 * json_dumps text handed to free(), no jansson value kept past its scope)
 * are in common_arena.c.
 *
 * Shutdown: taxii_server_stop quiesces the daemon (no new connections),
 * waits up to STOP_GRACE_MS for requests in flight, then stops it. Nothing
 * here touches the store handle after stop returns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "taxii_int.h"

#define STOP_GRACE_MS 10000

/* Sentinel actions: the collection must be readable or writable (get a
 * collection); readable and writable (delete, TAXII 2.1 section 5.7). */
#define ACTION_SEE_COLLECTION (-2)
#define ACTION_READ_WRITE_COLLECTION (-3)
#define ACTION_NONE (-1)

static const taxii_route routes[] = {
	/* renkei: each organisation's notification collection, an API root
	 * of its own ahead of the community roots (taxii_notify.c) */
	{"GET", "/" TAXII_NOTIFY_ROOT "/", "notify_root", taxii_h_notify_root, ACTION_NONE, 0,
	 TAXII_MEDIA_TYPE_TAXII},
	{"GET", "/" TAXII_NOTIFY_ROOT "/collections/", "notify_collections",
	 taxii_h_notify_collections, ACTION_NONE, 0, TAXII_MEDIA_TYPE_TAXII},
	{"GET", "/" TAXII_NOTIFY_ROOT "/collections/{coll}/", "notify_collection",
	 taxii_h_notify_collections, ACTION_NONE, 0, TAXII_MEDIA_TYPE_TAXII},
	{"GET", "/" TAXII_NOTIFY_ROOT "/collections/{coll}/objects/", "notify_objects",
	 taxii_h_notify_objects, ACTION_NONE, TAXII_P_ADDED_AFTER | TAXII_P_LIMIT,
	 TAXII_MEDIA_TYPE_TAXII},
	/* TAXII 2.1 section 4.1 */
	{"GET", "/taxii2/", "discovery", taxii_h_discovery, ACTION_NONE, 0,
	 TAXII_MEDIA_TYPE_TAXII},
	{"GET", "/metrics", "metrics", taxii_h_metrics, ACTION_NONE, 0,
	 TAXII_MEDIA_TYPE_TEXT},
	/* 4.2 */
	{"GET", "/{root}/", "api_root", taxii_h_api_root, ACTION_NONE, 0,
	 TAXII_MEDIA_TYPE_TAXII},
	/* 4.3 */
	{"GET", "/{root}/status/{status}/", "status", taxii_h_status, ACTION_NONE, 0,
	 TAXII_MEDIA_TYPE_TAXII},
	/* 5.1, 5.2 */
	{"GET", "/{root}/collections/", "collections", taxii_h_collections,
	 ACTION_NONE, 0, TAXII_MEDIA_TYPE_TAXII},
	{"GET", "/{root}/collections/{coll}/", "collection", taxii_h_collection,
	 ACTION_SEE_COLLECTION, 0, TAXII_MEDIA_TYPE_TAXII},
	/* 5.3 */
	{"GET", "/{root}/collections/{coll}/manifest/", "manifest", taxii_h_manifest,
	 POLICY_READ_COLLECTION, TAXII_P_LISTING, TAXII_MEDIA_TYPE_TAXII},
	/* 5.4, 5.5 */
	{"GET", "/{root}/collections/{coll}/objects/", "objects", taxii_h_objects_get,
	 POLICY_READ_COLLECTION, TAXII_P_LISTING, TAXII_MEDIA_TYPE_TAXII},
	{"POST", "/{root}/collections/{coll}/objects/", "objects_post",
	 taxii_h_objects_post, POLICY_WRITE_COLLECTION, 0, TAXII_MEDIA_TYPE_TAXII},
	/* 5.6, 5.7 */
	{"GET", "/{root}/collections/{coll}/objects/{object}/", "object",
	 taxii_h_object_get, POLICY_READ_COLLECTION,
	 TAXII_P_ADDED_AFTER | TAXII_P_LIMIT | TAXII_P_NEXT | TAXII_P_MATCH_VERSION |
		 TAXII_P_MATCH_SPEC_VERSION,
	 TAXII_MEDIA_TYPE_TAXII},
	{"DELETE", "/{root}/collections/{coll}/objects/{object}/", "object_delete",
	 taxii_h_object_delete, ACTION_READ_WRITE_COLLECTION,
	 TAXII_P_MATCH_VERSION | TAXII_P_MATCH_SPEC_VERSION, TAXII_MEDIA_TYPE_TAXII},
	/* 5.8 */
	{"GET", "/{root}/collections/{coll}/objects/{object}/versions/", "versions",
	 taxii_h_versions, POLICY_READ_COLLECTION,
	 TAXII_P_ADDED_AFTER | TAXII_P_LIMIT | TAXII_P_NEXT | TAXII_P_MATCH_SPEC_VERSION,
	 TAXII_MEDIA_TYPE_TAXII},
	/* renkei: who read an object, for its owner (taxii_audit.c) */
	{"GET", "/{root}/collections/{coll}/objects/{object}/readers/", "readers",
	 taxii_h_readers, ACTION_SEE_COLLECTION, 0, TAXII_MEDIA_TYPE_TAXII},
	/* renkei: a partner hub pulling what may go to it, outside the API
	 * roots (taxii_federation.c: the partner file and the onward policy
	 * decide) */
	{"GET", "/renkei/federation/{coll}/{to}/", "federation", taxii_h_federation_objects,
	 ACTION_NONE, TAXII_P_LIMIT | TAXII_P_NEXT, TAXII_MEDIA_TYPE_TAXII},
	/* renkei: the caller's organisation's export, outside the API roots
	 * (taxii_export.c); the handler decides, per object */
	{"GET", "/renkei/export/{format}/", "export", taxii_h_export, ACTION_NONE, 0,
	 TAXII_MEDIA_TYPE_ANY},
	{"GET", "/renkei/export/{format}/{file}/", "export_file", taxii_h_export, ACTION_NONE,
	 0, TAXII_MEDIA_TYPE_ANY},
	/* renkei: the originals of the caller's anonymous submissions
	 * (taxii_anon.c) */
	{"GET", "/renkei/anonymous/{object}/", "anonymous_original", taxii_h_anon_original,
	 ACTION_NONE, 0, TAXII_MEDIA_TYPE_TAXII},
	/* renkei: the caller's organisation's asset claims (taxii_assets.c) */
	{"GET", "/renkei/assets/", "assets", taxii_h_assets, ACTION_NONE, 0, TAXII_MEDIA_TYPE_ANY},
	{"POST", "/renkei/assets/", "assets_claim", taxii_h_assets, ACTION_NONE, 0,
	 TAXII_MEDIA_TYPE_ANY},
	{"DELETE", "/renkei/assets/{id}/", "assets_withdraw", taxii_h_assets, ACTION_NONE, 0,
	 TAXII_MEDIA_TYPE_ANY},
	/* renkei: notification delivery status and acknowledgement */
	{"GET", "/renkei/notify/", "notify_status", taxii_h_notify_status, ACTION_NONE, 0,
	 TAXII_MEDIA_TYPE_ANY},
	{"POST", "/renkei/notify/{id}/ack/", "notify_ack", taxii_h_notify_ack, ACTION_NONE, 0,
	 TAXII_MEDIA_TYPE_ANY},
};
#define N_ROUTES RK_ARRAY_LEN(routes)
#define ROUTE_NONE (TAXII_METRIC_ROUTES - 1)

_Static_assert(N_ROUTES < TAXII_METRIC_ROUTES, "metrics need a slot per route");

/* ---------------------------------------------------------------- directory */

static taxii_dirref *dirref_acquire(taxii_server *srv)
{
	pthread_mutex_lock(&srv->dir_lock);
	taxii_dirref *d = srv->dref;
	atomic_fetch_add(&d->refs, 1);
	pthread_mutex_unlock(&srv->dir_lock);
	return d;
}

static void dirref_release(taxii_dirref *d)
{
	if (d && atomic_fetch_sub(&d->refs, 1) == 1) {
		dir_free(d->dir);
		free(d);
	}
}

taxii_dirref *taxii_dirref_acquire(taxii_server *srv)
{
	return dirref_acquire(srv);
}

void taxii_dirref_release(taxii_dirref *d)
{
	dirref_release(d);
}

static taxii_dirref *dirref_new(directory *dir)
{
	taxii_dirref *d = malloc(sizeof *d);
	if (!d)
		return NULL;
	d->dir = dir;
	atomic_init(&d->refs, 1);
	return d;
}

/* Polls the stored directory version once a second; swaps on change. */
static void *dir_poller(void *arg)
{
	taxii_server *srv = arg;
	pthread_mutex_lock(&srv->stop_lock);
	while (!srv->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&srv->stop_cond, &srv->stop_lock, &until);
		if (srv->stopping)
			break;
		pthread_mutex_unlock(&srv->stop_lock);

		rk_errctx ctx;
		uint64_t version = 0;
		directory *next = NULL;
		rk_errctx_clear(&ctx);
		taxii_dirref *cur = dirref_acquire(srv);
		uint64_t have = cur->dir->version;
		dirref_release(cur);
		if (dir_stored_version(srv->st, &version, &ctx) == RK_OK && version != have) {
			if (dir_load(srv->st, &next, &ctx) == RK_OK) {
				taxii_dirref *d = dirref_new(next);
				if (d) {
					pthread_mutex_lock(&srv->dir_lock);
					taxii_dirref *old = srv->dref;
					srv->dref = d;
					pthread_mutex_unlock(&srv->dir_lock);
					dirref_release(old);
					rk_log(RK_LOG_INFO, "directory_reloaded",
					       json_pack("{sI}", "version", (json_int_t)version));
				} else {
					dir_free(next);
				}
			}
		}
		if (ctx.code != RK_OK) {
			char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG];
			rk_errctx_format(&ctx, msg, sizeof msg);
			rk_log(RK_LOG_WARN, "directory_reload_failed",
			       json_pack("{ss}", "error", msg));
		}
		pthread_mutex_lock(&srv->stop_lock);
	}
	pthread_mutex_unlock(&srv->stop_lock);
	return NULL;
}

/* ---------------------------------------------------------------- responses */

static const char *status_title(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

static const char *media_name(taxii_media_type t)
{
	switch (t) {
	case TAXII_MEDIA_TYPE_STIX: return TAXII_MEDIA_STIX;
	case TAXII_MEDIA_TYPE_TEXT: return "text/plain; version=0.0.4; charset=utf-8";
	default: return TAXII_MEDIA_TAXII;
	}
}

rk_err taxii_respond(taxii_req *r, int status, const char *content_type, char *body,
		     size_t len, const char *const *headers)
{
	struct MHD_Response *resp;

	if (r->responded) {
		free(body);
		return RK_OK;
	}
	if (!r->conn) { /* the hub asking itself: keep the answer */
		r->internal_answer = body;
		r->internal_len = body ? len : 0;
		r->responded = true;
		r->status = status;
		return RK_OK;
	}
	if (body)
		resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	else
		resp = MHD_create_response_from_buffer(0, (void *)"",
						       MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		return RK_ENOMEM;
	}
	if (content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
		MHD_add_response_header(resp, headers[i], headers[i + 1]);
	if (status == 401) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"renkei\"");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Basic realm=\"renkei\", charset=\"UTF-8\"");
	}
	enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	r->responded = true;
	r->status = status;
	r->bytes_out = len;
	return ok == MHD_YES ? RK_OK : RK_EIO;
}

rk_err taxii_respond_json(taxii_req *r, int status, json_t *v, const char *const *headers)
{
	char *text = rk_json_dump(v);
	json_decref(v);
	if (!text)
		return RK_ENOMEM;
	return taxii_respond(r, status, media_name(r->route ? r->route->produces
							     : TAXII_MEDIA_TYPE_TAXII),
			     text, strlen(text), headers);
}

static rk_err respond_error_h(taxii_req *r, int status, const char *description,
			      const char *param, const char *where,
			      const char *const *headers)
{
	json_t *e = NULL, *details = NULL;

	rk_uuid_v4(r->error_id);
	/* A policy refusal already left its reason for the log and the audit
	 * trail (the client gets only the description); keep it. */
	if (!r->error_msg[0])
		snprintf(r->error_msg, sizeof r->error_msg, "%s%s%s",
			 param ? param : where ? where : "",
			 (param || (where && *where)) ? ": " : "", description ? description : "");
	e = json_object();
	if (!e)
		return RK_ENOMEM;
	char http_status[8];
	snprintf(http_status, sizeof http_status, "%d", status);
	/* TAXII 2.1 section 3.6.1: title required; http_status is a string. */
	json_object_set_new(e, "title", json_string(status_title(status)));
	if (description)
		json_object_set_new(e, "description", json_string(description));
	json_object_set_new(e, "error_id", json_string(r->error_id));
	json_object_set_new(e, "http_status", json_string(http_status));
	if (param || (where && *where)) {
		details = json_object();
		if (param)
			json_object_set_new(details, "param", json_string(param));
		if (where && *where)
			json_object_set_new(details, "path", json_string(where));
		json_object_set_new(e, "details", details);
	}
	char *text = rk_json_dump(e);
	json_decref(e);
	if (!text)
		return RK_ENOMEM;
	return taxii_respond(r, status, TAXII_MEDIA_TAXII, text, strlen(text), headers);
}

rk_err taxii_respond_error(taxii_req *r, int status, const char *description,
			   const char *param, const char *where)
{
	return respond_error_h(r, status, description, param, where, NULL);
}

rk_err taxii_respond_errctx(taxii_req *r, const rk_errctx *ctx, bool ctx_is_param)
{
	int status = rk_err_http_status(ctx->code ? ctx->code : RK_EINVAL);
	const char *msg = ctx->msg[0] ? ctx->msg : rk_strerror(ctx->code);
	if (status >= 500)
		rk_log(RK_LOG_ERROR, "request_failed",
		       json_pack("{ssss}", "where", ctx->path, "error", msg));
	return taxii_respond_error(r, status, msg, ctx_is_param ? ctx->path : NULL,
				   ctx_is_param ? NULL : ctx->path);
}

/* ---------------------------------------------------------------- routing */

/* Splits the raw path into decoded segments (trailing '/' optional).
 * Returns the segment count, or -1 on a malformed path. Segments point into
 * buf. */
static int split_path(const char *uri, size_t len, char *buf, size_t buflen,
		      char **seg, int maxseg)
{
	if (len == 0 || uri[0] != '/' || len >= buflen)
		return -1;
	memcpy(buf, uri + 1, len - 1);
	buf[len - 1] = '\0';
	size_t n = len - 1;
	if (n && buf[n - 1] == '/')
		buf[--n] = '\0';
	if (n == 0)
		return 0;
	int count = 0;
	char *p = buf;
	for (;;) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		if (count == maxseg)
			return -1;
		size_t sl = strlen(p);
		if (sl == 0 || !taxii_url_decode(p, &sl))
			return -1;
		seg[count++] = p;
		if (!slash)
			break;
		p = slash + 1;
	}
	return count;
}

/* Matches segments against a pattern; fills args (root, coll|status,
 * object) on success. */
static bool match_pattern(const char *route_pattern, char **seg, int nseg, char **args)
{
	char pat[128];
	char *pseg[8];
	int np = split_path(route_pattern, strlen(route_pattern), pat, sizeof pat, pseg, 8);
	if (np != nseg)
		return false;
	int a = 0;
	for (int i = 0; i < np; i++) {
		if (pseg[i][0] == '{') {
			if (a < 3)
				args[a++] = seg[i];
		} else if (strcmp(pseg[i], seg[i]) != 0) {
			return false;
		}
	}
	return true;
}

static bool peer_is_loopback(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return false;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;
		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			return s6->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}

/*
 * Authentication (RFC 6750 Bearer, RFC 7617 Basic with the token as the
 * password). No header: anonymous (policy decides what that may see).
 * A header that does not authenticate: 401, never a silent anonymous.
 */
static bool authenticate(taxii_req *r, const dir_user **user)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	*user = NULL;
	if (!h)
		return true;
	while (*h == ' ')
		h++;
	if (strncasecmp(h, "Bearer ", 7) == 0) {
		const char *tok = h + 7;
		while (*tok == ' ')
			tok++;
		size_t len = strlen(tok);
		while (len && tok[len - 1] == ' ')
			len--;
		*user = dir_authenticate_token(r->dir, tok, len);
		return *user != NULL;
	}
	if (strncasecmp(h, "Basic ", 6) == 0) {
		const char *b64 = h + 6;
		while (*b64 == ' ')
			b64++;
		size_t blen = strlen(b64);
		if (blen > 4 * (RK_MAX_NAME + RK_TOKEN_MAX_CHARS))
			return false;
		unsigned char dec[RK_MAX_NAME + RK_TOKEN_MAX_CHARS + 8];
		size_t declen = 0;
		if (sodium_base642bin(dec, sizeof dec - 1, b64, blen, " ", &declen, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0)
			return false;
		dec[declen] = '\0';
		char *colon = memchr(dec, ':', declen);
		if (!colon)
			return false;
		*colon = '\0';
		const char *pw = colon + 1;
		size_t pwlen = declen - (size_t)((unsigned char *)pw - dec);
		*user = dir_authenticate_basic(r->dir, (const char *)dec, pw, pwlen);
		sodium_memzero(dec, sizeof dec);
		return *user != NULL;
	}
	return false;
}

/* A policy refusal as a response: anonymous callers get 401 (credentials
 * may help), others the status policy chose. */
static rk_err refuse(taxii_req *r, const policy_decision *d)
{
	int status = d->http_status ? d->http_status : 403;
	if (!r->subj.user && status != 404)
		status = 401;
	if (!r->subj.user && status == 404 && r->collection)
		status = 401;
	snprintf(r->error_msg, sizeof r->error_msg, "%s", d->reason);
	const char *desc = status == 404 ? "no such resource"
			   : status == 401 ? "authentication required"
					   : "not permitted";
	return taxii_respond_error(r, status, desc, NULL, NULL);
}

/* Resolves {root} and {coll} and applies the route's policy action. Returns
 * false when it has responded. */
static bool resolve_resources(taxii_req *r)
{
	const taxii_route *rt = r->route;
	policy_resource res = {0};
	policy_decision d;

	/* Only routes under an API root name one in their first argument. */
	if (!r->path_arg[0] || strncmp(rt->pattern, "/{root}/", 8) != 0)
		return true;
	r->community = dir_find_community(r->dir, r->path_arg[0]);
	if (!r->community) {
		if (!r->subj.user)
			taxii_respond_error(r, 401, "authentication required", NULL, NULL);
		else
			taxii_respond_error(r, 404, "no such API root", NULL, NULL);
		return false;
	}
	res.community = r->community;
	d = policy_decide(r->dir, &r->subj, POLICY_SEE_API_ROOT, &res);
	if (!d.allow) {
		refuse(r, &d);
		return false;
	}
	if (!strstr(rt->pattern, "{coll}"))
		return true;
	r->collection = dir_find_collection(r->dir, r->path_arg[1]);
	if (!r->collection || strcmp(r->collection->community, r->community->id) != 0) {
		r->collection = NULL;
		taxii_respond_error(r, 404, "no such collection", NULL, NULL);
		return false;
	}
	res.collection = r->collection;
	if (rt->action == ACTION_SEE_COLLECTION) {
		d = policy_decide(r->dir, &r->subj, POLICY_READ_COLLECTION, &res);
		if (!d.allow) {
			policy_decision w =
				policy_decide(r->dir, &r->subj, POLICY_WRITE_COLLECTION, &res);
			if (w.allow)
				d = w;
		}
	} else if (rt->action == ACTION_READ_WRITE_COLLECTION) {
		/* TAXII 2.1 section 5.7's table: neither can_read nor
		 * can_write: 404; only one of them: 403. */
		policy_decision rd = policy_decide(r->dir, &r->subj, POLICY_READ_COLLECTION, &res);
		policy_decision wr = policy_decide(r->dir, &r->subj, POLICY_WRITE_COLLECTION, &res);
		if (!rd.allow && !wr.allow) {
			d = rd;
			if (d.http_status == 403)
				d.http_status = 404;
		} else if (!rd.allow || !wr.allow) {
			d = rd.allow ? wr : rd;
			if (d.http_status == 404)
				d.http_status = 403;
		} else {
			d = wr;
		}
	} else if (rt->action >= 0) {
		d = policy_decide(r->dir, &r->subj, (policy_action)rt->action, &res);
	} else {
		return true;
	}
	if (!d.allow) {
		refuse(r, &d);
		return false;
	}
	return true;
}

/* Runs every check that needs only the headers. Returns false when it has
 * responded. */
static bool request_prepare(taxii_req *r, const char *method)
{
	char pathbuf[RK_MAX_QUERY_BYTES];
	char *seg[8];
	const taxii_route *path_match = NULL;
	char allow[64] = "";

	r->method = method;
	const char *q = strchr(r->uri, '?');
	size_t plen = q ? (size_t)(q - r->uri) : strlen(r->uri);
	if (q) {
		r->query = q + 1;
		r->query_len = strlen(q + 1);
	}
	int nseg = split_path(r->uri, plen, pathbuf, sizeof pathbuf, seg, 8);
	for (size_t i = 0; nseg >= 0 && i < N_ROUTES; i++) {
		char *args[3] = {NULL, NULL, NULL};
		if (!match_pattern(routes[i].pattern, seg, nseg, args))
			continue;
		if (!path_match)
			path_match = &routes[i];
		if (strcmp(routes[i].method, method) != 0) {
			if (!strstr(allow, routes[i].method)) {
				size_t al = strlen(allow);
				snprintf(allow + al, sizeof allow - al, "%s%s", al ? ", " : "",
					 routes[i].method);
			}
			continue;
		}
		r->route = &routes[i];
		r->route_index = i;
		for (int k = 0; k < 3; k++) {
			if (args[k]) {
				r->path_arg[k] = strdup(args[k]);
				if (!r->path_arg[k]) {
					taxii_respond_error(r, 500, "out of memory", NULL, NULL);
					return false;
				}
			}
		}
		break;
	}
	if (!r->route) {
		if (path_match) {
			const char *hdr[] = {MHD_HTTP_HEADER_ALLOW, allow, NULL};
			respond_error_h(r, 405, "method not allowed on this resource", NULL,
					NULL, hdr);
		} else {
			taxii_respond_error(r, 404, "no such resource", NULL, NULL);
		}
		return false;
	}

	const dir_user *user = NULL;
	if (!authenticate(r, &user)) {
		taxii_respond_error(r, 401, "credentials not accepted", NULL, NULL);
		return false;
	}
	r->subj = policy_subject_of(r->dir, user);

	const char *accept = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_ACCEPT);
	if (!taxii_accept_allows(accept, r->route->produces)) {
		char desc[128];
		snprintf(desc, sizeof desc, "this resource is served as %s",
			 media_name(r->route->produces));
		taxii_respond_error(r, 406, desc, NULL, NULL);
		return false;
	}
	if (!resolve_resources(r))
		return false;

	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	if (r->query && taxii_query_parse(&r->filter, r->route->params, r->query,
					  r->query_len, &ctx) != RK_OK) {
		taxii_respond_errctx(r, &ctx, true);
		return false;
	}

	if (strcmp(method, "POST") == 0) {
		const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_TYPE);
		/* renkei's own routes (not TAXII resources) also take JSON */
		bool plain_json = r->route->produces == TAXII_MEDIA_TYPE_ANY && ct &&
				  strncasecmp(ct, "application/json", 16) == 0;
		if (!plain_json && !taxii_content_type_ok(ct)) {
			taxii_respond_error(r, 415, "Content-Type must be " TAXII_MEDIA_TAXII,
					    NULL, NULL);
			return false;
		}
		const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			char *end = NULL;
			errno = 0;
			unsigned long long n = strtoull(cl, &end, 10);
			if (errno || end == cl || n > r->srv->max_content_length) {
				char desc[128];
				snprintf(desc, sizeof desc,
					 "request body larger than max_content_length (%zu bytes)",
					 r->srv->max_content_length);
				taxii_respond_error(r, 413, desc, NULL, NULL);
				return false;
			}
			if (rk_buf_reserve(&r->body, (size_t)n + 1) != RK_OK) {
				taxii_respond_error(r, 503, "out of memory", NULL, NULL);
				return false;
			}
		}
	}
	return true;
}

static void run_handler(taxii_req *r)
{
	rk_err rc = r->route->handler(r);
	if (!r->responded) {
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		rk_fail(&ctx, rc ? rc : RK_EIO, NULL, "%s", rk_strerror(rc ? rc : RK_EIO));
		taxii_respond_errctx(r, &ctx, false);
	}
	taxii_audit_request(r, true);
}

/* ---------------------------------------------------------------- MHD glue */

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
	taxii_server *srv = cls;
	taxii_req *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->srv = srv;
	r->conn = conn;
	r->start = rk_time_now();
	r->route_index = ROUTE_NONE;
	r->uri = strdup(uri ? uri : "/");
	rk_buf_init(&r->body);
	taxii_filter_init(&r->filter);
	audit_ids_init(&r->audit_ids);
	r->dref = dirref_acquire(srv);
	r->dir = r->dref->dir;
	atomic_fetch_add(&srv->in_flight, 1);
	return r;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn,
				 const char *url, const char *method,
				 const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	taxii_req *r = *con_cls;
	(void)cls;
	(void)url;
	(void)version;

	if (!r || !r->uri) {
		/* Out of memory before anything: answer without a body. */
		struct MHD_Response *resp =
			MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		enum MHD_Result ok = MHD_queue_response(conn, 503, resp);
		MHD_destroy_response(resp);
		return ok;
	}
	r->conn = conn;
	if (!r->method && strcmp(method, "POST") != 0) {
		/* libmicrohttpd closes the connection after a response queued
		 * on the first call (before it knows the body is empty); answer
		 * once the (ignored) body is read so keep-alive works. */
		if (!r->headers_seen || *upload_data_size) {
			r->headers_seen = true;
			*upload_data_size = 0;
			return MHD_YES;
		}
		r->loopback = peer_is_loopback(conn);
		if (request_prepare(r, method))
			run_handler(r);
		return MHD_YES;
	}
	if (!r->method) {
		/* POST: header checks now, so 401/413/415 come before the body */
		r->loopback = peer_is_loopback(conn);
		request_prepare(r, method);
		return MHD_YES;
	}
	if (r->responded) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		r->body_seen += n;
		if (r->body_too_big) {
			/* Discard the rest so the 413 can be read by the
			 * client; past a hard cap, drop the connection. */
			return r->body_seen > 2 * r->srv->max_content_length + (64u << 20)
				       ? MHD_NO
				       : MHD_YES;
		}
		if (r->body.len + n > r->srv->max_content_length) {
			/* Chunked upload past the limit: answered 413 once the
			 * upload ends (libmicrohttpd sends nothing while the
			 * client is still sending). */
			r->body_too_big = true;
			rk_buf_cleanup(&r->body);
			return MHD_YES;
		}
		if (rk_buf_append(&r->body, upload_data, n) != RK_OK) {
			r->body_too_big = true;
			r->body_oom = true;
			rk_buf_cleanup(&r->body);
		}
		return MHD_YES;
	}
	if (r->body_too_big) {
		char desc[128];
		snprintf(desc, sizeof desc,
			 "request body larger than max_content_length (%zu bytes)",
			 r->srv->max_content_length);
		if (r->body_oom)
			taxii_respond_error(r, 503, "out of memory", NULL, NULL);
		else
			taxii_respond_error(r, 413, desc, NULL, NULL);
		return MHD_YES;
	}
	run_handler(r);
	return MHD_YES;
}

static void done_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	taxii_server *srv = cls;
	taxii_req *r = *con_cls;
	(void)conn;
	if (!r)
		return;
	*con_cls = NULL;
	uint64_t dur = (uint64_t)(rk_time_now() - r->start);
	int status = r->responded ? r->status : 0;
	taxii_metrics_request(&srv->metrics, r->route ? r->route_index : ROUTE_NONE,
			      status, dur, r->bytes_out);
	json_t *f = json_object();
	if (f) {
		json_object_set_new(f, "method", json_string(r->method ? r->method : "-"));
		json_object_set_new(f, "route",
				    json_string(r->route ? r->route->name : "none"));
		json_object_set_new(f, "path", json_stringn(r->uri ? r->uri : "",
							   r->uri ? strcspn(r->uri, "?") : 0));
		json_object_set_new(f, "status", json_integer(status));
		json_object_set_new(f, "duration_us", json_integer((json_int_t)dur));
		json_object_set_new(f, "user", r->subj.user ? json_string(r->subj.user->name)
							    : json_null());
		json_object_set_new(f, "org", r->subj.org ? json_string(r->subj.org->id)
							  : json_null());
		json_object_set_new(f, "bytes_in", json_integer((json_int_t)r->body_seen));
		json_object_set_new(f, "bytes", json_integer((json_int_t)r->bytes_out));
		if (r->error_id[0]) {
			json_object_set_new(f, "error_id", json_string(r->error_id));
			json_object_set_new(f, "error", json_string(r->error_msg));
		}
		if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
			json_object_set_new(f, "terminated", json_integer((json_int_t)toe));
	}
	rk_log(status >= 500 || status == 0 ? RK_LOG_WARN : RK_LOG_INFO, "request", f);

	taxii_audit_request(r, false);
	taxii_audit_cleanup(r);
	dirref_release(r->dref);
	rk_buf_cleanup(&r->body);
	taxii_filter_cleanup(&r->filter);
	for (int i = 0; i < 3; i++)
		free(r->path_arg[i]);
	free(r->uri);
	free(r);
	atomic_fetch_sub(&srv->in_flight, 1);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	rk_log(RK_LOG_WARN, "http", json_pack("{ss}", "msg", msg));
}

/* ---------------------------------------------------------------- start/stop */

static int open_listener(const char *host, unsigned port, unsigned *bound,
			 rk_errctx *ctx)
{
	struct addrinfo hints = {0}, *res = NULL;
	char portstr[8];
	int fd = -1;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof portstr, "%u", port);
	int gai = getaddrinfo(host, portstr, &hints, &res);
	if (gai != 0) {
		rk_fail(ctx, RK_ECONFIG, "listen", "cannot resolve '%s': %s", host,
			gai_strerror(gai));
		return -1;
	}
	int err = 0;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 &&
		    listen(fd, RK_MAX_CONNECTIONS) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		rk_fail(ctx, RK_EIO, "listen", "cannot listen on %s:%u: %s", host, port,
			strerror(err));
		return -1;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	*bound = port;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			*bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			*bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return fd;
}

static rk_err write_port_file(const char *path, unsigned port, rk_errctx *ctx)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return rk_fail(ctx, RK_EIO, path, "cannot write port file: %s", strerror(errno));
	fprintf(f, "%u\n", port);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return rk_fail(ctx, RK_EIO, path, "cannot write port file: %s", strerror(errno));
	return RK_OK;
}

/*
 * The key paging cursors are sealed with (taxii_query.c): 32 random bytes
 * made by the first hub to start on a store and kept there (meta
 * "cursor_key"), so every hub node on the store accepts every node's
 * cursors, and cursors outlive restarts.
 */
static rk_err cursor_key_load(store *st, unsigned char key[TAXII_CURSOR_KEY],
			      rk_errctx *ctx)
{
	json_t *doc = NULL;
	uint64_t version = 0;
	size_t len = 0;
	char hex[2 * TAXII_CURSOR_KEY + 1];
	rk_err rc;

	for (int attempt = 0; attempt < 2; attempt++) {
		if ((rc = store_meta_get(st, "cursor_key", &doc, &version, ctx)))
			return rc;
		const char *h = json_string_value(json_object_get(doc, "key"));
		if (h && sodium_hex2bin(key, TAXII_CURSOR_KEY, h, strlen(h), NULL, &len, NULL) == 0 &&
		    len == TAXII_CURSOR_KEY) {
			json_decref(doc);
			return RK_OK;
		}
		json_decref(doc);
		doc = NULL;
		if (attempt)
			break;
		/* None yet: make one. Two nodes starting at once may both
		 * write; the second read settles which key everyone uses. */
		randombytes_buf(key, TAXII_CURSOR_KEY);
		sodium_bin2hex(hex, sizeof hex, key, TAXII_CURSOR_KEY);
		json_t *made = json_pack("{s:s}", "key", hex);
		sodium_memzero(hex, sizeof hex);
		if (!made)
			return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		bool changed;
		rc = store_meta_put(st, "cursor_key", made, &version, &changed, ctx);
		json_decref(made);
		if (rc)
			return rc;
	}
	return rk_fail(ctx, RK_EDB, NULL, "the stored cursor key is not %d hex bytes",
		       TAXII_CURSOR_KEY);
}

rk_err taxii_server_start(const taxii_config *cfg, store *st, taxii_server **out,
			  rk_errctx *ctx)
{
	taxii_server *srv = NULL;
	char *cert = NULL, *key = NULL;
	size_t certlen = 0, keylen = 0;
	directory *dir = NULL;
	char host[256];
	unsigned port = 0;
	rk_err rc;

	*out = NULL;
	/* jansson's allocator (common_arena.c), before the directory is
	 * loaded and before any thread of ours starts: POST handlers parse
	 * into a per-request arena. Nothing jansson allocated earlier in the
	 * process may still be alive here. */
	rk_arena_install_json();
	if (sodium_init() < 0)
		return rk_fail(ctx, RK_EIO, NULL, "libsodium failed to initialise");
	rc = taxii_config_check(cfg, ctx);
	if (rc)
		goto out;
	rc = taxii_listen_parse(cfg->listen, host, sizeof host, &port, ctx);
	if (rc)
		goto out;
	if (cfg->tls_cert) {
		rc = rk_read_file(cfg->tls_cert, 1u << 20, &cert, &certlen, ctx);
		if (!rc)
			rc = rk_read_file(cfg->tls_key, 1u << 20, &key, &keylen, ctx);
		if (rc)
			goto out;
	}
	rc = dir_load(st, &dir, ctx);
	if (rc)
		goto out;

	srv = calloc(1, sizeof *srv);
	if (!srv) {
		rc = RK_ENOMEM;
		goto out;
	}
	srv->cfg = cfg;
	srv->st = st;
	srv->listen_fd = -1;
	srv->max_content_length = cfg->max_content_length;
	pthread_mutex_init(&srv->dir_lock, NULL);
	pthread_mutex_init(&srv->stop_lock, NULL);
	pthread_cond_init(&srv->stop_cond, NULL);
	pthread_rwlock_init(&srv->aud_lock, NULL);
	if (taxii_export_cache_new(&srv->exports) != RK_OK) {
		rc = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	atomic_init(&srv->in_flight, 0);
	taxii_metrics_init(&srv->metrics);
	/* Objects stored before audience classes existed get theirs before
	 * anything is served. */
	rc = taxii_classify_stored(srv, dir, ctx);
	if (!rc)
		rc = cursor_key_load(st, srv->cursor_key, ctx);
	if (rc)
		goto out;
	srv->dref = dirref_new(dir);
	if (!srv->dref) {
		rc = RK_ENOMEM;
		goto out;
	}
	dir = NULL;
	/* The audit log next to the store: a hub that cannot record, or
	 * whose log was tampered with, does not serve (audit_open). */
	rc = audit_open(cfg->data, &(audit_options){.log_head = true}, &srv->audit, ctx);
	if (rc)
		goto out;
	/* Anonymous submission: its key, queue and originals, and the rules
	 * (a bad rules file stops the start, with file:line). */
	rc = anon_state_open(cfg->data, &srv->anon, ctx);
	if (!rc)
		rc = cfg->anonymise_rules ? anon_rules_load(cfg->anonymise_rules, &srv->anon_rules, ctx)
					  : anon_rules_empty(&srv->anon_rules, ctx);
	if (rc)
		goto out;
	rc = assets_db_open(cfg->data, &srv->assets, ctx);
	if (rc)
		goto out;
	/* Notifications: settings checked whole (file:line errors) and
	 * against the directory before anything is served. */
	notify_config_init(&srv->notify_cfg);
	if (cfg->notify_config &&
	    (rc = notify_config_load(&srv->notify_cfg, cfg->notify_config, ctx)))
		goto out;
	rc = notify_engine_start(&(notify_engine_opts){.data_dir = cfg->data, .st = st,
						       .audit = srv->audit,
						       .config = cfg->notify_config
									 ? &srv->notify_cfg
									 : NULL},
				 &srv->notify, ctx);
	if (rc)
		goto out;
	rc = taxii_fed_start(srv, srv->dref->dir, ctx);
	if (rc)
		goto out;

	srv->listen_fd = open_listener(host, port, &srv->port, ctx);
	if (srv->listen_fd < 0) {
		rc = ctx && ctx->code ? ctx->code : RK_EIO;
		goto out;
	}
	{
		bool v6 = strchr(host, ':') != NULL;
		snprintf(srv->listen_url, sizeof srv->listen_url, "%s://%s%s%s:%u",
			 cfg->tls_cert ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "",
			 srv->port);
	}
	if (cfg->public_url) {
		snprintf(srv->base_url, sizeof srv->base_url, "%s", cfg->public_url);
		size_t bl = strlen(srv->base_url);
		while (bl && srv->base_url[bl - 1] == '/')
			srv->base_url[--bl] = '\0';
	} else if (cfg->tls_cert) {
		snprintf(srv->base_url, sizeof srv->base_url, "%s", srv->listen_url);
	} else {
		/* TAXII 2.1 section 4.1.1: API root URLs are HTTPS absolute
		 * URLs or relative ones; plain HTTP announces "/<root>/". */
		srv->base_url[0] = '\0';
	}

	struct MHD_OptionItem opts[16];
	size_t no = 0;
	opts[no++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER,
					     (intptr_t)mhd_logger, srv};
	opts[no++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, srv->listen_fd, NULL};
	opts[no++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK,
					     (intptr_t)uri_cb, srv};
	opts[no++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED,
					     (intptr_t)done_cb, srv};
	opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
					     RK_MAX_CONNECTIONS, NULL};
	opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 120, NULL};
	opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
					     128 * 1024, NULL};
	if (cfg->threads > 1)
		opts[no++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
						     cfg->threads, NULL};
	if (cert) {
		opts[no++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, cert};
		opts[no++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, key};
	}
	opts[no++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_AUTO |
			 MHD_USE_ERROR_LOG;
	if (cert)
		flags |= MHD_USE_TLS;
	srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, srv,
				    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!srv->mhd) {
		rc = rk_fail(ctx, RK_EIO, "listen", "the HTTP%s server failed to start on %s",
			     cert ? "S" : "", cfg->listen);
		goto out;
	}
	if (pthread_create(&srv->poller, NULL, dir_poller, srv) == 0)
		srv->poller_started = true;
	if (cfg->port_file) {
		rc = write_port_file(cfg->port_file, srv->port, ctx);
		if (rc)
			goto out;
	}
	*out = srv;
	srv = NULL;
	rc = RK_OK;
out:
	if (cert)
		sodium_memzero(cert, certlen);
	if (key)
		sodium_memzero(key, keylen);
	free(cert);
	free(key);
	dir_free(dir);
	if (srv)
		taxii_server_stop(srv);
	return rc;
}

unsigned taxii_server_port(const taxii_server *srv)
{
	return srv ? srv->port : 0;
}

void taxii_server_stop(taxii_server *srv)
{
	if (!srv)
		return;
	if (srv->mhd) {
		MHD_socket fd = MHD_quiesce_daemon(srv->mhd);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
		srv->listen_fd = -1;
		/* Let requests in flight finish, within reason. */
		for (int waited = 0; waited < STOP_GRACE_MS &&
				     atomic_load(&srv->in_flight) > 0;
		     waited += 10) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
		MHD_stop_daemon(srv->mhd);
		srv->mhd = NULL;
	} else if (srv->listen_fd >= 0) {
		close(srv->listen_fd);
	}
	if (srv->poller_started) {
		pthread_mutex_lock(&srv->stop_lock);
		srv->stopping = true;
		pthread_cond_signal(&srv->stop_cond);
		pthread_mutex_unlock(&srv->stop_lock);
		pthread_join(srv->poller, NULL);
	}
	taxii_fed_stop(srv);
	notify_engine_stop(srv->notify); /* before the audit log it records into */
	notify_config_cleanup(&srv->notify_cfg);
	audit_close(srv->audit); /* no request is left to record */
	anon_state_close(srv->anon);
	anon_rules_free(srv->anon_rules);
	assets_db_close(srv->assets);
	dirref_release(srv->dref);
	taxii_audiences_free(srv);
	taxii_export_cache_free(srv->exports);
	pthread_rwlock_destroy(&srv->aud_lock);
	pthread_mutex_destroy(&srv->dir_lock);
	pthread_mutex_destroy(&srv->stop_lock);
	pthread_cond_destroy(&srv->stop_cond);
	free(srv);
}

rk_err taxii_h_metrics(taxii_req *r)
{
	rk_buf out;
	const char *names[N_ROUTES + 1];
	rk_err rc;

	/* Who may read /metrics: any client on a loopback address (the usual
	 * Prometheus-on-the-same-host setup), or an authenticated user whose
	 * role passes POLICY_ADMIN. Everyone else: 401/403. */
	if (!r->loopback) {
		if (!r->subj.user)
			return taxii_respond_error(r, 401, "authentication required", NULL, NULL);
		policy_resource res = {0};
		policy_decision d = policy_decide(r->dir, &r->subj, POLICY_ADMIN, &res);
		if (!d.allow)
			return refuse(r, &d);
	}
	for (size_t i = 0; i < N_ROUTES; i++)
		names[i] = routes[i].name;
	names[N_ROUTES] = "none";
	rk_buf_init(&out);
	rc = taxii_metrics_render(&r->srv->metrics, names, N_ROUTES, r->srv->st, &out);
	if (rc) {
		rk_buf_cleanup(&out);
		return rc;
	}
	size_t len = out.len;
	return taxii_respond(r, 200, media_name(TAXII_MEDIA_TYPE_TEXT), rk_buf_take(&out),
			     len, NULL);
}
