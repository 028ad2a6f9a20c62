/*
 * fuzz_logs_json.h: the driver the two JSON log harnesses share
 * (fuzz_logs_eve.c, fuzz_logs_zeekjson.c); each brings its table of
 * templates.
 *
 * Input: byte 0 picks a template; the rest is put between the template's
 * two halves and fed as one line, so the fuzzer works on the value of one
 * field the parser takes (a string to unescape, an array of answers, a
 * nested object) inside an otherwise well-formed line. A byte 0 past the
 * table means no template: the rest is a log of JSON lines, fed one by one
 * (byte 0 odd) or as a file through the buffered reader with a 512-byte
 * line limit (even). The reader's format is fixed to JSON except for
 * byte 0 values 0xff, 0xfe, which detect it per line. The checks on every
 * observable are fuzz_lines.h's.
 */
#ifndef RK_FUZZ_LOGS_JSON_H
#define RK_FUZZ_LOGS_JSON_H

#include "fuzz_lines.h"

typedef struct fuzz_tmpl {
	const char *before, *after;
} fuzz_tmpl;

static inline void fuzz_json_run(const fuzz_tmpl *t, size_t nt,
				 const uint8_t *data, size_t size)
{
	fuzz_lines s = {0};
	logs_reader r;
	uint8_t sel;

	if (size < 1)
		return;
	sel = data[0];
	data++;
	size--;
	if (logs_reader_init(&r, sel >= 0xfe ? LOGS_FMT_AUTO : LOGS_FMT_JSON,
			     sel >= nt && !(sel & 1) ? 512 : 0,
			     fuzz_lines_check, NULL, &s) != RK_OK)
		return;
	s.r = &r;
	if (sel < nt) {
		size_t bl = strlen(t[sel].before), al = strlen(t[sel].after);
		uint8_t *line = malloc(bl + size + al + 1);
		if (line) {
			memcpy(line, t[sel].before, bl);
			if (size)
				memcpy(line + bl, data, size);
			memcpy(line + bl + size, t[sel].after, al);
			fuzz_lines_one(&r, &s, line, bl + size + al);
			free(line);
		}
	} else if (sel & 1) {
		fuzz_lines_feed(&r, &s, data, size);
	} else {
		fuzz_lines_fd(&r, &s, data, size);
	}
	fuzz_lines_done(&s, &r);
	logs_reader_cleanup(&r);
}

#endif
