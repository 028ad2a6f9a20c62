/*
 * test_decode_http2.c: HTTP/2 in cleartext and DNS over HTTPS
 * (decode_http2.c).
 *
 * HPACK against RFC 7541: the Huffman code's lengths (a complete prefix
 * code whose canonical codes are those Appendix B prints, checked at a
 * few rows, and every byte value through an encoder written here), and
 * the header blocks of Appendix C.2 to C.6, each with the fields and the
 * dynamic table (entries newest first, and its size) the RFC gives after
 * it. Then connections built packet by packet: prior knowledge, the h2c
 * Upgrade, a websocket Upgrade that must stay ignored, DNS over HTTPS GET
 * and POST with their responses, and the bad inputs (bad indices, an
 * oversized table size update, Huffman padding, malformed frames, a block
 * larger than the stream buffer, a gap, a full state table), each counted
 * under its error kind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode_int.h"
#include "decode_test_util.h"

/* ------------------------------------------------------------ helpers */

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;
	int hi = -1;
	for (; *h; h++) {
		int v;
		if (*h >= '0' && *h <= '9')
			v = *h - '0';
		else if (*h >= 'a' && *h <= 'f')
			v = *h - 'a' + 10;
		else
			continue;
		if (hi < 0)
			hi = v;
		else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

typedef struct fields {
	char text[2048]; /* "name: value\n" each */
} fields;

static void add_field(void *user, const uint8_t *n, size_t nl,
		      const uint8_t *v, size_t vl)
{
	fields *f = user;
	size_t o = strlen(f->text);
	snprintf(f->text + o, sizeof f->text - o, "%.*s: %.*s\n", (int)nl,
		 (const char *)n, (int)vl, (const char *)v);
}

/* The dynamic table as "name: value\n" lines, newest first. */
static void table_text(const decode_hpack *hp, char *out, size_t cap)
{
	char n[4096], v[4096];
	size_t nl, vl, o = 0;
	out[0] = 0;
	for (unsigned i = 1; decode_hpack_entry(hp, i, n, &nl, v, &vl) == 0;
	     i++)
		o += (size_t)snprintf(out + o, cap - o, "%.*s: %.*s\n",
				      (int)nl, n, (int)vl, v);
}

/* ------------------------------------------------------------ Huffman */

/* Canonical codes from the lengths, written independently of the
 * decoder: code[s] for each symbol. */
static void canonical(uint32_t code[257])
{
	uint32_t next = 0;
	for (unsigned len = 1; len <= 30; len++) {
		for (unsigned s = 0; s < 257; s++)
			if (decode_huff_len[s] == len)
				code[s] = next++;
		next <<= 1;
	}
}

static size_t huff_encode(const uint8_t *in, size_t n, uint8_t *out)
{
	uint32_t code[257];
	uint64_t acc = 0;
	unsigned nb = 0;
	size_t o = 0;
	canonical(code);
	for (size_t i = 0; i < n; i++) {
		acc = acc << decode_huff_len[in[i]] | code[in[i]];
		nb += decode_huff_len[in[i]];
		while (nb >= 8) {
			out[o++] = (uint8_t)(acc >> (nb - 8));
			nb -= 8;
		}
	}
	if (nb) /* padding: the most significant bits of EOS */
		out[o++] = (uint8_t)(acc << (8 - nb) | (0xffu >> nb));
	return o;
}

static void test_huffman_code(void **state)
{
	uint64_t kraft = 0;
	uint32_t code[257];
	uint8_t all[256], enc[1024], dec[1024], in[64];
	decode_ctx *d = decode_new(NULL, NULL, NULL);
	long n;
	(void)state;
	assert_non_null(d);
	/* a complete prefix code: sum of 2^-len is exactly 1 */
	for (unsigned s = 0; s < 257; s++)
		kraft += 1ull << (30 - decode_huff_len[s]);
	assert_true(kraft == 1ull << 30);
	/* rows of Appendix B: the canonical codes are the RFC's */
	canonical(code);
	assert_int_equal(code[0], 0x1ff8);
	assert_int_equal(code['!'], 0x3f8);
	assert_int_equal(code['0'], 0x0);
	assert_int_equal(code['a'], 0x3);
	assert_int_equal(code['\\'], 0x7fff0);
	assert_int_equal(code[200], 0x3ffffe2);
	assert_int_equal(code[255], 0x3ffffee);
	assert_int_equal(code[256], 0x3fffffff);
	/* every byte value through the decoder */
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	n = decode_huffman(d, enc, huff_encode(all, 256, enc), dec, sizeof dec);
	assert_int_equal(n, 256);
	assert_memory_equal(dec, all, 256);
	/* Appendix C.4.1 and C.6.1 strings */
	n = decode_huffman(d, in, unhex("f1e3 c2e5 f23a 6ba0 ab90 f4ff", in),
			   dec, sizeof dec);
	assert_int_equal(n, 15);
	assert_memory_equal(dec, "www.example.com", 15);
	n = decode_huffman(d, in, unhex("9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3", in),
			   dec, sizeof dec);
	assert_int_equal(n, 23);
	assert_memory_equal(dec, "https://www.example.com", 23);
	/* section 5.2: padding of 0 bits, over 7 bits, EOS: all errors */
	in[0] = 0x1f; /* 'a' 00011, padding 111 */
	assert_int_equal(decode_huffman(d, in, 1, dec, sizeof dec), 1);
	in[0] = 0x1e; /* padding 110 */
	assert_int_equal(decode_huffman(d, in, 1, dec, sizeof dec), -1);
	in[0] = 0x1f;
	in[1] = 0xff; /* 11 bits of padding */
	assert_int_equal(decode_huffman(d, in, 2, dec, sizeof dec), -1);
	memset(in, 0xff, 4); /* EOS, 30 bits, then 2 bits of padding */
	assert_int_equal(decode_huffman(d, in, 4, dec, sizeof dec), -1);
	/* an output bound is respected */
	assert_int_equal(decode_huffman(d, enc, huff_encode(all, 256, enc), dec, 10), -1);
	decode_free(d);
}

/* ------------------------------------------------------------ HPACK */

typedef struct hpack_step {
	const char *section, *hex, *fields, *table;
	uint32_t size;
} hpack_step;

/* RFC 7541 Appendix C: each series on one decoder, in order. */
static const hpack_step c2[] = {
	{"C.2.1", "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
	 "custom-key: custom-header\n", "custom-key: custom-header\n", 55},
};
static const hpack_step c2_2[] = {
	{"C.2.2", "040c 2f73 616d 706c 652f 7061 7468", ":path: /sample/path\n", "", 0},
};
static const hpack_step c2_3[] = {
	{"C.2.3", "1008 7061 7373 776f 7264 0673 6563 7265 74", "password: secret\n", "", 0},
};
static const hpack_step c2_4[] = {
	{"C.2.4", "82", ":method: GET\n", "", 0},
};

#define REQ1 ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\n"
#define REQ2 REQ1 "cache-control: no-cache\n"
#define REQ3 ":method: GET\n:scheme: https\n:path: /index.html\n" \
	     ":authority: www.example.com\ncustom-key: custom-value\n"
#define T1 ":authority: www.example.com\n"
#define T2 "cache-control: no-cache\n" T1
#define T3 "custom-key: custom-value\n" T2

static const hpack_step c3[] = {
	{"C.3.1", "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", REQ1, T1, 57},
	{"C.3.2", "8286 84be 5808 6e6f 2d63 6163 6865", REQ2, T2, 110},
	{"C.3.3", "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
	 REQ3, T3, 164},
};
static const hpack_step c4[] = {
	{"C.4.1", "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", REQ1, T1, 57},
	{"C.4.2", "8286 84be 5886 a8eb 1064 9cbf", REQ2, T2, 110},
	{"C.4.3", "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf", REQ3, T3, 164},
};

#define D21 "date: Mon, 21 Oct 2013 20:13:21 GMT\n"
#define D22 "date: Mon, 21 Oct 2013 20:13:22 GMT\n"
#define LOC "location: https://www.example.com\n"
#define COOKIE "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1\n"
#define RESP1 ":status: 302\ncache-control: private\n" D21 LOC
#define RESP2 ":status: 307\ncache-control: private\n" D21 LOC
#define RESP3 ":status: 200\ncache-control: private\n" D22 LOC "content-encoding: gzip\n" COOKIE
#define RT1 LOC D21 "cache-control: private\n:status: 302\n"
#define RT2 ":status: 307\n" LOC D21 "cache-control: private\n"
#define RT3 COOKIE "content-encoding: gzip\n" D22

static const hpack_step c5[] = {
	{"C.5.1", "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133"
		  "2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70"
		  "6c65 2e63 6f6d", RESP1, RT1, 222},
	{"C.5.2", "4803 3330 37c1 c0bf", RESP2, RT2, 222},
	{"C.5.3", "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d"
		  "54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049"
		  "5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e"
		  "3d31", RESP3, RT3, 215},
};
static const hpack_step c6[] = {
	{"C.6.1", "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6"
		  "2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3", RESP1, RT1, 222},
	{"C.6.2", "4883 640e ffc1 c0bf", RESP2, RT2, 222},
	{"C.6.3", "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab"
		  "77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f"
		  "9587 3160 65c0 03ed 4ee5 b106 3d50 07", RESP3, RT3, 215},
};

static void run_series(const hpack_step *st, size_t n, uint32_t table_size)
{
	decode_ctx *d = decode_new(NULL, NULL, NULL);
	decode_hpack hp;
	uint8_t b[512];
	char tab[2048];
	assert_non_null(d);
	decode_hpack_init(&hp);
	hp.max = table_size; /* SETTINGS_HEADER_TABLE_SIZE of the example */
	for (size_t i = 0; i < n; i++) {
		fields f = {{0}};
		size_t bn = unhex(st[i].hex, b);
		printf("RFC 7541 %s: %zu bytes\n", st[i].section, bn);
		assert_int_equal(decode_hpack_block(d, &hp, table_size, b, bn,
						    add_field, &f), 0);
		assert_string_equal(f.text, st[i].fields);
		table_text(&hp, tab, sizeof tab);
		assert_string_equal(tab, st[i].table);
		assert_int_equal(hp.size, st[i].size);
	}
	decode_free(d);
}

static void test_hpack_rfc7541_c2(void **state)
{
	(void)state;
	run_series(c2, 1, 4096);
	run_series(c2_2, 1, 4096);
	run_series(c2_3, 1, 4096);
	run_series(c2_4, 1, 4096);
}

static void test_hpack_rfc7541_c3_c4(void **state)
{
	(void)state;
	run_series(c3, 3, 4096);
	run_series(c4, 3, 4096);
}

static void test_hpack_rfc7541_c5_c6(void **state)
{
	(void)state;
	run_series(c5, 3, 256);
	run_series(c6, 3, 256);
}

static void test_hpack_errors(void **state)
{
	static const struct {
		const char *what, *hex;
	} bad[] = {
		{"index 0", "80"},
		{"index past the tables", "be"},
		{"name index past the tables", "7e03 6162 63"},
		{"size update over the limit (4096 > 256)", "3fe1 1f"},
		{"size update after a field", "82 20"},
		{"string longer than the block", "400a 6375 7374"},
		{"integer that never ends", "ff ff ff ff ff ff"},
		{"Huffman padding of 0 bits", "4081 1e01 61"},
		{"Huffman EOS", "4084 ffff ffff 0161"},
		{"literal with nothing after it", "40"},
	};
	decode_ctx *d = decode_new(NULL, NULL, NULL);
	(void)state;
	assert_non_null(d);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		decode_hpack hp;
		uint8_t b[64];
		size_t n = unhex(bad[i].hex, b);
		decode_hpack_init(&hp);
		printf("bad HPACK: %s\n", bad[i].what);
		assert_int_equal(decode_hpack_block(d, &hp, 256, b, n, NULL, NULL), -1);
	}
	{ /* an entry larger than the table empties it (section 4.4) */
		decode_hpack hp;
		uint8_t b[64];
		/* max 37; a: b (34) fits; abc: xyz (38) does not */
		size_t n = unhex("3f06 4001 6101 62 4003 6162 6303 7879 7a", b);
		decode_hpack_init(&hp);
		assert_int_equal(decode_hpack_block(d, &hp, 256, b, n, NULL, NULL), 0);
		assert_int_equal(hp.count, 0);
		assert_int_equal(hp.size, 0);
	}
	decode_free(d);
}

/* ------------------------------------------------------------ packets */

typedef struct conn {
	decode_ctx *d;
	uint16_t cport, sport;
	uint32_t cseq, sseq;
	int64_t ts;
} conn;

static void seg(conn *c, int from_client, unsigned flags, const void *pl,
		size_t n)
{
	pkt p;
	eth(&p, 0, 0x0800);
	if (from_client) {
		ip4(&p, 6, 1, 0, 1, 2);
		tcp(&p, c->cport, c->sport, c->cseq, flags, pl, n);
		c->cseq += (uint32_t)n + (flags & 0x02 ? 1 : 0);
	} else {
		ip4(&p, 6, 1, 0, 2, 1);
		tcp(&p, c->sport, c->cport, c->sseq, flags, pl, n);
		c->sseq += (uint32_t)n + (flags & 0x02 ? 1 : 0);
	}
	pkt_finish_ip4(&p);
	decode_packet(c->d, DECODE_LINK_ETHERNET, p.b, p.n, c->ts++);
}

static void open_conn(conn *c, decode_ctx *d, uint16_t cport)
{
	c->d = d;
	c->cport = cport;
	c->sport = 80;
	c->cseq = 1000;
	c->sseq = 9000;
	c->ts = 1000000;
	seg(c, 1, 0x02, NULL, 0);
	seg(c, 0, 0x12, NULL, 0);
}

static size_t frame(uint8_t *out, unsigned type, unsigned flags,
		    uint32_t stream, const void *pl, size_t n)
{
	out[0] = (uint8_t)(n >> 16);
	out[1] = (uint8_t)(n >> 8);
	out[2] = (uint8_t)n;
	out[3] = (uint8_t)type;
	out[4] = (uint8_t)flags;
	out[5] = (uint8_t)(stream >> 24);
	out[6] = (uint8_t)(stream >> 16);
	out[7] = (uint8_t)(stream >> 8);
	out[8] = (uint8_t)stream;
	if (n)
		memcpy(out + 9, pl, n);
	return 9 + n;
}

/* An HPACK literal field with incremental indexing and a new name (raw
 * strings, or the value Huffman-coded). */
static size_t lit(uint8_t *out, const char *name, const char *val, int huff)
{
	size_t n = 0, nl = strlen(name), vl = strlen(val);
	uint8_t h[256];
	out[n++] = 0x40;
	out[n++] = (uint8_t)nl;
	memcpy(out + n, name, nl);
	n += nl;
	if (huff) {
		size_t hl = huff_encode((const uint8_t *)val, vl, h);
		out[n++] = (uint8_t)(0x80 | hl);
		memcpy(out + n, h, hl);
		return n + hl;
	}
	out[n++] = (uint8_t)vl;
	memcpy(out + n, val, vl);
	return n + vl;
}

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
static const uint8_t settings_empty[9] = {0, 0, 0, 4, 0, 0, 0, 0, 0};

static void test_h2c_prior_knowledge(void **state)
{
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	uint8_t b[1024], blk[512];
	size_t n = 0, bn = 0;
	conn c;
	(void)state;
	assert_non_null(d);
	open_conn(&c, d, 40000);
	memcpy(b, preface, 24);
	n = 24;
	memcpy(b + n, settings_empty, 9);
	n += 9;
	blk[bn++] = 0x82; /* :method GET */
	blk[bn++] = 0x86; /* :scheme http */
	bn += lit(blk + bn, ":authority", "h2.example:8080", 1);  /* 62 */
	bn += lit(blk + bn, ":path", "/a/b?c=d", 0);
	bn += lit(blk + bn, "user-agent", "test-agent/1.0", 1);
	n += frame(b + n, 1, 0x05, 1, blk, bn); /* END_STREAM|END_HEADERS */
	seg(&c, 1, 0x18, b, n);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.v[0], "http.url=/a/b?c=d");
	assert_string_equal(s.v[1], "http.host=h2.example");
	assert_string_equal(s.v[2], "http.user_agent=test-agent/1.0");
	/* the server's preface, then a second request from the dynamic
	 * table (user-agent 62, :path 63, :authority 64) with a new path
	 * indexed first (user-agent moves to 63), padded and with a
	 * priority, in a HEADERS and a CONTINUATION sent in two segments */
	seg(&c, 0, 0x18, settings_empty, 9);
	bn = 0;
	blk[bn++] = 3; /* pad length */
	memcpy(blk + bn, "\x00\x00\x00\x00\x10", 5); /* priority */
	bn += 5;
	blk[bn++] = 0x82;
	blk[bn++] = 0xc0; /* 64: :authority h2.example:8080 */
	blk[bn++] = 0x44; /* literal, name :path (static 4) */
	blk[bn++] = 6;
	memcpy(blk + bn, "/other", 6);
	bn += 6;
	memset(blk + bn, 0, 3); /* padding */
	bn += 3;
	n = frame(b, 1, 0x01 | 0x08 | 0x20, 3, blk, bn); /* no END_HEADERS */
	n += frame(b + n, 9, 0x04, 3, "\xbf", 1);       /* 63: user-agent */
	seg(&c, 1, 0x18, b, 20);
	assert_int_equal(s.n, 3); /* the block is not whole yet */
	seg(&c, 1, 0x18, b + 20, n - 20);
	assert_int_equal(s.n, 6);
	assert_string_equal(s.v[3], "http.url=/other");
	assert_string_equal(s.v[4], "http.host=h2.example");
	assert_string_equal(s.v[5], "http.user_agent=test-agent/1.0");
	for (int e = 0; e < DECODE_E_COUNT; e++)
		assert_int_equal(decode_get_stats(d)->errors[e], 0);
	decode_free(d);
}

static void test_h2c_upgrade(void **state)
{
	static const char req[] =
		"GET /robots.txt HTTP/1.1\r\nHost: up.example\r\n"
		"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
		"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n";
	static const char resp[] =
		"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
		"Upgrade: h2c\r\n\r\n";
	static const char ws_req[] =
		"GET /chat HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n\r\n";
	static const char ws_resp[] =
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
		"\x81\x05hello";
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	uint8_t b[1024], blk[256];
	size_t n, bn = 0;
	conn c;
	(void)state;
	assert_non_null(d);
	open_conn(&c, d, 40001);
	seg(&c, 1, 0x18, req, strlen(req));
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[0], "http.url=/robots.txt");
	assert_string_equal(s.v[1], "http.host=up.example");
	/* 101 and the server's SETTINGS in one segment */
	memcpy(b, resp, strlen(resp));
	n = strlen(resp) + frame(b + strlen(resp), 4, 0, 0, "\x00\x01\x00\x00\x20\x00", 6);
	seg(&c, 0, 0x18, b, n);
	/* the client's preface, then stream 3 */
	memcpy(b, preface, 24);
	n = 24 + frame(b + 24, 4, 0, 0, NULL, 0);
	blk[bn++] = 0x82;
	bn += lit(blk + bn, ":path", "/humans.txt", 1);
	bn += lit(blk + bn, ":authority", "up.example", 1);
	n += frame(b + n, 1, 0x05, 3, blk, bn);
	seg(&c, 1, 0x18, b, n);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.v[2], "http.url=/humans.txt");
	assert_string_equal(s.v[3], "http.host=up.example");
	/* a websocket Upgrade: the 101's data is not HTTP/2, nothing counted */
	open_conn(&c, d, 40002);
	seg(&c, 1, 0x18, ws_req, strlen(ws_req));
	seg(&c, 0, 0x18, ws_resp, strlen(ws_resp));
	assert_int_equal(s.n, 6);
	for (int e = 0; e < DECODE_E_COUNT; e++)
		assert_int_equal(decode_get_stats(d)->errors[e], 0);
	decode_free(d);
}

static size_t b64url(const uint8_t *in, size_t n, char *out)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = acc << 8 | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = a[(acc >> bits) & 63];
		}
	}
	if (bits)
		out[o++] = a[(acc << (6 - bits)) & 63];
	out[o] = 0;
	return o;
}

/* A response to the query q: the question, then one A record. */
static size_t dns_answer(uint8_t *out, const uint8_t *q, size_t qn,
			 const uint8_t addr[4])
{
	static const uint8_t rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};
	memcpy(out, q, qn);
	out[2] = 0x81;
	out[3] = 0x80;
	out[7] = 1; /* ANCOUNT */
	memcpy(out + qn, rr, sizeof rr);
	memcpy(out + qn + sizeof rr, addr, 4);
	return qn + sizeof rr + 4;
}

static void test_doh_get_post(void **state)
{
	static const uint8_t addr[4] = {192, 0, 2, 1};
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	uint8_t b[2048], blk[512], q[300], a[300];
	char path[600] = "/dns-query?ct&dns=";
	size_t n, bn, qn, an;
	conn c;
	(void)state;
	assert_non_null(d);
	open_conn(&c, d, 40003);
	/* GET (RFC 8484 section 4.1.1) */
	qn = dns_query(q, "get.doh.example", 0);
	b64url(q, qn, path + strlen(path));
	memcpy(b, preface, 24);
	n = 24 + frame(b + 24, 4, 0, 0, NULL, 0);
	bn = 0;
	blk[bn++] = 0x82;
	bn += lit(blk + bn, ":path", path, 0);
	bn += lit(blk + bn, ":authority", "doh.example", 1);
	bn += lit(blk + bn, "accept", "application/dns-message", 1);
	n += frame(b + n, 1, 0x05, 1, blk, bn);
	seg(&c, 1, 0x18, b, n);
	assert_true(has(&s, "dns.query=get.doh.example"));
	assert_true(has(&s, "http.host=doh.example"));
	/* its response: HEADERS then DATA in two frames */
	an = dns_answer(a, q, qn, addr);
	n = frame(b, 4, 0, 0, NULL, 0);
	bn = 0;
	blk[bn++] = 0x88; /* :status 200 */
	bn += lit(blk + bn, "content-type", "application/dns-message", 1);
	n += frame(b + n, 1, 0x04, 1, blk, bn);
	n += frame(b + n, 0, 0, 1, a, 10);
	n += frame(b + n, 0, 0x01, 1, a + 10, an - 10);
	seg(&c, 0, 0x18, b, n);
	assert_true(has(&s, "dns.answer=192.0.2.1"));
	/* POST (section 4.1): the body in two DATA frames, two segments,
	 * the second padded */
	s.n = 0;
	qn = dns_query(q, "post.doh.example", 0);
	bn = 0;
	blk[bn++] = 0x83; /* :method POST */
	blk[bn++] = 0x84; /* :path / */
	blk[bn++] = 0x5f; /* content-type, name from the static table 31 */
	blk[bn++] = 23;
	memcpy(blk + bn, "application/dns-message", 23);
	bn += 23;
	n = frame(b, 1, 0x04, 5, blk, bn);
	n += frame(b + n, 0, 0, 5, q, 7);
	seg(&c, 1, 0x18, b, n);
	assert_int_equal(s.n, 1); /* the URL; the message is not whole */
	{
		uint8_t padded[300];
		padded[0] = 4;
		memcpy(padded + 1, q + 7, qn - 7);
		memset(padded + 1 + qn - 7, 0, 4);
		n = frame(b, 0, 0x01 | 0x08, 5, padded, qn - 7 + 5);
	}
	seg(&c, 1, 0x18, b, n);
	assert_true(has(&s, "dns.query=post.doh.example"));
	/* a response that is not DNS (404 text/html) ends the stream */
	bn = 0;
	blk[bn++] = 0x8d; /* :status 404 */
	bn += lit(blk + bn, "content-type", "text/html", 0);
	n = frame(b, 1, 0x04, 5, blk, bn);
	n += frame(b + n, 0, 0x01, 5, "<html>", 6);
	seg(&c, 0, 0x18, b, n);
	for (int e = 0; e < DECODE_E_COUNT; e++)
		assert_int_equal(decode_get_stats(d)->errors[e], 0);
	decode_free(d);
}

/* DoH messages longer than DECODE_DOH_MAX: what was kept is decoded, the
 * cut message is not counted as malformed, and a DATA frame longer than
 * the stream buffer is skipped by length. */
static void test_doh_long_messages(void **state)
{
	static uint8_t b[12000], msg[6000];
	decode_ctx *d = decode_new(NULL, NULL, NULL);
	const decode_stats *st;
	uint8_t blk[64];
	size_t n, bn = 0, mn = 12, qcount;
	conn c;
	(void)state;
	assert_non_null(d);
	memset(msg, 0, 12);
	/* 250 questions of 23 bytes: q0001.doh.example ... */
	for (qcount = 0; qcount < 250; qcount++) {
		char name[32];
		snprintf(name, sizeof name, "q%04zu.doh.example", qcount);
		uint8_t q[64];
		size_t qn = dns_query(q, name, 0);
		memcpy(msg + mn, q + 12, qn - 12);
		mn += qn - 12;
	}
	msg[4] = (uint8_t)(qcount >> 8);
	msg[5] = (uint8_t)qcount;
	blk[bn++] = 0x83;
	blk[bn++] = 0x84;
	blk[bn++] = 0x5f;
	blk[bn++] = 23;
	memcpy(blk + bn, "application/dns-message", 23);
	bn += 23;
	open_conn(&c, d, 40010);
	memcpy(b, preface, 24);
	n = 24 + frame(b + 24, 1, 0x04, 1, blk, bn);
	/* stream 1: the body in two DATA frames that fit the buffer */
	n += frame(b + n, 0, 0, 1, msg, 1200);
	seg(&c, 1, 0x18, b, n);
	n = frame(b, 0, 0x01, 1, msg + 1200, 1200);
	seg(&c, 1, 0x18, b, n);
	st = decode_get_stats(d);
	/* 2048 bytes kept: the header and 88 whole questions */
	assert_int_equal(mn, 12 + 250 * 23);
	assert_int_equal(st->observables[DECODE_DNS_QUERY], (2048 - 12) / 23);
	/* stream 3: one DATA frame of the whole message, over the buffer */
	n = frame(b, 1, 0x04, 3, blk, bn);
	n += frame(b + n, 0, 0x01, 3, msg, mn);
	for (size_t off = 0; off < n; off += 1400)
		seg(&c, 1, 0x18, b + off, n - off < 1400 ? n - off : 1400);
	assert_int_equal(st->observables[DECODE_DNS_QUERY],
			 2 * ((2048 - 12) / 23));
	/* then the connection goes on */
	bn = 0;
	blk[bn++] = 0x82;
	bn += lit(blk + bn, ":path", "/after", 0);
	n = frame(b, 1, 0x05, 5, blk, bn);
	seg(&c, 1, 0x18, b, n);
	assert_int_equal(st->observables[DECODE_HTTP_URL], 3);
	for (int e = 0; e < DECODE_E_COUNT; e++)
		assert_int_equal(st->errors[e], 0);
	decode_free(d);
}

/* A fresh connection whose client sends the preface and then pl. */
static const decode_stats *client_sends(decode_ctx *d, uint16_t port,
					const uint8_t *pl, size_t n)
{
	uint8_t b[8192];
	conn c;
	open_conn(&c, d, port);
	memcpy(b, preface, 24);
	memcpy(b + 24, pl, n);
	seg(&c, 1, 0x18, b, 24 + n);
	seg(&c, 1, 0x04, NULL, 0); /* RST */
	return decode_get_stats(d);
}

static void test_h2_bad_input(void **state)
{
	static const struct {
		const char *what, *hex;
		decode_err err;
	} bad[] = {
		{"bad HPACK index", "000001 01 05 00000001 be", DECODE_E_HPACK},
		{"oversized table size update", "000004 01 05 00000001 3fe1ff07",
		 DECODE_E_HPACK},
		{"Huffman with bad padding", "000004 01 05 00000001 4081 1e01",
		 DECODE_E_HPACK},
		{"CONTINUATION alone", "000001 09 04 00000001 82", DECODE_E_H2_MALFORMED},
		{"HEADERS on stream 0", "000001 01 05 00000000 82", DECODE_E_H2_MALFORMED},
		{"padding longer than the frame", "000002 01 0d 00000001 0582",
		 DECODE_E_H2_MALFORMED},
		{"frame over SETTINGS_MAX_FRAME_SIZE", "004001 00 00 00000001",
		 DECODE_E_H2_MALFORMED},
		{"SETTINGS of a bad length", "000005 04 00 00000000 0001000010",
		 DECODE_E_H2_MALFORMED},
		{"CONTINUATION of another stream",
		 "000001 01 01 00000001 82 000001 09 04 00000003 84",
		 DECODE_E_H2_MALFORMED},
	};
	decode_ctx *d = decode_new(NULL, NULL, NULL);
	uint8_t b[8192];
	size_t n;
	assert_non_null(d);
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t before = decode_get_stats(d)->errors[bad[i].err];
		n = unhex(bad[i].hex, b);
		printf("bad HTTP/2: %s\n", bad[i].what);
		assert_int_equal(client_sends(d, (uint16_t)(41000 + i), b, n)->errors[bad[i].err],
				 before + 1);
	}
	/* a truncated frame waits; nothing is counted */
	{
		uint64_t sum = 0, after = 0;
		const decode_stats *st = decode_get_stats(d);
		for (int e = 0; e < DECODE_E_COUNT; e++)
			sum += st->errors[e];
		n = unhex("000010 01 05 00000001 8286", b);
		client_sends(d, 41100, b, n);
		for (int e = 0; e < DECODE_E_COUNT; e++)
			after += st->errors[e];
		assert_true(after == sum);
		assert_int_equal(st->observables[DECODE_HTTP_URL], 0);
	}
	/* a header block larger than the stream buffer loses the state */
	{
		uint8_t blk[5000];
		size_t bn = 0;
		uint64_t before = decode_get_stats(d)->errors[DECODE_E_H2_LOST];
		decode_ctx *small;
		decode_config cfg = {0};
		blk[bn++] = 0x82;
		bn += lit(blk + bn, "x", "1", 0);
		while (bn < 4200)
			blk[bn++] = 0x82;
		n = frame(b, 1, 0x05, 1, blk, bn);
		conn c;
		open_conn(&c, d, 41101);
		seg(&c, 1, 0x18, preface, 24);
		seg(&c, 1, 0x18, b, 1400);
		seg(&c, 1, 0x18, b + 1400, 1400);
		seg(&c, 1, 0x18, b + 2800, 1400);
		assert_int_equal(decode_get_stats(d)->errors[DECODE_E_H2_LOST], before + 1);
		/* a gap in the stream loses it too */
		open_conn(&c, d, 41102);
		seg(&c, 1, 0x18, preface, 24);
		c.cseq += 100;
		seg(&c, 1, 0x18, settings_empty, 9);
		assert_int_equal(decode_get_stats(d)->errors[DECODE_E_H2_LOST], before + 2);
		/* more connections than state slots: counted, the others go on */
		cfg.flows = 256;
		cfg.h2_conns = 3;
		small = decode_new(&cfg, NULL, NULL);
		assert_non_null(small);
		for (int i = 0; i <= 3; i++) {
			open_conn(&c, small, (uint16_t)(42000 + i));
			seg(&c, 1, 0x18, preface, 24);
		}
		assert_int_equal(decode_get_stats(small)->errors[DECODE_E_H2_UNTRACKED], 1);
		decode_free(small);
	}
	decode_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_huffman_code),
		cmocka_unit_test(test_hpack_rfc7541_c2),
		cmocka_unit_test(test_hpack_rfc7541_c3_c4),
		cmocka_unit_test(test_hpack_rfc7541_c5_c6),
		cmocka_unit_test(test_hpack_errors),
		cmocka_unit_test(test_h2c_prior_knowledge),
		cmocka_unit_test(test_h2c_upgrade),
		cmocka_unit_test(test_doh_get_post),
		cmocka_unit_test(test_doh_long_messages),
		cmocka_unit_test(test_h2_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
