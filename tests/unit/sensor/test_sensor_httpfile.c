/*
 * test_sensor_httpfile.c: a file-hash indicator met in an HTTP download
 * seen on the wire.
 *
 * A capture written here holds a GET and its response, a gzip-compressed
 * file (compressed with zlib here) in several segments; the file's MD5 and
 * SHA-256 are computed one-shot with GnuTLS. [file:hashes.'SHA-256' =
 * '<upper-case hex>'] must give exactly one alert, typed "file", with the
 * digest and the flow that carried the body (server 10.0.0.2:80 to client
 * 10.0.0.1:40000, TCP); an MD5 indicator likewise. With the indicator
 * absent (another file's digest, or only a certificate fingerprint of the
 * same value) there is none. sensor_file_hashes turns on exactly the
 * digests the matcher has file-hash indicators for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <pcap/pcap.h>
#include <zlib.h>

#include "sensor.h"
#include "sensor_int.h"
#include "sensor_test_util.h"

#define FILE_LEN 20000

static char dir[64], cap[128];
static uint8_t file[FILE_LEN];
static char md5[33], sha256[65];

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* The download: GET, then the gzip body in 1000-byte segments. */
static void write_capture(void)
{
	static uint8_t gz[2 * FILE_LEN], msg[2 * FILE_LEN + 256];
	z_stream z;
	unsigned i = 0;
	pkt p;

	memset(&z, 0, sizeof z);
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = file;
	z.avail_in = FILE_LEN;
	z.next_out = gz;
	z.avail_out = sizeof gz;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	size_t gzn = z.total_out;
	deflateEnd(&z);
	int h = snprintf((char *)msg, 256,
			 "HTTP/1.1 200 OK\r\nContent-Type: application/x-msdownload\r\n"
			 "Content-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
			 gzn);
	memcpy(msg + h, gz, gzn);
	size_t n = (size_t)h + gzn;

	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = pcap_dump_open(dead, cap);
	assert_non_null(d);
	static const char get[] = "GET /update.exe HTTP/1.1\r\nHost: dl.example\r\n\r\n";
	eth(&p, 0, 0x0800);
	ip4(&p, 6, 1, 0, 1, 2);
	tcp(&p, 40000, 80, 1, 0x18, get, sizeof get - 1);
	pkt_finish_ip4(&p);
	sensor_pcap_put(d, &p, ++i);
	sensor_pcap_segments(d, &i, 80, 40000, msg, n, 1000);
	pcap_dump_close(d);
	pcap_close(dead);
}

static int setup(void **state)
{
	uint8_t dg[32];
	uint32_t seed = 7;
	(void)state;
	for (size_t i = 0; i < FILE_LEN; i++) {
		seed = seed * 1103515245u + 12345u;
		file[i] = (uint8_t)(seed >> 24) < 96 ? (uint8_t)(seed >> 16) : 'M';
	}
	if (gnutls_hash_fast(GNUTLS_DIG_MD5, file, FILE_LEN, dg))
		return -1;
	hex(dg, 16, md5);
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, file, FILE_LEN, dg))
		return -1;
	hex(dg, 32, sha256);
	snprintf(dir, sizeof dir, "/tmp/rk-sensor-httpfile-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(cap, sizeof cap, "%s/download.pcap", dir);
	write_capture();
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Indicators of the patterns given, ids ...0001, ...0002 in order. */
static sensor_intel *intel(const char *const *patterns, size_t n)
{
	static const char fmt[] =
		"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"indicator--%08zx-0000-4000-"
		"8000-000000000000\",\"created\":\"2025-01-01T00:00:00.000Z\","
		"\"modified\":\"2025-01-01T00:00:00.000Z\",\"pattern\":\"%s\","
		"\"pattern_type\":\"stix\",\"valid_from\":\"2025-01-01T00:00:00Z\"}";
	char text[1024];
	sensor_intel *in = sensor_intel_new();
	assert_non_null(in);
	for (size_t i = 0; i < n; i++) {
		snprintf(text, sizeof text, fmt, i + 1, patterns[i]);
		json_t *o = json_loads(text, 0, NULL);
		assert_non_null(o);
		assert_int_equal(sensor_intel_apply(in, o, NULL, NULL), RK_OK);
		json_decref(o);
	}
	return in;
}

static match *build(const char *const *patterns, size_t n)
{
	sensor_intel *in = intel(patterns, n);
	match *m = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(sensor_intel_build(in, rk_time_now(), NULL, NULL, &m, &ctx), RK_OK);
	sensor_intel_free(in);
	return m;
}

/* One sweep of the capture under these indicators; the hits in c. */
static void sweep(const char *const *patterns, size_t n, sensor_hits *c)
{
	char spec[160];
	snprintf(spec, sizeof spec, "pcap:%s", cap);
	sensor_sweep(build(patterns, n), spec, c);
}

static void upper(const char *in, char *out)
{
	size_t i = 0;
	for (; in[i]; i++)
		out[i] = (char)(in[i] >= 'a' && in[i] <= 'f' ? in[i] - 32 : in[i]);
	out[i] = 0;
}

static void expect_download(const sensor_hits *c, size_t i, const char *id, const char *value)
{
	assert_string_equal(c->id[i], id);
	assert_string_equal(c->value[i], value);
	assert_string_equal(c->type[i], "file");
	assert_string_equal(c->src[i], "10.0.0.2");
	assert_string_equal(c->dst[i], "10.0.0.1");
	assert_int_equal(c->sport[i], 80);
	assert_int_equal(c->dport[i], 40000);
	assert_int_equal(c->proto[i], 6);
}

static void test_sha256_alert(void **state)
{
	char up[65], pat[160];
	const char *pats[1] = {pat};
	sensor_hits c;
	(void)state;
	upper(sha256, up);
	snprintf(pat, sizeof pat, "[file:hashes.'SHA-256' = '%s']", up);
	sweep(pats, 1, &c);
	assert_int_equal(c.n, 1);
	expect_download(&c, 0, "indicator--00000001-0000-4000-8000-000000000000", sha256);
}

static void test_md5_alert(void **state)
{
	char pat[160], other[160];
	const char *pats[2] = {other, pat};
	sensor_hits c;
	(void)state;
	snprintf(other, sizeof other, "[domain-name:value = 'nothing.example']");
	snprintf(pat, sizeof pat, "[file:hashes.MD5 = '%s']", md5);
	sweep(pats, 2, &c);
	assert_int_equal(c.n, 1);
	expect_download(&c, 0, "indicator--00000002-0000-4000-8000-000000000000", md5);
}

static void test_no_indicator_no_alert(void **state)
{
	char pat[3][200];
	const char *pats[3] = {pat[0], pat[1], pat[2]};
	sensor_hits c;
	(void)state;
	/* another file's digest; the same digest as a certificate's */
	snprintf(pat[0], sizeof pat[0], "[file:hashes.'SHA-256' = '%064d']", 0);
	snprintf(pat[1], sizeof pat[1], "[x509-certificate:hashes.'SHA-256' = '%s']", sha256);
	snprintf(pat[2], sizeof pat[2], "[domain-name:value = 'dl.example']");
	sweep(pats, 3, &c);
	assert_int_equal(c.n, 1); /* the Host only */
	assert_string_equal(c.type[0], "domain-name");
}

static void test_hashes_asked(void **state)
{
	const char *none[] = {"[domain-name:value = 'a.example']",
			      "[x509-certificate:hashes.'SHA-1' = "
			      "'3395856ce81f2b7382dee72602f798b642f14140']"};
	const char *two[] = {"[file:hashes.'SHA-1' = '3395856ce81f2b7382dee72602f798b642f14140']",
			     "[file:hashes.MD5 = '44d88612fea8a8f36de82e1278abb02f']"};
	const char *eval[] = {"[file:hashes.'SHA-256' LIKE 'ab%']"};
	(void)state;
	assert_int_equal(sensor_file_hashes(NULL), 0);
	match *m = build(none, 2);
	assert_int_equal(sensor_file_hashes(m), 0);
	match_free(m);
	m = build(two, 2);
	assert_int_equal(sensor_file_hashes(m), DECODE_HASH_MD5 | DECODE_HASH_SHA1);
	match_free(m);
	m = build(eval, 1);
	assert_int_equal(sensor_file_hashes(m), DECODE_HASH_SHA256);
	match_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_alert),
		cmocka_unit_test(test_md5_alert),
		cmocka_unit_test(test_no_indicator_no_alert),
		cmocka_unit_test(test_hashes_asked),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
