/*
 * decode.h: packet decoding for the sensor, from link layer to the
 * observables an indicator can match (addresses, DNS names and answers,
 * HTTP Host/URL/User-Agent, TLS SNI, TLS server certificate hashes).
 *
 * Data flow: a packet buffer and its libpcap link type go into
 * decode_packet(); the link layer (Ethernet with 802.1Q/QinQ, MPLS, PPPoE,
 * Linux SLL/SLL2, raw IP, BSD loopback, NFLOG, Cisco HDLC; tunnels:
 * IP-in-IP, GRE, VXLAN, Teredo, GTP-U) leads to IPv4 or IPv6 (with
 * extension headers), fragments are reassembled in a bounded table, UDP
 * goes to DNS and QUIC (the SNI of a client's Initial packets), TCP goes
 * through a bounded per-flow reassembly (a few KB per direction) to DNS
 * over TCP, HTTP/1.x request headers, HTTP/2 in cleartext (prior
 * knowledge or Upgrade: h2c; request headers through HPACK, DNS over
 * HTTPS messages both ways) and the TLS ClientHello, whose server's answer
 * is then read for its certificates (TLS 1.0-1.2: the SHA-1 and SHA-256
 * of each, hashed as the bytes stream past; TLS 1.3 encrypts them), the
 * TLS begun by STARTTLS in SMTP, IMAP and POP3 included; when asked, the
 * bodies of HTTP/1.x messages both ways are hashed as they stream past
 * (decode_httpfile.c). Every observable is
 * handed to the caller's callback as it is found; decode_pcap_file()
 * walks a capture file, and decode_pcap_open/next give its records one
 * by one.
 *
 * Invariants: nothing is allocated per packet; every table (fragments,
 * flows) and buffer is allocated once by decode_new() and bounded by
 * decode_config. Bad input never aborts: a bad packet is counted under one
 * decode_err kind (with the number of the last packet that had it) and
 * skipped. Observables point into memory valid only during the callback.
 * This module depends on common only and never reads test data.
 *
 * Ownership: decode_new returns a context freed by decode_free (NULL is
 * accepted). A context is not thread-safe; use one per capture thread.
 *
 * Map of the module:
 *   decode_net.c    link layers, IPv4, IPv6 and extension headers,
 *                   fragment reassembly, UDP/TCP dispatch
 *   decode_flow.c   the TCP flow table and per-direction stream buffers
 *   decode_app.c    DNS (UDP and TCP), HTTP/1.x requests, TLS ClientHello
 *   decode_dnsrr.c  the host a DNS record's data names (MX, NS, PTR, SRV,
 *                   SOA, CNAME, DNAME, SVCB/HTTPS), in every section
 *   decode_quic.c   QUIC: client Initials decrypted and their CRYPTO
 *                   frames gathered into the ClientHello (v1, v2, drafts
 *                   29-32); Google QUIC's clear CHLO (SNI, UAID)
 *   decode_tlscert.c  the server flight answering a ClientHello: each
 *                   certificate's SHA-1 and SHA-256 (TLS 1.0-1.2)
 *   decode_starttls.c  SMTP, IMAP and POP3 lines read for STARTTLS, after
 *                   which both directions go on as TLS
 *   decode_nbns.c   NetBIOS Name Service names (UDP 137) as DNS names
 *   decode_http2.c  HTTP/2 in cleartext: frames, HPACK, DNS over HTTPS
 *   decode_httpfile.c  HTTP/1.x message bodies (downloads, uploads)
 *                   hashed as they arrive, after gzip or deflate, when
 *                   file hashes are asked for (MD5, SHA-1, SHA-256)
 *   decode_pcap.c   capture files: classic pcap read directly, the rest
 *                   (pcapng, byte-swapped, odd records) through libpcap
 */
#ifndef RK_DECODE_H
#define RK_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* libpcap link types handled (DLT values as pcap_datalink returns them,
 * plus the LINKTYPE_ numbers where they differ). */
#define DECODE_LINK_NULL 0
#define DECODE_LINK_ETHERNET 1
#define DECODE_LINK_RAW 12
#define DECODE_LINK_RAW_BSD 14
#define DECODE_LINK_RAW_LT 101
#define DECODE_LINK_C_HDLC 104
#define DECODE_LINK_LOOP 108
#define DECODE_LINK_SLL 113
#define DECODE_LINK_IPV4 228
#define DECODE_LINK_IPV6 229
#define DECODE_LINK_NFLOG 239
#define DECODE_LINK_SLL2 276

/* What an observable is. */
typedef enum decode_kind {
	DECODE_ADDR_SRC,     /* text form of the IP source address (or "": raw_addresses) */
	DECODE_ADDR_DST,     /* text form of the IP destination address (or "") */
	DECODE_DNS_QUERY,    /* question name, dotted, as sent (NetBIOS: decoded) */
	/* from a response's answer, authority and additional sections (an
	 * UPDATE's prerequisite, update and additional ones): A/AAAA data as
	 * address text; the host a record's data names (CNAME, NS, SOA's
	 * MNAME, PTR, MX, SRV, DNAME, SVCB/HTTPS TargetName; never the root);
	 * an answer record's owner name (rrtype 0). OPT, TSIG, TKEY, SIG(0)
	 * and every other type are skipped, and so are the owner names of
	 * the authority and additional sections. */
	DECODE_DNS_ANSWER,
	DECODE_HTTP_HOST,    /* Host header value, trimmed */
	DECODE_HTTP_URL,     /* request target of the request line */
	DECODE_HTTP_UA,      /* User-Agent header value, trimmed */
	DECODE_TLS_SNI,      /* ClientHello server_name host_name */
	/* a server certificate (TLS 1.0-1.2 Certificate message): the SHA-1
	 * and SHA-256 of its DER bytes, lowercase hex */
	DECODE_TLS_CERT_SHA1,
	DECODE_TLS_CERT_SHA256,
	/* an HTTP/1.x message body (a file downloaded or uploaded), decoded
	 * from its Content-Encoding: MD5, SHA-1, SHA-256, lowercase hex, as
	 * decode_config.file_hashes asks */
	DECODE_FILE_MD5,
	DECODE_FILE_SHA1,
	DECODE_FILE_SHA256,
	DECODE_KIND_COUNT
} decode_kind;

const char *decode_kind_name(decode_kind k);

/* The error kinds counted by a context; one table, one name each. */
#define DECODE_ERRORS(X)                                                    \
	X(DECODE_E_TRUNCATED, "truncated")                                  \
	X(DECODE_E_BAD_LENGTH, "bad length")                                \
	X(DECODE_E_LINK_UNSUPPORTED, "unsupported link type")               \
	X(DECODE_E_BAD_IP, "bad IP header")                                 \
	X(DECODE_E_BAD_CHECKSUM, "bad IPv4 header checksum (ignored)")      \
	X(DECODE_E_EXT_HEADERS, "too many IPv6 extension headers")          \
	X(DECODE_E_FRAG_DROPPED, "fragment dropped (table full or bad)")    \
	X(DECODE_E_FRAG_TIMEOUT, "fragments timed out")                     \
	X(DECODE_E_TUNNEL_DEPTH, "tunnel nesting too deep")                 \
	X(DECODE_E_FLOW_EVICTED, "TCP flow evicted (table full)")           \
	X(DECODE_E_TCP_GAP, "TCP out-of-order data dropped")                \
	X(DECODE_E_STREAM_FULL, "TCP stream buffer full")                   \
	X(DECODE_E_DNS_MALFORMED, "malformed DNS")                          \
	X(DECODE_E_DNS_LOOP, "DNS compression loop")                        \
	X(DECODE_E_HTTP_MALFORMED, "malformed HTTP request")                \
	X(DECODE_E_TLS_BAD_RECORD, "bad TLS record")                        \
	X(DECODE_E_TLS_MALFORMED, "malformed TLS ClientHello")            \
	X(DECODE_E_QUIC_DECRYPT, "QUIC Initial failed to decrypt (corrupt, or its client unseen)") \
	X(DECODE_E_QUIC_MALFORMED, "malformed QUIC packet")                 \
	X(DECODE_E_QUIC_EVICTED, "QUIC ClientHello dropped incomplete (timeout or table full)") \
	X(DECODE_E_H2_MALFORMED, "malformed HTTP/2 frame")                  \
	X(DECODE_E_HPACK, "HPACK decoding error")                           \
	X(DECODE_E_H2_UNTRACKED, "HTTP/2 connection not decoded (table full)") \
	X(DECODE_E_H2_LOST, "HTTP/2 header state lost (gap or oversized block)") \
	X(DECODE_E_DOH_DROPPED, "DNS over HTTPS message not followed (too many streams)") \
	X(DECODE_E_TLS_CERT_MALFORMED, "malformed TLS server flight (ServerHello, Certificate)") \
	X(DECODE_E_TLS_CERT_UNTRACKED, "TLS server certificates not read (table full)") \
	X(DECODE_E_STARTTLS_MALFORMED, "malformed STARTTLS exchange (over-long line after the command)") \
	X(DECODE_E_HTTP_FILE_MALFORMED, "malformed HTTP response or message body framing") \
	X(DECODE_E_HTTP_FILE_UNTRACKED, "HTTP body not hashed (table full)") \
	X(DECODE_E_HTTP_FILE_PARTIAL, "HTTP body not hashed: 206 Partial Content") \
	X(DECODE_E_HTTP_FILE_INCOMPLETE, "HTTP body not hashed: cut short (gap, early close, flow lost)") \
	X(DECODE_E_HTTP_FILE_ENCODING, "HTTP body not hashed: coding failed to decode or not decoded")

typedef enum decode_err {
#define DECODE_ENUM(sym, text) sym,
	DECODE_ERRORS(DECODE_ENUM)
#undef DECODE_ENUM
	DECODE_E_COUNT
} decode_err;

const char *decode_strerror(decode_err e);

/* The packet's (or the stream direction's) 5-tuple. family is 4 or 6;
 * addresses are in network order in the first 4 or 16 bytes. */
typedef struct decode_flow {
	uint8_t family;
	uint8_t proto; /* 6 TCP, 17 UDP, else the IP protocol */
	uint16_t sport, dport;
	uint8_t src[16], dst[16];
} decode_flow;

typedef struct decode_observable {
	decode_kind kind;
	const decode_flow *flow;
	uint64_t packet;  /* 1-based packet number within the context */
	int64_t ts_usec;  /* capture timestamp, microseconds since the epoch */
	/* DNS answers: 1 A, 28 AAAA (the value is an address); the record
	 * type whose data names the host: 2 NS, 5 CNAME, 6 SOA, 12 PTR,
	 * 15 MX, 33 SRV, 39 DNAME, 64 SVCB, 65 HTTPS; 0 the owner name of a
	 * record that the message has not just named (mDNS announcements,
	 * UPDATE and NetBIOS names); else 0 */
	uint16_t rrtype;
	const char *value; /* NUL-terminated; may hold any byte but NUL */
	size_t len;
} decode_observable;

typedef void (*decode_cb)(const decode_observable *obs, void *user);

/* Bounds; zero fields take the defaults (decode_config_default). */
typedef struct decode_config {
	unsigned frag_slots;      /* datagrams reassembled at once (32) */
	unsigned frag_max_bytes;  /* per datagram, at most 65535 (65535) */
	unsigned frag_timeout_s;  /* (30) */
	unsigned flows;           /* TCP flows tracked (1024) */
	unsigned flow_buf;        /* stream bytes kept per direction (4096) */
	unsigned flow_timeout_s;  /* idle TCP flow (120) */
	int emit_addresses;       /* deliver DECODE_ADDR_* (1 by default) */
	/* 1: DECODE_ADDR_* come without their text (value "", len 0), for a
	 * caller that reads flow->src and flow->dst and would only parse the
	 * text back; saves formatting two addresses a packet (0 by default) */
	int raw_addresses;
	unsigned quic_slots;      /* QUIC ClientHellos reassembled at once (16) */
	unsigned quic_timeout_s;  /* idle QUIC reassembly slot (30) */
	/* HTTP/2 connections decoded at once, each with two HPACK tables
	 * (about 46 KB a connection) (32) */
	unsigned h2_conns;
	/* TLS server flights whose certificates are hashed at once (one
	 * SHA-1 and one SHA-256 state each, under 1 KB) (64) */
	unsigned tls_cert_slots;
	/* HTTP/1.x bodies hashed at once, each with its hash states and a
	 * zlib inflate area (about 49 KB, touched on first use) (64) */
	unsigned http_file_slots;
	/* DECODE_HASH_* digests of HTTP bodies to compute (0: none, and
	 * responses are not read at all) (0) */
	unsigned file_hashes;
} decode_config;

/* Digests of HTTP/1.x bodies (decode_config.file_hashes). */
#define DECODE_HASH_MD5 1u
#define DECODE_HASH_SHA1 2u
#define DECODE_HASH_SHA256 4u

void decode_config_default(decode_config *cfg);

typedef struct decode_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t observables[DECODE_KIND_COUNT];
	uint64_t errors[DECODE_E_COUNT];
	uint64_t last_error_packet[DECODE_E_COUNT]; /* 0 = never */
	uint64_t file_bytes; /* decoded bytes of the HTTP bodies reported */
} decode_stats;

typedef struct decode_ctx decode_ctx;

/* decode_new: allocates every table up front (cfg NULL = defaults). cb may
 * be NULL (statistics only). Returns NULL when out of memory. */
decode_ctx *decode_new(const decode_config *cfg, decode_cb cb, void *user);
void decode_free(decode_ctx *d);

/* decode_packet: decodes one captured packet of caplen bytes. Returns 0
 * when it decoded, or the decode_err it was counted under (1 + the kind,
 * so 0 always means success). */
int decode_packet(decode_ctx *d, int linktype, const uint8_t *pkt,
		  size_t caplen, int64_t ts_usec);

const decode_stats *decode_get_stats(const decode_ctx *d);

/* decode_httpfile.c: which DECODE_HASH_* digests of HTTP bodies to
 * compute from the next message on (between packets, from the context's
 * thread); bodies already begun keep what they had. 0 turns it off. */
void decode_set_file_hashes(decode_ctx *d, unsigned mask);

/* decode_pcap.c */

/* decode_pcap_file: decodes every packet of a capture file. Bad packets
 * are counted, never fatal. Errors: RK_EIO when the file cannot be opened
 * or read (ctx says why); the packets decoded before a read error stay
 * counted. */
rk_err decode_pcap_file(decode_ctx *d, const char *path, rk_errctx *ctx);

/* decode_hash.c: a hash of the packet's outermost IP address pair that is
 * the same in both directions (and for every fragment), for spreading
 * packets over decode contexts; 0 when no IP header is found. Reads only
 * within caplen; counts nothing. */
uint32_t decode_packet_hash(int linktype, const uint8_t *pkt, size_t caplen);
/* The outermost IP header's 5-tuple (ports 0 for a later fragment or a
 * protocol without them); -1 when there is no IP header. For naming where
 * a hit was seen, not for decoding. */
int decode_packet_flow(int linktype, const uint8_t *pkt, size_t caplen, decode_flow *f);

/* A capture file read record by record, for a reader thread that hands
 * packets to decoders elsewhere: the records, link type, times and errors
 * are decode_pcap_file's. decode_pcap_open: NULL when the file cannot be
 * opened (ctx says why; "-" is standard input). decode_pcap_next: 1 with
 * the next record (*data valid until the next call or the close), 0 at the
 * end, -1 on a read error (ctx says why; the records before it were good).
 * decode_pcap_link: the link type to give decode_packet. One thread at a
 * time; decode_pcap_close accepts NULL. */
typedef struct decode_pcap decode_pcap;
decode_pcap *decode_pcap_open(const char *path, rk_errctx *ctx);
int decode_pcap_next(decode_pcap *pc, const uint8_t **data, size_t *caplen,
		     int64_t *ts_usec, rk_errctx *ctx);
int decode_pcap_link(const decode_pcap *pc);
void decode_pcap_close(decode_pcap *pc);

#endif
