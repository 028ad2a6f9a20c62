/*
 * dir_diff.c: what changes between two directories, in words an operator
 * reads after `renkei admin apply`.
 *
 * Both directories are compared through their stored JSON form, entry by
 * entry: entries are matched by id (user name), and a matched pair that
 * differs is reported with the names of the properties that changed. Since
 * both entry arrays are sorted by id (a directory invariant), one merge walk
 * finds additions, updates and removals. Token changes are reported as
 * "token", never with the token or its hash. An organisation's identity
 * timestamps follow from its other properties and are not reported.
 *
 * A removed collection is only removed from the directory: the objects
 * posted to it stay in the store (nothing here or in dir_apply deletes
 * objects), and they are served again if a collection with the same id is
 * applied later. The summary line says so, because an operator removing a
 * collection may expect the data to go with it.
 */
#include <stdarg.h>
#include <string.h>

#include "dir_int.h"

static rk_err add_line(dir_change_summary *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static rk_err add_line(dir_change_summary *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (rk_buf_puts(&s->text, line) || rk_buf_puts(&s->text, "\n"))
		return RK_ENOMEM;
	return RK_OK;
}

static bool ignored_key(const char *key)
{
	/* identity timestamps move with name and sectors */
	return strcmp(key, "created") == 0 || strcmp(key, "modified") == 0;
}

/* Names of properties that differ between a and b, comma-separated, into
 * out; empty when none (ignoring identity timestamps). */
static void changed_keys(const json_t *a, const json_t *b, char *out, size_t outlen)
{
	const json_t *objs[2] = {a, b};
	size_t used = 0;

	out[0] = '\0';
	for (int side = 0; side < 2; side++) {
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)objs[side], key, v) {
			const json_t *other = json_object_get(objs[!side], key);
			if (ignored_key(key))
				continue;
			/* keys present on both sides are reported once, from a */
			if (side == 1 && other)
				continue;
			if (other && json_equal(v, (json_t *)other))
				continue;
			const char *shown = strcmp(key, "token_hash") == 0 ? "token" : key;
			if (used < outlen)
				used += (size_t)snprintf(out + used, outlen - used, "%s%s",
							 used ? ", " : "", shown);
		}
	}
}

typedef struct kind {
	const char *array;  /* key in the stored form */
	const char *idkey;  /* "id", or "name" for users */
	const char *noun;   /* word in the summary */
} kind;

static void describe(const kind *k, const json_t *e, char *out, size_t outlen)
{
	const char *s;

	out[0] = '\0';
	if (strcmp(k->array, "organizations") == 0) {
		snprintf(out, outlen, " (%s)", json_string_value(json_object_get(e, "name")));
	} else if (strcmp(k->array, "users") == 0) {
		snprintf(out, outlen, " (%s, %s)",
			 json_string_value(json_object_get(e, "organization")),
			 json_string_value(json_object_get(e, "role")));
	} else if (strcmp(k->array, "communities") == 0) {
		snprintf(out, outlen, " (%s, %s)",
			 json_string_value(json_object_get(e, "title")),
			 json_string_value(json_object_get(e, "tier")));
	} else if ((s = json_string_value(json_object_get(e, "title")))) {
		snprintf(out, outlen, " (%s, community %s)", s,
			 json_string_value(json_object_get(e, "community")));
	}
}

static rk_err diff_kind(const kind *k, const json_t *cur_doc, const json_t *next_doc,
			dir_change_summary *s)
{
	const json_t *a = json_object_get(cur_doc, k->array);
	const json_t *b = json_object_get(next_doc, k->array);
	size_t na = json_array_size(a), nb = json_array_size(b), i = 0, j = 0;
	char what[1024];
	bool is_collection = strcmp(k->array, "collections") == 0;
	rk_err err = RK_OK;

	while (!err && (i < na || j < nb)) {
		const json_t *ea = i < na ? json_array_get(a, i) : NULL;
		const json_t *eb = j < nb ? json_array_get(b, j) : NULL;
		const char *ida = ea ? json_string_value(json_object_get(ea, k->idkey)) : NULL;
		const char *idb = eb ? json_string_value(json_object_get(eb, k->idkey)) : NULL;
		int c = !ida ? 1 : !idb ? -1 : strcmp(ida, idb);

		if (c < 0) {
			describe(k, ea, what, sizeof what);
			if (is_collection)
				err = add_line(s, "- %s %s%s: removed from the directory; its "
					       "stored objects are kept and reappear if it is re-added",
					       k->noun, ida, what);
			else
				err = add_line(s, "- %s %s", k->noun, ida);
			s->removed++;
			i++;
		} else if (c > 0) {
			describe(k, eb, what, sizeof what);
			err = add_line(s, "+ %s %s%s", k->noun, idb, what);
			s->added++;
			j++;
		} else {
			changed_keys(ea, eb, what, sizeof what);
			if (what[0]) {
				err = add_line(s, "~ %s %s: %s", k->noun, ida, what);
				s->updated++;
			}
			i++;
			j++;
		}
	}
	return err;
}

rk_err dir_diff(const directory *cur, const directory *next,
		dir_change_summary *s)
{
	static const kind kinds[] = {
		{"organizations", "id", "organisation"},
		{"users", "name", "user"},
		{"communities", "id", "community"},
		{"collections", "id", "collection"},
	};
	json_t *a = dir_to_stored_json(cur), *b = dir_to_stored_json(next);
	rk_err err = RK_OK;

	if (!a || !b) {
		err = RK_ENOMEM;
		goto out;
	}
	for (size_t k = 0; !err && k < RK_ARRAY_LEN(kinds); k++)
		err = diff_kind(&kinds[k], a, b, s);
out:
	json_decref(a);
	json_decref(b);
	return err;
}

void dir_change_summary_cleanup(dir_change_summary *s)
{
	if (!s)
		return;
	rk_buf_cleanup(&s->text);
	s->added = s->updated = s->removed = 0;
}
