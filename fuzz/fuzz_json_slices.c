/*
 * fuzz_json_slices.c: libFuzzer harness for rk_json_array_slices, which
 * the hub runs over every posted envelope to find each object's bytes.
 *
 * The scanner must never read outside its input, whatever the bytes. And
 * whenever jansson accepts the input (with the hub's bounds), the scanner
 * must agree with it: the same number of elements in "objects", and every
 * element it calls canonical must be byte for byte what rk_json_dump
 * writes for the parsed element; otherwise the hub would store text that
 * differs from what it used to serialise. A disagreement aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_SLICES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rk_json_slice sl[FUZZ_MAX_SLICES];
	size_t n = 0;
	json_t *v = NULL;
	rk_errctx ctx;

	rk_err err = rk_json_array_slices((const char *)data, size, "objects",
					  RK_MAX_JSON_DEPTH, sl, FUZZ_MAX_SLICES, &n);
	for (size_t i = 0; i < n; i++)
		if (sl[i].off > size || sl[i].len > size - sl[i].off)
			abort();
	rk_errctx_clear(&ctx);
	if (rk_json_parse((const char *)data, size, RK_MAX_JSON_DEPTH, &v, &ctx) != RK_OK)
		return 0;
	json_t *arr = json_is_object(v) ? json_object_get(v, "objects") : NULL;
	if (err == RK_OK) {
		if (!json_is_array(arr) || json_array_size(arr) != n)
			abort();
		for (size_t i = 0; i < n; i++) {
			if (!sl[i].canonical)
				continue;
			char *dump = rk_json_dump(json_array_get(arr, i));
			if (!dump)
				abort();
			if (strlen(dump) != sl[i].len ||
			    memcmp(dump, data + sl[i].off, sl[i].len) != 0) {
				fprintf(stderr, "canonical slice %zu differs from dump %s\n",
					i, dump);
				abort();
			}
			free(dump);
		}
	} else if (err == RK_EPARSE && json_is_array(arr)) {
		/* Valid JSON with an "objects" array: only an escaped key
		 * (RK_ENOTFOUND) or the bounds may stop the scanner. */
		abort();
	}
	json_decref(v);
	return 0;
}
