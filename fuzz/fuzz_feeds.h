/*
 * fuzz_feeds.h: what every feed parser harness checks after a run.
 *
 * The parsers never fail on bad input (only on out-of-memory), so a run
 * must end with RK_OK; every value looked at is accounted for exactly once
 * (imported, unchanged, duplicate, dropped, rejected or skipped); every
 * emitted object is a valid STIX 2.1 indicator; every reject names where.
 * Anything else aborts.
 */
#ifndef RK_FUZZ_FEEDS_H
#define RK_FUZZ_FEEDS_H

#include <stdlib.h>
#include <string.h>

#include "feeds.h"

static feeds_import *fuzz_feeds_start(const feeds_warnlists *warn)
{
	feeds_config cfg = {
		.name = "fuzz",
		.marking = STIX_TLP_AMBER,
		.confidence = 50,
		.warn = warn,
		.now = 1764000000000000,
	};
	feeds_import *imp = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	if (feeds_import_new(&cfg, &imp, &ctx))
		abort();
	return imp;
}

static void fuzz_feeds_check(feeds_import *imp, rk_err err)
{
	const feeds_counts *c = feeds_import_counts(imp);
	size_t i;
	json_t *o;
	rk_errctx ctx;

	if (err != RK_OK)
		abort();
	if (c->read != c->imported + c->unchanged + c->duplicate + c->dropped + c->rejected + c->skipped)
		abort();
	if (c->imported != json_array_size(feeds_import_objects(imp)))
		abort();
	json_array_foreach(feeds_import_objects(imp), i, o) {
		rk_errctx_clear(&ctx);
		if (stix_validate_object(o, "", NULL, &ctx) != RK_OK)
			abort();
		const char *type = json_string_value(json_object_get(o, "type"));
		if (!type || strcmp(type, "indicator") != 0)
			abort();
	}
	json_array_foreach(feeds_import_rejects(imp), i, o) {
		const char *where = json_string_value(json_object_get(o, "where"));
		if (!where || !*where || !json_string_value(json_object_get(o, "reason")))
			abort();
	}
	feeds_import_free(imp);
}

#endif
