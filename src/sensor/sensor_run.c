/*
 * sensor_run.c: the sensor's threads, batches and matcher swap.
 *
 * Threads: one reader per input (sensor_source) and N workers
 * (sensor_work.c). Capture files are read with decode_pcap (classic pcap
 * directly, records handed out in place; the rest through libpcap), live
 * interfaces with libpcap. A reader of packets copies each packet into the batch
 * it is filling for the packet's worker (decode_packet_hash modulo N); a
 * reader of logs lets a logs_blocker cut whole-line blocks straight into a
 * batch and hands each to the worker with the fewest batches pending (any
 * worker can parse any block; one the scheduler left behind gets fewer).
 * A batch is pushed when full, when its input ends, and for live inputs at
 * every wake-up (poll_ms), so a quiet interface or log still reports
 * within poll_ms.
 *
 * Life cycle: sensor_start opens every input first (a bad one fails the
 * start with nothing running), then starts workers, then readers. When
 * the last reader ends (input exhausted, or sensor_stop) it closes the
 * worker queues; workers drain what is queued and exit; sensor_wait joins
 * everyone and merges the counters, so nothing read is left unmatched.
 *
 * Matcher swap (see sensor.h): a generation counter and one epoch slot per
 * worker, quiescent-state style. The swapper publishes the new matcher,
 * bumps the generation to g, then waits until each worker is idle (0) or
 * has started a batch at generation >= g; a worker stores the generation
 * before it loads the matcher pointer, so a worker the swapper sees idle
 * can only load the new matcher. The hot path takes no lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "sensor_int.h"

/* ------------------------------------------------------------ errors */

void sensor_errs_add(sensor_errs *e, const char *why, uint64_t n, const char *input,
		     uint64_t number, bool packet)
{
	size_t i;
	for (i = 0; i < e->n; i++)
		if (e->e[i].why == why || strcmp(e->e[i].why, why) == 0)
			break;
	if (i == e->n) {
		if (e->n == SENSOR_ERR_KINDS)
			i = SENSOR_ERR_KINDS - 1; /* the last slot collects the rest */
		else
			e->e[e->n++].why = why;
	}
	e->e[i].count += n;
	e->e[i].last_input = input;
	e->e[i].last_number = number;
	e->e[i].packet = packet;
}

static void errs_merge(sensor_errs *into, const sensor_errs *from)
{
	for (size_t i = 0; i < from->n; i++) {
		const sensor_err_count *c = &from->e[i];
		sensor_errs_add(into, c->why, c->count, c->last_input, c->last_number, c->packet);
	}
}

/* ------------------------------------------------------------ pool and queues */

sensor_batch *sensor_pool_get(sensor *s)
{
	pthread_mutex_lock(&s->pool_mu);
	while (!s->free_list)
		pthread_cond_wait(&s->pool_cv, &s->pool_mu);
	sensor_batch *b = s->free_list;
	s->free_list = b->next;
	pthread_mutex_unlock(&s->pool_mu);
	b->next = NULL;
	b->len = 0;
	b->npkts = 0;
	return b;
}

void sensor_pool_put(sensor *s, sensor_batch *b)
{
	pthread_mutex_lock(&s->pool_mu);
	b->next = s->free_list;
	s->free_list = b;
	pthread_cond_signal(&s->pool_cv);
	pthread_mutex_unlock(&s->pool_mu);
}

static void queue_push(sensor_queue *q, sensor_batch *b)
{
	atomic_fetch_add(&q->pending, 1);
	b->next = NULL;
	pthread_mutex_lock(&q->mu);
	if (q->tail)
		q->tail->next = b;
	else
		q->head = b;
	q->tail = b;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static void queue_close(sensor_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

sensor_batch *sensor_queue_pop(sensor_queue *q)
{
	pthread_mutex_lock(&q->mu);
	while (!q->head && !q->closed)
		pthread_cond_wait(&q->cv, &q->mu);
	sensor_batch *b = q->head;
	if (b) {
		q->head = b->next;
		if (!q->head)
			q->tail = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	return b;
}

/* ------------------------------------------------------------ generations */

sensor_gen *sensor_gen_new(match *m, unsigned nworkers)
{
	static _Atomic uint64_t serials = 0;
	sensor_gen *g = calloc(1, sizeof(*g) + nworkers * sizeof(g->scr[0]));
	match_stats st;
	if (!g)
		return NULL;
	g->serial = atomic_fetch_add(&serials, 1) + 1;
	g->nscr = nworkers;
	pthread_mutex_init(&g->corr_mu, NULL);
	if (m) {
		match_get_stats(m, &st);
		if (st.compound &&
		    !(g->corr = match_corr_new(m, SENSOR_CORR_KEYS, SENSOR_CORR_DEPTH))) {
			pthread_mutex_destroy(&g->corr_mu);
			free(g);
			return NULL;
		}
	}
	g->m = m;
	return g;
}

void sensor_gen_free(sensor_gen *g)
{
	if (!g)
		return;
	for (unsigned i = 0; i < g->nscr; i++)
		match_scratch_free(g->scr[i]);
	match_corr_free(g->corr);
	match_free(g->m); /* after what serves it */
	pthread_mutex_destroy(&g->corr_mu);
	free(g);
}

/* ------------------------------------------------------------ life cycle */

sensor *sensor_new(const sensor_config *cfg, match *m)
{
	sensor *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (cfg)
		s->cfg = *cfg;
	if (s->cfg.batches_per_worker == 0)
		s->cfg.batches_per_worker = 4;
	if (s->cfg.poll_ms <= 0)
		s->cfg.poll_ms = 100;
	s->batch_bytes = s->cfg.batch_bytes < SENSOR_MIN_BATCH ? SENSOR_MIN_BATCH : s->cfg.batch_bytes;
	if (s->batch_bytes < LOGS_DEFAULT_MAX_LINE + 1)
		s->batch_bytes = LOGS_DEFAULT_MAX_LINE + 1;
	s->max_pkts = s->batch_bytes / SENSOR_MIN_PACKET;
	unsigned n = s->cfg.threads;
	if (n == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus > 0 ? (unsigned)cpus : 1;
	}
	s->nworkers = n > SENSOR_MAX_WORKERS ? SENSOR_MAX_WORKERS : n;
	sensor_gen *g = sensor_gen_new(m, s->nworkers);
	if (!g) {
		free(s);
		return NULL;
	}
	atomic_init(&s->current, g);
	atomic_init(&s->gen, 1);
	atomic_init(&s->stop, 0);
	atomic_init(&s->readers_left, 0);
	atomic_init(&s->live_open, 0);
	pthread_mutex_init(&s->swap_mu, NULL);
	pthread_mutex_init(&s->pool_mu, NULL);
	pthread_cond_init(&s->pool_cv, NULL);
	return s;
}

rk_err sensor_add_input(sensor *s, const sensor_input *in, rk_errctx *ctx)
{
	if (s->started)
		return rk_fail(ctx, RK_EINVAL, in->path, "inputs are added before the sensor starts");
	if (s->nsrc == SENSOR_MAX_INPUTS)
		return rk_fail(ctx, RK_EINVAL, in->path, "more than %d inputs", SENSOR_MAX_INPUTS);
	sensor_source *src = calloc(1, sizeof(*src));
	if (!src || !(src->path = strdup(in->path))) {
		free(src);
		return rk_fail(ctx, RK_ENOMEM, in->path, "out of memory");
	}
	src->s = s;
	src->in = *in;
	src->in.path = src->path;
	src->is_log = in->kind == SENSOR_IN_ZEEK || in->kind == SENSOR_IN_EVE ||
		      in->kind == SENSOR_IN_TEXT;
	src->format = in->kind == SENSOR_IN_EVE	   ? LOGS_FMT_JSON
		      : in->kind == SENSOR_IN_TEXT ? LOGS_FMT_TEXT
						   : LOGS_FMT_AUTO;
	s->src[s->nsrc++] = src;
	return RK_OK;
}

rk_err sensor_add_sink(sensor *s, sensor_hit_fn fn, void *arg)
{
	if (s->started || s->nsinks == SENSOR_MAX_SINKS || !fn)
		return RK_EINVAL;
	s->sinks[s->nsinks].fn = fn;
	s->sinks[s->nsinks].arg = arg;
	s->nsinks++;
	return RK_OK;
}

static void blocker_err(const char *file, uint64_t line, const char *why, void *arg)
{
	sensor_source *src = arg;
	sensor_errs_add(&src->errs, why, 1, src->path, line, false);
	if (src->s->cfg.on_err)
		src->s->cfg.on_err(file, false, line, why, src->s->cfg.err_arg);
}

static rk_err open_source(sensor *s, sensor_source *src, rk_errctx *ctx)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	if (src->is_log) {
		rk_err err = logs_blocker_open(&src->blk, src->path, src->format, s->batch_bytes,
					       s->cfg.follow, blocker_err, src);
		if (err)
			return rk_fail(ctx, err, src->path, "cannot open: %s",
				       err == RK_ENOTFOUND ? "no such file" : rk_strerror(err));
		src->blk_open = true;
		return RK_OK;
	}
	if (src->in.kind == SENSOR_IN_PCAP) {
		rk_errctx pctx;
		rk_errctx_clear(&pctx);
		src->file = decode_pcap_open(src->path, &pctx);
		if (!src->file)
			return rk_fail(ctx, RK_EIO, src->path, "cannot read as a capture file: %s",
				       pctx.msg);
		src->linktype = decode_pcap_link(src->file);
	} else {
		src->pcap = pcap_create(src->path, errbuf);
		if (!src->pcap)
			return rk_fail(ctx, RK_EIO, src->path, "cannot capture: %s", errbuf);
		pcap_set_snaplen(src->pcap, 65535);
		pcap_set_promisc(src->pcap, 1);
		pcap_set_timeout(src->pcap, s->cfg.poll_ms);
		int rc = pcap_activate(src->pcap);
		if (rc < 0) {
			rk_fail(ctx, RK_EIO, src->path, "cannot capture: %s",
				rc == PCAP_ERROR ? pcap_geterr(src->pcap) : pcap_statustostr(rc));
			pcap_close(src->pcap);
			src->pcap = NULL;
			return RK_EIO;
		}
		src->linktype = pcap_datalink(src->pcap);
	}
	src->fill = calloc(s->nworkers, sizeof(*src->fill));
	if (!src->fill)
		return rk_fail(ctx, RK_ENOMEM, src->path, "out of memory");
	return RK_OK;
}

static void close_source(sensor_source *src)
{
	if (src->pcap)
		pcap_close(src->pcap);
	src->pcap = NULL;
	decode_pcap_close(src->file);
	src->file = NULL;
	if (src->blk_open)
		logs_blocker_close(&src->blk);
	src->blk_open = false;
	free(src->fill);
	src->fill = NULL;
}

static void reader_done(sensor *s)
{
	if (atomic_fetch_sub(&s->readers_left, 1) == 1)
		for (unsigned i = 0; i < s->nworkers; i++)
			queue_close(&s->workers[i].q);
}

static void push_fill(sensor_source *src, unsigned w)
{
	sensor_batch *b = src->fill[w];
	if (!b)
		return;
	src->fill[w] = NULL;
	if (b->npkts == 0) {
		sensor_pool_put(src->s, b);
		return;
	}
	queue_push(&src->s->workers[w].q, b);
}

/* The next packet of a source: 1 with it, 0 for a live capture's timeout,
 * -1 at the end (of the file, or sensor_stop), -2 on a read error (why
 * says why). Files go through decode_pcap (records in place, no libpcap
 * on the common path); interfaces through libpcap. */
static int next_packet(sensor_source *src, const uint8_t **data, size_t *caplen, int64_t *ts,
		       const char **why)
{
	if (src->file) {
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		int rc = decode_pcap_next(src->file, data, caplen, ts, &ctx);
		if (rc < 0) {
			snprintf(src->why, sizeof src->why, "%s", ctx.msg);
			*why = src->why;
			return -2;
		}
		return rc == 1 ? 1 : -1;
	}
	struct pcap_pkthdr *h;
	const u_char *d;
	int rc = pcap_next_ex(src->pcap, &h, &d);
	if (rc == 1) {
		*data = d;
		*caplen = h->caplen;
		*ts = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
		return 1;
	}
	if (rc == 0)
		return 0;
	if (rc == PCAP_ERROR_BREAK)
		return -1;
	*why = pcap_geterr(src->pcap);
	return -2;
}

static void *packet_reader(void *arg)
{
	sensor_source *src = arg;
	sensor *s = src->s;
	const uint8_t *data;
	size_t caplen;
	int64_t ts;
	const char *why = "";

	prctl(PR_SET_NAME, "rk-sensor-read", 0, 0, 0); /* for top -H and perf */

	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		int rc = next_packet(src, &data, &caplen, &ts, &why);
		if (rc == 0) { /* live: the timeout passed; send what waits */
			for (unsigned w = 0; w < s->nworkers; w++)
				push_fill(src, w);
			continue;
		}
		if (rc == -1)
			break; /* end of the file, or sensor_stop */
		if (rc < 0) {
			/* a truncated or corrupt file: what was read stays read */
			sensor_errs_add(&src->errs, "capture read error (truncated or corrupt)", 1,
					src->path, src->packets + 1, true);
			if (s->cfg.on_err)
				s->cfg.on_err(src->path, true, src->packets + 1, why, s->cfg.err_arg);
			src->failed = true;
			break;
		}
		src->packets++;
		if (caplen > s->batch_bytes)
			caplen = s->batch_bytes;
		src->bytes += caplen;
		unsigned w = s->nworkers > 1
				     ? decode_packet_hash(src->linktype, data, caplen) % s->nworkers
				     : 0;
		sensor_batch *b = src->fill[w];
		if (b && (b->len + caplen > s->batch_bytes || b->npkts == s->max_pkts)) {
			push_fill(src, w);
			b = NULL;
		}
		if (!b) {
			b = src->fill[w] = sensor_pool_get(s);
			b->src = src;
		}
		sensor_pkt *p = &b->pkts[b->npkts++];
		p->off = (uint32_t)b->len;
		p->caplen = (uint32_t)caplen;
		p->ts_usec = ts;
		p->number = src->packets;
		memcpy(b->data + b->len, data, caplen);
		b->len += caplen;
	}
	for (unsigned w = 0; w < s->nworkers; w++)
		push_fill(src, w);
	reader_done(s);
	return NULL;
}

static void nap(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* The worker for a log block: any can parse any block, so the one with
 * the fewest batches waiting, the next in turn among equals. */
static unsigned next_log_worker(sensor_source *src)
{
	sensor *s = src->s;
	unsigned best = src->rr++ % s->nworkers;
	unsigned least = atomic_load(&s->workers[best].q.pending);
	for (unsigned i = 1; i < s->nworkers && least > 0; i++) {
		unsigned w = (best + i) % s->nworkers;
		unsigned p = atomic_load(&s->workers[w].q.pending);
		if (p < least) {
			least = p;
			best = w;
		}
	}
	return best;
}

static void *log_reader(void *arg)
{
	sensor_source *src = arg;
	sensor *s = src->s;

	prctl(PR_SET_NAME, "rk-sensor-read", 0, 0, 0);

	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		sensor_batch *b = sensor_pool_get(s);
		size_t len = 0;
		int done = 0;
		b->src = src;
		rk_err err = logs_blocker_next(&src->blk, (char *)b->data, &len, &b->first_line,
					       &b->hdr, &done);
		if (err) {
			sensor_pool_put(s, b);
			sensor_errs_add(&src->errs, "log read error", 1, src->path, src->blk.line + 1,
					false);
			if (s->cfg.on_err)
				s->cfg.on_err(src->path, false, src->blk.line + 1, "log read error",
					      s->cfg.err_arg);
			src->failed = true;
			break;
		}
		if (len) {
			b->len = len;
			queue_push(&s->workers[next_log_worker(src)].q, b);
			continue;
		}
		sensor_pool_put(s, b);
		if (done)
			break;
		if (src->blk.follow)
			nap(s->cfg.poll_ms);
	}
	src->bytes = src->blk.bytes;
	reader_done(s);
	return NULL;
}

static void join_all(sensor *s)
{
	for (size_t i = 0; i < s->nsrc; i++)
		if (s->src[i]->started) {
			pthread_join(s->src[i]->thread, NULL);
			s->src[i]->started = false;
		}
	for (unsigned i = 0; s->workers && i < s->nworkers; i++)
		if (s->workers[i].started) {
			pthread_join(s->workers[i].thread, NULL);
			s->workers[i].started = false;
		}
}

static rk_err alloc_pool(sensor *s)
{
	size_t n = (size_t)s->nworkers * s->cfg.batches_per_worker;
	for (size_t i = 0; i < s->nsrc; i++)
		n += s->src[i]->is_log ? 1 : s->nworkers;
	s->nbatches = n;
	s->batches = calloc(n, sizeof(*s->batches));
	s->batch_data = malloc(n * s->batch_bytes);
	s->batch_pkts = malloc(n * s->max_pkts * sizeof(sensor_pkt));
	if (!s->batches || !s->batch_data || !s->batch_pkts)
		return RK_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		s->batches[i].data = s->batch_data + i * s->batch_bytes;
		s->batches[i].pkts = s->batch_pkts + i * s->max_pkts;
		s->batches[i].next = s->free_list;
		s->free_list = &s->batches[i];
	}
	return RK_OK;
}

rk_err sensor_start(sensor *s, rk_errctx *ctx)
{
	rk_err err = RK_OK;
	if (s->started)
		return rk_fail(ctx, RK_EINVAL, NULL, "the sensor is already started");
	if (s->nsrc == 0)
		return rk_fail(ctx, RK_EINVAL, NULL, "no input to read");
	s->started = true;
	for (size_t i = 0; i < s->nsrc && !err; i++)
		err = open_source(s, s->src[i], ctx);
	if (!err && alloc_pool(s) != RK_OK)
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory for %zu batches of %zu bytes",
			      s->nbatches, s->batch_bytes);
	if (!err && !(s->workers = calloc(s->nworkers, sizeof(*s->workers))))
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	for (unsigned i = 0; !err && i < s->nworkers; i++)
		if (sensor_worker_init(&s->workers[i], s, i) != RK_OK)
			err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory for worker %u", i);
	for (unsigned i = 0; !err && i < s->nworkers; i++) {
		if (pthread_create(&s->workers[i].thread, NULL, sensor_worker_main, &s->workers[i]))
			err = rk_fail(ctx, RK_ENOMEM, NULL, "cannot start worker thread %u", i);
		else
			s->workers[i].started = true;
	}
	atomic_store(&s->readers_left, (int)s->nsrc);
	if (!err)
		atomic_store(&s->live_open, 1);
	for (size_t i = 0; !err && i < s->nsrc; i++) {
		sensor_source *src = s->src[i];
		if (pthread_create(&src->thread, NULL, src->is_log ? log_reader : packet_reader, src)) {
			err = rk_fail(ctx, RK_ENOMEM, src->path, "cannot start its reader thread");
			/* the readers that will never run */
			for (size_t j = i; j < s->nsrc; j++)
				reader_done(s);
		} else {
			src->started = true;
		}
	}
	if (err) {
		atomic_store(&s->stop, 1);
		if (s->workers && atomic_load(&s->readers_left) == (int)s->nsrc)
			for (unsigned i = 0; i < s->nworkers; i++)
				if (s->workers[i].started)
					queue_close(&s->workers[i].q);
		join_all(s);
		s->waited = true;
	}
	return err;
}

void sensor_stop(sensor *s)
{
	atomic_store(&s->stop, 1);
	/* a live capture may sit in poll(2) with nothing to read: libpcap's
	 * breakloop wakes it (documented safe from a signal handler or
	 * another thread) */
	if (atomic_load(&s->live_open))
		for (size_t i = 0; i < s->nsrc; i++)
			if (s->src[i]->in.kind == SENSOR_IN_IFACE && s->src[i]->pcap)
				pcap_breakloop(s->src[i]->pcap);
}

rk_err sensor_wait(sensor *s)
{
	if (!s->started || s->waited)
		return RK_OK;
	join_all(s);
	s->waited = true;
	for (size_t i = 0; i < s->nsrc; i++)
		if (s->src[i]->failed)
			return RK_EIO;
	return RK_OK;
}

void sensor_swap(sensor *s, match *next)
{
	sensor_gen *ng = sensor_gen_new(next, s->nworkers);
	if (!ng) {
		/* out of memory for the new generation's correlator: the old
		 * indicators stay in force rather than none */
		match_free(next);
		return;
	}
	pthread_mutex_lock(&s->swap_mu);
	sensor_gen *old = atomic_exchange(&s->current, ng);
	uint64_t g = atomic_fetch_add(&s->gen, 1) + 1;
	for (unsigned i = 0; s->workers && i < s->nworkers; i++) {
		for (;;) {
			uint64_t e = atomic_load(&s->workers[i].epoch);
			if (e == 0 || e >= g)
				break;
			nap(1);
		}
	}
	sensor_gen_free(old);
	s->swaps++;
	pthread_mutex_unlock(&s->swap_mu);
}

uint64_t sensor_bytes_done(sensor *s)
{
	return atomic_load_explicit(&s->bytes_done, memory_order_acquire);
}

void sensor_get_stats(sensor *s, sensor_stats *st)
{
	sensor_errs errs = {0};
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&s->swap_mu);
	st->swaps = s->swaps;
	pthread_mutex_unlock(&s->swap_mu);
	if (!s->waited)
		return; /* counters belong to running threads until then */
	for (size_t i = 0; i < s->nsrc; i++) {
		sensor_source *src = s->src[i];
		st->packets += src->packets;
		st->bytes += src->bytes;
		st->input_errors += src->failed;
		errs_merge(&errs, &src->errs);
	}
	for (unsigned i = 0; s->workers && i < s->nworkers; i++) {
		sensor_worker *w = &s->workers[i];
		for (int f = 0; f < 3; f++)
			st->lines += w->lr[f].stats.lines;
		st->observables += w->observables;
		st->hits += w->hits;
		st->batches += w->batches;
		errs_merge(&errs, &w->errs);
	}
	memcpy(st->errors, errs.e, sizeof st->errors);
	st->n_errors = errs.n;
}

void sensor_stats_print(const sensor_stats *st, FILE *out)
{
	fprintf(out,
		"sensor: %llu packets, %llu lines, %llu bytes, %llu observables, %llu hits"
		" (%llu batches, %llu matcher swaps)\n",
		(unsigned long long)st->packets, (unsigned long long)st->lines,
		(unsigned long long)st->bytes, (unsigned long long)st->observables,
		(unsigned long long)st->hits, (unsigned long long)st->batches,
		(unsigned long long)st->swaps);
	for (size_t i = 0; i < st->n_errors; i++) {
		const sensor_err_count *c = &st->errors[i];
		fprintf(out, "sensor: %llu x %s (last: %s %s %llu)\n", (unsigned long long)c->count,
			c->why, c->last_input ? c->last_input : "-", c->packet ? "packet" : "line",
			(unsigned long long)c->last_number);
	}
	if (st->input_errors)
		fprintf(out, "sensor: %llu input(s) stopped on a read error\n",
			(unsigned long long)st->input_errors);
}

void sensor_free(sensor *s)
{
	if (!s)
		return;
	if (s->started && !s->waited) {
		sensor_stop(s);
		join_all(s);
	}
	atomic_store(&s->live_open, 0);
	for (unsigned i = 0; s->workers && i < s->nworkers; i++)
		sensor_worker_cleanup(&s->workers[i]);
	free(s->workers);
	for (size_t i = 0; i < s->nsrc; i++) {
		close_source(s->src[i]);
		free(s->src[i]->path);
		free(s->src[i]);
	}
	free(s->batches);
	free(s->batch_data);
	free(s->batch_pkts);
	sensor_gen_free(atomic_load(&s->current));
	pthread_mutex_destroy(&s->swap_mu);
	pthread_mutex_destroy(&s->pool_mu);
	pthread_cond_destroy(&s->pool_cv);
	free(s);
}
