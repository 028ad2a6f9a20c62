/*
 * decode_starttls.c: the cleartext opening of SMTP (ports 25 and 587), IMAP
 * (143) and POP3 (110), read line by line for the STARTTLS exchange, after
 * which both directions go on as TLS: the client's ClientHello gives its
 * SNI (decode_tls) and the server's flight its certificates
 * (decode_tlscert), exactly as for TLS from the first byte.
 *
 * Which directions: classify (decode_flow.c) makes DIR_MAIL of a direction
 * of a flow with a mail port whose first bytes are no TLS record. The side
 * whose destination is the mail port is the client.
 *
 * What is read: the client's lines for the command, RFC 3207 section 4
 * "STARTTLS", RFC 9051 section 6.2.1 "<tag> STARTTLS", RFC 2595 section 4
 * "STLS" (case-insensitive, trailing blanks allowed); then the server's
 * lines for the answer to it: SMTP the last line of a reply (RFC 5321
 * section 4.2) with code 220, IMAP the tagged "<tag> OK", POP3 "+OK". A
 * refusal (SMTP 4xx/5xx, IMAP NO/BAD, POP3 -ERR) forgets the command and
 * lines are read on; other lines are skipped. The state both directions
 * share lives in the flow (decode_tcpflow.mail, mail_tag); an IMAP tag
 * longer than DECODE_MAIL_TAG_MAX is not kept, and its STARTTLS not
 * followed.
 *
 * The switch: the server's direction becomes DIR_TLSCERT at the byte after
 * its positive answer. The client's becomes DIR_TLS at the start of its
 * next line once it has asked and either the server has agreed or the line
 * starts with a TLS handshake record: a client sends its ClientHello only
 * after the answer, so its ClientHello may be read before a capture shows
 * the answer, and the server's direction still switches when the answer
 * comes (decode_tls hands only a silent direction to decode_tlscert).
 *
 * Bounds and ends: a line is consumed as soon as it is whole and nothing
 * is kept past it; a line longer than DECODE_MAIL_LINE_MAX (or than the
 * stream buffer) ends the direction, counted (DECODE_E_STARTTLS_MALFORMED)
 * only once the client has asked, since before that it may be mail content
 * (a flow picked up mid-session). Ordinary mail that never says STARTTLS
 * ends quietly: at DECODE_MAIL_LINES lines, at the commands after which
 * STARTTLS is not allowed (RFC 3207 section 4.2 and RFC 9051 section
 * 6.2.1: SMTP DATA and BDAT, IMAP LOGIN and AUTHENTICATE, POP3 PASS and
 * APOP), and when the other direction has ended.
 *
 * State machine of the flow (the directions' states in brackets):
 *   PLAIN --client STARTTLS--> ASKED --server refuses--> PLAIN
 *   ASKED --server agrees--> AGREED [server: TLSCERT]
 *   ASKED or AGREED --client's next line is TLS, or after AGREED
 *   anything--> [client: TLS]
 *   PLAIN --line budget, DATA/LOGIN/PASS..., peer ended--> [IGNORE]
 */
#include <string.h>

#include "decode_int.h"

/* The word of n bytes equals w (upper case), ASCII case folded. */
static int word_is(const uint8_t *s, size_t n, const char *w)
{
	size_t i;
	for (i = 0; i < n && w[i]; i++) {
		uint8_t c = s[i];
		if (c >= 'a' && c <= 'z')
			c = (uint8_t)(c - 32);
		if (c != (uint8_t)w[i])
			return 0;
	}
	return i == n && !w[i];
}

/* The length of the word at s (up to a space or the end). */
static size_t word_len(const uint8_t *s, size_t n)
{
	const uint8_t *sp = memchr(s, ' ', n);
	return sp ? (size_t)(sp - s) : n;
}

enum { LINE_ON, LINE_END };

/* A client line (without its line end and trailing blanks). */
static int client_line(decode_tcpflow *fl, int proto, const uint8_t *s,
		       size_t n)
{
	const uint8_t *tag = s;
	size_t tl = 0, w;

	if (proto == DECODE_MAIL_IMAP) { /* "<tag> SP <command>" */
		tl = word_len(s, n);
		if (tl == 0 || tl == n)
			return LINE_ON;
		s += tl + 1;
		n -= tl + 1;
	}
	w = word_len(s, n);
	switch (proto) {
	case DECODE_MAIL_SMTP:
		if (w == n && word_is(s, w, "STARTTLS"))
			fl->mail |= DECODE_MAIL_ASKED;
		else if (word_is(s, w, "DATA") || word_is(s, w, "BDAT"))
			return LINE_END;
		break;
	case DECODE_MAIL_POP3:
		if (w == n && word_is(s, w, "STLS"))
			fl->mail |= DECODE_MAIL_ASKED;
		else if (word_is(s, w, "PASS") || word_is(s, w, "APOP"))
			return LINE_END;
		break;
	default:
		if (w == n && word_is(s, w, "STARTTLS") &&
		    tl <= DECODE_MAIL_TAG_MAX) {
			memcpy(fl->mail_tag, tag, tl);
			fl->mail_tag_len = (uint8_t)tl;
			fl->mail |= DECODE_MAIL_ASKED;
		} else if (word_is(s, w, "LOGIN") ||
			   word_is(s, w, "AUTHENTICATE")) {
			return LINE_END;
		}
		break;
	}
	return LINE_ON;
}

/* A server line once the client has asked: agreed, refused, or neither. */
static void server_line(decode_tcpflow *fl, int proto, const uint8_t *s,
			size_t n)
{
	int yes = 0, no = 0;
	size_t w;

	switch (proto) {
	case DECODE_MAIL_SMTP: /* the last line of a reply: "NNN SP" or "NNN" */
		if (n < 3 || (n > 3 && s[3] != ' '))
			return;
		for (int i = 0; i < 3; i++)
			if (s[i] < '0' || s[i] > '9')
				return;
		yes = !memcmp(s, "220", 3);
		no = s[0] == '4' || s[0] == '5';
		break;
	case DECODE_MAIL_POP3:
		w = word_len(s, n);
		yes = word_is(s, w, "+OK");
		no = word_is(s, w, "-ERR");
		break;
	default:
		w = word_len(s, n);
		if (w != fl->mail_tag_len || w == n ||
		    memcmp(s, fl->mail_tag, w))
			return; /* untagged, a continuation, another command's */
		s += w + 1;
		n -= w + 1;
		w = word_len(s, n);
		yes = word_is(s, w, "OK");
		no = word_is(s, w, "NO") || word_is(s, w, "BAD");
		break;
	}
	if (yes)
		fl->mail |= DECODE_MAIL_AGREED;
	else if (no)
		fl->mail = 0;
}

size_t decode_starttls(decode_ctx *d, const decode_flow *f, decode_dir *r,
		       const uint8_t *p, size_t len, int full)
{
	decode_tcpflow *fl = &d->flows[d->cur_slot];
	const decode_dir *peer = &fl->dir[!d->cur_dir];
	int client = decode_mail_port(f->dport) != 0;
	int proto = decode_mail_port(client ? f->dport : f->sport);
	size_t max = len < DECODE_MAIL_LINE_MAX ? len : DECODE_MAIL_LINE_MAX;
	const uint8_t *nl;
	size_t end, n;

	if (client && (fl->mail & DECODE_MAIL_ASKED) &&
	    ((fl->mail & DECODE_MAIL_AGREED) || p[0] == 22)) {
		r->app = DIR_TLS; /* RFC 3207 section 4.2: TLS from here */
		return decode_tls(d, f, p, len, full);
	}
	if (!(fl->mail & DECODE_MAIL_ASKED) &&
	    (peer->app == DIR_IGNORE || r->lines >= DECODE_MAIL_LINES))
		return (size_t)-1; /* STARTTLS is not coming */
	nl = memchr(p, '\n', max);
	if (!nl) {
		if (len < DECODE_MAIL_LINE_MAX && !full)
			return 0;
		if (fl->mail & DECODE_MAIL_ASKED)
			decode_count(d, DECODE_E_STARTTLS_MALFORMED);
		return (size_t)-1;
	}
	end = (size_t)(nl - p) + 1;
	n = end - 1;
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (r->lines < 255)
		r->lines++;
	if (client) {
		if (client_line(fl, proto, p, n) == LINE_END)
			return (size_t)-1;
	} else if ((fl->mail & DECODE_MAIL_ASKED) &&
		   !(fl->mail & DECODE_MAIL_AGREED)) {
		server_line(fl, proto, p, n);
		if (fl->mail & DECODE_MAIL_AGREED)
			r->app = DIR_TLSCERT; /* the server's flight from the next byte */
	}
	return end;
}
