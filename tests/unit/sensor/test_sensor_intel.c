/*
 * test_sensor_intel.c: the sensor's indicator set.
 *
 * Versions (a newer `modified` replaces, an equal or older one is stale),
 * revocation kept against older copies, expiry and revocation honoured by
 * the matcher built from the set, pattern types other than stix kept but
 * not built, malformed indicators refused with the property named, and a
 * bundle file with bad objects reported by index and id while the good
 * ones load. Lookups copy out name, creator and markings. The matcher
 * reports handles; the ids attached to it by the build name them byte for
 * byte, and outlive the set they came from. Bundle files are read through
 * a window: objects across its edges and objects larger than it load as
 * when each is applied on its own, and a bundle cut off halfway changes
 * nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sensor_int.h"

#define ID_A "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
#define ID_B "indicator--1f6c5d3a-0b7e-4c0e-9a55-3f2d6e7c8a91"
#define ID_C "indicator--c2a4b6d8-e0f2-4a4c-8e6f-0a2b4c6d8e0f"
#define TLP_AMBER "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
#define NOW ((rk_time)1767225600 * 1000000) /* 2026-01-01 */

static json_t *ind(const char *id, const char *modified, const char *pattern_text, const char *extra)
{
	char text[2048];
	snprintf(text, sizeof text,
		 "{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"%s\","
		 "\"created\":\"2025-01-01T00:00:00.000Z\",\"modified\":\"%s\","
		 "\"pattern\":\"%s\",\"pattern_type\":\"stix\","
		 "\"valid_from\":\"2025-01-01T00:00:00Z\"%s%s}",
		 id, modified, pattern_text, extra ? "," : "", extra ? extra : "");
	json_error_t e;
	json_t *o = json_loads(text, 0, &e);
	assert_non_null(o);
	return o;
}

static rk_err apply(sensor_intel *in, json_t *o, bool *changed, rk_errctx *ctx)
{
	rk_err err = sensor_intel_apply(in, o, changed, ctx);
	json_decref(o);
	return err;
}

static size_t hits_v4(const match *m, uint32_t a)
{
	return match_ipv4(m, a, NULL, NULL);
}

static void test_versions(void **state)
{
	(void)state;
	sensor_intel *in = sensor_intel_new();
	sensor_indicator_info info;
	bool changed;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);

	assert_int_equal(apply(in, ind(ID_A, "2025-02-01T00:00:00.000Z",
				       "[ipv4-addr:value = '198.51.100.1']",
				       "\"name\":\"first\",\"object_marking_refs\":[\"" TLP_AMBER "\"],"
				       "\"created_by_ref\":\"identity--0c8a3c2e-6b1d-4e7f-9a2b-3c4d5e6f7a8b\""),
			       &changed, &ctx),
			 RK_OK);
	assert_true(changed);
	/* newer replaces */
	assert_int_equal(apply(in, ind(ID_A, "2025-03-01T00:00:00.000Z",
				       "[ipv4-addr:value = '198.51.100.2']", "\"name\":\"second\""),
			       &changed, &ctx),
			 RK_OK);
	assert_true(changed);
	/* equal and older are stale */
	assert_int_equal(apply(in, ind(ID_A, "2025-03-01T00:00:00.000Z",
				       "[ipv4-addr:value = '198.51.100.3']", "\"name\":\"same\""),
			       &changed, &ctx),
			 RK_OK);
	assert_false(changed);
	assert_int_equal(apply(in, ind(ID_A, "2025-02-15T00:00:00.000Z",
				       "[ipv4-addr:value = '198.51.100.4']", NULL),
			       &changed, &ctx),
			 RK_OK);
	assert_false(changed);
	assert_true(sensor_intel_lookup(in, ID_A, &info));
	assert_string_equal(info.name, "second");
	assert_int_equal(info.n_markings, 0);
	assert_string_equal(info.created_by, "");
	assert_false(sensor_intel_lookup(in, ID_B, &info));

	match *m = NULL;
	assert_int_equal(sensor_intel_build(in, NOW, NULL, NULL, &m, &ctx), RK_OK);
	assert_int_equal(hits_v4(m, 0xc6336401), 0); /* .1 was replaced */
	assert_int_equal(hits_v4(m, 0xc6336402), 1);
	assert_int_equal(hits_v4(m, 0xc6336403), 0);
	assert_int_equal(hits_v4(m, 0xc6336404), 0);
	match_free(m);

	sensor_intel_stats st;
	sensor_intel_get_stats(in, &st);
	assert_int_equal(st.indicators, 1);
	assert_int_equal(st.applied, 2);
	assert_int_equal(st.stale, 2);
	sensor_intel_free(in);
}

static void test_markings_and_name(void **state)
{
	(void)state;
	sensor_intel *in = sensor_intel_new();
	sensor_indicator_info info;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(apply(in, ind(ID_B, "2025-02-01T00:00:00.000Z",
				       "[domain-name:value = 'evil.example']",
				       "\"name\":\"C2 \\\"quoted\\\" \\u65e5\\u672c\","
				       "\"object_marking_refs\":[\"" TLP_AMBER "\"],"
				       "\"created_by_ref\":\"identity--0c8a3c2e-6b1d-4e7f-9a2b-3c4d5e6f7a8b\""),
			       NULL, &ctx),
			 RK_OK);
	assert_true(sensor_intel_lookup(in, ID_B, &info));
	assert_string_equal(info.name, "C2 \"quoted\" \xe6\x97\xa5\xe6\x9c\xac");
	assert_int_equal(info.n_markings, 1);
	assert_string_equal(info.markings[0], TLP_AMBER);
	assert_string_equal(info.created_by, "identity--0c8a3c2e-6b1d-4e7f-9a2b-3c4d5e6f7a8b");
	assert_int_equal(info.valid_from, (rk_time)1735689600 * 1000000);
	/* a second creator and marking list, added after the first */
	assert_int_equal(
	    apply(in,
		  ind(ID_C, "2025-02-01T00:00:00.000Z", "[domain-name:value = 'b.example']",
		      "\"object_marking_refs\":[\"marking-definition--1\",\"" TLP_AMBER "\"],"
		      "\"created_by_ref\":\"identity--2\""),
		  NULL, &ctx),
	    RK_OK);
	assert_true(sensor_intel_lookup(in, ID_C, &info));
	assert_int_equal(info.n_markings, 2);
	assert_string_equal(info.markings[0], "marking-definition--1");
	assert_string_equal(info.markings[1], TLP_AMBER);
	assert_string_equal(info.created_by, "identity--2");
	assert_true(sensor_intel_lookup(in, ID_B, &info));
	assert_int_equal(info.n_markings, 1);
	assert_string_equal(info.created_by, "identity--0c8a3c2e-6b1d-4e7f-9a2b-3c4d5e6f7a8b");
	sensor_intel_free(in);
}

static void test_revocation_and_expiry(void **state)
{
	(void)state;
	sensor_intel *in = sensor_intel_new();
	rk_errctx ctx;
	bool changed;
	rk_errctx_clear(&ctx);
	assert_int_equal(apply(in, ind(ID_A, "2025-02-01T00:00:00.000Z",
				       "[ipv4-addr:value = '198.51.100.1']", NULL),
			       NULL, &ctx),
			 RK_OK);
	assert_int_equal(apply(in, ind(ID_A, "2025-04-01T00:00:00.000Z",
				       "[ipv4-addr:value = '198.51.100.1']", "\"revoked\":true"),
			       &changed, &ctx),
			 RK_OK);
	assert_true(changed);
	/* an older unrevoked copy cannot bring it back */
	assert_int_equal(apply(in, ind(ID_A, "2025-03-01T00:00:00.000Z",
				       "[ipv4-addr:value = '198.51.100.1']", NULL),
			       &changed, &ctx),
			 RK_OK);
	assert_false(changed);
	/* expires at 2025-12-31: gone at NOW, present a year earlier */
	assert_int_equal(apply(in, ind(ID_B, "2025-02-01T00:00:00.000Z",
				       "[ipv4-addr:value = '198.51.100.9']",
				       "\"valid_until\":\"2025-12-31T00:00:00Z\""),
			       NULL, &ctx),
			 RK_OK);
	/* not stix: kept, not built */
	json_t *o = ind(ID_C, "2025-02-01T00:00:00.000Z", "[ipv4-addr:value = '198.51.100.7']", NULL);
	json_object_set_new(o, "pattern_type", json_string("snort"));
	assert_int_equal(apply(in, o, &changed, &ctx), RK_OK);
	assert_true(changed);

	sensor_indicator_info info;
	assert_true(sensor_intel_lookup(in, ID_A, &info));
	assert_true(info.revoked);
	match *m = NULL;
	assert_int_equal(sensor_intel_build(in, NOW, NULL, NULL, &m, &ctx), RK_OK);
	assert_int_equal(hits_v4(m, 0xc6336401), 0);
	assert_int_equal(hits_v4(m, 0xc6336409), 0);
	assert_int_equal(hits_v4(m, 0xc6336407), 0);
	match_free(m);
	assert_int_equal(sensor_intel_build(in, NOW - (rk_time)365 * 86400 * 1000000, NULL, NULL, &m,
					    &ctx),
			 RK_OK);
	assert_int_equal(hits_v4(m, 0xc6336409), 1);
	assert_int_equal(hits_v4(m, 0xc6336401), 0);
	match_free(m);

	sensor_intel_stats st;
	sensor_intel_get_stats(in, &st);
	assert_int_equal(st.indicators, 3);
	assert_int_equal(st.revoked, 1);
	assert_int_equal(st.not_stix, 1);
	sensor_intel_free(in);
}

typedef struct named {
	char id[SENSOR_ID_MAX];
	const match *m;
	size_t n;
} named;

static void name_hit(void *arg, uint32_t handle)
{
	named *n = arg;
	char buf[SENSOR_ID_MAX];
	snprintf(n->id, sizeof n->id, "%s", sensor_ids_get(match_attached(n->m), handle, buf));
	n->n++;
}

static void test_ids_by_handle(void **state)
{
	(void)state;
	static const char *const ids[] = {
		"indicator--0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", /* kept as 16 bytes */
		"indicator--0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4E", /* upper case: text */
		"indicator--0a1b2c3d-4e5f-4A6b-8c7d-9e0f1a2b3c4f", /* one upper: text */
		ID_C,
	};
	sensor_intel *in = sensor_intel_new();
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	for (unsigned i = 0; i < RK_ARRAY_LEN(ids); i++) {
		char pat[64];
		snprintf(pat, sizeof pat, "[ipv4-addr:value = '192.0.2.%u']", i);
		json_t *o = ind(ids[i], "2025-02-01T00:00:00.000Z", pat, NULL);
		if (i == 1) /* not built: takes no handle */
			json_object_set_new(o, "pattern_type", json_string("snort"));
		assert_int_equal(apply(in, o, NULL, &ctx), RK_OK);
	}
	match *m = NULL;
	assert_int_equal(sensor_intel_build(in, NOW, NULL, NULL, &m, &ctx), RK_OK);
	sensor_intel_free(in); /* the ids live with the matcher */
	for (unsigned i = 0; i < RK_ARRAY_LEN(ids); i++) {
		named n = {.m = m};
		assert_int_equal(match_ipv4(m, 0xc0000200 | i, name_hit, &n), i != 1);
		if (i != 1)
			assert_string_equal(n.id, ids[i]);
	}
	char buf[SENSOR_ID_MAX];
	assert_string_equal(sensor_ids_get(match_attached(m), 3, buf), "");
	assert_string_equal(sensor_ids_get(NULL, 0, buf), "");
	match_free(m);
}

static void expect_bad(sensor_intel *in, json_t *o, const char *path)
{
	rk_errctx ctx;
	bool changed = true;
	rk_errctx_clear(&ctx);
	assert_int_equal(apply(in, o, &changed, &ctx), RK_EINVAL);
	assert_false(changed);
	assert_string_equal(ctx.path, path);
	assert_true(ctx.msg[0] != '\0');
}

static void test_bad_objects(void **state)
{
	(void)state;
	sensor_intel *in = sensor_intel_new();
	json_t *o;

	o = ind(ID_A, "2025-02-01T00:00:00.000Z", "[ipv4-addr:value = '1.2.3.4']", NULL);
	json_object_del(o, "pattern");
	expect_bad(in, o, "pattern");
	expect_bad(in, ind(ID_A, "yesterday", "[ipv4-addr:value = '1.2.3.4']", NULL), "modified");
	expect_bad(in, ind("indicator--nope", "2025-02-01T00:00:00.000Z", "x", NULL), "id");
	expect_bad(in, ind(ID_A, "2025-02-01T00:00:00.000Z", "x", "\"revoked\":\"yes\""), "revoked");
	expect_bad(in, ind(ID_A, "2025-02-01T00:00:00.000Z", "x", "\"object_marking_refs\":[\"tlp\"]"),
		   "object_marking_refs[0]");
	expect_bad(in, ind(ID_A, "2025-02-01T00:00:00.000Z", "x",
			   "\"valid_until\":\"2024-01-01T00:00:00Z\""),
		   "valid_until");
	o = ind(ID_A, "2025-02-01T00:00:00.000Z", "x", NULL);
	json_object_set_new(o, "type", json_integer(3));
	expect_bad(in, o, "type");
	/* other types are no error, and change nothing */
	rk_errctx ctx;
	bool changed = true;
	rk_errctx_clear(&ctx);
	o = json_pack("{s:s, s:s}", "type", "malware", "id",
		      "malware--0c8a3c2e-6b1d-4e7f-9a2b-3c4d5e6f7a8b");
	assert_int_equal(apply(in, o, &changed, &ctx), RK_OK);
	assert_false(changed);

	sensor_intel_stats st;
	sensor_intel_get_stats(in, &st);
	assert_int_equal(st.indicators, 0);
	assert_int_equal(st.bad, 6);
	assert_int_equal(st.other_types, 1);
	sensor_intel_free(in);
}

typedef struct {
	size_t index[8];
	char id[8][80];
	char path[8][RK_ERRCTX_PATH];
	size_t n;
} bad_list;

static void on_bad(void *arg, size_t index, const char *id, const rk_errctx *why)
{
	bad_list *b = arg;
	if (b->n < 8) {
		b->index[b->n] = index;
		snprintf(b->id[b->n], sizeof b->id[0], "%s", id);
		snprintf(b->path[b->n], sizeof b->path[0], "%s", why->path);
		b->n++;
	}
}

static void test_bundle_file(void **state)
{
	(void)state;
	char path[] = "/tmp/rk-intel-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f,
		"{\"type\":\"bundle\",\"id\":\"bundle--5b1f0c2e-8d4a-4c6b-9e3f-2a7d1c0b9e84\",\"objects\":["
		"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" ID_A "\","
		"\"created\":\"2025-01-01T00:00:00.000Z\",\"modified\":\"2025-01-01T00:00:00.000Z\","
		"\"pattern\":\"[domain-name:value = 'a.example']\",\"pattern_type\":\"stix\","
		"\"valid_from\":\"2025-01-01T00:00:00Z\"},"
		"{\"type\":\"indicator\",\"id\":\"" ID_B "\",\"created\":\"2025-01-01T00:00:00.000Z\"},"
		"[1,2],"
		"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" ID_C "\","
		"\"created\":\"2025-01-01T00:00:00.000Z\",\"modified\":\"2025-01-01T00:00:00.000Z\","
		"\"pattern\":\"[domain-name:value = \",\"pattern_type\":\"stix\","
		"\"valid_from\":\"2025-01-01T00:00:00Z\"}"
		"]}\n");
	fclose(f);

	sensor_intel *in = sensor_intel_new();
	bad_list bad = {0};
	size_t n_bad = 0;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(sensor_intel_load_bundle(in, path, on_bad, &bad, &n_bad, &ctx), RK_OK);
	assert_int_equal(n_bad, 2);
	assert_int_equal(bad.n, 2);
	assert_int_equal(bad.index[0], 1);
	assert_string_equal(bad.id[0], ID_B);
	assert_string_equal(bad.path[0], "modified");
	assert_int_equal(bad.index[1], 2);
	assert_string_equal(bad.id[1], "");

	/* the pattern that does not compile is reported at build, by id */
	match *m = NULL;
	assert_int_equal(sensor_intel_build(in, NOW, NULL, NULL, &m, &ctx), RK_OK);
	assert_int_equal(match_domain(m, "a.example", 9, NULL, NULL), 1);
	match_stats ms;
	match_get_stats(m, &ms);
	assert_int_equal(ms.added, 2);
	assert_int_equal(ms.rejected, 1);
	match_free(m);

	/* not JSON at all */
	f = fopen(path, "w");
	fputs("{\"objects\": [", f);
	fclose(f);
	rk_errctx_clear(&ctx);
	assert_int_equal(sensor_intel_load_bundle(in, path, NULL, NULL, NULL, &ctx), RK_EPARSE);
	assert_string_equal(ctx.path, path);
	unlink(path);
	rk_errctx_clear(&ctx);
	assert_int_equal(sensor_intel_load_bundle(in, path, NULL, NULL, NULL, &ctx), RK_EIO);
	assert_non_null(strstr(ctx.path, path));
	sensor_intel_free(in);
}

/* The flat scanner that reads simple objects in place must agree with
 * jansson's path on every object, simple or not. */
static void test_fast_path_agrees(void **state)
{
	(void)state;
#define HEAD "\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" ID_A "\","
#define TIMES "\"created\":\"2025-01-01T00:00:00.000Z\",\"modified\":\"2025-01-01T00:00:00.000Z\","
#define PAT "\"pattern\":\"[ipv4-addr:value = '198.51.100.1']\",\"pattern_type\":\"stix\","
#define FROM "\"valid_from\":\"2025-01-01T00:00:00Z\""
	const char *objs[] = {
		"{" HEAD TIMES PAT FROM "}",
		" {\n " HEAD TIMES PAT FROM ", \"name\" : \"plain\", \"revoked\": false }\n",
		"{" HEAD TIMES PAT FROM ",\"name\":\"esc\\\"aped\",\"confidence\":85}",
		"{" HEAD TIMES PAT FROM ",\"name\":\"\xe6\x97\xa5\xe6\x9c\xac\"}",
		"{" HEAD TIMES PAT FROM ",\"external_references\":[{\"source_name\":\"x\"}]}",
		"{" HEAD TIMES PAT FROM ",\"object_marking_refs\":[\"" TLP_AMBER "\"],\"revoked\":true}",
		"{" HEAD TIMES PAT FROM ",\"object_marking_refs\":[]}",
		"{" HEAD TIMES PAT FROM ",\"object_marking_refs\":[\"tlp\"]}",
		"{" HEAD TIMES PAT FROM ",\"object_marking_refs\":\"" TLP_AMBER "\"}",
		"{" HEAD TIMES PAT FROM ",\"revoked\":1}",
		"{" HEAD TIMES PAT FROM ",\"name\":7}",
		"{" HEAD TIMES PAT FROM ",\"name\":\"a\",\"name\":\"b\"}",
		"{" HEAD TIMES PAT FROM ",\"x\":1,\"x\":2}",
		"{" HEAD TIMES PAT FROM ",\"n\":01}",
		"{" HEAD TIMES PAT FROM ",\"n\":123456789012345678901234567890}",
		"{" HEAD TIMES PAT FROM ",\"n\":-1.5,\"m\":null,\"k\":[1]}",
		"{" HEAD TIMES PAT "\"valid_from\":\"soon\"}",
		"{" HEAD TIMES "\"pattern_type\":\"stix\"," FROM "}",
		"{\"type\":\"malware\",\"id\":\"malware--0c8a3c2e-6b1d-4e7f-9a2b-3c4d5e6f7a8b\"}",
		"{\"type\":\"indicator\"}",
		"{}",
		"{" HEAD TIMES PAT FROM ",\"bad\":\"\xff\"}",
	};
	char path[] = "/tmp/rk-intel-fast-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	for (size_t i = 0; i < RK_ARRAY_LEN(objs); i++) {
		FILE *f = fopen(path, "w");
		fprintf(f, "{\"type\":\"bundle\",\"id\":\"bundle--5b1f0c2e-8d4a-4c6b-9e3f-2a7d1c0b9e84\","
			   "\"objects\":[%s]}",
			objs[i]);
		fclose(f);
		sensor_intel *fast = sensor_intel_new(), *slow = sensor_intel_new();
		bad_list bad = {0};
		size_t n_bad = 0;
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		rk_err ferr = sensor_intel_load_bundle(fast, path, on_bad, &bad, &n_bad, &ctx);
		json_t *o = json_loads(objs[i], JSON_REJECT_DUPLICATES, NULL);
		if (ferr == RK_EPARSE) {
			/* the whole file is not JSON: jansson refuses the object too */
			assert_null(o);
			sensor_intel_free(fast);
			sensor_intel_free(slow);
			continue;
		}
		if (ferr != RK_OK)
			fail_msg("object %zu: %s", i, rk_strerror(ferr));
		rk_errctx sctx;
		rk_errctx_clear(&sctx);
		rk_err serr = o ? sensor_intel_apply(slow, o, NULL, &sctx) : RK_EPARSE;
		json_decref(o);
		sensor_intel_stats a, b;
		sensor_intel_get_stats(fast, &a);
		sensor_intel_get_stats(slow, &b);
		if (serr == RK_EPARSE) {
			assert_int_equal(n_bad, 1); /* not JSON to jansson either */
		} else {
			if (n_bad != (serr != RK_OK))
				fail_msg("object %zu: %zu bad by the scanner, %s by jansson", i, n_bad,
					 rk_strerror(serr));
			assert_int_equal(a.indicators, b.indicators);
			assert_int_equal(a.revoked, b.revoked);
			assert_int_equal(a.bad, b.bad);
			assert_int_equal(a.other_types, b.other_types);
			if (serr)
				assert_string_equal(bad.path[0], sctx.path);
		}
		sensor_indicator_info x, y;
		bool fx = sensor_intel_lookup(fast, ID_A, &x), fy = sensor_intel_lookup(slow, ID_A, &y);
		assert_int_equal(fx, fy);
		if (fx) {
			assert_string_equal(x.name, y.name);
			assert_int_equal(x.n_markings, y.n_markings);
			assert_int_equal(x.revoked, y.revoked);
			assert_int_equal(x.valid_from, y.valid_from);
		}
		sensor_intel_free(fast);
		sensor_intel_free(slow);
	}
	unlink(path);
}

/* ------------------------------------------------------------ window edges */

/* Every refusal heard, in order. */
typedef struct {
	rk_buf text; /* "index id path\n" per refusal */
	size_t n;
} report_log;

static void on_report(void *arg, size_t index, const char *id, const rk_errctx *why)
{
	report_log *r = arg;
	assert_int_equal(rk_buf_printf(&r->text, "%zu %s %s\n", index, id, why->path), RK_OK);
	r->n++;
}

#define EDGE_OBJECTS 60

static void edge_id(char out[64], size_t i, bool upper)
{
	snprintf(out, 64,
		 upper ? "indicator--%08zX-ABCD-4EF0-8A00-%012zX"
		       : "indicator--%08zx-abcd-4ef0-8a00-%012zx",
		 i * 2654435761u % 0xffffffffu, i);
}

/* A bundle of every kind of element the loader meets, written with and
 * without white space, some far larger than a small window. */
static void edge_bundle(rk_buf *b)
{
	char id[64];
	rk_buf_init(b);
	assert_int_equal(
	    rk_buf_puts(
		b,
		"{ \"type\" : \"bundle\", \"id\":\"bundle--5b1f0c2e-8d4a-4c6b-9e3f-2a7d1c0b9e84\","
		"\n \"objects\" :\n [ "),
	    RK_OK);
	for (size_t i = 0; i < EDGE_OBJECTS; i++) {
		if (i)
			assert_int_equal(rk_buf_puts(b, i % 3 ? "," : " ,\n  "), RK_OK);
		edge_id(id, i % 50, i % 7 == 4);
		const char *mod = i >= 50 ? "2025-06-01T00:00:00.5Z" : "2025-01-01T00:00:00.000Z";
		switch (i % 10) {
		case 0: /* flat, with creator, markings and name */
			rk_buf_printf(
			    b,
			    "{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"%s\","
			    "\"created\":\"2025-01-01T00:00:00.000Z\",\"modified\":\"%s\","
			    "\"pattern\":\"[ipv4-addr:value = "
			    "'198.51.100.%zu']\",\"pattern_type\":\"stix\","
			    "\"valid_from\":\"2025-01-01T00:00:00Z\",\"name\":\"n%zu\","
			    "\"created_by_ref\":\"identity--0c8a3c2e-6b1d-4e7f-9a2b-3c4d5e6f7a8b\","
			    "\"object_marking_refs\":[\"" TLP_AMBER
			    "\",\"marking-definition--%zu\"]}",
			    id, mod, i, i, i % 3);
			break;
		case 1: /* escapes: jansson's path */
			rk_buf_printf(
			    b,
			    "{\"type\":\"indicator\",\"id\":\"%s\",\"created\":\"2025-01-01T00:00:"
			    "00Z\","
			    "\"modified\":\"%s\",\"pattern\":\"[domain-name:value = "
			    "'x%zu.example']\","
			    "\"pattern_type\":\"stix\",\"valid_from\":\"2025-01-01T00:00:00Z\","
			    "\"name\":\"esc\\\"aped \\u00e9 %zu\"}",
			    id, mod, i, i);
			break;
		case 2:
			rk_buf_printf(b,
				      "{\"type\":\"malware\",\"id\":\"malware--0c8a3c2e-6b1d-4e7f-"
				      "9a2b-3c4d5e6f7a8b\","
				      "\"name\":\"m%zu\",\"is_family\":false}",
				      i);
			break;
		case 3: /* refused: no modified */
			rk_buf_printf(b,
				      "{\"type\":\"indicator\",\"id\":\"%s\",\"created\":\"2025-01-"
				      "01T00:00:00Z\"}",
				      id);
			break;
		case 4: /* white space everywhere, valid_until, revoked, a number */
			rk_buf_printf(
			    b,
			    "{ \"type\" : \"indicator\" ,\n\t\"id\" : \"%s\" , \"created\" : "
			    "\"2025-01-01T00:00:00Z\" , \"modified\" : \"%s\" , \"confidence\" : "
			    "85 ,"
			    " \"pattern\" : \"[url:value = 'http://x%zu.example/']\" , "
			    "\"pattern_type\" : \"stix\" ,"
			    " \"valid_from\" : \"2025-01-01T00:00:00Z\" , \"valid_until\" : "
			    "\"2027-01-01T00:00:00.123456789Z\" , \"revoked\" : %s }",
			    id, mod, i, i % 20 == 4 ? "true" : "false");
			break;
		case 5: /* kept, never built */
			rk_buf_printf(b,
				      "{\"type\":\"indicator\",\"id\":\"%s\",\"created\":\"2025-01-"
				      "01T00:00:00Z\","
				      "\"modified\":\"%s\",\"pattern\":\"title:x%zu\",\"pattern_"
				      "type\":\"sigma\","
				      "\"valid_from\":\"2025-01-01T00:00:00Z\"}",
				      id, mod, i);
			break;
		case 6: /* not an object */
			assert_int_equal(rk_buf_puts(b, "[1, {\"a\": [2, 3]}]"), RK_OK);
			break;
		case 7: { /* larger than a small window, flat and escaped */
			rk_buf_printf(
			    b,
			    "{\"type\":\"indicator\",\"id\":\"%s\",\"created\":\"2025-01-01T00:00:"
			    "00Z\","
			    "\"modified\":\"%s\",\"pattern\":\"[domain-name:value = "
			    "'big%zu.example'] OR "
			    "[domain-name:value = 'other%zu.example']\",\"pattern_type\":\"stix\","
			    "\"valid_from\":\"2025-01-01T00:00:00Z\",\"description\":\"",
			    id, mod, i, i);
			for (size_t k = 0; k < 300 * (i % 20 == 7 ? 40 : 1); k++)
				rk_buf_puts(b, i % 20 == 7 ? "\\n" : "d");
			rk_buf_puts(b, "\"}");
			break;
		}
		case 8: /* bad timestamp */
			rk_buf_printf(
			    b,
			    "{\"type\":\"indicator\",\"id\":\"%s\",\"created\":\"2025-01-01T00:00:"
			    "00Z\","
			    "\"modified\":\"2025-13-01T00:00:00Z\",\"pattern\":\"[ipv4-addr:value "
			    "= '1.2.3.4']\","
			    "\"pattern_type\":\"stix\",\"valid_from\":\"2025-01-01T00:00:00Z\"}",
			    id);
			break;
		default: /* an indicator without its type */
			rk_buf_printf(b, "{\"id\":\"%s\"}", id);
			break;
		}
	}
	assert_int_equal(rk_buf_puts(b, " ] , \"trailing\": [1]}\n"), RK_OK);
}

/* What one load gave: counts, refusals and each id's copy-out. */
typedef struct {
	sensor_intel_stats st;
	size_t n_bad;
	report_log log;
	rk_buf lookups;
} load_result;

static void describe(sensor_intel *in, load_result *r)
{
	char id[64];
	sensor_intel_get_stats(in, &r->st);
	rk_buf_init(&r->lookups);
	for (size_t i = 0; i < 50; i++) {
		for (int upper = 0; upper < 2; upper++) {
			sensor_indicator_info info;
			edge_id(id, i, upper);
			if (!sensor_intel_lookup(in, id, &info)) {
				rk_buf_printf(&r->lookups, "%s -\n", id);
				continue;
			}
			rk_buf_printf(&r->lookups, "%s [%s] [%s] %zu %lld %lld %lld %d", id,
				      info.name, info.created_by, info.n_markings,
				      (long long)info.modified, (long long)info.valid_from,
				      (long long)info.valid_until, info.revoked);
			for (size_t k = 0; k < info.n_markings; k++)
				rk_buf_printf(&r->lookups, " %s", info.markings[k]);
			rk_buf_puts(&r->lookups, "\n");
		}
	}
}

static void assert_same(const load_result *a, const load_result *b)
{
	assert_memory_equal(&a->st, &b->st, sizeof a->st);
	assert_int_equal(a->n_bad, b->n_bad);
	assert_int_equal(a->log.n, b->log.n);
	assert_string_equal(a->log.text.data ? a->log.text.data : "",
			    b->log.text.data ? b->log.text.data : "");
	assert_string_equal(a->lookups.data, b->lookups.data);
}

static void result_cleanup(load_result *r)
{
	rk_buf_cleanup(&r->log.text);
	rk_buf_cleanup(&r->lookups);
}

static void test_window_edges(void **state)
{
	(void)state;
	rk_buf text;
	edge_bundle(&text);
	char path[] = "/tmp/rk-intel-edge-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text.data, text.len), (ssize_t)text.len);
	close(fd);

	/* each object applied on its own through jansson */
	load_result ref = {0};
	sensor_intel *in = sensor_intel_new();
	json_t *doc = json_loads(text.data, 0, NULL);
	assert_non_null(doc);
	const json_t *objs = json_object_get(doc, "objects");
	for (size_t i = 0; i < json_array_size(objs); i++) {
		rk_errctx why;
		rk_errctx_clear(&why);
		const json_t *o = json_array_get(objs, i);
		if (sensor_intel_apply(in, o, NULL, &why) != RK_OK) {
			const json_t *id = json_object_get(o, "id");
			on_report(&ref.log, i, json_is_string(id) ? json_string_value(id) : "",
				  &why);
			ref.n_bad++;
		}
	}
	json_decref(doc);
	describe(in, &ref);
	sensor_intel_free(in);
	assert_int_equal(ref.st.indicators, 26);
	assert_true(ref.st.applied > ref.st.indicators && ref.n_bad > 0);

	/* the text in memory, then the file through windows of many sizes */
	static const size_t windows[] = {64, 65, 100, 127, 128, 300, 1000, 4096, 0};
	for (size_t w = 0; w <= RK_ARRAY_LEN(windows); w++) {
		load_result got = {0};
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		in = sensor_intel_new();
		if (w == RK_ARRAY_LEN(windows)) {
			char *copy = strdup(text.data);
			assert_int_equal(sensor_intel_load_text(in, copy, text.len, "mem",
								on_report, &got.log, &got.n_bad,
								&ctx),
					 RK_OK);
			free(copy);
		} else {
			if (windows[w])
				sensor_intel_set_window(in, windows[w]);
			assert_int_equal(sensor_intel_load_bundle(in, path, on_report, &got.log,
								  &got.n_bad, &ctx),
					 RK_OK);
		}
		describe(in, &got);
		assert_same(&ref, &got);

		/* the same again: all stale, nothing changes */
		sensor_intel_stats before = got.st;
		load_result again = {0};
		assert_int_equal(
		    sensor_intel_load_bundle(in, path, on_report, &again.log, &again.n_bad, &ctx),
		    RK_OK);
		describe(in, &again);
		assert_string_equal(again.lookups.data, got.lookups.data);
		assert_int_equal(again.st.indicators, before.indicators);
		assert_int_equal(again.st.applied, before.applied);
		assert_int_equal(again.st.stale, before.stale + before.applied);

		/* ids keep their case: upper and lower case are two indicators */
		match *m = NULL;
		assert_int_equal(sensor_intel_build(in, NOW, NULL, NULL, &m, &ctx), RK_OK);
		match_free(m);
		sensor_intel_free(in);
		result_cleanup(&got);
		result_cleanup(&again);
	}
	result_cleanup(&ref);

	/* cut off inside the objects array: nothing changes, nothing reported */
	in = sensor_intel_new();
	load_result whole = {0};
	assert_int_equal(sensor_intel_load_bundle(in, path, NULL, NULL, NULL, NULL), RK_OK);
	describe(in, &whole);
	const char *cut = strstr(text.data, "2025-06-01");
	assert_non_null(cut);
	FILE *f = fopen(path, "w");
	fwrite(text.data, 1, (size_t)(cut - text.data) + 100, f);
	fclose(f);
	for (size_t w = 0; w < 3; w++) {
		load_result after = {0};
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		sensor_intel_set_window(in, w == 0 ? 64 : w == 1 ? 1000 : SENSOR_INTEL_WINDOW);
		assert_int_equal(
		    sensor_intel_load_bundle(in, path, on_report, &after.log, &after.n_bad, &ctx),
		    RK_EPARSE);
		assert_string_equal(ctx.path, path);
		describe(in, &after);
		assert_int_equal(after.log.n, 0);
		assert_memory_equal(&after.st, &whole.st, sizeof after.st);
		assert_string_equal(after.lookups.data, whole.lookups.data);
		result_cleanup(&after);
	}
	result_cleanup(&whole);
	sensor_intel_free(in);
	unlink(path);
	rk_buf_cleanup(&text);
}

/* ------------------------------------------------------------ two readers */

/* Loads path into a new set with `threads` readers through `window`
 * bytes (0: the default); *err is the load's result, r what it gave, and
 * the split counts are added to kept and dropped. */
static sensor_intel *load_with(const char *path, unsigned threads, size_t window, load_result *r,
			       rk_err *err, rk_errctx *ctx, size_t *kept, size_t *dropped)
{
	sensor_intel *in = sensor_intel_new();
	assert_non_null(in);
	sensor_intel_set_load_threads(in, threads);
	if (window)
		sensor_intel_set_window(in, window);
	rk_errctx_clear(ctx);
	*err = sensor_intel_load_bundle(in, path, on_report, &r->log, &r->n_bad, ctx);
	describe(in, r);
	size_t k, d;
	sensor_intel_split_counts(in, &k, &d);
	*kept += k;
	*dropped += d;
	return in;
}

/* One reader and two read the file alike, through windows of many sizes;
 * the split counts summed over them. */
static void assert_split_same(const char *path, size_t *kept, size_t *dropped)
{
	static const size_t windows[] = {64, 100, 300, 1000, 4096, 0};
	load_result one = {0};
	rk_errctx ctx1, ctx2;
	rk_err err1, err2;
	size_t none = 0;
	sensor_intel *in = load_with(path, 1, 0, &one, &err1, &ctx1, &none, &none);
	assert_int_equal(none, 0);
	sensor_intel_free(in);
	for (size_t w = 0; w < RK_ARRAY_LEN(windows); w++) {
		load_result two = {0};
		in = load_with(path, 2, windows[w], &two, &err2, &ctx2, kept, dropped);
		assert_int_equal(err2, err1);
		assert_string_equal(ctx2.path, ctx1.path);
		assert_string_equal(ctx2.msg, ctx1.msg);
		assert_same(&one, &two);
		sensor_intel_free(in);
		result_cleanup(&two);
	}
	result_cleanup(&one);
}

enum { SPLIT_PLAIN, SPLIT_DECOY, SPLIT_NESTED, SPLIT_MALFORMED, SPLIT_HUGE };

/* 40 indicators with versions of three ids in both halves (a later one
 * that wins, an equal one that is stale, an older one that is stale) and
 * a refused one late in the array; the variant puts a long string full of
 * "},{" (DECOY) or a list of objects (NESTED) across the middle, breaks
 * the JSON near the end (MALFORMED) or makes every object huge (HUGE). */
static void split_bundle(rk_buf *b, int variant)
{
	char id[64];
	rk_buf_init(b);
	rk_buf_puts(b,
		    "{\"type\":\"bundle\",\"id\":\"bundle--5b1f0c2e-8d4a-4c6b-9e3f-2a7d1c0b9e84\","
		    "\"objects\":[\n");
	static const struct {
		size_t id;
		const char *modified, *name;
	} early[] = {{40, "2025-02-01T00:00:00Z", "early-old"},
		     {41, "2025-03-01T00:00:00Z", "first-equal"},
		     {42, "2025-05-01T00:00:00Z", "early-new"}},
	  late[] = {{40, "2025-04-01T00:00:00Z", "late-new"},
		    {41, "2025-03-01T00:00:00Z", "second-equal"},
		    {42, "2025-01-01T00:00:00Z", "late-old"}};
	for (size_t i = 0; i < 46; i++) {
		size_t k = i < 3 ? early[i].id : i < 43 ? i - 3 : late[i - 43].id;
		const char *mod = i < 3	   ? early[i].modified
				  : i < 43 ? "2025-02-01T00:00:00Z"
					   : late[i - 43].modified;
		edge_id(id, k, false);
		if (i)
			rk_buf_puts(b, i % 2 ? "," : " ,\n ");
		if (i == 40) { /* refused late: a bad timestamp */
			edge_id(id, 43, false);
			rk_buf_printf(
			    b,
			    "{\"type\":\"indicator\",\"id\":\"%s\",\"created\":\"2025-01-01T00:00:"
			    "00Z\","
			    "\"modified\":\"2025-13-01T00:00:00Z\",\"pattern\":\"[ipv4-addr:value "
			    "= '1.2.3.4']\","
			    "\"pattern_type\":\"stix\",\"valid_from\":\"2025-01-01T00:00:00Z\"}",
			    id);
			continue;
		}
		if (i == 44 && variant == SPLIT_MALFORMED) {
			rk_buf_puts(b, "{\"type\":\"indicator\",\"id\":1,]");
			continue;
		}
		rk_buf_printf(b,
			      "{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"%s\","
			      "\"created\":\"2025-01-01T00:00:00Z\",\"modified\":\"%s\","
			      "\"pattern\":\"[ipv4-addr:value = "
			      "'198.51.100.%zu']\",\"pattern_type\":\"stix\","
			      "\"valid_from\":\"2025-01-01T00:00:00Z\",\"name\":\"%s\"",
			      id, mod, i,
			      i < 3    ? early[i].name
			      : i < 43 ? "filler"
				       : late[i - 43].name);
		if (i == 21 && variant == SPLIT_DECOY) {
			rk_buf_puts(b, ",\"description\":\"");
			for (int r = 0; r < 900; r++)
				rk_buf_puts(b, "},{\\\"type\\\":\\\"indicator\\\"");
			rk_buf_puts(b, "\"");
		}
		if (i == 21 && variant == SPLIT_NESTED) {
			rk_buf_puts(b, ",\"external_references\":[");
			for (int r = 0; r < 600; r++)
				rk_buf_printf(b, "%s{\"source_name\":\"s%d\"}", r ? "," : "", r);
			rk_buf_puts(b, "]");
		}
		if (variant == SPLIT_HUGE) {
			rk_buf_puts(b, ",\"description\":\"");
			for (int r = 0; r < 300; r++)
				rk_buf_puts(b, "a long and dull text ");
			rk_buf_puts(b, "\"");
		}
		rk_buf_puts(b, "}");
	}
	rk_buf_puts(b, "\n]}\n");
}

static void write_file(const char *path, const rk_buf *b)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
	fclose(f);
}

static void test_split(void **state)
{
	(void)state;
	char path[] = "/tmp/rk-intel-split-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	rk_buf text;
	size_t kept = 0, dropped = 0;

	/* the window-edge bundle: versions, refusals, escapes, other types */
	edge_bundle(&text);
	write_file(path, &text);
	assert_split_same(path, &kept, &dropped);
	assert_true(kept + dropped > 0); /* its huge objects make the second give up */
	rk_buf_cleanup(&text);

	/* versions of one id in both halves, exactly as one reader */
	split_bundle(&text, SPLIT_PLAIN);
	write_file(path, &text);
	kept = dropped = 0;
	assert_split_same(path, &kept, &dropped);
	assert_true(kept >= 3);
	rk_errctx ctx;
	rk_err err;
	load_result r = {0};
	sensor_intel *in = load_with(path, 2, 1000, &r, &err, &ctx, &kept, &dropped);
	assert_int_equal(err, RK_OK);
	sensor_indicator_info info;
	char id[64];
	edge_id(id, 40, false);
	assert_true(sensor_intel_lookup(in, id, &info));
	assert_string_equal(info.name, "late-new");
	edge_id(id, 41, false);
	assert_true(sensor_intel_lookup(in, id, &info));
	assert_string_equal(info.name, "first-equal");
	edge_id(id, 42, false);
	assert_true(sensor_intel_lookup(in, id, &info));
	assert_string_equal(info.name, "early-new");
	assert_int_equal(r.n_bad, 1);
	edge_id(id, 43, false);
	char want[160];
	snprintf(want, sizeof want, "40 %s modified\n", id);
	assert_string_equal(r.log.text.data, want);
	assert_int_equal(r.st.indicators, 42); /* 39 fillers (one refused), 3 versioned */
	assert_int_equal(r.st.stale, 2);
	sensor_intel_free(in);
	result_cleanup(&r);
	rk_buf_cleanup(&text);

	/* the middle inside a string that looks like an element start, and
	 * inside a list of objects: the guess is dropped */
	for (int v = SPLIT_DECOY; v <= SPLIT_NESTED; v++) {
		split_bundle(&text, v);
		/* the middle of the file is inside the string or the list */
		const char *from =
		    strstr(text.data, v == SPLIT_DECOY ? "},{\\\"type" : "{\"source_name");
		assert_non_null(from);
		const char *to = strstr(from, v == SPLIT_DECOY ? "\\\"\"}" : "}]");
		assert_non_null(to);
		assert_true((size_t)(from - text.data) < text.len / 2);
		assert_true((size_t)(to - text.data) > text.len / 2);
		write_file(path, &text);
		kept = dropped = 0;
		assert_split_same(path, &kept, &dropped);
		assert_true(dropped >= 3);
		rk_buf_cleanup(&text);
	}

	/* malformed in the second half: nothing is committed */
	split_bundle(&text, SPLIT_MALFORMED);
	write_file(path, &text);
	kept = dropped = 0;
	assert_split_same(path, &kept, &dropped);
	assert_true(kept >= 2); /* the windows that hold what follows the bad element */
	r = (load_result){0};
	in = load_with(path, 2, 1000, &r, &err, &ctx, &kept, &dropped);
	assert_int_equal(err, RK_EPARSE);
	assert_int_equal(r.st.indicators, 0);
	assert_int_equal(r.log.n, 0);
	sensor_intel_free(in);
	result_cleanup(&r);
	rk_buf_cleanup(&text);

	/* a few huge objects, larger than the windows tried: the second
	 * reader gives up rather than grow its window, the first reads on */
	split_bundle(&text, SPLIT_HUGE);
	write_file(path, &text);
	kept = dropped = 0;
	assert_split_same(path, &kept, &dropped);
	assert_int_equal(kept, 0);
	assert_true(dropped >= 1); /* windows too small to guess from do not split */
	rk_buf_cleanup(&text);

	/* a tiny bundle is read by one reader */
	static const char tiny[] = "{\"objects\":[{\"type\":\"malware\"}]}";
	rk_buf_init(&text);
	rk_buf_puts(&text, tiny);
	write_file(path, &text);
	kept = dropped = 0;
	r = (load_result){0};
	in = load_with(path, 2, 0, &r, &err, &ctx, &kept, &dropped);
	assert_int_equal(err, RK_OK);
	assert_int_equal(kept + dropped, 0);
	assert_int_equal(r.st.other_types, 1);
	sensor_intel_free(in);
	result_cleanup(&r);
	rk_buf_cleanup(&text);
	unlink(path);
}

/* An id's hex digits keep their case through the set and the matcher. */
static void test_id_case(void **state)
{
	(void)state;
	static const char *upper = "indicator--8E2E2D2B-17d4-4CBF-938f-98EE46B3CD3F";
	sensor_intel *in = sensor_intel_new();
	sensor_indicator_info info;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(apply(in,
			       ind(upper, "2025-02-01T00:00:00.000Z",
				   "[ipv4-addr:value = '198.51.100.9']", "\"name\":\"upper\""),
			       NULL, &ctx),
			 RK_OK);
	assert_int_equal(apply(in,
			       ind(ID_A, "2025-02-01T00:00:00.000Z",
				   "[ipv4-addr:value = '198.51.100.8']", "\"name\":\"lower\""),
			       NULL, &ctx),
			 RK_OK);
	assert_true(sensor_intel_lookup(in, upper, &info));
	assert_string_equal(info.name, "upper");
	assert_true(sensor_intel_lookup(in, ID_A, &info));
	assert_string_equal(info.name, "lower");
	assert_false(
	    sensor_intel_lookup(in, "indicator--8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F", &info));
	assert_false(sensor_intel_lookup(in, "indicator--8e2e2d2b", &info));
	assert_false(sensor_intel_lookup(in, "", &info));
	match *m = NULL;
	assert_int_equal(sensor_intel_build(in, NOW, NULL, NULL, &m, &ctx), RK_OK);
	named seen = {.m = m};
	assert_int_equal(match_ipv4(m, 0xc6336409, name_hit, &seen), 1);
	assert_string_equal(seen.id, upper);
	match_free(m);
	sensor_intel_free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_markings_and_name),
		cmocka_unit_test(test_revocation_and_expiry),
		cmocka_unit_test(test_bad_objects),
		cmocka_unit_test(test_bundle_file),
		cmocka_unit_test(test_fast_path_agrees),
		cmocka_unit_test(test_ids_by_handle),
		cmocka_unit_test(test_window_edges),
		cmocka_unit_test(test_id_case),
		cmocka_unit_test(test_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
