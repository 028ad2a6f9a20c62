/*
 * cli_push.c: `renkei push`, send STIX objects to a TAXII 2.1 collection.
 *
 * Input is a STIX bundle, a TAXII envelope, a JSON array of objects or a
 * single object. Objects go out in envelopes (TAXII 2.1 section 5.5) of at
 * most --batch objects, in file order. The hub answers each POST with a
 * status resource (section 4.3); while it says "pending" the command polls
 * <root>/status/<id>/ until "complete" or until --wait seconds pass. If the
 * server refuses an envelope as too large (413), that envelope is split in
 * half and each half sent again, down to single objects.
 *
 * The command does not validate objects itself: the hub does, and its
 * per-object failure messages are what gets printed ("renkei validate"
 * checks a file offline). A refused request (401, 403, 404, 422 for the
 * whole envelope) stops the push: the next envelope would meet the same
 * answer. Output on stdout: one line per failed object, then totals; exit 1
 * if anything failed, is still pending, or a request was refused.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_int.h"

enum {
	OPT_COLLECTION = CLI_OPT_FIRST_FREE,
	OPT_BATCH,
	OPT_WAIT,
	OPT_QUIET,
	OPT_ANONYMOUS,
	OPT_NAMED,
};

typedef struct push_state {
	client_http *http;
	const char *objects_url;  /* <root>/collections/<id>/objects/ */
	const char *root_url;
	double wait_seconds;
	bool progress;            /* stderr is a terminal */
	size_t total;             /* objects in the file */
	size_t sent;
	size_t success, failure, pending;
	json_t *failures;         /* [{id, version, message}] from status resources */
	json_t *pending_status;   /* ids of status resources still pending */
	struct timespec started;
} push_state;

static double elapsed(const push_state *ps)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - ps->started.tv_sec) +
	       (double)(now.tv_nsec - ps->started.tv_nsec) / 1e9;
}

static void show_progress(const push_state *ps, bool done)
{
	if (!ps->progress)
		return;
	double secs = elapsed(ps);
	double rate = secs > 0 ? (double)ps->sent / secs : 0;
	fprintf(stderr, "\rrenkei push: %zu/%zu objects sent (%.0f/s)%s", ps->sent, ps->total,
		rate, done ? "\n" : "");
	fflush(stderr);
}

static void sleep_seconds(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s,
			       .tv_nsec = (long)((s - floor(s)) * 1e9) };
	nanosleep(&ts, NULL);
}

/* Polls a pending status resource until it completes or the wait runs out;
 * *status is replaced by the latest one. */
static rk_err wait_status(push_state *ps, json_t **status, rk_errctx *ctx)
{
	double deadline = elapsed(ps) + ps->wait_seconds, pause = 0.2;
	rk_buf url;
	rk_err err = RK_OK;

	rk_buf_init(&url);
	while (!err) {
		const char *state = json_string_value(json_object_get(*status, "status"));
		const char *id = json_string_value(json_object_get(*status, "id"));
		if (!state || strcmp(state, "pending") || !id || elapsed(ps) >= deadline)
			break;
		sleep_seconds(pause);
		pause = pause < 2 ? pause * 2 : 2;
		char *eid = client_http_escape(ps->http, id);
		rk_buf_reset(&url);
		if (!eid || rk_buf_printf(&url, "%sstatus/%s/", ps->root_url, eid)) {
			free(eid);
			err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
			break;
		}
		free(eid);
		json_t *next = NULL;
		err = client_http_request(ps->http, "GET", url.data, NULL, NULL, &next, ctx);
		if (!err && json_is_object(next)) {
			json_decref(*status);
			*status = next;
		} else {
			json_decref(next);
		}
	}
	rk_buf_cleanup(&url);
	return err;
}

static size_t count_of(const json_t *status, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(status, key));
	return v > 0 ? (size_t)v : 0;
}

static rk_err absorb_status(push_state *ps, const json_t *status, size_t sent, rk_errctx *ctx)
{
	size_t i;
	const json_t *f;
	size_t ok = count_of(status, "success_count");
	size_t bad = count_of(status, "failure_count");
	size_t pend = count_of(status, "pending_count");

	if (!json_is_object(status) || ok + bad + pend == 0) {
		/* A server that answers without a status resource: count the
		 * envelope as accepted only if the HTTP status said so (it did). */
		ps->success += sent;
		return RK_OK;
	}
	ps->success += ok;
	ps->failure += bad;
	ps->pending += pend;
	json_array_foreach(json_object_get(status, "failures"), i, f) {
		if (json_array_append(ps->failures, (json_t *)f))
			return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	}
	const char *id = json_string_value(json_object_get(status, "id"));
	if (pend && id && json_array_append_new(ps->pending_status, json_string(id)))
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	return RK_OK;
}

/* Sends objects[lo, hi) as one envelope; on 413 sends the halves. */
static rk_err send_range(push_state *ps, const json_t *objects, size_t lo, size_t hi,
			 rk_errctx *ctx)
{
	json_t *env = NULL, *list = NULL, *status = NULL;
	rk_err err;
	long http = 0;

	if (!(env = json_object()) || !(list = json_array()) ||
	    json_object_set(env, "objects", list)) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t i = lo; i < hi; i++) {
		if (json_array_append(list, json_array_get(objects, i))) {
			err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
			goto out;
		}
	}
	rk_errctx inner;
	rk_errctx_clear(&inner);
	err = client_http_request(ps->http, "POST", ps->objects_url, env, &http, &status, &inner);
	if (err == RK_ETOOBIG && http == 413 && hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		json_decref(env);
		json_decref(list);
		env = list = NULL;
		err = send_range(ps, objects, lo, mid, ctx);
		if (!err)
			err = send_range(ps, objects, mid, hi, ctx);
		goto out;
	}
	if (err) {
		*ctx = inner;
		goto out;
	}
	if ((err = wait_status(ps, &status, ctx)))
		goto out;
	if ((err = absorb_status(ps, status, hi - lo, ctx)))
		goto out;
	ps->sent += hi - lo;
	show_progress(ps, false);
out:
	json_decref(status);
	json_decref(list);
	json_decref(env);
	return err;
}

/* The objects of a document, borrowed from it; NULL if it has none. */
static json_t *objects_of(json_t *doc, json_t **single)
{
	*single = NULL;
	if (json_is_array(doc))
		return doc;
	json_t *objects = json_object_get(doc, "objects");
	const char *type = json_string_value(json_object_get(doc, "type"));
	if ((!type || strcmp(type, "bundle") == 0))
		return json_is_array(objects) ? objects : NULL;
	if (!(*single = json_array()) || json_array_append(*single, doc))
		return NULL;
	return *single;
}

static void print_report(const push_state *ps, FILE *out)
{
	size_t i;
	const json_t *f;

	json_array_foreach(ps->failures, i, f) {
		const char *id = json_string_value(json_object_get(f, "id"));
		const char *ver = json_string_value(json_object_get(f, "version"));
		const char *msg = json_string_value(json_object_get(f, "message"));
		fprintf(out, "failed: %s%s%s: %s\n", id ? id : "(no id)", ver ? " " : "",
			ver ? ver : "", msg ? msg : "no reason given");
	}
	json_array_foreach(ps->pending_status, i, f)
		fprintf(out, "pending: status %s (see: renkei get status %s)\n",
			json_string_value(f), json_string_value(f));
	fprintf(out, "%zu objects: %zu succeeded, %zu failed, %zu pending\n", ps->total,
		ps->success, ps->failure, ps->pending);
}

int cli_cmd_push(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_REMOTE_LONGOPTS,
		{ "collection", required_argument, NULL, OPT_COLLECTION },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "wait", required_argument, NULL, OPT_WAIT },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "anonymous", no_argument, NULL, OPT_ANONYMOUS },
		{ "named", no_argument, NULL, OPT_NAMED },
		{ NULL, 0, NULL, 0 },
	};
	client_remote remote;
	const char *collection = NULL;
	unsigned long batch = 100;
	double wait_seconds = 30;
	bool quiet = false;
	push_state ps = { 0 };
	json_t *doc = NULL, *single = NULL;
	char *root = NULL, *ecoll = NULL;
	rk_buf url;
	rk_errctx ctx;
	int c, rc = 1;
	char *end;

	client_remote_init(&remote);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (cli_remote_option(&remote, c, optarg))
			continue;
		switch (c) {
		case OPT_COLLECTION: collection = optarg; break;
		case OPT_BATCH:
			batch = strtoul(optarg, &end, 10);
			if (!*optarg || *end || batch == 0 || batch > RK_MAX_OBJECTS_PER_ENVELOPE)
				return cli_usage_error("push", "--batch: expected 1 to %d",
						       RK_MAX_OBJECTS_PER_ENVELOPE);
			break;
		case OPT_WAIT:
			wait_seconds = strtod(optarg, &end);
			if (!*optarg || *end || !(wait_seconds >= 0 && wait_seconds <= 86400))
				return cli_usage_error("push", "--wait: expected seconds, 0 to 86400");
			break;
		case OPT_QUIET: quiet = true; break;
		/* The hub's anonymous submission (docs/confidentiality.md):
		 * either way for this push, whatever the organisation's default. */
		case OPT_ANONYMOUS:
		case OPT_NAMED:
			if (remote.header)
				return cli_usage_error("push", "--anonymous and --named exclude each other");
			remote.header = c == OPT_ANONYMOUS ? "X-Renkei-Anonymous: true"
							   : "X-Renkei-Anonymous: false";
			break;
		default:
			return cli_usage_error("push", "%s: unknown option or missing value",
					       argv[optind - 1]);
		}
	}
	if (!collection)
		return cli_usage_error("push", "--collection ID is required");
	if (argc - optind != 1)
		return cli_usage_error("push", "expected one file (or - for standard input)");
	if (!remote.token)
		return cli_usage_error("push", "no token: give --token or set RENKEI_TOKEN");

	rk_buf_init(&url);
	rk_errctx_clear(&ctx);
	const char *path = argv[optind];
	if (rk_json_load_file(path, RK_MAX_CONTENT_LENGTH_CEILING, RK_MAX_JSON_DEPTH, &doc, &ctx))
		goto fail;
	json_t *objects = objects_of(doc, &single);
	if (!objects) {
		rk_fail(&ctx, RK_EINVAL, strcmp(path, "-") ? path : "<stdin>",
			"no STIX objects: expected a bundle, an envelope, an array or an object");
		goto fail;
	}
	ps.total = json_array_size(objects);
	ps.wait_seconds = wait_seconds;
	ps.progress = !quiet && isatty(STDERR_FILENO);
	ps.failures = json_array();
	ps.pending_status = json_array();
	if (!ps.failures || !ps.pending_status) {
		rk_fail(&ctx, RK_ENOMEM, NULL, "out of memory");
		goto fail;
	}
	clock_gettime(CLOCK_MONOTONIC, &ps.started);
	if (client_http_new(&remote, &ps.http, &ctx) || client_http_root_url(ps.http, &root, &ctx))
		goto fail;
	if (!(ecoll = client_http_escape(ps.http, collection)) ||
	    rk_buf_printf(&url, "%scollections/%s/objects/", root, ecoll)) {
		rk_fail(&ctx, RK_ENOMEM, NULL, "out of memory");
		goto fail;
	}
	ps.objects_url = url.data;
	ps.root_url = root;
	for (size_t lo = 0; lo < ps.total; lo += batch) {
		size_t hi = lo + batch < ps.total ? lo + batch : ps.total;
		if (send_range(&ps, objects, lo, hi, &ctx)) {
			show_progress(&ps, true);
			goto fail;
		}
	}
	show_progress(&ps, true);
	print_report(&ps, stdout);
	rc = ps.failure || ps.pending ? 1 : 0;
	goto out;
fail:
	if (ps.sent)
		print_report(&ps, stdout);
	{
		char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
		rk_errctx_format(&ctx, msg, sizeof msg);
		cli_error("push", "%s", msg);
	}
	rc = 1;
out:
	fflush(stdout);
	client_http_free(ps.http);
	json_decref(ps.failures);
	json_decref(ps.pending_status);
	json_decref(single);
	json_decref(doc);
	free(root);
	free(ecoll);
	rk_buf_cleanup(&url);
	return rc;
}
