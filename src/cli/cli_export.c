/*
 * cli_export.c: `renkei export`, an organisation's (or the public) export
 * in one tool's format, from the hub's data directory.
 *
 * It opens the store in --data (as `renkei admin` does), loads the stored
 * directory, and runs src/export: export_select (policy_decide on every
 * indicator for the destination) then export_render. Files are written
 * next to their final name and renamed into place, so a tool that reads
 * them while the export runs sees the old file or the new one, never half
 * of one. One-file formats go to standard output without --out.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_int.h"
#include "export.h"

#define usage_error(...) cli_usage_error("export", __VA_ARGS__)

/* Writes body to path through path.tmp and rename(2). */
static bool write_atomically(const char *path, const rk_buf *body)
{
	char tmp[4096];
	int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		cli_error("export", "%s: path too long", path);
		return false;
	}
	FILE *fp = fopen(tmp, "w");
	if (!fp) {
		cli_error("export", "%s: %s", tmp, strerror(errno));
		return false;
	}
	bool ok = fwrite(body->data, 1, body->len, fp) == body->len;
	ok = (fclose(fp) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		cli_error("export", "%s: %s", path, strerror(errno));
		unlink(tmp);
		return false;
	}
	return true;
}

int cli_cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"data", required_argument, NULL, 'd'},
		{"org", required_argument, NULL, 'o'},
		{"public", no_argument, NULL, 'p'},
		{"format", required_argument, NULL, 'f'},
		{"out", required_argument, NULL, 'O'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *data = NULL, *org = NULL, *fmt = NULL, *outpath = NULL;
	bool public = false;
	export_format format;
	store *st = NULL;
	directory *dir = NULL;
	export_set set = {0};
	export_output out;
	rk_errctx ctx;
	int c, rc = 1;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': data = optarg; break;
		case 'o': org = optarg; break;
		case 'p': public = true; break;
		case 'f': fmt = optarg; break;
		case 'O': outpath = optarg; break;
		case 'h': cli_usage("export", stdout); return 0;
		case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
		default: return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!data)
		return usage_error("--data DIR is required");
	if (!org == !public)
		return usage_error("give one of --org ORG-ID or --public");
	if (!fmt)
		return usage_error("--format is required (%s)", export_format_names());
	if (!export_format_parse(fmt, &format)) {
		cli_error("export", "unknown format \"%s\" (known: %s)", fmt, export_format_names());
		return 2;
	}

	export_output_init(&out);
	rk_errctx_clear(&ctx);
	struct stat sb;
	if (stat(data, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		cli_error("export", "%s: no such data directory", data);
		return 2;
	}
	if (store_open(data, &st, &ctx) || dir_load(st, &dir, &ctx))
		goto fail;
	if (!dir) {
		cli_error("export", "%s: no directory stored (renkei admin apply first)", data);
		goto out;
	}
	if (export_set_init(&set, org)) {
		rk_fail(&ctx, RK_ENOMEM, NULL, "out of memory");
		goto fail;
	}
	export_request rq = {.dir = dir, .st = st, .org = org, .now = rk_time_now()};
	if (export_select(&rq, &set, &ctx) || export_render(&set, format, &out, &ctx))
		goto fail;

	bool to_dir = outpath && stat(outpath, &sb) == 0 && S_ISDIR(sb.st_mode);
	if (!outpath || strcmp(outpath, "-") == 0) {
		if (out.n_files > 1) {
			cli_error("export", "%s writes %zu files: give --out DIR", fmt, out.n_files);
			rc = 2;
			goto out;
		}
		if (fwrite(out.files[0].body.data, 1, out.files[0].body.len, stdout) !=
			    out.files[0].body.len ||
		    fflush(stdout) != 0) {
			cli_error("export", "standard output: %s", strerror(errno));
			goto out;
		}
	} else if (to_dir) {
		for (size_t i = 0; i < out.n_files; i++) {
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", outpath, out.files[i].name);
			if (!write_atomically(path, &out.files[i].body))
				goto out;
		}
	} else if (out.n_files > 1) {
		cli_error("export", "%s: not a directory (%s writes %zu files)", outpath, fmt,
			  out.n_files);
		rc = 2;
		goto out;
	} else if (!write_atomically(outpath, &out.files[0].body)) {
		goto out;
	}
	fprintf(stderr,
		"renkei export: %s for %s: %zu written from %zu indicators, %zu left out "
		"(format), %zu invalid, %zu patterns not a list of values; ETag %s\n",
		fmt, org ? org : "the public", out.written, set.n_ind, out.left_out,
		set.invalid, set.not_exact, out.etag);
	rc = 0;
	goto out;
fail:;
	char msg[RK_ERRCTX_MSG + RK_ERRCTX_PATH + 4];
	rk_errctx_format(&ctx, msg, sizeof msg);
	cli_error("export", "%s", msg);
	rc = ctx.code == RK_ENOTFOUND ? 2 : 1;
out:
	export_output_cleanup(&out);
	export_set_cleanup(&set);
	dir_free(dir);
	store_close(st);
	return rc;
}
