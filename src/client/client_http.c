/*
 * client_http.c: one TAXII 2.1 request over libcurl, for `renkei push`,
 * `renkei get` and the sensor's uplink.
 *
 * A thin layer over one libcurl easy handle (connection reuse across the
 * requests of a command). It sends the TAXII 2.1 media type in Accept and,
 * for bodies, Content-Type (TAXII 2.1 section 1.6.8), the token as a Bearer
 * credential, follows no redirects (a redirect could carry the token to
 * another host) and speaks only http and https. Answers are bounded by
 * RK_MAX_CONTENT_LENGTH_CEILING and parsed with the project's bounded JSON
 * parser, so a hostile server cannot make the client grow without limit.
 *
 * Errors: a non-2xx answer becomes the rk_err with the same HTTP status in
 * common_errors.def, and the message names the status and the TAXII error
 * resource's title and description (section 3.6.1), which is what a user
 * needs to act on ("HTTP 403: Forbidden: no write access to ...").
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

#include "client.h"

struct client_http {
	CURL *curl;
	char *base;     /* scheme://host[:port][/prefix], no trailing '/' */
	char *auth;     /* "Authorization: Bearer ..." or NULL */
	char *header;   /* client_remote.header, or NULL */
	char *root;     /* --root as given, or NULL */
	char *root_url; /* resolved API root URL, cached */
	char errbuf[CURL_ERROR_SIZE];
	/* Date headers of the last answer (TAXII 2.1 section 3.3.1). */
	char date_first[64];
	char date_last[64];
	/* ETag of the last answer, for client_http_fetch ("" when none). */
	char etag[CLIENT_ETAG_MAX];
};

void client_remote_init(client_remote *r)
{
	const char *url = getenv("RENKEI_URL");
	const char *token = getenv("RENKEI_TOKEN");

	memset(r, 0, sizeof *r);
	r->url = url && *url ? url : "http://127.0.0.1:8450";
	r->token = token && *token ? token : NULL;
}

static char *dup_str(const char *s)
{
	return s ? strdup(s) : NULL;
}

void client_http_free(client_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->base);
	if (h->auth) {
		/* The header holds a credential; do not leave it in freed memory. */
		memset(h->auth, 0, strlen(h->auth));
		free(h->auth);
	}
	free(h->root);
	free(h->header);
	free(h->root_url);
	free(h);
	curl_global_cleanup();
}

rk_err client_http_new(const client_remote *r, client_http **out, rk_errctx *ctx)
{
	client_http *h = NULL;
	rk_buf auth;

	*out = NULL;
	if (!r->url || (strncmp(r->url, "http://", 7) && strncmp(r->url, "https://", 8)))
		return rk_fail(ctx, RK_EINVAL, "--url", "'%s' is not an http:// or https:// URL",
			       r->url ? r->url : "");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return rk_fail(ctx, RK_EIO, NULL, "cannot initialise libcurl");
	h = calloc(1, sizeof *h);
	if (!h) {
		curl_global_cleanup();
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	}
	h->base = strdup(r->url);
	h->root = dup_str(r->root);
	h->header = dup_str(r->header);
	h->curl = curl_easy_init();
	if (!h->base || (r->root && !h->root) || (r->header && !h->header) || !h->curl)
		goto oom;
	/* Accept the server base with or without a trailing "/taxii2/". */
	size_t n = strlen(h->base);
	while (n > 0 && h->base[n - 1] == '/')
		h->base[--n] = '\0';
	if (n >= 7 && strcmp(h->base + n - 7, "/taxii2") == 0)
		h->base[n - 7] = '\0';
	if (r->token) {
		rk_buf_init(&auth);
		if (rk_buf_printf(&auth, "Authorization: Bearer %s", r->token) != RK_OK) {
			rk_buf_cleanup(&auth);
			goto oom;
		}
		h->auth = rk_buf_take(&auth);
	}
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT,
			 r->connect_timeout_seconds > 0 ? r->connect_timeout_seconds : 15L);
	if (r->timeout_seconds > 0)
		curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, r->timeout_seconds);
	/* Abort a transfer that moves less than a byte a second for a minute. */
	curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "renkei/" "0.1");
	if (r->cacert)
		curl_easy_setopt(h->curl, CURLOPT_CAINFO, r->cacert);
	if (r->insecure) {
		curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	*out = h;
	return RK_OK;
oom:
	client_http_free(h);
	return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
}

typedef struct sink {
	rk_buf buf;
	size_t max; /* 0: RK_MAX_CONTENT_LENGTH_CEILING */
	bool too_big;
	bool oom;
} sink;

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	sink *s = arg;
	size_t n = size * nmemb;

	if (s->buf.len + n > (s->max ? s->max : RK_MAX_CONTENT_LENGTH_CEILING)) {
		s->too_big = true;
		return 0;
	}
	if (rk_buf_append(&s->buf, data, n) != RK_OK) {
		s->oom = true;
		return 0;
	}
	return n;
}

/* Keeps the X-TAXII-Date-Added-First/Last headers of the answer; any other
 * header is ignored. A value too long for its field is dropped, which the
 * caller sees as an absent header. */
static void keep_header(char *dst, size_t cap, const char *value, size_t len)
{
	while (len && (value[len - 1] == '\r' || value[len - 1] == '\n' ||
		       value[len - 1] == ' '))
		len--;
	while (len && *value == ' ') {
		value++;
		len--;
	}
	if (len < cap) {
		memcpy(dst, value, len);
		dst[len] = '\0';
	}
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	client_http *h = arg;
	size_t n = size * nmemb;
	static const char first[] = "x-taxii-date-added-first:";
	static const char last[] = "x-taxii-date-added-last:";
	static const char etag[] = "etag:";

	if (n > sizeof first - 1 && strncasecmp(data, first, sizeof first - 1) == 0)
		keep_header(h->date_first, sizeof h->date_first, data + sizeof first - 1,
			    n - (sizeof first - 1));
	else if (n > sizeof last - 1 && strncasecmp(data, last, sizeof last - 1) == 0)
		keep_header(h->date_last, sizeof h->date_last, data + sizeof last - 1,
			    n - (sizeof last - 1));
	else if (n > sizeof etag - 1 && strncasecmp(data, etag, sizeof etag - 1) == 0)
		keep_header(h->etag, sizeof h->etag, data + sizeof etag - 1, n - (sizeof etag - 1));
	return n;
}

const char *client_http_date_added_first(const client_http *h)
{
	return h->date_first;
}

const char *client_http_date_added_last(const client_http *h)
{
	return h->date_last;
}

/* The error code whose HTTP status is `status` (first row of the table). */
static rk_err err_of_status(long status)
{
	if (status == 503)
		return RK_EUNAVAIL;
	if (status >= 500)
		return RK_EIO;
	for (int c = RK_OK + 1; c < RK_ERR_COUNT; c++)
		if (rk_err_http_status((rk_err)c) == status)
			return (rk_err)c;
	return RK_EIO;
}

/* Builds the failure message from a TAXII error resource, if the body is
 * one, else from the first line of the body. */
static rk_err fail_status(long status, const char *url, const rk_buf *body, rk_errctx *ctx)
{
	rk_err code = err_of_status(status);
	json_t *doc = NULL;
	rk_errctx ignore;

	rk_errctx_clear(&ignore);
	if (body->len && rk_json_parse(body->data, body->len, RK_MAX_JSON_DEPTH, &doc, &ignore) == RK_OK &&
	    json_is_object(doc)) {
		const char *title = json_string_value(json_object_get(doc, "title"));
		const char *desc = json_string_value(json_object_get(doc, "description"));
		rk_fail(ctx, code, url, "HTTP %ld: %s%s%s", status, title ? title : rk_err_title(code),
			desc ? ": " : "", desc ? desc : "");
	} else {
		int n = 0;
		while (body->data && (size_t)n < body->len && n < 200 && body->data[n] != '\n')
			n++;
		rk_fail(ctx, code, url, "HTTP %ld%s%.*s", status, n ? ": " : "", n,
			body->data ? body->data : "");
	}
	json_decref(doc);
	return code;
}

/*
 * One HTTP exchange: method on url (absolute, or a path against the
 * server base) with the given Accept, a body of content_type when payload
 * is not NULL, and one more header line when extra is not NULL. The body
 * of the answer goes to s (bounded by s->max); *status gets the HTTP
 * status, 0 when no answer came. Errors: no answer (RK_EUNAVAIL, RK_EIO),
 * an answer over the bound (RK_ETOOBIG), out of memory; the status itself
 * is the caller's to judge. *full is the URL asked, for messages.
 */
static rk_err exchange(client_http *h, const char *method, const char *url, const char *accept,
		       const char *content_type, const char *payload, size_t payload_len,
		       const char *extra, sink *s, long *status, rk_buf *full, rk_errctx *ctx)
{
	struct curl_slist *headers = NULL, *more;
	rk_buf line;
	rk_err err;

	*status = 0;
	rk_buf_init(&line);
	if (url[0] == '/')
		err = rk_buf_printf(full, "%s%s", h->base, url);
	else
		err = rk_buf_puts(full, url);
	if (err || rk_buf_printf(&line, "Accept: %s", accept) ||
	    !(headers = curl_slist_append(NULL, line.data)))
		goto oom;
	const char *lines[4] = { h->auth, h->header, extra, NULL };
	rk_buf ctype;
	rk_buf_init(&ctype);
	if (payload && rk_buf_printf(&ctype, "Content-Type: %s", content_type)) {
		rk_buf_cleanup(&ctype);
		goto oom;
	}
	lines[3] = payload ? ctype.data : NULL;
	for (size_t i = 0; i < RK_ARRAY_LEN(lines); i++) {
		if (!lines[i])
			continue;
		if (!(more = curl_slist_append(headers, lines[i]))) {
			rk_buf_cleanup(&ctype);
			goto oom;
		}
		headers = more;
	}
	rk_buf_cleanup(&ctype);
	curl_easy_setopt(h->curl, CURLOPT_URL, full->data);
	if (payload) {
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)payload_len);
	} else {
		curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST,
			 strcmp(method, payload ? "POST" : "GET") ? method : NULL);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, h);
	h->errbuf[0] = '\0';
	h->date_first[0] = h->date_last[0] = h->etag[0] = '\0';
	CURLcode rc = curl_easy_perform(h->curl);
	if (rc != CURLE_OK) {
		if (s->oom)
			goto oom;
		if (s->too_big)
			err = rk_fail(ctx, RK_ETOOBIG, full->data, "answer larger than %zu bytes",
				      s->max ? s->max : (size_t)RK_MAX_CONTENT_LENGTH_CEILING);
		else
			err = rk_fail(ctx, rc == CURLE_COULDNT_CONNECT ? RK_EUNAVAIL : RK_EIO,
				      full->data, "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, status);
	goto out;
oom:
	err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
out:
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, NULL);
	curl_slist_free_all(headers);
	rk_buf_cleanup(&line);
	return err;
}

rk_err client_http_request(client_http *h, const char *method, const char *url,
			const json_t *body, long *status_out, json_t **resp, rk_errctx *ctx)
{
	char *payload = NULL;
	rk_err err;

	*resp = NULL;
	if (status_out)
		*status_out = 0;
	if (body && !(payload = rk_json_dump(body)))
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	err = client_http_request_text(h, method, url, payload, payload ? strlen(payload) : 0,
				       status_out, resp, ctx);
	free(payload);
	return err;
}

rk_err client_http_request_text(client_http *h, const char *method, const char *url,
				const char *payload, size_t payload_len, long *status_out,
				json_t **resp, rk_errctx *ctx)
{
	rk_buf full;
	sink s = { 0 };
	long status = 0;
	rk_err err;

	*resp = NULL;
	if (status_out)
		*status_out = 0;
	rk_buf_init(&full);
	rk_buf_init(&s.buf);
	if ((err = exchange(h, method, url, CLIENT_TAXII_MEDIA, CLIENT_TAXII_MEDIA, payload,
			    payload_len, NULL, &s, &status, &full, ctx)))
		goto out;
	if (status_out)
		*status_out = status;
	if (status < 200 || status > 299) {
		err = fail_status(status, full.data, &s.buf, ctx);
		goto out;
	}
	if (s.buf.len) {
		rk_errctx jctx;
		rk_errctx_clear(&jctx);
		err = rk_json_parse(s.buf.data, s.buf.len, RK_MAX_JSON_DEPTH, resp, &jctx);
		if (err)
			rk_fail(ctx, err, full.data, "answer is not JSON: %s%s%s", jctx.path,
				jctx.path[0] ? ": " : "", jctx.msg);
	}
out:
	rk_buf_cleanup(&s.buf);
	rk_buf_cleanup(&full);
	return err;
}

rk_err client_http_fetch(client_http *h, const char *url, size_t max, const char *etag,
			 client_fetched *out, rk_errctx *ctx)
{
	rk_buf full, cond;
	sink s = { .max = max };
	long status = 0;
	rk_err err = RK_OK;

	memset(out, 0, sizeof *out);
	rk_buf_init(&full);
	rk_buf_init(&cond);
	rk_buf_init(&s.buf);
	if (etag && *etag && rk_buf_printf(&cond, "If-None-Match: %s", etag)) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	if ((err = exchange(h, "GET", url, "*/*", NULL, NULL, 0, cond.data, &s, &status, &full,
			    ctx)))
		goto out;
	out->status = status;
	if (status == 304 && etag && *etag) {
		out->not_modified = true;
		snprintf(out->etag, sizeof out->etag, "%s", etag);
		goto out;
	}
	if (status < 200 || status > 299) {
		err = fail_status(status, full.data, &s.buf, ctx);
		goto out;
	}
	snprintf(out->etag, sizeof out->etag, "%s", h->etag);
	out->body = s.buf;
	rk_buf_init(&s.buf);
out:
	rk_buf_cleanup(&s.buf);
	rk_buf_cleanup(&cond);
	rk_buf_cleanup(&full);
	return err;
}

char *client_http_escape(client_http *h, const char *s)
{
	char *e = curl_easy_escape(h->curl, s, 0);
	char *copy = e ? strdup(e) : NULL;

	curl_free(e);
	return copy;
}

rk_err client_http_add_param(client_http *h, rk_buf *url, const char *name, const char *value)
{
	if (!value)
		return RK_OK;
	char *e = client_http_escape(h, value);
	if (!e)
		return RK_ENOMEM;
	rk_err err = rk_buf_printf(url, "%c%s=%s", strchr(url->data, '?') ? '&' : '?', name, e);
	free(e);
	return err;
}

/* An absolute URL for a discovery entry that may be a path or a URL. */
static rk_err absolute_root(client_http *h, const char *u, rk_errctx *ctx)
{
	rk_buf b;

	rk_buf_init(&b);
	rk_err err;
	if (strstr(u, "://"))
		err = rk_buf_puts(&b, u);
	else if (u[0] == '/')
		err = rk_buf_printf(&b, "%s%s", h->base, u);
	else
		err = rk_buf_printf(&b, "%s/%s", h->base, u);
	if (!err && b.data[b.len - 1] != '/')
		err = rk_buf_puts(&b, "/");
	if (err) {
		rk_buf_cleanup(&b);
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	}
	h->root_url = rk_buf_take(&b);
	return RK_OK;
}

rk_err client_http_root_url(client_http *h, char **out, rk_errctx *ctx)
{
	json_t *disc = NULL;
	rk_err err = RK_OK;

	*out = NULL;
	if (!h->root_url) {
		if (h->root) {
			err = absolute_root(h, h->root, ctx);
		} else {
			/* TAXII 2.1 section 4.1: discovery names the default root. */
			err = client_http_request(h, "GET", "/taxii2/", NULL, NULL, &disc, ctx);
			if (err)
				goto out;
			const char *def = json_string_value(json_object_get(disc, "default"));
			const json_t *roots = json_object_get(disc, "api_roots");
			if (!def && json_array_size(roots) == 1)
				def = json_string_value(json_array_get(roots, 0));
			if (!def) {
				rk_buf names;
				size_t i;
				const json_t *r;
				rk_buf_init(&names);
				json_array_foreach(roots, i, r) {
					rk_buf_printf(&names, "%s%s", i ? ", " : "",
						      json_string_value(r) ? json_string_value(r) : "?");
				}
				err = rk_fail(ctx, RK_EINVAL, "--root",
					      "not given, and the server names no default API root%s%s%s",
					      names.len ? " (it offers: " : "",
					      names.len ? names.data : "", names.len ? ")" : "");
				rk_buf_cleanup(&names);
				goto out;
			}
			err = absolute_root(h, def, ctx);
		}
	}
	if (!err && !(*out = strdup(h->root_url)))
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
out:
	json_decref(disc);
	return err;
}

rk_err client_read_token(const char *path, char **out, rk_errctx *ctx)
{
	char *text = NULL;
	size_t len;
	rk_err err;

	*out = NULL;
	if ((err = rk_read_file(path, 4096, &text, &len, ctx)))
		return err;
	char *p = text;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	size_t n = strcspn(p, "\r\n");
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (!n) {
		free(text);
		return rk_fail(ctx, RK_EINVAL, path, "the token file is empty");
	}
	p[n] = '\0';
	*out = strdup(p);
	sodium_memzero(text, len);
	free(text);
	return *out ? RK_OK : rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
}
