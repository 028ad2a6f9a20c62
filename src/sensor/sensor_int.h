/*
 * sensor_int.h: what the files of the sensor module share; other modules
 * include sensor.h only.
 *
 * Batches: one pool allocated at sensor_start, each batch with a data area
 * of batch_bytes and a packet table. A batch is owned by exactly one party
 * at a time: the pool (free list), a reader (being filled), a worker queue,
 * or a worker (being matched). Readers block on the pool when it is empty,
 * which is the only back-pressure there is and bounds memory.
 *
 *   pool --get--> reader --fill, push--> worker queue --pop--> worker
 *     ^                                                          |
 *     +------------------------------ put -----------------------+
 *
 * Pool size: every worker may have batches_per_worker in flight, and each
 * reader may hold one partly filled batch per worker (packets, dispatched
 * by flow) or one (log blocks), so a reader waiting for a batch always
 * gets one once a worker finishes.
 *
 * Generations: what serves one matcher travels with it in a sensor_gen,
 * published by one atomic pointer: the matcher, one match_scratch slot per
 * worker (filled by that worker on its first batch with the generation, so
 * only it writes its slot) and, when the matcher has compound patterns, the
 * correlator, fed under corr_mu. sensor_swap frees a retired generation's
 * scratches and correlator first, then the matcher, once no worker uses it
 * (match.h: a scratch or correlator is freed before its matcher). The
 * correlator's state does not survive a swap: a compound pattern half seen
 * when the indicators are reloaded starts again.
 */
#ifndef RK_SENSOR_INT_H
#define RK_SENSOR_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <pcap/pcap.h>

#include "sensor.h"

#define SENSOR_MAX_INPUTS 64
#define SENSOR_MAX_SINKS 8
#define SENSOR_MAX_WORKERS 256
#define SENSOR_MIN_BATCH ((size_t)256 * 1024) /* a full-size snapshot fits */
#define SENSOR_MIN_PACKET 48                  /* bytes; sizes the packet table */
/* Correlator bounds: (compound pattern, key) states kept, and observations
 * per state (a REPEATS above the depth can never complete). 16384 states of
 * 16 observations of 24 bytes: about 6 MB, only when a pattern needs it. */
#define SENSOR_CORR_KEYS 16384
#define SENSOR_CORR_DEPTH 16
/* IPv4 addresses a worker remembers as matching nothing (sensor_work.c):
 * 16384 of 4 bytes, 64 KB a worker. */
#define SENSOR_QUIET_BITS 14
#define SENSOR_QUIET_SLOTS (1u << SENSOR_QUIET_BITS)

/* sensor_intel.c: bundle files are read through a window of this many
 * bytes (grown for a larger object); tests make it small to put objects
 * across its edges. */
#define SENSOR_INTEL_WINDOW ((size_t)4 << 20)
void sensor_intel_set_window(sensor_intel *in, size_t bytes);
/* Loads by two readers (sensor_intel_set_load_threads) so far: those whose
 * guessed split was an element boundary of the objects array (the second
 * reader's part was used), and those whose guess was not (it was dropped
 * and the first read on alone). For tests. */
void sensor_intel_split_counts(sensor_intel *in, size_t *kept, size_t *dropped);

typedef struct sensor_gen {
	uint64_t serial;        /* unique per generation, never reused */
	match *m;               /* owned; may be NULL (matches nothing) */
	match_corr *corr;       /* owned; NULL without compound patterns */
	pthread_mutex_t corr_mu; /* serialises corr */
	unsigned nscr;
	match_scratch *scr[];   /* per worker, written only by that worker */
} sensor_gen;

/* sensor_ids.c: the ids of a matcher's indicators by handle, which
 * sensor_intel_build hangs on the matcher (match_attach). */
typedef struct sensor_ids sensor_ids;
sensor_ids *sensor_ids_new(void);
void sensor_ids_free(void *ids); /* a sensor_ids; void * for match_attach */
/* Records the id of the next handle. RK_ENOMEM. */
rk_err sensor_ids_add(sensor_ids *t, const char *id);
/* The same for an "indicator--" id in lower case given as its UUID's
 * 16 bytes, which is how the indicator set keeps most ids. */
rk_err sensor_ids_add_uuid(sensor_ids *t, const uint8_t uuid[16]);
/* Gives back the room grown for handles never added. */
void sensor_ids_trim(sensor_ids *t);
/* The id of handle, in the table or printed into buf; "" when t is NULL
 * or never recorded handle. */
const char *sensor_ids_get(const sensor_ids *t, uint32_t handle, char buf[SENSOR_ID_MAX]);

typedef struct sensor_pkt {
	uint32_t off, caplen;
	int64_t ts_usec;
	uint64_t number; /* in its file, 1-based */
} sensor_pkt;

typedef struct sensor_source sensor_source;

typedef struct sensor_batch {
	struct sensor_batch *next;
	sensor_source *src;
	size_t len;          /* bytes of data used */
	uint32_t npkts;      /* packets: entries of pkts used */
	uint64_t first_line; /* logs: the number of the block's first line */
	logs_header hdr;     /* logs: Zeek header state at that line */
	uint8_t *data;
	sensor_pkt *pkts;
} sensor_batch;

typedef struct sensor_queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	sensor_batch *head, *tail;
	bool closed;
	/* batches pushed and not yet matched: what a log reader weighs when
	 * it picks a worker (a worker the scheduler left behind gets fewer) */
	_Atomic unsigned pending;
} sensor_queue;

/* Error counts by kind, owned by one thread until merged. */
typedef struct sensor_errs {
	sensor_err_count e[SENSOR_ERR_KINDS];
	size_t n;
} sensor_errs;

struct sensor_source {
	sensor *s;
	sensor_input in; /* in.path is `path` */
	char *path;
	pthread_t thread;
	bool started;
	pcap_t *pcap;       /* live interfaces */
	decode_pcap *file;  /* capture files */
	char why[RK_ERRCTX_MSG]; /* the capture file's read error */
	int linktype;
	bool is_log;
	logs_format format;
	logs_blocker blk;
	bool blk_open;
	sensor_batch **fill; /* packets: the batch being filled per worker */
	unsigned rr;         /* logs: the next worker */
	uint64_t packets, bytes;
	sensor_errs errs;
	bool failed;
};

typedef struct sensor_worker {
	sensor *s;
	unsigned index;
	pthread_t thread;
	bool started;
	sensor_queue q;
	_Atomic uint64_t epoch; /* generation of the matcher in use; 0 idle */
	sensor_gen *g;          /* the generation for the current batch */
	const match *m;         /* g->m */
	match_scratch *scr;     /* g->scr[index] */
	decode_ctx *dec;
	uint64_t dec_err_seen[DECODE_E_COUNT];
	logs_reader lr[3];      /* by format: AUTO (zeek), JSON (eve), TEXT */
	/* the batch being matched */
	const sensor_batch *batch;
	const sensor_pkt *pkt;
	const decode_observable *dobs;
	const logs_obs *lobs;
	/* the observable being looked up, and its text as seen for alerts
	 * (NULL for an address given in binary: formatted only on a hit) */
	match_obs obs;
	bool obs_time_known;  /* obs.time is the input's; else now, on demand */
	const char *obs_text;
	size_t obs_text_len;
	/* logs: the line last given a source address, and that address
	 * (hashed into the correlation key only when an atom needs it) */
	const char *key_file;
	uint64_t key_line;
	uint8_t key_family;
	uint8_t key_addr[16];
	bool key_pending; /* the current observable's line has a source address */
	uint64_t observables, hits, batches;
	/* addresses that matched nothing under generation quiet_serial, by
	 * a hash of the address (0.0.0.0 is never kept: 0 is an empty slot);
	 * reported: the current observable reached a sink or an atom */
	uint64_t quiet_serial;
	uint64_t quiet_skips;
	bool reported;
	uint32_t quiet[SENSOR_QUIET_SLOTS];
	sensor_errs errs;
	/* an HTTP request's path, waiting for its Host to become a URL */
	decode_flow http_flow;
	size_t http_path_len;
	char http_path[MATCH_MAX_VALUE];
	char http_url[MATCH_MAX_VALUE];
} sensor_worker;

struct sensor {
	sensor_config cfg;
	unsigned nworkers;
	_Atomic(sensor_gen *) current;
	_Atomic uint64_t gen;
	pthread_mutex_t swap_mu;
	uint64_t swaps;
	atomic_int stop;
	atomic_int readers_left;
	atomic_int live_open; /* sources open and readers running: stop may wake them */
	_Atomic uint64_t bytes_done; /* input bytes of batches fully matched */
	bool started, waited;
	sensor_source *src[SENSOR_MAX_INPUTS];
	size_t nsrc;
	struct {
		sensor_hit_fn fn;
		void *arg;
	} sinks[SENSOR_MAX_SINKS];
	size_t nsinks;
	sensor_worker *workers;
	/* pool */
	pthread_mutex_t pool_mu;
	pthread_cond_t pool_cv;
	sensor_batch *free_list;
	sensor_batch *batches;
	size_t nbatches;
	size_t batch_bytes, max_pkts;
	uint8_t *batch_data;
	sensor_pkt *batch_pkts;
};

/* sensor_run.c */
/* A generation for m (taken over; freed with the generation); NULL on OOM
 * (m is then still the caller's). */
sensor_gen *sensor_gen_new(match *m, unsigned nworkers);
void sensor_gen_free(sensor_gen *g);
sensor_batch *sensor_pool_get(sensor *s);
void sensor_pool_put(sensor *s, sensor_batch *b);
/* The next batch, or NULL once the queue is closed and empty. */
sensor_batch *sensor_queue_pop(sensor_queue *q);
void sensor_errs_add(sensor_errs *e, const char *why, uint64_t n, const char *input,
		     uint64_t number, bool packet);

/* sensor_work.c */
rk_err sensor_worker_init(sensor_worker *w, sensor *s, unsigned index);
void sensor_worker_cleanup(sensor_worker *w);
void *sensor_worker_main(void *arg);
/* The DECODE_HASH_* digests of HTTP bodies worth computing for m: those
 * its file-hash indicators (MD5, SHA-1, SHA-256) can match; 0 for NULL. */
unsigned sensor_file_hashes(const match *m);

#endif
