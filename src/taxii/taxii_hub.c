/*
 * taxii_hub.c: the hub process: open the store, serve, stop on a signal.
 *
 * SIGTERM and SIGINT are blocked before any thread starts, so every thread
 * libmicrohttpd and the server create inherits the mask and the signals
 * can only be taken by sigwait() in the calling thread. That thread then
 * stops the server (in-flight requests finish, see taxii_server_stop) and
 * closes the store, which is what makes the shutdown graceful: no request
 * is cut off, no write is interrupted, the SQLite WAL is checkpointed on
 * close. SIGPIPE is ignored (a client that hangs up is not our death).
 */
#include <signal.h>
#include <string.h>

#include "taxii_int.h"

int taxii_hub_run(const taxii_config *cfg, void (*ready)(void *arg, unsigned port),
		  void *ready_arg)
{
	store *st = NULL;
	taxii_server *srv = NULL;
	rk_errctx ctx;
	sigset_t set, old;
	int status = 1, sig = 0;
	char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG];

	rk_errctx_clear(&ctx);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	signal(SIGPIPE, SIG_IGN);

	if (taxii_config_check(cfg, &ctx) != RK_OK)
		goto fail;
	if (store_open(cfg->data, &st, &ctx) != RK_OK)
		goto fail;
	if (taxii_server_start(cfg, st, &srv, &ctx) != RK_OK)
		goto fail;
	rk_log(RK_LOG_INFO, "listening",
	       json_pack("{sssIssss}", "url", srv->listen_url, "port",
			 (json_int_t)taxii_server_port(srv), "data", cfg->data, "tls",
			 cfg->tls_cert ? "on" : "off"));
	if (ready)
		ready(ready_arg, taxii_server_port(srv));

	while (sigwait(&set, &sig) != 0)
		;
	rk_log(RK_LOG_INFO, "stopping",
	       json_pack("{ss}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
	taxii_server_stop(srv);
	srv = NULL;
	store_close(st);
	st = NULL;
	rk_log(RK_LOG_INFO, "stopped", NULL);
	status = 0;
	goto out;
fail:
	rk_errctx_format(&ctx, msg, sizeof msg);
	rk_log(RK_LOG_ERROR, "hub_failed", json_pack("{ss}", "error", msg));
	fprintf(stderr, "renkei hub: %s\n", msg);
out:
	taxii_server_stop(srv);
	store_close(st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return status;
}
