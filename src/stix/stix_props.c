/*
 * stix_props.c: JSON paths, error and warning reporting, and one checker per
 * STIX 2.1 property type (section 2: string, boolean, integer, float,
 * timestamp, identifier, list, dictionary, hashes, hex, binary, kill chain
 * phase, enumeration, open vocabulary).
 *
 * These run for every property of every object the hub ingests, so they
 * allocate nothing: the path lives in the stix_vctx buffer and messages are
 * only formatted once something is wrong (or a warning callback is set).
 * Each checker leaves v->path exactly as it found it.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "stix_int.h"

/* ---------------------------------------------------------------- paths */

void
stix_vctx_init(stix_vctx *v, const char *path, const stix_validate_opts *opts,
	       rk_errctx *err)
{
	v->opts = opts;
	v->err = err;
	v->root = NULL;
	v->plen = 0;
	v->path[0] = '\0';
	if (path != NULL) {
		size_t n = strnlen(path, sizeof(v->path) - 1);
		memcpy(v->path, path, n);
		v->path[n] = '\0';
		v->plen = n;
	}
}

static size_t
stix_path_append(stix_vctx *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static size_t
stix_path_append(stix_vctx *v, const char *fmt, ...)
{
	size_t old = v->plen;
	size_t room = sizeof(v->path) - v->plen;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(v->path + v->plen, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		v->path[old] = '\0';
		return old;
	}
	if ((size_t)n >= room) {
		/* Truncated: mark it so nobody mistakes it for a real path. */
		v->plen = sizeof(v->path) - 1;
		if (v->plen >= 3)
			memcpy(v->path + v->plen - 3, "...", 3);
	} else {
		v->plen += (size_t)n;
	}
	return old;
}

size_t
stix_path_key(stix_vctx *v, const char *key)
{
	return stix_path_append(v, ".%s", key);
}

size_t
stix_path_index(stix_vctx *v, size_t i)
{
	return stix_path_append(v, "[%zu]", i);
}

void
stix_path_pop(stix_vctx *v, size_t old)
{
	v->plen = old;
	v->path[old] = '\0';
}

/* ---------------------------------------------------------------- reports */

static rk_err
stix_vfail(stix_vctx *v, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static rk_err
stix_vfail(stix_vctx *v, const char *fmt, va_list ap)
{
	char msg[RK_ERRCTX_MSG];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	return rk_fail(v->err, RK_ESTIX, v->path, "%s", msg);
}

rk_err
stix_fail(stix_vctx *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rk_err e = stix_vfail(v, fmt, ap);
	va_end(ap);
	return e;
}

rk_err
stix_fail_key(stix_vctx *v, const char *key, const char *fmt, ...)
{
	size_t m = stix_path_key(v, key);
	va_list ap;
	va_start(ap, fmt);
	rk_err e = stix_vfail(v, fmt, ap);
	va_end(ap);
	stix_path_pop(v, m);
	return e;
}

void
stix_warn(stix_vctx *v, const char *key, const char *fmt, ...)
{
	if (v->opts == NULL || v->opts->warn == NULL)
		return;
	size_t m = key != NULL ? stix_path_key(v, key) : v->plen;
	char msg[RK_ERRCTX_MSG];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->opts->warn(v->opts->warn_arg, v->path, msg);
	stix_path_pop(v, m);
}

/* ---------------------------------------------------------------- scalars */

/* Looks key up; RK_OK with *out NULL when absent and optional. */
static rk_err
stix_get(stix_vctx *v, const json_t *obj, const char *key, bool req,
	 const json_t **out)
{
	*out = json_object_get(obj, key);
	if (*out == NULL && req)
		return stix_fail_key(v, key, "required property missing");
	return RK_OK;
}

rk_err
stix_p_required(stix_vctx *v, const json_t *obj, const char *key)
{
	const json_t *j;
	return stix_get(v, obj, key, true, &j);
}

rk_err
stix_p_string(stix_vctx *v, const json_t *obj, const char *key, bool req,
	      const char **out)
{
	const json_t *j;
	rk_err e = stix_get(v, obj, key, req, &j);
	if (e != RK_OK || j == NULL)
		return e;
	if (!json_is_string(j))
		return stix_fail_key(v, key, "must be a string");
	if (out != NULL)
		*out = json_string_value(j);
	return RK_OK;
}

rk_err
stix_p_bool(stix_vctx *v, const json_t *obj, const char *key, bool req,
	    bool *out)
{
	const json_t *j;
	rk_err e = stix_get(v, obj, key, req, &j);
	if (e != RK_OK || j == NULL)
		return e;
	if (!json_is_boolean(j))
		return stix_fail_key(v, key, "must be a boolean");
	if (out != NULL)
		*out = json_is_true(j);
	return RK_OK;
}

rk_err
stix_p_int(stix_vctx *v, const json_t *obj, const char *key, bool req,
	   json_int_t min, json_int_t max)
{
	const json_t *j;
	rk_err e = stix_get(v, obj, key, req, &j);
	if (e != RK_OK || j == NULL)
		return e;
	if (!json_is_integer(j))
		return stix_fail_key(v, key, "must be an integer");
	json_int_t n = json_integer_value(j);
	if (n < min || n > max)
		return stix_fail_key(v, key,
				     "must be between %" JSON_INTEGER_FORMAT
				     " and %" JSON_INTEGER_FORMAT,
				     min, max);
	return RK_OK;
}

rk_err
stix_p_number(stix_vctx *v, const json_t *obj, const char *key, bool req,
	      double min, double max)
{
	const json_t *j;
	rk_err e = stix_get(v, obj, key, req, &j);
	if (e != RK_OK || j == NULL)
		return e;
	if (!json_is_number(j))
		return stix_fail_key(v, key, "must be a number");
	double d = json_number_value(j);
	if (!(d >= min && d <= max))
		return stix_fail_key(v, key, "must be between %g and %g", min,
				     max);
	return RK_OK;
}

/* Sub-second digits of an already parsed timestamp ("...:SS.fffZ"). */
static int
stix_time_digits(const char *s)
{
	const char *dot = strchr(s, '.');
	if (dot == NULL)
		return 0;
	int n = 0;
	for (const char *p = dot + 1; *p >= '0' && *p <= '9'; p++)
		n++;
	return n;
}

rk_err
stix_p_time(stix_vctx *v, const json_t *obj, const char *key, bool req,
	    int min_digits, rk_time *out, bool *present)
{
	const json_t *j;
	if (present != NULL)
		*present = false;
	rk_err e = stix_get(v, obj, key, req, &j);
	if (e != RK_OK || j == NULL)
		return e;
	if (!json_is_string(j))
		return stix_fail_key(v, key, "not an RFC 3339 timestamp");
	const char *s = json_string_value(j);
	rk_time t;
	if (!rk_time_parse(s, &t))
		return stix_fail_key(v, key, "not an RFC 3339 timestamp");
	/* STIX 2.1 section 3.2: created and modified "MUST be precise to the
	 * nearest millisecond" (at least three sub-second digits). */
	if (min_digits > 0 && stix_time_digits(s) < min_digits)
		return stix_fail_key(v, key,
				     "must have millisecond precision");
	if (out != NULL)
		*out = t;
	if (present != NULL)
		*present = true;
	return RK_OK;
}

rk_err
stix_p_time_order(stix_vctx *v, const json_t *obj, const char *earlier,
		  const char *later, bool strict)
{
	rk_time a = 0, b = 0;
	bool ha, hb;
	rk_err e = stix_p_time(v, obj, earlier, false, 0, &a, &ha);
	if (e == RK_OK)
		e = stix_p_time(v, obj, later, false, 0, &b, &hb);
	if (e != RK_OK || !ha || !hb)
		return e;
	if (strict && b <= a)
		return stix_fail_key(v, later, "must be later than %s",
				     earlier);
	if (!strict && b < a)
		return stix_fail_key(v, later, "must not be earlier than %s",
				     earlier);
	return RK_OK;
}

/* ---------------------------------------------------------------- ids */

/* The type prefix of a valid identifier (length into *n). */
static const char *
stix_id_type(const char *id, size_t *n)
{
	size_t len = strlen(id);
	*n = len - 38;
	return id;
}

static bool
stix_type_in_n(const char *t, size_t n, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strlen(*list) == n && memcmp(*list, t, n) == 0)
			return true;
	return false;
}

static rk_err
stix_bad_ref(stix_vctx *v, const char *const *types)
{
	if (types == NULL)
		return stix_fail(v, "not a valid identifier: expected "
				    "<type>--<uuid>");
	char want[RK_ERRCTX_MSG / 2];
	size_t w = 0;
	want[0] = '\0';
	for (size_t i = 0; types[i] != NULL && w < sizeof(want); i++) {
		int n = snprintf(want + w, sizeof(want) - w, "%s%s--<uuid>",
				 i == 0 ? "" : (types[i + 1] == NULL ? " or "
								     : ", "),
				 types[i]);
		if (n < 0)
			break;
		w += (size_t)n;
	}
	return stix_fail(v, "not a valid identifier: expected %s", want);
}

/* Checks the value at the current path; `allow` or `deny` (not both). */
static rk_err
stix_check_ref_value(stix_vctx *v, const json_t *j, const char *const *allow,
		     const char *const *deny)
{
	if (!json_is_string(j) || !stix_id_valid(json_string_value(j), NULL))
		return stix_bad_ref(v, allow);
	size_t n;
	const char *t = stix_id_type(json_string_value(j), &n);
	if (allow != NULL && !stix_type_in_n(t, n, allow))
		return stix_bad_ref(v, allow);
	if (deny != NULL && stix_type_in_n(t, n, deny))
		return stix_fail(v, "must not refer to a %.*s", (int)n, t);
	return RK_OK;
}

/* A present reference property whose type is in `allow` (any if NULL) and
 * not in `deny` (none if NULL). */
static rk_err
p_ref(stix_vctx *v, const json_t *obj, const char *key, bool req,
      const char *const *allow, const char *const *deny)
{
	const json_t *j;
	rk_err e = stix_get(v, obj, key, req, &j);
	if (e != RK_OK || j == NULL)
		return e;
	size_t m = stix_path_key(v, key);
	e = stix_check_ref_value(v, j, allow, deny);
	stix_path_pop(v, m);
	return e;
}

rk_err
stix_p_ref(stix_vctx *v, const json_t *obj, const char *key, bool req,
	   const char *const *types)
{
	return p_ref(v, obj, key, req, types, NULL);
}

rk_err
stix_p_ref_not(stix_vctx *v, const json_t *obj, const char *key, bool req,
	       const char *const *forbidden)
{
	return p_ref(v, obj, key, req, NULL, forbidden);
}

/* A present list property: must be a non-empty array (STIX 2.1 prohibits
 * empty lists: an optional list with no values is omitted). */
static rk_err
stix_list(stix_vctx *v, const json_t *j, const char *key)
{
	if (!json_is_array(j))
		return stix_fail_key(v, key, "must be a list");
	if (json_array_size(j) == 0)
		return stix_fail_key(v, key, "must not be an empty list");
	return RK_OK;
}

rk_err
stix_p_refs(stix_vctx *v, const json_t *obj, const char *key, bool req,
	    const char *const *types)
{
	const json_t *j;
	rk_err e = stix_get(v, obj, key, req, &j);
	if (e != RK_OK || j == NULL)
		return e;
	if ((e = stix_list(v, j, key)) != RK_OK)
		return e;
	size_t m = stix_path_key(v, key);
	size_t i;
	const json_t *it;
	json_array_foreach(j, i, it)
	{
		size_t m2 = stix_path_index(v, i);
		e = stix_check_ref_value(v, it, types, NULL);
		stix_path_pop(v, m2);
		if (e != RK_OK)
			break;
	}
	stix_path_pop(v, m);
	return e;
}

rk_err
stix_p_strings(stix_vctx *v, const json_t *obj, const char *key, bool req)
{
	const json_t *j;
	rk_err e = stix_get(v, obj, key, req, &j);
	if (e != RK_OK || j == NULL)
		return e;
	if ((e = stix_list(v, j, key)) != RK_OK)
		return e;
	size_t i;
	const json_t *it;
	json_array_foreach(j, i, it)
	{
		if (!json_is_string(it)) {
			size_t m = stix_path_key(v, key);
			size_t m2 = stix_path_index(v, i);
			e = stix_fail(v, "must be a string");
			stix_path_pop(v, m2);
			stix_path_pop(v, m);
			return e;
		}
	}
	return RK_OK;
}

rk_err
stix_p_enum(stix_vctx *v, const json_t *obj, const char *key, bool req,
	    const char *const *values)
{
	const char *s = NULL;
	rk_err e = stix_p_string(v, obj, key, req, &s);
	if (e != RK_OK || s == NULL)
		return e;
	if (!stix_name_in(s, values) || s[0] == '\0')
		return stix_fail_key(v, key, "\"%.64s\" is not an allowed value",
				     s);
	return RK_OK;
}

rk_err
stix_p_vocab(stix_vctx *v, const json_t *obj, const char *key, bool req,
	     bool list, const char *const *values)
{
	rk_err e;
	if (!list) {
		const char *s = NULL;
		e = stix_p_string(v, obj, key, req, &s);
		if (e == RK_OK && s != NULL && !stix_name_in(s, values))
			stix_warn(v, key, "\"%.64s\" is not in the open vocabulary",
				  s);
		return e;
	}
	if ((e = stix_p_strings(v, obj, key, req)) != RK_OK)
		return e;
	const json_t *j = json_object_get(obj, key);
	if (j == NULL || v->opts == NULL || v->opts->warn == NULL)
		return RK_OK;
	size_t i;
	const json_t *it;
	json_array_foreach(j, i, it)
	{
		const char *s = json_string_value(it);
		if (s[0] == '\0' || !stix_name_in(s, values)) {
			size_t m = stix_path_key(v, key);
			size_t m2 = stix_path_index(v, i);
			stix_warn(v, NULL,
				  "\"%.64s\" is not in the open vocabulary", s);
			stix_path_pop(v, m2);
			stix_path_pop(v, m);
		}
	}
	return RK_OK;
}

/* ---------------------------------------------------------------- dicts */

/* Section 2.8 (dictionary): keys 1 to 250 ASCII characters. */
static rk_err
stix_dict_value(stix_vctx *v, const json_t *j, const char *key)
{
	if (!json_is_object(j))
		return stix_fail_key(v, key, "must be a dictionary");
	if (json_object_size(j) == 0)
		return stix_fail_key(v, key, "must not be an empty dictionary");
	const char *k;
	const json_t *val;
	json_object_foreach((json_t *)j, k, val)
	{
		size_t n = strnlen(k, 251);
		if (n > 250)
			return stix_fail_key(v, key,
					     "dictionary key longer than 250 "
					     "characters");
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)k[i] > 0x7f)
				return stix_fail_key(v, key,
						     "dictionary key \"%.64s\" "
						     "is not ASCII",
						     k);
	}
	return RK_OK;
}

rk_err
stix_p_dict(stix_vctx *v, const json_t *obj, const char *key, bool req)
{
	const json_t *j;
	rk_err e = stix_get(v, obj, key, req, &j);
	if (e != RK_OK || j == NULL)
		return e;
	return stix_dict_value(v, j, key);
}

static bool
stix_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Section 10.1 (hashing-algorithm-ov) and 2.7 (hashes): the digest lengths
 * of the algorithms whose output is a fixed-size hex string. */
static const struct {
	const char *name;
	size_t hexlen;
} stix_hash_algos[] = {
	{"MD5", 32},	  {"SHA-1", 40},    {"SHA-256", 64},
	{"SHA-512", 128}, {"SHA3-256", 64}, {"SHA3-512", 128},
};

rk_err
stix_p_hashes(stix_vctx *v, const json_t *obj, const char *key, bool req)
{
	const json_t *j;
	rk_err e = stix_get(v, obj, key, req, &j);
	if (e != RK_OK || j == NULL)
		return e;
	if ((e = stix_dict_value(v, j, key)) != RK_OK)
		return e;
	const char *k;
	const json_t *val;
	json_object_foreach((json_t *)j, k, val)
	{
		if (!json_is_string(val) || json_string_length(val) == 0) {
			size_t m = stix_path_key(v, key);
			e = stix_fail_key(v, k, "must be a non-empty string");
			stix_path_pop(v, m);
			return e;
		}
		for (size_t i = 0; i < RK_ARRAY_LEN(stix_hash_algos); i++) {
			if (strcmp(k, stix_hash_algos[i].name) != 0)
				continue;
			const char *h = json_string_value(val);
			size_t n = json_string_length(val);
			if (n != stix_hash_algos[i].hexlen ||
			    !stix_is_hex(h, n)) {
				size_t m = stix_path_key(v, key);
				e = stix_fail_key(
					v, k, "%s digest must be %zu hex digits",
					k, stix_hash_algos[i].hexlen);
				stix_path_pop(v, m);
				return e;
			}
		}
	}
	return RK_OK;
}

rk_err
stix_p_kill_chain(stix_vctx *v, const json_t *obj, const char *key)
{
	const json_t *j = json_object_get(obj, key);
	if (j == NULL)
		return RK_OK;
	rk_err e = stix_list(v, j, key);
	if (e != RK_OK)
		return e;
	size_t m = stix_path_key(v, key);
	size_t i;
	const json_t *it;
	json_array_foreach(j, i, it)
	{
		size_t m2 = stix_path_index(v, i);
		if (!json_is_object(it))
			e = stix_fail(v, "must be a kill-chain-phase object");
		if (e == RK_OK)
			e = stix_p_string(v, it, "kill_chain_name", true, NULL);
		if (e == RK_OK)
			e = stix_p_string(v, it, "phase_name", true, NULL);
		stix_path_pop(v, m2);
		if (e != RK_OK)
			break;
	}
	stix_path_pop(v, m);
	return e;
}

rk_err
stix_p_hex(stix_vctx *v, const json_t *obj, const char *key, bool req)
{
	const json_t *j;
	rk_err e = stix_get(v, obj, key, req, &j);
	if (e != RK_OK || j == NULL)
		return e;
	/* Section 2.6 (hex): an even number of hex digits. */
	if (!json_is_string(j) || json_string_length(j) % 2 != 0 ||
	    !stix_is_hex(json_string_value(j), json_string_length(j)))
		return stix_fail_key(v, key, "not a hex string");
	return RK_OK;
}

rk_err
stix_p_binary(stix_vctx *v, const json_t *obj, const char *key, bool req)
{
	const json_t *j;
	rk_err e = stix_get(v, obj, key, req, &j);
	if (e != RK_OK || j == NULL)
		return e;
	/* Section 2.2 (binary): base64 (RFC 4648 section 4), padded. */
	if (!json_is_string(j))
		return stix_fail_key(v, key, "not base64");
	const char *s = json_string_value(j);
	size_t n = json_string_length(j), pad = 0;
	if (n % 4 != 0)
		return stix_fail_key(v, key, "not base64");
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '=') {
			pad++;
			if (i + 2 < n || pad > 2)
				return stix_fail_key(v, key, "not base64");
		} else if (pad != 0 ||
			   !(isalnum((unsigned char)c) || c == '+' || c == '/')) {
			return stix_fail_key(v, key, "not base64");
		}
	}
	return RK_OK;
}
