/*
 * decode_tlscert.c: the server's side of a TLS 1.0-1.2 handshake, read for
 * the certificates it presents; each is reported by the SHA-1 and SHA-256
 * of its DER bytes (DECODE_TLS_CERT_SHA1, DECODE_TLS_CERT_SHA256, lowercase
 * hex), the fingerprints certificate blocklists publish.
 *
 * Which directions: when decode_tls (decode_app.c) reads a ClientHello, the
 * other direction of the flow, if it has carried nothing yet, becomes
 * DIR_TLSCERT, and its bytes come here; so does a mail server's direction
 * from the byte after its positive answer to STARTTLS (decode_starttls.c).
 * Any other server that speaks first, or a direction already classified,
 * is left alone; so the work is confined to the answers of TLS clients.
 *
 * Why streaming: a server's flight (ServerHello, Certificate with a chain
 * of several KB, ServerKeyExchange ...) is larger than the direction's
 * stream buffer (flow_buf). The parser therefore consumes every byte it is
 * given and keeps its own small state: where it is in the record header,
 * in the handshake message header, in the Certificate message, and one
 * SHA-1 and one SHA-256 state fed with each certificate's bytes as they
 * arrive. Nothing is buffered but the ServerHello's first
 * DECODE_SERVER_HELLO_MAX bytes. The states live in a table of
 * tls_cert_slots allocated by decode_new; a flow holds one through
 * decode_tcpflow.tlscert (slot + 1). A slot is free when its flow is gone,
 * reused, idle or done; a direction that finds none is counted
 * (DECODE_E_TLS_CERT_UNTRACKED) and not read.
 *
 * What is read (RFC 5246 sections 6.2.1 and 7.4): handshake records
 * (content type 22, version 3.x, length 1..2^14 + 2048); handshake
 * messages of a 1-byte type and 3-byte length, spanning records as they
 * like. The first must be a ServerHello (2); if its supported_versions
 * extension (RFC 8446 section 4.2.1) selects TLS 1.3 the direction ends at
 * once: the certificates of TLS 1.3 are encrypted. The next must be a
 * Certificate (11): a 3-byte list length equal to the rest of the message,
 * then certificates of a 3-byte length (1 or more bytes, within the list)
 * and their DER bytes. After it, or at any other message (a resumed or
 * anonymous session), ChangeCipherSpec, an alert or application data
 * (encrypted from there on), the direction ends. Lengths that do not add
 * up are counted (DECODE_E_TLS_CERT_MALFORMED), a record header that is no
 * TLS as DECODE_E_TLS_BAD_RECORD, and end the direction; so does a gap
 * (decode_flow.c). A direction whose first bytes are no TLS record at all
 * (a client that sent a ClientHello to something else) ends quietly.
 *
 * State machine of a direction (record layer below, handshake above):
 *   record:    HEADER(5 bytes) --type 22--> BODY(len) --> HEADER
 *              HEADER --20/21/23--> done; --other--> bad record
 *   handshake: SERVER_HELLO --TLS 1.3--> done
 *              SERVER_HELLO --> CERTIFICATE: LIST_LEN -> (CERT_LEN ->
 *              CERT_BYTES)* --message end--> done
 */
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>

#include "decode_int.h"

#define DECODE_SERVER_HELLO_MAX 512 /* ServerHello bytes kept for its extensions */

enum { HS_SERVER_HELLO, HS_CERTIFICATE }; /* the message expected next */
enum { CERT_LIST_LEN, CERT_LEN, CERT_BYTES };  /* inside the Certificate */

struct decode_tlscert_slot {
	uint32_t owner;       /* flow slot + 1; 0 free */
	uint8_t dir;          /* the flow's direction being read */
	uint8_t expect;       /* HS_*: the handshake message expected next */
	uint8_t rec[5];       /* record header gathered */
	uint8_t rec_got;
	uint32_t rec_left;    /* body bytes of the current record still to come */
	uint32_t records;     /* records whose header was read */
	uint8_t hh[4];        /* handshake message header gathered */
	uint8_t hh_got;
	uint32_t msg_len, msg_left;
	uint8_t phase;        /* CERT_*, inside the Certificate message */
	uint8_t len3[3];
	uint8_t len3_got;
	uint32_t list_left;   /* bytes of the certificate list still to come */
	uint32_t cert_left;   /* bytes of the current certificate still to come */
	uint16_t sh_len;      /* ServerHello bytes kept */
	uint8_t sh[DECODE_SERVER_HELLO_MAX];
	struct sha1_ctx sha1;
	struct sha256_ctx sha256;
};

/* What a layer says after some bytes. */
enum { GO_ON, DONE, MALFORMED, BAD_RECORD };

int decode_tlscert_init(decode_ctx *d)
{
	d->tlscert = calloc(d->cfg.tls_cert_slots, sizeof *d->tlscert);
	return d->tlscert ? 0 : -1;
}

void decode_tlscert_free(decode_ctx *d)
{
	free(d->tlscert);
	d->tlscert = NULL;
}

static uint32_t be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* A slot whose flow is gone, reused, idle or done with its certificates. */
static int slot_stale(const decode_ctx *d, unsigned i)
{
	const decode_tlscert_slot *s = &d->tlscert[i];
	int64_t idle = (int64_t)d->cfg.flow_timeout_s * 1000000;
	const decode_tcpflow *fl;
	uint32_t o = s->owner;

	if (o == 0)
		return 1;
	o--;
	fl = &d->flows[o];
	return !d->heads[o].used || fl->tlscert != i + 1 ||
	       d->now - d->heads[o].last_usec > idle ||
	       fl->dir[s->dir].app != DIR_TLSCERT;
}

/* The state of the direction being fed: its own, or a fresh one. */
static decode_tlscert_slot *slot_of(decode_ctx *d)
{
	decode_tcpflow *fl = &d->flows[d->cur_slot];
	unsigned i = fl->tlscert;

	if (i && d->tlscert[i - 1].owner == d->cur_slot + 1 &&
	    d->tlscert[i - 1].dir == d->cur_dir)
		return &d->tlscert[i - 1];
	for (i = 0; i < d->cfg.tls_cert_slots; i++) {
		if (!slot_stale(d, i))
			continue;
		decode_tlscert_slot *s = &d->tlscert[i];
		memset(s, 0, offsetof(decode_tlscert_slot, sh));
		s->owner = d->cur_slot + 1;
		s->dir = (uint8_t)d->cur_dir;
		s->expect = HS_SERVER_HELLO;
		fl->tlscert = (uint16_t)(i + 1);
		return s;
	}
	decode_count(d, DECODE_E_TLS_CERT_UNTRACKED);
	return NULL;
}

void decode_emit_hex(decode_ctx *d, const decode_flow *f, decode_kind k,
		     const uint8_t *digest, size_t n)
{
	static const char hexdig[] = "0123456789abcdef";
	char hex[2 * SHA256_DIGEST_SIZE + 1];

	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = hexdig[digest[i] >> 4];
		hex[2 * i + 1] = hexdig[digest[i] & 15];
	}
	hex[2 * n] = 0;
	decode_emit(d, k, f, 0, hex, 2 * n);
}

/* RFC 5246 section 7.4.1.3 and RFC 8446 section 4.2.1: whether the
 * ServerHello kept in s selects TLS 1.3; -1 when it is malformed. A
 * ServerHello longer than what was kept is read as far as it was kept:
 * an extension past that is not seen. */
static int server_hello_tls13(const decode_tlscert_slot *s, int whole)
{
	const uint8_t *b = s->sh;
	size_t n = s->sh_len, pos = 34, end;

	if (n < pos + 1)
		return whole ? -1 : 0;
	pos += 1 + (size_t)b[pos];     /* session id */
	pos += 3;                      /* cipher suite, compression */
	if (pos > n)
		return whole ? -1 : 0;
	if (pos == n)
		return 0;              /* no extensions */
	if (pos + 2 > n)
		return whole ? -1 : 0;
	end = pos + 2 + be16(b + pos);
	if (end > n) {
		if (whole)
			return -1;
		end = n;
	}
	for (pos += 2; pos + 4 <= end;) {
		uint16_t type = be16(b + pos), l = be16(b + pos + 2);
		pos += 4;
		if (l > end - pos)
			return whole ? -1 : 0;
		if (type == 43) /* supported_versions: the version chosen */
			return l == 2 && be16(b + pos) >= 0x0304;
		pos += l;
	}
	return 0;
}

/* Bytes of the Certificate message's body (RFC 5246 section 7.4.2). */
static int certificate_bytes(decode_ctx *d, const decode_flow *f,
			     decode_tlscert_slot *s, const uint8_t *p, size_t n)
{
	while (n > 0) {
		if (s->phase != CERT_BYTES) {
			s->len3[s->len3_got++] = *p++;
			n--;
			if (s->phase == CERT_LEN)
				s->list_left--;
			if (s->len3_got < 3)
				continue;
			s->len3_got = 0;
			uint32_t l = be24(s->len3);
			if (s->phase == CERT_LIST_LEN) {
				if (l != s->msg_len - 3)
					return MALFORMED;
				s->list_left = l;
				s->phase = CERT_LEN;
				continue;
			}
			if (l == 0 || l > s->list_left)
				return MALFORMED;
			s->cert_left = l;
			s->phase = CERT_BYTES;
			sha1_init(&s->sha1);
			sha256_init(&s->sha256);
			continue;
		}
		size_t k = n < s->cert_left ? n : s->cert_left;
		sha1_update(&s->sha1, k, p);
		sha256_update(&s->sha256, k, p);
		s->cert_left -= (uint32_t)k;
		s->list_left -= (uint32_t)k;
		p += k;
		n -= k;
		if (s->cert_left == 0) {
			uint8_t dg[SHA256_DIGEST_SIZE];
			sha1_digest(&s->sha1, SHA1_DIGEST_SIZE, dg);
			decode_emit_hex(d, f, DECODE_TLS_CERT_SHA1, dg, SHA1_DIGEST_SIZE);
			sha256_digest(&s->sha256, SHA256_DIGEST_SIZE, dg);
			decode_emit_hex(d, f, DECODE_TLS_CERT_SHA256, dg, SHA256_DIGEST_SIZE);
			s->phase = CERT_LEN;
		}
	}
	return GO_ON;
}

/* A handshake message's header is whole: what it starts. */
static int message_start(decode_tlscert_slot *s)
{
	uint8_t type = s->hh[0];

	s->msg_len = s->msg_left = be24(s->hh + 1);
	if (s->expect == HS_SERVER_HELLO) {
		if (type != 2 || s->msg_len < 38)
			return MALFORMED;
		s->sh_len = 0;
		return GO_ON;
	}
	if (type != 11)
		return DONE; /* no certificate: resumed, anonymous or PSK */
	if (s->msg_len < 3)
		return MALFORMED;
	s->phase = CERT_LIST_LEN;
	s->len3_got = 0;
	return GO_ON;
}

/* Bytes of handshake records' bodies, in order. */
static int handshake_bytes(decode_ctx *d, const decode_flow *f,
			   decode_tlscert_slot *s, const uint8_t *p, size_t n)
{
	while (n > 0) {
		if (s->hh_got < 4) {
			s->hh[s->hh_got++] = *p++;
			n--;
			if (s->hh_got == 4) {
				int r = message_start(s);
				if (r != GO_ON)
					return r;
			}
			continue;
		}
		size_t k = n < s->msg_left ? n : s->msg_left;
		if (s->expect == HS_SERVER_HELLO) {
			size_t room = DECODE_SERVER_HELLO_MAX - s->sh_len;
			size_t c = k < room ? k : room;
			memcpy(s->sh + s->sh_len, p, c);
			s->sh_len = (uint16_t)(s->sh_len + c);
		} else if (certificate_bytes(d, f, s, p, k) != GO_ON) {
			return MALFORMED;
		}
		s->msg_left -= (uint32_t)k;
		p += k;
		n -= k;
		if (s->msg_left > 0)
			continue;
		s->hh_got = 0;
		if (s->expect == HS_CERTIFICATE)
			return s->phase == CERT_LEN && s->len3_got == 0 && s->list_left == 0
				       ? DONE
				       : MALFORMED;
		int v13 = server_hello_tls13(s, s->sh_len == s->msg_len);
		if (v13 < 0)
			return MALFORMED;
		if (v13)
			return DONE; /* TLS 1.3: the certificates are encrypted */
		s->expect = HS_CERTIFICATE;
	}
	return GO_ON;
}

size_t decode_tlscert(decode_ctx *d, const decode_flow *f, const uint8_t *p,
		      size_t len, int full)
{
	decode_tlscert_slot *s = slot_of(d);
	size_t pos = 0;
	int r = GO_ON;

	(void)full;
	if (!s)
		return (size_t)-1;
	while (pos < len && r == GO_ON) {
		if (s->rec_left == 0) {
			s->rec[s->rec_got++] = p[pos++];
			if (s->rec_got < 5)
				continue;
			s->rec_got = 0;
			uint16_t rl = be16(s->rec + 3);
			int first = s->records++ == 0;
			if (s->rec[0] == 22 && s->rec[1] == 3 && s->rec[2] <= 4 && rl > 0 &&
			    rl <= 16384 + 2048) {
				s->rec_left = rl;
				continue;
			}
			int tls = s->rec[0] >= 20 && s->rec[0] <= 23 && s->rec[1] == 3;
			if (first && !tls)
				r = DONE; /* no TLS server: nothing to count */
			else if (tls && s->rec[0] != 22)
				r = DONE; /* ChangeCipherSpec, alert, data: encrypted on */
			else
				r = BAD_RECORD;
			continue;
		}
		size_t k = len - pos < s->rec_left ? len - pos : s->rec_left;
		r = handshake_bytes(d, f, s, p + pos, k);
		s->rec_left -= (uint32_t)k;
		pos += k;
	}
	if (r == GO_ON)
		return len;
	if (r == MALFORMED)
		decode_count(d, DECODE_E_TLS_CERT_MALFORMED);
	else if (r == BAD_RECORD)
		decode_count(d, DECODE_E_TLS_BAD_RECORD);
	s->owner = 0;
	return (size_t)-1;
}
