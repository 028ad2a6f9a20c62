/*
 * test_decode_httpfile.c: the hashes of HTTP/1.x message bodies
 * (decode_httpfile.c), through decode_packet only.
 *
 * Bodies are made here (a pseudo-random file of a known seed, compressed
 * with zlib for the gzip and deflate cases) and their MD5, SHA-1 and
 * SHA-256 are computed one-shot with GnuTLS (gnutls_hash_fast), apart
 * from the decoder's streaming nettle states. Requests and responses are
 * written out as text and sent in TCP segments of many sizes (down to one
 * byte). Framing covered: Content-Length, chunked (extensions, trailers,
 * sizes split across segments), until the close (FIN, RST), HTTP/0.9,
 * pipelined requests with a HEAD, 204 and 304 answers, uploads (POST with
 * a length, PUT chunked). What must give nothing is counted where it is wrong: 206,
 * a gap, a connection that never closes, a full slot table, corrupt gzip,
 * file hashes not asked for.
 *
 * Real data ($RK_SHARED/data, RK_SHARED defaulting to ../shared; skipped
 * when absent): Suricata-verify's output-eve-fileinfo capture downloads
 * the EICAR test file, whose published digests must come out exactly (the
 * test also checks them against the 68 bytes of the file itself); every
 * Zeek trace with an http.log gives as many bodies, of the same decoded
 * sizes in all (decode_stats.file_bytes), as the log's request_body_len
 * and response_body_len (a table names the one known difference); every
 * Suricata-verify test with a fileinfo.size finds a body of that size on
 * its flow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <zlib.h>

#include "decode.h"
#include "decode_test_util.h"

#define ALL_HASHES (DECODE_HASH_MD5 | DECODE_HASH_SHA1 | DECODE_HASH_SHA256)

/* What a context reported: file digests with the flow's source port. */
typedef struct files {
	int n;
	struct {
		decode_kind kind;
		char hex[65];
		uint16_t sport, dport;
		uint64_t size; /* the body's decoded bytes (decode_stats.file_bytes) */
	} f[512];
	decode_ctx *d;
	uint64_t bytes_before;
} files;

static void on_file(const decode_observable *o, void *user)
{
	files *s = user;
	if (o->kind != DECODE_FILE_MD5 && o->kind != DECODE_FILE_SHA1 &&
	    o->kind != DECODE_FILE_SHA256)
		return;
	assert_true(s->n < 512);
	s->f[s->n].kind = o->kind;
	assert_true(o->len < sizeof s->f[0].hex);
	memcpy(s->f[s->n].hex, o->value, o->len + 1);
	s->f[s->n].sport = o->flow->sport;
	s->f[s->n].dport = o->flow->dport;
	s->f[s->n].size = decode_get_stats(s->d)->file_bytes - s->bytes_before;
	if (o->kind == DECODE_FILE_SHA256)
		s->bytes_before = decode_get_stats(s->d)->file_bytes;
	s->n++;
}

typedef struct digests {
	char md5[33], sha1[41], sha256[65];
} digests;

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void digest_of(const uint8_t *b, size_t n, digests *dg)
{
	uint8_t o[32];
	assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_MD5, b, n, o), 0);
	hex(o, 16, dg->md5);
	assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA1, b, n, o), 0);
	hex(o, 20, dg->sha1);
	assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, b, n, o), 0);
	hex(o, 32, dg->sha256);
}

/* The i-th report is the whole of dg (three digests, in kind order). */
static void assert_file(const files *s, int i, const digests *dg, uint16_t sport)
{
	assert_true(s->n >= i + 3);
	assert_int_equal(s->f[i].kind, DECODE_FILE_MD5);
	assert_string_equal(s->f[i].hex, dg->md5);
	assert_int_equal(s->f[i + 1].kind, DECODE_FILE_SHA1);
	assert_string_equal(s->f[i + 1].hex, dg->sha1);
	assert_int_equal(s->f[i + 2].kind, DECODE_FILE_SHA256);
	assert_string_equal(s->f[i + 2].hex, dg->sha256);
	for (int k = 0; k < 3; k++)
		assert_int_equal(s->f[i + k].sport, sport);
}

/* ------------------------------------------------------------ traffic */

typedef struct conn {
	unsigned cport;
	uint32_t cseq, sseq;
} conn;

static void send_tcp(decode_ctx *d, const conn *c, int from_server, uint32_t seq,
		     unsigned flags, const uint8_t *pl, size_t n)
{
	pkt p;
	eth(&p, 0, 0x0800);
	if (from_server) {
		ip4(&p, 6, 1, 0, 2, 1);
		tcp(&p, 80, c->cport, seq, flags, pl, n);
	} else {
		ip4(&p, 6, 1, 0, 1, 2);
		tcp(&p, c->cport, 80, seq, flags, pl, n);
	}
	pkt_finish_ip4(&p);
	decode_packet(d, DECODE_LINK_ETHERNET, p.b, p.n, 1000000);
}

/* b in segments of seg bytes, in order, from one side. */
static void say(decode_ctx *d, conn *c, int from_server, const void *b, size_t n, size_t seg)
{
	const uint8_t *p = b;
	uint32_t *seq = from_server ? &c->sseq : &c->cseq;
	for (size_t at = 0; at < n; at += seg) {
		size_t k = n - at < seg ? n - at : seg;
		send_tcp(d, c, from_server, *seq, 0x18, p + at, k);
		*seq += (uint32_t)k;
	}
}

/* A server's answer in segments of seg bytes after a first one holding
 * its status line's start: a first segment of one byte "H" would be taken
 * for a request method (decode_flow.c's classify hopes so). */
static void answer(decode_ctx *d, conn *c, const void *b, size_t n, size_t seg)
{
	size_t first = n < 12 ? n : 12;
	say(d, c, 1, b, first, first);
	say(d, c, 1, (const uint8_t *)b + first, n - first, seg);
}

static void says(decode_ctx *d, conn *c, int from_server, const char *s)
{
	say(d, c, from_server, s, strlen(s), 1400);
}

static void close_side(decode_ctx *d, conn *c, int from_server, unsigned flags)
{
	send_tcp(d, c, from_server, from_server ? c->sseq : c->cseq, flags, NULL, 0);
}

static void conn_open(conn *c, unsigned cport)
{
	c->cport = cport;
	c->cseq = 1000;
	c->sseq = 5000;
}

static decode_ctx *ctx_new(files *s, unsigned hashes, unsigned slots)
{
	decode_config cfg;
	decode_config_default(&cfg);
	cfg.file_hashes = hashes;
	if (slots)
		cfg.http_file_slots = slots;
	memset(s, 0, sizeof *s);
	decode_ctx *d = decode_new(&cfg, on_file, s);
	assert_non_null(d);
	s->d = d;
	return d;
}

static uint64_t errs(decode_ctx *d, decode_err e)
{
	return decode_get_stats(d)->errors[e];
}

/* ------------------------------------------------------------ bodies */

#define FILE_MAX 40000
static uint8_t file_a[FILE_MAX], file_b[FILE_MAX];
static uint8_t msg[4 * FILE_MAX], comp[2 * FILE_MAX];

static void make_file(uint8_t *b, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		/* text-like, so that compression has something to do */
		b[i] = (uint8_t)(seed >> 24) < 64 ? (uint8_t)('a' + (seed >> 16) % 26) : ' ';
	}
}

/* A response head and a body into msg; its length. */
static size_t response(const char *head, const uint8_t *body, size_t n)
{
	size_t h = strlen(head);
	memcpy(msg, head, h);
	memcpy(msg + h, body, n);
	return h + n;
}

/* The body in chunks of chunk bytes, with an extension on every other
 * size line and a trailer field, after head; its length. */
static size_t chunked(uint8_t *out, const char *head, const uint8_t *body, size_t n, size_t chunk)
{
	size_t o = strlen(head);
	memcpy(out, head, o);
	for (size_t at = 0, i = 0; at < n; at += chunk, i++) {
		size_t k = n - at < chunk ? n - at : chunk;
		o += (size_t)sprintf((char *)out + o, i % 2 ? "%zx;name=\"v\"\r\n" : "%zX\r\n", k);
		memcpy(out + o, body + at, k);
		o += k;
		memcpy(out + o, "\r\n", 2);
		o += 2;
	}
	memcpy(out + o, "0\r\nX-Checksum: none\r\n\r\n", 23);
	return o + 23;
}

/* body compressed: gzip (wbits 31), zlib (15) or raw deflate (-15). */
static size_t compress_with(const uint8_t *body, size_t n, int wbits, uint8_t *out, size_t cap)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)body;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	size_t len = z.total_out;
	deflateEnd(&z);
	return len;
}

static const char GET[] = "GET /f HTTP/1.1\r\nHost: files.example\r\n\r\n";

static int setup(void **state)
{
	(void)state;
	make_file(file_a, FILE_MAX, 1);
	make_file(file_b, FILE_MAX, 2);
	return 0;
}

/* ------------------------------------------------------------ tests */

static void test_content_length(void **state)
{
	static const size_t segs[] = {1, 7, 536, 1400, 3000};
	digests dg;
	(void)state;
	digest_of(file_a, 10000, &dg);
	for (size_t i = 0; i < sizeof segs / sizeof segs[0]; i++) {
		files s;
		decode_ctx *d = ctx_new(&s, ALL_HASHES, 0);
		conn c;
		conn_open(&c, 40000);
		says(d, &c, 0, GET);
		size_t n = response("HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n"
				    "Content-Type: application/octet-stream\r\n\r\n",
				    file_a, 10000);
		answer(d, &c, msg, n, segs[i]);
		assert_int_equal(s.n, 3);
		assert_file(&s, 0, &dg, 80);
		assert_int_equal(s.f[0].size, 10000);
		decode_free(d);
	}
}

static void test_only_what_is_asked(void **state)
{
	files s;
	digests dg;
	conn c;
	(void)state;
	digest_of(file_a, 5000, &dg);
	size_t n = response("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n", file_a, 5000);

	decode_ctx *d = ctx_new(&s, 0, 0); /* the default: nothing */
	conn_open(&c, 40001);
	says(d, &c, 0, GET);
	say(d, &c, 1, msg, n, 1400);
	assert_int_equal(s.n, 0);
	/* asked between packets: the next download is hashed, SHA-256 only */
	decode_set_file_hashes(d, DECODE_HASH_SHA256);
	conn_open(&c, 40002);
	says(d, &c, 0, GET);
	say(d, &c, 1, msg, n, 1400);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.f[0].kind, DECODE_FILE_SHA256);
	assert_string_equal(s.f[0].hex, dg.sha256);
	decode_free(d);
}

static void test_chunked(void **state)
{
	static const size_t segs[] = {1, 3, 5, 100, 1400};
	static const size_t chunks[] = {1, 17, 1000, 4096};
	digests dg;
	(void)state;
	digest_of(file_a, 9000, &dg);
	for (size_t i = 0; i < sizeof segs / sizeof segs[0]; i++)
		for (size_t j = 0; j < sizeof chunks / sizeof chunks[0]; j++) {
			if (segs[i] == 1 && chunks[j] == 1)
				continue; /* 100k packets: slow under the sanitizers */
			files s;
			decode_ctx *d = ctx_new(&s, ALL_HASHES, 0);
			conn c;
			conn_open(&c, 40003);
			says(d, &c, 0, GET);
			size_t n = chunked(msg, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
					   file_a, 9000, chunks[j]);
			answer(d, &c, msg, n, segs[i]);
			assert_int_equal(s.n, 3);
			assert_file(&s, 0, &dg, 80);
			/* a second response on the connection still frames */
			says(d, &c, 0, GET);
			n = response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", file_b, 10);
			say(d, &c, 1, msg, n, 1400);
			assert_int_equal(s.n, 6);
			decode_free(d);
		}
}

static void test_until_close(void **state)
{
	files s;
	digests dg;
	conn c;
	(void)state;
	digest_of(file_a, 7000, &dg);
	size_t n = response("HTTP/1.0 200 OK\r\nServer: old\r\n\r\n", file_a, 7000);

	decode_ctx *d = ctx_new(&s, ALL_HASHES, 0);
	conn_open(&c, 40004);
	says(d, &c, 0, GET);
	say(d, &c, 1, msg, n, 1000);
	close_side(d, &c, 0, 0x11); /* the client's FIN ends nothing */
	assert_int_equal(s.n, 0);
	close_side(d, &c, 1, 0x11);
	assert_int_equal(s.n, 3);
	assert_file(&s, 0, &dg, 80);

	/* closed by a RST from the client */
	conn_open(&c, 40005);
	says(d, &c, 0, GET);
	say(d, &c, 1, msg, n, 1000);
	close_side(d, &c, 0, 0x04);
	assert_int_equal(s.n, 6);
	assert_file(&s, 3, &dg, 80);

	/* a FIN after a hole: data missing, nothing */
	conn_open(&c, 40006);
	says(d, &c, 0, GET);
	say(d, &c, 1, msg, n, 1000);
	c.sseq += 10;
	close_side(d, &c, 1, 0x11);
	assert_int_equal(s.n, 6);
	assert_int_equal(errs(d, DECODE_E_HTTP_FILE_INCOMPLETE), 1);

	/* never closed: nothing */
	conn_open(&c, 40007);
	says(d, &c, 0, GET);
	say(d, &c, 1, msg, n, 1000);
	assert_int_equal(s.n, 6);
	decode_free(d);
}

/* RFC 1945 section 4.1: a request line without a version is HTTP/0.9,
 * answered by a bare body until the close; "GET" alone is no request. */
static void test_http09(void **state)
{
	files s;
	digests dg;
	conn c;
	(void)state;
	digest_of(file_a, 900, &dg);
	decode_ctx *d = ctx_new(&s, ALL_HASHES, 0);
	conn_open(&c, 40008);
	says(d, &c, 0, "GET /old.html\r\n");
	say(d, &c, 1, file_a, 900, 100);
	close_side(d, &c, 1, 0x11);
	assert_int_equal(s.n, 3);
	assert_file(&s, 0, &dg, 80);
	conn_open(&c, 40009);
	says(d, &c, 0, "GET \r\n");
	says(d, &c, 1, "missing uri\n");
	close_side(d, &c, 1, 0x11);
	assert_int_equal(s.n, 3);
	decode_free(d);
}

static void test_encodings(void **state)
{
	static const struct {
		const char *name;
		int wbits;
	} codings[] = {{"gzip", 31}, {"x-gzip", 31}, {"deflate", 15}, {"deflate", -15}};
	static const size_t segs[] = {1, 2, 333, 1400};
	digests dg;
	(void)state;
	digest_of(file_a, FILE_MAX, &dg);
	for (size_t i = 0; i < sizeof codings / sizeof codings[0]; i++) {
		size_t cn = compress_with(file_a, FILE_MAX, codings[i].wbits, comp, sizeof comp);
		for (size_t j = 0; j < sizeof segs / sizeof segs[0]; j++) {
			char head[128];
			files s;
			conn c;
			decode_ctx *d = ctx_new(&s, ALL_HASHES, 0);
			conn_open(&c, 40010);
			says(d, &c, 0, GET);
			snprintf(head, sizeof head,
				 "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %zu\r\n\r\n",
				 codings[i].name, cn);
			size_t n = response(head, comp, cn);
			answer(d, &c, msg, n, segs[j]);
			assert_int_equal(s.n, 3);
			assert_file(&s, 0, &dg, 80);
			assert_int_equal(s.f[0].size, FILE_MAX);
			/* and chunked */
			says(d, &c, 0, GET);
			snprintf(head, sizeof head,
				 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: %s\r\n\r\n",
				 codings[i].name);
			n = chunked(msg, head, comp, cn, 777);
			say(d, &c, 1, msg, n, segs[j] == 1 ? 13 : segs[j]);
			assert_int_equal(s.n, 6);
			assert_file(&s, 3, &dg, 80);
			assert_int_equal(errs(d, DECODE_E_HTTP_FILE_ENCODING), 0);
			decode_free(d);
		}
	}
}

static void test_corrupt_gzip(void **state)
{
	files s;
	conn c;
	(void)state;
	size_t cn = compress_with(file_a, 20000, 31, comp, sizeof comp);
	decode_ctx *d = ctx_new(&s, ALL_HASHES, 0);

	comp[cn / 2] ^= 0x55;
	comp[cn / 2 + 1] ^= 0xaa;
	comp[cn / 2 + 7] ^= 0x0f;
	char head[128];
	snprintf(head, sizeof head,
		 "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", cn);
	size_t n = response(head, comp, cn);
	conn_open(&c, 40020);
	says(d, &c, 0, GET);
	say(d, &c, 1, msg, n, 1400);
	assert_int_equal(s.n, 0);
	assert_int_equal(errs(d, DECODE_E_HTTP_FILE_ENCODING), 1);

	/* gzip that stops short of its end */
	cn = compress_with(file_a, 20000, 31, comp, sizeof comp);
	snprintf(head, sizeof head,
		 "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", cn - 20);
	n = response(head, comp, cn - 20);
	says(d, &c, 0, GET);
	say(d, &c, 1, msg, n, 1400);
	assert_int_equal(s.n, 0);
	assert_int_equal(errs(d, DECODE_E_HTTP_FILE_ENCODING), 2);

	/* the connection goes on: a plain download after them is hashed */
	n = response("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", file_b, 100);
	says(d, &c, 0, GET);
	say(d, &c, 1, msg, n, 1400);
	assert_int_equal(s.n, 3);
	decode_free(d);
}

static void test_pipelined_head_204_304(void **state)
{
	files s;
	digests da, db;
	conn c;
	size_t n = 0;
	(void)state;
	digest_of(file_a, 3000, &da);
	digest_of(file_b, 4000, &db);
	decode_ctx *d = ctx_new(&s, ALL_HASHES, 0);
	conn_open(&c, 40030);
	/* five requests in one go */
	static const char reqs[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
				   "HEAD /a HTTP/1.1\r\nHost: h\r\n\r\n"
				   "GET /c HTTP/1.1\r\nHost: h\r\n\r\n"
				   "GET /d HTTP/1.1\r\nHost: h\r\n\r\n"
				   "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
	says(d, &c, 0, reqs);
	n = response("HTTP/1.1 100 Continue\r\n\r\n"
		     "HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n", file_a, 3000);
	/* HEAD: the length of what a GET would give, no body */
	n += (size_t)sprintf((char *)msg + n, "HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n");
	n += (size_t)sprintf((char *)msg + n, "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n");
	n += (size_t)sprintf((char *)msg + n, "HTTP/1.1 204 No Content\r\n\r\n");
	n += (size_t)sprintf((char *)msg + n, "HTTP/1.1 200 OK\r\nContent-Length: 4000\r\n\r\n");
	memcpy(msg + n, file_b, 4000);
	n += 4000;
	say(d, &c, 1, msg, n, 999);
	assert_int_equal(s.n, 6);
	assert_file(&s, 0, &da, 80);
	assert_file(&s, 3, &db, 80);
	assert_int_equal(errs(d, DECODE_E_HTTP_FILE_MALFORMED), 0);
	decode_free(d);
}

static void test_uploads(void **state)
{
	files s;
	digests da, db;
	conn c;
	char head[160];
	(void)state;
	digest_of(file_a, 6000, &da);
	digest_of(file_b, 5000, &db);
	decode_ctx *d = ctx_new(&s, ALL_HASHES, 0);
	conn_open(&c, 40040);
	snprintf(head, sizeof head,
		 "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 6000\r\n\r\n");
	size_t n = response(head, file_a, 6000);
	say(d, &c, 0, msg, n, 1400);
	assert_int_equal(s.n, 3);
	assert_file(&s, 0, &da, 40040); /* the client's direction */
	says(d, &c, 1, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
	n = chunked(msg, "PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
		    file_b, 5000, 512);
	say(d, &c, 0, msg, n, 100);
	assert_int_equal(s.n, 6);
	assert_file(&s, 3, &db, 40040);
	/* the request after them is still read */
	says(d, &c, 0, GET);
	assert_int_equal(decode_get_stats(d)->observables[DECODE_HTTP_URL], 3);
	decode_free(d);
}

static void test_partial_not_reported(void **state)
{
	files s;
	digests db;
	conn c;
	(void)state;
	digest_of(file_b, 2000, &db);
	decode_ctx *d = ctx_new(&s, ALL_HASHES, 0);
	conn_open(&c, 40050);
	says(d, &c, 0, GET);
	size_t n = response("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-999/5000\r\n"
			    "Content-Length: 1000\r\n\r\n", file_a, 1000);
	say(d, &c, 1, msg, n, 500);
	assert_int_equal(s.n, 0);
	assert_int_equal(errs(d, DECODE_E_HTTP_FILE_PARTIAL), 1);
	/* chunked 206 too, then a whole download on the same connection */
	says(d, &c, 0, GET);
	n = chunked(msg, "HTTP/1.1 206 Partial Content\r\nTransfer-Encoding: chunked\r\n\r\n",
		    file_a, 1000, 100);
	say(d, &c, 1, msg, n, 500);
	assert_int_equal(errs(d, DECODE_E_HTTP_FILE_PARTIAL), 2);
	says(d, &c, 0, GET);
	n = response("HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n", file_b, 2000);
	say(d, &c, 1, msg, n, 500);
	assert_int_equal(s.n, 3);
	assert_file(&s, 0, &db, 80);
	decode_free(d);
}

static void test_gap_not_reported(void **state)
{
	files s;
	conn c;
	(void)state;
	decode_ctx *d = ctx_new(&s, ALL_HASHES, 0);
	conn_open(&c, 40060);
	says(d, &c, 0, GET);
	size_t n = response("HTTP/1.1 200 OK\r\nContent-Length: 8000\r\n\r\n", file_a, 8000);
	say(d, &c, 1, msg, 3000, 1000);
	c.sseq += 1000; /* a segment lost */
	say(d, &c, 1, msg + 4000, n - 4000, 1000);
	assert_int_equal(s.n, 0);
	assert_int_equal(errs(d, DECODE_E_HTTP_FILE_INCOMPLETE), 1);
	/* the same for an upload */
	conn_open(&c, 40061);
	n = response("POST /u HTTP/1.1\r\nContent-Length: 8000\r\n\r\n", file_a, 8000);
	say(d, &c, 0, msg, 3000, 1000);
	c.cseq += 1000;
	say(d, &c, 0, msg + 4000, n - 4000, 1000);
	assert_int_equal(s.n, 0);
	assert_int_equal(errs(d, DECODE_E_HTTP_FILE_INCOMPLETE), 2);
	assert_int_equal(errs(d, DECODE_E_HTTP_MALFORMED), 0);
	decode_free(d);
}

static void test_table_full(void **state)
{
	files s;
	digests da;
	conn c1, c2;
	(void)state;
	digest_of(file_a, 3000, &da);
	decode_ctx *d = ctx_new(&s, ALL_HASHES, 1);
	conn_open(&c1, 40070);
	conn_open(&c2, 40071);
	says(d, &c1, 0, GET);
	says(d, &c2, 0, GET);
	size_t n = response("HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n", file_a, 3000);
	say(d, &c1, 1, msg, 1000, 1000);
	say(d, &c2, 1, msg, 1000, 1000); /* no slot: counted, skipped */
	say(d, &c1, 1, msg + 1000, n - 1000, 1000);
	say(d, &c2, 1, msg + 1000, n - 1000, 1000);
	assert_int_equal(s.n, 3);
	assert_file(&s, 0, &da, 80);
	assert_int_equal(errs(d, DECODE_E_HTTP_FILE_UNTRACKED), 1);
	/* the slot is free again, and the second connection framed on */
	says(d, &c2, 0, GET);
	say(d, &c2, 1, msg, n, 1000);
	assert_int_equal(s.n, 6);
	decode_free(d);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcdXY0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd",
		"HTTP/1.1 200 OK\r\nContent-Length: 4x\r\n\r\nabcd",
		"HTTP/9 OK\r\n\r\n",
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		files s;
		conn c;
		decode_ctx *d = ctx_new(&s, ALL_HASHES, 0);
		conn_open(&c, 40080);
		says(d, &c, 0, GET);
		says(d, &c, 1, bad[i]);
		assert_int_equal(s.n, 0);
		assert_int_equal(errs(d, DECODE_E_HTTP_FILE_MALFORMED), 1);
		decode_free(d);
	}
}

/* ------------------------------------------------------------ real data */

static char shared[1024];

static int pcap_files(const char *sub, files *s, uint64_t *incomplete)
{
	char path[1400];
	rk_errctx ec = {0};
	snprintf(path, sizeof path, "%s/data/%s", shared, sub);
	if (access(path, R_OK) != 0)
		return -1;
	decode_ctx *d = ctx_new(s, ALL_HASHES, 0);
	assert_int_equal(decode_pcap_file(d, path, &ec), RK_OK);
	if (incomplete)
		*incomplete = errs(d, DECODE_E_HTTP_FILE_INCOMPLETE);
	decode_free(d);
	return 0;
}

static void test_eicar_pcap(void **state)
{
	static const char eicar[] =
		"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
	digests dg;
	files s;
	(void)state;
	/* the published digests are those of the file's 68 bytes */
	digest_of((const uint8_t *)eicar, 68, &dg);
	assert_string_equal(dg.md5, "44d88612fea8a8f36de82e1278abb02f");
	assert_string_equal(dg.sha1, "3395856ce81f2b7382dee72602f798b642f14140");
	assert_string_equal(dg.sha256,
			    "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f");
	if (pcap_files("suricata-verify/output-eve-fileinfo/input.pcap", &s, NULL)) {
		skip();
		return;
	}
	assert_int_equal(s.n, 3);
	assert_file(&s, 0, &dg, 80);
}

/* Suricata-verify: every test whose test.yaml has a filter on a fileinfo
 * event with a fileinfo.size (decode-teredo-01: an upload of 589 bytes and
 * a gzip download of 11845) must find a body of that decoded size carried
 * from src_port to dest_port (Suricata orients a file's event as its bytes
 * flow) in the test's capture. */
typedef struct fileinfo_want {
	long size, sport, dport;
} fileinfo_want;

/* The fileinfo filters of a test.yaml; their number, or -1 if unreadable. */
static int fileinfo_filters(const char *path, fileinfo_want *w, int max)
{
	char line[1024];
	int n = 0, in_fileinfo = 0;
	fileinfo_want cur = {-1, -1, -1};
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	for (;;) {
		int eof = !fgets(line, sizeof line, f);
		const char *v;
		if (eof || strstr(line, "- filter:")) {
			if (in_fileinfo && cur.size > 0 && cur.sport > 0 && cur.dport > 0 && n < max)
				w[n++] = cur;
			if (eof)
				break;
			in_fileinfo = 0;
			cur.size = cur.sport = cur.dport = -1;
			continue;
		}
		if (strstr(line, "event_type: fileinfo"))
			in_fileinfo = 1;
		else if ((v = strstr(line, "fileinfo.size:")))
			cur.size = strtol(v + 14, NULL, 10);
		else if ((v = strstr(line, " src_port:")))
			cur.sport = strtol(v + 10, NULL, 10);
		else if ((v = strstr(line, " dest_port:")))
			cur.dport = strtol(v + 11, NULL, 10);
	}
	fclose(f);
	return n;
}

static void test_suricata_fileinfo(void **state)
{
	char dir[1200], yaml[1600], pcap[1600];
	struct dirent *e;
	int tests = 0;
	(void)state;
	snprintf(dir, sizeof dir, "%s/data/suricata-verify", shared);
	DIR *dd = opendir(dir);
	if (!dd) {
		skip();
		return;
	}
	while ((e = readdir(dd))) {
		fileinfo_want want[16];
		files s;
		if (e->d_name[0] == '.')
			continue;
		snprintf(yaml, sizeof yaml, "%s/%s/test.yaml", dir, e->d_name);
		int n = fileinfo_filters(yaml, want, 16);
		if (n <= 0)
			continue;
		snprintf(pcap, sizeof pcap, "suricata-verify/%s/input.pcap", e->d_name);
		if (pcap_files(pcap, &s, NULL))
			continue;
		tests++;
		for (int i = 0; i < n; i++) {
			int found = 0;
			for (int k = 0; k < s.n; k += 3)
				found += s.f[k].sport == want[i].sport && s.f[k].dport == want[i].dport &&
					 s.f[k].size == (uint64_t)want[i].size;
			printf("  %-40s fileinfo %ld bytes %ld -> %ld: %s\n", e->d_name, want[i].size,
			       want[i].sport, want[i].dport, found ? "found" : "MISSING");
			assert_int_equal(found, 1);
		}
	}
	closedir(dd);
	if (!tests)
		skip();
}

/* The bodies Zeek's http.log counts: rows whose request_body_len or
 * response_body_len is above 0 (each its own file in files.log); -1 when
 * the log cannot be read. */
static int zeek_bodies(const char *sub, uint64_t *bytes)
{
	char path[2600], line[8192];
	int req = -1, resp = -1, n = 0;
	*bytes = 0;
	snprintf(path, sizeof path, "%s/data/%s", shared, sub);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		char *save = NULL, *tok;
		int col = 0;
		if (!strncmp(line, "#fields", 7)) {
			for (tok = strtok_r(line, "\t\n", &save); tok;
			     tok = strtok_r(NULL, "\t\n", &save), col++) {
				if (!strcmp(tok, "request_body_len"))
					req = col - 1;
				else if (!strcmp(tok, "response_body_len"))
					resp = col - 1;
			}
			continue;
		}
		if (line[0] == '#' || req < 0 || resp < 0)
			continue;
		for (tok = strtok_r(line, "\t\n", &save); tok;
		     tok = strtok_r(NULL, "\t\n", &save), col++)
			if ((col == req || col == resp) && strcmp(tok, "-") && strtoull(tok, NULL, 10) > 0) {
				n++;
				*bytes += strtoull(tok, NULL, 10);
			}
	}
	fclose(f);
	return req < 0 || resp < 0 ? -1 : n;
}

/* Where renkei and Zeek knowingly differ, by trace: the test fails if the
 * difference goes away, so the table stays true. */
static const struct {
	const char *pcap, *why;
} zeek_differs[] = {
	{"tunnels/gtp/gtp1_gn_normal_incl_fragmentation.pcap",
	 "a 206 Partial Content body, which Zeek logs and renkei does not report"},
};

typedef struct zeek_walk {
	char done[64][256]; /* traces already compared */
	int ndone, compared, differ;
} zeek_walk;

/* One http.log: the trace it was made from, compared. */
static void zeek_compare(zeek_walk *zw, const char *log_sub)
{
	char trace[256], pcap[300];
	const char *at = strstr(log_sub, "/expected/"), *end = strstr(log_sub, ".pcap.logs/");
	uint64_t inc = 0, bytes, got = 0;
	files s;
	if (!at || !end || end - (at + 10) >= (long)sizeof trace - 6)
		return;
	snprintf(trace, sizeof trace, "%.*s.pcap", (int)(end - (at + 10)), at + 10);
	for (int i = 0; i < zw->ndone; i++)
		if (!strcmp(zw->done[i], trace))
			return;
	if (zw->ndone < 64)
		snprintf(zw->done[zw->ndone++], sizeof zw->done[0], "%s", trace);
	int want = zeek_bodies(log_sub, &bytes);
	snprintf(pcap, sizeof pcap, "zeek-traces/traces/%s", trace);
	if (want < 0 || pcap_files(pcap, &s, &inc))
		return;
	for (int k = 0; k < s.n; k += 3)
		got += s.f[k].size;
	const char *why = NULL;
	for (size_t i = 0; i < sizeof zeek_differs / sizeof zeek_differs[0]; i++)
		if (!strcmp(zeek_differs[i].pcap, trace))
			why = zeek_differs[i].why;
	int same = s.n == 3 * want && got == bytes && inc == 0;
	printf("  %-50s Zeek %d bodies, %llu bytes; renkei %d, %llu bytes%s%s%s\n", trace, want,
	       (unsigned long long)bytes, s.n / 3, (unsigned long long)got,
	       why ? " (known difference: " : "", why ? why : "", why ? ")" : "");
	zw->compared++;
	if (why) {
		zw->differ++;
		if (same)
			printf("  known difference now agrees: remove it from the table\n");
		assert_false(same);
		return;
	}
	assert_int_equal(s.n, 3 * want);
	assert_int_equal(got, bytes);
	assert_int_equal(inc, 0);
}

static void zeek_walk_dir(zeek_walk *zw, const char *sub, int depth)
{
	char path[1400], child[1400];
	struct dirent *e;
	snprintf(path, sizeof path, "%s/data/%s", shared, sub);
	DIR *dd = opendir(path);
	if (!dd || depth > 6) {
		if (dd)
			closedir(dd);
		return;
	}
	while ((e = readdir(dd))) {
		if (e->d_name[0] == '.')
			continue;
		int n = snprintf(child, sizeof child, "%s/%s", sub, e->d_name);
		if (n < 0 || (size_t)n >= sizeof child)
			continue;
		if (!strcmp(e->d_name, "http.log"))
			zeek_compare(zw, child);
		else
			zeek_walk_dir(zw, child, depth + 1); /* a file does not open as one */
	}
	closedir(dd);
}

/* Zeek's traces: for every trace with an http.log among Zeek's expected
 * logs, as many bodies hashed as the log has, of the same decoded sizes
 * in all, none of them cut short. */
static void test_zeek_traces(void **state)
{
	static zeek_walk zw;
	(void)state;
	memset(&zw, 0, sizeof zw);
	zeek_walk_dir(&zw, "zeek-traces/expected", 0);
	printf("  %d traces compared, %d known differences\n", zw.compared, zw.differ);
	if (!zw.compared)
		skip();
}

int main(void)
{
	const char *sh = getenv("RK_SHARED");
	snprintf(shared, sizeof shared, "%s", sh ? sh : "../shared");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_only_what_is_asked),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_until_close),
		cmocka_unit_test(test_http09),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_corrupt_gzip),
		cmocka_unit_test(test_pipelined_head_204_304),
		cmocka_unit_test(test_uploads),
		cmocka_unit_test(test_partial_not_reported),
		cmocka_unit_test(test_gap_not_reported),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_eicar_pcap),
		cmocka_unit_test(test_zeek_traces),
		cmocka_unit_test(test_suricata_fileinfo),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
