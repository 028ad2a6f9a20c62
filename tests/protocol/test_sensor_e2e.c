/*
 * test_sensor_e2e.c: the whole loop, end to end: a hub on loopback, an
 * analyst's indicators pushed to it, `renkei sensor --hub ...` pulling them
 * with a sensor-role token, a pcap and a Zeek log with known hits, and the
 * sightings read back from the hub.
 *
 *  1. offline sweep: 5 packets to an address indicator, 4 DNS queries for a
 *     domain indicator (TLP:AMBER): the hub ends up with one sighting of
 *     each with count 5 and 4, where_sighted_refs the sensor's
 *     organisation, the AMBER marking copied;
 *  2. hub down: a second sweep (2 more packets) starts from the indicators
 *     the first run kept, and its sighting waits in the spool; the hub
 *     restarts on the same store and port, a third run delivers it, a
 *     fourth adds nothing: 3 sightings, counts 5 + 4 + 2;
 *  3. live: a sensor following a growing log with 1 s intervals and 1 s
 *     polls; hits before, during and after a hub stop (SIGKILL) and
 *     restart, and an indicator pushed while it runs (hot swap); after
 *     SIGINT the counts of all sightings of each indicator equal the hits
 *     written, and every sighting id is stored once.
 *
 * Only processes this test started are signalled, by pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "common.h"
#include "directory.h"
#include "proto_hub.h"

#define SENSOR_TOKEN "sen-0123456789abcdef0123456789abcdef0123456789abcdef"
#define AMBER "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
#define ID_ADDR "indicator--e2e00000-0000-4000-8000-000000000001"
#define ID_DOM "indicator--e2e00000-0000-4000-8000-000000000002"
#define ID_NONE "indicator--e2e00000-0000-4000-8000-000000000003"
#define ID_LATE "indicator--e2e00000-0000-4000-8000-000000000004"

static proto_hub hub;
static char dir[64];
static char identity[RK_MAX_STIX_ID + 1];

static void path_of(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static void write_file(const char *name, const char *text, const char *mode)
{
	proto_write_file(dir, name, mode, text);
}

static char *indicator(const char *id, const char *pattern, const char *marking)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", "indicator",
			      "spec_version", "2.1", "id", id, "created", "2025-01-01T00:00:00.000Z",
			      "modified", "2025-01-01T00:00:00.000Z", "name", id, "pattern", pattern,
			      "pattern_type", "stix", "valid_from", "2025-01-01T00:00:00Z");
	if (marking)
		json_object_set_new(o, "object_marking_refs", json_pack("[s]", marking));
	json_t *env = json_pack("{s:[o]}", "objects", o);
	char *text = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	return text;
}

static void push(const char *id, const char *pattern, const char *marking)
{
	char *body = indicator(id, pattern, marking);
	proto_resp r;
	assert_true(proto_post(&hub, PROTO_NATION_OBJECTS, "bank-analyst", body, &r));
	assert_int_equal(r.status, 202);
	assert_int_equal(json_integer_value(json_object_get(r.json, "success_count")), 1);
	proto_resp_free(&r);
	free(body);
}

/* A capture of n UDP packets from 10.0.0.1 to dst. */
static void write_pcap(const char *name, const char *dst, int n, int other)
{
	char p[256];
	path_of(p, sizeof p, name);
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = pcap_dump_open(dead, p);
	assert_non_null(d);
	for (int i = 0; i < n + other; i++) {
		uint8_t f[46] = { 0 };
		unsigned a, b, c, e;
		f[12] = 0x08; /* IPv4 */
		f[14] = 0x45;
		f[17] = 32; /* total length: 20 + 8 + 4 */
		f[22] = 64;
		f[23] = 17; /* UDP */
		f[26] = 10, f[27] = 0, f[28] = 0, f[29] = 1;
		sscanf(i < n ? dst : "192.0.2.200", "%u.%u.%u.%u", &a, &b, &c, &e);
		f[30] = (uint8_t)a, f[31] = (uint8_t)b, f[32] = (uint8_t)c, f[33] = (uint8_t)e;
		uint32_t sum = 0;
		for (int k = 14; k < 34; k += 2)
			sum += (uint32_t)(f[k] << 8 | f[k + 1]);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		f[24] = (uint8_t)(~sum >> 8), f[25] = (uint8_t)~sum;
		f[34] = 0x30, f[35] = 0x39, f[36] = 0x1f, f[37] = 0x90; /* 12345 -> 8080 */
		f[39] = 12;
		struct pcap_pkthdr h = { .caplen = sizeof f, .len = sizeof f };
		h.ts.tv_sec = 1767225600 + i;
		pcap_dump((u_char *)d, &h, f);
	}
	pcap_dump_close(d);
	pcap_close(dead);
}

#define ZEEK_HEADER                                                                       \
	"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"   \
	"#path\tdns\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tquery\n" \
	"#types\ttime\tstring\taddr\tport\taddr\tport\tstring\n"

static void dns_lines(rk_buf *b, const char *query, int n)
{
	for (int i = 0; i < n; i++)
		rk_buf_printf(b, "1767225600.%06d\tC%d\t10.0.0.5\t5353\t192.0.2.53\t53\t%s\n", i, i,
			      query);
}

/* Runs build/renkei with args in dir (stdout, stderr to files); waits. */
static int run_sensor(const char *args, char *err, size_t errlen)
{
	char cmd[4096], errpath[256];
	proto_run_result r;
	snprintf(cmd, sizeof cmd, "sensor %s >out.txt", args);
	path_of(errpath, sizeof errpath, "err.txt");
	proto_run(dir, errpath, cmd, &r);
	snprintf(err, errlen, "%s", r.err);
	proto_run_free(&r);
	return r.rc;
}

static void hub_args(char *out, size_t n)
{
	snprintf(out, n,
		 "--hub http://127.0.0.1:%u --token-file token --collection " PROTO_NATION_COLL
		 " --identity %s --root nation --spool spool",
		 hub.port, identity);
}

/* The hub's sightings: {sighting_of_ref: total count}, checking each id
 * is there once, and the count of sightings in *n. */
static json_t *sightings(size_t *n, json_t **all)
{
	proto_resp r;
	json_t *by = json_object();
	json_t *ids = json_object();
	assert_true(proto_get(&hub, PROTO_NATION_OBJECTS "?match[type]=sighting&limit=1000",
			      "power-analyst", &r));
	assert_int_equal(r.status, 200);
	size_t i;
	json_t *o;
	*n = 0;
	json_array_foreach(json_object_get(r.json, "objects"), i, o) {
		const char *id = json_string_value(json_object_get(o, "id"));
		const char *of = json_string_value(json_object_get(o, "sighting_of_ref"));
		assert_null(json_object_get(ids, id));
		json_object_set_new(ids, id, json_true());
		json_int_t c = json_integer_value(json_object_get(o, "count"));
		json_object_set_new(by, of, json_integer(json_integer_value(json_object_get(by, of)) + c));
		(*n)++;
	}
	if (all)
		*all = json_incref(json_object_get(r.json, "objects"));
	proto_resp_free(&r);
	json_decref(ids);
	return by;
}

static json_int_t count_of(json_t *by, const char *id)
{
	return json_integer_value(json_object_get(by, id));
}

static int group_setup(void **state)
{
	(void)state;
	proto_watchdog(170);
	if (!proto_tmpdir(dir, sizeof dir, "rk-e2e"))
		return -1;
	proto_identity("power-east", identity, sizeof identity);
	write_file("token", SENSOR_TOKEN "\n", "w");
	if (!proto_hub_start(&hub))
		return -1;
	hub.keep_port = true;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	proto_hub_cleanup(&hub);
	return proto_rmtree(dir);
}

static void test_offline_sweeps_and_hub_down(void **state)
{
	char args[1024], err[8192];
	rk_buf log;
	size_t n;
	(void)state;

	push(ID_ADDR, "[ipv4-addr:value = '198.51.100.7']", NULL);
	push(ID_DOM, "[domain-name:value = 'c2.evil.example']", AMBER);
	push(ID_NONE, "[domain-name:value = 'quiet.example']", NULL);
	write_pcap("one.pcap", "198.51.100.7", 5, 3);
	rk_buf_init(&log);
	rk_buf_puts(&log, ZEEK_HEADER);
	dns_lines(&log, "ok.example", 2);
	dns_lines(&log, "c2.evil.example", 4);
	write_file("dns.log", log.data, "w");
	rk_buf_cleanup(&log);

	hub_args(args, sizeof args);
	char full[2048];
	snprintf(full, sizeof full, "%s --input pcap:one.pcap --input zeek:dns.log --alerts alerts.json",
		 args);
	int rc = run_sensor(full, err, sizeof err);
	if (rc)
		fail_msg("sensor exited %d: %s", rc, err);
	assert_non_null(strstr(err, "uplink: 3 objects from the hub"));
	assert_non_null(strstr(err, "2 sightings delivered, 0 refused, 0 waiting"));

	json_t *all = NULL;
	json_t *by = sightings(&n, &all);
	assert_int_equal(n, 2);
	assert_int_equal(count_of(by, ID_ADDR), 5);
	assert_int_equal(count_of(by, ID_DOM), 4);
	assert_int_equal(count_of(by, ID_NONE), 0);
	size_t i;
	json_t *o;
	json_array_foreach(all, i, o) {
		assert_string_equal(json_string_value(json_array_get(json_object_get(o, "where_sighted_refs"), 0)),
				    identity);
		assert_string_equal(json_string_value(json_object_get(o, "created_by_ref")), identity);
		const char *of = json_string_value(json_object_get(o, "sighting_of_ref"));
		const char *mark = json_string_value(json_array_get(json_object_get(o, "object_marking_refs"), 0));
		if (strcmp(of, ID_DOM) == 0)
			assert_string_equal(mark, AMBER);
		else /* the address indicator is unmarked: the collection's TLP:GREEN */
			assert_string_equal(mark, "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb");
		if (strcmp(of, ID_ADDR) == 0) {
			assert_string_equal(json_string_value(json_object_get(o, "first_seen")),
					    "2026-01-01T00:00:00.000000Z");
			assert_string_equal(json_string_value(json_object_get(o, "last_seen")),
					    "2026-01-01T00:00:04.000000Z");
		}
	}
	json_decref(all);
	json_decref(by);

	/* The hub goes away. The sensor still has its indicators (kept from
	 * the first run) and spools the sighting of 2 more packets. */
	proto_hub_stop(&hub, SIGKILL);
	write_pcap("two.pcap", "198.51.100.7", 2, 1);
	snprintf(full, sizeof full, "%s --input pcap:two.pcap --alerts alerts.json", args);
	rc = run_sensor(full, err, sizeof err);
	if (rc)
		fail_msg("sensor exited %d: %s", rc, err);
	assert_non_null(strstr(err, "the hub did not answer"));
	assert_non_null(strstr(err, "starting with the 3 objects kept from earlier runs"));
	assert_non_null(strstr(err, "0 sightings delivered, 0 refused, 1 waiting in spool"));

	/* Back on the same store and port: the next run delivers it, the one
	 * after adds nothing. */
	assert_true(proto_hub_restart(&hub));
	write_file("empty.log", ZEEK_HEADER, "w");
	snprintf(full, sizeof full, "%s --input zeek:empty.log --alerts alerts.json", args);
	for (int run = 0; run < 2; run++) {
		rc = run_sensor(full, err, sizeof err);
		if (rc)
			fail_msg("sensor exited %d: %s", rc, err);
		assert_non_null(strstr(err, run == 0 ? "1 sightings delivered" : "0 sightings delivered"));
		assert_non_null(strstr(err, "0 waiting"));
		by = sightings(&n, NULL);
		assert_int_equal(n, 3);
		assert_int_equal(count_of(by, ID_ADDR), 7);
		assert_int_equal(count_of(by, ID_DOM), 4);
		json_decref(by);
	}
	/* 11 alerts over the runs, one line each. */
	char p[256];
	path_of(p, sizeof p, "alerts.json");
	char *text = NULL;
	size_t len = 0, lines = 0;
	assert_int_equal(rk_read_file(p, 1 << 20, &text, &len, NULL), RK_OK);
	for (size_t k = 0; k < len; k++)
		lines += text[k] == '\n';
	free(text);
	assert_int_equal(lines, 11);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	nanosleep(&ts, NULL);
}

/* Waits until the hub's sightings of `id` add up to `want`. */
static bool wait_count(const char *id, json_int_t want, double seconds)
{
	double end = now_s() + seconds;
	while (now_s() < end) {
		size_t n;
		json_t *by = sightings(&n, NULL);
		json_int_t got = count_of(by, id);
		json_decref(by);
		if (got == want)
			return true;
		nap(0.2);
	}
	return false;
}

static void append_hits(const char *query, int n)
{
	rk_buf b;
	rk_buf_init(&b);
	dns_lines(&b, query, n);
	write_file("live.log", b.data, "a");
	rk_buf_cleanup(&b);
}

static void test_live_sensor_across_hub_restart(void **state)
{
	char args[1024], bin[4096], p[256];
	(void)state;

	size_t n0;
	json_t *before = sightings(&n0, NULL);
	json_int_t dom0 = count_of(before, ID_DOM);
	json_decref(before);

	write_file("live.log", ZEEK_HEADER, "w");
	hub_args(args, sizeof args);
	proto_bin(bin, sizeof bin);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char cmd[6000];
		snprintf(cmd, sizeof cmd,
			 "cd %s && exec %s sensor %s --follow --input zeek:live.log "
			 "--alerts live-alerts.json --sighting-interval 1 --poll 1 "
			 ">live-out.txt 2>live-err.txt",
			 dir, bin, args);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}

	append_hits("c2.evil.example", 3);
	if (!wait_count(ID_DOM, dom0 + 3, 20))
		fail_msg("the first 3 hits did not reach the hub");

	/* The hub stops while the sensor runs; hits go on. */
	proto_hub_stop(&hub, SIGKILL);
	append_hits("c2.evil.example", 4);
	nap(2.5); /* intervals close into the spool; delivery fails */
	append_hits("c2.evil.example", 1);
	assert_true(proto_hub_restart(&hub));
	if (!wait_count(ID_DOM, dom0 + 8, 90))
		fail_msg("the hits while the hub was down did not arrive");

	/* An indicator pushed while the sensor runs is pulled and swapped in:
	 * once it is in the feed's log, the swap follows on the same thread. */
	push(ID_LATE, "[domain-name:value = 'late.example']", NULL);
	char feed_log[256];
	snprintf(feed_log, sizeof feed_log, "%s/spool/feed-%s.jsonl", dir, PROTO_NATION_COLL);
	bool pulled = false;
	for (double end = now_s() + 30; !pulled && now_s() < end; nap(0.2)) {
		char *text = NULL;
		size_t tl;
		if (rk_read_file(feed_log, 1 << 20, &text, &tl, NULL) == RK_OK)
			pulled = strstr(text, ID_LATE) != NULL;
		free(text);
	}
	assert_true(pulled);
	nap(1);
	append_hits("late.example", 2);
	if (!wait_count(ID_LATE, 2, 30))
		fail_msg("hits of the indicator pushed while running did not arrive");

	kill(pid, SIGINT);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	path_of(p, sizeof p, "live-err.txt");
	char *err = NULL;
	size_t len;
	assert_int_equal(rk_read_file(p, 1 << 20, &err, &len, NULL), RK_OK);
	assert_non_null(strstr(err, "0 waiting in spool"));
	free(err);

	/* Nothing lost, nothing twice (sightings() checks each id is once). */
	size_t n;
	json_t *by = sightings(&n, NULL);
	assert_int_equal(count_of(by, ID_DOM), dom0 + 8);
	assert_int_equal(count_of(by, ID_LATE), 2);
	assert_int_equal(count_of(by, ID_ADDR), 7);
	json_decref(by);
}

static void test_usage_and_bad_identity(void **state)
{
	char args[1024], full[2048], err[8192];
	(void)state;

	snprintf(full, sizeof full, "--hub http://127.0.0.1:%u --collection " PROTO_NATION_COLL
		 " --input zeek:empty.log", hub.port);
	assert_int_equal(run_sensor(full, err, sizeof err), 2);
	assert_non_null(strstr(err, "--hub needs --token-file, --collection and --identity"));

	hub_args(args, sizeof args);
	char *at = strstr(args, "identity--");
	assert_non_null(at);
	memcpy(at, "identity--not-a-uuid", strlen("identity--not-a-uuid"));
	snprintf(full, sizeof full, "%s --input zeek:empty.log", args);
	assert_int_equal(run_sensor(full, err, sizeof err), 1);
	assert_non_null(strstr(err, "--identity: 'identity--not-a-uuid"));
	assert_non_null(strstr(err, "is not an identity id"));

	snprintf(full, sizeof full, "--spool s2 --input zeek:empty.log --indicators none.json");
	assert_int_equal(run_sensor(full, err, sizeof err), 2);
	assert_non_null(strstr(err, "go with --hub"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offline_sweeps_and_hub_down),
		cmocka_unit_test(test_live_sensor_across_hub_restart),
		cmocka_unit_test(test_usage_and_bad_identity),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
