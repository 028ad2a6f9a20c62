/*
 * fuzz_logs.c: libFuzzer harness for the logs module's line parsers.
 *
 * The input is fed as one line to a reader of each format (Zeek TSV after a
 * DNS header, JSON, plain text, automatic), and then, split on newlines, as
 * the lines of a whole log to an automatic reader, so header lines change
 * the TSV state. Whatever the bytes: nothing is read or written outside the
 * line, every observable lies inside the line it came from, and every
 * observable that the classifier decided is classified the same again. A
 * breach aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct span {
	const char *lo, *hi;
} span;

static int check(const logs_obs *o, void *arg)
{
	span *s = arg;
	if (o->val < s->lo || o->len > (size_t)(s->hi - o->val))
		abort();
	if (o->field == LOGS_FIELD_TEXT || o->field == LOGS_FIELD_CONN_SRC ||
	    o->field == LOGS_FIELD_DNS_QUERY || o->field == LOGS_FIELD_TLS_SNI)
		if (logs_classify(o->val, o->len) != (int)o->kind)
			abort();
	return 0;
}

static const char zeek_head[] =
	"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"
	"#unset_field\t-\n#path\tdns\n"
	"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tquery\tanswers\tuser_agent\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const logs_format fmts[] = {LOGS_FMT_ZEEK_TSV, LOGS_FMT_JSON,
					   LOGS_FMT_TEXT, LOGS_FMT_AUTO};
	char *line = malloc(size + 1);
	char head[sizeof(zeek_head)];
	span sp;
	logs_reader r;
	if (!line)
		return 0;
	for (size_t f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++) {
		if (logs_reader_init(&r, fmts[f], 0, check, NULL, &sp) != RK_OK)
			break;
		if (fmts[f] == LOGS_FMT_ZEEK_TSV) {
			memcpy(head, zeek_head, sizeof(zeek_head));
			for (char *p = head, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
				sp.lo = p;
				sp.hi = nl;
				logs_feed_line(&r, p, (size_t)(nl - p));
			}
		}
		memcpy(line, data, size);
		sp.lo = line;
		sp.hi = line + size;
		logs_feed_line(&r, line, size);
		logs_reader_cleanup(&r);
	}
	/* the input as a whole log */
	if (logs_reader_init(&r, LOGS_FMT_AUTO, 0, check, NULL, &sp) == RK_OK) {
		memcpy(line, data, size);
		for (char *p = line, *end = line + size; p <= end;) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			char *e = nl ? nl : end;
			sp.lo = p;
			sp.hi = e;
			logs_feed_line(&r, p, (size_t)(e - p));
			if (!nl)
				break;
			p = nl + 1;
		}
		logs_reader_cleanup(&r);
	}
	free(line);
	return 0;
}
