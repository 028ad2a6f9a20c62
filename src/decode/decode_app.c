/*
 * decode_app.c: the application parsers that yield observables.
 *
 * DNS (RFC 1035 section 4.1): questions give DECODE_DNS_QUERY; the A and
 * AAAA data and the hosts that records name (decode_dnsrr.c: CNAME, NS,
 * SOA, PTR, MX, SRV, DNAME, SVCB, HTTPS) of a response's answer, authority
 * and additional sections give DECODE_DNS_ANSWER, and so do the owner
 * names of answer records that the message has not named before (mDNS
 * replies without a question); in an UPDATE (RFC 2136) the prerequisite
 * and update sections are read as answers (see dns_parse). Names are decompressed
 * loop-safely: a pointer must point strictly before the label it replaces
 * (so every jump goes backwards and the walk ends), at most 64 jumps, and
 * a name longer than 255 bytes on the wire (RFC 1035 section 2.3.4) is
 * malformed. Over TCP each message carries a 2-byte length (section
 * 4.2.2).
 *
 * HTTP/1.x (RFC 9112 sections 3 and 5): a request line "METHOD SP target
 * [SP HTTP/x.y]" and header fields up to the empty line; Host and
 * User-Agent are reported with surrounding whitespace removed (Host
 * also without its port); a
 * Content-Length body is skipped so pipelined requests are all seen; a
 * chunked body ends the direction. When file hashes are asked for, each
 * request's header block goes to decode_httpfile.c instead, which queues
 * the request for its response and frames and hashes its body. A request
 * that is the HTTP/2 preface goes to decode_http2.c, and "Upgrade: h2c"
 * is noted for it.
 *
 * TLS (RFC 8446 sections 4.1.2 and 5.1, RFC 6066 section 3): handshake
 * records are gathered until the first handshake message is whole (it may
 * span records and TCP segments); a ClientHello's server_name host_name is
 * reported, and the other direction, if still silent, is handed to
 * decode_tlscert.c for the server's certificates. Record versions 3.0-3.4
 * are accepted (TLS 1.0 to 1.3 all use 3.1-3.3 on the wire).
 *
 * Every text observable is NUL-terminated, a NUL inside it written '?':
 * DNS names as dns_name writes them, the others copied into the context's
 * text buffer, truncated to DECODE_TEXT_MAX - 1 bytes.
 */
#include <arpa/inet.h>
#include <string.h>

#include "decode_int.h"

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void emit_text(decode_ctx *d, decode_kind k, const decode_flow *f,
		      uint16_t rrtype, const uint8_t *v, size_t len)
{
	char *z, *o = d->text;
	const uint8_t *e;
	if (len > DECODE_TEXT_MAX - 1)
		len = DECODE_TEXT_MAX - 1;
	/* Values are short: eight bytes a step, which compilers keep as
	 * plain moves (a memcpy here became a slow-starting rep movs). */
	for (e = v + len; e - v >= 8; v += 8, o += 8) {
		uint64_t w;
		memcpy(&w, v, 8);
		memcpy(o, &w, 8);
	}
	while (v < e)
		*o++ = (char)*v++;
	*o = 0;
	/* a NUL inside would end the C string early */
	while ((z = memchr(d->text, 0, len)) != NULL)
		*z = '?';
	decode_emit(d, k, f, rrtype, d->text, len);
}

void decode_emit_text(decode_ctx *d, decode_kind k, const decode_flow *f,
		      const uint8_t *v, size_t len)
{
	emit_text(d, k, f, 0, v, len);
}

/* ------------------------------------------------------------ DNS */

/* A name dns_name wrote (NUL-terminated, at most 254 characters) goes
 * out from where it is, without emit_text's copy. */
static void emit_name(decode_ctx *d, decode_kind k, const decode_flow *f,
		      uint16_t rrtype, char *name, size_t len)
{
	char *z;
	while ((z = memchr(name, 0, len)) != NULL)
		*z = '?';
	decode_emit(d, k, f, rrtype, name, len);
}

enum { NAME_OK, NAME_BAD, NAME_LOOP };

/* Reads the name at *off into out (dotted, NUL-terminated, at most 254
 * characters) and moves *off past it in the message. */
static int dns_name(const uint8_t *m, size_t mlen, size_t *off, char *out,
		    size_t *outlen)
{
	size_t pos = *off, o = 0, wire = 0, jumps = 0, limit = pos;
	int jumped = 0;

	for (;;) {
		if (pos >= mlen)
			return NAME_BAD;
		uint8_t l = m[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= mlen)
				return NAME_BAD;
			size_t to = (size_t)(l & 0x3f) << 8 | m[pos + 1];
			if (!jumped)
				*off = pos + 2;
			jumped = 1;
			if (to >= limit || ++jumps > 64)
				return NAME_LOOP;
			limit = to;
			pos = to;
			continue;
		}
		if (l & 0xc0)
			return NAME_BAD; /* 0x40/0x80: obsolete label types */
		wire += (size_t)l + 1;
		if (wire > 255)
			return NAME_BAD;
		if (l == 0) {
			if (!jumped)
				*off = pos + 1;
			break;
		}
		if (pos + 1 + l > mlen)
			return NAME_BAD;
		if (o)
			out[o++] = '.';
		memcpy(out + o, m + pos + 1, l);
		o += l;
		pos += 1 + (size_t)l;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = 0;
	*outlen = o;
	return NAME_OK;
}

int decode_dns_name(const uint8_t *m, size_t mlen, size_t *off,
		    char out[256], size_t *outlen, decode_err *why)
{
	int r = dns_name(m, mlen, off, out, outlen);
	if (r == NAME_OK)
		return 0;
	*why = r == NAME_LOOP ? DECODE_E_DNS_LOOP : DECODE_E_DNS_MALFORMED;
	return -1;
}

static int dns_fail(decode_ctx *d, int r, int quiet)
{
	if (!quiet)
		decode_count(d, r == NAME_LOOP ? DECODE_E_DNS_LOOP
					       : DECODE_E_DNS_MALFORMED);
	return -1;
}

/* The last few names a message reported (a ring), so that the owner of a
 * record is reported only when it is new: an ordinary answer's owners are
 * its question and CNAME targets, and a signed one repeats each owner in
 * an RRSIG record. Each keeps where it was read on the wire, so an owner
 * that is a compression pointer to it is known without reading it. The
 * first name kept (the question) stays: the others take turns in the
 * remaining slots, so a long run of MX or NS targets does not push out the
 * name their owners point to. */
#define DNS_RECENT 6

/* The slot of the n-th name kept: 0 for the first, then 1..DNS_RECENT-1. */
static unsigned recent_slot(unsigned n)
{
	return n == 0 ? 0 : 1 + (n - 1) % (DNS_RECENT - 1);
}

typedef struct dns_recent {
	unsigned n;                    /* names kept so far */
	size_t off[DNS_RECENT];        /* where each was read */
	size_t len[DNS_RECENT];
	char text[DNS_RECENT][256];
} dns_recent;

/* The buffer the next name is read into. */
static char *recent_next(dns_recent *r)
{
	return r->text[recent_slot(r->n)];
}

/* Keeps the name just read into recent_next, read at wire offset off. */
static void recent_keep(dns_recent *r, size_t off, size_t len)
{
	r->off[recent_slot(r->n)] = off;
	r->len[recent_slot(r->n)] = len;
	r->n++;
}

/* The name at off is a compression pointer to a kept name. */
static int recent_pointed(const dns_recent *r, const uint8_t *m, size_t mlen,
			  size_t off)
{
	size_t to;
	if (off + 1 >= mlen || (m[off] & 0xc0) != 0xc0)
		return 0;
	to = (size_t)(m[off] & 0x3f) << 8 | m[off + 1];
	for (unsigned i = 0; i < r->n && i < DNS_RECENT; i++)
		if (r->off[i] == to)
			return 1;
	return 0;
}

/* The name just read into recent_next equals a kept one (DNS compares
 * names with ASCII case folded). */
static int recent_has(const dns_recent *r, size_t len)
{
	const char *a = r->text[recent_slot(r->n)];
	for (unsigned k = 0; k < r->n && k < DNS_RECENT; k++) {
		const char *b = r->text[k];
		size_t i;
		if (k == recent_slot(r->n) || r->len[k] != len)
			continue;
		for (i = 0; i < len; i++) {
			uint8_t x = (uint8_t)a[i] | 0x20, y = (uint8_t)b[i] | 0x20;
			if (a[i] != b[i] && (x != y || x < 'a' || x > 'z'))
				break;
		}
		if (i == len)
			return 1;
	}
	return 0;
}

/* Steps over the name at *off without reading it (an owner name that is
 * not reported). */
static int dns_skip_name(const uint8_t *m, size_t mlen, size_t *off)
{
	size_t pos = *off;
	while (pos < mlen) {
		uint8_t l = m[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= mlen)
				return NAME_BAD;
			*off = pos + 2;
			return NAME_OK;
		}
		if (l & 0xc0)
			return NAME_BAD;
		if (l == 0) {
			*off = pos + 1;
			return NAME_OK;
		}
		pos += 1 + (size_t)l;
	}
	return NAME_BAD;
}

/* quiet: the message was cut by a full stream buffer; stop silently.
 *
 * Which names come out: every question name (for UPDATE, RFC 2136
 * section 2.3, the zone) as DECODE_DNS_QUERY; then, as DECODE_DNS_ANSWER,
 * the data of every record of a response's answer, authority and
 * additional sections, or of an UPDATE's prerequisite, update and
 * additional sections (sections 2.4 to 2.6, in requests and responses
 * alike): A and AAAA data as addresses, and the host a record names
 * (decode_dns_target: CNAME, NS, SOA, PTR, MX, SRV, DNAME, SVCB, HTTPS).
 * The owner name of a record (rrtype 0) is reported from the answer
 * section (an UPDATE's prerequisites and updates) only, when it is none
 * of the last names reported (dns_recent), so an mDNS announcement with
 * no question (RFC 6762 section 8.3) and a dynamic update name what they
 * register, and an ordinary answer adds nothing but its data. Pseudo-
 * records (OPT, TSIG, TKEY, SIG(0)) and every other type name nothing.
 * A record whose data is malformed is counted and skipped; the message
 * goes on, since its length says where the next record begins. */
static int dns_parse(decode_ctx *d, const decode_flow *f, const uint8_t *m,
		     size_t mlen, int quiet)
{
	dns_recent seen;
	size_t off = 12, nl;
	unsigned qd, owned, total, opcode;
	int r;

	if (mlen < 12)
		return dns_fail(d, NAME_BAD, quiet);
	seen.n = 0;
	qd = be16(m + 4);
	opcode = (m[2] >> 3) & 0xf;
	if (opcode == 5) { /* UPDATE: prerequisites, updates, additional */
		owned = (unsigned)be16(m + 6) + be16(m + 8);
		total = owned + be16(m + 10);
	} else if (m[2] & 0x80) { /* a response */
		owned = be16(m + 6);
		total = owned + be16(m + 8) + be16(m + 10);
	} else {
		owned = total = 0;
	}
	for (unsigned i = 0; i < qd; i++) {
		char *name = recent_next(&seen);
		size_t start = off;
		if ((r = dns_name(m, mlen, &off, name, &nl)) != NAME_OK)
			return dns_fail(d, r, quiet);
		if (off + 4 > mlen)
			return dns_fail(d, NAME_BAD, quiet);
		off += 4;
		emit_name(d, DECODE_DNS_QUERY, f, 0, name, nl);
		recent_keep(&seen, start, nl);
	}
	for (unsigned i = 0; i < total; i++) {
		uint16_t type, rdlen;
		char *name = recent_next(&seen);
		size_t start = off;
		if (i >= owned) {
			if ((r = dns_skip_name(m, mlen, &off)) != NAME_OK)
				return dns_fail(d, r, quiet);
		} else if (recent_pointed(&seen, m, mlen, off)) {
			off += 2;
		} else {
			if ((r = dns_name(m, mlen, &off, name, &nl)) != NAME_OK)
				return dns_fail(d, r, quiet);
			if (!recent_has(&seen, nl)) {
				emit_name(d, DECODE_DNS_ANSWER, f, 0, name, nl);
				recent_keep(&seen, start, nl);
			}
		}
		if (off + 10 > mlen)
			return dns_fail(d, NAME_BAD, quiet);
		type = be16(m + off);
		rdlen = be16(m + off + 8);
		off += 10;
		if (rdlen > mlen - off)
			return dns_fail(d, NAME_BAD, quiet);
		if (type == 1 && rdlen == 4) {
			char a[16];
			size_t al = decode_fmt_ipv4(d, a, m + off);
			decode_emit(d, DECODE_DNS_ANSWER, f, 1, a, al);
		} else if (type == 28 && rdlen == 16) {
			char a[INET6_ADDRSTRLEN];
			inet_ntop(AF_INET6, m + off, a, sizeof a);
			emit_text(d, DECODE_DNS_ANSWER, f, 28,
				  (const uint8_t *)a, strlen(a));
		} else if (rdlen || opcode != 5) {
			/* (an UPDATE's record of class ANY or NONE has no data) */
			decode_err why;
			size_t at;
			name = recent_next(&seen);
			int t = decode_dns_target(m, off, rdlen, type, name,
						  &nl, &at, &why);
			if (t < 0) {
				/* the data is all there: malformed, even when
				 * the message was cut after it */
				decode_count(d, why);
			} else if (t > 0) {
				emit_name(d, DECODE_DNS_ANSWER, f, type, name, nl);
				if (i < owned)
					recent_keep(&seen, at, nl);
			}
		}
		off += rdlen;
	}
	return 0;
}

void decode_dns(decode_ctx *d, const decode_flow *f, const uint8_t *p,
		size_t len)
{
	dns_parse(d, f, p, len, 0);
}

void decode_dns_part(decode_ctx *d, const decode_flow *f, const uint8_t *p,
		     size_t len)
{
	dns_parse(d, f, p, len, 1);
}

size_t decode_dns_tcp(decode_ctx *d, const decode_flow *f, const uint8_t *p,
		      size_t len, int full)
{
	size_t mlen;

	if (len < 2)
		return 0;
	mlen = be16(p);
	if (len - 2 < mlen) {
		if (!full)
			return 0;
		/* Larger than the stream buffer: the questions are in front. */
		dns_parse(d, f, p + 2, len - 2, 1);
		return (size_t)-1;
	}
	dns_parse(d, f, p + 2, mlen, 0);
	return mlen + 2;
}

/* ------------------------------------------------------------ HTTP */

int decode_ieq(const uint8_t *a, size_t alen, const char *b)
{
	size_t bl = strlen(b);
	if (alen != bl)
		return 0;
	for (size_t i = 0; i < bl; i++) {
		uint8_t c = a[i];
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + 32);
		if (c != (uint8_t)b[i])
			return 0;
	}
	return 1;
}

void decode_trim(const uint8_t **v, size_t *n)
{
	while (*n && (**v == ' ' || **v == '\t')) {
		(*v)++;
		(*n)--;
	}
	while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t' ||
		      (*v)[*n - 1] == '\r'))
		(*n)--;
}

size_t decode_http(decode_ctx *d, const decode_flow *f, decode_dir *dir,
		   const uint8_t *p, size_t len, int full)
{
	size_t end = 0, pos, line_end, sp1, sp2;
	int have_end = 0, chunked = 0, http09 = 0;
	uint64_t clen = 0;

	if (dir->skip) {
		size_t n = dir->skip < len ? dir->skip : len;
		dir->skip -= (uint32_t)n;
		return n;
	}
	if (dir->body) /* a request body being hashed */
		return decode_httpfile_body(d, f, dir, p, len, full);
	/* Blank lines between requests are tolerated (RFC 9112 2.2). */
	if (p[0] == '\r' || p[0] == '\n')
		return 1;
	/* The HTTP/2 preface, with prior knowledge or after an h2c Upgrade */
	if (p[0] == 'P' && (len < 2 || p[1] == 'R')) {
		size_t used = decode_http2_start(d, dir, p, len, full);
		if (used != DECODE_H2_NO)
			return used;
	}
	/* The request line. */
	{
		const uint8_t *nl = memchr(p, '\n', len);
		line_end = nl ? (size_t)(nl - p) : len;
	}
	if (line_end == len && !full)
		return 0;
	for (sp1 = 0; sp1 < line_end && p[sp1] != ' '; sp1++)
		if (!(p[sp1] >= 'A' && p[sp1] <= 'Z') && p[sp1] != '-' &&
		    p[sp1] != '_')
			break;
	if (sp1 == 0 || sp1 >= line_end || p[sp1] != ' ') {
		decode_count(d, DECODE_E_HTTP_MALFORMED);
		return (size_t)-1;
	}
	for (sp2 = sp1 + 1; sp2 < line_end && p[sp2] != ' ' && p[sp2] != '\r';
	     sp2++)
		;
	{
		/* A target with spaces (not allowed, but sent): it ends at
		 * the last " HTTP/" of the line, as Zeek and browsers read. */
		size_t e = line_end;
		if (e > 0 && p[e - 1] == '\r')
			e--;
		if (e >= sp2 + 9 && !memcmp(p + e - 9, " HTTP/", 6) &&
		    e - 9 > sp2)
			sp2 = e - 9;
	}
	if (sp2 >= line_end || p[sp2] == '\r') {
		const uint8_t *rest = p + sp2;
		size_t rn = line_end - sp2;
		decode_trim(&rest, &rn);
		if (rn == 0 && sp2 - sp1 - 1 >= 5 &&
		    !memcmp(p + sp1 + 1, "HTTP/", 5))
			sp2 = sp1 + 1; /* "GET HTTP/1.1": no target */
		else if (rn == 0)
			http09 = 1; /* "GET /path" (HTTP/0.9) */
	}
	/* The header block ends at an empty line. */
	if (!http09) {
		for (pos = line_end; pos < len; pos++) {
			const uint8_t *nl = memchr(p + pos, '\n', len - pos);
			if (!nl)
				break;
			pos = (size_t)(nl - p);
			if (pos + 1 < len && p[pos + 1] == '\n') {
				end = pos + 2;
				have_end = 1;
				break;
			}
			if (pos + 2 < len && p[pos + 1] == '\r' &&
			    p[pos + 2] == '\n') {
				end = pos + 3;
				have_end = 1;
				break;
			}
		}
		if (!have_end) {
			if (!full)
				return 0;
			end = len; /* report what fits, then stop */
		}
	} else {
		end = line_end < len ? line_end + 1 : len;
	}
	if (sp2 > sp1 + 1)
		emit_text(d, DECODE_HTTP_URL, f, 0, p + sp1 + 1, sp2 - sp1 - 1);
	for (pos = line_end + 1; pos < end;) {
		size_t le, colon;
		const uint8_t *q = memchr(p + pos, '\n', end - pos);
		le = q ? (size_t)(q - p) : end;
		q = memchr(p + pos, ':', le - pos);
		colon = q ? (size_t)(q - p) : le;
		if (colon < le) {
			const uint8_t *v = p + colon + 1;
			size_t vn = le - colon - 1;
			decode_trim(&v, &vn);
			if (decode_ieq(p + pos, colon - pos, "host")) {
				/* without the port (RFC 9110 section 7.2) */
				size_t hn = vn;
				while (hn && v[hn - 1] >= '0' && v[hn - 1] <= '9')
					hn--;
				if (hn && hn < vn && v[hn - 1] == ':')
					vn = hn - 1;
				emit_text(d, DECODE_HTTP_HOST, f, 0, v, vn);
			}
			else if (decode_ieq(p + pos, colon - pos, "user-agent"))
				emit_text(d, DECODE_HTTP_UA, f, 0, v, vn);
			else if (decode_ieq(p + pos, colon - pos, "content-length")) {
				clen = 0;
				for (size_t i = 0; i < vn && v[i] >= '0' &&
						   v[i] <= '9' && clen < (1ull << 40);
				     i++)
					clen = clen * 10 + (uint64_t)(v[i] - '0');
			} else if (decode_ieq(p + pos, colon - pos,
				       "transfer-encoding"))
				chunked = 1;
			else if (decode_ieq(p + pos, colon - pos, "upgrade")) {
				for (size_t i = 0; i + 3 <= vn; i++)
					if (decode_ieq(v + i, 3, "h2c"))
						dir->h2c = 1; /* RFC 7540 3.2 */
			}
		}
		pos = le + 1;
	}
	if (!have_end && !http09)
		return (size_t)-1;
	if (d->cfg.file_hashes) /* queued, its body hashed */
		return decode_httpfile_request(d, dir, p, sp1, line_end, end, http09);
	if (chunked || clen > UINT32_MAX)
		return (size_t)-1;
	dir->skip = (uint32_t)clen;
	return end;
}

/* ------------------------------------------------------------ TLS */

void decode_tls_client_hello(decode_ctx *d, const decode_flow *f,
			     const uint8_t *b, size_t n)
{
	size_t pos = 34, l, ext_end;

	if (n < pos + 1)
		goto bad;
	pos += 1 + (size_t)b[pos];                   /* session id */
	if (pos + 2 > n)
		goto bad;
	pos += 2 + (size_t)be16(b + pos);            /* cipher suites */
	if (pos + 1 > n)
		goto bad;
	pos += 1 + (size_t)b[pos];                   /* compression */
	if (pos > n)
		goto bad;
	if (pos == n)
		return; /* no extensions */
	if (pos + 2 > n)
		goto bad;
	ext_end = pos + 2 + (size_t)be16(b + pos);
	if (ext_end > n)
		goto bad;
	pos += 2;
	while (pos + 4 <= ext_end) {
		uint16_t type = be16(b + pos);
		l = be16(b + pos + 2);
		pos += 4;
		if (l > ext_end - pos)
			goto bad;
		if (type == 0) { /* server_name (RFC 6066 section 3) */
			size_t q = pos + 2, lend;
			if (l < 2 || (lend = pos + 2 + be16(b + pos)) > pos + l)
				goto bad;
			while (q + 3 <= lend) {
				size_t hl = be16(b + q + 1);
				if (q + 3 + hl > lend)
					goto bad;
				if (b[q] == 0)
					emit_text(d, DECODE_TLS_SNI, f, 0,
						  b + q + 3, hl);
				q += 3 + hl;
			}
		}
		pos += l;
	}
	return;
bad:
	decode_count(d, DECODE_E_TLS_MALFORMED);
}

size_t decode_tls(decode_ctx *d, const decode_flow *f, const uint8_t *p,
		  size_t len, int full)
{
	size_t pos = 0, got = 0, need = 4;

	(void)full;
	while (got < need) {
		size_t rl;
		if (len - pos < 5)
			return 0;
		if (p[pos] != 22) {
			/* Alert, change_cipher_spec, application data before
			 * a whole handshake message: nothing to learn. */
			if (p[pos] < 20 || p[pos] > 24 || got)
				decode_count(d, DECODE_E_TLS_BAD_RECORD);
			return (size_t)-1;
		}
		rl = be16(p + pos + 3);
		if (p[pos + 1] != 3 || p[pos + 2] > 4 || rl == 0 ||
		    rl > 16384 + 2048) {
			decode_count(d, DECODE_E_TLS_BAD_RECORD);
			return (size_t)-1;
		}
		if (len - pos - 5 < rl)
			return 0;
		if (got + rl > DECODE_HS_MAX) {
			decode_count(d, DECODE_E_TLS_MALFORMED);
			return (size_t)-1;
		}
		memcpy(d->hs + got, p + pos + 5, rl);
		got += rl;
		pos += 5 + rl;
		if (got >= 4) {
			need = 4 + ((size_t)d->hs[1] << 16 |
				    (size_t)d->hs[2] << 8 | d->hs[3]);
			if (need > DECODE_HS_MAX) {
				decode_count(d, DECODE_E_TLS_MALFORMED);
				return (size_t)-1;
			}
		}
	}
	if (d->hs[0] == 1) {
		/* the server's answer, read for its certificates */
		decode_dir *peer = &d->flows[d->cur_slot].dir[!d->cur_dir];
		if (peer->app == DIR_UNKNOWN)
			peer->app = DIR_TLSCERT;
		decode_tls_client_hello(d, f, d->hs + 4, need - 4);
	}
	return (size_t)-1; /* one ClientHello per direction is all we want */
}
