/*
 * match_int.h: the matcher's tables, shared by match_build.c (which fills
 * them once) and match_lookup.c (which only reads them). Not for use
 * outside src/match/.
 *
 * Invariants: after match_build nothing here changes. A handle field with
 * MATCH_CHAIN set is an index into `chain` (a list of handles linked by
 * `next`, ended by UINT32_MAX) rather than a handle. In a u32 table an
 * empty slot has handle UINT32_MAX; in a byte table an empty slot has tag 0
 * (tags are made odd). Keys in the arena are a length (one byte, or 0xFF
 * and four bytes) followed by the key bytes.
 */
#ifndef RK_MATCH_INT_H
#define RK_MATCH_INT_H

#include "match.h"

#define MATCH_CHAIN 0x80000000u
#define MATCH_EMPTY UINT32_MAX

/* Byte tables: IPv6 prefix lengths 0..128, then the named kinds. */
enum {
	MATCH_T_V6 = 0,
	MATCH_T_DOMAIN = 129,
	MATCH_T_URL,
	MATCH_T_EMAIL,
	MATCH_T_MD5,
	MATCH_T_SHA1,
	MATCH_T_SHA256,
	MATCH_T_SHA512,
	MATCH_T_COUNT
};

typedef struct {
	uint32_t key, handle;
} match_u32ent;

typedef struct {
	uint32_t tag, off, handle;
} match_bent;

typedef struct {
	uint32_t cap, n;
	match_u32ent *e;
} match_u32tab;

typedef struct {
	uint32_t cap, n;
	match_bent *e;
} match_btab;

typedef struct {
	uint32_t handle, next;
} match_link;

struct match {
	match_u32tab v4[33];
	uint8_t v4_lens[33]; /* prefix lengths present, longest first */
	size_t n_v4_lens;
	match_btab bt[MATCH_T_COUNT];
	uint8_t v6_lens[129];
	size_t n_v6_lens;
	char *arena;
	size_t arena_len;
	match_link *chain;
	size_t n_chain;
	char *ids;         /* NUL-terminated ids */
	uint32_t *id_off;  /* per handle */
	size_t n_handles;
	struct match_eval {
		pattern *p;
		uint32_t handle;
	} *eval;
	size_t n_eval;
	match_stats st;
};

uint64_t match_hash_bytes(const void *p, size_t len);
uint32_t match_hash_u32(uint32_t k);
/* Slot for a hash in a table of cap slots. */
static inline uint32_t match_slot(uint64_t h, uint32_t cap)
{
	return (uint32_t)(((h & 0xffffffffu) * (uint64_t)cap) >> 32);
}
/* Length and bytes of the key at off. */
const char *match_key_at(const char *arena, uint32_t off, size_t *len);
/* Decodes 2*n hex digits into n bytes; false if not hex. */
bool match_unhex(const char *hex, size_t n, uint8_t *out);

#endif
