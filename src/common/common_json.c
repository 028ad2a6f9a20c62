/*
 * common_json.c: bounded parsing of untrusted JSON, and finding the bytes
 * of array elements in text that was parsed (rk_json_array_slices: the hub
 * stores each posted object's own bytes instead of re-serialising it), or
 * in text read a window at a time (rk_json_stream: the sensor's bundle
 * files, too large to hold whole), with the same scanner and verdicts.
 *
 * jansson does the parsing (UTF-8 validation, duplicate-key rejection,
 * exact error positions). Before it runs, a linear pre-scan measures nesting
 * depth outside strings, so a hostile document is refused at the offending
 * byte without deep recursion or allocation. Errors name line, column and
 * byte offset as jansson reports them. rk_json_parse_slices lets the slice
 * scan (which bounds its own recursion) stand in for that pre-scan when it
 * accepts the whole text, so the hub's POST body is read once before
 * jansson reads it; the pre-scan still runs whenever it does not, so
 * errors are reported as rk_json_parse reports them.
 *
 * Serialising goes through json_dump_callback into an rk_buf, never
 * json_dumps: the text must be libc memory the caller can free(), which
 * jansson's own is not once common_arena.c's allocator is installed.
 * rk_json_put_string writes a JSON string into an rk_buf exactly as
 * jansson's compact dump does, so text assembled by hand (the TAXII status
 * resource) is byte for byte what serialising the same jansson values
 * would give.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* Returns the byte offset at which depth first exceeds max, or -1. */
static long depth_exceeded_at(const char *data, size_t len, size_t max_depth)
{
	size_t depth = 0;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		switch (c) {
		case '"':
			in_string = true;
			break;
		case '{':
		case '[':
			if (++depth > max_depth)
				return (long)i;
			break;
		case '}':
		case ']':
			if (depth)
				depth--;
			break;
		default:
			break;
		}
	}
	return -1;
}

/* rk_json_parse; the depth scan is skipped when the caller has already
 * proved the nesting bounded (see rk_json_parse_slices). */
static rk_err parse(const char *data, size_t len, size_t max_depth,
		    bool depth_checked, json_t **out, rk_errctx *ctx)
{
	json_error_t jerr;
	char where[64];

	*out = NULL;
	long at = depth_checked ? -1 : depth_exceeded_at(data, len, max_depth);
	if (at >= 0) {
		snprintf(where, sizeof where, "byte %ld", at);
		return rk_fail(ctx, RK_ETOOBIG, where,
			       "JSON nesting deeper than %zu levels", max_depth);
	}
	json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory parsing JSON");
		snprintf(where, sizeof where, "line %d, column %d (byte %d)", jerr.line,
			 jerr.column, jerr.position);
		return rk_fail(ctx, RK_EPARSE, where, "malformed JSON: %s", jerr.text);
	}
	*out = v;
	return RK_OK;
}

rk_err rk_json_parse(const char *data, size_t len, size_t max_depth, json_t **out,
		     rk_errctx *ctx)
{
	return parse(data, len, max_depth, false, out, ctx);
}

rk_err rk_json_load_file(const char *path, size_t max_bytes, size_t max_depth,
			 json_t **out, rk_errctx *ctx)
{
	char *data = NULL;
	size_t len = 0;
	rk_errctx inner;

	*out = NULL;
	rk_err err = rk_read_file(path, max_bytes, &data, &len, ctx);
	if (err)
		return err;
	rk_errctx_clear(&inner);
	err = rk_json_parse(data, len, max_depth, out, &inner);
	free(data);
	if (err) {
		char where[RK_ERRCTX_PATH];
		int n = snprintf(where, sizeof where, "%s: ", strcmp(path, "-") ? path : "<stdin>");
		if (n > 0 && (size_t)n < sizeof where)
			snprintf(where + n, sizeof where - (size_t)n, "%.*s",
				 (int)(sizeof where - (size_t)n - 1), inner.path);
		return rk_fail(ctx, err, where, "%s", inner.msg);
	}
	return RK_OK;
}

typedef struct dump_sink {
	rk_buf *b;
	bool nomem;
} dump_sink;

static int dump_to_buf(const char *text, size_t len, void *arg)
{
	dump_sink *sink = arg;
	if (rk_buf_append(sink->b, text, len) == RK_OK)
		return 0;
	sink->nomem = true;
	return -1;
}

rk_err rk_json_dump_to(rk_buf *b, const json_t *v, size_t flags)
{
	dump_sink sink = {.b = b};
	size_t start = b->len;

	if (rk_buf_reserve(b, 256) != RK_OK)
		return RK_ENOMEM;
	if (v && json_dump_callback(v, dump_to_buf, &sink, flags) == 0)
		return RK_OK;
	/* jansson says only "failed": out of memory if appending failed,
	 * else something it cannot write (a bare scalar without
	 * JSON_ENCODE_ANY, a cycle, or its own allocation failed). */
	b->len = start;
	b->data[start] = '\0';
	return sink.nomem ? RK_ENOMEM : RK_EINVAL;
}

char *rk_json_dump(const json_t *v)
{
	rk_buf b;

	rk_buf_init(&b);
	if (rk_json_dump_to(&b, v, JSON_COMPACT | JSON_PRESERVE_ORDER |
					   JSON_ENCODE_ANY) != RK_OK) {
		rk_buf_cleanup(&b);
		return NULL;
	}
	return rk_buf_take(&b);
}

/* ---------------------------------------------------------------- strings */

/*
 * Length of the UTF-8 sequence at s (n bytes available) if jansson's
 * utf8_check accepts it, else 0: lead bytes C2-DF, E0-EF, F0-F4 only,
 * continuation bytes 80-BF, no overlong form, no surrogate, nothing past
 * U+10FFFF. ASCII is 1.
 */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	uint32_t v;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ||
	    (len == 3 && v < 0x800) || (len == 4 && v < 0x10000))
		return 0;
	return len;
}

/* Escapes as jansson's dump_string does without JSON_ENSURE_ASCII and
 * JSON_ESCAPE_SLASH; runs that need no escape are copied whole. */
rk_err rk_json_put_string(rk_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p, *end, *run;
	size_t start = b->len;
	rk_err err = RK_ENOMEM;

	if (!len)
		s = "";
	p = (const unsigned char *)s;
	end = p + len;
	if (rk_buf_reserve(b, len + 2) != RK_OK || rk_buf_append(b, "\"", 1) != RK_OK)
		return RK_ENOMEM;
	for (run = p; p < end;) {
		unsigned c = *p;
		char esc[6] = {'\\', 'u', '0', '0', 0, 0};
		size_t n = 2;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			p++;
			continue;
		}
		if (c >= 0x80) {
			size_t seq = utf8_seq(p, (size_t)(end - p));
			if (!seq) {
				err = RK_EINVAL;
				goto fail;
			}
			p += seq;
			continue;
		}
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			n = 6;
			break;
		}
		if (rk_buf_append(b, run, (size_t)(p - run)) != RK_OK ||
		    rk_buf_append(b, esc, n) != RK_OK)
			goto fail;
		run = ++p;
	}
	if (rk_buf_append(b, run, (size_t)(p - run)) == RK_OK &&
	    rk_buf_append(b, "\"", 1) == RK_OK)
		return RK_OK;
fail:
	b->len = start;
	b->data[start] = '\0';
	return err;
}

/* ---------------------------------------------------------------- slices */

/*
 * A recursive-descent walk over JSON text that records where values start
 * and end and whether their bytes are already what rk_json_dump writes.
 * It decodes nothing and allocates nothing; on any byte that is not JSON
 * it stops with RK_EPARSE (the hub only runs it over text rk_json_parse
 * accepted, but it must be safe on anything). Recursion is bounded by
 * `depth`.
 *
 * "Canonical" follows jansson's dumper (JSON_COMPACT, insertion order,
 * no JSON_ENSURE_ASCII, no JSON_ESCAPE_SLASH): no whitespace; strings
 * keep raw UTF-8 and escape only '"', '\\' and control characters, as
 * \" \\ \b \f \n \r \t or \u00XX with upper-case hex; numbers that jansson
 * keeps as integers (no fraction, no exponent, not "-0") print as written;
 * reals are re-formatted by jansson, so they are never canonical. Key order
 * is kept by jansson, and duplicate keys were refused by the parser.
 */
typedef struct slice_scan {
	const char *p, *end;
	size_t depth;
	bool canonical;
	bool too_deep;
} slice_scan;

/* JSON whitespace, and NUL bytes, which jansson's json_loadb skips
 * between tokens (so slices line up with its elements). */
static bool sc_space(slice_scan *s)
{
	bool any = false;
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' ||
				 *s->p == '\r' || *s->p == '\0')) {
		s->p++;
		any = true;
	}
	return any;
}

static int sc_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10 + 16; /* lower case: valid, not canonical */
	return -1;
}

static bool sc_string(slice_scan *s)
{
	if (s->p >= s->end || *s->p != '"')
		return false;
	for (s->p++; s->p < s->end; s->p++) {
		unsigned char c = (unsigned char)*s->p;
		if (c == '"') {
			s->p++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c != '\\')
			continue;
		if (++s->p >= s->end)
			return false;
		switch (*s->p) {
		case '"': case '\\': case 'b': case 'f': case 'n': case 'r': case 't':
			break;
		case '/':
			s->canonical = false;
			break;
		case 'u': {
			unsigned v = 0;
			bool upper = true;
			if (s->end - s->p < 5)
				return false;
			for (int i = 1; i <= 4; i++) {
				int h = sc_hex(s->p[i]);
				if (h < 0)
					return false;
				if (h >= 16) {
					upper = false;
					h -= 16;
				}
				v = v << 4 | (unsigned)h;
			}
			/* jansson writes \u00XX only for control characters
			 * without a short escape. */
			if (!upper || v == 0 || v >= 0x20 || v == '\b' ||
			    v == '\f' || v == '\n' || v == '\r' || v == '\t')
				s->canonical = false;
			s->p += 4;
			break;
		}
		default:
			return false;
		}
	}
	return false;
}

static bool sc_digits(slice_scan *s)
{
	const char *start = s->p;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > start;
}

static bool sc_number(slice_scan *s)
{
	const char *start = s->p;
	if (*s->p == '-')
		s->p++;
	if (s->p >= s->end)
		return false;
	if (*s->p == '0')
		s->p++;
	else if (!sc_digits(s))
		return false;
	if (s->p - start == 2 && start[0] == '-' && start[1] == '0')
		s->canonical = false; /* jansson prints -0 as 0 */
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (!sc_digits(s))
			return false;
		s->canonical = false;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (!sc_digits(s))
			return false;
		s->canonical = false;
	}
	return true;
}

static bool sc_word(slice_scan *s, const char *w, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
		return false;
	s->p += n;
	return true;
}

static bool sc_value(slice_scan *s);

/* Object or array; s->p is on the opening bracket. */
static bool sc_container(slice_scan *s)
{
	bool obj = *s->p == '{';
	char close = obj ? '}' : ']';

	if (s->depth == 0) {
		s->too_deep = true;
		return false;
	}
	s->depth--;
	s->p++;
	if (sc_space(s))
		s->canonical = false;
	if (s->p < s->end && *s->p == close) {
		s->p++;
		s->depth++;
		return true;
	}
	for (;;) {
		if (obj) {
			if (!sc_string(s))
				return false;
			if (sc_space(s))
				s->canonical = false;
			if (s->p >= s->end || *s->p != ':')
				return false;
			s->p++;
			if (sc_space(s))
				s->canonical = false;
		}
		if (!sc_value(s))
			return false;
		if (sc_space(s))
			s->canonical = false;
		if (s->p >= s->end)
			return false;
		if (*s->p == close) {
			s->p++;
			s->depth++;
			return true;
		}
		if (*s->p != ',')
			return false;
		s->p++;
		if (sc_space(s))
			s->canonical = false;
	}
}

static bool sc_value(slice_scan *s)
{
	if (s->p >= s->end)
		return false;
	switch (*s->p) {
	case '{':
	case '[':
		return sc_container(s);
	case '"':
		return sc_string(s);
	case 't':
		return sc_word(s, "true", 4);
	case 'f':
		return sc_word(s, "false", 5);
	case 'n':
		return sc_word(s, "null", 4);
	default:
		if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
			return sc_number(s);
		return false;
	}
}

/* Steps into the object or array opened by `open` at s->p, one level
 * deeper, and past the white space after the bracket. */
static rk_err sc_enter(slice_scan *s, char open)
{
	if (s->p >= s->end || *s->p != open)
		return RK_EPARSE;
	if (s->depth == 0)
		return RK_ETOOBIG;
	s->depth--;
	s->p++;
	sc_space(s);
	return RK_OK;
}

/* Where the elements found go: a fixed array (rk_json_array_slices) or
 * one grown on the heap (rk_json_parse_slices). */
typedef struct slice_out {
	rk_json_slice *v;
	size_t n, cap, max;
	bool grow;  /* v is heap memory, grown up to max */
	bool whole; /* scan the whole text, past the array, to its end */
	bool found; /* the member was found and its array closed */
	bool full;  /* more than max elements (whole scans go on) */
} slice_out;

static rk_err sc_record(slice_out *o, const char *data, const char *v,
			const slice_scan *s)
{
	if (o->n == o->max) {
		if (!o->whole)
			return RK_ETOOBIG;
		o->full = true;
		return RK_OK;
	}
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
		if (!o->grow)
			return RK_ETOOBIG;
		if (cap > o->max)
			cap = o->max;
		rk_json_slice *nv = realloc(o->v, cap * sizeof *nv);
		if (!nv)
			return RK_ENOMEM;
		o->v = nv;
		o->cap = cap;
	}
	o->v[o->n].off = (size_t)(v - data);
	o->v[o->n].len = (size_t)(s->p - v);
	o->v[o->n].canonical = s->canonical;
	o->n++;
	return RK_OK;
}

/* The elements of the array at s->p, into o; s->p ends past its ']'. */
static rk_err sc_elements(slice_scan *s, const char *data, slice_out *o)
{
	rk_err err;

	if ((err = sc_enter(s, '[')) != RK_OK)
		return err;
	while (s->p >= s->end || *s->p != ']') {
		const char *v = s->p;
		s->canonical = true;
		if (!sc_value(s))
			return s->too_deep ? RK_ETOOBIG : RK_EPARSE;
		if ((err = sc_record(o, data, v, s)) != RK_OK)
			return err;
		sc_space(s);
		if (s->p < s->end && *s->p == ']')
			break;
		if (s->p >= s->end || *s->p != ',')
			return RK_EPARSE;
		s->p++;
		sc_space(s);
	}
	s->p++;
	s->depth++;
	o->found = true;
	return RK_OK;
}

/*
 * The top-level object of data and the elements of its member `key`.
 * Without o->whole it stops once that array is closed. With it, it goes on
 * to the end of the text, so that RK_OK or RK_ENOTFOUND mean: the whole
 * text is one well-formed object (as far as this scanner checks) nested
 * at most s->depth levels.
 */
/* One member's name and its ':' with the white space after; *match when
 * the name is key as written (an escaped spelling is not recognised). */
static bool sc_member_name(slice_scan *s, const char *key, size_t klen, bool *match)
{
	const char *k = s->p;
	if (!sc_string(s))
		return false;
	*match = (size_t)(s->p - k) == klen + 2 && memcmp(k + 1, key, klen) == 0;
	sc_space(s);
	if (s->p >= s->end || *s->p != ':')
		return false;
	s->p++;
	sc_space(s);
	return true;
}

/* Past a member's value: *closed at the object's '}' (left in place), or
 * past the ',' and white space before the next member. */
static rk_err sc_member_end(slice_scan *s, bool *closed)
{
	sc_space(s);
	*closed = s->p < s->end && *s->p == '}';
	if (*closed)
		return RK_OK;
	if (s->p >= s->end || *s->p != ',')
		return RK_EPARSE;
	s->p++;
	sc_space(s);
	return RK_OK;
}

static rk_err sc_top(slice_scan *s, const char *data, const char *key, slice_out *o)
{
	size_t klen = strlen(key);
	rk_err err;

	sc_space(s);
	if ((err = sc_enter(s, '{')) != RK_OK)
		return err;
	while (s->p >= s->end || *s->p != '}') {
		bool match, closed;
		if (!sc_member_name(s, key, klen, &match))
			return RK_EPARSE;
		/* a second member of that name is not the array (the parser
		 * refuses it) */
		if (match && !o->found) {
			if ((err = sc_elements(s, data, o)) != RK_OK)
				return err;
			if (!o->whole)
				return RK_OK;
		} else if (!sc_value(s)) {
			return s->too_deep ? RK_ETOOBIG : RK_EPARSE;
		}
		if ((err = sc_member_end(s, &closed)) != RK_OK)
			return err;
		if (closed)
			break;
	}
	if (o->whole) {
		s->p++;
		sc_space(s);
		if (s->p != s->end)
			return RK_EPARSE;
	}
	return o->found ? RK_OK : RK_ENOTFOUND;
}

rk_err rk_json_array_slices(const char *data, size_t len, const char *key,
			    size_t max_depth, rk_json_slice *out, size_t max,
			    size_t *n_out)
{
	slice_scan s = {.p = data, .end = data + len, .depth = max_depth};
	slice_out o = {.v = out, .cap = max, .max = max};
	rk_err err = sc_top(&s, data, key, &o);

	*n_out = o.n;
	return err;
}

/* ------------------------------------------------------------ stream
 *
 * States: TOP (before the member `key`'s '['), IN (at an element or the
 * ']' right after '[' or a ','), AFTER (past an element), DONE. Each step
 * rescans from the stream's position, so running out of text only means
 * calling again with more; the scans are the ones sc_top and sc_elements
 * make, in the same order, so the verdicts are theirs.
 */
enum { ST_TOP, ST_IN, ST_AFTER, ST_DONE };

void rk_json_stream_init(rk_json_stream *st, const char *key, size_t max_depth)
{
	memset(st, 0, sizeof *st);
	st->key = key;
	st->depth = max_depth;
	st->state = ST_TOP;
}

void rk_json_stream_init_in_array(rk_json_stream *st, const char *key, size_t max_depth)
{
	rk_json_stream_init(st, key, max_depth);
	/* stream_top entered two levels: the top-level object and the array */
	st->depth = max_depth >= 2 ? max_depth - 2 : 0;
	st->state = ST_IN;
}

/* sc_top up to the key's array, entered; s->p past '[' and white space. */
static rk_err stream_top(slice_scan *s, const char *key)
{
	size_t klen = strlen(key);
	rk_err err;

	sc_space(s);
	if ((err = sc_enter(s, '{')) != RK_OK)
		return err;
	while (s->p >= s->end || *s->p != '}') {
		bool match, closed;
		if (!sc_member_name(s, key, klen, &match))
			return RK_EPARSE;
		if (match)
			return sc_enter(s, '[');
		if (!sc_value(s))
			return s->too_deep ? RK_ETOOBIG : RK_EPARSE;
		if ((err = sc_member_end(s, &closed)) != RK_OK)
			return err;
		if (closed)
			break;
	}
	return RK_ENOTFOUND;
}

rk_err rk_json_stream_next(rk_json_stream *st, const char *text, size_t len, bool eof, size_t *used,
			   bool *more)
{
	slice_scan s = {.p = text, .end = text + len, .depth = st->depth};
	rk_err err = RK_OK;

	*used = 0;
	*more = false;
	st->at_element = false;
	switch (st->state) {
	case ST_TOP:
		err = stream_top(&s, st->key);
		break;
	case ST_AFTER:
		sc_space(&s);
		if (s.p < s.end && *s.p == ']') {
			s.p++;
			st->state = ST_DONE;
			st->done = true;
			*used = (size_t)(s.p - text);
			return RK_OK;
		}
		if (s.p >= s.end || *s.p != ',')
			err = RK_EPARSE;
		else {
			s.p++;
			sc_space(&s);
		}
		break;
	case ST_IN:
		break;
	default:
		st->done = true;
		return RK_OK;
	}
	if (err) {
		/* more text can mend a cut-off token, never a top level
		 * that does not open with '{' (a bare array of objects) */
		const char *first = text;
		while (first < text + len && (*first == ' ' || *first == '\t' || *first == '\n' ||
					      *first == '\r' || *first == '\0'))
			first++;
		bool final = st->state == ST_TOP && first < text + len && *first != '{';
		if (!eof && !final)
			*more = true;
		return *more ? RK_OK : err;
	}
	if (s.p >= s.end && !eof) {
		*more = true; /* an element or the ']' decides */
		return RK_OK;
	}
	st->depth = s.depth;
	*used = (size_t)(s.p - text);
	if (s.p < s.end && *s.p == ']') {
		st->state = ST_DONE;
		st->done = true;
		*used += 1;
	} else {
		st->state = ST_IN;
		st->at_element = true;
	}
	return RK_OK;
}

rk_err rk_json_stream_element(rk_json_stream *st, const char *text, size_t len, bool eof,
			      size_t *elen, bool *more)
{
	slice_scan s = {.p = text, .end = text + len, .depth = st->depth};

	*elen = 0;
	*more = false;
	if (!sc_value(&s)) {
		if (!eof) {
			*more = true;
			return RK_OK;
		}
		return s.too_deep ? RK_ETOOBIG : RK_EPARSE;
	}
	*elen = (size_t)(s.p - text);
	rk_json_stream_passed(st);
	return RK_OK;
}

void rk_json_stream_passed(rk_json_stream *st)
{
	st->n++;
	st->at_element = false;
	st->state = ST_AFTER;
}

/*
 * One pass instead of two: the slice scan over the whole text replaces
 * rk_json_parse's depth scan, because a text it accepts to the end has
 * every bracket outside strings accounted for, at most max_depth deep.
 * When it does not accept the text (malformed, too deep, not an object),
 * rk_json_parse runs as ever, depth scan included, so errors and their
 * places are the same.
 */
rk_err rk_json_parse_slices(const char *data, size_t len, size_t max_depth,
			    const char *key, size_t max_slices, json_t **out,
			    rk_json_slice **slices, size_t *n_slices, rk_errctx *ctx)
{
	slice_scan s = {.p = data, .end = data + len, .depth = max_depth};
	slice_out o = {.max = max_slices, .grow = true, .whole = true};
	rk_err err = sc_top(&s, data, key, &o);

	*slices = NULL;
	*n_slices = 0;
	if (err == RK_ENOMEM) {
		free(o.v);
		*out = NULL;
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory parsing JSON");
	}
	bool bounded = err == RK_OK || err == RK_ENOTFOUND;
	err = parse(data, len, max_depth, bounded, out, ctx);
	if (err != RK_OK || !o.found || o.full) {
		free(o.v);
		return err;
	}
	*slices = o.v;
	*n_slices = o.n;
	return RK_OK;
}
