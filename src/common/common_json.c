/*
 * common_json.c: bounded parsing of untrusted JSON.
 *
 * jansson does the parsing (UTF-8 validation, duplicate-key rejection,
 * exact error positions). Before it runs, a linear pre-scan measures nesting
 * depth outside strings, so a hostile document is refused at the offending
 * byte without deep recursion or allocation. Errors name line, column and
 * byte offset as jansson reports them.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* Returns the byte offset at which depth first exceeds max, or -1. */
static long depth_exceeded_at(const char *data, size_t len, size_t max_depth)
{
	size_t depth = 0;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		switch (c) {
		case '"':
			in_string = true;
			break;
		case '{':
		case '[':
			if (++depth > max_depth)
				return (long)i;
			break;
		case '}':
		case ']':
			if (depth)
				depth--;
			break;
		default:
			break;
		}
	}
	return -1;
}

rk_err rk_json_parse(const char *data, size_t len, size_t max_depth, json_t **out,
		     rk_errctx *ctx)
{
	json_error_t jerr;
	char where[64];

	*out = NULL;
	long at = depth_exceeded_at(data, len, max_depth);
	if (at >= 0) {
		snprintf(where, sizeof where, "byte %ld", at);
		return rk_fail(ctx, RK_ETOOBIG, where,
			       "JSON nesting deeper than %zu levels", max_depth);
	}
	json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory parsing JSON");
		snprintf(where, sizeof where, "line %d, column %d (byte %d)", jerr.line,
			 jerr.column, jerr.position);
		return rk_fail(ctx, RK_EPARSE, where, "malformed JSON: %s", jerr.text);
	}
	*out = v;
	return RK_OK;
}

rk_err rk_json_load_file(const char *path, size_t max_bytes, size_t max_depth,
			 json_t **out, rk_errctx *ctx)
{
	char *data = NULL;
	size_t len = 0;
	rk_errctx inner;

	*out = NULL;
	rk_err err = rk_read_file(path, max_bytes, &data, &len, ctx);
	if (err)
		return err;
	rk_errctx_clear(&inner);
	err = rk_json_parse(data, len, max_depth, out, &inner);
	free(data);
	if (err) {
		char where[RK_ERRCTX_PATH];
		int n = snprintf(where, sizeof where, "%s: ", strcmp(path, "-") ? path : "<stdin>");
		if (n > 0 && (size_t)n < sizeof where)
			snprintf(where + n, sizeof where - (size_t)n, "%.*s",
				 (int)(sizeof where - (size_t)n - 1), inner.path);
		return rk_fail(ctx, err, where, "%s", inner.msg);
	}
	return RK_OK;
}

char *rk_json_dump(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}
