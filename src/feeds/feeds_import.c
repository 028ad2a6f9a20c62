/*
 * feeds_import.c: one import of one feed: items in, indicators out.
 *
 * Every parser hands its values to feeds_import_item (or, for STIX,
 * objects to feeds_import_object); this file is the one place that decides
 * what happens to them:
 *
 *   item --warning list?--> drop (counted per list) | flag (label) | pass
 *        --id = UUIDv5(FEEDS_NAMESPACE, "<feed>\n<key>")--> indicator
 *        --digest (SHA-256 of the object without created/modified,
 *          keys sorted)--> state:
 *             id met before in this import   -> duplicate, not emitted
 *             id stored, same digest         -> unchanged, not emitted
 *             id stored, other digest        -> changed: same id and
 *                                               created, new modified
 *             id unknown                     -> new: created = modified
 *                                               = valid_from = now (or
 *                                               valid_from = the item's:
 *                                               MISP first_seen)
 *
 * An indicator's `created` and `valid_from` stay those of its first
 * version, so its content (and digest) is stable across imports; a new
 * `modified` is always later than the stored one, so the hub keeps both
 * versions. Ids the state holds that an import did not meet are reported
 * as gone (finish) and kept in the state: a later step may revoke them,
 * and a value that comes back is simply unchanged. An incremental source
 * (a TAXII collection read from its checkpoint) hands over only what is
 * new, so nothing it did not hand over is gone.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "feeds_int.h"

struct feeds_import {
	feeds_config cfg;
	feeds_state st;
	json_t *objects, *rejects, *gone;
	uint64_t *warn_hits;
	size_t n_warn;
	feeds_counts c;
	rk_time now;
	bool finished;
	bool incremental; /* a source read from a checkpoint: no ids are gone */
};

static const struct {
	const char *name;
	feeds_format fmt;
} formats[] = {
	{ "plain", FEEDS_FORMAT_PLAIN },     { "csv", FEEDS_FORMAT_CSV },
	{ "misp", FEEDS_FORMAT_MISP },       { "misp-feed", FEEDS_FORMAT_MISP_FEED },
	{ "stix", FEEDS_FORMAT_STIX },       { "taxii", FEEDS_FORMAT_TAXII },
};

bool feeds_format_parse(const char *name, feeds_format *out)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(formats); i++) {
		if (strcmp(formats[i].name, name) == 0) {
			*out = formats[i].fmt;
			return true;
		}
	}
	return false;
}

const char *feeds_format_name(feeds_format fmt)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(formats); i++)
		if (formats[i].fmt == fmt)
			return formats[i].name;
	return "?";
}

rk_err feeds_import_new(const feeds_config *cfg, feeds_import **out, rk_errctx *ctx)
{
	feeds_import *imp = NULL;
	rk_err err;

	*out = NULL;
	if (!cfg->name || !*cfg->name)
		return rk_fail(ctx, RK_EINVAL, "name", "a feed needs a name");
	if (cfg->confidence < -1 || cfg->confidence > 100)
		return rk_fail(ctx, RK_EINVAL, "confidence", "expected 0 to 100");
	if (cfg->identity && !stix_id_valid(cfg->identity, "identity"))
		return rk_fail(ctx, RK_EINVAL, "identity", "expected identity--<uuid>");
	if (!stix_tlp_marking_id(cfg->marking))
		return rk_fail(ctx, RK_EINVAL, "marking", "not a TLP level");
	if (sodium_init() < 0)
		return rk_fail(ctx, RK_EIO, NULL, "libsodium failed to start");
	if (!(imp = calloc(1, sizeof *imp)))
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	imp->cfg = *cfg;
	imp->now = cfg->now ? cfg->now : rk_time_now();
	imp->now -= imp->now % 1000; /* timestamps carry milliseconds */
	imp->n_warn = cfg->warn ? feeds_warn_count(cfg->warn) : 0;
	if (!(imp->objects = json_array()) || !(imp->rejects = json_array()) ||
	    !(imp->gone = json_array()) ||
	    (imp->n_warn && !(imp->warn_hits = calloc(imp->n_warn, sizeof *imp->warn_hits)))) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto fail;
	}
	if ((err = feeds_state_open(&imp->st, cfg->state_dir, cfg->name, ctx)))
		goto fail;
	*out = imp;
	return RK_OK;
fail:
	feeds_import_free(imp);
	return err;
}

void feeds_import_free(feeds_import *imp)
{
	if (!imp)
		return;
	feeds_state_cleanup(&imp->st);
	json_decref(imp->objects);
	json_decref(imp->rejects);
	json_decref(imp->gone);
	free(imp->warn_hits);
	free(imp);
}

/* A JSON string of s; a reject quotes the bad input, which need not be
 * UTF-8, so bytes outside printable ASCII then become '?'. */
static json_t *text_of(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	char *copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

rk_err feeds_import_reject(feeds_import *imp, const char *where, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	imp->c.read++;
	imp->c.rejected++;
	if (json_array_size(imp->rejects) >= RK_FEED_MAX_REJECTS_KEPT)
		return RK_OK;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	json_t *r = json_object();
	if (!r)
		return RK_ENOMEM;
	if (json_object_set_new(r, "where", text_of(where)) ||
	    json_object_set_new(r, "reason", text_of(reason))) {
		json_decref(r);
		return RK_ENOMEM;
	}
	return json_array_append_new(imp->rejects, r) ? RK_ENOMEM : RK_OK;
}

bool feeds_import_all_attributes(const feeds_import *imp)
{
	return imp->cfg.all_attributes;
}

feeds_state *feeds_import_state(feeds_import *imp)
{
	return &imp->st;
}

void feeds_import_set_incremental(feeds_import *imp)
{
	imp->incremental = true;
}

void feeds_import_skip(feeds_import *imp)
{
	imp->c.read++;
	imp->c.skipped++;
}

static void digest_of(const json_t *obj, char out[FEEDS_DIGEST_HEX], rk_buf *scratch, bool *ok)
{
	unsigned char h[crypto_hash_sha256_BYTES];

	rk_buf_reset(scratch);
	*ok = rk_json_dump_to(scratch, obj, JSON_COMPACT | JSON_SORT_KEYS) == RK_OK;
	if (!*ok)
		return;
	crypto_hash_sha256(h, (const unsigned char *)scratch->data, scratch->len);
	sodium_bin2hex(out, FEEDS_DIGEST_HEX, h, sizeof h);
}

/* The state decision shared by made and passed-through objects. *emit
 * says whether obj goes out; *e is the entry (for times). */
typedef enum { VERDICT_NEW, VERDICT_CHANGED, VERDICT_UNCHANGED, VERDICT_DUPLICATE } verdict;

static rk_err decide(feeds_import *imp, const char *id, const char *digest, verdict *v,
		     feeds_entry **out)
{
	feeds_entry *e = feeds_state_find(&imp->st, id);

	if (e && e->seen) {
		*v = VERDICT_DUPLICATE;
		imp->c.duplicate++;
	} else if (e) {
		e->seen = true;
		if (strcmp(e->digest, digest) == 0) {
			*v = VERDICT_UNCHANGED;
			imp->c.unchanged++;
		} else {
			*v = VERDICT_CHANGED;
			imp->c.changed++;
			memcpy(e->digest, digest, FEEDS_DIGEST_HEX);
			e->modified = imp->now > e->modified ? imp->now : e->modified + 1000;
		}
	} else {
		if (imp->st.n >= RK_FEED_MAX_ITEMS) {
			*out = NULL;
			*v = VERDICT_DUPLICATE;
			return RK_ETOOBIG;
		}
		if (!(e = feeds_state_add(&imp->st, id)))
			return RK_ENOMEM;
		e->seen = true;
		e->created = e->modified = imp->now;
		memcpy(e->digest, digest, FEEDS_DIGEST_HEX);
		*v = VERDICT_NEW;
		imp->c.fresh++;
	}
	*out = e;
	return RK_OK;
}

static int warn_check(feeds_import *imp, const feeds_item *it)
{
	int list = -1;

	if (!imp->cfg.warn)
		return -1;
	if (it->value && it->type != FEEDS_VNONE)
		list = feeds_warn_match(imp->cfg.warn, it->type, it->value);
	if (list < 0 && it->value2 && it->type2 != FEEDS_VNONE)
		list = feeds_warn_match(imp->cfg.warn, it->type2, it->value2);
	return list;
}

rk_err feeds_import_item(feeds_import *imp, const feeds_item *it)
{
	json_t *core = NULL, *obj = NULL, *labels = NULL;
	rk_buf key, pattern, scratch;
	char uuid[RK_UUID_BUF], id[RK_MAX_STIX_ID + 1], digest[FEEDS_DIGEST_HEX];
	char created[RK_TIME_BUF], modified[RK_TIME_BUF];
	rk_err err = RK_OK;
	bool ok;

	rk_buf_init(&key);
	rk_buf_init(&pattern);
	rk_buf_init(&scratch);
	if (it->refanged)
		imp->c.refanged++;
	int list = warn_check(imp, it);
	if (list >= 0) {
		imp->warn_hits[list]++;
		imp->c.warned++;
		if (imp->cfg.on_warning == FEEDS_WARN_DROP) {
			imp->c.read++;
			imp->c.dropped++;
			goto out;
		}
		imp->c.flagged++;
	}
	imp->c.read++;
	if (rk_buf_printf(&key, "%s\n", imp->cfg.name) ||
	    (it->key ? rk_buf_puts(&key, it->key)
		     : rk_buf_printf(&key, "%s|%s", feeds_vtype_name(it->type), it->value)))
		goto oom;
	if (rk_uuid_v5(FEEDS_NAMESPACE, key.data, key.len, uuid))
		goto oom;
	snprintf(id, sizeof id, "indicator--%s", uuid);
	if (it->pattern ? rk_buf_puts(&pattern, it->pattern)
			: feeds_pattern_simple(&pattern, it->type, it->value))
		goto oom;

	if (!(labels = json_array()))
		goto oom;
	for (size_t i = 0; i < it->n_labels; i++) {
		json_t *l = json_string(it->labels[i]);
		if (!l)
			continue; /* not UTF-8 (cut short by its bound) */
		if (json_array_append_new(labels, l))
			goto oom;
	}
	if (list >= 0) {
		rk_buf_reset(&scratch);
		if (rk_buf_printf(&scratch, "warning-list:%s", feeds_warn_name(imp->cfg.warn, (size_t)list)) ||
		    json_array_append_new(labels, json_string(scratch.data)))
			goto oom;
	}
	/* The stable content: everything but created and modified. */
	if (!(core = json_object()) ||
	    json_object_set_new(core, "type", json_string("indicator")) ||
	    json_object_set_new(core, "spec_version", json_string("2.1")) ||
	    json_object_set_new(core, "id", json_string(id)))
		goto oom;
	if (imp->cfg.identity &&
	    json_object_set_new(core, "created_by_ref", json_string(imp->cfg.identity)))
		goto oom;
	/* A pattern that is not UTF-8 cannot be STIX at all; a name or
	 * description that is not is left out. */
	json_t *pj = json_string(pattern.data);
	if (!pj) {
		imp->c.read--;
		err = feeds_import_reject(imp, it->where, "value is not UTF-8");
		goto out;
	}
	json_t *nj = it->name && *it->name ? json_string(it->name) : NULL;
	if (!nj && it->value)
		nj = json_string(it->value);
	if (nj && json_object_set_new(core, "name", nj)) {
		json_decref(pj);
		goto oom;
	}
	json_t *dj = it->description && *it->description ? json_string(it->description) : NULL;
	if (dj && json_object_set_new(core, "description", dj)) {
		json_decref(pj);
		goto oom;
	}
	if (json_object_set_new(core, "indicator_types", json_pack("[s]", "malicious-activity")) ||
	    json_object_set_new(core, "pattern", pj) ||
	    json_object_set_new(core, "pattern_type", json_string("stix")))
		goto oom;
	/* valid_from is when the source saw the value first if it says so,
	 * else the time of the first version, from the state: either way
	 * the same in every import, so the digest is stable. */
	feeds_entry *known = feeds_state_find(&imp->st, id);
	rk_time first = known ? known->created : imp->now;
	if (it->valid_from)
		rk_time_format(it->valid_from, it->valid_from % 1000 ? 6 : 3, created);
	else
		rk_time_format(first, 3, created);
	if (json_object_set_new(core, "valid_from", json_string(created)))
		goto oom;
	if (imp->cfg.confidence >= 0 &&
	    json_object_set_new(core, "confidence", json_integer(imp->cfg.confidence)))
		goto oom;
	if (json_array_size(labels) && json_object_set(core, "labels", labels))
		goto oom;
	if (json_object_set_new(core, "object_marking_refs",
				json_pack("[s]", stix_tlp_marking_id(imp->cfg.marking))))
		goto oom;
	digest_of(core, digest, &scratch, &ok);
	if (!ok)
		goto oom;

	verdict v;
	feeds_entry *e;
	if ((err = decide(imp, id, digest, &v, &e))) {
		if (err == RK_ETOOBIG) {
			imp->c.read--; /* counted again as rejected */
			err = feeds_import_reject(imp, it->where, "more than %d values in one import",
						  RK_FEED_MAX_ITEMS);
		}
		goto out;
	}
	if (v == VERDICT_DUPLICATE || v == VERDICT_UNCHANGED)
		goto out;
	rk_time_format(e->created, 3, created);
	rk_time_format(e->modified, 3, modified);
	if (!(obj = json_object()) ||
	    json_object_set_new(obj, "type", json_string("indicator")) ||
	    json_object_set_new(obj, "spec_version", json_string("2.1")) ||
	    json_object_set_new(obj, "id", json_string(id)) ||
	    json_object_set_new(obj, "created", json_string(created)) ||
	    json_object_set_new(obj, "modified", json_string(modified)) ||
	    json_object_update(obj, core) || json_array_append(imp->objects, obj))
		goto oom;
	imp->c.imported++;
	goto out;
oom:
	err = RK_ENOMEM;
out:
	json_decref(core);
	json_decref(obj);
	json_decref(labels);
	rk_buf_cleanup(&key);
	rk_buf_cleanup(&pattern);
	rk_buf_cleanup(&scratch);
	return err;
}

rk_err feeds_import_object(feeds_import *imp, const char *where, json_t *obj)
{
	rk_errctx ctx;
	rk_buf scratch;
	char digest[FEEDS_DIGEST_HEX], msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
	stix_info info;
	bool ok;
	rk_err err = RK_OK;

	rk_errctx_clear(&ctx);
	if (stix_validate_object(obj, "", NULL, &ctx) || stix_object_info(obj, &info, &ctx)) {
		rk_errctx_format(&ctx, msg, sizeof msg);
		return feeds_import_reject(imp, where, "%s", msg);
	}
	if (strcmp(info.type, "indicator") != 0) {
		feeds_import_skip(imp);
		return RK_OK;
	}
	imp->c.read++;
	rk_buf_init(&scratch);
	digest_of(obj, digest, &scratch, &ok);
	rk_buf_cleanup(&scratch);
	if (!ok)
		return RK_ENOMEM;
	verdict v;
	feeds_entry *e;
	if ((err = decide(imp, info.id, digest, &v, &e))) {
		if (err == RK_ETOOBIG) {
			imp->c.read--; /* counted again as rejected */
			return feeds_import_reject(imp, where, "more than %d values in one import",
						   RK_FEED_MAX_ITEMS);
		}
		return err;
	}
	/* A passed-through object keeps its own times: the producer
	 * versions it. */
	if (info.created)
		rk_time_parse(info.created, &e->created);
	if (info.modified)
		rk_time_parse(info.modified, &e->modified);
	if (v == VERDICT_DUPLICATE || v == VERDICT_UNCHANGED)
		return RK_OK;
	if (json_array_append(imp->objects, obj))
		return RK_ENOMEM;
	imp->c.imported++;
	return RK_OK;
}

rk_err feeds_import_finish(feeds_import *imp, rk_errctx *ctx)
{
	if (imp->finished)
		return RK_OK;
	imp->finished = true;
	for (size_t i = 0; i < imp->st.cap; i++) {
		const feeds_entry *e = &imp->st.slots[i];
		if (!e->id || !e->stored || e->seen || imp->incremental)
			continue;
		imp->c.gone++;
		if (json_array_append_new(imp->gone, json_string(e->id)))
			return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	}
	return feeds_state_save(&imp->st, ctx);
}

const feeds_counts *feeds_import_counts(const feeds_import *imp)
{
	return &imp->c;
}

json_t *feeds_import_objects(const feeds_import *imp)
{
	return imp->objects;
}

json_t *feeds_import_rejects(const feeds_import *imp)
{
	return imp->rejects;
}

json_t *feeds_import_gone(const feeds_import *imp)
{
	return imp->gone;
}

uint64_t feeds_import_warn_hits(const feeds_import *imp, size_t i)
{
	return i < imp->n_warn ? imp->warn_hits[i] : 0;
}

json_t *feeds_import_bundle(const feeds_import *imp)
{
	char uuid[RK_UUID_BUF], id[64];
	json_t *bundle, *objects;

	rk_uuid_v4(uuid);
	snprintf(id, sizeof id, "bundle--%s", uuid);
	if (!(bundle = json_pack("{s:s, s:s, s:[]}", "type", "bundle", "id", id, "objects")))
		return NULL;
	objects = json_object_get(bundle, "objects");
	if (json_array_size(imp->objects) &&
	    json_array_append_new(objects, stix_tlp_marking_object(imp->cfg.marking)))
		goto fail;
	if (json_array_extend(objects, imp->objects))
		goto fail;
	return bundle;
fail:
	json_decref(bundle);
	return NULL;
}

rk_err feeds_import_data(feeds_import *imp, feeds_format fmt, const char *file,
			 const char *data, size_t len, const feeds_csv_opts *csv, rk_errctx *ctx)
{
	feeds_csv_opts defaults;
	rk_err err;

	switch (fmt) {
	case FEEDS_FORMAT_PLAIN: err = feeds_parse_plain(imp, file, data, len); break;
	case FEEDS_FORMAT_CSV:
		if (!csv) {
			feeds_csv_opts_init(&defaults);
			csv = &defaults;
		}
		err = feeds_parse_csv(imp, file, data, len, csv);
		break;
	case FEEDS_FORMAT_MISP: err = feeds_parse_misp(imp, file, data, len); break;
	case FEEDS_FORMAT_STIX: err = feeds_parse_stix(imp, file, data, len); break;
	default:
		return rk_fail(ctx, RK_EINVAL, file, "a %s feed is not read from one file",
			       fmt == FEEDS_FORMAT_MISP_FEED ? "misp-feed" : "taxii");
	}
	if (err)
		return rk_fail(ctx, err, file, "%s", rk_strerror(err));
	return RK_OK;
}

rk_err feeds_import_path(feeds_import *imp, feeds_format fmt, const char *path,
			 const feeds_csv_opts *csv, rk_errctx *ctx)
{
	char *data = NULL;
	size_t len = 0;
	rk_err err;

	if (fmt == FEEDS_FORMAT_MISP_FEED)
		return feeds_parse_misp_dir(imp, path, ctx);
	if ((err = rk_read_file(path, RK_FEED_MAX_FILE, &data, &len, ctx)))
		return err;
	err = feeds_import_data(imp, fmt, strcmp(path, "-") ? path : "<stdin>", data, len, csv, ctx);
	free(data);
	return err;
}
