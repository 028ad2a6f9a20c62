/*
 * test_stix_rules.c: the rules that are easy to get subtly wrong, tested
 * one by one: identifier and type-name syntax, timestamp precision and
 * ordering, granular-marking selectors, TLP identifiers in both
 * generations, address syntax, object facts, warnings, and path building.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "stix.h"
#include "stix_int.h"

static json_t *
parse(const char *text)
{
	json_t *j = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(rk_json_parse(text, strlen(text), RK_MAX_JSON_DEPTH, &j,
				       &ctx),
			 RK_OK);
	return j;
}

#define IND_HEAD                                                          \
	"{\"type\":\"indicator\",\"spec_version\":\"2.1\","                \
	"\"id\":\"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\","      \
	"\"created\":\"2024-01-01T00:00:00.000Z\","                       \
	"\"modified\":\"2024-01-01T00:00:00.000Z\","                      \
	"\"pattern\":\"[url:value = 'http://x.example/']\","              \
	"\"pattern_type\":\"stix\",\"valid_from\":\"2024-01-01T00:00:00Z\""

static rk_err
check(const char *text, rk_errctx *ctx)
{
	json_t *j = parse(text);
	rk_errctx_clear(ctx);
	rk_err e = stix_validate_object(j, "objects[3]", NULL, ctx);
	json_decref(j);
	return e;
}

static void
test_ids(void **state)
{
	(void)state;
	assert_true(stix_id_valid("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", NULL));
	assert_true(stix_id_valid("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "indicator"));
	assert_false(stix_id_valid("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "indicato"));
	assert_false(stix_id_valid("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "indicators"));
	/* version nibble 0 and variant 0xxx are not RFC 4122 */
	assert_false(stix_id_valid("indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f", NULL));
	assert_false(stix_id_valid("indicator--8e2e2d2b-17d4-4cbf-738f-98ee46b3cd3f", NULL));
	assert_false(stix_id_valid("indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", NULL));
	assert_false(stix_id_valid("--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", NULL));
	assert_false(stix_id_valid("Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", NULL));
	assert_false(stix_id_valid("x---8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", NULL));
	assert_false(stix_id_valid("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3", NULL));
	assert_false(stix_id_valid("", NULL));
	assert_false(stix_id_valid(NULL, NULL));
	/* TLP identifiers are ordinary v4 UUIDs */
	assert_true(stix_id_valid("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "marking-definition"));
}

static void
test_type_names(void **state)
{
	(void)state;
	assert_true(stix_type_name_valid("indicator"));
	assert_true(stix_type_name_valid("x-acme-widget"));
	assert_true(stix_type_name_valid("abc"));
	assert_false(stix_type_name_valid("ab"));
	assert_false(stix_type_name_valid("1abc"));
	assert_false(stix_type_name_valid("-abc"));
	assert_false(stix_type_name_valid("a--b"));
	assert_false(stix_type_name_valid("a_b_c"));
	assert_false(stix_type_name_valid("ABC"));
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(stix_type_name_valid(big));
	big[250] = '\0';
	assert_true(stix_type_name_valid(big));

	assert_int_equal(stix_type_kind("indicator"), STIX_KIND_SDO);
	assert_int_equal(stix_type_kind("sighting"), STIX_KIND_SRO);
	assert_int_equal(stix_type_kind("ipv4-addr"), STIX_KIND_SCO);
	assert_int_equal(stix_type_kind("marking-definition"), STIX_KIND_META);
	assert_int_equal(stix_type_kind("bundle"), STIX_KIND_BUNDLE);
	assert_int_equal(stix_type_kind("x-acme-widget"), STIX_KIND_CUSTOM);
}

static void
test_timestamps(void **state)
{
	(void)state;
	rk_errctx ctx;
	assert_int_equal(check(IND_HEAD "}", &ctx), RK_OK);
	/* valid_until equal to valid_from is not "later" */
	assert_int_equal(check(IND_HEAD ",\"valid_until\":\"2024-01-01T00:00:00.000000Z\"}", &ctx), RK_ESTIX);
	assert_string_equal(ctx.path, "objects[3].valid_until");
	assert_string_equal(ctx.msg, "must be later than valid_from");
	/* one microsecond later is */
	assert_int_equal(check(IND_HEAD ",\"valid_until\":\"2024-01-01T00:00:00.000001Z\"}", &ctx), RK_OK);
	/* leap day, leap second, more than millisecond precision */
	assert_int_equal(check(IND_HEAD ",\"valid_until\":\"2024-02-29T23:59:60.1234567Z\"}", &ctx), RK_OK);
	assert_int_equal(check(IND_HEAD ",\"valid_until\":\"2023-02-29T00:00:00Z\"}", &ctx), RK_ESTIX);
	assert_string_equal(ctx.msg, "not an RFC 3339 timestamp");
	/* lowercase z and t, offsets: not STIX */
	assert_int_equal(check(IND_HEAD ",\"valid_until\":\"2024-03-01t00:00:00z\"}", &ctx), RK_ESTIX);
	assert_int_equal(check(IND_HEAD ",\"valid_until\":\"2024-03-01T00:00:00+00:00\"}", &ctx), RK_ESTIX);
	assert_int_equal(check(IND_HEAD ",\"valid_until\":20240301}", &ctx), RK_ESTIX);
	assert_string_equal(ctx.path, "objects[3].valid_until");
}

static const char *
created_with(const char *ts, char *buf, size_t n)
{
	snprintf(buf, n,
		 "{\"type\":\"tool\",\"spec_version\":\"2.1\","
		 "\"id\":\"tool--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\","
		 "\"created\":\"%s\",\"modified\":\"2030-01-01T00:00:00.000Z\","
		 "\"name\":\"t\"}",
		 ts);
	return buf;
}

static void
test_created_precision(void **state)
{
	(void)state;
	rk_errctx ctx;
	char b[512];
	assert_int_equal(check(created_with("2024-01-01T00:00:00.000Z", b, sizeof(b)), &ctx), RK_OK);
	assert_int_equal(check(created_with("2024-01-01T00:00:00.123456Z", b, sizeof(b)), &ctx), RK_OK);
	assert_int_equal(check(created_with("2024-01-01T00:00:00.12Z", b, sizeof(b)), &ctx), RK_ESTIX);
	assert_string_equal(ctx.msg, "must have millisecond precision");
	assert_int_equal(check(created_with("2024-01-01T00:00:00Z", b, sizeof(b)), &ctx), RK_ESTIX);
	assert_string_equal(ctx.path, "objects[3].created");
}

static void
test_selectors(void **state)
{
	(void)state;
	json_t *o = parse("{\"name\":\"n\",\"labels\":[\"a\",\"b\"],"
			  "\"external_references\":[{\"source_name\":\"s\","
			  "\"url\":\"u\"}],\"x\":{\"y\":[[1,{\"z\":2}]]}}");
	assert_true(stix_selector_resolves(o, "name"));
	assert_true(stix_selector_resolves(o, "labels"));
	assert_true(stix_selector_resolves(o, "labels.[1]"));
	assert_false(stix_selector_resolves(o, "labels.[2]"));
	assert_true(stix_selector_resolves(o, "external_references.[0].source_name"));
	assert_false(stix_selector_resolves(o, "external_references.[0].description"));
	assert_true(stix_selector_resolves(o, "x.y.[0].[1].z"));
	assert_false(stix_selector_resolves(o, "x.y.[0].[1].z.w"));
	assert_false(stix_selector_resolves(o, "name.[0]"));
	assert_false(stix_selector_resolves(o, "labels.0"));
	assert_false(stix_selector_resolves(o, "labels[0]"));
	assert_false(stix_selector_resolves(o, "labels.[]"));
	assert_false(stix_selector_resolves(o, "labels.[-1]"));
	assert_false(stix_selector_resolves(o, "labels.[99999999999999999999]"));
	assert_false(stix_selector_resolves(o, ".name"));
	assert_false(stix_selector_resolves(o, "name."));
	assert_false(stix_selector_resolves(o, "a..b"));
	assert_false(stix_selector_resolves(o, ""));
	assert_false(stix_selector_resolves(o, "missing"));
	json_decref(o);
}

static void
test_granular_in_object(void **state)
{
	(void)state;
	rk_errctx ctx;
	const char *ok = IND_HEAD ",\"labels\":[\"a\"],\"granular_markings\":[{"
				  "\"marking_ref\":\"marking-definition--"
				  "f88d31f6-486f-44da-b317-01333bde0b82\","
				  "\"selectors\":[\"labels.[0]\",\"pattern\","
				  "\"granular_markings.[0].selectors\"]}]}";
	assert_int_equal(check(ok, &ctx), RK_OK);
	const char *bad = IND_HEAD ",\"labels\":[\"a\"],\"granular_markings\":[{"
				   "\"marking_ref\":\"marking-definition--"
				   "f88d31f6-486f-44da-b317-01333bde0b82\","
				   "\"selectors\":[\"labels.[0]\",\"labels.[1]\"]}]}";
	assert_int_equal(check(bad, &ctx), RK_ESTIX);
	assert_string_equal(ctx.path, "objects[3].granular_markings[0].selectors[1]");
}

static void
test_tlp(void **state)
{
	(void)state;
	/* TLP 1.0, STIX 2.1 section 7.2.1.4 */
	assert_int_equal(stix_tlp_of_marking("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"), STIX_TLP_CLEAR);
	assert_int_equal(stix_tlp_of_marking("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"), STIX_TLP_GREEN);
	assert_int_equal(stix_tlp_of_marking("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"), STIX_TLP_AMBER);
	assert_int_equal(stix_tlp_of_marking("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"), STIX_TLP_RED);
	/* TLP 2.0, OASIS cti-stix-common-objects */
	assert_int_equal(stix_tlp_of_marking("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"), STIX_TLP_CLEAR);
	assert_int_equal(stix_tlp_of_marking("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"), STIX_TLP_GREEN);
	assert_int_equal(stix_tlp_of_marking("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"), STIX_TLP_AMBER);
	assert_int_equal(stix_tlp_of_marking("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"), STIX_TLP_AMBER_STRICT);
	assert_int_equal(stix_tlp_of_marking("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"), STIX_TLP_RED);
	assert_int_equal(stix_tlp_of_marking("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c2"), STIX_TLP_NONE);
	assert_int_equal(stix_tlp_of_marking(NULL), STIX_TLP_NONE);

	assert_int_equal(stix_tlp_parse("TLP:AMBER+STRICT"), STIX_TLP_AMBER_STRICT);
	assert_int_equal(stix_tlp_parse("tlp:white"), STIX_TLP_CLEAR);
	assert_int_equal(stix_tlp_parse("TLP:Red"), STIX_TLP_RED);
	assert_int_equal(stix_tlp_parse("TLP:PURPLE"), STIX_TLP_NONE);
	assert_int_equal(stix_tlp_parse(NULL), STIX_TLP_NONE);
	assert_string_equal(stix_tlp_name(STIX_TLP_AMBER_STRICT), "TLP:AMBER+STRICT");
	assert_true(STIX_TLP_CLEAR < STIX_TLP_GREEN && STIX_TLP_AMBER < STIX_TLP_AMBER_STRICT &&
		    STIX_TLP_AMBER_STRICT < STIX_TLP_RED);

	/* every level: the object validates, names itself, round-trips */
	for (int l = STIX_TLP_CLEAR; l <= STIX_TLP_RED; l++) {
		json_t *m = stix_tlp_marking_object((stix_tlp)l);
		assert_non_null(m);
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		assert_int_equal(stix_validate_object(m, "", NULL, &ctx), RK_OK);
		const char *id = json_string_value(json_object_get(m, "id"));
		assert_string_equal(id, stix_tlp_marking_id((stix_tlp)l));
		assert_int_equal(stix_tlp_of_marking(id), l);
		assert_string_equal(json_string_value(json_object_get(m, "name")),
				    stix_tlp_name((stix_tlp)l));
		json_decref(m);
	}
	assert_null(stix_tlp_marking_object(STIX_TLP_NONE));
	assert_null(stix_tlp_marking_id(STIX_TLP_NONE));
}

static void
test_addresses(void **state)
{
	(void)state;
	assert_true(stix_ipv4_valid("0.0.0.0"));
	assert_true(stix_ipv4_valid("255.255.255.255/32"));
	assert_true(stix_ipv4_valid("10.0.0.0/8"));
	assert_false(stix_ipv4_valid("10.0.0.0/08"));
	assert_false(stix_ipv4_valid("10.0.0/8"));
	assert_false(stix_ipv4_valid("010.0.0.1"));
	assert_false(stix_ipv4_valid("1.2.3.4/"));
	assert_false(stix_ipv4_valid("1.2.3.4 "));
	assert_false(stix_ipv4_valid("1.2.3.1000"));
	assert_true(stix_ipv6_valid("::1"));
	assert_true(stix_ipv6_valid("2001:db8::/128"));
	assert_true(stix_ipv6_valid("::ffff:192.0.2.1"));
	assert_false(stix_ipv6_valid("2001:db8::/129"));
	assert_false(stix_ipv6_valid("2001:db8::g"));
	assert_false(stix_ipv6_valid("/64"));
	assert_true(stix_mac_valid("d2:fb:49:24:37:18"));
	assert_false(stix_mac_valid("d2-fb-49-24-37-18"));
	assert_false(stix_mac_valid("d2:fb:49:24:37:1"));
}

static void
test_info(void **state)
{
	(void)state;
	json_t *o = parse("{\"type\":\"indicator\",\"spec_version\":\"2.1\","
			  "\"id\":\"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\","
			  "\"created\":\"2024-01-01T00:00:00.000Z\","
			  "\"modified\":\"2024-02-01T00:00:00.000Z\","
			  "\"revoked\":true,\"created_by_ref\":"
			  "\"identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\"}");
	stix_info info;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(stix_object_info(o, &info, &ctx), RK_OK);
	assert_string_equal(info.type, "indicator");
	assert_string_equal(info.version, "2024-02-01T00:00:00.000Z");
	assert_string_equal(info.created, "2024-01-01T00:00:00.000Z");
	assert_true(info.revoked);
	assert_int_equal(info.kind, STIX_KIND_SDO);
	assert_true(info.version_time > 0);
	assert_string_equal(info.created_by_ref, "identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f");
	json_decref(o);

	o = parse("{\"type\":\"ipv4-addr\",\"id\":\"ipv4-addr--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\",\"value\":\"1.2.3.4\"}");
	assert_int_equal(stix_object_info(o, &info, &ctx), RK_OK);
	assert_null(info.version);
	assert_int_equal(info.version_time, 0);
	assert_int_equal(info.kind, STIX_KIND_SCO);
	json_decref(o);

	o = parse("{\"id\":\"x\"}");
	assert_int_equal(stix_object_info(o, &info, &ctx), RK_ESTIX);
	json_decref(o);
}

typedef struct {
	int n;
	char last_path[256];
	char last_msg[256];
} warns;

static void
on_warn(void *arg, const char *path, const char *msg)
{
	warns *w = arg;
	w->n++;
	snprintf(w->last_path, sizeof(w->last_path), "%s", path);
	snprintf(w->last_msg, sizeof(w->last_msg), "%s", msg);
}

static void
test_warnings(void **state)
{
	(void)state;
	warns w = {0};
	stix_validate_opts opts = {.warn = on_warn, .warn_arg = &w};
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	json_t *o = parse(IND_HEAD ",\"x_acme_score\":7}");
	assert_int_equal(stix_validate_object(o, "objects[0]", &opts, &ctx), RK_OK);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.last_path, "objects[0].x_acme_score");
	assert_string_equal(w.last_msg, "custom property");
	json_decref(o);

	/* open vocabulary: warn, do not fail */
	w.n = 0;
	o = parse(IND_HEAD ",\"indicator_types\":[\"weird\"]}");
	assert_int_equal(stix_validate_object(o, "", &opts, &ctx), RK_OK);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.last_path, ".indicator_types[0]");
	json_decref(o);

	/* custom type: accepted with a warning, rejected when strict */
	w.n = 0;
	o = parse("{\"type\":\"x-acme-widget\",\"spec_version\":\"2.1\","
		  "\"id\":\"x-acme-widget--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\","
		  "\"created\":\"2024-01-01T00:00:00.000Z\","
		  "\"modified\":\"2024-01-01T00:00:00.000Z\",\"size\":3}");
	assert_int_equal(stix_validate_object(o, "", &opts, &ctx), RK_OK);
	assert_int_equal(w.n, 1);
	opts.strict_types = true;
	assert_int_equal(stix_validate_object(o, "", &opts, &ctx), RK_ESTIX);
	assert_string_equal(ctx.path, ".type");
	json_decref(o);

	/* non-objects are RK_EINVAL */
	o = json_integer(3);
	rk_errctx_clear(&ctx);
	assert_int_equal(stix_validate_object(o, "", NULL, &ctx), RK_EINVAL);
	rk_errctx_clear(&ctx);
	assert_int_equal(stix_validate_bundle(o, NULL, &ctx), RK_EINVAL);
	json_decref(o);
}

static void
test_long_paths(void **state)
{
	(void)state;
	/* A prefix near the path buffer's size must not overflow, and the
	 * error must still be reported. */
	char prefix[400];
	memset(prefix, 'p', sizeof(prefix) - 1);
	prefix[sizeof(prefix) - 1] = '\0';
	json_t *o = parse(IND_HEAD ",\"valid_until\":\"2000-01-01T00:00:00Z\"}");
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(stix_validate_object(o, prefix, NULL, &ctx), RK_ESTIX);
	assert_true(strlen(ctx.path) < RK_ERRCTX_PATH);
	assert_string_equal(ctx.msg, "must be later than valid_from");
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_created_precision),
		cmocka_unit_test(test_selectors),
		cmocka_unit_test(test_granular_in_object),
		cmocka_unit_test(test_tlp),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_long_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
