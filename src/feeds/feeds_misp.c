/*
 * feeds_misp.c: MISP events and MISP feed directories.
 *
 * Accepted shapes, walked recursively: {"Event": {...}}, the REST search
 * answer {"response": [{"Event": ...}, ...]} (or {"response": {...}}), a
 * bare event (an object with "Attribute" or "Object"), and arrays of any
 * of these. An event's attributes are its "Attribute" list and the
 * "Attribute" lists of its "Object"s. A feed directory is MISP's layout:
 * manifest.json maps event uuids to metadata, each event is <uuid>.json.
 *
 * Which attributes become indicators: those with to_ids set (true, 1,
 * "1", "true") unless the feed imports all attributes, that are not
 * deleted, and whose type has a row in misp_types below. Others are
 * skipped (counted, not reported). An attribute whose value does not fit
 * its type is rejected with its JSON path ("file: response[0].Event.
 * Attribute[3]").
 *
 * Patterns follow misp-stix (MISP's own MISP -> STIX 2.1 converter) for
 * composite types (filename|md5 -> [file:name = .. AND file:hashes.MD5 =
 * ..], domain|ip -> resolves_to_refs) and plain hashes, domains and URLs.
 * Deliberately different: ip-src / ip-dst become [ipv4-addr:value = ..]
 * (misp-stix writes network-traffic:src_ref.value), and email-src /
 * email-dst become [email-addr:value = ..], because the sensor matches an
 * address wherever it appears in traffic and logs, and the indicator is
 * then the same one a plain list of the same value makes. Ports are
 * integers (network-traffic:dst_port is an integer property; misp-stix
 * quotes them).
 *
 * An attribute's first_seen (MISP 2.4.120 and later: ISO 8601 with a
 * "+00:00" style offset or 'Z', "2021-06-02T12:00:00.000000+00:00"), when
 * present and a valid time, is the indicator's valid_from, as misp-stix
 * maps it; absent, null or not a time, valid_from is the import's time.
 */
#include <stdlib.h>
#include <string.h>

#include "feeds_int.h"

typedef enum {
	MAP_SIMPLE,     /* one value of the row's vtype (ip: v4 or v6) */
	MAP_IP,         /* ipv4 or ipv6 */
	MAP_IP_PORT,    /* "ip|port" on src or dst */
	MAP_DOMAIN_IP,  /* "domain|ip" */
	MAP_HOST_PORT,  /* "hostname|port": the host only */
	MAP_FILE_HASH,  /* "filename|hash" */
} map_kind;

static const struct {
	const char *misp_type;
	map_kind kind;
	feeds_vtype vtype;
	const char *side; /* "src"/"dst" for MAP_IP_PORT */
} misp_types[] = {
	{ "ip-src", MAP_IP, FEEDS_IPV4, NULL },
	{ "ip-dst", MAP_IP, FEEDS_IPV4, NULL },
	{ "ip-src|port", MAP_IP_PORT, FEEDS_IPV4, "src" },
	{ "ip-dst|port", MAP_IP_PORT, FEEDS_IPV4, "dst" },
	{ "domain", MAP_SIMPLE, FEEDS_DOMAIN, NULL },
	{ "hostname", MAP_SIMPLE, FEEDS_DOMAIN, NULL },
	{ "domain|ip", MAP_DOMAIN_IP, FEEDS_DOMAIN, NULL },
	{ "hostname|port", MAP_HOST_PORT, FEEDS_DOMAIN, NULL },
	{ "url", MAP_SIMPLE, FEEDS_URL, NULL },
	{ "uri", MAP_SIMPLE, FEEDS_URL, NULL },
	{ "link", MAP_SIMPLE, FEEDS_URL, NULL },
	{ "email", MAP_SIMPLE, FEEDS_EMAIL, NULL },
	{ "email-src", MAP_SIMPLE, FEEDS_EMAIL, NULL },
	{ "email-dst", MAP_SIMPLE, FEEDS_EMAIL, NULL },
	{ "md5", MAP_SIMPLE, FEEDS_MD5, NULL },
	{ "sha1", MAP_SIMPLE, FEEDS_SHA1, NULL },
	{ "sha256", MAP_SIMPLE, FEEDS_SHA256, NULL },
	{ "sha512", MAP_SIMPLE, FEEDS_SHA512, NULL },
	{ "filename|md5", MAP_FILE_HASH, FEEDS_MD5, NULL },
	{ "filename|sha1", MAP_FILE_HASH, FEEDS_SHA1, NULL },
	{ "filename|sha256", MAP_FILE_HASH, FEEDS_SHA256, NULL },
	{ "filename|sha512", MAP_FILE_HASH, FEEDS_SHA512, NULL },
};

static bool check_ip(const char *s, size_t len, feeds_misp_value *out, char *dst, feeds_vtype *t,
		     const char **why)
{
	if (feeds_value_check(FEEDS_IPV4, s, len, dst, why)) {
		*t = FEEDS_IPV4;
		return true;
	}
	if (feeds_value_check(FEEDS_IPV6, s, len, dst, why)) {
		*t = FEEDS_IPV6;
		return true;
	}
	(void)out;
	*why = "not an IP address";
	return false;
}

static bool parse_port(const char *s, unsigned *port)
{
	char *end;
	unsigned long p;

	if (!*s || strlen(s) > 5)
		return false;
	p = strtoul(s, &end, 10);
	if (*end || p > 65535)
		return false;
	*port = (unsigned)p;
	return true;
}

int feeds_misp_map(const char *misp_type, const char *value, feeds_misp_value *out,
		   const char **why)
{
	size_t row, len = strlen(value);
	const char *bar = strrchr(value, '|');
	unsigned port;

	out->type = out->type2 = FEEDS_VNONE;
	out->value[0] = out->value2[0] = '\0';
	rk_buf_reset(&out->pattern);
	for (row = 0; row < RK_ARRAY_LEN(misp_types); row++)
		if (strcmp(misp_types[row].misp_type, misp_type) == 0)
			break;
	if (row == RK_ARRAY_LEN(misp_types))
		return 0;
	feeds_vtype vt = misp_types[row].vtype;
	switch (misp_types[row].kind) {
	case MAP_SIMPLE:
		if (!feeds_value_check(vt, value, len, out->value, why))
			return -1;
		out->type = vt;
		return 1;
	case MAP_IP:
		return check_ip(value, len, out, out->value, &out->type, why) ? 1 : -1;
	case MAP_IP_PORT:
		if (!bar || !parse_port(bar + 1, &port) ||
		    !check_ip(value, (size_t)(bar - value), out, out->value, &out->type, why)) {
			*why = "expected ip|port";
			return -1;
		}
		if (rk_buf_printf(&out->pattern,
				  "[network-traffic:%s_ref.type = '%s' AND network-traffic:%s_ref.value = '%s' AND network-traffic:%s_port = %u]",
				  misp_types[row].side, out->type == FEEDS_IPV4 ? "ipv4-addr" : "ipv6-addr",
				  misp_types[row].side, out->value, misp_types[row].side, port))
			return -2;
		return 1;
	case MAP_DOMAIN_IP:
		if (!bar || !feeds_value_check(FEEDS_DOMAIN, value, (size_t)(bar - value), out->value, why) ||
		    !check_ip(bar + 1, strlen(bar + 1), out, out->value2, &out->type2, why)) {
			*why = "expected domain|ip";
			return -1;
		}
		out->type = FEEDS_DOMAIN;
		if (rk_buf_printf(&out->pattern,
				  "[domain-name:value = '%s' AND domain-name:resolves_to_refs[*].value = '%s']",
				  out->value, out->value2))
			return -2;
		return 1;
	case MAP_HOST_PORT:
		if (!bar || !parse_port(bar + 1, &port) ||
		    !feeds_value_check(FEEDS_DOMAIN, value, (size_t)(bar - value), out->value, why)) {
			*why = "expected hostname|port";
			return -1;
		}
		out->type = FEEDS_DOMAIN;
		return 1;
	case MAP_FILE_HASH: {
		/* The file name may itself hold '|': the hash is after the last. */
		if (!bar || bar == value ||
		    !feeds_value_check(vt, bar + 1, strlen(bar + 1), out->value, why)) {
			*why = "expected filename|hash";
			return -1;
		}
		if (rk_buf_puts(&out->pattern, "[file:name = '"))
			return -2;
		size_t nlen = (size_t)(bar - value);
		if (nlen >= FEEDS_VALUE_MAX) {
			*why = "file name too long";
			return -1;
		}
		memcpy(out->value2, value, nlen);
		out->value2[nlen] = '\0';
		if (feeds_pattern_quote(&out->pattern, out->value2) ||
		    rk_buf_printf(&out->pattern, "' AND %s = '%s']", feeds_vtype_path(vt), out->value))
			return -2;
		out->type = vt;
		out->value2[0] = '\0'; /* the name is not checked against warning lists */
		return 1;
	}
	}
	return 0;
}

static bool truthy(const json_t *v)
{
	if (json_is_true(v))
		return true;
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		return strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0;
	}
	return false;
}

typedef struct walk {
	feeds_import *imp;
	const char *file;
	const char *info; /* the event's info, for descriptions */
	bool imp_all;     /* attributes without to_ids too */
	feeds_misp_value mv;
} walk;

/*
 * MISP's first_seen: RFC 3339 with 'Z' or a numeric offset ("+02:00",
 * "-0500"), the offset folded into UTC. False for anything else.
 */
static bool misp_time(const char *s, rk_time *out)
{
	char utc[64];
	size_t len = s ? strlen(s) : 0;
	int64_t offset = 0;

	if (len < 20 || len >= sizeof utc)
		return false;
	if (s[len - 1] == 'Z')
		return rk_time_parse(s, out);
	/* The offset: [+-]HH:MM or [+-]HHMM at the end. */
	size_t olen = s[len - 3] == ':' ? 6 : 5;
	const char *o = s + len - olen;
	if (*o != '+' && *o != '-')
		return false;
	const char *mm = o + (olen == 6 ? 4 : 3);
	for (const char *p = o + 1; p < s + len; p++) {
		bool colon_place = olen == 6 && p == o + 3;
		if (colon_place ? *p != ':' : !(*p >= '0' && *p <= '9'))
			return false;
	}
	int hh = (o[1] - '0') * 10 + (o[2] - '0'), min = (mm[0] - '0') * 10 + (mm[1] - '0');
	if (hh > 23 || min > 59)
		return false;
	offset = ((int64_t)hh * 3600 + min * 60) * 1000000;
	memcpy(utc, s, len - olen);
	utc[len - olen] = 'Z';
	utc[len - olen + 1] = '\0';
	if (!rk_time_parse(utc, out))
		return false;
	*out += *o == '+' ? -offset : offset;
	return true;
}

static rk_err attribute(walk *w, const json_t *a, const char *path)
{
	char where[RK_ERRCTX_PATH + 64], ltype[160], lcat[160];
	const char *type = json_string_value(json_object_get(a, "type"));
	const char *value = json_string_value(json_object_get(a, "value"));
	const char *why = "bad value";

	snprintf(where, sizeof where, "%s: %s", w->file, path);
	if (!json_is_object(a))
		return feeds_import_reject(w->imp, where, "attribute is not an object");
	if (!type || !value)
		return feeds_import_reject(w->imp, where, "attribute without a type or value");
	if (truthy(json_object_get(a, "deleted")) ||
	    (!truthy(json_object_get(a, "to_ids")) && !w->imp_all)) {
		feeds_import_skip(w->imp);
		return RK_OK;
	}
	int m = feeds_misp_map(type, value, &w->mv, &why);
	if (m == -2)
		return RK_ENOMEM;
	if (m == 0) {
		feeds_import_skip(w->imp);
		return RK_OK;
	}
	if (m < 0)
		return feeds_import_reject(w->imp, where, "%s: %s: \"%.64s\"", type, why, value);
	const char *category = json_string_value(json_object_get(a, "category"));
	const char *comment = json_string_value(json_object_get(a, "comment"));
	const char *labels[2];
	size_t n_labels = 0;
	snprintf(ltype, sizeof ltype, "misp:type=\"%s\"", type);
	labels[n_labels++] = ltype;
	if (category) {
		snprintf(lcat, sizeof lcat, "misp:category=\"%s\"", category);
		labels[n_labels++] = lcat;
	}
	rk_buf key;
	rk_buf_init(&key);
	rk_err err = RK_OK;
	/* Composite patterns get their own key so that filename|md5 and a
	 * bare md5 of the same hash stay two indicators. */
	if (w->mv.pattern.len && rk_buf_printf(&key, "pattern|%s", w->mv.pattern.data))
		err = RK_ENOMEM;
	if (!err) {
		feeds_item it = {
			.where = where,
			.type = w->mv.type,
			.value = w->mv.value,
			.type2 = w->mv.type2,
			.value2 = w->mv.value2[0] ? w->mv.value2 : NULL,
			.key = w->mv.pattern.len ? key.data : NULL,
			.pattern = w->mv.pattern.len ? w->mv.pattern.data : NULL,
			.description = comment && *comment ? comment : w->info,
			.labels = labels,
			.n_labels = n_labels,
		};
		rk_time first_seen;
		if (misp_time(json_string_value(json_object_get(a, "first_seen")), &first_seen) &&
		    first_seen != 0)
			it.valid_from = first_seen;
		err = feeds_import_item(w->imp, &it);
	}
	rk_buf_cleanup(&key);
	return err;
}

static rk_err attributes(walk *w, const json_t *list, const char *path)
{
	char sub[RK_ERRCTX_PATH];
	size_t i;
	const json_t *a;
	rk_err err;

	if (!list)
		return RK_OK;
	if (!json_is_array(list)) {
		char where[RK_ERRCTX_PATH + 64];
		snprintf(where, sizeof where, "%s: %s", w->file, path);
		return feeds_import_reject(w->imp, where, "not an array");
	}
	json_array_foreach(list, i, a) {
		snprintf(sub, sizeof sub, "%s[%zu]", path, i);
		if ((err = attribute(w, a, sub)))
			return err;
	}
	return RK_OK;
}

static rk_err event(walk *w, const json_t *ev, const char *path)
{
	char sub[RK_ERRCTX_PATH];
	const json_t *objects = json_object_get(ev, "Object"), *o;
	size_t i;
	rk_err err;
	const char *saved = w->info;

	w->info = json_string_value(json_object_get(ev, "info"));
	snprintf(sub, sizeof sub, "%s%sAttribute", path, *path ? "." : "");
	if ((err = attributes(w, json_object_get(ev, "Attribute"), sub)))
		goto out;
	if (json_is_array(objects)) {
		json_array_foreach(objects, i, o) {
			snprintf(sub, sizeof sub, "%s%sObject[%zu].Attribute", path, *path ? "." : "", i);
			if ((err = attributes(w, json_object_get(o, "Attribute"), sub)))
				goto out;
		}
	}
out:
	w->info = saved;
	return err;
}

static rk_err walk_value(walk *w, const json_t *v, const char *path, int depth)
{
	char sub[RK_ERRCTX_PATH];
	const json_t *x;
	size_t i;
	rk_err err;

	if (depth > 4)
		return RK_OK;
	if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			snprintf(sub, sizeof sub, "%s[%zu]", path, i);
			if ((err = walk_value(w, x, sub, depth + 1)))
				return err;
		}
		return RK_OK;
	}
	if (!json_is_object(v))
		return RK_OK;
	if ((x = json_object_get(v, "Event"))) {
		snprintf(sub, sizeof sub, "%s%sEvent", path, *path ? "." : "");
		return json_is_object(x) ? event(w, x, sub) : RK_OK;
	}
	if ((x = json_object_get(v, "response"))) {
		snprintf(sub, sizeof sub, "%s%sresponse", path, *path ? "." : "");
		return walk_value(w, x, sub, depth + 1);
	}
	if (json_object_get(v, "Attribute") || json_object_get(v, "Object"))
		return event(w, v, path);
	return RK_OK;
}

rk_err feeds_parse_misp(feeds_import *imp, const char *file, const char *data, size_t len)
{
	json_t *doc = NULL;
	rk_errctx ctx;
	char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
	walk w = { .imp = imp, .file = file };
	rk_err err;

	rk_errctx_clear(&ctx);
	if (rk_json_parse(data, len, RK_MAX_JSON_DEPTH, &doc, &ctx)) {
		rk_errctx_format(&ctx, msg, sizeof msg);
		return feeds_import_reject(imp, file, "not JSON: %s", msg);
	}
	w.imp_all = feeds_import_all_attributes(imp);
	rk_buf_init(&w.mv.pattern);
	err = walk_value(&w, doc, "", 0);
	rk_buf_cleanup(&w.mv.pattern);
	json_decref(doc);
	return err;
}

rk_err feeds_parse_misp_feed(feeds_import *imp, const char *base, feeds_read_fn read,
			     void *arg, rk_errctx *ctx)
{
	char *data = NULL;
	size_t len = 0;
	json_t *manifest = NULL;
	rk_buf where;
	rk_err err;
	const char *uuid;
	json_t *meta;
	char name[RK_UUID_BUF + 8];

	rk_buf_init(&where);
	if ((err = read(arg, "manifest.json", &data, &len, ctx)))
		goto out;
	if (rk_buf_printf(&where, "%s/manifest.json", base)) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	rk_errctx parse;
	rk_errctx_clear(&parse);
	err = rk_json_parse(data, len, RK_MAX_JSON_DEPTH, &manifest, &parse);
	free(data);
	data = NULL;
	if (err) {
		err = rk_fail(ctx, err, where.data, "%s%s%s", parse.path, parse.path[0] ? ": " : "",
			      parse.msg);
		goto out;
	}
	if (!json_is_object(manifest)) {
		err = rk_fail(ctx, RK_EPARSE, where.data, "a MISP manifest is an object of events by uuid");
		goto out;
	}
	json_object_foreach(manifest, uuid, meta) {
		rk_errctx inner;
		(void)meta;
		rk_errctx_clear(&inner);
		rk_buf_reset(&where);
		if (!rk_uuid_is_valid(uuid)) {
			char at[RK_ERRCTX_PATH];
			snprintf(at, sizeof at, "%s/manifest.json: %.64s", base, uuid);
			if ((err = feeds_import_reject(imp, at, "not an event uuid")))
				goto out;
			continue;
		}
		snprintf(name, sizeof name, "%s.json", uuid);
		if (rk_buf_printf(&where, "%s/%s", base, name)) {
			err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
			goto out;
		}
		if (read(arg, name, &data, &len, &inner)) {
			char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
			rk_errctx_format(&inner, msg, sizeof msg);
			if ((err = feeds_import_reject(imp, where.data, "event in the manifest unreadable: %s", msg)))
				goto out;
			continue;
		}
		err = feeds_parse_misp(imp, where.data, data, len);
		free(data);
		data = NULL;
		if (err) {
			err = rk_fail(ctx, err, where.data, "%s", rk_strerror(err));
			goto out;
		}
	}
	err = RK_OK;
out:
	free(data);
	json_decref(manifest);
	rk_buf_cleanup(&where);
	return err;
}

/* Reads DIR/name from the directory `arg`. */
static rk_err read_in_dir(void *arg, const char *name, char **data, size_t *len, rk_errctx *ctx)
{
	rk_buf path;
	rk_err err;

	rk_buf_init(&path);
	if (rk_buf_printf(&path, "%s/%s", (const char *)arg, name))
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	else
		err = rk_read_file(path.data, RK_FEED_MAX_FILE, data, len, ctx);
	rk_buf_cleanup(&path);
	return err;
}

rk_err feeds_parse_misp_dir(feeds_import *imp, const char *dir, rk_errctx *ctx)
{
	return feeds_parse_misp_feed(imp, dir, read_in_dir, (void *)dir, ctx);
}
