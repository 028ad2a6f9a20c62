/*
 * test_store_concurrency.c: one store shared by threads. A reader paging
 * by seq while a writer adds versions never skips nor repeats one; several
 * writers at once (group commit) lose nothing and keep date_added strictly
 * increasing per collection. Also prints the put throughput it saw with
 * 100-object batches, durable commits.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "store_test_util.h"

#define COLL "11111111-1111-4111-8111-111111111111"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct writer_arg {
	store *st;
	unsigned tag;
	unsigned batches;
	unsigned per_batch;
	rk_time *added; /* batches * per_batch */
	int failed;
} writer_arg;

static void *writer(void *p)
{
	writer_arg *w = p;
	json_t **o = calloc(w->per_batch, sizeof *o);
	store_put_item *it = calloc(w->per_batch, sizeof *it);
	store_put_result *r = calloc(w->per_batch, sizeof *r);
	rk_errctx ctx;

	for (unsigned b = 0; b < w->batches && !w->failed; b++) {
		for (unsigned i = 0; i < w->per_batch; i++) {
			char id[128];
			tu_id(id, sizeof id, "indicator", w->tag, b * w->per_batch + i);
			o[i] = tu_obj("indicator", id, "2024-01-01T00:00:00.000Z",
				      "concurrency test object");
			tu_item(o[i], &it[i]);
		}
		rk_errctx_clear(&ctx);
		if (store_put(w->st, COLL, "org-a", it, w->per_batch, r, &ctx) != RK_OK)
			w->failed = 1;
		for (unsigned i = 0; i < w->per_batch; i++) {
			if (r[i].outcome != STORE_PUT_ADDED)
				w->failed = 2;
			if (w->added)
				w->added[b * w->per_batch + i] = r[i].date_added;
			json_decref(o[i]);
		}
	}
	free(o);
	free(it);
	free(r);
	return NULL;
}

typedef struct page_seen {
	uint64_t *seq;
	char (*id)[128];
	size_t n, cap;
} page_seen;

static rk_err remember(void *arg, const store_row *row)
{
	page_seen *s = arg;
	assert_true(s->n < s->cap);
	s->seq[s->n] = row->seq;
	snprintf(s->id[s->n], sizeof s->id[0], "%s", row->id);
	s->n++;
	return RK_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_paging_while_inserting(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	store *st = NULL;
	rk_errctx ctx;
	enum { BATCHES = 60, PER = 50, TOTAL = BATCHES * PER };

	rk_errctx_clear(&ctx);
	assert_int_equal(store_open(dir, &st, &ctx), RK_OK);
	writer_arg w = {.st = st, .tag = 1, .batches = BATCHES, .per_batch = PER};
	pthread_t th;
	page_seen s = {.seq = calloc(TOTAL, sizeof *s.seq),
		       .id = calloc(TOTAL, sizeof *s.id), .cap = TOTAL};
	assert_int_equal(pthread_create(&th, NULL, writer, &w), 0);

	/* Page through with a small limit while the writer runs, then once
	 * more after it finished. */
	uint64_t after = 0;
	int pages = 0;
	bool writer_done = false;
	for (;;) {
		store_page page;
		store_query q = {.collection_id = COLL, .limit = 37,
				 .after_seq = after};
		rk_errctx_clear(&ctx);
		assert_int_equal(store_query_rows(st, &q, NULL, NULL, remember, &s,
						  &page, &ctx), RK_OK);
		pages++;
		if (page.count)
			after = page.last_seq;
		if (!page.more && writer_done)
			break;
		if (!page.more && !writer_done) {
			/* Caught up: see whether the writer is done; if so, one
			 * final round picks up its last commit. */
			if (s.n == TOTAL) {
				pthread_join(th, NULL);
				writer_done = true;
			} else {
				usleep(200);
			}
		}
	}
	if (!writer_done)
		pthread_join(th, NULL);
	assert_int_equal(w.failed, 0);
	assert_true(pages > 10);
	assert_int_equal(s.n, TOTAL);
	for (size_t i = 1; i < s.n; i++)
		assert_true(s.seq[i] > s.seq[i - 1]);
	qsort(s.id, s.n, sizeof s.id[0], cmp_str);
	for (size_t i = 1; i < s.n; i++)
		assert_true(strcmp(s.id[i], s.id[i - 1]) != 0);
	free(s.seq);
	free(s.id);
	store_close(st);
	tu_rmdir(dir);
}

static int cmp_time(const void *a, const void *b)
{
	rk_time x = *(const rk_time *)a, y = *(const rk_time *)b;
	return x < y ? -1 : x > y;
}

static void test_concurrent_writers(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	store *st = NULL;
	rk_errctx ctx;
	enum { THREADS = 4, BATCHES = 40, PER = 100 };
	writer_arg w[THREADS];
	pthread_t th[THREADS];
	rk_time *all = calloc(THREADS * BATCHES * PER, sizeof *all);

	rk_errctx_clear(&ctx);
	assert_int_equal(store_open(dir, &st, &ctx), RK_OK);
	double t0 = now_s();
	for (unsigned i = 0; i < THREADS; i++) {
		w[i] = (writer_arg){.st = st, .tag = 10 + i, .batches = BATCHES,
				    .per_batch = PER,
				    .added = all + i * BATCHES * PER};
		assert_int_equal(pthread_create(&th[i], NULL, writer, &w[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].failed, 0);
	}
	double dt = now_s() - t0;
	print_message("store: %d threads put %d objects in batches of %d, "
		      "durably, at %.0f objects/s\n", THREADS,
		      THREADS * BATCHES * PER, PER, THREADS * BATCHES * PER / dt);

	/* Per thread, strictly increasing; across all, all distinct. */
	for (unsigned i = 0; i < THREADS; i++)
		for (unsigned k = 1; k < BATCHES * PER; k++)
			assert_true(w[i].added[k] > w[i].added[k - 1]);
	qsort(all, THREADS * BATCHES * PER, sizeof *all, cmp_time);
	for (size_t k = 1; k < THREADS * BATCHES * PER; k++)
		assert_true(all[k] > all[k - 1]);
	uint64_t n = 0;
	assert_int_equal(store_count(st, COLL, &n, &ctx), RK_OK);
	assert_int_equal(n, THREADS * BATCHES * PER);
	assert_int_equal(store_check_integrity(st, &ctx), RK_OK);
	store_close(st);
	free(all);
	tu_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paging_while_inserting),
		cmocka_unit_test(test_concurrent_writers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
