/*
 * fed_config.c: the federation file (man/renkei-federation.1), one
 * [partner NAME] section per partner hub, read with inih like renkei.conf.
 *
 * The file is untrusted operator input: every key is known, every value
 * checked (URLs, base64 keys, directions, numbers within limits.h), and
 * the first error names file:line. A section is complete only when it has
 * a url, a token file, a public key, an organisation and a community, and
 * the pairs its direction needs (`collection` to push, `pull_collection`
 * to pull; without `direction`, the hub pushes and pulls whichever pairs
 * are listed, and a partner with none only writes to this hub); that is
 * checked at the end, naming the section's line. Names are checked against the directory separately
 * (fed_config_check_dir), because the hub checks them again whenever the
 * directory changes.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "federation.h"

typedef struct ini_state {
	fed_config *cfg;
	rk_errctx *ctx;
	rk_err rc;
	int line; /* the handler's idea of the current line, for sections */
	char prev_section[RK_MAX_NAME];
} ini_state;

static void partner_cleanup(fed_partner *p)
{
	free(p->name);
	free(p->url);
	free(p->root);
	free(p->token);
	free(p->token_file);
	free(p->cacert);
	free(p->org);
	free(p->community);
	for (size_t i = 0; i < p->n_maps; i++) {
		free(p->maps[i].local);
		free(p->maps[i].remote);
	}
	free(p->maps);
	for (size_t i = 0; i < p->n_in_maps; i++) {
		free(p->in_maps[i].local);
		free(p->in_maps[i].remote);
	}
	free(p->in_maps);
	for (size_t i = 0; i < p->n_recipients; i++)
		free(p->recipients[i]);
	free(p->recipients);
}

void fed_config_free(fed_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_partners; i++)
		partner_cleanup(&cfg->partners[i]);
	free(cfg->partners);
	free(cfg->path);
	free(cfg);
}

static int bad(ini_state *s, rk_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad(ini_state *s, rk_err code, const char *fmt, ...)
{
	char msg[RK_ERRCTX_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	s->rc = code;
	rk_fail(s->ctx, code, NULL, "%s", msg);
	return 0;
}

static bool set_str(char **dst, const char *v)
{
	char *c = strdup(v);
	if (!c)
		return false;
	free(*dst);
	*dst = c;
	return true;
}

static bool parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1")) {
		*out = true;
		return true;
	}
	if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0")) {
		*out = false;
		return true;
	}
	return false;
}

static bool parse_uint(const char *v, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long n;

	if (!isdigit((unsigned char)v[0]))
		return false;
	n = strtoul(v, &end, 10);
	if (*end || n < lo || n > hi)
		return false;
	*out = (unsigned)n;
	return true;
}

/* Splits "a, b c" into words separated by commas or blanks. */
static int add_recipients(ini_state *s, fed_partner *p, const char *v)
{
	const char *q = v;

	while (*q) {
		while (*q == ',' || isspace((unsigned char)*q))
			q++;
		size_t n = strcspn(q, ", \t");
		if (!n)
			break;
		if (n > RK_MAX_STIX_ID)
			return bad(s, RK_ECONFIG, "recipient too long: %.40s...", q);
		if (p->n_recipients >= RK_MAX_FED_RECIPIENTS)
			return bad(s, RK_ETOOBIG, "more than %d recipients", RK_MAX_FED_RECIPIENTS);
		char *id = strndup(q, n);
		char **grown = realloc(p->recipients, (p->n_recipients + 1) * sizeof *grown);
		if (!id || !grown) {
			free(id);
			if (grown)
				p->recipients = grown;
			return bad(s, RK_ENOMEM, "out of memory");
		}
		p->recipients = grown;
		p->recipients[p->n_recipients++] = id;
		if (strncmp(id, "identity--", 10) != 0 || !rk_uuid_is_valid(id + 10))
			return bad(s, RK_ECONFIG, "recipient '%s' is not an identity id", id);
		q += n;
	}
	return 1;
}

static int add_map(ini_state *s, fed_map **maps, size_t *n_maps, const char *key,
		   const char *v)
{
	char local[RK_MAX_NAME], remote[RK_MAX_NAME];
	char extra;

	if (strlen(v) >= RK_MAX_NAME || sscanf(v, "%255s %255s %c", local, remote, &extra) != 2)
		return bad(s, RK_ECONFIG, "%s takes two collection ids: LOCAL REMOTE (got '%s')",
			   key, v);
	if (*n_maps >= RK_MAX_FED_COLLECTIONS)
		return bad(s, RK_ETOOBIG, "too many collection mappings");
	fed_map *grown = realloc(*maps, (*n_maps + 1) * sizeof *grown);
	if (!grown)
		return bad(s, RK_ENOMEM, "out of memory");
	*maps = grown;
	fed_map *m = &grown[*n_maps];
	m->local = strdup(local);
	m->remote = strdup(remote);
	if (!m->local || !m->remote) {
		free(m->local);
		free(m->remote);
		return bad(s, RK_ENOMEM, "out of memory");
	}
	(*n_maps)++;
	return 1;
}

static int on_line(void *arg, const char *section, const char *name, const char *value)
{
	ini_state *s = arg;
	fed_config *cfg = s->cfg;
	fed_partner *p;

	if (strncmp(section, "partner ", 8) != 0 || !section[8])
		return bad(s, RK_ECONFIG, "unknown section [%s]; expected [partner NAME]", section);
	const char *pname = section + 8;
	if (!cfg->n_partners || strcmp(s->prev_section, section) != 0) {
		if (fed_partner_named(cfg, pname))
			return bad(s, RK_ECONFIG, "partner '%s' defined twice", pname);
		if (cfg->n_partners >= RK_MAX_FED_PARTNERS)
			return bad(s, RK_ETOOBIG, "too many partners");
		fed_partner *grown =
			realloc(cfg->partners, (cfg->n_partners + 1) * sizeof *grown);
		if (!grown)
			return bad(s, RK_ENOMEM, "out of memory");
		cfg->partners = grown;
		p = &cfg->partners[cfg->n_partners++];
		memset(p, 0, sizeof *p);
		p->require_signature = true;
		p->interval = 60;
		p->timeout = 30;
		if (!(p->name = strdup(pname)))
			return bad(s, RK_ENOMEM, "out of memory");
		snprintf(s->prev_section, sizeof s->prev_section, "%s", section);
	}
	p = &cfg->partners[cfg->n_partners - 1];
	if (!p->line)
		p->line = s->line;

	if (!strcmp(name, "url")) {
		if (strncmp(value, "http://", 7) && strncmp(value, "https://", 8))
			return bad(s, RK_ECONFIG, "url must be http:// or https:// (got '%s')",
				   value);
		return set_str(&p->url, value) ? 1 : bad(s, RK_ENOMEM, "out of memory");
	}
	if (!strcmp(name, "api_root"))
		return set_str(&p->root, value) ? 1 : bad(s, RK_ENOMEM, "out of memory");
	if (!strcmp(name, "cacert"))
		return set_str(&p->cacert, value) ? 1 : bad(s, RK_ENOMEM, "out of memory");
	if (!strcmp(name, "token_file"))
		return set_str(&p->token_file, value) ? 1
						     : bad(s, RK_ENOMEM, "out of memory");
	if (!strcmp(name, "public_key")) {
		if (!fed_key_parse(value, p->public_key))
			return bad(s, RK_ECONFIG,
				   "public_key is not a base64 Ed25519 public key (32 bytes): '%s'",
				   value);
		fed_b64(p->public_key, 32, p->public_key_b64, sizeof p->public_key_b64);
		return 1;
	}
	if (!strcmp(name, "require_signature")) {
		if (!parse_bool(value, &p->require_signature))
			return bad(s, RK_ECONFIG, "require_signature must be yes or no (got '%s')",
				   value);
		return 1;
	}
	if (!strcmp(name, "organisation"))
		return set_str(&p->org, value) ? 1 : bad(s, RK_ENOMEM, "out of memory");
	if (!strcmp(name, "community"))
		return set_str(&p->community, value) ? 1
						    : bad(s, RK_ENOMEM, "out of memory");
	if (!strcmp(name, "collection"))
		return add_map(s, &p->maps, &p->n_maps, name, value);
	if (!strcmp(name, "pull_collection"))
		return add_map(s, &p->in_maps, &p->n_in_maps, name, value);
	if (!strcmp(name, "direction")) {
		if (!strcmp(value, "push"))
			p->push = true, p->pull = false;
		else if (!strcmp(value, "pull"))
			p->push = false, p->pull = true;
		else if (!strcmp(value, "both"))
			p->push = p->pull = true;
		else
			return bad(s, RK_ECONFIG, "direction must be push, pull or both (got '%s')",
				   value);
		p->direction_set = true;
		return 1;
	}
	if (!strcmp(name, "interval")) {
		if (!parse_uint(value, 1, 86400, &p->interval))
			return bad(s, RK_ECONFIG, "interval must be 1 to 86400 seconds (got '%s')",
				   value);
		return 1;
	}
	if (!strcmp(name, "timeout")) {
		if (!parse_uint(value, 1, 3600, &p->timeout))
			return bad(s, RK_ECONFIG, "timeout must be 1 to 3600 seconds (got '%s')",
				   value);
		return 1;
	}
	if (!strcmp(name, "recipients"))
		return add_recipients(s, p, value);
	return bad(s, RK_ECONFIG, "unknown key '%s' in [%s]", name, section);
}

/* inih gives no line to the handler; count lines ourselves through a
 * reader so that a section's first line is known. */
typedef struct line_reader {
	FILE *f;
	ini_state *s;
} line_reader;

static char *read_line(char *str, int num, void *stream)
{
	line_reader *lr = stream;
	char *r = fgets(str, num, lr->f);
	if (r)
		lr->s->line++;
	return r;
}

static rk_err read_token(fed_partner *p, const char *path, rk_errctx *ctx)
{
	char *text = NULL;
	size_t len = 0;
	rk_err rc = rk_read_file(p->token_file, RK_MAX_TOKEN_FILE, &text, &len, ctx);

	if (rc) {
		char where[RK_ERRCTX_PATH], why[RK_ERRCTX_MSG];
		snprintf(where, sizeof where, "%s:%d", path, p->line);
		snprintf(why, sizeof why, "%s", ctx && ctx->msg[0] ? ctx->msg : rk_strerror(rc));
		rk_errctx_clear(ctx);
		return rk_fail(ctx, rc, where, "partner '%s': token_file %s: %s", p->name,
			       p->token_file, why);
	}
	while (len && isspace((unsigned char)text[len - 1]))
		text[--len] = '\0';
	if (!len || strchr(text, '\n') || strchr(text, '\r')) {
		free(text);
		char where[RK_ERRCTX_PATH];
		snprintf(where, sizeof where, "%s:%d", path, p->line);
		return rk_fail(ctx, RK_ECONFIG, where,
			       "partner '%s': token_file %s must hold one token on one line",
			       p->name, p->token_file);
	}
	p->token = text;
	return RK_OK;
}

rk_err fed_config_load(const char *path, const directory *dir, fed_config **out,
		       rk_errctx *ctx)
{
	fed_config *cfg = calloc(1, sizeof *cfg);
	ini_state s = {.cfg = cfg, .ctx = ctx, .rc = RK_OK};
	line_reader lr = {.s = &s};
	rk_err rc = RK_OK;
	int at;

	*out = NULL;
	if (!cfg || !(cfg->path = strdup(path))) {
		fed_config_free(cfg);
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	}
	if (!(lr.f = fopen(path, "r"))) {
		fed_config_free(cfg);
		return rk_fail(ctx, RK_ECONFIG, path, "cannot open the federation file");
	}
	at = ini_parse_stream(read_line, &lr, on_line, &s);
	fclose(lr.f);
	if (at != 0) {
		char where[RK_ERRCTX_PATH];
		snprintf(where, sizeof where, "%s:%d", path, at > 0 ? at : s.line);
		if (s.rc == RK_OK)
			rk_fail(ctx, RK_ECONFIG, NULL,
				"not an INI line (expected [partner NAME] or key = value)");
		if (ctx)
			snprintf(ctx->path, sizeof ctx->path, "%s", where);
		rc = s.rc ? s.rc : RK_ECONFIG;
		goto fail;
	}
	for (size_t i = 0; i < cfg->n_partners; i++) {
		fed_partner *p = &cfg->partners[i];
		if (!p->direction_set) {
			p->push = p->n_maps > 0;
			p->pull = p->n_in_maps > 0;
		}
		const char *missing = !p->url ? "url"
				      : !p->token_file ? "token_file"
				      : !p->public_key_b64[0] ? "public_key"
				      : !p->org ? "organisation"
				      : !p->community ? "community"
				      : p->push && !p->n_maps ? "collection (direction push)"
				      : p->pull && !p->n_in_maps ? "pull_collection (direction pull)"
								 : NULL;
		if (missing) {
			char where[RK_ERRCTX_PATH];
			snprintf(where, sizeof where, "%s:%d", path, p->line);
			rc = rk_fail(ctx, RK_ECONFIG, where, "partner '%s' has no %s", p->name,
				     missing);
			goto fail;
		}
		if ((rc = read_token(p, path, ctx)))
			goto fail;
	}
	if (dir && (rc = fed_config_check_dir(cfg, dir, ctx)))
		goto fail;
	*out = cfg;
	return RK_OK;
fail:
	fed_config_free(cfg);
	return rc;
}

rk_err fed_config_check_dir(const fed_config *cfg, const directory *dir, rk_errctx *ctx)
{
	for (size_t i = 0; i < cfg->n_partners; i++) {
		const fed_partner *p = &cfg->partners[i];
		char where[RK_ERRCTX_PATH];
		const dir_community *c = dir_find_community(dir, p->community);

		snprintf(where, sizeof where, "%s:%d", cfg->path, p->line);
		if (!dir_find_org(dir, p->org))
			return rk_fail(ctx, RK_ECONFIG, where,
				       "partner '%s': no organisation '%s' in the directory", p->name,
				       p->org);
		if (!c)
			return rk_fail(ctx, RK_ECONFIG, where,
				       "partner '%s': no community '%s' in the directory", p->name,
				       p->community);
		for (size_t j = 0; j < p->n_maps; j++) {
			const dir_collection *col = dir_find_collection(dir, p->maps[j].local);
			if (!col)
				return rk_fail(ctx, RK_ECONFIG, where,
					       "partner '%s': no collection '%s' in the directory",
					       p->name, p->maps[j].local);
		}
		for (size_t j = 0; j < p->n_in_maps; j++)
			if (!dir_find_collection(dir, p->in_maps[j].local))
				return rk_fail(ctx, RK_ECONFIG, where,
					       "partner '%s': no collection '%s' in the directory",
					       p->name, p->in_maps[j].local);
		for (size_t j = 0; j < p->n_recipients; j++) {
			const dir_org *o;
			const dir_user *u;
			if (!dir_find_identity(dir, p->recipients[j], &o, &u))
				return rk_fail(ctx, RK_ECONFIG, where,
					       "partner '%s': recipient %s is not an identity in the "
					       "directory",
					       p->name, p->recipients[j]);
		}
	}
	return RK_OK;
}

const fed_partner *fed_partner_of_org(const fed_config *cfg, const char *org_id)
{
	for (size_t i = 0; cfg && org_id && i < cfg->n_partners; i++)
		if (!strcmp(cfg->partners[i].org, org_id))
			return &cfg->partners[i];
	return NULL;
}

const fed_partner *fed_partner_named(const fed_config *cfg, const char *name)
{
	for (size_t i = 0; cfg && i < cfg->n_partners; i++)
		if (cfg->partners[i].name && !strcmp(cfg->partners[i].name, name))
			return &cfg->partners[i];
	return NULL;
}

const fed_map *fed_map_pair(const fed_partner *p, const char *local, const char *remote)
{
	for (size_t i = 0; p && local && remote && i < p->n_maps; i++)
		if (!strcmp(p->maps[i].local, local) && !strcmp(p->maps[i].remote, remote))
			return &p->maps[i];
	return NULL;
}
