/*
 * test_taxii_confidentiality.c: the confidentiality rules seen through TAXII,
 * case by case, against a live hub (the randomised test with its oracle is
 * test_confidentiality.c).
 *
 * Directory (PROTO_SMALL_DIRECTORY, proto_hub.h): cert, min, op and si are
 * members of community nat; si serves the client cli; gov holds cert and
 * min; far belongs nowhere. Collections
 * NATC (nat, GREEN), PUB (nat, CLEAR, public), GOVC (gov, AMBER). cert
 * posts to NATC a GREEN and an AMBER+STRICT indicator, a RED one for op,
 * and relationships from the GREEN indicator to each; then every reader
 * looks, and the refusals of submission are tried.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto_hub.h"


#define ID_GREEN "indicator--a1000000-0000-4000-8000-000000000001"
#define ID_STRICT "indicator--a1000000-0000-4000-8000-000000000002"
#define ID_RED "indicator--a1000000-0000-4000-8000-000000000003"
#define ID_REL_STRICT "relationship--a1000000-0000-4000-8000-000000000004"
#define ID_REL_RED "relationship--a1000000-0000-4000-8000-000000000005"
#define ID_CLEAR "indicator--a1000000-0000-4000-8000-000000000006"
#define ID_UNKNOWN "indicator--a1000000-0000-4000-8000-0000000000ff"

static proto_hub hub;

static char *indicator(const char *id, const char *marking, const char *extra)
{
	char *s = malloc(2048);
	snprintf(s, 2048,
		 "{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"%s\","
		 "\"created\":\"2026-01-01T00:00:00.000Z\",\"modified\":\"2026-01-01T00:00:00.000Z\","
		 "\"pattern\":\"[ipv4-addr:value = '198.51.100.7']\",\"pattern_type\":\"stix\","
		 "\"valid_from\":\"2026-01-01T00:00:00Z\"%s%s%s%s}",
		 id, marking ? ",\"object_marking_refs\":[\"" : "", marking ? marking : "",
		 marking ? "\"]" : "", extra ? extra : "");
	return s;
}

static char *relationship(const char *id, const char *from, const char *to)
{
	char *s = malloc(1024);
	snprintf(s, 1024,
		 "{\"type\":\"relationship\",\"spec_version\":\"2.1\",\"id\":\"%s\","
		 "\"created\":\"2026-01-01T00:00:00.000Z\",\"modified\":\"2026-01-01T00:00:00.000Z\","
		 "\"relationship_type\":\"related-to\",\"source_ref\":\"%s\",\"target_ref\":\"%s\"}",
		 id, from, to);
	return s;
}

/* POSTs one object; returns the status resource (parsed), asserting 202. */
static json_t *post_one(const char *path, const char *token, char *obj)
{
	char env[4096];
	proto_resp r;
	snprintf(env, sizeof env, "{\"objects\":[%s]}", obj);
	free(obj);
	assert_true(proto_post(&hub, path, token, env, &r));
	if (r.status != 202)
		fail_msg("POST %s: %ld %s", path, r.status, r.body);
	json_t *st = json_incref(r.json);
	proto_resp_free(&r);
	return st;
}

static void expect_added(const char *path, const char *token, char *obj)
{
	json_t *st = post_one(path, token, obj);
	if (json_integer_value(json_object_get(st, "success_count")) != 1)
		fail_msg("not added: %s", json_dumps(st, 0));
	json_decref(st);
}

static void expect_refused(const char *path, const char *token, char *obj, const char *why)
{
	json_t *st = post_one(path, token, obj);
	const char *msg = json_string_value(
		json_object_get(json_array_get(json_object_get(st, "failures"), 0), "message"));
	if (json_integer_value(json_object_get(st, "failure_count")) != 1 || !msg ||
	    !strstr(msg, why))
		fail_msg("want a failure containing \"%s\": %s", why, json_dumps(st, 0));
	json_decref(st);
}

/* The ids a listing returns, sorted, comma-separated. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void ids_of(const proto_resp *r, const char *list, char *out, size_t len)
{
	const char *v[64];
	size_t n = 0, i;
	json_t *o;
	json_array_foreach(json_object_get(r->json, list), i, o) {
		const char *id = json_string_value(json_object_get(o, "id"));
		if (id && n < 64)
			v[n++] = id;
	}
	qsort(v, n, sizeof *v, cmp_str);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		strncat(out, i ? "," : "", len - strlen(out) - 1);
		strncat(out, v[i], len - strlen(out) - 1);
	}
}

static void expect_listing(const char *path, const char *token, const char *list,
			   const char *want)
{
	proto_resp r;
	char got[2048];
	assert_true(proto_get(&hub, path, token, &r));
	if (r.status != 200)
		fail_msg("GET %s: %ld %s", path, r.status, r.body);
	ids_of(&r, list, got, sizeof got);
	if (strcmp(got, want) != 0)
		fail_msg("GET %s as %.12s:\n  got  %s\n  want %s", path, token, got, want);
	assert_false(json_is_true(json_object_get(r.json, "more")));
	proto_resp_free(&r);
}

static int setup(void **state)
{
	(void)state;
	proto_watchdog(120);
	if (!proto_hub_prepare(&hub))
		return -1;
	if (!proto_hub_apply_text(&hub, PROTO_SMALL_DIRECTORY) || !proto_hub_restart(&hub))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	proto_hub_cleanup(&hub);
	return 0;
}

static void test_rules(void **state)
{
	(void)state;
	char ext[512];

	expect_added(NAT_OBJECTS, T_CERT, indicator(ID_GREEN, TLP_GREEN, NULL));
	expect_added(NAT_OBJECTS, T_CERT, indicator(ID_STRICT, TLP_AMBER_STRICT, NULL));
	snprintf(ext, sizeof ext,
		 ",\"extensions\":{\"" EXT "\":{\"extension_type\":\"property-extension\","
		 "\"recipients\":[\"" OP_IDENTITY "\"]}}");
	expect_added(NAT_OBJECTS, T_CERT, indicator(ID_RED, TLP_RED, ext));
	expect_added(NAT_OBJECTS, T_CERT, relationship(ID_REL_STRICT, ID_GREEN, ID_STRICT));
	expect_added(NAT_OBJECTS, T_CERT, relationship(ID_REL_RED, ID_GREEN, ID_RED));
	expect_added(PUB_OBJECTS, T_CERT, indicator(ID_CLEAR, NULL, NULL));

	/* who sees what in NATC */
	expect_listing(NAT_OBJECTS, T_CERT, "objects",
		       ID_GREEN "," ID_STRICT "," ID_RED "," ID_REL_STRICT "," ID_REL_RED);
	expect_listing(NAT_OBJECTS, T_OP, "objects",
		       ID_GREEN "," ID_STRICT "," ID_RED "," ID_REL_STRICT "," ID_REL_RED);
	expect_listing(NAT_OBJECTS, T_MIN, "objects",
		       ID_GREEN "," ID_STRICT "," ID_REL_STRICT);
	/* a client: not AMBER+STRICT, not RED, and neither relationship */
	expect_listing(NAT_OBJECTS, T_CLI, "objects", ID_GREEN);
	expect_listing("/nat/collections/" NATC "/manifest/", T_CLI, "objects", ID_GREEN);
	/* anonymous: the public collection's TLP:CLEAR objects */
	expect_listing(PUB_OBJECTS, NULL, "objects", ID_CLEAR);

	/* hidden answers as absent, word for word */
	proto_resp hidden, absent;
	assert_true(proto_get(&hub, NAT_OBJECTS ID_REL_RED "/", T_CLI, &hidden));
	assert_true(proto_get(&hub, NAT_OBJECTS ID_UNKNOWN "/", T_CLI, &absent));
	assert_int_equal(hidden.status, 404);
	assert_int_equal(absent.status, 404);
	assert_string_equal(json_string_value(json_object_get(hidden.json, "title")),
			    json_string_value(json_object_get(absent.json, "title")));
	assert_string_equal(json_string_value(json_object_get(hidden.json, "description")),
			    json_string_value(json_object_get(absent.json, "description")));
	proto_resp_free(&hidden);
	proto_resp_free(&absent);
	assert_true(proto_get(&hub, NAT_OBJECTS ID_RED "/versions/", T_MIN, &hidden));
	assert_int_equal(hidden.status, 404);
	proto_resp_free(&hidden);
	/* outsiders and anonymous readers of a non-public collection */
	assert_true(proto_get(&hub, NAT_OBJECTS, T_FAR, &hidden));
	assert_int_equal(hidden.status, 404);
	proto_resp_free(&hidden);
	assert_true(proto_get(&hub, NAT_OBJECTS, NULL, &hidden));
	assert_int_equal(hidden.status, 401);
	proto_resp_free(&hidden);
	/* the client reaches its provider's community */
	assert_true(proto_get(&hub, "/taxii2/", T_CLI, &hidden));
	assert_int_equal(json_array_size(json_object_get(hidden.json, "api_roots")), 1);
	proto_resp_free(&hidden);
	/* the extension's definition, served in every collection */
	assert_true(proto_get(&hub, NAT_OBJECTS EXT "/", T_CLI, &hidden));
	assert_int_equal(hidden.status, 200);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(hidden.json, "objects"), 0), "type")),
			    "extension-definition");
	proto_resp_free(&hidden);

	/* submission refusals: nothing stored */
	expect_refused(NAT_OBJECTS, T_OP,
		       indicator("indicator--a1000000-0000-4000-8000-000000000010", TLP_RED, NULL),
		       "TLP:RED needs recipients");
	snprintf(ext, sizeof ext,
		 ",\"extensions\":{\"" EXT "\":{\"extension_type\":\"property-extension\","
		 "\"recipients\":[\"identity--00000000-0000-4000-8000-000000000000\"]}}");
	expect_refused(NAT_OBJECTS, T_OP,
		       indicator("indicator--a1000000-0000-4000-8000-000000000011", TLP_RED, ext),
		       "unknown recipient");
	expect_refused(NAT_OBJECTS, T_OP,
		       indicator("indicator--a1000000-0000-4000-8000-000000000012", NULL,
				 ",\"object_marking_refs\":[\"" TLP_GREEN "\",\"" TLP_AMBER "\"]"),
		       "conflicting TLP markings");
	/* a new version that changes the marking */
	char *v2 = indicator(ID_GREEN, TLP_AMBER, NULL);
	char *at = strstr(v2, "\"modified\":\"2026-01-01");
	memcpy(at + 12, "2026-02-01", 10);
	expect_refused(NAT_OBJECTS, T_CERT, v2, "a new version keeps the markings");
	/* re-sharing into a wider audience */
	expect_refused(PUB_OBJECTS, T_CERT, indicator(ID_STRICT, TLP_AMBER_STRICT, NULL),
		       "re-sharing would widen the audience of a TLP:AMBER+STRICT object");
	/* somebody else's id */
	expect_refused(NAT_OBJECTS, T_OP, indicator(ID_GREEN, TLP_GREEN, NULL),
		       "owned by another organisation");
	expect_listing(NAT_OBJECTS, T_CERT, "objects",
		       ID_GREEN "," ID_STRICT "," ID_RED "," ID_REL_STRICT "," ID_REL_RED);

	/* deleting someone else's object: 403 if readable, else as absent */
	proto_resp d;
	assert_true(proto_http(&hub, "DELETE", NAT_OBJECTS ID_STRICT "/", T_OP,
			       (const char *const[]){"Accept: " PROTO_TAXII, NULL}, NULL, 0, &d));
	assert_int_equal(d.status, 403);
	proto_resp_free(&d);
	assert_true(proto_http(&hub, "DELETE", NAT_OBJECTS ID_RED "/", T_OPB,
			       (const char *const[]){"Accept: " PROTO_TAXII, NULL}, NULL, 0, &d));
	assert_int_equal(d.status, 403); /* op-b's organisation is a recipient */
	proto_resp_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
