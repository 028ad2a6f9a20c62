/*
 * decode_quic.c: the TLS server name of QUIC connections, from the
 * client's first packets.
 *
 * IETF QUIC (RFC 9000 section 17.2.2, RFC 9001 sections 5 and 5.4, RFC
 * 9369 for version 2; drafts 29-32 with the draft-29 salt): the client's
 * Initial packets are protected with keys anyone can derive from the
 * Destination Connection ID of its first Initial (HKDF-SHA256 with the
 * version's salt, then "client in" and the version's "key", "iv" and "hp"
 * labels). We remove the header protection (AES-128 over a 16-byte sample
 * of the ciphertext), decrypt the payload with AES-128-GCM (nonce = iv XOR
 * packet number, the unprotected header as associated data), walk its
 * frames (PADDING, PING, ACK, CRYPTO and CONNECTION_CLOSE; anything else
 * ends the walk, a client Initial may carry nothing else) and gather the
 * CRYPTO stream by offset, since browsers cut and reorder their ClientHello
 * into several CRYPTO frames and a large one (a post-quantum key share)
 * spans two or more Initial packets. The whole ClientHello goes to the TLS
 * parser of decode_app.c, so its server name comes out as DECODE_TLS_SNI
 * exactly as over TCP. The crypto is nettle's.
 *
 * Reassembly table: quic_slots slots allocated by decode_new, each the
 * client's 5-tuple, the version, the keys derived from its first DCID, a
 * buffer of DECODE_QUIC_HELLO_MAX bytes with one bit a byte received, and
 * a state. A slot is found by the 5-tuple in either direction (the keys
 * stay those of the first DCID even after the client switches to the
 * server's connection ID, RFC 9001 section 5.2):
 *
 *   (none) --client Initial decrypts--> GATHERING --ClientHello whole--> DONE
 *   GATHERING --more CRYPTO data--> GATHERING
 *   any --idle quic_timeout_s (capture time), or the least recently used
 *         when the table is full--> (none)
 *
 * A packet of a DONE slot's client, or any packet from the server side of
 * a known slot, is skipped before any crypto: the name is reported once a
 * connection, and the server's Initials (protected with the "server in"
 * keys) are neither tried nor counted. A client Initial of an unknown
 * 5-tuple whose tag does not verify is counted (DECODE_E_QUIC_DECRYPT:
 * a corrupt packet, or a server's Initial whose client was not captured),
 * and so is a GATHERING slot that times out or is evicted from a full
 * table (DECODE_E_QUIC_EVICTED).
 *
 * Google QUIC (versions Q0xx up to Q046): the client hello travels in
 * clear, after a 12-byte message hash. Its public header (flags, 8-byte
 * connection ID, version, packet number; or, in Q046, an IETF-like long
 * header) is parsed; the CHLO handshake message is looked for in the first
 * bytes of the payload (the frame layout before it changed between
 * versions: private flags, byte order), then its tag table (tag count,
 * tags with little-endian end offsets, values) is read with every offset
 * checked against the datagram. SNI is reported as DECODE_TLS_SNI and UAID
 * (the client's user agent, which Chrome also sends as HTTP User-Agent) as
 * DECODE_HTTP_UA. Q050 and later (Initial packets encrypted with their own
 * salts) are not decoded.
 *
 * Invariants: nothing allocated per packet (the slots and the plaintext
 * scratch buffer come from decode_quic_init); every read is bounded by the
 * datagram; a packet that does not parse is counted once and dropped.
 */
#include <stdlib.h>
#include <string.h>

#include <nettle/aes.h>
#include <nettle/gcm.h>
#include <nettle/hkdf.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>

#include "decode_int.h"

#define QUIC_V1 0x00000001u
#define QUIC_V2 0x6b3343cfu
#define QUIC_DRAFT29 0xff00001du
#define QUIC_DRAFT32 0xff000020u
#define QUIC_MAX_CID 20
#define QUIC_MAX_COALESCED 8  /* long-header packets walked in a datagram */
#define QUIC_MAX_FRAMES 256   /* frames walked in one packet */
#define GQUIC_CHLO_WINDOW 64  /* payload bytes searched for "CHLO" */
#define GQUIC_MAX_TAGS 128

struct decode_quic_slot {
	int state;           /* QS_FREE, QS_GATHERING, QS_DONE */
	uint32_t version;
	int64_t last_usec;
	decode_flow key;     /* the client's direction */
	uint8_t dcid_len;
	uint8_t dcid[QUIC_MAX_CID];
	decode_quic_keys keys;
	uint8_t *hello;      /* DECODE_QUIC_HELLO_MAX bytes of CRYPTO stream */
	uint8_t *have;       /* one bit per byte of hello received */
};

enum { QS_FREE, QS_GATHERING, QS_DONE };

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

/* RFC 9000 section 16: a variable-length integer at *pos; -1 when it
 * runs past len. */
static int varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
	size_t n;
	if (*pos >= len)
		return -1;
	n = (size_t)1 << (p[*pos] >> 6);
	if (n > len - *pos)
		return -1;
	*v = p[*pos] & 0x3f;
	for (size_t i = 1; i < n; i++)
		*v = *v << 8 | p[*pos + i];
	*pos += n;
	return 0;
}

/* ------------------------------------------------------------ keys */

/* nettle's HKDF takes the MAC through its generic function types. */
static void quic_hmac_update(void *ctx, size_t n, const uint8_t *src)
{
	hmac_sha256_update(ctx, n, src);
}

static void quic_hmac_digest(void *ctx, size_t n, uint8_t *dst)
{
	hmac_sha256_digest(ctx, n, dst);
}

/* RFC 8446 section 7.1 HKDF-Expand-Label with an empty context; out is at
 * most 32 bytes, label at most 18. */
static void expand_label(const uint8_t secret[32], const char *label,
			 uint8_t *out, size_t outlen)
{
	struct hmac_sha256_ctx mac;
	uint8_t info[2 + 1 + 6 + 18 + 1];
	size_t ll = strlen(label), n = 0;

	info[n++] = (uint8_t)(outlen >> 8);
	info[n++] = (uint8_t)outlen;
	info[n++] = (uint8_t)(6 + ll);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = 0;
	hmac_sha256_set_key(&mac, 32, secret);
	hkdf_expand(&mac, quic_hmac_update, quic_hmac_digest, SHA256_DIGEST_SIZE, n,
		    info, outlen, out);
}

/* The Initial salt of a version (RFC 9001 section 5.2, RFC 9369 section
 * 3.3.1, draft-ietf-quic-tls-29 section 5.2); NULL when not one we know. */
static const uint8_t *initial_salt(uint32_t v)
{
	static const uint8_t v1[20] = {
		0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
		0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
	static const uint8_t v2[20] = {
		0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
		0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};
	static const uint8_t d29[20] = {
		0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
		0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};
	if (v == QUIC_V1)
		return v1;
	if (v == QUIC_V2)
		return v2;
	if (v >= QUIC_DRAFT29 && v <= QUIC_DRAFT32)
		return d29;
	return NULL;
}

int decode_quic_client_keys(uint32_t version, const uint8_t *dcid,
			    size_t dcid_len, decode_quic_keys *k)
{
	struct hmac_sha256_ctx mac;
	uint8_t initial[32], client[32];
	const uint8_t *salt = initial_salt(version);
	int v2 = version == QUIC_V2;

	if (!salt)
		return -1;
	hmac_sha256_set_key(&mac, 20, salt);
	hkdf_extract(&mac, quic_hmac_update, quic_hmac_digest, SHA256_DIGEST_SIZE,
		     dcid_len, dcid, initial);
	expand_label(initial, "client in", client, 32);
	expand_label(client, v2 ? "quicv2 key" : "quic key", k->key, 16);
	expand_label(client, v2 ? "quicv2 iv" : "quic iv", k->iv, 12);
	expand_label(client, v2 ? "quicv2 hp" : "quic hp", k->hp, 16);
	return 0;
}

/* ------------------------------------------------------------ table */

int decode_quic_init(decode_ctx *d)
{
	d->quic = calloc(d->cfg.quic_slots, sizeof *d->quic);
	d->quic_plain = malloc(DECODE_QUIC_PACKET_MAX);
	if (!d->quic || !d->quic_plain)
		return -1;
	for (unsigned i = 0; i < d->cfg.quic_slots; i++) {
		d->quic[i].hello = malloc(DECODE_QUIC_HELLO_MAX);
		d->quic[i].have = malloc(DECODE_QUIC_HELLO_MAX / 8);
		if (!d->quic[i].hello || !d->quic[i].have)
			return -1;
	}
	return 0;
}

void decode_quic_free(decode_ctx *d)
{
	if (d->quic)
		for (unsigned i = 0; i < d->cfg.quic_slots; i++) {
			free(d->quic[i].hello);
			free(d->quic[i].have);
		}
	free(d->quic);
	free(d->quic_plain);
}

static int same_tuple(const decode_flow *a, const decode_flow *b)
{
	return a->sport == b->sport && a->dport == b->dport &&
	       a->family == b->family && !memcmp(a->src, b->src, 16) &&
	       !memcmp(a->dst, b->dst, 16);
}

static int reverse_tuple(const decode_flow *a, const decode_flow *b)
{
	return a->sport == b->dport && a->dport == b->sport &&
	       a->family == b->family && !memcmp(a->src, b->dst, 16) &&
	       !memcmp(a->dst, b->src, 16);
}

/* The slot of f's connection: *server set when f is its server side.
 * Expired slots are freed on the way. */
static decode_quic_slot *slot_find(decode_ctx *d, const decode_flow *f,
				   int *server)
{
	int64_t timeout = (int64_t)d->cfg.quic_timeout_s * 1000000;

	for (unsigned i = 0; i < d->cfg.quic_slots; i++) {
		decode_quic_slot *s = &d->quic[i];
		if (s->state == QS_FREE)
			continue;
		if (d->now - s->last_usec > timeout) {
			if (s->state == QS_GATHERING)
				decode_count(d, DECODE_E_QUIC_EVICTED);
			s->state = QS_FREE;
			continue;
		}
		if (same_tuple(&s->key, f)) {
			*server = 0;
			return s;
		}
		if (reverse_tuple(&s->key, f)) {
			*server = 1;
			return s;
		}
	}
	return NULL;
}

/* A free slot, else the least recently used (counted when it was still
 * gathering a ClientHello). */
static decode_quic_slot *slot_take(decode_ctx *d)
{
	decode_quic_slot *lru = NULL;

	for (unsigned i = 0; i < d->cfg.quic_slots; i++) {
		decode_quic_slot *s = &d->quic[i];
		if (s->state == QS_FREE)
			return s;
		if (!lru || s->last_usec < lru->last_usec)
			lru = s;
	}
	if (lru->state == QS_GATHERING)
		decode_count(d, DECODE_E_QUIC_EVICTED);
	lru->state = QS_FREE;
	return lru;
}

static void slot_start(decode_quic_slot *s, const decode_flow *f,
		       uint32_t version, const uint8_t *dcid, size_t dcid_len,
		       const decode_quic_keys *k)
{
	s->state = QS_GATHERING;
	s->version = version;
	s->key = *f;
	s->dcid_len = (uint8_t)dcid_len;
	memcpy(s->dcid, dcid, dcid_len);
	s->keys = *k;
	memset(s->have, 0, DECODE_QUIC_HELLO_MAX / 8);
}

/* ------------------------------------------------------------ packets */

/* Removes header protection and decrypts one Initial packet. hdr is the
 * packet from its first byte, pn_off where the packet number starts and
 * end where the packet ends (its Length field). Returns the plaintext
 * length in d->quic_plain (after a copy of the unprotected header), or -1
 * when the tag does not verify. */
static long initial_open(decode_ctx *d, const decode_quic_keys *k,
			 const uint8_t *pkt, size_t pn_off, size_t end,
			 const uint8_t **plain)
{
	struct aes128_ctx hp;
	struct gcm_aes128_ctx gcm;
	uint8_t mask[16], nonce[12], tag[16];
	uint8_t *h = d->quic_plain;
	size_t pn_len, hl, ct_len;
	uint64_t pn = 0;

	/* RFC 9001 section 5.4.2: the sample starts 4 bytes past the start
	 * of the packet number, whatever its length. */
	if (end < pn_off + 4 + 16)
		return -1;
	aes128_set_encrypt_key(&hp, k->hp);
	aes128_encrypt(&hp, 16, mask, pkt + pn_off + 4);
	memcpy(h, pkt, pn_off);
	h[0] = (uint8_t)(pkt[0] ^ (mask[0] & 0x0f));
	pn_len = (size_t)(h[0] & 3) + 1;
	hl = pn_off + pn_len;
	for (size_t i = 0; i < pn_len; i++) {
		h[pn_off + i] = (uint8_t)(pkt[pn_off + i] ^ mask[1 + i]);
		pn = pn << 8 | h[pn_off + i];
	}
	if (end < hl + 16)
		return -1;
	ct_len = end - hl - 16;
	/* The first Initials of a connection have small numbers: the
	 * truncated number is the full one (RFC 9000 section 17.1). */
	memcpy(nonce, k->iv, 12);
	for (int i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
	gcm_aes128_set_key(&gcm, k->key);
	gcm_aes128_set_iv(&gcm, 12, nonce);
	gcm_aes128_update(&gcm, hl, h);
	gcm_aes128_decrypt(&gcm, ct_len, h + hl, pkt + hl);
	gcm_aes128_digest(&gcm, 16, tag);
	if (!memeql_sec(tag, pkt + hl + ct_len, 16))
		return -1;
	*plain = h + hl;
	return (long)ct_len;
}

/* Copies a CRYPTO frame's data into the slot (what lies past the buffer
 * is dropped: the hello is then reported too large when it is known). */
static void hello_add(decode_quic_slot *s, uint64_t off, const uint8_t *p,
		      size_t n)
{
	if (off >= DECODE_QUIC_HELLO_MAX)
		return;
	if (n > DECODE_QUIC_HELLO_MAX - off)
		n = (size_t)(DECODE_QUIC_HELLO_MAX - off);
	memcpy(s->hello + off, p, n);
	for (size_t i = (size_t)off; i < (size_t)off + n; i++)
		s->have[i / 8] |= (uint8_t)(1u << (i % 8));
}

static int hello_has(const decode_quic_slot *s, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (!(s->have[i / 8] & (1u << (i % 8))))
			return 0;
	return 1;
}

/* When the first handshake message is whole: a ClientHello goes to the TLS
 * parser; then the slot is done. */
static void hello_check(decode_ctx *d, const decode_flow *f,
			decode_quic_slot *s)
{
	size_t need;

	if (!hello_has(s, 0, 4))
		return;
	need = 4 + ((size_t)s->hello[1] << 16 | (size_t)s->hello[2] << 8 |
		    s->hello[3]);
	if (s->hello[0] != 1 || need > DECODE_QUIC_HELLO_MAX) {
		if (s->hello[0] == 1)
			decode_count(d, DECODE_E_TLS_MALFORMED);
		s->state = QS_DONE;
		return;
	}
	if (!hello_has(s, 4, need))
		return;
	s->state = QS_DONE;
	decode_tls_client_hello(d, f, s->hello + 4, need - 4);
}

/* RFC 9000 section 19: the frames of a client Initial. Returns -1 on a
 * frame that runs past the payload. */
static int initial_frames(decode_quic_slot *s, const uint8_t *p, size_t len)
{
	size_t pos = 0;
	uint64_t v, n, off;

	for (int count = 0; pos < len && count < QUIC_MAX_FRAMES; count++) {
		uint8_t type = p[pos++];
		switch (type) {
		case 0x00: /* PADDING: runs of zeros */
			while (pos < len && p[pos] == 0)
				pos++;
			break;
		case 0x01: /* PING */
			break;
		case 0x02: /* ACK */
		case 0x03: /* ACK with ECN counts */
			if (varint(p, len, &pos, &v) || varint(p, len, &pos, &v) ||
			    varint(p, len, &pos, &n) || varint(p, len, &pos, &v))
				return -1;
			if (n > len)
				return -1;
			for (uint64_t i = 0; i < n; i++)
				if (varint(p, len, &pos, &v) ||
				    varint(p, len, &pos, &v))
					return -1;
			if (type == 0x03)
				for (int i = 0; i < 3; i++)
					if (varint(p, len, &pos, &v))
						return -1;
			break;
		case 0x06: /* CRYPTO */
			if (varint(p, len, &pos, &off) ||
			    varint(p, len, &pos, &n) || n > len - pos)
				return -1;
			hello_add(s, off, p + pos, (size_t)n);
			pos += (size_t)n;
			break;
		default:
			/* CONNECTION_CLOSE or a frame an Initial may not
			 * carry: nothing more for us in this packet. */
			return 0;
		}
	}
	return 0;
}

/* One long-header packet at p (the datagram's rest is len bytes); returns
 * its length, or 0 when the rest of the datagram is not walked. */
static size_t quic_long(decode_ctx *d, const decode_flow *f, const uint8_t *p,
			size_t len)
{
	size_t pos = 6, dcid_off, dcid_len, pn_off, end;
	uint64_t v, plen;
	uint32_t version;
	int initial, server = 0;
	decode_quic_slot *s;
	decode_quic_keys k;
	const uint8_t *plain;
	long n;

	if (len < 7 || (p[0] & 0xc0) != 0xc0)
		return 0;
	version = be32(p + 1);
	if (!initial_salt(version))
		return 0;
	/* Initial is type 0 in v1 and the drafts, 1 in v2 (RFC 9369
	 * section 3.2); Retry (3 in v1, 0 in v2) has no Length. */
	initial = ((p[0] >> 4) & 3) == (version == QUIC_V2 ? 1 : 0);
	if (((p[0] >> 4) & 3) == (version == QUIC_V2 ? 0 : 3))
		return 0;
	dcid_off = pos;
	dcid_len = p[5];
	if (dcid_len > QUIC_MAX_CID || len - pos < dcid_len + 1)
		goto bad;
	pos += dcid_len;
	if (p[pos] > QUIC_MAX_CID || len - pos - 1 < p[pos])
		goto bad;
	pos += 1 + (size_t)p[pos];
	if (initial) {
		if (varint(p, len, &pos, &v) || v > len - pos)
			goto bad;
		pos += (size_t)v; /* token */
	}
	if (varint(p, len, &pos, &plen) || plen > len - pos || plen < 1)
		goto bad;
	pn_off = pos;
	end = pos + (size_t)plen;
	if (!initial)
		return end;
	if (end > DECODE_QUIC_PACKET_MAX - 64)
		goto bad;
	s = slot_find(d, f, &server);
	if (s && (server || s->state == QS_DONE)) {
		s->last_usec = d->now;
		return end; /* the server's side, or the name already found */
	}
	n = -1;
	if (s && s->version == version)
		n = initial_open(d, &s->keys, p, pn_off, end, &plain);
	if (n < 0) {
		/* A new connection, or a new one on a slot's 5-tuple. */
		decode_quic_client_keys(version, p + dcid_off, dcid_len, &k);
		n = initial_open(d, &k, p, pn_off, end, &plain);
		if (n < 0) {
			decode_count(d, DECODE_E_QUIC_DECRYPT);
			return end;
		}
		if (!s)
			s = slot_take(d);
		slot_start(s, f, version, p + dcid_off, dcid_len, &k);
	}
	s->last_usec = d->now;
	if (initial_frames(s, plain, (size_t)n) < 0)
		decode_count(d, DECODE_E_QUIC_MALFORMED);
	hello_check(d, f, s);
	return end;
bad:
	decode_count(d, DECODE_E_QUIC_MALFORMED);
	return 0;
}

/* ------------------------------------------------------------ gQUIC */

/* The CHLO message at m (avail bytes to the end of the datagram): its tag
 * table, then SNI and UAID. */
static void gquic_chlo(decode_ctx *d, const decode_flow *f, const uint8_t *m,
		       size_t avail)
{
	size_t ntags, values, prev = 0;

	if (avail < 8)
		goto bad;
	ntags = (size_t)(m[4] | m[5] << 8);
	if (ntags > GQUIC_MAX_TAGS || avail - 8 < ntags * 8)
		goto bad;
	values = 8 + ntags * 8;
	/* End offsets are relative to the values and never go down. */
	for (size_t i = 0; i < ntags; i++) {
		size_t e = le32(m + 8 + i * 8 + 4);
		if (e < prev || e > avail - values)
			goto bad;
		prev = e;
	}
	prev = 0;
	for (size_t i = 0; i < ntags; i++) {
		const uint8_t *t = m + 8 + i * 8;
		size_t e = le32(t + 4);
		if (!memcmp(t, "SNI\0", 4))
			decode_emit_text(d, DECODE_TLS_SNI, f, m + values + prev,
					 e - prev);
		else if (!memcmp(t, "UAID", 4))
			decode_emit_text(d, DECODE_HTTP_UA, f, m + values + prev,
					 e - prev);
		prev = e;
	}
	return;
bad:
	decode_count(d, DECODE_E_QUIC_MALFORMED);
}

/* p is a client packet of Google QUIC: the public header, then the CHLO
 * within the first bytes of the payload. */
static void gquic(decode_ctx *d, const decode_flow *f, const uint8_t *p,
		  size_t len)
{
	size_t pos, win;
	const uint8_t *c;

	if ((p[0] & 0xc0) == 0xc0) {
		/* Q046: long header, version, DCIL|SCIL nibbles (each 0 or
		 * 3 less than the length), IDs, a 4-byte packet number. */
		size_t dl, sl;
		if (len < 6)
			goto bad;
		dl = p[5] >> 4;
		sl = p[5] & 15;
		pos = 6 + (dl ? dl + 3 : 0) + (sl ? sl + 3 : 0) +
		      (size_t)(p[0] & 3) + 1;
	} else {
		/* Q043 and before: flags (0x01 version, 0x08 connection ID,
		 * 0x30 packet number length 1, 2, 4 or 6), ID, version,
		 * packet number. */
		static const uint8_t pnl[4] = {1, 2, 4, 6};
		pos = 1 + 8 + 4 + pnl[(p[0] >> 4) & 3];
	}
	if (pos > len)
		goto bad;
	win = len - pos < GQUIC_CHLO_WINDOW ? len - pos : GQUIC_CHLO_WINDOW;
	c = NULL;
	for (size_t i = 0; i + 4 <= win; i++)
		if (!memcmp(p + pos + i, "CHLO", 4)) {
			c = p + pos + i;
			break;
		}
	if (!c)
		return; /* not a client hello packet */
	gquic_chlo(d, f, c, len - (size_t)(c - p));
	return;
bad:
	decode_count(d, DECODE_E_QUIC_MALFORMED);
}

/* ------------------------------------------------------------ entry */

void decode_quic(decode_ctx *d, const decode_flow *f, const uint8_t *p,
		 size_t len)
{
	if ((p[0] & 0xc0) != 0xc0) {
		gquic(d, f, p, len);
		return;
	}
	if (p[1] == 'Q' && p[2] == '0') {
		gquic(d, f, p, len);
		return;
	}
	/* RFC 9000 section 12.2: coalesced packets, each with its Length;
	 * a short-header packet, which has none, ends the datagram. */
	for (int i = 0; i < QUIC_MAX_COALESCED && len > 0; i++) {
		size_t n = quic_long(d, f, p, len);
		if (n == 0 || n > len)
			break;
		p += n;
		len -= n;
	}
}
