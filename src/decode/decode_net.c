/*
 * decode_net.c: from a captured frame to transport payloads.
 *
 * Link layers lead to an EtherType or an IP version; IPv4 and IPv6 are
 * checked against the captured length (a frame shorter than its IP length
 * is "truncated", an IP length shorter than its header "bad length"; bytes
 * past the IP length are link padding and ignored). Fragments of either
 * version go to one bounded table keyed by (family, src, dst, id, proto):
 * each slot holds the reassembled payload and a bitmap of the 8-byte
 * blocks seen, and completes when the last piece has fixed the length and
 * every block below it is present. Slots expire after frag_timeout_s of
 * capture time; when the table is full the oldest slot is dropped. Tunnels
 * (IP-in-IP, GRE, GRE over UDP, VXLAN, Teredo, GTP-U) re-enter decode_ip with a depth bound.
 * The IPv4 header checksum is verified and a mismatch only counted,
 * because capture hosts with checksum offload record wrong values.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "decode_int.h"

static const char *const kind_names[DECODE_KIND_COUNT] = {
	"addr.src", "addr.dst", "dns.query", "dns.answer",
	"http.host", "http.url", "http.user_agent", "tls.sni",
	"tls.cert_sha1", "tls.cert_sha256",
	"file.md5", "file.sha1", "file.sha256",
};

const char *decode_kind_name(decode_kind k)
{
	return (unsigned)k < DECODE_KIND_COUNT ? kind_names[k] : "?";
}

static const char *const err_names[DECODE_E_COUNT] = {
#define DECODE_TEXT(sym, text) text,
	DECODE_ERRORS(DECODE_TEXT)
#undef DECODE_TEXT
};

const char *decode_strerror(decode_err e)
{
	return (unsigned)e < DECODE_E_COUNT ? err_names[e] : "?";
}

void decode_config_default(decode_config *cfg)
{
	cfg->frag_slots = 32;
	cfg->frag_max_bytes = 65535;
	cfg->frag_timeout_s = 30;
	cfg->flows = 1024;
	cfg->flow_buf = 4096;
	cfg->flow_timeout_s = 120;
	cfg->emit_addresses = 1;
	cfg->raw_addresses = 0;
	cfg->quic_slots = 16;
	cfg->quic_timeout_s = 30;
	cfg->h2_conns = 32;
	cfg->tls_cert_slots = 64;
	cfg->http_file_slots = 64;
	cfg->file_hashes = 0;
}

decode_ctx *decode_new(const decode_config *cfg, decode_cb cb, void *user)
{
	decode_config def;
	decode_ctx *d;

	decode_config_default(&def);
	if (cfg) {
		if (cfg->frag_slots) def.frag_slots = cfg->frag_slots;
		if (cfg->frag_max_bytes && cfg->frag_max_bytes <= 65535)
			def.frag_max_bytes = cfg->frag_max_bytes;
		if (cfg->frag_timeout_s) def.frag_timeout_s = cfg->frag_timeout_s;
		if (cfg->flows) def.flows = cfg->flows;
		if (cfg->flow_buf >= 64) def.flow_buf = cfg->flow_buf;
		if (cfg->flow_timeout_s) def.flow_timeout_s = cfg->flow_timeout_s;
		def.emit_addresses = cfg->emit_addresses;
		def.raw_addresses = cfg->raw_addresses;
		if (cfg->quic_slots) def.quic_slots = cfg->quic_slots;
		if (cfg->quic_timeout_s) def.quic_timeout_s = cfg->quic_timeout_s;
		if (cfg->h2_conns && cfg->h2_conns < 65535)
			def.h2_conns = cfg->h2_conns;
		if (cfg->tls_cert_slots && cfg->tls_cert_slots < 65535)
			def.tls_cert_slots = cfg->tls_cert_slots;
		if (cfg->http_file_slots && cfg->http_file_slots < 65535)
			def.http_file_slots = cfg->http_file_slots;
		def.file_hashes = cfg->file_hashes & 7u;
	}
	d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->cfg = def;
	{
		/* The traffic chooses the flow keys: a secret hash key keeps
		 * an outsider from aiming many flows at one probe window. */
		char hex[9];
		rk_random_hex(hex, 4);
		for (int i = 0; i < 8; i++)
			d->seed = d->seed << 4 | (uint32_t)rk_hex_value(hex[i]);
	}
	d->cb = cb;
	d->user = user;
	for (unsigned v = 0; v < 256; v++) {
		char *t = d->dq[v];
		if (v >= 100)
			*t++ = (char)('0' + v / 100);
		if (v >= 10)
			*t++ = (char)('0' + v / 10 % 10);
		*t = (char)('0' + v % 10);
	}
	d->frags = calloc(def.frag_slots, sizeof *d->frags);
	d->flows = calloc(def.flows, sizeof *d->flows);
	d->heads = calloc(def.flows, sizeof *d->heads);
	d->hs = malloc(DECODE_HS_MAX);
	if (decode_h2_new(d))
		goto fail;
	if (!d->frags || !d->flows || !d->heads || !d->hs)
		goto fail;
	if (decode_quic_init(d) || decode_tlscert_init(d) || decode_httpfile_init(d))
		goto fail;
	/* The fragment and stream buffers are one zeroed block each, so the
	 * pages of slots and flows never used are never made resident. */
	size_t bitmap_bytes = def.frag_max_bytes / 64 + 1;
	d->frag_data = calloc(def.frag_slots, def.frag_max_bytes);
	d->frag_bitmaps = calloc(def.frag_slots, bitmap_bytes);
	d->flow_bufs = calloc((size_t)def.flows * 2, def.flow_buf);
	if (!d->frag_data || !d->frag_bitmaps || !d->flow_bufs)
		goto fail;
	for (unsigned i = 0; i < def.frag_slots; i++) {
		d->frags[i].data = d->frag_data + (size_t)i * def.frag_max_bytes;
		d->frags[i].bitmap = d->frag_bitmaps + (size_t)i * bitmap_bytes;
	}
	for (unsigned i = 0; i < def.flows; i++)
		for (int k = 0; k < 2; k++)
			d->flows[i].dir[k].buf = d->flow_bufs + ((size_t)i * 2 + (size_t)k) * def.flow_buf;
	return d;
fail:
	decode_free(d);
	return NULL;
}

void decode_free(decode_ctx *d)
{
	if (!d)
		return;
	decode_quic_free(d);
	free(d->frag_data);
	free(d->frag_bitmaps);
	free(d->flow_bufs);
	free(d->frags);
	free(d->flows);
	free(d->heads);
	free(d->hs);
	decode_h2_free(d);
	decode_tlscert_free(d);
	decode_httpfile_free(d);
	free(d);
}

const decode_stats *decode_get_stats(const decode_ctx *d)
{
	return &d->st;
}

int decode_count(decode_ctx *d, decode_err e)
{
	d->st.errors[e]++;
	d->st.last_error_packet[e] = d->st.packets;
	return (int)e + 1;
}

void decode_emit(decode_ctx *d, decode_kind k, const decode_flow *f,
		 uint16_t rrtype, const char *v, size_t len)
{
	decode_observable o;

	d->st.observables[k]++;
	if (!d->cb)
		return;
	o.kind = k;
	o.flow = f;
	o.packet = d->st.packets;
	o.ts_usec = d->now;
	o.rrtype = rrtype;
	o.value = v;
	o.len = len;
	d->cb(&o, d->user);
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

size_t decode_fmt_ipv4(const decode_ctx *d, char out[16], const uint8_t a[4])
{
	size_t n = 0;
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];
		/* four bytes copied, one to three kept: at most 15 + NUL */
		memcpy(out + n, d->dq[v], 4);
		n += v >= 100 ? 3 : v >= 10 ? 2 : 1;
		out[n++] = '.';
	}
	out[--n] = 0;
	return n;
}

/* Text of an address: IPv4 formatted here (inet_ntop goes through
 * sprintf, a cost paid twice a packet), IPv6 by inet_ntop. */
static size_t fmt_addr(const decode_ctx *d, const decode_flow *f,
		       const uint8_t *a, char out[INET6_ADDRSTRLEN])
{
	if (f->family == 4)
		return decode_fmt_ipv4(d, out, a);
	if (!inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN))
		return 0;
	return strlen(out);
}

static void emit_addrs(decode_ctx *d, const decode_flow *f)
{
	char a[INET6_ADDRSTRLEN];
	size_t n;

	if (!d->cfg.emit_addresses)
		return;
	if (d->cfg.raw_addresses) {
		decode_emit(d, DECODE_ADDR_SRC, f, 0, "", 0);
		decode_emit(d, DECODE_ADDR_DST, f, 0, "", 0);
		return;
	}
	if ((n = fmt_addr(d, f, f->src, a)) > 0)
		decode_emit(d, DECODE_ADDR_SRC, f, 0, a, n);
	if ((n = fmt_addr(d, f, f->dst, a)) > 0)
		decode_emit(d, DECODE_ADDR_DST, f, 0, a, n);
}

static int decode_ether(decode_ctx *d, const uint8_t *p, size_t len);
static int decode_gre(decode_ctx *d, const uint8_t *p, size_t len);
static int decode_l3(decode_ctx *d, uint16_t type, const uint8_t *p,
		     size_t len);

/* ------------------------------------------------------------ transport */

static int decode_udp(decode_ctx *d, decode_flow *f, const uint8_t *p,
		      size_t len)
{
	size_t ulen;

	if (len < 8)
		return decode_count(d, DECODE_E_TRUNCATED);
	ulen = be16(p + 4);
	if (ulen < 8)
		return decode_count(d, DECODE_E_BAD_LENGTH);
	if (ulen > len)
		return decode_count(d, DECODE_E_TRUNCATED);
	f->sport = be16(p);
	f->dport = be16(p + 2);
	p += 8;
	len = ulen - 8;
	if (f->dport == 4789 && len >= 8 && d->depth < DECODE_MAX_TUNNEL) {
		d->depth++;
		return decode_ether(d, p + 8, len - 8);
	}
	if ((f->sport == 3544 || f->dport == 3544) &&
	    d->depth < DECODE_MAX_TUNNEL) {
		/* Teredo (RFC 4380 section 5.1.1): an optional authentication
		 * indicator, then an optional origin indication. */
		if (len >= 13 && p[0] == 0 && p[1] == 1) {
			size_t al = 13 + (size_t)p[2] + p[3];
			if (al > len)
				return 0;
			p += al;
			len -= al;
		}
		if (len >= 8 && p[0] == 0 && p[1] == 0) {
			p += 8;
			len -= 8;
		}
		if (len >= 40 && (p[0] >> 4) == 6) {
			d->depth++;
			return decode_ip(d, p, len);
		}
		return 0;
	}
	if (len >= 48 && (p[0] >> 4) == 6 && be16(p + 4) + 40u == len &&
	    (p[6] == 6 || p[6] == 17 || p[6] == 58 || p[6] == 0) &&
	    d->depth < DECODE_MAX_TUNNEL) {
		/* Teredo between a client and a relay runs on any port: a
		 * payload that is exactly one IPv6 packet is taken as one. */
		d->depth++;
		return decode_ip(d, p, len);
	}
	if ((f->dport == 4754 || f->sport == 4754) &&
	    d->depth < DECODE_MAX_TUNNEL) { /* GRE over UDP (RFC 8086) */
		d->depth++;
		return decode_gre(d, p, len);
	}
	if ((f->dport == 2152 || f->sport == 2152) && len >= 8 &&
	    (p[0] >> 5) == 1 && p[1] == 0xff &&
	    d->depth < DECODE_MAX_TUNNEL) {
		/* GTPv1-U G-PDU (3GPP TS 29.281 section 5.1): 8 bytes, 4
		 * more if E, S or PN is set, then extension headers. */
		size_t hl = 8;
		if (p[0] & 7) {
			hl = 12;
			if (len < hl)
				return decode_count(d, DECODE_E_TRUNCATED);
			uint8_t next = p[11];
			while ((p[0] & 4) && next) {
				if (len < hl + 1 || p[hl] == 0 ||
				    len < hl + (size_t)p[hl] * 4)
					return decode_count(d, DECODE_E_BAD_LENGTH);
				hl += (size_t)p[hl] * 4;
				next = p[hl - 1];
			}
		}
		if (len <= hl)
			return 0;
		d->depth++;
		return decode_ip(d, p + hl, len - hl);
	}
	if (f->sport == 53 || f->dport == 53 || f->sport == 5353 ||
	    f->dport == 5353 || f->sport == 5355 || f->dport == 5355)
		decode_dns(d, f, p, len);
	else if (f->sport == 137 || f->dport == 137)
		decode_nbns(d, f, p, len);
	else if (decode_quic_candidate(p, len))
		decode_quic(d, f, p, len);
	return 0;
}

static int decode_gre(decode_ctx *d, const uint8_t *p, size_t len)
{
	size_t hl = 4;

	if (len < 4)
		return decode_count(d, DECODE_E_TRUNCATED);
	if (p[0] & 0x80) hl += 4; /* checksum + reserved */
	if (p[0] & 0x20) hl += 4; /* key */
	if (p[0] & 0x10) hl += 4; /* sequence */
	if ((p[1] & 7) != 0 || len < hl)
		return 0; /* GRE v1 (PPTP) and source routing: not followed */
	if (be16(p + 2) == 0x6558)
		return decode_ether(d, p + hl, len - hl);
	return decode_l3(d, be16(p + 2), p + hl, len - hl);
}

static int decode_transport(decode_ctx *d, decode_flow *f, const uint8_t *p,
			    size_t len)
{
	switch (f->proto) {
	case 17:
		return decode_udp(d, f, p, len);
	case 6:
		if (len < 20)
			return decode_count(d, DECODE_E_TRUNCATED);
		if ((size_t)(p[12] >> 4) * 4 < 20 ||
		    (size_t)(p[12] >> 4) * 4 > len)
			return decode_count(d, DECODE_E_BAD_LENGTH);
		f->sport = be16(p);
		f->dport = be16(p + 2);
		decode_tcp(d, f, p, len);
		return 0;
	case 4:
	case 41:
		if (d->depth >= DECODE_MAX_TUNNEL)
			return decode_count(d, DECODE_E_TUNNEL_DEPTH);
		d->depth++;
		return decode_ip(d, p, len);
	case 47:
		if (d->depth >= DECODE_MAX_TUNNEL)
			return decode_count(d, DECODE_E_TUNNEL_DEPTH);
		d->depth++;
		return decode_gre(d, p, len);
	default:
		return 0;
	}
}

/* ------------------------------------------------------------ fragments */

static int frag_expired(const decode_ctx *d, const decode_frag *s)
{
	return d->now - s->first_usec >
	       (int64_t)d->cfg.frag_timeout_s * 1000000;
}

/* Adds one piece; returns the slot when the datagram is complete (the
 * caller decodes it and clears `used`), else NULL. */
static decode_frag *frag_add(decode_ctx *d, const decode_flow *f, uint32_t id,
			     size_t off, int more, const uint8_t *p,
			     size_t len)
{
	decode_frag *s = NULL, *oldest = NULL, *free_slot = NULL;
	size_t nblocks, b;

	for (unsigned i = 0; i < d->cfg.frag_slots; i++) {
		decode_frag *c = &d->frags[i];
		if (c->used && frag_expired(d, c)) {
			decode_count(d, DECODE_E_FRAG_TIMEOUT);
			c->used = 0;
		}
		if (!c->used) {
			if (!free_slot)
				free_slot = c;
			continue;
		}
		if (c->id == id && c->proto == f->proto &&
		    c->family == f->family &&
		    !memcmp(c->src, f->src, 16) && !memcmp(c->dst, f->dst, 16)) {
			s = c;
			break;
		}
		if (!oldest || c->first_usec < oldest->first_usec)
			oldest = c;
	}
	if (off + len > d->cfg.frag_max_bytes || (more && (len & 7)) ||
	    len == 0) {
		if (s)
			s->used = 0;
		decode_count(d, DECODE_E_FRAG_DROPPED);
		return NULL;
	}
	if (!s) {
		s = free_slot;
		if (!s) {
			decode_count(d, DECODE_E_FRAG_DROPPED);
			s = oldest;
		}
		memset(s->bitmap, 0, d->cfg.frag_max_bytes / 64 + 1);
		s->used = 1;
		s->family = f->family;
		s->proto = f->proto;
		memcpy(s->src, f->src, 16);
		memcpy(s->dst, f->dst, 16);
		s->id = id;
		s->first_usec = d->now;
		s->total = 0;
	}
	memcpy(s->data + off, p, len);
	for (b = off / 8; b < (off + len + 7) / 8; b++)
		s->bitmap[b / 8] |= (uint8_t)(1u << (b % 8));
	if (!more)
		s->total = (uint32_t)(off + len);
	if (!s->total)
		return NULL;
	nblocks = (s->total + 7) / 8;
	for (b = 0; b < nblocks; b++)
		if (!(s->bitmap[b / 8] & (1u << (b % 8))))
			return NULL;
	return s;
}

static int frag_done(decode_ctx *d, decode_flow *f, decode_frag *s)
{
	int rc = decode_transport(d, f, s->data, s->total);
	s->used = 0;
	return rc;
}

/* ------------------------------------------------------------ IP */

static uint16_t ip4_sum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += be16(p + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int decode_ip4(decode_ctx *d, const uint8_t *p, size_t len)
{
	decode_flow f;
	size_t hl, tot, off;
	int more;

	if (len < 20)
		return decode_count(d, DECODE_E_TRUNCATED);
	hl = (size_t)(p[0] & 15) * 4;
	if (hl < 20)
		return decode_count(d, DECODE_E_BAD_IP);
	tot = be16(p + 2);
	if (tot < hl)
		return decode_count(d, DECODE_E_BAD_LENGTH);
	if (tot > len || hl > len)
		return decode_count(d, DECODE_E_TRUNCATED);
	if (ip4_sum(p, hl) != 0)
		decode_count(d, DECODE_E_BAD_CHECKSUM);
	memset(&f, 0, sizeof f);
	f.family = 4;
	f.proto = p[9];
	memcpy(f.src, p + 12, 4);
	memcpy(f.dst, p + 16, 4);
	emit_addrs(d, &f);
	off = (size_t)(be16(p + 6) & 0x1fff) * 8;
	more = (p[6] & 0x20) != 0;
	if (off || more) {
		decode_frag *s = frag_add(d, &f, be16(p + 4), off, more,
					  p + hl, tot - hl);
		return s ? frag_done(d, &f, s) : 0;
	}
	return decode_transport(d, &f, p + hl, tot - hl);
}

static int decode_ip6(decode_ctx *d, const uint8_t *p, size_t len)
{
	decode_flow f;
	size_t plen, pos = 40;
	uint8_t nh;

	if (len < 40)
		return decode_count(d, DECODE_E_TRUNCATED);
	plen = be16(p + 4);
	if (plen == 0)
		return decode_count(d, DECODE_E_BAD_LENGTH); /* jumbogram */
	if (40 + plen > len)
		return decode_count(d, DECODE_E_TRUNCATED);
	len = 40 + plen;
	memset(&f, 0, sizeof f);
	f.family = 6;
	memcpy(f.src, p + 8, 16);
	memcpy(f.dst, p + 24, 16);
	emit_addrs(d, &f);
	nh = p[6];
	for (int n = 0;; n++) {
		size_t el;
		if (nh != 0 && nh != 43 && nh != 60 && nh != 44 && nh != 51)
			break;
		if (n == DECODE_MAX_EXT)
			return decode_count(d, DECODE_E_EXT_HEADERS);
		if (len - pos < 8)
			return decode_count(d, DECODE_E_TRUNCATED);
		if (nh == 44) {
			size_t off = be16(p + pos + 2) & 0xfff8u;
			int more = p[pos + 3] & 1;
			uint32_t id = be32(p + pos + 4);
			nh = p[pos];
			pos += 8;
			if (off == 0 && !more)
				continue; /* atomic fragment (RFC 6946) */
			f.proto = nh;
			decode_frag *s = frag_add(d, &f, id, off, more, p + pos,
						  len - pos);
			if (!s)
				return 0;
			/* Extension headers after the fragment header
			 * (rare) are not walked again. */
			return frag_done(d, &f, s);
		}
		el = nh == 51 ? ((size_t)p[pos + 1] + 2) * 4
			      : ((size_t)p[pos + 1] + 1) * 8;
		if (el > len - pos)
			return decode_count(d, DECODE_E_BAD_LENGTH);
		nh = p[pos];
		pos += el;
	}
	f.proto = nh;
	if (nh == 59)
		return 0;
	return decode_transport(d, &f, p + pos, len - pos);
}

int decode_ip(decode_ctx *d, const uint8_t *p, size_t len)
{
	if (len < 1)
		return decode_count(d, DECODE_E_TRUNCATED);
	switch (p[0] >> 4) {
	case 4:
		return decode_ip4(d, p, len);
	case 6:
		return decode_ip6(d, p, len);
	default:
		return decode_count(d, DECODE_E_BAD_IP);
	}
}

/* ------------------------------------------------------------ link */

static int decode_l3(decode_ctx *d, uint16_t type, const uint8_t *p,
		     size_t len)
{
	switch (type) {
	case 0x0800:
	case 0x86dd:
		return decode_ip(d, p, len);
	case 0x8847: /* MPLS unicast: pop to the bottom of the stack */
		for (int n = 0;; n++) {
			if (len < 4)
				return decode_count(d, DECODE_E_TRUNCATED);
			if (n == 8)
				return decode_count(d, DECODE_E_TUNNEL_DEPTH);
			int bottom = p[2] & 1;
			p += 4;
			len -= 4;
			if (bottom)
				break;
		}
		return decode_ip(d, p, len);
	case 0x8864: /* PPPoE session: 6-byte header, then the PPP protocol,
		      * one byte when compressed (RFC 1661 section 6.5:
		      * odd first byte) or two */
		if (len < 8)
			return decode_count(d, DECODE_E_TRUNCATED);
		if (p[6] & 1) {
			if (p[6] == 0x21 || p[6] == 0x57)
				return decode_ip(d, p + 7, len - 7);
			return 0;
		}
		if (be16(p + 6) == 0x0021 || be16(p + 6) == 0x0057)
			return decode_ip(d, p + 8, len - 8);
		return 0;
	default:
		return 0;
	}
}

static int decode_ether(decode_ctx *d, const uint8_t *p, size_t len)
{
	uint16_t type;

	if (len < 14)
		return decode_count(d, DECODE_E_TRUNCATED);
	type = be16(p + 12);
	p += 14;
	len -= 14;
	for (int n = 0; type == 0x8100 || type == 0x88a8 || type == 0x9100;
	     n++) {
		if (n == DECODE_MAX_VLAN)
			return decode_count(d, DECODE_E_TUNNEL_DEPTH);
		if (len < 4)
			return decode_count(d, DECODE_E_TRUNCATED);
		type = be16(p + 2);
		p += 4;
		len -= 4;
	}
	if (type <= 1500) { /* 802.3 length: LLC, SNAP carries a type */
		if (len < 8 || p[0] != 0xaa || p[1] != 0xaa || p[2] != 3)
			return 0;
		type = be16(p + 6);
		p += 8;
		len -= 8;
	}
	return decode_l3(d, type, p, len);
}

static int decode_nflog(decode_ctx *d, const uint8_t *p, size_t len)
{
	size_t pos = 4;

	if (len < 4)
		return decode_count(d, DECODE_E_TRUNCATED);
	while (len - pos >= 4) {
		size_t tl = (size_t)(p[pos] | p[pos + 1] << 8); /* host order, LE */
		uint16_t tt = (uint16_t)(p[pos + 2] | p[pos + 3] << 8);
		if (tl < 4 || tl > len - pos)
			return decode_count(d, DECODE_E_BAD_LENGTH);
		if (tt == 9) /* NFULA_PAYLOAD */
			return decode_ip(d, p + pos + 4, tl - 4);
		pos += (tl + 3) & ~(size_t)3;
		if (pos > len)
			break;
	}
	return 0;
}

int decode_packet(decode_ctx *d, int linktype, const uint8_t *p,
		  size_t caplen, int64_t ts_usec)
{
	uint32_t fam;

	d->st.packets++;
	d->st.bytes += caplen;
	d->now = ts_usec;
	d->depth = 0;
	switch (linktype) {
	case DECODE_LINK_ETHERNET:
		return decode_ether(d, p, caplen);
	case DECODE_LINK_RAW:
	case DECODE_LINK_RAW_BSD:
	case DECODE_LINK_RAW_LT:
	case DECODE_LINK_IPV4:
	case DECODE_LINK_IPV6:
		return decode_ip(d, p, caplen);
	case DECODE_LINK_NULL:
	case DECODE_LINK_LOOP:
		if (caplen < 4)
			return decode_count(d, DECODE_E_TRUNCATED);
		/* The family is in the writer's byte order (NULL) or network
		 * order (LOOP); values are small, so either reads right. */
		fam = be32(p);
		if (fam > 0xffff)
			fam = (uint32_t)p[0] | (uint32_t)p[1] << 8;
		if (fam == 2 || fam == 10 || fam == 24 || fam == 28 ||
		    fam == 30)
			return decode_ip(d, p + 4, caplen - 4);
		return 0;
	case DECODE_LINK_SLL:
		if (caplen < 16)
			return decode_count(d, DECODE_E_TRUNCATED);
		return decode_l3(d, be16(p + 14), p + 16, caplen - 16);
	case DECODE_LINK_SLL2:
		if (caplen < 20)
			return decode_count(d, DECODE_E_TRUNCATED);
		return decode_l3(d, be16(p), p + 20, caplen - 20);
	case DECODE_LINK_NFLOG:
		return decode_nflog(d, p, caplen);
	case DECODE_LINK_C_HDLC: /* address, control, 2-byte EtherType */
		if (caplen < 4)
			return decode_count(d, DECODE_E_TRUNCATED);
		return decode_l3(d, be16(p + 2), p + 4, caplen - 4);
	default:
		return decode_count(d, DECODE_E_LINK_UNSUPPORTED);
	}
}
