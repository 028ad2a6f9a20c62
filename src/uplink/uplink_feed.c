/*
 * uplink_feed.c: the sensor's indicator feed: a collection's objects pulled
 * over TAXII 2.1 since a durable checkpoint.
 *
 * Each poll asks GET <root>/collections/<id>/objects/?added_after=<checkpoint>
 * &match[type]=indicator&limit=N and follows `next` while the hub says
 * `more` (TAXII 2.1 sections 3.4 and 5.4). The hub serves each id's newest
 * version (a new version, a revocation, has a new date_added and so comes
 * after the checkpoint); the caller's apply decides what a version means
 * to the matcher.
 *
 * For every page, in this order:
 *
 *     apply(obj) for each object      the caller took the page
 *     append to feed-<c>.jsonl, sync  the objects are kept
 *     replace feed-<c>.pos            the checkpoint moves to the page's
 *                                     X-TAXII-Date-Added-Last
 *
 * so a crash at any point leaves a checkpoint no later than what the caller
 * and the log hold: a restart replays the log (the caller gets every object
 * it had) and pulls from the checkpoint (at worst one page again, which
 * apply takes as the same versions again). date_added is strictly
 * increasing per collection on the hub, so added_after = the last page's
 * last date neither skips nor repeats an object between polls. New
 * versions are appended, so the log is compacted at open once it holds
 * more superseded lines than ids (the last line of each id is kept: the
 * version the caller applied last). A hub
 * error ends the poll with what was taken kept; the checkpoint file names
 * the hub URL and collection, and a checkpoint of another hub is not used.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "uplink_int.h"

struct uplink_feed {
	char *url, *collection, *type;
	unsigned limit;
	uint64_t compact_after;
	char *pos_path, *log_path;
	uplink_feed_stats stats;
	uint64_t log_lines; /* lines read at replay */
};

void uplink_feed_free(uplink_feed *f)
{
	if (!f)
		return;
	free(f->url);
	free(f->collection);
	free(f->type);
	free(f->pos_path);
	free(f->log_path);
	free(f);
}

static bool safe_name(const char *s)
{
	if (!*s || strlen(s) > 128)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static rk_err write_checkpoint(uplink_feed *f, rk_errctx *ctx)
{
	json_t *doc = json_pack("{s:s, s:s, s:s}", "url", f->url, "collection", f->collection,
				"added_after", f->stats.checkpoint);
	rk_buf b;
	rk_err err;

	rk_buf_init(&b);
	if (!doc || rk_json_dump_to(&b, doc, JSON_COMPACT) || rk_buf_puts(&b, "\n"))
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	else
		err = uplink_file_replace(f->pos_path, b.data, b.len, ctx);
	json_decref(doc);
	rk_buf_cleanup(&b);
	return err;
}

/* Reads the checkpoint; one of another hub or collection is dropped. */
static rk_err read_checkpoint(uplink_feed *f, bool *reset, rk_errctx *ctx)
{
	char *text = NULL;
	size_t len;
	json_t *doc = NULL;
	rk_errctx jctx;
	rk_err err;

	*reset = false;
	err = uplink_file_read(f->pos_path, 4096, &text, &len, ctx);
	if (err == RK_ENOTFOUND)
		return RK_OK;
	if (err)
		return err;
	rk_errctx_clear(&jctx);
	if (rk_json_parse(text, len, 4, &doc, &jctx) != RK_OK || !json_is_object(doc)) {
		err = rk_fail(ctx, RK_EPARSE, f->pos_path,
			      "the feed checkpoint is damaged (%s); remove it to pull the "
			      "collection again from the start", jctx.msg[0] ? jctx.msg : "not an object");
		goto out;
	}
	const char *url = json_string_value(json_object_get(doc, "url"));
	const char *coll = json_string_value(json_object_get(doc, "collection"));
	const char *after = json_string_value(json_object_get(doc, "added_after"));
	rk_time t;
	if (!url || !coll || strcmp(url, f->url) || strcmp(coll, f->collection)) {
		rk_logf(RK_LOG_WARN, "uplink_feed_reset",
			"%s: checkpoint of another hub or collection (%s, %s); pulling %s from "
			"the start", f->pos_path, url ? url : "?", coll ? coll : "?", f->collection);
		*reset = true;
		goto out;
	}
	if (!after || (*after && !rk_time_parse(after, &t))) {
		err = rk_fail(ctx, RK_EPARSE, f->pos_path,
			      "added_after is not an RFC 3339 timestamp; remove the file to pull "
			      "the collection again from the start");
		goto out;
	}
	snprintf(f->stats.checkpoint, sizeof f->stats.checkpoint, "%s", after);
out:
	json_decref(doc);
	free(text);
	return err;
}

/* Hands every object of the log to apply; unreadable lines are reported
 * with their line number and skipped. */
/* Which log line holds the last version of each id: (hash of the id,
 * line number) per good line, 16 bytes a line, sorted when needed. A
 * 64-bit FNV-1a collision between two ids (about 1e-8 for a million ids)
 * would at worst drop one of them from the log at compaction; the next
 * full pull brings it back. */
typedef struct line_ref {
	uint64_t hash, line;
} line_ref;

typedef struct line_refs {
	line_ref *v;
	size_t n, cap;
} line_refs;

static uint64_t hash_id64(const char *s)
{
	uint64_t h = 14695981039346656037ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static bool refs_add(line_refs *r, uint64_t hash, uint64_t line)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		line_ref *v = realloc(r->v, cap * sizeof *v);
		if (!v)
			return false;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n].hash = hash;
	r->v[r->n].line = line;
	r->n++;
	return true;
}

static int by_hash_line(const void *a, const void *b)
{
	const line_ref *x = a, *y = b;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static rk_err replay(uplink_feed *f, uplink_apply_fn apply, void *arg, line_refs *last,
		     rk_errctx *ctx)
{
	FILE *in = fopen(f->log_path, "rb");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t no = 0;
	rk_err err = RK_OK;

	if (!in)
		return errno == ENOENT ? RK_OK
				       : rk_fail(ctx, RK_EIO, f->log_path, "cannot open: %s",
						 strerror(errno));
	while ((n = getline(&line, &cap, in)) > 0) {
		json_t *obj = NULL;
		rk_errctx jctx;
		no++;
		f->log_lines++;
		rk_errctx_clear(&jctx);
		if ((size_t)n > RK_MAX_OBJECT_BYTES + 1 ||
		    rk_json_parse(line, (size_t)n, RK_MAX_JSON_DEPTH, &obj, &jctx) != RK_OK ||
		    !json_is_object(obj)) {
			f->stats.corrupt++;
			rk_logf(RK_LOG_WARN, "uplink_feed_corrupt", "%s: line %" PRIu64 ": %s; skipped",
				f->log_path, no, jctx.msg[0] ? jctx.msg : "not a JSON object");
			json_decref(obj);
			continue;
		}
		const char *id = json_string_value(json_object_get(obj, "id"));
		if (id && !refs_add(last, hash_id64(id), no)) {
			json_decref(obj);
			err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
			break;
		}
		err = apply(arg, obj);
		json_decref(obj);
		if (err) {
			err = rk_fail(ctx, err, f->log_path, "line %" PRIu64 ": the sensor could not take "
				      "the object: %s", no, rk_strerror(err));
			break;
		}
		f->stats.replayed++;
	}
	free(line);
	fclose(in);
	return err;
}

/*
 * Rewrites the log with, for each id, only its last line (the version
 * applied last, which the caller kept), dropping damaged lines too; the
 * order of the kept lines is unchanged. Written beside the log and renamed
 * over it, so a crash leaves the old log or the new one, either of which
 * replays to the same set. keep[line - 1] says which lines stay.
 */
static rk_err compact(uplink_feed *f, const unsigned char *keep_line, uint64_t n_lines,
		      rk_errctx *ctx)
{
	FILE *in = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t no = 0, dropped = 0;
	rk_buf keep;
	rk_err err = RK_OK;

	rk_buf_init(&keep);
	if (!(in = fopen(f->log_path, "rb")))
		return rk_fail(ctx, RK_EIO, f->log_path, "cannot open: %s", strerror(errno));
	while ((n = getline(&line, &cap, in)) > 0) {
		no++;
		if (no > n_lines || !keep_line[no - 1]) {
			dropped++;
			continue;
		}
		if (rk_buf_append(&keep, line, (size_t)n)) {
			err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
			goto out;
		}
	}
	if ((err = uplink_file_replace(f->log_path, keep.data ? keep.data : "", keep.len, ctx)))
		goto out;
	f->stats.compacted += dropped;
	rk_logf(RK_LOG_INFO, "uplink_feed_compacted", "%s: %" PRIu64 " superseded or damaged "
		"lines dropped, %" PRIu64 " kept", f->log_path, dropped, no - dropped);
out:
	free(line);
	fclose(in);
	rk_buf_cleanup(&keep);
	return err;
}

/* Compacts when the log holds more superseded lines than allowed. */
static rk_err maybe_compact(uplink_feed *f, line_refs *last, rk_errctx *ctx)
{
	unsigned char *keep = NULL;
	uint64_t ids = 0;
	rk_err err = RK_OK;

	if (last->n)
		qsort(last->v, last->n, sizeof *last->v, by_hash_line);
	for (size_t i = 0; i < last->n; i++)
		ids += i + 1 == last->n || last->v[i + 1].hash != last->v[i].hash;
	uint64_t slack = f->compact_after ? f->compact_after : (ids > 1024 ? ids : 1024);
	if (f->log_lines <= ids + slack)
		return RK_OK;
	if (!(keep = calloc(f->log_lines ? f->log_lines : 1, 1)))
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < last->n; i++)
		if (i + 1 == last->n || last->v[i + 1].hash != last->v[i].hash)
			keep[last->v[i].line - 1] = 1;
	err = compact(f, keep, f->log_lines, ctx);
	free(keep);
	return err;
}

static char *path_of(const char *dir, const char *coll, const char *ext)
{
	rk_buf b;
	rk_buf_init(&b);
	if (rk_buf_printf(&b, "%s/feed-%s.%s", dir, coll, ext)) {
		rk_buf_cleanup(&b);
		return NULL;
	}
	return rk_buf_take(&b);
}

rk_err uplink_feed_open(const uplink_feed_opts *opts, uplink_apply_fn apply, void *arg,
			uplink_feed **out, rk_errctx *ctx)
{
	uplink_feed *f = NULL;
	line_refs last = { 0 };
	uint64_t size, cut;
	bool reset;
	rk_err err;

	*out = NULL;
	if (!opts->collection || !safe_name(opts->collection))
		return rk_fail(ctx, RK_EINVAL, "--collection", "'%s' is not a collection id",
			       opts->collection ? opts->collection : "");
	if (!opts->state_dir || !opts->url)
		return rk_fail(ctx, RK_EINVAL, NULL, "the feed needs a hub URL and a state directory");
	if ((err = uplink_dir_ensure(opts->state_dir, ctx)))
		return err;
	if (!(f = calloc(1, sizeof *f)) || !(f->url = strdup(opts->url)) ||
	    !(f->collection = strdup(opts->collection)) ||
	    !(f->type = strdup(opts->type ? opts->type : "indicator")) ||
	    !(f->pos_path = path_of(opts->state_dir, opts->collection, "pos")) ||
	    !(f->log_path = path_of(opts->state_dir, opts->collection, "jsonl"))) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	f->limit = opts->page_limit ? opts->page_limit : RK_FEED_PAGE_LIMIT;
	f->compact_after = opts->compact_after;
	if ((err = read_checkpoint(f, &reset, ctx)))
		goto out;
	if (reset) {
		f->stats.checkpoint[0] = '\0';
		if ((err = uplink_file_empty(f->log_path, ctx)) || (err = write_checkpoint(f, ctx)))
			goto out;
	}
	if ((err = uplink_file_cut_torn(f->log_path, &size, &cut, ctx)))
		goto out;
	if (cut)
		rk_logf(RK_LOG_WARN, "uplink_feed_torn", "%s: cut a torn last line of %" PRIu64
			" bytes (its page was not checkpointed and is pulled again)", f->log_path, cut);
	if ((err = replay(f, apply, arg, &last, ctx)) || (err = maybe_compact(f, &last, ctx)))
		goto out;
	*out = f;
	f = NULL;
out:
	free(last.v);
	uplink_feed_free(f);
	return err;
}

static rk_err log_page(uplink_feed *f, const json_t *objects, rk_errctx *ctx)
{
	rk_buf b;
	size_t i;
	const json_t *o;
	rk_err err = RK_OK;

	if (!json_array_size(objects))
		return RK_OK;
	rk_buf_init(&b);
	json_array_foreach(objects, i, o) {
		if (rk_json_dump_to(&b, o, JSON_COMPACT) || rk_buf_puts(&b, "\n")) {
			err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
			break;
		}
	}
	if (!err)
		err = uplink_file_append(f->log_path, b.data, b.len, ctx);
	rk_buf_cleanup(&b);
	return err;
}

rk_err uplink_feed_poll(uplink_feed *f, client_http *h, uplink_apply_fn apply, void *arg,
			size_t *applied_out, rk_errctx *ctx)
{
	client_page page = { 0 };
	char *cursor = NULL;
	size_t applied = 0;
	rk_err err = RK_OK;

	/* The cursor belongs to the filters of the first page (the hub
	 * refuses it with others), so added_after stays the poll's starting
	 * checkpoint while `next` walks on. */
	char since[sizeof f->stats.checkpoint];
	snprintf(since, sizeof since, "%s", f->stats.checkpoint);
	f->stats.polls++;
	for (;;) {
		client_query q = { .added_after = since[0] ? since : NULL,
				   .next = cursor, .type = f->type, .limit = f->limit };
		if ((err = client_get_objects(h, f->collection, &q, &page, ctx)))
			break;
		size_t i;
		json_t *o;
		json_array_foreach(page.objects, i, o) {
			if ((err = apply(arg, o))) {
				err = rk_fail(ctx, err, NULL, "the sensor could not take object %zu of "
					      "a page: %s", i, rk_strerror(err));
				goto out;
			}
		}
		if ((err = log_page(f, page.objects, ctx)))
			break;
		if (page.date_added_last[0]) {
			snprintf(f->stats.checkpoint, sizeof f->stats.checkpoint, "%s",
				 page.date_added_last);
			if ((err = write_checkpoint(f, ctx)))
				break;
		}
		applied += json_array_size(page.objects);
		f->stats.pages++;
		f->stats.objects += json_array_size(page.objects);
		if (!page.more)
			break;
		if (cursor && strcmp(cursor, page.next) == 0) {
			err = rk_fail(ctx, RK_EIO, f->collection, "the hub repeated the cursor '%s'",
				      cursor);
			break;
		}
		free(cursor);
		cursor = page.next;
		page.next = NULL;
	}
out:
	if (err) {
		f->stats.errors++;
		if (ctx)
			rk_errctx_format(ctx, f->stats.last_error, sizeof f->stats.last_error);
	}
	client_page_cleanup(&page);
	free(cursor);
	if (applied_out)
		*applied_out = applied;
	return err;
}

void uplink_feed_stats_get(const uplink_feed *f, uplink_feed_stats *out)
{
	*out = f->stats;
}
