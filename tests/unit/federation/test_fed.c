/*
 * test_fed.c: the federation module on its own: the partner file (every
 * error names file:line), the hub's key file, envelope signatures (an
 * altered object is refused alone; unsigned, foreign-key and
 * other-collection envelopes are refused whole) and the durable state
 * (cursors and tombstones survive a reopen).
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
#include <sodium.h>

#include "federation.h"

static char tmp[64];

static void write_file(const char *name, const char *text)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", tmp, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof tmp, "/tmp/renkei-fed-unit-XXXXXX");
	if (!mkdtemp(tmp) || sodium_init() < 0)
		return -1;
	write_file("token", "tok-0123456789abcdef0123456789abcdef\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

#define KEY "IVL40Zt5HSRFMkLhXy6rbLfP+ntqXtMAl5YOBpiB2/Q="

static rk_err load(const char *text, fed_config **cfg, rk_errctx *ctx)
{
	char path[128], full[2048];
	/* "%s" in the text stands for the temporary directory */
	const char *at = strstr(text, "%s");
	if (at)
		snprintf(full, sizeof full, "%.*s%s%s", (int)(at - text), text, tmp, at + 2);
	else
		snprintf(full, sizeof full, "%s", text);
	write_file("fed.conf", full);
	snprintf(path, sizeof path, "%s/fed.conf", tmp);
	rk_errctx_clear(ctx);
	return fed_config_load(path, NULL, cfg, ctx);
}

#define GOOD                                                                            \
	"[partner isac]\nurl = https://isac.example:6443\ntoken_file = %s/token\n"       \
	"public_key = " KEY "\norganisation = isac-hub\ncommunity = nation\n"              \
	"collection = a b\ncollection = c d\npull_collection = e f\ndirection = both\n"   \
	"recipients = identity--00000000-0000-4000-8000-000000000001\n"

static void test_config(void **state)
{
	(void)state;
	fed_config *cfg = NULL;
	rk_errctx ctx;

	assert_int_equal(load(GOOD, &cfg, &ctx), RK_OK);
	assert_int_equal(cfg->n_partners, 1);
	const fed_partner *p = fed_partner_named(cfg, "isac");
	assert_non_null(p);
	assert_string_equal(p->token, "tok-0123456789abcdef0123456789abcdef");
	assert_int_equal(p->n_maps, 2);
	assert_int_equal(p->n_in_maps, 1);
	assert_true(p->push && p->pull && p->require_signature);
	assert_int_equal(p->interval, 60);
	assert_string_equal(p->public_key_b64, KEY);
	assert_non_null(fed_map_pair(p, "c", "d"));
	assert_null(fed_map_pair(p, "a", "d"));
	assert_ptr_equal(fed_partner_of_org(cfg, "isac-hub"), p);
	fed_config_free(cfg);

	/* errors: what and where */
	static const struct {
		const char *text;
		const char *line;
		const char *msg;
	} bad[] = {
		{"[partner x]\nurl = ftp://x\n", ":2", "url must be http"},
		{"[partner x]\nurl = http://x\nfrobnicate = 1\n", ":3", "unknown key 'frobnicate'"},
		{"[hub]\ndata = x\n", ":2", "unknown section [hub]"},
		{"[partner x]\npublic_key = AAAA\n", ":2", "not a base64 Ed25519"},
		{"[partner x]\ndirection = sideways\n", ":2", "push, pull or both"},
		{"[partner x]\ninterval = 0\n", ":2", "interval must be"},
		{"[partner x]\ncollection = a\n", ":2", "LOCAL REMOTE"},
		{"[partner x]\nrecipients = org-a\n", ":2", "not an identity id"},
		{"[partner x]\nurl = http://x\n", ":2", "has no token_file"},
		{"[partner x]\nurl = http://x\ntoken_file = /nonexistent/t\npublic_key = " KEY
		 "\norganisation = o\ncommunity = c\ncollection = a b\n",
		 ":2", "token_file /nonexistent/t"},
		{"[partner x]\nurl = http://x\ntoken_file = %s/token\npublic_key = " KEY
		 "\norganisation = o\ncommunity = c\ndirection = pull\ncollection = a b\n",
		 ":2", "no pull_collection"},
		{"no section here\n", ":1", "not an INI line"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		rk_err rc = load(bad[i].text, &cfg, &ctx);
		if (rc == RK_OK || !strstr(ctx.path, "fed.conf") || !strstr(ctx.path, bad[i].line) ||
		    !strstr(ctx.msg, bad[i].msg))
			fail_msg("case %zu: rc %d, at '%s': '%s'", i, rc, ctx.path, ctx.msg);
		assert_null(cfg);
	}
}

static void test_key(void **state)
{
	(void)state;
	fed_key k1, k2;
	rk_errctx ctx;
	char path[128];
	struct stat sb;

	rk_errctx_clear(&ctx);
	assert_int_equal(fed_key_load(tmp, false, &k1, &ctx), RK_ENOTFOUND);
	assert_int_equal(fed_key_load(tmp, true, &k1, &ctx), RK_OK);
	snprintf(path, sizeof path, "%s/" FED_KEY_FILE, tmp);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(fed_key_load(tmp, true, &k2, &ctx), RK_OK);
	assert_memory_equal(k1.pk, k2.pk, 32);
	assert_string_equal(k1.pk_b64, k2.pk_b64);
	chmod(path, 0644);
	rk_errctx_clear(&ctx);
	assert_int_equal(fed_key_load(tmp, false, &k2, &ctx), RK_ECONFIG);
	assert_non_null(strstr(ctx.msg, "readable by others"));
	chmod(path, 0600);
}

/* Signs objs for collection coll with key k; returns the member. */
static json_t *sign(const fed_key *k, const char *const *objs, size_t n, const char *coll)
{
	fed_signer s;
	rk_buf b;
	json_t *doc;
	rk_errctx ctx;

	fed_signer_init(&s, k);
	rk_buf_init(&b);
	rk_buf_puts(&b, "{\"x\":[]");
	for (size_t i = 0; i < n; i++)
		assert_int_equal(fed_signer_add(&s, objs[i], strlen(objs[i]), k->pk_b64), RK_OK);
	assert_int_equal(fed_signer_finish(&s, coll, &b), RK_OK);
	rk_buf_puts(&b, "}");
	rk_errctx_clear(&ctx);
	assert_int_equal(rk_json_parse(b.data, b.len, 16, &doc, &ctx), RK_OK);
	json_t *m = json_incref(json_object_get(doc, FED_MEMBER));
	json_decref(doc);
	fed_signer_cleanup(&s);
	rk_buf_cleanup(&b);
	return m;
}

static void test_signature(void **state)
{
	(void)state;
	fed_key k, other;
	fed_partner p = {.name = "x", .require_signature = true};
	const char *objs[] = {"{\"id\":\"a\"}", "{\"id\":\"b\"}", "{\"id\":\"c\"}"};
	const char *texts[3];
	size_t lens[3];
	bool ok[3];
	const char *origins[3];
	char why[192];

	crypto_sign_keypair(k.pk, k.sk);
	fed_b64(k.pk, 32, k.pk_b64, sizeof k.pk_b64);
	crypto_sign_keypair(other.pk, other.sk);
	fed_b64(other.pk, 32, other.pk_b64, sizeof other.pk_b64);
	memcpy(p.public_key, k.pk, 32);
	memcpy(p.public_key_b64, k.pk_b64, sizeof k.pk_b64);
	for (int i = 0; i < 3; i++) {
		texts[i] = objs[i];
		lens[i] = strlen(objs[i]);
	}
	json_t *m = sign(&k, objs, 3, "coll");

	/* intact */
	assert_int_equal(fed_verify(&p, m, "coll", 3, texts, lens, ok, origins, why, sizeof why), RK_OK);
	assert_true(ok[0] && ok[1] && ok[2]);
	assert_string_equal(origins[1], k.pk_b64);
	/* one object altered: it alone is refused */
	texts[1] = "{\"id\":\"B\"}";
	assert_int_equal(fed_verify(&p, m, "coll", 3, texts, lens, ok, origins, why, sizeof why), RK_OK);
	assert_true(ok[0] && !ok[1] && ok[2]);
	assert_non_null(strstr(why, "does not match its signed digest"));
	texts[1] = objs[1];
	/* for another collection, a different count, another key: all refused */
	assert_int_equal(fed_verify(&p, m, "other", 3, texts, lens, ok, origins, why, sizeof why), RK_OK);
	assert_true(!ok[0] && !ok[1] && !ok[2]);
	assert_int_equal(fed_verify(&p, m, "coll", 2, texts, lens, ok, origins, why, sizeof why), RK_OK);
	assert_true(!ok[0] && !ok[1]);
	json_t *m2 = sign(&other, objs, 3, "coll");
	assert_int_equal(fed_verify(&p, m2, "coll", 3, texts, lens, ok, origins, why, sizeof why), RK_OK);
	assert_true(!ok[0] && !ok[1] && !ok[2]);
	assert_non_null(strstr(why, "not the partner's"));
	/* a forged signature over the right key name */
	json_object_set_new(m2, "hub", json_string(k.pk_b64));
	assert_int_equal(fed_verify(&p, m2, "coll", 3, texts, lens, ok, origins, why, sizeof why), RK_OK);
	assert_true(!ok[0] && !ok[1] && !ok[2]);
	assert_non_null(strstr(why, "bad signature"));
	/* unsigned: refused when the partner must sign, taken otherwise */
	assert_int_equal(fed_verify(&p, NULL, "coll", 3, texts, lens, ok, origins, why, sizeof why), RK_OK);
	assert_true(!ok[0] && !ok[1] && !ok[2]);
	p.require_signature = false;
	assert_int_equal(fed_verify(&p, NULL, "coll", 3, texts, lens, ok, origins, why, sizeof why), RK_OK);
	assert_true(ok[0] && ok[1] && ok[2]);
	json_decref(m);
	json_decref(m2);
}

static rk_err count_tomb(void *arg, const fed_tombstone *t)
{
	size_t *n = arg;
	assert_string_equal(t->collection, "coll");
	(*n)++;
	return RK_OK;
}

static void test_state(void **state)
{
	(void)state;
	fed_state *fs = NULL;
	rk_errctx ctx;
	uint64_t v = 99;
	char origin[FED_KEY_B64];
	fed_status st;

	rk_errctx_clear(&ctx);
	assert_int_equal(fed_state_open(tmp, false, &fs, &ctx), RK_OK);
	assert_int_equal(fed_cursor_get(fs, "isac", "coll", "push", &v, &ctx), RK_OK);
	assert_int_equal(v, 0);
	assert_int_equal(fed_cursor_set(fs, "isac", "coll", "push", 1234, &ctx), RK_OK);
	const char *ids[] = {"indicator--1"}, *origins[] = {"ORIGIN"};
	assert_int_equal(fed_provenance_put(fs, "isac", ids, origins, 1, &ctx), RK_OK);
	assert_int_equal(fed_tombstone_add(fs, "coll", "indicator--1", "org", "aud", &ctx), RK_OK);
	assert_int_equal(fed_tombstone_add(fs, "coll", "indicator--2", "org", "aud", &ctx), RK_OK);
	fed_status_delta d = {.sent = 5, .error = true, .error_msg = "down"};
	assert_int_equal(fed_status_note(fs, "isac", &d, &ctx), RK_OK);
	assert_int_equal(fed_status_note(fs, "isac", &d, &ctx), RK_OK);
	fed_state_close(fs);

	/* everything is still there after a reopen */
	assert_int_equal(fed_state_open(tmp, false, &fs, &ctx), RK_OK);
	assert_int_equal(fed_cursor_get(fs, "isac", "coll", "push", &v, &ctx), RK_OK);
	assert_int_equal(v, 1234);
	assert_int_equal(fed_provenance_get(fs, "indicator--1", origin, &ctx), RK_OK);
	assert_string_equal(origin, "ORIGIN");
	assert_int_equal(fed_provenance_get(fs, "indicator--9", origin, &ctx), RK_OK);
	assert_string_equal(origin, "");
	size_t n = 0;
	assert_int_equal(fed_tombstones_after(fs, "coll", 0, 10, count_tomb, &n, &ctx), RK_OK);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(fed_tombstones_after(fs, "coll", 1, 10, count_tomb, &n, &ctx), RK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(fed_status_get(fs, "isac", &st, &ctx), RK_OK);
	assert_int_equal(st.sent, 10);
	assert_int_equal(st.errors, 2);
	assert_string_equal(st.last_error, "down");
	fed_state_close(fs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_state),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
