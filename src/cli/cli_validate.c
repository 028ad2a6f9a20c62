/*
 * cli_validate.c: `renkei validate`, STIX 2.1 checking without a hub.
 *
 * Reads each file whole (bounded by RK_MAX_CONTENT_LENGTH_CEILING and
 * RK_MAX_JSON_DEPTH, the hub's own ceilings), works out what kind of
 * document it is (bundle, TAXII envelope, JSON array of objects, or one
 * object) and validates every member on its own with stix_validate_object,
 * so one bad object does not hide the next. The bundle's own properties are
 * checked by stix_validate_bundle on a copy without its objects.
 *
 * Output, one line each, in document order:
 *     FILE: objects[3].valid_from: not an RFC 3339 timestamp
 *     FILE: warning: objects[5].x_acme_score: custom property
 *     FILE: line 4, column 9 (byte 57): malformed JSON: ...
 * then "N objects, N valid, N invalid" over all files. A file that cannot be
 * opened is an error on the error stream, not a validation result. --json
 * prints one JSON document with the same facts instead.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"
#include "stix.h"

typedef struct vstate {
	const cli_validate_opts *opts;
	FILE *out;
	const char *name;   /* file name as shown */
	json_t *errors;     /* --json: this file's errors and warnings */
	json_t *warnings;
	size_t objects, valid, invalid;
	bool doc_error;     /* unreadable, unparsable, or a bad bundle */
	bool oom;
} vstate;

static void report(vstate *vs, bool warning, const char *path, const char *msg)
{
	/* A bare object's paths come back as ".prop"; show "prop". */
	if (path && path[0] == '.')
		path++;
	if (vs->opts->json) {
		json_t *list = warning ? vs->warnings : vs->errors;
		if (json_array_append_new(list, json_pack("{s:s, s:s}", "path", path ? path : "",
							  "message", msg)))
			vs->oom = true;
		return;
	}
	if (vs->opts->quiet)
		return;
	fprintf(vs->out, "%s: %s%s%s%s\n", vs->name, warning ? "warning: " : "",
		path && *path ? path : "", path && *path ? ": " : "", msg);
}

static void on_warning(void *arg, const char *path, const char *msg)
{
	vstate *vs = arg;

	if (!vs->opts->no_warnings)
		report(vs, true, path, msg);
}

static void report_ctx(vstate *vs, const rk_errctx *ctx)
{
	report(vs, false, ctx->path, ctx->msg[0] ? ctx->msg : rk_strerror(ctx->code));
}

static void check_member(vstate *vs, const json_t *obj, const char *path,
			 const stix_validate_opts *sopts)
{
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	vs->objects++;
	if (stix_validate_object(obj, path, sopts, &ctx) == RK_OK) {
		vs->valid++;
		return;
	}
	vs->invalid++;
	report_ctx(vs, &ctx);
}

static void check_members(vstate *vs, const json_t *list, const char *prefix,
			  const stix_validate_opts *sopts)
{
	size_t i;
	const json_t *obj;
	char path[64];

	json_array_foreach(list, i, obj) {
		snprintf(path, sizeof path, "%s[%zu]", prefix, i);
		check_member(vs, obj, path, sopts);
	}
}

/* A bundle: its own properties first (on a copy without objects, so the
 * bundle check does not stop at the first bad member), then each member. */
static void check_bundle(vstate *vs, json_t *doc, const stix_validate_opts *sopts)
{
	rk_errctx ctx;
	json_t *objects = json_object_get(doc, "objects");
	json_t *shell = json_copy(doc);

	if (!shell) {
		vs->oom = true;
		return;
	}
	json_object_del(shell, "objects");
	rk_errctx_clear(&ctx);
	if (stix_validate_bundle(shell, sopts, &ctx) != RK_OK) {
		vs->doc_error = true;
		report_ctx(vs, &ctx);
	}
	json_decref(shell);
	if (!objects)
		return;
	if (!json_is_array(objects)) {
		vs->doc_error = true;
		report(vs, false, "objects", "not an array");
		return;
	}
	check_members(vs, objects, "objects", sopts);
}

static void check_document(vstate *vs, json_t *doc)
{
	stix_validate_opts sopts = {
		.warn = on_warning,
		.warn_arg = vs,
		.strict_types = vs->opts->strict,
	};
	const char *type = json_string_value(json_object_get(doc, "type"));

	if (json_is_array(doc)) {
		check_members(vs, doc, "", &sopts);
	} else if (type && strcmp(type, "bundle") == 0) {
		check_bundle(vs, doc, &sopts);
	} else if (!type && json_is_array(json_object_get(doc, "objects"))) {
		/* TAXII 2.1 envelope (section 3.7) or the body of a push. */
		check_members(vs, json_object_get(doc, "objects"), "objects", &sopts);
	} else {
		check_member(vs, doc, "", &sopts);
	}
}

/* Validates one file into vs; false when it could not be read at all. */
static bool check_file(vstate *vs, const char *path, FILE *err)
{
	char *data = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	rk_errctx ctx;
	char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];

	rk_errctx_clear(&ctx);
	if (rk_read_file(path, RK_MAX_CONTENT_LENGTH_CEILING, &data, &len, &ctx) != RK_OK) {
		rk_errctx_format(&ctx, msg, sizeof msg);
		fprintf(err, "renkei validate: %s\n", msg);
		vs->doc_error = true;
		return false;
	}
	if (rk_json_parse(data, len, RK_MAX_JSON_DEPTH, &doc, &ctx) != RK_OK) {
		vs->doc_error = true;
		report_ctx(vs, &ctx);
	} else {
		check_document(vs, doc);
	}
	json_decref(doc);
	free(data);
	return true;
}

int cli_validate_run(int nfiles, char **files, const cli_validate_opts *opts,
		     FILE *out, FILE *err)
{
	size_t objects = 0, valid = 0, invalid = 0;
	bool failed = false, oom = false;
	json_t *report_doc = NULL, *file_reports = NULL;

	if (opts->json) {
		file_reports = json_array();
		report_doc = json_object();
		if (!file_reports || !report_doc) {
			json_decref(file_reports);
			json_decref(report_doc);
			cli_error("validate", "out of memory");
			return 1;
		}
	}
	for (int i = 0; i < nfiles; i++) {
		vstate vs = {
			.opts = opts,
			.out = out,
			.name = strcmp(files[i], "-") ? files[i] : "<stdin>",
		};
		if (opts->json) {
			vs.errors = json_array();
			vs.warnings = json_array();
		}
		bool readable = check_file(&vs, files[i], err);
		if (opts->json) {
			json_t *f = json_pack("{s:s, s:b, s:I, s:I, s:I, s:o, s:o}", "file", vs.name,
					      "readable", readable, "objects", (json_int_t)vs.objects,
					      "valid", (json_int_t)vs.valid, "invalid",
					      (json_int_t)vs.invalid, "errors", vs.errors,
					      "warnings", vs.warnings);
			if (!f || json_array_append_new(file_reports, f))
				oom = true;
		}
		objects += vs.objects;
		valid += vs.valid;
		invalid += vs.invalid;
		failed |= vs.doc_error || vs.invalid > 0;
		oom |= vs.oom;
	}
	if (opts->json) {
		if (json_object_set_new(report_doc, "files", file_reports) ||
		    json_object_set_new(report_doc, "objects", json_integer((json_int_t)objects)) ||
		    json_object_set_new(report_doc, "valid", json_integer((json_int_t)valid)) ||
		    json_object_set_new(report_doc, "invalid", json_integer((json_int_t)invalid)) ||
		    json_object_set_new(report_doc, "ok", json_boolean(!failed)) ||
		    json_dumpf(report_doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER))
			oom = true;
		fputc('\n', out);
		json_decref(report_doc);
	} else {
		fprintf(out, "%zu object%s, %zu valid, %zu invalid\n", objects,
			objects == 1 ? "" : "s", valid, invalid);
	}
	fflush(out);
	if (oom) {
		cli_error("validate", "out of memory");
		return 1;
	}
	return failed ? 1 : 0;
}

int cli_cmd_validate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "strict", no_argument, NULL, 's' },
		{ "no-warnings", no_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	cli_validate_opts opts = { 0 };
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+qjsW", longopts, NULL)) != -1) {
		switch (c) {
		case 'q': opts.quiet = true; break;
		case 'j': opts.json = true; break;
		case 's': opts.strict = true; break;
		case 'W': opts.no_warnings = true; break;
		default:
			return cli_usage_error("validate", "%s: unknown option", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error("validate", "expected a file (or - for standard input)");
	return cli_validate_run(argc - optind, argv + optind, &opts, stdout, stderr);
}
