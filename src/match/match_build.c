/*
 * match_build.c: from indicators to the immutable matcher.
 *
 * match_builder_add compiles each pattern once (the common one-value shape
 * is read straight from the text, match_quick.c). When pattern_exact_values
 * accepts it, every value it names is turned into a key (address masked to
 * its prefix, domain/e-mail/URL normal form, hash bytes) and recorded as
 * (table, key, handle); key bytes go straight into the arena that the
 * matcher will own, so they are never copied. Otherwise the compiled
 * pattern is kept for the evaluator. A compound pattern (several atoms, or
 * a qualifier) is kept too, and each of its atoms that
 * pattern_atom_exact_values accepts has its values recorded under an atom
 * reference (MATCH_ATOMREF | index) instead of a handle. At build, every
 * atom left to evaluate is listed under each kind of observable whose path
 * it names (pattern_atom_mentions), so an observable only tries the atoms
 * that could hold for it. match_build then sizes every table once from
 * the record counts (at most 80% full; the grouped layout of match_int.h
 * keeps a lookup of a missing value to about one cache line) and inserts
 * the records; a key seen again links the new handle into a chain. Records are in handle order, so a value
 * named twice by one indicator is recorded once in its chain. Nothing is
 * resized after build, and lookups only read.
 *
 * Memory: the build's peak, not the matcher, is what limits how many
 * indicators fit, so the records are small and short-lived. They are two
 * byte streams in order of addition, IPv4 and byte keys, each record the
 * table (one byte), what it carries as a varint (the difference from the
 * stream's previous handle, or previous atom reference, mostly 0 or 1: one
 * byte) and, for IPv4, the masked address (four bytes). A byte key's arena
 * offset is not stored: byte records and arena keys are in the same order,
 * so the build walks both together. The IPv4 tables are filled and their
 * stream freed before the byte tables are allocated, so at the peak the
 * builder holds only the byte stream (about two bytes a key) beside the
 * arena and the finished tables.
 *
 * Indicator ids are not kept: a handle is all the matcher reports, and the
 * id given to match_builder_add only names the indicator in that call's
 * reject reports.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match_int.h"

/* Records of one kind (see the top), and the bases their differences are
 * taken from. */
typedef struct {
	rk_buf buf;
	uint32_t prev_handle, prev_atomref;
} rec_stream;

/* Reads a rec_stream back, in order. */
typedef struct {
	const uint8_t *p, *end;
	uint32_t prev_handle, prev_atomref;
} rec_reader;

/* Counts per table: 0..32 the IPv4 prefix lengths, 33 + a byte table. */
#define MATCH_NTABS (33 + MATCH_T_COUNT)

struct match_builder {
	rk_time now;
	match_reject_fn on_reject;
	void *arg;
	rk_buf arena;
	size_t n_handles;
	rec_stream v4recs, brecs;
	size_t counts[MATCH_NTABS];
	struct match_eval *eval;
	size_t n_eval, cap_eval;
	struct match_atomref *atomref;
	size_t n_atomref, cap_atomref;
	size_t n_compound;
	match_stats st;
	/* while one pattern's values are reported: what records carry (the
	 * handle or an atom reference), and the indicator for reports */
	uint32_t cur, cur_handle;
	const char *cur_id;
	bool oom;
};

uint64_t match_hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0x9E3779B97F4A7C15ull ^ len, w;
	while (len >= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
		s += 8;
		len -= 8;
	}
	w = 0;
	memcpy(&w, s, len);
	h = (h ^ w) * 0x94d049bb133111ebull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return h;
}

uint32_t match_hash_u32(uint32_t k)
{
	uint64_t h = (uint64_t)k * 0x9E3779B97F4A7C15ull;
	return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

const char *match_key_at(const char *arena, uint32_t off, size_t *len)
{
	const unsigned char *p = (const unsigned char *)arena + off;
	if (p[0] != 0xFF) {
		*len = p[0];
		return (const char *)p + 1;
	}
	uint32_t l;
	memcpy(&l, p + 1, 4);
	*len = l;
	return (const char *)p + 5;
}

bool match_unhex(const char *hex, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = rk_hex_value(hex[2 * i]), lo = rk_hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi * 16 + lo);
	}
	return true;
}

match_builder *match_builder_new(rk_time now, match_reject_fn on_reject, void *arg)
{
	match_builder *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->now = now;
	b->on_reject = on_reject;
	b->arg = arg;
	rk_buf_init(&b->arena);
	rk_buf_init(&b->v4recs.buf);
	rk_buf_init(&b->brecs.buf);
	return b;
}

void match_builder_free(match_builder *b)
{
	if (!b)
		return;
	rk_buf_cleanup(&b->arena);
	rk_buf_cleanup(&b->v4recs.buf);
	rk_buf_cleanup(&b->brecs.buf);
	for (size_t i = 0; i < b->n_eval; i++)
		pattern_free(b->eval[i].p);
	free(b->eval);
	free(b->atomref);
	free(b);
}

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap * 2 : 64;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * size);
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

static void reject(match_builder *b, uint32_t handle, const char *id, const char *reason)
{
	if (b->on_reject)
		b->on_reject(b->arg, handle, id, reason);
}

/* Appends a record of table tab (0..32 for IPv4, 33 + a byte table)
 * carrying b->cur; an IPv4 record is followed by its masked address. */
static void add_rec(match_builder *b, unsigned tab, uint32_t v4key)
{
	rec_stream *s = tab < 33 ? &b->v4recs : &b->brecs;
	uint8_t r[1 + 5 + 4];
	size_t n = 0;
	uint32_t delta;
	bool atom = b->cur & MATCH_ATOMREF;
	if (atom) {
		delta = (b->cur & ~MATCH_ATOMREF) - s->prev_atomref;
		s->prev_atomref = b->cur & ~MATCH_ATOMREF;
	} else {
		delta = b->cur - s->prev_handle;
		s->prev_handle = b->cur;
	}
	/* handles and atom references stay below 2^30: the shift fits */
	uint32_t v = delta << 1 | (uint32_t)atom;
	r[n++] = (uint8_t)(tab < 33 ? tab : tab - 33);
	do {
		r[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	if (tab < 33) {
		memcpy(r + n, &v4key, 4);
		n += 4;
	}
	if (rk_buf_append(&s->buf, r, n)) {
		b->oom = true;
		return;
	}
	b->counts[tab]++;
}

static void rec_reader_init(rec_reader *r, const rec_stream *s)
{
	r->p = (const uint8_t *)s->buf.data;
	r->end = r->p + s->buf.len;
	r->prev_handle = r->prev_atomref = 0;
}

/* The next record: its table byte and what it carries; for IPv4 the
 * address follows at r->p (next_v4key). false at the end. */
static bool next_rec(rec_reader *r, unsigned *tab, uint32_t *cur)
{
	uint32_t v = 0;
	unsigned shift = 0;
	uint8_t c;
	if (r->p >= r->end)
		return false;
	*tab = *r->p++;
	do {
		c = *r->p++;
		v |= (uint32_t)(c & 0x7f) << shift;
		shift += 7;
	} while (c & 0x80);
	if (v & 1) {
		r->prev_atomref += v >> 1;
		*cur = MATCH_ATOMREF | r->prev_atomref;
	} else {
		r->prev_handle += v >> 1;
		*cur = r->prev_handle;
	}
	return true;
}

static uint32_t next_v4key(rec_reader *r)
{
	uint32_t k;
	memcpy(&k, r->p, 4);
	r->p += 4;
	return k;
}

/* Appends a key to the arena and records it (the record does not hold the
 * key's offset: byte records and arena keys are in the same order). */
static void add_key(match_builder *b, unsigned tab, const void *key, size_t len)
{
	unsigned char hdr[5];
	size_t hl = 1;
	if (b->arena.len + len + 5 >= UINT32_MAX) {
		b->oom = true;
		return;
	}
	if (len < 0xFF) {
		hdr[0] = (unsigned char)len;
	} else {
		uint32_t l = (uint32_t)len;
		hdr[0] = 0xFF;
		memcpy(hdr + 1, &l, 4);
		hl = 5;
	}
	if (rk_buf_append(&b->arena, hdr, hl) || rk_buf_append(&b->arena, key, len)) {
		b->oom = true;
		return;
	}
	add_rec(b, tab, 0);
}

static void bad_value(match_builder *b, const char *what, const char *v, size_t len)
{
	char reason[160];
	snprintf(reason, sizeof reason, "%s '%.*s' cannot be a key", what, (int)(len > 64 ? 64 : len),
		 v);
	b->st.bad_values++;
	reject(b, b->cur_handle, b->cur_id, reason);
}

/* "addr" or "addr/prefix" into the address bytes and the prefix length. */
static bool parse_cidr(int af, const char *v, size_t len, uint8_t *addr, unsigned *prefix)
{
	char buf[64];
	unsigned max = af == AF_INET ? 32 : 128;
	const char *slash = memchr(v, '/', len);
	size_t alen = slash ? (size_t)(slash - v) : len;
	if (alen >= sizeof buf)
		return false;
	memcpy(buf, v, alen);
	buf[alen] = '\0';
	if (inet_pton(af, buf, addr) != 1)
		return false;
	*prefix = max;
	if (slash) {
		size_t n = len - alen - 1;
		unsigned p = 0;
		if (n == 0 || n > 3)
			return false;
		for (size_t i = 0; i < n; i++) {
			if (slash[1 + i] < '0' || slash[1 + i] > '9')
				return false;
			p = p * 10 + (unsigned)(slash[1 + i] - '0');
		}
		if (p > max)
			return false;
		*prefix = p;
	}
	return true;
}

static void on_value(void *arg, pattern_vkind kind, const char *v, size_t len)
{
	match_builder *b = arg;
	char norm[MATCH_MAX_VALUE];
	uint8_t bytes[64];
	unsigned prefix;
	size_t n;

	if (b->oom)
		return;
	switch (kind) {
	case PATTERN_V_IPV4:
		if (!parse_cidr(AF_INET, v, len, bytes, &prefix)) {
			bad_value(b, "ipv4-addr", v, len);
			return;
		} else {
			uint32_t a = ((uint32_t)bytes[0] << 24) | ((uint32_t)bytes[1] << 16) |
				     ((uint32_t)bytes[2] << 8) | bytes[3];
			uint32_t mask = prefix ? ~0u << (32 - prefix) : 0;
			add_rec(b, prefix, a & mask);
		}
		return;
	case PATTERN_V_IPV6:
		if (!parse_cidr(AF_INET6, v, len, bytes, &prefix)) {
			bad_value(b, "ipv6-addr", v, len);
			return;
		}
		for (unsigned i = 0; i < 16; i++) {
			unsigned keep = prefix > i * 8 ? prefix - i * 8 : 0;
			if (keep < 8)
				bytes[i] &= (uint8_t)(0xFF00u >> keep);
		}
		add_key(b, 33 + MATCH_T_V6 + prefix, bytes, 16);
		return;
	case PATTERN_V_DOMAIN:
		if (!(n = match_norm_domain(v, len, norm)))
			bad_value(b, "domain-name", v, len);
		else
			add_key(b, 33 + MATCH_T_DOMAIN, norm, n);
		return;
	case PATTERN_V_EMAIL:
		if (!(n = match_norm_email(v, len, norm)))
			bad_value(b, "email-addr", v, len);
		else
			add_key(b, 33 + MATCH_T_EMAIL, norm, n);
		return;
	case PATTERN_V_URL:
		if (!(n = match_norm_url(v, len, norm)))
			bad_value(b, "url", v, len);
		else
			add_key(b, 33 + MATCH_T_URL, norm, n);
		return;
	case PATTERN_V_MD5:
	case PATTERN_V_SHA1:
	case PATTERN_V_SHA256:
	case PATTERN_V_SHA512: {
		static const size_t sizes[] = {16, 20, 32, 64};
		size_t k = (size_t)(kind - PATTERN_V_MD5);
		if (len != 2 * sizes[k] || !match_unhex(v, sizes[k], bytes))
			bad_value(b, "file hash", v, len);
		else
			add_key(b, 33 + MATCH_T_MD5 + (unsigned)k, bytes, sizes[k]);
		return;
	}
	case PATTERN_V_X509_SHA1:
	case PATTERN_V_X509_SHA256: {
		size_t size = kind == PATTERN_V_X509_SHA1 ? 20 : 32;
		if (len != 2 * size || !match_unhex(v, size, bytes))
			bad_value(b, "certificate hash", v, len);
		else
			add_key(b, 33 + (kind == PATTERN_V_X509_SHA1 ? MATCH_T_X509_SHA1
								      : MATCH_T_X509_SHA256),
				bytes, size);
		return;
	}
	}
}

/* Keeps a compiled pattern for evaluation; takes p (freed on failure). */
static rk_err keep_eval(match_builder *b, pattern *p, uint32_t h, uint32_t compound,
			const match_atomset *exact, rk_errctx *ctx)
{
	if (!grow((void **)&b->eval, &b->cap_eval, b->n_eval + 1, sizeof *b->eval)) {
		pattern_free(p);
		return rk_fail(ctx, RK_ENOMEM, "", "out of memory");
	}
	struct match_eval *e = &b->eval[b->n_eval++];
	memset(e, 0, sizeof *e);
	e->p = p;
	e->handle = h;
	e->compound = compound;
	if (exact)
		e->exact = *exact;
	b->st.needs_eval++;
	if (compound == MATCH_NOT_COMPOUND)
		b->st.evaluated++;
	else
		b->st.compound++;
	return RK_OK;
}

/* A compound pattern: its exact atoms' values into the records under atom
 * references, the pattern itself kept for the correlator. */
static rk_err add_compound(match_builder *b, pattern *p, uint32_t h, rk_errctx *ctx)
{
	match_atomset exact;
	uint32_t compound = (uint32_t)b->n_compound;
	size_t natoms = pattern_observation_count(p);

	memset(&exact, 0, sizeof exact);
	for (size_t i = 0; i < natoms; i++) {
		if (b->n_atomref >= MATCH_ATOMREF - 1 ||
		    !grow((void **)&b->atomref, &b->cap_atomref, b->n_atomref + 1,
			  sizeof *b->atomref)) {
			pattern_free(p);
			return rk_fail(ctx, RK_ENOMEM, "", "out of memory");
		}
		b->cur = MATCH_ATOMREF | (uint32_t)b->n_atomref;
		if (pattern_atom_exact_values(pattern_atom_at(p, i), on_value, b)) {
			b->atomref[b->n_atomref++] = (struct match_atomref){compound, (uint32_t)i};
			exact.bits[i / 64] |= 1ull << (i % 64);
			b->st.atoms_exact++;
		} else {
			b->st.atoms_eval++;
		}
		if (b->oom) {
			pattern_free(p);
			return rk_fail(ctx, RK_ENOMEM, "", "out of memory");
		}
	}
	b->n_compound++;
	return keep_eval(b, p, h, compound, &exact, ctx);
}

rk_err match_builder_add(match_builder *b, const char *indicator_id, const char *pattern_text,
			 rk_time valid_from, rk_time valid_until, bool revoked, rk_errctx *ctx)
{
	(void)valid_from; /* kept: see match.h */
	if (!b || !indicator_id || !pattern_text)
		return rk_fail(ctx, RK_EINVAL, "", "indicator id and pattern are required");
	if (b->n_handles >= MATCH_ATOMREF - 1)
		return rk_fail(ctx, RK_EINVAL, "", "too many indicators");
	uint32_t h = (uint32_t)b->n_handles++;
	b->st.added++;
	if (revoked) {
		b->st.revoked++;
		return RK_OK;
	}
	if (valid_until != 0 && valid_until <= b->now) {
		b->st.expired++;
		return RK_OK;
	}
	b->cur = b->cur_handle = h;
	b->cur_id = indicator_id;
	size_t len = strlen(pattern_text), vlen;
	pattern_vkind kind;
	const char *v;
	if (match_quick_exact(pattern_text, len, &kind, &v, &vlen)) {
		on_value(b, kind, v, vlen); /* what pattern_exact_values would report */
		if (b->oom)
			return rk_fail(ctx, RK_ENOMEM, "", "out of memory");
		b->st.exact++;
		return RK_OK;
	}
	pattern *p = NULL;
	rk_errctx pctx;
	rk_errctx_clear(&pctx);
	rk_err e = pattern_compile(pattern_text, len, &p, &pctx);
	if (e == RK_ENOMEM)
		return rk_fail(ctx, RK_ENOMEM, "", "out of memory");
	if (e) {
		b->st.rejected++;
		reject(b, h, indicator_id, pctx.msg[0] ? pctx.msg : rk_strerror(e));
		return RK_OK;
	}
	if (pattern_is_single(p)) {
		if (pattern_exact_values(p, on_value, b)) {
			pattern_free(p);
			if (b->oom)
				return rk_fail(ctx, RK_ENOMEM, "", "out of memory");
			b->st.exact++;
			return RK_OK;
		}
		return keep_eval(b, p, h, MATCH_NOT_COMPOUND, NULL, ctx);
	}
	return add_compound(b, p, h, ctx);
}

/* ---------------------------------------------------------------- build */

/* Literals of one atom for one kind, gathered at build. */
typedef struct {
	const char *s;
	size_t len;
	uint32_t ref;
} lit;

typedef struct {
	lit *v;
	size_t n, cap;
	uint32_t ref;
	bool oom;
} lits;

static void on_literal(void *arg, const char *s, size_t len)
{
	lits *l = arg;
	if (!grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v)) {
		l->oom = true;
		return;
	}
	l->v[l->n++] = (lit){s, len, l->ref};
}

static uint32_t gram_at(const char *s)
{
	uint32_t g;
	memcpy(&g, s, MATCH_GRAM);
	return g;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_pair(const void *a, const void *b)
{
	const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* How many literal windows equal g (all sorted in `all`). */
static size_t gram_count(const uint32_t *all, size_t n, uint32_t g)
{
	size_t lo = 0, hi = n, first;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (all[mid] < g)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	while (lo < n && all[lo] == g)
		lo++;
	return lo - first;
}

/*
 * The prefilter of one kind (see match_kindeval): each atom's literals, or
 * `always`; then for each literal the window the fewest literals share, as
 * (gram, ref) pairs sorted and grouped into the gram table.
 */
static rk_err index_kind(match_kindeval *k, const pattern_prop *v)
{
	lits l = {0};
	uint32_t *all = NULL;
	uint64_t *pairs = NULL;
	size_t n_all = 0, n_pairs = 0, n_uniq = 0;
	rk_err e = RK_ENOMEM;

	if (!k->n)
		return RK_OK;
	if (!(k->always = malloc(k->n * sizeof *k->always)))
		goto out;
	for (uint32_t r = 0; r < k->n; r++) {
		size_t before = l.n;
		bool ok = true;
		l.ref = r;
		if (pattern_atom_literals(k->ref[r].a, v, on_literal, &l) != PATTERN_LIT_SOME)
			ok = false;
		if (l.oom)
			goto out;
		for (size_t i = before; i < l.n && ok; i++)
			ok = l.v[i].len >= MATCH_GRAM;
		if (!ok) {
			l.n = before;
			k->always[k->n_always++] = r;
		}
	}
	for (size_t i = 0; i < l.n; i++)
		n_all += l.v[i].len - MATCH_GRAM + 1;
	if (!l.n) {
		e = RK_OK;
		goto out;
	}
	if (!(all = malloc(n_all * sizeof *all)) || !(pairs = malloc(l.n * sizeof *pairs)))
		goto out;
	n_all = 0;
	for (size_t i = 0; i < l.n; i++)
		for (size_t w = 0; w + MATCH_GRAM <= l.v[i].len; w++)
			all[n_all++] = gram_at(l.v[i].s + w);
	qsort(all, n_all, sizeof *all, cmp_u32);
	for (size_t i = 0; i < l.n; i++) {
		uint32_t best = gram_at(l.v[i].s);
		size_t best_n = SIZE_MAX;
		for (size_t w = 0; w + MATCH_GRAM <= l.v[i].len; w++) {
			uint32_t g = gram_at(l.v[i].s + w);
			size_t c = gram_count(all, n_all, g);
			if (c < best_n) {
				best_n = c;
				best = g;
			}
		}
		pairs[n_pairs++] = (uint64_t)best << 32 | l.v[i].ref;
	}
	qsort(pairs, n_pairs, sizeof *pairs, cmp_pair);
	if (!(k->gram_refs = malloc(n_pairs * sizeof *k->gram_refs)))
		goto out;
	for (size_t i = 0; i < n_pairs; i++) {
		if (i && pairs[i] == pairs[i - 1])
			continue; /* an atom needing the same window twice */
		if (!i || pairs[i] >> 32 != pairs[i - 1] >> 32)
			n_uniq++;
	}
	k->gram_cap = 1;
	while (k->gram_cap < 2 * n_uniq)
		k->gram_cap *= 2;
	if (!(k->gram = calloc(k->gram_cap, sizeof *k->gram)))
		goto out;
	for (size_t i = 0; i < n_pairs; i++) {
		uint32_t g = (uint32_t)(pairs[i] >> 32), ref = (uint32_t)pairs[i];
		if (i && pairs[i] == pairs[i - 1])
			continue;
		uint32_t s = match_hash_u32(g) & (k->gram_cap - 1);
		while (k->gram[s].count && k->gram[s].gram != g)
			s = (s + 1) & (k->gram_cap - 1);
		if (!k->gram[s].count)
			k->gram[s] = (match_gram){g, (uint32_t)k->n_gram_refs, 0};
		k->gram[s].count++;
		k->gram_refs[k->n_gram_refs++] = ref;
	}
	e = RK_OK;
out:
	free(l.v);
	free(all);
	free(pairs);
	return e;
}

#ifdef RK_HAVE_HYPERSCAN
/* Expressions of the atoms in `always`, for the Hyperscan database. */
typedef struct {
	char **re;
	unsigned *flags, *ids;
	size_t n, cap;
	uint32_t id; /* index in gated of the atom being read */
	bool oom;
} hs_exprs;

static void on_regex(void *arg, const char *re, unsigned flags)
{
	hs_exprs *x = arg;
	char *copy;
	if (x->oom)
		return;
	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 64;
		char **r = realloc(x->re, cap * sizeof *r);
		if (r)
			x->re = r;
		unsigned *f = realloc(x->flags, cap * sizeof *f);
		if (f)
			x->flags = f;
		unsigned *i = realloc(x->ids, cap * sizeof *i);
		if (i)
			x->ids = i;
		if (!r || !f || !i) {
			x->oom = true;
			return;
		}
		x->cap = cap;
	}
	if (!(copy = strdup(re))) {
		x->oom = true;
		return;
	}
	x->re[x->n] = copy;
	/* PREFILTER: constructs Hyperscan lacks (back-references, look-around)
	 * are widened, so a hit is only a candidate, confirmed by the
	 * evaluator; ALLOWEMPTY: an expression that matches the empty string
	 * matches every value (its atom is tried always, as it must be). */
	x->flags[x->n] = HS_FLAG_UTF8 | HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH |
			 HS_FLAG_ALLOWEMPTY | (flags & PATTERN_RE_DOTALL ? HS_FLAG_DOTALL : 0u);
	x->ids[x->n++] = x->id;
}

/* Drops the expressions of gated atom `id` (Hyperscan refused one of them)
 * and moves the atom back to `always`; ids above it shift down. */
static void ungate(match_kindeval *k, hs_exprs *x, unsigned id)
{
	size_t w = 0;
	for (size_t i = 0; i < x->n; i++) {
		if (x->ids[i] == id) {
			free(x->re[i]);
			continue;
		}
		x->re[w] = x->re[i];
		x->flags[w] = x->flags[i];
		x->ids[w++] = x->ids[i] > id ? x->ids[i] - 1 : x->ids[i];
	}
	x->n = w;
	k->always[k->n_always++] = k->gated[id];
	memmove(&k->gated[id], &k->gated[id + 1], (k->n_gated - id - 1) * sizeof *k->gated);
	k->n_gated--;
}
#endif

/*
 * With Hyperscan: moves the atoms of `always` that have expressions
 * (pattern_atom_regexes) to `gated` and compiles their expressions into one
 * database. An expression Hyperscan refuses sends its atom back to
 * `always` and the rest are compiled again. Without Hyperscan: nothing.
 */
static rk_err gate_regexes(match_kindeval *k, const pattern_prop *v)
{
#ifdef RK_HAVE_HYPERSCAN
	hs_exprs x = {0};
	rk_err e = RK_ENOMEM;
	size_t keep = 0;

	if (!k->n_always)
		return RK_OK;
	if (!(k->gated = malloc(k->n_always * sizeof *k->gated)))
		return RK_ENOMEM;
	for (size_t i = 0; i < k->n_always; i++) {
		size_t before = x.n;
		uint32_t r = k->always[i];
		x.id = (uint32_t)k->n_gated;
		if (pattern_atom_regexes(k->ref[r].a, v, on_regex, &x) == PATTERN_LIT_SOME &&
		    !x.oom && x.n > before) {
			k->gated[k->n_gated++] = r;
			continue;
		}
		for (size_t j = before; j < x.n; j++)
			free(x.re[j]);
		x.n = before;
		if (x.oom)
			goto out;
		k->always[keep++] = r;
	}
	k->n_always = keep;
	while (x.n) {
		hs_compile_error_t *err = NULL;
		if (hs_compile_multi((const char *const *)x.re, x.flags, x.ids, (unsigned)x.n,
				     HS_MODE_BLOCK, NULL, &k->hs, &err) == HS_SUCCESS)
			break;
		int bad = err ? err->expression : -1;
		hs_free_compile_error(err);
		k->hs = NULL;
		if (bad < 0) { /* not one expression's fault: give up the gate */
			while (k->n_gated)
				ungate(k, &x, (unsigned)k->n_gated - 1);
			break;
		}
		ungate(k, &x, x.ids[bad]);
	}
	e = RK_OK;
out:
	for (size_t i = 0; i < x.n; i++)
		free(x.re[i]);
	free(x.re);
	free(x.flags);
	free(x.ids);
	return e;
#else
	(void)k;
	(void)v;
	return RK_OK;
#endif
}

/* The compound list and, per kind of observable, the atoms to evaluate for
 * it (two passes: count, then fill) and their prefilter. Counts
 * unobservable atoms into st. */
static rk_err index_evaluated(match *m, match_stats *st)
{
	pattern_prop props[MATCH_OBS_KIND_COUNT];
	size_t fill[MATCH_OBS_KIND_COUNT] = {0};

	for (unsigned k = 0; k < MATCH_OBS_KIND_COUNT; k++)
		match_obs_prop((match_obs_kind)k, &props[k]);
	for (size_t i = 0; i < m->n_eval; i++)
		if (m->eval[i].compound != MATCH_NOT_COMPOUND)
			m->n_compound++;
	if (m->n_compound && !(m->compound = calloc(m->n_compound, sizeof *m->compound)))
		return RK_ENOMEM;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < m->n_eval; i++) {
			const struct match_eval *e = &m->eval[i];
			size_t natoms = pattern_observation_count(e->p);
			if (pass == 0 && e->compound != MATCH_NOT_COMPOUND)
				m->compound[e->compound] = (struct match_compound){e->p, e->handle};
			for (size_t a = 0; a < natoms; a++) {
				const pattern_atom *at = pattern_atom_at(e->p, a);
				bool named = false;
				if (e->exact.bits[a / 64] >> (a % 64) & 1)
					continue;
				for (unsigned k = 0; k < MATCH_OBS_KIND_COUNT; k++) {
					if (pattern_atom_literals(at, &props[k], NULL, NULL) ==
					    PATTERN_LIT_NEVER)
						continue;
					named = true;
					if (pass == 0)
						m->kev[k].n++;
					else
						m->kev[k].ref[fill[k]++] = (match_evref){
							at, e->handle, e->compound, (uint32_t)a};
				}
				if (pass == 0 && !named)
					st->unobservable++;
			}
		}
		if (pass == 0)
			for (unsigned k = 0; k < MATCH_OBS_KIND_COUNT; k++)
				if (m->kev[k].n &&
				    !(m->kev[k].ref = calloc(m->kev[k].n, sizeof *m->kev[k].ref)))
					return RK_ENOMEM;
	}
	for (unsigned k = 0; k < MATCH_OBS_KIND_COUNT; k++) {
		m->kev[k].stamp_base = m->n_refs;
		m->n_refs += m->kev[k].n;
		if (index_kind(&m->kev[k], &props[k]))
			return RK_ENOMEM;
		if (gate_regexes(&m->kev[k], &props[k]))
			return RK_ENOMEM;
		st->prefiltered += m->kev[k].n - m->kev[k].n_always - m->kev[k].n_gated;
		st->regex_gated += m->kev[k].n_gated;
		st->always += m->kev[k].n_always;
#ifdef RK_HAVE_HYPERSCAN
		size_t db_bytes = 0;
		if (m->kev[k].hs && hs_database_size(m->kev[k].hs, &db_bytes) == HS_SUCCESS)
			st->regex_bytes += db_bytes;
#endif
	}
	return RK_OK;
}

/* Links handle h into the entry whose handle field is *slot. */
static bool link_handle(match *m, size_t *cap, uint32_t *slot, uint32_t h)
{
	uint32_t head = *slot & MATCH_CHAIN ? m->chain[*slot & ~MATCH_CHAIN].handle : *slot;
	if (head == h)
		return true; /* the same indicator names the value again */
	if (!grow((void **)&m->chain, cap, m->n_chain + 2, sizeof *m->chain))
		return false;
	if (!(*slot & MATCH_CHAIN)) {
		m->chain[m->n_chain] = (match_link){*slot, MATCH_EMPTY};
		*slot = MATCH_CHAIN | (uint32_t)m->n_chain++;
	}
	m->chain[m->n_chain] = (match_link){h, *slot & ~MATCH_CHAIN};
	*slot = MATCH_CHAIN | (uint32_t)m->n_chain++;
	return true;
}

/*
 * Groups for n keys of `lanes` slots each: at most MATCH_FILL_NUM /
 * MATCH_FILL_DEN of the slots used, and always one slot free (probes end
 * at a group with room, match_int.h). At that fill about one lookup in ten
 * of a missing key reads a second group.
 */
#define MATCH_FILL_NUM 4
#define MATCH_FILL_DEN 5

static uint32_t table_groups(size_t n, unsigned lanes)
{
	return n ? (uint32_t)((n * MATCH_FILL_DEN / MATCH_FILL_NUM + lanes) / lanes) : 0;
}

/* A /32 value that no record of the IPv4 /32 table has: the top 16 bits of
 * a block of 65,536 addresses not all named (counted in one pass; n < 2^32
 * keys leave one), then the first free address in it (a second pass). */
static rk_err free_v4_key(const match_builder *b, uint32_t *out)
{
	uint32_t *count = calloc(65536, sizeof *count);
	uint64_t *seen = calloc(65536 / 64, sizeof *seen);
	uint32_t hi = 0, cur;
	unsigned tab;
	rec_reader r;
	rk_err e = RK_ENOMEM;

	if (!count || !seen)
		goto out;
	rec_reader_init(&r, &b->v4recs);
	while (next_rec(&r, &tab, &cur)) {
		uint32_t k = next_v4key(&r);
		if (tab == 32)
			count[k >> 16]++;
	}
	/* a block of 65,536 is full only if it has that many records or more
	 * (a key may be named several times) */
	while (hi < 65535 && count[hi] >= 65536)
		hi++;
	rec_reader_init(&r, &b->v4recs);
	while (next_rec(&r, &tab, &cur)) {
		uint32_t k = next_v4key(&r);
		if (tab == 32 && k >> 16 == hi)
			seen[(k & 0xFFFF) / 64] |= 1ull << (k % 64);
	}
	for (uint32_t lo = 0; lo < 65536; lo++)
		if (!(seen[lo / 64] >> (lo % 64) & 1)) {
			*out = hi << 16 | lo;
			e = RK_OK;
			break;
		}
out:
	free(count);
	free(seen);
	return e;
}

/* Tables of fewer keys stay in the caches without a filter. */
#define MATCH_FILTER_MIN 16384

/* A filter for n keys: 8 to 16 bits a key (words a power of two). */
static bool filter_init(match_filter *f, size_t n, size_t *bytes)
{
	size_t words = 1;
	if (n < MATCH_FILTER_MIN)
		return true;
	while (words * 64 < n * 8)
		words *= 2;
	if (!(f->w = calloc(words, sizeof *f->w)))
		return false;
	f->mask = (uint32_t)(words - 1);
	*bytes += words * sizeof *f->w;
	return true;
}

/* 64-byte aligned and zeroed, for groups. */
static void *alloc_groups(size_t n, size_t size)
{
	void *p = NULL;
	if (posix_memalign(&p, 64, n * size))
		return NULL;
	memset(p, 0, n * size);
	return p;
}

/* Records decoded ahead of the one inserted, their groups prefetched: a
 * large table is written all over, and waiting for each line in turn is
 * most of the build's time. They are still inserted in order. */
#define MATCH_BUILD_AHEAD 16

/* The IPv4 tables, sized from the counts and filled from the IPv4 stream,
 * which is then freed. Each record goes to the first free slot from its
 * group on, unless its key is met first: then its handle joins that
 * entry's chain. */
static rk_err build_v4(match *m, match_builder *b, size_t *chain_cap)
{
	rec_reader r;
	unsigned t;
	uint32_t cur;

	for (t = 0; t < 33; t++) {
		if (!b->counts[t])
			continue;
		match_u32tab *tb = &m->v4[t];
		tb->ng = table_groups(b->counts[t], MATCH_V4_LANES);
		size_t slots = (size_t)tb->ng * MATCH_V4_LANES;
		/* masked to a prefix shorter than 32, no key has its low bit */
		tb->empty = 1;
		if (t == 32 && free_v4_key(b, &tb->empty))
			return RK_ENOMEM;
		if (!(tb->g = alloc_groups(tb->ng, sizeof *tb->g)) ||
		    !(tb->handle = malloc(slots * sizeof *tb->handle)) ||
		    !filter_init(&tb->f, b->counts[t], &m->st.table_bytes))
			return RK_ENOMEM;
		for (size_t i = 0; i < slots; i++)
			tb->g[i / MATCH_V4_LANES].key[i % MATCH_V4_LANES] = tb->empty;
		m->st.table_bytes += tb->ng * sizeof *tb->g + slots * sizeof *tb->handle;
	}
	for (int p = 32; p >= 0; p--)
		if (b->counts[p])
			m->v4_lens[m->n_v4_lens++] = (uint8_t)p;

	struct {
		uint32_t key, cur, gi;
		unsigned t;
	} q[MATCH_BUILD_AHEAD];
	size_t head = 0, nq = 0;
	rec_reader_init(&r, &b->v4recs);
	for (;;) {
		for (; nq < MATCH_BUILD_AHEAD && next_rec(&r, &t, &cur); nq++) {
			size_t i = (head + nq) % MATCH_BUILD_AHEAD;
			q[i].key = next_v4key(&r);
			q[i].cur = cur;
			q[i].t = t;
			q[i].gi = match_slot(match_hash_u32(q[i].key), m->v4[t].ng);
			__builtin_prefetch(&m->v4[t].g[q[i].gi], 1);
			__builtin_prefetch(&m->v4[t].handle[(size_t)q[i].gi * MATCH_V4_LANES], 1);
		}
		if (!nq)
			break;
		uint32_t key = q[head].key, gi = q[head].gi, *slot = NULL;
		match_u32tab *tb = &m->v4[q[head].t];
		cur = q[head].cur;
		head = (head + 1) % MATCH_BUILD_AHEAD;
		nq--;
		for (;; gi = gi + 1 == tb->ng ? 0 : gi + 1) {
			match_v4group *g = &tb->g[gi];
			unsigned l = 0;
			while (l < MATCH_V4_LANES && g->key[l] != tb->empty && g->key[l] != key)
				l++;
			if (l == MATCH_V4_LANES)
				continue;
			slot = &tb->handle[(size_t)gi * MATCH_V4_LANES + l];
			if (g->key[l] == tb->empty) {
				if (tb->f.w)
					match_filter_add(&tb->f, match_filter_mix(match_v4_hash64(key)));
				g->key[l] = key;
				*slot = cur;
				tb->n++;
				slot = NULL;
			}
			break;
		}
		if (slot && !link_handle(m, chain_cap, slot, cur))
			return RK_ENOMEM;
	}
	rk_buf_cleanup(&b->v4recs.buf);
	return RK_OK;
}

/* The byte tables, the same way from the byte stream, walking the arena
 * alongside (its keys are in the order of the byte records). */
static rk_err build_bytes(match *m, match_builder *b, size_t *chain_cap)
{
	rec_reader r;
	unsigned t;
	uint32_t cur, off = 0;

	for (t = 0; t < MATCH_T_COUNT; t++) {
		if (!b->counts[33 + t])
			continue;
		match_btab *tb = &m->bt[t];
		tb->ng = table_groups(b->counts[33 + t], MATCH_TAG_LANES);
		size_t slots = (size_t)tb->ng * MATCH_TAG_LANES;
		if (!(tb->g = alloc_groups(tb->ng, sizeof *tb->g)) ||
		    !(tb->e = malloc(slots * sizeof *tb->e)) ||
		    !filter_init(&tb->f, b->counts[33 + t], &m->st.table_bytes))
			return RK_ENOMEM;
		m->st.table_bytes += tb->ng * sizeof *tb->g + slots * sizeof *tb->e;
	}
	for (int p = 128; p >= 0; p--)
		if (b->counts[33 + MATCH_T_V6 + p])
			m->v6_lens[m->n_v6_lens++] = (uint8_t)p;

	struct {
		const char *k;
		size_t len;
		uint64_t h;
		uint32_t key, cur, gi;
		unsigned t;
	} q[MATCH_BUILD_AHEAD];
	size_t head = 0, nq = 0;
	rec_reader_init(&r, &b->brecs);
	for (;;) {
		for (; nq < MATCH_BUILD_AHEAD && next_rec(&r, &t, &cur); nq++) {
			size_t i = (head + nq) % MATCH_BUILD_AHEAD;
			q[i].key = off;
			q[i].k = match_key_at(b->arena.data, off, &q[i].len);
			off = (uint32_t)(q[i].k + q[i].len - b->arena.data);
			q[i].h = match_hash_bytes(q[i].k, q[i].len);
			q[i].cur = cur;
			q[i].t = t;
			q[i].gi = match_slot(q[i].h, m->bt[t].ng);
			__builtin_prefetch(&m->bt[t].g[q[i].gi], 1);
			__builtin_prefetch(&m->bt[t].e[(size_t)q[i].gi * MATCH_TAG_LANES], 1);
		}
		if (!nq)
			break;
		match_btab *tb = &m->bt[q[head].t];
		size_t len = q[head].len;
		const char *k = q[head].k;
		uint64_t h = q[head].h;
		uint32_t *slot = NULL, key = q[head].key, gi = q[head].gi;
		uint16_t tag = match_tag(h);
		cur = q[head].cur;
		head = (head + 1) % MATCH_BUILD_AHEAD;
		nq--;
		for (;; gi = gi + 1 == tb->ng ? 0 : gi + 1) {
			match_taggroup *g = &tb->g[gi];
			unsigned l = 0;
			for (; l < MATCH_TAG_LANES && g->tag[l]; l++) {
				size_t l2;
				const char *k2;
				if (g->tag[l] != tag)
					continue;
				k2 = match_key_at(b->arena.data, tb->e[(size_t)gi * MATCH_TAG_LANES + l].off,
						  &l2);
				if (l2 == len && memcmp(k, k2, len) == 0)
					break;
			}
			if (l == MATCH_TAG_LANES)
				continue;
			match_bent *ent = &tb->e[(size_t)gi * MATCH_TAG_LANES + l];
			slot = &ent->handle;
			if (!g->tag[l]) {
				if (tb->f.w)
					match_filter_add(&tb->f, match_filter_mix(h));
				g->tag[l] = tag;
				*ent = (match_bent){key, cur};
				tb->n++;
				slot = NULL;
			}
			break;
		}
		if (slot && !link_handle(m, chain_cap, slot, cur))
			return RK_ENOMEM;
	}
	rk_buf_cleanup(&b->brecs.buf);
	return RK_OK;
}

rk_err match_build(match_builder *b, match **out, rk_errctx *ctx)
{
	match *m = NULL;
	size_t chain_cap = 0;
	rk_err e = RK_ENOMEM;

	*out = NULL;
	if (b->oom || !(m = calloc(1, sizeof *m)))
		goto out;
	/* IPv4 first: its stream is freed before the byte tables exist */
	if (build_v4(m, b, &chain_cap) || build_bytes(m, b, &chain_cap))
		goto out;
	for (unsigned t = 0; t < 33; t++)
		m->st.keys += m->v4[t].n;
	for (unsigned t = 0; t < MATCH_T_COUNT; t++)
		m->st.keys += m->bt[t].n;
	if (m->n_chain && m->n_chain < chain_cap) {
		match_link *c = realloc(m->chain, m->n_chain * sizeof *m->chain);
		if (c)
			m->chain = c;
	}

	/* take what the builder holds; the arena without its spare room */
	m->arena_len = b->arena.len;
	m->arena = b->arena.data;
	if (m->arena) {
		char *a = realloc(m->arena, m->arena_len + 1);
		if (a)
			m->arena = a;
	}
	rk_buf_init(&b->arena);
	m->n_handles = b->n_handles;
	b->n_handles = 0;
	m->eval = b->eval;
	m->n_eval = b->n_eval;
	b->eval = NULL;
	b->n_eval = b->cap_eval = 0;
	m->atomref = b->atomref;
	m->n_atomref = b->n_atomref;
	b->atomref = NULL;
	b->n_atomref = b->cap_atomref = 0;
	b->n_compound = 0;
	memset(b->counts, 0, sizeof b->counts);
	if (index_evaluated(m, &b->st))
		goto out;

	match_stats keep = m->st;
	m->st = b->st;
	m->st.keys = keep.keys;
	m->st.table_bytes = keep.table_bytes + m->n_chain * sizeof *m->chain;
	m->st.arena_bytes = m->arena_len;
	memset(&b->st, 0, sizeof b->st);
	*out = m;
	m = NULL;
	e = RK_OK;
out:
	match_free(m);
	if (e)
		return rk_fail(ctx, e, "", "out of memory");
	return RK_OK;
}

void match_free(match *m)
{
	if (!m)
		return;
	for (unsigned t = 0; t < 33; t++) {
		free(m->v4[t].g);
		free(m->v4[t].handle);
		free(m->v4[t].f.w);
	}
	for (unsigned t = 0; t < MATCH_T_COUNT; t++) {
		free(m->bt[t].g);
		free(m->bt[t].e);
		free(m->bt[t].f.w);
	}
	free(m->arena);
	free(m->chain);
	if (m->attached_free)
		m->attached_free(m->attached);
	for (size_t i = 0; i < m->n_eval; i++)
		pattern_free(m->eval[i].p);
	free(m->eval);
	free(m->atomref);
	free(m->compound);
	for (unsigned k = 0; k < MATCH_OBS_KIND_COUNT; k++) {
		free(m->kev[k].ref);
		free(m->kev[k].always);
		free(m->kev[k].gram);
		free(m->kev[k].gram_refs);
		free(m->kev[k].gated);
#ifdef RK_HAVE_HYPERSCAN
		hs_free_database(m->kev[k].hs);
#endif
	}
	free(m);
}

void match_get_stats(const match *m, match_stats *st)
{
	*st = m->st;
}

void match_attach(match *m, void *data, void (*free_fn)(void *))
{
	if (m->attached_free)
		m->attached_free(m->attached);
	m->attached = data;
	m->attached_free = free_fn;
}

void *match_attached(const match *m)
{
	return m->attached;
}

size_t match_eval_count(const match *m)
{
	return m->n_eval;
}

const pattern *match_eval_pattern(const match *m, size_t i, uint32_t *handle)
{
	if (i >= m->n_eval)
		return NULL;
	if (handle)
		*handle = m->eval[i].handle;
	return m->eval[i].p;
}
