/*
 * cli_demo.c: `renkei demo`, a working national hub in one command.
 *
 * Sequence:
 *
 *   data dir (0700) --> tokens.txt (0600): reuse the tokens found, make the
 *        |                                  missing ones with dir_token_new
 *        v
 *   sample directory (cli_sample.c) --dir_apply--> store
 *        |
 *        v
 *   sample intelligence --store_put as its organisation--> its collection
 *        |
 *        v
 *   taxii_hub_run --ready--> print how to query it (real token, real ids)
 *
 * Re-running on the same data directory is safe: the directory applies to
 * the same state, the generator gives the same objects for the same seed,
 * and the store answers "duplicate" for versions it already has. Tokens
 * are never in the repository: they are made here, at random, and kept only
 * in DIR/tokens.txt (and as hashes in the store).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_int.h"
#include "directory.h"
#include "policy.h"
#include "stix.h"
#include "store.h"
#include "taxii.h"

enum {
	OPT_DATA = 0x100,
	OPT_LISTEN,
	OPT_OBJECTS,
	OPT_SEED,
};

#define DEMO_TOKEN_BUF (8 + 2 * RK_TOKEN_RANDOM_BYTES + 2)

typedef struct demo {
	const char *data;
	const char *listen;
	size_t target;
	uint64_t seed;
	char tokens_path[4096];
	const cli_sample_user *users;
	size_t n_users;
	char (*tokens)[DEMO_TOKEN_BUF];
	directory *dir;
	size_t stored, duplicates, rejected, total;
	/* For the printed examples. */
	char collection[RK_UUID_BUF];
	char campaign[RK_MAX_STIX_ID + 1];
	char root[64];
	size_t n_collections;
} demo;

/* mkdir -p, with the last component private to the user. */
static rk_err make_dirs(const char *path, rk_errctx *ctx)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof buf)
		return rk_fail(ctx, RK_EINVAL, "--data", "path empty or too long");
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, c ? 0755 : 0700) != 0 && errno != EEXIST)
			return rk_fail(ctx, RK_EIO, buf, "cannot create directory: %s", strerror(errno));
		buf[i] = c;
	}
	return RK_OK;
}

/* Reads "user token" lines; unknown users and malformed lines are skipped. */
static void read_tokens(demo *d)
{
	FILE *f = fopen(d->tokens_path, "r");
	char line[512];

	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char name[128], token[128];
		if (line[0] == '#' || sscanf(line, "%127s %127s", name, token) != 2)
			continue;
		if (strlen(token) < RK_TOKEN_MIN_CHARS || strlen(token) >= DEMO_TOKEN_BUF)
			continue;
		for (size_t i = 0; i < d->n_users; i++)
			if (strcmp(d->users[i].name, name) == 0)
				memcpy(d->tokens[i], token, strlen(token) + 1);
	}
	fclose(f);
}

static rk_err write_tokens(const demo *d, rk_errctx *ctx)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", d->tokens_path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return rk_fail(ctx, RK_EIO, tmp, "cannot create: %s", strerror(errno));
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return rk_fail(ctx, RK_EIO, tmp, "%s", strerror(errno));
	}
	fchmod(fd, 0600);
	fprintf(f, "# renkei demo API tokens: user token (organisation, role).\n"
		   "# Anyone holding a token acts as that user: keep this file private.\n");
	for (size_t i = 0; i < d->n_users; i++)
		fprintf(f, "%s %s\t# %s, %s\n", d->users[i].name, d->tokens[i], d->users[i].org,
			d->users[i].role);
	if (fclose(f) != 0 || rename(tmp, d->tokens_path) != 0) {
		unlink(tmp);
		return rk_fail(ctx, RK_EIO, d->tokens_path, "cannot write: %s", strerror(errno));
	}
	return RK_OK;
}

static rk_err prepare_tokens(demo *d, rk_errctx *ctx)
{
	bool made = false;

	read_tokens(d);
	for (size_t i = 0; i < d->n_users; i++) {
		if (d->tokens[i][0])
			continue;
		dir_token_new("rk", d->tokens[i], DEMO_TOKEN_BUF);
		made = true;
	}
	return made ? write_tokens(d, ctx) : RK_OK;
}

static const char *identity_of(void *arg, const char *org_id)
{
	const dir_org *o = dir_find_org(arg, org_id);
	return o ? o->identity_id : NULL;
}

static rk_err apply_directory(demo *d, store *st, rk_errctx *ctx)
{
	const char **tok = calloc(d->n_users, sizeof *tok);
	dir_change_summary summary = { 0 };
	json_t *doc = NULL;
	rk_err err;

	if (!tok)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < d->n_users; i++)
		tok[i] = d->tokens[i];
	doc = cli_sample_directory(tok);
	free(tok);
	if (!doc)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	err = dir_from_file_json(doc, &d->dir, ctx);
	json_decref(doc);
	if (err)
		return err;
	if ((err = dir_apply(st, d->dir, &summary, ctx)))
		goto out;
	if (summary.added + summary.updated + summary.removed)
		printf("directory: %zu added, %zu updated, %zu removed\n", summary.added,
		       summary.updated, summary.removed);
	else
		printf("directory: unchanged (%zu organisations, %zu users, %zu collections)\n",
		       d->dir->n_orgs, d->dir->n_users, d->dir->n_collections);
out:
	dir_change_summary_cleanup(&summary);
	return err;
}

/* Stores items[lo, hi), which share organisation and collection, each
 * with its audience as the hub would read it at submission. */
static rk_err put_run(demo *d, store *st, const cli_sample_item *items, size_t n,
		      rk_errctx *ctx)
{
	store_put_item *put = calloc(n, sizeof *put);
	store_put_result *res = calloc(n, sizeof *res);
	char **keys = calloc(n, sizeof *keys);
	policy_audience_src src = {.dir = d->dir,
				   .collection = dir_find_collection(d->dir, items[0].collection),
				   .owner = items[0].org};
	rk_err err = RK_OK;

	if (!put || !res || !keys) {
		err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		policy_audience a;
		put[i].object = items[i].object;
		if ((err = stix_object_info(items[i].object, &put[i].info, ctx)))
			goto out;
		err = policy_audience_of(&src, items[i].object, "", &a, &put[i].flags, ctx);
		keys[i] = err ? NULL : policy_audience_key(&a);
		policy_audience_cleanup(&a);
		if (err)
			goto out;
		if (!(put[i].audience = keys[i])) {
			err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
			goto out;
		}
	}
	if ((err = store_put(st, items[0].collection, items[0].org, put, n, res, ctx)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		switch (res[i].outcome) {
		case STORE_PUT_ADDED: d->stored++; break;
		case STORE_PUT_DUPLICATE: d->duplicates++; break;
		case STORE_PUT_REJECTED:
			if (d->rejected++ < 5)
				cli_error("demo", "%s not stored: %s", put[i].info.id, res[i].message);
			break;
		}
	}
out:
	for (size_t i = 0; keys && i < n; i++)
		free(keys[i]);
	free(keys);
	free(put);
	free(res);
	return err;
}

/* Each publishing organisation's own identity goes into the collections it
 * publishes to, so readers can resolve created_by_ref. */
static rk_err put_identities(demo *d, store *st, const cli_sample_set *set, rk_errctx *ctx)
{
	directory *stored = NULL;
	rk_err err = dir_load(st, &stored, ctx);

	for (size_t i = 0; !err && i < set->n; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(set->items[j].org, set->items[i].org) == 0 &&
			       strcmp(set->items[j].collection, set->items[i].collection) == 0;
		if (seen)
			continue;
		const dir_org *org = dir_find_org(stored, set->items[i].org);
		json_t *id = org ? dir_org_identity(org) : NULL;
		if (!id) {
			err = rk_fail(ctx, RK_ENOMEM, NULL, "no identity for %s", set->items[i].org);
			break;
		}
		cli_sample_item item = { id, set->items[i].org, set->items[i].collection };
		err = put_run(d, st, &item, 1, ctx);
		d->total++;
		json_decref(id);
	}
	dir_free(stored);
	return err;
}

static rk_err load_sample(demo *d, store *st, rk_errctx *ctx)
{
	cli_sample_set set;
	rk_err err = cli_sample_generate(d->seed, d->target, identity_of, d->dir, &set, ctx);

	if (err)
		return err;
	d->total = set.n;
	err = put_identities(d, st, &set, ctx);
	for (size_t lo = 0; !err && lo < set.n;) {
		size_t hi = lo + 1;
		while (hi < set.n && set.items[hi].org == set.items[lo].org &&
		       set.items[hi].collection == set.items[lo].collection &&
		       hi - lo < RK_MAX_OBJECTS_PER_ENVELOPE)
			hi++;
		err = put_run(d, st, set.items + lo, hi - lo, ctx);
		lo = hi;
	}
	/* Examples for the instructions: the nation community's first
	 * collection with indicators, and a campaign there (two versions). */
	for (size_t i = 0; !err && i < set.n; i++) {
		const dir_collection *c = dir_find_collection(d->dir, set.items[i].collection);
		const char *type = json_string_value(json_object_get(set.items[i].object, "type"));
		if (!c || strcmp(c->community, "nation") != 0 || strcmp(type, "campaign") != 0)
			continue;
		snprintf(d->collection, sizeof d->collection, "%s", c->id);
		snprintf(d->root, sizeof d->root, "%s", c->community);
		snprintf(d->campaign, sizeof d->campaign, "%s",
			 json_string_value(json_object_get(set.items[i].object, "id")));
		break;
	}
	cli_sample_set_cleanup(&set);
	if (!err)
		printf("objects: %zu generated, %zu stored, %zu already present%s\n", d->total,
		       d->stored, d->duplicates, d->rejected ? ", some rejected (see above)" : "");
	return err;
}

static const char *token_of(const demo *d, const char *user)
{
	for (size_t i = 0; i < d->n_users; i++)
		if (strcmp(d->users[i].name, user) == 0)
			return d->tokens[i];
	return "";
}

static void on_ready(void *arg, unsigned port)
{
	const demo *d = arg;
	const char *prog = cli_progname();
	char host[256];
	const char *colon = strrchr(d->listen, ':');
	size_t hl = colon ? (size_t)(colon - d->listen) : strlen(d->listen);

	snprintf(host, sizeof host, "%.*s", (int)hl, d->listen);
	if (!*host || strcmp(host, "0.0.0.0") == 0)
		snprintf(host, sizeof host, "127.0.0.1");
	printf("\nrenkei demo: hub ready at http://%s:%u/taxii2/\n\n", host, port);
	printf("Tokens of all %zu demo users are in %s (mode 0600).\n", d->n_users, d->tokens_path);
	printf("Act as the NISC analyst:\n\n");
	printf("  export RENKEI_URL=http://%s:%u\n", host, port);
	printf("  export RENKEI_TOKEN=%s\n\n", token_of(d, "nisc-analyst"));
	printf("Then try:\n\n");
	printf("  %s get discovery\n", prog);
	printf("  %s get --root %s collections\n", prog, d->root);
	printf("  %s get --root %s --collection %s objects --type indicator --limit 5\n", prog,
	       d->root, d->collection);
	printf("  %s get --root %s --collection %s manifest --all\n", prog, d->root, d->collection);
	printf("  %s get --root %s --collection %s versions %s\n", prog, d->root, d->collection,
	       d->campaign);
	printf("  %s validate some-bundle.json\n", prog);
	printf("  %s push --root %s --collection %s some-bundle.json\n\n", prog, d->root,
	       d->collection);
	printf("or with curl:\n\n");
	printf("  curl -s -H 'Accept: %s' -H \"Authorization: Bearer $RENKEI_TOKEN\" \\\n"
	       "       http://%s:%u/taxii2/\n", CLIENT_TAXII_MEDIA, host, port);
	printf("  curl -sg -H 'Accept: %s' -H \"Authorization: Bearer $RENKEI_TOKEN\" \\\n"
	       "       'http://%s:%u/%s/collections/%s/objects/?match[type]=report&limit=2'\n\n",
	       CLIENT_TAXII_MEDIA, host, port, d->root, d->collection);
	printf("What the organisation may load into its own tools (also suricata, rpz,\n"
	       "nftables, plain, csv, misp, stix), with an ETag for If-None-Match:\n\n");
	printf("  curl -s -H \"Authorization: Bearer $RENKEI_TOKEN\" http://%s:%u/renkei/export/zeek/\n\n",
	       host, port);
	printf("A partner CERT sees only the international community:\n\n");
	printf("  RENKEI_TOKEN=%s %s get roots\n\n", token_of(d, "krcert-partner"), prog);
	printf("Stop the hub with Ctrl-C; run the demo again to reuse %s.\n", d->data);
	fflush(stdout);
}

int cli_cmd_demo(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "data", required_argument, NULL, OPT_DATA },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "objects", required_argument, NULL, OPT_OBJECTS },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ NULL, 0, NULL, 0 },
	};
	demo d = { .data = ".renkei/demo", .listen = "127.0.0.1:8450", .target = 1000,
		   .seed = 2017 };
	taxii_config cfg;
	store *st = NULL;
	rk_errctx ctx;
	int c, rc = 1;
	char *end;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DATA: d.data = optarg; break;
		case OPT_LISTEN: d.listen = optarg; break;
		case OPT_OBJECTS:
			d.target = strtoul(optarg, &end, 10);
			if (!*optarg || *end || d.target > 1000000)
				return cli_usage_error("demo", "--objects: expected 0 to 1000000");
			break;
		case OPT_SEED:
			d.seed = strtoull(optarg, &end, 10);
			if (!*optarg || *end)
				return cli_usage_error("demo", "--seed: expected a number");
			break;
		default:
			return cli_usage_error("demo", "%s: unknown option or missing value",
					       argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage_error("demo", "%s: unexpected argument", argv[optind]);

	taxii_config_init(&cfg);
	rk_errctx_clear(&ctx);
	d.users = cli_sample_users(&d.n_users);
	d.tokens = calloc(d.n_users, sizeof *d.tokens);
	if (!d.tokens) {
		rk_fail(&ctx, RK_ENOMEM, NULL, "out of memory");
		goto fail;
	}
	if ((size_t)snprintf(d.tokens_path, sizeof d.tokens_path, "%s/tokens.txt", d.data) >=
	    sizeof d.tokens_path) {
		rk_fail(&ctx, RK_EINVAL, "--data", "path too long");
		goto fail;
	}
	if (make_dirs(d.data, &ctx) || prepare_tokens(&d, &ctx))
		goto fail;
	printf("renkei demo: data in %s\n", d.data);
	if (store_open(d.data, &st, &ctx) || apply_directory(&d, st, &ctx) ||
	    load_sample(&d, st, &ctx))
		goto fail;
	store_close(st);
	st = NULL;
	fflush(stdout);

	if (taxii_config_set(&cfg, "data", d.data, &ctx) ||
	    taxii_config_set(&cfg, "listen", d.listen, &ctx) ||
	    taxii_config_set(&cfg, "title", "renkei demo hub", &ctx) ||
	    taxii_config_set(&cfg, "description",
			     "Sample national directory and generated intelligence", &ctx) ||
	    taxii_config_check(&cfg, &ctx))
		goto fail;
	rc = taxii_hub_run(&cfg, on_ready, &d);
	goto out;
fail: {
	char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 4];
	rk_errctx_format(&ctx, msg, sizeof msg);
	cli_error("demo", "%s", msg);
	rc = 1;
}
out:
	store_close(st);
	taxii_config_cleanup(&cfg);
	dir_free(d.dir);
	free(d.tokens);
	return rc;
}
