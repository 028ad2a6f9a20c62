/*
 * cli.h: the `renkei` command line.
 *
 * One table of subcommands (cli_main.c: name, handler, one-line summary,
 * usage text) drives dispatch, `renkei --help` and `renkei help CMD`. Each
 * subcommand lives in its own file (cli_<name>.c) and is a thin layer over
 * the modules: it parses flags, calls the module, prints results and errors,
 * and returns the process exit status (0 success, 1 failure, 2 usage error).
 *
 * Conventions every subcommand keeps: errors go to stderr as
 * "renkei CMD: what: why"; machine output (JSON) goes to stdout; progress is
 * shown only when stderr is a terminal; --help prints the command's usage.
 */
#ifndef RK_CLI_H
#define RK_CLI_H

#include <stdarg.h>

#include "common.h"

/* cli_main.c */
int cli_main(int argc, char **argv);
/* Prints "renkei CMD: <message>" to stderr (printf-style). */
void cli_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* cli_error with the error context's "where: why"; returns 1, the exit
 * status of a failed command. */
int cli_fail(const char *cmd, const rk_errctx *ctx);
/* A usage error: the message, then "usage: renkei CMD USAGE" (or "try:
 * renkei CMD --help" when usage is NULL); returns 2, the usage exit status. */
int cli_usage_errorv(const char *cmd, const char *usage, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Subcommand handlers: argv[0] is the subcommand name. */
int cli_cmd_hub(int argc, char **argv);      /* cli_hub.c */
int cli_cmd_admin(int argc, char **argv);    /* cli_admin.c */
int cli_cmd_audit(int argc, char **argv);    /* cli_audit.c */
int cli_cmd_review(int argc, char **argv);   /* cli_review.c */
int cli_cmd_push(int argc, char **argv);     /* cli_push.c */
int cli_cmd_get(int argc, char **argv);      /* cli_get.c */
int cli_cmd_validate(int argc, char **argv); /* cli_validate.c */
int cli_cmd_demo(int argc, char **argv);     /* cli_demo.c */
int cli_cmd_pattern(int argc, char **argv);  /* cli_pattern.c */
int cli_cmd_match(int argc, char **argv);    /* cli_pattern.c */
int cli_cmd_sensor(int argc, char **argv);   /* cli_sensor.c */
int cli_cmd_feed(int argc, char **argv);     /* cli_feed.c */
int cli_cmd_export(int argc, char **argv);   /* cli_export.c */
int cli_cmd_assets(int argc, char **argv);   /* cli_assets.c */
int cli_cmd_notify(int argc, char **argv);   /* cli_notify.c */
int cli_cmd_federation(int argc, char **argv); /* cli_federation.c */

#endif
