/*
 * sensor_work.c: a sensor worker, from a batch to hits.
 *
 * Each worker owns a decode context (its own fragment and TCP flow
 * tables: the reader sends it every packet of the flows that hash to it)
 * and one log reader per log format. A batch is matched with the matcher
 * taken at its start (see the swap in sensor_run.c); every observable goes
 * through sensor_match_one, the one place that meets the matcher, so
 * moving to a richer lookup (compound patterns) changes one function.
 *
 * Positions: a packet's number is the one its reader gave it in its file;
 * a decode error is counted per batch from the decode context's counters,
 * with the file position of the last packet that had it. Log lines keep
 * the numbers the blocker gave them (logs_block.c).
 *
 * Nothing here allocates: hit strings live on the stack during the sink
 * calls; address text for a hit is formatted only when there is a hit.
 * The decoder reports addresses before it reads the transport header, so
 * an address hit takes its ports from a second look at the packet
 * (decode_packet_flow), again only when there is a hit.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "sensor_int.h"

typedef enum {
	OBS_IPV4,
	OBS_IPV6,
	OBS_DOMAIN,
	OBS_URL,
	OBS_EMAIL,
	OBS_MD5,
	OBS_SHA1,
	OBS_SHA256,
	OBS_SHA512,
} sensor_obs_kind;

/* STIX 2.1 section 6: the cyber-observable type each kind of value is. */
static const char *const OBS_TYPE[] = {
	[OBS_IPV4] = "ipv4-addr", [OBS_IPV6] = "ipv6-addr", [OBS_DOMAIN] = "domain-name",
	[OBS_URL] = "url",	  [OBS_EMAIL] = "email-addr", [OBS_MD5] = "file",
	[OBS_SHA1] = "file",	  [OBS_SHA256] = "file",      [OBS_SHA512] = "file",
};

static void on_match(void *arg, uint32_t handle, const char *indicator_id)
{
	sensor_worker *w = arg;
	const sensor_source *src = w->batch->src;
	sensor_hit h;

	memset(&h, 0, sizeof h);
	h.handle = handle;
	h.indicator_id = indicator_id;
	h.obs_type = w->obs_type;
	h.value = w->obs_val;
	h.value_len = w->obs_len;
	h.input = src->path;
	if (w->dobs) {
		const decode_flow *f = w->dobs->flow;
		decode_flow outer;
		if (f->sport == 0 && f->dport == 0 && (f->proto == 6 || f->proto == 17) &&
		    decode_packet_flow(src->linktype, w->batch->data + w->pkt->off, w->pkt->caplen,
				       &outer) == 0 &&
		    outer.family == f->family && memcmp(outer.src, f->src, 16) == 0 &&
		    memcmp(outer.dst, f->dst, 16) == 0)
			f = &outer; /* addresses are reported before the ports are read */
		int af = f->family == 6 ? AF_INET6 : AF_INET;
		h.from_packet = true;
		h.family = f->family;
		h.proto = f->proto;
		h.sport = f->sport;
		h.dport = f->dport;
		if (!inet_ntop(af, f->src, h.src, sizeof h.src))
			h.src[0] = '\0';
		if (!inet_ntop(af, f->dst, h.dst, sizeof h.dst))
			h.dst[0] = '\0';
		h.packet = w->pkt->number;
		h.time = w->pkt->ts_usec;
		h.time_from_input = true;
	} else {
		h.line = w->lobs->line;
		h.field = logs_field_name(w->lobs->field);
		h.time_from_input = w->lobs->has_ts != 0;
		h.time = h.time_from_input ? w->lobs->ts_us : rk_time_now();
	}
	w->hits++;
	for (size_t i = 0; i < w->s->nsinks; i++)
		w->s->sinks[i].fn(&h, w->s->sinks[i].arg);
}

/* Dotted-quad text to bytes, as inet_pton(AF_INET) reads it (four decimal
 * parts of at most 3 digits each, none above 255, no leading zeros), without
 * the copy inet_pton needs for text that is not NUL-terminated. */
static bool parse_ipv4(const char *v, size_t len, uint8_t out[4])
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		unsigned n = 0, digits = 0;
		if (part > 0) {
			if (i >= len || v[i] != '.')
				return false;
			i++;
		}
		while (i < len && v[i] >= '0' && v[i] <= '9' && digits < 4) {
			if (digits == 1 && n == 0)
				return false; /* leading zero */
			n = n * 10 + (unsigned)(v[i] - '0');
			digits++;
			i++;
		}
		if (digits == 0 || digits > 3 || n > 255)
			return false;
		out[part] = (uint8_t)n;
	}
	return i == len;
}

/* Text of an address (not NUL-terminated) to bytes; false when it is not one. */
static bool parse_addr(int af, const char *v, size_t len, void *out)
{
	char buf[64];
	if (af == AF_INET)
		return parse_ipv4(v, len, out);
	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, v, len);
	buf[len] = '\0';
	return inet_pton(af, buf, out) == 1;
}

/*
 * The one place where an observable meets the matcher: bin, when not NULL,
 * is the address already in network-order bytes. Returns the hits.
 */
static size_t sensor_match_one(sensor_worker *w, sensor_obs_kind k, const char *v, size_t len,
			       const uint8_t *bin)
{
	const match *m = w->m;
	uint8_t a[16];

	w->observables++;
	if (!m)
		return 0;
	w->obs_type = OBS_TYPE[k];
	w->obs_val = v;
	w->obs_len = len;
	switch (k) {
	case OBS_IPV4:
		if (!bin) {
			if (!parse_addr(AF_INET, v, len, a))
				return 0;
			bin = a;
		}
		return match_ipv4(m, (uint32_t)bin[0] << 24 | (uint32_t)bin[1] << 16 |
					     (uint32_t)bin[2] << 8 | bin[3],
				  on_match, w);
	case OBS_IPV6:
		if (!bin) {
			if (!parse_addr(AF_INET6, v, len, a))
				return 0;
			bin = a;
		}
		return match_ipv6(m, bin, on_match, w);
	case OBS_DOMAIN:
		return match_domain(m, v, len, on_match, w);
	case OBS_URL:
		return match_url(m, v, len, on_match, w);
	case OBS_EMAIL:
		return match_email(m, v, len, on_match, w);
	case OBS_MD5:
		return match_hash(m, MATCH_MD5, v, len, on_match, w);
	case OBS_SHA1:
		return match_hash(m, MATCH_SHA1, v, len, on_match, w);
	case OBS_SHA256:
		return match_hash(m, MATCH_SHA256, v, len, on_match, w);
	case OBS_SHA512:
		return match_hash(m, MATCH_SHA512, v, len, on_match, w);
	}
	return 0;
}

/* An HTTP Host value: a name or an address, maybe with a port. */
static void match_host(sensor_worker *w, const char *v, size_t len)
{
	uint8_t a[16];
	if (len > 2 && v[0] == '[') { /* [v6]:port */
		const char *end = memchr(v, ']', len);
		if (end && parse_addr(AF_INET6, v + 1, (size_t)(end - v - 1), a))
			sensor_match_one(w, OBS_IPV6, v + 1, (size_t)(end - v - 1), a);
		return;
	}
	const char *colon = memchr(v, ':', len);
	if (colon)
		len = (size_t)(colon - v);
	if (parse_addr(AF_INET, v, len, a))
		sensor_match_one(w, OBS_IPV4, v, len, a);
	else
		sensor_match_one(w, OBS_DOMAIN, v, len, NULL);
}

/* The request target rebuilt from its Host and path, "http://" + host +
 * path, matched as a URL; the decoder reports the path (request line)
 * before the Host (a header) of the same request on the same flow. */
static void http_url(sensor_worker *w, const decode_flow *f, const char *host, size_t hlen)
{
	size_t plen = w->http_path_len;
	w->http_path_len = 0;
	if (plen == 0 || memcmp(&w->http_flow, f, sizeof *f) != 0)
		return;
	if (7 + hlen + plen > sizeof w->http_url)
		return;
	memcpy(w->http_url, "http://", 7);
	memcpy(w->http_url + 7, host, hlen);
	memcpy(w->http_url + 7 + hlen, w->http_path, plen);
	sensor_match_one(w, OBS_URL, w->http_url, 7 + hlen + plen, NULL);
}

static void on_decode(const decode_observable *o, void *user)
{
	sensor_worker *w = user;
	const decode_flow *f = o->flow;
	w->dobs = o;
	switch (o->kind) {
	case DECODE_ADDR_SRC:
	case DECODE_ADDR_DST: {
		const uint8_t *bin = o->kind == DECODE_ADDR_SRC ? f->src : f->dst;
		sensor_match_one(w, f->family == 6 ? OBS_IPV6 : OBS_IPV4, o->value, o->len, bin);
		break;
	}
	case DECODE_DNS_QUERY:
	case DECODE_TLS_SNI:
		sensor_match_one(w, OBS_DOMAIN, o->value, o->len, NULL);
		break;
	case DECODE_DNS_ANSWER:
		if (o->rrtype == 1)
			sensor_match_one(w, OBS_IPV4, o->value, o->len, NULL);
		else if (o->rrtype == 28)
			sensor_match_one(w, OBS_IPV6, o->value, o->len, NULL);
		else
			sensor_match_one(w, OBS_DOMAIN, o->value, o->len, NULL);
		break;
	case DECODE_HTTP_HOST:
		match_host(w, o->value, o->len);
		http_url(w, f, o->value, o->len);
		break;
	case DECODE_HTTP_URL:
		/* an absolute target is a URL as it is; an origin-form path
		 * waits for the request's Host (RFC 9112 section 3.3) */
		w->http_path_len = 0;
		if (o->len > 7 && memchr(o->value, ':', o->len < 16 ? o->len : 16) &&
		    strstr(o->value, "://")) {
			sensor_match_one(w, OBS_URL, o->value, o->len, NULL);
		} else if (o->len > 0 && o->value[0] == '/' && o->len < sizeof w->http_path) {
			memcpy(w->http_path, o->value, o->len);
			w->http_path_len = o->len;
			w->http_flow = *f;
		}
		break;
	default:
		break;
	}
}

static int on_log(const logs_obs *o, void *arg)
{
	static const signed char KIND[LOGS_KIND_COUNT] = {
		[LOGS_KIND_IPV4] = OBS_IPV4,	 [LOGS_KIND_IPV6] = OBS_IPV6,
		[LOGS_KIND_DOMAIN] = OBS_DOMAIN, [LOGS_KIND_URL] = OBS_URL,
		[LOGS_KIND_MD5] = OBS_MD5,	 [LOGS_KIND_SHA1] = OBS_SHA1,
		[LOGS_KIND_SHA256] = OBS_SHA256, [LOGS_KIND_SHA512] = OBS_SHA512,
		[LOGS_KIND_EMAIL] = OBS_EMAIL,	 [LOGS_KIND_UA] = -1,
	};
	sensor_worker *w = arg;
	w->lobs = o;
	w->dobs = NULL;
	if ((unsigned)o->kind < LOGS_KIND_COUNT && KIND[o->kind] >= 0)
		sensor_match_one(w, (sensor_obs_kind)KIND[o->kind], o->val, o->len, NULL);
	return 0;
}

static void on_log_err(const char *file, uint64_t line, const char *why, void *arg)
{
	sensor_worker *w = arg;
	sensor_errs_add(&w->errs, why, 1, file, line, false);
	if (w->s->cfg.on_err)
		w->s->cfg.on_err(file, false, line, why, w->s->cfg.err_arg);
}

rk_err sensor_worker_init(sensor_worker *w, sensor *s, unsigned index)
{
	static const logs_format FMT[3] = {LOGS_FMT_AUTO, LOGS_FMT_JSON, LOGS_FMT_TEXT};
	memset(w, 0, sizeof(*w));
	w->s = s;
	w->index = index;
	atomic_init(&w->epoch, 0);
	pthread_mutex_init(&w->q.mu, NULL);
	pthread_cond_init(&w->q.cv, NULL);
	w->dec = decode_new(NULL, on_decode, w);
	if (!w->dec)
		return RK_ENOMEM;
	for (int i = 0; i < 3; i++)
		if (logs_reader_init(&w->lr[i], FMT[i], 0, on_log, on_log_err, w) != RK_OK)
			return RK_ENOMEM;
	return RK_OK;
}

void sensor_worker_cleanup(sensor_worker *w)
{
	if (!w->s)
		return; /* never initialised */
	decode_free(w->dec);
	for (int i = 0; i < 3; i++)
		logs_reader_cleanup(&w->lr[i]);
	pthread_mutex_destroy(&w->q.mu);
	pthread_cond_destroy(&w->q.cv);
	w->s = NULL;
}

static logs_reader *reader_for(sensor_worker *w, logs_format f)
{
	return &w->lr[f == LOGS_FMT_JSON ? 1 : f == LOGS_FMT_TEXT ? 2 : 0];
}

/* Decode errors counted during the batch, each kind once with the file
 * position of the last packet that had it. */
static void count_decode_errors(sensor_worker *w, const sensor_batch *b, uint64_t base)
{
	const decode_stats *ds = decode_get_stats(w->dec);
	for (int k = 0; k < DECODE_E_COUNT; k++) {
		uint64_t n = ds->errors[k] - w->dec_err_seen[k];
		if (n == 0)
			continue;
		w->dec_err_seen[k] = ds->errors[k];
		uint64_t last = ds->last_error_packet[k];
		uint64_t number = last > base && last - base <= b->npkts
					  ? b->pkts[last - base - 1].number
					  : b->pkts[b->npkts - 1].number;
		const char *why = decode_strerror((decode_err)k);
		sensor_errs_add(&w->errs, why, n, b->src->path, number, true);
		/* a full table or a dropped segment is the sensor's capacity,
		 * not bad input: counted, but not reported one by one */
		bool capacity = k == DECODE_E_FLOW_EVICTED || k == DECODE_E_TCP_GAP ||
				k == DECODE_E_STREAM_FULL || k == DECODE_E_FRAG_TIMEOUT ||
				k == DECODE_E_FRAG_DROPPED;
		if (w->s->cfg.on_err && !capacity)
			w->s->cfg.on_err(b->src->path, true, number, why, w->s->cfg.err_arg);
	}
}

static void run_batch(sensor_worker *w, sensor_batch *b)
{
	sensor_source *src = b->src;
	w->batch = b;
	if (src->is_log) {
		logs_reader *r = reader_for(w, src->format);
		w->dobs = NULL;
		logs_header_set(r, &b->hdr);
		logs_feed_block(r, (char *)b->data, b->len, src->path, b->first_line);
		return;
	}
	uint64_t base = decode_get_stats(w->dec)->packets;
	for (uint32_t i = 0; i < b->npkts; i++) {
		const sensor_pkt *p = &b->pkts[i];
		w->pkt = p;
		decode_packet(w->dec, src->linktype, b->data + p->off, p->caplen, p->ts_usec);
	}
	count_decode_errors(w, b, base);
}

void *sensor_worker_main(void *arg)
{
	sensor_worker *w = arg;
	sensor *s = w->s;
	char name[16];
	snprintf(name, sizeof name, "rk-sensor-w%u", w->index);
	prctl(PR_SET_NAME, name, 0, 0, 0);
	for (;;) {
		atomic_store(&w->epoch, 0);
		sensor_batch *b = sensor_queue_pop(&w->q);
		if (!b)
			break;
		/* the generation first, then the matcher: see sensor_swap */
		atomic_store(&w->epoch, atomic_load(&s->gen));
		w->m = atomic_load(&s->current);
		run_batch(w, b);
		w->batches++;
		w->m = NULL;
		sensor_pool_put(s, b);
	}
	atomic_store(&w->epoch, 0);
	return NULL;
}
