/*
 * test_stix_examples.c: every STIX 2.1 example published by OASIS and MITRE
 * that the shared data directory holds must validate, and the validator's
 * known-bad fixtures must fail for their stated reason.
 *
 * Sources ($RK_SHARED/data/stix, RK_SHARED defaulting to ../shared):
 * cti-stix2-json-schemas/examples/ (recursive), cti-documentation/
 * example_json/, mitre-attack/ *-attack-*.json, cti-python-stix2/
 * v21-stix2_data/ (recursive; bare objects or bundles), and the valid files
 * of cti-stix-validator/v21-test_examples/. Files that are not valid STIX
 * 2.1 are listed in known_invalid with the spec rule they break, and the
 * test asserts that they fail for exactly that reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "stix.h"

#define MAX_FILE (64u * 1024u * 1024u)

static char stix_data[1024];

static const char *
data_dir(void)
{
	const char *shared = getenv("RK_SHARED");
	if (shared == NULL || shared[0] == '\0')
		shared = "../shared";
	snprintf(stix_data, sizeof(stix_data), "%s/data/stix", shared);
	return stix_data;
}

static bool
ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Shared-data files that are genuinely not STIX 2.1, with the reason each
 * is refused; listed so that a validator change that starts accepting them
 * is noticed. */
static const struct {
	const char *suffix; /* path tail under data/stix */
	const char *path;   /* expected ctx.path */
	const char *msg;    /* expected ctx.msg */
} known_invalid[] = {
	/* A STIX 2.0 bundle (spec_version "2.0") whose object has no
	 * spec_version: not 2.1 content. */
	{"cti-python-stix2/v21-stix2_data/malware/"
	 "malware--b42378e0-f147-496f-992a-26a49705395b/"
	 "20170531213215263882.json",
	 "spec_version", "STIX 2.0 bundles are not supported"},
};

typedef struct {
	int files;
	int failed;
	int warnings;
} tally;

static void
count_warn(void *arg, const char *path, const char *msg)
{
	(void)path;
	(void)msg;
	((tally *)arg)->warnings++;
}

/* Validates a bundle or bare object from file; prints why on failure. */
static rk_err
validate_file(const char *file, tally *t, rk_errctx *ctx)
{
	json_t *doc = NULL;
	stix_validate_opts opts = {.warn = count_warn, .warn_arg = t};
	rk_errctx_clear(ctx);
	rk_err e = rk_json_load_file(file, MAX_FILE, RK_MAX_JSON_DEPTH, &doc,
				     ctx);
	if (e == RK_OK) {
		const char *type =
			json_string_value(json_object_get(doc, "type"));
		if (type != NULL && strcmp(type, "bundle") == 0)
			e = stix_validate_bundle(doc, &opts, ctx);
		else
			e = stix_validate_object(doc, "", &opts, ctx);
	}
	json_decref(doc);
	return e;
}

static void
check_valid(const char *file, tally *t)
{
	rk_errctx ctx;
	t->files++;
	if (validate_file(file, t, &ctx) != RK_OK) {
		char msg[1024];
		rk_errctx_format(&ctx, msg, sizeof(msg));
		print_error("%s: %s\n", file, msg);
		t->failed++;
	}
}

/* Walks dir; recursive descends into subdirectories. */
static void
walk(const char *dir, bool recursive, const char *must_contain, tally *t)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		print_error("cannot open %s\n", dir);
		t->failed++;
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char p[2048];
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		struct stat st;
		if (stat(p, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (recursive)
				walk(p, true, must_contain, t);
			continue;
		}
		if (!ends_with(de->d_name, ".json"))
			continue;
		if (must_contain != NULL && strstr(de->d_name, must_contain) == NULL)
			continue;
		if (strncmp(de->d_name, "invalid_", 8) == 0)
			continue; /* cti-stix-validator's bad fixtures: below */
		bool known = false;
		for (size_t i = 0; i < sizeof(known_invalid) / sizeof(known_invalid[0]); i++)
			known |= ends_with(p, known_invalid[i].suffix);
		if (known)
			continue;
		check_valid(p, t);
	}
	closedir(d);
}

static bool
have_data(void)
{
	struct stat st;
	return stat(data_dir(), &st) == 0 && S_ISDIR(st.st_mode);
}

static void
run_dir(const char *sub, bool recursive, const char *must_contain, int min)
{
	if (!have_data()) {
		skip();
		return;
	}
	char dir[2048];
	snprintf(dir, sizeof(dir), "%s/%s", data_dir(), sub);
	tally t = {0};
	walk(dir, recursive, must_contain, &t);
	print_message("%s: %d files, %d warnings\n", sub, t.files, t.warnings);
	assert_true(t.files >= min);
	assert_int_equal(t.failed, 0);
}

static void
test_schema_examples(void **state)
{
	(void)state;
	run_dir("cti-stix2-json-schemas/examples", true, NULL, 8);
}

static void
test_documentation_examples(void **state)
{
	(void)state;
	run_dir("cti-documentation/example_json", false, NULL, 9);
}

static void
test_mitre_attack(void **state)
{
	(void)state;
	run_dir("mitre-attack", false, "-attack-", 2);
}

static void
test_python_stix2_data(void **state)
{
	(void)state;
	run_dir("cti-python-stix2/v21-stix2_data", true, NULL, 20);
}

static void
test_validator_valid(void **state)
{
	(void)state;
	run_dir("cti-stix-validator/v21-test_examples", false, NULL, 6);
}

static void
path_of(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/cti-stix-validator/v21-test_examples/%s",
		 data_dir(), name);
}

static void
test_validator_invalid(void **state)
{
	(void)state;
	if (!have_data()) {
		skip();
		return;
	}
	char p[2048];
	rk_errctx ctx;
	tally t = {0};

	/* Not JSON at all. */
	path_of(p, sizeof(p), "invalid_braces.json");
	assert_int_equal(validate_file(p, &t, &ctx), RK_EPARSE);
	path_of(p, sizeof(p), "invalid_comma.json");
	assert_int_equal(validate_file(p, &t, &ctx), RK_EPARSE);

	/* Missing required modified. */
	path_of(p, sizeof(p), "invalid_identity.json");
	assert_int_equal(validate_file(p, &t, &ctx), RK_ESTIX);
	assert_true(ends_with(ctx.path, ".modified"));
	assert_string_equal(ctx.msg, "required property missing");

	/* modified earlier than created. */
	path_of(p, sizeof(p), "invalid_timestamp.json");
	assert_int_equal(validate_file(p, &t, &ctx), RK_ESTIX);
	assert_string_equal(ctx.path, ".modified");
	assert_string_equal(ctx.msg, "must not be earlier than created");
}

static void
test_known_invalid(void **state)
{
	(void)state;
	if (!have_data()) {
		skip();
		return;
	}
	for (size_t i = 0; i < sizeof(known_invalid) / sizeof(known_invalid[0]); i++) {
		char p[2048];
		rk_errctx ctx;
		tally t = {0};
		snprintf(p, sizeof(p), "%s/%s", data_dir(), known_invalid[i].suffix);
		assert_int_equal(validate_file(p, &t, &ctx), RK_ESTIX);
		assert_string_equal(ctx.path, known_invalid[i].path);
		assert_string_equal(ctx.msg, known_invalid[i].msg);
	}
}

static void
test_validator_custom_warns(void **state)
{
	(void)state;
	if (!have_data()) {
		skip();
		return;
	}
	char p[2048];
	rk_errctx ctx;
	tally t = {0};
	path_of(p, sizeof(p), "identity_custom.json");
	assert_int_equal(validate_file(p, &t, &ctx), RK_OK);
	assert_true(t.warnings >= 1);

	tally t2 = {0};
	path_of(p, sizeof(p), "identity.json");
	assert_int_equal(validate_file(p, &t2, &ctx), RK_OK);
	assert_int_equal(t2.warnings, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_examples),
		cmocka_unit_test(test_documentation_examples),
		cmocka_unit_test(test_mitre_attack),
		cmocka_unit_test(test_python_stix2_data),
		cmocka_unit_test(test_validator_valid),
		cmocka_unit_test(test_validator_invalid),
		cmocka_unit_test(test_known_invalid),
		cmocka_unit_test(test_validator_custom_warns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
