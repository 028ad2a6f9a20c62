/*
 * test_assets.c: the asset registry against a live hub: organisations'
 * administrators claim over /renkei/assets/, see only their own claims,
 * withdraw them; other roles and anonymous callers are refused; the
 * operator lists every claim with the overlaps between organisations,
 * approves and rejects with `renkei assets`, and `renkei assets lookup`
 * finds approved claims only.
 *
 * Directory (below): cert (a national CERT), bank, isp and shop, all in
 * community nat; an administrator and an analyst at bank, administrators
 * at isp and shop. Values are documentation ranges (RFC 5737, RFC 3849),
 * private AS numbers (RFC 6996) and example domains (RFC 2606).
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

#include "proto_hub.h"

#define T_BANK_ADM "tok-bank-admin-0123456789abcdef0123456789ab"
#define T_BANK_A "tok-bank-analyst-0123456789abcdef0123456789"
#define T_ISP_ADM "tok-isp-admin-0123456789abcdef0123456789abc"
#define T_SHOP_ADM "tok-shop-admin-0123456789abcdef0123456789ab"

static const char DIRECTORY[] =
	"{\"organizations\": ["
	" {\"id\": \"cert\", \"name\": \"CERT\", \"sectors\": [\"government-national\"]},"
	" {\"id\": \"bank\", \"name\": \"Bank\", \"sectors\": [\"financial-services\"]},"
	" {\"id\": \"isp\", \"name\": \"ISP\", \"sectors\": [\"communications\"]},"
	" {\"id\": \"shop\", \"name\": \"Shop\", \"sectors\": []}],"
	" \"users\": ["
	" {\"name\": \"bank-adm\", \"organization\": \"bank\", \"role\": \"admin\", \"token\": \"" T_BANK_ADM "\"},"
	" {\"name\": \"bank-a\", \"organization\": \"bank\", \"role\": \"analyst\", \"token\": \"" T_BANK_A "\"},"
	" {\"name\": \"isp-adm\", \"organization\": \"isp\", \"role\": \"admin\", \"token\": \"" T_ISP_ADM "\"},"
	" {\"name\": \"shop-adm\", \"organization\": \"shop\", \"role\": \"admin\", \"token\": \"" T_SHOP_ADM "\"}],"
	" \"communities\": ["
	" {\"id\": \"nat\", \"title\": \"Nation\", \"tier\": \"nation\","
	"  \"members\": [\"cert\", \"bank\", \"isp\", \"shop\"]}],"
	" \"collections\": []}";

static proto_hub hub;

static const char *const JSON_CT[] = {"Content-Type: application/json", NULL};

static proto_resp claim(const char *token, const char *body)
{
	proto_resp r;
	assert_true(proto_http(&hub, "POST", "/renkei/assets/", token, JSON_CT, body,
			       strlen(body), &r));
	return r;
}

static void test_claims_over_http(void **state)
{
	(void)state;
	proto_resp r = claim(T_BANK_ADM, "{\"values\": [\"198.51.100.0/24\", \"AS64500\","
					 " \"Bank.Example.\", \"198.51.100.7/24\", 5]}");
	assert_int_equal(r.status, 200);
	json_t *claims = json_object_get(r.json, "claims");
	json_t *errors = json_object_get(r.json, "errors");
	assert_int_equal(json_array_size(claims), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(claims, 2), "value")),
			    "bank.example");
	assert_string_equal(json_string_value(json_object_get(json_array_get(claims, 0), "state")),
			    "pending");
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(claims, 0), "claimed_by")),
		"bank-adm");
	assert_int_equal(json_array_size(errors), 2);
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(errors, 0), "error")),
			       "did you mean 198.51.100.0/24?"));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(errors, 1), "index")), 4);
	proto_resp_free(&r);

	/* The same claim again: refused, nothing claimed, 422. */
	r = claim(T_BANK_ADM, "{\"values\": [\"198.51.100.0/24\"]}");
	assert_int_equal(r.status, 422);
	assert_non_null(strstr(r.body, "already claimed"));
	proto_resp_free(&r);

	/* Overlapping claims of other organisations are allowed. */
	r = claim(T_ISP_ADM, "{\"values\": [\"198.51.100.0/22\", \"2001:db8::/32\", \"AS64500\"]}");
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "claims")), 3);
	proto_resp_free(&r);
	r = claim(T_SHOP_ADM, "{\"values\": [\"shop.example\"]}");
	assert_int_equal(r.status, 200);
	proto_resp_free(&r);

	/* Who may claim: the organisation's administrator only. */
	r = claim(T_BANK_A, "{\"values\": [\"203.0.113.0/24\"]}");
	assert_int_equal(r.status, 403);
	proto_resp_free(&r);
	r = claim(NULL, "{\"values\": [\"203.0.113.0/24\"]}");
	assert_int_equal(r.status, 401);
	proto_resp_free(&r);
	r = claim(T_BANK_ADM, "{\"value\": \"203.0.113.0/24\"}");
	assert_int_equal(r.status, 400);
	proto_resp_free(&r);
	r = claim(T_BANK_ADM, "{\"values\": [");
	assert_int_equal(r.status, 400);
	proto_resp_free(&r);

	/* Each organisation sees its own claims only, analysts included. */
	assert_true(proto_http(&hub, "GET", "/renkei/assets/", T_BANK_A, NULL, NULL, 0, &r));
	assert_int_equal(r.status, 200);
	claims = json_object_get(r.json, "claims");
	assert_int_equal(json_array_size(claims), 3);
	assert_null(strstr(r.body, "isp"));
	assert_null(strstr(r.body, "198.51.100.0/22"));
	proto_resp_free(&r);

	/* Withdrawal: another organisation's claim is not found. */
	assert_true(proto_http(&hub, "GET", "/renkei/assets/", T_SHOP_ADM, NULL, NULL, 0, &r));
	json_int_t shop_id =
		json_integer_value(json_object_get(json_array_get(json_object_get(r.json, "claims"), 0),
						   "id"));
	proto_resp_free(&r);
	char path[64];
	snprintf(path, sizeof path, "/renkei/assets/%lld/", (long long)shop_id);
	assert_true(proto_http(&hub, "DELETE", path, T_BANK_ADM, NULL, NULL, 0, &r));
	assert_int_equal(r.status, 404);
	proto_resp_free(&r);
	assert_true(proto_http(&hub, "DELETE", path, T_SHOP_ADM, NULL, NULL, 0, &r));
	assert_int_equal(r.status, 200);
	proto_resp_free(&r);
	assert_true(proto_http(&hub, "GET", "/renkei/assets/", T_SHOP_ADM, NULL, NULL, 0, &r));
	assert_int_equal(json_array_size(json_object_get(r.json, "claims")), 0);
	proto_resp_free(&r);
}

static void run(const char *args, int want_rc, proto_run_result *res)
{
	proto_hub_run(&hub, args, res);
	if (res->rc != want_rc)
		fail_msg("%s: exit %d (want %d): %s %s", args, res->rc, want_rc, res->out.data,
			 res->err);
}

static void test_operator_cli(void **state)
{
	(void)state;
	char args[1024];
	proto_run_result res;

	/* The listing shows the overlaps between organisations. */
	snprintf(args, sizeof args, "assets list --data %s", hub.dir);
	run(args, 0, &res);
	const char *line = strstr(res.out.data, "\tbank\t198.51.100.0/24\tpending\tbank-adm\t-\t");
	assert_non_null(line);
	assert_non_null(strstr(line, "isp:198.51.100.0/22"));
	line = strstr(res.out.data, "\tisp\tAS64500\t");
	assert_non_null(line);
	assert_non_null(strstr(line, "bank:AS64500"));
	line = strstr(res.out.data, "\tisp\t2001:db8::/32\tpending\tisp-adm\t-\t-\n");
	assert_non_null(line);
	proto_run_free(&res);

	/* Nothing is approved yet: lookups find nothing. */
	snprintf(args, sizeof args, "assets lookup --data %s 198.51.100.9", hub.dir);
	run(args, 1, &res);
	proto_run_free(&res);

	snprintf(args, sizeof args, "assets list --data %s --org bank --json", hub.dir);
	run(args, 0, &res);
	json_t *list = json_loads(res.out.data, 0, NULL);
	assert_int_equal(json_array_size(list), 3);
	json_int_t bank_block = json_integer_value(json_object_get(json_array_get(list, 0), "id"));
	json_int_t bank_domain = json_integer_value(json_object_get(json_array_get(list, 2), "id"));
	json_decref(list);
	proto_run_free(&res);

	snprintf(args, sizeof args, "assets approve --data %s --by hub-op %lld %lld", hub.dir,
		 (long long)bank_block, (long long)bank_domain);
	run(args, 0, &res);
	proto_run_free(&res);
	snprintf(args, sizeof args, "assets lookup --data %s 198.51.100.9", hub.dir);
	run(args, 0, &res);
	assert_string_equal(res.out.data, "bank\t198.51.100.0/24\t1\n");
	proto_run_free(&res);
	snprintf(args, sizeof args, "assets lookup --data %s www.BANK.example", hub.dir);
	run(args, 0, &res);
	assert_non_null(strstr(res.out.data, "bank\tbank.example\t"));
	proto_run_free(&res);

	/* Rejected: gone from lookups; the user sees the decision. */
	snprintf(args, sizeof args, "assets reject --data %s %lld", hub.dir, (long long)bank_domain);
	run(args, 0, &res);
	proto_run_free(&res);
	snprintf(args, sizeof args, "assets lookup --data %s www.bank.example", hub.dir);
	run(args, 1, &res);
	proto_run_free(&res);
	proto_resp r;
	assert_true(proto_http(&hub, "GET", "/renkei/assets/", T_BANK_ADM, NULL, NULL, 0, &r));
	assert_non_null(strstr(r.body, "\"value\":\"bank.example\",\"state\":\"rejected\""));
	assert_non_null(strstr(r.body, "\"value\":\"198.51.100.0/24\",\"state\":\"approved\""));
	proto_resp_free(&r);

	/* Operator claims and errors. */
	snprintf(args, sizeof args, "assets claim --data %s --org cert 192.0.2.0/24", hub.dir);
	run(args, 0, &res);
	assert_non_null(strstr(res.out.data, "\tcert\t192.0.2.0/24\tpending\n"));
	proto_run_free(&res);
	snprintf(args, sizeof args, "assets claim --data %s --org nobody 192.0.2.0/24", hub.dir);
	run(args, 1, &res);
	assert_non_null(strstr(res.err, "no organisation 'nobody'"));
	proto_run_free(&res);
	snprintf(args, sizeof args, "assets approve --data %s 99999", hub.dir);
	run(args, 1, &res);
	assert_non_null(strstr(res.err, "no claim 99999"));
	proto_run_free(&res);
	snprintf(args, sizeof args, "assets frobnicate --data %s", hub.dir);
	run(args, 2, &res);
	proto_run_free(&res);
	run("assets --help", 0, &res);
	assert_non_null(strstr(res.out.data, "renkei assets claim"));
	proto_run_free(&res);
}

static int setup(void **state)
{
	(void)state;
	proto_watchdog(120);
	if (!proto_hub_prepare(&hub))
		return -1;
	if (!proto_hub_apply_text(&hub, DIRECTORY) || !proto_hub_restart(&hub))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	proto_hub_cleanup(&hub);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claims_over_http),
		cmocka_unit_test(test_operator_cli),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
