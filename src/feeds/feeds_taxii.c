/*
 * feeds_taxii.c: a remote TAXII 2.1 collection as a feed.
 *
 * One import asks the source GET <root>/collections/<id>/objects/
 * ?added_after=<checkpoint>&match[type]=indicator&limit=N and follows
 * `next` while the source says `more` (TAXII 2.1 sections 3.4 and 5.4), as
 * the sensor's uplink pulls its hub (src/uplink/uplink_feed.c), through the
 * same client (src/client). Each object of a page goes to
 * feeds_import_object, the path a STIX bundle's objects take: validated
 * one by one, indicators passed through with their producer's id and
 * times, the feed's state deciding what is new.
 *
 *   state checkpoint --added_after--> page 1 --next--> page 2 ... (more: false)
 *        each object --> feeds_import_object
 *        each page's X-TAXII-Date-Added-Last --> checkpoint (in memory)
 *   feeds_import_finish (after delivery) --> state file, checkpoint included
 *
 * Invariants:
 * - The checkpoint is only ever written by feeds_import_finish, which the
 *   caller runs after the objects were written or pushed; an error here
 *   (source down, slow, refusing, answering garbage, repeating a cursor)
 *   returns before that, so the state file is left as it was and the next
 *   run asks for the same objects again.
 * - added_after stays the run's starting checkpoint while `next` walks on
 *   (the cursor belongs to the first request's filters), and date_added is
 *   increasing per collection, so the checkpoint of one run neither skips
 *   nor repeats an object in the next.
 * - The checkpoint belongs to one source (URL, API root, collection): a
 *   state holding another source's reads this one from its start.
 * - Pages per import are bounded (RK_FEED_MAX_PAGES), and so is every
 *   request (RK_FEED_SOURCE_TIMEOUT_SECONDS unless the caller set one).
 */
#include <stdlib.h>
#include <string.h>

#include "feeds_int.h"

static bool has_space(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ')
			return true;
	return false;
}

/* "<url> <root> <collection>", the key of the source's checkpoint. */
static rk_err source_key(const feeds_taxii_source *src, rk_buf *key)
{
	return rk_buf_printf(key, "%s %s %s", src->remote.url,
			     src->remote.root && *src->remote.root ? src->remote.root : "-",
			     src->collection);
}

rk_err feeds_import_taxii(feeds_import *imp, const feeds_taxii_source *src, rk_errctx *ctx)
{
	feeds_state *st = feeds_import_state(imp);
	client_remote remote = src->remote;
	client_http *http = NULL;
	client_page page = { 0 };
	rk_errctx inner;
	rk_buf key;
	char since[RK_TIME_BUF], newest[RK_TIME_BUF], where[512];
	char *cursor = NULL;
	unsigned pages = 0;
	rk_err err = RK_OK;

	rk_buf_init(&key);
	rk_errctx_clear(&inner);
	if (!remote.url || !*remote.url || !src->collection || !*src->collection)
		return rk_fail(ctx, RK_EINVAL, NULL, "a TAXII source needs a URL and a collection");
	if (has_space(remote.url) || has_space(src->collection) ||
	    (remote.root && has_space(remote.root)))
		return rk_fail(ctx, RK_EINVAL, remote.url,
			       "white space in the source's URL, root or collection");
	if (source_key(src, &key))
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	if (!remote.timeout_seconds)
		remote.timeout_seconds = RK_FEED_SOURCE_TIMEOUT_SECONDS;
	snprintf(since, sizeof since, "%s", feeds_state_checkpoint(st, key.data));
	snprintf(newest, sizeof newest, "%s", since);

	feeds_import_set_incremental(imp);
	if ((err = client_http_new(&remote, &http, &inner)))
		goto out;
	for (;;) {
		client_query q = { .added_after = since[0] ? since : NULL,
				   .next = cursor,
				   .type = "indicator",
				   .limit = src->page_limit ? src->page_limit : RK_FEED_PAGE_LIMIT };
		if (pages == RK_FEED_MAX_PAGES) {
			err = rk_fail(&inner, RK_EIO, NULL, "more than %d pages in one import",
				      RK_FEED_MAX_PAGES);
			goto out;
		}
		if ((err = client_get_objects(http, src->collection, &q, &page, &inner)))
			goto out;
		pages++;
		size_t i;
		json_t *o;
		json_array_foreach(page.objects, i, o) {
			snprintf(where, sizeof where, "%s collection %s: page %u objects[%zu]",
				 remote.url, src->collection, pages, i);
			if ((err = feeds_import_object(imp, where, o))) {
				rk_fail(&inner, err, NULL, "%s", rk_strerror(err));
				goto out;
			}
		}
		rk_time t_page, t_newest;
		if (page.date_added_last[0] &&
		    (!newest[0] || (rk_time_parse(page.date_added_last, &t_page) &&
				    rk_time_parse(newest, &t_newest) && t_page > t_newest)))
			snprintf(newest, sizeof newest, "%s", page.date_added_last);
		if (!page.more)
			break;
		if (cursor && strcmp(cursor, page.next) == 0) {
			err = rk_fail(&inner, RK_EIO, NULL, "the source repeated the cursor '%s'",
				      cursor);
			goto out;
		}
		free(cursor);
		cursor = page.next;
		page.next = NULL;
	}
	if (newest[0] && strcmp(newest, since) != 0 &&
	    feeds_state_set_checkpoint(st, key.data, newest))
		err = rk_fail(&inner, RK_ENOMEM, NULL, "out of memory");
out:
	if (err) {
		char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
		rk_errctx_format(&inner, msg, sizeof msg);
		rk_fail(ctx, err, remote.url, "TAXII source, collection %s: %s", src->collection,
			msg);
	}
	client_page_cleanup(&page);
	client_http_free(http);
	free(cursor);
	rk_buf_cleanup(&key);
	return err;
}
