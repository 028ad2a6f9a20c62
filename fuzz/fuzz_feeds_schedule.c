/*
 * fuzz_feeds_schedule.c: libFuzzer harness for the feed schedule file
 * (feeds_schedule.c), which `renkei feed run` reads at start and on
 * SIGHUP.
 *
 * Input: the file's text, written to one temporary file per process (the
 * loader reads a path, through inih). A schedule that loads must hold
 * what the loader promises: a hub URL, a token file and a state
 * directory, at least one feed, each with a format, a source, a
 * collection, a marking and an interval within the bounds of limits.h,
 * and feeds_schedule_find must find every feed by its name. Errors are
 * fine; crashes, leaks and sanitizer reports are not.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feeds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void remove_file(void)
{
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	feeds_schedule *s = NULL;
	rk_errctx ctx;

	if (!path[0]) {
		snprintf(path, sizeof path, "/tmp/renkei-fuzz-schedule-XXXXXX");
		int fd = mkstemp(path);
		if (fd < 0)
			abort();
		close(fd);
		atexit(remove_file);
	}
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	rk_errctx_clear(&ctx);
	if (feeds_schedule_load(path, &s, &ctx) == RK_OK) {
		if (!s->hub || !s->token_file || !s->state || !s->n_jobs)
			abort();
		for (size_t i = 0; i < s->n_jobs; i++) {
			const feeds_job *j = &s->jobs[i];
			if (!j->has_format || !j->source || !j->collection ||
			    j->marking == STIX_TLP_NONE || j->interval < RK_FEED_MIN_INTERVAL ||
			    j->interval > RK_FEED_MAX_INTERVAL || feeds_schedule_find(s, j->name) != j)
				abort();
		}
		feeds_schedule_free(s);
	} else if (!ctx.msg[0]) {
		abort(); /* every refusal says why */
	}
	return 0;
}
