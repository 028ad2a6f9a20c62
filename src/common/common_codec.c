/*
 * common_codec.c: byte encodings, secrets and whole-file reads and writes.
 *
 * base64url and constant-time comparison come from libsodium, which is
 * already our source of randomness; wrapping them here keeps libsodium's
 * initialisation (sodium_init, done once, thread-safe) in one place.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "common.h"

static void sodium_ready(void)
{
	/* sodium_init() is idempotent and thread-safe; it fails only when the
	 * system RNG is unusable, and no secret may be made then. */
	if (sodium_init() < 0)
		abort();
}

rk_err rk_b64url_encode(const void *data, size_t len, char **out)
{
	sodium_ready();
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s = malloc(n);
	if (!s)
		return RK_ENOMEM;
	sodium_bin2base64(s, n, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	*out = s;
	return RK_OK;
}

rk_err rk_b64url_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen)
{
	sodium_ready();
	size_t cap = slen / 4 * 3 + 3;
	unsigned char *b = malloc(cap);
	const char *end = NULL;
	if (!b)
		return RK_ENOMEM;
	if (sodium_base642bin(b, cap, s, slen, NULL, outlen, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != s + slen) {
		free(b);
		return RK_EINVAL;
	}
	*out = b;
	return RK_OK;
}

int rk_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void rk_random_hex(char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[64];

	sodium_ready();
	size_t j = 0;
	while (len) {
		size_t n = len < sizeof b ? len : sizeof b;
		randombytes_buf(b, n);
		for (size_t i = 0; i < n; i++) {
			out[j++] = hex[b[i] >> 4];
			out[j++] = hex[b[i] & 15];
		}
		len -= n;
	}
	out[j] = '\0';
	sodium_memzero(b, sizeof b);
}

bool rk_ct_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

rk_err rk_read_file(const char *path, size_t max_bytes, char **out, size_t *outlen,
		    rk_errctx *ctx)
{
	bool is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "<stdin>" : path;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	rk_buf b;
	char chunk[65536];

	*out = NULL;
	*outlen = 0;
	if (!f)
		return rk_fail(ctx, RK_EIO, name, "cannot open: %s", strerror(errno));
	rk_buf_init(&b);
	rk_err err = RK_OK;
	for (;;) {
		size_t n = fread(chunk, 1, sizeof chunk, f);
		if (n == 0)
			break;
		if (b.len + n > max_bytes) {
			err = rk_fail(ctx, RK_ETOOBIG, name, "larger than %zu bytes", max_bytes);
			break;
		}
		if ((err = rk_buf_append(&b, chunk, n)) != RK_OK) {
			rk_fail(ctx, err, name, "out of memory reading file");
			break;
		}
	}
	if (!err && ferror(f))
		err = rk_fail(ctx, RK_EIO, name, "read error: %s", strerror(errno));
	if (!is_stdin)
		fclose(f);
	if (err) {
		rk_buf_cleanup(&b);
		return err;
	}
	*outlen = b.len;
	*out = rk_buf_take(&b);
	return *out ? RK_OK : RK_ENOMEM;
}

rk_err rk_write_file_atomic(const char *path, const void *data, size_t len, rk_errctx *ctx)
{
	rk_buf tmp;
	rk_err err = RK_OK;
	const char *p = data;
	int fd;

	rk_buf_init(&tmp);
	if (rk_buf_printf(&tmp, "%s.tmp", path)) {
		rk_buf_cleanup(&tmp);
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	}
	if ((fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		err = rk_fail(ctx, RK_EIO, tmp.data, "cannot create: %s", strerror(errno));
		goto out;
	}
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = rk_fail(ctx, RK_EIO, tmp.data, "write failed: %s", strerror(errno));
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (!err && fsync(fd) != 0)
		err = rk_fail(ctx, RK_EIO, tmp.data, "fsync failed: %s", strerror(errno));
	if (close(fd) != 0 && !err)
		err = rk_fail(ctx, RK_EIO, tmp.data, "close failed: %s", strerror(errno));
	if (!err && rename(tmp.data, path) != 0)
		err = rk_fail(ctx, RK_EIO, path, "rename failed: %s", strerror(errno));
	if (err) {
		unlink(tmp.data);
		goto out;
	}
	/* The rename is durable once the directory is synced. */
	char *copy = strdup(path);
	if (copy) {
		int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
		free(copy);
	}
out:
	rk_buf_cleanup(&tmp);
	return err;
}
