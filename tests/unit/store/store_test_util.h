/*
 * store_test_util.h: helpers shared by the store unit tests (header-only:
 * each test_*.c is its own program).
 *
 * Objects are built by hand and their stix_info filled from the JSON here,
 * so the store tests depend on nothing but the store itself; a store
 * directory lives under /tmp (mkdtemp) and is removed afterwards.
 */
#ifndef STORE_TEST_UTIL_H
#define STORE_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

static inline char *tu_tmpdir(void)
{
	char tmpl[] = "/tmp/renkei-store-XXXXXX";
	char *d = mkdtemp(tmpl);
	return d ? strdup(d) : NULL;
}

/* Removes a store directory (the files SQLite keeps there) and frees dir. */
static inline void tu_rmdir(char *dir)
{
	static const char *const files[] = {"renkei.db", "renkei.db-wal",
					    "renkei.db-shm", "renkei.db-journal"};
	char p[512];

	if (!dir)
		return;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
	free(dir);
}

/* "type--0000000n-0000-4000-8000-0000000000kk" */
static inline void tu_id(char *out, size_t len, const char *type, unsigned n,
			 unsigned k)
{
	snprintf(out, len, "%s--%08x-0000-4000-8000-%012x", type, n, k);
}

/* An SDO with created = modified = `modified` (NULL: an SCO-like object
 * without either). */
static inline json_t *tu_obj(const char *type, const char *id,
			     const char *modified, const char *name)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string(type));
	json_object_set_new(o, "spec_version", json_string("2.1"));
	json_object_set_new(o, "id", json_string(id));
	if (modified) {
		json_object_set_new(o, "created", json_string(modified));
		json_object_set_new(o, "modified", json_string(modified));
	}
	json_object_set_new(o, "name", json_string(name ? name : "x"));
	return o;
}

/* Fills a put item from an object built by tu_obj (what stix_object_info
 * would say). */
static inline void tu_item(const json_t *o, store_put_item *it)
{
	memset(it, 0, sizeof *it);
	it->object = o;
	it->info.type = json_string_value(json_object_get(o, "type"));
	it->info.id = json_string_value(json_object_get(o, "id"));
	it->info.spec_version = json_string_value(json_object_get(o, "spec_version"));
	it->info.created = json_string_value(json_object_get(o, "created"));
	it->info.modified = json_string_value(json_object_get(o, "modified"));
	it->info.version = it->info.modified ? it->info.modified : it->info.created;
	if (it->info.version)
		rk_time_parse(it->info.version, &it->info.version_time);
	it->info.kind = it->info.version ? STIX_KIND_SDO : STIX_KIND_SCO;
}

/* Puts one object; returns the outcome, date_added in *da if non-NULL. */
static inline store_put_outcome tu_put1(store *st, const char *coll,
					const char *owner, const json_t *o,
					rk_time *da)
{
	store_put_item it;
	store_put_result r;
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	tu_item(o, &it);
	if (store_put(st, coll, owner, &it, 1, &r, &ctx) != RK_OK) {
		fprintf(stderr, "store_put: %s\n", ctx.msg);
		return (store_put_outcome)-1;
	}
	if (da)
		*da = r.date_added;
	return r.outcome;
}

#endif
