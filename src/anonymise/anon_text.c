/*
 * anon_text.c: the scrubbing rules over one string.
 *
 * A string goes through the passes in this order, each on the previous
 * pass's output, so a later pass never sees what an earlier one removed:
 *
 *   configured patterns  scrub: match -> "[redacted:NAME]"; review: flag
 *   URLs                 scheme://... up to a blank, quote or '<' '>':
 *                        everything from the first '?' or '#' is removed
 *   e-mail addresses     local@domain -> "[redacted-email]"
 *   owned IPv6, IPv4     an address inside one of the submitter's blocks
 *                        (IPv4-mapped IPv6 included), with its "/len"
 *   owned domains        the domain or any subdomain, ASCII or Unicode form
 *   owned AS numbers     "AS64500", "ASN 64500" as words -> "[redacted-asn]"
 *   names                the submitter's name and id, names of individuals
 *                        named in the envelope -> "[redacted-name]" (ASCII
 *                        case-insensitive, on word boundaries)
 *
 * In an observable (`observable` true: a pattern, an observable's value)
 * URL queries and e-mail addresses are the indicator itself: they are left
 * and the object flagged for review, since scrubbing would change what the
 * indicator matches. Owned addresses and domains identify the submitter
 * with certainty: they are replaced there too (by 0.0.0.0, ::, and
 * redacted.invalid, which keep a pattern valid) and the object is also
 * flagged, because its meaning changed.
 *
 * Nothing here allocates per byte: each pass copies the string once into
 * a buffer. A configured pattern that exceeds its match limit
 * (RK_ANON_MATCH_LIMIT) flags the object for review: a rule that could not
 * be applied is no certainty.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "anon_int.h"

typedef struct scrub {
	const anon_rules *rules;
	const anon_submitter *sub;
	const char *const *names;
	size_t n_names;
	bool observable;
	anon_note_fn note;
	void *arg;
	rk_buf out;
	bool oom;
} scrub;

static void note(scrub *s, const char *rule, bool review)
{
	if (s->note)
		s->note(s->arg, rule, review);
}

static void put(scrub *s, const char *p, size_t n)
{
	if (rk_buf_append(&s->out, p, n) != RK_OK)
		s->oom = true;
}

/* Ends a pass: *cur becomes the pass's output. */
static void swap(scrub *s, char **cur)
{
	if (s->oom)
		return;
	put(s, "", 0);
	char *next = rk_buf_take(&s->out);
	if (!next) {
		next = strdup("");
		if (!next) {
			s->oom = true;
			return;
		}
	}
	free(*cur);
	*cur = next;
	rk_buf_init(&s->out);
}

static bool ascii_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool label_char(unsigned char c)
{
	return ascii_alnum(c) || c == '-';
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static bool same_ci(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
	return true;
}

/* ---------------------------------------------------------------- patterns */

static void pass_patterns(scrub *s, char **cur)
{
	const anon_rules *r = s->rules;
	pcre2_match_context *mc = pcre2_match_context_create(NULL);

	if (!mc) {
		s->oom = true;
		return;
	}
	pcre2_set_match_limit(mc, RK_ANON_MATCH_LIMIT);
	for (size_t i = 0; r && i < r->n_patterns && !s->oom; i++) {
		const anon_pattern *p = &r->patterns[i];
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(p->re, NULL);
		const char *t = *cur;
		size_t len = strlen(t), pos = 0, copied = 0;
		bool hit = false;
		if (!md) {
			s->oom = true;
			break;
		}
		while (pos <= len) {
			int rc = pcre2_match(p->re, (PCRE2_SPTR)t, len, pos, 0, md, mc);
			if (rc == PCRE2_ERROR_NOMATCH)
				break;
			if (rc < 0) {
				/* the match limit, or a UTF error: not certain */
				note(s, p->name, true);
				break;
			}
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			size_t a = ov[0], b = ov[1];
			hit = true;
			if (p->action == ANON_ACT_REVIEW)
				break;
			put(s, t + copied, a - copied);
			put(s, p->replacement, strlen(p->replacement));
			copied = b;
			if (b == a) {
				/* an empty match: step over one character */
				size_t step = 1;
				while (b + step < len && ((unsigned char)t[b + step] & 0xc0) == 0x80)
					step++;
				if (b < len)
					put(s, t + b, step);
				copied = b + step;
				pos = b + step;
				if (b >= len)
					break;
			} else {
				pos = b;
			}
		}
		pcre2_match_data_free(md);
		if (hit)
			note(s, p->name, p->action == ANON_ACT_REVIEW);
		if (hit && p->action == ANON_ACT_SCRUB) {
			if (copied < len)
				put(s, t + copied, len - copied);
			swap(s, cur);
		} else {
			rk_buf_reset(&s->out);
		}
	}
	pcre2_match_context_free(mc);
}

/* ---------------------------------------------------------------- names */

static void pass_name(scrub *s, char **cur, const char *name, const char *rule)
{
	const char *t = *cur;
	size_t len = strlen(t), nl = name ? strlen(name) : 0, copied = 0;
	bool hit = false;

	if (nl < 3 || nl > len)
		return;
	for (size_t i = 0; i + nl <= len; i++) {
		if (!same_ci(t + i, name, nl))
			continue;
		if ((i > 0 && ascii_alnum((unsigned char)t[i - 1]) &&
		     ascii_alnum((unsigned char)name[0])) ||
		    (i + nl < len && ascii_alnum((unsigned char)t[i + nl]) &&
		     ascii_alnum((unsigned char)name[nl - 1])))
			continue;
		put(s, t + copied, i - copied);
		put(s, "[redacted-name]", 15);
		copied = i + nl;
		i += nl - 1;
		hit = true;
	}
	if (!hit)
		return;
	put(s, t + copied, len - copied);
	note(s, rule, false);
	swap(s, cur);
}

/* ---------------------------------------------------------------- URLs */

static bool url_end(unsigned char c)
{
	return c <= ' ' || c == '"' || c == '\'' || c == '<' || c == '>' || c == '`' ||
	       c == '\\' || c == 0x7f;
}

static void pass_urls(scrub *s, char **cur)
{
	const char *t = *cur;
	size_t len = strlen(t), copied = 0;
	bool hit = false;

	for (size_t i = 1; i + 3 <= len; i++) {
		if (memcmp(t + i, "://", 3) != 0 || !ascii_alnum((unsigned char)t[i - 1]))
			continue;
		size_t end = i + 3;
		while (end < len && !url_end((unsigned char)t[end]))
			end++;
		size_t q = i + 3;
		while (q < end && t[q] != '?' && t[q] != '#')
			q++;
		if (q < end) {
			hit = true;
			if (!s->observable) {
				put(s, t + copied, q - copied);
				copied = end;
			}
		}
		i = end;
	}
	if (!hit)
		return;
	note(s, ANON_RULE_URL_QUERY, s->observable);
	if (s->observable)
		return;
	put(s, t + copied, len - copied);
	swap(s, cur);
}

/* ---------------------------------------------------------------- e-mail */

static bool local_char(unsigned char c)
{
	return ascii_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static void pass_emails(scrub *s, char **cur)
{
	const char *t = *cur;
	size_t len = strlen(t), copied = 0;
	bool hit = false;

	for (size_t at = 1; at + 1 < len; at++) {
		if (t[at] != '@')
			continue;
		size_t a = at, b = at + 1;
		while (a > copied && local_char((unsigned char)t[a - 1]))
			a--;
		while (b < len && (label_char((unsigned char)t[b]) || t[b] == '.' ||
				   (unsigned char)t[b] >= 0x80))
			b++;
		/* Unicode text after an address is not part of it; nor is
		 * a final dot or hyphen */
		while (b > at + 1 && ((unsigned char)t[b - 1] >= 0x80 || t[b - 1] == '.' ||
				      t[b - 1] == '-'))
			b--;
		while (a < at && t[a] == '.')
			a++;
		if (a == at || b == at + 1 || !memchr(t + at + 1, '.', b - at - 1))
			continue;
		hit = true;
		if (!s->observable) {
			put(s, t + copied, a - copied);
			put(s, "[redacted-email]", 16);
			copied = b;
		}
		at = b;
	}
	if (!hit)
		return;
	note(s, ANON_RULE_EMAIL, s->observable);
	if (s->observable)
		return;
	put(s, t + copied, len - copied);
	swap(s, cur);
}

/* ---------------------------------------------------------------- addresses */

static bool hex_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The length of "/digits" at p (0 when none). */
static size_t prefix_len(const char *p)
{
	size_t n = 0;
	if (p[0] != '/')
		return 0;
	while (p[1 + n] >= '0' && p[1 + n] <= '9' && n < 3)
		n++;
	return n ? n + 1 : 0;
}

static void pass_addresses(scrub *s, char **cur, bool v6)
{
	const anon_assets *as = s->sub ? s->sub->assets : NULL;
	const char *t = *cur;
	size_t len = strlen(t), copied = 0;
	bool hit = false;

	if (!as || !as->n_nets)
		return;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)t[i];
		bool in = v6 ? hex_char(c) || c == ':' || c == '.' : (c >= '0' && c <= '9') || c == '.';
		if (!in) {
			i++;
			continue;
		}
		size_t a = i, b = i, colons = 0;
		while (b < len) {
			unsigned char d = (unsigned char)t[b];
			if (!(v6 ? hex_char(d) || d == ':' || d == '.' : (d >= '0' && d <= '9') || d == '.'))
				break;
			colons += d == ':';
			b++;
		}
		i = b;
		size_t e = b;
		while (e > a && t[e - 1] == '.')
			e--;
		if (v6 && colons < 2)
			continue;
		/* a word ending in hex letters before the address ("ip:...")
		 * leaves a single leading colon */
		if (v6 && e - a > 2 && t[a] == ':' && t[a + 1] != ':')
			a++;
		if (v6 && e > a + 1 && t[e - 1] == ':' && t[e - 2] != ':')
			e--;
		char text[64];
		unsigned char addr[16] = {0};
		if (e <= a || e - a >= sizeof text)
			continue;
		memcpy(text, t + a, e - a);
		text[e - a] = '\0';
		if (v6) {
			if (inet_pton(AF_INET6, text, addr) != 1)
				continue;
		} else {
			addr[10] = addr[11] = 0xff;
			if (inet_pton(AF_INET, text, addr + 12) != 1)
				continue;
		}
		if (!anon_assets_has_address(as, addr))
			continue;
		hit = true;
		size_t end = e + prefix_len(t + e);
		put(s, t + copied, a - copied);
		const char *rep = !s->observable ? "[redacted-address]" : v6 ? "::" : "0.0.0.0";
		put(s, rep, strlen(rep));
		copied = end;
		i = end > i ? end : i;
	}
	if (!hit)
		return;
	put(s, t + copied, len - copied);
	note(s, ANON_RULE_OWNED_ADDRESS, s->observable);
	swap(s, cur);
}

/* ---------------------------------------------------------------- AS numbers */

/* "AS64500", "as 64500", "ASN64500" as a word, for one of the submitter's
 * AS numbers. */
static void pass_asns(scrub *s, char **cur)
{
	const anon_assets *as = s->sub ? s->sub->assets : NULL;
	const char *t = *cur;
	size_t len = strlen(t), copied = 0;
	bool hit = false;

	if (!as || !as->n_asns)
		return;
	for (size_t i = 0; i + 2 < len; i++) {
		if (lower((unsigned char)t[i]) != 'a' || lower((unsigned char)t[i + 1]) != 's' ||
		    (i > 0 && ascii_alnum((unsigned char)t[i - 1])))
			continue;
		size_t d = i + 2;
		if (d < len && lower((unsigned char)t[d]) == 'n')
			d++;
		if (d < len && t[d] == ' ')
			d++;
		size_t e = d;
		uint64_t v = 0;
		while (e < len && t[e] >= '0' && t[e] <= '9' && e - d < 10)
			v = v * 10 + (uint64_t)(t[e++] - '0');
		if (e == d || (e < len && ascii_alnum((unsigned char)t[e])))
			continue;
		bool owned = false;
		for (size_t k = 0; k < as->n_asns; k++)
			owned |= as->asns[k] == v;
		if (!owned)
			continue;
		put(s, t + copied, i - copied);
		put(s, "[redacted-asn]", 14);
		copied = e;
		i = e - 1;
		hit = true;
	}
	if (!hit)
		return;
	put(s, t + copied, len - copied);
	note(s, ANON_RULE_OWNED_ASN, s->observable);
	swap(s, cur);
}

/* ---------------------------------------------------------------- domains */

static bool pass_domain(scrub *s, char **cur, const char *dom)
{
	const char *t = *cur;
	size_t len = strlen(t), dl = strlen(dom), copied = 0;
	bool hit = false;

	if (!dl || dl > len)
		return false;
	for (size_t i = 0; i + dl <= len; i++) {
		if (!same_ci(t + i, dom, dl))
			continue;
		size_t end = i + dl;
		/* the right end of a name: not followed by a label character,
		 * nor by a dot and more labels (corp.jp.evil.example) */
		if (end < len && (label_char((unsigned char)t[end]) ||
				  (t[end] == '.' && end + 1 < len &&
				   label_char((unsigned char)t[end + 1]))))
			continue;
		size_t a = i;
		if (a > 0 && label_char((unsigned char)t[a - 1]))
			continue; /* notcorp.jp */
		if (a > 0 && t[a - 1] == '.') {
			/* a subdomain: take its labels too */
			while (a > copied && (label_char((unsigned char)t[a - 1]) || t[a - 1] == '.'))
				a--;
			while (a < i && t[a] == '.')
				a++;
		}
		put(s, t + copied, a - copied);
		const char *rep = s->observable ? "redacted.invalid" : "[redacted-domain]";
		put(s, rep, strlen(rep));
		copied = end;
		i = end - 1;
		hit = true;
	}
	if (!hit)
		return false;
	put(s, t + copied, len - copied);
	swap(s, cur);
	return true;
}

static void pass_domains(scrub *s, char **cur)
{
	const anon_assets *as = s->sub ? s->sub->assets : NULL;
	bool hit = false;

	for (size_t i = 0; as && i < as->n_domains && !s->oom; i++) {
		hit |= pass_domain(s, cur, as->domains[i]);
		if (as->domains_u[i])
			hit |= pass_domain(s, cur, as->domains_u[i]);
	}
	if (hit)
		note(s, ANON_RULE_OWNED_DOMAIN, s->observable);
}

rk_err anon_scrub_text(const anon_rules *rules, const anon_submitter *sub,
		       const char *const *names, size_t n_names, const char *in,
		       bool observable, char **out, anon_note_fn note_fn, void *arg)
{
	scrub s = {.rules = rules, .sub = sub, .names = names, .n_names = n_names,
		   .observable = observable, .note = note_fn, .arg = arg};
	char *cur = strdup(in);

	*out = NULL;
	if (!cur)
		return RK_ENOMEM;
	rk_buf_init(&s.out);
	pass_patterns(&s, &cur);
	if (!s.oom)
		pass_urls(&s, &cur);
	if (!s.oom)
		pass_emails(&s, &cur);
	if (!s.oom)
		pass_addresses(&s, &cur, true);
	if (!s.oom)
		pass_addresses(&s, &cur, false);
	if (!s.oom)
		pass_domains(&s, &cur);
	if (!s.oom)
		pass_asns(&s, &cur);
	if (sub && !s.oom) {
		pass_name(&s, &cur, sub->org_name, ANON_RULE_SUBMITTER_NAME);
		pass_name(&s, &cur, sub->org_id, ANON_RULE_SUBMITTER_NAME);
	}
	for (size_t i = 0; i < n_names && !s.oom; i++)
		pass_name(&s, &cur, names[i], ANON_RULE_PERSON_NAME);
	rk_buf_cleanup(&s.out);
	if (s.oom) {
		free(cur);
		return RK_ENOMEM;
	}
	*out = cur;
	return RK_OK;
}
