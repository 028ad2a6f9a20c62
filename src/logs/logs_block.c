/*
 * logs_block.c: logs cut into blocks of whole lines by one thread and
 * parsed by others (the sensor's reader and worker threads).
 *
 * The blocker reads big chunks straight into the caller's block buffer;
 * the bytes after the last newline (a partial line) are kept in `carry`
 * and start the next block. Each block goes out with the number of its
 * first line and the Zeek TSV header state in force there. To know that
 * state, the blocker passes the block's '#' lines (for the formats that
 * have headers) through a reader of its own, `hdr`, after the snapshot was
 * taken: the worker re-reads those same header lines in order, so its
 * state changes at the same line as a single reader's would.
 *
 * Invariants: carry_len < cap; b->line counts every line cut so far
 * (blank, header and too-long lines included), so block i starts at line
 * 1 + the lines of blocks 0..i-1 and the numbers are the file's own. A line
 * that does not fit a block (cap - 1 bytes without a newline) is counted,
 * reported and skipped up to its newline.
 *
 * Following: like logs_follow_poll (logs_read.c), at end of data the path
 * is stat'ed; a new inode means rotation (the old file's partial last line
 * becomes a line of its own, then the new file is read from its start,
 * numbered from 1 with no header in force), a size below the offset read
 * means truncation (read again from 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "logs_int.h"

void logs_header_get(const logs_reader *r, logs_header *h)
{
	h->tsv = r->tsv;
	h->sep = r->sep;
	h->set_sep = r->set_sep;
	memcpy(h->empty, r->empty, sizeof h->empty);
	memcpy(h->unset, r->unset, sizeof h->unset);
	h->empty_len = r->empty_len;
	h->unset_len = r->unset_len;
	h->nfields = r->nfields;
	memcpy(h->col, r->col, sizeof h->col);
	h->ts_col = r->ts_col;
}

void logs_header_set(logs_reader *r, const logs_header *h)
{
	r->tsv = h->tsv;
	r->sep = h->sep;
	r->set_sep = h->set_sep;
	memcpy(r->empty, h->empty, sizeof r->empty);
	memcpy(r->unset, h->unset, sizeof r->unset);
	r->empty_len = h->empty_len;
	r->unset_len = h->unset_len;
	r->nfields = h->nfields;
	memcpy(r->col, h->col, sizeof r->col);
	r->ts_col = h->ts_col;
	logs_tsv_plan(r);
}

void logs_feed_block(logs_reader *r, char *data, size_t len, const char *file,
		     uint64_t first_line)
{
	r->file = file;
	r->line = first_line - 1;
	r->stats.bytes += len;
	char *p = data, *end = data + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		logs_feed_line(r, p, l);
		p += l + 1;
	}
}

static int no_obs(const logs_obs *o, void *arg)
{
	(void)o;
	(void)arg;
	return 0;
}

static int open_file(logs_blocker *b)
{
	struct stat st;
	int fd = open(b->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	b->fd = fd;
	b->dev = (uint64_t)st.st_dev;
	b->ino = (uint64_t)st.st_ino;
	b->off = 0;
	return 0;
}

/* A new file (or the same one from its start): line 1, no header yet. */
static void restart(logs_blocker *b)
{
	b->line = 0;
	b->carry_len = 0;
	b->skipping = 0;
	b->off = 0;
	b->hdr.tsv = 0;
}

rk_err logs_blocker_open(logs_blocker *b, const char *path, logs_format fmt,
			 size_t cap, int follow, logs_err_fn on_err, void *arg)
{
	memset(b, 0, sizeof(*b));
	b->fd = -1;
	if (cap < LOGS_MIN_MAX_LINE + 1)
		return RK_EINVAL;
	b->path = path;
	b->follow = follow && strcmp(path, "-") != 0;
	b->cap = cap;
	b->on_err = on_err;
	b->arg = arg;
	rk_err err = logs_reader_init(&b->hdr, fmt, LOGS_MIN_MAX_LINE, no_obs,
				      NULL, NULL);
	if (err)
		return err;
	/* header lines are short; the bound only guards this reader */
	b->hdr.max_line = cap - 1;
	b->carry = malloc(cap);
	if (!b->carry) {
		logs_reader_cleanup(&b->hdr);
		return RK_ENOMEM;
	}
	if (strcmp(path, "-") == 0) {
		b->fd = STDIN_FILENO;
		return RK_OK;
	}
	if (open_file(b) < 0) {
		int e = errno;
		if (b->follow && e == ENOENT)
			return RK_OK; /* tried again on each call */
		logs_blocker_close(b);
		return e == ENOENT ? RK_ENOTFOUND : RK_EIO;
	}
	return RK_OK;
}

void logs_blocker_close(logs_blocker *b)
{
	if (!b)
		return;
	if (b->fd > STDIN_FILENO || (b->fd == STDIN_FILENO && strcmp(b->path, "-") != 0))
		close(b->fd);
	b->fd = -1;
	free(b->carry);
	b->carry = NULL;
	logs_reader_cleanup(&b->hdr);
}

/* Newlines in p[0, len): sixteen bytes a step where SSE2 is there, in
 * byte counters summed every 255 steps (they count to 255 at most). */
static uint64_t count_newlines(const char *p, size_t len)
{
	uint64_t n = 0;
	size_t i = 0;
#ifdef __SSE2__
	const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
	while (len - i >= 16) {
		size_t steps = (len - i) / 16;
		if (steps > 255)
			steps = 255;
		__m128i c = zero;
		for (size_t k = 0; k < steps; k++, i += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
			c = _mm_sub_epi8(c, _mm_cmpeq_epi8(v, nl));
		}
		__m128i sums = _mm_sad_epu8(c, zero);
		n += (uint64_t)_mm_cvtsi128_si32(sums) +
		     (uint64_t)_mm_cvtsi128_si32(_mm_srli_si128(sums, 8));
	}
#endif
	for (; i < len; i++)
		n += p[i] == '\n';
	return n;
}

/* Counts the lines of a block and keeps its header lines' state. A block
 * that ends without a newline (a file's last line) has one line more than
 * its newlines. Header lines are found by their '#' alone: data lines
 * rarely hold one, and one that is not at a line's start is passed over. */
static void scan_block(logs_blocker *b, char *p, size_t len)
{
	int headers = b->hdr.format != LOGS_FMT_TEXT && b->hdr.format != LOGS_FMT_JSON;
	char *end = p + len;
	b->line += count_newlines(p, len) + (len && p[len - 1] != '\n');
	if (!headers)
		return;
	for (char *h = p; h < end && (h = memchr(h, '#', (size_t)(end - h))) != NULL;) {
		if (h != p && h[-1] != '\n') {
			h++;
			continue;
		}
		char *nl = memchr(h, '\n', (size_t)(end - h));
		size_t l = nl ? (size_t)(nl - h) : (size_t)(end - h);
		logs_feed_line(&b->hdr, h, l);
		h += l + 1;
	}
}

/* Status of the followed path: 0 same file, 1 rotated, 2 truncated. */
static int follow_check(logs_blocker *b)
{
	struct stat st;
	if (stat(b->path, &st) < 0)
		return 0; /* moved away, not yet recreated: keep reading the old one */
	if ((uint64_t)st.st_ino != b->ino || (uint64_t)st.st_dev != b->dev)
		return 1;
	if ((uint64_t)st.st_size < b->off)
		return 2;
	return 0;
}

rk_err logs_blocker_next(logs_blocker *b, char *buf, size_t *len,
			 uint64_t *first_line, logs_header *hdr, int *done)
{
	size_t n = 0;
	int at_end = 0, rotated = 0;

	*len = 0;
	*done = 0;
	if (b->fd < 0) {
		if (!b->follow) {
			*done = 1;
			return RK_OK;
		}
		if (open_file(b) < 0)
			return errno == ENOENT ? RK_OK : RK_EIO;
		restart(b);
	}
	*first_line = b->line + 1;
	logs_header_get(&b->hdr, hdr);
	memcpy(buf, b->carry, b->carry_len);
	n = b->carry_len;
	b->carry_len = 0;

	for (;;) {
		while (n < b->cap && !at_end) {
			ssize_t r = read(b->fd, buf + n, b->cap - n);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				return RK_EIO;
			}
			if (r == 0) {
				at_end = 1;
				break;
			}
			n += (size_t)r;
			b->off += (uint64_t)r;
			b->bytes += (uint64_t)r;
		}
		if (b->skipping && n > 0) {
			char *nl = memchr(buf, '\n', n);
			if (!nl) {
				n = 0; /* still inside the long line */
				if (at_end)
					break;
				continue;
			}
			size_t drop = (size_t)(nl - buf) + 1;
			memmove(buf, buf + drop, n - drop);
			n -= drop;
			b->skipping = 0;
			*first_line = b->line + 1;
			logs_header_get(&b->hdr, hdr);
		}
		if (n == 0)
			break;
		size_t used = n;
		while (used > 0 && buf[used - 1] != '\n')
			used--;
		if (used > 0) {
			b->carry_len = n - used;
			memcpy(b->carry, buf + used, b->carry_len);
			n = used;
			break;
		}
		if (n == b->cap) {
			/* a line longer than any block: count it, skip to its end */
			b->line++;
			b->too_long++;
			if (b->on_err)
				b->on_err(b->path, b->line, "line longer than the limit, skipped",
					  b->arg);
			b->skipping = 1;
			n = 0;
			*first_line = b->line + 1;
			continue;
		}
		/* a partial line and nothing more to read for now */
		if (!b->follow) {
			break; /* the file's last line, without its newline */
		}
		if (at_end && (rotated = follow_check(b)) != 0)
			break; /* the old file's last line is complete */
		b->carry_len = n;
		memcpy(b->carry, buf, n);
		n = 0;
		break;
	}
	if (at_end && !b->follow && n == 0 && b->carry_len == 0) {
		*done = 1;
		if (b->skipping)
			b->skipping = 0;
	}
	if (n > 0)
		scan_block(b, buf, n);
	*len = n;
	if (b->follow && at_end && n == 0) {
		rotated = follow_check(b);
	}
	if (b->follow && rotated) {
		if (rotated == 1) {
			close(b->fd);
			b->fd = -1;
			if (open_file(b) == 0)
				restart(b);
		} else if (lseek(b->fd, 0, SEEK_SET) == 0) {
			restart(b);
		}
	}
	return RK_OK;
}
