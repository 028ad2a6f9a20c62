/*
 * client.h: the TAXII 2.1 client every renkei program that talks to a hub
 * shares: `renkei push` and `renkei get`, and the sensor's uplink (its
 * indicator feed and its sightings).
 *
 * One client_http is one libcurl easy handle (connections reused across
 * requests) bound to one server: it sends the TAXII 2.1 media type, the
 * token as a Bearer credential, follows no redirects (a redirect could
 * carry the token to another host), speaks only http and https, bounds
 * every answer (RK_MAX_CONTENT_LENGTH_CEILING bytes, RK_MAX_JSON_DEPTH) and
 * turns a non-2xx answer into the rk_err of the same HTTP status with the
 * TAXII error resource's title and description in the message.
 *
 * Above the raw request (client_http.c) sit the two exchanges the sensor
 * needs (client_taxii.c): one page of a collection's objects with
 * added_after / limit / next / match[type], with the
 * X-TAXII-Date-Added-First/Last headers of the answer; and one envelope
 * POSTed with its status resource read back until it is no longer pending.
 *
 * Threads: a client_http is used by one thread at a time; separate handles
 * may run on separate threads (libcurl 7.84 and later initialise
 * themselves thread-safely).
 *
 * Ownership: client_http_new/client_http_free; JSON returned through an
 * out-parameter is a new reference the caller decrefs; strings returned
 * are heap memory the caller frees unless said otherwise.
 */
#ifndef RK_CLIENT_H
#define RK_CLIENT_H

#include "common.h"

#define CLIENT_TAXII_MEDIA "application/taxii+json;version=2.1"

/* ---------------------------------------------------------------- http */
/* client_http.c */

/* Where a TAXII server is and how to reach it; strings are borrowed. */
typedef struct client_remote {
	const char *url;    /* server base, e.g. "https://hub.example:8450" */
	const char *token;  /* bearer token; NULL sends no credentials */
	const char *root;   /* API root name ("nation") or URL; NULL: the default */
	const char *cacert; /* PEM bundle to trust; NULL: system store */
	bool insecure;      /* skip TLS certificate checks (development only) */
	/* Whole-request bound in seconds (a hub that accepts the connection
	 * and then stalls); 0: none, only the low-speed abort (a byte a
	 * second for a minute). */
	long timeout_seconds;
	long connect_timeout_seconds; /* 0: 15 s */
	/* One more header line sent with every request ("Name: value", e.g.
	 * "X-Renkei-Anonymous: true"), or NULL. */
	const char *header;
} client_remote;

/* Defaults from the environment: RENKEI_URL (else http://127.0.0.1:8450),
 * RENKEI_TOKEN. */
void client_remote_init(client_remote *r);
/* The token in the first non-blank line of a token file (at most 4 KiB;
 * blanks around it dropped), into *out (the caller frees). RK_EINVAL for
 * an empty file, RK_EIO naming an unreadable one. */
rk_err client_read_token(const char *path, char **out, rk_errctx *ctx);

typedef struct client_http client_http;

rk_err client_http_new(const client_remote *r, client_http **out, rk_errctx *ctx);
void client_http_free(client_http *h);
/*
 * One TAXII request. `url` is absolute, or a path ("/taxii2/") resolved
 * against the server base. body may be NULL (GET). On a 2xx answer *resp is
 * the parsed JSON body (NULL when empty). On any other status the result is
 * the rk_err whose HTTP status matches, with ctx naming the status and the
 * TAXII error resource's title and description. No answer at all:
 * RK_EUNAVAIL (connection refused) or RK_EIO (timeout, reset, ...), with
 * libcurl's words. *status gets the HTTP status when one was received (may
 * be NULL).
 */
rk_err client_http_request(client_http *h, const char *method, const char *url,
			   const json_t *body, long *status, json_t **resp,
			   rk_errctx *ctx);
/* client_http_request with a body already serialised (payload_len bytes;
 * NULL: GET), sent as it is. */
rk_err client_http_request_text(client_http *h, const char *method, const char *url,
				const char *payload, size_t payload_len, long *status,
				json_t **resp, rk_errctx *ctx);
/* The X-TAXII-Date-Added-First / -Last headers of the last answer, as sent
 * ("" when absent); valid until the next request. */
const char *client_http_date_added_first(const client_http *h);
const char *client_http_date_added_last(const client_http *h);
/* What client_http_fetch got. */
#define CLIENT_ETAG_MAX 256
typedef struct client_fetched {
	long status;        /* the HTTP status */
	bool not_modified;  /* 304: the copy behind `etag` is current; body empty */
	char etag[CLIENT_ETAG_MAX]; /* the answer's ETag ("" when none, or too long) */
	rk_buf body;        /* the caller's to rk_buf_cleanup */
} client_fetched;
/*
 * One plain GET of a file the caller parses itself (a feed list, a MISP
 * event): url absolute, or a path against the server base; any media
 * type accepted,
 * the token as for TAXII requests; the body bounded by max bytes
 * (RK_ETOOBIG beyond). With etag (not NULL or "") the request is
 * conditional (If-None-Match), and a 304 answer sets not_modified. A
 * non-2xx answer is an error as in client_http_request.
 */
rk_err client_http_fetch(client_http *h, const char *url, size_t max, const char *etag,
			 client_fetched *out, rk_errctx *ctx);
/* Absolute URL of the API root to use, ending in '/': the remote's root as
 * given (a name under the server base, or a URL), else the default API
 * root that discovery announces. Caller frees. */
rk_err client_http_root_url(client_http *h, char **out, rk_errctx *ctx);
/* Percent-encodes a query value (ids, timestamps); caller frees; NULL when
 * out of memory. */
char *client_http_escape(client_http *h, const char *s);
/* Appends "?name=value" to url, or "&name=value" when url has a query
 * already, the value escaped; a NULL value appends nothing. RK_ENOMEM. */
rk_err client_http_add_param(client_http *h, rk_buf *url, const char *name, const char *value);

/* ---------------------------------------------------------------- taxii */
/* client_taxii.c */

/* Filters of one GET objects request (TAXII 2.1 section 3.4); NULL or 0:
 * not sent. */
typedef struct client_query {
	const char *added_after; /* RFC 3339 */
	const char *next;        /* cursor of the previous page */
	const char *type;        /* match[type] */
	unsigned limit;
} client_query;

/* One page of objects (TAXII 2.1 section 5.4). */
typedef struct client_page {
	json_t *objects;        /* array, owned by the page; never NULL on success */
	bool more;
	char *next;             /* cursor when more, else NULL */
	/* The date headers as RFC 3339 with six fraction digits ("" when the
	 * answer had none), whatever precision the hub wrote. */
	char date_added_first[RK_TIME_BUF];
	char date_added_last[RK_TIME_BUF];
} client_page;

void client_page_cleanup(client_page *p);
/*
 * GET <root>/collections/<collection>/objects/ with the query. An answer
 * that is not an envelope (not an object, `objects` not an array, `more`
 * not a boolean, `more` without `next`, a date header that is not RFC
 * 3339) is RK_EIO with ctx saying what was wrong: a garbage answer never
 * reaches the caller as data. p is cleaned up first and on error.
 */
rk_err client_get_objects(client_http *h, const char *collection, const client_query *q,
			  client_page *p, rk_errctx *ctx);
/*
 * The page in a parsed answer (NULL: an empty answer, an empty page) with
 * its X-TAXII-Date-Added-First/Last header values (NULL or "": absent);
 * the checks client_get_objects makes, apart from the transfer. `where`
 * names the request in messages. Errors: RK_EIO (not an envelope), RK_ENOMEM.
 */
rk_err client_page_from(const json_t *answer, const char *first, const char *last,
			const char *where, client_page *p, rk_errctx *ctx);
/*
 * POST an envelope {"objects": objects} to the collection, then read its
 * status resource (TAXII 2.1 section 4.3) until it is not pending or
 * wait_seconds passed. *status is the last status resource (new
 * reference). Per-object outcomes are in its successes / failures /
 * pendings lists; client_status_outcome reads one.
 */
rk_err client_post_objects(client_http *h, const char *collection, const json_t *objects,
			   double wait_seconds, json_t **status, rk_errctx *ctx);

typedef enum {
	CLIENT_OUTCOME_UNKNOWN, /* not named in the status */
	CLIENT_OUTCOME_SUCCESS,
	CLIENT_OUTCOME_FAILURE,
	CLIENT_OUTCOME_PENDING,
} client_outcome;

/* What a status resource says of object id (any version); *message (may be
 * NULL) borrows a failure's message from status. */
client_outcome client_status_outcome(const json_t *status, const char *id,
				     const char **message);

#endif
