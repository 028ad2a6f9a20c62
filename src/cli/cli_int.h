/*
 * cli_int.h: what the `renkei` subcommands share, inside src/cli only.
 *
 * cli.h is the module's public face (cli_main and the handlers). This header
 * holds the pieces several subcommand files use and the tests reach into:
 * usage lookup in the command table (cli_main.c), the options that say
 * which hub `push` and `get` talk to (the client is src/client), the offline
 * validator behind `validate` (cli_validate.c), and the sample national
 * directory and intelligence generator behind `demo` (cli_sample.c).
 *
 * Ownership follows the project rules: x_new/x_free, x_init/x_cleanup; JSON
 * returned through an out-parameter is a new reference the caller decrefs.
 */
#ifndef RK_CLI_INT_H
#define RK_CLI_INT_H

#include "cli.h"
#include "client.h"
#include "common.h"
#include "uplink.h"

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

/* ---------------------------------------------------------------- remote */
/* cli_main.c; the client itself is src/client (client.h). */

/* Long-option codes shared by the network subcommands, and the handler that
 * fills a client_remote from them; returns false for codes it does not own. */
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
bool cli_remote_option(client_remote *r, int code, const char *arg);

/* ---------------------------------------------------------------- feeds */
/* cli_feed_run.c: `feed run` and `feed status` (argv[0] the action). */
int cli_feed_run(int argc, char **argv);

/* ---------------------------------------------------------------- uplink */
/* cli_uplink.c */

/* Reads a token file: its first line, surrounding blanks removed (heap
 * string the caller frees). RK_EINVAL when path is NULL or the file is
 * empty; the message names the file. */
rk_err cli_read_token(const char *path, char **out, rk_errctx *ctx);

/* What `renkei sensor --hub ...` was told; strings borrowed. */
typedef struct cli_uplink_opts {
	const char *url;          /* --hub */
	const char *token_file;   /* --token-file: the sensor user's token */
	const char *collection;   /* --collection */
	const char *root;         /* --root (NULL: the hub's default API root) */
	const char *cacert;       /* --cacert */
	bool insecure;            /* --insecure */
	const char *identity;     /* --identity: identity--... of the organisation */
	const char *spool_dir;    /* --spool: spool and feed state */
	double interval_seconds;  /* --sighting-interval */
	double poll_seconds;      /* --poll */
	double timeout_seconds;   /* per request; 0: RK_UPLINK_TIMEOUT_SECONDS */
} cli_uplink_opts;

typedef struct cli_uplink cli_uplink;

/* Called on the uplink thread after a poll applied objects, to rebuild and
 * swap the matcher. */
typedef void (*cli_uplink_changed_fn)(void *arg);

/*
 * Opens the feed state (replaying the object log through apply), the
 * spool and the sighting aggregator, and polls the hub once, so the
 * caller can build its first matcher: a hub that does not answer is
 * reported on stderr and the sensor starts with what the log held. Errors:
 * bad options (RK_EINVAL naming the flag), an unusable token file or state
 * directory.
 */
rk_err cli_uplink_open(const cli_uplink_opts *o, uplink_apply_fn apply, void *arg,
		       cli_uplink **out, rk_errctx *ctx);
/* Starts the uplink thread (polls, closes intervals, delivers). */
rk_err cli_uplink_start(cli_uplink *u, cli_uplink_changed_fn changed, void *arg,
			rk_errctx *ctx);
/* One hit: thread-safe, for the sensor's hit sink. */
void cli_uplink_hit(cli_uplink *u, const char *indicator_id, const char *const *markings,
		    size_t n_markings, rk_time seen);
/* Stops the thread, closes the current interval, delivers what the hub
 * takes and reports on err what stays in the spool. Returns the number
 * of sightings left in the spool. */
uint64_t cli_uplink_finish(cli_uplink *u, FILE *err);
void cli_uplink_free(cli_uplink *u);

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
