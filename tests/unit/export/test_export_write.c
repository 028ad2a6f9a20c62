/*
 * test_export_write.c: every writer over one known set of indicators, with
 * the exact bytes expected, and the values the set must refuse.
 *
 * The set (fixture below) holds addresses and a network (host bits set on
 * purpose), domains with an upper-case letter, a final dot and a blank, a
 * URL with a tab, an e-mail address, hashes in upper case, a name with a
 * tab, a quote and a comma, and a pattern that is not a list of values.
 * Expected outputs are written out in full: a change in any writer shows
 * here as a diff of a few lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "export.h"

#define IND(n) "indicator--00000000-0000-4000-8000-00000000000" #n

static const char *const fixture[] = {
	"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" IND(1) "\","
	"\"created\":\"2026-01-02T03:04:05Z\",\"modified\":\"2026-01-02T03:04:05Z\","
	"\"name\":\"Bad \\\"host\\\"\\tA, one\",\"description\":\"not exported\","
	"\"pattern\":\"[ipv4-addr:value = '198.51.100.7' OR ipv4-addr:value = '10.1.2.3/8' OR "
	"ipv6-addr:value = '2001:DB8::1' OR ipv4-addr:value = '300.1.1.1']\","
	"\"pattern_type\":\"stix\",\"valid_from\":\"2026-01-01T00:00:00Z\"}",
	"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" IND(2) "\","
	"\"created\":\"2026-01-03T00:00:00Z\",\"modified\":\"2026-01-03T00:00:00Z\",\"name\":\"B\","
	"\"pattern\":\"[domain-name:value IN ('Evil.Example.', 'bad domain.example', 'x.example')]\","
	"\"pattern_type\":\"stix\",\"valid_from\":\"2026-01-01T00:00:00Z\"}",
	"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" IND(3) "\","
	"\"created\":\"2026-01-01T00:00:00Z\",\"modified\":\"2026-01-01T00:00:00Z\","
	"\"pattern\":\"[url:value = 'http://evil.example/a?b=1' OR url:value = "
	"'http://evil.example/\\ttab']\",\"pattern_type\":\"stix\","
	"\"valid_from\":\"2026-01-01T00:00:00Z\"}",
	"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" IND(4) "\","
	"\"created\":\"2026-01-01T00:00:00Z\",\"modified\":\"2026-01-01T00:00:00Z\",\"name\":\"mail\","
	"\"pattern\":\"[email-addr:value = 'Mallory@Evil.Example']\",\"pattern_type\":\"stix\","
	"\"valid_from\":\"2026-01-01T00:00:00Z\"}",
	"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" IND(5) "\","
	"\"created\":\"2026-01-01T00:00:00Z\",\"modified\":\"2026-01-01T00:00:00Z\",\"name\":\"B\","
	"\"pattern\":\"[file:hashes.'SHA-256' = "
	"'AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F' OR "
	"file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4']\",\"pattern_type\":\"stix\","
	"\"valid_from\":\"2026-01-01T00:00:00Z\"}",
	"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" IND(6) "\","
	"\"created\":\"2026-01-01T00:00:00Z\",\"modified\":\"2026-01-01T00:00:00Z\","
	"\"pattern\":\"[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '5.6.7.8']\","
	"\"pattern_type\":\"stix\",\"valid_from\":\"2026-01-01T00:00:00Z\"}",
	"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" IND(7) "\","
	"\"created\":\"2026-01-01T00:00:00Z\",\"modified\":\"2026-01-01T00:00:00Z\","
	"\"granular_markings\":[{\"marking_ref\":\"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed\","
	"\"selectors\":[\"name\"]}],\"name\":\"secret name\",\"indicator_types\":[\"malicious-activity\"],"
	"\"pattern\":\"[domain-name:value = 'evil.example']\",\"pattern_type\":\"stix\","
	"\"valid_from\":\"2026-01-01T00:00:00Z\"}",
};

static void fill(export_set *s, const char *org)
{
	rk_errctx ctx;
	assert_int_equal(export_set_init(s, org), RK_OK);
	for (size_t i = 0; i < RK_ARRAY_LEN(fixture); i++) {
		json_error_t jerr;
		json_t *o = json_loads(fixture[i], 0, &jerr);
		if (!o)
			fail_msg("fixture %zu: %s", i, jerr.text);
		rk_errctx_clear(&ctx);
		assert_int_equal(export_set_add(s, o, &ctx), RK_OK);
		json_decref(o);
	}
}

/* Renders format f of the fixture (org "bank-a"); the caller cleans out. */
static void render(export_format f, export_output *out)
{
	export_set s;
	rk_errctx ctx;
	fill(&s, "bank-a");
	export_output_init(out);
	rk_errctx_clear(&ctx);
	assert_int_equal(export_render(&s, f, out, &ctx), RK_OK);
	/* EXPORT_DUMP=DIR writes the files there (to refresh the expected
	 * texts after a deliberate change, and to try them in the tools). */
	const char *dump = getenv("EXPORT_DUMP");
	for (size_t i = 0; dump && i < out->n_files; i++) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dump, out->files[i].name);
		FILE *fp = fopen(path, "w");
		if (fp) {
			fputs(out->files[i].body.data, fp);
			fclose(fp);
		}
	}
	export_set_cleanup(&s);
}

static void expect_file(const export_output *out, const char *name, const char *want)
{
	const export_file *f = export_output_file(out, name);
	if (!f)
		fail_msg("no file %s", name);
	assert_string_equal(f->body.data, want);
}

static void test_set_counts(void **state)
{
	export_set s;
	(void)state;
	fill(&s, NULL);
	/* 6: the AND pattern is not a list of values. */
	assert_int_equal(s.n_ind, 6);
	assert_int_equal(s.not_exact, 1);
	/* 300.1.1.1, "bad domain.example", the URL with a tab */
	assert_int_equal(s.invalid, 3);
	export_set_cleanup(&s);
}

static void test_normalise(void **state)
{
	char out[300];
	(void)state;
	static const struct {
		pattern_vkind kind;
		const char *in, *want; /* want NULL: refused */
	} cases[] = {
		{PATTERN_V_IPV4, "10.1.2.3/8", "10.0.0.0/8"},
		{PATTERN_V_IPV4, "10.1.2.3/32", "10.1.2.3"},
		{PATTERN_V_IPV4, "10.1.2.3/33", NULL},
		{PATTERN_V_IPV4, "10.1.2.3/", NULL},
		{PATTERN_V_IPV4, "010.1.2.3", NULL},
		{PATTERN_V_IPV6, "2001:DB8:0:0::1/64", "2001:db8::/64"},
		{PATTERN_V_DOMAIN, "Example.COM.", "example.com"},
		{PATTERN_V_DOMAIN, "_dmarc.example.com", "_dmarc.example.com"},
		{PATTERN_V_DOMAIN, "a..b", NULL},
		{PATTERN_V_DOMAIN, "-a.b", NULL},
		{PATTERN_V_DOMAIN, "a-.b", NULL},
		{PATTERN_V_DOMAIN, "a.b CNAME .", NULL},
		{PATTERN_V_DOMAIN, "a;b", NULL},
		{PATTERN_V_DOMAIN, "*.a.b", NULL},
		{PATTERN_V_DOMAIN, "", NULL},
		{PATTERN_V_URL, "https://a.example/x", "https://a.example/x"},
		{PATTERN_V_URL, "https://a.example/\"x", NULL},
		{PATTERN_V_URL, "a.example/x", NULL},
		{PATTERN_V_EMAIL, "A@B.Example", "A@b.example"},
		{PATTERN_V_EMAIL, "a@b@c", NULL},
		{PATTERN_V_MD5, "79054025255FB1A26E4BC422AEF54EB4", "79054025255fb1a26e4bc422aef54eb4"},
		{PATTERN_V_MD5, "79054025255FB1A26E4BC422AEF54EB", NULL},
		{PATTERN_V_SHA1, "zz", NULL},
	};
	for (size_t i = 0; i < RK_ARRAY_LEN(cases); i++) {
		bool ok = export_value_normalise(cases[i].kind, cases[i].in, strlen(cases[i].in),
						 out, sizeof out);
		if (!cases[i].want) {
			if (ok)
				fail_msg("case %zu (%s): accepted as %s", i, cases[i].in, out);
			continue;
		}
		if (!ok)
			fail_msg("case %zu (%s): refused", i, cases[i].in);
		assert_string_equal(out, cases[i].want);
	}
	/* A NUL inside the value is refused. */
	assert_false(export_value_normalise(PATTERN_V_DOMAIN, "a\0b", 3, out, sizeof out));
}

static void test_formats(void **state)
{
	export_format f;
	(void)state;
	for (int i = 0; i < EXPORT_N_FORMATS; i++) {
		assert_true(export_format_parse(export_format_name((export_format)i), &f));
		assert_int_equal(f, i);
	}
	assert_false(export_format_parse("bind", &f));
	assert_false(export_format_parse(NULL, &f));
}

#include "test_export_expected.h"

static void test_zeek(void **state)
{
	export_output out;
	(void)state;
	render(EXPORT_ZEEK, &out);
	assert_int_equal(out.n_files, 1);
	expect_file(&out, "renkei.intel", WANT_ZEEK);
	export_output_cleanup(&out);
}

static void test_suricata(void **state)
{
	export_output out;
	(void)state;
	render(EXPORT_SURICATA, &out);
	assert_int_equal(out.n_files, 7);
	expect_file(&out, "renkei.rules", WANT_SURICATA_RULES);
	expect_file(&out, "renkei-ipv4.lst", "198.51.100.7\n");
	expect_file(&out, "renkei-ip.lst", "2001:db8::1\n");
	/* base64 of evil.example and x.example */
	expect_file(&out, "renkei-domain.lst", "ZXZpbC5leGFtcGxl\neC5leGFtcGxl\n");
	expect_file(&out, "renkei-md5.lst", "79054025255fb1a26e4bc422aef54eb4\n");
	expect_file(&out, "renkei-sha1.lst", "");
	expect_file(&out, "renkei-sha256.lst",
		    "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f\n");
	/* the network, the URL, the e-mail address */
	assert_int_equal(out.left_out, 3);
	export_output_cleanup(&out);
}

static void test_rpz(void **state)
{
	export_output out;
	(void)state;
	render(EXPORT_RPZ, &out);
	expect_file(&out, "renkei.rpz", WANT_RPZ);
	export_output_cleanup(&out);
}

static void test_nftables(void **state)
{
	export_output out;
	(void)state;
	render(EXPORT_NFTABLES, &out);
	expect_file(&out, "renkei.nft", WANT_NFT);
	export_output_cleanup(&out);
}

static void test_plain_csv(void **state)
{
	export_output out;
	(void)state;
	render(EXPORT_PLAIN, &out);
	expect_file(&out, "renkei.txt", WANT_PLAIN);
	export_output_cleanup(&out);
	render(EXPORT_CSV, &out);
	expect_file(&out, "renkei.csv", WANT_CSV);
	export_output_cleanup(&out);
}

static void test_misp(void **state)
{
	export_output out;
	(void)state;
	render(EXPORT_MISP, &out);
	expect_file(&out, "renkei-misp.json", WANT_MISP);
	export_output_cleanup(&out);
}

static void test_stix(void **state)
{
	export_output out;
	(void)state;
	render(EXPORT_STIX, &out);
	expect_file(&out, "renkei-stix.json", WANT_STIX);
	export_output_cleanup(&out);
}

/* Equal content, equal bytes and ETag, whatever order the indicators came
 * in; other content, another ETag. */
/* A certificate's fingerprints: Zeek's CERT_HASH, MISP's x509
 * fingerprint types, left out of Suricata's file-hash lists. */
static void test_certificate_hashes(void **state)
{
	static const char ind[] =
		"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" IND(9) "\","
		"\"created\":\"2026-01-01T00:00:00Z\",\"modified\":\"2026-01-01T00:00:00Z\","
		"\"pattern\":\"[x509-certificate:hashes.'SHA-1' = "
		"'4FA842C2462FB04C1D3E8EA966134D2B6F6E75E3' OR x509-certificate:hashes.'SHA-256' = "
		"'95cb443934beda97627688546191ab1d3989a835592cebdd2434f9ad41324ce1']\","
		"\"pattern_type\":\"stix\",\"valid_from\":\"2026-01-01T00:00:00Z\"}";
	static const export_format fmts[] = {EXPORT_ZEEK, EXPORT_SURICATA, EXPORT_MISP};
	(void)state;
	for (size_t f = 0; f < RK_ARRAY_LEN(fmts); f++) {
		export_set s;
		export_output out;
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		assert_int_equal(export_set_init(&s, "bank-a"), RK_OK);
		json_t *o = json_loads(ind, 0, NULL);
		assert_non_null(o);
		assert_int_equal(export_set_add(&s, o, &ctx), RK_OK);
		json_decref(o);
		assert_int_equal(s.n_ind, 1);
		export_output_init(&out);
		assert_int_equal(export_render(&s, fmts[f], &out, &ctx), RK_OK);
		const char *body = out.files[0].body.data;
		if (fmts[f] == EXPORT_ZEEK) {
			assert_non_null(strstr(body, "4fa842c2462fb04c1d3e8ea966134d2b6f6e75e3\t"
						     "Intel::CERT_HASH\t"));
			assert_non_null(strstr(body, "95cb443934beda97627688546191ab1d3989a835592cebdd"
						     "2434f9ad41324ce1\tIntel::CERT_HASH\t"));
			assert_null(strstr(body, "FILE_HASH"));
		} else if (fmts[f] == EXPORT_SURICATA) {
			assert_int_equal(out.left_out, 2);
			assert_null(strstr(body, "4fa842c2"));
		} else {
			assert_non_null(strstr(body, "x509-fingerprint-sha1"));
			assert_non_null(strstr(body, "x509-fingerprint-sha256"));
		}
		export_output_cleanup(&out);
		export_set_cleanup(&s);
	}
}

static void test_deterministic(void **state)
{
	(void)state;
	for (int f = 0; f < EXPORT_N_FORMATS; f++) {
		export_set a, b;
		export_output oa, ob;
		rk_errctx ctx;
		fill(&a, "bank-a");
		assert_int_equal(export_set_init(&b, "bank-a"), RK_OK);
		for (size_t i = RK_ARRAY_LEN(fixture); i-- > 0;) {
			json_t *o = json_loads(fixture[i], 0, NULL);
			assert_int_equal(export_set_add(&b, o, &ctx), RK_OK);
			json_decref(o);
		}
		export_output_init(&oa);
		export_output_init(&ob);
		assert_int_equal(export_render(&a, (export_format)f, &oa, &ctx), RK_OK);
		assert_int_equal(export_render(&b, (export_format)f, &ob, &ctx), RK_OK);
		assert_int_equal(oa.n_files, ob.n_files);
		for (size_t i = 0; i < oa.n_files; i++)
			assert_string_equal(oa.files[i].body.data, ob.files[i].body.data);
		assert_string_equal(oa.etag, ob.etag);
		assert_int_equal(strlen(oa.etag), 34);
		export_output_cleanup(&ob);
		/* Other content (one indicator only): another ETag. */
		export_set_cleanup(&b);
		assert_int_equal(export_set_init(&b, "bank-a"), RK_OK);
		json_t *o = json_loads(fixture[3], 0, NULL);
		assert_int_equal(export_set_add(&b, o, &ctx), RK_OK);
		json_decref(o);
		export_output_init(&ob);
		assert_int_equal(export_render(&b, (export_format)f, &ob, &ctx), RK_OK);
		assert_string_not_equal(oa.etag, ob.etag);
		export_output_cleanup(&oa);
		export_output_cleanup(&ob);
		export_set_cleanup(&a);
		export_set_cleanup(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_counts), cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_formats),    cmocka_unit_test(test_zeek),
		cmocka_unit_test(test_suricata),   cmocka_unit_test(test_rpz),
		cmocka_unit_test(test_nftables),   cmocka_unit_test(test_plain_csv),
		cmocka_unit_test(test_misp),       cmocka_unit_test(test_stix),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_certificate_hashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
