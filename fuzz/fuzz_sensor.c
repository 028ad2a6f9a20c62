/*
 * fuzz_sensor.c: libFuzzer harness for what the sensor takes from outside
 * before any packet: STIX indicators (from a bundle file or a hub feed)
 * and input specs from the command line.
 *
 * The input is parsed as JSON; an object, an array of objects or a
 * bundle's objects go through sensor_intel_apply, then a matcher is built
 * and every kept indicator looked up. Invariants, whatever the bytes:
 * applying the same objects a second time changes nothing (versions are
 * idempotent), a lookup finds every id the set counted, and the copied-out
 * strings are NUL-terminated within their buffers. The same bytes are
 * loaded as a bundle text (the flat scanner's path, sensor_intel_load_text)
 * and must give the same counts as the jansson path when every object was
 * an object jansson accepts. The same bytes read from a file through a
 * 64-byte window (every object across its edges) must give exactly what
 * the text in memory gave: result, counts and refusals. The input is also
 * read as one FORMAT:PATH spec, whose path must point into it. A breach
 * aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sensor.h"
#include "sensor_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void apply_all(sensor_intel *in, const json_t *objs, bool expect_unchanged)
{
	size_t i;
	const json_t *o;
	json_array_foreach(objs, i, o)
	{
		bool changed = false;
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		rk_err err = sensor_intel_apply(in, o, &changed, &ctx);
		if (err == RK_EINVAL && ctx.msg[0] == '\0')
			abort(); /* a refusal always says why */
		if (expect_unchanged && changed)
			abort();
		if (err == RK_OK && changed) {
			sensor_indicator_info info;
			const char *id = json_string_value(json_object_get(o, "id"));
			if (!id || !sensor_intel_lookup(in, id, &info))
				abort();
			if (memchr(info.name, '\0', sizeof info.name) == NULL ||
			    info.n_markings > SENSOR_MARKINGS_MAX)
				abort();
		}
	}
}

/* Refusals heard, as one line each. */
static void note_bad(void *arg, size_t index, const char *id, const rk_errctx *why)
{
	rk_buf_printf(arg, "%zu %s %s %s\n", index, id, why->path, why->msg);
}

/* The bytes loaded from a file through a small window against the text. */
static void windows_agree(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/rk-fuzz-sensor-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return;
	bool written = write(fd, data, size) == (ssize_t)size;
	close(fd);
	char *copy = malloc(size + 1);
	sensor_intel *mem = sensor_intel_new(), *file = sensor_intel_new();
	if (written && copy && mem && file) {
		rk_buf a, b;
		rk_buf_init(&a);
		rk_buf_init(&b);
		memcpy(copy, data, size);
		size_t bad_a = 0, bad_b = 0;
		rk_err ea =
		    sensor_intel_load_text(mem, copy, size, path, note_bad, &a, &bad_a, NULL);
		sensor_intel_set_window(file, 64);
		rk_err eb = sensor_intel_load_bundle(file, path, note_bad, &b, &bad_b, NULL);
		sensor_intel_stats sa, sb;
		sensor_intel_get_stats(mem, &sa);
		sensor_intel_get_stats(file, &sb);
		if ((ea != eb && ea != RK_ENOMEM && eb != RK_ENOMEM) ||
		    (ea == eb && (bad_a != bad_b || memcmp(&sa, &sb, sizeof sa) != 0 ||
				  a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))))
			abort();
		rk_buf_cleanup(&a);
		rk_buf_cleanup(&b);
	}
	sensor_intel_free(mem);
	sensor_intel_free(file);
	free(copy);
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	sensor_input spec;
	if (sensor_input_parse(text, &spec, NULL) == RK_OK &&
	    (spec.path < text || spec.path > text + size || spec.path[0] == '\0'))
		abort();

	json_t *doc = NULL, *objs = NULL;
	if (rk_json_parse(text, size, RK_MAX_JSON_DEPTH, &doc, NULL) == RK_OK) {
		if (json_is_array(doc)) {
			objs = json_incref(doc);
		} else if (json_is_array(json_object_get(doc, "objects"))) {
			objs = json_incref(json_object_get(doc, "objects"));
		} else {
			objs = json_array();
			json_array_append(objs, doc);
		}
		sensor_intel *in = sensor_intel_new();
		if (in && objs) {
			apply_all(in, objs, false);
			apply_all(in, objs, true);
			match *m = NULL;
			if (sensor_intel_build(in, (rk_time)1767225600 * 1000000, NULL, NULL, &m, NULL) !=
			    RK_OK)
				abort();
			match_free(m);
		}
		sensor_intel_free(in);
	}
	/* the text path, on a copy it may write into */
	char *copy = malloc(size + 1);
	sensor_intel *fast = sensor_intel_new();
	if (copy && fast) {
		memcpy(copy, data, size);
		copy[size] = '\0';
		size_t bad = 0;
		rk_err err = sensor_intel_load_text(fast, copy, size, "fuzz", NULL, NULL, &bad, NULL);
		sensor_intel_stats st;
		sensor_intel_get_stats(fast, &st);
		if (err == RK_OK && st.bad + st.indicators + st.other_types + st.stale == 0 &&
		    bad == 0 && json_array_size(objs) > 0 && json_is_object(doc) &&
		    json_object_get(doc, "objects"))
			abort(); /* a bundle whose objects all vanished */
	}
	sensor_intel_free(fast);
	free(copy);
	windows_agree(data, size);
	json_decref(objs);
	json_decref(doc);
	free(text);
	return 0;
}
