/*
 * uplink_int.h: what the uplink's files share, inside src/uplink only: the
 * durable file operations the feed's checkpoint and the spool are built on
 * (uplink_file.c).
 *
 * The one rule: a file that says "this much is done" is replaced whole,
 * never edited in place (write a temporary file, fsync it, rename it over
 * the old one, fsync the directory), so after a crash it holds either the
 * old or the new content; data files are appended to and synced before
 * anything points past what was appended.
 */
#ifndef RK_UPLINK_INT_H
#define RK_UPLINK_INT_H

#include "uplink.h"

/* mkdir -p of one level (the directory itself); RK_EIO naming it. */
rk_err uplink_dir_ensure(const char *dir, rk_errctx *ctx);
/* Replaces path with `len` bytes, atomically and durably. */
rk_err uplink_file_replace(const char *path, const void *data, size_t len, rk_errctx *ctx);
/* Reads a small file whole (NUL-terminated). RK_ENOTFOUND when absent. */
rk_err uplink_file_read(const char *path, size_t max, char **out, size_t *len, rk_errctx *ctx);
/* Appends `len` bytes and fdatasyncs. */
rk_err uplink_file_append(const char *path, const void *data, size_t len, rk_errctx *ctx);
/* Cuts a torn last line: truncates the file after its last '\n' (to 0
 * without one). *cut gets the bytes removed. Absent file: RK_OK, 0. */
rk_err uplink_file_cut_torn(const char *path, uint64_t *size, uint64_t *cut, rk_errctx *ctx);
/* Truncates to zero length and syncs. */
rk_err uplink_file_empty(const char *path, rk_errctx *ctx);

#endif
