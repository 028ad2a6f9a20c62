/*
 * logs_parse.c: which format a line is in, the Zeek TSV reader, and the one
 * table of fields that carry observables.
 *
 * The table (keys[]) names every field we take, by its Zeek column or JSON
 * key (Zeek JSON keys are the TSV column names; EVE keys are given as their
 * dotted path, e.g. "dns.answers.rdata", array levels adding nothing), with
 * how its value becomes observables and which field it is reported as.
 * Adding a field is one row.
 *
 * Zeek TSV: the header lines set the separator (#separator \x09), the set
 * separator, the empty and unset markers and the columns (#fields); each
 * column is looked up in the table once, when #fields is read (col[]).
 * From col[] comes a plan (logs_tsv_plan): the columns to read, in order,
 * and which separators bound them. A data line then costs one pass
 * (logs_tsv_fast) that counts its separators 32 bytes a step where the
 * processor has AVX2 (16 with SSE2), places only those the plan wants,
 * and says whether the line needs the UTF-8 check (a byte over 0x7f) and
 * whether any value may need unescaping or splitting ('\\' or the set
 * separator anywhere in the line), plus work on the planned columns only:
 * a plain value of an address or name column is checked as one
 * (logs_is_ipv4_at, logs_is_domain_at) rather than tried as every kind.
 * A data line with a field count other than #fields is counted in bad_tsv
 * and skipped. Values are unescaped in place (\\ and \xHH, Zeek's ASCII
 * writer's escapes), set and vector columns are split on the set
 * separator first, so an escaped separator (\x2c) stays inside its
 * element.
 */
#include <pthread.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#include "logs_int.h"

#define K(n, m, f) {n, sizeof(n) - 1, LOGS_M_##m, LOGS_FIELD_##f}
static const logs_key keys[] = {
	/* Zeek: conn, dns, http, ssl, files, x509 (TSV columns, JSON keys) */
	K("ts", TS, TEXT),
	K("id.orig_h", ADDR, CONN_SRC),
	K("id.resp_h", ADDR, CONN_DST),
	K("query", HOST, DNS_QUERY),
	K("answers", HOST, DNS_ANSWER),
	/* dns.log with policy/protocols/dns/auth-addl.zeek: the names and
	 * addresses of the authority and additional sections */
	K("auth", HOST, DNS_ANSWER),
	K("addl", HOST, DNS_ANSWER),
	K("host", HOST, HTTP_HOST),
	K("uri", URI, HTTP_URI),
	K("user_agent", UA, HTTP_UA),
	K("server_name", HOST, TLS_SNI),
	K("cert_chain_fps", CERT, TLS_CERT),
	K("client_cert_chain_fps", CERT, TLS_CERT),
	K("tx_hosts", ADDR, CONN_SRC),
	K("rx_hosts", ADDR, CONN_DST),
	K("md5", HASH, FILE_HASH),
	K("sha1", HASH, FILE_HASH),
	K("sha256", HASH, FILE_HASH),
	K("fingerprint", CERT, TLS_CERT),
	K("certificate.subject", SUBJECT, X509_SUBJECT),
	K("san.dns", HOST, X509_SAN),
	K("san.uri", URL, X509_SAN),
	K("san.email", EMAIL, X509_SAN),
	K("san.ip", ADDR, X509_SAN),
	/* Suricata EVE: flow, dns (v1, v2, v3), http, tls, fileinfo */
	K("timestamp", TS, TEXT),
	K("src_ip", ADDR, CONN_SRC),
	K("dest_ip", ADDR, CONN_DST),
	K("dns.rrname", HOST, DNS_QUERY),
	K("dns.rdata", HOST, DNS_ANSWER),
	K("dns.queries.rrname", HOST, DNS_QUERY),
	K("dns.answers.rdata", HOST, DNS_ANSWER),
	K("dns.grouped.A", HOST, DNS_ANSWER),
	K("dns.grouped.AAAA", HOST, DNS_ANSWER),
	K("dns.grouped.CNAME", HOST, DNS_ANSWER),
	K("dns.grouped.MX", HOST, DNS_ANSWER),
	K("dns.grouped.NS", HOST, DNS_ANSWER),
	K("dns.grouped.PTR", HOST, DNS_ANSWER),
	/* the other sections, as the packet decoder reads them: NS names of
	 * a referral, glue addresses; SOA and SRV data are objects */
	K("dns.authorities.rdata", HOST, DNS_ANSWER),
	K("dns.additionals.rdata", HOST, DNS_ANSWER),
	K("dns.answers.soa.mname", HOST, DNS_ANSWER),
	K("dns.authorities.soa.mname", HOST, DNS_ANSWER),
	K("dns.additionals.soa.mname", HOST, DNS_ANSWER),
	K("dns.answers.srv.name", HOST, DNS_ANSWER),
	K("dns.authorities.srv.name", HOST, DNS_ANSWER),
	K("dns.additionals.srv.name", HOST, DNS_ANSWER),
	K("dns.grouped.SOA.mname", HOST, DNS_ANSWER),
	K("dns.grouped.SRV.name", HOST, DNS_ANSWER),
	K("http.hostname", HOST, HTTP_HOST),
	K("http.url", URI, HTTP_URI),
	K("http.http_user_agent", UA, HTTP_UA),
	K("tls.sni", HOST, TLS_SNI),
	K("tls.subject", SUBJECT, X509_SUBJECT),
	K("tls.fingerprint", CERT, TLS_CERT),
	K("fileinfo.md5", HASH, FILE_HASH),
	K("fileinfo.sha1", HASH, FILE_HASH),
	K("fileinfo.sha256", HASH, FILE_HASH),
};
#undef K

/* keys[] by name: an open-addressing index of 128 slots (key + 1, 0 for
 * empty) over the ~45 names, built once; JSON looks up every string
 * value's path. */
#define KEY_SLOTS 128
_Static_assert(sizeof(keys) / sizeof(keys[0]) < KEY_SLOTS / 2,
	       "the key index stays at most half full");
static unsigned char key_index[KEY_SLOTS];
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static unsigned key_hash(const char *name, size_t len)
{
	return ((unsigned)len * 31u + (unsigned char)name[0] * 7u +
		(unsigned char)name[len - 1] * 131u +
		(unsigned char)name[len / 2]) & (KEY_SLOTS - 1);
}

static void key_index_build(void)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		unsigned h = key_hash(keys[i].name, keys[i].len);
		while (key_index[h])
			h = (h + 1) & (KEY_SLOTS - 1);
		key_index[h] = (unsigned char)(i + 1);
	}
}

int logs_key_find(const char *name, size_t len)
{
	if (len == 0)
		return -1;
	pthread_once(&key_once, key_index_build);
	for (unsigned h = key_hash(name, len); key_index[h];
	     h = (h + 1) & (KEY_SLOTS - 1)) {
		const logs_key *k = &keys[key_index[h] - 1];
		if (k->len == len && memcmp(k->name, name, len) == 0)
			return key_index[h] - 1;
	}
	return -1;
}

const logs_key *logs_key_get(int idx)
{
	return &keys[idx];
}

/* ------------------------------------------------------------ Zeek TSV */

static int hexval(int c)
{
	return rk_hex_value((char)c);
}

/* Decodes \\ and \xHH in place; returns the new length. */
static size_t tsv_unescape(char *v, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\\' && i + 1 < len) {
			if (v[i + 1] == '\\') {
				v[o++] = '\\';
				i++;
				continue;
			}
			if (v[i + 1] == 'x' && i + 3 < len && hexval(v[i + 2]) >= 0 &&
			    hexval(v[i + 3]) >= 0) {
				v[o++] = (char)(hexval(v[i + 2]) * 16 + hexval(v[i + 3]));
				i += 3;
				continue;
			}
		}
		v[o++] = v[i];
	}
	return o;
}

/* "\x09" or a literal character. */
static char header_char(const char *s, size_t len)
{
	if (len == 4 && s[0] == '\\' && s[1] == 'x' && hexval(s[2]) >= 0 &&
	    hexval(s[3]) >= 0)
		return (char)(hexval(s[2]) * 16 + hexval(s[3]));
	return len ? s[0] : '\t';
}

static void tsv_header(logs_reader *r, char *line, size_t len)
{
	/* "#separator \x09" uses a space; the others use the separator */
	if (len > 11 && memcmp(line, "#separator ", 11) == 0) {
		r->sep = header_char(line + 11, len - 11);
		return;
	}
	char *sp = memchr(line, r->sep, len);
	if (!sp)
		return;
	size_t nlen = (size_t)(sp - line);
	char *v = sp + 1;
	size_t vlen = len - nlen - 1;
	if (nlen == 14 && memcmp(line, "#set_separator", 14) == 0) {
		r->set_sep = header_char(v, vlen);
	} else if (nlen == 12 && memcmp(line, "#empty_field", 12) == 0 &&
		   vlen < sizeof(r->empty)) {
		memcpy(r->empty, v, vlen);
		r->empty_len = vlen;
	} else if (nlen == 12 && memcmp(line, "#unset_field", 12) == 0 &&
		   vlen < sizeof(r->unset)) {
		memcpy(r->unset, v, vlen);
		r->unset_len = vlen;
	} else if (nlen == 7 && memcmp(line, "#fields", 7) == 0) {
		int n = 0;
		r->ts_col = -1;
		for (size_t i = 0; i <= vlen;) {
			char *e = memchr(v + i, r->sep, vlen - i);
			size_t fl = e ? (size_t)(e - (v + i)) : vlen - i;
			if (n < LOGS_TSV_MAX_FIELDS) {
				int k = logs_key_find(v + i, fl);
				r->col[n] = (signed char)k;
				if (k >= 0 && keys[k].mode == LOGS_M_TS)
					r->ts_col = n;
			}
			n++;
			i += fl + 1;
			if (!e)
				break;
		}
		r->nfields = n;
		r->tsv = 1;
		logs_tsv_plan(r);
	}
	/* #path, #types, #open, #close: nothing to keep */
}

/* The unset or the empty marker ("-", "(empty)"); the first byte is
 * compared inline, as most values differ there. */
static inline int is_marker(const char *v, size_t len, const char *m, size_t mlen)
{
	return len == mlen &&
	       (len == 0 || (v[0] == m[0] && (len == 1 || memcmp(v + 1, m + 1, len - 1) == 0)));
}

static inline int is_unset(const logs_reader *r, const char *v, size_t len)
{
	return is_marker(v, len, r->unset, r->unset_len) ||
	       is_marker(v, len, r->empty, r->empty_len);
}

static void tsv_value(logs_reader *r, int key, char *v, size_t len, int set)
{
	if (is_unset(r, v, len))
		return;
	{
		/* most values are one plain element: one short scan says so */
		size_t i = 0;
		char ss = set ? r->set_sep : '\\';
		while (i < len && v[i] != '\\' && v[i] != ss)
			i++;
		if (i == len) {
			logs_emit_value(r, key, v, len);
			return;
		}
	}
	if (!set) {
		if (memchr(v, '\\', len))
			len = tsv_unescape(v, len);
		logs_emit_value(r, key, v, len);
		return;
	}
	for (size_t i = 0; i <= len;) {
		char *e = memchr(v + i, r->set_sep, len - i);
		size_t el = e ? (size_t)(e - (v + i)) : len - i;
		char *p = v + i;
		if (memchr(p, '\\', el))
			el = tsv_unescape(p, el);
		logs_emit_value(r, key, p, el);
		if (!e)
			break;
		i = (size_t)(e - v) + 1;
	}
}

/* Whether a column's values are sets or vectors split on set_sep: all
 * but those taken whole. */
static int col_is_set(int key)
{
	int m = keys[key].mode;
	return m != LOGS_M_UA && m != LOGS_M_URI && m != LOGS_M_SUBJECT;
}

void logs_tsv_plan(logs_reader *r)
{
	r->nwant = 0;
	r->want_seps = 0;
	for (int n = 0; n < r->nfields && n < LOGS_TSV_MAX_FIELDS; n++) {
		if (r->col[n] < 0)
			continue;
		r->want[r->nwant++] = (unsigned char)n;
		/* column n lies between separators n - 1 and n */
		if (n > 0)
			r->want_seps |= (uint64_t)1 << (n - 1);
		if (n < 64)
			r->want_seps |= (uint64_t)1 << n;
	}
	r->ts_first = r->ts_col < 0 || (r->nwant > 0 && r->want[0] == r->ts_col);
}

/* Separator offsets tsv_split may write: the first 64 and what one step
 * past them writes. */
#define TSV_POS (64 + 32 + 4)

/* Bits set in a 16-bit mask. */
static unsigned bits16(unsigned m)
{
	m = m - ((m >> 1) & 0x5555u);
	m = (m & 0x3333u) + ((m >> 2) & 0x3333u);
	m = (m + (m >> 4)) & 0x0f0fu;
	return (m + (m >> 8)) & 0x1fu;
}

/* Finds the separators of a line in one pass: the result is how many
 * there are in all, pos[t] gets the offset of separator t for each t set
 * in want (t < 64; the others are left alone), *high is set when a byte
 * is not ASCII (only such a line needs the UTF-8 check) and *special when
 * the line holds a '\\' or the set separator (only then must a value be
 * unescaped or split). Sixteen bytes a step where SSE2 is there; a step
 * whose separators are none of the wanted ones only counts them. */
#if defined(__GNUC__) && defined(__x86_64__)
#define TSV_AVX2 1
/* tsv_split thirty-two bytes a step, for lines of 32 bytes or more on a
 * processor that has AVX2 and BMI (asked at run time: the build targets
 * any x86-64). A step's separators are written out four at a time without
 * a test per bit (tzcnt of an empty mask is 32: the surplus entries land
 * past the step's last and are overwritten or never read), so pos needs
 * TSV_POS slots. */
__attribute__((target("avx2,bmi,popcnt"))) static size_t
tsv_split_avx2(const char *s, size_t len, char sep, char set_sep, uint64_t want,
	       uint32_t *pos, int *high, int *special)
{
	size_t n = 0, i = 0;
	unsigned hi = 0, sp = 0;
	const __m256i vs = _mm256_set1_epi8(sep);
	const __m256i vb = _mm256_set1_epi8('\\');
	const __m256i vss = _mm256_set1_epi8(set_sep);
	for (;; i += 32) {
		unsigned skip = 0;
		if (i + 32 > len) {
			if (i == len)
				break;
			skip = (unsigned)(i - (len - 32));
			i = len - 32;
		}
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(s + i));
		unsigned m = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, vs));
		hi |= (unsigned)_mm256_movemask_epi8(v);
		sp |= (unsigned)_mm256_movemask_epi8(_mm256_or_si256(
			_mm256_cmpeq_epi8(v, vb), _mm256_cmpeq_epi8(v, vss)));
		m &= ~0u << skip;
		unsigned k = (unsigned)__builtin_popcount(m);
		if (n < 64 && ((want >> n) & (((uint64_t)1 << k) - 1))) {
			uint32_t *o = pos + n;
			uint32_t base = (uint32_t)i;
			while (m) {
				o[0] = base + _tzcnt_u32(m);
				m = _blsr_u32(m);
				o[1] = base + _tzcnt_u32(m);
				m = _blsr_u32(m);
				o[2] = base + _tzcnt_u32(m);
				m = _blsr_u32(m);
				o[3] = base + _tzcnt_u32(m);
				m = _blsr_u32(m);
				o += 4;
			}
		}
		n += k;
		if (i + 32 == len)
			break;
	}
	*high = hi != 0;
	*special = sp != 0;
	return n;
}
#endif

static size_t tsv_split(const char *s, size_t len, char sep, char set_sep,
			uint64_t want, uint32_t *pos, int *high, int *special)
{
	size_t n = 0, i = 0;
	unsigned hi = 0, sp = 0;
#ifdef TSV_AVX2
	if (len >= 32 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi"))
		return tsv_split_avx2(s, len, sep, set_sep, want, pos, high, special);
#endif
#ifdef __SSE2__
	if (len >= 16) {
		const __m128i vs = _mm_set1_epi8(sep);
		const __m128i vb = _mm_set1_epi8('\\');
		const __m128i vss = _mm_set1_epi8(set_sep);
		for (;; i += 16) {
			unsigned skip = 0;
			if (i + 16 > len) {
				/* the last, overlapping step: bytes below i are done */
				if (i == len)
					break;
				skip = (unsigned)(i - (len - 16));
				i = len - 16;
			}
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
			unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vs));
			hi |= (unsigned)_mm_movemask_epi8(v);
			sp |= (unsigned)_mm_movemask_epi8(_mm_or_si128(
				_mm_cmpeq_epi8(v, vb), _mm_cmpeq_epi8(v, vss)));
			m &= ~0u << skip;
			if (m) {
				unsigned k = bits16(m);
				if (n < 64 && ((want >> n) & ((1u << k) - 1))) {
					do {
						if (n < 64)
							pos[n] = (uint32_t)(i + (unsigned)__builtin_ctz(m));
						n++;
						m &= m - 1;
					} while (m);
				} else {
					n += k;
				}
			}
			if (i + 16 == len)
				break;
		}
		*high = hi != 0;
		*special = sp != 0;
		return n;
	}
#endif
	for (; i < len; i++) {
		hi |= (unsigned char)s[i] & 0x80u;
		sp |= s[i] == '\\' || s[i] == set_sep;
		if (s[i] == sep) {
			if (n < 64)
				pos[n] = (uint32_t)i;
			n++;
		}
	}
	*high = hi != 0;
	*special = sp != 0;
	return n;
}

/* A plain value (no escape, no set separator) of a column that holds
 * addresses or names: the common cases straight to the queue, anything
 * else through logs_emit_value, which decides the same way. */
static void tsv_plain(logs_reader *r, int key, char *v, size_t len, size_t avail)
{
	const logs_key *k = &keys[key];
	uint8_t a[16];
	if (k->mode == LOGS_M_ADDR || k->mode == LOGS_M_HOST) {
		if ((unsigned)(v[0] - '0') <= 9 && logs_is_ipv4_at(v, len, avail, a)) {
			logs_emit(r, LOGS_KIND_IPV4, (logs_field)k->field, v, len, a);
			return;
		}
		if (k->mode == LOGS_M_HOST && logs_is_domain_at(v, len, avail)) {
			logs_emit(r, LOGS_KIND_DOMAIN, (logs_field)k->field, v, len, NULL);
			return;
		}
	}
	logs_emit_value(r, key, v, len);
}

int logs_tsv_fast(logs_reader *r, char *line, size_t len)
{
	uint32_t pos[TSV_POS];
	int64_t ts = 0;
	int has_ts = 0, high, special;

	if (!r->tsv || len == 0 || line[0] == '#' ||
	    !(r->format == LOGS_FMT_ZEEK_TSV ||
	      (r->format == LOGS_FMT_AUTO && line[0] != '{')))
		return 0;
	size_t nsep = tsv_split(line, len, r->sep, r->set_sep, r->want_seps, pos,
				&high, &special);
	if (high && !logs_utf8_ok((const unsigned char *)line, len)) {
		r->stats.bad_utf8++;
		logs_report(r, "line is not valid UTF-8, skipped");
		return 1;
	}
	if (nsep + 1 != (size_t)r->nfields) {
		r->stats.bad_tsv++;
		logs_report(r, "Zeek line with a field count other than #fields");
		return 1;
	}
	/* the plan (from col[] alone) says which columns to read, so a reader
	 * whose header state was copied from another works the same */
	if (r->lazy_time && r->ts_first) {
		r->now.file = r->file;
		r->now.line = r->line;
		r->now.ts_us = 0;
		r->now.has_ts = 0;
		r->now.ts_text = NULL;
		r->now.ts_len = 0;
		r->direct = 1;
	}
	for (int w = 0; w < r->nwant; w++) {
		int n = r->want[w];
		size_t st = n ? pos[n - 1] + 1 : 0;
		size_t en = (size_t)n < nsep ? pos[n] : len;
		char *v = line + st;
		size_t vlen = en - st;
		if (n == r->ts_col) {
			if (r->lazy_time) { /* read if an observable needs it */
				r->ts_text = r->now.ts_text = v;
				r->ts_len = r->now.ts_len = vlen;
			} else {
				has_ts = logs_parse_ts(v, vlen, &ts);
			}
		} else if (special)
			tsv_value(r, r->col[n], v, vlen, col_is_set(r->col[n]));
		else if (vlen && !is_unset(r, v, vlen))
			tsv_plain(r, r->col[n], v, vlen, len - st);
	}
	r->direct = 0;
	if (r->nq)
		logs_flush(r, ts, has_ts);
	return 1;
}

/* ------------------------------------------------------------ dispatch */

void logs_parse_line(logs_reader *r, char *line, size_t len)
{
	if (len == 0)
		return;
	if (r->format != LOGS_FMT_TEXT && line[0] == '#' &&
	    r->format != LOGS_FMT_JSON) {
		tsv_header(r, line, len);
		return;
	}
	if (r->format == LOGS_FMT_JSON ||
	    (r->format == LOGS_FMT_AUTO && line[0] == '{')) {
		int64_t ts = 0;
		int has_ts = 0;
		if (logs_json_line(r, line, len, &ts, &has_ts) < 0) {
			r->nq = 0;
			r->stats.bad_json++;
			logs_report(r, "not a JSON object");
			return;
		}
		logs_flush(r, ts, has_ts);
		return;
	}
	if (r->format == LOGS_FMT_ZEEK_TSV || (r->format == LOGS_FMT_AUTO && r->tsv)) {
		if (!r->tsv) {
			r->stats.bad_tsv++;
			logs_report(r, "Zeek line before a #fields header");
			return;
		}
		logs_tsv_fast(r, line, len);
		return;
	}
	logs_text_line(r, line, len);
	logs_flush(r, 0, 0);
}
