/*
 * export_set.c: the indicators an export holds and the values their
 * patterns name, normalised once for every writer.
 *
 * A value reaches a writer only after export_value_normalise accepted it
 * for its kind; the rules are strict on purpose (a domain is LDH labels
 * plus '_', a URL printable ASCII without blanks or quotes, an address what
 * inet_pton reads), because the writers put values into zone files, rule
 * files and firewall sets where one odd byte breaks the whole file or
 * changes its meaning. Anything else is counted in `invalid` and left out.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"

rk_err export_set_init(export_set *s, const char *org)
{
	memset(s, 0, sizeof *s);
	if (org && !(s->org = strdup(org)))
		return RK_ENOMEM;
	return RK_OK;
}

void export_set_cleanup(export_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_ind; i++) {
		free(s->ind[i].id);
		free(s->ind[i].name);
		json_decref(s->ind[i].stix);
	}
	for (size_t i = 0; i < s->n_val; i++)
		free(s->val[i].value);
	free(s->ind);
	free(s->val);
	free(s->org);
	memset(s, 0, sizeof *s);
}

/* ---------------------------------------------------------------- values */

/* "a.b/n" or "a.b": the canonical address, host bits cleared, "/n" only
 * when shorter than the address. */
static bool norm_ip(int af, const char *v, size_t len, char *out, size_t outlen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	unsigned char a[16];
	unsigned bits = af == AF_INET ? 32 : 128, prefix = bits;

	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, v, len);
	buf[len] = '\0';
	char *slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		const char *p = slash + 1;
		if (!*p || strlen(p) > 3)
			return false;
		prefix = 0;
		for (; *p; p++) {
			if (!isdigit((unsigned char)*p))
				return false;
			prefix = prefix * 10 + (unsigned)(*p - '0');
		}
		if (prefix > bits)
			return false;
	}
	if (inet_pton(af, buf, a) != 1)
		return false;
	for (unsigned i = prefix; i < bits; i++)
		a[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
	char addr[INET6_ADDRSTRLEN];
	if (!inet_ntop(af, a, addr, sizeof addr))
		return false;
	int n = prefix == bits ? snprintf(out, outlen, "%s", addr)
			       : snprintf(out, outlen, "%s/%u", addr, prefix);
	return n > 0 && (size_t)n < outlen;
}

/* Host names as DNS carries them: labels of letters, digits, '-' and '_'
 * (service labels), 1 to 63 bytes, not starting or ending with '-'; at most
 * EXPORT_DOMAIN_MAX in all so that "*." plus the zone's origin still fits
 * a DNS name (255). One final '.' is dropped; letters are lower-cased. */
#define EXPORT_DOMAIN_MAX 240
static bool norm_domain(const char *v, size_t len, char *out, size_t outlen)
{
	if (len && v[len - 1] == '.')
		len--;
	if (len == 0 || len > EXPORT_DOMAIN_MAX || len >= outlen)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '.') {
			if (label == 0 || out[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum(c) || c == '_' || (c == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
		out[i] = (char)tolower(c);
	}
	if (label == 0 || out[len - 1] == '-')
		return false;
	out[len] = '\0';
	return true;
}

/* Printable ASCII without blanks, quotes, backslashes, commas or
 * semicolons: what every list format takes unquoted. */
static bool plain_text(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\'' || c == '\\' || c == ',' ||
		    c == ';' || c == '{' || c == '}')
			return false;
	}
	return len > 0;
}

static bool norm_url(const char *v, size_t len, char *out, size_t outlen)
{
	const char *sep = len > 3 ? strstr(v, "://") : NULL;
	if (len >= outlen || len > 2048 || !plain_text(v, len) || !sep || sep == v ||
	    (size_t)(sep - v) + 3 >= len)
		return false;
	for (const char *p = v; p < sep; p++)
		if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.')
			return false;
	memcpy(out, v, len);
	out[len] = '\0';
	return true;
}

static bool norm_email(const char *v, size_t len, char *out, size_t outlen)
{
	const char *at = memchr(v, '@', len);
	if (len >= outlen || len > 254 || !plain_text(v, len) || !at || at == v ||
	    memchr(at + 1, '@', len - (size_t)(at - v) - 1))
		return false;
	char dom[256];
	size_t local = (size_t)(at - v);
	if (!norm_domain(at + 1, len - local - 1, dom, sizeof dom))
		return false;
	int n = snprintf(out, outlen, "%.*s@%s", (int)local, v, dom);
	return n > 0 && (size_t)n < outlen;
}

static bool norm_hash(const char *v, size_t len, size_t want, char *out, size_t outlen)
{
	if (len != want || len >= outlen)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)v[i]))
			return false;
		out[i] = (char)tolower((unsigned char)v[i]);
	}
	out[len] = '\0';
	return true;
}

bool export_value_normalise(pattern_vkind kind, const char *value, size_t len, char *out,
			    size_t outlen)
{
	if (!value || memchr(value, '\0', len))
		return false;
	switch (kind) {
	case PATTERN_V_IPV4:
		return norm_ip(AF_INET, value, len, out, outlen);
	case PATTERN_V_IPV6:
		return norm_ip(AF_INET6, value, len, out, outlen);
	case PATTERN_V_DOMAIN:
		return norm_domain(value, len, out, outlen);
	case PATTERN_V_URL:
		return norm_url(value, len, out, outlen);
	case PATTERN_V_EMAIL:
		return norm_email(value, len, out, outlen);
	case PATTERN_V_MD5:
		return norm_hash(value, len, 32, out, outlen);
	case PATTERN_V_SHA1:
		return norm_hash(value, len, 40, out, outlen);
	case PATTERN_V_SHA256:
		return norm_hash(value, len, 64, out, outlen);
	case PATTERN_V_SHA512:
		return norm_hash(value, len, 128, out, outlen);
	case PATTERN_V_X509_SHA1:
		return norm_hash(value, len, 40, out, outlen);
	case PATTERN_V_X509_SHA256:
		return norm_hash(value, len, 64, out, outlen);
	}
	return false;
}

/* ---------------------------------------------------------------- adding */

typedef struct collect {
	export_set *s;
	size_t ind;
	rk_err err;
} collect;

static void take_value(void *arg, pattern_vkind kind, const char *value, size_t len)
{
	collect *c = arg;
	export_set *s = c->s;
	char norm[2304];

	if (c->err)
		return;
	if (!export_value_normalise(kind, value, len, norm, sizeof norm)) {
		s->invalid++;
		return;
	}
	if (s->n_val == s->cap_val) {
		size_t cap = s->cap_val ? s->cap_val * 2 : 64;
		void *v = realloc(s->val, cap * sizeof *s->val);
		if (!v) {
			c->err = RK_ENOMEM;
			return;
		}
		s->val = v;
		s->cap_val = cap;
	}
	char *copy = strdup(norm);
	if (!copy) {
		c->err = RK_ENOMEM;
		return;
	}
	s->val[s->n_val++] = (export_value){.kind = kind, .value = copy, .indicator = c->ind};
	s->sorted = false;
}

/* The properties an export copies; the rest stay on the hub. */
static const char *const kept[] = {
	"type", "spec_version", "id", "created", "modified", "pattern", "pattern_type",
	"pattern_version", "valid_from", "valid_until", "object_marking_refs",
};
/* Kept only without granular markings, which may cover them. */
static const char *const kept_ungranular[] = {"name", "indicator_types"};

rk_err export_set_add(export_set *s, const json_t *indicator, rk_errctx *ctx)
{
	const char *id = json_string_value(json_object_get(indicator, "id"));
	const char *type = json_string_value(json_object_get(indicator, "type"));
	const json_t *ptext = json_object_get(indicator, "pattern");
	const char *text = json_string_value(ptext);
	const char *ptype = json_string_value(json_object_get(indicator, "pattern_type"));
	bool granular = json_object_get(indicator, "granular_markings") != NULL;
	pattern *p = NULL;
	rk_errctx pctx;

	if (!id || !type || strcmp(type, "indicator") != 0)
		return rk_fail(ctx, RK_EINVAL, NULL, "not an indicator");
	rk_errctx_clear(&pctx);
	/* A pattern with a NUL inside (the hub's parser refuses them, but
	 * the set is not only fed from the store) is not exported: a tool
	 * would read less of it than was shared. */
	if (!text || strlen(text) != json_string_length(ptext) ||
	    (ptype && strcmp(ptype, "stix") != 0) ||
	    pattern_compile(text, strlen(text), &p, &pctx) != RK_OK) {
		s->not_exact++;
		return RK_OK;
	}
	if (s->n_ind == s->cap_ind) {
		size_t cap = s->cap_ind ? s->cap_ind * 2 : 32;
		void *v = realloc(s->ind, cap * sizeof *s->ind);
		if (!v) {
			pattern_free(p);
			return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		}
		s->ind = v;
		s->cap_ind = cap;
	}
	collect c = {.s = s, .ind = s->n_ind};
	size_t first_val = s->n_val;
	if (!pattern_exact_values(p, take_value, &c)) {
		pattern_free(p);
		s->not_exact++;
		return RK_OK;
	}
	pattern_free(p);
	export_indicator *e = &s->ind[s->n_ind];
	memset(e, 0, sizeof *e);
	const char *name = granular ? NULL : json_string_value(json_object_get(indicator, "name"));
	const char *mod = json_string_value(json_object_get(indicator, "modified"));
	e->id = strdup(id);
	e->name = strdup(name ? name : "");
	e->stix = json_object();
	if (mod && !rk_time_parse(mod, &e->modified))
		e->modified = 0;
	bool oom = c.err || !e->id || !e->name || !e->stix;
	for (size_t i = 0; !oom && i < RK_ARRAY_LEN(kept); i++) {
		json_t *v = json_object_get(indicator, kept[i]);
		if (v && json_object_set_new(e->stix, kept[i], json_deep_copy(v)))
			oom = true;
	}
	for (size_t i = 0; !oom && !granular && i < RK_ARRAY_LEN(kept_ungranular); i++) {
		json_t *v = json_object_get(indicator, kept_ungranular[i]);
		if (v && json_object_set_new(e->stix, kept_ungranular[i], json_deep_copy(v)))
			oom = true;
	}
	if (oom) {
		free(e->id);
		free(e->name);
		json_decref(e->stix);
		while (s->n_val > first_val)
			free(s->val[--s->n_val].value);
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	}
	s->n_ind++;
	if (e->modified > s->newest)
		s->newest = e->modified;
	return RK_OK;
}

/* ---------------------------------------------------------------- order */

/* Indicators are sorted by id first, so a value's indicator index orders
 * values like the indicator's id does (no global state for qsort: exports
 * run on many request threads at once). */
static int cmp_value(const void *a, const void *b)
{
	const export_value *x = a, *y = b;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	int c = strcmp(x->value, y->value);
	if (c)
		return c;
	return x->indicator < y->indicator ? -1 : x->indicator > y->indicator;
}

typedef struct ranked {
	export_indicator ind;
	size_t old;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
	const ranked *x = a, *y = b;
	return strcmp(x->ind.id, y->ind.id);
}

rk_err export_set_sort(export_set *s)
{
	if (s->sorted)
		return RK_OK;
	if (s->n_ind) {
		ranked *r = malloc(s->n_ind * sizeof *r);
		size_t *where = malloc(s->n_ind * sizeof *where);
		if (!r || !where) {
			free(r);
			free(where);
			return RK_ENOMEM;
		}
		for (size_t i = 0; i < s->n_ind; i++)
			r[i] = (ranked){.ind = s->ind[i], .old = i};
		qsort(r, s->n_ind, sizeof *r, cmp_ranked);
		for (size_t i = 0; i < s->n_ind; i++) {
			s->ind[i] = r[i].ind;
			where[r[i].old] = i;
		}
		for (size_t i = 0; i < s->n_val; i++)
			s->val[i].indicator = where[s->val[i].indicator];
		free(r);
		free(where);
	}
	if (s->n_val)
		qsort(s->val, s->n_val, sizeof *s->val, cmp_value);
	s->sorted = true;
	return RK_OK;
}
