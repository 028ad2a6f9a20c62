/*
 * pattern_eval.c: a compiled STIX pattern against a set of observed-data
 * (STIX 2.1 section 9), with the semantics of the OASIS reference matcher.
 *
 * Loading (pattern_obs_load) turns a bundle, array or single observed-data
 * into a flat table: per observed-data its interval [first_observed,
 * last_observed], its number_observed, and its root objects (the members
 * of a 2.0 `objects` dictionary, or the objects its `object_refs` name).
 * The objects themselves are copied into flat arrays of values and keys
 * (see "The loaded form" below) with what comparisons need worked out once:
 * keys and strings as pat_names, timestamps and addresses parsed, and each
 * string's reference target resolved (`_ref`, `_refs[*]` in the dictionary
 * (2.0) or in the document's id index (2.1)), so that a path step is a scan
 * of integer compares and evaluation never touches jansson.
 *
 * Matching. A [...] leaf holds for observed-data i when one root object of
 * i satisfies the whole comparison tree (the matcher's rule: AND inside
 * brackets is about one object). A path test is true when some value the
 * path reaches ([*] fans out) passes; a missing property is false even under
 * NOT. Combinations are "bindings": which observed-data were used, how many
 * times (an observed-data with number_observed N may be used N times, the
 * matcher's unpacking of instances), and two summaries of their intervals:
 * min_last (earliest last_observed) and max_first (latest first_observed).
 * Those two suffice for every temporal rule, because each asks whether a
 * timestamp can be chosen inside each interval:
 *
 *   WITHIN d       max_first <= min_last + d      (one window of length d
 *                                                  touching every interval)
 *   A FOLLOWEDBY B A.max_first <= B.min_last      (A's times as early, B's as
 *                                                  late as they can be)
 *   START s STOP e min_last >= s and max_first < e (each interval meets
 *                                                  [s, e))
 *
 * Bindings are generated, never stored: gen() walks the observation tree in
 * continuation-passing style, each continuation a struct on the C stack, and
 * the search stops at the first complete binding. REPEATS n picks n
 * bindings of its child in non-decreasing generation order (a multiset, so
 * permutations are not retried) whose use counts fit number_observed. Work
 * is bounded by PATTERN_MAX_STEPS and the recursion by PATTERN_MAX_EVAL_DEPTH
 * (nested REPEATS multiply rounds). Nothing is allocated per evaluation.
 *
 * Shortcuts, each giving exactly the general search's answer, steps and
 * errors (pattern_match only; pattern_match_atoms keeps the general search,
 * and the match module's tests hold the two against each other):
 *
 *   - one [...] without qualifier: some observed-data holds it, no bindings;
 *   - the compiled plans pattern.chain (a left-deep AND/FOLLOWEDBY chain of
 *     [...]) and pattern.rep (REPEATS over one [...]): the same search as
 *     one loop per link or round, merging in place instead of through
 *     continuations (chain_search, rep_search);
 *   - a leaf's result is remembered for the rest of the evaluation (memo),
 *     and the right side of AND/FOLLOWEDBY is not asked about observations
 *     the left side used up, whose hits could only fail to merge;
 *   - a [...] whose tests all name one type skips other root objects, and
 *     `=` on strings, number comparisons and literal-shaped MATCHES
 *     (pattern_regex.c) run without the general comparison code.
 *
 * The sensor's view (pattern_atom_holds, pattern_match_atoms) runs the same
 * code: a comparison value is either a JSON value or the string of a
 * one-property object (pval), and the binding search reads its
 * observations either from the loaded observed-data or from a list of
 * (time, atoms satisfied) points, each usable once.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pattern_int.h"

/* ---------------------------------------------------------------- addresses */

bool pattern_net_parse(const char *s, size_t len, pat_net *out)
{
	char buf[64];
	const char *slash;
	size_t alen = len;
	unsigned prefix = 0;
	bool has_prefix = false;

	memset(out, 0, sizeof *out);
	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, s, len);
	buf[len] = 0;
	slash = memchr(buf, '/', len);
	if (slash) {
		const char *q = slash + 1;
		alen = (size_t)(slash - buf);
		if (!*q || strlen(q) > 3)
			return false;
		for (; *q; q++) {
			if (*q < '0' || *q > '9')
				return false;
			prefix = prefix * 10 + (unsigned)(*q - '0');
		}
		buf[alen] = 0;
		has_prefix = true;
	}
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		if (has_prefix && prefix > 32)
			return false;
		out->family = 4;
		out->prefix = has_prefix ? prefix : 32;
		return true;
	}
	if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		if (has_prefix && prefix > 128)
			return false;
		out->family = 6;
		out->prefix = has_prefix ? prefix : 128;
		return true;
	}
	memset(out, 0, sizeof *out);
	return false;
}

/* Same first `bits` bits. */
static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));
		return (a[full] & mask) == (b[full] & mask);
	}
	return true;
}

bool pattern_net_within(const pat_net *a, const pat_net *b)
{
	return a->family && a->family == b->family && a->prefix >= b->prefix &&
	       prefix_equal(a->addr, b->addr, b->prefix);
}

static bool net_equal(const pat_net *a, const pat_net *b)
{
	return a->family && a->family == b->family && a->prefix == b->prefix &&
	       prefix_equal(a->addr, b->addr, a->prefix);
}

/* ---------------------------------------------------------------- observations */

/*
 * The loaded form. Every JSON value an evaluation can reach is copied once
 * into `vals`, a flat array: the members of an array or object sit in
 * consecutive slots (first .. first + n - 1), and an object's member keys
 * sit in `keys` at the same indexes as pat_names, so a path step scans a
 * few (length, leading words) pairs instead of hashing the key and walking
 * jansson's table. What the comparisons would otherwise work out
 * on every evaluation is worked out here:
 *
 *   - a string's length, and whether it is valid UTF-8 (then MATCHES runs
 *     PCRE2's JIT without its per-call check);
 *   - whether it reads as an RFC 3339 timestamp (t) or as an address or
 *     CIDR block (net), with the same calls the comparisons made;
 *   - the object it names when a path steps through it (`ref`): the
 *     comparison `network-traffic:dst_ref.value` takes any string followed
 *     by a key step as a reference, looked up among the 2.0 `objects`
 *     dictionary of its observed-data, or among the document's objects by
 *     id for object_refs (2.1). Each object is flattened in the scope its
 *     references resolve in, so a lookup is one index.
 *
 * Strings point into the document's jansson values, which the set keeps a
 * reference on; nothing in the set changes after pattern_obs_load.
 */

typedef enum {
	FV_NULL,
	FV_FALSE,
	FV_TRUE,
	FV_INT,
	FV_REAL,
	FV_STR,
	FV_ARR,
	FV_OBJ,
} fv_kind;

typedef struct fval {
	uint8_t kind;   /* fv_kind */
	bool has_time;  /* STR: rk_time_parse accepted it: t */
	bool has_net;   /* STR: pattern_net_parse accepted it: net */
	bool utf8;      /* STR: valid UTF-8 */
	size_t n;       /* STR: bytes (str.n); ARR, OBJ: members */
	size_t first;   /* ARR, OBJ: slot of the first member */
	ptrdiff_t ref;  /* STR: slot of the object it names, or -1 */
	union {
		const char *s; /* STR, NUL-terminated after n bytes */
		json_int_t i;
		double d;
	} u;
	pat_name str;   /* STR */
	rk_time t;
	pat_net net;
} fval;


typedef struct pat_obs {
	rk_time first, last;
	uint32_t count;
	size_t root0, nroots;
} pat_obs;

/* A root object: its slot, and its type read once so that evaluation skips
 * objects of other types with an integer compare. */
typedef struct pat_root {
	size_t val;
	pat_name type; /* "" when absent */
} pat_root;

struct pattern_obs_set {
	json_t *doc;
	pat_obs *obs;
	size_t n;
	pat_root *roots;
	size_t nroots, rootcap;
	fval *vals;  /* keys[i] is the key of vals[i] when it is an object member */
	pat_name *keys;
	size_t nvals, capvals;
};

size_t pattern_obs_count(const pattern_obs_set *s)
{
	return s ? s->n : 0;
}

void pattern_obs_free(pattern_obs_set *s)
{
	if (!s)
		return;
	json_decref(s->doc);
	free(s->obs);
	free(s->roots);
	free(s->vals);
	free(s->keys);
	free(s);
}

static bool is_type(const json_t *o, const char *type)
{
	const char *t = json_string_value(json_object_get(o, "type"));
	return t && strcmp(t, type) == 0;
}

/* RFC 3629 UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF): what PCRE2 checks before matching a UTF pattern. */
static bool utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t len;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

/* n new consecutive slots; *first the first. */
static bool flat_reserve(pattern_obs_set *s, size_t n, size_t *first)
{
	*first = s->nvals;
	if (n == 0) /* an empty array or object: no slot, vals may be NULL */
		return true;
	if (n > s->capvals - s->nvals) {
		size_t cap = s->capvals ? s->capvals : 64;
		while (cap - s->nvals < n) {
			if (cap > SIZE_MAX / 2 / sizeof(fval))
				return false;
			cap *= 2;
		}
		fval *v = realloc(s->vals, cap * sizeof *v);
		if (!v)
			return false;
		s->vals = v;
		pat_name *k = realloc(s->keys, cap * sizeof *k);
		if (!k)
			return false;
		s->keys = k;
		s->capvals = cap;
	}
	memset(&s->vals[s->nvals], 0, n * sizeof *s->vals);
	memset(&s->keys[s->nvals], 0, n * sizeof *s->keys);
	s->nvals += n;
	return true;
}

/* Copies j into slot `slot` (members into new slots). References are left
 * unresolved (-1): flat_resolve sets them once the scope is complete. */
static bool flat_fill(pattern_obs_set *s, const json_t *j, size_t slot)
{
	size_t first = 0, k = 0, n;
	fval *v;

	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		const char *key;
		size_t klen;
		json_t *m;
		n = json_object_size(j);
		if (!flat_reserve(s, n, &first))
			return false;
		s->vals[slot].kind = FV_OBJ;
		s->vals[slot].n = n;
		s->vals[slot].first = first;
		json_object_keylen_foreach((json_t *)j, key, klen, m) {
			if (k == n)
				break;
			pattern_name_init(&s->keys[first + k], key, klen);
			if (!flat_fill(s, m, first + k))
				return false;
			k++;
		}
		return true;
	}
	case JSON_ARRAY: {
		json_t *m;
		n = json_array_size(j);
		if (!flat_reserve(s, n, &first))
			return false;
		s->vals[slot].kind = FV_ARR;
		s->vals[slot].n = n;
		s->vals[slot].first = first;
		json_array_foreach(j, k, m)
			if (!flat_fill(s, m, first + k))
				return false;
		return true;
	}
	case JSON_STRING:
		v = &s->vals[slot];
		v->kind = FV_STR;
		v->u.s = json_string_value(j);
		v->n = json_string_length(j);
		v->ref = -1;
		pattern_name_init(&v->str, v->u.s, v->n);
		v->utf8 = utf8_valid(v->u.s, v->n);
		v->has_time = rk_time_parse(v->u.s, &v->t);
		v->has_net = pattern_net_parse(v->u.s, v->n, &v->net);
		return true;
	case JSON_INTEGER:
		s->vals[slot].kind = FV_INT;
		s->vals[slot].u.i = json_integer_value(j);
		return true;
	case JSON_REAL:
		s->vals[slot].kind = FV_REAL;
		s->vals[slot].u.d = json_real_value(j);
		return true;
	case JSON_TRUE:
		s->vals[slot].kind = FV_TRUE;
		return true;
	case JSON_FALSE:
		s->vals[slot].kind = FV_FALSE;
		return true;
	case JSON_NULL:
		s->vals[slot].kind = FV_NULL;
		return true;
	}
	return true;
}

/* One object into a slot of its own; *slot set. */
static bool flat_object(pattern_obs_set *s, const json_t *obj, size_t *slot)
{
	return flat_reserve(s, 1, slot) && flat_fill(s, obj, *slot);
}

/* Sets `ref` of the strings in slots [from, to): `scope` maps a name
 * (json_string_value of the string, as the reference lookup used) to the
 * slot of the object it names, as a JSON integer. */
static void flat_resolve(pattern_obs_set *s, size_t from, size_t to, const json_t *scope)
{
	for (size_t i = from; i < to; i++) {
		fval *v = &s->vals[i];
		if (v->kind != FV_STR)
			continue;
		const json_t *slot = json_object_get(scope, v->u.s);
		v->ref = slot ? (ptrdiff_t)json_integer_value(slot) : -1;
	}
}

/* The member `key` of the object in slot obj, or NULL. */
static const fval *flat_get(const pattern_obs_set *s, size_t obj, const char *key)
{
	const fval *o = &s->vals[obj];
	pat_name want;

	pattern_name_init(&want, key, strlen(key));
	if (o->kind != FV_OBJ)
		return NULL;
	for (size_t i = o->first; i < o->first + o->n; i++)
		if (pattern_name_eq(&s->keys[i], &want))
			return &s->vals[i];
	return NULL;
}

static bool add_root(pattern_obs_set *s, size_t slot)
{
	const fval *tv = flat_get(s, slot, "type");
	const char *t = tv && tv->kind == FV_STR ? tv->u.s : "";

	if (s->nroots == s->rootcap) {
		size_t cap = s->rootcap ? s->rootcap * 2 : 16;
		pat_root *r = realloc(s->roots, cap * sizeof *r);
		if (!r)
			return false;
		s->roots = r;
		s->rootcap = cap;
	}
	/* strlen, not the JSON length: the type compared as the C string
	 * the pattern's type is */
	s->roots[s->nroots].val = slot;
	pattern_name_init(&s->roots[s->nroots++].type, t, strlen(t));
	return true;
}

/* Loads one observed-data. `ids` maps the document's ids to the slots of
 * their objects (object_refs); a 2.0 `objects` dictionary is flattened here
 * with references resolved among its own members. */
static rk_err load_one(pattern_obs_set *s, const json_t *od, const char *where,
		       const json_t *ids, rk_errctx *ctx)
{
	pat_obs *o = &s->obs[s->n];
	const json_t *n = json_object_get(od, "number_observed");
	const json_t *objs = json_object_get(od, "objects");
	const json_t *refs = json_object_get(od, "object_refs");
	const char *f = json_string_value(json_object_get(od, "first_observed"));
	const char *l = json_string_value(json_object_get(od, "last_observed"));

	if (!f || !rk_time_parse(f, &o->first))
		return rk_fail(ctx, RK_EINVAL, where, "first_observed: missing or not an RFC 3339 timestamp");
	if (!l || !rk_time_parse(l, &o->last))
		return rk_fail(ctx, RK_EINVAL, where, "last_observed: missing or not an RFC 3339 timestamp");
	if (o->last < o->first)
		return rk_fail(ctx, RK_EINVAL, where, "last_observed is before first_observed");
	if (!json_is_integer(n) || json_integer_value(n) < 1 ||
	    json_integer_value(n) > 999999999)
		return rk_fail(ctx, RK_EINVAL, where, "number_observed: not an integer from 1 to 999999999");
	o->count = (uint32_t)json_integer_value(n);
	o->root0 = s->nroots;
	if (!json_is_object(objs) && !json_is_array(refs))
		return rk_fail(ctx, RK_EINVAL, where, "neither objects nor object_refs");
	if (json_is_object(objs)) {
		json_t *scope = json_object();
		size_t from = s->nvals, slot;
		const char *k;
		json_t *v;
		if (!scope)
			goto oom;
		json_object_foreach((json_t *)objs, k, v) {
			if (!json_is_object(v))
				continue;
			if (!flat_object(s, v, &slot) || !add_root(s, slot) ||
			    json_object_set_new(scope, k, json_integer((json_int_t)slot))) {
				json_decref(scope);
				goto oom;
			}
		}
		flat_resolve(s, from, s->nvals, scope);
		json_decref(scope);
	} else {
		size_t i;
		json_t *v;
		json_array_foreach(refs, i, v) {
			const json_t *slot = json_object_get(ids, json_string_value(v) ? json_string_value(v) : "");
			if (slot && !add_root(s, (size_t)json_integer_value(slot)))
				goto oom;
		}
	}
	o->nroots = s->nroots - o->root0;
	s->n++;
	return RK_OK;
oom:
	return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
}

/* The document's objects by id (the last of a repeated id, as a JSON
 * object keeps it), flattened with references resolved among them, for
 * the observed-data that use object_refs; *ids maps each id to its slot. */
static bool load_ids(pattern_obs_set *s, const json_t *list, json_t **ids)
{
	json_t *index = json_object(), *v;
	const char *id;
	size_t i, from = s->nvals, slot;
	bool ok = index != NULL && (*ids = json_object()) != NULL;

	json_array_foreach(list, i, v) {
		if (!ok)
			break;
		id = json_string_value(json_object_get(v, "id"));
		if (id && json_object_set(index, id, v))
			ok = false;
	}
	if (ok)
		json_object_foreach(index, id, v) {
			if (!flat_object(s, v, &slot) ||
			    json_object_set_new(*ids, id, json_integer((json_int_t)slot))) {
				ok = false;
				break;
			}
		}
	if (ok)
		flat_resolve(s, from, s->nvals, *ids);
	json_decref(index);
	return ok;
}

rk_err pattern_obs_load(json_t *doc, pattern_obs_set **out, rk_errctx *ctx)
{
	pattern_obs_set *s = NULL;
	json_t *list = NULL, *ids = NULL;
	size_t nod = 0, i;
	json_t *v;
	rk_err err = RK_OK;
	bool single = false, by_id = false;

	*out = NULL;
	if (json_is_array(doc)) {
		list = doc;
	} else if (json_is_object(doc) && is_type(doc, "bundle")) {
		list = json_object_get(doc, "objects");
		if (!json_is_array(list))
			return rk_fail(ctx, RK_EINVAL, "objects", "a bundle without an objects array");
	} else if (json_is_object(doc) && is_type(doc, "observed-data")) {
		single = true;
	} else {
		return rk_fail(ctx, RK_EINVAL, NULL,
			       "expected a bundle, an array of objects or an observed-data");
	}
	s = calloc(1, sizeof *s);
	if (!s)
		goto oom;
	s->doc = json_incref(doc);
	if (single) {
		nod = 1;
	} else {
		json_array_foreach(list, i, v) {
			if (!is_type(v, "observed-data"))
				continue;
			nod++;
			by_id |= !json_is_object(json_object_get(v, "objects"));
		}
	}
	if (nod > PATTERN_MAX_OBSERVED) {
		err = rk_fail(ctx, RK_ETOOBIG, NULL, "more than %d observed-data",
			      PATTERN_MAX_OBSERVED);
		goto fail;
	}
	s->obs = calloc(nod ? nod : 1, sizeof *s->obs);
	if (!s->obs || !(ids = json_object()))
		goto oom;
	if (by_id) {
		json_decref(ids);
		ids = NULL;
		if (!load_ids(s, list, &ids))
			goto oom;
	}
	if (single) {
		err = load_one(s, doc, "", ids, ctx);
	} else {
		json_array_foreach(list, i, v) {
			char where[64];
			if (!is_type(v, "observed-data"))
				continue;
			snprintf(where, sizeof where, "%s[%zu]", list == doc ? "" : "objects", i);
			if ((err = load_one(s, v, where, ids, ctx)))
				break;
		}
	}
	if (err)
		goto fail;
	json_decref(ids);
	*out = s;
	return RK_OK;
oom:
	err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
fail:
	json_decref(ids);
	pattern_obs_free(s);
	return err;
}

/* ---------------------------------------------------------------- values */

/* Leaf results remembered within one evaluation (leaf_hit): atoms below
 * MEMO_ATOMS on observed-data below 64. A leaf's result depends only on the
 * set, and the binding search asks again for the same leaf and observation
 * (every REPEATS round, the right side of AND once per left binding). */
#define MEMO_ATOMS 4

typedef struct ev {
	const pattern_obs_set *set;
	const pattern_atom_obs *aobs; /* pattern_match_atoms: used instead of set */
	size_t an;
	uint64_t max_steps;
	uint64_t steps;
	unsigned depth; /* nested continuations: REPEATS rounds, AND/FOLLOWEDBY */
	rk_err err;
	rk_errctx *ctx;
	uint64_t memo_known[MEMO_ATOMS], memo_hit[MEMO_ATOMS];
} ev;

/* Binary property text (base64, or hex for *_hex) to bytes in buf. */
static bool prop_bytes(const char *s, size_t n, bool hex, unsigned char *buf, size_t cap,
		       size_t *outlen)
{
	if (hex) {
		if (n % 2 || n / 2 > cap)
			return false;
		for (size_t i = 0; i < n; i += 2) {
			int hi = rk_hex_value(s[i]), lo = rk_hex_value(s[i + 1]);
			if (hi < 0 || lo < 0)
				return false;
			buf[i / 2] = (unsigned char)(hi << 4 | lo);
		}
		*outlen = n / 2;
		return true;
	}
	if (n / 4 * 3 + 3 > cap)
		return false;
	return pattern_b64_decode(s, n, buf, outlen);
}

static int cmp_bytes(const void *a, size_t an, const void *b, size_t bn)
{
	int r = memcmp(a, b, an < bn ? an : bn);
	if (r)
		return r < 0 ? -1 : 1;
	return an < bn ? -1 : an > bn ? 1 : 0;
}

#define INCOMPARABLE (-2)

/* STIX 2.1 section 9.6.4: a string constant compared with a binary
 * property (its name ends in _bin or _hex) is first converted to bytes, each
 * code point U+0000..U+00FF to the byte of the same value; a string with a
 * higher code point cannot be converted and compares with nothing. The
 * constant is UTF-8, so only 1-byte and C2/C3 2-byte sequences convert. */
static bool str_bytes(const char *s, size_t n, unsigned char *buf, size_t cap,
		      size_t *outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; o++) {
		unsigned char b = (unsigned char)s[i];
		if (o == cap)
			return false;
		if (b < 0x80) {
			buf[o] = b;
			i++;
		} else if ((b == 0xc2 || b == 0xc3) && i + 1 < n &&
			   ((unsigned char)s[i + 1] & 0xc0) == 0x80) {
			buf[o] = (unsigned char)((b & 0x1f) << 6 | ((unsigned char)s[i + 1] & 0x3f));
			i += 2;
		} else {
			return false;
		}
	}
	*outlen = o;
	return true;
}

/* A value under test: a loaded value of observed-data, or (fv NULL) the
 * string value of a sensor's one-property object (pattern_atom_holds). One
 * set of comparison rules serves both. */
typedef struct pval {
	const fval *fv;
	const char *s;
	size_t n;
} pval;

static bool pv_string(const pval *v, const char **s, size_t *n)
{
	if (!v->fv) {
		*s = v->s;
		*n = v->n;
		return true;
	}
	if (v->fv->kind != FV_STR)
		return false;
	*s = v->fv->u.s;
	*n = v->fv->n;
	return true;
}

/* Order of a binary property's bytes against a string constant's bytes. */
static int order_bin_str(const pval *v, const pat_const *c, const pat_path *path)
{
	unsigned char pb[4096], cb[4096];
	const char *s;
	size_t sn, pn, cn;

	if (!pv_string(v, &s, &sn) ||
	    !prop_bytes(s, sn, path->ends_hex, pb, sizeof pb, &pn) ||
	    !str_bytes(c->s, c->len, cb, sizeof cb, &cn))
		return INCOMPARABLE;
	return cmp_bytes(pb, pn, cb, cn);
}

/* Copies a string value into buf as a C string (rk_time_parse wants one);
 * false if it does not fit. */
static bool pv_cstring(const pval *v, char *buf, size_t cap)
{
	const char *s;
	size_t n;

	if (!pv_string(v, &s, &n) || n >= cap || memchr(s, 0, n))
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	return true;
}

/* Order of a value against a constant: -1, 0, 1, or INCOMPARABLE. */
static int order(const pval *v, const pat_const *c, const pat_path *path)
{
	const char *s;
	size_t sn;

	switch (c->kind) {
	case PAT_C_STR:
		if (path->ends_bin || path->ends_hex)
			return order_bin_str(v, c, path);
		if (!pv_string(v, &s, &sn))
			return INCOMPARABLE;
		return cmp_bytes(s, sn, c->s, c->len);
	case PAT_C_INT:
		if (v->fv && v->fv->kind == FV_INT) {
			json_int_t x = v->fv->u.i;
			return x < c->i ? -1 : x > c->i;
		}
		/* fall through */
	case PAT_C_FLOAT:
		if (v->fv && (v->fv->kind == FV_INT || v->fv->kind == FV_REAL)) {
			double x = v->fv->kind == FV_INT ? (double)v->fv->u.i : v->fv->u.d;
			return x < c->d ? -1 : x > c->d ? 1 : x == c->d ? 0 : INCOMPARABLE;
		}
		return INCOMPARABLE;
	case PAT_C_BOOL:
		return INCOMPARABLE;
	case PAT_C_TIME: {
		char buf[64];
		rk_time t;
		if (v->fv) {
			/* parsed at load, from the same C string */
			if (v->fv->kind != FV_STR || !v->fv->has_time)
				return INCOMPARABLE;
			t = v->fv->t;
		} else if (!pv_cstring(v, buf, sizeof buf) || !rk_time_parse(buf, &t)) {
			return INCOMPARABLE;
		}
		return t < c->t ? -1 : t > c->t;
	}
	case PAT_C_BIN: {
		unsigned char buf[4096];
		size_t n;
		if (!pv_string(v, &s, &sn) ||
		    !prop_bytes(s, sn, path->ends_hex, buf, sizeof buf, &n))
			return INCOMPARABLE;
		return cmp_bytes(buf, n, c->s, c->len);
	}
	}
	return INCOMPARABLE;
}

static bool equal(const pval *v, const pat_const *c, const pat_path *path)
{
	const char *s;
	size_t n;

	switch (c->kind) {
	case PAT_C_STR: {
		if (path->ends_bin || path->ends_hex)
			return order_bin_str(v, c, path) == 0;
		if (!pv_string(v, &s, &n))
			return false;
		if (n == c->len && memcmp(s, c->s, n) == 0)
			return true;
		if (path->ip_value && c->net.family) {
			pat_net a;
			if (v->fv)
				return v->fv->has_net && net_equal(&v->fv->net, &c->net);
			return pattern_net_parse(s, n, &a) && net_equal(&a, &c->net);
		}
		return false;
	}
	case PAT_C_BOOL:
		return v->fv && (v->fv->kind == FV_TRUE || v->fv->kind == FV_FALSE) &&
		       (v->fv->kind == FV_TRUE) == c->b;
	case PAT_C_BIN: {
		if (!pv_string(v, &s, &n))
			return false;
		if (path->ends_hex)
			return n == 2 * c->len && strncasecmp(s, c->hex, n) == 0;
		while (n > 0 && s[n - 1] == '=')
			n--;
		return n == strlen(c->b64) && memcmp(s, c->b64, n) == 0;
	}
	default:
		return order(v, c, path) == 0;
	}
}

static size_t utf8_next(const char *s, size_t i, size_t n)
{
	i++;
	while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
		i++;
	return i;
}

/* SQL LIKE: '%' any run of characters, '_' one character (code point). */
static bool like(const char *s, size_t sn, const char *p, size_t pn)
{
	size_t si = 0, pi = 0, star_p = 0, star_s = 0;
	bool star = false;

	while (si < sn) {
		if (pi < pn && p[pi] == '%') {
			star = true;
			star_p = ++pi;
			star_s = si;
		} else if (pi < pn && p[pi] == '_') {
			pi++;
			si = utf8_next(s, si, sn);
		} else if (pi < pn && p[pi] == s[si]) {
			pi++;
			si++;
		} else if (star) {
			pi = star_p;
			star_s = utf8_next(s, star_s, sn);
			si = star_s;
		} else {
			return false;
		}
	}
	while (pi < pn && p[pi] == '%')
		pi++;
	return pi == pn;
}

/* PCRE2 needs scratch space to match; one block per thread, made on the
 * thread's first MATCHES and freed when the thread ends, keeps compiled
 * patterns immutable and shareable between threads. */
static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static bool md_key_ok;
/* The block the key holds for this thread, read without the key's calls. */
static _Thread_local pcre2_match_data *md_mine;

static void md_destroy(void *md)
{
	pcre2_match_data_free(md);
}

static void md_init(void)
{
	md_key_ok = pthread_key_create(&md_key, md_destroy) == 0;
}

static pcre2_match_data *thread_md(ev *e)
{
	pcre2_match_data *md;

	if (md_mine)
		return md_mine;
	pthread_once(&md_once, md_init);
	md = md_key_ok ? pthread_getspecific(md_key) : NULL;
	if (!md && md_key_ok) {
		md = pcre2_match_data_create(1, NULL);
		if (md && pthread_setspecific(md_key, md) != 0) {
			pcre2_match_data_free(md);
			md = NULL;
		}
	}
	if (!md)
		e->err = rk_fail(e->ctx, RK_ENOMEM, NULL, "out of memory");
	md_mine = md;
	return md;
}

static bool regex_match(ev *e, const pat_cmp *c, const pval *v)
{
	const char *s;
	size_t n;
	pcre2_match_data *md;
	int rc;

	if (!pv_string(v, &s, &n))
		return false;
	/* A loaded string was checked for UTF-8 once: a literal-shaped
	 * expression on text runs without PCRE2. */
	if (c->relit && !c->path.ends_bin && v->fv && v->fv->utf8 &&
	    (rc = pattern_relit_match(c->relit, s, n)) >= 0)
		return rc == 1;
	if (!(md = thread_md(e)))
		return false;
	if (c->path.ends_bin && c->re_bytes) {
		unsigned char stackbuf[4096], *buf = stackbuf;
		size_t blen = 0;
		bool ok;
		if (n / 4 * 3 + 3 > sizeof stackbuf && !(buf = malloc(n / 4 * 3 + 3))) {
			e->err = rk_fail(e->ctx, RK_ENOMEM, NULL, "out of memory");
			return false;
		}
		ok = pattern_b64_decode(s, n, buf, &blen);
		rc = !ok ? -1
		   : c->re_bytes_jit ? pcre2_jit_match(c->re_bytes, buf, blen, 0, 0, md, NULL)
				     : pcre2_match(c->re_bytes, buf, blen, 0, 0, md, NULL);
		/* the bytes form used to run interpreted: where the JIT's
		 * smaller stack gives up, the interpreter still answers */
		if (ok && rc == PCRE2_ERROR_JIT_STACKLIMIT)
			rc = pcre2_match(c->re_bytes, buf, blen, 0, PCRE2_NO_JIT, md, NULL);
		if (buf != stackbuf)
			free(buf);
		if (ok)
			return rc >= 0;
	}
	/* valid UTF-8: skip PCRE2's check (the JIT entry point makes none,
	 * and needs valid text) */
	if (v->fv && v->fv->utf8)
		rc = c->re_jit ? pcre2_jit_match(c->re, (PCRE2_SPTR)s, n, 0, 0, md, NULL)
			       : pcre2_match(c->re, (PCRE2_SPTR)s, n, 0, PCRE2_NO_UTF_CHECK, md, NULL);
	else
		rc = pcre2_match(c->re, (PCRE2_SPTR)s, n, 0, 0, md, NULL);
	return rc >= 0;
}

static bool test_value(ev *e, const pat_cmp *c, const pval *v)
{
	const pat_const *k = c->vals;
	const char *s;
	size_t n;
	bool r = false;
	int o;

	switch (c->op) {
	case PAT_OP_EQ:
		r = equal(v, k, &c->path);
		break;
	case PAT_OP_NE:
		r = !equal(v, k, &c->path);
		break;
	case PAT_OP_LT:
		o = order(v, k, &c->path);
		r = o != INCOMPARABLE && o < 0;
		break;
	case PAT_OP_GT:
		o = order(v, k, &c->path);
		r = o != INCOMPARABLE && o > 0;
		break;
	case PAT_OP_LE:
		o = order(v, k, &c->path);
		r = o != INCOMPARABLE && o <= 0;
		break;
	case PAT_OP_GE:
		o = order(v, k, &c->path);
		r = o != INCOMPARABLE && o >= 0;
		break;
	case PAT_OP_IN:
		for (size_t i = 0; i < c->nvals && !r; i++)
			r = equal(v, &c->vals[i], &c->path);
		break;
	case PAT_OP_LIKE:
		r = pv_string(v, &s, &n) && like(s, n, k->s, k->len);
		break;
	case PAT_OP_MATCHES:
		r = regex_match(e, c, v);
		break;
	case PAT_OP_ISSUBSET:
	case PAT_OP_ISSUPERSET: {
		pat_net parsed;
		const pat_net *a = &parsed;
		if (v->fv) {
			if (v->fv->kind != FV_STR || !v->fv->has_net)
				return false; /* not an address: no value to test, even under NOT */
			a = &v->fv->net;
		} else if (!pattern_net_parse(v->s, v->n, &parsed)) {
			return false;
		}
		r = c->op == PAT_OP_ISSUBSET ? pattern_net_within(a, &k->net)
					     : pattern_net_within(&k->net, a);
		break;
	}
	case PAT_OP_EXISTS:
		return true;
	}
	return c->negated ? !r : r;
}

/* The values path c reaches from v, from step i on: true if one passes the
 * test. Key and index steps follow one value (a loop); [*] fans out. */
static bool walk(ev *e, const pat_cmp *c, const fval *v, size_t i)
{
	const pattern_obs_set *set = e->set;

	for (; i < c->path.nsteps; i++) {
		const pat_step *st = &c->path.steps[i];
		switch (st->kind) {
		case PAT_STEP_KEY: {
			/* a string before a key step is a reference: the
			 * object it names, resolved at load */
			if (v->kind == FV_STR && i > 0) {
				if (v->ref < 0)
					return false;
				v = &set->vals[v->ref];
			}
			if (v->kind != FV_OBJ)
				return false;
			size_t j = v->first, end = j + v->n;
			while (j < end && !pattern_name_eq(&set->keys[j], &st->name))
				j++;
			if (j == end)
				return false;
			v = &set->vals[j];
			break;
		}
		case PAT_STEP_INDEX: {
			if (v->kind != FV_ARR)
				return false;
			long n = (long)v->n, k = st->index < 0 ? n + st->index : st->index;
			if (k < 0 || k >= n)
				return false;
			v = &set->vals[v->first + (size_t)k];
			break;
		}
		case PAT_STEP_ANY:
			if (v->kind != FV_ARR && v->kind != FV_OBJ)
				return false;
			for (size_t k = 0; k < v->n; k++)
				if (walk(e, c, &set->vals[v->first + k], i + 1))
					return true;
			return false;
		}
	}
	if (c->eq_str) {
		/* equal() for a string constant, inline */
		const pat_const *k = c->vals;
		if (v->kind != FV_STR)
			return false;
		if (pattern_name_eq(&v->str, &k->str))
			return true;
		return c->path.ip_value && k->net.family && v->has_net &&
		       net_equal(&v->net, &k->net);
	}
	if (c->num_const && (v->kind == FV_INT || v->kind == FV_REAL)) {
		/* test_value for a number against a number, inline */
		const pat_const *k = c->vals;
		int o;
		bool r = false;
		if (v->kind == FV_INT && k->kind == PAT_C_INT) {
			o = v->u.i < k->i ? -1 : v->u.i > k->i;
		} else {
			double x = v->kind == FV_INT ? (double)v->u.i : v->u.d;
			o = x < k->d ? -1 : x > k->d ? 1 : x == k->d ? 0 : INCOMPARABLE;
		}
		switch (c->op) {
		case PAT_OP_EQ: r = o == 0; break;
		case PAT_OP_NE: r = o != 0; break;
		case PAT_OP_LT: r = o != INCOMPARABLE && o < 0; break;
		case PAT_OP_GT: r = o != INCOMPARABLE && o > 0; break;
		case PAT_OP_LE: r = o != INCOMPARABLE && o <= 0; break;
		case PAT_OP_GE: r = o != INCOMPARABLE && o >= 0; break;
		default: break;
		}
		return c->negated ? !r : r;
	}
	pval pv = { v, NULL, 0 };
	return test_value(e, c, &pv);
}

/* walk's key steps for a path of keys only: the one value reached, or
 * NULL. */
static inline const fval *follow_keys(const pattern_obs_set *set, const pat_path *path,
				      const fval *v)
{
	for (size_t i = 0; i < path->nsteps; i++) {
		if (v->kind == FV_STR && i > 0) {
			if (v->ref < 0)
				return NULL;
			v = &set->vals[v->ref];
		}
		if (v->kind != FV_OBJ)
			return NULL;
		size_t j = v->first, end = j + v->n;
		while (j < end && !pattern_name_eq(&set->keys[j], &path->steps[i].name))
			j++;
		if (j == end)
			return NULL;
		v = &set->vals[j];
	}
	return v;
}

#if defined(__GNUC__)
#define EVAL_INLINE inline __attribute__((always_inline))
#else
#define EVAL_INLINE inline
#endif

/* One test on one root object (`typed`: whose type is known to be the
 * test's). The commonest test, `=` a string on a path of keys, runs here
 * without a call; the rest through walk. Inlined into every caller
 * whatever the compiler's budget: it is the innermost step of evaluation,
 * and a call would cost as much as the test. */
static EVAL_INLINE bool eval_test(ev *e, const pat_cmp *c, const pat_root *root, bool typed)
{
	if (!typed && !pattern_name_eq(&root->type, &c->path.type_name))
		return false;
	const pattern_obs_set *set = e->set;
	const fval *v = &set->vals[root->val];
	if (!c->eq_str || !c->path.keys_only)
		return walk(e, c, v, 0);
	if (c->path.nsteps == 1) {
		/* a property of the root object itself */
		const pat_name *want = &c->path.steps[0].name;
		size_t j = v->first, end = v->kind == FV_OBJ ? j + v->n : j;
		while (j < end && !pattern_name_eq(&set->keys[j], want))
			j++;
		if (j == end)
			return false;
		v = &set->vals[j];
	} else if (!(v = follow_keys(set, &c->path, v))) {
		return false;
	}
	if (v->kind != FV_STR)
		return false;
	return pattern_name_eq(&v->str, &c->vals->str) ||
	       (c->path.ip_value && c->vals->net.family && v->has_net &&
		net_equal(&v->net, &c->vals->net));
}

static bool eval_cmp(ev *e, const pat_cmp *c, const pat_root *root, bool typed)
{
	switch (c->kind) {
	case PAT_CMP_AND:
		for (const pat_cmp *k = c->first; k; k = k->next)
			if (!(k->kind == PAT_CMP_TEST ? eval_test(e, k, root, typed)
						      : eval_cmp(e, k, root, typed)))
				return false;
		return true;
	case PAT_CMP_OR:
		for (const pat_cmp *k = c->first; k; k = k->next)
			if (k->kind == PAT_CMP_TEST ? eval_test(e, k, root, typed)
						    : eval_cmp(e, k, root, typed))
				return true;
		return false;
	case PAT_CMP_TEST:
		return eval_test(e, c, root, typed);
	}
	return false;
}

/* ---------------------------------------------------------------- bindings */

/* The observations searched: observed-data (pattern_match) or a sensor's
 * atom observations (pattern_match_atoms), each a point in time used once. */
static size_t obs_total(const ev *e)
{
	return e->aobs ? e->an : e->set->n;
}

static uint32_t obs_uses(const ev *e, size_t i)
{
	return e->aobs ? 1 : e->set->obs[i].count;
}

typedef struct binding {
	rk_time min_last, max_first;
	uint32_t n;
	struct {
		uint32_t obs, uses;
	} e[PATTERN_MAX_BINDING];
} binding;

/* a + b if their uses fit each observed-data's number_observed. */
static bool merge(ev *e, const binding *a, const binding *b, binding *out)
{
	/* the used entries only: a binding is mostly empty room */
	out->min_last = a->min_last;
	out->max_first = a->max_first;
	out->n = a->n;
	if (a->n <= 4) /* a copy of constant size, without a call (entries
			* past n are copied unread) */
		memcpy(out->e, a->e, 4 * sizeof a->e[0]);
	else
		memcpy(out->e, a->e, a->n * sizeof a->e[0]);
	if (b->min_last < out->min_last)
		out->min_last = b->min_last;
	if (b->max_first > out->max_first)
		out->max_first = b->max_first;
	for (uint32_t i = 0; i < b->n; i++) {
		uint32_t j = 0;
		while (j < out->n && out->e[j].obs != b->e[i].obs)
			j++;
		if (j == out->n) {
			if (out->n == PATTERN_MAX_BINDING) {
				e->err = rk_fail(e->ctx, RK_ETOOBIG, NULL,
						 "a match would combine more than %d observed-data",
						 PATTERN_MAX_BINDING);
				return false;
			}
			out->e[out->n].obs = b->e[i].obs;
			out->e[out->n++].uses = 0;
		}
		out->e[j].uses += b->e[i].uses;
		if (out->e[j].uses > obs_uses(e, b->e[i].obs))
			return false;
	}
	return true;
}

typedef struct kont kont;
/* Returns true to stop the search (found, or e->err set). */
typedef bool (*kont_fn)(ev *e, kont *k, const binding *b);
struct kont {
	kont_fn fn;
	const pat_obs_node *node;
	const binding *acc;
	kont *next;
	uint32_t round;    /* REPEATS: bindings chosen so far */
	uint64_t seq, min; /* REPEATS: generation counter, first allowed */
};

static bool gen(ev *e, const pat_obs_node *n, kont *k);
static bool k_pair_right(ev *e, kont *k, const binding *b);

static bool step(ev *e)
{
	if (++e->steps > e->max_steps) {
		e->err = rk_fail(e->ctx, RK_ETOOBIG, NULL,
				 "evaluation needs more than %llu steps",
				 (unsigned long long)e->max_steps);
		return false;
	}
	return true;
}

static bool k_pair_right(ev *e, kont *k, const binding *b)
{
	binding m;

	if (k->node->kind == PAT_OBS_FOLLOWEDBY && k->acc->max_first > b->min_last)
		return false;
	if (!merge(e, k->acc, b, &m))
		return e->err != RK_OK;
	return k->next->fn(e, k->next, &m);
}

/* The search recurses once per REPEATS round and per AND/FOLLOWEDBY
 * operand; nested REPEATS multiply, so the depth is bounded on its own. */
static bool deeper(ev *e)
{
	if (++e->depth > PATTERN_MAX_EVAL_DEPTH) {
		e->err = rk_fail(e->ctx, RK_ETOOBIG, NULL,
				 "evaluation nests deeper than %d", PATTERN_MAX_EVAL_DEPTH);
		return false;
	}
	return true;
}

static bool k_pair_left(ev *e, kont *k, const binding *b)
{
	kont r = { k_pair_right, k->node, b, k->next, 0, 0, 0 };
	bool stop;

	if (!deeper(e))
		return true;
	stop = gen(e, k->node->right, &r);
	e->depth--;
	return stop;
}

static bool k_filter(ev *e, kont *k, const binding *b)
{
	const pat_obs_node *n = k->node;

	if (n->kind == PAT_OBS_WITHIN && b->max_first - b->min_last > n->within_us)
		return false;
	if (n->kind == PAT_OBS_STARTSTOP && (b->min_last < n->start || b->max_first >= n->stop))
		return false;
	return k->next->fn(e, k->next, b);
}

static bool repeat(ev *e, kont *k, const binding *acc, uint32_t round, uint64_t min);

static bool k_repeat(ev *e, kont *k, const binding *b)
{
	uint64_t seq = k->seq++;
	binding m;

	if (seq < k->min)
		return false;
	if (k->acc) {
		if (!merge(e, k->acc, b, &m))
			return e->err != RK_OK;
		b = &m;
	}
	if (k->round + 1 == k->node->repeats)
		return k->next->fn(e, k->next, b);
	return repeat(e, k->next, b, k->round + 1, seq);
}

/* Chooses binding number `round` of a REPEATS among the child's bindings
 * numbered `min` and later; k is the REPEATS node's own continuation. */
static bool repeat(ev *e, kont *k, const binding *acc, uint32_t round, uint64_t min)
{
	kont r = { k_repeat, k->node, acc, k, round, 0, min };
	bool stop;

	if (!deeper(e))
		return true;
	stop = gen(e, k->node->left, &r);
	e->depth--;
	return stop;
}

static bool k_repeat_entry(ev *e, kont *k, const binding *b);

/* Does one root object of observed-data i satisfy the leaf's comparisons? */
static bool leaf_eval(ev *e, const pat_obs_node *n, size_t i)
{
	const pat_obs *ob = &e->set->obs[i];
	const pat_root *root = &e->set->roots[ob->root0], *end = root + ob->nroots;
	const pat_cmp *c = n->cmp;

	if (n->one_type) {
		for (; root < end; root++)
			if (pattern_name_eq(&root->type, n->one_type) &&
			    (c->kind == PAT_CMP_TEST ? eval_test(e, c, root, true)
						     : eval_cmp(e, c, root, true)))
				return true;
		return false;
	}
	for (; root < end; root++)
		if (eval_cmp(e, c, root, false))
			return true;
	return false;
}

/* leaf_eval of a leaf, or its atom bit for pattern_match_atoms. */
static inline bool leaf_hit(ev *e, const pat_obs_node *n, size_t i)
{
	if (e->aobs)
		return e->aobs[i].atoms[n->atom / 64] >> (n->atom % 64) & 1;
	bool memo = n->atom < MEMO_ATOMS && i < 64, hit;
	uint64_t bit = memo ? UINT64_C(1) << i : 0;

	if (memo && (e->memo_known[n->atom] & bit))
		return (e->memo_hit[n->atom] & bit) != 0;
	hit = leaf_eval(e, n, i);
	if (memo && !e->err) {
		e->memo_known[n->atom] |= bit;
		if (hit)
			e->memo_hit[n->atom] |= bit;
	}
	return hit;
}

/* Whether binding b already uses observation i as often as it may: then
 * merging another use fails, whatever the leaf says. */
static bool used_up(const ev *e, const binding *b, size_t i)
{
	for (uint32_t j = 0; j < b->n; j++)
		if (b->e[j].obs == i)
			return b->e[j].uses >= obs_uses(e, i);
	return false;
}

/* Whether a REPEATS straight over [...] can be met: its leaf's uses over
 * the observations reach the count (checked before the combinatorial
 * search). 1: search on; 0: it cannot hold; -1: the search ended here
 * (step limit or error), which gen answers with true. */
static int repeats_reachable(ev *e, const pat_obs_node *r)
{
	uint64_t uses = 0;
	for (size_t i = 0; i < obs_total(e) && uses < r->repeats; i++) {
		if (!step(e))
			return -1;
		if (leaf_hit(e, r->left, i))
			uses += obs_uses(e, i);
		if (e->err)
			return -1;
	}
	return uses >= r->repeats;
}

static bool gen(ev *e, const pat_obs_node *n, kont *k)
{
	switch (n->kind) {
	case PAT_OBS_LEAF: {
		/* The right side of AND/FOLLOWEDBY: a hit on an observation the
		 * left side used up would only fail to merge (k_pair_right,
		 * with no other effect), so the leaf is not asked. The step
		 * still counts, as the search's bound is in steps. */
		const binding *busy = k->fn == k_pair_right ? k->acc : NULL;
		size_t total = obs_total(e);
		for (size_t i = 0; i < total; i++) {
			if (!step(e))
				return true;
			if (busy && used_up(e, busy, i))
				continue;
			bool hit = leaf_hit(e, n, i);
			if (e->err)
				return true;
			if (hit) {
				binding b;
				b.min_last = e->aobs ? e->aobs[i].time : e->set->obs[i].last;
				b.max_first = e->aobs ? e->aobs[i].time : e->set->obs[i].first;
				b.n = 1;
				b.e[0].obs = (uint32_t)i;
				b.e[0].uses = 1;
				if (k->fn(e, k, &b))
					return true;
			}
		}
		return false;
	}
	case PAT_OBS_OR:
		return gen(e, n->left, k) || gen(e, n->right, k);
	case PAT_OBS_AND:
	case PAT_OBS_FOLLOWEDBY: {
		kont l = { k_pair_left, n, NULL, k, 0, 0, 0 };
		return gen(e, n->left, &l);
	}
	case PAT_OBS_WITHIN:
	case PAT_OBS_STARTSTOP: {
		kont f = { k_filter, n, NULL, k, 0, 0, 0 };
		if (n->kind == PAT_OBS_STARTSTOP && n->start >= n->stop)
			return false;
		return gen(e, n->left, &f);
	}
	case PAT_OBS_REPEATS: {
		/* A REPEATS straight over [...] cannot be met with fewer uses
		 * than it asks for: say so before the combinatorial search. */
		if (n->left->kind == PAT_OBS_LEAF) {
			int reach = repeats_reachable(e, n);
			if (reach <= 0)
				return reach < 0;
		}
		/* `self` carries the node and the final continuation; repeat()
		 * reads k->node and passes k->next on when the count is met. */
		kont self = { k_repeat_entry, n, NULL, k, 0, 0, 0 };
		return repeat(e, &self, NULL, 0, 0);
	}
	}
	return false;
}

/* Never called: the REPEATS frame only carries node and next. */
static bool k_repeat_entry(ev *e, kont *k, const binding *b)
{
	return k->next->fn(e, k->next, b);
}

/*
 * gen for pattern.chain (leaves joined by AND/FOLLOWEDBY, left-deep, maybe
 * under one WITHIN or START/STOP), without continuations: leaf k tries
 * every observation in order, as gen would, counting the same steps and
 * doing k_pair_right's FOLLOWEDBY test and merge in place on acc (undone
 * on the way back), and the qualifier's k_filter once the chain is full.
 */
/* What binding_add changed in a binding, for binding_undo. */
typedef struct binding_mark {
	uint32_t n, slot;
	rk_time min_last, max_first;
} binding_mark;

/*
 * Adds one use of observation i (its times first and last) to acc, as one
 * step of the chain and REPEATS searches does; `opens` when it is the
 * first observation of the match, so the window starts with it. False
 * when acc already names PATTERN_MAX_BINDING observations (e->err set).
 */
static bool binding_add(ev *e, binding *acc, size_t i, rk_time first, rk_time last, bool opens,
			binding_mark *m)
{
	uint32_t j = 0;
	m->n = acc->n;
	m->min_last = acc->min_last;
	m->max_first = acc->max_first;
	while (j < acc->n && acc->e[j].obs != i)
		j++;
	if (j == acc->n) {
		if (acc->n == PATTERN_MAX_BINDING) {
			e->err = rk_fail(e->ctx, RK_ETOOBIG, NULL,
					 "a match would combine more than %d observed-data",
					 PATTERN_MAX_BINDING);
			return false;
		}
		acc->e[acc->n].obs = (uint32_t)i;
		acc->e[acc->n++].uses = 0;
	}
	acc->e[j].uses++; /* within number_observed: the callers asked used_up */
	m->slot = j;
	if (opens || last < acc->min_last)
		acc->min_last = last;
	if (opens || first > acc->max_first)
		acc->max_first = first;
	return true;
}

/* Puts acc back as it was before the binding_add that gave m. */
static void binding_undo(binding *acc, const binding_mark *m)
{
	acc->e[m->slot].uses--;
	acc->n = m->n;
	acc->min_last = m->min_last;
	acc->max_first = m->max_first;
}

/* k_filter's test of qualifier t (WITHIN or START/STOP, or NULL: none) on
 * an interval summary. */
static bool chain_filter(const pat_obs_node *t, rk_time min_last, rk_time max_first)
{
	if (t && t->kind == PAT_OBS_WITHIN && max_first - min_last > t->within_us)
		return false;
	if (t && t->kind == PAT_OBS_STARTSTOP && (min_last < t->start || max_first >= t->stop))
		return false;
	return true;
}

static bool chain_search(ev *e, const pattern *p, size_t k, binding *acc)
{
	/* only pattern_match comes here: observations are observed-data */
	if (k == p->nchain)
		return chain_filter(p->chain_top, acc->min_last, acc->max_first);
	const pat_obs_node *leaf = p->chain[k], *qual = p->chain_qual[k];
	size_t total = obs_total(e);
	/* gen's START/STOP with an empty range: no binding, no step */
	if (qual && qual->kind == PAT_OBS_STARTSTOP && qual->start >= qual->stop)
		return false;
	for (size_t i = 0; i < total; i++) {
		if (!step(e))
			return true;
		if (k > 0 && used_up(e, acc, i))
			continue;
		bool hit = leaf_hit(e, leaf, i);
		if (e->err)
			return true;
		if (!hit)
			continue;
		rk_time first = e->set->obs[i].first, last = e->set->obs[i].last;
		if (!chain_filter(qual, last, first))
			continue;
		if (k > 0 && p->chain_fby[k] && acc->max_first > last)
			continue;
		binding_mark m;
		if (!binding_add(e, acc, i, first, last, k == 0, &m))
			return true;
		bool stop = chain_search(e, p, k + 1, acc);
		binding_undo(acc, &m);
		if (stop)
			return true;
	}
	return false;
}

/*
 * gen for pattern.rep (REPEATS n over one leaf, maybe under one qualifier),
 * without continuations: round `round` picks the leaf's hits numbered
 * `min` and later in observation order (k_repeat's multiset rule), adding
 * each to acc in place as merge would, with the same steps and depth.
 */
static bool rep_search(ev *e, const pattern *p, uint32_t round, uint64_t min, binding *acc)
{
	const pat_obs_node *r = p->rep;
	size_t total = obs_total(e);
	uint64_t seq = 0;
	bool stop = false;

	if (!deeper(e))
		return true;
	for (size_t i = 0; i < total && !stop; i++) {
		if (!step(e)) {
			stop = true;
			break;
		}
		bool hit = leaf_hit(e, r->left, i);
		if (e->err) {
			stop = true;
			break;
		}
		if (!hit || seq++ < min)
			continue;
		if (round > 0 && used_up(e, acc, i))
			continue; /* merge would fail */
		rk_time first = e->aobs ? e->aobs[i].time : e->set->obs[i].first;
		rk_time last = e->aobs ? e->aobs[i].time : e->set->obs[i].last;
		binding_mark m;
		if (!binding_add(e, acc, i, first, last, round == 0, &m)) {
			stop = true;
			break;
		}
		if (round + 1 == r->repeats)
			stop = chain_filter(p->chain_top, acc->min_last, acc->max_first);
		else
			stop = rep_search(e, p, round + 1, seq - 1, acc);
		binding_undo(acc, &m);
	}
	e->depth--;
	return stop;
}

/* gen's REPEATS case for pattern.rep: the count check, then the rounds. */
static bool rep_start(ev *e, const pattern *p)
{
	const pat_obs_node *t = p->chain_top;
	binding acc;

	if (t && t->kind == PAT_OBS_STARTSTOP && t->start >= t->stop)
		return false;
	int reach = repeats_reachable(e, p->rep);
	if (reach <= 0)
		return reach < 0;
	acc.n = 0;
	acc.min_last = acc.max_first = 0;
	return rep_search(e, p, 0, 0, &acc);
}

static bool k_found(ev *e, kont *k, const binding *b)
{
	(void)e;
	(void)k;
	(void)b;
	return true;
}

rk_err pattern_match(const pattern *p, const pattern_obs_set *s, bool *matched,
		     rk_errctx *ctx)
{
	ev e;
	kont done = { k_found, NULL, NULL, NULL, 0, 0, 0 };
	bool found = false;

	*matched = false;
	if (!p || !s || !p->root)
		return rk_fail(ctx, RK_EINVAL, NULL, "no pattern or no observations");
	e.set = s;
	e.aobs = NULL;
	e.an = 0;
	e.max_steps = PATTERN_MAX_STEPS;
	e.steps = 0;
	e.depth = 0;
	e.err = RK_OK;
	e.ctx = ctx;
	if (p->root->kind == PAT_OBS_LEAF) {
		/* One [...] and no qualifier: some observed-data holds it. No
		 * binding to build, no leaf asked twice (so no memo to clear),
		 * and PATTERN_MAX_OBSERVED leaves are far below
		 * PATTERN_MAX_STEPS, so the search's count is moot. */
		for (size_t i = 0; i < s->n && !found && !e.err; i++)
			found = leaf_eval(&e, p->root, i);
	} else if (p->rep) {
		memset(e.memo_known, 0, sizeof e.memo_known);
		memset(e.memo_hit, 0, sizeof e.memo_hit);
		found = rep_start(&e, p);
	} else if (p->nchain) {
		binding acc;
		acc.n = 0;
		acc.min_last = acc.max_first = 0;
		memset(e.memo_known, 0, sizeof e.memo_known);
		memset(e.memo_hit, 0, sizeof e.memo_hit);
		if (!(p->chain_top && p->chain_top->kind == PAT_OBS_STARTSTOP &&
		      p->chain_top->start >= p->chain_top->stop))
			found = chain_search(&e, p, 0, &acc);
	} else {
		memset(e.memo_known, 0, sizeof e.memo_known);
		memset(e.memo_hit, 0, sizeof e.memo_hit);
		found = gen(&e, p->root, &done);
	}
	if (e.err)
		return e.err;
	*matched = found;
	return RK_OK;
}

rk_err pattern_match_atoms(const pattern *p, const pattern_atom_obs *obs, size_t n,
			   uint64_t max_steps, bool *matched, rk_errctx *ctx)
{
	static const pattern_atom_obs none;
	ev e = { NULL, n ? obs : &none, n,
		 max_steps && max_steps < PATTERN_MAX_STEPS ? max_steps : PATTERN_MAX_STEPS,
		 0, 0, RK_OK, ctx, { 0 }, { 0 } };
	kont done = { k_found, NULL, NULL, NULL, 0, 0, 0 };
	bool found;

	*matched = false;
	if (!p || !p->root || (n && !obs))
		return rk_fail(ctx, RK_EINVAL, NULL, "no pattern or no observations");
	found = gen(&e, p->root, &done);
	if (e.err)
		return e.err;
	*matched = found;
	return RK_OK;
}

/* ---------------------------------------------------------------- atoms */

/* A pattern_atom is a leaf node; the public type only hides it. */
static const pat_obs_node *leaf_of(const pattern_atom *a)
{
	return (const pat_obs_node *)(const void *)a;
}

static const pat_obs_node *find_leaf(const pat_obs_node *n, size_t i)
{
	while (n) {
		if (n->kind == PAT_OBS_LEAF)
			return n->atom == i ? n : NULL;
		if (!n->right) {
			n = n->left;
			continue;
		}
		/* leaves are numbered in text order: the right subtree holds
		 * the higher numbers */
		const pat_obs_node *l = find_leaf(n->left, i);
		if (l)
			return l;
		n = n->right;
	}
	return NULL;
}

const pattern_atom *pattern_atom_at(const pattern *p, size_t i)
{
	if (!p || i >= p->nobs)
		return NULL;
	return (const pattern_atom *)(const void *)find_leaf(p->root, i);
}

bool pattern_is_single(const pattern *p)
{
	return p && p->root && p->root->kind == PAT_OBS_LEAF;
}

int64_t pattern_window(const pattern *p)
{
	return p && p->root && p->root->kind == PAT_OBS_WITHIN ? p->root->within_us : -1;
}

/* The test's path is v's: same type, and each step a key equal to v's key
 * or [*] (which fans out over an object's members). An index step never
 * reaches a string. */
bool pattern_path_is(const pat_path *path, const pattern_prop *v)
{
	if (strcmp(path->type, v->type) != 0 || path->nsteps != v->nkeys)
		return false;
	for (size_t i = 0; i < v->nkeys; i++) {
		const pat_step *st = &path->steps[i];
		if (st->kind == PAT_STEP_INDEX ||
		    (st->kind == PAT_STEP_KEY && strcmp(st->key, v->keys[i]) != 0))
			return false;
	}
	return true;
}

/* eval_cmp for a one-property object: a test on any other path finds no
 * value, which is false even under NOT, as for a missing property. */
static bool prop_cmp(ev *e, const pat_cmp *c, const pattern_prop *v)
{
	switch (c->kind) {
	case PAT_CMP_AND:
		for (const pat_cmp *k = c->first; k; k = k->next)
			if (!prop_cmp(e, k, v))
				return false;
		return true;
	case PAT_CMP_OR:
		for (const pat_cmp *k = c->first; k; k = k->next)
			if (prop_cmp(e, k, v))
				return true;
		return false;
	case PAT_CMP_TEST: {
		pval pv = { NULL, v->value, v->len };
		return pattern_path_is(&c->path, v) && test_value(e, c, &pv);
	}
	}
	return false;
}

bool pattern_atom_holds(const pattern_atom *a, const pattern_prop *v)
{
	ev e = { NULL, NULL, 0, PATTERN_MAX_STEPS, 0, 0, RK_OK, NULL, { 0 }, { 0 } };

	if (!a || !v || !v->value)
		return false;
	bool r = prop_cmp(&e, leaf_of(a)->cmp, v);
	return r && e.err == RK_OK;
}
