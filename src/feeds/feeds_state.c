/*
 * feeds_state.c: what a feed produced last time, so an unchanged item
 * makes no new version.
 *
 * One text file per feed, DIR/<name>-<8 hex>.state (the name with every
 * byte outside [A-Za-z0-9._-] replaced by '_', and the start of
 * UUIDv5(FEEDS_NAMESPACE, name) so that two names that clean up alike
 * keep separate files):
 *
 *   renkei-feed-state 1
 *   checkpoint <timestamp> <url> <root> <collection>   (TAXII sources only)
 *   <id> <sha256 of the content, hex> <created> <modified>
 *   ...
 *
 * The checkpoint line is the X-TAXII-Date-Added-Last of the last page a
 * remote TAXII collection gave (feeds_taxii.c), with the source it belongs
 * to: a checkpoint of another source is not used (that source is read
 * from its start, and the ids above still keep what is unchanged from
 * being sent again). Like the ids, it is written only at the end of an
 * import whose objects were delivered, so it never runs ahead of them.
 *
 * A file rather than SQLite: one import reads the whole state once and
 * writes it whole once at the end, nothing else reads it concurrently, and
 * its size is that of the feed; a text file is enough, can be inspected
 * and deleted by an operator, and is replaced atomically (temporary file,
 * fsync, rename, fsync of the directory), so a crash leaves the old state
 * or the new one, never a mix. The hub stores versions once by (id,
 * modified), so even a lost state only re-sends versions it already has
 * after the next change.
 *
 * In memory the state is an open-addressing table keyed by id (FNV-1a,
 * linear probing, at most half full).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "feeds_int.h"

#define STATE_MAGIC "renkei-feed-state 1"

static uint64_t hash_id(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static rk_err grow(feeds_state *st)
{
	size_t cap = st->cap ? st->cap * 2 : 1024;
	feeds_entry *slots = calloc(cap, sizeof *slots);

	if (!slots)
		return RK_ENOMEM;
	for (size_t i = 0; i < st->cap; i++) {
		if (!st->slots[i].id)
			continue;
		size_t j = hash_id(st->slots[i].id) & (cap - 1);
		while (slots[j].id)
			j = (j + 1) & (cap - 1);
		slots[j] = st->slots[i];
	}
	free(st->slots);
	st->slots = slots;
	st->cap = cap;
	return RK_OK;
}

feeds_entry *feeds_state_find(feeds_state *st, const char *id)
{
	if (!st->cap)
		return NULL;
	for (size_t j = hash_id(id) & (st->cap - 1); st->slots[j].id; j = (j + 1) & (st->cap - 1))
		if (strcmp(st->slots[j].id, id) == 0)
			return &st->slots[j];
	return NULL;
}

feeds_entry *feeds_state_add(feeds_state *st, const char *id)
{
	if ((st->n + 1) * 2 > st->cap && grow(st))
		return NULL;
	size_t j = hash_id(id) & (st->cap - 1);
	while (st->slots[j].id)
		j = (j + 1) & (st->cap - 1);
	if (!(st->slots[j].id = strdup(id)))
		return NULL;
	st->n++;
	return &st->slots[j];
}

void feeds_state_cleanup(feeds_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->cap; i++)
		free(st->slots[i].id);
	free(st->slots);
	free(st->path);
	free(st->source);
	memset(st, 0, sizeof *st);
}

static rk_err load(feeds_state *st, rk_errctx *ctx)
{
	char *text = NULL, *line, *next;
	size_t len = 0, lineno = 0;
	rk_err err;
	rk_errctx inner;

	rk_errctx_clear(&inner);
	if (access(st->path, F_OK) != 0)
		return RK_OK; /* first import of this feed */
	if ((err = rk_read_file(st->path, RK_FEED_MAX_FILE, &text, &len, &inner))) {
		*ctx = inner;
		return err;
	}
	for (line = text; line && *line; line = next) {
		char id[RK_MAX_STIX_ID + 1], digest[FEEDS_DIGEST_HEX], created[RK_TIME_BUF],
			modified[RK_TIME_BUF];
		feeds_entry *e;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (lineno == 1) {
			if (strcmp(line, STATE_MAGIC) == 0)
				continue;
			err = rk_fail(ctx, RK_EIO, st->path, "not a feed state file (line 1)");
			goto out;
		}
		if (!*line)
			continue;
		if (strncmp(line, "checkpoint ", 11) == 0) {
			char *ts = line + 11, *source = strchr(ts, ' ');
			rk_time t;
			if (!source || (size_t)(source - ts) >= sizeof st->checkpoint) {
				err = rk_fail(ctx, RK_EIO, st->path, "line %zu: damaged checkpoint", lineno);
				goto out;
			}
			*source++ = '\0';
			if (!rk_time_parse(ts, &t) || !*source) {
				err = rk_fail(ctx, RK_EIO, st->path, "line %zu: damaged checkpoint", lineno);
				goto out;
			}
			if (feeds_state_set_checkpoint(st, source, ts)) {
				err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
				goto out;
			}
			continue;
		}
		if (sscanf(line, "%288s %64s %31s %31s", id, digest, created, modified) != 4 ||
		    strlen(digest) != 64 || !stix_id_valid(id, NULL)) {
			err = rk_fail(ctx, RK_EIO, st->path, "line %zu: damaged state entry", lineno);
			goto out;
		}
		if (feeds_state_find(st, id))
			continue;
		if (!(e = feeds_state_add(st, id))) {
			err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
			goto out;
		}
		memcpy(e->digest, digest, sizeof e->digest);
		if (!rk_time_parse(created, &e->created) || !rk_time_parse(modified, &e->modified)) {
			err = rk_fail(ctx, RK_EIO, st->path, "line %zu: damaged timestamp", lineno);
			goto out;
		}
		e->stored = true;
	}
	err = RK_OK;
out:
	free(text);
	return err;
}

rk_err feeds_state_file(const char *dir, const char *name, const char *suffix, rk_buf *path,
			rk_errctx *ctx)
{
	char uuid[RK_UUID_BUF];

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return rk_fail(ctx, RK_EIO, dir, "cannot make the state directory: %s",
			       strerror(errno));
	if (rk_uuid_v5(FEEDS_NAMESPACE, name, strlen(name), uuid))
		return rk_fail(ctx, RK_EINVAL, NULL, "bad namespace");
	if (rk_buf_printf(path, "%s/", dir))
		goto oom;
	for (const char *p = name; *p; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '-' || c == '_';
		if (rk_buf_append(path, ok && !(p == name && c == '.') ? &c : "_", 1))
			goto oom;
	}
	if (rk_buf_printf(path, "-%.8s.%s", uuid, suffix))
		goto oom;
	return RK_OK;
oom:
	return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
}

rk_err feeds_state_open(feeds_state *st, const char *dir, const char *name, rk_errctx *ctx)
{
	rk_buf path;
	rk_err err;

	memset(st, 0, sizeof *st);
	if (!dir)
		return RK_OK;
	rk_buf_init(&path);
	if ((err = feeds_state_file(dir, name, "state", &path, ctx))) {
		rk_buf_cleanup(&path);
		return err;
	}
	st->path = rk_buf_take(&path);
	return load(st, ctx);
}

const char *feeds_state_checkpoint(const feeds_state *st, const char *source)
{
	return st->source && strcmp(st->source, source) == 0 ? st->checkpoint : "";
}

rk_err feeds_state_set_checkpoint(feeds_state *st, const char *source, const char *checkpoint)
{
	char *copy = strdup(source);

	if (!copy)
		return RK_ENOMEM;
	free(st->source);
	st->source = copy;
	snprintf(st->checkpoint, sizeof st->checkpoint, "%s", checkpoint);
	return RK_OK;
}

rk_err feeds_state_save(const feeds_state *st, rk_errctx *ctx)
{
	rk_buf text;
	rk_err err = RK_OK;

	if (!st->path)
		return RK_OK;
	rk_buf_init(&text);
	if (rk_buf_puts(&text, STATE_MAGIC "\n")) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	if (st->source && st->checkpoint[0] &&
	    rk_buf_printf(&text, "checkpoint %s %s\n", st->checkpoint, st->source)) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < st->cap; i++) {
		const feeds_entry *e = &st->slots[i];
		char c[RK_TIME_BUF], m[RK_TIME_BUF];
		if (!e->id)
			continue;
		rk_time_format(e->created, 3, c);
		rk_time_format(e->modified, 3, m);
		if (rk_buf_printf(&text, "%s %s %s %s\n", e->id, e->digest, c, m)) {
			err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
			goto out;
		}
	}
	err = rk_write_file_atomic(st->path, text.data, text.len, ctx);
out:
	rk_buf_cleanup(&text);
	return err;
}
