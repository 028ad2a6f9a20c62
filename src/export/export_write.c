/*
 * export_write.c: the writers, one row each in `writers` below.
 *
 * A writer gets a sorted export_set whose values are already valid for
 * their kind (export_set.c) and appends its files to an export_output. It
 * writes only what its format can carry, counts the rest in left_out, and
 * writes every value once per file even when several indicators name it.
 * Free text (indicator names) goes into fields only through the format's
 * own escaping: JSON through jansson, CSV quoted (RFC 4180), Zeek with
 * tabs and control characters replaced by spaces. The ETag is a BLAKE2b
 * hash (libsodium) over every file's name and bytes.
 *
 * Formats (README "Exports" has the operator's view):
 *   zeek      renkei.intel: Intel framework input (Intel::ADDR, SUBNET,
 *             DOMAIN, URL without its scheme, EMAIL, FILE_HASH)
 *   suricata  renkei.rules and the lists it loads from the same directory:
 *             datasets renkei-ipv4.lst (ipv4), renkei-ip.lst (ip, the IPv6
 *             addresses), renkei-domain.lst (string, base64) and the
 *             filemd5/filesha1/filesha256 lists; networks, URLs, e-mail
 *             addresses and SHA-512 are left out (no dataset type for them)
 *   rpz       renkei.rpz: a response-policy zone, `name CNAME .` and
 *             `*.name CNAME .` (NXDOMAIN) per domain, relative names
 *   nftables  renkei.nft: table inet renkei, interval sets ipv4 and ipv6
 *   plain     renkei.txt: one value a line
 *   csv       renkei.csv: value,kind,indicator,name
 *   misp      renkei-misp.json: one MISP event, one attribute per value
 *   stix      renkei-stix.json: a STIX 2.1 bundle of the indicators
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "export.h"

typedef rk_err (*export_write_fn)(const export_set *s, export_output *out);

typedef struct export_writer {
	const char *name;
	const char *media_type;
	export_write_fn write;
} export_writer;

static rk_err write_zeek(const export_set *s, export_output *out);
static rk_err write_suricata(const export_set *s, export_output *out);
static rk_err write_rpz(const export_set *s, export_output *out);
static rk_err write_nftables(const export_set *s, export_output *out);
static rk_err write_plain(const export_set *s, export_output *out);
static rk_err write_csv(const export_set *s, export_output *out);
static rk_err write_misp(const export_set *s, export_output *out);
static rk_err write_stix(const export_set *s, export_output *out);

/* Indexed by export_format. */
static const export_writer writers[EXPORT_N_FORMATS] = {
	[EXPORT_ZEEK] = {"zeek", "text/plain; charset=utf-8", write_zeek},
	[EXPORT_SURICATA] = {"suricata", "text/plain; charset=utf-8", write_suricata},
	[EXPORT_RPZ] = {"rpz", "text/dns", write_rpz},
	[EXPORT_NFTABLES] = {"nftables", "text/plain; charset=utf-8", write_nftables},
	[EXPORT_PLAIN] = {"plain", "text/plain; charset=utf-8", write_plain},
	[EXPORT_CSV] = {"csv", "text/csv; charset=utf-8", write_csv},
	[EXPORT_MISP] = {"misp", "application/json", write_misp},
	[EXPORT_STIX] = {"stix", "application/stix+json;version=2.1", write_stix},
};

const char *export_format_name(export_format f)
{
	return (unsigned)f < EXPORT_N_FORMATS ? writers[f].name : NULL;
}

const char *export_format_media_type(export_format f)
{
	return (unsigned)f < EXPORT_N_FORMATS ? writers[f].media_type : NULL;
}

bool export_format_parse(const char *name, export_format *out)
{
	for (size_t i = 0; name && i < EXPORT_N_FORMATS; i++)
		if (strcmp(writers[i].name, name) == 0) {
			*out = (export_format)i;
			return true;
		}
	return false;
}

const char *export_format_names(void)
{
	return "zeek, suricata, rpz, nftables, plain, csv, misp, stix";
}

/* ---------------------------------------------------------------- output */

void export_output_init(export_output *o)
{
	memset(o, 0, sizeof *o);
}

void export_output_cleanup(export_output *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n_files; i++)
		rk_buf_cleanup(&o->files[i].body);
	memset(o, 0, sizeof *o);
}

const export_file *export_output_file(const export_output *out, const char *name)
{
	for (size_t i = 0; name && i < out->n_files; i++)
		if (strcmp(out->files[i].name, name) == 0)
			return &out->files[i];
	return NULL;
}

/* A new empty file; NULL past EXPORT_MAX_FILES (a writer bug). */
static rk_buf *new_file(export_output *out, const char *name)
{
	if (out->n_files == EXPORT_MAX_FILES)
		return NULL;
	export_file *f = &out->files[out->n_files++];
	f->name = name;
	rk_buf_init(&f->body);
	/* An empty file is "" too, not NULL. */
	if (rk_buf_reserve(&f->body, 1) != RK_OK)
		return NULL;
	f->body.data[0] = '\0';
	return &f->body;
}

/* Whether value i repeats value i-1 (same kind and text). */
static bool repeat(const export_set *s, size_t i)
{
	return i > 0 && s->val[i].kind == s->val[i - 1].kind &&
	       strcmp(s->val[i].value, s->val[i - 1].value) == 0;
}

static bool is_network(const char *v)
{
	return strchr(v, '/') != NULL;
}

static const char *kind_name(pattern_vkind k)
{
	switch (k) {
	case PATTERN_V_IPV4: return "ipv4";
	case PATTERN_V_IPV6: return "ipv6";
	case PATTERN_V_DOMAIN: return "domain";
	case PATTERN_V_URL: return "url";
	case PATTERN_V_EMAIL: return "email";
	case PATTERN_V_MD5: return "md5";
	case PATTERN_V_SHA1: return "sha1";
	case PATTERN_V_SHA256: return "sha256";
	case PATTERN_V_SHA512: return "sha512";
	case PATTERN_V_X509_SHA1: return "x509-sha1";
	case PATTERN_V_X509_SHA256: return "x509-sha256";
	}
	return "unknown";
}

/* ---------------------------------------------------------------- zeek */

/* Free text for a Zeek field: tabs, line ends and other control bytes
 * become spaces; empty text is Zeek's unset "-". */
static rk_err zeek_text(rk_buf *b, const char *s)
{
	if (!*s)
		return rk_buf_puts(b, "-");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char o = c < 0x20 || c == 0x7f ? ' ' : (char)c;
		rk_err e = rk_buf_append(b, &o, 1);
		if (e)
			return e;
	}
	return RK_OK;
}

static rk_err write_zeek(const export_set *s, export_output *out)
{
	rk_buf *b = new_file(out, "renkei.intel");
	rk_err e;

	if (!b)
		return RK_ENOMEM;
	e = rk_buf_puts(b, "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n");
	for (size_t i = 0; !e && i < s->n_val; i++) {
		const export_value *v = &s->val[i];
		const char *type = NULL, *value = v->value;
		if (repeat(s, i))
			continue;
		switch (v->kind) {
		case PATTERN_V_IPV4:
		case PATTERN_V_IPV6:
			type = is_network(value) ? "Intel::SUBNET" : "Intel::ADDR";
			break;
		case PATTERN_V_DOMAIN: type = "Intel::DOMAIN"; break;
		case PATTERN_V_URL:
			/* Zeek's Intel::URL is host and path, without the scheme. */
			type = "Intel::URL";
			value = strstr(value, "://") + 3;
			break;
		case PATTERN_V_EMAIL: type = "Intel::EMAIL"; break;
		/* Zeek's CERT_HASH is matched against certificates' SHA-1 */
		case PATTERN_V_X509_SHA1:
		case PATTERN_V_X509_SHA256: type = "Intel::CERT_HASH"; break;
		default: type = "Intel::FILE_HASH"; break;
		}
		/* Zeek reads a line starting with '#' as a header or comment,
		 * and "-" and "(empty)" as unset and empty fields. */
		if (value[0] == '#' || strcmp(value, "-") == 0 || strcmp(value, "(empty)") == 0) {
			out->left_out++;
			continue;
		}
		const export_indicator *ind = &s->ind[v->indicator];
		e = rk_buf_printf(b, "%s\t%s\trenkei\t%s", value, type, ind->id);
		if (!e && *ind->name)
			e = rk_buf_puts(b, " ");
		if (!e && *ind->name)
			e = zeek_text(b, ind->name);
		if (!e)
			e = rk_buf_puts(b, "\n");
		out->written++;
	}
	return e;
}

/* ---------------------------------------------------------------- suricata */

/* One list file of the Suricata export and the rules that use it. */
typedef struct suricata_list {
	const char *file;
	pattern_vkind kind;
	bool base64;    /* dataset type string: values base64-encoded */
	/* Each rule up to the list's file name; "; classtype ...; sid:N;
	 * rev:1;)" follows the name. */
	const char *rules[3];
} suricata_list;

#define SURICATA_SID_BASE 8710000

static const suricata_list suricata_lists[] = {
	{"renkei-ipv4.lst", PATTERN_V_IPV4, false,
	 {"alert ip any any -> any any (msg:\"renkei: listed IPv4 destination\"; ip.dst; "
	  "dataset:isset,renkei-ipv4,type ipv4,load ",
	  "alert ip any any -> any any (msg:\"renkei: listed IPv4 source\"; ip.src; "
	  "dataset:isset,renkei-ipv4,type ipv4,load "}},
	{"renkei-ip.lst", PATTERN_V_IPV6, false,
	 {"alert ip any any -> any any (msg:\"renkei: listed IPv6 destination\"; ip.dst; "
	  "dataset:isset,renkei-ip,type ip,load ",
	  "alert ip any any -> any any (msg:\"renkei: listed IPv6 source\"; ip.src; "
	  "dataset:isset,renkei-ip,type ip,load "}},
	{"renkei-domain.lst", PATTERN_V_DOMAIN, true,
	 {"alert dns any any -> any any (msg:\"renkei: DNS query for a listed domain\"; "
	  "dns.query; dataset:isset,renkei-domain,type string,load ",
	  "alert tls any any -> any any (msg:\"renkei: TLS SNI of a listed domain\"; tls.sni; "
	  "dataset:isset,renkei-domain,type string,load ",
	  "alert http any any -> any any (msg:\"renkei: HTTP host of a listed domain\"; "
	  "http.host; dataset:isset,renkei-domain,type string,load "}},
	{"renkei-md5.lst", PATTERN_V_MD5, false,
	 {"alert http any any -> any any (msg:\"renkei: file with a listed MD5\"; filemd5:"}},
	{"renkei-sha1.lst", PATTERN_V_SHA1, false,
	 {"alert http any any -> any any (msg:\"renkei: file with a listed SHA-1\"; filesha1:"}},
	{"renkei-sha256.lst", PATTERN_V_SHA256, false,
	 {"alert http any any -> any any (msg:\"renkei: file with a listed SHA-256\"; "
	  "filesha256:"}},
};

static rk_err write_suricata(const export_set *s, export_output *out)
{
	rk_buf *rules = new_file(out, "renkei.rules");
	rk_err e = RK_OK;
	unsigned sid = SURICATA_SID_BASE;

	if (!rules)
		return RK_ENOMEM;
	e = rk_buf_puts(rules, "# renkei export: load with the lists next to this file\n");
	for (size_t l = 0; !e && l < RK_ARRAY_LEN(suricata_lists); l++) {
		const suricata_list *sl = &suricata_lists[l];
		rk_buf *b = new_file(out, sl->file);
		size_t n = 0;
		if (!b)
			return RK_ENOMEM;
		for (size_t i = 0; !e && i < s->n_val; i++) {
			const export_value *v = &s->val[i];
			if (v->kind != sl->kind || repeat(s, i))
				continue;
			if (is_network(v->value))
				continue; /* counted below */
			if (sl->base64) {
				size_t len = strlen(v->value);
				size_t blen = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
				char *enc = malloc(blen);
				if (!enc)
					return RK_ENOMEM;
				sodium_bin2base64(enc, blen, (const unsigned char *)v->value, len,
						  sodium_base64_VARIANT_ORIGINAL);
				e = rk_buf_printf(b, "%s\n", enc);
				free(enc);
			} else {
				e = rk_buf_printf(b, "%s\n", v->value);
			}
			n++;
		}
		out->written += n;
		/* Suricata refuses a rule over an empty hash list: rules only
		 * for lists with something in them (the numbers stay fixed). */
		for (size_t r = 0; !e && r < RK_ARRAY_LEN(sl->rules); r++) {
			if (!sl->rules[r])
				continue;
			sid++;
			if (!n)
				continue;
			e = rk_buf_puts(rules, sl->rules[r]);
			if (!e)
				e = rk_buf_printf(rules, "%s; classtype:bad-unknown; sid:%u; rev:1;)\n",
						  sl->file, sid);
		}
	}
	for (size_t i = 0; i < s->n_val; i++) {
		pattern_vkind k = s->val[i].kind;
		if (repeat(s, i))
			continue;
		if (k == PATTERN_V_URL || k == PATTERN_V_EMAIL || k == PATTERN_V_SHA512 ||
		    k == PATTERN_V_X509_SHA1 || k == PATTERN_V_X509_SHA256 ||
		    ((k == PATTERN_V_IPV4 || k == PATTERN_V_IPV6) && is_network(s->val[i].value)))
			out->left_out++;
	}
	return e;
}

/* ---------------------------------------------------------------- rpz */

static rk_err write_rpz(const export_set *s, export_output *out)
{
	rk_buf *b = new_file(out, "renkei.rpz");
	rk_err e;

	if (!b)
		return RK_ENOMEM;
	/* RFC 1982 serial: the newest indicator's time in seconds, which
	 * grows as indicators are added or replaced. */
	uint32_t serial = s->newest > 0 ? (uint32_t)(s->newest / 1000000) : 1;
	e = rk_buf_printf(b,
			  "; renkei response-policy zone: every listed domain and its subdomains\n"
			  "; answer NXDOMAIN. Load it as any zone name (relative names).\n"
			  "$TTL 300\n"
			  "@ IN SOA localhost. hostmaster.localhost. %u 3600 600 86400 300\n"
			  "@ IN NS localhost.\n",
			  (unsigned)serial);
	for (size_t i = 0; !e && i < s->n_val; i++) {
		const export_value *v = &s->val[i];
		if (repeat(s, i))
			continue;
		if (v->kind != PATTERN_V_DOMAIN) {
			out->left_out++;
			continue;
		}
		e = rk_buf_printf(b, "%s CNAME .\n*.%s CNAME .\n", v->value, v->value);
		out->written++;
	}
	return e;
}

/* ---------------------------------------------------------------- nftables */

static rk_err nft_set(rk_buf *b, const export_set *s, pattern_vkind kind, const char *set,
		      size_t *n)
{
	bool first = true;
	rk_err e = RK_OK;

	*n = 0;
	for (size_t i = 0; !e && i < s->n_val; i++) {
		if (s->val[i].kind != kind || repeat(s, i))
			continue;
		if (first)
			e = rk_buf_printf(b, "add element inet renkei %s {", set);
		if (!e)
			e = rk_buf_printf(b, "%s\n\t%s", first ? "" : ",", s->val[i].value);
		first = false;
		(*n)++;
	}
	if (!e && !first)
		e = rk_buf_puts(b, "\n}\n");
	return e;
}

static rk_err write_nftables(const export_set *s, export_output *out)
{
	rk_buf *b = new_file(out, "renkei.nft");
	size_t n4 = 0, n6 = 0;
	rk_err e;

	if (!b)
		return RK_ENOMEM;
	/* Declaring the table and sets, then flushing them, makes the file
	 * replace the sets' contents atomically however often it is loaded
	 * (nft -f runs it as one transaction). auto-merge takes overlapping
	 * networks and addresses inside them. */
	e = rk_buf_puts(b, "#!/usr/sbin/nft -f\n"
			   "table inet renkei {\n"
			   "\tset ipv4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\tauto-merge\n\t}\n"
			   "\tset ipv6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n\t\tauto-merge\n\t}\n"
			   "}\n"
			   "flush set inet renkei ipv4\n"
			   "flush set inet renkei ipv6\n");
	if (!e)
		e = nft_set(b, s, PATTERN_V_IPV4, "ipv4", &n4);
	if (!e)
		e = nft_set(b, s, PATTERN_V_IPV6, "ipv6", &n6);
	out->written += n4 + n6;
	for (size_t i = 0; i < s->n_val; i++)
		if (s->val[i].kind != PATTERN_V_IPV4 && s->val[i].kind != PATTERN_V_IPV6 &&
		    !repeat(s, i))
			out->left_out++;
	return e;
}

/* ---------------------------------------------------------------- plain, csv */

static rk_err write_plain(const export_set *s, export_output *out)
{
	rk_buf *b = new_file(out, "renkei.txt");
	rk_err e = RK_OK;

	if (!b)
		return RK_ENOMEM;
	for (size_t i = 0; !e && i < s->n_val; i++) {
		if (repeat(s, i))
			continue;
		if (s->val[i].value[0] == '#') { /* a comment to most list readers */
			out->left_out++;
			continue;
		}
		e = rk_buf_printf(b, "%s\n", s->val[i].value);
		out->written++;
	}
	return e;
}

/* RFC 4180: quoted when it holds a comma, quote or line break; quotes
 * doubled. Other control bytes become spaces. */
static rk_err csv_field(rk_buf *b, const char *s)
{
	bool quote = strpbrk(s, ",\"\r\n") != NULL;
	rk_err e = quote ? rk_buf_puts(b, "\"") : RK_OK;
	for (; !e && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"')
			e = rk_buf_puts(b, "\"\"");
		else if ((c < 0x20 && c != '\r' && c != '\n') || c == 0x7f)
			e = rk_buf_puts(b, " ");
		else
			e = rk_buf_append(b, s, 1);
	}
	if (!e && quote)
		e = rk_buf_puts(b, "\"");
	return e;
}

static rk_err write_csv(const export_set *s, export_output *out)
{
	rk_buf *b = new_file(out, "renkei.csv");
	rk_err e;

	if (!b)
		return RK_ENOMEM;
	e = rk_buf_puts(b, "value,kind,indicator,name\r\n");
	for (size_t i = 0; !e && i < s->n_val; i++) {
		const export_value *v = &s->val[i];
		const export_indicator *ind = &s->ind[v->indicator];
		/* One row per (value, indicator): each names its source. */
		if (i && repeat(s, i) && s->val[i - 1].indicator == v->indicator)
			continue;
		e = csv_field(b, v->value);
		if (!e)
			e = rk_buf_printf(b, ",%s,%s,", kind_name(v->kind), ind->id);
		if (!e)
			e = csv_field(b, ind->name);
		if (!e)
			e = rk_buf_puts(b, "\r\n");
		out->written++;
	}
	return e;
}

/* ---------------------------------------------------------------- json */

/* The namespace of the ids exports make (MISP event and attribute UUIDs,
 * bundle ids): UUIDv5 names under it are stable for equal content. */
#define EXPORT_UUID_NS "6f1f2a7e-3c7b-5d3e-9d2a-2b1e6c1f0a41"

static rk_err uuid_of(const char *name, char out[RK_UUID_BUF])
{
	return rk_uuid_v5(EXPORT_UUID_NS, name, strlen(name), out);
}

static rk_err dump_json(rk_buf *b, json_t *doc)
{
	if (!doc)
		return RK_ENOMEM;
	/* Never json_dumps: see common_arena.c (a). */
	rk_err e = rk_json_dump_to(b, doc, JSON_SORT_KEYS | JSON_INDENT(1) | JSON_ENSURE_ASCII);
	json_decref(doc);
	if (!e)
		e = rk_buf_puts(b, "\n");
	return e;
}

static void misp_type(pattern_vkind k, const char **type, const char **category)
{
	*category = "Payload delivery";
	*type = "other";
	switch (k) {
	case PATTERN_V_IPV4:
	case PATTERN_V_IPV6: *type = "ip-dst"; *category = "Network activity"; break;
	case PATTERN_V_DOMAIN: *type = "domain"; *category = "Network activity"; break;
	case PATTERN_V_URL: *type = "url"; *category = "Network activity"; break;
	case PATTERN_V_EMAIL: *type = "email-src"; break;
	case PATTERN_V_MD5: *type = "md5"; break;
	case PATTERN_V_SHA1: *type = "sha1"; break;
	case PATTERN_V_SHA256: *type = "sha256"; break;
	case PATTERN_V_SHA512: *type = "sha512"; break;
	case PATTERN_V_X509_SHA1: *type = "x509-fingerprint-sha1"; *category = "Network activity"; break;
	case PATTERN_V_X509_SHA256: *type = "x509-fingerprint-sha256"; *category = "Network activity"; break;
	}
}

static rk_err write_misp(const export_set *s, export_output *out)
{
	rk_buf *b = new_file(out, "renkei-misp.json");
	char uuid[RK_UUID_BUF], name[1024], date[RK_TIME_BUF];
	json_t *ev = json_object(), *attrs = json_array();
	rk_err e = RK_OK;

	if (!b || !ev || !attrs) {
		json_decref(ev);
		json_decref(attrs);
		return RK_ENOMEM;
	}
	snprintf(name, sizeof name, "renkei export %s", s->org ? s->org : "public");
	e = uuid_of(name, uuid);
	rk_time_format(s->newest, 0, date);
	date[10] = '\0';
	json_object_set_new(ev, "uuid", json_string(uuid));
	json_object_set_new(ev, "info", json_string(name));
	json_object_set_new(ev, "date", json_string(date));
	json_object_set_new(ev, "timestamp",
			    json_sprintf("%lld", (long long)(s->newest / 1000000)));
	json_object_set_new(ev, "published", json_false());
	json_object_set_new(ev, "analysis", json_string("2"));
	json_object_set_new(ev, "threat_level_id", json_string("4"));
	/* 0: your organisation only; 3: all communities (public, CLEAR). */
	json_object_set_new(ev, "distribution", json_string(s->org ? "0" : "3"));
	for (size_t i = 0; !e && i < s->n_val; i++) {
		const export_value *v = &s->val[i];
		const export_indicator *ind = &s->ind[v->indicator];
		const char *type, *category;
		if (i && repeat(s, i) && s->val[i - 1].indicator == v->indicator)
			continue;
		misp_type(v->kind, &type, &category);
		snprintf(name, sizeof name, "%s %s %s", ind->id, kind_name(v->kind), v->value);
		if ((e = uuid_of(name, uuid)))
			break;
		json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s%}", "uuid", uuid,
				      "type", type, "category", category, "value", v->value,
				      "to_ids", 1, "comment", ind->id, "timestamp", "", 0);
		if (!a || json_array_append_new(attrs, a)) {
			e = RK_ENOMEM;
			break;
		}
		json_object_set_new(a, "timestamp",
				    json_sprintf("%lld", (long long)(ind->modified / 1000000)));
		if (*ind->name)
			json_object_set_new(a, "comment", json_sprintf("%s %s", ind->id, ind->name));
		out->written++;
	}
	json_object_set_new(ev, "Attribute", attrs);
	json_t *doc = json_pack("{s:o}", "Event", ev);
	if (e) {
		json_decref(doc);
		return e;
	}
	return dump_json(b, doc);
}

static rk_err write_stix(const export_set *s, export_output *out)
{
	rk_buf *b = new_file(out, "renkei-stix.json");
	json_t *objs = json_array();
	char id[RK_UUID_BUF + 8], uuid[RK_UUID_BUF];

	if (!b || !objs) {
		json_decref(objs);
		return RK_ENOMEM;
	}
	for (size_t i = 0; i < s->n_ind; i++) {
		if (json_array_append(objs, s->ind[i].stix)) {
			json_decref(objs);
			return RK_ENOMEM;
		}
		out->written++;
	}
	/* The bundle id names the content: equal objects, equal id. */
	rk_buf text;
	rk_buf_init(&text);
	rk_err e = rk_json_dump_to(&text, objs, JSON_SORT_KEYS | JSON_COMPACT);
	if (!e)
		e = rk_uuid_v5(EXPORT_UUID_NS, text.data, text.len, uuid);
	rk_buf_cleanup(&text);
	if (e) {
		json_decref(objs);
		return e;
	}
	snprintf(id, sizeof id, "bundle--%s", uuid);
	return dump_json(b, json_pack("{s:s, s:s, s:o}", "type", "bundle", "id", id,
				      "objects", objs));
}

/* ---------------------------------------------------------------- render */

rk_err export_render(export_set *s, export_format f, export_output *out, rk_errctx *ctx)
{
	if ((unsigned)f >= EXPORT_N_FORMATS)
		return rk_fail(ctx, RK_EINVAL, NULL, "unknown export format (known: %s)",
			       export_format_names());
	if (export_set_sort(s) != RK_OK)
		return rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
	rk_err e = writers[f].write(s, out);
	if (e)
		return rk_fail(ctx, e, NULL, "writing the %s export: %s", writers[f].name,
			       rk_strerror(e));
	crypto_generichash_state st;
	unsigned char h[16];
	crypto_generichash_init(&st, NULL, 0, sizeof h);
	for (size_t i = 0; i < out->n_files; i++) {
		const export_file *ef = &out->files[i];
		crypto_generichash_update(&st, (const unsigned char *)ef->name, strlen(ef->name) + 1);
		crypto_generichash_update(&st, (const unsigned char *)ef->body.data, ef->body.len);
		unsigned char sep = 0;
		crypto_generichash_update(&st, &sep, 1);
	}
	crypto_generichash_final(&st, h, sizeof h);
	out->etag[0] = '"';
	for (size_t i = 0; i < sizeof h; i++)
		snprintf(out->etag + 1 + 2 * i, 3, "%02x", h[i]);
	out->etag[1 + 2 * sizeof h] = '"';
	out->etag[2 + 2 * sizeof h] = '\0';
	return RK_OK;
}
