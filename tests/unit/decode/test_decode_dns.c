/*
 * test_decode_dns.c: the DNS-family names beyond questions and answer
 * data, on messages built from the RFC formats: the owner names of answer
 * records (an mDNS announcement without a question, RFC 6762 section 8.3;
 * an ordinary and a signed answer that add nothing), DNS UPDATE (RFC 2136
 * section 2: zone, prerequisite and update sections), the hosts that
 * record data names in every section (MX, NS with glue, PTR, SOA, SRV,
 * DNAME, SVCB/HTTPS; compression pointers inside the data; malformed data
 * counted and skipped), and NetBIOS Name
 * Service names on UDP 137 (RFC 1002 section 4.2, first-level encoding of
 * RFC 1001 section 14.1, with its example name). Each case checks the
 * exact observables in order, with their rrtype, and the malformed
 * variants are counted under the DNS error kinds.
 *
 * With DECODE_WRITE_DNS_SEEDS=<dir> set, each message built here is also
 * written to <dir> (one file per message, the DNS or NBNS message alone),
 * which is how the hand-made seeds of fuzz/corpus/decode_dns and
 * fuzz/corpus/decode_nbns were made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"
#include "decode_test_util.h"

/* Into a seen (decode_test_util.h) as "kind/rrtype=value", addresses of
 * the packet left out. */
static void collect_rr(const decode_observable *o, void *user)
{
	seen *s = user;
	if (o->kind == DECODE_ADDR_SRC || o->kind == DECODE_ADDR_DST)
		return;
	assert_int_equal(strlen(o->value), o->len);
	if (s->n < SEEN_MAX)
		snprintf(s->v[s->n++], sizeof s->v[0], "%s/%u=%s",
			 decode_kind_name(o->kind), o->rrtype, o->value);
}

/* The observables seen, in order, are exactly the NULL-ended list. */
static void expect_seen(const seen *s, const char *const *want)
{
	int n = 0;
	for (; want[n]; n++) {
		assert_true(n < s->n);
		assert_string_equal(s->v[n], want[n]);
	}
	assert_int_equal(s->n, n);
}

/* ------------------------------------------------------------ messages */

typedef struct msg {
	uint8_t b[1024];
	size_t n;
} msg;

static void m8(msg *m, unsigned v)
{
	m->b[m->n++] = (uint8_t)v;
}

static void m16(msg *m, unsigned v)
{
	m8(m, v >> 8);
	m8(m, v & 0xff);
}

static void mbytes(msg *m, const void *v, size_t n)
{
	memcpy(m->b + m->n, v, n);
	m->n += n;
}

/* Header: id, flags, then the four section counts. */
static void mhdr(msg *m, unsigned flags, unsigned qd, unsigned an,
		 unsigned ns, unsigned ar)
{
	m->n = 0;
	m16(m, 0x4242);
	m16(m, flags);
	m16(m, qd);
	m16(m, an);
	m16(m, ns);
	m16(m, ar);
}

/* A dotted name as labels, ending with the root (ptr 0) or with a
 * compression pointer to ptr. */
static void mname(msg *m, const char *dotted, unsigned ptr)
{
	const char *s = dotted;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		m8(m, (unsigned)l);
		mbytes(m, s, l);
		s += l + (dot ? 1 : 0);
	}
	if (ptr)
		m16(m, 0xc000 | ptr);
	else
		m8(m, 0);
}

/* A record after its owner name: type, class, TTL, rdata. */
static void mrr(msg *m, unsigned type, unsigned cls, const void *rd,
		size_t rdlen)
{
	m16(m, type);
	m16(m, cls);
	m16(m, 0);
	m16(m, 120);
	m16(m, (unsigned)rdlen);
	if (rdlen)
		mbytes(m, rd, rdlen);
}

static int seed_no;

/* Sends the message over UDP/IPv4 between the ports given. */
static void send_msg(decode_ctx *d, const msg *m, unsigned sport,
		     unsigned dport)
{
	const char *dir = getenv("DECODE_WRITE_DNS_SEEDS");
	pkt p;
	if (dir) {
		char path[512];
		FILE *f;
		snprintf(path, sizeof path, "%s/%s-%02d", dir,
			 sport == 137 || dport == 137 ? "nbns" : "dns",
			 ++seed_no);
		f = fopen(path, "wb");
		if (f) {
			fwrite(m->b, 1, m->n, f);
			fclose(f);
		}
	}
	eth(&p, 0, 0x0800);
	ip4(&p, 17, 1, 0, 1, 2);
	udp(&p, sport, dport, m->b, m->n);
	pkt_finish_ip4(&p);
	decode_packet(d, DECODE_LINK_ETHERNET, p.b, p.n, 1);
}

static const uint8_t addr4[4] = {192, 0, 2, 9};
static const uint8_t addr6[16] = {0x20, 1, 0xd, 0xb8, 0, 0, 0, 0,
				  0, 0, 0, 0, 0, 0, 0, 9};

/* ------------------------------------------------------------ record targets */

/* The message written as hex (spaces and line breaks between the fields
 * are ignored). */
static void mhex(msg *m, const char *hex)
{
	m->n = 0;
	for (const char *h = hex; *h; h++) {
		unsigned v;
		if (*h == ' ')
			continue;
		assert_int_equal(sscanf(h, "%2x", &v), 1);
		m8(m, v);
		h++;
	}
}

/* The message (hex) answered from port 53: exactly these observables. */
static void expect_answer(const char *hex, const char *const *want)
{
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect_rr, &s);
	msg m;
	assert_non_null(d);
	mhex(&m, hex);
	send_msg(d, &m, 53, 40000);
	expect_seen(&s, want);
	assert_int_equal(decode_get_stats(d)->errors[DECODE_E_DNS_MALFORMED], 0);
	assert_int_equal(decode_get_stats(d)->errors[DECODE_E_DNS_LOOP], 0);
	decode_free(d);
}

/* RFC 1035 section 3.3.9 (MX) and 4.1.4: both exchanges compressed, the
 * second through a pointer into the first one's data. */
static void test_mx_targets(void **state)
{
	(void)state;
	expect_answer(
		"424281800001000200000000" /* 0: response, 1 question, 2 answers */
		"076578616d706c6503636f6d00000f0001" /* 12: example.com MX IN */
		"c00c000f000100000e100007"           /* 29: MX, 7 bytes of data */
		"000a 026d78c00c"                    /* 10 mx + pointer to 12 */
		"c00c000f000100000e100006"           /* 48: MX, 6 bytes */
		"0014 0162c02b",                     /* 20 b + pointer to 43 */
		(const char *const[]){"dns.query/0=example.com",
				      "dns.answer/15=mx.example.com",
				      "dns.answer/15=b.mx.example.com", NULL});
}

/* RFC 1035 sections 3.3.11 (NS) and 4.3.4: a referral, the delegation's
 * servers in the authority section and their glue in the additional one,
 * with an OPT pseudo-record (RFC 6891 section 6.1.2) that names nothing;
 * the owners outside the answer section are not reported. */
static void test_referral_ns_glue(void **state)
{
	(void)state;
	expect_answer(
		"424281000001000000020003" /* 0: 1 question, 2 authority, 3 additional */
		"03777777046576696c076578616d706c650000010001" /* 12: www.evil.example A */
		"c0100002000100000e100006 036e7331c010" /* 34: evil.example NS ns1 + ptr */
		"c0100002000100000e100006 036e7332c010" /* 52: evil.example NS ns2 + ptr */
		"c02e0001000100000e100004 c0000235"     /* 70: ns1 A 192.0.2.53 */
		"c040001c000100000e100010 20010db8000000000000000000000035" /* 86: ns2 AAAA */
		"0000291000000000000000", /* 114: OPT: root, type 41, 4096, no data */
		(const char *const[]){"dns.query/0=www.evil.example",
				      "dns.answer/2=ns1.evil.example",
				      "dns.answer/2=ns2.evil.example",
				      "dns.answer/1=192.0.2.53",
				      "dns.answer/28=2001:db8::35", NULL});
}

/* RFC 1035 section 3.3.12 (PTR, a reverse lookup, 3.5) and 3.3.13 (SOA in
 * the authority section of an NXDOMAIN): the SOA's MNAME is a host, its
 * RNAME a mailbox, not reported. */
static void test_ptr_and_soa(void **state)
{
	(void)state;
	expect_answer(
		"424281800001000100000000"
		"0139013201300331393207696e2d61646472046172706100000c0001" /* 12: 9.2.0.192.in-addr.arpa PTR */
		"c00c000c000100000e100011 026332046576696c076578616d706c6500", /* 40: PTR c2.evil.example */
		(const char *const[]){"dns.query/0=9.2.0.192.in-addr.arpa",
				      "dns.answer/12=c2.evil.example", NULL});
	expect_answer(
		"424281830001000000010000" /* 0: NXDOMAIN, 1 question, 1 authority */
		"046e6f7065046576696c076578616d706c650000010001" /* 12: nope.evil.example A */
		"c0110006000100000e100027" /* 35: evil.example SOA, 39 bytes */
		"036e7331c011"             /* 47: MNAME ns1 + pointer to 17 */
		"0a686f73746d6173746572c011" /* 53: RNAME hostmaster + pointer */
		"78a2b1c0 00001c20 00000384 00127500 00000e10", /* serial .. minimum */
		(const char *const[]){"dns.query/0=nope.evil.example",
				      "dns.answer/6=ns1.evil.example", NULL});
}

/* RFC 2782 (SRV: priority, weight, port, target; a target of "." means
 * the service is not there) and RFC 6672 section 2.1 (DNAME, with the
 * CNAME a server synthesises from it, section 3.1; the A record's owner is
 * a pointer to the CNAME's target). */
static void test_srv_and_dname(void **state)
{
	(void)state;
	expect_answer(
		"424281800001000200000000"
		"045f736970045f756470076578616d706c6503636f6d0000210001" /* 12: _sip._udp.example.com SRV */
		"c00c0021000100000e100018 000a003c13c4" /* 39: SRV 10 60 5060 */
		"03736970046576696c076578616d706c6500"  /* sip.evil.example */
		"c00c0021000100000e100007 000000000000 00", /* 75: SRV 0 0 0 . */
		(const char *const[]){"dns.query/0=_sip._udp.example.com",
				      "dns.answer/33=sip.evil.example", NULL});
	expect_answer(
		"424281800001000300000000"
		"03777777036f6c64076578616d706c650000010001" /* 12: www.old.example A */
		"c0100027000100000e10000d 036e6577076578616d706c6500" /* 33: old.example DNAME new.example */
		"c00c0005000100000e100006 03777777c02d" /* 58: CNAME www + pointer to 45 */
		"c0460001000100000e100004 c0000209",    /* 76: (pointer to 70) A 192.0.2.9 */
		(const char *const[]){"dns.query/0=www.old.example",
				      "dns.answer/0=old.example",
				      "dns.answer/39=new.example",
				      "dns.answer/5=www.new.example",
				      "dns.answer/1=192.0.2.9", NULL});
}

/* RFC 9460 section 2.2 and the record data of its Appendix D examples:
 * HTTPS in AliasMode (D.1, "0 foo.example.com."), SVCB "1 ." (the owner
 * itself: no name) and "16 foo.example.com. port=53" (D.2). */
static void test_svcb_https(void **state)
{
	(void)state;
	expect_answer(
		"424281800001000100000000"
		"076578616d706c6503636f6d0000410001" /* 12: example.com HTTPS */
		"c00c0041000100000e100013"
		"0000 03666f6f076578616d706c6503636f6d00",
		(const char *const[]){"dns.query/0=example.com",
				      "dns.answer/65=foo.example.com", NULL});
	expect_answer(
		"424281800001000200000000"
		"076578616d706c6503636f6d0000400001" /* 12: example.com SVCB */
		"c00c0040000100000e100003 0001 00"
		"c00c0040000100000e100019 0010 03666f6f076578616d706c6503636f6d00"
		"0003 0002 0035",
		(const char *const[]){"dns.query/0=example.com",
				      "dns.answer/64=foo.example.com", NULL});
}

/* Malformed record data is counted and skipped, and the records after it
 * are still read: an MX cut after its preference, an MX whose exchange
 * runs past its data, an NS whose target points at itself (RFC 1035
 * section 4.1.4 pointers must lead backwards: a loop), an HTTPS record
 * with a compressed TargetName (RFC 9460 section 2.2 forbids it). Over
 * TCP (RFC 1035 section 4.2.2) and mDNS the same. */
static void test_malformed_targets(void **state)
{
	static const char hex[] =
		"424281800001000500000000"
		"076578616d706c6503636f6d0000ff0001" /* 12: example.com ANY */
		"c00c000f000100000e100002 000a"       /* 29: MX, no exchange */
		"c00c000f000100000e100006 000a026d78c0" /* 43: MX, pointer cut */
		"c00c0002000100000e100002 c049"       /* 61: NS, pointer to 73 itself */
		"c00c0041000100000e100008 0001 03666f6fc00c" /* 75: HTTPS, compressed */
		"c00c0001000100000e100004 c0000209";  /* 95: A 192.0.2.9 */
	static const unsigned ports[3] = {53, 5353, 53};
	(void)state;
	for (int k = 0; k < 3; k++) {
		seen s = {0};
		decode_ctx *d = decode_new(NULL, collect_rr, &s);
		const decode_stats *st = decode_get_stats(d);
		msg m;
		assert_non_null(d);
		mhex(&m, hex);
		if (k < 2) {
			send_msg(d, &m, ports[k], ports[k]);
		} else { /* TCP: the message after its 2-byte length */
			uint8_t framed[sizeof m.b + 2];
			pkt p;
			framed[0] = (uint8_t)(m.n >> 8);
			framed[1] = (uint8_t)m.n;
			memcpy(framed + 2, m.b, m.n);
			eth(&p, 0, 0x0800);
			ip4(&p, 6, 1, 0, 1, 2);
			tcp(&p, 53, 40000, 7000, 0x18, framed, m.n + 2);
			pkt_finish_ip4(&p);
			decode_packet(d, DECODE_LINK_ETHERNET, p.b, p.n, 1);
		}
		expect_seen(&s, (const char *const[]){"dns.query/0=example.com",
						       "dns.answer/1=192.0.2.9", NULL});
		assert_int_equal(st->errors[DECODE_E_DNS_MALFORMED], 3);
		assert_int_equal(st->errors[DECODE_E_DNS_LOOP], 1);
		decode_free(d);
	}
}

/* ------------------------------------------------------------ DNS */

static void test_mdns_announcement(void **state)
{
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect_rr, &s);
	msg m;

	(void)state;
	assert_non_null(d);
	/* RFC 6762 section 8.3: a response with no question, its records
	 * in the answer section; the second owner points at the first. */
	mhdr(&m, 0x8400, 0, 3, 0, 0);
	mname(&m, "printer.local", 0);
	mrr(&m, 1, 0x8001, addr4, 4);
	m16(&m, 0xc000 | 12);
	mrr(&m, 28, 0x8001, addr6, 16);
	mname(&m, "_ipp._tcp", 20); /* PTR _ipp._tcp.local -> the printer */
	mrr(&m, 12, 1, "\xc0\x0c", 2);
	send_msg(d, &m, 5353, 5353);
	expect_seen(&s, (const char *const[]){
		"dns.answer/0=printer.local", "dns.answer/1=192.0.2.9",
		"dns.answer/28=2001:db8::9", "dns.answer/0=_ipp._tcp.local",
		"dns.answer/12=printer.local", NULL});
	assert_int_equal(decode_get_stats(d)->errors[DECODE_E_DNS_MALFORMED], 0);

	/* mDNS reply with a question and an answer for another name */
	s.n = 0;
	mhdr(&m, 0x8400, 1, 1, 0, 0);
	mname(&m, "asked.local", 0);
	m16(&m, 1);
	m16(&m, 1);
	mname(&m, "other", 18); /* other.local */
	mrr(&m, 1, 1, addr4, 4);
	send_msg(d, &m, 5353, 5353);
	expect_seen(&s, (const char *const[]){
		"dns.query/0=asked.local", "dns.answer/0=other.local",
		"dns.answer/1=192.0.2.9", NULL});
	decode_free(d);
}

static void test_answer_owners_add_nothing(void **state)
{
	static const uint8_t rrsig[20] = {0, 5, 8, 3};
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect_rr, &s);
	msg m;
	size_t target;

	(void)state;
	/* www.example.com CNAME web.example.com, an RRSIG owned by the
	 * question again, then the target's A record with its owner written
	 * out in another case: no owner name is new. */
	mhdr(&m, 0x8180, 1, 4, 0, 0);
	mname(&m, "www.example.com", 0);
	m16(&m, 1);
	m16(&m, 1);
	m16(&m, 0xc000 | 12);
	m16(&m, 5);
	m16(&m, 1);
	m16(&m, 0);
	m16(&m, 60);
	m16(&m, 6);
	target = m.n;
	mname(&m, "web", 16);
	m16(&m, 0xc000 | 12);
	mrr(&m, 46, 1, rrsig, sizeof rrsig);
	mname(&m, "WEB.Example.COM", 0);
	mrr(&m, 1, 1, addr4, 4);
	m16(&m, 0xc000 | (unsigned)target);
	mrr(&m, 28, 1, addr6, 16);
	send_msg(d, &m, 53, 40000);
	expect_seen(&s, (const char *const[]){
		"dns.query/0=www.example.com", "dns.answer/5=web.example.com",
		"dns.answer/1=192.0.2.9", "dns.answer/28=2001:db8::9", NULL});
	/* a query's answer section (as mDNS known answers) is not read */
	s.n = 0;
	m.b[2] = 0x01;
	send_msg(d, &m, 40000, 53);
	expect_seen(&s, (const char *const[]){"dns.query/0=www.example.com",
					       NULL});
	decode_free(d);
}

static void test_dns_update(void **state)
{
	static const uint8_t a33[4] = {192, 0, 2, 33};
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect_rr, &s);
	const decode_stats *st = decode_get_stats(d);
	msg m;

	(void)state;
	/* RFC 2136 section 2: opcode 5; zone example.com SOA (section 2.3);
	 * prerequisite "name is not a CNAME" (2.4.5: class NONE, no data);
	 * updates (2.5): delete host's AAAA RRset (class ANY), add an A. */
	mhdr(&m, 5 << 11, 1, 1, 2, 0);
	mname(&m, "example.com", 0);
	m16(&m, 6);
	m16(&m, 1);
	mname(&m, "host", 12); /* at 29 */
	mrr(&m, 5, 254, NULL, 0);
	m16(&m, 0xc000 | 29);
	mrr(&m, 28, 255, NULL, 0);
	m16(&m, 0xc000 | 29);
	mrr(&m, 1, 1, a33, 4);
	send_msg(d, &m, 40000, 53);
	expect_seen(&s, (const char *const[]){
		"dns.query/0=example.com", "dns.answer/0=host.example.com",
		"dns.answer/1=192.0.2.33", NULL});
	/* the response echoes the sections the same way */
	s.n = 0;
	m.b[2] |= 0x80;
	send_msg(d, &m, 53, 40000);
	assert_int_equal(s.n, 3);
	assert_int_equal(st->errors[DECODE_E_DNS_MALFORMED], 0);
	/* an update section counted longer than the message is malformed,
	 * after what was whole */
	s.n = 0;
	m.b[9] = 3;
	send_msg(d, &m, 40000, 53);
	assert_int_equal(s.n, 3);
	assert_int_equal(st->errors[DECODE_E_DNS_MALFORMED], 1);
	/* an owner pointing forwards is a loop (pointers go backwards) */
	s.n = 0;
	mhdr(&m, 5 << 11, 1, 0, 1, 0);
	mname(&m, "example.com", 0);
	m16(&m, 6);
	m16(&m, 1);
	m16(&m, 0xc000 | 40);
	mrr(&m, 1, 1, a33, 4);
	send_msg(d, &m, 40000, 53);
	assert_int_equal(st->errors[DECODE_E_DNS_LOOP], 1);
	expect_seen(&s, (const char *const[]){"dns.query/0=example.com",
					       NULL});
	decode_free(d);
}

/* ------------------------------------------------------------ NetBIOS */

/* RFC 1001 section 14.1: "FRED" padded to 16 bytes with spaces. */
#define NB_FRED "EGFCEFEECACACACACACACACACACACACA"

/* A NetBIOS name of 15 characters or fewer and its suffix byte, first-
 * level encoded (RFC 1001 section 14.1) as one 32-byte label. */
static void mnbname(msg *m, const char *name, unsigned suffix,
		    const char *scope)
{
	uint8_t raw[16];
	memset(raw, ' ', 15);
	memcpy(raw, name, strlen(name));
	raw[15] = (uint8_t)suffix;
	m8(m, 32);
	for (int i = 0; i < 16; i++) {
		m8(m, 'A' + (raw[i] >> 4));
		m8(m, 'A' + (raw[i] & 15));
	}
	mname(m, scope, 0);
}

static void test_nbns_names(void **state)
{
	static const uint8_t nb[12] = {0x60, 0, 10, 0, 0, 1,
				       0x60, 0, 10, 0, 0, 7};
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect_rr, &s);
	msg m;

	(void)state;
	/* RFC 1002 section 4.2.12: a broadcast name query, NB, IN; the
	 * name is the RFC 1001 example, then with its example scope */
	mhdr(&m, 0x0110, 1, 0, 0, 0);
	m8(&m, 32);
	mbytes(&m, NB_FRED, 32);
	m8(&m, 0);
	m16(&m, 0x20);
	m16(&m, 1);
	send_msg(d, &m, 137, 137);
	mhdr(&m, 0x0110, 1, 0, 0, 0);
	m8(&m, 32);
	mbytes(&m, NB_FRED, 32);
	mname(&m, "NETBIOS.COM", 0);
	m16(&m, 0x20);
	m16(&m, 1);
	send_msg(d, &m, 40000, 137);
	/* Zeek's trace: 'WORKGROUP' with suffix 0x1d; the wildcard name
	 * "*" is padded with NULs */
	mhdr(&m, 0x0110, 2, 0, 0, 0);
	mnbname(&m, "WORKGROUP", 0x1d, "");
	m16(&m, 0x20);
	m16(&m, 1);
	m8(&m, 32);
	mbytes(&m, "CK" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 32);
	m8(&m, 0);
	m16(&m, 0x21);
	m16(&m, 1);
	send_msg(d, &m, 137, 137);
	/* section 4.2.2: a registration names its question again in the
	 * additional record (a pointer); section 4.2.13: a positive
	 * response with two NB entries (a group name) */
	mhdr(&m, 0x2910, 1, 0, 0, 1);
	mnbname(&m, "Host-7", 0, "");
	m16(&m, 0x20);
	m16(&m, 1);
	m16(&m, 0xc000 | 12);
	mrr(&m, 0x20, 1, nb + 6, 6);
	send_msg(d, &m, 137, 137);
	mhdr(&m, 0x8500, 0, 1, 0, 0);
	mnbname(&m, "\x01\x02__MSBROWSE__\x02", 1, "");
	mrr(&m, 0x20, 1, nb, sizeof nb);
	send_msg(d, &m, 137, 40000);
	expect_seen(&s, (const char *const[]){
		"dns.query/0=FRED", "dns.query/0=FRED.NETBIOS.COM",
		"dns.query/0=WORKGROUP", "dns.query/0=*",
		"dns.query/0=Host-7", "dns.answer/1=10.0.0.7",
		"dns.answer/0=\x01\x02__MSBROWSE__\x02",
		"dns.answer/1=10.0.0.1", "dns.answer/1=10.0.0.7", NULL});
	assert_int_equal(decode_get_stats(d)->errors[DECODE_E_DNS_MALFORMED], 0);
	decode_free(d);
}

static void test_nbns_malformed(void **state)
{
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect_rr, &s);
	const decode_stats *st = decode_get_stats(d);
	msg m;

	(void)state;
	/* a first label of 16 letters, not 32 */
	mhdr(&m, 0x0110, 1, 0, 0, 0);
	mname(&m, "EGFCEFEECACACACA", 0);
	m16(&m, 0x20);
	m16(&m, 1);
	send_msg(d, &m, 137, 137);
	assert_int_equal(st->errors[DECODE_E_DNS_MALFORMED], 1);
	/* a letter past 'P' */
	mhdr(&m, 0x0110, 1, 0, 0, 0);
	m8(&m, 32);
	mbytes(&m, "EGFCEFEECACACACACACACACACACACACZ", 32);
	m8(&m, 0);
	m16(&m, 0x20);
	m16(&m, 1);
	send_msg(d, &m, 137, 137);
	assert_int_equal(st->errors[DECODE_E_DNS_MALFORMED], 2);
	/* nothing but padding */
	mhdr(&m, 0x0110, 1, 0, 0, 0);
	mnbname(&m, "", ' ', "");
	m16(&m, 0x20);
	m16(&m, 1);
	send_msg(d, &m, 137, 137);
	assert_int_equal(st->errors[DECODE_E_DNS_MALFORMED], 3);
	/* a name cut short, and a header alone missing its question */
	mhdr(&m, 0x0110, 1, 0, 0, 0);
	m8(&m, 32);
	mbytes(&m, NB_FRED, 20);
	send_msg(d, &m, 137, 137);
	assert_int_equal(st->errors[DECODE_E_DNS_MALFORMED], 4);
	mhdr(&m, 0x0110, 1, 0, 0, 0);
	m.n = 8;
	send_msg(d, &m, 137, 137);
	assert_int_equal(st->errors[DECODE_E_DNS_MALFORMED], 5);
	/* a record whose data runs past the message: nothing of it */
	mhdr(&m, 0x8500, 0, 1, 0, 0);
	mnbname(&m, "CUT", 0, "");
	mrr(&m, 0x20, 1, "\x60\x00\x0a\x00\x00\x01", 6);
	m.n -= 3;
	send_msg(d, &m, 137, 137);
	assert_int_equal(st->errors[DECODE_E_DNS_MALFORMED], 6);
	/* a compression pointer to itself */
	mhdr(&m, 0x0110, 1, 0, 0, 0);
	m16(&m, 0xc000 | 12);
	m16(&m, 0x20);
	m16(&m, 1);
	send_msg(d, &m, 137, 137);
	assert_int_equal(st->errors[DECODE_E_DNS_LOOP], 1);
	expect_seen(&s, (const char *const[]){NULL});
	decode_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mdns_announcement),
		cmocka_unit_test(test_answer_owners_add_nothing),
		cmocka_unit_test(test_dns_update),
		cmocka_unit_test(test_nbns_names),
		cmocka_unit_test(test_nbns_malformed),
		cmocka_unit_test(test_mx_targets),
		cmocka_unit_test(test_referral_ns_glue),
		cmocka_unit_test(test_ptr_and_soa),
		cmocka_unit_test(test_srv_and_dname),
		cmocka_unit_test(test_svcb_https),
		cmocka_unit_test(test_malformed_targets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
