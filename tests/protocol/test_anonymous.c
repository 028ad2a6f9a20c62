/*
 * test_anonymous.c: anonymous submission against a live hub
 * (docs/confidentiality.md, "Anonymous submission").
 *
 * Directory: PROTO_SMALL_DIRECTORY (cert, min, op and si members of nat,
 * si serving cli, gov holding cert and min, far nowhere; NATC GREEN, PUB
 * CLEAR public, GOVC AMBER). The hub runs with a rules file giving op its
 * address blocks and domains, one scrub pattern and one review pattern.
 * op-a posts one envelope anonymously to NATC, planting in it every kind
 * of value the rules must scrub (its identity, its name, a person's name
 * and contact, e-mail addresses in text and in custom properties, owned
 * IPv4/IPv6 addresses and domains with subdomains and an IDN, a URL query
 * with a fragment, a staff number, a name-based observable id), and
 * objects the rules must hold for review. Then every other reader looks on
 * every path (objects, object, versions, manifest, status, readers,
 * delete, a colliding post, exports over HTTP and from the CLI, the audit
 * trail), and the confidentiality oracle (proto_oracle.c, written from the
 * document) says both what each reader may see and that nothing it got
 * leaks the submitter. Then the review queue, the original kept for the
 * submitter, a second version, the per-community pseudonyms, and
 * `renkei push --anonymous` and `--named`.
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
#include "proto_oracle.h"

static proto_hub hub;
static or_world W;

#define ID_PERSON "identity--b1000000-0000-4000-8000-000000000001"
#define ID_A "indicator--b1000000-0000-4000-8000-00000000000a"
#define ID_SIGHT "sighting--b1000000-0000-4000-8000-000000000002"
#define ID_OBS "observed-data--b1000000-0000-4000-8000-000000000003"
#define ID_B "indicator--b1000000-0000-4000-8000-00000000000b" /* e-mail in a pattern */
#define ID_C "indicator--b1000000-0000-4000-8000-00000000000c" /* review pattern */
#define ID_D "indicator--b1000000-0000-4000-8000-00000000000d" /* URL query in a pattern */
#define V1 "2026-01-01T00:00:00.000Z"
#define V2 "2026-01-02T00:00:00.000Z"

static char sco_id[96];      /* ipv4-addr--UUIDv5 of its value, as posted */
static char sco_stored[96];  /* the id the hub stored it under */
static char pseudonym[96];   /* op's pseudonym in nat */
static char status_path[160];

/* What the rules must scrub: none of it may reach another organisation. */
static const char *const secrets[] = {
	"Operator", "Hanako", "Suzuki", "hanako.suzuki@", "soc@", "ops@",
	"op-energy.example", "203.0.113.45", "2001:db8:ace::10", "victim=", "#frag",
	"STAFF-4411", "+81-3-0000-0000", "例え.jp", "case?id=99", "xn--r8jz45g",
};
#define N_SECRETS (sizeof secrets / sizeof secrets[0])

static const char rules[] =
	"# op's own ranges and domains, a staff number, tickets for review\n"
	"owned op range 203.0.113.0/24\n"
	"owned op range 2001:db8:ace::/48\n"
	"owned op domain op-energy.example\n"
	"owned op domain 例え.jp\n"
	"pattern scrub staff-id \\bSTAFF-[0-9]{4}\\b\n"
	"pattern review ticket (?i)ticket\\s*#\\d+\n";

/* ---------------------------------------------------------------- the world */

static int org_ix(const char *slug)
{
	for (int i = 0; i < W.n_orgs; i++)
		if (strcmp(W.orgs[i].slug, slug) == 0)
			return i;
	return -1;
}

static void add_org(const char *slug)
{
	or_org *o = &W.orgs[W.n_orgs++];
	snprintf(o->slug, sizeof o->slug, "%s", slug);
	or_identity(slug, o->identity);
}

static void add_user(const char *name, const char *org, or_role role, const char *token)
{
	or_user *u = &W.users[W.n_users++];
	char n[80];
	snprintf(u->name, sizeof u->name, "%s", name);
	u->org = org_ix(org);
	u->role = role;
	snprintf(u->token, sizeof u->token, "%s", token);
	snprintf(n, sizeof n, "user:%s", name);
	or_identity(n, u->identity);
}

static void add_coll(const char *id, const char *comm, or_tlp tlp, bool public)
{
	or_coll *c = &W.colls[W.n_colls++];
	snprintf(c->id, sizeof c->id, "%s", id);
	c->comm = or_find_comm(&W, comm);
	c->default_tlp = tlp;
	c->public = public;
	c->can_read = 1u << OR_ROLE_ANALYST | 1u << OR_ROLE_READER;
	c->can_write = 1u << OR_ROLE_ANALYST;
}

/* PROTO_SMALL_DIRECTORY, as the oracle holds it. */
static void build_world(void)
{
	or_world_init(&W);
	add_org("cert");
	add_org("min");
	add_org("op");
	add_org("si");
	add_org("cli");
	add_org("far");
	W.orgs[org_ix("si")].clients = 1u << org_ix("cli");
	add_user("cert-a", "cert", OR_ROLE_ANALYST, T_CERT);
	add_user("op-a", "op", OR_ROLE_ANALYST, T_OP);
	add_user("op-s", "op", OR_ROLE_SENSOR, T_OPS);
	add_user("op-b", "op", OR_ROLE_ANALYST, T_OPB);
	add_user("min-r", "min", OR_ROLE_READER, T_MIN);
	add_user("si-a", "si", OR_ROLE_ANALYST, T_SI);
	add_user("cli-r", "cli", OR_ROLE_READER, T_CLI);
	add_user("far-a", "far", OR_ROLE_ANALYST, T_FAR);
	snprintf(W.comms[0].id, sizeof W.comms[0].id, "nat");
	W.comms[0].members = 1u << org_ix("cert") | 1u << org_ix("min") | 1u << org_ix("op") |
			     1u << org_ix("si");
	snprintf(W.comms[1].id, sizeof W.comms[1].id, "gov");
	W.comms[1].members = 1u << org_ix("cert") | 1u << org_ix("min");
	W.n_comms = 2;
	add_coll(NATC, "nat", OR_TLP_GREEN, false);
	add_coll(PUB, "nat", OR_TLP_CLEAR, true);
	add_coll(GOVC, "gov", OR_TLP_AMBER, false);
}

/* ---------------------------------------------------------------- helpers */

static json_t *post_env(const char *path, const char *token, const char *anon_header,
			const char *body)
{
	const char *hdr[] = {"Content-Type: " PROTO_TAXII, "Accept: " PROTO_TAXII, anon_header,
			     NULL};
	proto_resp r;
	assert_true(proto_http(&hub, "POST", path, token, hdr, body, strlen(body), &r));
	if (r.status != 202)
		fail_msg("POST %s: %ld %s", path, r.status, r.body);
	json_t *st = json_incref(r.json);
	proto_resp_free(&r);
	return st;
}

/* The entry of id in one of a status's lists, or NULL. */
static json_t *entry(json_t *status, const char *list, const char *id)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(status, list), i, e) {
		if (strcmp(json_string_value(json_object_get(e, "id")), id) == 0)
			return e;
	}
	return NULL;
}

/* Whether v's JSON text holds s. */
static bool dump_has(const json_t *v, const char *s)
{
	char *t = json_dumps(v, 0);
	bool has = t && strstr(t, s);
	free(t);
	return has;
}

static void expect_no_leak(const char *what, const char *text)
{
	char why[200];
	if (or_anon_leaks(&W, org_ix("op"), text, secrets, N_SECRETS, why, sizeof why))
		fail_msg("%s leaks %s:\n%.2000s", what, why, text);
}

/* ---------------------------------------------------------------- setup */

static char *first_envelope(void)
{
	char *env = malloc(16384);
	snprintf(
		env, 16384,
		"{\"objects\":["
		/* op's own identity, with contact information */
		"{\"type\":\"identity\",\"spec_version\":\"2.1\",\"id\":\"%s\",\"created\":\"" V1
		"\",\"modified\":\"" V1 "\",\"name\":\"Operator\",\"identity_class\":\"organization\","
		"\"contact_information\":\"soc@op-energy.example\"},"
		/* a person */
		"{\"type\":\"identity\",\"spec_version\":\"2.1\",\"id\":\"" ID_PERSON
		"\",\"created\":\"" V1 "\",\"modified\":\"" V1 "\",\"name\":\"Hanako Suzuki\","
		"\"identity_class\":\"individual\",\"contact_information\":\"+81-3-0000-0000\"},"
		/* an indicator full of things to scrub */
		"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" ID_A "\",\"created\":\"" V1
		"\",\"modified\":\"" V1 "\",\"name\":\"Phishing seen by Operator\","
		"\"description\":\"Hanako Suzuki (hanako.suzuki@op-energy.example) saw a beacon "
		"from 203.0.113.45 to mail.op-energy.example and "
		"https://evil.example/track?victim=op-7731#frag; badge STAFF-4411; see %s\","
		"\"pattern\":\"[ipv4-addr:value = '198.51.100.7']\",\"pattern_type\":\"stix\","
		"\"valid_from\":\"2026-01-01T00:00:00Z\",\"labels\":[\"portal.op-energy.example\"],"
		"\"external_references\":[{\"source_name\":\"internal\","
		"\"url\":\"https://wiki.example/case?id=99\",\"description\":\"ask the xn--r8jz45g.jp team\"}],"
		"\"x_detail\":{\"notes\":[\"contact ops@op-energy.example\"],"
		"\"deep\":{\"who\":\"Hanako Suzuki at 例え.jp\"}}},"
		/* a sighting where op saw it */
		"{\"type\":\"sighting\",\"spec_version\":\"2.1\",\"id\":\"" ID_SIGHT "\",\"created\":\"" V1
		"\",\"modified\":\"" V1 "\",\"sighting_of_ref\":\"" ID_A "\","
		"\"where_sighted_refs\":[\"%s\"],\"count\":3,"
		"\"description\":\"seen at 2001:db8:ace::10\"},"
		/* an observable with a name-based id, and what refers to it */
		"{\"type\":\"ipv4-addr\",\"spec_version\":\"2.1\",\"id\":\"%s\",\"value\":\"198.51.100.7\"},"
		"{\"type\":\"observed-data\",\"spec_version\":\"2.1\",\"id\":\"" ID_OBS "\",\"created\":\"" V1
		"\",\"modified\":\"" V1 "\",\"first_observed\":\"2026-01-01T00:00:00Z\","
		"\"last_observed\":\"2026-01-01T00:00:00Z\",\"number_observed\":1,"
		"\"object_refs\":[\"%s\"]},"
		/* held for review */
		"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" ID_B "\",\"created\":\"" V1
		"\",\"modified\":\"" V1 "\",\"pattern\":\"[email-addr:value = 'ceo@partner.example']\","
		"\"pattern_type\":\"stix\",\"valid_from\":\"2026-01-01T00:00:00Z\"},"
		"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" ID_C "\",\"created\":\"" V1
		"\",\"modified\":\"" V1 "\",\"description\":\"Ticket #4411 follow-up\","
		"\"pattern\":\"[domain-name:value = 'c2.example']\","
		"\"pattern_type\":\"stix\",\"valid_from\":\"2026-01-01T00:00:00Z\"},"
		"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" ID_D "\",\"created\":\"" V1
		"\",\"modified\":\"" V1 "\",\"pattern\":\"[url:value = 'http://evil.example/gate?id=42']\","
		"\"pattern_type\":\"stix\",\"valid_from\":\"2026-01-01T00:00:00Z\"}"
		"]}",
		OP_IDENTITY, OP_IDENTITY, OP_IDENTITY, sco_id, sco_id);
	return env;
}

static int setup(void **state)
{
	char uuid[RK_UUID_BUF];
	(void)state;
	proto_watchdog(240);
	build_world();
	rk_uuid_v5("00abedb4-aa42-466c-9c01-fed23315a9b7", "{\"value\":\"198.51.100.7\"}",
		   strlen("{\"value\":\"198.51.100.7\"}"), uuid);
	snprintf(sco_id, sizeof sco_id, "ipv4-addr--%s", uuid);
	if (!proto_hub_prepare(&hub))
		return -1;
	proto_write_file(hub.dir, "anonymise.rules", "w", rules);
	snprintf(hub.extra[hub.n_extra++], sizeof hub.extra[0], "--anonymise-rules");
	snprintf(hub.extra[hub.n_extra++], sizeof hub.extra[0], "%s/anonymise.rules", hub.dir);
	if (!proto_hub_apply_text(&hub, PROTO_SMALL_DIRECTORY) || !proto_hub_restart(&hub))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	proto_hub_cleanup(&hub);
	or_world_free(&W);
	return 0;
}

/* ---------------------------------------------------------------- tests */

/* The submission: what its status tells the submitter. */
static void test_submit(void **state)
{
	(void)state;
	char *env = first_envelope();
	json_t *st = post_env(NAT_OBJECTS, T_OP, "X-Renkei-Anonymous: true", env);
	free(env);
	snprintf(status_path, sizeof status_path, "/nat/status/%s/",
		 json_string_value(json_object_get(st, "id")));
	assert_string_equal(json_string_value(json_object_get(st, "status")), "pending");
	assert_int_equal(json_integer_value(json_object_get(st, "total_count")), 9);
	assert_int_equal(json_integer_value(json_object_get(st, "success_count")), 6);
	assert_int_equal(json_integer_value(json_object_get(st, "pending_count")), 3);
	assert_int_equal(json_integer_value(json_object_get(st, "failure_count")), 0);
	assert_non_null(entry(st, "pendings", ID_B));
	assert_non_null(entry(st, "pendings", ID_C));
	assert_non_null(entry(st, "pendings", ID_D));
	/* the observable was stored under a keyed id, which the submitter learns */
	const char *msg = json_string_value(json_object_get(entry(st, "successes", sco_id), "message"));
	assert_non_null(msg);
	assert_true(strncmp(msg, "added as ipv4-addr--", 20) == 0);
	snprintf(sco_stored, sizeof sco_stored, "%s", msg + 9);
	assert_true(or_anon_id_as_expected(sco_id, sco_stored));
	json_decref(st);

	/* the pseudonym, as the submitter reads its indicator back */
	proto_resp r;
	char path[256];
	snprintf(path, sizeof path, NAT_OBJECTS "%s/", ID_A);
	assert_true(proto_get(&hub, path, T_OP, &r));
	assert_int_equal(r.status, 200);
	json_t *a = json_array_get(json_object_get(r.json, "objects"), 0);
	snprintf(pseudonym, sizeof pseudonym, "%s",
		 json_string_value(json_object_get(a, "created_by_ref")));
	assert_true(or_anon_pseudonym_shape(&W, pseudonym));
	/* what the table says the indicator becomes */
	const char *desc = json_string_value(json_object_get(a, "description"));
	if (!strstr(desc, "[redacted-name] ([redacted-email]) saw a beacon from "
				     "[redacted-address] to [redacted-domain] and "
				     "https://evil.example/track badge [redacted:staff-id]; see "))
		fail_msg("description: %s", desc);
	assert_non_null(strstr(desc, pseudonym)); /* the identity id in the text */
	assert_string_equal(json_string_value(json_object_get(a, "name")),
			    "Phishing seen by [redacted-name]");
	proto_resp_free(&r);
}

/* Every reader, every TAXII path: the oracle's visible set, and no leak. */
static void test_readers(void **state)
{
	(void)state;
	proto_resp r;
	size_t i;
	json_t *o;
	char path[512];

	/* the hub's copy, as its owner reads it (every version) */
	assert_true(proto_get(&hub, NAT_OBJECTS "?match[version]=all", T_OP, &r));
	assert_int_equal(r.status, 200);
	json_array_foreach(json_object_get(r.json, "objects"), i, o) {
		const char *id = json_string_value(json_object_get(o, "id"));
		long obj = or_find_object(&W, id);
		if (obj < 0)
			obj = (long)or_world_add_object(&W, id,
							json_string_value(json_object_get(o, "type")),
							org_ix("op"));
		or_world_add_row(&W, 0, (size_t)obj, json_incref(o));
		/* the held objects do not exist, for their submitter too */
		assert_string_not_equal(id, ID_B);
		assert_string_not_equal(id, ID_C);
		assert_string_not_equal(id, ID_D);
	}
	proto_resp_free(&r);
	assert_true(or_find_object(&W, pseudonym) >= 0); /* stored so references resolve */
	assert_true(or_find_object(&W, sco_stored) >= 0);
	assert_true(or_find_object(&W, sco_id) < 0);
	assert_true(or_find_object(&W, OP_IDENTITY) < 0);

	or_oracle orc;
	or_oracle_init(&orc, &W);
	for (int u = 0; u < W.n_users; u++) {
		const or_user *us = &W.users[u];
		if (us->org == org_ix("op"))
			continue;
		or_oracle_reader(&orc, u);
		/* objects: exactly the oracle's visible set */
		assert_true(proto_get(&hub, NAT_OBJECTS, us->token, &r));
		expect_no_leak("objects", r.body);
		size_t want = 0, got = json_array_size(json_object_get(r.json, "objects"));
		for (size_t row = 0; row < W.n_rows; row++) {
			const or_verdict *v = or_decide(&orc, row);
			bool latest = true;
			for (size_t k = row + 1; k < W.n_rows; k++)
				latest &= W.rows[k].obj != W.rows[row].obj;
			want += v->visible && latest;
			if (v->visible) {
				char *t = json_dumps(v->served, 0);
				expect_no_leak("oracle's served object", t);
				free(t);
			}
		}
		if (r.status == 200 && got != want)
			fail_msg("%s: %zu objects, the oracle says %zu: %s", us->name, got, want,
				 r.body);
		proto_resp_free(&r);
		/* manifest, each object and its versions, the held ones too */
		assert_true(proto_get(&hub, "/nat/collections/" NATC "/manifest/", us->token, &r));
		expect_no_leak("manifest", r.body);
		proto_resp_free(&r);
		const char *ids[] = {ID_A, ID_SIGHT, ID_OBS, ID_PERSON, ID_B, ID_C, ID_D,
				     pseudonym, sco_stored, sco_id, OP_IDENTITY};
		for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
			snprintf(path, sizeof path, NAT_OBJECTS "%s/", ids[k]);
			assert_true(proto_get(&hub, path, us->token, &r));
			expect_no_leak("object", r.body);
			if (k >= 4 && k <= 6)
				assert_int_equal(r.status, 404); /* held */
			proto_resp_free(&r);
			snprintf(path, sizeof path, NAT_OBJECTS "%s/versions/", ids[k]);
			assert_true(proto_get(&hub, path, us->token, &r));
			expect_no_leak("versions", r.body);
			proto_resp_free(&r);
			snprintf(path, sizeof path, NAT_OBJECTS "%s/readers/", ids[k]);
			assert_true(proto_get(&hub, path, us->token, &r));
			assert_int_equal(r.status, 404); /* only the owner asks */
			expect_no_leak("readers", r.body);
			proto_resp_free(&r);
		}
		/* the submitter's status */
		assert_true(proto_get(&hub, status_path, us->token, &r));
		assert_int_equal(r.status, 404);
		expect_no_leak("status", r.body);
		proto_resp_free(&r);
		/* exports over HTTP */
		assert_true(proto_http(&hub, "GET", "/renkei/export/stix/", us->token, NULL, NULL,
				       0, &r));
		expect_no_leak("export", r.body);
		proto_resp_free(&r);
		assert_true(proto_http(&hub, "GET", "/renkei/export/misp/", us->token, NULL, NULL,
				       0, &r));
		expect_no_leak("MISP export", r.body);
		proto_resp_free(&r);
	}
	or_oracle_free(&orc);
	/* anonymous readers */
	assert_true(proto_get(&hub, PUB_OBJECTS, NULL, &r));
	expect_no_leak("public objects", r.body);
	proto_resp_free(&r);

	/* cert reads the indicator: the pseudonym resolves to its identity */
	snprintf(path, sizeof path, NAT_OBJECTS "%s/", pseudonym);
	assert_true(proto_get(&hub, path, T_CERT, &r));
	assert_int_equal(r.status, 200);
	o = json_array_get(json_object_get(r.json, "objects"), 0);
	assert_string_equal(json_string_value(json_object_get(o, "identity_class")),
			    "organization");
	assert_true(strncmp(json_string_value(json_object_get(o, "name")), "anonymous-", 10) == 0);
	proto_resp_free(&r);
	snprintf(path, sizeof path, NAT_OBJECTS "%s/", ID_SIGHT);
	assert_true(proto_get(&hub, path, T_CERT, &r));
	o = json_array_get(json_object_get(r.json, "objects"), 0);
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(o, "where_sighted_refs"), 0)),
		pseudonym);
	proto_resp_free(&r);
	snprintf(path, sizeof path, NAT_OBJECTS "%s/", ID_OBS);
	assert_true(proto_get(&hub, path, T_CERT, &r));
	o = json_array_get(json_object_get(r.json, "objects"), 0);
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(o, "object_refs"), 0)), sco_stored);
	proto_resp_free(&r);
	snprintf(path, sizeof path, NAT_OBJECTS "%s/", ID_PERSON);
	assert_true(proto_get(&hub, path, T_CERT, &r));
	o = json_array_get(json_object_get(r.json, "objects"), 0);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "[redacted-name]");
	assert_string_equal(json_string_value(json_object_get(o, "contact_information")),
			    "[redacted]");
	proto_resp_free(&r);
}

/* Paths where ownership could show: delete, a colliding post. */
static void test_ownership(void **state)
{
	(void)state;
	proto_resp r;
	char path[256], env[2048];

	snprintf(path, sizeof path, NAT_OBJECTS "%s/", ID_A);
	assert_true(proto_http(&hub, "DELETE", path, T_CERT, NULL, NULL, 0, &r));
	assert_int_equal(r.status, 403);
	expect_no_leak("delete", r.body);
	proto_resp_free(&r);
	snprintf(env, sizeof env,
		 "{\"objects\":[{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" ID_A
		 "\",\"created\":\"" V1 "\",\"modified\":\"" V2
		 "\",\"pattern\":\"[ipv4-addr:value = '198.51.100.9']\",\"pattern_type\":\"stix\","
		 "\"valid_from\":\"2026-01-01T00:00:00Z\"}]}");
	json_t *st = post_env(NAT_OBJECTS, T_CERT, NULL, env);
	char *text = json_dumps(st, 0);
	assert_non_null(strstr(text, "owned by another organisation"));
	expect_no_leak("refusal", text);
	free(text);
	json_decref(st);
}

/* The CLI's exports and the audit trail: no value. */
static void test_cli_paths(void **state)
{
	(void)state;
	static const char *const dests[] = {"--org cert", "--org min", "--org si", "--org cli",
					    "--org far", "--public"};
	char args[600];
	proto_run_result res;

	for (size_t i = 0; i < sizeof dests / sizeof dests[0]; i++) {
		snprintf(args, sizeof args, "export --data %s %s --format stix", hub.dir, dests[i]);
		proto_hub_run(&hub, args, &res);
		assert_int_equal(res.rc, 0);
		expect_no_leak("renkei export", res.out.data);
		proto_run_free(&res);
	}
	/* the audit names the rules and paths, never a value */
	snprintf(args, sizeof args, "audit show --data %s --json", hub.dir);
	proto_hub_run(&hub, args, &res);
	assert_int_equal(res.rc, 0);
	assert_non_null(strstr(res.out.data, "anonymised"));
	assert_non_null(strstr(res.out.data, "email description"));
	assert_non_null(strstr(res.out.data, "owned-domain labels[0]"));
	assert_non_null(strstr(res.out.data, "email x_detail.notes[0]"));
	assert_non_null(strstr(res.out.data, "held for review"));
	for (size_t i = 0; i < N_SECRETS; i++)
		if (strstr(res.out.data, secrets[i]))
			fail_msg("the audit trail holds '%s'", secrets[i]);
	proto_run_free(&res);
}

/* A rules file with a bad line: the hub does not start, and says where. */
static void test_bad_rules(void **state)
{
	(void)state;
	char args[700];
	proto_run_result res;
	proto_write_file(hub.dir, "bad.rules", "w",
			 "# fine\nowned op range 203.0.113.0/24\npattern scrub x [a-\n");
	snprintf(args, sizeof args, "hub --data %s --anonymise-rules %s/bad.rules -n", hub.dir,
		 hub.dir);
	proto_hub_run(&hub, args, &res);
	assert_int_equal(res.rc, 1);
	if (!strstr(res.err, "bad.rules:3: pattern error at offset"))
		fail_msg("stderr: %s", res.err);
	proto_run_free(&res);
}

static void item_of(const char *list, const char *id, char *out, size_t n);
static void expect_visible(const char *id, bool visible);

/* Approval asks the policy again, as for the submission: a submitter
 * that left the directory meanwhile has its held object rejected. */
static void test_approve_refused(void **state)
{
	(void)state;
	char env[2048], args[700], item[64], file[400];
	proto_run_result res;
	proto_resp r;

	snprintf(env, sizeof env,
		 "{\"objects\":[{\"type\":\"indicator\",\"spec_version\":\"2.1\","
		 "\"id\":\"indicator--f1000000-0000-4000-8000-000000000001\","
		 "\"created\":\"" V1 "\",\"modified\":\"" V1 "\","
		 "\"pattern\":\"[email-addr:value = 'x@partner.example']\",\"pattern_type\":\"stix\","
		 "\"valid_from\":\"2026-01-01T00:00:00Z\"}]}");
	json_t *st = post_env(NAT_OBJECTS, T_OPB, "X-Renkei-Anonymous: true", env);
	char spath[160];
	snprintf(spath, sizeof spath, "/nat/status/%s/", json_string_value(json_object_get(st, "id")));
	assert_int_equal(json_integer_value(json_object_get(st, "pending_count")), 1);
	json_decref(st);
	snprintf(args, sizeof args, "review list --data %s --json", hub.dir);
	proto_hub_run(&hub, args, &res);
	assert_int_equal(res.rc, 0);
	item_of(res.out.data, "indicator--f1000000-0000-4000-8000-000000000001", item, sizeof item);
	proto_run_free(&res);
	/* op-b leaves the directory */
	const char *from = "{\"name\": \"op-b\"";
	const char *at = strstr(PROTO_SMALL_DIRECTORY, from);
	const char *end = at ? strstr(at, "},") : NULL;
	assert_non_null(end);
	snprintf(file, sizeof file, "%s/directory-no-opb.json", hub.dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fprintf(f, "%.*s%s", (int)(at - PROTO_SMALL_DIRECTORY), PROTO_SMALL_DIRECTORY, end + 2);
	fclose(f);
	assert_true(proto_hub_apply(&hub, file));
	snprintf(args, sizeof args, "review approve --data %s %s", hub.dir, item);
	proto_hub_run(&hub, args, &res);
	assert_int_equal(res.rc, 1);
	if (!strstr(res.err, "no longer a user"))
		fail_msg("stderr: %s", res.err);
	proto_run_free(&res);
	expect_visible("indicator--f1000000-0000-4000-8000-000000000001", false);
	assert_true(proto_get(&hub, spath, T_OP, &r));
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "failure_count")), 1);
	assert_non_null(strstr(r.body, "rejected in review: the submitting user"));
	proto_resp_free(&r);
}

/* The queue item whose object is id, from `renkei review list --json`. */
static void item_of(const char *list, const char *id, char *out, size_t n)
{
	json_t *lines = proto_json_lines(list);
	size_t i;
	json_t *o;
	out[0] = '\0';
	json_array_foreach(lines, i, o) {
		if (strcmp(json_string_value(json_object_get(o, "object_id")), id) == 0)
			snprintf(out, n, "%s", json_string_value(json_object_get(o, "id")));
	}
	json_decref(lines);
	assert_true(out[0] != '\0');
}

static void expect_visible(const char *id, bool visible)
{
	char path[256];
	proto_resp r;
	snprintf(path, sizeof path, NAT_OBJECTS "%s/", id);
	assert_true(proto_get(&hub, path, T_CERT, &r));
	assert_int_equal(r.status, visible ? 200 : 404);
	proto_resp_free(&r);
}

static void test_review(void **state)
{
	(void)state;
	char args[600], item_b[64], item_c[64], item_d[64];
	proto_run_result res;
	proto_resp r;

	snprintf(args, sizeof args, "review list --data %s --json", hub.dir);
	proto_hub_run(&hub, args, &res);
	assert_int_equal(res.rc, 0);
	item_of(res.out.data, ID_B, item_b, sizeof item_b);
	item_of(res.out.data, ID_C, item_c, sizeof item_c);
	item_of(res.out.data, ID_D, item_d, sizeof item_d);
	assert_non_null(strstr(res.out.data, "email pattern (review)"));
	assert_non_null(strstr(res.out.data, "ticket description (review)"));
	assert_non_null(strstr(res.out.data, "url-query pattern (review)"));
	proto_run_free(&res);
	/* show: the transformed object, for the analyst */
	snprintf(args, sizeof args, "review show --data %s %s", hub.dir, item_b);
	proto_hub_run(&hub, args, &res);
	assert_int_equal(res.rc, 0);
	assert_non_null(strstr(res.out.data, "ceo@partner.example"));
	assert_non_null(strstr(res.out.data, pseudonym));
	proto_run_free(&res);

	expect_visible(ID_B, false);
	snprintf(args, sizeof args, "review approve --data %s %s", hub.dir, item_b);
	proto_hub_run(&hub, args, &res);
	assert_int_equal(res.rc, 0);
	proto_run_free(&res);
	snprintf(args, sizeof args, "review approve --data %s %s", hub.dir, item_c);
	proto_hub_run(&hub, args, &res);
	assert_int_equal(res.rc, 0);
	proto_run_free(&res);
	snprintf(args, sizeof args, "review reject --data %s --reason 'victim URL' %s", hub.dir,
		 item_d);
	proto_hub_run(&hub, args, &res);
	assert_int_equal(res.rc, 0);
	proto_run_free(&res);
	/* decided once */
	snprintf(args, sizeof args, "review approve --data %s %s", hub.dir, item_d);
	proto_hub_run(&hub, args, &res);
	assert_int_equal(res.rc, 1);
	assert_non_null(strstr(res.err, "already rejected"));
	proto_run_free(&res);

	expect_visible(ID_B, true);
	expect_visible(ID_C, true);
	expect_visible(ID_D, false);
	assert_true(proto_get(&hub, NAT_OBJECTS, T_MIN, &r));
	assert_null(strstr(r.body, ID_D));
	expect_no_leak("objects after review", r.body);
	proto_resp_free(&r);
	/* what the submitter's status says now */
	assert_true(proto_get(&hub, status_path, T_OP, &r));
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "status")), "complete");
	assert_int_equal(json_integer_value(json_object_get(r.json, "pending_count")), 0);
	assert_int_equal(json_integer_value(json_object_get(r.json, "success_count")), 8);
	assert_int_equal(json_integer_value(json_object_get(r.json, "failure_count")), 1);
	assert_string_equal(json_string_value(json_object_get(entry(r.json, "successes", ID_B),
								 "message")),
			    "added after review");
	assert_string_equal(json_string_value(json_object_get(entry(r.json, "failures", ID_D),
								 "message")),
			    "rejected in review: victim URL");
	proto_resp_free(&r);
	snprintf(args, sizeof args, "review list --data %s", hub.dir);
	proto_hub_run(&hub, args, &res);
	assert_int_equal(res.rc, 0);
	assert_int_equal(res.out.len, 0);
	proto_run_free(&res);
}

/* The original, for its submitter alone. */
static void test_original(void **state)
{
	(void)state;
	proto_resp r;
	assert_true(proto_get(&hub, "/renkei/anonymous/" ID_A "/", T_OP, &r));
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "hanako.suzuki@op-energy.example"));
	proto_resp_free(&r);
	assert_true(proto_get(&hub, "/renkei/anonymous/" ID_A "/", T_OPB, &r));
	assert_int_equal(r.status, 200);
	proto_resp_free(&r);
	/* by the id it was posted under and the one it is stored under */
	char path[256];
	snprintf(path, sizeof path, "/renkei/anonymous/%s/", sco_stored);
	assert_true(proto_get(&hub, path, T_OP, &r));
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, sco_id));
	proto_resp_free(&r);
	for (int u = 0; u < W.n_users; u++) {
		if (W.users[u].org == org_ix("op"))
			continue;
		assert_true(proto_get(&hub, "/renkei/anonymous/" ID_A "/", W.users[u].token, &r));
		assert_int_equal(r.status, 404);
		expect_no_leak("original", r.body);
		proto_resp_free(&r);
	}
	assert_true(proto_get(&hub, "/renkei/anonymous/" ID_A "/", NULL, &r));
	assert_int_equal(r.status, 401);
	proto_resp_free(&r);
}

/* A new version keeps the pseudonym; a named version is refused. */
static void test_versions(void **state)
{
	(void)state;
	char env[2048], path[256];
	proto_resp r;
	snprintf(env, sizeof env,
		 "{\"objects\":[{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" ID_A
		 "\",\"created\":\"" V1 "\",\"modified\":\"" V2
		 "\",\"description\":\"update from Operator\","
		 "\"pattern\":\"[ipv4-addr:value = '198.51.100.7']\",\"pattern_type\":\"stix\","
		 "\"valid_from\":\"2026-01-01T00:00:00Z\"}]}");
	json_t *st = post_env(NAT_OBJECTS, T_OPB, "X-Renkei-Anonymous: true", env);
	assert_int_equal(json_integer_value(json_object_get(st, "success_count")), 1);
	json_decref(st);
	snprintf(path, sizeof path, NAT_OBJECTS "%s/versions/", ID_A);
	assert_true(proto_get(&hub, path, T_CERT, &r));
	assert_int_equal(json_array_size(json_object_get(r.json, "versions")), 2);
	proto_resp_free(&r);
	snprintf(path, sizeof path, NAT_OBJECTS "%s/?match[version]=all", ID_A);
	assert_true(proto_get(&hub, path, T_CERT, &r));
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(r.json, "objects"), i, o)
		assert_string_equal(json_string_value(json_object_get(o, "created_by_ref")),
				    pseudonym);
	assert_int_equal(i, 2);
	expect_no_leak("versions", r.body);
	proto_resp_free(&r);

	/* the same id under the organisation's name would link the two */
	snprintf(env, sizeof env,
		 "{\"objects\":[{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"" ID_A
		 "\",\"created\":\"" V1 "\",\"modified\":\"2026-01-03T00:00:00.000Z\","
		 "\"pattern\":\"[ipv4-addr:value = '198.51.100.7']\",\"pattern_type\":\"stix\","
		 "\"valid_from\":\"2026-01-01T00:00:00Z\"}]}");
	st = post_env(NAT_OBJECTS, T_OP, "X-Renkei-Anonymous: false", env);
	assert_int_equal(json_integer_value(json_object_get(st, "failure_count")), 1);
	assert_true(dump_has(st, "shared anonymously"));
	json_decref(st);
	/* a bad header value */
	const char *hdr[] = {"Content-Type: " PROTO_TAXII, "Accept: " PROTO_TAXII,
			     "X-Renkei-Anonymous: perhaps", NULL};
	assert_true(proto_http(&hub, "POST", NAT_OBJECTS, T_OP, hdr, env, strlen(env), &r));
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "X-Renkei-Anonymous"));
	proto_resp_free(&r);
	/* naming itself among the recipients is refused */
	snprintf(env, sizeof env,
		 "{\"objects\":[{\"type\":\"indicator\",\"spec_version\":\"2.1\","
		 "\"id\":\"indicator--b1000000-0000-4000-8000-0000000000ee\","
		 "\"created\":\"" V1 "\",\"modified\":\"" V1 "\","
		 "\"pattern\":\"[ipv4-addr:value = '198.51.100.8']\",\"pattern_type\":\"stix\","
		 "\"valid_from\":\"2026-01-01T00:00:00Z\",\"object_marking_refs\":[\"" TLP_RED "\"],"
		 "\"extensions\":{\"" EXT "\":{\"extension_type\":\"property-extension\","
		 "\"recipients\":[\"%s\"]}}}]}",
		 OP_IDENTITY);
	st = post_env(NAT_OBJECTS, T_OP, "X-Renkei-Anonymous: true", env);
	assert_true(dump_has(st, "cannot name its own organisation"));
	json_decref(st);
}

/* One pseudonym per organisation and community; the directory default. */
static void test_pseudonyms(void **state)
{
	(void)state;
	char env[2048], path[256], p_nat[96], p_gov[96], p_si[96];
	proto_resp r;

	for (int k = 0; k < 2; k++) {
		snprintf(env, sizeof env,
			 "{\"objects\":[{\"type\":\"indicator\",\"spec_version\":\"2.1\","
			 "\"id\":\"indicator--c1000000-0000-4000-8000-00000000000%d\","
			 "\"created\":\"" V1 "\",\"modified\":\"" V1 "\","
			 "\"pattern\":\"[ipv4-addr:value = '198.51.100.1']\",\"pattern_type\":\"stix\","
			 "\"valid_from\":\"2026-01-01T00:00:00Z\"}]}",
			 k);
		json_t *st = post_env(k ? GOV_OBJECTS : NAT_OBJECTS, T_CERT,
				      "X-Renkei-Anonymous: yes", env);
		assert_int_equal(json_integer_value(json_object_get(st, "success_count")), 1);
		json_decref(st);
		snprintf(path, sizeof path, "%sindicator--c1000000-0000-4000-8000-00000000000%d/",
			 k ? GOV_OBJECTS : NAT_OBJECTS, k);
		assert_true(proto_get(&hub, path, T_MIN, &r));
		assert_int_equal(r.status, 200);
		snprintf(k ? p_gov : p_nat, 96, "%s",
			 json_string_value(json_object_get(
				 json_array_get(json_object_get(r.json, "objects"), 0),
				 "created_by_ref")));
		proto_resp_free(&r);
	}
	assert_true(or_anon_pseudonym_shape(&W, p_nat));
	assert_true(or_anon_pseudonym_shape(&W, p_gov));
	assert_string_not_equal(p_nat, p_gov);
	assert_string_not_equal(p_nat, pseudonym);
	/* the object cert shared anonymously in nat cannot go to gov, under
	 * its gov pseudonym or its name: one id would link them */
	snprintf(env, sizeof env,
		 "{\"objects\":[{\"type\":\"indicator\",\"spec_version\":\"2.1\","
		 "\"id\":\"indicator--c1000000-0000-4000-8000-000000000000\","
		 "\"created\":\"" V1 "\",\"modified\":\"" V1 "\","
		 "\"pattern\":\"[ipv4-addr:value = '198.51.100.1']\",\"pattern_type\":\"stix\","
		 "\"valid_from\":\"2026-01-01T00:00:00Z\"}]}");
	json_t *st = post_env(GOV_OBJECTS, T_CERT, "X-Renkei-Anonymous: true", env);
	assert_true(dump_has(st, "shared under another name"));
	json_decref(st);
	st = post_env(GOV_OBJECTS, T_CERT, "X-Renkei-Anonymous: false", env);
	assert_true(dump_has(st, "shared anonymously"));
	json_decref(st);

	/* si submits anonymously by default once the directory says so */
	char file[400];
	snprintf(file, sizeof file, "%s/directory-anon.json", hub.dir);
	const char *from = "\"clients\": [\"cli\"]}";
	const char *at = strstr(PROTO_SMALL_DIRECTORY, from);
	assert_non_null(at);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fprintf(f, "%.*s\"clients\": [\"cli\"], \"anonymous\": true}%s",
		(int)(at - PROTO_SMALL_DIRECTORY), PROTO_SMALL_DIRECTORY, at + strlen(from));
	fclose(f);
	assert_true(proto_hub_apply(&hub, file));
	char si_identity[96];
	proto_identity("si", si_identity, sizeof si_identity);
	for (int tries = 0; tries < 50; tries++) {
		snprintf(env, sizeof env,
			 "{\"objects\":[{\"type\":\"indicator\",\"spec_version\":\"2.1\","
			 "\"id\":\"indicator--d1000000-0000-4000-8000-0000000000%02d\","
			 "\"created\":\"" V1 "\",\"modified\":\"" V1 "\","
			 "\"pattern\":\"[ipv4-addr:value = '198.51.100.2']\",\"pattern_type\":\"stix\","
			 "\"valid_from\":\"2026-01-01T00:00:00Z\"}]}",
			 tries);
		json_decref(post_env(NAT_OBJECTS, T_SI, NULL, env));
		snprintf(path, sizeof path,
			 NAT_OBJECTS "indicator--d1000000-0000-4000-8000-0000000000%02d/", tries);
		assert_true(proto_get(&hub, path, T_CERT, &r));
		snprintf(p_si, sizeof p_si, "%s",
			 json_string_value(json_object_get(
				 json_array_get(json_object_get(r.json, "objects"), 0),
				 "created_by_ref")));
		proto_resp_free(&r);
		if (strcmp(p_si, si_identity) != 0)
			break;
		struct timespec ts = {0, 100 * 1000 * 1000}; /* the hub polls every second */
		nanosleep(&ts, NULL);
	}
	assert_true(or_anon_pseudonym_shape(&W, p_si));
	assert_string_not_equal(p_si, pseudonym);
}

/* `renkei push --anonymous` submits under the pseudonym, `--named` under
 * the organisation's name even when the directory makes it anonymous by
 * default (si, since test_pseudonyms). */
static void test_push_cli(void **state)
{
	(void)state;
	static const struct {
		const char *flag, *token, *id;
		bool anonymous;
	} cases[] = {
		{ "--anonymous", T_CERT, "indicator--f2000000-0000-4000-8000-000000000001", true },
		{ "--named", T_SI, "indicator--f2000000-0000-4000-8000-000000000002", false },
	};
	char file[400], args[1024], path[256], cert_identity[96], si_identity[96];
	proto_run_result run;
	proto_resp r;

	proto_identity("cert", cert_identity, sizeof cert_identity);
	proto_identity("si", si_identity, sizeof si_identity);
	for (size_t i = 0; i < RK_ARRAY_LEN(cases); i++) {
		char env[1024];
		snprintf(env, sizeof env,
			 "{\"type\":\"bundle\",\"id\":\"bundle--f2000000-0000-4000-8000-00000000000%zu\","
			 "\"objects\":[{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"%s\","
			 "\"created\":\"" V1 "\",\"modified\":\"" V1 "\","
			 "\"pattern\":\"[ipv4-addr:value = '198.51.100.3']\",\"pattern_type\":\"stix\","
			 "\"valid_from\":\"2026-01-01T00:00:00Z\"}]}",
			 i, cases[i].id);
		snprintf(file, sizeof file, "push-%zu.json", i);
		proto_write_file(hub.dir, file, "w", env);
		snprintf(args, sizeof args,
			 "push --url http://127.0.0.1:%u --token %s --root nat --collection " NATC
			 " %s %s/%s",
			 hub.port, cases[i].token, cases[i].flag, hub.dir, file);
		proto_hub_run(&hub, args, &run);
		if (run.rc != 0)
			fail_msg("%s: %d %s %s", args, run.rc, run.out.data, run.err);
		assert_non_null(strstr(run.out.data, "1 objects: 1 succeeded"));
		proto_run_free(&run);
		snprintf(path, sizeof path, NAT_OBJECTS "%s/", cases[i].id);
		assert_true(proto_get(&hub, path, T_MIN, &r));
		assert_int_equal(r.status, 200);
		const char *creator = json_string_value(json_object_get(
			json_array_get(json_object_get(r.json, "objects"), 0), "created_by_ref"));
		assert_non_null(creator);
		if (cases[i].anonymous) {
			assert_true(or_anon_pseudonym_shape(&W, creator));
			assert_string_not_equal(creator, cert_identity);
		} else {
			assert_string_equal(creator, si_identity);
		}
		proto_resp_free(&r);
	}
	proto_hub_run(&hub, "push --anonymous --named --token x --collection " NATC " -", &run);
	assert_int_equal(run.rc, 2);
	assert_non_null(strstr(run.err, "--anonymous and --named exclude each other"));
	proto_run_free(&run);
}

/* What the asset registry says op owns, once approved, is scrubbed too;
 * a claim still pending is not op's yet. */
static void test_registry(void **state)
{
	(void)state;
	char args[600], ids[64] = "", env[2048], path[256];
	proto_run_result res;
	proto_resp r;

	snprintf(args, sizeof args,
		 "assets claim --data %s --org op 192.0.2.128/25 registry-op.example AS64511",
		 hub.dir);
	proto_hub_run(&hub, args, &res);
	assert_int_equal(res.rc, 0);
	/* one line per claim: ID, organisation, value, state */
	for (const char *l = res.out.data; l && *l;) {
		size_t n = strlen(ids);
		snprintf(ids + n, sizeof ids - n, " %lld", atoll(l));
		l = strchr(l, '\n');
		l = l ? l + 1 : NULL;
	}
	proto_run_free(&res);
	snprintf(args, sizeof args, "assets approve --data %s%s", hub.dir, ids);
	proto_hub_run(&hub, args, &res);
	assert_int_equal(res.rc, 0);
	proto_run_free(&res);
	snprintf(args, sizeof args, "assets claim --data %s --org op pending-op.example", hub.dir);
	proto_hub_run(&hub, args, &res);
	assert_int_equal(res.rc, 0);
	proto_run_free(&res);

	snprintf(env, sizeof env,
		 "{\"objects\":[{\"type\":\"indicator\",\"spec_version\":\"2.1\","
		 "\"id\":\"indicator--e1000000-0000-4000-8000-000000000001\","
		 "\"created\":\"" V1 "\",\"modified\":\"" V1 "\","
		 "\"description\":\"from 192.0.2.200 to vpn.registry-op.example via AS64511 "
		 "(pending-op.example, 192.0.2.1)\","
		 "\"pattern\":\"[ipv4-addr:value = '198.51.100.3']\",\"pattern_type\":\"stix\","
		 "\"valid_from\":\"2026-01-01T00:00:00Z\"}]}");
	json_decref(post_env(NAT_OBJECTS, T_OP, "X-Renkei-Anonymous: true", env));
	snprintf(path, sizeof path, NAT_OBJECTS "indicator--e1000000-0000-4000-8000-000000000001/");
	assert_true(proto_get(&hub, path, T_CERT, &r));
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(r.json, "objects"), 0), "description")),
			    "from [redacted-address] to [redacted-domain] via [redacted-asn] "
			    "(pending-op.example, 192.0.2.1)");
	proto_resp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_submit),    cmocka_unit_test(test_readers),
		cmocka_unit_test(test_ownership), cmocka_unit_test(test_cli_paths),
		cmocka_unit_test(test_review),    cmocka_unit_test(test_original),
		cmocka_unit_test(test_versions),  cmocka_unit_test(test_pseudonyms),
		cmocka_unit_test(test_push_cli),
		cmocka_unit_test(test_registry),  cmocka_unit_test(test_bad_rules),
		cmocka_unit_test(test_approve_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
