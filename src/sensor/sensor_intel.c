/*
 * sensor_intel.c: the sensor's indicator set, the latest version of each
 * STIX indicator it has been given (bundle files, a hub feed).
 *
 * STIX 2.1 section 3.6 (versioning): objects with the same id are versions
 * of one object and the one with the latest `modified` is current. So an
 * indicator replaces the kept one only when its `modified` is strictly
 * later; an equal or older one is counted as stale and dropped, which
 * makes applying the same bundle twice a no-op. A revoked version is kept
 * (flagged), so that an older, unrevoked copy arriving later cannot bring
 * the indicator back. Indicators whose pattern_type is not "stix" (sigma,
 * snort, yara ...) are kept for the same reason but never built.
 *
 * Storage, sized for millions of indicators: an entry is 32 bytes (the id
 * as its 16 UUID bytes plus a 32-bit mask of which hex digits were written
 * in upper case, so every valid id is kept exactly without its text;
 * `modified`, which versioning compares; the offset of its record). The
 * record, in one text arena, holds the flags, valid_from and valid_until
 * as differences, the indices of created_by_ref and of the marking list
 * in an interning pool (a feed has few distinct values of either), the
 * pattern and the name (cut to SENSOR_NAME_MAX - 1 bytes). Patterns are
 * kept, not re-derived: the matcher is rebuilt on every reload and feed
 * update, and indicators that came from the hub are in no file. The usual
 * one-value shapes (`[ipv4-addr:value = '...']` ...) keep only the value
 * and a template number; any other text is kept as written. An open-
 * addressing table of id hashes (linear probing, load at most 1/2) indexes
 * the entries; a slot keeps 32 bits of the hash next to the entry index so
 * a probe touches an entry only when the tags agree. Entries are never
 * removed; a replaced version's record becomes garbage, and the arena is
 * compacted when garbage is most of it.
 *
 * Staging: objects are read into a private stage (entries, records, pool)
 * and committed to the set in one step, under the write lock, only once
 * the whole objects array has been read and found well-formed; refusals
 * of single objects are reported then too. So a bundle that turns out not
 * to be JSON halfway changes nothing, as when it was parsed whole before
 * anything was applied. Committing into an empty set adopts the stage's
 * arrays instead of copying them.
 *
 * Bundle files are read through a window (SENSOR_INTEL_WINDOW, grown for
 * an object that does not fit, up to the file size limit), never whole:
 * rk_json_stream finds the elements of "objects" and the flat scanner
 * below reads most of them in place. Only a text that is not a bundle (an
 * array of objects, one object, not JSON) is read whole, to hand it to
 * jansson as before. When the caller allows two threads (a sensor's first
 * load, before its workers run) and the file is at least two windows, a
 * second reader with a window of its own stages from an element start
 * guessed near the middle while the first stages from the beginning; the
 * first, which parses in order, confirms the guess when it gets there, and
 * the second's stage is appended to its own before the one commit, with
 * its refusals' indices moved on. A wrong guess, or an element larger than
 * the second's window, leaves the first reading on alone (intel_split).
 *
 * Threads: one rwlock. Commit takes it for writing; build and lookup for
 * reading, so workers naming indicators in alerts wait only while an
 * update is committed, never while a file is read or a matcher built.
 * A second bundle reader touches only its own stage, window and flag
 * until the loading thread joins it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "sensor_int.h"

/* ---------------------------------------------------------------- layout */

typedef struct intel_entry {
	uint8_t uuid[16];
	uint32_t id_case; /* bit i: hex digit i of the UUID is upper case */
	uint32_t rec;	  /* offset of the record in its arena */
	rk_time modified; /* what versioning compares, so kept at hand */
} intel_entry;
_Static_assert(sizeof(intel_entry) == 32, "an entry is 32 bytes: a million take 32 MB");

/* Record: 16-bit flags, [u32 created_by] [u32 markings] (pool indices),
 * valid_from - modified (zigzag varint), [valid_until - valid_from
 * (varint)], varint pattern length and bytes, [varint name length and
 * bytes]. */
enum {
	REC_REVOKED = 1,
	REC_STIX = 2,
	REC_NAME = 4,
	REC_BY = 8,
	REC_MARKS = 16,
	REC_UNTIL = 32,
	REC_TEMPLATE_SHIFT = 8, /* 3 bits: 0 = pattern as written */
};

/* One-value patterns kept as their value: prefix + value + "']". */
/* clang-format off */
static const struct {
	const char *prefix;
	size_t len;
} TEMPLATES[] = {
	{NULL, 0},
#define T(s) {s, sizeof(s) - 1}
	T("[ipv4-addr:value = '"),
	T("[domain-name:value = '"),
	T("[ipv6-addr:value = '"),
	T("[url:value = '"),
	T("[email-addr:value = '"),
	T("[file:hashes.'SHA-256' = '"),
	T("[file:hashes.MD5 = '"),
#undef T
};
/* clang-format on */

/* A growable byte arena addressed by 32-bit offsets. */
typedef struct arena {
	char *p;
	size_t len, cap;
} arena;

/* Distinct byte strings, each stored once and named by its index. */
typedef struct pool {
	arena bytes;
	uint32_t *off; /* value i is bytes[off[i], off[i + 1]) */
	size_t n, cap;
	uint32_t *slots; /* index + 1; 0 empty */
	size_t n_slots;
} pool;

/* The last timestamp read for one property, and its value: bundles
 * written in one go repeat them (created equal to modified, one
 * valid_from for a whole batch), so most parses are a compare. */
typedef struct time_memo {
	char text[32];
	size_t n;
	rk_time t;
} time_memo;

/* What one load collects before it is committed. */
typedef struct intel_stage {
	intel_entry *entries;
	size_t n, cap;
	arena text;
	pool refs;
	rk_buf reports; /* deferred refusals, see report_defer */
	size_t n_reports;
	size_t other_types; /* counted into the set's stats at commit */
	size_t bad;
	time_memo memo[4]; /* created, modified, valid_from, valid_until */
} intel_stage;

struct sensor_intel { /* a new member also goes into sensor_intel_replace */
	pthread_rwlock_t lock;
	intel_entry *entries; /* in order of first arrival */
	size_t n, cap;
	arena text;
	size_t garbage; /* bytes of text no entry refers to */
	pool refs;
	struct intel_slot {
		uint32_t entry; /* entry index + 1; 0 = empty */
		uint32_t tag;	/* high bits of the id's hash */
	} * slots;
	size_t n_slots; /* power of two */
	sensor_intel_stats st;
	size_t window;
	unsigned load_threads;		    /* readers a bundle file load may use: 1 or 2 */
	size_t splits_kept, splits_dropped; /* second readers' parts, see intel_split */
};

/* A borrowed slice of text; p NULL means absent. */
typedef struct span {
	const char *p;
	size_t n;
} span;

static bool span_is(span s, const char *lit, size_t n)
{
	return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* ---------------------------------------------------------------- arena */

#define ARENA_MAX ((size_t)UINT32_MAX)

static rk_err arena_reserve(arena *a, size_t extra)
{
	if (a->cap - a->len >= extra)
		return RK_OK;
	if (extra > ARENA_MAX - a->len)
		return RK_ETOOBIG;
	size_t cap = a->cap ? a->cap : 4096;
	while (cap - a->len < extra)
		cap *= 2;
	if (cap > ARENA_MAX)
		cap = ARENA_MAX;
	char *p = realloc(a->p, cap);
	if (!p)
		return RK_ENOMEM;
	a->p = p;
	a->cap = cap;
	return RK_OK;
}

static void arena_put(arena *a, const void *p, size_t n)
{
	memcpy(a->p + a->len, p, n);
	a->len += n;
}

static void arena_varint(arena *a, uint64_t v)
{
	while (v >= 0x80) {
		a->p[a->len++] = (char)(v | 0x80);
		v >>= 7;
	}
	a->p[a->len++] = (char)v;
}

static uint64_t read_varint(const unsigned char **q)
{
	uint64_t v = 0;
	for (unsigned shift = 0;; shift += 7) {
		unsigned char c = *(*q)++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
}

static uint32_t read_u32(const unsigned char *q)
{
	uint32_t v;
	memcpy(&v, q, sizeof v);
	return v;
}

/* A record's parts. */
typedef struct rec_view {
	unsigned flags;
	uint32_t created_by, markings;
	rk_time valid_from, valid_until; /* valid_until 0: none */
	span pattern, name;
	size_t len; /* bytes of the whole record */
} rec_view;

static rec_view rec_read(const char *base, const intel_entry *e)
{
	rec_view r = {0};
	const unsigned char *q = (const unsigned char *)base + e->rec;
	r.flags = (unsigned)q[0] | (unsigned)q[1] << 8;
	q += 2;
	if (r.flags & REC_BY) {
		r.created_by = read_u32(q);
		q += 4;
	}
	if (r.flags & REC_MARKS) {
		r.markings = read_u32(q);
		q += 4;
	}
	uint64_t z = read_varint(&q);
	r.valid_from = e->modified + (rk_time)(z >> 1 ^ -(z & 1));
	if (r.flags & REC_UNTIL)
		r.valid_until = r.valid_from + (rk_time)read_varint(&q);
	r.pattern.n = read_varint(&q);
	r.pattern.p = (const char *)q;
	q += r.pattern.n;
	if (r.flags & REC_NAME) {
		r.name.n = read_varint(&q);
		r.name.p = (const char *)q;
		q += r.name.n;
	}
	r.len = (size_t)(q - ((const unsigned char *)base + e->rec));
	return r;
}

/* Rewrites the pool indices of record e (read as r) in text through map:
 * the record moved from one pool's owner to another's. */
static void rec_remap(char *text, const intel_entry *e, const rec_view *r, const uint32_t *map)
{
	unsigned char *q = (unsigned char *)text + e->rec + 2;
	if (r->flags & REC_BY) {
		memcpy(q, &map[r->created_by], 4);
		q += 4;
	}
	if (r->flags & REC_MARKS)
		memcpy(q, &map[r->markings], 4);
}

/* ---------------------------------------------------------------- pool */

static uint64_t bytes_hash(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3u;
	return h ^ (h >> 29);
}

static void pool_free(pool *t)
{
	free(t->bytes.p);
	free(t->off);
	free(t->slots);
	memset(t, 0, sizeof *t);
}

static span pool_get(const pool *t, uint32_t i)
{
	span s = {t->bytes.p + t->off[i], t->off[i + 1] - t->off[i]};
	return s;
}

static size_t pool_find(const pool *t, const char *p, size_t n, uint64_t h)
{
	size_t mask = t->n_slots - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		uint32_t v = t->slots[i];
		if (v == 0)
			return i;
		span s = pool_get(t, v - 1);
		if (s.n == n && memcmp(s.p, p, n) == 0)
			return i;
	}
}

static rk_err pool_grow_slots(pool *t)
{
	size_t n = t->n_slots ? t->n_slots * 2 : 64;
	uint32_t *slots = calloc(n, sizeof *slots);
	if (!slots)
		return RK_ENOMEM;
	for (size_t v = 0; v < t->n; v++) {
		span s = pool_get(t, (uint32_t)v);
		size_t i = (size_t)bytes_hash(s.p, s.n) & (n - 1);
		while (slots[i])
			i = (i + 1) & (n - 1);
		slots[i] = (uint32_t)(v + 1);
	}
	free(t->slots);
	t->slots = slots;
	t->n_slots = n;
	return RK_OK;
}

/* The index of the value p[0, n), added if new. */
static rk_err pool_intern(pool *t, const char *p, size_t n, uint32_t *out)
{
	rk_err err;
	if ((t->n + 1) * 2 > t->n_slots && (err = pool_grow_slots(t)) != RK_OK)
		return err;
	uint64_t h = bytes_hash(p, n);
	size_t slot = pool_find(t, p, n, h);
	if (t->slots[slot]) {
		*out = t->slots[slot] - 1;
		return RK_OK;
	}
	if (t->n + 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		uint32_t *off = realloc(t->off, cap * sizeof *off);
		if (!off)
			return RK_ENOMEM;
		t->off = off;
		t->cap = cap;
	}
	if (t->n >= UINT32_MAX - 2 || (err = arena_reserve(&t->bytes, n + 1)) != RK_OK)
		return t->n >= UINT32_MAX - 2 ? RK_ETOOBIG : err;
	if (t->n == 0)
		t->off[0] = 0;
	arena_put(&t->bytes, p, n);
	t->off[t->n + 1] = (uint32_t)t->bytes.len;
	t->slots[slot] = (uint32_t)(t->n + 1);
	*out = (uint32_t)t->n++;
	return RK_OK;
}

/* ---------------------------------------------------------------- ids */

#define ID_PREFIX "indicator--"
#define ID_PREFIX_LEN 11
#define ID_LEN (ID_PREFIX_LEN + 36)

#ifdef __SSE2__
/* 16 hex digits to 8 bytes; false if one is not a hex digit. *upper gets
 * a bit per digit written in upper case. */
static bool hex16(const unsigned char *p, unsigned char out[8], uint32_t *upper)
{
	const __m128i flip = _mm_set1_epi8((char)0x80);
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
	__m128i l = _mm_sub_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
	/* unsigned x < k as signed (x ^ 0x80) < (k ^ 0x80) */
	__m128i is_digit = _mm_cmplt_epi8(_mm_xor_si128(d, flip), _mm_set1_epi8((char)(10 ^ 0x80)));
	__m128i is_alpha = _mm_cmplt_epi8(_mm_xor_si128(l, flip), _mm_set1_epi8((char)(6 ^ 0x80)));
	if (_mm_movemask_epi8(_mm_or_si128(is_digit, is_alpha)) != 0xffff)
		return false;
	__m128i up = _mm_andnot_si128(
	    _mm_cmpeq_epi8(_mm_and_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8(0x20)), is_alpha);
	*upper = (uint32_t)_mm_movemask_epi8(up);
	__m128i val = _mm_or_si128(_mm_and_si128(is_digit, d),
				   _mm_and_si128(is_alpha, _mm_add_epi8(l, _mm_set1_epi8(10))));
	/* each 16-bit lane holds (high nibble, low nibble) as two bytes */
	__m128i pair = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(val, _mm_set1_epi16(0xff)), 4),
				    _mm_srli_epi16(val, 8));
	__m128i packed = _mm_packus_epi16(pair, pair);
	_mm_storel_epi64((__m128i *)(void *)out, packed);
	return true;
}
#else
/* Hex digit values, 0x10 marking upper case (hex_valid says which bytes
 * are digits at all). */
/* clang-format off */
static const uint8_t HEX[256] = {
	['0'] = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
	['A'] = 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
	['a'] = 10, 11, 12, 13, 14, 15,
};
/* clang-format on */
static bool hex_valid(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* Where the 32 digits of a UUID are. */
/* clang-format off */
static const uint8_t UUID_DIGIT[32] = {0,  1,  2,  3,  4,  5,  6,  7,  9,  10, 11,
				       12, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25,
				       26, 27, 28, 29, 30, 31, 32, 33, 34, 35};
/* clang-format on */
#endif

/* "indicator--<UUID>" as rk_uuid_is_valid accepts the UUID. */
static bool id_parse(const char *p, size_t n, uint8_t uuid[16], uint32_t *id_case)
{
	if (n != ID_LEN || memcmp(p, ID_PREFIX, ID_PREFIX_LEN) != 0)
		return false;
	const unsigned char *u = (const unsigned char *)p + ID_PREFIX_LEN;
	if (u[8] != '-' || u[13] != '-' || u[18] != '-' || u[23] != '-')
		return false;
#ifdef __SSE2__
	unsigned char digits[32];
	uint32_t lo_case, hi_case;
	memcpy(digits, u, 8);
	memcpy(digits + 8, u + 9, 4);
	memcpy(digits + 12, u + 14, 4);
	memcpy(digits + 16, u + 19, 4);
	memcpy(digits + 20, u + 24, 12);
	if (!hex16(digits, uuid, &lo_case) || !hex16(digits + 16, uuid + 8, &hi_case))
		return false;
	*id_case = lo_case | hi_case << 16;
#else
	uint32_t mask = 0;
	bool ok = true;
	for (unsigned d = 0; d < 32; d += 2) {
		unsigned char ch = u[UUID_DIGIT[d]], cl = u[UUID_DIGIT[d + 1]];
		ok &= hex_valid(ch) & hex_valid(cl);
		unsigned hi = HEX[ch], lo = HEX[cl];
		uuid[d / 2] = (uint8_t)((hi & 15) << 4 | (lo & 15));
		mask |= (uint32_t)(hi >> 4 & 1) << d | (uint32_t)(lo >> 4 & 1) << (d + 1);
	}
	if (!ok)
		return false;
	*id_case = mask;
#endif
	unsigned version = uuid[6] >> 4;
	return (uuid[8] & 0xc0) == 0x80 && version >= 1 && version <= 8;
}

static void id_format(const intel_entry *e, char out[ID_LEN + 1])
{
	static const char lower[] = "0123456789abcdef";
	char digits[32];
	for (unsigned i = 0; i < 16; i++) {
		digits[2 * i] = lower[e->uuid[i] >> 4];
		digits[2 * i + 1] = lower[e->uuid[i] & 15];
	}
	for (uint32_t c = e->id_case; c; c &= c - 1)
		digits[__builtin_ctz(c)] -= 'a' - 'A'; /* only letters have the bit */
	memcpy(out, ID_PREFIX, ID_PREFIX_LEN);
	char *o = out + ID_PREFIX_LEN;
	memcpy(o, digits, 8);
	o[8] = '-';
	memcpy(o + 9, digits + 8, 4);
	o[13] = '-';
	memcpy(o + 14, digits + 12, 4);
	o[18] = '-';
	memcpy(o + 19, digits + 16, 4);
	o[23] = '-';
	memcpy(o + 24, digits + 20, 12);
	o[36] = '\0';
}

static uint64_t entry_hash(const intel_entry *e)
{
	uint64_t a, b;
	memcpy(&a, e->uuid, 8);
	memcpy(&b, e->uuid + 8, 8);
	uint64_t h = (a ^ 0x9e3779b97f4a7c15u) * 0xbf58476d1ce4e5b9u;
	h ^= (b + e->id_case) * 0x94d049bb133111ebu;
	h ^= h >> 31;
	h *= 0xd6e8feb86659fd93u;
	return h ^ (h >> 32);
}

static bool same_id(const intel_entry *a, const intel_entry *b)
{
	return memcmp(a->uuid, b->uuid, 16) == 0 && a->id_case == b->id_case;
}

/* ---------------------------------------------------------------- set */

static void stage_free(intel_stage *sg);

sensor_intel *sensor_intel_new(void)
{
	sensor_intel *in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->n_slots = 1024;
	in->window = SENSOR_INTEL_WINDOW;
	in->load_threads = 1;
	in->slots = calloc(in->n_slots, sizeof(*in->slots));
	if (!in->slots || pthread_rwlock_init(&in->lock, NULL) != 0) {
		free(in->slots);
		free(in);
		return NULL;
	}
	return in;
}

void sensor_intel_free(sensor_intel *in)
{
	if (!in)
		return;
	free(in->entries);
	free(in->text.p);
	pool_free(&in->refs);
	free(in->slots);
	pthread_rwlock_destroy(&in->lock);
	free(in);
}

void sensor_intel_set_window(sensor_intel *in, size_t bytes)
{
	in->window = bytes < 64 ? 64 : bytes;
}

void sensor_intel_set_load_threads(sensor_intel *in, unsigned threads)
{
	in->load_threads = threads >= 2 ? 2 : 1;
}

void sensor_intel_split_counts(sensor_intel *in, size_t *kept, size_t *dropped)
{
	pthread_rwlock_rdlock(&in->lock);
	*kept = in->splits_kept;
	*dropped = in->splits_dropped;
	pthread_rwlock_unlock(&in->lock);
}

/* The slot holding e's id, or the empty slot where it would go. */
static size_t find_slot(const sensor_intel *in, const intel_entry *e, uint64_t h)
{
	size_t mask = in->n_slots - 1;
	uint32_t tag = (uint32_t)(h >> 32);
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		const struct intel_slot *sl = &in->slots[i];
		if (sl->entry == 0 || (sl->tag == tag && same_id(&in->entries[sl->entry - 1], e)))
			return i;
	}
}

/* Slots for at least `want` entries at load 1/2. */
static rk_err reserve_slots(sensor_intel *in, size_t want)
{
	size_t n = in->n_slots;
	while (want * 2 > n)
		n *= 2;
	if (n == in->n_slots)
		return RK_OK;
	struct intel_slot *slots = calloc(n, sizeof(*slots));
	if (!slots)
		return RK_ENOMEM;
	/* the ids are distinct: each goes to the first free slot of its run */
	for (size_t e = 0; e < in->n; e++) {
		uint64_t h = entry_hash(&in->entries[e]);
		size_t i = (size_t)h & (n - 1);
		while (slots[i].entry)
			i = (i + 1) & (n - 1);
		slots[i].entry = (uint32_t)(e + 1);
		slots[i].tag = (uint32_t)(h >> 32);
	}
	free(in->slots);
	in->slots = slots;
	in->n_slots = n;
	return RK_OK;
}

/* Rewrites the set's arena with the live records only. */
static rk_err compact_text(sensor_intel *in)
{
	arena a = {0};
	rk_err err = arena_reserve(&a, in->text.len - in->garbage + 1);
	if (err)
		return err;
	for (size_t i = 0; i < in->n; i++) {
		rec_view r = rec_read(in->text.p, &in->entries[i]);
		uint32_t off = (uint32_t)a.len;
		arena_put(&a, in->text.p + in->entries[i].rec, r.len);
		in->entries[i].rec = off;
	}
	free(in->text.p);
	in->text = a;
	in->garbage = 0;
	return RK_OK;
}

/*
 * Moves the stage's indicators into the set in the order they were read,
 * keeping the latest version of each id. Everything that can fail is
 * reserved first, so the set is either updated or left as it was.
 * *applied counts the entries that changed it.
 */
static rk_err commit(sensor_intel *in, intel_stage *sg, size_t *applied, rk_errctx *ctx)
{
	rk_err err = RK_OK;
	uint32_t *map = NULL;
	*applied = 0;
	pthread_rwlock_wrlock(&in->lock);
	if (sg->n && in->n + sg->n >= UINT32_MAX - 1) {
		err = rk_fail(ctx, RK_ETOOBIG, NULL, "too many indicators");
		goto out;
	}
	/* room for the ids not in the set yet (a reload of the same file
	 * adds none: the table must not double for it) */
	size_t fresh = sg->n;
	if (in->n) {
		fresh = 0;
		for (size_t r = 0; r < sg->n; r++) {
			const intel_entry *e = &sg->entries[r];
			fresh += in->slots[find_slot(in, e, entry_hash(e))].entry == 0;
		}
	}
	if ((err = reserve_slots(in, in->n + fresh)) != RK_OK)
		goto out;
	/* the stage's pool indices in the set's pool */
	bool adopt_refs = in->refs.n == 0;
	if (adopt_refs) {
		pool t = in->refs;
		in->refs = sg->refs;
		sg->refs = t;
	} else if (sg->refs.n) {
		if (!(map = malloc(sg->refs.n * sizeof *map))) {
			err = RK_ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < sg->refs.n && !err; i++) {
			span s = pool_get(&sg->refs, (uint32_t)i);
			err = pool_intern(&in->refs, s.p, s.n, &map[i]);
		}
		if (err)
			goto out;
	}
	bool adopt_text = in->text.len == 0;
	if (adopt_text) {
		arena t = in->text;
		in->text = sg->text;
		sg->text = t;
	} else if ((err = arena_reserve(&in->text, sg->text.len)) != RK_OK) {
		goto out;
	}
	bool adopt_entries = in->n == 0;
	if (adopt_entries) {
		free(in->entries);
		in->entries = sg->entries;
		in->cap = sg->cap;
		sg->entries = NULL;
		sg->cap = 0;
	} else if (in->cap < in->n + fresh) {
		size_t cap = in->cap * 2 > in->n + fresh ? in->cap * 2 : in->n + fresh;
		intel_entry *ne = realloc(in->entries, cap * sizeof(*ne));
		if (!ne) {
			err = RK_ENOMEM;
			goto out;
		}
		in->entries = ne;
		in->cap = cap;
	}
	/* nothing fails from here on */
	const intel_entry *src = adopt_entries ? in->entries : sg->entries;
	const char *stext = adopt_text ? in->text.p : sg->text.p;
	for (size_t r = 0; r < sg->n; r++) {
		/* the slots are a cache miss each: ask for one eight ahead */
		if (r + 8 < sg->n)
			__builtin_prefetch(&in->slots[entry_hash(&src[r + 8]) & (in->n_slots - 1)]);
		intel_entry e = src[r]; /* read before entries[in->n] may overwrite it */
		rec_view rv = rec_read(stext, &e);
		uint64_t h = entry_hash(&e);
		size_t slot = find_slot(in, &e, h);
		intel_entry *kept =
		    in->slots[slot].entry ? &in->entries[in->slots[slot].entry - 1] : NULL;
		if (kept && kept->modified >= e.modified) {
			in->st.stale++;
			if (adopt_text)
				in->garbage += rv.len;
			continue;
		}
		if (!adopt_text) {
			uint32_t off = (uint32_t)in->text.len;
			arena_put(&in->text, stext + e.rec, rv.len);
			e.rec = off;
		}
		if (map)
			rec_remap(in->text.p, &e, &rv, map);
		bool revoked = rv.flags & REC_REVOKED, stix = rv.flags & REC_STIX;
		if (kept) {
			rec_view old = rec_read(in->text.p, kept);
			in->st.revoked +=
			    (size_t)revoked - (size_t)(old.flags & REC_REVOKED ? 1 : 0);
			in->st.not_stix += (size_t)!stix - (size_t) !(old.flags & REC_STIX);
			in->garbage += old.len;
			*kept = e;
		} else {
			in->entries[in->n] = e;
			in->slots[slot].entry = (uint32_t)(in->n + 1);
			in->slots[slot].tag = (uint32_t)(h >> 32);
			in->n++;
			in->st.indicators++;
			in->st.revoked += revoked;
			in->st.not_stix += !stix;
		}
		in->st.applied++;
		(*applied)++;
	}
	sg->n = 0;
	in->st.other_types += sg->other_types;
	in->st.bad += sg->bad;
	sg->other_types = sg->bad = 0;
	/* a failed compaction only leaves the garbage where it is */
	if (in->garbage > ((size_t)1 << 20) && in->garbage * 2 > in->text.len)
		(void)compact_text(in);
out:
	pthread_rwlock_unlock(&in->lock);
	free(map);
	if (err) /* no-op when a message is there already */
		rk_fail(ctx, err, NULL, "%s",
			err == RK_ENOMEM ? "out of memory loading indicators"
					 : "too many indicators");
	return err;
}

/* ---------------------------------------------------------------- checks */

/* The properties of an indicator the set keeps, as borrowed slices (p NULL
 * when absent), whether they came from jansson or from the flat scanner
 * below. Types are already checked. */
typedef struct intel_fields {
	span id, created, modified, pattern, pattern_type, valid_from, valid_until, name,
	    created_by;
	bool revoked;
	bool has_markings;
	span markings[SENSOR_MARKINGS_MAX];
	size_t n_markings;
} intel_fields;

/* The string properties and where each goes in intel_fields: one table
 * for both readers (jansson's and the flat scanner's). */
enum {
	F_ID,
	F_CREATED,
	F_MODIFIED,
	F_PATTERN,
	F_PATTERN_TYPE,
	F_VALID_FROM,
	F_VALID_UNTIL,
	F_NAME,
	F_CREATED_BY,
	F_STRINGS,
};
/* clang-format off */
static const struct {
	const char *key;
	size_t off;
} FIELD_STR[F_STRINGS] = {
	[F_ID] = {"id", offsetof(intel_fields, id)},
	[F_CREATED] = {"created", offsetof(intel_fields, created)},
	[F_MODIFIED] = {"modified", offsetof(intel_fields, modified)},
	[F_PATTERN] = {"pattern", offsetof(intel_fields, pattern)},
	[F_PATTERN_TYPE] = {"pattern_type", offsetof(intel_fields, pattern_type)},
	[F_VALID_FROM] = {"valid_from", offsetof(intel_fields, valid_from)},
	[F_VALID_UNTIL] = {"valid_until", offsetof(intel_fields, valid_until)},
	[F_NAME] = {"name", offsetof(intel_fields, name)},
	[F_CREATED_BY] = {"created_by_ref", offsetof(intel_fields, created_by)},
};
/* clang-format on */

static void field_set(intel_fields *f, size_t i, span v)
{
	memcpy((char *)f + FIELD_STR[i].off, &v, sizeof v);
}

static span json_span(const json_t *v)
{
	span s = {json_string_value(v), json_string_length(v)};
	return s;
}

/* Checks the types of obj's properties and points f at them. */
static rk_err fields_from_json(const json_t *obj, intel_fields *f, rk_errctx *ctx)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < F_STRINGS; i++) {
		const json_t *v = json_object_get(obj, FIELD_STR[i].key);
		if (!v)
			continue;
		if (!json_is_string(v))
			return rk_fail(ctx, RK_EINVAL, FIELD_STR[i].key, "must be a string");
		field_set(f, i, json_span(v));
	}
	const json_t *rv = json_object_get(obj, "revoked");
	if (rv && !json_is_boolean(rv))
		return rk_fail(ctx, RK_EINVAL, "revoked", "must be true or false");
	f->revoked = rv && json_is_true(rv);
	const json_t *marks = json_object_get(obj, "object_marking_refs");
	if (marks) {
		if (!json_is_array(marks))
			return rk_fail(ctx, RK_EINVAL, "object_marking_refs",
				       "must be an array of identifiers");
		if (json_array_size(marks) > SENSOR_MARKINGS_MAX)
			return rk_fail(ctx, RK_EINVAL, "object_marking_refs",
				       "more than %d markings", SENSOR_MARKINGS_MAX);
		f->has_markings = true;
		for (size_t i = 0; i < json_array_size(marks); i++) {
			const json_t *m = json_array_get(marks, i);
			if (!json_is_string(m)) {
				char path[64];
				snprintf(path, sizeof path, "object_marking_refs[%zu]", i);
				return rk_fail(ctx, RK_EINVAL, path,
					       "not a marking-definition identifier");
			}
			f->markings[f->n_markings++] = json_span(m);
		}
	}
	return RK_OK;
}

static int cut40(span s)
{
	return s.n < 40 ? (int)s.n : 40;
}

/* rk_time_parse on a slice. Fraction digits past the sixth only have to
 * be digits, so a long fraction is checked here and cut for the parse. */
static bool time_of(span s, rk_time *out)
{
	char buf[32];
	if (s.n < sizeof buf) {
		memcpy(buf, s.p, s.n);
		buf[s.n] = '\0';
		return memchr(s.p, '\0', s.n) == NULL && rk_time_parse(buf, out);
	}
	if (s.p[19] != '.' || s.p[s.n - 1] != 'Z')
		return false;
	for (size_t i = 20; i < s.n - 1; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	memcpy(buf, s.p, 26);
	buf[26] = 'Z';
	buf[27] = '\0';
	return rk_time_parse(buf, out);
}

static bool parse_time(const char *key, span s, time_memo *memo, rk_time *out, rk_errctx *ctx,
		       rk_err *err)
{
	if (!s.p) {
		*err = rk_fail(ctx, RK_EINVAL, key, "required property is missing");
		return false;
	}
	if (memo->n && memo->n == s.n && memcmp(memo->text, s.p, s.n) == 0) {
		*out = memo->t;
		return true;
	}
	if (!time_of(s, out)) {
		*err =
		    rk_fail(ctx, RK_EINVAL, key,
			    "not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z): %.*s", cut40(s), s.p);
		return false;
	}
	if (s.n <= sizeof memo->text) {
		memcpy(memo->text, s.p, s.n);
		memo->n = s.n;
		memo->t = *out;
	}
	return true;
}

/* How much of a name fits max - 1 bytes, cut on a UTF-8 character boundary. */
static size_t cut_len(span s, size_t max)
{
	size_t len = s.n;
	if (len >= max) {
		len = max - 1;
		while (len > 0 && ((unsigned char)s.p[len] & 0xc0) == 0x80)
			len--;
	}
	return len;
}

/* The markings as one pool value: each as a 16-bit length and its bytes. */
static rk_err intern_markings(pool *t, const intel_fields *f, uint32_t *out)
{
	char key[SENSOR_MARKINGS_MAX * (SENSOR_ID_MAX + 2)];
	size_t n = 0;
	for (size_t i = 0; i < f->n_markings; i++) {
		uint16_t len = (uint16_t)f->markings[i].n; /* < SENSOR_ID_MAX */
		memcpy(key + n, &len, 2);
		n += 2;
		memcpy(key + n, f->markings[i].p, f->markings[i].n);
		n += f->markings[i].n;
	}
	return pool_intern(t, key, n, out);
}

/* Checks the values and appends the entry they describe to the stage;
 * RK_EINVAL names the property at fault, and the stage is unchanged. */
static rk_err stage_add(intel_stage *sg, const intel_fields *f, rk_errctx *ctx)
{
	rk_err err = RK_OK;
	rk_time created = 0, valid_from = 0, valid_until = 0;
	intel_entry e;
	memset(&e, 0, sizeof e);

	if (!f->id.p)
		return rk_fail(ctx, RK_EINVAL, "id", "required property is missing");
	if (!id_parse(f->id.p, f->id.n, e.uuid, &e.id_case))
		return rk_fail(ctx, RK_EINVAL, "id",
			       "not an indicator id (indicator--<UUID>): %.*s",
			       f->id.n < 60 ? (int)f->id.n : 60, f->id.p);
	if (!parse_time("created", f->created, &sg->memo[0], &created, ctx, &err) ||
	    !parse_time("modified", f->modified, &sg->memo[1], &e.modified, ctx, &err))
		return err;
	if (e.modified < created)
		return rk_fail(ctx, RK_EINVAL, "modified", "earlier than created");
	if (!f->pattern.p || !f->pattern_type.p)
		return rk_fail(ctx, RK_EINVAL, f->pattern.p ? "pattern_type" : "pattern",
			       "required property is missing");
	if (!parse_time("valid_from", f->valid_from, &sg->memo[2], &valid_from, ctx, &err))
		return err;
	if (f->valid_until.p) {
		if (!parse_time("valid_until", f->valid_until, &sg->memo[3], &valid_until, ctx,
				&err))
			return err;
		if (valid_until <= valid_from)
			return rk_fail(ctx, RK_EINVAL, "valid_until", "not later than valid_from");
	}
	if (f->created_by.p && f->created_by.n >= SENSOR_ID_MAX)
		return rk_fail(ctx, RK_EINVAL, "created_by_ref",
			       "longer than an identifier can be");
	for (size_t i = 0; i < f->n_markings; i++) {
		span m = f->markings[i];
		if (m.n < 20 || memcmp(m.p, "marking-definition--", 20) != 0 ||
		    m.n >= SENSOR_ID_MAX) {
			char path[64];
			snprintf(path, sizeof path, "object_marking_refs[%zu]", i);
			return rk_fail(ctx, RK_EINVAL, path, "not a marking-definition identifier");
		}
	}

	unsigned flags =
	    (f->revoked ? REC_REVOKED : 0) | (span_is(f->pattern_type, "stix", 4) ? REC_STIX : 0);
	uint32_t by = 0, marks = 0;
	if (f->created_by.p) {
		if ((err = pool_intern(&sg->refs, f->created_by.p, f->created_by.n, &by)) != RK_OK)
			return err;
		flags |= REC_BY;
	}
	if (f->n_markings) {
		if ((err = intern_markings(&sg->refs, f, &marks)) != RK_OK)
			return err;
		flags |= REC_MARKS;
	}
	span pat = f->pattern;
	for (unsigned t = 1; t < RK_ARRAY_LEN(TEMPLATES); t++) {
		size_t pl = TEMPLATES[t].len;
		if (pat.n >= pl + 2 && memcmp(pat.p, TEMPLATES[t].prefix, pl) == 0 &&
		    memcmp(pat.p + pat.n - 2, "']", 2) == 0) {
			flags |= t << REC_TEMPLATE_SHIFT;
			pat.p += pl;
			pat.n -= pl + 2;
			break;
		}
	}
	size_t name_len = f->name.p ? cut_len(f->name, SENSOR_NAME_MAX) : 0;
	if (f->name.p)
		flags |= REC_NAME;
	if (f->valid_until.p)
		flags |= REC_UNTIL;
	if ((err = arena_reserve(&sg->text, 2 + 8 + 10 + 10 + 10 + pat.n + 10 + name_len)) != RK_OK)
		return err;
	if (sg->n == sg->cap) {
		size_t cap = sg->cap ? sg->cap * 2 : 256;
		intel_entry *ne = realloc(sg->entries, cap * sizeof(*ne));
		if (!ne)
			return RK_ENOMEM;
		sg->entries = ne;
		sg->cap = cap;
	}
	e.rec = (uint32_t)sg->text.len;
	sg->text.p[sg->text.len++] = (char)(flags & 0xff);
	sg->text.p[sg->text.len++] = (char)(flags >> 8);
	if (flags & REC_BY)
		arena_put(&sg->text, &by, 4);
	if (flags & REC_MARKS)
		arena_put(&sg->text, &marks, 4);
	uint64_t d = (uint64_t)valid_from - (uint64_t)e.modified; /* two's complement */
	arena_varint(&sg->text, d << 1 ^ (uint64_t) - (int64_t)(d >> 63));
	if (flags & REC_UNTIL)
		arena_varint(&sg->text, (uint64_t)(valid_until - valid_from));
	arena_varint(&sg->text, pat.n);
	arena_put(&sg->text, pat.p, pat.n);
	if (flags & REC_NAME) {
		arena_varint(&sg->text, name_len);
		arena_put(&sg->text, f->name.p, name_len);
	}
	sg->entries[sg->n++] = e;
	return RK_OK;
}

static void stage_free(intel_stage *sg)
{
	free(sg->entries);
	free(sg->text.p);
	pool_free(&sg->refs);
	rk_buf_cleanup(&sg->reports);
	memset(sg, 0, sizeof *sg);
}

/*
 * Frees a large block without teaching malloc to serve the next large
 * requests from its heap: glibc raises its mmap threshold to the size of
 * a mapped block when one is freed, and the matcher built next would then
 * be allocated where its freed parts stay resident (5 MB more at the peak
 * with a million indicators). Shrunk first, the block is freed small.
 */
static void free_large(void *p)
{
	void *small = p ? realloc(p, 1) : NULL;
	free(small ? small : p);
}

/*
 * Moves what src staged after what dst staged, as if one reader had read
 * both in turn: src's records after dst's (pool indices mapped into dst's
 * pool), its refusals with their indices moved on by index_base (the
 * elements dst's part held). Everything that can fail is reserved first:
 * on an error dst is as it was. src is left empty.
 */
static rk_err stage_append(intel_stage *dst, intel_stage *src, size_t index_base)
{
	rk_err err = RK_OK;
	uint32_t *map = NULL;
	if (src->refs.n) {
		if (!(map = malloc(src->refs.n * sizeof *map)))
			return RK_ENOMEM;
		for (size_t i = 0; i < src->refs.n && !err; i++) {
			span v = pool_get(&src->refs, (uint32_t)i);
			err = pool_intern(&dst->refs, v.p, v.n, &map[i]);
		}
		if (err)
			goto out;
	}
	if ((err = arena_reserve(&dst->text, src->text.len)) != RK_OK ||
	    (err = rk_buf_reserve(&dst->reports, src->reports.len)) != RK_OK)
		goto out;
	if (dst->cap - dst->n < src->n) {
		intel_entry *ne = realloc(dst->entries, (dst->n + src->n) * sizeof *ne);
		if (!ne) {
			err = RK_ENOMEM;
			goto out;
		}
		dst->entries = ne;
		dst->cap = dst->n + src->n;
	}
	/* nothing fails from here on */
	uint32_t base = (uint32_t)dst->text.len;
	if (src->text.len)
		arena_put(&dst->text, src->text.p, src->text.len);
	for (size_t r = 0; r < src->n; r++) {
		intel_entry e = src->entries[r];
		e.rec += base;
		if (map) {
			rec_view rv = rec_read(dst->text.p, &e);
			rec_remap(dst->text.p, &e, &rv, map);
		}
		dst->entries[dst->n++] = e;
	}
	for (char *p = src->reports.data, *end = p + src->reports.len; p && p < end;) {
		size_t index;
		memcpy(&index, p, sizeof index);
		index += index_base;
		memcpy(p, &index, sizeof index);
		p += sizeof index + sizeof(int);
		for (int z = 0; z < 3; z++) /* id, path, message */
			p += strlen(p) + 1;
	}
	if (src->reports.len)
		(void)rk_buf_append(&dst->reports, src->reports.data, src->reports.len);
	dst->n_reports += src->n_reports;
	dst->other_types += src->other_types;
	dst->bad += src->bad;
	free_large(src->entries);
	free_large(src->text.p);
	src->entries = NULL;
	src->text.p = NULL;
	stage_free(src);
out:
	free(map);
	return err;
}

/* The object as sensor_intel_apply reads it, into the stage. A refusal
 * of an indicator's properties counts in sg->bad; one of the object
 * itself (not an object, no type) counts nowhere, as before. */
static rk_err stage_json(intel_stage *sg, const json_t *obj, rk_errctx *ctx)
{
	intel_fields f;
	if (!json_is_object(obj))
		return rk_fail(ctx, RK_EINVAL, NULL, "a STIX object must be a JSON object");
	const json_t *type = json_object_get(obj, "type");
	if (!json_is_string(type))
		return rk_fail(ctx, RK_EINVAL, "type",
			       "required property is missing or not a string");
	if (strcmp(json_string_value(type), "indicator") != 0) {
		sg->other_types++;
		return RK_OK;
	}
	rk_err err = fields_from_json(obj, &f, ctx);
	if (!err)
		err = stage_add(sg, &f, ctx);
	if (err && err != RK_ENOMEM)
		sg->bad++;
	return err;
}

rk_err sensor_intel_apply(sensor_intel *in, const json_t *obj, bool *changed, rk_errctx *ctx)
{
	intel_stage sg;
	memset(&sg, 0, sizeof sg);
	size_t applied = 0;
	if (changed)
		*changed = false;
	rk_err err = stage_json(&sg, obj, ctx);
	if (err && err != RK_ENOMEM) {
		/* refused: only the count changes */
		pthread_rwlock_wrlock(&in->lock);
		in->st.bad += sg.bad;
		pthread_rwlock_unlock(&in->lock);
	} else if (!err) {
		err = commit(in, &sg, &applied, ctx);
	}
	if (changed)
		*changed = applied > 0;
	stage_free(&sg);
	return err;
}

/* ------------------------------------------------------------ flat scanner
 *
 * Most indicators in a bundle are flat objects of plain ASCII strings: for
 * those, jansson building a tree per object is most of the load time. The
 * scanner reads such an object in place and hands the same intel_fields to
 * the same checks. Anything it is not sure to read exactly as jansson would
 * (an escape, a byte outside printable ASCII, a nested object or array
 * other than the markings, a number it would have to judge, a repeated
 * key, more than SCAN_MAX_KEYS keys) makes it give up, and the object goes
 * through jansson as before: the fast path never accepts what the slow one
 * refuses. What it accepts is a complete JSON value, so its length is the
 * element's, and the stream need not scan it again. It writes nothing.
 *
 * Why a scanner of its own: the two JSON scanners already in the tree do
 * other jobs. rk_json_stream (common) only finds where each element of the
 * objects array begins and ends; the line scanner in logs_json.c walks any
 * depth and hands strings at known dotted paths to a logs_reader as
 * observables, unescaping them, with no way to say "give up, this one is
 * for jansson" or to return a typed record.
 */

#define SCAN_MAX_KEYS 32

typedef struct scan {
	const char *p, *end;
} scan;

static void scan_ws(scan *sc)
{
	while (sc->p < sc->end &&
	       (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
		sc->p++;
}

/* A string of printable ASCII without escapes: *out inside the quotes. */
static bool scan_plain_string(scan *sc, span *out)
{
	if (sc->p >= sc->end || *sc->p != '"')
		return false;
	const char *b = sc->p + 1, *q = b;
#ifdef __SSE2__
	/* 16 bytes at a time: the first quote, backslash, control, DEL or
	 * non-ASCII byte (signed compare: bytes >= 0x80 are below 0x20) */
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i del = _mm_set1_epi8(0x7f), space = _mm_set1_epi8(0x20);
	while (sc->end - q >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
		__m128i m =
		    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
				 _mm_or_si128(_mm_cmpeq_epi8(v, del), _mm_cmplt_epi8(v, space)));
		unsigned bits = (unsigned)_mm_movemask_epi8(m);
		if (bits) {
			q += __builtin_ctz(bits);
			goto stop;
		}
		q += 16;
	}
#endif
	while (q < sc->end) {
		unsigned char c = (unsigned char)*q;
		if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f)
			goto stop;
		q++;
	}
	return false;
stop:
	if (*q != '"')
		return false;
	out->p = b;
	out->n = (size_t)(q - b);
	sc->p = q + 1;
	return true;
}

static bool scan_char(scan *sc, char c)
{
	if (sc->p < sc->end && *sc->p == c) {
		sc->p++;
		return true;
	}
	return false;
}

static bool scan_literal(scan *sc, const char *lit, size_t n)
{
	if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, lit, n) != 0)
		return false;
	sc->p += n;
	return true;
}

/* A JSON number jansson reads without complaint: small integers and
 * plain decimals only. */
static bool scan_number(scan *sc)
{
	const char *q = sc->p;
	if (q < sc->end && *q == '-')
		q++;
	const char *digits = q;
	while (q < sc->end && *q >= '0' && *q <= '9')
		q++;
	size_t n = (size_t)(q - digits);
	if (n == 0 || n > 15 || (n > 1 && *digits == '0'))
		return false;
	if (q < sc->end && *q == '.') {
		const char *frac = ++q;
		while (q < sc->end && *q >= '0' && *q <= '9')
			q++;
		if (q == frac || q - frac > 15)
			return false;
	}
	if (q < sc->end && (*q == 'e' || *q == 'E'))
		return false;
	sc->p = q;
	return true;
}

/* Keys the scanner knows: the string fields, then these. */
enum { K_TYPE = F_STRINGS, K_REVOKED, K_MARKINGS, K_UNKNOWN };

static int key_kind(span k)
{
#define IS(lit) (k.n == sizeof(lit) - 1 && memcmp(k.p, lit, sizeof(lit) - 1) == 0)
	switch (k.n) {
	case 2:
		return IS("id") ? F_ID : K_UNKNOWN;
	case 4:
		return IS("type") ? K_TYPE : IS("name") ? F_NAME : K_UNKNOWN;
	case 7:
		return IS("created")   ? F_CREATED
		       : IS("pattern") ? F_PATTERN
		       : IS("revoked") ? K_REVOKED
				       : K_UNKNOWN;
	case 8:
		return IS("modified") ? F_MODIFIED : K_UNKNOWN;
	case 10:
		return IS("valid_from") ? F_VALID_FROM : K_UNKNOWN;
	case 11:
		return IS("valid_until") ? F_VALID_UNTIL : K_UNKNOWN;
	case 12:
		return IS("pattern_type") ? F_PATTERN_TYPE : K_UNKNOWN;
	case 14:
		return IS("created_by_ref") ? F_CREATED_BY : K_UNKNOWN;
	case 19:
		return IS("object_marking_refs") ? K_MARKINGS : K_UNKNOWN;
	default:
		return K_UNKNOWN;
	}
#undef IS
}

/* Reads one flat object at text[0]; its length, or 0 to leave it to the
 * stream and jansson. *is_indicator tells whether type was "indicator". */
static size_t scan_flat(const char *text, size_t len, intel_fields *f, bool *is_indicator)
{
	scan sc = {text, text + len};
	span unknown[SCAN_MAX_KEYS];
	size_t nkeys = 0, nunknown = 0;
	uint32_t seen = 0;
	span type = {NULL, 0};

	memset(f, 0, sizeof(*f));
	if (!scan_char(&sc, '{'))
		return 0;
	scan_ws(&sc);
	if (scan_char(&sc, '}'))
		return 0; /* {} has no type: jansson's path says so */
	for (;;) {
		span k, v;
		scan_ws(&sc);
		if (nkeys++ == SCAN_MAX_KEYS || !scan_plain_string(&sc, &k))
			return 0;
		int kind = key_kind(k);
		if (kind == K_UNKNOWN) {
			for (size_t i = 0; i < nunknown; i++)
				if (unknown[i].n == k.n && memcmp(unknown[i].p, k.p, k.n) == 0)
					return 0; /* a repeated key */
			unknown[nunknown++] = k;
		} else {
			if (seen & (1u << kind))
				return 0;
			seen |= 1u << kind;
		}
		scan_ws(&sc);
		if (!scan_char(&sc, ':'))
			return 0;
		scan_ws(&sc);
		switch (kind) {
		case K_TYPE:
			if (!scan_plain_string(&sc, &type))
				return 0;
			break;
		case K_REVOKED:
			if (scan_literal(&sc, "true", 4))
				f->revoked = true;
			else if (!scan_literal(&sc, "false", 5))
				return 0;
			break;
		case K_MARKINGS:
			if (!scan_char(&sc, '['))
				return 0;
			f->has_markings = true;
			scan_ws(&sc);
			if (scan_char(&sc, ']'))
				break;
			for (;;) {
				scan_ws(&sc);
				if (f->n_markings == SENSOR_MARKINGS_MAX ||
				    !scan_plain_string(&sc, &f->markings[f->n_markings]))
					return 0;
				f->n_markings++;
				scan_ws(&sc);
				if (scan_char(&sc, ']'))
					break;
				if (!scan_char(&sc, ','))
					return 0;
			}
			break;
		case K_UNKNOWN:
			if (!(sc.p < sc.end && *sc.p == '"'
				  ? scan_plain_string(&sc, &v)
				  : scan_literal(&sc, "true", 4) || scan_literal(&sc, "false", 5) ||
					scan_literal(&sc, "null", 4) || scan_number(&sc)))
				return 0;
			break;
		default:
			/* not a plain string: jansson words the error */
			if (!scan_plain_string(&sc, &v))
				return 0;
			field_set(f, (size_t)kind, v);
			break;
		}
		scan_ws(&sc);
		if (scan_char(&sc, '}'))
			break;
		if (!scan_char(&sc, ','))
			return 0;
	}
	if (!type.p)
		return 0;
	*is_indicator = span_is(type, "indicator", 9);
	return (size_t)(sc.p - text);
}

/* ---------------------------------------------------------------- loading */

/* A refusal kept until the objects array is known to be well-formed:
 * index, code, then id, path and message, each NUL-terminated. */
static rk_err report_defer(intel_stage *sg, size_t index, span id, const rk_errctx *why)
{
	rk_buf *b = &sg->reports;
	int code = why->code;
	rk_err err;
	if ((err = rk_buf_append(b, &index, sizeof index)) ||
	    (err = rk_buf_append(b, &code, sizeof code)) ||
	    (err = rk_buf_append(b, id.p ? id.p : "", id.p ? id.n : 0)) ||
	    (err = rk_buf_append(b, "", 1)) ||
	    (err = rk_buf_append(b, why->path, strlen(why->path) + 1)) ||
	    (err = rk_buf_append(b, why->msg, strlen(why->msg) + 1)))
		return err;
	sg->n_reports++;
	return RK_OK;
}

static void reports_emit(const intel_stage *sg, sensor_intel_err_fn on_err, void *arg)
{
	const char *p = sg->reports.data, *end = p + sg->reports.len;
	while (p && p < end) {
		size_t index;
		int code;
		rk_errctx why;
		memcpy(&index, p, sizeof index);
		p += sizeof index;
		memcpy(&code, p, sizeof code);
		p += sizeof code;
		const char *id = p;
		p += strlen(p) + 1;
		rk_errctx_clear(&why);
		why.code = (rk_err)code;
		snprintf(why.path, sizeof why.path, "%s", p);
		p += strlen(p) + 1;
		snprintf(why.msg, sizeof why.msg, "%s", p);
		p += strlen(p) + 1;
		on_err(arg, index, id, &why);
	}
}

/* One element of the objects array at text[0] (len bytes available):
 * read flat, or measured by the stream and parsed by jansson. *used is
 * its length; *more when text ends inside it. */
static rk_err stage_element(intel_stage *sg, rk_json_stream *js, const char *text, size_t len,
			    bool eof, size_t *used, bool *more, bool *malformed)
{
	intel_fields f;
	bool is_ind = false;
	size_t index = js->n;
	rk_errctx why;
	rk_err err;

	*more = false;
	*malformed = false;
	size_t elen = scan_flat(text, len, &f, &is_ind);
	if (elen) {
		rk_json_stream_passed(js);
		*used = elen;
		if (!is_ind) {
			sg->other_types++;
			return RK_OK;
		}
		rk_errctx_clear(&why);
		err = stage_add(sg, &f, &why);
		if (err == RK_ENOMEM || err == RK_ETOOBIG)
			return err;
		if (err) {
			sg->bad++;
			return report_defer(sg, index, f.id, &why);
		}
		return RK_OK;
	}
	if (rk_json_stream_element(js, text, len, eof, &elen, more) != RK_OK) {
		*malformed = true;
		return RK_OK;
	}
	if (*more)
		return RK_OK;
	*used = elen;
	json_t *obj = NULL;
	rk_errctx_clear(&why);
	if (rk_json_parse(text, elen, RK_MAX_JSON_DEPTH, &obj, &why) != RK_OK) {
		span none = {NULL, 0};
		return report_defer(sg, index, none, &why);
	}
	err = stage_json(sg, obj, &why);
	if (err && err != RK_ENOMEM && err != RK_ETOOBIG) {
		const json_t *id = json_object_get(obj, "id");
		span ids = {NULL, 0};
		if (json_is_string(id))
			ids = json_span(id);
		err = report_defer(sg, index, ids, &why);
	}
	json_decref(obj);
	return err;
}

/* Bundle files can be far larger than what jansson holds comfortably as
 * one tree (a million indicators are ~300 MB of text). */
#define INTEL_MAX_FILE ((size_t)4 << 30)
#define INTEL_MIN_OBJECT 48 /* bytes; bounds the elements, as the slice array did */

/* Where the text comes from: all of it in memory, or a file read through
 * a window. buf[pos, have) is what is read and not yet passed. */
typedef struct source {
	char *buf;
	size_t pos, have, cap;
	bool eof;
	int fd;	      /* -1: memory */
	size_t total; /* bytes read from fd */
	const char *name;
	bool positional; /* read with pread from start (a second reader of fd) */
	off_t start;
} source;

/* The file offset of buf[pos]. */
static size_t source_offset(const source *s)
{
	return (size_t)s->start + s->total - (s->have - s->pos);
}

/* Keeps buf[pos, have) and reads more after it, growing the window when
 * it is full (an element larger than the window). */
static rk_err source_fill(source *s, rk_errctx *ctx)
{
	if (s->fd < 0 || s->eof)
		return RK_OK;
	size_t keep = s->have - s->pos;
	if (s->pos) {
		memmove(s->buf, s->buf + s->pos, keep);
		s->pos = 0;
		s->have = keep;
	}
	if (s->have == s->cap) {
		size_t cap = s->cap * 2;
		char *nb = realloc(s->buf, cap);
		if (!nb)
			return rk_fail(ctx, RK_ENOMEM, s->name, "out of memory reading file");
		s->buf = nb;
		s->cap = cap;
	}
	while (s->have < s->cap) {
		ssize_t n = s->positional ? pread(s->fd, s->buf + s->have, s->cap - s->have,
						  s->start + (off_t)s->total)
					  : read(s->fd, s->buf + s->have, s->cap - s->have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return rk_fail(ctx, RK_EIO, s->name, "read error: %s", strerror(errno));
		if (n == 0) {
			s->eof = true;
			break;
		}
		s->have += (size_t)n;
		s->total += (size_t)n;
		if (s->total > INTEL_MAX_FILE)
			return rk_fail(ctx, RK_ETOOBIG, s->name, "larger than %zu bytes",
				       INTEL_MAX_FILE);
	}
	return RK_OK;
}

/*
 * Two readers of one bundle file (sensor_intel_set_load_threads). The
 * second stages the objects array from `at`, an element start guessed
 * near the middle of the file (a '{' after a '}' and a ','), while the
 * first stages from the beginning. The first parses in order, so it knows
 * where the elements of the objects array start: when it stands at `at`,
 * the guess was right; it waits for the second and stops there (the
 * second's stage follows its own). When it passes `at` otherwise (the
 * guess was inside a string or a nested value, or after the array) it
 * cancels the second and reads on alone. Either way the outcome is the
 * sequential one.
 *
 * Memory: the second reader never grows its window. An element larger
 * than the window (or text that is no element, when the guess was wrong:
 * it would be read to the end of the file before it is found malformed)
 * makes it give up; the first then reads on alone from `at`.
 */
typedef struct intel_split {
	size_t at;	    /* file offset of the guessed element start */
	atomic_bool cancel; /* the second's work is of no use */
	pthread_t thread;   /* the second reader */
	bool joined;
	bool reached;	/* the first stood at `at` and the second's part counts ... */
	size_t n_first; /* ... after this many elements */
	/* the second reader's part */
	intel_stage sg;
	source s;
	size_t max_objects;
	size_t arrived; /* element starts it stood at */
	bool bundle;	/* it read to the array's end */
	bool gave_up;	/* at an element larger than its window, or cancelled */
	rk_err err;
	rk_errctx ctx;
} intel_split;

/*
 * Reads the objects array of the text into sg. RK_OK and *bundle: every
 * element was read (refusals deferred in sg). RK_OK and !*bundle: the text
 * is not a bundle rk_json_array_slices would cut (not JSON, no "objects"
 * array, more than max_objects elements): the caller reads it whole.
 * Other errors (memory, reading the file) are final. With sp, this is one
 * of two readers (intel_split): the second when `second` (it starts at an
 * element, gives up once cancelled or when its window is too small), else
 * the first (at sp->at it waits for the second and stops with sp->reached
 * unless the second gave up; past sp->at it cancels the second).
 */
static rk_err stage_bundle(intel_stage *sg, source *s, size_t max_objects, intel_split *sp,
			   bool second, bool *bundle, rk_errctx *ctx)
{
	rk_json_stream js;
	rk_err err;
	*bundle = false;
	if (second)
		rk_json_stream_init_in_array(&js, "objects", RK_MAX_JSON_DEPTH);
	else
		rk_json_stream_init(&js, "objects", RK_MAX_JSON_DEPTH);
	for (;;) {
		size_t used = 0;
		bool more = false, malformed = false;
		const char *text = s->buf + s->pos;
		size_t len = s->have - s->pos;
		if (js.at_element && sp && second) {
			sp->arrived = js.n + 1;
			if (atomic_load_explicit(&sp->cancel, memory_order_relaxed)) {
				sp->gave_up = true;
				return RK_OK;
			}
		}
		if (js.at_element && sp && !second && js.n < max_objects &&
		    source_offset(s) >= sp->at) {
			if (source_offset(s) == sp->at) {
				pthread_join(sp->thread, NULL);
				sp->joined = true;
				if (!sp->gave_up) {
					sp->reached = true;
					sp->n_first = js.n;
					return RK_OK;
				}
			} else {
				atomic_store(&sp->cancel, true);
			}
			sp = NULL; /* the guess was wrong, or the second gave up: on alone */
		}
		if (!js.at_element) {
			if (rk_json_stream_next(&js, text, len, s->eof, &used, &more) != RK_OK)
				return RK_OK;
		} else if (js.n >= max_objects) {
			return RK_OK;
		} else if ((err = stage_element(sg, &js, text, len, s->eof, &used, &more,
						&malformed)) != RK_OK) {
			return rk_fail(ctx, err, NULL, "%s",
				       err == RK_ENOMEM ? "out of memory loading indicators"
							: "too many indicators");
		} else if (malformed) {
			return RK_OK; /* not an element rk_json_array_slices would cut */
		}
		if (more) {
			if (sp && second &&
			    ((s->pos == 0 && s->have == s->cap) ||
			     atomic_load_explicit(&sp->cancel, memory_order_relaxed))) {
				sp->gave_up = true; /* the window would grow, or no use */
				return RK_OK;
			}
			if ((err = source_fill(s, ctx)) != RK_OK)
				return err;
			continue;
		}
		s->pos += used;
		if (js.done) {
			*bundle = true;
			return RK_OK;
		}
	}
}

static void *split_main(void *arg)
{
	intel_split *sp = arg;
	sp->err = stage_bundle(&sp->sg, &sp->s, sp->max_objects, sp, true, &sp->bundle, &sp->ctx);
	return NULL;
}

static bool json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The first '{' after a '}' and a ',' in b[0, n), or NULL. */
static const char *guess_element(const char *b, size_t n)
{
	const char *end = b + n;
	for (const char *p = memchr(b, '}', n); p; p = memchr(p + 1, '}', (size_t)(end - p - 1))) {
		const char *q = p + 1;
		while (q < end && json_space(*q))
			q++;
		if (q >= end || *q != ',')
			continue;
		for (q++; q < end && json_space(*q); q++)
			;
		if (q < end && *q == '{')
			return q;
	}
	return NULL;
}

/* Windows read from the middle looking for a guess, each overlapping the
 * one before by SPLIT_OVERLAP bytes (a separator cut by a window's end). */
#define SPLIT_TRIES 4
#define SPLIT_OVERLAP 32

/*
 * Reads windows from the middle of the file into the second reader's
 * source until one holds a guessed element start, and starts the second
 * reader there. False when none does (a few huge objects) or there is no
 * thread: the first reads alone then. sp is cleaned up by split_cleanup
 * either way.
 */
static bool split_start(intel_split *sp, int fd, size_t size, size_t window, const char *name,
			size_t max_objects)
{
	memset(sp, 0, sizeof *sp);
	atomic_init(&sp->cancel, false);
	rk_errctx_clear(&sp->ctx);
	sp->max_objects = max_objects;
	sp->s.fd = fd;
	sp->s.name = name;
	sp->s.positional = true;
	sp->s.cap = window;
	if (!(sp->s.buf = malloc(window)))
		return false;
	for (size_t t = 0, off = size / 2; t < SPLIT_TRIES; t++, off += window - SPLIT_OVERLAP) {
		ssize_t n;
		do
			n = pread(fd, sp->s.buf, window, (off_t)off);
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			return false;
		const char *q = guess_element(sp->s.buf, (size_t)n);
		if (q) {
			sp->s.start = (off_t)off;
			sp->s.have = sp->s.total = (size_t)n;
			sp->s.pos = (size_t)(q - sp->s.buf);
			sp->at = source_offset(&sp->s);
			return pthread_create(&sp->thread, NULL, split_main, sp) == 0;
		}
	}
	return false;
}

static void split_cleanup(intel_split *sp)
{
	free(sp->s.buf);
	sp->s.buf = NULL;
	stage_free(&sp->sg);
}

/*
 * The first reader stood at the second's start: what one reader would
 * have concluded from both parts. Too many elements or a malformed second
 * part make the text no bundle read in pieces (*bundle false); the
 * second's final error is the load's; else its stage goes after sg's.
 */
static rk_err split_join(intel_stage *sg, intel_split *sp, size_t max_objects, bool *bundle,
			 rk_errctx *ctx)
{
	*bundle = false;
	/* one reader would have stopped at the element numbered max_objects */
	if (sp->n_first + sp->arrived > max_objects)
		return RK_OK;
	if (sp->err)
		return rk_fail(ctx, sp->err, sp->ctx.path, "%s", sp->ctx.msg);
	if (!sp->bundle)
		return RK_OK;
	rk_err err = stage_append(sg, &sp->sg, sp->n_first);
	if (err)
		return rk_fail(ctx, err, NULL, "%s",
			       err == RK_ENOMEM ? "out of memory loading indicators"
						: "too many indicators");
	*bundle = true;
	return RK_OK;
}

static void report(sensor_intel_err_fn on_err, void *arg, size_t index, const json_t *obj,
		   const rk_errctx *why)
{
	if (!on_err)
		return;
	const json_t *id = json_object_get(obj, "id");
	on_err(arg, index, json_is_string(id) ? json_string_value(id) : "", why);
}

/* Applies one element of a text that is not a bundle, already parsed. */
static rk_err apply_one(sensor_intel *in, const json_t *obj, size_t index,
			sensor_intel_err_fn on_err, void *arg, size_t *n_bad)
{
	rk_errctx ectx;
	rk_errctx_clear(&ectx);
	rk_err err = sensor_intel_apply(in, obj, NULL, &ectx);
	if (err == RK_ENOMEM)
		return err;
	if (err) {
		(*n_bad)++;
		report(on_err, arg, index, obj, &ectx);
	}
	return RK_OK;
}

/* Reports the stage's refusals and commits it. */
static rk_err stage_finish(sensor_intel *in, intel_stage *sg, sensor_intel_err_fn on_err, void *arg,
			   size_t *n_bad, rk_errctx *ctx)
{
	if (on_err)
		reports_emit(sg, on_err, arg);
	if (n_bad)
		*n_bad = sg->n_reports;
	size_t applied;
	return commit(in, sg, &applied, ctx);
}

rk_err sensor_intel_load_bundle(sensor_intel *in, const char *path, sensor_intel_err_fn on_err,
				void *arg, size_t *n_bad, rk_errctx *ctx)
{
	intel_stage sg;
	bool is_stdin = strcmp(path, "-") == 0;
	source s = {.fd = -1, .name = is_stdin ? "<stdin>" : path};
	struct stat sb;
	bool bundle = false;
	rk_err err;

	memset(&sg, 0, sizeof sg);
	if (n_bad)
		*n_bad = 0;
	if (is_stdin)
		s.fd = STDIN_FILENO;
	else if ((s.fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return rk_fail(ctx, RK_EIO, path, "cannot open: %s", strerror(errno));
	/* standard input, pipes and other streams are read whole, as before */
	bool regular = !is_stdin && fstat(s.fd, &sb) == 0 && S_ISREG(sb.st_mode);
	if (regular && (size_t)sb.st_size > INTEL_MAX_FILE) {
		err = rk_fail(ctx, RK_ETOOBIG, path, "larger than %zu bytes", INTEL_MAX_FILE);
		goto out;
	}
	s.cap = in->window;
	if (!(s.buf = malloc(s.cap))) {
		err = rk_fail(ctx, RK_ENOMEM, s.name, "out of memory reading file");
		goto out;
	}
	if (regular) {
		size_t size = (size_t)sb.st_size, max_objects = size / INTEL_MIN_OBJECT + 16;
		/* two readers when the caller has a core to spare and each
		 * reader's part is at least a window */
		intel_split sp;
		bool tried = in->load_threads >= 2 && size / 2 >= in->window;
		bool split = tried && split_start(&sp, s.fd, size, in->window, s.name, max_objects);
		if ((err = source_fill(&s, ctx)) == RK_OK)
			err = stage_bundle(&sg, &s, max_objects, split ? &sp : NULL, false, &bundle,
					   ctx);
		if (split) {
			if (!sp.reached)
				atomic_store(&sp.cancel, true);
			if (!sp.joined)
				pthread_join(sp.thread, NULL);
			if (!err && sp.reached)
				err = split_join(&sg, &sp, max_objects, &bundle, ctx);
			pthread_rwlock_wrlock(&in->lock);
			*(sp.reached ? &in->splits_kept : &in->splits_dropped) += 1;
			pthread_rwlock_unlock(&in->lock);
		}
		if (tried)
			split_cleanup(&sp);
		if (err)
			goto out;
		if (bundle) {
			free(s.buf);
			s.buf = NULL;
			err = stage_finish(in, &sg, on_err, arg, n_bad, ctx);
			goto out;
		}
		/* not a bundle read in pieces: read it whole and say what it is */
		stage_free(&sg);
		if (lseek(s.fd, 0, SEEK_SET) != 0) {
			err = rk_fail(ctx, RK_EIO, path, "read error: %s", strerror(errno));
			goto out;
		}
		s.pos = s.have = s.total = 0;
		s.eof = false;
	}
	do
		err = source_fill(&s, ctx);
	while (!err && !s.eof);
	if (!err)
		err = sensor_intel_load_text(in, s.buf, s.have, path, on_err, arg, n_bad, ctx);
out:
	if (s.fd >= 0 && !is_stdin)
		close(s.fd);
	free(s.buf);
	stage_free(&sg);
	return err;
}

rk_err sensor_intel_load_text(sensor_intel *in, char *data, size_t len, const char *name,
			      sensor_intel_err_fn on_err, void *arg, size_t *n_bad, rk_errctx *ctx)
{
	const char *path = name;
	size_t bad = 0;
	json_t *doc = NULL;
	intel_stage sg;
	source s = {.buf = data, .have = len, .cap = len, .eof = true, .fd = -1, .name = name};
	bool bundle = false;
	rk_err err;

	memset(&sg, 0, sizeof sg);
	if (n_bad)
		*n_bad = 0;
	err = stage_bundle(&sg, &s, len / INTEL_MIN_OBJECT + 16, NULL, false, &bundle, ctx);
	if (err || bundle) {
		if (!err)
			err = stage_finish(in, &sg, on_err, arg, n_bad, ctx);
		stage_free(&sg);
		return err;
	}
	stage_free(&sg);
	/* not a bundle (or not JSON at all): parse it whole to say which */
	rk_errctx pctx;
	rk_errctx_clear(&pctx);
	err = rk_json_parse(data, len, RK_MAX_JSON_DEPTH, &doc, &pctx);
	if (err) {
		rk_fail(ctx, err, path, "not JSON (%s: %s)", pctx.path, pctx.msg);
		goto out;
	}
	if (json_is_array(doc)) {
		for (size_t i = 0; i < json_array_size(doc) && !err; i++)
			err = apply_one(in, json_array_get(doc, i), i, on_err, arg, &bad);
	} else if (json_is_object(doc) && !json_object_get(doc, "objects")) {
		err = apply_one(in, doc, 0, on_err, arg, &bad);
	} else {
		err = rk_fail(
		    ctx, RK_EINVAL, path,
		    "not a STIX bundle (an \"objects\" array), an array of objects or an object");
	}
out:
	if (n_bad)
		*n_bad = bad;
	json_decref(doc);
	return err;
}

/* ---------------------------------------------------------------- reading */

void sensor_intel_replace(sensor_intel *in, sensor_intel *from)
{
	sensor_intel held; /* its lock is never used */
#define SWAP_MEMBER(m) (held.m = in->m, in->m = from->m, from->m = held.m)
	pthread_rwlock_wrlock(&in->lock);
	/* every member but the lock (keep in step with struct sensor_intel) */
	SWAP_MEMBER(entries);
	SWAP_MEMBER(n);
	SWAP_MEMBER(cap);
	SWAP_MEMBER(text);
	SWAP_MEMBER(garbage);
	SWAP_MEMBER(refs);
	SWAP_MEMBER(slots);
	SWAP_MEMBER(n_slots);
	SWAP_MEMBER(st);
	SWAP_MEMBER(window);
	SWAP_MEMBER(load_threads);
	SWAP_MEMBER(splits_kept);
	SWAP_MEMBER(splits_dropped);
	pthread_rwlock_unlock(&in->lock);
#undef SWAP_MEMBER
}

rk_err sensor_intel_build(sensor_intel *in, rk_time now, match_reject_fn on_reject, void *arg,
			  match **out, rk_errctx *ctx)
{
	rk_err err = RK_OK;
	rk_buf pat_text;
	char id[ID_LEN + 1];
	*out = NULL;
	/* the matcher reports handles; ids holds their ids (sensor_ids.c) */
	sensor_ids *ids = sensor_ids_new();
	match_builder *b = match_builder_new(now, on_reject, arg);
	if (!b || !ids) {
		match_builder_free(b);
		sensor_ids_free(ids);
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory building the matcher");
	}
	rk_buf_init(&pat_text);
	pthread_rwlock_rdlock(&in->lock);
	for (size_t i = 0; i < in->n && !err; i++) {
		const intel_entry *e = &in->entries[i];
		rec_view r = rec_read(in->text.p, e);
		if (!(r.flags & REC_STIX))
			continue;
		unsigned t = r.flags >> REC_TEMPLATE_SHIFT;
		rk_buf_reset(&pat_text);
		if ((t &&
		     (err = rk_buf_append(&pat_text, TEMPLATES[t].prefix, TEMPLATES[t].len))) ||
		    (err = rk_buf_append(&pat_text, r.pattern.p, r.pattern.n)) ||
		    (t && (err = rk_buf_append(&pat_text, "']", 2)))) {
			rk_fail(ctx, err, NULL, "out of memory building the matcher");
			break;
		}
		id_format(e, id);
		if ((err = e->id_case ? sensor_ids_add(ids, id)
				      : sensor_ids_add_uuid(ids, e->uuid)) != RK_OK) {
			rk_fail(ctx, err, NULL, "out of memory building the matcher");
			break;
		}
		err = match_builder_add(b, id, pat_text.data, r.valid_from, r.valid_until,
					r.flags & REC_REVOKED, ctx);
	}
	pthread_rwlock_unlock(&in->lock);
	rk_buf_cleanup(&pat_text);
	if (!err)
		err = match_build(b, out, ctx);
	match_builder_free(b);
	if (err) {
		sensor_ids_free(ids);
		return err;
	}
	sensor_ids_trim(ids);
	match_attach(*out, ids, sensor_ids_free);
	return RK_OK;
}

static void copy_span(char *dst, size_t cap, span s)
{
	size_t n = s.n < cap ? s.n : cap - 1;
	if (n)
		memcpy(dst, s.p, n);
	dst[n] = '\0';
}

bool sensor_intel_lookup(sensor_intel *in, const char *id, sensor_indicator_info *out)
{
	intel_entry key;
	bool found = false;
	if (!id_parse(id, strlen(id), key.uuid, &key.id_case))
		return false; /* the set holds valid ids only */
	pthread_rwlock_rdlock(&in->lock);
	uint32_t v = in->slots[find_slot(in, &key, entry_hash(&key))].entry;
	if (v) {
		const intel_entry *e = &in->entries[v - 1];
		rec_view r = rec_read(in->text.p, e);
		span none = {"", 0};
		copy_span(out->name, sizeof out->name, r.flags & REC_NAME ? r.name : none);
		copy_span(out->created_by, sizeof out->created_by,
			  r.flags & REC_BY ? pool_get(&in->refs, r.created_by) : none);
		out->n_markings = 0;
		if (r.flags & REC_MARKS) {
			span list = pool_get(&in->refs, r.markings);
			const char *p = list.p, *end = list.p + list.n;
			while (p < end && out->n_markings < SENSOR_MARKINGS_MAX) {
				uint16_t n;
				memcpy(&n, p, 2);
				span m = {p + 2, n};
				copy_span(out->markings[out->n_markings++], SENSOR_ID_MAX, m);
				p += 2 + m.n;
			}
		}
		out->modified = e->modified;
		out->valid_from = r.valid_from;
		out->valid_until = r.valid_until;
		out->revoked = r.flags & REC_REVOKED;
		found = true;
	}
	pthread_rwlock_unlock(&in->lock);
	return found;
}

void sensor_intel_get_stats(sensor_intel *in, sensor_intel_stats *st)
{
	pthread_rwlock_rdlock(&in->lock);
	*st = in->st;
	pthread_rwlock_unlock(&in->lock);
}
