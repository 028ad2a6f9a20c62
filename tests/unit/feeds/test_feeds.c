/*
 * test_feeds.c: the feeds module's behaviour on inputs written here:
 * value types and normal forms, pattern quoting, deterministic ids,
 * versions across imports (unchanged, changed, gone), bad lines reported
 * with their line numbers, CSV quoting, MISP to_ids and JSON paths, STIX
 * pass-through. The shared data samples are in test_feeds_shared.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "feeds.h"

#define NOW 1764000000000000 /* 2025-11-24T16:00:00Z */

static feeds_import *start_at(const char *name, const char *state_dir, rk_time now,
			      stix_tlp marking)
{
	feeds_config cfg = {
		.name = name,
		.marking = marking,
		.confidence = 80,
		.identity = "identity--0b9a7a55-4c5c-4e8b-9c3b-6d8f1c2e3a4b",
		.state_dir = state_dir,
		.now = now,
	};
	feeds_import *imp = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(feeds_import_new(&cfg, &imp, &ctx), RK_OK);
	return imp;
}

static feeds_import *plain(const char *name, const char *text)
{
	feeds_import *imp = start_at(name, NULL, NOW, STIX_TLP_AMBER);
	assert_int_equal(feeds_parse_plain(imp, "f.txt", text, strlen(text)), RK_OK);
	return imp;
}

static const char *str_of(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void test_value_types(void **state)
{
	static const struct {
		const char *in;
		feeds_vtype type;
		const char *norm;
	} cases[] = {
		{ "198.51.100.7", FEEDS_IPV4, "198.51.100.7" },
		{ "198.51.100.7/24", FEEDS_IPV4, "198.51.100.0/24" },
		{ "198.51.100.7/32", FEEDS_IPV4, "198.51.100.7" },
		{ "2001:DB8::0:1", FEEDS_IPV6, "2001:db8::1" },
		{ "2001:db8::/32", FEEDS_IPV6, "2001:db8::/32" },
		{ "Evil.Example.COM.", FEEDS_DOMAIN, "evil.example.com" },
		{ "xn--80ak6aa92e.example", FEEDS_DOMAIN, "xn--80ak6aa92e.example" },
		{ "HTTP://Evil.Example/Path?Q=1", FEEDS_URL, "http://evil.example/Path?Q=1" },
		{ "abuse@Example.ORG", FEEDS_EMAIL, "abuse@example.org" },
		{ "D41D8CD98F00B204E9800998ECF8427E", FEEDS_MD5, "d41d8cd98f00b204e9800998ecf8427e" },
		{ "da39a3ee5e6b4b0d3255bfef95601890afd80709", FEEDS_SHA1,
		  "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
		{ "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", FEEDS_SHA256,
		  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "256.1.1.1", FEEDS_VNONE, NULL },
		{ "1.2.3.4/33", FEEDS_VNONE, NULL },
		{ "localhost", FEEDS_VNONE, NULL },
		{ "abcdef0123", FEEDS_VNONE, NULL },
		{ "exa mple.com", FEEDS_VNONE, NULL },
		{ "-bad.example", FEEDS_VNONE, NULL },
		{ "example.123", FEEDS_VNONE, NULL },
		{ "http://", FEEDS_VNONE, NULL },
		{ "AS12345", FEEDS_VNONE, NULL },
	};
	char out[FEEDS_VALUE_MAX];
	const char *why;
	(void)state;
	for (size_t i = 0; i < RK_ARRAY_LEN(cases); i++) {
		feeds_vtype t = feeds_value_detect(cases[i].in, strlen(cases[i].in), out, &why);
		if (t != cases[i].type)
			fail_msg("%s: type %s, expected %s (%s)", cases[i].in, feeds_vtype_name(t),
				 feeds_vtype_name(cases[i].type), why ? why : "");
		if (cases[i].norm)
			assert_string_equal(out, cases[i].norm);
		else
			assert_non_null(why);
	}
	assert_int_equal(feeds_vtype_parse("ip-dst"), FEEDS_IPV4);
	assert_int_equal(feeds_vtype_parse("SHA-256"), FEEDS_SHA256);
	assert_int_equal(feeds_vtype_parse("nonsense"), FEEDS_VNONE);
}

static void test_pattern_quoting(void **state)
{
	rk_buf b;
	(void)state;
	rk_buf_init(&b);
	assert_int_equal(feeds_pattern_simple(&b, FEEDS_URL, "http://x.example/a'b\\c"), RK_OK);
	assert_string_equal(b.data, "[url:value = 'http://x.example/a\\'b\\\\c']");
	rk_buf_reset(&b);
	assert_int_equal(feeds_pattern_simple(&b, FEEDS_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"), RK_OK);
	assert_string_equal(b.data, "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']");
	rk_buf_cleanup(&b);

	/* Through an import: the URL's quote reaches the pattern escaped. */
	feeds_import *imp = plain("q", "http://x.example/it's\n");
	json_t *o = json_array_get(feeds_import_objects(imp), 0);
	assert_string_equal(str_of(o, "pattern"), "[url:value = 'http://x.example/it\\'s']");
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(stix_validate_object(o, "", NULL, &ctx), RK_OK);
	feeds_import_free(imp);
}

static void test_plain_lines(void **state)
{
	const char *text = "# comment\n"
			   "; also a comment\n"
			   "\n"
			   "1.2.3.0/24 ; SBL123\n"         /* line 4 */
			   "not_a_value\n"                 /* line 5: rejected */
			   "evil.example,extra,fields\n"   /* line 6 */
			   "1.2.3.0/24\n"                  /* line 7: duplicate */
			   "999.1.1.1 # bad\n"             /* line 8: rejected */
			   "  http://evil.example/x  \r\n"; /* line 9 */
	feeds_import *imp = plain("lines", text);
	const feeds_counts *c = feeds_import_counts(imp);
	(void)state;
	assert_int_equal(c->read, 6);
	assert_int_equal(c->imported, 3);
	assert_int_equal(c->duplicate, 1);
	assert_int_equal(c->rejected, 2);
	json_t *r = feeds_import_rejects(imp);
	assert_string_equal(str_of(json_array_get(r, 0), "where"), "f.txt:5");
	assert_string_equal(str_of(json_array_get(r, 1), "where"), "f.txt:8");
	json_t *o = json_array_get(feeds_import_objects(imp), 0);
	assert_string_equal(str_of(o, "description"), "SBL123");
	assert_string_equal(str_of(o, "pattern"), "[ipv4-addr:value = '1.2.3.0/24']");
	assert_string_equal(str_of(o, "valid_from"), "2025-11-24T16:00:00.000Z");
	assert_int_equal(json_integer_value(json_object_get(o, "confidence")), 80);
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "object_marking_refs"), 0)),
			    stix_tlp_marking_id(STIX_TLP_AMBER));
	assert_string_equal(str_of(json_array_get(feeds_import_objects(imp), 2), "pattern"),
			    "[url:value = 'http://evil.example/x']");
	feeds_import_free(imp);

	/* A line longer than the bound is rejected alone. */
	size_t n = RK_FEED_MAX_LINE + 10;
	char *big = malloc(n + 32);
	memset(big, 'a', n);
	strcpy(big + n, "\n198.51.100.9\n");
	imp = plain("long", big);
	assert_int_equal(feeds_import_counts(imp)->rejected, 1);
	assert_int_equal(feeds_import_counts(imp)->imported, 1);
	assert_string_equal(str_of(json_array_get(feeds_import_rejects(imp), 0), "where"), "f.txt:1");
	feeds_import_free(imp);
	free(big);
}

/* feeds_refang: each marker, any case, several in one value, and what is
 * left alone. */
static void test_refang(void **state)
{
	static const struct {
		const char *in, *out;
		bool changed;
	} cases[] = {
		{ "hxxp://evil.example/x", "http://evil.example/x", true },
		{ "hxxps://evil.example/x", "https://evil.example/x", true },
		{ "HXXPS://evil.example/", "https://evil.example/", true },
		{ "hXXp://evil[.]example[.]com/a(.)b", "http://evil.example.com/a.b", true },
		{ "198[.]51[.]100[.]7", "198.51.100.7", true },
		{ "198(.)51(.)100(.)7", "198.51.100.7", true },
		{ "evil[dot]example", "evil.example", true },
		{ "evil[DOT]example", "evil.example", true },
		{ "2001:db8[:]:1", "2001:db8::1", true },
		{ "hxxp[:]//evil[.]example", "hxxp://evil.example", true }, /* scheme first only */
		{ "http://evil.example/[x]", "http://evil.example/[x]", false },
		{ "hxxpx://evil.example", "hxxpx://evil.example", false },
		{ "evil.example", "evil.example", false },
		{ "", "", false },
	};
	char out[FEEDS_VALUE_MAX];
	bool changed;
	(void)state;
	for (size_t i = 0; i < RK_ARRAY_LEN(cases); i++) {
		size_t n = feeds_refang(cases[i].in, strlen(cases[i].in), out, sizeof out, &changed);
		assert_int_equal(n, strlen(cases[i].out));
		assert_string_equal(out, cases[i].out);
		assert_int_equal(changed, cases[i].changed);
	}
	/* Too long for out. */
	assert_int_equal(feeds_refang("evil[.]example", 14, out, 12, &changed), (size_t)-1);
	assert_int_equal(feeds_refang("evil[.]example", 14, out, 13, &changed), 12);
	assert_string_equal(out, "evil.example");
}

/* A plain list and a CSV feed with defanged values: refanged before the
 * type is found, counted, and the same id as the clean spelling. */
static void test_refang_in_feeds(void **state)
{
	const char *text = "hxxp://evil[.]example/path\n"   /* url */
			   "198[.]51[.]100[.]7 ; C2\n"      /* ipv4, with a description */
			   "bad[dot]example\n"              /* domain */
			   "198.51.100.7\n"                 /* the same value clean: duplicate */
			   "clean.example\n"                /* not defanged */
			   "999[.]1[.]1[.]1\n";             /* refanged, still no value: rejected */
	(void)state;
	feeds_import *imp = plain("defanged", text);
	const feeds_counts *c = feeds_import_counts(imp);
	assert_int_equal(c->read, 6);
	assert_int_equal(c->imported, 4);
	assert_int_equal(c->duplicate, 1);
	assert_int_equal(c->rejected, 1);
	assert_int_equal(c->refanged, 3);
	json_t *objs = feeds_import_objects(imp);
	assert_string_equal(str_of(json_array_get(objs, 0), "pattern"),
			    "[url:value = 'http://evil.example/path']");
	assert_string_equal(str_of(json_array_get(objs, 1), "pattern"),
			    "[ipv4-addr:value = '198.51.100.7']");
	assert_string_equal(str_of(json_array_get(objs, 1), "description"), "C2");
	assert_string_equal(str_of(json_array_get(objs, 2), "pattern"),
			    "[domain-name:value = 'bad.example']");
	assert_string_equal(str_of(json_array_get(objs, 3), "pattern"),
			    "[domain-name:value = 'clean.example']");
	assert_string_equal(str_of(json_array_get(feeds_import_rejects(imp), 0), "where"), "f.txt:6");
	/* The defanged address has the id of the clean one. */
	feeds_import *clean = plain("defanged", "198.51.100.7\n");
	assert_string_equal(str_of(json_array_get(objs, 1), "id"),
			    str_of(json_array_get(feeds_import_objects(clean), 0), "id"));
	feeds_import_free(clean);
	feeds_import_free(imp);

	/* CSV, type detected and type fixed by the mapping. */
	const char *csv = "hxxps://bad[.]example/x,one\n"
			  "203(.)0(.)113(.)9,two\n"
			  "2001:db8[:]:5,three\n";
	feeds_csv_opts o;
	rk_errctx ctx;
	feeds_csv_opts_init(&o);
	rk_errctx_clear(&ctx);
	assert_int_equal(feeds_csv_opts_parse("value=1,description=2", &o, &ctx), RK_OK);
	imp = start_at("defanged-csv", NULL, NOW, STIX_TLP_GREEN);
	assert_int_equal(feeds_parse_csv(imp, "f.csv", csv, strlen(csv), &o), RK_OK);
	c = feeds_import_counts(imp);
	assert_int_equal(c->imported, 3);
	assert_int_equal(c->rejected, 0);
	assert_int_equal(c->refanged, 3);
	objs = feeds_import_objects(imp);
	assert_string_equal(str_of(json_array_get(objs, 0), "pattern"),
			    "[url:value = 'https://bad.example/x']");
	assert_string_equal(str_of(json_array_get(objs, 1), "pattern"),
			    "[ipv4-addr:value = '203.0.113.9']");
	assert_string_equal(str_of(json_array_get(objs, 2), "pattern"),
			    "[ipv6-addr:value = '2001:db8::5']");
	feeds_import_free(imp);

	assert_int_equal(feeds_csv_opts_parse("value=1,type=ipv4", &o, &ctx), RK_OK);
	imp = start_at("defanged-csv4", NULL, NOW, STIX_TLP_GREEN);
	const char *csv4 = "203[.]0[.]113[.]10\nevil[.]example\n";
	assert_int_equal(feeds_parse_csv(imp, "g.csv", csv4, strlen(csv4), &o), RK_OK);
	c = feeds_import_counts(imp);
	assert_int_equal(c->imported, 1);
	assert_int_equal(c->rejected, 1); /* a domain where ipv4 is required */
	assert_int_equal(c->refanged, 1);
	assert_string_equal(str_of(json_array_get(feeds_import_objects(imp), 0), "pattern"),
			    "[ipv4-addr:value = '203.0.113.10']");
	feeds_import_free(imp);
}

static void test_deterministic_ids(void **state)
{
	(void)state;
	feeds_import *a = plain("feed-a", "198.51.100.1\n");
	feeds_import *b = plain("feed-a", "\n\n198.51.100.1 other text\n");
	feeds_import *c = plain("feed-b", "198.51.100.1\n");
	const char *ida = str_of(json_array_get(feeds_import_objects(a), 0), "id");
	const char *idb = str_of(json_array_get(feeds_import_objects(b), 0), "id");
	const char *idc = str_of(json_array_get(feeds_import_objects(c), 0), "id");
	assert_string_equal(ida, idb);
	assert_string_not_equal(ida, idc);
	assert_true(stix_id_valid(ida, "indicator"));
	/* Version 5 UUID: the 13th hex digit is 5. */
	assert_int_equal(ida[strlen("indicator--") + 14], '5');
	feeds_import_free(a);
	feeds_import_free(b);
	feeds_import_free(c);
}

static feeds_import *import_state(const char *dir, rk_time now, const char *text, stix_tlp m)
{
	rk_errctx ctx;
	feeds_import *imp = start_at("stateful", dir, now, m);
	assert_int_equal(feeds_parse_plain(imp, "f.txt", text, strlen(text)), RK_OK);
	rk_errctx_clear(&ctx);
	assert_int_equal(feeds_import_finish(imp, &ctx), RK_OK);
	return imp;
}

static void test_versions(void **state)
{
	char dir[] = "/tmp/rk-feeds-state-XXXXXX";
	(void)state;
	assert_non_null(mkdtemp(dir));
	const char *v1 = "198.51.100.1 first\nevil.example\nhttp://evil.example/a\n";
	feeds_import *imp = import_state(dir, NOW, v1, STIX_TLP_AMBER);
	assert_int_equal(feeds_import_counts(imp)->fresh, 3);
	char id[128];
	snprintf(id, sizeof id, "%s", str_of(json_array_get(feeds_import_objects(imp), 0), "id"));
	feeds_import_free(imp);

	/* The same feed again: nothing new. */
	imp = import_state(dir, NOW + 3600000000LL, v1, STIX_TLP_AMBER);
	assert_int_equal(feeds_import_counts(imp)->imported, 0);
	assert_int_equal(feeds_import_counts(imp)->unchanged, 3);
	assert_int_equal(json_array_size(feeds_import_objects(imp)), 0);
	feeds_import_free(imp);

	/* One description changed, one value gone: exactly one new version,
	 * same id and created, later modified; one gone. */
	const char *v2 = "198.51.100.1 second\nevil.example\n";
	imp = import_state(dir, NOW + 7200000000LL, v2, STIX_TLP_AMBER);
	const feeds_counts *c = feeds_import_counts(imp);
	assert_int_equal(c->imported, 1);
	assert_int_equal(c->changed, 1);
	assert_int_equal(c->unchanged, 1);
	assert_int_equal(c->gone, 1);
	json_t *o = json_array_get(feeds_import_objects(imp), 0);
	assert_string_equal(str_of(o, "id"), id);
	assert_string_equal(str_of(o, "created"), "2025-11-24T16:00:00.000Z");
	assert_string_equal(str_of(o, "valid_from"), "2025-11-24T16:00:00.000Z");
	assert_string_equal(str_of(o, "modified"), "2025-11-24T18:00:00.000Z");
	assert_string_equal(str_of(o, "description"), "second");
	assert_int_equal(json_array_size(feeds_import_gone(imp)), 1);
	feeds_import_free(imp);

	/* A new marking changes every indicator's content. */
	imp = import_state(dir, NOW + 9000000000LL, v2, STIX_TLP_RED);
	assert_int_equal(feeds_import_counts(imp)->changed, 2);
	feeds_import_free(imp);

	/* A damaged state file is an error, not a silent fresh start. */
	char cmd[256];
	snprintf(cmd, sizeof cmd, "for f in %s/*.state; do echo garbage >> $f; done", dir);
	assert_int_equal(system(cmd), 0);
	feeds_config cfg = { .name = "stateful", .marking = STIX_TLP_RED, .confidence = -1, .state_dir = dir };
	feeds_import *bad = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(feeds_import_new(&cfg, &bad, &ctx), RK_EIO);
	assert_null(bad);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_csv(void **state)
{
	const char *text = "ip,comment,\"name\"\n"
			   "198.51.100.1,\"multi\nline, with comma\",one\n" /* lines 2-3 */
			   "198.51.100.2,\"say \"\"hi\"\"\",two\n"          /* line 4 */
			   "# comment\n"
			   "bad value,x,three\n"                            /* line 6 */
			   "198.51.100.3\n"                                 /* line 7 */
			   "\"unterminated,x\n";                            /* line 8 */
	feeds_csv_opts o;
	rk_errctx ctx;
	(void)state;
	feeds_csv_opts_init(&o);
	rk_errctx_clear(&ctx);
	assert_int_equal(feeds_csv_opts_parse("value=ip,description=comment,name=3,type=ipv4", &o, &ctx), RK_OK);
	assert_true(o.header);
	feeds_import *imp = start_at("csv", NULL, NOW, STIX_TLP_GREEN);
	assert_int_equal(feeds_parse_csv(imp, "f.csv", text, strlen(text), &o), RK_OK);
	const feeds_counts *c = feeds_import_counts(imp);
	assert_int_equal(c->imported, 3);
	assert_int_equal(c->rejected, 2);
	json_t *objs = feeds_import_objects(imp);
	assert_string_equal(str_of(json_array_get(objs, 0), "description"), "multi\nline, with comma");
	assert_string_equal(str_of(json_array_get(objs, 0), "name"), "one");
	assert_string_equal(str_of(json_array_get(objs, 1), "description"), "say \"hi\"");
	json_t *r = feeds_import_rejects(imp);
	assert_string_equal(str_of(json_array_get(r, 0), "where"), "f.csv:6");
	assert_string_equal(str_of(json_array_get(r, 1), "where"), "f.csv:8");
	feeds_import_free(imp);

	assert_int_equal(feeds_csv_opts_parse("value=0", &o, &ctx), RK_EINVAL);
	rk_errctx_clear(&ctx);
	assert_int_equal(feeds_csv_opts_parse("colour=2", &o, &ctx), RK_EINVAL);
}

static void test_misp(void **state)
{
	const char *text =
		"{\"response\": [{\"Event\": {\"info\": \"Campaign X\", \"Attribute\": ["
		"{\"type\": \"ip-dst\", \"value\": \"203.0.113.9\", \"to_ids\": true, \"category\": \"Network activity\"},"
		"{\"type\": \"domain\", \"value\": \"no-ids.example\", \"to_ids\": false},"
		"{\"type\": \"md5\", \"value\": \"zz\", \"to_ids\": true},"
		"{\"type\": \"comment\", \"value\": \"text\", \"to_ids\": true},"
		"{\"type\": \"url\", \"value\": \"http://gone.example/\", \"to_ids\": \"1\", \"deleted\": true}"
		"], \"Object\": [{\"name\": \"file\", \"Attribute\": ["
		"{\"type\": \"filename|sha1\", \"value\": \"a'b.exe|da39a3ee5e6b4b0d3255bfef95601890afd80709\", \"to_ids\": \"1\", \"comment\": \"dropper\"},"
		"{\"type\": \"domain|ip\", \"value\": \"c2.example|198.51.100.4\", \"to_ids\": 1}"
		"]}]}}]}";
	(void)state;
	feeds_import *imp = start_at("misp", NULL, NOW, STIX_TLP_AMBER);
	assert_int_equal(feeds_parse_misp(imp, "ev.json", text, strlen(text)), RK_OK);
	const feeds_counts *c = feeds_import_counts(imp);
	assert_int_equal(c->read, 7);
	assert_int_equal(c->imported, 3);
	assert_int_equal(c->skipped, 3);
	assert_int_equal(c->rejected, 1);
	assert_string_equal(str_of(json_array_get(feeds_import_rejects(imp), 0), "where"),
			    "ev.json: response[0].Event.Attribute[2]");
	json_t *objs = feeds_import_objects(imp);
	assert_string_equal(str_of(json_array_get(objs, 0), "pattern"), "[ipv4-addr:value = '203.0.113.9']");
	assert_string_equal(str_of(json_array_get(objs, 0), "description"), "Campaign X");
	assert_string_equal(str_of(json_array_get(objs, 1), "pattern"),
			    "[file:name = 'a\\'b.exe' AND file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']");
	assert_string_equal(str_of(json_array_get(objs, 1), "description"), "dropper");
	assert_string_equal(str_of(json_array_get(objs, 2), "pattern"),
			    "[domain-name:value = 'c2.example' AND domain-name:resolves_to_refs[*].value = '198.51.100.4']");
	json_t *labels = json_object_get(json_array_get(objs, 0), "labels");
	assert_string_equal(json_string_value(json_array_get(labels, 0)), "misp:type=\"ip-dst\"");
	feeds_import_free(imp);

	/* Not JSON at all: one reject naming the file. */
	imp = start_at("misp", NULL, NOW, STIX_TLP_AMBER);
	assert_int_equal(feeds_parse_misp(imp, "bad.json", "{\"Event\":", 9), RK_OK);
	assert_int_equal(feeds_import_counts(imp)->rejected, 1);
	feeds_import_free(imp);
}

/* A MISP attribute's first_seen, when present and a time, is valid_from;
 * otherwise valid_from is the import's time. */
static void test_misp_first_seen(void **state)
{
	const char *text =
		"{\"Event\": {\"info\": \"seen\", \"Attribute\": ["
		"{\"type\": \"domain\", \"value\": \"a.example\", \"to_ids\": true,"
		" \"first_seen\": \"2021-06-02T12:00:00.000000+00:00\"},"
		"{\"type\": \"domain\", \"value\": \"b.example\", \"to_ids\": true,"
		" \"first_seen\": \"2021-06-02T14:30:00.250000+02:30\"},"
		"{\"type\": \"domain\", \"value\": \"c.example\", \"to_ids\": true,"
		" \"first_seen\": \"2022-01-31T23:59:59.123456Z\"},"
		"{\"type\": \"domain\", \"value\": \"d.example\", \"to_ids\": true,"
		" \"first_seen\": \"2021-02-30T00:00:00+00:00\"},"
		"{\"type\": \"domain\", \"value\": \"e.example\", \"to_ids\": true,"
		" \"first_seen\": null},"
		"{\"type\": \"domain\", \"value\": \"f.example\", \"to_ids\": true,"
		" \"first_seen\": \"yesterday\"},"
		"{\"type\": \"domain\", \"value\": \"g.example\", \"to_ids\": true}"
		"]}}";
	(void)state;
	feeds_import *imp = start_at("misp-seen", NULL, NOW, STIX_TLP_AMBER);
	assert_int_equal(feeds_parse_misp(imp, "seen.json", text, strlen(text)), RK_OK);
	assert_int_equal(feeds_import_counts(imp)->imported, 7);
	assert_int_equal(feeds_import_counts(imp)->rejected, 0);
	json_t *objs = feeds_import_objects(imp);
	static const char *const expect[7][2] = {
		{ "a.example", "2021-06-02T12:00:00.000Z" },
		{ "b.example", "2021-06-02T12:00:00.250Z" },
		{ "c.example", "2022-01-31T23:59:59.123456Z" },
		{ "d.example", "2025-11-24T16:00:00.000Z" }, /* no 30 February */
		{ "e.example", "2025-11-24T16:00:00.000Z" },
		{ "f.example", "2025-11-24T16:00:00.000Z" },
		{ "g.example", "2025-11-24T16:00:00.000Z" },
	};
	for (size_t i = 0; i < 7; i++) {
		json_t *o = json_array_get(objs, i);
		assert_string_equal(str_of(o, "name"), expect[i][0]);
		assert_string_equal(str_of(o, "valid_from"), expect[i][1]);
		/* created stays the import's time. */
		assert_string_equal(str_of(o, "created"), "2025-11-24T16:00:00.000Z");
	}
	feeds_import_free(imp);
}

static void test_stix_passthrough(void **state)
{
	char dir[] = "/tmp/rk-feeds-stix-XXXXXX";
	const char *v1 =
		"{\"type\": \"bundle\", \"id\": \"bundle--6f1a5e34-1b8e-4a3c-9b5d-2c7e8f9a0b1c\", \"objects\": ["
		"{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": \"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\","
		"\"created\": \"2024-01-01T00:00:00.000Z\", \"modified\": \"2024-01-01T00:00:00.000Z\","
		"\"pattern\": \"[ipv4-addr:value = '198.51.100.1']\", \"pattern_type\": \"stix\", \"valid_from\": \"2024-01-01T00:00:00Z\"},"
		"{\"type\": \"indicator\", \"id\": \"indicator--bad\"},"
		"{\"type\": \"identity\", \"spec_version\": \"2.1\", \"id\": \"identity--0b9a7a55-4c5c-4e8b-9c3b-6d8f1c2e3a4b\","
		"\"created\": \"2024-01-01T00:00:00.000Z\", \"modified\": \"2024-01-01T00:00:00.000Z\", \"name\": \"x\"}]}";
	rk_errctx ctx;
	(void)state;
	assert_non_null(mkdtemp(dir));
	for (int round = 0; round < 2; round++) {
		feeds_import *imp = start_at("stix", dir, NOW, STIX_TLP_GREEN);
		assert_int_equal(feeds_parse_stix(imp, "b.json", v1, strlen(v1)), RK_OK);
		rk_errctx_clear(&ctx);
		assert_int_equal(feeds_import_finish(imp, &ctx), RK_OK);
		const feeds_counts *c = feeds_import_counts(imp);
		assert_int_equal(c->rejected, 1);
		assert_int_equal(c->skipped, 1);
		assert_int_equal(c->imported, round == 0 ? 1 : 0);
		if (round == 0) {
			json_t *o = json_array_get(feeds_import_objects(imp), 0);
			assert_string_equal(str_of(o, "modified"), "2024-01-01T00:00:00.000Z");
			assert_string_equal(str_of(json_array_get(feeds_import_rejects(imp), 0), "where"),
					    "b.json: objects[1]");
		}
		feeds_import_free(imp);
	}
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_builtin_warnlists(void **state)
{
	feeds_warnlists *w = NULL;
	rk_errctx ctx;
	(void)state;
	rk_errctx_clear(&ctx);
	assert_int_equal(feeds_warn_new(true, &w, &ctx), RK_OK);
	assert_true(feeds_warn_match(w, FEEDS_IPV4, "192.168.1.1") >= 0);
	assert_true(feeds_warn_match(w, FEEDS_IPV4, "10.0.0.0/16") >= 0);
	assert_int_equal(feeds_warn_match(w, FEEDS_IPV4, "10.0.0.0/7"), -1); /* wider than 10/8 */
	assert_true(feeds_warn_match(w, FEEDS_IPV4, "100.64.1.1") >= 0);
	assert_true(feeds_warn_match(w, FEEDS_IPV4, "8.8.8.8") >= 0);
	assert_true(feeds_warn_match(w, FEEDS_IPV6, "fe80::1") >= 0);
	assert_true(feeds_warn_match(w, FEEDS_IPV6, "2606:4700:4700::1111") >= 0);
	assert_true(feeds_warn_match(w, FEEDS_DOMAIN, "mail.google.com") >= 0);
	assert_int_equal(feeds_warn_match(w, FEEDS_DOMAIN, "notgoogle.com"), -1);
	assert_int_equal(feeds_warn_match(w, FEEDS_URL, "https://docs.google.com/x"), -1);
	assert_int_equal(feeds_warn_match(w, FEEDS_IPV4, "45.33.32.156"), -1);

	const char *list = "{\"name\": \"my list\", \"type\": \"substring\", \"list\": [\"evil\"],"
			   "\"matching_attributes\": [\"url\"]}";
	assert_int_equal(feeds_warn_add_json(w, "mine", list, strlen(list), &ctx), RK_OK);
	int k = feeds_warn_match(w, FEEDS_URL, "http://x.example/EVIL/");
	assert_true(k >= 0);
	assert_string_equal(feeds_warn_name(w, (size_t)k), "my list");
	assert_int_equal(feeds_warn_match(w, FEEDS_DOMAIN, "evil.example"), -1);
	const char *re = "{\"name\": \"re\", \"type\": \"regex\", \"list\": [\"/^tracker[0-9]+\\\\./i\"]}";
	assert_int_equal(feeds_warn_add_json(w, "re", re, strlen(re), &ctx), RK_OK);
	assert_true(feeds_warn_match(w, FEEDS_DOMAIN, "Tracker12.example") >= 0);
	rk_errctx_clear(&ctx);
	assert_int_equal(feeds_warn_add_json(w, "bad", "{\"list\": 3}", 11, &ctx), RK_EINVAL);

	/* Dropped values are counted per list and never emitted. */
	feeds_config cfg = { .name = "w", .marking = STIX_TLP_CLEAR, .confidence = -1, .warn = w, .now = NOW };
	feeds_import *imp = NULL;
	assert_int_equal(feeds_import_new(&cfg, &imp, &ctx), RK_OK);
	const char *text = "192.168.0.1\n10.1.1.1\n8.8.8.8\n203.0.113.5\n45.33.32.156\n";
	assert_int_equal(feeds_parse_plain(imp, "f", text, strlen(text)), RK_OK);
	assert_int_equal(feeds_import_counts(imp)->dropped, 4);
	assert_int_equal(feeds_import_counts(imp)->imported, 1);
	assert_int_equal(feeds_import_warn_hits(imp, 0), 2); /* builtin-private */
	assert_int_equal(feeds_import_warn_hits(imp, 1), 1); /* builtin-reserved */
	assert_int_equal(feeds_import_warn_hits(imp, 2), 1); /* builtin-resolvers */
	feeds_import_free(imp);
	feeds_warn_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_types),
		cmocka_unit_test(test_pattern_quoting),
		cmocka_unit_test(test_plain_lines),
		cmocka_unit_test(test_deterministic_ids),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_refang),
		cmocka_unit_test(test_refang_in_feeds),
		cmocka_unit_test(test_misp),
		cmocka_unit_test(test_misp_first_seen),
		cmocka_unit_test(test_stix_passthrough),
		cmocka_unit_test(test_builtin_warnlists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
