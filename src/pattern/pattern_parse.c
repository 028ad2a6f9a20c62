/*
 * pattern_parse.c: STIX 2.1 pattern text to a compiled tree (section 9).
 *
 * A hand-written lexer feeds a recursive-descent parser that follows the
 * normative grammar (STIXPattern.g4 of the OASIS pattern validator):
 *
 *   pattern      := obs_fby EOF
 *   obs_fby      := obs_or  ( FOLLOWEDBY obs_or )*
 *   obs_or       := obs_and ( OR obs_and )*
 *   obs_and      := obs_qual ( AND obs_qual )*
 *   obs_qual     := obs_prim ( WITHIN n SECONDS | REPEATS n TIMES
 *                              | START t'..' STOP t'..' )*
 *   obs_prim     := '[' cmp_or ']' | '(' obs_fby ')'
 *   cmp_or       := cmp_and ( OR cmp_and )*
 *   cmp_and      := cmp_prim ( AND cmp_prim )*
 *   cmp_prim     := '(' cmp_or ')' | EXISTS path | path NOT? op constant
 *   path         := type ':' (ident | 'str') ( '.' (ident | 'str')
 *                                             | '[' (int | '*') ']' )*
 *
 * Keywords are upper case; `true`/`false` any case; `=`/`==` and `!=`/`<>`
 * are synonyms, as in the grammar. A qualifier kind may appear once directly
 * on a [...] (the validator's rule; on a parenthesised expression they stack).
 *
 * Invariants: every error names the 0-based byte offset of the token at
 * fault ("at 17: expected ']' after comparison") and is the first recorded;
 * after an error the parser only unwinds. Recursion is bounded by
 * PATTERN_MAX_DEPTH (each '[' and '(' counts one), so hostile nesting cannot
 * exhaust the stack. Timestamps go through rk_time_parse, which is stricter
 * than the grammar (it checks month lengths). Like the OASIS validator, a
 * string compared with hashes.<algo> (=, !=, IN) must be a hex digest of
 * that algorithm's length.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pattern_int.h"

typedef enum {
	T_EOF, T_LBRACK, T_RBRACK, T_LPAREN, T_RPAREN, T_COLON, T_DOT, T_COMMA,
	T_STAR, T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE, T_IDENT, T_STR, T_INT,
	T_FLOAT, T_HEX, T_BIN, T_TS, T_BOOL,
	T_AND, T_OR, T_NOT, T_FOLLOWEDBY, T_LIKE, T_MATCHES, T_ISSUBSET,
	T_ISSUPERSET, T_EXISTS, T_IN, T_WITHIN, T_SECONDS, T_REPEATS, T_TIMES,
	T_START, T_STOP,
} tkind;

static const struct {
	const char *word;
	tkind kind;
} keywords[] = {
	{ "AND", T_AND }, { "OR", T_OR }, { "NOT", T_NOT },
	{ "FOLLOWEDBY", T_FOLLOWEDBY }, { "LIKE", T_LIKE },
	{ "MATCHES", T_MATCHES }, { "ISSUBSET", T_ISSUBSET },
	{ "ISSUPERSET", T_ISSUPERSET }, { "EXISTS", T_EXISTS }, { "IN", T_IN },
	{ "WITHIN", T_WITHIN }, { "SECONDS", T_SECONDS },
	{ "REPEATS", T_REPEATS }, { "TIMES", T_TIMES }, { "START", T_START },
	{ "STOP", T_STOP },
};

typedef struct token {
	tkind kind;
	size_t pos;   /* byte offset of the token's first character */
	size_t start; /* IDENT: the name; literals: inside the quotes */
	size_t len;
	int64_t i;
	double d;
	bool b;
} token;

typedef struct parser {
	const char *s;
	size_t n;
	size_t pos; /* lexer position */
	token tok;  /* current token */
	pattern *p;
	rk_errctx *ctx;
	rk_err err;
	int depth;
	char *chunk; /* current allocation chunk, see palloc */
	size_t chunk_left;
} parser;

static void perr(parser *P, rk_err code, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void perr(parser *P, rk_err code, size_t pos, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (P->err)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	P->err = code;
	rk_fail(P->ctx, code, NULL, "at %zu: %s", pos, msg);
}

/* ---------------------------------------------------------------- memory */

/* Tree memory is carved from 1 KiB chunks (larger requests get their own),
 * so a small pattern costs a couple of allocations; everything is zeroed and
 * 16-byte aligned, and freed with the pattern. */
#define PAT_CHUNK 1024

static void *track(parser *P, size_t size)
{
	pattern *p = P->p;
	void *m;

	if (p->nallocs == p->capallocs) {
		size_t cap = p->capallocs ? p->capallocs * 2 : 8;
		void **a = realloc(p->allocs, cap * sizeof *a);
		if (!a)
			return NULL;
		p->allocs = a;
		p->capallocs = cap;
	}
	m = calloc(1, size);
	if (m)
		p->allocs[p->nallocs++] = m;
	return m;
}

static void *palloc(parser *P, size_t size)
{
	void *m;

	if (P->err)
		return NULL;
	size = (size + 15) & ~(size_t)15;
	if (size == 0)
		size = 16;
	if (size > PAT_CHUNK / 4) {
		m = track(P, size);
	} else {
		if (!P->chunk || P->chunk_left < size) {
			P->chunk = track(P, PAT_CHUNK);
			P->chunk_left = P->chunk ? PAT_CHUNK : 0;
		}
		m = P->chunk ? P->chunk + (PAT_CHUNK - P->chunk_left) : NULL;
		if (m)
			P->chunk_left -= size;
	}
	if (!m)
		perr(P, RK_ENOMEM, P->tok.pos, "out of memory");
	return m;
}

static char *pstrndup(parser *P, const char *s, size_t n)
{
	char *d = palloc(P, n + 1);

	if (d)
		memcpy(d, s, n);
	return d;
}

/* ---------------------------------------------------------------- lexer */

static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '-';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Scans a quoted body starting after the opening quote; sets *end to the
 * closing quote. Only \' and \\ are escapes (grammar StringLiteral). */
static bool scan_quoted(parser *P, size_t at, size_t *end)
{
	size_t i = at;

	while (i < P->n) {
		char c = P->s[i];
		if (c == '\'') {
			*end = i;
			return true;
		}
		if (c == '\\') {
			if (i + 1 < P->n && (P->s[i + 1] == '\'' || P->s[i + 1] == '\\')) {
				i += 2;
				continue;
			}
			perr(P, RK_EINVAL, i, "invalid escape in string (only \\' and \\\\)");
			return false;
		}
		i++;
	}
	perr(P, RK_EINVAL, at - 1, "unterminated string");
	return false;
}

static void lex_number(parser *P, token *t)
{
	size_t i = P->pos;
	bool neg = false, dot = false;
	int64_t v = 0;

	if (P->s[i] == '-' || P->s[i] == '+')
		neg = P->s[i++] == '-';
	size_t digits = i;
	while (i < P->n && is_digit(P->s[i]))
		i++;
	size_t intend = i;
	if (i < P->n && P->s[i] == '.') {
		dot = true;
		i++;
		size_t frac = i;
		while (i < P->n && is_digit(P->s[i]))
			i++;
		if (i == frac) {
			perr(P, RK_EINVAL, t->pos, "expected digits after '.'");
			return;
		}
	} else if (intend == digits) {
		perr(P, RK_EINVAL, t->pos, "expected a number");
		return;
	}
	if (i < P->n && is_ident_start(P->s[i])) {
		perr(P, RK_EINVAL, t->pos, "malformed number");
		return;
	}
	t->len = i - t->pos;
	P->pos = i;
	if (dot) {
		char buf[64];
		if (t->len >= sizeof buf) {
			perr(P, RK_EINVAL, t->pos, "number too long");
			return;
		}
		memcpy(buf, P->s + t->pos, t->len);
		buf[t->len] = 0;
		t->kind = T_FLOAT;
		t->d = strtod(buf, NULL);
		return;
	}
	for (size_t k = digits; k < intend; k++) {
		int dg = P->s[k] - '0';
		if (v > (INT64_MAX - dg) / 10) {
			perr(P, RK_EINVAL, t->pos, "integer out of range");
			return;
		}
		v = v * 10 + dg;
	}
	t->kind = T_INT;
	t->i = neg ? -v : v;
	t->d = (double)t->i;
}

static void next(parser *P)
{
	token *t = &P->tok;

	while (P->pos < P->n && (P->s[P->pos] == ' ' || P->s[P->pos] == '\t' ||
				 P->s[P->pos] == '\n' || P->s[P->pos] == '\r'))
		P->pos++;
	memset(t, 0, sizeof *t);
	t->pos = P->pos;
	if (P->err)
		return;
	if (P->pos >= P->n) {
		t->kind = T_EOF;
		return;
	}
	char c = P->s[P->pos];
	char c1 = P->pos + 1 < P->n ? P->s[P->pos + 1] : 0;
	switch (c) {
	case '[': t->kind = T_LBRACK; P->pos++; return;
	case ']': t->kind = T_RBRACK; P->pos++; return;
	case '(': t->kind = T_LPAREN; P->pos++; return;
	case ')': t->kind = T_RPAREN; P->pos++; return;
	case ':': t->kind = T_COLON; P->pos++; return;
	case '.':
		if (is_digit(c1))
			break;
		t->kind = T_DOT; P->pos++; return;
	case ',': t->kind = T_COMMA; P->pos++; return;
	case '*': t->kind = T_STAR; P->pos++; return;
	case '=':
		t->kind = T_EQ;
		P->pos += c1 == '=' ? 2 : 1;
		return;
	case '!':
		if (c1 == '=') {
			t->kind = T_NE;
			P->pos += 2;
			return;
		}
		perr(P, RK_EINVAL, t->pos, "unexpected '!'");
		return;
	case '<':
		t->kind = c1 == '=' ? T_LE : c1 == '>' ? T_NE : T_LT;
		P->pos += c1 == '=' || c1 == '>' ? 2 : 1;
		return;
	case '>':
		t->kind = c1 == '=' ? T_GE : T_GT;
		P->pos += c1 == '=' ? 2 : 1;
		return;
	case '\'': {
		size_t end;
		if (!scan_quoted(P, P->pos + 1, &end))
			return;
		t->kind = T_STR;
		t->start = P->pos + 1;
		t->len = end - t->start;
		P->pos = end + 1;
		return;
	}
	default:
		break;
	}
	if (is_digit(c) || c == '.' || ((c == '-' || c == '+') && (is_digit(c1) || c1 == '.'))) {
		lex_number(P, t);
		return;
	}
	if (is_ident_start(c)) {
		size_t i = P->pos;
		while (i < P->n && is_ident_char(P->s[i]))
			i++;
		size_t len = i - P->pos;
		if (len == 1 && i < P->n && P->s[i] == '\'' &&
		    (c == 't' || c == 'h' || c == 'b')) {
			size_t end;
			if (!scan_quoted(P, i + 1, &end))
				return;
			t->kind = c == 't' ? T_TS : c == 'h' ? T_HEX : T_BIN;
			t->start = i + 1;
			t->len = end - t->start;
			P->pos = end + 1;
			return;
		}
		t->kind = T_IDENT;
		t->start = P->pos;
		t->len = len;
		P->pos = i;
		for (size_t k = 0; k < RK_ARRAY_LEN(keywords); k++)
			if (strlen(keywords[k].word) == len &&
			    memcmp(keywords[k].word, P->s + t->start, len) == 0)
				t->kind = keywords[k].kind;
		if (len == 4 && strncasecmp(P->s + t->start, "true", 4) == 0) {
			t->kind = T_BOOL;
			t->b = true;
		} else if (len == 5 && strncasecmp(P->s + t->start, "false", 5) == 0) {
			t->kind = T_BOOL;
			t->b = false;
		}
		return;
	}
	if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
		perr(P, RK_EINVAL, t->pos, "unexpected byte 0x%02x", (unsigned char)c);
	else
		perr(P, RK_EINVAL, t->pos, "unexpected character '%c'", c);
}

static bool accept(parser *P, tkind k)
{
	if (P->err || P->tok.kind != k)
		return false;
	next(P);
	return true;
}

/* ---------------------------------------------------------------- constants */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

bool pattern_b64_decode(const char *s, size_t n, unsigned char *out, size_t *outlen)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	while (n > 0 && s[n - 1] == '=')
		n--;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value((unsigned char)s[i]);
		if (v < 0)
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (n % 4 == 1)
		return false;
	*outlen = o;
	return true;
}

/* Grammar BinaryLiteral: groups of four, '=' padding only at the end. */
static bool b64_well_formed(const char *s, size_t n)
{
	size_t pad = 0;

	if (n % 4 != 0)
		return false;
	while (pad < n && pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < n - pad; i++)
		if (b64_value((unsigned char)s[i]) < 0)
			return false;
	return true;
}

static bool set_binary(parser *P, pat_const *c, const unsigned char *bytes, size_t n)
{
	static const char HEX[] = "0123456789abcdef";
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	c->kind = PAT_C_BIN;
	c->s = palloc(P, n + 1);
	c->hex = palloc(P, 2 * n + 1);
	c->b64 = palloc(P, (n + 2) / 3 * 4 + 1);
	if (!c->s || !c->hex || !c->b64)
		return false;
	memcpy(c->s, bytes, n);
	c->len = n;
	for (size_t i = 0; i < n; i++) {
		c->hex[2 * i] = HEX[bytes[i] >> 4];
		c->hex[2 * i + 1] = HEX[bytes[i] & 15];
		acc = (acc << 8) | bytes[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			c->b64[o++] = B64[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		c->b64[o++] = B64[(acc << (6 - bits)) & 63];
	return true;
}

/* Reads the current token as a constant; `orderable` excludes booleans. */
static bool parse_constant(parser *P, pat_const *c, bool orderable, const char *after)
{
	token t = P->tok;
	const char *body = P->s + t.start;

	switch (t.kind) {
	case T_STR: {
		char *d = palloc(P, t.len + 1);
		size_t o = 0;
		if (!d)
			return false;
		for (size_t i = 0; i < t.len; i++) {
			if (body[i] == '\\')
				i++;
			d[o++] = body[i];
		}
		c->kind = PAT_C_STR;
		c->s = d;
		c->len = o;
		pattern_name_init(&c->str, d, o);
		pattern_net_parse(d, o, &c->net);
		break;
	}
	case T_INT:
		c->kind = PAT_C_INT;
		c->i = t.i;
		c->d = t.d;
		break;
	case T_FLOAT:
		c->kind = PAT_C_FLOAT;
		c->d = t.d;
		break;
	case T_BOOL:
		if (orderable) {
			perr(P, RK_EINVAL, t.pos, "a boolean cannot be ordered");
			return false;
		}
		c->kind = PAT_C_BOOL;
		c->b = t.b;
		break;
	case T_HEX: {
		unsigned char *bytes;
		if (t.len % 2) {
			perr(P, RK_EINVAL, t.pos, "hex constant needs an even number of digits");
			return false;
		}
		bytes = palloc(P, t.len / 2 + 1);
		if (!bytes)
			return false;
		for (size_t i = 0; i < t.len; i += 2) {
			int hi = rk_hex_value(body[i]), lo = rk_hex_value(body[i + 1]);
			if (hi < 0 || lo < 0) {
				perr(P, RK_EINVAL, t.pos, "not a hex digit in h''");
				return false;
			}
			bytes[i / 2] = (unsigned char)(hi << 4 | lo);
		}
		if (!set_binary(P, c, bytes, t.len / 2))
			return false;
		break;
	}
	case T_BIN: {
		unsigned char *bytes;
		size_t n = 0;
		if (!b64_well_formed(body, t.len)) {
			perr(P, RK_EINVAL, t.pos, "not base64 in b''");
			return false;
		}
		bytes = palloc(P, t.len / 4 * 3 + 1);
		if (!bytes)
			return false;
		if (!pattern_b64_decode(body, t.len, bytes, &n)) {
			perr(P, RK_EINVAL, t.pos, "not base64 in b''");
			return false;
		}
		if (!set_binary(P, c, bytes, n))
			return false;
		break;
	}
	case T_TS: {
		char buf[64];
		if (t.len >= sizeof buf) {
			perr(P, RK_EINVAL, t.pos, "not an RFC 3339 timestamp");
			return false;
		}
		memcpy(buf, body, t.len);
		buf[t.len] = 0;
		if (!rk_time_parse(buf, &c->t)) {
			perr(P, RK_EINVAL, t.pos, "not an RFC 3339 timestamp");
			return false;
		}
		c->kind = PAT_C_TIME;
		break;
	}
	default:
		perr(P, RK_EINVAL, t.pos, "expected a constant after %s", after);
		return false;
	}
	next(P);
	return !P->err;
}

/* ---------------------------------------------------------------- paths */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static char *key_of(parser *P)
{
	token t = P->tok;

	if (t.kind == T_STR) {
		char *d = palloc(P, t.len + 1);
		size_t o = 0;
		if (!d)
			return NULL;
		for (size_t i = 0; i < t.len; i++) {
			if (P->s[t.start + i] == '\\')
				i++;
			d[o++] = P->s[t.start + i];
		}
		next(P);
		return d;
	}
	if (t.kind == T_IDENT || (t.kind >= T_AND && t.kind <= T_STOP) || t.kind == T_BOOL) {
		if (memchr(P->s + t.start, '-', t.len)) {
			perr(P, RK_EINVAL, t.pos, "property names with '-' must be quoted");
			return NULL;
		}
		next(P);
		return pstrndup(P, P->s + t.start, t.len);
	}
	perr(P, RK_EINVAL, t.pos, "expected a property name");
	return NULL;
}

static bool parse_path(parser *P, pat_path *path)
{
	pat_step steps[64];
	size_t n = 0;
	token t = P->tok;

	if (t.kind != T_IDENT) {
		perr(P, RK_EINVAL, t.pos, "expected an object path (type:property)");
		return false;
	}
	path->type = pstrndup(P, P->s + t.start, t.len);
	next(P);
	if (P->tok.kind != T_COLON) {
		perr(P, RK_EINVAL, P->tok.pos, "expected ':' after object type");
		return false;
	}
	next(P);
	for (;;) {
		if (n == RK_ARRAY_LEN(steps)) {
			perr(P, RK_ETOOBIG, P->tok.pos, "object path longer than %zu steps",
			     RK_ARRAY_LEN(steps));
			return false;
		}
		memset(&steps[n], 0, sizeof steps[n]);
		if (n == 0 || accept(P, T_DOT)) {
			steps[n].kind = PAT_STEP_KEY;
			if (!(steps[n].key = key_of(P)))
				return false;
		} else if (P->tok.kind == T_LBRACK) {
			next(P);
			if (accept(P, T_STAR)) {
				steps[n].kind = PAT_STEP_ANY;
			} else if (P->tok.kind == T_INT) {
				if (P->tok.i < -1000000000 || P->tok.i > 1000000000) {
					perr(P, RK_EINVAL, P->tok.pos, "list index out of range");
					return false;
				}
				steps[n].kind = PAT_STEP_INDEX;
				steps[n].index = (long)P->tok.i;
				next(P);
			} else {
				perr(P, RK_EINVAL, P->tok.pos, "expected a list index or '*'");
				return false;
			}
			if (!accept(P, T_RBRACK)) {
				perr(P, RK_EINVAL, P->tok.pos, "expected ']' after list index");
				return false;
			}
		} else {
			break;
		}
		n++;
	}
	if (P->err)
		return false;
	path->steps = palloc(P, n * sizeof *path->steps);
	if (!path->steps)
		return false;
	memcpy(path->steps, steps, n * sizeof *steps);
	path->nsteps = n;
	pattern_name_init(&path->type_name, path->type, strlen(path->type));
	path->keys_only = true;
	for (size_t i = 0; i < n; i++)
		if (steps[i].kind != PAT_STEP_KEY)
			path->keys_only = false;
		else
			/* a key is a C string: an escaped NUL ends it, as it
			 * ended the json_object_get lookup this replaces */
			pattern_name_init(&path->steps[i].name, steps[i].key, strlen(steps[i].key));
	const char *last = NULL;
	for (size_t i = 0; i < n; i++)
		if (steps[i].kind == PAT_STEP_KEY)
			last = steps[i].key;
	if (last) {
		path->ends_hex = ends_with(last, "_hex");
		path->ends_bin = ends_with(last, "_bin");
		/* the address of an ipv4-addr/ipv6-addr, reached directly or
		 * through a reference (network-traffic:dst_ref.value) */
		path->ip_value = strcmp(last, "value") == 0 &&
				 (n == 1 ? (strcmp(path->type, "ipv4-addr") == 0 ||
					    strcmp(path->type, "ipv6-addr") == 0)
					 : true);
	}
	return true;
}

/* ---------------------------------------------------------------- comparisons */

static pat_cmp *parse_cmp_or(parser *P);

static bool add_regex(parser *P, pat_cmp *c, size_t pos)
{
	pattern *p = P->p;
	int code;
	PCRE2_SIZE off;
	const pat_const *v = &c->vals[0];

	c->re = pcre2_compile((PCRE2_SPTR)v->s, v->len, PCRE2_UTF, &code, &off, NULL);
	if (!c->re) {
		PCRE2_UCHAR msg[128];
		pcre2_get_error_message(code, msg, sizeof msg);
		perr(P, RK_EINVAL, pos, "invalid regular expression: %s", (char *)msg);
		return false;
	}
	/* JIT-compiled where the platform allows (evaluation then calls
	 * pcre2_jit_match, skipping pcre2_match's checks); without it
	 * matching is slower, never different. */
	c->re_jit = pcre2_jit_compile(c->re, PCRE2_JIT_COMPLETE) == 0;
	{
		pat_relit lit;
		char *bytes = palloc(P, v->len ? v->len : 1);
		pat_relit_seg *segs = palloc(P, (v->len ? v->len : 1) * sizeof *segs);
		if (!bytes || !segs) {
			pcre2_code_free(c->re);
			return false;
		}
		if (pattern_relit_compile(v->s, v->len, bytes, segs, &lit) &&
		    (c->relit = palloc(P, sizeof *c->relit)) != NULL)
			*c->relit = lit;
		if (P->err) {
			pcre2_code_free(c->re);
			return false;
		}
	}
	c->re_bytes = pcre2_compile((PCRE2_SPTR)v->s, v->len, 0, &code, &off, NULL);
	/* the bytes form runs only on paths ending in _bin */
	c->re_bytes_jit = c->re_bytes && c->path.ends_bin &&
			  pcre2_jit_compile(c->re_bytes, PCRE2_JIT_COMPLETE) == 0;
	if (p->nregex == p->capregex) {
		size_t cap = p->capregex ? p->capregex * 2 : 8;
		pat_cmp **a = realloc(p->regex, cap * sizeof *a);
		if (!a) {
			pcre2_code_free(c->re);
			pcre2_code_free(c->re_bytes);
			perr(P, RK_ENOMEM, pos, "out of memory");
			return false;
		}
		p->regex = a;
		p->capregex = cap;
	}
	p->regex[p->nregex++] = c;
	return true;
}

/* STIX 2.1 section 10.7 hash algorithms and their hex lengths: a constant
 * compared with hashes.<algo> must look like one (the validator's check). */
static const struct {
	const char *algo;
	size_t hexlen;
} hash_algos[] = {
	{ "MD5", 32 }, { "SHA-1", 40 }, { "SHA-256", 64 }, { "SHA-512", 128 },
	{ "SHA3-256", 64 }, { "SHA3-512", 128 },
};

static bool check_hash(parser *P, const pat_path *path, const pat_const *c, size_t pos)
{
	size_t n = path->nsteps;

	if (c->kind != PAT_C_STR || n < 2 || path->steps[n - 1].kind != PAT_STEP_KEY ||
	    path->steps[n - 2].kind != PAT_STEP_KEY ||
	    strcmp(path->steps[n - 2].key, "hashes") != 0)
		return true;
	for (size_t i = 0; i < RK_ARRAY_LEN(hash_algos); i++) {
		if (strcasecmp(path->steps[n - 1].key, hash_algos[i].algo) != 0)
			continue;
		bool ok = c->len == hash_algos[i].hexlen;
		for (size_t k = 0; ok && k < c->len; k++)
			ok = rk_hex_value(c->s[k]) >= 0;
		if (!ok)
			perr(P, RK_EINVAL, pos, "'%.*s' is not a valid %s hash",
			     c->len > 140 ? 140 : (int)c->len, c->s, hash_algos[i].algo);
		return ok;
	}
	return true;
}

static pat_cmp *parse_test(parser *P)
{
	pat_cmp *c = palloc(P, sizeof *c);

	if (!c)
		return NULL;
	if (++P->p->ncmp > PATTERN_MAX_COMPARISONS) {
		perr(P, RK_ETOOBIG, P->tok.pos, "more than %d comparisons",
		     PATTERN_MAX_COMPARISONS);
		return NULL;
	}
	c->kind = PAT_CMP_TEST;
	if (accept(P, T_EXISTS)) {
		c->op = PAT_OP_EXISTS;
		return parse_path(P, &c->path) ? c : NULL;
	}
	if (!parse_path(P, &c->path))
		return NULL;
	c->negated = accept(P, T_NOT);
	token op = P->tok;
	const char *name;
	switch (op.kind) {
	case T_EQ: c->op = PAT_OP_EQ; name = "'='"; break;
	case T_NE: c->op = PAT_OP_NE; name = "'!='"; break;
	case T_LT: c->op = PAT_OP_LT; name = "'<'"; break;
	case T_GT: c->op = PAT_OP_GT; name = "'>'"; break;
	case T_LE: c->op = PAT_OP_LE; name = "'<='"; break;
	case T_GE: c->op = PAT_OP_GE; name = "'>='"; break;
	case T_IN: c->op = PAT_OP_IN; name = "IN"; break;
	case T_LIKE: c->op = PAT_OP_LIKE; name = "LIKE"; break;
	case T_MATCHES: c->op = PAT_OP_MATCHES; name = "MATCHES"; break;
	case T_ISSUBSET: c->op = PAT_OP_ISSUBSET; name = "ISSUBSET"; break;
	case T_ISSUPERSET: c->op = PAT_OP_ISSUPERSET; name = "ISSUPERSET"; break;
	default:
		perr(P, RK_EINVAL, op.pos, "expected a comparison operator after object path");
		return NULL;
	}
	next(P);
	if (c->op == PAT_OP_IN) {
		pat_const vals[256];
		size_t n = 0;
		if (!accept(P, T_LPAREN)) {
			perr(P, RK_EINVAL, P->tok.pos, "expected '(' after IN");
			return NULL;
		}
		if (P->tok.kind != T_RPAREN) {
			do {
				if (n == RK_ARRAY_LEN(vals)) {
					perr(P, RK_ETOOBIG, P->tok.pos,
					     "more than %zu values in IN", RK_ARRAY_LEN(vals));
					return NULL;
				}
				memset(&vals[n], 0, sizeof vals[n]);
				size_t at = P->tok.pos;
				if (!parse_constant(P, &vals[n], false, "IN (") ||
				    !check_hash(P, &c->path, &vals[n], at))
					return NULL;
				n++;
			} while (accept(P, T_COMMA));
		}
		if (!accept(P, T_RPAREN)) {
			perr(P, RK_EINVAL, P->tok.pos, "expected ',' or ')' in IN list");
			return NULL;
		}
		c->vals = palloc(P, (n ? n : 1) * sizeof *c->vals);
		if (!c->vals)
			return NULL;
		memcpy(c->vals, vals, n * sizeof *vals);
		c->nvals = n;
		return c;
	}
	c->vals = palloc(P, sizeof *c->vals);
	if (!c->vals)
		return NULL;
	c->nvals = 1;
	if (c->op >= PAT_OP_LIKE) {
		if (P->tok.kind != T_STR) {
			perr(P, RK_EINVAL, P->tok.pos, "expected a string after %s", name);
			return NULL;
		}
		size_t at = P->tok.pos;
		if (!parse_constant(P, c->vals, false, name))
			return NULL;
		if ((c->op == PAT_OP_ISSUBSET || c->op == PAT_OP_ISSUPERSET) &&
		    !c->vals->net.family) {
			perr(P, RK_EINVAL, at, "expected an IP address or CIDR block after %s", name);
			return NULL;
		}
		if (c->op == PAT_OP_MATCHES && !add_regex(P, c, at))
			return NULL;
		return c;
	}
	bool orderable = c->op != PAT_OP_EQ && c->op != PAT_OP_NE;
	size_t at = P->tok.pos;
	if (!parse_constant(P, c->vals, orderable, name))
		return NULL;
	if (!orderable && !check_hash(P, &c->path, c->vals, at))
		return NULL;
	/* the common test, which evaluation runs without the general rules */
	c->eq_str = c->op == PAT_OP_EQ && !c->negated && c->vals->kind == PAT_C_STR &&
		    !c->path.ends_bin && !c->path.ends_hex;
	c->num_const = c->op <= PAT_OP_GE &&
		       (c->vals->kind == PAT_C_INT || c->vals->kind == PAT_C_FLOAT);
	return c;
}

static pat_cmp *parse_cmp_prim(parser *P)
{
	if (P->tok.kind == T_LPAREN) {
		size_t at = P->tok.pos;
		if (++P->depth > PATTERN_MAX_DEPTH) {
			perr(P, RK_ETOOBIG, at, "nesting deeper than %d", PATTERN_MAX_DEPTH);
			return NULL;
		}
		next(P);
		pat_cmp *c = parse_cmp_or(P);
		if (!c)
			return NULL;
		if (!accept(P, T_RPAREN)) {
			perr(P, RK_EINVAL, P->tok.pos, "expected ')' after comparison");
			return NULL;
		}
		P->depth--;
		return c;
	}
	return parse_test(P);
}

/* n-ary AND/OR: a run of the same operator becomes one node. */
static pat_cmp *parse_cmp_list(parser *P, pat_cmp_kind kind, tkind op,
			       pat_cmp *(*sub)(parser *))
{
	pat_cmp *first = sub(P), *last, *node;

	if (!first || P->tok.kind != op)
		return first;
	node = palloc(P, sizeof *node);
	if (!node)
		return NULL;
	node->kind = kind;
	node->first = last = first;
	while (accept(P, op)) {
		pat_cmp *c = sub(P);
		if (!c)
			return NULL;
		last->next = c;
		last = c;
	}
	return P->err ? NULL : node;
}

static pat_cmp *parse_cmp_and(parser *P)
{
	return parse_cmp_list(P, PAT_CMP_AND, T_AND, parse_cmp_prim);
}

static pat_cmp *parse_cmp_or(parser *P)
{
	return parse_cmp_list(P, PAT_CMP_OR, T_OR, parse_cmp_and);
}

/* ---------------------------------------------------------------- observations */

static pat_obs_node *parse_obs_fby(parser *P);

static pat_obs_node *obs_node(parser *P, pat_obs_kind kind, pat_obs_node *l,
			      pat_obs_node *r)
{
	pat_obs_node *n = palloc(P, sizeof *n);

	if (n) {
		n->kind = kind;
		n->left = l;
		n->right = r;
	}
	return n;
}

/* The type every test of c names, or NULL when they name several: then
 * evaluation skips root objects of other types at once (a test on another
 * type is false, even under NOT, so the whole [...] is). */
static const pat_name *cmp_one_type(const pat_cmp *c)
{
	const pat_name *t = NULL;

	if (c->kind == PAT_CMP_TEST)
		return &c->path.type_name;
	for (const pat_cmp *k = c->first; k; k = k->next) {
		const pat_name *kt = cmp_one_type(k);
		if (!kt || (t && !pattern_name_eq(t, kt)))
			return NULL;
		t = kt;
	}
	return t;
}

static void plan_chain(parser *P);

static pat_obs_node *parse_obs_prim(parser *P)
{
	size_t at = P->tok.pos;
	pat_obs_node *n;

	if (P->tok.kind != T_LBRACK && P->tok.kind != T_LPAREN) {
		perr(P, RK_EINVAL, at, "expected '[' or '(' to start an observation expression");
		return NULL;
	}
	if (++P->depth > PATTERN_MAX_DEPTH) {
		perr(P, RK_ETOOBIG, at, "nesting deeper than %d", PATTERN_MAX_DEPTH);
		return NULL;
	}
	if (accept(P, T_LBRACK)) {
		if (++P->p->nobs > PATTERN_MAX_OBSERVATIONS) {
			perr(P, RK_ETOOBIG, at, "more than %d observation expressions",
			     PATTERN_MAX_OBSERVATIONS);
			return NULL;
		}
		pat_cmp *c = parse_cmp_or(P);
		if (!c)
			return NULL;
		if (!accept(P, T_RBRACK)) {
			perr(P, RK_EINVAL, P->tok.pos, "expected ']' after comparison");
			return NULL;
		}
		n = obs_node(P, PAT_OBS_LEAF, NULL, NULL);
		if (n) {
			n->cmp = c;
			n->one_type = cmp_one_type(c);
			n->atom = (uint32_t)(P->p->nobs - 1);
		}
	} else {
		next(P);
		n = parse_obs_fby(P);
		if (!n)
			return NULL;
		if (!accept(P, T_RPAREN)) {
			perr(P, RK_EINVAL, P->tok.pos, "expected ')' after observation expression");
			return NULL;
		}
	}
	P->depth--;
	return n;
}

static pat_obs_node *parse_obs_qual(parser *P)
{
	bool bracket = P->tok.kind == T_LBRACK;
	pat_obs_node *n = parse_obs_prim(P);
	/* The validator's rule: a qualifier kind repeated directly on a
	 * [...] is an error; on a parenthesised expression it stacks. */
	bool seen_within = false, seen_repeats = false, seen_startstop = false;

	while (n && !P->err) {
		token t = P->tok;
		pat_obs_node *q;
		if (t.kind == T_WITHIN) {
			if (seen_within && bracket) {
				perr(P, RK_EINVAL, t.pos, "duplicate WITHIN qualifier");
				return NULL;
			}
			seen_within = true;
			next(P);
			token v = P->tok;
			if ((v.kind != T_INT && v.kind != T_FLOAT) || v.d <= 0) {
				perr(P, RK_EINVAL, v.pos, "expected a positive number of seconds after WITHIN");
				return NULL;
			}
			if (v.d > 1e12) {
				perr(P, RK_EINVAL, v.pos, "WITHIN duration out of range");
				return NULL;
			}
			next(P);
			if (!accept(P, T_SECONDS)) {
				perr(P, RK_EINVAL, P->tok.pos, "expected SECONDS after WITHIN duration");
				return NULL;
			}
			q = obs_node(P, PAT_OBS_WITHIN, n, NULL);
			if (q)
				q->within_us = (int64_t)(v.d * 1e6);
		} else if (t.kind == T_REPEATS) {
			if (seen_repeats && bracket) {
				perr(P, RK_EINVAL, t.pos, "duplicate REPEATS qualifier");
				return NULL;
			}
			seen_repeats = true;
			next(P);
			token v = P->tok;
			if (v.kind != T_INT || v.i < 1) {
				perr(P, RK_EINVAL, v.pos, "expected a positive integer after REPEATS");
				return NULL;
			}
			if (v.i > PATTERN_MAX_REPEATS) {
				perr(P, RK_ETOOBIG, v.pos, "REPEATS more than %d times",
				     PATTERN_MAX_REPEATS);
				return NULL;
			}
			next(P);
			if (!accept(P, T_TIMES)) {
				perr(P, RK_EINVAL, P->tok.pos, "expected TIMES after REPEATS count");
				return NULL;
			}
			q = obs_node(P, PAT_OBS_REPEATS, n, NULL);
			if (q)
				q->repeats = (uint32_t)v.i;
		} else if (t.kind == T_START) {
			pat_const a = { 0 }, b = { 0 };
			if (seen_startstop && bracket) {
				perr(P, RK_EINVAL, t.pos, "duplicate START/STOP qualifier");
				return NULL;
			}
			seen_startstop = true;
			next(P);
			if (P->tok.kind != T_TS) {
				perr(P, RK_EINVAL, P->tok.pos, "expected a timestamp t'...' after START");
				return NULL;
			}
			if (!parse_constant(P, &a, true, "START"))
				return NULL;
			if (!accept(P, T_STOP)) {
				perr(P, RK_EINVAL, P->tok.pos, "expected STOP after START timestamp");
				return NULL;
			}
			if (P->tok.kind != T_TS) {
				perr(P, RK_EINVAL, P->tok.pos, "expected a timestamp t'...' after STOP");
				return NULL;
			}
			if (!parse_constant(P, &b, true, "STOP"))
				return NULL;
			q = obs_node(P, PAT_OBS_STARTSTOP, n, NULL);
			if (q) {
				q->start = a.t;
				q->stop = b.t;
			}
		} else {
			break;
		}
		n = q;
	}
	return P->err ? NULL : n;
}

static pat_obs_node *parse_obs_chain(parser *P, pat_obs_kind kind, tkind op,
				     pat_obs_node *(*sub)(parser *))
{
	pat_obs_node *n = sub(P);

	while (n && accept(P, op)) {
		pat_obs_node *r = sub(P);
		if (!r)
			return NULL;
		n = obs_node(P, kind, n, r);
	}
	return P->err ? NULL : n;
}

static pat_obs_node *parse_obs_and(parser *P)
{
	return parse_obs_chain(P, PAT_OBS_AND, T_AND, parse_obs_qual);
}

static pat_obs_node *parse_obs_or(parser *P)
{
	return parse_obs_chain(P, PAT_OBS_OR, T_OR, parse_obs_and);
}

static pat_obs_node *parse_obs_fby(parser *P)
{
	return parse_obs_chain(P, PAT_OBS_FOLLOWEDBY, T_FOLLOWEDBY, parse_obs_or);
}

/* ---------------------------------------------------------------- API */

rk_err pattern_compile(const char *text, size_t len, pattern **out, rk_errctx *ctx)
{
	parser P = { 0 };

	*out = NULL;
	if (len > PATTERN_MAX_LEN)
		return rk_fail(ctx, RK_ETOOBIG, NULL, "at %d: pattern longer than %d bytes",
			       PATTERN_MAX_LEN, PATTERN_MAX_LEN);
	P.s = text;
	P.n = len;
	P.ctx = ctx;
	P.p = calloc(1, sizeof *P.p);
	if (!P.p)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	next(&P);
	if (!P.err && P.tok.kind == T_EOF)
		perr(&P, RK_EINVAL, P.tok.pos, "empty pattern");
	if (!P.err)
		P.p->root = parse_obs_fby(&P);
	if (!P.err && P.tok.kind != T_EOF) {
		if (P.tok.kind == T_AND || P.tok.kind == T_OR || P.tok.kind == T_FOLLOWEDBY)
			perr(&P, RK_EINVAL, P.tok.pos, "expected '[' or '(' to start an observation expression");
		else
			perr(&P, RK_EINVAL, P.tok.pos, "expected AND, OR, FOLLOWEDBY, a qualifier or the end");
	}
	if (!P.err)
		plan_chain(&P);
	if (P.err) {
		pattern_free(P.p);
		return P.err;
	}
	*out = P.p;
	return RK_OK;
}

/* A leaf, or WITHIN or START/STOP over a leaf. */
static bool chain_link(const pat_obs_node *n)
{
	return n->kind == PAT_OBS_LEAF ||
	       ((n->kind == PAT_OBS_WITHIN || n->kind == PAT_OBS_STARTSTOP) &&
		n->left->kind == PAT_OBS_LEAF);
}

/* Links of a left-deep AND/FOLLOWEDBY chain under n, or 0. */
static size_t chain_length(const pat_obs_node *n)
{
	size_t len = 1;

	for (; !chain_link(n); n = n->left, len++)
		if ((n->kind != PAT_OBS_AND && n->kind != PAT_OBS_FOLLOWEDBY) ||
		    !chain_link(n->right))
			return 0;
	return len;
}

static void chain_set(pattern *p, size_t k, const pat_obs_node *link)
{
	p->chain[k] = link->kind == PAT_OBS_LEAF ? link : link->left;
	p->chain_qual[k] = link->kind == PAT_OBS_LEAF ? NULL : link;
}

/* pattern.chain: see pattern_int.h. */
static void plan_chain(parser *P)
{
	pattern *p = P->p;
	const pat_obs_node *n = p->root, *top = NULL;
	size_t len;

	if (n->kind == PAT_OBS_WITHIN || n->kind == PAT_OBS_STARTSTOP) {
		top = n;
		n = n->left;
	}
	if (n->kind == PAT_OBS_REPEATS && n->left->kind == PAT_OBS_LEAF) {
		p->rep = n;
		p->chain_top = top;
		return;
	}
	if (chain_link(n) || !(len = chain_length(n)))
		return;
	p->chain = palloc(P, len * sizeof *p->chain);
	p->chain_qual = palloc(P, len * sizeof *p->chain_qual);
	p->chain_fby = palloc(P, len * sizeof *p->chain_fby);
	if (!p->chain || !p->chain_qual || !p->chain_fby)
		return;
	p->nchain = len;
	p->chain_top = top;
	p->chain_fby[0] = false;
	for (size_t k = len; k-- > 1; n = n->left) {
		chain_set(p, k, n->right);
		p->chain_fby[k] = n->kind == PAT_OBS_FOLLOWEDBY;
	}
	chain_set(p, 0, n);
}

void pattern_free(pattern *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nregex; i++) {
		pcre2_code_free(p->regex[i]->re);
		pcre2_code_free(p->regex[i]->re_bytes);
	}
	free(p->regex);
	for (size_t i = 0; i < p->nallocs; i++)
		free(p->allocs[i]);
	free(p->allocs);
	free(p);
}

size_t pattern_observation_count(const pattern *p)
{
	return p ? p->nobs : 0;
}

size_t pattern_comparison_count(const pattern *p)
{
	return p ? p->ncmp : 0;
}
