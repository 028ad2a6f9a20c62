/*
 * test_federation.c: three hubs on loopback, each its own process and
 * data directory, federated as renkei-federation(1) describes: a national
 * centre (N), a sector ISAC (I) and a partner CERT abroad (C), every pair
 * of them partners in both directions. Their schedulers run every second:
 * N and I, and I and C, push to each other; N and C pull from each other
 * (the renkei federation route), so both ways of moving objects are
 * under the same expectations.
 *
 *   N: community fed {nisc, isac-hub}, world {cert-hub}; collections NC1
 *      (fed: nisc's analysts write here) and NW (world: C writes here).
 *      Partner isac: fed, NC1 and NW -> IC1, recipients isac-soc.
 *      Partner cert: world, NC1 and NW may go to CC1 (C pulls them),
 *      recipients cert-soc; N pulls C's CC1 into NW.
 *   I: community fed {isac-soc, national-hub}, abroad {cert-hub};
 *      collections IC1 (fed), IA (abroad: C writes here).
 *      Partner national: fed, IC1 and IA -> NC1, recipients nisc.
 *      Partner cert: abroad, IC1 -> CC1, recipients cert-soc.
 *   C: community fed {cert-soc, national-hub, isac-hub}; collection CC1.
 *      Partner national: fed, CC1 may go to NW (N pulls it), recipients
 *      nisc; C pulls N's NC1 into CC1.
 *      Partner isac: fed, CC1 -> IA, recipients isac-soc.
 *
 * Organisation ids are the same on every hub where they appear, so their
 * STIX identities are too (UUIDv5 of the id). fed and world on N are not
 * connected (no common member), nor fed and abroad on I: GREEN from NC1
 * may go to I but not to C, neither directly nor through I.
 *
 * The expectations are written from docs/confidentiality.md "Onward
 * paths" (a), not from src/policy:
 *   CLEAR                         -> I, C
 *   GREEN                         -> I
 *   AMBER (no names)              -> nowhere
 *   AMBER for isac-soc            -> I
 *   AMBER+STRICT for cert-soc     -> C
 *   RED for isac-soc and cert-soc -> I, C
 *   RED for nisc only             -> nowhere
 *   GREEN for cert-soc            -> C
 * Then: loops (nothing comes back to where it came from; N's partners
 * receive nothing of N's own objects from the others), a revocation and
 * a deletion propagate, a fake partner's signed page with one object
 * altered loses that object only, an unsigned page and a RED object not
 * addressed to the hub are refused, and N killed with SIGKILL in the
 * middle of pushing 6,000 objects resumes with nothing lost or doubled.
 * Partners of N that are down, answer garbage or never answer fail on
 * their own, counted and reported, without holding up the others.
 *
 * FED_KEEP=1 keeps the three data directories (and says where).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "federation.h"
#include "proto_hub.h"
#include "proto_oracle.h"

#define NC1 "aaaaaaaa-0000-4000-8000-00000000000a"
#define NW "aaaaaaaa-0000-4000-8000-00000000000b"
#define IC1 "bbbbbbbb-0000-4000-8000-00000000000a"
#define IA "bbbbbbbb-0000-4000-8000-00000000000b"
#define CC1 "cccccccc-0000-4000-8000-00000000000a"

/* Tokens: T_<hub>_<user>. */
#define T_NA "tok-n-analyst-0123456789abcdef0123456789abcd"
#define T_N_ISAC "tok-n-isac-0123456789abcdef0123456789abcdefg"
#define T_N_CERT "tok-n-cert-0123456789abcdef0123456789abcdefg"
#define T_N_FAKE "tok-n-fake-0123456789abcdef0123456789abcdefg"
#define T_IA "tok-i-analyst-0123456789abcdef0123456789abcd"
#define T_I_NAT "tok-i-nat-0123456789abcdef0123456789abcdefgh"
#define T_I_CERT "tok-i-cert-0123456789abcdef0123456789abcdefg"
#define T_CA "tok-c-analyst-0123456789abcdef0123456789abcd"
#define T_C_NAT "tok-c-nat-0123456789abcdef0123456789abcdefgh"
#define T_C_ISAC "tok-c-isac-0123456789abcdef0123456789abcdefg"

#define ORG(id) "{\"id\":\"" id "\",\"name\":\"" id "\",\"sectors\":[\"government-national\"],\"country\":\"JP\"}"
#define USER(name, org, role, tok) \
	"{\"name\":\"" name "\",\"organization\":\"" org "\",\"role\":\"" role "\",\"token\":\"" tok "\"}"
#define COLL(id, comm, write)                                                           \
	"{\"id\":\"" id "\",\"community\":\"" comm "\",\"title\":\"" id "\","            \
	"\"default_marking\":\"TLP:GREEN\",\"can_read\":[\"admin\",\"analyst\",\"partner\"]," \
	"\"can_write\":[" write "]}"

static const char dir_n[] =
	"{\"organizations\":[" ORG("nisc") "," ORG("isac-soc") "," ORG("cert-soc") "," ORG(
		"isac-hub") "," ORG("cert-hub") "," ORG("fake-hub") "," ORG("down-hub") "," ORG("garbage-hub") "," ORG("stall-hub") "],"
	"\"users\":[" USER("n-analyst", "nisc", "analyst", T_NA) "," USER(
		"n-isac", "isac-hub", "partner", T_N_ISAC) "," USER("n-cert", "cert-hub", "partner",
								    T_N_CERT) "," USER("n-fake", "fake-hub", "partner", T_N_FAKE) "],"
	"\"communities\":[{\"id\":\"fed\",\"title\":\"fed\",\"tier\":\"nation\","
	"\"members\":[\"nisc\",\"isac-hub\",\"fake-hub\"]},"
	"{\"id\":\"world\",\"title\":\"world\",\"tier\":\"international\","
	"\"members\":[\"cert-hub\"]}],"
	"\"collections\":[" COLL(NC1, "fed", "\"analyst\",\"partner\"") "," COLL(
		NW, "world", "\"partner\"") "]}";

static const char dir_i[] =
	"{\"organizations\":[" ORG("isac-soc") "," ORG("nisc") "," ORG("cert-soc") "," ORG(
		"national-hub") "," ORG("cert-hub") "],"
	"\"users\":[" USER("i-analyst", "isac-soc", "analyst", T_IA) "," USER(
		"i-nat", "national-hub", "partner", T_I_NAT) "," USER("i-cert", "cert-hub", "partner",
								      T_I_CERT) "],"
	"\"communities\":[{\"id\":\"fed\",\"title\":\"fed\",\"tier\":\"nation\","
	"\"members\":[\"isac-soc\",\"national-hub\"]},"
	"{\"id\":\"abroad\",\"title\":\"abroad\",\"tier\":\"international\","
	"\"members\":[\"cert-hub\"]}],"
	"\"collections\":[" COLL(IC1, "fed", "\"analyst\",\"partner\"") "," COLL(
		IA, "abroad", "\"partner\"") "]}";

static const char dir_c[] =
	"{\"organizations\":[" ORG("cert-soc") "," ORG("nisc") "," ORG("isac-soc") "," ORG(
		"national-hub") "," ORG("isac-hub") "],"
	"\"users\":[" USER("c-analyst", "cert-soc", "analyst", T_CA) "," USER(
		"c-nat", "national-hub", "partner", T_C_NAT) "," USER("c-isac", "isac-hub", "partner",
								     T_C_ISAC) "],"
	"\"communities\":[{\"id\":\"fed\",\"title\":\"fed\",\"tier\":\"international\","
	"\"members\":[\"cert-soc\",\"national-hub\",\"isac-hub\"]}],"
	"\"collections\":[" COLL(CC1, "fed", "\"analyst\",\"partner\"") "]}";

static proto_hub hn, hi, hc;
/* partners of N that misbehave: one answers garbage, one never answers */
static proto_bad_server garbage, stall;
#define GARBAGE_REPLY                                                                   \
	"HTTP/1.1 202 Accepted\r\nContent-Type: application/taxii+json;version=2.1\r\n"  \
	"Content-Length: 8\r\nConnection: close\r\n\r\n[\"junk\"]"
static char key_n[64], key_i[64], key_c[64];
static fed_key fake_key;
static char id_nisc[64], id_isac[64], id_cert[64];

/* ---------------------------------------------------------------- helpers */

static void hub_key(proto_hub *h, char *out)
{
	proto_run_result r;
	char args[512];
	snprintf(args, sizeof args, "federation key --data %s", h->dir);
	proto_hub_run(h, args, &r);
	assert_int_equal(r.rc, 0);
	size_t n = strcspn(r.out.data, "\n");
	assert_true(n > 40 && n < 64);
	memcpy(out, r.out.data, n);
	out[n] = '\0';
	proto_run_free(&r);
}

static void setup_dir(proto_hub *h, const char *json)
{
	assert_true(proto_hub_prepare(h));
	proto_write_file(h->dir, "directory.json", "w", json);
	char path[400];
	snprintf(path, sizeof path, "%s/directory.json", h->dir);
	assert_true(proto_hub_apply(h, path));
}

static void partner(rk_buf *b, const char *dir, const char *name, const proto_hub *to,
		    const char *root, const char *token, const char *key, const char *org, const char *community,
		    const char *maps, const char *recipients, const char *extra)
{
	char tokfile[400];
	snprintf(tokfile, sizeof tokfile, "token-%s", name);
	proto_write_file(dir, tokfile, "w", token);
	rk_buf_printf(b,
		      "[partner %s]\nurl = http://127.0.0.1:%u\napi_root = %s\n"
		      "token_file = %s/%s\npublic_key = %s\norganisation = %s\n"
		      "community = %s\n%srecipients = %s\ndirection = push\ninterval = 1\n"
		      "timeout = 10\n%s\n",
		      name, to ? to->port : 9, root, dir,
		      tokfile, key, org, community, maps, recipients, extra ? extra : "");
}

static void start_federated(proto_hub *h, const char *conf)
{
	proto_write_file(h->dir, "federation.conf", "w", conf);
	h->n_extra = 0;
	snprintf(h->extra[h->n_extra++], sizeof h->extra[0], "--federation");
	snprintf(h->extra[h->n_extra++], sizeof h->extra[0], "%s/federation.conf", h->dir);
	h->keep_port = true;
	assert_true(proto_hub_restart(h));
}

static int group_setup(void **state)
{
	(void)state;
	proto_watchdog(300);
	assert_true(sodium_init() >= 0);
	proto_identity("nisc", id_nisc, sizeof id_nisc);
	proto_identity("isac-soc", id_isac, sizeof id_isac);
	proto_identity("cert-soc", id_cert, sizeof id_cert);
	setup_dir(&hn, dir_n);
	setup_dir(&hi, dir_i);
	setup_dir(&hc, dir_c);
	hub_key(&hn, key_n);
	hub_key(&hi, key_i);
	hub_key(&hc, key_c);
	/* the fake partner's key pair, made here */
	crypto_sign_keypair(fake_key.pk, fake_key.sk);
	fed_b64(fake_key.pk, 32, fake_key.pk_b64, sizeof fake_key.pk_b64);
	/* ports first: each hub once without federation */
	assert_true(proto_hub_restart(&hn));
	assert_true(proto_hub_restart(&hi));
	assert_true(proto_hub_restart(&hc));
	proto_hub_stop(&hn, SIGTERM);
	proto_hub_stop(&hi, SIGTERM);
	proto_hub_stop(&hc, SIGTERM);

	rk_buf b;
	rk_buf_init(&b);
	partner(&b, hn.dir, "isac", &hi, "fed", T_I_NAT, key_i, "isac-hub", "fed",
		"collection = " NC1 " " IC1 "\ncollection = " NW " " IC1 "\n", id_isac, NULL);
	partner(&b, hn.dir, "cert", &hc, "fed", T_C_NAT, key_c, "cert-hub", "world",
		"collection = " NC1 " " CC1 "\ncollection = " NW " " CC1 "\n", id_cert,
		"direction = pull\npull_collection = " NW " " CC1 "\n");
	char fake[256];
	snprintf(fake, sizeof fake, "%s", fake_key.pk_b64);
	partner(&b, hn.dir, "fake", NULL, "fed", "unused-token", fake, "fake-hub", "fed",
		"collection = " NC1 " " NC1 "\n", id_nisc, NULL);
	/* partners that are down, answer garbage, or never answer */
	proto_bad_server_start(&garbage, GARBAGE_REPLY);
	proto_bad_server_start(&stall, NULL);
	proto_hub down = {.port = 9};
	proto_hub g = {.port = garbage.port}, st = {.port = stall.port};
	partner(&b, hn.dir, "down", &down, "fed", "unused-token", key_i, "down-hub", "fed",
		"collection = " NC1 " " NC1 "\n", id_isac, "timeout = 2\n");
	partner(&b, hn.dir, "garbage", &g, "fed", "unused-token", key_i, "garbage-hub", "fed",
		"collection = " NC1 " " NC1 "\n", id_isac, "timeout = 2\n");
	partner(&b, hn.dir, "stall", &st, "fed", "unused-token", key_i, "stall-hub", "fed",
		"collection = " NC1 " " NC1 "\n", id_isac, "timeout = 2\n");
	/* the fake partner writes to N (pushes to it fail: nobody listens) */
	char *conf = rk_buf_take(&b);
	start_federated(&hn, conf);
	free(conf);

	rk_buf_init(&b);
	partner(&b, hi.dir, "national", &hn, "fed", T_N_ISAC, key_n, "national-hub", "fed",
		"collection = " IC1 " " NC1 "\ncollection = " IA " " NC1 "\n", id_nisc, NULL);
	partner(&b, hi.dir, "cert", &hc, "fed", T_C_ISAC, key_c, "cert-hub", "abroad",
		"collection = " IC1 " " CC1 "\n", id_cert, NULL);
	conf = rk_buf_take(&b);
	start_federated(&hi, conf);
	free(conf);

	rk_buf_init(&b);
	partner(&b, hc.dir, "national", &hn, "fed", T_N_CERT, key_n, "national-hub", "fed",
		"collection = " CC1 " " NW "\n", id_nisc,
		"direction = pull\npull_collection = " CC1 " " NC1 "\n");
	partner(&b, hc.dir, "isac", &hi, "abroad", T_I_CERT, key_i, "isac-hub", "fed",
		"collection = " CC1 " " IA "\n", id_isac, NULL);
	conf = rk_buf_take(&b);
	start_federated(&hc, conf);
	free(conf);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (getenv("FED_KEEP")) {
		proto_hub_stop(&hn, SIGTERM);
		proto_hub_stop(&hi, SIGTERM);
		proto_hub_stop(&hc, SIGTERM);
		fprintf(stderr, "kept %s %s %s\n", hn.dir, hi.dir, hc.dir);
		proto_bad_server_stop(&garbage);
		proto_bad_server_stop(&stall);
		return 0;
	}
	proto_hub_cleanup(&hn);
	proto_hub_cleanup(&hi);
	proto_hub_cleanup(&hc);
	proto_bad_server_stop(&garbage);
	proto_bad_server_stop(&stall);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* One indicator posted by an analyst; n numbers its id. */
static char *indicator(unsigned n, const char *modified, const char *marking,
		       const char *extra)
{
	rk_buf b;
	rk_buf_init(&b);
	rk_buf_printf(&b,
		      "{\"type\":\"indicator\",\"spec_version\":\"2.1\","
		      "\"id\":\"indicator--f0000000-0000-4000-8000-%012u\","
		      "\"created\":\"2026-01-01T00:00:00.000Z\",\"modified\":\"%s\","
		      "\"name\":\"case %u\",\"pattern\":\"[domain-name:value = 'c%u.example']\","
		      "\"pattern_type\":\"stix\",\"valid_from\":\"2026-01-01T00:00:00Z\","
		      "\"object_marking_refs\":[\"%s\"]%s}",
		      n, modified, n, n, marking, extra ? extra : "");
	return rk_buf_take(&b);
}

static void post_one(proto_hub *h, const char *coll, const char *token, const char *obj)
{
	char path[200];
	proto_resp r;
	rk_buf env;
	rk_buf_init(&env);
	rk_buf_printf(&env, "{\"objects\":[%s]}", obj);
	snprintf(path, sizeof path, "/fed/collections/%s/objects/", coll);
	assert_true(proto_post(h, path, token, env.data, &r));
	if (r.status != 202 || json_integer_value(json_object_get(r.json, "success_count")) != 1)
		fail_msg("POST %s: %ld %s", path, r.status, r.body);
	proto_resp_free(&r);
	rk_buf_cleanup(&env);
}

/* Versions of an id a hub holds in a collection (0: none), read as a
 * user that may read it. */
static int versions_of(proto_hub *h, const char *root, const char *coll, const char *token,
		       unsigned n)
{
	char path[300];
	proto_resp r;
	snprintf(path, sizeof path,
		 "/%s/collections/%s/objects/indicator--f0000000-0000-4000-8000-%012u/versions/",
		 root, coll, n);
	assert_true(proto_get(h, path, token, &r));
	int v = r.status == 200 ? (int)json_array_size(json_object_get(r.json, "versions")) : 0;
	proto_resp_free(&r);
	return v;
}

static int at_n(unsigned n)
{
	return versions_of(&hn, "fed", NC1, T_NA, n) + versions_of(&hn, "world", NW, T_N_CERT, n);
}
static int at_i(unsigned n)
{
	return versions_of(&hi, "fed", IC1, T_I_NAT, n) + versions_of(&hi, "abroad", IA, T_I_CERT, n);
}
static int at_c(unsigned n)
{
	/* owned by whichever partner brought it first: its owner reads it */
	int a = versions_of(&hc, "fed", CC1, T_C_NAT, n), b = versions_of(&hc, "fed", CC1, T_C_ISAC, n);
	return a > b ? a : b;
}

/* Waits until cond() holds (up to 30 s). */
static bool wait_for(bool (*cond)(void))
{
	for (int i = 0; i < 300; i++) {
		if (cond())
			return true;
		sleep_ms(100);
	}
	return cond();
}

/* ---------------------------------------------------------------- markings */

#define EXTN(list, who) \
	",\"extensions\":{\"" EXT "\":{\"extension_type\":\"property-extension\",\"" list "\":[" who "]}}"

static bool markings_arrived(void)
{
	return at_i(1) && at_c(1) && at_i(2) && at_i(4) && at_c(5) && at_i(6) && at_c(6) &&
	       at_c(8);
}

static void test_markings(void **state)
{
	(void)state;
	char q_isac[80], q_cert[80], q_both[160], q_nisc[80], x[400];
	snprintf(q_isac, sizeof q_isac, "\"%s\"", id_isac);
	snprintf(q_cert, sizeof q_cert, "\"%s\"", id_cert);
	snprintf(q_both, sizeof q_both, "\"%s\",\"%s\"", id_isac, id_cert);
	snprintf(q_nisc, sizeof q_nisc, "\"%s\"", id_nisc);
	struct {
		const char *marking;
		const char *list;
		const char *who;
		bool to_i, to_c;
	} cases[] = {
		{TLP_CLEAR, NULL, NULL, true, true},
		{TLP_GREEN, NULL, NULL, true, false},
		{TLP_AMBER, NULL, NULL, false, false},
		{TLP_AMBER, "distribution", q_isac, true, false},
		{TLP_AMBER_STRICT, "distribution", q_cert, false, true},
		{TLP_RED, "recipients", q_both, true, true},
		{TLP_RED, "recipients", q_nisc, false, false},
		{TLP_GREEN, "distribution", q_cert, false, true},
	};
	/* The oracle (docs "Onward paths" (a)) agrees with the table above
	 * for N's direct pushes, which are the only paths these objects
	 * take to where they go. */
	or_world w;
	or_world_init(&w);
	const char *slugs[] = {"nisc", "isac-soc", "cert-soc", "isac-hub", "cert-hub", "fake-hub"};
	for (int k = 0; k < 6; k++) {
		snprintf(w.orgs[k].slug, sizeof w.orgs[k].slug, "%s", slugs[k]);
		or_identity(slugs[k], w.orgs[k].identity);
	}
	w.n_orgs = 6;
	snprintf(w.comms[0].id, sizeof w.comms[0].id, "fed");
	w.comms[0].members = 1u << 0 | 1u << 3 | 1u << 5;
	snprintf(w.comms[1].id, sizeof w.comms[1].id, "world");
	w.comms[1].members = 1u << 4;
	w.n_comms = 2;
	snprintf(w.colls[0].id, sizeof w.colls[0].id, "%s", NC1);
	w.colls[0].comm = 0;
	w.colls[0].default_tlp = OR_TLP_GREEN;
	w.n_colls = 1;
	const char *to_isac[] = {id_isac}, *to_cert[] = {id_cert};

	for (unsigned i = 0; i < RK_ARRAY_LEN(cases); i++) {
		x[0] = '\0';
		if (cases[i].list)
			snprintf(x, sizeof x,
				 ",\"extensions\":{\"" EXT "\":{\"extension_type\":"
				 "\"property-extension\",\"%s\":[%s]}}",
				 cases[i].list, cases[i].who);
		char *o = indicator(i + 1, "2026-01-01T00:00:00.000Z", cases[i].marking, x);
		json_t *j = json_loads(o, 0, NULL);
		assert_non_null(j);
		size_t row = or_world_add_row(
			&w, 0,
			or_world_add_object(&w, json_string_value(json_object_get(j, "id")),
					    "indicator", 0),
			j);
		char why[200] = "";
		if (or_onward_partner(&w, row, 0, to_isac, 1, why, sizeof why) != cases[i].to_i ||
		    or_onward_partner(&w, row, 1, to_cert, 1, why, sizeof why) != cases[i].to_c)
			fail_msg("case %u: the oracle disagrees with the table (%s)", i + 1, why);
		post_one(&hn, NC1, T_NA, o);
		free(o);
	}
	or_world_free(&w);
	if (!wait_for(markings_arrived))
		fail_msg("not arrived in 30 s: at ISAC 1:%d 2:%d 4:%d 6:%d, at CERT 1:%d 5:%d 6:%d 8:%d",
			 at_i(1), at_i(2), at_i(4), at_i(6), at_c(1), at_c(5), at_c(6), at_c(8));
	sleep_ms(3500); /* a few more rounds everywhere: nothing else may arrive */
	for (unsigned i = 0; i < RK_ARRAY_LEN(cases); i++) {
		unsigned n = i + 1;
		if ((at_i(n) > 0) != cases[i].to_i || (at_c(n) > 0) != cases[i].to_c)
			fail_msg("case %u (%s %s): at ISAC %d (expected %d), at CERT %d (expected %d)",
				 n, cases[i].marking, cases[i].list ? cases[i].list : "", at_i(n),
				 cases[i].to_i, at_c(n), cases[i].to_c);
		/* one version each, wherever it is: stored once */
		assert_true(at_i(n) <= 1 && at_c(n) <= 1 && at_n(n) == 1);
	}
	/* At the ISAC the RED object is for isac-soc: its analyst reads it. */
	assert_int_equal(versions_of(&hi, "fed", IC1, T_IA, 6), 1);
	/* ... and the AMBER one for isac-soc. */
	assert_int_equal(versions_of(&hi, "fed", IC1, T_IA, 4), 1);
}

/* ---------------------------------------------------------------- loops */

static bool from_c_arrived(void)
{
	return at_n(101) && at_i(101);
}

/* What `renkei federation status --json` says of one partner of a hub
 * (a new reference). */
static json_t *status_of(proto_hub *h, const char *partner_name)
{
	proto_run_result r;
	char args[600];
	json_t *found = NULL;
	snprintf(args, sizeof args,
		 "federation status --json --data %s --federation %s/federation.conf", h->dir,
		 h->dir);
	proto_hub_run(h, args, &r);
	assert_int_equal(r.rc, 0);
	json_t *st = json_loads(r.out.data, 0, NULL);
	assert_non_null(st);
	size_t i;
	json_t *p;
	json_array_foreach(st, i, p)
		if (!strcmp(json_string_value(json_object_get(p, "partner")), partner_name))
			found = json_incref(p);
	json_decref(st);
	proto_run_free(&r);
	assert_non_null(found);
	return found;
}

static json_int_t field(const json_t *o, const char *name)
{
	return json_integer_value(json_object_get(o, name));
}

static void test_no_loops(void **state)
{
	(void)state;
	/* C's own object reaches N and I, and is never stored twice. */
	char *o = indicator(101, "2026-01-01T00:00:00.000Z", TLP_CLEAR, NULL);
	post_one(&hc, CC1, T_CA, o);
	free(o);
	assert_true(wait_for(from_c_arrived));
	sleep_ms(3000);
	assert_int_equal(versions_of(&hc, "fed", CC1, T_CA, 101), 1);
	assert_int_equal(at_n(101), 1);
	assert_int_equal(at_i(101), 1);

	/* Nothing of N's was ever sent back to N: the only object I and C
	 * may have offered N is C's (sent once, or held by N already when
	 * it came by the other path). N's own eight went to I and C and
	 * are owned there by national-hub, and would be offered back here
	 * if the senders did not keep track. */
	json_t *i_n = status_of(&hi, "national"), *c_n = status_of(&hc, "national");
	json_int_t offered = field(i_n, "sent") + field(i_n, "held_already") +
			     field(c_n, "sent") + field(c_n, "held_already");
	if (offered < 1 || offered > 2)
		fail_msg("I and C offered N %lld objects (expected C's one, by one or two paths)",
			 (long long)offered);
	assert_int_equal(field(i_n, "refused"), 0);
	assert_int_equal(field(c_n, "refused"), 0);
	json_decref(i_n);
	json_decref(c_n);
	/* and N's status is clean: no errors, nothing left to push */
	json_t *n_i = status_of(&hn, "isac"), *n_c = status_of(&hn, "cert");
	/* (errors: the first rounds ran before the partners were up) */
	assert_string_not_equal(json_string_value(json_object_get(n_i, "last_success")), "never");
	assert_string_not_equal(json_string_value(json_object_get(n_c, "last_success")), "never");
	assert_int_equal(field(n_i, "backlog") + field(n_c, "backlog"), 0);
	assert_int_equal(field(n_i, "refused") + field(n_c, "refused"), 0);
	assert_true(field(n_c, "received") >= 1);
	json_decref(n_i);
	json_decref(n_c);
}

/* ---------------------------------------------------------------- bad partners */

static void test_bad_partners(void **state)
{
	(void)state;
	/* Meanwhile (test_markings) the good partners got everything; the
	 * bad ones failed on their own threads, are counted and reported,
	 * and keep their backlog: nothing is lost. */
	const char *names[] = {"down", "garbage", "stall"};
	const char *expect[] = {"", "not a status resource", "timed out"};
	for (int k = 0; k < 3; k++) {
		json_t *st = status_of(&hn, names[k]);
		const char *last = json_string_value(json_object_get(st, "last_error"));
		if (field(st, "errors") < 1 || !last || !strstr(last, expect[k]))
			fail_msg("partner %s: errors %lld, last error '%s' (expected '%s')", names[k],
				 (long long)field(st, "errors"), last ? last : "", expect[k]);
		assert_int_equal(field(st, "sent"), 0);
		assert_true(field(st, "backlog") >= 3); /* CLEAR, GREEN, AMBER for isac-soc ... */
		json_decref(st);
	}
}

/* ---------------------------------------------------------------- revocation and deletion */

static bool revoked_everywhere(void)
{
	return at_i(1) == 2 && at_c(1) == 2;
}

static bool deleted_everywhere(void)
{
	return at_i(1) == 0 && at_c(1) == 0 && at_i(6) == 0 && at_c(6) == 0;
}

static void test_revocation_and_deletion(void **state)
{
	(void)state;
	char *o = indicator(1, "2026-02-01T00:00:00.000Z", TLP_CLEAR, ",\"revoked\":true");
	post_one(&hn, NC1, T_NA, o);
	free(o);
	assert_true(wait_for(revoked_everywhere));
	/* the newest version at C is the revoked one */
	proto_resp r;
	assert_true(proto_get(&hc, "/fed/collections/" CC1
				    "/objects/indicator--f0000000-0000-4000-8000-000000000001/",
			      T_C_NAT, &r));
	assert_int_equal(r.status, 200);
	json_t *obj = json_array_get(json_object_get(r.json, "objects"), 0);
	assert_true(json_is_true(json_object_get(obj, "revoked")));
	proto_resp_free(&r);

	const char *ids[] = {"indicator--f0000000-0000-4000-8000-000000000001",
			     "indicator--f0000000-0000-4000-8000-000000000006"};
	for (int i = 0; i < 2; i++) {
		char path[300];
		snprintf(path, sizeof path, "/fed/collections/" NC1 "/objects/%s/", ids[i]);
		assert_true(proto_http(&hn, "DELETE", path, T_NA, NULL, NULL, 0, &r));
		assert_int_equal(r.status, 200);
		proto_resp_free(&r);
	}
	assert_true(wait_for(deleted_everywhere));
	/* the others stay */
	assert_int_equal(at_i(2), 1);
	assert_int_equal(at_c(5), 1);
}

/* ---------------------------------------------------------------- a fake partner */

/* A page of three objects the fake partner signs; `alter` changes object
 * 1's bytes after signing; `sign` false sends no signature. */
static proto_resp fake_post(unsigned first, bool sign, bool alter, const char *marking1,
			    const char *extra1)
{
	char creator[80];
	proto_identity("fake-hub", creator, sizeof creator);
	char *objs[3];
	rk_buf body;
	fed_signer s;
	proto_resp r;

	for (int i = 0; i < 3; i++) {
		/* written exactly as the store would keep it (rk_json_dump) */
		char *text = i == 1 ? indicator(first + (unsigned)i, "2026-01-01T00:00:00.000Z",
						marking1, extra1)
				    : indicator(first + (unsigned)i, "2026-01-01T00:00:00.000Z",
						TLP_CLEAR, NULL);
		json_t *o = json_loads(text, 0, NULL);
		free(text);
		assert_non_null(o);
		json_object_set_new(o, "created_by_ref", json_string(creator));
		objs[i] = rk_json_dump(o);
		json_decref(o);
	}
	fed_signer_init(&s, &fake_key);
	rk_buf_init(&body);
	rk_buf_puts(&body, "{\"objects\":[");
	for (int i = 0; i < 3; i++) {
		fed_signer_add(&s, objs[i], strlen(objs[i]), fake_key.pk_b64);
		if (alter && i == 1) {
			char *at = strstr(objs[i], "\"name\":\"case");
			assert_non_null(at);
			memcpy(at + 8, "CASE", 4);
		}
		rk_buf_printf(&body, "%s%s", i ? "," : "", objs[i]);
	}
	rk_buf_puts(&body, "]");
	if (sign)
		fed_signer_finish(&s, NC1, &body);
	rk_buf_puts(&body, "}");
	assert_true(proto_post(&hn, "/fed/collections/" NC1 "/objects/", T_N_FAKE, body.data, &r));
	fed_signer_cleanup(&s);
	rk_buf_cleanup(&body);
	for (int i = 0; i < 3; i++)
		free(objs[i]);
	return r;
}

static const char *failure_of(const proto_resp *r, unsigned n)
{
	char id[80];
	size_t i;
	json_t *f;
	snprintf(id, sizeof id, "indicator--f0000000-0000-4000-8000-%012u", n);
	json_array_foreach(json_object_get(r->json, "failures"), i, f)
		if (!strcmp(json_string_value(json_object_get(f, "id")), id))
			return json_string_value(json_object_get(f, "message"));
	return NULL;
}

static void test_tampered_and_refused(void **state)
{
	(void)state;
	/* one object altered after signing: refused; its page-mates stored */
	proto_resp r = fake_post(201, true, true, TLP_CLEAR, NULL);
	assert_int_equal(r.status, 202);
	assert_int_equal(json_integer_value(json_object_get(r.json, "success_count")), 2);
	assert_int_equal(json_integer_value(json_object_get(r.json, "failure_count")), 1);
	const char *why = failure_of(&r, 202);
	assert_non_null(why);
	assert_non_null(strstr(why, "federation: object does not match its signed digest"));
	proto_resp_free(&r);
	assert_int_equal(versions_of(&hn, "fed", NC1, T_NA, 201), 1);
	assert_int_equal(versions_of(&hn, "fed", NC1, T_NA, 202), 0);
	assert_int_equal(versions_of(&hn, "fed", NC1, T_NA, 203), 1);

	/* unsigned, from a partner that must sign: all refused */
	r = fake_post(211, false, false, TLP_CLEAR, NULL);
	assert_int_equal(r.status, 202);
	assert_int_equal(json_integer_value(json_object_get(r.json, "success_count")), 0);
	assert_non_null(strstr(failure_of(&r, 211), "unsigned envelope"));
	proto_resp_free(&r);

	/* signed, but a RED object not addressed to anyone at N: refused
	 * by policy, the others stored */
	char x[300];
	snprintf(x, sizeof x,
		 ",\"extensions\":{\"" EXT "\":{\"extension_type\":\"property-extension\","
		 "\"recipients\":[\"%s\"]}}",
		 id_cert);
	r = fake_post(221, true, false, TLP_RED, x);
	assert_int_equal(r.status, 202);
	assert_int_equal(json_integer_value(json_object_get(r.json, "success_count")), 2);
	assert_non_null(strstr(failure_of(&r, 222), "only when it names an organisation"));
	proto_resp_free(&r);
	assert_int_equal(versions_of(&hn, "fed", NC1, T_NA, 222), 0);

	/* a replayed page: the same objects again store nothing new */
	r = fake_post(201, true, false, TLP_CLEAR, NULL);
	assert_int_equal(r.status, 202);
	proto_resp_free(&r);
	assert_int_equal(versions_of(&hn, "fed", NC1, T_NA, 201), 1);

	/* the partner's status shows what was refused */
	proto_run_result rr;
	char args[600];
	snprintf(args, sizeof args,
		 "federation status --data %s --federation %s/federation.conf", hn.dir, hn.dir);
	proto_hub_run(&hn, args, &rr);
	assert_int_equal(rr.rc, 0);
	assert_non_null(strstr(rr.out.data, "fake"));
	assert_non_null(strstr(rr.out.data, "last rejected"));
	proto_run_free(&rr);
}

/* ---------------------------------------------------------------- kill -9 */

#define BULK_FIRST 10000u
#define BULK_N 6000u

static json_int_t received_at_i_from_n(void)
{
	proto_run_result r;
	char args[600];
	json_int_t got = -1;
	snprintf(args, sizeof args,
		 "federation status --json --data %s --federation %s/federation.conf", hi.dir,
		 hi.dir);
	proto_hub_run(&hi, args, &r);
	json_t *st = r.rc == 0 ? json_loads(r.out.data, 0, NULL) : NULL;
	size_t i;
	json_t *p;
	json_array_foreach(st, i, p)
		if (!strcmp(json_string_value(json_object_get(p, "partner")), "national"))
			got = json_integer_value(json_object_get(p, "received"));
	json_decref(st);
	proto_run_free(&r);
	return got;
}

/* Counts the bulk ids at I (every version), checking none twice. */
static unsigned count_bulk_at_i(unsigned *doubled)
{
	char path[400];
	char *next = NULL;
	unsigned n = 0;
	unsigned char *seen = calloc(BULK_N, 1);
	*doubled = 0;
	for (int guard = 0; guard < 1000; guard++) {
		proto_resp r;
		snprintf(path, sizeof path,
			 "/fed/collections/" IC1 "/objects/?match[version]=all&limit=1000%s%s",
			 next ? "&next=" : "", next ? next : "");
		assert_true(proto_get(&hi, path, T_I_NAT, &r));
		assert_int_equal(r.status, 200);
		size_t i;
		json_t *o;
		json_array_foreach(json_object_get(r.json, "objects"), i, o) {
			const char *id = json_string_value(json_object_get(o, "id"));
			unsigned k = (unsigned)strtoul(id + strlen("indicator--f0000000-0000-4000-8000-"),
						       NULL, 10);
			if (k >= BULK_FIRST && k < BULK_FIRST + BULK_N) {
				if (seen[k - BULK_FIRST]++)
					(*doubled)++;
				else
					n++;
			}
		}
		free(next);
		next = NULL;
		if (json_is_true(json_object_get(r.json, "more")))
			next = strdup(json_string_value(json_object_get(r.json, "next")));
		proto_resp_free(&r);
		if (!next)
			break;
	}
	free(next);
	free(seen);
	return n;
}

static void test_kill_resume(void **state)
{
	(void)state;
	/* stop N, store a backlog, start it: its scheduler pushes at once */
	proto_hub_stop(&hn, SIGTERM);
	assert_true(proto_hub_restart(&hn));
	json_int_t before = received_at_i_from_n();
	assert_true(before >= 0);
	for (unsigned e = 0; e < BULK_N / 1000; e++) {
		rk_buf env;
		rk_buf_init(&env);
		rk_buf_puts(&env, "{\"objects\":[");
		for (unsigned i = 0; i < 1000; i++) {
			char *o = indicator(BULK_FIRST + e * 1000 + i, "2026-01-01T00:00:00.000Z",
					    TLP_CLEAR, NULL);
			rk_buf_printf(&env, "%s%s", i ? "," : "", o);
			free(o);
		}
		rk_buf_puts(&env, "]}");
		proto_resp r;
		assert_true(proto_post(&hn, "/fed/collections/" NC1 "/objects/", T_NA, env.data, &r));
		assert_int_equal(r.status, 202);
		proto_resp_free(&r);
		rk_buf_cleanup(&env);
	}
	/* kill N in the middle of pushing to I */
	json_int_t got = before;
	for (int i = 0; i < 3000 && got <= before; i++) {
		sleep_ms(5);
		got = received_at_i_from_n();
	}
	assert_true(got > before);
	proto_hub_stop(&hn, SIGKILL);
	unsigned doubled = 0, mid = count_bulk_at_i(&doubled);
	assert_int_equal(doubled, 0);
	/* restart: it resumes from its durable cursor */
	assert_true(proto_hub_restart(&hn));
	unsigned n = 0;
	for (int i = 0; i < 300 && (n = count_bulk_at_i(&doubled)) < BULK_N; i++)
		sleep_ms(100);
	print_message("bulk at ISAC: %u when N was killed, %u after restart\n", mid, n);
	assert_int_equal(n, BULK_N);
	assert_int_equal(doubled, 0);
	assert_true(mid < BULK_N || mid == BULK_N); /* killed at any point */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_markings),
		cmocka_unit_test(test_no_loops),
		cmocka_unit_test(test_bad_partners),
		cmocka_unit_test(test_revocation_and_deletion),
		cmocka_unit_test(test_tampered_and_refused),
		cmocka_unit_test(test_kill_resume),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
