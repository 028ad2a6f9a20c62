/*
 * test_decode_packets.c: the decode stack on hand-built packets, one case
 * per layer feature: link types (Ethernet, QinQ, SLL, SLL2, raw, NULL,
 * PPPoE),
 * IPv4 fragments out of order, IPv6 extension headers and fragments, DNS
 * (questions, compressed answers, a compression loop), DNS over TCP, an
 * HTTP request and a TLS ClientHello split across segments and records,
 * the bounds (fragment table, flow table, truncation, stream buffer),
 * the error kinds of the stream parsers, and capture files written with
 * libpcap (read the same by decode's own reader and by libpcap, whole and
 * record by record: link types, time precision, a cut file, a record over
 * the snapshot length). Each case checks the exact observables or error counts.
 *
 * With DECODE_WRITE_SEEDS=<dir> set, every packet built here is also
 * written to <dir> as a fuzz seed (one byte of link type, then the frame),
 * which is how fuzz/corpus/decode/ was made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include "decode.h"
#include "decode_test_util.h"

static int seed_no;

static void feed(decode_ctx *d, int link, const pkt *p, int64_t ts)
{
	const char *dir = getenv("DECODE_WRITE_SEEDS");
	if (dir && link < 256) {
		char path[512];
		FILE *f;
		snprintf(path, sizeof path, "%s/seed-%03d", dir, ++seed_no);
		f = fopen(path, "wb");
		if (f) {
			fputc(link == 276 ? 255 : link, f);
			fwrite(p->b, 1, p->n, f);
			fclose(f);
		}
	}
	decode_packet(d, link, p->b, p->n, ts);
}

static void test_dns_udp_links(void **state)
{
	uint8_t q[300];
	size_t qn = dns_query(q, "www.Example.com", 0x1234);
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	pkt p;

	(void)state;
	assert_non_null(d);
	/* Ethernet, QinQ, raw IPv4 */
	eth(&p, 0, 0x0800);
	ip4(&p, 17, 1, 0, 1, 2);
	udp(&p, 40000, 53, q, qn);
	pkt_finish_ip4(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, 1);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0], "dns.query=www.Example.com");
	eth(&p, 2, 0x0800);
	ip4(&p, 17, 1, 0, 1, 2);
	udp(&p, 40000, 53, q, qn);
	pkt_finish_ip4(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, 2);
	assert_int_equal(s.n, 2);
	p.n = 0;
	ip4(&p, 17, 1, 0, 1, 2);
	udp(&p, 40000, 53, q, qn);
	pkt_finish_ip4(&p);
	feed(d, DECODE_LINK_RAW, &p, 3);
	assert_int_equal(s.n, 3);
	/* SLL (16-byte header, protocol at 14) */
	p.n = 0;
	memset(p.b, 0, 14);
	p.n = 14;
	put16(&p, 0x86dd);
	ip6(&p, 17);
	udp(&p, 40000, 53, q, qn);
	pkt_finish_ip6(&p);
	feed(d, DECODE_LINK_SLL, &p, 4);
	assert_int_equal(s.n, 4);
	/* SLL2 (20-byte header, protocol first) */
	p.n = 0;
	put16(&p, 0x0800);
	memset(p.b + 2, 0, 18);
	p.n = 20;
	ip4(&p, 17, 1, 0, 1, 2);
	udp(&p, 40000, 53, q, qn);
	pkt_finish_ip4(&p);
	feed(d, DECODE_LINK_SLL2, &p, 5);
	assert_int_equal(s.n, 5);
	/* BSD loopback, family in little-endian host order */
	p.n = 0;
	put8(&p, 2); put8(&p, 0); put8(&p, 0); put8(&p, 0);
	ip4(&p, 17, 1, 0, 1, 2);
	udp(&p, 40000, 53, q, qn);
	pkt_finish_ip4(&p);
	feed(d, DECODE_LINK_NULL, &p, 6);
	assert_int_equal(s.n, 6);
	/* PPPoE session with a compressed (one-byte) PPP protocol */
	eth(&p, 0, 0x8864);
	put8(&p, 0x11); put8(&p, 0); put16(&p, 1); put16(&p, 0);
	put8(&p, 0x21);
	ip4(&p, 17, 1, 0, 1, 2);
	udp(&p, 40000, 53, q, qn);
	pkt_finish_ip4(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, 7);
	assert_int_equal(s.n, 7);
	assert_int_equal(decode_get_stats(d)->observables[DECODE_DNS_QUERY], 7);
	assert_int_equal(decode_get_stats(d)->observables[DECODE_ADDR_SRC], 7);
	decode_free(d);
}

static void test_dns_answers_and_loop(void **state)
{
	/* Response: question www.example.com, CNAME -> web.example.com
	 * (compressed), A 192.0.2.7, AAAA 2001:db8::7. */
	static const uint8_t r[] = {
		0, 1, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
		3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
		0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6,
		3, 'w', 'e', 'b', 0xc0, 16,
		0xc0, 45, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7,
		0xc0, 45, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16,
		0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
	};
	/* Question name is a pointer to itself. */
	static const uint8_t loop[] = {
		0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1,
	};
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	pkt p;

	(void)state;
	eth(&p, 1, 0x0800);
	ip4(&p, 17, 2, 0, 2, 1);
	udp(&p, 53, 40000, r, sizeof r);
	pkt_finish_ip4(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, 1);
	assert_int_equal(s.n, 4);
	assert_true(has(&s, "dns.query=www.example.com"));
	assert_true(has(&s, "dns.answer=web.example.com"));
	assert_true(has(&s, "dns.answer=192.0.2.7"));
	assert_true(has(&s, "dns.answer=2001:db8::7"));
	eth(&p, 0, 0x0800);
	ip4(&p, 17, 3, 0, 1, 2);
	udp(&p, 40000, 53, loop, sizeof loop);
	pkt_finish_ip4(&p);
	assert_int_equal(decode_get_stats(d)->errors[DECODE_E_DNS_LOOP], 0);
	feed(d, DECODE_LINK_ETHERNET, &p, 2);
	assert_int_equal(s.n, 4);
	assert_int_equal(decode_get_stats(d)->errors[DECODE_E_DNS_LOOP], 1);
	assert_int_equal(decode_get_stats(d)->last_error_packet[DECODE_E_DNS_LOOP], 2);
	decode_free(d);
}

static void test_ipv4_fragments(void **state)
{
	uint8_t q[300], dg[400];
	size_t qn = dns_query(q, "frag.example.org", 7);
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	pkt p;

	(void)state;
	/* UDP datagram (header + query) cut at 16 bytes: second piece first. */
	dg[0] = 0x9c; dg[1] = 0x40; dg[2] = 0; dg[3] = 53;
	dg[4] = (uint8_t)((8 + qn) >> 8); dg[5] = (uint8_t)(8 + qn);
	dg[6] = 0; dg[7] = 0;
	memcpy(dg + 8, q, qn);
	eth(&p, 0, 0x0800);
	ip4(&p, 17, 99, 2, 1, 2); /* offset 16 bytes, last */
	put(&p, dg + 16, 8 + qn - 16);
	pkt_finish_ip4(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, 1);
	assert_int_equal(s.n, 0);
	eth(&p, 0, 0x0800);
	ip4(&p, 17, 99, 0x2000, 1, 2); /* offset 0, more fragments */
	put(&p, dg, 16);
	pkt_finish_ip4(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, 2);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0], "dns.query=frag.example.org");
	decode_free(d);
}

static void test_ipv6_ext_and_fragments(void **state)
{
	uint8_t q[300], dg[400];
	size_t qn = dns_query(q, "v6.example.net", 8);
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	pkt p;

	(void)state;
	dg[0] = 0x9c; dg[1] = 0x41; dg[2] = 0; dg[3] = 53;
	dg[4] = (uint8_t)((8 + qn) >> 8); dg[5] = (uint8_t)(8 + qn);
	dg[6] = 0; dg[7] = 0;
	memcpy(dg + 8, q, qn);
	/* hop-by-hop (8) -> destination options (8) -> UDP, unfragmented */
	eth(&p, 0, 0x86dd);
	ip6(&p, 0);
	put8(&p, 60); put8(&p, 0); put16(&p, 0x0104); put32(&p, 0);
	put8(&p, 17); put8(&p, 0); put16(&p, 0x0104); put32(&p, 0);
	udp(&p, 40001, 53, q, qn);
	pkt_finish_ip6(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, 1);
	assert_int_equal(s.n, 1);
	/* routing header then fragment header, two pieces */
	eth(&p, 0, 0x86dd);
	ip6(&p, 43);
	put8(&p, 44); put8(&p, 0); put8(&p, 0); put8(&p, 0); put32(&p, 0);
	put8(&p, 17); put8(&p, 0); put16(&p, 0x0001); put32(&p, 0xabcd);
	put(&p, dg, 24);
	pkt_finish_ip6(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, 2);
	assert_int_equal(s.n, 1);
	eth(&p, 0, 0x86dd);
	ip6(&p, 44);
	put8(&p, 17); put8(&p, 0); put16(&p, 24); put32(&p, 0xabcd);
	put(&p, dg + 24, 8 + qn - 24);
	pkt_finish_ip6(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, 3);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[1], "dns.query=v6.example.net");
	decode_free(d);
}

static void test_http_split(void **state)
{
	static const char a[] = "GET /a/b?c=1 HTTP/1.1\r\nHo";
	static const char b[] = "st:  evil.example \r\nUser-Agent: curl/8.0\r\n\r\n"
				"POST /up HTTP/1.1\r\nHost: x.test\r\nContent-Length: 4\r\n\r\nABCD"
				"GET /next HTTP/1.1\r\nHost: y.test\r\n\r\n";
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	pkt p;

	(void)state;
	eth(&p, 0, 0x0800);
	ip4(&p, 6, 1, 0, 1, 2);
	tcp(&p, 50000, 80, 1000, 0x02, NULL, 0);
	pkt_finish_ip4(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, 1);
	eth(&p, 0, 0x0800);
	ip4(&p, 6, 2, 0, 1, 2);
	tcp(&p, 50000, 80, 1001, 0x18, a, strlen(a));
	pkt_finish_ip4(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, 2);
	assert_int_equal(s.n, 0);
	/* a retransmission of the first segment changes nothing */
	feed(d, DECODE_LINK_ETHERNET, &p, 3);
	eth(&p, 0, 0x0800);
	ip4(&p, 6, 3, 0, 1, 2);
	tcp(&p, 50000, 80, (uint32_t)(1001 + strlen(a)), 0x18, b, strlen(b));
	pkt_finish_ip4(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, 4);
	assert_int_equal(s.n, 7);
	assert_string_equal(s.v[0], "http.url=/a/b?c=1");
	assert_string_equal(s.v[1], "http.host=evil.example");
	assert_string_equal(s.v[2], "http.user_agent=curl/8.0");
	assert_string_equal(s.v[3], "http.url=/up");
	assert_string_equal(s.v[4], "http.host=x.test");
	assert_string_equal(s.v[5], "http.url=/next");
	assert_string_equal(s.v[6], "http.host=y.test");
	decode_free(d);
}

static void test_tls_split(void **state)
{
	uint8_t hs[512], rec[600];
	size_t hn = tls_client_hello(hs, "secret.example.com"), rn = 0;
	size_t cut = 20;
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	pkt p;

	(void)state;
	/* two records: the handshake cut after 20 bytes */
	rec[rn++] = 22; rec[rn++] = 3; rec[rn++] = 1;
	rec[rn++] = 0; rec[rn++] = (uint8_t)cut;
	memcpy(rec + rn, hs, cut); rn += cut;
	rec[rn++] = 22; rec[rn++] = 3; rec[rn++] = 1;
	rec[rn++] = (uint8_t)((hn - cut) >> 8); rec[rn++] = (uint8_t)(hn - cut);
	memcpy(rec + rn, hs + cut, hn - cut); rn += hn - cut;
	/* three TCP segments over IPv6, cut inside the second record */
	size_t c1 = 3, c2 = 40;
	eth(&p, 0, 0x86dd);
	ip6(&p, 6);
	tcp(&p, 50001, 443, 5000, 0x18, rec, c1);
	pkt_finish_ip6(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, 1);
	eth(&p, 0, 0x86dd);
	ip6(&p, 6);
	tcp(&p, 50001, 443, (uint32_t)(5000 + c1), 0x18, rec + c1, c2 - c1);
	pkt_finish_ip6(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, 2);
	assert_int_equal(s.n, 0);
	eth(&p, 0, 0x86dd);
	ip6(&p, 6);
	tcp(&p, 50001, 443, (uint32_t)(5000 + c2), 0x18, rec + c2, rn - c2);
	pkt_finish_ip6(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, 3);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0], "tls.sni=secret.example.com");
	assert_int_equal(decode_get_stats(d)->errors[DECODE_E_TLS_MALFORMED], 0);
	decode_free(d);
}

static void test_dns_tcp(void **state)
{
	uint8_t q[300], m[302];
	size_t qn = dns_query(q, "tcp.example.com", 9);
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	pkt p;

	(void)state;
	m[0] = (uint8_t)(qn >> 8); m[1] = (uint8_t)qn;
	memcpy(m + 2, q, qn);
	eth(&p, 0, 0x0800);
	ip4(&p, 6, 1, 0, 1, 2);
	tcp(&p, 50002, 53, 1, 0x18, m, 10);
	pkt_finish_ip4(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, 1);
	assert_int_equal(s.n, 0);
	eth(&p, 0, 0x0800);
	ip4(&p, 6, 2, 0, 1, 2);
	tcp(&p, 50002, 53, 11, 0x18, m + 10, qn + 2 - 10);
	pkt_finish_ip4(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, 2);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0], "dns.query=tcp.example.com");
	decode_free(d);
}

static void test_bad_packets_counted(void **state)
{
	uint8_t q[300];
	size_t qn = dns_query(q, "ok.example", 1);
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	const decode_stats *st = decode_get_stats(d);
	pkt p;

	(void)state;
	eth(&p, 0, 0x0800);
	ip4(&p, 17, 1, 0, 1, 2);
	udp(&p, 40000, 53, q, qn);
	pkt_finish_ip4(&p);
	/* frame cut inside the IP payload */
	assert_int_equal(decode_packet(d, DECODE_LINK_ETHERNET, p.b, p.n - 3, 1),
			 DECODE_E_TRUNCATED + 1);
	/* wrong header checksum: counted, still decoded */
	p.b[p.ip + 10] ^= 0xff;
	assert_int_equal(decode_packet(d, DECODE_LINK_ETHERNET, p.b, p.n, 2), 0);
	assert_int_equal(st->errors[DECODE_E_BAD_CHECKSUM], 1);
	assert_int_equal(s.n, 1);
	/* IP total length shorter than the header */
	set16(&p, p.ip + 2, 12);
	assert_int_equal(decode_packet(d, DECODE_LINK_ETHERNET, p.b, p.n, 3),
			 DECODE_E_BAD_LENGTH + 1);
	assert_int_equal(decode_packet(d, 9999, p.b, p.n, 4),
			 DECODE_E_LINK_UNSUPPORTED + 1);
	assert_int_equal(st->last_error_packet[DECODE_E_LINK_UNSUPPORTED], 4);
	assert_int_equal(st->packets, 4);
	decode_free(d);
}

static void test_tables_bounded(void **state)
{
	decode_config cfg = {0};
	seen s = {0};
	decode_ctx *d;
	pkt p;

	(void)state;
	cfg.frag_slots = 2;
	cfg.flows = 2;
	cfg.frag_timeout_s = 1;
	cfg.emit_addresses = 0;
	d = decode_new(&cfg, collect, &s);
	assert_non_null(d);
	/* three first fragments of different datagrams into two slots */
	for (unsigned id = 1; id <= 3; id++) {
		eth(&p, 0, 0x0800);
		ip4(&p, 17, id, 0x2000, 1, 2);
		put32(&p, 0); put32(&p, 0);
		pkt_finish_ip4(&p);
		decode_packet(d, DECODE_LINK_ETHERNET, p.b, p.n, id);
	}
	assert_int_equal(decode_get_stats(d)->errors[DECODE_E_FRAG_DROPPED], 1);
	/* two seconds later both are expired */
	eth(&p, 0, 0x0800);
	ip4(&p, 17, 9, 0x2000, 1, 2);
	put32(&p, 0); put32(&p, 0);
	pkt_finish_ip4(&p);
	decode_packet(d, DECODE_LINK_ETHERNET, p.b, p.n, 3000000);
	assert_int_equal(decode_get_stats(d)->errors[DECODE_E_FRAG_TIMEOUT], 2);
	/* three flows into two slots */
	for (unsigned port = 1; port <= 3; port++) {
		eth(&p, 0, 0x0800);
		ip4(&p, 6, port, 0, 1, 2);
		tcp(&p, 1000 + port, 80, 1, 0x02, NULL, 0);
		pkt_finish_ip4(&p);
		decode_packet(d, DECODE_LINK_ETHERNET, p.b, p.n, 3000000);
	}
	assert_int_equal(decode_get_stats(d)->errors[DECODE_E_FLOW_EVICTED], 1);
	assert_int_equal(s.n, 0);
	decode_free(d);
}

static void tcp_send(decode_ctx *d, unsigned sport, unsigned dport,
		     uint32_t seq, const void *pl, size_t n, int64_t ts)
{
	pkt p;
	eth(&p, 0, 0x0800);
	ip4(&p, 6, 1, 0, 1, 2);
	tcp(&p, sport, dport, seq, 0x18, pl, n);
	pkt_finish_ip4(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, ts);
}

static void test_stream_errors_counted(void **state)
{
	static const uint8_t bad_tls[] = {0x16, 3, 1, 0, 0, 1, 2, 3};
	static const uint8_t bad_dns[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
					  63, 'a'};
	char big[700];
	decode_config cfg = {0};
	seen s = {0};
	decode_ctx *d;
	const decode_stats *st;
	pkt p;

	(void)state;
	cfg.flow_buf = 256;
	cfg.emit_addresses = 0;
	d = decode_new(&cfg, collect, &s);
	st = decode_get_stats(d);
	/* TLS record of length 0 */
	tcp_send(d, 1001, 443, 1, bad_tls, sizeof bad_tls, 1);
	assert_int_equal(st->errors[DECODE_E_TLS_BAD_RECORD], 1);
	/* a second request that is not HTTP */
	tcp_send(d, 1002, 80, 1, "GET / HTTP/1.1\r\n\r\nxyz\r\n\r\n", 25, 2);
	assert_int_equal(st->errors[DECODE_E_HTTP_MALFORMED], 1);
	/* request headers longer than the stream buffer: the request line
	 * and the headers that fit are still reported */
	memset(big, 'a', sizeof big);
	memcpy(big, "GET /long HTTP/1.1\r\nHost: h.test\r\nX: ", 38);
	tcp_send(d, 1003, 80, 1, big, sizeof big, 3);
	assert_true(has(&s, "http.url=/long"));
	assert_true(has(&s, "http.host=h.test"));
	/* a gap in a stream with buffered data: counted, direction dropped */
	tcp_send(d, 1004, 80, 1, "GET /x HTTP/1.1\r\n", 17, 4);
	tcp_send(d, 1004, 80, 100, "Host: late.test\r\n\r\n", 19, 5);
	assert_int_equal(st->errors[DECODE_E_TCP_GAP], 1);
	assert_false(has(&s, "http.host=late.test"));
	/* UDP DNS whose label runs past the end */
	eth(&p, 0, 0x0800);
	ip4(&p, 17, 1, 0, 1, 2);
	udp(&p, 40000, 53, bad_dns, sizeof bad_dns);
	pkt_finish_ip4(&p);
	feed(d, DECODE_LINK_ETHERNET, &p, 6);
	assert_int_equal(st->errors[DECODE_E_DNS_MALFORMED], 1);
	assert_int_equal(st->last_error_packet[DECODE_E_DNS_MALFORMED],
			 st->packets);
	decode_free(d);
}

static void test_pcap_file(void **state)
{
	char path[] = "/tmp/rk-decode-test-XXXXXX";
	uint8_t q[300];
	size_t qn = dns_query(q, "file.example", 3);
	struct pcap_pkthdr h = {0};
	pcap_t *dead;
	pcap_dumper_t *dump;
	seen s = {0};
	decode_ctx *d;
	rk_errctx ctx;
	pkt p;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	dead = pcap_open_dead(DLT_EN10MB, 65535);
	dump = pcap_dump_open(dead, path);
	assert_non_null(dump);
	eth(&p, 1, 0x0800);
	ip4(&p, 17, 1, 0, 1, 2);
	udp(&p, 40000, 53, q, qn);
	pkt_finish_ip4(&p);
	h.caplen = h.len = (bpf_u_int32)p.n;
	h.ts.tv_sec = 1700000000;
	pcap_dump((u_char *)dump, &h, p.b);
	h.caplen = 10; /* a cut frame: counted, not fatal */
	pcap_dump((u_char *)dump, &h, p.b);
	h.caplen = h.len = (bpf_u_int32)p.n;
	pcap_dump((u_char *)dump, &h, p.b);
	pcap_dump_close(dump);
	pcap_close(dead);

	d = decode_new(NULL, collect, &s);
	rk_errctx_clear(&ctx);
	assert_int_equal(decode_pcap_file(d, path, &ctx), RK_OK);
	assert_int_equal(decode_get_stats(d)->packets, 3);
	assert_int_equal(decode_get_stats(d)->errors[DECODE_E_TRUNCATED], 1);
	assert_int_equal(decode_get_stats(d)->last_error_packet[DECODE_E_TRUNCATED], 2);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[0], "dns.query=file.example");
	unlink(path);
	assert_int_equal(decode_pcap_file(d, path, &ctx), RK_EIO);
	assert_non_null(strstr(ctx.msg, "cannot open capture"));
	decode_free(d);
}

/* ------------------------------------------------------------ capture readers */

typedef struct tsseen {
	seen s;
	int64_t last_ts;
} tsseen;

static void collect_ts(const decode_observable *o, void *user)
{
	tsseen *t = user;
	t->last_ts = o->ts_usec;
	collect(o, &t->s);
}

/* Five DNS queries q0.example .. q4.example in a capture of link type dlt
 * with the given snapshot length and time precision; record `big` (or -1)
 * claims 40 bytes more than the snapshot length. */
static void write_capture(const char *path, int dlt, int snap, int prec, int big)
{
	pcap_t *dead = pcap_open_dead_with_tstamp_precision(dlt, snap, (u_int)prec);
	pcap_dumper_t *dump = pcap_dump_open(dead, path);
	struct pcap_pkthdr h = {0};
	uint8_t q[300], frame[600] = {0};
	char name[32];
	pkt p;

	assert_non_null(dump);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof name, "q%d.example", i);
		size_t qn = dns_query(q, name, (uint16_t)i);
		if (dlt == DLT_EN10MB)
			eth(&p, 0, 0x0800);
		else
			p.n = 0;
		ip4(&p, 17, 1, 0, 1, 2);
		udp(&p, 40000, 53, q, qn);
		pkt_finish_ip4(&p);
		h.caplen = h.len = (bpf_u_int32)p.n;
		h.ts.tv_sec = 1700000000 + i;
		h.ts.tv_usec = prec == PCAP_TSTAMP_PRECISION_NANO ? 123456789 : 123456;
		memcpy(frame, p.b, p.n);
		if (i == big)
			h.caplen = h.len = (bpf_u_int32)snap + 40;
		pcap_dump((u_char *)dump, &h, frame);
	}
	pcap_dump_close(dump);
	pcap_close(dead);
}

/* What libpcap alone makes of a file: packets and whether it ends in an
 * error. */
static uint64_t libpcap_count(const char *path, int *error)
{
	char eb[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, eb);
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t n = 0;
	int rc;

	assert_non_null(pc);
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1)
		n++;
	*error = rc == PCAP_ERROR;
	pcap_close(pc);
	return n;
}

/* decode_pcap_next gives libpcap's records: bytes, lengths, times, link
 * type, and its error at the end. */
static void same_records(const char *path)
{
	char eb[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, eb);
	rk_errctx ctx;
	decode_pcap *r;
	struct pcap_pkthdr *h;
	const u_char *want;
	const uint8_t *got;
	size_t caplen;
	int64_t ts;
	int rc, lrc;

	assert_non_null(pc);
	rk_errctx_clear(&ctx);
	r = decode_pcap_open(path, &ctx);
	assert_non_null(r);
	assert_int_equal(decode_pcap_link(r), pcap_datalink(pc));
	do {
		lrc = pcap_next_ex(pc, &h, &want);
		rc = decode_pcap_next(r, &got, &caplen, &ts, &ctx);
		if (lrc == 1) {
			assert_int_equal(rc, 1);
			assert_int_equal(caplen, h->caplen);
			assert_int_equal(ts, (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec);
			assert_memory_equal(got, want, caplen);
		}
	} while (lrc == 1);
	assert_int_equal(rc, lrc == PCAP_ERROR ? -1 : 0);
	if (rc < 0)
		assert_non_null(strstr(ctx.msg, "reading capture"));
	assert_int_equal(decode_pcap_next(r, &got, &caplen, &ts, &ctx), 0);
	decode_pcap_close(r);
	pcap_close(pc);
}

static void test_pcap_readers(void **state)
{
	char path[] = "/tmp/rk-decode-test-XXXXXX";
	static const struct {
		int dlt, snap, prec, big;
		long cut; /* bytes cut off the end */
		int64_t ts; /* of the last observable */
	} cases[] = {
		{DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_MICRO, -1, 0, 1700000004123456},
		{DLT_RAW, 65535, PCAP_TSTAMP_PRECISION_MICRO, -1, 0, 1700000004123456},
		{DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO, -1, 0, 1700000004123456},
		/* cut inside the last record: libpcap's error, four packets */
		{DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_MICRO, -1, 10, 1700000003123456},
		/* a record over the snapshot length: libpcap decides */
		{DLT_EN10MB, 60, PCAP_TSTAMP_PRECISION_MICRO, 2, 0, 0},
	};
	(void)state;
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		tsseen t;
		rk_errctx ctx;
		int fd, lerr;
		strcpy(path + sizeof path - 7, "XXXXXX");
		fd = mkstemp(path);
		assert_true(fd >= 0);
		close(fd);
		write_capture(path, cases[c].dlt, cases[c].snap, cases[c].prec, cases[c].big);
		if (cases[c].cut) {
			FILE *f = fopen(path, "rb");
			assert_non_null(f);
			fseek(f, 0, SEEK_END);
			long size = ftell(f);
			fclose(f);
			assert_int_equal(truncate(path, size - cases[c].cut), 0);
		}
		uint64_t want = libpcap_count(path, &lerr);
		memset(&t, 0, sizeof t);
		decode_ctx *d = decode_new(NULL, collect_ts, &t);
		rk_errctx_clear(&ctx);
		assert_int_equal(decode_pcap_file(d, path, &ctx), lerr ? RK_EIO : RK_OK);
		assert_int_equal(decode_get_stats(d)->packets, want);
		if (cases[c].ts) {
			assert_int_equal(t.s.n, (int)want);
			assert_string_equal(t.s.v[0], "dns.query=q0.example");
			assert_int_equal(t.last_ts, cases[c].ts);
		}
		if (cases[c].cut)
			assert_int_equal(want, 4);
		decode_free(d);
		same_records(path);
		unlink(path);
	}
}

/* raw_addresses: address observables without text, the flow's bytes
 * there instead; the default still gives the text. */
typedef struct addrseen {
	int n;
	size_t len[2];
	char text[2][48];
	uint8_t src[4];
} addrseen;

static void collect_addr(const decode_observable *o, void *user)
{
	addrseen *a = user;
	if (o->kind != DECODE_ADDR_SRC && o->kind != DECODE_ADDR_DST)
		return;
	if (a->n < 2) {
		a->len[a->n] = o->len;
		snprintf(a->text[a->n], sizeof a->text[0], "%s", o->value);
		a->n++;
	}
	if (o->kind == DECODE_ADDR_SRC)
		memcpy(a->src, o->flow->src, 4);
}

static void test_raw_addresses(void **state)
{
	uint8_t q[300];
	size_t qn = dns_query(q, "raw.example", 7);
	decode_config cfg;
	pkt p;

	(void)state;
	eth(&p, 0, 0x0800);
	ip4(&p, 17, 1, 0, 1, 2);
	udp(&p, 40000, 53, q, qn);
	pkt_finish_ip4(&p);
	for (int raw = 0; raw < 2; raw++) {
		addrseen a = {0};
		decode_config_default(&cfg);
		cfg.raw_addresses = raw;
		decode_ctx *d = decode_new(&cfg, collect_addr, &a);
		assert_non_null(d);
		decode_packet(d, DECODE_LINK_ETHERNET, p.b, p.n, 1);
		assert_int_equal(a.n, 2);
		if (raw) {
			assert_int_equal(a.len[0], 0);
			assert_string_equal(a.text[1], "");
		} else {
			assert_string_equal(a.text[0], "10.0.0.1");
			assert_int_equal(a.len[0], 8);
			assert_string_equal(a.text[1], "10.0.0.2");
		}
		assert_int_equal(a.src[3], 1);
		assert_int_equal(decode_get_stats(d)->observables[DECODE_ADDR_SRC], 1);
		decode_free(d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_udp_links),
		cmocka_unit_test(test_dns_answers_and_loop),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv6_ext_and_fragments),
		cmocka_unit_test(test_http_split),
		cmocka_unit_test(test_tls_split),
		cmocka_unit_test(test_dns_tcp),
		cmocka_unit_test(test_bad_packets_counted),
		cmocka_unit_test(test_tables_bounded),
		cmocka_unit_test(test_stream_errors_counted),
		cmocka_unit_test(test_pcap_file),
		cmocka_unit_test(test_pcap_readers),
		cmocka_unit_test(test_raw_addresses),
	};
	decode_free(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
