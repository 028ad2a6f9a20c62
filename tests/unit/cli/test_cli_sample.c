/*
 * test_cli_sample.c: the demo's sample directory and intelligence.
 *
 * The demo is the first thing most people run, so what it serves must be
 * right: the directory file must parse, every generated object must pass
 * the STIX validator without even a warning, every object must be
 * publishable by the organisation it is attributed to (created_by_ref is
 * that organisation's identity, it is a member of the collection's
 * community, and it owns every id it publishes), and the same seed must give
 * the same objects so a re-run stores nothing new.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli_int.h"
#include "directory.h"
#include "stix.h"

typedef struct fixture {
	directory *dir;
	char **tokens;
	size_t n_users;
} fixture;

static const char *identity_of(void *arg, const char *org_id)
{
	const dir_org *o = dir_find_org(arg, org_id);
	return o ? o->identity_id : NULL;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	rk_errctx ctx;

	assert_non_null(f);
	cli_sample_users(&f->n_users);
	f->tokens = calloc(f->n_users, sizeof *f->tokens);
	assert_non_null(f->tokens);
	for (size_t i = 0; i < f->n_users; i++) {
		f->tokens[i] = malloc(2 * RK_TOKEN_RANDOM_BYTES + 16);
		assert_non_null(f->tokens[i]);
		dir_token_new("rk", f->tokens[i], 2 * RK_TOKEN_RANDOM_BYTES + 16);
	}
	json_t *doc = cli_sample_directory((const char *const *)f->tokens);
	assert_non_null(doc);
	rk_errctx_clear(&ctx);
	rk_err err = dir_from_file_json(doc, &f->dir, &ctx);
	if (err)
		fail_msg("sample directory rejected: %s: %s", ctx.path, ctx.msg);
	json_decref(doc);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	for (size_t i = 0; i < f->n_users; i++)
		free(f->tokens[i]);
	free(f->tokens);
	dir_free(f->dir);
	free(f);
	return 0;
}

static void count_warning(void *arg, const char *path, const char *msg)
{
	size_t *n = arg;
	print_message("warning: %s: %s\n", path, msg);
	(*n)++;
}

static void test_directory_shape(void **state)
{
	fixture *f = *state;
	const directory *d = f->dir;

	assert_int_equal(d->n_communities, 3);
	assert_int_equal(d->n_collections, 6);
	assert_int_equal(d->n_users, f->n_users);
	assert_non_null(dir_find_org(d, "nisc"));
	assert_non_null(dir_find_user(d, "nisc-analyst"));
	/* The integrator serves clients; the partner CERT is abroad. */
	const dir_org *si = dir_find_org(d, "kaiho-si");
	assert_non_null(si);
	assert_true(dir_org_serves(si, "minato-city"));
	assert_string_equal(dir_find_org(d, "krcert")->country, "KR");
	/* Every token authenticates its own user, and only that one. */
	size_t n;
	const cli_sample_user *u = cli_sample_users(&n);
	for (size_t i = 0; i < n; i++) {
		const dir_user *found =
			dir_authenticate_token(d, f->tokens[i], strlen(f->tokens[i]));
		assert_non_null(found);
		assert_string_equal(found->name, u[i].name);
	}
}

static void test_every_object_valid(void **state)
{
	fixture *f = *state;
	cli_sample_set set;
	rk_errctx ctx;
	size_t warnings = 0;
	stix_validate_opts opts = { .warn = count_warning, .warn_arg = &warnings,
				    .strict_types = true };
	static const char *const types[] = {
		"threat-actor", "intrusion-set", "malware", "identity", "attack-pattern",
		"campaign", "indicator", "relationship", "sighting", "report",
	};
	size_t counts[RK_ARRAY_LEN(types)] = { 0 };

	rk_errctx_clear(&ctx);
	assert_int_equal(cli_sample_generate(42, 1000, identity_of, f->dir, &set, &ctx), RK_OK);
	assert_true(set.n >= 1000);
	assert_true(set.n < 1100); /* stops after the story that reaches the target */
	for (size_t i = 0; i < set.n; i++) {
		const json_t *o = set.items[i].object;
		rk_errctx_clear(&ctx);
		if (stix_validate_object(o, "", &opts, &ctx) != RK_OK) {
			char *text = rk_json_dump(o);
			fail_msg("object %zu invalid: %s: %s\n%s", i, ctx.path, ctx.msg, text);
		}
		const char *type = json_string_value(json_object_get(o, "type"));
		size_t t;
		for (t = 0; t < RK_ARRAY_LEN(types); t++)
			if (strcmp(types[t], type) == 0)
				break;
		if (t == RK_ARRAY_LEN(types))
			fail_msg("unexpected type %s", type);
		counts[t]++;
	}
	assert_int_equal(warnings, 0);
	for (size_t t = 0; t < RK_ARRAY_LEN(types); t++) {
		print_message("%-15s %zu\n", types[t], counts[t]);
		assert_true(counts[t] > 0);
	}
	/* Indicators and relationships are the bulk, as in real feeds. */
	assert_true(counts[6] > set.n / 5);
	assert_true(counts[7] > counts[6]);
	cli_sample_set_cleanup(&set);
}

/* Each pattern kind the sensor matches on appears. */
static void test_pattern_kinds(void **state)
{
	fixture *f = *state;
	cli_sample_set set;
	rk_errctx ctx;
	static const char *const prefixes[] = { "[ipv4-addr:value = '", "[domain-name:value = '",
						"[url:value = 'http://", "[file:hashes.'SHA-256' = '" };
	size_t seen[4] = { 0 };

	assert_int_equal(cli_sample_generate(7, 200, identity_of, f->dir, &set, &ctx), RK_OK);
	for (size_t i = 0; i < set.n; i++) {
		const char *p = json_string_value(json_object_get(set.items[i].object, "pattern"));
		for (size_t k = 0; p && k < 4; k++)
			seen[k] += strncmp(p, prefixes[k], strlen(prefixes[k])) == 0;
		/* Documentation address space and names only. */
		if (p && strncmp(p, prefixes[0], strlen(prefixes[0])) == 0)
			assert_true(strstr(p, "'192.0.2.") || strstr(p, "'198.51.100.") ||
				    strstr(p, "'203.0.113."));
		if (p && strncmp(p, prefixes[1], strlen(prefixes[1])) == 0)
			assert_non_null(strstr(p, ".example."));
	}
	for (size_t k = 0; k < 4; k++)
		assert_true(seen[k] > 0);
	cli_sample_set_cleanup(&set);
}

/* Everything is publishable by its organisation into its collection. */
static void test_publishable(void **state)
{
	fixture *f = *state;
	cli_sample_set set;
	rk_errctx ctx;

	assert_int_equal(cli_sample_generate(1, 600, identity_of, f->dir, &set, &ctx), RK_OK);
	for (size_t i = 0; i < set.n; i++) {
		const cli_sample_item *it = &set.items[i];
		const dir_collection *c = dir_find_collection(f->dir, it->collection);
		assert_non_null(c);
		const dir_community *com = dir_find_community(f->dir, c->community);
		assert_non_null(com);
		if (!dir_org_is_member(com, it->org))
			fail_msg("%s is not a member of %s", it->org, com->id);
		const dir_org *org = dir_find_org(f->dir, it->org);
		assert_non_null(org);
		assert_string_equal(json_string_value(json_object_get(it->object, "created_by_ref")),
				    org->identity_id);
		/* One owner per id, and (id, modified) unique. */
		const char *id = json_string_value(json_object_get(it->object, "id"));
		const char *mod = json_string_value(json_object_get(it->object, "modified"));
		for (size_t j = 0; j < i; j++) {
			const json_t *o = set.items[j].object;
			if (strcmp(json_string_value(json_object_get(o, "id")), id) != 0)
				continue;
			assert_string_equal(set.items[j].org, it->org);
			assert_string_not_equal(json_string_value(json_object_get(o, "modified")), mod);
		}
	}
	cli_sample_set_cleanup(&set);
}

/* Same seed, same objects; a larger target extends a smaller one. */
static void test_deterministic(void **state)
{
	fixture *f = *state;
	cli_sample_set a, b, c;
	rk_errctx ctx;

	assert_int_equal(cli_sample_generate(99, 300, identity_of, f->dir, &a, &ctx), RK_OK);
	assert_int_equal(cli_sample_generate(99, 600, identity_of, f->dir, &b, &ctx), RK_OK);
	assert_int_equal(cli_sample_generate(100, 300, identity_of, f->dir, &c, &ctx), RK_OK);
	assert_true(b.n > a.n);
	for (size_t i = 0; i < a.n; i++)
		assert_true(json_equal(a.items[i].object, b.items[i].object));
	assert_false(json_equal(json_object_get(a.items[0].object, "id"),
				json_object_get(c.items[0].object, "id")));
	cli_sample_set_cleanup(&a);
	cli_sample_set_cleanup(&b);
	cli_sample_set_cleanup(&c);
}

static const char *no_identity(void *arg, const char *org_id)
{
	(void)arg;
	(void)org_id;
	return NULL;
}

static void test_unknown_org_is_an_error(void **state)
{
	cli_sample_set set;
	rk_errctx ctx;

	(void)state;
	rk_errctx_clear(&ctx);
	assert_int_equal(cli_sample_generate(1, 10, no_identity, NULL, &set, &ctx), RK_EINVAL);
	assert_non_null(strstr(ctx.msg, "has no identity"));
	assert_int_equal(set.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_directory_shape),
		cmocka_unit_test(test_every_object_valid),
		cmocka_unit_test(test_pattern_kinds),
		cmocka_unit_test(test_publishable),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_unknown_org_is_an_error),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
