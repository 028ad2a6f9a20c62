/*
 * sensor_alert.c: local alerts, one JSON line per hit.
 *
 * Hits arrive from every worker at once. Each line is formatted into a
 * buffer of its own (no lock while formatting; a hit is rare next to the
 * packets and lines around it, so its one allocation is no cost) and written whole
 * with one write(2) under the writer's mutex, so lines never interleave
 * and a reader following the file sees only whole lines. Strings go
 * through rk_json_put_string, so quotes, control bytes and non-ASCII names
 * are escaped as JSON requires; a value that is not UTF-8 (raw bytes from
 * the wire) is written with each byte outside printable ASCII as \u00XX.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sensor.h"

struct sensor_alerts {
	int fd;
	bool own_fd;
	sensor_intel *intel;
	pthread_mutex_t mu;
	uint64_t written, failed;
};

rk_err sensor_alerts_open(const char *path, sensor_intel *intel, sensor_alerts **out,
			  rk_errctx *ctx)
{
	sensor_alerts *a = calloc(1, sizeof(*a));
	if (!a)
		return rk_fail(ctx, RK_ENOMEM, path, "out of memory");
	if (strcmp(path, "-") == 0) {
		a->fd = STDOUT_FILENO;
	} else {
		a->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (a->fd < 0) {
			int e = errno;
			free(a);
			return rk_fail(ctx, RK_EIO, path, "cannot open for alerts: %s", strerror(e));
		}
		a->own_fd = true;
	}
	a->intel = intel;
	pthread_mutex_init(&a->mu, NULL);
	*out = a;
	return RK_OK;
}

void sensor_alerts_close(sensor_alerts *a)
{
	if (!a)
		return;
	if (a->own_fd)
		close(a->fd);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

uint64_t sensor_alerts_written(sensor_alerts *a)
{
	pthread_mutex_lock(&a->mu);
	uint64_t n = a->written;
	pthread_mutex_unlock(&a->mu);
	return n;
}

uint64_t sensor_alerts_failed(sensor_alerts *a)
{
	pthread_mutex_lock(&a->mu);
	uint64_t n = a->failed;
	pthread_mutex_unlock(&a->mu);
	return n;
}

/* A JSON string of bytes that may not be UTF-8. */
static rk_err put_bytes(rk_buf *b, const char *s, size_t len)
{
	if (rk_json_put_string(b, s, len) == RK_OK)
		return RK_OK;
	rk_err err = rk_buf_append(b, "\"", 1);
	for (size_t i = 0; i < len && !err; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			err = rk_buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			err = rk_buf_printf(b, "\\u%04X", c);
		else
			err = rk_buf_append(b, &s[i], 1);
	}
	return err ? err : rk_buf_append(b, "\"", 1);
}

static const char *proto_name(uint8_t p)
{
	switch (p) {
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 1:
		return "icmp";
	case 58:
		return "ipv6-icmp";
	default:
		return NULL;
	}
}

rk_err sensor_alert_format(rk_buf *b, const sensor_hit *hit, const sensor_indicator_info *info)
{
	char ts[RK_TIME_BUF];
	rk_err err;
	rk_time_format(hit->time, 6, ts);
	err = rk_buf_printf(b, "{\"time\":\"%s\",\"indicator\":{\"id\":", ts);
	if (!err)
		err = put_bytes(b, hit->indicator_id, strlen(hit->indicator_id));
	if (!err && info && info->name[0]) {
		err = rk_buf_puts(b, ",\"name\":");
		if (!err)
			err = put_bytes(b, info->name, strlen(info->name));
	}
	if (!err)
		err = rk_buf_printf(b, "},\"observable\":{\"type\":\"%s\",\"value\":", hit->obs_type);
	if (!err)
		err = put_bytes(b, hit->value, hit->value_len);
	if (!err)
		err = rk_buf_puts(b, "},\"where\":{\"input\":");
	if (!err)
		err = put_bytes(b, hit->input, strlen(hit->input));
	if (err)
		return err;
	if (hit->from_packet) {
		const char *pn = proto_name(hit->proto);
		err = rk_buf_printf(b, ",\"packet\":%" PRIu64 ",\"flow\":{\"family\":%u,\"proto\":",
				    hit->packet, hit->family);
		if (!err)
			err = pn ? rk_buf_printf(b, "\"%s\"", pn) : rk_buf_printf(b, "%u", hit->proto);
		if (!err)
			err = rk_buf_printf(b, ",\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\",\"dport\":%u}",
					    hit->src, hit->sport, hit->dst, hit->dport);
	} else {
		err = rk_buf_printf(b, ",\"line\":%" PRIu64, hit->line);
		if (!err && hit->field)
			err = rk_buf_printf(b, ",\"field\":\"%s\"", hit->field);
	}
	if (!err)
		err = rk_buf_printf(b, "},\"time_source\":\"%s\"}\n",
				    hit->time_from_input ? "input" : "sensor");
	return err;
}

void sensor_alerts_hit(const sensor_hit *hit, void *arg)
{
	sensor_alerts *a = arg;
	sensor_indicator_info info;
	bool have = a->intel && sensor_intel_lookup(a->intel, hit->indicator_id, &info);
	rk_buf line;
	rk_buf_init(&line);
	rk_err err = sensor_alert_format(&line, hit, have ? &info : NULL);
	pthread_mutex_lock(&a->mu);
	if (err) {
		a->failed++;
	} else {
		const char *p = line.data;
		size_t left = line.len;
		while (left > 0) {
			ssize_t n = write(a->fd, p, left);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			p += n;
			left -= (size_t)n;
		}
		if (left)
			a->failed++;
		else
			a->written++;
	}
	pthread_mutex_unlock(&a->mu);
	rk_buf_cleanup(&line);
}
