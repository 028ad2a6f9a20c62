/*
 * gen_sensor.c: the sensor benchmark's inputs, made from a fixed seed.
 *
 * The sensor benchmark sweeps indicators over a Zeek DNS log and over a
 * pcap, side by side with ripgrep, grep, wc, tshark and tcpdump. Its inputs
 * are made here, never downloaded, so every run measures the same bytes:
 *
 *   --indicators N FILE  a STIX 2.1 bundle of N indicators, half
 *                        `[ipv4-addr:value = '...']`, half
 *                        `[domain-name:value = '...']`; FILE.txt holds the
 *                        bare values, one a line (what `rg -F -f` reads),
 *                        and FILE.intel the same indicators as the Zeek
 *                        intel file `renkei export --format zeek` writes
 *                        (value, type, source "renkei", id), which is
 *                        what Zeek's intel framework would load instead
 *   --zeek-dns L FILE    a Zeek TSV dns.log of L lines (about 145 bytes a
 *                        line, a resolver's mix of answered, empty,
 *                        NXDOMAIN and unanswered queries); one query in
 *                        --hit-every (default 1,000) names an indicator
 *                        domain or answers an indicator address; the number
 *                        of true hits goes to FILE.hits
 *   --pcap BYTES FILE    a pcap of at least BYTES: DNS queries and answers,
 *                        HTTP/1.1 requests, TLS 1.3 ClientHellos with SNI,
 *                        and other UDP and TCP traffic, with the same share
 *                        of indicator hits; the number of packets with a
 *                        hit goes to FILE.hits (a hit packet carries an
 *                        indicator address as its server or DNS answer,
 *                        an indicator domain as its query, Host or SNI,
 *                        or both)
 *
 * Values come from a SplitMix64 stream of --seed (default 20261126) and
 * the scheme of sensor_values.h (shared with bench_match.c): indicator i
 * is value(i) (even i an address, odd i a domain); a line or
 * packet with a hit carries indicator values, every other one values from
 * beyond them (i from N to 4N; a DNS log line without a hit asks for a
 * name of another shape), so the true hits are exactly the ones placed. Every domain has the same label shape and length, so none is a
 * substring of another and a substring search finds the same hits as a
 * word search.
 */
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>


#include "sensor_values.h"

/* ---------------------------------------------------------------- indicators */

static int write_indicators(const gen *g, const char *path)
{
	char txt[4096], intel[4096], v[128], id[80], pat[256];
	FILE *f = fopen(path, "w");
	snprintf(txt, sizeof txt, "%s.txt", path);
	snprintf(intel, sizeof intel, "%s.intel", path);
	FILE *t = fopen(txt, "w"), *z = fopen(intel, "w");

	if (!f || !t || !z) {
		perror(path);
		return 1;
	}
	fputs("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n", z);
	fputs("{\"type\":\"bundle\",\"id\":\"bundle--5b1f0c2e-8d4a-4c6b-9e3f-2a7d1c0b9e84\","
	      "\"objects\":[",
	      f);
	for (size_t i = 0; i < g->n_ind; i++) {
		gen_value(g, i, v, sizeof v);
		gen_indicator_id(g, i, id, sizeof id);
		gen_pattern(g, i, pat, sizeof pat);
		fprintf(f,
			"%s{\"type\":\"indicator\",\"spec_version\":\"2.1\","
			"\"id\":\"%s\","
			"\"created\":\"2026-01-01T00:00:00.000Z\","
			"\"modified\":\"2026-01-01T00:00:00.000Z\","
			"\"pattern\":\"%s\",\"pattern_type\":\"stix\","
			"\"valid_from\":\"2026-01-01T00:00:00Z\"}",
			i ? "," : "", id, pat);
		fprintf(t, "%s\n", v);
		fprintf(z, "%s\t%s\trenkei\t%s\n", v, i % 2 ? "Intel::DOMAIN" : "Intel::ADDR", id);
	}
	fputs("]}\n", f);
	return fclose(f) | fclose(t) | fclose(z);
}

/* ---------------------------------------------------------------- zeek dns.log */

/*
 * What a line without a hit asks for: names of the length and shape real
 * resolvers see (a host label, a registered name, a public suffix), built
 * from the line's own random bits. None has an indicator's shape
 * (w<8 hex>-<6 hex>.example-NN.net) or holds a dotted quad, so a substring
 * search finds no more in them than a word search does.
 */
static const char *const DNS_HOSTS[] = {
	"www", "api", "cdn", "mx", "img", "id", "s", "e",
	"ns", "ntp", "dl", "ads", "m", "app", "s3", "vpn",
};
static const char *const DNS_NAMES[] = {
	"google", "msft", "akam", "gh", "live", "apple", "fastly", "aws",
	"fbcdn", "bing", "slack", "zoom", "yahoo", "gvt1", "corp", "intra",
};
static const char *const DNS_TLDS[] = {"com", "net", "org", "io", "de", "jp", "com", "net"};
static const char *const DNS_TTLS[] = {"20.000000", "60.000000", "300.000000", "3600.000000"};

/* Zeek's connection uids: 'C' and 17 base62 digits. */
static void zeek_uid(uint64_t a, uint64_t b, char out[19])
{
	static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	out[0] = 'C';
	for (int i = 1; i < 18; i++) {
		uint64_t *w = i < 10 ? &a : &b;
		out[i] = B62[*w % 62];
		*w /= 62;
	}
	out[18] = '\0';
}

/*
 * One line in hit_every names an indicator: its query (an indicator
 * domain) or its answer (an indicator address). The rest is a mix of what
 * a resolver's log holds, drawn from a second mix of the line's random
 * word so the placed hits are the same lines as ever, in twentieths: A
 * queries answered with one address (6), AAAA (4) and HTTPS (2) queries
 * with no such record, NXDOMAIN (2) and queries that got no answer (6:
 * rtt, rcode and answers unset). The answers are addresses from beyond the
 * indicators. Lines average about 145 bytes, as in the log.
 */
static int write_zeek_dns(const gen *g, size_t lines, const char *path)
{
	char hits_path[4096], q[128], ans[128], uid[19];
	uint64_t s = g->seed ^ 0x7a65656bu, hits = 0;
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		return 1;
	}
	fputs("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"
	      "#unset_field\t-\n#path\tdns\n#open\t2026-01-01-00-00-00\n"
	      "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\t"
	      "trans_id\trtt\tquery\tqclass\tqclass_name\tqtype\tqtype_name\trcode\t"
	      "rcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected\n"
	      "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\t"
	      "string\tcount\tstring\tcount\tstring\tcount\tstring\tbool\tbool\tbool\t"
	      "bool\tcount\tvector[string]\tvector[interval]\tbool\n",
	      f);
	for (size_t n = 0; n < lines; n++) {
		uint64_t r = gen_rnd(&s);
		uint64_t x = gen_mix64(r ^ 0x646e736cu); /* the line's shape */
		bool hit = g->hit_every && r % g->hit_every == 0;
		/* a hit names one indicator: the query (a domain) or the
		 * answer (an address); everything else is from beyond them */
		bool hit_answer = hit && (r >> 8) % 2;
		unsigned shape = (unsigned)(x % 20); /* see above */
		if (hit_answer)
			shape = 0;
		if (hit && !hit_answer)
			gen_domain(g, gen_pick(g, r >> 20, true, true), q, sizeof q);
		else
			snprintf(q, sizeof q, "%s.%s.%s", DNS_HOSTS[(x >> 8) % 16],
				 DNS_NAMES[(x >> 12) % 16], DNS_TLDS[(x >> 16) % 8]);
		size_t ai = hit_answer ? gen_pick(g, r >> 24, false, true) : gen_pick(g, r >> 24, false, false);
		gen_value(g, ai, ans, sizeof ans);
		zeek_uid(r, x, uid);
		hits += hit;
		fprintf(f, "1767225600.%06u\t%s\t10.1.%u.%u\t%u\t10.0.0.53\t53\tudp\t%u\t",
			(unsigned)(n % 1000000), uid, (unsigned)(r >> 8) & 15,
			1 + (unsigned)(r >> 16) % 254, 1024 + (unsigned)(r >> 32) % 60000,
			(unsigned)(r >> 48));
		if (shape < 6)
			fprintf(f, "0.%06u\t%s\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t%s\t%s\tF\n",
				(unsigned)(x >> 20) % 40000, q, ans, DNS_TTLS[(x >> 40) % 4]);
		else if (shape < 12)
			fprintf(f, "0.%06u\t%s\t1\tC_INTERNET\t%s\t0\tNOERROR\tF\tF\tT\tT\t0\t-\t-\tF\n",
				(unsigned)(x >> 20) % 40000, q, shape < 10 ? "28\tAAAA" : "65\tHTTPS");
		else if (shape < 14)
			fprintf(f, "0.%06u\t%s\t1\tC_INTERNET\t1\tA\t3\tNXDOMAIN\tF\tF\tT\tT\t0\t-\t-\tF\n",
				(unsigned)(x >> 20) % 40000, q);
		else
			fprintf(f, "-\t%s\t1\tC_INTERNET\t1\tA\t-\t-\tF\tF\tT\tF\t0\t-\t-\tF\n", q);
	}
	if (fclose(f))
		return 1;
	snprintf(hits_path, sizeof hits_path, "%s.hits", path);
	FILE *h = fopen(hits_path, "w");
	if (!h)
		return 1;
	fprintf(h, "%" PRIu64 "\n", hits);
	return fclose(h);
}

/* ---------------------------------------------------------------- pcap */

static size_t put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
	return 2;
}

static unsigned ip_checksum(const unsigned char *p, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* Ethernet + IPv4 + UDP/TCP around payload; returns the frame length. */
static size_t frame(unsigned char *buf, const unsigned char src[4], const unsigned char dst[4],
		    bool tcp, unsigned sport, unsigned dport, const unsigned char *payload,
		    size_t plen)
{
	static const unsigned char eth[14] = {0, 0x1b, 0x21, 1, 2, 3, 0, 0x1b,
					      0x21, 4, 5, 6, 0x08, 0x00};
	size_t l4 = tcp ? 20 : 8, iplen = 20 + l4 + plen;
	unsigned char *ip = buf + 14, *t = ip + 20;

	memcpy(buf, eth, 14);
	memset(ip, 0, 20 + l4);
	ip[0] = 0x45;
	put16(ip + 2, (unsigned)iplen);
	ip[8] = 64;
	ip[9] = tcp ? 6 : 17;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	put16(ip + 10, ip_checksum(ip, 20));
	put16(t, sport);
	put16(t + 2, dport);
	if (tcp) {
		t[12] = 5 << 4;
		t[13] = 0x18; /* PSH, ACK */
		put16(t + 14, 64240);
	} else {
		put16(t + 4, (unsigned)(8 + plen));
	}
	memcpy(t + l4, payload, plen);
	return 14 + iplen;
}

static size_t dns_name(unsigned char *p, const char *name)
{
	size_t n = 0;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		p[n++] = (unsigned char)l;
		memcpy(p + n, name, l);
		n += l;
		name += l + (dot ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

static size_t dns_message(unsigned char *p, unsigned id, const char *q, const unsigned char *a)
{
	size_t n = 0;
	n += put16(p + n, id);
	n += put16(p + n, a ? 0x8180 : 0x0100);
	n += put16(p + n, 1);
	n += put16(p + n, a ? 1 : 0);
	n += put16(p + n, 0);
	n += put16(p + n, 0);
	n += dns_name(p + n, q);
	n += put16(p + n, 1);
	n += put16(p + n, 1);
	if (a) {
		n += put16(p + n, 0xc00c);
		n += put16(p + n, 1);
		n += put16(p + n, 1);
		n += put16(p + n, 0);
		n += put16(p + n, 300);
		n += put16(p + n, 4);
		memcpy(p + n, a, 4);
		n += 4;
	}
	return n;
}

static size_t client_hello(unsigned char *p, const char *sni)
{
	size_t sl = strlen(sni), n = 0;
	unsigned char body[512];
	size_t b = 0;
	body[b++] = 3;
	body[b++] = 3;
	memset(body + b, 0x42, 32);
	b += 32;
	body[b++] = 0;			  /* session id */
	b += put16(body + b, 2);	  /* cipher suites */
	b += put16(body + b, 0x1301);
	body[b++] = 1;
	body[b++] = 0;			  /* compression */
	b += put16(body + b, (unsigned)(9 + sl)); /* extensions */
	b += put16(body + b, 0);	  /* server_name */
	b += put16(body + b, (unsigned)(5 + sl));
	b += put16(body + b, (unsigned)(3 + sl));
	body[b++] = 0;
	b += put16(body + b, (unsigned)sl);
	memcpy(body + b, sni, sl);
	b += sl;
	p[n++] = 22;
	p[n++] = 3;
	p[n++] = 1;
	n += put16(p + n, (unsigned)(4 + b));
	p[n++] = 1;
	p[n++] = 0;
	n += put16(p + n, (unsigned)b);
	memcpy(p + n, body, b);
	return n + b;
}

static int write_pcap(const gen *g, uint64_t bytes, const char *path)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = dead ? pcap_dump_open(dead, path) : NULL;
	unsigned char buf[2048], pl[1600];
	uint64_t s = g->seed ^ 0x70636170u, written = 24, hits = 0;
	char name[128], line[512];

	if (!d) {
		fprintf(stderr, "gen_sensor: %s: %s\n", path, dead ? pcap_geterr(dead) : "pcap");
		return 1;
	}
	for (uint64_t n = 0; written < bytes; n++) {
		uint64_t r = gen_rnd(&s);
		bool hit = g->hit_every && r % g->hit_every == 0;
		unsigned char client[4] = {10, (unsigned char)(r >> 8), (unsigned char)(r >> 16),
					   (unsigned char)(1 + (r >> 24) % 250)};
		unsigned char server[4];
		gen_ipv4(g, gen_pick(g, r >> 20, false, hit), server);
		gen_domain(g, gen_pick(g, r >> 20, true, hit), name, sizeof name);
		size_t len;
		switch ((r >> 32) % 5) {
		case 0: /* DNS query and its answer */
			len = frame(buf, client, (unsigned char[]){192, 0, 2, 53}, false,
				    1024 + (unsigned)(r >> 40) % 60000, 53, pl,
				    dns_message(pl, (unsigned)(r >> 48), name, NULL));
			break;
		case 1:
			len = frame(buf, (unsigned char[]){192, 0, 2, 53}, client, false, 53,
				    1024 + (unsigned)(r >> 40) % 60000, pl,
				    dns_message(pl, (unsigned)(r >> 48), name, server));
			break;
		case 2: /* HTTP request */
			len = (size_t)snprintf(line, sizeof line,
					       "GET /index-%u.html HTTP/1.1\r\nHost: %s\r\n"
					       "User-Agent: renkei-bench/1.0\r\nAccept: */*\r\n\r\n",
					       (unsigned)(r >> 40) % 100000, name);
			len = frame(buf, client, server, true, 1024 + (unsigned)(r >> 40) % 60000, 80,
				    (unsigned char *)line, len);
			break;
		case 3: /* TLS ClientHello */
			len = frame(buf, client, server, true, 1024 + (unsigned)(r >> 40) % 60000, 443,
				    pl, client_hello(pl, name));
			break;
		default: /* other traffic: a full-size TCP segment */
			memset(pl, (int)(r & 0xff), 1400);
			len = frame(buf, client, server, true, 1024 + (unsigned)(r >> 40) % 60000,
				    8443, pl, 1400);
			break;
		}
		struct pcap_pkthdr h = {.caplen = (bpf_u_int32)len, .len = (bpf_u_int32)len};
		h.ts.tv_sec = (time_t)(1767225600 + n / 10000);
		h.ts.tv_usec = (suseconds_t)(n % 10000) * 100;
		pcap_dump((u_char *)d, &h, buf);
		written += 16 + len;
		hits += hit;
	}
	pcap_dump_close(d);
	pcap_close(dead);
	fprintf(stderr, "gen_sensor: %s: %" PRIu64 " bytes, %" PRIu64 " packets with a hit\n",
		path, written, hits);
	char hits_path[4096];
	snprintf(hits_path, sizeof hits_path, "%s.hits", path);
	FILE *h = fopen(hits_path, "w");
	if (!h)
		return 1;
	fprintf(h, "%" PRIu64 "\n", hits);
	return fclose(h);
}

int main(int argc, char **argv)
{
	gen g = {.seed = GEN_DEFAULT_SEED, .n_ind = 200000, .hit_every = 1000};
	int rc = 0;

	for (int i = 1; i < argc && !rc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--seed") && i + 1 < argc) {
			g.seed = strtoull(argv[++i], NULL, 10);
		} else if (!strcmp(a, "--hit-every") && i + 1 < argc) {
			g.hit_every = (unsigned)strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(a, "--indicators") && i + 2 < argc) {
			g.n_ind = strtoull(argv[++i], NULL, 10);
			rc = write_indicators(&g, argv[++i]);
		} else if (!strcmp(a, "--zeek-dns") && i + 2 < argc) {
			size_t lines = strtoull(argv[++i], NULL, 10);
			rc = write_zeek_dns(&g, lines, argv[++i]);
		} else if (!strcmp(a, "--pcap") && i + 2 < argc) {
			uint64_t bytes = strtoull(argv[++i], NULL, 10);
			rc = write_pcap(&g, bytes, argv[++i]);
		} else {
			fprintf(stderr,
				"usage: gen_sensor [--seed N] [--hit-every N] [--indicators N FILE]\n"
				"                  [--zeek-dns LINES FILE] [--pcap BYTES FILE]\n");
			return 2;
		}
	}
	return rc;
}
