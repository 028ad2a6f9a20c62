/*
 * decode_http2.c: HTTP/2 in cleartext (h2c) and DNS over HTTPS carried on
 * it, read from the TCP stream reassembly of decode_flow.c.
 *
 * Detection (RFC 9113 section 3): a client direction whose request starts
 * with the connection preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (prior
 * knowledge, or after an HTTP/1.1 request with "Upgrade: h2c" was answered
 * 101: decode_http hands such a request here); the server direction of
 * such a connection is read as frames after its own preface, a SETTINGS
 * frame (after the 101 response's header when upgraded).
 *
 * Frames (RFC 9113 sections 4 and 6) are walked by their 9-byte header and
 * bounded by the SETTINGS_MAX_FRAME_SIZE the receiver announced. A frame
 * that does not matter (PING, WINDOW_UPDATE, PRIORITY, GOAWAY, unknown
 * types, DATA of other streams) is consumed as it arrives and the rest
 * skipped by length, never buffered. A header block (HEADERS or
 * PUSH_PROMISE with its CONTINUATION frames, PADDED and PRIORITY flags)
 * waits in the stream buffer until whole and goes through HPACK (RFC
 * 7541): a block the buffer cannot hold, or a gap in the stream, loses the
 * HPACK state, so the direction stops, counted.
 *
 * HPACK keeps a dynamic table per direction of a connection, bounded by
 * the SETTINGS_HEADER_TABLE_SIZE the receiver announced and by
 * DECODE_HPACK_MAX; a larger size update is an error. The Huffman code is
 * canonical (codes of one length are consecutive, in symbol order, after
 * every shorter code), so the table below gives only each symbol's code
 * length, transcribed from Appendix B; decode_h2_new derives the first
 * code and symbols of each length, and decoding compares the next bits
 * with the codes of each length in turn. Padding longer than 7 bits, or
 * not all ones, or an EOS symbol, is an error (section 5.2).
 *
 * Observables: from each client header block, :path as DECODE_HTTP_URL,
 * then :authority (or host) without its port as DECODE_HTTP_HOST, then
 * user-agent: the order decode_http gives, so the sensor joins host and
 * path into http://host/path the same way.
 *
 * DNS over HTTPS (RFC 8484 section 4.1): a GET whose :path has a dns=
 * parameter (base64url) is decoded at once; a POST with content-type
 * application/dns-message has its DATA gathered (DECODE_DOH_MAX bytes, the
 * rest cut) until END_STREAM; a response on such a stream with that
 * content-type likewise. Each message goes to decode_dns, so queries and
 * answers come out as over UDP.
 *
 * Connection states (two HPACK tables and the DoH streams) live in a table
 * of decode_config.h2_conns slots made by decode_h2_new; a flow holds one
 * through decode_tcpflow.h2. A slot is taken again when its flow was
 * reused, reset, timed out or stopped decoding HTTP/2; when none is free
 * the new connection is counted and not decoded.
 *
 * Per-direction state machine:
 *   client: PREFACE --24 bytes--> FRAMES
 *   server: RESP101 --header--> SETTINGS --SETTINGS frame--> FRAMES
 *           (SETTINGS directly for prior knowledge)
 *   any --malformed, HPACK error, lost state--> the direction stops
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "decode_int.h"

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define PREFACE_LEN 24

enum { H2_PREFACE, H2_RESP101, H2_SETTINGS, H2_FRAMES };

/* RFC 9113 section 6 frame types and flags */
enum {
	FR_DATA = 0, FR_HEADERS = 1, FR_PRIORITY = 2, FR_RST_STREAM = 3,
	FR_SETTINGS = 4, FR_PUSH_PROMISE = 5, FR_CONTINUATION = 9
};
#define FL_END_STREAM 0x1
#define FL_ACK 0x1
#define FL_END_HEADERS 0x4
#define FL_PADDED 0x8
#define FL_PRIORITY 0x20

#define H2_DEFAULT_FRAME 16384   /* SETTINGS_MAX_FRAME_SIZE initial value */
#define H2_DEFAULT_TABLE 4096    /* SETTINGS_HEADER_TABLE_SIZE initial */
#define H2_PATH_MAX 4096         /* :path kept for DoH GET decoding */

/* ------------------------------------------------------------ state */

typedef struct h2_doh {
	uint32_t stream;
	uint8_t used;
	uint8_t gather;  /* 1 << flow direction whose DATA is the message */
	uint8_t cut;     /* the message was longer than DECODE_DOH_MAX */
	uint8_t reset;   /* RST_STREAM seen: an answer may still be in flight,
			  * but the slot may be taken */
	uint16_t len;
	uint8_t buf[DECODE_DOH_MAX];
} h2_doh;

typedef struct h2_dir {
	uint8_t state;
	uint8_t data_fin;      /* the DoH DATA frame being read ends its stream */
	uint32_t data_stream, data_left, data_pad;
	uint32_t max_frame;    /* the receiver's SETTINGS_MAX_FRAME_SIZE */
	uint32_t table_limit;  /* the receiver's SETTINGS_HEADER_TABLE_SIZE */
	decode_hpack hp;
} h2_dir;

typedef struct h2_conn {
	uint32_t owner;        /* flow slot + 1; 0 free */
	uint8_t client;        /* the flow direction of the client */
	h2_dir dir[2];
	h2_doh doh[DECODE_DOH_STREAMS];
} h2_conn;

/* What one header block said that matters, gathered while it is read. */
typedef struct h2_req {
	int server;             /* the block is a response's */
	size_t path_len, host_len, auth_len, ua_len;
	int have_path, have_host, have_auth, have_ua;
	int get, post, dns_type;
	uint8_t status;         /* first digit of :status */
	uint8_t path[H2_PATH_MAX];
	uint8_t host[256], auth[256];
	uint8_t ua[DECODE_TEXT_MAX];
} h2_req;

struct decode_h2 {
	h2_conn *conns;         /* cfg.h2_conns of them */
	/* canonical Huffman decoding: per code length, the first code, how
	 * many codes, where their symbols start in sym[] */
	uint32_t first[31];
	uint16_t count[31], offset[31];
	uint16_t sym[257];
	uint8_t *sname, *sval;  /* decoded strings, str_cap bytes each */
	size_t str_cap;
	uint8_t *block;         /* a header block gathered from its frames */
	uint8_t msg[DECODE_DOH_MAX]; /* a DoH GET's message */
	h2_req req;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* ------------------------------------------------------------ Huffman */

/* RFC 7541 Appendix B: the code length of each symbol, 16 a row. */
const uint8_t decode_huff_len[257] = {
	13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, /*   0 */
	28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, /*  16 */
	6,  10, 10, 12, 13, 6,  8,  11, 10, 10, 8,  11, 8,  6,  6,  6,  /*  32 */
	5,  5,  5,  6,  6,  6,  6,  6,  6,  6,  7,  8,  15, 6,  12, 10, /*  48 */
	13, 6,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  /*  64 */
	7,  7,  7,  7,  7,  7,  7,  7,  8,  7,  8,  13, 19, 13, 14, 6,  /*  80 */
	15, 5,  6,  5,  6,  5,  6,  6,  6,  5,  7,  7,  6,  6,  6,  5,  /*  96 */
	6,  7,  6,  5,  5,  6,  7,  7,  7,  7,  7,  15, 11, 14, 13, 28, /* 112 */
	20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, /* 128 */
	24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, /* 144 */
	22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, /* 160 */
	21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, /* 176 */
	26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, /* 192 */
	19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, /* 208 */
	20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, /* 224 */
	26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, /* 240 */
	30,                                                             /* EOS */
};

static void huff_build(struct decode_h2 *h)
{
	uint32_t code = 0;
	uint16_t n = 0;
	for (unsigned len = 1; len <= 30; len++) {
		h->first[len] = code;
		h->offset[len] = n;
		h->count[len] = 0;
		for (unsigned s = 0; s < 257; s++)
			if (decode_huff_len[s] == len) {
				h->sym[n++] = (uint16_t)s;
				h->count[len]++;
			}
		code = (code + h->count[len]) << 1;
	}
}

long decode_huffman(const decode_ctx *d, const uint8_t *in, size_t n,
		    uint8_t *out, size_t cap)
{
	const struct decode_h2 *h = d->h2;
	uint64_t acc = 0;
	unsigned nb = 0, len;
	size_t i = 0, o = 0;

	for (;;) {
		uint32_t code = 0;
		while (nb <= 56 && i < n) {
			acc = acc << 8 | in[i++];
			nb += 8;
		}
		if (nb == 0)
			break;
		for (len = 5; len <= 30 && len <= nb; len++) {
			code = (uint32_t)(acc >> (nb - len)) &
			       ((1u << len) - 1);
			if (code - h->first[len] < h->count[len])
				break;
		}
		if (len > 30 || len > nb) {
			/* no whole code left: padding, 1 bits, at most 7 */
			if (nb >= 8 || ((uint32_t)acc & ((1u << nb) - 1)) !=
					       (1u << nb) - 1)
				return -1;
			break;
		}
		uint16_t s = h->sym[h->offset[len] + (code - h->first[len])];
		if (s == 256 || o == cap)
			return -1; /* EOS inside a string (section 5.2) */
		out[o++] = (uint8_t)s;
		nb -= len;
	}
	return (long)o;
}

/* ------------------------------------------------------------ HPACK */

/* RFC 7541 Appendix A */
static const char *const static_name[62] = {
	NULL, ":authority", ":method", ":method", ":path", ":path",
	":scheme", ":scheme", ":status", ":status", ":status", ":status",
	":status", ":status", ":status", "accept-charset", "accept-encoding",
	"accept-language", "accept-ranges", "accept",
	"access-control-allow-origin", "age", "allow", "authorization",
	"cache-control", "content-disposition", "content-encoding",
	"content-language", "content-length", "content-location",
	"content-range", "content-type", "cookie", "date", "etag", "expect",
	"expires", "from", "host", "if-match", "if-modified-since",
	"if-none-match", "if-range", "if-unmodified-since", "last-modified",
	"link", "location", "max-forwards", "proxy-authenticate",
	"proxy-authorization", "range", "referer", "refresh", "retry-after",
	"server", "set-cookie", "strict-transport-security",
	"transfer-encoding", "user-agent", "vary", "via", "www-authenticate",
};
static const char *const static_value[62] = {
	[2] = "GET", [3] = "POST", [4] = "/", [5] = "/index.html",
	[6] = "http", [7] = "https", [8] = "200", [9] = "204", [10] = "206",
	[11] = "304", [12] = "400", [13] = "404", [14] = "500",
	[16] = "gzip, deflate",
};
#define STATIC_COUNT 61
#define ENT_MASK (DECODE_HPACK_ENTRIES - 1)

void decode_hpack_init(decode_hpack *hp)
{
	hp->size = 0;
	hp->max = H2_DEFAULT_TABLE;
	hp->bhead = 0;
	hp->ehead = 0;
	hp->count = 0;
}

static void ring_copy(const decode_hpack *hp, uint32_t off, size_t n,
		      uint8_t *out)
{
	size_t first = DECODE_HPACK_MAX - off;
	if (first > n)
		first = n;
	memcpy(out, hp->bytes + off, first);
	memcpy(out + first, hp->bytes, n - first);
}

static void hp_evict(decode_hpack *hp)
{
	unsigned e = (unsigned)(hp->ehead - hp->count) & ENT_MASK;
	hp->size -= 32u + hp->ent[e].nlen + hp->ent[e].vlen;
	hp->count--;
}

static void hp_add(decode_hpack *hp, const uint8_t *name, size_t nl,
		   const uint8_t *val, size_t vl)
{
	size_t es = 32 + nl + vl;
	unsigned e;
	if (es > hp->max) { /* section 4.4: the table ends up empty */
		while (hp->count)
			hp_evict(hp);
		return;
	}
	while (hp->size + es > hp->max)
		hp_evict(hp);
	/* live bytes <= max - 32 * entries: the new ones never overlap */
	e = hp->ehead & ENT_MASK;
	hp->ent[e].off = (uint16_t)hp->bhead;
	hp->ent[e].nlen = (uint16_t)nl;
	hp->ent[e].vlen = (uint16_t)vl;
	for (int k = 0; k < 2; k++) {
		const uint8_t *s = k ? val : name;
		size_t n = k ? vl : nl;
		size_t first = DECODE_HPACK_MAX - hp->bhead;
		if (first > n)
			first = n;
		memcpy(hp->bytes + hp->bhead, s, first);
		memcpy(hp->bytes, s + first, n - first);
		hp->bhead = (uint32_t)((hp->bhead + n) % DECODE_HPACK_MAX);
	}
	hp->ehead++;
	hp->count++;
	hp->size += (uint32_t)es;
}

int decode_hpack_entry(const decode_hpack *hp, unsigned i, char *name,
		       size_t *nl, char *val, size_t *vl)
{
	unsigned e;
	if (i < 1 || i > hp->count)
		return -1;
	e = (unsigned)(hp->ehead - i) & ENT_MASK;
	*nl = hp->ent[e].nlen;
	*vl = hp->ent[e].vlen;
	ring_copy(hp, hp->ent[e].off, *nl, (uint8_t *)name);
	ring_copy(hp, (hp->ent[e].off + *nl) % DECODE_HPACK_MAX, *vl,
		  (uint8_t *)val);
	return 0;
}

/* Section 5.1: an integer with an N-bit prefix. */
static int hp_int(const uint8_t **pp, const uint8_t *e, unsigned bits,
		  uint32_t *out)
{
	const uint8_t *p = *pp;
	uint32_t max = (1u << bits) - 1, v = *p++ & max;
	if (v == max) {
		unsigned shift = 0;
		uint8_t b;
		do {
			if (p == e || shift > 21)
				return -1;
			b = *p++;
			v += (uint32_t)(b & 0x7f) << shift;
			shift += 7;
		} while (b & 0x80);
	}
	*pp = p;
	*out = v;
	return 0;
}

/* Section 5.2: a string literal, raw (pointing into the block) or Huffman
 * decoded into scratch. */
static int hp_str(const decode_ctx *d, const uint8_t **pp, const uint8_t *e,
		  uint8_t *scratch, const uint8_t **s, size_t *n)
{
	uint32_t l;
	int huff;
	if (*pp == e)
		return -1;
	huff = **pp & 0x80;
	if (hp_int(pp, e, 7, &l) || l > (size_t)(e - *pp))
		return -1;
	if (huff) {
		long r = decode_huffman(d, *pp, l, scratch, d->h2->str_cap);
		if (r < 0)
			return -1;
		*s = scratch;
		*n = (size_t)r;
	} else {
		*s = *pp;
		*n = l;
	}
	*pp += l;
	return 0;
}

/* Index idx of the static then dynamic table (section 2.3.3); the value
 * only when val is not NULL. */
static int hp_index(const decode_ctx *d, const decode_hpack *hp,
		    uint32_t idx, const uint8_t **name, size_t *nl,
		    const uint8_t **val, size_t *vl)
{
	struct decode_h2 *h = d->h2;
	if (idx == 0)
		return -1;
	if (idx <= STATIC_COUNT) {
		*name = (const uint8_t *)static_name[idx];
		*nl = strlen(static_name[idx]);
		if (val) {
			const char *v = static_value[idx] ? static_value[idx] : "";
			*val = (const uint8_t *)v;
			*vl = strlen(v);
		}
		return 0;
	}
	idx -= STATIC_COUNT;
	if (idx > hp->count)
		return -1;
	unsigned e = (unsigned)(hp->ehead - idx) & ENT_MASK;
	*nl = hp->ent[e].nlen;
	ring_copy(hp, hp->ent[e].off, *nl, h->sname);
	*name = h->sname;
	if (val) {
		*vl = hp->ent[e].vlen;
		ring_copy(hp, (hp->ent[e].off + *nl) % DECODE_HPACK_MAX, *vl,
			  h->sval);
		*val = h->sval;
	}
	return 0;
}

int decode_hpack_block(decode_ctx *d, decode_hpack *hp, uint32_t limit,
		       const uint8_t *b, size_t n, decode_hpack_fn fn,
		       void *user)
{
	struct decode_h2 *h = d->h2;
	const uint8_t *p = b, *e = b + n;
	int fields = 0;

	if (limit > DECODE_HPACK_MAX)
		limit = DECODE_HPACK_MAX;
	while (p < e) {
		const uint8_t *name, *val;
		size_t nl, vl;
		uint32_t idx;
		uint8_t c = *p;
		if (c & 0x80) { /* 6.1 indexed field */
			if (hp_int(&p, e, 7, &idx) ||
			    hp_index(d, hp, idx, &name, &nl, &val, &vl))
				return -1;
		} else if ((c & 0xe0) == 0x20) { /* 6.3 size update */
			/* only before the first field (section 4.2) */
			if (fields || hp_int(&p, e, 5, &idx) || idx > limit)
				return -1;
			hp->max = idx;
			while (hp->size > hp->max)
				hp_evict(hp);
			continue;
		} else { /* 6.2 literal: incremental, without, never indexed */
			int incr = (c & 0xc0) == 0x40;
			if (hp_int(&p, e, incr ? 6 : 4, &idx))
				return -1;
			if (idx) {
				if (hp_index(d, hp, idx, &name, &nl, NULL, NULL))
					return -1;
			} else if (hp_str(d, &p, e, h->sname, &name, &nl))
				return -1;
			if (hp_str(d, &p, e, h->sval, &val, &vl))
				return -1;
			if (incr)
				hp_add(hp, name, nl, val, vl);
		}
		fields++;
		if (fn)
			fn(user, name, nl, val, vl);
	}
	return 0;
}

/* ------------------------------------------------------------ context */

int decode_h2_new(decode_ctx *d)
{
	struct decode_h2 *h = calloc(1, sizeof *h);
	if (!h)
		return -1;
	d->h2 = h;
	/* a Huffman string decodes to at most 8/5 of its bytes, and a block
	 * is never longer than the stream buffer */
	h->str_cap = (size_t)d->cfg.flow_buf * 8 / 5 + 8;
	h->sname = malloc(h->str_cap);
	h->sval = malloc(h->str_cap);
	h->block = malloc(d->cfg.flow_buf);
	h->conns = calloc(d->cfg.h2_conns, sizeof *h->conns);
	if (!h->sname || !h->sval || !h->block || !h->conns)
		return -1;
	huff_build(h);
	return 0;
}

void decode_h2_free(decode_ctx *d)
{
	if (!d || !d->h2)
		return;
	free(d->h2->sname);
	free(d->h2->sval);
	free(d->h2->block);
	free(d->h2->conns);
	free(d->h2);
	d->h2 = NULL;
}

/* The connection state of the flow being fed, or NULL. */
static h2_conn *conn_of(decode_ctx *d)
{
	unsigned i = d->flows[d->cur_slot].h2;
	if (i == 0 || d->h2->conns[i - 1].owner != d->cur_slot + 1)
		return NULL;
	return &d->h2->conns[i - 1];
}

/* A slot whose flow is gone, reused, idle or done with HTTP/2. */
static int conn_stale(const decode_ctx *d, unsigned i)
{
	uint32_t o = d->h2->conns[i].owner;
	int64_t idle = (int64_t)d->cfg.flow_timeout_s * 1000000;
	const decode_tcpflow *fl;
	if (o == 0)
		return 1;
	o--;
	fl = &d->flows[o];
	if (!d->heads[o].used || fl->h2 != i + 1 ||
	    d->now - d->heads[o].last_usec > idle)
		return 1;
	return o != d->cur_slot && fl->dir[0].app != DIR_HTTP2 &&
	       fl->dir[1].app != DIR_HTTP2;
}

static h2_conn *conn_attach(decode_ctx *d, int client)
{
	h2_conn *c = conn_of(d);
	if (c)
		return c;
	for (unsigned i = 0; i < d->cfg.h2_conns; i++) {
		if (!conn_stale(d, i))
			continue;
		c = &d->h2->conns[i];
		c->owner = d->cur_slot + 1;
		c->client = (uint8_t)client;
		for (int k = 0; k < 2; k++) {
			c->dir[k].state = k == client ? H2_PREFACE : H2_SETTINGS;
			c->dir[k].max_frame = H2_DEFAULT_FRAME;
			c->dir[k].table_limit = H2_DEFAULT_TABLE;
			c->dir[k].data_left = 0;
			c->dir[k].data_pad = 0;
			decode_hpack_init(&c->dir[k].hp);
		}
		for (int k = 0; k < DECODE_DOH_STREAMS; k++)
			c->doh[k].used = 0;
		d->flows[d->cur_slot].h2 = (uint16_t)(i + 1);
		return c;
	}
	decode_count(d, DECODE_E_H2_UNTRACKED);
	return NULL;
}

size_t decode_http2_start(decode_ctx *d, decode_dir *dir, const uint8_t *p,
			  size_t len, int full)
{
	h2_conn *c;
	if (len < PREFACE_LEN) {
		if (memcmp(p, preface, len) || full)
			return DECODE_H2_NO;
		return 0;
	}
	if (memcmp(p, preface, PREFACE_LEN))
		return DECODE_H2_NO;
	c = conn_attach(d, d->cur_dir);
	if (!c)
		return (size_t)-1;
	c->client = (uint8_t)d->cur_dir;
	c->dir[d->cur_dir].state = H2_FRAMES;
	dir->app = DIR_HTTP2;
	dir->skip = 0;
	return PREFACE_LEN;
}

int decode_http2_answer(decode_ctx *d, const uint8_t *p, size_t len)
{
	decode_tcpflow *fl = &d->flows[d->cur_slot];
	const decode_dir *other = &fl->dir[!d->cur_dir];
	h2_conn *c;

	if (other->app == DIR_HTTP2) {
		c = conn_of(d);
		if (!c || c->client == d->cur_dir)
			return DIR_IGNORE;
		c->dir[d->cur_dir].state = H2_SETTINGS;
		return DIR_HTTP2;
	}
	if (other->app == DIR_HTTP && other->h2c && len >= 12 &&
	    !memcmp(p, "HTTP/1.1 101", 12)) {
		c = conn_attach(d, !d->cur_dir);
		if (!c)
			return DIR_IGNORE;
		c->dir[d->cur_dir].state = H2_RESP101;
		return DIR_HTTP2;
	}
	return DIR_IGNORE;
}

/* ------------------------------------------------------------ DoH */

static h2_doh *doh_find(h2_conn *c, uint32_t stream)
{
	for (int k = 0; k < DECODE_DOH_STREAMS; k++)
		if (c->doh[k].used && c->doh[k].stream == stream)
			return &c->doh[k];
	return NULL;
}

static h2_doh *doh_add(decode_ctx *d, h2_conn *c, uint32_t stream)
{
	h2_doh *s = doh_find(c, stream);
	for (int k = 0; !s && k < DECODE_DOH_STREAMS; k++)
		if (!c->doh[k].used)
			s = &c->doh[k];
	for (int k = 0; !s && k < DECODE_DOH_STREAMS; k++)
		if (c->doh[k].reset)
			s = &c->doh[k];
	if (!s) {
		decode_count(d, DECODE_E_DOH_DROPPED);
		return NULL;
	}
	s->used = 1;
	s->reset = 0;
	s->stream = stream;
	s->gather = 0;
	s->len = 0;
	s->cut = 0;
	return s;
}

static void doh_append(h2_doh *s, const uint8_t *p, size_t n)
{
	size_t room = DECODE_DOH_MAX - s->len;
	if (n > room) {
		n = room;
		s->cut = 1;
	}
	memcpy(s->buf + s->len, p, n);
	s->len = (uint16_t)(s->len + n);
}

/* The message gathered on s is whole: decode it, and wait for the next
 * one (the response) or let the stream go. */
static void doh_done(decode_ctx *d, const decode_flow *f, h2_doh *s,
		     int response)
{
	if (s->cut)
		decode_dns_part(d, f, s->buf, s->len);
	else
		decode_dns(d, f, s->buf, s->len);
	s->len = 0;
	s->cut = 0;
	s->gather = 0;
	if (response)
		s->used = 0;
}

static int b64url(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-' || c == '+')
		return 62;
	if (c == '_' || c == '/')
		return 63;
	return -1;
}

/* A GET's dns= parameter (RFC 8484 section 4.1: base64url without
 * padding) into h->msg; its length, 0 when there is none. */
static size_t doh_get_message(struct decode_h2 *h, const uint8_t *path,
			      size_t n, int *cut)
{
	size_t i, o = 0;
	uint32_t acc = 0;
	int bits = 0;
	const uint8_t *q = memchr(path, '?', n);
	*cut = 0;
	if (!q)
		return 0;
	for (i = (size_t)(q - path) + 1; i + 4 <= n; i++) {
		if ((path[i - 1] == '?' || path[i - 1] == '&') &&
		    !memcmp(path + i, "dns=", 4))
			break;
	}
	if (i + 4 > n)
		return 0;
	for (i += 4; i < n && path[i] != '&'; i++) {
		int v = b64url(path[i]);
		if (v < 0)
			break; /* '=' padding, or the end */
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == DECODE_DOH_MAX) {
				*cut = 1;
				break;
			}
			h->msg[o++] = (uint8_t)(acc >> bits);
		}
	}
	return o;
}

/* ------------------------------------------------------------ requests */

static int name_is(const uint8_t *n, size_t nl, const char *s)
{
	return nl == strlen(s) && !memcmp(n, s, nl);
}

static void keep(uint8_t *dst, size_t cap, size_t *dl, int *have,
		 const uint8_t *v, size_t vl)
{
	if (vl > cap)
		vl = cap;
	memcpy(dst, v, vl);
	*dl = vl;
	*have = 1;
}

static int value_is_dns(const uint8_t *v, size_t vl)
{
	static const char t[] = "application/dns-message";
	size_t tl = sizeof t - 1;
	if (vl < tl)
		return 0;
	for (size_t i = 0; i < tl; i++) {
		uint8_t ch = v[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (uint8_t)(ch + 32);
		if (ch != (uint8_t)t[i])
			return 0;
	}
	return vl == tl || v[tl] == ';' || v[tl] == ' ';
}

static void on_field(void *user, const uint8_t *n, size_t nl,
		     const uint8_t *v, size_t vl)
{
	h2_req *r = user;
	if (nl == 0)
		return;
	if (name_is(n, nl, "content-type")) {
		r->dns_type = value_is_dns(v, vl);
		return;
	}
	if (r->server) {
		if (name_is(n, nl, ":status") && vl == 3)
			r->status = v[0];
		return;
	}
	if (name_is(n, nl, ":path"))
		keep(r->path, sizeof r->path, &r->path_len, &r->have_path, v,
		     vl);
	else if (name_is(n, nl, ":authority"))
		keep(r->auth, sizeof r->auth, &r->auth_len, &r->have_auth, v,
		     vl);
	else if (name_is(n, nl, "host"))
		keep(r->host, sizeof r->host, &r->host_len, &r->have_host, v,
		     vl);
	else if (name_is(n, nl, "user-agent"))
		keep(r->ua, sizeof r->ua, &r->ua_len, &r->have_ua, v, vl);
	else if (name_is(n, nl, ":method")) {
		r->get = vl == 3 && !memcmp(v, "GET", 3);
		r->post = vl == 4 && !memcmp(v, "POST", 4);
	}
}

/* As decode_app.c's emit_text: copied into the context's text buffer,
 * truncated, NUL-terminated, a NUL inside written '?'. */
static void emit(decode_ctx *d, decode_kind k, const decode_flow *f,
		 const uint8_t *v, size_t len)
{
	char *z;
	if (len > DECODE_TEXT_MAX - 1)
		len = DECODE_TEXT_MAX - 1;
	memcpy(d->text, v, len);
	d->text[len] = 0;
	while ((z = memchr(d->text, 0, len)) != NULL)
		*z = '?';
	decode_emit(d, k, f, 0, d->text, len);
}

static void request_done(decode_ctx *d, const decode_flow *f, h2_conn *c,
			 h2_req *r, uint32_t stream, int end_stream)
{
	const uint8_t *hv = r->have_auth ? r->auth : r->host;
	size_t hn = r->have_auth ? r->auth_len : r->host_len;
	h2_doh *s;

	if (r->have_path && r->path_len)
		emit(d, DECODE_HTTP_URL, f, r->path, r->path_len);
	if (r->have_auth || r->have_host) {
		/* without the port (RFC 9110 section 7.2), as HTTP/1.x */
		size_t k = hn;
		while (k && hv[k - 1] >= '0' && hv[k - 1] <= '9')
			k--;
		if (k && k < hn && hv[k - 1] == ':')
			hn = k - 1;
		emit(d, DECODE_HTTP_HOST, f, hv, hn);
	}
	if (r->have_ua)
		emit(d, DECODE_HTTP_UA, f, r->ua, r->ua_len);
	if (r->get && r->have_path) {
		int cut;
		size_t ml = doh_get_message(d->h2, r->path, r->path_len, &cut);
		if (ml == 0)
			return;
		if (cut || r->path_len == sizeof r->path)
			decode_dns_part(d, f, d->h2->msg, ml);
		else
			decode_dns(d, f, d->h2->msg, ml);
		doh_add(d, c, stream); /* for its response */
	} else if (r->post && r->dns_type) {
		s = doh_add(d, c, stream);
		if (s && !end_stream)
			s->gather = (uint8_t)(1u << d->cur_dir);
	}
}

static void response_done(decode_ctx *d, h2_conn *c, h2_req *r,
			  uint32_t stream, int end_stream)
{
	h2_doh *s = doh_find(c, stream);
	if (!s)
		return;
	if (r->status == '1')
		return; /* an interim response: wait for the final one */
	if (r->status != '2' || !r->dns_type || end_stream) {
		s->used = 0;
		return;
	}
	s->len = 0;
	s->cut = 0;
	s->gather = (uint8_t)(1u << d->cur_dir);
}

/* ------------------------------------------------------------ frames */

static size_t fail(decode_ctx *d, decode_err e)
{
	decode_count(d, e);
	return (size_t)-1;
}

/* A frame that does not matter: what is here is used, the rest skipped. */
static size_t skip_frame(decode_dir *dir, size_t total, size_t len)
{
	size_t n = total < len ? total : len;
	dir->skip = (uint32_t)(total - n);
	return n;
}

/* A header block from its HEADERS or PUSH_PROMISE frame at p (whole, flen
 * bytes of payload) and the CONTINUATION frames after it, which must all
 * be in the buffer. Returns the bytes used, 0 to wait, -1 to stop. */
static size_t header_block(decode_ctx *d, const decode_flow *f, h2_conn *c,
			   const uint8_t *p, size_t len, int full)
{
	struct decode_h2 *h = d->h2;
	h2_dir *hd = &c->dir[d->cur_dir];
	uint8_t type = p[3], flags = p[4];
	uint32_t stream = be32(p + 5) & 0x7fffffff;
	size_t flen = (size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2];
	const uint8_t *frag = p + 9, *block;
	size_t fl = flen, pad = 0, pos = 9 + flen, bl;
	h2_req *r = &h->req;

	if (stream == 0)
		return fail(d, DECODE_E_H2_MALFORMED);
	if (flags & FL_PADDED) {
		if (fl < 1)
			return fail(d, DECODE_E_H2_MALFORMED);
		pad = frag[0];
		frag++;
		fl--;
	}
	if (type == FR_HEADERS && (flags & FL_PRIORITY)) {
		if (fl < 5)
			return fail(d, DECODE_E_H2_MALFORMED);
		frag += 5;
		fl -= 5;
	}
	if (type == FR_PUSH_PROMISE) {
		if (fl < 4)
			return fail(d, DECODE_E_H2_MALFORMED);
		frag += 4;
		fl -= 4;
	}
	if (pad > fl)
		return fail(d, DECODE_E_H2_MALFORMED);
	fl -= pad;
	block = frag;
	bl = fl;
	if (!(flags & FL_END_HEADERS)) {
		/* gather the CONTINUATION frames (section 6.10) */
		memcpy(h->block, frag, fl);
		for (;;) {
			size_t cl = 0;
			if (len - pos >= 9)
				cl = (size_t)p[pos] << 16 |
				     (size_t)p[pos + 1] << 8 | p[pos + 2];
			if (len - pos < 9 || len - pos - 9 < cl) {
				/* the block must be whole in the buffer */
				if (full || pos + 9 + cl > d->cfg.flow_buf)
					return fail(d, DECODE_E_H2_LOST);
				return 0;
			}
			if (p[pos + 3] != FR_CONTINUATION ||
			    (be32(p + pos + 5) & 0x7fffffff) != stream ||
			    cl > hd->max_frame)
				return fail(d, DECODE_E_H2_MALFORMED);
			memcpy(h->block + bl, p + pos + 9, cl);
			bl += cl;
			flags = (uint8_t)(flags | (p[pos + 4] & FL_END_HEADERS));
			pos += 9 + cl;
			if (flags & FL_END_HEADERS)
				break;
		}
		block = h->block;
	}
	memset(r, 0, offsetof(h2_req, path));
	r->server = d->cur_dir != c->client;
	if (decode_hpack_block(d, &hd->hp, hd->table_limit, block, bl,
			       type == FR_HEADERS ? on_field : NULL, r))
		return fail(d, DECODE_E_HPACK);
	if (type == FR_HEADERS) {
		int end = p[4] & FL_END_STREAM;
		if (r->server)
			response_done(d, c, r, stream, end);
		else
			request_done(d, f, c, r, stream, end);
	}
	return pos;
}

static size_t settings(decode_ctx *d, h2_conn *c, const uint8_t *p,
		       size_t flen)
{
	h2_dir *peer = &c->dir[!d->cur_dir];
	if ((p[4] & FL_ACK) ? flen != 0 : flen % 6 != 0)
		return fail(d, DECODE_E_H2_MALFORMED);
	if (p[4] & FL_ACK)
		return 9;
	/* the values bound what this endpoint receives: the other
	 * direction's frames and header blocks (section 6.5.2) */
	for (size_t i = 9; i < 9 + flen; i += 6) {
		unsigned id = (unsigned)p[i] << 8 | p[i + 1];
		uint32_t v = be32(p + i + 2);
		if (id == 1)
			peer->table_limit = v;
		else if (id == 5) {
			if (v < H2_DEFAULT_FRAME || v > 0xffffff)
				return fail(d, DECODE_E_H2_MALFORMED);
			peer->max_frame = v;
		}
	}
	return 9 + flen;
}

/* The end of a DoH DATA frame's content: its padding is skipped, and
 * with END_STREAM the message is whole. */
static void data_end(decode_ctx *d, const decode_flow *f, h2_conn *c,
		     h2_dir *hd, decode_dir *dir)
{
	h2_doh *s = doh_find(c, hd->data_stream);
	dir->skip = hd->data_pad;
	hd->data_pad = 0;
	if (s && hd->data_fin)
		doh_done(d, f, s, d->cur_dir != c->client);
}

/* A DATA frame: on a DoH stream its content is taken as it arrives
 * (hd->data_left bytes, then hd->data_pad of padding), never waited for
 * whole; on any other stream it is skipped by length. */
static size_t data_frame(decode_ctx *d, const decode_flow *f, h2_conn *c,
			 decode_dir *dir, const uint8_t *p, size_t len,
			 size_t flen)
{
	h2_dir *hd = &c->dir[d->cur_dir];
	uint32_t stream = be32(p + 5) & 0x7fffffff;
	h2_doh *s = doh_find(c, stream);
	size_t head = 9, pad = 0;

	if (stream == 0)
		return fail(d, DECODE_E_H2_MALFORMED);
	if (!s || !(s->gather & (1u << d->cur_dir)))
		return skip_frame(dir, 9 + flen, len);
	if (p[4] & FL_PADDED) {
		if (flen < 1)
			return fail(d, DECODE_E_H2_MALFORMED);
		if (len < 10)
			return 0;
		pad = p[9];
		if (pad >= flen)
			return fail(d, DECODE_E_H2_MALFORMED);
		head = 10;
	}
	hd->data_stream = stream;
	hd->data_left = (uint32_t)(flen - (head - 9) - pad);
	hd->data_pad = (uint32_t)pad;
	hd->data_fin = p[4] & FL_END_STREAM;
	if (hd->data_left == 0)
		data_end(d, f, c, hd, dir);
	return head;
}

size_t decode_http2(decode_ctx *d, const decode_flow *f, decode_dir *dir,
		    const uint8_t *p, size_t len, int full)
{
	h2_conn *c;
	h2_dir *hd;
	size_t flen;
	uint8_t type;

	if (dir->skip) {
		size_t n = dir->skip < len ? dir->skip : len;
		dir->skip -= (uint32_t)n;
		return n;
	}
	c = conn_of(d);
	if (!c)
		return (size_t)-1;
	hd = &c->dir[d->cur_dir];
	if (hd->data_left) { /* a DoH DATA frame's content */
		size_t n = hd->data_left < len ? hd->data_left : len;
		h2_doh *s = doh_find(c, hd->data_stream);
		if (s)
			doh_append(s, p, n);
		hd->data_left -= (uint32_t)n;
		if (hd->data_left == 0)
			data_end(d, f, c, hd, dir);
		return n;
	}
	/* the client's preface never gets here: decode_http2_start takes
	 * it while the direction is still HTTP/1.x */
	switch (hd->state) {
	case H2_RESP101: {
		/* the 101 response's header, then frames (RFC 7540 3.2) */
		for (size_t i = 3; i < len; i++)
			if (p[i] == '\n' && p[i - 1] == '\r' &&
			    p[i - 2] == '\n' && p[i - 3] == '\r') {
				hd->state = H2_SETTINGS;
				return i + 1;
			}
		return full ? fail(d, DECODE_E_H2_MALFORMED) : 0;
	}
	default:
		break;
	}
	if (len < 9)
		return 0;
	flen = (size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2];
	type = p[3];
	if (flen > hd->max_frame)
		return fail(d, DECODE_E_H2_MALFORMED);
	if (hd->state == H2_SETTINGS) {
		/* the server's preface is a SETTINGS frame (section 3.4) */
		if (type != FR_SETTINGS || (p[4] & FL_ACK))
			return fail(d, DECODE_E_H2_MALFORMED);
		hd->state = H2_FRAMES;
	}
	switch (type) {
	case FR_HEADERS:
	case FR_PUSH_PROMISE:
		if (9 + flen > d->cfg.flow_buf)
			return fail(d, DECODE_E_H2_LOST);
		if (9 + flen > len)
			return full ? fail(d, DECODE_E_H2_LOST) : 0;
		return header_block(d, f, c, p, len, full);
	case FR_CONTINUATION: /* only after HEADERS, taken with it */
		return fail(d, DECODE_E_H2_MALFORMED);
	case FR_SETTINGS:
		if ((be32(p + 5) & 0x7fffffff) != 0 || 9 + flen > d->cfg.flow_buf)
			return fail(d, DECODE_E_H2_MALFORMED);
		if (9 + flen > len)
			return 0;
		return settings(d, c, p, flen);
	case FR_DATA:
		return data_frame(d, f, c, dir, p, len, flen);
	case FR_RST_STREAM:
		if (flen == 4) {
			h2_doh *s = doh_find(c, be32(p + 5) & 0x7fffffff);
			if (s)
				s->reset = 1;
		}
		return skip_frame(dir, 9 + flen, len);
	default: /* PRIORITY, PING, GOAWAY, WINDOW_UPDATE, extensions */
		return skip_frame(dir, 9 + flen, len);
	}
}
