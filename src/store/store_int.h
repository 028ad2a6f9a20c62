/*
 * store_int.h: what the engine-neutral front (store.c) and the storage
 * engines (store_sqlite.c, later a PostgreSQL one) share. Nothing outside
 * src/store includes this file.
 *
 * The front checks arguments, turns each store_put_item into a store_item
 * (compact JSON text, serialised here unless the caller brought it, version
 * facts, or an early rejection) outside any lock, and dispatches through the engine's store_ops. An engine owns its
 * connections, its locking and its transactions; it sees only store_item
 * arrays and plain strings, never a json_t it would have to serialise under
 * its write lock.
 */
#ifndef RK_STORE_INT_H
#define RK_STORE_INT_H

#include "store.h"

typedef struct store_engine store_engine;

/* One object to add, prepared by the front. */
typedef struct store_item {
	const char *id;
	const char *type;
	const char *spec_version; /* never NULL: "2.1" when the object has none */
	/* modified, else created; NULL for objects with neither, whose version
	 * the engine sets to date_added (version_time = date_added, version =
	 * date_added formatted with six sub-second digits). */
	const char *version;
	rk_time version_time;
	/* Compact rk_json_dump text: the caller's (store_put_item.json) or
	 * json_buf, which the front serialised and frees. */
	const char *json;
	size_t json_len;
	char *json_buf;
	const char *audience; /* class key, or NULL for class 0 */
	unsigned flags;
	bool rejected; /* the front already filled the result */
} store_item;

/* The status a put stores in its own transaction (store_put_with_status). */
typedef struct store_status_req {
	const char *api_root;
	const char *status_id;
	store_status_fn make;
	void *arg;
} store_status_req;

typedef struct store_ops {
	const char *name;
	/* `path` is the engine-specific part of the location. *found receives
	 * the schema version on disk before migration (0 for a new store). */
	rk_err (*open)(const char *path, store_engine **out, int *found,
		       rk_errctx *ctx);
	void (*close)(store_engine *e);
	rk_err (*check_integrity)(store_engine *e, rk_errctx *ctx);

	/* status: NULL, or the status to store in the same transaction
	 * (then n may be 0 and collection_id/owner_org unused when it is). */
	rk_err (*put)(store_engine *e, const char *collection_id,
		      const char *owner_org, const store_item *items, size_t n,
		      store_put_result *results, const store_status_req *status,
		      rk_errctx *ctx);
	rk_err (*object_owner)(store_engine *e, const char *object_id,
			       char **owner_out, rk_errctx *ctx);

	/* q->limit is already >= 1; the filter lists are within
	 * RK_MAX_FILTER_VALUES. */
	rk_err (*query)(store_engine *e, const store_query *q,
			store_visible_fn visible, void *visible_arg,
			store_emit_fn emit, void *emit_arg, store_page *page,
			rk_errctx *ctx);
	rk_err (*del)(store_engine *e, const char *collection_id,
		      const char *object_id, const store_version_match *version,
		      const char *const *spec_versions, size_t n_spec_versions,
		      size_t *deleted, rk_errctx *ctx);
	rk_err (*count)(store_engine *e, const char *collection_id,
			uint64_t *out, rk_errctx *ctx);
	rk_err (*audiences)(store_engine *e, const char *collection_id,
			    store_audience_fn fn, void *arg, rk_errctx *ctx);
	rk_err (*audience_key)(store_engine *e, int64_t aud, char **key_out,
			       rk_errctx *ctx);
	rk_err (*find_versions)(store_engine *e, const char *const *ids, size_t n,
				store_version_fn fn, void *arg, rk_errctx *ctx);
	bool (*may_hold)(store_engine *e, const char *id);
	uint64_t (*audience_epoch)(store_engine *e);
	rk_err (*unclassified)(store_engine *e, size_t limit, store_emit_fn emit,
			       void *arg, rk_errctx *ctx);
	rk_err (*set_audiences)(store_engine *e, const uint64_t *seqs,
				const char *const *keys, const unsigned *flags, size_t n,
				rk_errctx *ctx);

	/* `doc` is compact JSON text. */
	rk_err (*status_put)(store_engine *e, const char *api_root,
			     const char *status_id, const char *doc,
			     rk_errctx *ctx);
	/* *doc_out is heap text the caller frees. */
	rk_err (*status_get)(store_engine *e, const char *api_root,
			     const char *status_id, char **doc_out,
			     rk_errctx *ctx);

	/* `canon` is canonical JSON text (sorted keys, compact): equal texts
	 * mean equal documents. *doc_out may be NULL (only the version). */
	rk_err (*meta_get)(store_engine *e, const char *name, char **doc_out,
			   uint64_t *version_out, rk_errctx *ctx);
	rk_err (*meta_put)(store_engine *e, const char *name, const char *canon,
			   uint64_t *version_out, bool *changed, rk_errctx *ctx);
} store_ops;

/* store_sqlite.c */
extern const store_ops store_sqlite_ops;
/* The SQL text the SQLite engine runs for q (parameters ?1 collection key,
 * ?2 seq lower bound, ?3 date_added lower bound, then the filter
 * values); for tests that check query
 * plans. sparse: as for a reader who may read a small part of the
 * collection (one arm per audience class). *sql_out is heap memory the caller frees. */
rk_err store_sqlite_query_sql(const store_query *q, bool sparse, char **sql_out);

/* store_schema.c: the SQLite schema and its forward migrations. */
struct sqlite3;
/* Version the schema steps lead to. */
#define STORE_SCHEMA_VERSION 7
/* The id index's slices: an entry of objects_ix belongs to slice
 * (uint64_t)idh >> 60, and each slice has its own mark in objects_ix_marks
 * (store_sqlite.c, "The id index"). An on-disk format: changing it takes a
 * migration. */
#define STORE_IX_SLICES 16
#define STORE_IX_SLICE(idh) ((unsigned)((uint64_t)(idh) >> 60))

/* Rows above the id index's marks after which the SQLite engine merges a
 * slice of them into objects_ix (store_sqlite.c, "The id index"); tests
 * lower it. */
extern long store_sqlite_ix_merge;
/*
 * Brings the database on `db` (a read-write connection, no transaction
 * open) to STORE_SCHEMA_VERSION in one IMMEDIATE transaction. *found
 * receives the version on disk before migration. A newer version, or a
 * database that is not a renkei store, is refused with RK_EDB.
 */
rk_err store_schema_migrate(struct sqlite3 *db, int *found, rk_errctx *ctx);
/* The key of the id index (objects_ix) for a STIX id of `len` bytes (see
 * store_schema.c; an on-disk format). */
int64_t store_idh(const char *id, size_t len);

/* store_known.c: the id hashes a store may hold, a filter with no false
 * negatives (see there). Not thread-safe. */
typedef struct store_known store_known;
/* A filter sized for `expect` keys (it grows past them); NULL when out of
 * memory. */
store_known *store_known_new(size_t expect);
/* Never fails: lacking memory, the filter reports every key present. */
void store_known_add(store_known *k, int64_t idh);
/* false: idh was certainly never added. */
bool store_known_may_have(const store_known *k, int64_t idh);
size_t store_known_bytes(const store_known *k);
void store_known_free(store_known *k);

#endif
