/*
 * test_policy.c: policy_decide as a table.
 *
 * Each row is one question to the policy over the example national
 * directory (tests/unit/directory/example-directory.json): who asks
 * (a user name, or NULL for anonymous), the action, the resource, and the
 * status expected (200 allowed, else the refusal's HTTP status). Adding a
 * rule is adding rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

#define EXAMPLE "tests/unit/directory/example-directory.json"

#define GOV "9f3c1e2a-6b7d-4c8e-9a0b-1c2d3e4f5a60"
#define NAT "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
#define INTL "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b"

#define READ_COL POLICY_READ_COLLECTION
#define WRITE_COL POLICY_WRITE_COLLECTION
#define SEE POLICY_SEE_API_ROOT
#define READ_OBJ POLICY_READ_OBJECT
#define WRITE_OBJ POLICY_WRITE_OBJECT
#define DELETE_OBJ POLICY_DELETE_OBJECT
#define ADMIN POLICY_ADMIN
#define READ_AUDIT POLICY_READ_AUDIT

typedef struct row {
	int line;
	const char *user;       /* NULL: anonymous */
	policy_action action;
	const char *community;  /* API root id, or NULL */
	const char *collection; /* collection id, or NULL */
	const char *created_by; /* WRITE_OBJECT: organisation whose identity the
				 * object names as creator; NULL: none */
	const char *owner;      /* stored owner organisation, NULL if new */
	int want;
} row;

#define R(...) {__LINE__, __VA_ARGS__}

static const row rows[] = {
	/* anonymous: nothing here (no collection of this directory is public) */
	R(NULL, SEE, "gov", NULL, NULL, NULL, 401),
	R(NULL, READ_COL, "nation", NAT, NULL, NULL, 401),
	R(NULL, READ_OBJ, "nation", NAT, NULL, NULL, 401),
	R(NULL, WRITE_OBJ, "nation", NAT, NULL, NULL, 401),
	R(NULL, ADMIN, NULL, NULL, NULL, NULL, 401),

	/* directory administration: role admin only */
	R("admin", ADMIN, NULL, NULL, NULL, NULL, 200),
	R("npa-analyst", ADMIN, NULL, NULL, NULL, NULL, 403),
	R("kr-partner", ADMIN, NULL, NULL, NULL, NULL, 403),

	/* API roots: visible to members, unknown to everyone else */
	R("npa-analyst", SEE, "gov", NULL, NULL, NULL, 200),
	R("npa-analyst", SEE, "nation", NULL, NULL, NULL, 404),
	R("npa-analyst", SEE, "intl", NULL, NULL, NULL, 404),
	R("admin", SEE, "intl", NULL, NULL, NULL, 200),
	R("kr-partner", SEE, "intl", NULL, NULL, NULL, 200),
	R("kr-partner", SEE, "gov", NULL, NULL, NULL, 404),
	R("power-sensor", SEE, NULL, NAT, NULL, NULL, 200),
	R("power-sensor", SEE, NULL, NULL, NULL, NULL, 404),

	/* collections: membership first (404), then role (403) */
	R("meti-reader", READ_COL, "gov", GOV, NULL, NULL, 200),
	R("meti-reader", WRITE_COL, "gov", GOV, NULL, NULL, 403),
	R("npa-analyst", WRITE_COL, "gov", GOV, NULL, NULL, 200),
	R("bank-analyst", READ_COL, "gov", GOV, NULL, NULL, 404),
	R("bank-analyst", WRITE_COL, "gov", GOV, NULL, NULL, 404),
	R("power-sensor", READ_COL, "nation", NAT, NULL, NULL, 200),
	R("power-sensor", WRITE_COL, "nation", NAT, NULL, NULL, 200),
	R("power-sensor", READ_COL, "gov", GOV, NULL, NULL, 404),
	R("kr-partner", READ_COL, "intl", INTL, NULL, NULL, 200),
	R("kr-partner", WRITE_COL, "intl", INTL, NULL, NULL, 200),
	R("kr-partner", READ_COL, "nation", NAT, NULL, NULL, 404),
	R("admin", READ_COL, "intl", INTL, NULL, NULL, 200),
	R("si-analyst", READ_COL, "nation", NAT, NULL, NULL, 200),
	R("si-analyst", READ_COL, "intl", INTL, NULL, NULL, 404),
	R("npa-analyst", READ_COL, "gov", NULL, NULL, NULL, 404),
	/* a collection asked for under another API root does not exist there */
	R("admin", READ_COL, "gov", NAT, NULL, NULL, 404),
	R("npa-analyst", READ_COL, NULL, GOV, NULL, NULL, 200),

	/* reading objects: the collection rule */
	R("meti-reader", READ_OBJ, "gov", GOV, NULL, NULL, 200),
	R("bank-analyst", READ_OBJ, "gov", GOV, NULL, NULL, 404),
	R("kr-partner", READ_OBJ, "intl", INTL, NULL, NULL, 200),
	R("power-sensor", READ_OBJ, "intl", INTL, NULL, NULL, 404),
	R("bank-analyst", READ_OBJ, "nation", NAT, NULL, NULL, 200),

	/* writing objects: role, owner, created_by_ref */
	R("npa-analyst", WRITE_OBJ, "gov", GOV, "npa", NULL, 200),
	R("npa-analyst", WRITE_OBJ, "gov", GOV, NULL, NULL, 200),
	R("npa-analyst", WRITE_OBJ, "gov", GOV, "nisc", NULL, 403),
	R("npa-analyst", WRITE_OBJ, "gov", GOV, NULL, "nisc", 403),
	R("npa-analyst", WRITE_OBJ, "gov", GOV, "npa", "npa", 200),
	R("meti-reader", WRITE_OBJ, "gov", GOV, "meti", NULL, 403),
	R("bank-analyst", WRITE_OBJ, "gov", GOV, "bank-a", NULL, 404),
	R("power-sensor", WRITE_OBJ, "nation", NAT, "power-east", NULL, 200),
	R("power-analyst", WRITE_OBJ, "nation", NAT, "power-east", "power-east", 200),
	/* a provider does not write for its client */
	R("si-analyst", WRITE_OBJ, "nation", NAT, "power-east", NULL, 403),
	R("si-analyst", WRITE_OBJ, "nation", NAT, NULL, "power-east", 403),
	R("kr-partner", WRITE_OBJ, "intl", INTL, "krcert", NULL, 200),
	R("kr-partner", WRITE_OBJ, "intl", INTL, "nisc", NULL, 403),

	/* deleting objects: write role and ownership */
	R("npa-analyst", DELETE_OBJ, "gov", GOV, NULL, "npa", 200),
	R("npa-analyst", DELETE_OBJ, "gov", GOV, NULL, "nisc", 403),
	R("admin", DELETE_OBJ, "gov", GOV, NULL, "npa", 403),
	R("meti-reader", DELETE_OBJ, "gov", GOV, NULL, "meti", 403),
	R("bank-analyst", DELETE_OBJ, "gov", GOV, NULL, "bank-a", 404),
	R("power-sensor", DELETE_OBJ, "nation", NAT, NULL, "power-east", 200),

	/* who read an object: the owner organisation only; 404 for the rest */
	R("npa-analyst", READ_AUDIT, "gov", GOV, NULL, "npa", 200),
	R("npa-analyst", READ_AUDIT, "gov", GOV, NULL, "nisc", 404),
	R("admin", READ_AUDIT, "gov", GOV, NULL, "npa", 404),
	R("meti-reader", READ_AUDIT, "gov", GOV, NULL, "meti", 200),
	R("npa-analyst", READ_AUDIT, "gov", GOV, NULL, NULL, 404),
	R(NULL, READ_AUDIT, "gov", GOV, NULL, "npa", 401),
};

static directory *dir;

static int setup(void **state)
{
	(void)state;
	json_t *doc = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	if (rk_json_load_file(EXAMPLE, 1 << 20, RK_MAX_JSON_DEPTH, &doc, &ctx) ||
	    dir_from_file_json(doc, &dir, &ctx)) {
		json_decref(doc);
		return -1;
	}
	json_decref(doc);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dir_free(dir);
	return 0;
}

static void test_table(void **state)
{
	(void)state;
	int failures = 0;

	for (size_t i = 0; i < RK_ARRAY_LEN(rows); i++) {
		const row *r = &rows[i];
		const dir_user *u = NULL;
		if (r->user) {
			u = dir_find_user(dir, r->user);
			assert_non_null(u);
		}
		policy_subject s = policy_subject_of(dir, u);
		stix_info obj = {.type = "indicator",
				 .id = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"};
		if (r->created_by) {
			const dir_org *o = dir_find_org(dir, r->created_by);
			assert_non_null(o);
			obj.created_by_ref = o->identity_id;
		}
		/* Objects here are TLP:GREEN, owned by r->owner (nisc when new):
		 * the per-object rules have their own tests
		 * (test_policy_objects.c). */
		policy_audience aud = {.tlp = STIX_TLP_GREEN,
				       .owner = (char *)(r->owner ? r->owner : "nisc")};
		policy_resource res = {
			.community = r->community ? dir_find_community(dir, r->community) : NULL,
			.collection = r->collection ? dir_find_collection(dir, r->collection) : NULL,
			.object = r->action == POLICY_WRITE_OBJECT ? &obj : NULL,
			.owner_org = r->owner,
			.audience = &aud,
		};
		if (r->community)
			assert_non_null(res.community);
		policy_decision d = policy_decide(dir, &s, r->action, &res);
		int got = d.allow ? 200 : d.http_status;
		if (got != r->want) {
			print_error("line %d: %s: got %d (%s), want %d\n", r->line,
				    r->user ? r->user : "anonymous", got, d.reason, r->want);
			failures++;
		}
		if (!d.allow)
			assert_true(d.reason[0] != '\0');
	}
	assert_int_equal(failures, 0);
}

static void test_subject(void **state)
{
	(void)state;
	policy_subject s = policy_subject_of(dir, dir_find_user(dir, "si-analyst"));
	assert_string_equal(s.user->name, "si-analyst");
	assert_non_null(s.org);
	assert_string_equal(s.org->id, "si-corp");

	s = policy_subject_of(dir, NULL);
	assert_null(s.user);
	assert_null(s.org);
	policy_decision d = policy_decide(dir, &s, POLICY_SEE_API_ROOT, NULL);
	assert_false(d.allow);
	assert_int_equal(d.http_status, 401);
	d = policy_decide(dir, NULL, POLICY_ADMIN, NULL);
	assert_int_equal(d.http_status, 401);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_subject),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
