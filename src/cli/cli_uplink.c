/*
 * cli_uplink.c: `renkei sensor --hub`: the sensor's uplink thread, the glue
 * between the engine and src/uplink.
 *
 *     open:   feed state replayed -> one poll (hub down: warn, go on)
 *     thread: every second        close ended intervals -> spool (always)
 *                                 deliver the spool (when not backing off)
 *             every --poll s      feed poll -> changed() (rebuild, swap)
 *             a failure           back off: 1 s, 2 s, 4 s ... at most 60 s,
 *                                 per path (feed, delivery), reset on success
 *     finish: thread stopped -> last interval closed -> one delivery
 *             attempt -> what is left stays in the spool for the next run
 *
 * The feed and the delivery use separate client handles, both only on the
 * uplink thread (and on the opening thread before it starts). Hits arrive
 * from the engine's workers through cli_uplink_hit, which only counts
 * (uplink_sight_record). Errors on the uplink thread are logged as JSON
 * lines (rk_log) with what failed and where, and counted; they never stop
 * the sensor.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_int.h"

struct cli_uplink {
	cli_uplink_opts o;
	char *token;
	client_http *feed_http, *send_http;
	uplink_feed *feed;
	uplink_spool *spool;
	uplink_sight *sight;
	uplink_apply_fn apply;
	void *apply_arg;
	cli_uplink_changed_fn changed;
	void *changed_arg;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	uint64_t record_errors;
};

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads the token: the file's first line, surrounding blanks removed. */
rk_err cli_read_token(const char *path, char **out, rk_errctx *ctx)
{
	*out = NULL;
	if (!path)
		return rk_fail(ctx, RK_EINVAL, "--token-file", "required with --hub");
	return client_read_token(path, out, ctx);
}

static rk_err new_client(const cli_uplink *u, client_http **out, rk_errctx *ctx)
{
	client_remote r;

	client_remote_init(&r);
	r.url = u->o.url;
	r.token = u->token;
	r.root = u->o.root;
	r.cacert = u->o.cacert;
	r.insecure = u->o.insecure;
	r.timeout_seconds = (long)(u->o.timeout_seconds > 0 ? u->o.timeout_seconds
							    : RK_UPLINK_TIMEOUT_SECONDS);
	r.connect_timeout_seconds = 10;
	return client_http_new(&r, out, ctx);
}

/* Wakes the uplink thread, if it runs, with the stop flag set, and waits
 * for it to end. */
static void stop_thread(cli_uplink *u)
{
	if (!u->running)
		return;
	pthread_mutex_lock(&u->lock);
	u->stop = true;
	pthread_cond_signal(&u->wake);
	pthread_mutex_unlock(&u->lock);
	pthread_join(u->thread, NULL);
	u->running = false;
}

void cli_uplink_free(cli_uplink *u)
{
	if (!u)
		return;
	stop_thread(u);
	uplink_sight_free(u->sight);
	uplink_spool_free(u->spool);
	uplink_feed_free(u->feed);
	client_http_free(u->feed_http);
	client_http_free(u->send_http);
	if (u->token) {
		memset(u->token, 0, strlen(u->token));
		free(u->token);
	}
	pthread_mutex_destroy(&u->lock);
	pthread_cond_destroy(&u->wake);
	free(u);
}

static void log_error(const char *event, const rk_errctx *ctx)
{
	char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
	rk_errctx_format(ctx, msg, sizeof msg);
	rk_logf(RK_LOG_WARN, event, "%s", msg);
}

static rk_err poll_once(cli_uplink *u, size_t *applied)
{
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	rk_err err = uplink_feed_poll(u->feed, u->feed_http, u->apply, u->apply_arg, applied, &ctx);
	if (err)
		log_error("sensor_feed_failed", &ctx);
	return err;
}

rk_err cli_uplink_open(const cli_uplink_opts *o, uplink_apply_fn apply, void *arg,
		       cli_uplink **out, rk_errctx *ctx)
{
	cli_uplink *u = NULL;
	rk_err err;

	*out = NULL;
	if (!o->collection)
		return rk_fail(ctx, RK_EINVAL, "--collection", "required with --hub");
	if (!o->identity)
		return rk_fail(ctx, RK_EINVAL, "--identity",
			       "required with --hub: the sensor's organisation, identity--<uuid> "
			       "(`renkei admin identity org:ID` prints it)");
	if (!(u = calloc(1, sizeof *u)))
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->wake, NULL);
	u->o = *o;
	if (!u->o.spool_dir)
		u->o.spool_dir = "renkei-spool";
	u->apply = apply;
	u->apply_arg = arg;
	if ((err = cli_read_token(o->token_file, &u->token, ctx)) ||
	    (err = new_client(u, &u->feed_http, ctx)) || (err = new_client(u, &u->send_http, ctx)))
		goto fail;
	uplink_feed_opts fo = { .url = o->url, .collection = o->collection,
				.state_dir = u->o.spool_dir };
	if ((err = uplink_feed_open(&fo, apply, arg, &u->feed, ctx)) ||
	    (err = uplink_spool_open(u->o.spool_dir, 0, &u->spool, ctx)))
		goto fail;
	uplink_sight_opts so = { .identity = o->identity, .interval_seconds = o->interval_seconds };
	if ((err = uplink_sight_new(&so, u->spool, &u->sight, ctx)))
		goto fail;
	uplink_feed_stats st;
	uplink_feed_stats_get(u->feed, &st);
	size_t applied = 0;
	if (poll_once(u, &applied)) {
		uplink_feed_stats_get(u->feed, &st);
		fprintf(stderr, "%s sensor: the hub did not answer (%s); starting with the %llu "
			"objects kept from earlier runs, retrying in the background\n",
			cli_progname(), st.last_error, (unsigned long long)st.replayed);
	}
	*out = u;
	return RK_OK;
fail:
	cli_uplink_free(u);
	return err;
}

/* Closes ended intervals into the spool (every second, whatever the hub
 * does: the sooner hits are on disk, the less a crash can take). */
static void close_intervals(cli_uplink *u, bool all)
{
	rk_errctx ctx;
	size_t closed = 0;

	rk_errctx_clear(&ctx);
	if (uplink_sight_close(u->sight, all, &closed, &ctx))
		log_error("sensor_spool_failed", &ctx);
}

/* Delivers the spool; returns false on a delivery error. */
static bool deliver(cli_uplink *u)
{
	rk_errctx ctx;
	size_t done = 0;
	uplink_hub hub = { u->send_http, u->o.collection, 10 };
	bool ok = true;

	rk_errctx_clear(&ctx);
	uplink_spool_stats st;
	uplink_spool_stats_get(u->spool, &st);
	if (st.pending && uplink_spool_deliver(u->spool, uplink_hub_send, &hub,
					       RK_SIGHTINGS_PER_ENVELOPE, &done, &ctx)) {
		log_error("sensor_sightings_not_delivered", &ctx);
		ok = false;
	}
	return ok;
}

static void *run(void *arg)
{
	cli_uplink *u = arg;
	double poll = u->o.poll_seconds > 0 ? u->o.poll_seconds : 60;
	double next_poll = mono_now() + poll, next_send = 0;
	/* Expired indicators leave the matcher at a rebuild: one at least
	 * every five minutes even when the hub has nothing new. */
	double next_rebuild = mono_now() + 300;
	double feed_backoff = 1, send_backoff = 1;

	pthread_mutex_lock(&u->lock);
	while (!u->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&u->wake, &u->lock, &until);
		if (u->stop)
			break;
		pthread_mutex_unlock(&u->lock);
		double now = mono_now();
		close_intervals(u, false);
		if (now >= next_send) {
			if (deliver(u)) {
				send_backoff = 1;
				next_send = 0;
			} else {
				next_send = now + send_backoff;
				send_backoff = send_backoff < 60 ? send_backoff * 2 : 60;
			}
		}
		if (now >= next_poll) {
			size_t applied = 0;
			if (poll_once(u, &applied) == RK_OK) {
				feed_backoff = 1;
				next_poll = mono_now() + poll;
			} else {
				next_poll = mono_now() + (feed_backoff < poll ? feed_backoff : poll);
				feed_backoff = feed_backoff < 60 ? feed_backoff * 2 : 60;
			}
			if ((applied || mono_now() >= next_rebuild) && u->changed) {
				u->changed(u->changed_arg);
				next_rebuild = mono_now() + 300;
			}
		}
		pthread_mutex_lock(&u->lock);
	}
	pthread_mutex_unlock(&u->lock);
	return NULL;
}

rk_err cli_uplink_start(cli_uplink *u, cli_uplink_changed_fn changed, void *arg,
			rk_errctx *ctx)
{
	u->changed = changed;
	u->changed_arg = arg;
	int rc = pthread_create(&u->thread, NULL, run, u);
	if (rc)
		return rk_fail(ctx, RK_EIO, NULL, "cannot start the uplink thread: %s", strerror(rc));
	u->running = true;
	return RK_OK;
}

void cli_uplink_hit(cli_uplink *u, const char *indicator_id, const char *const *markings,
		    size_t n_markings, rk_time seen)
{
	if (uplink_sight_record(u->sight, indicator_id, markings, n_markings, seen) != RK_OK)
		__atomic_add_fetch(&u->record_errors, 1, __ATOMIC_RELAXED);
}

uint64_t cli_uplink_finish(cli_uplink *u, FILE *err)
{
	uplink_spool_stats st;
	uplink_feed_stats fs;

	stop_thread(u);
	close_intervals(u, true);
	deliver(u);
	uplink_spool_stats_get(u->spool, &st);
	uplink_feed_stats_get(u->feed, &fs);
	fprintf(err,
		"uplink: %llu objects from the hub (%llu pages, %llu failed polls), "
		"%llu sightings delivered, %llu refused, %llu waiting in %s\n",
		(unsigned long long)fs.objects, (unsigned long long)fs.pages,
		(unsigned long long)fs.errors, (unsigned long long)st.delivered,
		(unsigned long long)st.rejected, (unsigned long long)st.pending, u->o.spool_dir);
	if (st.rejected)
		fprintf(err, "uplink: the hub refused %llu sightings (see the log for why); they "
			"are kept in %s/rejected.jsonl\n", (unsigned long long)st.rejected,
			u->o.spool_dir);
	if (u->record_errors)
		fprintf(err, "uplink: %llu hits could not be counted (not an indicator id, or out "
			"of memory)\n", (unsigned long long)u->record_errors);
	return st.pending;
}
