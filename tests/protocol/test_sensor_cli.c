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
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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
#define ID_NEW "indicator--6a7b8c9d-0e1f-4a2b-9c3d-4e5f60718293"

static void run(const char *args, proto_run_result *r)
{
	char errpath[300];
	snprintf(errpath, sizeof errpath, "%s/stderr", dir);
	proto_run(dir, errpath, args, r);
}

static void write_file(const char *name, const char *text)
{
	proto_write_file(dir, name, "w", text);
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
	if (!proto_tmpdir(dir, sizeof dir, "rk-sensor-cli"))
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
	return proto_rmtree(dir) == 0 ? 0 : -1;
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
	proto_run_result r;
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
	json_t *alerts = proto_json_lines(text);
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
	proto_run_free(&r);
}

static void test_stdout_and_stdin(void **state)
{
	(void)state;
	proto_run_result r;
	run("sensor --indicators iocs.json --input zeek:- --alerts - < dns.log", &r);
	assert_int_equal(r.rc, 0);
	json_t *alerts = proto_json_lines(r.out.data);
	assert_int_equal(json_array_size(alerts), 2);
	json_t *a = alert_for(alerts, "C2.Evil.Example");
	assert_non_null(a);
	assert_string_equal(str_at(a, "where", "input"), "-");
	assert_int_equal(int_at(a, "where", "line"), 9);
	json_decref(alerts);
	proto_run_free(&r);
}

static void test_errors(void **state)
{
	(void)state;
	proto_run_result r;
	run("sensor --input zeek:dns.log", &r);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "--indicators FILE is required"));
	proto_run_free(&r);
	run("sensor --indicators iocs.json --input netflow:x", &r);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "unknown input format \"netflow\""));
	proto_run_free(&r);
	run("sensor --indicators iocs.json --input zeek:missing.log", &r);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "missing.log: cannot open"));
	proto_run_free(&r);
	run("sensor --indicators nothere.json --input zeek:dns.log", &r);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "nothere.json"));
	proto_run_free(&r);
	run("sensor --help", &r);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out.data, "--input FORMAT:PATH"));
	proto_run_free(&r);
}

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* The contents of dir/name, "" when unreadable; the caller frees. */
static char *read_back(const char *name)
{
	char p[300];
	char *text = NULL;
	size_t len;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	if (rk_read_file(p, 1 << 20, &text, &len, NULL) != RK_OK)
		return strdup("");
	return text;
}

/* Waits up to 20 s for needle in dir/name. */
static bool wait_for(const char *name, const char *needle)
{
	for (int i = 0; i < 400; i++, nap_ms(50)) {
		char *text = read_back(name);
		bool found = text && strstr(text, needle);
		free(text);
		if (found)
			return true;
	}
	return false;
}

/* Starts `renkei sensor ARGS` in dir with stderr in dir/errfile; the
 * caller signals and reaps it. */
static pid_t spawn_sensor(const char *args, const char *errfile)
{
	char bin[4096];
	proto_bin(bin, sizeof bin);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char cmd[6000];
		snprintf(cmd, sizeof cmd, "cd %s && exec %s sensor %s 2>%s", dir, bin, args,
			 errfile);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Waits for pid to exit and asserts it exited with status 0. */
static void reap_ok(pid_t pid)
{
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_reload_on_sighup(void **state)
{
	(void)state;
	write_file("live-iocs.json",
		   "{\"type\":\"bundle\",\"id\":\"bundle--5b1f0c2e-8d4a-4c6b-9e3f-2a7d1c0b9e84\","
		   "\"objects\":[" IND(ID_IP, "[ipv4-addr:value = '198.51.100.0/24']", "") "]}\n");
	write_file("live.log", "");
	pid_t pid = spawn_sensor("--indicators live-iocs.json --follow --input text:live.log "
				 "--alerts live-alerts.json",
				 "live-err.txt");
	/* before the reload: the address alerts, the name does not */
	proto_write_file(dir, "live.log", "a", "to fresh.example from 198.51.100.7\n");
	assert_true(wait_for("live-alerts.json", "198.51.100.7"));

	/* a broken file is refused and the old indicators stay */
	write_file("live-iocs.json", "{\"type\":\"bundle\",\"objects\":[\n");
	kill(pid, SIGHUP);
	assert_true(wait_for("live-err.txt", "live-iocs.json"));
	proto_write_file(dir, "live.log", "a", "again 198.51.100.8\n");
	assert_true(wait_for("live-alerts.json", "198.51.100.8"));

	write_file("live-iocs.json",
		   "{\"type\":\"bundle\",\"id\":\"bundle--5b1f0c2e-8d4a-4c6b-9e3f-2a7d1c0b9e84\","
		   "\"objects\":[" IND(ID_NEW, "[domain-name:value = 'fresh.example']",
					",\"name\":\"Fresh\"") "]}\n");
	kill(pid, SIGHUP);
	assert_true(wait_for("live-err.txt", "live-iocs.json: indicators reloaded"));
	proto_write_file(dir, "live.log", "a", "to fresh.example from 198.51.100.9\n");
	assert_true(wait_for("live-alerts.json", ID_NEW));

	kill(pid, SIGTERM);
	reap_ok(pid);

	char *text = read_back("live-alerts.json");
	json_t *alerts = proto_json_lines(text);
	free(text);
	/* 198.51.100.7 and .8 under the first set; fresh.example on line 3
	 * under the second, and its address no longer an indicator */
	assert_int_equal(json_array_size(alerts), 3);
	json_t *a = alert_for(alerts, "fresh.example");
	assert_non_null(a);
	assert_string_equal(str_at(a, "indicator", "id"), ID_NEW);
	assert_int_equal(int_at(a, "where", "line"), 3);
	assert_null(alert_for(alerts, "198.51.100.9"));
	json_decref(alerts);
}

static void test_progress(void **state)
{
	(void)state;
	char fifo[300];
	snprintf(fifo, sizeof fifo, "%s/pipe", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	pid_t pid = spawn_sensor("--indicators iocs.json --input text:pipe "
				 "--alerts prog-alerts.json --progress",
				 "prog-err.txt");
	int fd = open(fifo, O_WRONLY);
	assert_true(fd >= 0);
	static const char line[] = "login from 198.51.100.9 refused\n";
	assert_int_equal(write(fd, line, sizeof line - 1), (ssize_t)(sizeof line - 1));
	/* the pipe stays open: the sweep goes on, and says so */
	assert_true(wait_for("prog-err.txt", " MB matched, "));
	char *err = read_back("prog-err.txt");
	assert_null(strstr(err, "%)")); /* a pipe has no size to share out */
	free(err);
	close(fd);
	reap_ok(pid);
	char *text = read_back("prog-alerts.json");
	json_t *alerts = proto_json_lines(text);
	free(text);
	assert_int_equal(json_array_size(alerts), 1);
	assert_non_null(alert_for(alerts, "198.51.100.9"));
	json_decref(alerts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_stdout_and_stdin),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_reload_on_sighup),
		cmocka_unit_test(test_progress),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
