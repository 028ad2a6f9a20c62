/*
 * test_taxii_query.c: TAXII query parameters, paging cursors and media-type
 * negotiation, without a server.
 *
 * The query cases are a table (raw query string, parameters the endpoint
 * takes, expected outcome and, for a refusal, the parameter named in the
 * error): the same strings a client would put after '?'.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "taxii_int.h"

static const struct qcase {
	const char *query;
	unsigned allowed;
	bool ok;
	const char *param; /* expected details.param on failure */
} qcases[] = {
	{"", TAXII_P_LISTING, true, NULL},
	{"limit=10", TAXII_P_LISTING, true, NULL},
	{"limit=0", TAXII_P_LISTING, false, "limit"},
	{"limit=-1", TAXII_P_LISTING, false, "limit"},
	{"limit=abc", TAXII_P_LISTING, false, "limit"},
	{"limit=5&limit=6", TAXII_P_LISTING, false, "limit"},
	{"added_after=2024-01-01T00:00:00Z", TAXII_P_LISTING, true, NULL},
	{"added_after=2024-01-01T00:00:00.123456Z", TAXII_P_LISTING, true, NULL},
	{"added_after=yesterday", TAXII_P_LISTING, false, "added_after"},
	{"added_after=2024-02-30T00:00:00Z", TAXII_P_LISTING, false, "added_after"},
	{"match[type]=indicator,malware", TAXII_P_LISTING, true, NULL},
	{"match%5Btype%5D=indicator", TAXII_P_LISTING, true, NULL},
	{"match[type]=Indicator", TAXII_P_LISTING, false, "match[type]"},
	{"match[type]=indicator,,malware", TAXII_P_LISTING, false, "match[type]"},
	{"match[type]=", TAXII_P_LISTING, false, "match[type]"},
	{"match[type]", TAXII_P_LISTING, false, "match[type]"},
	{"match[id]=indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", TAXII_P_LISTING, true, NULL},
	{"match[id]=indicator--nope", TAXII_P_LISTING, false, "match[id]"},
	{"match[version]=first,last", TAXII_P_LISTING, true, NULL},
	/* TAXII 2.1 section 3.4.1: "all" alone, nothing twice */
	{"match[version]=first,last,all", TAXII_P_LISTING, false, "match[version]"},
	{"match[version]=all,first", TAXII_P_LISTING, false, "match[version]"},
	{"match[version]=all,all", TAXII_P_LISTING, false, "match[version]"},
	{"match[version]=last,last", TAXII_P_LISTING, false, "match[version]"},
	{"match[version]=first&match[version]=first", TAXII_P_LISTING, false, "match[version]"},
	{"match[version]=2024-01-01T00:00:00Z,2024-01-01T00:00:00.000Z", TAXII_P_LISTING, false,
	 "match[version]"},
	{"match[version]=2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,first", TAXII_P_LISTING, true, NULL},
	/* section 3.4: each match field at most once per request */
	{"match[type]=indicator&match[type]=malware", TAXII_P_LISTING, false, "match[type]"},
	{"match[id]=indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f&match[id]=indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
	 TAXII_P_LISTING, false, "match[id]"},
	{"match[spec_version]=2.1&match[spec_version]=2.0", TAXII_P_LISTING, false, "match[spec_version]"},
	{"next=abc&next=abc", TAXII_P_LISTING, false, "next"},
	{"added_after=2024-01-01T00:00:00Z&added_after=2024-01-01T00:00:00Z", TAXII_P_LISTING, false,
	 "added_after"},
	/* limit: positive integers only; huge values are capped, not refused */
	{"limit=+5", TAXII_P_LISTING, false, "limit"},
	{"limit=1.5", TAXII_P_LISTING, false, "limit"},
	{"limit=99999999999999999999999999", TAXII_P_LISTING, true, NULL},
	{"match[version]=2024-01-01T00:00:00.000Z,last", TAXII_P_LISTING, true, NULL},
	{"match[version]=newest", TAXII_P_LISTING, false, "match[version]"},
	{"match[spec_version]=2.0,2.1", TAXII_P_LISTING, true, NULL},
	{"match[spec_version]=2", TAXII_P_LISTING, false, "match[spec_version]"},
	{"match[foo]=1", TAXII_P_LISTING, false, "match[foo]"},
	{"foo=1", TAXII_P_LISTING, false, "foo"},
	{"match[id]=indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
	 TAXII_P_LIMIT | TAXII_P_MATCH_VERSION, false, "match[id]"},
	{"limit=1", 0, false, "limit"},
	{"match[type]=indicator%2", TAXII_P_LISTING, false, "match[type]"},
	{"match[type]=indicator%00", TAXII_P_LISTING, false, "match[type]"},
	{"limit=5&&match[type]=indicator&", TAXII_P_LISTING, true, NULL},
	{"added_after=2024-01-01T00:00:00Z&limit=2&match[type]=indicator&match[version]=all&match[spec_version]=2.1",
	 TAXII_P_LISTING, true, NULL},
};

static void test_query_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < RK_ARRAY_LEN(qcases); i++) {
		const struct qcase *c = &qcases[i];
		taxii_filter f;
		rk_errctx ctx;
		taxii_filter_init(&f);
		rk_errctx_clear(&ctx);
		rk_err rc = taxii_query_parse(&f, c->allowed, c->query, strlen(c->query), &ctx);
		if (c->ok != (rc == RK_OK))
			fail_msg("case %zu '%s': expected %s, got %s (%s: %s)", i, c->query,
				 c->ok ? "ok" : "error", rc ? "error" : "ok", ctx.path, ctx.msg);
		if (!c->ok) {
			assert_int_equal(rc, RK_EINVAL);
			assert_string_equal(ctx.path, c->param);
			assert_true(ctx.msg[0] != '\0');
		}
		taxii_filter_cleanup(&f);
	}
}

static void test_query_values(void **state)
{
	(void)state;
	taxii_filter f;
	rk_errctx ctx;
	const char *q = "match[type]=indicator,malware&match[version]=first,2024-01-01T00:00:00Z"
			"&limit=5000&added_after=2024-01-01T00:00:00.5Z";
	taxii_filter_init(&f);
	rk_errctx_clear(&ctx);
	assert_int_equal(taxii_query_parse(&f, TAXII_P_LISTING, q, strlen(q), &ctx), RK_OK);
	assert_int_equal(f.n_types, 2);
	assert_string_equal(f.types[0], "indicator");
	assert_string_equal(f.types[1], "malware");
	assert_true(f.v_first);
	assert_false(f.v_last);
	assert_int_equal(f.n_v_at, 1);
	assert_int_equal(f.limit, RK_PAGE_MAX); /* clamped */
	assert_true(f.has_added_after);
	store_query sq = {0};
	taxii_filter_to_query(&f, &sq, false);
	assert_int_equal(sq.n_types, 2);
	assert_true(sq.version.first);
	assert_int_equal(sq.version.n_at, 1);
	taxii_filter_cleanup(&f);

	/* limit above RK_PAGE_MAX: served as RK_PAGE_MAX, however large */
	static const struct {
		const char *q;
		size_t want;
	} lims[] = {{"limit=1", 1}, {"limit=1000", RK_PAGE_MAX}, {"limit=1001", RK_PAGE_MAX},
		    {"limit=99999999999999999999999999", RK_PAGE_MAX}, {"limit=007", 7}};
	for (size_t i = 0; i < RK_ARRAY_LEN(lims); i++) {
		taxii_filter_init(&f);
		rk_errctx_clear(&ctx);
		assert_int_equal(taxii_query_parse(&f, TAXII_P_LISTING, lims[i].q, strlen(lims[i].q), &ctx),
				 RK_OK);
		assert_int_equal(f.limit, lims[i].want);
		taxii_filter_cleanup(&f);
	}

	/* defaults: last for objects, all for versions, page size */
	taxii_filter_init(&f);
	memset(&sq, 0, sizeof sq);
	taxii_filter_to_query(&f, &sq, false);
	assert_true(sq.version.last);
	assert_false(sq.version.all);
	assert_int_equal(sq.limit, RK_PAGE_DEFAULT);
	memset(&sq, 0, sizeof sq);
	taxii_filter_to_query(&f, &sq, true);
	assert_true(sq.version.all);
	taxii_filter_cleanup(&f);
}

static void test_query_too_many_values(void **state)
{
	(void)state;
	rk_buf b;
	rk_buf_init(&b);
	assert_int_equal(rk_buf_puts(&b, "match[type]=a0"), RK_OK);
	for (int i = 1; i <= RK_MAX_FILTER_VALUES; i++)
		assert_int_equal(rk_buf_printf(&b, ",t%03d", i), RK_OK);
	taxii_filter f;
	rk_errctx ctx;
	taxii_filter_init(&f);
	rk_errctx_clear(&ctx);
	assert_int_equal(taxii_query_parse(&f, TAXII_P_LISTING, b.data, b.len, &ctx), RK_EINVAL);
	assert_string_equal(ctx.path, "match[type]");
	taxii_filter_cleanup(&f);
	rk_buf_cleanup(&b);
}

static void parse_ok(taxii_filter *f, const char *q)
{
	rk_errctx ctx;
	taxii_filter_init(f);
	rk_errctx_clear(&ctx);
	assert_int_equal(taxii_query_parse(f, TAXII_P_LISTING, q, strlen(q), &ctx), RK_OK);
}

static void test_cursor(void **state)
{
	unsigned char key[TAXII_CURSOR_KEY], other[TAXII_CURSOR_KEY];
	for (int i = 0; i < TAXII_CURSOR_KEY; i++) {
		key[i] = (unsigned char)i;
		other[i] = (unsigned char)(i + 1);
	}
	(void)state;
	taxii_filter a, b, c;
	unsigned char ha[8], hb[8], hc[8];
	char *cur = NULL;
	uint64_t seq = 0;
	rk_errctx ctx;

	parse_ok(&a, "match[type]=indicator,malware&limit=5");
	parse_ok(&b, "match[type]=malware,indicator&limit=50"); /* same set, other order and limit */
	parse_ok(&c, "match[type]=indicator");
	taxii_filter_hash(&a, "objects X", ha);
	taxii_filter_hash(&b, "objects X", hb);
	taxii_filter_hash(&c, "objects X", hc);
	assert_memory_equal(ha, hb, 8);
	assert_memory_not_equal(ha, hc, 8);

	assert_int_equal(taxii_cursor_encode(key, 123456789012345ULL, ha, &cur), RK_OK);
	rk_errctx_clear(&ctx);
	assert_int_equal(taxii_cursor_decode(key, cur, hb, &seq, &ctx), RK_OK);
	assert_int_equal(seq, 123456789012345ULL);
	rk_errctx_clear(&ctx);
	assert_int_equal(taxii_cursor_decode(key, cur, hc, &seq, &ctx), RK_EINVAL);
	assert_string_equal(ctx.path, "next");
	/* same filters, other resource */
	taxii_filter_hash(&a, "objects Y", hc);
	rk_errctx_clear(&ctx);
	assert_int_equal(taxii_cursor_decode(key, cur, hc, &seq, &ctx), RK_EINVAL);
	rk_errctx_clear(&ctx);
	assert_int_equal(taxii_cursor_decode(key, "garbage!", ha, &seq, &ctx), RK_EINVAL);
	rk_errctx_clear(&ctx);
	assert_int_equal(taxii_cursor_decode(key, "AAAA", ha, &seq, &ctx), RK_EINVAL);
	/* Sealed: another key, or one changed character, is refused with the
	 * same words as garbage; two cursors for one place do not compare. */
	rk_errctx_clear(&ctx);
	assert_int_equal(taxii_cursor_decode(other, cur, ha, &seq, &ctx), RK_EINVAL);
	assert_string_equal(ctx.msg, "not a cursor this server issued");
	char *twin = NULL;
	assert_int_equal(taxii_cursor_encode(key, 123456789012345ULL, ha, &twin), RK_OK);
	assert_string_not_equal(twin, cur);
	twin[10] = twin[10] == 'A' ? 'B' : 'A';
	rk_errctx_clear(&ctx);
	assert_int_equal(taxii_cursor_decode(key, twin, ha, &seq, &ctx), RK_EINVAL);
	free(twin);
	free(cur);
	taxii_filter_cleanup(&a);
	taxii_filter_cleanup(&b);
	taxii_filter_cleanup(&c);
}

static const struct mcase {
	const char *accept;
	taxii_media_type want;
	bool ok;
} mcases[] = {
	{NULL, TAXII_MEDIA_TYPE_TAXII, true},
	{"", TAXII_MEDIA_TYPE_TAXII, true},
	{"*/*", TAXII_MEDIA_TYPE_TAXII, true},
	{"application/*", TAXII_MEDIA_TYPE_TAXII, true},
	{"application/taxii+json;version=2.1", TAXII_MEDIA_TYPE_TAXII, true},
	{"application/taxii+json; version=2.1", TAXII_MEDIA_TYPE_TAXII, true},
	{"application/taxii+json;version=\"2.1\"", TAXII_MEDIA_TYPE_TAXII, true},
	{"APPLICATION/TAXII+JSON", TAXII_MEDIA_TYPE_TAXII, true},
	{"application/taxii+json;version=2.0", TAXII_MEDIA_TYPE_TAXII, false},
	{"application/json", TAXII_MEDIA_TYPE_TAXII, false},
	{"text/html, application/xhtml+xml", TAXII_MEDIA_TYPE_TAXII, false},
	{"application/stix+json;version=2.1", TAXII_MEDIA_TYPE_TAXII, false},
	{"application/stix+json;version=2.1", TAXII_MEDIA_TYPE_STIX, true},
	{"text/html, application/taxii+json;version=2.1;q=0.5", TAXII_MEDIA_TYPE_TAXII, true},
	{"application/taxii+json;q=0", TAXII_MEDIA_TYPE_TAXII, false},
	{"application/taxii+json;version=2.1, */*;q=0", TAXII_MEDIA_TYPE_TAXII, true},
	{"*/*;q=0.0", TAXII_MEDIA_TYPE_TAXII, false},
	{"text/plain", TAXII_MEDIA_TYPE_TEXT, true},
	{"application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
	 TAXII_MEDIA_TYPE_TEXT, true},
	{",,,", TAXII_MEDIA_TYPE_TAXII, false},
	{"garbage", TAXII_MEDIA_TYPE_TAXII, false},
};

static void test_accept(void **state)
{
	(void)state;
	for (size_t i = 0; i < RK_ARRAY_LEN(mcases); i++)
		if (taxii_accept_allows(mcases[i].accept, mcases[i].want) != mcases[i].ok)
			fail_msg("Accept case %zu '%s': expected %s", i,
				 mcases[i].accept ? mcases[i].accept : "(none)",
				 mcases[i].ok ? "allowed" : "refused");
}

static void test_content_type(void **state)
{
	(void)state;
	assert_true(taxii_content_type_ok("application/taxii+json;version=2.1"));
	assert_true(taxii_content_type_ok("application/taxii+json"));
	assert_true(taxii_content_type_ok("application/taxii+json; charset=utf-8; version=2.1"));
	assert_false(taxii_content_type_ok(NULL));
	assert_false(taxii_content_type_ok(""));
	assert_false(taxii_content_type_ok("application/json"));
	assert_false(taxii_content_type_ok("application/stix+json;version=2.1"));
	assert_false(taxii_content_type_ok("application/taxii+json;version=2.0"));
	assert_false(taxii_content_type_ok("*/*"));
}

static void test_config(void **state)
{
	(void)state;
	taxii_config cfg;
	rk_errctx ctx;
	char host[64];
	unsigned port;

	taxii_config_init(&cfg);
	rk_errctx_clear(&ctx);
	assert_int_equal(cfg.max_content_length, RK_MAX_CONTENT_LENGTH_DEFAULT);
	assert_int_equal(taxii_config_check(&cfg, &ctx), RK_ECONFIG); /* no data */
	assert_string_equal(ctx.path, "data");
	assert_int_equal(taxii_config_set(&cfg, "data", "/tmp/x", NULL), RK_OK);
	rk_errctx_clear(&ctx);
	assert_int_equal(taxii_config_check(&cfg, &ctx), RK_OK);
	assert_int_equal(taxii_config_set(&cfg, "listen", "0.0.0.0:8443", NULL), RK_OK);
	rk_errctx_clear(&ctx);
	assert_int_equal(taxii_config_check(&cfg, &ctx), RK_ECONFIG);
	assert_string_equal(ctx.path, "listen");
	assert_int_equal(taxii_config_set(&cfg, "insecure_http", NULL, NULL), RK_OK);
	rk_errctx_clear(&ctx);
	assert_int_equal(taxii_config_check(&cfg, &ctx), RK_OK);
	rk_errctx_clear(&ctx);
	assert_int_equal(taxii_config_set(&cfg, "threads", "lots", &ctx), RK_ECONFIG);
	rk_errctx_clear(&ctx);
	assert_int_equal(taxii_config_set(&cfg, "nonsense", "1", &ctx), RK_ECONFIG);
	assert_int_equal(taxii_config_set(&cfg, "tls-cert", "/nonexistent.pem", NULL), RK_OK);
	rk_errctx_clear(&ctx);
	assert_int_equal(taxii_config_check(&cfg, &ctx), RK_ECONFIG);
	assert_string_equal(ctx.path, "tls-key");
	taxii_config_cleanup(&cfg);

	rk_errctx_clear(&ctx);
	assert_int_equal(taxii_listen_parse("[::1]:0", host, sizeof host, &port, &ctx), RK_OK);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 0);
	assert_int_equal(taxii_listen_parse("127.0.0.1:99999", host, sizeof host, &port, &ctx),
			 RK_ECONFIG);

	size_t n = 0;
	const taxii_option *opts = taxii_options(&n);
	assert_true(n >= 10);
	assert_string_equal(opts[0].name, "data");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_table),
		cmocka_unit_test(test_query_values),
		cmocka_unit_test(test_query_too_many_values),
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
