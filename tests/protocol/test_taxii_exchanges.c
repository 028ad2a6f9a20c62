/*
 * test_taxii_exchanges.c: simple request/response cases as data.
 *
 * Each file in tests/protocol/exchanges/ is one exchange (one cmocka test
 * named after the file), in lines of "key: value":
 *
 *   # comment
 *   request: METHOD PATH          the request line ({gov}, {nation}, {intl}
 *                                 stand for the test directory's collections)
 *   user: NAME                    bearer token of a test-directory user
 *   header: Name: value           extra request header (repeatable)
 *   body: TEXT                    request body, one line
 *   status: N                     expected HTTP status
 *   header-has: Name: prefix      a response header starting with prefix
 *   header-is: Name: value        a response header equal to value
 *   no-header: Name               no such response header
 *   contains: TEXT                the body contains TEXT (repeatable)
 *   not-contains: TEXT            it does not
 *   body-is: TEXT                 the body is exactly TEXT
 *
 * A request without an Accept header line gets Accept: the TAXII media
 * type; "header: Accept:" (empty) sends none at all. A TAXII error answer
 * (status 400 and up) must be a complete error resource: title and
 * http_status equal to the status, served as the TAXII media type.
 *
 * The hub is started once and seeded with three indicators (numbers 1-3)
 * posted by npa-analyst to the gov collection. Cases needing logic (paging,
 * concurrency, crash) live in test_taxii_hub.c and test_taxii_crash.c.
 */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"
#include "proto_hub.h"

#define EXCHANGES "tests/protocol/exchanges"
#define MAX_CASES 256

static proto_hub hub;

static void expand(const char *in, char *out, size_t outlen)
{
	static const char *const keys[][2] = {
		{"{gov}", PROTO_GOV_COLL},
		{"{nation}", PROTO_NATION_COLL},
		{"{intl}", PROTO_INTL_COLL},
		{"{drop}", PROTO_DROP_COLL}};
	size_t o = 0;
	while (*in && o + 1 < outlen) {
		bool done = false;
		for (size_t k = 0; k < RK_ARRAY_LEN(keys) && !done; k++) {
			size_t kl = strlen(keys[k][0]);
			if (strncmp(in, keys[k][0], kl) == 0) {
				o += (size_t)snprintf(out + o, outlen - o, "%s", keys[k][1]);
				in += kl;
				done = true;
			}
		}
		if (!done)
			out[o++] = *in++;
	}
	out[o < outlen ? o : outlen - 1] = '\0';
}

static void run_exchange(void **state)
{
	const char *file = *state;
	char path[512], line[8192], val[8192];
	char method[16] = "GET", target[4096] = "/", user[128] = "";
	char *headers[16] = {NULL};
	int nh = 0;
	char *body = NULL;
	long want = -1;
	proto_resp r;

	snprintf(path, sizeof path, EXCHANGES "/%s", file);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	/* pass 1: the request */
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		expand(line, val, sizeof val);
		if (strncmp(val, "request: ", 9) == 0)
			sscanf(val + 9, "%15s %4095s", method, target);
		else if (strncmp(val, "user: ", 6) == 0)
			snprintf(user, sizeof user, "%.127s", val + 6);
		else if (strncmp(val, "header: ", 8) == 0 && nh < 15)
			headers[nh++] = strdup(val + 8);
		else if (strncmp(val, "body: ", 6) == 0)
			body = strdup(val + 6);
		else if (strncmp(val, "status: ", 8) == 0)
			want = strtol(val + 8, NULL, 10);
	}
	bool has_accept = false;
	for (int i = 0; i < nh; i++)
		has_accept |= strncasecmp(headers[i], "Accept:", 7) == 0;
	if (!has_accept && nh < 15)
		headers[nh++] = strdup("Accept: " PROTO_TAXII);
	assert_true(proto_http(&hub, method, target, user[0] ? user : NULL,
			       (const char *const *)headers, body, body ? strlen(body) : 0, &r));
	if (want >= 0 && r.status != want)
		fail_msg("%s: %s %s: expected %ld, got %ld: %s", file, method, target, want,
			 r.status, r.body);
	if (r.status >= 400) {
		char ct[256], hs[24];
		snprintf(hs, sizeof hs, "%ld", r.status);
		if (!r.json || !json_string_value(json_object_get(r.json, "title")) ||
		    !json_string_value(json_object_get(r.json, "http_status")) ||
		    strcmp(json_string_value(json_object_get(r.json, "http_status")), hs) != 0 ||
		    !proto_header(&r, "Content-Type", ct, sizeof ct) || strcmp(ct, PROTO_TAXII) != 0)
			fail_msg("%s: not a complete TAXII error resource: %s\n%s", file, r.body,
				 r.headers);
	}
	/* pass 2: expectations on the response */
	rewind(f);
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		expand(line, val, sizeof val);
		if (strncmp(val, "contains: ", 10) == 0) {
			if (!strstr(r.body, val + 10))
				fail_msg("%s: body lacks '%s': %s", file, val + 10, r.body);
		} else if (strncmp(val, "not-contains: ", 14) == 0) {
			if (strstr(r.body, val + 14))
				fail_msg("%s: body has '%s': %s", file, val + 14, r.body);
		} else if (strncmp(val, "body-is: ", 9) == 0) {
			if (strcmp(r.body, val + 9) != 0)
				fail_msg("%s: body is '%s', want '%s'", file, r.body, val + 9);
		} else if (strncmp(val, "no-header: ", 11) == 0) {
			char got[1024];
			if (proto_header(&r, val + 11, got, sizeof got))
				fail_msg("%s: unexpected header %s: %s", file, val + 11, got);
		} else if (strncmp(val, "header-is: ", 11) == 0) {
			char name[128], got[1024];
			const char *colon = strchr(val + 11, ':');
			assert_non_null(colon);
			snprintf(name, sizeof name, "%.*s", (int)(colon - (val + 11)), val + 11);
			const char *want_v = colon + 1;
			while (*want_v == ' ')
				want_v++;
			if (!proto_header(&r, name, got, sizeof got) || strcmp(got, want_v) != 0)
				fail_msg("%s: header %s: want '%s', headers:\n%s", file, name, want_v,
					 r.headers);
		} else if (strncmp(val, "header-has: ", 12) == 0) {
			char name[128], got[1024];
			const char *colon = strchr(val + 12, ':');
			assert_non_null(colon);
			snprintf(name, sizeof name, "%.*s", (int)(colon - (val + 12)), val + 12);
			const char *prefix = colon + 1;
			while (*prefix == ' ')
				prefix++;
			if (!proto_header(&r, name, got, sizeof got) ||
			    strncmp(got, prefix, strlen(prefix)) != 0)
				fail_msg("%s: header %s: want '%s...', headers:\n%s", file, name,
					 prefix, r.headers);
		}
	}
	fclose(f);
	proto_resp_free(&r);
	for (int i = 0; i < nh; i++)
		free(headers[i]);
	free(body);
}

static int group_setup(void **state)
{
	(void)state;
	proto_watchdog(60);
	if (!proto_hub_start(&hub))
		return -1;
	char *env = proto_envelope(1, 3);
	proto_resp r;
	bool ok = proto_post(&hub, PROTO_GOV_OBJECTS, "npa-analyst", env, &r) && r.status == 202;
	free(env);
	proto_resp_free(&r);
	return ok ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	int st = proto_hub_stop(&hub, SIGTERM);
	proto_hub_cleanup(&hub);
	return st == 0 ? 0 : -1;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	static char *names[MAX_CASES];
	static struct CMUnitTest tests[MAX_CASES];
	size_t n = 0;
	DIR *d = opendir(EXCHANGES);
	struct dirent *e;

	if (!d) {
		fprintf(stderr, "cannot open " EXCHANGES "\n");
		return 1;
	}
	while ((e = readdir(d)) != NULL && n < MAX_CASES) {
		size_t l = strlen(e->d_name);
		if (l > 4 && strcmp(e->d_name + l - 4, ".txt") == 0)
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n; i++) {
		tests[i] = (struct CMUnitTest){names[i], run_exchange, NULL, NULL, names[i]};
	}
	int rc = _cmocka_run_group_tests("exchanges", tests, n, group_setup, group_teardown);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	return rc;
}
