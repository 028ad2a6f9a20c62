/*
 * common_sqlite.c: opening the SQLite file a module keeps its own durable
 * state in, beside the store in the hub's data directory (the asset
 * registry's assets.db, the notification queue's notify.db, the
 * anonymisation state's anonymise.db, the federation's federation.db).
 *
 * Every such file is opened the same way: serialised threading (one
 * handle may be shared by the hub's threads, each module still holds its
 * own lock around transactions), a busy timeout so that a CLI command and
 * the running hub wait for each other instead of failing, and the
 * module's schema (CREATE ... IF NOT EXISTS statements) applied on every
 * open, so a new file is ready and an old one is left as it is. The
 * directory may be given as the store's location ("sqlite:DIR"). Errors
 * name the file and SQLite's reason.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

rk_err rk_sqlite_open(const char *dir, const char *file, bool read_only, int busy_ms,
		      const char *schema, struct sqlite3 **out, rk_errctx *ctx)
{
	char path[4096];
	sqlite3 *db = NULL;
	char *errmsg = NULL;
	int flags = SQLITE_OPEN_FULLMUTEX |
		    (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);

	*out = NULL;
	if (strncmp(dir, "sqlite:", 7) == 0) /* the store's location form */
		dir += 7;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path)
		return rk_fail(ctx, RK_EINVAL, dir, "data directory path too long");
	int rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		rk_fail(ctx, RK_EDB, path, "cannot open: %s",
			db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return RK_EDB;
	}
	sqlite3_busy_timeout(db, busy_ms);
	if (schema && sqlite3_exec(db, schema, NULL, NULL, &errmsg) != SQLITE_OK) {
		rk_fail(ctx, RK_EDB, path, "cannot set up: %s",
			errmsg ? errmsg : sqlite3_errmsg(db));
		sqlite3_free(errmsg);
		sqlite3_close(db);
		return RK_EDB;
	}
	*out = db;
	return RK_OK;
}
