/*
 * notify_config.c: the notification configuration file (INI, read with
 * inih), named by the hub option notify-config.
 *
 *   [smtp]
 *   url = smtp://mail.example:25          smtp:// or smtps://
 *   from = renkei@hub.example
 *   user = renkei                         optional, with password_file
 *   password_file = /etc/renkei/smtp.pw
 *   starttls = true                       require STARTTLS on smtp://
 *
 *   [delivery]
 *   retry_initial = 30s                   first back-off (then doubled)
 *   retry_max = 1h                        back-off ceiling
 *   max_attempts = 12                     then a delivery is "failed"
 *   timeout = 20s                         per webhook POST or SMTP session
 *   hub_url = https://hub.example:6443    base of links in bodies and mails
 *
 *   [org bank]                            one section per organisation
 *   webhook_url = https://soc.bank.example/renkei
 *   webhook_secret_file = /etc/renkei/bank.secret
 *   email = soc@bank.example, cert@bank.example
 *   digest_interval = 1h
 *
 * Everything is checked while reading; the first error names file:line
 * and the key. Secrets live in files of their own (never in this file,
 * which may be committed to configuration management): the webhook
 * secret is the file's bytes without a final newline, at least
 * NOTIFY_SECRET_MIN of them. Durations take s, m, h or d (plain numbers
 * are seconds). This parser reads operator files; it is fuzzed all the
 * same (fuzz/fuzz_notify_config.c).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "notify.h"

#define MAX_URL 2048    /* operator text, not untrusted input */
#define MAX_EMAILS RK_NOTIFY_MAX_EMAILS
#define MAX_ORGS RK_NOTIFY_MAX_ORGS
#define MAX_SECRET 4096 /* a secret file read whole */

const char *notify_channel_name(notify_channel ch)
{
	switch (ch) {
	case NOTIFY_CH_WEBHOOK: return "webhook";
	case NOTIFY_CH_EMAIL: return "email";
	default: return "?";
	}
}

void notify_config_init(notify_config *c)
{
	memset(c, 0, sizeof *c);
	c->retry_initial_seconds = 30;
	c->retry_max_seconds = 3600;
	c->max_attempts = 12;
	c->timeout_seconds = 20;
}

static void org_cleanup(notify_org_config *o)
{
	free(o->org);
	free(o->webhook_url);
	if (o->secret) {
		memset(o->secret, 0, o->secret_len);
		free(o->secret);
	}
	for (size_t i = 0; i < o->n_emails; i++)
		free(o->emails[i]);
	free(o->emails);
}

void notify_config_cleanup(notify_config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->smtp_url);
	free(c->smtp_from);
	free(c->smtp_user);
	if (c->smtp_password) {
		memset(c->smtp_password, 0, strlen(c->smtp_password));
		free(c->smtp_password);
	}
	free(c->hub_url);
	for (size_t i = 0; i < c->n_orgs; i++)
		org_cleanup(&c->orgs[i]);
	free(c->orgs);
	memset(c, 0, sizeof *c);
}

const notify_org_config *notify_config_org(const notify_config *c, const char *org)
{
	for (size_t i = 0; c && i < c->n_orgs; i++)
		if (strcmp(c->orgs[i].org, org) == 0)
			return &c->orgs[i];
	return NULL;
}

/* ---------------------------------------------------------------- values */

static bool parse_duration(const char *v, unsigned min, unsigned max, unsigned *out)
{
	char *end = NULL;
	if (!isdigit((unsigned char)*v))
		return false;
	unsigned long n = strtoul(v, &end, 10);
	unsigned long mul = 1;
	if (*end == 's')
		end++;
	else if (*end == 'm')
		mul = 60, end++;
	else if (*end == 'h')
		mul = 3600, end++;
	else if (*end == 'd')
		mul = 86400, end++;
	if (*end || n > 100000000ul)
		return false;
	n *= mul;
	if (n < min || n > max)
		return false;
	*out = (unsigned)n;
	return true;
}

static bool clean_text(const char *v, size_t max)
{
	size_t n = strlen(v);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= 0x20 || v[i] == 0x7f)
			return false;
	return true;
}

static bool url_with_scheme(const char *v, const char *const *schemes)
{
	if (!clean_text(v, MAX_URL))
		return false;
	for (size_t i = 0; schemes[i]; i++) {
		size_t n = strlen(schemes[i]);
		if (strncasecmp(v, schemes[i], n) == 0 && v[n] && v[n] != '/')
			return true;
	}
	return false;
}

/* An address a mail goes to: local@domain, no blanks or angle brackets. */
static bool email_ok(const char *v)
{
	char dom[ASSETS_VALUE_MAX + 1];
	const char *at = strrchr(v, '@');
	if (!clean_text(v, 254) || !at || at == v || strpbrk(v, "<>(),;:\"[]\\"))
		return false;
	return assets_domain_normalise(at + 1, strlen(at + 1), dom);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* ---------------------------------------------------------------- parse */

typedef struct parse_state {
	notify_config *c;
	rk_errctx *ctx;
	const char *name;
	rk_err rc;
} parse_state;

static int fail(parse_state *s, const char *section, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(parse_state *s, const char *section, const char *key, const char *fmt, ...)
{
	char msg[RK_ERRCTX_MSG];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (s->rc == RK_OK)
		s->rc = RK_ECONFIG;
	rk_fail(s->ctx, RK_ECONFIG, s->name, "[%.64s] %.64s: %.300s", section, key, msg);
	return 0;
}

static char *dup_or_null(const char *v)
{
	return strdup(v);
}

static rk_err read_secret(const char *path, unsigned char **out, size_t *len, rk_errctx *ctx)
{
	char *data = NULL;
	size_t n = 0;
	rk_err err = rk_read_file(path, MAX_SECRET, &data, &n, ctx);
	if (err)
		return err;
	while (n && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		data[--n] = '\0';
	*out = (unsigned char *)data;
	*len = n;
	return RK_OK;
}

static int smtp_key(parse_state *s, const char *key, const char *v)
{
	notify_config *c = s->c;
	static const char *const smtp_schemes[] = {"smtp://", "smtps://", NULL};
	if (strcmp(key, "url") == 0) {
		if (!url_with_scheme(v, smtp_schemes))
			return fail(s, "smtp", key, "expected smtp://HOST[:PORT] or smtps://...");
		free(c->smtp_url);
		return (c->smtp_url = dup_or_null(v)) != NULL;
	}
	if (strcmp(key, "from") == 0) {
		if (!email_ok(v))
			return fail(s, "smtp", key, "'%s' is not an e-mail address", v);
		free(c->smtp_from);
		return (c->smtp_from = dup_or_null(v)) != NULL;
	}
	if (strcmp(key, "user") == 0) {
		if (!clean_text(v, 256))
			return fail(s, "smtp", key, "empty or contains blanks");
		free(c->smtp_user);
		return (c->smtp_user = dup_or_null(v)) != NULL;
	}
	if (strcmp(key, "password_file") == 0) {
		unsigned char *pw = NULL;
		size_t n = 0;
		rk_errctx sub;
		rk_errctx_clear(&sub);
		if (read_secret(v, &pw, &n, &sub))
			return fail(s, "smtp", key, "%s", sub.msg);
		free(c->smtp_password);
		c->smtp_password = (char *)pw;
		return 1;
	}
	if (strcmp(key, "starttls") == 0) {
		if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0)
			c->smtp_starttls = true;
		else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0)
			c->smtp_starttls = false;
		else
			return fail(s, "smtp", key, "expected true or false");
		return 1;
	}
	return fail(s, "smtp", key, "unknown key (url, from, user, password_file, starttls)");
}

static int delivery_key(parse_state *s, const char *key, const char *v)
{
	notify_config *c = s->c;
	static const char *const http_schemes[] = {"http://", "https://", NULL};
	if (strcmp(key, "retry_initial") == 0) {
		if (!parse_duration(v, 1, 86400, &c->retry_initial_seconds))
			return fail(s, "delivery", key, "expected a duration from 1s to 1d");
		return 1;
	}
	if (strcmp(key, "retry_max") == 0) {
		if (!parse_duration(v, 1, 7 * 86400, &c->retry_max_seconds))
			return fail(s, "delivery", key, "expected a duration from 1s to 7d");
		return 1;
	}
	if (strcmp(key, "timeout") == 0) {
		if (!parse_duration(v, 1, 600, &c->timeout_seconds))
			return fail(s, "delivery", key, "expected a duration from 1s to 10m");
		return 1;
	}
	if (strcmp(key, "max_attempts") == 0) {
		char *end = NULL;
		unsigned long n = strtoul(v, &end, 10);
		if (!isdigit((unsigned char)*v) || *end || n < 1 || n > 100)
			return fail(s, "delivery", key, "expected a number from 1 to 100");
		c->max_attempts = (unsigned)n;
		return 1;
	}
	if (strcmp(key, "hub_url") == 0) {
		if (!url_with_scheme(v, http_schemes))
			return fail(s, "delivery", key, "expected an http:// or https:// URL");
		free(c->hub_url);
		return (c->hub_url = dup_or_null(v)) != NULL;
	}
	return fail(s, "delivery", key,
		    "unknown key (retry_initial, retry_max, max_attempts, timeout, hub_url)");
}

static notify_org_config *org_section(parse_state *s, const char *section, const char *key)
{
	notify_config *c = s->c;
	const char *id = section + 4;
	while (*id == ' ')
		id++;
	if (!*id || strlen(id) > RK_MAX_NAME || !clean_text(id, RK_MAX_NAME)) {
		fail(s, section, key, "a section [org ID] names one organisation id");
		return NULL;
	}
	/* Keys of one section arrive together: the last org is this one
	 * unless the section appears twice, which is refused. */
	if (c->n_orgs && strcmp(c->orgs[c->n_orgs - 1].org, id) == 0)
		return &c->orgs[c->n_orgs - 1];
	if (notify_config_org(c, id)) {
		fail(s, section, key, "organisation configured twice");
		return NULL;
	}
	if (c->n_orgs >= MAX_ORGS) {
		fail(s, section, key, "too many organisations");
		return NULL;
	}
	notify_org_config *v = realloc(c->orgs, (c->n_orgs + 1) * sizeof *v);
	if (!v)
		return NULL;
	c->orgs = v;
	notify_org_config *o = &c->orgs[c->n_orgs];
	memset(o, 0, sizeof *o);
	if (!(o->org = strdup(id)))
		return NULL;
	o->digest_seconds = 3600;
	c->n_orgs++;
	return o;
}

static int org_key(parse_state *s, const char *section, const char *key, const char *v)
{
	static const char *const http_schemes[] = {"http://", "https://", NULL};
	notify_org_config *o = org_section(s, section, key);
	if (!o)
		return 0;
	if (strcmp(key, "webhook_url") == 0) {
		if (!url_with_scheme(v, http_schemes))
			return fail(s, section, key, "expected an http:// or https:// URL");
		free(o->webhook_url);
		return (o->webhook_url = strdup(v)) != NULL;
	}
	if (strcmp(key, "webhook_secret_file") == 0) {
		rk_errctx sub;
		rk_errctx_clear(&sub);
		if (o->secret) {
			memset(o->secret, 0, o->secret_len);
			free(o->secret);
			o->secret = NULL;
		}
		if (read_secret(v, &o->secret, &o->secret_len, &sub)) {
			char m[RK_ERRCTX_PATH + RK_ERRCTX_MSG];
			rk_errctx_format(&sub, m, sizeof m);
			return fail(s, section, key, "%s", m);
		}
		if (o->secret_len < NOTIFY_SECRET_MIN)
			return fail(s, section, key, "the secret file holds fewer than 16 bytes");
		return 1;
	}
	if (strcmp(key, "email") == 0) {
		char *copy = strdup(v), *save = NULL;
		if (!copy)
			return 0;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			t = trim(t);
			if (!email_ok(t)) {
				int r = fail(s, section, key, "'%s' is not an e-mail address", t);
				free(copy);
				return r;
			}
			if (o->n_emails >= MAX_EMAILS) {
				free(copy);
				return fail(s, section, key, "more than 16 addresses");
			}
			char **e = realloc(o->emails, (o->n_emails + 1) * sizeof *e);
			if (!e || !(e[o->n_emails] = strdup(t))) {
				if (e)
					o->emails = e;
				free(copy);
				return 0;
			}
			o->emails = e;
			o->n_emails++;
		}
		free(copy);
		if (!o->n_emails)
			return fail(s, section, key, "no address given");
		return 1;
	}
	if (strcmp(key, "digest_interval") == 0) {
		if (!parse_duration(v, 1, 7 * 86400, &o->digest_seconds))
			return fail(s, section, key, "expected a duration from 1s to 7d");
		return 1;
	}
	return fail(s, section, key,
		    "unknown key (webhook_url, webhook_secret_file, email, digest_interval)");
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
	parse_state *s = user;
	if (!key || !value)
		return 1;
	if (strcmp(section, "smtp") == 0)
		return smtp_key(s, key, value);
	if (strcmp(section, "delivery") == 0)
		return delivery_key(s, key, value);
	if (strncmp(section, "org ", 4) == 0)
		return org_key(s, section, key, value);
	return fail(s, section, key, "unknown section (smtp, delivery, org ID)");
}

/* The line of "[section]" in text, for checks made after reading. */
static int section_line(const char *text, const char *section)
{
	int line = 1;
	size_t sl = strlen(section);
	for (const char *p = text; *p; line++) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *q = p;
		while (q < p + n && isspace((unsigned char)*q))
			q++;
		if (q < p + n && *q == '[' && (size_t)(p + n - q) >= sl + 2 &&
		    strncmp(q + 1, section, sl) == 0 && q[sl + 1] == ']')
			return line;
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

static rk_err whole_checks(notify_config *c, const char *text, const char *name, rk_errctx *ctx)
{
	char where[RK_ERRCTX_PATH], section[RK_MAX_NAME + 8];
	if (c->retry_max_seconds < c->retry_initial_seconds)
		return rk_fail(ctx, RK_ECONFIG, name, "[delivery] retry_max is below retry_initial");
	if ((c->smtp_user != NULL) != (c->smtp_password != NULL))
		return rk_fail(ctx, RK_ECONFIG, name,
			       "[smtp] user and password_file go together");
	for (size_t i = 0; i < c->n_orgs; i++) {
		notify_org_config *o = &c->orgs[i];
		snprintf(section, sizeof section, "org %s", o->org);
		o->line = (unsigned)section_line(text, section);
		snprintf(where, sizeof where, "%.200s:%u", name, o->line);
		if (o->webhook_url && !o->secret)
			return rk_fail(ctx, RK_ECONFIG, where,
				       "[%s] webhook_url without webhook_secret_file: webhooks are signed",
				       section);
		if (o->secret && !o->webhook_url)
			return rk_fail(ctx, RK_ECONFIG, where,
				       "[%s] webhook_secret_file without webhook_url", section);
		if (o->n_emails && (!c->smtp_url || !c->smtp_from))
			return rk_fail(ctx, RK_ECONFIG, where,
				       "[%s] email needs [smtp] url and from", section);
	}
	return RK_OK;
}

rk_err notify_config_parse(notify_config *c, const char *text, const char *name,
			   rk_errctx *ctx)
{
	parse_state s = {c, ctx, name, RK_OK};
	if (!c->path && !(c->path = strdup(name)))
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	int rc = ini_parse_string(text, on_key, &s);
	if (rc == -2)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	if (rc > 0) {
		if (s.rc == RK_OK) {
			/* inih's own refusal, or an allocation that failed */
			char where[RK_ERRCTX_PATH];
			snprintf(where, sizeof where, "%.200s:%d", name, rc);
			return rk_fail(ctx, RK_ECONFIG, where,
				       "not an INI line (expected [section] or key = value)");
		}
		if (ctx)
			snprintf(ctx->path, sizeof ctx->path, "%.200s:%d", name, rc);
		return s.rc;
	}
	return whole_checks(c, text, name, ctx);
}

rk_err notify_config_load(notify_config *c, const char *path, rk_errctx *ctx)
{
	char *text = NULL;
	size_t len = 0;
	rk_err err = rk_read_file(path, RK_NOTIFY_CONFIG_MAX_BYTES, &text, &len, ctx);
	if (err)
		return err;
	if (memchr(text, '\0', len)) {
		free(text);
		return rk_fail(ctx, RK_ECONFIG, path, "the file holds a NUL byte");
	}
	err = notify_config_parse(c, text, path, ctx);
	free(text);
	return err;
}

rk_err notify_config_check_orgs(const notify_config *c, const directory *dir, rk_errctx *ctx)
{
	for (size_t i = 0; c && i < c->n_orgs; i++) {
		if (!dir_find_org(dir, c->orgs[i].org)) {
			char where[RK_ERRCTX_PATH];
			snprintf(where, sizeof where, "%.200s:%u", c->path ? c->path : "notify-config",
				 c->orgs[i].line);
			return rk_fail(ctx, RK_ECONFIG, where,
				       "[org %s]: no such organisation in the directory",
				       c->orgs[i].org);
		}
	}
	return RK_OK;
}
