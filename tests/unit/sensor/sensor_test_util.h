/*
 * sensor_test_util.h: one whole sensor run over one input, for the tests
 * that check what reaches the alerts from a capture or a log.
 *
 * sensor_sweep runs a sensor with two workers over the input spec
 * ("pcap:PATH", "zeek:PATH" ...) under a matcher (taken over), to the end
 * of the input, and collects the first SENSOR_HITS_MAX hits in a
 * sensor_hits: indicator id, matched value, observable type and, for
 * packets, the flow. n counts every hit, kept or not. Static inline, like
 * tests/unit/decode/decode_test_util.h, so each test takes what it uses.
 */
#ifndef RK_SENSOR_TEST_UTIL_H
#define RK_SENSOR_TEST_UTIL_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "sensor.h"

#define SENSOR_HITS_MAX 8

typedef struct sensor_hits {
	pthread_mutex_t mu;
	size_t n;
	char id[SENSOR_HITS_MAX][80], value[SENSOR_HITS_MAX][80], type[SENSOR_HITS_MAX][40];
	char src[SENSOR_HITS_MAX][48], dst[SENSOR_HITS_MAX][48];
	uint16_t sport[SENSOR_HITS_MAX], dport[SENSOR_HITS_MAX];
	uint8_t proto[SENSOR_HITS_MAX];
} sensor_hits;

/* A sensor sink filling a sensor_hits. */
static inline void sensor_hits_add(const sensor_hit *h, void *arg)
{
	sensor_hits *c = arg;
	pthread_mutex_lock(&c->mu);
	if (c->n < SENSOR_HITS_MAX) {
		snprintf(c->id[c->n], sizeof c->id[0], "%s", h->indicator_id);
		snprintf(c->value[c->n], sizeof c->value[0], "%.*s", (int)h->value_len, h->value);
		snprintf(c->type[c->n], sizeof c->type[0], "%s", h->obs_type);
		snprintf(c->src[c->n], sizeof c->src[0], "%s", h->src);
		snprintf(c->dst[c->n], sizeof c->dst[0], "%s", h->dst);
		c->sport[c->n] = h->sport;
		c->dport[c->n] = h->dport;
		c->proto[c->n] = h->proto;
	}
	c->n++;
	pthread_mutex_unlock(&c->mu);
}

/* One sweep of spec under m (taken over); the hits in c. */
static inline void sensor_sweep(match *m, const char *spec, sensor_hits *c)
{
	sensor_input inp;
	sensor_config cfg = {.threads = 2};
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	sensor *s = sensor_new(&cfg, m);
	assert_non_null(s);
	memset(c, 0, sizeof *c);
	pthread_mutex_init(&c->mu, NULL);
	assert_int_equal(sensor_input_parse(spec, &inp, &ctx), RK_OK);
	assert_int_equal(sensor_add_input(s, &inp, &ctx), RK_OK);
	assert_int_equal(sensor_add_sink(s, sensor_hits_add, c), RK_OK);
	assert_int_equal(sensor_start(s, &ctx), RK_OK);
	sensor_wait(s);
	sensor_free(s);
	pthread_mutex_destroy(&c->mu);
}

#endif
