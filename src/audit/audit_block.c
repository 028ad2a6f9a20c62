/*
 * audit_block.c: the readers index's blocks: which records make a block,
 * and the Bloom filter of a block's object ids.
 *
 * The records are cut into consecutive blocks, from record 1 on. A block
 * is full, and ends, at the first record at which it holds audit_block_ids
 * ids (counted with repeats, as the records' ids texts name them) or
 * audit_block_records records, whichever comes first; the next block
 * starts at the record after. So a block ends at a record boundary, holds
 * AUDIT_BLOCK_IDS to AUDIT_BLOCK_IDS + AUDIT_MAX_IDS - 1 ids (or fewer in
 * as many as AUDIT_BLOCK_RECORDS records), and where the blocks end is a
 * function of the records alone: the writer, a migration and audit_verify
 * apply the same rule (audit_blk_full) and must find the same blocks. The
 * records after the last full block are the unfinished block, which has no
 * row (audit_chain.c has the table).
 *
 * Filter. A blocked Bloom filter (Putze, Sanders, Singler 2007): one
 * 64-bit word per id, in which three bits are set, so a probe reads eight
 * bytes. audit_idh is already a well-mixed 64-bit hash, so no rehashing:
 * the low 32 bits choose the word (multiply-shift onto the word count,
 * which needs no power of two), bits 40..57 choose the three bits, six bits
 * each. AUDIT_BLOOM_BITS_PER_ID (16) bits per id, i.e. n_ids / 4 words
 * (at least one), give about 0.8% false positives: with four ids per word
 * on average, a word's load is Poisson(4) and a probe finds its three bits
 * set by other ids with probability sum_j P(j) (1 - (63/64)^(3j))^3. A
 * false positive costs a scan of one block's records, never a wrong
 * answer: every query matches the id in the records' text.
 *
 * On disk the filter is its words in order, each as 8 bytes little endian,
 * so a word and a bit are found by byte arithmetic on any host: bit b of
 * word w is bit (b % 8) of byte 8w + b / 8. The size, 8 * audit_bloom_words
 * (n_ids), follows from the block's n_ids; a blob of another size does not
 * match its block.
 *
 * Invariant: every id added to a block's accumulator is present in the
 * filter audit_bloom_build makes of it (no false negatives). Pure
 * functions and caller-owned state: safe from any thread.
 */
#include <stdlib.h>
#include <string.h>

#include "audit_int.h"

uint32_t audit_block_ids = AUDIT_BLOCK_IDS;
uint32_t audit_block_records = AUDIT_BLOCK_RECORDS;

/* ---------------------------------------------------------------- filter */

size_t audit_bloom_words(uint64_t n_ids)
{
	uint64_t w = (n_ids * AUDIT_BLOOM_BITS_PER_ID + 63) / 64;
	return w ? (size_t)w : 1;
}

static size_t word_of(int64_t idh, size_t n_words)
{
	return (size_t)(((uint64_t)(uint32_t)idh * (uint64_t)n_words) >> 32);
}

/* The three bit numbers (0..63) of an id hash. */
static void bits_of(int64_t idh, unsigned b[3])
{
	uint64_t h = (uint64_t)idh;
	b[0] = (unsigned)((h >> 40) & 63);
	b[1] = (unsigned)((h >> 46) & 63);
	b[2] = (unsigned)((h >> 52) & 63);
}

void audit_bloom_set(unsigned char *bloom, size_t n_words, int64_t idh)
{
	unsigned char *w = bloom + 8 * word_of(idh, n_words);
	unsigned b[3];
	bits_of(idh, b);
	for (int i = 0; i < 3; i++)
		w[b[i] / 8] |= (unsigned char)(1u << (b[i] % 8));
}

bool audit_bloom_word_has(const unsigned char word[8], int64_t idh)
{
	unsigned b[3];
	bits_of(idh, b);
	for (int i = 0; i < 3; i++)
		if (!(word[b[i] / 8] & (1u << (b[i] % 8))))
			return false;
	return true;
}

size_t audit_bloom_offset(size_t bytes, int64_t idh)
{
	return 8 * word_of(idh, bytes / 8);
}

bool audit_bloom_has(const unsigned char *bloom, size_t bytes, int64_t idh)
{
	if (bytes < 8 || bytes % 8)
		return false;
	return audit_bloom_word_has(bloom + audit_bloom_offset(bytes, idh), idh);
}

unsigned char *audit_bloom_build(const int64_t *idh, size_t n, size_t *bytes)
{
	size_t words = audit_bloom_words(n);
	unsigned char *bloom = calloc(words, 8);
	if (!bloom)
		return NULL;
	for (size_t i = 0; i < n; i++)
		audit_bloom_set(bloom, words, idh[i]);
	*bytes = 8 * words;
	return bloom;
}

/* ---------------------------------------------------------------- blocks */

void audit_blk_init(audit_blk *b, uint64_t first_seq)
{
	memset(b, 0, sizeof *b);
	b->first_seq = first_seq;
}

void audit_blk_cleanup(audit_blk *b)
{
	free(b->idh);
	memset(b, 0, sizeof *b);
}

void audit_blk_restart(audit_blk *b, uint64_t first_seq)
{
	b->first_seq = first_seq;
	b->n_records = 0;
	b->n_ids = 0;
	b->oom = false;
}

static void blk_add_id(void *arg, const char *id, size_t len)
{
	audit_blk *b = arg;
	if (b->n_ids == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 1024;
		int64_t *v = realloc(b->idh, cap * sizeof *v);
		if (!v) {
			b->oom = true;
			return;
		}
		b->idh = v;
		b->cap = cap;
	}
	b->idh[b->n_ids++] = audit_idh(id, len);
}

rk_err audit_blk_add(audit_blk *b, const char *ids)
{
	b->n_records++;
	audit_ids_each(ids, blk_add_id, b);
	return b->oom ? RK_ENOMEM : RK_OK;
}

bool audit_blk_full(const audit_blk *b)
{
	return b->n_ids >= audit_block_ids || b->n_records >= audit_block_records;
}
