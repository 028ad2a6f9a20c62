/*
 * cli_federation.c: `renkei federation`, the operator's side of hub-to-hub
 * federation (src/federation, renkei-federation(1)).
 *
 *     key      print this hub's public key (making the key pair in the
 *              data directory on first use), for partners' files
 *     check    read and check a federation file against the directory
 *     status   per partner: last success, push backlog, errors, counts
 *     sync     run one push round to every partner (or --partner NAME)
 *              now, in this process, and print what was sent
 *
 * Nothing here serves requests; `sync --once` talks to partners exactly
 * as the hub's scheduler does, over the same cursors (federation.db), so
 * running it while the hub runs is safe: both move the same durable
 * cursors forward and the partner's store answers any page sent twice as
 * duplicates. Exit status: 0 success, 1 failure (a partner failed, a file
 * is wrong), 2 usage error.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "cli_int.h"
#include "directory.h"
#include "federation.h"
#include "store.h"

#define CMD "federation"

static const char usage_text[] =
	"key --data DIR\n"
	"       renkei federation check --data DIR --federation FILE\n"
	"       renkei federation status --data DIR --federation FILE [--json]\n"
	"       renkei federation sync --once --data DIR --federation FILE [--partner NAME]";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int rc = cli_usage_errorv(CMD, usage_text, fmt, ap);
	va_end(ap);
	return rc;
}

typedef struct fed_args {
	const char *action;
	const char *data;
	const char *file;
	const char *partner;
	bool json, once;
} fed_args;

static void print_help(void)
{
	printf("usage: renkei federation %s\n\n", usage_text);
	fputs("Hub-to-hub federation (see renkei-federation(1)).\n"
	      "  key     print this hub's Ed25519 public key (base64), making the key\n"
	      "          pair DIR/federation.key (mode 0600) when there is none\n"
	      "  check   read FILE and check it against the directory in DIR\n"
	      "  status  per partner: last success, push backlog (versions after the\n"
	      "          cursor that may go), errors and the last error, what was sent,\n"
	      "          held already, refused by the partner, received and rejected\n"
	      "  sync    --once: one push round to each partner now (--partner: one)\n"
	      "Exit status: 0 success, 1 failure, 2 usage error.\n",
	      stdout);
}

static int parse(int argc, char **argv, fed_args *a)
{
	static const struct option longopts[] = {
		{"data", required_argument, NULL, 'd'},
		{"federation", required_argument, NULL, 'f'},
		{"partner", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'j'},
		{"once", no_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof *a);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': a->data = optarg; break;
		case 'f': a->file = optarg; break;
		case 'p': a->partner = optarg; break;
		case 'j': a->json = true; break;
		case 'o': a->once = true; break;
		case 'h': print_help(); return 0;
		case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
		default: return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("an action is required (key, check, status, sync)");
	a->action = argv[optind++];
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!a->data)
		return usage_error("--data DIR is required");
	struct stat sb;
	if (stat(a->data, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		cli_error(CMD, "%s: no such data directory", a->data);
		return 2;
	}
	if (strcmp(a->action, "key") != 0 && !a->file)
		return usage_error("--federation FILE is required");
	if (!strcmp(a->action, "sync") && !a->once)
		return usage_error("sync needs --once (the hub's scheduler runs rounds on its own)");
	return -1;
}

static int act_key(const fed_args *a)
{
	fed_key k;
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	if (fed_key_load(a->data, true, &k, &ctx))
		return cli_fail(CMD, &ctx);
	printf("%s\n", k.pk_b64);
	return fflush(stdout) == 0 ? 0 : 1;
}

static void time_text(rk_time t, char out[RK_TIME_BUF])
{
	if (t)
		rk_time_format(t, 0, out);
	else
		snprintf(out, RK_TIME_BUF, "never");
}

static int act_status(const fed_args *a, store *st, const directory *dir, const fed_config *cfg)
{
	fed_state *fs = NULL;
	fed_key k;
	rk_errctx ctx;
	json_t *arr = a->json ? json_array() : NULL;
	int rc = 1;

	rk_errctx_clear(&ctx);
	if (fed_key_load(a->data, false, &k, &ctx) || fed_state_open(a->data, false, &fs, &ctx)) {
		rc = cli_fail(CMD, &ctx);
		goto out;
	}
	fed_hub h = {.st = st, .state = fs, .key = &k, .cfg = cfg};
	if (!a->json)
		printf("%-16s %-20s %10s %8s %10s %10s %10s  %s\n", "PARTNER", "LAST SUCCESS",
		       "BACKLOG", "ERRORS", "SENT", "RECEIVED", "REJECTED", "LAST ERROR");
	for (size_t i = 0; i < cfg->n_partners; i++) {
		const fed_partner *p = &cfg->partners[i];
		fed_status s;
		uint64_t backlog = 0;
		char when[RK_TIME_BUF];
		if (fed_status_get(fs, p->name, &s, &ctx) ||
		    (p->push && fed_push_backlog(&h, dir, p, UINT64_MAX, &backlog, &ctx))) {
			rc = cli_fail(CMD, &ctx);
			goto out;
		}
		time_text(s.last_success, when);
		if (a->json) {
			json_array_append_new(
				arr, json_pack("{sssssIsIsssIsIsIsIsIsIss}", "partner", p->name,
					       "last_success", when, "backlog", (json_int_t)backlog,
					       "errors", (json_int_t)s.errors, "last_error",
					       s.last_error, "sent", (json_int_t)s.sent, "deleted",
					       (json_int_t)s.deleted_sent, "held_already",
					       (json_int_t)s.held_already, "refused",
					       (json_int_t)s.refused_by_partner, "received",
					       (json_int_t)s.received, "rejected",
					       (json_int_t)s.rejected, "last_reject", s.last_reject));
		} else {
			printf("%-16s %-20s %10llu %8llu %10llu %10llu %10llu  %s\n", p->name, when,
			       (unsigned long long)backlog, (unsigned long long)s.errors,
			       (unsigned long long)s.sent, (unsigned long long)s.received,
			       (unsigned long long)s.rejected,
			       s.last_error[0] ? s.last_error : "-");
			if (s.last_reject[0])
				printf("%-16s last rejected: %s\n", "", s.last_reject);
		}
	}
	if (a->json) {
		char *text = rk_json_dump(arr);
		if (!text) {
			cli_error(CMD, "out of memory");
			goto out;
		}
		printf("%s\n", text);
		free(text);
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	json_decref(arr);
	fed_state_close(fs);
	return rc;
}

/* The CLI's audit records of what it sent, like the hub's. */
static void audit_sent(void *arg, const fed_partner *p, const char *method, const char *url,
		       const char *collection, const char *ids, int status)
{
	audit *au = arg;
	rk_errctx ctx;
	char outcome[128];

	snprintf(outcome, sizeof outcome, "sent to partner %s (renkei federation sync)", p->name);
	audit_record rec = {.at = rk_time_now(), .user = "federation", .org = p->org,
			    .method = method, .route = url, .collection = collection,
			    .ids = ids, .status = status, .outcome = outcome};
	rk_errctx_clear(&ctx);
	audit_append(au, &rec, false, &ctx);
}

static int act_sync(const fed_args *a, store *st, const directory *dir, const fed_config *cfg)
{
	fed_state *fs = NULL;
	audit *au = NULL;
	fed_key k;
	rk_errctx ctx;
	int rc = 0;

	rk_errctx_clear(&ctx);
	if (fed_key_load(a->data, true, &k, &ctx) || fed_state_open(a->data, false, &fs, &ctx) ||
	    audit_open(a->data, &(audit_options){0}, &au, &ctx)) {
		rc = cli_fail(CMD, &ctx);
		goto out;
	}
	if (a->partner && !fed_partner_named(cfg, a->partner)) {
		cli_error(CMD, "no partner '%s' in %s", a->partner, cfg->path);
		rc = 1;
		goto out;
	}
	fed_hub h = {.st = st, .state = fs, .key = &k, .cfg = cfg, .page = RK_FED_PAGE,
		     .audit_sent = audit_sent, .audit_arg = au};
	for (size_t i = 0; i < cfg->n_partners; i++) {
		const fed_partner *p = &cfg->partners[i];
		fed_round r;
		if ((a->partner && strcmp(a->partner, p->name)) || !p->push)
			continue;
		rk_errctx_clear(&ctx);
		if (fed_push_round(&h, dir, p, NULL, &r, &ctx)) {
			char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG];
			rk_errctx_format(&ctx, msg, sizeof msg);
			cli_error(CMD, "partner %s: %s", p->name, msg);
			rc = 1;
		}
		printf("%s: sent %llu, deleted %llu, held already %llu, refused %llu, "
		       "not for this partner %llu\n",
		       p->name, (unsigned long long)r.sent, (unsigned long long)r.deleted,
		       (unsigned long long)r.held, (unsigned long long)r.refused,
		       (unsigned long long)r.skipped);
	}
	if (fflush(stdout) != 0)
		rc = 1;
out:
	audit_close(au);
	fed_state_close(fs);
	return rc;
}

int cli_cmd_federation(int argc, char **argv)
{
	fed_args a;
	store *st = NULL;
	directory *dir = NULL;
	fed_config *cfg = NULL;
	rk_errctx ctx;
	int rc = parse(argc, argv, &a);

	if (rc >= 0)
		return rc;
	if (!strcmp(a.action, "key"))
		return act_key(&a);
	if (strcmp(a.action, "check") && strcmp(a.action, "status") && strcmp(a.action, "sync"))
		return usage_error("unknown action '%s' (key, check, status, sync)", a.action);
	rk_errctx_clear(&ctx);
	if (store_open(a.data, &st, &ctx) || dir_load(st, &dir, &ctx)) {
		rc = cli_fail(CMD, &ctx);
		goto out;
	}
	if (!dir) {
		cli_error(CMD, "%s: no directory stored (renkei admin apply first)", a.data);
		rc = 1;
		goto out;
	}
	if (fed_config_load(a.file, dir, &cfg, &ctx)) {
		rc = cli_fail(CMD, &ctx);
		goto out;
	}
	if (!strcmp(a.action, "check")) {
		printf("%s: %zu partner%s, ok\n", a.file, cfg->n_partners,
		       cfg->n_partners == 1 ? "" : "s");
		rc = 0;
	} else if (!strcmp(a.action, "status")) {
		rc = act_status(&a, st, dir, cfg);
	} else {
		rc = act_sync(&a, st, dir, cfg);
	}
out:
	fed_config_free(cfg);
	dir_free(dir);
	store_close(st);
	return rc;
}
