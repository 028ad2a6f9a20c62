/*
 * cli_feed.c: `renkei feed import`, a third-party feed into STIX 2.1.
 *
 * A thin layer over src/feeds: the flags make a feeds_config (name,
 * marking, confidence, identity, state directory, warning lists), each
 * FILE (or the MISP feed DIR) goes through the parser of --format, or with
 * --format taxii the remote collection named by the --source-* flags is
 * read from its checkpoint in the state (feeds_taxii.c), and
 * the new and changed indicators go to a bundle file (--out, "-" for
 * standard output) or to a hub collection (--hub) through feeds_deliver
 * (src/feeds/feeds_deliver.c), as `renkei push` sends them.
 *
 * Output: a summary on standard error (standard output when the bundle
 * goes elsewhere): read, imported (new, changed), unchanged, duplicates,
 * on warning lists (per list), rejected (each as "file:line: reason", up
 * to RK_FEED_MAX_REJECTS_KEPT), skipped, gone; then, when any, how many
 * values were refanged and the hits per warning list. Exit 0 when the
 * import and delivery worked (rejected lines do not fail it: a feed with
 * some bad lines is normal), 1 when a file could not be read, the state
 * not written or the hub refused objects, 2 for usage errors.
 *
 * The state is written only after the objects were delivered: a failed
 * push leaves the state as it was, so the next run sends them again. The
 * same holds for a TAXII source's checkpoint, which lives in the state: a
 * source that fails fails the run before anything is written.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli_int.h"
#include "feeds.h"

#define FEED_MAX_WARNLISTS 64

enum {
	OPT_FORMAT = CLI_OPT_FIRST_FREE,
	OPT_NAME,
	OPT_MARKING,
	OPT_CONFIDENCE,
	OPT_IDENTITY,
	OPT_COLUMNS,
	OPT_DELIMITER,
	OPT_HEADER,
	OPT_WARNLIST,
	OPT_NO_BUILTIN,
	OPT_ON_WARNING,
	OPT_STATE,
	OPT_ALL_ATTRIBUTES,
	OPT_OUT,
	OPT_HUB,
	OPT_TOKEN_FILE,
	OPT_COLLECTION,
	OPT_SOURCE_URL,
	OPT_SOURCE_COLLECTION,
	OPT_SOURCE_TOKEN_FILE,
	OPT_SOURCE_ROOT,
	OPT_SOURCE_CACERT,
	OPT_SOURCE_LIMIT,
	OPT_SOURCE_TIMEOUT,
	OPT_QUIET,
	OPT_HELP,
};

static const char usage_text[] =
	"usage: renkei feed import --format plain|csv|misp|misp-feed|stix --name NAME\n"
	"                          --marking clear|green|amber|amber+strict|red\n"
	"                          [--confidence N] [--identity IDENTITY-ID]\n"
	"                          [--columns MAP] [--delimiter C] [--header]\n"
	"                          [--warninglist PATH ...] [--no-builtin-warninglists]\n"
	"                          [--on-warning drop|flag] [--state DIR] [--all-attributes]\n"
	"                          [--out FILE | --hub URL --token-file F --collection ID\n"
	"                           [--root NAME] [--cacert F] [--insecure]] [--quiet]\n"
	"                          FILE|DIR ...\n"
	"       renkei feed import --format taxii --name NAME --marking TLP\n"
	"                          --source-url URL --source-collection ID\n"
	"                          [--source-token-file F] [--source-root NAME]\n"
	"                          [--source-cacert F] [--source-limit N]\n"
	"                          [--source-timeout SECONDS]\n"
	"                          [options as above, no FILE]\n"
	"       renkei feed run|status --config FILE ...   (feeds on a schedule:\n"
	"                          renkei feed run --help, renkei-feed(1))\n"
	"\n"
	"Turns a third-party feed into STIX 2.1 indicators. --format says what\n"
	"FILE is: plain (one value per line: IPv4/IPv6 addresses and CIDR blocks,\n"
	"domains, URLs, e-mail addresses, MD5/SHA-1/SHA-256/SHA-512 hashes, the\n"
	"type found per line; '#' and ';' start comments; text after the value\n"
	"becomes the description; defanged values are refanged: hxxp:// and\n"
	"hxxps://, [.], (.), [dot], [:], as in hxxp://evil[.]example), csv (with\n"
	"--columns 'value=2,type=ipv4,name=3,description=4', columns by number\n"
	"or header name; --delimiter, --header; values refanged as for plain),\n"
	"misp (a MISP event or REST search answer; attributes with\n"
	"to_ids, or all with --all-attributes), misp-feed (a directory with\n"
	"manifest.json and <uuid>.json events), stix (a bundle; indicators pass\n"
	"through, each object validated), taxii (no FILE: the indicators of\n"
	"collection --source-collection of the TAXII 2.1 server --source-url,\n"
	"API root --source-root (default: the one discovery announces), as the\n"
	"user whose token is the first line of --source-token-file, trusting\n"
	"--source-cacert; pages of --source-limit objects, default 1000; each\n"
	"request bounded by --source-timeout, default 120 s; they pass through\n"
	"as with stix). With --state, the collection's\n"
	"X-TAXII-Date-Added-Last is kept and the next run asks only for what\n"
	"was added since; it moves only once the indicators were written or\n"
	"pushed. A source that cannot be reached, times out or answers\n"
	"something that is not TAXII fails the run and leaves the state as it was.\n"
	"\n"
	"Each indicator gets the id UUIDv5(feed NAME, type, value), the TLP\n"
	"--marking, --confidence (0-100), created_by_ref --identity (the\n"
	"importing organisation, `renkei admin identity org:SLUG`). With --state\n"
	"DIR (one file per feed) an unchanged indicator is not sent again and a\n"
	"changed one gets a new `modified`; ids the feed no longer has are\n"
	"reported as gone. Values on a warning list (built-in: private and\n"
	"reserved ranges, public resolvers, top sites; plus each MISP\n"
	"warninglist --warninglist PATH, a list.json or its directory) are\n"
	"dropped, or with --on-warning flag kept with the label\n"
	"warning-list:NAME.\n"
	"\n"
	"The indicators go to --out FILE as a bundle (default: standard output),\n"
	"or with --hub to collection ID of that hub as the user whose token is\n"
	"the first line of F. A summary goes to standard error; every rejected\n"
	"line is listed as FILE:LINE: reason. Exits 0 when the import worked\n"
	"(rejected lines included), 1 when a file, the state or the hub failed.\n";

static const struct {
	const char *name;
	stix_tlp level;
} markings[] = {
	{ "clear", STIX_TLP_CLEAR }, { "white", STIX_TLP_CLEAR },
	{ "green", STIX_TLP_GREEN }, { "amber", STIX_TLP_AMBER },
	{ "amber+strict", STIX_TLP_AMBER_STRICT }, { "red", STIX_TLP_RED },
};

static int feed_import(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "marking", required_argument, NULL, OPT_MARKING },
		{ "confidence", required_argument, NULL, OPT_CONFIDENCE },
		{ "identity", required_argument, NULL, OPT_IDENTITY },
		{ "columns", required_argument, NULL, OPT_COLUMNS },
		{ "delimiter", required_argument, NULL, OPT_DELIMITER },
		{ "header", no_argument, NULL, OPT_HEADER },
		{ "warninglist", required_argument, NULL, OPT_WARNLIST },
		{ "no-builtin-warninglists", no_argument, NULL, OPT_NO_BUILTIN },
		{ "on-warning", required_argument, NULL, OPT_ON_WARNING },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "all-attributes", no_argument, NULL, OPT_ALL_ATTRIBUTES },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "hub", required_argument, NULL, OPT_HUB },
		{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
		{ "collection", required_argument, NULL, OPT_COLLECTION },
		{ "root", required_argument, NULL, CLI_OPT_ROOT },
		{ "cacert", required_argument, NULL, CLI_OPT_CACERT },
		{ "insecure", no_argument, NULL, CLI_OPT_INSECURE },
		{ "source-url", required_argument, NULL, OPT_SOURCE_URL },
		{ "source-collection", required_argument, NULL, OPT_SOURCE_COLLECTION },
		{ "source-token-file", required_argument, NULL, OPT_SOURCE_TOKEN_FILE },
		{ "source-root", required_argument, NULL, OPT_SOURCE_ROOT },
		{ "source-cacert", required_argument, NULL, OPT_SOURCE_CACERT },
		{ "source-limit", required_argument, NULL, OPT_SOURCE_LIMIT },
		{ "source-timeout", required_argument, NULL, OPT_SOURCE_TIMEOUT },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	feeds_config cfg = { .marking = STIX_TLP_NONE, .confidence = -1 };
	feeds_csv_opts csv;
	const char *format = NULL, *out_path = NULL, *hub = NULL, *token_file = NULL,
		   *collection = NULL;
	const char *source_token_file = NULL;
	feeds_taxii_source source = { 0 };
	char *source_token = NULL;
	const char *warnlists[FEED_MAX_WARNLISTS];
	size_t n_warnlists = 0;
	bool builtin = true, quiet = false;
	feeds_format fmt = FEEDS_FORMAT_PLAIN;
	feeds_warnlists *warn = NULL;
	feeds_import *imp = NULL;
	json_t *bundle = NULL;
	client_remote remote;
	char *token = NULL, *end;
	rk_errctx ctx;
	int c, rc = 1;

	feeds_csv_opts_init(&csv);
	client_remote_init(&remote);
	rk_errctx_clear(&ctx);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (cli_remote_option(&remote, c, optarg))
			continue;
		switch (c) {
		case OPT_FORMAT: format = optarg; break;
		case OPT_NAME: cfg.name = optarg; break;
		case OPT_MARKING:
			for (size_t i = 0; i < RK_ARRAY_LEN(markings); i++)
				if (strcasecmp(optarg, markings[i].name) == 0 ||
				    (strncasecmp(optarg, "tlp:", 4) == 0 &&
				     strcasecmp(optarg + 4, markings[i].name) == 0))
					cfg.marking = markings[i].level;
			if (cfg.marking == STIX_TLP_NONE)
				return cli_usage_error("feed", "--marking: expected clear, green, amber, amber+strict or red");
			break;
		case OPT_CONFIDENCE: {
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < 0 || v > 100)
				return cli_usage_error("feed", "--confidence: expected 0 to 100");
			cfg.confidence = (int)v;
			break;
		}
		case OPT_IDENTITY:
			if (!stix_id_valid(optarg, "identity"))
				return cli_usage_error("feed", "--identity: expected identity--<uuid>");
			cfg.identity = optarg;
			break;
		case OPT_COLUMNS:
			if (feeds_csv_opts_parse(optarg, &csv, &ctx)) {
				char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
				rk_errctx_format(&ctx, msg, sizeof msg);
				return cli_usage_error("feed", "--columns: %s", msg);
			}
			break;
		case OPT_DELIMITER:
			if (strcmp(optarg, "tab") == 0 || strcmp(optarg, "\\t") == 0)
				csv.delimiter = '\t';
			else if (strlen(optarg) == 1 && optarg[0] != '"' && optarg[0] != '\n')
				csv.delimiter = optarg[0];
			else
				return cli_usage_error("feed", "--delimiter: expected one character or tab");
			break;
		case OPT_HEADER: csv.header = true; break;
		case OPT_WARNLIST:
			if (n_warnlists == FEED_MAX_WARNLISTS)
				return cli_usage_error("feed", "at most %d --warninglist", FEED_MAX_WARNLISTS);
			warnlists[n_warnlists++] = optarg;
			break;
		case OPT_NO_BUILTIN: builtin = false; break;
		case OPT_ON_WARNING:
			if (strcmp(optarg, "drop") == 0)
				cfg.on_warning = FEEDS_WARN_DROP;
			else if (strcmp(optarg, "flag") == 0)
				cfg.on_warning = FEEDS_WARN_FLAG;
			else
				return cli_usage_error("feed", "--on-warning: expected drop or flag");
			break;
		case OPT_STATE: cfg.state_dir = optarg; break;
		case OPT_ALL_ATTRIBUTES: cfg.all_attributes = true; break;
		case OPT_OUT: out_path = optarg; break;
		case OPT_HUB: hub = optarg; break;
		case OPT_TOKEN_FILE: token_file = optarg; break;
		case OPT_COLLECTION: collection = optarg; break;
		case OPT_SOURCE_URL: source.remote.url = optarg; break;
		case OPT_SOURCE_COLLECTION: source.collection = optarg; break;
		case OPT_SOURCE_TOKEN_FILE: source_token_file = optarg; break;
		case OPT_SOURCE_ROOT: source.remote.root = optarg; break;
		case OPT_SOURCE_CACERT: source.remote.cacert = optarg; break;
		case OPT_SOURCE_LIMIT: {
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < 1 || v > RK_PAGE_MAX)
				return cli_usage_error("feed", "--source-limit: expected 1 to %d",
						       RK_PAGE_MAX);
			source.page_limit = (unsigned)v;
			break;
		}
		case OPT_SOURCE_TIMEOUT: {
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < 1 || v > 3600)
				return cli_usage_error("feed", "--source-timeout: expected 1 to 3600 seconds");
			source.remote.timeout_seconds = v;
			break;
		}
		case OPT_QUIET: quiet = true; break;
		case OPT_HELP: fputs(usage_text, stdout); return 0;
		default:
			return cli_usage_error("feed", "%s: unknown option or missing value",
					       argv[optind - 1]);
		}
	}
	if (!format || !feeds_format_parse(format, &fmt))
		return cli_usage_error("feed", "--format: expected plain, csv, misp, misp-feed, stix or taxii");
	if (!cfg.name || !*cfg.name)
		return cli_usage_error("feed", "--name NAME is required");
	if (cfg.marking == STIX_TLP_NONE)
		return cli_usage_error("feed", "--marking is required");
	bool any_source = source.remote.url || source.collection || source_token_file ||
			  source.remote.root || source.remote.cacert || source.page_limit ||
			  source.remote.timeout_seconds;
	if (fmt == FEEDS_FORMAT_TAXII) {
		if (!source.remote.url || !source.collection)
			return cli_usage_error("feed", "--format taxii needs --source-url and --source-collection");
		if (optind < argc)
			return cli_usage_error("feed", "--format taxii reads no FILE");
	} else if (any_source) {
		return cli_usage_error("feed", "the --source-* options go with --format taxii");
	} else if (optind >= argc) {
		return cli_usage_error("feed", "expected at least one FILE or DIR");
	}
	if (hub && out_path)
		return cli_usage_error("feed", "--out and --hub exclude each other");
	if (hub && (!token_file || !collection))
		return cli_usage_error("feed", "--hub needs --token-file and --collection");

	if (feeds_warn_new(builtin, &warn, &ctx))
		goto fail;
	for (size_t i = 0; i < n_warnlists; i++)
		if (feeds_warn_load(warn, warnlists[i], &ctx))
			goto fail;
	cfg.warn = warn;
	if (feeds_import_new(&cfg, &imp, &ctx))
		goto fail;
	if (fmt == FEEDS_FORMAT_TAXII) {
		if (source_token_file) {
			if (cli_read_token(source_token_file, &source_token, &ctx))
				goto fail;
			source.remote.token = source_token;
		}
		if (feeds_import_taxii(imp, &source, &ctx))
			goto fail;
	}
	for (int i = optind; i < argc; i++)
		if (feeds_import_path(imp, fmt, argv[i], &csv, &ctx))
			goto fail;

	/* The summary goes where the bundle does not. */
	FILE *report = (!hub && (!out_path || strcmp(out_path, "-") == 0)) ? stderr : stdout;
	if (hub) {
		remote.url = hub;
		if (cli_read_token(token_file, &token, &ctx))
			goto fail;
		remote.token = token;
		feeds_delivery sent;
		if (feeds_deliver(&remote, collection, imp, cfg.marking, report, &sent, &ctx)) {
			if (!quiet)
				feeds_import_summary(imp, warn, report);
			goto fail;
		}
		if (sent.failed || sent.pending) {
			if (!quiet)
				feeds_import_summary(imp, warn, report);
			cli_error("feed", "the hub did not take every object; the state is unchanged");
			goto out;
		}
	} else {
		if (!(bundle = feeds_import_bundle(imp))) {
			rk_fail(&ctx, RK_ENOMEM, NULL, "out of memory");
			goto fail;
		}
		const char *path = out_path ? out_path : "-";
		FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
		if (!f) {
			rk_fail(&ctx, RK_EIO, path, "cannot write");
			goto fail;
		}
		int w = json_dumpf(bundle, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		if (fputc('\n', f) == EOF)
			w = -1;
		if (f != stdout ? fclose(f) != 0 : fflush(f) != 0)
			w = -1;
		if (w) {
			rk_fail(&ctx, RK_EIO, path, "write failed");
			goto fail;
		}
	}
	if (feeds_import_finish(imp, &ctx))
		goto fail;
	if (!quiet)
		feeds_import_summary(imp, warn, report);
	rc = 0;
	goto out;
fail: {
	char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
	rk_errctx_format(&ctx, msg, sizeof msg);
	cli_error("feed", "%s", msg);
	rc = 1;
}
out:
	json_decref(bundle);
	feeds_import_free(imp);
	feeds_warn_free(warn);
	free(token);
	free(source_token);
	return rc;
}

int cli_cmd_feed(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc < 2)
		return cli_usage_error("feed", "expected an action: import, run or status");
	if (strcmp(argv[1], "import") == 0)
		return feed_import(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "status") == 0)
		return cli_feed_run(argc - 1, argv + 1);
	return cli_usage_error("feed", "%s: unknown action (expected import, run or status)",
			       argv[1]);
}
