/*
 * sensor_intel.c: the sensor's indicator set, the latest version of each
 * STIX indicator it has been given (bundle files, a hub feed).
 *
 * STIX 2.1 section 3.6 (versioning): objects with the same id are versions
 * of one object and the one with the latest `modified` is current. So an
 * indicator replaces the kept one only when its `modified` is strictly
 * later; an equal or older one is counted as stale and dropped, which
 * makes applying the same bundle twice a no-op. A revoked version is kept
 * (flagged), so that an older, unrevoked copy arriving later cannot bring
 * the indicator back. Indicators whose pattern_type is not "stix" (sigma,
 * snort, yara ...) are kept for the same reason but never built.
 *
 * Storage: entries are heap records indexed by an open-addressing table of
 * id hashes (linear probing, load at most 1/2, grown by doubling). A slot
 * keeps 32 bits of the id's hash next to the entry index, so a probe
 * touches an entry (and its id) only when the tags agree: with a million
 * indicators the entries are far apart in memory and each touch is a cache
 * miss. Entries are never removed, so the table only grows.
 *
 * Threads: one rwlock. Apply takes it for writing; build and lookup for
 * reading, so workers naming indicators in alerts wait only while an
 * update is applied, never while a matcher is being built.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensor_int.h"

typedef struct intel_entry {
	char *id;
	char *pattern;
	char *name;
	char *created_by;
	char **markings;
	size_t n_markings;
	rk_time modified, valid_from, valid_until;
	bool revoked;
	bool stix; /* pattern_type is "stix" */
} intel_entry;

struct sensor_intel {
	pthread_rwlock_t lock;
	intel_entry **entries; /* in order of first arrival */
	size_t n, cap;
	struct intel_slot {
		uint32_t entry; /* entry index + 1; 0 = empty */
		uint32_t tag;   /* high bits of the id's hash */
	} *slots;
	size_t n_slots;  /* power of two */
	sensor_intel_stats st;
};

static uint64_t id_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3u;
	return h ^ (h >> 29);
}

static void entry_free(intel_entry *e)
{
	if (!e)
		return;
	free(e->id);
	free(e->pattern);
	free(e->name);
	free(e->created_by);
	for (size_t i = 0; i < e->n_markings; i++)
		free(e->markings[i]);
	free(e->markings);
	free(e);
}

sensor_intel *sensor_intel_new(void)
{
	sensor_intel *in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->n_slots = 1024;
	in->slots = calloc(in->n_slots, sizeof(*in->slots));
	if (!in->slots || pthread_rwlock_init(&in->lock, NULL) != 0) {
		free(in->slots);
		free(in);
		return NULL;
	}
	return in;
}

void sensor_intel_free(sensor_intel *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->n; i++)
		entry_free(in->entries[i]);
	free(in->entries);
	free(in->slots);
	pthread_rwlock_destroy(&in->lock);
	free(in);
}

/* The slot holding id, or the empty slot where it would go. */
static size_t find_slot(const sensor_intel *in, const char *id)
{
	size_t mask = in->n_slots - 1;
	uint64_t h = id_hash(id);
	uint32_t tag = (uint32_t)(h >> 32);
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		const struct intel_slot *sl = &in->slots[i];
		if (sl->entry == 0 ||
		    (sl->tag == tag && strcmp(in->entries[sl->entry - 1]->id, id) == 0))
			return i;
	}
}

static void set_slot(sensor_intel *in, size_t i, size_t entry, const char *id)
{
	in->slots[i].entry = (uint32_t)(entry + 1);
	in->slots[i].tag = (uint32_t)(id_hash(id) >> 32);
}

static rk_err grow_slots(sensor_intel *in)
{
	size_t n = in->n_slots * 2;
	struct intel_slot *slots = calloc(n, sizeof(*slots));
	if (!slots)
		return RK_ENOMEM;
	/* the ids are distinct: each goes to the first free slot of its run */
	for (size_t e = 0; e < in->n; e++) {
		uint64_t h = id_hash(in->entries[e]->id);
		size_t i = (size_t)h & (n - 1);
		while (slots[i].entry)
			i = (i + 1) & (n - 1);
		slots[i].entry = (uint32_t)(e + 1);
		slots[i].tag = (uint32_t)(h >> 32);
	}
	free(in->slots);
	in->slots = slots;
	in->n_slots = n;
	return RK_OK;
}

static const char *get_string(const json_t *obj, const char *key, bool required, rk_errctx *ctx,
			      rk_err *err)
{
	const json_t *v = json_object_get(obj, key);
	if (!v) {
		if (required)
			*err = rk_fail(ctx, RK_EINVAL, key, "required property is missing");
		return NULL;
	}
	if (!json_is_string(v)) {
		*err = rk_fail(ctx, RK_EINVAL, key, "must be a string");
		return NULL;
	}
	return json_string_value(v);
}

/* A copy of s cut to fit max - 1 bytes, on a UTF-8 character boundary. */
static char *dup_cut(const char *s, size_t max)
{
	size_t len = strlen(s);
	if (len >= max) {
		len = max - 1;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	char *d = malloc(len + 1);
	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

/* The properties of an indicator the set keeps, as NUL-terminated text
 * (NULL when absent), whether they came from jansson or from the flat
 * scanner below. Types are already checked. */
typedef struct intel_fields {
	const char *id, *created, *modified, *pattern, *pattern_type, *valid_from, *valid_until,
		*name, *created_by;
	bool revoked;
	bool has_markings;
	const char *markings[SENSOR_MARKINGS_MAX];
	size_t n_markings;
} intel_fields;

/* The string properties and where each goes in intel_fields: one table
 * for both readers (jansson's and the flat scanner's). */
static const struct {
	const char *key;
	size_t off;
} FIELD_STR[] = {
	{"id", offsetof(intel_fields, id)},
	{"created", offsetof(intel_fields, created)},
	{"modified", offsetof(intel_fields, modified)},
	{"pattern", offsetof(intel_fields, pattern)},
	{"pattern_type", offsetof(intel_fields, pattern_type)},
	{"valid_from", offsetof(intel_fields, valid_from)},
	{"valid_until", offsetof(intel_fields, valid_until)},
	{"name", offsetof(intel_fields, name)},
	{"created_by_ref", offsetof(intel_fields, created_by)},
};

static void field_set(intel_fields *f, size_t i, const char *v)
{
	memcpy((char *)f + FIELD_STR[i].off, &v, sizeof v);
}

/* Checks the types of obj's properties and points f at them. */
static rk_err fields_from_json(const json_t *obj, intel_fields *f, rk_errctx *ctx)
{
	rk_err err = RK_OK;
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < RK_ARRAY_LEN(FIELD_STR); i++) {
		const char *v = get_string(obj, FIELD_STR[i].key, false, ctx, &err);
		if (err)
			return err;
		field_set(f, i, v);
	}
	const json_t *rv = json_object_get(obj, "revoked");
	if (rv && !json_is_boolean(rv))
		return rk_fail(ctx, RK_EINVAL, "revoked", "must be true or false");
	f->revoked = rv && json_is_true(rv);
	const json_t *marks = json_object_get(obj, "object_marking_refs");
	if (marks) {
		if (!json_is_array(marks))
			return rk_fail(ctx, RK_EINVAL, "object_marking_refs",
				       "must be an array of identifiers");
		if (json_array_size(marks) > SENSOR_MARKINGS_MAX)
			return rk_fail(ctx, RK_EINVAL, "object_marking_refs", "more than %d markings",
				       SENSOR_MARKINGS_MAX);
		f->has_markings = true;
		for (size_t i = 0; i < json_array_size(marks); i++) {
			const json_t *m = json_array_get(marks, i);
			if (!json_is_string(m)) {
				char path[64];
				snprintf(path, sizeof path, "object_marking_refs[%zu]", i);
				return rk_fail(ctx, RK_EINVAL, path, "not a marking-definition identifier");
			}
			f->markings[f->n_markings++] = json_string_value(m);
		}
	}
	return RK_OK;
}

static bool parse_time(const char *key, const char *s, rk_time *out, rk_errctx *ctx, rk_err *err)
{
	if (!s) {
		*err = rk_fail(ctx, RK_EINVAL, key, "required property is missing");
		return false;
	}
	if (!rk_time_parse(s, out)) {
		*err = rk_fail(ctx, RK_EINVAL, key,
			       "not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z): %.40s", s);
		return false;
	}
	return true;
}

/* Checks the values and builds the entry they describe; RK_EINVAL names
 * the property at fault. */
static rk_err entry_from_fields(const intel_fields *f, intel_entry **out, rk_errctx *ctx)
{
	rk_err err = RK_OK;
	rk_time created = 0;
	intel_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return RK_ENOMEM;

	if (!f->id) {
		err = rk_fail(ctx, RK_EINVAL, "id", "required property is missing");
		goto out;
	}
	if (strncmp(f->id, "indicator--", 11) != 0 || !rk_uuid_is_valid(f->id + 11)) {
		err = rk_fail(ctx, RK_EINVAL, "id", "not an indicator id (indicator--<UUID>): %.60s",
			      f->id);
		goto out;
	}
	if (!parse_time("created", f->created, &created, ctx, &err) ||
	    !parse_time("modified", f->modified, &e->modified, ctx, &err))
		goto out;
	if (e->modified < created) {
		err = rk_fail(ctx, RK_EINVAL, "modified", "earlier than created");
		goto out;
	}
	if (!f->pattern || !f->pattern_type) {
		err = rk_fail(ctx, RK_EINVAL, f->pattern ? "pattern_type" : "pattern",
			      "required property is missing");
		goto out;
	}
	if (!parse_time("valid_from", f->valid_from, &e->valid_from, ctx, &err))
		goto out;
	if (f->valid_until) {
		if (!parse_time("valid_until", f->valid_until, &e->valid_until, ctx, &err))
			goto out;
		if (e->valid_until <= e->valid_from) {
			err = rk_fail(ctx, RK_EINVAL, "valid_until", "not later than valid_from");
			goto out;
		}
	}
	e->revoked = f->revoked;
	e->stix = strcmp(f->pattern_type, "stix") == 0;
	if (f->created_by && strlen(f->created_by) >= SENSOR_ID_MAX) {
		err = rk_fail(ctx, RK_EINVAL, "created_by_ref", "longer than an identifier can be");
		goto out;
	}
	if (f->has_markings) {
		e->markings = calloc(f->n_markings + 1, sizeof(char *));
		if (!e->markings) {
			err = RK_ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < f->n_markings; i++) {
			const char *m = f->markings[i];
			if (strncmp(m, "marking-definition--", 20) || strlen(m) >= SENSOR_ID_MAX) {
				char path[64];
				snprintf(path, sizeof path, "object_marking_refs[%zu]", i);
				err = rk_fail(ctx, RK_EINVAL, path, "not a marking-definition identifier");
				goto out;
			}
			if (!(e->markings[i] = strdup(m))) {
				err = RK_ENOMEM;
				goto out;
			}
			e->n_markings++;
		}
	}
	e->id = strdup(f->id);
	e->pattern = strdup(f->pattern);
	e->name = f->name ? dup_cut(f->name, SENSOR_NAME_MAX) : NULL;
	e->created_by = f->created_by ? strdup(f->created_by) : NULL;
	if (!e->id || !e->pattern || (f->name && !e->name) || (f->created_by && !e->created_by))
		err = RK_ENOMEM;
out:
	if (err) {
		entry_free(e);
		return err;
	}
	*out = e;
	return RK_OK;
}

/* Counts an object that is not an indicator. */
static void count_other(sensor_intel *in)
{
	pthread_rwlock_wrlock(&in->lock);
	in->st.other_types++;
	pthread_rwlock_unlock(&in->lock);
}

/* Puts the entry built from f in the set, or counts why not. */
static rk_err apply_fields(sensor_intel *in, const intel_fields *f, bool *changed, rk_errctx *ctx)
{
	intel_entry *e = NULL;
	rk_err err = entry_from_fields(f, &e, ctx);
	pthread_rwlock_wrlock(&in->lock);
	if (err) {
		in->st.bad++;
		goto out;
	}
	size_t slot = find_slot(in, e->id);
	if (in->slots[slot].entry) {
		intel_entry **kept = &in->entries[in->slots[slot].entry - 1];
		if ((*kept)->modified >= e->modified) {
			in->st.stale++;
			goto out; /* e freed below */
		}
		in->st.revoked += (size_t)e->revoked - (size_t)(*kept)->revoked;
		in->st.not_stix += (size_t)!e->stix - (size_t)!(*kept)->stix;
		intel_entry *old = *kept;
		*kept = e;
		e = old;
	} else {
		if (in->n == in->cap) {
			size_t cap = in->cap ? in->cap * 2 : 256;
			intel_entry **ne = realloc(in->entries, cap * sizeof(*ne));
			if (!ne) {
				err = RK_ENOMEM;
				goto out;
			}
			in->entries = ne;
			in->cap = cap;
		}
		if (in->n >= UINT32_MAX - 1) {
			err = rk_fail(ctx, RK_ETOOBIG, NULL, "too many indicators");
			goto out;
		}
		in->entries[in->n] = e;
		set_slot(in, slot, in->n, e->id);
		in->n++;
		in->st.indicators++;
		in->st.revoked += e->revoked;
		in->st.not_stix += !e->stix;
		e = NULL;
		if (in->n * 2 > in->n_slots && grow_slots(in) != RK_OK) {
			/* the entry is in; lookups still work at a higher load
			 * until the next growth succeeds, as long as one slot is free */
			if (in->n + 1 >= in->n_slots) {
				err = RK_ENOMEM;
				goto out;
			}
		}
	}
	in->st.applied++;
	if (changed)
		*changed = true;
out:
	pthread_rwlock_unlock(&in->lock);
	entry_free(e);
	return err;
}

rk_err sensor_intel_apply(sensor_intel *in, const json_t *obj, bool *changed, rk_errctx *ctx)
{
	intel_fields f;
	if (changed)
		*changed = false;
	if (!json_is_object(obj))
		return rk_fail(ctx, RK_EINVAL, NULL, "a STIX object must be a JSON object");
	const json_t *type = json_object_get(obj, "type");
	if (!json_is_string(type))
		return rk_fail(ctx, RK_EINVAL, "type", "required property is missing or not a string");
	if (strcmp(json_string_value(type), "indicator") != 0) {
		count_other(in);
		return RK_OK;
	}
	rk_err err = fields_from_json(obj, &f, ctx);
	if (err) {
		pthread_rwlock_wrlock(&in->lock);
		in->st.bad++;
		pthread_rwlock_unlock(&in->lock);
		return err;
	}
	return apply_fields(in, &f, changed, ctx);
}

/* ------------------------------------------------------------ flat scanner
 *
 * Most indicators in a bundle are flat objects of plain ASCII strings: for
 * those, jansson building a tree per object is most of the load time. The
 * scanner reads such an object in place and hands the same intel_fields to
 * the same checks. Anything it is not sure to read exactly as jansson would
 * (an escape, a byte outside printable ASCII, a nested object or array
 * other than the markings, a number it would have to judge, a repeated or
 * unknown-length key list) makes it give up, and the object goes through
 * jansson as before: the fast path never accepts what the slow one refuses.
 * On success the closing quotes of the strings kept are overwritten with
 * NULs, which is why the slice must not be read again afterwards.
 *
 * Why a scanner of its own: the two JSON scanners already in the tree do
 * other jobs. rk_json_array_slices (common) only finds where each element
 * of the objects array begins and ends, which is what feeds this one; the
 * line scanner in logs_json.c walks any depth and hands strings at known
 * dotted paths to a logs_reader as observables, unescaping them, with no
 * way to say "give up, this one is for jansson" or to return a typed
 * record. Bending either to fill intel_fields would cost the per-object
 * speed this path exists for (a million indicators in ~2.6 s).
 */

#define SCAN_MAX_KEYS 32

typedef struct scan {
	char *p, *end;
} scan;

static void scan_ws(scan *sc)
{
	while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
		sc->p++;
}

/* A string of printable ASCII without escapes: [*b, *e) inside the quotes. */
static bool scan_plain_string(scan *sc, char **b, char **e)
{
	if (sc->p >= sc->end || *sc->p != '"')
		return false;
	char *q = ++sc->p;
	while (q < sc->end && *q != '"') {
		unsigned char c = (unsigned char)*q;
		if (c == '\\' || c < 0x20 || c >= 0x7f)
			return false;
		q++;
	}
	if (q >= sc->end)
		return false;
	*b = sc->p;
	*e = q;
	sc->p = q + 1;
	return true;
}

static bool scan_literal(scan *sc, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, lit, n) != 0)
		return false;
	sc->p += n;
	return true;
}

/* A JSON number jansson reads without complaint: small integers and
 * plain decimals only. */
static bool scan_number(scan *sc)
{
	char *q = sc->p;
	if (q < sc->end && *q == '-')
		q++;
	char *digits = q;
	while (q < sc->end && *q >= '0' && *q <= '9')
		q++;
	size_t n = (size_t)(q - digits);
	if (n == 0 || n > 15 || (n > 1 && *digits == '0'))
		return false;
	if (q < sc->end && *q == '.') {
		char *frac = ++q;
		while (q < sc->end && *q >= '0' && *q <= '9')
			q++;
		if (q == frac || q - frac > 15)
			return false;
	}
	if (q < sc->end && (*q == 'e' || *q == 'E'))
		return false;
	sc->p = q;
	return true;
}

/* Reads one flat object; false to leave it to jansson. *is_indicator
 * tells the caller whether type was "indicator". */
static bool scan_flat(char *text, size_t len, intel_fields *f, bool *is_indicator)
{
	scan sc = {text, text + len};
	char *kb[SCAN_MAX_KEYS], *ke[SCAN_MAX_KEYS];
	char *nul[SCAN_MAX_KEYS + SENSOR_MARKINGS_MAX];
	size_t nkeys = 0, nnul = 0;
	char *type_b = NULL, *type_e = NULL;

	memset(f, 0, sizeof(*f));
	scan_ws(&sc);
	if (!scan_literal(&sc, "{"))
		return false;
	scan_ws(&sc);
	if (scan_literal(&sc, "}"))
		return false; /* {} has no type: jansson's path says so */
	for (;;) {
		char *b, *e;
		scan_ws(&sc);
		if (nkeys == SCAN_MAX_KEYS || !scan_plain_string(&sc, &b, &e))
			return false;
		for (size_t i = 0; i < nkeys; i++)
			if (ke[i] - kb[i] == e - b && memcmp(kb[i], b, (size_t)(e - b)) == 0)
				return false; /* a repeated key */
		kb[nkeys] = b;
		ke[nkeys] = e;
		nkeys++;
		scan_ws(&sc);
		if (!scan_literal(&sc, ":"))
			return false;
		scan_ws(&sc);
		size_t klen = (size_t)(e - b);
		bool is_type = klen == 4 && memcmp(b, "type", 4) == 0;
		size_t known = SIZE_MAX;
		for (size_t i = 0; i < RK_ARRAY_LEN(FIELD_STR); i++)
			if (strlen(FIELD_STR[i].key) == klen && memcmp(FIELD_STR[i].key, b, klen) == 0)
				known = i;
		if (is_type || known != SIZE_MAX) {
			char *vb, *ve;
			if (!scan_plain_string(&sc, &vb, &ve))
				return false; /* not a plain string: jansson words the error */
			if (is_type) {
				type_b = vb;
				type_e = ve;
			} else {
				field_set(f, known, vb);
			}
			nul[nnul++] = ve;
		} else if (klen == 7 && memcmp(b, "revoked", 7) == 0) {
			if (scan_literal(&sc, "true"))
				f->revoked = true;
			else if (!scan_literal(&sc, "false"))
				return false;
		} else if (klen == 19 && memcmp(b, "object_marking_refs", 19) == 0) {
			if (!scan_literal(&sc, "["))
				return false;
			f->has_markings = true;
			scan_ws(&sc);
			if (!scan_literal(&sc, "]")) {
				for (;;) {
					char *mb, *me;
					scan_ws(&sc);
					if (f->n_markings == SENSOR_MARKINGS_MAX ||
					    !scan_plain_string(&sc, &mb, &me))
						return false;
					f->markings[f->n_markings++] = mb;
					nul[nnul++] = me;
					scan_ws(&sc);
					if (scan_literal(&sc, "]"))
						break;
					if (!scan_literal(&sc, ","))
						return false;
				}
			}
		} else {
			char *vb, *ve;
			if (!(sc.p < sc.end && *sc.p == '"' ? scan_plain_string(&sc, &vb, &ve)
							      : scan_literal(&sc, "true") ||
									scan_literal(&sc, "false") ||
									scan_literal(&sc, "null") ||
									scan_number(&sc)))
				return false;
		}
		scan_ws(&sc);
		if (scan_literal(&sc, "}"))
			break;
		if (!scan_literal(&sc, ","))
			return false;
	}
	scan_ws(&sc);
	if (sc.p != sc.end || !type_b)
		return false;
	*is_indicator = type_e - type_b == 9 && memcmp(type_b, "indicator", 9) == 0;
	for (size_t i = 0; i < nnul; i++)
		*nul[i] = '\0';
	return true;
}

static void report(sensor_intel_err_fn on_err, void *arg, size_t index, const json_t *obj,
		   const rk_errctx *why)
{
	if (!on_err)
		return;
	const json_t *id = json_object_get(obj, "id");
	on_err(arg, index, json_is_string(id) ? json_string_value(id) : "", why);
}

/* Applies one element of the objects array, already parsed or as text. */
static rk_err apply_one(sensor_intel *in, const json_t *obj, size_t index,
			sensor_intel_err_fn on_err, void *arg, size_t *n_bad)
{
	rk_errctx ectx;
	rk_errctx_clear(&ectx);
	rk_err err = sensor_intel_apply(in, obj, NULL, &ectx);
	if (err == RK_ENOMEM)
		return err;
	if (err) {
		(*n_bad)++;
		report(on_err, arg, index, obj, &ectx);
	}
	return RK_OK;
}

/* Bundle files can be far larger than what jansson holds comfortably as
 * one tree (a million indicators are ~350 MB of text), so the objects
 * array is cut into slices by one scan and each object parsed on its own. */
#define INTEL_MAX_FILE ((size_t)4 << 30)
#define INTEL_MIN_OBJECT 48 /* bytes; bounds the slice array */

rk_err sensor_intel_load_bundle(sensor_intel *in, const char *path, sensor_intel_err_fn on_err,
				void *arg, size_t *n_bad, rk_errctx *ctx)
{
	char *data = NULL;
	size_t len = 0;
	if (n_bad)
		*n_bad = 0;
	rk_err err = rk_read_file(path, INTEL_MAX_FILE, &data, &len, ctx);
	if (!err)
		err = sensor_intel_load_text(in, data, len, path, on_err, arg, n_bad, ctx);
	free(data);
	return err;
}

rk_err sensor_intel_load_text(sensor_intel *in, char *data, size_t len, const char *name,
			      sensor_intel_err_fn on_err, void *arg, size_t *n_bad, rk_errctx *ctx)
{
	const char *path = name;
	size_t nslices = 0, bad = 0;
	rk_json_slice *slices = NULL;
	json_t *doc = NULL;
	rk_err err;

	size_t max = len / INTEL_MIN_OBJECT + 16;
	slices = malloc(max * sizeof(*slices));
	if (!slices) {
		err = RK_ENOMEM;
		goto out;
	}
	err = rk_json_array_slices(data, len, "objects", RK_MAX_JSON_DEPTH, slices, max, &nslices);
	if (err == RK_OK) {
		for (size_t i = 0; i < nslices; i++) {
			json_t *obj = NULL;
			rk_errctx pctx;
			rk_errctx_clear(&pctx);
			intel_fields f;
			bool is_ind = false;
			if (scan_flat(data + slices[i].off, slices[i].len, &f, &is_ind)) {
				if (!is_ind) {
					count_other(in);
					continue;
				}
				err = apply_fields(in, &f, NULL, &pctx);
				if (err == RK_ENOMEM)
					goto out;
				if (err) {
					bad++;
					if (on_err)
						on_err(arg, i, f.id ? f.id : "", &pctx);
				}
				err = RK_OK;
				continue;
			}
			if (rk_json_parse(data + slices[i].off, slices[i].len, RK_MAX_JSON_DEPTH, &obj,
					  &pctx) != RK_OK) {
				bad++;
				if (on_err)
					on_err(arg, i, "", &pctx);
				continue;
			}
			err = apply_one(in, obj, i, on_err, arg, &bad);
			json_decref(obj);
			if (err)
				goto out;
		}
		goto out;
	}
	/* not a bundle (or not JSON at all): parse it whole to say which */
	rk_errctx pctx;
	rk_errctx_clear(&pctx);
	err = rk_json_parse(data, len, RK_MAX_JSON_DEPTH, &doc, &pctx);
	if (err) {
		rk_fail(ctx, err, path, "not JSON (%s: %s)", pctx.path, pctx.msg);
		goto out;
	}
	if (json_is_array(doc)) {
		for (size_t i = 0; i < json_array_size(doc) && !err; i++)
			err = apply_one(in, json_array_get(doc, i), i, on_err, arg, &bad);
	} else if (json_is_object(doc) && !json_object_get(doc, "objects")) {
		err = apply_one(in, doc, 0, on_err, arg, &bad);
	} else {
		err = rk_fail(ctx, RK_EINVAL, path,
			      "not a STIX bundle (an \"objects\" array), an array of objects or an object");
	}
out:
	if (n_bad)
		*n_bad = bad;
	json_decref(doc);
	free(slices);
	return err;
}

rk_err sensor_intel_build(sensor_intel *in, rk_time now, match_reject_fn on_reject, void *arg,
			  match **out, rk_errctx *ctx)
{
	rk_err err = RK_OK;
	*out = NULL;
	/* the matcher reports handles; ids holds their ids (sensor_ids.c) */
	sensor_ids *ids = sensor_ids_new();
	match_builder *b = match_builder_new(now, on_reject, arg);
	if (!b || !ids) {
		match_builder_free(b);
		sensor_ids_free(ids);
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory building the matcher");
	}
	pthread_rwlock_rdlock(&in->lock);
	for (size_t i = 0; i < in->n && !err; i++) {
		const intel_entry *e = in->entries[i];
		if (!e->stix)
			continue;
		if (sensor_ids_add(ids, e->id) != RK_OK)
			err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory building the matcher");
		else
			err = match_builder_add(b, e->id, e->pattern, e->valid_from, e->valid_until,
						e->revoked, ctx);
	}
	pthread_rwlock_unlock(&in->lock);
	if (!err)
		err = match_build(b, out, ctx);
	match_builder_free(b);
	if (err) {
		sensor_ids_free(ids);
		return err;
	}
	sensor_ids_trim(ids);
	match_attach(*out, ids, sensor_ids_free);
	return RK_OK;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

bool sensor_intel_lookup(sensor_intel *in, const char *id, sensor_indicator_info *out)
{
	bool found = false;
	pthread_rwlock_rdlock(&in->lock);
	uint32_t v = in->slots[find_slot(in, id)].entry;
	if (v) {
		const intel_entry *e = in->entries[v - 1];
		copy_str(out->name, sizeof out->name, e->name);
		copy_str(out->created_by, sizeof out->created_by, e->created_by);
		out->n_markings = e->n_markings;
		for (size_t i = 0; i < e->n_markings; i++)
			copy_str(out->markings[i], sizeof out->markings[i], e->markings[i]);
		out->modified = e->modified;
		out->valid_from = e->valid_from;
		out->valid_until = e->valid_until;
		out->revoked = e->revoked;
		found = true;
	}
	pthread_rwlock_unlock(&in->lock);
	return found;
}

void sensor_intel_get_stats(sensor_intel *in, sensor_intel_stats *st)
{
	pthread_rwlock_rdlock(&in->lock);
	*st = in->st;
	pthread_rwlock_unlock(&in->lock);
}
