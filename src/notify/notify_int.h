/*
 * notify_int.h: what the files of the notify module share (the engine's
 * use of the database and the senders), and nothing more.
 *
 *   notify_config.c  the configuration file
 *   notify_match.c   observables, touched assets, the reduced view
 *   notify_format.c  note, webhook body and signature, digest mail
 *   notify_db.c      notify.db: cursors, notifications, deliveries
 *   notify_send.c    libcurl: webhook POST, SMTP
 *   notify_run.c     the engine thread
 */
#ifndef RK_NOTIFY_INT_H
#define RK_NOTIFY_INT_H

#include "notify.h"

/* ---------------------------------------------------------------- database */
/* notify_db.c */

rk_err notify_db_begin(notify_db *db, rk_errctx *ctx);
/* Commits when err is RK_OK, else rolls back; returns the outcome. */
rk_err notify_db_end(notify_db *db, rk_err err, rk_errctx *ctx);
/* The last store seq looked at in a collection (0: none). */
rk_err notify_db_cursor(notify_db *db, const char *collection, uint64_t *seq, rk_errctx *ctx);
rk_err notify_db_set_cursor(notify_db *db, const char *collection, uint64_t seq,
			    rk_errctx *ctx);
/*
 * Records a notification unless the same (org, object, version, asset) is
 * there (then *id is 0), with a queued delivery per channel bit set in
 * `channels` (1u << notify_channel).
 */
rk_err notify_db_add(notify_db *db, const notify_record *n, unsigned channels, int64_t *id,
		     rk_errctx *ctx);

/* A delivery due and the notification it carries (strings valid during
 * the callback). */
typedef struct notify_due {
	notify_record rec;
	notify_channel channel;
	unsigned attempts;
} notify_due;
typedef rk_err (*notify_due_fn)(void *arg, const notify_due *d);
/* Queued deliveries of `channel` with next_at <= now, of org only when not
 * NULL, oldest first, at most limit. */
rk_err notify_db_due(notify_db *db, notify_channel channel, const char *org, rk_time now,
		     size_t limit, notify_due_fn fn, void *arg, rk_errctx *ctx);
/* The organisations with queued deliveries of `channel`. */
rk_err notify_db_orgs_queued(notify_db *db, notify_channel channel,
			     void (*fn)(void *arg, const char *org), void *arg, rk_errctx *ctx);
/* Outcome of one attempt: sent, or an error with the next try at next_at
 * (0: give up, failed). */
rk_err notify_db_sent(notify_db *db, int64_t id, notify_channel channel, rk_time at,
		      rk_errctx *ctx);
rk_err notify_db_retry(notify_db *db, int64_t id, notify_channel channel, const char *error,
		       rk_time next_at, rk_errctx *ctx);
/* The start of org's current digest window; 0 when none is open. */
rk_err notify_db_window(notify_db *db, const char *org, rk_time *start, rk_errctx *ctx);
rk_err notify_db_set_window(notify_db *db, const char *org, rk_time start, rk_errctx *ctx);

/* ---------------------------------------------------------------- send */
/* notify_send.c */

/* POSTs body to url with the signature headers; ok: a 2xx answer. On
 * failure *error says why ("connection refused", "HTTP 500"). */
bool notify_send_webhook(const char *url, const unsigned char *secret, size_t secret_len,
			 int64_t delivery_id, const char *body, size_t len, unsigned timeout_s,
			 char *error, size_t errlen);
/* One mail to every address of `to` through the configured SMTP server. */
bool notify_send_mail(const notify_config *c, const char *const *to, size_t n_to,
		      const char *message, size_t len, char *error, size_t errlen);

#endif
