/*
 * test_common_arena.c: the jansson arena (common_arena.c). Blocks are
 * 16-byte aligned in and out of a scope; a scope grows chunk by chunk and
 * blocks never overlap; large blocks bypass the chunks; blocks made on the
 * heap can be freed inside a scope; a second scope reuses the first one's
 * chunks and at most RK_ARENA_KEEP are kept; scopes do not nest (a second
 * begin is refused, with no change); each thread has its own arena; and
 * jansson itself, with the allocator installed, parses and serialises the
 * same in and out of a scope, its text being libc memory.
 *
 * Under sanitizers (RK_ARENA_ENABLED 0) the same cases run with every
 * block on the heap: the chunk counts are then asserted to stay zero, and
 * ASan/LeakSanitizer check that every block is freed exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <cmocka.h>

#include "common.h"

#define ALIGNED(p) (((uintptr_t)(p) & (RK_ARENA_ALIGN - 1)) == 0)

static void test_alignment(void **state)
{
	(void)state;
	rk_arena a;
	void *heap[64];

	rk_arena_init(&a);
	for (size_t n = 0; n < RK_ARRAY_LEN(heap); n++) {
		heap[n] = rk_json_malloc(n * 7 + 1);
		assert_non_null(heap[n]);
		assert_true(ALIGNED(heap[n]));
	}
	assert_int_equal(rk_arena_begin(&a), RK_OK);
	for (size_t n = 0; n < 300; n++) {
		char *p = rk_json_malloc(n);
		assert_non_null(p);
		assert_true(ALIGNED(p));
		memset(p, 0xab, n);
		rk_json_free(p);
	}
	rk_arena_end(&a);
	for (size_t n = 0; n < RK_ARRAY_LEN(heap); n++)
		rk_json_free(heap[n]);
	rk_json_free(NULL);
	rk_arena_cleanup(&a);
}

/* Fills three chunks' worth of blocks, each with its own byte, and checks
 * that none was overwritten by another. */
static void test_growth(void **state)
{
	(void)state;
	enum { SIZE = 200, N = 3 * RK_ARENA_CHUNK / SIZE };
	unsigned char **p = calloc(N, sizeof *p);
	rk_arena a;

	assert_non_null(p);
	rk_arena_init(&a);
	assert_int_equal(rk_arena_begin(&a), RK_OK);
	for (size_t i = 0; i < N; i++) {
		p[i] = rk_json_malloc(SIZE);
		assert_non_null(p[i]);
		assert_true(ALIGNED(p[i]));
		memset(p[i], (int)(i & 0xff), SIZE);
	}
	for (size_t i = 0; i < N; i++)
		for (size_t k = 0; k < SIZE; k++)
			if (p[i][k] != (unsigned char)(i & 0xff))
				fail_msg("block %zu byte %zu overwritten", i, k);
#if RK_ARENA_ENABLED
	assert_true(a.n_used >= 3);
	/* free of an arena block is a no-op: the space is not handed out
	 * again inside the scope */
	rk_json_free(p[N - 1]);
	unsigned char *q = rk_json_malloc(SIZE);
	assert_ptr_not_equal(q, p[N - 1]);
	size_t used = a.n_used;
#else
	assert_int_equal(a.n_used, 0);
	for (size_t i = 0; i < N; i++)
		rk_json_free(p[i]);
#endif
	rk_arena_end(&a);
	assert_int_equal(a.n_used, 0);
#if RK_ARENA_ENABLED
	assert_int_equal(a.n_spare, used < RK_ARENA_KEEP ? used : RK_ARENA_KEEP);
#else
	assert_int_equal(a.n_spare, 0);
#endif
	rk_arena_cleanup(&a);
	assert_int_equal(a.n_spare, 0);
	free(p);
}

static void test_large(void **state)
{
	(void)state;
	rk_arena a;

	rk_arena_init(&a);
	assert_int_equal(rk_arena_begin(&a), RK_OK);
	unsigned char *small = rk_json_malloc(32);
	size_t chunks = a.n_used;
	unsigned char *big = rk_json_malloc(3 * RK_ARENA_CHUNK);
	assert_non_null(small);
	assert_non_null(big);
	assert_true(ALIGNED(big));
	memset(big, 0x5a, 3 * RK_ARENA_CHUNK);
	assert_int_equal(big[3 * RK_ARENA_CHUNK - 1], 0x5a);
	/* on the heap, not in a chunk */
	assert_int_equal(a.n_used, chunks);
	rk_json_free(big);
	rk_json_free(small);
	/* a size that would overflow with the header is refused */
	assert_null(rk_json_malloc(SIZE_MAX - 4));
	rk_arena_end(&a);
	rk_arena_cleanup(&a);
}

/* Values made outside any scope (heap blocks) freed inside one. */
static void test_heap_free_in_scope(void **state)
{
	(void)state;
	rk_arena a;
	json_t *outside = json_pack("{s:s, s:[i, i, s]}", "a", "heap", "b", 1, 2, "x");
	void *raw = rk_json_malloc(100);

	assert_non_null(outside);
	assert_non_null(raw);
	rk_arena_init(&a);
	assert_int_equal(rk_arena_begin(&a), RK_OK);
	json_t *inside = json_pack("{s:s}", "made", "in the scope");
	assert_non_null(inside);
	json_decref(outside); /* frees heap blocks: LeakSanitizer would see it */
	rk_json_free(raw);
	json_decref(inside);
	rk_arena_end(&a);
	rk_arena_cleanup(&a);
}

/* A block that is only there to fill the arena: released by the scope's
 * end, or at once where every block is on the heap. */
static void filler(size_t n)
{
	void *p = rk_json_malloc(n);
	assert_non_null(p);
#if !RK_ARENA_ENABLED
	rk_json_free(p);
#endif
}

static void test_reuse(void **state)
{
	(void)state;
	rk_arena a;
	void *first[2], *second[2];

	rk_arena_init(&a);
	for (int round = 0; round < 2; round++) {
		void **keep = round ? second : first;
		assert_int_equal(rk_arena_begin(&a), RK_OK);
		keep[0] = rk_json_malloc(64);
		for (size_t i = 0; i < RK_ARENA_CHUNK / 64; i++)
			filler(48);
		keep[1] = rk_json_malloc(64);
#if RK_ARENA_ENABLED
		assert_int_equal(a.n_used, 2);
		assert_int_equal(a.n_spare, 0);
#else
		rk_json_free(keep[0]);
		rk_json_free(keep[1]);
#endif
		rk_arena_end(&a);
	}
#if RK_ARENA_ENABLED
	/* the second scope ran in the first one's chunks, from the start */
	assert_ptr_equal(first[0], second[0]);
	assert_int_equal(a.n_spare, 2);

	/* at most RK_ARENA_KEEP chunks survive a scope */
	assert_int_equal(rk_arena_begin(&a), RK_OK);
	for (size_t i = 0; i < (RK_ARENA_KEEP + 4) * (RK_ARENA_CHUNK / 1024); i++)
		filler(1000);
	assert_true(a.n_used > RK_ARENA_KEEP);
	rk_arena_end(&a);
	assert_int_equal(a.n_spare, RK_ARENA_KEEP);
#endif
	rk_arena_cleanup(&a);
}

static void test_no_nesting(void **state)
{
	(void)state;
	rk_arena a, b;

	rk_arena_init(&a);
	rk_arena_init(&b);
	assert_int_equal(rk_arena_begin(&a), RK_OK);
	assert_int_equal(rk_arena_begin(&b), RK_EINVAL);
	assert_int_equal(rk_arena_begin(&a), RK_EINVAL);
	assert_false(b.active);
	void *p = rk_json_malloc(10); /* still from a */
	assert_non_null(p);
	assert_int_equal(b.n_used, 0);
#if RK_ARENA_ENABLED
	assert_int_equal(a.n_used, 1);
#else
	rk_json_free(p);
#endif
	rk_arena_end(&a);
	assert_int_equal(rk_arena_begin(&b), RK_OK);
	rk_arena_end(&b);
	rk_arena_cleanup(&a);
	rk_arena_cleanup(&b);
}

static const char doc[] =
	"{\"type\":\"indicator\",\"id\":\"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\","
	"\"labels\":[\"c2\",\"caf\xc3\xa9\",\"q\\\"\\\\\\n\\u0001\"],\"confidence\":80,"
	"\"nested\":{\"a\":[1,{\"b\":null}],\"t\":true,\"f\":false}}";

/* Parses doc, serialises it and returns the text (libc memory). */
static char *round_trip(void)
{
	json_t *v = NULL;
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	assert_int_equal(rk_json_parse(doc, strlen(doc), 32, &v, &ctx), RK_OK);
	assert_int_equal(json_object_set_new(v, "added", json_string("late")), 0);
	char *text = rk_json_dump(v);
	json_decref(v);
	return text;
}

static void test_jansson(void **state)
{
	(void)state;
	rk_arena a;
	char *heap_text = round_trip();
	rk_buf b;

	assert_non_null(heap_text);
	rk_arena_init(&a);
	assert_int_equal(rk_arena_begin(&a), RK_OK);
	char *arena_text = round_trip();
	assert_non_null(arena_text);
	/* rk_json_dump_to keeps jansson's flags, and leaves b alone when it
	 * cannot serialise */
	rk_buf_init(&b);
	json_t *v = json_pack("{s:i, s:i}", "b", 2, "a", 1);
	assert_int_equal(rk_json_dump_to(&b, v, JSON_COMPACT | JSON_SORT_KEYS), RK_OK);
	assert_string_equal(b.data, "{\"a\":1,\"b\":2}");
	json_t *s = json_string("bare");
	assert_int_equal(rk_json_dump_to(&b, s, JSON_COMPACT), RK_EINVAL);
	assert_string_equal(b.data, "{\"a\":1,\"b\":2}");
	json_decref(s);
	json_decref(v);
	rk_arena_end(&a);

	size_t n = strlen(doc) - 1;
	assert_memory_equal(heap_text, doc, n);
	assert_string_equal(heap_text + n, ",\"added\":\"late\"}");
	assert_string_equal(arena_text, heap_text);
	free(heap_text); /* libc memory, whichever scope made it */
	free(arena_text);
	rk_buf_cleanup(&b);
	rk_arena_cleanup(&a);
}

static void *other_thread(void *arg)
{
	rk_arena **out = arg;
	rk_arena *a = rk_arena_thread();
	if (a && rk_arena_begin(a) == RK_OK) {
		json_t *v = json_pack("{s:[s,s]}", "k", "x", "y");
		json_decref(v);
		rk_arena_end(a);
	}
	*out = a;
	return NULL;
}

static void test_per_thread(void **state)
{
	(void)state;
	rk_arena *mine = rk_arena_thread(), *theirs = NULL;
	pthread_t t;

	assert_non_null(mine);
	assert_ptr_equal(rk_arena_thread(), mine);
	/* the other thread may begin its own scope while this one has one */
	assert_int_equal(rk_arena_begin(mine), RK_OK);
	assert_int_equal(pthread_create(&t, NULL, other_thread, &theirs), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	rk_arena_end(mine);
	assert_non_null(theirs);
	assert_ptr_not_equal(theirs, mine);
}

int main(void)
{
	/* first, before jansson allocates anything (common_arena.c (d)) */
	rk_arena_install_json();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_heap_free_in_scope),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_no_nesting),
		cmocka_unit_test(test_jansson),
		cmocka_unit_test(test_per_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
