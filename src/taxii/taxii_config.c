/*
 * taxii_config.c: the hub's configuration, one table of options.
 *
 * Each row of `options` is at once a key of the [hub] section of
 * renkei.conf(5) and a --flag of `renkei hub`, with one default and one help
 * text, so the file, the flags, --help and the man page cannot drift apart.
 * Keys may be written with '-' or '_' ("tls-cert" = "tls_cert").
 * Precedence is the order of application: defaults, then the file, then
 * flags (cli_hub.c applies them in that order).
 *
 * taxii_config_check is the whole consistency check `renkei hub
 * --check-config` runs; the server runs it again before it listens, so a hub
 * never starts from a configuration that check would refuse.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ini.h>

#include "anonymise.h"
#include "taxii_int.h"

typedef enum { OPT_STR, OPT_BOOL, OPT_SIZE, OPT_UINT } opt_kind;

static const struct opt_row {
	taxii_option pub;
	opt_kind kind;
	size_t off;
} options[] = {
#define ROW(name, arg, def, help, kind, field)                                  \
	{{name, arg, def, help}, kind, offsetof(taxii_config, field)}
	ROW("data", "DIR", NULL, "store location: a directory (SQLite) or sqlite:DIR", OPT_STR, data),
	ROW("listen", "HOST:PORT", "127.0.0.1:6443", "address to listen on; port 0 picks a free port", OPT_STR, listen),
	ROW("tls-cert", "FILE", NULL, "TLS certificate chain (PEM)", OPT_STR, tls_cert),
	ROW("tls-key", "FILE", NULL, "TLS private key (PEM)", OPT_STR, tls_key),
	ROW("insecure-http", NULL, "false", "allow plain HTTP on a non-loopback address", OPT_BOOL, insecure_http),
	ROW("max-content-length", "BYTES", "10485760", "largest request body accepted (TAXII max_content_length)", OPT_SIZE, max_content_length),
	ROW("title", "TEXT", "renkei hub", "server title announced at /taxii2/", OPT_STR, title),
	ROW("description", "TEXT", NULL, "server description announced at /taxii2/", OPT_STR, description),
	ROW("contact", "TEXT", NULL, "contact information announced at /taxii2/", OPT_STR, contact),
	ROW("public-url", "URL", NULL, "base URL of API roots in discovery (default: https://LISTEN with TLS, relative paths without)", OPT_STR, public_url),
	ROW("threads", "N", "8", "request threads", OPT_UINT, threads),
	ROW("port-file", "FILE", NULL, "write the bound TCP port here once listening", OPT_STR, port_file),
	ROW("log-level", "LEVEL", "info", "debug, info, warn or error", OPT_STR, log_level),
	ROW("anonymise-rules", "FILE", NULL, "scrubbing rules for anonymous submissions (renkei-review(1)), checked at start", OPT_STR, anonymise_rules),
	ROW("anonymise-retention", "DAYS", "30", "days the original of an anonymous submission is kept for its submitter", OPT_UINT, anonymise_retention),
	ROW("notify-config", "FILE", NULL, "notification settings: webhooks, e-mail digests, retries (renkei-notify(1))", OPT_STR, notify_config),
	ROW("federation", "FILE", NULL, "partner hubs to federate with (renkei-federation(1))", OPT_STR, federation),
#undef ROW
};

const taxii_option *taxii_options(size_t *count)
{
	/* The public rows are the first member of each internal row; expose
	 * a plain array of them. */
	static taxii_option pub[RK_ARRAY_LEN(options)];
	static bool filled;
	if (!filled) {
		for (size_t i = 0; i < RK_ARRAY_LEN(options); i++)
			pub[i] = options[i].pub;
		filled = true;
	}
	*count = RK_ARRAY_LEN(options);
	return pub;
}

static const struct opt_row *find_option(const char *name)
{
	char norm[64];
	size_t n = strlen(name);
	if (n >= sizeof norm)
		return NULL;
	for (size_t i = 0; i <= n; i++)
		norm[i] = name[i] == '_' ? '-' : name[i];
	for (size_t i = 0; i < RK_ARRAY_LEN(options); i++)
		if (strcmp(options[i].pub.name, norm) == 0)
			return &options[i];
	return NULL;
}

void taxii_config_init(taxii_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < RK_ARRAY_LEN(options); i++)
		if (options[i].pub.default_text)
			(void)taxii_config_set(cfg, options[i].pub.name,
					       options[i].pub.default_text, NULL);
}

void taxii_config_cleanup(taxii_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < RK_ARRAY_LEN(options); i++) {
		if (options[i].kind == OPT_STR) {
			char **field = (char **)((char *)cfg + options[i].off);
			free(*field);
			*field = NULL;
		}
	}
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	for (size_t i = 0; i < RK_ARRAY_LEN(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool parse_size(const char *v, unsigned long long max, unsigned long long *out)
{
	unsigned long long n = 0;
	if (!*v)
		return false;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return false;
		n = n * 10 + (unsigned)(*v - '0');
		if (n > max)
			return false;
	}
	*out = n;
	return true;
}

rk_err taxii_config_set(taxii_config *cfg, const char *name, const char *value,
			rk_errctx *ctx)
{
	const struct opt_row *o = find_option(name);
	unsigned long long n;

	if (!o)
		return rk_fail(ctx, RK_ECONFIG, name, "unknown option");
	void *field = (char *)cfg + o->off;
	if (!value)
		value = o->kind == OPT_BOOL ? "true" : "";
	switch (o->kind) {
	case OPT_STR: {
		char *copy = strdup(value);
		if (!copy)
			return RK_ENOMEM;
		free(*(char **)field);
		*(char **)field = copy;
		return RK_OK;
	}
	case OPT_BOOL:
		if (!parse_bool(value, (bool *)field))
			return rk_fail(ctx, RK_ECONFIG, name, "'%s' is not true or false", value);
		return RK_OK;
	case OPT_SIZE:
		if (!parse_size(value, RK_MAX_CONTENT_LENGTH_CEILING, &n) || n == 0)
			return rk_fail(ctx, RK_ECONFIG, name,
				       "'%s' is not a size from 1 to %u bytes", value,
				       RK_MAX_CONTENT_LENGTH_CEILING);
		*(size_t *)field = (size_t)n;
		return RK_OK;
	case OPT_UINT:
		if (!parse_size(value, 1024, &n) || n == 0)
			return rk_fail(ctx, RK_ECONFIG, name,
				       "'%s' is not a number from 1 to 1024", value);
		*(unsigned *)field = (unsigned)n;
		return RK_OK;
	}
	return RK_EINVAL;
}

struct ini_state {
	taxii_config *cfg;
	rk_errctx *ctx;
	const char *path;
	int line;
	rk_err rc;
};

static int config_ini_line(void *user, const char *section, const char *name,
		       const char *value)
{
	struct ini_state *s = user;
	rk_errctx sub;
	s->line++;
	if (strcmp(section, "hub") != 0)
		return 1; /* other programs' sections */
	rk_errctx_clear(&sub);
	rk_err rc = taxii_config_set(s->cfg, name, value, &sub);
	if (rc) {
		s->rc = rc;
		rk_fail(s->ctx, rc, s->path, "[hub] %s: %s", name,
			sub.msg[0] ? sub.msg : rk_strerror(rc));
		return 0;
	}
	return 1;
}

rk_err taxii_config_load(taxii_config *cfg, const char *path, rk_errctx *ctx)
{
	struct ini_state s = {cfg, ctx, path, 0, RK_OK};
	int rc = ini_parse(path, config_ini_line, &s);
	if (rc == -1)
		return rk_fail(ctx, RK_ECONFIG, path, "cannot open the file");
	if (rc == -2)
		return RK_ENOMEM;
	if (rc > 0) {
		if (s.rc == RK_OK) {
			char where[RK_ERRCTX_PATH];
			snprintf(where, sizeof where, "%s:%d", path, rc);
			return rk_fail(ctx, RK_ECONFIG, where,
				       "not an INI line (expected [section] or key = value)");
		}
		/* prefix the line number that inih reports */
		if (ctx)
			snprintf(ctx->path, sizeof ctx->path, "%s:%d", path, rc);
		return s.rc;
	}
	return RK_OK;
}

rk_err taxii_listen_parse(const char *listen, char *host, size_t hostlen,
			  unsigned *port, rk_errctx *ctx)
{
	const char *colon;
	const char *h = listen;
	size_t hl;

	if (!listen || !*listen)
		return rk_fail(ctx, RK_ECONFIG, "listen", "missing HOST:PORT");
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':')
			return rk_fail(ctx, RK_ECONFIG, "listen",
				       "'%s' is not [IPV6]:PORT", listen);
		h = listen + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			return rk_fail(ctx, RK_ECONFIG, "listen", "'%s' is not HOST:PORT", listen);
		hl = (size_t)(colon - listen);
	}
	if (hl == 0 || hl >= hostlen)
		return rk_fail(ctx, RK_ECONFIG, "listen", "'%s': bad host", listen);
	memcpy(host, h, hl);
	host[hl] = '\0';
	unsigned long long p;
	if (!parse_size(colon + 1, 65535, &p))
		return rk_fail(ctx, RK_ECONFIG, "listen", "'%s': port is not 0 to 65535",
			       listen);
	*port = (unsigned)p;
	return RK_OK;
}

/* True when every address `host` resolves to is a loopback address. */
static bool host_is_loopback(const char *host)
{
	struct addrinfo hints = {0}, *res = NULL;
	bool all = true;

	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
		return false;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		if (a->ai_family == AF_INET) {
			const struct sockaddr_in *s4 = (const void *)a->ai_addr;
			if ((ntohl(s4->sin_addr.s_addr) >> 24) != 127)
				all = false;
		} else if (a->ai_family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (const void *)a->ai_addr;
			if (!IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
				all = false;
		} else {
			all = false;
		}
	}
	freeaddrinfo(res);
	return all;
}

rk_err taxii_config_check(const taxii_config *cfg, rk_errctx *ctx)
{
	char host[256];
	unsigned port;
	rk_log_level level;
	rk_err rc;

	if (!cfg->data || !*cfg->data)
		return rk_fail(ctx, RK_ECONFIG, "data", "no store location (--data DIR)");
	rc = taxii_listen_parse(cfg->listen, host, sizeof host, &port, ctx);
	if (rc)
		return rc;
	if (!!cfg->tls_cert != !!cfg->tls_key)
		return rk_fail(ctx, RK_ECONFIG, cfg->tls_cert ? "tls-key" : "tls-cert",
			       "TLS needs both a certificate and a key");
	if (cfg->tls_cert) {
		if (access(cfg->tls_cert, R_OK) != 0)
			return rk_fail(ctx, RK_ECONFIG, "tls-cert", "cannot read '%s'",
				       cfg->tls_cert);
		if (access(cfg->tls_key, R_OK) != 0)
			return rk_fail(ctx, RK_ECONFIG, "tls-key", "cannot read '%s'",
				       cfg->tls_key);
	}
	if (!cfg->tls_cert && !cfg->insecure_http && !host_is_loopback(host))
		return rk_fail(ctx, RK_ECONFIG, "listen",
			       "'%s' is not a loopback address: serving plain HTTP there needs "
			       "--insecure-http (or give --tls-cert and --tls-key)",
			       host);
	if (cfg->max_content_length == 0 ||
	    cfg->max_content_length > RK_MAX_CONTENT_LENGTH_CEILING)
		return rk_fail(ctx, RK_ECONFIG, "max-content-length", "out of range");
	if (cfg->threads == 0)
		return rk_fail(ctx, RK_ECONFIG, "threads", "must be at least 1");
	if (cfg->log_level && !rk_log_level_parse(cfg->log_level, &level))
		return rk_fail(ctx, RK_ECONFIG, "log-level",
			       "'%s' is not debug, info, warn or error", cfg->log_level);
	if (cfg->public_url && strncmp(cfg->public_url, "http://", 7) != 0 &&
	    strncmp(cfg->public_url, "https://", 8) != 0)
		return rk_fail(ctx, RK_ECONFIG, "public-url", "'%s' is not an http(s) URL",
			       cfg->public_url);
	if (cfg->anonymise_retention == 0)
		return rk_fail(ctx, RK_ECONFIG, "anonymise-retention", "must be at least 1 day");
	if (cfg->anonymise_rules) {
		/* the whole file, with file:line for the first bad line */
		anon_rules *rules = NULL;
		rc = anon_rules_load(cfg->anonymise_rules, &rules, ctx);
		anon_rules_free(rules);
		if (rc)
			return rc;
	}
	if (cfg->notify_config) {
		/* read whole now so that -n reports its errors with file:line */
		notify_config nc;
		notify_config_init(&nc);
		rc = notify_config_load(&nc, cfg->notify_config, ctx);
		notify_config_cleanup(&nc);
		if (rc)
			return rc;
	}
	return RK_OK;
}
