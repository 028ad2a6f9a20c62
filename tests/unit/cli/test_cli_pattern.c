/*
 * test_cli_pattern.c: the exit statuses of `renkei pattern check` and
 * `renkei match`, which scripts rely on.
 *
 * pattern check: 0 valid, 1 invalid, 2 usage. match: 0 match, 1 no match,
 * 2 any error (bad pattern, unreadable or unusable file, usage). The
 * observed-data is tests/cli/pattern-observed.json (run from the repository
 * root, as `make check` does); the patterns' semantics are tested in
 * tests/unit/pattern/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli_int.h"

#define OBSERVED "tests/cli/pattern-observed.json"

static int run(int (*cmd)(int, char **), int argc, const char **argv)
{
	return cmd(argc, (char **)argv);
}

static void test_pattern_check(void **state)
{
	(void)state;
	const char *ok[] = { "pattern", "check", "[ipv4-addr:value = '198.51.100.1']" };
	const char *bad[] = { "pattern", "check", "[ipv4-addr:value = ]" };
	const char *usage[] = { "pattern", "verify", "[a:b = 1]" };

	assert_int_equal(run(cli_cmd_pattern, 3, ok), 0);
	assert_int_equal(run(cli_cmd_pattern, 3, bad), 1);
	assert_int_equal(run(cli_cmd_pattern, 3, usage), 2);
	assert_int_equal(run(cli_cmd_pattern, 2, ok), 2);
}

static void test_match(void **state)
{
	(void)state;
	const char *yes[] = { "match", "--pattern", "[ipv4-addr:value ISSUBSET '198.51.100.0/24'] REPEATS 50 TIMES",
			      "--observed", OBSERVED };
	const char *no[] = { "match", "--pattern", "[ipv4-addr:value = '198.51.100.2']",
			     "--observed", OBSERVED };
	const char *badpat[] = { "match", "--pattern", "[ipv4-addr:value = '198.51.100.2'",
				 "--observed", OBSERVED };
	const char *nofile[] = { "match", "--pattern", "[a:b = 1]", "--observed",
				 "tests/cli/no-such-file.json" };
	const char *notobs[] = { "match", "--pattern", "[a:b = 1]", "--observed",
				 "tests/cli/good-bundle.json" };
	const char *usage[] = { "match", "--pattern", "[a:b = 1]" };

	assert_int_equal(run(cli_cmd_match, 5, yes), 0);
	assert_int_equal(run(cli_cmd_match, 5, no), 1);
	assert_int_equal(run(cli_cmd_match, 5, badpat), 2);
	assert_int_equal(run(cli_cmd_match, 5, nofile), 2);
	assert_int_equal(run(cli_cmd_match, 3, usage), 2);
	/* a bundle without observed-data has nothing to match: no match */
	assert_int_equal(run(cli_cmd_match, 5, notobs), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pattern_check),
		cmocka_unit_test(test_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
