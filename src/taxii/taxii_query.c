/*
 * taxii_query.c: TAXII 2.1 query parameters and paging cursors.
 *
 * Everything after '?' in a TAXII URL is untrusted and is turned here into a
 * taxii_filter (TAXII 2.1 section 3.4: added_after, limit, next, match[id],
 * match[type], match[version], match[spec_version]; match values are
 * comma-separated and OR-ed, different parameters are AND-ed). The parser
 * is strict by design: an unknown parameter, one the endpoint does not take,
 * a repeated scalar, an empty or malformed value is a 400 naming the
 * parameter, never silently ignored, because a filter the server drops
 * quietly returns more data than the client asked for. Section 3.4's rules
 * on repetition are enforced too: every parameter, match fields included,
 * at most once per request; in match[version] no keyword or timestamp
 * twice and "all" alone. A limit above RK_PAGE_MAX is served as
 * RK_PAGE_MAX (the spec lets a server return fewer; `more` says so).
 *
 * Invariants: every value kept was checked (ids and type names by the stix
 * module, timestamps by rk_time_parse); no list exceeds
 * RK_MAX_FILTER_VALUES; the query string is at most RK_MAX_QUERY_BYTES.
 *
 * Cursors: see taxii_int.h. Layout (17 bytes, then base64url):
 *   [0]     format version (1)
 *   [1..8]  seq of the last row returned, big endian
 *   [9..16] BLAKE2b-64 of the canonical filter set and scope
 * The hash is unkeyed on purpose: a cursor is not a capability (policy is
 * applied to every row anyway). The cursor itself is sealed
 * (XChaCha20-Poly1305 under the hub's cursor key, kept in the store so
 * that every hub node shares it): a reader must not learn from two
 * cursors how many rows lie between its pages, rows it may not see among
 * them (docs/confidentiality.md), and a cursor that was not made by the
 * hub is refused before anything else.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "stix.h"
#include "taxii_int.h"

#define CURSOR_VERSION 2
#define CURSOR_PLAIN 16 /* seq, filter hash */
#define CURSOR_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define CURSOR_RAW (1 + CURSOR_NONCE + CURSOR_PLAIN + crypto_aead_xchacha20poly1305_ietf_ABYTES)

void taxii_filter_init(taxii_filter *f)
{
	memset(f, 0, sizeof *f);
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void taxii_filter_cleanup(taxii_filter *f)
{
	if (!f)
		return;
	free(f->next);
	free_list(f->ids, f->n_ids);
	free_list(f->types, f->n_types);
	free_list(f->spec_versions, f->n_spec_versions);
	free(f->v_at);
	memset(f, 0, sizeof *f);
}

/* One row per parameter: name, bit, and whether it takes a list. */
static const struct param_def {
	const char *name;
	unsigned bit;
	bool list;
} params[] = {
	{"added_after", TAXII_P_ADDED_AFTER, false},
	{"limit", TAXII_P_LIMIT, false},
	{"next", TAXII_P_NEXT, false},
	{"match[id]", TAXII_P_MATCH_ID, true},
	{"match[type]", TAXII_P_MATCH_TYPE, true},
	{"match[version]", TAXII_P_MATCH_VERSION, true},
	{"match[spec_version]", TAXII_P_MATCH_SPEC_VERSION, true},
};

static size_t filter_values(const taxii_filter *f)
{
	return f->n_ids + f->n_types + f->n_spec_versions + f->n_v_at +
	       f->v_first + f->v_last + f->v_all;
}

static rk_err push_str(char ***list, size_t *n, const char *v, size_t len)
{
	char **grown = realloc(*list, (*n + 1) * sizeof **list);
	if (!grown)
		return RK_ENOMEM;
	*list = grown;
	char *copy = malloc(len + 1);
	if (!copy)
		return RK_ENOMEM;
	memcpy(copy, v, len);
	copy[len] = '\0';
	grown[(*n)++] = copy;
	return RK_OK;
}

static bool spec_version_valid(const char *v)
{
	/* "2.1", "2.0": digits '.' digits, short. */
	size_t i = 0, len = strlen(v);
	if (len < 3 || len > 8)
		return false;
	while (i < len && v[i] >= '0' && v[i] <= '9')
		i++;
	if (i == 0 || i >= len || v[i] != '.')
		return false;
	size_t dot = i++;
	while (i < len && v[i] >= '0' && v[i] <= '9')
		i++;
	return i == len && i > dot + 1;
}

static rk_err add_one(taxii_filter *f, const struct param_def *p, const char *v,
		      rk_errctx *ctx)
{
	rk_err rc = RK_OK;

	if (filter_values(f) >= RK_MAX_FILTER_VALUES)
		return rk_fail(ctx, RK_EINVAL, p->name,
			       "more than %d filter values", RK_MAX_FILTER_VALUES);
	switch (p->bit) {
	case TAXII_P_MATCH_ID:
		if (strlen(v) > RK_MAX_STIX_ID || !stix_id_valid(v, NULL))
			return rk_fail(ctx, RK_EINVAL, p->name,
				       "'%.80s' is not a STIX identifier", v);
		rc = push_str(&f->ids, &f->n_ids, v, strlen(v));
		break;
	case TAXII_P_MATCH_TYPE:
		if (strlen(v) > RK_MAX_STIX_TYPE || !stix_type_name_valid(v))
			return rk_fail(ctx, RK_EINVAL, p->name,
				       "'%.80s' is not a STIX type name", v);
		rc = push_str(&f->types, &f->n_types, v, strlen(v));
		break;
	case TAXII_P_MATCH_SPEC_VERSION:
		if (!spec_version_valid(v))
			return rk_fail(ctx, RK_EINVAL, p->name,
				       "'%.80s' is not a specification version", v);
		rc = push_str(&f->spec_versions, &f->n_spec_versions, v, strlen(v));
		break;
	case TAXII_P_MATCH_VERSION:
		/* TAXII 2.1 section 3.4.1: no keyword or version twice, and
		 * "all" with nothing else. */
		if (f->v_all || (strcmp(v, "all") == 0 &&
				 (f->v_first || f->v_last || f->n_v_at)))
			return rk_fail(ctx, RK_EINVAL, p->name,
				       "'all' cannot be combined with other versions");
		if (strcmp(v, "first") == 0) {
			if (f->v_first)
				return rk_fail(ctx, RK_EINVAL, p->name, "'first' given twice");
			f->v_first = true;
		} else if (strcmp(v, "last") == 0) {
			if (f->v_last)
				return rk_fail(ctx, RK_EINVAL, p->name, "'last' given twice");
			f->v_last = true;
		} else if (strcmp(v, "all") == 0) {
			f->v_all = true;
		} else {
			rk_time t;
			if (!rk_time_parse(v, &t))
				return rk_fail(ctx, RK_EINVAL, p->name,
					       "'%.80s' is not first, last, all or a timestamp", v);
			for (size_t i = 0; i < f->n_v_at; i++)
				if (f->v_at[i] == t)
					return rk_fail(ctx, RK_EINVAL, p->name,
						       "version '%.80s' given twice", v);
			rk_time *grown = realloc(f->v_at, (f->n_v_at + 1) * sizeof *grown);
			if (!grown)
				return RK_ENOMEM;
			f->v_at = grown;
			grown[f->n_v_at++] = t;
		}
		break;
	default:
		break;
	}
	return rc;
}

/* Errors name the parameter only when it is printable ASCII: the name goes
 * back to the client inside a JSON error. */
static bool name_printable(const char *name)
{
	bool ok = *name && strlen(name) < 64;
	for (const char *c = name; ok && *c; c++)
		ok = *c > 0x20 && *c < 0x7f;
	return ok;
}

rk_err taxii_filter_add(taxii_filter *f, unsigned allowed, const char *name,
			const char *value, rk_errctx *ctx)
{
	const struct param_def *p = NULL;
	for (size_t i = 0; i < RK_ARRAY_LEN(params); i++) {
		if (strcmp(params[i].name, name) == 0) {
			p = &params[i];
			break;
		}
	}
	if (!p) {
		if (!name_printable(name))
			return rk_fail(ctx, RK_EINVAL, "query",
				       "empty or unprintable parameter name");
		return rk_fail(ctx, RK_EINVAL, name, "unknown query parameter");
	}
	if (!(allowed & p->bit))
		return rk_fail(ctx, RK_EINVAL, name,
			       "query parameter not supported by this endpoint");
	if (!value || !*value)
		return rk_fail(ctx, RK_EINVAL, name, "empty value");
	/* Section 3.4: added_after, limit and next are single; each match
	 * field MUST NOT occur more than once (its values are one list). */
	if (f->seen & p->bit)
		return rk_fail(ctx, RK_EINVAL, name, "parameter given twice");
	f->seen |= p->bit;

	switch (p->bit) {
	case TAXII_P_ADDED_AFTER:
		if (!rk_time_parse(value, &f->added_after))
			return rk_fail(ctx, RK_EINVAL, name,
				       "'%.80s' is not an RFC 3339 timestamp", value);
		f->has_added_after = true;
		return RK_OK;
	case TAXII_P_LIMIT: {
		size_t n = 0;
		for (const char *c = value; *c; c++) {
			if (*c < '0' || *c > '9')
				return rk_fail(ctx, RK_EINVAL, name,
					       "'%.80s' is not a positive integer", value);
			if (n <= RK_PAGE_MAX) /* saturates: any larger value is capped */
				n = n * 10 + (size_t)(*c - '0');
		}
		if (n == 0)
			return rk_fail(ctx, RK_EINVAL, name, "must be at least 1");
		/* TAXII 2.1 section 3.4: a server may return fewer objects than
		 * the client asked for; `more` and `next` then say so. */
		f->limit = n > RK_PAGE_MAX ? RK_PAGE_MAX : n;
		return RK_OK;
	}
	case TAXII_P_NEXT:
		if (strlen(value) > RK_MAX_CURSOR_BYTES)
			return rk_fail(ctx, RK_EINVAL, name, "cursor too long");
		f->next = strdup(value);
		return f->next ? RK_OK : RK_ENOMEM;
	default:
		break;
	}

	/* A comma-separated list; every element must be non-empty. */
	const char *s = value;
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		char one[RK_MAX_STIX_ID + 2];
		if (len == 0)
			return rk_fail(ctx, RK_EINVAL, name, "empty value in list");
		if (len >= sizeof one)
			return rk_fail(ctx, RK_EINVAL, name, "value too long");
		memcpy(one, s, len);
		one[len] = '\0';
		rk_err rc = add_one(f, p, one, ctx);
		if (rc)
			return rc;
		if (!comma)
			break;
		s = comma + 1;
	}
	return RK_OK;
}

bool taxii_url_decode(char *s, size_t *len)
{
	size_t o = 0;
	for (size_t i = 0; i < *len; i++) {
		char c = s[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= *len)
				return false;
			hi = rk_hex_value(s[i + 1]);
			lo = rk_hex_value(s[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == '\0')
			return false;
		s[o++] = c;
	}
	s[o] = '\0';
	*len = o;
	return true;
}

rk_err taxii_query_parse(taxii_filter *f, unsigned allowed, const char *query,
			 size_t len, rk_errctx *ctx)
{
	rk_err rc = RK_OK;
	char *copy = NULL;

	if (len > RK_MAX_QUERY_BYTES)
		return rk_fail(ctx, RK_EINVAL, "query", "query string longer than %d bytes",
			       RK_MAX_QUERY_BYTES);
	if (len == 0)
		return RK_OK;
	if (memchr(query, '\0', len))
		return rk_fail(ctx, RK_EINVAL, "query", "NUL byte in the query string");
	copy = malloc(len + 1);
	if (!copy)
		return RK_ENOMEM;
	memcpy(copy, query, len);
	copy[len] = '\0';

	char *p = copy, *end = copy + len;
	while (p <= end) {
		char *amp = memchr(p, '&', (size_t)(end - p));
		char *stop = amp ? amp : end;
		*stop = '\0';
		if (stop == p) {
			/* "a=1&&b=2" or a trailing '&': tolerated as empty pairs */
			p = stop + 1;
			continue;
		}
		char *eq = memchr(p, '=', (size_t)(stop - p));
		char *name = p, *value = NULL;
		size_t nlen, vlen = 0;
		if (eq) {
			*eq = '\0';
			value = eq + 1;
			vlen = (size_t)(stop - value);
		}
		nlen = strlen(name);
		if (!taxii_url_decode(name, &nlen)) {
			rc = rk_fail(ctx, RK_EINVAL, "query", "bad percent-encoding in a parameter name");
			goto out;
		}
		if (value && !taxii_url_decode(value, &vlen)) {
			rc = rk_fail(ctx, RK_EINVAL, name_printable(name) ? name : "query",
				     "bad percent-encoding in value");
			goto out;
		}
		rc = taxii_filter_add(f, allowed, name, value, ctx);
		if (rc)
			goto out;
		if (!amp)
			break;
		p = amp + 1;
	}
out:
	free(copy);
	return rc;
}

/* ---------------------------------------------------------------- cursor */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_time(const void *a, const void *b)
{
	rk_time x = *(const rk_time *)a, y = *(const rk_time *)b;
	return (x > y) - (x < y);
}

static void hash_list(crypto_generichash_state *h, const char *tag, char **v, size_t n)
{
	/* Sorted so that "a,b" and "b,a" (same meaning) hash alike. Small n;
	 * a stack copy of the pointers avoids touching the filter. */
	const char *sorted[RK_MAX_FILTER_VALUES];
	if (n > RK_MAX_FILTER_VALUES)
		n = RK_MAX_FILTER_VALUES;
	if (n == 0)
		return;
	memcpy(sorted, v, n * sizeof *v);
	qsort(sorted, n, sizeof *sorted, cmp_str);
	crypto_generichash_update(h, (const unsigned char *)tag, strlen(tag) + 1);
	for (size_t i = 0; i < n; i++) {
		if (i && strcmp(sorted[i], sorted[i - 1]) == 0)
			continue;
		crypto_generichash_update(h, (const unsigned char *)sorted[i],
					  strlen(sorted[i]) + 1);
	}
}

void taxii_filter_hash(const taxii_filter *f, const char *scope, unsigned char out[8])
{
	crypto_generichash_state h;
	unsigned char full[16];
	unsigned char buf[16];

	crypto_generichash_init(&h, NULL, 0, sizeof full);
	crypto_generichash_update(&h, (const unsigned char *)scope, strlen(scope) + 1);
	if (f->has_added_after) {
		uint64_t t = (uint64_t)f->added_after;
		for (int i = 0; i < 8; i++)
			buf[i] = (unsigned char)(t >> (56 - 8 * i));
		crypto_generichash_update(&h, (const unsigned char *)"aa", 3);
		crypto_generichash_update(&h, buf, 8);
	}
	hash_list(&h, "id", f->ids, f->n_ids);
	hash_list(&h, "type", f->types, f->n_types);
	hash_list(&h, "spec", f->spec_versions, f->n_spec_versions);
	buf[0] = (unsigned char)(f->v_first | f->v_last << 1 | f->v_all << 2);
	crypto_generichash_update(&h, (const unsigned char *)"ver", 4);
	crypto_generichash_update(&h, buf, 1);
	if (f->n_v_at) {
		rk_time sorted[RK_MAX_FILTER_VALUES];
		size_t n = f->n_v_at > RK_MAX_FILTER_VALUES ? RK_MAX_FILTER_VALUES : f->n_v_at;
		memcpy(sorted, f->v_at, n * sizeof *sorted);
		qsort(sorted, n, sizeof *sorted, cmp_time);
		for (size_t i = 0; i < n; i++) {
			if (i && sorted[i] == sorted[i - 1])
				continue;
			uint64_t t = (uint64_t)sorted[i];
			for (int k = 0; k < 8; k++)
				buf[k] = (unsigned char)(t >> (56 - 8 * k));
			crypto_generichash_update(&h, buf, 8);
		}
	}
	crypto_generichash_final(&h, full, sizeof full);
	memcpy(out, full, 8);
}

_Static_assert(TAXII_CURSOR_KEY == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
	       "cursor key size");

rk_err taxii_cursor_encode(const unsigned char key[TAXII_CURSOR_KEY], uint64_t seq,
			   const unsigned char hash[8], char **out)
{
	unsigned char raw[CURSOR_RAW], plain[CURSOR_PLAIN];
	unsigned long long clen = 0;

	for (int i = 0; i < 8; i++)
		plain[i] = (unsigned char)(seq >> (56 - 8 * i));
	memcpy(plain + 8, hash, 8);
	raw[0] = CURSOR_VERSION;
	randombytes_buf(raw + 1, CURSOR_NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(raw + 1 + CURSOR_NONCE, &clen, plain,
						   sizeof plain, raw, 1, NULL, raw + 1, key);
	sodium_memzero(plain, sizeof plain);
	return rk_b64url_encode(raw, sizeof raw, out);
}

rk_err taxii_cursor_decode(const unsigned char key[TAXII_CURSOR_KEY], const char *cursor,
			   const unsigned char hash[8], uint64_t *seq, rk_errctx *ctx)
{
	unsigned char *raw = NULL, plain[CURSOR_PLAIN];
	unsigned long long plen = 0;
	size_t rawlen = 0;
	rk_err rc = RK_OK;
	size_t len = strlen(cursor);

	if (len > RK_MAX_CURSOR_BYTES ||
	    rk_b64url_decode(cursor, len, &raw, &rawlen) != RK_OK ||
	    rawlen != CURSOR_RAW || raw[0] != CURSOR_VERSION ||
	    crypto_aead_xchacha20poly1305_ietf_decrypt(
		    plain, &plen, NULL, raw + 1 + CURSOR_NONCE, CURSOR_RAW - 1 - CURSOR_NONCE,
		    raw, 1, raw + 1, key) != 0 ||
	    plen != CURSOR_PLAIN) {
		rc = rk_fail(ctx, RK_EINVAL, "next", "not a cursor this server issued");
		goto out;
	}
	if (memcmp(plain + 8, hash, 8) != 0) {
		rc = rk_fail(ctx, RK_EINVAL, "next",
			     "cursor was issued for a different resource or filter set");
		goto out;
	}
	*seq = 0;
	for (int i = 0; i < 8; i++)
		*seq = *seq << 8 | plain[i];
out:
	sodium_memzero(plain, sizeof plain);
	free(raw);
	return rc;
}

void taxii_filter_to_query(const taxii_filter *f, store_query *q,
			   bool default_all_versions)
{
	q->has_added_after = f->has_added_after;
	q->added_after = f->added_after;
	q->ids = (const char *const *)f->ids;
	q->n_ids = f->n_ids;
	q->types = (const char *const *)f->types;
	q->n_types = f->n_types;
	q->spec_versions = (const char *const *)f->spec_versions;
	q->n_spec_versions = f->n_spec_versions;
	q->version.first = f->v_first;
	q->version.last = f->v_last;
	q->version.all = f->v_all;
	q->version.at = f->v_at;
	q->version.n_at = f->n_v_at;
	if (!f->v_first && !f->v_last && !f->v_all && !f->n_v_at) {
		/* TAXII 2.1 section 3.4.2: the default is "last", except for
		 * the versions endpoint, which lists all. */
		if (default_all_versions)
			q->version.all = true;
		else
			q->version.last = true;
	}
	q->limit = f->limit ? f->limit : RK_PAGE_DEFAULT;
}
