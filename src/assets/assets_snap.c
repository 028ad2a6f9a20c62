/*
 * assets_snap.c: an immutable snapshot of claims and the lookups over it.
 *
 * Layout: one array of claims (copies), sorted by organisation, kind and
 * value, so the claims of one organisation and kind are one run
 * (assets_approved_of_org). Beside it three sorted index arrays:
 *
 *   nets     (family, prefix descending, network bytes, claim)  with a
 *            start/count per (family, prefix) and the list of prefix
 *            lengths present, longest first
 *   domains  (name, claim)
 *   asns     (number, claim)
 *
 * An address lookup masks the address to each prefix length present and
 * binary-searches that length's run: O(lengths present x log n), no
 * allocation. A domain lookup searches the name and then each parent. An
 * organisation found twice (a block and a sub-block of its own) is
 * reported once, with its first (longest) match. Nothing is written after
 * build, so any number of threads may look up at once.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "assets.h"

typedef struct snap_net {
	uint8_t key[16];
	uint32_t claim;
} snap_net;

struct assets_snapshot {
	uint64_t version;
	asset_claim *claims;
	size_t n_claims;
	snap_net *nets;
	size_t n_nets;
	struct {
		size_t start, n;
	} by_len[2][129];
	uint8_t lens[2][129]; /* prefix lengths present, longest first */
	size_t n_lens[2];
	uint32_t *domains; /* claim indices sorted by name */
	size_t n_domains;
	uint32_t *asns; /* claim indices sorted by number */
	size_t n_asns;
};

static int cmp_claim(const void *a, const void *b)
{
	const asset_claim *x = a, *y = b;
	int c = strcmp(x->org, y->org);
	if (c)
		return c;
	if (x->value.kind != y->value.kind)
		return x->value.kind < y->value.kind ? -1 : 1;
	if (x->value.kind == ASSET_KIND_CIDR) {
		if (x->value.family != y->value.family)
			return x->value.family < y->value.family ? -1 : 1;
		if ((c = memcmp(x->value.addr, y->value.addr, 16)))
			return c;
		return x->value.prefix < y->value.prefix ? -1 : x->value.prefix > y->value.prefix;
	}
	if (x->value.kind == ASSET_KIND_ASN)
		return x->value.asn < y->value.asn ? -1 : x->value.asn > y->value.asn;
	return strcmp(x->value.text, y->value.text);
}

static int fam_index(int family)
{
	return family == 4 ? 0 : 1;
}

/* The sort context for index arrays: qsort has no argument, so indices
 * carry what they compare. */
static const asset_claim *sort_claims;

static int cmp_net(const void *a, const void *b)
{
	const snap_net *x = a, *y = b;
	const asset_value *u = &sort_claims[x->claim].value, *v = &sort_claims[y->claim].value;
	if (u->family != v->family)
		return u->family < v->family ? -1 : 1;
	if (u->prefix != v->prefix)
		return u->prefix > v->prefix ? -1 : 1;
	int c = memcmp(x->key, y->key, 16);
	if (c)
		return c;
	return x->claim < y->claim ? -1 : x->claim > y->claim;
}

static int cmp_domain(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int c = strcmp(sort_claims[x].value.text, sort_claims[y].value.text);
	if (c)
		return c;
	return x < y ? -1 : x > y;
}

static int cmp_asn(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint32_t u = sort_claims[x].value.asn, v = sort_claims[y].value.asn;
	if (u != v)
		return u < v ? -1 : 1;
	return x < y ? -1 : x > y;
}

static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;

rk_err assets_snapshot_build(const asset_claim *claims, size_t n, unsigned states,
			     uint64_t version, assets_snapshot **out, rk_errctx *ctx)
{
	assets_snapshot *s = NULL;
	size_t k = 0;

	*out = NULL;
	if (n > UINT32_MAX)
		return rk_fail(ctx, RK_ETOOBIG, NULL, "too many claims");
	if (!(s = calloc(1, sizeof *s)))
		goto oom;
	s->version = version;
	if (n && (!(s->claims = malloc(n * sizeof *s->claims)) ||
		  !(s->nets = malloc(n * sizeof *s->nets)) ||
		  !(s->domains = malloc(n * sizeof *s->domains)) ||
		  !(s->asns = malloc(n * sizeof *s->asns))))
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (states & (1u << claims[i].state))
			s->claims[k++] = claims[i];
	s->n_claims = k;
	if (k)
		qsort(s->claims, k, sizeof *s->claims, cmp_claim);
	for (uint32_t i = 0; i < k; i++) {
		const asset_value *v = &s->claims[i].value;
		if (v->kind == ASSET_KIND_CIDR) {
			memcpy(s->nets[s->n_nets].key, v->addr, 16);
			s->nets[s->n_nets++].claim = i;
		} else if (v->kind == ASSET_KIND_DOMAIN) {
			s->domains[s->n_domains++] = i;
		} else {
			s->asns[s->n_asns++] = i;
		}
	}
	pthread_mutex_lock(&sort_lock);
	sort_claims = s->claims;
	if (s->n_nets)
		qsort(s->nets, s->n_nets, sizeof *s->nets, cmp_net);
	if (s->n_domains)
		qsort(s->domains, s->n_domains, sizeof *s->domains, cmp_domain);
	if (s->n_asns)
		qsort(s->asns, s->n_asns, sizeof *s->asns, cmp_asn);
	sort_claims = NULL;
	pthread_mutex_unlock(&sort_lock);
	for (size_t i = 0; i < s->n_nets; i++) {
		const asset_value *v = &s->claims[s->nets[i].claim].value;
		int f = fam_index(v->family);
		if (s->by_len[f][v->prefix].n++ == 0) {
			s->by_len[f][v->prefix].start = i;
			s->lens[f][s->n_lens[f]++] = (uint8_t)v->prefix;
		}
	}
	*out = s;
	return RK_OK;
oom:
	assets_snapshot_free(s);
	return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
}

typedef struct load_acc {
	asset_claim *v;
	size_t n, cap;
} load_acc;

static rk_err load_one(void *arg, const asset_claim *c)
{
	load_acc *a = arg;
	if (c->state != ASSET_APPROVED)
		return RK_OK;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		asset_claim *v = realloc(a->v, cap * sizeof *v);
		if (!v)
			return RK_ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = *c;
	return RK_OK;
}

rk_err assets_snapshot_load(assets_db *db, assets_snapshot **out, rk_errctx *ctx)
{
	load_acc a = {0};
	uint64_t version = 0;
	rk_err err;

	*out = NULL;
	/* The version first: a change between the two reads leaves the
	 * snapshot newer than its version says, and the next poll reloads. */
	if ((err = assets_db_version(db, &version, ctx)))
		goto out;
	if ((err = assets_list(db, NULL, load_one, &a, ctx))) {
		if (err == RK_ENOMEM)
			rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
		goto out;
	}
	err = assets_snapshot_build(a.v, a.n, 1u << ASSET_APPROVED, version, out, ctx);
out:
	free(a.v);
	return err;
}

void assets_snapshot_free(assets_snapshot *s)
{
	if (!s)
		return;
	free(s->claims);
	free(s->nets);
	free(s->domains);
	free(s->asns);
	free(s);
}

uint64_t assets_snapshot_version(const assets_snapshot *s)
{
	return s ? s->version : 0;
}

const asset_claim *assets_snapshot_claims(const assets_snapshot *s, size_t *n)
{
	*n = s ? s->n_claims : 0;
	return s ? s->claims : NULL;
}

/* Adds a hit unless its organisation is already there; returns the count. */
static size_t add_hit(assets_hit *out, size_t max, size_t n, const asset_claim *c)
{
	for (size_t i = 0; i < n && i < max; i++)
		if (strcmp(out[i].org, c->org) == 0)
			return n;
	/* Past max, organisations are still counted once each: a repeat
	 * beyond the window cannot be seen, so the count is an upper bound
	 * there. */
	if (n < max)
		out[n] = (assets_hit){.org = c->org, .claim = c};
	return n + 1;
}

static void mask_to(const uint8_t *addr, size_t len, unsigned prefix, uint8_t key[16])
{
	unsigned full = prefix / 8, rest = prefix % 8;
	memset(key, 0, 16);
	memcpy(key, addr, full < len ? full : len);
	if (rest && full < len)
		key[full] = (uint8_t)(addr[full] & (0xffu << (8 - rest)));
}

/* First index in nets[lo, lo+n) whose key is not below `key`. */
static size_t lower_net(const snap_net *nets, size_t lo, size_t n, const uint8_t *key)
{
	size_t hi = lo + n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(nets[mid].key, key, 16) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t assets_orgs_for_address(const assets_snapshot *s, const uint8_t *addr, size_t addr_len,
			       assets_hit *out, size_t max)
{
	size_t n = 0;
	uint8_t key[16];
	if (!s || (addr_len != 4 && addr_len != 16))
		return 0;
	int f = addr_len == 4 ? 0 : 1;
	for (size_t li = 0; li < s->n_lens[f]; li++) {
		unsigned p = s->lens[f][li];
		size_t start = s->by_len[f][p].start, cnt = s->by_len[f][p].n;
		mask_to(addr, addr_len, p, key);
		for (size_t i = lower_net(s->nets, start, cnt, key);
		     i < start + cnt && memcmp(s->nets[i].key, key, 16) == 0; i++)
			n = add_hit(out, max, n, &s->claims[s->nets[i].claim]);
	}
	return n;
}

static size_t lower_domain(const assets_snapshot *s, const char *name)
{
	size_t lo = 0, hi = s->n_domains;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(s->claims[s->domains[mid]].value.text, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t assets_orgs_for_domain(const assets_snapshot *s, const char *domain, size_t len,
			      assets_hit *out, size_t max)
{
	char name[ASSETS_VALUE_MAX + 1];
	size_t n = 0;
	if (!s || !s->n_domains)
		return 0;
	/* A single label cannot be claimed but may be a parent-less name:
	 * normalise what we can, lower-cased, final dot dropped. */
	if (!assets_domain_normalise(domain, len, name))
		return 0;
	for (const char *p = name; p;) {
		for (size_t i = lower_domain(s, p);
		     i < s->n_domains && strcmp(s->claims[s->domains[i]].value.text, p) == 0; i++)
			n = add_hit(out, max, n, &s->claims[s->domains[i]]);
		p = strchr(p, '.');
		if (p)
			p++;
		/* A parent with a single label (a TLD) is never claimed. */
		if (p && !strchr(p, '.'))
			break;
	}
	return n;
}

size_t assets_orgs_for_asn(const assets_snapshot *s, uint32_t asn, assets_hit *out, size_t max)
{
	size_t n = 0, lo = 0, hi;
	if (!s)
		return 0;
	hi = s->n_asns;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->claims[s->asns[mid]].value.asn < asn)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < s->n_asns && s->claims[s->asns[i]].value.asn == asn; i++)
		n = add_hit(out, max, n, &s->claims[s->asns[i]]);
	return n;
}

void assets_approved_of_org(const assets_snapshot *s, const char *org, assets_of_org *out)
{
	memset(out, 0, sizeof *out);
	if (!s || !org)
		return;
	size_t lo = 0, hi = s->n_claims;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(s->claims[mid].org, org) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < s->n_claims && strcmp(s->claims[i].org, org) == 0; i++) {
		const asset_claim *c = &s->claims[i];
		switch (c->value.kind) {
		case ASSET_KIND_CIDR:
			if (!out->n_cidrs++)
				out->cidrs = c;
			break;
		case ASSET_KIND_ASN:
			if (!out->n_asns++)
				out->asns = c;
			break;
		case ASSET_KIND_DOMAIN:
			if (!out->n_domains++)
				out->domains = c;
			break;
		}
	}
}

static size_t add_overlap(const asset_claim **out, size_t max, size_t n, const asset_claim *self,
			  const asset_claim *other)
{
	if (other == self || strcmp(other->org, self->org) == 0)
		return n;
	for (size_t i = 0; i < n && i < max; i++)
		if (out[i] == other)
			return n;
	if (n < max)
		out[n] = other;
	return n + 1;
}

/* Is `inner` (a name) equal to or below `outer`? */
static bool domain_within(const char *inner, const char *outer)
{
	size_t li = strlen(inner), lo = strlen(outer);
	if (li < lo || strcmp(inner + li - lo, outer) != 0)
		return false;
	return li == lo || inner[li - lo - 1] == '.';
}

size_t assets_overlaps(const assets_snapshot *s, const asset_claim *claim,
		       const asset_claim **out, size_t max)
{
	size_t n = 0;
	const asset_value *v = &claim->value;
	if (!s)
		return 0;
	if (v->kind == ASSET_KIND_ASN) {
		for (size_t i = 0; i < s->n_asns; i++)
			if (s->claims[s->asns[i]].value.asn == v->asn)
				n = add_overlap(out, max, n, claim, &s->claims[s->asns[i]]);
		return n;
	}
	if (v->kind == ASSET_KIND_DOMAIN) {
		/* Parents by lookup; children are the names that end in
		 * ".<name>": a linear pass, fine for an operator's listing. */
		for (size_t i = 0; i < s->n_domains; i++) {
			const asset_claim *o = &s->claims[s->domains[i]];
			if (domain_within(v->text, o->value.text) ||
			    domain_within(o->value.text, v->text))
				n = add_overlap(out, max, n, claim, o);
		}
		return n;
	}
	/* CIDR blocks either nest or are disjoint: covering blocks by
	 * lookup of the network address at each shorter length, blocks
	 * inside it as the run of longer prefixes between its first and
	 * last address. */
	int f = fam_index(v->family);
	size_t alen = v->family == 4 ? 4 : 16;
	uint8_t key[16];
	for (size_t li = 0; li < s->n_lens[f]; li++) {
		unsigned p = s->lens[f][li];
		size_t start = s->by_len[f][p].start, cnt = s->by_len[f][p].n;
		if (p <= v->prefix) {
			mask_to(v->addr, alen, p, key);
			for (size_t i = lower_net(s->nets, start, cnt, key);
			     i < start + cnt && memcmp(s->nets[i].key, key, 16) == 0; i++)
				n = add_overlap(out, max, n, claim, &s->claims[s->nets[i].claim]);
		} else {
			for (size_t i = lower_net(s->nets, start, cnt, v->addr); i < start + cnt; i++) {
				const asset_claim *o = &s->claims[s->nets[i].claim];
				if (!assets_cidr_covers(v, v->family, o->value.addr))
					break;
				n = add_overlap(out, max, n, claim, o);
			}
		}
	}
	return n;
}
