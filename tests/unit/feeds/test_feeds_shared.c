/*
 * test_feeds_shared.c: feed import over every feed sample and MISP event
 * in the shared test data ($RK_SHARED/data, RK_SHARED defaulting to
 * ../shared), with counts derived without renkei's code.
 *
 * How the expected counts were made:
 * - The tables below were printed by tests/unit/feeds/count_feeds.py,
 *   which classifies values with Python's ipaddress module and regular
 *   expressions, reads CSV with Python's csv module and walks MISP JSON
 *   with json; none of it shares code or logic with src/feeds. A few rows
 *   were checked by hand: spamhaus/drop.txt has 2 values after 4 ';'
 *   comment lines; asndrop.txt carries AS numbers only (2 rejected);
 *   spamhaus/cert.txt repeats 11 addresses over 19 records (8 duplicates);
 *   blocklistde/imap.txt is 6 documentation addresses (RFC 5737), all on
 *   the built-in reserved list and on MISP's rfc5735 list.
 * - ESET's hash lists (354 files) are counted here, in C, by a different
 *   method than the parser: a line is good when it is only hexadecimal
 *   digits of a hash length (after trailing blanks and CR), values are
 *   made distinct by sorting. Totals checked with grep: 16150 non-empty
 *   lines, 1 bad line (modiloader/samples.sha1 line 13, 41 characters
 *   ending in 's': `grep -n -vE '^[0-9a-f]{40}$'`).
 * - MISP rows are (attributes, attributes with to_ids of a type that has
 *   a pattern, distinct indicators among those).
 *
 * Nothing from the shared data is copied into the repository; a test
 * skips with a message when the data is absent.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "feeds.h"

static char data_root[1024];

static const char *data_dir(void)
{
	const char *shared = getenv("RK_SHARED");
	if (!shared || !*shared)
		shared = "../shared";
	snprintf(data_root, sizeof data_root, "%s/data", shared);
	return data_root;
}

static bool have_data(void)
{
	char p[1200];
	struct stat st;
	snprintf(p, sizeof p, "%s/feeds", data_dir());
	if (stat(p, &st) != 0) {
		print_message("shared data not found at %s: skipped\n", data_dir());
		return false;
	}
	return true;
}

static feeds_import *start(const feeds_warnlists *warn, feeds_on_warning on, const char *state)
{
	feeds_config cfg = {
		.name = "test-feed",
		.marking = STIX_TLP_GREEN,
		.confidence = 50,
		.identity = "identity--0b9a7a55-4c5c-4e8b-9c3b-6d8f1c2e3a4b",
		.warn = warn,
		.on_warning = on,
		.state_dir = state,
		.now = 1764000000000000,
	};
	feeds_import *imp = NULL;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(feeds_import_new(&cfg, &imp, &ctx), RK_OK);
	return imp;
}

static feeds_counts import_one(feeds_format fmt, const char *rel, const feeds_csv_opts *csv)
{
	char path[1400];
	rk_errctx ctx;
	feeds_import *imp = start(NULL, FEEDS_WARN_DROP, NULL);
	snprintf(path, sizeof path, "%s/%s", data_dir(), rel);
	rk_errctx_clear(&ctx);
	assert_int_equal(feeds_import_path(imp, fmt, path, csv, &ctx), RK_OK);
	assert_int_equal(feeds_import_finish(imp, &ctx), RK_OK);
	feeds_counts c = *feeds_import_counts(imp);
	/* Every emitted object is valid STIX with the feed's marking. */
	size_t i;
	json_t *o;
	json_array_foreach(feeds_import_objects(imp), i, o) {
		rk_errctx_clear(&ctx);
		if (stix_validate_object(o, "", NULL, &ctx) != RK_OK)
			fail_msg("%s: object %zu invalid: %s %s", rel, i, ctx.path, ctx.msg);
	}
	feeds_import_free(imp);
	return c;
}

/* ---------------------------------------------------------------- plain */

static const struct {
	const char *path;
	uint64_t read, imported, rejected;
} plain_rows[] = {
	{ "feeds/intelmq/parsers/blocklistde/imap.txt", 6, 6, 0 },
	{ "feeds/intelmq/parsers/openphish/feed.txt", 2, 2, 0 },
	{ "feeds/intelmq/parsers/spamhaus/drop.txt", 2, 2, 0 },
	{ "feeds/intelmq/parsers/spamhaus/asndrop.txt", 2, 0, 2 },
	{ "feeds/intelmq/parsers/spamhaus/cert.txt", 19, 11, 0 },
	{ "feeds/intelmq/parsers/surbl/test_surbl.data", 7, 1, 6 },
};

static void test_plain_samples(void **state)
{
	(void)state;
	if (!have_data())
		skip();
	for (size_t i = 0; i < RK_ARRAY_LEN(plain_rows); i++) {
		feeds_counts c = import_one(FEEDS_FORMAT_PLAIN, plain_rows[i].path, NULL);
		if (c.read != plain_rows[i].read || c.imported != plain_rows[i].imported ||
		    c.rejected != plain_rows[i].rejected)
			fail_msg("%s: read %llu imported %llu rejected %llu, expected %llu %llu %llu",
				 plain_rows[i].path, (unsigned long long)c.read,
				 (unsigned long long)c.imported, (unsigned long long)c.rejected,
				 (unsigned long long)plain_rows[i].read,
				 (unsigned long long)plain_rows[i].imported,
				 (unsigned long long)plain_rows[i].rejected);
		assert_int_equal(c.read, c.imported + c.duplicate + c.rejected);
	}
}

/* ---------------------------------------------------------------- csv */

static const struct {
	const char *path;
	char delimiter;
	const char *columns;
	uint64_t read, imported, rejected;
} csv_rows[] = {
	{ "feeds/intelmq/parsers/cymru/infected_20171031.txt", '|', "value=2", 9, 1, 0 },
	{ "feeds/intelmq/parsers/cymru/certname_20190327.txt", '|', "value=2", 35, 1, 0 },
	{ "feeds/intelmq/parsers/cert_eu/example.csv", ',', "value=source ip", 2, 2, 0 },
	{ "feeds/intelmq/parsers/shadowserver/testdata/test_smb.csv", ',', "value=ip", 3, 3, 0 },
	{ "feeds/intelmq/parsers/shadowserver/testdata/test_telnet.csv", ',', "value=ip", 2, 1, 0 },
	{ "feeds/intelmq/parsers/zoneh/defacement_accepted.csv", ',', "value=domain", 2, 2, 0 },
	{ "feeds/intelmq/parsers/zoneh/defacement_accepted_RECONSTRUCTED.csv", ',', "value=domain", 1, 1, 0 },
	{ "feeds/intelmq/parsers/zoneh/defacement_pending.csv", ',', "value=domain", 1, 1, 0 },
	{ "feeds/intelmq/parsers/generic/sample_report.csv", ',', "value=2", 2, 0, 2 },
	{ "feeds/intelmq/parsers/generic/invalid_sample_report.csv", ',', "value=2", 4, 1, 1 },
	{ "feeds/intelmq/parsers/generic/data_type.csv", ',', "value=source_ip", 1, 1, 0 },
	{ "feeds/intelmq/parsers/generic/empty_src_url.csv", ',', "value=source_url", 4, 1, 1 },
	{ "feeds/intelmq/parsers/generic/multivalue_columns.csv", ',', "value=source_ip", 2, 2, 0 },
	{ "feeds/intelmq/parsers/generic/extra_regex.csv", ',', "value=SourceIp", 2, 2, 0 },
	{ "feeds/intelmq/parsers/generic/compose_fields.csv", ',', "value=1", 1, 1, 0 },
	{ "feeds/intelmq/parsers/generic/test_filter_blacklist.csv", ',', "value=1", 2, 0, 2 },
	{ "feeds/intelmq/parsers/generic/test_filter_whitelist_ipset.csv", ',', "value=1", 5, 0, 5 },
	{ "feeds/intelmq/parsers/dyn/ponmocup-infected-domains-CIF-latest.txt", ' ', "value=2", 2, 2, 0 },
};

static void test_csv_samples(void **state)
{
	(void)state;
	if (!have_data())
		skip();
	for (size_t i = 0; i < RK_ARRAY_LEN(csv_rows); i++) {
		feeds_csv_opts o;
		rk_errctx ctx;
		rk_errctx_clear(&ctx);
		feeds_csv_opts_init(&o);
		o.delimiter = csv_rows[i].delimiter;
		assert_int_equal(feeds_csv_opts_parse(csv_rows[i].columns, &o, &ctx), RK_OK);
		feeds_counts c = import_one(FEEDS_FORMAT_CSV, csv_rows[i].path, &o);
		if (c.read != csv_rows[i].read || c.imported != csv_rows[i].imported ||
		    c.rejected != csv_rows[i].rejected)
			fail_msg("%s: read %llu imported %llu rejected %llu, expected %llu %llu %llu",
				 csv_rows[i].path, (unsigned long long)c.read,
				 (unsigned long long)c.imported, (unsigned long long)c.rejected,
				 (unsigned long long)csv_rows[i].read,
				 (unsigned long long)csv_rows[i].imported,
				 (unsigned long long)csv_rows[i].rejected);
	}
}

/* Samples that no format of this round reads: vendor API documents. */
static const struct {
	const char *path; /* prefix under feeds/intelmq/parsers/ */
	const char *why;
} unsupported[] = {
	{ "alienvault/", "OTX API JSON" },
	{ "anubisnetworks/", "AnubisNetworks stream JSON" },
	{ "blueliv/", "Blueliv crimeserver JSON" },
	{ "calidog/", "certstream JSON" },
	{ "cleanmx/", "CleanMX XML" },
	{ "cznic/", "CZ.NIC PROKI JSON" },
	{ "github_feed/", "GitHub IoC JSON" },
	{ "html_table/", "HTML tables" },
	{ "json/", "IntelMQ report JSON" },
	{ "microsoft/", "Microsoft CTIP and Bing JSON" },
	{ "misp/misp_attribute.json", "a single MISP attribute, not an event" },
	{ "shodan/", "Shodan stream JSON" },
	{ "shadowserver/README.md", "documentation" },
	{ "shadowserver/testdata/README.md", "documentation" },
};

static bool listed(const char *rel)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(plain_rows); i++)
		if (strcmp(plain_rows[i].path, rel) == 0)
			return true;
	for (size_t i = 0; i < RK_ARRAY_LEN(csv_rows); i++)
		if (strcmp(csv_rows[i].path, rel) == 0)
			return true;
	if (strcmp(rel, "feeds/intelmq/parsers/misp/misp_event.json") == 0)
		return true; /* in misp_rows */
	const char *tail = rel + strlen("feeds/intelmq/parsers/");
	for (size_t i = 0; i < RK_ARRAY_LEN(unsupported); i++)
		if (strncmp(tail, unsupported[i].path, strlen(unsupported[i].path)) == 0)
			return true;
	return false;
}

static void walk_listed(const char *rel_dir, size_t *files)
{
	char path[2200], rel[1024];
	snprintf(path, sizeof path, "%s/%s", data_dir(), rel_dir);
	DIR *d = opendir(path);
	struct dirent *e;
	assert_non_null(d);
	while ((e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof rel, "%s/%s", rel_dir, e->d_name);
		snprintf(path, sizeof path, "%s/%s", data_dir(), rel);
		assert_int_equal(stat(path, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			walk_listed(rel, files);
			continue;
		}
		size_t n = strlen(rel);
		if (n > 8 && strcmp(rel + n - 8, ".license") == 0)
			continue;
		(*files)++;
		if (!listed(rel))
			fail_msg("%s: a feed sample no test reads (add it to a table)", rel);
	}
	closedir(d);
}

/* Every IntelMQ fixture is read by a table above or named as not
 * readable by this round's formats, so a new sample is noticed. */
static void test_every_intelmq_sample_listed(void **state)
{
	size_t files = 0;
	(void)state;
	if (!have_data())
		skip();
	walk_listed("feeds/intelmq/parsers", &files);
	assert_true(files >= 40);
}

/* ---------------------------------------------------------------- ESET */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The expected counts of one hash list, by looking at characters. */
static void count_hashes(const char *path, uint64_t *read, uint64_t *good, uint64_t *bad,
			 size_t *bad_line)
{
	char *text = NULL, **vals = NULL;
	size_t len = 0, n = 0, lineno = 0;
	rk_errctx ctx;
	rk_errctx_clear(&ctx);
	assert_int_equal(rk_read_file(path, 64u << 20, &text, &len, &ctx), RK_OK);
	vals = calloc(len / 16 + 2, sizeof *vals);
	assert_non_null(vals);
	*read = *bad = 0;
	for (char *line = text, *next; line && line < text + len; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		size_t l = strlen(line);
		while (l && (line[l - 1] == ' ' || line[l - 1] == '\t' || line[l - 1] == '\r'))
			line[--l] = '\0';
		if (!l)
			continue;
		(*read)++;
		size_t hex = strspn(line, "0123456789abcdefABCDEF");
		if (hex != l || (l != 32 && l != 40 && l != 64 && l != 128)) {
			(*bad)++;
			*bad_line = lineno;
			continue;
		}
		for (size_t k = 0; k < l; k++)
			if (line[k] >= 'A' && line[k] <= 'F')
				line[k] = (char)(line[k] - 'A' + 'a');
		vals[n++] = line;
	}
	qsort(vals, n, sizeof *vals, cmp_str);
	*good = 0;
	for (size_t k = 0; k < n; k++)
		if (k == 0 || strcmp(vals[k], vals[k - 1]) != 0)
			(*good)++;
	free(vals);
	free(text);
}

typedef struct eset_totals {
	uint64_t read, imported, rejected;
	size_t files;
} eset_totals;

/* Every samples.{md5,sha1,sha256} under rel_dir, at any depth. */
static void eset_walk(const char *rel_dir, eset_totals *t)
{
	char path[2400], rel[1024];
	snprintf(path, sizeof path, "%s/%s", data_dir(), rel_dir);
	DIR *d = opendir(path);
	struct dirent *e;
	assert_non_null(d);
	while ((e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof rel, "%s/%s", rel_dir, e->d_name);
		snprintf(path, sizeof path, "%s/%s", data_dir(), rel);
		assert_int_equal(stat(path, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			eset_walk(rel, t);
			continue;
		}
		if (strncmp(e->d_name, "samples.", 8) != 0)
			continue;
		uint64_t read, good, bad;
		size_t bad_line = 0;
		count_hashes(path, &read, &good, &bad, &bad_line);
		feeds_counts c = import_one(FEEDS_FORMAT_PLAIN, rel, NULL);
		if (c.read != read || c.imported != good || c.rejected != bad)
			fail_msg("%s: read %llu imported %llu rejected %llu, expected %llu %llu %llu", rel,
				 (unsigned long long)c.read, (unsigned long long)c.imported,
				 (unsigned long long)c.rejected, (unsigned long long)read,
				 (unsigned long long)good, (unsigned long long)bad);
		t->files++;
		t->read += c.read;
		t->imported += c.imported;
		t->rejected += c.rejected;
	}
	closedir(d);
}

static void test_eset_hash_lists(void **state)
{
	eset_totals t = { 0 };
	(void)state;
	if (!have_data())
		skip();
	eset_walk("feeds/eset-malware-ioc-hashes", &t);
	assert_int_equal(t.files, 354);
	assert_int_equal(t.read, 16150);
	assert_int_equal(t.imported, 16137);
	assert_int_equal(t.rejected, 1);
}

/* The one bad ESET line is reported with its file and line. */
static void test_eset_bad_line_reported(void **state)
{
	char path[1400], want[1500];
	rk_errctx ctx;
	(void)state;
	if (!have_data())
		skip();
	snprintf(path, sizeof path, "%s/feeds/eset-malware-ioc-hashes/modiloader/samples.sha1",
		 data_dir());
	feeds_import *imp = start(NULL, FEEDS_WARN_DROP, NULL);
	rk_errctx_clear(&ctx);
	assert_int_equal(feeds_import_path(imp, FEEDS_FORMAT_PLAIN, path, NULL, &ctx), RK_OK);
	json_t *r = feeds_import_rejects(imp);
	assert_int_equal(json_array_size(r), 1);
	snprintf(want, sizeof want, "%s:13", path);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "where")), want);
	feeds_import_free(imp);
}

/* ---------------------------------------------------------------- MISP */

static const struct {
	const char *path;
	uint64_t attributes, to_ids, imported;
} misp_rows[] = {
	{ "feeds/intelmq/parsers/misp/misp_event.json", 2, 0, 0 },
	{ "misp/eset-malware-ioc/backdoordiplomacy/misp.event_2021-06-10_backdoordiplomacy.json", 67, 66, 66 },
	{ "misp/eset-malware-ioc/cloudmensis/cloudmensis.misp.json", 22, 9, 9 },
	{ "misp/eset-malware-ioc/gelsemium/misp.event_2021-06-09_gelsemium-when-threat-actors-go-gardening.json", 154, 153, 153 },
	{ "misp/eset-malware-ioc/glupteba/glupteba.misp-event.json", 321, 320, 320 },
	{ "misp/eset-malware-ioc/mozi/mozi.misp-event.json", 151, 74, 74 },
	{ "misp/eset-malware-ioc/oceanlotus/oceanlotus-wateringhole-2018.misp.event.json", 75, 0, 0 },
	{ "misp/eset-malware-ioc/oceanlotus/oceanlotus.misp.event.json", 111, 0, 0 },
	{ "misp/eset-malware-ioc/powerpool/misp-powerpool.json", 18, 0, 0 },
	{ "misp/eset-malware-ioc/ramsay/misp-ramsay.json", 81, 51, 51 },
	{ "misp/eset-malware-ioc/sednit/2017-05-09_Trump_Attack_on_Syria_IoCs.json", 23, 0, 0 },
	{ "misp/eset-malware-ioc/sednit/2018-11-20_Zebrocy.json", 32, 0, 0 },
	{ "misp/eset-malware-ioc/sednit/2019-05-23_Zebrocy.json", 12, 0, 0 },
	{ "misp/eset-malware-ioc/signsight/signsight-misp-event.json", 13, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/abafar.json", 10, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/akiva.json", 5, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/alderaan.json", 4, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/ando.json", 7, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/anoat.json", 9, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/atollon.json", 7, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/batuu.json", 8, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/bespin.json", 3, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/bonadan.json", 3, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/borleias.json", 3, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/chandrila.json", 5, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/coruscant.json", 4, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/crait.json", 9, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/endor.json", 31, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/jakku.json", 6, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/kamino.json", 11, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/kessel.json", 8, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/mimban.json", 11, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/onderon.json", 28, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/polismassa.json", 29, 0, 0 },
	{ "misp/eset-malware-ioc/sshdoor/misp-events/quarren.json", 7, 0, 0 },
	{ "misp/misp-core/tests-event.json", 38, 27, 27 },
	{ "misp/misp-stix/tests/test_attributes_collection_1.json", 2, 1, 1 },
	{ "misp/misp-stix/tests/test_attributes_collection_2.json", 2, 1, 1 },
	{ "misp/misp-stix/tests/test_events_collection_1.json", 2, 1, 1 },
	{ "misp/misp-stix/tests/test_events_collection_2.json", 2, 1, 1 },
	{ "misp/misp-stix/tests/test_objects_collection_1.json", 0, 0, 0 },
	{ "misp/misp-stix/tests/test_objects_collection_2.json", 0, 0, 0 },
	{ "misp/pymisp-tests/57c4445b-c548-4654-af0b-4be3950d210f.json", 9, 3, 3 },
	{ "misp/pymisp-tests/misp_event.json", 2, 0, 0 },
	{ "misp/pymisp-tests/mispevent_testfiles/attribute.json", 1, 0, 0 },
	{ "misp/pymisp-tests/mispevent_testfiles/attribute_del.json", 1, 0, 0 },
	{ "misp/pymisp-tests/mispevent_testfiles/def_param.json", 4, 2, 2 },
	{ "misp/pymisp-tests/mispevent_testfiles/event.json", 0, 0, 0 },
	{ "misp/pymisp-tests/mispevent_testfiles/event_obj_attr_tag.json", 2, 1, 1 },
	{ "misp/pymisp-tests/mispevent_testfiles/event_obj_def_param.json", 3, 0, 0 },
	{ "misp/pymisp-tests/mispevent_testfiles/event_obj_tag.json", 1, 0, 0 },
	{ "misp/pymisp-tests/mispevent_testfiles/event_tags.json", 0, 0, 0 },
	{ "misp/pymisp-tests/mispevent_testfiles/existing_event.json", 122, 68, 66 },
	{ "misp/pymisp-tests/mispevent_testfiles/existing_event_edited.json", 122, 68, 66 },
	{ "misp/pymisp-tests/mispevent_testfiles/galaxy.json", 0, 0, 0 },
	{ "misp/pymisp-tests/mispevent_testfiles/malware.json", 1, 0, 0 },
	{ "misp/pymisp-tests/mispevent_testfiles/malware_exist.json", 6, 3, 3 },
	{ "misp/pymisp-tests/mispevent_testfiles/misp_custom_obj.json", 2, 0, 0 },
	{ "misp/pymisp-tests/mispevent_testfiles/proposals.json", 1, 0, 0 },
	{ "misp/pymisp-tests/mispevent_testfiles/shadow.json", 3, 0, 0 },
	{ "misp/pymisp-tests/mispevent_testfiles/sighting.json", 0, 0, 0 },
	{ "misp/pymisp-tests/mispevent_testfiles/simple.json", 0, 0, 0 },
	{ "misp/pymisp-tests/new_misp_event.json", 0, 0, 0 },
};

static void test_misp_events(void **state)
{
	(void)state;
	if (!have_data())
		skip();
	for (size_t i = 0; i < RK_ARRAY_LEN(misp_rows); i++) {
		feeds_counts c = import_one(FEEDS_FORMAT_MISP, misp_rows[i].path, NULL);
		uint64_t offered = c.read - c.skipped - c.rejected;
		if (c.read != misp_rows[i].attributes || offered != misp_rows[i].to_ids ||
		    c.imported != misp_rows[i].imported || c.rejected)
			fail_msg("%s: attributes %llu to_ids %llu imported %llu rejected %llu, "
				 "expected %llu %llu %llu 0",
				 misp_rows[i].path, (unsigned long long)c.read,
				 (unsigned long long)offered, (unsigned long long)c.imported,
				 (unsigned long long)c.rejected, (unsigned long long)misp_rows[i].attributes,
				 (unsigned long long)misp_rows[i].to_ids,
				 (unsigned long long)misp_rows[i].imported);
	}
}

/* A MISP feed directory made from the real ESET events (no sample of the
 * layout exists): each event is written as <uuid>.json in {"Event": ...}
 * form and listed in manifest.json. Attributes and to_ids counts must be
 * the sums of the per-file rows; a second import with state emits
 * nothing. */
static void test_misp_feed_directory(void **state)
{
	char tmpl[] = "/tmp/rk-misp-feed-XXXXXX", path[1400], state_dir[64];
	uint64_t attributes = 0, to_ids = 0;
	size_t events = 0;
	rk_errctx ctx;
	(void)state;
	if (!have_data())
		skip();
	assert_non_null(mkdtemp(tmpl));
	json_t *manifest = json_object();
	for (size_t i = 0; i < RK_ARRAY_LEN(misp_rows); i++) {
		if (strncmp(misp_rows[i].path, "misp/eset-malware-ioc/", 22) != 0)
			continue;
		json_t *doc = NULL, *ev;
		snprintf(path, sizeof path, "%s/%s", data_dir(), misp_rows[i].path);
		rk_errctx_clear(&ctx);
		assert_int_equal(rk_json_load_file(path, 64u << 20, 64, &doc, &ctx), RK_OK);
		ev = json_object_get(doc, "Event");
		if (!ev)
			ev = json_object_get(json_array_get(json_object_get(doc, "response"), 0), "Event");
		assert_non_null(ev);
		const char *uuid = json_string_value(json_object_get(ev, "uuid"));
		assert_non_null(uuid);
		json_t *out = json_pack("{s:O}", "Event", ev);
		snprintf(path, sizeof path, "%s/%s.json", tmpl, uuid);
		assert_int_equal(json_dump_file(out, path, 0), 0);
		json_object_set_new(manifest, uuid, json_pack("{s:s}", "info",
				json_string_value(json_object_get(ev, "info"))));
		json_decref(out);
		json_decref(doc);
		attributes += misp_rows[i].attributes;
		to_ids += misp_rows[i].to_ids;
		events++;
	}
	assert_int_equal(events, 34);
	snprintf(path, sizeof path, "%s/manifest.json", tmpl);
	assert_int_equal(json_dump_file(manifest, path, 0), 0);
	json_decref(manifest);
	snprintf(state_dir, sizeof state_dir, "%s/state", tmpl);

	uint64_t first_imported = 0;
	for (int round = 0; round < 2; round++) {
		feeds_import *imp = start(NULL, FEEDS_WARN_DROP, state_dir);
		rk_errctx_clear(&ctx);
		assert_int_equal(feeds_import_path(imp, FEEDS_FORMAT_MISP_FEED, tmpl, NULL, &ctx), RK_OK);
		assert_int_equal(feeds_import_finish(imp, &ctx), RK_OK);
		const feeds_counts *c = feeds_import_counts(imp);
		assert_int_equal(c->read, attributes);
		assert_int_equal(c->read - c->skipped - c->rejected, to_ids);
		assert_int_equal(c->rejected, 0);
		if (round == 0) {
			first_imported = c->imported;
			assert_true(c->imported > 0);
			assert_int_equal(c->imported + c->duplicate, to_ids);
		} else {
			assert_int_equal(c->imported, 0);
			assert_int_equal(c->unchanged, first_imported);
			assert_int_equal(c->gone, 0);
		}
		feeds_import_free(imp);
	}
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
	assert_int_equal(system(cmd), 0);
}

/* ---------------------------------------------------------------- STIX */

static const struct {
	const char *path;
	uint64_t objects, indicators, rejected;
} stix_rows[] = {
	{ "misp/misp-stix/tests/test_attributes_collection_stix21.json", 15, 3, 0 },
	{ "misp/misp-stix/tests/test_event1_stix21.json", 9, 1, 0 },
	{ "misp/misp-stix/tests/test_event2_stix21.json", 12, 2, 0 },
	{ "misp/misp-stix/tests/test_events_collection_stix21.json", 20, 3, 0 },
	{ "misp/misp-stix/tests/test_objects_collection_stix21.json", 18, 3, 0 },
	/* STIX 2.0: none of its three objects has spec_version; each is
	 * rejected. */
	{ "misp/pymisp-tests/stix2.json", 3, 0, 3 },
};

static void test_stix_bundles(void **state)
{
	(void)state;
	if (!have_data())
		skip();
	for (size_t i = 0; i < RK_ARRAY_LEN(stix_rows); i++) {
		feeds_counts c = import_one(FEEDS_FORMAT_STIX, stix_rows[i].path, NULL);
		if (c.read != stix_rows[i].objects || c.imported != stix_rows[i].indicators ||
		    c.rejected != stix_rows[i].rejected)
			fail_msg("%s: read %llu imported %llu rejected %llu", stix_rows[i].path,
				 (unsigned long long)c.read, (unsigned long long)c.imported,
				 (unsigned long long)c.rejected);
	}
}

/* JSON files under misp/ that are not MISP events (read by no test here):
 * MISP's feed catalogue and its schema, misp-stix's mapping tables, STIX
 * 2.0 renderings, an event index, sharing groups, object templates. */
static const char *const misp_not_events[] = {
	"misp/misp-core/feed-metadata-defaults.json",
	"misp/misp-core/feed-metadata-schema.json",
	"misp/misp-stix/mapping/",
	"misp/misp-stix/tests/test_attributes_collection_stix20.json",
	"misp/misp-stix/tests/test_event1_stix20.json",
	"misp/misp-stix/tests/test_event2_stix20.json",
	"misp/misp-stix/tests/test_events_collection_stix20.json",
	"misp/misp-stix/tests/test_objects_collection_stix20.json",
	"misp/pymisp-tests/search_index_result.json",
	"misp/pymisp-tests/sharing_groups.json",
	"misp/pymisp-tests/mispevent_testfiles/test_object_template/",
	"misp/pymisp-tests/mispevent_testfiles/overwrite_file/",
};

static bool misp_listed(const char *rel);

static void walk_misp(const char *rel_dir, size_t *files)
{
	char path[2200], rel[1024];
	snprintf(path, sizeof path, "%s/%s", data_dir(), rel_dir);
	DIR *d = opendir(path);
	struct dirent *e;
	assert_non_null(d);
	while ((e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof rel, "%s/%s", rel_dir, e->d_name);
		snprintf(path, sizeof path, "%s/%s", data_dir(), rel);
		assert_int_equal(stat(path, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			walk_misp(rel, files);
			continue;
		}
		size_t n = strlen(rel);
		if (n < 5 || strcmp(rel + n - 5, ".json") != 0)
			continue;
		(*files)++;
		if (!misp_listed(rel))
			fail_msg("%s: a MISP file no test reads (add it to a table)", rel);
	}
	closedir(d);
}

/* Every MISP event of the shared data is in misp_rows (and every STIX
 * rendering of one in stix_rows), so a new event is noticed. */
static void test_every_misp_event_listed(void **state)
{
	size_t files = 0;
	(void)state;
	if (!have_data())
		skip();
	walk_misp("misp", &files);
	assert_true(files >= 80);
}

static bool misp_listed(const char *rel)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(misp_rows); i++)
		if (strcmp(misp_rows[i].path, rel) == 0)
			return true;
	for (size_t i = 0; i < RK_ARRAY_LEN(stix_rows); i++)
		if (strcmp(stix_rows[i].path, rel) == 0)
			return true;
	for (size_t i = 0; i < RK_ARRAY_LEN(misp_not_events); i++)
		if (strncmp(rel, misp_not_events[i], strlen(misp_not_events[i])) == 0)
			return true;
	return false;
}

/* ---------------------------------------------------------------- warning lists */

static void test_warninglists(void **state)
{
	char path[1400], wl[1400];
	rk_errctx ctx;
	feeds_warnlists *w = NULL;
	(void)state;
	if (!have_data())
		skip();
	snprintf(path, sizeof path, "%s/feeds/intelmq/parsers/blocklistde/imap.txt", data_dir());

	/* Built-in lists: all six documentation addresses are dropped. */
	rk_errctx_clear(&ctx);
	assert_int_equal(feeds_warn_new(true, &w, &ctx), RK_OK);
	feeds_import *imp = start(w, FEEDS_WARN_DROP, NULL);
	assert_int_equal(feeds_import_path(imp, FEEDS_FORMAT_PLAIN, path, NULL, &ctx), RK_OK);
	assert_int_equal(feeds_import_counts(imp)->dropped, 6);
	assert_int_equal(feeds_import_counts(imp)->imported, 0);
	size_t reserved = 99;
	for (size_t i = 0; i < feeds_warn_count(w); i++)
		if (strcmp(feeds_warn_name(w, i), "builtin-reserved") == 0)
			reserved = i;
	assert_int_equal(feeds_import_warn_hits(imp, reserved), 6);
	feeds_import_free(imp);
	feeds_warn_free(w);

	/* Every MISP warninglist of the shared data loads; without the
	 * built-in set, MISP's rfc5735 list catches the same six; flagged
	 * values are imported with the list's name as a label. */
	assert_int_equal(feeds_warn_new(false, &w, &ctx), RK_OK);
	static const char *const lists[] = {
		"cloudflare", "dynamic-dns", "empty-hashes", "google", "ipv6-linklocal",
		"multicast", "public-dns-v4", "public-dns-v6", "rfc1918", "rfc5735",
		"rfc6598", "second-level-tlds", "sinkholes", "tlds", "tranco10k", "url-shortener",
	};
	for (size_t i = 0; i < RK_ARRAY_LEN(lists); i++) {
		snprintf(wl, sizeof wl, "%s/feeds/misp-warninglists/%s", data_dir(), lists[i]);
		rk_errctx_clear(&ctx);
		if (feeds_warn_load(w, wl, &ctx) != RK_OK)
			fail_msg("%s: %s %s", wl, ctx.path, ctx.msg);
	}
	assert_int_equal(feeds_warn_count(w), RK_ARRAY_LEN(lists));
	imp = start(w, FEEDS_WARN_FLAG, NULL);
	assert_int_equal(feeds_import_path(imp, FEEDS_FORMAT_PLAIN, path, NULL, &ctx), RK_OK);
	assert_int_equal(feeds_import_counts(imp)->flagged, 6);
	assert_int_equal(feeds_import_counts(imp)->imported, 6);
	json_t *labels = json_object_get(json_array_get(feeds_import_objects(imp), 0), "labels");
	const char *label = json_string_value(json_array_get(labels, 0));
	assert_non_null(label);
	assert_true(strncmp(label, "warning-list:", 13) == 0);
	assert_non_null(strstr(label, "5735"));
	feeds_import_free(imp);

	/* Values on lists of each kind. */
	assert_true(feeds_warn_match(w, FEEDS_IPV4, "8.8.8.8") >= 0);      /* public-dns-v4 */
	assert_true(feeds_warn_match(w, FEEDS_IPV4, "10.1.2.0/24") >= 0);  /* rfc1918 */
	assert_true(feeds_warn_match(w, FEEDS_DOMAIN, "www.google.com") >= 0);
	assert_true(feeds_warn_match(w, FEEDS_URL, "https://bit.ly/x") >= 0); /* url-shortener */
	assert_true(feeds_warn_match(w, FEEDS_MD5, "d41d8cd98f00b204e9800998ecf8427e") >= 0);
	assert_int_equal(feeds_warn_match(w, FEEDS_IPV4, "45.33.32.156"), -1);
	assert_int_equal(feeds_warn_match(w, FEEDS_DOMAIN, "malicious-example-zz9.com"), -1);
	feeds_warn_free(w);
}

/* ---------------------------------------------------------------- misp-stix oracle */

/* The patterns misp-stix writes for each attribute type
 * (mapping/misp_attributes_to_stix21.json) are what feeds_misp_map
 * writes, for the types where renkei follows misp-stix (see
 * feeds_misp.c for the ones it deliberately does not). */
static void test_misp_stix_patterns(void **state)
{
	static const char *const types[] = {
		"domain", "hostname", "url", "uri", "link", "email", "md5", "sha1", "sha256",
		"sha512", "filename|md5", "filename|sha1", "filename|sha256", "filename|sha512",
		"domain|ip",
	};
	char path[1400];
	json_t *doc = NULL;
	rk_errctx ctx;
	feeds_misp_value mv;
	(void)state;
	if (!have_data())
		skip();
	snprintf(path, sizeof path, "%s/misp/misp-stix/mapping/misp_attributes_to_stix21.json",
		 data_dir());
	rk_errctx_clear(&ctx);
	assert_int_equal(rk_json_load_file(path, 64u << 20, 64, &doc, &ctx), RK_OK);
	rk_buf_init(&mv.pattern);
	for (size_t i = 0; i < RK_ARRAY_LEN(types); i++) {
		json_t *row = json_object_get(doc, types[i]);
		const char *value = json_string_value(json_object_get(json_object_get(row, "MISP"), "value"));
		const char *want = NULL;
		json_t *stix = json_object_get(row, "STIX"), *o;
		size_t k;
		json_array_foreach(stix, k, o)
			if (json_object_get(o, "pattern"))
				want = json_string_value(json_object_get(o, "pattern"));
		if (!value || !want)
			fail_msg("%s: no MISP value or STIX pattern in the mapping", types[i]);
		const char *why = NULL;
		assert_int_equal(feeds_misp_map(types[i], value, &mv, &why), 1);
		rk_buf built;
		rk_buf_init(&built);
		if (mv.pattern.len)
			rk_buf_puts(&built, mv.pattern.data);
		else
			feeds_pattern_simple(&built, mv.type, mv.value);
		if (strcmp(built.data, want) != 0)
			fail_msg("%s: %s, misp-stix writes %s", types[i], built.data, want);
		rk_buf_cleanup(&built);
	}
	rk_buf_cleanup(&mv.pattern);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_samples),
		cmocka_unit_test(test_csv_samples),
		cmocka_unit_test(test_every_intelmq_sample_listed),
		cmocka_unit_test(test_eset_hash_lists),
		cmocka_unit_test(test_eset_bad_line_reported),
		cmocka_unit_test(test_misp_events),
		cmocka_unit_test(test_misp_feed_directory),
		cmocka_unit_test(test_stix_bundles),
		cmocka_unit_test(test_every_misp_event_listed),
		cmocka_unit_test(test_warninglists),
		cmocka_unit_test(test_misp_stix_patterns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
