/*
 * notify_match.c: what an object involves, which organisations' assets
 * that touches, and the reduced form of the object a notification carries.
 *
 * Observables come from the object's own properties only (references are
 * followed by the engine, which must ask the policy about each referenced
 * object before its values may count): an indicator's pattern values
 * (pattern_exact_values; for a compound pattern, each observation
 * expression that is a plain list of values), an SCO's value, and the
 * embedded `objects` of an observed-data (STIX 2.1 deprecated form). URLs
 * count by their host, e-mail addresses by their domain.
 *
 * The view (notify_view) is a whitelist, the same spirit as an export's
 * form of an indicator (src/export): what identifies the object and what
 * made it relevant, never free text, extensions, the creator or where a
 * sighting was made. A property a granular marking may cover (name,
 * indicator_types) is kept only on objects without granular markings.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "notify.h"
#include "pattern.h"

const char *notify_obs_kind_name(notify_obs_kind k)
{
	switch (k) {
	case NOTIFY_OBS_IPV4: return "ipv4-addr";
	case NOTIFY_OBS_IPV6: return "ipv6-addr";
	case NOTIFY_OBS_DOMAIN: return "domain-name";
	case NOTIFY_OBS_URL: return "url";
	case NOTIFY_OBS_EMAIL: return "email-addr";
	case NOTIFY_OBS_ASN: return "autonomous-system";
	}
	return "?";
}

void notify_obs_list_cleanup(notify_obs_list *l)
{
	if (!l)
		return;
	free(l->v);
	memset(l, 0, sizeof *l);
}

static notify_obs *obs_new(notify_obs_list *l, notify_obs_kind kind, const char *value,
			   size_t len)
{
	if (l->n >= NOTIFY_MAX_OBS)
		return NULL;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		notify_obs *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	notify_obs *o = &l->v[l->n];
	memset(o, 0, sizeof *o);
	o->kind = kind;
	if (len >= sizeof o->value)
		len = sizeof o->value - 1;
	memcpy(o->value, value, len);
	o->value[len] = '\0';
	return o;
}

/* "198.51.100.7", "198.51.100.0/24", "2001:db8::/32" */
static bool parse_addr(const char *v, size_t len, int family, uint8_t *addr, unsigned *prefix)
{
	char host[64];
	const char *slash = memchr(v, '/', len);
	size_t hl = slash ? (size_t)(slash - v) : len;
	unsigned max = family == 4 ? 32 : 128;
	if (hl == 0 || hl >= sizeof host)
		return false;
	memcpy(host, v, hl);
	host[hl] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, host, addr) != 1)
		return false;
	*prefix = max;
	if (slash) {
		unsigned p = 0;
		size_t i = 1;
		for (; hl + i < len && i < 5; i++) {
			char c = slash[i];
			if (c < '0' || c > '9')
				return false;
			p = p * 10 + (unsigned)(c - '0');
		}
		if (i == 1 || hl + i != len || p > max)
			return false;
		*prefix = p;
		/* clear host bits: the block is what it covers */
		for (unsigned b = p; b < max; b++)
			addr[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
	}
	return true;
}

static void add_address(notify_obs_list *l, int family, const char *v, size_t len)
{
	uint8_t addr[16];
	unsigned prefix;
	if (!parse_addr(v, len, family, addr, &prefix))
		return;
	notify_obs *o = obs_new(l, family == 4 ? NOTIFY_OBS_IPV4 : NOTIFY_OBS_IPV6, v, len);
	if (!o)
		return;
	memcpy(o->addr, addr, 16);
	o->prefix = prefix;
	o->family = family;
	l->n++;
}

static void add_domain(notify_obs_list *l, notify_obs_kind kind, const char *full, size_t flen,
		       const char *host, size_t hlen)
{
	char dom[ASSETS_VALUE_MAX + 1];
	if (!assets_domain_normalise(host, hlen, dom))
		return;
	notify_obs *o = obs_new(l, kind, full, flen);
	if (!o)
		return;
	memcpy(o->domain, dom, sizeof dom);
	l->n++;
}

/* RFC 3986: scheme "://" [userinfo "@"] host [":" port] ... */
static void add_url(notify_obs_list *l, const char *v, size_t len)
{
	const char *p = memchr(v, ':', len);
	if (!p || (size_t)(p - v) + 3 > len || p[1] != '/' || p[2] != '/')
		return;
	const char *h = p + 3, *end = v + len;
	const char *stop = h;
	while (stop < end && *stop != '/' && *stop != '?' && *stop != '#')
		stop++;
	const char *at = NULL;
	for (const char *q = h; q < stop; q++)
		if (*q == '@')
			at = q;
	if (at)
		h = at + 1;
	if (h < stop && *h == '[') { /* IPv6 literal */
		const char *close = memchr(h, ']', (size_t)(stop - h));
		if (close) {
			size_t before = l->n;
			add_address(l, 6, h + 1, (size_t)(close - h - 1));
			if (l->n > before) {
				notify_obs *o = &l->v[l->n - 1];
				o->kind = NOTIFY_OBS_URL;
				size_t n = len < sizeof o->value ? len : sizeof o->value - 1;
				memcpy(o->value, v, n);
				o->value[n] = '\0';
			}
		}
		return;
	}
	const char *colon = memchr(h, ':', (size_t)(stop - h));
	if (colon)
		stop = colon;
	uint8_t tmp[16];
	char host[64];
	size_t hl = (size_t)(stop - h);
	if (hl && hl < sizeof host) {
		memcpy(host, h, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET, host, tmp) == 1) {
			size_t before = l->n;
			add_address(l, 4, h, hl);
			if (l->n > before) {
				notify_obs *o = &l->v[l->n - 1];
				o->kind = NOTIFY_OBS_URL;
				size_t n = len < sizeof o->value ? len : sizeof o->value - 1;
				memcpy(o->value, v, n);
				o->value[n] = '\0';
			}
			return;
		}
	}
	add_domain(l, NOTIFY_OBS_URL, v, len, h, hl);
}

static void add_email(notify_obs_list *l, const char *v, size_t len)
{
	const char *at = NULL;
	for (size_t i = 0; i < len; i++)
		if (v[i] == '@')
			at = v + i;
	if (at)
		add_domain(l, NOTIFY_OBS_EMAIL, v, len, at + 1, (size_t)(v + len - at - 1));
}

static void add_asn(notify_obs_list *l, json_int_t n)
{
	char text[24];
	if (n <= 0 || n > 4294967294LL)
		return;
	int tl = snprintf(text, sizeof text, "AS%lld", (long long)n);
	notify_obs *o = obs_new(l, NOTIFY_OBS_ASN, text, (size_t)tl);
	if (!o)
		return;
	o->asn = (uint32_t)n;
	l->n++;
}

static void on_value(void *arg, pattern_vkind kind, const char *value, size_t len)
{
	notify_obs_list *l = arg;
	switch (kind) {
	case PATTERN_V_IPV4: add_address(l, 4, value, len); break;
	case PATTERN_V_IPV6: add_address(l, 6, value, len); break;
	case PATTERN_V_DOMAIN: add_domain(l, NOTIFY_OBS_DOMAIN, value, len, value, len); break;
	case PATTERN_V_URL: add_url(l, value, len); break;
	case PATTERN_V_EMAIL: add_email(l, value, len); break;
	default: break; /* hashes belong to nobody's network */
	}
}

static void sco_values(const json_t *o, notify_obs_list *l)
{
	const char *type = json_string_value(json_object_get(o, "type"));
	const char *v = json_string_value(json_object_get(o, "value"));
	size_t vl = v ? json_string_length(json_object_get(o, "value")) : 0;
	if (!type)
		return;
	if (strcmp(type, "autonomous-system") == 0) {
		json_t *n = json_object_get(o, "number");
		if (json_is_integer(n))
			add_asn(l, json_integer_value(n));
		return;
	}
	if (!v)
		return;
	if (strcmp(type, "ipv4-addr") == 0)
		add_address(l, 4, v, vl);
	else if (strcmp(type, "ipv6-addr") == 0)
		add_address(l, 6, v, vl);
	else if (strcmp(type, "domain-name") == 0)
		add_domain(l, NOTIFY_OBS_DOMAIN, v, vl, v, vl);
	else if (strcmp(type, "url") == 0)
		add_url(l, v, vl);
	else if (strcmp(type, "email-addr") == 0)
		add_email(l, v, vl);
}

rk_err notify_observables(const json_t *obj, notify_obs_list *out)
{
	const char *type = json_string_value(json_object_get(obj, "type"));
	if (!type)
		return RK_OK;
	if (strcmp(type, "indicator") == 0) {
		json_t *pv = json_object_get(obj, "pattern");
		const char *pt = json_string_value(json_object_get(obj, "pattern_type"));
		pattern *p = NULL;
		if (!json_is_string(pv) || (pt && strcmp(pt, "stix") != 0))
			return RK_OK;
		if (pattern_compile(json_string_value(pv), json_string_length(pv), &p, NULL) != RK_OK)
			return RK_OK; /* stored patterns compiled once; a refusal names nothing */
		if (!pattern_exact_values(p, on_value, out)) {
			for (size_t i = 0; i < pattern_observation_count(p); i++) {
				const pattern_atom *a = pattern_atom_at(p, i);
				if (a)
					pattern_atom_exact_values(a, on_value, out);
			}
		}
		pattern_free(p);
		return RK_OK;
	}
	if (strcmp(type, "observed-data") == 0) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)json_object_get(obj, "objects"), k, v)
			sco_values(v, out);
		return RK_OK;
	}
	sco_values(obj, out);
	return RK_OK;
}

void notify_refs_of(const json_t *obj, void (*fn)(void *arg, const char *id), void *arg)
{
	static const char *const lists[] = {"observed_data_refs", "object_refs"};
	size_t n = 0;
	const char *one = json_string_value(json_object_get(obj, "sighting_of_ref"));
	const char *type = json_string_value(json_object_get(obj, "type"));
	if (!type || (strcmp(type, "sighting") != 0 && strcmp(type, "observed-data") != 0))
		return;
	if (one) {
		fn(arg, one);
		n++;
	}
	for (size_t k = 0; k < RK_ARRAY_LEN(lists); k++) {
		json_t *a = json_object_get(obj, lists[k]);
		for (size_t i = 0; i < json_array_size(a) && n < NOTIFY_MAX_REFS; i++) {
			const char *id = json_string_value(json_array_get(a, i));
			if (id) {
				fn(arg, id);
				n++;
			}
		}
	}
}

static size_t add_touch(notify_touch *out, size_t max, size_t n, const asset_claim *c,
			const notify_obs *o)
{
	for (size_t i = 0; i < n; i++)
		if (out[i].claim == c)
			return n;
	if (n < max)
		out[n++] = (notify_touch){.org = c->org, .claim = c, .obs = o};
	return n;
}

size_t notify_touches(const assets_snapshot *s, const notify_obs_list *obs, notify_touch *out,
		      size_t max)
{
	size_t n = 0;
	assets_hit h[32];
	const asset_claim *ov[32];
	for (size_t i = 0; s && i < obs->n; i++) {
		const notify_obs *o = &obs->v[i];
		size_t k = 0;
		if (o->family) {
			int fam = o->family;
			unsigned full = fam == 4 ? 32 : 128;
			if (o->prefix == full) {
				k = assets_orgs_for_address(s, o->addr, fam == 4 ? 4 : 16, h, 32);
				for (size_t j = 0; j < k && j < 32; j++)
					n = add_touch(out, max, n, h[j].claim, o);
			} else {
				/* a block: the claims covering it and those inside it */
				asset_claim probe;
				memset(&probe, 0, sizeof probe);
				probe.value.kind = ASSET_KIND_CIDR;
				probe.value.family = fam;
				probe.value.prefix = o->prefix;
				memcpy(probe.value.addr, o->addr, 16);
				k = assets_overlaps(s, &probe, ov, 32);
				for (size_t j = 0; j < k && j < 32; j++)
					n = add_touch(out, max, n, ov[j], o);
			}
		} else if (o->kind == NOTIFY_OBS_ASN) {
			k = assets_orgs_for_asn(s, o->asn, h, 32);
			for (size_t j = 0; j < k && j < 32; j++)
				n = add_touch(out, max, n, h[j].claim, o);
		} else if (o->domain[0]) {
			k = assets_orgs_for_domain(s, o->domain, strlen(o->domain), h, 32);
			for (size_t j = 0; j < k && j < 32; j++)
				n = add_touch(out, max, n, h[j].claim, o);
		}
	}
	return n;
}

/* ---------------------------------------------------------------- view */

static const char *const COMMON[] = {"type", "spec_version", "id", "created", "modified",
				     "object_marking_refs", "revoked", NULL};
static const char *const INDICATOR[] = {"pattern", "pattern_type", "pattern_version",
					"valid_from", "valid_until", NULL};
static const char *const SIGHTING[] = {"first_seen", "last_seen", "count", NULL};
static const char *const OBSERVED[] = {"first_observed", "last_observed", "number_observed",
				       NULL};
static const char *const SCO[] = {"value", "number", NULL};

static int copy_keys(json_t *dst, const json_t *src, const char *const *keys)
{
	for (size_t i = 0; keys[i]; i++) {
		json_t *v = json_object_get(src, keys[i]);
		if (v && json_object_set(dst, keys[i], v))
			return -1;
	}
	return 0;
}

static int copy_refs(json_t *dst, const json_t *src, const char *key,
		     bool (*ref_ok)(void *arg, const char *id), void *arg, bool list)
{
	json_t *v = json_object_get(src, key);
	if (!v)
		return 0;
	if (!list) {
		const char *id = json_string_value(v);
		if (id && ref_ok && ref_ok(arg, id))
			return json_object_set(dst, key, v);
		return 0;
	}
	json_t *a = json_array();
	if (!a)
		return -1;
	for (size_t i = 0; i < json_array_size(v); i++) {
		const char *id = json_string_value(json_array_get(v, i));
		if (id && ref_ok && ref_ok(arg, id))
			json_array_append(a, json_array_get(v, i));
	}
	if (json_array_size(a))
		return json_object_set_new(dst, key, a);
	json_decref(a);
	return 0;
}

json_t *notify_view(const json_t *obj, bool (*ref_ok)(void *arg, const char *id), void *arg)
{
	const char *type = json_string_value(json_object_get(obj, "type"));
	json_t *v = json_object();
	if (!v || !type || copy_keys(v, obj, COMMON))
		goto fail;
	bool granular = json_array_size(json_object_get(obj, "granular_markings")) > 0;
	if (strcmp(type, "indicator") == 0) {
		if (copy_keys(v, obj, INDICATOR))
			goto fail;
		if (!granular) {
			static const char *const named[] = {"name", "indicator_types", NULL};
			if (copy_keys(v, obj, named))
				goto fail;
		}
	} else if (strcmp(type, "sighting") == 0) {
		if (copy_keys(v, obj, SIGHTING) ||
		    copy_refs(v, obj, "sighting_of_ref", ref_ok, arg, false) ||
		    copy_refs(v, obj, "observed_data_refs", ref_ok, arg, true))
			goto fail;
	} else if (strcmp(type, "observed-data") == 0) {
		if (copy_keys(v, obj, OBSERVED) || copy_refs(v, obj, "object_refs", ref_ok, arg, true))
			goto fail;
		/* embedded objects (deprecated form): their values only */
		json_t *objs = json_object_get(obj, "objects");
		if (json_is_object(objs)) {
			json_t *copy = json_object();
			const char *k;
			json_t *o;
			if (!copy)
				goto fail;
			json_object_foreach(objs, k, o)
			{
				json_t *e = json_object();
				if (!e || json_object_set(e, "type", json_object_get(o, "type")) ||
				    copy_keys(e, o, SCO) || json_object_set_new(copy, k, e)) {
					json_decref(e);
					json_decref(copy);
					goto fail;
				}
			}
			if (json_object_set_new(v, "objects", copy))
				goto fail;
		}
	} else {
		if (copy_keys(v, obj, SCO))
			goto fail;
	}
	return v;
fail:
	json_decref(v);
	return NULL;
}
