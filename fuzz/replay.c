/*
 * replay.c: runs a libFuzzer harness over saved inputs, without libFuzzer.
 *
 * `make check` links every fuzz/fuzz_<name>.c with this driver and runs it
 * on fuzz/corpus/<name>/, so inputs that once crashed a parser keep being
 * tried on every test run, under the sanitizers when built with SAN=1.
 * Arguments are files or directories (read one level deep). The closing
 * line counts inputs replayed; any crash or sanitizer report fails the run.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path, size_t *count)
{
	char *data = NULL;
	size_t len = 0;
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	if (rk_read_file(path, 64u * 1024 * 1024, &data, &len, &ctx)) {
		char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG];
		rk_errctx_format(&ctx, msg, sizeof msg);
		fprintf(stderr, "replay: %s\n", msg);
		return 1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	free(data);
	(*count)++;
	return 0;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int failures = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: no such file or directory\n", argv[i]);
			failures++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			failures += replay_file(argv[i], &count);
			continue;
		}
		DIR *d = opendir(argv[i]);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
			failures += replay_file(path, &count);
		}
		if (d)
			closedir(d);
	}
	printf("replayed %zu inputs\n", count);
	return failures ? 1 : 0;
}
