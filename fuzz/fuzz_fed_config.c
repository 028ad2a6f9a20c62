/*
 * fuzz_fed_config.c: libFuzzer harness for the federation file parser
 * (fed_config_load, src/federation/fed_config.c), which reads what an
 * operator wrote: any byte string is either a configuration whose every
 * partner is complete, or an error that names file:line and says why.
 *
 * The input is written to a temporary file (the parser reads a path);
 * token files it names are read within RK_MAX_TOKEN_FILE. Anything else
 * than the two outcomes aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "federation.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/renkei-fuzz-fed-XXXXXX";
	int fd = mkstemp(path);
	fed_config *cfg = NULL;
	rk_errctx ctx;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	rk_errctx_clear(&ctx);
	if (fed_config_load(path, NULL, &cfg, &ctx) == RK_OK) {
		for (size_t i = 0; i < cfg->n_partners; i++) {
			const fed_partner *p = &cfg->partners[i];
			if (!p->name || !p->url || !p->token || !p->org || !p->community ||
			    !p->n_maps || !p->public_key_b64[0] || !p->interval || !p->timeout)
				abort();
		}
		fed_config_free(cfg);
	} else if (!ctx.msg[0] || (ctx.code != RK_ENOMEM && !strstr(ctx.path, path))) {
		abort(); /* every refusal says what and where */
	}
	unlink(path);
	return 0;
}
