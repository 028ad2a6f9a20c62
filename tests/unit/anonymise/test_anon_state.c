/*
 * test_anon_state.c: the durable state of anonymous submission in a
 * temporary data directory: the key (made once, kept, a damaged key file
 * refused), originals (only the submitting organisation's, by posted or
 * stored id, deleted past the retention), and the review queue (pending ->
 * approved | rejected once, a rejected object dropped, items of a failed
 * request forgotten).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "anonymise.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/anon-state-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_key(void **state)
{
	anon_state *s = NULL;
	rk_errctx ctx;
	unsigned char k1[ANON_KEY_BYTES];
	char path[128];
	struct stat sb;
	(void)state;

	rk_errctx_clear(&ctx);
	assert_int_equal(anon_state_open(dir, &s, &ctx), RK_OK);
	memcpy(k1, anon_state_key(s), sizeof k1);
	anon_state_close(s);
	snprintf(path, sizeof path, "%s/anonymise.key", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* the same key on the next start, through "sqlite:DIR" too */
	char loc[96];
	snprintf(loc, sizeof loc, "sqlite:%s", dir);
	assert_int_equal(anon_state_open(loc, &s, &ctx), RK_OK);
	assert_memory_equal(anon_state_key(s), k1, sizeof k1);
	anon_state_close(s);
	/* a damaged key is refused, not replaced */
	char other[96];
	snprintf(other, sizeof other, "%s/bad", dir);
	mkdir(other, 0700);
	snprintf(path, sizeof path, "%s/anonymise.key", other);
	FILE *f = fopen(path, "w");
	fputs("not hex\n", f);
	fclose(f);
	assert_int_equal(anon_state_open(other, &s, &ctx), RK_ECONFIG);
	assert_null(s);
	assert_non_null(strstr(ctx.msg, "expected 64 hexadecimal"));
}

static rk_err collect(void *arg, const anon_original *o)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 256 - n, "%s%s>%s", n ? "," : "", o->posted_id, o->stored_id);
	return RK_OK;
}

static void test_originals(void **state)
{
	anon_state *s = NULL;
	rk_errctx ctx;
	char got[256] = "";
	size_t n = 0;
	(void)state;

	rk_errctx_clear(&ctx);
	assert_int_equal(anon_state_open(dir, &s, &ctx), RK_OK);
	anon_original o[] = {
		{"op", "nat", "c1", "ipv4-addr--a", "ipv4-addr--b", "v1", "{\"x\":1}", 1000},
		{"op", "nat", "c1", "indicator--c", "indicator--c", "v1", "{\"x\":2}", 5000},
		{"si", "nat", "c1", "indicator--c", "indicator--c", "v1", "{\"x\":3}", 5000},
	};
	assert_int_equal(anon_state_keep(s, o, 3, &ctx), RK_OK);
	assert_int_equal(anon_state_originals(s, "op", "ipv4-addr--b", collect, got, &ctx), RK_OK);
	assert_string_equal(got, "ipv4-addr--a>ipv4-addr--b");
	got[0] = '\0';
	assert_int_equal(anon_state_originals(s, "op", "ipv4-addr--a", collect, got, &ctx), RK_OK);
	assert_string_equal(got, "ipv4-addr--a>ipv4-addr--b");
	got[0] = '\0';
	/* another organisation's original of the same id is not op's */
	assert_int_equal(anon_state_originals(s, "op", "indicator--c", collect, got, &ctx), RK_OK);
	assert_string_equal(got, "indicator--c>indicator--c");
	got[0] = '\0';
	assert_int_equal(anon_state_originals(s, "far", "indicator--c", collect, got, &ctx), RK_OK);
	assert_string_equal(got, "");
	/* the retention */
	assert_int_equal(anon_state_purge(s, 2000, &n, &ctx), RK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(anon_state_originals(s, "op", "ipv4-addr--a", collect, got, &ctx), RK_OK);
	assert_string_equal(got, "");
	anon_state_close(s);
}

typedef struct seen {
	char states[256];
	bool object_null;
} seen;

static rk_err note_item(void *arg, const anon_review_item *it)
{
	seen *s = arg;
	size_t n = strlen(s->states);
	snprintf(s->states + n, sizeof s->states - n, "%s%s=%s", n ? "," : "", it->posted_id,
		 it->state);
	s->object_null = it->object == NULL;
	return RK_OK;
}

static void test_queue(void **state)
{
	anon_state *s = NULL;
	rk_errctx ctx;
	seen sn = {{0}};
	(void)state;

	rk_errctx_clear(&ctx);
	assert_int_equal(anon_state_open(dir, &s, &ctx), RK_OK);
	anon_review_item items[] = {
		{.id = "i1", .org = "op", .user = "op-a", .community = "nat", .collection = "c1",
		 .status_id = "s1", .posted_id = "a", .stored_id = "a", .version = "v",
		 .object = "{}", .findings = "email pattern (review)", .received = 1},
		{.id = "i2", .org = "op", .user = "op-a", .community = "nat", .collection = "c1",
		 .status_id = "s1", .posted_id = "b", .stored_id = "b", .version = "v",
		 .object = "{}", .findings = "", .received = 2},
		{.id = "i3", .org = "op", .user = "op-a", .community = "nat", .collection = "c1",
		 .status_id = "s2", .posted_id = "c", .stored_id = "c", .version = "v",
		 .object = "{}", .findings = "", .received = 3},
	};
	assert_int_equal(anon_state_queue(s, items, 3, &ctx), RK_OK);
	assert_int_equal(anon_state_review_list(s, "pending", note_item, &sn, &ctx), RK_OK);
	assert_string_equal(sn.states, "a=pending,b=pending,c=pending");
	assert_int_equal(anon_state_review_decide(s, "i1", true, NULL, &ctx), RK_OK);
	assert_int_equal(anon_state_review_decide(s, "i2", false, "no", &ctx), RK_OK);
	assert_int_equal(anon_state_review_decide(s, "i2", true, NULL, &ctx), RK_ECONFLICT);
	assert_int_equal(anon_state_review_decide(s, "nope", true, NULL, &ctx), RK_ECONFLICT);
	memset(&sn, 0, sizeof sn);
	assert_int_equal(anon_state_review_get(s, "i2", note_item, &sn, &ctx), RK_OK);
	assert_true(sn.object_null); /* a rejected object is dropped */
	assert_int_equal(anon_state_review_get(s, "i9", note_item, &sn, &ctx), RK_ENOTFOUND);
	assert_int_equal(anon_state_forget_status(s, "s2", &ctx), RK_OK);
	memset(&sn, 0, sizeof sn);
	assert_int_equal(anon_state_review_list(s, NULL, note_item, &sn, &ctx), RK_OK);
	assert_string_equal(sn.states, "a=approved,b=rejected");
	anon_state_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_originals),
		cmocka_unit_test(test_queue),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
