/*
 * taxii.h: the hub's TAXII 2.1 server.
 *
 * Serves every TAXII 2.1 endpoint (OASIS TAXII 2.1, section 4 and 5) over
 * libmicrohttpd, with TLS from GnuTLS: discovery at /taxii2/, one API root
 * per community at /<community-id>/, collections, manifests, objects,
 * versions and status. Each request is authenticated against the directory
 * (Bearer token or HTTP Basic), every decision is taken by policy_decide(),
 * objects are validated by the stix module and kept by the store. Also
 * serves /metrics (Prometheus text format) and writes JSON-lines logs.
 *
 * Configuration is one table of options (taxii_config.c): each option is a
 * key of the [hub] section of renkei.conf(5) and a --flag of `renkei hub`,
 * with the same name, default and help text.
 *
 * Ownership: taxii_config_init/cleanup on caller storage; a server started
 * by taxii_server_start is stopped and freed by taxii_server_stop. The store
 * handle passed in is borrowed and must outlive the server.
 */
#ifndef RK_TAXII_H
#define RK_TAXII_H

#include "common.h"
#include "store.h"

/* ---------------------------------------------------------------- config */
/* taxii_config.c */

typedef struct taxii_config {
	char *data;            /* store location (directory) */
	char *listen;          /* "HOST:PORT"; port 0 picks a free port */
	char *tls_cert;        /* PEM paths; both or neither */
	char *tls_key;
	bool insecure_http;    /* allow plain HTTP on a non-loopback address */
	size_t max_content_length;
	char *title;
	char *description;
	char *contact;
	char *public_url;      /* API root base URL in discovery; default https://listen, or relative without TLS */
	unsigned threads;
	char *port_file;       /* write the bound port here once listening */
	char *log_level;
	char *anonymise_rules;         /* rules file for anonymous submission, or NULL */
	unsigned anonymise_retention;  /* days an original is kept for its submitter */
	char *notify_config;   /* notification settings (INI); NULL: notification collection only */
	char *federation;      /* partner hubs file (renkei-federation(1)); NULL: none */
} taxii_config;

/* One row per option: name (INI key and --flag), argument name, default as
 * text, help. Used for --help, the man page and renkei.conf(5). */
typedef struct taxii_option {
	const char *name;
	const char *arg; /* NULL for a boolean switch */
	const char *default_text;
	const char *help;
} taxii_option;

const taxii_option *taxii_options(size_t *count);
void taxii_config_init(taxii_config *cfg);
void taxii_config_cleanup(taxii_config *cfg);
/* Sets one option by name from text, as a flag or INI line would. */
rk_err taxii_config_set(taxii_config *cfg, const char *name, const char *value,
			rk_errctx *ctx);
/* Reads an INI file ([hub] section); errors name file and line. */
rk_err taxii_config_load(taxii_config *cfg, const char *path, rk_errctx *ctx);
/* Checks the whole configuration for consistency (TLS files readable,
 * listen address parses, no plain HTTP off loopback without insecure_http). */
rk_err taxii_config_check(const taxii_config *cfg, rk_errctx *ctx);

/* ---------------------------------------------------------------- server */
/* taxii_server.c */

typedef struct taxii_server taxii_server;

rk_err taxii_server_start(const taxii_config *cfg, store *st, taxii_server **out,
			  rk_errctx *ctx);
/* The TCP port actually bound (useful with port 0). */
unsigned taxii_server_port(const taxii_server *srv);
/* Stops accepting, lets requests in flight finish, frees the server. */
void taxii_server_stop(taxii_server *srv);

/*
 * Opens the store, starts the server, logs where it listens, and serves
 * until SIGTERM or SIGINT; then shuts down gracefully. If `ready` is not
 * NULL it is called once the server listens (the demo prints its
 * instructions there). Returns the process exit status.
 */
int taxii_hub_run(const taxii_config *cfg, void (*ready)(void *arg, unsigned port),
		  void *ready_arg);

#endif
