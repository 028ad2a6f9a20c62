/*
 * fuzz_uplink_spool.c: libFuzzer harness for the sightings spool reading
 * its own file back after damage (a crash, a bad disk, a foreign write).
 *
 * The input is written as DIR/spool.jsonl; the spool opens it (cutting a
 * torn last line) and delivers to a receiver that takes everything. Every
 * whole line must end up either delivered (a JSON object) or counted as
 * damaged, none twice, and the spool must be empty afterwards; anything
 * else aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uplink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void remove_dir(void)
{
	char path[128];
	snprintf(path, sizeof path, "%s/spool.jsonl", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/spool.pos", dir);
	unlink(path);
	rmdir(dir);
}

static rk_err take_all(void *arg, json_t *const *records, size_t n, uplink_sent *outcomes,
		       rk_errctx *ctx)
{
	size_t *got = arg;
	(void)records;
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		outcomes[i] = UPLINK_SENT_OK;
	*got += n;
	return RK_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[128];
	uplink_spool *s = NULL;
	uplink_spool_stats st;
	rk_errctx ctx;
	size_t got = 0, done = 0, whole = 0;

	if (!dir[0]) {
		snprintf(dir, sizeof dir, "/tmp/rk-fuzz-spool-XXXXXX");
		if (!mkdtemp(dir))
			abort();
		atexit(remove_dir);
		rk_log_setup(stderr, RK_LOG_ERROR); /* damaged lines are the point here */
	}
	snprintf(path, sizeof path, "%s/spool.pos", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/spool.jsonl", dir);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	for (size_t i = 0; i < size; i++)
		whole += data[i] == '\n';
	rk_errctx_clear(&ctx);
	if (uplink_spool_open(dir, 0, &s, &ctx) != RK_OK)
		abort();
	if (uplink_spool_deliver(s, take_all, &got, 7, &done, &ctx) != RK_OK)
		abort();
	uplink_spool_stats_get(s, &st);
	if (got != done || got + st.corrupt != whole || st.pending != 0 || st.bytes != 0)
		abort();
	uplink_spool_free(s);
	return 0;
}
