/*
 * test_anon_object.c: the envelope transformation (anon_envelope) and the
 * rules file, on real values.
 *
 * The submitter is organisation "acme" ("ACME Power"), with a user whose
 * identity is also the submitter's, owning 203.0.113.0/24 and
 * acmepower.example. Checked: the pseudonym (stable per organisation and
 * community, different across either, shaped as a v4 UUID), identity
 * objects of the submitter replaced, references followed (created_by_ref,
 * where_sighted_refs, nested *_ref, ids in text), name-based ids mapped
 * with their references, personal properties, nested custom properties
 * and extensions, property names naming the submitter, markings and the
 * renkei extension untouched, what is flagged for review; and the rules
 * file's errors with file:line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "anonymise.h"

#define ORG_ID "identity--11111111-1111-4111-8111-111111111111"
#define USER_ID "identity--22222222-2222-4222-8222-222222222222"
#define EXT "extension-definition--4e3c1a2b-8f7d-4c6e-9b5a-1d2e3f4a5b6c"
#define TLP_GREEN "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"

static const unsigned char key[ANON_KEY_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const unsigned char key2[ANON_KEY_BYTES] = {9, 9, 9};
static const char *const ids[] = {ORG_ID, USER_ID};
static anon_assets assets;
static anon_rules *rules;
static anon_submitter sub = {.org_id = "acme", .org_name = "ACME Power",
			     .community_id = "energy", .identity_ids = ids,
			     .n_identity_ids = 2, .assets = &assets};

static int setup(void **state)
{
	static const char text[] = "pattern review ticket (?i)ticket\\s*#\\d+\n";
	rk_errctx ctx;
	(void)state;
	rk_errctx_clear(&ctx);
	anon_assets_init(&assets);
	if (anon_rules_parse(text, strlen(text), "t.rules", &rules, &ctx) ||
	    anon_assets_add_cidr(&assets, "203.0.113.0/24", &ctx) ||
	    anon_assets_add_domain(&assets, "acmepower.example", &ctx))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	anon_rules_free(rules);
	anon_assets_cleanup(&assets);
	return 0;
}

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (!v)
		fail_msg("bad test JSON at %d: %s", e.position, e.text);
	return v;
}

static bool has_finding(const anon_result *res, size_t obj, const char *rule, const char *path,
			bool review)
{
	for (size_t i = 0; i < res->n_findings; i++) {
		const anon_finding *f = &res->findings[i];
		if (f->object == obj && !strcmp(f->rule, rule) && !strcmp(f->path, path) &&
		    f->review == review)
			return true;
	}
	return false;
}

static void test_pseudonym(void **state)
{
	char a[RK_MAX_STIX_ID + 1], b[RK_MAX_STIX_ID + 1], c[RK_MAX_STIX_ID + 1],
		d[RK_MAX_STIX_ID + 1], e[RK_MAX_STIX_ID + 1];
	(void)state;
	anon_pseudonym(key, "acme", "energy", a);
	anon_pseudonym(key, "acme", "energy", b);
	anon_pseudonym(key, "acme", "finance", c);
	anon_pseudonym(key, "bank", "energy", d);
	anon_pseudonym(key2, "acme", "energy", e);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_not_equal(a, d);
	assert_string_not_equal(a, e);
	assert_int_equal(strlen(a), 46);
	assert_true(strncmp(a, "identity--", 10) == 0);
	assert_true(anon_id_is_random(a));
	/* no concatenation ambiguity: ("ab","c") is not ("a","bc") */
	anon_pseudonym(key, "ab", "c", b);
	anon_pseudonym(key, "a", "bc", c);
	assert_string_not_equal(b, c);
	/* mapped ids keep their type */
	anon_mapped_id(key, "acme", "energy", "ipv4-addr--5e7d3c2a-1b0f-5a4e-9c8d-7b6a5f4e3d2c", b);
	assert_true(strncmp(b, "ipv4-addr--", 11) == 0);
	assert_true(anon_id_is_random(b));
	assert_false(anon_id_is_random("ipv4-addr--5e7d3c2a-1b0f-5a4e-9c8d-7b6a5f4e3d2c"));
	assert_false(anon_id_is_random("indicator--5e7d3c2a-1b0f-1a4e-9c8d-7b6a5f4e3d2c"));
}

static void test_envelope(void **state)
{
	(void)state;
	json_t *objs = parse(
		"[{\"type\":\"identity\",\"id\":\"" ORG_ID "\",\"name\":\"ACME Power\","
		"\"identity_class\":\"organization\",\"contact_information\":\"soc@acmepower.example\"},"
		" {\"type\":\"identity\",\"id\":\"identity--33333333-3333-4333-8333-333333333333\","
		"  \"name\":\"acme power\",\"identity_class\":\"organization\"},"
		" {\"type\":\"identity\",\"id\":\"identity--44444444-4444-4444-8444-444444444444\","
		"  \"name\":\"Jane Roe\",\"identity_class\":\"individual\",\"sectors\":[\"energy\"]},"
		" {\"type\":\"indicator\",\"id\":\"indicator--55555555-5555-4555-8555-555555555555\","
		"  \"created_by_ref\":\"" ORG_ID "\",\"created\":\"2026-01-01T00:00:00.000Z\","
		"  \"object_marking_refs\":[\"" TLP_GREEN "\"],"
		"  \"description\":\"Jane Roe of ACME Power reported it; see " USER_ID "\","
		"  \"pattern\":\"[ipv4-addr:value = '198.51.100.1']\","
		"  \"x_acme_score\":7,"
		"  \"x_nested\":{\"a\":[{\"b\":{\"c\":\"mail jane@corp.example\"}}],"
		"               \"owner_ref\":\"" USER_ID "\"},"
		"  \"extensions\":{\"" EXT "\":{\"distribution\":[\"identity--66666666-6666-4666-8666-666666666666\"]},"
		"                \"x-vendor-ext\":{\"host\":\"db.acmepower.example\"}}},"
		" {\"type\":\"sighting\",\"id\":\"sighting--77777777-7777-4777-8777-777777777777\","
		"  \"sighting_of_ref\":\"indicator--55555555-5555-4555-8555-555555555555\","
		"  \"where_sighted_refs\":[\"" ORG_ID "\",\"identity--44444444-4444-4444-8444-444444444444\"]},"
		" {\"type\":\"ipv4-addr\",\"id\":\"ipv4-addr--5e7d3c2a-1b0f-5a4e-9c8d-7b6a5f4e3d2c\","
		"  \"value\":\"203.0.113.9\"},"
		" {\"type\":\"observed-data\",\"id\":\"observed-data--88888888-8888-4888-8888-888888888888\","
		"  \"object_refs\":[\"ipv4-addr--5e7d3c2a-1b0f-5a4e-9c8d-7b6a5f4e3d2c\"]},"
		" {\"type\":\"artifact\",\"id\":\"artifact--99999999-9999-4999-8999-999999999999\","
		"  \"payload_bin\":\"aGVsbG8=\"},"
		" {\"type\":\"note\",\"id\":\"note--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa\","
		"  \"content\":\"Ticket #77 opened\",\"authors\":[\"Jane Roe\",\"John Doe\"],"
		"  \"object_refs\":[\"" ORG_ID "\"]},"
		" \"not an object\"]");
	anon_result res;
	rk_errctx ctx;
	char pseud[RK_MAX_STIX_ID + 1], mapped[RK_MAX_STIX_ID + 1];

	rk_errctx_clear(&ctx);
	assert_int_equal(anon_envelope(rules, key, &sub, objs, &res, &ctx), RK_OK);
	anon_pseudonym(key, "acme", "energy", pseud);
	assert_string_equal(res.pseudonym, pseud);
	anon_mapped_id(key, "acme", "energy", "ipv4-addr--5e7d3c2a-1b0f-5a4e-9c8d-7b6a5f4e3d2c",
		       mapped);

	/* the submitter's identities became the pseudonym's identity */
	for (size_t i = 0; i < 2; i++) {
		json_t *o = json_array_get(objs, i);
		assert_true(res.replaced[i]);
		assert_string_equal(json_string_value(json_object_get(o, "id")), pseud);
		assert_null(json_object_get(o, "contact_information"));
	}
	/* the individual */
	json_t *person = json_array_get(objs, 2);
	assert_string_equal(json_string_value(json_object_get(person, "name")), "[redacted-name]");
	assert_true(has_finding(&res, 2, ANON_RULE_PERSON_NAME, "name", false));
	/* the indicator */
	json_t *ind = json_array_get(objs, 3);
	assert_string_equal(json_string_value(json_object_get(ind, "created_by_ref")), pseud);
	char want[512];
	snprintf(want, sizeof want, "[redacted-name] of [redacted-name] reported it; see %s", pseud);
	assert_string_equal(json_string_value(json_object_get(ind, "description")), want);
	assert_null(json_object_get(ind, "x_acme_score")); /* names the submitter */
	assert_true(has_finding(&res, 3, ANON_RULE_SUBMITTER_NAME, "x_acme_score", false));
	json_t *nested = json_object_get(ind, "x_nested");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_array_get(json_object_get(nested, "a"), 0), "b"), "c")),
		"mail [redacted-email]");
	assert_true(has_finding(&res, 3, ANON_RULE_EMAIL, "x_nested.a[0].b.c", false));
	assert_string_equal(json_string_value(json_object_get(nested, "owner_ref")), pseud);
	json_t *ext = json_object_get(ind, "extensions");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(ext, "x-vendor-ext"), "host")),
		"[redacted-domain]");
	/* markings and the renkei extension as they were */
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(ind, "object_marking_refs"), 0)),
			    TLP_GREEN);
	assert_string_equal(
		json_string_value(json_array_get(
			json_object_get(json_object_get(ext, EXT), "distribution"), 0)),
		"identity--66666666-6666-4666-8666-666666666666");
	assert_string_equal(json_string_value(json_object_get(ind, "created")),
			    "2026-01-01T00:00:00.000Z");
	assert_false(res.review[3]);
	/* the sighting */
	json_t *wsr = json_object_get(json_array_get(objs, 4), "where_sighted_refs");
	assert_string_equal(json_string_value(json_array_get(wsr, 0)), pseud);
	assert_string_equal(json_string_value(json_array_get(wsr, 1)),
			    "identity--44444444-4444-4444-8444-444444444444");
	/* the name-based id, its owned value, its reference */
	json_t *sco = json_array_get(objs, 5);
	assert_string_equal(json_string_value(json_object_get(sco, "id")), mapped);
	assert_string_equal(json_string_value(json_object_get(sco, "value")), "0.0.0.0");
	assert_true(res.review[5]); /* an owned value in an observable */
	assert_true(has_finding(&res, 5, ANON_RULE_OWNED_ADDRESS, "value", true));
	assert_true(has_finding(&res, 5, ANON_RULE_OBJECT_ID, "id", false));
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(json_array_get(objs, 6), "object_refs"), 0)),
			    mapped);
	/* opaque content, a review pattern, authors */
	assert_true(res.review[7]);
	assert_true(has_finding(&res, 7, ANON_RULE_OPAQUE, "payload_bin", true));
	json_t *note = json_array_get(objs, 8);
	assert_true(res.review[8]);
	assert_true(has_finding(&res, 8, "ticket", "content", true));
	assert_string_equal(json_string_value(json_array_get(json_object_get(note, "authors"), 1)),
			    "[redacted]");
	assert_string_equal(json_string_value(json_array_get(json_object_get(note, "object_refs"), 0)),
			    pseud);
	assert_string_equal(json_string_value(json_array_get(objs, 9)), "not an object");

	/* nothing names the submitter any more */
	char *all = json_dumps(objs, 0);
	assert_null(strstr(all, ORG_ID));
	assert_null(strstr(all, USER_ID));
	assert_null(strstr(all, "ACME"));
	assert_null(strstr(all, "acmepower"));
	assert_null(strstr(all, "Jane Roe"));
	assert_null(strstr(all, "203.0.113.9"));
	free(all);
	anon_result_cleanup(&res);
	json_decref(objs);
}

static void test_rules_file(void **state)
{
	static const struct {
		const char *text, *where, *why;
	} bad[] = {
		{"# fine\npattern scrub a (\n", "x.rules:2", "pattern error at offset 1"},
		{"pattern delete a b\n", "x.rules:1", "pattern scrub|review NAME REGEX"},
		{"pattern scrub Bad-Name x\n", "x.rules:1", "a rule name is"},
		{"pattern scrub a x\npattern review a y\n", "x.rules:2", "already defined at line 1"},
		{"pattern scrub a x*\n", "x.rules:1", "matches the empty string"},
		{"pattern scrub a\n", "x.rules:1", "has no pattern"},
		{"owned acme range 10.0.0.1/8\n", "x.rules:1", "host bits"},
		{"owned acme domain bad..example\n", "x.rules:1", "not a domain name"},
		{"owned acme area 10.0.0.0/8\n", "x.rules:1", "owned ORG range CIDR"},
		{"\n\nwhatever\n", "x.rules:3", "unknown rule"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		anon_rules *r = NULL;
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		assert_int_not_equal(anon_rules_parse(bad[i].text, strlen(bad[i].text), "x.rules",
						      &r, &ctx),
				     RK_OK);
		assert_null(r);
		if (strcmp(ctx.path, bad[i].where) || !strstr(ctx.msg, bad[i].why))
			fail_msg("case %zu: got %s: %s", i, ctx.path, ctx.msg);
	}
	/* a good file, with CRLF line ends and blanks */
	static const char good[] = "  # comment\r\n\r\npattern scrub emp \\bEMP-\\d+\\b  \r\n"
				   "owned acme range 2001:db8::/32\r\nowned acme domain 例え.jp\n"
				   "owned bank range 192.0.2.0/24";
	anon_rules *r = NULL;
	anon_assets a;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	if (anon_rules_parse(good, strlen(good), "g.rules", &r, &ctx) != RK_OK)
		fail_msg("%s: %s", ctx.path, ctx.msg);
	assert_int_equal(anon_rules_count(r), 1);
	anon_assets_init(&a);
	assert_int_equal(anon_rules_owned(r, "acme", &a, &ctx), RK_OK);
	assert_int_equal(a.n_nets, 1);
	assert_int_equal(a.n_domains, 1);
	assert_string_equal(a.domains[0], "xn--r8jz45g.jp");
	assert_string_equal(a.domains_u[0], "例え.jp");
	anon_assets_cleanup(&a);
	anon_rules_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pseudonym),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_rules_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
