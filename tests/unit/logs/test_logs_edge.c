/*
 * test_logs_edge.c: hand-written cases for the logs module: Zeek TSV
 * headers, escapes, unset and empty fields; JSON escapes and the EVE DNS
 * formats; free text with word boundaries; bounded lines, invalid UTF-8 and
 * bad JSON counted with their line numbers; timestamps; a followed file
 * that is appended to, rotated and truncated in a temporary directory; and
 * the dotted-quad check against inet_pton over a million strings.
 *
 * Each case feeds lines and compares the observables, rendered as
 * "field kind value" strings in order, with the expected list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <arpa/inet.h>

#include "logs.h"
#include "logs_int.h"

#define MAX_SEEN 64

typedef struct seen {
	char obs[MAX_SEEN][300];
	uint64_t line[MAX_SEEN];
	int64_t ts[MAX_SEEN];
	int n;
	char err[8][200];
	int nerr;
} seen;

static int on_obs(const logs_obs *o, void *arg)
{
	seen *s = arg;
	if (s->n < MAX_SEEN) {
		snprintf(s->obs[s->n], sizeof(s->obs[0]), "%s %s %.*s",
			 logs_field_name(o->field), logs_kind_name(o->kind), (int)o->len, o->val);
		s->line[s->n] = o->line;
		s->ts[s->n] = o->has_ts ? o->ts_us : -1;
	}
	s->n++;
	return 0;
}

static void on_err(const char *file, uint64_t line, const char *why, void *arg)
{
	seen *s = arg;
	if (s->nerr < 8)
		snprintf(s->err[s->nerr], sizeof(s->err[0]), "%s:%llu: %s", file,
			 (unsigned long long)line, why);
	s->nerr++;
}

/* Feeds the lines of text (newline-separated) through a pipe-less path:
 * a temporary file read by logs_read_file. */
static void run(logs_reader *r, const char *text, seen *s, logs_format fmt, size_t max_line)
{
	char path[] = "/tmp/rk-logs-edge-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	memset(s, 0, sizeof(*s));
	assert_int_equal(logs_reader_init(r, fmt, max_line, on_obs, on_err, s), RK_OK);
	assert_int_equal(logs_read_file(r, path), RK_OK);
	unlink(path);
}

static void expect(const seen *s, const char *const *want, int n)
{
	for (int i = 0; i < s->n && i < MAX_SEEN; i++)
		printf("  got[%d] %s\n", i, s->obs[i]);
	assert_int_equal(s->n, n);
	for (int i = 0; i < n; i++)
		assert_string_equal(s->obs[i], want[i]);
}

#define ZEEK_HEAD                                                           \
	"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"      \
	"#unset_field\t-\n#path\tdns\n"                                     \
	"#fields\tts\tid.orig_h\tquery\tanswers\tuser_agent\n"             \
	"#types\ttime\taddr\tstring\tvector[string]\tstring\n"

static void test_zeek_tsv(void **state)
{
	(void)state;
	logs_reader r;
	seen s;
	const char *text = ZEEK_HEAD
		"1521911720.5\t10.0.0.1\tevil.example\t(empty)\t-\n"
		"1521911721.000001\t-\tex\\x2eample.org\ta.com\\x2cb.com,1.2.3.4,2001:db8::1\tcurl/8\\x09x\n"
		"1521911722.0\t10.0.0.2\tshort.example\n"
		"#close\t2024\n";
	const char *want[] = {
		"conn.src ipv4 10.0.0.1",
		"dns.query domain evil.example",
		"dns.query domain ex.ample.org",
		"dns.answer ipv4 1.2.3.4",
		"dns.answer ipv6 2001:db8::1",
		"http.user_agent user-agent curl/8\tx",
	};
	run(&r, text, &s, LOGS_FMT_AUTO, 0);
	expect(&s, want, 6);
	assert_int_equal(s.ts[0], 1521911720500000LL);
	assert_int_equal(s.ts[2], 1521911721000001LL);
	assert_int_equal(s.line[2], 9);
	assert_int_equal(r.stats.bad_tsv, 1);
	assert_int_equal(s.nerr, 1);
	assert_non_null(strstr(s.err[0], ":10: "));
	logs_reader_cleanup(&r);
}

/* The TSV line pass: lines around sixteen bytes, non-ASCII bytes (valid
 * and not), a '\\' or set separator in a column not taken (the line takes
 * the careful way, the values stay the same), a custom separator, and a
 * #fields header wider than LOGS_TSV_MAX_FIELDS. */
static void test_zeek_tsv_lines(void **state)
{
	(void)state;
	logs_reader r;
	seen s;
	char *text = malloc(8192), *p = text;
	p += sprintf(p, "#fields\tts\tid.orig_h\tquery\tanswers\tuser_agent\n");
	p += sprintf(p, "1\t10.0.0.1\ta.io\t-\t-\n");                 /* 22 bytes */
	p += sprintf(p, "1\t10.0.0.12\tab.io\t-\t-\n");               /* 24 */
	p += sprintf(p, "1\t-\tb.io\t-\t-\n");                        /* 15 */
	p += sprintf(p, "1\t10.0.0.3\tc.io\t-\tmoz \xc3\xa9t\xc3\xa9\n"); /* UTF-8 UA */
	p += sprintf(p, "1\t10.0.0.4\td.io\t-\tbad \xc3\x28 agent\n");    /* not UTF-8 */
	p += sprintf(p, "1\t10.0.0.5\te.io\t-\ta,b\\\\c\n");          /* UA taken whole */
	p += sprintf(p, "1\t10.0.0.6\tf.io\t-\n");                    /* one column short */
	p += sprintf(p, "#separator |\n#fields|query|answers\n");
	p += sprintf(p, "g.io|h.io,10.1.1.1\n");
	/* 70 columns: "query" at 2 is read, "answers" at 66 is beyond the bound */
	p += sprintf(p, "#separator \\x09\n#fields");
	for (int i = 0; i < 70; i++)
		p += sprintf(p, "\t%s", i == 2 ? "query" : i == 66 ? "answers" : "x");
	p += sprintf(p, "\n");
	for (int i = 0; i < 70; i++)
		p += sprintf(p, "%s%s", i ? "\t" : "", i == 2 ? "wide.io" : i == 66 ? "no.io" : "y");
	p += sprintf(p, "\n");
	run(&r, text, &s, LOGS_FMT_AUTO, 0);
	const char *want[] = {
		"conn.src ipv4 10.0.0.1",  "dns.query domain a.io",
		"conn.src ipv4 10.0.0.12", "dns.query domain ab.io",
		"dns.query domain b.io",
		"conn.src ipv4 10.0.0.3",  "dns.query domain c.io",
		"http.user_agent user-agent moz \xc3\xa9t\xc3\xa9",
		"conn.src ipv4 10.0.0.5",  "dns.query domain e.io",
		"http.user_agent user-agent a,b\\c",
		"dns.query domain g.io",   "dns.answer domain h.io",
		"dns.answer ipv4 10.1.1.1",
		"dns.query domain wide.io",
	};
	expect(&s, want, 15);
	assert_int_equal(r.stats.bad_utf8, 1);
	assert_int_equal(r.stats.bad_tsv, 1);
	assert_int_equal(s.nerr, 2);
	assert_non_null(strstr(s.err[0], ":6: line is not valid UTF-8"));
	assert_non_null(strstr(s.err[1], ":8: Zeek line with a field count"));
	logs_reader_cleanup(&r);
	free(text);
}

/* The hosts that DNS records name, in every section, as the packet
 * decoder reports them: EVE v2/v3 answers, authorities (an NS referral,
 * an SOA as an object), additionals (glue), SRV objects and grouped MX;
 * Zeek's answers (an MX's exchange) and auth/addl columns. TXT data that
 * is no name gives nothing. */
static void test_dns_targets(void **state)
{
	(void)state;
	logs_reader r;
	seen s;
	const char *eve =
		"{\"event_type\":\"dns\",\"dns\":{\"version\":3,"
		"\"queries\":[{\"rrname\":\"www.evil.example\",\"rrtype\":\"A\"}],"
		"\"answers\":[{\"rrname\":\"evil.example\",\"rrtype\":\"MX\",\"rdata\":\"mx.evil.example\"},"
		"{\"rrname\":\"evil.example\",\"rrtype\":\"TXT\",\"rdata\":\"v=spf1 -all\"},"
		"{\"rrname\":\"_sip._udp.evil.example\",\"rrtype\":\"SRV\",\"srv\":{\"priority\":10,"
		"\"weight\":1,\"port\":5060,\"name\":\"sip.evil.example\"}}],"
		"\"authorities\":[{\"rrname\":\"evil.example\",\"rrtype\":\"NS\",\"rdata\":\"ns1.evil.example\"},"
		"{\"rrname\":\"evil.example\",\"rrtype\":\"SOA\",\"soa\":{\"mname\":\"ns2.evil.example\","
		"\"rname\":\"hostmaster.evil.example\",\"serial\":1}}],"
		"\"additionals\":[{\"rrname\":\"ns1.evil.example\",\"rrtype\":\"A\",\"rdata\":\"192.0.2.53\"}]}}\n"
		"{\"event_type\":\"dns\",\"dns\":{\"version\":2,\"type\":\"answer\","
		"\"grouped\":{\"MX\":[\"mx2.evil.example\"],\"SRV\":[{\"name\":\"sip2.evil.example\"}],"
		"\"SOA\":[{\"mname\":\"ns3.evil.example\"}]}}}\n";
	const char *want_eve[] = {
		"dns.query domain www.evil.example",
		"dns.answer domain mx.evil.example",
		"dns.answer domain sip.evil.example",
		"dns.answer domain ns1.evil.example",
		"dns.answer domain ns2.evil.example",
		"dns.answer ipv4 192.0.2.53",
		"dns.answer domain mx2.evil.example",
		"dns.answer domain sip2.evil.example",
		"dns.answer domain ns3.evil.example",
	};
	run(&r, eve, &s, LOGS_FMT_AUTO, 0);
	expect(&s, want_eve, 9);
	logs_reader_cleanup(&r);

	const char *zeek =
		"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"
		"#unset_field\t-\n#path\tdns\n"
		"#fields\tts\tquery\tanswers\tauth\taddl\n"
		"#types\ttime\tstring\tvector[string]\tset[string]\tset[string]\n"
		"1.0\tevil.example\tmx.evil.example,TXT 11 v=spf1 -all\tns1.evil.example\t192.0.2.53\n";
	const char *want_zeek[] = {
		"dns.query domain evil.example",
		"dns.answer domain mx.evil.example",
		"dns.answer domain ns1.evil.example",
		"dns.answer ipv4 192.0.2.53",
	};
	run(&r, zeek, &s, LOGS_FMT_AUTO, 0);
	expect(&s, want_zeek, 4);
	logs_reader_cleanup(&r);
}

static void test_json(void **state)
{
	(void)state;
	logs_reader r;
	seen s;
	const char *text =
		"{\"timestamp\":\"2016-01-02T19:08:01.310448+0000\",\"event_type\":\"http\","
		"\"src_ip\":\"1.1.1.1\",\"dest_ip\":\"8.8.8.8\",\"http\":{\"hostname\":\"ex\\u0061mple.com\","
		"\"url\":\"\\/a\\/b?c=\\\"d\\\"\",\"http_user_agent\":\"Mozilla\\/5.0 \\u00e9\"}}\n"
		"{\"event_type\":\"dns\",\"dns\":{\"version\":2,\"type\":\"answer\",\"rrname\":\"q.example\","
		"\"answers\":[{\"rrname\":\"q.example\",\"rdata\":\"10.1.1.1\"},{\"rrname\":\"q.example\",\"rdata\":\"c.example\"}],"
		"\"grouped\":{\"AAAA\":[\"::1\"]}},\"timestamp\":\"2016-01-02T19:08:01Z\"}\n"
		"{\"event_type\":\"dns\",\"dns\":{\"queries\":[{\"rrname\":\"v3.example\",\"rrtype\":\"A\"}]},"
		"\"src_ip\":null,\"x\":[1,-2.5e3,true,false,{}]}\n"
		"{\"ts\":1521911720.865716,\"id.orig_h\":\"10.0.0.9\",\"fingerprint\":"
		"\"b2dafbcdbc75210672f137f27ce882ccb799887631655d4f11191d5a678e44fe\","
		"\"certificate.subject\":\"CN=*.cert.example,O=A\\\\, B,emailAddress=ops@cert.example\","
		"\"san.dns\":[\"www.cert.example\"]}\n"
		"{\"host\":\"web.example\",\"uri\":\"/x\"}\n"
		"{\"host\":\"sensor.example\",\"event_type\":\"flow\"}\n"
		/* EVE tls: the SHA-1 fingerprint with colons; one cut short, one
		 * with a colon astray, are no fingerprints */
		"{\"event_type\":\"tls\",\"tls\":{\"sni\":\"c2.example\","
		"\"fingerprint\":\"4f:a8:42:c2:46:2f:b0:4c:1d:3e:8e:a9:66:13:4d:2b:6f:6e:75:e3\"}}\n"
		"{\"event_type\":\"tls\",\"tls\":{\"fingerprint\":\"4f:a8:42\"}}\n"
		"{\"event_type\":\"tls\",\"tls\":{\"fingerprint\":"
		"\"4f:a842:c2:46:2f:b0:4c:1d:3e:8e:a9:66:13:4d:2b:6f:6e:75:e3:\"}}\n"
		"{\"event_type\":\"fileinfo\",\"fileinfo\":{\"md5\":\"44d88612fea8a8f36de82e1278abb02f\"},}\n"
		"{\"a\":\"\\x\"}\n"
		"{\"a\":1} trailing\n"
		"[1]\n";
	const char *want[] = {
		"conn.src ipv4 1.1.1.1",
		"conn.dst ipv4 8.8.8.8",
		"http.host domain example.com",
		"http.uri url /a/b?c=\"d\"",
		"http.user_agent user-agent Mozilla/5.0 \xc3\xa9",
		"dns.query domain q.example",
		"dns.answer ipv4 10.1.1.1",
		"dns.answer domain c.example",
		"dns.answer ipv6 ::1",
		"dns.query domain v3.example",
		"conn.src ipv4 10.0.0.9",
		"tls.cert_fingerprint x509-sha256 b2dafbcdbc75210672f137f27ce882ccb799887631655d4f11191d5a678e44fe",
		"x509.subject domain cert.example",
		"x509.subject email ops@cert.example",
		"x509.san domain www.cert.example",
		"http.uri url /x",
		"http.host domain web.example",
		"tls.sni domain c2.example",
		"tls.cert_fingerprint x509-sha1 4f:a8:42:c2:46:2f:b0:4c:1d:3e:8e:a9:66:13:4d:2b:6f:6e:75:e3",
	};
	run(&r, text, &s, LOGS_FMT_AUTO, 0);
	expect(&s, want, 19);
	assert_int_equal(s.ts[0], 1451761681310448LL);
	assert_int_equal(s.ts[5], 1451761681000000LL);
	assert_int_equal(s.ts[9], -1);
	assert_int_equal(s.ts[10], 1521911720865716LL);
	/* the fileinfo line has a trailing comma: nothing from it */
	assert_int_equal(r.stats.bad_json, 3);
	assert_int_equal(r.stats.bad_tsv, 0);
	assert_int_equal(s.nerr, 3); /* "[1]" is text to AUTO, but bad JSON to JSON */
	logs_reader_cleanup(&r);
	run(&r, "[1]\n", &s, LOGS_FMT_JSON, 0);
	assert_int_equal(r.stats.bad_json, 1);
	logs_reader_cleanup(&r);
}

static void test_text(void **state)
{
	(void)state;
	logs_reader r;
	seen s;
	const char *text =
		"Jan 1 sshd[1]: Failed password from 203.0.113.9 port 22 for root (notevil.community)\n"
		"visit http://evil.com/x?a=1, mail bad@evil.com; hash d41d8cd98f00b204e9800998ecf8427e.\n"
		"v1.2 version 10.0 and 999.1.1.1 and fe80::1 and 2001:db8::/32 and [2001:db8::2]:443\n"
		"sha1=da39a3ee5e6b4b0d3255bfef95601890afd80709 conn=10.0.0.1:8080 host evil.com.\n"
		"\"sha512\":\"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e\"\n";
	const char *want[] = {
		"text ipv4 203.0.113.9",
		"text domain notevil.community",
		"text url http://evil.com/x?a=1",
		"text email bad@evil.com",
		"text md5 d41d8cd98f00b204e9800998ecf8427e",
		"text ipv6 fe80::1",
		"text ipv6 2001:db8::2",
		"text sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709",
		"text ipv4 10.0.0.1",
		"text domain evil.com",
		"text sha512 cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
	};
	run(&r, text, &s, LOGS_FMT_TEXT, 0);
	expect(&s, want, 11);
	/* "evil.com" is not found inside "notevil.community" (line 1): the
	 * list above has it only where it stands alone, on line 4 */
	assert_int_equal(s.line[1], 1);
	assert_int_equal(s.line[9], 4);
	logs_reader_cleanup(&r);
}

static void test_bounds(void **state)
{
	(void)state;
	logs_reader r;
	seen s;
	char *text = malloc(600000);
	char *p = text;
	p += sprintf(p, "one 10.0.0.1\n");
	memset(p, 'a', 500000);
	p += 500000;
	p += sprintf(p, " 10.0.0.2\nthree 10.0.0.3\n");
	memset(p, 'b', 300);
	p += 300;
	p += sprintf(p, "\nfive bad \xc3\x28 10.0.0.5\nsix \xed\xa0\x80 10.0.0.6\nseven \xe2\x82\xac 10.0.0.7");
	run(&r, text, &s, LOGS_FMT_TEXT, 256);
	const char *want[] = {"text ipv4 10.0.0.1", "text ipv4 10.0.0.3", "text ipv4 10.0.0.7"};
	expect(&s, want, 3);
	assert_int_equal(s.line[1], 3);
	assert_int_equal(s.line[2], 7);
	assert_int_equal(r.stats.lines, 7);
	assert_int_equal(r.stats.too_long, 2);
	assert_int_equal(r.stats.bad_utf8, 2);
	assert_int_equal(s.nerr, 4);
	assert_non_null(strstr(s.err[0], ":2: line longer"));
	assert_non_null(strstr(s.err[1], ":4: line longer"));
	assert_non_null(strstr(s.err[2], ":5: line is not valid UTF-8"));
	assert_non_null(strstr(s.err[3], ":6: line is not valid UTF-8"));
	logs_reader_cleanup(&r);
	free(text);
}

static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_follow(void **state)
{
	(void)state;
	char dir[] = "/tmp/rk-logs-follow-XXXXXX";
	char path[64], old[64];
	logs_reader r;
	seen s;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/eve.json", dir);
	snprintf(old, sizeof(old), "%s/eve.json.1", dir);
	memset(&s, 0, sizeof(s));
	assert_int_equal(logs_reader_init(&r, LOGS_FMT_AUTO, 0, on_obs, on_err, &s), RK_OK);
	/* not there yet */
	assert_int_equal(logs_follow_open(&r, path), RK_OK);
	assert_int_equal(logs_follow_poll(&r), RK_OK);
	assert_int_equal(s.n, 0);
	append(path, "{\"src_ip\":\"10.0.0.1\"}\n{\"src_ip\":\"10.0");
	assert_int_equal(logs_follow_poll(&r), RK_OK);
	assert_int_equal(s.n, 1); /* the partial line waits */
	append(path, ".0.2\"}\n");
	assert_int_equal(logs_follow_poll(&r), RK_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.line[1], 2);
	/* rotation: the old file gets a last line after the rename */
	assert_int_equal(rename(path, old), 0);
	append(old, "{\"src_ip\":\"10.0.0.3\"}\n");
	assert_int_equal(logs_follow_poll(&r), RK_OK); /* path missing: keeps old */
	assert_int_equal(s.n, 3);
	append(path, "{\"src_ip\":\"10.0.0.4\"}\n");
	append(old, "{\"src_ip\":\"10.0.0.5\"}");
	assert_int_equal(logs_follow_poll(&r), RK_OK);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.obs[3], "conn.src ipv4 10.0.0.5");
	assert_string_equal(s.obs[4], "conn.src ipv4 10.0.0.4");
	assert_int_equal(s.line[4], 1);
	/* truncation in place */
	append(path, "{\"src_ip\":\"10.0.0.6\"}\n");
	assert_int_equal(logs_follow_poll(&r), RK_OK);
	assert_int_equal(s.n, 6);
	assert_int_equal(truncate(path, 0), 0);
	append(path, "{\"src_ip\":\"10.0.0.7\"}\n");
	assert_int_equal(logs_follow_poll(&r), RK_OK);
	assert_int_equal(s.n, 7);
	assert_string_equal(s.obs[6], "conn.src ipv4 10.0.0.7");
	assert_int_equal(s.line[6], 1);
	assert_int_equal(s.nerr, 0);
	logs_follow_close(&r);
	logs_reader_cleanup(&r);
	unlink(path);
	unlink(old);
	rmdir(dir);
}

/* logs_follow_run: a writer thread appends, then asks the loop to stop. */
static _Atomic int run_stop;
static char run_path[64];

static void *writer(void *arg)
{
	struct timespec ts = {0, 50 * 1000000L};
	(void)arg;
	nanosleep(&ts, NULL);
	append(run_path, "{\"dest_ip\":\"2001:db8::9\"}\n");
	nanosleep(&ts, NULL);
	nanosleep(&ts, NULL);
	atomic_store(&run_stop, 1);
	return NULL;
}

static void test_follow_run(void **state)
{
	(void)state;
	char dir[] = "/tmp/rk-logs-run-XXXXXX";
	pthread_t t;
	logs_reader r;
	seen s;
	assert_non_null(mkdtemp(dir));
	snprintf(run_path, sizeof(run_path), "%s/eve.json", dir);
	append(run_path, "{\"dest_ip\":\"10.9.9.9\"}\n");
	memset(&s, 0, sizeof(s));
	assert_int_equal(logs_reader_init(&r, LOGS_FMT_AUTO, 0, on_obs, on_err, &s), RK_OK);
	assert_int_equal(logs_follow_open(&r, run_path), RK_OK);
	atomic_store(&run_stop, 0);
	assert_int_equal(pthread_create(&t, NULL, writer, NULL), 0);
	assert_int_equal(logs_follow_run(&r, &run_stop, 10), RK_OK);
	pthread_join(t, NULL);
	const char *want[] = {"conn.dst ipv4 10.9.9.9", "conn.dst ipv6 2001:db8::9"};
	expect(&s, want, 2);
	logs_follow_close(&r);
	logs_reader_cleanup(&r);
	unlink(run_path);
	rmdir(dir);
}

/* logs_read_stdin: the same framing on file descriptor 0. */
static void test_stdin(void **state)
{
	(void)state;
	char path[] = "/tmp/rk-logs-stdin-XXXXXX";
	const char *text = "a 10.0.0.1\nb evil.example\n";
	logs_reader r;
	seen s;
	int fd = mkstemp(path), saved = dup(STDIN_FILENO);
	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
	close(fd);
	memset(&s, 0, sizeof(s));
	assert_int_equal(logs_reader_init(&r, LOGS_FMT_AUTO, 0, on_obs, on_err, &s), RK_OK);
	assert_int_equal(logs_read_stdin(&r), RK_OK);
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	unlink(path);
	const char *want[] = {"text ipv4 10.0.0.1", "text domain evil.example"};
	expect(&s, want, 2);
	assert_int_equal(s.line[1], 2);
	logs_reader_cleanup(&r);
}

static void test_classify(void **state)
{
	(void)state;
	struct {
		const char *s;
		int k;
	} cases[] = {
		{"1.2.3.4", LOGS_KIND_IPV4},  {"01.2.3.4", -1},
		{"256.1.1.1", -1},            {"1.2.3", -1},
		{"::", LOGS_KIND_IPV6},       {"a.b", -1},
		{"ex.com", LOGS_KIND_DOMAIN}, {"-ex.com", -1},
		{"ex-.com", -1},              {"ex.c0m", LOGS_KIND_DOMAIN},
		{"ex.123", -1},               {"fqdn.example.", LOGS_KIND_DOMAIN},
		{"a..b.com", -1},             {"https://x.example/p", LOGS_KIND_URL},
		{"a@b.example", LOGS_KIND_EMAIL}, {"@b.example", -1},
		{"d41d8cd98f00b204e9800998ecf8427e", LOGS_KIND_MD5},
		{"d41d8cd98f00b204e9800998ecf8427g", -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int k = logs_classify(cases[i].s, strlen(cases[i].s));
		if (k != cases[i].k)
			printf("classify %s: %d, want %d\n", cases[i].s, k, cases[i].k);
		assert_int_equal(k, cases[i].k);
	}
}

/* logs_obs.addr: the address of an IPv4 or IPv6 observable, parsed, from
 * every kind of line (TSV, JSON, text, an X.509 subject's CN). */
typedef struct addrs {
	int n;
	uint8_t a[8][16];
	int kind[8];
} addrs;

static int on_addr(const logs_obs *o, void *arg)
{
	addrs *x = arg;
	if ((o->kind == LOGS_KIND_IPV4 || o->kind == LOGS_KIND_IPV6) && x->n < 8) {
		memcpy(x->a[x->n], o->addr, 16);
		x->kind[x->n++] = o->kind;
	}
	return 0;
}

static void test_obs_addr(void **state)
{
	(void)state;
	static const uint8_t v4[16] = {192, 0, 2, 7};
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 9};
	char tsv_head[] = "#fields\tts\tid.orig_h\tanswers";
	char tsv[] = "1\t192.0.2.7\t2001:db8::9";
	char json[] = "{\"ts\":1,\"id.orig_h\":\"192.0.2.7\",\"id.resp_h\":\"2001:db8::9\"}";
	char text[] = "seen 192.0.2.7 and [2001:db8::9]";
	char x509[] = "{\"certificate.subject\":\"CN=192.0.2.7,O=x\"}";
	char *lines[] = {tsv_head, tsv, json, text, x509};
	logs_reader r;
	addrs x = {0};

	assert_int_equal(logs_reader_init(&r, LOGS_FMT_AUTO, 0, on_addr, NULL, &x), RK_OK);
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		if (i == 3)
			r.format = LOGS_FMT_TEXT;
		if (i == 4)
			r.format = LOGS_FMT_JSON;
		logs_feed_line(&r, lines[i], strlen(lines[i]));
	}
	assert_int_equal(x.n, 7);
	for (int i = 0; i < x.n; i++) {
		int six = x.kind[i] == LOGS_KIND_IPV6;
		assert_memory_equal(x.a[i], six ? v6 : v4, 16);
	}
	assert_int_equal(x.kind[1], LOGS_KIND_IPV6);
	assert_int_equal(x.kind[6], LOGS_KIND_IPV4);
	logs_reader_cleanup(&r);
}

/* logs_is_ipv4_at against inet_pton(AF_INET) over a million strings of
 * digits and dots (and a few other bytes), 0 to 17 bytes long, read both
 * from a buffer that ends with the value (a copy) and from one with room
 * past it (one load): the same yes or no, and the same address. */
static void test_ipv4_agrees(void **state)
{
	(void)state;
	static const char bytes[] = "0123456789012345678901234..../:a \xB0\xC0";
	uint64_t x = 0x9E3779B97F4A7C15ull;
	size_t yes = 0, bad = 0;
	for (int i = 0; i < 1000000; i++) {
		char v[24], z[24], room[64];
		uint8_t a[4], b[4], c[4];
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t len = (size_t)(x % 18);
		uint64_t r = x;
		for (size_t j = 0; j < len; j++) {
			if (j % 8 == 0)
				x ^= x << 13, x ^= x >> 7, x ^= x << 17, r = x;
			v[j] = bytes[(r & 0xFF) % (sizeof bytes - 1)];
			r >>= 8;
		}
		if (i % 3 == 0 && len >= 7) { /* mostly well-formed: four parts */
			int n = snprintf(z, sizeof z, "%u.%u.%u.%u", (unsigned)(x >> 8 & 0x1FF),
					 (unsigned)(x >> 20 & 0xFF), (unsigned)(x >> 28 & 0x3F),
					 (unsigned)(x >> 36 & 0x1FF));
			memcpy(v, z, (size_t)n);
			len = (size_t)n;
		}
		memcpy(z, v, len);
		z[len] = '\0';
		int want = strlen(z) == len && inet_pton(AF_INET, z, a) == 1;
		memset(room, 'x', sizeof room);
		memcpy(room + 5, v, len);
		int got1 = logs_is_ipv4_at(v, len, len, b);
		int got2 = logs_is_ipv4_at(room + 5, len, sizeof room - 5, c);
		if (got1 != want || got2 != want ||
		    (want && (memcmp(a, b, 4) != 0 || memcmp(a, c, 4) != 0))) {
			if (bad++ < 5)
				printf("ipv4 '%s': %d %d, inet_pton %d\n", z, got1, got2, want);
		}
		yes += (size_t)want;
	}
	assert_int_equal(bad, 0);
	assert_true(yes > 50000); /* about a twelfth: a third well-formed, a quarter of those in range */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zeek_tsv), cmocka_unit_test(test_zeek_tsv_lines),
		cmocka_unit_test(test_obs_addr),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_dns_targets),
		cmocka_unit_test(test_text),     cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_follow),   cmocka_unit_test(test_classify),
		cmocka_unit_test(test_ipv4_agrees),
		cmocka_unit_test(test_stdin),    cmocka_unit_test(test_follow_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
