/*
 * test_uplink.c: the sensor's uplink against a live hub on loopback.
 *
 *  - feed: indicators pulled in pages of 10 with the checkpoint kept on
 *    disk; a reopened feed replays what it had and pulls only what is new;
 *    new versions and revocations arrive as the hub serves them;
 *  - a hub that is down, one that answers garbage and one that never
 *    answers (timeout): each an error with a message saying so, counted,
 *    and the checkpoint unmoved;
 *  - sightings: posted with the sensor role, the right counts on the hub;
 *    the hub stopped midway (the spool keeps them) and restarted on the
 *    same store: every sighting is stored exactly once, also when a batch
 *    is sent again after the hub already took it.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "client.h"
#include "common.h"
#include "directory.h"
#include "proto_hub.h"
#include "uplink.h"

#define SENSOR_TOKEN "sen-0123456789abcdef0123456789abcdef0123456789abcdef"

static proto_hub hub;
static char state_dir[64];
static char power_identity[RK_MAX_STIX_ID + 1];

static int group_setup(void **state)
{
	(void)state;
	proto_watchdog(110);
	if (!proto_tmpdir(state_dir, sizeof state_dir, "rk-uplink"))
		return -1;
	proto_identity("power-east", power_identity, sizeof power_identity);
	hub.keep_port = false;
	if (!proto_hub_start(&hub))
		return -1;
	hub.keep_port = true;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	proto_hub_cleanup(&hub);
	return proto_rmtree(state_dir);
}

static char *hub_url(unsigned port)
{
	char *u = malloc(64);
	snprintf(u, 64, "http://127.0.0.1:%u", port);
	return u;
}

static client_http *sensor_client(unsigned port, long timeout)
{
	client_remote r;
	client_http *h = NULL;
	char *url = hub_url(port);
	rk_errctx ctx;

	client_remote_init(&r);
	r.url = url;
	r.token = SENSOR_TOKEN;
	r.root = "nation";
	r.timeout_seconds = timeout;
	rk_errctx_clear(&ctx);
	assert_int_equal(client_http_new(&r, &h, &ctx), RK_OK);
	free(url);
	return h;
}

static void post_as(const char *user, const char *body)
{
	proto_resp r;
	assert_true(proto_post(&hub, PROTO_NATION_OBJECTS, user, body, &r));
	assert_int_equal(r.status, 202);
	assert_int_equal(json_integer_value(json_object_get(r.json, "failure_count")), 0);
	proto_resp_free(&r);
}

/* What the feed handed over: id -> the object (last one wins). */
typedef struct taken {
	json_t *by_id;
	size_t calls;
} taken;

static rk_err take(void *arg, json_t *obj)
{
	taken *t = arg;
	const char *id = json_string_value(json_object_get(obj, "id"));
	t->calls++;
	if (id)
		json_object_set(t->by_id, id, obj);
	return RK_OK;
}

static uplink_feed_opts feed_opts(const char *url)
{
	uplink_feed_opts o = { .url = url, .collection = PROTO_NATION_COLL,
			       .state_dir = state_dir, .page_limit = 10 };
	return o;
}

static void test_feed_pages_and_checkpoint(void **state)
{
	char *url = hub_url(hub.port);
	client_http *h = sensor_client(hub.port, 10);
	uplink_feed *f = NULL;
	uplink_feed_stats st;
	taken t = { json_object(), 0 };
	rk_errctx ctx;
	size_t applied;
	char *env;

	(void)state;
	rk_errctx_clear(&ctx);
	env = proto_envelope(100, 25);
	post_as("bank-analyst", env);
	free(env);
	uplink_feed_opts o = feed_opts(url);
	assert_int_equal(uplink_feed_open(&o, take, &t, &f, &ctx), RK_OK);
	if (uplink_feed_poll(f, h, take, &t, &applied, &ctx) != RK_OK)
		fail_msg("poll: %s: %s", ctx.path, ctx.msg);
	assert_int_equal(applied, 25);
	assert_int_equal(json_object_size(t.by_id), 25);
	uplink_feed_stats_get(f, &st);
	assert_int_equal(st.pages, 3);
	assert_true(st.checkpoint[0] != '\0');
	char first_checkpoint[64];
	snprintf(first_checkpoint, sizeof first_checkpoint, "%s", st.checkpoint);
	/* Nothing new: a poll applies nothing. */
	assert_int_equal(uplink_feed_poll(f, h, take, &t, &applied, &ctx), RK_OK);
	assert_int_equal(applied, 0);
	uplink_feed_free(f);

	/* While the sensor is stopped: 5 new indicators, a new version of
	 * one, and a revocation of another. */
	env = proto_envelope(200, 5);
	post_as("bank-analyst", env);
	free(env);
	char *v2 = proto_indicator(100, "2025-01-01T00:00:00.000Z");
	json_t *rev = json_loads(v2, 0, NULL);
	free(v2);
	json_t *r2 = json_deep_copy(rev);
	json_object_set_new(r2, "id", json_string("indicator--00000000-0000-4000-8000-000000000101"));
	json_object_set_new(r2, "revoked", json_true());
	json_object_set_new(r2, "modified", json_string("2025-01-01T00:00:00.000Z"));
	json_t *envj = json_pack("{s:[o,o]}", "objects", rev, r2);
	char *text = json_dumps(envj, JSON_COMPACT);
	post_as("bank-analyst", text);
	free(text);
	json_decref(envj);

	/* A damaged line in the object log (reported with its line number
	 * and skipped) and a torn last line (a crash while it was appended:
	 * cut). */
	char logpath[128], cmd[300];
	snprintf(logpath, sizeof logpath, "%s/feed-%s.jsonl", state_dir, PROTO_NATION_COLL);
	snprintf(cmd, sizeof cmd, "printf 'not json\\n{\"type\":\"indic' >> %s", logpath);
	assert_int_equal(system(cmd), 0);

	/* Restarted: the log gives back the 25, the hub only what is new. */
	json_t *before = t.by_id;
	t.by_id = json_object();
	t.calls = 0;
	assert_int_equal(uplink_feed_open(&o, take, &t, &f, &ctx), RK_OK);
	assert_int_equal(t.calls, 25);
	uplink_feed_stats_get(f, &st);
	assert_int_equal(st.replayed, 25);
	assert_int_equal(st.corrupt, 1);
	assert_true(json_equal(t.by_id, before));
	json_decref(before);
	assert_int_equal(uplink_feed_poll(f, h, take, &t, &applied, &ctx), RK_OK);
	assert_int_equal(applied, 7);
	assert_int_equal(json_object_size(t.by_id), 30);
	json_t *v = json_object_get(t.by_id, "indicator--00000000-0000-4000-8000-000000000100");
	assert_string_equal(json_string_value(json_object_get(v, "modified")),
			    "2025-01-01T00:00:00.000Z");
	v = json_object_get(t.by_id, "indicator--00000000-0000-4000-8000-000000000101");
	assert_true(json_is_true(json_object_get(v, "revoked")));
	uplink_feed_stats_get(f, &st);
	assert_true(strcmp(st.checkpoint, first_checkpoint) > 0);
	uplink_feed_free(f);

	/* The log now holds 32 good lines for 30 ids and the damaged one:
	 * opened with little room for superseded lines, it is rewritten with
	 * the last line of each id and replays to the same set. */
	o.compact_after = 1;
	json_t *full = t.by_id;
	t.by_id = json_object();
	t.calls = 0;
	assert_int_equal(uplink_feed_open(&o, take, &t, &f, &ctx), RK_OK);
	assert_int_equal(t.calls, 32);
	uplink_feed_stats_get(f, &st);
	assert_int_equal(st.compacted, 3); /* 2 superseded, 1 damaged */
	uplink_feed_free(f);
	json_decref(t.by_id);
	t.by_id = json_object();
	t.calls = 0;
	assert_int_equal(uplink_feed_open(&o, take, &t, &f, &ctx), RK_OK);
	assert_int_equal(t.calls, 30);
	assert_true(json_equal(t.by_id, full));
	uplink_feed_stats_get(f, &st);
	assert_int_equal(st.compacted, 0);
	assert_int_equal(uplink_feed_poll(f, h, take, &t, &applied, &ctx), RK_OK);
	assert_int_equal(applied, 0);
	uplink_feed_free(f);
	json_decref(full);
	client_http_free(h);
	json_decref(t.by_id);
	free(url);
}

/* Polls a feed on `port` and expects an error whose text has `want`. */
static void expect_poll_error(unsigned port, long timeout, const char *want)
{
	char *url = hub_url(port);
	char dir[128];
	client_http *h = sensor_client(port, timeout);
	uplink_feed *f = NULL;
	uplink_feed_stats st;
	taken t = { json_object(), 0 };
	rk_errctx ctx;
	char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];

	snprintf(dir, sizeof dir, "%s/bad-%u", state_dir, port);
	uplink_feed_opts o = feed_opts(url);
	o.state_dir = dir;
	rk_errctx_clear(&ctx);
	assert_int_equal(uplink_feed_open(&o, take, &t, &f, &ctx), RK_OK);
	assert_int_not_equal(uplink_feed_poll(f, h, take, &t, NULL, &ctx), RK_OK);
	rk_errctx_format(&ctx, msg, sizeof msg);
	if (!strstr(msg, want))
		fail_msg("error '%s' does not say '%s'", msg, want);
	uplink_feed_stats_get(f, &st);
	assert_int_equal(st.errors, 1);
	assert_string_equal(st.checkpoint, "");
	assert_non_null(strstr(st.last_error, want));
	assert_int_equal(t.calls, 0);
	uplink_feed_free(f);
	client_http_free(h);
	json_decref(t.by_id);
	free(url);
}

static void test_feed_hub_down_garbage_slow(void **state)
{
	proto_bad_server b;
	(void)state;

	/* Down: a port nobody listens on (a server bound and closed). */
	proto_bad_server_start(&b, "");
	unsigned dead = b.port;
	proto_bad_server_stop(&b);
	expect_poll_error(dead, 5, "onnect");

	proto_bad_server_start(&b, "HTTP/1.1 200 OK\r\nContent-Type: application/taxii+json;version=2.1\r\n"
		      "Content-Length: 9\r\nConnection: close\r\n\r\nnot json!");
	expect_poll_error(b.port, 5, "answer is not JSON");
	proto_bad_server_stop(&b);

	proto_bad_server_start(&b, "HTTP/1.1 200 OK\r\nContent-Type: application/taxii+json;version=2.1\r\n"
		      "Content-Length: 28\r\nConnection: close\r\n\r\n{\"objects\":{\"a\":1},\"more\":1}");
	expect_poll_error(b.port, 5, "`objects` is not an array");
	proto_bad_server_stop(&b);

	proto_bad_server_start(&b, NULL);
	expect_poll_error(b.port, 1, "timed out");
	proto_bad_server_stop(&b);
}

/* Sightings of the hub's collection, by id: id -> count. */
static json_t *hub_sightings(void)
{
	proto_resp r;
	json_t *out = json_object();
	assert_true(proto_get(&hub, PROTO_NATION_OBJECTS "?match[type]=sighting&limit=1000",
			      "power-analyst", &r));
	assert_int_equal(r.status, 200);
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(r.json, "objects"), i, o) {
		const char *id = json_string_value(json_object_get(o, "id"));
		assert_null(json_object_get(out, id)); /* each id once */
		json_object_set(out, id, json_object_get(o, "count"));
	}
	assert_false(json_is_true(json_object_get(r.json, "more")));
	proto_resp_free(&r);
	return out;
}

static rk_time fake_now;
static rk_time fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static json_int_t total_count(const json_t *by_id)
{
	json_int_t n = 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)by_id, k, v)
		n += json_integer_value(v);
	return n;
}

#define IND(n) "indicator--00000000-0000-4000-8000-000000000" #n

static void test_sightings_exactly_once_across_hub_restart(void **state)
{
	char spool_dir[128];
	uplink_spool *sp = NULL;
	uplink_sight *s = NULL;
	client_http *h = sensor_client(hub.port, 5);
	uplink_hub link = { h, PROTO_NATION_COLL, 5 };
	uplink_sight_opts so = { .identity = power_identity, .interval_seconds = 60,
				 .clock = fake_clock };
	rk_errctx ctx;
	size_t closed, done;
	const char *green[] = { "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb" };

	(void)state;
	fake_now = rk_time_now() - rk_time_now() % (60 * 1000000LL);
	snprintf(spool_dir, sizeof spool_dir, "%s/spool", state_dir);
	rk_errctx_clear(&ctx);
	assert_int_equal(uplink_spool_open(spool_dir, 0, &sp, &ctx), RK_OK);
	assert_int_equal(uplink_sight_new(&so, sp, &s, &ctx), RK_OK);

	/* Interval 1: 3 hits of 100, 1 of 101. Delivered while the hub runs. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(uplink_sight_record(s, IND(100), green, 1, fake_now + i), RK_OK);
	assert_int_equal(uplink_sight_record(s, IND(101), green, 1, fake_now), RK_OK);
	fake_now += 60 * 1000000LL;
	assert_int_equal(uplink_sight_close(s, false, &closed, &ctx), RK_OK);
	assert_int_equal(closed, 2);
	assert_int_equal(uplink_spool_deliver(sp, uplink_hub_send, &link, 100, &done, &ctx), RK_OK);
	assert_int_equal(done, 2);
	json_t *got = hub_sightings();
	assert_int_equal(json_object_size(got), 2);
	assert_int_equal(total_count(got), 4);
	json_decref(got);

	/* The hub stops. Interval 2 (5 hits of 102) and interval 3 (2 of 100)
	 * wait in the spool. */
	proto_hub_stop(&hub, SIGKILL);
	for (int i = 0; i < 5; i++)
		assert_int_equal(uplink_sight_record(s, IND(102), NULL, 0, fake_now + i), RK_OK);
	fake_now += 60 * 1000000LL;
	assert_int_equal(uplink_sight_close(s, false, &closed, &ctx), RK_OK);
	assert_int_equal(uplink_spool_deliver(sp, uplink_hub_send, &link, 100, &done, &ctx),
			 RK_EUNAVAIL);
	assert_int_equal(done, 0);
	rk_errctx_clear(&ctx);
	for (int i = 0; i < 2; i++)
		assert_int_equal(uplink_sight_record(s, IND(100), green, 1, fake_now + i), RK_OK);
	fake_now += 60 * 1000000LL;
	assert_int_equal(uplink_sight_close(s, false, &closed, &ctx), RK_OK);
	uplink_spool_stats spst;
	uplink_spool_stats_get(sp, &spst);
	assert_int_equal(spst.pending, 2);
	/* The sensor stops too; its spool stays. */
	uplink_sight_free(s);
	uplink_spool_free(sp);

	/* Keep a copy of the spool to replay the case "the hub took the
	 * batch, the sensor crashed before it noted so". */
	char cmd[512];
	snprintf(cmd, sizeof cmd, "cp %s/spool.jsonl %s/spool.copy", spool_dir, spool_dir);
	assert_int_equal(system(cmd), 0);

	/* The hub comes back on the same store and port. */
	assert_true(proto_hub_restart(&hub));
	rk_errctx_clear(&ctx);
	assert_int_equal(uplink_spool_open(spool_dir, 0, &sp, &ctx), RK_OK);
	assert_int_equal(uplink_spool_deliver(sp, uplink_hub_send, &link, 1, &done, &ctx), RK_OK);
	assert_int_equal(done, 2);
	uplink_spool_free(sp);
	got = hub_sightings();
	assert_int_equal(json_object_size(got), 4);
	assert_int_equal(total_count(got), 4 + 5 + 2);
	json_decref(got);

	/* Sent again: the hub answers "already present", nothing is added. */
	snprintf(cmd, sizeof cmd, "cp %s/spool.copy %s/spool.jsonl && echo '0 0' > %s/spool.pos",
		 spool_dir, spool_dir, spool_dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(uplink_spool_open(spool_dir, 0, &sp, &ctx), RK_OK);
	assert_int_equal(uplink_spool_deliver(sp, uplink_hub_send, &link, 100, &done, &ctx), RK_OK);
	assert_int_equal(done, 2);
	uplink_spool_stats_get(sp, &spst);
	assert_int_equal(spst.delivered, 2);
	assert_int_equal(spst.rejected, 0);
	uplink_spool_free(sp);
	got = hub_sightings();
	assert_int_equal(json_object_size(got), 4);
	assert_int_equal(total_count(got), 11);
	json_decref(got);
	client_http_free(h);
}

/* The hub refuses a sighting marked less strictly than its indicator
 * (docs/confidentiality.md, "Sightings"); one marked like it is stored. */
static void test_sighting_markings_follow_the_indicator(void **state)
{
	const char *amber = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";
	const char *green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
	char *ind = proto_indicator(300, NULL);
	json_t *o = json_loads(ind, 0, NULL);
	free(ind);
	json_object_set_new(o, "object_marking_refs", json_pack("[s]", amber));
	json_t *env = json_pack("{s:[o]}", "objects", o);
	char *text = json_dumps(env, JSON_COMPACT);
	(void)state;
	post_as("bank-analyst", text);
	free(text);
	json_decref(env);

	static const struct {
		const char *marking; /* NULL: none, the collection's TLP:GREEN */
		const char *uuid;
		bool stored;
	} cases[] = {
		{ NULL, "00000000-0000-4000-8000-00000000a001", false },
		{ "green", "00000000-0000-4000-8000-00000000a002", false },
		{ "amber", "00000000-0000-4000-8000-00000000a003", true },
	};
	for (size_t i = 0; i < 3; i++) {
		json_t *sg = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:[s]}", "type", "sighting",
				       "spec_version", "2.1", "id", "", "created",
				       "2026-01-01T00:00:00.000Z", "modified", "2026-01-01T00:00:00.000Z",
				       "sighting_of_ref", IND(300), "count", 2, "where_sighted_refs",
				       power_identity);
		char id[80];
		snprintf(id, sizeof id, "sighting--%s", cases[i].uuid);
		json_object_set_new(sg, "id", json_string(id));
		if (cases[i].marking)
			json_object_set_new(sg, "object_marking_refs",
					    json_pack("[s]", strcmp(cases[i].marking, "amber") ? green
												: amber));
		json_t *e = json_pack("{s:[o]}", "objects", sg);
		char *body = json_dumps(e, JSON_COMPACT);
		proto_resp r;
		assert_true(proto_post(&hub, PROTO_NATION_OBJECTS, "power-sensor", body, &r));
		assert_int_equal(r.status, 202);
		if (cases[i].stored) {
			assert_int_equal(json_integer_value(json_object_get(r.json, "success_count")), 1);
		} else {
			assert_int_equal(json_integer_value(json_object_get(r.json, "failure_count")), 1);
			const char *msg = json_string_value(json_object_get(
				json_array_get(json_object_get(r.json, "failures"), 0), "message"));
			assert_non_null(msg);
			assert_non_null(strstr(msg, "TLP:GREEN sighting of a TLP:AMBER object"));
		}
		proto_resp_free(&r);
		free(body);
		json_decref(e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feed_pages_and_checkpoint),
		cmocka_unit_test(test_feed_hub_down_garbage_slow),
		cmocka_unit_test(test_sightings_exactly_once_across_hub_restart),
		cmocka_unit_test(test_sighting_markings_follow_the_indicator),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
