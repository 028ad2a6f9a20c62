/*
 * uplink.h: the sensor's link to its hub: the indicator feed (TAXII GET
 * with added_after and paging, a durable checkpoint) and the sightings
 * going back (aggregated per indicator and interval, spooled on disk,
 * delivered once, in order).
 *
 *      hub --GET objects (added_after, next)--> uplink_feed --apply(obj)--> sensor
 *      sensor --hit--> uplink_sight_record --close interval--> uplink_spool
 *      uplink_spool --POST envelope, read status--> hub
 *
 * The module knows nothing of the sensor's matcher: the feed hands every
 * object to a caller callback, and the caller records hits by indicator id.
 * It depends on client (the TAXII client), stix and common only.
 *
 * Durability, the promise of this module: nothing the hub served is lost
 * and nothing the sensor saw is lost or counted twice, across a hub that
 * is down, slow or answers garbage and across a sensor restart.
 *  - feed: the checkpoint (added_after) moves only after the caller took a
 *    whole page and the page is in the feed's object log (fsync, then an
 *    atomic rename of the checkpoint file); a restart replays the log to
 *    the caller and resumes from the checkpoint.
 *  - sightings: an interval's counts are forgotten only after its sightings
 *    are in the spool (fsync); a spooled sighting leaves the spool only
 *    after the hub's status named it a success (a stored duplicate is a
 *    success) or a permanent failure. A sighting's id is a UUIDv5 of the
 *    sensor identity, the indicator and the interval start, and every other
 *    property is fixed when it is spooled, so posting it again can only
 *    meet "already present".
 *
 * Ownership: x_open/x_new give heap objects freed with x_free (NULL
 * accepted). Borrowed strings are copied where kept.
 */
#ifndef RK_UPLINK_H
#define RK_UPLINK_H

#include <pthread.h>

#include "client.h"
#include "common.h"

/* ---------------------------------------------------------------- spool */
/* uplink_spool.c */

/*
 * An append-only file of JSON records (one compact object per line,
 * DIR/spool.jsonl) and the position up to which they are delivered
 * (DIR/spool.pos, "<byte offset> <line>\n", replaced atomically). Records
 * before the position are done; the file is emptied once every record is.
 * A torn last line (a crash during an append) is cut off when the spool
 * opens; a line that is not a JSON object is reported with its line and
 * byte offset, counted, and skipped. One thread at a time.
 */
typedef struct uplink_spool uplink_spool;

#define UPLINK_SPOOL_DEFAULT_MAX RK_SPOOL_MAX_BYTES

/* Opens (creating) the spool in dir (created if missing). max_bytes bounds
 * the file (0: UPLINK_SPOOL_DEFAULT_MAX). */
rk_err uplink_spool_open(const char *dir, uint64_t max_bytes, uplink_spool **out,
			 rk_errctx *ctx);
void uplink_spool_free(uplink_spool *s);
/* Appends n records and syncs them to disk before returning. RK_ETOOBIG
 * ("spool full") when the file would pass its bound: nothing is written. */
rk_err uplink_spool_append(uplink_spool *s, json_t *const *records, size_t n, rk_errctx *ctx);

/* What became of one record sent to the hub. */
typedef enum {
	UPLINK_SENT_OK,       /* stored (or already stored): done */
	UPLINK_SENT_REJECTED, /* refused for good (invalid, not permitted): done, kept in
			       * DIR/rejected.jsonl and reported */
	UPLINK_SENT_RETRY,    /* not known to be stored: send again later */
} uplink_sent;

/* Sends records[0..n) in order and fills outcomes[i]; an error return means
 * nothing is known to have been stored (hub down, refused request). */
typedef rk_err (*uplink_send_fn)(void *arg, json_t *const *records, size_t n,
				 uplink_sent *outcomes, rk_errctx *ctx);

typedef struct uplink_spool_stats {
	uint64_t records;        /* appended since open, plus found at open */
	uint64_t delivered;      /* UPLINK_SENT_OK */
	uint64_t rejected;       /* UPLINK_SENT_REJECTED */
	uint64_t corrupt;        /* lines skipped as not JSON objects */
	uint64_t pending;        /* records not yet done */
	uint64_t bytes;          /* size of the spool file */
	char last_corrupt[160];  /* "line L (byte O): why" of the last one, "" if none */
} uplink_spool_stats;

/*
 * Delivers pending records in file order, `batch` (1 to
 * RK_MAX_OBJECTS_PER_ENVELOPE) per send. Stops at the first record that
 * must be retried, or when send fails (that error is returned); the
 * position moves past every record done before that. *sent_out (may be
 * NULL) counts records done by this call.
 */
rk_err uplink_spool_deliver(uplink_spool *s, uplink_send_fn send, void *arg, size_t batch,
			    size_t *done_out, rk_errctx *ctx);
void uplink_spool_stats_get(const uplink_spool *s, uplink_spool_stats *out);

/* ---------------------------------------------------------------- sightings */
/* uplink_sight.c */

/* The namespace of sighting ids: sighting--UUIDv5(this, identity "\n"
 * indicator id "\n" interval start). Fixed forever. */
#define UPLINK_SIGHTING_NAMESPACE "6cf67c87-6d01-43e2-931d-2ab67ab07dff"
#define UPLINK_MAX_MARKINGS RK_SIGHTING_MAX_MARKINGS

typedef rk_time (*uplink_clock_fn)(void *arg);

typedef struct uplink_sight_opts {
	const char *identity;     /* identity--... of the sensor's organisation */
	double interval_seconds;  /* reporting interval; 0: 60 */
	uplink_clock_fn clock;    /* wall clock; NULL: rk_time_now */
	void *clock_arg;
} uplink_sight_opts;

typedef struct uplink_sight uplink_sight;

/* The sighting aggregator, spooling into `spool` (borrowed; must outlive
 * it). Its first interval starts at the clock's time now, so a restarted
 * sensor never makes the id of an interval its previous run closed. */
rk_err uplink_sight_new(const uplink_sight_opts *opts, uplink_spool *spool,
			uplink_sight **out, rk_errctx *ctx);
void uplink_sight_free(uplink_sight *s);
/*
 * One hit of indicator_id seen at `seen` (observation time), with the
 * indicator's object_marking_refs (the first UPLINK_MAX_MARKINGS kept).
 * Thread-safe; allocates only for the first hit of an indicator in an
 * interval. RK_EINVAL for an id that is not an indicator id, RK_ENOMEM.
 */
rk_err uplink_sight_record(uplink_sight *s, const char *indicator_id,
			   const char *const *markings, size_t n_markings, rk_time seen);
/*
 * Closes the intervals that ended by the clock (every interval, the
 * current one included, with all), makes one sighting per indicator per
 * interval and appends them to the spool (synced). On a spool error the
 * intervals are kept and tried again by the next call. *closed (may be
 * NULL) gets the number of sightings spooled.
 */
rk_err uplink_sight_close(uplink_sight *s, bool all, size_t *closed, rk_errctx *ctx);

/* The send function that posts records as one envelope to a collection and
 * reads the status (client_post_objects); arg is an uplink_hub. */
typedef struct uplink_hub {
	client_http *http;
	const char *collection;
	double wait_seconds; /* for a pending status; 0: 10 */
} uplink_hub;
rk_err uplink_hub_send(void *arg, json_t *const *records, size_t n, uplink_sent *outcomes,
		       rk_errctx *ctx);

/* ---------------------------------------------------------------- feed */
/* uplink_feed.c */

/* Takes one object the hub served (borrowed; incref to keep). A non-OK
 * return means the caller could not take it now (out of memory): the page
 * is not checkpointed and comes again. A bad object the caller skips is
 * its own business (count it, return RK_OK). */
typedef rk_err (*uplink_apply_fn)(void *arg, json_t *obj);

typedef struct uplink_feed_opts {
	const char *url;        /* the hub, to tell its checkpoint from another hub's */
	const char *collection; /* collection id */
	const char *state_dir;  /* checkpoint and object log; created if missing */
	const char *type;       /* match[type]; NULL: "indicator" */
	unsigned page_limit;    /* objects per page; 0: RK_FEED_PAGE_LIMIT */
	/* Superseded lines the object log may hold (older versions of an id
	 * logged again) before open rewrites it with the last line of each
	 * id; 0: as many as there are ids, at least 1024. */
	uint64_t compact_after;
} uplink_feed_opts;

typedef struct uplink_feed uplink_feed;

typedef struct uplink_feed_stats {
	uint64_t polls, pages, objects; /* objects applied from the hub */
	uint64_t replayed;              /* objects replayed from the log at open */
	uint64_t errors;                /* failed polls */
	uint64_t corrupt;               /* log lines skipped at replay */
	uint64_t compacted;             /* superseded lines dropped from the log at open */
	char checkpoint[RK_TIME_BUF + 8];
	char last_error[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
} uplink_feed_stats;

/*
 * Opens the feed's state: reads DIR/feed-<collection>.pos (a checkpoint
 * written for another hub URL or collection is ignored, and the log with
 * it) and replays DIR/feed-<collection>.jsonl through apply, so the caller
 * starts with every object applied before; a log holding many superseded
 * versions is then rewritten with the last line of each id (atomically). Errors: the state directory
 * cannot be used (RK_EIO, naming it), apply failed.
 */
rk_err uplink_feed_open(const uplink_feed_opts *opts, uplink_apply_fn apply, void *arg,
			uplink_feed **out, rk_errctx *ctx);
void uplink_feed_free(uplink_feed *f);
/*
 * One poll: pages from the checkpoint (added_after = the last page's
 * X-TAXII-Date-Added-Last) following `next` until `more` is false; each
 * page is applied, logged (synced) and checkpointed before the next is
 * asked for. On a hub error (down, timeout, garbage) the pages taken so far
 * stay taken and the error is returned with ctx saying what happened, and
 * counted; the caller retries later (with back-off). *applied (may be NULL)
 * counts objects applied by this poll.
 */
rk_err uplink_feed_poll(uplink_feed *f, client_http *h, uplink_apply_fn apply, void *arg,
			size_t *applied, rk_errctx *ctx);
void uplink_feed_stats_get(const uplink_feed *f, uplink_feed_stats *out);

#endif
