/*
 * test_logs_real.c: the logs module against the real Zeek and Suricata logs
 * in $RK_SHARED/data/logs (RK_SHARED defaults to ../shared).
 *
 * For every log there, the observables the module finds are counted per
 * (field, kind) and compared with a count made here independently: JSON
 * lines through jansson (a tree walk over every string leaf), Zeek TSV by
 * splitting each line on tabs; values are classified with inet_pton and
 * POSIX regular expressions rather than the module's hand-written
 * classifier. Bad lines are compared too (jansson's rejections against
 * bad_json + bad_utf8). Compressed logs are unpacked with gzip into a
 * temporary directory that is removed afterwards.
 *
 * Throughput on the largest log is printed beside `wc -l` on the same file
 * (a figure, not an assertion). RK_LOGS_BIG=1 also writes a 3-million-line
 * Zeek DNS log to the temporary directory and sweeps it.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "logs.h"

typedef struct counts {
	uint64_t n[LOGS_FIELD_COUNT][LOGS_KIND_COUNT];
	uint64_t bad;
	uint64_t no_ts;
} counts;

static char tmpdir[64];
static char logsdir[1024];
static regex_t re_domain;

/* ------------------------------------------------------------ the module */

static int on_obs(const logs_obs *o, void *arg)
{
	counts *c = arg;
	c->n[o->field][o->kind]++;
	if (!o->has_ts)
		c->no_ts++;
	return 0;
}

/* ------------------------------------------------------------ independent */

enum { M_ADDR, M_HOST, M_URI, M_UA, M_HASH, M_EMAIL, M_URL, M_SUBJECT, M_TS, M_CERT };

static const struct spec {
	const char *path;
	int mode;
	logs_field field;
} specs[] = {
	{"id.orig_h", M_ADDR, LOGS_FIELD_CONN_SRC},
	{"id.resp_h", M_ADDR, LOGS_FIELD_CONN_DST},
	{"query", M_HOST, LOGS_FIELD_DNS_QUERY},
	{"answers", M_HOST, LOGS_FIELD_DNS_ANSWER},
	{"host", M_HOST, LOGS_FIELD_HTTP_HOST},
	{"uri", M_URI, LOGS_FIELD_HTTP_URI},
	{"user_agent", M_UA, LOGS_FIELD_HTTP_UA},
	{"server_name", M_HOST, LOGS_FIELD_TLS_SNI},
	{"cert_chain_fps", M_CERT, LOGS_FIELD_TLS_CERT},
	{"client_cert_chain_fps", M_CERT, LOGS_FIELD_TLS_CERT},
	{"tx_hosts", M_ADDR, LOGS_FIELD_CONN_SRC},
	{"rx_hosts", M_ADDR, LOGS_FIELD_CONN_DST},
	{"md5", M_HASH, LOGS_FIELD_FILE_HASH},
	{"sha1", M_HASH, LOGS_FIELD_FILE_HASH},
	{"sha256", M_HASH, LOGS_FIELD_FILE_HASH},
	{"fingerprint", M_CERT, LOGS_FIELD_TLS_CERT},
	{"certificate.subject", M_SUBJECT, LOGS_FIELD_X509_SUBJECT},
	{"san.dns", M_HOST, LOGS_FIELD_X509_SAN},
	{"san.uri", M_URL, LOGS_FIELD_X509_SAN},
	{"san.email", M_EMAIL, LOGS_FIELD_X509_SAN},
	{"san.ip", M_ADDR, LOGS_FIELD_X509_SAN},
	{"src_ip", M_ADDR, LOGS_FIELD_CONN_SRC},
	{"dest_ip", M_ADDR, LOGS_FIELD_CONN_DST},
	{"dns.rrname", M_HOST, LOGS_FIELD_DNS_QUERY},
	{"dns.rdata", M_HOST, LOGS_FIELD_DNS_ANSWER},
	{"dns.queries.rrname", M_HOST, LOGS_FIELD_DNS_QUERY},
	{"dns.answers.rdata", M_HOST, LOGS_FIELD_DNS_ANSWER},
	{"dns.grouped.A", M_HOST, LOGS_FIELD_DNS_ANSWER},
	{"dns.grouped.AAAA", M_HOST, LOGS_FIELD_DNS_ANSWER},
	{"dns.grouped.CNAME", M_HOST, LOGS_FIELD_DNS_ANSWER},
	{"http.hostname", M_HOST, LOGS_FIELD_HTTP_HOST},
	{"http.url", M_URI, LOGS_FIELD_HTTP_URI},
	{"http.http_user_agent", M_UA, LOGS_FIELD_HTTP_UA},
	{"tls.sni", M_HOST, LOGS_FIELD_TLS_SNI},
	{"tls.subject", M_SUBJECT, LOGS_FIELD_X509_SUBJECT},
	{"tls.fingerprint", M_CERT, LOGS_FIELD_TLS_CERT},
	{"fileinfo.md5", M_HASH, LOGS_FIELD_FILE_HASH},
	{"fileinfo.sha1", M_HASH, LOGS_FIELD_FILE_HASH},
	{"fileinfo.sha256", M_HASH, LOGS_FIELD_FILE_HASH},
};

static const struct spec *spec_find(const char *path)
{
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		if (strcmp(specs[i].path, path) == 0)
			return &specs[i];
	return NULL;
}

static int classify(const char *v)
{
	unsigned char b[16];
	size_t n = strlen(v);
	if ((n == 32 || n == 40 || n == 64 || n == 128) &&
	    strspn(v, "0123456789abcdefABCDEF") == n)
		return n == 32 ? LOGS_KIND_MD5 : n == 40 ? LOGS_KIND_SHA1
			: n == 64 ? LOGS_KIND_SHA256 : LOGS_KIND_SHA512;
	if (inet_pton(AF_INET, v, b) == 1)
		return LOGS_KIND_IPV4;
	if (inet_pton(AF_INET6, v, b) == 1)
		return LOGS_KIND_IPV6;
	if (regexec(&re_domain, v, 0, NULL, 0) == 0)
		return LOGS_KIND_DOMAIN;
	const char *at = strchr(v, '@');
	if (at && at != v && regexec(&re_domain, at + 1, 0, NULL, 0) == 0 &&
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+/=?^_`{|}~-") ==
		    (size_t)(at - v))
		return LOGS_KIND_EMAIL;
	return -1;
}

static void count_value(counts *c, const struct spec *s, const char *v)
{
	int k;
	if (!*v)
		return;
	switch (s->mode) {
	case M_URI:
		c->n[s->field][LOGS_KIND_URL]++;
		return;
	case M_UA:
		c->n[s->field][LOGS_KIND_UA]++;
		return;
	case M_SUBJECT: {
		/* "CN=x" and "emailAddress=y" components, split on unescaped ','
		 * with strtok over a copy in which escaped commas are masked */
		char *cp = strdup(v), *save = NULL;
		for (char *p = cp; *p; p++)
			if (p[0] == '\\' && p[1])
				p[1] = p[1] == ',' ? '\x01' : p[1], p++;
		for (char *t = strtok_r(cp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			while (*t == ' ')
				t++;
			if (strncmp(t, "CN=", 3) == 0) {
				t += 3;
				if (t[0] == '*' && t[1] == '.')
					t += 2;
				k = classify(t);
				if (k == LOGS_KIND_DOMAIN || k == LOGS_KIND_IPV4 || k == LOGS_KIND_IPV6)
					c->n[s->field][k]++;
			} else if (strncmp(t, "emailAddress=", 13) == 0) {
				if (classify(t + 13) == LOGS_KIND_EMAIL)
					c->n[s->field][LOGS_KIND_EMAIL]++;
			}
		}
		free(cp);
		return;
	}
	case M_CERT: {
		/* hex, or hex bytes joined by colons: the colons dropped */
		char hex[200];
		size_t n = 0, len = strlen(v);
		int colons = len > 2 && v[2] == ':';
		for (size_t i = 0; i < len && n < sizeof hex - 1; i++) {
			if (colons && i % 3 == 2) {
				if (v[i] != ':')
					return;
				continue;
			}
			hex[n++] = v[i];
		}
		hex[n] = 0;
		if (colons && len % 3 != 2)
			return;
		if (strspn(hex, "0123456789abcdefABCDEF") != n || (n != 40 && n != 64))
			return;
		c->n[s->field][n == 40 ? LOGS_KIND_X509_SHA1 : LOGS_KIND_X509_SHA256]++;
		return;
	}
	default:
		break;
	}
	k = classify(v);
	if (s->mode == M_URL)
		k = strstr(v, "://") ? LOGS_KIND_URL : -1;
	if (k < 0)
		return;
	if (s->mode == M_ADDR && k != LOGS_KIND_IPV4 && k != LOGS_KIND_IPV6)
		return;
	if (s->mode == M_HOST && k != LOGS_KIND_IPV4 && k != LOGS_KIND_IPV6 &&
	    k != LOGS_KIND_DOMAIN)
		return;
	if (s->mode == M_HASH && (k < LOGS_KIND_MD5 || k > LOGS_KIND_SHA512))
		return;
	if (s->mode == M_EMAIL && k != LOGS_KIND_EMAIL)
		return;
	c->n[s->field][k]++;
}

static void walk(counts *c, json_t *v, const char *path)
{
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach(v, k, x) {
			char p[512];
			snprintf(p, sizeof(p), "%s%s%s", path, *path ? "." : "", k);
			walk(c, x, p);
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) walk(c, x, path);
	} else if (json_is_string(v)) {
		const struct spec *s = spec_find(path);
		if (s)
			count_value(c, s, json_string_value(v));
	}
}

static void tsv_unescape(char *v)
{
	char *o = v;
	for (char *p = v; *p; p++) {
		unsigned x;
		if (p[0] == '\\' && p[1] == '\\') {
			*o++ = '\\';
			p++;
		} else if (p[0] == '\\' && p[1] == 'x' && p[2] && p[3] &&
			   sscanf(p + 2, "%2x", &x) == 1 && strspn(p + 2, "0123456789abcdefABCDEF") >= 2) {
			*o++ = (char)x;
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

static void independent(const char *file, counts *c)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	char *cols[128];
	int ncols = 0;
	assert_non_null(f);
	while ((n = getline(&line, &cap, f)) >= 0) {
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (line[0] == '{') {
			json_t *v = json_loadb(line, (size_t)n, 0, NULL);
			if (!v) {
				c->bad++;
				continue;
			}
			walk(c, v, "");
			json_decref(v);
			continue;
		}
		if (strncmp(line, "#fields\t", 8) == 0) {
			for (int i = 0; i < ncols; i++)
				free(cols[i]);
			ncols = 0;
			char *save = NULL;
			for (char *t = strtok_r(line + 8, "\t", &save); t && ncols < 128;
			     t = strtok_r(NULL, "\t", &save))
				cols[ncols++] = strdup(t);
			continue;
		}
		if (line[0] == '#')
			continue;
		/* a data line: split on every tab (empty fields kept) */
		int i = 0;
		char *p = line;
		for (;;) {
			char *e = strchr(p, '\t');
			if (e)
				*e = '\0';
			const struct spec *s = i < ncols ? spec_find(cols[i]) : NULL;
			int set = s && s->mode != M_URI && s->mode != M_UA && s->mode != M_SUBJECT;
			if (s && strcmp(p, "-") != 0 && strcmp(p, "(empty)") != 0) {
				char *save = NULL;
				if (set) {
					for (char *t = strtok_r(p, ",", &save); t;
					     t = strtok_r(NULL, ",", &save)) {
						tsv_unescape(t);
						count_value(c, s, t);
					}
				} else {
					tsv_unescape(p);
					count_value(c, s, p);
				}
			}
			i++;
			if (!e)
				break;
			p = e + 1;
		}
	}
	for (int i = 0; i < ncols; i++)
		free(cols[i]);
	free(line);
	fclose(f);
}

/* ------------------------------------------------------------ files */

static int setup(void **state)
{
	(void)state;
	const char *shared = getenv("RK_SHARED");
	snprintf(logsdir, sizeof(logsdir), "%s/data/logs", shared ? shared : "../shared");
	strcpy(tmpdir, "/tmp/rk-logs-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	/* labels of letters, digits, '_' and inner '-'; a last label of two or
	 * more with a letter; an optional final dot */
	if (regcomp(&re_domain,
		    "^([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\\.)+"
		    "([A-Za-z0-9_]*[A-Za-z][A-Za-z0-9_]*|[A-Za-z0-9_][A-Za-z0-9_-]*[A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9_])\\.?$",
		    REG_EXTENDED | REG_NOSUB) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	regfree(&re_domain);
	return system(cmd) == 0 ? 0 : -1;
}

/* Makes a plain copy of a (possibly gzipped) log in tmpdir. */
static void plain_copy(const char *path, char *out, size_t outsz)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char cmd[3072];
	snprintf(out, outsz, "%s/%s", tmpdir, base);
	size_t l = strlen(out);
	if (l > 3 && strcmp(out + l - 3, ".gz") == 0) {
		out[l - 3] = '\0';
		snprintf(cmd, sizeof(cmd), "gzip -dc '%s' > '%s'", path, out);
	} else {
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", path, out);
	}
	assert_int_equal(system(cmd), 0);
}

static int is_log(const char *name)
{
	size_t n = strlen(name);
	const char *ends[] = {".log", ".log.gz", ".json", ".json.gz"};
	if (strstr(name, "schema"))
		return 0;
	for (size_t i = 0; i < 4; i++) {
		size_t e = strlen(ends[i]);
		if (n > e && strcmp(name + n - e, ends[i]) == 0)
			return 1;
	}
	return 0;
}

static size_t find_logs(const char *dir, char (*out)[1024], size_t max, size_t n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d)
		return n;
	while ((e = readdir(d)) && n < max) {
		char p[1024];
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (stat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			n = find_logs(p, out, max, n);
		else if (is_log(e->d_name))
			snprintf(out[n++], 1024, "%s", p);
	}
	closedir(d);
	return n;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_real_logs(void **state)
{
	(void)state;
	static char files[64][1024];
	size_t nf = find_logs(logsdir, files, 64, 0);
	if (nf == 0)
		skip();
	uint64_t total = 0;
	for (size_t i = 0; i < nf; i++) {
		char plain[1024];
		counts mine, theirs;
		logs_reader r;
		plain_copy(files[i], plain, sizeof(plain));
		memset(&mine, 0, sizeof(mine));
		memset(&theirs, 0, sizeof(theirs));
		assert_int_equal(logs_reader_init(&r, LOGS_FMT_AUTO, 0, on_obs, NULL, &mine), RK_OK);
		assert_int_equal(logs_read_file(&r, plain), RK_OK);
		mine.bad = r.stats.bad_json + r.stats.bad_utf8;
		independent(plain, &theirs);
		int differ = 0;
		for (int f = 0; f < LOGS_FIELD_COUNT; f++)
			for (int k = 0; k < LOGS_KIND_COUNT; k++) {
				if (mine.n[f][k] != theirs.n[f][k]) {
					printf("%s: %s %s: module %llu, independent %llu\n",
					       files[i] + strlen(logsdir) + 1, logs_field_name((logs_field)f),
					       logs_kind_name((logs_kind)k),
					       (unsigned long long)mine.n[f][k],
					       (unsigned long long)theirs.n[f][k]);
					differ = 1;
				}
			}
		printf("%-60s %8llu lines %8llu observables %llu bad, %llu without ts\n",
		       files[i] + strlen(logsdir) + 1, (unsigned long long)r.stats.lines,
		       (unsigned long long)r.stats.observables, (unsigned long long)mine.bad,
		       (unsigned long long)mine.no_ts);
		total += r.stats.observables;
		assert_int_equal(mine.bad, theirs.bad);
		assert_false(differ);
		/* every observable of a Zeek or EVE line carries its timestamp,
		 * except in dcso-fever's null sample, which has none to carry */
		if (!strstr(files[i], "nulls"))
			assert_int_equal(mine.no_ts, 0);
		logs_reader_cleanup(&r);
		unlink(plain);
	}
	assert_true(total > 100000);
}

/* Known values from the first data line of the Zeek DNS log. */
static int first_obs(const logs_obs *o, void *arg)
{
	logs_obs *out = arg;
	*out = *o;
	return 1;
}

static void test_first_dns_line(void **state)
{
	(void)state;
	char src[1200], plain[1024];
	logs_obs o;
	logs_reader r;
	snprintf(src, sizeof(src), "%s/zeek/zed-sample-data/zeek-default/dns.log.gz", logsdir);
	if (access(src, R_OK) != 0)
		skip();
	plain_copy(src, plain, sizeof(plain));
	memset(&o, 0, sizeof(o));
	assert_int_equal(logs_reader_init(&r, LOGS_FMT_AUTO, 0, first_obs, NULL, &o), RK_OK);
	assert_int_equal(logs_read_file(&r, plain), RK_OK);
	assert_true(r.stopped);
	assert_int_equal(o.kind, LOGS_KIND_IPV4);
	assert_int_equal(o.field, LOGS_FIELD_CONN_SRC);
	assert_int_equal(o.len, 11);
	assert_int_equal(o.line, 9);
	assert_int_equal(r.line, 9);
	assert_int_equal(r.stats.too_long, 0);
	assert_true(o.has_ts);
	assert_int_equal(o.ts_us, 1521911720865716LL);
	logs_reader_cleanup(&r);
	unlink(plain);
}

/* ------------------------------------------------------------ throughput */

static void wc_l(const char *path, uint64_t *lines, double *secs)
{
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "wc -l < '%s'", path);
	double t0 = now();
	FILE *p = popen(cmd, "r");
	unsigned long long n = 0;
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%llu", &n), 1);
	pclose(p);
	*secs = now() - t0;
	*lines = n;
}

static void sweep(const char *label, const char *path)
{
	logs_reader r;
	struct stat st;
	uint64_t wl;
	double ws;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(logs_reader_init(&r, LOGS_FMT_AUTO, 0, NULL, NULL, NULL), RK_OK);
	/* once to warm the page cache, then measured */
	assert_int_equal(logs_read_file(&r, path), RK_OK);
	memset(&r.stats, 0, sizeof(r.stats));
	double t0 = now();
	assert_int_equal(logs_read_file(&r, path), RK_OK);
	double secs = now() - t0;
	wc_l(path, &wl, &ws);
	printf("throughput %s: %llu lines, %.1f MB, %llu observables in %.3f s: "
	       "%.2f M lines/s, %.0f MB/s; wc -l: %.3f s, %.0f MB/s\n",
	       label, (unsigned long long)r.stats.lines, (double)st.st_size / 1e6,
	       (unsigned long long)r.stats.observables, secs,
	       (double)r.stats.lines / secs / 1e6, (double)st.st_size / 1e6 / secs, ws,
	       (double)st.st_size / 1e6 / ws);
	assert_int_equal(r.stats.lines, wl);
	logs_reader_cleanup(&r);
}

static void test_throughput(void **state)
{
	(void)state;
	char src[1200], plain[1024];
	const char *names[] = {"zeek/zed-sample-data/zeek-json/dns.json.gz",
			       "zeek/zed-sample-data/zeek-default/dns.log.gz"};
	for (int i = 0; i < 2; i++) {
		snprintf(src, sizeof(src), "%s/%s", logsdir, names[i]);
		if (access(src, R_OK) != 0)
			skip();
		plain_copy(src, plain, sizeof(plain));
		sweep(names[i], plain);
		if (i == 1 && getenv("RK_LOGS_BIG")) {
			/* 3,000,000 data lines: the real lines over and over */
			char big[1100], cmd[4096];
			snprintf(big, sizeof(big), "%s/dns-3m.log", tmpdir);
			snprintf(cmd, sizeof(cmd),
				 "{ grep '^#' '%s' | grep -v '^#close'; "
				 "for i in $(seq 60); do grep -v '^#' '%s'; done | head -n 3000000; } > '%s'",
				 plain, plain, big);
			assert_int_equal(system(cmd), 0);
			sweep("generated Zeek DNS, 3M lines", big);
			unlink(big);
		}
		unlink(plain);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_logs),
		cmocka_unit_test(test_first_dns_line),
		cmocka_unit_test(test_throughput),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
