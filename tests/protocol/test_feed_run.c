/*
 * test_feed_run.c: `renkei feed run` and `renkei feed status` against a
 * live hub and a small web server standing in for the feeds' publishers.
 *
 * The web server (below) serves files from a table, with a strong ETag of
 * their content and 304 for a matching If-None-Match, and counts what it
 * answered. A schedule file names five feeds: a plain list over HTTP, a
 * CSV file on disk with a column mapping, a MISP feed on the web server
 * (its manifest, two events and one it lacks) and a list whose URL
 * answers 404. Checked:
 *   - one --once run imports each good feed into the hub (the indicators
 *     read back from the hub), the failing feed fails alone and the exit
 *     status says so; `feed status` shows each feed's counts, failures
 *     and error;
 *   - a second run fetches the HTTP list and the MISP manifest
 *     conditionally (304: nothing imported) and finds the file unchanged;
 *   - a changed list brings one new indicator;
 *   - a hub that is down fails the run and moves nothing: the indicator
 *     arrives with the run after the hub is back;
 *   - the daemon runs the feeds that are due and stops on SIGTERM;
 *   - schedule errors name the file, the line and the key.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "proto_hub.h"

#define POWER_EAST "identity--bae1634f-2873-5dd6-a9b0-a693611f2f56"

static proto_hub hub;

/* ------------------------------------------------ the publishers' server */

typedef struct web {
	int fd;
	unsigned port;
	pthread_t th;
	volatile bool stop;
	pthread_mutex_t lock;
	const char *drop; /* the body of /drop.txt */
	unsigned ok, not_modified, missing;
	unsigned misp_manifests; /* manifests answered 200 */

} web;

static web www;

/* A strong ETag of a body: FNV-1a, quoted. */
static void etag_of(const char *body, char out[24])
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = body; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	snprintf(out, 24, "\"%016llx\"", (unsigned long long)h);
}

/* A MISP feed: a manifest naming two events and one the server lacks. */
#define MISP_EVENT_A "5c1f0b2e-8a44-4d7e-9b1a-2f3c4d5e6f70"
#define MISP_EVENT_B "6d2a1c3f-9b55-4e8f-8c2b-3a4d5e6f7081"
#define MISP_EVENT_GONE "7e3b2d4a-0c66-4f9a-9d3c-4b5e6f708192"
static const struct {
	const char *path;
	const char *body;
} misp_files[] = {
	{ "/misp/manifest.json",
	  "{\"" MISP_EVENT_A "\": {\"info\": \"phishing\"}, \"" MISP_EVENT_B
	  "\": {\"info\": \"c2\"}, \"" MISP_EVENT_GONE "\": {\"info\": \"gone\"}}" },
	{ "/misp/" MISP_EVENT_A ".json",
	  "{\"Event\": {\"uuid\": \"" MISP_EVENT_A "\", \"info\": \"phishing\", \"Attribute\": ["
	  "{\"type\": \"domain\", \"value\": \"login-bank.example\", \"to_ids\": true},"
	  "{\"type\": \"url\", \"value\": \"https://login-bank.example/verify\", \"to_ids\": true},"
	  "{\"type\": \"comment\", \"value\": \"seen in a campaign\", \"to_ids\": false}]}}" },
	{ "/misp/" MISP_EVENT_B ".json",
	  "{\"Event\": {\"uuid\": \"" MISP_EVENT_B "\", \"info\": \"c2\", \"Attribute\": ["
	  "{\"type\": \"ip-dst\", \"value\": \"198.51.100.99\", \"to_ids\": true},"
	  "{\"type\": \"sha256\", \"value\": \"not a hash\", \"to_ids\": true}]}}" },
};

static void answer(int c, const char *req)
{
	char reply[4096], etag[24], inm[64] = "";
	const char *body = NULL;

	const char *h = strstr(req, "\r\nIf-None-Match: ");
	if (h)
		sscanf(h + 17, "%63[^\r\n]", inm);
	pthread_mutex_lock(&www.lock);
	if (strncmp(req, "GET /drop.txt ", 14) == 0)
		body = www.drop;
	for (size_t i = 0; i < RK_ARRAY_LEN(misp_files); i++) {
		char line[128];
		snprintf(line, sizeof line, "GET %s ", misp_files[i].path);
		if (strncmp(req, line, strlen(line)) == 0)
			body = misp_files[i].body;
	}
	if (!body) {
		www.missing++;
		snprintf(reply, sizeof reply,
			 "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
			 "not here\r\n");
	} else {
		etag_of(body, etag);
		if (strcmp(inm, etag) == 0) {
			www.not_modified++;
			snprintf(reply, sizeof reply,
				 "HTTP/1.1 304 Not Modified\r\nETag: %s\r\nConnection: close\r\n\r\n",
				 etag);
		} else {
			www.ok++;
			if (strstr(req, "GET /misp/manifest.json "))
				www.misp_manifests++;
			snprintf(reply, sizeof reply,
				 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nETag: %s\r\n"
				 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
				 etag, strlen(body), body);
		}
	}
	pthread_mutex_unlock(&www.lock);
	ssize_t n = write(c, reply, strlen(reply));
	(void)n;
}

static void *serve(void *arg)
{
	(void)arg;
	while (!www.stop) {
		int c = accept(www.fd, NULL, NULL);
		if (c < 0)
			continue;
		char req[4096];
		size_t used = 0;
		while (used < sizeof req - 1) {
			ssize_t n = read(c, req + used, sizeof req - 1 - used);
			if (n <= 0)
				break;
			used += (size_t)n;
			req[used] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		req[used] = '\0';
		answer(c, req);
		close(c);
	}
	return NULL;
}

static void web_start(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pthread_mutex_init(&www.lock, NULL);
	www.fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(www.fd >= 0);
	assert_int_equal(bind(www.fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(www.fd, 8), 0);
	getsockname(www.fd, (struct sockaddr *)&a, &len);
	www.port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&www.th, NULL, serve, NULL), 0);
}

static void web_stop(void)
{
	www.stop = true;
	shutdown(www.fd, SHUT_RDWR);
	close(www.fd);
	pthread_join(www.th, NULL);
}

static void set_drop(const char *body)
{
	pthread_mutex_lock(&www.lock);
	www.drop = body;
	pthread_mutex_unlock(&www.lock);
}

/* ------------------------------------------------ fixtures */

static char schedule[300];

static int setup(void **state)
{
	char text[4096];

	(void)state;
	proto_watchdog(150);
	hub.keep_port = true;
	if (!proto_hub_start(&hub))
		return -1;
	web_start();
	set_drop("# example drop list\n203.0.113.0/24 ; SBL1\nevil.example\n");
	proto_write_file(hub.dir, "feeds.token", "w", proto_token("power-analyst"));
	proto_write_file(hub.dir, "iocs.csv", "w",
			 "kind,value,comment\n"
			 "ip,198.51.100.23,scanner\n"
			 "domain,bad.example.net,phishing\n"
			 "url,\"http://bad.example.net/login?a=1\",kit\n"
			 "ip,not-an-address,broken\n");
	snprintf(schedule, sizeof schedule, "%s/feeds.conf", hub.dir);
	snprintf(text, sizeof text,
		 "; the feeds of the test\n"
		 "[renkei]\n"
		 "hub = http://127.0.0.1:%u\n"
		 "root = nation\n"
		 "token_file = %s/feeds.token\n"
		 "state = %s/feed-state\n"
		 "builtin_warninglists = no\n"
		 "\n"
		 "[feed drop]\n"
		 "format = plain\n"
		 "source = http://127.0.0.1:%u/drop.txt\n"
		 "collection = " PROTO_NATION_COLL "\n"
		 "marking = green\n"
		 "confidence = 70\n"
		 "identity = " POWER_EAST "\n"
		 "interval = 1h\n"
		 "\n"
		 "[feed iocs]\n"
		 "format = csv\n"
		 "source = %s/iocs.csv\n"
		 "columns = value=value,name=comment\n"
		 "collection = " PROTO_NATION_COLL "\n"
		 "marking = TLP:AMBER\n"
		 "identity = " POWER_EAST "\n"
		 "interval = 15m\n"
		 "\n"
		 "[feed osint]\n"
		 "format = misp-feed\n"
		 "source = http://127.0.0.1:%u/misp/\n"
		 "collection = " PROTO_NATION_COLL "\n"
		 "marking = green\n"
		 "identity = " POWER_EAST "\n"
		 "\n"
		 "[feed gone]\n"
		 "format = plain\n"
		 "source = http://127.0.0.1:%u/gone.txt\n"
		 "collection = " PROTO_NATION_COLL "\n"
		 "marking = green\n"
		 "identity = " POWER_EAST "\n",
		 hub.port, hub.dir, hub.dir, www.port, hub.dir, www.port, www.port);
	proto_write_file(hub.dir, "feeds.conf", "w", text);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	web_stop();
	proto_hub_cleanup(&hub);
	return 0;
}

/* The patterns of the hub's nation collection that power-analyst reads,
 * each on a line of its own. */
static void hub_patterns(rk_buf *out)
{
	proto_resp resp;
	size_t i;
	json_t *o;

	rk_buf_init(out);
	assert_true(proto_get(&hub, PROTO_NATION_OBJECTS "?match[type]=indicator", "power-analyst",
			      &resp));
	assert_int_equal(resp.status, 200);
	json_array_foreach(json_object_get(resp.json, "objects"), i, o) {
		const char *p = json_string_value(json_object_get(o, "pattern"));
		if (p)
			assert_int_equal(rk_buf_printf(out, "%s\n", p), RK_OK);
	}
	proto_resp_free(&resp);
	if (!out->data)
		assert_int_equal(rk_buf_puts(out, ""), RK_OK);
}

static json_t *status_of(const char *feed)
{
	proto_run_result r;
	char args[512];
	json_error_t jerr;

	snprintf(args, sizeof args, "feed status --config %s --json --feed %s", schedule, feed);
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 0);
	json_t *all = json_loads(r.out.data, 0, &jerr);
	proto_run_free(&r);
	assert_non_null(all);
	assert_int_equal(json_array_size(all), 1);
	json_t *row = json_incref(json_array_get(all, 0));
	json_decref(all);
	return row;
}

static json_int_t int_of(const json_t *row, const char *key)
{
	return json_integer_value(json_object_get(row, key));
}

/* ------------------------------------------------ tests */

static void test_first_and_second_run(void **state)
{
	proto_run_result r;
	char args[512];
	rk_buf pats;

	(void)state;
	snprintf(args, sizeof args, "feed run --config %s --once", schedule);
	proto_hub_run(&hub, args, &r);
	/* The 404 fails its feed, and only it. */
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.out.data, "feed drop: running\n"));
	assert_non_null(strstr(r.out.data, "2 read: 2 imported (2 new, 0 changed)"));
	assert_non_null(strstr(r.out.data, "rejected: "));
	assert_non_null(strstr(r.out.data, "iocs.csv:5: "));
	assert_non_null(strstr(r.out.data, "4 read: 3 imported (3 new, 0 changed)"));
	assert_non_null(strstr(r.out.data, "hub: 3 objects sent: 3 succeeded, 0 failed, 0 pending\n"));
	assert_non_null(strstr(r.out.data, "feed gone: failed (1 in a row): "));
	/* The MISP feed: three indicators from two events, the bad hash and
	 * the event the server lacks rejected, the comment skipped. */
	assert_non_null(strstr(r.out.data, "/misp/" MISP_EVENT_GONE ".json: event in the manifest "
					   "unreadable: "));
	assert_non_null(strstr(r.out.data, "3 imported (3 new, 0 changed), 0 unchanged, 0 duplicate, "
					   "0 on warning lists (0 dropped, 0 flagged), 2 rejected, 1 skipped"));
	assert_non_null(strstr(r.out.data, "HTTP 404"));
	proto_run_free(&r);

	hub_patterns(&pats);
	assert_non_null(strstr(pats.data, "[ipv4-addr:value = '203.0.113.0/24']\n"));
	assert_non_null(strstr(pats.data, "[domain-name:value = 'evil.example']\n"));
	assert_non_null(strstr(pats.data, "[ipv4-addr:value = '198.51.100.23']\n"));
	assert_non_null(strstr(pats.data, "[domain-name:value = 'bad.example.net']\n"));
	assert_non_null(strstr(pats.data, "[url:value = 'http://bad.example.net/login?a=1']\n"));
	assert_non_null(strstr(pats.data, "[domain-name:value = 'login-bank.example']\n"));
	assert_non_null(strstr(pats.data, "[url:value = 'https://login-bank.example/verify']\n"));
	assert_non_null(strstr(pats.data, "[ipv4-addr:value = '198.51.100.99']\n"));
	rk_buf_cleanup(&pats);

	json_t *drop = status_of("drop"), *gone = status_of("gone"), *iocs = status_of("iocs");
	assert_int_equal(int_of(drop, "failures"), 0);
	assert_int_equal(int_of(drop, "imported"), 2);
	assert_int_equal(int_of(drop, "delivered"), 3); /* the marking definition too */
	assert_int_equal(int_of(drop, "interval"), 3600);
	assert_string_equal(json_string_value(json_object_get(drop, "last_error")), "");
	assert_int_equal(strlen(json_string_value(json_object_get(drop, "last_success"))), 20);
	assert_int_equal(int_of(iocs, "imported"), 3);
	assert_int_equal(int_of(iocs, "rejected"), 1);
	assert_int_equal(int_of(iocs, "interval"), 900);
	assert_int_equal(int_of(gone, "failures"), 1);
	assert_string_equal(json_string_value(json_object_get(gone, "last_success")), "");
	assert_non_null(strstr(json_string_value(json_object_get(gone, "last_error")), "HTTP 404"));
	/* A failed feed is retried after a minute, not after its hour. */
	json_decref(drop);
	json_decref(gone);
	json_decref(iocs);

	/* Again: the list is fetched conditionally and not imported, the CSV
	 * file is read and found unchanged. */
	unsigned ok = www.ok;
	unsigned manifests = www.misp_manifests;
	snprintf(args, sizeof args,
		 "feed run --config %s --once --feed drop --feed iocs --feed osint", schedule);
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out.data, "feed drop: the source has not changed since the last run\n"));
	assert_non_null(strstr(r.out.data, "feed osint: the source has not changed since the last run\n"));
	assert_int_equal(www.misp_manifests, manifests);
	assert_non_null(strstr(r.out.data, "4 read: 0 imported (0 new, 0 changed), 3 unchanged"));
	assert_null(strstr(r.out.data, "hub: "));
	proto_run_free(&r);
	assert_int_equal(www.ok, ok);
	assert_true(www.not_modified >= 1);

	/* The human table names every feed. */
	snprintf(args, sizeof args, "feed status --config %s", schedule);
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out.data, "FEED "));
	assert_non_null(strstr(r.out.data, "\ndrop "));
	assert_non_null(strstr(r.out.data, "\niocs "));
	assert_non_null(strstr(r.out.data, "\ngone "));
	proto_run_free(&r);
}

static void test_change_and_hub_down(void **state)
{
	proto_run_result r;
	char args[512];
	rk_buf pats;

	(void)state;
	snprintf(args, sizeof args, "feed run --config %s --once --feed drop", schedule);

	/* One more line: one new indicator, the others unchanged. */
	set_drop("# example drop list\n203.0.113.0/24 ; SBL1\nevil.example\n192.0.2.66\n");
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out.data, "3 read: 1 imported (1 new, 0 changed), 2 unchanged"));
	proto_run_free(&r);

	/* The hub is down: the run fails and the state stays. */
	assert_int_equal(proto_hub_stop(&hub, SIGTERM), 0);
	set_drop("# example drop list\n203.0.113.0/24 ; SBL1\nevil.example\n192.0.2.66\n"
		 "worse.example\n");
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.out.data, "feed drop: failed (1 in a row): "));
	proto_run_free(&r);
	json_t *drop = status_of("drop");
	assert_int_equal(int_of(drop, "failures"), 1);
	json_decref(drop);

	/* Back: the indicator the failed run read arrives now. */
	assert_true(proto_hub_restart(&hub));
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out.data, "4 read: 1 imported (1 new, 0 changed), 3 unchanged"));
	proto_run_free(&r);
	hub_patterns(&pats);
	assert_non_null(strstr(pats.data, "[ipv4-addr:value = '192.0.2.66']\n"));
	assert_non_null(strstr(pats.data, "[domain-name:value = 'worse.example']\n"));
	rk_buf_cleanup(&pats);
	drop = status_of("drop");
	assert_int_equal(int_of(drop, "failures"), 0);
	json_decref(drop);
}

static void test_daemon(void **state)
{
	char bin[512], conf[300], text[2048], log[300];

	(void)state;
	/* A feed of its own that never ran: due at once. */
	snprintf(conf, sizeof conf, "%s/daemon.conf", hub.dir);
	snprintf(log, sizeof log, "%s/daemon.log", hub.dir);
	snprintf(text, sizeof text,
		 "[renkei]\nhub = http://127.0.0.1:%u\nroot = nation\ntoken_file = %s/feeds.token\n"
		 "state = %s/feed-state\nbuiltin_warninglists = no\n"
		 "[feed daemon-drop]\nformat = plain\nsource = http://127.0.0.1:%u/drop.txt\n"
		 "collection = " PROTO_NATION_COLL "\nmarking = green\nidentity = " POWER_EAST "\n"
		 "interval = 10m\n",
		 hub.port, hub.dir, hub.dir, www.port);
	proto_write_file(hub.dir, "daemon.conf", "w", text);
	proto_bin(bin, sizeof bin);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		FILE *out = freopen(log, "w", stdout);
		(void)out;
		execl(bin, bin, "feed", "run", "--config", conf, (char *)NULL);
		_exit(127);
	}
	/* Wait for its first run to be recorded. */
	bool ran = false;
	for (int i = 0; i < 200 && !ran; i++) {
		usleep(50000);
		proto_run_result r;
		char args[512];
		snprintf(args, sizeof args, "feed status --config %s --json", conf);
		proto_hub_run(&hub, args, &r);
		ran = r.rc == 0 && strstr(r.out.data, "\"last_success\": \"2");
		proto_run_free(&r);
	}
	assert_true(ran);
	kill(pid, SIGTERM);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	char *out = NULL;
	size_t len = 0;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(rk_read_file(log, 1 << 20, &out, &len, &ctx), RK_OK);
	/* Ran once (the next run is ten minutes away) and stopped. */
	assert_non_null(strstr(out, "feed daemon-drop: running\n"));
	assert_null(strstr(strstr(out, "feed daemon-drop: running\n") + 1, "feed daemon-drop: running"));
	assert_non_null(strstr(out, "4 imported (4 new, 0 changed)"));
	free(out);
}

static void test_schedule_errors(void **state)
{
	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
		{ "[renkei]\nhub = http://127.0.0.1:1\ntoken_file = t\nstate = s\n"
		  "[feed a]\nformat = plain\nsource = x\ncollecton = 1\n",
		  "bad.conf:8: [feed a] collecton: unknown key" },
		{ "[renkei]\nhub = http://127.0.0.1:1\ntoken_file = t\nstate = s\n"
		  "[feed a]\nformat = rss\n",
		  "bad.conf:6: [feed a] format: expected plain, csv, misp, misp-feed, stix or taxii, not 'rss'" },
		{ "[renkei]\nhub = http://127.0.0.1:1\ntoken_file = t\nstate = s\n"
		  "[feed a]\nformat = plain\nsource = x\nmarking = green\n",
		  "bad.conf: [feed a]: collection is required" },
		{ "[renkei]\nhub = http://127.0.0.1:1\ntoken_file = t\nstate = s\n"
		  "[feed a]\nformat = plain\ninterval = 5\n",
		  "bad.conf:7: [feed a] interval: expected seconds or a number with s, m, h or d" },
		{ "[renkei]\nhub = ftp://x\ntoken_file = t\nstate = s\n[feed a]\nformat = plain\n"
		  "source = x\ncollection = " PROTO_NATION_COLL "\nmarking = red\n",
		  "bad.conf: [renkei] hub: 'ftp://x' is not an http(s) URL" },
		{ "[renkei]\nhub = http://127.0.0.1:1\ntoken_file = t\nstate = s\n"
		  "[feed a]\nformat = taxii\nsource = http://x\ncollection = " PROTO_NATION_COLL
		  "\nmarking = red\n",
		  "bad.conf: [feed a]: a taxii feed needs source = the server's http(s) URL and "
		  "source_collection" },
		{ "[elsewhere]\nkey = 1\n", "bad.conf:2: [elsewhere] key: unknown section" },
	};
	char args[512];

	(void)state;
	for (size_t i = 0; i < RK_ARRAY_LEN(cases); i++) {
		proto_run_result r;
		proto_write_file(hub.dir, "bad.conf", "w", cases[i].text);
		snprintf(args, sizeof args, "feed run --once --config %s/bad.conf", hub.dir);
		proto_hub_run(&hub, args, &r);
		assert_int_equal(r.rc, 1);
		if (!strstr(r.err, cases[i].message))
			fail_msg("case %zu: expected '%s' in: %s", i, cases[i].message, r.err);
		proto_run_free(&r);
	}
	proto_run_result r;
	snprintf(args, sizeof args, "feed run --once --config %s --feed nosuch", schedule);
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.err, "no feed named 'nosuch'"));
	proto_run_free(&r);
	proto_hub_run(&hub, "feed run --once", &r);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "--config FILE is required"));
	proto_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_and_second_run),
		cmocka_unit_test(test_change_and_hub_down),
		cmocka_unit_test(test_daemon),
		cmocka_unit_test(test_schedule_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
