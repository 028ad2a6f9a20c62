/*
 * taxii_export.c: GET /renkei/export/<format>/[<file>], the caller's
 * organisation's export (src/export) over HTTP, outside the TAXII API
 * roots.
 *
 * Who gets what: an authenticated user gets the internal export of its
 * organisation (policy_decide, POLICY_SEND_ONWARD to
 * POLICY_ONWARD_INTERNAL), walking only the collections the user may read
 * (POLICY_READ_COLLECTION), so a token gets no more through an export than
 * through TAXII. Anonymous callers get 401: the public export holds
 * TLP:CLEAR objects of collections that are not public, which TAXII does
 * not serve anonymously either, so publishing it stays an operator's act
 * (`renkei export --public`).
 *
 * <format> alone serves the format's main file; <file> names another one
 * of its files (Suricata's lists). Every file carries the export's ETag
 * (a hash of all of its files) and `Cache-Control: private, no-cache`; a
 * request whose If-None-Match names it gets 304 with no body.
 *
 * Cost of polling: exports are kept per (organisation, role, format) in a
 * small cache, valid while the store's audience epoch
 * (store_audience_epoch: moves with every stored or deleted version) and
 * the directory version are those it was made at, and until the earliest
 * valid_until of an indicator in it. A firewall asking every minute when
 * nothing changed costs a lookup and a 304.
 *
 * Audit: a 200 records the id of every indicator in the export; a 304
 * serves nothing new and records the request only.
 */
#include <stdlib.h>
#include <string.h>

#include "taxii_int.h"

typedef struct export_ent {
	bool used;
	char org[RK_MAX_NAME + 1];
	dir_role role;
	export_format format;
	uint64_t epoch, dir_version;
	rk_time expires; /* 0: never */
	uint64_t last_use;
	export_output out;
	char **ids;
	size_t n_ids;
} export_ent;

struct taxii_export_cache {
	pthread_mutex_t lock;
	export_ent ent[TAXII_EXPORT_CACHE];
	uint64_t clock;
};

static void ent_clear(export_ent *e)
{
	export_output_cleanup(&e->out);
	for (size_t i = 0; i < e->n_ids; i++)
		free(e->ids[i]);
	free(e->ids);
	memset(e, 0, sizeof *e);
}

rk_err taxii_export_cache_new(taxii_export_cache **out)
{
	taxii_export_cache *c = calloc(1, sizeof *c);
	if (!c)
		return RK_ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return RK_OK;
}

void taxii_export_cache_free(taxii_export_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < TAXII_EXPORT_CACHE; i++)
		ent_clear(&c->ent[i]);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Makes the export into e (key fields set by the caller). */
static rk_err make_export(taxii_req *r, export_ent *e, rk_errctx *ctx)
{
	export_set set;
	rk_err err = export_set_init(&set, e->org);
	if (err)
		return rk_fail(ctx, err, NULL, "out of memory");
	export_request rq = {.dir = r->dir, .st = r->srv->st, .org = e->org,
			     .now = rk_time_now(), .subject = &r->subj};
	export_output_init(&e->out);
	err = export_select(&rq, &set, ctx);
	if (!err)
		err = export_render(&set, e->format, &e->out, ctx);
	if (!err && set.n_ind && !(e->ids = calloc(set.n_ind, sizeof *e->ids)))
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; !err && i < set.n_ind; i++) {
		if (!(e->ids[i] = strdup(set.ind[i].id)))
			err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		e->n_ids = i + 1;
	}
	e->expires = set.expires;
	export_set_cleanup(&set);
	return err;
}

/* Whether an If-None-Match value names etag ("*", or in the list, weak
 * or strong: RFC 9110 section 13.1.2 compares weakly). */
static bool etag_matches(const char *inm, const char *etag)
{
	if (!inm)
		return false;
	while (*inm == ' ' || *inm == '\t')
		inm++;
	if (strcmp(inm, "*") == 0)
		return true;
	return strstr(inm, etag) != NULL;
}

static bool valid(const export_ent *e, const taxii_req *r, uint64_t epoch, rk_time now)
{
	return e->used && strcmp(e->org, r->subj.org->id) == 0 && e->role == r->subj.user->role &&
	       e->epoch == epoch && e->dir_version == r->dir->version &&
	       (!e->expires || now < e->expires);
}

rk_err taxii_h_export(taxii_req *r)
{
	taxii_export_cache *c = r->srv->exports;
	export_format format;
	rk_errctx ctx;
	rk_err err;

	if (!r->subj.user || !r->subj.org) {
		snprintf(r->error_msg, sizeof r->error_msg, "exports are for authenticated users");
		return taxii_respond_error(r, 401, "authentication required", NULL, NULL);
	}
	if (!export_format_parse(r->path_arg[0], &format)) {
		char desc[160];
		snprintf(desc, sizeof desc, "no such export format (known: %s)",
			 export_format_names());
		return taxii_respond_error(r, 404, desc, NULL, NULL);
	}
	uint64_t epoch = store_audience_epoch(r->srv->st);
	rk_time now = rk_time_now();

	pthread_mutex_lock(&c->lock);
	export_ent *e = NULL;
	for (size_t i = 0; i < TAXII_EXPORT_CACHE && !e; i++)
		if (c->ent[i].format == format && valid(&c->ent[i], r, epoch, now))
			e = &c->ent[i];
	if (!e) {
		/* Made under the lock: concurrent pollers of one export wait for
		 * the one being made instead of each making it. */
		export_ent *slot = &c->ent[0];
		for (size_t i = 0; i < TAXII_EXPORT_CACHE; i++) {
			if (!c->ent[i].used) {
				slot = &c->ent[i];
				break;
			}
			if (c->ent[i].last_use < slot->last_use)
				slot = &c->ent[i];
		}
		ent_clear(slot);
		snprintf(slot->org, sizeof slot->org, "%s", r->subj.org->id);
		slot->role = r->subj.user->role;
		slot->format = format;
		slot->epoch = epoch;
		slot->dir_version = r->dir->version;
		rk_errctx_clear(&ctx);
		if ((err = make_export(r, slot, &ctx))) {
			ent_clear(slot);
			pthread_mutex_unlock(&c->lock);
			snprintf(r->error_msg, sizeof r->error_msg, "%.*s",
				 (int)sizeof r->error_msg - 1, ctx.msg);
			return taxii_respond_errctx(r, &ctx, false);
		}
		slot->used = true;
		e = slot;
	}
	e->last_use = ++c->clock;

	const export_file *f = r->path_arg[1] ? export_output_file(&e->out, r->path_arg[1])
					      : &e->out.files[0];
	if (!f) {
		pthread_mutex_unlock(&c->lock);
		return taxii_respond_error(r, 404, "no such file in this export", NULL, NULL);
	}
	char etag[EXPORT_ETAG_BUF];
	memcpy(etag, e->out.etag, sizeof etag);
	const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_IF_NONE_MATCH);
	const char *hdr[] = {MHD_HTTP_HEADER_ETAG, etag, MHD_HTTP_HEADER_CACHE_CONTROL,
			     "private, no-cache", NULL};
	if (etag_matches(inm, etag)) {
		pthread_mutex_unlock(&c->lock);
		return taxii_respond(r, 304, NULL, NULL, 0, hdr);
	}
	char *body = malloc(f->body.len + 1);
	if (!body) {
		pthread_mutex_unlock(&c->lock);
		return taxii_respond_error(r, 503, "out of memory", NULL, NULL);
	}
	memcpy(body, f->body.data, f->body.len);
	size_t len = f->body.len;
	const char *ctype = f == &e->out.files[0] ? export_format_media_type(format)
						  : "text/plain; charset=utf-8";
	for (size_t i = 0; i < e->n_ids; i++)
		taxii_audit_object(r, e->ids[i]);
	pthread_mutex_unlock(&c->lock);
	return taxii_respond(r, 200, ctype, body, len, hdr);
}
