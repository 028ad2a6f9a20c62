/*
 * uplink_file.c: durable file operations for the uplink's state (the
 * feed's checkpoint and object log, the sightings spool).
 *
 * Invariants (see uplink_int.h): a replaced file is written to
 * "<path>.tmp", synced, renamed over <path>, and its directory synced, so
 * a reader after a crash sees the old or the new content whole; an append
 * is synced before the caller moves any pointer past it. Errors name the
 * file and carry strerror(errno).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uplink_int.h"

static rk_err io_fail(rk_errctx *ctx, const char *path, const char *what)
{
	return rk_fail(ctx, RK_EIO, path, "%s: %s", what, strerror(errno));
}

rk_err uplink_dir_ensure(const char *dir, rk_errctx *ctx)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0 || errno == EEXIST) {
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			return RK_OK;
		return rk_fail(ctx, RK_EIO, dir, "not a directory");
	}
	return io_fail(ctx, dir, "cannot create directory");
}

static void sync_dir_of(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(copy);
}

static rk_err write_all(int fd, const void *data, size_t len, const char *path, rk_errctx *ctx)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return io_fail(ctx, path, "write failed");
		}
		p += n;
		len -= (size_t)n;
	}
	return RK_OK;
}

rk_err uplink_file_replace(const char *path, const void *data, size_t len, rk_errctx *ctx)
{
	return rk_write_file_atomic(path, data, len, ctx);
}

rk_err uplink_file_read(const char *path, size_t max, char **out, size_t *len, rk_errctx *ctx)
{
	*out = NULL;
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return RK_ENOTFOUND;
	return rk_read_file(path, max, out, len, ctx);
}

rk_err uplink_file_append(const char *path, const void *data, size_t len, rk_errctx *ctx)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	rk_err err;

	if (fd < 0)
		return io_fail(ctx, path, "cannot open for appending");
	err = write_all(fd, data, len, path, ctx);
	if (!err && fdatasync(fd) != 0)
		err = io_fail(ctx, path, "fdatasync failed");
	close(fd);
	if (!err)
		sync_dir_of(path); /* the file may be new */
	return err;
}

rk_err uplink_file_cut_torn(const char *path, uint64_t *size, uint64_t *cut, rk_errctx *ctx)
{
	struct stat st;
	char buf[4096];
	int fd;

	*size = *cut = 0;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? RK_OK : io_fail(ctx, path, "cannot open");
	if (fstat(fd, &st) != 0) {
		close(fd);
		return io_fail(ctx, path, "cannot stat");
	}
	off_t end = st.st_size, keep = 0;
	/* Scan back from the end for the last newline. */
	while (end > 0) {
		off_t from = end > (off_t)sizeof buf ? end - (off_t)sizeof buf : 0;
		ssize_t n = pread(fd, buf, (size_t)(end - from), from);
		if (n <= 0) {
			close(fd);
			return io_fail(ctx, path, "read failed");
		}
		ssize_t i = n;
		while (i > 0 && buf[i - 1] != '\n')
			i--;
		if (i > 0) {
			keep = from + i;
			break;
		}
		end = from;
	}
	if (keep != st.st_size) {
		if (ftruncate(fd, keep) != 0 || fsync(fd) != 0) {
			close(fd);
			return io_fail(ctx, path, "cannot cut a torn last line");
		}
	}
	close(fd);
	*size = (uint64_t)keep;
	*cut = (uint64_t)(st.st_size - keep);
	return RK_OK;
}

rk_err uplink_file_empty(const char *path, rk_errctx *ctx)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return io_fail(ctx, path, "cannot truncate");
	if (fsync(fd) != 0) {
		close(fd);
		return io_fail(ctx, path, "fsync failed");
	}
	close(fd);
	return RK_OK;
}
