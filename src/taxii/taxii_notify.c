/*
 * taxii_notify.c: the hub's side of notifications (src/notify): each
 * organisation's notification collection over TAXII 2.1, the delivery
 * status and acknowledgements.
 *
 *   GET  /notifications/                         API root
 *   GET  /notifications/collections/             the caller's organisation's
 *   GET  /notifications/collections/<id>/          collection, and nobody else's
 *   GET  /notifications/collections/<id>/objects/  envelope of notes and object
 *                                                  views (added_after, limit)
 *   GET  /renkei/notify/                         status per channel and the
 *                                                notifications, for the caller's
 *                                                organisation
 *   POST /renkei/notify/<n>/ack/                 acknowledges notification n
 *
 * Who: authenticated users of roles admin, analyst and reader read their
 * own organisation's notifications (sensor and partner accounts are
 * machines feeding the hub and get 403). The collection id is
 * UUIDv5(directory namespace, "notifications:<org>"); another
 * organisation's id answers 404, the same as an id that does not exist.
 * What the collection serves was fixed when the notification was made,
 * after policy_decide(POLICY_SEND_ONWARD, POLICY_ONWARD_NOTIFY) allowed it
 * for this organisation (notify_run.c); nothing here reads the store.
 * Each read leaves an audit record naming the ids served.
 */
#include <stdlib.h>
#include <string.h>

#include "taxii_int.h"

static bool notify_reader(taxii_req *r)
{
	if (!r->subj.user || !r->subj.org) {
		snprintf(r->error_msg, sizeof r->error_msg, "notifications are for authenticated users");
		taxii_respond_error(r, 401, "authentication required", NULL, NULL);
		return false;
	}
	dir_role role = r->subj.user->role;
	if (role != DIR_ROLE_ADMIN && role != DIR_ROLE_ANALYST && role != DIR_ROLE_READER) {
		snprintf(r->error_msg, sizeof r->error_msg, "role %s reads no notifications",
			 dir_role_name(role));
		taxii_respond_error(r, 403, "this role reads no notifications", NULL, NULL);
		return false;
	}
	if (!r->srv->notify) {
		taxii_respond_error(r, 503, "notifications are not running", NULL, NULL);
		return false;
	}
	return true;
}

static void collection_id(const char *org, char out[RK_UUID_BUF])
{
	char name[RK_MAX_NAME + 32];
	snprintf(name, sizeof name, "notifications:%s", org);
	if (rk_uuid_v5(DIR_IDENTITY_NAMESPACE, name, strlen(name), out))
		out[0] = '\0';
}

rk_err taxii_h_notify_root(taxii_req *r)
{
	if (!notify_reader(r))
		return RK_OK;
	return taxii_respond_json(
		r, 200,
		json_pack("{ss ss s[s] sI}", "title", "Notifications", "description",
			  "Objects that involve your organisation's registered assets",
			  "versions", TAXII_MEDIA_TAXII, "max_content_length",
			  (json_int_t)r->srv->max_content_length),
		NULL);
}

rk_err taxii_h_notify_collections(taxii_req *r)
{
	char id[RK_UUID_BUF], title[RK_MAX_NAME + 32];
	if (!notify_reader(r))
		return RK_OK;
	collection_id(r->subj.org->id, id);
	snprintf(title, sizeof title, "Notifications for %s", r->subj.org->id);
	json_t *c = json_pack("{ss ss ss sb sb s[s]}", "id", id, "title", title, "description",
			      "what the hub found that involves your registered assets", "can_read",
			      1, "can_write", 0, "media_types", TAXII_MEDIA_STIX);
	if (!c)
		return RK_ENOMEM;
	if (r->path_arg[0]) {
		if (strcmp(r->path_arg[0], id) != 0) {
			json_decref(c);
			return taxii_respond_error(r, 404, "no such collection", NULL, NULL);
		}
		return taxii_respond_json(r, 200, c, NULL);
	}
	return taxii_respond_json(r, 200, json_pack("{s[o]}", "collections", c), NULL);
}

typedef struct env_acc {
	taxii_req *r;
	json_t *objects;
	size_t n;
	rk_time first, last;
	bool failed;
} env_acc;

static bool has_version(json_t *objects, json_t *o)
{
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *m = json_string_value(json_object_get(o, "modified"));
	for (size_t i = 0; i < json_array_size(objects); i++) {
		json_t *x = json_array_get(objects, i);
		const char *xm = json_string_value(json_object_get(x, "modified"));
		if (id && strcmp(id, json_string_value(json_object_get(x, "id"))) == 0 &&
		    ((!m && !xm) || (m && xm && strcmp(m, xm) == 0)))
			return true;
	}
	return false;
}

static rk_err env_add(void *arg, const notify_record *n)
{
	env_acc *a = arg;
	json_t *views = json_loads(n->content, 0, NULL);
	json_t *note = notify_note(n);
	if (!views || !note || json_array_append_new(views, note)) {
		json_decref(views);
		a->failed = true;
		return RK_ENOMEM;
	}
	note = NULL;
	for (size_t i = 0; i < json_array_size(views); i++) {
		json_t *o = json_array_get(views, i);
		if (has_version(a->objects, o))
			continue;
		json_array_append(a->objects, o);
		taxii_audit_object(a->r, json_string_value(json_object_get(o, "id")));
	}
	json_decref(views);
	if (!a->n++)
		a->first = n->created;
	a->last = n->created;
	return RK_OK;
}

rk_err taxii_h_notify_objects(taxii_req *r)
{
	char id[RK_UUID_BUF];
	rk_errctx ctx;
	if (!notify_reader(r))
		return RK_OK;
	collection_id(r->subj.org->id, id);
	if (strcmp(r->path_arg[0], id) != 0)
		return taxii_respond_error(r, 404, "no such collection", NULL, NULL);
	size_t limit = r->filter.limit ? r->filter.limit : RK_PAGE_DEFAULT;
	if (limit > RK_PAGE_MAX)
		limit = RK_PAGE_MAX;
	env_acc a = {.r = r, .objects = json_array()};
	if (!a.objects)
		return RK_ENOMEM;
	rk_errctx_clear(&ctx);
	/* one more than asked, to know whether there is more */
	rk_err err = notify_list_since(notify_engine_db(r->srv->notify), r->subj.org->id,
				       r->filter.has_added_after ? r->filter.added_after : -1,
				       limit + 1, env_add, &a, &ctx);
	if (err) {
		json_decref(a.objects);
		return err == RK_ENOMEM ? err : taxii_respond_errctx(r, &ctx, false);
	}
	bool more = a.n > limit;
	if (more) {
		/* drop the extra notification's objects: list again, exactly */
		json_decref(a.objects);
		taxii_audit_cleanup(r);
		audit_ids_init(&r->audit_ids);
		a = (env_acc){.r = r, .objects = json_array()};
		if (!a.objects)
			return RK_ENOMEM;
		err = notify_list_since(notify_engine_db(r->srv->notify), r->subj.org->id,
					r->filter.has_added_after ? r->filter.added_after : -1, limit,
					env_add, &a, &ctx);
		if (err) {
			json_decref(a.objects);
			return err;
		}
	}
	json_t *env = json_object();
	if (!env) {
		json_decref(a.objects);
		return RK_ENOMEM;
	}
	json_object_set_new(env, "more", json_boolean(more));
	if (json_array_size(a.objects))
		json_object_set_new(env, "objects", a.objects);
	else
		json_decref(a.objects);
	if (!a.n)
		return taxii_respond_json(r, 200, env, NULL);
	char first[RK_TIME_BUF], last[RK_TIME_BUF];
	rk_time_format(a.first, 6, first);
	rk_time_format(a.last, 6, last);
	const char *hdrs[5] = {"X-TAXII-Date-Added-First", first, "X-TAXII-Date-Added-Last", last,
			       NULL};
	return taxii_respond_json(r, 200, env, hdrs);
}

static rk_err status_add(void *arg, const notify_status_row *s)
{
	char at[RK_TIME_BUF] = "";
	if (s->last_delivered)
		rk_time_format(s->last_delivered, 3, at);
	json_t *o = json_pack("{ss sI sI sI sI sI ss ss}", "channel", s->channel, "total",
			      (json_int_t)s->total, "queued", (json_int_t)s->queued, "delivered",
			      (json_int_t)s->delivered, "failed", (json_int_t)s->failed,
			      "acknowledged", (json_int_t)s->acknowledged, "last_delivered", at,
			      "last_error", s->last_error);
	return o && !json_array_append_new(arg, o) ? RK_OK : RK_ENOMEM;
}

static rk_err list_add(void *arg, const notify_record *n)
{
	char at[RK_TIME_BUF];
	rk_time_format(n->created, 3, at);
	json_t *o = json_pack("{sI ss ss ss ss ss ss ss sb}", "id", (json_int_t)n->id, "created", at,
			      "object_id", n->object_id, "object_type", n->object_type,
			      "object_version", n->object_version, "asset", n->asset,
			      "observable_type", n->obs_kind, "observable", n->obs_value,
			      "acknowledged", n->acked_at != 0);
	return o && !json_array_append_new(arg, o) ? RK_OK : RK_ENOMEM;
}

rk_err taxii_h_notify_status(taxii_req *r)
{
	rk_errctx ctx;
	json_t *status = json_array(), *list = json_array();
	if (!notify_reader(r)) {
		json_decref(status);
		json_decref(list);
		return RK_OK;
	}
	rk_errctx_clear(&ctx);
	notify_db *db = notify_engine_db(r->srv->notify);
	rk_err err = !status || !list ? RK_ENOMEM : RK_OK;
	if (!err)
		err = notify_status(db, r->subj.org->id, status_add, status, &ctx);
	if (!err)
		err = notify_list(db, r->subj.org->id, 0, RK_PAGE_MAX, list_add, list, &ctx);
	if (err) {
		json_decref(status);
		json_decref(list);
		return err == RK_ENOMEM ? err : taxii_respond_errctx(r, &ctx, false);
	}
	for (size_t i = 0; i < json_array_size(list); i++)
		taxii_audit_object(
			r, json_string_value(json_object_get(json_array_get(list, i), "object_id")));
	return taxii_respond_json(r, 200,
				  json_pack("{ss so so}", "organization", r->subj.org->id, "status",
					    status, "notifications", list),
				  NULL);
}

rk_err taxii_h_notify_ack(taxii_req *r)
{
	rk_errctx ctx;
	char *end = NULL;
	if (!notify_reader(r))
		return RK_OK;
	long long id = strtoll(r->path_arg[0], &end, 10);
	rk_errctx_clear(&ctx);
	if (!*r->path_arg[0] || *end || id <= 0 ||
	    notify_ack(notify_engine_db(r->srv->notify), r->subj.org->id, id, r->subj.user->name,
		       &ctx) == RK_ENOTFOUND)
		return taxii_respond_error(r, 404, "no such notification", NULL, NULL);
	if (ctx.code)
		return taxii_respond_errctx(r, &ctx, false);
	return taxii_respond_json(r, 200, json_pack("{sIsb}", "id", (json_int_t)id, "acknowledged", 1),
				  NULL);
}
