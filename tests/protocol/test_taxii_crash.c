/*
 * test_taxii_crash.c: durability of POST under SIGKILL.
 *
 * A writer thread posts envelopes of 20 indicators in a loop and records
 * the ids the hub answered with success (202 and listed in successes).
 * The hub is killed with SIGKILL in the middle of that, restarted on the
 * same data directory, and every recorded id must be readable; finally the
 * store passes its integrity check. An answer of success is a promise that
 * the object is on disk (store_put commits durably before the handler
 * answers), and this test holds the hub to it.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common.h"
#include "proto_hub.h"
#include "store.h"

static proto_hub hub;
static json_t *acked; /* id -> true, written only by the writer thread */
static atomic_bool stop_writer;
static atomic_uint posts;

static void *writer(void *arg)
{
	(void)arg;
	for (unsigned k = 0; !atomic_load(&stop_writer) && k < 100000; k++) {
		char *env = proto_envelope(1 + k * 20, 20);
		proto_resp r;
		bool got = proto_post(&hub, PROTO_GOV_OBJECTS, "npa-analyst", env, &r);
		free(env);
		if (!got)
			break; /* the hub is gone */
		if (r.status == 202) {
			size_t i;
			json_t *s;
			json_array_foreach(json_object_get(r.json, "successes"), i, s)
				json_object_set_new(acked, json_string_value(json_object_get(s, "id")),
						    json_true());
		}
		proto_resp_free(&r);
		atomic_fetch_add(&posts, 1);
	}
	return NULL;
}

static void test_sigkill_keeps_acknowledged_objects(void **state)
{
	(void)state;
	pthread_t t;
	proto_resp r;
	char path[512];

	acked = json_object();
	assert_true(proto_hub_start(&hub));
	assert_int_equal(pthread_create(&t, NULL, writer, NULL), 0);
	/* let it write for a while, then kill it mid-stream */
	for (int i = 0; i < 300 && atomic_load(&posts) < 30; i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	assert_int_equal(proto_hub_stop(&hub, SIGKILL), 128 + SIGKILL);
	atomic_store(&stop_writer, true);
	pthread_join(t, NULL);
	size_t n = json_object_size(acked);
	fprintf(stderr, "crash test: %u posts, %zu objects acknowledged before SIGKILL\n",
		atomic_load(&posts), n);
	assert_true(n > 0);

	assert_true(proto_hub_restart(&hub));
	const char *id;
	json_t *v;
	size_t missing = 0;
	json_object_foreach(acked, id, v) {
		snprintf(path, sizeof path, PROTO_GOV_OBJECTS "%s/", id);
		assert_true(proto_get(&hub, path, "npa-analyst", &r));
		if (r.status != 200) {
			fprintf(stderr, "lost after SIGKILL: %s (%ld)\n", id, r.status);
			missing++;
		}
		proto_resp_free(&r);
	}
	assert_int_equal(missing, 0);
	assert_int_equal(proto_hub_stop(&hub, SIGTERM), 0);

	store *st = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(store_open(hub.dir, &st, &ctx), RK_OK);
	assert_int_equal(store_check_integrity(st, &ctx), RK_OK);
	uint64_t count = 0;
	assert_int_equal(store_count(st, PROTO_GOV_COLL, &count, &ctx), RK_OK);
	assert_true(count >= n);
	store_close(st);
	json_decref(acked);
	proto_hub_cleanup(&hub);
}

int main(void)
{
	proto_watchdog(100);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigkill_keeps_acknowledged_objects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
