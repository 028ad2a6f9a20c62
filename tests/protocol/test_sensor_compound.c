/*
 * test_sensor_compound.c: `renkei sensor` with patterns that are not one
 * exact value: LIKE, MATCHES, a User-Agent comparison, and compound
 * patterns completed across observations (FOLLOWEDBY ... WITHIN,
 * REPEATS).
 *
 * A qualifier binds to the observation expression just before it (STIX 2.1
 * section 9.4 grammar, as pattern_parse.c reads it): in
 * `[A] FOLLOWEDBY [B] WITHIN 60 SECONDS` the window is B's alone, so A then
 * B 100 s later matches; `([A] FOLLOWEDBY [B]) WITHIN 60 SECONDS` puts both
 * in the window. Both are here, with their different answers.
 *
 * The same story is told twice, as a Zeek dns.log and as a capture of DNS
 * queries (both written here, times to the microsecond), each client on its
 * own address because the sensor correlates per client: one client asks
 * a.example then b.example within 60 s (a hit, named after b.example), one
 * asks them in the reverse order, one 100 s apart, one asks r.example three
 * times (a hit on the third), one twice. Names near the LIKE and MATCHES
 * patterns (no dot before the suffix, a longer or shorter number) must not
 * hit. Every alert is checked by indicator, value and where, and their
 * number is exact, so a pattern that hits where it should not fails the
 * test as surely as one that misses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common.h"
#include "proto_hub.h"

static char dir[64];

#define ID_LIKE "indicator--11111111-1111-4111-8111-111111111111"
#define ID_RE "indicator--22222222-2222-4222-8222-222222222222"
#define ID_FOL "indicator--33333333-3333-4333-8333-333333333333"
#define ID_REP "indicator--44444444-4444-4444-8444-444444444444"
#define ID_UA "indicator--55555555-5555-4555-8555-555555555555"
#define ID_FOL1 "indicator--66666666-6666-4666-8666-666666666666"

#define IND(id, pattern)                                                                  \
	"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" id "\","                 \
	"\"created\":\"2025-01-01T00:00:00.000Z\",\"modified\":\"2025-01-01T00:00:00.000Z\"," \
	"\"pattern\":\"" pattern "\",\"pattern_type\":\"stix\","                              \
	"\"valid_from\":\"2025-01-01T00:00:00Z\"}"

/* The story: (seconds after T0, client's last octet, name queried). */
static const struct q {
	int t;
	int client;
	const char *name;
} STORY[] = {
	{0, 1, "a.example"},   /* FOLLOWEDBY: in order, within 60 s */
	{10, 1, "b.example"},  /* -> hit */
	{0, 2, "b.example"},   /* reversed: no hit */
	{10, 2, "a.example"},
	{0, 3, "a.example"},   /* 100 s apart: no hit */
	{100, 3, "b.example"},
	{1, 4, "r.example"},   /* REPEATS 3 */
	{2, 4, "r.example"},
	{3, 4, "r.example"},   /* -> hit */
	{1, 5, "r.example"},   /* twice only: no hit */
	{2, 5, "r.example"},
	{5, 6, "x.evil-example.net"},    /* LIKE -> hit */
	{6, 6, "evil-example.net"},      /* no dot before the suffix */
	{7, 6, "x.evil-example.net.co"}, /* suffix not at the end */
	{8, 6, "dga1234.example.org"},   /* MATCHES -> hit */
	{9, 6, "dga12345.example.org"},
	{9, 6, "dga123.example.org"},
};
#define NSTORY (sizeof STORY / sizeof STORY[0])
#define T0 1767225600 /* 2026-01-01T00:00:00Z */

static void path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static void write_file(const char *name, const char *text)
{
	proto_write_file(dir, name, "w", text);
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* One Ethernet/IPv4/UDP DNS query from 10.0.0.<client>:40000 to
 * 192.0.2.53:53; returns its length. */
static size_t dns_packet(uint8_t *p, int client, const char *name, unsigned id)
{
	static const uint8_t eth[14] = {0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x08, 0x00};
	uint8_t *ip = p + 14, *udp = ip + 20, *dns = udp + 8, *q = dns + 12;
	memcpy(p, eth, 14);
	size_t n = 0;
	for (const char *s = name; *s;) { /* labels */
		const char *dot = strchr(s, '.');
		size_t len = dot ? (size_t)(dot - s) : strlen(s);
		q[n++] = (uint8_t)len;
		memcpy(q + n, s, len);
		n += len;
		s += len + (dot ? 1 : 0);
	}
	q[n++] = 0;
	put16(q + n, 1); /* A */
	put16(q + n + 2, 1); /* IN */
	n += 4;
	memset(dns, 0, 12);
	put16(dns, id);
	put16(dns + 2, 0x0100); /* recursion desired */
	put16(dns + 4, 1);
	size_t udp_len = 8 + 12 + n, ip_len = 20 + udp_len;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (unsigned)ip_len);
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 10, ip[13] = 0, ip[14] = 0, ip[15] = (uint8_t)client;
	ip[16] = 192, ip[17] = 0, ip[18] = 2, ip[19] = 53;
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(ip + 10, ~sum & 0xffff);
	put16(udp, 40000);
	put16(udp + 2, 53);
	put16(udp + 4, (unsigned)udp_len);
	put16(udp + 6, 0);
	return 14 + ip_len;
}

static void write_pcap(const char *name)
{
	char path[256];
	path_of(path, sizeof path, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1}; /* host order */
	assert_int_equal(fwrite(gh, sizeof gh, 1, f), 1);
	for (size_t i = 0; i < NSTORY; i++) {
		uint8_t pkt[512];
		size_t len = dns_packet(pkt, STORY[i].client, STORY[i].name, (unsigned)i + 1);
		uint32_t rh[4] = {(uint32_t)(T0 + STORY[i].t), (uint32_t)i, (uint32_t)len,
				  (uint32_t)len};
		assert_int_equal(fwrite(rh, sizeof rh, 1, f), 1);
		assert_int_equal(fwrite(pkt, len, 1, f), 1);
	}
	fclose(f);
}

static void write_log(const char *name)
{
	char path[256];
	path_of(path, sizeof path, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
	      "#path\tdns\n"
	      "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tquery\tanswers\n"
	      "#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tvector[string]\n",
	      f);
	for (size_t i = 0; i < NSTORY; i++)
		fprintf(f, "%d.%06zu\tC%zu\t10.0.0.%d\t40000\t192.0.2.53\t53\t%s\t-\n",
			T0 + STORY[i].t, i, i, STORY[i].client, STORY[i].name);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	proto_watchdog(60);
	if (!proto_tmpdir(dir, sizeof dir, "rk-sensor-comp"))
		return -1;
	write_file("iocs.json",
		   "{\"type\":\"bundle\",\"id\":\"bundle--5b1f0c2e-8d4a-4c6b-9e3f-2a7d1c0b9e85\","
		   "\"objects\":["
		   IND(ID_LIKE, "[domain-name:value LIKE '%.evil-example.net']") ","
		   IND(ID_RE, "[domain-name:value MATCHES '^dga[0-9]{4}[.]example[.]org$']") ","
		   IND(ID_FOL, "([domain-name:value = 'a.example'] FOLLOWEDBY "
			       "[domain-name:value = 'b.example']) WITHIN 60 SECONDS") ","
		   IND(ID_FOL1, "[domain-name:value = 'a.example'] FOLLOWEDBY "
				"[domain-name:value = 'b.example'] WITHIN 60 SECONDS") ","
		   IND(ID_REP, "[domain-name:value = 'r.example'] REPEATS 3 TIMES") ","
		   IND(ID_UA, "[network-traffic:extensions.'http-request-ext'.request_header."
			      "'User-Agent' LIKE 'EvilBot/%']")
		   "]}\n");
	write_log("dns.log");
	write_pcap("dns.pcap");
	write_file("eve.json",
		   "{\"timestamp\":\"2026-01-01T00:00:03.000000+0000\",\"event_type\":\"http\","
		   "\"src_ip\":\"10.0.0.9\",\"dest_ip\":\"203.0.113.5\",\"http\":{\"hostname\":"
		   "\"ok.example\",\"http_user_agent\":\"Mozilla/5.0\"}}\n"
		   "{\"timestamp\":\"2026-01-01T00:00:04.000000+0000\",\"event_type\":\"http\","
		   "\"src_ip\":\"10.0.0.9\",\"dest_ip\":\"203.0.113.5\",\"http\":{\"hostname\":"
		   "\"ok.example\",\"http_user_agent\":\"EvilBot/2.1\"}}\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (getenv("RK_KEEP"))
		return 0; /* RK_KEEP=1 leaves the inputs for a look by hand */
	return proto_rmtree(dir) == 0 ? 0 : -1;
}

/* Runs renkei sensor with args in dir; the alerts written to stdout. */
static json_t *sweep(const char *args)
{
	char cmd[4096], errpath[300];
	proto_run_result r;
	snprintf(cmd, sizeof cmd, "sensor --indicators iocs.json --alerts - %s", args);
	path_of(errpath, sizeof errpath, "stderr");
	proto_run(dir, errpath, cmd, &r);
	assert_int_equal(r.rc, 0);
	json_t *arr = proto_json_lines(r.out.data);
	proto_run_free(&r);
	return arr;
}

static const char *str_at(json_t *o, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(o, a), b));
}

/* Indicator id has one alert, with this value, where. */
static void expect(json_t *alerts, const char *id, const char *value, const char *where_key,
		   json_int_t where)
{
	size_t i, n = 0;
	json_t *a, *found = NULL;
	json_array_foreach(alerts, i, a)
	{
		if (strcmp(str_at(a, "indicator", "id"), id) == 0) {
			if (!found)
				found = a;
			n++;
		}
	}
	if (n != 1)
		fail_msg("%zu alerts for %s, want 1", n, id);
	assert_string_equal(str_at(found, "observable", "value"), value);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(found, "where"),
							       where_key)),
			 where);
}

/* Whether indicator id has an alert at where.<key> (alerts of several
 * workers come in any order). */
static bool has_at(json_t *alerts, const char *id, const char *key, json_int_t where)
{
	size_t i;
	json_t *a;
	json_array_foreach(alerts, i, a)
	{
		if (strcmp(str_at(a, "indicator", "id"), id) == 0 &&
		    json_integer_value(json_object_get(json_object_get(a, "where"), key)) == where)
			return true;
	}
	return false;
}

/* The position of the story's i-th query: log lines follow 7 headers. */
#define LINE(i) ((json_int_t)(i) + 8)
#define PACKET(i) ((json_int_t)(i) + 1)

static void test_log(void **state)
{
	(void)state;
	for (int threads = 1; threads <= 2; threads++) {
		char args[128];
		snprintf(args, sizeof args, "--input zeek:dns.log --input eve:eve.json --threads %d",
			 threads);
		json_t *al = sweep(args);
		assert_int_equal(json_array_size(al), 7); /* ID_FOL1 twice */
		expect(al, ID_FOL, "b.example", "line", LINE(1));
		assert_true(has_at(al, ID_FOL1, "line", LINE(1)));
		assert_true(has_at(al, ID_FOL1, "line", LINE(5))); /* 100 s apart */
		expect(al, ID_REP, "r.example", "line", LINE(8));
		expect(al, ID_LIKE, "x.evil-example.net", "line", LINE(11));
		expect(al, ID_RE, "dga1234.example.org", "line", LINE(14));
		expect(al, ID_UA, "EvilBot/2.1", "line", 2);
		json_decref(al);
	}
}

static void test_pcap(void **state)
{
	(void)state;
	for (int threads = 1; threads <= 2; threads++) {
		char args[128];
		snprintf(args, sizeof args, "--input pcap:dns.pcap --threads %d", threads);
		json_t *al = sweep(args);
		assert_int_equal(json_array_size(al), 6); /* ID_FOL1 twice */
		expect(al, ID_FOL, "b.example", "packet", PACKET(1));
		assert_true(has_at(al, ID_FOL1, "packet", PACKET(1)));
		assert_true(has_at(al, ID_FOL1, "packet", PACKET(5)));
		expect(al, ID_REP, "r.example", "packet", PACKET(8));
		expect(al, ID_LIKE, "x.evil-example.net", "packet", PACKET(11));
		expect(al, ID_RE, "dga1234.example.org", "packet", PACKET(14));
		json_decref(al);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_pcap),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
