/*
 * test_sensor_engine.c: the sensor engine over generated inputs.
 *
 * Inputs come from the benchmark's generator (bench/gen_sensor.c, built
 * next to this program), which knows how many lines and packets carry an
 * indicator value. For a Zeek dns.log the hits must be exactly its count,
 * with 1 and 3 workers alike, and every hit's line number must name a line
 * of the file that holds the value. For a pcap, the packets with hits must
 * be exactly the generator's count, the hits the same for 1 and 2 workers,
 * and each hit packet must carry the value's bytes. Hand-made packets
 * check that names outside a question (an mDNS announcement, a DNS
 * UPDATE, a NetBIOS name query) reach domain indicators.
 *
 * Hot swap: a followed log gets lines in two phases with a swap between
 * them, and each phase must hit exactly the indicators of the matcher in
 * force; then a hundred swaps race three workers over a large log, and
 * every hit must belong to one of the two matchers; the same race with a
 * LIKE and a REPEATS pattern (a correlator per matcher) must hit every
 * line once with the LIKE and at most every other line with the REPEATS.
 * Bad input (a truncated
 * capture, a runt packet, lines that are not UTF-8 or not JSON) is counted
 * with its file position; bad input specs and missing files are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "sensor.h"

static char gen_path[1024];
static char dir[64];

static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static uint64_t read_number(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	unsigned long long n = 0;
	assert_int_equal(fscanf(f, "%llu", &n), 1);
	fclose(f);
	return n;
}

/* ------------------------------------------------------------ hit collection */

typedef struct rec {
	char id[80];
	char value[128];
	uint64_t where; /* line or packet */
	uint16_t sport, dport;
} rec;

typedef struct collect {
	pthread_mutex_t mu;
	rec *r;
	size_t n, cap;
} collect;

static void on_hit(const sensor_hit *h, void *arg)
{
	collect *c = arg;
	pthread_mutex_lock(&c->mu);
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->r = realloc(c->r, c->cap * sizeof(*c->r));
	}
	rec *r = &c->r[c->n++];
	snprintf(r->id, sizeof r->id, "%s", h->indicator_id);
	snprintf(r->value, sizeof r->value, "%.*s", (int)h->value_len, h->value);
	r->where = h->from_packet ? h->packet : h->line;
	r->sport = h->sport;
	r->dport = h->dport;
	pthread_mutex_unlock(&c->mu);
}

static void collect_init(collect *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
}

static void collect_free(collect *c)
{
	free(c->r);
	pthread_mutex_destroy(&c->mu);
}

static size_t collect_count(collect *c)
{
	pthread_mutex_lock(&c->mu);
	size_t n = c->n;
	pthread_mutex_unlock(&c->mu);
	return n;
}

static int rec_cmp(const void *a, const void *b)
{
	const rec *x = a, *y = b;
	if (x->where != y->where)
		return x->where < y->where ? -1 : 1;
	int c = strcmp(x->id, y->id);
	return c ? c : strcmp(x->value, y->value);
}

static match *build(sensor_intel *in)
{
	match *m = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(sensor_intel_build(in, rk_time_now(), NULL, NULL, &m, &ctx), RK_OK);
	return m;
}

static sensor_intel *load(const char *path)
{
	sensor_intel *in = sensor_intel_new();
	size_t bad = 1;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(sensor_intel_load_bundle(in, path, NULL, NULL, &bad, &ctx), RK_OK);
	assert_int_equal(bad, 0);
	return in;
}

/* Runs one offline sweep and returns its hits, sorted. */
/* A sensor configured as cfg with matcher m (NULL: none yet), started on
 * the input spec, its hits going to c. */
static sensor *start(const sensor_config *cfg, match *m, const char *spec, collect *c)
{
	sensor_input in;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	sensor *s = sensor_new(cfg, m);
	assert_non_null(s);
	assert_int_equal(sensor_input_parse(spec, &in, &ctx), RK_OK);
	assert_int_equal(sensor_add_input(s, &in, &ctx), RK_OK);
	assert_int_equal(sensor_add_sink(s, on_hit, c), RK_OK);
	assert_int_equal(sensor_start(s, &ctx), RK_OK);
	return s;
}

static void sweep(match *m, unsigned threads, const char *spec, collect *c, sensor_stats *st)
{
	sensor_config cfg = {.threads = threads};
	sensor *s = start(&cfg, m, spec, c);
	sensor_wait(s);
	sensor_get_stats(s, st);
	sensor_free(s);
	qsort(c->r, c->n, sizeof(*c->r), rec_cmp);
}

/* Sweeps spec with one worker and with `threads`, each from a matcher
 * built of in, and asserts both found the same hits. */
static void sweep_both(sensor_intel *in, const char *spec, unsigned threads, collect *one,
		       collect *many, sensor_stats *st1, sensor_stats *stn)
{
	collect_init(one);
	collect_init(many);
	sweep(build(in), 1, spec, one, st1);
	sweep(build(in), threads, spec, many, stn);
	assert_int_equal(one->n, many->n);
	for (size_t i = 0; i < one->n; i++)
		assert_int_equal(rec_cmp(&one->r[i], &many->r[i]), 0);
}

/* Adds indicator--<n as 8 hex digits>-0000-4000-8000-000000000000 with
 * pattern (written without double quotes or backslashes) to in. */
#define PATTERN_FMT                                                                            \
	"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"indicator--%08x-0000-4000-8000-" \
	"000000000000\",\"created\":\"2025-01-01T00:00:00.000Z\","                                  \
	"\"modified\":\"2025-01-01T00:00:00.000Z\",\"pattern\":\"%s\","                            \
	"\"pattern_type\":\"stix\",\"valid_from\":\"2025-01-01T00:00:00Z\"}"

static void intel_add(sensor_intel *in, unsigned n, const char *pattern_text)
{
	char text[1024];
	snprintf(text, sizeof text, PATTERN_FMT, n, pattern_text);
	json_t *o = json_loads(text, 0, NULL);
	assert_non_null(o);
	assert_int_equal(sensor_intel_apply(in, o, NULL, NULL), RK_OK);
	json_decref(o);
}

/* ------------------------------------------------------------ Zeek log */

static void test_zeek_exact(void **state)
{
	(void)state;
	char ind[256], log[256];
	snprintf(ind, sizeof ind, "%s/ind.json", dir);
	snprintf(log, sizeof log, "%s/dns.log", dir);
	sh("%s --indicators 4000 %s --hit-every 500 --zeek-dns 60000 %s", gen_path, ind, log);
	char hits_path[300];
	snprintf(hits_path, sizeof hits_path, "%s.hits", log);
	uint64_t expect = read_number(hits_path);
	assert_true(expect > 50);

	sensor_intel *in = load(ind);
	collect one, three;
	sensor_stats st1, st3;
	char spec[300];
	snprintf(spec, sizeof spec, "zeek:%s", log);
	sweep_both(in, spec, 3, &one, &three, &st1, &st3);
	assert_int_equal(one.n, expect);
	assert_int_equal(three.n, expect);
	assert_int_equal(st1.hits, expect);
	assert_int_equal(st3.hits, expect);
	assert_int_equal(st1.lines, 60000 + 8);
	assert_int_equal(st3.lines, 60000 + 8);
	assert_int_equal(st3.n_errors, 0);

	/* every line number names the line that holds the value */
	FILE *f = fopen(log, "r");
	assert_non_null(f);
	static char line[4096];
	uint64_t no = 0;
	size_t k = 0;
	while (fgets(line, sizeof line, f) && k < one.n) {
		no++;
		while (k < one.n && one.r[k].where == no) {
			assert_non_null(strstr(line, one.r[k].value));
			k++;
		}
	}
	assert_int_equal(k, one.n);
	fclose(f);
	collect_free(&one);
	collect_free(&three);
	sensor_intel_free(in);
}

/* ------------------------------------------------------------ pcap */

static bool contains(const uint8_t *p, size_t len, const void *needle, size_t n)
{
	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (memcmp(p + i, needle, n) == 0)
			return true;
	return false;
}

static bool packet_has(const uint8_t *p, size_t len, const rec *r)
{
	unsigned a, b, c, d;
	char tail;
	if (sscanf(r->value, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4) {
		uint8_t addr[4] = {(uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d};
		return contains(p, len, addr, 4);
	}
	/* a domain: in DNS as labels, in HTTP and TLS as text; its first
	 * label is in the packet either way */
	const char *dot = strchr(r->value, '.');
	size_t l = dot ? (size_t)(dot - r->value) : strlen(r->value);
	return contains(p, len, r->value, l);
}

static void test_pcap_exact(void **state)
{
	(void)state;
	char ind[256], cap[256], err[256];
	snprintf(ind, sizeof ind, "%s/ind.json", dir);
	snprintf(cap, sizeof cap, "%s/t.pcap", dir);
	snprintf(err, sizeof err, "%s/gen.err", dir);
	sh("%s --indicators 4000 %s --hit-every 300 --pcap 4000000 %s 2>%s", gen_path, ind, cap, err);
	FILE *f = fopen(err, "r");
	unsigned long long bytes = 0, with_hit = 0;
	assert_int_equal(fscanf(f, "gen_sensor: %*s %llu bytes, %llu packets", &bytes, &with_hit), 2);
	fclose(f);
	assert_true(with_hit > 10);

	sensor_intel *in = load(ind);
	collect one, two;
	sensor_stats st1, st2;
	char spec[300];
	snprintf(spec, sizeof spec, "pcap:%s", cap);
	sweep_both(in, spec, 2, &one, &two, &st1, &st2);
	assert_int_equal(st1.packets, st2.packets);
	assert_int_equal(st1.observables, st2.observables);
	size_t distinct = 0;
	for (size_t i = 0; i < one.n; i++)
		distinct += i == 0 || one.r[i].where != one.r[i - 1].where;
	assert_int_equal(distinct, with_hit);

	/* each hit packet carries its value */
	char eb[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(cap, eb);
	assert_non_null(p);
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t no = 0;
	size_t k = 0;
	while (k < one.n && pcap_next_ex(p, &h, &data) == 1) {
		no++;
		for (; k < one.n && one.r[k].where == no; k++)
			assert_true(packet_has(data, h->caplen, &one.r[k]));
	}
	assert_int_equal(k, one.n);
	pcap_close(p);
	collect_free(&one);
	collect_free(&two);
	sensor_intel_free(in);
}

/* ------------------------------------------------------------ HTTP URL */

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet and IPv4 headers from 10.0.0.9 to dst for l4len bytes of
 * protocol proto, the header checksum set; the transport header's place. */
static uint8_t *eth_ipv4(uint8_t *buf, unsigned proto, const uint8_t dst[4], size_t l4len)
{
	static const uint8_t src[4] = {10, 0, 0, 9};
	memset(buf, 0, 34);
	buf[12] = 0x08;
	uint8_t *ip = buf + 14;
	ip[0] = 0x45;
	put16(ip + 2, (unsigned)(20 + l4len));
	ip[8] = 64;
	ip[9] = (uint8_t)proto;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(ip + 10, ~sum & 0xffff);
	return ip + 20;
}

/* One Ethernet/IPv4/TCP packet from 10.0.0.9:40000 to 203.0.113.5:80
 * carrying plen bytes of payload. */
static size_t http_frame(uint8_t *buf, const void *payload, size_t plen)
{
	static const uint8_t dst[4] = {203, 0, 113, 5};
	uint8_t *tcp = eth_ipv4(buf, 6, dst, 20 + plen);
	memset(tcp, 0, 20);
	put16(tcp, 40000);
	put16(tcp + 2, 80);
	tcp[7] = 1;      /* seq */
	tcp[12] = 5 << 4; /* data offset */
	tcp[13] = 0x18;  /* PSH ACK */
	put16(tcp + 14, 65535);
	memcpy(tcp + 20, payload, plen);
	return 14 + 20 + 20 + plen;
}

static void test_http_url(void **state)
{
	(void)state;
	char cap[256], spec[300];
	snprintf(cap, sizeof cap, "%s/http.pcap", dir);
	snprintf(spec, sizeof spec, "pcap:%s", cap);
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = pcap_dump_open(dead, cap);
	assert_non_null(d);
	uint8_t frame[512];
	struct pcap_pkthdr h = {.ts = {1767225600, 250000}};
	static const char req[] =
		"GET /a/../payload.bin HTTP/1.1\r\nHost: DL.example.net\r\nAccept: */*\r\n\r\n";
	h.caplen = h.len = (bpf_u_int32)http_frame(frame, req, strlen(req));
	pcap_dump((u_char *)d, &h, frame);
	pcap_dump_close(d);
	pcap_close(dead);

	sensor_intel *in = sensor_intel_new();
	intel_add(in, 1, "[url:value = 'http://dl.example.net/payload.bin']");
	intel_add(in, 2, "[ipv4-addr:value = '203.0.113.5']");
	collect c;
	sensor_stats st;
	collect_init(&c);
	sweep(build(in), 2, spec, &c, &st);
	assert_int_equal(c.n, 2);
	/* sorted by packet, then id */
	assert_string_equal(c.r[0].id, "indicator--00000001-0000-4000-8000-000000000000");
	assert_string_equal(c.r[0].value, "http://DL.example.net/a/../payload.bin");
	assert_string_equal(c.r[1].value, "203.0.113.5");
	assert_int_equal(c.r[1].where, 1);
	assert_int_equal(c.r[1].sport, 40000);
	assert_int_equal(c.r[1].dport, 80);
	collect_free(&c);
	sensor_intel_free(in);
	unlink(cap);
}

/* ------------------------------------------------------------ DNS family */

/* One Ethernet/IPv4/UDP packet from 10.0.0.9 to 10.0.0.53 (checksum 0). */
static size_t udp_frame(uint8_t *buf, unsigned sport, unsigned dport, const uint8_t *pl,
			size_t plen)
{
	static const uint8_t dst[4] = {10, 0, 0, 53};
	uint8_t *udp = eth_ipv4(buf, 17, dst, 8 + plen);
	put16(udp, sport);
	put16(udp + 2, dport);
	put16(udp + 4, (unsigned)(8 + plen));
	memcpy(udp + 8, pl, plen);
	return 42 + plen;
}

/* Names that are neither a question nor answer data still reach domain
 * indicators: an mDNS announcement's owner name (no question), a DNS
 * UPDATE's updated name, a NetBIOS name-service query (UDP 137). */
static void test_dns_family_names(void **state)
{
	(void)state;
	static const uint8_t announce[] = {
		0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, /* response, 1 answer */
		7, 'p', 'r', 'i', 'n', 't', 'e', 'r', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
		0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 192, 0, 2, 9};
	static const uint8_t update[] = {
		0, 7, 0x28, 0, 0, 1, 0, 0, 0, 1, 0, 0, /* UPDATE: zone, 1 update */
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0, 0, 6, 0, 1,
		5, 'n', 'w', 'i', 'n', '2', 0xc0, 12, 0, 1, 0, 1, 0, 0, 4, 0xb0, 0, 4, 192, 0, 2, 33};
	static const uint8_t nbns[] = {
		0, 9, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0, 32, /* WORKGROUP<1d> */
		'F', 'H', 'E', 'P', 'F', 'C', 'E', 'L', 'E', 'H', 'F', 'C', 'E', 'P', 'F', 'F',
		'F', 'A', 'C', 'A', 'C', 'A', 'C', 'A', 'C', 'A', 'C', 'A', 'C', 'A', 'B', 'N',
		0, 0, 0x20, 0, 1};
	static const struct {
		unsigned sport, dport;
		const uint8_t *pl;
		size_t n;
	} pkts[] = {
		{5353, 5353, announce, sizeof announce},
		{40000, 53, update, sizeof update},
		{137, 137, nbns, sizeof nbns},
	};
	static const char *const names[] = {"printer.example", "nwin2.example.org", "workgroup"};
	char cap[256], spec[300];
	snprintf(cap, sizeof cap, "%s/dnsfam.pcap", dir);
	snprintf(spec, sizeof spec, "pcap:%s", cap);
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = pcap_dump_open(dead, cap);
	assert_non_null(d);
	for (size_t i = 0; i < 3; i++) {
		uint8_t frame[256];
		struct pcap_pkthdr h = {.ts = {1767225600, (suseconds_t)i}};
		h.caplen = h.len = (bpf_u_int32)udp_frame(frame, pkts[i].sport, pkts[i].dport,
							  pkts[i].pl, pkts[i].n);
		pcap_dump((u_char *)d, &h, frame);
	}
	pcap_dump_close(d);
	pcap_close(dead);

	sensor_intel *in = sensor_intel_new();
	for (unsigned i = 0; i < 3; i++) {
		char text[128];
		snprintf(text, sizeof text, "[domain-name:value = '%s']", names[i]);
		intel_add(in, i + 1, text);
	}
	collect c;
	sensor_stats st;
	collect_init(&c);
	sweep(build(in), 1, spec, &c, &st);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.r[0].value, "printer.example");
	assert_int_equal(c.r[0].where, 1);
	assert_string_equal(c.r[1].value, "nwin2.example.org");
	assert_int_equal(c.r[1].where, 2);
	assert_string_equal(c.r[2].value, "WORKGROUP");
	assert_int_equal(c.r[2].where, 3);
	assert_int_equal(c.r[2].sport, 137);
	collect_free(&c);
	sensor_intel_free(in);
	unlink(cap);
}

/* The hosts DNS records name hit domain indicators from a capture, a Zeek
 * dns.log and an EVE log alike: an MX answer's exchange, a referral's NS
 * server (authority section) and its glue address (additional section). */
static void test_dns_record_targets(void **state)
{
	(void)state;
	static const uint8_t mx[] = {
		0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, /* response, 1 answer */
		4, 'e', 'v', 'i', 'l', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 15, 0, 1,
		0xc0, 12, 0, 15, 0, 1, 0, 0, 0x0e, 0x10, 0, 7, /* MX, 7 bytes */
		0, 10, 2, 'm', 'x', 0xc0, 12};                  /* 10 mx.evil.example */
	static const uint8_t referral[] = {
		0, 2, 0x81, 0, 0, 1, 0, 0, 0, 1, 0, 1, /* 1 authority, 1 additional */
		3, 'w', 'w', 'w', 4, 'e', 'v', 'i', 'l', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
		0, 1, 0, 1,
		0xc0, 16, 0, 2, 0, 1, 0, 0, 0x0e, 0x10, 0, 6, /* evil.example NS */
		3, 'n', 's', '1', 0xc0, 16,                     /* at 46: ns1.evil.example */
		0xc0, 46, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 53};
	static const char *const pats[] = {"[domain-name:value = 'mx.evil.example']",
					   "[domain-name:value = 'ns1.evil.example']",
					   "[ipv4-addr:value = '192.0.2.53']"};
	char cap[256], zeek[256], eve[256], spec[300];
	snprintf(cap, sizeof cap, "%s/dnsrr.pcap", dir);
	snprintf(zeek, sizeof zeek, "%s/dnsrr.log", dir);
	snprintf(eve, sizeof eve, "%s/dnsrr.json", dir);
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = pcap_dump_open(dead, cap);
	assert_non_null(d);
	for (int i = 0; i < 2; i++) {
		uint8_t frame[256];
		struct pcap_pkthdr h = {.ts = {1767225600, (suseconds_t)i}};
		h.caplen = h.len = (bpf_u_int32)udp_frame(frame, 53, 40000, i ? referral : mx,
							  i ? sizeof referral : sizeof mx);
		pcap_dump((u_char *)d, &h, frame);
	}
	pcap_dump_close(d);
	pcap_close(dead);
	FILE *f = fopen(zeek, "w");
	assert_non_null(f);
	fputs("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"
	      "#unset_field\t-\n#path\tdns\n#fields\tts\tquery\tanswers\tauth\taddl\n"
	      "#types\ttime\tstring\tvector[string]\tset[string]\tset[string]\n"
	      "1767225600.0\tevil.example\tmx.evil.example\t-\t-\n"
	      "1767225600.1\twww.evil.example\t-\tns1.evil.example\t192.0.2.53\n", f);
	fclose(f);
	assert_non_null(f = fopen(eve, "w"));
	fputs("{\"timestamp\":\"2026-01-01T00:00:00.000000+0000\",\"event_type\":\"dns\","
	      "\"dns\":{\"version\":3,\"answers\":[{\"rrname\":\"evil.example\","
	      "\"rrtype\":\"MX\",\"rdata\":\"mx.evil.example\"}]}}\n"
	      "{\"timestamp\":\"2026-01-01T00:00:00.100000+0000\",\"event_type\":\"dns\","
	      "\"dns\":{\"version\":3,\"authorities\":[{\"rrname\":\"evil.example\","
	      "\"rrtype\":\"NS\",\"rdata\":\"ns1.evil.example\"}],\"additionals\":["
	      "{\"rrname\":\"ns1.evil.example\",\"rrtype\":\"A\",\"rdata\":\"192.0.2.53\"}]}}\n",
	      f);
	fclose(f);

	sensor_intel *in = sensor_intel_new();
	for (unsigned i = 0; i < 3; i++)
		intel_add(in, i + 1, pats[i]);
	static const char *const kinds[] = {"pcap", "zeek", "eve"};
	const char *const paths[] = {cap, zeek, eve};
	/* the line (log) or packet (capture) of each hit, in order */
	static const uint64_t where[3][3] = {{1, 2, 2}, {8, 9, 9}, {1, 2, 2}};
	for (int k = 0; k < 3; k++) {
		collect c;
		sensor_stats st;
		collect_init(&c);
		snprintf(spec, sizeof spec, "%s:%s", kinds[k], paths[k]);
		sweep(build(in), 1, spec, &c, &st);
		assert_int_equal(c.n, 3);
		/* sorted by place, then indicator id: 1 mx, 2 ns1, 3 the glue */
		assert_string_equal(c.r[0].value, "mx.evil.example");
		assert_string_equal(c.r[1].value, "ns1.evil.example");
		assert_string_equal(c.r[2].value, "192.0.2.53");
		for (int i = 0; i < 3; i++)
			assert_int_equal(c.r[i].where, where[k][i]);
		collect_free(&c);
	}
	sensor_intel_free(in);
	unlink(cap);
	unlink(zeek);
	unlink(eve);
}

/* The same URL indicator over an HTTP/2 request sent with prior knowledge
 * (RFC 9113 section 3.3): preface, SETTINGS and one HEADERS frame whose
 * :path and :authority are HPACK literals. The decoder gives :path, then
 * :authority, so the sensor joins them as for HTTP/1.x. */
static void test_h2c_url(void **state)
{
	(void)state;
	static const char path[] = "/a/../payload.bin", host[] = "dl.example.net";
	char cap[256], spec[300];
	uint8_t pl[256], frame[512];
	size_t n = 0, blk;
	snprintf(cap, sizeof cap, "%s/h2c.pcap", dir);
	snprintf(spec, sizeof spec, "pcap:%s", cap);
	memcpy(pl, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	n = 24;
	memcpy(pl + n, "\0\0\0\4\0\0\0\0\0", 9); /* SETTINGS */
	n += 9;
	blk = n + 9;
	pl[blk++] = 0x82; /* :method GET */
	pl[blk++] = 0x04; /* :path, not indexed */
	pl[blk++] = (uint8_t)strlen(path);
	memcpy(pl + blk, path, strlen(path));
	blk += strlen(path);
	pl[blk++] = 0x41; /* :authority, indexed */
	pl[blk++] = (uint8_t)strlen(host);
	memcpy(pl + blk, host, strlen(host));
	blk += strlen(host);
	memcpy(pl + n, "\0\0\0\1\5\0\0\0\1", 9); /* HEADERS, stream 1 */
	pl[n + 2] = (uint8_t)(blk - n - 9);
	n = blk;
	pl[n] = 0;
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = pcap_dump_open(dead, cap);
	assert_non_null(d);
	struct pcap_pkthdr h = {.ts = {1767225600, 250000}};
	size_t len = http_frame(frame, pl, n);
	h.caplen = h.len = (bpf_u_int32)len;
	pcap_dump((u_char *)d, &h, frame);
	pcap_dump_close(d);
	pcap_close(dead);

	sensor_intel *in = sensor_intel_new();
	intel_add(in, 3, "[url:value = 'http://dl.example.net/payload.bin']");
	collect c;
	sensor_stats st;
	collect_init(&c);
	sweep(build(in), 1, spec, &c, &st);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.r[0].id, "indicator--00000003-0000-4000-8000-000000000000");
	assert_string_equal(c.r[0].value, "http://dl.example.net/a/../payload.bin");
	collect_free(&c);
	sensor_intel_free(in);
	unlink(cap);
}

/* ------------------------------------------------------------ hot swap */

#define IND_FMT                                                                                \
	"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"indicator--%08x-0000-4000-8000-" \
	"000000000000\",\"created\":\"2025-01-01T00:00:00.000Z\","                                  \
	"\"modified\":\"2025-01-01T00:00:00.000Z\",\"pattern\":\"[domain-name:value = "          \
	"'%s.example']\",\"pattern_type\":\"stix\",\"valid_from\":\"2025-01-01T00:00:00Z\"}"

static json_t *dom_indicator(unsigned n, const char *name)
{
	char text[1024];
	snprintf(text, sizeof text, IND_FMT, n, name);
	return json_loads(text, 0, NULL);
}

static match *one_domain_matcher(unsigned n, const char *name)
{
	sensor_intel *in = sensor_intel_new();
	json_t *o = dom_indicator(n, name);
	assert_int_equal(sensor_intel_apply(in, o, NULL, NULL), RK_OK);
	json_decref(o);
	match *m = build(in);
	sensor_intel_free(in);
	return m;
}

static void append_lines(const char *path, const char *name, int n, int *written)
{
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	for (int i = 0; i < n; i++)
		fprintf(f, "query %s.example and other.example\n", name);
	fclose(f);
	*written += n;
}

static void wait_for(collect *c, size_t n)
{
	struct timespec ts = {0, 5 * 1000000L};
	for (int i = 0; i < 2000 && collect_count(c) < n; i++)
		nanosleep(&ts, NULL);
	assert_int_equal(collect_count(c), n);
}

/* Waits until the sensor has matched every byte of path written so far,
 * so what follows (a swap) cannot overtake lines still in a batch. */
static void wait_matched(sensor *s, const char *path)
{
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	struct timespec ts = {0, 5 * 1000000L};
	for (int i = 0; i < 2000 && sensor_bytes_done(s) < (uint64_t)sb.st_size; i++)
		nanosleep(&ts, NULL);
	assert_int_equal(sensor_bytes_done(s), (uint64_t)sb.st_size);
}

static void test_swap_phases(void **state)
{
	(void)state;
	char log[256], spec[300];
	snprintf(log, sizeof log, "%s/follow.log", dir);
	snprintf(spec, sizeof spec, "text:%s", log);
	unlink(log);
	int lines = 0;
	collect c;
	collect_init(&c);
	sensor_config cfg = {.threads = 3, .follow = true, .poll_ms = 10};
	sensor *s = start(&cfg, one_domain_matcher(1, "alpha"), spec, &c);

	append_lines(log, "alpha", 40, &lines);
	append_lines(log, "beta", 40, &lines);
	wait_for(&c, 40);
	wait_matched(s, log);
	sensor_swap(s, one_domain_matcher(2, "beta"));
	append_lines(log, "alpha", 30, &lines);
	append_lines(log, "beta", 25, &lines);
	wait_for(&c, 65);
	sensor_stop(s);
	assert_int_equal(sensor_wait(s), RK_OK);
	sensor_stats st;
	sensor_get_stats(s, &st);
	assert_int_equal(st.lines, (uint64_t)lines);
	assert_int_equal(st.swaps, 1);
	assert_int_equal(st.hits, 65);
	sensor_free(s);
	qsort(c.r, c.n, sizeof(*c.r), rec_cmp);
	/* lines 1-40 alpha, 41-80 beta (missed), 81-110 alpha (missed), 111-135 beta */
	for (size_t i = 0; i < c.n; i++) {
		if (i < 40) {
			assert_int_equal(c.r[i].where, i + 1);
			assert_string_equal(c.r[i].value, "alpha.example");
		} else {
			assert_int_equal(c.r[i].where, 111 + (i - 40));
			assert_string_equal(c.r[i].value, "beta.example");
			assert_string_equal(c.r[i].id, "indicator--00000002-0000-4000-8000-000000000000");
		}
	}
	collect_free(&c);
	unlink(log);
}

typedef struct swapper {
	sensor *s;
	atomic_int stop;
	int swaps;
} swapper;

/* Sweeps the text file log with three workers, starting from matcher
 * first (NULL: none), while fn swaps the matcher on a thread of its own
 * until the sweep ends; hits go to c. Frees the sensor. Returns the swaps
 * made; the sensor's last stats in *st. */
static int sweep_while_swapping(match *first, const char *log, void *(*fn)(void *),
				collect *c, sensor_stats *st)
{
	char spec[300];
	snprintf(spec, sizeof spec, "text:%s", log);
	sensor_config cfg = {.threads = 3};
	sensor *s = start(&cfg, first, spec, c);
	swapper w = {.s = s};
	atomic_init(&w.stop, 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, fn, &w), 0);
	sensor_wait(s);
	atomic_store(&w.stop, 1);
	pthread_join(t, NULL);
	sensor_get_stats(s, st);
	sensor_free(s);
	return w.swaps;
}

static void *swap_main(void *arg)
{
	swapper *w = arg;
	while (!atomic_load(&w->stop) && w->swaps < 100) {
		w->swaps++;
		sensor_swap(w->s, one_domain_matcher((unsigned)(1 + w->swaps % 2),
						     w->swaps % 2 ? "alpha" : "beta"));
	}
	return NULL;
}

static void test_swap_storm(void **state)
{
	(void)state;
	char log[256];
	snprintf(log, sizeof log, "%s/storm.log", dir);
	FILE *f = fopen(log, "w");
	for (int i = 0; i < 200000; i++)
		fprintf(f, "%d %s.example\n", i, i % 2 ? "alpha" : "beta");
	fclose(f);
	collect c;
	collect_init(&c);
	sensor_stats st;
	int swaps = sweep_while_swapping(NULL, log, swap_main, &c, &st);
	assert_int_equal(st.lines, 200000);
	assert_int_equal(st.swaps, (uint64_t)swaps);
	assert_int_equal(st.hits, c.n);
	qsort(c.r, c.n, sizeof(*c.r), rec_cmp);
	for (size_t i = 0; i < c.n; i++) {
		/* each line hits at most once: one matcher per batch */
		assert_true(i == 0 || c.r[i].where > c.r[i - 1].where);
		/* line i+1 holds alpha when i is odd */
		bool alpha = strcmp(c.r[i].value, "alpha.example") == 0;
		assert_true(alpha || strcmp(c.r[i].value, "beta.example") == 0);
		assert_int_equal((c.r[i].where - 1) % 2, alpha ? 1 : 0);
		assert_string_equal(c.r[i].id, alpha ? "indicator--00000002-0000-4000-8000-000000000000"
						     : "indicator--00000001-0000-4000-8000-000000000000");
	}
	collect_free(&c);
	unlink(log);
}

/* Compound and LIKE patterns while the matcher is swapped under the
 * workers: each generation has its own scratches and correlator, freed
 * with it (ASan, TSan). Every line names gamma.example; the REPEATS
 * pattern completes once per two observations fed to one generation, so
 * it hits, but never more than once per two lines, and nothing else hits
 * but the LIKE pattern, once per line. */
#define ID_REP2 "indicator--00000003-0000-4000-8000-000000000000"
#define ID_LIKE "indicator--00000004-0000-4000-8000-000000000000"

static match *compound_matcher(void)
{
	static const char *const pats[] = {
		"[domain-name:value = 'gamma.example'] REPEATS 2 TIMES",
		"[domain-name:value LIKE 'gam%.example']",
	};
	sensor_intel *in = sensor_intel_new();
	for (unsigned i = 0; i < 2; i++)
		intel_add(in, 3 + i, pats[i]);
	match *m = build(in);
	sensor_intel_free(in);
	return m;
}

static void *compound_swap_main(void *arg)
{
	swapper *w = arg;
	while (!atomic_load(&w->stop)) {
		w->swaps++;
		sensor_swap(w->s, compound_matcher());
	}
	return NULL;
}

static void test_swap_compound(void **state)
{
	(void)state;
	char log[256];
	const int lines = 100000;
	snprintf(log, sizeof log, "%s/compound.log", dir);
	FILE *f = fopen(log, "w");
	assert_non_null(f);
	for (int i = 0; i < lines; i++)
		fprintf(f, "%d gamma.example\n", i);
	fclose(f);
	collect c;
	collect_init(&c);
	sensor_stats st;
	sweep_while_swapping(compound_matcher(), log, compound_swap_main, &c, &st);
	assert_int_equal(st.lines, (uint64_t)lines);
	assert_int_equal(st.hits, c.n);
	size_t like = 0, rep = 0;
	for (size_t i = 0; i < c.n; i++) {
		assert_string_equal(c.r[i].value, "gamma.example");
		if (strcmp(c.r[i].id, ID_LIKE) == 0)
			like++;
		else if (strcmp(c.r[i].id, ID_REP2) == 0)
			rep++;
		else
			fail_msg("unexpected indicator %s", c.r[i].id);
	}
	assert_int_equal(like, (size_t)lines);
	assert_true(rep > 0 && rep <= (size_t)lines / 2);
	collect_free(&c);
	unlink(log);
}

/* ------------------------------------------------------------ bad input */

static const sensor_err_count *find_err(const sensor_stats *st, const char *why)
{
	for (size_t i = 0; i < st->n_errors; i++)
		if (strcmp(st->errors[i].why, why) == 0)
			return &st->errors[i];
	return NULL;
}

static void test_bad_input(void **state)
{
	(void)state;
	char cap[256], cut[256], log[256], eve[256], spec[300];
	snprintf(cap, sizeof cap, "%s/bad.pcap", dir);
	snprintf(cut, sizeof cut, "%s/cut.pcap", dir);
	snprintf(log, sizeof log, "%s/bad.log", dir);
	snprintf(eve, sizeof eve, "%s/eve.json", dir);

	/* packet 3 is a runt Ethernet frame */
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = pcap_dump_open(dead, cap);
	assert_non_null(d);
	uint8_t frame[60] = {0};
	frame[12] = 0x08;
	frame[14] = 0x45;
	frame[23] = 17;
	frame[16] = 0;
	frame[17] = 46;
	for (int i = 1; i <= 5; i++) {
		struct pcap_pkthdr h = {.caplen = i == 3 ? 10 : 60, .len = 60};
		h.ts.tv_sec = 1767225600 + i;
		pcap_dump((u_char *)d, &h, frame);
	}
	pcap_dump_close(d);
	pcap_close(dead);
	/* a capture cut inside its fourth packet */
	sh("head -c %d %s > %s", 24 + 2 * (16 + 60) + (16 + 10) + 30, cap, cut);

	{
		FILE *f = fopen(log, "w");
		fputs("a 198.51.100.1\nb\nc \xff\xfe bad\nd\n", f);
		fclose(f);
		f = fopen(eve, "w");
		fputs("{\"event_type\":\"dns\",\"dns\":{\"rrname\":\"x.example\"}}\n{not json\n", f);
		fclose(f);
	}

	sensor_config cfg = {.threads = 2};
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	sensor *s = sensor_new(&cfg, NULL);
	const char *specs[] = {"pcap:", "pcap:", "text:", "eve:"};
	const char *paths[] = {cap, cut, log, eve};
	for (int i = 0; i < 4; i++) {
		sensor_input in;
		snprintf(spec, sizeof spec, "%s%s", specs[i], paths[i]);
		assert_int_equal(sensor_input_parse(spec, &in, &ctx), RK_OK);
		assert_int_equal(sensor_add_input(s, &in, &ctx), RK_OK);
	}
	assert_int_equal(sensor_start(s, &ctx), RK_OK);
	assert_int_equal(sensor_wait(s), RK_EIO); /* the cut capture */
	sensor_stats st;
	sensor_get_stats(s, &st);
	assert_int_equal(st.input_errors, 1);
	assert_int_equal(st.packets, 5 + 3);
	assert_int_equal(st.lines, 4 + 2);
	const sensor_err_count *e = find_err(&st, "capture read error (truncated or corrupt)");
	assert_non_null(e);
	assert_string_equal(e->last_input, cut);
	assert_int_equal(e->last_number, 4);
	e = find_err(&st, decode_strerror(DECODE_E_TRUNCATED));
	assert_non_null(e);
	assert_int_equal(e->count, 2); /* packet 3 of both files */
	assert_int_equal(e->last_number, 3);
	assert_true(e->packet);
	e = find_err(&st, "line is not valid UTF-8, skipped");
	assert_non_null(e);
	assert_string_equal(e->last_input, log);
	assert_int_equal(e->last_number, 3);
	assert_false(e->packet);
	e = find_err(&st, "not a JSON object");
	assert_non_null(e);
	assert_string_equal(e->last_input, eve);
	assert_int_equal(e->last_number, 2);
	sensor_free(s);
	unlink(cap);
	unlink(cut);
	unlink(log);
	unlink(eve);
}

static void test_input_specs(void **state)
{
	(void)state;
	sensor_input in;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(sensor_input_parse("zeek:/var/log/dns.log", &in, &ctx), RK_OK);
	assert_int_equal(in.kind, SENSOR_IN_ZEEK);
	assert_string_equal(in.path, "/var/log/dns.log");
	assert_int_equal(sensor_input_parse("pcap:-", &in, &ctx), RK_OK);
	assert_int_equal(in.kind, SENSOR_IN_PCAP);
	assert_int_equal(sensor_input_parse("eve:a:b", &in, &ctx), RK_OK);
	assert_string_equal(in.path, "a:b");
	const char *bad[] = {"dns.log", "zeek:", "netflow:x", "iface:-", ":x"};
	for (size_t i = 0; i < RK_ARRAY_LEN(bad); i++) {
		rk_errctx_clear(&ctx);
		assert_int_equal(sensor_input_parse(bad[i], &in, &ctx), RK_EINVAL);
		assert_string_equal(ctx.path, bad[i]);
		assert_true(ctx.msg[0] != '\0');
	}
	/* a missing file fails the start, naming it, with nothing running */
	sensor *s = sensor_new(NULL, NULL);
	rk_errctx_clear(&ctx);
	assert_int_equal(sensor_input_parse("zeek:/nonexistent/dns.log", &in, &ctx), RK_OK);
	assert_int_equal(sensor_add_input(s, &in, &ctx), RK_OK);
	assert_int_equal(sensor_start(s, &ctx), RK_ENOTFOUND);
	assert_string_equal(ctx.path, "/nonexistent/dns.log");
	sensor_free(s);
	s = sensor_new(NULL, NULL);
	rk_errctx_clear(&ctx);
	assert_int_equal(sensor_input_parse("pcap:/nonexistent.pcap", &in, &ctx), RK_OK);
	assert_int_equal(sensor_add_input(s, &in, &ctx), RK_OK);
	assert_int_equal(sensor_start(s, &ctx), RK_EIO);
	assert_string_equal(ctx.path, "/nonexistent.pcap");
	sensor_free(s);
}

static void test_alert_format(void **state)
{
	(void)state;
	sensor_hit h;
	memset(&h, 0, sizeof h);
	h.indicator_id = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f";
	h.obs_type = "domain-name";
	h.value = "ev\"il\n\xff.example";
	h.value_len = strlen(h.value);
	h.input = "/var/log/a \"b\".log";
	h.line = 42;
	h.field = "dns.query";
	h.time = (rk_time)1767225600 * 1000000 + 5;
	h.time_from_input = true;
	sensor_indicator_info info;
	memset(&info, 0, sizeof info);
	snprintf(info.name, sizeof info.name, "C2 \"x\" \xe6\x97\xa5");
	rk_buf b;
	rk_buf_init(&b);
	assert_int_equal(sensor_alert_format(&b, &h, &info), RK_OK);
	assert_true(b.len > 0 && b.data[b.len - 1] == '\n');
	assert_null(memchr(b.data, '\n', b.len - 1));
	json_error_t je;
	json_t *o = json_loadb(b.data, b.len, 0, &je);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "time")),
			    "2026-01-01T00:00:00.000005Z");
	json_t *ind = json_object_get(o, "indicator");
	assert_string_equal(json_string_value(json_object_get(ind, "id")), h.indicator_id);
	assert_string_equal(json_string_value(json_object_get(ind, "name")), info.name);
	json_t *ob = json_object_get(o, "observable");
	assert_string_equal(json_string_value(json_object_get(ob, "type")), "domain-name");
	/* the byte that is not UTF-8 comes out as U+00FF */
	assert_string_equal(json_string_value(json_object_get(ob, "value")),
			    "ev\"il\n\xc3\xbf.example");
	json_t *wh = json_object_get(o, "where");
	assert_string_equal(json_string_value(json_object_get(wh, "input")), h.input);
	assert_int_equal(json_integer_value(json_object_get(wh, "line")), 42);
	assert_string_equal(json_string_value(json_object_get(wh, "field")), "dns.query");
	json_decref(o);

	/* a packet hit */
	rk_buf_reset(&b);
	h.value = "198.51.100.7";
	h.value_len = strlen(h.value);
	h.obs_type = "ipv4-addr";
	h.from_packet = true;
	h.packet = 7;
	h.family = 4;
	h.proto = 6;
	h.sport = 40000;
	h.dport = 443;
	snprintf(h.src, sizeof h.src, "10.0.0.1");
	snprintf(h.dst, sizeof h.dst, "198.51.100.7");
	assert_int_equal(sensor_alert_format(&b, &h, NULL), RK_OK);
	o = json_loadb(b.data, b.len, 0, &je);
	assert_non_null(o);
	assert_null(json_object_get(json_object_get(o, "indicator"), "name"));
	wh = json_object_get(o, "where");
	assert_int_equal(json_integer_value(json_object_get(wh, "packet")), 7);
	json_t *fl = json_object_get(wh, "flow");
	assert_string_equal(json_string_value(json_object_get(fl, "proto")), "tcp");
	assert_string_equal(json_string_value(json_object_get(fl, "src")), "10.0.0.1");
	assert_int_equal(json_integer_value(json_object_get(fl, "dport")), 443);
	json_decref(o);
	rk_buf_cleanup(&b);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/rk-sensor-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	(void)argc;
	const char *slash = strrchr(argv[0], '/');
	snprintf(gen_path, sizeof gen_path, "%.*sgen_sensor", slash ? (int)(slash - argv[0] + 1) : 0,
		 argv[0]);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_input_specs),
		cmocka_unit_test(test_alert_format),
		cmocka_unit_test(test_zeek_exact),
		cmocka_unit_test(test_pcap_exact),
		cmocka_unit_test(test_http_url),
		cmocka_unit_test(test_dns_family_names),
		cmocka_unit_test(test_dns_record_targets),
		cmocka_unit_test(test_h2c_url),
		cmocka_unit_test(test_swap_phases),
		cmocka_unit_test(test_swap_storm),
		cmocka_unit_test(test_swap_compound),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
