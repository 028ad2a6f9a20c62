/*
 * proto_hub.c: see proto_hub.h. The hub under test is the real program
 * ($RENKEI_BIN, default build/renkei) on a loopback port chosen by the
 * kernel; nothing here links the server itself, so the tests see exactly
 * what a TAXII client sees.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "common.h"
#include "directory.h"
#include "proto_hub.h"

/* Bodies above this many bytes are sent with Expect: 100-continue. */
#define PROTO_EXPECT_BYTES (1u << 20)
#include "store.h"

#define DIRECTORY_FILE "tests/protocol/proto-directory.json"

static pid_t watched_pid;

static void on_alarm(int sig)
{
	(void)sig;
	if (watched_pid > 0)
		kill(watched_pid, SIGKILL);
	static const char msg[] = "protocol test: watchdog expired, hub killed\n";
	(void)!write(2, msg, sizeof msg - 1);
	_exit(1);
}

void proto_watchdog(unsigned seconds)
{
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	alarm(seconds);
}

static bool apply_file(const char *data_dir, const char *file)
{
	store *st = NULL;
	json_t *doc = NULL;
	directory *d = NULL;
	rk_errctx ctx;
	bool ok = false;
	char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG];

	rk_errctx_clear(&ctx);
	if (store_open(data_dir, &st, &ctx) || rk_json_load_file(file, 1u << 24, 64, &doc, &ctx) ||
	    dir_from_file_json(doc, &d, &ctx) || dir_apply(st, d, NULL, &ctx)) {
		rk_errctx_format(&ctx, msg, sizeof msg);
		fprintf(stderr, "proto: applying %s: %s\n", file, msg);
		goto out;
	}
	ok = true;
out:
	dir_free(d);
	json_decref(doc);
	store_close(st);
	return ok;
}

bool proto_hub_apply(proto_hub *h, const char *directory_file)
{
	return apply_file(h->dir, directory_file);
}

bool proto_hub_apply_text(proto_hub *h, const char *directory_text)
{
	char file[400];
	snprintf(file, sizeof file, "%s/directory.json", h->dir);
	FILE *f = fopen(file, "w");
	if (!f || fputs(directory_text, f) < 0 || fclose(f) != 0)
		return false;
	return apply_file(h->dir, file);
}

static bool spawn(proto_hub *h)
{
	char port_file[300], log_file[300], listen[32];
	const char *bin = getenv("RENKEI_BIN");
	if (!bin || !*bin)
		bin = "build/renkei";
	snprintf(port_file, sizeof port_file, "%s/port", h->dir);
	snprintf(log_file, sizeof log_file, "%s/hub.log", h->dir);
	unlink(port_file);

	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		const char *argv[32];
		int n = 0;
		argv[n++] = bin;
		argv[n++] = "hub";
		argv[n++] = "--data";
		argv[n++] = h->dir;
		argv[n++] = "--listen";
		snprintf(listen, sizeof listen, "127.0.0.1:%u", h->keep_port ? h->port : 0);
		argv[n++] = listen;
		argv[n++] = "--port-file";
		argv[n++] = port_file;
		for (int i = 0; i < h->n_extra && n < 30; i++)
			argv[n++] = h->extra[i];
		argv[n] = NULL;
		FILE *lf = freopen(log_file, "a", stderr);
		(void)lf;
		execv(bin, (char *const *)argv);
		fprintf(stderr, "proto: cannot run %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	h->pid = pid;
	watched_pid = pid;
	for (int i = 0; i < 200; i++) { /* up to 10 s */
		FILE *f = fopen(port_file, "r");
		if (f) {
			unsigned port = 0;
			int got = fscanf(f, "%u", &port);
			fclose(f);
			if (got == 1 && port) {
				h->port = port;
				return true;
			}
		}
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			fprintf(stderr, "proto: hub exited early (status %d); see %s\n", st, log_file);
			h->pid = 0;
			return false;
		}
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "proto: hub did not write %s\n", port_file);
	return false;
}

bool proto_hub_start(proto_hub *h)
{
	return proto_hub_prepare(h) && spawn(h);
}

bool proto_hub_prepare(proto_hub *h)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(h->dir, sizeof h->dir, "%s/renkei-proto-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(h->dir)) {
		perror("proto: mkdtemp");
		return false;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return apply_file(h->dir, DIRECTORY_FILE);
}

bool proto_hub_restart(proto_hub *h)
{
	return spawn(h);
}

int proto_hub_stop(proto_hub *h, int sig)
{
	int st = 0;
	if (h->pid <= 0)
		return -1;
	kill(h->pid, sig);
	for (int i = 0; i < 1000; i++) { /* 10 s */
		pid_t w = waitpid(h->pid, &st, WNOHANG);
		if (w == h->pid)
			goto done;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	kill(h->pid, SIGKILL);
	waitpid(h->pid, &st, 0);
done:
	h->pid = 0;
	watched_pid = 0;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

void proto_hub_cleanup(proto_hub *h)
{
	char cmd[600];
	if (h->pid > 0)
		proto_hub_stop(h, SIGKILL);
	if (h->dir[0] && !getenv("PROTO_KEEP")) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
		(void)!system(cmd);
	}
}

const char *proto_token(const char *user)
{
	static json_t *dir;
	if (!dir) {
		json_error_t e;
		dir = json_load_file(DIRECTORY_FILE, 0, &e);
		if (!dir)
			return NULL;
	}
	size_t i;
	json_t *u;
	json_array_foreach(json_object_get(dir, "users"), i, u) {
		const char *name = json_string_value(json_object_get(u, "name"));
		if (name && strcmp(name, user) == 0)
			return json_string_value(json_object_get(u, "token"));
	}
	return NULL;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	rk_buf *b = arg;
	return rk_buf_append(b, p, size * n) == RK_OK ? size * n : 0;
}

bool proto_http(const proto_hub *h, const char *method, const char *path,
		const char *user, const char *const *headers, const char *body,
		size_t body_len, proto_resp *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	rk_buf b, hb;
	char url[2048], auth[512];
	bool ok = false;

	memset(out, 0, sizeof *out);
	if (!c)
		return false;
	rk_buf_init(&b);
	rk_buf_init(&hb);
	snprintf(url, sizeof url, "%s://127.0.0.1:%u%s", h->tls ? "https" : "http", h->port,
		 path);
	if (h->tls) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
	if (user) {
		const char *tok = proto_token(user);
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok ? tok : user);
		hl = curl_slist_append(hl, auth);
	}
	for (size_t i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	/* A large body waits for the hub's go-ahead (Expect: 100-continue), so
	 * a refusal sent before the body is read (413) arrives whole instead of
	 * racing the upload; small bodies go at once. */
	if (body && body_len > PROTO_EXPECT_BYTES) {
		hl = curl_slist_append(hl, "Expect: 100-continue");
		curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 30000L);
	} else {
		hl = curl_slist_append(hl, "Expect:");
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	CURLcode cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		fprintf(stderr, "proto: %s %s: %s\n", method, path, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	out->len = b.len;
	out->body = b.data ? rk_buf_take(&b) : strdup("");
	out->headers = hb.data ? rk_buf_take(&hb) : strdup("");
	if (out->len)
		out->json = json_loadb(out->body, out->len, 0, NULL);
	ok = true;
out:
	rk_buf_cleanup(&b);
	rk_buf_cleanup(&hb);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return ok;
}

bool proto_get(const proto_hub *h, const char *path, const char *user, proto_resp *out)
{
	const char *hdr[] = {"Accept: " PROTO_TAXII, NULL};
	return proto_http(h, "GET", path, user, hdr, NULL, 0, out);
}

bool proto_post(const proto_hub *h, const char *path, const char *user,
		const char *body, proto_resp *out)
{
	const char *hdr[] = {"Accept: " PROTO_TAXII, "Content-Type: " PROTO_TAXII, NULL};
	return proto_http(h, "POST", path, user, hdr, body, strlen(body), out);
}

bool proto_header_in(const char *headers, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	for (const char *p = headers; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		if (ll > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			size_t vl = ll - (size_t)(v - p);
			while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
				vl--;
			snprintf(out, outlen, "%.*s", (int)vl, v);
			return true;
		}
		p = eol ? eol + 1 : NULL;
	}
	return false;
}

bool proto_header(const proto_resp *r, const char *name, char *out, size_t outlen)
{
	return proto_header_in(r->headers, name, out, outlen);
}

void proto_resp_free(proto_resp *r)
{
	free(r->body);
	free(r->headers);
	json_decref(r->json);
	memset(r, 0, sizeof *r);
}

char *proto_indicator(unsigned n, const char *modified)
{
	rk_buf b;
	rk_buf_init(&b);
	if (rk_buf_printf(&b,
			  "{\"type\":\"indicator\",\"spec_version\":\"2.1\","
			  "\"id\":\"indicator--00000000-0000-4000-8000-%012u\","
			  "\"created\":\"2024-01-01T00:00:00.000Z\",\"modified\":\"%s\","
			  "\"name\":\"test %u\",\"pattern\":\"[ipv4-addr:value = '10.%u.%u.%u']\","
			  "\"pattern_type\":\"stix\",\"valid_from\":\"2024-01-01T00:00:00Z\"}",
			  n, modified ? modified : "2024-01-01T00:00:00.000Z", n, (n >> 16) & 255,
			  (n >> 8) & 255, n & 255) != RK_OK) {
		rk_buf_cleanup(&b);
		return NULL;
	}
	return rk_buf_take(&b);
}

char *proto_envelope(unsigned first, unsigned count)
{
	rk_buf b;
	rk_buf_init(&b);
	rk_buf_puts(&b, "{\"objects\":[");
	for (unsigned i = 0; i < count; i++) {
		char *o = proto_indicator(first + i, NULL);
		if (i)
			rk_buf_puts(&b, ",");
		if (o)
			rk_buf_puts(&b, o);
		free(o);
	}
	rk_buf_puts(&b, "]}");
	return rk_buf_take(&b);
}

/* ------------------------------------------------ running the program */

void proto_bin(char *bin, size_t n)
{
	char path[4096]; /* realpath writes at most PATH_MAX, 4096 on Linux */
	const char *b = getenv("RENKEI_BIN");
	assert_non_null(realpath(b ? b : "build/renkei", path));
	assert_true(strlen(path) < n);
	memcpy(bin, path, strlen(path) + 1);
}

void proto_hub_run(const proto_hub *h, const char *args, proto_run_result *r)
{
	char errpath[300];
	snprintf(errpath, sizeof errpath, "%s/cli-stderr", h->dir);
	proto_run(NULL, errpath, args, r);
}

void proto_run(const char *cwd, const char *errpath, const char *args, proto_run_result *r)
{
	char cmd[8192], bin[4096];
	proto_bin(bin, sizeof bin);
	if (cwd)
		snprintf(cmd, sizeof cmd, "cd %s && %s %s 2>%s", cwd, bin, args, errpath);
	else
		snprintf(cmd, sizeof cmd, "%s %s 2>%s", bin, args, errpath);
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

void proto_run_free(proto_run_result *r)
{
	rk_buf_cleanup(&r->out);
}

json_t *proto_json_lines(const char *text)
{
	json_t *arr = json_array();
	const char *p = text;
	assert_non_null(arr);
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

bool proto_tmpdir(char *dir, size_t n, const char *prefix)
{
	snprintf(dir, n, "/tmp/%s-XXXXXX", prefix);
	return mkdtemp(dir) != NULL;
}

int proto_rmtree(const char *dir)
{
	char cmd[320];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd);
}

void proto_write_file(const char *dir, const char *name, const char *mode, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, mode);
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

void proto_identity(const char *org, char *out, size_t n)
{
	char uuid[RK_UUID_BUF];
	rk_uuid_v5(DIR_IDENTITY_NAMESPACE, org, strlen(org), uuid);
	snprintf(out, n, "identity--%s", uuid);
}

/* ------------------------------------------------ a server that misbehaves */

static void *serve_bad(void *arg)
{
	proto_bad_server *b = arg;
	int held[8], n_held = 0;
	while (!b->stop) {
		int c = accept(b->fd, NULL, NULL);
		if (c < 0)
			break;
		char buf[4096];
		ssize_t n = recv(c, buf, sizeof buf, 0);
		(void)n;
		if (b->reply) {
			ssize_t w = send(c, b->reply, strlen(b->reply), MSG_NOSIGNAL);
			(void)w;
			close(c);
		} else if (n_held < 8) {
			held[n_held++] = c;
		} else {
			close(c);
		}
	}
	for (int i = 0; i < n_held; i++)
		close(held[i]);
	return NULL;
}

void proto_bad_server_start(proto_bad_server *b, const char *reply)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	b->reply = reply;
	b->stop = false;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	b->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(b->fd >= 0);
	assert_int_equal(bind(b->fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(b->fd, 8), 0);
	getsockname(b->fd, (struct sockaddr *)&a, &len);
	b->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&b->th, NULL, serve_bad, b), 0);
}

void proto_bad_server_stop(proto_bad_server *b)
{
	b->stop = true;
	shutdown(b->fd, SHUT_RDWR);
	close(b->fd);
	pthread_join(b->th, NULL);
}

const char PROTO_SMALL_DIRECTORY[] =
	"{\"organizations\": ["
	" {\"id\": \"cert\", \"name\": \"CERT\", \"sectors\": [\"government-national\"]},"
	" {\"id\": \"min\", \"name\": \"Ministry\", \"sectors\": []},"
	" {\"id\": \"op\", \"name\": \"Operator\", \"sectors\": [\"energy\"]},"
	" {\"id\": \"si\", \"name\": \"Integrator\", \"sectors\": [], \"clients\": [\"cli\"]},"
	" {\"id\": \"cli\", \"name\": \"Client\", \"sectors\": []},"
	" {\"id\": \"far\", \"name\": \"Outsider\", \"sectors\": []}],"
	" \"users\": ["
	" {\"name\": \"cert-a\", \"organization\": \"cert\", \"role\": \"analyst\", \"token\": \"" T_CERT "\"},"
	" {\"name\": \"op-a\", \"organization\": \"op\", \"role\": \"analyst\", \"token\": \"" T_OP "\"},"
	" {\"name\": \"op-s\", \"organization\": \"op\", \"role\": \"sensor\", \"token\": \"" T_OPS "\"},"
	" {\"name\": \"op-b\", \"organization\": \"op\", \"role\": \"analyst\", \"token\": \"" T_OPB "\"},"
	" {\"name\": \"min-r\", \"organization\": \"min\", \"role\": \"reader\", \"token\": \"" T_MIN "\"},"
	" {\"name\": \"si-a\", \"organization\": \"si\", \"role\": \"analyst\", \"token\": \"" T_SI "\"},"
	" {\"name\": \"cli-r\", \"organization\": \"cli\", \"role\": \"reader\", \"token\": \"" T_CLI "\"},"
	" {\"name\": \"far-a\", \"organization\": \"far\", \"role\": \"analyst\", \"token\": \"" T_FAR "\"}],"
	" \"communities\": ["
	" {\"id\": \"nat\", \"title\": \"Nation\", \"tier\": \"nation\","
	"  \"members\": [\"cert\", \"min\", \"op\", \"si\"]},"
	" {\"id\": \"gov\", \"title\": \"Government\", \"tier\": \"government\","
	"  \"members\": [\"cert\", \"min\"]}],"
	" \"collections\": ["
	" {\"id\": \"" NATC "\", \"community\": \"nat\", \"title\": \"National\","
	"  \"default_marking\": \"TLP:GREEN\", \"can_read\": [\"analyst\", \"reader\"],"
	"  \"can_write\": [\"analyst\"]},"
	" {\"id\": \"" PUB "\", \"community\": \"nat\", \"title\": \"Public\","
	"  \"default_marking\": \"TLP:CLEAR\", \"can_read\": [\"analyst\", \"reader\"],"
	"  \"can_write\": [\"analyst\"], \"public\": true},"
	" {\"id\": \"" GOVC "\", \"community\": \"gov\", \"title\": \"Government\","
	"  \"default_marking\": \"TLP:AMBER\", \"can_read\": [\"analyst\", \"reader\"],"
	"  \"can_write\": [\"analyst\"]}]}";
