/*
 * test_logs_block.c: logs cut into blocks by one reader and parsed by
 * others give exactly what one reader of the whole file gives.
 *
 * A Zeek log with two header sets (the second with other columns and
 * another unset marker), blank lines, a line longer than a block and a
 * last line without its newline is read once with logs_read_file and once
 * through a logs_blocker with small blocks whose contents are parsed by
 * three readers in turn (as sensor workers would), for several block
 * sizes. The observables (kind, field, value, line, timestamp) and the
 * error lines must be the same, in the same order. Then a followed file
 * grows, is rotated and is truncated: line numbers restart at 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "logs.h"

typedef struct trace {
	char text[64 * 1024];
	size_t len;
	int n;
} trace;

static int on_obs(const logs_obs *o, void *arg)
{
	trace *t = arg;
	int w = snprintf(t->text + t->len, sizeof t->text - t->len, "%llu %s %s %.*s %lld\n",
			 (unsigned long long)o->line, logs_field_name(o->field),
			 logs_kind_name(o->kind), (int)o->len, o->val,
			 o->has_ts ? (long long)o->ts_us : -1LL);
	if (w > 0 && (size_t)w < sizeof t->text - t->len)
		t->len += (size_t)w;
	t->n++;
	return 0;
}

static void on_err(const char *file, uint64_t line, const char *why, void *arg)
{
	trace *t = arg;
	(void)file;
	int w = snprintf(t->text + t->len, sizeof t->text - t->len, "%llu error %s\n",
			 (unsigned long long)line, why);
	if (w > 0 && (size_t)w < sizeof t->text - t->len)
		t->len += (size_t)w;
}

static void write_log(const char *path, size_t long_line)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
	      "#path\tdns\n#fields\tts\tid.orig_h\tid.resp_h\tquery\tanswers\n"
	      "#types\ttime\taddr\taddr\tstring\tvector[string]\n",
	      f);
	for (int i = 0; i < 40; i++)
		fprintf(f, "1767225600.%06d\t10.0.0.%d\t192.0.2.53\tq%d.example.com\t198.51.100.%d,-\n",
			i, i + 1, i, i);
	fputs("\n", f);
	for (size_t i = 0; i < long_line; i++)
		fputc('x', f);
	fputs("\n#close\t2026-01-01-00-00-00\n", f);
	/* a second log with other columns and another unset marker */
	fputs("#separator \\x09\n#unset_field\tNONE\n#fields\tquery\tts\tanswers\n", f);
	for (int i = 0; i < 30; i++)
		fprintf(f, "second-%d.example.net\t1767225700.5\t%s\n", i,
			i % 3 ? "203.0.113.9" : "NONE");
	fputs("last.example.org\t1767225800.0\t203.0.113.10", f); /* no newline */
	fclose(f);
}

static void read_whole(const char *path, trace *t)
{
	logs_reader r;
	assert_int_equal(logs_reader_init(&r, LOGS_FMT_AUTO, 1024, on_obs, on_err, t), RK_OK);
	assert_int_equal(logs_read_file(&r, path), RK_OK);
	logs_reader_cleanup(&r);
}

static void read_blocks(const char *path, size_t cap, trace *t)
{
	logs_blocker b;
	logs_reader workers[3];
	char *buf = malloc(cap);
	assert_non_null(buf);
	assert_int_equal(logs_blocker_open(&b, path, LOGS_FMT_AUTO, cap, 0, on_err, t), RK_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(logs_reader_init(&workers[i], LOGS_FMT_AUTO, 1024, on_obs, on_err, t),
				 RK_OK);
	int done = 0, k = 0;
	while (!done) {
		size_t len;
		uint64_t first;
		logs_header h;
		assert_int_equal(logs_blocker_next(&b, buf, &len, &first, &h, &done), RK_OK);
		if (len == 0)
			continue;
		logs_reader *w = &workers[k++ % 3];
		logs_header_set(w, &h);
		logs_feed_block(w, buf, len, path, first);
	}
	for (int i = 0; i < 3; i++)
		logs_reader_cleanup(&workers[i]);
	logs_blocker_close(&b);
	free(buf);
}

static void test_blocks_equal_one_reader(void **state)
{
	(void)state;
	char path[] = "/tmp/rk-block-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	write_log(path, 1500);

	static trace whole, blocks;
	memset(&whole, 0, sizeof whole);
	read_whole(path, &whole);
	assert_true(whole.n > 150);
	assert_non_null(strstr(whole.text, "49 error line longer than the limit, skipped"));
	assert_non_null(strstr(whole.text, "84 dns.query domain last.example.org 1767225800000000"));

	const size_t caps[] = {1025, 1100, 1600, 4096, 1 << 20};
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		memset(&blocks, 0, sizeof blocks);
		read_blocks(path, caps[i], &blocks);
		assert_int_equal(blocks.n, whole.n);
		assert_string_equal(blocks.text, whole.text);
	}
	unlink(path);
}

static void append(const char *path, const char *mode, const char *text)
{
	FILE *f = fopen(path, mode);
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void next_block(logs_blocker *b, char *buf, logs_reader *w, const char *path)
{
	size_t len;
	uint64_t first;
	logs_header h;
	int done;
	assert_int_equal(logs_blocker_next(b, buf, &len, &first, &h, &done), RK_OK);
	assert_int_equal(done, 0);
	if (len) {
		logs_header_set(w, &h);
		logs_feed_block(w, buf, len, path, first);
	}
}

static void test_follow_rotation(void **state)
{
	(void)state;
	char dir[] = "/tmp/rk-blockf-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256], old[256];
	snprintf(path, sizeof path, "%s/t.log", dir);
	snprintf(old, sizeof old, "%s/t.log.1", dir);
	static trace t;
	memset(&t, 0, sizeof t);
	logs_blocker b;
	logs_reader w;
	char buf[4096];
	assert_int_equal(logs_blocker_open(&b, path, LOGS_FMT_TEXT, sizeof buf, 1, on_err, &t), RK_OK);
	assert_int_equal(logs_reader_init(&w, LOGS_FMT_TEXT, 1024, on_obs, on_err, &t), RK_OK);
	next_block(&b, buf, &w, path); /* not there yet */
	assert_int_equal(t.n, 0);
	append(path, "w", "a 198.51.100.1\nb 198.51.100.2\npart");
	next_block(&b, buf, &w, path);
	assert_int_equal(t.n, 2);
	append(path, "a", "ial 198.51.100.3\n");
	next_block(&b, buf, &w, path);
	assert_int_equal(t.n, 3);
	assert_non_null(strstr(t.text, "3 text ipv4 198.51.100.3"));
	append(path, "a", "tail 198.51.100.4");
	assert_int_equal(rename(path, old), 0);
	append(path, "w", "new 198.51.100.5\n");
	for (int i = 0; i < 3; i++)
		next_block(&b, buf, &w, path);
	assert_int_equal(t.n, 5);
	assert_non_null(strstr(t.text, "4 text ipv4 198.51.100.4"));
	assert_non_null(strstr(t.text, "1 text ipv4 198.51.100.5"));
	append(path, "w", "x 198.51.100.6\n"); /* truncated, rewritten */
	for (int i = 0; i < 3; i++)
		next_block(&b, buf, &w, path);
	assert_int_equal(t.n, 6);
	logs_reader_cleanup(&w);
	logs_blocker_close(&b);
	unlink(path);
	unlink(old);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks_equal_one_reader),
		cmocka_unit_test(test_follow_rotation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
