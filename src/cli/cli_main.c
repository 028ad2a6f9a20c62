/*
 * cli_main.c: the one table of `renkei` subcommands and the dispatcher.
 *
 * Every subcommand is one row of `commands` below: its name, handler,
 * one-line summary and usage text. Dispatch, `renkei --help`, `renkei help
 * CMD` and `renkei CMD --help` all read that row, so adding a subcommand is
 * one row plus one cli_<name>.c file. The hub's options are not repeated
 * here: they come from the TAXII option table (taxii_options()), the same
 * table that reads renkei.conf(5).
 *
 * Exit statuses are the same for every subcommand: 0 success, 1 failure,
 * 2 usage error. Errors are printed as "renkei CMD: what: why" by
 * cli_error(); this is the only place that knows the program's name.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli_int.h"
#include "taxii.h"

#ifndef RK_VERSION
#define RK_VERSION "0.1.0"
#endif

static int cli_cmd_help(int argc, char **argv);

typedef struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	const char *usage; /* lines after "usage: renkei " */
	bool own_help;     /* the handler prints its own, fuller --help */
} cli_command;

static const cli_command commands[] = {
	{ "hub", cli_cmd_hub, "run the STIX/TAXII 2.1 hub",
	  "hub [--config FILE] [-n] [--OPTION VALUE ...]\n"
	  "\n"
	  "Serves the TAXII 2.1 API over the store in --data until SIGTERM or\n"
	  "SIGINT. Options are read from the [hub] section of FILE (see\n"
	  "renkei.conf(5)); a flag overrides the file. -n checks the\n"
	  "configuration and exits.\n" },
	{ "admin", cli_cmd_admin, "manage the directory (organisations, users, communities, collections)",
	  "admin ACTION --data DIR [OPTIONS] [ARGS]\n", true },
	{ "audit", cli_cmd_audit, "check and query the audit trail: who read or changed what",
	  "audit ACTION --data DIR [OPTIONS] [ARGS]\n", true },
	{ "review", cli_cmd_review, "decide on anonymous submissions held for review",
	  "review ACTION --data DIR [OPTIONS] [ITEM]\n", true },
	{ "push", cli_cmd_push, "send STIX objects to a TAXII collection",
	  "push [--url URL] [--token TOKEN] [--root ROOT] --collection ID\n"
	  "                   [--batch N] [--anonymous | --named] [--cacert FILE]\n"
	  "                   [--insecure] FILE|-\n"
	  "\n"
	  "Reads a STIX bundle, a TAXII envelope, a JSON array of objects or one\n"
	  "object, posts it in envelopes of at most --batch objects (default 100)\n"
	  "and prints the totals of the status resources and every failure.\n"
	  "--anonymous submits under the organisation's pseudonym (the hub\n"
	  "replaces its identity and scrubs what its rules name), --named under\n"
	  "its name, whatever the organisation's default.\n"
	  "Exits 1 if any object failed or is still pending.\n" },
	{ "get", cli_cmd_get, "read from a TAXII server and print JSON",
	  "get [--url URL] [--token TOKEN] [--root ROOT] [--collection ID]\n"
	  "                  [--added-after TIME] [--type T,...] [--id ID,...]\n"
	  "                  [--version V,...] [--spec-version V] [--limit N]\n"
	  "                  [--next CURSOR] [--all] [--cacert FILE] [--insecure]\n"
	  "                  [discovery | root | roots | collections | objects |\n"
	  "                   manifest | object ID | versions ID | status ID]\n"
	  "\n"
	  "Prints the server's JSON answer on standard output (default: objects\n"
	  "when --collection is given, discovery otherwise). --all follows the\n"
	  "`next` cursor until the server has nothing more and prints one\n"
	  "merged answer.\n" },
	{ "validate", cli_cmd_validate, "check STIX 2.1 documents offline",
	  "validate [--quiet] [--json] [--strict] [--no-warnings] FILE|- ...\n"
	  "\n"
	  "Validates every object of each file (bundle, envelope, array of\n"
	  "objects or one object) and prints each error as\n"
	  "\"FILE: objects[3].valid_from: why\", warnings as\n"
	  "\"FILE: warning: PATH: why\", then \"N objects, N valid, N invalid\".\n"
	  "Exits 0 when everything is valid, 1 otherwise.\n" },
	{ "pattern", cli_cmd_pattern, "check a STIX 2.1 pattern",
	  "pattern check PATTERN\n"
	  "\n"
	  "Prints \"valid\" and exits 0, or prints where and why the pattern is\n"
	  "invalid (\"at 17: expected ']' after comparison\") and exits 1.\n" },
	{ "match", cli_cmd_match, "match a STIX 2.1 pattern against observed-data",
	  "match --pattern PATTERN --observed FILE|-\n"
	  "\n"
	  "FILE is a bundle, an array of objects or one observed-data. Prints\n"
	  "\"match\" and exits 0, \"no match\" and exits 1; errors exit 2.\n" },
	{ "sensor", cli_cmd_sensor, "match indicators against traffic and logs",
	  "sensor --indicators FILE --input FORMAT:PATH [--input ...]\n"
	  "                     [--alerts PATH] [--threads N] [--stats] [--progress]\n"
	  "                     [--follow]\n"
	  "                     [--hub URL --token-file F --collection ID --identity ID\n"
	  "                      [--root NAME] [--spool DIR] [--sighting-interval S]\n"
	  "                      [--poll S] [--cacert F] [--insecure]]\n"
	  "\n"
	  "Compiles the STIX indicators of FILE into one matcher and sweeps each\n"
	  "input with it: FORMAT is pcap (a capture file), iface (a live\n"
	  "interface), zeek (Zeek TSV or JSON logs), eve (Suricata EVE JSON) or\n"
	  "text (values found anywhere in a line); PATH - is standard input.\n"
	  "Each hit is one JSON line on --alerts PATH (default -, standard\n"
	  "output): time, indicator id and name, the observable, and where (the\n"
	  "flow and packet number, or the file, line and field). --threads N\n"
	  "workers (default: one per CPU); --follow keeps reading logs as they\n"
	  "grow (across rotation); --stats prints totals and errors at the end,\n"
	  "--progress how much is matched every 2 seconds.\n"
	  "Files end the run when read; interfaces and followed logs run until\n"
	  "SIGINT or SIGTERM. SIGHUP reloads FILE without pausing the inputs:\n"
	  "the set becomes what FILE holds then (with --hub, FILE is applied on\n"
	  "top of the feed's indicators), and a FILE that cannot be read\n"
	  "leaves the indicators in force.\n"
	  "\n"
	  "--hub URL pulls the indicators of collection ID over TAXII 2.1 (with\n"
	  "or instead of --indicators), as the user whose token is the first\n"
	  "line of F (role sensor): once before the inputs start, then every\n"
	  "--poll S seconds (default 60), swapping the matcher when they\n"
	  "changed. Each hit also counts towards one STIX sighting per indicator\n"
	  "per --sighting-interval S seconds (default 60), posted to the same\n"
	  "collection with where_sighted_refs and created_by_ref the identity\n"
	  "ID of the sensor's organisation (`renkei admin identity org:SLUG`)\n"
	  "and the indicator's markings. --spool DIR (default ./renkei-spool)\n"
	  "keeps the feed's checkpoint and the sightings the hub has not taken:\n"
	  "a hub that is down or slow loses nothing, and a restart resumes.\n"
	  "Exits 0, or 1 when FILE or an input cannot be read.\n" },
	{ "feed", cli_cmd_feed, "import third-party indicator feeds into STIX 2.1",
	  "feed import --format FORMAT --name NAME --marking TLP [OPTIONS] FILE|DIR ...\n"
	  "       feed run --config FILE [--once] [--feed NAME ...]\n"
	  "       feed status --config FILE [--json]\n"
	  "\n"
	  "import turns one feed into STIX 2.1 indicators (renkei feed import\n"
	  "--help). run imports the feeds of a schedule file into a hub, each on\n"
	  "its interval, until stopped; status shows their last runs. The\n"
	  "schedule file is described in renkei-feed(1).\n",
	  true },
	{ "export", cli_cmd_export, "write what an organisation may use in its own tools",
	  "export --data DIR (--org ORG-ID | --public)\n"
	  "                     --format zeek|suricata|rpz|nftables|plain|csv|misp|stix\n"
	  "                     [--out PATH|DIR]\n"
	  "\n"
	  "Writes the indicators of every collection that may go to ORG-ID's own\n"
	  "tools (the onward path \"internal export\" of docs/confidentiality.md),\n"
	  "or with --public those that may be published (TLP:CLEAR only), in one\n"
	  "tool's format: a Zeek intel file, Suricata rules with their datasets,\n"
	  "a DNS response-policy zone, nftables sets, a plain list, CSV, a MISP\n"
	  "event or a STIX 2.1 bundle. Revoked and expired indicators are left\n"
	  "out. --out DIR writes the format's files into DIR under their own\n"
	  "names, --out PATH one file; without --out a one-file format goes to\n"
	  "standard output. Files are replaced atomically. A summary and the\n"
	  "ETag go to standard error. Exits 2 for an unknown organisation or\n"
	  "format, 1 on other errors. See renkei-export(1).\n" },
	{ "assets", cli_cmd_assets, "claim, approve and look up organisations' address ranges, AS numbers and domains",
	  "assets ACTION --data DIR [OPTIONS] [ARGS]\n", true },
	{ "notify", cli_cmd_notify, "notification status and acknowledgements of affected organisations",
	  "notify ACTION --data DIR [OPTIONS] [ARGS]\n", true },
	{ "federation", cli_cmd_federation, "partner hubs: this hub's key, status and a sync round",
	  "federation ACTION --data DIR [--federation FILE] [OPTIONS]\n", true },
	{ "demo", cli_cmd_demo, "run a hub with a sample national directory and intelligence",
	  "demo [--data DIR] [--listen HOST:PORT] [--objects N] [--seed N]\n"
	  "\n"
	  "Creates (or reuses) DIR (default ./.renkei/demo), applies a sample\n"
	  "national directory with new random tokens (written to DIR/tokens.txt,\n"
	  "mode 0600), stores generated threat intelligence and serves it on\n"
	  "HOST:PORT (default 127.0.0.1:8450), printing commands to query it.\n" },
	{ "help", cli_cmd_help, "show the commands, or the usage of one",
	  "help [COMMAND]\n" },
};

static const char *progname = "renkei";

const char *cli_progname(void)
{
	return progname;
}

static const cli_command *find_command(const char *name)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

void cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (cmd && *cmd)
		fprintf(stderr, "renkei %s: ", cmd);
	else
		fputs("renkei: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_fail(const char *cmd, const rk_errctx *ctx)
{
	char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 8];

	rk_errctx_format(ctx, msg, sizeof msg);
	cli_error(cmd, "%s", msg);
	return 1;
}

int cli_usage_errorv(const char *cmd, const char *usage, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof msg, fmt, ap);
	cli_error(cmd, "%s", msg);
	if (usage)
		fprintf(stderr, "usage: renkei %s %s\n", cmd, usage);
	else
		fprintf(stderr, "try: renkei %s --help\n", cmd);
	return 2;
}

/* The hub's flags are the rows of the TAXII option table. */
static void print_hub_options(FILE *out)
{
	size_t n = 0;
	const taxii_option *opt = taxii_options(&n);

	fputs("\noptions (also [hub] keys of renkei.conf):\n", out);
	for (size_t i = 0; i < n; i++) {
		char left[64];
		snprintf(left, sizeof left, "--%s%s%s", opt[i].name,
			 opt[i].arg ? " " : "", opt[i].arg ? opt[i].arg : "");
		fprintf(out, "  %-28s %s", left, opt[i].help);
		if (opt[i].default_text && *opt[i].default_text)
			fprintf(out, " (default: %s)", opt[i].default_text);
		fputc('\n', out);
	}
}

void cli_usage(const char *cmd, FILE *out)
{
	const cli_command *c = find_command(cmd);

	if (!c)
		return;
	if (c->own_help && out == stdout) {
		char name[16], flag[] = "--help";
		char *argv[] = { name, flag, NULL };
		snprintf(name, sizeof name, "%s", c->name);
		c->run(2, argv);
		return;
	}
	fprintf(out, "usage: renkei %s", c->usage);
	if (strcmp(c->name, "hub") == 0)
		print_hub_options(out);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "renkei %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry: renkei help %s\n", cmd);
	return 2;
}

static void print_overview(FILE *out)
{
	fputs("usage: renkei COMMAND [OPTIONS] [ARGS]\n"
	      "       renkei help COMMAND | renkei --help | renkei --version\n"
	      "\n"
	      "renkei is a national threat-intelligence hub: a STIX 2.1 store and\n"
	      "TAXII 2.1 server with a directory of organisations and a TLP 2.0\n"
	      "confidentiality policy, and the tools to feed and read it.\n"
	      "\n"
	      "commands:\n",
	      out);
	for (size_t i = 0; i < RK_ARRAY_LEN(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\nSee renkei(1) and renkei.conf(5).\n", out);
}

static int cli_cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		print_overview(stdout);
		return 0;
	}
	if (argc > 2)
		return cli_usage_error("help", "expected one command name");
	if (!find_command(argv[1])) {
		cli_error("help", "%s: no such command", argv[1]);
		return 2;
	}
	cli_usage(argv[1], stdout);
	return 0;
}

int cli_main(int argc, char **argv)
{
	if (argc > 0 && argv[0] && *argv[0])
		progname = argv[0];
	if (argc < 2) {
		print_overview(stderr);
		return 2;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		print_overview(stdout);
		return 0;
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
		printf("renkei %s\n", RK_VERSION);
		return 0;
	}
	const cli_command *c = find_command(name);
	if (!c) {
		cli_error(NULL, "%s: no such command (try: renkei --help)", name);
		return 2;
	}
	/* `renkei CMD --help` reads the same row as `renkei help CMD`. */
	if (!c->own_help && argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
		cli_usage(c->name, stdout);
		return 0;
	}
	return c->run(argc - 1, argv + 1);
}

bool cli_remote_option(client_remote *r, int code, const char *arg)
{
	switch (code) {
	case CLI_OPT_URL: r->url = arg; return true;
	case CLI_OPT_TOKEN: r->token = arg; return true;
	case CLI_OPT_ROOT: r->root = arg; return true;
	case CLI_OPT_CACERT: r->cacert = arg; return true;
	case CLI_OPT_INSECURE: r->insecure = true; return true;
	default: return false;
	}
}
