/*
 * fuzz_export.c: libFuzzer harness for the export writers (export module).
 *
 * Exports take objects from the store, which validated them, but the
 * values inside an indicator's pattern are whatever its producer wrote.
 * The input's bytes are a pattern: it is put into an indicator (with a
 * name holding quotes, a tab, a comma and a line break), added to a set
 * together with a fixed indicator (so every file has content), and every
 * writer renders the set. Invariants checked on every file: no NUL byte,
 * every line ended; Zeek lines have four tab-separated fields and only
 * the header starts with '#'; RPZ records
 * are `<name> CNAME .` with a name of DNS host characters only; nftables
 * elements hold address characters only; Suricata lists hold no blank;
 * CSV rows have four fields when read as RFC 4180; MISP and STIX output
 * parse as JSON. A refused pattern adds nothing and is fine.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                      \
	do {                                                                          \
		if (!(c))                                                             \
			abort();                                                      \
	} while (0)

static const char FIXED[] =
	"{\"type\":\"indicator\",\"spec_version\":\"2.1\","
	"\"id\":\"indicator--00000000-0000-4000-8000-000000000001\","
	"\"created\":\"2026-01-01T00:00:00Z\",\"modified\":\"2026-01-01T00:00:00Z\","
	"\"name\":\"fixed\",\"pattern\":\"[domain-name:value = 'fixed.example' OR "
	"ipv4-addr:value = '192.0.2.1']\",\"pattern_type\":\"stix\","
	"\"valid_from\":\"2026-01-01T00:00:00Z\"}";

static bool only(const char *s, size_t n, const char *allowed)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(allowed, s[i]) || !s[i])
			return false;
	return true;
}

/* RFC 4180 fields of one CSV row starting at p (up to CRLF); returns the
 * count and moves *pp past the row. */
static size_t csv_row(const char **pp, const char *end)
{
	const char *p = *pp;
	size_t fields = 1;
	bool quoted = false;
	for (; p < end; p++) {
		if (quoted) {
			if (*p == '"') {
				if (p + 1 < end && p[1] == '"')
					p++;
				else
					quoted = false;
			}
		} else if (*p == '"') {
			quoted = true;
		} else if (*p == ',') {
			fields++;
		} else if (*p == '\r' && p + 1 < end && p[1] == '\n') {
			*pp = p + 2;
			return fields;
		} else {
			CHECK(*p != '\n' && *p != '\r');
		}
	}
	abort(); /* a row without its CRLF */
}

static void check_file(export_format f, const export_file *ef)
{
	const char *s = ef->body.data, *end = s + ef->body.len;
	CHECK(s && strlen(s) == ef->body.len);
	CHECK(ef->body.len == 0 || end[-1] == '\n');
	if (f == EXPORT_MISP || f == EXPORT_STIX) {
		json_error_t jerr;
		json_t *doc = json_loadb(s, ef->body.len, 0, &jerr);
		CHECK(doc);
		json_decref(doc);
		return;
	}
	if (f == EXPORT_CSV) {
		for (const char *p = s; p < end;)
			CHECK(csv_row(&p, end) == 4);
		return;
	}
	for (const char *line = s; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = (size_t)(nl - line);
		CHECK(nl);
		if (f == EXPORT_ZEEK) {
			size_t tabs = 0;
			for (size_t i = 0; i < n; i++) {
				tabs += line[i] == '\t';
				CHECK((unsigned char)line[i] >= 0x20 || line[i] == '\t');
			}
			CHECK(tabs == 4 || (tabs == 3 && line[0] != '#'));
		} else if (f == EXPORT_RPZ && n && line[0] != ';' && line[0] != '$' &&
			   line[0] != '@') {
			CHECK(n > 8 && memcmp(line + n - 8, " CNAME .", 8) == 0);
			CHECK(only(line, n - 8, "abcdefghijklmnopqrstuvwxyz0123456789-_.*"));
		} else if (f == EXPORT_NFTABLES && n && line[0] == '\t' && line[1] != '\t' &&
			   line[1] != 's' && line[1] != '}') {
			size_t m = n - 1 - (line[n - 1] == ',');
			CHECK(only(line + 1, m, "0123456789abcdef.:/"));
		} else if (f == EXPORT_SURICATA && strcmp(ef->name, "renkei.rules") != 0) {
			CHECK(n && only(line, n,
					"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					"0123456789.:+/="));
		} else if (f == EXPORT_PLAIN) {
			CHECK(n && line[0] != '#');
			for (size_t i = 0; i < n; i++)
				CHECK((unsigned char)line[i] > 0x20 && (unsigned char)line[i] < 0x7f);
		}
		line = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	export_set set;
	rk_errctx ctx;
	json_t *fixed = json_loads(FIXED, 0, NULL);
	json_t *ind = json_loads(FIXED, 0, NULL);
	json_t *pat = json_stringn((const char *)data, size);

	CHECK(fixed && ind);
	if (!pat) { /* not UTF-8: no indicator carries it */
		json_decref(fixed);
		json_decref(ind);
		return 0;
	}
	json_object_set_new(ind, "id",
			    json_string("indicator--00000000-0000-4000-8000-000000000002"));
	json_object_set_new(ind, "name", json_string("a \"b\"\tc, d\r\ne"));
	json_object_set_new(ind, "pattern", pat);
	CHECK(export_set_init(&set, size & 1 ? "org" : NULL) == RK_OK);
	rk_errctx_clear(&ctx);
	CHECK(export_set_add(&set, fixed, &ctx) == RK_OK);
	CHECK(export_set_add(&set, ind, &ctx) == RK_OK);
	for (int f = 0; f < EXPORT_N_FORMATS; f++) {
		export_output out;
		export_output_init(&out);
		CHECK(export_render(&set, (export_format)f, &out, &ctx) == RK_OK);
		CHECK(out.n_files >= 1 && strlen(out.etag) == EXPORT_ETAG_BUF - 1);
		for (size_t i = 0; i < out.n_files; i++)
			check_file((export_format)f, &out.files[i]);
		export_output_cleanup(&out);
	}
	export_set_cleanup(&set);
	json_decref(fixed);
	json_decref(ind);
	return 0;
}
