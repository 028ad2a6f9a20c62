/*
 * match_observe.c: one observable from traffic or a log against every
 * indicator that could name it.
 *
 * Each kind of observable stands for a one-property STIX object (the table
 * below: type and property path). match_observe first probes the hash
 * tables of the kind (exact single-observation indicators are hits; exact
 * atoms of compound patterns are noted), then evaluates the atoms that
 * match_build listed under the kind, with the pattern module's comparison
 * code (pattern_atom_holds), so LIKE, MATCHES, ISSUBSET, !=, ordering and
 * AND/OR inside [...] mean exactly what pattern_match says. Atoms that need
 * a literal are reached through the kind's 4-byte window table (see
 * match_kindeval in match_int.h): each window of the value is probed once,
 * and a per-atom call stamp keeps an atom from being evaluated twice. Atoms
 * without such a literal but with regular expressions are gated by one
 * Hyperscan scan of the value (when built with it; prefilter mode, so a
 * report is a candidate the evaluator confirms). The value given
 * to the evaluator is the text as seen (addresses as dotted or RFC 5952
 * text), never the normal form the hash tables use. A kind with no atoms
 * to evaluate (most of them, in most indicator sets) goes to its table
 * and no further, and a domain is looked up by its one-pass key
 * (match_domain_key), never copied into a normal form. A certificate's
 * fingerprint written with colons ("aa:bb:..", Suricata's form) is read as
 * the hex without them, by the tables and the evaluator alike; digests
 * (the `digests` table) are keyed as bytes, so hex case never matters.
 *
 * Atoms of one compound pattern are gathered in the scratch so that
 * on_atom hears once per pattern with every atom the observable satisfied
 * (one observable is one observation: `[A] AND [B]` needs two). The
 * scratch holds, per compound pattern, the call stamp that says whether its
 * slot in `pend` belongs to this call, so gathering costs O(1) per atom and
 * nothing is cleared between calls.
 *
 * Threads: the matcher is only read; the scratch is the caller's, one per
 * thread. Nothing is allocated per call.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "match_int.h"

static const char *const K_VALUE[] = {"value"};
static const char *const K_MD5[] = {"hashes", "MD5"};
static const char *const K_SHA1[] = {"hashes", "SHA-1"};
static const char *const K_SHA256[] = {"hashes", "SHA-256"};
static const char *const K_SHA512[] = {"hashes", "SHA-512"};
static const char *const K_UA[] = {"extensions", "http-request-ext", "request_header",
				   "User-Agent"};

static const struct {
	const char *name, *path, *type;
	const char *const *keys;
	size_t nkeys;
} kinds[MATCH_OBS_KIND_COUNT] = {
	[MATCH_OBS_IPV4] = {"ipv4", "ipv4-addr:value", "ipv4-addr", K_VALUE, 1},
	[MATCH_OBS_IPV6] = {"ipv6", "ipv6-addr:value", "ipv6-addr", K_VALUE, 1},
	[MATCH_OBS_DOMAIN] = {"domain", "domain-name:value", "domain-name", K_VALUE, 1},
	[MATCH_OBS_URL] = {"url", "url:value", "url", K_VALUE, 1},
	[MATCH_OBS_EMAIL] = {"email", "email-addr:value", "email-addr", K_VALUE, 1},
	[MATCH_OBS_MD5] = {"md5", "file:hashes.MD5", "file", K_MD5, 2},
	[MATCH_OBS_SHA1] = {"sha1", "file:hashes.'SHA-1'", "file", K_SHA1, 2},
	[MATCH_OBS_SHA256] = {"sha256", "file:hashes.'SHA-256'", "file", K_SHA256, 2},
	[MATCH_OBS_SHA512] = {"sha512", "file:hashes.'SHA-512'", "file", K_SHA512, 2},
	[MATCH_OBS_USER_AGENT] = {"user-agent",
				  "network-traffic:extensions.'http-request-ext'"
				  ".request_header.'User-Agent'",
				  "network-traffic", K_UA, 4},
	[MATCH_OBS_X509_SHA1] = {"x509-sha1", "x509-certificate:hashes.'SHA-1'",
				 "x509-certificate", K_SHA1, 2},
	[MATCH_OBS_X509_SHA256] = {"x509-sha256", "x509-certificate:hashes.'SHA-256'",
				   "x509-certificate", K_SHA256, 2},
};

/* The kinds whose value is a digest in hex: its table and size in bytes
 * (0: not a digest). */
static const struct {
	unsigned table;
	unsigned size;
} digests[MATCH_OBS_KIND_COUNT] = {
	[MATCH_OBS_MD5] = {MATCH_T_MD5, 16},
	[MATCH_OBS_SHA1] = {MATCH_T_SHA1, 20},
	[MATCH_OBS_SHA256] = {MATCH_T_SHA256, 32},
	[MATCH_OBS_SHA512] = {MATCH_T_SHA512, 64},
	[MATCH_OBS_X509_SHA1] = {MATCH_T_X509_SHA1, 20},
	[MATCH_OBS_X509_SHA256] = {MATCH_T_X509_SHA256, 32},
};

static bool is_certificate(match_obs_kind k)
{
	return k == MATCH_OBS_X509_SHA1 || k == MATCH_OBS_X509_SHA256;
}

/* A fingerprint written "aa:bb:..:ff" (size bytes, a colon between each
 * two) as plain hex into out (2 * size bytes); false when s is not that. */
static bool fingerprint_plain(const char *s, size_t len, size_t size, char *out)
{
	if (size == 0 || len != 3 * size - 1)
		return false;
	for (size_t i = 0; i < size; i++) {
		if (i && s[3 * i - 1] != ':')
			return false;
		out[2 * i] = s[3 * i];
		out[2 * i + 1] = s[3 * i + 1];
	}
	return true;
}

const char *match_obs_kind_name(match_obs_kind k)
{
	return (unsigned)k < MATCH_OBS_KIND_COUNT ? kinds[k].name : "unknown";
}

const char *match_obs_path(match_obs_kind k)
{
	return (unsigned)k < MATCH_OBS_KIND_COUNT ? kinds[k].path : "";
}

void match_obs_prop(match_obs_kind k, pattern_prop *v)
{
	memset(v, 0, sizeof *v);
	if ((unsigned)k >= MATCH_OBS_KIND_COUNT)
		return;
	v->type = kinds[k].type;
	v->keys = kinds[k].keys;
	v->nkeys = kinds[k].nkeys;
}

/* ---------------------------------------------------------------- scratch */

struct match_scratch {
	const match *m;
	uint32_t call;    /* stamp of the current match_observe call, never 0 */
	uint32_t *stamp;  /* per compound pattern: call its pend slot belongs to */
	uint32_t *slot;   /* per compound pattern: index in pend */
	struct pend {
		uint32_t compound;
		match_atomset atoms;
	} *pend;          /* one per compound pattern at most */
	size_t npend;
	uint32_t *tried;  /* per evaluated atom (match_kindeval.stamp_base + i):
			   * the call that already evaluated it */
#ifdef RK_HAVE_HYPERSCAN
	hs_scratch_t *hs; /* big enough for every kind's database */
#endif
};

match_scratch *match_scratch_new(const match *m)
{
	match_scratch *s = calloc(1, sizeof *s);
	size_t n = m && m->n_compound ? m->n_compound : 1;

	if (!s || !m)
		goto fail;
	s->m = m;
	s->stamp = calloc(n, sizeof *s->stamp);
	s->slot = calloc(n, sizeof *s->slot);
	s->pend = calloc(n, sizeof *s->pend);
	s->tried = calloc(m->n_refs ? m->n_refs : 1, sizeof *s->tried);
	if (!s->stamp || !s->slot || !s->pend || !s->tried)
		goto fail;
#ifdef RK_HAVE_HYPERSCAN
	for (unsigned k = 0; k < MATCH_OBS_KIND_COUNT; k++)
		if (m->kev[k].hs && hs_alloc_scratch(m->kev[k].hs, &s->hs) != HS_SUCCESS)
			goto fail;
#endif
	return s;
fail:
	match_scratch_free(s);
	return NULL;
}

void match_scratch_free(match_scratch *s)
{
	if (!s)
		return;
	free(s->stamp);
	free(s->slot);
	free(s->pend);
	free(s->tried);
#ifdef RK_HAVE_HYPERSCAN
	hs_free_scratch(s->hs);
#endif
	free(s);
}

void match_scratch_note(match_scratch *s, uint32_t compound, uint32_t atom)
{
	struct pend *p;

	if (s->stamp[compound] != s->call) {
		s->stamp[compound] = s->call;
		s->slot[compound] = (uint32_t)s->npend;
		p = &s->pend[s->npend++];
		p->compound = compound;
		memset(&p->atoms, 0, sizeof p->atoms);
	} else {
		p = &s->pend[s->slot[compound]];
	}
	p->atoms.bits[atom / 64] |= 1ull << (atom % 64);
}

static void next_call(match_scratch *s)
{
	s->npend = 0;
	if (++s->call == 0) { /* stamps wrapped: forget them all */
		memset(s->stamp, 0, (s->m->n_compound ? s->m->n_compound : 1) * sizeof *s->stamp);
		memset(s->tried, 0, (s->m->n_refs ? s->m->n_refs : 1) * sizeof *s->tried);
		s->call = 1;
	}
}

/* ---------------------------------------------------------------- observe */

/* The address as binary (for the tables) and as text (for the evaluator).
 * false when given text does not parse: then only the evaluator sees it.
 * An address given in binary is formatted only when the kind has atoms to
 * evaluate (need_text); else *val stays NULL: the sensor hands every
 * packet's two addresses this way, and formatting them was a quarter of
 * its time over a capture. */
static bool address(const match_obs *o, bool need_text, char *text, size_t cap, uint8_t bin[16],
		    const char **val, size_t *len)
{
	int af = o->kind == MATCH_OBS_IPV4 ? AF_INET : AF_INET6;

	if (o->value) {
		*val = o->value;
		*len = o->len;
		if (o->len >= cap)
			return false;
		memcpy(text, o->value, o->len);
		text[o->len] = 0;
		return inet_pton(af, text, bin) == 1;
	}
	if (af == AF_INET) {
		uint32_t be = htonl(o->ipv4);
		memcpy(bin, &be, 4);
	} else {
		memcpy(bin, o->ipv6, 16);
	}
	if (!need_text)
		return true;
	if (!inet_ntop(af, bin, text, (socklen_t)cap))
		return false;
	*val = text;
	*len = strlen(text);
	return true;
}

static size_t lookup_exact(const match *m, const match_obs *o, const uint8_t *bin, bool have_bin,
			   const match_sink *k)
{
	char buf[MATCH_MAX_VALUE];
	size_t n;

	/* The kinds of nearly every observable of a log or capture first, by
	 * plain tests: the switch's one indirect jump, taken for addresses
	 * and names in turn, was mispredicted about every other time. */
	if (o->kind == MATCH_OBS_DOMAIN) {
		match_key key;
		return match_domain_key(o->value, o->len, &key)
			       ? match_lookup_domain_key(m, o->value, &key, k)
			       : 0;
	}
	if (o->kind == MATCH_OBS_IPV4) {
		if (!have_bin)
			return 0;
		return match_lookup_ipv4(m, (uint32_t)bin[0] << 24 | (uint32_t)bin[1] << 16 |
					     (uint32_t)bin[2] << 8 | bin[3], k);
	}
	switch (o->kind) {
	case MATCH_OBS_IPV6:
		return have_bin ? match_lookup_ipv6(m, bin, k) : 0;
	case MATCH_OBS_URL:
		n = match_norm_url(o->value, o->len, buf);
		return n ? match_lookup_bytes(m, MATCH_T_URL, buf, n, k) : 0;
	case MATCH_OBS_EMAIL:
		n = match_norm_email(o->value, o->len, buf);
		return n ? match_lookup_bytes(m, MATCH_T_EMAIL, buf, n, k) : 0;
	case MATCH_OBS_MD5:
	case MATCH_OBS_SHA1:
	case MATCH_OBS_SHA256:
	case MATCH_OBS_SHA512:
	case MATCH_OBS_X509_SHA1:
	case MATCH_OBS_X509_SHA256: {
		size_t size = digests[o->kind].size;
		uint8_t bytes[64];
		if (o->len != 2 * size || !match_unhex(o->value, size, bytes))
			return 0;
		return match_lookup_bytes(m, digests[o->kind].table, bytes, size, k);
	}
	case MATCH_OBS_IPV4: /* above */
	case MATCH_OBS_DOMAIN:
	case MATCH_OBS_USER_AGENT:
	case MATCH_OBS_KIND_COUNT:
		break;
	}
	return 0;
}

/* Evaluates atom r of a kind once per call: a hit, or an atom noted. */
static size_t try_atom(match_scratch *s, const match_kindeval *ke, uint32_t r,
		       const pattern_prop *v, match_hit_fn on_hit, void *arg)
{
	const match_evref *ref = &ke->ref[r];
	uint32_t *tried = &s->tried[ke->stamp_base + r];

	if (*tried == s->call)
		return 0;
	*tried = s->call;
	if (!pattern_atom_holds(ref->a, v))
		return 0;
	if (ref->compound != MATCH_NOT_COMPOUND) {
		match_scratch_note(s, ref->compound, ref->atom);
		return 0;
	}
	if (on_hit)
		on_hit(arg, ref->handle);
	return 1;
}

#ifdef RK_HAVE_HYPERSCAN
/* RFC 3629 UTF-8 (no overlong forms, no surrogates, at most U+10FFFF):
 * what Hyperscan's UTF-8 mode requires of its input. */
static bool utf8_valid(const char *str, size_t n)
{
	const unsigned char *p = (const unsigned char *)str;
	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		size_t len;
		unsigned lo = 0x80, hi = 0xBF;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			len = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			len = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			len = 4;
		else
			return false;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
		else if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
		if (i + len > n || p[i + 1] < lo || p[i + 1] > hi)
			return false;
		for (size_t j = 2; j < len; j++)
			if (p[i + j] < 0x80 || p[i + j] > 0xBF)
				return false;
		i += len;
	}
	return true;
}

#endif

typedef struct {
	match_scratch *s;
	const match_kindeval *ke;
	const pattern_prop *v;
	match_hit_fn on_hit;
	void *arg;
	size_t hits;
} gate_ctx;

#ifdef RK_HAVE_HYPERSCAN
static int on_gate(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
		   void *arg)
{
	gate_ctx *g = arg;
	(void)from;
	(void)to;
	(void)flags;
	g->hits += try_atom(g->s, g->ke, g->ke->gated[id], g->v, g->on_hit, g->arg);
	return 0;
}
#endif

/* The gated atoms whose expressions Hyperscan finds in the value; all of
 * them when it cannot scan this value (not UTF-8, too long, an error). */
static size_t try_gated(gate_ctx *g)
{
#ifdef RK_HAVE_HYPERSCAN
	if (g->ke->hs && g->v->len <= UINT32_MAX && utf8_valid(g->v->value, g->v->len) &&
	    hs_scan(g->ke->hs, g->v->value, (unsigned)g->v->len, 0, g->s->hs, on_gate, g) ==
		    HS_SUCCESS)
		return g->hits;
#endif
	for (size_t i = 0; i < g->ke->n_gated; i++)
		g->hits += try_atom(g->s, g->ke, g->ke->gated[i], g->v, g->on_hit, g->arg);
	return g->hits;
}

size_t match_observe(const match *m, match_scratch *s, const match_obs *o, match_hit_fn on_hit,
		     match_atom_fn on_atom, void *arg)
{
	char text[INET6_ADDRSTRLEN + 8];
	uint8_t bin[16] = {0};
	bool have_bin = false;
	pattern_prop v;
	size_t hits;

	if (!m || !s || !o || s->m != m || (unsigned)o->kind >= MATCH_OBS_KIND_COUNT)
		return 0;
	/* a certificate's fingerprint in colon form: the same hex without */
	char plain[2 * 32];
	match_obs unc;
	if (is_certificate(o->kind) && o->value &&
	    fingerprint_plain(o->value, o->len, digests[o->kind].size, plain)) {
		unc = *o;
		unc.value = plain;
		unc.len = 2 * digests[o->kind].size;
		o = &unc;
	}
	const match_kindeval *ke = &m->kev[o->kind];
	if (ke->n == 0 && o->value && o->kind != MATCH_OBS_IPV4 && o->kind != MATCH_OBS_IPV6) {
		/* nothing to evaluate for this kind (the usual case): the tables
		 * alone, without the evaluator's view of the value */
		next_call(s);
		match_sink k = { on_hit, arg, s };
		hits = lookup_exact(m, o, bin, false, &k);
		for (size_t i = 0; i < s->npend && on_atom; i++)
			on_atom(arg, m->compound[s->pend[i].compound].handle, &s->pend[i].atoms);
		return hits;
	}
	match_obs_prop(o->kind, &v);
	if (o->kind == MATCH_OBS_IPV4 || o->kind == MATCH_OBS_IPV6) {
		bool need_text = ke->n_always || ke->n_gated || ke->gram_cap;
		have_bin = address(o, need_text, text, sizeof text, bin, &v.value, &v.len);
	} else {
		if (!o->value)
			return 0;
		v.value = o->value;
		v.len = o->len;
	}
	next_call(s);
	match_sink k = { on_hit, arg, s };
	hits = lookup_exact(m, o, bin, have_bin, &k);

	if (v.value) {
		for (size_t i = 0; i < ke->n_always; i++)
			hits += try_atom(s, ke, ke->always[i], &v, on_hit, arg);
		if (ke->n_gated) {
			gate_ctx g = { s, ke, &v, on_hit, arg, 0 };
			hits += try_gated(&g);
		}
		for (size_t p = 0; ke->gram_cap && p + MATCH_GRAM <= v.len; p++) {
			uint32_t g;
			memcpy(&g, v.value + p, MATCH_GRAM);
			uint32_t slot = match_hash_u32(g) & (ke->gram_cap - 1);
			while (ke->gram[slot].count && ke->gram[slot].gram != g)
				slot = (slot + 1) & (ke->gram_cap - 1);
			const match_gram *gr = &ke->gram[slot];
			for (uint32_t j = 0; j < gr->count; j++)
				hits += try_atom(s, ke, ke->gram_refs[gr->start + j], &v, on_hit, arg);
		}
	}
	for (size_t i = 0; i < s->npend && on_atom; i++)
		on_atom(arg, m->compound[s->pend[i].compound].handle, &s->pend[i].atoms);
	return hits;
}

bool match_observes(const match *m, match_obs_kind k)
{
	if ((unsigned)k >= MATCH_OBS_KIND_COUNT)
		return false;
	if (m->kev[k].n > 0)
		return true; /* atoms evaluated for the kind */
	switch (k) {
	case MATCH_OBS_IPV4:
		return m->n_v4_lens > 0;
	case MATCH_OBS_IPV6:
		return m->n_v6_lens > 0;
	case MATCH_OBS_DOMAIN:
		return m->bt[MATCH_T_DOMAIN].n > 0;
	case MATCH_OBS_URL:
		return m->bt[MATCH_T_URL].n > 0;
	case MATCH_OBS_EMAIL:
		return m->bt[MATCH_T_EMAIL].n > 0;
	default:
		return digests[k].size && m->bt[digests[k].table].n > 0;
	}
}
