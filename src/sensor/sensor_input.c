/*
 * sensor_input.c: the sensor's inputs as the command line names them,
 * FORMAT:PATH (`pcap:trace.pcap`, `iface:eth0`, `zeek:dns.log`,
 * `eve:eve.json`, `text:auth.log`; PATH `-` is standard input, which a
 * live interface cannot be). The format names are one table.
 */
#include <string.h>

#include "sensor.h"

static const struct {
	const char *name;
	sensor_input_kind kind;
} KINDS[] = {
	{"pcap", SENSOR_IN_PCAP}, {"iface", SENSOR_IN_IFACE}, {"zeek", SENSOR_IN_ZEEK},
	{"eve", SENSOR_IN_EVE},   {"text", SENSOR_IN_TEXT},
};

const char *sensor_input_kind_name(sensor_input_kind k)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(KINDS); i++)
		if (KINDS[i].kind == k)
			return KINDS[i].name;
	return "?";
}

rk_err sensor_input_parse(const char *spec, sensor_input *out, rk_errctx *ctx)
{
	const char *colon = strchr(spec, ':');
	if (!colon)
		return rk_fail(ctx, RK_EINVAL, spec,
			       "expected FORMAT:PATH (formats: pcap, iface, zeek, eve, text)");
	size_t n = (size_t)(colon - spec);
	for (size_t i = 0; i < RK_ARRAY_LEN(KINDS); i++) {
		if (strlen(KINDS[i].name) != n || memcmp(KINDS[i].name, spec, n) != 0)
			continue;
		if (colon[1] == '\0')
			return rk_fail(ctx, RK_EINVAL, spec, "the path after \"%s:\" is empty",
				       KINDS[i].name);
		if (KINDS[i].kind == SENSOR_IN_IFACE && strcmp(colon + 1, "-") == 0)
			return rk_fail(ctx, RK_EINVAL, spec, "an interface cannot be standard input");
		out->kind = KINDS[i].kind;
		out->path = colon + 1;
		return RK_OK;
	}
	return rk_fail(ctx, RK_EINVAL, spec,
		       "unknown input format \"%.*s\" (formats: pcap, iface, zeek, eve, text)",
		       (int)(n > 32 ? 32 : n), spec);
}
