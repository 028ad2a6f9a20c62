/*
 * test_assets.c: the asset registry: claim values, the claims database
 * (claim, approve, reject, re-claim, withdraw, version counter) and the
 * snapshot's lookups, with documentation addresses (RFC 5737, RFC 3849),
 * private-use AS numbers (RFC 6996) and example domains (RFC 2606).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "assets.h"

/* ---------------------------------------------------------------- values */

static void value_ok(const char *in, asset_kind kind, const char *canon)
{
	asset_value v;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	rk_err err = assets_value_parse(in, strlen(in), &v, &ctx);
	if (err)
		fail_msg("'%s' refused: %s", in, ctx.msg);
	assert_int_equal(v.kind, kind);
	assert_string_equal(v.text, canon);
}

static void value_bad(const char *in, const char *msg_part)
{
	asset_value v;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(assets_value_parse(in, strlen(in), &v, &ctx), RK_EINVAL);
	if (!strstr(ctx.msg, msg_part))
		fail_msg("'%s': message '%s' lacks '%s'", in, ctx.msg, msg_part);
}

static void test_values(void **state)
{
	(void)state;
	value_ok("192.0.2.0/24", ASSET_KIND_CIDR, "192.0.2.0/24");
	value_ok(" 198.51.100.7 ", ASSET_KIND_CIDR, "198.51.100.7/32");
	value_ok("2001:DB8:0::/32", ASSET_KIND_CIDR, "2001:db8::/32");
	value_ok("2001:db8::1", ASSET_KIND_CIDR, "2001:db8::1/128");
	value_ok("AS64500", ASSET_KIND_ASN, "AS64500");
	value_ok("as4200000000", ASSET_KIND_ASN, "AS4200000000");
	value_ok("Example.ORG.", ASSET_KIND_DOMAIN, "example.org");
	value_ok("xn--bcher-kva.example", ASSET_KIND_DOMAIN, "xn--bcher-kva.example");

	value_bad("192.0.2.77/24", "did you mean 192.0.2.0/24?");
	value_bad("2001:db8::1/32", "did you mean 2001:db8::/32?");
	value_bad("10.0.0.0/7", "too wide");
	value_bad("::/0", "too wide");
	value_bad("192.0.2.0/33", "longer than /32");
	value_bad("192.0.2.0/024", "leading zero");
	value_bad("192.0.2.0/", "prefix length");
	value_bad("300.1.1.1", "not an IPv4 or IPv6");
	value_bad("AS0", "1 to 4294967294");
	value_bad("AS4294967295", "1 to 4294967294");
	value_bad("AS23456", "AS_TRANS");
	value_bad("AS12x", "digits only");
	value_bad("org", "top-level");
	value_bad("bad domain.example", "only letters");
	value_bad("-a.example", "starts with '-'");
	value_bad("a..example", "empty label");
	value_bad("", "empty value");

	asset_value v;
	assert_int_equal(assets_value_parse("192.0.2.0/24", 12, &v, NULL), RK_OK);
	uint8_t in[4] = {192, 0, 2, 200}, out[4] = {192, 0, 3, 1};
	assert_true(assets_cidr_covers(&v, 4, in));
	assert_false(assets_cidr_covers(&v, 4, out));
	assert_false(assets_cidr_covers(&v, 6, in));
}

/* ---------------------------------------------------------------- snapshot */

static asset_claim mk(int64_t id, const char *org, const char *value, asset_state st)
{
	asset_claim c;
	memset(&c, 0, sizeof c);
	c.id = id;
	snprintf(c.org, sizeof c.org, "%s", org);
	assert_int_equal(assets_value_parse(value, strlen(value), &c.value, NULL), RK_OK);
	c.state = st;
	return c;
}

static void addr4(const char *s, uint8_t out[4])
{
	assert_int_equal(inet_pton(AF_INET, s, out), 1);
}

static void test_snapshot_lookups(void **state)
{
	(void)state;
	asset_claim claims[] = {
		mk(1, "isp", "198.51.100.0/22", ASSET_APPROVED),
		mk(2, "bank", "198.51.100.0/24", ASSET_APPROVED),
		mk(3, "bank", "198.51.100.128/25", ASSET_APPROVED),
		mk(4, "shop", "198.51.100.64/26", ASSET_PENDING),
		mk(5, "gov", "203.0.113.0/24", ASSET_REJECTED),
		mk(6, "bank", "2001:db8:100::/48", ASSET_APPROVED),
		mk(7, "isp", "2001:db8::/32", ASSET_APPROVED),
		mk(8, "bank", "bank.example", ASSET_APPROVED),
		mk(9, "isp", "isp.example", ASSET_APPROVED),
		mk(10, "isp", "AS64500", ASSET_APPROVED),
		mk(11, "bank", "AS64500", ASSET_APPROVED),
		mk(12, "bank", "AS64501", ASSET_APPROVED),
		mk(13, "gov", "online.bank.example", ASSET_APPROVED),
	};
	assets_snapshot *s = NULL;
	assert_int_equal(assets_snapshot_build(claims, RK_ARRAY_LEN(claims), 1u << ASSET_APPROVED, 7,
					       &s, NULL),
			 RK_OK);
	assert_int_equal(assets_snapshot_version(s), 7);

	assets_hit h[8];
	uint8_t a[16];
	addr4("198.51.100.130", a);
	size_t n = assets_orgs_for_address(s, a, 4, h, 8);
	assert_int_equal(n, 2);
	assert_string_equal(h[0].org, "bank");
	assert_string_equal(h[0].claim->value.text, "198.51.100.128/25"); /* longest first */
	assert_string_equal(h[1].org, "isp");
	assert_string_equal(h[1].claim->value.text, "198.51.100.0/22");

	addr4("198.51.100.70", a); /* shop's /26 is only pending */
	n = assets_orgs_for_address(s, a, 4, h, 8);
	assert_int_equal(n, 2);
	assert_string_equal(h[0].claim->value.text, "198.51.100.0/24");

	addr4("198.51.103.255", a);
	n = assets_orgs_for_address(s, a, 4, h, 8);
	assert_int_equal(n, 1);
	assert_string_equal(h[0].org, "isp");

	addr4("203.0.113.9", a); /* rejected */
	assert_int_equal(assets_orgs_for_address(s, a, 4, h, 8), 0);
	addr4("198.51.104.0", a);
	assert_int_equal(assets_orgs_for_address(s, a, 4, h, 8), 0);

	assert_int_equal(inet_pton(AF_INET6, "2001:db8:100::5", a), 1);
	n = assets_orgs_for_address(s, a, 16, h, 8);
	assert_int_equal(n, 2);
	assert_string_equal(h[0].org, "bank");
	assert_string_equal(h[1].org, "isp");
	/* max smaller than the number of organisations: count, window */
	assert_int_equal(assets_orgs_for_address(s, a, 16, h, 1), 2);
	assert_string_equal(h[0].org, "bank");
	assert_int_equal(inet_pton(AF_INET6, "2001:db9::1", a), 1);
	assert_int_equal(assets_orgs_for_address(s, a, 16, h, 8), 0);

	n = assets_orgs_for_domain(s, "WWW.Online.Bank.Example.", 24, h, 8);
	assert_int_equal(n, 2);
	assert_string_equal(h[0].org, "gov");
	assert_string_equal(h[1].org, "bank");
	assert_string_equal(h[1].claim->value.text, "bank.example");
	assert_int_equal(assets_orgs_for_domain(s, "bank.example", 12, h, 8), 1);
	assert_int_equal(assets_orgs_for_domain(s, "notbank.example", 15, h, 8), 0);
	assert_int_equal(assets_orgs_for_domain(s, "example", 7, h, 8), 0);

	n = assets_orgs_for_asn(s, 64500, h, 8);
	assert_int_equal(n, 2);
	assert_int_equal(assets_orgs_for_asn(s, 64501, h, 8), 1);
	assert_int_equal(assets_orgs_for_asn(s, 64502, h, 8), 0);

	assets_of_org o;
	assets_approved_of_org(s, "bank", &o);
	assert_int_equal(o.n_cidrs, 3);
	assert_int_equal(o.n_asns, 2);
	assert_int_equal(o.n_domains, 1);
	assert_string_equal(o.cidrs[0].value.text, "198.51.100.0/24");
	assert_string_equal(o.cidrs[1].value.text, "198.51.100.128/25");
	assert_string_equal(o.cidrs[2].value.text, "2001:db8:100::/48");
	assert_string_equal(o.asns[0].value.text, "AS64500");
	assert_string_equal(o.domains[0].value.text, "bank.example");
	assets_approved_of_org(s, "shop", &o);
	assert_int_equal(o.n_cidrs + o.n_asns + o.n_domains, 0);
	assets_approved_of_org(s, "nobody", &o);
	assert_int_equal(o.n_cidrs, 0);
	assets_snapshot_free(s);

	/* Overlaps over every claim not rejected, as the operator sees them. */
	assert_int_equal(assets_snapshot_build(claims, RK_ARRAY_LEN(claims),
					       (1u << ASSET_APPROVED) | (1u << ASSET_PENDING), 0, &s,
					       NULL),
			 RK_OK);
	size_t nc = 0;
	const asset_claim *all = assets_snapshot_claims(s, &nc);
	const asset_claim *ov[8];
	for (size_t i = 0; i < nc; i++) {
		size_t k = assets_overlaps(s, &all[i], ov, 8);
		if (all[i].id == 1) { /* isp /22 holds bank's two and shop's */
			assert_int_equal(k, 3);
		} else if (all[i].id == 4) { /* shop /26 inside isp /22 and bank /24 */
			assert_int_equal(k, 2);
		} else if (all[i].id == 3) {
			assert_int_equal(k, 1);
			assert_string_equal(ov[0]->org, "isp");
		} else if (all[i].id == 8) {
			assert_int_equal(k, 1);
			assert_string_equal(ov[0]->value.text, "online.bank.example");
		} else if (all[i].id == 10) {
			assert_int_equal(k, 1);
			assert_string_equal(ov[0]->org, "bank");
		} else if (all[i].id == 12) {
			assert_int_equal(k, 0);
		}
	}
	assets_snapshot_free(s);
}

/* ---------------------------------------------------------------- database */

static char tmpdir[64];

static int make_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/rk-assets-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static rk_err count_cb(void *arg, const asset_claim *c)
{
	(void)c;
	(*(size_t *)arg)++;
	return RK_OK;
}

static void test_database(void **state)
{
	(void)state;
	assets_db *db = NULL;
	rk_errctx ctx;
	asset_claim c;
	uint64_t v0 = 0, v = 0;
	rk_errctx_clear(&ctx);
	assert_int_equal(assets_db_open(tmpdir, &db, &ctx), RK_OK);
	assert_int_equal(assets_db_version(db, &v0, NULL), RK_OK);

	assert_int_equal(assets_claim(db, "bank", "198.51.100.0/24", "bank-analyst", &c, &ctx),
			 RK_OK);
	assert_int_equal(c.state, ASSET_PENDING);
	assert_string_equal(c.claimed_by, "bank-analyst");
	int64_t id = c.id;
	assert_int_equal(assets_db_version(db, &v, NULL), RK_OK);
	assert_int_equal(v, v0 + 1);

	/* The same block again, spelled otherwise: a conflict, unchanged. */
	rk_errctx_clear(&ctx);
	assert_int_equal(assets_claim(db, "bank", "198.51.100.0/24 ", "x", NULL, &ctx),
			 RK_ECONFLICT);
	assert_non_null(strstr(ctx.msg, "pending"));
	rk_errctx_clear(&ctx);
	assert_int_equal(assets_claim(db, "bank", "198.51.100.1/24", "x", NULL, &ctx), RK_EINVAL);
	assert_int_equal(assets_db_version(db, &v, NULL), RK_OK);
	assert_int_equal(v, v0 + 1);

	/* Pending claims are not in the snapshot; approved ones are. */
	assets_snapshot *s = NULL;
	assets_hit h[4];
	uint8_t a[4] = {198, 51, 100, 9};
	assert_int_equal(assets_snapshot_load(db, &s, NULL), RK_OK);
	assert_int_equal(assets_orgs_for_address(s, a, 4, h, 4), 0);
	assets_snapshot_free(s);
	assert_int_equal(assets_decide(db, id, ASSET_APPROVED, "operator", NULL), RK_OK);
	assert_int_equal(assets_snapshot_load(db, &s, NULL), RK_OK);
	assert_int_equal(assets_snapshot_version(s), v0 + 2);
	assert_int_equal(assets_orgs_for_address(s, a, 4, h, 4), 1);
	assert_string_equal(h[0].org, "bank");
	assert_string_equal(h[0].claim->decided_by, "operator");
	assets_snapshot_free(s);

	/* Rejected, then claimed again: pending once more. */
	assert_int_equal(assets_decide(db, id, ASSET_REJECTED, "operator", NULL), RK_OK);
	assert_int_equal(assets_claim(db, "bank", "198.51.100.0/24", "bank-admin", &c, NULL), RK_OK);
	assert_int_equal(c.id, id);
	assert_int_equal(c.state, ASSET_PENDING);
	assert_string_equal(c.decided_by, "");
	rk_errctx_clear(&ctx);
	assert_int_equal(assets_decide(db, 999, ASSET_APPROVED, "operator", &ctx), RK_ENOTFOUND);

	/* Another organisation may claim the same block. */
	assert_int_equal(assets_claim(db, "isp", "198.51.100.0/24", "isp-admin", NULL, NULL), RK_OK);
	assert_int_equal(assets_claim(db, "isp", "AS64500", "isp-admin", NULL, NULL), RK_OK);
	size_t n = 0;
	assert_int_equal(assets_list(db, NULL, count_cb, &n, NULL), RK_OK);
	assert_int_equal(n, 3);
	n = 0;
	assert_int_equal(assets_list(db, "isp", count_cb, &n, NULL), RK_OK);
	assert_int_equal(n, 2);

	/* Withdrawal: only the organisation's own. */
	assert_int_equal(assets_withdraw(db, id, "isp", NULL), RK_ENOTFOUND);
	assert_int_equal(assets_withdraw(db, id, "bank", NULL), RK_OK);
	n = 0;
	assert_int_equal(assets_list(db, NULL, count_cb, &n, NULL), RK_OK);
	assert_int_equal(n, 2);
	assets_db_close(db);

	/* Durable: reopened, the same claims and version. */
	assert_int_equal(assets_db_open(tmpdir, &db, NULL), RK_OK);
	uint64_t v2 = 0;
	assert_int_equal(assets_db_version(db, &v2, NULL), RK_OK);
	assert_true(v2 > v);
	n = 0;
	assert_int_equal(assets_list(db, NULL, count_cb, &n, NULL), RK_OK);
	assert_int_equal(n, 2);
	assets_db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_snapshot_lookups),
		cmocka_unit_test_setup_teardown(test_database, make_dir, remove_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
