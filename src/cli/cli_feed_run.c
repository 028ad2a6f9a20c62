/*
 * cli_feed_run.c: `renkei feed run` and `renkei feed status`, the feeds of
 * a schedule file (src/feeds/feeds_schedule.c) imported into a hub on
 * their intervals, and what their last runs left.
 *
 * `feed run` is a long-running process beside the hub (a systemd unit or
 * a container of its own): it reads the schedule whole (an error in it
 * stops it before anything runs), then runs each feed when it is due
 * (feeds_job_due: its interval after the last run, sooner after a failure
 * with a back-off that doubles) one at a time, sleeping in between. A feed
 * that fails does not stop the others. SIGHUP reads the schedule again
 * (a schedule with an error is reported and the old one kept); SIGTERM and
 * SIGINT stop it after the run in progress. With --once every feed (or
 * the --feed ones) runs once, due or not, and it exits: 0 when every run
 * worked, 1 when any failed, 2 for usage errors.
 *
 * Everything a run decides lives in the feeds module; this file is the
 * loop, the signals and the printing.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_int.h"
#include "feeds.h"

#define FEED_RUN_MAX_SELECTED 64

static const char run_usage[] =
	"usage: renkei feed run --config FILE [--once] [--feed NAME ...]\n"
	"       renkei feed status --config FILE [--json]\n"
	"\n"
	"run imports the feeds of the schedule FILE into the hub it names, each\n"
	"every `interval`, until SIGTERM or SIGINT; SIGHUP reads FILE again.\n"
	"--once runs every feed (or each --feed NAME) once and exits. status\n"
	"prints each feed's last run: when, how it ended, what it imported,\n"
	"and when it runs next. The schedule file is described in\n"
	"renkei-feed(1). Exits 0, 1 when a run failed or FILE is wrong, 2 for\n"
	"usage errors.\n";

enum { OPT_CONFIG = CLI_OPT_FIRST_FREE, OPT_ONCE, OPT_FEED, OPT_JSON, OPT_HELP };

typedef struct run_opts {
	const char *config;
	bool once, json;
	const char *selected[FEED_RUN_MAX_SELECTED];
	size_t n_selected;
} run_opts;

static int parse(int argc, char **argv, const char *action, run_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "feed", required_argument, NULL, OPT_FEED },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	bool is_run = strcmp(action, "run") == 0;
	int c;

	memset(o, 0, sizeof *o);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG: o->config = optarg; break;
		case OPT_ONCE:
			if (!is_run)
				return cli_usage_error("feed", "--once goes with feed run");
			o->once = true;
			break;
		case OPT_FEED:
			if (o->n_selected == FEED_RUN_MAX_SELECTED)
				return cli_usage_error("feed", "at most %d --feed", FEED_RUN_MAX_SELECTED);
			o->selected[o->n_selected++] = optarg;
			break;
		case OPT_JSON:
			if (is_run)
				return cli_usage_error("feed", "--json goes with feed status");
			o->json = true;
			break;
		case OPT_HELP: fputs(run_usage, stdout); return 0;
		default:
			return cli_usage_error("feed", "%s: unknown option or missing value",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("feed", "%s: unexpected argument", argv[optind]);
	if (!o->config)
		return cli_usage_error("feed", "--config FILE is required");
	return -1;
}

/* Loads the schedule and checks every --feed names one of its feeds. */
static rk_err load(const run_opts *o, feeds_schedule **out, rk_errctx *ctx)
{
	rk_err err = feeds_schedule_load(o->config, out, ctx);
	if (err)
		return err;
	for (size_t i = 0; i < o->n_selected; i++)
		if (!feeds_schedule_find(*out, o->selected[i])) {
			feeds_schedule_free(*out);
			*out = NULL;
			return rk_fail(ctx, RK_ENOTFOUND, o->config, "no feed named '%s'",
				       o->selected[i]);
		}
	return RK_OK;
}

static bool selected(const run_opts *o, const feeds_job *j)
{
	if (!o->n_selected)
		return true;
	for (size_t i = 0; i < o->n_selected; i++)
		if (strcmp(o->selected[i], j->name) == 0)
			return true;
	return false;
}

static rk_err warnlists_of(const feeds_schedule *s, feeds_warnlists **out, rk_errctx *ctx)
{
	rk_err err = feeds_warn_new(s->builtin_warninglists, out, ctx);
	for (size_t i = 0; !err && i < s->n_warninglists; i++)
		err = feeds_warn_load(*out, s->warninglists[i], ctx);
	if (err) {
		feeds_warn_free(*out);
		*out = NULL;
	}
	return err;
}

/* Runs one feed, printing what it did; false when the run failed. */
static bool run_one(const feeds_schedule *s, const feeds_job *j, const feeds_warnlists *warn)
{
	feeds_job_status st;
	char when[RK_TIME_BUF];
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	rk_time_format(rk_time_now(), 0, when);
	printf("%s feed %s: running\n", when, j->name);
	fflush(stdout);
	rk_err err = feeds_job_run(s, j, warn, stdout, &st, &ctx);
	if (err) {
		char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
		rk_errctx_format(&ctx, msg, sizeof msg);
		printf("feed %s: failed (%u in a row): %s\n", j->name, st.failures, msg);
	}
	fflush(stdout);
	return !err;
}

static int feed_run(const run_opts *o)
{
	feeds_schedule *s = NULL;
	feeds_warnlists *warn = NULL;
	sigset_t set, old;
	rk_errctx ctx;
	int rc = 0;

	rk_errctx_clear(&ctx);
	if (load(o, &s, &ctx) || warnlists_of(s, &warn, &ctx)) {
		feeds_schedule_free(s);
		return cli_fail("feed", &ctx);
	}
	if (o->once) {
		for (size_t i = 0; i < s->n_jobs; i++)
			if (selected(o, &s->jobs[i]) && !run_one(s, &s->jobs[i], warn))
				rc = 1;
		goto out;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	for (;;) {
		rk_time now = rk_time_now(), next = 0;
		for (size_t i = 0; i < s->n_jobs; i++) {
			const feeds_job *j = &s->jobs[i];
			feeds_job_status st;
			rk_errctx_clear(&ctx);
			if (!selected(o, j))
				continue;
			if (feeds_job_status_load(s, j, &st, &ctx)) {
				cli_fail("feed", &ctx);
				continue;
			}
			rk_time due = feeds_job_due(j, &st);
			if (due <= now) {
				run_one(s, j, warn);
				feeds_job_status_load(s, j, &st, &ctx);
				due = feeds_job_due(j, &st);
			}
			if (!next || due < next)
				next = due;
		}
		rk_time wait = next - rk_time_now();
		if (wait < 1000000)
			wait = 1000000;
		struct timespec ts = { .tv_sec = (time_t)(wait / 1000000),
				       .tv_nsec = (long)(wait % 1000000) * 1000 };
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP) {
			feeds_schedule *fresh = NULL;
			feeds_warnlists *fresh_warn = NULL;
			rk_errctx_clear(&ctx);
			if (load(o, &fresh, &ctx) || warnlists_of(fresh, &fresh_warn, &ctx)) {
				feeds_schedule_free(fresh);
				cli_fail("feed", &ctx);
				cli_error("feed", "the schedule in force is kept");
				continue;
			}
			feeds_schedule_free(s);
			feeds_warn_free(warn);
			s = fresh;
			warn = fresh_warn;
			printf("schedule read again: %zu feeds\n", s->n_jobs);
			fflush(stdout);
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
out:
	feeds_warn_free(warn);
	feeds_schedule_free(s);
	return rc;
}

static int feed_status(const run_opts *o)
{
	feeds_schedule *s = NULL;
	json_t *all = NULL;
	rk_errctx ctx;
	int rc = 0;

	rk_errctx_clear(&ctx);
	if (load(o, &s, &ctx))
		return cli_fail("feed", &ctx);
	if (o->json && !(all = json_array())) {
		feeds_schedule_free(s);
		return 1;
	}
	if (!o->json)
		printf("%-24s %-9s %-8s %-20s %-20s %8s %9s %8s  %s\n", "FEED", "FORMAT", "EVERY",
		       "LAST SUCCESS", "NEXT RUN", "FAILURES", "IMPORTED", "REJECTED", "LAST ERROR");
	for (size_t i = 0; i < s->n_jobs; i++) {
		const feeds_job *j = &s->jobs[i];
		feeds_job_status st;
		char success[RK_TIME_BUF] = "never", next[RK_TIME_BUF] = "now";
		if (!selected(o, j))
			continue;
		if (feeds_job_status_load(s, j, &st, &ctx)) {
			rc = cli_fail("feed", &ctx);
			break;
		}
		rk_time due = feeds_job_due(j, &st);
		if (st.last_success)
			rk_time_format(st.last_success, 0, success);
		if (due > rk_time_now())
			rk_time_format(due, 0, next);
		if (o->json) {
			json_t *row = json_pack(
				"{sssssIsssssIsIsIsIss}", "feed", j->name, "format", feeds_format_name(j->format),
				"interval", (json_int_t)j->interval, "last_success",
				st.last_success ? success : "", "next_run", next, "failures",
				(json_int_t)st.failures, "imported", (json_int_t)st.counts.imported,
				"rejected", (json_int_t)st.counts.rejected, "delivered",
				(json_int_t)st.delivered.succeeded, "last_error", st.last_error);
			if (!row || json_array_append_new(all, row)) {
				rc = 1;
				break;
			}
			continue;
		}
		printf("%-24s %-9s %7us %-20s %-20s %8u %9llu %8llu  %s\n", j->name,
		       feeds_format_name(j->format), j->interval, success, next, st.failures,
		       (unsigned long long)st.counts.imported,
		       (unsigned long long)st.counts.rejected, st.last_error[0] ? st.last_error : "-");
	}
	if (o->json && !rc) {
		char *text = json_dumps(all, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		if (text)
			puts(text);
		free(text);
	}
	json_decref(all);
	feeds_schedule_free(s);
	return rc;
}

int cli_feed_run(int argc, char **argv)
{
	run_opts o;
	int rc = parse(argc, argv, argv[0], &o);

	if (rc >= 0)
		return rc;
	return strcmp(argv[0], "run") == 0 ? feed_run(&o) : feed_status(&o);
}
