/*
 * sensor_ids.c: the indicator ids of one matcher, by handle.
 *
 * The matcher reports a hit by handle only (match.h: handles count the
 * match_builder_add calls from 0). sensor_intel_build records here the id
 * of each indicator it adds, in the same order, and hangs the table on the
 * matcher it built (match_attach), so the map lives exactly as long as
 * that matcher: a generation still sweeping after a swap, or after the
 * indicator set has changed or been freed, names its hits from its own
 * table.
 *
 * Storage: every id is "indicator--" and a UUID (sensor_intel checks it on
 * the way in). A UUID in lower case, nearly all of them, is kept as its 16
 * bytes and printed back byte for byte; any other id is kept as text in a
 * side list sorted by handle (handles are recorded in increasing order),
 * found by binary search when a hit names it. A handle never recorded (a
 * table shorter than the matcher, or none at all) is named "".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sensor_int.h"

#define ID_PREFIX "indicator--"
#define ID_PREFIX_LEN (sizeof ID_PREFIX - 1)

struct sensor_ids {
	uint8_t (*uuid)[16]; /* per handle; zero for a handle kept as text */
	size_t n, cap;
	struct sensor_id_text {
		uint32_t handle;
		char *id;
	} *text;
	size_t n_text, cap_text;
};

sensor_ids *sensor_ids_new(void)
{
	return calloc(1, sizeof(sensor_ids));
}

void sensor_ids_free(void *ids)
{
	sensor_ids *t = ids;
	if (!t)
		return;
	for (size_t i = 0; i < t->n_text; i++)
		free(t->text[i].id);
	free(t->text);
	free(t->uuid);
	free(t);
}

/* The 16 bytes of a lower-case "indicator--" UUID, which sensor_ids_get
 * prints back exactly; false for any other text. */
static bool lower_uuid(const char *id, uint8_t out[16])
{
	const char *u = id + ID_PREFIX_LEN;
	unsigned n = 0;
	if (strncmp(id, ID_PREFIX, ID_PREFIX_LEN) != 0 || strlen(u) != 36)
		return false;
	for (unsigned i = 0; i < 36; i++) {
		int v;
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (u[i] != '-')
				return false;
			continue;
		}
		if ((u[i] >= 'A' && u[i] <= 'F') || (v = rk_hex_value(u[i])) < 0)
			return false;
		if (n % 2 == 0)
			out[n / 2] = (uint8_t)(v << 4);
		else
			out[n / 2] |= (uint8_t)v;
		n++;
	}
	return true;
}

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap * 2 : 256;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * size);
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

rk_err sensor_ids_add_uuid(sensor_ids *t, const uint8_t uuid[16])
{
	if (t->n >= UINT32_MAX || !grow((void **)&t->uuid, &t->cap, t->n + 1, sizeof *t->uuid))
		return RK_ENOMEM;
	memcpy(t->uuid[t->n++], uuid, 16);
	return RK_OK;
}

rk_err sensor_ids_add(sensor_ids *t, const char *id)
{
	uint8_t u[16];
	if (lower_uuid(id, u))
		return sensor_ids_add_uuid(t, u);
	if (t->n >= UINT32_MAX || !grow((void **)&t->uuid, &t->cap, t->n + 1, sizeof *t->uuid))
		return RK_ENOMEM;
	char *copy = strdup(id);
	if (!copy || !grow((void **)&t->text, &t->cap_text, t->n_text + 1, sizeof *t->text)) {
		free(copy);
		return RK_ENOMEM;
	}
	t->text[t->n_text++] = (struct sensor_id_text){(uint32_t)t->n, copy};
	memset(t->uuid[t->n++], 0, 16);
	return RK_OK;
}

void sensor_ids_trim(sensor_ids *t)
{
	if (t->n && t->n < t->cap) {
		void *q = realloc(t->uuid, t->n * sizeof *t->uuid);
		if (q) {
			t->uuid = q;
			t->cap = t->n;
		}
	}
}

const char *sensor_ids_get(const sensor_ids *t, uint32_t handle, char buf[SENSOR_ID_MAX])
{
	static const char hex[] = "0123456789abcdef";
	if (!t || handle >= t->n)
		return "";
	size_t lo = 0, hi = t->n_text;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->text[mid].handle < handle)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->n_text && t->text[lo].handle == handle)
		return t->text[lo].id;
	const uint8_t *u = t->uuid[handle];
	char *p = buf;
	memcpy(p, ID_PREFIX, ID_PREFIX_LEN);
	p += ID_PREFIX_LEN;
	for (unsigned i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[u[i] >> 4];
		*p++ = hex[u[i] & 15];
	}
	*p = '\0';
	return buf;
}
