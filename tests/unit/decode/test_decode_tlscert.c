/*
 * test_decode_tlscert.c: the server certificates of a TLS 1.0-1.2
 * handshake (decode_tlscert.c), through decode_packet only.
 *
 * Two real DER certificates (an RSA and an EC one) are made at setup with
 * `openssl req -x509 ... -outform DER` in a temporary directory, and their
 * SHA-1 and SHA-256 computed there with `openssl dgst`, independently of
 * the decoder. A client sends a ClientHello to port 443; the server answers
 * with a ServerHello, a Certificate message holding both certificates and a
 * ServerHelloDone, cut into records and TCP segments of many sizes (down to
 * one byte). The cases that must give nothing are counted where they are
 * wrong: lengths that do not add up, a bad record, a gap, TLS 1.3, a server
 * that speaks first, a full slot table.
 *
 * The same flight and ClientHello follow STARTTLS (decode_starttls.c) in
 * SMTP, IMAP and POP3 sessions written out line by line, with the server's
 * answer read before or after the ClientHello, in segments of many sizes;
 * sessions that never switch (no STARTTLS, refused, another IMAP tag's OK,
 * over-long lines, too many lines) give no certificate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "decode.h"
#include "decode_test_util.h"

#define CERT_MAX 4096

typedef struct cert {
	uint8_t der[CERT_MAX];
	size_t len;
	char sha1[41], sha256[65];
} cert;

static cert certs[2];
static char tmpdir[64];

static int run(const char *cmd)
{
	return system(cmd) == 0 ? 0 : -1;
}

static int read_digest(const char *cmd, char *out, size_t hexlen)
{
	FILE *p = popen(cmd, "r");
	char line[256];
	int ok = p && fgets(line, sizeof line, p) && strlen(line) > hexlen &&
		 line[hexlen] == ' ';
	if (p)
		pclose(p);
	if (!ok)
		return -1;
	memcpy(out, line, hexlen);
	out[hexlen] = 0;
	return 0;
}

static int make_cert(cert *c, const char *name, const char *keyopt)
{
	char cmd[1024], path[256];
	FILE *f;
	snprintf(path, sizeof path, "%s/%s.der", tmpdir, name);
	snprintf(cmd, sizeof cmd,
		 "openssl req -x509 %s -nodes -keyout %s/%s.key -out %s -outform DER "
		 "-subj /CN=%s.example -days 2 2>/dev/null",
		 keyopt, tmpdir, name, path, name);
	if (run(cmd))
		return -1;
	if (!(f = fopen(path, "rb")))
		return -1;
	c->len = fread(c->der, 1, sizeof c->der, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "openssl dgst -sha1 -r %s", path);
	if (read_digest(cmd, c->sha1, 40))
		return -1;
	snprintf(cmd, sizeof cmd, "openssl dgst -sha256 -r %s", path);
	return read_digest(cmd, c->sha256, 64);
}

static int setup(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/rk-tlscert-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	if (make_cert(&certs[0], "rsa", "-newkey rsa:2048") ||
	    make_cert(&certs[1], "ec", "-newkey ec -pkeyopt ec_paramgen_curve:P-256"))
		return -1;
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	return run(cmd);
}

/* ------------------------------------------------------------ flights */

static size_t put24(uint8_t *o, size_t n)
{
	o[0] = (uint8_t)(n >> 16);
	o[1] = (uint8_t)(n >> 8);
	o[2] = (uint8_t)n;
	return 3;
}

/* A ServerHello body choosing TLS 1.2, or TLS 1.3 through
 * supported_versions; with a renegotiation_info extension. */
static size_t server_hello(uint8_t *o, int tls13)
{
	size_t n = 0, start;
	o[n++] = 2;
	n += 3;
	start = n;
	o[n++] = 3; o[n++] = 3;
	memset(o + n, 0x22, 32); n += 32;
	o[n++] = 0;                      /* session id */
	o[n++] = 0xc0; o[n++] = 0x2f;    /* cipher suite */
	o[n++] = 0;                      /* compression */
	o[n++] = 0; o[n++] = (uint8_t)(tls13 ? 11 : 5);
	o[n++] = 0xff; o[n++] = 0x01; o[n++] = 0; o[n++] = 1; o[n++] = 0;
	if (tls13) {
		o[n++] = 0; o[n++] = 43; o[n++] = 0; o[n++] = 2;
		o[n++] = 3; o[n++] = 4;
	}
	put24(o + 1, n - start);
	return n;
}

/* A Certificate message with the given certificates; list_fix and
 * cert_fix are added to the list length and the first certificate's
 * length (lying lengths). */
static size_t certificate(uint8_t *o, const cert *const *cs, int ncs, int list_fix,
			  int cert_fix)
{
	size_t n = 0, list = 0;
	for (int i = 0; i < ncs; i++)
		list += 3 + cs[i]->len;
	o[n++] = 11;
	n += put24(o + n, 3 + list);
	n += put24(o + n, (size_t)((long)list + list_fix));
	for (int i = 0; i < ncs; i++) {
		n += put24(o + n, (size_t)((long)cs[i]->len + (i == 0 ? cert_fix : 0)));
		memcpy(o + n, cs[i]->der, cs[i]->len);
		n += cs[i]->len;
	}
	return n;
}

/* The handshake bytes hs put in records of at most rec_max bytes. */
static size_t records(uint8_t *o, const uint8_t *hs, size_t n, size_t rec_max)
{
	size_t out = 0;
	for (size_t at = 0; at < n;) {
		size_t k = n - at < rec_max ? n - at : rec_max;
		o[out++] = 22; o[out++] = 3; o[out++] = 3;
		o[out++] = (uint8_t)(k >> 8); o[out++] = (uint8_t)k;
		memcpy(o + out, hs + at, k);
		out += k;
		at += k;
	}
	return out;
}

static void send_port(decode_ctx *d, int from_server, unsigned port, unsigned cport,
		      uint32_t seq, const uint8_t *pl, size_t n)
{
	pkt p;
	eth(&p, 0, 0x0800);
	if (from_server) {
		ip4(&p, 6, 1, 0, 2, 1);
		tcp(&p, port, cport, seq, 0x18, pl, n);
	} else {
		ip4(&p, 6, 1, 0, 1, 2);
		tcp(&p, cport, port, seq, 0x18, pl, n);
	}
	pkt_finish_ip4(&p);
	decode_packet(d, DECODE_LINK_ETHERNET, p.b, p.n, 1000000);
}

static void send_seg(decode_ctx *d, int from_server, unsigned cport, uint32_t seq,
		     const uint8_t *pl, size_t n)
{
	send_port(d, from_server, 443, cport, seq, pl, n);
}

/* The client's ClientHello in one record, one segment. */
static void client_hello(decode_ctx *d, unsigned cport)
{
	uint8_t hs[512], rec[600];
	size_t hn = tls_client_hello(hs, "c2.example");
	size_t rn = records(rec, hs, hn, 16384);
	send_seg(d, 0, cport, 1, rec, rn);
}

/* The server's bytes in segments of seg bytes from sequence number 1;
 * returns the next sequence number. */
static uint32_t server_send(decode_ctx *d, unsigned cport, uint32_t seq, const uint8_t *b,
			    size_t n, size_t seg)
{
	for (size_t at = 0; at < n; at += seg) {
		size_t k = n - at < seg ? n - at : seg;
		send_seg(d, 1, cport, seq, b + at, k);
		seq += (uint32_t)k;
	}
	return seq;
}

static uint8_t hsbuf[3 * CERT_MAX], flight[4 * CERT_MAX];

/* ServerHello, Certificate (both certificates), ServerHelloDone. */
static size_t good_handshake(uint8_t *hs, int tls13)
{
	const cert *cs[2] = {&certs[0], &certs[1]};
	size_t n = server_hello(hs, tls13);
	n += certificate(hs + n, cs, 2, 0, 0);
	hs[n++] = 14; hs[n++] = 0; hs[n++] = 0; hs[n++] = 0;
	return n;
}

static void expect_both(const seen *s)
{
	char want[128];
	assert_int_equal(s->n, 5); /* the SNI, then two digests each */
	assert_string_equal(s->v[0], "tls.sni=c2.example");
	for (int i = 0; i < 2; i++) {
		snprintf(want, sizeof want, "tls.cert_sha1=%.40s", certs[i].sha1);
		assert_string_equal(s->v[1 + 2 * i], want);
		snprintf(want, sizeof want, "tls.cert_sha256=%.64s", certs[i].sha256);
		assert_string_equal(s->v[2 + 2 * i], want);
	}
}

/* ------------------------------------------------------------ tests */

static void test_split_anywhere(void **state)
{
	static const size_t recs[] = {16384, 1000, 333, 64, 7};
	static const size_t segs[] = {1400, 517, 97, 13, 1};
	(void)state;
	assert_true(certs[0].len > 500 && certs[1].len > 300);
	for (size_t r = 0; r < sizeof recs / sizeof recs[0]; r++) {
		for (size_t g = 0; g < sizeof segs / sizeof segs[0]; g++) {
			seen s = {0};
			decode_ctx *d = decode_new(NULL, collect, &s);
			size_t hn = good_handshake(hsbuf, 0);
			size_t fn = records(flight, hsbuf, hn, recs[r]);
			/* then ChangeCipherSpec and encrypted data: ignored */
			static const uint8_t tail[] = {20, 3, 3, 0, 1, 1, 23, 3, 3, 0, 2, 9, 9};
			memcpy(flight + fn, tail, sizeof tail);
			fn += sizeof tail;
			client_hello(d, 50000);
			server_send(d, 50000, 1, flight, fn, segs[g]);
			expect_both(&s);
			const decode_stats *st = decode_get_stats(d);
			for (int e = 0; e < DECODE_E_COUNT; e++)
				assert_int_equal(st->errors[e], 0);
			assert_int_equal(st->observables[DECODE_TLS_CERT_SHA1], 2);
			assert_int_equal(st->observables[DECODE_TLS_CERT_SHA256], 2);
			decode_free(d);
		}
	}
}

/* The flight with one fault; what is counted, and nothing reported. */
static void expect_counted(const uint8_t *hs, size_t hn, decode_err err, int sha1s)
{
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	size_t fn = records(flight, hs, hn, 16384);
	client_hello(d, 50001);
	server_send(d, 50001, 1, flight, fn, 200);
	assert_int_equal(decode_get_stats(d)->errors[err], 1);
	assert_int_equal(decode_get_stats(d)->observables[DECODE_TLS_CERT_SHA1], sha1s);
	decode_free(d);
}

static void test_lying_lengths(void **state)
{
	const cert *cs[2] = {&certs[0], &certs[1]};
	size_t n;
	(void)state;
	/* list length one more, one less than the message holds */
	n = server_hello(hsbuf, 0);
	n += certificate(hsbuf + n, cs, 2, 1, 0);
	expect_counted(hsbuf, n, DECODE_E_TLS_CERT_MALFORMED, 0);
	n = server_hello(hsbuf, 0);
	n += certificate(hsbuf + n, cs, 2, -1, 0);
	expect_counted(hsbuf, n, DECODE_E_TLS_CERT_MALFORMED, 0);
	/* the first certificate longer than the list: nothing hashed */
	n = server_hello(hsbuf, 0);
	n += certificate(hsbuf + n, cs, 2, 0, 100000);
	expect_counted(hsbuf, n, DECODE_E_TLS_CERT_MALFORMED, 0);
	/* the first certificate shorter than it is: it is hashed short,
	 * then its tail read as a length, made one that cannot fit (the
	 * certificate's own last bytes are its signature, random) */
	size_t at = server_hello(hsbuf, 0);
	n = at + certificate(hsbuf + at, cs, 2, 0, -10);
	memset(hsbuf + at + 1 + 3 + 3 + 3 + certs[0].len - 10, 0xff, 3);
	expect_counted(hsbuf, n, DECODE_E_TLS_CERT_MALFORMED, 1);
	/* a certificate of no bytes */
	n = server_hello(hsbuf, 0);
	hsbuf[n++] = 11; n += put24(hsbuf + n, 6); n += put24(hsbuf + n, 3);
	n += put24(hsbuf + n, 0);
	expect_counted(hsbuf, n, DECODE_E_TLS_CERT_MALFORMED, 0);
	/* a ServerHello too short to be one */
	hsbuf[0] = 2; put24(hsbuf + 1, 10); memset(hsbuf + 4, 3, 10);
	expect_counted(hsbuf, 14, DECODE_E_TLS_CERT_MALFORMED, 0);
	/* a Certificate message first */
	n = certificate(hsbuf, cs, 1, 0, 0);
	expect_counted(hsbuf, n, DECODE_E_TLS_CERT_MALFORMED, 0);
	/* ServerHello extensions longer than the message */
	n = server_hello(hsbuf, 0);
	hsbuf[4 + 2 + 32 + 1 + 2 + 1 + 1] = 200;
	n += certificate(hsbuf + n, cs, 2, 0, 0);
	expect_counted(hsbuf, n, DECODE_E_TLS_CERT_MALFORMED, 0);
}

static void test_bad_record(void **state)
{
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	size_t hn = good_handshake(hsbuf, 0);
	size_t fn = records(flight, hsbuf, hn, 300);
	(void)state;
	flight[305 + 2] = 9; /* the second record's version: 3.9 */
	flight[305 + 1] = 2; /* and 2.x */
	client_hello(d, 50002);
	server_send(d, 50002, 1, flight, fn, 1400);
	assert_int_equal(decode_get_stats(d)->errors[DECODE_E_TLS_BAD_RECORD], 1);
	assert_int_equal(decode_get_stats(d)->observables[DECODE_TLS_CERT_SHA1], 0);
	decode_free(d);
}

static void test_gap_and_truncation(void **state)
{
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	size_t hn = good_handshake(hsbuf, 0);
	size_t fn = records(flight, hsbuf, hn, 16384);
	(void)state;
	client_hello(d, 50003);
	/* the first 600 bytes, then the rest 100 bytes further on */
	uint32_t seq = server_send(d, 50003, 1, flight, 600, 200);
	server_send(d, 50003, seq + 100, flight + 700, fn - 700, 200);
	assert_int_equal(decode_get_stats(d)->errors[DECODE_E_TCP_GAP], 1);
	assert_int_equal(decode_get_stats(d)->observables[DECODE_TLS_CERT_SHA1], 0);
	decode_free(d);
	/* cut short: what arrived gives nothing, nothing is invented */
	memset(&s, 0, sizeof s);
	d = decode_new(NULL, collect, &s);
	client_hello(d, 50004);
	server_send(d, 50004, 1, flight, fn - 20, 300);
	assert_int_equal(decode_get_stats(d)->observables[DECODE_TLS_CERT_SHA1], 1);
	assert_int_equal(decode_get_stats(d)->observables[DECODE_TLS_CERT_SHA256], 1);
	decode_free(d);
}

static void test_tls13_and_server_first(void **state)
{
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	size_t hn = good_handshake(hsbuf, 1);
	size_t fn = records(flight, hsbuf, hn, 16384);
	(void)state;
	/* TLS 1.3 chosen: the (here clear) Certificate after it is not read */
	client_hello(d, 50005);
	server_send(d, 50005, 1, flight, fn, 500);
	assert_int_equal(s.n, 1);
	/* a server that speaks before its client: not read */
	hn = good_handshake(hsbuf, 0);
	fn = records(flight, hsbuf, hn, 16384);
	uint32_t seq = server_send(d, 50006, 1, flight, 400, 400);
	client_hello(d, 50006);
	server_send(d, 50006, seq, flight + 400, fn - 400, 400);
	/* a client's ClientHello answered by something that is no TLS */
	client_hello(d, 50007);
	server_send(d, 50007, 1, (const uint8_t *)"HTTP/1.1 400 Bad Request\r\n\r\n", 28, 28);
	assert_int_equal(s.n, 3); /* the three SNIs */
	assert_int_equal(decode_get_stats(d)->observables[DECODE_TLS_CERT_SHA1], 0);
	for (int e = 0; e < DECODE_E_COUNT; e++)
		assert_int_equal(decode_get_stats(d)->errors[e], 0);
	decode_free(d);
}

static void test_resumed_session(void **state)
{
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	size_t hn = server_hello(hsbuf, 0);
	size_t fn = records(flight, hsbuf, hn, 16384);
	static const uint8_t ccs[] = {20, 3, 3, 0, 1, 1};
	(void)state;
	memcpy(flight + fn, ccs, sizeof ccs);
	fn += sizeof ccs;
	client_hello(d, 50008);
	server_send(d, 50008, 1, flight, fn, 1400);
	assert_int_equal(s.n, 1);
	for (int e = 0; e < DECODE_E_COUNT; e++)
		assert_int_equal(decode_get_stats(d)->errors[e], 0);
	decode_free(d);
}

static void test_slot_bound(void **state)
{
	seen s = {0};
	decode_config cfg = {0};
	decode_ctx *d;
	size_t hn = good_handshake(hsbuf, 0);
	size_t fn = records(flight, hsbuf, hn, 16384);
	(void)state;
	cfg.tls_cert_slots = 1;
	cfg.emit_addresses = 1;
	d = decode_new(&cfg, collect, &s);
	/* two flights at once: the second finds no slot */
	client_hello(d, 50010);
	client_hello(d, 50011);
	uint32_t seq = server_send(d, 50010, 1, flight, 300, 300);
	server_send(d, 50011, 1, flight, fn, 300);
	assert_int_equal(decode_get_stats(d)->errors[DECODE_E_TLS_CERT_UNTRACKED], 1);
	server_send(d, 50010, seq, flight + 300, fn - 300, 300);
	assert_int_equal(decode_get_stats(d)->observables[DECODE_TLS_CERT_SHA1], 2);
	/* the slot is free again for a third */
	client_hello(d, 50012);
	server_send(d, 50012, 1, flight, fn, 1400);
	assert_int_equal(decode_get_stats(d)->observables[DECODE_TLS_CERT_SHA1], 4);
	assert_int_equal(decode_get_stats(d)->errors[DECODE_E_TLS_CERT_UNTRACKED], 1);
	decode_free(d);
}

/* ------------------------------------------------------------ STARTTLS */

/* One mail session: client 10.0.0.1:cport to 10.0.0.2:port, each side's
 * bytes in segments of at most seg. */
typedef struct sess {
	decode_ctx *d;
	unsigned port, cport;
	uint32_t seq[2]; /* next sequence number: client, server */
	size_t seg;
} sess;

static void say(sess *m, int server, const uint8_t *b, size_t n)
{
	for (size_t at = 0; at < n; at += m->seg) {
		size_t k = n - at < m->seg ? n - at : m->seg;
		send_port(m->d, server, m->port, m->cport, m->seq[server], b + at, k);
		m->seq[server] += (uint32_t)k;
	}
}

static void says(sess *m, int server, const char *text)
{
	say(m, server, (const uint8_t *)text, strlen(text));
}

static uint8_t mail_ch[600], mail_flight[4 * CERT_MAX];
static size_t mail_ch_len, mail_flight_len;

/* The ClientHello record and the server's flight (with ChangeCipherSpec
 * and encrypted data after it) every session uses. */
static void mail_tls(void)
{
	uint8_t hs[512];
	static const uint8_t tail[] = {20, 3, 3, 0, 1, 1, 23, 3, 3, 0, 2, 9, 9};
	size_t hn = tls_client_hello(hs, "c2.example");
	mail_ch_len = records(mail_ch, hs, hn, 16384);
	hn = good_handshake(hsbuf, 0);
	mail_flight_len = records(mail_flight, hsbuf, hn, 1000);
	memcpy(mail_flight + mail_flight_len, tail, sizeof tail);
	mail_flight_len += sizeof tail;
}

typedef struct script {
	unsigned port;
	/* server greeting, client command, server reply, the STARTTLS
	 * command, the positive answer */
	const char *greet, *cmd, *reply, *starttls, *yes;
} script;

static const script scripts[] = {
	{25, "220 mx.example ESMTP\r\n", "EHLO client.example\r\n",
	 "250-mx.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n", "STARTTLS\r\n",
	 "220 2.0.0 Ready to start TLS\r\n"},
	{587, "220-mx.example ESMTP\r\n220 submission\r\n", "ehlo client.example\r\n",
	 "250-mx.example\r\n250 STARTTLS\r\n", "starttls  \r\n", "220 Go ahead\r\n"},
	{143, "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n",
	 "a1 CAPABILITY\r\n",
	 "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\na1 OK done\r\n",
	 "a2 starttls\r\n", "* OK still here\r\na2 OK Begin TLS negotiation now\r\n"},
	{110, "+OK POP3 ready\r\n", "CAPA\r\n", "+OK\r\nUSER\r\nSTLS\r\n.\r\n",
	 "STLS\r\n", "+OK Begin TLS\r\n"},
};

enum { ANSWER_FIRST, HELLO_FIRST, HELLO_WITH_COMMAND };

static void session(sess *m, const script *sc, int order)
{
	says(m, 1, sc->greet);
	says(m, 0, sc->cmd);
	says(m, 1, sc->reply);
	if (order == HELLO_WITH_COMMAND) {
		uint8_t both[700];
		size_t n = strlen(sc->starttls);
		memcpy(both, sc->starttls, n);
		memcpy(both + n, mail_ch, mail_ch_len);
		say(m, 0, both, n + mail_ch_len);
	} else {
		says(m, 0, sc->starttls);
	}
	if (order == HELLO_FIRST)
		say(m, 0, mail_ch, mail_ch_len);
	says(m, 1, sc->yes);
	if (order == ANSWER_FIRST)
		say(m, 0, mail_ch, mail_ch_len);
	say(m, 1, mail_flight, mail_flight_len);
}

static void expect_clean(decode_ctx *d)
{
	for (int e = 0; e < DECODE_E_COUNT; e++)
		assert_int_equal(decode_get_stats(d)->errors[e], 0);
}

static void test_starttls_sessions(void **state)
{
	static const size_t segs[] = {1400, 97, 7, 1};
	(void)state;
	mail_tls();
	for (size_t i = 0; i < sizeof scripts / sizeof scripts[0]; i++)
		for (int order = ANSWER_FIRST; order <= HELLO_WITH_COMMAND; order++)
			for (size_t g = 0; g < sizeof segs / sizeof segs[0]; g++) {
				seen s = {0};
				sess m = {decode_new(NULL, collect, &s), scripts[i].port,
					  40000, {1, 1}, segs[g]};
				session(&m, &scripts[i], order);
				expect_both(&s);
				expect_clean(m.d);
				decode_free(m.d);
			}
}

/* A session that carries on in the clear: nothing reported or counted. */
static void test_starttls_not_used(void **state)
{
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	sess m = {d, 25, 40001, {1, 1}, 1400};
	char longline[3000];
	(void)state;
	mail_tls();
	says(&m, 1, "220 mx.example ESMTP\r\n");
	says(&m, 0, "EHLO client.example\r\n");
	says(&m, 1, "250-mx.example\r\n250 8BITMIME\r\n");
	says(&m, 0, "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n");
	says(&m, 1, "250 ok\r\n250 ok\r\n");
	says(&m, 0, "DATA\r\n");
	says(&m, 1, "354 go on\r\n");
	/* the message speaks of STARTTLS and carries TLS-looking bytes */
	says(&m, 0, "Subject: x\r\n\r\nSTARTTLS\r\n");
	say(&m, 0, mail_ch, mail_ch_len);
	memset(longline, 'a', sizeof longline - 3);
	memcpy(longline + sizeof longline - 3, "\r\n", 3);
	says(&m, 0, longline);
	says(&m, 0, "\r\n.\r\nQUIT\r\n");
	says(&m, 1, "220 queued\r\n");
	say(&m, 1, mail_flight, mail_flight_len);
	assert_int_equal(s.n, 0);
	expect_clean(d);
	/* POP3 and IMAP past their login */
	m.port = 110;
	m.cport = 40002;
	m.seq[0] = m.seq[1] = 1;
	says(&m, 1, "+OK ready\r\n");
	says(&m, 0, "USER a\r\nPASS b\r\n");
	says(&m, 1, "+OK\r\n+OK\r\n");
	says(&m, 0, "STLS\r\n");
	says(&m, 1, "+OK\r\n");
	say(&m, 0, mail_ch, mail_ch_len);
	say(&m, 1, mail_flight, mail_flight_len);
	m.port = 143;
	m.cport = 40003;
	m.seq[0] = m.seq[1] = 1;
	says(&m, 1, "* OK ready\r\n");
	says(&m, 0, "a1 LOGIN a b\r\n");
	says(&m, 1, "a1 OK\r\n");
	says(&m, 0, "a2 STARTTLS\r\n");
	says(&m, 1, "a2 OK\r\n");
	say(&m, 0, mail_ch, mail_ch_len);
	say(&m, 1, mail_flight, mail_flight_len);
	assert_int_equal(s.n, 0);
	expect_clean(d);
	decode_free(d);
}

/* The server says no, or an OK that is another command's: the server's
 * later bytes are not read for certificates. */
static void test_starttls_refused(void **state)
{
	static const char *const no[][3] = {
		{"25", "STARTTLS\r\n", "454 4.7.0 TLS not available\r\n"},
		{"110", "STLS\r\n", "-ERR not now\r\n"},
		{"143", "x STARTTLS\r\n", "x NO not now\r\n"},
		{"143", "x STARTTLS\r\n", "x BAD what\r\n"},
	};
	(void)state;
	mail_tls();
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
		seen s = {0};
		decode_ctx *d = decode_new(NULL, collect, &s);
		sess m = {d, (unsigned)atoi(no[i][0]), 40010, {1, 1}, 1400};
		says(&m, 1, "* OK hello\r\n");
		says(&m, 0, no[i][1]);
		says(&m, 1, no[i][2]);
		/* a client that goes on in TLS all the same */
		say(&m, 0, mail_ch, mail_ch_len);
		say(&m, 1, mail_flight, mail_flight_len);
		assert_int_equal(s.n, 0);
		expect_clean(d);
		decode_free(d);
	}
	/* IMAP: another tag's OK is no answer; the client's ClientHello is
	 * read (it says the server agreed), the server's flight is not */
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	sess m = {d, 143, 40011, {1, 1}, 1400};
	says(&m, 1, "* OK hello\r\n");
	says(&m, 0, "a3 STARTTLS\r\n");
	says(&m, 1, "* OK\r\na2 OK late\r\nA3 OK case\r\n");
	say(&m, 0, mail_ch, mail_ch_len);
	say(&m, 1, mail_flight, mail_flight_len);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0], "tls.sni=c2.example");
	expect_clean(d);
	decode_free(d);
}

/* Lines are bounded: an over-long line ends the direction, counted only
 * after STARTTLS was asked; so do too many lines before it. */
static void test_starttls_bounds(void **state)
{
	char longline[2100];
	(void)state;
	mail_tls();
	memset(longline, 'a', sizeof longline - 3);
	memcpy(longline, "EHLO ", 5);
	memcpy(longline + sizeof longline - 3, "\r\n", 3);
	/* an over-long command before STARTTLS: nothing followed, nothing counted */
	for (int side = 0; side < 2; side++) {
		seen s = {0};
		decode_ctx *d = decode_new(NULL, collect, &s);
		sess m = {d, 25, 40020, {1, 1}, 512};
		says(&m, 1, side ? longline : "220 hi\r\n");
		says(&m, 0, side ? "EHLO a\r\n" : longline);
		says(&m, 1, "250 ok\r\n");
		says(&m, 0, "STARTTLS\r\n");
		says(&m, 1, "220 go\r\n");
		say(&m, 1, mail_flight, mail_flight_len);
		assert_int_equal(s.n, 0);
		expect_clean(d);
		decode_free(d);
	}
	/* an over-long answer to STARTTLS: counted, the flight not read (the
	 * client's ClientHello still is) */
	{
		seen s = {0};
		decode_ctx *d = decode_new(NULL, collect, &s);
		sess m = {d, 25, 40021, {1, 1}, 1400};
		says(&m, 1, "220 hi\r\n");
		says(&m, 0, "STARTTLS\r\n");
		memcpy(longline, "220 ", 4);
		says(&m, 1, longline);
		say(&m, 0, mail_ch, mail_ch_len);
		say(&m, 1, mail_flight, mail_flight_len);
		assert_int_equal(decode_get_stats(d)->errors[DECODE_E_STARTTLS_MALFORMED], 1);
		assert_int_equal(s.n, 1);
		assert_string_equal(s.v[0], "tls.sni=c2.example");
		decode_free(d);
	}
	/* a line at the bound (1024 bytes with its line end) is read */
	{
		seen s = {0};
		decode_ctx *d = decode_new(NULL, collect, &s);
		sess m = {d, 25, 40022, {1, 1}, 1400};
		char edge[1025];
		memset(edge, 'b', sizeof edge);
		memcpy(edge, "EHLO ", 5);
		memcpy(edge + 1022, "\r\n", 3);
		says(&m, 1, "220 hi\r\n");
		says(&m, 0, edge);
		says(&m, 1, "250 ok\r\n");
		says(&m, 0, "STARTTLS\r\n");
		says(&m, 1, "220 go\r\n");
		say(&m, 0, mail_ch, mail_ch_len);
		say(&m, 1, mail_flight, mail_flight_len);
		expect_both(&s);
		expect_clean(d);
		decode_free(d);
	}
	/* 64 lines without STARTTLS: the session is taken as plain mail */
	{
		seen s = {0};
		decode_ctx *d = decode_new(NULL, collect, &s);
		sess m = {d, 25, 40023, {1, 1}, 1400};
		says(&m, 1, "220 hi\r\n");
		for (int i = 0; i < 64; i++)
			says(&m, 0, "NOOP\r\n");
		says(&m, 0, "STARTTLS\r\n");
		says(&m, 1, "220 go\r\n");
		say(&m, 0, mail_ch, mail_ch_len);
		say(&m, 1, mail_flight, mail_flight_len);
		assert_int_equal(s.n, 0);
		expect_clean(d);
		decode_free(d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_anywhere),
		cmocka_unit_test(test_lying_lengths),
		cmocka_unit_test(test_bad_record),
		cmocka_unit_test(test_gap_and_truncation),
		cmocka_unit_test(test_tls13_and_server_first),
		cmocka_unit_test(test_resumed_session),
		cmocka_unit_test(test_slot_bound),
		cmocka_unit_test(test_starttls_sessions),
		cmocka_unit_test(test_starttls_not_used),
		cmocka_unit_test(test_starttls_refused),
		cmocka_unit_test(test_starttls_bounds),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
