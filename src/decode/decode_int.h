/*
 * decode_int.h: what the files of the decode module share. Other modules
 * include decode.h only.
 *
 * The context holds every table, allocated once by decode_new: the
 * fragment slots (each with a buffer of frag_max_bytes and a bitmap of the
 * 8-byte blocks received), the TCP flow table (open addressing, PROBE
 * slots per key; a compact head per slot with the hash, use and last time
 * that probing reads, and apart from it each flow's key and two direction
 * buffers of flow_buf bytes)
 * and scratch buffers for text and for TLS handshakes gathered across
 * records, the QUIC ClientHello reassembly slots with a scratch buffer
 * for one decrypted Initial packet (decode_quic.c), and the HTTP/2
 * connection states (decode_http2.c: a table of h2_conns slots with two
 * HPACK dynamic tables each, attached to a flow through
 * decode_tcpflow.h2), and the TLS server flights being read for their
 * certificates (decode_tlscert.c: tls_cert_slots hash states, attached
 * through decode_tcpflow.tlscert); a flow on a mail port keeps its
 * STARTTLS negotiation in decode_tcpflow.mail (decode_starttls.c), and
 * the HTTP/1.x bodies being hashed (decode_httpfile.c: http_file_slots
 * hash and inflate states, attached through decode_tcpflow.httpfile, with
 * the flow's queue of requests awaiting responses). Timeouts run on capture time, never on
 * the wall clock.
 */
#ifndef RK_DECODE_INT_H
#define RK_DECODE_INT_H

#include "decode.h"

#define DECODE_MAX_TUNNEL 3   /* IP-in-IP, MPLS/VLAN nesting bound */
#define DECODE_MAX_VLAN 4
#define DECODE_MAX_EXT 8      /* IPv6 extension headers followed */
#define DECODE_PROBE 8        /* slots probed per hash */
#define DECODE_TEXT_MAX 1024  /* one observable's text */
#define DECODE_HS_MAX 16384   /* TLS ClientHello gathered across records */
#define DECODE_QUIC_HELLO_MAX 8192    /* ClientHello gathered from CRYPTO frames */
#define DECODE_QUIC_PACKET_MAX 16384  /* one Initial packet decrypted */
#define DECODE_MAIL_LINE_MAX 1024 /* a mail line read for STARTTLS (RFC 5321 allows 512) */
#define DECODE_MAIL_LINES 64      /* lines a direction reads before STARTTLS is asked */
#define DECODE_MAIL_TAG_MAX 16    /* an IMAP tag kept to match its reply */

typedef struct decode_frag {
	int used;
	uint8_t family, proto;
	uint8_t src[16], dst[16];
	uint32_t id;
	int64_t first_usec;
	uint32_t total;      /* datagram length once the last piece is seen */
	uint32_t hdr_len;    /* IPv4: the header kept in front of the data */
	uint8_t *data;
	uint8_t *bitmap;     /* one bit per 8-byte block received */
} decode_frag;

/* What a stream direction carries, decided from its first bytes. */
enum { DIR_UNKNOWN, DIR_IGNORE, DIR_HTTP, DIR_TLS, DIR_DNS };
enum { DIR_HTTP2 = DIR_DNS + 1 }; /* HTTP/2 frames (decode_http2.c) */
/* a server's answer to a ClientHello (decode_tlscert.c) */
enum { DIR_TLSCERT = DIR_HTTP2 + 1 };
/* SMTP, IMAP or POP3 lines read for STARTTLS (decode_starttls.c) */
enum { DIR_MAIL = DIR_TLSCERT + 1 };
/* HTTP/1.x responses read for their bodies' hashes (decode_httpfile.c);
 * a value apart from the chain above */
enum { DIR_HTTPRESP = DIR_MAIL + 16 };

typedef struct decode_dir {
	int app;
	int have_seq;
	uint32_t next_seq;
	uint32_t skip;       /* body bytes still to discard (HTTP) */
	uint32_t len;
	uint8_t *buf;
	uint8_t h2c;         /* an HTTP/1.1 request asked for Upgrade: h2c */
	uint8_t lines;       /* DIR_MAIL: lines read, up to 255 */
	uint8_t body;        /* a body being hashed (decode_httpfile.c) */
} decode_dir;

/* What a probe of the flow table reads, kept apart from the flows. */
typedef struct decode_flowhead {
	uint32_t hash;       /* flow_hash of the flow's key */
	uint32_t used;
	int64_t last_usec;
} decode_flowhead;

typedef struct decode_tcpflow {
	decode_flow key;     /* as first seen; dir[0] = key's src -> dst */
	decode_dir dir[2];
	uint16_t h2;         /* HTTP/2 connection state: slot + 1, 0 none */
	uint16_t tlscert;    /* TLS server flight state: slot + 1, 0 none */
	/* STARTTLS on a mail port (decode_starttls.c): DECODE_MAIL_* flags,
	 * and the tag of an IMAP client's STARTTLS command */
	uint8_t mail;
	uint8_t mail_tag_len;
	uint8_t mail_tag[DECODE_MAIL_TAG_MAX];
	/* HTTP bodies hashed (decode_httpfile.c): each direction's slot + 1,
	 * and the requests waiting for a response, two bits each, oldest in
	 * the low bits */
	uint16_t httpfile[2];
	uint8_t http_pending;
	uint32_t http_methods;
} decode_tcpflow;

struct decode_ctx {
	decode_config cfg;
	decode_cb cb;
	void *user;
	decode_stats st;
	int64_t now;         /* current packet's timestamp */
	uint32_t seed;       /* flow hash key, random per context */
	int depth;
	decode_frag *frags;
	decode_flowhead *heads; /* one per flow slot */
	decode_tcpflow *flows;
	/* the blocks the fragments' data and bitmaps and the flows' direction
	 * buffers point into */
	uint8_t *frag_data, *frag_bitmaps, *flow_bufs;
	uint8_t *hs;         /* DECODE_HS_MAX */
	char dq[256][4];     /* decimal text of each byte value */
	char text[DECODE_TEXT_MAX];
	struct decode_quic_slot *quic; /* cfg.quic_slots */
	uint8_t *quic_plain;           /* DECODE_QUIC_PACKET_MAX */
	struct decode_h2 *h2;   /* HTTP/2 connection states (decode_http2.c) */
	struct decode_tlscert_slot *tlscert; /* cfg.tls_cert_slots (decode_tlscert.c) */
	unsigned cur_slot;      /* the TCP flow slot and direction being fed */
	int cur_dir;
	struct decode_httpfile *httpfile; /* cfg.http_file_slots (decode_httpfile.c) */
};

/* decode_net.c */
int decode_count(decode_ctx *d, decode_err e);
void decode_emit(decode_ctx *d, decode_kind k, const decode_flow *f,
		 uint16_t rrtype, const char *v, size_t len);
int decode_ip(decode_ctx *d, const uint8_t *p, size_t len);
/* Dotted-quad text of an IPv4 address, NUL-terminated; its length. */
size_t decode_fmt_ipv4(const decode_ctx *d, char out[16], const uint8_t a[4]);

/* decode_flow.c */
void decode_tcp(decode_ctx *d, decode_flow *f, const uint8_t *p, size_t len);

/* decode_app.c */
void decode_dns(decode_ctx *d, const decode_flow *f, const uint8_t *p,
		size_t len);
/* Consume bytes of a stream direction; returns bytes used (0 = need
 * more), or (size_t)-1 to stop parsing this direction. */
size_t decode_http(decode_ctx *d, const decode_flow *f, decode_dir *dir,
		   const uint8_t *p, size_t len, int full);
size_t decode_tls(decode_ctx *d, const decode_flow *f, const uint8_t *p,
		  size_t len, int full);
size_t decode_dns_tcp(decode_ctx *d, const decode_flow *f, const uint8_t *p,
		      size_t len, int full);
/* The DNS name at *off (RFC 1035 section 4.1.4, loop-safe) into out,
 * dotted and NUL-terminated (at most 254 characters), *off moved past it;
 * -1 when it is bad, with the kind to count in *why (not counted here). */
int decode_dns_name(const uint8_t *m, size_t mlen, size_t *off,
		    char out[256], size_t *outlen, decode_err *why);

/* decode_dnsrr.c: the host named by the data of a record of this type
 * (m the whole message, the data at m[off, off + rdlen), inside it) into
 * out as decode_dns_name writes it, *at where it begins: 1 a name, 0 none
 * (a type that names no host, or the root), -1 malformed with the kind to
 * count in *why (not counted here). */
int decode_dns_target(const uint8_t *m, size_t off, size_t rdlen,
		      uint16_t type, char out[256], size_t *outlen,
		      size_t *at, decode_err *why);

/* decode_nbns.c */
void decode_nbns(decode_ctx *d, const decode_flow *f, const uint8_t *p,
		 size_t len);

/* decode_app.c: HTTP header helpers shared by the request reader and the
 * body hasher. decode_ieq: a's alen bytes equal the lower-case b, ASCII
 * letters compared without case. decode_trim: *v, *n without leading
 * blanks and trailing blanks and CR. */
int decode_ieq(const uint8_t *a, size_t alen, const char *b);
void decode_trim(const uint8_t **v, size_t *n);
/* decode_app.c: the ClientHello body (after the 4-byte handshake header)
 * of n bytes; its server names are emitted as DECODE_TLS_SNI. */
void decode_tls_client_hello(decode_ctx *d, const decode_flow *f,
			     const uint8_t *b, size_t n);
/* A text observable of any bytes (copied, NUL-terminated, truncated). */
void decode_emit_text(decode_ctx *d, decode_kind k, const decode_flow *f,
		      const uint8_t *v, size_t len);

/* decode_quic.c */
typedef struct decode_quic_slot decode_quic_slot;
typedef struct decode_quic_keys {
	uint8_t key[16], iv[12], hp[16];
} decode_quic_keys;
int decode_quic_init(decode_ctx *d);  /* -1 when out of memory */
void decode_quic_free(decode_ctx *d);
/* The client Initial keys of a QUIC version for a Destination Connection
 * ID (RFC 9001 section 5.2); -1 for a version without a known salt. */
int decode_quic_client_keys(uint32_t version, const uint8_t *dcid,
			    size_t dcid_len, decode_quic_keys *k);
void decode_quic(decode_ctx *d, const decode_flow *f, const uint8_t *p,
		 size_t len);

/* What decode_udp asks of every UDP payload that is not DNS before it
 * calls decode_quic: a long header (RFC 9000 section 17.2: form and fixed
 * bits) with a version we decode (1, 2, drafts 29-32, Google's Q046 and
 * before), or a Google QUIC public header with a version (flags 0x09, the
 * reserved 0x80 clear) and "Q0" where the version starts. */
static inline int decode_quic_candidate(const uint8_t *p, size_t len)
{
	uint32_t v;

	if (len < 20)
		return 0;
	if ((p[0] & 0xc0) == 0xc0) {
		v = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
		    (uint32_t)p[3] << 8 | p[4];
		return v == 0x00000001u || v == 0x6b3343cfu ||
		       v - 0xff00001du < 4u ||
		       (v >> 8 == 0x513034u && p[4] >= '0' && p[4] <= '6');
	}
	return (p[0] & 0x89) == 0x09 && p[9] == 'Q' && p[10] == '0';
}
/* A DNS message cut short by a bound: what is whole is reported, nothing
 * is counted as malformed. */
void decode_dns_part(decode_ctx *d, const decode_flow *f, const uint8_t *p,
		     size_t len);

/* decode_tlscert.c: the server flight answering a ClientHello. */
typedef struct decode_tlscert_slot decode_tlscert_slot;
int decode_tlscert_init(decode_ctx *d); /* 0, or -1 out of memory */
void decode_tlscert_free(decode_ctx *d);
/* A DIR_TLSCERT direction's bytes: all used, or (size_t)-1 when done. */
size_t decode_tlscert(decode_ctx *d, const decode_flow *f, const uint8_t *p,
		      size_t len, int full);

/* A digest as lowercase hex, emitted as kind k (decode_tlscert.c). */
void decode_emit_hex(decode_ctx *d, const decode_flow *f, decode_kind k,
		     const uint8_t *digest, size_t n);

/* decode_httpfile.c: HTTP/1.x message bodies hashed as they arrive. */
#define DECODE_HTTP_PENDING 16 /* requests queued for their responses */
int decode_httpfile_init(decode_ctx *d); /* 0, or -1 out of memory */
void decode_httpfile_free(decode_ctx *d);
/* A server direction's first bytes: DIR_HTTPRESP for "HTTP/" or for
 * anything answering an HTTP/0.9 request, else DIR_IGNORE. decode_tcp
 * asks only when file hashes are on. */
int decode_httpfile_answer(const decode_ctx *d, const uint8_t *p, size_t len);
/* A request's header block p[0, end) read by decode_http (the method is
 * p[0, method_len), the start line ends at line_end; http09: a request
 * line without a version, RFC 1945 section 4.1, answered by a bare body
 * until the close): the request is queued for its response and its body,
 * if any, begun. Returns end, or (size_t)-1 when the direction must end. */
size_t decode_httpfile_request(decode_ctx *d, decode_dir *dir, const uint8_t *p,
			       size_t method_len, size_t line_end, size_t end, int http09);
/* A DIR_HTTPRESP direction's bytes, and the bytes of a body begun
 * (decode_dir.body) in either direction: bytes used (0 need more), or
 * (size_t)-1 when the direction must end. */
size_t decode_httpfile_response(decode_ctx *d, const decode_flow *f, decode_dir *dir,
				const uint8_t *p, size_t len, int full);
size_t decode_httpfile_body(decode_ctx *d, const decode_flow *f, decode_dir *dir,
			    const uint8_t *p, size_t len, int full);
/* Direction dir of flow slot closed (FIN, in order or not, or RST), or
 * lost to a gap (in_order 0): a body read until the close is reported,
 * any other is counted incomplete. */
void decode_httpfile_close(decode_ctx *d, unsigned slot, int dir, int in_order);

/* decode_starttls.c: STARTTLS in SMTP (ports 25 and 587), IMAP (143)
 * and POP3 (110). The protocol a server port speaks, or 0; classify
 * (decode_flow.c) asks it of both ports of a direction whose first bytes
 * are no TLS, so ordinary traffic pays two switches once a direction. */
enum { DECODE_MAIL_SMTP = 1, DECODE_MAIL_IMAP, DECODE_MAIL_POP3 };
#define DECODE_MAIL_ASKED 1   /* the client sent STARTTLS (or STLS) */
#define DECODE_MAIL_AGREED 2  /* the server's positive answer was read */
static inline int decode_mail_port(uint16_t port)
{
	switch (port) {
	case 25:
	case 587:
		return DECODE_MAIL_SMTP;
	case 143:
		return DECODE_MAIL_IMAP;
	case 110:
		return DECODE_MAIL_POP3;
	default:
		return 0;
	}
}
/* A DIR_MAIL direction's bytes: lines used (0 need more), or (size_t)-1
 * when done; at the switch to TLS the direction becomes DIR_TLS (client)
 * or DIR_TLSCERT (server) and the bytes after the line go there. */
size_t decode_starttls(decode_ctx *d, const decode_flow *f, decode_dir *r,
		       const uint8_t *p, size_t len, int full);

/* decode_http2.c: HTTP/2 in cleartext and DNS over HTTPS on it. */
#define DECODE_HPACK_MAX 16384   /* largest HPACK dynamic table accepted */
#define DECODE_HPACK_ENTRIES 512 /* DECODE_HPACK_MAX / 32, a power of two */
#define DECODE_DOH_STREAMS 4     /* DNS over HTTPS bodies followed at once */
#define DECODE_DOH_MAX 2048      /* bytes of one DNS over HTTPS message kept */
#define DECODE_H2_NO ((size_t)-2) /* decode_http2_start: not a preface */

/* One direction's HPACK dynamic table (RFC 7541 section 2.3.2): entry
 * bytes (name then value) in a ring, their places in a ring of
 * descriptors, newest at ehead - 1. */
typedef struct decode_hpack {
	uint32_t size;       /* RFC 7541 section 4.1 */
	uint32_t max;        /* current maximum, from size updates */
	uint32_t bhead;      /* where the next entry's bytes go */
	uint16_t ehead, count;
	struct {
		uint16_t off, nlen, vlen;
	} ent[DECODE_HPACK_ENTRIES];
	uint8_t bytes[DECODE_HPACK_MAX];
} decode_hpack;

/* A header field as HPACK gives it; the bytes live until the next one. */
typedef void (*decode_hpack_fn)(void *user, const uint8_t *name, size_t nl,
				const uint8_t *val, size_t vl);

int decode_h2_new(decode_ctx *d);  /* 0, or -1 out of memory */
void decode_h2_free(decode_ctx *d);
/* A request that starts with 'P' on an HTTP/1.x direction: the client
 * preface switches it to HTTP/2 (bytes used, 0 need more), anything else
 * gives DECODE_H2_NO. */
size_t decode_http2_start(decode_ctx *d, decode_dir *dir, const uint8_t *p,
			  size_t len, int full);
/* The first data of a direction classify ignored: DIR_HTTP2 when it
 * answers an HTTP/2 client (a SETTINGS frame, or 101 to Upgrade: h2c). */
int decode_http2_answer(decode_ctx *d, const uint8_t *p, size_t len);
size_t decode_http2(decode_ctx *d, const decode_flow *f, decode_dir *dir,
		    const uint8_t *p, size_t len, int full);
/* HPACK on its own (the tests use it): a header block through hp whose
 * size updates may not exceed limit; 0, or -1 on a decoding error. */
void decode_hpack_init(decode_hpack *hp);
int decode_hpack_block(decode_ctx *d, decode_hpack *hp, uint32_t limit,
		       const uint8_t *b, size_t n, decode_hpack_fn fn,
		       void *user);
/* Dynamic table entry i (1 = newest) copied out; -1 when there is none. */
int decode_hpack_entry(const decode_hpack *hp, unsigned i, char *name,
		       size_t *nl, char *val, size_t *vl);
/* The Huffman code (RFC 7541 Appendix B): code lengths per symbol (256 is
 * EOS), and decoding; the decoded length, or -1 on a bad string. */
extern const uint8_t decode_huff_len[257];
long decode_huffman(const decode_ctx *d, const uint8_t *in, size_t n,
		    uint8_t *out, size_t cap);

#endif
