/*
 * test_anon_text.c: the scrubbing rules on real values, as a table.
 *
 * Each row: the input string, whether it is an observable (a pattern or
 * an observable's value), the expected output, and the rules that must
 * have fired ("rule" scrubbed, "rule!" flagged for review), in the order
 * they fire. The submitter is organisation "acme" ("ACME Power"), owning
 * 203.0.113.0/24, 2001:db8:acme::/48 (written 2001:db8:ace::/48),
 * 198.51.100.128/25, acmepower.example, the IDN domain 例え.jp and, through
 * its ACE form, xn--bcher-kva.example (bücher.example).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "anonymise.h"

typedef struct row {
	int line;
	const char *in;
	bool observable;
	const char *out;
	const char *rules; /* space-separated, in firing order */
} row;

static const row rows[] = {
	/* nothing to do */
	{__LINE__, "plain text about malware", false, "plain text about malware", ""},
	/* e-mail addresses: free text scrubbed, observables flagged */
	{__LINE__, "contact alice.smith+cti@mail.corp.jp for details", false,
	 "contact [redacted-email] for details", "email"},
	{__LINE__, "[email-addr:value = 'phisher@evil.example']", true,
	 "[email-addr:value = 'phisher@evil.example']", "email!"},
	{__LINE__, "送信者はbob@corp.jpです", false, "送信者は[redacted-email]です", "email"},
	{__LINE__, "an @ sign and user@localhost are no addresses", false,
	 "an @ sign and user@localhost are no addresses", ""},
	/* an e-mail address of an owned domain, in a pattern: domain scrubbed */
	{__LINE__, "[email-addr:value = 'ceo@acmepower.example']", true,
	 "[email-addr:value = 'ceo@redacted.invalid']", "email! owned-domain!"},
	/* URL query strings and fragments */
	{__LINE__, "see https://portal.example/login?user=alice&token=abc#frag now", false,
	 "see https://portal.example/login now", "url-query"},
	{__LINE__, "https://x.example/a#access_token=secret", false, "https://x.example/a",
	 "url-query"},
	{__LINE__, "[url:value = 'http://evil.example/gate.php?id=victim42']", true,
	 "[url:value = 'http://evil.example/gate.php?id=victim42']", "url-query!"},
	{__LINE__, "https://example.org/path/only", false, "https://example.org/path/only", ""},
	/* a query holding an e-mail address: the query goes first */
	{__LINE__, "http://a.example/?mail=bob@corp.jp", false, "http://a.example/", "url-query"},
	/* owned IPv4 addresses, inside and outside the blocks */
	{__LINE__, "beacon from 203.0.113.77 to 192.0.2.1", false,
	 "beacon from [redacted-address] to 192.0.2.1", "owned-address"},
	{__LINE__, "edge 198.51.100.200, not 198.51.100.127", false,
	 "edge [redacted-address], not 198.51.100.127", "owned-address"},
	{__LINE__, "our block 203.0.113.0/24 was scanned", false,
	 "our block [redacted-address] was scanned", "owned-address"},
	{__LINE__, "[ipv4-addr:value = '203.0.113.5']", true, "[ipv4-addr:value = '0.0.0.0']",
	 "owned-address!"},
	/* owned IPv6, compressed, mapped IPv4 */
	{__LINE__, "src 2001:db8:ace:12::1 dst 2001:db8:1::1", false,
	 "src [redacted-address] dst 2001:db8:1::1", "owned-address"},
	{__LINE__, "mapped ::ffff:203.0.113.9 seen", false, "mapped [redacted-address] seen",
	 "owned-address"},
	{__LINE__, "[ipv6-addr:value = '2001:DB8:ACE::7']", true, "[ipv6-addr:value = '::']",
	 "owned-address!"},
	/* owned domains: subdomains, case, look-alikes */
	{__LINE__, "mail.Internal.ACMEPOWER.example was phished", false,
	 "[redacted-domain] was phished", "owned-domain"},
	{__LINE__, "notacmepowerpower.example and acmepower.example.evil.test are not ours", false,
	 "notacmepowerpower.example and acmepower.example.evil.test are not ours", ""},
	{__LINE__, "[domain-name:value = 'vpn.acmepower.example']", true,
	 "[domain-name:value = 'redacted.invalid']", "owned-domain!"},
	/* IDN: Unicode form, ACE form, subdomain of the ACE form */
	{__LINE__, "サーバは例え.jpにある", false, "サーバは[redacted-domain]にある", "owned-domain"},
	{__LINE__, "host www.xn--r8jz45g.jp", false, "host [redacted-domain]", "owned-domain"},
	{__LINE__, "shop bücher.example and mail.xn--bcher-kva.example", false,
	 "shop [redacted-domain] and [redacted-domain]", "owned-domain"},
	/* the submitter's name, on word boundaries */
	{__LINE__, "Reported by acme power's SOC", false, "Reported by [redacted-name]'s SOC",
	 "submitter-name"},
	{__LINE__, "acmecorp is someone else", false, "acmecorp is someone else", ""},
	/* owned AS numbers, as words */
	{__LINE__, "routed via AS64511 and as 64511, not AS645110 or AS64512", false,
	 "routed via [redacted-asn] and [redacted-asn], not AS645110 or AS64512", "owned-asn"},
	/* configured patterns */
	{__LINE__, "badge EMP-123456 used", false, "badge [redacted:employee-id] used",
	 "employee-id"},
	{__LINE__, "see Ticket #4411", false, "see Ticket #4411", "ticket!"},
};

static anon_assets assets;
static anon_rules *rules;
static const char *const ids[] = {"identity--11111111-1111-4111-8111-111111111111"};
static const anon_submitter sub = {.org_id = "acme", .org_name = "ACME Power",
				   .community_id = "energy", .identity_ids = ids,
				   .n_identity_ids = 1, .assets = &assets};

typedef struct fired {
	char text[256];
} fired;

static void on_note(void *arg, const char *rule, bool review)
{
	fired *f = arg;
	size_t n = strlen(f->text);
	snprintf(f->text + n, sizeof f->text - n, "%s%s%s", n ? " " : "", rule,
		 review ? "!" : "");
}

static int setup(void **state)
{
	static const char text[] = "# test rules\n"
				   "pattern scrub employee-id \\bEMP-[0-9]{6}\\b\n"
				   "pattern review ticket (?i)ticket\\s*#\\d+\n";
	rk_errctx ctx;
	(void)state;
	rk_errctx_clear(&ctx);
	anon_assets_init(&assets);
	if (anon_rules_parse(text, strlen(text), "test.rules", &rules, &ctx) ||
	    anon_assets_add_cidr(&assets, "203.0.113.0/24", &ctx) ||
	    anon_assets_add_cidr(&assets, "198.51.100.128/25", &ctx) ||
	    anon_assets_add_cidr(&assets, "2001:db8:ace::/48", &ctx) ||
	    anon_assets_add_domain(&assets, "acmepower.example", &ctx) ||
	    anon_assets_add_domain(&assets, "例え.jp", &ctx) ||
	    anon_assets_add_domain(&assets, "xn--bcher-kva.example", &ctx) ||
	    anon_assets_add_asn(&assets, "AS64511", &ctx)) {
		fprintf(stderr, "setup: %s: %s\n", ctx.path, ctx.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	anon_rules_free(rules);
	anon_assets_cleanup(&assets);
	return 0;
}

static void test_table(void **state)
{
	int failures = 0;
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const row *r = &rows[i];
		fired f = {{0}};
		char *out = NULL;
		assert_int_equal(anon_scrub_text(rules, &sub, NULL, 0, r->in, r->observable, &out,
						 on_note, &f),
				 RK_OK);
		if (strcmp(out, r->out) != 0 || strcmp(f.text, r->rules) != 0) {
			fprintf(stderr, "line %d: \"%s\"\n  got  \"%s\" [%s]\n  want \"%s\" [%s]\n",
				r->line, r->in, out, f.text, r->out, r->rules);
			failures++;
		}
		free(out);
	}
	assert_int_equal(failures, 0);
}

static void test_names(void **state)
{
	const char *names[] = {"Taro Yamada"};
	char *out = NULL;
	(void)state;
	assert_int_equal(anon_scrub_text(rules, &sub, names, 1,
					 "analyst TARO YAMADA called taro yamadaX", false, &out,
					 NULL, NULL),
			 RK_OK);
	assert_string_equal(out, "analyst [redacted-name] called taro yamadaX");
	free(out);
}

static void test_idn(void **state)
{
	char buf[256];
	(void)state;
	assert_true(anon_idn_to_ace("bücher.example", buf, sizeof buf));
	assert_string_equal(buf, "xn--bcher-kva.example");
	assert_true(anon_idn_to_ace("例え.JP", buf, sizeof buf));
	assert_string_equal(buf, "xn--r8jz45g.jp");
	assert_true(anon_idn_to_unicode("xn--r8jz45g.jp", buf, sizeof buf));
	assert_string_equal(buf, "例え.jp");
	/* RFC 3492 section 7.1 (L): Japanese, mixed with ASCII */
	assert_true(anon_idn_to_unicode("xn--3B-ww4c5e180e575a65lsy2b", buf, sizeof buf));
	assert_string_equal(buf, "3年b組金八先生"); /* ASCII letters are case-folded */
	assert_true(anon_idn_to_ace("3年B組金八先生", buf, sizeof buf));
	assert_string_equal(buf, "xn--3b-ww4c5e180e575a65lsy2b");
	/* the ideographic full stop separates labels */
	assert_true(anon_idn_to_ace("例え。jp", buf, sizeof buf));
	assert_string_equal(buf, "xn--r8jz45g.jp");
	assert_false(anon_idn_to_unicode("xn--!!!.jp", buf, sizeof buf));
}

static void test_cidr(void **state)
{
	anon_assets a;
	rk_errctx ctx;
	unsigned char in[16] = {0}, out[16] = {0};
	(void)state;
	anon_assets_init(&a);
	rk_errctx_clear(&ctx);
	assert_int_equal(anon_assets_add_cidr(&a, "10.1.0.0/16", &ctx), RK_OK);
	assert_int_equal(anon_assets_add_cidr(&a, "10.2.0.1/16", &ctx), RK_EINVAL);
	assert_non_null(strstr(ctx.msg, "host bits"));
	assert_int_equal(anon_assets_add_cidr(&a, "10.3.0.0/33", &ctx), RK_EINVAL);
	assert_int_equal(anon_assets_add_cidr(&a, "not-an-address", &ctx), RK_EINVAL);
	in[10] = in[11] = 0xff;
	in[12] = 10, in[13] = 1, in[14] = 200, in[15] = 3;
	out[10] = out[11] = 0xff;
	out[12] = 10, out[13] = 4;
	assert_true(anon_assets_has_address(&a, in));
	assert_false(anon_assets_has_address(&a, out));
	anon_assets_cleanup(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_idn),
		cmocka_unit_test(test_cidr),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
