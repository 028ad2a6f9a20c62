/*
 * decode_httpfile.c: the bodies of HTTP/1.x messages over TCP, hashed as
 * their bytes arrive, so that a file downloaded (a response) or uploaded
 * (a request with a body: POST, PUT) can be matched against file-hash
 * indicators: DECODE_FILE_MD5, DECODE_FILE_SHA1 and DECODE_FILE_SHA256,
 * lowercase hex, with the flow of the direction that carried the body.
 *
 * Cost: nothing here runs unless decode_config.file_hashes (or
 * decode_set_file_hashes) asks for at least one digest; then a server's
 * direction whose first bytes are "HTTP/" becomes DIR_HTTPRESP (decode_tcp
 * asks decode_httpfile_answer only of directions classify ignored), and
 * decode_http hands each request's header block here after reading it.
 * Only the digests asked for are computed.
 *
 * Framing (RFC 9112 section 6.3): no body for a response to HEAD, for 1xx,
 * 204 and 304; a 2xx answer to CONNECT and a 101 end the direction (a
 * tunnel or another protocol follows). Otherwise Transfer-Encoding with
 * chunked last gives chunks (section 7.1: a hex size, extensions after
 * ';' ignored, the data and its CRLF, a last chunk of size 0 and trailer
 * fields up to an empty line); Content-Length gives that many bytes; a
 * response with neither runs until the connection closes (a FIN in order
 * or a RST: decode_httpfile_close), and a request with neither has no
 * body. A transfer coding other than chunked is framed but not hashed.
 * An HTTP/0.9 request (a request line without a version, RFC 1945
 * section 4.1) is answered by a bare body until the close.
 * Responses are paired with requests in order (pipelining, keep-alive):
 * decode_http queues a two-bit note per request (HEAD, CONNECT, HTTP/0.9,
 * other) in
 * decode_tcpflow.http_methods, at most DECODE_HTTP_PENDING of them; each
 * final response takes the oldest, an interim (1xx) takes none. A
 * response seen without its request (the capture began mid-connection) is
 * taken to answer a GET.
 *
 * Content-Encoding (RFC 9110 section 8.4.1): gzip, x-gzip and deflate are
 * inflated with zlib as a stream and the digests are of the decoded bytes,
 * the file itself: what Zeek's files framework (its HTTP analyzer
 * decompresses gzip and deflate before handing the entity to files.log)
 * and Suricata (libhtp decompresses response bodies before the file API
 * hashes them for filemd5/filesha1/filesha256 and fileinfo) report.
 * libhtp decompresses request bodies only when configured to (off by
 * default); renkei decodes both directions, like Zeek. "deflate" is read as zlib data when the first two
 * bytes are a zlib header and as raw deflate otherwise (servers send
 * both). Any other coding (br, compress, zstd) is hashed as sent, which is
 * again what both report. Bytes after the end of a compressed stream are
 * ignored; deflate's own limit (at most about 1032 decoded bytes a byte)
 * bounds the work a small body can cause.
 *
 * Not reported, and counted: 206 Partial Content (DECODE_E_HTTP_FILE_PARTIAL,
 * framed to find the next response), a body cut short by a gap, an early
 * close, a flow timeout or eviction (DECODE_E_HTTP_FILE_INCOMPLETE; a
 * timed-out body is counted when its slot is taken again), a compressed
 * body that fails to inflate or ends before its stream does
 * (DECODE_E_HTTP_FILE_ENCODING), a message whose framing cannot be read
 * (DECODE_E_HTTP_FILE_MALFORMED, the direction ends). An empty body is not
 * reported. Multipart uploads are hashed whole (the parts are not taken
 * apart), and HTTP/2 bodies are not hashed.
 *
 * Bounds: the body states live in a table of http_file_slots allocated by
 * decode_new, each with its MD5, SHA-1 and SHA-256 states, one zlib
 * z_stream and the area zlib's allocator hooks hand out (its inflate state
 * and 32 KB window, taken once on a slot's first compressed body and kept:
 * inflateReset2 with the same window size keeps both). One scratch buffer
 * takes the inflated bytes. A direction holds a slot through
 * decode_tcpflow.httpfile[dir] (slot + 1) and decode_dir.body while a body
 * runs; a slot is free when its body ended or its flow is gone, reused or
 * idle. A body that finds no free slot is counted
 * (DECODE_E_HTTP_FILE_UNTRACKED) and skipped by its Content-Length when it
 * has one; otherwise the direction ends. A file of any size is hashed:
 * nothing is kept but the hash states.
 *
 * State of a direction (the header block waits in the stream buffer,
 * bodies are consumed as they come):
 *   HEADER --no body--> HEADER
 *   HEADER --Content-Length--> LENGTH --all bytes--> report, HEADER
 *   HEADER --chunked--> SIZE --n>0--> DATA --n bytes--> CRLF --> SIZE
 *                       SIZE --0--> TRAILER --empty line--> report, HEADER
 *   HEADER --neither (response)--> CLOSE --FIN or RST--> report
 *   any body --gap, early FIN/RST, lost flow--> counted, direction ends
 */
#include <nettle/md5.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "decode_int.h"

#define HTTPFILE_ZAREA (48 * 1024) /* inflate state (about 7 KB) and window */
#define HTTPFILE_OUT 16384         /* inflated bytes hashed at a time */
#define HTTPFILE_SIZE_LINE 1024    /* a chunk-size line with its extensions */

enum { BODY_LENGTH = 1, BODY_CHUNKED, BODY_CLOSE };
enum { CHUNK_SIZE, CHUNK_DATA, CHUNK_CRLF, CHUNK_TRAILER };
enum { CODING_NONE, CODING_GZIP, CODING_DEFLATE, CODING_RAW };
enum { METHOD_OTHER, METHOD_HEAD, METHOD_CONNECT, METHOD_HTTP09 };

typedef struct decode_httpfile_slot {
	uint32_t owner;       /* flow slot + 1; 0 free */
	uint8_t dir;          /* the flow's direction whose body this is */
	uint8_t framing;      /* BODY_* */
	uint8_t chunk;        /* CHUNK_*, when chunked */
	uint8_t coding;       /* CODING_* */
	uint8_t hashes;       /* DECODE_HASH_* computed; 0: framed only */
	uint8_t failed;       /* inflate failed: not reported */
	uint8_t z_ready;      /* inflateInit2 done (the area holds its state) */
	uint8_t z_end;        /* the compressed stream ended */
	uint8_t lead_n;       /* deflate: first bytes held to tell zlib from raw */
	uint8_t lead[2];
	uint64_t left;        /* LENGTH: body bytes to come; DATA: chunk bytes */
	uint64_t size;        /* decoded bytes hashed */
	struct md5_ctx md5;
	struct sha1_ctx sha1;
	struct sha256_ctx sha256;
	z_stream z;
	size_t zused;         /* bytes of zarea handed to zlib */
	uint8_t *zarea;       /* HTTPFILE_ZAREA */
} decode_httpfile_slot;

struct decode_httpfile {
	decode_httpfile_slot *slot; /* cfg.http_file_slots */
	uint8_t *zareas;
	uint8_t out[HTTPFILE_OUT];
};

/* What a header block says about its body. */
typedef struct framing {
	uint64_t clen;
	int has_clen, bad, te, te_chunked, te_other, coding;
} framing;

int decode_httpfile_init(decode_ctx *d)
{
	unsigned n = d->cfg.http_file_slots;
	struct decode_httpfile *h = calloc(1, sizeof *h);

	d->httpfile = h;
	if (!h)
		return -1;
	h->slot = calloc(n, sizeof *h->slot);
	h->zareas = calloc(n, HTTPFILE_ZAREA); /* untouched pages stay virtual */
	if (!h->slot || !h->zareas)
		return -1;
	for (unsigned i = 0; i < n; i++)
		h->slot[i].zarea = h->zareas + (size_t)i * HTTPFILE_ZAREA;
	return 0;
}

void decode_httpfile_free(decode_ctx *d)
{
	if (!d->httpfile)
		return;
	free(d->httpfile->slot);
	free(d->httpfile->zareas);
	free(d->httpfile);
	d->httpfile = NULL;
}

void decode_set_file_hashes(decode_ctx *d, unsigned mask)
{
	d->cfg.file_hashes = mask & (DECODE_HASH_MD5 | DECODE_HASH_SHA1 | DECODE_HASH_SHA256);
}

/* zlib's allocator hooks: the slot's area, handed out once and kept. */
static voidpf zarea_alloc(voidpf opaque, uInt items, uInt size)
{
	decode_httpfile_slot *s = opaque;
	size_t need = ((size_t)items * size + 15) & ~(size_t)15;

	if (need > HTTPFILE_ZAREA - s->zused)
		return Z_NULL;
	s->zused += need;
	return s->zarea + s->zused - need;
}

static void zarea_free(voidpf opaque, voidpf p)
{
	(void)opaque;
	(void)p;
}

/* ------------------------------------------------------------ queue */

static void note_request(decode_tcpflow *fl, const uint8_t *m, size_t n, int http09)
{
	unsigned k = METHOD_OTHER;

	if (http09)
		k = METHOD_HTTP09;
	else if (n == 4 && !memcmp(m, "HEAD", 4))
		k = METHOD_HEAD;
	else if (n == 7 && !memcmp(m, "CONNECT", 7))
		k = METHOD_CONNECT;
	if (fl->http_pending >= DECODE_HTTP_PENDING)
		return; /* the responses beyond are taken to answer a GET */
	fl->http_methods |= (uint32_t)k << (2 * fl->http_pending);
	fl->http_pending++;
}

/* What the oldest request waiting for its answer was. */
static unsigned oldest_request(const decode_tcpflow *fl)
{
	return fl->http_pending ? fl->http_methods & 3 : METHOD_OTHER;
}

static unsigned take_request(decode_tcpflow *fl)
{
	unsigned k;

	if (fl->http_pending == 0)
		return METHOD_OTHER;
	k = fl->http_methods & 3;
	fl->http_methods >>= 2;
	fl->http_pending--;
	return k;
}

/* ------------------------------------------------------------ slots */

static void hash_bytes(decode_httpfile_slot *s, const uint8_t *p, size_t n)
{
	if (s->hashes & DECODE_HASH_MD5)
		md5_update(&s->md5, n, p);
	if (s->hashes & DECODE_HASH_SHA1)
		sha1_update(&s->sha1, n, p);
	if (s->hashes & DECODE_HASH_SHA256)
		sha256_update(&s->sha256, n, p);
	s->size += n;
}

/* A slot whose body ended, or whose flow is gone, reused or idle. */
static int slot_stale(const decode_ctx *d, unsigned i)
{
	const decode_httpfile_slot *s = &d->httpfile->slot[i];
	int64_t idle = (int64_t)d->cfg.flow_timeout_s * 1000000;
	uint32_t o = s->owner;

	if (o == 0)
		return 1;
	o--;
	return !d->heads[o].used || d->flows[o].httpfile[s->dir] != i + 1 ||
	       d->now - d->heads[o].last_usec > idle || !d->flows[o].dir[s->dir].body;
}

/* The slot of the direction being fed, when it holds one. */
static decode_httpfile_slot *slot_held(decode_ctx *d)
{
	unsigned i = d->flows[d->cur_slot].httpfile[d->cur_dir];
	decode_httpfile_slot *s;

	if (i == 0 || i > d->cfg.http_file_slots)
		return NULL;
	s = &d->httpfile->slot[i - 1];
	return s->owner == d->cur_slot + 1 && s->dir == d->cur_dir ? s : NULL;
}

/* A free slot for the direction being fed, or NULL (counted). */
static decode_httpfile_slot *slot_take(decode_ctx *d)
{
	for (unsigned i = 0; i < d->cfg.http_file_slots; i++) {
		if (!slot_stale(d, i))
			continue;
		decode_httpfile_slot *s = &d->httpfile->slot[i];
		if (s->owner != 0) /* a body left behind by a lost flow */
			decode_count(d, DECODE_E_HTTP_FILE_INCOMPLETE);
		s->owner = d->cur_slot + 1;
		s->dir = (uint8_t)d->cur_dir;
		d->flows[d->cur_slot].httpfile[d->cur_dir] = (uint16_t)(i + 1);
		return s;
	}
	decode_count(d, DECODE_E_HTTP_FILE_UNTRACKED);
	return NULL;
}

static void slot_release(decode_ctx *d, decode_httpfile_slot *s)
{
	uint32_t o = s->owner - 1;

	d->flows[o].httpfile[s->dir] = 0;
	d->flows[o].dir[s->dir].body = 0;
	s->owner = 0;
}

/* The body held by s is over: reported when whole and decoded. */
static void body_end(decode_ctx *d, const decode_flow *f, decode_httpfile_slot *s, int whole)
{
	uint8_t dg[SHA256_DIGEST_SIZE];

	slot_release(d, s);
	if (!whole) {
		decode_count(d, DECODE_E_HTTP_FILE_INCOMPLETE);
		return;
	}
	if (!s->hashes)
		return; /* framed only: counted when it began */
	if (s->failed || ((s->coding == CODING_GZIP || s->coding == CODING_DEFLATE) && !s->z_end)) {
		decode_count(d, DECODE_E_HTTP_FILE_ENCODING);
		return;
	}
	if (s->size == 0)
		return;
	d->st.file_bytes += s->size;
	if (s->hashes & DECODE_HASH_MD5) {
		md5_digest(&s->md5, MD5_DIGEST_SIZE, dg);
		decode_emit_hex(d, f, DECODE_FILE_MD5, dg, MD5_DIGEST_SIZE);
	}
	if (s->hashes & DECODE_HASH_SHA1) {
		sha1_digest(&s->sha1, SHA1_DIGEST_SIZE, dg);
		decode_emit_hex(d, f, DECODE_FILE_SHA1, dg, SHA1_DIGEST_SIZE);
	}
	if (s->hashes & DECODE_HASH_SHA256) {
		sha256_digest(&s->sha256, SHA256_DIGEST_SIZE, dg);
		decode_emit_hex(d, f, DECODE_FILE_SHA256, dg, SHA256_DIGEST_SIZE);
	}
}

/* ------------------------------------------------------------ inflate */

/* Starts the slot's stream: gzip (or zlib, as some servers send) for
 * CODING_GZIP; for CODING_DEFLATE, zlib when the two bytes held are a zlib
 * header (RFC 1950 section 2.2), else raw deflate (RFC 1951). */
static int inflate_start(decode_httpfile_slot *s)
{
	int wbits = 15 + 32;

	if (s->coding == CODING_DEFLATE) {
		unsigned cmf = s->lead[0], flg = s->lead[1];
		wbits = (cmf & 15) == 8 && cmf >> 4 <= 7 && (cmf << 8 | flg) % 31 == 0 ? 15 : -15;
	}
	if (!s->z_ready) {
		memset(&s->z, 0, sizeof s->z);
		s->z.zalloc = zarea_alloc;
		s->z.zfree = zarea_free;
		s->z.opaque = s;
		s->zused = 0;
		if (inflateInit2(&s->z, wbits) != Z_OK)
			return -1;
		s->z_ready = 1;
		return 0;
	}
	return inflateReset2(&s->z, wbits) == Z_OK ? 0 : -1;
}

static void inflate_bytes(decode_ctx *d, decode_httpfile_slot *s, const uint8_t *p, size_t n)
{
	uint8_t *out = d->httpfile->out;

	s->z.next_in = (Bytef *)(uintptr_t)p;
	s->z.avail_in = (uInt)n;
	do {
		s->z.next_out = out;
		s->z.avail_out = HTTPFILE_OUT;
		int r = inflate(&s->z, Z_NO_FLUSH);
		hash_bytes(s, out, HTTPFILE_OUT - s->z.avail_out);
		if (r == Z_STREAM_END) {
			s->z_end = 1; /* what follows is ignored */
			return;
		}
		if (r == Z_BUF_ERROR)
			return; /* needs more input */
		if (r != Z_OK) {
			s->failed = 1;
			return;
		}
	} while (s->z.avail_in > 0 || s->z.avail_out == 0);
}

/* Body bytes after the transfer framing. */
static void body_bytes(decode_ctx *d, decode_httpfile_slot *s, const uint8_t *p, size_t n)
{
	if (!s->hashes || s->failed || s->z_end || n == 0)
		return;
	if (s->coding == CODING_NONE || s->coding == CODING_RAW) {
		hash_bytes(s, p, n);
		return;
	}
	if (s->lead_n < 2) { /* the stream starts once two bytes are in */
		while (s->lead_n < 2 && n > 0) {
			s->lead[s->lead_n++] = *p++;
			n--;
		}
		if (s->lead_n < 2)
			return;
		if (inflate_start(s)) {
			s->failed = 1;
			return;
		}
		inflate_bytes(d, s, s->lead, 2);
	}
	while (n > 0 && !s->failed && !s->z_end) {
		uInt k = n > 65536 ? 65536 : (uInt)n;
		inflate_bytes(d, s, p, k);
		p += k;
		n -= k;
	}
}

/* ------------------------------------------------------------ framing */

/* Transfer-Encoding (RFC 9112 section 6.1): a list of codings, chunked
 * last for a body we can frame. */
static void read_te(framing *fr, const uint8_t *v, size_t n)
{
	size_t i = 0;

	fr->te = 1;
	while (i < n) {
		size_t j = i;
		while (j < n && v[j] != ',')
			j++;
		const uint8_t *t = v + i;
		size_t tn = j - i;
		decode_trim(&t, &tn);
		if (tn) {
			if (fr->te_chunked)
				fr->te_other = 1; /* chunked not last */
			if (decode_ieq(t, tn, "chunked"))
				fr->te_chunked = 1;
			else if (!decode_ieq(t, tn, "identity"))
				fr->te_other = 1;
		}
		i = j + 1;
	}
}

/* Content-Encoding (RFC 9110 section 8.4): one coding we inflate, or the
 * bytes as sent. */
static int read_coding(const uint8_t *v, size_t n)
{
	if (n == 0 || decode_ieq(v, n, "identity"))
		return CODING_NONE;
	if (decode_ieq(v, n, "gzip") || decode_ieq(v, n, "x-gzip"))
		return CODING_GZIP;
	if (decode_ieq(v, n, "deflate"))
		return CODING_DEFLATE;
	return CODING_RAW;
}

/* The header fields of p[from, end) (the block after the start line). */
static void read_framing(const uint8_t *p, size_t from, size_t end, framing *fr)
{
	memset(fr, 0, sizeof *fr);
	for (size_t pos = from; pos < end;) {
		const uint8_t *q = memchr(p + pos, '\n', end - pos);
		size_t le = q ? (size_t)(q - p) : end;
		q = memchr(p + pos, ':', le - pos);
		if (q) {
			size_t colon = (size_t)(q - p);
			const uint8_t *v = p + colon + 1;
			size_t vn = le - colon - 1;
			decode_trim(&v, &vn);
			if (decode_ieq(p + pos, colon - pos, "content-length")) {
				uint64_t c = 0;
				size_t i = 0;
				for (; i < vn && v[i] >= '0' && v[i] <= '9' && c < (1ull << 56); i++)
					c = c * 10 + (uint64_t)(v[i] - '0');
				if (i == 0 || i < vn || (fr->has_clen && c != fr->clen))
					fr->bad = 1; /* RFC 9112 section 6.3 item 5 */
				fr->clen = c;
				fr->has_clen = 1;
			} else if (decode_ieq(p + pos, colon - pos, "transfer-encoding")) {
				read_te(fr, v, vn);
			} else if (decode_ieq(p + pos, colon - pos, "content-encoding")) {
				fr->coding = read_coding(v, vn);
			}
		}
		pos = le + 1;
	}
}

/* A message's body begins; 0, or -1 when the direction must end. */
static int body_begin(decode_ctx *d, decode_dir *dir, const framing *fr, int framing_kind,
		      int hashed, int why)
{
	decode_httpfile_slot *s;

	if (!hashed && why >= 0)
		decode_count(d, (decode_err)why);
	if (!hashed && framing_kind == BODY_LENGTH && fr->clen <= UINT32_MAX) {
		dir->skip = (uint32_t)fr->clen;
		return 0;
	}
	s = slot_take(d);
	if (!s) {
		if (framing_kind == BODY_LENGTH && fr->clen <= UINT32_MAX) {
			dir->skip = (uint32_t)fr->clen;
			return 0;
		}
		return -1;
	}
	dir->body = 1;
	s->framing = (uint8_t)framing_kind;
	s->chunk = CHUNK_SIZE;
	s->left = framing_kind == BODY_LENGTH ? fr->clen : 0;
	s->coding = (uint8_t)fr->coding;
	s->hashes = hashed ? (uint8_t)d->cfg.file_hashes : 0;
	s->failed = 0;
	s->z_end = 0;
	s->lead_n = 0;
	s->size = 0;
	if (s->hashes & DECODE_HASH_MD5)
		md5_init(&s->md5);
	if (s->hashes & DECODE_HASH_SHA1)
		sha1_init(&s->sha1);
	if (s->hashes & DECODE_HASH_SHA256)
		sha256_init(&s->sha256);
	return 0;
}

/* The header block p[0, end) is whole: its end, or (size_t)-1 if none. */
static size_t header_end(const uint8_t *p, size_t len, size_t from)
{
	for (size_t pos = from; pos < len;) {
		const uint8_t *nl = memchr(p + pos, '\n', len - pos);
		if (!nl)
			return (size_t)-1;
		pos = (size_t)(nl - p);
		if (pos + 1 < len && p[pos + 1] == '\n')
			return pos + 2;
		if (pos + 2 < len && p[pos + 1] == '\r' && p[pos + 2] == '\n')
			return pos + 3;
		if (pos + 2 >= len)
			return (size_t)-1;
		pos++;
	}
	return (size_t)-1;
}

size_t decode_httpfile_request(decode_ctx *d, decode_dir *dir, const uint8_t *p, size_t method_len,
			       size_t line_end, size_t end, int http09)
{
	framing fr;

	if (http09) {
		size_t t = method_len;
		while (t < line_end && (p[t] == ' ' || p[t] == '\r'))
			t++;
		if (t == line_end)
			return end; /* "GET" alone: no request (Zeek logs none) */
	}
	note_request(&d->flows[d->cur_slot], p, method_len, http09);
	if (http09)
		return end; /* no header fields, no body */
	read_framing(p, line_end + 1, end, &fr);
	if (fr.te && !fr.te_chunked) { /* RFC 9112 section 6.3 item 4 */
		decode_count(d, DECODE_E_HTTP_FILE_MALFORMED);
		return (size_t)-1;
	}
	if (fr.te)
		return body_begin(d, dir, &fr, BODY_CHUNKED, !fr.te_other,
				  DECODE_E_HTTP_FILE_ENCODING) ? (size_t)-1 : end;
	if (fr.bad) {
		decode_count(d, DECODE_E_HTTP_FILE_MALFORMED);
		return (size_t)-1;
	}
	if (fr.has_clen && fr.clen > 0)
		return body_begin(d, dir, &fr, BODY_LENGTH, 1, -1) ? (size_t)-1 : end;
	return end;
}

int decode_httpfile_answer(const decode_ctx *d, const uint8_t *p, size_t len)
{
	if (oldest_request(&d->flows[d->cur_slot]) == METHOD_HTTP09)
		return DIR_HTTPRESP; /* whatever comes is the body */
	/* a first segment shorter than the prefix: hope, as classify does */
	return len > 0 && !memcmp(p, "HTTP/", len < 5 ? len : 5) ? DIR_HTTPRESP : DIR_IGNORE;
}

/* A response's start line and header block. */
static size_t response_head(decode_ctx *d, decode_dir *dir, const uint8_t *p, size_t len,
			    int full)
{
	size_t end = header_end(p, len, 0), line_end;
	unsigned status, method;
	framing fr;
	int kind;

	(void)full; /* a header block larger than the buffer: counted by the caller */
	if (end == (size_t)-1)
		return 0;
	/* "HTTP/1.x SP 3DIGIT" (RFC 9112 section 4) */
	if (end < 12 || memcmp(p, "HTTP/1.", 7) || p[8] != ' ' || p[9] < '1' || p[9] > '5' ||
	    p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9') {
		decode_count(d, DECODE_E_HTTP_FILE_MALFORMED);
		return (size_t)-1;
	}
	status = (unsigned)(p[9] - '0') * 100 + (unsigned)(p[10] - '0') * 10 + (unsigned)(p[11] - '0');
	line_end = (size_t)((const uint8_t *)memchr(p, '\n', end) - p);
	if (status == 101)
		return (size_t)-1; /* another protocol follows */
	if (status < 200)
		return end; /* interim: the request still waits for its answer */
	method = take_request(&d->flows[d->cur_slot]);
	if (method == METHOD_HEAD || status == 204 || status == 304)
		return end;
	if (method == METHOD_CONNECT && status < 300)
		return (size_t)-1; /* a tunnel */
	read_framing(p, line_end + 1, end, &fr);
	if (fr.te)
		kind = fr.te_chunked && !fr.te_other ? BODY_CHUNKED : BODY_CLOSE;
	else if (fr.bad) {
		decode_count(d, DECODE_E_HTTP_FILE_MALFORMED);
		return (size_t)-1;
	} else if (fr.has_clen) {
		if (fr.clen == 0)
			return end;
		kind = BODY_LENGTH;
	} else
		kind = BODY_CLOSE;
	if (status == 206)
		return body_begin(d, dir, &fr, kind, 0, DECODE_E_HTTP_FILE_PARTIAL) ? (size_t)-1 : end;
	if (fr.te_other)
		return body_begin(d, dir, &fr, kind, 0, DECODE_E_HTTP_FILE_ENCODING) ? (size_t)-1
										      : end;
	return body_begin(d, dir, &fr, kind, 1, -1) ? (size_t)-1 : end;
}

size_t decode_httpfile_response(decode_ctx *d, const decode_flow *f, decode_dir *dir,
				const uint8_t *p, size_t len, int full)
{
	if (dir->skip) {
		size_t n = dir->skip < len ? dir->skip : len;
		dir->skip -= (uint32_t)n;
		return n;
	}
	if (dir->body)
		return decode_httpfile_body(d, f, dir, p, len, full);
	if (oldest_request(&d->flows[d->cur_slot]) == METHOD_HTTP09) {
		/* RFC 1945 section 6: no status line, the body runs until the
		 * close (a status line sent anyway is part of it, as Zeek
		 * reads it) */
		framing fr;
		memset(&fr, 0, sizeof fr);
		take_request(&d->flows[d->cur_slot]);
		if (body_begin(d, dir, &fr, BODY_CLOSE, 1, -1))
			return (size_t)-1;
		return decode_httpfile_body(d, f, dir, p, len, full);
	}
	/* blank lines between messages are tolerated (RFC 9112 section 2.2) */
	if (p[0] == '\r' || p[0] == '\n')
		return 1;
	return response_head(d, dir, p, len, full);
}

/* A chunk-size line (RFC 9112 section 7.1): the size, or -1 when bad. */
static int64_t chunk_size(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; i < n; i++) {
		int x = rk_hex_value((char)p[i]);
		if (x < 0)
			break;
		if (v >> 56)
			return -1;
		v = v << 4 | (uint64_t)x;
	}
	if (i == 0)
		return -1;
	for (; i < n; i++) /* then whitespace, extensions after ';', CR */
		if (p[i] == ';')
			break;
		else if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return -1;
	return (int64_t)v;
}

/* Chunked framing; returns the bytes used, or (size_t)-1 when the
 * direction must end (counted). */
static size_t chunked_bytes(decode_ctx *d, const decode_flow *f, decode_httpfile_slot *s,
			    const uint8_t *p, size_t len, int full)
{
	size_t pos = 0;

	while (pos < len) {
		if (s->chunk == CHUNK_DATA) {
			size_t k = len - pos < s->left ? len - pos : (size_t)s->left;
			body_bytes(d, s, p + pos, k);
			s->left -= k;
			pos += k;
			if (s->left == 0)
				s->chunk = CHUNK_CRLF;
			continue;
		}
		const uint8_t *nl = memchr(p + pos, '\n', len - pos);
		if (!nl) {
			if (len - pos > HTTPFILE_SIZE_LINE || (full && pos == 0))
				goto bad;
			return pos; /* the line waits for its end */
		}
		size_t ln = (size_t)(nl - (p + pos));
		const uint8_t *line = p + pos;
		pos += ln + 1;
		if (s->chunk == CHUNK_CRLF) {
			if (ln > 1 || (ln == 1 && line[0] != '\r'))
				goto bad;
			s->chunk = CHUNK_SIZE;
		} else if (s->chunk == CHUNK_SIZE) {
			int64_t v = chunk_size(line, ln);
			if (v < 0)
				goto bad;
			s->left = (uint64_t)v;
			s->chunk = v ? CHUNK_DATA : CHUNK_TRAILER;
		} else if (ln == 0 || (ln == 1 && line[0] == '\r')) {
			body_end(d, f, s, 1); /* the trailer section ended */
			return pos;
		}
	}
	return pos;
bad:
	decode_count(d, DECODE_E_HTTP_FILE_MALFORMED);
	slot_release(d, s);
	return (size_t)-1;
}

size_t decode_httpfile_body(decode_ctx *d, const decode_flow *f, decode_dir *dir,
			    const uint8_t *p, size_t len, int full)
{
	decode_httpfile_slot *s = slot_held(d);
	size_t k;

	if (!s) { /* lost to a stale-slot reuse: cannot frame on */
		dir->body = 0;
		decode_count(d, DECODE_E_HTTP_FILE_INCOMPLETE);
		return (size_t)-1;
	}
	switch (s->framing) {
	case BODY_LENGTH:
		k = len < s->left ? len : (size_t)s->left;
		body_bytes(d, s, p, k);
		s->left -= k;
		if (s->left == 0)
			body_end(d, f, s, 1);
		return k;
	case BODY_CHUNKED:
		return chunked_bytes(d, f, s, p, len, full);
	default: /* BODY_CLOSE */
		body_bytes(d, s, p, len);
		return len;
	}
}

void decode_httpfile_close(decode_ctx *d, unsigned slot, int dir, int in_order)
{
	decode_tcpflow *fl = &d->flows[slot];
	decode_flow f;

	if (!fl->dir[dir].body || fl->httpfile[dir] == 0 ||
	    fl->httpfile[dir] > d->cfg.http_file_slots)
		return;
	decode_httpfile_slot *s = &d->httpfile->slot[fl->httpfile[dir] - 1];
	if (s->owner != slot + 1 || s->dir != dir)
		return;
	f = fl->key;
	if (dir == 1) { /* the key is direction 0 */
		f.sport = fl->key.dport;
		f.dport = fl->key.sport;
		memcpy(f.src, fl->key.dst, 16);
		memcpy(f.dst, fl->key.src, 16);
	}
	/* whole when read until this close, in order, nothing dropped */
	body_end(d, &f, s, in_order && s->framing == BODY_CLOSE && fl->dir[dir].app != DIR_IGNORE);
}
