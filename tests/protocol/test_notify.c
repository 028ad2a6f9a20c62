/*
 * test_notify.c: notification of affected organisations against a live
 * hub, with a local webhook receiver and a local SMTP sink (both written
 * here, on 127.0.0.1 with ports chosen at run time, stopped by the test).
 *
 * Directory: cert (the publisher), bank, isp and shop in community nat;
 * far in no community; gov holding cert alone. Collections NATC (nat,
 * TLP:GREEN) and GOVC (gov, TLP:AMBER). Assets: bank 198.51.100.0/24 and
 * bank.example, isp 198.51.100.0/22 and AS64500, far 192.0.2.0/24, all
 * approved by the operator; shop's 203.0.113.0/24 stays pending. bank has
 * a webhook and two digest addresses, isp a digest address, far a
 * webhook and a digest address (it must never receive anything).
 *
 * What is checked, each with the values written out from the rules of
 * docs/confidentiality.md (onward path (d)), not from src/policy:
 *  - who is told: exactly the organisations that may read each object
 *    and own an approved asset it touches; a TLP:RED object for isp only
 *    tells isp, not bank; an object in a collection bank cannot reach
 *    tells bank nothing; a pending claim and an organisation outside every
 *    community get nothing on any channel;
 *  - each channel once: the TAXII notification collection (only the
 *    organisation's users; another organisation's collection is 404), the
 *    webhook (signature recomputed here with libsodium, timestamp, one
 *    POST per notification, distinct delivery ids), the digest mails
 *    (headers, recipients, every notification listed once);
 *  - a receiver that fails gets the notification later with growing
 *    gaps; across a hub restart nothing is lost or sent twice;
 *  - acknowledgements (HTTP and CLI) in `renkei notify status`; audit
 *    records of each delivery with the ids it revealed;
 *  - a bad configuration file is refused with file:line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto_hub.h"

#define T_CERT_A "tok-cert-analyst-0123456789abcdef0123456789"
#define T_BANK_ADM "tok-bank-admin-0123456789abcdef0123456789ab"
#define T_BANK_A "tok-bank-analyst-0123456789abcdef0123456789"
#define T_ISP_ADM "tok-isp-admin-0123456789abcdef0123456789abc"
#define T_SHOP_ADM "tok-shop-admin-0123456789abcdef0123456789ab"
#define T_FAR_ADM "tok-far-admin-0123456789abcdef0123456789abcd"
#define T_BANK_S "tok-bank-sensor-0123456789abcdef0123456789a"

#define BANK_SECRET "bank-webhook-secret-0123456789"
#define FAR_SECRET "far-webhook-secret-0123456789ab"

static const char DIRECTORY[] =
	"{\"organizations\": ["
	" {\"id\": \"cert\", \"name\": \"CERT\", \"sectors\": [\"government-national\"]},"
	" {\"id\": \"bank\", \"name\": \"Bank\", \"sectors\": [\"financial-services\"]},"
	" {\"id\": \"isp\", \"name\": \"ISP\", \"sectors\": [\"communications\"]},"
	" {\"id\": \"shop\", \"name\": \"Shop\", \"sectors\": []},"
	" {\"id\": \"far\", \"name\": \"Outsider\", \"sectors\": []}],"
	" \"users\": ["
	" {\"name\": \"cert-a\", \"organization\": \"cert\", \"role\": \"analyst\", \"token\": \"" T_CERT_A "\"},"
	" {\"name\": \"bank-adm\", \"organization\": \"bank\", \"role\": \"admin\", \"token\": \"" T_BANK_ADM "\"},"
	" {\"name\": \"bank-a\", \"organization\": \"bank\", \"role\": \"analyst\", \"token\": \"" T_BANK_A "\"},"
	" {\"name\": \"bank-s\", \"organization\": \"bank\", \"role\": \"sensor\", \"token\": \"" T_BANK_S "\"},"
	" {\"name\": \"isp-adm\", \"organization\": \"isp\", \"role\": \"admin\", \"token\": \"" T_ISP_ADM "\"},"
	" {\"name\": \"shop-adm\", \"organization\": \"shop\", \"role\": \"admin\", \"token\": \"" T_SHOP_ADM "\"},"
	" {\"name\": \"far-adm\", \"organization\": \"far\", \"role\": \"admin\", \"token\": \"" T_FAR_ADM "\"}],"
	" \"communities\": ["
	" {\"id\": \"nat\", \"title\": \"Nation\", \"tier\": \"nation\","
	"  \"members\": [\"cert\", \"bank\", \"isp\", \"shop\"]},"
	" {\"id\": \"gov\", \"title\": \"Government\", \"tier\": \"government\","
	"  \"members\": [\"cert\"]}],"
	" \"collections\": ["
	" {\"id\": \"" NATC "\", \"community\": \"nat\", \"title\": \"National\","
	"  \"default_marking\": \"TLP:GREEN\", \"can_read\": [\"admin\", \"analyst\", \"reader\"],"
	"  \"can_write\": [\"analyst\"]},"
	" {\"id\": \"" GOVC "\", \"community\": \"gov\", \"title\": \"Government\","
	"  \"default_marking\": \"TLP:AMBER\", \"can_read\": [\"analyst\", \"reader\"],"
	"  \"can_write\": [\"analyst\"]}]}";

/* identity--UUIDv5(directory namespace, "isp"), computed at setup */
static char isp_identity[80];

static proto_hub hub;
static char own_tmp[128];

/* ---------------------------------------------------------------- clock */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------------- servers */

static int listen_on(unsigned *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
	socklen_t len = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0)
		fail_msg("listen on 127.0.0.1:%u: %s", *port, strerror(errno));
	getsockname(fd, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return fd;
}

/* Reads until `until` appears (or the peer closes, or 5 s pass); returns
 * the bytes read (NUL-terminated in buf). */
static size_t read_until(int fd, char *buf, size_t cap, size_t have, const char *until)
{
	double end = now_s() + 5;
	buf[have] = '\0';
	while (have + 1 < cap && !strstr(buf, until) && now_s() < end) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 200) <= 0)
			continue;
		ssize_t n = read(fd, buf + have, cap - have - 1);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
	}
	return have;
}

typedef struct hook_req {
	char path[64];
	char timestamp[32];
	char signature[128];
	char delivery[32];
	char *body;
	size_t len;
	int answered;
	double at;
} hook_req;

typedef struct hook_server {
	int fd;
	unsigned port;
	pthread_t th;
	atomic_bool stop;
	int answer; /* status to give, under lock */
	pthread_mutex_t lock;
	hook_req req[64];
	size_t n;
} hook_server;

static hook_server hook;

static void header_value(const char *head, const char *name, char *out, size_t n)
{
	out[0] = '\0';
	proto_header_in(head, name, out, n);
}

static void *hook_main(void *arg)
{
	hook_server *h = arg;
	while (!atomic_load(&h->stop)) {
		struct pollfd p = {h->fd, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		int c = accept(h->fd, NULL, NULL);
		if (c < 0)
			continue;
		char *buf = malloc(1 << 20);
		size_t have = read_until(c, buf, 1 << 20, 0, "\r\n\r\n");
		char *eoh = strstr(buf, "\r\n\r\n");
		if (eoh) {
			char cl[32];
			*eoh = '\0';
			header_value(buf, "Content-Length", cl, sizeof cl);
			size_t want = (size_t)atol(cl), off = (size_t)(eoh + 4 - buf);
			*eoh = '\r';
			while (have < off + want) {
				size_t before = have;
				have = read_until(c, buf, 1 << 20, have, "\x01never");
				if (have == before)
					break;
			}
			pthread_mutex_lock(&h->lock);
			if (h->n < RK_ARRAY_LEN(h->req)) {
				hook_req *r = &h->req[h->n++];
				memset(r, 0, sizeof *r);
				sscanf(buf, "POST %63s", r->path);
				*eoh = '\0';
				header_value(buf, "X-Renkei-Timestamp", r->timestamp, sizeof r->timestamp);
				header_value(buf, "X-Renkei-Signature", r->signature, sizeof r->signature);
				header_value(buf, "X-Renkei-Delivery", r->delivery, sizeof r->delivery);
				r->len = have - off;
				r->body = malloc(r->len + 1);
				memcpy(r->body, buf + off, r->len);
				r->body[r->len] = '\0';
				r->answered = h->answer;
				r->at = now_s();
			}
			int status = h->answer;
			pthread_mutex_unlock(&h->lock);
			char resp[128];
			int rl = snprintf(resp, sizeof resp,
					  "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
					  status, status == 200 ? "OK" : "Service Unavailable");
			(void)!write(c, resp, (size_t)rl);
		}
		free(buf);
		close(c);
	}
	return NULL;
}

static void hook_start(int answer)
{
	atomic_store(&hook.stop, false);
	hook.answer = answer; /* before the thread starts */
	hook.fd = listen_on(&hook.port);
	assert_int_equal(pthread_create(&hook.th, NULL, hook_main, &hook), 0);
}

static void hook_stop(void)
{
	atomic_store(&hook.stop, true);
	pthread_join(hook.th, NULL);
	close(hook.fd);
}

typedef struct smtp_mail {
	char from[128];
	char rcpt[4][128];
	size_t n_rcpt;
	char *data;
} smtp_mail;

typedef struct smtp_sink {
	int fd;
	unsigned port;
	pthread_t th;
	atomic_bool stop;
	pthread_mutex_t lock;
	smtp_mail mail[32];
	size_t n;
} smtp_sink;

static smtp_sink smtp;

static void say(int c, const char *s)
{
	(void)!write(c, s, strlen(s));
}

static void smtp_session(smtp_sink *s, int c)
{
	char *buf = malloc(1 << 20);
	size_t have = 0;
	smtp_mail m;
	memset(&m, 0, sizeof m);
	say(c, "220 sink ESMTP\r\n");
	for (;;) {
		have = read_until(c, buf, 1 << 20, have, "\r\n");
		char *eol = strstr(buf, "\r\n");
		if (!eol)
			break;
		*eol = '\0';
		char line[600];
		snprintf(line, sizeof line, "%s", buf);
		memmove(buf, eol + 2, have - (size_t)(eol + 2 - buf) + 1);
		have -= (size_t)(eol + 2 - buf) + 0 * 0;
		have = strlen(buf);
		if (!strncasecmp(line, "EHLO", 4) || !strncasecmp(line, "HELO", 4)) {
			say(c, "250 sink\r\n");
		} else if (!strncasecmp(line, "MAIL FROM:", 10)) {
			snprintf(m.from, sizeof m.from, "%.100s", line + 10);
			say(c, "250 ok\r\n");
		} else if (!strncasecmp(line, "RCPT TO:", 8)) {
			if (m.n_rcpt < 4)
				snprintf(m.rcpt[m.n_rcpt++], sizeof m.rcpt[0], "%.100s", line + 8);
			say(c, "250 ok\r\n");
		} else if (!strncasecmp(line, "DATA", 4)) {
			say(c, "354 go ahead\r\n");
			have = read_until(c, buf, 1 << 20, have, "\r\n.\r\n");
			char *end = strstr(buf, "\r\n.\r\n");
			if (!end)
				break;
			*end = '\0';
			m.data = strdup(buf);
			memmove(buf, end + 5, have - (size_t)(end + 5 - buf) + 1);
			have = strlen(buf);
			pthread_mutex_lock(&s->lock);
			if (s->n < RK_ARRAY_LEN(s->mail))
				s->mail[s->n++] = m;
			else
				free(m.data);
			pthread_mutex_unlock(&s->lock);
			memset(&m, 0, sizeof m);
			say(c, "250 queued\r\n");
		} else if (!strncasecmp(line, "QUIT", 4)) {
			say(c, "221 bye\r\n");
			break;
		} else if (!strncasecmp(line, "RSET", 4) || !strncasecmp(line, "NOOP", 4)) {
			say(c, "250 ok\r\n");
		} else {
			say(c, "502 not here\r\n");
		}
	}
	free(buf);
}

static void *smtp_main(void *arg)
{
	smtp_sink *s = arg;
	while (!atomic_load(&s->stop)) {
		struct pollfd p = {s->fd, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		smtp_session(s, c);
		close(c);
	}
	return NULL;
}

/* ---------------------------------------------------------------- helpers */

static const char *const JSON_CT[] = {"Content-Type: application/json", NULL};

static void post_obj(const char *path, const char *obj)
{
	char env[8192];
	proto_resp r;
	snprintf(env, sizeof env, "{\"objects\":[%s]}", obj);
	assert_true(proto_post(&hub, path, T_CERT_A, env, &r));
	if (r.status != 202 || json_integer_value(json_object_get(r.json, "success_count")) != 1)
		fail_msg("POST %s: %ld %s", path, r.status, r.body);
	proto_resp_free(&r);
}

#define IND(n) "indicator--a0000000-0000-4000-8000-00000000000" #n

static void post_indicator(const char *path, const char *id, const char *pattern,
			   const char *extra)
{
	char obj[4096];
	snprintf(obj, sizeof obj,
		 "{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"%s\","
		 "\"created\":\"2026-03-01T00:00:00.000Z\",\"modified\":\"2026-03-01T00:00:00.000Z\","
		 "\"name\":\"case %s\",\"description\":\"secret analyst notes\","
		 "\"pattern\":\"%s\",\"pattern_type\":\"stix\","
		 "\"valid_from\":\"2026-03-01T00:00:00Z\"%s}",
		 id, id, pattern, extra ? extra : "");
	post_obj(path, obj);
}

/* The notifications of an organisation, over its own token. */
static json_t *notifications_of(const char *token)
{
	proto_resp r;
	assert_true(proto_http(&hub, "GET", "/renkei/notify/", token, NULL, NULL, 0, &r));
	if (r.status != 200)
		fail_msg("GET /renkei/notify/: %ld %s", r.status, r.body);
	json_t *n = json_incref(json_object_get(r.json, "notifications"));
	proto_resp_free(&r);
	return n;
}

/* Waits until the organisation has `want` notifications (10 s at most). */
static json_t *wait_notifications(const char *token, size_t want)
{
	json_t *n = NULL;
	for (int i = 0; i < 100; i++) {
		json_decref(n);
		n = notifications_of(token);
		if (json_array_size(n) >= want)
			break;
		sleep_s(0.1);
	}
	return n;
}

static bool listed(json_t *list, const char *object_id, const char *asset)
{
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *o = json_array_get(list, i);
		if (strcmp(json_string_value(json_object_get(o, "object_id")), object_id) == 0 &&
		    (!asset || strcmp(json_string_value(json_object_get(o, "asset")), asset) == 0))
			return true;
	}
	return false;
}

static void run(const char *args, int want_rc, proto_run_result *res)
{
	proto_hub_run(&hub, args, res);
	if (res->rc != want_rc)
		fail_msg("%s: exit %d (want %d): %s %s", args, res->rc, want_rc, res->out.data,
			 res->err);
}

static void claim(const char *token, const char *values)
{
	proto_resp r;
	char body[512];
	snprintf(body, sizeof body, "{\"values\": %s}", values);
	assert_true(proto_http(&hub, "POST", "/renkei/assets/", token, JSON_CT, body, strlen(body),
			       &r));
	if (r.status != 200)
		fail_msg("claim %s: %ld %s", values, r.status, r.body);
	proto_resp_free(&r);
}

static void approve_all_but(const char *org_left_pending)
{
	char args[600];
	proto_run_result res;
	snprintf(args, sizeof args, "assets list --data %s --json", hub.dir);
	run(args, 0, &res);
	json_t *list = json_loads(res.out.data, 0, NULL);
	proto_run_free(&res);
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *c = json_array_get(list, i);
		if (strcmp(json_string_value(json_object_get(c, "org")), org_left_pending) == 0)
			continue;
		snprintf(args, sizeof args, "assets approve --data %s --by hub-op %lld", hub.dir,
			 (long long)json_integer_value(json_object_get(c, "id")));
		run(args, 0, &res);
		proto_run_free(&res);
	}
	json_decref(list);
}

static char *hex_hmac(const char *secret, const char *ts, const char *body, size_t len)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	char *out = malloc(3 + 2 * sizeof mac + 1);
	memcpy(out, "v1=", 3);
	sodium_bin2hex(out + 3, 2 * sizeof mac + 1, mac, sizeof mac);
	return out;
}

/* Successful webhook requests to `path`, checked for signature and
 * timestamp; returns how many, and fails on a repeated delivery id. */
static size_t hook_delivered(const char *path, const char *secret, json_t *bodies)
{
	size_t n = 0;
	pthread_mutex_lock(&hook.lock);
	for (size_t i = 0; i < hook.n; i++) {
		hook_req *r = &hook.req[i];
		if (strcmp(r->path, path) != 0 || r->answered != 200)
			continue;
		char *want = hex_hmac(secret, r->timestamp, r->body, r->len);
		if (strcmp(want, r->signature) != 0)
			fail_msg("webhook %s: signature %s, expected %s", r->delivery, r->signature,
				 want);
		free(want);
		long long ts = atoll(r->timestamp);
		if (llabs(ts - (long long)time(NULL)) > 300)
			fail_msg("webhook timestamp %lld is not now", ts);
		for (size_t k = 0; k < i; k++)
			if (hook.req[k].answered == 200 && strcmp(hook.req[k].delivery, r->delivery) == 0 &&
			    strcmp(hook.req[k].path, path) == 0)
				fail_msg("delivery %s delivered twice", r->delivery);
		if (bodies)
			json_array_append_new(bodies, json_loadb(r->body, r->len, 0, NULL));
		n++;
	}
	pthread_mutex_unlock(&hook.lock);
	return n;
}

static size_t wait_hook(const char *path, const char *secret, size_t want, double seconds)
{
	size_t n = 0;
	for (double end = now_s() + seconds; now_s() < end; sleep_s(0.1))
		if ((n = hook_delivered(path, secret, NULL)) >= want)
			break;
	return n;
}

/* Every request the webhook receiver saw for a path, successful or not. */
static size_t hook_count(const char *path)
{
	size_t n = 0;
	pthread_mutex_lock(&hook.lock);
	for (size_t i = 0; i < hook.n; i++)
		n += strcmp(hook.req[i].path, path) == 0;
	pthread_mutex_unlock(&hook.lock);
	return n;
}

/* The digest mails to an address, and the notification ids they list. */
static size_t mails_to(const char *rcpt, char *ids, size_t idlen)
{
	size_t n = 0;
	ids[0] = '\0';
	pthread_mutex_lock(&smtp.lock);
	for (size_t i = 0; i < smtp.n; i++) {
		bool to = false;
		for (size_t k = 0; k < smtp.mail[i].n_rcpt; k++)
			to |= strstr(smtp.mail[i].rcpt[k], rcpt) != NULL;
		if (!to)
			continue;
		n++;
		char v[256];
		if (proto_header_in(smtp.mail[i].data, "X-Renkei-Notifications", v, sizeof v)) {
			size_t l = strlen(ids);
			snprintf(ids + l, idlen - l, "%s%s", l ? "," : "", v);
		}
	}
	pthread_mutex_unlock(&smtp.lock);
	return n;
}

/* ---------------------------------------------------------------- tests */

static json_t *bank_first; /* bank's notifications after the first round */

static void test_who_is_told(void **state)
{
	(void)state;
	char pattern[256], ext[512];
	/* I1: in bank's /24 and isp's /22 */
	post_indicator(NAT_OBJECTS, IND(1), "[ipv4-addr:value = '198.51.100.7']", NULL);
	/* I2: below bank.example */
	post_indicator(NAT_OBJECTS, IND(2), "[domain-name:value = 'www.bank.example']", NULL);
	/* I3: shop's block, claim pending: nobody */
	post_indicator(NAT_OBJECTS, IND(3), "[ipv4-addr:value = '203.0.113.5']", NULL);
	/* I4: far's approved block, but far reads nothing here */
	post_indicator(NAT_OBJECTS, IND(4), "[ipv4-addr:value = '192.0.2.1']", NULL);
	/* I5: TLP:RED for isp alone, in bank's /24 too: isp only */
	snprintf(ext, sizeof ext,
		 ",\"object_marking_refs\":[\"" TLP_RED "\"],\"extensions\":{\"" EXT "\":"
		 "{\"extension_type\":\"property-extension\",\"recipients\":[\"%s\"]}}",
		 isp_identity);
	post_indicator(NAT_OBJECTS, IND(5), "[ipv4-addr:value = '198.51.100.9']", ext);
	/* I6: in gov's collection, which bank and isp cannot reach */
	post_indicator(GOV_OBJECTS, IND(6), "[ipv4-addr:value = '198.51.100.10']", NULL);
	/* I8: a compound pattern, the URL's host in bank.example */
	snprintf(pattern, sizeof pattern,
		 "[url:value = 'https://login.bank.example/reset?u=1'] AND "
		 "[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4']");
	post_indicator(NAT_OBJECTS, IND(8), pattern, NULL);
	/* S1: a sighting of I1 */
	post_obj(NAT_OBJECTS,
		 "{\"type\":\"sighting\",\"spec_version\":\"2.1\","
		 "\"id\":\"sighting--b0000000-0000-4000-8000-000000000001\","
		 "\"created\":\"2026-03-02T00:00:00.000Z\",\"modified\":\"2026-03-02T00:00:00.000Z\","
		 "\"sighting_of_ref\":\"" IND(1) "\",\"count\":3}");
	/* AS64500 as an SCO: isp */
	post_obj(NAT_OBJECTS, "{\"type\":\"autonomous-system\",\"spec_version\":\"2.1\","
			      "\"id\":\"autonomous-system--c0000000-0000-4000-8000-000000000001\","
			      "\"number\":64500}");

	json_t *bank = wait_notifications(T_BANK_A, 4);
	json_t *isp = wait_notifications(T_ISP_ADM, 4);
	sleep_s(1.5); /* nothing more may come */
	json_decref(bank);
	json_decref(isp);
	bank = notifications_of(T_BANK_A);
	isp = notifications_of(T_ISP_ADM);
	json_t *shop = notifications_of(T_SHOP_ADM);
	json_t *far = notifications_of(T_FAR_ADM);

	assert_int_equal(json_array_size(bank), 4);
	assert_true(listed(bank, IND(1), "198.51.100.0/24"));
	assert_true(listed(bank, IND(2), "bank.example"));
	assert_true(listed(bank, IND(8), "bank.example"));
	assert_true(listed(bank, "sighting--b0000000-0000-4000-8000-000000000001", "198.51.100.0/24"));
	assert_int_equal(json_array_size(isp), 4);
	assert_true(listed(isp, IND(1), "198.51.100.0/22"));
	assert_true(listed(isp, IND(5), "198.51.100.0/22"));
	assert_true(listed(isp, "sighting--b0000000-0000-4000-8000-000000000001", "198.51.100.0/22"));
	assert_true(listed(isp, "autonomous-system--c0000000-0000-4000-8000-000000000001", "AS64500"));
	assert_int_equal(json_array_size(shop), 0);
	assert_int_equal(json_array_size(far), 0);
	bank_first = json_incref(bank);

	/* The TAXII collection: the organisation's own, with the views and
	 * notes, nothing it may not read. */
	proto_resp r;
	assert_true(proto_get(&hub, "/notifications/collections/", T_BANK_A, &r));
	assert_int_equal(r.status, 200);
	const char *coll = json_string_value(
		json_object_get(json_array_get(json_object_get(r.json, "collections"), 0), "id"));
	char path[200], isp_path[200];
	snprintf(path, sizeof path, "/notifications/collections/%s/objects/", coll);
	proto_resp_free(&r);
	assert_true(proto_get(&hub, "/notifications/collections/", T_ISP_ADM, &r));
	snprintf(isp_path, sizeof isp_path, "/notifications/collections/%s/objects/",
		 json_string_value(json_object_get(
			 json_array_get(json_object_get(r.json, "collections"), 0), "id")));
	proto_resp_free(&r);
	assert_string_not_equal(path, isp_path);

	assert_true(proto_get(&hub, path, T_BANK_A, &r));
	assert_int_equal(r.status, 200);
	json_t *objs = json_object_get(r.json, "objects");
	size_t notes = 0, views = 0;
	for (size_t i = 0; i < json_array_size(objs); i++) {
		const char *type = json_string_value(json_object_get(json_array_get(objs, i), "type"));
		notes += strcmp(type, "note") == 0;
		views += strcmp(type, "note") != 0;
	}
	assert_int_equal(notes, 4);
	assert_int_equal(views, 4); /* I1, I2, I8, S1 (I1 once) */
	assert_non_null(strstr(r.body, "198.51.100.7"));
	assert_non_null(strstr(r.body, "touches your asset 198.51.100.0/24"));
	assert_null(strstr(r.body, IND(5)));
	assert_null(strstr(r.body, "198.51.100.9"));
	assert_null(strstr(r.body, IND(6)));
	assert_null(strstr(r.body, IND(3)));
	assert_null(strstr(r.body, "secret analyst notes")); /* descriptions never go */
	assert_null(strstr(r.body, "isp"));
	proto_resp_free(&r);
	/* paging: one notification per page */
	assert_true(proto_get(&hub, "/notifications/collections/x/objects/?limit=1", T_BANK_A, &r));
	assert_int_equal(r.status, 404);
	proto_resp_free(&r);
	char page[260];
	snprintf(page, sizeof page, "%s?limit=1", path);
	assert_true(proto_get(&hub, page, T_BANK_A, &r));
	assert_int_equal(r.status, 200);
	assert_true(json_is_true(json_object_get(r.json, "more")));
	assert_int_equal(json_array_size(json_object_get(r.json, "objects")), 2);
	proto_resp_free(&r);
	/* another organisation's collection: as if it did not exist */
	assert_true(proto_get(&hub, isp_path, T_BANK_A, &r));
	assert_int_equal(r.status, 404);
	proto_resp_free(&r);
	assert_true(proto_get(&hub, path, NULL, &r));
	assert_int_equal(r.status, 401);
	proto_resp_free(&r);
	assert_true(proto_get(&hub, path, T_BANK_S, &r));
	assert_int_equal(r.status, 403);
	proto_resp_free(&r);

	/* The webhook: bank's 4, signed; far's nothing. */
	assert_int_equal(wait_hook("/bank", BANK_SECRET, 4, 10), 4);
	json_t *bodies = json_array();
	assert_int_equal(hook_delivered("/bank", BANK_SECRET, bodies), 4);
	for (size_t i = 0; i < json_array_size(bodies); i++) {
		json_t *b = json_array_get(bodies, i);
		assert_string_equal(json_string_value(json_object_get(b, "type")), "renkei-notification");
		assert_string_equal(json_string_value(json_object_get(b, "organization")), "bank");
		json_t *n = json_object_get(b, "notification");
		const char *oid = json_string_value(json_object_get(n, "object_id"));
		assert_true(listed(bank, oid, json_string_value(json_object_get(n, "asset"))));
		char *text = json_dumps(b, 0);
		assert_null(strstr(text, IND(5)));
		assert_null(strstr(text, "secret analyst notes"));
		free(text);
	}
	json_decref(bodies);
	assert_int_equal(hook_count("/far"), 0);

	/* The digests: bank's two addresses, isp's one, every notification
	 * listed once; none for far. */
	char ids[512];
	size_t mails = 0;
	for (double end = now_s() + 10; now_s() < end; sleep_s(0.2)) {
		mails_to("soc@bank.example", ids, sizeof ids);
		int commas = 0;
		for (char *p = ids; *p; p++)
			commas += *p == ',';
		if (ids[0] && commas == 3)
			break;
	}
	mails = mails_to("soc@bank.example", ids, sizeof ids);
	assert_true(mails >= 1 && mails <= 3); /* one per 2 s window at most */
	for (size_t i = 0; i < json_array_size(bank); i++) {
		char want[32];
		long long id = (long long)json_integer_value(
			json_object_get(json_array_get(bank, i), "id"));
		snprintf(want, sizeof want, "%lld", id);
		size_t hits = 0;
		for (char *p = ids; (p = strstr(p, want)); p++)
			if ((p == ids || p[-1] == ',') && (p[strlen(want)] == ',' || !p[strlen(want)]))
				hits++;
		if (hits != 1)
			fail_msg("notification %s listed %zu times in bank's digests (%s)", want, hits, ids);
	}
	pthread_mutex_lock(&smtp.lock);
	const smtp_mail *m = NULL;
	for (size_t i = 0; i < smtp.n && !m; i++)
		if (strstr(smtp.mail[i].data, "for bank"))
			m = &smtp.mail[i];
	assert_non_null(m);
	assert_int_equal(m->n_rcpt, 2);
	assert_non_null(strstr(m->rcpt[0], "soc@bank.example"));
	assert_non_null(strstr(m->rcpt[1], "cert@bank.example"));
	assert_non_null(strstr(m->from, "renkei@hub.example"));
	char v[256];
	assert_true(proto_header_in(m->data, "From", v, sizeof v));
	assert_string_equal(v, "renkei@hub.example");
	assert_true(proto_header_in(m->data, "To", v, sizeof v));
	assert_string_equal(v, "soc@bank.example, cert@bank.example");
	assert_true(proto_header_in(m->data, "Subject", v, sizeof v));
	assert_non_null(strstr(v, "notifications for bank"));
	assert_non_null(strstr(m->data, "in your asset 198.51.100.0/24"));
	assert_non_null(strstr(m->data, "/renkei/notify/"));
	assert_null(strstr(m->data, IND(5)));
	pthread_mutex_unlock(&smtp.lock);
	mails_to("noc@isp.example", ids, sizeof ids);
	int commas = 0;
	for (char *p = ids; *p; p++)
		commas += *p == ',';
	for (double end = now_s() + 10; commas < 3 && now_s() < end; sleep_s(0.2)) {
		mails_to("noc@isp.example", ids, sizeof ids);
		commas = 0;
		for (char *p = ids; *p; p++)
			commas += *p == ',';
	}
	assert_int_equal(commas, 3);
	assert_int_equal(mails_to("soc@far.example", ids, sizeof ids), 0);

	/* Once: the same version again notifies nobody again. */
	post_indicator(NAT_OBJECTS, IND(1), "[ipv4-addr:value = '198.51.100.7']", NULL);
	sleep_s(1.5);
	json_t *again = notifications_of(T_BANK_A);
	assert_int_equal(json_array_size(again), 4);
	json_decref(again);

	json_decref(bank);
	json_decref(isp);
	json_decref(shop);
	json_decref(far);
}

static void test_down_receiver_and_restart(void **state)
{
	(void)state;
	proto_run_result res;
	char args[600];

	/* The receiver fails: retried with growing gaps. */
	pthread_mutex_lock(&hook.lock);
	hook.answer = 503;
	pthread_mutex_unlock(&hook.lock);
	size_t before = hook_count("/bank");
	post_indicator(NAT_OBJECTS, IND(7), "[ipv4-addr:value = '198.51.100.77']", NULL);
	for (double end = now_s() + 15; hook_count("/bank") < before + 3 && now_s() < end;)
		sleep_s(0.1);
	assert_true(hook_count("/bank") >= before + 3);
	pthread_mutex_lock(&hook.lock);
	double t1 = hook.req[before].at, t2 = hook.req[before + 1].at, t3 = hook.req[before + 2].at;
	pthread_mutex_unlock(&hook.lock);
	/* retry_initial 1s, doubled, retry_max 2s; the engine looks twice a second */
	if (!(t2 - t1 >= 0.9 && t3 - t2 >= 1.9))
		fail_msg("retries after %.2f s and %.2f s", t2 - t1, t3 - t2);

	snprintf(args, sizeof args, "notify status --data %s --org bank", hub.dir);
	run(args, 0, &res);
	const char *row = strstr(res.out.data, "bank\twebhook\t5\t1\t4\t0\t");
	if (!row)
		fail_msg("status: %s", res.out.data);
	assert_non_null(strstr(row, "HTTP 503"));
	proto_run_free(&res);

	/* Receiver gone, hub restarted: nothing lost, nothing twice. */
	hook_stop();
	assert_int_equal(proto_hub_stop(&hub, SIGTERM), 0);
	assert_true(proto_hub_restart(&hub));
	sleep_s(1.0);
	hook_start(200);
	assert_int_equal(wait_hook("/bank", BANK_SECRET, 5, 15), 5);
	sleep_s(1.5);
	json_t *bodies = json_array();
	assert_int_equal(hook_delivered("/bank", BANK_SECRET, bodies), 5);
	size_t i7 = 0;
	for (size_t i = 0; i < json_array_size(bodies); i++)
		i7 += strcmp(json_string_value(json_object_get(
				     json_object_get(json_array_get(bodies, i), "notification"),
				     "object_id")),
			     IND(7)) == 0;
	assert_int_equal(i7, 1);
	json_decref(bodies);

	snprintf(args, sizeof args, "notify status --data %s --org bank --json", hub.dir);
	run(args, 0, &res);
	json_t *st = json_loads(res.out.data, 0, NULL);
	proto_run_free(&res);
	bool seen = false;
	for (size_t i = 0; i < json_array_size(st); i++) {
		json_t *o = json_array_get(st, i);
		if (strcmp(json_string_value(json_object_get(o, "channel")), "webhook") != 0)
			continue;
		seen = true;
		assert_int_equal(json_integer_value(json_object_get(o, "total")), 5);
		assert_int_equal(json_integer_value(json_object_get(o, "delivered")), 5);
		assert_int_equal(json_integer_value(json_object_get(o, "queued")), 0);
		assert_int_equal(json_integer_value(json_object_get(o, "failed")), 0);
	}
	assert_true(seen);
	json_decref(st);
}

static void test_acknowledgement(void **state)
{
	(void)state;
	proto_run_result res;
	proto_resp r;
	char args[600], path[80];
	long long a = (long long)json_integer_value(json_object_get(json_array_get(bank_first, 0), "id"));
	long long b = (long long)json_integer_value(json_object_get(json_array_get(bank_first, 1), "id"));

	snprintf(path, sizeof path, "/renkei/notify/%lld/ack/", a);
	assert_true(proto_http(&hub, "POST", path, T_ISP_ADM, JSON_CT, "{}", 2, &r));
	assert_int_equal(r.status, 404); /* not isp's */
	proto_resp_free(&r);
	assert_true(proto_http(&hub, "POST", path, T_BANK_A, JSON_CT, "{}", 2, &r));
	assert_int_equal(r.status, 200);
	proto_resp_free(&r);
	snprintf(args, sizeof args, "notify ack --data %s --org bank --by soc-lead %lld", hub.dir, b);
	run(args, 0, &res);
	proto_run_free(&res);
	snprintf(args, sizeof args, "notify ack --data %s --org isp %lld", hub.dir, b);
	run(args, 1, &res);
	assert_non_null(strstr(res.err, "no notification"));
	proto_run_free(&res);

	snprintf(args, sizeof args, "notify status --data %s --org bank", hub.dir);
	run(args, 0, &res);
	assert_non_null(strstr(res.out.data, "bank\tcollection\t5\t0\t5\t0\t2\t"));
	assert_non_null(strstr(res.out.data, "bank\twebhook\t5\t0\t5\t0\t2\t"));
	assert_non_null(strstr(res.out.data, "bank\temail\t5\t"));
	assert_null(strstr(res.out.data, "isp"));
	proto_run_free(&res);
	snprintf(args, sizeof args, "notify list --data %s --org bank", hub.dir);
	run(args, 0, &res);
	assert_non_null(strstr(res.out.data, "\tsoc-lead\n"));
	assert_non_null(strstr(res.out.data, "\tbank-a\n"));
	proto_run_free(&res);

	/* the audit trail names what each delivery revealed, to whom */
	snprintf(args, sizeof args, "audit show --data %s --org bank --object %s", hub.dir, IND(1));
	run(args, 0, &res);
	assert_non_null(strstr(res.out.data, "/notify/webhook"));
	assert_non_null(strstr(res.out.data, "/notify/email"));
	proto_run_free(&res);
	snprintf(args, sizeof args, "audit show --data %s --org bank --object %s", hub.dir, IND(5));
	run(args, 0, &res);
	assert_null(strstr(res.out.data, "NOTIFY"));
	proto_run_free(&res);
	snprintf(args, sizeof args, "audit show --data %s --org far", hub.dir);
	run(args, 0, &res);
	assert_null(strstr(res.out.data, "NOTIFY"));
	proto_run_free(&res);

	/* over HTTP too, for the organisation itself */
	assert_true(proto_http(&hub, "GET", "/renkei/notify/", T_BANK_A, NULL, NULL, 0, &r));
	assert_non_null(strstr(r.body, "\"acknowledged\":true"));
	proto_resp_free(&r);
}

static void test_bad_configuration(void **state)
{
	(void)state;
	proto_run_result res;
	char args[800];
	proto_write_file(hub.dir, "bad.ini", "w",
			 "[delivery]\nretry_initial = 1s\n[org bank]\nwebhook_url = ftp://x\n");
	snprintf(args, sizeof args, "notify check --config %s/bad.ini", hub.dir);
	run(args, 1, &res);
	if (!strstr(res.err, "bad.ini:4: [org bank] webhook_url: expected an http:// or https:// URL"))
		fail_msg("%s", res.err);
	proto_run_free(&res);
	proto_write_file(hub.dir, "bad2.ini", "w", "[org nobody]\nemail = a@b.example\n");
	snprintf(args, sizeof args, "notify check --config %s/bad2.ini", hub.dir);
	run(args, 1, &res);
	assert_non_null(strstr(res.err, "bad2.ini:1: [org nobody] email needs [smtp] url and from"));
	proto_run_free(&res);
	proto_write_file(hub.dir, "bad3.ini", "w",
			 "[smtp]\nurl = smtp://127.0.0.1:25\nfrom = a@hub.example\n\n[org nobody]\n"
			 "email = a@b.example\n");
	snprintf(args, sizeof args, "notify check --config %s/bad3.ini --data %s", hub.dir, hub.dir);
	run(args, 1, &res);
	assert_non_null(strstr(res.err, "bad3.ini:5: [org nobody]: no such organisation"));
	proto_run_free(&res);
	snprintf(args, sizeof args, "hub -n --data %s --notify-config %s/bad.ini", hub.dir, hub.dir);
	proto_hub_run(&hub, args, &res);
	assert_int_not_equal(res.rc, 0);
	proto_run_free(&res);
	snprintf(args, sizeof args, "notify check --config %s/notify.ini --data %s", hub.dir, hub.dir);
	run(args, 0, &res);
	assert_non_null(strstr(res.out.data, "3 organisations configured"));
	proto_run_free(&res);
}

/* ---------------------------------------------------------------- setup */

static int setup(void **state)
{
	(void)state;
	char ini[2048];
	proto_watchdog(240);
	if (sodium_init() < 0)
		return -1;
	pthread_mutex_init(&hook.lock, NULL);
	pthread_mutex_init(&smtp.lock, NULL);
	hook_start(200);
	smtp.fd = listen_on(&smtp.port);
	if (pthread_create(&smtp.th, NULL, smtp_main, &smtp) != 0)
		return -1;
	proto_identity("isp", isp_identity, sizeof isp_identity);
	/* The hub's data directory inside a directory of this test's own,
	 * so that nothing but this test touches what it runs on. */
	if (!proto_tmpdir(own_tmp, sizeof own_tmp, "rk-notify-test") || setenv("TMPDIR", own_tmp, 1))
		return -1;
	if (!proto_hub_prepare(&hub))
		return -1;
	proto_write_file(hub.dir, "bank.secret", "w", BANK_SECRET "\n");
	proto_write_file(hub.dir, "far.secret", "w", FAR_SECRET);
	snprintf(ini, sizeof ini,
		 "; notifications of the test hub\n"
		 "[smtp]\nurl = smtp://127.0.0.1:%u\nfrom = renkei@hub.example\n\n"
		 "[delivery]\nretry_initial = 1s\nretry_max = 2s\nmax_attempts = 50\ntimeout = 5s\n"
		 "hub_url = https://hub.example\n\n"
		 "[org bank]\nwebhook_url = http://127.0.0.1:%u/bank\n"
		 "webhook_secret_file = %s/bank.secret\n"
		 "email = soc@bank.example, cert@bank.example\ndigest_interval = 2s\n\n"
		 "[org isp]\nemail = noc@isp.example\ndigest_interval = 2s\n\n"
		 "[org far]\nwebhook_url = http://127.0.0.1:%u/far\n"
		 "webhook_secret_file = %s/far.secret\nemail = soc@far.example\n",
		 smtp.port, hook.port, hub.dir, hook.port, hub.dir);
	proto_write_file(hub.dir, "notify.ini", "w", ini);
	snprintf(hub.extra[hub.n_extra++], 256, "--notify-config");
	snprintf(hub.extra[hub.n_extra++], 300, "%.200s/notify.ini", hub.dir);
	if (!proto_hub_apply_text(&hub, DIRECTORY) || !proto_hub_restart(&hub))
		return -1;

	claim(T_BANK_ADM, "[\"198.51.100.0/24\", \"bank.example\"]");
	claim(T_ISP_ADM, "[\"198.51.100.0/22\", \"AS64500\"]");
	claim(T_SHOP_ADM, "[\"203.0.113.0/24\"]");
	claim(T_FAR_ADM, "[\"192.0.2.0/24\"]");
	approve_all_but("shop");
	sleep_s(1.5); /* the engine reloads the approved assets */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	proto_hub_cleanup(&hub);
	if (own_tmp[0] && !getenv("PROTO_KEEP"))
		proto_rmtree(own_tmp);
	hook_stop();
	atomic_store(&smtp.stop, true);
	pthread_join(smtp.th, NULL);
	close(smtp.fd);
	for (size_t i = 0; i < hook.n; i++)
		free(hook.req[i].body);
	for (size_t i = 0; i < smtp.n; i++)
		free(smtp.mail[i].data);
	json_decref(bank_first);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_who_is_told),
		cmocka_unit_test(test_down_receiver_and_restart),
		cmocka_unit_test(test_acknowledgement),
		cmocka_unit_test(test_bad_configuration),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
