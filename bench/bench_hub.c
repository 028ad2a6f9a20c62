/*
 * bench_hub.c: load and latency benchmark for a running renkei hub.
 *
 * bench/run starts a hub on a loopback port with a fresh data directory and
 * a one-organisation directory, then runs this program against it. The
 * program grows one collection through the sizes in --sizes (default
 * 10000,100000,1000000) by POSTing indicators in envelopes of --batch
 * objects (default 100) over --conns keep-alive connections, and at each size
 * measures:
 *   - ingest rate: objects/s over the whole fill from the previous size,
 *     for the last --window objects added before the size was reached, and
 *     for the slowest run of --window objects in the fill (the fill goes in
 *     runs of --window objects; each POST is answered only after its
 *     durable commit);
 *   - CPU per object ingested over the fill: the hub's (user + system, from
 *     /proc/<--hub-pid>/stat) and this client's (getrusage), in
 *     microseconds, since both share the machine;
 *   - p50/p99 latency of `GET objects/?limit=100` pages at random positions
 *     (added_after drawn uniformly from the collection's time range);
 *   - p50/p99 latency of `GET objects/<id>/` for random stored ids;
 * then, at the largest size, a full paged pull of every object (limit=1000,
 * following `next`) and the hub's peak RSS (VmHWM of --hub-pid).
 *
 * Objects are deterministic: indicator number n has a UUIDv4-shaped id made
 * from a bijective 64-bit mix of n (so ids are distinct, and any stored id
 * can be drawn without keeping a list) plus a second hash of n for the
 * other bits. Ids are spread like real random UUIDs on purpose: counting
 * ids (…-8000-000000000001, …-8000-000000000002) would make every index
 * keyed by id append-only and hide what random ids cost a store. Every request's HTTP status is
 * checked; a benchmark that saw an error says so and exits 1.
 *
 * The load is bounded: at most the largest size in objects, and only to the
 * loopback address the hub was started on.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common.h"

#define MAX_SIZES 8
#define LATENCY_SAMPLES 400

typedef struct bench_cfg {
	const char *url;   /* http://127.0.0.1:PORT */
	const char *root;  /* API root */
	const char *collection;
	const char *token;
	size_t sizes[MAX_SIZES];
	size_t n_sizes;
	size_t batch;
	size_t conns;
	size_t window;
	long hub_pid;
	bool trace; /* --trace: each run's rate on stderr */
} bench_cfg;

typedef struct response {
	rk_buf body;
	char next[RK_MAX_CURSOR_BYTES + 1];
	char more;
} response;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	response *r = arg;
	if (rk_buf_append(&r->body, p, size * n))
		return 0;
	return size * n;
}

static CURL *client_new(const bench_cfg *cfg, struct curl_slist **headers)
{
	char auth[512];
	CURL *c = curl_easy_init();
	if (!c)
		return NULL;
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg->token);
	*headers = curl_slist_append(NULL, auth);
	*headers = curl_slist_append(*headers, "Accept: application/taxii+json;version=2.1");
	*headers = curl_slist_append(*headers,
				     "Content-Type: application/taxii+json;version=2.1");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	return c;
}

/* One request; returns the HTTP status (0 on transport failure). */
static long request(CURL *c, const char *url, const char *post, size_t post_len,
		    response *r)
{
	long status = 0;
	rk_buf_reset(&r->body);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	if (post) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)post_len);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		fprintf(stderr, "bench: %s: %s\n", url, curl_easy_strerror(rc));
		return 0;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/* ---------------------------------------------------------------- objects */

/* A bijection on 64-bit integers (the SplitMix64 finaliser). */
static uint64_t mix64(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

/* The 64 bits of mix64(n) fill the first three groups and the first digit
 * after the variant; the version and variant digits are fixed. */
static void indicator_id(size_t n, char out[64])
{
	uint64_t a = mix64((uint64_t)n), b = mix64((uint64_t)n ^ 0x5deece66du);
	snprintf(out, 64, "indicator--%08x-%04x-4%03x-8%01x%02x-%012" PRIx64,
		 (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffffu,
		 (unsigned)(a >> 4) & 0xfffu, (unsigned)a & 0xfu,
		 (unsigned)(b >> 56), b & 0xffffffffffffu);
}

/* A realistic indicator: an IPv4 or domain pattern, names and types. */
static void append_indicator(rk_buf *b, size_t n, const char *ts)
{
	char id[64];
	indicator_id(n, id);
	unsigned a = 11 + (unsigned)(n >> 16) % 180, bb = (unsigned)(n >> 8) & 255,
		 cc = (unsigned)n & 255;
	if (n % 3 == 0)
		rk_buf_printf(b,
			      "{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"%s\","
			      "\"created\":\"%s\",\"modified\":\"%s\","
			      "\"name\":\"Phishing domain %zu\",\"indicator_types\":[\"malicious-activity\"],"
			      "\"pattern\":\"[domain-name:value = 'login-%zx.example-bank%u.com']\","
			      "\"pattern_type\":\"stix\",\"valid_from\":\"%s\",\"confidence\":70,"
			      "\"labels\":[\"phishing\",\"finance\"]}",
			      id, ts, ts, n, n, a, ts);
	else
		rk_buf_printf(b,
			      "{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"%s\","
			      "\"created\":\"%s\",\"modified\":\"%s\","
			      "\"name\":\"C2 server %u.%u.%u.%u\",\"indicator_types\":[\"malicious-activity\"],"
			      "\"pattern\":\"[ipv4-addr:value = '%u.%u.%u.%u']\","
			      "\"pattern_type\":\"stix\",\"valid_from\":\"%s\",\"confidence\":80,"
			      "\"labels\":[\"c2\",\"botnet\"]}",
			      id, ts, ts, a, bb, cc, (unsigned)(n % 251) + 1, a, bb, cc,
			      (unsigned)(n % 251) + 1, ts);
}

/* ---------------------------------------------------------------- ingest */

typedef struct ingest_job {
	const bench_cfg *cfg;
	size_t next;      /* shared: next object number to send */
	size_t end;       /* stop before this number */
	pthread_mutex_t lock;
	size_t errors;
	char first_error[512];
} ingest_job;

static void *ingest_thread(void *arg)
{
	ingest_job *job = arg;
	const bench_cfg *cfg = job->cfg;
	struct curl_slist *headers = NULL;
	CURL *c = client_new(cfg, &headers);
	response r = {0};
	rk_buf env;
	char url[1024], ts[RK_TIME_BUF];

	rk_buf_init(&r.body);
	rk_buf_init(&env);
	snprintf(url, sizeof url, "%s/%s/collections/%s/objects/", cfg->url, cfg->root,
		 cfg->collection);
	for (;;) {
		pthread_mutex_lock(&job->lock);
		size_t start = job->next, stop = start + cfg->batch;
		if (stop > job->end)
			stop = job->end;
		job->next = stop;
		pthread_mutex_unlock(&job->lock);
		if (start >= stop || !c)
			break;
		rk_time_format(rk_time_now(), 3, ts);
		rk_buf_reset(&env);
		rk_buf_puts(&env, "{\"objects\":[");
		for (size_t n = start; n < stop; n++) {
			if (n > start)
				rk_buf_puts(&env, ",");
			append_indicator(&env, n, ts);
		}
		rk_buf_puts(&env, "]}");
		long status = request(c, url, env.data, env.len, &r);
		bool ok = status == 202 && r.body.data &&
			  strstr(r.body.data, "\"failure_count\":0") != NULL;
		if (!ok) {
			pthread_mutex_lock(&job->lock);
			if (!job->errors++)
				snprintf(job->first_error, sizeof job->first_error,
					 "POST status %ld: %.400s", status,
					 r.body.data ? r.body.data : "");
			pthread_mutex_unlock(&job->lock);
		}
	}
	rk_buf_cleanup(&env);
	rk_buf_cleanup(&r.body);
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	return NULL;
}

/* Adds objects [from, to) over cfg->conns connections; returns seconds. */
static double ingest(const bench_cfg *cfg, size_t from, size_t to, size_t *errors)
{
	ingest_job job = {.cfg = cfg, .next = from, .end = to};
	pthread_t th[64];
	size_t n = cfg->conns > 64 ? 64 : cfg->conns;

	pthread_mutex_init(&job.lock, NULL);
	double t0 = now_s();
	for (size_t i = 0; i < n; i++)
		pthread_create(&th[i], NULL, ingest_thread, &job);
	for (size_t i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	double dt = now_s() - t0;
	pthread_mutex_destroy(&job.lock);
	if (job.errors)
		fprintf(stderr, "bench: %zu failed POSTs; first: %s\n", job.errors,
			job.first_error);
	*errors += job.errors;
	return dt;
}

/* ---------------------------------------------------------------- latency */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p)
{
	qsort(v, n, sizeof *v, cmp_double);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

typedef struct latency {
	double page_p50, page_p99, get_p50, get_p99;
} latency;

static size_t errors_total;

static latency measure_latency(const bench_cfg *cfg, size_t stored, rk_time t_first,
			       rk_time t_last, unsigned *seed)
{
	struct curl_slist *headers = NULL;
	CURL *c = client_new(cfg, &headers);
	response r = {0};
	double page[LATENCY_SAMPLES], get[LATENCY_SAMPLES];
	char url[1024], id[64], ts[RK_TIME_BUF];
	latency out = {0};

	rk_buf_init(&r.body);
	for (size_t i = 0; i < LATENCY_SAMPLES; i++) {
		rk_time at = t_first + (rk_time)((double)rand_r(seed) / RAND_MAX *
						 (double)(t_last - t_first));
		rk_time_format(at, 6, ts);
		snprintf(url, sizeof url,
			 "%s/%s/collections/%s/objects/?limit=100&added_after=%s", cfg->url,
			 cfg->root, cfg->collection, ts);
		double t0 = now_s();
		long st = request(c, url, NULL, 0, &r);
		page[i] = (now_s() - t0) * 1e3;
		if (st != 200) {
			fprintf(stderr, "bench: page: status %ld\n", st);
			errors_total++;
		}
		indicator_id((size_t)rand_r(seed) % stored, id);
		snprintf(url, sizeof url, "%s/%s/collections/%s/objects/%s/", cfg->url,
			 cfg->root, cfg->collection, id);
		t0 = now_s();
		st = request(c, url, NULL, 0, &r);
		get[i] = (now_s() - t0) * 1e3;
		if (st != 200 || !r.body.data || !strstr(r.body.data, id)) {
			fprintf(stderr, "bench: get %s: status %ld\n", id, st);
			errors_total++;
		}
	}
	out.page_p50 = percentile(page, LATENCY_SAMPLES, 0.50);
	out.page_p99 = percentile(page, LATENCY_SAMPLES, 0.99);
	out.get_p50 = percentile(get, LATENCY_SAMPLES, 0.50);
	out.get_p99 = percentile(get, LATENCY_SAMPLES, 0.99);
	rk_buf_cleanup(&r.body);
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	return out;
}

/* ---------------------------------------------------------------- pull */

/* Follows `next` from the start; returns objects seen, sets *secs. */
static size_t full_pull(const bench_cfg *cfg, double *secs)
{
	struct curl_slist *headers = NULL;
	CURL *c = client_new(cfg, &headers);
	response r = {0};
	char url[2048], next[RK_MAX_CURSOR_BYTES + 1] = "";
	size_t total = 0;

	rk_buf_init(&r.body);
	double t0 = now_s();
	for (;;) {
		int n = snprintf(url, sizeof url, "%s/%s/collections/%s/objects/?limit=1000",
				 cfg->url, cfg->root, cfg->collection);
		if (next[0])
			snprintf(url + n, sizeof url - (size_t)n, "&next=%s", next);
		long st = request(c, url, NULL, 0, &r);
		if (st != 200) {
			fprintf(stderr, "bench: pull: status %ld: %.300s\n", st,
				r.body.data ? r.body.data : "");
			errors_total++;
			break;
		}
		/* Count objects without parsing everything twice: parse once. */
		json_error_t jerr;
		json_t *env = json_loadb(r.body.data, r.body.len, 0, &jerr);
		json_t *objs = json_object_get(env, "objects");
		total += json_array_size(objs);
		const char *nx = json_string_value(json_object_get(env, "next"));
		bool more = json_is_true(json_object_get(env, "more"));
		snprintf(next, sizeof next, "%s", nx ? nx : "");
		json_decref(env);
		if (!more || !next[0])
			break;
	}
	*secs = now_s() - t0;
	rk_buf_cleanup(&r.body);
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	return total;
}

/* CPU seconds (user + system) of process pid (fields 14 and 15 of
 * /proc/pid/stat, after the command name), or -1. */
static double proc_cpu_s(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	unsigned long long ut, st;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long peak_rss_kib(long pid)
{
	char path[64], line[256];
	long kib = -1;
	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* ---------------------------------------------------------------- main */

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_hub --url URL --root ROOT --collection ID --token TOKEN\n"
		"                 [--sizes N,N,...] [--batch N] [--conns N] [--window N]\n"
		"                 [--hub-pid PID] [--trace]\n");
}

static bool parse_sizes(const char *s, bench_cfg *cfg)
{
	cfg->n_sizes = 0;
	while (*s && cfg->n_sizes < MAX_SIZES) {
		char *end;
		unsigned long long v = strtoull(s, &end, 10);
		if (end == s || v == 0)
			return false;
		if (cfg->n_sizes && v <= cfg->sizes[cfg->n_sizes - 1])
			return false;
		cfg->sizes[cfg->n_sizes++] = (size_t)v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return false;
	}
	return cfg->n_sizes > 0;
}

int main(int argc, char **argv)
{
	bench_cfg cfg = {.batch = 100, .conns = 4, .window = 10000, .hub_pid = -1};
	parse_sizes("10000,100000,1000000", &cfg);
	for (int i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
		if (!strcmp(k, "--trace")) {
			cfg.trace = true;
			i--;
			continue;
		}
		if (!strcmp(k, "--url"))
			cfg.url = v;
		else if (!strcmp(k, "--root"))
			cfg.root = v;
		else if (!strcmp(k, "--collection"))
			cfg.collection = v;
		else if (!strcmp(k, "--token"))
			cfg.token = v;
		else if (!strcmp(k, "--sizes")) {
			if (!parse_sizes(v, &cfg)) {
				fprintf(stderr, "bench: --sizes: increasing positive numbers\n");
				return 2;
			}
		} else if (!strcmp(k, "--batch"))
			cfg.batch = strtoul(v, NULL, 10);
		else if (!strcmp(k, "--conns"))
			cfg.conns = strtoul(v, NULL, 10);
		else if (!strcmp(k, "--window"))
			cfg.window = strtoul(v, NULL, 10);
		else if (!strcmp(k, "--hub-pid"))
			cfg.hub_pid = strtol(v, NULL, 10);
		else {
			usage();
			return 2;
		}
	}
	if (!cfg.url || !cfg.root || !cfg.collection || !cfg.token || !cfg.batch ||
	    !cfg.conns) {
		usage();
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	unsigned seed = 20261126;
	double t_start = now_s();
	size_t stored = 0;
	rk_time t_first = rk_time_now();

	printf("%-9s %8s %8s %8s %8s %8s %9s %9s %9s %9s\n", "", "ingest", "window",
	       "worst", "hub", "client", "page", "page", "get", "get");
	printf("%-9s %8s %8s %8s %8s %8s %9s %9s %9s %9s\n", "objects", "obj/s", "obj/s",
	       "obj/s", "us/obj", "us/obj", "p50 ms", "p99 ms", "p50 ms", "p99 ms");
	for (size_t s = 0; s < cfg.n_sizes; s++) {
		size_t target = cfg.sizes[s], from = stored;
		double fill = 0, win_rate = 0, worst = 0;
		double hub0 = cfg.hub_pid > 0 ? proc_cpu_s(cfg.hub_pid) : -1;
		double self0 = self_cpu_s();
		/* Runs of cfg.window objects, aligned so that the last one ends
		 * at the size. */
		while (stored < target) {
			size_t run = (target - stored) % cfg.window;
			if (!run)
				run = cfg.window;
			double secs = ingest(&cfg, stored, stored + run, &errors_total);
			double rate = (double)run / secs;
			fill += secs;
			stored += run;
			if (run == cfg.window && (worst == 0 || rate < worst))
				worst = rate;
			if (cfg.trace)
				fprintf(stderr, "%.3f s: run %zu-%zu: %.0f obj/s\n",
					now_s() - t_start, stored - run, stored, rate);
			win_rate = rate;
		}
		double hub_us = hub0 >= 0 ? (proc_cpu_s(cfg.hub_pid) - hub0) * 1e6 /
						    (double)(target - from)
					  : 0;
		double self_us = (self_cpu_s() - self0) * 1e6 / (double)(target - from);
		if (worst == 0)
			worst = win_rate;
		latency l = measure_latency(&cfg, stored, t_first, rk_time_now(), &seed);
		printf("%-9zu %8.0f %8.0f %8.0f %8.1f %8.1f %9.2f %9.2f %9.2f %9.2f\n", target,
		       (double)(target - from) / fill, win_rate, worst, hub_us, self_us,
		       l.page_p50, l.page_p99, l.get_p50, l.get_p99);
		fflush(stdout);
	}
	double pull_secs = 0;
	size_t pulled = full_pull(&cfg, &pull_secs);
	printf("full pull: %zu objects in %.1f s (%.0f obj/s)\n", pulled, pull_secs,
	       (double)pulled / pull_secs);
	if (pulled != stored) {
		fprintf(stderr, "bench: pulled %zu objects, expected %zu\n", pulled, stored);
		errors_total++;
	}
	if (cfg.hub_pid > 0)
		printf("hub peak RSS: %.1f MB\n", (double)peak_rss_kib(cfg.hub_pid) / 1024.0);
	curl_global_cleanup();
	if (errors_total) {
		fprintf(stderr, "bench: %zu errors\n", errors_total);
		return 1;
	}
	return 0;
}
