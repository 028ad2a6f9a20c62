/*
 * cli_notify.c: `renkei notify`, the operator's view of notifications
 * (src/notify) on a hub's data directory.
 *
 *   status [--org ORG] [--json]   per organisation and channel: total,
 *                                 queued, delivered, failed, acknowledged,
 *                                 last delivery, last error
 *   list --org ORG [--json]       the organisation's notifications
 *   ack --org ORG ID...           acknowledges on the organisation's behalf
 *   check --config FILE           checks a notification configuration file
 *                                 (and its organisations against the
 *                                 directory with --data)
 *
 * The hub makes and delivers notifications (its notification thread);
 * this command only reads notify.db and records acknowledgements, so it
 * may run while the hub does. Organisations acknowledge themselves over
 * POST /renkei/notify/<id>/ack/.
 *
 * Exit status: 0 success, 1 failure (an unknown notification, a refused
 * configuration), 2 usage error.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_int.h"
#include "directory.h"
#include "notify.h"
#include "store.h"

#define CMD "notify"

typedef struct notify_args {
	const char *data, *org, *by, *config;
	bool json;
	char **args;
	int nargs;
} notify_args;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: renkei notify status --data DIR [--org ORG] [--json]\n"
		"       renkei notify list --data DIR --org ORG [--json]\n"
		"       renkei notify ack --data DIR --org ORG [--by NAME] ID...\n"
		"       renkei notify check --config FILE [--data DIR]\n"
		"\n"
		"status shows, per organisation and channel (collection, webhook, email),\n"
		"how many notifications were made, are queued, delivered, failed and\n"
		"acknowledged, with the last delivery and the last error. See\n"
		"renkei-notify(1). Exits 0 on success, 1 on failure, 2 on a usage error.\n");
}

static rk_err status_row(void *arg, const notify_status_row *s)
{
	json_t *arr = arg;
	char at[RK_TIME_BUF] = "-";
	if (s->last_delivered)
		rk_time_format(s->last_delivered, 0, at);
	if (arr) {
		json_t *o = json_pack("{ss ss sI sI sI sI sI ss ss}", "organization", s->org, "channel",
				      s->channel, "total", (json_int_t)s->total, "queued",
				      (json_int_t)s->queued, "delivered", (json_int_t)s->delivered,
				      "failed", (json_int_t)s->failed, "acknowledged",
				      (json_int_t)s->acknowledged, "last_delivered",
				      s->last_delivered ? at : "", "last_error", s->last_error);
		return o && !json_array_append_new(arr, o) ? RK_OK : RK_ENOMEM;
	}
	printf("%s\t%s\t%llu\t%llu\t%llu\t%llu\t%llu\t%s\t%s\n", s->org, s->channel,
	       (unsigned long long)s->total, (unsigned long long)s->queued,
	       (unsigned long long)s->delivered, (unsigned long long)s->failed,
	       (unsigned long long)s->acknowledged, at, s->last_error[0] ? s->last_error : "-");
	return RK_OK;
}

static rk_err list_row(void *arg, const notify_record *n)
{
	json_t *arr = arg;
	char at[RK_TIME_BUF];
	rk_time_format(n->created, 0, at);
	if (arr) {
		json_t *o = json_pack("{sI ss ss ss ss ss ss ss sb}", "id", (json_int_t)n->id,
				      "created", at, "object_id", n->object_id, "object_version",
				      n->object_version, "collection", n->collection, "asset",
				      n->asset, "observable_type", n->obs_kind, "observable",
				      n->obs_value, "acknowledged", n->acked_at != 0);
		return o && !json_array_append_new(arr, o) ? RK_OK : RK_ENOMEM;
	}
	printf("%lld\t%s\t%s\t%s\t%s\t%s %s\t%s\n", (long long)n->id, at, n->object_id,
	       n->object_version, n->asset, n->obs_kind, n->obs_value,
	       n->acked_at ? n->acked_by : "-");
	return RK_OK;
}

static int print_json(json_t *arr)
{
	char *text = rk_json_dump(arr);
	json_decref(arr);
	if (!text)
		return 1;
	printf("%s\n", text);
	free(text);
	return 0;
}

static int act_status(notify_args *a, notify_db *db)
{
	rk_errctx ctx;
	json_t *arr = a->json ? json_array() : NULL;
	rk_errctx_clear(&ctx);
	if (!a->json)
		printf("ORG\tCHANNEL\tTOTAL\tQUEUED\tDELIVERED\tFAILED\tACKNOWLEDGED\tLAST_DELIVERED\t"
		       "LAST_ERROR\n");
	if (notify_status(db, a->org, status_row, arr, &ctx)) {
		cli_fail(CMD, &ctx);
		json_decref(arr);
		return 1;
	}
	return a->json ? print_json(arr) : 0;
}

static int act_list(notify_args *a, notify_db *db)
{
	rk_errctx ctx;
	json_t *arr = a->json ? json_array() : NULL;
	rk_errctx_clear(&ctx);
	if (!a->org)
		return cli_usage_error(CMD, "list needs --org ORG");
	if (!a->json)
		printf("ID\tCREATED\tOBJECT\tVERSION\tASSET\tOBSERVABLE\tACKNOWLEDGED_BY\n");
	if (notify_list(db, a->org, 0, (size_t)INT64_MAX, list_row, arr, &ctx)) {
		cli_fail(CMD, &ctx);
		json_decref(arr);
		return 1;
	}
	return a->json ? print_json(arr) : 0;
}

static int act_ack(notify_args *a, notify_db *db)
{
	int rc = 0;
	if (!a->org)
		return cli_usage_error(CMD, "ack needs --org ORG");
	for (int i = 0; i < a->nargs; i++) {
		char *end = NULL;
		long long id = strtoll(a->args[i], &end, 10);
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		if (!*a->args[i] || *end || id <= 0) {
			cli_error(CMD, "'%s' is not a notification id", a->args[i]);
			rc = 1;
			continue;
		}
		if (notify_ack(db, a->org, id, a->by, &ctx)) {
			rc = cli_fail(CMD, &ctx);
			continue;
		}
		printf("%lld\tacknowledged\n", id);
	}
	return rc;
}

static int act_check(notify_args *a)
{
	notify_config c;
	rk_errctx ctx;
	store *st = NULL;
	directory *dir = NULL;
	int rc = 1;
	notify_config_init(&c);
	rk_errctx_clear(&ctx);
	if (notify_config_load(&c, a->config, &ctx))
		goto fail;
	if (a->data && (store_open(a->data, &st, &ctx) || dir_load(st, &dir, &ctx) ||
			notify_config_check_orgs(&c, dir, &ctx)))
		goto fail;
	printf("%s: %zu organisation%s configured\n", a->config, c.n_orgs, c.n_orgs == 1 ? "" : "s");
	rc = 0;
	goto out;
fail:
	cli_fail(CMD, &ctx);
out:
	dir_free(dir);
	store_close(st);
	notify_config_cleanup(&c);
	return rc;
}

int cli_cmd_notify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"data", required_argument, NULL, 'd'},   {"org", required_argument, NULL, 'o'},
		{"by", required_argument, NULL, 'b'},     {"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	notify_args a = {0};
	notify_db *db = NULL;
	rk_errctx ctx;
	int c, rc;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
			  strcmp(argv[1], "help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 2)
		return cli_usage_error(CMD, "an action is required (status, list, ack, check)");
	const char *action = argv[1];
	if (strcmp(action, "status") && strcmp(action, "list") && strcmp(action, "ack") &&
	    strcmp(action, "check"))
		return cli_usage_error(CMD, "unknown action '%s'", action);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': a.data = optarg; break;
		case 'o': a.org = optarg; break;
		case 'b': a.by = optarg; break;
		case 'c': a.config = optarg; break;
		case 'j': a.json = true; break;
		case 'h': usage(stdout); return 0;
		case ':': return cli_usage_error(CMD, "option '%s' needs a value", argv[optind]);
		default: return cli_usage_error(CMD, "unknown option '%s'", argv[optind]);
		}
	}
	a.args = argv + 1 + optind;
	a.nargs = argc - 1 - optind;
	if (strcmp(action, "ack") == 0 && a.nargs < 1)
		return cli_usage_error(CMD, "ack needs notification ids");
	if (strcmp(action, "ack") != 0 && a.nargs > 0)
		return cli_usage_error(CMD, "unexpected argument '%s'", a.args[0]);
	if (strcmp(action, "check") == 0) {
		if (!a.config)
			return cli_usage_error(CMD, "check needs --config FILE");
		return act_check(&a);
	}
	if (!a.data)
		return cli_usage_error(CMD, "--data DIR is required");
	struct stat sb;
	if (stat(a.data, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		cli_error(CMD, "%s: no such data directory", a.data);
		return 2;
	}
	if (!a.by) {
		const char *u = getenv("USER");
		a.by = u && *u ? u : "operator";
	}
	rk_errctx_clear(&ctx);
	if (notify_db_open(a.data, &db, &ctx)) {
		return cli_fail(CMD, &ctx);
	}
	if (strcmp(action, "status") == 0)
		rc = act_status(&a, db);
	else if (strcmp(action, "list") == 0)
		rc = act_list(&a, db);
	else
		rc = act_ack(&a, db);
	notify_db_close(db);
	return rc;
}
