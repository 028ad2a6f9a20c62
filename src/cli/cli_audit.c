/*
 * cli_audit.c: `renkei audit`, the operator's view of the audit trail.
 *
 * The hub records every request that reads or changes data in
 * <data>/audit.db (src/audit/). Three actions, one row each in `actions`
 * below (name, handler, options it takes, arguments, help):
 *
 *     verify    walk the hash chain; exit 0 when intact, 1 when tampered,
 *               with the first problem and where it is
 *     show      the records, filtered by organisation, object and time
 *     readers   who read one object, and when
 *
 * The log is opened read-only: nothing here writes to it, so it can run
 * while the hub does (each command reads one consistent snapshot), and on
 * a copy handed over for inspection. Tampering is reported, never
 * repaired. Output: tables on standard output, or JSON with --json;
 * errors on standard error. Exit status: 0 success (verify: intact), 1
 * failure (verify: tampered, or the log cannot be read), 2 usage error.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cli_int.h"

#define CMD "audit"

enum {
	O_DATA = 1u << 0,
	O_JSON = 1u << 1,
	O_ORG = 1u << 2,
	O_OBJECT = 1u << 3,
	O_SINCE = 1u << 4,
	O_UNTIL = 1u << 5,
	O_HEAD = 1u << 6,
};

static const struct {
	struct option opt;
	unsigned bit;
} option_table[] = {
	{{"data", required_argument, NULL, 'd'}, O_DATA},
	{{"json", no_argument, NULL, 'j'}, O_JSON},
	{{"org", required_argument, NULL, 'o'}, O_ORG},
	{{"object", required_argument, NULL, 'b'}, O_OBJECT},
	{{"since", required_argument, NULL, 's'}, O_SINCE},
	{{"until", required_argument, NULL, 'u'}, O_UNTIL},
	{{"head", required_argument, NULL, 'H'}, O_HEAD},
	{{"help", no_argument, NULL, 'h'}, 0},
};

typedef struct audit_args {
	const char *data;
	bool json;
	audit_filter filter;
	bool have_head;
	audit_head head;
	char **args;
	int nargs;
} audit_args;

typedef struct audit_action {
	const char *name;
	int (*run)(audit *a, audit_args *args);
	unsigned opts;
	int nargs;
	const char *usage; /* after "renkei audit " */
	const char *text;
} audit_action;

static int act_verify(audit *a, audit_args *args);
static int act_show(audit *a, audit_args *args);
static int act_readers(audit *a, audit_args *args);

static const audit_action actions[] = {
	{"verify", act_verify, O_DATA | O_HEAD, 0,
	 "verify --data DIR [--head SEQ:HASH]",
	 "Walks the audit log's hash chain from the first record and checks it\n"
	 "against audit.head. Prints \"intact\" and the head (keep a copy elsewhere:\n"
	 "--head checks the log against it later), or \"tampered\" and the first\n"
	 "problem with its place, e.g. \"record 1234: content does not match its\n"
	 "hash (modified)\". Exits 0 when intact, 1 when tampered.\n"},
	{"show", act_show, O_DATA | O_JSON | O_ORG | O_OBJECT | O_SINCE | O_UNTIL, 0,
	 "show --data DIR [--org ID] [--object ID] [--since TIME]\n"
	 "                         [--until TIME] [--json]",
	 "Prints the records in order, those of organisation --org, naming object\n"
	 "--object, made at or after --since and before --until (RFC 3339 times,\n"
	 "like 2024-05-01T00:00:00Z). --json prints every field, object ids\n"
	 "included.\n"},
	{"readers", act_readers, O_DATA | O_JSON, 1,
	 "readers --data DIR [--json] OBJECT-ID",
	 "Prints who read OBJECT-ID (successful GET requests that served it), in\n"
	 "every collection, oldest first.\n"},
};

static void print_usage(FILE *out)
{
	fputs("usage:", out);
	for (size_t i = 0; i < RK_ARRAY_LEN(actions); i++)
		fprintf(out, "%s renkei audit %s\n", i ? "      " : "", actions[i].usage);
	fputs("\nThe audit log is DIR/audit.db, written by the hub; it is only read here.\n"
	      "`renkei audit ACTION --help` describes one action.\n",
	      out);
}

static int usage_error(const audit_action *act, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(const audit_action *act, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int rc = cli_usage_errorv(CMD, act ? act->usage : NULL, fmt, ap);
	va_end(ap);
	return rc;
}

static void format_time(rk_time t, char out[RK_TIME_BUF])
{
	rk_time_format(t, 6, out);
}

static int finish_output(int rc)
{
	if (fflush(stdout) != 0) {
		cli_error(CMD, "writing output failed");
		return 1;
	}
	return rc;
}

/* ---------------------------------------------------------------- verify */

static int act_verify(audit *a, audit_args *args)
{
	audit_verdict v;
	rk_errctx ctx;
	char hex[AUDIT_HASH_HEX];

	rk_errctx_clear(&ctx);
	if (audit_verify(a, args->have_head ? &args->head : NULL, &v, &ctx) != RK_OK)
		return cli_fail(CMD, &ctx);
	if (!v.intact) {
		printf("tampered: %s\n", v.message);
		return finish_output(1);
	}
	audit_hash_hex(v.last_hash, hex);
	printf("intact: %llu records, head %llu:%s\n", (unsigned long long)v.records,
	       (unsigned long long)v.last_seq, hex);
	if (v.last_seq > v.anchor.seq)
		printf("(%llu records after the head in audit.head, which is written at most "
		       "a moment after each commit)\n",
		       (unsigned long long)(v.last_seq - v.anchor.seq));
	return finish_output(0);
}

/* ---------------------------------------------------------------- show */

typedef struct show_state {
	bool json;
	size_t n;
} show_state;

static size_t count_ids(const char *ids)
{
	size_t n = 0;
	if (!ids || !*ids)
		return 0;
	for (n = 1; *ids; ids++)
		n += *ids == '\n';
	return n;
}

static json_t *ids_json(const char *ids)
{
	json_t *arr = json_array();
	while (arr && ids && *ids) {
		size_t len = strcspn(ids, "\n");
		if (json_array_append_new(arr, json_stringn(ids, len))) {
			json_decref(arr);
			return NULL;
		}
		ids += len;
		if (*ids == '\n')
			ids++;
	}
	return arr;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static rk_err show_one(void *arg, const audit_record *r)
{
	show_state *st = arg;
	char at[RK_TIME_BUF];

	format_time(r->at, at);
	if (!st->json) {
		char objects[24];
		if (st->n++ == 0)
			printf("%-8s %-27s %-16s %-14s %-6s %-6s %-7s %s\n", "SEQ", "AT", "USER",
			       "ORGANIZATION", "METHOD", "STATUS", "OBJECTS", "ROUTE / OUTCOME");
		snprintf(objects, sizeof objects, "%zu", count_ids(r->ids));
		printf("%-8llu %-27s %-16s %-14s %-6s %-6d %-7s %s  %s\n",
		       (unsigned long long)r->seq, at, r->user ? r->user : "-",
		       r->org ? r->org : "-", r->method ? r->method : "-", r->status, objects,
		       r->route ? r->route : "-", r->outcome ? r->outcome : "-");
		return RK_OK;
	}
	char hex[AUDIT_HASH_HEX];
	audit_hash_hex(r->hash, hex);
	json_t *o = json_object();
	if (!o)
		return RK_ENOMEM;
	json_object_set_new(o, "seq", json_integer((json_int_t)r->seq));
	json_object_set_new(o, "at", json_string(at));
	json_object_set_new(o, "user", str_or_null(r->user));
	json_object_set_new(o, "organization", str_or_null(r->org));
	json_object_set_new(o, "method", str_or_null(r->method));
	json_object_set_new(o, "route", str_or_null(r->route));
	json_object_set_new(o, "api_root", str_or_null(r->api_root));
	json_object_set_new(o, "collection", str_or_null(r->collection));
	json_object_set_new(o, "objects", ids_json(r->ids));
	json_object_set_new(o, "status", json_integer(r->status));
	json_object_set_new(o, "outcome", str_or_null(r->outcome));
	json_object_set_new(o, "hash", json_string(hex));
	char *text = rk_json_dump(o);
	json_decref(o);
	if (!text)
		return RK_ENOMEM;
	printf("%s  %s", st->n++ ? ",\n" : "[\n", text);
	free(text);
	return RK_OK;
}

static int act_show(audit *a, audit_args *args)
{
	show_state st = {.json = args->json};
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	if (audit_show(a, &args->filter, show_one, &st, &ctx) != RK_OK) {
		if (!ctx.code)
			rk_fail(&ctx, RK_ENOMEM, NULL, "out of memory");
		return cli_fail(CMD, &ctx);
	}
	if (args->json)
		fputs(st.n ? "\n]\n" : "[]\n", stdout);
	else if (!st.n)
		puts("no records");
	return finish_output(0);
}

/* ---------------------------------------------------------------- readers */

static rk_err reader_one(void *arg, const audit_read *r)
{
	show_state *st = arg;
	char at[RK_TIME_BUF];

	format_time(r->at, at);
	if (!st->json) {
		if (st->n++ == 0)
			printf("%-27s %-16s %-14s %-36s %s\n", "AT", "USER", "ORGANIZATION",
			       "COLLECTION", "SEQ");
		printf("%-27s %-16s %-14s %-36s %llu\n", at, r->user ? r->user : "-",
		       r->org ? r->org : "-", r->collection ? r->collection : "-",
		       (unsigned long long)r->seq);
		return RK_OK;
	}
	json_t *o = json_pack("{s:o, s:o, s:s, s:o, s:I}", "organization", str_or_null(r->org),
			      "user", str_or_null(r->user), "at", at, "collection",
			      str_or_null(r->collection), "seq", (json_int_t)r->seq);
	char *text = o ? rk_json_dump(o) : NULL;
	json_decref(o);
	if (!text)
		return RK_ENOMEM;
	printf("%s    %s", st->n++ ? ",\n" : "{\"readers\": [\n", text);
	free(text);
	return RK_OK;
}

static int act_readers(audit *a, audit_args *args)
{
	show_state st = {.json = args->json};
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	if (audit_readers(a, args->args[0], NULL, 0, reader_one, &st, NULL, &ctx) != RK_OK) {
		if (!ctx.code)
			rk_fail(&ctx, RK_ENOMEM, NULL, "out of memory");
		return cli_fail(CMD, &ctx);
	}
	if (args->json)
		fputs(st.n ? "\n]}\n" : "{\"readers\": []}\n", stdout);
	else if (!st.n)
		printf("nobody read %s\n", args->args[0]);
	return finish_output(0);
}

/* ---------------------------------------------------------------- dispatch */

static const audit_action *find_action(const char *name)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(actions); i++)
		if (strcmp(actions[i].name, name) == 0)
			return &actions[i];
	return NULL;
}

int cli_cmd_audit(int argc, char **argv)
{
	struct option longopts[RK_ARRAY_LEN(option_table) + 1];
	unsigned seen = 0;
	bool help = false;
	audit_args args = {0};
	const char *since = NULL, *until = NULL, *head = NULL;
	int c;

	for (size_t i = 0; i < RK_ARRAY_LEN(option_table); i++)
		longopts[i] = option_table[i].opt;
	memset(&longopts[RK_ARRAY_LEN(option_table)], 0, sizeof longopts[0]);
	optind = 0; /* glibc: full reinitialisation, argv[0] is skipped */
	opterr = 0;
	/* GNU getopt permutes: options may come before or after the action. */
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		unsigned bit = 0;
		for (size_t i = 0; i < RK_ARRAY_LEN(option_table); i++)
			if (option_table[i].opt.val == c)
				bit = option_table[i].bit;
		switch (c) {
		case 'h': help = true; break;
		case 'd': args.data = optarg; break;
		case 'j': args.json = true; break;
		case 'o': args.filter.org = optarg; break;
		case 'b': args.filter.object_id = optarg; break;
		case 's': since = optarg; break;
		case 'u': until = optarg; break;
		case 'H': head = optarg; break;
		case ':':
			return usage_error(NULL, "option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
		}
		seen |= bit;
	}
	const audit_action *act = optind < argc ? find_action(argv[optind]) : NULL;
	if (help) {
		if (act)
			fprintf(stdout, "usage: renkei audit %s\n\n%s", act->usage, act->text);
		else
			print_usage(stdout);
		return 0;
	}
	if (optind >= argc)
		return usage_error(NULL, "expected an action (verify, show or readers)");
	if (!act)
		return usage_error(NULL, "%s: no such action", argv[optind]);
	args.args = argv + optind + 1;
	args.nargs = argc - optind - 1;
	if (seen & ~act->opts) {
		for (size_t i = 0; i < RK_ARRAY_LEN(option_table); i++)
			if (seen & option_table[i].bit & ~act->opts)
				return usage_error(act, "%s: option '--%s' does not apply",
						   act->name, option_table[i].opt.name);
	}
	if (args.nargs != act->nargs)
		return usage_error(act, "%s: expected %s", act->name,
				   act->nargs ? "one object id" : "no arguments");
	if (!args.data)
		return usage_error(act, "%s: --data DIR is required", act->name);
	if (since) {
		if (!rk_time_parse(since, &args.filter.since))
			return usage_error(act, "--since: '%s' is not an RFC 3339 timestamp (like "
					   "2024-05-01T00:00:00Z)", since);
		args.filter.has_since = true;
	}
	if (until) {
		if (!rk_time_parse(until, &args.filter.until))
			return usage_error(act, "--until: '%s' is not an RFC 3339 timestamp (like "
					   "2024-05-01T00:00:00Z)", until);
		args.filter.has_until = true;
	}
	if (head) {
		if (!audit_head_parse(head, &args.head))
			return usage_error(act, "--head: expected SEQ:HASH (as `renkei audit "
					   "verify` prints it)");
		args.have_head = true;
	}

	audit *a = NULL;
	audit_options ro = {.read_only = true};
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	if (audit_open(args.data, &ro, &a, &ctx) != RK_OK)
		return cli_fail(CMD, &ctx);
	int rc = act->run(a, &args);
	audit_close(a);
	return rc;
}
