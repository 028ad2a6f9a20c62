/*
 * test_export.c: exports against a live hub: who gets what (the onward
 * table of docs/confidentiality.md, "(c) internal export" and "(b) public
 * export"), the HTTP route with ETag and 304, clear errors, and the files
 * parsed back by the tools that read them where those are installed
 * (named-checkzone from bind9-utils, nft) and by this test (Zeek intel,
 * CSV).
 *
 * Directory: PROTO_SMALL_DIRECTORY (proto_hub.h), which
 * test_taxii_confidentiality.c uses too (cert, min, op and si
 * members of community nat, si serving the client cli, gov holding cert
 * and min, far belonging nowhere; collections NATC (nat, GREEN), PUB (nat,
 * CLEAR, public), GOVC (gov, AMBER)), plus a sensor user of op whose role
 * reads no collection. cert posts one indicator per case, each naming its
 * own domain, so an export's plain list says which cases it holds. The
 * expected lists are written from the document's table, not from
 * src/policy.
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


static proto_hub hub;

/* One indicator: n numbers its id, domain its pattern's value. */
static void post(const char *path, unsigned n, const char *modified, const char *domain,
		 const char *marking, const char *extra)
{
	char env[4096];
	proto_resp r;
	snprintf(env, sizeof env,
		 "{\"objects\":[{\"type\":\"indicator\",\"spec_version\":\"2.1\","
		 "\"id\":\"indicator--e0000000-0000-4000-8000-%012u\","
		 "\"created\":\"2026-01-01T00:00:00.000Z\",\"modified\":\"%s\","
		 "\"name\":\"case %s\",\"pattern\":\"[domain-name:value = '%s']\","
		 "\"pattern_type\":\"stix\",\"valid_from\":\"2026-01-01T00:00:00Z\"%s%s%s%s}]}",
		 n, modified, domain, domain, marking ? ",\"object_marking_refs\":[\"" : "",
		 marking ? marking : "", marking ? "\"]" : "", extra ? extra : "");
	assert_true(proto_post(&hub, path, T_CERT, env, &r));
	if (r.status != 202 ||
	    json_integer_value(json_object_get(r.json, "success_count")) != 1)
		fail_msg("POST %s (%s): %ld %s", path, domain, r.status, r.body);
	proto_resp_free(&r);
}

#define V1 "2026-01-01T00:00:00.000Z"
#define V2 "2026-01-02T00:00:00.000Z"

static void post_cases(void)
{
	post(NAT_OBJECTS, 1, V1, "clear.example", TLP_CLEAR, NULL);
	post(PUB_OBJECTS, 2, V1, "pub.example", NULL, NULL);
	post(NAT_OBJECTS, 3, V1, "green.example", TLP_GREEN, NULL);
	post(NAT_OBJECTS, 4, V1, "amber.example", TLP_AMBER, NULL);
	post(NAT_OBJECTS, 5, V1, "strict.example", TLP_AMBER_STRICT, NULL);
	post(NAT_OBJECTS, 6, V1, "red.example", TLP_RED,
	     ",\"extensions\":{\"" EXT "\":{\"extension_type\":\"property-extension\","
	     "\"recipients\":[\"" OP_IDENTITY "\"]}}");
	post(GOV_OBJECTS, 7, V1, "gov.example", NULL, NULL);
	post(NAT_OBJECTS, 8, V1, "dist.example", TLP_CLEAR,
	     ",\"extensions\":{\"" EXT "\":{\"extension_type\":\"property-extension\","
	     "\"distribution\":[\"" OP_IDENTITY "\"]}}");
	/* revoked in its latest version; expired; replaced by a new value */
	post(NAT_OBJECTS, 9, V1, "revoked.example", TLP_CLEAR, NULL);
	post(NAT_OBJECTS, 9, V2, "revoked.example", TLP_CLEAR, ",\"revoked\":true");
	post(NAT_OBJECTS, 10, V1, "expired.example", TLP_CLEAR,
	     ",\"valid_until\":\"2026-01-02T00:00:00Z\"");
	post(NAT_OBJECTS, 11, V1, "old.example", TLP_CLEAR, NULL);
	post(NAT_OBJECTS, 11, V2, "new.example", TLP_CLEAR, NULL);
}

static int setup(void **state)
{
	(void)state;
	proto_watchdog(180);
	if (!proto_hub_prepare(&hub))
		return -1;
	if (!proto_hub_apply_text(&hub, PROTO_SMALL_DIRECTORY) || !proto_hub_restart(&hub))
		return -1;
	post_cases();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	proto_hub_cleanup(&hub);
	return 0;
}

/* `renkei export` of one destination ("--org X" or "--public") in a
 * format, to stdout; asserts success. */
static void cli_export(const char *dest, const char *format, proto_run_result *r)
{
	char args[1024];
	snprintf(args, sizeof args, "export --data %s %s --format %s", hub.dir, dest, format);
	proto_hub_run(&hub, args, r);
	if (r->rc != 0) {
		int rc = r->rc;
		char err[600];
		snprintf(err, sizeof err, "%.500s", r->err);
		proto_run_free(r);
		fail_msg("renkei %s: exit %d: %s", args, rc, err);
	}
}

/* What each destination's export must hold, from the onward table: the
 * owner (cert) everything current; members of nat the CLEAR, GREEN, AMBER
 * and AMBER+STRICT cases; op also RED (a recipient) and the case
 * distributed to it; min also GOVC's AMBER; the client cli what clients
 * read (not AMBER+STRICT); far reaches nothing; the public export the
 * CLEAR cases without distribution. Never the revoked, expired or
 * replaced cases. Sorted as the plain list is (byte order). */
static const struct {
	const char *dest, *token, *want;
} expected[] = {
	{"--org cert", T_CERT,
	 "amber.example\nclear.example\ndist.example\ngov.example\ngreen.example\nnew.example\n"
	 "pub.example\nred.example\nstrict.example\n"},
	{"--org op", T_OP,
	 "amber.example\nclear.example\ndist.example\ngreen.example\nnew.example\npub.example\n"
	 "red.example\nstrict.example\n"},
	{"--org min", T_MIN,
	 "amber.example\nclear.example\ngov.example\ngreen.example\nnew.example\npub.example\n"
	 "strict.example\n"},
	{"--org si", T_SI,
	 "amber.example\nclear.example\ngreen.example\nnew.example\npub.example\nstrict.example\n"},
	{"--org cli", T_CLI, "amber.example\nclear.example\ngreen.example\nnew.example\npub.example\n"},
	{"--org far", T_FAR, ""},
	{"--public", NULL, "clear.example\nnew.example\npub.example\n"},
};

static void test_who_gets_what(void **state)
{
	(void)state;
	for (size_t i = 0; i < RK_ARRAY_LEN(expected); i++) {
		proto_run_result r;
		cli_export(expected[i].dest, "plain", &r);
		if (strcmp(r.out.data, expected[i].want) != 0)
			fail_msg("export %s:\n--- got\n%s--- want\n%s", expected[i].dest, r.out.data,
				 expected[i].want);
		proto_run_free(&r);
		if (!expected[i].token)
			continue;
		/* The same over HTTP with a token of the organisation. */
		proto_resp h;
		assert_true(proto_http(&hub, "GET", "/renkei/export/plain/", expected[i].token, NULL,
				       NULL, 0, &h));
		assert_int_equal(h.status, 200);
		if (strcmp(h.body ? h.body : "", expected[i].want) != 0)
			fail_msg("GET export as %s:\n--- got\n%s--- want\n%s", expected[i].dest,
				 h.body, expected[i].want);
		proto_resp_free(&h);
	}
	/* Every format holds the same indicators: the STIX bundle's ids. */
	proto_run_result r;
	cli_export("--public", "stix", &r);
	json_t *b = json_loads(r.out.data, 0, NULL);
	assert_non_null(b);
	assert_int_equal(json_array_size(json_object_get(b, "objects")), 3);
	json_t *o;
	size_t k;
	json_array_foreach (json_object_get(b, "objects"), k, o)
		assert_null(json_object_get(o, "extensions"));
	json_decref(b);
	proto_run_free(&r);
}

/* A user gets no more through the export than its role reads: op's sensor
 * user is in no can_read list. */
static void test_role_narrows(void **state)
{
	proto_resp h;
	(void)state;
	assert_true(proto_http(&hub, "GET", "/renkei/export/plain/", T_OPS, NULL, NULL, 0, &h));
	assert_int_equal(h.status, 200);
	assert_int_equal(h.len, 0);
	proto_resp_free(&h);
}

static void test_http_etag(void **state)
{
	proto_resp a, b, c;
	char etag[64], etag2[64], inm[96];
	(void)state;

	assert_true(proto_http(&hub, "GET", "/renkei/export/rpz", T_OP, NULL, NULL, 0, &a));
	assert_int_equal(a.status, 200);
	assert_true(proto_header(&a, "ETag", etag, sizeof etag));
	assert_int_equal(strlen(etag), 34);
	assert_true(proto_header(&a, "Content-Type", inm, sizeof inm));
	assert_string_equal(inm, "text/dns");
	assert_non_null(strstr(a.body, "\nred.example CNAME .\n*.red.example CNAME .\n"));

	snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
	const char *hdr[] = {inm, NULL};
	assert_true(proto_http(&hub, "GET", "/renkei/export/rpz", T_OP, hdr, NULL, 0, &b));
	assert_int_equal(b.status, 304);
	assert_int_equal(b.len, 0);
	assert_true(proto_header(&b, "ETag", etag2, sizeof etag2));
	assert_string_equal(etag, etag2);
	proto_resp_free(&b);

	/* A list, and weak comparison. */
	snprintf(inm, sizeof inm, "If-None-Match: \"other\", W/%s", etag);
	assert_true(proto_http(&hub, "GET", "/renkei/export/rpz", T_OP, hdr, NULL, 0, &b));
	assert_int_equal(b.status, 304);
	proto_resp_free(&b);

	/* Something new for op: the old ETag no longer matches. */
	post(NAT_OBJECTS, 20, V1, "later.example", TLP_GREEN, NULL);
	snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
	assert_true(proto_http(&hub, "GET", "/renkei/export/rpz", T_OP, hdr, NULL, 0, &c));
	assert_int_equal(c.status, 200);
	assert_true(proto_header(&c, "ETag", etag2, sizeof etag2));
	assert_string_not_equal(etag, etag2);
	assert_non_null(strstr(c.body, "\nlater.example CNAME .\n"));
	proto_resp_free(&c);

	/* Suricata's other files by name. */
	assert_true(proto_http(&hub, "GET", "/renkei/export/suricata/renkei-domain.lst", T_OP,
			       NULL, NULL, 0, &c));
	assert_int_equal(c.status, 200);
	assert_non_null(strstr(c.body, "cmVkLmV4YW1wbGU=\n")); /* red.example */
	proto_resp_free(&c);
	proto_resp_free(&a);
}

static void test_errors(void **state)
{
	proto_resp h;
	proto_run_result r;
	char args[512];
	(void)state;

	/* anonymous: no export over HTTP */
	assert_true(proto_http(&hub, "GET", "/renkei/export/plain", NULL, NULL, NULL, 0, &h));
	assert_int_equal(h.status, 401);
	proto_resp_free(&h);
	assert_true(proto_http(&hub, "GET", "/renkei/export/bind", T_OP, NULL, NULL, 0, &h));
	assert_int_equal(h.status, 404);
	assert_non_null(strstr(h.body, "no such export format"));
	proto_resp_free(&h);
	assert_true(proto_http(&hub, "GET", "/renkei/export/suricata/passwd", T_OP, NULL, NULL, 0,
			       &h));
	assert_int_equal(h.status, 404);
	proto_resp_free(&h);
	/* The TAXII endpoints are unchanged beside it. */
	assert_true(proto_get(&hub, "/taxii2/", T_OP, &h));
	assert_int_equal(h.status, 200);
	proto_resp_free(&h);

	snprintf(args, sizeof args, "export --data %s --org nobody --format zeek", hub.dir);
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "no organisation \"nobody\""));
	proto_run_free(&r);
	snprintf(args, sizeof args, "export --data %s --org op --format bind", hub.dir);
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.err, "unknown format \"bind\""));
	proto_run_free(&r);
	snprintf(args, sizeof args, "export --data %s --org op --public --format zeek", hub.dir);
	proto_hub_run(&hub, args, &r);
	assert_int_equal(r.rc, 2);
	proto_run_free(&r);
	proto_hub_run(&hub, "export --help", &r);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out.data, "--format"));
	proto_run_free(&r);
}

/* ------------------------------------------------ parse-back */

static bool have(const char *tool)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

/* Writes format's files for op into a fresh directory under the hub's. */
static void export_to_dir(const char *format, char *dir, size_t n)
{
	proto_run_result r;
	char args[1024];
	snprintf(dir, n, "%s/out-%s", hub.dir, format);
	snprintf(args, sizeof args, "export --data %s --org op --format %s --out %s 2>/dev/null",
		 hub.dir, format, dir);
	char mk[600];
	snprintf(mk, sizeof mk, "mkdir -p %s", dir);
	assert_int_equal(system(mk), 0);
	proto_hub_run(&hub, args, &r);
	if (r.rc != 0)
		fail_msg("renkei %s: exit %d", args, r.rc);
	proto_run_free(&r);
}

static void test_rpz_loads(void **state)
{
	char dir[400], cmd[1024];
	(void)state;
	if (!have("named-checkzone")) {
		print_message("skipped: named-checkzone not installed (Debian bind9-utils)\n");
		skip();
	}
	export_to_dir("rpz", dir, sizeof dir);
	snprintf(cmd, sizeof cmd, "named-checkzone -q rpz.renkei %s/renkei.rpz", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_nft_accepts(void **state)
{
	char dir[400], cmd[1024];
	(void)state;
	if (!have("nft")) {
		print_message("skipped: nft not installed (Debian nftables)\n");
		skip();
	}
	export_to_dir("nftables", dir, sizeof dir);
	/* nft -c still opens a netlink socket, which needs CAP_NET_ADMIN: as
	 * root directly, else in a user and network namespace of our own. */
	snprintf(cmd, sizeof cmd, "nft -c -f %s/renkei.nft 2>%s/nft.err", dir, dir);
	if (system(cmd) == 0)
		return;
	snprintf(cmd, sizeof cmd, "unshare -rn nft -c -f %s/renkei.nft 2>%s/nft.err", dir, dir);
	if (system(cmd) == 0)
		return;
	snprintf(cmd, sizeof cmd, "grep -qiE 'permission|not permitted|unshare' %s/nft.err", dir);
	if (system(cmd) == 0) {
		print_message("skipped: nft -c needs privileges this test does not have\n");
		skip();
	}
	snprintf(cmd, sizeof cmd, "cat %s/nft.err >&2", dir);
	(void)!system(cmd);
	fail_msg("nft refused the export");
}

/* Splits text into lines (in place); returns the count. */
static size_t lines(char *text, char **out, size_t max)
{
	size_t n = 0;
	for (char *p = text; *p && n < max;) {
		char *nl = strchr(p, '\n');
		if (!nl)
			fail_msg("unterminated line: %s", p);
		*nl = '\0';
		if (nl > p && nl[-1] == '\r')
			nl[-1] = '\0';
		out[n++] = p;
		p = nl + 1;
	}
	return n;
}

/* The Zeek intel file and the CSV read back hold op's plain list, value
 * for value, with the fields each format promises. */
static void test_zeek_csv_read_back(void **state)
{
	proto_run_result plain, zeek, csv;
	char *pl[64], *zl[64], *cl[64];
	(void)state;

	cli_export("--org op", "plain", &plain);
	cli_export("--org op", "zeek", &zeek);
	cli_export("--org op", "csv", &csv);
	size_t np = lines(plain.out.data, pl, 64);
	size_t nz = lines(zeek.out.data, zl, 64);
	size_t nc = lines(csv.out.data, cl, 64);
	assert_true(np > 5);
	assert_string_equal(zl[0], "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc");
	assert_int_equal(nz, np + 1);
	for (size_t i = 1; i < nz; i++) {
		char *f[5] = {0};
		size_t k = 0;
		for (char *p = zl[i]; p && k < 5; k++) {
			f[k] = p;
			char *t = strchr(p, '\t');
			if (t)
				*t = '\0';
			p = t ? t + 1 : NULL;
		}
		assert_int_equal(k, 4);
		assert_string_equal(f[0], pl[i - 1]);
		assert_string_equal(f[1], "Intel::DOMAIN");
		assert_string_equal(f[2], "renkei");
		assert_non_null(strstr(f[3], "indicator--e0000000-"));
	}
	assert_string_equal(cl[0], "value,kind,indicator,name");
	assert_int_equal(nc, np + 1);
	for (size_t i = 1; i < nc; i++) {
		/* value,kind,indicator,name: the values here need no quoting */
		char want[256];
		snprintf(want, sizeof want, "%s,domain,indicator--e0000000-", pl[i - 1]);
		assert_memory_equal(cl[i], want, strlen(want));
		char *name = strrchr(cl[i], ',') + 1;
		char wname[128];
		snprintf(wname, sizeof wname, "case %s", pl[i - 1]);
		assert_string_equal(name, wname);
	}
	proto_run_free(&plain);
	proto_run_free(&zeek);
	proto_run_free(&csv);
}

/* An export of more ids than one audit record holds (AUDIT_MAX_IDS) is
 * recorded in parts, every id named once. */
static void test_large_export_audited(void **state)
{
	(void)state;
	enum { MANY = 10001 };
	rk_buf env;
	proto_resp r;
	rk_buf_init(&env);
	for (unsigned first = 100000; first < 100000 + MANY; first += 5000) {
		unsigned count = first + 5000 <= 100000 + MANY ? 5000 : 100000 + MANY - first;
		rk_buf_reset(&env);
		rk_buf_puts(&env, "{\"objects\":[");
		for (unsigned n = first; n < first + count; n++) {
			char o[512];
			snprintf(o, sizeof o,
				 "%s{\"type\":\"indicator\",\"spec_version\":\"2.1\","
				 "\"id\":\"indicator--e0000000-0000-4000-8000-%012u\","
				 "\"created\":\"2026-01-01T00:00:00.000Z\",\"modified\":\"" V1 "\","
				 "\"pattern\":\"[domain-name:value = 'bulk%u.example']\","
				 "\"pattern_type\":\"stix\",\"valid_from\":\"2026-01-01T00:00:00Z\"}",
				 n == first ? "" : ",", n, n);
			assert_int_equal(rk_buf_puts(&env, o), RK_OK);
		}
		assert_int_equal(rk_buf_puts(&env, "]}"), RK_OK);
		assert_true(proto_post(&hub, NAT_OBJECTS, T_CERT, env.data, &r));
		assert_int_equal(r.status, 202);
		assert_int_equal(json_integer_value(json_object_get(r.json, "success_count")), count);
		proto_resp_free(&r);
	}
	rk_buf_cleanup(&env);

	assert_true(proto_http(&hub, "GET", "/renkei/export/plain", T_SI, NULL, NULL, 0, &r));
	assert_int_equal(r.status, 200);
	size_t served = 0;
	for (const char *p = r.body; (p = strchr(p, '\n')); p++)
		served++;
	proto_resp_free(&r);
	assert_true(served > MANY);

	/* the hub commits reads in the background: wait for both parts */
	char args[600];
	snprintf(args, sizeof args, "audit show --data %s --org si --json", hub.dir);
	size_t parts = 0, named = 0;
	for (int tries = 0; tries < 100 && parts < 2; tries++) {
		proto_run_result out;
		proto_hub_run(&hub, args, &out);
		assert_int_equal(out.rc, 0);
		json_t *recs = json_loads(out.out.data, 0, NULL);
		proto_run_free(&out);
		assert_non_null(recs);
		size_t i;
		json_t *rec;
		parts = named = 0;
		json_array_foreach(recs, i, rec)
		{
			const char *route = json_string_value(json_object_get(rec, "route"));
			if (!route || strcmp(route, "/renkei/export/plain") != 0)
				continue;
			char want[64];
			snprintf(want, sizeof want, "ok (part %zu of 2)", parts + 1);
			assert_string_equal(json_string_value(json_object_get(rec, "outcome")), want);
			named += json_array_size(json_object_get(rec, "objects"));
			parts++;
		}
		json_decref(recs);
		if (parts < 2)
			usleep(100 * 1000);
	}
	assert_int_equal(parts, 2);
	assert_int_equal(named, served);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_who_gets_what),
		cmocka_unit_test(test_role_narrows),
		cmocka_unit_test(test_http_etag),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_rpz_loads),
		cmocka_unit_test(test_nft_accepts),
		cmocka_unit_test(test_zeek_csv_read_back),
		cmocka_unit_test(test_large_export_audited), /* last: it adds 10,001 indicators */
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
