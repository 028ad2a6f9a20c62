/*
 * test_dir_parse.c: directory files to directories, lookups and tokens,
 * without a store.
 *
 * The example national directory (example-directory.json) must be accepted
 * as it is; every case in invalid-directories.json must be refused with
 * exactly the message given there (JSON path and reason), so a change in
 * wording or in the path shows up here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "directory.h"

#define EXAMPLE "tests/unit/directory/example-directory.json"
#define INVALID "tests/unit/directory/invalid-directories.json"
#define NPA_TOKEN "npa-0123456789abcdef0123456789abcdef0123456789abcdef"

static json_t *load(const char *path)
{
	json_t *doc = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(rk_json_load_file(path, 1 << 20, RK_MAX_JSON_DEPTH, &doc, &ctx),
			 RK_OK);
	return doc;
}

static directory *load_example(void)
{
	json_t *doc = load(EXAMPLE);
	directory *d = NULL;
	rk_errctx ctx;
	char msg[1024];

	rk_errctx_clear(&ctx);
	rk_err err = dir_from_file_json(doc, &d, &ctx);
	rk_errctx_format(&ctx, msg, sizeof msg);
	if (err)
		fail_msg("example rejected: %s", msg);
	json_decref(doc);
	return d;
}

static void test_example_accepted(void **state)
{
	(void)state;
	directory *d = load_example();

	assert_int_equal(d->n_orgs, 7);
	assert_int_equal(d->n_users, 8);
	assert_int_equal(d->n_communities, 3);
	assert_int_equal(d->n_collections, 3);
	assert_int_equal(d->version, 0);
	/* entries sorted by id */
	assert_string_equal(d->orgs[0].id, "bank-a");
	assert_string_equal(d->orgs[6].id, "si-corp");
	assert_string_equal(d->communities[0].id, "gov");
	assert_string_equal(d->collections[0].id, "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d");

	const dir_org *pe = dir_find_org(d, "power-east");
	assert_non_null(pe);
	assert_string_equal(pe->name, "East Japan Power");
	assert_int_equal(pe->n_sectors, 2);
	assert_string_equal(pe->sectors[0], "energy");
	assert_string_equal(pe->sectors[1], "utilities");
	assert_string_equal(pe->country, "JP");
	assert_int_equal(pe->n_clients, 0);

	/* identity--UUIDv5(DIR_IDENTITY_NAMESPACE, slug), computed independently */
	assert_string_equal(dir_find_org(d, "nisc")->identity_id,
			    "identity--a88dc160-0c16-5b66-9702-40c18c89e77c");
	assert_string_equal(dir_find_org(d, "npa")->identity_id,
			    "identity--77b11b83-28ff-5d2a-84db-67995ad3a855");

	const dir_org *si = dir_find_org(d, "si-corp");
	assert_int_equal(si->n_clients, 1);
	assert_true(dir_org_serves(si, "power-east"));
	assert_false(dir_org_serves(si, "bank-a"));
	assert_false(dir_org_serves(pe, "si-corp"));

	const dir_user *u = dir_find_user(d, "power-sensor");
	assert_non_null(u);
	assert_string_equal(u->org, "power-east");
	assert_int_equal(u->role, DIR_ROLE_SENSOR);
	assert_true(u->has_token);
	assert_null(dir_find_user(d, "nobody"));

	const dir_community *gov = dir_find_community(d, "gov");
	assert_int_equal(gov->tier, DIR_TIER_GOVERNMENT);
	assert_string_equal(gov->description, "");
	assert_true(dir_org_is_member(gov, "meti"));
	assert_false(dir_org_is_member(gov, "bank-a"));
	assert_int_equal(dir_find_community(d, "intl")->tier, DIR_TIER_INTERNATIONAL);
	assert_null(dir_find_community(d, "wos"));

	const dir_collection *c = dir_find_collection(d, "9F3C1E2A-6B7D-4C8E-9A0B-1C2D3E4F5A60");
	assert_non_null(c);
	assert_string_equal(c->community, "gov");
	assert_string_equal(c->title, "Government indicators");
	assert_string_equal(c->default_marking, "TLP:AMBER");
	assert_int_equal(c->can_read, (1u << DIR_ROLE_ADMIN) | (1u << DIR_ROLE_ANALYST) |
					      (1u << DIR_ROLE_READER) | (1u << DIR_ROLE_SENSOR));
	assert_int_equal(c->can_write, (1u << DIR_ROLE_ADMIN) | (1u << DIR_ROLE_ANALYST));
	assert_null(dir_find_collection(d, "00000000-0000-4000-8000-000000000000"));
	dir_free(d);
}

static void test_invalid_files(void **state)
{
	(void)state;
	json_t *cases = load(INVALID);
	size_t i;
	json_t *tc;
	char msg[2048];

	assert_true(json_array_size(cases) >= 25);
	json_array_foreach(cases, i, tc) {
		const char *name = json_string_value(json_object_get(tc, "case"));
		const char *want = json_string_value(json_object_get(tc, "error"));
		directory *d = NULL;
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		rk_err err = dir_from_file_json(json_object_get(tc, "file"), &d, &ctx);
		rk_errctx_format(&ctx, msg, sizeof msg);
		if (err == RK_OK)
			fail_msg("case '%s' accepted", name);
		assert_null(d);
		assert_int_equal(err, RK_EINVAL);
		if (strcmp(msg, want) != 0)
			fail_msg("case '%s':\n  got  %s\n  want %s", name, msg, want);
	}
	json_decref(cases);
}

static void test_optional_fields(void **state)
{
	(void)state;
	json_t *doc = json_pack(
		"{s:[{s:s,s:s}], s:[{s:s,s:s,s:s}], s:[{s:s,s:s,s:s,s:s,s:[s]}],"
		" s:[{s:s,s:s,s:s,s:s,s:s}]}",
		"organizations", "id", "a", "name", "A",
		"users", "name", "u", "organization", "a", "role", "reader",
		"communities", "id", "c", "title", "C", "description", "About C", "tier",
		"nation", "members", "a",
		"collections", "id", "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b", "community", "c",
		"title", "X", "description", "About X", "default_marking", "tlp:amber+strict");
	directory *d = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(dir_from_file_json(doc, &d, &ctx), RK_OK);
	assert_false(d->users[0].has_token);
	assert_int_equal(d->orgs[0].n_sectors, 0);
	assert_null(d->orgs[0].country);
	assert_string_equal(d->communities[0].description, "About C");
	assert_string_equal(d->collections[0].description, "About X");
	assert_string_equal(d->collections[0].default_marking, "TLP:AMBER+STRICT");
	assert_int_equal(d->collections[0].can_read, 0);
	assert_int_equal(d->collections[0].can_write, 0);
	/* a user without a token never authenticates */
	assert_null(dir_authenticate_basic(d, "u", "0000000000000000000000000000000000000000", 40));
	dir_free(d);
	json_decref(doc);

	/* an empty directory is a directory */
	doc = json_object();
	assert_int_equal(dir_from_file_json(doc, &d, &ctx), RK_OK);
	assert_int_equal(d->n_orgs + d->n_users + d->n_communities + d->n_collections, 0);
	assert_null(dir_find_org(d, "a"));
	assert_null(dir_authenticate_token(d, NPA_TOKEN, strlen(NPA_TOKEN)));
	dir_free(d);
	json_decref(doc);
}

static void test_tokens(void **state)
{
	(void)state;
	directory *d = load_example();
	const char *t = NPA_TOKEN;

	const dir_user *u = dir_authenticate_token(d, t, strlen(t));
	assert_non_null(u);
	assert_string_equal(u->name, "npa-analyst");
	u = dir_authenticate_token(d, "krc-0123456789abcdef0123456789abcdef0123456789abcdef", 52);
	assert_non_null(u);
	assert_string_equal(u->name, "kr-partner");
	/* one character off */
	assert_null(dir_authenticate_token(d, "npa-0123456789abcdef0123456789abcdef0123456789abcdee", 52));
	/* a prefix of the right token: shorter than allowed, and not the token */
	assert_null(dir_authenticate_token(d, t, 16));
	assert_null(dir_authenticate_token(d, t, 40));
	assert_null(dir_authenticate_token(d, "", 0));
	assert_null(dir_authenticate_token(d, NULL, 52));

	/* Basic: user name plus that user's token */
	u = dir_authenticate_basic(d, "npa-analyst", t, strlen(t));
	assert_non_null(u);
	assert_string_equal(u->org, "npa");
	assert_null(dir_authenticate_basic(d, "meti-reader", t, strlen(t)));
	assert_null(dir_authenticate_basic(d, "nobody", t, strlen(t)));
	assert_null(dir_authenticate_basic(d, "npa-analyst", t, 10));

	/* stored hash is BLAKE2b-256 of the token (computed independently) */
	static const unsigned char want[DIR_TOKEN_HASH_BYTES] = {
		0x3a, 0xd5, 0xfd, 0x67, 0xac, 0xe4, 0xd8, 0xf5, 0x0c, 0x17, 0x76,
		0xe3, 0xe3, 0x1d, 0x21, 0x32, 0x54, 0xb1, 0x8d, 0xb0, 0x8c, 0xe6,
		0xf3, 0xc4, 0x64, 0x75, 0x8d, 0x3a, 0xc7, 0xd3, 0x30, 0x0c};
	assert_memory_equal(dir_find_user(d, "npa-analyst")->token_hash, want, sizeof want);

	/* new tokens: prefix, '-', 64 hex digits; never the same twice */
	char a[3 + 2 * RK_TOKEN_RANDOM_BYTES + 2], b[sizeof a];
	dir_token_new("rk", a, sizeof a - 1);
	dir_token_new("rk", b, sizeof b - 1);
	assert_int_equal(strlen(a), 2 + 1 + 64);
	assert_memory_equal(a, "rk-", 3);
	assert_int_equal(strspn(a + 3, "0123456789abcdef"), 64);
	assert_string_not_equal(a, b);
	char small[10];
	dir_token_new("rk", small, sizeof small);
	assert_string_equal(small, "");
	char bare[2 * RK_TOKEN_RANDOM_BYTES + 2];
	dir_token_new("", bare, sizeof bare);
	assert_int_equal(strlen(bare), 64);
	dir_free(d);
}

static void test_stored_round_trip(void **state)
{
	(void)state;
	directory *d = load_example(), *back = NULL, *again = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);

	json_t *stored = dir_to_stored_json(d);
	assert_non_null(stored);
	/* hashes, never tokens */
	json_t *users = json_object_get(stored, "users");
	assert_null(json_object_get(json_array_get(users, 0), "token"));
	assert_int_equal(strlen(json_string_value(
				 json_object_get(json_array_get(users, 0), "token_hash"))),
			 64);
	assert_int_equal(dir_from_stored_json(stored, &back, &ctx), RK_OK);
	json_t *stored2 = dir_to_stored_json(back);
	assert_true(json_equal(stored, stored2));
	assert_non_null(dir_authenticate_token(back, NPA_TOKEN, strlen(NPA_TOKEN)));

	/* the stored form is not a directory file, and the other way round */
	directory *x = NULL;
	assert_int_equal(dir_from_file_json(stored, &x, &ctx), RK_EINVAL);
	assert_null(x);

	/* file form: no token material; reads back as users without tokens */
	json_t *file = dir_to_file_json(d);
	char *text = rk_json_dump(file);
	assert_null(strstr(text, "token"));
	free(text);
	rk_errctx_clear(&ctx);
	assert_int_equal(dir_from_file_json(file, &again, &ctx), RK_OK);
	assert_false(dir_find_user(again, "admin")->has_token);
	assert_int_equal(again->n_collections, 3);

	/* the same directory written in another order serialises the same */
	json_t *doc = load(EXAMPLE);
	json_t *orgs = json_object_get(doc, "organizations");
	json_t *first = json_incref(json_array_get(orgs, 0));
	json_array_remove(orgs, 0);
	json_array_append_new(orgs, first);
	json_t *members = json_object_get(json_array_get(json_object_get(doc, "communities"), 0),
					  "members");
	json_array_insert_new(members, 0, json_string("meti"));
	json_array_remove(members, 3);
	directory *reordered = NULL;
	assert_int_equal(dir_from_file_json(doc, &reordered, &ctx), RK_OK);
	json_t *stored3 = dir_to_stored_json(reordered);
	assert_true(json_equal(stored, stored3));

	json_decref(stored);
	json_decref(stored2);
	json_decref(stored3);
	json_decref(file);
	json_decref(doc);
	dir_free(d);
	dir_free(back);
	dir_free(again);
	dir_free(reordered);
}

static void test_identity(void **state)
{
	(void)state;
	directory *d = load_example();
	json_t *id = dir_org_identity(dir_find_org(d, "power-east"));

	assert_non_null(id);
	assert_string_equal(json_string_value(json_object_get(id, "type")), "identity");
	assert_string_equal(json_string_value(json_object_get(id, "spec_version")), "2.1");
	assert_string_equal(json_string_value(json_object_get(id, "id")),
			    dir_find_org(d, "power-east")->identity_id);
	assert_string_equal(json_string_value(json_object_get(id, "name")), "East Japan Power");
	assert_string_equal(json_string_value(json_object_get(id, "identity_class")),
			    "organization");
	assert_int_equal(json_array_size(json_object_get(id, "sectors")), 2);
	assert_string_equal(json_string_value(json_object_get(id, "created")),
			    "1970-01-01T00:00:00.000Z");
	json_decref(id);
	assert_null(dir_org_identity(NULL));

	/* Users: identity--UUIDv5(DIR_IDENTITY_NAMESPACE, "user:" + name),
	 * computed independently; both kinds resolve back. */
	const dir_user *u = dir_find_user(d, "npa-analyst");
	assert_string_equal(u->identity_id, "identity--ed85c479-0a95-5075-aaff-ced71a345fe0");
	const dir_org *o = NULL;
	const dir_user *fu = NULL;
	assert_true(dir_find_identity(d, u->identity_id, &o, &fu));
	assert_ptr_equal(fu, u);
	assert_null(o);
	assert_true(dir_find_identity(d, "identity--c54bc0b7-571e-5334-afd8-a08513b271f6", &o,
				      &fu));
	assert_string_equal(o->id, "si-corp");
	assert_null(fu);
	assert_false(dir_find_identity(d, "identity--00000000-0000-4000-8000-000000000000",
				       &o, &fu));
	char buf[RK_MAX_STIX_ID + 1];
	assert_true(dir_identity_of("org", "si-corp", buf));
	assert_string_equal(buf, "identity--c54bc0b7-571e-5334-afd8-a08513b271f6");
	dir_free(d);
}

/* Reach: members, and clients of members, of a community; public. */
static void test_reach_and_public(void **state)
{
	(void)state;
	rk_errctx ctx;
	directory *d = NULL;
	json_error_t jerr;
	json_t *doc = json_loads(
		"{\"organizations\": [{\"id\": \"prov\", \"name\": \"P\", \"sectors\": [],"
		"  \"clients\": [\"cli\"]}, {\"id\": \"cli\", \"name\": \"C\", \"sectors\": []},"
		" {\"id\": \"out\", \"name\": \"O\", \"sectors\": []}],"
		" \"communities\": [{\"id\": \"k\", \"title\": \"K\", \"tier\": \"nation\","
		"  \"members\": [\"prov\"]}],"
		" \"collections\": [{\"id\": \"11111111-1111-4111-8111-111111111111\","
		"  \"community\": \"k\", \"title\": \"T\", \"default_marking\": \"TLP:CLEAR\","
		"  \"can_read\": [\"reader\"], \"can_write\": [\"analyst\"], \"public\": true},"
		" {\"id\": \"22222222-2222-4222-8222-222222222222\","
		"  \"community\": \"k\", \"title\": \"U\", \"default_marking\": \"TLP:GREEN\","
		"  \"can_read\": [\"reader\"], \"can_write\": [\"analyst\"]}]}",
		0, &jerr);
	assert_non_null(doc);
	rk_errctx_clear(&ctx);
	assert_int_equal(dir_from_file_json(doc, &d, &ctx), RK_OK);
	const dir_community *k = dir_find_community(d, "k");
	assert_true(dir_org_reaches(d, k, "prov"));
	assert_true(dir_org_reaches(d, k, "cli"));
	assert_false(dir_org_reaches(d, k, "out"));
	assert_true(dir_find_collection(d, "11111111-1111-4111-8111-111111111111")->is_public);
	assert_false(dir_find_collection(d, "22222222-2222-4222-8222-222222222222")->is_public);
	/* "public" survives the stored form, and must be a boolean. */
	json_t *stored = dir_to_stored_json(d);
	directory *back = NULL;
	assert_int_equal(dir_from_stored_json(stored, &back, &ctx), RK_OK);
	assert_true(dir_find_collection(back, "11111111-1111-4111-8111-111111111111")->is_public);
	assert_false(dir_find_collection(back, "22222222-2222-4222-8222-222222222222")->is_public);
	json_decref(stored);
	dir_free(back);
	dir_free(d);
	d = NULL;
	json_object_set_new(json_array_get(json_object_get(doc, "collections"), 0), "public",
			    json_string("yes"));
	assert_int_equal(dir_from_file_json(doc, &d, &ctx), RK_EINVAL);
	assert_string_equal(ctx.path, "collections[0].public");
	json_decref(doc);
}

static void test_diff(void **state)
{
	(void)state;
	directory *a = load_example(), *b = NULL, *empty = NULL;
	dir_change_summary s = {0};
	rk_errctx ctx;
	rk_errctx_clear(&ctx);

	assert_int_equal(dir_diff(a, a, &s), RK_OK);
	assert_int_equal(s.added + s.updated + s.removed, 0);
	assert_true(s.text.len == 0);

	json_t *doc = json_object();
	assert_int_equal(dir_from_file_json(doc, &empty, &ctx), RK_OK);
	assert_int_equal(dir_diff(empty, a, &s), RK_OK);
	assert_int_equal(s.added, 7 + 8 + 3 + 3);
	assert_non_null(strstr(s.text.data, "+ user npa-analyst (npa, analyst)\n"));
	assert_non_null(strstr(s.text.data, "+ community gov (Whole of government, government)\n"));
	dir_change_summary_cleanup(&s);
	json_decref(doc);

	/* one role changed, one collection dropped, one token changed */
	doc = load(EXAMPLE);
	json_t *users = json_object_get(doc, "users");
	json_object_set_new(json_array_get(users, 2), "role", json_string("analyst"));
	json_object_set_new(json_array_get(users, 1), "token",
			    json_string("npa-ffffffffffffffffffffffffffffffffffffffffffffffff"));
	json_array_remove(json_object_get(doc, "collections"), 2);
	assert_int_equal(dir_from_file_json(doc, &b, &ctx), RK_OK);
	assert_int_equal(dir_diff(a, b, &s), RK_OK);
	assert_int_equal(s.added, 0);
	assert_int_equal(s.updated, 2);
	assert_int_equal(s.removed, 1);
	assert_string_equal(s.text.data,
			    "~ user meti-reader: role\n"
			    "~ user npa-analyst: token\n"
			    "- collection 7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b (Partner exchange, "
			    "community intl): removed from the directory; its stored objects are "
			    "kept and reappear if it is re-added\n");
	dir_change_summary_cleanup(&s);
	json_decref(doc);
	dir_free(a);
	dir_free(b);
	dir_free(empty);
}

static void test_names(void **state)
{
	(void)state;
	dir_role r;
	dir_tier t;
	for (int i = 0; i < DIR_ROLE_COUNT; i++) {
		assert_true(dir_role_parse(dir_role_name((dir_role)i), &r));
		assert_int_equal(r, i);
	}
	for (int i = 0; i < DIR_TIER_COUNT; i++) {
		assert_true(dir_tier_parse(dir_tier_name((dir_tier)i), &t));
		assert_int_equal(t, i);
	}
	assert_false(dir_role_parse("Admin", &r));
	assert_false(dir_tier_parse("", &t));
	assert_string_equal(dir_role_name(DIR_ROLE_PARTNER), "partner");
	assert_string_equal(dir_tier_name(DIR_TIER_NATION), "nation");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_accepted),
		cmocka_unit_test(test_invalid_files),
		cmocka_unit_test(test_optional_fields),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_stored_round_trip),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_reach_and_public),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
