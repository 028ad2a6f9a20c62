/*
 * common_error.c: the error table made into functions, and the error context.
 *
 * The table (common_errors.def) is the single source for codes, texts and
 * HTTP statuses. An error context records the first failure only: deeper
 * code knows the most precise place and reason, so outer callers that call
 * rk_fail() again on the way up do not overwrite it.
 */
#include <string.h>

#include "common.h"

static const struct {
	int http;
	const char *title;
	const char *text;
} error_table[] = {
#define RK_ERROR(sym, http, title, text) [sym] = {http, title, text},
#include "common_errors.def"
#undef RK_ERROR
};

const char *rk_strerror(rk_err code)
{
	if ((unsigned)code >= RK_ERR_COUNT)
		return "unknown error";
	return error_table[code].text;
}

int rk_err_http_status(rk_err code)
{
	if ((unsigned)code >= RK_ERR_COUNT)
		return 500;
	return error_table[code].http;
}

const char *rk_err_title(rk_err code)
{
	if ((unsigned)code >= RK_ERR_COUNT)
		return "Internal Server Error";
	return error_table[code].title;
}

void rk_errctx_clear(rk_errctx *ctx)
{
	if (!ctx)
		return;
	ctx->code = RK_OK;
	ctx->path[0] = '\0';
	ctx->msg[0] = '\0';
}

rk_err rk_fail(rk_errctx *ctx, rk_err code, const char *path, const char *fmt, ...)
{
	va_list ap;

	if (!ctx || ctx->code != RK_OK)
		return code;
	ctx->code = code;
	snprintf(ctx->path, sizeof ctx->path, "%s", path ? path : "");
	va_start(ap, fmt);
	vsnprintf(ctx->msg, sizeof ctx->msg, fmt, ap);
	va_end(ap);
	return code;
}

void rk_errctx_format(const rk_errctx *ctx, char *out, size_t outlen)
{
	if (!outlen)
		return;
	if (!ctx) {
		out[0] = '\0';
		return;
	}
	const char *msg = ctx->msg[0] ? ctx->msg : rk_strerror(ctx->code);
	if (ctx->path[0])
		snprintf(out, outlen, "%s: %s", ctx->path, msg);
	else
		snprintf(out, outlen, "%s", msg);
}
