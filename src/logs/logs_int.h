/*
 * logs_int.h: what the files of the logs module share, and nothing else
 * includes.
 *
 * A line goes logs_read.c (framing, bounds, UTF-8) -> logs_parse.c (which
 * format, which field) -> logs_emit (classify, queue) -> the caller's
 * callback. Observables of one line are queued in the reader until the
 * line is done, so every one carries the line's timestamp whichever field
 * order the log uses; the queue is fixed-size and flushes early when full.
 */
#ifndef RK_LOGS_INT_H
#define RK_LOGS_INT_H

#include <string.h>

#include "logs.h"

/* How a field's value becomes observables. */
enum logs_mode {
	LOGS_M_ADDR,    /* an IP address */
	LOGS_M_HOST,    /* a domain name or an IP address */
	LOGS_M_URI,     /* taken whole as a URL */
	LOGS_M_UA,      /* taken whole as a User-Agent */
	LOGS_M_HASH,    /* MD5/SHA-1/SHA-256/SHA-512 by length */
	LOGS_M_EMAIL,   /* an e-mail address */
	LOGS_M_URL,     /* a URL with a scheme */
	LOGS_M_SUBJECT, /* an X.509 distinguished name: its CN and emailAddress */
	LOGS_M_TS,      /* the line's timestamp */
	LOGS_M_CERT,    /* a certificate's SHA-1 or SHA-256 fingerprint by
			 * length, plain hex or "aa:bb:.." */
};

typedef struct logs_key {
	const char *name;
	unsigned char len;
	unsigned char mode;
	unsigned char field;
} logs_key;

/* logs_parse.c */
int logs_key_find(const char *name, size_t len);
const logs_key *logs_key_get(int idx);
void logs_parse_line(logs_reader *r, char *line, size_t len);
/* A Zeek TSV data line, when the reader is in that state: checks UTF-8
 * only when a byte is not ASCII, splits the line once and reads only the
 * columns in the field table. 0 when the line is not one (the caller goes
 * the general way), 1 when it was handled (or counted as bad). */
int logs_tsv_fast(logs_reader *r, char *line, size_t len);
/* Derives the reader's column plan (want[], want_seps) from col[]; after
 * a #fields header and whenever col[] is copied in. */
void logs_tsv_plan(logs_reader *r);

/* logs_json.c: scans one JSON object line, emitting known fields. -1 when
 * the line is not one well-formed JSON object. */
int logs_json_line(logs_reader *r, char *line, size_t len, int64_t *ts,
		   int *has_ts);

/* logs_text.c */
void logs_text_line(logs_reader *r, char *line, size_t len);
void logs_emit_value(logs_reader *r, int key, char *v, size_t len);
/* logs_classify, also writing an address it recognises to addr (network
 * order; IPv4 in the first four bytes). */
int logs_classify_addr(const char *s, size_t len, uint8_t addr[16]);
/* The two tests logs_classify_addr makes first, for readers that know a
 * column holds addresses or names: a dotted quad (to out), a domain name.
 * Where they say yes, logs_classify_addr says IPV4 or DOMAIN too. */
int logs_is_ipv4(const char *s, size_t len, uint8_t out[4]);
int logs_is_domain(const char *s, size_t len);
/* The same, told that avail >= len bytes at s may be read: then whole
 * words are loaded rather than copied. */
int logs_is_ipv4_at(const char *s, size_t len, size_t avail, uint8_t out[4]);
int logs_is_domain_at(const char *s, size_t len, size_t avail);
void logs_flush(logs_reader *r, int64_t ts, int has_ts);
/* logs_emit's way when r->direct: to the callback at once, through
 * r->now (file, line and time set by the caller for the line). */
static inline void logs_emit_now(logs_reader *r, logs_kind k, logs_field f, const char *v,
		   size_t len, const uint8_t *addr)
{
	logs_obs *o = &r->now;
	if (r->stopped)
		return;
	o->kind = k;
	o->field = f;
	o->val = v;
	o->len = len;
	if (k == LOGS_KIND_IPV4 || k == LOGS_KIND_IPV6) {
		if (!addr) {
			memset(o->addr, 0, 16);
			logs_classify_addr(v, len, o->addr);
		} else if (k == LOGS_KIND_IPV4) {
			memcpy(o->addr, addr, 4);
			memset(o->addr + 4, 0, 12);
		} else {
			memcpy(o->addr, addr, 16);
		}
	}
	r->stats.observables++;
	if (r->on_obs && r->on_obs(o, r->arg))
		r->stopped = 1;
}

/* Queues one observable of the current line. addr: the address when k is
 * IPV4 or IPV6 (as logs_classify_addr wrote it), or NULL to have it parsed
 * again from v. Inline: a Zeek line queues three or four. */
static inline void logs_emit(logs_reader *r, logs_kind k, logs_field f,
			     const char *v, size_t len, const uint8_t *addr)
{
	if (r->direct) {
		logs_emit_now(r, k, f, v, len, addr);
		return;
	}
	if (r->nq == LOGS_QUEUE)
		logs_flush(r, 0, 0);
	if (k == LOGS_KIND_IPV4 || k == LOGS_KIND_IPV6) {
		/* an IPv4 address is its first four bytes only (logs_flush
		 * zeroes the rest) */
		uint8_t *q = r->q[r->nq].addr;
		if (addr) {
			memcpy(q, addr, k == LOGS_KIND_IPV4 ? 4 : 16);
		} else { /* a caller that did not keep it: parse it here */
			memset(q, 0, 16);
			logs_classify_addr(v, len, q);
		}
	}
	r->q[r->nq].val = v;
	r->q[r->nq].len = (uint32_t)len;
	r->q[r->nq].kind = (unsigned char)k;
	r->q[r->nq].field = (unsigned char)f;
	r->nq++;
}
int logs_parse_ts(const char *s, size_t len, int64_t *us);
int logs_utf8_ok(const unsigned char *s, size_t len);
void logs_report(logs_reader *r, const char *why);

#endif
