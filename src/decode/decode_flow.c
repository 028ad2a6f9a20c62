/*
 * decode_flow.c: the TCP flow table and per-direction stream reassembly.
 *
 * A flow is found by hashing its endpoints in a direction-free order
 * (FNV-1a keyed with a random per-context seed, so traffic cannot choose
 * colliding flows in advance) and probing DECODE_PROBE slots; a slot idle for flow_timeout_s (capture
 * time) or freed by RST is reused, and when all probed slots are live the
 * least recently seen one is evicted and counted. Each direction keeps at
 * most flow_buf bytes: data is accepted in sequence order only (a
 * retransmission is trimmed, a gap is counted and the direction restarts
 * at the new segment), appended, and offered to the application parser,
 * which consumes whole messages. What a direction carries is decided from
 * its first bytes (port 53 for DNS): a TLS record header, an HTTP request
 * method; anything else (server responses included) is ignored and never
 * buffered. A parser that can make no progress on a full buffer ends the
 * direction; one that has what it wants (a ClientHello) ends it too.
 *
 * Per-direction state machine:
 *   UNKNOWN --first data--> HTTP | TLS | DNS | IGNORE
 *   HTTP/TLS/DNS --parser done, stuck on a full buffer, gap--> IGNORE
 *   (a gap on an empty buffer only resynchronises)
 */
#include <string.h>

#include "decode_int.h"

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint32_t hash_bytes(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* Symmetric hash: both directions of a flow land on the same slots. */
static uint32_t flow_hash(const decode_ctx *d, const decode_flow *f)
{
	uint32_t a = hash_bytes(2166136261u ^ d->seed, f->src, 16);
	uint32_t b = hash_bytes(2166136261u ^ d->seed, f->dst, 16);
	a = hash_bytes(a, (const uint8_t *)&f->sport, 2);
	b = hash_bytes(b, (const uint8_t *)&f->dport, 2);
	return (a ^ b) * 2654435761u;
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

static decode_tcpflow *flow_find(decode_ctx *d, const decode_flow *f,
				 int *dir)
{
	uint32_t h = flow_hash(d, f);
	decode_tcpflow *free_slot = NULL, *oldest = NULL;
	int64_t idle = (int64_t)d->cfg.flow_timeout_s * 1000000;

	for (unsigned i = 0; i < DECODE_PROBE && i < d->cfg.flows; i++) {
		decode_tcpflow *c = &d->flows[(h + i) % d->cfg.flows];
		if (c->used && d->now - c->last_usec > idle)
			c->used = 0;
		if (!c->used) {
			if (!free_slot)
				free_slot = c;
			continue;
		}
		if (c->key.family == f->family) {
			if (same_dir(&c->key, f)) {
				*dir = 0;
				return c;
			}
			if (rev_dir(&c->key, f)) {
				*dir = 1;
				return c;
			}
		}
		if (!oldest || c->last_usec < oldest->last_usec)
			oldest = c;
	}
	if (!free_slot) {
		decode_count(d, DECODE_E_FLOW_EVICTED);
		free_slot = oldest;
	}
	free_slot->used = 1;
	free_slot->key = *f;
	for (int k = 0; k < 2; k++) {
		free_slot->dir[k].app = DIR_UNKNOWN;
		free_slot->dir[k].have_seq = 0;
		free_slot->dir[k].skip = 0;
		free_slot->dir[k].len = 0;
	}
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
	if (is_method(p, len))
		return DIR_HTTP;
	return DIR_IGNORE;
}

static size_t run_parser(decode_ctx *d, const decode_flow *f, decode_dir *r,
			 int full)
{
	switch (r->app) {
	case DIR_HTTP:
		return decode_http(d, f, r, r->buf, r->len, full);
	case DIR_TLS:
		return decode_tls(d, f, r->buf, r->len, full);
	case DIR_DNS:
		return decode_dns_tcp(d, f, r->buf, r->len, full);
	default:
		return (size_t)-1;
	}
}

/* Appends data to a direction and lets the parser consume it. */
static void stream_feed(decode_ctx *d, const decode_flow *f, decode_dir *r,
			const uint8_t *p, size_t len)
{
	while (len > 0 && r->app != DIR_IGNORE) {
		size_t room = d->cfg.flow_buf - r->len;
		size_t n = len < room ? len : room;
		memcpy(r->buf + r->len, p, n);
		r->len += (uint32_t)n;
		p += n;
		len -= n;
		for (;;) {
			int full = r->len == d->cfg.flow_buf;
			size_t used = run_parser(d, f, r, full);
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
	uint32_t seq = be32(p + 4);
	decode_tcpflow *fl;
	decode_dir *r;
	int dir;
	int32_t diff;

	fl = flow_find(d, f, &dir);
	fl->last_usec = d->now;
	r = &fl->dir[dir];
	if (flags & 0x02) { /* SYN: data (TCP Fast Open) starts at seq + 1 */
		seq++;
		r->have_seq = 1;
		r->next_seq = seq;
	}
	p += hl;
	len -= hl;
	if (len > 0 && r->app != DIR_IGNORE) {
		if (!r->have_seq) { /* picked up mid-stream */
			r->have_seq = 1;
			r->next_seq = seq;
		}
		diff = (int32_t)(seq - r->next_seq);
		if (diff > 0) {
			decode_count(d, DECODE_E_TCP_GAP);
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
		if (r->app == DIR_UNKNOWN)
			r->app = classify(f, p, len);
		stream_feed(d, f, r, p, len);
	}
out:
	if (flags & 0x04) /* RST: the flow is over */
		fl->used = 0;
}
