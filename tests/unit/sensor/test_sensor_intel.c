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
 * byte, and outlive the set they came from.
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
