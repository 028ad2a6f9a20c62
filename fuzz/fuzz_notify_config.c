/*
 * fuzz_notify_config.c: libFuzzer harness for the notification
 * configuration file (notify module, notify_config_parse).
 *
 * The bytes of the input are the file's text (inputs holding a NUL byte
 * are refused first, as notify_config_load does). Invariants checked: a
 * refusal carries a message and a place ("fuzz.ini:N" or the file name);
 * an accepted configuration keeps its own rules: retry_max at least
 * retry_initial, every webhook with a secret of at least
 * NOTIFY_SECRET_MIN bytes, e-mail only with an SMTP server and sender,
 * each organisation once, digest intervals within their range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536 || memchr(data, '\0', size))
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	notify_config c;
	rk_errctx ctx;
	notify_config_init(&c);
	rk_errctx_clear(&ctx);
	rk_err err = notify_config_parse(&c, text, "fuzz.ini", &ctx);
	if (err) {
		if (!ctx.msg[0] || strncmp(ctx.path, "fuzz.ini", 8) != 0)
			abort();
	} else {
		if (c.retry_max_seconds < c.retry_initial_seconds || c.max_attempts < 1)
			abort();
		for (size_t i = 0; i < c.n_orgs; i++) {
			const notify_org_config *o = &c.orgs[i];
			if (o->webhook_url && (!o->secret || o->secret_len < NOTIFY_SECRET_MIN))
				abort();
			if (o->n_emails && (!c.smtp_url || !c.smtp_from))
				abort();
			if (o->digest_seconds < 1 || o->digest_seconds > 7 * 86400)
				abort();
			for (size_t k = 0; k < i; k++)
				if (strcmp(c.orgs[k].org, o->org) == 0)
					abort();
		}
	}
	notify_config_cleanup(&c);
	free(text);
	return 0;
}
