/*
 * cli_pattern.c: `renkei pattern check` and `renkei match`, STIX patterns
 * from the command line (the pattern module, src/pattern/).
 *
 *   renkei pattern check PATTERN
 *       compiles PATTERN; prints "valid" and exits 0, or prints
 *       "renkei pattern: at N: reason" and exits 1.
 *   renkei match --pattern PATTERN --observed FILE|-
 *       evaluates PATTERN against the observed-data of FILE (a bundle, an
 *       array of objects or one observed-data); prints "match" and exits 0,
 *       "no match" and exits 1; any error (bad pattern, unreadable or
 *       malformed FILE, a limit reached) exits 2.
 *
 * Files are read whole under the hub's own ceilings (RK_MAX_CONTENT_LENGTH_
 * CEILING bytes, RK_MAX_JSON_DEPTH nesting).
 */
#include <string.h>

#include "cli_int.h"
#include "pattern.h"

int cli_cmd_pattern(int argc, char **argv)
{
	pattern *p = NULL;
	rk_errctx ctx;

	if (argc != 3 || strcmp(argv[1], "check") != 0)
		return cli_usage_error("pattern", "expected: check PATTERN");
	rk_errctx_clear(&ctx);
	if (pattern_compile(argv[2], strlen(argv[2]), &p, &ctx) != RK_OK) {
		cli_error("pattern", "%s", ctx.msg);
		return 1;
	}
	pattern_free(p);
	puts("valid");
	return 0;
}

int cli_cmd_match(int argc, char **argv)
{
	const char *text = NULL, *file = NULL;
	pattern *p = NULL;
	pattern_obs_set *set = NULL;
	json_t *doc = NULL;
	rk_errctx ctx;
	bool matched = false;
	int rc = 2;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--pattern") == 0 && i + 1 < argc)
			text = argv[++i];
		else if (strcmp(argv[i], "--observed") == 0 && i + 1 < argc)
			file = argv[++i];
		else
			return cli_usage_error("match", "unexpected argument: %s", argv[i]);
	}
	if (!text || !file)
		return cli_usage_error("match", "--pattern and --observed are required");
	rk_errctx_clear(&ctx);
	if (pattern_compile(text, strlen(text), &p, &ctx) != RK_OK) {
		cli_error("match", "pattern: %s", ctx.msg);
		goto out;
	}
	if (rk_json_load_file(strcmp(file, "-") == 0 ? "/dev/stdin" : file,
			      RK_MAX_CONTENT_LENGTH_CEILING, RK_MAX_JSON_DEPTH, &doc,
			      &ctx) != RK_OK) {
		char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
		rk_errctx_format(&ctx, msg, sizeof msg); /* names the file */
		cli_error("match", "%s", msg);
		goto out;
	}
	if (pattern_obs_load(doc, &set, &ctx) != RK_OK ||
	    pattern_match(p, set, &matched, &ctx) != RK_OK) {
		char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
		rk_errctx_format(&ctx, msg, sizeof msg);
		cli_error("match", "%s: %s", file, msg);
		goto out;
	}
	puts(matched ? "match" : "no match");
	rc = matched ? 0 : 1;
out:
	pattern_obs_free(set);
	json_decref(doc);
	pattern_free(p);
	return rc;
}
