/*
 * bench_federation.c: a full federation sync between two hubs on one
 * machine, and a sync when nothing changed.
 *
 * For each backlog size (--sizes, default 100000,1000000):
 *
 *   1. hub A's data directory gets a directory (its CERT, and hub B as a
 *      partner organisation) and N indicators generated from --seed, put
 *      straight into its store in batches (the set-up's fast path: the
 *      objects are what ingest would have stored, audiences included),
 *      60% TLP:GREEN and 40% TLP:CLEAR, every one of which may go to B;
 *   2. hub B (`renkei hub`, its own process and data directory) is
 *      started with A as a partner that must sign;
 *   3. A's side of the sync is timed: `renkei federation sync --once`,
 *      the push round the hub's scheduler runs (pages of RK_FED_PAGE
 *      signed envelopes POSTed to B over loopback, each verified and
 *      stored by B through its normal ingest), wall and CPU time and peak
 *      RSS of that process, and B's CPU time and peak RSS (VmHWM);
 *   4. B's store is counted (every object must be there), then the sync
 *      runs again with nothing new and is timed.
 *
 * Goals (issue 5): full sync of 1,000,000 objects within 2 minutes, a
 * nothing-changed sync within 1 s, memory flat whatever the backlog (the
 * peak RSS of both sides the same at both sizes). Both processes share the
 * machine's cores: CPU times are printed beside wall time.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "federation.h"
#include "policy.h"

#define COLL_A "5b1f0c2e-8d4a-4c6b-9e3f-2a7d1c0b9e84"
#define COLL_B "6c2a1d3f-9e5b-4d7c-8f40-3b8e2d1c0a95"
#define BATCH 5000
#define TOKEN_A_AT_B "bench-fed-a-at-b-0123456789abcdef0123456789abcdef"

static const char *renkei = "build/renkei";

static const char DIR_A[] =
	"{\"organizations\":[{\"id\":\"a-cert\",\"name\":\"A CERT\",\"sectors\":[]},"
	"{\"id\":\"hub-b\",\"name\":\"Hub B\",\"sectors\":[]}],"
	"\"users\":[{\"name\":\"a\",\"organization\":\"a-cert\",\"role\":\"analyst\"},"
	"{\"name\":\"b\",\"organization\":\"hub-b\",\"role\":\"partner\"}],"
	"\"communities\":[{\"id\":\"fed\",\"title\":\"Federation\",\"tier\":\"nation\","
	"\"members\":[\"a-cert\",\"hub-b\"]}],"
	"\"collections\":[{\"id\":\"" COLL_A "\",\"community\":\"fed\",\"title\":\"A\","
	"\"default_marking\":\"TLP:GREEN\",\"can_read\":[\"analyst\",\"partner\"],"
	"\"can_write\":[\"analyst\",\"partner\"]}]}";

static const char DIR_B[] =
	"{\"organizations\":[{\"id\":\"b-cert\",\"name\":\"B CERT\",\"sectors\":[]},"
	"{\"id\":\"hub-a\",\"name\":\"Hub A\",\"sectors\":[]}],"
	"\"users\":[{\"name\":\"b\",\"organization\":\"b-cert\",\"role\":\"analyst\"},"
	"{\"name\":\"a\",\"organization\":\"hub-a\",\"role\":\"partner\",\"token\":\"" TOKEN_A_AT_B
	"\"}],"
	"\"communities\":[{\"id\":\"fed\",\"title\":\"Federation\",\"tier\":\"nation\","
	"\"members\":[\"b-cert\",\"hub-a\"]}],"
	"\"collections\":[{\"id\":\"" COLL_B "\",\"community\":\"fed\",\"title\":\"B\","
	"\"default_marking\":\"TLP:GREEN\",\"can_read\":[\"analyst\",\"partner\"],"
	"\"can_write\":[\"analyst\",\"partner\"]}]}";

static void die(const char *what, const rk_errctx *ctx)
{
	fprintf(stderr, "bench_federation: %s%s%s\n", what, ctx ? ": " : "", ctx ? ctx->msg : "");
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mix64(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		die(path, NULL);
}

static void run(const char *cmd)
{
	if (system(cmd) != 0)
		die(cmd, NULL);
}

/* Puts n generated indicators into A's store, as a-cert. */
static void fill(const char *data, size_t n, uint64_t seed)
{
	store *st = NULL;
	directory *dir = NULL;
	rk_errctx ctx;
	static json_t *objs[BATCH];
	static store_put_item items[BATCH];
	static store_put_result res[BATCH];
	char *keys[2];
	const char *marks[2] = {stix_tlp_marking_id(STIX_TLP_CLEAR),
				stix_tlp_marking_id(STIX_TLP_GREEN)};

	rk_errctx_clear(&ctx);
	if (store_open(data, &st, &ctx) || dir_load(st, &dir, &ctx) || !dir)
		die("opening A's store", &ctx);
	const char *creator = dir_find_org(dir, "a-cert")->identity_id;
	for (int k = 0; k < 2; k++) {
		policy_audience a = {.tlp = k ? STIX_TLP_GREEN : STIX_TLP_CLEAR,
				     .owner = "a-cert"};
		keys[k] = policy_audience_key(&a);
	}
	for (size_t at = 0; at < n; at += BATCH) {
		size_t m = n - at < BATCH ? n - at : BATCH;
		char ts[RK_TIME_BUF];
		rk_time_format(rk_time_now(), 3, ts);
		for (size_t i = 0; i < m; i++) {
			uint64_t k = seed * 0x9e3779b97f4a7c15u + at + i;
			uint64_t a = mix64(k), b = mix64(k ^ 0x5deece66du);
			char id[80], pattern[96];
			int cls = (int)(b % 10) < 6; /* 60% GREEN */
			snprintf(id, sizeof id, "indicator--%08x-%04x-4%03x-8%01x%02x-%012" PRIx64,
				 (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffffu,
				 (unsigned)(a >> 4) & 0xfffu, (unsigned)a & 0xfu,
				 (unsigned)(b >> 56), b & 0xffffffffffffu);
			snprintf(pattern, sizeof pattern, "[ipv4-addr:value = '%u.%u.%u.%u']",
				 (unsigned)(a >> 24) & 255, (unsigned)(a >> 16) & 255,
				 (unsigned)(a >> 8) & 255, (unsigned)a & 255);
			objs[i] = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s]}",
					    "type", "indicator", "spec_version", "2.1", "id", id,
					    "created", ts, "modified", ts, "name", "generated",
					    "pattern", pattern, "pattern_type", "stix", "valid_from",
					    ts, "created_by_ref", creator, "object_marking_refs",
					    marks[cls]);
			memset(&items[i], 0, sizeof items[i]);
			items[i].object = objs[i];
			if (stix_object_info(objs[i], &items[i].info, &ctx) != RK_OK)
				die("object", &ctx);
			items[i].audience = keys[cls];
		}
		if (store_put(st, COLL_A, "a-cert", items, m, res, &ctx) != RK_OK)
			die("put", &ctx);
		for (size_t i = 0; i < m; i++) {
			if (res[i].outcome != STORE_PUT_ADDED)
				die(res[i].message, NULL);
			json_decref(objs[i]);
		}
	}
	free(keys[0]);
	free(keys[1]);
	dir_free(dir);
	store_close(st);
}

static char *first_line(const char *cmd)
{
	static char line[256];
	FILE *p = popen(cmd, "r");
	if (!p || !fgets(line, sizeof line, p))
		die(cmd, NULL);
	pclose(p);
	line[strcspn(line, "\n")] = '\0';
	return line;
}

/* Runs argv, returns wall seconds, and its CPU and peak RSS. */
static double timed(char *const argv[], double *cpu, long *rss_kb)
{
	double t0 = now_s();
	pid_t pid = fork();
	if (pid < 0)
		die("fork", NULL);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("the sync failed", NULL);
	*cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	*rss_kb = ru.ru_maxrss;
	return now_s() - t0;
}

/* CPU seconds and VmHWM (kB) of a running process. */
static void proc_usage(pid_t pid, double *cpu, long *hwm)
{
	char path[64], line[512];
	unsigned long ut = 0, stt = 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f && fgets(line, sizeof line, f)) {
		char *p = strrchr(line, ')');
		if (p)
			sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
			       &stt);
	}
	if (f)
		fclose(f);
	*cpu = (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	*hwm = 0;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6))
			*hwm = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
}

static uint64_t count_b(const char *data)
{
	store *st = NULL;
	uint64_t n = 0;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	if (store_open(data, &st, &ctx) || store_count(st, COLL_B, &n, &ctx))
		die("counting B", &ctx);
	store_close(st);
	return n;
}

static void one_size(const char *tmp, size_t n, uint64_t seed)
{
	char work[512], a[600], b[600], cmd[4096], key_a[64], key_b[64];
	snprintf(work, sizeof work, "%s/renkei-bench-fed.XXXXXX", tmp);
	if (!mkdtemp(work))
		die("mkdtemp", NULL);
	snprintf(a, sizeof a, "%s/a", work);
	snprintf(b, sizeof b, "%s/b", work);
	snprintf(cmd, sizeof cmd, "%s/dir-a.json", work);
	write_file(cmd, DIR_A);
	snprintf(cmd, sizeof cmd, "%s/dir-b.json", work);
	write_file(cmd, DIR_B);
	snprintf(cmd, sizeof cmd,
		 "%s admin apply --data %s %s/dir-a.json >/dev/null && "
		 "%s admin apply --data %s %s/dir-b.json >/dev/null",
		 renkei, a, work, renkei, b, work);
	run(cmd);
	snprintf(cmd, sizeof cmd, "%s federation key --data %s", renkei, a);
	snprintf(key_a, sizeof key_a, "%s", first_line(cmd));
	snprintf(cmd, sizeof cmd, "%s federation key --data %s", renkei, b);
	snprintf(key_b, sizeof key_b, "%s", first_line(cmd));

	double t0 = now_s();
	fill(a, n, seed);
	double fill_s = now_s() - t0;

	/* hub B, with A as a partner that must sign */
	snprintf(cmd, sizeof cmd, "%s/token", work);
	write_file(cmd, "unused-token-for-pushes-from-b-0123456789abcdef\n");
	snprintf(cmd, sizeof cmd,
		 "[partner a]\nurl = http://127.0.0.1:9\ntoken_file = %s/token\n"
		 "public_key = %s\norganisation = hub-a\ncommunity = fed\n",
		 work, key_a);
	char path[700];
	snprintf(path, sizeof path, "%s/fed-b.conf", work);
	write_file(path, cmd);
	pid_t hub = fork();
	if (hub == 0) {
		char port_file[700], conf[700];
		snprintf(port_file, sizeof port_file, "%s/port", work);
		snprintf(conf, sizeof conf, "%s/fed-b.conf", work);
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 2);
		execl(renkei, renkei, "hub", "--data", b, "--listen", "127.0.0.1:0", "--port-file",
		      port_file, "--federation", conf, "--log-level", "warn", "--threads", "2",
		      (char *)NULL);
		_exit(127);
	}
	unsigned port = 0;
	for (int i = 0; i < 200 && !port; i++) {
		snprintf(cmd, sizeof cmd, "%s/port", work);
		FILE *f = fopen(cmd, "r");
		if (f) {
			if (fscanf(f, "%u", &port) != 1)
				port = 0;
			fclose(f);
		}
		if (!port)
			usleep(50000);
	}
	if (!port)
		die("hub B did not start", NULL);

	/* A's side */
	snprintf(cmd, sizeof cmd, "%s/token-b", work);
	write_file(cmd, TOKEN_A_AT_B "\n");
	snprintf(cmd, sizeof cmd,
		 "[partner b]\nurl = http://127.0.0.1:%u\napi_root = fed\ntoken_file = %s/token-b\n"
		 "public_key = %s\norganisation = hub-b\ncommunity = fed\n"
		 "collection = %s %s\ndirection = push\ntimeout = 120\n",
		 port, work, key_b, COLL_A, COLL_B);
	snprintf(path, sizeof path, "%s/fed-a.conf", work);
	write_file(path, cmd);

	double b_cpu0, b_cpu1, a_cpu, a_cpu2;
	long b_hwm0, b_hwm, a_rss, a_rss2;
	proc_usage(hub, &b_cpu0, &b_hwm0);
	char *argv[] = {(char *)renkei, "federation", "sync", "--once", "--data", a,
			"--federation", path, NULL};
	double full = timed(argv, &a_cpu, &a_rss);
	proc_usage(hub, &b_cpu1, &b_hwm);
	double again = timed(argv, &a_cpu2, &a_rss2);
	kill(hub, SIGTERM);
	waitpid(hub, NULL, 0);
	uint64_t got = count_b(b);
	double load[3] = {0};
	getloadavg(load, 3);

	printf("backlog %zu objects (generated into A in %.1f s): full sync %.1f s (%.0f obj/s), "
		"B holds %" PRIu64 "\n"
		"  syncing side (renkei federation sync): CPU %.1f s, peak RSS %.1f MB\n"
		"  hub B: CPU %.1f s, peak RSS %.1f MB\n"
		"  nothing-changed sync: %.3f s wall, CPU %.3f s\n"
		"  load average after: %.2f %.2f %.2f\n",
		n, fill_s, full, (double)n / full, got, a_cpu, (double)a_rss / 1024.0,
		b_cpu1 - b_cpu0, (double)b_hwm / 1024.0, again, a_cpu2, load[0], load[1],
		load[2]);
	fflush(stdout);
	if (got != n)
		die("B does not hold every object", NULL);
	snprintf(cmd, sizeof cmd, "rm -rf %s", work);
	run(cmd);
}

int main(int argc, char **argv)
{
	const char *sizes = "100000,1000000", *tmp = "/tmp";
	uint64_t seed = 20261126;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--sizes"))
			sizes = argv[i + 1];
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--tmp"))
			tmp = argv[i + 1];
		else if (!strcmp(argv[i], "--renkei"))
			renkei = argv[i + 1];
		else
			die("usage: bench_federation [--sizes N,M] [--seed S] [--tmp DIR] [--renkei BIN]",
			    NULL);
	}
	printf("renkei federation benchmark: %ld cores, seed %" PRIu64 ", pages of %d\n",
		sysconf(_SC_NPROCESSORS_ONLN), seed, RK_FED_PAGE);
	char *list = strdup(sizes);
	for (char *s = strtok(list, ","); s; s = strtok(NULL, ","))
		one_size(tmp, (size_t)strtoull(s, NULL, 10), seed);
	free(list);
	return 0;
}
