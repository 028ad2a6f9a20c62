/*
 * pattern_values.c: the exact values an indicator's pattern names, for the
 * sensor's hash tables.
 *
 * Most shared indicators are one observable: `[ipv4-addr:value = 'x']`,
 * `[domain-name:value = 'a' OR domain-name:value = 'b']`,
 * `[file:hashes.'SHA-256' IN ('..', '..')]`. A sensor looks such values up
 * in hash tables at line rate instead of running the evaluator on every
 * observable. pattern_exact_values recognises these patterns on the
 * compiled tree: the root is one observation with no qualifier, and its
 * comparison is a single test or an OR of tests, each `=` or `IN`, not
 * negated, on a path of pattern_vkind. Anything else (AND, a qualifier,
 * another operator or path) leaves the pattern to the evaluator. The walk
 * checks the whole tree before it reports a value, so a caller never sees
 * part of a pattern it must then evaluate anyway. pattern_atom_exact_values
 * applies the same test to one observation expression of a compound
 * pattern.
 */
#include <string.h>

#include "pattern_int.h"

static const struct {
	const char *type, *key, *hash; /* hash: the second key under "hashes" */
	pattern_vkind kind;
} value_paths[] = {
	{"ipv4-addr", "value", NULL, PATTERN_V_IPV4},
	{"ipv6-addr", "value", NULL, PATTERN_V_IPV6},
	{"domain-name", "value", NULL, PATTERN_V_DOMAIN},
	{"url", "value", NULL, PATTERN_V_URL},
	{"email-addr", "value", NULL, PATTERN_V_EMAIL},
	{"file", "hashes", "MD5", PATTERN_V_MD5},
	{"file", "hashes", "SHA-1", PATTERN_V_SHA1},
	{"file", "hashes", "SHA-256", PATTERN_V_SHA256},
	{"file", "hashes", "SHA-512", PATTERN_V_SHA512},
};

/* The kind of an eligible test, or -1. */
static int test_kind(const pat_cmp *c)
{
	if (c->kind != PAT_CMP_TEST || c->negated || (c->op != PAT_OP_EQ && c->op != PAT_OP_IN))
		return -1;
	for (size_t i = 0; i < c->nvals; i++)
		if (c->vals[i].kind != PAT_C_STR)
			return -1;
	const pat_path *p = &c->path;
	for (size_t i = 0; i < RK_ARRAY_LEN(value_paths); i++) {
		size_t want = value_paths[i].hash ? 2 : 1;
		if (strcmp(p->type, value_paths[i].type) != 0 || p->nsteps != want ||
		    p->steps[0].kind != PAT_STEP_KEY || strcmp(p->steps[0].key, value_paths[i].key) != 0)
			continue;
		if (value_paths[i].hash && (p->steps[1].kind != PAT_STEP_KEY ||
					    strcmp(p->steps[1].key, value_paths[i].hash) != 0))
			continue;
		return (int)value_paths[i].kind;
	}
	return -1;
}

/* Every test under c is eligible (c a test, or an OR of eligible ones). */
static bool eligible(const pat_cmp *c)
{
	if (c->kind == PAT_CMP_TEST)
		return test_kind(c) >= 0;
	if (c->kind != PAT_CMP_OR)
		return false;
	for (const pat_cmp *k = c->first; k; k = k->next)
		if (!eligible(k))
			return false;
	return true;
}

static void report(const pat_cmp *c, pattern_value_fn fn, void *arg)
{
	if (c->kind == PAT_CMP_TEST) {
		pattern_vkind kind = (pattern_vkind)test_kind(c);
		for (size_t i = 0; i < c->nvals; i++)
			fn(arg, kind, c->vals[i].s, c->vals[i].len);
		return;
	}
	for (const pat_cmp *k = c->first; k; k = k->next)
		report(k, fn, arg);
}

bool pattern_atom_exact_values(const pattern_atom *a, pattern_value_fn fn, void *arg)
{
	const pat_obs_node *n = (const pat_obs_node *)(const void *)a;

	if (!n || n->kind != PAT_OBS_LEAF || !n->cmp || !eligible(n->cmp))
		return false;
	report(n->cmp, fn, arg);
	return true;
}

bool pattern_exact_values(const pattern *p, pattern_value_fn fn, void *arg)
{
	if (!p || !p->root || p->root->kind != PAT_OBS_LEAF || !p->root->cmp ||
	    !eligible(p->root->cmp))
		return false;
	report(p->root->cmp, fn, arg);
	return true;
}
