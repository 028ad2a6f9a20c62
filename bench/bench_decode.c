/*
 * bench_decode.c: what the sensor's input decoders cost on one thread.
 *
 * The sensor sweeps indicators over logs and captures with one reader and
 * worker threads; this measures one thread's share, the decoders and the
 * matcher's lookups, without the engine around them, on the inputs that
 * bench/gen_sensor.c makes from its fixed seed:
 *
 *   bench_decode VALUES log FILE    logs_read_file (automatic format) and a
 *                                   lookup of every address and domain
 *   bench_decode VALUES pcap FILE   decode_pcap_file (raw_addresses) and a
 *                                   lookup of every address, DNS name and
 *                                   answer, HTTP host and URL, TLS SNI
 *   bench_decode - floor FILE       the libpcap read floor: pcap_next_ex
 *                                   over every record (what
 *                                   `tcpdump -r FILE -w /dev/null` costs)
 *   bench_decode - records FILE     decode_pcap_open/next over every record
 *                                   (the capture reader alone)
 *   bench_decode - wc FILE          read(2) by 1 MiB and count newlines
 *                                   (what `wc -l` costs)
 *   bench_decode VALUES build -     the matcher alone: build time, its
 *                                   bytes (match_get_stats) and the
 *                                   process's peak RSS (VmHWM) against the
 *                                   values as text, then lookups/s of
 *                                   addresses and domains that are no
 *                                   indicator
 *
 * VALUES is gen_sensor's FILE.txt (one indicator value a line: addresses
 * and domains); each becomes `[ipv4-addr:value = '...']` or
 * `[domain-name:value = '...']` in a matcher built first and not timed.
 * With VALUES "-" the decoders run without lookups. Each mode prints the
 * wall time and the process's CPU time of the sweep, and the counts (lines
 * or packets, observables, lookups, hits) that say it read what it should.
 * Nothing here allocates per line or packet either.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "decode.h"
#include "logs.h"
#include "match.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static unsigned long long hits, lookups;

static void on_hit(void *arg, uint32_t handle)
{
	(void)arg;
	(void)handle;
	hits++;
}

static uint32_t host_order(const uint8_t a[4])
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

/* An address as text (a DNS answer): parsed, then looked up. */
static void lookup_addr_text(const match *m, const char *v, size_t len)
{
	char tmp[64];
	uint8_t a[16];
	if (len >= sizeof tmp)
		return;
	memcpy(tmp, v, len);
	tmp[len] = 0;
	lookups++;
	if (inet_pton(AF_INET, tmp, a) == 1)
		match_ipv4(m, host_order(a), on_hit, NULL);
	else if (inet_pton(AF_INET6, tmp, a) == 1)
		match_ipv6(m, a, on_hit, NULL);
}

static void lookup_name(const match *m, const char *v, size_t len)
{
	lookups++;
	match_domain(m, v, len, on_hit, NULL);
}

static int on_obs(const logs_obs *o, void *arg)
{
	const match *m = arg;
	if (!m)
		return 0;
	lookups++;
	switch (o->kind) {
	case LOGS_KIND_IPV4:
		match_ipv4(m, host_order(o->addr), on_hit, NULL);
		break;
	case LOGS_KIND_IPV6:
		match_ipv6(m, o->addr, on_hit, NULL);
		break;
	case LOGS_KIND_DOMAIN: { /* the key in one pass, as match_observe takes it */
		match_key key;
		if (match_domain_key(o->val, o->len, &key))
			match_domain_keyed(m, o->val, &key, on_hit, NULL);
		break;
	}
	case LOGS_KIND_URL:
		match_url(m, o->val, o->len, on_hit, NULL);
		break;
	default:
		lookups--;
		break;
	}
	return 0;
}

static void on_pkt(const decode_observable *o, void *arg)
{
	const match *m = arg;
	if (!m)
		return;
	switch (o->kind) {
	case DECODE_ADDR_SRC:
	case DECODE_ADDR_DST: {
		const uint8_t *a = o->kind == DECODE_ADDR_SRC ? o->flow->src : o->flow->dst;
		lookups++;
		if (o->flow->family == 4)
			match_ipv4(m, host_order(a), on_hit, NULL);
		else
			match_ipv6(m, a, on_hit, NULL);
		break;
	}
	case DECODE_DNS_ANSWER:
		if (o->rrtype == 1 || o->rrtype == 28)
			lookup_addr_text(m, o->value, o->len);
		else /* a CNAME target or a record's owner is a name */
			lookup_name(m, o->value, o->len);
		break;
	case DECODE_DNS_QUERY:
	case DECODE_HTTP_HOST:
	case DECODE_TLS_SNI:
		lookup_name(m, o->value, o->len);
		break;
	case DECODE_HTTP_URL:
		lookups++;
		match_url(m, o->value, o->len, on_hit, NULL);
		break;
	default:
		break;
	}
}

static size_t text_bytes;

static match *load(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512], pat[600], id[64];
	match_builder *b = match_builder_new(0, NULL, NULL);
	match *m = NULL;
	rk_errctx ctx;
	size_t i = 0;

	if (!f || !b) {
		fprintf(stderr, "bench_decode: cannot read %s\n", path);
		exit(2);
	}
	rk_errctx_clear(&ctx);
	while (fgets(line, sizeof line, f)) {
		text_bytes += strlen(line);
		line[strcspn(line, "\n")] = 0;
		const char *type = strchr(line, ':') ? "ipv6-addr"
				   : strspn(line, "0123456789.") == strlen(line) ? "ipv4-addr"
				   : "domain-name";
		snprintf(pat, sizeof pat, "[%s:value = '%s']", type, line);
		snprintf(id, sizeof id, "indicator--%08zx-0000-4000-8000-000000000000", i++);
		if (match_builder_add(b, id, pat, 0, 0, false, &ctx) != RK_OK) {
			fprintf(stderr, "bench_decode: %s\n", ctx.msg);
			exit(2);
		}
	}
	fclose(f);
	if (match_build(b, &m, &ctx) != RK_OK) {
		fprintf(stderr, "bench_decode: %s\n", ctx.msg);
		exit(2);
	}
	match_builder_free(b);
	return m;
}

static long vm_kib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, key, n))
			v = atol(line + n);
	if (f)
		fclose(f);
	return v;
}

/* Lookups of values that are no indicator: random addresses (a few hit by
 * chance), and domains of the indicators' shape from a stream of their own. */
static void build_mode(const match *m, double built, long rss0)
{
	enum { N_ADDR = 20000000, N_DOM = 4000000 };
	static char dom[N_DOM / 16][40];
	match_stats st;
	uint64_t s = 12345;
	size_t mem;
	double t;

	match_get_stats(m, &st);
	mem = st.table_bytes + st.arena_bytes;
	printf("build    %.2f s: %zu keys; tables %zu + arena %zu = %zu bytes (%.2fx the "
	       "%zu bytes of values as text)\n",
	       built, st.keys, st.table_bytes, st.arena_bytes, mem, (double)mem / text_bytes,
	       text_bytes);
	printf("memory   peak RSS %ld kB (%.2fx text), %ld kB at start, %ld kB now\n",
	       vm_kib("VmHWM:"), vm_kib("VmHWM:") * 1024.0 / text_bytes, rss0, vm_kib("VmRSS:"));
	t = now_s();
	for (unsigned i = 0; i < N_ADDR; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		lookups++;
		match_ipv4(m, (uint32_t)(s >> 32), on_hit, NULL);
	}
	t = now_s() - t;
	printf("ipv4     %.1f M lookups/s of random addresses (%llu hits)\n", N_ADDR / t / 1e6,
	       hits);
	for (size_t i = 0; i < N_DOM / 16; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		snprintf(dom[i], sizeof dom[i], "w%08x-%06x.example-%u.net", (unsigned)(s >> 32),
			 (unsigned)(s >> 8) & 0xffffff, (unsigned)(s & 31));
	}
	hits = 0;
	t = now_s();
	for (unsigned i = 0; i < N_DOM; i++) {
		const char *d = dom[(i * 2654435761u) % (N_DOM / 16)];
		match_domain(m, d, strlen(d), on_hit, NULL);
	}
	t = now_s() - t;
	printf("domain   %.1f M lookups/s of absent domains (%llu hits)\n", N_DOM / t / 1e6, hits);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_decode VALUES|- log|pcap|floor|records|wc|build FILE\n");
		return 2;
	}
	const char *mode = argv[2], *file = argv[3];
	match *m = NULL;
	long rss0 = vm_kib("VmRSS:");
	double t0 = now_s(), c0;

	if (strcmp(argv[1], "-") != 0) {
		match_stats st;
		m = load(argv[1]);
		match_get_stats(m, &st);
		if (!strcmp(mode, "build")) {
			build_mode(m, now_s() - t0, rss0);
			match_free(m);
			return 0;
		}
		printf("matcher  %zu keys, built in %.2f s\n", st.keys, now_s() - t0);
	}
	t0 = now_s();
	c0 = cpu_s();
	if (!strcmp(mode, "log")) {
		logs_reader r;
		rk_err err = logs_reader_init(&r, LOGS_FMT_AUTO, 0, on_obs, NULL, m);
		if (err == RK_OK)
			logs_reader_lazy_time(&r); /* as the sensor reads them */
		if (err != RK_OK || logs_read_file(&r, file) != RK_OK) {
			fprintf(stderr, "bench_decode: cannot read %s\n", file);
			return 1;
		}
		printf("log      %.3f s wall, %.3f s cpu: %llu lines, %llu observables, "
		       "%llu lookups, %llu hits, %llu bad\n",
		       now_s() - t0, cpu_s() - c0, (unsigned long long)r.stats.lines,
		       (unsigned long long)r.stats.observables, lookups, hits,
		       (unsigned long long)(r.stats.bad_tsv + r.stats.bad_utf8 +
					    r.stats.bad_json + r.stats.too_long));
		logs_reader_cleanup(&r);
	} else if (!strcmp(mode, "pcap")) {
		decode_config cfg;
		decode_ctx *d;
		rk_errctx ctx;
		unsigned long long obs = 0;
		decode_config_default(&cfg);
		cfg.raw_addresses = 1;
		d = decode_new(&cfg, on_pkt, m);
		rk_errctx_clear(&ctx);
		if (!d || decode_pcap_file(d, file, &ctx) != RK_OK) {
			fprintf(stderr, "bench_decode: %s\n", d ? ctx.msg : "out of memory");
			return 1;
		}
		const decode_stats *s = decode_get_stats(d);
		for (int k = 0; k < DECODE_KIND_COUNT; k++)
			obs += s->observables[k];
		printf("pcap     %.3f s wall, %.3f s cpu: %llu packets, %llu observables, "
		       "%llu lookups, %llu hits\n",
		       now_s() - t0, cpu_s() - c0, (unsigned long long)s->packets, obs,
		       lookups, hits);
		decode_free(d);
	} else if (!strcmp(mode, "floor")) {
		char eb[PCAP_ERRBUF_SIZE];
		pcap_t *pc = pcap_open_offline(file, eb);
		struct pcap_pkthdr *h;
		const u_char *data;
		unsigned long long n = 0;
		if (!pc) {
			fprintf(stderr, "bench_decode: %s\n", eb);
			return 1;
		}
		while (pcap_next_ex(pc, &h, &data) == 1)
			n++;
		pcap_close(pc);
		printf("floor    %.3f s wall, %.3f s cpu: %llu packets\n", now_s() - t0,
		       cpu_s() - c0, n);
	} else if (!strcmp(mode, "records")) {
		rk_errctx ctx;
		decode_pcap *r;
		const uint8_t *data;
		size_t caplen;
		int64_t ts;
		unsigned long long n = 0;
		rk_errctx_clear(&ctx);
		if (!(r = decode_pcap_open(file, &ctx))) {
			fprintf(stderr, "bench_decode: %s\n", ctx.msg);
			return 1;
		}
		while (decode_pcap_next(r, &data, &caplen, &ts, &ctx) == 1)
			n++;
		decode_pcap_close(r);
		printf("records  %.3f s wall, %.3f s cpu: %llu packets\n", now_s() - t0,
		       cpu_s() - c0, n);
	} else if (!strcmp(mode, "wc")) {
		static char buf[1 << 20];
		int fd = open(file, O_RDONLY);
		ssize_t k;
		unsigned long long nl = 0;
		if (fd < 0) {
			fprintf(stderr, "bench_decode: cannot open %s\n", file);
			return 1;
		}
		while ((k = read(fd, buf, sizeof buf)) > 0)
			for (char *p = buf, *e = buf + k;
			     (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
				nl++;
		close(fd);
		printf("wc       %.3f s wall, %.3f s cpu: %llu lines\n", now_s() - t0,
		       cpu_s() - c0, nl);
	} else {
		fprintf(stderr, "bench_decode: unknown mode %s\n", mode);
		return 2;
	}
	match_free(m);
	return 0;
}
