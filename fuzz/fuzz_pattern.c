/*
 * fuzz_pattern.c: libFuzzer harness for STIX pattern text (pattern module).
 *
 * Indicator patterns come from any producer that can post to the hub; the
 * bytes of the input are the pattern. Each input is compiled and, when it
 * compiles, evaluated against a fixed small set of observed-data that holds
 * the object types of the STIX 2.1 section 9 examples (files with hashes and
 * a parent directory, addresses reached through references, an observation
 * repeated 100000 times, a timeline), so deep paths, CIDR tests, regular
 * expressions and every observation operator run. Invariants checked: a
 * refusal carries a positioned message ("at N: ..."), a compiled pattern has
 * at least one observation and one comparison, and evaluation either answers
 * or stops at a documented limit (RK_ETOOBIG), never anything else.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pattern_obs_set *set;
static json_t *set_doc;

static const char OBSERVED[] =
	"[{\"type\": \"observed-data\", \"id\": \"observed-data--1\","
	"  \"first_observed\": \"2020-01-01T10:00:00Z\", \"last_observed\": \"2020-01-01T10:00:00Z\","
	"  \"number_observed\": 1, \"objects\": {"
	"   \"0\": {\"type\": \"file\", \"name\": \"foo.dll\", \"size\": 371712,"
	"          \"hashes\": {\"MD5\": \"79054025255fb1a26e4bc422aef54eb4\","
	"                       \"SHA-256\": \"aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f\"},"
	"          \"parent_directory_ref\": \"1\", \"magic_number_hex\": \"ffd8\","
	"          \"created\": \"2014-01-13T07:03:17Z\","
	"          \"extensions\": {\"windows-pebinary-ext\": {\"sections\": [{\"entropy\": 7.5}]}}},"
	"   \"1\": {\"type\": \"directory\", \"path\": \"C:\\\\Windows\\\\System32\"},"
	"   \"2\": {\"type\": \"artifact\", \"payload_bin\": \"1MOyoQIABAA=\"},"
	"   \"3\": {\"type\": \"email-message\", \"from_ref\": \"4\", \"subject\": \"Conference Info\","
	"          \"body_multipart\": [{\"body_raw_ref\": \"0\"}]},"
	"   \"4\": {\"type\": \"email-addr\", \"value\": \"jdoe@example.com\"}}},"
	" {\"type\": \"observed-data\", \"id\": \"observed-data--2\","
	"  \"first_observed\": \"2020-01-01T10:02:00Z\", \"last_observed\": \"2020-01-01T10:07:00Z\","
	"  \"number_observed\": 100000, \"object_refs\": [\"network-traffic--1\", \"domain-name--1\"]},"
	" {\"type\": \"observed-data\", \"id\": \"observed-data--3\","
	"  \"first_observed\": \"2020-01-01T11:00:00Z\", \"last_observed\": \"2020-01-01T11:00:00Z\","
	"  \"number_observed\": 1, \"object_refs\": [\"ipv6-addr--1\", \"process--1\"]},"
	" {\"type\": \"network-traffic\", \"id\": \"network-traffic--1\", \"dst_ref\": \"ipv4-addr--1\","
	"  \"dst_port\": 443, \"protocols\": [\"tcp\"]},"
	" {\"type\": \"ipv4-addr\", \"id\": \"ipv4-addr--1\", \"value\": \"203.0.113.33\"},"
	" {\"type\": \"domain-name\", \"id\": \"domain-name--1\", \"value\": \"www.5z8.info\","
	"  \"resolves_to_refs\": [\"ipv4-addr--1\"]},"
	" {\"type\": \"ipv6-addr\", \"id\": \"ipv6-addr--1\", \"value\": \"2001:db8:dead:beef::1\"},"
	" {\"type\": \"process\", \"id\": \"process--1\", \"name\": \"fooproc\","
	"  \"command_line\": \"c:\\\\>-add GlobalSign.cer -c -s -r localMachine Root\"}]";

static void setup(void)
{
	rk_errctx ctx;

	rk_errctx_clear(&ctx);
	set_doc = json_loads(OBSERVED, 0, NULL);
	if (!set_doc || pattern_obs_load(set_doc, &set, &ctx) != RK_OK ||
	    pattern_obs_count(set) != 3)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pattern *p = NULL;
	rk_errctx ctx;
	bool matched;

	if (!set)
		setup();
	rk_errctx_clear(&ctx);
	rk_err err = pattern_compile((const char *)data, size, &p, &ctx);
	if (err != RK_OK) {
		if (p || (err != RK_ENOMEM && strncmp(ctx.msg, "at ", 3) != 0))
			abort();
		return 0;
	}
	if (pattern_observation_count(p) < 1 || pattern_comparison_count(p) < 1)
		abort();
	rk_errctx_clear(&ctx);
	err = pattern_match(p, set, &matched, &ctx);
	if (err != RK_OK && err != RK_ETOOBIG)
		abort();
	pattern_free(p);
	return 0;
}
