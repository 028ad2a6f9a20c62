/*
 * cli_admin.c: `renkei admin`, the operator's view of the directory.
 *
 * Every action is one row of `actions` below (name, handler, the options it
 * takes, how many arguments, usage), so dispatch, option checks and help
 * read one table. The directory is declarative: `apply` makes the stored
 * directory exactly a file. The small editing actions (user/org/community/
 * collection add and remove, token) are the same thing in miniature: load
 * the applied directory, turn it into a directory file (without tokens, so
 * every user keeps theirs), edit that JSON, build a directory from it with
 * the same validation a file gets, and dir_apply it. No action writes the
 * store any other way, so no action can store what `apply` would refuse.
 *
 * Secrets: a new token is printed once on standard output and never
 * written anywhere but as its hash. Removing a collection removes it from
 * the directory only: its objects stay in the store and reappear if the
 * collection is added again with the same id.
 *
 * Exit status: 0 success, 1 failure (including a refused directory), 2
 * usage error.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "directory.h"
#include "store.h"

#define CMD "admin"
/* Largest directory file read: the ceiling of any request body. */
#define ADMIN_MAX_FILE RK_MAX_CONTENT_LENGTH_CEILING
#define ADMIN_TOKEN_PREFIX "rk"
#define ADMIN_MAX_PREFIX 16

/* ---------------------------------------------------------------- options */

enum {
	O_DATA = 1u << 0,
	O_JSON = 1u << 1,
	O_DRY = 1u << 2,
	O_ORG = 1u << 3,
	O_ROLE = 1u << 4,
	O_NAME = 1u << 5,
	O_SECTOR = 1u << 6,
	O_COUNTRY = 1u << 7,
	O_CLIENT = 1u << 8,
	O_TITLE = 1u << 9,
	O_TIER = 1u << 10,
	O_DESC = 1u << 11,
	O_MEMBER = 1u << 12,
	O_ID = 1u << 13,
	O_COMMUNITY = 1u << 14,
	O_MARKING = 1u << 15,
	O_READ = 1u << 16,
	O_WRITE = 1u << 17,
	O_PREFIX = 1u << 18,
	O_NO_TOKEN = 1u << 19,
	O_PUBLIC = 1u << 20,
};

static const struct {
	struct option opt;
	unsigned bit;
} option_table[] = {
	{{"data", required_argument, NULL, 'd'}, O_DATA},
	{{"json", no_argument, NULL, 'j'}, O_JSON},
	{{"dry-run", no_argument, NULL, 'n'}, O_DRY},
	{{"org", required_argument, NULL, 'o'}, O_ORG},
	{{"role", required_argument, NULL, 'r'}, O_ROLE},
	{{"name", required_argument, NULL, 'N'}, O_NAME},
	{{"sector", required_argument, NULL, 's'}, O_SECTOR},
	{{"country", required_argument, NULL, 'C'}, O_COUNTRY},
	{{"client", required_argument, NULL, 'c'}, O_CLIENT},
	{{"title", required_argument, NULL, 't'}, O_TITLE},
	{{"tier", required_argument, NULL, 'T'}, O_TIER},
	{{"description", required_argument, NULL, 'D'}, O_DESC},
	{{"member", required_argument, NULL, 'm'}, O_MEMBER},
	{{"id", required_argument, NULL, 'i'}, O_ID},
	{{"community", required_argument, NULL, 'M'}, O_COMMUNITY},
	{{"marking", required_argument, NULL, 'k'}, O_MARKING},
	{{"read", required_argument, NULL, 'R'}, O_READ},
	{{"write", required_argument, NULL, 'W'}, O_WRITE},
	{{"prefix", required_argument, NULL, 'p'}, O_PREFIX},
	{{"no-token", no_argument, NULL, 'x'}, O_NO_TOKEN},
	{{"public", no_argument, NULL, 'P'}, O_PUBLIC},
	{{"help", no_argument, NULL, 'h'}, 0},
};

/* Repeatable options (--sector a --sector b, or --sector a,b). */
typedef struct admin_list {
	const char **v;
	size_t n;
} admin_list;

typedef struct admin_args {
	const char *action;
	unsigned seen;
	const char *data, *org, *role, *name, *country, *title, *tier, *desc;
	const char *id, *community, *marking, *read, *write, *prefix;
	bool json, dry_run, no_token, is_public;
	admin_list sectors, clients, members;
	char **args; /* positional arguments after the action */
	int nargs;
	/* filled by an edit that issues a token, printed after it applied */
	char token[ADMIN_MAX_PREFIX + 2 * RK_TOKEN_RANDOM_BYTES + 2];
	const char *token_user;
	char new_id[RK_UUID_BUF];
} admin_args;

/* ---------------------------------------------------------------- actions */

typedef struct admin_action {
	const char *name; /* "apply", "user add" */
	int (*run)(admin_args *a);
	unsigned opts;    /* options it accepts besides --help */
	int min_args, max_args;
	const char *usage; /* after "renkei admin " */
	const char *text;
} admin_action;

static int act_apply(admin_args *a);
static int act_show(admin_args *a);
static int act_list(admin_args *a);
static int act_token(admin_args *a);
static int act_user_add(admin_args *a);
static int act_user_remove(admin_args *a);
static int act_org_add(admin_args *a);
static int act_org_remove(admin_args *a);
static int act_community_add(admin_args *a);
static int act_community_remove(admin_args *a);
static int act_collection_add(admin_args *a);
static int act_collection_remove(admin_args *a);
static int act_check(admin_args *a);
static int act_sectors(admin_args *a);
static int act_identity(admin_args *a);

static const admin_action actions[] = {
	{"apply", act_apply, O_DATA | O_DRY, 1, 1,
	 "apply --data DIR [-n] FILE",
	 "Makes the directory exactly FILE and prints what changed (\"no changes\"\n"
	 "when nothing did). Users without a token in FILE keep their stored one.\n"
	 "Removing a collection keeps its stored objects; they reappear if it is\n"
	 "added again. -n (--dry-run) prints the changes without making them.\n"},
	{"show", act_show, O_DATA, 0, 0,
	 "show --data DIR",
	 "Prints the applied directory as a directory file, without tokens.\n"
	 "Applying that output changes nothing.\n"},
	{"list", act_list, O_DATA | O_JSON, 0, 1,
	 "list --data DIR [--json] [orgs|users|communities|collections]",
	 "Prints the entries of one kind (all kinds by default) as a table, or\n"
	 "with --json as directory-file JSON.\n"},
	{"token", act_token, O_DATA | O_PREFIX, 1, 1,
	 "token --data DIR [--prefix P] USER",
	 "Gives USER a new random API token (256 bits, shown as P-<64 hex>,\n"
	 "P defaults to \"rk\"), prints it once and stores only its hash. The\n"
	 "old token stops working.\n"},
	{"user add", act_user_add, O_DATA | O_ORG | O_ROLE | O_NO_TOKEN, 1, 1,
	 "user add --data DIR --org ORG --role ROLE [--no-token] NAME",
	 "Adds a user of organisation ORG with ROLE (admin, analyst, reader,\n"
	 "sensor, partner) and prints its new token, unless --no-token.\n"},
	{"user remove", act_user_remove, O_DATA, 1, 1,
	 "user remove --data DIR NAME", "Removes a user; its token stops working.\n"},
	{"org add", act_org_add, O_DATA | O_NAME | O_SECTOR | O_COUNTRY | O_CLIENT, 1, 1,
	 "org add --data DIR --name NAME [--sector S]... [--country CC]\n"
	 "                [--client ORG]... ID",
	 "Adds an organisation. Sectors come from the STIX 2.1 industry-sector-ov\n"
	 "vocabulary (see `renkei admin sectors`); clients are organisations it\n"
	 "serves. Repeat an option or separate values with commas.\n"},
	{"org remove", act_org_remove, O_DATA, 1, 1,
	 "org remove --data DIR ID",
	 "Removes an organisation that no user, community or client list names.\n"},
	{"community add", act_community_add, O_DATA | O_TITLE | O_TIER | O_DESC | O_MEMBER, 1, 1,
	 "community add --data DIR --title TITLE --tier TIER [--description TEXT]\n"
	 "                      [--member ORG]... ID",
	 "Adds a community (TIER: government, nation or international); it is\n"
	 "served as the TAXII API root /ID/.\n"},
	{"community remove", act_community_remove, O_DATA, 1, 1,
	 "community remove --data DIR ID",
	 "Removes a community that no collection belongs to.\n"},
	{"collection add", act_collection_add,
	 O_DATA | O_ID | O_COMMUNITY | O_TITLE | O_DESC | O_MARKING | O_READ | O_WRITE |
		 O_PUBLIC,
	 0, 0,
	 "collection add --data DIR --community ID --title TITLE [--id UUID]\n"
	 "                       [--description TEXT] [--marking TLP]\n"
	 "                       [--read ROLES] [--write ROLES] [--public]",
	 "Adds a collection and prints its id (a new random UUID unless --id).\n"
	 "Defaults: --marking TLP:AMBER, --read admin,analyst,reader,sensor,\n"
	 "--write admin,analyst. --public serves its TLP:CLEAR objects to\n"
	 "unauthenticated readers.\n"},
	{"collection remove", act_collection_remove, O_DATA, 1, 1,
	 "collection remove --data DIR ID",
	 "Removes a collection from the directory. Its stored objects are kept\n"
	 "and reappear if a collection with the same id is added again.\n"},
	{"check", act_check, O_DATA, 0, 0,
	 "check --data DIR",
	 "Checks the store's integrity and that the applied directory loads.\n"},
	{"identity", act_identity, O_DATA, 1, 1,
	 "identity --data DIR org:ID|user:NAME",
	 "Prints the STIX identity id of an organisation or a user of the\n"
	 "directory: what TLP:RED recipients and the renkei extension's\n"
	 "recipients and distribution lists name them by.\n"},
	{"sectors", act_sectors, 0, 0, 0,
	 "sectors",
	 "Lists the sectors an organisation may declare (STIX 2.1\n"
	 "industry-sector-ov).\n"},
};

static void print_usage(FILE *out)
{
	fputs("usage:", out);
	for (size_t i = 0; i < RK_ARRAY_LEN(actions); i++)
		fprintf(out, "%s renkei admin %s\n", i ? "      " : "", actions[i].usage);
	fputs("\n--data may also come before the action. `renkei admin ACTION --help`\n"
	      "describes one action.\n",
	      out);
}

static void print_action_help(const admin_action *act, FILE *out)
{
	fprintf(out, "usage: renkei admin %s\n\n%s", act->usage, act->text);
}

static int usage_error(const admin_action *act, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(const admin_action *act, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int rc = cli_usage_errorv(CMD, act ? act->usage : NULL, fmt, ap);
	va_end(ap);
	return rc;
}

static int fail_ctx(const char *what, const rk_errctx *ctx)
{
	char msg[RK_ERRCTX_PATH + RK_ERRCTX_MSG + 8];

	rk_errctx_format(ctx, msg, sizeof msg);
	if (what)
		cli_error(CMD, "%s: %s", what, msg);
	else
		cli_error(CMD, "%s", msg);
	return 1;
}

static bool list_add(admin_list *l, const char *v)
{
	const char **p = realloc(l->v, (l->n + 1) * sizeof *p);
	if (!p)
		return false;
	l->v = p;
	l->v[l->n++] = v;
	return true;
}

/* ---------------------------------------------------------------- helpers */

/* A JSON array of the values in l (each may be comma-separated). NULL on
 * OOM. */
static json_t *split_list(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		const char *s = v[i];
		while (*s) {
			size_t len = strcspn(s, ",");
			if (len && json_array_append_new(a, json_stringn(s, len))) {
				json_decref(a);
				return NULL;
			}
			s += len;
			if (*s == ',')
				s++;
		}
	}
	return a;
}

static json_t *split_one(const char *s)
{
	return split_list(&s, 1);
}

static rk_err open_store(const admin_args *a, store **st, rk_errctx *ctx)
{
	return store_open(a->data, st, ctx);
}

static void print_summary(const dir_change_summary *s, uint64_t version, bool dry)
{
	if (s->text.len)
		fputs(s->text.data, stdout);
	if (s->added + s->updated + s->removed == 0)
		printf("no changes (directory version %llu)\n", (unsigned long long)version);
	else if (dry)
		printf("would change: %zu added, %zu updated, %zu removed (nothing applied)\n",
		       s->added, s->updated, s->removed);
	else
		printf("%zu added, %zu updated, %zu removed; directory version %llu\n",
		       s->added, s->updated, s->removed, (unsigned long long)version);
}

/* Index of the entry of array `kind` whose `key` is `value`, or -1. */
static long find_entry(const json_t *file, const char *kind, const char *key,
		       const char *value)
{
	const json_t *arr = json_object_get(file, kind);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const char *v = json_string_value(json_object_get(json_array_get(arr, i), key));
		if (v && strcmp(v, value) == 0)
			return (long)i;
	}
	return -1;
}

typedef rk_err (*edit_fn)(admin_args *a, json_t *file, rk_errctx *ctx);

/*
 * load -> directory file -> edit -> validate -> dir_apply, then the
 * summary. `what` prefixes a refusal ("cannot remove organisation 'npa'").
 */
static int modify(admin_args *a, edit_fn edit, const char *what)
{
	store *st = NULL;
	directory *cur = NULL, *next = NULL;
	json_t *file = NULL;
	dir_change_summary s = {0};
	uint64_t version = 0;
	rk_errctx ctx;
	int rc = 1;

	rk_errctx_clear(&ctx);
	if (open_store(a, &st, &ctx) || dir_load(st, &cur, &ctx)) {
		rc = fail_ctx(a->data, &ctx);
		goto out;
	}
	if (!(file = dir_to_file_json(cur))) {
		cli_error(CMD, "out of memory");
		goto out;
	}
	if (edit(a, file, &ctx) || dir_from_file_json(file, &next, &ctx)) {
		rc = fail_ctx(what, &ctx);
		goto out;
	}
	if (dir_apply(st, next, &s, &ctx) || dir_stored_version(st, &version, &ctx)) {
		rc = fail_ctx(a->data, &ctx);
		goto out;
	}
	print_summary(&s, version, false);
	if (a->new_id[0])
		printf("collection id: %s\n", a->new_id);
	if (a->token[0]) {
		/* The token itself alone on stdout, for scripts; the note on stderr. */
		fprintf(stderr, "new token for %s (shown once, only its hash is kept):\n",
			a->token_user);
		printf("%s\n", a->token);
	}
	rc = 0;
out:
	memset(a->token, 0, sizeof a->token);
	dir_change_summary_cleanup(&s);
	json_decref(file);
	dir_free(cur);
	dir_free(next);
	store_close(st);
	return rc;
}

static rk_err oom(rk_errctx *ctx)
{
	return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
}

static rk_err append_entry(json_t *file, const char *kind, json_t *entry,
			   rk_errctx *ctx)
{
	json_t *arr = json_object_get(file, kind);
	if (!entry || !arr || json_array_append_new(arr, entry))
		return oom(ctx);
	return RK_OK;
}

static rk_err remove_entry(json_t *file, const char *kind, const char *key,
			   const char *noun, const char *value, rk_errctx *ctx)
{
	long i = find_entry(file, kind, key, value);
	if (i < 0)
		return rk_fail(ctx, RK_ENOTFOUND, NULL, "no %s '%s'", noun, value);
	json_array_remove(json_object_get(file, kind), (size_t)i);
	return RK_OK;
}

static bool prefix_valid(const char *p)
{
	size_t n = strlen(p);
	if (n > ADMIN_MAX_PREFIX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9')))
			return false;
	return true;
}

/* ---------------------------------------------------------------- apply */

static int act_apply(admin_args *a)
{
	store *st = NULL;
	directory *next = NULL;
	json_t *doc = NULL;
	dir_change_summary s = {0};
	uint64_t version = 0;
	rk_errctx ctx;
	int rc = 1;

	rk_errctx_clear(&ctx);
	if (rk_json_load_file(a->args[0], ADMIN_MAX_FILE, RK_MAX_JSON_DEPTH, &doc, &ctx)) {
		rc = fail_ctx(NULL, &ctx);
		goto out;
	}
	if (dir_from_file_json(doc, &next, &ctx)) {
		rc = fail_ctx(NULL, &ctx);
		goto out;
	}
	if (open_store(a, &st, &ctx)) {
		rc = fail_ctx(a->data, &ctx);
		goto out;
	}
	if (a->dry_run ? dir_plan(st, next, &s, &ctx) : dir_apply(st, next, &s, &ctx)) {
		rc = fail_ctx(a->data, &ctx);
		goto out;
	}
	if (dir_stored_version(st, &version, &ctx)) {
		rc = fail_ctx(a->data, &ctx);
		goto out;
	}
	print_summary(&s, version, a->dry_run);
	rc = 0;
out:
	dir_change_summary_cleanup(&s);
	dir_free(next);
	json_decref(doc);
	store_close(st);
	return rc;
}

/* ---------------------------------------------------------------- show, list */

static int with_directory(admin_args *a, directory **out, store **st)
{
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	if (open_store(a, st, &ctx) || dir_load(*st, out, &ctx))
		return fail_ctx(a->data, &ctx);
	return 0;
}

static int print_json(const json_t *v)
{
	if (!v || json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
		cli_error(CMD, "out of memory");
		return 1;
	}
	putchar('\n');
	return 0;
}

static int act_show(admin_args *a)
{
	store *st = NULL;
	directory *d = NULL;
	json_t *file = NULL;
	int rc;

	if ((rc = with_directory(a, &d, &st)))
		goto out;
	file = dir_to_file_json(d);
	rc = print_json(file);
out:
	json_decref(file);
	dir_free(d);
	store_close(st);
	return rc;
}

/* Prints rows (arrays of strings; the first is the header) as aligned
 * columns. */
static void print_table(const json_t *rows)
{
	size_t ncols = json_array_size(json_array_get(rows, 0));
	size_t width[16] = {0};

	if (ncols > RK_ARRAY_LEN(width))
		ncols = RK_ARRAY_LEN(width);
	for (size_t r = 0; r < json_array_size(rows); r++)
		for (size_t c = 0; c < ncols; c++) {
			size_t w = json_string_length(json_array_get(json_array_get(rows, r), c));
			if (w > width[c])
				width[c] = w;
		}
	for (size_t r = 0; r < json_array_size(rows); r++) {
		const json_t *row = json_array_get(rows, r);
		for (size_t c = 0; c < ncols; c++) {
			const char *s = json_string_value(json_array_get(row, c));
			if (c + 1 < ncols)
				printf("%-*s  ", (int)width[c], s ? s : "");
			else
				printf("%s\n", s ? s : "");
		}
	}
}

static char *join_strings(char *const *v, size_t n)
{
	rk_buf b;
	rk_buf_init(&b);
	if (rk_buf_puts(&b, "")) /* so an empty list is "" rather than NULL */
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (rk_buf_printf(&b, "%s%s", i ? "," : "", v[i])) {
			rk_buf_cleanup(&b);
			return NULL;
		}
	return rk_buf_take(&b);
}

static char *join_roles(unsigned mask)
{
	char *names[DIR_ROLE_COUNT];
	size_t n = 0;
	for (int i = 0; i < DIR_ROLE_COUNT; i++)
		if (mask & (1u << i))
			names[n++] = (char *)dir_role_name((dir_role)i);
	return join_strings(names, n);
}

static bool row_add(json_t *rows, int n, ...)
{
	json_t *row = json_array();
	va_list ap;
	bool ok = row != NULL;

	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		char *s = va_arg(ap, char *);
		bool owned = va_arg(ap, int);
		if (ok && json_array_append_new(row, json_string(s ? s : "")))
			ok = false;
		if (owned)
			free(s);
	}
	va_end(ap);
	if (ok && json_array_append_new(rows, row) == 0)
		return true;
	return false;
}

/* Each string argument to row_add is followed by whether row_add frees it. */
#define BORROW(s) (char *)(s), 0
#define OWN(s) (s), 1

static bool table_orgs(const directory *d, json_t *rows)
{
	bool ok = row_add(rows, 5, BORROW("ID"), BORROW("NAME"), BORROW("SECTORS"),
			  BORROW("COUNTRY"), BORROW("CLIENTS"));
	for (size_t i = 0; ok && i < d->n_orgs; i++) {
		const dir_org *o = &d->orgs[i];
		ok = row_add(rows, 5, BORROW(o->id), BORROW(o->name),
			     OWN(join_strings(o->sectors, o->n_sectors)),
			     BORROW(o->country ? o->country : "-"),
			     OWN(join_strings(o->clients, o->n_clients)));
	}
	return ok;
}

static bool table_users(const directory *d, json_t *rows)
{
	bool ok = row_add(rows, 4, BORROW("NAME"), BORROW("ORGANIZATION"), BORROW("ROLE"),
			  BORROW("TOKEN"));
	for (size_t i = 0; ok && i < d->n_users; i++) {
		const dir_user *u = &d->users[i];
		ok = row_add(rows, 4, BORROW(u->name), BORROW(u->org),
			     BORROW(dir_role_name(u->role)), BORROW(u->has_token ? "yes" : "no"));
	}
	return ok;
}

static bool table_communities(const directory *d, json_t *rows)
{
	bool ok = row_add(rows, 4, BORROW("ID"), BORROW("TIER"), BORROW("MEMBERS"),
			  BORROW("TITLE"));
	for (size_t i = 0; ok && i < d->n_communities; i++) {
		const dir_community *c = &d->communities[i];
		ok = row_add(rows, 4, BORROW(c->id), BORROW(dir_tier_name(c->tier)),
			     OWN(join_strings(c->members, c->n_members)), BORROW(c->title));
	}
	return ok;
}

static bool table_collections(const directory *d, json_t *rows)
{
	bool ok = row_add(rows, 6, BORROW("ID"), BORROW("COMMUNITY"), BORROW("MARKING"),
			  BORROW("READ"), BORROW("WRITE"), BORROW("TITLE"));
	for (size_t i = 0; ok && i < d->n_collections; i++) {
		const dir_collection *c = &d->collections[i];
		ok = row_add(rows, 6, BORROW(c->id), BORROW(c->community),
			     BORROW(c->default_marking), OWN(join_roles(c->can_read)),
			     OWN(join_roles(c->can_write)), BORROW(c->title));
	}
	return ok;
}

static const struct {
	const char *names[3]; /* accepted spellings */
	const char *key;      /* in the directory file */
	bool (*table)(const directory *d, json_t *rows);
} list_kinds[] = {
	{{"orgs", "organizations", "organisations"}, "organizations", table_orgs},
	{{"users", "user", NULL}, "users", table_users},
	{{"communities", "community", NULL}, "communities", table_communities},
	{{"collections", "collection", NULL}, "collections", table_collections},
};

static int act_list(admin_args *a)
{
	store *st = NULL;
	directory *d = NULL;
	json_t *file = NULL, *out = NULL;
	int kind = -1, rc;

	if (a->nargs == 1) {
		for (size_t k = 0; kind < 0 && k < RK_ARRAY_LEN(list_kinds); k++)
			for (size_t j = 0; j < 3; j++)
				if (list_kinds[k].names[j] &&
				    strcmp(a->args[0], list_kinds[k].names[j]) == 0)
					kind = (int)k;
		if (kind < 0)
			return usage_error(NULL, "list: unknown kind '%s' (orgs, users, "
						 "communities or collections)",
					   a->args[0]);
	}
	if ((rc = with_directory(a, &d, &st)))
		goto out;
	rc = 1;
	if (a->json) {
		if (!(file = dir_to_file_json(d)))
			goto oom;
		rc = print_json(kind < 0 ? file : json_object_get(file, list_kinds[kind].key));
		goto out;
	}
	for (size_t k = 0; k < RK_ARRAY_LEN(list_kinds); k++) {
		if (kind >= 0 && (size_t)kind != k)
			continue;
		json_decref(out);
		if (!(out = json_array()) || !list_kinds[k].table(d, out))
			goto oom;
		if (kind < 0)
			printf("%s%s:\n", k ? "\n" : "", list_kinds[k].key);
		print_table(out);
	}
	rc = 0;
	goto out;
oom:
	cli_error(CMD, "out of memory");
	rc = 1;
out:
	json_decref(out);
	json_decref(file);
	dir_free(d);
	store_close(st);
	return rc;
}

/* ---------------------------------------------------------------- edits */

static rk_err edit_token(admin_args *a, json_t *file, rk_errctx *ctx)
{
	const char *user = a->args[0];
	long i = find_entry(file, "users", "name", user);

	if (i < 0)
		return rk_fail(ctx, RK_ENOTFOUND, NULL, "no user '%s'", user);
	dir_token_new(a->prefix ? a->prefix : ADMIN_TOKEN_PREFIX, a->token, sizeof a->token);
	a->token_user = user;
	if (json_object_set_new(json_array_get(json_object_get(file, "users"), (size_t)i),
				"token", json_string(a->token)))
		return oom(ctx);
	return RK_OK;
}

static int act_token(admin_args *a)
{
	if (a->prefix && !prefix_valid(a->prefix))
		return usage_error(NULL, "--prefix: at most %d lowercase letters and digits",
				   ADMIN_MAX_PREFIX);
	return modify(a, edit_token, "token");
}

static rk_err edit_user_add(admin_args *a, json_t *file, rk_errctx *ctx)
{
	const char *name = a->args[0];

	if (find_entry(file, "users", "name", name) >= 0)
		return rk_fail(ctx, RK_ECONFLICT, NULL, "user '%s' already exists", name);
	json_t *u = json_pack("{s:s, s:s, s:s}", "name", name, "organization", a->org,
			      "role", a->role);
	if (u && !a->no_token) {
		dir_token_new(ADMIN_TOKEN_PREFIX, a->token, sizeof a->token);
		a->token_user = name;
		if (json_object_set_new(u, "token", json_string(a->token))) {
			json_decref(u);
			u = NULL;
		}
	}
	return append_entry(file, "users", u, ctx);
}

static int act_user_add(admin_args *a)
{
	if (!a->org || !a->role)
		return usage_error(NULL, "user add: --org and --role are required");
	return modify(a, edit_user_add, "cannot add user");
}

static rk_err edit_user_remove(admin_args *a, json_t *file, rk_errctx *ctx)
{
	return remove_entry(file, "users", "name", "user", a->args[0], ctx);
}

static int act_user_remove(admin_args *a)
{
	return modify(a, edit_user_remove, "cannot remove user");
}

static rk_err edit_org_add(admin_args *a, json_t *file, rk_errctx *ctx)
{
	const char *id = a->args[0];

	if (find_entry(file, "organizations", "id", id) >= 0)
		return rk_fail(ctx, RK_ECONFLICT, NULL, "organisation '%s' already exists", id);
	json_t *o = json_pack("{s:s, s:s}", "id", id, "name", a->name);
	if (o && a->sectors.n &&
	    json_object_set_new(o, "sectors", split_list(a->sectors.v, a->sectors.n)))
		goto oom;
	if (o && a->country && json_object_set_new(o, "country", json_string(a->country)))
		goto oom;
	if (o && a->clients.n &&
	    json_object_set_new(o, "clients", split_list(a->clients.v, a->clients.n)))
		goto oom;
	return append_entry(file, "organizations", o, ctx);
oom:
	json_decref(o);
	return oom(ctx);
}

static int act_org_add(admin_args *a)
{
	if (!a->name)
		return usage_error(NULL, "org add: --name is required");
	return modify(a, edit_org_add, "cannot add organisation");
}

static rk_err edit_org_remove(admin_args *a, json_t *file, rk_errctx *ctx)
{
	return remove_entry(file, "organizations", "id", "organisation", a->args[0], ctx);
}

static int act_org_remove(admin_args *a)
{
	char what[128];
	snprintf(what, sizeof what, "cannot remove organisation '%.64s'", a->args[0]);
	return modify(a, edit_org_remove, what);
}

static rk_err edit_community_add(admin_args *a, json_t *file, rk_errctx *ctx)
{
	const char *id = a->args[0];

	if (find_entry(file, "communities", "id", id) >= 0)
		return rk_fail(ctx, RK_ECONFLICT, NULL, "community '%s' already exists", id);
	json_t *c = json_pack("{s:s, s:s, s:s, s:o}", "id", id, "title", a->title, "tier",
			      a->tier, "members", split_list(a->members.v, a->members.n));
	if (c && a->desc && json_object_set_new(c, "description", json_string(a->desc))) {
		json_decref(c);
		return oom(ctx);
	}
	return append_entry(file, "communities", c, ctx);
}

static int act_community_add(admin_args *a)
{
	if (!a->title || !a->tier)
		return usage_error(NULL, "community add: --title and --tier are required");
	return modify(a, edit_community_add, "cannot add community");
}

static rk_err edit_community_remove(admin_args *a, json_t *file, rk_errctx *ctx)
{
	return remove_entry(file, "communities", "id", "community", a->args[0], ctx);
}

static int act_community_remove(admin_args *a)
{
	char what[128];
	snprintf(what, sizeof what, "cannot remove community '%.64s'", a->args[0]);
	return modify(a, edit_community_remove, what);
}

static rk_err edit_collection_add(admin_args *a, json_t *file, rk_errctx *ctx)
{
	if (a->id)
		snprintf(a->new_id, sizeof a->new_id, "%s", a->id);
	else
		rk_uuid_v4(a->new_id);
	if (find_entry(file, "collections", "id", a->new_id) >= 0)
		return rk_fail(ctx, RK_ECONFLICT, NULL, "collection '%s' already exists",
			       a->new_id);
	json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "id", a->id ? a->id : a->new_id,
			      "community", a->community, "title", a->title, "default_marking",
			      a->marking ? a->marking : "TLP:AMBER", "can_read",
			      split_one(a->read ? a->read : "admin,analyst,reader,sensor"),
			      "can_write", split_one(a->write ? a->write : "admin,analyst"));
	if (c && ((a->desc && json_object_set_new(c, "description", json_string(a->desc))) ||
		  (a->is_public && json_object_set_new(c, "public", json_true())))) {
		json_decref(c);
		return oom(ctx);
	}
	return append_entry(file, "collections", c, ctx);
}

static int act_collection_add(admin_args *a)
{
	if (!a->community || !a->title)
		return usage_error(NULL, "collection add: --community and --title are required");
	return modify(a, edit_collection_add, "cannot add collection");
}

static rk_err edit_collection_remove(admin_args *a, json_t *file, rk_errctx *ctx)
{
	const char *id = a->args[0];
	const json_t *arr = json_object_get(file, "collections");

	/* ids are stored lowercase; accept any case on the command line */
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const char *v = json_string_value(json_object_get(json_array_get(arr, i), "id"));
		if (v && strcasecmp(v, id) == 0) {
			json_array_remove((json_t *)arr, i);
			return RK_OK;
		}
	}
	return rk_fail(ctx, RK_ENOTFOUND, NULL, "no collection '%s'", id);
}

static int act_collection_remove(admin_args *a)
{
	return modify(a, edit_collection_remove, "cannot remove collection");
}

/* ---------------------------------------------------------------- check */

static int act_check(admin_args *a)
{
	store *st = NULL;
	directory *d = NULL;
	rk_errctx ctx;
	int rc = 1;

	rk_errctx_clear(&ctx);
	if (open_store(a, &st, &ctx)) {
		rc = fail_ctx(a->data, &ctx);
		goto out;
	}
	if (store_check_integrity(st, &ctx)) {
		rc = fail_ctx("store integrity", &ctx);
		goto out;
	}
	printf("store: ok (schema version %d)\n", store_schema_version_found(st));
	if (dir_load(st, &d, &ctx)) {
		rc = fail_ctx("stored directory", &ctx);
		goto out;
	}
	printf("directory: ok (version %llu: %zu organisations, %zu users, "
	       "%zu communities, %zu collections)\n",
	       (unsigned long long)d->version, d->n_orgs, d->n_users, d->n_communities,
	       d->n_collections);
	rc = 0;
out:
	dir_free(d);
	store_close(st);
	return rc;
}

static int act_identity(admin_args *a)
{
	const char *arg = a->args[0], *name = strchr(arg, ':');
	bool user = strncmp(arg, "user:", 5) == 0;
	store *st = NULL;
	directory *d = NULL;
	int rc;

	if (!name || (!user && strncmp(arg, "org:", 4) != 0))
		return usage_error(NULL, "identity: expected org:ID or user:NAME, not '%s'", arg);
	name++;
	if ((rc = with_directory(a, &d, &st)))
		goto out;
	const dir_user *u = user ? dir_find_user(d, name) : NULL;
	const dir_org *o = user ? NULL : dir_find_org(d, name);
	if (!u && !o) {
		cli_error(CMD, "no %s '%s' in the directory", user ? "user" : "organisation", name);
		rc = 1;
		goto out;
	}
	puts(u ? u->identity_id : o->identity_id);
out:
	dir_free(d);
	store_close(st);
	return rc;
}

static int act_sectors(admin_args *a)
{
	(void)a;
	const char *s;
	for (size_t i = 0; (s = dir_sector_name(i)); i++)
		puts(s);
	return 0;
}

/* ---------------------------------------------------------------- dispatch */

static const admin_action *find_action(const char *name)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(actions); i++)
		if (strcmp(actions[i].name, name) == 0)
			return &actions[i];
	return NULL;
}

static bool is_help(const char *s)
{
	return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0;
}

/* True if argv[i] is an option that takes the next word as its value. */
static bool takes_value(const char *s)
{
	if (s[0] != '-' || s[1] != '-' || strchr(s, '='))
		return false;
	for (size_t i = 0; i < RK_ARRAY_LEN(option_table); i++)
		if (strcmp(s + 2, option_table[i].opt.name) == 0)
			return option_table[i].opt.has_arg == required_argument;
	return false;
}

static int parse_options(admin_args *a, const admin_action *act, int argc, char **argv)
{
	struct option longopts[RK_ARRAY_LEN(option_table) + 1];
	unsigned bits[128] = {0};

	for (size_t i = 0; i < RK_ARRAY_LEN(option_table); i++) {
		longopts[i] = option_table[i].opt;
		bits[option_table[i].opt.val] = option_table[i].bit;
	}
	memset(&longopts[RK_ARRAY_LEN(option_table)], 0, sizeof longopts[0]);
	optind = 0; /* glibc: full reinitialisation, argv[0] is skipped */
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":nh", longopts, NULL)) != -1) {
		if (c == '?') {
			const char *bad = argv[optind - 1];
			return usage_error(act, "unknown option '%s'", bad);
		}
		if (c == ':')
			return usage_error(act, "option '%s' needs a value", argv[optind - 1]);
		if (c == 'h') {
			print_action_help(act, stdout);
			return -1;
		}
		unsigned bit = (c > 0 && c < 128) ? bits[c] : 0;
		if (!(act->opts & bit))
			return usage_error(act, "%s: option '%s' does not apply", act->name,
					   argv[optind - 1]);
		a->seen |= bit;
		bool ok = true;
		switch (c) {
		case 'd': a->data = optarg; break;
		case 'j': a->json = true; break;
		case 'n': a->dry_run = true; break;
		case 'o': a->org = optarg; break;
		case 'r': a->role = optarg; break;
		case 'N': a->name = optarg; break;
		case 's': ok = list_add(&a->sectors, optarg); break;
		case 'C': a->country = optarg; break;
		case 'c': ok = list_add(&a->clients, optarg); break;
		case 't': a->title = optarg; break;
		case 'T': a->tier = optarg; break;
		case 'D': a->desc = optarg; break;
		case 'm': ok = list_add(&a->members, optarg); break;
		case 'i': a->id = optarg; break;
		case 'M': a->community = optarg; break;
		case 'k': a->marking = optarg; break;
		case 'R': a->read = optarg; break;
		case 'W': a->write = optarg; break;
		case 'p': a->prefix = optarg; break;
		case 'x': a->no_token = true; break;
		case 'P': a->is_public = true; break;
		}
		if (!ok) {
			cli_error(CMD, "out of memory");
			return 1;
		}
	}
	a->args = argv + optind;
	a->nargs = argc - optind;
	if (a->nargs < act->min_args || a->nargs > act->max_args)
		return usage_error(act, "%s: expected %s", act->name,
				   act->max_args == 0 ? "no arguments"
				   : act->min_args == act->max_args ? "one argument"
								     : "at most one argument");
	if ((act->opts & O_DATA) && !a->data)
		return usage_error(act, "%s: --data DIR is required", act->name);
	return 0;
}

int cli_cmd_admin(int argc, char **argv)
{
	admin_args a = {0};
	char **rest = NULL;
	const admin_action *act = NULL;
	char name[64];
	int nrest = 0, rc = 2, w1 = -1, w2 = -1, skip = 0;

	/* The action is the first non-option word, or the first two ("user
	 * add"); option values are not words. */
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-') {
			if (strcmp(argv[i], "--") == 0)
				break;
			if (takes_value(argv[i]))
				i++;
			continue;
		}
		if (w1 < 0) {
			w1 = i;
		} else {
			w2 = i;
			break;
		}
	}
	if (w1 < 0) {
		for (int i = 1; i < argc; i++) {
			if (is_help(argv[i])) {
				print_usage(stdout);
				return 0;
			}
		}
		return usage_error(NULL, "expected an action");
	}
	if (w2 >= 0) {
		snprintf(name, sizeof name, "%.30s %.30s", argv[w1], argv[w2]);
		act = find_action(name);
	}
	if (act) {
		skip = 2;
	} else {
		snprintf(name, sizeof name, "%.60s", argv[w1]);
		act = find_action(name);
		skip = 1;
	}
	if (!act)
		return usage_error(NULL, "%s: no such action", name);

	/* Everything but the action words, in order, for getopt. */
	if (!(rest = calloc((size_t)argc + 1, sizeof *rest))) {
		cli_error(CMD, "out of memory");
		return 1;
	}
	rest[nrest++] = argv[0];
	for (int i = 1; i < argc; i++)
		if (i != w1 && !(skip == 2 && i == w2))
			rest[nrest++] = argv[i];
	rest[nrest] = NULL;
	a.action = act->name;
	rc = parse_options(&a, act, nrest, rest);
	if (rc == -1) {
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	rc = act->run(&a);
out:
	free(a.sectors.v);
	free(a.clients.v);
	free(a.members.v);
	free(rest);
	return rc;
}
