/*
 * test_confidentiality.c: a randomised property test of the confidentiality
 * rules of docs/confidentiality.md, against a live hub, with an independent
 * oracle (proto_oracle.c, written from the document, never calling
 * src/policy).
 *
 * One run, per seed ("confidentiality: seed N"; RENKEI_CONF_SEED=N replays
 * one; RENKEI_CONF_LONG=1 runs bigger worlds over several seeds):
 *
 *   1. a random directory: organisations (some with clients, some in no
 *      community), communities, collections (random default TLP among
 *      CLEAR, GREEN, AMBER and AMBER+STRICT, some "public", random
 *      can_read/can_write), users of every role with generated tokens;
 *      applied with `$RENKEI_BIN admin apply --data DIR FILE`, then a hub
 *      is started on a loopback port chosen by the kernel;
 *   2. random objects POSTed through TAXII by users allowed to write
 *      (members and clients): indicators, malware, identities, reports,
 *      notes, relationships and sightings, with TLP 2.0 or 1.0 markings or
 *      none, the renkei extension (recipients, distribution, communities;
 *      organisation and user identities), granular TLP markings (required
 *      properties too), references to objects of every audience and to ids
 *      never stored; second versions; re-sharing into other collections,
 *      allowed and refused; submissions the document refuses (RED without
 *      recipients, conflicting TLP markings, unknown recipient,
 *      distribution, community or marking, a new version changing the
 *      markings, re-sharing into a wider audience, a non-owner's version),
 *      each checked for its documented reason and for nothing stored;
 *   3. the truth of what was stored: the hub is stopped and its store read
 *      directly (date_added, seq, owner, stored text) to learn the
 *      date_added of each version; the oracle keeps the objects as posted
 *      (plus the hub's documented completion: created_by_ref and the
 *      collection's default marking) with their owners;
 *   4. every reader (every user, and anonymous) calls every read path:
 *      discovery, API roots, collections, objects and manifest (following
 *      `next`, several limits, added_after and match[type/id/version]
 *      filters), every object id of the world by id (stored, refused and
 *      never stored) in every collection it may read, versions, status
 *      resources (its own organisation's and others'); each answer is
 *      compared with the oracle: exactly the objects it may read, each
 *      equal as parsed JSON to the oracle's redaction, 404 answers for
 *      hidden ids equal (but for the random error_id) to those for ids
 *      never stored, X-TAXII-Date-Added-First/Last over the objects of the
 *      answer, `more` false on the last page and true only before a
 *      non-empty page, and `next` not carrying the store's sequence number
 *      in clear (the document asks for an encrypted cursor); every error
 *      answer is scanned for organisations, collections and objects the
 *      request did not name;
 *   5. exports (docs "Onward paths", oracle or_onward_export): every
 *      organisation's internal export and the public one through `renkei
 *      export --format stix`, and every user's through GET
 *      /renkei/export/stix/ (its organisation's, over the collections its
 *      role reads), hold exactly the latest allowed version of each
 *      indicator that is not revoked or expired and whose pattern is a
 *      list of values; anonymous callers get 401;
 *   6. then, on a sample, DELETE by readers who do not own the object (a
 *      hidden one must answer like an id never stored), /metrics (no
 *      collection, community or organisation in it), and the store read
 *      again: the read phase changed nothing.
 *
 * A second test, test_oracle_examples, checks the oracle itself against
 * worked examples of the document decided by hand, without a hub.
 *
 * It prints "confidentiality: N checks, L leaks, D wrongful denials"; each
 * mismatch names the seed, the reader, the path, the object id and the
 * expected and actual answer (the first ones in full, then one example and
 * a count per rule), and the test fails. Mismatches on an object the hub
 * stored although the document refuses it (or on an object referring to
 * one) are labelled as consequences of that submission.
 * RENKEI_CONF_EXPLAIN="user,object-id" prints the oracle's reasoning for
 * one reader and object, to check a report by hand.
 *
 * Readings of the document taken where it leaves a choice (each is also
 * noted at the code that implements it):
 *   - "public": a collection flag `"public": true` in the directory file.
 *     If `admin apply` refuses it, that is reported as a deviation and the
 *     run goes on with the same directory without the flag (no collection
 *     is then public), so the other rules are still checked.
 *   - Clients "reach [the] collections as if [they] were a member": a
 *     client whose role is in can_write may POST there.
 *   - R5: "a member of one of the listed communities" excludes clients.
 *   - References: "the reader may not read any stored version of it in any
 *     collection the reader reaches" is judged for the reader as a user
 *     (R1 and R2 with its role), so an object of the reader's own
 *     organisation kept only in collections its role may not read is
 *     hidden as a reference.
 *   - RED re-sharing: a user recipient's organisation is a recipient
 *     organisation. Re-sharing of AMBER, AMBER+STRICT and RED objects into
 *     a public collection is not exercised (the table does not say).
 *   - Granular markings: a property covered by several TLP entries is read
 *     only if every entry allows it; a granular_markings list left with no
 *     entry is removed. No granular selector points into a *_refs list the
 *     reference rules may shorten or remove (where_sighted_refs, element
 *     selectors of object_refs): the document does not say how such a
 *     selector is rewritten.
 *   - "two different TLP markings" are two different marking ids; the test
 *     never sends two ids of the same level.
 *   - A non-owner's version is sent without created_by_ref, so that only
 *     "owned by another organisation" applies.
 *   - The 404 "word for word" comparison ignores the random error_id.
 *     Anonymous discovery with no public collection may answer 401 or
 *     list nothing; another organisation's status answers 404 (401 to
 *     anonymous readers).
 *   - The extension-definition object the hub "serves to every reader": the
 *     test does not require it in listings (the document says neither
 *     where nor with which date_added); when it appears it is not counted
 *     as a leak, and its by-id answer is checked to be 200 with that id.
 *     The TLP marking definitions, which the document does not mention,
 *     are tolerated in listings likewise.
 *   - References: a referenced object withheld from the reader by its own
 *     references or granular markings is hidden too ("does not exist for
 *     that reader ... not named"); reports say when that is the reason.
 *   - Submission messages: the phrase the document quotes is looked for in
 *     the failure message; for TLP:RED without recipients, which it does
 *     not quote, the word "recipients"; for re-sharing, of which it quotes
 *     one example, the word "re-sharing".
 *   - added_after is combined only with the default version (last), and
 *     first/all/timestamp only without added_after: TAXII leaves their
 *     order open and later versions here always have later modified and
 *     date_added.
 *
 * Invariants: the hub listens on 127.0.0.1 on a port the kernel picks and
 * is stopped (by PID) before the test returns; a watchdog kills it if the
 * test hangs. The world is a pure function of the seed; only date_added
 * (read back from the store) differs between runs.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "common.h"
#include "proto_hub.h"
#include "pattern.h"
#include "proto_oracle.h"
#include "store.h"

/* ---------------------------------------------------------------- sizes */

/* World and reading sizes: organisations, communities, collections,
 * objects posted, objects per envelope, rounds of refused submissions,
 * re-shares tried each way, percentage of versions given a second one,
 * paged listings and rounds of filtered listings per collection, seeds. */
typedef struct sizes {
	int orgs, comms, colls, objects, max_batch;
	int refused_rounds, reshares, second_pct, limits, filters, seeds;
} sizes;

static const sizes NORMAL = {10, 4, 7, 400, 6, 1, 8, 10, 2, 1, 1};
static const sizes LONG = {20, 8, 16, 1000, 8, 3, 30, 12, 3, 2, 6};

/* ---------------------------------------------------------------- state */

static proto_hub hub;
static or_world W;
static or_oracle O;
static sizes Z;
static unsigned long long seed;
static uint64_t rng_s[4];
static bool public_refused; /* the directory file refused "public" */
static char dir_file[300];

/* Ids posted and refused (never stored), and ids never posted. */
static char (*refused_ids)[96];
static size_t n_refused_ids, cap_refused_ids;
static char (*ghost_ids)[96];
static size_t n_ghost_ids, cap_ghost_ids;
/* Ids with a stored version the oracle does not hold (a refusal the hub
 * did not make): mismatches on them are reported as consequences. */
static char (*tainted_ids)[96];
static size_t n_tainted, cap_tainted;

typedef struct status_rec {
	int comm;
	char id[RK_UUID_BUF];
	int org;
	json_t *doc;
} status_rec;
static status_rec *statuses;
static size_t n_statuses, cap_statuses;

static void push_id(char (**list)[96], size_t *n, size_t *cap, const char *id)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*list = realloc(*list, *cap * sizeof **list);
		if (!*list)
			abort();
	}
	snprintf((*list)[(*n)++], 96, "%s", id);
}

static const char *str_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

static bool contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; hay && *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

static bool is_tainted_id(const char *id)
{
	for (size_t i = 0; id && i < n_tainted; i++)
		if (strcmp(tainted_ids[i], id) == 0)
			return true;
	return false;
}

/* True when the id, or an object its stored versions refer to, has a
 * stored version the oracle does not hold: a mismatch on it may be a
 * consequence of that wrongly accepted submission. */
static bool is_tainted(const char *id)
{
	if (!id || !n_tainted)
		return false;
	if (is_tainted_id(id))
		return true;
	long o = or_find_object(&W, id);
	for (size_t i = 0; o >= 0 && i < W.n_rows; i++) {
		if (W.rows[i].obj != (size_t)o)
			continue;
		const char *k;
		json_t *v;
		json_object_foreach(W.rows[i].json, k, v) {
			size_t n = strlen(k), j;
			json_t *e;
			if (n > 4 && strcmp(k + n - 4, "_ref") == 0 && is_tainted_id(json_string_value(v)))
				return true;
			if (n > 5 && strcmp(k + n - 5, "_refs") == 0)
				json_array_foreach(v, j, e) if (is_tainted_id(json_string_value(e))) return true;
		}
	}
	return false;
}

/* ---------------------------------------------------------------- random */

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng(void) /* xoshiro256** */
{
	uint64_t r = rotl(rng_s[1] * 5, 7) * 9, t = rng_s[1] << 17;
	rng_s[2] ^= rng_s[0];
	rng_s[3] ^= rng_s[1];
	rng_s[1] ^= rng_s[2];
	rng_s[0] ^= rng_s[3];
	rng_s[2] ^= t;
	rng_s[3] = rotl(rng_s[3], 45);
	return r;
}

static void rng_seed(unsigned long long s)
{
	for (int i = 0; i < 4; i++) { /* splitmix64 */
		uint64_t z = (s += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		rng_s[i] = z ^ (z >> 31);
	}
}

static unsigned rnd(unsigned n)
{
	return n ? (unsigned)(rng() % n) : 0;
}

static bool chance(unsigned pct)
{
	return rnd(100) < pct;
}

static void rnd_uuid(char out[RK_UUID_BUF])
{
	static const char hex[] = "0123456789abcdef";
	char h[32];
	uint64_t a = rng(), b = rng();
	for (int i = 0; i < 16; i++) {
		h[i] = hex[(a >> (4 * i)) & 15];
		h[16 + i] = hex[(b >> (4 * i)) & 15];
	}
	h[12] = '4';
	h[16] = "89ab"[b >> 62];
	snprintf(out, RK_UUID_BUF, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

static void rnd_id(const char *type, char out[96])
{
	char u[RK_UUID_BUF];
	rnd_uuid(u);
	snprintf(out, 96, "%s--%s", type, u);
}

/* A fresh id that is never posted, of a given type. */
static const char *ghost(const char *type)
{
	char id[96];
	rnd_id(type, id);
	push_id(&ghost_ids, &n_ghost_ids, &cap_ghost_ids, id);
	return ghost_ids[n_ghost_ids - 1];
}

/* ---------------------------------------------------------------- report */

typedef enum {
	M_LEAK,
	M_DENIAL,
	M_CONTENT,
	M_HEADER,
	M_PAGING,
	M_FILTER,
	M_NOTFOUND,
	M_LIST,
	M_STATUS,
	M_SUBMIT,
	M_STORE,
	M_CURSOR,
	M_DIRECTORY,
	M_COUNT
} mkind;

static const char *const mkind_name[M_COUNT] = {
	"leak", "wrongful denial", "content", "date header", "paging", "filter",
	"404 answer", "listing", "status resource", "submission", "storage",
	"cursor", "directory",
};

typedef struct mgroup {
	mkind kind;
	char rule[220];
	unsigned long count;
	char example[900];
} mgroup;

#define MAX_GROUPS 400
#define MAX_PRINTED 25

static unsigned long long n_checks, n_requests;
static unsigned long n_mis[M_COUNT];
static unsigned long n_mis_total;
static mgroup groups[MAX_GROUPS];
static size_t n_groups;
static const char *cur_reader = "-";

static void mismatch(mkind k, const char *rule, const char *path, const char *obj_id,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void mismatch(mkind k, const char *rule, const char *path, const char *obj_id,
		     const char *fmt, ...)
{
	char detail[700], line[900], r[220];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	snprintf(r, sizeof r, "%s%s",
		 obj_id && is_tainted(obj_id) ? "[after a wrongly accepted submission] " : "",
		 rule);
	snprintf(line, sizeof line, "seed=%llu reader=%s path=%s object=%s: %s: %s", seed,
		 cur_reader, path ? path : "-", obj_id ? obj_id : "-", mkind_name[k], detail);
	n_mis[k]++;
	n_mis_total++;
	size_t g;
	for (g = 0; g < n_groups; g++)
		if (groups[g].kind == k && strcmp(groups[g].rule, r) == 0)
			break;
	if (g == n_groups && n_groups < MAX_GROUPS) {
		groups[g].kind = k;
		snprintf(groups[g].rule, sizeof groups[g].rule, "%s", r);
		snprintf(groups[g].example, sizeof groups[g].example, "%s", line);
		n_groups++;
	}
	if (g < n_groups)
		groups[g].count++;
	if (n_mis_total <= MAX_PRINTED)
		printf("confidentiality: MISMATCH %s [rule: %s]\n", line, r);
}

/* Counts one check; reports a mismatch when !ok. */
#define CHECK(ok, kind, rule, path, id, ...)                               \
	do {                                                               \
		n_checks++;                                                \
		if (!(ok))                                                 \
			mismatch((kind), (rule), (path), (id), __VA_ARGS__); \
	} while (0)

/* ---------------------------------------------------------------- http */

static CURL *ch;

typedef struct resp {
	long status;
	rk_buf body;
	rk_buf hdr;
	json_t *json;
} resp;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	return rk_buf_append(arg, p, size * n) == RK_OK ? size * n : 0;
}

static void resp_free(resp *r)
{
	rk_buf_cleanup(&r->body);
	rk_buf_cleanup(&r->hdr);
	json_decref(r->json);
	memset(r, 0, sizeof *r);
}

/* One request on the kept-alive connection. token NULL: anonymous. */
static bool http(const char *method, const char *path, const char *token, const char *body,
		 resp *r)
{
	char url[4096], auth[160];
	struct curl_slist *hl = NULL;

	memset(r, 0, sizeof *r);
	rk_buf_init(&r->body);
	rk_buf_init(&r->hdr);
	snprintf(url, sizeof url, "http://127.0.0.1:%u%s", hub.port, path);
	curl_easy_setopt(ch, CURLOPT_URL, url);
	hl = curl_slist_append(hl, strcmp(path, "/metrics") == 0 ? "Accept: text/plain"
								 : "Accept: " PROTO_TAXII);
	if (token) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		hl = curl_slist_append(hl, auth);
	}
	if (body) {
		hl = curl_slist_append(hl, "Content-Type: " PROTO_TAXII);
		curl_easy_setopt(ch, CURLOPT_CUSTOMREQUEST, NULL);
		curl_easy_setopt(ch, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(ch, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	} else {
		curl_easy_setopt(ch, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(ch, CURLOPT_CUSTOMREQUEST,
				 strcmp(method, "GET") == 0 ? NULL : method);
	}
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(ch, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(ch, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(ch, CURLOPT_HEADERDATA, &r->hdr);
	CURLcode cc = curl_easy_perform(ch);
	curl_slist_free_all(hl);
	n_requests++;
	if (cc != CURLE_OK) {
		printf("confidentiality: %s %s: %s\n", method, path, curl_easy_strerror(cc));
		return false;
	}
	curl_easy_getinfo(ch, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->body.len)
		r->json = json_loadb(r->body.data, r->body.len, 0, NULL);
	return true;
}

static void http_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ch = curl_easy_init();
	assert_non_null(ch);
	curl_easy_setopt(ch, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(ch, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(ch, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(ch, CURLOPT_HEADERFUNCTION, on_data);
}

static bool header(const resp *r, const char *name, char *out, size_t outlen)
{
	return proto_header_in(r->hdr.data, name, out, outlen);
}

static void scan_error(const char *path, const resp *r);

/* GET and require an answer; fails the test when none came. Error answers
 * are scanned for names the reader could not otherwise see. */
static void get(const char *path, const char *token, resp *r)
{
	if (!http("GET", path, token, NULL, r))
		fail_msg("confidentiality: no answer to GET %s (seed %llu)", path, seed);
	if (r->status >= 400)
		scan_error(path, r);
}

/* The body as text, shortened for a report. */
static const char *brief(const char *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s", s ? s : "(none)");
	if (strlen(buf) == len - 1 && len > 4)
		memcpy(buf + len - 4, "...", 4);
	return buf;
}

static char *dump(const json_t *v)
{
	return v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : strdup("(none)");
}

/* The top-level properties in which two objects differ, for a report:
 * "-p" only expected, "+p=v" only served, "~p: expected v, got w". */
static void json_diff(const json_t *want, const json_t *got, char *out, size_t len)
{
	const char *k;
	json_t *v;
	size_t used = 0;
	out[0] = '\0';
	json_object_foreach((json_t *)want, k, v) {
		json_t *g = json_object_get(got, k);
		if (g && json_equal(g, v))
			continue;
		char *a = dump(v), *b = g ? dump(g) : NULL;
		if (g)
			used += (size_t)snprintf(out + used, used < len ? len - used : 0,
						 "%s~%s: expected %.120s, got %.120s", used ? "; " : "",
						 k, a, b);
		else
			used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s-%s",
						 used ? "; " : "", k);
		free(a);
		free(b);
	}
	json_object_foreach((json_t *)got, k, v) {
		if (json_object_get(want, k))
			continue;
		char *b = dump(v);
		used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s+%s=%.120s",
					 used ? "; " : "", k, b);
		free(b);
	}
}

/* ---------------------------------------------------------------- directory */

static const char *const sectors[] = {"government-national", "energy", "financial-services",
				      "technology", "telecommunications", "healthcare",
				      "utilities", "transportation"};
static const char *const tiers[] = {"government", "nation", "international"};

static const char *comm_id(int c)
{
	return W.comms[c].id;
}

/* A user of `org` who may write coll, or -1. Members only: the cases
 * that need one test a rule of their own, which a refusal of a client's
 * whole POST would hide. */
static int writer_of_org(int org, int coll)
{
	int found[OR_MAX_USERS], n = 0;
	if (!or_member(&W, W.colls[coll].comm, org))
		return -1;
	for (int u = 0; u < W.n_users; u++)
		if (W.users[u].org == org && or_may_write_coll(&W, u, coll))
			found[n++] = u;
	return n ? found[rnd((unsigned)n)] : -1;
}

static void gen_directory(void)
{
	or_world_init(&W);
	W.n_orgs = Z.orgs;
	for (int i = 0; i < W.n_orgs; i++) {
		snprintf(W.orgs[i].slug, sizeof W.orgs[i].slug, "org-%c%c", 'a' + i % 26,
			 'a' + (int)rnd(26));
		or_identity(W.orgs[i].slug, W.orgs[i].identity);
	}
	/* communities: the last two organisations stay outside every
	 * community and reach only as clients */
	int inside = W.n_orgs - 2;
	W.n_comms = Z.comms;
	for (int c = 0; c < W.n_comms; c++) {
		snprintf(W.comms[c].id, sizeof W.comms[c].id, "comm-%c%u", 'a' + c, rnd(100));
		int want = 2 + (int)rnd(4);
		while (__builtin_popcount(W.comms[c].members) < want)
			W.comms[c].members |= 1u << rnd((unsigned)inside);
	}
	/* every inside organisation is a member of something */
	for (int o = 0; o < inside; o++) {
		bool any = false;
		for (int c = 0; c < W.n_comms; c++)
			any |= or_member(&W, c, o);
		if (!any)
			W.comms[rnd((unsigned)W.n_comms)].members |= 1u << o;
	}
	/* clients: a few providers serve one or two organisations (the
	 * outsiders always have a provider) */
	for (int o = inside; o < W.n_orgs; o++)
		W.orgs[rnd((unsigned)inside)].clients |= 1u << o;
	for (int k = 0; k < 3; k++) {
		int p = (int)rnd((unsigned)inside), cl = (int)rnd((unsigned)W.n_orgs);
		if (cl != p)
			W.orgs[p].clients |= 1u << cl;
	}
	/* collections */
	W.n_colls = Z.colls;
	for (int c = 0; c < W.n_colls; c++) {
		or_coll *col = &W.colls[c];
		rnd_uuid(col->id);
		col->comm = c < W.n_comms ? c : (int)rnd((unsigned)W.n_comms);
		col->default_tlp = (or_tlp)rnd(4); /* CLEAR .. AMBER+STRICT, never RED */
		col->public = c == 0 || (c > 1 && chance(30));
		if (c == 0)
			col->default_tlp = OR_TLP_CLEAR;
		if (c == 1)
			col->public = false;
		do {
			col->can_read = 0;
			for (int r = 0; r < OR_ROLE_COUNT; r++)
				if (chance(65))
					col->can_read |= 1u << r;
		} while (!col->can_read);
		do {
			col->can_write = 0;
			for (int r = 0; r < OR_ROLE_COUNT; r++)
				if (chance(45))
					col->can_write |= 1u << r;
		} while (!col->can_write);
	}
	/* users: 2 to 4 per organisation, every role somewhere */
	for (int o = 0; o < W.n_orgs; o++) {
		int n = 2 + (int)rnd(3);
		for (int k = 0; k < n && W.n_users < OR_MAX_USERS; k++) {
			or_user *u = &W.users[W.n_users];
			u->org = o;
			u->role = W.n_users < OR_ROLE_COUNT ? (or_role)W.n_users
							     : (or_role)rnd(OR_ROLE_COUNT);
			char slug[32];
			snprintf(slug, sizeof slug, "%s", W.orgs[o].slug);
			snprintf(u->name, sizeof u->name, "%s-%s-%d", slug, or_role_name(u->role), k);
			char hex[49];
			for (int i = 0; i < 48; i++)
				hex[i] = "0123456789abcdef"[rnd(16)];
			hex[48] = '\0';
			snprintf(u->token, sizeof u->token, "conf-%s", hex);
			char uname[80];
			snprintf(uname, sizeof uname, "user:%s", u->name);
			or_identity(uname, u->identity);
			W.n_users++;
		}
	}
	/* every collection has a member who may write it */
	for (int c = 0; c < W.n_colls; c++) {
		bool ok = false;
		for (int u = 0; u < W.n_users && !ok; u++)
			ok = or_may_write_coll(&W, u, c) &&
			     or_member(&W, W.colls[c].comm, W.users[u].org);
		if (ok || W.n_users >= OR_MAX_USERS)
			continue;
		int o;
		do
			o = (int)rnd((unsigned)W.n_orgs);
		while (!or_member(&W, W.colls[c].comm, o));
		or_role role = (or_role)(__builtin_ctz(W.colls[c].can_write));
		or_user *u = &W.users[W.n_users];
		u->org = o;
		u->role = role;
		char slug[32];
		snprintf(slug, sizeof slug, "%s", W.orgs[o].slug);
		snprintf(u->name, sizeof u->name, "%s-%s-w%d", slug, or_role_name(role), c);
		snprintf(u->token, sizeof u->token, "conf-writer-%02d-%016llx%016llx", c,
			 (unsigned long long)rng(), (unsigned long long)rng());
		char uname[80];
		snprintf(uname, sizeof uname, "user:%s", u->name);
		or_identity(uname, u->identity);
		W.n_users++;
	}
}

static json_t *roles_json(unsigned mask)
{
	json_t *a = json_array();
	for (int r = 0; r < OR_ROLE_COUNT; r++)
		if (mask >> r & 1u)
			json_array_append_new(a, json_string(or_role_name((or_role)r)));
	return a;
}

static json_t *directory_json(bool with_public)
{
	json_t *orgs = json_array(), *users = json_array(), *comms = json_array(),
	       *colls = json_array();
	for (int o = 0; o < W.n_orgs; o++) {
		json_t *cl = json_array();
		for (int k = 0; k < W.n_orgs; k++)
			if (W.orgs[o].clients >> k & 1u)
				json_array_append_new(cl, json_string(W.orgs[k].slug));
		json_t *e = json_pack("{ss ss s[s] ss}", "id", W.orgs[o].slug, "name",
				      W.orgs[o].slug, "sectors",
				      sectors[o % RK_ARRAY_LEN(sectors)], "country", "JP");
		if (json_array_size(cl))
			json_object_set_new(e, "clients", cl);
		else
			json_decref(cl);
		json_array_append_new(orgs, e);
	}
	for (int u = 0; u < W.n_users; u++)
		json_array_append_new(users, json_pack("{ss ss ss ss}", "name", W.users[u].name,
						       "organization",
						       W.orgs[W.users[u].org].slug, "role",
						       or_role_name(W.users[u].role), "token",
						       W.users[u].token));
	for (int c = 0; c < W.n_comms; c++) {
		json_t *m = json_array();
		for (int o = 0; o < W.n_orgs; o++)
			if (or_member(&W, c, o))
				json_array_append_new(m, json_string(W.orgs[o].slug));
		json_array_append_new(comms, json_pack("{ss ss ss so}", "id", W.comms[c].id, "title",
						       W.comms[c].id, "tier", tiers[c % 3],
						       "members", m));
	}
	for (int c = 0; c < W.n_colls; c++) {
		char title[64];
		snprintf(title, sizeof title, "collection %d", c);
		json_t *e = json_pack("{ss ss ss ss so so}", "id", W.colls[c].id, "community",
				      comm_id(W.colls[c].comm), "title", title, "default_marking",
				      or_tlp_name(W.colls[c].default_tlp), "can_read",
				      roles_json(W.colls[c].can_read), "can_write",
				      roles_json(W.colls[c].can_write));
		if (with_public && W.colls[c].public)
			json_object_set_new(e, "public", json_true());
		json_array_append_new(colls, e);
	}
	return json_pack("{so so so so}", "organizations", orgs, "users", users, "communities",
			 comms, "collections", colls);
}

/* `$RENKEI_BIN admin apply --data DIR FILE`; its output in DIR/apply.log.
 * Returns the exit status. */
static int admin_apply(char *out, size_t outlen)
{
	char log[320];
	const char *bin = getenv("RENKEI_BIN");
	if (!bin || !*bin)
		bin = "build/renkei";
	snprintf(log, sizeof log, "%s/apply.log", hub.dir);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (!freopen(log, "w", stdout) || !freopen(log, "a", stderr))
			_exit(126);
		execl(bin, bin, "admin", "apply", "--data", hub.dir, dir_file, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	out[0] = '\0';
	FILE *f = fopen(log, "r");
	if (f) {
		size_t n = fread(out, 1, outlen - 1, f);
		out[n] = '\0';
		fclose(f);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void write_and_apply_directory(void)
{
	char out[2048];
	snprintf(dir_file, sizeof dir_file, "%s/directory.json", hub.dir);
	json_t *d = directory_json(true);
	assert_int_equal(json_dump_file(d, dir_file, JSON_INDENT(1)), 0);
	json_decref(d);
	int rc = admin_apply(out, sizeof out);
	public_refused = false;
	if (rc != 0) {
		bool any_public = false;
		for (int c = 0; c < W.n_colls; c++)
			any_public |= W.colls[c].public;
		if (!any_public || !strstr(out, "public"))
			fail_msg("confidentiality: admin apply failed (%d): %s", rc, out);
		/* The document's "public" flag is not accepted: report it, and
		 * go on without public collections. */
		n_checks++;
		mismatch(M_DIRECTORY, "the directory file refuses a collection's \"public\" flag",
			 "renkei admin apply", NULL, "admin apply exited %d: %.300s", rc, out);
		public_refused = true;
		for (int c = 0; c < W.n_colls; c++)
			W.colls[c].public = false;
		d = directory_json(false);
		assert_int_equal(json_dump_file(d, dir_file, JSON_INDENT(1)), 0);
		json_decref(d);
		rc = admin_apply(out, sizeof out);
		if (rc != 0)
			fail_msg("confidentiality: admin apply failed (%d): %s", rc, out);
	} else {
		n_checks++;
	}
}

static void print_world(void)
{
	int pub = 0;
	for (int c = 0; c < W.n_colls; c++)
		pub += W.colls[c].public;
	printf("confidentiality: world: %d organisations, %d users, %d communities, "
	       "%d collections (%d public)\n",
	       W.n_orgs, W.n_users, W.n_comms, W.n_colls, pub);
	for (int c = 0; c < W.n_comms; c++) {
		printf("  community %s:", W.comms[c].id);
		for (int o = 0; o < W.n_orgs; o++)
			if (or_member(&W, c, o))
				printf(" %s", W.orgs[o].slug);
		printf("\n");
	}
	for (int o = 0; o < W.n_orgs; o++) {
		if (!W.orgs[o].clients)
			continue;
		printf("  %s serves:", W.orgs[o].slug);
		for (int k = 0; k < W.n_orgs; k++)
			if (W.orgs[o].clients >> k & 1u)
				printf(" %s", W.orgs[k].slug);
		printf("\n");
	}
	for (int c = 0; c < W.n_colls; c++) {
		printf("  collection %d %s in %s, %s%s, read:", c, W.colls[c].id,
		       comm_id(W.colls[c].comm), or_tlp_name(W.colls[c].default_tlp),
		       W.colls[c].public ? ", public" : "");
		for (int r = 0; r < OR_ROLE_COUNT; r++)
			if (W.colls[c].can_read >> r & 1u)
				printf(" %s", or_role_name((or_role)r));
		printf("; write:");
		for (int r = 0; r < OR_ROLE_COUNT; r++)
			if (W.colls[c].can_write >> r & 1u)
				printf(" %s", or_role_name((or_role)r));
		printf("\n");
	}
}

/* ---------------------------------------------------------------- objects */

static void ts(unsigned days, unsigned secs, unsigned ms, char out[RK_TIME_BUF])
{
	rk_time t;
	rk_time_parse("2024-01-01T00:00:00Z", &t);
	t += ((rk_time)days * 86400 + secs) * 1000000 + (rk_time)ms * 1000;
	rk_time_format(t, 3, out);
}

static void rnd_ts(char out[RK_TIME_BUF])
{
	ts(rnd(300), rnd(86400), rnd(1000), out);
}

/* An id stored (any type in types, or any type when types is NULL), or
 * NULL when none. */
static const char *pick_stored(const char *const *types)
{
	size_t cand[64], n = 0;
	for (int tries = 0; tries < 200 && n < RK_ARRAY_LEN(cand) && W.n_objs; tries++) {
		size_t i = rnd((unsigned)W.n_objs);
		bool ok = !types;
		for (size_t k = 0; types && types[k]; k++)
			ok |= strcmp(W.objs[i].type, types[k]) == 0;
		if (ok)
			cand[n++] = i;
	}
	return n ? W.objs[cand[rnd((unsigned)n)]].id : NULL;
}

static const char *const SDO_TYPES[] = {"indicator", "malware", "identity", "report", "note",
					NULL};
static const char *const IDENTITY_TYPE[] = {"identity", NULL};

static json_t *ref_list(unsigned min, unsigned max, const char *const *types,
			const char *ghost_type)
{
	json_t *a = json_array();
	unsigned n = min + rnd(max - min + 1);
	for (unsigned i = 0; i < n; i++) {
		const char *id = chance(80) ? pick_stored(types) : NULL;
		if (!id)
			id = ghost(ghost_type);
		bool dup = false;
		size_t k;
		json_t *v;
		json_array_foreach(a, k, v) dup |= strcmp(json_string_value(v), id) == 0;
		if (!dup)
			json_array_append_new(a, json_string(id));
	}
	return a;
}

static const char *rnd_identity_of_directory(bool users_too)
{
	if (users_too && chance(35))
		return W.users[rnd((unsigned)W.n_users)].identity;
	return W.orgs[rnd((unsigned)W.n_orgs)].identity;
}

static json_t *identity_list(unsigned max, bool users_too)
{
	json_t *a = json_array();
	unsigned n = 1 + rnd(max);
	for (unsigned i = 0; i < n; i++) {
		const char *id = rnd_identity_of_directory(users_too);
		bool dup = false;
		size_t k;
		json_t *v;
		json_array_foreach(a, k, v) dup |= strcmp(json_string_value(v), id) == 0;
		if (!dup)
			json_array_append_new(a, json_string(id));
	}
	return a;
}

static json_t *ext_of(json_t *o, bool create)
{
	json_t *exts = json_object_get(o, "extensions");
	if (!exts && create) {
		exts = json_object();
		json_object_set_new(o, "extensions", exts);
	}
	json_t *e = json_object_get(exts, OR_EXT_ID);
	if (!e && create) {
		e = json_pack("{ss}", "extension_type", "property-extension");
		json_object_set_new(exts, OR_EXT_ID, e);
	}
	return e;
}

static const char *tlp_id(or_tlp level)
{
	const char *v1 = or_tlp1_marking(level);
	return v1 && chance(25) ? v1 : or_tlp2_marking(level);
}

static or_tlp rnd_level(void)
{
	static const unsigned w[] = {18, 22, 24, 16, 20};
	unsigned x = rnd(100), acc = 0;
	for (int l = 0; l < 5; l++) {
		acc += w[l];
		if (x < acc)
			return (or_tlp)l;
	}
	return OR_TLP_AMBER;
}

/* Selectors that resolve in o and that the reading rules can handle (see
 * the opening comment): whole top-level properties, and elements of labels
 * and external_references. */
static size_t eligible_selectors(const json_t *o, char sel[][64], size_t max)
{
	static const char *const skip[] = {"type", "id", "spec_version", "object_marking_refs",
					   "granular_markings", "extensions", "created_by_ref",
					   "where_sighted_refs", NULL};
	size_t n = 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v) {
		bool skipped = false;
		for (size_t i = 0; skip[i]; i++)
			skipped |= strcmp(skip[i], k) == 0;
		if (skipped || n >= max)
			continue;
		snprintf(sel[n++], 64, "%s", k);
		if (strcmp(k, "labels") == 0 || strcmp(k, "external_references") == 0) {
			for (size_t i = 0; i < json_array_size(v) && n + 2 < max; i++) {
				snprintf(sel[n++], 64, "%s.[%zu]", k, i);
				if (strcmp(k, "external_references") == 0)
					snprintf(sel[n++], 64, "%s.[%zu].url", k, i);
			}
		}
	}
	return n;
}

static bool needs_recipients(const json_t *o)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(o, "object_marking_refs"), i, m)
		if (or_tlp_of_marking(json_string_value(m)) == OR_TLP_RED)
			return true;
	json_array_foreach(json_object_get(o, "granular_markings"), i, m)
		if (or_tlp_of_marking(json_string_value(json_object_get(m, "marking_ref"))) ==
		    OR_TLP_RED)
			return true;
	return false;
}

static bool has_recipients(const json_t *o)
{
	return json_array_size(json_object_get(ext_of((json_t *)o, false), "recipients")) > 0;
}

static unsigned obj_counter;

/* A random valid object. open: it goes to a public collection, where
 * TLP:CLEAR without extension lists is made more likely, so that anonymous
 * readers have something to read. */
static json_t *gen_object(bool open)
{
	static const char *const types[] = {"indicator", "indicator", "indicator", "malware",
					    "malware", "identity", "report", "report",
					    "relationship", "relationship", "relationship",
					    "sighting", "sighting", "note"};
	const char *type = types[rnd(RK_ARRAY_LEN(types))];
	char id[96], created[RK_TIME_BUF], t2[RK_TIME_BUF], text[128];
	unsigned n = ++obj_counter;

	rnd_id(type, id);
	rnd_ts(created);
	json_t *o = json_pack("{ss ss ss ss ss}", "type", type, "spec_version", "2.1", "id", id,
			      "created", created, "modified", created);
	if (strcmp(type, "indicator") == 0) {
		snprintf(text, sizeof text, "[ipv4-addr:value = '198.51.100.%u']", n % 250);
		json_object_set_new(o, "pattern", json_string(text));
		json_object_set_new(o, "pattern_type", json_string("stix"));
		json_object_set_new(o, "valid_from", json_string("2024-01-01T00:00:00Z"));
		if (chance(60)) {
			snprintf(text, sizeof text, "indicator %u", n);
			json_object_set_new(o, "name", json_string(text));
		}
	} else if (strcmp(type, "malware") == 0) {
		bool fam = chance(50);
		json_object_set_new(o, "is_family", json_boolean(fam));
		if (fam || chance(60)) {
			snprintf(text, sizeof text, "malware %u", n);
			json_object_set_new(o, "name", json_string(text));
		}
	} else if (strcmp(type, "identity") == 0) {
		snprintf(text, sizeof text, "contact %u", n);
		json_object_set_new(o, "name", json_string(text));
		json_object_set_new(o, "identity_class", json_string("organization"));
	} else if (strcmp(type, "report") == 0) {
		snprintf(text, sizeof text, "report %u", n);
		json_object_set_new(o, "name", json_string(text));
		rnd_ts(t2);
		json_object_set_new(o, "published", json_string(t2));
		json_object_set_new(o, "object_refs", ref_list(1, 5, NULL, "indicator"));
	} else if (strcmp(type, "note") == 0) {
		snprintf(text, sizeof text, "note %u", n);
		json_object_set_new(o, "content", json_string(text));
		if (chance(40))
			json_object_set_new(o, "abstract", json_string("abstract"));
		json_object_set_new(o, "object_refs", ref_list(1, 3, NULL, "malware"));
	} else if (strcmp(type, "relationship") == 0) {
		static const char *const rt[] = {"indicates", "uses", "related-to", "targets"};
		json_object_set_new(o, "relationship_type", json_string(rt[rnd(4)]));
		const char *s = chance(85) ? pick_stored(SDO_TYPES) : NULL;
		const char *t = chance(85) ? pick_stored(SDO_TYPES) : NULL;
		json_object_set_new(o, "source_ref", json_string(s ? s : ghost("indicator")));
		json_object_set_new(o, "target_ref", json_string(t ? t : ghost("malware")));
	} else { /* sighting */
		const char *s = chance(85) ? pick_stored(SDO_TYPES) : NULL;
		json_object_set_new(o, "sighting_of_ref", json_string(s ? s : ghost("indicator")));
		if (chance(40))
			json_object_set_new(o, "count", json_integer(1 + rnd(50)));
		if (chance(60)) {
			json_t *ws = json_array();
			unsigned k = 1 + rnd(3);
			for (unsigned i = 0; i < k; i++) {
				const char *w = NULL;
				unsigned x = rnd(3);
				if (x == 0)
					w = pick_stored(IDENTITY_TYPE);
				else if (x == 1)
					w = W.orgs[rnd((unsigned)W.n_orgs)].identity;
				if (!w)
					w = ghost("identity");
				bool dup = false;
				size_t j;
				json_t *v;
				json_array_foreach(ws, j, v) dup |= strcmp(json_string_value(v), w) == 0;
				if (!dup)
					json_array_append_new(ws, json_string(w));
			}
			json_object_set_new(o, "where_sighted_refs", ws);
		}
	}
	/* common optional properties */
	if (chance(50) && !json_object_get(o, "description")) {
		snprintf(text, sizeof text, "description of %u", n);
		json_object_set_new(o, "description", json_string(text));
	}
	if (chance(30)) {
		json_t *l = json_array();
		unsigned k = 1 + rnd(3);
		for (unsigned i = 0; i < k; i++) {
			snprintf(text, sizeof text, "label-%u-%u", n, i);
			json_array_append_new(l, json_string(text));
		}
		json_object_set_new(o, "labels", l);
	}
	if (chance(25)) {
		json_t *l = json_array();
		unsigned k = 1 + rnd(2);
		for (unsigned i = 0; i < k; i++) {
			snprintf(text, sizeof text, "https://example.org/%u/%u", n, i);
			json_array_append_new(l, json_pack("{ss ss}", "source_name", "example", "url",
							   text));
		}
		json_object_set_new(o, "external_references", l);
	}
	if (chance(20))
		json_object_set_new(o, "confidence", json_integer(rnd(101)));

	/* object-level TLP, or none (the collection's default) */
	if (chance(80))
		json_object_set_new(o, "object_marking_refs",
				    json_pack("[s]", tlp_id(open && chance(50) ? OR_TLP_CLEAR
									: rnd_level())));
	/* the renkei extension */
	if (chance(open ? 20 : 45)) {
		json_t *e = ext_of(o, true);
		if (chance(35))
			json_object_set_new(e, "recipients", identity_list(3, true));
		if (chance(30))
			json_object_set_new(e, "distribution", identity_list(3, false));
		if (chance(25)) {
			json_t *cl = json_array();
			unsigned k = 1 + rnd(2);
			for (unsigned i = 0; i < k; i++) {
				const char *c = W.comms[rnd((unsigned)W.n_comms)].id;
				if (i == 0 || strcmp(json_string_value(json_array_get(cl, 0)), c))
					json_array_append_new(cl, json_string(c));
			}
			json_object_set_new(e, "communities", cl);
		}
	}
	/* granular TLP markings */
	if (chance(30)) {
		char sel[48][64];
		size_t ns = eligible_selectors(o, sel, 48);
		json_t *gm = json_array();
		unsigned k = 1 + rnd(3);
		for (unsigned i = 0; i < k && ns; i++) {
			json_t *sl = json_array();
			unsigned m = 1 + rnd(2);
			for (unsigned j = 0; j < m; j++) {
				const char *s = sel[rnd((unsigned)ns)];
				size_t q;
				json_t *v;
				bool dup = false;
				json_array_foreach(sl, q, v) dup |= strcmp(json_string_value(v), s) == 0;
				if (!dup)
					json_array_append_new(sl, json_string(s));
			}
			json_array_append_new(gm, json_pack("{ss so}", "marking_ref",
							    tlp_id(rnd_level()), "selectors", sl));
		}
		if (json_array_size(gm))
			json_object_set_new(o, "granular_markings", gm);
		else
			json_decref(gm);
	}
	/* TLP:RED needs recipients */
	if (needs_recipients(o) && !has_recipients(o))
		json_object_set_new(ext_of(o, true), "recipients", identity_list(3, true));
	return o;
}

/* The hub's completion (taxii_ingest.c, tested in test_taxii_hub.c): an SDO
 * or SRO without created_by_ref gets the writer's organisation identity;
 * an object with neither object_marking_refs nor granular_markings gets the
 * collection's default TLP 2.0 marking. */
static json_t *complete(const json_t *posted, int writer, int coll)
{
	json_t *c = json_deep_copy(posted);
	if (!json_object_get(c, "created_by_ref"))
		json_object_set_new(c, "created_by_ref",
				    json_string(W.orgs[W.users[writer].org].identity));
	if (json_array_size(json_object_get(c, "object_marking_refs")) == 0 &&
	    json_array_size(json_object_get(c, "granular_markings")) == 0)
		json_object_set_new(c, "object_marking_refs",
				    json_pack("[s]", or_tlp2_marking(W.colls[coll].default_tlp)));
	return c;
}

/* ---------------------------------------------------------------- posting */

typedef struct posted {
	json_t *obj;            /* as sent */
	const char *expect;     /* NULL: must be stored; else the reason phrase */
} posted;

static void objects_path(int coll, char *out, size_t len)
{
	snprintf(out, len, "/%s/collections/%s/objects/", comm_id(W.colls[coll].comm),
		 W.colls[coll].id);
}

static const json_t *status_entry(const json_t *st, const char *list, const char *id)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(st, list), i, e)
		if (strcmp(str_or(json_string_value(json_object_get(e, "id")), ""), id) == 0)
			return e;
	return NULL;
}

/* POSTs objs[0..n) as writer to coll; checks each outcome against the
 * oracle and records what was stored. */
static void post_envelope(int writer, int coll, posted *objs, size_t n)
{
	char path[256];
	json_t *env = json_pack("{s[]}", "objects");
	for (size_t i = 0; i < n; i++)
		json_array_append(json_object_get(env, "objects"), objs[i].obj);
	char *body = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	objects_path(coll, path, sizeof path);
	resp r;
	const char *saved_reader = cur_reader;
	cur_reader = W.users[writer].name;
	if (!http("POST", path, W.users[writer].token, body, &r))
		fail_msg("confidentiality: no answer to POST %s", path);
	free(body);
	if (r.status != 202) {
		char b[300];
		for (size_t i = 0; i < n; i++) {
			const char *id = json_string_value(json_object_get(objs[i].obj, "id"));
			if (or_find_object(&W, id) < 0)
				push_id(&refused_ids, &n_refused_ids, &cap_refused_ids, id);
		}
		CHECK(false, M_SUBMIT,
		      or_member(&W, W.colls[coll].comm, W.users[writer].org)
			      ? "POST refused as a whole for a member allowed to write"
			      : "POST refused as a whole for a client of a member allowed to write",
		      path, NULL, "expected 202, got %ld %s", r.status,
		      brief(r.body.data, b, sizeof b));
		resp_free(&r);
		cur_reader = saved_reader;
		return;
	}
	json_t *st = r.json;
	CHECK(json_integer_value(json_object_get(st, "total_count")) == (json_int_t)n, M_SUBMIT,
	      "status total_count", path, NULL, "expected %zu, got %lld", n,
	      (long long)json_integer_value(json_object_get(st, "total_count")));
	/* entries name only what was sent */
	for (int pass = 0; pass < 2; pass++) {
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(st, pass ? "failures" : "successes"), i, e) {
			const char *id = json_string_value(json_object_get(e, "id"));
			bool sent = false;
			for (size_t k = 0; k < n && id; k++)
				sent |= strcmp(id, json_string_value(json_object_get(objs[k].obj,
										      "id"))) == 0;
			CHECK(sent, M_STATUS, "a status entry names an object the poster did not send",
			      path, id, "entry %s", id ? id : "(no id)");
		}
	}
	for (size_t i = 0; i < n; i++) {
		const char *id = json_string_value(json_object_get(objs[i].obj, "id"));
		const json_t *ok = status_entry(st, "successes", id);
		const json_t *bad = status_entry(st, "failures", id);
		const char *msg = json_string_value(json_object_get(bad, "message"));
		char where[32];
		snprintf(where, sizeof where, "objects[%zu]", i);
		if (!objs[i].expect) {
			CHECK(ok && !bad, M_SUBMIT, "an object the document accepts was refused", path,
			      id, "expected success, got %s", msg ? msg : "no entry");
			if (ok && !bad) {
				long o = or_find_object(&W, id);
				if (o < 0)
					o = (long)or_world_add_object(
						&W, id, json_string_value(json_object_get(objs[i].obj, "type")),
						W.users[writer].org);
				or_world_add_row(&W, coll, (size_t)o, complete(objs[i].obj, writer, coll));
			} else if (or_find_object(&W, id) < 0) {
				push_id(&refused_ids, &n_refused_ids, &cap_refused_ids, id);
			}
		} else {
			char rule[200];
			snprintf(rule, sizeof rule, "accepted an object the document refuses (\"%s\")",
				 objs[i].expect);
			CHECK(bad && !ok, M_SUBMIT, rule, path, id, "expected refusal \"%s\", got success",
			      objs[i].expect);
			if (bad) {
				snprintf(rule, sizeof rule, "refusal without the documented reason (\"%s\")",
					 objs[i].expect);
				CHECK(msg && contains_nocase(msg, objs[i].expect) && strstr(msg, where),
				      M_SUBMIT, rule, path, id, "expected \"%s: ... %s\", got \"%s\"",
				      where, objs[i].expect, msg ? msg : "(no message)");
			}
			if (ok && !is_tainted_id(id))
				push_id(&tainted_ids, &n_tainted, &cap_tainted, id);
			if (or_find_object(&W, id) < 0)
				push_id(&refused_ids, &n_refused_ids, &cap_refused_ids, id);
		}
	}
	/* keep the status for the read phase */
	if (n_statuses == cap_statuses) {
		cap_statuses = cap_statuses ? 2 * cap_statuses : 64;
		statuses = realloc(statuses, cap_statuses * sizeof *statuses);
		assert_non_null(statuses);
	}
	status_rec *s = &statuses[n_statuses++];
	s->comm = W.colls[coll].comm;
	snprintf(s->id, sizeof s->id, "%s", str_or(json_string_value(json_object_get(st, "id")), ""));
	s->org = W.users[writer].org;
	s->doc = json_incref(st);
	resp_free(&r);
	cur_reader = saved_reader;
}

/* A collection and a user allowed to write it; clients now and then
 * unless members_only. */
static bool pick_writer(int *coll, int *writer, bool members_only)
{
	for (int tries = 0; tries < 100; tries++) {
		int c = (int)rnd((unsigned)W.n_colls);
		int cand[OR_MAX_USERS], n = 0, nc = 0, clients[OR_MAX_USERS];
		for (int u = 0; u < W.n_users; u++) {
			if (!or_may_write_coll(&W, u, c))
				continue;
			if (or_member(&W, W.colls[c].comm, W.users[u].org))
				cand[n++] = u;
			else
				clients[nc++] = u;
		}
		if (nc && !members_only && chance(12)) {
			*coll = c;
			*writer = clients[rnd((unsigned)nc)];
			return true;
		}
		if (n) {
			*coll = c;
			*writer = cand[rnd((unsigned)n)];
			return true;
		}
	}
	return false;
}

static void free_posted(posted *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(p[i].obj);
}

/* gen_object, drawn again (a few times) while it is a sighting marked
 * more widely than what it sights, which the hub refuses (docs
 * "Sightings"), or, for a writer of role partner, an object for named
 * organisations none of which is here (docs "Federation"). */
static json_t *gen_accepted(int writer, int coll)
{
	json_t *o = gen_object(W.colls[coll].public);
	for (int again = 0; again < 64; again++) {
		const char *why = or_submission_refusal(&W, writer, coll, o);
		if (!why || (strncmp(why, "a sighting", 10) != 0 &&
			     !strstr(why, "only when it names an organisation")))
			break;
		json_decref(o);
		o = gen_object(W.colls[coll].public);
	}
	return o;
}

static void post_random_objects(void)
{
	int posted_n = 0;
	while (posted_n < Z.objects) {
		int coll, writer;
		if (!pick_writer(&coll, &writer, false))
			fail_msg("confidentiality: no writer in this world");
		posted p[16];
		size_t n = 1 + rnd((unsigned)Z.max_batch);
		for (size_t i = 0; i < n; i++) {
			p[i].obj = gen_accepted(writer, coll);
			p[i].expect = or_submission_refusal(&W, writer, coll, p[i].obj);
			if (p[i].expect) /* a generator slip: must not happen */
				fail_msg("confidentiality: generated object refused by the oracle (%s)",
					 p[i].expect);
		}
		post_envelope(writer, coll, p, n);
		free_posted(p, n);
		posted_n += (int)n;
	}
}

/* The latest stored version of an object in a collection (row index). */
static long latest_row(size_t obj, int coll)
{
	long best = -1;
	for (size_t i = 0; i < W.n_rows; i++)
		if (W.rows[i].obj == obj && W.rows[i].coll == coll &&
		    (best < 0 || W.rows[i].version_time > W.rows[best].version_time))
			best = (long)i;
	return best;
}

static json_t *next_version(const json_t *stored, unsigned plus_secs)
{
	json_t *v = json_deep_copy(stored);
	rk_time t;
	char buf[RK_TIME_BUF], text[96];
	rk_time_parse(json_string_value(json_object_get(v, "modified")), &t);
	rk_time_format(t + (rk_time)plus_secs * 1000000, 3, buf);
	json_object_set_new(v, "modified", json_string(buf));
	snprintf(text, sizeof text, "revised %u", plus_secs);
	json_object_set_new(v, "description", json_string(text));
	return v;
}

static void post_second_versions(void)
{
	size_t n0 = W.n_rows;
	for (size_t i = 0; i < n0; i++) {
		if (!chance((unsigned)Z.second_pct))
			continue;
		const or_row *r = &W.rows[i];
		int writer = writer_of_org(W.objs[r->obj].owner, r->coll);
		if (writer < 0)
			continue;
		long last = latest_row(r->obj, r->coll);
		posted p = {next_version(W.rows[last].json, 1 + rnd(100000)), NULL};
		p.expect = or_submission_refusal(&W, writer, r->coll, p.obj);
		if (p.expect && (strncmp(p.expect, "a sighting", 10) == 0 ||
				 strstr(p.expect, "only when it names an organisation"))) {
			/* its indicator was re-shared into this collection
			 * since, marked more strictly (docs "Sightings"); or
			 * the writer drawn is a partner user of the owner, for
			 * whom an object naming no one here is a relay the hub
			 * refuses (docs "Federation") */
			json_decref(p.obj);
			continue;
		}
		if (p.expect)
			fail_msg("confidentiality: second version refused by the oracle (%s)", p.expect);
		post_envelope(writer, r->coll, &p, 1);
		json_decref(p.obj);
	}
}

/* Re-sharing: owners post stored objects (with an explicit TLP marking)
 * into other collections; the oracle says which the table allows. */
static void post_reshares(void)
{
	int allowed = 0, refused = 0;
	for (int tries = 0; tries < 4000 && (allowed < Z.reshares || refused < Z.reshares);
	     tries++) {
		size_t obj = rnd((unsigned)W.n_objs);
		long row = -1;
		for (size_t i = 0; i < W.n_rows && row < 0; i++)
			if (W.rows[i].obj == obj)
				row = latest_row(obj, W.rows[i].coll);
		if (row < 0 || W.rows[row].marked == OR_TLP_NONE)
			continue;
		int tgt = (int)rnd((unsigned)W.n_colls);
		if (or_find_row(&W, tgt, W.objs[obj].id, NULL) >= 0)
			continue;
		or_tlp level = W.rows[row].marked;
		if (W.colls[tgt].public && level >= OR_TLP_AMBER)
			continue; /* not said by the table: see the opening comment */
		int writer = writer_of_org(W.objs[obj].owner, tgt);
		if (writer < 0)
			continue;
		posted p = {json_deep_copy(W.rows[row].json), NULL};
		p.expect = or_submission_refusal(&W, writer, tgt, p.obj);
		if ((p.expect && refused >= Z.reshares) || (!p.expect && allowed >= Z.reshares) ||
		    (p.expect && strncmp(p.expect, "a sighting", 10) == 0) ||
		    (p.expect && strstr(p.expect, "only when it names an organisation"))) {
			/* (a partner's object for no one reached by the target:
			 * the relay rule, docs "Federation", not re-sharing) */
			json_decref(p.obj);
			continue;
		}
		if (p.expect && strcmp(p.expect, "re-sharing") != 0)
			fail_msg("confidentiality: re-share refused for another reason (%s)", p.expect);
		if (p.expect)
			refused++;
		else
			allowed++;
		post_envelope(writer, tgt, &p, 1);
		json_decref(p.obj);
	}
}

typedef enum {
	R_RED_NO_RECIPIENTS,
	R_GRANULAR_RED_NO_RECIPIENTS,
	R_CONFLICT,
	R_UNKNOWN_RECIPIENT,
	R_DISTRIBUTION_USER,
	R_UNKNOWN_DISTRIBUTION,
	R_UNKNOWN_COMMUNITY,
	R_UNKNOWN_MARKING,
	R_UNKNOWN_GRANULAR_MARKING,
	R_CASES
} refusal_case;

static void strip_ext_list(json_t *o, const char *name)
{
	json_t *e = ext_of(o, false);
	if (e)
		json_object_del(e, name);
}

/* Turns a valid object into one the document refuses for `c`. */
static void make_refused(json_t *o, refusal_case c)
{
	char id[96];
	json_object_del(o, "granular_markings");
	switch (c) {
	case R_RED_NO_RECIPIENTS:
		json_object_set_new(o, "object_marking_refs", json_pack("[s]", tlp_id(OR_TLP_RED)));
		strip_ext_list(o, "recipients");
		break;
	case R_GRANULAR_RED_NO_RECIPIENTS: {
		char sel[48][64];
		json_object_set_new(o, "object_marking_refs", json_pack("[s]", tlp_id(OR_TLP_GREEN)));
		strip_ext_list(o, "recipients");
		size_t ns = eligible_selectors(o, sel, 48);
		json_object_set_new(o, "granular_markings",
				    json_pack("[{ss s[s]}]", "marking_ref", tlp_id(OR_TLP_RED),
					      "selectors", sel[rnd((unsigned)ns)]));
		break;
	}
	case R_CONFLICT:
		json_object_set_new(o, "object_marking_refs",
				    json_pack("[ss]", or_tlp2_marking(OR_TLP_GREEN),
					      or_tlp2_marking(OR_TLP_AMBER)));
		break;
	case R_UNKNOWN_RECIPIENT:
		rnd_id("identity", id);
		json_object_set_new(ext_of(o, true), "recipients",
				    json_pack("[ss]", W.orgs[0].identity, id));
		break;
	case R_DISTRIBUTION_USER: /* "distribution lists identities of organisations" */
		json_object_set_new(ext_of(o, true), "distribution",
				    json_pack("[s]", W.users[rnd((unsigned)W.n_users)].identity));
		break;
	case R_UNKNOWN_DISTRIBUTION:
		rnd_id("identity", id);
		json_object_set_new(ext_of(o, true), "distribution", json_pack("[s]", id));
		break;
	case R_UNKNOWN_COMMUNITY:
		json_object_set_new(ext_of(o, true), "communities",
				    json_pack("[s]", "no-such-community"));
		break;
	case R_UNKNOWN_MARKING:
		rnd_id("marking-definition", id);
		json_object_set_new(o, "object_marking_refs", json_pack("[s]", id));
		break;
	case R_UNKNOWN_GRANULAR_MARKING: {
		char sel[48][64];
		size_t ns = eligible_selectors(o, sel, 48);
		rnd_id("marking-definition", id);
		json_object_set_new(o, "object_marking_refs", json_pack("[s]", tlp_id(OR_TLP_GREEN)));
		json_object_set_new(o, "granular_markings",
				    json_pack("[{ss s[s]}]", "marking_ref", id, "selectors",
					      sel[rnd((unsigned)ns)]));
		break;
	}
	default:
		break;
	}
	/* the other rules must not trigger */
	if (c != R_RED_NO_RECIPIENTS && c != R_GRANULAR_RED_NO_RECIPIENTS && needs_recipients(o) &&
	    !has_recipients(o))
		json_object_set_new(ext_of(o, true), "recipients",
				    json_pack("[s]", W.orgs[0].identity));
}

static const char *const case_reason[R_CASES] = {
	"recipients",          "recipients",           "conflicting TLP markings",
	"unknown recipient",   "unknown distribution", "unknown distribution",
	"unknown community",   "unknown marking",      "unknown marking",
};

static void post_refusals(void)
{
	for (int round = 0; round < Z.refused_rounds; round++) {
		for (int c = 0; c < R_CASES; c++) {
			int coll, writer;
			if (!pick_writer(&coll, &writer, true))
				return;
			posted p[4];
			size_t n = 0, bad = rnd(3);
			for (size_t i = 0; i < 3; i++) {
				if (i != bad && !chance(40))
					continue;
				p[n].obj = gen_accepted(writer, coll);
				if (i == bad)
					make_refused(p[n].obj, (refusal_case)c);
				p[n].expect = or_submission_refusal(&W, writer, coll, p[n].obj);
				if (i == bad && (!p[n].expect || strcmp(p[n].expect, case_reason[c]) != 0))
					fail_msg("confidentiality: refusal case %d: the oracle says %s", c,
						 p[n].expect ? p[n].expect : "accept");
				if (i != bad && p[n].expect)
					fail_msg("confidentiality: generated object refused (%s)", p[n].expect);
				n++;
			}
			post_envelope(writer, coll, p, n);
			free_posted(p, n);
		}
	}
	/* a new version that changes the markings, by the owner */
	int done = 0;
	for (int tries = 0; tries < 2000 && done < 2 + Z.refused_rounds * 2; tries++) {
		size_t i = rnd((unsigned)W.n_rows);
		const or_row *r = &W.rows[i];
		int writer = writer_of_org(W.objs[r->obj].owner, r->coll);
		if (writer < 0 || r->marked == OR_TLP_NONE)
			continue;
		long last = latest_row(r->obj, r->coll);
		posted p = {next_version(W.rows[last].json, 200000 + rnd(1000)), NULL};
		if (chance(50)) {
			or_tlp now = r->marked, to;
			do
				to = (or_tlp)rnd(4);
			while (to == now);
			json_object_set_new(p.obj, "object_marking_refs", json_pack("[s]", tlp_id(to)));
		} else if (r->distribution) {
			strip_ext_list(p.obj, "distribution");
			json_t *e = ext_of(p.obj, false);
			if (e && json_object_size(e) == 1)
				json_object_del(json_object_get(p.obj, "extensions"), OR_EXT_ID);
			if (json_object_size(json_object_get(p.obj, "extensions")) == 0)
				json_object_del(p.obj, "extensions");
		} else {
			json_object_set_new(ext_of(p.obj, true), "distribution",
					    json_pack("[s]", W.orgs[W.objs[r->obj].owner].identity));
		}
		p.expect = or_submission_refusal(&W, writer, r->coll, p.obj);
		if (!p.expect || strcmp(p.expect, "a new version keeps the markings of the earlier versions") != 0) {
			json_decref(p.obj);
			continue;
		}
		post_envelope(writer, r->coll, &p, 1);
		json_decref(p.obj);
		done++;
	}
	/* a version of another organisation's object */
	done = 0;
	for (int tries = 0; tries < 2000 && done < 2 + Z.refused_rounds; tries++) {
		size_t i = rnd((unsigned)W.n_rows);
		const or_row *r = &W.rows[i];
		int coll, writer;
		if (!pick_writer(&coll, &writer, true) || W.users[writer].org == W.objs[r->obj].owner)
			continue;
		if (chance(50) && or_may_write_coll(&W, writer, r->coll) == false)
			continue;
		long last = latest_row(r->obj, r->coll);
		posted p = {next_version(W.rows[last].json, 300000 + rnd(1000)), NULL};
		json_object_del(p.obj, "created_by_ref");
		p.expect = or_submission_refusal(&W, writer, coll, p.obj);
		if (!p.expect || strcmp(p.expect, "owned by another organisation")) {
			json_decref(p.obj);
			continue;
		}
		post_envelope(writer, coll, &p, 1);
		json_decref(p.obj);
		done++;
	}
}

/* ---------------------------------------------------------------- truth */

static uint64_t stored_total; /* versions in the store after posting */

typedef struct truth_ctx {
	int coll;
	size_t unknown;
	unsigned char *seen;
} truth_ctx;

static rk_err on_stored_row(void *arg, const store_row *row)
{
	truth_ctx *t = arg;
	long r = or_find_row(&W, t->coll, row->id, row->version);
	char path[160];
	snprintf(path, sizeof path, "store %s", W.colls[t->coll].id);
	n_checks++;
	if (r < 0) {
		if (!is_tainted_id(row->id))
			push_id(&tainted_ids, &n_tainted, &cap_tainted, row->id);
		mismatch(M_STORE, "a version the document refuses is stored", path, row->id,
			 "version %s stored", row->version);
		t->unknown++;
		stored_total++;
		return RK_OK;
	}
	or_row *w = &W.rows[r];
	w->date_added = row->date_added;
	w->seq = row->seq;
	t->seen[r] = 1;
	stored_total++;
	json_t *stored = json_loadb(row->json, row->json_len, 0, NULL);
	char *want = dump(w->json), *got = dump(stored);
	CHECK(stored && json_equal(stored, w->json), M_STORE,
	      "stored copy differs from the posted object plus completion", path, row->id,
	      "expected %.300s, stored %.300s", want, got);
	free(want);
	free(got);
	json_decref(stored);
	const char *owner = W.orgs[W.objs[w->obj].owner].slug;
	CHECK(row->owner_org && strcmp(row->owner_org, owner) == 0, M_STORE, "stored owner",
	      path, row->id, "expected %s, stored %s", owner, row->owner_org ? row->owner_org : "-");
	return RK_OK;
}

/* Stops the hub, reads every stored version, restarts the hub. */
static void read_truth(void)
{
	store *st = NULL;
	rk_errctx ctx;
	int rc = proto_hub_stop(&hub, SIGTERM);
	assert_int_equal(rc, 0);
	rk_errctx_clear(&ctx);
	if (store_open(hub.dir, &st, &ctx) != RK_OK)
		fail_msg("confidentiality: store_open: %s", ctx.msg);
	unsigned char *seen = calloc(W.n_rows + 1, 1);
	assert_non_null(seen);
	stored_total = 0;
	for (int c = 0; c < W.n_colls; c++) {
		truth_ctx t = {.coll = c, .seen = seen};
		store_query q = {0};
		store_page page;
		q.collection_id = W.colls[c].id;
		q.version.all = true;
		q.limit = 1000;
		q.with_json = true;
		do {
			memset(&page, 0, sizeof page);
			if (store_query_rows(st, &q, NULL, NULL, on_stored_row, &t, &page, &ctx) != RK_OK)
				fail_msg("confidentiality: store_query_rows: %s", ctx.msg);
			q.after_seq = page.last_seq;
		} while (page.more);
	}
	store_close(st);
	fflush(stdout);
	/* versions the hub accepted but did not keep: drop them from the world */
	size_t kept = 0;
	for (size_t i = 0; i < W.n_rows; i++) {
		n_checks++;
		if (!seen[i]) {
			mismatch(M_STORE, "an accepted version is not in the store", "store",
				 W.objs[W.rows[i].obj].id, "version %s", W.rows[i].version);
			json_decref(W.rows[i].json);
			continue;
		}
		W.rows[kept++] = W.rows[i];
	}
	W.n_rows = kept;
	free(seen);
	if (!proto_hub_restart(&hub))
		fail_msg("confidentiality: the hub did not start again");
}

/* ---------------------------------------------------------------- reading */

typedef enum { L_OBJECTS, L_MANIFEST, L_VERSIONS, L_OBJECT } lkind;
typedef enum { V_DEFAULT, V_FIRST, V_LAST, V_ALL, V_AT } vmode;

typedef struct lq {
	lkind kind;
	int coll;
	const char *object_id; /* L_OBJECT, L_VERSIONS */
	unsigned limit;
	bool has_aa;
	rk_time aa;
	const char *types[3];
	int n_types;
	const char *ids[8];
	int n_ids;
	vmode vm;
	rk_time v_at;
	char v_at_s[40];
} lq;

static int reader_idx;
static const char *reader_token;

/* Rows of a collection in seq order (built once per world). */
static size_t **coll_rows;
static size_t *coll_n;

static int cmp_seq(const void *a, const void *b)
{
	uint64_t x = W.rows[*(const size_t *)a].seq, y = W.rows[*(const size_t *)b].seq;
	return (x > y) - (x < y);
}

static void index_collections(void)
{
	coll_rows = calloc((size_t)W.n_colls, sizeof *coll_rows);
	coll_n = calloc((size_t)W.n_colls, sizeof *coll_n);
	for (int c = 0; c < W.n_colls; c++) {
		coll_rows[c] = calloc(W.n_rows + 1, sizeof **coll_rows);
		for (size_t i = 0; i < W.n_rows; i++)
			if (W.rows[i].coll == c)
				coll_rows[c][coll_n[c]++] = i;
		qsort(coll_rows[c], coll_n[c], sizeof **coll_rows, cmp_seq);
	}
}

static void free_index(void)
{
	for (int c = 0; c < W.n_colls && coll_rows; c++)
		free(coll_rows[c]);
	free(coll_rows);
	free(coll_n);
	coll_rows = NULL;
	coll_n = NULL;
}

static bool row_matches(const lq *q, size_t ri)
{
	const or_row *r = &W.rows[ri];
	const char *id = W.objs[r->obj].id;
	if (q->object_id && strcmp(q->object_id, id) != 0)
		return false;
	if (q->n_ids) {
		bool any = false;
		for (int i = 0; i < q->n_ids; i++)
			any |= strcmp(q->ids[i], id) == 0;
		if (!any)
			return false;
	}
	if (q->n_types) {
		bool any = false;
		for (int i = 0; i < q->n_types; i++)
			any |= strcmp(q->types[i], W.objs[r->obj].type) == 0;
		if (!any)
			return false;
	}
	return true;
}

/* The rows the reader must get, in order: filters, visibility, version
 * selection (among the visible versions of each id in the collection),
 * then added_after. */
static size_t expected_rows(const lq *q, size_t *out, unsigned char *cand)
{
	size_t n = 0;
	vmode vm = q->vm;
	if (vm == V_DEFAULT)
		vm = q->kind == L_VERSIONS ? V_ALL : V_LAST;
	for (size_t k = 0; k < coll_n[q->coll]; k++) {
		size_t ri = coll_rows[q->coll][k];
		if (!row_matches(q, ri))
			continue;
		cand[ri] = 1;
		if (!or_decide(&O, ri)->visible)
			continue;
		const or_row *r = &W.rows[ri];
		bool take = true;
		if (vm == V_FIRST || vm == V_LAST) {
			for (size_t j = 0; j < coll_n[q->coll] && take; j++) {
				size_t rj = coll_rows[q->coll][j];
				const or_row *s = &W.rows[rj];
				if (rj == ri || s->obj != r->obj || !or_decide(&O, rj)->visible)
					continue;
				if (vm == V_FIRST ? s->version_time < r->version_time
						  : s->version_time > r->version_time)
					take = false;
			}
		} else if (vm == V_AT) {
			take = r->version_time == q->v_at;
		}
		if (take && q->has_aa)
			take = r->date_added > q->aa;
		if (take)
			out[n++] = ri;
	}
	return n;
}

static void url_of(const lq *q, const char *next, char *out, size_t len)
{
	char base[512];
	const char *c = comm_id(W.colls[q->coll].comm);
	const char *cid = W.colls[q->coll].id;
	switch (q->kind) {
	case L_OBJECTS:
		snprintf(base, sizeof base, "/%s/collections/%s/objects/", c, cid);
		break;
	case L_MANIFEST:
		snprintf(base, sizeof base, "/%s/collections/%s/manifest/", c, cid);
		break;
	case L_VERSIONS:
		snprintf(base, sizeof base, "/%s/collections/%s/objects/%s/versions/", c, cid,
			 q->object_id);
		break;
	case L_OBJECT:
		snprintf(base, sizeof base, "/%s/collections/%s/objects/%s/", c, cid, q->object_id);
		break;
	}
	rk_buf b;
	rk_buf_init(&b);
	rk_buf_puts(&b, base);
	char sep = '?';
	if (q->limit) {
		rk_buf_printf(&b, "%climit=%u", sep, q->limit);
		sep = '&';
	}
	if (q->has_aa) {
		char t[RK_TIME_BUF];
		rk_time_format(q->aa, 6, t);
		rk_buf_printf(&b, "%cadded_after=%s", sep, t);
		sep = '&';
	}
	if (q->n_types) {
		rk_buf_printf(&b, "%cmatch%%5Btype%%5D=", sep);
		for (int i = 0; i < q->n_types; i++)
			rk_buf_printf(&b, "%s%s", i ? "," : "", q->types[i]);
		sep = '&';
	}
	if (q->n_ids) {
		rk_buf_printf(&b, "%cmatch%%5Bid%%5D=", sep);
		for (int i = 0; i < q->n_ids; i++)
			rk_buf_printf(&b, "%s%s", i ? "," : "", q->ids[i]);
		sep = '&';
	}
	if (q->vm != V_DEFAULT) {
		static const char *const names[] = {"", "first", "last", "all", ""};
		rk_buf_printf(&b, "%cmatch%%5Bversion%%5D=%s", sep,
			      q->vm == V_AT ? q->v_at_s : names[q->vm]);
		sep = '&';
	}
	if (next)
		rk_buf_printf(&b, "%cnext=%s", sep, next);
	snprintf(out, len, "%s", b.data ? b.data : base);
	rk_buf_cleanup(&b);
}

/* Body of an error without its random error_id. */
static json_t *error_shape(const resp *r)
{
	json_t *e = r->json ? json_deep_copy(r->json) : json_string(str_or(r->body.data, ""));
	if (json_is_object(e))
		json_object_del(e, "error_id");
	return e;
}

/* Baselines: the answers to an id never stored, per collection and kind. */
static json_t *base404[OR_MAX_COLLS][2];
static long base404_status[OR_MAX_COLLS][2];

/* An id with no version the reader may read here: the answer must be the
 * one an id never stored gets. why: the rule that hides it, or where the
 * id is stored. */
static void check_not_found(int coll, bool versions, const char *path, const char *id,
			    const resp *r, const char *why)
{
	char b[300], rule[260];
	if (r->status == 200) {
		CHECK(false, M_LEAK,
		      is_tainted(id) ? "a version the hub should have refused is served" : why, path,
		      id, "the oracle hides it (%s); the hub answered 200 %s", why,
		      brief(r->body.data, b, sizeof b));
		return;
	}
	json_t *shape = error_shape(r);
	snprintf(rule, sizeof rule, "answer differs from an id never stored (%s)", why);
	CHECK(r->status == base404_status[coll][versions] &&
		      json_equal(shape, base404[coll][versions]),
	      M_NOTFOUND, rule, path, id, "expected %ld like an id never stored, got %ld %s",
	      base404_status[coll][versions], r->status, brief(r->body.data, b, sizeof b));
	json_decref(shape);
}

static void fetch_baselines(int coll)
{
	for (int v = 0; v < 2; v++) {
		char path[512];
		lq q = {.kind = v ? L_VERSIONS : L_OBJECT, .coll = coll,
			.object_id = ghost("indicator")};
		url_of(&q, NULL, path, sizeof path);
		resp r;
		get(path, reader_token, &r);
		char b[300];
		CHECK(r.status == 404, M_NOTFOUND, "an id never stored does not answer 404", path,
		      q.object_id, "got %ld %s", r.status, brief(r.body.data, b, sizeof b));
		json_decref(base404[coll][v]);
		base404[coll][v] = error_shape(&r);
		base404_status[coll][v] = r.status;
		resp_free(&r);
	}
}

static const char *content_rule(const or_verdict *v)
{
	bool g = strstr(v->changed, "granular: ") != NULL, ref = strstr(v->changed, "R7: ") != NULL;
	if (g && ref)
		return "granular redaction and reference filtering not applied as documented";
	if (g)
		return "granular redaction not applied as documented";
	if (ref)
		return "reference filtering not applied as documented";
	return "object not served as stored";
}

/* The row a listed item stands for, or -1. */
static long row_of_item(const lq *q, const json_t *item, const char **id_out)
{
	const char *id = NULL, *version = NULL;
	if (q->kind == L_VERSIONS) {
		id = q->object_id;
		version = json_string_value(item);
	} else if (q->kind == L_MANIFEST) {
		id = json_string_value(json_object_get(item, "id"));
		version = json_string_value(json_object_get(item, "version"));
	} else {
		id = json_string_value(json_object_get(item, "id"));
		version = json_string_value(json_object_get(item, "modified"));
		if (!version)
			version = json_string_value(json_object_get(item, "created"));
	}
	*id_out = id;
	if (!id || !version)
		return -1;
	return or_find_row(&W, q->coll, id, version);
}

static bool seq_in_clear(const char *cursor, uint64_t seq)
{
	unsigned char *raw = NULL;
	size_t len = 0;
	bool found = false;
	if (rk_b64url_decode(cursor, strlen(cursor), &raw, &len) != RK_OK)
		return false;
	for (size_t i = 0; i + 8 <= len && !found; i++) {
		uint64_t be = 0, le = 0;
		for (int k = 0; k < 8; k++) {
			be = be << 8 | raw[i + k];
			le |= (uint64_t)raw[i + k] << (8 * k);
		}
		found = be == seq || le == seq;
	}
	free(raw);
	return found;
}

/*
 * Runs one listing (following next) and checks it against the oracle.
 * Object and versions endpoints of an id with no visible version answer
 * like an id never stored.
 */
static void run_listing(const lq *q)
{
	size_t *want = calloc(W.n_rows + 1, sizeof *want);
	unsigned char *cand = calloc(W.n_rows + 1, 1), *got = calloc(W.n_rows + 1, 1),
		      *expect = calloc(W.n_rows + 1, 1);
	char path[4096], first_path[4096], next[512] = "", b[400];
	size_t n_want = expected_rows(q, want, cand);
	assert_true(want && cand && got && expect);
	for (size_t i = 0; i < n_want; i++)
		expect[want[i]] = 1;
	url_of(q, NULL, first_path, sizeof first_path);

	if (q->object_id && (q->kind == L_OBJECT || q->kind == L_VERSIONS)) {
		/* 404 unless some version of the id in the collection is visible */
		bool any = false;
		const char *why = or_find_object(&W, q->object_id) >= 0 ? "id stored only in other collections"
									 : "id never stored";
		for (size_t k = 0; k < coll_n[q->coll]; k++) {
			size_t ri = coll_rows[q->coll][k];
			if (strcmp(W.objs[W.rows[ri].obj].id, q->object_id) != 0)
				continue;
			const or_verdict *v = or_decide(&O, ri);
			any |= v->visible;
			if (!v->visible)
				why = v->why;
		}
		if (!any) {
			resp r;
			get(first_path, reader_token, &r);
			check_not_found(q->coll, q->kind == L_VERSIONS, first_path, q->object_id, &r,
					why);
			resp_free(&r);
			goto out;
		}
	}

	size_t n_got = 0, order_last = 0, pages = 0;
	uint64_t last_seq = 0;
	bool order_ok = true, prev_more = false;
	for (;;) {
		resp r;
		url_of(q, next[0] ? next : NULL, path, sizeof path);
		get(path, reader_token, &r);
		pages++;
		if (r.status != 200) {
			char rule[200];
			snprintf(rule, sizeof rule, "listing refused (%ld) to a reader that may read the collection (%s)",
				 r.status,
				 reader_idx == OR_ANON ? "anonymous reader of a public collection"
				 : or_member(&W, W.colls[q->coll].comm, W.users[reader_idx].org)
					 ? "member"
					 : "client of a member");
			CHECK(false, M_DENIAL, rule, path, NULL, "expected 200, got %ld %s", r.status,
			      brief(r.body.data, b, sizeof b));
			resp_free(&r);
			break;
		}
		const json_t *items = json_object_get(r.json, q->kind == L_VERSIONS ? "versions" : "objects");
		size_t count = json_array_size(items), i;
		const json_t *item;
		long first_row = -1, last_row = -1;
		bool first_known = true, last_known = true;
		last_seq = 0; /* of this page's last version, when the oracle knows it */
		if (prev_more)
			CHECK(count > 0, M_PAGING, "more was true but the next page is empty", path, NULL,
			      "empty page after more=true");
		if (q->limit)
			CHECK(count <= q->limit, M_PAGING, "page larger than limit", path, NULL,
			      "%zu items for limit %u", count, q->limit);
		json_array_foreach(items, i, item) {
			const char *id = NULL;
			long ri = row_of_item(q, item, &id);
			if (i == 0)
				first_known = ri >= 0, first_row = ri;
			if (i + 1 == count)
				last_known = ri >= 0, last_row = ri;
			if (ri < 0) {
				if (id && (strcmp(id, OR_EXT_ID) == 0 || or_tlp_of_marking(id) != OR_TLP_NONE))
					continue; /* the hub's own definitions: tolerated */
				char *t = dump(item);
				CHECK(false, M_LEAK,
				      is_tainted(id) ? "a version the hub should have refused is served"
						     : "object unknown to the oracle",
				      path, id, "served %.300s", t);
				free(t);
				continue;
			}
			if (got[ri]) {
				CHECK(false, M_PAGING, "a version is listed twice", path, id, "repeated");
				continue;
			}
			got[ri] = 1;
			n_got++;
			if (order_last && W.rows[ri].seq < W.rows[order_last - 1].seq)
				order_ok = false;
			order_last = (size_t)ri + 1;
			const or_verdict *v = or_decide(&O, (size_t)ri);
			if (!expect[ri]) {
				if (!v->visible) {
					CHECK(false, M_LEAK, v->why, path, id,
					      "the oracle hides version %s (%s); the hub served it",
					      W.rows[ri].version, v->why);
				} else {
					CHECK(false, M_FILTER, "a version outside the query's filters is listed",
					      path, id, "version %s", W.rows[ri].version);
				}
				continue;
			}
			n_checks++; /* presence */
			if (q->kind == L_OBJECTS || q->kind == L_OBJECT) {
				bool same = json_equal((json_t *)item, v->served);
				if (!same) {
					char diff[600];
					json_diff(v->served, item, diff, sizeof diff);
					CHECK(false, M_CONTENT, content_rule(v), path, id,
					      "oracle: %s; served object differs: %s",
					      v->changed[0] ? v->changed : "read whole", diff);
				} else {
					n_checks++;
				}
			} else if (q->kind == L_MANIFEST) {
				rk_time t = 0;
				const char *da = json_string_value(json_object_get(item, "date_added"));
				CHECK(da && rk_time_parse(da, &t) && t == W.rows[ri].date_added, M_LIST,
				      "manifest date_added differs from the store", path, id, "got %s",
				      da ? da : "-");
			}
		}
		/* dates over the objects of the answer */
		if (count) {
			char hf[64] = "", hl[64] = "";
			rk_time tf = 0, tl = 0;
			bool hasf = header(&r, "X-TAXII-Date-Added-First", hf, sizeof hf) &&
				    rk_time_parse(hf, &tf);
			bool hasl = header(&r, "X-TAXII-Date-Added-Last", hl, sizeof hl) &&
				    rk_time_parse(hl, &tl);
			if (first_known && first_row >= 0)
				CHECK(hasf && tf == W.rows[first_row].date_added, M_HEADER,
				      "X-TAXII-Date-Added-First is not the first object's date_added", path,
				      W.objs[W.rows[first_row].obj].id, "got '%s'", hf);
			if (last_known && last_row >= 0)
				CHECK(hasl && tl == W.rows[last_row].date_added, M_HEADER,
				      "X-TAXII-Date-Added-Last is not the last object's date_added", path,
				      W.objs[W.rows[last_row].obj].id, "got '%s'", hl);
			if (last_row >= 0)
				last_seq = W.rows[last_row].seq;
		}
		bool more = json_is_true(json_object_get(r.json, "more"));
		const char *nx = json_string_value(json_object_get(r.json, "next"));
		if (more) {
			CHECK(nx != NULL, M_PAGING, "more is true without next", path, NULL, "no next");
			if (nx && last_seq && count) {
				CHECK(!seq_in_clear(nx, last_seq), M_CURSOR,
				      "next carries the store's sequence number in clear", path, NULL,
				      "cursor %s holds seq %llu", nx, (unsigned long long)last_seq);
			}
		}
		prev_more = more;
		if (!more || !nx || pages > 2 * (n_want + 10) + 50) {
			if (more && nx && pages > 2 * (n_want + 10) + 50)
				CHECK(false, M_PAGING, "paging does not end", path, NULL, "%zu pages", pages);
			resp_free(&r);
			break;
		}
		snprintf(next, sizeof next, "%s", nx);
		resp_free(&r);
	}
	CHECK(order_ok, M_PAGING, "versions not in date_added order", first_path, NULL,
	      "out of order");
	/* every expected version came; every hidden candidate stayed hidden */
	for (size_t i = 0; i < n_want; i++) {
		if (got[want[i]])
			continue;
		const or_verdict *v = or_decide(&O, want[i]);
		CHECK(false, M_DENIAL, v->why, first_path, W.objs[W.rows[want[i]].obj].id,
		      "the oracle lets the reader read version %s (%s); the hub did not list it",
		      W.rows[want[i]].version, v->why);
	}
	for (size_t ri = 0; ri < W.n_rows; ri++)
		if (cand[ri] && !expect[ri] && !got[ri])
			n_checks++; /* a hidden or filtered version stayed out */
out:
	free(want);
	free(cand);
	free(got);
	free(expect);
}

static unsigned rnd_limit(void)
{
	static const unsigned l[] = {1, 2, 3, 5, 7, 10, 50};
	return l[rnd(RK_ARRAY_LEN(l))];
}

static const char *const ALL_TYPES[] = {"indicator", "malware",  "identity", "report",
					"note",      "relationship", "sighting", "campaign"};

/* A random id: visible or not, of this collection or another, refused, or
 * never posted. */
static const char *rnd_any_id(int coll)
{
	unsigned x = rnd(10);
	if (x < 5 && coll_n[coll])
		return W.objs[W.rows[coll_rows[coll][rnd((unsigned)coll_n[coll])]].obj].id;
	if (x < 8 && W.n_objs)
		return W.objs[rnd((unsigned)W.n_objs)].id;
	if (x < 9 && n_refused_ids)
		return refused_ids[rnd((unsigned)n_refused_ids)];
	return n_ghost_ids ? ghost_ids[rnd((unsigned)n_ghost_ids)] : ghost("indicator");
}

static void read_listings(int coll)
{
	lq q;
	for (int round = 0; round < Z.filters; round++) {
		/* plain */
		q = (lq){.kind = L_OBJECTS, .coll = coll};
		run_listing(&q);
		q = (lq){.kind = L_MANIFEST, .coll = coll};
		run_listing(&q);
		for (int k = 0; k < Z.limits; k++) {
			q = (lq){.kind = k & 1 ? L_MANIFEST : L_OBJECTS, .coll = coll, .limit = rnd_limit()};
			run_listing(&q);
		}
		/* match[type] */
		q = (lq){.kind = L_OBJECTS, .coll = coll, .limit = chance(50) ? rnd_limit() : 0};
		q.n_types = 1 + (int)rnd(2);
		for (int i = 0; i < q.n_types; i++)
			q.types[i] = ALL_TYPES[rnd(RK_ARRAY_LEN(ALL_TYPES))];
		if (q.n_types == 2 && strcmp(q.types[0], q.types[1]) == 0)
			q.n_types = 1;
		run_listing(&q);
		/* match[id] */
		q = (lq){.kind = chance(70) ? L_OBJECTS : L_MANIFEST, .coll = coll,
			 .limit = chance(50) ? rnd_limit() : 0};
		int want_ids = 2 + (int)rnd(5);
		for (int i = 0; i < want_ids; i++) {
			const char *id = rnd_any_id(coll);
			bool dup = false;
			for (int j = 0; j < q.n_ids; j++)
				dup |= strcmp(q.ids[j], id) == 0;
			if (!dup)
				q.ids[q.n_ids++] = id;
		}
		run_listing(&q);
		/* added_after, from the date_added of any version here */
		if (coll_n[coll]) {
			q = (lq){.kind = chance(60) ? L_OBJECTS : L_MANIFEST, .coll = coll,
				 .limit = chance(50) ? rnd_limit() : 0, .has_aa = true};
			q.aa = W.rows[coll_rows[coll][rnd((unsigned)coll_n[coll])]].date_added -
			       (chance(30) ? 1 : 0);
			if (chance(40)) {
				q.n_types = 1;
				q.types[0] = ALL_TYPES[rnd(RK_ARRAY_LEN(ALL_TYPES))];
			}
			run_listing(&q);
		}
		/* match[version] */
		static const vmode modes[] = {V_ALL, V_FIRST, V_LAST, V_AT};
		for (size_t m = 0; m < RK_ARRAY_LEN(modes); m++) {
			q = (lq){.kind = chance(70) ? L_OBJECTS : L_MANIFEST, .coll = coll,
				 .limit = chance(50) ? rnd_limit() : 0, .vm = modes[m]};
			if (modes[m] == V_AT) {
				if (!coll_n[coll])
					continue;
				const or_row *r = &W.rows[coll_rows[coll][rnd((unsigned)coll_n[coll])]];
				q.v_at = r->version_time;
				snprintf(q.v_at_s, sizeof q.v_at_s, "%s", r->version);
			}
			run_listing(&q);
		}
	}
}

/* Every id of the world by id, and versions of the ids stored here. */
static void read_by_id(int coll)
{
	lq q;
	for (size_t i = 0; i < W.n_objs; i++) {
		q = (lq){.kind = L_OBJECT, .coll = coll, .object_id = W.objs[i].id};
		run_listing(&q);
	}
	for (size_t i = 0; i < n_refused_ids; i++) {
		q = (lq){.kind = L_OBJECT, .coll = coll, .object_id = refused_ids[i]};
		run_listing(&q);
	}
	for (size_t i = 0; i < n_ghost_ids && i < 40; i++) {
		q = (lq){.kind = L_OBJECT, .coll = coll, .object_id = ghost_ids[i]};
		run_listing(&q);
	}
	/* versions and version selection of every id stored here */
	for (size_t k = 0; k < coll_n[coll]; k++) {
		size_t ri = coll_rows[coll][k];
		const char *id = W.objs[W.rows[ri].obj].id;
		bool first = true;
		for (size_t j = 0; j < k; j++)
			first &= W.rows[coll_rows[coll][j]].obj != W.rows[ri].obj;
		if (!first)
			continue;
		q = (lq){.kind = L_VERSIONS, .coll = coll, .object_id = id,
			 .limit = chance(30) ? 1 : 0};
		run_listing(&q);
		int nver = 0;
		for (size_t j = 0; j < coll_n[coll]; j++)
			nver += W.rows[coll_rows[coll][j]].obj == W.rows[ri].obj;
		if (nver > 1 || chance(10)) {
			q = (lq){.kind = L_OBJECT, .coll = coll, .object_id = id, .vm = V_ALL,
				 .limit = chance(50) ? 1 : 0};
			run_listing(&q);
			q = (lq){.kind = L_OBJECT, .coll = coll, .object_id = id, .vm = V_FIRST};
			run_listing(&q);
		}
	}
	/* the extension-definition: "served to every authenticated reader of
	 * every collection (and to anonymous readers of public collections)" */
	char path[512], b[300];
	snprintf(path, sizeof path, "/%s/collections/%s/objects/%s/", comm_id(W.colls[coll].comm),
		 W.colls[coll].id, OR_EXT_ID);
	resp r;
	get(path, reader_token, &r);
	const json_t *o = json_array_get(json_object_get(r.json, "objects"), 0);
	CHECK(r.status == 200 &&
		      strcmp(str_or(json_string_value(json_object_get(o, "id")), ""), OR_EXT_ID) == 0,
	      M_DENIAL, "the renkei extension-definition is not served", path, OR_EXT_ID,
	      "expected 200 with the extension-definition, got %ld %s", r.status,
	      brief(r.body.data, b, sizeof b));
	resp_free(&r);
}

/* A collection the reader may not read: nothing of it comes out. */
static void read_forbidden(int coll)
{
	char path[512], b[300];
	static const char *const what[] = {"objects/", "manifest/"};
	for (int k = 0; k < 2; k++) {
		snprintf(path, sizeof path, "/%s/collections/%s/%s", comm_id(W.colls[coll].comm),
			 W.colls[coll].id, what[k]);
		resp r;
		get(path, reader_token, &r);
		CHECK(r.status != 200 && !json_object_get(r.json, "objects"), M_LEAK,
		      or_reaches(&W, reader_idx, coll) ? "R2 permission: role not in can_read"
						       : "R1 reach: reader does not reach the collection",
		      path, NULL, "expected a refusal, got %ld %s", r.status,
		      brief(r.body.data, b, sizeof b));
		resp_free(&r);
	}
	for (size_t k = 0; k < coll_n[coll] && k < 6; k++) {
		size_t ri = coll_rows[coll][rnd((unsigned)coll_n[coll])];
		snprintf(path, sizeof path, "/%s/collections/%s/objects/%s/",
			 comm_id(W.colls[coll].comm), W.colls[coll].id, W.objs[W.rows[ri].obj].id);
		resp r;
		get(path, reader_token, &r);
		CHECK(r.status != 200, M_LEAK, or_decide(&O, ri)->why, path, W.objs[W.rows[ri].obj].id,
		      "expected a refusal, got %ld %s", r.status, brief(r.body.data, b, sizeof b));
		resp_free(&r);
	}
}

static const char *root_of_url(const char *url, char *out, size_t len)
{
	size_t n = strlen(url);
	while (n && url[n - 1] == '/')
		n--;
	size_t s = n;
	while (s && url[s - 1] != '/')
		s--;
	snprintf(out, len, "%.*s", (int)(n - s), url + s);
	return out;
}

static void read_directory_paths(void)
{
	resp r;
	char b[300], path[512];

	/* discovery */
	get("/taxii2/", reader_token, &r);
	bool any = false;
	for (int c = 0; c < W.n_comms; c++)
		any |= or_sees_root(&W, reader_idx, c);
	if (!any && reader_idx == OR_ANON) {
		CHECK(r.status == 401 || (r.status == 200 && !json_object_get(r.json, "api_roots")),
		      M_LEAK, "discovery lists API roots to an anonymous reader", "/taxii2/", NULL,
		      "got %ld %s", r.status, brief(r.body.data, b, sizeof b));
	} else {
		CHECK(r.status == 200, M_DENIAL,
		      reader_idx == OR_ANON ? "discovery refused to an anonymous reader of a public collection"
					    : "discovery refused",
		      "/taxii2/", NULL, "got %ld %s", r.status, brief(r.body.data, b, sizeof b));
		bool listed[OR_MAX_COMMS] = {false};
		size_t i;
		json_t *u;
		json_array_foreach(json_object_get(r.json, "api_roots"), i, u) {
			char root[64];
			root_of_url(str_or(json_string_value(u), ""), root, sizeof root);
			int c = or_find_comm(&W, root);
			CHECK(c >= 0 && or_sees_root(&W, reader_idx, c), M_LEAK,
			      "discovery lists an API root the reader does not reach", "/taxii2/", NULL,
			      "listed %s", root);
			if (c >= 0)
				listed[c] = true;
		}
		for (int c = 0; c < W.n_comms; c++)
			if (or_sees_root(&W, reader_idx, c))
				CHECK(listed[c], M_DENIAL,
				      reader_idx == OR_ANON
					      ? "discovery omits an API root with a public collection"
				      : or_member(&W, c, W.users[reader_idx].org)
					      ? "discovery omits a member's API root"
					      : "discovery omits the API root of a client's provider",
				      "/taxii2/", NULL, "missing %s", W.comms[c].id);
	}
	resp_free(&r);

	for (int c = 0; c < W.n_comms; c++) {
		bool sees = or_sees_root(&W, reader_idx, c);
		const char *grounds = reader_idx == OR_ANON ? "R1 anonymous reader of a public collection"
				      : or_member(&W, c, W.users[reader_idx].org)
					      ? "R1 member"
					      : "R1 client of a member";
		snprintf(path, sizeof path, "/%s/", W.comms[c].id);
		get(path, reader_token, &r);
		if (sees)
			CHECK(r.status == 200, M_DENIAL, grounds, path, NULL, "API root: got %ld %s",
			      r.status, brief(r.body.data, b, sizeof b));
		else
			CHECK(r.status != 200, M_LEAK, "R1 reach: API root of a community not reached",
			      path, NULL, "got %ld", r.status);
		resp_free(&r);

		snprintf(path, sizeof path, "/%s/collections/", W.comms[c].id);
		get(path, reader_token, &r);
		if (!sees) {
			CHECK(r.status != 200 && !json_object_get(r.json, "collections"), M_LEAK,
			      "R1 reach: collections of a community not reached", path, NULL, "got %ld %s",
			      r.status, brief(r.body.data, b, sizeof b));
			resp_free(&r);
			continue;
		}
		CHECK(r.status == 200, M_DENIAL, grounds, path, NULL, "collections: got %ld %s",
		      r.status, brief(r.body.data, b, sizeof b));
		bool listed[OR_MAX_COLLS] = {false};
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(r.json, "collections"), i, e) {
			const char *id = str_or(json_string_value(json_object_get(e, "id")), "");
			int k;
			for (k = 0; k < W.n_colls; k++)
				if (strcmp(W.colls[k].id, id) == 0)
					break;
			bool rd = k < W.n_colls && or_may_read_coll(&W, reader_idx, k);
			bool wr = k < W.n_colls && or_may_write_coll(&W, reader_idx, k);
			CHECK(k < W.n_colls && W.colls[k].comm == c && (rd || wr), M_LEAK,
			      "a collection the reader may neither read nor write is listed", path, NULL,
			      "listed %s", id);
			if (k >= W.n_colls)
				continue;
			listed[k] = true;
			CHECK(json_is_true(json_object_get(e, "can_read")) == rd, M_LIST,
			      "collection can_read flag", path, NULL, "collection %s: expected %d", id, rd);
			CHECK(json_is_true(json_object_get(e, "can_write")) == wr, M_LIST,
			      "collection can_write flag", path, NULL, "collection %s: expected %d", id, wr);
		}
		for (int k = 0; k < W.n_colls; k++) {
			if (W.colls[k].comm != c)
				continue;
			bool rd = or_may_read_coll(&W, reader_idx, k), wr = or_may_write_coll(&W, reader_idx, k);
			if (rd || wr)
				CHECK(listed[k], M_DENIAL,
				      reader_idx == OR_ANON ? "public collection not listed to an anonymous reader"
				      : or_member(&W, c, W.users[reader_idx].org)
					      ? "collection not listed to a member"
					      : "collection not listed to a client of a member",
				      path, NULL, "missing %s", W.colls[k].id);
		}
		resp_free(&r);
		/* each collection of this root */
		for (int k = 0; k < W.n_colls; k++) {
			if (W.colls[k].comm != c)
				continue;
			bool rd = or_may_read_coll(&W, reader_idx, k), wr = or_may_write_coll(&W, reader_idx, k);
			snprintf(path, sizeof path, "/%s/collections/%s/", W.comms[c].id, W.colls[k].id);
			get(path, reader_token, &r);
			if (rd || wr)
				CHECK(r.status == 200 &&
					      json_is_true(json_object_get(r.json, "can_read")) == rd &&
					      json_is_true(json_object_get(r.json, "can_write")) == wr,
				      r.status == 200 ? M_LIST : M_DENIAL,
				      r.status == 200 ? "collection flags" : grounds, path, NULL,
				      "expected can_read %d can_write %d, got %ld %s", rd, wr, r.status,
				      brief(r.body.data, b, sizeof b));
			else
				CHECK(r.status != 200, M_LEAK,
				      "a collection the reader may neither read nor write is served", path, NULL,
				      "got %ld", r.status);
			resp_free(&r);
		}
	}
}

static void read_statuses(void)
{
	char path[256], b[300];
	for (size_t i = 0; i < n_statuses; i++) {
		const status_rec *s = &statuses[i];
		if (!s->id[0])
			continue;
		snprintf(path, sizeof path, "/%s/status/%s/", W.comms[s->comm].id, s->id);
		resp r;
		get(path, reader_token, &r);
		if (reader_idx != OR_ANON && W.users[reader_idx].org == s->org) {
			CHECK(r.status == 200 && r.json && json_equal(r.json, s->doc), M_STATUS,
			      "the posting organisation cannot read its status", path, NULL,
			      "got %ld %s", r.status, brief(r.body.data, b, sizeof b));
		} else {
			CHECK(reader_idx == OR_ANON ? r.status == 401 || r.status == 404 : r.status == 404,
			      M_STATUS, "another organisation's status does not answer 404", path, NULL,
			      "got %ld %s", r.status, brief(r.body.data, b, sizeof b));
		}
		resp_free(&r);
	}
}

/* "errors: never name a collection, object or organisation the reader
 * could not otherwise see": an error answer to a GET names no
 * organisation but the reader's own, and no collection or object but the
 * ones in the request. */
static void scan_error(const char *path, const resp *r)
{
	const char *body = r->body.data;
	if (!body || !W.n_orgs)
		return;
	n_checks++; /* one check per error answer */
	for (int o = 0; o < W.n_orgs; o++) {
		if (reader_idx != OR_ANON && W.users[reader_idx].org == o)
			continue;
		if (strstr(body, W.orgs[o].slug) || strstr(body, W.orgs[o].identity))
			mismatch(M_LEAK, "an error answer names an organisation", path, NULL,
				 "names %s: %.200s", W.orgs[o].slug, body);
	}
	for (int c = 0; c < W.n_colls; c++)
		if (strstr(body, W.colls[c].id) && !strstr(path, W.colls[c].id))
			mismatch(M_LEAK, "an error answer names another collection", path, NULL,
				 "names %s", W.colls[c].id);
	for (size_t i = 0; i < W.n_objs; i++)
		if (strstr(body, W.objs[i].id) && !strstr(path, W.objs[i].id))
			mismatch(M_LEAK, "an error answer names an object", path, W.objs[i].id,
				 "%.200s", body);
}

/* DELETE by readers who do not own the object: "for anyone else an object
 * it may not read answers as an id never stored", and nothing is
 * deleted. Run after every read, on a sample. */
static void delete_probes(void)
{
	char path[512], b[300];
	for (int u = 0; u < W.n_users; u++) {
		reader_idx = u;
		reader_token = W.users[u].token;
		cur_reader = W.users[u].name;
		or_oracle_reader(&O, u);
		for (int c = 0; c < W.n_colls; c++) {
			if (!or_may_read_coll(&W, u, c) || !or_may_write_coll(&W, u, c) || !coll_n[c])
				continue;
			resp base, r;
			snprintf(path, sizeof path, "/%s/collections/%s/objects/%s/",
				 comm_id(W.colls[c].comm), W.colls[c].id, ghost("indicator"));
			if (!http("DELETE", path, reader_token, NULL, &base))
				fail_msg("confidentiality: no answer to DELETE %s", path);
			json_t *bshape = error_shape(&base);
			for (int k = 0; k < 4; k++) {
				size_t ri = coll_rows[c][rnd((unsigned)coll_n[c])];
				const char *id = W.objs[W.rows[ri].obj].id;
				if (W.objs[W.rows[ri].obj].owner == W.users[u].org)
					continue;
				const or_verdict *v = or_decide(&O, ri);
				snprintf(path, sizeof path, "/%s/collections/%s/objects/%s/",
					 comm_id(W.colls[c].comm), W.colls[c].id, id);
				if (!http("DELETE", path, reader_token, NULL, &r))
					fail_msg("confidentiality: no answer to DELETE %s", path);
				CHECK(r.status != 200, M_STORE, "a DELETE by another organisation succeeded",
				      path, id, "got 200");
				if (!v->visible) {
					json_t *shape = error_shape(&r);
					CHECK(r.status == base.status && json_equal(shape, bshape), M_NOTFOUND,
					      "DELETE of a hidden object answers otherwise than an id never stored",
					      path, id, "hidden by %s; expected %ld like an id never stored, got %ld %s",
					      v->why, base.status, r.status, brief(r.body.data, b, sizeof b));
					json_decref(shape);
				}
				resp_free(&r);
			}
			json_decref(bshape);
			resp_free(&base);
		}
	}
}

/* "/metrics: aggregate counters with no per-collection or
 * per-organisation labels". */
static void check_metrics(void)
{
	resp r;
	cur_reader = "anonymous (loopback)";
	if (!http("GET", "/metrics", NULL, NULL, &r))
		fail_msg("confidentiality: no answer to GET /metrics");
	const char *body = r.body.data ? r.body.data : "";
	for (int c = 0; c < W.n_colls; c++)
		CHECK(!strstr(body, W.colls[c].id), M_LEAK, "/metrics names a collection", "/metrics",
		      NULL, "names %s", W.colls[c].id);
	for (int c = 0; c < W.n_comms; c++)
		CHECK(!strstr(body, W.comms[c].id), M_LEAK, "/metrics names a community", "/metrics",
		      NULL, "names %s", W.comms[c].id);
	for (int o = 0; o < W.n_orgs; o++)
		CHECK(!strstr(body, W.orgs[o].slug), M_LEAK, "/metrics names an organisation",
		      "/metrics", NULL, "names %s", W.orgs[o].slug);
	resp_free(&r);
}

/* RENKEI_CONF_EXPLAIN="user-name,object-id" (user "anonymous" for nobody):
 * the oracle's verdict on every stored version of the id for that reader,
 * to check a reported mismatch by hand. */
static void explain(void)
{
	const char *e = getenv("RENKEI_CONF_EXPLAIN");
	const char *comma = e ? strchr(e, ',') : NULL;
	if (!comma)
		return;
	int reader = -2;
	if ((size_t)(comma - e) == strlen("anonymous") && strncmp(e, "anonymous", 9) == 0)
		reader = OR_ANON;
	for (int u = 0; u < W.n_users; u++)
		if (strlen(W.users[u].name) == (size_t)(comma - e) &&
		    strncmp(W.users[u].name, e, (size_t)(comma - e)) == 0)
			reader = u;
	if (reader == -2) {
		printf("confidentiality: explain: no user %.*s\n", (int)(comma - e), e);
		return;
	}
	or_oracle_reader(&O, reader);
	long o = or_find_object(&W, comma + 1);
	printf("confidentiality: explain %s reading %s (owner %s)\n",
	       reader == OR_ANON ? "anonymous" : W.users[reader].name, comma + 1,
	       o >= 0 ? W.orgs[W.objs[o].owner].slug : "-");
	for (size_t i = 0; o >= 0 && i < W.n_rows; i++) {
		if (W.rows[i].obj != (size_t)o)
			continue;
		const or_verdict *v = or_decide(&O, i);
		char *j = dump(W.rows[i].json), *sv = v->served ? dump(v->served) : NULL;
		printf("  collection %d version %s: %s (%s) %s\n    stored: %s\n    served: %s\n",
		       W.rows[i].coll, W.rows[i].version, v->visible ? "visible" : "hidden", v->why,
		       v->changed, j, sv ? sv : "-");
		free(j);
		free(sv);
	}
	fflush(stdout);
}

static void read_as(int reader)
{
	reader_idx = reader;
	reader_token = reader == OR_ANON ? NULL : W.users[reader].token;
	cur_reader = reader == OR_ANON ? "anonymous" : W.users[reader].name;
	or_oracle_reader(&O, reader);
	size_t readable = 0;
	for (size_t i = 0; i < W.n_rows; i++)
		readable += or_decide(&O, i)->visible;
	if (reader == OR_ANON)
		printf("confidentiality: the anonymous reader may read %zu of %zu stored versions\n",
		       readable, W.n_rows);
	read_directory_paths();
	for (int c = 0; c < W.n_colls; c++) {
		if (!or_may_read_coll(&W, reader, c)) {
			read_forbidden(c);
			continue;
		}
		fetch_baselines(c);
		read_listings(c);
		read_by_id(c);
	}
	read_statuses();
}

/* ---------------------------------------------------------------- examples */

/*
 * Worked examples of docs/confidentiality.md, decided by hand, that the
 * oracle must reproduce before its word is taken against the hub. A small
 * fixed world: alpha and beta are members of c0, beta and delta of c1,
 * gamma is a client of alpha; k0 (c0, default AMBER) is read by every
 * role, k1 (c1, default GREEN, public) by analysts only.
 */
static const char *X_GHOST = "indicator--00000000-0000-4000-8000-00000000dead";

static size_t ex_put(int coll, int owner, json_t *obj)
{
	const char *id = json_string_value(json_object_get(obj, "id"));
	long o = or_find_object(&W, id);
	if (o < 0)
		o = (long)or_world_add_object(&W, id, json_string_value(json_object_get(obj, "type")),
					      owner);
	return or_world_add_row(&W, coll, (size_t)o, obj);
}

static json_t *ex_obj(const char *type, const char *id)
{
	return json_pack("{ss ss ss ss ss}", "type", type, "spec_version", "2.1", "id", id,
			 "created", "2024-01-01T00:00:00.000Z", "modified", "2024-01-01T00:00:00.000Z");
}

static json_t *ex_indicator(const char *id, or_tlp level)
{
	json_t *o = ex_obj("indicator", id);
	json_object_set_new(o, "pattern", json_string("[ipv4-addr:value = '192.0.2.1']"));
	json_object_set_new(o, "pattern_type", json_string("stix"));
	json_object_set_new(o, "valid_from", json_string("2024-01-01T00:00:00Z"));
	if (level != OR_TLP_NONE)
		json_object_set_new(o, "object_marking_refs", json_pack("[s]", or_tlp2_marking(level)));
	return o;
}

static void ex_ext(json_t *o, const char *list, json_t *values)
{
	json_object_set_new(ext_of(o, true), list, values);
}

static void expect_verdict(size_t row, int reader, bool visible, const char *why_part)
{
	or_oracle_reader(&O, reader);
	const or_verdict *v = or_decide(&O, row);
	if (v->visible != visible || (why_part && !strstr(v->why, why_part)))
		fail_msg("oracle example: %s reading %s: expected %s (%s), oracle says %s (%s)",
			 reader == OR_ANON ? "anonymous" : W.users[reader].name,
			 W.objs[W.rows[row].obj].id, visible ? "visible" : "hidden",
			 why_part ? why_part : "-", v->visible ? "visible" : "hidden", v->why);
}

static void expect_served(size_t row, int reader, json_t *want)
{
	or_oracle_reader(&O, reader);
	const or_verdict *v = or_decide(&O, row);
	char diff[600] = "";
	if (!v->visible || !json_equal(v->served, want)) {
		if (v->visible)
			json_diff(want, v->served, diff, sizeof diff);
		fail_msg("oracle example: %s reading %s: %s %s", W.users[reader].name,
			 W.objs[W.rows[row].obj].id, v->visible ? "differs:" : "hidden:",
			 v->visible ? diff : v->why);
	}
	json_decref(want);
}

static void test_oracle_examples(void **state)
{
	(void)state;
	or_world_init(&W);
	static const char *const orgs[] = {"alpha", "beta", "gamma", "delta"};
	W.n_orgs = 4;
	for (int i = 0; i < 4; i++) {
		snprintf(W.orgs[i].slug, sizeof W.orgs[i].slug, "%s", orgs[i]);
		or_identity(orgs[i], W.orgs[i].identity);
	}
	W.orgs[0].clients = 1u << 2; /* alpha serves gamma */
	W.n_comms = 2;
	snprintf(W.comms[0].id, sizeof W.comms[0].id, "c0");
	snprintf(W.comms[1].id, sizeof W.comms[1].id, "c1");
	W.comms[0].members = 1u << 0 | 1u << 1;
	W.comms[1].members = 1u << 1 | 1u << 3;
	W.n_colls = 2;
	W.colls[0] = (or_coll){.comm = 0, .default_tlp = OR_TLP_AMBER, .can_read = 31, .can_write = 31};
	W.colls[1] = (or_coll){.comm = 1, .default_tlp = OR_TLP_GREEN, .public = true,
			       .can_read = 1u << OR_ROLE_ANALYST, .can_write = 31};
	static const struct {
		const char *name;
		int org;
		or_role role;
	} users[] = {{"alpha-analyst", 0, OR_ROLE_ANALYST}, {"beta-analyst", 1, OR_ROLE_ANALYST},
		     {"gamma-analyst", 2, OR_ROLE_ANALYST}, {"delta-analyst", 3, OR_ROLE_ANALYST},
		     {"beta-reader", 1, OR_ROLE_READER}};
	W.n_users = 5;
	for (int i = 0; i < 5; i++) {
		snprintf(W.users[i].name, sizeof W.users[i].name, "%s", users[i].name);
		W.users[i].org = users[i].org;
		W.users[i].role = users[i].role;
		char n[64];
		snprintf(n, sizeof n, "user:%s", users[i].name);
		or_identity(n, W.users[i].identity);
	}
	enum { ALPHA_A, BETA_A, GAMMA_A, DELTA_A, BETA_R };
	or_oracle_init(&O, &W);

	/* R1/R2: a client reaches its provider's community; k1 needs analysts */
	assert_true(or_may_read_coll(&W, GAMMA_A, 0));
	assert_false(or_may_read_coll(&W, GAMMA_A, 1));
	assert_false(or_may_read_coll(&W, BETA_R, 1));
	assert_true(or_may_read_coll(&W, OR_ANON, 1));
	assert_false(or_may_read_coll(&W, OR_ANON, 0));
	assert_true(or_sees_root(&W, OR_ANON, 1) && !or_sees_root(&W, OR_ANON, 0));

	/* R4 AMBER+STRICT: members, not clients; the owner reads it whole */
	size_t strict = ex_put(0, 0, ex_indicator("indicator--10000000-0000-4000-8000-000000000001",
						  OR_TLP_AMBER_STRICT));
	expect_verdict(strict, BETA_R, true, NULL);
	expect_verdict(strict, GAMMA_A, false, "AMBER+STRICT");
	expect_verdict(strict, ALPHA_A, true, "R3 owner");
	/* AMBER (here by the collection's default): clients too */
	size_t amber = ex_put(0, 0, ex_indicator("indicator--10000000-0000-4000-8000-000000000002",
						 OR_TLP_NONE));
	expect_verdict(amber, GAMMA_A, true, "TLP:AMBER");
	expect_verdict(amber, OR_ANON, false, "R1");

	/* R4 RED: the named recipients only, users or organisations */
	json_t *o = ex_indicator("indicator--10000000-0000-4000-8000-000000000003", OR_TLP_RED);
	ex_ext(o, "recipients", json_pack("[s]", W.users[BETA_A].identity));
	size_t red_user = ex_put(0, 0, o);
	expect_verdict(red_user, BETA_A, true, "user recipient");
	expect_verdict(red_user, BETA_R, false, "RED");
	expect_verdict(red_user, GAMMA_A, false, "RED");
	o = ex_indicator("indicator--10000000-0000-4000-8000-000000000004", OR_TLP_RED);
	ex_ext(o, "recipients", json_pack("[s]", W.orgs[1].identity));
	size_t red_org = ex_put(0, 0, o);
	expect_verdict(red_org, BETA_R, true, NULL);

	/* R5: distribution names organisations; communities their members */
	o = ex_indicator("indicator--10000000-0000-4000-8000-000000000005", OR_TLP_GREEN);
	ex_ext(o, "distribution", json_pack("[s]", W.orgs[2].identity));
	size_t dist = ex_put(0, 0, o);
	expect_verdict(dist, GAMMA_A, true, NULL);
	expect_verdict(dist, BETA_A, false, "R5");
	o = ex_indicator("indicator--10000000-0000-4000-8000-000000000006", OR_TLP_GREEN);
	ex_ext(o, "communities", json_pack("[s]", "c1"));
	size_t comms = ex_put(0, 1, o);
	expect_verdict(comms, ALPHA_A, false, "R5");
	expect_verdict(comms, BETA_R, true, "R3 owner");

	/* R6: anonymous readers of a public collection: CLEAR without lists */
	size_t pub_clear = ex_put(1, 3, ex_indicator("indicator--10000000-0000-4000-8000-000000000007",
						     OR_TLP_CLEAR));
	expect_verdict(pub_clear, OR_ANON, true, "anonymous");
	o = ex_indicator("indicator--10000000-0000-4000-8000-000000000008", OR_TLP_CLEAR);
	ex_ext(o, "recipients", json_pack("[s]", W.orgs[3].identity));
	size_t pub_rcpt = ex_put(1, 3, o);
	expect_verdict(pub_rcpt, OR_ANON, false, "R6");
	expect_verdict(pub_rcpt, BETA_A, true, NULL); /* recipients only bind RED */
	size_t pub_green = ex_put(1, 3, ex_indicator("indicator--10000000-0000-4000-8000-000000000009",
						     OR_TLP_NONE));
	expect_verdict(pub_green, OR_ANON, false, "GREEN");

	/* granular markings: properties removed, entries dropped, the list
	 * removed when empty; a required property withholds */
	o = ex_indicator("indicator--10000000-0000-4000-8000-000000000010", OR_TLP_GREEN);
	json_object_set_new(o, "name", json_string("n"));
	json_object_set_new(o, "description", json_string("d"));
	json_object_set_new(o, "labels", json_pack("[ss]", "l0", "l1"));
	ex_ext(o, "recipients", json_pack("[s]", W.orgs[0].identity));
	json_object_set_new(o, "granular_markings",
			    json_pack("[{ss s[s]} {ss s[ss]} {ss s[s]}]",
				      "marking_ref", or_tlp2_marking(OR_TLP_RED), "selectors", "description",
				      "marking_ref", or_tlp2_marking(OR_TLP_AMBER_STRICT), "selectors",
				      "labels.[0]", "name", "marking_ref", or_tlp1_marking(OR_TLP_CLEAR),
				      "selectors", "labels.[1]"));
	size_t gran = ex_put(0, 0, o);
	json_t *want = json_deep_copy(W.rows[gran].json);
	json_object_del(want, "description");
	json_array_remove(json_object_get(want, "granular_markings"), 0);
	expect_served(gran, BETA_A, want); /* member: STRICT allowed, RED not */
	want = json_deep_copy(W.rows[gran].json);
	json_object_del(want, "description");
	json_object_del(want, "labels");
	json_object_del(want, "name");
	json_object_set_new(want, "granular_markings",
			    json_pack("[]"));
	json_object_del(want, "granular_markings"); /* every entry pointed at removed properties */
	expect_served(gran, GAMMA_A, want);         /* client: neither */
	expect_served(gran, ALPHA_A, json_deep_copy(W.rows[gran].json)); /* owner: whole */
	o = ex_indicator("indicator--10000000-0000-4000-8000-000000000011", OR_TLP_GREEN);
	ex_ext(o, "recipients", json_pack("[s]", W.orgs[0].identity));
	json_object_set_new(o, "granular_markings",
			    json_pack("[{ss s[s]}]", "marking_ref", or_tlp2_marking(OR_TLP_RED),
				      "selectors", "pattern"));
	size_t gran_req = ex_put(0, 0, o);
	expect_verdict(gran_req, BETA_A, false, "required property 'pattern'");

	/* references: ends of relationships and sightings withhold; lists
	 * lose hidden ids (a required list left empty withholds); ids not
	 * stored are served as they are */
	const char *red_id = W.objs[W.rows[red_user].obj].id; /* hidden from beta-reader */
	const char *amber_id = W.objs[W.rows[amber].obj].id;  /* visible to beta-reader */
	o = ex_obj("relationship", "relationship--10000000-0000-4000-8000-000000000012");
	json_object_set_new(o, "relationship_type", json_string("indicates"));
	json_object_set_new(o, "source_ref", json_string(amber_id));
	json_object_set_new(o, "target_ref", json_string(red_id));
	size_t rel = ex_put(0, 0, o);
	expect_verdict(rel, BETA_R, false, "R7 target_ref");
	expect_verdict(rel, BETA_A, true, NULL);
	o = ex_obj("relationship", "relationship--10000000-0000-4000-8000-000000000013");
	json_object_set_new(o, "relationship_type", json_string("indicates"));
	json_object_set_new(o, "source_ref", json_string(amber_id));
	json_object_set_new(o, "target_ref", json_string(X_GHOST));
	size_t rel_ghost = ex_put(0, 0, o);
	expect_verdict(rel_ghost, BETA_R, true, NULL);
	o = ex_obj("report", "report--10000000-0000-4000-8000-000000000014");
	json_object_set_new(o, "name", json_string("r"));
	json_object_set_new(o, "published", json_string("2024-01-01T00:00:00Z"));
	json_object_set_new(o, "object_refs", json_pack("[sss]", red_id, X_GHOST, amber_id));
	size_t rep = ex_put(0, 0, o);
	want = json_deep_copy(W.rows[rep].json);
	json_object_set_new(want, "object_refs", json_pack("[ss]", X_GHOST, amber_id));
	expect_served(rep, BETA_R, want);
	o = ex_obj("note", "note--10000000-0000-4000-8000-000000000015");
	json_object_set_new(o, "content", json_string("c"));
	json_object_set_new(o, "object_refs", json_pack("[s]", red_id));
	size_t note = ex_put(0, 0, o);
	expect_verdict(note, BETA_R, false, "R7 every id of required object_refs");
	o = ex_obj("sighting", "sighting--10000000-0000-4000-8000-000000000016");
	json_object_set_new(o, "sighting_of_ref", json_string(amber_id));
	json_object_set_new(o, "where_sighted_refs",
			    json_pack("[s]", "identity--10000000-0000-4000-8000-000000000099"));
	json_object_set_new(o, "created_by_ref", json_string(W.orgs[0].identity));
	size_t sig = ex_put(0, 0, o);
	json_t *idn = ex_obj("identity", "identity--10000000-0000-4000-8000-000000000099");
	json_object_set_new(idn, "name", json_string("hidden place"));
	json_object_set_new(idn, "object_marking_refs", json_pack("[s]", or_tlp2_marking(OR_TLP_RED)));
	ex_ext(idn, "recipients", json_pack("[s]", W.orgs[0].identity));
	ex_put(0, 0, idn);
	or_oracle_reader(&O, BETA_R); /* the identity is stored now: decide again */
	want = json_deep_copy(W.rows[sig].json);
	json_object_del(want, "where_sighted_refs");
	expect_served(sig, BETA_R, want);
	/* an object the reader reaches only through a collection it may not
	 * read is hidden as a reference (beta-reader may not read k1) */
	size_t k1_only = ex_put(1, 3, ex_indicator("indicator--10000000-0000-4000-8000-000000000017",
						   OR_TLP_GREEN));
	o = ex_obj("relationship", "relationship--10000000-0000-4000-8000-000000000018");
	json_object_set_new(o, "relationship_type", json_string("indicates"));
	json_object_set_new(o, "source_ref", json_string(W.objs[W.rows[k1_only].obj].id));
	json_object_set_new(o, "target_ref", json_string(amber_id));
	size_t rel_k1 = ex_put(0, 0, o);
	expect_verdict(rel_k1, BETA_R, false, "R7 source_ref");
	expect_verdict(rel_k1, BETA_A, true, NULL);

	/* submission */
	o = ex_indicator("indicator--10000000-0000-4000-8000-000000000020", OR_TLP_RED);
	assert_string_equal(or_submission_refusal(&W, ALPHA_A, 0, o), "recipients");
	json_object_set_new(o, "object_marking_refs",
			    json_pack("[ss]", or_tlp2_marking(OR_TLP_GREEN), or_tlp1_marking(OR_TLP_AMBER)));
	assert_string_equal(or_submission_refusal(&W, ALPHA_A, 0, o), "conflicting TLP markings");
	json_object_set_new(o, "object_marking_refs", json_pack("[s]", or_tlp2_marking(OR_TLP_GREEN)));
	ex_ext(o, "recipients", json_pack("[s]", "identity--10000000-0000-4000-8000-000000000077"));
	assert_string_equal(or_submission_refusal(&W, ALPHA_A, 0, o), "unknown recipient");
	ex_ext(o, "recipients", json_pack("[s]", W.users[GAMMA_A].identity));
	assert_null(or_submission_refusal(&W, ALPHA_A, 0, o));
	ex_ext(o, "distribution", json_pack("[s]", W.users[GAMMA_A].identity));
	assert_string_equal(or_submission_refusal(&W, ALPHA_A, 0, o), "unknown distribution");
	json_decref(o);
	/* versions keep the marking; only the owner adds them */
	o = json_deep_copy(W.rows[amber].json);
	json_object_set_new(o, "modified", json_string("2024-02-01T00:00:00.000Z"));
	json_object_set_new(o, "object_marking_refs", json_pack("[s]", or_tlp1_marking(OR_TLP_AMBER)));
	assert_null(or_submission_refusal(&W, ALPHA_A, 0, o)); /* TLP 1.0 AMBER is AMBER */
	assert_string_equal(or_submission_refusal(&W, BETA_A, 0, o), "owned by another organisation");
	json_object_set_new(o, "object_marking_refs", json_pack("[s]", or_tlp2_marking(OR_TLP_GREEN)));
	assert_string_equal(or_submission_refusal(&W, ALPHA_A, 0, o),
			    "a new version keeps the markings of the earlier versions");
	json_decref(o);
	/* re-sharing: AMBER from k0 (audience alpha, beta, gamma) to k1
	 * (beta, delta) widens; CLEAR goes anywhere; GREEN not to public */
	o = json_deep_copy(W.rows[amber].json);
	json_object_set_new(o, "object_marking_refs", json_pack("[s]", or_tlp2_marking(OR_TLP_AMBER)));
	assert_string_equal(or_submission_refusal(&W, ALPHA_A, 1, o),
			    "re-sharing");
	json_decref(o);
	o = json_deep_copy(W.rows[dist].json);
	assert_string_equal(or_submission_refusal(&W, ALPHA_A, 1, o),
			    "re-sharing");
	json_decref(o);
	o = json_deep_copy(W.rows[pub_clear].json);
	assert_null(or_submission_refusal(&W, DELTA_A, 0, o));
	json_decref(o);

	or_oracle_free(&O);
	or_world_free(&W);
}

/* ---------------------------------------------------------------- run */

static void free_run(void)
{
	free_index();
	or_oracle_free(&O);
	or_world_free(&W);
	for (size_t i = 0; i < n_statuses; i++)
		json_decref(statuses[i].doc);
	free(statuses);
	statuses = NULL;
	n_statuses = cap_statuses = 0;
	free(refused_ids);
	free(ghost_ids);
	free(tainted_ids);
	refused_ids = ghost_ids = tainted_ids = NULL;
	n_refused_ids = cap_refused_ids = n_ghost_ids = cap_ghost_ids = 0;
	n_tainted = cap_tainted = 0;
	for (int c = 0; c < OR_MAX_COLLS; c++)
		for (int v = 0; v < 2; v++) {
			json_decref(base404[c][v]);
			base404[c][v] = NULL;
		}
	obj_counter = 0;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- exports */

static void ignore_value(void *arg, pattern_vkind kind, const char *value, size_t len)
{
	(void)arg;
	(void)kind;
	(void)value;
	(void)len;
}

/* Whether an allowed indicator version is exported at all: not revoked,
 * not expired, and a pattern that is a plain list of values (what the
 * export writes; pattern_exact_values, not a policy question). */
static bool exportable(const json_t *o, rk_time now)
{
	const char *until = json_string_value(json_object_get(o, "valid_until"));
	const char *text = json_string_value(json_object_get(o, "pattern"));
	const char *ptype = json_string_value(json_object_get(o, "pattern_type"));
	rk_time t;
	pattern *p = NULL;
	rk_errctx ctx;

	if (json_is_true(json_object_get(o, "revoked")) ||
	    (until && rk_time_parse(until, &t) && t <= now) || !text ||
	    (ptype && strcmp(ptype, "stix") != 0))
		return false;
	rk_errctx_clear(&ctx);
	if (pattern_compile(text, strlen(text), &p, &ctx) != RK_OK)
		return false;
	bool exact = pattern_exact_values(p, ignore_value, NULL);
	pattern_free(p);
	return exact;
}

static unsigned long exported_total, export_checks;

/* Compares the ids of a STIX export bundle with the oracle's: for org
 * (OR_ANON: public), over the collections user may read (-1: all). */
static void compare_export(int org, int user, const char *what, const json_t *bundle)
{
	size_t n = W.n_objs;
	long *best = malloc(n * sizeof *best);
	unsigned char *got = calloc(n, 1);
	rk_time now = rk_time_now();
	char why[200];
	size_t i;
	const json_t *o;

	CHECK(best && got, M_LIST, "out of memory", what, NULL, "-");
	for (i = 0; i < n; i++)
		best[i] = -1;
	for (i = 0; i < W.n_rows; i++) {
		const or_row *r = &W.rows[i];
		if (strcmp(W.objs[r->obj].type, "indicator") != 0 || is_tainted(W.objs[r->obj].id))
			continue;
		if (user >= 0 && !or_may_read_coll(&W, user, r->coll))
			continue;
		if (!or_onward_export(&W, org, i, why, sizeof why))
			continue;
		if (best[r->obj] < 0 || r->version_time > W.rows[best[r->obj]].version_time)
			best[r->obj] = (long)i;
	}
	export_checks++;
	exported_total += json_array_size(json_object_get(bundle, "objects"));
	json_array_foreach(json_object_get(bundle, "objects"), i, o) {
		const char *id = json_string_value(json_object_get(o, "id"));
		long obj = id ? or_find_object(&W, id) : -1;
		if (obj >= 0)
			got[obj] = 1;
		if (obj >= 0 && is_tainted(id))
			continue;
		bool allowed = obj >= 0 && best[obj] >= 0;
		char wrule[260] = "not an object of the world";
		if (obj >= 0 && !allowed) {
			/* the rule that keeps it out, from one of its rows */
			for (size_t k = 0; k < W.n_rows; k++)
				if (W.rows[k].obj == (size_t)obj &&
				    !or_onward_export(&W, org, k, why, sizeof why)) {
					snprintf(wrule, sizeof wrule, "export: %s", why);
					break;
				}
		}
		CHECK(allowed, M_LEAK, allowed ? "-" : wrule, what, id ? id : "-",
		      "in the export, the onward table keeps it out");
	}
	for (i = 0; i < n; i++) {
		if (best[i] < 0 || got[i])
			continue;
		bool want = exportable(W.rows[best[i]].json, now);
		char *text = want ? dump(W.rows[best[i]].json) : NULL;
		CHECK(!want, M_DENIAL, "export: allowed by the onward table", what, W.objs[i].id,
		      "missing from the export (version %s in collection %d: %.400s)",
		      W.rows[best[i]].version, W.rows[best[i]].coll, text ? text : "-");
		free(text);
	}
	free(best);
	free(got);
}

/* Every organisation's internal export and the public one through
 * `renkei export`, and every user's through the hub's route (its
 * organisation's export over the collections its role reads). */
static void check_exports(void)
{
	char args[600], what[160];
	for (int org = -1; org < W.n_orgs; org++) {
		proto_run_result r;
		char errpath[400];
		snprintf(errpath, sizeof errpath, "%s/export.err", hub.dir);
		if (org < 0)
			snprintf(args, sizeof args, "export --data %s --public --format stix", hub.dir);
		else
			snprintf(args, sizeof args, "export --data %s --org %s --format stix", hub.dir,
				 W.orgs[org].slug);
		snprintf(what, sizeof what, "renkei export %s",
			 org < 0 ? "--public" : W.orgs[org].slug);
		cur_reader = org < 0 ? "public" : W.orgs[org].slug;
		proto_run(NULL, errpath, args, &r);
		json_t *b = r.rc == 0 ? json_loads(r.out.data, 0, NULL) : NULL;
		CHECK(b != NULL, M_LIST, "export: renkei export answers a bundle", what, NULL,
		      "exit %d: %.300s", r.rc, r.err);
		if (b)
			compare_export(org < 0 ? OR_ANON : org, -1, what, b);
		json_decref(b);
		proto_run_free(&r);
	}
	for (int u = 0; u < W.n_users; u++) {
		resp r;
		cur_reader = W.users[u].name;
		get("/renkei/export/stix/", W.users[u].token, &r);
		CHECK(r.status == 200 && r.json, M_LIST, "export: GET /renkei/export/stix/",
		      "/renkei/export/stix/", NULL, "status %ld", r.status);
		if (r.status == 200 && r.json)
			compare_export(W.users[u].org, u, "/renkei/export/stix/", r.json);
		resp_free(&r);
	}
	printf("confidentiality: %lu exports compared with the onward table, %lu indicators in "
	       "them\n", export_checks, exported_total);
	resp r;
	cur_reader = "anonymous";
	get("/renkei/export/stix/", NULL, &r);
	CHECK(r.status == 401, M_LEAK, "export: anonymous", "/renkei/export/stix/", NULL,
	      "status %ld", r.status);
	resp_free(&r);
}

static void run_seed(unsigned long long s)
{
	double t0 = now_s();
	unsigned long mis0 = n_mis_total;
	seed = s;
	rng_seed(s);
	printf("confidentiality: seed %llu\n", s);
	fflush(stdout);
	memset(&hub, 0, sizeof hub);
	const char *tmp = getenv("TMPDIR");
	snprintf(hub.dir, sizeof hub.dir, "%s/renkei-conf-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(hub.dir))
		fail_msg("confidentiality: mkdtemp: %s", strerror(errno));

	gen_directory();
	write_and_apply_directory();
	print_world();
	fflush(stdout);
	if (!proto_hub_restart(&hub))
		fail_msg("confidentiality: the hub did not start (see %s/hub.log)", hub.dir);

	cur_reader = "-";
	post_random_objects();
	post_second_versions();
	post_reshares();
	post_refusals();
	double t1 = now_s();
	read_truth();
	index_collections();
	or_oracle_init(&O, &W);
	printf("confidentiality: %zu objects, %zu stored versions, %zu refused or never stored ids, "
	       "%zu status resources; posting took %.1f s\n",
	       W.n_objs, W.n_rows, n_refused_ids, n_statuses, t1 - t0);
	fflush(stdout);

	explain();
	for (int u = 0; u < W.n_users; u++)
		read_as(u);
	read_as(OR_ANON);
	check_exports();
	check_metrics();
	delete_probes();

	int rc = proto_hub_stop(&hub, SIGTERM);
	CHECK(rc == 0, M_LIST, "the hub did not stop cleanly", "-", NULL, "exit %d", rc);
	/* nothing was deleted or added by the read phase */
	store *st = NULL;
	rk_errctx ctx;
	uint64_t count = 0;
	rk_errctx_clear(&ctx);
	if (store_open(hub.dir, &st, &ctx) != RK_OK || store_count(st, NULL, &count, &ctx) != RK_OK)
		fail_msg("confidentiality: reading the store: %s", ctx.msg);
	store_close(st);
	CHECK(count == stored_total, M_STORE, "the stored versions changed while reading", "store",
	      NULL, "%llu versions after posting, %llu at the end",
	      (unsigned long long)stored_total, (unsigned long long)count);
	proto_hub_cleanup(&hub);
	hub.dir[0] = '\0';
	free_run();
	printf("confidentiality: seed %llu done in %.1f s, %lu mismatches (%llu checks, %llu "
	       "requests so far)\n",
	       s, now_s() - t0, n_mis_total - mis0, n_checks, n_requests);
}

static void print_summary(void)
{
	if (n_mis_total) {
		printf("confidentiality: mismatches by kind and rule (one example each):\n");
		for (int k = 0; k < M_COUNT; k++)
			for (size_t g = 0; g < n_groups; g++)
				if ((int)groups[g].kind == k)
					printf("  %6lu  %-15s %s\n          e.g. %s\n", groups[g].count,
					       mkind_name[k], groups[g].rule, groups[g].example);
	}
	if (public_refused)
		printf("confidentiality: note: the directory refused \"public\", so anonymous reads of "
		       "public collections were checked against a world without any\n");
	unsigned long other = n_mis_total - n_mis[M_LEAK] - n_mis[M_DENIAL];
	printf("confidentiality: %llu checks, %lu leaks, %lu wrongful denials", n_checks,
	       n_mis[M_LEAK], n_mis[M_DENIAL]);
	if (other)
		printf(", %lu other mismatches", other);
	printf(" (%llu requests)\n", n_requests);
	fflush(stdout);
}

static void test_confidentiality(void **state)
{
	(void)state;
	const char *s = getenv("RENKEI_CONF_SEED");
	const char *l = getenv("RENKEI_CONF_LONG");
	bool long_mode = l && *l && strcmp(l, "0") != 0;
	Z = long_mode ? LONG : NORMAL;
	proto_watchdog(long_mode ? 3000 : 300);
	http_init();
	double t0 = now_s();
	if (s && *s) {
		run_seed(strtoull(s, NULL, 10));
	} else {
		unsigned long long base = (unsigned long long)time(NULL) ^
					  ((unsigned long long)getpid() << 16);
		base %= 1000000000ull;
		/* normal mode: one world, and more until 100,000 checks */
		int n = Z.seeds;
		for (int i = 0; i < n || (!long_mode && n_checks < 100000 && i < 4); i++)
			run_seed(base + (unsigned long long)i);
	}
	printf("confidentiality: %.1f s\n", now_s() - t0);
	print_summary();
	curl_easy_cleanup(ch);
	if (n_mis_total)
		fail_msg("confidentiality: %lu mismatches with docs/confidentiality.md (replay a "
			 "seed printed above with RENKEI_CONF_SEED=N)",
			 n_mis_total);
}

/* After a failure that left run_seed early: the hub is stopped (by its
 * PID) and its data directory removed. */
static int teardown_hub(void **state)
{
	(void)state;
	if (hub.dir[0])
		proto_hub_cleanup(&hub);
	memset(&hub, 0, sizeof hub);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oracle_examples),
		cmocka_unit_test_teardown(test_confidentiality, teardown_hub),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
