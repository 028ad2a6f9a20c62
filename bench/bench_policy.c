/*
 * bench_policy.c: what the confidentiality policy costs a reader's page.
 *
 * Builds, in a fresh store, one collection of N indicators (--sizes,
 * default 100000,1000000) whose audiences split it three ways:
 *
 *   1%   TLP:GREEN        every reader of the collection
 *   49%  TLP:AMBER+STRICT members of the community, not their clients
 *   50%  TLP:RED          recipient organisation r100 only
 *
 * and three readers: r1 (a client of a member: the GREEN 1%), r50 (a
 * member: GREEN and AMBER+STRICT, about 50%) and r100 (a member and the
 * recipient: everything). For each reader it measures pages of 100
 * (`limit=100` from a random added_after) three ways, side by side:
 *
 *   off  the store query alone, every row (what a hub without per-object
 *        policy would serve: the collection-level check only);
 *   bare the same rows as `on`, read by the store's class index with the
 *        reader's classes worked out beforehand: the page the reader gets,
 *        without any policy work;
 *   on   what the hub does (src/taxii/taxii_policy.c): the collection's
 *        audience classes (store_audiences, kept while
 *        store_audience_epoch holds), policy_decide per class, the query
 *        restricted to the classes allowed (store_query.restrict_auds), and
 *        policy_decide for the rows returned (once per class when the row
 *        needs no look inside).
 *
 * and prints p50/p99 for both and their ratio. A reader who sees 1% must
 * not cost a scan of the collection: the restricted query reads one arm
 * of objects_aud.
 *
 * The store is the hub's own (the SQLite engine, same indices); the
 * policy calls are the hub's, through the public policy API, as
 * src/taxii/taxii_policy.c makes them. Bounded: N objects, 400 pages per
 * reader and mode, in a temporary directory removed at the end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"

#define MAX_SIZES 4
#define SAMPLES 400
#define BATCH 1000
#define COLL "5b1f0c2e-8d4a-4c6b-9e3f-2a7d1c0b9e84"

static const char DIRECTORY[] =
	"{\"organizations\": ["
	" {\"id\": \"prod\", \"name\": \"Producer\", \"sectors\": []},"
	" {\"id\": \"r50\", \"name\": \"Member\", \"sectors\": [], \"clients\": [\"r1\"]},"
	" {\"id\": \"r100\", \"name\": \"Recipient\", \"sectors\": []},"
	" {\"id\": \"r1\", \"name\": \"Client\", \"sectors\": []}],"
	" \"users\": ["
	" {\"name\": \"prod\", \"organization\": \"prod\", \"role\": \"analyst\"},"
	" {\"name\": \"r1\", \"organization\": \"r1\", \"role\": \"reader\"},"
	" {\"name\": \"r50\", \"organization\": \"r50\", \"role\": \"reader\"},"
	" {\"name\": \"r100\", \"organization\": \"r100\", \"role\": \"reader\"}],"
	" \"communities\": [{\"id\": \"nat\", \"title\": \"Nation\", \"tier\": \"nation\","
	"  \"members\": [\"prod\", \"r50\", \"r100\"]}],"
	" \"collections\": [{\"id\": \"" COLL "\", \"community\": \"nat\","
	"  \"title\": \"Indicators\", \"default_marking\": \"TLP:GREEN\","
	"  \"can_read\": [\"analyst\", \"reader\"], \"can_write\": [\"analyst\"]}]}";

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mix64(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

/* ---------------------------------------------------------------- fill */

typedef struct world {
	directory *dir;
	store *st;
	const dir_collection *col;
	char *keys[3]; /* GREEN, AMBER+STRICT, RED audience keys */
} world;

static void die(const char *what, const rk_errctx *ctx)
{
	fprintf(stderr, "bench_policy: %s: %s\n", what, ctx ? ctx->msg : "");
	exit(1);
}

/* Class of object n: 1% GREEN, else alternately AMBER+STRICT and RED. */
static int class_of(size_t n)
{
	return n % 100 == 0 ? 0 : n % 2 ? 1 : 2;
}

static void fill(world *w, size_t from, size_t to)
{
	static json_t *objs[BATCH];
	static store_put_item items[BATCH];
	static store_put_result res[BATCH];
	rk_errctx ctx;
	char ts[RK_TIME_BUF];

	rk_errctx_clear(&ctx);
	for (size_t at = from; at < to; at += BATCH) {
		size_t n = to - at < BATCH ? to - at : BATCH;
		rk_time_format(rk_time_now(), 3, ts);
		for (size_t i = 0; i < n; i++) {
			char id[80];
			uint64_t a = mix64(at + i), b = mix64((at + i) ^ 0x5deece66du);
			snprintf(id, sizeof id, "indicator--%08x-%04x-4%03x-8%01x%02x-%012" PRIx64,
				 (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffffu,
				 (unsigned)(a >> 4) & 0xfffu, (unsigned)a & 0xfu,
				 (unsigned)(b >> 56), b & 0xffffffffffffu);
			objs[i] = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type",
					    "indicator", "spec_version", "2.1", "id", id, "created",
					    ts, "modified", ts, "pattern",
					    "[ipv4-addr:value = '192.0.2.1']", "pattern_type", "stix",
					    "valid_from", ts);
			memset(&items[i], 0, sizeof items[i]);
			items[i].object = objs[i];
			if (stix_object_info(objs[i], &items[i].info, &ctx) != RK_OK)
				die("object", &ctx);
			items[i].audience = w->keys[class_of(at + i)];
		}
		if (store_put(w->st, COLL, "prod", items, n, res, &ctx) != RK_OK)
			die("put", &ctx);
		for (size_t i = 0; i < n; i++) {
			if (res[i].outcome != STORE_PUT_ADDED)
				die(res[i].message, NULL);
			json_decref(objs[i]);
		}
	}
}

/* ---------------------------------------------------------------- one reader's view */

typedef struct reader {
	const char *name;
	policy_subject subj;
	int64_t auds[8];
	size_t n_auds;
	uint64_t aud_rows, all_rows;
	/* the collection's classes as last listed, and when */
	int64_t listed[8];
	uint64_t listed_n[8];
	size_t n_listed;
	uint64_t epoch;
	bool have_list;
	policy_audience parsed[8]; /* by class, for the per-row decision */
	int64_t parsed_aud[8];
	size_t n_parsed;
} reader;

typedef struct classes {
	world *w;
	reader *r;
} classes;

static const policy_audience *parsed_of(reader *r, int64_t aud)
{
	for (size_t i = 0; i < r->n_parsed; i++)
		if (r->parsed_aud[i] == aud)
			return &r->parsed[i];
	return NULL;
}

static rk_err list_class(void *arg, int64_t aud, const char *key, uint64_t n)
{
	classes *c = arg;
	reader *r = c->r;
	rk_errctx ctx;
	if (!parsed_of(r, aud) && r->n_parsed < 8) {
		rk_errctx_clear(&ctx);
		if (policy_audience_parse(key, &r->parsed[r->n_parsed], &ctx) != RK_OK)
			die("audience", &ctx);
		r->parsed_aud[r->n_parsed++] = aud;
	}
	if (r->n_listed < 8) {
		r->listed[r->n_listed] = aud;
		r->listed_n[r->n_listed++] = n;
	}
	return RK_OK;
}

/* The classes the reader may read, from the list of the collection's. */
static void readable(world *w, reader *r)
{
	r->n_auds = 0;
	r->aud_rows = r->all_rows = 0;
	for (size_t i = 0; i < r->n_listed; i++) {
		policy_resource res = {.collection = w->col,
				       .audience = parsed_of(r, r->listed[i])};
		r->all_rows += r->listed_n[i];
		if (res.audience &&
		    policy_decide(w->dir, &r->subj, POLICY_READ_OBJECT, &res).allow) {
			r->auds[r->n_auds++] = r->listed[i];
			r->aud_rows += r->listed_n[i];
		}
	}
}

typedef struct row_ctx {
	world *w;
	reader *r;
	size_t rows;
	int64_t decided_aud[8];
	bool decided[8];
	size_t n_decided;
} row_ctx;

static bool row_visible(void *arg, const store_row *row)
{
	row_ctx *rc = arg;
	for (size_t i = 0; i < rc->n_decided; i++)
		if (rc->decided_aud[i] == row->aud)
			return rc->decided[i];
	policy_resource res = {.collection = rc->w->col,
			       .audience = parsed_of(rc->r, row->aud)};
	bool allow = res.audience &&
		     policy_decide(rc->w->dir, &rc->r->subj, POLICY_READ_OBJECT, &res).allow;
	if (rc->n_decided < 8) {
		rc->decided_aud[rc->n_decided] = row->aud;
		rc->decided[rc->n_decided++] = allow;
	}
	return allow;
}

static rk_err count_row(void *arg, const store_row *row)
{
	(void)row;
	((row_ctx *)arg)->rows++;
	return RK_OK;
}

typedef enum { MODE_OFF, MODE_BARE, MODE_ON } mode;

/* One page from added_after `after` in one mode. Returns ms. */
static double page(world *w, reader *r, mode m, rk_time after, size_t *rows)
{
	bool on = m == MODE_ON;
	store_query q = {.collection_id = COLL, .has_added_after = true, .added_after = after,
			 .version = {.last = true}, .limit = 100, .with_json = true};
	row_ctx rc = {.w = w, .r = r};
	store_page pg;
	rk_errctx ctx;
	double t0 = now_s();

	rk_errctx_clear(&ctx);
	if (on) {
		/* what the hub does per request: the readable classes, then the
		 * restricted query with a decision per row */
		uint64_t epoch = store_audience_epoch(w->st);
		if (!r->have_list || epoch != r->epoch) {
			classes c = {.w = w, .r = r};
			r->n_listed = 0;
			if (store_audiences(w->st, COLL, list_class, &c, &ctx) != RK_OK)
				die("audiences", &ctx);
			r->epoch = epoch;
			r->have_list = true;
		}
		readable(w, r);
		q.restrict_auds = true;
		q.auds = r->auds;
		q.n_auds = r->n_auds;
		q.aud_rows = r->aud_rows;
		q.all_rows = r->all_rows;
		q.restrict_auds = r->n_auds < r->n_listed;
	}
	if (m == MODE_BARE) {
		/* the classes `on` worked out last time, no decision at all */
		q.restrict_auds = r->n_auds < r->n_listed;
		q.auds = r->auds;
		q.n_auds = r->n_auds;
		q.aud_rows = r->aud_rows;
		q.all_rows = r->all_rows;
	}
	if (store_query_rows(w->st, &q, on ? row_visible : NULL, &rc, count_row, &rc, &pg, &ctx) !=
	    RK_OK)
		die("query", &ctx);
	*rows = rc.rows;
	return (now_s() - t0) * 1000.0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
	qsort(v, n, sizeof *v, cmp_double);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

int main(int argc, char **argv)
{
	size_t sizes[MAX_SIZES] = {100000, 1000000}, n_sizes = 2;
	char tmpl[] = "/tmp/renkei-bench-policy.XXXXXX";
	world w = {0};
	rk_errctx ctx;
	json_error_t jerr;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--sizes") == 0) {
			n_sizes = 0;
			for (char *s = argv[i + 1]; *s && n_sizes < MAX_SIZES;) {
				char *end;
				sizes[n_sizes++] = strtoul(s, &end, 10);
				s = *end == ',' ? end + 1 : end;
			}
		} else {
			fprintf(stderr, "usage: bench_policy [--sizes N,N]\n");
			return 2;
		}
	}
	if (!mkdtemp(tmpl))
		die("temporary directory", NULL);
	rk_errctx_clear(&ctx);
	json_t *doc = json_loads(DIRECTORY, 0, &jerr);
	if (!doc || dir_from_file_json(doc, &w.dir, &ctx) != RK_OK)
		die("directory", &ctx);
	json_decref(doc);
	if (store_open(tmpl, &w.st, &ctx) != RK_OK)
		die("store", &ctx);
	w.col = dir_find_collection(w.dir, COLL);
	/* the three audiences, made as ingest makes them */
	const char *levels[3] = {"TLP:GREEN", "TLP:AMBER+STRICT", "TLP:RED"};
	for (int k = 0; k < 3; k++) {
		policy_audience a = {.tlp = stix_tlp_parse(levels[k]), .owner = "prod"};
		char *rec = (char *)dir_find_org(w.dir, "r100")->identity_id;
		if (k == 2) {
			a.recipients = &rec;
			a.n_recipients = 1;
		}
		w.keys[k] = policy_audience_key(&a);
	}
	reader readers[3] = {{.name = "r1"}, {.name = "r50"}, {.name = "r100"}};
	for (int i = 0; i < 3; i++)
		readers[i].subj = policy_subject_of(w.dir, dir_find_user(w.dir, readers[i].name));

	printf("policy cost per page (limit=100, match[version]=last, random added_after), "
	       "%d pages per reader and mode\n", SAMPLES);
	printf("%-9s %-6s %6s %8s %8s %8s %8s %8s %8s %7s %7s %7s %7s\n", "", "", "", "off",
	       "off", "bare", "bare", "on", "on", "on/off", "on/off", "on/bare", "on/bare");
	printf("%-9s %-6s %6s %8s %8s %8s %8s %8s %8s %7s %7s %7s %7s\n", "objects", "reader",
	       "sees", "p50 ms", "p99 ms", "p50 ms", "p99 ms", "p50 ms", "p99 ms", "p50", "p99",
	       "p50", "p99");
	size_t stored = 0;
	unsigned seed = 20261126;
	for (size_t s = 0; s < n_sizes; s++) {
		rk_time t_first = rk_time_now();
		double t0 = now_s();
		fill(&w, stored, sizes[s]);
		fprintf(stderr, "bench_policy: %zu objects stored in %.1f s\n", sizes[s] - stored,
			now_s() - t0);
		stored = sizes[s];
		rk_time t_last = rk_time_now();
		for (int i = 0; i < 3; i++) {
			double t[3][SAMPLES];
			size_t seen = 0, total = 0, bare_rows = 0;
			for (int k = 0; k < SAMPLES; k++) {
				rk_time after = t_first + (rk_time)((double)rand_r(&seed) / RAND_MAX *
								    (double)(t_last - t_first) * 0.9);
				size_t n[3] = {0, 0, 0};
				/* rotate which goes first, so none always has the
				 * warmer cache (`on` first at k = 0 sets up bare) */
				for (int j = 0; j < 3; j++) {
					mode m = (mode)((MODE_ON + k + j) % 3);
					t[m][k] = page(&w, &readers[i], m, after, &n[m]);
				}
				seen += n[MODE_ON];
				total += n[MODE_OFF];
				bare_rows += n[MODE_BARE];
			}
			if (bare_rows != seen)
				die("bare and on pages differ", NULL);
			double *off = t[MODE_OFF], *bare = t[MODE_BARE], *on = t[MODE_ON];
			/* what share of the collection the reader's pages hold */
			size_t vis = 0;
			for (size_t n = 0; n < stored; n++)
				vis += i == 2 || class_of(n) == 0 || (i == 1 && class_of(n) == 1);
			double p50_off = pct(off, SAMPLES, 0.5), p99_off = pct(off, SAMPLES, 0.99);
			double p50_bare = pct(bare, SAMPLES, 0.5), p99_bare = pct(bare, SAMPLES, 0.99);
			double p50_on = pct(on, SAMPLES, 0.5), p99_on = pct(on, SAMPLES, 0.99);
			printf("%-9zu %-6s %5.1f%% %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %7.2f %7.2f %7.2f "
			       "%7.2f\n",
			       stored, readers[i].name, 100.0 * (double)vis / (double)stored, p50_off,
			       p99_off, p50_bare, p99_bare, p50_on, p99_on, p50_on / p50_off,
			       p99_on / p99_off, p50_on / p50_bare, p99_on / p99_bare);
			fflush(stdout);
			if (!seen || !total)
				die("a page came back empty", NULL);
		}
	}
	for (int i = 0; i < 3; i++) {
		for (size_t k = 0; k < readers[i].n_parsed; k++)
			policy_audience_cleanup(&readers[i].parsed[k]);
		free(w.keys[i]);
	}
	store_close(w.st);
	dir_free(w.dir);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_policy: could not remove %s\n", tmpl);
	return 0;
}
