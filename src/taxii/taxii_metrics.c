/*
 * taxii_metrics.c: counters the hub keeps and their Prometheus rendering.
 *
 * Request threads only ever add to fixed arrays of atomics (no locks, no
 * allocation on the request path); /metrics reads them, which may show a
 * request counted in one series a moment before another (Prometheus
 * tolerates that). Series:
 *
 *   renkei_http_requests_total{route,status}     counter
 *   renkei_http_request_duration_seconds          histogram
 *   renkei_http_response_bytes_total              counter
 *   renkei_objects_ingested_total                 counter (new versions stored)
 *   renkei_objects_rejected_total                 counter
 *   renkei_objects_stored                         gauge (store_count)
 *   renkei_ingest_objects_per_second              gauge (average since start;
 *                                                 use rate() on the counter
 *                                                 for the recent rate)
 *   renkei_uptime_seconds                         gauge
 */
#include <string.h>

#include "taxii_int.h"

static const int statuses[TAXII_METRIC_STATUSES - 1] = {
	200, 202, 400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 500, 503, 0,
};
#define STATUS_OTHER (TAXII_METRIC_STATUSES - 1)

/* Upper bounds in microseconds: 0.5 ms .. 10 s. */
static const uint64_t bucket_us[TAXII_METRIC_BUCKETS] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 2500000, 10000000,
};

void taxii_metrics_init(taxii_metrics *m)
{
	memset(m, 0, sizeof *m);
	m->started = rk_time_now();
}

static size_t status_slot(int status)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(statuses); i++)
		if (statuses[i] == status)
			return i;
	return STATUS_OTHER;
}

void taxii_metrics_request(taxii_metrics *m, size_t route, int status,
			   uint64_t duration_us, size_t bytes)
{
	if (route >= TAXII_METRIC_ROUTES)
		route = TAXII_METRIC_ROUTES - 1;
	atomic_fetch_add(&m->requests[route][status_slot(status)], 1);
	size_t b = 0;
	while (b < TAXII_METRIC_BUCKETS && duration_us > bucket_us[b])
		b++;
	atomic_fetch_add(&m->latency_bucket[b], 1);
	atomic_fetch_add(&m->latency_sum_us, duration_us);
	atomic_fetch_add(&m->latency_count, 1);
	atomic_fetch_add(&m->bytes_out, bytes);
}

rk_err taxii_metrics_render(const taxii_metrics *m, const char *const *route_names,
			    size_t n_routes, store *st, rk_buf *out)
{
	rk_err rc = RK_OK;
	uint64_t stored = 0;
	rk_errctx ctx;

#define P(...)                                                                  \
	do {                                                                    \
		if (!rc)                                                        \
			rc = rk_buf_printf(out, __VA_ARGS__);                  \
	} while (0)

	P("# HELP renkei_http_requests_total HTTP requests by route and status.\n"
	  "# TYPE renkei_http_requests_total counter\n");
	for (size_t r = 0; r < TAXII_METRIC_ROUTES; r++) {
		const char *name = r < n_routes ? route_names[r] : "none";
		if (r >= n_routes && r != TAXII_METRIC_ROUTES - 1)
			continue;
		for (size_t s = 0; s < TAXII_METRIC_STATUSES; s++) {
			uint64_t v = atomic_load(&m->requests[r][s]);
			if (!v)
				continue;
			if (s == STATUS_OTHER || statuses[s] == 0)
				P("renkei_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
				  name, (unsigned long long)v);
			else
				P("renkei_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
				  name, statuses[s], (unsigned long long)v);
		}
	}
	P("# HELP renkei_http_request_duration_seconds Time to answer a request.\n"
	  "# TYPE renkei_http_request_duration_seconds histogram\n");
	uint64_t cum = 0;
	for (size_t b = 0; b < TAXII_METRIC_BUCKETS; b++) {
		cum += atomic_load(&m->latency_bucket[b]);
		P("renkei_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
		  (double)bucket_us[b] / 1e6, (unsigned long long)cum);
	}
	cum += atomic_load(&m->latency_bucket[TAXII_METRIC_BUCKETS]);
	P("renkei_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
	  (unsigned long long)cum);
	P("renkei_http_request_duration_seconds_sum %.6f\n",
	  (double)atomic_load(&m->latency_sum_us) / 1e6);
	P("renkei_http_request_duration_seconds_count %llu\n",
	  (unsigned long long)atomic_load(&m->latency_count));
	P("# HELP renkei_http_response_bytes_total Response body bytes sent.\n"
	  "# TYPE renkei_http_response_bytes_total counter\n"
	  "renkei_http_response_bytes_total %llu\n",
	  (unsigned long long)atomic_load(&m->bytes_out));

	uint64_t ingested = atomic_load(&m->objects_ingested);
	double up = (double)(rk_time_now() - m->started) / 1e6;
	P("# HELP renkei_objects_ingested_total Object versions stored by POST since start.\n"
	  "# TYPE renkei_objects_ingested_total counter\n"
	  "renkei_objects_ingested_total %llu\n",
	  (unsigned long long)ingested);
	P("# HELP renkei_objects_rejected_total Posted objects refused since start.\n"
	  "# TYPE renkei_objects_rejected_total counter\n"
	  "renkei_objects_rejected_total %llu\n",
	  (unsigned long long)atomic_load(&m->objects_rejected));
	P("# HELP renkei_ingest_objects_per_second Average ingest rate since start.\n"
	  "# TYPE renkei_ingest_objects_per_second gauge\n"
	  "renkei_ingest_objects_per_second %.1f\n",
	  up > 0 ? (double)ingested / up : 0.0);
	rk_errctx_clear(&ctx);
	if (!rc && store_count(st, NULL, &stored, &ctx) == RK_OK)
		P("# HELP renkei_objects_stored Object versions in the store.\n"
		  "# TYPE renkei_objects_stored gauge\n"
		  "renkei_objects_stored %llu\n",
		  (unsigned long long)stored);
	P("# HELP renkei_uptime_seconds Seconds since the server started.\n"
	  "# TYPE renkei_uptime_seconds gauge\n"
	  "renkei_uptime_seconds %.0f\n",
	  up);
#undef P
	return rc;
}
