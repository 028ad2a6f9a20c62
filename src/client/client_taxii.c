/*
 * client_taxii.c: the two TAXII 2.1 exchanges a sensor has with its hub,
 * over client_http: one page of a collection's objects (section 5.4), and
 * an envelope POSTed with its status resource read back (sections 5.5 and
 * 4.3).
 *
 * Everything the hub answers is checked for shape before it is handed on:
 * a page is an object whose `objects` (absent: none) is an array of
 * objects, `more` a boolean, `next` a string whenever `more` is true, and
 * the date headers RFC 3339 timestamps; a status resource is an object with
 * a string `status`. Anything else is RK_EIO with a message naming what was
 * wrong, so a hub answering garbage is an error the caller counts and
 * retries, never data it acts on.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"

void client_page_cleanup(client_page *p)
{
	if (!p)
		return;
	json_decref(p->objects);
	free(p->next);
	memset(p, 0, sizeof *p);
}

/* client_http_add_param, an empty value not sent either. */
static rk_err add_param(client_http *h, rk_buf *url, const char *name, const char *value)
{
	return value && *value ? client_http_add_param(h, url, name, value) : RK_OK;
}

/* <root>/collections/<collection>/<tail> */
static rk_err collection_url(client_http *h, const char *collection, const char *tail,
			     rk_buf *url, rk_errctx *ctx)
{
	char *root = NULL, *ecoll = NULL;
	rk_err err;

	if ((err = client_http_root_url(h, &root, ctx)))
		return err;
	if (!(ecoll = client_http_escape(h, collection)) ||
	    rk_buf_printf(url, "%scollections/%s/%s", root, ecoll, tail))
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	free(root);
	free(ecoll);
	return err;
}

static bool date_ok(const char *s)
{
	rk_time t;
	return !*s || rk_time_parse(s, &t);
}

rk_err client_page_from(const json_t *answer, const char *first, const char *last,
			const char *where, client_page *p, rk_errctx *ctx)
{
	json_t *env = (json_t *)answer, *empty = NULL;
	rk_err err = RK_OK;

	client_page_cleanup(p);
	/* An empty answer is an empty page (TAXII 2.1 section 5.4: "If no
	 * records match, an empty envelope is returned"). */
	if (!env && !(env = empty = json_object()))
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	if (!json_is_object(env)) {
		err = rk_fail(ctx, RK_EIO, where, "answer is not a TAXII envelope (not a JSON object)");
		goto out;
	}
	json_t *objects = json_object_get(env, "objects");
	json_t *more = json_object_get(env, "more");
	json_t *next = json_object_get(env, "next");
	size_t i;
	json_t *o;
	if (objects && !json_is_array(objects)) {
		err = rk_fail(ctx, RK_EIO, where, "answer's `objects` is not an array");
		goto out;
	}
	json_array_foreach(objects, i, o) {
		if (!json_is_object(o)) {
			err = rk_fail(ctx, RK_EIO, where, "answer's objects[%zu] is not an object", i);
			goto out;
		}
	}
	if (more && !json_is_boolean(more)) {
		err = rk_fail(ctx, RK_EIO, where, "answer's `more` is not a boolean");
		goto out;
	}
	if (next && !json_is_string(next)) {
		err = rk_fail(ctx, RK_EIO, where, "answer's `next` is not a string");
		goto out;
	}
	p->more = json_is_true(more);
	if (p->more && !next) {
		err = rk_fail(ctx, RK_EIO, where, "answer says `more` but gives no `next` cursor");
		goto out;
	}
	if (!first)
		first = "";
	if (!last)
		last = "";
	if (!date_ok(first) || !date_ok(last)) {
		err = rk_fail(ctx, RK_EIO, where,
			      "X-TAXII-Date-Added-First/Last is not an RFC 3339 timestamp ('%s', '%s')",
			      first, last);
		goto out;
	}
	if (json_array_size(objects) && !*last) {
		err = rk_fail(ctx, RK_EIO, where,
			      "answer has objects but no X-TAXII-Date-Added-Last header");
		goto out;
	}
	/* Kept in one form (microseconds, 'Z'), whatever precision the hub
	 * wrote: a long fraction must not be cut into a broken timestamp. */
	rk_time t;
	if (*first && rk_time_parse(first, &t))
		rk_time_format(t, 6, p->date_added_first);
	if (*last && rk_time_parse(last, &t))
		rk_time_format(t, 6, p->date_added_last);
	p->objects = objects ? json_incref(objects) : json_array();
	if (!p->objects || (p->more && !(p->next = strdup(json_string_value(next))))) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
out:
	if (err)
		client_page_cleanup(p);
	json_decref(empty);
	return err;
}

rk_err client_get_objects(client_http *h, const char *collection, const client_query *q,
			  client_page *p, rk_errctx *ctx)
{
	json_t *env = NULL;
	rk_buf url;
	rk_err err;
	char limit[24];

	client_page_cleanup(p);
	rk_buf_init(&url);
	if ((err = collection_url(h, collection, "objects/", &url, ctx)))
		goto out;
	snprintf(limit, sizeof limit, "%u", q->limit);
	if (add_param(h, &url, "added_after", q->added_after) ||
	    add_param(h, &url, "limit", q->limit ? limit : NULL) ||
	    add_param(h, &url, "next", q->next) ||
	    add_param(h, &url, "match[type]", q->type)) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	if ((err = client_http_request(h, "GET", url.data, NULL, NULL, &env, ctx)))
		goto out;
	err = client_page_from(env, client_http_date_added_first(h),
			       client_http_date_added_last(h), url.data, p, ctx);
out:
	if (err)
		client_page_cleanup(p);
	json_decref(env);
	rk_buf_cleanup(&url);
	return err;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_seconds(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - floor(s)) * 1e9) };
	nanosleep(&ts, NULL);
}

static rk_err check_status(const json_t *st, const char *url, rk_errctx *ctx)
{
	if (!json_is_object(st) || !json_is_string(json_object_get(st, "status")))
		return rk_fail(ctx, RK_EIO, url, "answer is not a TAXII status resource");
	return RK_OK;
}

rk_err client_post_objects(client_http *h, const char *collection, const json_t *objects,
			   double wait_seconds, json_t **status, rk_errctx *ctx)
{
	json_t *env = NULL, *st = NULL;
	char *root = NULL;
	rk_buf url;
	rk_err err;

	*status = NULL;
	rk_buf_init(&url);
	if ((err = collection_url(h, collection, "objects/", &url, ctx)))
		goto out;
	if (!(env = json_pack("{s:O}", "objects", (json_t *)objects))) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	if ((err = client_http_request(h, "POST", url.data, env, NULL, &st, ctx)) ||
	    (err = check_status(st, url.data, ctx)))
		goto out;
	double deadline = now_seconds() + wait_seconds, pause = 0.1;
	while (strcmp(json_string_value(json_object_get(st, "status")), "pending") == 0 &&
	       now_seconds() < deadline) {
		const char *id = json_string_value(json_object_get(st, "id"));
		char *eid = id ? client_http_escape(h, id) : NULL;
		if (!id)
			break;
		if (!root && (err = client_http_root_url(h, &root, ctx))) {
			free(eid);
			goto out;
		}
		rk_buf_reset(&url);
		if (!eid || rk_buf_printf(&url, "%sstatus/%s/", root, eid)) {
			free(eid);
			err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
			goto out;
		}
		free(eid);
		sleep_seconds(pause);
		pause = pause < 2 ? pause * 2 : 2;
		json_decref(st);
		st = NULL;
		if ((err = client_http_request(h, "GET", url.data, NULL, NULL, &st, ctx)) ||
		    (err = check_status(st, url.data, ctx)))
			goto out;
	}
	*status = st;
	st = NULL;
out:
	json_decref(st);
	json_decref(env);
	free(root);
	rk_buf_cleanup(&url);
	return err;
}

static bool names(const json_t *list, const char *id, const char **message)
{
	size_t i;
	const json_t *e;

	json_array_foreach(list, i, e) {
		const char *eid = json_string_value(json_object_get(e, "id"));
		if (eid && strcmp(eid, id) == 0) {
			if (message)
				*message = json_string_value(json_object_get(e, "message"));
			return true;
		}
	}
	return false;
}

client_outcome client_status_outcome(const json_t *status, const char *id,
				     const char **message)
{
	if (message)
		*message = NULL;
	if (names(json_object_get(status, "failures"), id, message))
		return CLIENT_OUTCOME_FAILURE;
	if (names(json_object_get(status, "pendings"), id, message))
		return CLIENT_OUTCOME_PENDING;
	if (names(json_object_get(status, "successes"), id, message))
		return CLIENT_OUTCOME_SUCCESS;
	return CLIENT_OUTCOME_UNKNOWN;
}
