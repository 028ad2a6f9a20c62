/*
 * test_decode_conformance.c: decode output against other tools' expected
 * output on the same captures, and decode throughput.
 *
 * Sources ($RK_SHARED/data, RK_SHARED defaulting to ../shared):
 *   zeek-traces/   expected/<trace>.logs/<btest>/{dns,http,ssl,conn,
 *                  tunnel}.log: Zeek TSV logs; we expect dns query (a
 *                  question, or with no qtype a record's owner name),
 *                  dns answers that are addresses, names (record targets)
 *                  or an UPDATE's added records, http host, uri and user_agent, ssl
 *                  server_name, and id.orig_h/id.resp_h as addresses;
 *                  ssl cert_chain_fps and x509 fingerprint (the server's
 *                  certificates, unless the line says TLS 1.3).
 *   suricata-verify/[<group>/]<test>/test.yaml: EVE checks; we expect the
 *                  values of suricata_keys (DNS question and answer names,
 *                  grouped A/AAAA/CNAME/MX/NS/PTR data, HTTP host, URL and
 *                  User-Agent, TLS SNI, the server certificate's SHA-1
 *                  fingerprint, colons dropped, addresses), the value of an
 *                  :authority or host request header (HTTP/2), the values[0] of a
 *                  quic.extensions[N] named server_name, the rdata of A,
 *                  AAAA, CNAME, NS, MX, PTR, DNAME, SVCB and HTTPS records
 *                  and the soa.mname and srv.name of SOA and SRV records,
 *                  in answers, authorities and additionals, from every
 *                  filter that wants at least one record, and the addresses listed in a
 *                  file-compare check's expected file (a dataset's state).
 *   ndpi-pcaps/    result/<pcap>.out: ndpiReader flows; every flow's
 *                  addresses, and for DNS, LLMNR, mDNS, NetBIOS (port
 *                  137), HTTP, TLS and QUIC flows the Hostname/SNI among our DNS
 *                  names, HTTP hosts and SNIs (a '?' in a hostname stands
 *                  for a byte outside the hostname alphabet, as nDPI
 *                  writes it: ndpi_name); for HTTP flows also the URL
 *                  (Host and target) and User-Agent, as prefixes of ours
 *                  since nDPI cuts them.
 * Each case prints "case NAME: N expected, N found, N missing" and the
 * first missing values. A gzip-compressed capture is unpacked to a
 * temporary file first (gzip -dc), since libpcap reads captures as they are. A case with missing values fails the source's
 * test unless the gap table below names it with a reason; a gap that no
 * longer misses anything fails the test too, so the table stays true. Values are
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

/* A value that begins with p (for a tool that cut what it printed). */
static int set_has_prefix(const strset *s, const char *p)
{
	size_t n = strlen(p);
	for (size_t i = 0; i < SET_CAP; i++)
		if (s->v[i] && !strncmp(s->v[i], p, n))
			return 1;
	return 0;
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
	if ((!strcmp(cls, "addr") || !strcmp(cls, "dnsname")) && strchr(v, ':') &&
	    inet_pton(AF_INET6, v, a) == 1 && inet_ntop(AF_INET6, a, at, sizeof at))
		v = at;
	snprintf(k, sizeof k, "%s:%s", cls, v);
	for (char *p = k; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	if (!strcmp(cls, "cert")) { /* Suricata's "aa:bb:..": the hex alone */
		char *w = k + 5;
		for (const char *r = k + 5; *r; r++)
			if (*r != ':')
				*w++ = *r;
		*w = 0;
	}
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

/* nDPI writes a DNS name's bytes outside [-._0-9A-Za-z] as '?' (its
 * dns_validchar table): a name holding such bytes is also kept in that
 * form, which an nDPI hostname with '?' in it is compared with. */
static void ndpi_name(const char *v, size_t len)
{
	char k[1100];
	size_t o = (size_t)snprintf(k, sizeof k, "ndpiname:");
	int odd = 0;
	for (size_t i = 0; i < len && o + 1 < sizeof k; i++) {
		char c = v[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_')) {
			c = '?';
			odd = 1;
		}
		k[o++] = c;
	}
	k[o] = 0;
	if (odd)
		set_add(&found, k);
}

/* nDPI's [URL: ...] is the request's Host and target run together (cut,
 * so compared as a prefix); the target comes first (the request line), so
 * the last one seen waits for its Host. */
static char last_url[DECODE_URL_CMP];

static void ndpi_url(const char *host, size_t hlen)
{
	char v[2 * DECODE_URL_CMP], k[4200];
	int n;
	if (!last_url[0])
		return;
	n = snprintf(v, sizeof v, "%.*s%s", (int)hlen, host, last_url);
	if (n < 0 || (size_t)n >= sizeof v)
		n = (int)sizeof v - 1;
	norm(k, sizeof k, "ndpiurl", v, (size_t)n);
	set_add(&found, k);
	last_url[0] = 0;
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
		ndpi_url(o->value, o->len);
		break;
	case DECODE_HTTP_URL:
		norm(k, sizeof k, "url", o->value, o->len);
		snprintf(last_url, sizeof last_url, "%.*s", (int)o->len, o->value);
		break;
	case DECODE_TLS_SNI:
		norm(k, sizeof k, "sni", o->value, o->len);
		break;
	case DECODE_HTTP_UA:
		norm(k, sizeof k, "ua", o->value, o->len);
		set_add(&found, k);
		return;
	case DECODE_TLS_CERT_SHA1:
	case DECODE_TLS_CERT_SHA256:
		norm(k, sizeof k, "cert", o->value, o->len);
		set_add(&found, k);
		return;
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
		ndpi_name(o->value, o->len);
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
	last_url[0] = 0;
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
		if (set_has(&found, expected.v[i]) ||
		    (!strncmp(expected.v[i], "pfx:", 4) &&
		     set_has_prefix(&found, expected.v[i] + 4)))
			nfound++;
		else if (shown++ < 4)
			printf("  missing %s\n", expected.v[i]);
	}
	size_t ncert = 0, ncert_found = 0;
	for (size_t i = 0; i < SET_CAP; i++)
		if (expected.v[i] && !strncmp(expected.v[i], "cert:", 5)) {
			ncert++;
			ncert_found += (size_t)set_has(&found, expected.v[i]);
		}
	if (ncert)
		printf("  certificates: %zu expected, %zu found\n", ncert, ncert_found);
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
	if (nfound == expected.n && reason)
		t->failed++; /* the gap table must say only what is true */
	else if (nfound == expected.n)
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

/* dns.log's answers (a set, ','-separated): addresses of A and AAAA
 * records, names of CNAME, PTR, MX, NS, SRV records and SOA's MNAME,
 * other records as "TYPE n text" or "TYPE: data", UPDATE records as
 * "add: A name address". We report the addresses and every one of those
 * names (decode_dnsrr.c), so both bare forms are expected, and the names
 * of an UPDATE's added records with their addresses. */
static void zeek_answers(char *v)
{
	char *save = NULL;
	for (char *a = strtok_r(v, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		uint8_t bin[16];
		char name[256], addr[64];
		if (inet_pton(AF_INET, a, bin) == 1 || inet_pton(AF_INET6, a, bin) == 1)
			expect("dnsname", a);
		else if (!strchr(a, ' ') && !strchr(a, ':') && strcmp(a, "-") &&
			 strcmp(a, "(empty)"))
			expect("dnsname", a); /* a bare name: a record's target */
		else if (sscanf(a, "add: %*s %255s %63s", name, addr) == 2) {
			expect("dnsname", name);
			if (inet_pton(AF_INET, addr, bin) == 1 ||
			    inet_pton(AF_INET6, addr, bin) == 1)
				expect("dnsname", addr);
		}
	}
}

/* ssl.log's cert_chain_fps (a set) and x509.log's fingerprint: the
 * server's certificates, expected unless the line's version is TLS 1.3
 * (whose certificates are encrypted). client_cert_chain_fps is not
 * expected: a client's certificates are not read. */
static void zeek_certs(char *v)
{
	char *save = NULL;
	for (char *a = strtok_r(v, ",", &save); a; a = strtok_r(NULL, ",", &save))
		expect("cert", a);
}

static void zeek_log(const char *path)
{
	char line[65536];
	int col[7] = {-1, -1, -1, -1, -1, -1, -1}, qtype_col = -1, answers_col = -1;
	int certs_col = -1, version_col = -1;
	static const char *const names[7] = {"query", "host", "uri",
					     "server_name", "id.orig_h",
					     "id.resp_h", "user_agent"};
	static const char *const cls[7] = {"dns", "host", "url", "sni",
					   "addr", "addr", "ua"};
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *save = NULL, *tok;
		int i = 0;
		line[strcspn(line, "\r\n")] = 0;
		if (!strncmp(line, "#fields\t", 8)) {
			for (tok = strtok_r(line + 8, "\t", &save); tok;
			     tok = strtok_r(NULL, "\t", &save), i++) {
				for (int k = 0; k < 7; k++)
					if (!strcmp(tok, names[k]))
						col[k] = i;
				if (!strcmp(tok, "qtype"))
					qtype_col = i;
				if (!strcmp(tok, "answers"))
					answers_col = i;
				if (!strcmp(tok, "cert_chain_fps") || !strcmp(tok, "fingerprint"))
					certs_col = i;
				if (!strcmp(tok, "version"))
					version_col = i;
			}
			continue;
		}
		if (line[0] == '#')
			continue;
		/* tabs separate, fields are never empty ("-" or "(empty)");
		 * a query without a qtype is no question: Zeek logs a record's
		 * owner name there (an mDNS announcement, an UPDATE's names),
		 * which we report as an answer name */
		char *query = NULL, *certs = NULL;
		int no_qtype = 0, tls13 = 0;
		for (tok = strtok_r(line, "\t", &save); tok;
		     tok = strtok_r(NULL, "\t", &save), i++) {
			for (int k = 0; k < 7; k++)
				if (col[k] == i && k == 0)
					query = tok;
				else if (col[k] == i)
					expect(cls[k], tok);
			if (i == qtype_col && !strcmp(tok, "-"))
				no_qtype = 1;
			if (i == answers_col)
				zeek_answers(tok);
			if (i == certs_col)
				certs = tok;
			if (i == version_col && !strncmp(tok, "TLSv13", 6))
				tls13 = 1;
		}
		if (query)
			expect(no_qtype ? "dnsname" : "dns", query);
		if (certs && !tls13)
			zeek_certs(certs);
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
					"dns.log", "http.log", "ssl.log",
					"conn.log", "tunnel.log", "x509.log"};
				for (int k = 0; k < 6; k++) {
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

/* quic.extensions[N].name and .values[0] of one filter, in either order:
 * the value is expected when its extension is server_name. */
#define QUIC_EXT_MAX 32
typedef struct quic_ext {
	int is_sni[QUIC_EXT_MAX];
	char value[QUIC_EXT_MAX][256];
} quic_ext;

static void quic_ext_line(quic_ext *q, const char *key, const char *v)
{
	int n;
	char rest[32];
	if (sscanf(key, "quic.extensions[%d].%31s", &n, rest) != 2 || n < 0 ||
	    n >= QUIC_EXT_MAX)
		return;
	if (!strcmp(rest, "name") && !strcmp(v, "server_name")) {
		q->is_sni[n] = 1;
		if (q->value[n][0])
			expect("sni", q->value[n]);
	} else if (!strcmp(rest, "values[0]")) {
		snprintf(q->value[n], sizeof q->value[n], "%s", v);
		if (q->is_sni[n])
			expect("sni", v);
	}
}

/* The EVE keys whose values we decode, an index "[n]" written "[]". */
static const struct {
	const char *key, *cls;
} suricata_keys[] = {
	{"dns.rrname", "dns"},           /* EVE v1 */
	{"dns.queries[].rrname", "dns"}, /* v2 requests and v3 */
	{"dns.query[].rrname", "dns"},
	/* an answer's owner: a question, a CNAME target or a name the
	 * message names first there */
	{"dns.answers[].rrname", "dnsname"},
	{"dns.grouped.A[]", "dnsname"},
	{"dns.grouped.AAAA[]", "dnsname"},
	{"dns.grouped.CNAME[]", "dnsname"},
	{"dns.grouped.MX[]", "dnsname"},
	{"dns.grouped.NS[]", "dnsname"},
	{"dns.grouped.PTR[]", "dnsname"},
	/* the hosts named by SOA and SRV records (EVE v2 and v3 write them
	 * as objects), in any section */
	{"dns.answers[].soa.mname", "dnsname"},
	{"dns.authorities[].soa.mname", "dnsname"},
	{"dns.additionals[].soa.mname", "dnsname"},
	{"dns.answers[].srv.name", "dnsname"},
	{"dns.authorities[].srv.name", "dnsname"},
	{"dns.additionals[].srv.name", "dnsname"},
	{"http.hostname", "host"},
	{"http.url", "url"},
	{"http.http_user_agent", "ua"},
	{"tls.sni", "sni"},
	{"tls.fingerprint", "cert"}, /* the server's; tls.client.* are not read */
	{"src_ip", "addr"},
	{"dest_ip", "addr"},
	{"flow.src_ip", "addr"},
	{"flow.dest_ip", "addr"},
	{"tunnel.src_ip", "addr"},
	{"tunnel.dest_ip", "addr"},
};

/* dns.answers[n].rdata is expected when dns.answers[n].rrtype, in the same
 * filter and in either order, is a type whose data we report (an address
 * or the host it names: decode_dnsrr.c); the same for dns.authorities[n]
 * and dns.additionals[n]. SOA and SRV data are written as objects (their
 * names are in suricata_keys); TXT, SSHFP and the others are not ours. */
#define EVE_ANSWERS 64
#define EVE_SECTIONS 3

static const char *const eve_sections[EVE_SECTIONS] = {
	"dns.answers[]", "dns.authorities[]", "dns.additionals[]"};

typedef struct eve_answers {
	char rdata[EVE_SECTIONS][EVE_ANSWERS][256];
	char rrtype[EVE_SECTIONS][EVE_ANSWERS][16];
} eve_answers;

static void eve_answers_flush(eve_answers *ans)
{
	static const char *const ours[] = {"A", "AAAA", "CNAME", "NS", "MX",
					   "PTR", "DNAME", "SVCB", "HTTPS"};
	for (int s = 0; s < EVE_SECTIONS; s++)
		for (int i = 0; i < EVE_ANSWERS; i++) {
			for (size_t k = 0; ans->rdata[s][i][0] &&
					   k < sizeof ours / sizeof ours[0]; k++)
				if (!strcmp(ans->rrtype[s][i], ours[k]))
					expect("dnsname", ans->rdata[s][i]);
			ans->rdata[s][i][0] = ans->rrtype[s][i][0] = 0;
		}
}

/* key is "<section>.rdata" or "<section>.rrtype" of eve_sections: its
 * value is kept for eve_answers_flush. 1 if it was one of them. */
static int eve_answers_line(eve_answers *ans, const char *key, int idx,
			    const char *v)
{
	for (int s = 0; s < EVE_SECTIONS; s++) {
		size_t n = strlen(eve_sections[s]);
		if (strncmp(key, eve_sections[s], n))
			continue;
		if (idx < 0 || idx >= EVE_ANSWERS)
			return 0;
		if (!strcmp(key + n, ".rdata"))
			snprintf(ans->rdata[s][idx], sizeof ans->rdata[s][idx], "%s", v);
		else if (!strcmp(key + n, ".rrtype"))
			snprintf(ans->rrtype[s][idx], sizeof ans->rrtype[s][idx], "%s", v);
		else
			return 0;
		return 1;
	}
	return 0;
}

/* A file-compare check's expected file (a dataset's state: one value a
 * line); the lines that are addresses are expected as addresses. */
static void suricata_file(const char *yaml, const char *rel)
{
	char path[4096], line[512];
	const char *slash = strrchr(yaml, '/');
	FILE *f;
	snprintf(path, sizeof path, "%.*s/%s", (int)(slash - yaml), yaml, rel);
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof line, f)) {
		uint8_t bin[16];
		line[strcspn(line, "\r\n,")] = 0;
		if (inet_pton(AF_INET, line, bin) == 1 || inet_pton(AF_INET6, line, bin) == 1)
			expect("addr", line);
	}
	fclose(f);
}

static void suricata_yaml(const char *path)
{
	static eve_answers ans;
	char line[4096], next[4096];
	long count = -1;
	quic_ext qx;
	int have_next;
	int host_header = -1; /* http.request_headers[N] naming the host */
	FILE *f = fopen(path, "r");

	memset(&qx, 0, sizeof qx);

	if (!f)
		return;
	have_next = fgets(next, sizeof next, f) != NULL;
	while (have_next) {
		char *p = line, *colon, *v, key[256];
		size_t kn = 0, ind;
		int idx = -1;
		snprintf(line, sizeof line, "%s", next);
		line[strcspn(line, "\n")] = 0;
		ind = strspn(line, " ");
		/* a plain scalar folded over more-indented lines that hold no
		 * key: joined with single spaces (YAML 1.2 section 7.3.3) */
		while ((have_next = fgets(next, sizeof next, f) != NULL)) {
			size_t ni = strspn(next, " ");
			next[strcspn(next, "\n")] = 0;
			if (ni <= ind || next[ni] == '-' || next[ni] == '#' ||
			    !next[ni] || strstr(next, ": ") || next[strlen(next) - 1] == ':')
				break;
			size_t ln = strlen(line);
			snprintf(line + ln, sizeof line - ln, " %s", next + ni);
		}
		while (*p == ' ' || *p == '-')
			p++;
		if (!strncmp(p, "filter:", 7)) {
			eve_answers_flush(&ans);
			count = -1;
			memset(&qx, 0, sizeof qx);
			host_header = -1;
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
		if (!strncmp(p, "quic.extensions[", 16)) {
			quic_ext_line(&qx, p, v);
			continue;
		}
		/* the key with its indexes dropped: "a[3].b" -> "a[].b" */
		for (const char *q = p; *q && kn + 1 < sizeof key; q++) {
			key[kn++] = *q;
			if (*q == '[') {
				if (idx < 0)
					idx = atoi(q + 1);
				while (q[1] >= '0' && q[1] <= '9')
					q++;
			}
		}
		key[kn] = 0;
		if (!strcmp(key, "expected")) {
			suricata_file(path, v);
			continue;
		}
		/* HTTP/2: the value of the :authority (or host) request header */
		if (!strcmp(key, "http.request_headers[].name")) {
			host_header = !strcasecmp(v, ":authority") || !strcasecmp(v, "host") ? idx : -1;
			continue;
		}
		if (!strcmp(key, "http.request_headers[].value")) {
			if (idx >= 0 && idx == host_header)
				expect("host", v);
			continue;
		}
		if (eve_answers_line(&ans, key, idx, v))
			continue;
		for (size_t k = 0; k < sizeof suricata_keys / sizeof suricata_keys[0]; k++)
			if (!strcmp(key, suricata_keys[k].key))
				expect(suricata_keys[k].cls, v);
	}
	eve_answers_flush(&ans);
	fclose(f);
}

/* A directory holding test.yaml and a capture is a case; the others
 * (dns/, tls/) are walked for theirs. */
static void suricata_walk(tally *t, const char *root, const char *dir)
{
	char yaml[4096], pcap[4096] = "", name[1300];
	DIR *th = opendir(dir);
	struct dirent *f;
	struct stat sb;

	if (!th)
		return;
	snprintf(yaml, sizeof yaml, "%s/test.yaml", dir);
	while ((f = readdir(th))) {
		size_t n = strlen(f->d_name);
		char sub[4096];
		if (f->d_name[0] == '.')
			continue;
		if (n > 5 && (!strcmp(f->d_name + n - 5, ".pcap") ||
			      (n > 7 && !strcmp(f->d_name + n - 7, ".pcapng"))))
			snprintf(pcap, sizeof pcap, "%s/%s", dir, f->d_name);
		snprintf(sub, sizeof sub, "%s/%s", dir, f->d_name);
		if (stat(yaml, &sb) != 0 && stat(sub, &sb) == 0 &&
		    S_ISDIR(sb.st_mode))
			suricata_walk(t, root, sub);
	}
	closedir(th);
	if (!pcap[0] || stat(yaml, &sb) != 0)
		return;
	suricata_yaml(yaml);
	snprintf(name, sizeof name, "suricata:%s", dir + strlen(root) + 1);
	run_case(t, "suricata", name, pcap);
}

static void test_suricata(void **state)
{
	char root[1100];
	tally t = {0};
	(void)state;
	if (!have_dir("suricata-verify", root, sizeof root))
		skip();
	suricata_walk(&t, root, root);
	report(&t, "suricata");
}

/* ------------------------------------------------------------ nDPI */

/* "1.2.3.4:80" or "[2001:db8::1]:80": the address; the port's number
 * when port is given. */
static void ndpi_addr(char *tok, long *port_out)
{
	char *port = strrchr(tok, ':');
	if (!port)
		return;
	*port = 0;
	if (port_out)
		*port_out = strtol(port + 1, NULL, 10);
	if (tok[0] == '[') {
		tok++;
		tok[strlen(tok) - 1] = 0;
	}
	expect("addr", tok);
}

/* A field's value up to its closing ']', brackets inside it balanced (a
 * User-Agent may hold "[...]"). */
static int ndpi_field(const char *p, char *out, size_t cap)
{
	size_t n = 0;
	int depth = 0;
	for (; *p && n + 1 < cap; p++) {
		if (*p == ']' && depth-- == 0)
			break;
		if (*p == '[')
			depth++;
		out[n++] = *p;
	}
	out[n] = 0;
	return n > 0;
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
		char l4[16], a[256], arrow[4], b[256], host[1024];
		int idx;
		long pa = 0, pb = 0;
		if (!pr || sscanf(line, " %d %15s %255s %3s %255s", &idx, l4,
				  a, arrow, b) != 5 ||
		    (strcmp(arrow, "<->") && strcmp(arrow, "->")))
			continue;
		/* every flow's addresses, whatever its protocol */
		ndpi_addr(a, &pa);
		ndpi_addr(b, &pb);
		char *m = strchr(pr, '/');
		if (!m)
			continue;
		m++;
		/* names: DNS and its multicast kin, NetBIOS names (port 137;
		 * 138 is the datagram service), HTTP Host, TLS SNI */
		if (strncmp(m, "DNS", 3) && strncmp(m, "HTTP", 4) &&
		    strncmp(m, "TLS", 3) && strncmp(m, "QUIC", 4) &&
		    strncmp(m, "LLMNR", 5) &&
		    strncmp(m, "MDNS", 4) &&
		    (strncmp(m, "NetBIOS", 7) || (pa != 137 && pb != 137)))
			continue;
		if (m[0] == 'H' && m[4] != '.' && m[4] != ']')
			continue; /* HTTP_Proxy, HTTP_Connect... */
		if (h && sscanf(h + 15, "%1023[^]]", host) == 1)
			expect(strchr(host, '?') ? "ndpiname" : "name", host);
		/* HTTP flows: the first request's Host and target, and its
		 * User-Agent, as far as nDPI printed them (it cuts a URL at
		 * 255 bytes and a header at the end of the packet it read) */
		char *u = strstr(line, "[URL: "), *ua = strstr(line, "[User-Agent: ");
		if (u && m[0] == 'H' && ndpi_field(u + 6, host, sizeof host)) {
			/* the Host's port is not part of the host we report */
			char *slash = strchr(host, '/'), *colon = strchr(host, ':');
			if (colon && slash && colon < slash)
				memmove(colon, slash, strlen(slash) + 1);
			expect("pfx:ndpiurl", host);
		}
		if (ua && m[0] == 'H' && ndpi_field(ua + 13, host, sizeof host))
			expect("pfx:ua", host);
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
