/*
 * cli_sensor.c: `renkei sensor`, the sensor engine (src/sensor/) from the
 * command line.
 *
 *   renkei sensor --indicators FILE --input FORMAT:PATH [--input ...]
 *                 [--alerts PATH] [--threads N] [--stats] [--follow]
 *                 [--hub URL --token-file F --collection ID --identity ID
 *                  [--root NAME] [--spool DIR] [--sighting-interval S]
 *                  [--poll S] [--cacert F] [--insecure]]
 *
 * With --hub the indicators come from a hub's collection (--indicators
 * then optional; both may be given): the uplink (cli_uplink.c, src/uplink)
 * replays what earlier runs pulled, polls the hub once before the inputs
 * start, then every --poll seconds on its own thread, applying each object
 * to the indicator set and swapping in a new matcher when something
 * changed. Every hit is also counted for a sighting of its indicator;
 * sightings are posted to the same collection every --sighting-interval
 * seconds, through a spool in --spool that keeps them while the hub is
 * away. On exit the current interval is closed and delivery attempted
 * once; what the hub did not take stays in the spool for the next run.
 *
 * Loads the STIX indicators of FILE (bad objects are reported with their
 * index and id, and skipped; patterns that do not compile are reported
 * with the indicator id, and skipped), compiles them into one matcher and
 * sweeps every input with it, writing one JSON line per hit to --alerts
 * (default standard output). Offline inputs (files, standard input) end
 * the run when they end; live ones (interfaces, --follow'ed logs) run
 * until SIGINT or SIGTERM, after which what was read is still matched.
 * SIGHUP reloads FILE and swaps the matcher without pausing the inputs
 * (reload_file: the file replaces the set, or goes on top of a hub's).
 *
 * Bad packets and lines are counted and the first CLI_SENSOR_MAX_ERRS of
 * them printed with their file and packet or line number; --stats prints
 * the totals and every kind of error with its last position at the end.
 * Exit status: 0 when every input was read to its end (or until stopped),
 * 1 when an input or the indicator file could not be read, 2 for usage.
 */
#include <getopt.h>
#include <inttypes.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli_int.h"
#include "sensor.h"

#define CLI_SENSOR_MAX_ERRS 20
#define CLI_SENSOR_MAX_INPUTS 64

typedef struct sensor_opts {
	const char *indicators;
	cli_uplink_opts up;
	bool hub;
	const char *alerts;
	sensor_input inputs[CLI_SENSOR_MAX_INPUTS];
	size_t n_inputs;
	sensor_config cfg;
	bool stats;
	bool progress;
} sensor_opts;

/* What the signal handler may touch. */
static sensor *volatile running;
static atomic_int reload_wanted;
static sem_t reload_wake; /* posted on SIGHUP and at the end (sem_post is signal-safe) */

static void on_signal(int sig)
{
	if (sig == SIGHUP) {
		atomic_store(&reload_wanted, 1);
		sem_post(&reload_wake);
		return;
	}
	sensor *s = running;
	if (s)
		sensor_stop(s);
}

typedef struct err_printer {
	pthread_mutex_t mu;
	unsigned printed;
} err_printer;

static void print_input_error(const char *input, bool packet, uint64_t number, const char *why,
			      void *arg)
{
	err_printer *p = arg;
	pthread_mutex_lock(&p->mu);
	if (p->printed < CLI_SENSOR_MAX_ERRS) {
		if (packet)
			cli_error("sensor", "%s: packet %" PRIu64 ": %s", input, number, why);
		else
			cli_error("sensor", "%s:%" PRIu64 ": %s", input, number, why);
	} else if (p->printed == CLI_SENSOR_MAX_ERRS) {
		cli_error("sensor", "further input errors are only counted (see --stats)");
	}
	p->printed++;
	pthread_mutex_unlock(&p->mu);
}

static void print_bad_object(void *arg, size_t index, const char *id, const rk_errctx *why)
{
	const char *file = arg;
	char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
	rk_errctx_format(why, msg, sizeof msg);
	cli_error("sensor", "%s: objects[%zu]%s%s%s: %s, skipped", file, index, *id ? " (" : "", id,
		  *id ? ")" : "", msg);
}

static void print_reject(void *arg, uint32_t handle, const char *id, const char *reason)
{
	(void)arg;
	(void)handle;
	cli_error("sensor", "indicator %s skipped: %s", id, reason);
}

/* Loads the indicator file into intel and builds a matcher from it. */
static int load_matcher(sensor_intel *intel, const char *file, match **out)
{
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	if (sensor_intel_load_bundle(intel, file, print_bad_object, (void *)file, NULL, &ctx) != RK_OK) {
		char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
		rk_errctx_format(&ctx, msg, sizeof msg);
		cli_error("sensor", "%s", msg);
		return 1;
	}
	if (sensor_intel_build(intel, rk_time_now(), print_reject, NULL, out, &ctx) != RK_OK) {
		cli_error("sensor", "%s: %s", file, ctx.msg[0] ? ctx.msg : rk_strerror(ctx.code));
		return 1;
	}
	return 0;
}

/* SIGHUP: the indicator file again, then a swap. Runs on its own thread
 * so the inputs never wait for a rebuild; it sleeps on reload_wake, so
 * the end of a sweep never waits for it either. Without a hub the file is
 * the whole set: it is read into a fresh set, which replaces the old one
 * once it has loaded and built, so an indicator deleted from the file is
 * gone and a broken file changes nothing. With a hub the set also holds
 * the feed's indicators, so the file is applied on top (newer versions and
 * revocations take effect; deleting needs a revocation). */
typedef struct reloader {
	sensor *s;
	sensor_intel *intel;
	const char *file;
	bool on_top; /* a hub feeds the same set */
	atomic_int done;
} reloader;

static void reload_file(reloader *r)
{
	match *m = NULL;
	if (r->on_top) {
		if (load_matcher(r->intel, r->file, &m) != 0)
			return;
	} else {
		sensor_intel *fresh = sensor_intel_new();
		if (!fresh) {
			cli_error("sensor", "%s: out of memory reloading", r->file);
			return;
		}
		if (load_matcher(fresh, r->file, &m) != 0) {
			sensor_intel_free(fresh);
			return;
		}
		sensor_intel_replace(r->intel, fresh);
		sensor_intel_free(fresh); /* the old contents */
	}
	sensor_swap(r->s, m);
	cli_error("sensor", "%s: indicators reloaded", r->file);
}

static void *reload_main(void *arg)
{
	reloader *r = arg;
	while (!atomic_load(&r->done)) {
		if (sem_wait(&reload_wake) != 0 && errno != EINTR)
			break;
		if (!atomic_load(&r->done) && atomic_exchange(&reload_wanted, 0))
			reload_file(r);
	}
	return NULL;
}

/* --progress: every PROGRESS_EVERY_S seconds one line on standard error,
 * how much input is matched, how fast, and (when every input is a regular
 * file) what share of it; a thread of its own that sleeps on a semaphore
 * posted when the sweep ends, so it never delays the end. */
#define PROGRESS_EVERY_S 2

typedef struct progress {
	sensor *s;
	sensor_alerts *alerts;
	uint64_t total; /* bytes of the input files; 0 when unknown */
	sem_t end;
} progress;

/* The size of every input when all are regular files, else 0. */
static uint64_t inputs_size(const sensor_opts *o)
{
	uint64_t total = 0;
	for (size_t i = 0; i < o->n_inputs; i++) {
		struct stat sb;
		if (o->cfg.follow || o->inputs[i].kind == SENSOR_IN_IFACE ||
		    strcmp(o->inputs[i].path, "-") == 0 || stat(o->inputs[i].path, &sb) != 0 ||
		    !S_ISREG(sb.st_mode))
			return 0;
		total += (uint64_t)sb.st_size;
	}
	return total;
}

static void *progress_main(void *arg)
{
	progress *p = arg;
	rk_time start = rk_time_now();
	for (;;) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += PROGRESS_EVERY_S;
		if (sem_timedwait(&p->end, &until) == 0)
			return NULL;
		if (errno != ETIMEDOUT)
			continue;
		double done = (double)sensor_bytes_done(p->s);
		double secs = (double)(rk_time_now() - start) / 1e6;
		char share[48] = "";
		/* capture files also hold headers, so a pcap never shows 100% */
		if (p->total)
			snprintf(share, sizeof share, " of %.1f MB (%.0f%%)", (double)p->total / 1e6,
				 done * 100 / (double)p->total);
		fprintf(stderr, "sensor: %.1f MB%s matched, %.0f MB/s, %" PRIu64 " alerts\n",
			done / 1e6, share, secs > 0 ? done / 1e6 / secs : 0.0,
			sensor_alerts_written(p->alerts));
	}
}

/* ---------------------------------------------------------------- uplink */

/* The uplink's callbacks: objects from the hub into the indicator set, a
 * rebuild after a poll changed it, hits counted for sightings. */
typedef struct hub_glue {
	sensor_intel *intel;
	sensor *s;           /* NULL until the engine exists */
	cli_uplink *up;
	atomic_ullong bad;   /* objects from the hub the set refused */
} hub_glue;

static rk_err apply_from_hub(void *arg, json_t *obj)
{
	hub_glue *g = arg;
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	rk_err err = sensor_intel_apply(g->intel, obj, NULL, &ctx);
	if (err == RK_ENOMEM)
		return err;
	if (err) {
		/* A bad indicator is the hub's business: said once, skipped. */
		const char *id = json_string_value(json_object_get(obj, "id"));
		if (atomic_fetch_add(&g->bad, 1) < CLI_SENSOR_MAX_ERRS)
			cli_error("sensor", "indicator %s from the hub skipped: %s%s%s",
				  id ? id : "(no id)", ctx.path, ctx.path[0] ? ": " : "", ctx.msg);
	}
	return RK_OK;
}

static void rebuild_from_hub(void *arg)
{
	hub_glue *g = arg;
	match *m = NULL;
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	if (!g->s)
		return;
	if (sensor_intel_build(g->intel, rk_time_now(), print_reject, NULL, &m, &ctx) != RK_OK) {
		cli_error("sensor", "rebuilding the indicators from the hub: %s",
			  ctx.msg[0] ? ctx.msg : rk_strerror(ctx.code));
		return;
	}
	sensor_swap(g->s, m);
}

static void sighting_hit(const sensor_hit *hit, void *arg)
{
	hub_glue *g = arg;
	sensor_indicator_info info;
	const char *marks[SENSOR_MARKINGS_MAX];
	size_t n = 0;

	if (sensor_intel_lookup(g->intel, hit->indicator_id, &info))
		for (; n < info.n_markings; n++)
			marks[n] = info.markings[n];
	cli_uplink_hit(g->up, hit->indicator_id, marks, n, hit->time);
}

/* "S" seconds, 0.001 to a day. */
static bool parse_seconds(const char *arg, double *out)
{
	char *end;
	double v = strtod(arg, &end);
	if (!*arg || *end || !(v >= 0.001 && v <= 86400))
		return false;
	*out = v;
	return true;
}

static int parse_options(int argc, char **argv, sensor_opts *o)
{
	enum { OPT_INDICATORS = CLI_OPT_FIRST_FREE, OPT_INPUT, OPT_ALERTS, OPT_THREADS, OPT_STATS,
	       OPT_FOLLOW, OPT_HUB, OPT_TOKEN_FILE, OPT_COLLECTION, OPT_IDENTITY, OPT_SPOOL,
	       OPT_INTERVAL, OPT_POLL, OPT_PROGRESS };
	static const struct option longopts[] = {
		{"hub", required_argument, NULL, OPT_HUB},
		{"token-file", required_argument, NULL, OPT_TOKEN_FILE},
		{"collection", required_argument, NULL, OPT_COLLECTION},
		{"identity", required_argument, NULL, OPT_IDENTITY},
		{"spool", required_argument, NULL, OPT_SPOOL},
		{"sighting-interval", required_argument, NULL, OPT_INTERVAL},
		{"poll", required_argument, NULL, OPT_POLL},
		{"root", required_argument, NULL, CLI_OPT_ROOT},
		{"cacert", required_argument, NULL, CLI_OPT_CACERT},
		{"insecure", no_argument, NULL, CLI_OPT_INSECURE},
		{"indicators", required_argument, NULL, OPT_INDICATORS},
		{"input", required_argument, NULL, OPT_INPUT},
		{"alerts", required_argument, NULL, OPT_ALERTS},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"stats", no_argument, NULL, OPT_STATS},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"follow", no_argument, NULL, OPT_FOLLOW},
		{NULL, 0, NULL, 0},
	};
	rk_errctx ctx;
	char *end;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_INDICATORS:
			o->indicators = optarg;
			break;
		case OPT_HUB:
			o->up.url = optarg;
			o->hub = true;
			break;
		case OPT_TOKEN_FILE: o->up.token_file = optarg; break;
		case OPT_COLLECTION: o->up.collection = optarg; break;
		case OPT_IDENTITY: o->up.identity = optarg; break;
		case OPT_SPOOL: o->up.spool_dir = optarg; break;
		case CLI_OPT_ROOT: o->up.root = optarg; break;
		case CLI_OPT_CACERT: o->up.cacert = optarg; break;
		case CLI_OPT_INSECURE: o->up.insecure = true; break;
		case OPT_INTERVAL:
			if (!parse_seconds(optarg, &o->up.interval_seconds))
				return cli_usage_error("sensor", "--sighting-interval: expected "
						       "seconds, 0.001 to 86400");
			break;
		case OPT_POLL:
			if (!parse_seconds(optarg, &o->up.poll_seconds))
				return cli_usage_error("sensor", "--poll: expected seconds, 0.001 "
						       "to 86400");
			break;
		case OPT_INPUT:
			if (o->n_inputs == CLI_SENSOR_MAX_INPUTS)
				return cli_usage_error("sensor", "more than %d inputs",
						       CLI_SENSOR_MAX_INPUTS);
			rk_errctx_clear(&ctx);
			if (sensor_input_parse(optarg, &o->inputs[o->n_inputs], &ctx) != RK_OK)
				return cli_usage_error("sensor", "--input %s: %s", optarg, ctx.msg);
			o->n_inputs++;
			break;
		case OPT_ALERTS:
			o->alerts = optarg;
			break;
		case OPT_THREADS: {
			unsigned long n = strtoul(optarg, &end, 10);
			if (!*optarg || *end || n < 1 || n > 256)
				return cli_usage_error("sensor", "--threads: expected 1 to 256");
			o->cfg.threads = (unsigned)n;
			break;
		}
		case OPT_STATS:
			o->stats = true;
			break;
		case OPT_FOLLOW:
			o->cfg.follow = true;
			break;
		case OPT_PROGRESS:
			o->progress = true;
			break;
		default:
			return cli_usage_error("sensor", "%s: unknown option or missing value",
					       argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage_error("sensor", "%s: unexpected argument", argv[optind]);
	if (!o->indicators && !o->hub)
		return cli_usage_error("sensor", "--indicators FILE is required (or --hub URL)");
	if (o->hub && (!o->up.token_file || !o->up.collection || !o->up.identity))
		return cli_usage_error("sensor", "--hub needs --token-file, --collection and "
				       "--identity");
	if (!o->hub && (o->up.token_file || o->up.collection || o->up.identity ||
			o->up.spool_dir || o->up.poll_seconds > 0 || o->up.interval_seconds > 0))
		return cli_usage_error("sensor", "--token-file, --collection, --identity, --spool, "
				       "--poll and --sighting-interval go with --hub");
	if (o->n_inputs == 0)
		return cli_usage_error("sensor", "at least one --input FORMAT:PATH is required");
	return 0;
}

int cli_cmd_sensor(int argc, char **argv)
{
	sensor_opts o = {.alerts = "-"};
	sensor_intel *intel = NULL;
	sensor_alerts *alerts = NULL;
	sensor *s = NULL;
	match *m = NULL;
	err_printer printer = {.printed = 0};
	reloader rl = {0};
	hub_glue glue = {0};
	pthread_t rl_thread;
	bool rl_started = false;
	rk_errctx ctx;
	int rc;

	if ((rc = parse_options(argc, argv, &o)) != 0)
		return rc;
	rc = 1;
	pthread_mutex_init(&printer.mu, NULL);
	sem_init(&reload_wake, 0, 0);
	rk_errctx_clear(&ctx);
	if (!(intel = sensor_intel_new())) {
		cli_error("sensor", "out of memory");
		goto out;
	}
	glue.intel = intel;
	rk_time t_load = rk_time_now();
	if (o.hub) {
		/* What earlier runs pulled, then the hub's news, before the
		 * first matcher is built. */
		if (cli_uplink_open(&o.up, apply_from_hub, &glue, &glue.up, &ctx) != RK_OK) {
			char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
			rk_errctx_format(&ctx, msg, sizeof msg);
			cli_error("sensor", "%s", msg);
			goto out;
		}
	}
	if (o.indicators) {
		/* nothing else runs yet: the file may take both cores; a
		 * reload (SIGHUP) reads with one, beside the workers */
		sensor_intel_set_load_threads(intel, 2);
		int failed = load_matcher(intel, o.indicators, &m);
		sensor_intel_set_load_threads(intel, 1);
		if (failed)
			goto out;
	} else if (sensor_intel_build(intel, rk_time_now(), print_reject, NULL, &m, &ctx) != RK_OK) {
		cli_error("sensor", "building the indicators: %s",
			  ctx.msg[0] ? ctx.msg : rk_strerror(ctx.code));
		goto out;
	}
	rk_time t_start = rk_time_now();
	match_stats ms;
	match_get_stats(m, &ms); /* m belongs to the sensor from here on */
	if (sensor_alerts_open(o.alerts, intel, &alerts, &ctx) != RK_OK) {
		cli_error("sensor", "%s: %s", ctx.path, ctx.msg);
		goto out;
	}
	o.cfg.on_err = print_input_error;
	o.cfg.err_arg = &printer;
	if (!(s = sensor_new(&o.cfg, m))) {
		match_free(m);
		cli_error("sensor", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < o.n_inputs; i++)
		if (sensor_add_input(s, &o.inputs[i], &ctx) != RK_OK) {
			cli_error("sensor", "%s: %s", ctx.path, ctx.msg);
			goto out;
		}
	sensor_add_sink(s, sensor_alerts_hit, alerts);
	if (glue.up)
		sensor_add_sink(s, sighting_hit, &glue);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	running = s;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (sensor_start(s, &ctx) != RK_OK) {
		cli_error("sensor", "%s%s%s", ctx.path, ctx.path[0] ? ": " : "", ctx.msg);
		goto out;
	}
	glue.s = s;
	if (glue.up && cli_uplink_start(glue.up, rebuild_from_hub, &glue, &ctx) != RK_OK) {
		cli_error("sensor", "%s", ctx.msg);
		sensor_stop(s);
		sensor_wait(s);
		goto out;
	}
	if (o.indicators) {
		rl.s = s;
		rl.intel = intel;
		rl.file = o.indicators;
		rl.on_top = glue.up != NULL;
		rl_started = pthread_create(&rl_thread, NULL, reload_main, &rl) == 0;
	}
	progress prog = {.s = s, .alerts = alerts, .total = inputs_size(&o)};
	pthread_t prog_thread;
	bool prog_started = o.progress && sem_init(&prog.end, 0, 0) == 0;
	if (prog_started && pthread_create(&prog_thread, NULL, progress_main, &prog) != 0) {
		sem_destroy(&prog.end);
		prog_started = false;
	}
	rc = sensor_wait(s) == RK_OK ? 0 : 1;
	if (prog_started) {
		sem_post(&prog.end);
		pthread_join(prog_thread, NULL);
		sem_destroy(&prog.end);
	}
	if (glue.up)
		cli_uplink_finish(glue.up, stderr);
	if (o.stats) {
		double load_s = (double)(t_start - t_load) / 1e6;
		double run_s = (double)(rk_time_now() - t_start) / 1e6;
		sensor_stats st;
		sensor_intel_stats is;
		sensor_get_stats(s, &st);
		sensor_intel_get_stats(intel, &is);
		fprintf(stderr,
			"sensor: %zu indicators (%zu revoked, %zu not stix, %zu bad objects), "
			"%zu in the matcher, %zu keys; loaded and compiled in %.2f s\n",
			is.indicators, is.revoked, is.not_stix, is.bad, ms.exact + ms.needs_eval, ms.keys,
			load_s);
		sensor_stats_print(&st, stderr);
		if (run_s > 0)
			fprintf(stderr,
				"sensor: swept in %.2f s: %.0f packets/s, %.0f lines/s, %.1f MB/s\n",
				run_s, (double)st.packets / run_s, (double)st.lines / run_s,
				(double)st.bytes / run_s / 1e6);
		fprintf(stderr, "sensor: %" PRIu64 " alerts written, %" PRIu64 " failed\n",
			sensor_alerts_written(alerts), sensor_alerts_failed(alerts));
	}
out:
	if (rl_started) {
		atomic_store(&rl.done, 1);
		sem_post(&reload_wake);
		pthread_join(rl_thread, NULL);
	}
	running = NULL;
	/* The uplink thread first: it may be swapping a matcher into s. */
	cli_uplink_free(glue.up);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sem_destroy(&reload_wake);
	sensor_free(s);
	sensor_alerts_close(alerts);
	sensor_intel_free(intel);
	pthread_mutex_destroy(&printer.mu);
	return rc;
}
