/*
 * feeds_warn.c: warning lists, the values a feed should not turn into
 * indicators (or should flag): private and reserved ranges, public
 * resolvers, top sites.
 *
 * A list has one kind, as MISP warninglists do (misp-warninglists'
 * schema.json): cidr (a value is on it when its address or whole block
 * lies inside an entry), string (equal, ignoring case), hostname (the
 * host of a domain or URL equals an entry or is below it), substring
 * (contains an entry, ignoring case), regex (PCRE2). MISP's
 * matching_attributes say which attribute types a list applies to; they
 * are mapped to feed value types (ip-src -> ipv4/ipv6, hostname ->
 * domain, url -> url, md5 -> md5 ...). A list without them applies to the
 * types its kind can match.
 *
 * Lookups cost no scan: cidr entries are sorted by (family, prefix
 * length, masked address) and a value is looked up once per prefix
 * length the list holds; string and hostname entries are sorted and
 * searched; only substring and regex lists are scanned, and those are
 * short. Entries that do not fit the list's kind are ignored, as MISP
 * does. A loaded set is immutable: feeds_warn_match may be called from
 * any number of threads.
 *
 * The built-in lists (builtin_rows) are short on purpose: special-purpose
 * address blocks (RFC 6890 and the RFCs it gathers: 1918 private, 6598
 * shared, 5737/3849 documentation, 3927/4291 link-local, loopback,
 * multicast, 4193 unique-local), the anycast addresses of the major
 * public resolvers, and a few dozen top sites. The top-sites list applies
 * to domains only: a URL on a big site (a file share, a paste) is often
 * exactly what an indicator names.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "feeds.h"

typedef enum { WL_CIDR, WL_STRING, WL_HOSTNAME, WL_SUBSTRING, WL_REGEX } wl_kind;

typedef struct wl_net {
	uint8_t len; /* 4 or 16 */
	uint8_t prefix;
	uint8_t addr[16];
} wl_net;

typedef struct wl_list {
	char *name;
	wl_kind kind;
	unsigned types; /* bit per feeds_vtype */
	wl_net *nets;
	size_t n_nets, cap_nets;
	uint64_t prefixes[2][3]; /* per family, bit per prefix length 0-128 */
	char **strs;
	size_t n_strs, cap_strs;
	pcre2_code **res;
	size_t n_res, cap_res;
} wl_list;

struct feeds_warnlists {
	wl_list *lists;
	size_t n, cap;
};

#define T(x) (1u << (x))
#define TYPES_IP (T(FEEDS_IPV4) | T(FEEDS_IPV6))
#define TYPES_ALL ((1u << FEEDS_VTYPE_COUNT) - 1)

/* ---------------------------------------------------------------- built-in */

static const struct {
	const char *list;
	const char *entry;
} builtin_rows[] = {
	/* RFC 1918, RFC 4193 */
	{ "builtin-private", "10.0.0.0/8" },
	{ "builtin-private", "172.16.0.0/12" },
	{ "builtin-private", "192.168.0.0/16" },
	{ "builtin-private", "fc00::/7" },
	/* RFC 6890 special-purpose blocks, RFC 6598 shared address space */
	{ "builtin-reserved", "0.0.0.0/8" },
	{ "builtin-reserved", "100.64.0.0/10" },
	{ "builtin-reserved", "127.0.0.0/8" },
	{ "builtin-reserved", "169.254.0.0/16" },
	{ "builtin-reserved", "192.0.0.0/24" },
	{ "builtin-reserved", "192.0.2.0/24" },
	{ "builtin-reserved", "192.88.99.0/24" },
	{ "builtin-reserved", "198.18.0.0/15" },
	{ "builtin-reserved", "198.51.100.0/24" },
	{ "builtin-reserved", "203.0.113.0/24" },
	{ "builtin-reserved", "224.0.0.0/4" },
	{ "builtin-reserved", "240.0.0.0/4" },
	{ "builtin-reserved", "255.255.255.255/32" },
	{ "builtin-reserved", "::/128" },
	{ "builtin-reserved", "::1/128" },
	{ "builtin-reserved", "::ffff:0:0/96" },
	{ "builtin-reserved", "64:ff9b::/96" },
	{ "builtin-reserved", "100::/64" },
	{ "builtin-reserved", "2001::/23" },
	{ "builtin-reserved", "2001:db8::/32" },
	{ "builtin-reserved", "2002::/16" },
	{ "builtin-reserved", "fe80::/10" },
	{ "builtin-reserved", "ff00::/8" },
	/* Public resolvers: Google, Cloudflare, Quad9, OpenDNS, AdGuard */
	{ "builtin-resolvers", "8.8.8.8" },
	{ "builtin-resolvers", "8.8.4.4" },
	{ "builtin-resolvers", "1.1.1.1" },
	{ "builtin-resolvers", "1.0.0.1" },
	{ "builtin-resolvers", "9.9.9.9" },
	{ "builtin-resolvers", "149.112.112.112" },
	{ "builtin-resolvers", "208.67.222.222" },
	{ "builtin-resolvers", "208.67.220.220" },
	{ "builtin-resolvers", "94.140.14.14" },
	{ "builtin-resolvers", "94.140.15.15" },
	{ "builtin-resolvers", "2001:4860:4860::8888" },
	{ "builtin-resolvers", "2001:4860:4860::8844" },
	{ "builtin-resolvers", "2606:4700:4700::1111" },
	{ "builtin-resolvers", "2606:4700:4700::1001" },
	{ "builtin-resolvers", "2620:fe::fe" },
	{ "builtin-resolvers", "2620:fe::9" },
	{ "builtin-resolvers", "2620:119:35::35" },
	{ "builtin-resolvers", "2620:119:53::53" },
	/* Top sites (domains and their subdomains) */
	{ "builtin-top-sites", "google.com" },
	{ "builtin-top-sites", "youtube.com" },
	{ "builtin-top-sites", "facebook.com" },
	{ "builtin-top-sites", "instagram.com" },
	{ "builtin-top-sites", "whatsapp.com" },
	{ "builtin-top-sites", "microsoft.com" },
	{ "builtin-top-sites", "windowsupdate.com" },
	{ "builtin-top-sites", "live.com" },
	{ "builtin-top-sites", "office.com" },
	{ "builtin-top-sites", "bing.com" },
	{ "builtin-top-sites", "apple.com" },
	{ "builtin-top-sites", "icloud.com" },
	{ "builtin-top-sites", "amazon.com" },
	{ "builtin-top-sites", "amazonaws.com" },
	{ "builtin-top-sites", "cloudflare.com" },
	{ "builtin-top-sites", "akamai.net" },
	{ "builtin-top-sites", "wikipedia.org" },
	{ "builtin-top-sites", "twitter.com" },
	{ "builtin-top-sites", "x.com" },
	{ "builtin-top-sites", "linkedin.com" },
	{ "builtin-top-sites", "github.com" },
	{ "builtin-top-sites", "yahoo.com" },
	{ "builtin-top-sites", "yahoo.co.jp" },
	{ "builtin-top-sites", "baidu.com" },
	{ "builtin-top-sites", "netflix.com" },
	{ "builtin-top-sites", "line.me" },
	{ "builtin-top-sites", "rakuten.co.jp" },
};

static const struct {
	const char *name;
	wl_kind kind;
	unsigned types;
} builtin_lists[] = {
	{ "builtin-private", WL_CIDR, TYPES_IP },
	{ "builtin-reserved", WL_CIDR, TYPES_IP },
	{ "builtin-resolvers", WL_CIDR, TYPES_IP },
	{ "builtin-top-sites", WL_HOSTNAME, T(FEEDS_DOMAIN) },
};

/* MISP attribute types to feed value types. */
static const struct {
	const char *misp;
	unsigned types;
} misp_attr_types[] = {
	{ "ip-src", TYPES_IP },
	{ "ip-dst", TYPES_IP },
	{ "ip-src|port", TYPES_IP },
	{ "ip-dst|port", TYPES_IP },
	{ "domain|ip", TYPES_IP | T(FEEDS_DOMAIN) },
	{ "domain", T(FEEDS_DOMAIN) },
	{ "hostname", T(FEEDS_DOMAIN) },
	{ "hostname|port", T(FEEDS_DOMAIN) },
	{ "url", T(FEEDS_URL) },
	{ "uri", T(FEEDS_URL) },
	{ "link", T(FEEDS_URL) },
	{ "email", T(FEEDS_EMAIL) },
	{ "email-src", T(FEEDS_EMAIL) },
	{ "email-dst", T(FEEDS_EMAIL) },
	{ "md5", T(FEEDS_MD5) },
	{ "filename|md5", T(FEEDS_MD5) },
	{ "sha1", T(FEEDS_SHA1) },
	{ "filename|sha1", T(FEEDS_SHA1) },
	{ "sha256", T(FEEDS_SHA256) },
	{ "filename|sha256", T(FEEDS_SHA256) },
	{ "sha512", T(FEEDS_SHA512) },
	{ "filename|sha512", T(FEEDS_SHA512) },
};

static const struct {
	const char *name;
	wl_kind kind;
	unsigned types; /* when matching_attributes names none we know */
} kinds[] = {
	{ "cidr", WL_CIDR, TYPES_IP },
	{ "string", WL_STRING, TYPES_ALL },
	{ "hostname", WL_HOSTNAME, T(FEEDS_DOMAIN) | T(FEEDS_URL) },
	{ "substring", WL_SUBSTRING, TYPES_ALL },
	{ "regex", WL_REGEX, TYPES_ALL },
};

/* ---------------------------------------------------------------- building */

static bool parse_net(const char *s, wl_net *n)
{
	char buf[64], *slash;
	unsigned long prefix;

	if (strlen(s) >= sizeof buf)
		return false;
	strcpy(buf, s);
	memset(n, 0, sizeof *n);
	if ((slash = strchr(buf, '/')))
		*slash = '\0';
	if (inet_pton(AF_INET, buf, n->addr) == 1)
		n->len = 4;
	else if (inet_pton(AF_INET6, buf, n->addr) == 1)
		n->len = 16;
	else
		return false;
	prefix = n->len * 8u;
	if (slash) {
		char *end;
		prefix = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || prefix > n->len * 8u)
			return false;
	}
	n->prefix = (uint8_t)prefix;
	for (unsigned i = 0; i < n->len; i++) {
		unsigned keep = prefix >= (i + 1) * 8 ? 8 : prefix > i * 8 ? prefix - i * 8 : 0;
		n->addr[i] &= (uint8_t)(0xff00u >> keep);
	}
	return true;
}

static int cmp_net(const void *a, const void *b)
{
	const wl_net *x = a, *y = b;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->prefix != y->prefix)
		return x->prefix < y->prefix ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static wl_list *new_list(feeds_warnlists *w, const char *name, wl_kind kind, unsigned types)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		wl_list *l = realloc(w->lists, cap * sizeof *l);
		if (!l)
			return NULL;
		w->lists = l;
		w->cap = cap;
	}
	wl_list *l = &w->lists[w->n];
	memset(l, 0, sizeof *l);
	if (!(l->name = strdup(name)))
		return NULL;
	l->kind = kind;
	l->types = types;
	w->n++;
	return l;
}

static char *lowercase_dup(const char *s)
{
	char *d = strdup(s);
	for (char *p = d; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/* Adds one entry; false only on out-of-memory (entries that do not fit
 * the kind are ignored). */
static bool add_entry(wl_list *l, const char *entry)
{
	switch (l->kind) {
	case WL_CIDR: {
		wl_net n;
		if (!parse_net(entry, &n))
			return true;
		if (l->n_nets == l->cap_nets) {
			size_t cap = l->cap_nets ? l->cap_nets * 2 : 16;
			wl_net *v = realloc(l->nets, cap * sizeof *v);
			if (!v)
				return false;
			l->nets = v;
			l->cap_nets = cap;
		}
		l->nets[l->n_nets++] = n;
		l->prefixes[n.len == 16][n.prefix / 64] |= 1ull << (n.prefix % 64);
		return true;
	}
	case WL_REGEX: {
		/* MISP writes /expr/flags or a bare expression. */
		char *pat = strdup(entry);
		uint32_t opts = 0;
		int code;
		PCRE2_SIZE off;
		if (!pat)
			return false;
		size_t len = strlen(pat);
		char *last = strrchr(pat, '/');
		if (pat[0] == '/' && last && last > pat) {
			for (const char *f = last + 1; *f; f++)
				if (*f == 'i')
					opts |= PCRE2_CASELESS;
			*last = '\0';
			memmove(pat, pat + 1, len);
		}
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, opts | PCRE2_UTF,
					       &code, &off, NULL);
		free(pat);
		if (!re)
			return true;
		if (l->n_res == l->cap_res) {
			size_t cap = l->cap_res ? l->cap_res * 2 : 8;
			pcre2_code **v = realloc(l->res, cap * sizeof *v);
			if (!v) {
				pcre2_code_free(re);
				return false;
			}
			l->res = v;
			l->cap_res = cap;
		}
		l->res[l->n_res++] = re;
		return true;
	}
	default: {
		const char *e = entry;
		if (l->kind == WL_HOSTNAME && *e == '.')
			e++; /* ".example.com" means the same as "example.com" */
		if (!*e)
			return true;
		if (l->n_strs == l->cap_strs) {
			size_t cap = l->cap_strs ? l->cap_strs * 2 : 16;
			char **v = realloc(l->strs, cap * sizeof *v);
			if (!v)
				return false;
			l->strs = v;
			l->cap_strs = cap;
		}
		if (!(l->strs[l->n_strs] = lowercase_dup(e)))
			return false;
		size_t n = strlen(l->strs[l->n_strs]);
		if (l->kind == WL_HOSTNAME && n && l->strs[l->n_strs][n - 1] == '.')
			l->strs[l->n_strs][n - 1] = '\0';
		l->n_strs++;
		return true;
	}
	}
}

static void seal(wl_list *l)
{
	if (l->n_nets)
		qsort(l->nets, l->n_nets, sizeof *l->nets, cmp_net);
	if (l->n_strs && l->kind != WL_SUBSTRING)
		qsort(l->strs, l->n_strs, sizeof *l->strs, cmp_str);
}

rk_err feeds_warn_new(bool builtin, feeds_warnlists **out, rk_errctx *ctx)
{
	feeds_warnlists *w = calloc(1, sizeof *w);

	*out = NULL;
	if (!w)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	for (size_t i = 0; builtin && i < RK_ARRAY_LEN(builtin_lists); i++) {
		wl_list *l = new_list(w, builtin_lists[i].name, builtin_lists[i].kind,
				      builtin_lists[i].types);
		if (!l)
			goto oom;
		for (size_t r = 0; r < RK_ARRAY_LEN(builtin_rows); r++)
			if (strcmp(builtin_rows[r].list, l->name) == 0 && !add_entry(l, builtin_rows[r].entry))
				goto oom;
		seal(l);
	}
	*out = w;
	return RK_OK;
oom:
	feeds_warn_free(w);
	return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
}

void feeds_warn_free(feeds_warnlists *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++) {
		wl_list *l = &w->lists[i];
		free(l->name);
		free(l->nets);
		for (size_t k = 0; k < l->n_strs; k++)
			free(l->strs[k]);
		free(l->strs);
		for (size_t k = 0; k < l->n_res; k++)
			pcre2_code_free(l->res[k]);
		free(l->res);
	}
	free(w->lists);
	free(w);
}

rk_err feeds_warn_add_json(feeds_warnlists *w, const char *where, const char *data, size_t len,
			   rk_errctx *ctx)
{
	json_t *doc = NULL, *list, *attrs, *v;
	const char *name, *type;
	size_t i, k;
	rk_err err;

	if ((err = rk_json_parse(data, len, RK_MAX_JSON_DEPTH, &doc, ctx)))
		return err;
	name = json_string_value(json_object_get(doc, "name"));
	type = json_string_value(json_object_get(doc, "type"));
	list = json_object_get(doc, "list");
	if (!name || !*name || !json_is_array(list)) {
		err = rk_fail(ctx, RK_EINVAL, where, "a MISP warninglist has a name and a list");
		goto out;
	}
	if (json_array_size(list) > RK_FEED_MAX_WARN_ENTRIES) {
		err = rk_fail(ctx, RK_ETOOBIG, where, "more than %d entries", RK_FEED_MAX_WARN_ENTRIES);
		goto out;
	}
	if (!type)
		type = "string"; /* MISP's default */
	for (k = 0; k < RK_ARRAY_LEN(kinds); k++)
		if (strcmp(kinds[k].name, type) == 0)
			break;
	if (k == RK_ARRAY_LEN(kinds)) {
		err = rk_fail(ctx, RK_EINVAL, where, "type \"%s\": expected cidr, string, hostname, substring or regex", type);
		goto out;
	}
	unsigned types = 0;
	attrs = json_object_get(doc, "matching_attributes");
	json_array_foreach(attrs, i, v) {
		for (size_t m = 0; m < RK_ARRAY_LEN(misp_attr_types); m++)
			if (json_is_string(v) && strcmp(json_string_value(v), misp_attr_types[m].misp) == 0)
				types |= misp_attr_types[m].types;
	}
	types = types ? types & (kinds[k].kind == WL_CIDR ? TYPES_IP : TYPES_ALL) : kinds[k].types;
	wl_list *l = new_list(w, name, kinds[k].kind, types);
	if (!l)
		goto oom;
	json_array_foreach(list, i, v) {
		if (json_is_string(v) && !add_entry(l, json_string_value(v)))
			goto oom;
	}
	seal(l);
	err = RK_OK;
	goto out;
oom:
	err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
out:
	json_decref(doc);
	return err;
}

rk_err feeds_warn_load(feeds_warnlists *w, const char *path, rk_errctx *ctx)
{
	char *data = NULL;
	size_t len = 0;
	rk_buf file;
	rk_err err;

	rk_buf_init(&file);
	size_t pl = strlen(path);
	bool is_json = pl > 5 && strcmp(path + pl - 5, ".json") == 0;
	if (rk_buf_printf(&file, is_json ? "%s" : "%s/list.json", path))
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	if (!(err = rk_read_file(file.data, RK_FEED_MAX_FILE, &data, &len, ctx))) {
		rk_errctx inner;
		rk_errctx_clear(&inner);
		if ((err = feeds_warn_add_json(w, file.data, data, len, &inner)))
			rk_fail(ctx, err, file.data, "%s", inner.msg);
	}
	free(data);
	rk_buf_cleanup(&file);
	return err;
}

size_t feeds_warn_count(const feeds_warnlists *w)
{
	return w ? w->n : 0;
}

const char *feeds_warn_name(const feeds_warnlists *w, size_t i)
{
	return w && i < w->n ? w->lists[i].name : "?";
}

/* ---------------------------------------------------------------- matching */

static bool on_cidr(const wl_list *l, const char *value)
{
	wl_net v, key;

	if (!l->n_nets || !parse_net(value, &v))
		return false;
	const uint64_t *bits = l->prefixes[v.len == 16];
	for (unsigned q = 0; q <= v.prefix; q++) {
		if (!(bits[q / 64] & (1ull << (q % 64))))
			continue;
		key = v;
		key.prefix = (uint8_t)q;
		for (unsigned i = 0; i < key.len; i++) {
			unsigned keep = q >= (i + 1) * 8 ? 8 : q > i * 8 ? q - i * 8 : 0;
			key.addr[i] &= (uint8_t)(0xff00u >> keep);
		}
		if (bsearch(&key, l->nets, l->n_nets, sizeof key, cmp_net))
			return true;
	}
	return false;
}

static bool has_str(const wl_list *l, const char *s)
{
	return l->n_strs && bsearch(&s, l->strs, l->n_strs, sizeof s, cmp_str) != NULL;
}

/* The host of a URL, lowercase, without user info and port. */
static void url_host(const char *url, char *out, size_t cap)
{
	const char *p = strstr(url, "://");
	size_t n = 0;

	out[0] = '\0';
	if (!p)
		return;
	p += 3;
	size_t end = strcspn(p, "/?#");
	const char *at = memchr(p, '@', end);
	if (at) {
		end -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	if (*p == '[') { /* IPv6 literal */
		const char *close = memchr(p, ']', end);
		if (close) {
			p++;
			end = (size_t)(close - p);
		}
	} else {
		const char *colon = memchr(p, ':', end);
		if (colon)
			end = (size_t)(colon - p);
	}
	for (; n < end && n + 1 < cap; n++)
		out[n] = (char)tolower((unsigned char)p[n]);
	out[n] = '\0';
}

static bool on_hostname(const wl_list *l, const char *host)
{
	for (const char *h = host; h && *h;) {
		if (has_str(l, h))
			return true;
		h = strchr(h, '.');
		if (h)
			h++;
	}
	return false;
}

static bool on_list(const wl_list *l, feeds_vtype t, const char *value, const char *lower)
{
	char host[FEEDS_VALUE_MAX];

	switch (l->kind) {
	case WL_CIDR: return (t == FEEDS_IPV4 || t == FEEDS_IPV6) && on_cidr(l, value);
	case WL_STRING: return has_str(l, lower);
	case WL_HOSTNAME:
		if (t == FEEDS_URL) {
			url_host(value, host, sizeof host);
			return on_hostname(l, host);
		}
		return t == FEEDS_DOMAIN && on_hostname(l, lower);
	case WL_SUBSTRING:
		for (size_t i = 0; i < l->n_strs; i++)
			if (strstr(lower, l->strs[i]))
				return true;
		return false;
	case WL_REGEX:
		for (size_t i = 0; i < l->n_res; i++) {
			pcre2_match_data *md = pcre2_match_data_create_from_pattern(l->res[i], NULL);
			int rc = md ? pcre2_match(l->res[i], (PCRE2_SPTR)value, PCRE2_ZERO_TERMINATED, 0,
						  0, md, NULL)
				    : -1;
			pcre2_match_data_free(md);
			if (rc >= 0)
				return true;
		}
		return false;
	}
	return false;
}

int feeds_warn_match(const feeds_warnlists *w, feeds_vtype t, const char *value)
{
	char lower[FEEDS_VALUE_MAX];
	size_t i;

	if (!w || t < 0 || t >= FEEDS_VTYPE_COUNT)
		return -1;
	for (i = 0; value[i] && i + 1 < sizeof lower; i++)
		lower[i] = (char)tolower((unsigned char)value[i]);
	lower[i] = '\0';
	for (size_t k = 0; k < w->n; k++)
		if ((w->lists[k].types & T(t)) && on_list(&w->lists[k], t, value, lower))
			return (int)k;
	return -1;
}
