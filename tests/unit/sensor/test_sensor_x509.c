/*
 * test_sensor_x509.c: a certificate indicator met in traffic and in logs.
 *
 * A real DER certificate is made at setup (`openssl req -x509 -outform
 * DER`) and its SHA-1 computed with `openssl dgst`. A capture written here
 * holds a ClientHello and the server's answer (ServerHello, Certificate,
 * ServerHelloDone) in several segments; a Zeek ssl.log (cert_chain_fps), a
 * Zeek x509.log (fingerprint) and a Suricata EVE tls event (fingerprint
 * with colons) name the same certificate. The indicator
 * [x509-certificate:hashes.'SHA-1' = '<upper-case hex>'] must give exactly
 * one alert per input, with the certificate's hex and the
 * x509-certificate type; a file:hashes indicator of the same value none.
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
#include <jansson.h>
#include <pcap/pcap.h>

#include "sensor.h"
#include "sensor_test_util.h"

static char dir[64];
static uint8_t der[4096];
static size_t der_len;
static char sha1[41];

static int setup(void **state)
{
	char cmd[512], path[128];
	FILE *f;
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/rk-sensor-x509-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/c.der", dir);
	snprintf(cmd, sizeof cmd,
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout %s/c.key -out %s -outform DER -subj /CN=c2.example -days 2 2>/dev/null",
		 dir, path);
	if (system(cmd) != 0 || !(f = fopen(path, "rb")))
		return -1;
	der_len = fread(der, 1, sizeof der, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "openssl dgst -sha1 -r %s", path);
	if (!(f = popen(cmd, "r")) || !fgets(cmd, sizeof cmd, f))
		return -1;
	pclose(f);
	memcpy(sha1, cmd, 40);
	sha1[40] = 0;
	return der_len > 100 ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static sensor_intel *intel(void)
{
	static const char fmt[] =
		"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"indicator--%08x-0000-4000-"
		"8000-000000000000\",\"created\":\"2025-01-01T00:00:00.000Z\","
		"\"modified\":\"2025-01-01T00:00:00.000Z\",\"pattern\":\"[%s:hashes.'SHA-1' = '%s']\","
		"\"pattern_type\":\"stix\",\"valid_from\":\"2025-01-01T00:00:00Z\"}";
	char upper[41], text[1024];
	sensor_intel *in = sensor_intel_new();
	assert_non_null(in);
	for (int i = 0; i < 41; i++)
		upper[i] = (char)(sha1[i] >= 'a' && sha1[i] <= 'f' ? sha1[i] - 32 : sha1[i]);
	for (unsigned n = 1; n <= 2; n++) {
		snprintf(text, sizeof text, fmt, n, n == 1 ? "x509-certificate" : "file",
			 n == 1 ? upper : sha1);
		json_t *o = json_loads(text, 0, NULL);
		assert_non_null(o);
		assert_int_equal(sensor_intel_apply(in, o, NULL, NULL), RK_OK);
		json_decref(o);
	}
	return in;
}

/* One sweep of spec; the hits in c. */
static void sweep(const char *spec, sensor_hits *c)
{
	sensor_intel *in = intel();
	match *m = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(sensor_intel_build(in, rk_time_now(), NULL, NULL, &m, &ctx), RK_OK);
	sensor_intel_free(in);
	sensor_sweep(m, spec, c);
}

static void expect_one(const sensor_hits *c, const char *value)
{
	assert_int_equal(c->n, 1);
	assert_string_equal(c->id[0], "indicator--00000001-0000-4000-8000-000000000000");
	assert_string_equal(c->value[0], value);
	assert_string_equal(c->type[0], "x509-certificate");
}

static void test_pcap(void **state)
{
	char cap[128], spec[160];
	uint8_t hs[8192], rec[9000];
	size_t hn, rn = 0, n = 0;
	unsigned i = 0;
	pkt p;
	(void)state;
	snprintf(cap, sizeof cap, "%s/tls.pcap", dir);
	snprintf(spec, sizeof spec, "pcap:%s", cap);
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = pcap_dump_open(dead, cap);
	assert_non_null(d);
	/* the client: 10.0.0.1:40000 -> 10.0.0.2:443 */
	hn = tls_client_hello(hs, "c2.example");
	rec[0] = 22; rec[1] = 3; rec[2] = 1; rec[3] = (uint8_t)(hn >> 8); rec[4] = (uint8_t)hn;
	memcpy(rec + 5, hs, hn);
	eth(&p, 0, 0x0800);
	ip4(&p, 6, 1, 0, 1, 2);
	tcp(&p, 40000, 443, 1, 0x18, rec, hn + 5);
	pkt_finish_ip4(&p);
	sensor_pcap_put(d, &p, ++i);
	/* the server: ServerHello (TLS 1.2), Certificate, ServerHelloDone */
	static const uint8_t sh[] = {2, 0, 0, 38, 3, 3};
	memcpy(hs, sh, sizeof sh);
	n = sizeof sh;
	memset(hs + n, 0x33, 32); n += 32;
	hs[n++] = 0; hs[n++] = 0xc0; hs[n++] = 0x2f; hs[n++] = 0;
	size_t list = 3 + der_len;
	hs[n++] = 11;
	hs[n++] = (uint8_t)((list + 3) >> 16); hs[n++] = (uint8_t)((list + 3) >> 8);
	hs[n++] = (uint8_t)(list + 3);
	hs[n++] = (uint8_t)(list >> 16); hs[n++] = (uint8_t)(list >> 8); hs[n++] = (uint8_t)list;
	hs[n++] = (uint8_t)(der_len >> 16); hs[n++] = (uint8_t)(der_len >> 8);
	hs[n++] = (uint8_t)der_len;
	memcpy(hs + n, der, der_len); n += der_len;
	hs[n++] = 14; hs[n++] = 0; hs[n++] = 0; hs[n++] = 0;
	rec[rn++] = 22; rec[rn++] = 3; rec[rn++] = 3;
	rec[rn++] = (uint8_t)(n >> 8); rec[rn++] = (uint8_t)n;
	memcpy(rec + rn, hs, n); rn += n;
	sensor_pcap_segments(d, &i, 443, 40000, rec, rn, 100);
	pcap_dump_close(d);
	pcap_close(dead);

	sensor_hits c;
	sweep(spec, &c);
	expect_one(&c, sha1);
	unlink(cap);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_logs(void **state)
{
	char path[128], spec[160], text[2048], colons[60];
	sensor_hits c;
	(void)state;
	/* Zeek ssl.log: the chain's fingerprints, ours second */
	snprintf(path, sizeof path, "%s/ssl.log", dir);
	snprintf(text, sizeof text,
		 "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
		 "#path\tssl\n#fields\tts\tid.orig_h\tid.resp_h\tserver_name\tcert_chain_fps\n"
		 "1767225600.000000\t10.0.0.1\t10.0.0.2\t-\t%s,%s\n",
		 "95cb443934beda97627688546191ab1d3989a835592cebdd2434f9ad41324ce1", sha1);
	write_file(path, text);
	snprintf(spec, sizeof spec, "zeek:%s", path);
	sweep(spec, &c);
	expect_one(&c, sha1);
	/* Zeek x509.log (JSON) */
	snprintf(path, sizeof path, "%s/x509.log", dir);
	snprintf(text, sizeof text,
		 "{\"ts\":1767225600.0,\"fingerprint\":\"%s\",\"certificate.subject\":\"O=x\"}\n",
		 sha1);
	write_file(path, text);
	snprintf(spec, sizeof spec, "zeek:%s", path);
	sweep(spec, &c);
	expect_one(&c, sha1);
	/* Suricata EVE tls: SHA-1 with colons */
	for (int i = 0; i < 20; i++)
		snprintf(colons + 3 * i, sizeof colons - 3 * (size_t)i, "%.2s%s", sha1 + 2 * i,
			 i < 19 ? ":" : "");
	snprintf(path, sizeof path, "%s/eve.json", dir);
	snprintf(text, sizeof text,
		 "{\"timestamp\":\"2026-01-01T00:00:00.000000+0000\",\"event_type\":\"tls\","
		 "\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\",\"tls\":{\"sni\":\"c2.example\","
		 "\"fingerprint\":\"%s\",\"version\":\"TLS 1.2\"}}\n",
		 colons);
	write_file(path, text);
	snprintf(spec, sizeof spec, "eve:%s", path);
	sweep(spec, &c);
	expect_one(&c, colons);
	/* a file's SHA-1 of the same value meets the file indicator only */
	snprintf(path, sizeof path, "%s/files.log", dir);
	snprintf(text, sizeof text, "{\"ts\":1767225600.0,\"sha1\":\"%s\"}\n", sha1);
	write_file(path, text);
	snprintf(spec, sizeof spec, "zeek:%s", path);
	sweep(spec, &c);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.id[0], "indicator--00000002-0000-4000-8000-000000000000");
	assert_string_equal(c.type[0], "file");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcap),
		cmocka_unit_test(test_logs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
