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
 *
 * For the atoms that are not exact, pattern_atom_literals and
 * pattern_atom_regexes say what a value must contain or match for the atom
 * to hold, so a sensor can skip most atoms per value. Both must never be
 * wrong in the unsafe direction (an atom that holds for a value whose
 * literal or expression is missing): whatever they cannot vouch for is
 * ANY, evaluated always.
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
	{"x509-certificate", "hashes", "SHA-1", PATTERN_V_X509_SHA1},
	{"x509-certificate", "hashes", "SHA-256", PATTERN_V_X509_SHA256},
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

/* ---------------------------------------------------------------- literals */

/* A literal run found in a pattern constant: where and how long. */
typedef struct {
	const char *s;
	size_t len;
} lit_run;

/* The longest run of LIKE text between wildcards. */
static lit_run like_literal(const char *p, size_t n)
{
	lit_run best = {NULL, 0};
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || p[i] == '%' || p[i] == '_') {
			if (i - start > best.len)
				best = (lit_run){p + start, i - start};
			start = i + 1;
		}
	}
	return best;
}

static bool re_quantifier(char c)
{
	return c == '?' || c == '*' || c == '{' || c == '+';
}

/*
 * The longest run of plain characters at the top level of a regular
 * expression, each required in every match: not inside a group or class,
 * not followed by a quantifier that can make it absent (`?`, `*`, `{`; a
 * `+` keeps the character but ends the run). Gives up (empty run) on
 * anything the reading cannot vouch for: a top-level `|`, inline options
 * or verbs (`(?i)`, `(*UTF)`), escapes that are letters or digits (classes,
 * \Q..\E, \x{..}), bytes of multi-byte characters.
 */
static lit_run regex_literal(const char *re, size_t n)
{
	lit_run best = {NULL, 0}, cur = {NULL, 0};
	int depth = 0;

	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)re[i];
		size_t width = 1;
		bool plain = false;

		if (c == '\\') {
			if (i + 1 >= n)
				return (lit_run){NULL, 0};
			unsigned char e = (unsigned char)re[i + 1];
			if (e >= 0x80 || (e >= '0' && e <= '9') || (e >= 'a' && e <= 'z') ||
			    (e >= 'A' && e <= 'Z'))
				return (lit_run){NULL, 0};
			plain = depth == 0;
			width = 2;
		} else if (c == '(') {
			if (i + 1 < n && re[i + 1] == '*')
				return (lit_run){NULL, 0};
			if (i + 2 < n && re[i + 1] == '?' && !strchr(":=!<>|", re[i + 2]))
				return (lit_run){NULL, 0};
			depth++;
		} else if (c == ')') {
			depth--;
		} else if (c == '[') {
			/* skip the class: a leading ']' (after an optional '^') is literal */
			size_t j = i + 1;
			if (j < n && re[j] == '^')
				j++;
			if (j < n && re[j] == ']')
				j++;
			while (j < n && re[j] != ']') {
				if (re[j] == '[' && j + 1 < n && re[j + 1] == ':')
					return (lit_run){NULL, 0}; /* a POSIX class inside */
				if (re[j] == '\\')
					j++;
				j++;
			}
			width = j < n ? j + 1 - i : n - i;
		} else if (c == '{') {
			/* a quantifier {n}, {n,}, {n,m}: its digits are not text */
			size_t j = i + 1;
			while (j < n && ((re[j] >= '0' && re[j] <= '9') || re[j] == ','))
				j++;
			if (j < n && re[j] == '}' && j > i + 1)
				width = j + 1 - i;
		} else if (c == '|') {
			if (depth == 0)
				return (lit_run){NULL, 0};
		} else if (c < 0x80 && !strchr("^$.?*+{}]", c)) {
			plain = depth == 0;
		}
		size_t next = i + width;
		bool optional = plain && next < n && re[next] != '+' && re_quantifier(re[next]);
		if (plain && !optional) {
			if (!cur.s)
				cur.s = re + i;
			/* an escaped character is one byte of the literal: copy-free
			 * runs cannot skip the backslash, so a run ends before it */
			if (width == 2) {
				if (cur.len > best.len)
					best = cur;
				cur = (lit_run){NULL, 0};
			} else {
				cur.len++;
			}
		}
		if (!plain || optional || (next < n && re[next] == '+')) {
			if (cur.len > best.len)
				best = cur;
			cur = (lit_run){NULL, 0};
		}
		i = next;
	}
	if (cur.len > best.len)
		best = cur;
	return best;
}

typedef struct {
	pattern_lit kind;
	size_t shortest; /* SOME: the shortest literal's length */
} lit_info;

/* The literal a test needs, if one. */
static lit_info test_literals(const pat_cmp *c, const pattern_prop *v, pattern_literal_fn fn,
			      void *arg)
{
	lit_info r = {PATTERN_LIT_ANY, 0};
	lit_run run;

	if (!pattern_path_is(&c->path, v))
		return (lit_info){PATTERN_LIT_NEVER, 0};
	if (c->negated)
		return r;
	switch (c->op) {
	case PAT_OP_EQ:
	case PAT_OP_IN:
		if (c->path.ip_value)
			return r;
		r.shortest = SIZE_MAX;
		for (size_t i = 0; i < c->nvals; i++) {
			if (c->vals[i].kind != PAT_C_STR)
				return (lit_info){PATTERN_LIT_ANY, 0};
			if (c->vals[i].len < r.shortest)
				r.shortest = c->vals[i].len;
		}
		r.kind = PATTERN_LIT_SOME;
		if (fn)
			for (size_t i = 0; i < c->nvals; i++)
				fn(arg, c->vals[i].s, c->vals[i].len);
		return r;
	case PAT_OP_LIKE:
		run = like_literal(c->vals[0].s, c->vals[0].len);
		break;
	case PAT_OP_MATCHES:
		if (c->path.ends_bin)
			return r;
		run = regex_literal(c->vals[0].s, c->vals[0].len);
		break;
	default:
		return r;
	}
	if (!run.len)
		return r;
	if (fn)
		fn(arg, run.s, run.len);
	return (lit_info){PATTERN_LIT_SOME, run.len};
}

/* Walks the comparison tree; fn NULL only measures. The choices made
 * (which AND child) depend on the measures alone, so a measuring walk and
 * a reporting walk agree. */
static lit_info cmp_literals(const pat_cmp *c, const pattern_prop *v, pattern_literal_fn fn,
			     void *arg)
{
	lit_info r;

	switch (c->kind) {
	case PAT_CMP_TEST:
		return test_literals(c, v, fn, arg);
	case PAT_CMP_AND: {
		const pat_cmp *pick = NULL;
		r = (lit_info){PATTERN_LIT_ANY, 0};
		for (const pat_cmp *k = c->first; k; k = k->next) {
			lit_info x = cmp_literals(k, v, NULL, NULL);
			if (x.kind == PATTERN_LIT_NEVER)
				return x;
			if (x.kind == PATTERN_LIT_SOME &&
			    (r.kind != PATTERN_LIT_SOME || x.shortest > r.shortest)) {
				r = x;
				pick = k;
			}
		}
		if (pick && fn)
			cmp_literals(pick, v, fn, arg);
		return r;
	}
	case PAT_CMP_OR:
		r = (lit_info){PATTERN_LIT_NEVER, SIZE_MAX};
		for (const pat_cmp *k = c->first; k; k = k->next) {
			lit_info x = cmp_literals(k, v, NULL, NULL);
			if (x.kind == PATTERN_LIT_ANY)
				return x;
			if (x.kind == PATTERN_LIT_SOME) {
				r.kind = PATTERN_LIT_SOME;
				if (x.shortest < r.shortest)
					r.shortest = x.shortest;
			}
		}
		if (r.kind == PATTERN_LIT_NEVER)
			r.shortest = 0;
		if (r.kind == PATTERN_LIT_SOME && fn)
			for (const pat_cmp *k = c->first; k; k = k->next)
				cmp_literals(k, v, fn, arg); /* NEVER children report nothing */
		return r;
	}
	return (lit_info){PATTERN_LIT_ANY, 0};
}

pattern_lit pattern_atom_literals(const pattern_atom *a, const pattern_prop *v,
				  pattern_literal_fn fn, void *arg)
{
	const pat_obs_node *n = (const pat_obs_node *)(const void *)a;

	if (!n || n->kind != PAT_OBS_LEAF || !n->cmp || !v)
		return PATTERN_LIT_ANY;
	return cmp_literals(n->cmp, v, fn, arg).kind;
}

/* ---------------------------------------------------------------- regexes */

/* Appends s escaped for a regular expression: ASCII letters and digits as
 * they are, other ASCII as \xHH, bytes of multi-byte characters as they
 * are. false on a NUL byte or no memory. */
static bool re_escape(rk_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		rk_err e;
		if (c == 0)
			return false;
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c >= 0x80)
			e = rk_buf_append(b, &s[i], 1);
		else
			e = rk_buf_printf(b, "\\x%02x", c);
		if (e)
			return false;
	}
	return true;
}

static bool re_like(rk_buf *b, const char *p, size_t n)
{
	size_t run = 0;
	if (rk_buf_puts(b, "^"))
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != '%' && p[i] != '_')
			continue;
		if (!re_escape(b, p + run, i - run))
			return false;
		if (i < n && rk_buf_puts(b, p[i] == '%' ? ".*" : "."))
			return false;
		run = i + 1;
	}
	return rk_buf_puts(b, "\\z") == RK_OK;
}

typedef struct {
	pattern_regex_fn fn;
	void *arg;
	rk_buf b;
	bool fail;
} re_out;

/* Reports one expression (b holds it). */
static void re_emit(re_out *o, unsigned flags)
{
	if (o->fn && !o->fail && rk_buf_append(&o->b, "", 1) == RK_OK)
		o->fn(o->arg, o->b.data, flags);
	rk_buf_reset(&o->b);
}

static pattern_lit test_regexes(const pat_cmp *c, const pattern_prop *v, re_out *o)
{
	if (!pattern_path_is(&c->path, v))
		return PATTERN_LIT_NEVER;
	if (c->negated)
		return PATTERN_LIT_ANY;
	switch (c->op) {
	case PAT_OP_EQ:
	case PAT_OP_IN:
		if (c->path.ip_value)
			return PATTERN_LIT_ANY;
		for (size_t i = 0; i < c->nvals; i++)
			if (c->vals[i].kind != PAT_C_STR || memchr(c->vals[i].s, 0, c->vals[i].len))
				return PATTERN_LIT_ANY;
		for (size_t i = 0; o && i < c->nvals; i++) {
			if (rk_buf_puts(&o->b, "^") || !re_escape(&o->b, c->vals[i].s, c->vals[i].len) ||
			    rk_buf_puts(&o->b, "\\z"))
				o->fail = true;
			re_emit(o, 0);
		}
		return PATTERN_LIT_SOME;
	case PAT_OP_LIKE:
		if (memchr(c->vals[0].s, 0, c->vals[0].len))
			return PATTERN_LIT_ANY;
		if (o) {
			if (!re_like(&o->b, c->vals[0].s, c->vals[0].len))
				o->fail = true;
			re_emit(o, PATTERN_RE_DOTALL);
		}
		return PATTERN_LIT_SOME;
	case PAT_OP_MATCHES:
		if (c->path.ends_bin || memchr(c->vals[0].s, 0, c->vals[0].len))
			return PATTERN_LIT_ANY;
		if (o) {
			if (rk_buf_append(&o->b, c->vals[0].s, c->vals[0].len))
				o->fail = true;
			re_emit(o, 0);
		}
		return PATTERN_LIT_SOME;
	default:
		return PATTERN_LIT_ANY;
	}
}

/* As cmp_literals: o NULL only measures; AND reports its first child that
 * has expressions, OR all its children that can hold. */
static pattern_lit cmp_regexes(const pat_cmp *c, const pattern_prop *v, re_out *o)
{
	pattern_lit r;

	switch (c->kind) {
	case PAT_CMP_TEST:
		return test_regexes(c, v, o);
	case PAT_CMP_AND: {
		const pat_cmp *pick = NULL;
		for (const pat_cmp *k = c->first; k; k = k->next) {
			pattern_lit x = cmp_regexes(k, v, NULL);
			if (x == PATTERN_LIT_NEVER)
				return x;
			if (x == PATTERN_LIT_SOME && !pick)
				pick = k;
		}
		if (pick && o)
			cmp_regexes(pick, v, o);
		return pick ? PATTERN_LIT_SOME : PATTERN_LIT_ANY;
	}
	case PAT_CMP_OR:
		r = PATTERN_LIT_NEVER;
		for (const pat_cmp *k = c->first; k; k = k->next) {
			pattern_lit x = cmp_regexes(k, v, NULL);
			if (x == PATTERN_LIT_ANY)
				return x;
			if (x == PATTERN_LIT_SOME)
				r = x;
		}
		if (r == PATTERN_LIT_SOME && o)
			for (const pat_cmp *k = c->first; k; k = k->next)
				cmp_regexes(k, v, o);
		return r;
	}
	return PATTERN_LIT_ANY;
}

pattern_lit pattern_atom_regexes(const pattern_atom *a, const pattern_prop *v,
				 pattern_regex_fn fn, void *arg)
{
	const pat_obs_node *n = (const pat_obs_node *)(const void *)a;
	re_out o = {fn, arg, {0}, false};
	pattern_lit r;

	if (!n || n->kind != PAT_OBS_LEAF || !n->cmp || !v)
		return PATTERN_LIT_ANY;
	r = cmp_regexes(n->cmp, v, NULL);
	if (r != PATTERN_LIT_SOME || !fn)
		return r;
	rk_buf_init(&o.b);
	cmp_regexes(n->cmp, v, &o);
	rk_buf_cleanup(&o.b);
	return o.fail ? PATTERN_LIT_ANY : r;
}
