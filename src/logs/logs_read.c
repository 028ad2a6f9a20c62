/*
 * logs_read.c: framing lines out of files, stdin and followed files.
 *
 * The reader owns one buffer of max_line + 1 + LOGS_READ_CHUNK bytes,
 * allocated by logs_reader_init; read(2) fills it after the unconsumed tail
 * (buf[start, end)), complete lines are handed to logs_feed_line in place
 * (a Zeek TSV data line to logs_tsv_fast, any other to logs_parse_line),
 * and the tail moves to the front. A line that does not fit (longer than
 * max_line) is counted in too_long, reported and skipped up to its newline,
 * however long it is, without growing anything. Invariant: start <= end <=
 * cap, and buf[start, end) never holds a newline once a read step is done.
 *
 * Following (tail -F): the reader keeps the followed file's device, inode
 * and the offset read so far. Each poll reads what was appended; at end of
 * data it stats the path: another inode means the file was rotated (the
 * old one is drained first, then the new one is read from its start), a
 * size below the offset means it was truncated (read again from 0). A
 * partial last line stays in the buffer until its newline arrives, except
 * on rotation, where the old file's tail is a line of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "logs_int.h"

#define LOGS_READ_CHUNK (256 * 1024)

rk_err logs_reader_init(logs_reader *r, logs_format fmt, size_t max_line,
			logs_obs_fn on_obs, logs_err_fn on_err, void *arg)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	if (max_line == 0)
		max_line = LOGS_DEFAULT_MAX_LINE;
	if (max_line < LOGS_MIN_MAX_LINE)
		max_line = LOGS_MIN_MAX_LINE;
	if (max_line > (size_t)1 << 30)
		return RK_EINVAL;
	r->format = fmt;
	r->max_line = max_line;
	r->on_obs = on_obs;
	r->on_err = on_err;
	r->arg = arg;
	r->cap = max_line + 1 + LOGS_READ_CHUNK;
	r->buf = malloc(r->cap);
	if (!r->buf)
		return RK_ENOMEM;
	r->sep = '\t';
	r->set_sep = ',';
	memcpy(r->unset, "-", 1);
	r->unset_len = 1;
	memcpy(r->empty, "(empty)", 7);
	r->empty_len = 7;
	r->ts_col = -1;
	r->file = "-";
	return RK_OK;
}

void logs_reader_lazy_time(logs_reader *r)
{
	r->lazy_time = 1;
}

void logs_reader_cleanup(logs_reader *r)
{
	if (!r)
		return;
	if (r->buf && r->fd >= 0)
		close(r->fd);
	free(r->buf);
	r->buf = NULL;
	r->fd = -1;
}

void logs_feed_line(logs_reader *r, char *line, size_t len)
{
	r->line++;
	r->stats.lines++;
	r->nq = 0;
	r->ts_text = NULL;
	r->ts_len = 0;
	if (len && line[len - 1] == '\r')
		len--;
	if (len > r->max_line) {
		r->stats.too_long++;
		logs_report(r, "line longer than the limit, skipped");
		return;
	}
	if (logs_tsv_fast(r, line, len))
		return;
	if (!logs_utf8_ok((const unsigned char *)line, len)) {
		r->stats.bad_utf8++;
		logs_report(r, "line is not valid UTF-8, skipped");
		return;
	}
	logs_parse_line(r, line, len);
}

/* Hands every complete line in the buffer to the parser. */
static void drain(logs_reader *r)
{
	while (r->start < r->end && !r->stopped) {
		char *p = r->buf + r->start;
		char *nl = memchr(p, '\n', r->end - r->start);
		if (!nl)
			break;
		size_t len = (size_t)(nl - p);
		if (r->skipping) {
			/* the end of a line already counted as too long */
			r->skipping = 0;
		} else {
			logs_feed_line(r, p, len);
		}
		r->start += len + 1;
	}
	if (r->stopped)
		return; /* the rest is not ours to judge */
	if (r->start == r->end) {
		r->start = r->end = 0;
	} else if (r->end - r->start > r->max_line) {
		/* no newline within max_line bytes: count once, then skip */
		if (!r->skipping) {
			r->line++;
			r->stats.lines++;
			r->stats.too_long++;
			logs_report(r, "line longer than the limit, skipped");
			r->skipping = 1;
		}
		r->start = r->end = 0;
	} else if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
}

/* A last line without a newline. */
static void finish(logs_reader *r)
{
	if (r->end > r->start && !r->stopped && !r->skipping)
		logs_feed_line(r, r->buf + r->start, r->end - r->start);
	r->start = r->end = 0;
	r->skipping = 0;
}

/* Reads what fd has now; 1 at end of data, 0 when stopped, -1 on error. */
static int read_some(logs_reader *r, int fd)
{
	for (;;) {
		if (r->stopped)
			return 0;
		ssize_t n = read(fd, r->buf + r->end, r->cap - r->end);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 1;
		r->end += (size_t)n;
		r->off += (uint64_t)n;
		r->stats.bytes += (uint64_t)n;
		drain(r);
	}
}

static void new_file(logs_reader *r, const char *name)
{
	r->file = name;
	r->line = 0;
	r->start = r->end = 0;
	r->skipping = 0;
	r->tsv = 0;
	r->off = 0;
}

rk_err logs_read_fd(logs_reader *r, int fd, const char *name)
{
	new_file(r, name);
	int rc = read_some(r, fd);
	if (rc < 0)
		return RK_EIO;
	finish(r);
	return RK_OK;
}

rk_err logs_read_file(logs_reader *r, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? RK_ENOTFOUND : RK_EIO;
	rk_err err = logs_read_fd(r, fd, path);
	close(fd);
	return err;
}

rk_err logs_read_stdin(logs_reader *r)
{
	return logs_read_fd(r, STDIN_FILENO, "-");
}

/* ------------------------------------------------------------ following */

static int open_followed(logs_reader *r)
{
	struct stat st;
	int fd = open(r->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	r->fd = fd;
	r->dev = (uint64_t)st.st_dev;
	r->ino = (uint64_t)st.st_ino;
	return 0;
}

rk_err logs_follow_open(logs_reader *r, const char *path)
{
	logs_follow_close(r);
	new_file(r, path);
	if (open_followed(r) < 0 && errno != ENOENT)
		return RK_EIO;
	return RK_OK;
}

void logs_follow_close(logs_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

rk_err logs_follow_poll(logs_reader *r)
{
	struct stat st;
	if (r->fd < 0) {
		if (open_followed(r) < 0)
			return errno == ENOENT ? RK_OK : RK_EIO;
		r->off = 0;
		r->line = 0;
		r->tsv = 0;
	}
	if (read_some(r, r->fd) < 0)
		return RK_EIO;
	if (r->stopped)
		return RK_OK;
	if (stat(r->file, &st) < 0) {
		/* moved away and not yet recreated: keep the old one open */
		return RK_OK;
	}
	if ((uint64_t)st.st_ino != r->ino || (uint64_t)st.st_dev != r->dev) {
		/* rotated: whatever the old file still got, then the new one */
		if (read_some(r, r->fd) < 0)
			return RK_EIO;
		finish(r);
		close(r->fd);
		r->fd = -1;
		if (open_followed(r) < 0)
			return RK_OK;
		new_file(r, r->file);
		if (read_some(r, r->fd) < 0)
			return RK_EIO;
	} else if ((uint64_t)st.st_size < r->off) {
		/* truncated in place */
		if (lseek(r->fd, 0, SEEK_SET) < 0)
			return RK_EIO;
		new_file(r, r->file);
		if (read_some(r, r->fd) < 0)
			return RK_EIO;
	}
	return RK_OK;
}

rk_err logs_follow_run(logs_reader *r, const _Atomic int *stop, int poll_ms)
{
	struct timespec ts = {poll_ms / 1000, (long)(poll_ms % 1000) * 1000000L};
	while (!atomic_load(stop) && !r->stopped) {
		rk_err err = logs_follow_poll(r);
		if (err != RK_OK)
			return err;
		nanosleep(&ts, NULL);
	}
	return RK_OK;
}
