/*
 * audit_chain.c: the audit log's on-disk format, its hash chain, the
 * anchor file, and the threat model they answer.
 *
 * Format. audit.db is SQLite (application_id "rkau", user_version 2):
 *
 *   audit(seq INTEGER PRIMARY KEY, at, user, org, method, route, api_root,
 *         collection, ids, status, outcome, prev BLOB, hash BLOB)
 *       One row per request, numbered 1, 2, 3, ... without gaps. ids holds
 *       the object ids joined by '\n' ('' for none: ids never contain a
 *       byte below 0x21, see audit_ids_add). prev is the hash of record
 *       seq - 1 (32 zero bytes for record 1), hash this record's own.
 *   audit_blocks(first_seq INTEGER PRIMARY KEY, last_seq, n_ids, bloom BLOB)
 *       The readers index, for the readers query and show --object: one
 *       row per completed block of consecutive records first_seq..last_seq
 *       (audit_block.c: a block ends at the first record at which it holds
 *       AUDIT_BLOCK_IDS = 65,536 ids or AUDIT_BLOCK_RECORDS = 65,536
 *       records), with the number of ids its records name (repeats
 *       counted) and a blocked Bloom filter of their audit_idh (16 bits
 *       per id, about 0.8% false positives: 128 KiB for a block of 65,536
 *       ids, some 4% of the ids text it covers).
 *       Rows are only appended, each in the transaction of the record that
 *       completes its block; the records after the last row (the
 *       unfinished block, at most one block's worth) have none, and are
 *       read whole by a query. Derived from the records, not hashed;
 *       audit_verify recomputes every row from them.
 *   audit_at(at), audit_org(org, seq)
 *       For show's time and organisation filters.
 * Version 1 had audit_ix(idh, seq) WITHOUT ROWID, one entry per (object
 * id, record), in place of audit_blocks: a B-tree keyed by a random hash,
 * into which every id was inserted at a random leaf, so recording cost
 * more per id as the log grew. A writer migrates such a log at open
 * (audit_log.c).
 *
 * Hash. hash(n) = BLAKE2b-256(hash(n-1) || S(n)), hash(0) = 32 zero bytes.
 * S(n) is the tag "renkei-audit-1", then seq and at as 8-byte big-endian
 * integers, then user, org, method, route, api_root, collection and ids,
 * each as a 4-byte big-endian length followed by its bytes (0xffffffff and
 * no bytes for NULL, so NULL and "" differ), then status as 8 bytes, then
 * outcome like the strings. Every variable field carries its length, so
 * two different records never serialise alike; the number is hashed, so a
 * record cannot be renumbered without its hash showing it. Storing prev
 * (redundant in an intact log) is what lets audit_verify tell a record
 * whose content changed (its hash no longer matches) from one that is in
 * the wrong place (its content matches, its prev is not its predecessor's
 * hash).
 *
 * audit.head is one line, "renkei-audit-head 1 <seq> <64 hex digits>\n":
 * the newest record the writer has made durable. It is written to
 * audit.head.tmp, synced, and renamed over audit.head, so it is always
 * whole. After the writer commits a batch, the anchor thread (at most
 * every AUDIT_ANCHOR_DELAY_US) syncs the WAL and only then writes
 * audit.head (audit_log.c). So audit.head never names a record a crash
 * could lose, and after any crash the log reaches at least the record
 * audit.head names; it may go further, by records committed after the
 * last anchor, which verification accepts.
 *
 * Threat model. The adversary can read and write the data directory, but
 * is not the running hub: an operator or intruder with shell or SQL access
 * to the files, or whoever hands over an edited copy of them. Detected,
 * with the place named:
 *   - a record changed in place, any field or its ids: "record N: content
 *     does not match its hash (modified)";
 *   - records removed from the middle (leaving a gap, or with the later
 *     ones renumbered), inserted (with or without a correctly computed
 *     hash), swapped or moved: the first record that does not follow its
 *     predecessor, and what it looks like;
 *   - records removed from the end, back to the head audit.head names:
 *     "the log ends at record N but was last seen at M";
 *   - the chain recomputed from some record on, audit.head left alone: the
 *     record audit.head names no longer carries its hash;
 *   - audit.head or audit.db deleted: a log without its head, or a head
 *     without its log (a writer also refuses to start on either);
 *   - the readers index changed to hide a read from `renkei audit readers`
 *     or the hub's readers endpoint: a block's filter cleared of an id
 *     ("block starting at record N: its filter lacks ids of record M"),
 *     a block row removed (its records are in no block; a query reads
 *     them anyway, as it reads any records no row covers), inserted,
 *     merged, moved or past the end of the log: audit_verify recomputes
 *     the blocks from the records and names the first row that differs.
 *     Only a filter tampered with can hide a read from a query, and only
 *     until the log is verified. What the blocks tell a reader of the file
 *     (which ids may be among the records of which block) the records'
 *     ids already say, so they disclose nothing new.
 * Not detected:
 *   - an adversary who rewrites audit.db and audit.head consistently:
 *     BLAKE2b is keyless, anyone can recompute a chain. The cheap defence
 *     is a copy of the head somewhere the adversary cannot reach: the hub
 *     logs the head ("audit_head", at most once a minute) and hub logs
 *     usually leave the machine; `renkei audit verify --head SEQ:HASH`
 *     checks the log against such a copy, and then a rewrite of anything up
 *     to that record shows. An HMAC-keyed audit.head was considered and
 *     not taken: the hub must read its key, so an adversary with the hub's
 *     file access reads it too, and a key kept off the machine needs the
 *     same off-machine channel that the logged head uses without any key;
 *   - records committed after the last audit.head write (those of the
 *     last AUDIT_ANCHOR_DELAY_US or so) removed from the end;
 *   - what the running hub itself records: a compromised hub writes what it
 *     likes; and records never written: a read is recorded without waiting
 *     (wait=false), so a read in the last moments before a crash may be
 *     missing, which is a loss, not tampering.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "audit_int.h"

#define AUDIT_TAG "renkei-audit-1"
#define AUDIT_HEAD_MAGIC "renkei-audit-head 1"
#define AUDIT_NULL_LEN 0xffffffffu

/* ---------------------------------------------------------------- hash */

static void put_u64(crypto_generichash_state *st, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (56 - 8 * i));
	crypto_generichash_update(st, b, sizeof b);
}

static void put_str(crypto_generichash_state *st, const char *s)
{
	unsigned char b[4];
	uint32_t len = s ? (uint32_t)strlen(s) : AUDIT_NULL_LEN;
	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(len >> (24 - 8 * i));
	crypto_generichash_update(st, b, sizeof b);
	if (s)
		crypto_generichash_update(st, (const unsigned char *)s, len);
}

void audit_record_hash(const unsigned char prev[AUDIT_HASH_BYTES],
		       const audit_record *rec, unsigned char out[AUDIT_HASH_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, AUDIT_HASH_BYTES);
	crypto_generichash_update(&st, prev, AUDIT_HASH_BYTES);
	put_str(&st, AUDIT_TAG);
	put_u64(&st, rec->seq);
	put_u64(&st, (uint64_t)rec->at);
	put_str(&st, rec->user);
	put_str(&st, rec->org);
	put_str(&st, rec->method);
	put_str(&st, rec->route);
	put_str(&st, rec->api_root);
	put_str(&st, rec->collection);
	put_str(&st, rec->ids ? rec->ids : "");
	put_u64(&st, (uint64_t)(int64_t)rec->status);
	put_str(&st, rec->outcome);
	crypto_generichash_final(&st, out, AUDIT_HASH_BYTES);
}

/* FNV-1a 64 and the MurmurHash3 64-bit finaliser (FNV alone spreads the
 * last characters of an id poorly). An on-disk format: never change it.
 * Collisions only cost a comparison: every use checks the id itself. */
int64_t audit_idh(const char *id, size_t len)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)id[i]) * 1099511628211ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (int64_t)h;
}

void audit_hash_hex(const unsigned char hash[AUDIT_HASH_BYTES], char out[AUDIT_HASH_HEX])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < AUDIT_HASH_BYTES; i++) {
		out[2 * i] = digits[hash[i] >> 4];
		out[2 * i + 1] = digits[hash[i] & 15];
	}
	out[2 * AUDIT_HASH_BYTES] = '\0';
}

static bool hex_hash(const char *s, size_t len, unsigned char out[AUDIT_HASH_BYTES])
{
	if (len != 2 * AUDIT_HASH_BYTES)
		return false;
	for (size_t i = 0; i < AUDIT_HASH_BYTES; i++) {
		int hi = rk_hex_value(s[2 * i]), lo = rk_hex_value(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

static bool parse_seq(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	if (len == 0 || len > 19)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

bool audit_head_parse(const char *s, audit_head *out)
{
	const char *colon = s ? strchr(s, ':') : NULL;
	if (!colon)
		return false;
	return parse_seq(s, (size_t)(colon - s), &out->seq) &&
	       hex_hash(colon + 1, strlen(colon + 1), out->hash);
}

/* ---------------------------------------------------------------- anchor */

rk_err audit_anchor_read(const char *path, bool *found, audit_head *out, rk_errctx *ctx)
{
	char buf[160];
	FILE *f = fopen(path, "r");

	*found = false;
	if (!f) {
		if (errno == ENOENT)
			return RK_OK;
		return rk_fail(ctx, RK_EIO, path, "cannot read: %s", strerror(errno));
	}
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	bool err = ferror(f);
	fclose(f);
	if (err)
		return rk_fail(ctx, RK_EIO, path, "cannot read: %s", strerror(errno));
	buf[n] = '\0';
	/* "renkei-audit-head 1 <seq> <hex>\n" */
	size_t ml = strlen(AUDIT_HEAD_MAGIC);
	char *p = buf + ml, *sp;
	if (n < ml + 2 || memcmp(buf, AUDIT_HEAD_MAGIC, ml) != 0 || *p != ' ' ||
	    !(sp = strchr(p + 1, ' ')) || !parse_seq(p + 1, (size_t)(sp - p - 1), &out->seq) ||
	    strlen(sp + 1) != 2 * AUDIT_HASH_BYTES + 1 || sp[1 + 2 * AUDIT_HASH_BYTES] != '\n' ||
	    !hex_hash(sp + 1, 2 * AUDIT_HASH_BYTES, out->hash))
		return rk_fail(ctx, RK_EINVAL, path, "not an audit head (\"%s <seq> <hash>\")",
			       AUDIT_HEAD_MAGIC);
	*found = true;
	return RK_OK;
}

rk_err audit_anchor_write(const char *path, const audit_head *h, rk_errctx *ctx)
{
	char tmp[4096], line[160], hex[AUDIT_HASH_HEX];
	int fd = -1;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
		return rk_fail(ctx, RK_EIO, path, "path too long");
	audit_hash_hex(h->hash, hex);
	int len = snprintf(line, sizeof line, "%s %llu %s\n", AUDIT_HEAD_MAGIC,
			   (unsigned long long)h->seq, hex);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return rk_fail(ctx, RK_EIO, tmp, "cannot write: %s", strerror(errno));
	if (write(fd, line, (size_t)len) != len || fdatasync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return rk_fail(ctx, RK_EIO, tmp, "cannot write: %s", strerror(e));
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return rk_fail(ctx, RK_EIO, path, "cannot replace: %s", strerror(e));
	}
	return RK_OK;
}

/* ---------------------------------------------------------------- ids */

void audit_ids_init(audit_ids *l)
{
	rk_buf_init(&l->text);
	l->n = 0;
	l->last = 0;
}

void audit_ids_cleanup(audit_ids *l)
{
	if (!l)
		return;
	rk_buf_cleanup(&l->text);
	l->n = 0;
	l->last = 0;
}

const char *audit_ids_text(const audit_ids *l)
{
	return l->n ? l->text.data : NULL;
}

rk_err audit_ids_add(audit_ids *l, const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > RK_MAX_STIX_ID)
		return RK_EINVAL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)id[i] < 0x21)
			return RK_EINVAL;
	if (l->n && l->text.len - l->last == len &&
	    memcmp(l->text.data + l->last, id, len) == 0)
		return RK_OK;
	if (l->n >= AUDIT_MAX_IDS)
		return RK_ETOOBIG;
	if (rk_buf_reserve(&l->text, len + 2) != RK_OK)
		return RK_ENOMEM;
	if (l->n)
		l->text.data[l->text.len++] = '\n';
	l->last = l->text.len;
	memcpy(l->text.data + l->text.len, id, len);
	l->text.len += len;
	l->text.data[l->text.len] = '\0';
	l->n++;
	return RK_OK;
}

void audit_ids_each(const char *ids, void (*fn)(void *arg, const char *id, size_t len),
		    void *arg)
{
	if (!ids)
		return;
	while (*ids) {
		size_t len = strcspn(ids, "\n");
		if (len)
			fn(arg, ids, len);
		ids += len;
		if (*ids == '\n')
			ids++;
	}
}

bool audit_ids_contain(const char *ids, const char *id)
{
	size_t want = strlen(id);
	if (!ids || !want)
		return false;
	while (*ids) {
		size_t len = strcspn(ids, "\n");
		if (len == want && memcmp(ids, id, len) == 0)
			return true;
		ids += len;
		if (*ids == '\n')
			ids++;
	}
	return false;
}
