/*
 * decode_flow.c: the TCP flow table and per-direction stream reassembly.
 *
 * A flow is found by hashing its endpoints in a direction-free order
 * (a multiply-xorshift mixer keyed with a random per-context seed, so
 * traffic cannot choose colliding flows in advance) and probing
 * DECODE_PROBE slots; a slot idle for flow_timeout_s (capture time) or
 * freed by RST is reused, and when all probed slots are live the least
 * recently seen one is evicted and counted. Each direction keeps at
 * most flow_buf bytes: data is accepted in sequence order only (a
 * retransmission is trimmed, a gap is counted and the direction restarts
 * at the new segment), appended, and offered to the application parser,
 * which consumes whole messages. What a direction carries is decided from
 * its first bytes (ports 53, 5353 and 5355 for DNS): a TLS record header,
 * on a mail port (SMTP 25 and 587, IMAP 143, POP3 110) lines read for
 * STARTTLS (decode_starttls.c: after it the client's direction goes on as
 * TLS, the server's as TLSCERT), an HTTP request method (an HTTP/2
 * preface among them, which decode_http hands on); anything else (server
 * responses included) is ignored and
 * never buffered, unless it answers an HTTP/2 client
 * (decode_http2_answer) or a TLS client whose ClientHello was read: that
 * answer is read for its certificates (decode_tlscert.c, a parser that
 * consumes everything and buffers nothing); when file hashes are asked
 * for, a direction that starts "HTTP/" is read as HTTP responses for
 * their bodies (decode_httpfile.c), and a FIN or RST ends a body read
 * until the close. A parser that can make no progress on a full
 * buffer ends the direction; one that has what it wants (a ClientHello)
 * ends it too.
 *
 * Per-direction state machine:
 *   UNKNOWN --first data--> HTTP | TLS | DNS | HTTP2 | MAIL | IGNORE
 *   UNKNOWN --the other direction's ClientHello--> TLSCERT
 *   UNKNOWN --"HTTP/", file hashes asked for--> HTTPRESP
 *   HTTP --preface--> HTTP2
 *   MAIL --client: STARTTLS asked, then a TLS record or the answer--> TLS
 *   MAIL --server: positive answer to STARTTLS--> TLSCERT
 *   HTTP/TLS/DNS/HTTP2/TLSCERT/MAIL/HTTPRESP --parser done, stuck on a full buffer, gap--> IGNORE
 *   (a gap on an empty buffer only resynchronises)
 */
#include <string.h>

#include "decode_int.h"

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* One endpoint (address words and port) through a keyed multiply-xorshift
 * mixer: four multiplies, where a byte-wise hash took thirty-six. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	return x ^ (x >> 32);
}

static uint64_t endpoint_hash(uint64_t key, const uint8_t a[16], uint16_t port)
{
	uint64_t w0, w1;
	memcpy(&w0, a, 8);
	memcpy(&w1, a + 8, 8);
	return mix64(mix64(w0 ^ key) ^ w1 ^ ((uint64_t)port << 32));
}

/* Symmetric hash: both directions of a flow land on the same slots. */
static uint32_t flow_hash(const decode_ctx *d, const decode_flow *f)
{
	uint64_t key = (uint64_t)d->seed * 0x9e3779b97f4a7c15ull + d->seed;
	uint64_t h = endpoint_hash(key, f->src, f->sport) ^
		     endpoint_hash(key, f->dst, f->dport);
	return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

static int same_dir(const decode_flow *k, const decode_flow *f)
{
	return k->sport == f->sport && k->dport == f->dport &&
	       !memcmp(k->src, f->src, 16) && !memcmp(k->dst, f->dst, 16);
}

static int rev_dir(const decode_flow *k, const decode_flow *f)
{
	return k->sport == f->dport && k->dport == f->sport &&
	       !memcmp(k->src, f->dst, 16) && !memcmp(k->dst, f->src, 16);
}

/* Finds or makes the flow of f: its slot number, and in *dir which of
 * its directions f is. The probe reads only the compact heads (16 bytes a
 * slot, DECODE_PROBE of them in two cache lines); a flow's own slot is
 * touched when its hash matches or when it is made. */
static unsigned flow_find(decode_ctx *d, const decode_flow *f, int *dir)
{
	uint32_t h = flow_hash(d, f);
	unsigned n = d->cfg.flows, free_slot = n, oldest = n;
	unsigned s = (unsigned)(((uint64_t)h * n) >> 32); /* h % n, no division */
	int64_t idle = (int64_t)d->cfg.flow_timeout_s * 1000000;
	decode_tcpflow *fl;

	for (unsigned i = 0; i < DECODE_PROBE && i < n;
	     i++, s = s + 1 == n ? 0 : s + 1) {
		decode_flowhead *c = &d->heads[s];
		if (c->used && d->now - c->last_usec > idle)
			c->used = 0;
		if (!c->used) {
			if (free_slot == n)
				free_slot = s;
			continue;
		}
		if (c->hash == h && d->flows[s].key.family == f->family) {
			if (same_dir(&d->flows[s].key, f)) {
				*dir = 0;
				return s;
			}
			if (rev_dir(&d->flows[s].key, f)) {
				*dir = 1;
				return s;
			}
		}
		if (oldest == n || c->last_usec < d->heads[oldest].last_usec)
			oldest = s;
	}
	if (free_slot == n) {
		decode_count(d, DECODE_E_FLOW_EVICTED);
		free_slot = oldest;
	}
	d->heads[free_slot].used = 1;
	d->heads[free_slot].hash = h;
	fl = &d->flows[free_slot];
	fl->key = *f;
	for (int k = 0; k < 2; k++) {
		fl->dir[k].app = DIR_UNKNOWN;
		fl->dir[k].have_seq = 0;
		fl->dir[k].skip = 0;
		fl->dir[k].len = 0;
		fl->dir[k].h2c = 0;
		fl->dir[k].lines = 0;
		fl->dir[k].body = 0;
		fl->httpfile[k] = 0;
	}
	fl->http_pending = 0;
	fl->http_methods = 0;
	fl->h2 = 0;
	fl->tlscert = 0;
	fl->mail = 0;
	fl->mail_tag_len = 0;
	*dir = 0;
	return free_slot;
}

static int is_method(const uint8_t *p, size_t len)
{
	size_t i;
	for (i = 0; i < len && i < 24; i++) {
		if (p[i] == ' ')
			return i >= 3;
		if (!((p[i] >= 'A' && p[i] <= 'Z') || p[i] == '-' ||
		      p[i] == '_'))
			return 0;
	}
	return i == len && i >= 1; /* too short to tell: hope */
}

static int classify(const decode_flow *f, const uint8_t *p, size_t len)
{
	if (f->sport == 53 || f->dport == 53)
		return DIR_DNS;
	if (len >= 2 && p[0] == 0x16 && p[1] == 3)
		return DIR_TLS;
	/* SMTP, IMAP, POP3: read for STARTTLS (decode_starttls.c) */
	if (decode_mail_port(f->dport) || decode_mail_port(f->sport))
		return DIR_MAIL;
	if (is_method(p, len))
		return DIR_HTTP;
	/* mDNS and LLMNR (RFC 4795) over TCP, as over UDP; after the
	 * checks above, since 5353 and 5355 may be a client's port */
	if (f->sport == 5353 || f->dport == 5353 || f->sport == 5355 ||
	    f->dport == 5355)
		return DIR_DNS;
	return DIR_IGNORE;
}

static size_t run_parser(decode_ctx *d, const decode_flow *f, decode_dir *r,
			 const uint8_t *p, size_t len, int full)
{
	switch (r->app) {
	case DIR_HTTP:
		return decode_http(d, f, r, p, len, full);
	case DIR_TLS:
		return decode_tls(d, f, p, len, full);
	case DIR_DNS:
		return decode_dns_tcp(d, f, p, len, full);
	case DIR_HTTP2:
		return decode_http2(d, f, r, p, len, full);
	case DIR_TLSCERT:
		return decode_tlscert(d, f, p, len, full);
	case DIR_MAIL:
		return decode_starttls(d, f, r, p, len, full);
	case DIR_HTTPRESP:
		return decode_httpfile_response(d, f, r, p, len, full);
	default:
		return (size_t)-1;
	}
}

/* Lets the parser consume data that starts a message in the segment
 * itself, without copying it (the common case: a request or a ClientHello
 * in one segment, nothing buffered). It sees exactly what the buffered path
 * would have: the data fits the buffer, and "full" means the same. Returns
 * how much was consumed, or (size_t)-1 when the direction is done. */
static size_t stream_direct(decode_ctx *d, const decode_flow *f,
			    decode_dir *r, const uint8_t *p, size_t len)
{
	size_t done = 0;
	while (done < len) {
		int full = len - done == d->cfg.flow_buf;
		size_t used = run_parser(d, f, r, p + done, len - done, full);
		if (used == (size_t)-1)
			return (size_t)-1;
		if (used == 0) {
			if (full) {
				decode_count(d, DECODE_E_STREAM_FULL);
				return (size_t)-1;
			}
			break;
		}
		done += used;
	}
	return done;
}

/* Appends data to a direction and lets the parser consume it. */
static void stream_feed(decode_ctx *d, const decode_flow *f, decode_dir *r,
			const uint8_t *p, size_t len)
{
	if (r->len == 0 && len <= d->cfg.flow_buf && r->app != DIR_IGNORE) {
		size_t used = stream_direct(d, f, r, p, len);
		if (used == (size_t)-1) {
			r->app = DIR_IGNORE;
			return;
		}
		/* the rest, a message's start, waits in the buffer; the
		 * parser has just said it needs more than that */
		memcpy(r->buf, p + used, len - used);
		r->len = (uint32_t)(len - used);
		return;
	}
	while (len > 0 && r->app != DIR_IGNORE) {
		size_t room = d->cfg.flow_buf - r->len;
		size_t n = len < room ? len : room;
		memcpy(r->buf + r->len, p, n);
		r->len += (uint32_t)n;
		p += n;
		len -= n;
		for (;;) {
			int full = r->len == d->cfg.flow_buf;
			size_t used = run_parser(d, f, r, r->buf, r->len, full);
			if (used == (size_t)-1) {
				r->app = DIR_IGNORE;
				r->len = 0;
				return;
			}
			if (used == 0) {
				if (full) {
					decode_count(d, DECODE_E_STREAM_FULL);
					r->app = DIR_IGNORE;
					r->len = 0;
					return;
				}
				break;
			}
			memmove(r->buf, r->buf + used, r->len - used);
			r->len -= (uint32_t)used;
			if (r->len == 0)
				break;
		}
	}
}

void decode_tcp(decode_ctx *d, decode_flow *f, const uint8_t *p, size_t len)
{
	size_t hl = (size_t)(p[12] >> 4) * 4;
	uint8_t flags = p[13];
	uint32_t seq = be32(p + 4), end_seq;
	decode_dir *r;
	unsigned slot;
	int dir;
	int32_t diff;

	slot = flow_find(d, f, &dir);
	d->heads[slot].last_usec = d->now;
	r = &d->flows[slot].dir[dir];
	d->cur_slot = slot;
	d->cur_dir = dir;
	if (flags & 0x02) { /* SYN: data (TCP Fast Open) starts at seq + 1 */
		seq++;
		r->have_seq = 1;
		r->next_seq = seq;
	}
	p += hl;
	len -= hl;
	end_seq = seq + (uint32_t)len;
	if (len > 0 && r->app != DIR_IGNORE) {
		if (!r->have_seq) { /* picked up mid-stream */
			r->have_seq = 1;
			r->next_seq = seq;
		}
		diff = (int32_t)(seq - r->next_seq);
		if (diff > 0) {
			decode_count(d, DECODE_E_TCP_GAP);
			if (r->app == DIR_HTTP2) { /* frames and HPACK lost */
				decode_count(d, DECODE_E_H2_LOST);
				r->app = DIR_IGNORE;
			}
			if (r->app == DIR_TLSCERT) /* a certificate's bytes lost */
				r->app = DIR_IGNORE;
			if (r->body || r->app == DIR_HTTPRESP) { /* a body's bytes lost */
				decode_httpfile_close(d, slot, dir, 0);
				r->app = DIR_IGNORE;
			}
			if (r->len > 0) {
				r->app = DIR_IGNORE;
				r->len = 0;
			}
			r->next_seq = seq;
			r->skip = 0;
		} else if (diff < 0) {
			if ((size_t)-(int64_t)diff >= len)
				goto out; /* retransmission */
			p += (size_t)-(int64_t)diff;
			len -= (size_t)-(int64_t)diff;
		}
		r->next_seq += (uint32_t)len;
		if (r->app == DIR_UNKNOWN) {
			r->app = classify(f, p, len);
			if (r->app == DIR_IGNORE) /* an HTTP/2 server? */
				r->app = decode_http2_answer(d, p, len);
			if (r->app == DIR_IGNORE && d->cfg.file_hashes)
				r->app = decode_httpfile_answer(d, p, len);
		}
		stream_feed(d, f, r, p, len);
	}
out:
	if (flags & 0x05) { /* FIN or RST: a body read until the close ends */
		decode_tcpflow *fl = &d->flows[slot];
		if (fl->dir[dir].body)
			decode_httpfile_close(d, slot, dir,
					      (flags & 0x04) || (r->have_seq && end_seq == r->next_seq));
		if ((flags & 0x04) && fl->dir[!dir].body)
			decode_httpfile_close(d, slot, !dir, 1);
	}
	if (flags & 0x04) /* RST: the flow is over */
		d->heads[slot].used = 0;
}
