/*
 * test_dir_store.c: applying directories to a real store (SQLite in a
 * temporary directory) and loading them back.
 *
 * What an operator relies on: applying the example twice changes nothing
 * the second time and keeps the version; removing an entry from the file
 * removes it; users given without a token keep theirs; identity timestamps
 * stay put until the identity changes; a plan writes nothing.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "directory.h"

#define EXAMPLE "tests/unit/directory/example-directory.json"
#define NPA_TOKEN "npa-0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct fixture {
	char dir[64];
	store *st;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/rk-dir-test-XXXXXX");
	if (!mkdtemp(f->dir) || store_open(f->dir, &f->st, &ctx) != RK_OK) {
		char msg[1024];
		rk_errctx_format(&ctx, msg, sizeof msg);
		print_error("store_open: %s\n", msg);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	DIR *d;
	struct dirent *e;
	char path[512];

	store_close(f->st);
	if ((d = opendir(f->dir))) {
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static json_t *load_json(void)
{
	json_t *doc = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(rk_json_load_file(EXAMPLE, 1 << 20, RK_MAX_JSON_DEPTH, &doc, &ctx),
			 RK_OK);
	return doc;
}

static directory *from_json(const json_t *doc)
{
	directory *d = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(dir_from_file_json(doc, &d, &ctx), RK_OK);
	return d;
}

/* Applies doc; returns the summary text (caller frees) and the version. */
static char *apply(store *st, const json_t *doc, uint64_t *version,
		   dir_change_summary *counts)
{
	directory *d = from_json(doc);
	dir_change_summary s = {0};
	rk_errctx ctx;
	char msg[1024];

	rk_errctx_clear(&ctx);
	rk_err err = dir_apply(st, d, &s, &ctx);
	rk_errctx_format(&ctx, msg, sizeof msg);
	if (err)
		fail_msg("dir_apply: %s", msg);
	assert_int_equal(dir_stored_version(st, version, &ctx), RK_OK);
	if (counts) {
		counts->added = s.added;
		counts->updated = s.updated;
		counts->removed = s.removed;
	}
	char *text = s.text.data ? strdup(s.text.data) : strdup("");
	dir_change_summary_cleanup(&s);
	dir_free(d);
	return text;
}

static void test_empty_store(void **state)
{
	fixture *f = *state;
	directory *d = NULL;
	uint64_t v = 99;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);

	assert_int_equal(dir_load(f->st, &d, &ctx), RK_OK);
	assert_int_equal(d->version, 0);
	assert_int_equal(d->n_orgs + d->n_users + d->n_communities + d->n_collections, 0);
	assert_int_equal(dir_stored_version(f->st, &v, &ctx), RK_OK);
	assert_int_equal(v, 0);
	dir_free(d);
}

static void test_apply_twice(void **state)
{
	fixture *f = *state;
	json_t *doc = load_json();
	uint64_t v1, v2;
	dir_change_summary c = {0};
	directory *loaded = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);

	char *t1 = apply(f->st, doc, &v1, &c);
	assert_true(v1 > 0);
	assert_int_equal(c.added, 21);
	assert_int_equal(c.updated + c.removed, 0);
	assert_non_null(strstr(t1, "+ organisation si-corp (SI Corp)\n"));
	assert_non_null(strstr(t1, "+ collection 9f3c1e2a-6b7d-4c8e-9a0b-1c2d3e4f5a60 "
				   "(Government indicators, community gov)\n"));

	char *t2 = apply(f->st, doc, &v2, &c);
	assert_string_equal(t2, "");
	assert_int_equal(c.added + c.updated + c.removed, 0);
	assert_int_equal(v2, v1);

	assert_int_equal(dir_load(f->st, &loaded, &ctx), RK_OK);
	assert_int_equal(loaded->version, v1);
	assert_int_equal(loaded->n_users, 8);
	const dir_user *u = dir_authenticate_token(loaded, NPA_TOKEN, strlen(NPA_TOKEN));
	assert_non_null(u);
	assert_string_equal(u->name, "npa-analyst");
	const dir_org *o = dir_find_org(loaded, "nisc");
	assert_true(o->identity_created > 0);
	assert_true(o->identity_modified == o->identity_created);
	json_t *id = dir_org_identity(o);
	assert_string_not_equal(json_string_value(json_object_get(id, "created")),
				"1970-01-01T00:00:00.000Z");
	json_decref(id);

	free(t1);
	free(t2);
	dir_free(loaded);
	json_decref(doc);
}

static void test_remove_and_readd(void **state)
{
	fixture *f = *state;
	json_t *doc = load_json();
	uint64_t v1, v2, v3;
	dir_change_summary c = {0};
	directory *loaded = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);

	free(apply(f->st, doc, &v1, NULL));
	/* drop user meti-reader and collection "Partner exchange" */
	json_t *smaller = json_deep_copy(doc);
	json_array_remove(json_object_get(smaller, "users"), 2);
	json_array_remove(json_object_get(smaller, "collections"), 2);
	char *t = apply(f->st, smaller, &v2, &c);
	assert_true(v2 > v1);
	assert_int_equal(c.removed, 2);
	assert_int_equal(c.added + c.updated, 0);
	assert_string_equal(t, "- user meti-reader\n"
			       "- collection 7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b (Partner "
			       "exchange, community intl): removed from the directory; its stored "
			       "objects are kept and reappear if it is re-added\n");
	free(t);
	assert_int_equal(dir_load(f->st, &loaded, &ctx), RK_OK);
	assert_null(dir_find_user(loaded, "meti-reader"));
	assert_null(dir_find_collection(loaded, "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b"));
	assert_int_equal(loaded->n_users, 7);
	dir_free(loaded);

	/* back again */
	t = apply(f->st, doc, &v3, &c);
	assert_true(v3 > v2);
	assert_int_equal(c.added, 2);
	free(t);
	json_decref(smaller);
	json_decref(doc);
}

static void test_tokens_kept(void **state)
{
	fixture *f = *state;
	json_t *doc = load_json();
	uint64_t v1, v2, v3;
	directory *loaded = NULL;
	dir_change_summary c = {0};
	rk_errctx ctx;
	rk_errctx_clear(&ctx);

	free(apply(f->st, doc, &v1, NULL));
	/* the same file without tokens changes nothing: users keep theirs */
	json_t *bare = json_deep_copy(doc);
	size_t i;
	json_t *u;
	json_array_foreach(json_object_get(bare, "users"), i, u)
		json_object_del(u, "token");
	char *t = apply(f->st, bare, &v2, &c);
	assert_string_equal(t, "");
	assert_int_equal(v2, v1);
	free(t);
	assert_int_equal(dir_load(f->st, &loaded, &ctx), RK_OK);
	assert_non_null(dir_authenticate_token(loaded, NPA_TOKEN, strlen(NPA_TOKEN)));
	dir_free(loaded);

	/* a new token replaces the old one */
	json_object_set_new(json_array_get(json_object_get(bare, "users"), 1), "token",
			    json_string("npa-new-token-0000000000000000000000000000"));
	t = apply(f->st, bare, &v3, &c);
	assert_string_equal(t, "~ user npa-analyst: token\n");
	assert_true(v3 > v2);
	free(t);
	assert_int_equal(dir_load(f->st, &loaded, &ctx), RK_OK);
	assert_null(dir_authenticate_token(loaded, NPA_TOKEN, strlen(NPA_TOKEN)));
	assert_non_null(dir_authenticate_token(
		loaded, "npa-new-token-0000000000000000000000000000", 42));
	dir_free(loaded);

	/* `show` output applies as a no-op */
	assert_int_equal(dir_load(f->st, &loaded, &ctx), RK_OK);
	json_t *shown = dir_to_file_json(loaded);
	uint64_t v4;
	t = apply(f->st, shown, &v4, NULL);
	assert_string_equal(t, "");
	assert_int_equal(v4, v3);
	free(t);
	json_decref(shown);
	dir_free(loaded);
	json_decref(bare);
	json_decref(doc);
}

static void test_identity_times(void **state)
{
	fixture *f = *state;
	json_t *doc = load_json();
	uint64_t v;
	directory *a = NULL, *b = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);

	free(apply(f->st, doc, &v, NULL));
	assert_int_equal(dir_load(f->st, &a, &ctx), RK_OK);
	/* clients and country are not part of the identity; the name is */
	json_t *orgs = json_object_get(doc, "organizations");
	json_object_set_new(json_array_get(orgs, 1), "name", json_string("National Police Agency of Japan"));
	json_object_del(json_array_get(orgs, 0), "country");
	char *t = apply(f->st, doc, &v, NULL);
	assert_string_equal(t, "~ organisation nisc: country\n"
			       "~ organisation npa: name\n");
	free(t);
	assert_int_equal(dir_load(f->st, &b, &ctx), RK_OK);
	const dir_org *na = dir_find_org(a, "nisc"), *nb = dir_find_org(b, "nisc");
	assert_true(nb->identity_created == na->identity_created);
	assert_true(nb->identity_modified == na->identity_modified);
	const dir_org *pa = dir_find_org(a, "npa"), *pb = dir_find_org(b, "npa");
	assert_true(pb->identity_created == pa->identity_created);
	assert_true(pb->identity_modified > pa->identity_modified);
	dir_free(a);
	dir_free(b);
	json_decref(doc);
}

static void test_plan_writes_nothing(void **state)
{
	fixture *f = *state;
	json_t *doc = load_json();
	directory *d = from_json(doc);
	dir_change_summary s = {0};
	uint64_t v = 99;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);

	assert_int_equal(dir_plan(f->st, d, &s, &ctx), RK_OK);
	assert_int_equal(s.added, 21);
	assert_int_equal(dir_stored_version(f->st, &v, &ctx), RK_OK);
	assert_int_equal(v, 0);
	dir_change_summary_cleanup(&s);
	/* NULL summary is allowed */
	assert_int_equal(dir_apply(f->st, d, NULL, &ctx), RK_OK);
	assert_int_equal(dir_stored_version(f->st, &v, &ctx), RK_OK);
	assert_true(v > 0);
	dir_free(d);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_and_readd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_times, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_writes_nothing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
