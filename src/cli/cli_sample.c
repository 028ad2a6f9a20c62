/*
 * cli_sample.c: the sample national directory and threat intelligence that
 * `renkei demo` serves, and that the tests validate object by object.
 *
 * The directory is modelled on the national system renkei is built for:
 * the national centre (NISC), the ministries that run their own response
 * (police, economy, internal affairs and communications, defence), the
 * national CSIRT and the network telescope, critical-infrastructure
 * operators (power, gas, rail, telecommunications, banks) and their sector
 * ISAC, a system integrator that serves smaller clients, and partner CERTs
 * abroad; in three communities, one per tier (government, nation,
 * international), each with collections whose default TLP marks how far
 * their content may go. Public bodies carry their real names; every company
 * is fictional.
 *
 * The intelligence comes in "stories": clusters of one threat actor, its
 * intrusion set, malware, a campaign (in two versions, so the versions
 * endpoint has something to show), the ATT&CK techniques it uses, the
 * sector it targets, indicators with STIX patterns, the relationships that
 * tie them, sightings reported by operators, and the report that an analyst
 * would publish. Each story is published by the organisation that would
 * publish it, into the collection where it belongs; every object's
 * created_by_ref is that organisation's directory identity, because the hub
 * lets an organisation write only objects it created.
 *
 * Invariants: output depends only on (seed, story index), so a larger
 * --objects extends a smaller one and a re-run stores only duplicates;
 * objects that an organisation publishes once and reuses across its stories
 * (attack patterns, targeted sectors) appear once in the set; network
 * indicators use documentation addresses (RFC 5737) and names (RFC 2606),
 * so nothing in the sample points at a real host.
 */
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"
#include "stix.h"

/* Namespace of sample object ids (UUIDv5), fixed so ids are stable. */
#define SAMPLE_NS "6c1f3f44-8d3a-4b7e-9a52-3e0d6f2b9c11"

/* ---------------------------------------------------------------- directory */

typedef struct sample_org {
	const char *id;
	const char *name;
	const char *sectors[2];
	const char *country;
	const char *clients[4];
} sample_org;

static const sample_org orgs[] = {
	{ "nisc", "National center of Incident readiness and Strategy for Cybersecurity (NISC)",
	  { "government-national" }, "JP", { NULL } },
	{ "npa", "National Police Agency", { "government-national", "emergency-services" }, "JP",
	  { NULL } },
	{ "meti", "Ministry of Economy, Trade and Industry", { "government-national" }, "JP",
	  { NULL } },
	{ "mic", "Ministry of Internal Affairs and Communications", { "government-national" },
	  "JP", { NULL } },
	{ "mod", "Ministry of Defense", { "government-national", "defense" }, "JP", { NULL } },
	{ "jpcert", "JPCERT Coordination Center", { "non-profit" }, "JP", { NULL } },
	{ "nict", "National Institute of Information and Communications Technology",
	  { "government-public-services" }, "JP", { NULL } },
	{ "tokai-power", "Tokai Power Grid Co.", { "energy", "utilities" }, "JP", { NULL } },
	{ "hokuriku-gas", "Hokuriku City Gas Co.", { "energy", "utilities" }, "JP", { NULL } },
	{ "kanto-rail", "Kanto Rail Corporation", { "transportation" }, "JP", { NULL } },
	{ "nihon-telecom", "Nihon Telecom Networks", { "telecommunications" }, "JP", { NULL } },
	{ "minato-trust-bank", "Minato Trust Bank", { "financial-services" }, "JP", { NULL } },
	{ "kaido-bank", "Kaido Regional Bank", { "financial-services" }, "JP", { NULL } },
	{ "finance-isac", "Financial Sector ISAC", { "financial-services" }, "JP", { NULL } },
	{ "kaiho-si", "Kaiho Systems Integration", { "technology" }, "JP",
	  { "hokuriku-gas", "kaido-bank", "minato-city" } },
	{ "minato-city", "Minato City Office", { "government-local" }, "JP", { NULL } },
	{ "krcert", "KrCERT/CC (Korea Internet & Security Agency)", { "government-national" },
	  "KR", { NULL } },
	{ "cncert", "CNCERT/CC", { "government-national" }, "CN", { NULL } },
	{ "singcert", "SingCERT (Cyber Security Agency of Singapore)", { "government-national" },
	  "SG", { NULL } },
};

typedef struct sample_community {
	const char *id;
	const char *title;
	const char *description;
	const char *tier;
	const char *members[20];
} sample_community;

static const sample_community communities[] = {
	{ "gov", "Whole of government",
	  "The national centre and the ministries: incidents on government networks, "
	  "fact-finding and intelligence that must stay inside government.",
	  "government",
	  { "nisc", "npa", "meti", "mic", "mod", "nict" } },
	{ "nation", "Whole of nation",
	  "Government, the national CSIRT and critical-infrastructure operators: "
	  "indicators, alerts and advisories for the operators that run the country.",
	  "nation",
	  { "nisc", "npa", "meti", "mic", "mod", "jpcert", "nict", "tokai-power", "hokuriku-gas",
	    "kanto-rail", "nihon-telecom", "minato-trust-bank", "kaido-bank", "finance-isac",
	    "kaiho-si" } },
	{ "intl", "International partners",
	  "CERT-to-CERT exchange with partner national teams.",
	  "international",
	  { "nisc", "jpcert", "krcert", "cncert", "singcert" } },
};

typedef struct sample_collection {
	const char *id;
	const char *community;
	const char *title;
	const char *description;
	const char *marking;
	const char *can_read[5];
	const char *can_write[4];
} sample_collection;

enum { COL_GOV_INTEL, COL_GOV_INCIDENTS, COL_NATION_IND, COL_NATION_CI, COL_NATION_PUBLIC,
       COL_INTL };

static const sample_collection collections[] = {
	[COL_GOV_INTEL] = { "0b6f3c2e-5a41-4d8e-9f10-2c7a9e4d1b01", "gov",
			    "Government threat intelligence",
			    "Actors, campaigns and indicators seen against government networks.",
			    "TLP:AMBER", { "admin", "analyst", "reader", "sensor" },
			    { "admin", "analyst" } },
	[COL_GOV_INCIDENTS] = { "0b6f3c2e-5a41-4d8e-9f10-2c7a9e4d1b02", "gov",
				"Government incident fact-finding",
				"Findings from incident investigations on government systems.",
				"TLP:AMBER+STRICT", { "admin", "analyst" }, { "admin", "analyst" } },
	[COL_NATION_IND] = { "0b6f3c2e-5a41-4d8e-9f10-2c7a9e4d1b03", "nation",
			     "National indicators",
			     "Indicators for operators to deploy on their sensors and firewalls, "
			     "and the sightings they report back.",
			     "TLP:GREEN", { "admin", "analyst", "reader", "sensor" },
			     { "admin", "analyst", "sensor" } },
	[COL_NATION_CI] = { "0b6f3c2e-5a41-4d8e-9f10-2c7a9e4d1b04", "nation",
			    "Critical infrastructure alerts",
			    "Sector alerts for critical-infrastructure operators.",
			    "TLP:AMBER", { "admin", "analyst", "reader" }, { "admin", "analyst" } },
	[COL_NATION_PUBLIC] = { "0b6f3c2e-5a41-4d8e-9f10-2c7a9e4d1b05", "nation",
				"Public advisories",
				"Advisories that may be published without restriction.",
				"TLP:CLEAR", { "admin", "analyst", "reader", "sensor" },
				{ "admin", "analyst" } },
	[COL_INTL] = { "0b6f3c2e-5a41-4d8e-9f10-2c7a9e4d1b06", "intl", "Partner exchange",
		       "Indicators and reports exchanged with partner CERTs.", "TLP:GREEN",
		       { "admin", "analyst", "partner", "reader" },
		       { "admin", "analyst", "partner" } },
};

static const cli_sample_user users[] = {
	{ "nisc-admin", "nisc", "admin" },
	{ "nisc-analyst", "nisc", "analyst" },
	{ "npa-analyst", "npa", "analyst" },
	{ "meti-analyst", "meti", "analyst" },
	{ "mic-analyst", "mic", "analyst" },
	{ "mod-analyst", "mod", "analyst" },
	{ "jpcert-analyst", "jpcert", "analyst" },
	{ "nict-sensor", "nict", "sensor" },
	{ "tokai-power-analyst", "tokai-power", "analyst" },
	{ "tokai-power-sensor", "tokai-power", "sensor" },
	{ "hokuriku-gas-reader", "hokuriku-gas", "reader" },
	{ "kanto-rail-analyst", "kanto-rail", "analyst" },
	{ "nihon-telecom-analyst", "nihon-telecom", "analyst" },
	{ "nihon-telecom-sensor", "nihon-telecom", "sensor" },
	{ "minato-trust-bank-analyst", "minato-trust-bank", "analyst" },
	{ "kaido-bank-reader", "kaido-bank", "reader" },
	{ "finance-isac-analyst", "finance-isac", "analyst" },
	{ "kaiho-si-analyst", "kaiho-si", "analyst" },
	{ "minato-city-reader", "minato-city", "reader" },
	{ "krcert-partner", "krcert", "partner" },
	{ "cncert-partner", "cncert", "partner" },
	{ "singcert-partner", "singcert", "partner" },
};

const cli_sample_user *cli_sample_users(size_t *count)
{
	*count = RK_ARRAY_LEN(users);
	return users;
}

/* A JSON array of the non-NULL strings in list[0..n). */
static json_t *str_array(const char *const *list, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n && list[i]; i++) {
		if (json_array_append_new(a, json_string(list[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

#define STR_ARRAY(list) str_array((list), RK_ARRAY_LEN(list))

/* Appends a value to an array, taking it; false on OOM. */
static bool append(json_t *arr, json_t *v)
{
	if (!arr || !v) {
		json_decref(v);
		return false;
	}
	return json_array_append_new(arr, v) == 0;
}

json_t *cli_sample_directory(const char *const *tokens)
{
	json_t *doc = NULL, *o = json_array(), *u = json_array(), *cm = json_array(),
	       *cl = json_array();

	if (!o || !u || !cm || !cl)
		goto fail;
	for (size_t i = 0; i < RK_ARRAY_LEN(orgs); i++) {
		json_t *e = json_pack("{s:s, s:s, s:o, s:s}", "id", orgs[i].id, "name",
				      orgs[i].name, "sectors", STR_ARRAY(orgs[i].sectors),
				      "country", orgs[i].country);
		if (e && orgs[i].clients[0] &&
		    json_object_set_new(e, "clients", STR_ARRAY(orgs[i].clients))) {
			json_decref(e);
			goto fail;
		}
		if (!append(o, e))
			goto fail;
	}
	for (size_t i = 0; i < RK_ARRAY_LEN(users); i++) {
		if (!append(u, json_pack("{s:s, s:s, s:s, s:s}", "name", users[i].name,
					 "organization", users[i].org, "role", users[i].role,
					 "token", tokens[i])))
			goto fail;
	}
	for (size_t i = 0; i < RK_ARRAY_LEN(communities); i++) {
		const sample_community *c = &communities[i];
		if (!append(cm, json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", c->id, "title",
					  c->title, "description", c->description, "tier",
					  c->tier, "members", STR_ARRAY(c->members))))
			goto fail;
	}
	for (size_t i = 0; i < RK_ARRAY_LEN(collections); i++) {
		const sample_collection *c = &collections[i];
		if (!append(cl, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id", c->id,
					  "community", c->community, "title", c->title,
					  "description", c->description, "default_marking",
					  c->marking, "can_read", STR_ARRAY(c->can_read),
					  "can_write", STR_ARRAY(c->can_write))))
			goto fail;
	}
	doc = json_pack("{s:o, s:o, s:o, s:o}", "organizations", o, "users", u, "communities",
			cm, "collections", cl);
	return doc;
fail:
	json_decref(o);
	json_decref(u);
	json_decref(cm);
	json_decref(cl);
	return NULL;
}

/* ---------------------------------------------------------------- stories */

typedef struct technique {
	const char *id;    /* ATT&CK technique id */
	const char *name;
	const char *phase; /* mitre-attack kill chain phase */
} technique;

/* One kind of story: who publishes it where, what the adversary is like. */
typedef struct story_kind {
	const char *org;
	int collection;
	const char *sighters[3];     /* organisations that report sightings */
	const char *actor_type;      /* threat-actor-type-ov */
	const char *motivation;      /* attack-motivation-ov */
	const char *resource_level;  /* attack-resource-level-ov */
	const char *sophistication;  /* threat-actor-sophistication-ov */
	const char *goal;
	const char *malware_types[2];/* malware-type-ov, one per family */
	const char *malware_suffix[2];
	const char *target_name;     /* identity class that is targeted */
	const char *target_sector;
	const char *objective;
	const char *report_type;     /* report-type-ov */
	stix_tlp report_marking;     /* STIX_TLP_NONE: collection default */
	stix_tlp sighting_marking;
	technique techniques[3];
} story_kind;

static const story_kind kinds[] = {
	{ "nisc", COL_GOV_INTEL, { "mod", "mic" }, "nation-state", "organizational-gain",
	  "government", "advanced", "Collect policy and diplomatic documents from ministries",
	  { "remote-access-trojan", "downloader" }, { "RAT", "Loader" },
	  "Japanese central government ministries", "government-national",
	  "Long-term access to ministry mail and document servers", "threat-actor",
	  STIX_TLP_NONE, STIX_TLP_AMBER_STRICT,
	  { { "T1566.001", "Spearphishing Attachment", "initial-access" },
	    { "T1071.001", "Web Protocols", "command-and-control" },
	    { "T1027", "Obfuscated Files or Information", "defense-evasion" } } },
	{ "npa", COL_GOV_INCIDENTS, { "meti" }, "crime-syndicate", "personal-gain",
	  "organization", "expert", "Extort manufacturers and their suppliers",
	  { "ransomware", "dropper" }, { "Lock", "Drop" },
	  "Japanese manufacturers and their suppliers", "manufacturing",
	  "Encrypt production networks and demand payment", "campaign",
	  STIX_TLP_NONE, STIX_TLP_NONE,
	  { { "T1190", "Exploit Public-Facing Application", "initial-access" },
	    { "T1021.001", "Remote Desktop Protocol", "lateral-movement" },
	    { "T1486", "Data Encrypted for Impact", "impact" } } },
	{ "jpcert", COL_NATION_IND, { "tokai-power", "hokuriku-gas", "nihon-telecom" },
	  "nation-state", "dominance", "government", "expert",
	  "Pre-position in energy control networks",
	  { "backdoor", "wiper" }, { "Shell", "Wiper" },
	  "Japanese electric and gas utilities", "energy",
	  "Persistent access to utility operations networks", "indicator",
	  STIX_TLP_AMBER, STIX_TLP_AMBER,
	  { { "T1133", "External Remote Services", "initial-access" },
	    { "T1078", "Valid Accounts", "persistence" },
	    { "T1485", "Data Destruction", "impact" } } },
	{ "finance-isac", COL_NATION_CI, { "minato-trust-bank", "kaido-bank" },
	  "crime-syndicate", "personal-gain", "organization", "intermediate",
	  "Steal online banking credentials and session cookies",
	  { "spyware", "bot" }, { "Stealer", "Bot" },
	  "Japanese regional banks and their customers", "financial-services",
	  "Take over corporate online-banking sessions", "threat-report",
	  STIX_TLP_NONE, STIX_TLP_AMBER_STRICT,
	  { { "T1566.002", "Spearphishing Link", "initial-access" },
	    { "T1056.001", "Keylogging", "collection" },
	    { "T1539", "Steal Web Session Cookie", "credential-access" } } },
	{ "krcert", COL_INTL, { "singcert", "cncert" }, "nation-state", "organizational-gain",
	  "government", "advanced", "Compromise telecommunications providers across the region",
	  { "remote-access-trojan", "downloader" }, { "RAT", "Loader" },
	  "Telecommunications operators in East Asia", "telecommunications",
	  "Access to subscriber and signalling data", "threat-actor",
	  STIX_TLP_NONE, STIX_TLP_NONE,
	  { { "T1195.002", "Compromise Software Supply Chain", "initial-access" },
	    { "T1059.001", "PowerShell", "execution" },
	    { "T1041", "Exfiltration Over C2 Channel", "exfiltration" } } },
	{ "nisc", COL_NATION_PUBLIC, { "kanto-rail" }, "criminal", "personal-gain",
	  "organization", "intermediate", "Mass exploitation of VPN gateways",
	  { "webshell", "downloader" }, { "Shell", "Loader" },
	  "Organisations running internet-facing VPN gateways", "technology",
	  "Install web shells on unpatched VPN gateways", "vulnerability",
	  STIX_TLP_CLEAR, STIX_TLP_CLEAR,
	  { { "T1190", "Exploit Public-Facing Application", "initial-access" },
	    { "T1505.003", "Web Shell", "persistence" },
	    { "T1105", "Ingress Tool Transfer", "command-and-control" } } },
};

static const char *const adjectives[] = {
	"Ashen", "Tidal", "Paper", "Silent", "Iron", "Night", "Copper", "Glass",
	"Amber", "Hollow", "Winter", "Salt", "Ember", "Granite", "Mist", "Velvet",
};
static const char *const nouns[] = {
	"Heron", "Lantern", "Kite", "Ferry", "Camellia", "Quarry", "Tanuki", "Harbor",
	"Fox", "Pine", "Crane", "Lotus", "Finch", "Owl", "Carp", "Hornet",
};
static const char *const operation_words[] = {
	"Quiet", "Broken", "Cold", "Open", "Long", "Hidden", "Blue", "Late",
};
static const char *const operation_places[] = {
	"Harbor", "Ledger", "Timetable", "Bridge", "Relay", "Switchyard", "Substation",
	"Pipeline", "Exchange", "Gateway",
};
static const char *const actor_words[] = {
	"Bureau", "Collective", "Syndicate", "Team", "Group", "Circle",
};
static const char *const domain_words[] = {
	"update", "login", "portal", "cdn", "sync", "mail", "docs", "secure",
	"support", "notice", "billing", "vpn", "auth", "files", "status", "share",
};
static const char *const domain_parents[] = { "example.com", "example.net", "example.org" };
static const char *const url_paths[][2] = {
	{ "invoice/", ".zip" }, { "download/update_", ".exe" }, { "docs/notice-", ".lnk" },
	{ "files/payload", ".bin" }, { "wp-content/uploads/", "/report.hta" },
};
static const char *const ipv4_nets[] = { "192.0.2", "198.51.100", "203.0.113" };

/* ---------------------------------------------------------------- generator */

typedef struct gen {
	uint64_t seed;
	uint64_t rng;
	cli_identity_fn identity;
	void *identity_arg;
	cli_sample_set *set;
	rk_errctx *ctx;
	rk_err err; /* first failure; later steps do nothing */
	size_t story;
	unsigned serial; /* objects made in the current story */
} gen;

/* splitmix64: small, fast, and the same everywhere. */
static uint64_t next_u64(gen *g)
{
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned pick(gen *g, unsigned n)
{
	return (unsigned)(next_u64(g) % n);
}

static void fail_oom(gen *g)
{
	if (!g->err)
		g->err = rk_fail(g->ctx, RK_ENOMEM, NULL, "out of memory generating sample data");
}

static json_t *ts(rk_time t)
{
	char buf[RK_TIME_BUF];

	rk_time_format(t, 3, buf);
	return json_string(buf);
}

#define SECOND INT64_C(1000000)
#define HOUR (3600 * SECOND)
#define DAY (24 * HOUR)

/* Sets obj[key] = v, taking v; records OOM. */
static void put(gen *g, json_t *obj, const char *key, json_t *v)
{
	if (!obj || !v) {
		json_decref(v);
		if (!g->err)
			fail_oom(g); /* !obj after an earlier failure keeps its error */
		return;
	}
	if (json_object_set_new(obj, key, v)) /* steals v even on failure */
		fail_oom(g);
}

static bool item_exists(const gen *g, const char *id)
{
	for (size_t i = 0; i < g->set->n; i++)
		if (strcmp(json_string_value(json_object_get(g->set->items[i].object, "id")), id) == 0)
			return true;
	return false;
}

static void add_item(gen *g, json_t *obj, const char *org, int collection)
{
	cli_sample_set *s = g->set;

	if (g->err || !obj) {
		json_decref(obj);
		fail_oom(g);
		return;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		cli_sample_item *items = realloc(s->items, cap * sizeof *items);
		if (!items) {
			json_decref(obj);
			fail_oom(g);
			return;
		}
		s->items = items;
		s->cap = cap;
	}
	s->items[s->n++] = (cli_sample_item){ .object = obj, .org = org,
					      .collection = collections[collection].id };
}

/*
 * A new object with the common properties (STIX 2.1 section 3.2): the id is
 * the UUIDv5 of `name` (unique within the sample), created_by_ref the
 * publishing organisation's identity, and an explicit TLP marking unless
 * `tlp` is STIX_TLP_NONE (then the collection's default applies).
 */
static json_t *new_object(gen *g, const char *type, const char *name, const char *org,
			  rk_time created, rk_time modified, stix_tlp tlp)
{
	char uuid[RK_UUID_BUF], id[RK_MAX_STIX_ID + 1];

	if (g->err)
		return NULL;
	const char *creator = g->identity(g->identity_arg, org);
	if (!creator) {
		g->err = rk_fail(g->ctx, RK_EINVAL, NULL,
				 "organisation '%s' has no identity in the directory", org);
		return NULL;
	}
	if (rk_uuid_v5(SAMPLE_NS, name, strlen(name), uuid) != RK_OK) {
		fail_oom(g);
		return NULL;
	}
	snprintf(id, sizeof id, "%s--%s", type, uuid);
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s}", "type", type, "spec_version",
			      "2.1", "id", id, "created", ts(created), "modified", ts(modified),
			      "created_by_ref", creator);
	if (o && tlp != STIX_TLP_NONE)
		put(g, o, "object_marking_refs",
		    json_pack("[s]", stix_tlp_marking_id(tlp)));
	if (!o)
		fail_oom(g);
	return o;
}

/* A name for a story object's id: seed, story, serial. */
static const char *story_name(gen *g, char buf[96], const char *type)
{
	snprintf(buf, 96, "%llu/story/%zu/%s/%u", (unsigned long long)g->seed, g->story, type,
		 g->serial++);
	return buf;
}

static const char *id_of(const json_t *o)
{
	return json_string_value(json_object_get(o, "id"));
}

static json_t *kill_chain(const char *phase)
{
	return json_pack("[{s:s, s:s}]", "kill_chain_name", "mitre-attack", "phase_name", phase);
}

/* A relationship (STIX 2.1 section 5.1) between two objects of the story. */
static void relate(gen *g, const story_kind *k, rk_time t, const char *type, const json_t *src,
		   const json_t *dst)
{
	char name[96];

	if (g->err)
		return;
	json_t *r = new_object(g, "relationship", story_name(g, name, "relationship"), k->org, t, t,
			       STIX_TLP_NONE);
	put(g, r, "relationship_type", json_string(type));
	put(g, r, "source_ref", json_string(id_of(src)));
	put(g, r, "target_ref", json_string(id_of(dst)));
	add_item(g, r, k->org, k->collection);
}

/* An object an organisation publishes once and reuses in later stories
 * (ATT&CK techniques, targeted sectors): its id depends on the
 * organisation and the key only, and it is added to the set once. */
static json_t *shared_object(gen *g, const story_kind *k, const char *type, const char *key,
			     rk_time t, bool *fresh)
{
	char name[160];

	*fresh = false;
	snprintf(name, sizeof name, "%llu/%s/%s/%s", (unsigned long long)g->seed, k->org, type,
		 key);
	json_t *o = new_object(g, type, name, k->org, t, t, STIX_TLP_NONE);
	if (!o)
		return NULL;
	if (item_exists(g, id_of(o)))
		return o; /* caller only needs the id; not added again */
	*fresh = true;
	return o;
}

static void hex(gen *g, char *out, size_t chars)
{
	static const char digits[] = "0123456789abcdef";
	uint64_t bits = 0;

	for (size_t i = 0; i < chars; i++) {
		if (i % 16 == 0)
			bits = next_u64(g);
		out[i] = digits[bits & 15];
		bits >>= 4;
	}
	out[chars] = '\0';
}

typedef enum { IND_IPV4, IND_DOMAIN, IND_URL, IND_FILE, IND_KINDS } ind_kind;

/* One indicator with a STIX pattern (STIX 2.1 section 9) of the given kind. */
static json_t *indicator(gen *g, const story_kind *k, ind_kind kind, rk_time t,
			 const char *malware, const char *campaign, unsigned n)
{
	char pattern[256], desc[256], ind_name[160], name[96], a[65], b[33];
	const char *itype = "malicious-activity", *phase = "command-and-control";
	rk_time until = 0;

	switch (kind) {
	case IND_IPV4: {
		const char *net = ipv4_nets[pick(g, RK_ARRAY_LEN(ipv4_nets))];
		unsigned host = 1 + pick(g, 254);
		snprintf(pattern, sizeof pattern, "[ipv4-addr:value = '%s.%u']", net, host);
		snprintf(ind_name, sizeof ind_name, "%s command-and-control server %s.%u", malware,
			 net, host);
		snprintf(desc, sizeof desc,
			 "%s beacons to this address over HTTPS during %s; block and alert on "
			 "outbound connections.", malware, campaign);
		until = t + 90 * DAY; /* addresses change hands: expire them */
		break;
	}
	case IND_DOMAIN: {
		const char *w1 = domain_words[pick(g, RK_ARRAY_LEN(domain_words))];
		const char *w2 = domain_words[pick(g, RK_ARRAY_LEN(domain_words))];
		const char *p = domain_parents[pick(g, RK_ARRAY_LEN(domain_parents))];
		snprintf(pattern, sizeof pattern, "[domain-name:value = '%s-%s%u.%s']", w1, w2, n, p);
		snprintf(ind_name, sizeof ind_name, "Phishing domain %s-%s%u.%s", w1, w2, n, p);
		snprintf(desc, sizeof desc,
			 "Registered for %s; hosts credential-harvesting pages and %s downloads.",
			 campaign, malware);
		phase = "initial-access";
		until = t + 180 * DAY;
		break;
	}
	case IND_URL: {
		char path[96];
		const char *w = domain_words[pick(g, RK_ARRAY_LEN(domain_words))];
		const char *p = domain_parents[pick(g, RK_ARRAY_LEN(domain_parents))];
		const char *const *up = url_paths[pick(g, RK_ARRAY_LEN(url_paths))];
		snprintf(path, sizeof path, "%s%u%s", up[0], 1000u + pick(g, 9000), up[1]);
		snprintf(pattern, sizeof pattern, "[url:value = 'http://%s.%s/%s']", w, p, path);
		snprintf(ind_name, sizeof ind_name, "%s download URL", malware);
		snprintf(desc, sizeof desc, "Serves the first stage of %s in %s.", malware, campaign);
		phase = "initial-access";
		break;
	}
	default: {
		hex(g, a, 64);
		if (pick(g, 2)) {
			hex(g, b, 32);
			snprintf(pattern, sizeof pattern,
				 "[file:hashes.'SHA-256' = '%s' OR file:hashes.MD5 = '%s']", a, b);
		} else {
			snprintf(pattern, sizeof pattern, "[file:hashes.'SHA-256' = '%s']", a);
		}
		snprintf(ind_name, sizeof ind_name, "%s sample", malware);
		snprintf(desc, sizeof desc, "File hash of a %s sample recovered during %s.", malware,
			 campaign);
		phase = "execution";
		break;
	}
	}
	json_t *o = new_object(g, "indicator", story_name(g, name, "indicator"), k->org, t, t,
			       STIX_TLP_NONE);
	put(g, o, "name", json_string(ind_name));
	put(g, o, "description", json_string(desc));
	put(g, o, "indicator_types", json_pack("[s]", itype));
	put(g, o, "pattern", json_string(pattern));
	put(g, o, "pattern_type", json_string("stix"));
	put(g, o, "pattern_version", json_string("2.1"));
	put(g, o, "valid_from", ts(t));
	if (until)
		put(g, o, "valid_until", ts(until));
	put(g, o, "kill_chain_phases", kill_chain(phase));
	put(g, o, "confidence", json_integer(60 + (json_int_t)pick(g, 36)));
	return o;
}

/* The objects of story number g->story. */
static void story(gen *g)
{
	const story_kind *k = &kinds[g->story % RK_ARRAY_LEN(kinds)];
	size_t round = g->story / RK_ARRAY_LEN(kinds);
	char name[96], iset_name[64], actor_name[80], camp_name[80], mal_name[2][48], text[512];
	json_t *refs = json_array();
	bool fresh;
	size_t first = g->set->n; /* this story's objects start here */

	g->rng = g->seed ^ (0xd1b54a32d192ed03ull * (g->story + 1));
	g->serial = 0;
	/* Stories start 36 hours apart from 2024-01-08, and run for weeks. */
	rk_time start = INT64_C(1704672000) * SECOND + (rk_time)g->story * 36 * HOUR +
			(rk_time)pick(g, 12 * 3600) * SECOND;
	rk_time t = start;

	/* Names: unique for the first 256 stories, then numbered. */
	size_t i_adj = g->story % 16, i_noun = (g->story * 7 + g->story / 16) % 16;
	const char *adj = adjectives[i_adj], *noun = nouns[i_noun];
	if (g->story < 256)
		snprintf(iset_name, sizeof iset_name, "%s %s", adj, noun);
	else
		snprintf(iset_name, sizeof iset_name, "%s %s %zu", adj, noun, g->story / 256 + 1);
	snprintf(actor_name, sizeof actor_name, "%s %s", noun,
		 actor_words[(g->story + round) % RK_ARRAY_LEN(actor_words)]);
	snprintf(camp_name, sizeof camp_name, "Operation %s %s%s",
		 operation_words[pick(g, RK_ARRAY_LEN(operation_words))],
		 operation_places[pick(g, RK_ARRAY_LEN(operation_places))],
		 g->story < 80 ? "" : iset_name + strlen(adj));
	for (int m = 0; m < 2; m++)
		snprintf(mal_name[m], sizeof mal_name[m], "%s%s", m ? adj : noun, k->malware_suffix[m]);

	/* Threat actor and intrusion set (sections 4.17, 4.8). */
	json_t *actor = new_object(g, "threat-actor", story_name(g, name, "threat-actor"), k->org,
				   t, t, STIX_TLP_NONE);
	put(g, actor, "name", json_string(actor_name));
	snprintf(text, sizeof text, "Operators behind the %s intrusion set.", iset_name);
	put(g, actor, "description", json_string(text));
	put(g, actor, "threat_actor_types", json_pack("[s]", k->actor_type));
	put(g, actor, "sophistication", json_string(k->sophistication));
	put(g, actor, "resource_level", json_string(k->resource_level));
	put(g, actor, "primary_motivation", json_string(k->motivation));
	put(g, actor, "first_seen", ts(t - 400 * DAY));
	add_item(g, actor, k->org, k->collection);

	json_t *iset = new_object(g, "intrusion-set", story_name(g, name, "intrusion-set"), k->org,
				  t, t, STIX_TLP_NONE);
	char alias[32];
	snprintf(alias, sizeof alias, "TA-JP-%03zu", g->story + 1);
	put(g, iset, "name", json_string(iset_name));
	put(g, iset, "aliases", json_pack("[s]", alias));
	snprintf(text, sizeof text, "%s. Targets: %s.", k->goal, k->target_name);
	put(g, iset, "description", json_string(text));
	put(g, iset, "goals", json_pack("[s]", k->goal));
	put(g, iset, "resource_level", json_string(k->resource_level));
	put(g, iset, "primary_motivation", json_string(k->motivation));
	put(g, iset, "first_seen", ts(t - 300 * DAY));
	add_item(g, iset, k->org, k->collection);

	/* Malware families (section 4.11). */
	json_t *mal[2];
	for (int m = 0; m < 2; m++) {
		t += (rk_time)(1 + pick(g, 6)) * HOUR;
		mal[m] = new_object(g, "malware", story_name(g, name, "malware"), k->org, t, t,
				    STIX_TLP_NONE);
		put(g, mal[m], "name", json_string(mal_name[m]));
		snprintf(text, sizeof text, "%s family used by %s against %s.", k->malware_types[m],
			 iset_name, k->target_name);
		put(g, mal[m], "description", json_string(text));
		put(g, mal[m], "is_family", json_true());
		put(g, mal[m], "malware_types", json_pack("[s]", k->malware_types[m]));
		put(g, mal[m], "first_seen", ts(t - 60 * DAY));
		add_item(g, mal[m], k->org, k->collection);
	}

	/* Targeted sector and ATT&CK techniques: published once per organisation. */
	json_t *target = shared_object(g, k, "identity", k->target_name, start, &fresh);
	put(g, target, "name", json_string(k->target_name));
	put(g, target, "identity_class", json_string("class"));
	put(g, target, "sectors", json_pack("[s]", k->target_sector));
	if (fresh && target) {
		json_incref(target);
		add_item(g, target, k->org, k->collection);
	}
	json_t *tech[3];
	for (int i = 0; i < 3; i++) {
		const technique *te = &k->techniques[i];
		tech[i] = shared_object(g, k, "attack-pattern", te->id, start, &fresh);
		put(g, tech[i], "name", json_string(te->name));
		char url[96], ext[16];
		snprintf(ext, sizeof ext, "%s", te->id);
		for (char *p = ext; *p; p++)
			if (*p == '.')
				*p = '/';
		snprintf(url, sizeof url, "https://attack.mitre.org/techniques/%s/", ext);
		put(g, tech[i], "external_references",
		    json_pack("[{s:s, s:s, s:s}]", "source_name", "mitre-attack", "external_id",
			      te->id, "url", url));
		put(g, tech[i], "kill_chain_phases", kill_chain(te->phase));
		if (fresh) {
			json_incref(tech[i]);
			add_item(g, tech[i], k->org, k->collection);
		}
	}

	/* Campaign, first version (section 4.2). */
	t += (rk_time)(2 + pick(g, 20)) * HOUR;
	json_t *camp = new_object(g, "campaign", story_name(g, name, "campaign"), k->org, t, t,
				  STIX_TLP_NONE);
	put(g, camp, "name", json_string(camp_name));
	snprintf(text, sizeof text, "%s by %s, using %s and %s.", k->objective, iset_name,
		 mal_name[0], mal_name[1]);
	put(g, camp, "description", json_string(text));
	put(g, camp, "objective", json_string(k->objective));
	put(g, camp, "first_seen", ts(t - 10 * DAY));
	put(g, camp, "last_seen", ts(t));
	add_item(g, camp, k->org, k->collection);

	/* Indicators (section 4.7): every kind at least once. */
	unsigned n_ind = 6 + pick(g, 7);
	json_t *inds = json_array();
	for (unsigned i = 0; i < n_ind && !g->err; i++) {
		t += (rk_time)(1 + pick(g, 10)) * HOUR;
		ind_kind kind = i < IND_KINDS ? (ind_kind)i : (ind_kind)pick(g, IND_KINDS);
		json_t *ind = indicator(g, k, kind, t, mal_name[kind == IND_DOMAIN ? 1 : 0],
					camp_name, (unsigned)(g->story * 16 + i));
		if (!append(inds, json_incref(ind)))
			fail_oom(g);
		add_item(g, ind, k->org, k->collection);
	}

	/* Relationships (section 5.1). */
	t += HOUR;
	relate(g, k, t, "attributed-to", iset, actor);
	relate(g, k, t, "attributed-to", camp, iset);
	relate(g, k, t, "targets", camp, target);
	relate(g, k, t, "targets", iset, target);
	for (int m = 0; m < 2; m++) {
		relate(g, k, t, "uses", iset, mal[m]);
		relate(g, k, t, "uses", camp, mal[m]);
	}
	for (int i = 0; i < 3; i++)
		relate(g, k, t, "uses", iset, tech[i]);
	size_t idx;
	json_t *ind;
	json_array_foreach(inds, idx, ind) {
		const char *pat = json_string_value(json_object_get(ind, "pattern"));
		bool domain = pat && strncmp(pat, "[domain-name", 12) == 0;
		relate(g, k, t, "indicates", ind, mal[domain ? 1 : 0]);
		if (idx % 3 == 0)
			relate(g, k, t, "indicates", ind, camp);
	}

	/* Sightings by operators (section 5.2), each of a different indicator. */
	for (int s = 0; s < 3 && k->sighters[s] && !g->err; s++) {
		const char *org = k->sighters[s];
		json_t *of = json_array_get(inds, (size_t)s * 2 % json_array_size(inds));
		rk_time seen = t + (rk_time)(1 + pick(g, 72)) * HOUR;
		rk_time last = seen + (rk_time)pick(g, 48) * HOUR;
		json_t *si = new_object(g, "sighting", story_name(g, name, "sighting"), org,
					last + HOUR, last + HOUR, k->sighting_marking);
		put(g, si, "sighting_of_ref", json_string(id_of(of)));
		put(g, si, "where_sighted_refs", json_pack("[s]", g->identity(g->identity_arg, org)));
		put(g, si, "first_seen", ts(seen));
		put(g, si, "last_seen", ts(last));
		put(g, si, "count", json_integer(1 + (json_int_t)pick(g, 40)));
		add_item(g, si, org, k->collection);
	}

	/* Campaign, second version: it went on, and was seen later. */
	t += (rk_time)(3 + pick(g, 10)) * DAY;
	json_t *camp2 = json_deep_copy(camp);
	put(g, camp2, "modified", ts(t));
	put(g, camp2, "last_seen", ts(t - DAY));
	add_item(g, camp2, k->org, k->collection);

	/* The report that ties the story together (section 4.14). */
	t += 6 * HOUR;
	for (size_t i = first; i < g->set->n && !g->err; i++) {
		const json_t *o = g->set->items[i].object;
		if (o == camp2)
			continue; /* the campaign's id is already listed */
		if (!append(refs, json_string(id_of(o))))
			fail_oom(g);
	}
	for (int i = 0; i < 3 && !g->err; i++) {
		/* Reused techniques were published in an earlier story. */
		bool listed = false;
		size_t j;
		json_t *r;
		json_array_foreach(refs, j, r)
			listed |= strcmp(json_string_value(r), id_of(tech[i])) == 0;
		if (!listed && !append(refs, json_string(id_of(tech[i]))))
			fail_oom(g);
	}
	json_t *rep = new_object(g, "report", story_name(g, name, "report"), k->org, t, t,
				 k->report_marking);
	snprintf(text, sizeof text, "%s: %s targets %s", camp_name, iset_name, k->target_name);
	put(g, rep, "name", json_string(text));
	snprintf(text, sizeof text,
		 "%s. The intrusion set %s, attributed to %s, uses %s and %s. This report lists "
		 "%u indicators to deploy and the techniques observed.",
		 k->objective, iset_name, actor_name, mal_name[0], mal_name[1], n_ind);
	put(g, rep, "description", json_string(text));
	put(g, rep, "report_types", json_pack("[s]", k->report_type));
	put(g, rep, "published", ts(t));
	put(g, rep, "object_refs", json_incref(refs));
	add_item(g, rep, k->org, k->collection);

	for (int i = 0; i < 3; i++)
		json_decref(tech[i]);
	json_decref(target);
	json_decref(inds);
	json_decref(refs);
}

rk_err cli_sample_generate(uint64_t seed, size_t target, cli_identity_fn identity,
			   void *identity_arg, cli_sample_set *out, rk_errctx *ctx)
{
	gen g = { .seed = seed, .identity = identity, .identity_arg = identity_arg,
		  .set = out, .ctx = ctx };

	memset(out, 0, sizeof *out);
	for (g.story = 0; out->n < target && !g.err; g.story++)
		story(&g);
	if (g.err) {
		cli_sample_set_cleanup(out);
		return g.err;
	}
	return RK_OK;
}

void cli_sample_set_cleanup(cli_sample_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		json_decref(s->items[i].object);
	free(s->items);
	memset(s, 0, sizeof *s);
}
