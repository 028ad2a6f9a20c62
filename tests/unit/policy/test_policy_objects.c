/*
 * test_policy_objects.c: the per-object rules of docs/confidentiality.md,
 * one table per rule, over a small directory built here:
 *
 *   organisations  cert, min (ministry), op (operator), si (integrator,
 *                  serving cli), cli (a client, member of nothing), far
 *                  (an outsider), part (a partner CERT)
 *   communities    nat: cert min op si     gov: cert min     intl: cert part
 *   collections    NATC (nat, GREEN), PUB (nat, CLEAR, public), GOVC (gov,
 *                  AMBER), INTLC (intl, GREEN)
 *
 * Reading (R1-R6), the view (granular markings, references), submission
 * (audience extraction and its refusals, the key's round trip), onward
 * paths and re-sharing. Expected values are written from the document,
 * not from the code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

#define NATC "11111111-1111-4111-8111-111111111111"
#define PUB "22222222-2222-4222-8222-222222222222"
#define GOVC "33333333-3333-4333-8333-333333333333"
#define INTLC "44444444-4444-4444-8444-444444444444"

static const char DIRECTORY[] =
	"{\"organizations\": ["
	" {\"id\": \"cert\", \"name\": \"CERT\", \"sectors\": [\"government-national\"]},"
	" {\"id\": \"min\", \"name\": \"Ministry\", \"sectors\": []},"
	" {\"id\": \"op\", \"name\": \"Operator\", \"sectors\": [\"energy\"]},"
	" {\"id\": \"si\", \"name\": \"Integrator\", \"sectors\": [], \"clients\": [\"cli\"]},"
	" {\"id\": \"cli\", \"name\": \"Client\", \"sectors\": []},"
	" {\"id\": \"far\", \"name\": \"Outsider\", \"sectors\": []},"
	" {\"id\": \"part\", \"name\": \"Partner\", \"sectors\": []}],"
	" \"users\": ["
	" {\"name\": \"cert-a\", \"organization\": \"cert\", \"role\": \"analyst\"},"
	" {\"name\": \"min-r\", \"organization\": \"min\", \"role\": \"reader\"},"
	" {\"name\": \"op-a\", \"organization\": \"op\", \"role\": \"analyst\"},"
	" {\"name\": \"op-b\", \"organization\": \"op\", \"role\": \"analyst\"},"
	" {\"name\": \"si-a\", \"organization\": \"si\", \"role\": \"analyst\"},"
	" {\"name\": \"cli-r\", \"organization\": \"cli\", \"role\": \"reader\"},"
	" {\"name\": \"far-a\", \"organization\": \"far\", \"role\": \"analyst\"},"
	" {\"name\": \"part-p\", \"organization\": \"part\", \"role\": \"partner\"}],"
	" \"communities\": ["
	" {\"id\": \"nat\", \"title\": \"Nation\", \"tier\": \"nation\","
	"  \"members\": [\"cert\", \"min\", \"op\", \"si\"]},"
	" {\"id\": \"gov\", \"title\": \"Government\", \"tier\": \"government\","
	"  \"members\": [\"cert\", \"min\"]},"
	" {\"id\": \"intl\", \"title\": \"International\", \"tier\": \"international\","
	"  \"members\": [\"cert\", \"part\"]}],"
	" \"collections\": ["
	" {\"id\": \"" NATC "\", \"community\": \"nat\", \"title\": \"National\","
	"  \"default_marking\": \"TLP:GREEN\", \"can_read\": [\"analyst\", \"reader\"],"
	"  \"can_write\": [\"analyst\"]},"
	" {\"id\": \"" PUB "\", \"community\": \"nat\", \"title\": \"Public\","
	"  \"default_marking\": \"TLP:CLEAR\", \"can_read\": [\"analyst\", \"reader\"],"
	"  \"can_write\": [\"analyst\"], \"public\": true},"
	" {\"id\": \"" GOVC "\", \"community\": \"gov\", \"title\": \"Government\","
	"  \"default_marking\": \"TLP:AMBER\", \"can_read\": [\"analyst\", \"reader\"],"
	"  \"can_write\": [\"analyst\"]},"
	" {\"id\": \"" INTLC "\", \"community\": \"intl\", \"title\": \"International\","
	"  \"default_marking\": \"TLP:GREEN\", \"can_read\": [\"analyst\", \"partner\"],"
	"  \"can_write\": [\"analyst\", \"partner\"]}]}";

static directory *dir;

static int setup(void **state)
{
	(void)state;
	json_error_t jerr;
	rk_errctx ctx;
	json_t *doc = json_loads(DIRECTORY, 0, &jerr);
	rk_errctx_clear(&ctx);
	if (!doc || dir_from_file_json(doc, &dir, &ctx) != RK_OK) {
		print_error("directory: %s %s\n", jerr.text, ctx.msg);
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

static const char *org_identity(const char *org)
{
	return dir_find_org(dir, org)->identity_id;
}

static const char *user_identity(const char *user)
{
	return dir_find_user(dir, user)->identity_id;
}

static policy_subject subject(const char *user)
{
	return policy_subject_of(dir, user ? dir_find_user(dir, user) : NULL);
}

/* An audience from a compact description: "GREEN", "RED r=cli,u:op-a",
 * "AMBER d=op c=gov g=RED", owner first ("op: AMBER+STRICT"). Lists hold
 * organisation slugs (u:NAME for a user); the test frees with
 * policy_audience_cleanup. */
static policy_audience audience(const char *desc)
{
	static const char *const levels[] = {"CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"};
	policy_audience a = {.tlp = STIX_TLP_NONE};
	char buf[256], *save = NULL;

	snprintf(buf, sizeof buf, "%s", desc);
	char *colon = strchr(buf, ':');
	char *rest = buf;
	if (colon && colon[1] == ' ') {
		*colon = '\0';
		a.owner = strdup(buf);
		rest = colon + 2;
	} else {
		a.owner = strdup("cert");
	}
	for (char *tok = strtok_r(rest, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		for (int l = 0; l < 5; l++)
			if (strcmp(tok, levels[l]) == 0)
				a.tlp = (stix_tlp)l;
		if (tok[1] != '=')
			continue;
		if (tok[0] == 'g') {
			for (int l = 0; l < 5; l++)
				if (strcmp(tok + 2, levels[l]) == 0)
					a.granular |= 1u << l;
			continue;
		}
		char ***list = tok[0] == 'r' ? &a.recipients : tok[0] == 'd' ? &a.distribution
									 : &a.communities;
		size_t *n = tok[0] == 'r' ? &a.n_recipients : tok[0] == 'd' ? &a.n_distribution
								       : &a.n_communities;
		char *save2 = NULL;
		for (char *v = strtok_r(tok + 2, ",", &save2); v; v = strtok_r(NULL, ",", &save2)) {
			*list = realloc(*list, (*n + 1) * sizeof **list);
			const char *val = tok[0] == 'c'		     ? v
					  : strncmp(v, "u:", 2) == 0 ? user_identity(v + 2)
								     : org_identity(v);
			(*list)[(*n)++] = strdup(val);
		}
	}
	return a;
}

/* ---------------------------------------------------------------- reading */

typedef struct read_row {
	int line;
	const char *user; /* NULL: anonymous */
	const char *collection;
	const char *audience;
	int want;
} read_row;

#define R(...) {__LINE__, __VA_ARGS__}

static const read_row reads[] = {
	/* R1 reach: members, clients of members; outsiders see nothing */
	R("op-a", NATC, "GREEN", 200),
	R("cli-r", NATC, "GREEN", 200),
	R("far-a", NATC, "GREEN", 404),
	R("cli-r", GOVC, "AMBER", 404),
	R("part-p", INTLC, "GREEN", 200),
	R("op-a", INTLC, "GREEN", 404),
	/* R2 permission: the role decides before the object */
	R("part-p", NATC, "CLEAR", 404),
	/* R4 by level */
	R("min-r", NATC, "CLEAR", 200),
	R("cli-r", NATC, "AMBER", 200),
	R("cli-r", NATC, "AMBER+STRICT", 404),
	R("si-a", NATC, "AMBER+STRICT", 200),
	R("op-a", NATC, "RED r=cert", 404),
	R("cert-a", NATC, "RED r=cert", 200),
	R("op-a", NATC, "RED r=u:op-a", 200),
	R("op-b", NATC, "RED r=u:op-a", 404),
	R("cli-r", NATC, "RED r=cli", 200),
	/* R3 the owner reads whatever the marking */
	R("op-b", NATC, "op: RED r=cert", 200),
	R("cli-r", NATC, "cli: AMBER+STRICT", 200),
	/* R5 distribution and communities narrow */
	R("op-a", NATC, "GREEN d=min", 404),
	R("min-r", NATC, "GREEN d=min", 200),
	R("min-r", NATC, "GREEN c=gov", 200),
	R("op-a", NATC, "GREEN c=gov", 404),
	R("cli-r", NATC, "AMBER c=nat", 404), /* a client is no member */
	R("cert-a", NATC, "op: RED r=cert d=min", 404),
	/* granular markings on required properties */
	R("op-a", NATC, "GREEN g=AMBER+STRICT", 200),
	R("cli-r", NATC, "GREEN g=AMBER+STRICT", 404),
	R("op-a", NATC, "GREEN g=RED r=cert", 404),
	R("cert-a", NATC, "GREEN g=RED r=cert", 200),
	/* R6 anonymous: public collections, TLP:CLEAR, no lists */
	R(NULL, PUB, "CLEAR", 200),
	R(NULL, PUB, "GREEN", 404),
	R(NULL, PUB, "CLEAR d=op", 404),
	R(NULL, PUB, "CLEAR r=op", 404),
	R(NULL, NATC, "CLEAR", 401),
	R("far-a", PUB, "CLEAR", 404), /* an authenticated outsider is no anonymous reader */
};

static void test_read(void **state)
{
	(void)state;
	int failures = 0;

	for (size_t i = 0; i < RK_ARRAY_LEN(reads); i++) {
		const read_row *r = &reads[i];
		policy_subject s = subject(r->user);
		policy_audience a = audience(r->audience);
		policy_resource res = {.collection = dir_find_collection(dir, r->collection),
				       .audience = &a};
		policy_decision d = policy_decide(dir, &s, POLICY_READ_OBJECT, &res);
		int got = d.allow ? 200 : d.http_status;
		if (got != r->want) {
			print_error("line %d: %s reads '%s': got %d (%s), want %d\n", r->line,
				    r->user ? r->user : "anonymous", r->audience, got, d.reason,
				    r->want);
			failures++;
		}
		policy_audience_cleanup(&a);
	}
	assert_int_equal(failures, 0);
}

/* ---------------------------------------------------------------- the view */

static const char *hidden_id = "malware--11111111-2222-4333-8444-555555555555";

static bool refs_visible(void *arg, const char *id)
{
	(void)arg;
	return strcmp(id, hidden_id) != 0;
}

/* The view of obj (JSON text) for user: "withheld", "whole", or the served
 * object as compact JSON with sorted keys. */
static char *view_of(const char *user, const char *aud_desc, const char *obj_text)
{
	json_error_t jerr;
	json_t *obj = json_loads(obj_text, 0, &jerr);
	policy_subject s = subject(user);
	policy_audience a = audience(aud_desc);
	policy_resource res = {.collection = dir_find_collection(dir, NATC), .audience = &a,
			       .json = obj, .ref_visible = refs_visible};
	assert_non_null(obj);
	policy_decision d = policy_decide(dir, &s, POLICY_READ_OBJECT, &res);
	char *out;
	if (!d.allow)
		out = strdup("withheld");
	else if (!d.view)
		out = strdup("whole");
	else
		out = json_dumps(d.view, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(d.view);
	json_decref(obj);
	policy_audience_cleanup(&a);
	return out;
}

#define TLP_RED "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
#define TLP_AMBER_STRICT "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"

#define HEAD                                                                        \
	"\"spec_version\":\"2.1\",\"created\":\"2024-01-01T00:00:00.000Z\","       \
	"\"modified\":\"2024-01-01T00:00:00.000Z\""

static void expect_view(const char *user, const char *aud, const char *obj, const char *want)
{
	char *got = view_of(user, aud, obj);
	if (strcmp(got, want) != 0)
		fail_msg("%s on %s:\n  got  %s\n  want %s", user, obj, got, want);
	free(got);
}

static void test_view_granular(void **state)
{
	(void)state;
	const char *ind =
		"{\"type\":\"indicator\",\"id\":\"indicator--0d7a1f4a-4b6e-4c5d-8e9f-0a1b2c3d4e5f\"," HEAD
		",\"pattern\":\"[ipv4-addr:value = '203.0.113.9']\",\"pattern_type\":\"stix\","
		"\"valid_from\":\"2024-01-01T00:00:00Z\",\"description\":\"seen at op\","
		"\"external_references\":[{\"source_name\":\"a\"},{\"source_name\":\"b\","
		"\"url\":\"https://example.org/x\"}],"
		"\"granular_markings\":[{\"marking_ref\":\"" TLP_AMBER_STRICT "\",\"selectors\":"
		"[\"description\",\"external_references.[1].url\"]}]}";
	/* A member reads it whole; a client loses the marked properties (the
	 * whole external_references) and the marking that named them. */
	expect_view("op-a", "GREEN", ind, "whole");
	expect_view("cli-r", "GREEN", ind,
		    "{\"created\":\"2024-01-01T00:00:00.000Z\","
		    "\"id\":\"indicator--0d7a1f4a-4b6e-4c5d-8e9f-0a1b2c3d4e5f\","
		    "\"modified\":\"2024-01-01T00:00:00.000Z\","
		    "\"pattern\":\"[ipv4-addr:value = '203.0.113.9']\",\"pattern_type\":\"stix\","
		    "\"spec_version\":\"2.1\",\"type\":\"indicator\","
		    "\"valid_from\":\"2024-01-01T00:00:00Z\"}");
	/* The owner always reads it whole. */
	expect_view("cli-r", "cli: GREEN", ind, "whole");
	/* A required property marked beyond the reader: withheld. */
	const char *req =
		"{\"type\":\"indicator\",\"id\":\"indicator--0d7a1f4a-4b6e-4c5d-8e9f-0a1b2c3d4e5f\"," HEAD
		",\"pattern\":\"[ipv4-addr:value = '203.0.113.9']\",\"pattern_type\":\"stix\","
		"\"valid_from\":\"2024-01-01T00:00:00Z\",\"granular_markings\":[{\"marking_ref\":\""
		TLP_RED "\",\"selectors\":[\"pattern\"]}]}";
	expect_view("op-a", "GREEN g=RED r=cert", req, "withheld");
	expect_view("cert-a", "GREEN g=RED r=cert", req, "whole");
}

static void test_view_references(void **state)
{
	(void)state;
	/* A relationship to a hidden end is withheld. */
	char rel[1024];
	snprintf(rel, sizeof rel,
		 "{\"type\":\"relationship\",\"id\":\"relationship--0d7a1f4a-4b6e-4c5d-8e9f-0a1b2c3d4e5f\","
		 HEAD ",\"relationship_type\":\"uses\","
		 "\"source_ref\":\"intrusion-set--0d7a1f4a-4b6e-4c5d-8e9f-0a1b2c3d4e51\","
		 "\"target_ref\":\"%s\"}",
		 hidden_id);
	expect_view("op-a", "GREEN", rel, "withheld");
	expect_view("op-a", "op: GREEN", rel, "whole"); /* its owner */
	/* A report loses the hidden id, and a granular marking on a later
	 * element is renumbered. */
	char rep[1024];
	snprintf(rep, sizeof rep,
		 "{\"type\":\"report\",\"id\":\"report--0d7a1f4a-4b6e-4c5d-8e9f-0a1b2c3d4e5f\"," HEAD
		 ",\"name\":\"r\",\"published\":\"2024-01-01T00:00:00Z\",\"object_refs\":[\"%s\","
		 "\"indicator--0d7a1f4a-4b6e-4c5d-8e9f-0a1b2c3d4e52\"],\"granular_markings\":["
		 "{\"marking_ref\":\"" TLP_AMBER_STRICT "\",\"selectors\":[\"object_refs.[1]\","
		 "\"object_refs.[0]\"]}]}",
		 hidden_id);
	expect_view("op-a", "GREEN", rep,
		    "{\"created\":\"2024-01-01T00:00:00.000Z\","
		    "\"granular_markings\":[{\"marking_ref\":\"" TLP_AMBER_STRICT "\","
		    "\"selectors\":[\"object_refs.[0]\"]}],"
		    "\"id\":\"report--0d7a1f4a-4b6e-4c5d-8e9f-0a1b2c3d4e5f\","
		    "\"modified\":\"2024-01-01T00:00:00.000Z\",\"name\":\"r\","
		    "\"object_refs\":[\"indicator--0d7a1f4a-4b6e-4c5d-8e9f-0a1b2c3d4e52\"],"
		    "\"published\":\"2024-01-01T00:00:00Z\",\"spec_version\":\"2.1\","
		    "\"type\":\"report\"}");
	/* Nothing left of a required list: withheld. */
	snprintf(rep, sizeof rep,
		 "{\"type\":\"report\",\"id\":\"report--0d7a1f4a-4b6e-4c5d-8e9f-0a1b2c3d4e5f\"," HEAD
		 ",\"name\":\"r\",\"published\":\"2024-01-01T00:00:00Z\",\"object_refs\":[\"%s\"]}",
		 hidden_id);
	expect_view("op-a", "GREEN", rep, "withheld");
	/* An optional list emptied goes; the sighting itself stays. */
	char sig[1024];
	snprintf(sig, sizeof sig,
		 "{\"type\":\"sighting\",\"id\":\"sighting--0d7a1f4a-4b6e-4c5d-8e9f-0a1b2c3d4e5f\"," HEAD
		 ",\"sighting_of_ref\":\"indicator--0d7a1f4a-4b6e-4c5d-8e9f-0a1b2c3d4e52\","
		 "\"where_sighted_refs\":[\"%s\"]}",
		 hidden_id);
	expect_view("op-a", "GREEN", sig,
		    "{\"created\":\"2024-01-01T00:00:00.000Z\","
		    "\"id\":\"sighting--0d7a1f4a-4b6e-4c5d-8e9f-0a1b2c3d4e5f\","
		    "\"modified\":\"2024-01-01T00:00:00.000Z\","
		    "\"sighting_of_ref\":\"indicator--0d7a1f4a-4b6e-4c5d-8e9f-0a1b2c3d4e52\","
		    "\"spec_version\":\"2.1\",\"type\":\"sighting\"}");
}

/* A hidden reference below the top level (here in an SCO extension)
 * withholds the object; granular marking references never count. */
static void test_view_nested_references(void **state)
{
	(void)state;
	char file[1024];
	snprintf(file, sizeof file,
		 "{\"type\":\"file\",\"spec_version\":\"2.1\","
		 "\"id\":\"file--0d7a1f4a-4b6e-4c5d-8e9f-0a1b2c3d4e5f\",\"name\":\"a.zip\","
		 "\"extensions\":{\"archive-ext\":{\"contains_refs\":[\"%s\"]}},"
		 "\"granular_markings\":[{\"marking_ref\":\"%s\",\"selectors\":[\"name\"]}]}",
		 hidden_id, hidden_id);
	expect_view("op-a", "GREEN", file, "withheld");
	expect_view("op-a", "op: GREEN", file, "whole");
	snprintf(file, sizeof file,
		 "{\"type\":\"file\",\"spec_version\":\"2.1\","
		 "\"id\":\"file--0d7a1f4a-4b6e-4c5d-8e9f-0a1b2c3d4e5f\",\"name\":\"a.zip\","
		 "\"granular_markings\":[{\"marking_ref\":\"%s\",\"selectors\":[\"name\"]}]}",
		 hidden_id);
	expect_view("op-a", "GREEN", file, "whole");
	/* and a read looks inside such an object: submission flags it */
	snprintf(file, sizeof file,
		 "{\"type\":\"file\",\"spec_version\":\"2.1\","
		 "\"id\":\"file--0d7a1f4a-4b6e-4c5d-8e9f-0a1b2c3d4e5f\",\"name\":\"a.zip\","
		 "\"extensions\":{\"archive-ext\":{\"contains_refs\":[\"%s\"]}}}",
		 hidden_id);
	json_error_t jerr;
	json_t *obj = json_loads(file, 0, &jerr);
	policy_audience_src src = {.dir = dir, .collection = dir_find_collection(dir, NATC),
				   .owner = "op"};
	policy_audience a;
	unsigned flags = 0;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(policy_audience_of(&src, obj, "", &a, &flags, &ctx), RK_OK);
	assert_true(flags & POLICY_F_REFS);
	policy_audience_cleanup(&a);
	json_decref(obj);
}

/* ---------------------------------------------------------------- submission */

static bool known_statement(void *arg, const char *id)
{
	(void)arg;
	return strcmp(id, "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9") == 0;
}

/* The audience of obj as posted by `owner` to collection NATC: its key, or
 * "error: <path>: <msg>". */
static char *submit(const char *owner, const char *obj_text)
{
	json_error_t jerr;
	json_t *obj = json_loads(obj_text, 0, &jerr);
	policy_audience_src src = {.dir = dir, .collection = dir_find_collection(dir, NATC),
				   .owner = owner, .marking_known = known_statement};
	policy_audience a;
	unsigned flags;
	rk_errctx ctx;
	char *out;

	assert_non_null(obj);
	rk_errctx_clear(&ctx);
	if (policy_audience_of(&src, obj, "objects[0]", &a, &flags, &ctx) == RK_OK) {
		out = policy_audience_key(&a);
		/* the key reads back as the same audience */
		policy_audience b;
		assert_int_equal(policy_audience_parse(out, &b, &ctx), RK_OK);
		char *again = policy_audience_key(&b);
		assert_string_equal(again, out);
		free(again);
		policy_audience_cleanup(&b);
	} else {
		char msg[512];
		rk_errctx_format(&ctx, msg, sizeof msg);
		out = malloc(strlen(msg) + 8);
		sprintf(out, "error: %s", msg);
	}
	policy_audience_cleanup(&a);
	json_decref(obj);
	return out;
}

#define EXT "extension-definition--4e3c1a2b-8f7d-4c6e-9b5a-1d2e3f4a5b6c"
#define MAL "\"type\":\"malware\",\"id\":\"malware--0d7a1f4a-4b6e-4c5d-8e9f-0a1b2c3d4e5f\"," \
	    HEAD ",\"name\":\"m\",\"is_family\":true"

static void expect_submit(const char *obj, const char *want)
{
	char *got = submit("op", obj);
	if (strncmp(got, want, strlen(want)) != 0)
		fail_msg("%s:\n  got  %s\n  want %s...", obj, got, want);
	free(got);
}

static void test_submission(void **state)
{
	(void)state;
	char buf[2048];
	/* no marking: the collection's default (GREEN = 1) */
	expect_submit("{" MAL "}", "1|1|0|op|||");
	expect_submit("{" MAL ",\"object_marking_refs\":[\"" TLP_AMBER_STRICT "\"]}",
		      "1|3|0|op|||");
	/* TLP 1.0 WHITE reads as CLEAR */
	expect_submit("{" MAL ",\"object_marking_refs\":[\"marking-definition--"
		      "613f2e26-407d-48c7-9eca-b8e91df99dc9\"]}",
		      "1|0|0|op|||");
	expect_submit("{" MAL ",\"object_marking_refs\":[\"" TLP_AMBER_STRICT
		      "\",\"" TLP_RED "\"]}",
		      "error: objects[0].object_marking_refs[1]: conflicting TLP markings "
		      "(TLP:AMBER+STRICT and TLP:RED)");
	expect_submit("{" MAL ",\"object_marking_refs\":[\"marking-definition--"
		      "00000000-0000-4000-8000-000000000000\"]}",
		      "error: objects[0].object_marking_refs[0]: unknown marking");
	expect_submit("{" MAL ",\"object_marking_refs\":[\"" TLP_RED "\"]}",
		      "error: objects[0].object_marking_refs: TLP:RED needs recipients");
	snprintf(buf, sizeof buf,
		 "{" MAL ",\"object_marking_refs\":[\"" TLP_RED "\"],\"extensions\":{\"" EXT
		 "\":{\"extension_type\":\"property-extension\",\"recipients\":[\"%s\",\"%s\","
		 "\"%s\"],\"communities\":[\"gov\"]}}}",
		 user_identity("op-b"), org_identity("cert"), user_identity("op-b"));
	char want[1024];
	/* lists sorted, repeats dropped */
	const char *a = user_identity("op-b"), *b = org_identity("cert");
	snprintf(want, sizeof want, "1|4|0|op|%s,%s||gov", strcmp(a, b) < 0 ? a : b,
		 strcmp(a, b) < 0 ? b : a);
	expect_submit(buf, want);
	snprintf(buf, sizeof buf,
		 "{" MAL ",\"extensions\":{\"" EXT "\":{\"extension_type\":\"property-extension\","
		 "\"recipients\":[\"identity--00000000-0000-4000-8000-000000000000\"]}}}");
	expect_submit(buf, "error: objects[0].extensions." EXT ".recipients[0]: unknown recipient");
	snprintf(buf, sizeof buf,
		 "{" MAL ",\"extensions\":{\"" EXT "\":{\"extension_type\":\"property-extension\","
		 "\"distribution\":[\"%s\"]}}}",
		 user_identity("op-a"));
	expect_submit(buf, "error: objects[0].extensions." EXT
			   ".distribution[0]: unknown distribution organisation");
	snprintf(buf, sizeof buf,
		 "{" MAL ",\"extensions\":{\"" EXT "\":{\"extension_type\":\"property-extension\","
		 "\"communities\":[\"nowhere\"]}}}");
	expect_submit(buf, "error: objects[0].extensions." EXT ".communities[0]: unknown community");
	snprintf(buf, sizeof buf,
		 "{" MAL ",\"extensions\":{\"" EXT "\":{\"extension_type\":\"property-extension\","
		 "\"readers\":[]}}}");
	expect_submit(buf, "error: objects[0].extensions." EXT ": unknown property 'readers'");
	/* granular: RED needs recipients too; levels on required properties
	 * enter the audience (is_family is required for malware: bit 1 << 3) */
	expect_submit("{" MAL ",\"granular_markings\":[{\"marking_ref\":\"" TLP_RED
		      "\",\"selectors\":[\"description\"]}]}",
		      "error: objects[0].granular_markings[0].marking_ref: TLP:RED needs recipients");
	expect_submit("{" MAL ",\"granular_markings\":[{\"marking_ref\":\"" TLP_AMBER_STRICT
		      "\",\"selectors\":[\"is_family\"]}]}",
		      "1|1|8|op|||");
	/* a broken key is refused */
	policy_audience x;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(policy_audience_parse("1|9|0|op|||", &x, &ctx), RK_EINVAL);
	assert_int_equal(policy_audience_parse("2|1|0|op|||", &x, &ctx), RK_EINVAL);
	assert_int_equal(policy_audience_parse("1|1|0|op||", &x, &ctx), RK_EINVAL);
}

/* ---------------------------------------------------------------- onward */

typedef struct onward_row {
	int line;
	const char *audience;
	policy_onward to;
	const char *where; /* community (partner hub) or organisation */
	int want;
	const char *named; /* partner hub: an organisation named on the partner */
} onward_row;

static const onward_row onwards[] = {
	R("CLEAR", POLICY_ONWARD_PUBLIC, NULL, 200),
	R("GREEN", POLICY_ONWARD_PUBLIC, NULL, 403),
	R("CLEAR d=op", POLICY_ONWARD_PUBLIC, NULL, 403),
	R("CLEAR g=CLEAR", POLICY_ONWARD_PUBLIC, NULL, 200), /* as anonymous readers (R6) */
	R("CLEAR g=GREEN", POLICY_ONWARD_PUBLIC, NULL, 403),
	R("CLEAR", POLICY_ONWARD_PARTNER_HUB, "intl", 200),
	R("GREEN", POLICY_ONWARD_PARTNER_HUB, "gov", 200),  /* shares members with nat */
	R("GREEN", POLICY_ONWARD_PARTNER_HUB, "nat", 200),
	R("AMBER", POLICY_ONWARD_PARTNER_HUB, "nat", 403),
	R("GREEN c=gov", POLICY_ONWARD_PARTNER_HUB, "intl", 403),
	R("GREEN d=op", POLICY_ONWARD_PARTNER_HUB, "nat", 403),
	R("RED r=op", POLICY_ONWARD_PARTNER_HUB, "nat", 403),
	/* a copy goes whole: a granular level on a required property counts */
	R("GREEN g=AMBER", POLICY_ONWARD_PARTNER_HUB, "nat", 403),
	R("CLEAR g=GREEN", POLICY_ONWARD_PARTNER_HUB, "gov", 200),
	R("CLEAR g=AMBER", POLICY_ONWARD_PARTNER_HUB, "intl", 403),
	R("GREEN g=CLEAR", POLICY_ONWARD_PARTNER_HUB, "nat", 200),
	/* objects for named organisations go to a partner where one is named */
	R("RED r=op", POLICY_ONWARD_PARTNER_HUB, "nat", 200, "op"),
	R("RED r=op", POLICY_ONWARD_PARTNER_HUB, "nat", 403, "min"),
	R("AMBER d=op", POLICY_ONWARD_PARTNER_HUB, "intl", 200, "op"),
	R("AMBER+STRICT d=op", POLICY_ONWARD_PARTNER_HUB, "nat", 200, "op"),
	R("GREEN d=op", POLICY_ONWARD_PARTNER_HUB, "nat", 200, "op"),
	R("AMBER", POLICY_ONWARD_PARTNER_HUB, "nat", 403, "op"), /* names nobody */
	R("AMBER+STRICT", POLICY_ONWARD_PARTNER_HUB, "nat", 403, "op"),
	R("GREEN c=gov d=op", POLICY_ONWARD_PARTNER_HUB, "intl", 403, "op"),
	R("GREEN", POLICY_ONWARD_INTERNAL, "op", 200),
	R("GREEN", POLICY_ONWARD_INTERNAL, "far", 403),
	R("AMBER", POLICY_ONWARD_INTERNAL, "cli", 200),
	R("AMBER+STRICT", POLICY_ONWARD_INTERNAL, "cli", 403),
	R("AMBER+STRICT", POLICY_ONWARD_INTERNAL, "si", 200),
	R("RED r=op", POLICY_ONWARD_INTERNAL, "op", 200),
	R("RED r=u:op-a", POLICY_ONWARD_INTERNAL, "op", 403), /* a user, not the organisation */
	R("RED r=op", POLICY_ONWARD_INTERNAL, "min", 403),
	R("GREEN d=min", POLICY_ONWARD_NOTIFY, "op", 403),
	R("GREEN d=min", POLICY_ONWARD_NOTIFY, "min", 200),
	R("AMBER", POLICY_ONWARD_NOTIFY, "far", 403),
	R("op: RED r=cert", POLICY_ONWARD_NOTIFY, "op", 200), /* its owner */
};

static void test_onward(void **state)
{
	(void)state;
	int failures = 0;

	for (size_t i = 0; i < RK_ARRAY_LEN(onwards); i++) {
		const onward_row *r = &onwards[i];
		policy_audience a = audience(r->audience);
		policy_resource res = {.collection = dir_find_collection(dir, NATC),
				       .audience = &a, .onward = r->to};
		const char *named[1];
		if (r->to == POLICY_ONWARD_PARTNER_HUB)
			res.onward_community = dir_find_community(dir, r->where);
		if (r->named) {
			named[0] = dir_find_org(dir, r->named)->identity_id;
			res.onward_recipients = named;
			res.n_onward_recipients = 1;
		}
		else if (r->where)
			res.onward_org = dir_find_org(dir, r->where);
		policy_decision d = policy_decide(dir, NULL, POLICY_SEND_ONWARD, &res);
		int got = d.allow ? 200 : d.http_status;
		if (got != r->want) {
			print_error("line %d: '%s' to %s: got %d (%s), want %d\n", r->line,
				    r->audience, r->where ? r->where : "public", got, d.reason,
				    r->want);
			failures++;
		}
		policy_audience_cleanup(&a);
	}
	assert_int_equal(failures, 0);
}

/* ---------------------------------------------------------------- re-sharing */

typedef struct reshare_row {
	int line;
	const char *user;
	const char *from, *to;
	const char *audience;
	const char *reason; /* NULL: allowed */
} reshare_row;

static const reshare_row reshares[] = {
	R("cert-a", NATC, PUB, "CLEAR", NULL),
	R("cert-a", NATC, PUB, "GREEN", "re-sharing would publish a TLP:GREEN object"),
	R("cert-a", NATC, INTLC, "GREEN", NULL),
	R("cert-a", GOVC, NATC, "AMBER",
	  "re-sharing would widen the audience of a TLP:AMBER object: collection 'National' "
	  "reaches organisations outside community 'gov'"),
	R("cert-a", NATC, GOVC, "AMBER", NULL),
	R("cert-a", NATC, INTLC, "AMBER+STRICT",
	  "re-sharing would widen the audience of a TLP:AMBER+STRICT object: collection "
	  "'International' reaches organisations outside community 'nat'"),
	R("cert-a", NATC, INTLC, "RED r=op",
	  "re-sharing a TLP:RED object: collection 'International' does not reach recipient "
	  "organisation op"),
	R("cert-a", NATC, GOVC, "RED r=min", NULL),
	/* somebody else's object: the owner rule speaks first */
	R("min-r", NATC, GOVC, "CLEAR", "role reader may not write to collection"),
	R("cert-a", NATC, GOVC, "min: CLEAR", "owned by another organisation"),
};

static void test_reshare(void **state)
{
	(void)state;
	int failures = 0;
	stix_info obj = {.type = "indicator", .id = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"};

	for (size_t i = 0; i < RK_ARRAY_LEN(reshares); i++) {
		const reshare_row *r = &reshares[i];
		policy_subject s = subject(r->user);
		policy_audience a = audience(r->audience);
		policy_resource res = {.collection = dir_find_collection(dir, r->to),
				       .stored_in = dir_find_collection(dir, r->from),
				       .audience = &a, .object = &obj, .owner_org = a.owner};
		policy_decision d = policy_decide(dir, &s, POLICY_WRITE_OBJECT, &res);
		bool ok = r->reason ? !d.allow && strncmp(d.reason, r->reason, strlen(r->reason)) == 0
				    : d.allow;
		if (!ok) {
			print_error("line %d: got %s (%s), want %s\n", r->line,
				    d.allow ? "allowed" : "refused", d.reason,
				    r->reason ? r->reason : "allowed");
			failures++;
		}
		policy_audience_cleanup(&a);
	}
	assert_int_equal(failures, 0);
}

/* Re-sharing is judged by the marking where the object is stored, not by
 * what the new copy would carry. */
static void test_reshare_stored_marking(void **state)
{
	(void)state;
	policy_subject s = subject("cert-a");
	policy_audience stored = audience("AMBER+STRICT"), now = audience("CLEAR");
	stix_info obj = {.type = "indicator", .id = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"};
	policy_resource res = {.collection = dir_find_collection(dir, PUB),
			       .stored_in = dir_find_collection(dir, NATC),
			       .audience = &now, .stored_audience = &stored, .object = &obj,
			       .owner_org = "cert"};
	policy_decision d = policy_decide(dir, &s, POLICY_WRITE_OBJECT, &res);
	assert_false(d.allow);
	assert_non_null(strstr(d.reason, "TLP:AMBER+STRICT"));
	res.stored_audience = NULL;
	assert_true(policy_decide(dir, &s, POLICY_WRITE_OBJECT, &res).allow);
	policy_audience_cleanup(&stored);
	policy_audience_cleanup(&now);
}

/* ---------------------------------------------------------------- sightings */

typedef struct sighting_row {
	int line;
	const char *user;
	const char *sighted_in, *to; /* the hub passes them only when equal */
	const char *sighted;  /* audience of the sighted object where stored */
	const char *sighting; /* audience of the sighting posted */
	const char *reason;   /* NULL: allowed */
} sighting_row;

static const sighting_row sightings[] = {
	R("op-a", NATC, NATC, "GREEN", "op: GREEN", NULL),
	R("op-a", NATC, NATC, "GREEN", "op: AMBER", NULL),
	R("op-a", NATC, NATC, "AMBER", "op: GREEN",
	  "a sighting must be marked at least as strictly as what it sights: TLP:GREEN "
	  "sighting of a TLP:AMBER object"),
	R("op-a", NATC, NATC, "AMBER", "op: AMBER+STRICT", NULL),
	R("op-a", NATC, NATC, "GREEN d=op,min", "op: GREEN",
	  "a sighting must not name readers beyond"),
	R("op-a", NATC, NATC, "GREEN d=op,min", "op: GREEN d=op", NULL),
	R("op-a", NATC, NATC, "GREEN d=op,min", "op: GREEN d=op,si",
	  "a sighting must not name readers beyond"),
	R("cert-a", NATC, NATC, "RED r=cert,op", "cert: RED r=cert,min",
	  "a sighting must not name readers beyond"),
	R("cert-a", NATC, NATC, "RED r=cert,op", "cert: RED r=cert", NULL),
	/* a sighted object the writer may not read: the rule does not speak,
	 * so it tells nothing of how that object is marked */
	R("op-a", NATC, NATC, "RED r=cert", "op: CLEAR", NULL),
	/* the owner of the sighted object is judged like anyone who reads it */
	R("op-a", NATC, NATC, "op: RED r=cert", "op: AMBER",
	  "a sighting must be marked at least as strictly as what it sights: TLP:AMBER "
	  "sighting of a TLP:RED object"),
	R("cert-a", GOVC, GOVC, "AMBER+STRICT", "cert: AMBER+STRICT", NULL),
	R("cert-a", GOVC, GOVC, "AMBER+STRICT", "cert: CLEAR",
	  "a sighting must be marked at least as strictly as what it sights: TLP:CLEAR"),
};

static void test_sighting_markings(void **state)
{
	(void)state;
	int failures = 0;
	stix_info obj = {.type = "sighting", .id = "sighting--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"};
	stix_info ind = {.type = "indicator", .id = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"};

	for (size_t i = 0; i < RK_ARRAY_LEN(sightings); i++) {
		const sighting_row *r = &sightings[i];
		policy_subject s = subject(r->user);
		policy_audience of = audience(r->sighted), a = audience(r->sighting);
		policy_resource res = {.collection = dir_find_collection(dir, r->to),
				       .audience = &a, .object = &obj,
				       .sighted_in = dir_find_collection(dir, r->sighted_in),
				       .sighted_audience = &of};
		policy_decision d = policy_decide(dir, &s, POLICY_WRITE_OBJECT, &res);
		bool ok = r->reason ? !d.allow && strncmp(d.reason, r->reason, strlen(r->reason)) == 0
				    : d.allow;
		if (!ok) {
			print_error("line %d: got %s (%s), want %s\n", r->line,
				    d.allow ? "allowed" : "refused", d.reason,
				    r->reason ? r->reason : "allowed");
			failures++;
		}
		/* The rule is for sightings: another type with the same facts
		 * is not judged by it. */
		res.object = &ind;
		if (!policy_decide(dir, &s, POLICY_WRITE_OBJECT, &res).allow) {
			print_error("line %d: an indicator was judged as a sighting\n", r->line);
			failures++;
		}
		policy_audience_cleanup(&of);
		policy_audience_cleanup(&a);
	}
	assert_int_equal(failures, 0);
}

/* ---------------------------------------------------------------- delete */

static void test_delete_hides(void **state)
{
	(void)state;
	policy_audience a = audience("cert: RED r=cert");
	policy_subject s = subject("op-a");
	policy_resource res = {.collection = dir_find_collection(dir, NATC), .audience = &a,
			       .owner_org = "cert"};
	/* someone else's object it may not read: as if never stored */
	policy_decision d = policy_decide(dir, &s, POLICY_DELETE_OBJECT, &res);
	assert_false(d.allow);
	assert_int_equal(d.http_status, 404);
	policy_audience_cleanup(&a);
	a = audience("cert: GREEN");
	d = policy_decide(dir, &s, POLICY_DELETE_OBJECT, &res);
	assert_int_equal(d.http_status, 403);
	policy_audience_cleanup(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_view_granular),
		cmocka_unit_test(test_view_references),
		cmocka_unit_test(test_view_nested_references),
		cmocka_unit_test(test_submission),
		cmocka_unit_test(test_onward),
		cmocka_unit_test(test_reshare),
		cmocka_unit_test(test_reshare_stored_marking),
		cmocka_unit_test(test_sighting_markings),
		cmocka_unit_test(test_delete_hides),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
