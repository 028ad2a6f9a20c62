/*
 * common_arena.c: request-scoped memory for jansson.
 *
 * Parsing one TAXII envelope makes thousands of small jansson allocations
 * (every value, key and hash table) that all die together when the
 * envelope is released. jansson takes one process-wide allocator
 * (json_set_alloc_funcs); rk_arena_install_json installs rk_json_malloc /
 * rk_json_free, which put a 16-byte header before every block saying where
 * it came from:
 *
 *     [ tag: ARENA | HEAP ][ pad ][ block handed to jansson ... ]
 *     ^ 16-aligned                ^ 16-aligned
 *
 * A thread that has an arena active (rk_arena_begin .. rk_arena_end, the
 * pointer is thread-local) gets small blocks by bumping a pointer through
 * the arena's chunks (RK_ARENA_CHUNK bytes each, a new chunk when one is
 * full); freeing such a block does nothing, and rk_arena_end takes back
 * every chunk at once (keeping RK_ARENA_KEEP of them for the thread's next
 * scope). Blocks larger than a quarter chunk, every block made outside a
 * scope and every block under sanitizers come from malloc, tagged HEAP,
 * and rk_json_free frees them whichever thread or scope it runs in.
 *
 * Invariants everyone using jansson in a process that installed this must
 * keep:
 *
 *  (a) Memory jansson allocated is never released with libc free(): the
 *      pointer is 16 bytes into a block (or inside a chunk). Hence
 *      rk_json_dump and the other serialisers write through
 *      json_dump_callback into an rk_buf (libc memory) rather than use
 *      json_dumps, and nothing in renkei calls json_dumps.
 *  (b) No jansson value made inside a scope is used after the scope ends:
 *      whatever was parsed or built in it is json_decref'd before
 *      rk_arena_end and nothing from it is cached. (A value made outside
 *      any scope may be freed inside one: its block says HEAP.)
 *  (c) Code that runs on a thread with someone else's scope active (the
 *      store's group-commit leader runs other requests' status makers on
 *      its thread) must keep nothing jansson allocated after it returns.
 *      taxii_ingest.c's make_status allocates nothing with jansson.
 *  (d) The allocator is installed before jansson allocates anything that
 *      is freed afterwards (a block without a header would be misread)
 *      and before other threads use jansson: the hub installs it first
 *      thing in taxii_server_start.
 *
 * Under AddressSanitizer (RK_ARENA_ENABLED 0) no chunk is ever made: the
 * header stays, so a jansson pointer passed to free() is still caught (as a
 * bad free), and every block is its own malloc, so ASan sees overflows and
 * use after free and LeakSanitizer sees every json_decref that is
 * missing. Scopes begin and end, and refuse to nest, exactly as in a
 * normal build.
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define TAG_HEAP UINT64_C(0x72656e6b65694850)  /* "PHiekner" */
#define TAG_ARENA UINT64_C(0x72656e6b65694141) /* "AAiekner" */
#define TAG_FREED UINT64_C(0x72656e6b65694646) /* what a freed heap block says */

/* The block header: 16 bytes, so the block after it keeps malloc's
 * 16-byte alignment. */
typedef struct block_head {
	uint64_t tag;
	uint64_t pad;
} block_head;
_Static_assert(sizeof(block_head) == RK_ARENA_ALIGN, "block header size");

struct rk_arena_chunk {
	rk_arena_chunk *next;
	size_t size;
};
/* Where a chunk's space starts, rounded up to the alignment. */
#define CHUNK_HEAD                                                             \
	((sizeof(rk_arena_chunk) + RK_ARENA_ALIGN - 1) & ~(size_t)(RK_ARENA_ALIGN - 1))
/* Blocks (header included) above this go to malloc. */
#define LARGE (RK_ARENA_CHUNK / 4)

static _Thread_local rk_arena *current;

void rk_arena_init(rk_arena *a)
{
	memset(a, 0, sizeof *a);
}

static void free_chunks(rk_arena_chunk *c)
{
	while (c) {
		rk_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
}

void rk_arena_cleanup(rk_arena *a)
{
	if (!a)
		return;
	assert(!a->active);
	free_chunks(a->used);
	free_chunks(a->spare);
	rk_arena_init(a);
}

rk_err rk_arena_begin(rk_arena *a)
{
	if (current || a->active)
		return RK_EINVAL;
	a->active = true;
	current = a;
	return RK_OK;
}

void rk_arena_end(rk_arena *a)
{
	assert(a->active && current == a);
	/* Every chunk of the scope becomes spare, up to RK_ARENA_KEEP. */
	while (a->used) {
		rk_arena_chunk *c = a->used;
		a->used = c->next;
		if (a->n_spare < RK_ARENA_KEEP) {
			c->next = a->spare;
			a->spare = c;
			a->n_spare++;
		} else {
			free(c);
		}
	}
	a->n_used = 0;
	a->next = a->end = NULL;
	a->active = false;
	current = NULL;
}

/* ---------------------------------------------------------------- per thread */

static pthread_key_t thread_key;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;
static bool thread_key_ok;
static _Thread_local rk_arena *thread_arena;

static void thread_arena_free(void *p)
{
	rk_arena *a = p;
	if (a && a->active)
		rk_arena_end(a);
	rk_arena_cleanup(a);
	free(a);
}

static void thread_key_make(void)
{
	thread_key_ok = pthread_key_create(&thread_key, thread_arena_free) == 0;
}

rk_arena *rk_arena_thread(void)
{
	rk_arena *a = thread_arena;

	if (a)
		return a;
	pthread_once(&thread_once, thread_key_make);
	if (!thread_key_ok || !(a = malloc(sizeof *a)))
		return NULL;
	rk_arena_init(a);
	if (pthread_setspecific(thread_key, a) != 0) {
		free(a);
		return NULL;
	}
	thread_arena = a;
	return a;
}

/* ---------------------------------------------------------------- jansson */

static void *heap_block(size_t size)
{
	block_head *h;

	if (size > SIZE_MAX - sizeof *h || !(h = malloc(sizeof *h + size)))
		return NULL;
	h->tag = TAG_HEAP;
	return h + 1;
}

#if RK_ARENA_ENABLED
/* Starts a chunk (a spare one if there is one) for the scope; false when
 * out of memory. */
static bool arena_grow(rk_arena *a)
{
	rk_arena_chunk *c = a->spare;

	if (c) {
		a->spare = c->next;
		a->n_spare--;
	} else {
		if (!(c = malloc(RK_ARENA_CHUNK)))
			return false;
		c->size = RK_ARENA_CHUNK;
	}
	c->next = a->used;
	a->used = c;
	a->n_used++;
	a->next = (char *)c + CHUNK_HEAD;
	a->end = (char *)c + c->size;
	return true;
}
#endif

void *rk_json_malloc(size_t size)
{
#if RK_ARENA_ENABLED
	rk_arena *a = current;
	size_t need = sizeof(block_head) +
		      ((size + RK_ARENA_ALIGN - 1) & ~(size_t)(RK_ARENA_ALIGN - 1));

	if (a && size <= LARGE && need <= LARGE) {
		if ((size_t)(a->end - a->next) < need && !arena_grow(a))
			return heap_block(size);
		block_head *h = (block_head *)(void *)a->next;
		a->next += need;
		h->tag = TAG_ARENA;
		return h + 1;
	}
#endif
	return heap_block(size);
}

void rk_json_free(void *p)
{
	if (!p)
		return;
	block_head *h = (block_head *)p - 1;
	if (h->tag == TAG_ARENA)
		return;
	/* Anything else is a block this allocator never handed out (or one
	 * freed twice): memory is corrupt, not a recoverable input error. */
	assert(h->tag == TAG_HEAP);
	h->tag = TAG_FREED;
	free(h);
}

static void install(void)
{
	json_set_alloc_funcs(rk_json_malloc, rk_json_free);
}

void rk_arena_install_json(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, install);
}
