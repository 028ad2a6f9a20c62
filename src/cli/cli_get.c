/*
 * cli_get.c: `renkei get`, read any TAXII 2.1 endpoint and print its JSON.
 *
 * Maps a short action name to a TAXII 2.1 endpoint (section 4 and 5):
 *
 *     discovery      GET /taxii2/                                  4.1
 *     root           GET <root>/                                   4.2
 *     roots          GET every root discovery lists                4.2
 *     collections    GET <root>/collections/[<collection>/]        5.1, 5.2
 *     manifest       GET <root>/collections/<c>/manifest/          5.3
 *     objects        GET <root>/collections/<c>/objects/           5.4
 *     object ID      GET <root>/collections/<c>/objects/ID/        5.6
 *     versions ID    GET <root>/collections/<c>/objects/ID/versions/ 5.8
 *     status ID      GET <root>/status/ID/                         4.3
 *
 * Filters become the query parameters of section 3.4 (added_after,
 * match[type|id|version|spec_version], limit, next). With --all the command
 * follows `next` while the server says `more`, appending each page's list
 * to the first answer, and prints one answer with `more` false; it stops
 * with an error, rather than loop, if a server says `more` without a
 * `next` cursor or repeats a cursor.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"

enum {
	OPT_COLLECTION = CLI_OPT_FIRST_FREE,
	OPT_ADDED_AFTER,
	OPT_TYPE,
	OPT_ID,
	OPT_VERSION,
	OPT_SPEC_VERSION,
	OPT_LIMIT,
	OPT_NEXT,
	OPT_ALL,
};

typedef struct get_args {
	client_remote remote;
	const char *collection;
	const char *added_after, *types, *ids, *versions, *spec_versions, *limit, *next;
	bool all;
	const char *action;
	const char *target; /* object or status id */
} get_args;

static rk_err add_filters(client_http *h, rk_buf *url, const get_args *a, const char *next,
			  bool object_filters)
{
	rk_err err = RK_OK;

	if (!err) err = client_http_add_param(h, url, "added_after", a->added_after);
	if (!err) err = client_http_add_param(h, url, "limit", a->limit);
	if (!err) err = client_http_add_param(h, url, "next", next);
	if (!err) err = client_http_add_param(h, url, "match[spec_version]", a->spec_versions);
	if (!err) err = client_http_add_param(h, url, "match[version]", a->versions);
	if (object_filters) {
		if (!err) err = client_http_add_param(h, url, "match[type]", a->types);
		if (!err) err = client_http_add_param(h, url, "match[id]", a->ids);
	}
	return err;
}

/* The list member of a paged answer: envelopes and manifests carry
 * "objects", the versions resource "versions". */
static const char *list_key(const char *action)
{
	return strcmp(action, "versions") == 0 ? "versions" : "objects";
}

static rk_err fetch_pages(client_http *h, const char *endpoint, const get_args *a,
			  bool object_filters, bool paged, json_t **out, rk_errctx *ctx)
{
	json_t *first = NULL, *page = NULL;
	char *cursor = NULL;
	rk_buf url;
	rk_err err;
	const char *key = list_key(a->action);

	*out = NULL;
	rk_buf_init(&url);
	const char *next = a->next;
	for (;;) {
		rk_buf_reset(&url);
		if ((err = rk_buf_puts(&url, endpoint)) ||
		    (err = add_filters(h, &url, a, next, object_filters))) {
			err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
			goto out;
		}
		if ((err = client_http_request(h, "GET", url.data, NULL, NULL, &page, ctx)))
			goto out;
		if (!page && !(page = json_object())) {
			err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
			goto out;
		}
		if (!first) {
			first = page;
		} else {
			json_t *list = json_object_get(first, key);
			json_t *more_items = json_object_get(page, key);
			if (!list && json_object_set_new(first, key, list = json_array())) {
				err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
				goto out;
			}
			if (json_is_array(more_items) && json_array_extend(list, more_items)) {
				err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
				goto out;
			}
		}
		/* Read the paging facts before this page is released. */
		bool more = json_is_true(json_object_get(page, "more"));
		const char *n = json_string_value(json_object_get(page, "next"));
		char *n_copy = n && *n ? strdup(n) : NULL;
		if (page != first)
			json_decref(page);
		page = NULL;
		if (!a->all || !paged || !more) {
			free(n_copy);
			break;
		}
		if (!n_copy) {
			err = n && *n ? rk_fail(ctx, RK_ENOMEM, NULL, "out of memory")
				      : rk_fail(ctx, RK_EIO, endpoint,
						"server says there is more but gives no `next` cursor");
			goto out;
		}
		if (cursor && strcmp(cursor, n_copy) == 0) {
			err = rk_fail(ctx, RK_EIO, endpoint, "server repeated the cursor '%s'", n_copy);
			free(n_copy);
			goto out;
		}
		free(cursor);
		next = cursor = n_copy;
	}
	if (a->all && paged) {
		json_object_del(first, "next");
		if (json_object_get(first, "more"))
			json_object_set_new(first, "more", json_false());
	}
	*out = first;
	first = NULL;
out:
	if (page != first)
		json_decref(page);
	json_decref(first);
	free(cursor);
	rk_buf_cleanup(&url);
	return err;
}

/* `roots`: every API root that discovery lists, with its URL. */
static rk_err fetch_roots(client_http *h, json_t **out, rk_errctx *ctx)
{
	json_t *disc = NULL, *list = NULL, *info = NULL;
	rk_err err;
	size_t i;
	const json_t *u;

	*out = NULL;
	if ((err = client_http_request(h, "GET", "/taxii2/", NULL, NULL, &disc, ctx)))
		return err;
	if (!(list = json_array())) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	json_array_foreach(json_object_get(disc, "api_roots"), i, u) {
		const char *s = json_string_value(u);
		if (!s)
			continue;
		if ((err = client_http_request(h, "GET", s, NULL, NULL, &info, ctx)))
			goto out;
		if (!info)
			info = json_object();
		if (!info || json_object_set_new(info, "url", json_string(s)) ||
		    json_array_append_new(list, info)) {
			info = NULL;
			err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
			goto out;
		}
		info = NULL;
	}
	*out = list;
	list = NULL;
out:
	json_decref(disc);
	json_decref(list);
	return err;
}

static rk_err run(const get_args *a, json_t **out, rk_errctx *ctx)
{
	client_http *h = NULL;
	char *root = NULL;
	rk_buf ep;
	rk_err err;
	const char *act = a->action;

	*out = NULL;
	rk_buf_init(&ep);
	if ((err = client_http_new(&a->remote, &h, ctx)))
		return err;
	if (strcmp(act, "discovery") == 0) {
		err = client_http_request(h, "GET", "/taxii2/", NULL, NULL, out, ctx);
		goto out;
	}
	if (strcmp(act, "roots") == 0) {
		err = fetch_roots(h, out, ctx);
		goto out;
	}
	if ((err = client_http_root_url(h, &root, ctx)))
		goto out;
	char *ecoll = a->collection ? client_http_escape(h, a->collection) : NULL;
	char *etarget = a->target ? client_http_escape(h, a->target) : NULL;
	bool paged = false, filters = false;
	if ((a->collection && !ecoll) || (a->target && !etarget))
		err = RK_ENOMEM;
	else if (strcmp(act, "root") == 0)
		err = rk_buf_puts(&ep, root);
	else if (strcmp(act, "collections") == 0)
		err = rk_buf_printf(&ep, "%scollections/%s%s", root, ecoll ? ecoll : "",
				    ecoll ? "/" : "");
	else if (strcmp(act, "status") == 0)
		err = rk_buf_printf(&ep, "%sstatus/%s/", root, etarget);
	else if (strcmp(act, "objects") == 0 || strcmp(act, "manifest") == 0) {
		paged = filters = true;
		err = rk_buf_printf(&ep, "%scollections/%s/%s/", root, ecoll, act);
	} else if (strcmp(act, "object") == 0) {
		paged = true;
		err = rk_buf_printf(&ep, "%scollections/%s/objects/%s/", root, ecoll, etarget);
	} else { /* versions */
		paged = true;
		err = rk_buf_printf(&ep, "%scollections/%s/objects/%s/versions/", root, ecoll,
				    etarget);
	}
	free(ecoll);
	free(etarget);
	if (err) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	err = fetch_pages(h, ep.data, a, filters, paged, out, ctx);
out:
	rk_buf_cleanup(&ep);
	free(root);
	client_http_free(h);
	return err;
}

static const struct {
	const char *name;
	int nargs;           /* positional arguments after the action */
	bool needs_collection;
} actions[] = {
	{ "discovery", 0, false }, { "root", 0, false },     { "roots", 0, false },
	{ "collections", 0, false }, { "manifest", 0, true }, { "objects", 0, true },
	{ "object", 1, true },     { "versions", 1, true }, { "status", 1, false },
};

int cli_cmd_get(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_REMOTE_LONGOPTS,
		{ "collection", required_argument, NULL, OPT_COLLECTION },
		{ "added-after", required_argument, NULL, OPT_ADDED_AFTER },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "id", required_argument, NULL, OPT_ID },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "spec-version", required_argument, NULL, OPT_SPEC_VERSION },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "next", required_argument, NULL, OPT_NEXT },
		{ "all", no_argument, NULL, OPT_ALL },
		{ NULL, 0, NULL, 0 },
	};
	get_args a = { 0 };
	rk_errctx ctx;
	json_t *result = NULL;
	int c;

	client_remote_init(&a.remote);
	optind = 0;
	opterr = 0;
	/* GNU getopt permutes, so options may follow the action. */
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (cli_remote_option(&a.remote, c, optarg))
			continue;
		switch (c) {
		case OPT_COLLECTION: a.collection = optarg; break;
		case OPT_ADDED_AFTER: a.added_after = optarg; break;
		case OPT_TYPE: a.types = optarg; break;
		case OPT_ID: a.ids = optarg; break;
		case OPT_VERSION: a.versions = optarg; break;
		case OPT_SPEC_VERSION: a.spec_versions = optarg; break;
		case OPT_LIMIT: a.limit = optarg; break;
		case OPT_NEXT: a.next = optarg; break;
		case OPT_ALL: a.all = true; break;
		default:
			return cli_usage_error("get", "%s: unknown option or missing value",
					       argv[optind - 1]);
		}
	}
	if (a.limit) {
		char *end;
		unsigned long v = strtoul(a.limit, &end, 10);
		if (!*a.limit || *end || v == 0 || v > RK_PAGE_MAX)
			return cli_usage_error("get", "--limit: expected 1 to %d", RK_PAGE_MAX);
	}
	if (a.added_after) {
		rk_time t;
		if (!rk_time_parse(a.added_after, &t))
			return cli_usage_error("get", "--added-after: '%s' is not an RFC 3339 timestamp "
					       "(like 2024-05-01T00:00:00Z)", a.added_after);
	}
	a.action = optind < argc ? argv[optind++] : (a.collection ? "objects" : "discovery");
	size_t i;
	for (i = 0; i < RK_ARRAY_LEN(actions); i++)
		if (strcmp(actions[i].name, a.action) == 0)
			break;
	if (i == RK_ARRAY_LEN(actions))
		return cli_usage_error("get", "%s: unknown action", a.action);
	if (argc - optind != actions[i].nargs)
		return cli_usage_error("get", "%s: expected %s", a.action,
				       actions[i].nargs ? "one id" : "no further arguments");
	if (actions[i].nargs)
		a.target = argv[optind];
	if (actions[i].needs_collection && !a.collection)
		return cli_usage_error("get", "%s: needs --collection ID", a.action);

	rk_errctx_clear(&ctx);
	if (run(&a, &result, &ctx) != RK_OK) {
		char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
		rk_errctx_format(&ctx, msg, sizeof msg);
		cli_error("get", "%s", msg);
		return 1;
	}
	if (!result)
		result = json_object();
	int rc = 0;
	if (!result || json_dumpf(result, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) {
		cli_error("get", "writing output failed");
		rc = 1;
	} else {
		fputc('\n', stdout);
	}
	json_decref(result);
	if (fflush(stdout) != 0) {
		cli_error("get", "writing output failed");
		rc = 1;
	}
	return rc;
}
