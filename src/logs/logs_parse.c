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
 * column is looked up in the table once, when #fields is read, so a data
 * line costs one pass of memchr over its separators and work only on the
 * columns we take. A data line with a field count other than #fields is
 * counted in bad_tsv and skipped. Values are unescaped in place (\\ and
 * \xHH, Zeek's ASCII writer's escapes), set and vector columns are split on
 * the set separator first, so an escaped separator (\x2c) stays inside its
 * element.
 */
#include <string.h>

#include "logs_int.h"

#define K(n, m, f) {n, sizeof(n) - 1, LOGS_M_##m, LOGS_FIELD_##f}
static const logs_key keys[] = {
	/* Zeek: conn, dns, http, ssl, files, x509 (TSV columns, JSON keys) */
	K("ts", TS, TEXT),
	K("id.orig_h", ADDR, CONN_SRC),
	K("id.resp_h", ADDR, CONN_DST),
	K("query", HOST, DNS_QUERY),
	K("answers", HOST, DNS_ANSWER),
	K("host", HOST, HTTP_HOST),
	K("uri", URI, HTTP_URI),
	K("user_agent", UA, HTTP_UA),
	K("server_name", HOST, TLS_SNI),
	K("cert_chain_fps", HASH, TLS_CERT),
	K("client_cert_chain_fps", HASH, TLS_CERT),
	K("tx_hosts", ADDR, CONN_SRC),
	K("rx_hosts", ADDR, CONN_DST),
	K("md5", HASH, FILE_HASH),
	K("sha1", HASH, FILE_HASH),
	K("sha256", HASH, FILE_HASH),
	K("fingerprint", HASH, TLS_CERT),
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
	K("http.hostname", HOST, HTTP_HOST),
	K("http.url", URI, HTTP_URI),
	K("http.http_user_agent", UA, HTTP_UA),
	K("tls.sni", HOST, TLS_SNI),
	K("tls.subject", SUBJECT, X509_SUBJECT),
	K("fileinfo.md5", HASH, FILE_HASH),
	K("fileinfo.sha1", HASH, FILE_HASH),
	K("fileinfo.sha256", HASH, FILE_HASH),
};
#undef K

int logs_key_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].len == len && memcmp(keys[i].name, name, len) == 0)
			return (int)i;
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
	}
	/* #path, #types, #open, #close: nothing to keep */
}

static void tsv_value(logs_reader *r, int key, char *v, size_t len, int set)
{
	if ((len == r->unset_len && memcmp(v, r->unset, len) == 0) ||
	    (len == r->empty_len && memcmp(v, r->empty, len) == 0))
		return;
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

static void tsv_line(logs_reader *r, char *line, size_t len)
{
	int n = 0;
	int64_t ts = 0;
	int has_ts = 0;
	for (size_t i = 0; i <= len; n++) {
		char *e = memchr(line + i, r->sep, len - i);
		size_t fl = e ? (size_t)(e - (line + i)) : len - i;
		if (n < LOGS_TSV_MAX_FIELDS && n < r->nfields && r->col[n] >= 0) {
			if (n == r->ts_col)
				has_ts = logs_parse_ts(line + i, fl, &ts);
			else
				tsv_value(r, r->col[n], line + i, fl,
					  keys[r->col[n]].mode != LOGS_M_UA &&
						  keys[r->col[n]].mode != LOGS_M_URI &&
						  keys[r->col[n]].mode != LOGS_M_SUBJECT);
		}
		if (!e) {
			n++;
			break;
		}
		i += fl + 1;
	}
	if (n != r->nfields) {
		r->nq = 0;
		r->stats.bad_tsv++;
		logs_report(r, "Zeek line with a field count other than #fields");
		return;
	}
	logs_flush(r, ts, has_ts);
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
		tsv_line(r, line, len);
		return;
	}
	logs_text_line(r, line, len);
	logs_flush(r, 0, 0);
}
