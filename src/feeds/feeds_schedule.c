/*
 * feeds_schedule.c: feeds imported on a schedule into a hub, as
 * `renkei feed run` does: the schedule file, each feed's status, and one
 * run of one feed.
 *
 * The schedule file is INI (read with inih, like renkei.conf): one
 * [renkei] section for the hub the indicators go to, the state directory
 * and the warning lists, and one [feed NAME] section per feed with what
 * `renkei feed import` takes as flags plus a source (a file, a directory,
 * an http(s) URL, or a TAXII server) and an interval (feed-schedule(5) in
 * man/renkei-feed.1 lists every key). The whole file is checked before
 * anything runs; an error names the file, the line and the key.
 *
 * One run of a feed:
 *
 *   source --fetch (If-None-Match: the last ETag)--> 304: nothing to do
 *          --> feeds_import (warning lists, ids, state) --> feeds_deliver
 *          --> every object taken: feeds_import_finish (the state)
 *          --> the status file (last attempt, success, ETag, counts)
 *
 * Invariants:
 * - The state and the ETag move only after the hub took every object, so
 *   a failed run is repeated whole by the next one and nothing is lost;
 *   the hub stores an (id, version) once, so nothing is stored twice.
 * - The status file (DIR/<name>-<hex>.status, JSON, replaced atomically)
 *   is written after every run, failed or not: it keeps the consecutive
 *   failures that space out retries (feeds_job_due) across restarts.
 * - Tokens are read from their files at each run, so a rotated token is
 *   used without a restart, and never kept in the status.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>
#include <sodium.h>

#include "feeds_int.h"

/* ---------------------------------------------------------------- the file */

void feeds_schedule_free(feeds_schedule *s)
{
	if (!s)
		return;
	free(s->path);
	free(s->hub);
	free(s->token_file);
	free(s->root);
	free(s->cacert);
	free(s->state);
	for (size_t i = 0; i < s->n_warninglists; i++)
		free(s->warninglists[i]);
	free(s->warninglists);
	for (size_t i = 0; i < s->n_jobs; i++) {
		feeds_job *j = &s->jobs[i];
		free(j->name);
		free(j->source);
		free(j->collection);
		free(j->identity);
		free(j->source_token_file);
		free(j->source_root);
		free(j->source_cacert);
		free(j->source_collection);
	}
	free(s->jobs);
	free(s);
}

/* "yes"/"no" and the usual spellings. */
static int parse_bool(const char *v)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < RK_ARRAY_LEN(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

bool feeds_interval_parse(const char *v, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	unsigned long unit = 1;

	if (end == v || errno || *v == '-')
		return false;
	if (*end) {
		static const struct { char c; unsigned long s; } units[] = {
			{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
		};
		unit = 0;
		for (size_t i = 0; i < RK_ARRAY_LEN(units); i++)
			if (end[0] == units[i].c && !end[1])
				unit = units[i].s;
		if (!unit)
			return false;
	}
	if (n > RK_FEED_MAX_INTERVAL / unit || n * unit < RK_FEED_MIN_INTERVAL)
		return false;
	*out = (unsigned)(n * unit);
	return true;
}

typedef struct loader {
	feeds_schedule *s;
	feeds_job *job;  /* the section being read, NULL in [renkei] */
	bool in_renkei;
	rk_errctx *ctx;
	rk_err err;
} loader;

static int fail_key(loader *l, const char *section, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail_key(loader *l, const char *section, const char *key, const char *fmt, ...)
{
	char msg[RK_ERRCTX_MSG - 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!l->err)
		l->err = rk_fail(l->ctx, RK_ECONFIG, l->s->path, "[%s] %s: %s", section, key, msg);
	return 0;
}

static int oom(loader *l)
{
	if (!l->err)
		l->err = rk_fail(l->ctx, RK_ENOMEM, NULL, "out of memory");
	return 0;
}

/* Sets *field to a copy of v; false on out-of-memory. */
static bool set_str(char **field, const char *v)
{
	char *copy = strdup(v);
	if (!copy)
		return false;
	free(*field);
	*field = copy;
	return true;
}

static int renkei_key(loader *l, const char *key, const char *v)
{
	feeds_schedule *s = l->s;
	static const struct { const char *key; size_t off; } strs[] = {
		{ "hub", offsetof(feeds_schedule, hub) },
		{ "token_file", offsetof(feeds_schedule, token_file) },
		{ "root", offsetof(feeds_schedule, root) },
		{ "cacert", offsetof(feeds_schedule, cacert) },
		{ "state", offsetof(feeds_schedule, state) },
	};
	for (size_t i = 0; i < RK_ARRAY_LEN(strs); i++)
		if (strcmp(key, strs[i].key) == 0)
			return set_str((char **)((char *)s + strs[i].off), v) ? 1 : oom(l);
	if (strcmp(key, "warninglist") == 0) {
		if (s->n_warninglists == RK_FEED_MAX_WARNLISTS)
			return fail_key(l, "renkei", key, "at most %d warning lists",
					RK_FEED_MAX_WARNLISTS);
		char **more = realloc(s->warninglists, (s->n_warninglists + 1) * sizeof *more);
		if (!more)
			return oom(l);
		s->warninglists = more;
		if (!(more[s->n_warninglists] = strdup(v)))
			return oom(l);
		s->n_warninglists++;
		return 1;
	}
	if (strcmp(key, "builtin_warninglists") == 0) {
		int b = parse_bool(v);
		if (b < 0)
			return fail_key(l, "renkei", key, "expected yes or no, not '%s'", v);
		s->builtin_warninglists = b;
		return 1;
	}
	return fail_key(l, "renkei", key,
			"unknown key (hub, token_file, root, cacert, state, warninglist, "
			"builtin_warninglists)");
}

static int job_key(loader *l, const char *sec, const char *key, const char *v)
{
	feeds_job *j = l->job;
	char *end;
	static const struct { const char *key; size_t off; } strs[] = {
		{ "source", offsetof(feeds_job, source) },
		{ "source_token_file", offsetof(feeds_job, source_token_file) },
		{ "source_root", offsetof(feeds_job, source_root) },
		{ "source_cacert", offsetof(feeds_job, source_cacert) },
		{ "source_collection", offsetof(feeds_job, source_collection) },
	};

	for (size_t i = 0; i < RK_ARRAY_LEN(strs); i++)
		if (strcmp(key, strs[i].key) == 0)
			return set_str((char **)((char *)j + strs[i].off), v) ? 1 : oom(l);
	if (strcmp(key, "format") == 0) {
		if (!feeds_format_parse(v, &j->format))
			return fail_key(l, sec, key,
					"expected plain, csv, misp, misp-feed, stix or taxii, not '%s'", v);
		j->has_format = true;
	} else if (strcmp(key, "collection") == 0) {
		if (!rk_uuid_is_valid(v))
			return fail_key(l, sec, key, "'%s' is not a collection id (a UUID)", v);
		if (!set_str(&j->collection, v))
			return oom(l);
	} else if (strcmp(key, "marking") == 0) {
		char tlp[64];
		snprintf(tlp, sizeof tlp, "%s%s", strncasecmp(v, "tlp:", 4) ? "TLP:" : "", v);
		if ((j->marking = stix_tlp_parse(tlp)) == STIX_TLP_NONE)
			return fail_key(l, sec, key,
					"expected clear, green, amber, amber+strict or red, not '%s'", v);
	} else if (strcmp(key, "confidence") == 0) {
		long n = strtol(v, &end, 10);
		if (!*v || *end || n < 0 || n > 100)
			return fail_key(l, sec, key, "expected 0 to 100, not '%s'", v);
		j->confidence = (int)n;
	} else if (strcmp(key, "identity") == 0) {
		if (!stix_id_valid(v, "identity"))
			return fail_key(l, sec, key, "expected identity--<uuid>, not '%s'", v);
		if (!set_str(&j->identity, v))
			return oom(l);
	} else if (strcmp(key, "interval") == 0) {
		if (!feeds_interval_parse(v, &j->interval))
			return fail_key(l, sec, key,
					"expected seconds or a number with s, m, h or d, from %d s to "
					"%d days, not '%s'", RK_FEED_MIN_INTERVAL,
					RK_FEED_MAX_INTERVAL / 86400, v);
	} else if (strcmp(key, "on_warning") == 0) {
		if (strcmp(v, "drop") == 0)
			j->on_warning = FEEDS_WARN_DROP;
		else if (strcmp(v, "flag") == 0)
			j->on_warning = FEEDS_WARN_FLAG;
		else
			return fail_key(l, sec, key, "expected drop or flag, not '%s'", v);
	} else if (strcmp(key, "all_attributes") == 0 || strcmp(key, "header") == 0) {
		int b = parse_bool(v);
		if (b < 0)
			return fail_key(l, sec, key, "expected yes or no, not '%s'", v);
		*(key[0] == 'a' ? &j->all_attributes : &j->csv.header) = b;
	} else if (strcmp(key, "columns") == 0) {
		rk_errctx sub;
		rk_errctx_clear(&sub);
		if (feeds_csv_opts_parse(v, &j->csv, &sub))
			return fail_key(l, sec, key, "%s%s%s", sub.path, sub.path[0] ? ": " : "",
					sub.msg);
	} else if (strcmp(key, "delimiter") == 0) {
		if (strcmp(v, "tab") == 0)
			j->csv.delimiter = '\t';
		else if (strlen(v) == 1 && v[0] != '"')
			j->csv.delimiter = v[0];
		else
			return fail_key(l, sec, key, "expected one character or tab, not '%s'", v);
	} else if (strcmp(key, "source_limit") == 0) {
		long n = strtol(v, &end, 10);
		if (!*v || *end || n < 1 || n > RK_PAGE_MAX)
			return fail_key(l, sec, key, "expected 1 to %d, not '%s'", RK_PAGE_MAX, v);
		j->source_limit = (unsigned)n;
	} else if (strcmp(key, "timeout") == 0) {
		long n = strtol(v, &end, 10);
		if (!*v || *end || n < 1 || n > 3600)
			return fail_key(l, sec, key, "expected 1 to 3600 seconds, not '%s'", v);
		j->timeout = n;
	} else {
		return fail_key(l, sec, key,
				"unknown key (format, source, collection, marking, confidence, "
				"identity, interval, on_warning, all_attributes, columns, delimiter, "
				"header, source_token_file, source_root, source_cacert, "
				"source_collection, source_limit, timeout)");
	}
	return 1;
}

/* A new [feed NAME] section. */
static int start_job(loader *l, const char *section)
{
	feeds_schedule *s = l->s;
	const char *name = section + 5;

	while (*name == ' ')
		name++;
	if (!*name || strlen(name) > RK_FEED_MAX_NAME)
		return fail_key(l, section, "name", "a feed needs a name of 1 to %d characters",
				RK_FEED_MAX_NAME);
	for (size_t i = 0; i < s->n_jobs; i++)
		if (strcmp(s->jobs[i].name, name) == 0)
			return fail_key(l, section, "name", "a second feed of this name");
	if (s->n_jobs == RK_FEED_MAX_JOBS)
		return fail_key(l, section, "name", "at most %d feeds", RK_FEED_MAX_JOBS);
	feeds_job *more = realloc(s->jobs, (s->n_jobs + 1) * sizeof *more);
	if (!more)
		return oom(l);
	s->jobs = more;
	feeds_job *j = &s->jobs[s->n_jobs];
	memset(j, 0, sizeof *j);
	j->marking = STIX_TLP_NONE;
	j->confidence = -1;
	j->interval = RK_FEED_DEFAULT_INTERVAL;
	feeds_csv_opts_init(&j->csv);
	if (!(j->name = strdup(name)))
		return oom(l);
	s->n_jobs++;
	l->job = j;
	return 1;
}

static int on_line(void *user, const char *section, const char *key, const char *value)
{
	loader *l = user;

	if (l->err)
		return 0;
	if (!key) /* a section header (inih with INI_CALL_HANDLER_ON_NEW_SECTION) */
		return 1;
	if (strcmp(section, "renkei") == 0)
		return renkei_key(l, key, value);
	if (strncmp(section, "feed ", 5) == 0) {
		if (!l->job || strcmp(l->job->name, section + 5 + strspn(section + 5, " ")) != 0)
			if (!start_job(l, section))
				return 0;
		return job_key(l, section, key, value);
	}
	return fail_key(l, section, key, "unknown section (expected [renkei] or [feed NAME])");
}

static bool is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* What a section must hold, checked once the file is read. */
static rk_err check_job(const feeds_schedule *s, const feeds_job *j, rk_errctx *ctx)
{
	const char *missing = !j->has_format ? "format" :
			      !j->source ? "source" :
			      !j->collection ? "collection" :
			      j->marking == STIX_TLP_NONE ? "marking" : NULL;
	if (missing)
		return rk_fail(ctx, RK_ECONFIG, s->path, "[feed %s]: %s is required", j->name, missing);
	if (j->format == FEEDS_FORMAT_TAXII) {
		if (!is_url(j->source) || !j->source_collection)
			return rk_fail(ctx, RK_ECONFIG, s->path,
				       "[feed %s]: a taxii feed needs source = the server's http(s) URL "
				       "and source_collection", j->name);
	} else if (j->source_collection || j->source_root || j->source_limit) {
		return rk_fail(ctx, RK_ECONFIG, s->path,
			       "[feed %s]: source_collection, source_root and source_limit go with "
			       "format = taxii", j->name);
	}
	return RK_OK;
}

rk_err feeds_schedule_load(const char *path, feeds_schedule **out, rk_errctx *ctx)
{
	feeds_schedule *s = calloc(1, sizeof *s);
	loader l = { .s = s, .ctx = ctx };
	rk_err err;

	*out = NULL;
	if (!s || !(s->path = strdup(path))) {
		free(s);
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	}
	s->builtin_warninglists = true;
	int rc = ini_parse(path, on_line, &l);
	if (rc == -1) {
		err = rk_fail(ctx, RK_ECONFIG, path, "cannot open the file: %s", strerror(errno));
		goto fail;
	}
	if (rc == -2 || l.err == RK_ENOMEM) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto fail;
	}
	if (rc > 0) {
		char where[RK_ERRCTX_PATH];
		snprintf(where, sizeof where, "%s:%d", path, rc);
		if (!l.err)
			err = rk_fail(ctx, RK_ECONFIG, where,
				      "not an INI line (expected [section] or key = value)");
		else {
			err = l.err;
			snprintf(ctx->path, sizeof ctx->path, "%s", where);
		}
		goto fail;
	}
	if (!s->hub || !s->token_file || !s->state) {
		err = rk_fail(ctx, RK_ECONFIG, path, "[renkei]: hub, token_file and state are required");
		goto fail;
	}
	if (!is_url(s->hub)) {
		err = rk_fail(ctx, RK_ECONFIG, path, "[renkei] hub: '%s' is not an http(s) URL", s->hub);
		goto fail;
	}
	if (!s->n_jobs) {
		err = rk_fail(ctx, RK_ECONFIG, path, "no [feed NAME] section");
		goto fail;
	}
	for (size_t i = 0; i < s->n_jobs; i++)
		if ((err = check_job(s, &s->jobs[i], ctx)))
			goto fail;
	*out = s;
	return RK_OK;
fail:
	feeds_schedule_free(s);
	return err;
}

const feeds_job *feeds_schedule_find(const feeds_schedule *s, const char *name)
{
	for (size_t i = 0; i < s->n_jobs; i++)
		if (strcmp(s->jobs[i].name, name) == 0)
			return &s->jobs[i];
	return NULL;
}

/* ---------------------------------------------------------------- status */

static rk_err status_path(const feeds_schedule *s, const feeds_job *j, rk_buf *path,
			  rk_errctx *ctx)
{
	return feeds_state_file(s->state, j->name, "status", path, ctx);
}

static rk_time time_member(const json_t *doc, const char *key)
{
	rk_time t = 0;
	const char *v = json_string_value(json_object_get(doc, key));
	return v && rk_time_parse(v, &t) ? t : 0;
}

/* The counts' names, in the order of their fields, for the status file. */
static const struct { const char *name; size_t off; } count_fields[] = {
	{ "read", offsetof(feeds_counts, read) },
	{ "imported", offsetof(feeds_counts, imported) },
	{ "new", offsetof(feeds_counts, fresh) },
	{ "changed", offsetof(feeds_counts, changed) },
	{ "unchanged", offsetof(feeds_counts, unchanged) },
	{ "duplicate", offsetof(feeds_counts, duplicate) },
	{ "warned", offsetof(feeds_counts, warned) },
	{ "rejected", offsetof(feeds_counts, rejected) },
	{ "skipped", offsetof(feeds_counts, skipped) },
	{ "gone", offsetof(feeds_counts, gone) },
};

rk_err feeds_job_status_load(const feeds_schedule *s, const feeds_job *j, feeds_job_status *st,
			     rk_errctx *ctx)
{
	rk_buf path;
	json_t *doc = NULL;
	rk_errctx inner;
	rk_err err;

	memset(st, 0, sizeof *st);
	rk_buf_init(&path);
	rk_errctx_clear(&inner);
	if ((err = status_path(s, j, &path, ctx)))
		goto out;
	FILE *probe = fopen(path.data, "r");
	if (!probe) {
		err = errno == ENOENT ? RK_OK : rk_fail(ctx, RK_EIO, path.data, "%s", strerror(errno));
		goto out;
	}
	fclose(probe);
	if (rk_json_load_file(path.data, 64 * 1024, 8, &doc, &inner) || !json_is_object(doc)) {
		/* A damaged status only loses the back-off and the ETag: say so
		 * and start afresh rather than stop the feed. */
		rk_log(RK_LOG_WARN, "feed_status_damaged",
		       json_pack("{ssss}", "feed", j->name, "file", path.data));
		goto out;
	}
	st->last_attempt = time_member(doc, "last_attempt");
	st->last_success = time_member(doc, "last_success");
	st->failures = (unsigned)json_integer_value(json_object_get(doc, "failures"));
	const char *last_error = json_string_value(json_object_get(doc, "last_error"));
	const char *etag = json_string_value(json_object_get(doc, "etag"));
	const char *etag_source = json_string_value(json_object_get(doc, "etag_source"));
	snprintf(st->last_error, sizeof st->last_error, "%s", last_error ? last_error : "");
	if (etag && etag_source && strcmp(etag_source, j->source) == 0)
		snprintf(st->etag, sizeof st->etag, "%s", etag);
	json_t *counts = json_object_get(doc, "counts");
	for (size_t i = 0; i < RK_ARRAY_LEN(count_fields); i++)
		*(uint64_t *)((char *)&st->counts + count_fields[i].off) =
			(uint64_t)json_integer_value(json_object_get(counts, count_fields[i].name));
	json_t *sent = json_object_get(doc, "delivered");
	st->delivered.succeeded = (uint64_t)json_integer_value(json_object_get(sent, "succeeded"));
	st->delivered.failed = (uint64_t)json_integer_value(json_object_get(sent, "failed"));
	st->delivered.pending = (uint64_t)json_integer_value(json_object_get(sent, "pending"));
out:
	json_decref(doc);
	rk_buf_cleanup(&path);
	return err;
}

static rk_err status_save(const feeds_schedule *s, const feeds_job *j, const feeds_job_status *st,
			  rk_errctx *ctx)
{
	char attempt[RK_TIME_BUF], success[RK_TIME_BUF];
	json_t *doc, *counts;
	char *text = NULL;
	rk_buf path;
	rk_err err;

	rk_time_format(st->last_attempt, 3, attempt);
	rk_time_format(st->last_success, 3, success);
	rk_buf_init(&path);
	doc = json_pack("{sssosIssssss}", "last_attempt", attempt, "last_success",
			st->last_success ? json_string(success) : json_null(), "failures",
			(json_int_t)st->failures, "last_error", st->last_error, "etag", st->etag,
			"etag_source", st->etag[0] ? j->source : "");
	counts = json_object();
	for (size_t i = 0; counts && i < RK_ARRAY_LEN(count_fields); i++)
		json_object_set_new(counts, count_fields[i].name,
				    json_integer((json_int_t) *
						 (const uint64_t *)((const char *)&st->counts +
								    count_fields[i].off)));
	if (!doc || !counts || json_object_set_new(doc, "counts", counts) ||
	    json_object_set_new(doc, "delivered",
				json_pack("{sIsIsI}", "succeeded", (json_int_t)st->delivered.succeeded,
					  "failed", (json_int_t)st->delivered.failed, "pending",
					  (json_int_t)st->delivered.pending)) ||
	    !(text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER))) {
		if (!doc)
			json_decref(counts);
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	if (!(err = status_path(s, j, &path, ctx)))
		err = rk_write_file_atomic(path.data, text, strlen(text), ctx);
out:
	free(text);
	json_decref(doc);
	rk_buf_cleanup(&path);
	return err;
}

rk_time feeds_job_due(const feeds_job *j, const feeds_job_status *st)
{
	const rk_time second = 1000000;
	uint64_t wait = j->interval;

	if (!st->last_attempt)
		return 0;
	if (st->failures) {
		/* Retries sooner than the interval, doubling from a minute. */
		unsigned shift = st->failures - 1 < 16 ? st->failures - 1 : 16;
		uint64_t backoff = (uint64_t)RK_FEED_RETRY_FIRST << shift;
		if (backoff < wait)
			wait = backoff;
	}
	return st->last_attempt + (rk_time)wait * second;
}

/* ---------------------------------------------------------------- a run */

/* The remote of a source: its URL, token, root and CA, request timeout. */
static void source_remote(const feeds_job *j, const char *token, client_remote *r)
{
	client_remote_init(r);
	r->url = j->source;
	r->token = token;
	r->root = j->source_root;
	r->cacert = j->source_cacert;
	r->timeout_seconds = j->timeout ? j->timeout : RK_FEED_SOURCE_TIMEOUT_SECONDS;
}

/* A MISP feed on a web server: the manifest already fetched, the events
 * fetched as the parser asks for them. */
typedef struct misp_site {
	client_http *http;
	const char *base;       /* the feed's URL, without a trailing '/' */
	const rk_buf *manifest;
} misp_site;

static rk_err read_from_site(void *arg, const char *name, char **data, size_t *len,
			     rk_errctx *ctx)
{
	misp_site *site = arg;
	client_fetched got;
	rk_buf url;
	rk_err err;

	*data = NULL;
	*len = 0;
	if (strcmp(name, "manifest.json") == 0) {
		if (!(*data = malloc(site->manifest->len + 1)))
			return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		memcpy(*data, site->manifest->data ? site->manifest->data : "", site->manifest->len);
		(*data)[site->manifest->len] = '\0';
		*len = site->manifest->len;
		return RK_OK;
	}
	rk_buf_init(&url);
	if (rk_buf_printf(&url, "%s/%s", site->base, name)) {
		rk_buf_cleanup(&url);
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	}
	err = client_http_fetch(site->http, url.data, RK_FEED_MAX_FILE, NULL, &got, ctx);
	rk_buf_cleanup(&url);
	if (err)
		return err;
	if (!got.body.data && rk_buf_puts(&got.body, "")) /* an empty answer: "" */
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	*len = got.body.len;
	*data = rk_buf_take(&got.body);
	return RK_OK;
}

/*
 * Reads the job's source into imp. *unchanged is set when an http(s)
 * source (for a MISP feed, its manifest) answered 304 to the ETag of the
 * last delivered run: then nothing was read and nothing needs doing.
 * *etag gets the answer's ETag.
 */
static rk_err read_source(const feeds_job *j, const char *token, const char *last_etag,
			  feeds_import *imp, bool *unchanged, char *etag, rk_errctx *ctx)
{
	client_remote remote;
	client_http *http = NULL;
	client_fetched got = { 0 };
	rk_buf url;
	rk_err err;

	*unchanged = false;
	etag[0] = '\0';
	source_remote(j, token, &remote);
	if (j->format == FEEDS_FORMAT_TAXII) {
		feeds_taxii_source src = { .remote = remote, .collection = j->source_collection,
					   .page_limit = j->source_limit };
		return feeds_import_taxii(imp, &src, ctx);
	}
	if (!is_url(j->source))
		return feeds_import_path(imp, j->format, j->source, &j->csv, ctx);
	rk_buf_init(&url);
	size_t base_len = strlen(j->source);
	while (base_len && j->source[base_len - 1] == '/')
		base_len--;
	if (j->format == FEEDS_FORMAT_MISP_FEED
		    ? rk_buf_printf(&url, "%.*s/manifest.json", (int)base_len, j->source)
		    : rk_buf_puts(&url, j->source)) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	if ((err = client_http_new(&remote, &http, ctx)) ||
	    (err = client_http_fetch(http, url.data, RK_FEED_MAX_FILE, last_etag, &got, ctx)))
		goto out;
	snprintf(etag, CLIENT_ETAG_MAX, "%s", got.etag);
	if (got.not_modified) {
		*unchanged = true;
		goto out;
	}
	if (j->format == FEEDS_FORMAT_MISP_FEED) {
		char *base = strndup(j->source, base_len);
		misp_site site = { .http = http, .base = base, .manifest = &got.body };
		err = base ? feeds_parse_misp_feed(imp, base, read_from_site, &site, ctx)
			   : rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		free(base);
	} else {
		err = feeds_import_data(imp, j->format, j->source, got.body.data ? got.body.data : "",
					got.body.len, &j->csv, ctx);
	}
out:
	rk_buf_cleanup(&got.body);
	rk_buf_cleanup(&url);
	client_http_free(http);
	return err;
}

rk_err feeds_job_run(const feeds_schedule *s, const feeds_job *j, const feeds_warnlists *warn,
		     FILE *report, feeds_job_status *st, rk_errctx *ctx)
{
	feeds_config cfg = {
		.name = j->name, .marking = j->marking, .confidence = j->confidence,
		.identity = j->identity, .state_dir = s->state, .warn = warn,
		.on_warning = j->on_warning, .all_attributes = j->all_attributes,
	};
	feeds_import *imp = NULL;
	char *hub_token = NULL, *source_token = NULL, etag[CLIENT_ETAG_MAX];
	bool unchanged = false;
	client_remote hub;
	rk_err err, saved;

	if ((err = feeds_job_status_load(s, j, st, ctx)))
		return err;
	st->last_attempt = rk_time_now();
	memset(&st->delivered, 0, sizeof st->delivered);
	if ((err = client_read_token(s->token_file, &hub_token, ctx)))
		goto done;
	if (j->source_token_file && (err = client_read_token(j->source_token_file, &source_token, ctx)))
		goto done;
	if ((err = feeds_import_new(&cfg, &imp, ctx)))
		goto done;
	if ((err = read_source(j, source_token, st->etag, imp, &unchanged, etag, ctx)))
		goto done;
	if (unchanged) {
		memset(&st->counts, 0, sizeof st->counts);
		if (report)
			fprintf(report, "feed %s: the source has not changed since the last run\n",
				j->name);
		goto done;
	}
	client_remote_init(&hub);
	hub.url = s->hub;
	hub.token = hub_token;
	hub.root = s->root;
	hub.cacert = s->cacert;
	hub.timeout_seconds = RK_FEED_SOURCE_TIMEOUT_SECONDS;
	if ((err = feeds_deliver(&hub, j->collection, imp, j->marking, report, &st->delivered, ctx)))
		goto counted;
	if (st->delivered.failed || st->delivered.pending) {
		err = rk_fail(ctx, RK_ECONFLICT, s->hub,
			      "the hub did not take %llu of %llu objects; the feed's state is "
			      "unchanged and the next run sends them again",
			      (unsigned long long)(st->delivered.failed + st->delivered.pending),
			      (unsigned long long)json_array_size(feeds_import_objects(imp)));
		goto counted;
	}
	if ((err = feeds_import_finish(imp, ctx)))
		goto counted;
	snprintf(st->etag, sizeof st->etag, "%s", etag);
counted:
	st->counts = *feeds_import_counts(imp);
	if (report)
		feeds_import_summary(imp, warn, report);
done:
	if (err) {
		st->failures++;
		char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
		rk_errctx_format(ctx, msg, sizeof msg);
		snprintf(st->last_error, sizeof st->last_error, "%s", msg);
	} else {
		st->failures = 0;
		st->last_success = st->last_attempt;
		st->last_error[0] = '\0';
	}
	rk_errctx inner;
	rk_errctx_clear(&inner);
	if ((saved = status_save(s, j, st, err ? &inner : ctx)) && !err)
		err = saved;
	feeds_import_free(imp);
	if (hub_token)
		sodium_memzero(hub_token, strlen(hub_token));
	if (source_token)
		sodium_memzero(source_token, strlen(source_token));
	free(hub_token);
	free(source_token);
	return err;
}
