/*
 * proto_hub.h: helpers the protocol tests share: a real hub as a child
 * process, an HTTP client over libcurl, and running the renkei program
 * itself with its output captured.
 *
 * proto_hub_start makes a temporary data directory, applies the test
 * directory (tests/protocol/proto-directory.json) to its store in-process
 * (dir_from_file_json + dir_apply, as `renkei admin apply` does), then runs
 * `$RENKEI_BIN hub --data DIR --listen 127.0.0.1:0 --port-file DIR/port`
 * with stderr in DIR/hub.log, and waits for the port file. Every test
 * program arms a watchdog (proto_watchdog) that kills the hub and exits if
 * the program hangs; every HTTP request has a timeout.
 */
#ifndef RK_PROTO_HUB_H
#define RK_PROTO_HUB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "common.h"

/* Collections of the test directory. */
#define PROTO_GOV_COLL "9f3c1e2a-6b7d-4c8e-9a0b-1c2d3e4f5a60"
#define PROTO_NATION_COLL "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
#define PROTO_INTL_COLL "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b"
/* intl's drop box: partners may write but not read (TAXII 2.1 section 5.7). */
#define PROTO_DROP_COLL "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
#define PROTO_GOV_OBJECTS "/gov/collections/" PROTO_GOV_COLL "/objects/"
#define PROTO_NATION_OBJECTS "/nation/collections/" PROTO_NATION_COLL "/objects/"
#define PROTO_TAXII "application/taxii+json;version=2.1"

typedef struct proto_hub {
	pid_t pid;
	unsigned port;
	char dir[256];
	char extra[8][320]; /* extra hub arguments */
	int n_extra;
	bool tls; /* talk https (certificate not verified) */
	bool keep_port; /* restart on the port of the last start, not a new one */
} proto_hub;

/* Kills the running hub (if any) and exits 1 after `seconds`. */
void proto_watchdog(unsigned seconds);
/* Data directory + directory applied + hub started. Returns false (and
 * prints why) on failure. */
bool proto_hub_start(proto_hub *h);
/* Only the data directory and the applied directory (no hub yet). */
bool proto_hub_prepare(proto_hub *h);
/* Starts the hub again on the same data directory (on the same port when
 * keep_port is set, so clients that know its URL find it again). */
bool proto_hub_restart(proto_hub *h);
/* SIGTERM (graceful) or SIGKILL; waits for the process, escalating to
 * SIGKILL after 10 s. Returns the exit status (or 128+signal). */
int proto_hub_stop(proto_hub *h, int sig);
/* Stops the hub and removes the data directory. */
void proto_hub_cleanup(proto_hub *h);
/* Applies a directory file to the hub's store (while it runs). */
bool proto_hub_apply(proto_hub *h, const char *directory_file);
/* The same for a directory given as text (kept as DIR/directory.json). */
bool proto_hub_apply_text(proto_hub *h, const char *directory_text);

/* Token of a user of the test directory ("npa-analyst"); NULL if unknown. */
const char *proto_token(const char *user);

typedef struct proto_resp {
	long status;
	char *body;
	size_t len;
	char *headers; /* raw header block */
	json_t *json;  /* parsed body, NULL if not JSON */
} proto_resp;

/*
 * One request to the hub. user: a user name of the test directory (bearer
 * token), NULL for none. headers: NULL-terminated "Name: value" list.
 * body may be NULL. Returns false only when no HTTP answer came.
 */
bool proto_http(const proto_hub *h, const char *method, const char *path,
		const char *user, const char *const *headers, const char *body,
		size_t body_len, proto_resp *out);
/* GET with the user's token and Accept: taxii. */
bool proto_get(const proto_hub *h, const char *path, const char *user, proto_resp *out);
/* POST an envelope (JSON text) with the TAXII content type. */
bool proto_post(const proto_hub *h, const char *path, const char *user,
		const char *body, proto_resp *out);
/* Value of a response header (first match, case-insensitive) copied into
 * out; false if absent. */
bool proto_header(const proto_resp *r, const char *name, char *out, size_t outlen);
/* The same over a block of raw header lines (NULL: none). */
bool proto_header_in(const char *headers, const char *name, char *out, size_t outlen);
void proto_resp_free(proto_resp *r);

/* A valid indicator with a given UUID suffix number and modified time. */
char *proto_indicator(unsigned n, const char *modified);
/* An envelope of `count` fresh indicators numbered from `first`. */
char *proto_envelope(unsigned first, unsigned count);

/* ------------------------------------------------ running the program
 * These assert (cmocka) on what a test cannot go on without: a file that
 * cannot be written, a program that cannot be started. */

/* What one run of the program left: its exit status (128 when it did not
 * exit), stdout whole (NUL-terminated), and the start of its stderr. */
typedef struct proto_run_result {
	int rc;
	rk_buf out;
	char err[8192];
} proto_run_result;

/* The absolute path of $RENKEI_BIN (default build/renkei) into bin. */
void proto_bin(char *bin, size_t n);
/* Runs `<program> args` through the shell, in directory cwd (NULL: this
 * one), stdout captured and stderr in the file errpath. args may carry
 * redirections of its own. The caller frees r with proto_run_free. */
void proto_run(const char *cwd, const char *errpath, const char *args, proto_run_result *r);
void proto_run_free(proto_run_result *r);
/* proto_run in this directory with stderr in the hub's <dir>/cli-stderr. */
void proto_hub_run(const proto_hub *h, const char *args, proto_run_result *r);
/* One JSON value a line, as the sensor writes alerts: a new array. Every
 * line must be whole and valid JSON. */
json_t *proto_json_lines(const char *text);

/* Makes a fresh /tmp/<prefix>-XXXXXX into dir (n >= 64); false on error. */
bool proto_tmpdir(char *dir, size_t n, const char *prefix);
/* Removes dir and everything below it; system()'s result (0: done). */
int proto_rmtree(const char *dir);
/* Writes text to dir/name, fopen mode "w" or "a". */
void proto_write_file(const char *dir, const char *name, const char *mode, const char *text);
/* The identity id of the organisation named org in the test directory. */
void proto_identity(const char *org, char *out, size_t n);

/* ------------------------------------------------ a server that misbehaves */

/* A server on a loopback port that accepts connections and answers each
 * with `reply` (NULL: says nothing and holds the connection until it is
 * stopped): a TAXII server answering garbage, or one that stalls. */
typedef struct proto_bad_server {
	int fd;
	unsigned port;
	const char *reply;
	pthread_t th;
	atomic_bool stop;
} proto_bad_server;

void proto_bad_server_start(proto_bad_server *b, const char *reply);
void proto_bad_server_stop(proto_bad_server *b);

/* ------------------------------------------------ the small directory
 * What the confidentiality and export tests share: organisations cert,
 * min, op and si members of community nat, si serving the client cli, gov
 * holding cert and min, far belonging nowhere; collections NATC (nat,
 * GREEN), PUB (nat, CLEAR, public), GOVC (gov, AMBER); users named in the
 * T_* tokens (op-s is a sensor, whose role reads no collection). Tokens
 * double as user names for proto_http. */
#define NATC "11111111-1111-4111-8111-111111111111"
#define PUB "22222222-2222-4222-8222-222222222222"
#define GOVC "33333333-3333-4333-8333-333333333333"
#define NAT_OBJECTS "/nat/collections/" NATC "/objects/"
#define PUB_OBJECTS "/nat/collections/" PUB "/objects/"
#define GOV_OBJECTS "/gov/collections/" GOVC "/objects/"

#define T_CERT "tok-cert-analyst-0123456789abcdef0123456789"
#define T_OP "tok-op-analyst-0123456789abcdef0123456789ab"
#define T_OPS "tok-op-sensor-0123456789abcdef0123456789abc"
#define T_OPB "tok-op-second-0123456789abcdef0123456789ab"
#define T_MIN "tok-min-reader-0123456789abcdef0123456789ab"
#define T_SI "tok-si-analyst-0123456789abcdef0123456789ab"
#define T_CLI "tok-cli-reader-0123456789abcdef0123456789ab"
#define T_FAR "tok-far-analyst-0123456789abcdef0123456789a"


#define TLP_CLEAR "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
#define TLP_GREEN "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
#define TLP_AMBER "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
#define TLP_AMBER_STRICT "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
#define TLP_RED "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
#define EXT "extension-definition--4e3c1a2b-8f7d-4c6e-9b5a-1d2e3f4a5b6c"
/* identity--UUIDv5(90d694ba-160d-4d91-a625-be23d4aebeb8, "op") */
#define OP_IDENTITY "identity--234b1d50-652e-5399-9153-fa5d96e03551"

extern const char PROTO_SMALL_DIRECTORY[];

#endif
