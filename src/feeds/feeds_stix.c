/*
 * feeds_stix.c: STIX 2.1 bundles as a feed.
 *
 * The document is a bundle, a TAXII envelope ({"objects": [...]}), an array
 * of objects or one object, read whole (at most RK_FEED_MAX_FILE bytes,
 * RK_MAX_JSON_DEPTH deep). Each object is validated on its own by
 * stix_validate_object (feeds_import_object), so one bad object is one
 * reject naming its JSON path and the reason, and the others still go
 * through. Indicators pass through unchanged: they keep their producer's
 * id, times and markings, and the feed's state only decides whether a
 * version was already imported. Other objects are skipped.
 */
#include <string.h>

#include "feeds.h"

rk_err feeds_parse_stix(feeds_import *imp, const char *file, const char *data, size_t len)
{
	json_t *doc = NULL, *objects, *o;
	rk_errctx ctx;
	char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4], where[RK_ERRCTX_PATH + 32];
	const char *prefix = "objects";
	rk_err err = RK_OK;
	size_t i;

	rk_errctx_clear(&ctx);
	if (rk_json_parse(data, len, RK_MAX_JSON_DEPTH, &doc, &ctx)) {
		rk_errctx_format(&ctx, msg, sizeof msg);
		return feeds_import_reject(imp, file, "not JSON: %s", msg);
	}
	if (json_is_array(doc)) {
		objects = doc;
		prefix = "";
	} else if (json_is_object(doc) && json_is_array(json_object_get(doc, "objects")) &&
		   (!json_object_get(doc, "type") ||
		    (json_string_value(json_object_get(doc, "type")) &&
		     strcmp(json_string_value(json_object_get(doc, "type")), "bundle") == 0))) {
		objects = json_object_get(doc, "objects");
	} else if (json_is_object(doc)) {
		snprintf(where, sizeof where, "%s", file);
		err = feeds_import_object(imp, where, doc);
		goto out;
	} else {
		err = feeds_import_reject(imp, file, "not a STIX bundle, envelope, array or object");
		goto out;
	}
	json_array_foreach(objects, i, o) {
		snprintf(where, sizeof where, "%s: %s[%zu]", file, prefix, i);
		if ((err = feeds_import_object(imp, where, o)))
			break;
	}
out:
	json_decref(doc);
	return err;
}
