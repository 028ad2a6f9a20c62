/*
 * store.h: the object store behind the hub, engine-neutral.
 *
 * Every version of every STIX object posted to a collection is kept, as
 * the exact JSON text received (re-serialised compactly), with the facts
 * TAXII filters on: collection, id, type, spec_version, version (modified,
 * else created, else date_added) and date_added. date_added is strictly
 * increasing within a collection and is the order TAXII pages follow; each
 * stored version also gets a store-wide sequence number `seq`, increasing in
 * commit order, which paging cursors carry. Because a version committed
 * later always has a larger seq, a reader paging by "seq greater than the
 * last one I saw" never skips nor repeats a version while others are added.
 *
 * The first engine is SQLite (store_sqlite.c, WAL, synced before a write
 * returns: a put that returned RK_OK is on disk). Engines implement the operations table in
 * store_int.h; nothing outside src/store sees which engine is in use, so a
 * PostgreSQL engine can be added without touching the server.
 *
 * Besides objects the store keeps TAXII status resources and small named
 * documents ("meta": the directory lives there as one JSON document with a
 * version counter, so every hub node sees the same directory).
 *
 * Threads: a store handle is shared by all request threads; engines
 * serialise writes internally and allow concurrent reads.
 *
 * Ownership: store_open returns a handle freed by store_close. Rows passed to
 * callbacks point into engine memory valid only during the callback. Strings
 * and JSON returned through out-parameters are the caller's to free.
 */
#ifndef RK_STORE_H
#define RK_STORE_H

#include "common.h"
#include "stix.h"

typedef struct store store;

/* ---------------------------------------------------------------- open */
/* store.c */

/*
 * Opens (creating if needed) the store at `location`: a directory path, or
 * "sqlite:<dir>". The SQLite engine keeps <dir>/renkei.db. The schema is
 * created or migrated forward to the current version; a database written by
 * a newer renkei is refused with RK_EDB and a message naming both versions.
 */
rk_err store_open(const char *location, store **out, rk_errctx *ctx);
void store_close(store *st);
/* Schema version this build writes, and the one found on disk at open
 * (before migration). */
int store_schema_version(void);
int store_schema_version_found(const store *st);
/* Runs the engine's integrity check (PRAGMA integrity_check for SQLite);
 * RK_OK when sound, RK_EDB with the first problem otherwise. */
rk_err store_check_integrity(store *st, rk_errctx *ctx);

/* ---------------------------------------------------------------- writes */
/* store.c */

/* One object to add: a validated object and its facts. */
typedef struct store_put_item {
	const json_t *object;
	stix_info info;
	/* Optional: `object` as text, json_len bytes (no NUL needed), which
	 * must be exactly what rk_json_dump(object) writes (the hub takes it
	 * from the request body, see rk_json_array_slices). The store then
	 * keeps these bytes instead of serialising `object` again. Borrowed
	 * for the call. NULL: the store serialises `object`. */
	const char *json;
	size_t json_len;
	/* The object's audience class: the policy module's key text, equal for
	 * objects the same readers may read (NULL: class 0, not classified),
	 * and STORE_F_* saying what a read must look at in the object itself. */
	const char *audience;
	unsigned flags;
} store_put_item;

/* Why a version with another audience than the id's earlier versions in
 * the collection is refused. */
#define STORE_VERSION_KEEPS_MARKINGS                                                   \
	"a new version keeps the markings of the earlier versions (TLP marking, "      \
	"recipients, distribution); publish the wider or narrower version as a new "   \
	"object"

/* store_put_item.flags, store_row.flags (the policy module's POLICY_F_*). */
#define STORE_F_REFS 0x1u     /* the object references other objects */
#define STORE_F_GRANULAR 0x2u /* it carries granular TLP markings */

typedef enum {
	STORE_PUT_ADDED,     /* a new version stored */
	STORE_PUT_DUPLICATE, /* this exact (id, version) already in the collection: success, nothing stored */
	STORE_PUT_REJECTED,  /* not stored; message says why */
} store_put_outcome;

typedef struct store_put_result {
	store_put_outcome outcome;
	rk_time date_added; /* of the new version, or of the stored duplicate */
	char message[256];  /* for REJECTED: the reason */
} store_put_result;

/*
 * Adds objects to a collection as organisation `owner_org`, in one durable
 * transaction: results[i] says what happened to items[i]. Items are
 * independent: a rejected item stores nothing and does not stop the others.
 * Ownership rule: the first organisation to store an id owns it store-wide;
 * another organisation adding a version of it is REJECTED ("owned by another
 * organisation"). Audience rule: every version of an id in a collection
 * has the audience class of the first there; a version with another class
 * is REJECTED ("a new version keeps the markings ..."). Returns an error only when the whole batch failed (then
 * nothing was stored); RK_OK means every result is final and on disk.
 */
rk_err store_put(store *st, const char *collection_id, const char *owner_org,
		 const store_put_item *items, size_t n, store_put_result *results,
		 rk_errctx *ctx);

/*
 * store_put that also stores the TAXII status resource of the request in
 * the SAME durable transaction, so the objects and their status become
 * visible together and one commit (one fsync, shared with the rest of the
 * group) covers both. After the items have been run, make_status is called
 * once, on the store's writer thread inside the transaction, with the final
 * results (results[i] for items[i]); it returns in *doc_out the status
 * document as text (heap memory the store frees; what rk_json_dump writes,
 * see store_status_put_text), to be kept under (api_root, status_id). It
 * must be quick and must not call the store. A non-RK_OK return (with its
 * reason in ctx, the caller's) rolls back the whole request: nothing of it
 * is stored. n may be 0 (then only the status is stored). RK_OK means the
 * objects and the status are on disk.
 */
typedef rk_err (*store_status_fn)(void *arg, const store_put_result *results,
				  size_t n, char **doc_out, rk_errctx *ctx);
rk_err store_put_with_status(store *st, const char *collection_id,
			     const char *owner_org, const store_put_item *items,
			     size_t n, store_put_result *results,
			     const char *api_root, const char *status_id,
			     store_status_fn make_status, void *status_arg,
			     rk_errctx *ctx);

/* Owner organisation of an object id, or RK_ENOTFOUND. *owner_out is heap
 * memory the caller frees. */
rk_err store_object_owner(store *st, const char *object_id, char **owner_out,
			  rk_errctx *ctx);

/* ---------------------------------------------------------------- queries */
/* store.c */

/* match[version] terms (TAXII 2.1 section 3.4.2). */
typedef struct store_version_match {
	bool first;           /* "first" */
	bool last;            /* "last" */
	bool all;             /* "all": every version */
	const rk_time *at;    /* exact version timestamps */
	size_t n_at;
} store_version_match;

typedef struct store_query {
	const char *collection_id;
	/* added_after: versions whose date_added is strictly later. */
	bool has_added_after;
	rk_time added_after;
	/* match[id], match[type], match[spec_version]: any of the values. */
	const char *const *ids;
	size_t n_ids;
	const char *const *types;
	size_t n_types;
	const char *const *spec_versions;
	size_t n_spec_versions;
	/* match[version]; all-false/empty means the endpoint default, which the
	 * caller sets (objects/manifest: last; versions: all). */
	store_version_match version;
	/* Paging: return at most `limit` visible rows with seq > after_seq. */
	size_t limit;
	uint64_t after_seq;
	/* Whether rows need the object JSON (objects) or only facts
	 * (manifest, versions, counts). */
	bool with_json;
	/* With restrict_auds, only rows of these audience classes (the ones
	 * the reader may read) are read at all: a reader allowed a small part
	 * of a collection costs what that part costs, not a scan. */
	bool restrict_auds;
	const int64_t *auds;
	size_t n_auds;
	/* Optional, from store_audiences: the versions in those classes and
	 * in all classes of the collection. With all_rows > 0 the engine
	 * judges from these how small a part the reader reads, instead of
	 * counting again. */
	uint64_t aud_rows, all_rows;
} store_query;

typedef struct store_row {
	uint64_t seq;
	const char *collection_id; /* the collection's id (UUID) */
	int64_t aud;               /* audience class (0: not classified) */
	unsigned flags;            /* STORE_F_* */
	rk_time date_added;
	const char *id;
	const char *type;
	const char *spec_version;
	const char *version; /* as TAXII names it: modified/created string, or date_added formatted */
	rk_time version_time;
	const char *owner_org;
	const char *json; /* NULL unless query.with_json */
	size_t json_len;
} store_row;

/* Decides whether the caller may see a row (the hub passes the policy
 * decision here). Rows it refuses are neither emitted nor counted. */
typedef bool (*store_visible_fn)(void *arg, const store_row *row);
/* Receives each visible row in seq order; a non-RK_OK return stops the
 * query and is returned from store_query_rows. */
typedef rk_err (*store_emit_fn)(void *arg, const store_row *row);

typedef struct store_page {
	size_t count;          /* rows emitted */
	bool more;             /* another visible row exists after this page */
	uint64_t last_seq;     /* seq of the last emitted row (cursor) */
	rk_time first_added;   /* date_added of first and last emitted rows */
	rk_time last_added;
} store_page;

/*
 * Runs a query: emits up to q->limit visible rows in seq (= date_added)
 * order and fills page. Every filter is served by an index; the engine
 * reads at most limit + 1 visible rows plus the invisible ones between them.
 * visible may be NULL (everything visible).
 */
rk_err store_query_rows(store *st, const store_query *q, store_visible_fn visible,
			void *visible_arg, store_emit_fn emit, void *emit_arg,
			store_page *page, rk_errctx *ctx);

/*
 * Deletes versions of object `id` from a collection: all of them, or only
 * those matching q's version / spec_version terms (TAXII 2.1 section 5.7).
 * *deleted receives the number of versions removed; RK_ENOTFOUND when none
 * matched.
 */
rk_err store_delete(store *st, const char *collection_id, const char *object_id,
		    const store_version_match *version,
		    const char *const *spec_versions, size_t n_spec_versions,
		    size_t *deleted, rk_errctx *ctx);

/* Stored versions in one collection (collection_id) or in all (NULL). */
rk_err store_count(store *st, const char *collection_id, uint64_t *out,
		   rk_errctx *ctx);

/* ---------------------------------------------------------------- audiences */
/* store.c */

/* The audience classes a collection holds versions of, with their counts
 * (key is valid during the call). */
typedef rk_err (*store_audience_fn)(void *arg, int64_t aud, const char *key,
				    uint64_t n_versions);
rk_err store_audiences(store *st, const char *collection_id, store_audience_fn fn,
		       void *arg, rk_errctx *ctx);
/* The key of class aud; *key_out is heap memory the caller frees;
 * RK_ENOTFOUND for an unknown class. */
rk_err store_audience_key(store *st, int64_t aud, char **key_out, rk_errctx *ctx);
/* A number that changes whenever the audience classes of a collection, or
 * their counts, may have changed (a write of this process, or rows another
 * process stored): what store_audiences said stays true while it holds. */
uint64_t store_audience_epoch(store *st);
/* false: no version of `id` is stored (from memory, no read); true: one
 * may be (then ask store_find_versions). */
bool store_may_hold(store *st, const char *id);
/* Every stored version of any of the ids, in every collection: rows with
 * seq, collection_id, id, type, version, owner_org, aud, flags and json
 * (valid during the call). */
typedef rk_err (*store_version_fn)(void *arg, const store_row *row);
rk_err store_find_versions(store *st, const char *const *ids, size_t n_ids,
			   store_version_fn fn, void *arg, rk_errctx *ctx);
/* Rows not yet classified (stored before audience classes existed), up to
 * `limit` of them with their JSON (row.collection_id set), and giving n of
 * them their class in one durable write. */
rk_err store_unclassified(store *st, size_t limit, store_emit_fn emit, void *arg,
			  rk_errctx *ctx);
rk_err store_set_audiences(store *st, const uint64_t *seqs, const char *const *keys,
			   const unsigned *flags, size_t n, rk_errctx *ctx);

/* ---------------------------------------------------------------- status */
/* store.c */

/* TAXII status resources, kept as JSON documents keyed by status id within
 * an API root. put replaces. get returns a new reference or RK_ENOTFOUND. */
rk_err store_status_put(store *st, const char *api_root, const char *status_id,
			const json_t *status, rk_errctx *ctx);
rk_err store_status_get(store *st, const char *api_root, const char *status_id,
			json_t **out, rk_errctx *ctx);
/* store_status_put for a caller that already has the document as text:
 * `doc` must be what rk_json_dump writes for it (get parses it back). */
rk_err store_status_put_text(store *st, const char *api_root,
			     const char *status_id, const char *doc,
			     rk_errctx *ctx);

/* ---------------------------------------------------------------- meta */
/* store.c */

/*
 * Named documents with a version counter that increases on every change.
 * get returns a new reference and the version (0 and a NULL doc when
 * absent). put stores doc if it differs from the stored one (compared as
 * canonical JSON) and returns the new version in *version_out, or the
 * unchanged one with *changed false. version returns just the counter,
 * cheaply, for change polling.
 */
rk_err store_meta_get(store *st, const char *name, json_t **doc_out,
		      uint64_t *version_out, rk_errctx *ctx);
rk_err store_meta_put(store *st, const char *name, const json_t *doc,
		      uint64_t *version_out, bool *changed, rk_errctx *ctx);
rk_err store_meta_version(store *st, const char *name, uint64_t *version_out,
			  rk_errctx *ctx);

#endif
