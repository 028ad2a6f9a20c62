/*
 * store_sqlite.c: the SQLite engine of the object store (the default, for a
 * hub on one machine). Schema and migrations: store_schema.c.
 *
 * Connections. One write connection, used only by the current group-commit
 * leader (below), one for the checkpoint thread, and a pool of read connections handed out one per query
 * and returned afterwards, so readers never wait for the writer: the
 * database runs in WAL mode and each read runs in its own snapshot. Each
 * connection caches its prepared statements by SQL text (sq_prepare), so a
 * steady workload prepares nothing; the put path's statements are held by
 * number (sq_fixed), so a put neither builds nor hashes SQL text. Page caches are bounded per connection
 * (SQ_WRITER_CACHE_KIB, SQ_READER_CACHE_KIB, at most SQ_MAX_IDLE_READERS
 * kept) and mmap is off, which keeps the resident size bounded however
 * large the database grows.
 *
 * Durability and group commit. A request's caller returns only after the
 * WAL holding its COMMIT has been fdatasync'ed. The writer runs
 * synchronous=NORMAL (COMMIT writes the WAL but does not sync it; SQLite
 * still syncs the WAL before every checkpoint) and the leader syncs the
 * WAL itself through a descriptor of its own (walfd) after giving up the
 * lead, so the next group's inserts run while this group's frames reach
 * the disk instead of the one writer idling ~2.5 ms per commit on fsync.
 * A commit is visible to readers from its COMMIT, a moment (one fsync)
 * before it is durable; it is acknowledged only once durable. If the WAL
 * cannot be opened that way, the writer falls back to synchronous=FULL
 * and COMMIT syncs. Every write (put, delete, status, meta) is a request
 * queued under `qmu`. A thread that finds no leader becomes the leader: it
 * takes every queued request, runs them in one IMMEDIATE transaction, each
 * inside its own SAVEPOINT (a failing request is rolled back alone), commits
 * once, syncs, then marks them done and wakes their threads. Requests that
 * arrive meanwhile queue up for the next leader. Under load, concurrent
 * callers thus share one fsync; alone, a caller commits its own request at
 * once. A request's caller returns only after the COMMIT that contains it
 * is synced, so RK_OK always means "on disk". A put may carry its TAXII status
 * (store_put_with_status): the leader calls the caller's status maker with
 * the put's results after the items, inside the same savepoint, and stores
 * the text it returns, so a POST costs one request in one commit, not two.
 *
 *     caller:  enqueue --(no leader)--> lead: BEGIN; {SAVEPOINT; run; RELEASE}*;
 *                 |                              COMMIT; give up the lead;
 *                 |                              fdatasync(WAL); mark done; wake all
 *                 +--(leader busy)--> wait until done, or lead the next group
 *
 * Versions. Per (collection, id) exactly one row has is_first=1 (smallest
 * version_time) and one has is_last=1 (largest); with a single version it
 * carries both. Insert keeps this with at most two flag updates:
 *
 *     version_time:   v1 ---- v2 ---- v3          new version t:
 *     is_first:        1       0       0          t < v1: t first, v1 loses first
 *     is_last:         0       0       1          t > v3: t last,  v3 loses last
 *                                                 otherwise: neither flag
 *
 * Delete recomputes both flags of the versions that remain. Partial
 * indices on the flags serve match[version]=first/last without scanning.
 *
 * Sequence and date_added. seq is AUTOINCREMENT (never reused); date_added
 * is max(now, collections.last_added + 1us), so within a collection seq
 * order and date_added order agree. That lets added_after become a seq
 * bound (one seek in objects_added), after which every query is "coll = ?
 * AND seq > ?" on the index that fits its filters; and the other way
 * round, a query over all versions runs on objects_added itself, the seq
 * cursor turned into a date_added bound (added_bound), so no (coll, seq)
 * index is kept.
 *
 * Objects without modified/created (SCOs): version_time = date_added and
 * version = date_added formatted with six sub-second digits (so that
 * match[version]=<that string> finds the row exactly). Reposting identical
 * JSON for such an id is a DUPLICATE of its newest version rather than a
 * new version: otherwise every sensor resend of an observable would add a
 * version.
 *
 * Ownership and the id index (store_schema.c has the layout). The only
 * key that is random is the id, hashed to 64 bits (idh); put probes by it
 * once per object, and that probe answers ownership (any stored version's
 * owner; owners only remembers ids whose versions were all deleted),
 * duplicates and the version flags. Queries by id ask for the rows whose
 * idh matches and compare the id on the row: the hash finds, the text
 * decides.
 *
 * The id index is kept in two levels, LSM style, so that its maintenance
 * is not random I/O, and in 16 slices of the idh space (STORE_IX_SLICE:
 * the top four bits), each with a mark of its own (objects_ix_marks).
 * objects_ix (idh, seq) holds every row up to its slice's mark; the rows
 * above (the tail) are in no on-disk index: each store keeps their (idh,
 * seq) in memory (`tail`, an open-addressing table under `tmu`), fills it
 * as the writer inserts, and reads the tail back from the table at open
 * (SELECT ... WHERE seq > the smallest mark, a rowid range). A lookup is
 * "seq IN (SELECT seq FROM objects_ix WHERE idh = ?) OR seq IN (<tail
 * seqs of that idh>)" on objects NOT INDEXED (rowid lookups only, never a
 * scan). Once the tail holds store_sqlite_ix_merge rows above their marks
 * (SQ_IX_MERGE, 100,000), the leader, in its group's transaction before
 * COMMIT, inserts the entries of the slice with the most of them into
 * objects_ix sorted by key and moves that slice's mark (group_end): every
 * leaf of the slice is written at most once per merge instead of once per
 * object, and no commit rewrites more than a sixteenth of the index (a
 * whole-index merge at a million objects stalled ingest for the commit
 * that rewrote its ~6,000 leaves). The entries come from the in-memory
 * tail, sorted in C, and go in through one prepared INSERT, so a merge
 * reads no object rows back (a stale entry, of a row deleted or rolled
 * back, only adds an index entry whose row is gone or carries another id,
 * which every lookup checks; deletes drop such entries of their id). The
 * largest committed seq, which the new mark and tail_seen take, is
 * tracked rather than queried: tail_seen at group_begin, raised by the
 * seqs this group inserted in requests that were not rolled back.
 * Index and marks commit together with the rows, so a crash leaves them
 * consistent, and the tail is rebuilt at open; nothing about the index
 * has to be repaired.
 *
 *     objects:     seq 1 ..................... mark[s] ...... max
 *     objects_ix:  slice s: every row <= mark[s] (merged, sorted inserts)
 *     tail:                     (kept one merge) | rows of s > mark[s]
 *
 * Most ids a put sees are new. The filter of known ids (`known`,
 * store_known.c: every idh of objects_ix, of the owners table and of the
 * tail, which tail_add also puts there) says so for ~99% of them without
 * the lookup; its false positives only cost the lookup.
 *
 * Snapshots and other processes. A reader looks up the tail in its own
 * read transaction (tail_seqs): it reads the marks of its snapshot, then,
 * under tmu, adds the rows of its snapshot above tail_seen (rows another
 * process, such as `renkei admin`, committed; tail_seen only counts rows
 * known committed), and takes the tail seqs above its slice's mark. After
 * a merge the tail keeps the slice's rows of the merge before (tail_low[s]
 * is the previous mark), so a reader whose snapshot began before the last
 * merge still finds them; one whose snapshot predates tail_low of a slice
 * it looks in starts a new read transaction and tries again. The leader
 * catches up once per group, under the write lock, when it reads the
 * marks (group_begin); its own inserts enter the tail at once (a
 * rolled-back row leaves a stale entry, which is harmless: every hit is
 * checked against the row's id). A merge by another process only moves
 * marks; the tail then drops what that slice's previous merge covered. Deletes remove the rows' objects_ix entries
 * in the same transaction; their tail entries go stale, harmlessly.
 *
 * Where ingest time goes (measured, 2 cores, envelopes of 100 over HTTP,
 * ids spread like random UUIDs). Write volume: a random-keyed insert dirties
 * its own leaf page, which the commit writes to the WAL and a checkpoint
 * writes again. Schema 2 had two such trees keyed by ~45-byte text
 * (objects_id and owners): about 20 KB written per object at 300,000
 * objects and falling throughput. Schema 3 has one tree of ~28-byte
 * entries (objects_idh), which stays in the writer's page cache
 * (SQ_WRITER_CACHE_KIB) at a million objects: about 8 KB per object.
 * Checkpoints run off the request path and only every SQ_WAL_CHECKPOINT
 * frames, so a leaf page changed by many commits is copied back once.
 * Smaller pages (1 or 2 KiB) were tried and did not help: rows (~700
 * bytes) then waste most of a page and SQLite's per-page CPU grows more
 * than the bytes saved. Schema 4 has seven B-tree inserts per object; the
 * WAL sync no longer holds up the writer (see Durability). Still, at
 * 300,000 objects a commit of ~146 objects wrote ~170 pages, ~140 of them
 * objects_idh leaves (once that tree has far more leaves than a commit has
 * objects, each new id dirties a leaf of its own), and the rate fell from
 * ~45,000 to ~27,000 obj/s between 10,000 and 1,000,000 objects. Schema 5
 * removes that random insert from the put path (above): every B-tree a put
 * touches now grows at its end, and the merge of 100,000 rows at a million
 * objects rewrites the ~6,000 leaves of objects_ix once. Also tried: the
 * id index in an ATTACHed database with 1 KiB pages (random inserts dirty
 * 1 KiB instead of 4 KiB), crash-repaired from a mark: slower than schema
 * 4 (a second WAL and B-tree per commit cost more CPU than the bytes
 * saved).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store_int.h"

#define SQ_STMT_CACHE 64
#ifndef SQ_PAGE_SIZE
#define SQ_PAGE_SIZE 4096
#endif
#define RK_STR_(x) #x
#define RK_STR(x) RK_STR_(x)
#define SQ_WRITER_CACHE_KIB 65536
#define SQ_READER_CACHE_KIB 8192
#define SQ_MAX_IDLE_READERS 16
#define SQ_BUSY_TIMEOUT_MS 10000
/* WAL frames after which the checkpointer thread copies the WAL back,
 * and after which the writer does it itself (the checkpointer cannot
 * keep up, or readers keep it from finishing). */
#ifndef SQ_WAL_CHECKPOINT
#define SQ_WAL_CHECKPOINT 16000
#endif
#define SQ_WAL_CHECKPOINT_HARD 64000
#define SQ_STATUS_PRUNE_EVERY 256
/* Rows past the id index's mark after which a group merges them into it. */
#ifndef SQ_IX_MERGE
#define SQ_IX_MERGE 100000
#endif

long store_sqlite_ix_merge = SQ_IX_MERGE;

/* ---------------------------------------------------------------- connections */

typedef struct sq_stmt {
	char *sql;
	uint32_t hash;
	sqlite3_stmt *stmt;
	uint64_t used;
} sq_stmt;

/* The put path's statements, held by number so that a put hashes and
 * compares no SQL text (sq_fixed). SQ_FX_LOOKUP + k: the id lookup with
 * 2^k tail parameters. */
enum {
	SQ_FX_LOOKUP,
	SQ_FX_LOOKUP_END = SQ_FX_LOOKUP + 8,
	SQ_FX_OWNER = SQ_FX_LOOKUP_END,
	SQ_FX_JSON,
	SQ_FX_INSERT,
	SQ_FX_UNFIRST,
	SQ_FX_UNLAST,
	SQ_FX_COLL,
	SQ_FX_IXINS,
	SQ_FX_AUDINS,
	SQ_FX_AUD,
	SQ_FX_AUDCOUNT,
	SQ_FX_N
};

typedef struct sq_conn {
	sqlite3 *db;
	sq_stmt cache[SQ_STMT_CACHE];
	sqlite3_stmt *fixed[SQ_FX_N];
	uint64_t tick;
	struct sq_conn *next; /* idle list */
} sq_conn;

static rk_err sq_err(sqlite3 *db, int rc, rk_errctx *ctx, const char *what)
{
	if ((rc & 0xff) == SQLITE_NOMEM)
		return rk_fail(ctx, RK_ENOMEM, NULL, "store: %s: out of memory", what);
	return rk_fail(ctx, RK_EDB, NULL, "store: %s: %s", what,
		       db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* Runs a statement that returns no rows and resets it. */
static rk_err sq_step_done(sqlite3 *db, sqlite3_stmt *s, rk_errctx *ctx, const char *what)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? RK_OK : sq_err(db, rc, ctx, what);
}

static uint32_t sq_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* A reset, unbound statement for `sql`, prepared once per connection. */
static sqlite3_stmt *sq_prepare(sq_conn *c, const char *sql, rk_errctx *ctx)
{
	uint32_t h = sq_hash(sql);
	sq_stmt *slot = NULL;

	for (size_t i = 0; i < SQ_STMT_CACHE; i++) {
		sq_stmt *s = &c->cache[i];
		if (!s->stmt) {
			if (!slot || slot->stmt)
				slot = s; /* an empty slot beats any eviction */
			continue;
		}
		if (s->hash == h && strcmp(s->sql, sql) == 0) {
			s->used = ++c->tick;
			sqlite3_reset(s->stmt);
			sqlite3_clear_bindings(s->stmt);
			return s->stmt;
		}
		if (!slot || (slot->stmt && s->used < slot->used))
			slot = s; /* least recently used */
	}
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
				    &stmt, NULL);
	if (rc != SQLITE_OK) {
		sq_err(c->db, rc, ctx, "preparing a statement");
		return NULL;
	}
	char *copy = strdup(sql);
	if (!copy) {
		sqlite3_finalize(stmt);
		rk_fail(ctx, RK_ENOMEM, NULL, "store: out of memory");
		return NULL;
	}
	sqlite3_finalize(slot->stmt);
	free(slot->sql);
	slot->sql = copy;
	slot->hash = h;
	slot->stmt = stmt;
	slot->used = ++c->tick;
	return stmt;
}

static void sq_conn_close(sq_conn *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < SQ_STMT_CACHE; i++) {
		sqlite3_finalize(c->cache[i].stmt);
		free(c->cache[i].sql);
	}
	for (size_t i = 0; i < SQ_FX_N; i++)
		sqlite3_finalize(c->fixed[i]);
	sqlite3_close(c->db);
	free(c);
}

/* As sq_prepare, for statement number `fx` (always the same `sql`). */
static sqlite3_stmt *sq_fixed(sq_conn *c, int fx, const char *sql,
			      rk_errctx *ctx)
{
	sqlite3_stmt *s = c->fixed[fx];
	if (s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return s;
	}
	int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
				    &s, NULL);
	if (rc != SQLITE_OK) {
		sq_err(c->db, rc, ctx, "preparing a statement");
		return NULL;
	}
	c->fixed[fx] = s;
	return s;
}

static rk_err sq_exec(sq_conn *c, const char *sql, rk_errctx *ctx)
{
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sq_err(c->db, rc, ctx, sql);
	return RK_OK;
}

static rk_err sq_conn_open(const char *dbpath, bool writer, sq_conn **out,
			   rk_errctx *ctx)
{
	sq_conn *c = NULL;
	rk_err err = RK_OK;
	char sql[256];
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	*out = NULL;
	c = calloc(1, sizeof *c);
	if (!c)
		return rk_fail(ctx, RK_ENOMEM, NULL, "store: out of memory");
	if (writer)
		flags |= SQLITE_OPEN_CREATE;
	int rc = sqlite3_open_v2(dbpath, &c->db, flags, NULL);
	if (rc != SQLITE_OK) {
		err = rk_fail(ctx, RK_EDB, NULL, "store: cannot open %s: %s", dbpath,
			      c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS);
	if (writer) {
		/* page_size only matters before the file has content. */
		if ((err = sq_exec(c, "PRAGMA page_size = " RK_STR(SQ_PAGE_SIZE), ctx)))
			goto out;
		sqlite3_stmt *st = NULL;
		rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &st,
					NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			err = sq_err(c->db, rc, ctx, "switching to WAL mode");
			sqlite3_finalize(st);
			goto out;
		}
		const char *mode = (const char *)sqlite3_column_text(st, 0);
		bool wal = mode && strcmp(mode, "wal") == 0;
		sqlite3_finalize(st);
		if (!wal) {
			err = rk_fail(ctx, RK_EDB, NULL,
				      "store: %s: the file system does not support "
				      "SQLite WAL mode", dbpath);
			goto out;
		}
		snprintf(sql, sizeof sql,
			 "PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY;"
			 "PRAGMA cache_size = -%d; PRAGMA mmap_size = 0;"
			 "PRAGMA wal_autocheckpoint = 0;"
			 "PRAGMA journal_size_limit = 67108864;",
			 SQ_WRITER_CACHE_KIB);
	} else {
		snprintf(sql, sizeof sql,
			 "PRAGMA query_only = 1; PRAGMA temp_store = MEMORY;"
			 "PRAGMA cache_size = -%d; PRAGMA mmap_size = 0;",
			 SQ_READER_CACHE_KIB);
	}
	if ((err = sq_exec(c, sql, ctx)))
		goto out;
	*out = c;
	c = NULL;
out:
	sq_conn_close(c);
	return err;
}

/* ---------------------------------------------------------------- engine */

typedef enum { WR_PUT, WR_DELETE, WR_STATUS, WR_META, WR_CLASSIFY } wr_kind;

/* An audience class a request inserted: known to every thread (amap) only
 * once its commit succeeded. */
typedef struct new_aud {
	int64_t aud;
	char *key;
	struct new_aud *next;
} new_aud;

typedef struct wreq {
	wr_kind kind;
	/* WR_PUT */
	const char *coll;
	const char *owner;
	const store_item *items;
	size_t n;
	store_put_result *results;
	const store_status_req *put_status; /* may be NULL */
	/* WR_DELETE (coll too) */
	const char *object_id;
	const store_version_match *version;
	const char *const *specs;
	size_t n_specs;
	size_t *deleted;
	/* WR_STATUS */
	const char *api_root;
	const char *status_id;
	const char *doc;
	/* WR_META (doc too) */
	const char *name;
	uint64_t *version_out;
	bool *changed;
	/* WR_CLASSIFY */
	const uint64_t *seqs;
	const char *const *keys;
	const unsigned *flags;
	/* classes this request added, and whether it changed class counts
	 * (the leader's bookkeeping) */
	new_aud *new_auds;
	bool counted;

	rk_errctx *ctx;
	rk_err rc;
	bool done;
	struct wreq *next;
} wreq;

struct store_engine {
	char *dbpath;
	sq_conn *w; /* touched only by the current leader (or open/close) */
	unsigned status_puts;

	pthread_mutex_t qmu;
	pthread_cond_t qcv;
	wreq *qhead, *qtail;
	bool leading;
	/* The WAL, opened once more for fdatasync (see submit), or -1: then
	 * the writer runs synchronous=FULL and COMMIT syncs. */
	int walfd;

	/* Checkpointer: its own connection and thread (below). */
	sq_conn *ck;
	pthread_t ck_thread;
	bool ck_started, ck_wanted, ck_stop;
	pthread_mutex_t ckmu;
	pthread_cond_t ckcv;

	pthread_mutex_t pmu; /* reader pool */
	sq_conn *idle;
	size_t n_idle;

	/* The id index's tail (see "The id index"): (idh, seq) of the rows
	 * above their slice's mark, an open-addressing table (seq 0 = empty).
	 * Per slice: */
	pthread_mutex_t tmu;
	struct tail_ent { int64_t idh, seq; } *tail;
	size_t tail_cap, tail_n;
	int64_t tail_low[STORE_IX_SLICES]; /* every committed row above it is in the tail */
	int64_t ix_mark[STORE_IX_SLICES];  /* the marks as the writer last knew them */
	int64_t unmerged[STORE_IX_SLICES]; /* tail entries above the mark (about:
					    * stale entries count too) */
	int64_t tail_seen; /* every committed row up to it was looked at */
	store_known *known; /* every idh of objects_ix, the tail and owners */
	int64_t *wtail;    /* the leader's tail seqs of one lookup */

	/* Audience classes by key and by number, the committed ones (under
	 * amu): a small open-addressing table of keys and an array by aud. */
	pthread_mutex_t amu;
	struct amap_ent { int64_t aud; char *key; } *amap;
	size_t amap_cap, amap_n;
	char **aud_keys; /* aud_keys[aud], NULL when unknown */
	size_t aud_keys_cap;
	/* store_audience_epoch: moved after every commit that changed class
	 * counts, and when rows of other processes are seen */
	_Atomic uint64_t aud_epoch;
	int64_t g_max;     /* the leader's largest seq inserted in its group
			    * by requests not rolled back */
};

/* Adds (idh, seq) unless present, and idh to the filter of known ids;
 * false when out of memory. */
static bool tail_add(store_engine *e, int64_t idh, int64_t seq)
{
	if ((e->tail_n + 1) * 2 > e->tail_cap) {
		size_t cap = e->tail_cap ? e->tail_cap * 2 : 4096;
		struct tail_ent *t = calloc(cap, sizeof *t);
		if (!t)
			return false;
		for (size_t i = 0; i < e->tail_cap; i++) {
			if (!e->tail[i].seq)
				continue;
			size_t j = (size_t)e->tail[i].idh & (cap - 1);
			while (t[j].seq)
				j = (j + 1) & (cap - 1);
			t[j] = e->tail[i];
		}
		free(e->tail);
		e->tail = t;
		e->tail_cap = cap;
	}
	size_t j = (size_t)idh & (e->tail_cap - 1);
	for (; e->tail[j].seq; j = (j + 1) & (e->tail_cap - 1))
		if (e->tail[j].idh == idh && e->tail[j].seq == seq)
			return true;
	e->tail[j].idh = idh;
	e->tail[j].seq = seq;
	e->tail_n++;
	if (seq > e->ix_mark[STORE_IX_SLICE(idh)])
		e->unmerged[STORE_IX_SLICE(idh)]++;
	store_known_add(e->known, idh);
	return true;
}

/* Orders tail entries by the key of objects_ix, (idh, seq). */
static int tail_ent_cmp(const void *a, const void *b)
{
	const struct tail_ent *x = a, *y = b;
	if (x->idh != y->idh)
		return x->idh < y->idh ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Empties slot i, shifting back the entries after it that would otherwise
 * no longer be found (backward-shift deletion for linear probing). Only
 * slots of i's cluster from i onwards change. */
static void tail_remove_at(store_engine *e, size_t i)
{
	size_t mask = e->tail_cap - 1, j = i;

	for (;;) {
		j = (j + 1) & mask;
		if (!e->tail[j].seq)
			break;
		size_t home = (size_t)e->tail[j].idh & mask;
		/* The entry at j stays unless its home lies outside (i, j]. */
		bool stays = i <= j ? home > i && home <= j : home > i || home <= j;
		if (!stays) {
			e->tail[i] = e->tail[j];
			i = j;
		}
	}
	e->tail[i].idh = 0;
	e->tail[i].seq = 0;
	e->tail_n--;
}

/* Drops the entries with seq <= low[their slice], in place (a prune runs
 * at every slice merge; a new table each time would leave the allocator
 * holding several); tail_low becomes low. The walk starts after an empty
 * slot (the table is at most half full), so it meets each cluster from its
 * first slot, and a removal only moves entries back to the slot being
 * looked at, which is then looked at again. */
static void tail_prune(store_engine *e, const int64_t low[STORE_IX_SLICES])
{
	size_t mask = e->tail_cap - 1, empty = 0;

	memcpy(e->tail_low, low, sizeof e->tail_low);
	if (!e->tail_cap)
		return;
	while (e->tail[empty].seq)
		empty++;
	for (size_t k = 1; k <= e->tail_cap; k++) {
		size_t i = (empty + k) & mask;
		while (e->tail[i].seq &&
		       e->tail[i].seq <= low[STORE_IX_SLICE(e->tail[i].idh)])
			tail_remove_at(e, i);
	}
}

/* The id index's marks in c's snapshot; a slice without a row has mark 0
 * (nothing indexed: lookups then rely on the tail, which is safe). */
static rk_err read_marks(sq_conn *c, int64_t marks[STORE_IX_SLICES], rk_errctx *ctx)
{
	sqlite3_stmt *s = sq_prepare(c, "SELECT slice, mark FROM objects_ix_marks", ctx);
	int rc;

	if (!s)
		return RK_EDB;
	memset(marks, 0, STORE_IX_SLICES * sizeof *marks);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t k = sqlite3_column_int64(s, 0);
		if (k >= 0 && k < STORE_IX_SLICES)
			marks[k] = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return sq_err(c->db, rc, ctx, "reading the id index marks");
	return RK_OK;
}

/* Under tmu: adds to the tail the rows of s ("SELECT seq, idh FROM objects
 * WHERE seq > ?1") above tail_seen, rows committed since the tail last
 * looked (by another process, or not yet counted), and moves tail_seen. */
static rk_err tail_catch_up(store_engine *e, sq_conn *c, sqlite3_stmt *s, rk_errctx *ctx)
{
	rk_err err = RK_OK;
	int rc;

	sqlite3_bind_int64(s, 1, e->tail_seen);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(s, 0);
		if (!tail_add(e, sqlite3_column_int64(s, 1), seq)) {
			err = rk_fail(ctx, RK_ENOMEM, NULL, "store: out of memory");
			break;
		}
		if (seq > e->tail_seen)
			e->tail_seen = seq;
		/* another process's rows: classes and counts may have moved */
		atomic_fetch_add(&e->aud_epoch, 1);
	}
	sqlite3_reset(s);
	if (!err && rc != SQLITE_DONE)
		err = sq_err(c->db, rc, ctx, "reading the id index tail");
	return err;
}

/*
 * In c's open transaction: appends to *seqs the tail seqs of the n idhs
 * (rows the id index may not hold in this snapshot). First catches up with
 * rows committed by other processes. *stale: the snapshot predates the
 * tail (two merges ago); the caller starts a new transaction and retries.
 */
static rk_err tail_seqs(store_engine *e, sq_conn *c, const int64_t *idhs,
			size_t n, int64_t **seqs, size_t *nseqs, bool *stale,
			rk_errctx *ctx)
{
	sqlite3_stmt *s;
	int64_t mark[STORE_IX_SLICES];
	rk_err err = RK_OK;

	*stale = false;
	*nseqs = 0;
	if (c == e->w) {
		/* The leader caught up and read the marks when its group began
		 * (group_begin); a merge by another process since then cannot
		 * have happened (the leader holds the write lock). */
		pthread_mutex_lock(&e->tmu);
		memcpy(mark, e->ix_mark, sizeof mark);
		goto collect;
	}
	if ((err = read_marks(c, mark, ctx)))
		return err;
	pthread_mutex_lock(&e->tmu);
	for (size_t k = 0; k < n; k++) {
		unsigned sl = STORE_IX_SLICE(idhs[k]);
		if (e->tail_low[sl] > mark[sl]) {
			*stale = true;
			goto out;
		}
	}
	s = sq_prepare(c, "SELECT seq, idh FROM objects WHERE seq > ?1", ctx);
	if (!s) {
		err = RK_EDB;
		goto out;
	}
	/* From tail_seen, not from this snapshot's mark: a reader with an
	 * older snapshot may need rows another process has merged since. */
	err = tail_catch_up(e, c, s, ctx);
	if (err)
		goto out;
collect:
	if (!e->tail_cap)
		goto out;
	for (size_t k = 0; k < n; k++) {
		size_t j = (size_t)idhs[k] & (e->tail_cap - 1);
		for (; e->tail[j].seq; j = (j + 1) & (e->tail_cap - 1)) {
			if (e->tail[j].idh != idhs[k] ||
			    e->tail[j].seq <= mark[STORE_IX_SLICE(idhs[k])])
				continue;
			int64_t *t = realloc(*seqs, (*nseqs + 1) * sizeof **seqs);
			if (!t) {
				err = rk_fail(ctx, RK_ENOMEM, NULL, "store: out of memory");
				goto out;
			}
			*seqs = t;
			(*seqs)[(*nseqs)++] = e->tail[j].seq;
		}
	}
out:
	pthread_mutex_unlock(&e->tmu);
	return err;
}

/* Parameters for n tail seqs: a power of two, at least 1, so that few
 * statement texts exist. */
static size_t tail_slots(size_t n)
{
	size_t k = 1;
	while (k < n)
		k *= 2;
	return k;
}

/* "(seq IN (SELECT seq FROM objects_ix WHERE idh <cmp>) OR seq IN (?b..))":
 * the rows whose id may be one of those hashed, from the index and from
 * the tail; the caller compares the id itself. */
static void sql_idh(rk_buf *b, const char *cmp, int base, size_t slots)
{
	rk_buf_printf(b, "(seq IN (SELECT seq FROM objects_ix WHERE idh %s)"
			 " OR seq IN (", cmp);
	for (size_t i = 0; i < slots; i++)
		rk_buf_printf(b, "%s?%d", i ? ", " : "", base + (int)i);
	rk_buf_puts(b, "))");
}

static void bind_tail(sqlite3_stmt *s, int base, const int64_t *seqs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sqlite3_bind_int64(s, base + (int)i, seqs[i]);
}

static rk_err pool_get(store_engine *e, sq_conn **out, rk_errctx *ctx)
{
	pthread_mutex_lock(&e->pmu);
	sq_conn *c = e->idle;
	if (c) {
		e->idle = c->next;
		e->n_idle--;
	}
	pthread_mutex_unlock(&e->pmu);
	if (c) {
		c->next = NULL;
		*out = c;
		return RK_OK;
	}
	return sq_conn_open(e->dbpath, false, out, ctx);
}

static void pool_put(store_engine *e, sq_conn *c)
{
	if (!c)
		return;
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_lock(&e->pmu);
	if (e->n_idle < SQ_MAX_IDLE_READERS) {
		c->next = e->idle;
		e->idle = c;
		e->n_idle++;
		c = NULL;
	}
	pthread_mutex_unlock(&e->pmu);
	sq_conn_close(c);
}

/*
 * Checkpoints. SQLite's automatic checkpoint would run inside the COMMIT
 * of whichever request leads the group, holding up every queued write
 * while it copies the WAL into the database and fsyncs it. Instead the
 * writer's WAL hook (called after each commit with the WAL's size) wakes
 * a thread that runs PASSIVE checkpoints on its own connection: they copy
 * what is committed without blocking the writer or readers, and once one
 * has copied everything, the writer's next transaction starts the WAL
 * from the beginning again. Should the WAL still reach
 * SQ_WAL_CHECKPOINT_HARD frames (the thread falling behind a writer that
 * never pauses), the writer checkpoints in its hook, as SQLite would.
 * A larger WAL also lets a checkpoint write a page changed by many commits
 * once: with a random-keyed index that is most of what it writes.
 */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	store_engine *e = arg;

	if (frames >= SQ_WAL_CHECKPOINT_HARD) {
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL,
					  NULL);
	} else if (frames >= SQ_WAL_CHECKPOINT) {
		pthread_mutex_lock(&e->ckmu);
		e->ck_wanted = true;
		pthread_cond_signal(&e->ckcv);
		pthread_mutex_unlock(&e->ckmu);
	}
	return SQLITE_OK;
}

static void *ck_main(void *arg)
{
	store_engine *e = arg;

	pthread_mutex_lock(&e->ckmu);
	for (;;) {
		while (!e->ck_wanted && !e->ck_stop)
			pthread_cond_wait(&e->ckcv, &e->ckmu);
		if (e->ck_stop)
			break;
		e->ck_wanted = false;
		pthread_mutex_unlock(&e->ckmu);
		/* Catch up with what was committed meanwhile, a few rounds at
		 * most; errors (SQLITE_BUSY from another process's checkpoint)
		 * only mean "later". */
		for (int round = 0; round < 4; round++) {
			int log = 0, done = 0;
			rk_time t0 = rk_time_now();
			int rc = sqlite3_wal_checkpoint_v2(e->ck->db, NULL,
							   SQLITE_CHECKPOINT_PASSIVE,
							   &log, &done);
			rk_logf(RK_LOG_DEBUG, "store.checkpoint",
				"%d of %d WAL frames copied in %.1f ms", done, log,
				(double)(rk_time_now() - t0) / 1000.0);
			if (rc != SQLITE_OK || done >= log)
				break;
		}
		pthread_mutex_lock(&e->ckmu);
	}
	pthread_mutex_unlock(&e->ckmu);
	return NULL;
}

/* mkdir -p with mode 0700 for the components it creates. */
static rk_err make_dir(const char *path, rk_errctx *ctx)
{
	char *p = strdup(path);
	rk_err err = RK_OK;
	struct stat sb;

	if (!p)
		return rk_fail(ctx, RK_ENOMEM, NULL, "store: out of memory");
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char save = *s;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			err = rk_fail(ctx, RK_EIO, NULL,
				      "store: cannot create directory %s: %s", p,
				      strerror(errno));
			goto out;
		}
		*s = save;
		if (!save)
			break;
	}
	if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
		err = rk_fail(ctx, RK_EIO, NULL, "store: %s is not a directory",
			      path);
out:
	free(p);
	return err;
}

static void sq_close(store_engine *e)
{
	if (!e)
		return;
	if (e->ck_started) {
		pthread_mutex_lock(&e->ckmu);
		e->ck_stop = true;
		pthread_cond_signal(&e->ckcv);
		pthread_mutex_unlock(&e->ckmu);
		pthread_join(e->ck_thread, NULL);
	}
	sq_conn_close(e->ck);
	sq_conn_close(e->w);
	if (e->walfd >= 0)
		close(e->walfd);
	while (e->idle) {
		sq_conn *c = e->idle;
		e->idle = c->next;
		sq_conn_close(c);
	}
	pthread_mutex_destroy(&e->qmu);
	pthread_cond_destroy(&e->qcv);
	pthread_mutex_destroy(&e->pmu);
	pthread_mutex_destroy(&e->ckmu);
	pthread_cond_destroy(&e->ckcv);
	pthread_mutex_destroy(&e->tmu);
	pthread_mutex_destroy(&e->amu);
	for (size_t i = 0; i < e->amap_cap; i++)
		free(e->amap[i].key);
	free(e->amap);
	free(e->aud_keys);
	free(e->tail);
	store_known_free(e->known);
	free(e->wtail);
	free(e->dbpath);
	free(e);
}

static rk_err group_begin(store_engine *e, rk_errctx *ctx);

static bool amap_add(store_engine *e, int64_t aud, const char *key);

/* Adds to the filter of known ids the idh of every row of `sql`. */
static rk_err known_fill(store_engine *e, const char *sql, bool hash_text,
			 rk_errctx *ctx)
{
	sqlite3_stmt *s = sq_prepare(e->w, sql, ctx);
	int rc;

	if (!s)
		return RK_EDB;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t idh = sqlite3_column_int64(s, 0);
		if (hash_text)
			idh = store_idh((const char *)sqlite3_column_text(s, 0),
					(size_t)sqlite3_column_bytes(s, 0));
		store_known_add(e->known, idh);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return sq_err(e->w->db, rc, ctx, "reading the id index");
	return RK_OK;
}

/* At open, in one snapshot: the marks, the tail (every row above the
 * smallest mark; group_begin reads them), and the filter of known ids
 * (the index, the tail, the owners of deleted ids). */
static rk_err tail_open(store_engine *e, rk_errctx *ctx)
{
	sqlite3_stmt *s;
	int64_t n = 0;
	rk_err err;
	int rc;

	if ((err = sq_exec(e->w, "BEGIN", ctx)))
		return err;
	if ((err = read_marks(e->w, e->ix_mark, ctx)))
		goto out;
	memcpy(e->tail_low, e->ix_mark, sizeof e->tail_low);
	e->tail_seen = e->ix_mark[0];
	for (unsigned i = 1; i < STORE_IX_SLICES; i++)
		if (e->ix_mark[i] < e->tail_seen)
			e->tail_seen = e->ix_mark[i];
	if (!(s = sq_prepare(e->w, "SELECT count(*) FROM objects_ix", ctx))) {
		err = RK_EDB;
		goto out;
	}
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW) {
		err = sq_err(e->w->db, rc, ctx, "counting the id index");
		goto out;
	}
	if (!(e->known = store_known_new((size_t)n + store_sqlite_ix_merge))) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "store: out of memory");
		goto out;
	}
	if ((err = known_fill(e, "SELECT idh FROM objects_ix", false, ctx)) ||
	    (err = known_fill(e, "SELECT id FROM owners", true, ctx)))
		goto out;
	if (!(s = sq_prepare(e->w, "SELECT aud, key FROM audiences", ctx))) {
		err = RK_EDB;
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (!amap_add(e, sqlite3_column_int64(s, 0),
			      (const char *)sqlite3_column_text(s, 1))) {
			err = rk_fail(ctx, RK_ENOMEM, NULL, "store: out of memory");
			break;
		}
	sqlite3_reset(s);
	if (!err && rc != SQLITE_DONE)
		err = sq_err(e->w->db, rc, ctx, "reading audience classes");
	if (err)
		goto out;
	err = group_begin(e, ctx);
out:
	sqlite3_exec(e->w->db, "COMMIT", NULL, NULL, NULL);
	return err;
}

static rk_err sq_open(const char *path, store_engine **out, int *found,
		      rk_errctx *ctx)
{
	store_engine *e = NULL;
	rk_err err = RK_OK;

	*out = NULL;
	if ((err = make_dir(path, ctx)))
		return err;
	e = calloc(1, sizeof *e);
	if (!e)
		return rk_fail(ctx, RK_ENOMEM, NULL, "store: out of memory");
	e->walfd = -1;
	pthread_mutex_init(&e->qmu, NULL);
	pthread_cond_init(&e->qcv, NULL);
	pthread_mutex_init(&e->pmu, NULL);
	pthread_mutex_init(&e->ckmu, NULL);
	pthread_cond_init(&e->ckcv, NULL);
	pthread_mutex_init(&e->tmu, NULL);
	pthread_mutex_init(&e->amu, NULL);
	size_t len = strlen(path);
	e->dbpath = malloc(len + sizeof "/renkei.db");
	if (!e->dbpath) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "store: out of memory");
		goto out;
	}
	memcpy(e->dbpath, path, len);
	memcpy(e->dbpath + len, "/renkei.db", sizeof "/renkei.db");
	if ((err = sq_conn_open(e->dbpath, true, &e->w, ctx)) ||
	    (err = store_schema_migrate(e->w->db, found, ctx)) ||
	    (err = tail_open(e, ctx)) ||
	    (err = sq_conn_open(e->dbpath, true, &e->ck, ctx)) ||
	    (err = sq_exec(e->ck, "PRAGMA cache_size = -256", ctx)))
		goto out;
	if (pthread_create(&e->ck_thread, NULL, ck_main, e) != 0) {
		err = rk_fail(ctx, RK_EIO, NULL,
			      "store: cannot start the checkpoint thread");
		goto out;
	}
	e->ck_started = true;
	sqlite3_wal_hook(e->w->db, wal_hook, e);
	/* The WAL exists now (the migration wrote through it) and stays while
	 * the store is open (journal_size_limit truncates, never deletes). */
	{
		char *wal = malloc(strlen(e->dbpath) + sizeof "-wal");
		if (wal) {
			strcpy(wal, e->dbpath);
			strcat(wal, "-wal");
			e->walfd = open(wal, O_RDWR | O_CLOEXEC);
			free(wal);
		}
		if (e->walfd >= 0 &&
		    sq_exec(e->w, "PRAGMA synchronous = NORMAL", ctx) != RK_OK) {
			close(e->walfd);
			e->walfd = -1;
			rk_errctx_clear(ctx);
		}
	}
	*out = e;
	e = NULL;
out:
	sq_close(e);
	return err;
}

static rk_err sq_check_integrity(store_engine *e, rk_errctx *ctx)
{
	sq_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	rk_err err;

	if ((err = pool_get(e, &c, ctx)))
		return err;
	int rc = sqlite3_prepare_v2(c->db, "PRAGMA integrity_check", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = sq_err(c->db, rc, ctx, "integrity check");
		goto out;
	}
	const char *res = (const char *)sqlite3_column_text(st, 0);
	if (!res || strcmp(res, "ok") != 0)
		err = rk_fail(ctx, RK_EDB, NULL, "store: integrity check: %s",
			      res ? res : "no result");
out:
	sqlite3_finalize(st);
	pool_put(e, c);
	return err;
}

/* ---------------------------------------------------------------- helpers */

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Collection key for `uuid`; *key = 0 when absent and !create. */
static rk_err coll_key(sq_conn *c, const char *uuid, bool create, int64_t *key,
		       rk_time *last_added, rk_errctx *ctx)
{
	sqlite3_stmt *s;
	int rc;

	*key = 0;
	if (last_added)
		*last_added = 0;
	s = sq_prepare(c, "SELECT coll, last_added FROM collections WHERE uuid = ?1",
		       ctx);
	if (!s)
		return RK_EDB;
	bind_text(s, 1, uuid);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*key = sqlite3_column_int64(s, 0);
		if (last_added)
			*last_added = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_err(c->db, rc, ctx, "looking up a collection");
	if (*key || !create)
		return RK_OK;
	s = sq_prepare(c, "INSERT INTO collections(uuid) VALUES(?1)", ctx);
	if (!s)
		return RK_EDB;
	bind_text(s, 1, uuid);
	rk_err stored = sq_step_done(c->db, s, ctx, "creating a collection");
	if (stored != RK_OK)
		return stored;
	*key = sqlite3_last_insert_rowid(c->db);
	return RK_OK;
}

/* ---------------------------------------------------------------- put */

static void reject(store_put_result *r, const char *msg)
{
	r->outcome = STORE_PUT_REJECTED;
	r->date_added = 0;
	snprintf(r->message, sizeof r->message, "%s", msg);
}

/* ---------------------------------------------------------------- audience classes */

/* Committed classes (under amu). The key table is open addressing by
 * sq_hash; aud_keys maps a class number back to its key. */
static int64_t amap_find(store_engine *e, const char *key)
{
	if (!e->amap_cap)
		return 0;
	for (size_t j = sq_hash(key) & (e->amap_cap - 1); e->amap[j].key;
	     j = (j + 1) & (e->amap_cap - 1))
		if (strcmp(e->amap[j].key, key) == 0)
			return e->amap[j].aud;
	return 0;
}

static bool amap_add(store_engine *e, int64_t aud, const char *key)
{
	if (aud <= 0 || amap_find(e, key))
		return true;
	if ((size_t)aud >= e->aud_keys_cap) {
		size_t cap = e->aud_keys_cap ? e->aud_keys_cap : 64;
		while (cap <= (size_t)aud)
			cap *= 2;
		char **k = realloc(e->aud_keys, cap * sizeof *k);
		if (!k)
			return false;
		memset(k + e->aud_keys_cap, 0, (cap - e->aud_keys_cap) * sizeof *k);
		e->aud_keys = k;
		e->aud_keys_cap = cap;
	}
	if ((e->amap_n + 1) * 2 > e->amap_cap) {
		size_t cap = e->amap_cap ? e->amap_cap * 2 : 64;
		struct amap_ent *t = calloc(cap, sizeof *t);
		if (!t)
			return false;
		for (size_t i = 0; i < e->amap_cap; i++) {
			if (!e->amap[i].key)
				continue;
			size_t j = sq_hash(e->amap[i].key) & (cap - 1);
			while (t[j].key)
				j = (j + 1) & (cap - 1);
			t[j] = e->amap[i];
		}
		free(e->amap);
		e->amap = t;
		e->amap_cap = cap;
	}
	char *k = strdup(key);
	if (!k)
		return false;
	size_t j = sq_hash(k) & (e->amap_cap - 1);
	while (e->amap[j].key)
		j = (j + 1) & (e->amap_cap - 1);
	e->amap[j].aud = aud;
	e->amap[j].key = k;
	e->amap_n++;
	e->aud_keys[aud] = k;
	return true;
}

static void new_auds_free(new_aud *n)
{
	while (n) {
		new_aud *next = n->next;
		free(n->key);
		free(n);
		n = next;
	}
}

/* The leader, in its transaction: the class of `key` (0 for none), adding
 * it if new. A class added here is remembered on the request and becomes
 * known to other threads only after its commit (run_group). */
static rk_err aud_resolve(store_engine *e, wreq *r, const char *key, int64_t *aud)
{
	sq_conn *c = e->w;
	sqlite3_stmt *s;
	int rc;

	*aud = 0;
	if (!key)
		return RK_OK;
	pthread_mutex_lock(&e->amu);
	*aud = amap_find(e, key);
	pthread_mutex_unlock(&e->amu);
	if (*aud)
		return RK_OK;
	for (new_aud *n = r->new_auds; n; n = n->next)
		if (strcmp(n->key, key) == 0) {
			*aud = n->aud;
			return RK_OK;
		}
	s = sq_fixed(c, SQ_FX_AUDINS, "INSERT OR IGNORE INTO audiences(key) VALUES(?1)",
		     r->ctx);
	if (!s)
		return RK_EDB;
	bind_text(s, 1, key);
	rk_err err = sq_step_done(c->db, s, r->ctx, "adding an audience class");
	if (err)
		return err;
	s = sq_fixed(c, SQ_FX_AUD, "SELECT aud FROM audiences WHERE key = ?1", r->ctx);
	if (!s)
		return RK_EDB;
	bind_text(s, 1, key);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*aud = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return sq_err(c->db, rc, r->ctx, "reading an audience class");
	new_aud *n = calloc(1, sizeof *n);
	if (!n || !(n->key = strdup(key))) {
		free(n);
		return rk_fail(r->ctx, RK_ENOMEM, NULL, "store: out of memory");
	}
	n->aud = *aud;
	n->next = r->new_auds;
	r->new_auds = n;
	return RK_OK;
}

/* Versions added (or removed, n < 0) per class within one write. */
typedef struct aud_tally {
	struct { int64_t aud, n; } *v;
	size_t len, cap;
} aud_tally;

static bool tally_add(aud_tally *t, int64_t aud, int64_t n)
{
	for (size_t i = 0; i < t->len; i++)
		if (t->v[i].aud == aud) {
			t->v[i].n += n;
			return true;
		}
	if (t->len == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4;
		void *v = realloc(t->v, cap * sizeof *t->v);
		if (!v)
			return false;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->len].aud = aud;
	t->v[t->len].n = n;
	t->len++;
	return true;
}

static rk_err tally_store(sq_conn *c, int64_t coll, const aud_tally *t, rk_errctx *ctx)
{
	for (size_t i = 0; i < t->len; i++) {
		if (!t->v[i].n)
			continue;
		sqlite3_stmt *s = sq_fixed(c, SQ_FX_AUDCOUNT,
					   "INSERT INTO aud_counts(coll, aud, n) VALUES(?1, ?2, ?3)"
					   " ON CONFLICT(coll, aud) DO UPDATE SET n = n + excluded.n",
					   ctx);
		if (!s)
			return RK_EDB;
		sqlite3_bind_int64(s, 1, coll);
		sqlite3_bind_int64(s, 2, t->v[i].aud);
		sqlite3_bind_int64(s, 3, t->v[i].n);
		rk_err err = sq_step_done(c->db, s, ctx, "counting audience classes");
		if (err)
			return err;
	}
	return RK_OK;
}

/* Runs one item; RK_OK with *added telling whether a row was inserted.
 *
 * One probe of the id index (objects_ix and the tail) finds every stored
 * version of the id in every collection (usually none: a new id, which the
 * filter of known ids, store_known.c, answers without the probe). It
 * answers, in this order: who owns the id (any version's owner; for an id
 * with no version left, the owners table), whether this exact version is
 * already in the collection, and the current first and last versions
 * there, which decide the new row's flags. */
static rk_err put_item(store_engine *e, wreq *r, int64_t coll,
		       const store_item *it, int64_t aud, store_put_result *res,
		       rk_time now, rk_time *last, bool *added)
{
	sq_conn *c = e->w;
	size_t ntail = 0;
	bool stale;
	rk_errctx *ctx = r->ctx;
	sqlite3_stmt *s;
	int64_t idh = store_idh(it->id, strlen(it->id));
	bool any = false, dup = false, owned_elsewhere = false, other_aud = false;
	int64_t n = 0, seq_min = 0, seq_max = 0;
	rk_time vmin = 0, vmax = 0, dup_added = 0;
	rk_err err;
	int rc;

	*added = false;
	/* An id the filter never saw has no stored version: no lookup. */
	pthread_mutex_lock(&e->tmu);
	bool known = store_known_may_have(e->known, idh);
	pthread_mutex_unlock(&e->tmu);
	if (!known)
		goto owners;
	if ((err = tail_seqs(e, c, &idh, 1, &e->wtail, &ntail, &stale, ctx)))
		return err;
	{
		size_t slots = tail_slots(ntail);
		int k = 0;
		while (((size_t)1 << k) < slots)
			k++;
		s = k < SQ_FX_LOOKUP_END - SQ_FX_LOOKUP ? c->fixed[SQ_FX_LOOKUP + k]
						       : NULL;
		if (s) {
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
		} else {
			rk_buf b;
			rk_buf_init(&b);
			rk_buf_puts(&b, "SELECT coll, version_time, date_added,"
					" owner, seq, aud FROM objects NOT INDEXED"
					" WHERE ");
			sql_idh(&b, "= ?1", 3, slots);
			rk_buf_puts(&b, " AND id = ?2");
			if (b.data && !rk_buf_puts(&b, "")) {
				if (k < SQ_FX_LOOKUP_END - SQ_FX_LOOKUP)
					s = sq_fixed(c, SQ_FX_LOOKUP + k, b.data, ctx);
				else
					s = sq_prepare(c, b.data, ctx);
			}
			if (!s && !ctx->code)
				rk_fail(ctx, RK_ENOMEM, NULL, "store: out of memory");
			rk_buf_cleanup(&b);
		}
	}
	if (!s)
		return RK_EDB;
	sqlite3_bind_int64(s, 1, idh);
	bind_text(s, 2, it->id);
	bind_tail(s, 3, e->wtail, ntail);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (!any) {
			/* Every version of an id has its first writer as owner. */
			const char *o = (const char *)sqlite3_column_text(s, 3);
			any = true;
			if (!o || strcmp(o, r->owner) != 0) {
				owned_elsewhere = true;
				break;
			}
		}
		if (sqlite3_column_int64(s, 0) != coll)
			continue;
		/* Every version in a collection has one audience (class 0:
		 * stored before classes, not compared). Copies in other
		 * collections may differ: a collection's default marking is
		 * part of an unmarked object's audience. */
		int64_t row_aud = sqlite3_column_int64(s, 5);
		if (row_aud && aud && row_aud != aud)
			other_aud = true;
		rk_time vt = sqlite3_column_int64(s, 1);
		int64_t seq = sqlite3_column_int64(s, 4);
		if (it->version && vt == it->version_time) {
			dup = true;
			dup_added = sqlite3_column_int64(s, 2);
		}
		if (n == 0 || vt < vmin) {
			vmin = vt;
			seq_min = seq;
		}
		if (n == 0 || vt > vmax) {
			vmax = vt;
			seq_max = seq;
			if (!it->version)
				dup_added = sqlite3_column_int64(s, 2);
		}
		n++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_err(c->db, rc, ctx, "looking up an id");
owners:
	if (!any) {
		/* Every version deleted once: the first writer still owns it. */
		s = sq_fixed(c, SQ_FX_OWNER, "SELECT owner FROM owners WHERE id = ?1",
			     ctx);
		if (!s)
			return RK_EDB;
		bind_text(s, 1, it->id);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			const char *o = (const char *)sqlite3_column_text(s, 0);
			owned_elsewhere = !o || strcmp(o, r->owner) != 0;
		}
		sqlite3_reset(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return sq_err(c->db, rc, ctx, "looking up an owner");
	}
	if (owned_elsewhere) {
		reject(res, "owned by another organisation");
		return RK_OK;
	}
	if (other_aud) {
		reject(res, STORE_VERSION_KEEPS_MARKINGS);
		return RK_OK;
	}
	if (!it->version && n > 0) {
		/* No modified/created: identical JSON to the newest version is
		 * a resend, not a new version. */
		s = sq_fixed(c, SQ_FX_JSON, "SELECT json FROM objects WHERE seq = ?1",
			     ctx);
		if (!s)
			return RK_EDB;
		sqlite3_bind_int64(s, 1, seq_max);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			const void *j = sqlite3_column_blob(s, 0);
			size_t jl = (size_t)sqlite3_column_bytes(s, 0);
			dup = jl == it->json_len && j && memcmp(j, it->json, jl) == 0;
		}
		sqlite3_reset(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return sq_err(c->db, rc, ctx, "looking up a version");
	}
	if (dup) {
		res->outcome = STORE_PUT_DUPLICATE;
		res->date_added = dup_added;
		res->message[0] = '\0';
		return RK_OK;
	}

	rk_time da = now > *last ? now : *last + 1;
	rk_time vt = it->version ? it->version_time : da;
	char vbuf[RK_TIME_BUF];
	const char *vstr = it->version;
	if (!vstr) {
		rk_time_format(da, 6, vbuf);
		vstr = vbuf;
	}
	bool first = n == 0 || vt < vmin;
	bool lastv = n == 0 || vt > vmax;

	s = sq_fixed(c, SQ_FX_INSERT,
		       "INSERT INTO objects(coll, id, type, spec_version, version,"
		       " version_time, date_added, owner, is_first, is_last, json,"
		       " idh, aud, flags)"
		       " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		       " ?13, ?14)",
		       ctx);
	if (!s)
		return RK_EDB;
	sqlite3_bind_int64(s, 1, coll);
	bind_text(s, 2, it->id);
	bind_text(s, 3, it->type);
	bind_text(s, 4, it->spec_version);
	bind_text(s, 5, vstr);
	sqlite3_bind_int64(s, 6, vt);
	sqlite3_bind_int64(s, 7, da);
	bind_text(s, 8, r->owner);
	sqlite3_bind_int(s, 9, first);
	sqlite3_bind_int(s, 10, lastv);
	sqlite3_bind_text(s, 11, it->json, (int)it->json_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 12, idh);
	sqlite3_bind_int64(s, 13, aud);
	sqlite3_bind_int(s, 14, (int)it->flags);
	rk_err stored = sq_step_done(c->db, s, ctx, "storing an object");
	if (stored != RK_OK)
		return stored;
	int64_t seq = sqlite3_last_insert_rowid(c->db);
	if (seq > e->g_max)
		e->g_max = seq;
	pthread_mutex_lock(&e->tmu);
	bool ok = tail_add(e, idh, seq);
	pthread_mutex_unlock(&e->tmu);
	if (!ok)
		return rk_fail(ctx, RK_ENOMEM, NULL, "store: out of memory");

	if (n > 0 && (first || lastv)) {
		s = sq_fixed(c, first ? SQ_FX_UNFIRST : SQ_FX_UNLAST,
			       first ? "UPDATE objects SET is_first = 0 WHERE seq = ?1"
				     : "UPDATE objects SET is_last = 0 WHERE seq = ?1",
			       ctx);
		if (!s)
			return RK_EDB;
		sqlite3_bind_int64(s, 1, first ? seq_min : seq_max);
		rk_err flagged = sq_step_done(c->db, s, ctx, "updating version flags");
		if (flagged != RK_OK)
			return flagged;
	}
	res->outcome = STORE_PUT_ADDED;
	res->date_added = da;
	res->message[0] = '\0';
	*last = da;
	*added = true;
	return RK_OK;
}

static rk_err status_insert(store_engine *e, const char *api_root,
			    const char *status_id, const char *doc,
			    rk_errctx *ctx);

static rk_err run_put_items(store_engine *e, wreq *r)
{
	sq_conn *c = e->w;
	int64_t coll;
	rk_time last, now = rk_time_now();
	int64_t added = 0;
	rk_err err;

	aud_tally tally = {0};

	if ((err = coll_key(c, r->coll, true, &coll, &last, r->ctx)))
		return err;
	for (size_t i = 0; i < r->n; i++) {
		bool a;
		int64_t aud = 0;
		if (r->items[i].rejected)
			continue;
		if ((err = aud_resolve(e, r, r->items[i].audience, &aud)) ||
		    (err = put_item(e, r, coll, &r->items[i], aud, &r->results[i], now,
				    &last, &a)))
			break;
		added += a;
		if (a && !tally_add(&tally, aud, 1)) {
			err = rk_fail(r->ctx, RK_ENOMEM, NULL, "store: out of memory");
			break;
		}
	}
	if (!err && added) {
		err = tally_store(c, coll, &tally, r->ctx);
		r->counted = true;
	}
	free(tally.v);
	if (err || !added)
		return err;
	sqlite3_stmt *s = sq_fixed(c, SQ_FX_COLL,
				     "UPDATE collections SET last_added = ?2,"
				     " n_versions = n_versions + ?3 WHERE coll = ?1",
				     r->ctx);
	if (!s)
		return RK_EDB;
	sqlite3_bind_int64(s, 1, coll);
	sqlite3_bind_int64(s, 2, last);
	sqlite3_bind_int64(s, 3, added);
	return sq_step_done(c->db, s, r->ctx, "updating a collection");
}

/* The items, then (store_put_with_status) the status made from their
 * results, in the request's savepoint: both or neither are committed. */
static rk_err run_put(store_engine *e, wreq *r)
{
	const store_status_req *st = r->put_status;
	char *doc = NULL;
	rk_err err;

	if (r->n && (err = run_put_items(e, r)))
		return err;
	if (!st)
		return RK_OK;
	if ((err = st->make(st->arg, r->results, r->n, &doc, r->ctx))) {
		if (!r->ctx->code)
			rk_fail(r->ctx, err, NULL, "store: the status could not be made");
		free(doc);
		return err;
	}
	if (!doc)
		return rk_fail(r->ctx, RK_ENOMEM, NULL,
			       "store: the status could not be made");
	err = status_insert(e, st->api_root, st->status_id, doc, r->ctx);
	free(doc);
	return err;
}

/* ---------------------------------------------------------------- SQL building */

/* " AND col IN (?b, ?b+1, ...)" (or "= ?b" for one value). */
static void sql_in(rk_buf *b, const char *col, int base, size_t n)
{
	if (n == 1) {
		rk_buf_printf(b, " AND %s = ?%d", col, base);
		return;
	}
	rk_buf_printf(b, " AND %s IN (", col);
	for (size_t i = 0; i < n; i++)
		rk_buf_printf(b, "%s?%d", i ? ", " : "", base + (int)i);
	rk_buf_puts(b, ")");
}

static bool version_any(const store_version_match *v)
{
	return !v || v->all || (!v->first && !v->last && v->n_at == 0);
}

/* " AND (is_first = 1 OR is_last = 1 OR version_time IN (...))" for the
 * version terms present; nothing when every version matches. */
static void sql_version(rk_buf *b, const store_version_match *v, int at_base)
{
	const char *sep = "";

	if (version_any(v))
		return;
	rk_buf_puts(b, " AND (");
	if (v->first) {
		rk_buf_puts(b, "is_first = 1");
		sep = " OR ";
	}
	if (v->last) {
		rk_buf_printf(b, "%sis_last = 1", sep);
		sep = " OR ";
	}
	if (v->n_at) {
		rk_buf_printf(b, "%sversion_time IN (", sep);
		for (size_t i = 0; i < v->n_at; i++)
			rk_buf_printf(b, "%s?%d", i ? ", " : "", at_base + (int)i);
		rk_buf_puts(b, ")");
	}
	rk_buf_puts(b, ")");
}

/* Parameter numbers: ?1 coll, ?2 seq lower bound, ?3 date_added lower
 * bound (objects_added arm only), then the lists. */
typedef struct qparams {
	int ids, idhs, types, specs, at, tail, auds;
	size_t slots;          /* in: tail parameters (match[id] only) */
	const int64_t *seqs;   /* in: the tail seqs to bind */
	size_t nseqs;
	size_t aud_slots;      /* in: audience parameters (restrict_auds) */
	bool sparse;           /* in: drive by objects_aud, one arm per class */
} qparams;

/* Reader classes beyond which a query never drives by objects_aud (one
 * arm each). */
#define SQ_MAX_AUD_ARMS 64

/* Parameters for n classes: a power of two, at least 1, so that few
 * statement texts exist; the spare ones are bound to -1, no class. */
static size_t aud_slots(size_t n)
{
	size_t k = 1;
	while (k < n)
		k *= 2;
	return k;
}

/* Whether q can be driven by its classes: match[id] and exact versions
 * alone have narrower indices of their own. */
static bool sparse_possible(const store_query *q)
{
	const store_version_match *v = &q->version;
	return q->restrict_auds && q->n_auds && q->n_auds <= SQ_MAX_AUD_ARMS && !q->n_ids &&
	       !(!version_any(v) && v->n_at && !v->first && !v->last);
}

/* The columns every query reads, in the order sq_query takes them. */
#define SQ_ROW_COLUMNS \
	"seq, date_added, id, type, spec_version, version, version_time, owner," \
	" aud, flags"
#define SQ_COL_JSON 10

static void sql_arm_head(rk_buf *b, bool with_json, const char *index)
{
	rk_buf_printf(b,
		      "SELECT " SQ_ROW_COLUMNS "%s FROM objects INDEXED BY %s"
		      " WHERE coll = ?1 AND seq > ?2",
		      with_json ? ", json" : "", index);
}

/* The reader's audience classes as a residual term. */
static void sql_auds(rk_buf *b, const store_query *q, const qparams *p)
{
	if (q->restrict_auds && !p->sparse)
		sql_in(b, "aud", p->auds, p->aud_slots);
}

/* One arm per audience class the reader may read (objects_aud), merged on
 * seq: a reader of a small part of a collection reads only that part. */
static void sql_sparse(rk_buf *b, const store_query *q, const qparams *p)
{
	for (size_t i = 0; i < p->aud_slots; i++) {
		if (i)
			rk_buf_puts(b, " UNION ALL ");
		sql_arm_head(b, q->with_json, "objects_aud");
		rk_buf_printf(b, " AND aud = ?%d", p->auds + (int)i);
		if (q->n_types)
			sql_in(b, "type", p->types, q->n_types);
		sql_version(b, &q->version, p->at);
		if (q->n_spec_versions)
			sql_in(b, "spec_version", p->specs, q->n_spec_versions);
	}
	rk_buf_puts(b, " ORDER BY seq");
}

/*
 * Builds the query for q. The driving index is chosen so the rows come
 * out of an index range (or a few ranges merged by seq), never a table
 * scan:
 *   match[id]               rowids from objects_ix (idh IN (...)) and
 *                           the tail, then id IN (...)
 *                           [and version_time IN]
 *   match[version]=<ts> only objects_vtime, version_time IN (...)
 *   match[type]             objects_type, one arm per type, UNION ALL
 *                           merged on seq (each arm is already ordered)
 *   version first/last/ts   objects_ends (is_first / is_last as a residual
 *                           term) / objects_vtime
 *                           arms, UNION (a one-version object is both
 *                           first and last: UNION removes the repeat)
 *   otherwise               objects_added, date_added > ?3 (the seq
 *                           bound as a date_added, see added_bound) and
 *                           ordered by date_added, which is seq order
 * The other filters are residual terms on the driving range.
 */
static rk_err sql_build(const store_query *q, rk_buf *b, qparams *p)
{
	const store_version_match *v = &q->version;
	bool any = version_any(v);
	int next = 4;
	/* Reserve an upper bound first: then no append below can fail, and
	 * the text is complete or the function says RK_ENOMEM. Per arm: the
	 * head and terms (< 512 bytes) plus at most 12 bytes per parameter. */
	size_t nparams = 2 * q->n_ids + q->n_types + q->n_spec_versions + v->n_at +
			 p->slots + p->aud_slots;
	size_t bound = (q->n_types + 4 + p->aud_slots) * (512 + 12 * nparams) + 64;

	if (rk_buf_reserve(b, bound) != RK_OK)
		return RK_ENOMEM;

	p->ids = next;
	next += (int)q->n_ids;
	p->idhs = next;
	next += (int)q->n_ids;
	p->types = next;
	next += (int)q->n_types;
	p->specs = next;
	next += (int)q->n_spec_versions;
	p->at = next;
	next += (int)v->n_at;
	p->tail = next;
	next += q->n_ids ? (int)p->slots : 0;
	p->auds = next;

	if (p->sparse) {
		sql_sparse(b, q, p);
		return b->len < bound ? RK_OK : RK_ENOMEM;
	}

	if (q->n_ids) {
		rk_buf_printf(b,
			      "SELECT " SQ_ROW_COLUMNS "%s FROM objects NOT INDEXED"
			      " WHERE coll = ?1 AND +seq > ?2",
			      q->with_json ? ", json" : "");
		rk_buf_puts(b, " AND (seq IN (SELECT seq FROM objects_ix WHERE 1");
		sql_in(b, "idh", p->idhs, q->n_ids);
		rk_buf_puts(b, ") OR seq IN (");
		for (size_t i = 0; i < p->slots; i++)
			rk_buf_printf(b, "%s?%d", i ? ", " : "", p->tail + (int)i);
		rk_buf_puts(b, "))");
		sql_in(b, "id", p->ids, q->n_ids);
		if (!any && !v->first && !v->last)
			sql_in(b, "version_time", p->at, v->n_at);
		else
			sql_version(b, v, p->at);
		if (q->n_types)
			sql_in(b, "type", p->types, q->n_types);
		if (q->n_spec_versions)
			sql_in(b, "spec_version", p->specs, q->n_spec_versions);
		sql_auds(b, q, p);
	} else if (!any && v->n_at && !v->first && !v->last) {
		sql_arm_head(b, q->with_json, "objects_vtime");
		sql_in(b, "version_time", p->at, v->n_at);
		if (q->n_types)
			sql_in(b, "type", p->types, q->n_types);
		if (q->n_spec_versions)
			sql_in(b, "spec_version", p->specs, q->n_spec_versions);
		sql_auds(b, q, p);
	} else if (q->n_types) {
		for (size_t i = 0; i < q->n_types; i++) {
			if (i)
				rk_buf_puts(b, " UNION ALL ");
			sql_arm_head(b, q->with_json, "objects_type");
			rk_buf_printf(b, " AND type = ?%d", p->types + (int)i);
			sql_version(b, v, p->at);
			if (q->n_spec_versions)
				sql_in(b, "spec_version", p->specs,
				       q->n_spec_versions);
			sql_auds(b, q, p);
		}
	} else if (any) {
		/* Within a collection date_added order is seq order; the
		 * caller turns the seq bound into ?3 (sq_query). */
		sql_arm_head(b, q->with_json, "objects_added");
		rk_buf_puts(b, " AND date_added > ?3");
		if (q->n_spec_versions)
			sql_in(b, "spec_version", p->specs, q->n_spec_versions);
		sql_auds(b, q, p);
		rk_buf_puts(b, " ORDER BY date_added");
		return b->len < bound ? RK_OK : RK_ENOMEM;
	} else {
		int arms = 0;
		for (int k = 0; k < 2; k++) {
			if ((k == 0 && !v->first && !v->last) || (k == 1 && !v->n_at))
				continue;
			if (arms++)
				rk_buf_puts(b, " UNION ");
			if (k == 0) {
				/* first and last share objects_ends: a version that is
				 * both (most are) has one entry */
				sql_arm_head(b, q->with_json, "objects_ends");
				rk_buf_puts(b, v->first && v->last ? " AND (is_first = 1 OR is_last = 1)"
						: v->first	    ? " AND is_first = 1"
								    : " AND is_last = 1");
			} else {
				sql_arm_head(b, q->with_json, "objects_vtime");
				sql_in(b, "version_time", p->at, v->n_at);
			}
			if (q->n_spec_versions)
				sql_in(b, "spec_version", p->specs,
				       q->n_spec_versions);
			sql_auds(b, q, p);
		}
	}
	rk_buf_puts(b, " ORDER BY seq");
	return b->len < bound ? RK_OK : RK_ENOMEM;
}

/* Whether sql_build drives q by objects_added. */
static bool added_arm(const store_query *q, const qparams *p)
{
	return !p->sparse && !q->n_ids && !q->n_types && version_any(&q->version);
}

static void sql_bind_query(sqlite3_stmt *s, const store_query *q,
			   const qparams *p, int64_t coll, int64_t lo,
			   rk_time da_lo)
{
	sqlite3_bind_int64(s, 1, coll);
	sqlite3_bind_int64(s, 2, lo);
	if (added_arm(q, p))
		sqlite3_bind_int64(s, 3, da_lo);
	for (size_t i = 0; i < p->aud_slots; i++)
		sqlite3_bind_int64(s, p->auds + (int)i, i < q->n_auds ? q->auds[i] : -1);
	for (size_t i = 0; i < q->n_ids; i++) {
		bind_text(s, p->ids + (int)i, q->ids[i]);
		sqlite3_bind_int64(s, p->idhs + (int)i,
				   store_idh(q->ids[i], strlen(q->ids[i])));
	}
	for (size_t i = 0; i < q->n_types; i++)
		bind_text(s, p->types + (int)i, q->types[i]);
	for (size_t i = 0; i < q->n_spec_versions; i++)
		bind_text(s, p->specs + (int)i, q->spec_versions[i]);
	for (size_t i = 0; i < q->version.n_at; i++)
		sqlite3_bind_int64(s, p->at + (int)i, q->version.at[i]);
	if (q->n_ids)
		bind_tail(s, p->tail, p->seqs, p->nseqs);
}

rk_err store_sqlite_query_sql(const store_query *q, bool sparse, char **sql_out)
{
	rk_buf b;
	qparams p = {.slots = 1, .aud_slots = q->restrict_auds ? aud_slots(q->n_auds) : 0,
		     .sparse = sparse && sparse_possible(q)};

	rk_buf_init(&b);
	*sql_out = NULL;
	if (sql_build(q, &b, &p) != RK_OK) {
		rk_buf_cleanup(&b);
		return RK_ENOMEM;
	}
	*sql_out = rk_buf_take(&b);
	return RK_OK;
}

/* ---------------------------------------------------------------- query */

/* The seq of the first row of `coll` with date_added >= t, or INT64_MAX. */
static rk_err first_at(sq_conn *c, int64_t coll, rk_time t, int64_t *seq,
		       rk_time *da, rk_errctx *ctx)
{
	sqlite3_stmt *s = sq_prepare(c,
				     "SELECT seq, date_added FROM objects"
				     " INDEXED BY objects_added WHERE coll = ?1"
				     " AND date_added >= ?2 ORDER BY date_added"
				     " LIMIT 1",
				     ctx);
	if (!s)
		return RK_EDB;
	sqlite3_bind_int64(s, 1, coll);
	sqlite3_bind_int64(s, 2, t);
	int rc = sqlite3_step(s);
	*seq = INT64_MAX;
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(s, 0);
		*da = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_err(c->db, rc, ctx, "paging");
	return RK_OK;
}

/*
 * The paging bound "seq > lo" as a date_added bound for objects_added:
 * rows of `coll` with seq > lo are exactly those with date_added > *da_lo
 * (both grow together within a collection). Usually row lo is the last
 * row of the previous page: one rowid lookup. If it was deleted since (or
 * the cursor is not of this collection), a binary search over date_added,
 * each step one seek in objects_added, finds the first row with seq > lo.
 */
static rk_err added_bound(sq_conn *c, int64_t coll, int64_t lo, rk_time *da_lo,
			  rk_errctx *ctx)
{
	sqlite3_stmt *s = sq_prepare(c,
				     "SELECT coll, date_added FROM objects"
				     " WHERE seq = ?1",
				     ctx);
	if (!s)
		return RK_EDB;
	sqlite3_bind_int64(s, 1, lo);
	int rc = sqlite3_step(s);
	bool hit = rc == SQLITE_ROW && sqlite3_column_int64(s, 0) == coll;
	if (hit)
		*da_lo = sqlite3_column_int64(s, 1);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_err(c->db, rc, ctx, "paging");
	if (hit)
		return RK_OK;
	/* f(t) = seq of the first row with date_added >= t grows with t;
	 * find the smallest t with f(t) > lo. */
	rk_time t_lo = 0, t_hi = INT64_MAX, da = 0;
	int64_t seq;
	rk_err err;
	if ((err = first_at(c, coll, INT64_MIN, &seq, &da, ctx)))
		return err;
	if (seq > lo) {
		*da_lo = seq == INT64_MAX ? INT64_MAX : da - 1;
		return RK_OK;
	}
	t_lo = da; /* date_added is never negative: no overflow below */
	while (t_hi - t_lo > 1) {
		rk_time mid = t_lo + (t_hi - t_lo) / 2;
		if ((err = first_at(c, coll, mid, &seq, &da, ctx)))
			return err;
		if (seq > lo)
			t_hi = mid;
		else
			t_lo = da;
	}
	/* Every row with date_added <= t_lo has seq <= lo; the first with
	 * date_added >= t_hi has seq > lo, and none lies in between. */
	*da_lo = t_lo;
	return RK_OK;
}

/*
 * Whether the reader's classes are a small part of the collection (under a
 * quarter of its versions, by aud_counts): then the query drives by
 * objects_aud, one arm per class, and reads only rows the reader may
 * read; otherwise the usual index with the classes as a residual term
 * reads at most about four rows per row returned.
 */
static rk_err choose_sparse(sq_conn *c, const store_query *q, int64_t coll, bool *sparse,
			    rk_errctx *ctx)
{
	rk_buf b;
	sqlite3_stmt *s;
	size_t slots = aud_slots(q->n_auds);
	int rc;

	*sparse = false;
	rk_buf_init(&b);
	rk_buf_puts(&b, "SELECT (SELECT n_versions FROM collections WHERE coll = ?1),"
			" (SELECT coalesce(sum(n), 0) FROM aud_counts WHERE coll = ?1");
	sql_in(&b, "aud", 2, slots);
	rk_buf_puts(&b, ")");
	s = b.data && !rk_buf_puts(&b, "") ? sq_prepare(c, b.data, ctx) : NULL;
	rk_buf_cleanup(&b);
	if (!s)
		return ctx->code ? ctx->code : rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	sqlite3_bind_int64(s, 1, coll);
	for (size_t i = 0; i < slots; i++)
		sqlite3_bind_int64(s, 2 + (int)i, i < q->n_auds ? q->auds[i] : -1);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*sparse = sqlite3_column_int64(s, 1) * 4 < sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return sq_err(c->db, rc, ctx, "counting audience classes");
	return RK_OK;
}

static rk_err sq_query(store_engine *e, const store_query *q,
		       store_visible_fn visible, void *visible_arg,
		       store_emit_fn emit, void *emit_arg, store_page *page,
		       rk_errctx *ctx)
{
	sq_conn *c = NULL;
	sqlite3_stmt *s = NULL;
	rk_buf sql;
	qparams p;
	int64_t coll;
	int64_t lo = q->after_seq > (uint64_t)INT64_MAX ? INT64_MAX
							 : (int64_t)q->after_seq;
	rk_time da_lo = INT64_MIN;
	int64_t *idhs = NULL, *tseqs = NULL;
	size_t ntail = 0;
	rk_err err;
	int rc;

	rk_buf_init(&sql);
	memset(&p, 0, sizeof p);
	memset(page, 0, sizeof *page);
	if ((err = pool_get(e, &c, ctx)))
		goto out;
	/* One read transaction: the seq bound and the rows come from the same
	 * snapshot. */
	if ((err = sq_exec(c, "BEGIN", ctx)))
		goto out;
	if (q->n_ids) {
		if (!(idhs = malloc(q->n_ids * sizeof *idhs))) {
			err = rk_fail(ctx, RK_ENOMEM, NULL, "store query: out of memory");
			goto out;
		}
		for (size_t i = 0; i < q->n_ids; i++)
			idhs[i] = store_idh(q->ids[i], strlen(q->ids[i]));
		for (;;) {
			bool stale;
			if ((err = tail_seqs(e, c, idhs, q->n_ids, &tseqs, &ntail,
					     &stale, ctx)))
				goto out;
			if (!stale)
				break;
			/* Two merges since the snapshot began: a newer one. */
			if ((err = sq_exec(c, "COMMIT", ctx)) ||
			    (err = sq_exec(c, "BEGIN", ctx)))
				goto out;
		}
		p.slots = tail_slots(ntail);
		p.seqs = tseqs;
		p.nseqs = ntail;
	}
	if ((err = coll_key(c, q->collection_id, false, &coll, NULL, ctx)))
		goto out;
	if (!coll || (q->restrict_auds && !q->n_auds))
		goto out;
	if (q->restrict_auds) {
		p.aud_slots = aud_slots(q->n_auds);
		if (sparse_possible(q) && q->all_rows)
			p.sparse = q->aud_rows * 4 < q->all_rows;
		else if (sparse_possible(q) && (err = choose_sparse(c, q, coll, &p.sparse, ctx)))
			goto out;
	}
	if (added_arm(q, &p)) {
		if (lo > 0 && (err = added_bound(c, coll, lo, &da_lo, ctx)))
			goto out;
		if (q->has_added_after && q->added_after > da_lo)
			da_lo = q->added_after;
	} else if (q->has_added_after) {
		/* date_added and seq grow together within a collection. */
		s = sq_prepare(c,
			       "SELECT seq FROM objects INDEXED BY objects_added"
			       " WHERE coll = ?1 AND date_added > ?2"
			       " ORDER BY date_added LIMIT 1",
			       ctx);
		if (!s) {
			err = RK_EDB;
			goto out;
		}
		sqlite3_bind_int64(s, 1, coll);
		sqlite3_bind_int64(s, 2, q->added_after);
		rc = sqlite3_step(s);
		int64_t first = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
		sqlite3_reset(s);
		s = NULL;
		if (rc == SQLITE_DONE)
			goto out; /* nothing added after */
		if (rc != SQLITE_ROW) {
			err = sq_err(c->db, rc, ctx, "added_after");
			goto out;
		}
		if (first - 1 > lo)
			lo = first - 1;
	}
	if (sql_build(q, &sql, &p) != RK_OK) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "store query: out of memory");
		goto out;
	}
	if (!(s = sq_prepare(c, sql.data, ctx))) {
		err = RK_EDB;
		goto out;
	}
	sql_bind_query(s, q, &p, coll, lo, da_lo);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_row row = {
			.seq = (uint64_t)sqlite3_column_int64(s, 0),
			.date_added = sqlite3_column_int64(s, 1),
			.id = (const char *)sqlite3_column_text(s, 2),
			.type = (const char *)sqlite3_column_text(s, 3),
			.spec_version = (const char *)sqlite3_column_text(s, 4),
			.version = (const char *)sqlite3_column_text(s, 5),
			.version_time = sqlite3_column_int64(s, 6),
			.owner_org = (const char *)sqlite3_column_text(s, 7),
		};
		row.collection_id = q->collection_id;
		row.aud = sqlite3_column_int64(s, 8);
		row.flags = (unsigned)sqlite3_column_int(s, 9);
		if (q->with_json) {
			row.json = (const char *)sqlite3_column_text(s, SQ_COL_JSON);
			row.json_len = (size_t)sqlite3_column_bytes(s, SQ_COL_JSON);
		}
		if (!row.id || !row.type || !row.spec_version || !row.version ||
		    !row.owner_org || (q->with_json && !row.json)) {
			err = rk_fail(ctx, RK_ENOMEM, NULL,
				      "store query: out of memory reading a row");
			goto out;
		}
		if (visible && !visible(visible_arg, &row))
			continue;
		if (page->count == q->limit) {
			page->more = true;
			break;
		}
		if (emit && (err = emit(emit_arg, &row)) != RK_OK)
			goto out;
		if (page->count == 0)
			page->first_added = row.date_added;
		page->count++;
		page->last_seq = row.seq;
		page->last_added = row.date_added;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		err = sq_err(c->db, rc, ctx, "reading objects");
		goto out;
	}
out:
	if (s)
		sqlite3_reset(s);
	if (c && !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	pool_put(e, c);
	rk_buf_cleanup(&sql);
	free(idhs);
	free(tseqs);
	return err;
}

/* ---------------------------------------------------------------- delete */

static rk_err run_delete(store_engine *e, wreq *r)
{
	sq_conn *c = e->w;
	rk_errctx *ctx = r->ctx;
	const store_version_match *v = r->version;
	sqlite3_stmt *s;
	rk_buf sql;
	int64_t coll;
	int64_t idh = store_idh(r->object_id, strlen(r->object_id));
	char *owner = NULL;
	int64_t aud = 0;
	rk_err err;
	int rc;

	rk_buf_init(&sql);
	*r->deleted = 0;
	if ((err = coll_key(c, r->coll, false, &coll, NULL, ctx)))
		goto out;
	if (!coll) {
		err = rk_fail(ctx, RK_ENOTFOUND, NULL, "no such object: %s",
			      r->object_id);
		goto out;
	}
	size_t ntail = 0;
	bool stale;
	if ((err = tail_seqs(e, c, &idh, 1, &e->wtail, &ntail, &stale, ctx)))
		goto out;
	size_t slots = tail_slots(ntail);
	/* The owner, kept in owners should this delete remove the last
	 * version of the id. */
	rk_buf_reset(&sql);
	rk_buf_puts(&sql, "SELECT owner, aud FROM objects NOT INDEXED WHERE ");
	sql_idh(&sql, "= ?1", 4, slots);
	rk_buf_puts(&sql, " AND id = ?2 LIMIT 1");
	s = sql.data ? sq_prepare(c, sql.data, ctx) : NULL;
	if (!s) {
		err = RK_EDB;
		goto out;
	}
	sqlite3_bind_int64(s, 1, idh);
	bind_text(s, 2, r->object_id);
	bind_tail(s, 4, e->wtail, ntail);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *o = (const char *)sqlite3_column_text(s, 0);
		aud = sqlite3_column_int64(s, 1); /* every version's */
		if (o && !(owner = strdup(o)))
			err = rk_fail(ctx, RK_ENOMEM, NULL, "store delete: out of memory");
	}
	sqlite3_reset(s);
	if (err)
		goto out;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		err = sq_err(c->db, rc, ctx, "looking up an owner");
		goto out;
	}
	/* ?1 coll, ?2 id, ?3 idh, ?4.. spec versions, then timestamps. */
	int at = 4 + (int)r->n_specs;
	int tb = at + (int)(version_any(v) ? 0 : v->n_at);
	size_t bound = 512 + 12 * (r->n_specs + (v ? v->n_at : 0) + slots);
	rk_buf_reset(&sql);
	if (rk_buf_reserve(&sql, bound) != RK_OK) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "store delete: out of memory");
		goto out;
	}
	rk_buf_puts(&sql, "DELETE FROM objects NOT INDEXED WHERE ");
	sql_idh(&sql, "= ?3", tb, slots);
	rk_buf_puts(&sql, " AND coll = ?1 AND id = ?2");
	sql_version(&sql, v, at);
	if (r->n_specs)
		sql_in(&sql, "spec_version", 4, r->n_specs);
	if (sql.len >= bound) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "store delete: out of memory");
		goto out;
	}
	if (!(s = sq_prepare(c, sql.data, ctx))) {
		err = RK_EDB;
		goto out;
	}
	sqlite3_bind_int64(s, 1, coll);
	bind_text(s, 2, r->object_id);
	sqlite3_bind_int64(s, 3, idh);
	for (size_t i = 0; i < r->n_specs; i++)
		bind_text(s, 4 + (int)i, r->specs[i]);
	if (!version_any(v))
		for (size_t i = 0; i < v->n_at; i++)
			sqlite3_bind_int64(s, at + (int)i, v->at[i]);
	bind_tail(s, tb, e->wtail, ntail);
	if ((err = sq_step_done(c->db, s, ctx, "deleting an object")) != RK_OK)
		goto out;
	int64_t n = sqlite3_changes64(c->db);
	if (n == 0) {
		err = rk_fail(ctx, RK_ENOTFOUND, NULL,
			      "no version of %s matches", r->object_id);
		goto out;
	}
	/* Re-establish one first and one last among what remains. */
	rk_buf_reset(&sql);
	rk_buf_puts(&sql, "UPDATE objects NOT INDEXED SET"
			  " is_first = (version_time = (SELECT min(version_time)"
			  "   FROM objects NOT INDEXED WHERE ");
	sql_idh(&sql, "= ?3", 4, slots);
	rk_buf_puts(&sql, " AND coll = ?1 AND id = ?2)),"
			  " is_last = (version_time = (SELECT max(version_time)"
			  "   FROM objects NOT INDEXED WHERE ");
	sql_idh(&sql, "= ?3", 4, slots);
	rk_buf_puts(&sql, " AND coll = ?1 AND id = ?2)) WHERE ");
	sql_idh(&sql, "= ?3", 4, slots);
	rk_buf_puts(&sql, " AND coll = ?1 AND id = ?2");
	s = sql.data ? sq_prepare(c, sql.data, ctx) : NULL;
	if (!s) {
		err = RK_EDB;
		goto out;
	}
	sqlite3_bind_int64(s, 1, coll);
	bind_text(s, 2, r->object_id);
	sqlite3_bind_int64(s, 3, idh);
	bind_tail(s, 4, e->wtail, ntail);
	if ((err = sq_step_done(c->db, s, ctx, "updating version flags")) != RK_OK)
		goto out;
	/* The index entries of the rows just deleted. */
	s = sq_prepare(c,
		       "DELETE FROM objects_ix WHERE idh = ?1 AND NOT EXISTS"
		       " (SELECT 1 FROM objects WHERE seq = objects_ix.seq)",
		       ctx);
	if (!s) {
		err = RK_EDB;
		goto out;
	}
	sqlite3_bind_int64(s, 1, idh);
	if ((err = sq_step_done(c->db, s, ctx, "updating the id index")) != RK_OK)
		goto out;
	/* No version of the id left in any collection: remember its owner. */
	rk_buf_reset(&sql);
	rk_buf_puts(&sql, "INSERT OR IGNORE INTO owners(id, owner) SELECT ?2, ?3"
			  " WHERE NOT EXISTS (SELECT 1 FROM objects NOT INDEXED"
			  "  WHERE ");
	sql_idh(&sql, "= ?1", 4, slots);
	rk_buf_puts(&sql, " AND id = ?2)");
	s = sql.data ? sq_prepare(c, sql.data, ctx) : NULL;
	if (!s) {
		err = RK_EDB;
		goto out;
	}
	sqlite3_bind_int64(s, 1, idh);
	bind_text(s, 2, r->object_id);
	bind_text(s, 3, owner ? owner : "");
	bind_tail(s, 4, e->wtail, ntail);
	rc = owner ? sqlite3_step(s) : SQLITE_DONE;
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		err = sq_err(c->db, rc, ctx, "recording an owner");
		goto out;
	}
	s = sq_prepare(c,
		       "UPDATE collections SET n_versions = n_versions - ?2"
		       " WHERE coll = ?1",
		       ctx);
	if (!s) {
		err = RK_EDB;
		goto out;
	}
	sqlite3_bind_int64(s, 1, coll);
	sqlite3_bind_int64(s, 2, n);
	if ((err = sq_step_done(c->db, s, ctx, "updating a collection")) != RK_OK)
		goto out;
	{
		aud_tally t = {0};
		if (!tally_add(&t, aud, -n))
			err = rk_fail(ctx, RK_ENOMEM, NULL, "store delete: out of memory");
		else
			err = tally_store(c, coll, &t, ctx);
		free(t.v);
		if (err)
			goto out;
	}
	*r->deleted = (size_t)n;
out:
	free(owner);
	rk_buf_cleanup(&sql);
	return err;
}

/* ---------------------------------------------------------------- status, meta */

static rk_err status_insert(store_engine *e, const char *api_root,
			    const char *status_id, const char *doc,
			    rk_errctx *ctx)
{
	sq_conn *c = e->w;
	sqlite3_stmt *s;

	s = sq_prepare(c,
		       "INSERT INTO status(api_root, status_id, doc) VALUES(?1, ?2, ?3)"
		       " ON CONFLICT(api_root, status_id) DO UPDATE SET doc = excluded.doc",
		       ctx);
	if (!s)
		return RK_EDB;
	bind_text(s, 1, api_root);
	bind_text(s, 2, status_id);
	bind_text(s, 3, doc);
	rk_err stored = sq_step_done(c->db, s, ctx, "storing a status");
	if (stored != RK_OK)
		return stored;
	/* Keep at most RK_MAX_STATUS_KEPT per API root; checked now and then,
	 * so the table may briefly exceed it by SQ_STATUS_PRUNE_EVERY. */
	if (++e->status_puts % SQ_STATUS_PRUNE_EVERY)
		return RK_OK;
	s = sq_prepare(c,
		       "DELETE FROM status WHERE rid IN (SELECT rid FROM status"
		       " INDEXED BY status_age WHERE api_root = ?1"
		       " ORDER BY rid DESC LIMIT -1 OFFSET ?2)",
		       ctx);
	if (!s)
		return RK_EDB;
	bind_text(s, 1, api_root);
	sqlite3_bind_int64(s, 2, RK_MAX_STATUS_KEPT);
	return sq_step_done(c->db, s, ctx, "pruning old statuses");
}

static rk_err run_status(store_engine *e, wreq *r)
{
	return status_insert(e, r->api_root, r->status_id, r->doc, r->ctx);
}

static rk_err run_meta(store_engine *e, wreq *r)
{
	sq_conn *c = e->w;
	sqlite3_stmt *s;
	uint64_t version = 0;
	bool same = false;
	int rc;

	s = sq_prepare(c, "SELECT version, doc FROM meta WHERE name = ?1", r->ctx);
	if (!s)
		return RK_EDB;
	bind_text(s, 1, r->name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *old = (const char *)sqlite3_column_text(s, 1);
		version = (uint64_t)sqlite3_column_int64(s, 0);
		same = old && strcmp(old, r->doc) == 0;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_err(c->db, rc, r->ctx, "reading a document");
	if (same) {
		*r->version_out = version;
		*r->changed = false;
		return RK_OK;
	}
	s = sq_prepare(c,
		       "INSERT INTO meta(name, version, doc) VALUES(?1, ?2, ?3)"
		       " ON CONFLICT(name) DO UPDATE SET version = excluded.version,"
		       " doc = excluded.doc",
		       r->ctx);
	if (!s)
		return RK_EDB;
	bind_text(s, 1, r->name);
	sqlite3_bind_int64(s, 2, (int64_t)version + 1);
	bind_text(s, 3, r->doc);
	rk_err stored = sq_step_done(c->db, s, r->ctx, "storing a document");
	if (stored != RK_OK)
		return stored;
	*r->version_out = version + 1;
	*r->changed = true;
	return RK_OK;
}

/* ---------------------------------------------------------------- group commit */

/* Gives rows their audience class (rows stored before classes existed). */
static rk_err run_classify(store_engine *e, wreq *r)
{
	sq_conn *c = e->w;
	aud_tally t = {0};
	rk_err err = RK_OK;
	int64_t coll = 0;

	for (size_t i = 0; i < r->n && !err; i++) {
		int64_t aud;
		sqlite3_stmt *s;
		int rc;
		if ((err = aud_resolve(e, r, r->keys[i], &aud)))
			break;
		if (!(s = sq_prepare(c, "UPDATE objects SET aud = ?2, flags = ?3"
					" WHERE seq = ?1 AND aud = 0 RETURNING coll",
				     r->ctx))) {
			err = RK_EDB;
			break;
		}
		sqlite3_bind_int64(s, 1, (int64_t)r->seqs[i]);
		sqlite3_bind_int64(s, 2, aud);
		sqlite3_bind_int(s, 3, (int)r->flags[i]);
		rc = sqlite3_step(s);
		int64_t row_coll = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
		if (rc == SQLITE_ROW)
			rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE) {
			err = sq_err(c->db, rc, r->ctx, "classifying an object");
			break;
		}
		if (!row_coll)
			continue; /* gone, or classified meanwhile */
		if (row_coll != coll && t.len) {
			/* counts are per collection: store what this one had */
			if ((err = tally_store(c, coll, &t, r->ctx)))
				break;
			t.len = 0;
		}
		coll = row_coll;
		if (!tally_add(&t, 0, -1) || !tally_add(&t, aud, 1))
			err = rk_fail(r->ctx, RK_ENOMEM, NULL, "store: out of memory");
	}
	if (!err && t.len)
		err = tally_store(c, coll, &t, r->ctx);
	free(t.v);
	return err;
}

static rk_err run_one(store_engine *e, wreq *r)
{
	switch (r->kind) {
	case WR_CLASSIFY:
		return run_classify(e, r);
	case WR_PUT:
		return run_put(e, r);
	case WR_DELETE:
		return run_delete(e, r);
	case WR_STATUS:
		return run_status(e, r);
	case WR_META:
		return run_meta(e, r);
	}
	return rk_fail(r->ctx, RK_EINVAL, NULL, "store: unknown write");
}

/* The leader, in its new transaction: the marks, and the rows other
 * processes committed since the tail last looked. */
static rk_err group_begin(store_engine *e, rk_errctx *ctx)
{
	sq_conn *c = e->w;
	sqlite3_stmt *s;
	int64_t now[STORE_IX_SLICES], low[STORE_IX_SLICES];
	bool prune = false;
	rk_err err = RK_OK;

	if ((err = read_marks(c, now, ctx)))
		return err;
	s = sq_prepare(c, "SELECT seq, idh FROM objects WHERE seq > ?1", ctx);
	if (!s)
		return RK_EDB;
	pthread_mutex_lock(&e->tmu);
	/* Another process merged a slice: drop what its previous merge
	 * covered (as after a merge of our own), or the tail would only
	 * grow. */
	memcpy(low, e->tail_low, sizeof low);
	for (unsigned i = 0; i < STORE_IX_SLICES; i++) {
		if (now[i] <= e->ix_mark[i])
			continue;
		if (e->ix_mark[i] > e->tail_low[i]) {
			low[i] = e->ix_mark[i];
			prune = true;
		}
		e->ix_mark[i] = now[i];
		e->unmerged[i] = 0;
	}
	if (prune)
		tail_prune(e, low);
	err = tail_catch_up(e, c, s, ctx);
	pthread_mutex_unlock(&e->tmu);
	return err;
}

/* Before COMMIT: the largest seq (every committed row up to it will be in
 * the tail), and, once the tail holds store_sqlite_ix_merge rows above
 * their marks, the merge of one slice's rows into objects_ix, the slice
 * with the most, sorted by key so that each leaf of that slice is written
 * once per merge. *slice, *merged_from: the slice and its old mark, or
 * -1 without a merge. */
static void group_end(store_engine *e, int64_t *max_seq, int *slice,
		      int64_t *merged_from)
{
	sq_conn *c = e->w;
	rk_errctx ctx;
	int64_t total = 0;
	unsigned sl = 0;

	rk_errctx_clear(&ctx);
	*merged_from = -1;
	*slice = -1;
	/* Every row up to tail_seen was committed before this group (and
	 * group_begin read them); g_max is this group's largest. */
	pthread_mutex_lock(&e->tmu);
	*max_seq = e->tail_seen > e->g_max ? e->tail_seen : e->g_max;
	for (unsigned i = 0; i < STORE_IX_SLICES; i++) {
		total += e->unmerged[i];
		if (e->unmerged[i] > e->unmerged[sl])
			sl = i;
	}
	pthread_mutex_unlock(&e->tmu);
	if (total < store_sqlite_ix_merge)
		return;
	/* The slice's tail entries above its mark, sorted by key: the tail
	 * holds every row above the marks (group_begin caught up with other
	 * processes' rows, put_item added this group's), so no row is read
	 * back. A stale entry (a row deleted or rolled back) only adds an
	 * index entry whose row is gone or has another id, which every lookup
	 * checks. */
	size_t m = 0, n = 0;
	int64_t mark = e->ix_mark[sl];
	struct tail_ent *ents = NULL;
	pthread_mutex_lock(&e->tmu);
#define IN_MERGE(t) ((t).seq > mark && (t).seq <= *max_seq && STORE_IX_SLICE((t).idh) == sl)
	for (size_t i = 0; i < e->tail_cap; i++)
		n += IN_MERGE(e->tail[i]);
	ents = malloc((n ? n : 1) * sizeof *ents);
	for (size_t i = 0; ents && i < e->tail_cap; i++)
		if (IN_MERGE(e->tail[i]))
			ents[m++] = e->tail[i];
#undef IN_MERGE
	pthread_mutex_unlock(&e->tmu);
	if (!ents)
		return; /* out of memory: merge at a later group */
	rk_time t0 = rk_time_now();
	qsort(ents, m, sizeof *ents, tail_ent_cmp);
	if (sq_exec(c, "SAVEPOINT ixm", &ctx) != RK_OK) {
		free(ents);
		return;
	}
	sqlite3_stmt *s = sq_fixed(c, SQ_FX_IXINS,
				     "INSERT OR IGNORE INTO objects_ix(idh, seq)"
				     " VALUES(?1, ?2)",
				     &ctx);
	int rc = s ? SQLITE_DONE : SQLITE_ERROR;
	for (size_t i = 0; s && i < m && rc == SQLITE_DONE; i++) {
		sqlite3_bind_int64(s, 1, ents[i].idh);
		sqlite3_bind_int64(s, 2, ents[i].seq);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
	}
	free(ents);
	if (rc == SQLITE_DONE &&
	    (s = sq_prepare(c, "UPDATE objects_ix_marks SET mark = ?1 WHERE slice = ?2",
			    &ctx))) {
		sqlite3_bind_int64(s, 1, *max_seq);
		sqlite3_bind_int64(s, 2, sl);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
	} else {
		rc = SQLITE_ERROR;
	}
	if (rc == SQLITE_DONE) {
		*merged_from = mark;
		*slice = (int)sl;
		rk_logf(RK_LOG_DEBUG, "store.ix_merge",
			"id index slice %u: %zu rows merged in %.1f ms", sl, m,
			(double)(rk_time_now() - t0) / 1000.0);
	} else if (!sqlite3_get_autocommit(c->db)) {
		sqlite3_exec(c->db, "ROLLBACK TO ixm", NULL, NULL, NULL);
	}
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "RELEASE ixm", NULL, NULL, NULL);
}

/* Runs a group of requests in one transaction (the leader only); true
 * when it committed. */
static bool run_group_tx(store_engine *e, wreq *list)
{
	sq_conn *c = e->w;
	rk_errctx gctx;
	wreq *r;

	rk_errctx_clear(&gctx);
	if (sq_exec(c, "BEGIN IMMEDIATE", &gctx) != RK_OK) {
		for (r = list; r; r = r->next)
			r->rc = rk_fail(r->ctx, gctx.code, NULL, "%s", gctx.msg);
		return false;
	}
	e->g_max = 0;
	if (group_begin(e, &gctx) != RK_OK) {
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		for (r = list; r; r = r->next)
			r->rc = rk_fail(r->ctx, gctx.code, NULL, "%s", gctx.msg);
		return false;
	}
	for (r = list; r; r = r->next) {
		if (sqlite3_get_autocommit(c->db)) {
			/* An earlier error ended the transaction. */
			r->rc = rk_fail(r->ctx, RK_EDB, NULL,
					"store: the write transaction was aborted");
			continue;
		}
		if ((r->rc = sq_exec(c, "SAVEPOINT req", r->ctx)) != RK_OK)
			continue;
		int64_t g_max = e->g_max;
		r->rc = run_one(e, r);
		if (r->rc != RK_OK)
			e->g_max = g_max; /* its rows are rolled back */
		if (r->rc != RK_OK && !sqlite3_get_autocommit(c->db))
			sqlite3_exec(c->db, "ROLLBACK TO req", NULL, NULL, NULL);
		if (!sqlite3_get_autocommit(c->db))
			sqlite3_exec(c->db, "RELEASE req", NULL, NULL, NULL);
	}
	int64_t max_seq = 0, merged_from = -1;
	int slice = -1;
	if (!sqlite3_get_autocommit(c->db))
		group_end(e, &max_seq, &slice, &merged_from);
	if (sqlite3_get_autocommit(c->db) ||
	    sq_exec(c, "COMMIT", &gctx) != RK_OK) {
		if (!gctx.code)
			rk_fail(&gctx, RK_EDB, NULL,
				"store: the write transaction was aborted");
		if (!sqlite3_get_autocommit(c->db))
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		for (r = list; r; r = r->next)
			if (r->rc == RK_OK)
				r->rc = rk_fail(r->ctx, gctx.code, NULL, "%s",
						gctx.msg);
		return false;
	}
	pthread_mutex_lock(&e->tmu);
	if (max_seq > e->tail_seen)
		e->tail_seen = max_seq;
	if (slice >= 0) {
		/* Keep the slice's rows of its last merge one merge longer: a
		 * reader whose snapshot predates it still needs them. */
		int64_t low[STORE_IX_SLICES];
		memcpy(low, e->tail_low, sizeof low);
		low[slice] = merged_from;
		tail_prune(e, low);
		e->ix_mark[slice] = max_seq;
		e->unmerged[slice] = 0;
	}
	pthread_mutex_unlock(&e->tmu);
	return true;
}

/* Runs a group; then the audience classes its committed requests added
 * become known to every thread. */
static void run_group(store_engine *e, wreq *list)
{
	bool committed = run_group_tx(e, list);
	bool counted = false;

	for (wreq *r = list; r; r = r->next)
		counted |= r->rc == RK_OK &&
			   (r->counted || r->kind == WR_DELETE || r->kind == WR_CLASSIFY);
	if (committed && counted)
		atomic_fetch_add(&e->aud_epoch, 1);
	pthread_mutex_lock(&e->amu);
	for (wreq *r = list; r; r = r->next) {
		for (new_aud *n = r->new_auds; committed && r->rc == RK_OK && n; n = n->next)
			amap_add(e, n->aud, n->key); /* lacking memory: SQL finds it */
		new_auds_free(r->new_auds);
		r->new_auds = NULL;
	}
	pthread_mutex_unlock(&e->amu);
}

/* Queues r and returns once a commit containing it finished. */
static rk_err submit(store_engine *e, wreq *r)
{
	r->done = false;
	r->next = NULL;
	pthread_mutex_lock(&e->qmu);
	if (e->qtail)
		e->qtail->next = r;
	else
		e->qhead = r;
	e->qtail = r;
	while (!r->done) {
		if (e->leading) {
			pthread_cond_wait(&e->qcv, &e->qmu);
			continue;
		}
		e->leading = true;
		wreq *list = e->qhead;
		e->qhead = e->qtail = NULL;
		pthread_mutex_unlock(&e->qmu);
		run_group(e, list);
		if (e->walfd >= 0) {
			/* Committed, not yet durable: let the next group run
			 * while this one's WAL frames are synced. */
			pthread_mutex_lock(&e->qmu);
			e->leading = false;
			pthread_cond_broadcast(&e->qcv);
			pthread_mutex_unlock(&e->qmu);
			if (fdatasync(e->walfd) != 0) {
				int en = errno;
				for (wreq *x = list; x; x = x->next)
					if (x->rc == RK_OK)
						x->rc = rk_fail(x->ctx, RK_EIO, NULL,
								"store: syncing the WAL: %s",
								strerror(en));
			}
		}
		pthread_mutex_lock(&e->qmu);
		while (list) {
			wreq *nx = list->next;
			list->done = true;
			list = nx;
		}
		if (e->walfd < 0)
			e->leading = false;
		pthread_cond_broadcast(&e->qcv);
	}
	pthread_mutex_unlock(&e->qmu);
	return r->rc;
}

static rk_err sq_put(store_engine *e, const char *collection_id,
		     const char *owner_org, const store_item *items, size_t n,
		     store_put_result *results, const store_status_req *status,
		     rk_errctx *ctx)
{
	wreq r = {.kind = WR_PUT, .coll = collection_id, .owner = owner_org,
		  .items = items, .n = n, .results = results,
		  .put_status = status, .ctx = ctx};
	return submit(e, &r);
}

static rk_err sq_delete(store_engine *e, const char *collection_id,
			const char *object_id, const store_version_match *version,
			const char *const *spec_versions, size_t n_spec_versions,
			size_t *deleted, rk_errctx *ctx)
{
	wreq r = {.kind = WR_DELETE, .coll = collection_id,
		  .object_id = object_id, .version = version,
		  .specs = spec_versions, .n_specs = n_spec_versions,
		  .deleted = deleted, .ctx = ctx};
	return submit(e, &r);
}

static rk_err sq_status_put(store_engine *e, const char *api_root,
			    const char *status_id, const char *doc,
			    rk_errctx *ctx)
{
	wreq r = {.kind = WR_STATUS, .api_root = api_root,
		  .status_id = status_id, .doc = doc, .ctx = ctx};
	return submit(e, &r);
}

static rk_err sq_meta_put(store_engine *e, const char *name, const char *canon,
			  uint64_t *version_out, bool *changed, rk_errctx *ctx)
{
	wreq r = {.kind = WR_META, .name = name, .doc = canon,
		  .version_out = version_out, .changed = changed, .ctx = ctx};
	return submit(e, &r);
}

/* ---------------------------------------------------------------- small reads */

/* Runs a one-row lookup with text parameters on a pooled reader. col_text
 * (may be NULL) receives a heap copy of column 0 text, col_int column
 * `int_col`. *found tells whether a row came back. */
static rk_err read_one(store_engine *e, const char *sql, const char *p1,
		       const char *p2, char **col_text, int int_col,
		       int64_t *col_int, bool *found, rk_errctx *ctx)
{
	sq_conn *c = NULL;
	sqlite3_stmt *s = NULL;
	rk_err err;
	int rc;

	*found = false;
	if ((err = pool_get(e, &c, ctx)))
		return err;
	if (!(s = sq_prepare(c, sql, ctx))) {
		err = RK_EDB;
		goto out;
	}
	if (p1)
		bind_text(s, 1, p1);
	if (p2)
		bind_text(s, 2, p2);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*found = true;
		if (col_int)
			*col_int = sqlite3_column_int64(s, int_col);
		if (col_text) {
			const char *t = (const char *)sqlite3_column_text(s, 0);
			*col_text = t ? strdup(t) : NULL;
			if (!*col_text) {
				err = rk_fail(ctx, RK_ENOMEM, NULL,
					      "store: out of memory");
				goto out;
			}
		}
	} else if (rc != SQLITE_DONE) {
		err = sq_err(c->db, rc, ctx, "reading");
	}
out:
	if (s)
		sqlite3_reset(s);
	pool_put(e, c);
	return err;
}

static rk_err sq_object_owner(store_engine *e, const char *object_id,
			      char **owner_out, rk_errctx *ctx)
{
	sq_conn *c = NULL;
	sqlite3_stmt *s = NULL;
	rk_err err;
	int rc;

	int64_t idh = store_idh(object_id, strlen(object_id)), *tseqs = NULL;
	size_t ntail = 0;
	rk_buf sql;

	rk_buf_init(&sql);
	if ((err = pool_get(e, &c, ctx)))
		return err;
	if ((err = sq_exec(c, "BEGIN", ctx)))
		goto out;
	for (;;) {
		bool stale;
		if ((err = tail_seqs(e, c, &idh, 1, &tseqs, &ntail, &stale, ctx)))
			goto out;
		if (!stale)
			break;
		if ((err = sq_exec(c, "COMMIT", ctx)) ||
		    (err = sq_exec(c, "BEGIN", ctx)))
			goto out;
	}
	/* A stored version's owner, else the owner of a deleted id. */
	rk_buf_puts(&sql, "SELECT owner FROM objects NOT INDEXED WHERE ");
	sql_idh(&sql, "= ?1", 3, tail_slots(ntail));
	rk_buf_puts(&sql, " AND id = ?2"
			  " UNION ALL SELECT owner FROM owners WHERE id = ?2"
			  " LIMIT 1");
	if (!sql.data || !(s = sq_prepare(c, sql.data, ctx))) {
		err = RK_EDB;
		goto out;
	}
	sqlite3_bind_int64(s, 1, idh);
	bind_text(s, 2, object_id);
	bind_tail(s, 3, tseqs, ntail);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(s, 0);
		if (!t || !(*owner_out = strdup(t)))
			err = rk_fail(ctx, RK_ENOMEM, NULL, "store: out of memory");
	} else if (rc == SQLITE_DONE) {
		err = rk_fail(ctx, RK_ENOTFOUND, NULL, "no owner recorded for %s",
			      object_id);
	} else {
		err = sq_err(c->db, rc, ctx, "looking up an owner");
	}
out:
	if (s)
		sqlite3_reset(s);
	if (c && !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	pool_put(e, c);
	rk_buf_cleanup(&sql);
	free(tseqs);
	return err;
}

static rk_err sq_count(store_engine *e, const char *collection_id,
		       uint64_t *out, rk_errctx *ctx)
{
	bool found;
	int64_t n = 0;
	rk_err err;

	if (collection_id)
		err = read_one(e, "SELECT n_versions FROM collections WHERE uuid = ?1",
			       collection_id, NULL, NULL, 0, &n, &found, ctx);
	else
		err = read_one(e, "SELECT coalesce(sum(n_versions), 0) FROM collections",
			       NULL, NULL, NULL, 0, &n, &found, ctx);
	*out = err == RK_OK && n > 0 ? (uint64_t)n : 0;
	return err;
}

static rk_err sq_status_get(store_engine *e, const char *api_root,
			    const char *status_id, char **doc_out, rk_errctx *ctx)
{
	bool found;
	rk_err err = read_one(e,
			      "SELECT doc FROM status WHERE api_root = ?1"
			      " AND status_id = ?2",
			      api_root, status_id, doc_out, 0, NULL, &found, ctx);
	if (err == RK_OK && !found)
		err = rk_fail(ctx, RK_ENOTFOUND, NULL, "no status %s", status_id);
	return err;
}

static rk_err sq_meta_get(store_engine *e, const char *name, char **doc_out,
			  uint64_t *version_out, rk_errctx *ctx)
{
	bool found;
	int64_t v = 0;
	rk_err err;

	if (doc_out)
		err = read_one(e, "SELECT doc, version FROM meta WHERE name = ?1",
			       name, NULL, doc_out, 1, &v, &found, ctx);
	else
		err = read_one(e, "SELECT version FROM meta WHERE name = ?1", name,
			       NULL, NULL, 0, &v, &found, ctx);
	*version_out = err == RK_OK && found ? (uint64_t)v : 0;
	return err;
}

/* ---------------------------------------------------------------- audience reads */

static rk_err sq_audiences(store_engine *e, const char *collection_id,
			   store_audience_fn fn, void *arg, rk_errctx *ctx)
{
	sq_conn *c = NULL;
	sqlite3_stmt *s = NULL;
	rk_err err;
	int rc;

	if ((err = pool_get(e, &c, ctx)))
		return err;
	s = sq_prepare(c,
		       "SELECT a.aud, a.key, n.n FROM collections c"
		       " JOIN aud_counts n ON n.coll = c.coll"
		       " JOIN audiences a ON a.aud = n.aud"
		       " WHERE c.uuid = ?1 AND n.n > 0",
		       ctx);
	if (!s) {
		err = RK_EDB;
		goto out;
	}
	bind_text(s, 1, collection_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(s, 1);
		if (key && (err = fn(arg, sqlite3_column_int64(s, 0), key,
				     (uint64_t)sqlite3_column_int64(s, 2))))
			goto out;
	}
	if (rc != SQLITE_DONE)
		err = sq_err(c->db, rc, ctx, "reading audience classes");
out:
	if (s)
		sqlite3_reset(s);
	pool_put(e, c);
	return err;
}

static rk_err sq_audience_key(store_engine *e, int64_t aud, char **key_out,
			      rk_errctx *ctx)
{
	char id[24];
	bool found;
	int64_t unused;

	pthread_mutex_lock(&e->amu);
	if (aud > 0 && (size_t)aud < e->aud_keys_cap && e->aud_keys[aud])
		*key_out = strdup(e->aud_keys[aud]);
	pthread_mutex_unlock(&e->amu);
	if (*key_out)
		return RK_OK;
	/* Added by another process, or not yet seen here. */
	snprintf(id, sizeof id, "%lld", (long long)aud);
	rk_err err = read_one(e, "SELECT key FROM audiences WHERE aud = CAST(?1 AS INTEGER)",
			      id, NULL, key_out, 0, &unused, &found, ctx);
	if (!err && !found)
		err = rk_fail(ctx, RK_ENOTFOUND, NULL, "no audience class %lld", (long long)aud);
	return err;
}

static rk_err sq_find_versions(store_engine *e, const char *const *ids, size_t n,
			       store_version_fn fn, void *arg, rk_errctx *ctx)
{
	sq_conn *c = NULL;
	sqlite3_stmt *s = NULL;
	int64_t *idhs = malloc(n * sizeof *idhs), *tseqs = NULL;
	size_t ntail = 0;
	rk_buf sql;
	rk_err err;
	int rc;

	rk_buf_init(&sql);
	if (!idhs)
		return rk_fail(ctx, RK_ENOMEM, NULL, "store: out of memory");
	for (size_t i = 0; i < n; i++)
		idhs[i] = store_idh(ids[i], strlen(ids[i]));
	if ((err = pool_get(e, &c, ctx)))
		goto out;
	if ((err = sq_exec(c, "BEGIN", ctx)))
		goto out;
	for (;;) {
		bool stale;
		if ((err = tail_seqs(e, c, idhs, n, &tseqs, &ntail, &stale, ctx)))
			goto out;
		if (!stale)
			break;
		if ((err = sq_exec(c, "COMMIT", ctx)) || (err = sq_exec(c, "BEGIN", ctx)))
			goto out;
	}
	size_t slots = tail_slots(ntail);
	int ids_at = 1, idhs_at = 1 + (int)n, tail_at = 1 + 2 * (int)n;
	rk_buf_puts(&sql, "SELECT c.uuid, o.id, o.aud, o.owner, o.seq, o.type, o.version,"
			  " o.flags, o.json FROM objects o NOT INDEXED"
			  " JOIN collections c ON c.coll = o.coll WHERE ");
	rk_buf_puts(&sql, "(o.seq IN (SELECT seq FROM objects_ix WHERE 1");
	sql_in(&sql, "idh", idhs_at, n);
	rk_buf_puts(&sql, ") OR o.seq IN (");
	for (size_t i = 0; i < slots; i++)
		rk_buf_printf(&sql, "%s?%d", i ? ", " : "", tail_at + (int)i);
	rk_buf_puts(&sql, "))");
	sql_in(&sql, "o.id", ids_at, n);
	if (!sql.data || rk_buf_puts(&sql, "") || !(s = sq_prepare(c, sql.data, ctx))) {
		err = ctx->code ? ctx->code : rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bind_text(s, ids_at + (int)i, ids[i]);
		sqlite3_bind_int64(s, idhs_at + (int)i, idhs[i]);
	}
	for (size_t i = 0; i < slots; i++)
		sqlite3_bind_int64(s, tail_at + (int)i, i < ntail ? tseqs[i] : -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_row row = {
			.collection_id = (const char *)sqlite3_column_text(s, 0),
			.id = (const char *)sqlite3_column_text(s, 1),
			.aud = sqlite3_column_int64(s, 2),
			.owner_org = (const char *)sqlite3_column_text(s, 3),
			.seq = (uint64_t)sqlite3_column_int64(s, 4),
			.type = (const char *)sqlite3_column_text(s, 5),
			.version = (const char *)sqlite3_column_text(s, 6),
			.flags = (unsigned)sqlite3_column_int(s, 7),
			.json = (const char *)sqlite3_column_text(s, 8),
			.json_len = (size_t)sqlite3_column_bytes(s, 8),
		};
		if (row.collection_id && row.id && row.owner_org && row.json &&
		    (err = fn(arg, &row)))
			goto out;
	}
	if (rc != SQLITE_DONE)
		err = sq_err(c->db, rc, ctx, "looking up references");
out:
	if (s)
		sqlite3_reset(s);
	if (c && !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	pool_put(e, c);
	rk_buf_cleanup(&sql);
	free(idhs);
	free(tseqs);
	return err;
}

/* The filter of known ids; rows another process stored since the last
 * catch-up are not in it yet, so those answer "maybe" through the tail the
 * next reader or writer reads. Callers needing certainty look up. */
static uint64_t sq_audience_epoch(store_engine *e)
{
	return atomic_load(&e->aud_epoch);
}

static bool sq_may_hold(store_engine *e, const char *id)
{
	pthread_mutex_lock(&e->tmu);
	bool maybe = store_known_may_have(e->known, store_idh(id, strlen(id)));
	pthread_mutex_unlock(&e->tmu);
	return maybe;
}

static rk_err sq_unclassified(store_engine *e, size_t limit, store_emit_fn emit,
			      void *arg, rk_errctx *ctx)
{
	sq_conn *c = NULL;
	sqlite3_stmt *s = NULL;
	rk_err err;
	int rc;

	if ((err = pool_get(e, &c, ctx)))
		return err;
	s = sq_prepare(c,
		       "SELECT o.seq, o.date_added, o.id, o.type, o.spec_version,"
		       " o.version, o.version_time, o.owner, c.uuid, o.json"
		       " FROM collections c JOIN objects o INDEXED BY objects_aud"
		       " ON o.coll = c.coll AND o.aud = 0 LIMIT ?1",
		       ctx);
	if (!s) {
		err = RK_EDB;
		goto out;
	}
	sqlite3_bind_int64(s, 1, (int64_t)limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_row row = {
			.seq = (uint64_t)sqlite3_column_int64(s, 0),
			.date_added = sqlite3_column_int64(s, 1),
			.id = (const char *)sqlite3_column_text(s, 2),
			.type = (const char *)sqlite3_column_text(s, 3),
			.spec_version = (const char *)sqlite3_column_text(s, 4),
			.version = (const char *)sqlite3_column_text(s, 5),
			.version_time = sqlite3_column_int64(s, 6),
			.owner_org = (const char *)sqlite3_column_text(s, 7),
			.collection_id = (const char *)sqlite3_column_text(s, 8),
			.json = (const char *)sqlite3_column_text(s, 9),
			.json_len = (size_t)sqlite3_column_bytes(s, 9),
		};
		if (!row.id || !row.owner_org || !row.collection_id || !row.json) {
			err = rk_fail(ctx, RK_ENOMEM, NULL, "store: out of memory reading a row");
			goto out;
		}
		if ((err = emit(arg, &row)))
			goto out;
	}
	if (rc != SQLITE_DONE)
		err = sq_err(c->db, rc, ctx, "reading unclassified objects");
out:
	if (s)
		sqlite3_reset(s);
	pool_put(e, c);
	return err;
}

static rk_err sq_set_audiences(store_engine *e, const uint64_t *seqs,
			       const char *const *keys, const unsigned *flags, size_t n,
			       rk_errctx *ctx)
{
	wreq r = {.kind = WR_CLASSIFY, .seqs = seqs, .keys = keys, .flags = flags, .n = n,
		  .ctx = ctx};
	return submit(e, &r);
}

const store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.check_integrity = sq_check_integrity,
	.put = sq_put,
	.object_owner = sq_object_owner,
	.query = sq_query,
	.del = sq_delete,
	.count = sq_count,
	.audiences = sq_audiences,
	.audience_key = sq_audience_key,
	.find_versions = sq_find_versions,
	.may_hold = sq_may_hold,
	.audience_epoch = sq_audience_epoch,
	.unclassified = sq_unclassified,
	.set_audiences = sq_set_audiences,
	.status_put = sq_status_put,
	.status_get = sq_status_get,
	.meta_get = sq_meta_get,
	.meta_put = sq_meta_put,
};
