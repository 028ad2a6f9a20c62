/*
 * fuzz_logs_zeek.c: libFuzzer harness for the Zeek TSV reader
 * (logs_parse.c): the #separator, #set_separator, #empty_field,
 * #unset_field, #path and #fields headers, \xHH escapes, set columns.
 *
 * Input: byte 0 chooses the context. Bits 0-2 pick a header put in front
 * of the input: none (the input brings its own), or the headers of a
 * Zeek dns, http, conn, ssl, files or x509 log as Zeek writes them, or a
 * dns header with '|' as separator, ';' as set separator and other
 * empty/unset markers. Bit 3 reads header and input as one file through
 * the buffered reader (512-byte line limit) instead of line by line. Bit 4
 * leaves the format to be detected per line (LOGS_FMT_AUTO) instead of
 * fixing Zeek TSV. So data lines with too many or too few fields,
 * headers redefining the columns midway, separators given as odd escapes
 * and more columns than the reader tracks are all reachable. The checks on
 * every observable are fuzz_lines.h's.
 *
 * Seeds (fuzz/corpus/logs_zeek/, see its README): data lines of the Zeek
 * logs in the shared data (brimdata/zed test data, BSD-3-Clause) and
 * hand-made hostile ones.
 */
#include <stdint.h>

#include "fuzz_lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A Zeek header as the logs module reads it; #types is left out, as the
 * parser skips it whatever it says. */
#define HEAD(path, fields)                                                  \
	"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"      \
	"#unset_field\t-\n#path\t" path "\n#open\t2020-01-01-00-00-00\n"    \
	"#fields\t" fields "\n"

#define ID "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\t"

static const char *const heads[8] = {
	"",
	HEAD("dns", ID "proto\ttrans_id\trtt\tquery\tqclass\tqclass_name\t"
		    "qtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\t"
		    "answers\tTTLs\trejected"),
	HEAD("http", ID "trans_depth\tmethod\thost\turi\treferrer\tversion\t"
		     "user_agent\torigin\trequest_body_len\tresponse_body_len\t"
		     "status_code\tstatus_msg\ttags\torig_fuids\tresp_fuids"),
	HEAD("conn", ID "proto\tservice\tduration\torig_bytes\tresp_bytes\t"
		     "conn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory"),
	HEAD("ssl", ID "version\tcipher\tcurve\tserver_name\tresumed\t"
		    "established\tcert_chain_fps\tclient_cert_chain_fps\t"
		    "subject\tissuer\tvalidation_status"),
	HEAD("files", "ts\tfuid\ttx_hosts\trx_hosts\tconn_uids\tsource\t"
		      "depth\tanalyzers\tmime_type\tfilename\tduration\t"
		      "is_orig\tseen_bytes\tmd5\tsha1\tsha256\textracted"),
	HEAD("x509", "ts\tfingerprint\tcertificate.version\t"
		     "certificate.serial\tcertificate.subject\t"
		     "certificate.issuer\tcertificate.not_valid_before\t"
		     "san.dns\tsan.uri\tsan.email\tsan.ip\tbasic_constraints.ca"),
	"#separator \\x7c\n#set_separator|;\n#empty_field|<>\n"
	"#unset_field|\\x2d\n#path|dns\n"
	"#fields|ts|uid|id.orig_h|id.orig_p|id.resp_h|id.resp_p|query|answers\n",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_lines s = {0};
	logs_reader r;
	const char *head;
	size_t hl;
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	head = heads[mode & 7];
	hl = strlen(head);
	if (logs_reader_init(&r, (mode & 0x10) ? LOGS_FMT_AUTO : LOGS_FMT_ZEEK_TSV,
			     (mode & 0x08) ? 512 : 0, fuzz_lines_check, NULL,
			     &s) != RK_OK)
		return 0;
	s.r = &r;
	if (mode & 0x08) {
		uint8_t *all = malloc(hl + size + 1);
		if (all) {
			memcpy(all, head, hl);
			if (size)
				memcpy(all + hl, data, size);
			fuzz_lines_fd(&r, &s, all, hl + size);
			free(all);
		}
	} else {
		fuzz_lines_feed(&r, &s, (const uint8_t *)head, hl);
		fuzz_lines_feed(&r, &s, data, size);
	}
	fuzz_lines_done(&s, &r);
	logs_reader_cleanup(&r);
	return 0;
}
