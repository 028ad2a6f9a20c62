/*
 * test_sensor_cli.c: `renkei sensor` as an operator runs it.
 *
 * Runs the real program ($RENKEI_BIN) over files written here: a bundle of
 * four indicators (one revoked, one with a name that needs escaping) and a
 * bad object, a Zeek TSV dns.log, a Suricata EVE file and a text log. The
 * alert lines must name the real indicator ids and names, the values, the
 * true line numbers and fields, and the logs' own timestamps; the bad
 * object is reported with its index and id; --stats prints the totals.
 * Alerts go to a file and to standard output (`--alerts -`). Usage errors
 * exit 2 and an unreadable input exits 1, naming the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common.h"
#include "proto_hub.h"

static char dir[64];

#define ID_DOM "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
#define ID_IP "indicator--1f6c5d3a-0b7e-4c0e-9a55-3f2d6e7c8a91"
#define ID_URL "indicator--c2a4b6d8-e0f2-4a4c-8e6f-0a2b4c6d8e0f"
#define ID_REV "indicator--5d6e7f80-9a1b-4c2d-8e3f-405162738495"
#define ID_BAD "indicator--0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"

typedef struct run_result {
	int rc;
	rk_buf out;
	char err[8192];
} run_result;

static void run(const char *args, run_result *r)
{
	char cmd[4096 + 1024], errpath[300], bin[4096];
	const char *b = getenv("RENKEI_BIN");
	assert_non_null(realpath(b ? b : "build/renkei", bin));
	snprintf(errpath, sizeof errpath, "%s/stderr", dir);
	snprintf(cmd, sizeof cmd, "cd %s && %s %s 2>%s", dir, bin, args, errpath);
	rk_buf_init(&r->out);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
		assert_int_equal(rk_buf_append(&r->out, chunk, n), RK_OK);
	rk_buf_puts(&r->out, "");
	int st = pclose(p);
	r->rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	FILE *e = fopen(errpath, "r");
	size_t len = e ? fread(r->err, 1, sizeof r->err - 1, e) : 0;
	r->err[len] = '\0';
	if (e)
		fclose(e);
}

static void write_file(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

#define IND(id, pattern, extra)                                                           \
	"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" id "\","                 \
	"\"created\":\"2025-01-01T00:00:00.000Z\",\"modified\":\"2025-01-01T00:00:00.000Z\"," \
	"\"pattern\":\"" pattern "\",\"pattern_type\":\"stix\","                              \
	"\"valid_from\":\"2025-01-01T00:00:00Z\"" extra "}"

static int setup(void **state)
{
	(void)state;
	proto_watchdog(60);
	snprintf(dir, sizeof dir, "/tmp/rk-sensor-cli-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	write_file("iocs.json",
		   "{\"type\":\"bundle\",\"id\":\"bundle--5b1f0c2e-8d4a-4c6b-9e3f-2a7d1c0b9e84\","
		   "\"objects\":["
		   IND(ID_DOM, "[domain-name:value = 'c2.evil.example']",
		       ",\"name\":\"C2 \\\"beacon\\\" domain\"") ","
		   IND(ID_IP, "[ipv4-addr:value = '198.51.100.0/24']", ",\"name\":\"Bad net\"") ","
		   IND(ID_URL, "[url:value = 'http://dl.example.net/payload.bin']", "") ","
		   IND(ID_REV, "[domain-name:value = 'revoked.example']", ",\"revoked\":true") ","
		   "{\"type\":\"indicator\",\"id\":\"" ID_BAD "\"}"
		   "]}\n");
	write_file("dns.log",
		   "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
		   "#path\tdns\n"
		   "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tquery\tanswers\n"
		   "#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tvector[string]\n"
		   "1767225600.250000\tC1\t10.0.0.5\t5353\t192.0.2.53\t53\tok.example\t192.0.2.1\n"
		   "1767225601.500000\tC2\t10.0.0.6\t5353\t192.0.2.53\t53\tC2.Evil.Example\t198.51.100.77\n"
		   "1767225602.000000\tC3\t10.0.0.7\t5353\t192.0.2.53\t53\trevoked.example\t-\n");
	write_file("eve.json",
		   "{\"timestamp\":\"2026-01-01T00:00:03.000000+0000\",\"event_type\":\"http\","
		   "\"src_ip\":\"10.0.0.9\",\"dest_ip\":\"203.0.113.5\",\"http\":{\"hostname\":"
		   "\"dl.example.net\",\"url\":\"http://dl.example.net/payload.bin\"}}\n"
		   "garbage that is not json\n");
	write_file("auth.log", "nothing here\nlogin from 198.51.100.9 refused\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The alert whose observable value is v (NULL when none), from JSON lines. */
static json_t *alert_for(json_t *alerts, const char *v)
{
	size_t i;
	json_t *a;
	json_array_foreach(alerts, i, a)
	{
		const char *val =
			json_string_value(json_object_get(json_object_get(a, "observable"), "value"));
		if (val && strcmp(val, v) == 0)
			return a;
	}
	return NULL;
}

static json_t *parse_lines(const char *text)
{
	json_t *arr = json_array();
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl); /* every line whole */
		json_error_t e;
		json_t *o = json_loadb(p, (size_t)(nl - p), 0, &e);
		assert_non_null(o);
		json_array_append_new(arr, o);
		p = nl + 1;
	}
	return arr;
}

static const char *str_at(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);
	return json_string_value(b ? json_object_get(v, b) : v);
}

static json_int_t int_at(json_t *o, const char *a, const char *b)
{
	return json_integer_value(json_object_get(json_object_get(o, a), b));
}

static void test_sweep(void **state)
{
	(void)state;
	run_result r;
	run("sensor --indicators iocs.json --input zeek:dns.log --input eve:eve.json "
	    "--input text:auth.log --alerts alerts.json --threads 2 --stats",
	    &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out.data, "");
	/* the bad object, by index and id */
	assert_non_null(strstr(r.err, "iocs.json: objects[4] (" ID_BAD "): created: required property is missing, skipped"));
	assert_non_null(strstr(r.err, "eve.json:2: not a JSON object"));
	assert_non_null(strstr(r.err, "sensor: 0 packets, 14 lines,"));
	assert_non_null(strstr(r.err, "4 hits"));
	assert_non_null(strstr(r.err, "4 alerts written, 0 failed"));

	char path[256];
	snprintf(path, sizeof path, "%s/alerts.json", dir);
	char *text = NULL;
	size_t len;
	assert_int_equal(rk_read_file(path, 1 << 20, &text, &len, NULL), RK_OK);
	json_t *alerts = parse_lines(text);
	free(text);
	assert_int_equal(json_array_size(alerts), 4);

	json_t *a = alert_for(alerts, "C2.Evil.Example");
	assert_non_null(a);
	assert_string_equal(str_at(a, "indicator", "id"), ID_DOM);
	assert_string_equal(str_at(a, "indicator", "name"), "C2 \"beacon\" domain");
	assert_string_equal(str_at(a, "observable", "type"), "domain-name");
	assert_string_equal(str_at(a, "where", "input"), "dns.log");
	assert_int_equal(int_at(a, "where", "line"), 9);
	assert_string_equal(str_at(a, "where", "field"), "dns.query");
	assert_string_equal(str_at(a, "time", NULL), "2026-01-01T00:00:01.500000Z");

	a = alert_for(alerts, "198.51.100.77");
	assert_non_null(a);
	assert_string_equal(str_at(a, "indicator", "id"), ID_IP);
	assert_string_equal(str_at(a, "indicator", "name"), "Bad net");
	assert_string_equal(str_at(a, "observable", "type"), "ipv4-addr");
	assert_int_equal(int_at(a, "where", "line"), 9);
	assert_string_equal(str_at(a, "where", "field"), "dns.answer");

	a = alert_for(alerts, "http://dl.example.net/payload.bin");
	assert_non_null(a);
	assert_string_equal(str_at(a, "indicator", "id"), ID_URL);
	assert_null(json_object_get(json_object_get(a, "indicator"), "name"));
	assert_string_equal(str_at(a, "observable", "type"), "url");
	assert_string_equal(str_at(a, "where", "input"), "eve.json");
	assert_int_equal(int_at(a, "where", "line"), 1);
	assert_string_equal(str_at(a, "time", NULL), "2026-01-01T00:00:03.000000Z");

	a = alert_for(alerts, "198.51.100.9");
	assert_non_null(a);
	assert_string_equal(str_at(a, "where", "input"), "auth.log");
	assert_int_equal(int_at(a, "where", "line"), 2);
	assert_string_equal(str_at(a, "time_source", NULL), "sensor");

	assert_null(alert_for(alerts, "revoked.example"));
	json_decref(alerts);
	rk_buf_cleanup(&r.out);
}

static void test_stdout_and_stdin(void **state)
{
	(void)state;
	run_result r;
	run("sensor --indicators iocs.json --input zeek:- --alerts - < dns.log", &r);
	assert_int_equal(r.rc, 0);
	json_t *alerts = parse_lines(r.out.data);
	assert_int_equal(json_array_size(alerts), 2);
	json_t *a = alert_for(alerts, "C2.Evil.Example");
	assert_non_null(a);
	assert_string_equal(str_at(a, "where", "input"), "-");
	assert_int_equal(int_at(a, "where", "line"), 9);
	json_decref(alerts);
	rk_buf_cleanup(&r.out);
}

static void test_errors(void **state)
{
	(void)state;
	run_result r;
	run("sensor --input zeek:dns.log", &r);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "--indicators FILE is required"));
	rk_buf_cleanup(&r.out);
	run("sensor --indicators iocs.json --input netflow:x", &r);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "unknown input format \"netflow\""));
	rk_buf_cleanup(&r.out);
	run("sensor --indicators iocs.json --input zeek:missing.log", &r);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "missing.log: cannot open"));
	rk_buf_cleanup(&r.out);
	run("sensor --indicators nothere.json --input zeek:dns.log", &r);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "nothere.json"));
	rk_buf_cleanup(&r.out);
	run("sensor --help", &r);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out.data, "--input FORMAT:PATH"));
	rk_buf_cleanup(&r.out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_stdout_and_stdin),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
