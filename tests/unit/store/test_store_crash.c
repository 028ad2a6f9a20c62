/*
 * test_store_crash.c: durability. A child process puts batches in a loop
 * and, after each store_put returned RK_OK, reports the batch number over a
 * pipe; the parent SIGKILLs it at a random moment, reopens the store, runs
 * the integrity check and requires every reported object to be there.
 * Repeated on the same store, so recovery after a kill is itself killed.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "store_test_util.h"

#define COLL "11111111-1111-4111-8111-111111111111"
#define BATCH 50
#define ROUNDS 4

static void batch_id(char *out, size_t len, uint32_t round, uint32_t b,
		     unsigned i)
{
	tu_id(out, len, "indicator", round * 100000u + b, i);
}

/* The child: never returns. */
static void child(const char *dir, uint32_t round, int fd)
{
	store *st = NULL;
	rk_errctx ctx;
	json_t *o[BATCH];
	store_put_item it[BATCH];
	store_put_result r[BATCH];

	rk_errctx_clear(&ctx);
	if (store_open(dir, &st, &ctx) != RK_OK)
		_exit(2);
	for (uint32_t b = 0; b < 100000; b++) {
		for (unsigned i = 0; i < BATCH; i++) {
			char id[128];
			batch_id(id, sizeof id, round, b, i);
			o[i] = tu_obj("indicator", id, "2024-01-01T00:00:00.000Z",
				      "crash test object with some text in it");
			tu_item(o[i], &it[i]);
		}
		if (store_put(st, COLL, "org-a", it, BATCH, r, &ctx) != RK_OK)
			_exit(3);
		for (unsigned i = 0; i < BATCH; i++) {
			if (r[i].outcome != STORE_PUT_ADDED)
				_exit(4);
			json_decref(o[i]);
		}
		if (write(fd, &b, sizeof b) != (ssize_t)sizeof b)
			_exit(5);
	}
	_exit(0);
}

typedef struct counter {
	size_t n;
} counter;

static rk_err count_row(void *arg, const store_row *row)
{
	(void)row;
	((counter *)arg)->n++;
	return RK_OK;
}

static void test_sigkill_loses_nothing(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	uint64_t total_reported = 0;

	assert_non_null(dir);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (uint32_t round = 0; round < ROUNDS; round++) {
		int p[2];
		assert_int_equal(pipe(p), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			child(dir, round, p[1]);
		}
		close(p[1]);
		/* Kill 100 to 600 ms in: mid-transaction, mid-commit or
		 * mid-checkpoint, wherever it happens to be. */
		usleep(100000 + (useconds_t)(rand() % 500000));
		assert_int_equal(kill(pid, SIGKILL), 0);
		int status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status)); /* it was still running */

		uint32_t *done = malloc(100000 * sizeof *done);
		size_t ndone = 0;
		ssize_t got;
		uint32_t b;
		while ((got = read(p[0], &b, sizeof b)) == (ssize_t)sizeof b)
			done[ndone++] = b;
		close(p[0]);
		assert_true(ndone > 0);
		total_reported += ndone * BATCH;

		store *st = NULL;
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		assert_int_equal(store_open(dir, &st, &ctx), RK_OK);
		if (store_check_integrity(st, &ctx) != RK_OK)
			fail_msg("integrity: %s", ctx.msg);
		for (size_t k = 0; k < ndone; k++) {
			char ids[BATCH][128];
			const char *idp[BATCH];
			for (unsigned i = 0; i < BATCH; i++) {
				batch_id(ids[i], sizeof ids[i], round, done[k], i);
				idp[i] = ids[i];
			}
			counter c = {0};
			store_page page;
			store_query q = {.collection_id = COLL, .ids = idp,
					 .n_ids = BATCH, .limit = 1000};
			assert_int_equal(store_query_rows(st, &q, NULL, NULL, count_row,
							  &c, &page, &ctx), RK_OK);
			if (c.n != BATCH)
				fail_msg("round %u batch %u: %zu of %d objects",
					 round, done[k], c.n, BATCH);
		}
		uint64_t n = 0;
		assert_int_equal(store_count(st, COLL, &n, &ctx), RK_OK);
		/* At most the batch in flight may have landed unreported. */
		assert_true(n >= total_reported);
		assert_true(n <= total_reported + BATCH * (round + 1));
		total_reported = n;
		store_close(st);
		free(done);
	}
	tu_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigkill_loses_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
