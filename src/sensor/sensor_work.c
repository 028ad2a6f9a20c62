/*
 * sensor_work.c: a sensor worker, from a batch to hits.
 *
 * Each worker owns a decode context (its own fragment and TCP flow
 * tables: the reader sends it every packet of the flows that hash to it)
 * and one log reader per log format. A batch is matched with the
 * generation taken at its start (matcher, this worker's scratch,
 * correlator: see sensor_run.c); every observable becomes a match_obs and
 * goes through sensor_match_one, the one place that meets the matcher.
 *
 * Compound patterns: match_observe reports the atoms an observable
 * satisfied; they go to the generation's correlator under its lock (atoms
 * are rare next to observables), with the observable's time and a
 * correlation key, and a completed pattern is a hit named after the
 * observable that completed it. A log line's time and the key (of a line
 * or a packet) are worked out only then, when an atom needs them (most
 * observables never do). The key is a hash of the client's address:
 * for a packet, the end with the higher port (the source when the ports
 * are equal or not read yet, as for the address observables, which the
 * decoder reports before the transport header); for a log line, the
 * source address (conn.src) seen earlier on the same line, else 0.
 *
 * Addresses: the decoder hands them in binary only (raw_addresses) and the
 * log readers with addr already parsed; text is formatted only for a hit.
 *
 * Quiet addresses: the same few addresses come back line after line (a
 * DNS log's resolver and clients) and packet after packet (a flow's two
 * ends). Each worker keeps, by a hash of the address, the last IPv4
 * address in each of SENSOR_QUIET_SLOTS slots that match_observe saw with
 * no hit and no atom, and does not look it up again. That is exact, not a
 * guess: match_observe depends only on the matcher and the observable, and
 * the slots are emptied whenever the worker takes a batch under another
 * generation (sensor_gen.serial, never reused), so a reloaded indicator
 * set is looked up afresh.
 *
 * Positions: a packet's number is the one its reader gave it in its file;
 * a decode error is counted per batch from the decode context's counters,
 * with the file position of the last packet that had it. Log lines keep
 * the numbers the blocker gave them (logs_block.c).
 *
 * Nothing here allocates per packet or line: hit strings live on the stack
 * during the sink calls. The only allocation is a worker's scratch, once
 * per generation. An address hit takes its ports from a second look at
 * the packet (decode_packet_flow), again only when there is a hit.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "sensor_int.h"

/* STIX 2.1 section 6: the cyber-observable type each kind of value is. */
static const char *const OBS_TYPE[MATCH_OBS_KIND_COUNT] = {
	[MATCH_OBS_IPV4] = "ipv4-addr",	  [MATCH_OBS_IPV6] = "ipv6-addr",
	[MATCH_OBS_DOMAIN] = "domain-name", [MATCH_OBS_URL] = "url",
	[MATCH_OBS_EMAIL] = "email-addr",   [MATCH_OBS_MD5] = "file",
	[MATCH_OBS_SHA1] = "file",	  [MATCH_OBS_SHA256] = "file",
	[MATCH_OBS_SHA512] = "file",	  [MATCH_OBS_USER_AGENT] = "network-traffic",
	[MATCH_OBS_X509_SHA1] = "x509-certificate", [MATCH_OBS_X509_SHA256] = "x509-certificate",
};

/* A correlation key from an address (family 4 or 6, network order); never
 * 0, which stands for "no key". FNV-1a, then a final mix. */
static uint64_t addr_key(uint8_t family, const uint8_t *a)
{
	uint64_t h = 0xcbf29ce484222325ull ^ family;
	size_t n = family == 6 ? 16 : 4;
	for (size_t i = 0; i < n; i++)
		h = (h ^ a[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	return h ? h : 1;
}

/* A packet's correlation key: its client's address (see the top). */
static uint64_t flow_key(const decode_flow *f)
{
	return addr_key(f->family, f->sport < f->dport ? f->dst : f->src);
}

/* A single-observation hit, or a compound pattern the current observable
 * completed (then called under the correlator's lock). */
static void on_match(void *arg, uint32_t handle)
{
	sensor_worker *w = arg;
	const sensor_source *src = w->batch->src;
	char text[INET6_ADDRSTRLEN], id[SENSOR_ID_MAX];
	sensor_hit h;

	w->reported = true;
	memset(&h, 0, sizeof h);
	h.handle = handle;
	h.indicator_id = sensor_ids_get(match_attached(w->m), handle, id);
	h.obs_type = OBS_TYPE[w->obs.kind];
	h.value = w->obs_text;
	h.value_len = w->obs_text_len;
	if (!h.value) { /* an address in binary: its text, now */
		uint32_t be = htonl(w->obs.ipv4);
		int af = w->obs.kind == MATCH_OBS_IPV4 ? AF_INET : AF_INET6;
		if (!inet_ntop(af, af == AF_INET ? (const void *)&be : w->obs.ipv6, text,
			       sizeof text))
			text[0] = '\0';
		h.value = text;
		h.value_len = strlen(text);
	}
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
		int64_t t;
		h.line = w->lobs->line;
		h.field = logs_field_name(w->lobs->field);
		h.time_from_input = logs_obs_time(w->lobs, &t) != 0;
		h.time = h.time_from_input ? t : rk_time_now();
	}
	w->hits++;
	for (size_t i = 0; i < w->s->nsinks; i++)
		w->s->sinks[i].fn(&h, w->s->sinks[i].arg);
}

/* Atoms of a compound pattern: to the correlator, which may complete it. */
static void on_atom(void *arg, uint32_t handle, const match_atomset *atoms)
{
	sensor_worker *w = arg;
	sensor_gen *g = w->g;
	w->reported = true;
	if (!g->corr)
		return;
	if (!w->obs_time_known) {
		int64_t t;
		w->obs.time = !w->dobs && logs_obs_time(w->lobs, &t) ? t : rk_time_now();
		w->obs_time_known = true;
	}
	if (w->key_pending) { /* the packet's flow or the line's source address, hashed now */
		w->obs.key = w->dobs ? flow_key(w->dobs->flow) : addr_key(w->key_family, w->key_addr);
		w->key_pending = false;
	}
	pthread_mutex_lock(&g->corr_mu);
	match_corr_feed(g->corr, handle, atoms, w->obs.time, w->obs.key, on_match, w);
	pthread_mutex_unlock(&g->corr_mu);
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
 * The one place where an observable meets the matcher. v/len is the text as
 * seen; for an address, bin (when not NULL) is the address in network
 * order and v may be NULL (no text: formatted only if it hits). key is the
 * correlation key; the time is the packet's or the log line's. Returns the
 * single-observation hits (compound hits are counted in w->hits).
 */
static inline size_t sensor_match_one(sensor_worker *w, match_obs_kind k, const char *v,
				      size_t len, const uint8_t *bin, uint64_t key)
{
	match_obs *o = &w->obs;
	uint32_t *quiet = NULL;

	w->observables++;
	if (!w->m || !w->scr)
		return 0;
	o->kind = k;
	o->key = key;
	w->obs_text = v;
	w->obs_text_len = len;
	if (bin && k == MATCH_OBS_IPV4) {
		o->value = NULL;
		uint32_t be;
		memcpy(&be, bin, 4);
		o->ipv4 = ntohl(be);
		if (o->ipv4 != 0) {
			quiet = &w->quiet[(o->ipv4 * 0x9e3779b1u) >> (32 - SENSOR_QUIET_BITS)];
			if (*quiet == o->ipv4) {
				w->quiet_skips++;
				return 0; /* matched nothing under this matcher before */
			}
		}
	} else if (bin && k == MATCH_OBS_IPV6) {
		o->value = NULL;
		memcpy(o->ipv6, bin, 16);
	} else {
		if (!v)
			return 0;
		o->value = v;
		o->len = len;
	}
	if (w->dobs) {
		o->time = w->pkt->ts_usec;
		w->obs_time_known = true;
	} else {
		/* a log line's time is read only when an atom needs it */
		w->obs_time_known = false;
		o->time = 0;
	}
	w->reported = false;
	size_t hits = match_observe(w->m, w->scr, o, on_match, on_atom, w);
	if (quiet && hits == 0 && !w->reported)
		*quiet = o->ipv4;
	return hits;
}


/* An HTTP Host value: a name or an address, maybe with a port. */
static void match_host(sensor_worker *w, const char *v, size_t len, uint64_t key)
{
	uint8_t a[16];
	if (len > 2 && v[0] == '[') { /* [v6]:port */
		const char *end = memchr(v, ']', len);
		if (end && parse_addr(AF_INET6, v + 1, (size_t)(end - v - 1), a))
			sensor_match_one(w, MATCH_OBS_IPV6, v + 1, (size_t)(end - v - 1), a, key);
		return;
	}
	const char *colon = memchr(v, ':', len);
	if (colon)
		len = (size_t)(colon - v);
	if (parse_addr(AF_INET, v, len, a))
		sensor_match_one(w, MATCH_OBS_IPV4, v, len, a, key);
	else
		sensor_match_one(w, MATCH_OBS_DOMAIN, v, len, NULL, key);
}

/* The request target rebuilt from its Host and path, "http://" + host +
 * path, matched as a URL; the decoder reports the path (request line)
 * before the Host (a header) of the same request on the same flow. */
static void http_url(sensor_worker *w, const decode_flow *f, const char *host, size_t hlen,
		     uint64_t key)
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
	sensor_match_one(w, MATCH_OBS_URL, w->http_url, 7 + hlen + plen, NULL, key);
}

unsigned sensor_file_hashes(const match *m)
{
	unsigned mask = 0;
	if (m && match_observes(m, MATCH_OBS_MD5))
		mask |= DECODE_HASH_MD5;
	if (m && match_observes(m, MATCH_OBS_SHA1))
		mask |= DECODE_HASH_SHA1;
	if (m && match_observes(m, MATCH_OBS_SHA256))
		mask |= DECODE_HASH_SHA256;
	return mask;
}

static void on_decode(const decode_observable *o, void *user)
{
	sensor_worker *w = user;
	const decode_flow *f = o->flow;
	uint64_t key = 0; /* flow_key(f), hashed only if an atom needs it */
	w->dobs = o;
	w->key_pending = true;
	switch (o->kind) {
	case DECODE_ADDR_SRC:
	case DECODE_ADDR_DST: {
		/* raw_addresses: no text, the flow has the bytes */
		const uint8_t *bin = o->kind == DECODE_ADDR_SRC ? f->src : f->dst;
		sensor_match_one(w, f->family == 6 ? MATCH_OBS_IPV6 : MATCH_OBS_IPV4, NULL, 0, bin,
				 key);
		break;
	}
	case DECODE_DNS_QUERY:
	case DECODE_TLS_SNI:
		sensor_match_one(w, MATCH_OBS_DOMAIN, o->value, o->len, NULL, key);
		break;
	case DECODE_DNS_ANSWER:
		if (o->rrtype == 1) {
			/* parsed here, so a quiet answer is not looked up again */
			uint8_t a[4];
			sensor_match_one(w, MATCH_OBS_IPV4, o->value, o->len,
					 parse_addr(AF_INET, o->value, o->len, a) ? a : NULL, key);
		} else if (o->rrtype == 28)
			sensor_match_one(w, MATCH_OBS_IPV6, o->value, o->len, NULL, key);
		else
			sensor_match_one(w, MATCH_OBS_DOMAIN, o->value, o->len, NULL, key);
		break;
	case DECODE_HTTP_HOST:
		match_host(w, o->value, o->len, key);
		http_url(w, f, o->value, o->len, key);
		break;
	case DECODE_HTTP_URL:
		/* an absolute target is a URL as it is; an origin-form path
		 * waits for the request's Host (RFC 9112 section 3.3) */
		w->http_path_len = 0;
		if (o->len > 7 && memchr(o->value, ':', o->len < 16 ? o->len : 16) &&
		    strstr(o->value, "://")) {
			sensor_match_one(w, MATCH_OBS_URL, o->value, o->len, NULL, key);
		} else if (o->len > 0 && o->value[0] == '/' && o->len < sizeof w->http_path) {
			memcpy(w->http_path, o->value, o->len);
			w->http_path_len = o->len;
			w->http_flow = *f;
		}
		break;
	case DECODE_HTTP_UA:
		sensor_match_one(w, MATCH_OBS_USER_AGENT, o->value, o->len, NULL, key);
		break;
	case DECODE_TLS_CERT_SHA1:
		sensor_match_one(w, MATCH_OBS_X509_SHA1, o->value, o->len, NULL, key);
		break;
	case DECODE_TLS_CERT_SHA256:
		sensor_match_one(w, MATCH_OBS_X509_SHA256, o->value, o->len, NULL, key);
		break;
	case DECODE_FILE_MD5: /* an HTTP body: a file downloaded or uploaded */
		sensor_match_one(w, MATCH_OBS_MD5, o->value, o->len, NULL, key);
		break;
	case DECODE_FILE_SHA1:
		sensor_match_one(w, MATCH_OBS_SHA1, o->value, o->len, NULL, key);
		break;
	case DECODE_FILE_SHA256:
		sensor_match_one(w, MATCH_OBS_SHA256, o->value, o->len, NULL, key);
		break;
	default:
		break;
	}
}

static int on_log(const logs_obs *o, void *arg)
{
	static const signed char KIND[LOGS_KIND_COUNT] = {
		[LOGS_KIND_IPV4] = MATCH_OBS_IPV4,     [LOGS_KIND_IPV6] = MATCH_OBS_IPV6,
		[LOGS_KIND_DOMAIN] = MATCH_OBS_DOMAIN, [LOGS_KIND_URL] = MATCH_OBS_URL,
		[LOGS_KIND_MD5] = MATCH_OBS_MD5,       [LOGS_KIND_SHA1] = MATCH_OBS_SHA1,
		[LOGS_KIND_SHA256] = MATCH_OBS_SHA256, [LOGS_KIND_SHA512] = MATCH_OBS_SHA512,
		[LOGS_KIND_EMAIL] = MATCH_OBS_EMAIL,   [LOGS_KIND_UA] = MATCH_OBS_USER_AGENT,
		[LOGS_KIND_X509_SHA1] = MATCH_OBS_X509_SHA1,
		[LOGS_KIND_X509_SHA256] = MATCH_OBS_X509_SHA256,
	};
	sensor_worker *w = arg;
	w->lobs = o;
	w->dobs = NULL;
	if ((unsigned)o->kind >= LOGS_KIND_COUNT)
		return 0;
	bool addr = o->kind == LOGS_KIND_IPV4 || o->kind == LOGS_KIND_IPV6;
	if (addr && o->field == LOGS_FIELD_CONN_SRC) {
		w->key_file = o->file;
		w->key_line = o->line;
		w->key_family = o->kind == LOGS_KIND_IPV6 ? 6 : 4;
		/* an IPv4 address: four bytes copied, not sixteen, as the reader
		 * has just stored them as 4 + 12 and a 16-byte load of two
		 * fresh stores stalls (a tenth of this function's time) */
		if (o->kind == LOGS_KIND_IPV4) {
			memcpy(w->key_addr, o->addr, 4);
			memset(w->key_addr + 4, 0, 12);
		} else {
			memcpy(w->key_addr, o->addr, 16);
		}
	}
	/* the key is hashed only if an atom needs it (on_atom) */
	w->key_pending = w->key_file == o->file && w->key_line == o->line;
	/* an address comes parsed (o->addr); its text stays for the alert */
	sensor_match_one(w, (match_obs_kind)KIND[o->kind], o->val, o->len, addr ? o->addr : NULL,
			 0);
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
	atomic_init(&w->q.pending, 0);
	pthread_mutex_init(&w->q.mu, NULL);
	pthread_cond_init(&w->q.cv, NULL);
	decode_config dc;
	decode_config_default(&dc);
	dc.raw_addresses = 1; /* matched in binary; text only for a hit */
	w->dec = decode_new(&dc, on_decode, w);
	if (!w->dec)
		return RK_ENOMEM;
	for (int i = 0; i < 3; i++)
		if (logs_reader_init(&w->lr[i], FMT[i], 0, on_log, on_log_err, w) != RK_OK)
			return RK_ENOMEM;
		else
			logs_reader_lazy_time(&w->lr[i]); /* read on a hit or an atom */
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
				k == DECODE_E_FRAG_DROPPED || k == DECODE_E_TLS_CERT_UNTRACKED ||
				k == DECODE_E_HTTP_FILE_UNTRACKED;
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
		w->g = atomic_load(&s->current);
		w->m = w->g->m;
		/* this worker's scratch for this matcher, made on its first
		 * batch with it (once per swap, never per packet); without
		 * memory for it the batch matches nothing */
		if (w->m && !w->g->scr[w->index])
			w->g->scr[w->index] = match_scratch_new(w->m);
		if (w->quiet_serial != w->g->serial) { /* what another matcher said */
			memset(w->quiet, 0, sizeof w->quiet);
			w->quiet_serial = w->g->serial;
			/* HTTP bodies hashed only for the digests this matcher
			 * has file-hash indicators for: none, none hashed */
			decode_set_file_hashes(w->dec, sensor_file_hashes(w->m));
		}
		w->scr = w->g->scr[w->index];
		if (w->m && !w->scr)
			sensor_errs_add(&w->errs, "out of memory for matching: batch skipped", 1,
					b->src->path, 0, !b->src->is_log);
		run_batch(w, b);
		atomic_fetch_add_explicit(&s->bytes_done, b->len, memory_order_release);
		atomic_fetch_sub(&w->q.pending, 1);
		w->batches++;
		w->g = NULL;
		w->m = NULL;
		w->scr = NULL;
		sensor_pool_put(s, b);
	}
	atomic_store(&w->epoch, 0);
	return NULL;
}
