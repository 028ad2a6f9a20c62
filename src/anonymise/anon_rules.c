/*
 * anon_rules.c: the hub's anonymisation rules file (hub option
 * `anonymise-rules`), parsed once at start; a file with any bad line is
 * refused whole, with file:line and the reason, so a hub never runs with
 * half its rules.
 *
 *     # comment
 *     pattern scrub  employee-id  \bEMP-[0-9]{6}\b
 *     pattern review ticket       (?i)ticket\s*#\d+
 *     owned   acme   range        203.0.113.0/24
 *     owned   acme   domain       acme.example
 *     owned   acme   asn          AS64500
 *
 * Words are separated by spaces or tabs; a pattern's REGEX is the rest of
 * the line after its name (leading blanks skipped, trailing blanks kept out),
 * compiled by PCRE2 with UTF and UCP; rule names are [a-z0-9-]{1,32} and
 * unique. `owned` lines give an organisation's address blocks and domains
 * for the built-in owned-address and owned-domain rules, next to what the
 * asset registry says (and where it is not available). Bounds: lines of
 * RK_MAX_CONFIG_LINE bytes, RK_ANON_MAX_RULES lines that are rules.
 */
#include <stdlib.h>
#include <string.h>

#include "anon_int.h"

void anon_rules_free(anon_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_patterns; i++) {
		free(r->patterns[i].name);
		free(r->patterns[i].replacement);
		pcre2_code_free(r->patterns[i].re);
	}
	for (size_t i = 0; i < r->n_owned; i++) {
		free(r->owned[i].org);
		free(r->owned[i].value);
	}
	free(r->patterns);
	free(r->owned);
	free(r);
}

rk_err anon_rules_empty(anon_rules **out, rk_errctx *ctx)
{
	*out = calloc(1, sizeof **out);
	return *out ? RK_OK : rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
}

size_t anon_rules_count(const anon_rules *r)
{
	return r ? r->n_patterns : 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The next word of *p (advancing past it), NUL-terminated in place. */
static char *next_word(char **p)
{
	char *s = *p;
	while (is_blank(*s))
		s++;
	if (!*s)
		return NULL;
	char *w = s;
	while (*s && !is_blank(*s))
		s++;
	if (*s)
		*s++ = '\0';
	*p = s;
	return w;
}

static bool name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (!n || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

static rk_err line_error(rk_errctx *ctx, rk_err code, const char *name, unsigned line,
			 const char *why)
{
	char where[RK_ERRCTX_PATH];
	snprintf(where, sizeof where, "%s:%u", name, line);
	return rk_fail(ctx, code, where, "%s", why);
}

static rk_err parse_pattern(anon_rules *r, char *rest, const char *file, unsigned line,
			    rk_errctx *ctx)
{
	char why[RK_ERRCTX_MSG];
	char *act = next_word(&rest), *name = act ? next_word(&rest) : NULL;
	anon_action action;

	if (!act || (strcmp(act, "scrub") && strcmp(act, "review")))
		return line_error(ctx, RK_EINVAL, file, line,
				  "a pattern rule is 'pattern scrub|review NAME REGEX'");
	action = strcmp(act, "scrub") == 0 ? ANON_ACT_SCRUB : ANON_ACT_REVIEW;
	if (!name || !name_ok(name, 32))
		return line_error(ctx, RK_EINVAL, file, line,
				  "a rule name is 1 to 32 of a-z, 0-9, '-' and '_'");
	for (size_t i = 0; i < r->n_patterns; i++)
		if (strcmp(r->patterns[i].name, name) == 0) {
			snprintf(why, sizeof why, "rule '%s' is already defined at line %u", name,
				 r->patterns[i].line);
			return line_error(ctx, RK_EINVAL, file, line, why);
		}
	while (is_blank(*rest))
		rest++;
	size_t len = strlen(rest);
	while (len && is_blank(rest[len - 1]))
		rest[--len] = '\0';
	if (!len)
		return line_error(ctx, RK_EINVAL, file, line, "the rule has no pattern");

	int errcode;
	PCRE2_SIZE erroff;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)rest, len, PCRE2_UTF | PCRE2_UCP, &errcode,
				       &erroff, NULL);
	if (!re) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(errcode, msg, sizeof msg);
		snprintf(why, sizeof why, "pattern error at offset %zu: %s", (size_t)erroff,
			 (const char *)msg);
		return line_error(ctx, RK_EINVAL, file, line, why);
	}
	/* A pattern that matches the empty string would redact between
	 * every character: refuse it. */
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	int rc = md ? pcre2_match(re, (PCRE2_SPTR) "", 0, 0, 0, md, NULL) : PCRE2_ERROR_NOMEMORY;
	pcre2_match_data_free(md);
	if (rc >= 0) {
		pcre2_code_free(re);
		return line_error(ctx, RK_EINVAL, file, line,
				  "the pattern matches the empty string");
	}
	anon_pattern *v = realloc(r->patterns, (r->n_patterns + 1) * sizeof *v);
	if (!v) {
		pcre2_code_free(re);
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	}
	r->patterns = v;
	anon_pattern *p = &v[r->n_patterns];
	memset(p, 0, sizeof *p);
	p->re = re;
	p->action = action;
	p->line = line;
	p->name = strdup(name);
	p->replacement = malloc(strlen(name) + 12);
	r->n_patterns++; /* freed with the rules whatever happens next */
	if (!p->name || !p->replacement)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	sprintf(p->replacement, "[redacted:%s]", name);
	return RK_OK;
}

static rk_err parse_owned(anon_rules *r, char *rest, const char *file, unsigned line,
			  rk_errctx *ctx)
{
	char *org = next_word(&rest), *kind = org ? next_word(&rest) : NULL;
	char *value = kind ? next_word(&rest) : NULL;
	anon_assets check;
	rk_errctx vctx;
	rk_err rc;

	if (!org || !kind || !value || next_word(&rest) ||
	    (strcmp(kind, "range") && strcmp(kind, "domain") && strcmp(kind, "asn")))
		return line_error(ctx, RK_EINVAL, file, line,
				  "an owned entry is 'owned ORG range CIDR', 'owned ORG domain "
				  "DOMAIN' or 'owned ORG asn ASN'");
	if (!name_ok(org, RK_MAX_NAME - 1))
		return line_error(ctx, RK_EINVAL, file, line,
				  "an organisation is named by its directory id (a-z, 0-9, '-', '_')");
	anon_assets_init(&check);
	rk_errctx_clear(&vctx);
	rc = !strcmp(kind, "range")    ? anon_assets_add_cidr(&check, value, &vctx)
	     : !strcmp(kind, "domain") ? anon_assets_add_domain(&check, value, &vctx)
				       : anon_assets_add_asn(&check, value, &vctx);
	anon_assets_cleanup(&check);
	if (rc)
		return line_error(ctx, rc, file, line, vctx.msg);
	anon_owned *v = realloc(r->owned, (r->n_owned + 1) * sizeof *v);
	if (!v)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	r->owned = v;
	anon_owned *o = &v[r->n_owned++];
	o->kind = !strcmp(kind, "range") ? 0 : !strcmp(kind, "domain") ? 1 : 2;
	o->org = strdup(org);
	o->value = strdup(value);
	if (!o->org || !o->value)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	return RK_OK;
}

rk_err anon_rules_parse(const char *text, size_t len, const char *name, anon_rules **out,
			rk_errctx *ctx)
{
	anon_rules *r = NULL;
	char *line = NULL;
	unsigned lineno = 0;
	size_t pos = 0;
	rk_err rc;

	*out = NULL;
	if ((rc = anon_rules_empty(&r, ctx)))
		return rc;
	line = malloc(RK_MAX_CONFIG_LINE + 1);
	if (!line) {
		rc = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
		size_t at = pos;
		lineno++;
		pos += ll + (nl ? 1 : 0);
		if (ll && text[at + ll - 1] == '\r')
			ll--;
		if (ll > RK_MAX_CONFIG_LINE) {
			char why[96];
			snprintf(why, sizeof why, "line longer than %d bytes", RK_MAX_CONFIG_LINE);
			rc = line_error(ctx, RK_ETOOBIG, name, lineno, why);
			goto out;
		}
		if (memchr(text + at, '\0', ll)) {
			rc = line_error(ctx, RK_EINVAL, name, lineno, "a NUL byte in the line");
			goto out;
		}
		memcpy(line, text + at, ll);
		line[ll] = '\0';
		char *rest = line, *kw = next_word(&rest);
		if (!kw || kw[0] == '#')
			continue;
		if (r->n_patterns + r->n_owned >= RK_ANON_MAX_RULES) {
			char why[96];
			snprintf(why, sizeof why, "more than %d rules", RK_ANON_MAX_RULES);
			rc = line_error(ctx, RK_ETOOBIG, name, lineno, why);
			goto out;
		}
		if (strcmp(kw, "pattern") == 0)
			rc = parse_pattern(r, rest, name, lineno, ctx);
		else if (strcmp(kw, "owned") == 0)
			rc = parse_owned(r, rest, name, lineno, ctx);
		else
			rc = line_error(ctx, RK_EINVAL, name, lineno,
					"unknown rule; a line starts with 'pattern', 'owned' or '#'");
		if (rc)
			goto out;
	}
	*out = r;
	r = NULL;
out:
	free(line);
	anon_rules_free(r);
	return rc;
}

rk_err anon_rules_load(const char *path, anon_rules **out, rk_errctx *ctx)
{
	char *data = NULL;
	size_t len = 0;
	rk_err rc = rk_read_file(path, (size_t)RK_ANON_MAX_RULES * (RK_MAX_CONFIG_LINE + 1) * 2,
				 &data, &len, ctx);
	if (rc)
		return rc;
	rc = anon_rules_parse(data, len, path, out, ctx);
	free(data);
	return rc;
}

rk_err anon_rules_owned(const anon_rules *r, const char *org, anon_assets *out,
			rk_errctx *ctx)
{
	for (size_t i = 0; r && i < r->n_owned; i++) {
		const anon_owned *o = &r->owned[i];
		rk_err rc;
		if (strcmp(o->org, org) != 0)
			continue;
		rc = o->kind == 1 ? anon_assets_add_domain(out, o->value, ctx)
		     : o->kind == 2 ? anon_assets_add_asn(out, o->value, ctx)
				    : anon_assets_add_cidr(out, o->value, ctx);
		if (rc)
			return rc;
	}
	return RK_OK;
}
