/*
 * fuzz_logs_eve.c: libFuzzer harness for Suricata EVE JSON lines through
 * the logs module's JSON scanner (logs_json.c) and field table
 * (logs_parse.c): flow, dns (v1 rrname/rdata, v2 answers and grouped, v3
 * queries), http, tls and fileinfo events.
 *
 * The input layout is fuzz_logs_json.h's: byte 0 picks one of the
 * templates below, each an EVE event with one field left open for the
 * fuzzed bytes, or none (the input is a log of lines). Observables are
 * checked by fuzz_lines.h.
 *
 * Seeds (fuzz/corpus/logs_eve/, see its README): EVE lines of the shared
 * data (DCSO/fever test data, BSD-3-Clause; suricata-verify, MIT) and
 * hand-made hostile ones (bad escapes, lone surrogates, deep nesting,
 * invalid UTF-8, truncated lines).
 */
#include <stdint.h>

#include "fuzz_logs_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define EV(type) "{\"timestamp\":\"2020-01-01T00:00:00.000000+0000\",\"flow_id\":1," \
		 "\"event_type\":\"" type "\",\"src_ip\":\"192.0.2.1\",\"src_port\":1," \
		 "\"dest_ip\":\"198.51.100.2\",\"dest_port\":53,\"proto\":\"UDP\","

static const fuzz_tmpl tmpl[] = {
	{"{\"timestamp\":", ",\"event_type\":\"flow\"}"},
	{EV("flow") "\"flow\":", "}"},
	{"{\"event_type\":\"flow\",\"src_ip\":", ",\"dest_ip\":\"::1\"}"},
	{EV("dns") "\"dns\":{\"type\":\"query\",\"id\":1,\"rrname\":", ",\"rrtype\":\"A\"}}"},
	{EV("dns") "\"dns\":{\"type\":\"answer\",\"id\":1,\"rrname\":\"a.example\",\"rdata\":", "}}"},
	{EV("dns") "\"dns\":{\"version\":2,\"type\":\"answer\",\"answers\":", "}}"},
	{EV("dns") "\"dns\":{\"version\":2,\"type\":\"answer\",\"grouped\":", "}}"},
	{EV("dns") "\"dns\":{\"version\":3,\"queries\":[{\"rrname\":", ",\"rrtype\":\"A\"}]}}"},
	{EV("dns") "\"dns\":", "}"},
	{EV("http") "\"http\":{\"hostname\":", ",\"url\":\"/\"}}"},
	{EV("http") "\"http\":{\"hostname\":\"a.example\",\"url\":", "}}"},
	{EV("http") "\"http\":{\"http_user_agent\":", "}}"},
	{EV("http") "\"http\":", "}"},
	{EV("tls") "\"tls\":{\"sni\":", ",\"version\":\"TLS 1.2\"}}"},
	{EV("tls") "\"tls\":{\"subject\":", "}}"},
	{EV("tls") "\"tls\":", "}"},
	{EV("fileinfo") "\"fileinfo\":{\"md5\":", "}}"},
	{EV("fileinfo") "\"fileinfo\":", "}"},
	{EV("alert") "\"alert\":", "}"},
	{EV("dns"), "}"},
};
#define NT (sizeof(tmpl) / sizeof(tmpl[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_json_run(tmpl, NT, data, size);
	return 0;
}
