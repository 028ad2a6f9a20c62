/*
 * test_notify_match.c: what objects involve and whom that touches, the
 * reduced view a notification carries, the webhook body and signature,
 * the digest mail, and the configuration file's checks.
 *
 * Values: documentation addresses (RFC 5737, RFC 3849), private AS
 * numbers (RFC 6996), example domains (RFC 2606). The HMAC expected for
 * the signature was computed outside this code (Python's hmac module).
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

#include "notify.h"

static json_t *obj(const char *text)
{
	json_error_t e;
	json_t *o = json_loads(text, 0, &e);
	if (!o)
		fail_msg("fixture: %s", e.text);
	return o;
}

static notify_obs_list observables(const char *text)
{
	notify_obs_list l = {0};
	json_t *o = obj(text);
	assert_int_equal(notify_observables(o, &l), RK_OK);
	json_decref(o);
	return l;
}

static void test_observables(void **state)
{
	(void)state;
	notify_obs_list l = observables(
		"{\"type\":\"indicator\",\"pattern_type\":\"stix\",\"pattern\":"
		"\"[ipv4-addr:value = '198.51.100.7' OR ipv4-addr:value = '198.51.100.0/25' OR "
		"ipv6-addr:value = '2001:db8::1' OR domain-name:value = 'WWW.Bank.Example' OR "
		"url:value = 'https://user@login.bank.example:8443/x?y=1' OR "
		"url:value = 'http://[2001:db8::5]/' OR email-addr:value = 'ceo@bank.example' OR "
		"file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4']\"}");
	assert_int_equal(l.n, 7);
	assert_int_equal(l.v[0].kind, NOTIFY_OBS_IPV4);
	assert_int_equal(l.v[0].prefix, 32);
	assert_int_equal(l.v[1].prefix, 25);
	assert_int_equal(l.v[2].kind, NOTIFY_OBS_IPV6);
	assert_int_equal(l.v[3].kind, NOTIFY_OBS_DOMAIN);
	assert_string_equal(l.v[3].domain, "www.bank.example");
	assert_int_equal(l.v[4].kind, NOTIFY_OBS_URL);
	assert_string_equal(l.v[4].domain, "login.bank.example");
	assert_int_equal(l.v[5].kind, NOTIFY_OBS_URL);
	assert_int_equal(l.v[5].family, 6);
	assert_int_equal(l.v[6].kind, NOTIFY_OBS_EMAIL);
	assert_string_equal(l.v[6].domain, "bank.example");
	notify_obs_list_cleanup(&l);

	/* compound: each observation expression that is a list of values */
	l = observables("{\"type\":\"indicator\",\"pattern_type\":\"stix\",\"pattern\":"
			"\"[ipv4-addr:value = '203.0.113.1'] FOLLOWEDBY [domain-name:value = "
			"'c2.example'] WITHIN 60 SECONDS\"}");
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[1].domain, "c2.example");
	notify_obs_list_cleanup(&l);

	/* not STIX patterns, not lists: nothing */
	l = observables("{\"type\":\"indicator\",\"pattern_type\":\"snort\",\"pattern\":\"alert\"}");
	assert_int_equal(l.n, 0);
	l = observables("{\"type\":\"indicator\",\"pattern_type\":\"stix\",\"pattern\":"
			"\"[ipv4-addr:value != '198.51.100.7']\"}");
	assert_int_equal(l.n, 0);

	/* SCOs and observed-data's embedded objects */
	l = observables("{\"type\":\"autonomous-system\",\"number\":64500}");
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].asn, 64500);
	assert_string_equal(l.v[0].value, "AS64500");
	notify_obs_list_cleanup(&l);
	l = observables("{\"type\":\"observed-data\",\"objects\":{\"0\":{\"type\":\"ipv4-addr\","
			"\"value\":\"198.51.100.200\"},\"1\":{\"type\":\"domain-name\",\"value\":"
			"\"shop.example\"},\"2\":{\"type\":\"file\",\"name\":\"x\"}}}");
	assert_int_equal(l.n, 2);
	notify_obs_list_cleanup(&l);
	l = observables("{\"type\":\"ipv4-addr\",\"value\":\"not an address\"}");
	assert_int_equal(l.n, 0);
}

static void collect_ref(void *arg, const char *id)
{
	json_array_append_new(arg, json_string(id));
}

static void test_refs(void **state)
{
	(void)state;
	json_t *s = obj("{\"type\":\"sighting\",\"sighting_of_ref\":\"indicator--1\","
			"\"observed_data_refs\":[\"observed-data--1\",\"observed-data--2\"],"
			"\"where_sighted_refs\":[\"identity--1\"]}");
	json_t *ids = json_array();
	notify_refs_of(s, collect_ref, ids);
	assert_int_equal(json_array_size(ids), 3);
	assert_string_equal(json_string_value(json_array_get(ids, 0)), "indicator--1");
	json_decref(s);
	json_array_clear(ids);
	s = obj("{\"type\":\"report\",\"object_refs\":[\"indicator--1\"]}");
	notify_refs_of(s, collect_ref, ids);
	assert_int_equal(json_array_size(ids), 0); /* a report's refs are not its values */
	json_decref(s);
	json_decref(ids);
}

static asset_claim mk(int64_t id, const char *org, const char *value)
{
	asset_claim c;
	memset(&c, 0, sizeof c);
	c.id = id;
	snprintf(c.org, sizeof c.org, "%s", org);
	assert_int_equal(assets_value_parse(value, strlen(value), &c.value, NULL), RK_OK);
	c.state = ASSET_APPROVED;
	return c;
}

static void test_touches(void **state)
{
	(void)state;
	asset_claim claims[] = {
		mk(1, "bank", "198.51.100.0/24"), mk(2, "isp", "198.51.100.0/22"),
		mk(3, "bank", "bank.example"),	  mk(4, "isp", "AS64500"),
		mk(5, "shop", "198.51.101.0/24"), mk(6, "lab", "2001:db8::/32"),
	};
	assets_snapshot *s = NULL;
	assert_int_equal(assets_snapshot_build(claims, RK_ARRAY_LEN(claims), 1u << ASSET_APPROVED, 1,
					       &s, NULL),
			 RK_OK);
	notify_touch t[16];

	notify_obs_list l = observables("{\"type\":\"ipv4-addr\",\"value\":\"198.51.100.7\"}");
	size_t n = notify_touches(s, &l, t, 16);
	assert_int_equal(n, 2);
	assert_string_equal(t[0].org, "bank");
	assert_string_equal(t[0].claim->value.text, "198.51.100.0/24");
	assert_string_equal(t[1].org, "isp");
	notify_obs_list_cleanup(&l);

	/* a block: the claims covering it and those inside it */
	l = observables("{\"type\":\"indicator\",\"pattern_type\":\"stix\",\"pattern\":"
			"\"[ipv4-addr:value = '198.51.100.0/23']\"}");
	n = notify_touches(s, &l, t, 16);
	assert_int_equal(n, 3);
	notify_obs_list_cleanup(&l);

	l = observables("{\"type\":\"indicator\",\"pattern_type\":\"stix\",\"pattern\":"
			"\"[url:value = 'http://mail.bank.example/login' OR "
			"url:value = 'http://[2001:db8::9]/']\"}");
	n = notify_touches(s, &l, t, 16);
	assert_int_equal(n, 2);
	assert_string_equal(t[0].claim->value.text, "bank.example");
	assert_string_equal(t[1].org, "lab");
	notify_obs_list_cleanup(&l);

	l = observables("{\"type\":\"autonomous-system\",\"number\":64500}");
	n = notify_touches(s, &l, t, 16);
	assert_int_equal(n, 1);
	assert_string_equal(t[0].org, "isp");
	notify_obs_list_cleanup(&l);

	l = observables("{\"type\":\"domain-name\",\"value\":\"notbank.example\"}");
	assert_int_equal(notify_touches(s, &l, t, 16), 0);
	notify_obs_list_cleanup(&l);
	assets_snapshot_free(s);
}

static bool only_indicator(void *arg, const char *id)
{
	(void)arg;
	return strncmp(id, "indicator--", 11) == 0;
}

static void test_view(void **state)
{
	(void)state;
	json_t *ind = obj("{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"indicator--1\","
			  "\"created\":\"2026-01-01T00:00:00Z\",\"modified\":\"2026-01-02T00:00:00Z\","
			  "\"name\":\"n\",\"description\":\"private\",\"created_by_ref\":\"identity--x\","
			  "\"pattern\":\"[ipv4-addr:value = '198.51.100.7']\",\"pattern_type\":\"stix\","
			  "\"valid_from\":\"2026-01-01T00:00:00Z\",\"object_marking_refs\":[\"m\"],"
			  "\"extensions\":{\"x\":{}},\"labels\":[\"l\"]}");
	json_t *v = notify_view(ind, NULL, NULL);
	char *text = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(text,
			    "{\"created\":\"2026-01-01T00:00:00Z\",\"id\":\"indicator--1\","
			    "\"modified\":\"2026-01-02T00:00:00Z\",\"name\":\"n\","
			    "\"object_marking_refs\":[\"m\"],\"pattern\":\"[ipv4-addr:value = "
			    "'198.51.100.7']\",\"pattern_type\":\"stix\",\"spec_version\":\"2.1\","
			    "\"type\":\"indicator\",\"valid_from\":\"2026-01-01T00:00:00Z\"}");
	free(text);
	json_decref(v);
	/* granular markings: the name may be covered, so it goes */
	json_object_set_new(ind, "granular_markings", json_pack("[{s[s]ss}]", "selectors", "name",
								"marking_ref", "m2"));
	v = notify_view(ind, NULL, NULL);
	assert_null(json_object_get(v, "name"));
	assert_null(json_object_get(v, "granular_markings"));
	json_decref(v);
	json_decref(ind);

	json_t *s = obj("{\"type\":\"sighting\",\"spec_version\":\"2.1\",\"id\":\"sighting--1\","
			"\"created\":\"2026-01-01T00:00:00Z\",\"modified\":\"2026-01-01T00:00:00Z\","
			"\"sighting_of_ref\":\"indicator--1\",\"observed_data_refs\":"
			"[\"observed-data--1\"],\"where_sighted_refs\":[\"identity--1\"],\"count\":2}");
	v = notify_view(s, only_indicator, NULL);
	assert_string_equal(json_string_value(json_object_get(v, "sighting_of_ref")), "indicator--1");
	assert_null(json_object_get(v, "observed_data_refs"));
	assert_null(json_object_get(v, "where_sighted_refs"));
	assert_int_equal(json_integer_value(json_object_get(v, "count")), 2);
	json_decref(v);
	v = notify_view(s, NULL, NULL); /* no references may be named */
	assert_null(json_object_get(v, "sighting_of_ref"));
	json_decref(v);
	json_decref(s);
}

static const notify_record REC = {
	.id = 42,
	.org = "bank",
	.object_id = "indicator--a0000000-0000-4000-8000-000000000001",
	.object_type = "indicator",
	.object_version = "2026-03-01T00:00:00.000Z",
	.collection = "11111111-1111-4111-8111-111111111111",
	.asset = "198.51.100.0/24",
	.obs_kind = "ipv4-addr",
	.obs_value = "198.51.100.7",
	.content = "[{\"type\":\"indicator\",\"id\":\"indicator--a0000000-0000-4000-8000-000000000001\","
		   "\"object_marking_refs\":[\"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb\"]}]",
	.created = 1772323200000000, /* 2026-03-01T00:00:00Z */
};

static void test_webhook_and_note(void **state)
{
	(void)state;
	rk_buf b;
	rk_buf_init(&b);
	assert_int_equal(notify_webhook_body(&REC, "https://hub.example", &b), RK_OK);
	json_t *body = obj(b.data);
	json_t *n = json_object_get(body, "notification");
	assert_string_equal(json_string_value(json_object_get(body, "type")), "renkei-notification");
	assert_int_equal(json_integer_value(json_object_get(n, "id")), 42);
	assert_string_equal(json_string_value(json_object_get(n, "asset")), "198.51.100.0/24");
	assert_string_equal(json_string_value(json_object_get(json_object_get(n, "observable"), "value")),
			    "198.51.100.7");
	assert_string_equal(json_string_value(json_object_get(n, "acknowledge_url")),
			    "https://hub.example/renkei/notify/42/ack/");
	json_t *objs = json_object_get(body, "objects");
	assert_int_equal(json_array_size(objs), 2);
	json_t *note = json_array_get(objs, 1);
	assert_string_equal(json_string_value(json_object_get(note, "type")), "note");
	assert_string_equal(json_string_value(json_array_get(json_object_get(note, "object_refs"), 0)),
			    REC.object_id);
	/* the note carries the object's marking, and the same id each time */
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(note, "object_marking_refs"), 0)),
		"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb");
	json_t *note2 = notify_note(&REC);
	assert_string_equal(json_string_value(json_object_get(note2, "id")),
			    json_string_value(json_object_get(note, "id")));
	assert_string_equal(json_string_value(json_object_get(note2, "created")),
			    "2026-03-01T00:00:00.000Z");
	json_decref(note2);
	json_decref(body);
	rk_buf_cleanup(&b);

	/* The signed text is "<timestamp>." + body; the expected value was
	 * computed with Python's hmac module (HMAC-SHA-256, key "Jefe" as in
	 * RFC 4231 test case 2), not with this code. */
	char sig[NOTIFY_SIGNATURE_BUF];
	const char *data = "{\"a\":1}";
	notify_sign((const unsigned char *)"Jefe", 4, 1700000000, data, strlen(data), sig);
	assert_string_equal(sig, "v1=fa5f6481efc59da48b19c9dc10196c9953e5651f8304b3a318b6b87d70272e0a");
	assert_true(notify_verify((const unsigned char *)"Jefe", 4, 1700000000, data, strlen(data), sig));
	assert_false(notify_verify((const unsigned char *)"Jefe", 4, 1700000001, data, strlen(data), sig));
	assert_false(notify_verify((const unsigned char *)"Jeff", 4, 1700000000, data, strlen(data), sig));
	assert_false(notify_verify((const unsigned char *)"Jefe", 4, 1700000000, "{\"a\":2}", 7, sig));
	assert_int_equal(strlen(sig), 67);
	assert_memory_equal(sig, "v1=", 3);
}

static void test_digest_mail(void **state)
{
	(void)state;
	notify_record two[2] = {REC, REC};
	two[1].id = 43;
	two[1].obs_value = "evil\r\nBcc: x@y.example"; /* producer text */
	const char *to[] = {"soc@bank.example", "cert@bank.example"};
	rk_buf b;
	rk_buf_init(&b);
	assert_int_equal(notify_digest_mail("bank", "renkei@hub.example", to, 2, two, 2,
					    "https://hub.example", 1772323200000000, &b),
			 RK_OK);
	const char *head_end = strstr(b.data, "\r\n\r\n");
	assert_non_null(head_end);
	char *head = strndup(b.data, (size_t)(head_end - b.data));
	assert_string_equal(head, "From: renkei@hub.example\r\n"
				  "To: soc@bank.example, cert@bank.example\r\n"
				  "Subject: [renkei] 2 notifications for bank\r\n"
				  "Date: Sun, 01 Mar 2026 00:00:00 +0000\r\n"
				  "Message-ID: <renkei-digest-bank-42-43@renkei>\r\n"
				  "MIME-Version: 1.0\r\n"
				  "Content-Type: text/plain; charset=utf-8\r\n"
				  "Content-Transfer-Encoding: 8bit\r\n"
				  "X-Renkei-Organization: bank\r\n"
				  "X-Renkei-Notifications: 42,43");
	free(head);
	assert_non_null(strstr(b.data, "[42] indicator indicator--a0000000-0000-4000-8000-000000000001\r\n"));
	assert_non_null(strstr(b.data, "ipv4-addr 198.51.100.7 in your asset 198.51.100.0/24\r\n"));
	assert_non_null(strstr(b.data, "acknowledge: POST https://hub.example/renkei/notify/43/ack/"));
	/* the CR LF in the value became '?': no header was added */
	assert_non_null(strstr(b.data, "ipv4-addr evil??Bcc: x@y.example in your asset"));
	assert_null(strstr(b.data, "\r\nBcc:"));
	rk_buf_cleanup(&b);
}

static char tmp[64];

static void cfg_bad(const char *text, const char *want)
{
	notify_config c;
	rk_errctx ctx;
	char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG];
	notify_config_init(&c);
	rk_errctx_clear(&ctx);
	assert_int_equal(notify_config_parse(&c, text, "n.ini", &ctx), RK_ECONFIG);
	rk_errctx_format(&ctx, msg, sizeof msg);
	if (!strstr(msg, want))
		fail_msg("'%s': got '%s', want '%s'", text, msg, want);
	notify_config_cleanup(&c);
}

static void test_config(void **state)
{
	(void)state;
	char secret[128], text[1024];
	snprintf(tmp, sizeof tmp, "/tmp/rk-notify-cfg-XXXXXX");
	assert_non_null(mkdtemp(tmp));
	snprintf(secret, sizeof secret, "%s/s", tmp);
	FILE *f = fopen(secret, "w");
	fputs("0123456789abcdef0123\n", f);
	fclose(f);

	snprintf(text, sizeof text,
		 "[smtp]\nurl = smtp://127.0.0.1:2525\nfrom = renkei@hub.example\n"
		 "[delivery]\nretry_initial = 30s\nretry_max = 1h\nmax_attempts = 5\n"
		 "[org bank]\nwebhook_url = https://soc.bank.example/hook\n"
		 "webhook_secret_file = %s\nemail = soc@bank.example , cert@bank.example\n"
		 "digest_interval = 15m\n[org isp]\nemail = noc@isp.example\n",
		 secret);
	notify_config c;
	rk_errctx ctx;
	notify_config_init(&c);
	rk_errctx_clear(&ctx);
	assert_int_equal(notify_config_parse(&c, text, "n.ini", &ctx), RK_OK);
	assert_int_equal(c.n_orgs, 2);
	const notify_org_config *b = notify_config_org(&c, "bank");
	assert_non_null(b);
	assert_int_equal(b->secret_len, 20); /* final newline dropped */
	assert_int_equal(b->n_emails, 2);
	assert_string_equal(b->emails[1], "cert@bank.example");
	assert_int_equal(b->digest_seconds, 900);
	assert_int_equal(b->line, 8);
	assert_int_equal(c.retry_max_seconds, 3600);
	assert_int_equal(c.max_attempts, 5);
	assert_int_equal(notify_config_org(&c, "isp")->digest_seconds, 3600);
	notify_config_cleanup(&c);

	cfg_bad("[org bank]\nwebhook_url = https://x.example/\n",
		"n.ini:1: [org bank] webhook_url without webhook_secret_file");
	cfg_bad("[org bank]\nemail = nobody\n", "n.ini:2: [org bank] email: 'nobody' is not an e-mail");
	cfg_bad("[org bank]\nemail = a@b.example\n", "email needs [smtp] url and from");
	cfg_bad("[smtp]\nurl = http://mail.example\n", "n.ini:2: [smtp] url: expected smtp://");
	cfg_bad("[delivery]\nretry_initial = 0s\n", "n.ini:2: [delivery] retry_initial");
	cfg_bad("[delivery]\nretry_initial = 10m\nretry_max = 1m\n", "retry_max is below");
	cfg_bad("[delivery]\nmax_attempts = many\n", "n.ini:2: [delivery] max_attempts");
	cfg_bad("[hub]\nlisten = x\n", "n.ini:2: [hub] listen: unknown section");
	cfg_bad("[org bank]\ncolour = blue\n", "n.ini:2: [org bank] colour: unknown key");
	cfg_bad("[org bank]\ndigest_interval = 1h\n[org isp]\ndigest_interval = 1h\n"
		"[org bank]\ndigest_interval = 2h\n",
		"n.ini:6: [org bank] digest_interval: organisation configured twice");
	cfg_bad("[org bank]\nwebhook_secret_file = /nonexistent/renkei/secret\n",
		"n.ini:2: [org bank] webhook_secret_file: ");
	cfg_bad("garbage line\n", "n.ini:1: not an INI line");
	snprintf(text, sizeof text, "[org bank]\nwebhook_url = https://x.example/\n"
				    "webhook_secret_file = %s/short\n", tmp);
	snprintf(secret, sizeof secret, "%s/short", tmp);
	f = fopen(secret, "w");
	fputs("short", f);
	fclose(f);
	cfg_bad(text, "n.ini:3: [org bank] webhook_secret_file: the secret file holds fewer than 16");
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_observables), cmocka_unit_test(test_refs),
		cmocka_unit_test(test_touches),	    cmocka_unit_test(test_view),
		cmocka_unit_test(test_webhook_and_note), cmocka_unit_test(test_digest_mail),
		cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
