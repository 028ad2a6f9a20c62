/*
 * sensor_test_util.h: one whole sensor run over one input, for the tests
 * that check what reaches the alerts from a capture or a log.
 *
 * sensor_sweep runs a sensor with two workers over the input spec
 * ("pcap:PATH", "zeek:PATH" ...) under a matcher (taken over), to the end
 * of the input, and collects the first SENSOR_HITS_MAX hits in a
 * sensor_hits: indicator id, matched value, observable type and, for
 * packets, the flow. n counts every hit, kept or not. sensor_pcap_put and
 * sensor_pcap_segments write the captures those tests sweep (Ethernet,
 * one packet a microsecond from 2026-01-01). Static inline, like
 * tests/unit/decode/decode_test_util.h, so each test takes what it uses.
 */
#ifndef RK_SENSOR_TEST_UTIL_H
#define RK_SENSOR_TEST_UTIL_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <pcap/pcap.h>

#include "sensor.h"
#include "../decode/decode_test_util.h"

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

/* Packet i of a capture (its time: i microseconds into 2026). */
static inline void sensor_pcap_put(pcap_dumper_t *d, const pkt *p, unsigned i)
{
	struct pcap_pkthdr h = {.ts = {1767225600, (int)i}};
	h.caplen = h.len = (bpf_u_int32)p->n;
	pcap_dump((u_char *)d, &h, p->b);
}

/* n bytes a server sends, 10.0.0.2:sport to the client 10.0.0.1:dport,
 * in segments of at most seg bytes from sequence number 1; *i counts the
 * capture's packets. */
static inline void sensor_pcap_segments(pcap_dumper_t *d, unsigned *i, uint16_t sport,
					uint16_t dport, const uint8_t *data, size_t n, size_t seg)
{
	pkt p;
	for (size_t at = 0; at < n; at += seg) {
		size_t k = n - at < seg ? n - at : seg;
		eth(&p, 0, 0x0800);
		ip4(&p, 6, 2, 0, 2, 1);
		tcp(&p, sport, dport, (uint32_t)(1 + at), 0x18, data + at, k);
		pkt_finish_ip4(&p);
		sensor_pcap_put(d, &p, ++*i);
	}
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
