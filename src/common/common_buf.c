/*
 * common_buf.c: a growable byte buffer.
 *
 * Invariant: data is NULL (cap 0) or holds cap bytes with data[len] == '\0',
 * so the contents can always be used as a C string. Growth doubles, with an
 * overflow check, and fails with RK_ENOMEM instead of aborting.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"

void rk_buf_init(rk_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void rk_buf_cleanup(rk_buf *b)
{
	if (!b)
		return;
	free(b->data);
	rk_buf_init(b);
}

void rk_buf_reset(rk_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

rk_err rk_buf_reserve(rk_buf *b, size_t extra)
{
	if (extra > SIZE_MAX - b->len - 1)
		return RK_ENOMEM;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return RK_OK;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	char *p = realloc(b->data, cap);
	if (!p)
		return RK_ENOMEM;
	b->data = p;
	b->cap = cap;
	return RK_OK;
}

rk_err rk_buf_append(rk_buf *b, const void *data, size_t len)
{
	rk_err err = rk_buf_reserve(b, len);
	if (err)
		return err;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return RK_OK;
}

rk_err rk_buf_puts(rk_buf *b, const char *s)
{
	return rk_buf_append(b, s, strlen(s));
}

rk_err rk_buf_printf(rk_buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return RK_EINVAL;
	if ((size_t)n < sizeof small)
		return rk_buf_append(b, small, (size_t)n);
	rk_err err = rk_buf_reserve(b, (size_t)n);
	if (err)
		return err;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return RK_OK;
}

char *rk_buf_take(rk_buf *b)
{
	char *p = b->data;
	if (!p)
		p = calloc(1, 1);
	rk_buf_init(b);
	return p;
}
