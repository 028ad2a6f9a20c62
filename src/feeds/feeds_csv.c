/*
 * feeds_csv.c: CSV feeds through a column mapping.
 *
 * Records follow RFC 4180: fields split by the delimiter, a field in
 * double quotes may hold the delimiter, line breaks and "" for a quote;
 * records end at LF or CRLF outside quotes. Real feeds bend the RFC, so a
 * quote inside an unquoted field is kept as text, and blanks around a
 * field are trimmed. A record whose first character (after blanks) is '#'
 * is a comment; empty records are skipped.
 *
 * The mapping names the column of the value (and optionally of a name and
 * a description) by number (1-based) or by header name; names imply a
 * header row, which is the first record that is not a comment. The value's
 * type is fixed by the mapping or detected per record, after a defanged
 * value ("hxxp://evil[.]example") is refanged (feeds_refang). Each bad record
 * (missing column, empty or bad value, unterminated quote, more than
 * FEEDS_CSV_MAX_FIELDS fields or RK_FEED_MAX_LINE bytes) is rejected as
 * "file:line", the line being where the record starts.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "feeds.h"

#define FEEDS_CSV_MAX_FIELDS 1024

void feeds_csv_opts_init(feeds_csv_opts *o)
{
	memset(o, 0, sizeof *o);
	o->delimiter = ',';
	o->value_col = 1;
	o->type = FEEDS_VNONE;
}

/* One "key=column" pair: a number or a header name. */
static rk_err set_column(const char *key, const char *val, unsigned *col, char *name,
			 feeds_csv_opts *o, rk_errctx *ctx)
{
	char *end;
	unsigned long n = strtoul(val, &end, 10);

	if (!*val)
		return rk_fail(ctx, RK_EINVAL, key, "empty column");
	if (isdigit((unsigned char)*val) && !*end) {
		if (n == 0 || n > FEEDS_CSV_MAX_FIELDS)
			return rk_fail(ctx, RK_EINVAL, key, "column numbers run from 1 to %d",
				       FEEDS_CSV_MAX_FIELDS);
		*col = (unsigned)n;
		name[0] = '\0';
		return RK_OK;
	}
	if (strlen(val) >= FEEDS_CSV_NAME)
		return rk_fail(ctx, RK_EINVAL, key, "column name too long");
	strcpy(name, val);
	*col = 0;
	o->header = true;
	return RK_OK;
}

rk_err feeds_csv_opts_parse(const char *spec, feeds_csv_opts *o, rk_errctx *ctx)
{
	char *copy = strdup(spec), *save = NULL, *tok;
	rk_err err = RK_OK;

	if (!copy)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq) {
			err = rk_fail(ctx, RK_EINVAL, tok, "expected KEY=COLUMN");
			break;
		}
		*eq = '\0';
		const char *key = tok, *val = eq + 1;
		if (strcmp(key, "value") == 0)
			err = set_column(key, val, &o->value_col, o->value_name, o, ctx);
		else if (strcmp(key, "name") == 0)
			err = set_column(key, val, &o->name_col, o->name_name, o, ctx);
		else if (strcmp(key, "description") == 0)
			err = set_column(key, val, &o->description_col, o->description_name, o, ctx);
		else if (strcmp(key, "type") == 0) {
			if (strcmp(val, "auto") == 0)
				o->type = FEEDS_VNONE;
			else if ((o->type = feeds_vtype_parse(val)) == FEEDS_VNONE)
				err = rk_fail(ctx, RK_EINVAL, key, "unknown value type '%s'", val);
		} else
			err = rk_fail(ctx, RK_EINVAL, key,
				      "unknown key (value, type, name, description)");
	}
	free(copy);
	return err;
}

typedef struct record {
	rk_buf text;                            /* fields, NUL-separated */
	size_t start[FEEDS_CSV_MAX_FIELDS];
	size_t n;
	bool too_many, unterminated;
} record;

/* Reads one record from data[*off..len); *lines counts line breaks
 * passed. */
static rk_err read_record(record *r, const char *data, size_t len, size_t *off, size_t *lines,
			  char delim)
{
	size_t i = *off;
	bool quoted = false, in_quotes = false, field_start = true;

	rk_buf_reset(&r->text);
	r->n = 0;
	r->too_many = r->unterminated = false;
	r->start[r->n++] = 0;
	for (; i < len; i++) {
		char c = data[i];
		if (in_quotes) {
			if (c == '"') {
				if (i + 1 < len && data[i + 1] == '"') {
					i++;
				} else {
					in_quotes = false;
					continue;
				}
			} else if (c == '\n') {
				(*lines)++;
			}
			if (rk_buf_append(&r->text, &c, 1))
				return RK_ENOMEM;
			continue;
		}
		if (c == '\n')
			break;
		if (c == delim) {
			if (rk_buf_append(&r->text, "", 1))
				return RK_ENOMEM;
			if (r->n == FEEDS_CSV_MAX_FIELDS)
				r->too_many = true;
			else
				r->start[r->n++] = r->text.len;
			field_start = true;
			quoted = false;
			continue;
		}
		if (c == '"' && field_start) {
			in_quotes = quoted = true;
			field_start = false;
			continue;
		}
		if (field_start && (c == ' ' || c == '\t'))
			continue; /* leading blanks */
		field_start = false;
		if (c == '\r' && (i + 1 == len || data[i + 1] == '\n'))
			continue;
		if (rk_buf_append(&r->text, &c, 1))
			return RK_ENOMEM;
	}
	(void)quoted;
	if (in_quotes)
		r->unterminated = true;
	if (rk_buf_append(&r->text, "", 1))
		return RK_ENOMEM;
	*off = i + 1;
	return RK_OK;
}

/* Field k (0-based), trailing blanks trimmed in place. */
static char *field(record *r, size_t k)
{
	char *s = r->text.data + r->start[k];
	size_t l = strlen(s);
	while (l && (s[l - 1] == ' ' || s[l - 1] == '\t'))
		s[--l] = '\0';
	return s;
}

static bool resolve(record *hdr, const char *name, unsigned *col)
{
	if (!name[0])
		return true;
	for (size_t k = 0; k < hdr->n; k++) {
		if (strcasecmp(field(hdr, k), name) == 0) {
			*col = (unsigned)k + 1;
			return true;
		}
	}
	return false;
}

rk_err feeds_parse_csv(feeds_import *imp, const char *file, const char *data, size_t len,
		       const feeds_csv_opts *opts)
{
	record *r = calloc(1, sizeof *r);
	feeds_csv_opts o = *opts;
	bool need_header = o.header;
	size_t off = 0, lines = 0;
	char where[RK_ERRCTX_PATH], value[FEEDS_VALUE_MAX];
	rk_err err = RK_OK;

	if (!r)
		return RK_ENOMEM;
	rk_buf_init(&r->text);
	while (off < len) {
		size_t first_line = lines + 1, start = off;
		if ((err = read_record(r, data, len, &off, &lines, o.delimiter)))
			break;
		lines++;
		snprintf(where, sizeof where, "%s:%zu", file, first_line);
		if (off - start > RK_FEED_MAX_LINE + 1) {
			if ((err = feeds_import_reject(imp, where, "record longer than %d bytes",
						       RK_FEED_MAX_LINE)))
				break;
			continue;
		}
		char *f0 = field(r, 0);
		if (r->n == 1 && !*f0 && !r->unterminated)
			continue; /* empty record */
		if (*f0 == '#')
			continue;
		if (memchr(data + start, '\0', (off > len ? len : off) - start)) {
			if ((err = feeds_import_reject(imp, where, "NUL byte in record")))
				break;
			continue;
		}
		if (need_header) {
			need_header = false;
			if (!resolve(r, o.value_name, &o.value_col) ||
			    !resolve(r, o.name_name, &o.name_col) ||
			    !resolve(r, o.description_name, &o.description_col)) {
				err = feeds_import_reject(imp, where,
							  "header lacks a column the mapping names");
				break;
			}
			continue;
		}
		if (r->unterminated) {
			err = feeds_import_reject(imp, where, "quoted field not terminated");
			break; /* it ran to the end of the file */
		}
		if (r->too_many) {
			if ((err = feeds_import_reject(imp, where, "more than %d fields",
						       FEEDS_CSV_MAX_FIELDS)))
				break;
			continue;
		}
		if (o.value_col > r->n) {
			if ((err = feeds_import_reject(imp, where, "no column %u (the record has %zu)",
						       o.value_col, r->n)))
				break;
			continue;
		}
		const char *v = field(r, o.value_col - 1), *why = NULL;
		bool refanged = false;
		feeds_vtype t = FEEDS_VNONE;
		if (!*v)
			err = feeds_import_reject(imp, where, "empty value in column %u", o.value_col);
		else if ((t = feeds_value_refang_parse(o.type, v, strlen(v), value, &why,
						       &refanged)) == FEEDS_VNONE)
			err = feeds_import_reject(imp, where, "column %u: %s: \"%.64s\"", o.value_col, why, v);
		else {
			feeds_item it = {
				.where = where,
				.type = t,
				.value = value,
				.type2 = FEEDS_VNONE,
				.name = o.name_col && o.name_col <= r->n ? field(r, o.name_col - 1) : NULL,
				.description = o.description_col && o.description_col <= r->n
						       ? field(r, o.description_col - 1)
						       : NULL,
				.refanged = refanged,
			};
			err = feeds_import_item(imp, &it);
		}
		if (err)
			break;
	}
	if (!err && need_header && o.header && (o.value_name[0] || o.name_name[0] || o.description_name[0]))
		err = feeds_import_reject(imp, file, "no header row");
	rk_buf_cleanup(&r->text);
	free(r);
	return err;
}
