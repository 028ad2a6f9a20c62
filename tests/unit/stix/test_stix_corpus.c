/*
 * test_stix_corpus.c: the STIX validation corpus as data.
 *
 * tests/stix-corpus/valid/NAME.json must validate without error;
 * tests/stix-corpus/invalid/NAME.json must fail, and NAME.expect holds the
 * one line the error must format to ("objects[0].valid_until: must be later
 * than valid_from", rk_errctx_format). A document whose type is "bundle" is
 * validated as a bundle, anything else as a bare object (path "").
 * Adding a case is adding two files; the names say what each case is about.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "stix.h"

#define CORPUS "tests/stix-corpus"

static rk_err
validate_path(const char *file, rk_errctx *ctx)
{
	json_t *doc = NULL;
	rk_errctx_clear(ctx);
	rk_err e = rk_json_load_file(file, RK_MAX_OBJECT_BYTES, RK_MAX_JSON_DEPTH,
				     &doc, ctx);
	if (e != RK_OK)
		return e;
	const char *type = json_string_value(json_object_get(doc, "type"));
	if (type != NULL && strcmp(type, "bundle") == 0)
		e = stix_validate_bundle(doc, NULL, ctx);
	else
		e = stix_validate_object(doc, "", NULL, ctx);
	json_decref(doc);
	return e;
}

static bool
has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n > m && strcmp(s + n - m, suf) == 0;
}

static void
test_valid(void **state)
{
	(void)state;
	DIR *d = opendir(CORPUS "/valid");
	assert_non_null(d);
	int n = 0, bad = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!has_suffix(de->d_name, ".json"))
			continue;
		char p[1024], msg[1024];
		rk_errctx ctx;
		snprintf(p, sizeof(p), CORPUS "/valid/%s", de->d_name);
		n++;
		if (validate_path(p, &ctx) != RK_OK) {
			rk_errctx_format(&ctx, msg, sizeof(msg));
			print_error("%s: %s\n", p, msg);
			bad++;
		}
	}
	closedir(d);
	print_message("%d valid cases\n", n);
	assert_true(n >= 40);
	assert_int_equal(bad, 0);
}

static bool
read_expect(const char *json_path, char *out, size_t n)
{
	char p[1024];
	size_t len = strlen(json_path) - strlen(".json");
	snprintf(p, sizeof(p), "%.*s.expect", (int)len, json_path);
	FILE *f = fopen(p, "r");
	if (f == NULL)
		return false;
	bool ok = fgets(out, (int)n, f) != NULL;
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
	return ok;
}

static void
test_invalid(void **state)
{
	(void)state;
	DIR *d = opendir(CORPUS "/invalid");
	assert_non_null(d);
	int n = 0, bad = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!has_suffix(de->d_name, ".json"))
			continue;
		char p[1024], want[1024], got[1024];
		rk_errctx ctx;
		snprintf(p, sizeof(p), CORPUS "/invalid/%s", de->d_name);
		n++;
		if (!read_expect(p, want, sizeof(want))) {
			print_error("%s: no .expect file\n", p);
			bad++;
			continue;
		}
		rk_err e = validate_path(p, &ctx);
		rk_errctx_format(&ctx, got, sizeof(got));
		if (e != RK_ESTIX || strcmp(got, want) != 0) {
			print_error("%s:\n  want: %s\n  got:  %s (%s)\n", p, want,
				    e == RK_OK ? "(valid)" : got, rk_strerror(e));
			bad++;
		}
	}
	closedir(d);
	print_message("%d invalid cases\n", n);
	assert_true(n >= 60);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
