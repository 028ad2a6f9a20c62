/*
 * uplink_sight.c: hits turned into STIX 2.1 sightings, one per indicator
 * per reporting interval, and the send function that delivers them.
 *
 * Intervals follow the wall clock (the sensor's clock, not the times in
 * the data: a pcap of last year replayed today is sighted today, with
 * first_seen/last_seen saying when the traffic was). The interval of a
 * record is [start, start + interval) with start aligned to a multiple of
 * the interval, except that no interval starts before this aggregator was
 * made: a sensor restarted inside an interval its previous run already
 * closed at exit gets a new start, hence new sighting ids.
 *
 *     record (any thread, under the lock)
 *        clock past the current interval's end? -> current moves to `closed`
 *        find or add the indicator's entry, count, first/last seen
 *     close (the uplink thread)
 *        closed intervals (and, with all, the current one) -> sightings
 *        -> uplink_spool_append (synced) -> entries freed
 *        spool error: the entries stay, the next close tries again
 *
 * A sighting is made whole at close and never changes after: id UUIDv5 of
 * UPLINK_SIGHTING_NAMESPACE and "<identity>\n<indicator id>\n<interval
 * start>", created = modified = the interval start, count, first_seen,
 * last_seen, sighting_of_ref, where_sighted_refs and created_by_ref = the
 * sensor's organisation, object_marking_refs = the indicator's (so the
 * sighting is marked at least as strictly as what it sights; the hub's
 * policy checks the same). Re-posting it can therefore only be "already
 * present" on the hub.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "uplink_int.h"
#include "stix.h"

#define N_BUCKETS 4096u

typedef struct sight_entry {
	struct sight_entry *next;
	uint64_t count;
	rk_time first_seen, last_seen;
	size_t n_markings;
	char *markings[UPLINK_MAX_MARKINGS];
	char id[RK_MAX_STIX_ID + 1];
} sight_entry;

typedef struct sight_interval {
	struct sight_interval *next; /* closed intervals, oldest first */
	rk_time start, end;
	size_t n_entries;
	sight_entry *buckets[N_BUCKETS];
} sight_interval;

struct uplink_sight {
	pthread_mutex_t lock;
	char *identity;
	rk_time interval;      /* microseconds */
	rk_time opened;
	uplink_clock_fn clock;
	void *clock_arg;
	uplink_spool *spool;
	sight_interval *current;
	sight_interval *closed, **closed_tail;
};

static rk_time wall_clock(void *arg)
{
	(void)arg;
	return rk_time_now();
}

static void entry_free(sight_entry *e)
{
	for (size_t i = 0; i < e->n_markings; i++)
		free(e->markings[i]);
	free(e);
}

static void interval_free(sight_interval *iv)
{
	if (!iv)
		return;
	for (size_t b = 0; b < N_BUCKETS; b++) {
		sight_entry *e = iv->buckets[b], *next;
		for (; e; e = next) {
			next = e->next;
			entry_free(e);
		}
	}
	free(iv);
}

void uplink_sight_free(uplink_sight *s)
{
	if (!s)
		return;
	interval_free(s->current);
	while (s->closed) {
		sight_interval *next = s->closed->next;
		interval_free(s->closed);
		s->closed = next;
	}
	pthread_mutex_destroy(&s->lock);
	free(s->identity);
	free(s);
}

rk_err uplink_sight_new(const uplink_sight_opts *opts, uplink_spool *spool,
			uplink_sight **out, rk_errctx *ctx)
{
	uplink_sight *s;
	double secs = opts->interval_seconds > 0 ? opts->interval_seconds : 60;

	*out = NULL;
	if (!opts->identity || !stix_id_valid(opts->identity, "identity"))
		return rk_fail(ctx, RK_EINVAL, "--identity",
			       "'%s' is not an identity id (identity--<uuid>; `renkei admin "
			       "identity org:ID` prints an organisation's)",
			       opts->identity ? opts->identity : "");
	if (secs < 0.001 || secs > 86400)
		return rk_fail(ctx, RK_EINVAL, "--sighting-interval",
			       "%g: expected 0.001 to 86400 seconds", secs);
	if (!(s = calloc(1, sizeof *s)) || !(s->identity = strdup(opts->identity))) {
		free(s);
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	}
	pthread_mutex_init(&s->lock, NULL);
	s->interval = (rk_time)(secs * 1e6);
	s->clock = opts->clock ? opts->clock : wall_clock;
	s->clock_arg = opts->clock_arg;
	s->spool = spool;
	s->opened = s->clock(s->clock_arg);
	s->closed_tail = &s->closed;
	*out = s;
	return RK_OK;
}

static uint32_t hash_id(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Moves the current interval to the closed list if the clock passed its
 * end; makes a current interval for `now` when there is none. Lock held. */
static rk_err rotate(uplink_sight *s, rk_time now)
{
	if (s->current && now >= s->current->end) {
		*s->closed_tail = s->current;
		s->closed_tail = &s->current->next;
		s->current = NULL;
	}
	if (!s->current) {
		sight_interval *iv = calloc(1, sizeof *iv);
		if (!iv)
			return RK_ENOMEM;
		rk_time aligned = now - (now % s->interval);
		iv->start = aligned > s->opened ? aligned : s->opened;
		iv->end = aligned + s->interval;
		s->current = iv;
	}
	return RK_OK;
}

rk_err uplink_sight_record(uplink_sight *s, const char *indicator_id,
			   const char *const *markings, size_t n_markings, rk_time seen)
{
	rk_err err = RK_OK;

	if (!indicator_id || strlen(indicator_id) > RK_MAX_STIX_ID ||
	    !stix_id_valid(indicator_id, "indicator"))
		return RK_EINVAL;
	pthread_mutex_lock(&s->lock);
	rk_time now = s->clock(s->clock_arg);
	if ((err = rotate(s, now)))
		goto out;
	sight_interval *iv = s->current;
	uint32_t b = hash_id(indicator_id) % N_BUCKETS;
	sight_entry *e = iv->buckets[b];
	while (e && strcmp(e->id, indicator_id) != 0)
		e = e->next;
	if (!e) {
		if (!(e = calloc(1, sizeof *e))) {
			err = RK_ENOMEM;
			goto out;
		}
		strcpy(e->id, indicator_id);
		for (size_t i = 0; i < n_markings && i < UPLINK_MAX_MARKINGS; i++) {
			if (!markings[i])
				continue;
			if (!(e->markings[e->n_markings] = strdup(markings[i]))) {
				entry_free(e);
				err = RK_ENOMEM;
				goto out;
			}
			e->n_markings++;
		}
		e->first_seen = e->last_seen = seen;
		e->next = iv->buckets[b];
		iv->buckets[b] = e;
		iv->n_entries++;
	}
	e->count++;
	if (seen < e->first_seen)
		e->first_seen = seen;
	if (seen > e->last_seen)
		e->last_seen = seen;
out:
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* The sighting of one entry of an interval. */
static json_t *make_sighting(const uplink_sight *s, const sight_interval *iv,
			     const sight_entry *e, rk_errctx *ctx)
{
	char start[RK_TIME_BUF], first[RK_TIME_BUF], last[RK_TIME_BUF], created[RK_TIME_BUF];
	char uuid[RK_UUID_BUF], id[RK_MAX_STIX_ID + 1];
	rk_buf name;
	json_t *o = NULL, *marks = NULL;

	rk_time_format(iv->start, 6, start);
	rk_time_format(iv->start, 3, created);
	rk_time_format(e->first_seen, 6, first);
	rk_time_format(e->last_seen, 6, last);
	rk_buf_init(&name);
	if (rk_buf_printf(&name, "%s\n%s\n%s", s->identity, e->id, start) ||
	    rk_uuid_v5(UPLINK_SIGHTING_NAMESPACE, name.data, name.len, uuid)) {
		rk_buf_cleanup(&name);
		rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		return NULL;
	}
	rk_buf_cleanup(&name);
	snprintf(id, sizeof id, "sighting--%s", uuid);
	/* STIX 2.1 section 5.2: count is at most 999999999. */
	json_int_t count = e->count > 999999999u ? 999999999 : (json_int_t)e->count;
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:[s]}",
		      "type", "sighting", "spec_version", "2.1", "id", id, "created", created,
		      "modified", created, "created_by_ref", s->identity, "sighting_of_ref", e->id,
		      "count", count, "first_seen", first, "last_seen", last,
		      "where_sighted_refs", s->identity);
	if (!o)
		goto oom;
	if (e->n_markings) {
		if (!(marks = json_array()) || json_object_set_new(o, "object_marking_refs", marks))
			goto oom;
		for (size_t i = 0; i < e->n_markings; i++)
			if (json_array_append_new(marks, json_string(e->markings[i])))
				goto oom;
	}
	return o;
oom:
	json_decref(o);
	rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	return NULL;
}

/* Sightings of one interval, in a stable order (by indicator id). */
static int by_id(const void *a, const void *b)
{
	const sight_entry *x = *(sight_entry *const *)a, *y = *(sight_entry *const *)b;
	return strcmp(x->id, y->id);
}

static rk_err spool_interval(uplink_sight *s, sight_interval *iv, size_t *closed,
			     rk_errctx *ctx)
{
	sight_entry **list = NULL;
	json_t **recs = NULL;
	size_t n = 0;
	rk_err err = RK_OK;

	if (!iv->n_entries)
		return RK_OK;
	if (!(list = calloc(iv->n_entries, sizeof *list)) ||
	    !(recs = calloc(iv->n_entries, sizeof *recs))) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t b = 0; b < N_BUCKETS; b++)
		for (sight_entry *e = iv->buckets[b]; e; e = e->next)
			list[n++] = e;
	qsort(list, n, sizeof *list, by_id);
	for (size_t i = 0; i < n; i++)
		if (!(recs[i] = make_sighting(s, iv, list[i], ctx))) {
			err = RK_ENOMEM;
			goto out;
		}
	if ((err = uplink_spool_append(s->spool, recs, n, ctx)))
		goto out;
	*closed += n;
out:
	for (size_t i = 0; recs && i < n; i++)
		json_decref(recs[i]);
	free(recs);
	free(list);
	return err;
}

rk_err uplink_sight_close(uplink_sight *s, bool all, size_t *closed_out, rk_errctx *ctx)
{
	size_t closed = 0;
	rk_err err = RK_OK;
	sight_interval *take;

	if (closed_out)
		*closed_out = 0;
	/* Detach what is to be closed under the lock; spool it outside. */
	pthread_mutex_lock(&s->lock);
	rk_time now = s->clock(s->clock_arg);
	if (s->current && (all || now >= s->current->end)) {
		*s->closed_tail = s->current;
		s->closed_tail = &s->current->next;
		s->current = NULL;
		/* An interval closed early: the next one starts after now, so
		 * it can never share the closed one's start (and ids). */
		if (all && s->opened <= now)
			s->opened = now + 1;
	}
	take = s->closed;
	s->closed = NULL;
	s->closed_tail = &s->closed;
	pthread_mutex_unlock(&s->lock);

	while (take) {
		sight_interval *next = take->next;
		if ((err = spool_interval(s, take, &closed, ctx)))
			break;
		interval_free(take);
		take = next;
	}
	if (take) {
		/* Put back what could not be spooled, ahead of anything closed
		 * meanwhile, so the order of intervals is kept. */
		pthread_mutex_lock(&s->lock);
		sight_interval *last = take;
		while (last->next)
			last = last->next;
		last->next = s->closed;
		if (!s->closed)
			s->closed_tail = &last->next;
		s->closed = take;
		pthread_mutex_unlock(&s->lock);
	}
	if (closed_out)
		*closed_out = closed;
	return err;
}

/* ---------------------------------------------------------------- sending */

rk_err uplink_hub_send(void *arg, json_t *const *records, size_t n, uplink_sent *outcomes,
		       rk_errctx *ctx)
{
	uplink_hub *hub = arg;
	json_t *list = json_array(), *status = NULL;
	rk_err err;

	if (!list)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (json_array_append(list, records[i])) {
			json_decref(list);
			return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		}
	err = client_post_objects(hub->http, hub->collection, list,
				  hub->wait_seconds > 0 ? hub->wait_seconds : 10, &status, ctx);
	json_decref(list);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		const char *id = json_string_value(json_object_get(records[i], "id"));
		const char *msg = NULL;
		switch (id ? client_status_outcome(status, id, &msg) : CLIENT_OUTCOME_UNKNOWN) {
		case CLIENT_OUTCOME_SUCCESS:
			outcomes[i] = UPLINK_SENT_OK;
			break;
		case CLIENT_OUTCOME_FAILURE:
			outcomes[i] = UPLINK_SENT_REJECTED;
			rk_logf(RK_LOG_WARN, "uplink_sighting_refused",
				"the hub refused sighting %s: %s", id, msg ? msg : "no reason given");
			break;
		default:
			outcomes[i] = UPLINK_SENT_RETRY;
			break;
		}
	}
	json_decref(status);
	return RK_OK;
}
