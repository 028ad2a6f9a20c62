/*
 * test_decode_conformance.c: decode output against other tools' expected
 * output on the same captures, and decode throughput.
 *
 * Sources ($RK_SHARED/data, RK_SHARED defaulting to ../shared):
 *   zeek-traces/   expected/<trace>.logs/<btest>/{dns,http,ssl}.log: Zeek
 *                  TSV logs; we expect dns query, http host and uri, ssl
 *                  server_name, and id.orig_h/id.resp_h as addresses.
 *   suricata-verify/<test>/test.yaml: EVE checks; we expect dns rrname,
 *                  http.hostname, http.url, the value of an :authority or
 *                  host request header (HTTP/2), tls.sni and src_ip/dest_ip of
 *                  every filter that wants at least one record (an
 *                  answer's rrname may be a question or a CNAME target;
 *                  authority and additional records are not reported).
 *   ndpi-pcaps/    result/<pcap>.out: ndpiReader flows; for DNS, HTTP and
 *                  TLS flows we expect the Hostname/SNI among our DNS
 *                  names, HTTP hosts and SNIs, and the flow's addresses.
 * Each case prints "case NAME: N expected, N found, N missing" and the
 * first missing values. A gzip-compressed capture is unpacked to a
 * temporary file first (gzip -dc), since libpcap reads captures as they are. A case with missing values fails the source's
 * test unless the gap table below names it with a reason; a gap that no
 * longer misses anything is reported so the table can shrink. Values are
 * compared lowercased, with bytes outside printable ASCII written \xNN as
 * Zeek does. The data is never read by the product, only here.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "decode.h"

/* ------------------------------------------------------------ known gaps */

typedef struct gap {
	const char *source, *case_part, *reason;
} gap;

static const gap gaps[] = {
	{"zeek", "wikipedia.pcap/opt.basic", "'workgroup' is a NetBIOS name-service query (UDP 137), which Zeek's DNS analyzer logs; not decoded"},
	{"zeek", "dns/dynamic-update.pcap", "DNS UPDATE: Zeek logs the update section's names as query; we report the zone section only"},
	{"zeek", "dns/mdns-no-assoc.pcap", "mDNS replies without a question: Zeek logs the answer's owner name as query"},
	{"zeek", "quic/c", "QUIC: the SNI is inside the protected Initial packet; Initial decryption is not implemented"},
	{"ndpi", "dns-invalid-chars", "nDPI prints bytes outside the hostname alphabet as '?'; we report them as sent (\\xNN here)"},
	{NULL, NULL, NULL},
};

static const char *gap_for(const char *source, const char *name)
{
	for (const gap *g = gaps; g->source; g++)
		if (!strcmp(g->source, source) && strstr(name, g->case_part))
			return g->reason;
	return NULL;
}

/* ------------------------------------------------------------ string set */

#define SET_CAP 65536

typedef struct strset {
	char *v[SET_CAP];
	size_t n;
} strset;

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static int set_has(const strset *s, const char *v)
{
	for (uint32_t i = str_hash(v) % SET_CAP;; i = (i + 1) % SET_CAP) {
		if (!s->v[i])
			return 0;
		if (!strcmp(s->v[i], v))
			return 1;
	}
}

static void set_add(strset *s, const char *v)
{
	uint32_t i;
	if (s->n >= SET_CAP / 2)
		return;
	for (i = str_hash(v) % SET_CAP; s->v[i]; i = (i + 1) % SET_CAP)
		if (!strcmp(s->v[i], v))
			return;
	s->v[i] = strdup(v);
	s->n++;
}

static void set_clear(strset *s)
{
	for (size_t i = 0; i < SET_CAP; i++) {
		free(s->v[i]);
		s->v[i] = NULL;
	}
	s->n = 0;
}

/* "class:value" lowercased with \xNN escapes. */
static void norm(char *out, size_t cap, const char *cls, const char *v,
		 size_t len)
{
	size_t o = (size_t)snprintf(out, cap, "%s:", cls);
	for (size_t i = 0; i < len && o + 5 < cap; i++) {
		uint8_t c = (uint8_t)v[i];
		if (c < 0x20 || c > 0x7e)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
		else
			out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out[o] = 0;
}

static strset expected, found;

static void expect(const char *cls, const char *v)
{
	char k[2048];
	if (!*v || !strcmp(v, "-") || !strcmp(v, "(empty)"))
		return;
	/* expected values are already escaped text: only lowercase them;
	 * addresses are rewritten in inet_ntop's form ("2001:db8::1"). */
	uint8_t a[16];
	char at[64];
	if (!strcmp(cls, "addr") && strchr(v, ':') &&
	    inet_pton(AF_INET6, v, a) == 1 && inet_ntop(AF_INET6, a, at, sizeof at))
		v = at;
	snprintf(k, sizeof k, "%s:%s", cls, v);
	for (char *p = k; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	set_add(&expected, k);
}

#define DECODE_URL_CMP 1024

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void on_obs(const decode_observable *o, void *user)
{
	char k[4200];
	(void)user;
	switch (o->kind) {
	case DECODE_ADDR_SRC:
	case DECODE_ADDR_DST:
		norm(k, sizeof k, "addr", o->value, o->len);
		set_add(&found, k);
		return;
	case DECODE_DNS_ANSWER:
		norm(k, sizeof k, "dnsname", o->value, o->len);
		set_add(&found, k);
		return;
	case DECODE_DNS_QUERY:
		norm(k, sizeof k, "dnsname", o->value, o->len);
		set_add(&found, k);
		norm(k, sizeof k, "dns", o->value, o->len);
		break;
	case DECODE_HTTP_HOST:
		norm(k, sizeof k, "host", o->value, o->len);
		break;
	case DECODE_HTTP_URL:
		norm(k, sizeof k, "url", o->value, o->len);
		break;
	case DECODE_TLS_SNI:
		norm(k, sizeof k, "sni", o->value, o->len);
		break;
	default:
		return;
	}
	set_add(&found, k);
	if (o->kind == DECODE_HTTP_URL) {
		/* Zeek logs the URI percent-decoded: keep that form too. */
		char dec[DECODE_URL_CMP];
		size_t n = 0;
		for (size_t i = 0; i < o->len && n < sizeof dec; i++) {
			int hi, lo;
			if (o->value[i] == '%' && i + 2 < o->len &&
			    (hi = hexv(o->value[i + 1])) >= 0 &&
			    (lo = hexv(o->value[i + 2])) >= 0) {
				dec[n++] = (char)(hi << 4 | lo);
				i += 2;
			} else
				dec[n++] = o->value[i];
		}
		norm(k, sizeof k, "url", dec, n);
		set_add(&found, k);
	}
	if (o->kind != DECODE_HTTP_URL) {
		norm(k, sizeof k, "name", o->value, o->len);
		set_add(&found, k);
	}
}

typedef struct tally {
	int cases, passed, known, failed;
	int empty; /* cases whose checks name nothing we decode */
} tally;

/* Decodes pcap, compares with `expected`, prints the case line. */
static void run_case(tally *t, const char *source, const char *name,
		     const char *pcap)
{
	decode_ctx *d = decode_new(NULL, on_obs, NULL);
	rk_errctx ctx;
	size_t nfound = 0, shown = 0;
	const char *reason = gap_for(source, name);

	assert_non_null(d);
	rk_errctx_clear(&ctx);
	if (strlen(pcap) > 3 && !strcmp(pcap + strlen(pcap) - 3, ".gz")) {
		/* libpcap reads captures uncompressed: gunzip to a file */
		char tmp[] = "/tmp/rk-decode-XXXXXX", cmd[4200];
		int fd = mkstemp(tmp);
		assert_true(fd >= 0);
		close(fd);
		snprintf(cmd, sizeof cmd, "gzip -dc '%s' > '%s'", pcap, tmp);
		if (system(cmd) == 0 && decode_pcap_file(d, tmp, &ctx) != RK_OK)
			printf("  (%s)\n", ctx.msg);
		unlink(tmp);
	} else if (decode_pcap_file(d, pcap, &ctx) != RK_OK)
		printf("  (%s)\n", ctx.msg);
	for (size_t i = 0; i < SET_CAP; i++) {
		if (!expected.v[i])
			continue;
		if (set_has(&found, expected.v[i]))
			nfound++;
		else if (shown++ < 4)
			printf("  missing %s\n", expected.v[i]);
	}
	printf("case %s: %zu expected, %zu found, %zu missing%s%s\n", name,
	       expected.n, nfound, expected.n - nfound,
	       reason && nfound < expected.n ? " (known gap: " : "",
	       reason && nfound < expected.n ? reason : "");
	if (reason && nfound < expected.n)
		printf("  )\n");
	if (reason && nfound == expected.n)
		printf("  known gap now passes: remove it from the table\n");
	t->cases++;
	if (expected.n == 0)
		t->empty++;
	if (nfound == expected.n)
		t->passed++;
	else if (reason)
		t->known++;
	else
		t->failed++;
	decode_free(d);
	set_clear(&expected);
	set_clear(&found);
}

static void report(const tally *t, const char *source)
{
	printf("%s: %d cases (%d with nothing we decode to compare), "
	       "%d passed, %d known gaps, %d failed\n",
	       source, t->cases, t->empty, t->passed, t->known, t->failed);
	assert_true(t->cases > 0);
	assert_int_equal(t->failed, 0);
}

static char shared_dir[1024];

static int have_dir(const char *sub, char *out, size_t cap)
{
	struct stat sb;
	snprintf(out, cap, "%s/data/%s", shared_dir, sub);
	return stat(out, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* ------------------------------------------------------------ Zeek */

static void zeek_log(const char *path)
{
	char line[16384];
	int col[6] = {-1, -1, -1, -1, -1, -1};
	static const char *const names[6] = {"query", "host", "uri",
					     "server_name", "id.orig_h",
					     "id.resp_h"};
	static const char *const cls[6] = {"dns", "host", "url", "sni",
					   "addr", "addr"};
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *save = NULL, *tok;
		int i = 0;
		line[strcspn(line, "\r\n")] = 0;
		if (!strncmp(line, "#fields\t", 8)) {
			for (tok = strtok_r(line + 8, "\t", &save); tok;
			     tok = strtok_r(NULL, "\t", &save), i++)
				for (int k = 0; k < 6; k++)
					if (!strcmp(tok, names[k]))
						col[k] = i;
			continue;
		}
		if (line[0] == '#')
			continue;
		/* tabs separate, fields are never empty ("-" or "(empty)") */
		for (tok = strtok_r(line, "\t", &save); tok;
		     tok = strtok_r(NULL, "\t", &save), i++)
			for (int k = 0; k < 6; k++)
				if (col[k] == i)
					expect(cls[k], tok);
	}
	fclose(f);
}

static void zeek_walk(tally *t, const char *root, const char *dir)
{
	char path[2048];
	DIR *dh = opendir(dir);
	struct dirent *e;

	if (!dh)
		return;
	while ((e = readdir(dh))) {
		struct stat sb;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (stat(path, &sb) || !S_ISDIR(sb.st_mode))
			continue;
		size_t nl = strlen(e->d_name);
		if (nl > 5 && !strcmp(e->d_name + nl - 5, ".logs")) {
			/* one case per btest directory under the trace */
			DIR *bh = opendir(path);
			struct dirent *b;
			char trace[2048], rel[1024];
			snprintf(rel, sizeof rel, "%s/%.*s",
				 dir + strlen(root), (int)(nl - 5), e->d_name);
			snprintf(trace, sizeof trace, "%s/../traces%s", root,
				 rel);
			while (bh && (b = readdir(bh))) {
				char logdir[2400], lp[2500], name[2048];
				int any = 0;
				if (b->d_name[0] == '.')
					continue;
				snprintf(logdir, sizeof logdir, "%s/%s", path,
					 b->d_name);
				static const char *const logs[] = {
					"dns.log", "http.log", "ssl.log"};
				for (int k = 0; k < 3; k++) {
					struct stat ls;
					snprintf(lp, sizeof lp, "%s/%s", logdir,
						 logs[k]);
					if (!stat(lp, &ls)) {
						zeek_log(lp);
						any = 1;
					}
				}
				if (!any)
					continue;
				snprintf(name, sizeof name, "zeek:%s/%s",
					 rel + 1, b->d_name);
				run_case(t, "zeek", name, trace);
			}
			if (bh)
				closedir(bh);
			continue;
		}
		zeek_walk(t, root, path);
	}
	closedir(dh);
}

static void test_zeek(void **state)
{
	char root[1100];
	tally t = {0};
	(void)state;
	if (!have_dir("zeek-traces/expected", root, sizeof root))
		skip();
	zeek_walk(&t, root, root);
	report(&t, "zeek");
}

/* ------------------------------------------------------------ Suricata */

static void unquote(char *v)
{
	size_t n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\r'))
		v[--n] = 0;
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		memmove(v, v + 1, n - 2);
		v[n - 2] = 0;
	}
}

static void suricata_yaml(const char *path)
{
	char line[4096];
	long count = -1;
	char host_header[256] = ""; /* "http.request_headers[N]" naming the host */
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *p = line, *colon, *v;
		const char *cls = NULL;
		line[strcspn(line, "\n")] = 0;
		while (*p == ' ' || *p == '-')
			p++;
		if (!strncmp(p, "filter:", 7)) {
			count = -1;
			continue;
		}
		colon = strchr(p, ':');
		if (!colon)
			continue;
		*colon = 0;
		v = colon + 1;
		while (*v == ' ')
			v++;
		unquote(v);
		if (!strcmp(p, "count")) {
			count = strtol(v, NULL, 10);
			continue;
		}
		if (count == 0)
			continue; /* a check that the value is absent */
		if (strstr(p, "dns") && strstr(p, "rrname") &&
		    strstr(p, "answers"))
			cls = "dnsname"; /* a question or a CNAME target */
		else if (strstr(p, "dns") && strstr(p, "rrname") &&
		    !strstr(p, "authorities") && !strstr(p, "additionals"))
			cls = "dns";
		else if (!strcmp(p, "http.hostname"))
			cls = "host";
		else if (!strcmp(p, "http.url"))
			cls = "url";
		else if (!strcmp(p, "tls.sni"))
			cls = "sni";
		else if (!strncmp(p, "http.request_headers[", 21) &&
			 strlen(p) > 5 && !strcmp(p + strlen(p) - 5, ".name")) {
			/* HTTP/2: the :authority (or host) request header */
			host_header[0] = 0;
			if (!strcasecmp(v, ":authority") || !strcasecmp(v, "host"))
				snprintf(host_header, sizeof host_header, "%.*s",
					 (int)(strlen(p) - 5), p);
		} else if (host_header[0] && !strncmp(p, host_header, strlen(host_header)) &&
			   !strcmp(p + strlen(host_header), ".value"))
			cls = "host";
		else if (!strcmp(p, "src_ip") || !strcmp(p, "dest_ip") ||
			 !strcmp(p, "flow.src_ip") || !strcmp(p, "flow.dest_ip"))
			cls = "addr";
		if (cls)
			expect(cls, v);
	}
	fclose(f);
}

static void test_suricata(void **state)
{
	char root[1100];
	tally t = {0};
	DIR *dh;
	struct dirent *e;
	(void)state;
	if (!have_dir("suricata-verify", root, sizeof root))
		skip();
	dh = opendir(root);
	assert_non_null(dh);
	while ((e = readdir(dh))) {
		char dir[2048], yaml[4096], pcap[4096] = "", name[300];
		DIR *th;
		struct dirent *f;
		if (e->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
		snprintf(yaml, sizeof yaml, "%s/test.yaml", dir);
		th = opendir(dir);
		if (!th)
			continue;
		while ((f = readdir(th))) {
			size_t n = strlen(f->d_name);
			if (n > 5 && (!strcmp(f->d_name + n - 5, ".pcap") ||
				      !strcmp(f->d_name + n - 7, ".pcapng")))
				snprintf(pcap, sizeof pcap, "%s/%s", dir,
					 f->d_name);
		}
		closedir(th);
		if (!pcap[0])
			continue;
		suricata_yaml(yaml);
		snprintf(name, sizeof name, "suricata:%s", e->d_name);
		run_case(&t, "suricata", name, pcap);
	}
	closedir(dh);
	report(&t, "suricata");
}

/* ------------------------------------------------------------ nDPI */

static void ndpi_addr(char *tok)
{
	char *port = strrchr(tok, ':');
	if (!port)
		return;
	*port = 0;
	if (tok[0] == '[') {
		tok++;
		tok[strlen(tok) - 1] = 0;
	}
	expect("addr", tok);
}

static void ndpi_out(const char *path)
{
	char line[16384];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *h = strstr(line, "[Hostname/SNI: ");
		char *pr = strstr(line, "[proto: ");
		char l4[16], a[256], b[256], host[1024];
		int idx;
		if (!pr || sscanf(line, " %d %15s %255s <-> %255s", &idx, l4,
				  a, b) != 4)
			continue;
		char *m = strchr(pr, '/');
		if (!m)
			continue;
		m++;
		if (strncmp(m, "DNS", 3) && strncmp(m, "HTTP", 4) &&
		    strncmp(m, "TLS", 3))
			continue;
		if (m[0] == 'H' && m[4] != '.' && m[4] != ']')
			continue; /* HTTP_Proxy, HTTP_Connect... */
		ndpi_addr(a);
		ndpi_addr(b);
		if (h && sscanf(h + 15, "%1023[^]]", host) == 1)
			expect("name", host);
	}
	fclose(f);
}

static void test_ndpi(void **state)
{
	char root[1100], rdir[1200];
	tally t = {0};
	DIR *dh;
	struct dirent *e;
	(void)state;
	if (!have_dir("ndpi-pcaps", root, sizeof root))
		skip();
	snprintf(rdir, sizeof rdir, "%s/result", root);
	dh = opendir(rdir);
	assert_non_null(dh);
	while ((e = readdir(dh))) {
		char out[4096], pcap[4096], name[300];
		size_t n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 4, ".out"))
			continue;
		snprintf(out, sizeof out, "%s/%s", rdir, e->d_name);
		snprintf(pcap, sizeof pcap, "%s/pcap/%.*s", root,
			 (int)(n - 4), e->d_name);
		ndpi_out(out);
		snprintf(name, sizeof name, "ndpi:%.*s", (int)(n - 4),
			 e->d_name);
		run_case(&t, "ndpi", name, pcap);
	}
	closedir(dh);
	report(&t, "ndpi");
}

/* ------------------------------------------------------------ throughput */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void count_obs(const decode_observable *o, void *user)
{
	(*(size_t *)user) += o->len;
}

/* Not an assertion on speed: prints decode against a plain libpcap read
 * of the same file (tcpdump -w /dev/null is not installed everywhere). */
static void test_throughput(void **state)
{
	char root[1100], pcap[1300];
	const int rounds = 20;
	double t0, t_read, t_dec;
	uint64_t pkts = 0, bytes = 0;
	size_t sink = 0;
	(void)state;
	if (!have_dir("ndpi-pcaps/pcap", root, sizeof root))
		skip();
	snprintf(pcap, sizeof pcap, "%s/1kxun.pcap", root);
	t0 = now_s();
	for (int r = 0; r < rounds; r++) {
		char eb[PCAP_ERRBUF_SIZE];
		struct pcap_pkthdr *h;
		const u_char *data;
		pcap_t *pc = pcap_open_offline(pcap, eb);
		assert_non_null(pc);
		while (pcap_next_ex(pc, &h, &data) == 1) {
			pkts++;
			bytes += h->caplen;
			sink += data[0];
		}
		pcap_close(pc);
	}
	t_read = now_s() - t0;
	decode_ctx *d = decode_new(NULL, count_obs, &sink);
	assert_non_null(d);
	t0 = now_s();
	for (int r = 0; r < rounds; r++) {
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		assert_int_equal(decode_pcap_file(d, pcap, &ctx), RK_OK);
	}
	t_dec = now_s() - t0;
	assert_int_equal(decode_get_stats(d)->packets, pkts);
	printf("throughput %s x%d: %llu packets, %.1f MB\n", "1kxun.pcap",
	       rounds, (unsigned long long)pkts, (double)bytes / 1e6);
	printf("  libpcap read only: %.0f packets/s, %.0f MB/s\n",
	       (double)pkts / t_read, (double)bytes / 1e6 / t_read);
	printf("  read + decode:     %.0f packets/s, %.0f MB/s\n",
	       (double)pkts / t_dec, (double)bytes / 1e6 / t_dec);
	for (int k = 0; k < DECODE_KIND_COUNT; k++)
		printf("  %-16s %llu\n", decode_kind_name((decode_kind)k),
		       (unsigned long long)decode_get_stats(d)->observables[k]);
	for (int e = 0; e < DECODE_E_COUNT; e++)
		if (decode_get_stats(d)->errors[e])
			printf("  error %-40s %llu (last packet %llu)\n",
			       decode_strerror((decode_err)e),
			       (unsigned long long)decode_get_stats(d)->errors[e],
			       (unsigned long long)decode_get_stats(d)->last_error_packet[e]);
	decode_free(d);
	(void)sink;
}

int main(void)
{
	const char *s = getenv("RK_SHARED");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zeek),
		cmocka_unit_test(test_suricata),
		cmocka_unit_test(test_ndpi),
		cmocka_unit_test(test_throughput),
	};
	snprintf(shared_dir, sizeof shared_dir, "%s", s ? s : "../shared");
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
