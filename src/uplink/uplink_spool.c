/*
 * uplink_spool.c: sightings waiting for the hub, on disk.
 *
 * Files in the spool directory:
 *
 *     spool.jsonl     one record per line, appended and synced
 *     spool.pos       "<byte offset> <lines before it>\n": everything before
 *                     the offset is done (delivered, or refused for good)
 *     rejected.jsonl  the records the hub refused for good (a wrong
 *                     --identity, say), appended before the position moves
 *                     past them: refused is never lost, the operator can
 *                     correct and post them again
 *
 *       appended (synced) --> pending --send--> OK / REJECTED --> done
 *                               ^                  |
 *                               +---- RETRY -------+ (hub down, pending)
 *
 * spool.pos is replaced atomically after each batch the hub answered, so a
 * crash between the hub's answer and the new position resends that batch;
 * the records are sightings with fixed ids and contents, which the hub
 * then answers "already present": nothing is stored twice. When every
 * record is done the data file is emptied first and the position reset
 * after; a position past the end of the file (a crash between the two)
 * therefore means "all done" and is reset at open.
 *
 * Records are delivered strictly in file order: a batch stops at the first
 * record that must be retried, and everything after it waits. A line that
 * is not a JSON object (disk corruption, a foreign write) is reported once
 * with its line number and byte offset, counted and skipped; a torn last
 * line (a crash during an append, never acknowledged to the caller) is cut
 * at open. The file is bounded: an append that would pass the bound fails
 * with RK_ETOOBIG and writes nothing, so the caller keeps the data.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "uplink_int.h"

struct uplink_spool {
	char *data_path;
	char *pos_path;
	char *rejected_path; /* records the hub refused for good, kept */
	uint64_t max;
	uint64_t size;      /* bytes in spool.jsonl */
	uint64_t pos;       /* bytes done */
	uint64_t pos_line;  /* lines before pos */
	uplink_spool_stats stats;
};

void uplink_spool_free(uplink_spool *s)
{
	if (!s)
		return;
	free(s->data_path);
	free(s->pos_path);
	free(s->rejected_path);
	free(s);
}

static char *join(const char *dir, const char *name)
{
	rk_buf b;
	rk_buf_init(&b);
	if (rk_buf_printf(&b, "%s/%s", dir, name)) {
		rk_buf_cleanup(&b);
		return NULL;
	}
	return rk_buf_take(&b);
}

static rk_err write_pos(uplink_spool *s, rk_errctx *ctx)
{
	char text[64];
	int n = snprintf(text, sizeof text, "%" PRIu64 " %" PRIu64 "\n", s->pos, s->pos_line);
	return uplink_file_replace(s->pos_path, text, (size_t)n, ctx);
}

/* The bytes [pos, size) of the data file, NUL-terminated. */
static rk_err read_rest(const uplink_spool *s, char **out, size_t *len, rk_errctx *ctx)
{
	FILE *f = NULL;
	size_t want = (size_t)(s->size - s->pos);

	*out = NULL;
	*len = 0;
	if (!(*out = malloc(want + 1)))
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	if (want && (!(f = fopen(s->data_path, "rb")) || fseeko(f, (off_t)s->pos, SEEK_SET) != 0 ||
		     fread(*out, 1, want, f) != want)) {
		rk_err err = rk_fail(ctx, RK_EIO, s->data_path, "cannot read the spool: %s",
				     errno ? strerror(errno) : "short read");
		if (f)
			fclose(f);
		free(*out);
		*out = NULL;
		return err;
	}
	if (f)
		fclose(f);
	(*out)[want] = '\0';
	*len = want;
	return RK_OK;
}

static uint64_t count_lines(const char *p, size_t len)
{
	uint64_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += p[i] == '\n';
	return n;
}

rk_err uplink_spool_open(const char *dir, uint64_t max_bytes, uplink_spool **out,
			 rk_errctx *ctx)
{
	uplink_spool *s = NULL;
	char *text = NULL, *rest = NULL;
	size_t len;
	uint64_t cut;
	rk_err err;

	*out = NULL;
	if ((err = uplink_dir_ensure(dir, ctx)))
		return err;
	if (!(s = calloc(1, sizeof *s)) || !(s->data_path = join(dir, "spool.jsonl")) ||
	    !(s->pos_path = join(dir, "spool.pos")) ||
	    !(s->rejected_path = join(dir, "rejected.jsonl"))) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	s->max = max_bytes ? max_bytes : UPLINK_SPOOL_DEFAULT_MAX;
	if ((err = uplink_file_cut_torn(s->data_path, &s->size, &cut, ctx)))
		goto out;
	if (cut)
		rk_logf(RK_LOG_WARN, "uplink_spool_torn",
			"%s: cut a torn last record of %" PRIu64 " bytes (a crash while it was "
			"written; it was never acknowledged)", s->data_path, cut);
	err = uplink_file_read(s->pos_path, 64, &text, &len, ctx);
	if (err == RK_OK) {
		unsigned long long off, line;
		if (sscanf(text, "%llu %llu", &off, &line) != 2) {
			err = rk_fail(ctx, RK_EPARSE, s->pos_path,
				      "not '<offset> <line>': the spool position is damaged");
			goto out;
		}
		s->pos = off;
		s->pos_line = line;
	} else if (err == RK_ENOTFOUND) {
		err = RK_OK;
	} else {
		goto out;
	}
	if (s->pos > s->size) {
		/* Emptied after everything was done, position not yet reset. */
		s->pos = s->pos_line = 0;
		if ((err = uplink_file_empty(s->data_path, ctx)) || (err = write_pos(s, ctx)))
			goto out;
		s->size = 0;
	}
	if ((err = read_rest(s, &rest, &len, ctx)))
		goto out;
	s->stats.pending = s->stats.records = count_lines(rest, len);
	*out = s;
	s = NULL;
out:
	free(text);
	free(rest);
	uplink_spool_free(s);
	return err;
}

rk_err uplink_spool_append(uplink_spool *s, json_t *const *records, size_t n, rk_errctx *ctx)
{
	rk_buf b;
	rk_err err = RK_OK;

	if (!n)
		return RK_OK;
	rk_buf_init(&b);
	for (size_t i = 0; i < n && !err; i++) {
		if (!json_is_object(records[i]))
			err = rk_fail(ctx, RK_EINVAL, NULL, "spool record %zu is not a JSON object", i);
		else if ((err = rk_json_dump_to(&b, records[i], JSON_COMPACT)) ||
			 (err = rk_buf_puts(&b, "\n")))
			err = rk_fail(ctx, err, NULL, "cannot serialise a spool record");
	}
	if (err)
		goto out;
	if (s->size + b.len > s->max) {
		err = rk_fail(ctx, RK_ETOOBIG, s->data_path,
			      "spool full: %" PRIu64 " bytes waiting for the hub, bound %" PRIu64
			      "; %zu records not spooled (kept in memory)",
			      s->size - s->pos, s->max, n);
		goto out;
	}
	if ((err = uplink_file_append(s->data_path, b.data, b.len, ctx)))
		goto out;
	s->size += b.len;
	s->stats.records += n;
	s->stats.pending += n;
out:
	rk_buf_cleanup(&b);
	return err;
}

typedef struct entry {
	json_t *rec;     /* NULL: a corrupt line, done by skipping */
	uint64_t end;    /* offset after its line */
	uint64_t line, at; /* its line number and byte offset, for the report */
	char why[100];   /* a corrupt line: why */
} entry;

/* A damaged line is reported and counted once: when the position moves
 * past it. */
static void skip_corrupt(uplink_spool *s, const entry *e)
{
	snprintf(s->stats.last_corrupt, sizeof s->stats.last_corrupt,
		 "line %" PRIu64 " (byte %" PRIu64 "): %s", e->line, e->at, e->why);
	s->stats.corrupt++;
	if (s->stats.pending)
		s->stats.pending--;
	rk_logf(RK_LOG_WARN, "uplink_spool_corrupt", "%s: %s; skipped", s->data_path,
		s->stats.last_corrupt);
}

rk_err uplink_spool_deliver(uplink_spool *s, uplink_send_fn send, void *arg, size_t batch,
			    size_t *done_out, rk_errctx *ctx)
{
	char *rest = NULL;
	size_t len, done = 0;
	entry *ents = NULL;
	json_t **recs = NULL;
	uplink_sent *outs = NULL;
	rk_err err;

	if (done_out)
		*done_out = 0;
	if (batch == 0 || batch > RK_MAX_OBJECTS_PER_ENVELOPE)
		batch = RK_MAX_OBJECTS_PER_ENVELOPE;
	if ((err = read_rest(s, &rest, &len, ctx)))
		return err;
	/* Entries: up to `batch` records plus the corrupt lines among them. */
	size_t cap = batch + 64, n_ents = 0;
	if (!(ents = calloc(cap, sizeof *ents)) || !(recs = calloc(batch, sizeof *recs)) ||
	    !(outs = calloc(batch, sizeof *outs))) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	const uint64_t base = s->pos; /* file offset of rest[0] */
	size_t at = 0;                /* offset in rest */
	while (at < len || n_ents) {
		size_t n_recs = 0;
		n_ents = 0;
		uint64_t line = s->pos_line;
		/* Gather a batch. */
		while (at < len && n_recs < batch && n_ents < cap) {
			const char *p = rest + at;
			const char *nl = memchr(p, '\n', len - at);
			size_t l = nl ? (size_t)(nl - p) : len - at;
			json_t *rec = NULL;
			rk_errctx jctx;
			rk_errctx_clear(&jctx);
			line++;
			entry *e = &ents[n_ents];
			e->line = line;
			e->at = base + at;
			if (rk_json_parse(p, l, RK_MAX_JSON_DEPTH, &rec, &jctx) != RK_OK ||
			    !json_is_object(rec)) {
				json_decref(rec);
				rec = NULL;
				snprintf(e->why, sizeof e->why, "%.99s",
					 jctx.msg[0] ? jctx.msg : "not a JSON object");
			} else {
				recs[n_recs++] = rec;
			}
			at += l + (nl ? 1 : 0);
			e->rec = rec;
			e->end = base + at;
			n_ents++;
		}
		if (!n_ents)
			break;
		for (size_t i = 0; i < n_recs; i++)
			outs[i] = UPLINK_SENT_RETRY;
		if (n_recs && (err = send(arg, recs, n_recs, outs, ctx))) {
			/* Skipped corrupt lines before the first record are
			 * still done. */
			size_t k = 0;
			while (k < n_ents && !ents[k].rec)
				skip_corrupt(s, &ents[k++]);
			if (k) {
				s->pos_line += k;
				s->pos = ents[k - 1].end;
				write_pos(s, NULL);
			}
			goto out;
		}
		/* The done prefix: refused records go to rejected.jsonl
		 * (synced) before the position moves past them. */
		size_t r = 0, k = 0, n_done = 0, n_ok = 0;
		bool stop = false;
		rk_buf rejected;
		rk_buf_init(&rejected);
		for (; k < n_ents; k++) {
			if (ents[k].rec) {
				uplink_sent o = outs[r++];
				if (o == UPLINK_SENT_RETRY) {
					stop = true;
					break;
				}
				if (o == UPLINK_SENT_OK) {
					n_ok++;
				} else if (rk_json_dump_to(&rejected, ents[k].rec, JSON_COMPACT) ||
					   rk_buf_puts(&rejected, "\n")) {
					rk_buf_cleanup(&rejected);
					err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
					goto out;
				}
				n_done++;
			} else {
				skip_corrupt(s, &ents[k]);
			}
		}
		if (rejected.len &&
		    (err = uplink_file_append(s->rejected_path, rejected.data, rejected.len, ctx))) {
			rk_buf_cleanup(&rejected);
			goto out;
		}
		rk_buf_cleanup(&rejected);
		s->stats.delivered += n_ok;
		s->stats.rejected += n_done - n_ok;
		s->stats.pending = s->stats.pending > n_done ? s->stats.pending - n_done : 0;
		done += n_done;
		if (k) {
			s->pos = ents[k - 1].end;
			s->pos_line += k;
		}
		if ((err = write_pos(s, ctx)))
			goto out;
		for (size_t i = 0; i < n_ents; i++)
			json_decref(ents[i].rec);
		n_ents = 0;
		if (stop)
			goto out;
	}
	if (s->pos == s->size && s->size) {
		/* Everything done: empty the file first, then the position. */
		if ((err = uplink_file_empty(s->data_path, ctx)))
			goto out;
		s->size = s->pos = s->pos_line = 0;
		err = write_pos(s, ctx);
	}
out:
	for (size_t i = 0; ents && i < n_ents; i++)
		json_decref(ents[i].rec);
	free(ents);
	free(recs);
	free(outs);
	free(rest);
	if (done_out)
		*done_out = done;
	return err;
}

void uplink_spool_stats_get(const uplink_spool *s, uplink_spool_stats *out)
{
	*out = s->stats;
	out->bytes = s->size;
}
