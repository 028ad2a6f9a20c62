/*
 * cli_review.c: `renkei review`, the hub analyst's side of anonymous
 * submission (renkei-review(1), src/anonymise/).
 *
 * Objects submitted anonymously that the scrubbing rules flagged wait in
 * <data>/anonymise.db, invisible to every reader, until an analyst decides:
 *
 *     list      the items, pending ones by default (--all: every item)
 *     show      one item: who submitted it, where to, the findings (rule
 *               and path) and the transformed object as it would be stored
 *     approve   store the transformed object through the store's normal
 *               path (the policy is asked as for the submission); its
 *               submitter's TAXII status moves the entry to successes
 *     reject    drop it; the status moves the entry to failures with
 *               "rejected in review: REASON"
 *
 * Like `renkei admin`, this is the operator's tool on the hub machine: it
 * opens the store and anonymise.db in the data directory directly, while
 * the hub runs or not. `show` prints the transformed object, never the
 * original (which is the submitter's alone). Exit status: 0 success, 1
 * failure (no such item, not pending, a refusal on approve, a store
 * error), 2 usage error.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anonymise.h"
#include "cli_int.h"
#include "store.h"

#define CMD "review"

typedef struct review_args {
	const char *data;
	bool json, all;
	const char *reason;
	char **args;
	int nargs;
} review_args;

typedef struct review_action {
	const char *name;
	int (*run)(anon_state *as, store *st, review_args *a);
	int nargs;
	const char *usage;
	const char *text;
} review_action;

static int act_list(anon_state *as, store *st, review_args *a);
static int act_show(anon_state *as, store *st, review_args *a);
static int act_approve(anon_state *as, store *st, review_args *a);
static int act_reject(anon_state *as, store *st, review_args *a);

static const review_action actions[] = {
	{"list", act_list, 0, "list --data DIR [--all] [--json]",
	 "Prints the pending review items, oldest first: id, when received, the\n"
	 "organisation that submitted, the collection, the object id as it would\n"
	 "be stored and the rules that held it. --all lists decided items too.\n"},
	{"show", act_show, 1, "show --data DIR [--json] ITEM",
	 "Prints one item: its state, submitter, collection, findings (rule and\n"
	 "path, never a value) and the transformed object as it would be stored.\n"},
	{"approve", act_approve, 1, "approve --data DIR ITEM",
	 "Stores the transformed object into its collection as at submission\n"
	 "(policy asked for the submitting user; a refusal rejects the item and\n"
	 "says why) and tells the submitter through its TAXII status.\n"},
	{"reject", act_reject, 1, "reject --data DIR [--reason TEXT] ITEM",
	 "Drops the item: it is never stored, and its submitter's TAXII status\n"
	 "says \"rejected in review: TEXT\".\n"},
};

static void print_usage(FILE *out)
{
	fputs("usage:", out);
	for (size_t i = 0; i < RK_ARRAY_LEN(actions); i++)
		fprintf(out, "%s renkei review %s\n", i ? "      " : "", actions[i].usage);
	fputs("\nThe review queue is DIR/anonymise.db, filled by the hub with the\n"
	      "anonymous submissions its rules held back. `renkei review ACTION --help`\n"
	      "describes one action.\n",
	      out);
}

static int usage_error(const review_action *act, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(const review_action *act, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = cli_usage_errorv(CMD, act ? act->usage : NULL, fmt, ap);
	va_end(ap);
	return rc;
}

static json_t *item_json(const anon_review_item *it, bool with_object)
{
	char received[RK_TIME_BUF], decided[RK_TIME_BUF];
	json_t *findings = json_array(), *o;
	const char *f = it->findings ? it->findings : "";

	rk_time_format(it->received, 6, received);
	rk_time_format(it->decided, 6, decided);
	while (findings && *f) {
		size_t l = strcspn(f, "\n");
		json_array_append_new(findings, json_stringn(f, l));
		f += l + (f[l] == '\n');
	}
	o = json_pack("{ss ss ss ss ss ss ss ss ss so}", "id", it->id, "state", it->state,
		      "organization", it->org, "user", it->user, "community", it->community,
		      "collection", it->collection, "object_id", it->stored_id, "version",
		      it->version, "received", received, "findings", findings);
	if (o && it->decided)
		json_object_set_new(o, "decided", json_string(decided));
	if (o && it->reason)
		json_object_set_new(o, "reason", json_string(it->reason));
	if (o && with_object && it->object) {
		json_t *obj = NULL;
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		if (!rk_json_parse(it->object, strlen(it->object), RK_MAX_JSON_DEPTH, &obj, &ctx))
			json_object_set_new(o, "object", obj);
	}
	return o;
}

static rk_err print_row(void *arg, const anon_review_item *it)
{
	review_args *a = arg;
	char received[RK_TIME_BUF];

	if (a->json) {
		json_t *o = item_json(it, false);
		char *t = o ? rk_json_dump(o) : NULL;
		json_decref(o);
		if (!t)
			return RK_ENOMEM;
		printf("%s\n", t);
		free(t);
		return RK_OK;
	}
	rk_time_format(it->received, 0, received);
	/* the rules that held it: the findings flagged for review */
	printf("%s  %s  %-8s  %-12s  %s  %s  ", it->id, received, it->state, it->org,
	       it->collection, it->stored_id);
	const char *f = it->findings ? it->findings : "";
	bool first = true;
	while (*f) {
		size_t l = strcspn(f, "\n");
		if (l > 9 && memcmp(f + l - 9, " (review)", 9) == 0) {
			size_t rl = strcspn(f, " ");
			printf("%s%.*s", first ? "" : ",", (int)rl, f);
			first = false;
		}
		f += l + (f[l] == '\n');
	}
	printf("\n");
	return RK_OK;
}

static int act_list(anon_state *as, store *st, review_args *a)
{
	rk_errctx ctx;
	(void)st;
	rk_errctx_clear(&ctx);
	if (anon_state_review_list(as, a->all ? NULL : "pending", print_row, a, &ctx))
		return cli_fail(CMD, &ctx);
	return 0;
}

static rk_err print_item(void *arg, const anon_review_item *it)
{
	review_args *a = arg;
	json_t *o = item_json(it, true);
	char *t = o ? json_dumps(o, a->json ? JSON_COMPACT : JSON_INDENT(2)) : NULL;
	json_decref(o);
	if (!t)
		return RK_ENOMEM;
	printf("%s\n", t);
	free(t);
	return RK_OK;
}

static int act_show(anon_state *as, store *st, review_args *a)
{
	rk_errctx ctx;
	(void)st;
	rk_errctx_clear(&ctx);
	if (anon_state_review_get(as, a->args[0], print_item, a, &ctx))
		return cli_fail(CMD, &ctx);
	return 0;
}

static int act_approve(anon_state *as, store *st, review_args *a)
{
	rk_errctx ctx;
	char why[RK_ERRCTX_MSG];
	bool approved = false;

	rk_errctx_clear(&ctx);
	if (anon_review_approve(as, st, a->args[0], &approved, why, sizeof why, &ctx))
		return cli_fail(CMD, &ctx);
	if (!approved) {
		cli_error(CMD, "%s: refused, so rejected: %s", a->args[0], why);
		return 1;
	}
	printf("approved %s\n", a->args[0]);
	return 0;
}

static int act_reject(anon_state *as, store *st, review_args *a)
{
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	if (anon_review_reject(as, st, a->args[0], a->reason, &ctx))
		return cli_fail(CMD, &ctx);
	printf("rejected %s\n", a->args[0]);
	return 0;
}

int cli_cmd_review(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"data", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'j'},
		{"all", no_argument, NULL, 'a'},        {"reason", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
	};
	review_args args = {0};
	bool help = false;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': help = true; break;
		case 'd': args.data = optarg; break;
		case 'j': args.json = true; break;
		case 'a': args.all = true; break;
		case 'r': args.reason = optarg; break;
		case ':': return usage_error(NULL, "option '%s' needs a value", argv[optind - 1]);
		default: return usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
		}
	}
	const review_action *act = NULL;
	for (size_t i = 0; optind < argc && i < RK_ARRAY_LEN(actions); i++)
		if (strcmp(actions[i].name, argv[optind]) == 0)
			act = &actions[i];
	if (help) {
		if (act)
			printf("usage: renkei review %s\n\n%s", act->usage, act->text);
		else
			print_usage(stdout);
		return 0;
	}
	if (optind >= argc)
		return usage_error(NULL, "expected an action (list, show, approve or reject)");
	if (!act)
		return usage_error(NULL, "%s: no such action", argv[optind]);
	args.args = argv + optind + 1;
	args.nargs = argc - optind - 1;
	if (args.nargs != act->nargs)
		return usage_error(act, "%s: expected %s", act->name,
				   act->nargs ? "one item id" : "no arguments");
	if (!args.data)
		return usage_error(act, "%s: --data DIR is required", act->name);
	if (args.all && act->run != act_list)
		return usage_error(act, "%s: option '--all' does not apply", act->name);
	if (args.reason && act->run != act_reject)
		return usage_error(act, "%s: option '--reason' does not apply", act->name);

	store *st = NULL;
	anon_state *as = NULL;
	rk_errctx ctx;
	int rc;
	rk_errctx_clear(&ctx);
	const char *dir = strncmp(args.data, "sqlite:", 7) == 0 ? args.data + 7 : args.data;
	if (access(dir, R_OK | W_OK | X_OK) != 0) {
		cli_error(CMD, "%s: not a hub data directory this user can write", dir);
		return 1;
	}
	if (store_open(args.data, &st, &ctx) || anon_state_open(args.data, &as, &ctx)) {
		rc = cli_fail(CMD, &ctx);
	} else {
		rc = act->run(as, st, &args);
	}
	anon_state_close(as);
	store_close(st);
	return rc;
}
