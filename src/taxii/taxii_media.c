/*
 * taxii_media.c: media-type negotiation for TAXII 2.1 (section 1.6.8).
 *
 * TAXII 2.1 uses one media type for its resources and envelopes,
 * application/taxii+json;version=2.1, and names STIX content
 * application/stix+json;version=2.1 (that name appears in a collection's
 * media_types and a manifest record's media_type; the objects endpoints
 * answer with a TAXII envelope, so their responses are taxii+json).
 * A missing version parameter means the latest version the server
 * supports, which here is 2.1; any other version does not match.
 *
 * The Accept parser follows RFC 9110 section 12.5.1 closely enough for
 * negotiation: comma-separated media ranges, parameters after ';', optional
 * whitespace, quoted parameter values, q=0 meaning "not acceptable". It
 * never allocates and reads its input once, so it is safe on hostile
 * headers of any length (libmicrohttpd already bounds header size).
 */
#include <string.h>
#include <strings.h>

#include "taxii_int.h"

typedef struct slice {
	const char *p;
	size_t n;
} slice;

static slice trim(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return (slice){p, n};
}

static bool slice_eq(slice s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

/* One media range "type/sub;k=v;k=v": fills type/sub, version and q. */
typedef struct media_range {
	slice type, sub, version;
	bool has_version;
	bool q_zero;
} media_range;

static bool parse_range(slice r, media_range *out)
{
	memset(out, 0, sizeof *out);
	const char *semi = memchr(r.p, ';', r.n);
	slice full = trim(r.p, semi ? (size_t)(semi - r.p) : r.n);
	const char *slash = memchr(full.p, '/', full.n);
	if (!slash)
		return false;
	out->type = trim(full.p, (size_t)(slash - full.p));
	out->sub = trim(slash + 1, full.n - (size_t)(slash - full.p) - 1);
	if (!out->type.n || !out->sub.n)
		return false;
	while (semi) {
		const char *start = semi + 1;
		size_t rest = r.n - (size_t)(start - r.p);
		semi = memchr(start, ';', rest);
		slice param = trim(start, semi ? (size_t)(semi - start) : rest);
		const char *eq = memchr(param.p, '=', param.n);
		if (!eq)
			continue;
		slice key = trim(param.p, (size_t)(eq - param.p));
		slice val = trim(eq + 1, param.n - (size_t)(eq - param.p) - 1);
		if (val.n >= 2 && val.p[0] == '"' && val.p[val.n - 1] == '"') {
			val.p++;
			val.n -= 2;
		}
		if (slice_eq(key, "version")) {
			out->version = val;
			out->has_version = true;
		} else if (slice_eq(key, "q")) {
			/* q=0, q=0., q=0.000 refuse; anything else accepts. */
			bool zero = val.n > 0 && val.p[0] == '0';
			for (size_t i = 1; zero && i < val.n; i++)
				if (!(val.p[i] == '.' && i == 1) && val.p[i] != '0')
					zero = false;
			out->q_zero = zero;
		}
	}
	return true;
}

/* How specifically a range matches `want` (RFC 9110 section 12.5.1: the
 * most specific range decides): 0 no match, 1 any type, 2 any subtype of
 * the right type, 3 exact, 4 exact with a version parameter. */
static int range_matches(const media_range *m, taxii_media_type want)
{
	const char *type = want == TAXII_MEDIA_TYPE_TEXT ? "text" : "application";
	const char *sub = want == TAXII_MEDIA_TYPE_TEXT ? "plain"
			  : want == TAXII_MEDIA_TYPE_STIX ? "stix+json"
							   : "taxii+json";
	if (slice_eq(m->type, "*"))
		return slice_eq(m->sub, "*") ? 1 : 0;
	if (!slice_eq(m->type, type))
		return 0;
	if (slice_eq(m->sub, "*"))
		return 2;
	if (!slice_eq(m->sub, sub))
		return 0;
	if (want == TAXII_MEDIA_TYPE_TEXT || !m->has_version)
		return 3;
	return slice_eq(m->version, "2.1") ? 4 : 0;
}

bool taxii_accept_allows(const char *accept, taxii_media_type want)
{
	if (!accept || want == TAXII_MEDIA_TYPE_ANY)
		return true;
	slice all = trim(accept, strlen(accept));
	if (all.n == 0)
		return true;
	int best = 0;
	bool best_refuses = false;
	const char *p = all.p, *end = all.p + all.n;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		slice r = trim(p, comma ? (size_t)(comma - p) : (size_t)(end - p));
		media_range m;
		if (r.n && parse_range(r, &m)) {
			int spec = range_matches(&m, want);
			/* Among equally specific ranges a refusal wins. */
			if (spec > best || (spec == best && spec && m.q_zero)) {
				best = spec;
				best_refuses = m.q_zero;
			}
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	return best > 0 && !best_refuses;
}

bool taxii_content_type_ok(const char *content_type)
{
	if (!content_type)
		return false;
	slice s = trim(content_type, strlen(content_type));
	media_range m;
	if (!s.n || !parse_range(s, &m))
		return false;
	if (!slice_eq(m.type, "application") || !slice_eq(m.sub, "taxii+json"))
		return false;
	return !m.has_version || slice_eq(m.version, "2.1");
}
