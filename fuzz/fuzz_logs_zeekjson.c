/*
 * fuzz_logs_zeekjson.c: libFuzzer harness for Zeek JSON lines (Zeek's
 * LogAscii::use_json) through the logs module's JSON scanner
 * (logs_json.c) and field table (logs_parse.c): conn, dns, http, ssl,
 * files and x509 records, whose keys are the TSV column names ("id.orig_h"
 * with its dot, "answers" as an array, "san.dns" and so on).
 *
 * The input layout is fuzz_logs_json.h's: byte 0 picks one of the
 * templates below, each a Zeek record with one field left open for the
 * fuzzed bytes, or none (the input is a log of lines). The "host" key is
 * Zeek's Host header only in a line without "event_type", so the templates
 * include both kinds of line. Observables are checked by fuzz_lines.h.
 *
 * Seeds (fuzz/corpus/logs_zeekjson/, see its README): Zeek JSON records in
 * the shape of the shared Zeek logs (brimdata/zed test data, BSD-3-Clause)
 * and hand-made hostile ones.
 */
#include <stdint.h>

#include "fuzz_logs_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define Z "{\"ts\":1600000000.123456,\"uid\":\"CHhAvVGS1DHFjwGM9\","

static const fuzz_tmpl tmpl[] = {
	{"{\"ts\":", ",\"id.orig_h\":\"192.0.2.1\"}"},
	{Z "\"id.orig_h\":", ",\"id.orig_p\":1}"},
	{Z "\"id.orig_h\":\"192.0.2.1\",\"id.resp_h\":", "}"},
	{Z "\"id\":", "}"},
	{Z "\"query\":", ",\"qtype_name\":\"A\"}"},
	{Z "\"query\":\"a.example\",\"answers\":", ",\"TTLs\":[60.0]}"},
	{Z "\"host\":", ",\"uri\":\"/\"}"},
	{Z "\"host\":\"a.example\",\"uri\":", "}"},
	{Z "\"user_agent\":", "}"},
	{Z "\"event_type\":\"http\",\"host\":", "}"},
	{Z "\"server_name\":", ",\"established\":true}"},
	{Z "\"cert_chain_fps\":", "}"},
	{"{\"ts\":1600000000.1,\"fuid\":\"F1\",\"tx_hosts\":", ",\"rx_hosts\":[]}"},
	{"{\"ts\":1600000000.1,\"fuid\":\"F1\",\"md5\":", ",\"sha1\":\"\"}"},
	{"{\"ts\":1600000000.1,\"fuid\":\"F1\",\"sha256\":", "}"},
	{"{\"ts\":1600000000.1,\"id\":\"F1\",\"certificate.subject\":", "}"},
	{"{\"ts\":1600000000.1,\"id\":\"F1\",\"san.dns\":", ",\"san.ip\":null}"},
	{"{\"ts\":1600000000.1,\"id\":\"F1\",\"san.uri\":", ",\"san.email\":[]}"},
	{"{\"ts\":1600000000.1,\"id\":\"F1\",\"certificate\":", "}"},
	{"{\"ts\":1600000000.1,\"fingerprint\":", "}"},
	{Z, "}"},
};
#define NT (sizeof(tmpl) / sizeof(tmpl[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_json_run(tmpl, NT, data, size);
	return 0;
}
