/*
 * cli_int.h: what the `renkei` subcommands share, inside src/cli only.
 *
 * cli.h is the module's public face (cli_main and the handlers). This header
 * holds the pieces several subcommand files use and the tests reach into:
 * usage lookup in the command table (cli_main.c), the TAXII client over
 * libcurl that `push` and `get` talk through (cli_http.c), the offline
 * validator behind `validate` (cli_validate.c), and the sample national
 * directory and intelligence generator behind `demo` (cli_sample.c).
 *
 * Ownership follows the project rules: x_new/x_free, x_init/x_cleanup; JSON
 * returned through an out-parameter is a new reference the caller decrefs.
 */
#ifndef RK_CLI_INT_H
#define RK_CLI_INT_H

#include "cli.h"
#include "common.h"

/* ---------------------------------------------------------------- main */
/* cli_main.c */

/* The name the program was started as (argv[0] of cli_main), for messages
 * that print runnable commands; "renkei" before cli_main ran. */
const char *cli_progname(void);
/* Prints the usage text of a subcommand from the command table. */
void cli_usage(const char *cmd, FILE *out);
/* Prints "renkei CMD: <message>" and a pointer to `renkei help CMD`;
 * returns 2, the usage-error exit status. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------- http */
/* cli_http.c */

/* Where a TAXII server is and how to reach it; strings are borrowed. */
typedef struct cli_remote {
	const char *url;    /* server base, e.g. "https://hub.example:8450" */
	const char *token;  /* bearer token; NULL sends no credentials */
	const char *root;   /* API root name ("nation") or URL; NULL: the default */
	const char *cacert; /* PEM bundle to trust; NULL: system store */
	bool insecure;      /* skip TLS certificate checks (development only) */
} cli_remote;

/* Long-option codes shared by the network subcommands, and the handler that
 * fills a cli_remote from them; returns false for codes it does not own. */
enum {
	CLI_OPT_URL = 0x100,
	CLI_OPT_TOKEN,
	CLI_OPT_ROOT,
	CLI_OPT_CACERT,
	CLI_OPT_INSECURE,
	CLI_OPT_FIRST_FREE, /* first code a subcommand may use for its own */
};
#define CLI_REMOTE_LONGOPTS                                             \
	{ "url", required_argument, NULL, CLI_OPT_URL },                \
	{ "token", required_argument, NULL, CLI_OPT_TOKEN },            \
	{ "root", required_argument, NULL, CLI_OPT_ROOT },              \
	{ "cacert", required_argument, NULL, CLI_OPT_CACERT },          \
	{ "insecure", no_argument, NULL, CLI_OPT_INSECURE }
/* Defaults from the environment: RENKEI_URL (else http://127.0.0.1:8450),
 * RENKEI_TOKEN. */
void cli_remote_init(cli_remote *r);
bool cli_remote_option(cli_remote *r, int code, const char *arg);

#define CLI_TAXII_MEDIA "application/taxii+json;version=2.1"

typedef struct cli_http cli_http;

rk_err cli_http_new(const cli_remote *r, cli_http **out, rk_errctx *ctx);
void cli_http_free(cli_http *h);
/*
 * One TAXII request. `url` is absolute, or a path ("/taxii2/") resolved
 * against the server base. body may be NULL (GET). On a 2xx answer *resp is
 * the parsed JSON body (NULL when empty). On any other status the result is
 * the rk_err whose HTTP status matches, with ctx naming the status and the
 * TAXII error resource's title and description. *status gets the HTTP
 * status when one was received (may be NULL).
 */
rk_err cli_http_request(cli_http *h, const char *method, const char *url,
			const json_t *body, long *status, json_t **resp,
			rk_errctx *ctx);
/* Absolute URL of the API root to use, ending in '/': --root as given (a
 * name under the server base, or a URL), else the default API root that
 * discovery announces. Caller frees. */
rk_err cli_http_root_url(cli_http *h, char **out, rk_errctx *ctx);
/* Percent-encodes a query value (ids, timestamps); caller frees. */
char *cli_http_escape(cli_http *h, const char *s);

/* ---------------------------------------------------------------- validate */
/* cli_validate.c */

typedef struct cli_validate_opts {
	bool quiet;  /* only the summary (and nothing at all with json) */
	bool json;   /* one JSON report instead of lines */
	bool strict; /* unknown object types are errors, not warnings */
	bool no_warnings;
} cli_validate_opts;

/*
 * Validates the STIX documents in files[0..nfiles) ("-" is standard input):
 * each a bundle, a TAXII envelope ({"objects": [...]}), a JSON array of
 * objects, or one object. Each member is validated separately so every
 * invalid one is reported. Reports and the closing summary go to out; a
 * file that cannot be read is reported on err. Returns the exit status:
 * 0 all valid, 1 something invalid or unreadable.
 */
int cli_validate_run(int nfiles, char **files, const cli_validate_opts *opts,
		     FILE *out, FILE *err);

/* ---------------------------------------------------------------- sample */
/* cli_sample.c */

typedef struct cli_sample_user {
	const char *name;
	const char *org;
	const char *role; /* directory role name */
} cli_sample_user;

/* The users of the sample directory; tokens are made by the caller. */
const cli_sample_user *cli_sample_users(size_t *count);
/* The sample national directory as a directory file (the format `renkei
 * admin apply` reads), with tokens[i] as the token of users[i]. New
 * reference, NULL on out-of-memory. */
json_t *cli_sample_directory(const char *const *tokens);

/* Identity id (identity--<uuid>) of an organisation, as the directory
 * assigns it; NULL for an organisation it does not know. */
typedef const char *(*cli_identity_fn)(void *arg, const char *org_id);

typedef struct cli_sample_item {
	json_t *object;         /* owned by the set */
	const char *org;        /* organisation that publishes it */
	const char *collection; /* collection id it goes to */
} cli_sample_item;

typedef struct cli_sample_set {
	cli_sample_item *items;
	size_t n;
	size_t cap;
} cli_sample_set;

/*
 * Generates sample threat intelligence: clusters of threat actor, intrusion
 * set, malware, campaign, indicators (IPv4, domain, URL and file-hash
 * patterns), attack patterns, relationships, sightings and reports, each
 * published by the organisation that would publish it into the collection
 * where it belongs. At least `target` objects (the last cluster completes).
 * Deterministic: the same seed and target give the same objects, ids and
 * timestamps, so storing them again only finds duplicates. Network
 * indicators use documentation addresses (RFC 5737) and names (RFC 2606).
 */
rk_err cli_sample_generate(uint64_t seed, size_t target, cli_identity_fn identity,
			   void *identity_arg, cli_sample_set *out, rk_errctx *ctx);
void cli_sample_set_cleanup(cli_sample_set *s);

#endif
