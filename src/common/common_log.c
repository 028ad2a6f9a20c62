/*
 * common_log.c: structured logs as JSON lines.
 *
 * One line per event: {"ts": RFC 3339, "level": ..., "event": ..., fields}.
 * The sink and level are set once by a program's main before threads start
 * and only read afterwards; each line is assembled in memory and written
 * with a single fwrite under the stream lock, so lines from concurrent
 * request threads never interleave. The line is serialised into an rk_buf
 * (rk_json_dump_to), never with json_dumps, whose text is jansson's memory
 * and must not reach free() (common_arena.c).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"

static FILE *log_sink;
static rk_log_level log_min = RK_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void rk_log_setup(FILE *sink, rk_log_level min_level)
{
	log_sink = sink;
	log_min = min_level;
}

bool rk_log_level_parse(const char *s, rk_log_level *out)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(level_names); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (rk_log_level)i;
			return true;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = RK_LOG_WARN;
		return true;
	}
	return false;
}

void rk_log(rk_log_level level, const char *event, json_t *fields)
{
	char ts[RK_TIME_BUF];
	FILE *sink = log_sink ? log_sink : stderr;

	if (level < log_min || (unsigned)level >= RK_ARRAY_LEN(level_names)) {
		json_decref(fields);
		return;
	}
	rk_time_format(rk_time_now(), 6, ts);
	json_t *line = json_object();
	if (!line) {
		json_decref(fields);
		return;
	}
	json_object_set_new(line, "ts", json_string(ts));
	json_object_set_new(line, "level", json_string(level_names[level]));
	json_object_set_new(line, "event", json_string(event));
	if (json_is_object(fields))
		json_object_update(line, fields);
	json_decref(fields);
	rk_buf text;
	rk_buf_init(&text);
	rk_err err = rk_json_dump_to(&text, line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(line);
	if (err == RK_OK && rk_buf_append(&text, "\n", 1) == RK_OK) {
		flockfile(sink);
		fwrite(text.data, 1, text.len, sink);
		fflush(sink);
		funlockfile(sink);
	}
	rk_buf_cleanup(&text);
}

void rk_logf(rk_log_level level, const char *event, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level < log_min)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	rk_log(level, event, json_pack("{s:s}", "msg", msg));
}
