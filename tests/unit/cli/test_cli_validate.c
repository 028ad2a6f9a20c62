/*
 * test_cli_validate.c: `renkei validate` output, exactly.
 *
 * Each case is a STIX document in tests/cli/NAME.json and the expected
 * output in tests/cli/NAME.ok (run from the repository root, as `make check`
 * does). The output is the user interface: errors as "FILE: PATH: why",
 * warnings as "FILE: warning: PATH: why", parse errors with line and column,
 * one summary line; so the comparison is byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_int.h"

typedef struct capture {
	char *out, *err;
	size_t out_len, err_len;
	int rc;
} capture;

static void run(const char *const *files, int n, const cli_validate_opts *opts, capture *c)
{
	FILE *out = open_memstream(&c->out, &c->out_len);
	FILE *err = open_memstream(&c->err, &c->err_len);

	assert_non_null(out);
	assert_non_null(err);
	c->rc = cli_validate_run(n, (char **)files, opts, out, err);
	fclose(out);
	fclose(err);
}

static void release(capture *c)
{
	free(c->out);
	free(c->err);
}

static char *slurp(const char *path)
{
	char *data = NULL;
	size_t len = 0;
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	if (rk_read_file(path, 1 << 20, &data, &len, &ctx) != RK_OK)
		fail_msg("%s: %s", ctx.path, ctx.msg);
	return data;
}

static void check_golden(const char *name, int want_rc)
{
	char json[256], ok[256];
	cli_validate_opts opts = { 0 };
	capture c;

	snprintf(json, sizeof json, "tests/cli/%s.json", name);
	snprintf(ok, sizeof ok, "tests/cli/%s.ok", name);
	const char *files[] = { json };
	run(files, 1, &opts, &c);
	char *want = slurp(ok);
	assert_string_equal(c.out, want);
	assert_string_equal(c.err, "");
	assert_int_equal(c.rc, want_rc);
	free(want);
	release(&c);
}

static void test_good_bundle(void **state)
{
	(void)state;
	check_golden("good-bundle", 0);
}

/* Every invalid member is reported, not only the first. */
static void test_bad_bundle(void **state)
{
	(void)state;
	check_golden("bad-bundle", 1);
}

static void test_broken_json(void **state)
{
	(void)state;
	check_golden("broken", 1);
}

static void test_quiet_and_no_warnings(void **state)
{
	const char *files[] = { "tests/cli/bad-bundle.json" };
	cli_validate_opts quiet = { .quiet = true };
	cli_validate_opts nowarn = { .no_warnings = true };
	capture c;

	(void)state;
	run(files, 1, &quiet, &c);
	assert_string_equal(c.out, "4 objects, 2 valid, 2 invalid\n");
	assert_int_equal(c.rc, 1);
	release(&c);
	run(files, 1, &nowarn, &c);
	assert_null(strstr(c.out, "warning:"));
	assert_non_null(strstr(c.out, "objects[1].valid_from: not an RFC 3339 timestamp\n"));
	release(&c);
}

static void test_json_report(void **state)
{
	const char *files[] = { "tests/cli/good-bundle.json", "tests/cli/bad-bundle.json" };
	cli_validate_opts opts = { .json = true };
	capture c;
	json_error_t jerr;

	(void)state;
	run(files, 2, &opts, &c);
	json_t *doc = json_loads(c.out, 0, &jerr);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(doc, "objects")), 7);
	assert_int_equal(json_integer_value(json_object_get(doc, "invalid")), 2);
	assert_false(json_is_true(json_object_get(doc, "ok")));
	json_t *bad = json_array_get(json_object_get(doc, "files"), 1);
	json_t *e = json_array_get(json_object_get(bad, "errors"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "path")), "objects[1].valid_from");
	assert_string_equal(json_string_value(json_object_get(e, "message")),
			    "not an RFC 3339 timestamp");
	assert_int_equal(json_array_size(json_object_get(bad, "warnings")), 1);
	assert_int_equal(c.rc, 1);
	json_decref(doc);
	release(&c);
}

/* An unreadable file is an error on the error stream, and fails the run. */
static void test_missing_file(void **state)
{
	const char *files[] = { "tests/cli/no-such-file.json", "tests/cli/good-bundle.json" };
	cli_validate_opts opts = { 0 };
	capture c;

	(void)state;
	run(files, 2, &opts, &c);
	assert_string_equal(c.err, "renkei validate: tests/cli/no-such-file.json: cannot open: "
				   "No such file or directory\n");
	assert_string_equal(c.out, "3 objects, 3 valid, 0 invalid\n");
	assert_int_equal(c.rc, 1);
	release(&c);
}

/* A bare object and an array of objects are accepted as well as bundles. */
static void test_other_shapes(void **state)
{
	char path[] = "/tmp/renkei-test-validate-XXXXXX";
	capture c;
	cli_validate_opts opts = { 0 };

	(void)state;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("[{\"type\": \"campaign\", \"spec_version\": \"2.1\", "
	      "\"id\": \"campaign--d7f1a2b3-0c4e-4f5a-8b6c-7d8e9f0a1b2c\", "
	      "\"created\": \"2024-03-01T09:00:00.000Z\", "
	      "\"modified\": \"2024-03-01T09:00:00.000Z\"}]",
	      f);
	fclose(f);
	const char *files[] = { path };
	run(files, 1, &opts, &c);
	char want[512];
	snprintf(want, sizeof want, "%s: [0].name: required property missing\n"
		 "1 object, 0 valid, 1 invalid\n", path);
	assert_string_equal(c.out, want);
	release(&c);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_bundle),
		cmocka_unit_test(test_bad_bundle),
		cmocka_unit_test(test_broken_json),
		cmocka_unit_test(test_quiet_and_no_warnings),
		cmocka_unit_test(test_json_report),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_other_shapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
