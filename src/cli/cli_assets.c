/*
 * cli_assets.c: `renkei assets`, the operator's side of the asset registry
 * (src/assets) on a hub's data directory.
 *
 *   claim    --org ORG VALUE...   claims for an organisation (pending)
 *   list     [--org ORG] [--state S] [--json]   claims with their overlaps
 *   approve  ID...                the hub operator's decision
 *   reject   ID...
 *   withdraw ID...                removes claims
 *   lookup   VALUE                the organisations an address, a domain or
 *                                 an AS number belongs to (approved only)
 *
 * Actions are one table (`actions` below). Claims by an organisation's own
 * users go over the hub (POST /renkei/assets/); this command is for
 * operators who hold the data directory, so it names the operator (--by,
 * default the login name) in every claim and decision it records. The
 * organisation of a claim must exist in the stored directory. A running
 * hub picks changes up within a second (it polls the registry's version).
 *
 * Exit status: 0 success, 1 failure (a refused value, an unknown claim),
 * 2 usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "assets.h"
#include "cli_int.h"
#include "directory.h"
#include "store.h"

#define CMD "assets"

typedef struct assets_args {
	const char *data, *org, *by, *state;
	bool json;
	char **args;
	int nargs;
} assets_args;

typedef struct assets_action {
	const char *name;
	int (*run)(assets_args *a, assets_db *db);
	int min_args, max_args; /* -1: any */
	const char *usage;
} assets_action;

static int act_claim(assets_args *a, assets_db *db);
static int act_list(assets_args *a, assets_db *db);
static int act_approve(assets_args *a, assets_db *db);
static int act_reject(assets_args *a, assets_db *db);
static int act_withdraw(assets_args *a, assets_db *db);
static int act_lookup(assets_args *a, assets_db *db);

static const assets_action actions[] = {
	{"claim", act_claim, 1, -1, "claim --data DIR --org ORG [--by NAME] VALUE..."},
	{"list", act_list, 0, 0, "list --data DIR [--org ORG] [--state pending|approved|rejected] [--json]"},
	{"approve", act_approve, 1, -1, "approve --data DIR [--by NAME] ID..."},
	{"reject", act_reject, 1, -1, "reject --data DIR [--by NAME] ID..."},
	{"withdraw", act_withdraw, 1, -1, "withdraw --data DIR ID..."},
	{"lookup", act_lookup, 1, 1, "lookup --data DIR ADDRESS|DOMAIN|ASN"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: renkei assets ACTION --data DIR [OPTIONS] [ARGS]\n\n");
	for (size_t i = 0; i < RK_ARRAY_LEN(actions); i++)
		fprintf(out, "  renkei assets %s\n", actions[i].usage);
	fprintf(out,
		"\nVALUE is an address range (192.0.2.0/24, 2001:db8::/32; a bare address\n"
		"is a /32 or /128), an AS number (AS64500) or a domain (example.org, which\n"
		"covers its subdomains). Claims start pending; only approved claims count.\n"
		"list shows, per claim, the claims of other organisations that overlap it.\n"
		"Exits 0 on success, 1 on failure, 2 on a usage error. See renkei-assets(1).\n");
}

static bool parse_id(const char *s, int64_t *out)
{
	char *end = NULL;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || v <= 0)
		return false;
	*out = v;
	return true;
}

static int act_claim(assets_args *a, assets_db *db)
{
	store *st = NULL;
	directory *dir = NULL;
	rk_errctx ctx;
	int rc = 0;

	if (!a->org)
		return cli_usage_error(CMD, "claim needs --org ORG");
	rk_errctx_clear(&ctx);
	if (store_open(a->data, &st, &ctx) || dir_load(st, &dir, &ctx)) {
		rc = cli_fail(CMD, &ctx);
		goto out;
	}
	if (!dir_find_org(dir, a->org)) {
		cli_error(CMD, "no organisation '%s' in the directory", a->org);
		rc = 1;
		goto out;
	}
	for (int i = 0; i < a->nargs; i++) {
		asset_claim c;
		rk_errctx_clear(&ctx);
		if (assets_claim(db, a->org, a->args[i], a->by, &c, &ctx)) {
			char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG];
			rk_errctx_format(&ctx, msg, sizeof msg);
			cli_error(CMD, "%s: %s", a->args[i], msg);
			rc = 1;
			continue;
		}
		printf("%lld\t%s\t%s\t%s\n", (long long)c.id, c.org, c.value.text,
		       assets_state_name(c.state));
	}
out:
	dir_free(dir);
	store_close(st);
	return rc;
}

typedef struct list_acc {
	asset_claim *v;
	size_t n, cap;
	const char *org;
	bool has_state;
	asset_state state;
} list_acc;

static rk_err list_one(void *arg, const asset_claim *c)
{
	list_acc *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		asset_claim *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return RK_ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *c;
	return RK_OK;
}

static int act_list(assets_args *a, assets_db *db)
{
	list_acc l = {0};
	assets_snapshot *all = NULL;
	json_t *arr = NULL;
	rk_errctx ctx;
	int rc = 1;

	if (a->state && !assets_state_parse(a->state, &l.state))
		return cli_usage_error(CMD, "unknown --state '%s' (pending, approved, rejected)",
				       a->state);
	l.has_state = a->state != NULL;
	rk_errctx_clear(&ctx);
	/* Every claim, so overlaps with other organisations show even when
	 * listing one organisation's. */
	if (assets_list(db, NULL, list_one, &l, &ctx) ||
	    assets_snapshot_build(l.v, l.n, (1u << ASSET_PENDING) | (1u << ASSET_APPROVED), 0,
				  &all, &ctx)) {
		cli_fail(CMD, &ctx);
		goto out;
	}
	size_t n_all = 0;
	const asset_claim *sorted = assets_snapshot_claims(all, &n_all);
	if (a->json && !(arr = json_array()))
		goto out;
	if (!a->json)
		printf("ID\tORG\tVALUE\tSTATE\tCLAIMED_BY\tDECIDED_BY\tOVERLAPS\n");
	for (size_t i = 0; i < l.n; i++) {
		const asset_claim *c = &l.v[i];
		if (a->org && strcmp(c->org, a->org) != 0)
			continue;
		if (l.has_state && c->state != l.state)
			continue;
		/* The snapshot's copy of this claim (rejected ones have none). */
		const asset_claim *self = NULL;
		for (size_t k = 0; k < n_all && !self; k++)
			if (sorted[k].id == c->id)
				self = &sorted[k];
		const asset_claim *ov[16];
		size_t nov = self ? assets_overlaps(all, self, ov, 16) : 0;
		if (a->json) {
			json_t *o = json_pack("{sI ss ss ss ss ss ss}", "id", (json_int_t)c->id, "org",
					      c->org, "kind", assets_kind_name(c->value.kind), "value",
					      c->value.text, "state", assets_state_name(c->state),
					      "claimed_by", c->claimed_by, "decided_by", c->decided_by);
			json_t *oa = json_array();
			for (size_t k = 0; k < nov && k < 16 && oa; k++)
				json_array_append_new(oa, json_pack("{sI ss ss}", "id",
								    (json_int_t)ov[k]->id, "org",
								    ov[k]->org, "value",
								    ov[k]->value.text));
			if (!o || !oa || json_object_set_new(o, "overlaps", oa) ||
			    json_array_append_new(arr, o))
				goto out;
			continue;
		}
		printf("%lld\t%s\t%s\t%s\t%s\t%s\t", (long long)c->id, c->org, c->value.text,
		       assets_state_name(c->state), c->claimed_by,
		       c->decided_by[0] ? c->decided_by : "-");
		if (!nov)
			printf("-");
		for (size_t k = 0; k < nov && k < 16; k++)
			printf("%s%s:%s(#%lld)", k ? "," : "", ov[k]->org, ov[k]->value.text,
			       (long long)ov[k]->id);
		if (nov > 16)
			printf(",+%zu more", nov - 16);
		printf("\n");
	}
	if (a->json) {
		char *text = rk_json_dump(arr);
		if (!text)
			goto out;
		printf("%s\n", text);
		free(text);
	}
	rc = 0;
out:
	json_decref(arr);
	assets_snapshot_free(all);
	free(l.v);
	return rc;
}

static int decide(assets_args *a, assets_db *db, asset_state st)
{
	int rc = 0;
	for (int i = 0; i < a->nargs; i++) {
		int64_t id;
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		if (!parse_id(a->args[i], &id)) {
			cli_error(CMD, "'%s' is not a claim id", a->args[i]);
			rc = 1;
			continue;
		}
		if (assets_decide(db, id, st, a->by, &ctx)) {
			rc = cli_fail(CMD, &ctx);
			continue;
		}
		printf("%lld\t%s\n", (long long)id, assets_state_name(st));
	}
	return rc;
}

static int act_approve(assets_args *a, assets_db *db)
{
	return decide(a, db, ASSET_APPROVED);
}

static int act_reject(assets_args *a, assets_db *db)
{
	return decide(a, db, ASSET_REJECTED);
}

static int act_withdraw(assets_args *a, assets_db *db)
{
	int rc = 0;
	for (int i = 0; i < a->nargs; i++) {
		int64_t id;
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		if (!parse_id(a->args[i], &id)) {
			cli_error(CMD, "'%s' is not a claim id", a->args[i]);
			rc = 1;
			continue;
		}
		if (assets_withdraw(db, id, a->org, &ctx)) {
			rc = cli_fail(CMD, &ctx);
			continue;
		}
		printf("%lld\twithdrawn\n", (long long)id);
	}
	return rc;
}

static int act_lookup(assets_args *a, assets_db *db)
{
	assets_snapshot *s = NULL;
	assets_hit h[64];
	rk_errctx ctx;
	size_t n = 0;
	const char *q = a->args[0];
	uint8_t addr[16];

	rk_errctx_clear(&ctx);
	if (assets_snapshot_load(db, &s, &ctx)) {
		return cli_fail(CMD, &ctx);
	}
	if (inet_pton(AF_INET, q, addr) == 1)
		n = assets_orgs_for_address(s, addr, 4, h, 64);
	else if (inet_pton(AF_INET6, q, addr) == 1)
		n = assets_orgs_for_address(s, addr, 16, h, 64);
	else if ((q[0] == 'A' || q[0] == 'a') && (q[1] == 'S' || q[1] == 's') && q[2] >= '0' &&
		 q[2] <= '9')
		n = assets_orgs_for_asn(s, (uint32_t)strtoul(q + 2, NULL, 10), h, 64);
	else
		n = assets_orgs_for_domain(s, q, strlen(q), h, 64);
	for (size_t i = 0; i < n && i < 64; i++)
		printf("%s\t%s\t%lld\n", h[i].org, h[i].claim->value.text, (long long)h[i].claim->id);
	assets_snapshot_free(s);
	return n ? 0 : 1;
}

int cli_cmd_assets(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"data", required_argument, NULL, 'd'},
		{"org", required_argument, NULL, 'o'},
		{"by", required_argument, NULL, 'b'},
		{"state", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	assets_args a = {0};
	const assets_action *act = NULL;
	assets_db *db = NULL;
	rk_errctx ctx;
	int c, rc;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
			  strcmp(argv[1], "help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 2)
		return cli_usage_error(CMD, "an action is required (claim, list, approve, reject, "
					    "withdraw, lookup)");
	for (size_t i = 0; i < RK_ARRAY_LEN(actions); i++)
		if (strcmp(actions[i].name, argv[1]) == 0)
			act = &actions[i];
	if (!act)
		return cli_usage_error(CMD, "unknown action '%s'", argv[1]);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': a.data = optarg; break;
		case 'o': a.org = optarg; break;
		case 'b': a.by = optarg; break;
		case 's': a.state = optarg; break;
		case 'j': a.json = true; break;
		case 'h': usage(stdout); return 0;
		case ':': return cli_usage_error(CMD, "option '%s' needs a value", argv[optind]);
		default: return cli_usage_error(CMD, "unknown option '%s'", argv[optind]);
		}
	}
	a.args = argv + 1 + optind;
	a.nargs = argc - 1 - optind;
	if (a.nargs < act->min_args || (act->max_args >= 0 && a.nargs > act->max_args))
		return cli_usage_error(CMD, "usage: renkei assets %s", act->usage);
	if (!a.data)
		return cli_usage_error(CMD, "--data DIR is required");
	struct stat sb;
	if (stat(a.data, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		cli_error(CMD, "%s: no such data directory", a.data);
		return 2;
	}
	if (!a.by) {
		const char *u = getenv("USER");
		a.by = u && *u ? u : "operator";
	}
	rk_errctx_clear(&ctx);
	if (assets_db_open(a.data, &db, &ctx)) {
		return cli_fail(CMD, &ctx);
	}
	rc = act->run(&a, db);
	assets_db_close(db);
	return rc;
}
