/*
 * sensor.h: the sensor engine. Indicators in, traffic and logs through,
 * hits out.
 *
 * Data flow:
 *
 *   STIX indicators --sensor_intel_apply--> sensor_intel (latest version of
 *   each) --sensor_intel_build--> match (immutable) --sensor_swap--> engine
 *
 *   input readers (one thread per --input) --batches--> N workers
 *   (decode/logs parse, match lookups) --sensor_hit--> hit sinks (alerts
 *   file, sightings uplink, ...)
 *
 * The indicator set (sensor_intel.c) keeps, per indicator id, the version
 * with the newest `modified`; its lookups are thread-safe so workers can
 * name an indicator in an alert while a feed thread applies updates.
 *
 * The engine (sensor_run.c, sensor_work.c) owns a pool of fixed-size
 * batches allocated once at sensor_start; readers fill them (packets copied
 * whole, or log blocks cut at line ends with the Zeek header state as it
 * was at the block's first line) and hand them to workers; a worker
 * returns a batch to the pool once done. Packets go to the worker chosen by
 * a symmetric hash of the IP address pair (decode_packet_hash), so a TCP
 * flow's two directions and an IP datagram's fragments meet in one worker's
 * decode context; log blocks go round-robin. Nothing is allocated per
 * packet or per line.
 *
 * Hot swap: the current matcher is one atomic pointer. A worker takes it
 * at the start of each batch and announces the generation it took in its
 * own slot; sensor_swap publishes the new matcher, then frees the old one
 * once every worker's slot is idle or at the new generation. No lock is
 * taken per packet or per line; only the rare atoms of compound patterns
 * take the correlator's lock.
 *
 * Ownership: x_new/x_free heap objects owned by the caller (frees accept
 * NULL). sensor_new and sensor_swap take ownership of the matcher given.
 * Strings in a sensor_hit are valid only during the sink call.
 * Threads: a sensor is driven by one thread (add inputs and sinks, start,
 * wait, free); sensor_swap and sensor_stop may be called from any thread
 * while it runs (sensor_stop also from a signal handler). Sinks are called
 * from worker threads, concurrently: they must be thread-safe.
 */
#ifndef RK_SENSOR_H
#define RK_SENSOR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "common.h"
#include "decode.h"
#include "logs.h"
#include "match.h"

/* ---------------------------------------------------------------- indicators */
/* sensor_intel.c */

/* Bounds on what an alert or a sighting copies out of an indicator. A
 * longer name is cut (on a UTF-8 boundary); more markings are an error. */
#define SENSOR_NAME_MAX 256
#define SENSOR_MARKINGS_MAX 16
#define SENSOR_ID_MAX (RK_MAX_STIX_ID + 1)

typedef struct sensor_intel sensor_intel;

/* What alerts and sightings need of one indicator, copied out. */
typedef struct sensor_indicator_info {
	char name[SENSOR_NAME_MAX];       /* "" when the indicator has none */
	char created_by[SENSOR_ID_MAX];   /* created_by_ref, "" when none */
	char markings[SENSOR_MARKINGS_MAX][SENSOR_ID_MAX]; /* object_marking_refs */
	size_t n_markings;
	rk_time modified, valid_from, valid_until; /* valid_until 0: none */
	bool revoked;
} sensor_indicator_info;

typedef struct sensor_intel_stats {
	size_t indicators;   /* distinct ids kept (revoked included) */
	size_t revoked;      /* of those, the revoked ones */
	size_t not_stix;     /* of those, pattern_type other than "stix" */
	size_t applied;      /* objects that changed the set */
	size_t stale;        /* versions older than or equal to the one kept */
	size_t other_types;  /* objects that are not indicators, ignored */
	size_t bad;          /* malformed indicators refused */
} sensor_intel_stats;

/* An empty set; NULL on OOM. */
sensor_intel *sensor_intel_new(void);
void sensor_intel_free(sensor_intel *in);

/*
 * Applies one STIX object. An indicator newer (by `modified`) than the
 * version kept replaces it, *changed = true; an older or equal one is
 * ignored; `revoked: true` is kept as revoked (the matcher skips it). An
 * indicator whose pattern_type is not "stix" is kept but never built (and
 * counted). Objects of other types are ignored (RK_OK, not changed).
 * Errors: RK_EINVAL for a malformed indicator (missing or mistyped id,
 * modified, pattern, pattern_type, valid_from; bad timestamps; too many
 * markings), with ctx naming the property; the set is unchanged. RK_ENOMEM.
 * changed may be NULL. Safe against concurrent lookups and builds.
 */
rk_err sensor_intel_apply(sensor_intel *in, const json_t *obj, bool *changed, rk_errctx *ctx);

/* Hears of each object of a bundle that was refused: its index in
 * "objects", its id ("" when it has none) and why. */
typedef void (*sensor_intel_err_fn)(void *arg, size_t index, const char *id,
				    const rk_errctx *why);

/*
 * Applies every object of a STIX bundle file (path "-" is standard input;
 * a bare array of objects or a single object are accepted too). A bad
 * object is reported through on_err (may be NULL) and skipped; *n_bad
 * counts them (may be NULL). Errors: RK_ENOTFOUND/RK_EIO/RK_ETOOBIG when
 * the file cannot be read, RK_EPARSE when it is not JSON, RK_EINVAL when it
 * is neither a bundle nor an object nor an array; ctx names the file.
 */
rk_err sensor_intel_load_bundle(sensor_intel *in, const char *path, sensor_intel_err_fn on_err,
				void *arg, size_t *n_bad, rk_errctx *ctx);

/*
 * How many threads sensor_intel_load_bundle may use to read a large
 * bundle file: 1 (the default) or 2 (more count as 2), which split the
 * objects array near the middle and stage both halves at once, with the
 * same outcome as one reader. A sensor gives 2 for the load before its
 * workers start, when the second core is idle, and 1 for reloads while
 * it runs, so that a reload never takes a worker's core.
 */
void sensor_intel_set_load_threads(sensor_intel *in, unsigned threads);

/*
 * The same for `len` bytes of JSON text already in memory (a bundle, a
 * TAXII envelope: any object with an "objects" array, an array or one
 * object); name is used in messages. The text is only read.
 * Both load functions change the set only once the whole "objects" array
 * has been read and found well-formed (refusals of single objects are
 * reported then): a bundle cut off halfway changes nothing.
 */
rk_err sensor_intel_load_text(sensor_intel *in, char *text, size_t len, const char *name,
			      sensor_intel_err_fn on_err, void *arg, size_t *n_bad, rk_errctx *ctx);

/*
 * Gives `in` the contents of `from` and `from` the old contents of `in`,
 * in one step under in's write lock (a lookup sees one set or the other,
 * never a mix): how a reloaded file replaces what an earlier read of it
 * put in the set, indicators removed from the file included. `from` must
 * not be in use by other threads; the caller frees it afterwards.
 */
void sensor_intel_replace(sensor_intel *in, sensor_intel *from);

/*
 * Builds a matcher from the set as it is now: every indicator with a stix
 * pattern is added (the match builder skips revoked ones and those expired
 * at `now`, and reports patterns that do not compile through on_reject,
 * which may be NULL). *out is a new matcher owned by the caller, with the
 * ids of its indicators attached (match_attach; the matcher reports
 * handles, and the engine names hits from these ids).
 * Errors: RK_ENOMEM.
 */
rk_err sensor_intel_build(sensor_intel *in, rk_time now, match_reject_fn on_reject, void *arg,
			  match **out, rk_errctx *ctx);

/* Copies out what is known of indicator `id`; false when the set does not
 * hold it. Thread-safe. */
bool sensor_intel_lookup(sensor_intel *in, const char *id, sensor_indicator_info *out);
void sensor_intel_get_stats(sensor_intel *in, sensor_intel_stats *st);

/* ---------------------------------------------------------------- inputs */
/* sensor_input.c */

typedef enum {
	SENSOR_IN_PCAP,  /* a capture file (or "-") read with libpcap */
	SENSOR_IN_IFACE, /* a live interface, captured until stopped */
	SENSOR_IN_ZEEK,  /* Zeek logs, TSV or JSON */
	SENSOR_IN_EVE,   /* Suricata EVE JSON */
	SENSOR_IN_TEXT,  /* any text: values found anywhere in a line */
} sensor_input_kind;

typedef struct sensor_input {
	sensor_input_kind kind;
	const char *path; /* borrowed; "-" is standard input */
} sensor_input;

/* Parses "FORMAT:PATH" (formats pcap, iface, zeek, eve, text). path in
 * *out points into spec. RK_EINVAL with a message naming what is wrong. */
rk_err sensor_input_parse(const char *spec, sensor_input *out, rk_errctx *ctx);
const char *sensor_input_kind_name(sensor_input_kind k);

/* ---------------------------------------------------------------- hits */

/* One indicator matched one observable. */
typedef struct sensor_hit {
	uint32_t handle;          /* the matcher's handle of the indicator */
	const char *indicator_id; /* from the matcher's attached ids ("" if none) */
	const char *obs_type;     /* STIX SCO type: "ipv4-addr", "domain-name", ... */
	const char *value;        /* as seen (not NUL-terminated) */
	size_t value_len;
	const char *input;        /* the input's path */
	bool from_packet;
	/* packets: the flow and the packet number in its file (1-based) */
	uint8_t family;           /* 4 or 6 */
	uint8_t proto;            /* 6 TCP, 17 UDP, ... */
	uint16_t sport, dport;
	char src[48], dst[48];    /* address text */
	uint64_t packet;
	/* logs: the line number in its file (1-based) and the field */
	uint64_t line;
	const char *field;        /* logs_field_name, e.g. "dns.query" */
	rk_time time;             /* packet time, the line's timestamp, else now */
	bool time_from_input;
} sensor_hit;

typedef void (*sensor_hit_fn)(const sensor_hit *hit, void *arg);

/* A bad packet, line or input: where and why (why is a static string). */
typedef void (*sensor_err_fn)(const char *input, bool packet, uint64_t number, const char *why,
			      void *arg);

/* ---------------------------------------------------------------- engine */
/* sensor_run.c */

typedef struct sensor_config {
	unsigned threads;      /* workers; 0 = number of CPUs */
	bool follow;           /* log files: keep reading as they grow */
	size_t batch_bytes;    /* bytes per batch (0: 256 KiB; at least a
				* log line bound + 1) */
	unsigned batches_per_worker; /* in flight per worker (0: 4) */
	int poll_ms;           /* follow and live capture wake-up (0: 100) */
	sensor_err_fn on_err;  /* may be NULL; called from any thread, for bad
				* input (not for capacity events such as an
				* evicted TCP flow, which are only counted) */
	void *err_arg;
} sensor_config;

/* Error counts of one kind, with the last place it happened. */
typedef struct sensor_err_count {
	const char *why;       /* static string; NULL for an unused slot */
	uint64_t count;
	const char *last_input;
	uint64_t last_number;  /* packet or line number */
	bool packet;
} sensor_err_count;

#define SENSOR_ERR_KINDS 40

typedef struct sensor_stats {
	uint64_t packets, lines, bytes, observables, hits, swaps, batches;
	sensor_err_count errors[SENSOR_ERR_KINDS]; /* by kind, in order first seen */
	size_t n_errors;
	uint64_t input_errors; /* inputs that could not be opened or read */
} sensor_stats;

typedef struct sensor sensor;

/* A sensor matching with m (owned from now on; may be NULL: nothing
 * matches until sensor_swap). cfg NULL takes the defaults. NULL on OOM. */
sensor *sensor_new(const sensor_config *cfg, match *m);
/* Stops (if running), joins, frees every batch and the matcher. */
void sensor_free(sensor *s);

/* Before sensor_start. The input's path is copied. RK_EINVAL when started
 * or for too many inputs/sinks; RK_ENOMEM. */
rk_err sensor_add_input(sensor *s, const sensor_input *in, rk_errctx *ctx);
rk_err sensor_add_sink(sensor *s, sensor_hit_fn fn, void *arg);

/* Allocates the batches, opens the inputs and starts the threads. An input
 * that cannot be opened fails the start (RK_ENOTFOUND/RK_EIO, ctx names
 * it); nothing is left running then. */
rk_err sensor_start(sensor *s, rk_errctx *ctx);
/* Asks every reader to stop; workers drain what was read. Async-signal-safe. */
void sensor_stop(sensor *s);
/* Waits until every input has ended (or sensor_stop) and every batch is
 * matched, then joins the threads. RK_EIO when an input failed while read
 * (counted in input_errors; the others went on). */
rk_err sensor_wait(sensor *s);
/* Publishes next (owned from now on) without pausing the inputs; the
 * previous matcher is freed once no worker uses it (this call waits for
 * that, never for an input). Compound patterns partly seen start again
 * with the new matcher. When there is no memory for the new matcher's
 * correlator, next is freed and the previous matcher stays. Any thread. */
void sensor_swap(sensor *s, match *next);
/* Bytes of input (capture records or log lines) matched so far, over
 * every input: progress any thread may read while the sensor runs. */
uint64_t sensor_bytes_done(sensor *s);
/* Totals, once sensor_wait returned (the counters belong to the running
 * threads until then; before, only swaps is filled in). */
void sensor_get_stats(sensor *s, sensor_stats *st);
/* Human-readable totals and errors, one per line. */
void sensor_stats_print(const sensor_stats *st, FILE *out);

/* ---------------------------------------------------------------- alerts */
/* sensor_alert.c */

typedef struct sensor_alerts sensor_alerts;

/*
 * JSON-lines alerts to path ("-" is standard output; a file is appended
 * to). intel (borrowed, may be NULL) names the indicators. Each hit is one
 * line, written whole with one write(2) under a lock:
 *   {"time":"...Z","indicator":{"id":"...","name":"..."},
 *    "observable":{"type":"domain-name","value":"..."},
 *    "where":{"input":"...","line":N,"field":"dns.query"} or
 *    "where":{"input":"...","packet":N,"flow":{"family":4,"proto":"udp",
 *             "src":"...","sport":N,"dst":"...","dport":N}}}
 * Errors: RK_EIO when the file cannot be opened (ctx says why); RK_ENOMEM.
 */
rk_err sensor_alerts_open(const char *path, sensor_intel *intel, sensor_alerts **out,
			  rk_errctx *ctx);
/* A sensor_hit_fn; arg is the sensor_alerts. */
void sensor_alerts_hit(const sensor_hit *hit, void *arg);
/* Formats one alert line (with its newline) into b; for tests. */
rk_err sensor_alert_format(rk_buf *b, const sensor_hit *hit, const sensor_indicator_info *info);
/* Lines written and write errors so far. */
uint64_t sensor_alerts_written(sensor_alerts *a);
uint64_t sensor_alerts_failed(sensor_alerts *a);
void sensor_alerts_close(sensor_alerts *a);

#endif
