/*
 * match_test_util.h: what the matcher's test programs share: the build
 * time they judge validity against, a monotonic clock for the figures they
 * print, and the harness that runs one lookup loop on four threads at once
 * against one matcher. Include after <cmocka.h>; everything is static
 * inline so each program takes only what it uses.
 */
#ifndef RK_MATCH_TEST_UTIL_H
#define RK_MATCH_TEST_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#define NOW ((rk_time)1700000000 * 1000000)

static inline double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs fn on four threads at once, each given its own size_t count of
 * wrong answers, and asserts that every count is zero. */
static inline void run_four_threads(void *(*fn)(void *))
{
	pthread_t t[4];
	size_t bad[4] = {0};
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, fn, &bad[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(bad[i], 0);
	}
}

#endif
