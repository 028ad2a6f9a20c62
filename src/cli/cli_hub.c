/*
 * cli_hub.c: `renkei hub`, the TAXII 2.1 hub as a foreground process.
 *
 * The flags are the rows of the taxii option table (taxii_options()): every
 * `--NAME VALUE` (or `--NAME=VALUE`; a boolean switch takes no value) is
 * the [hub] key NAME of renkei.conf(5). Precedence: built-in defaults, then
 * the --config file, then flags, whatever their order on the command line.
 * `-n` / `--check-config` validates the resulting configuration, says so
 * and exits 0 or 1 without opening the store or listening.
 *
 * Logs go to stderr as JSON lines (one per request); exit status 0 after a
 * graceful stop on SIGTERM/SIGINT, 1 when the hub could not start, 2 on a
 * usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"
#include "taxii.h"

static const taxii_option *find_opt(const char *name, size_t len)
{
	size_t n = 0;
	const taxii_option *opts = taxii_options(&n);
	for (size_t i = 0; i < n; i++)
		if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

int cli_cmd_hub(int argc, char **argv)
{
	taxii_config cfg;
	rk_errctx ctx;
	const char *config_file = NULL;
	bool check_only = false;
	int status = 1;
	char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG];

	taxii_config_init(&cfg);
	rk_errctx_clear(&ctx);

	/* Pass 1: the meta flags (--config, -n, --help). */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			cli_usage("hub", stdout);
			status = 0;
			goto out;
		} else if (strcmp(a, "-n") == 0 || strcmp(a, "--check-config") == 0) {
			check_only = true;
		} else if (strcmp(a, "--config") == 0) {
			if (i + 1 >= argc) {
				status = cli_usage_error("hub", "--config needs a FILE");
				goto out;
			}
			config_file = argv[++i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			config_file = a + 9;
		}
	}
	if (config_file && taxii_config_load(&cfg, config_file, &ctx) != RK_OK) {
		rk_errctx_format(&ctx, msg, sizeof msg);
		cli_error("hub", "%s", msg);
		goto out;
	}

	/* Pass 2: option flags, overriding the file. */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-n") == 0 || strcmp(a, "--check-config") == 0 ||
		    strncmp(a, "--config=", 9) == 0)
			continue;
		if (strcmp(a, "--config") == 0) {
			i++;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			status = cli_usage_error("hub", "unexpected argument '%s'", a);
			goto out;
		}
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		const taxii_option *o = find_opt(name, eq ? (size_t)(eq - name) : strlen(name));
		if (!o) {
			status = cli_usage_error("hub", "unknown option '%s'", a);
			goto out;
		}
		const char *value = eq ? eq + 1 : NULL;
		if (!value && o->arg) {
			if (i + 1 >= argc) {
				status = cli_usage_error("hub", "--%s needs %s", o->name, o->arg);
				goto out;
			}
			value = argv[++i];
		}
		if (taxii_config_set(&cfg, o->name, value, &ctx) != RK_OK) {
			rk_errctx_format(&ctx, msg, sizeof msg);
			status = cli_usage_error("hub", "%s", msg);
			goto out;
		}
	}

	if (taxii_config_check(&cfg, &ctx) != RK_OK) {
		rk_errctx_format(&ctx, msg, sizeof msg);
		cli_error("hub", "configuration: %s", msg);
		status = 1;
		goto out;
	}
	if (check_only) {
		printf("renkei hub: configuration OK (data %s, listen %s, %s)\n", cfg.data,
		       cfg.listen, cfg.tls_cert ? "TLS" : "plain HTTP");
		status = 0;
		goto out;
	}
	rk_log_level level = RK_LOG_INFO;
	if (cfg.log_level)
		rk_log_level_parse(cfg.log_level, &level);
	rk_log_setup(stderr, level);
	status = taxii_hub_run(&cfg, NULL, NULL);
out:
	taxii_config_cleanup(&cfg);
	return status;
}
