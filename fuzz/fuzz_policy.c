/*
 * fuzz_policy.c: libFuzzer harness for what the confidentiality policy reads
 * off a posted object.
 *
 * Every object a TAXII client posts goes, once valid, through
 * policy_audience_of (markings, the renkei extension's lists, granular
 * markings) and, when someone reads it, through policy_view (granular
 * redaction, reference filtering with renumbered selectors). Both walk
 * attacker-chosen JSON. The input is parsed with the hub's depth bound and,
 * when it validates as STIX, read as the hub would read it for a fixed
 * directory; the audience's key must read back to the same key, and the
 * view must be an object or nothing. References are visible or not by a
 * hash of the id, so both branches run.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static directory *dir;

static const char DIRECTORY[] =
	"{\"organizations\": [{\"id\": \"a\", \"name\": \"A\", \"sectors\": [],"
	" \"clients\": [\"c\"]}, {\"id\": \"b\", \"name\": \"B\", \"sectors\": []},"
	" {\"id\": \"c\", \"name\": \"C\", \"sectors\": []}],"
	" \"users\": [{\"name\": \"a1\", \"organization\": \"a\", \"role\": \"analyst\"},"
	" {\"name\": \"c1\", \"organization\": \"c\", \"role\": \"reader\"}],"
	" \"communities\": [{\"id\": \"k\", \"title\": \"K\", \"tier\": \"nation\","
	"  \"members\": [\"a\", \"b\"]}],"
	" \"collections\": [{\"id\": \"11111111-1111-4111-8111-111111111111\","
	"  \"community\": \"k\", \"title\": \"T\", \"default_marking\": \"TLP:GREEN\","
	"  \"can_read\": [\"analyst\", \"reader\"], \"can_write\": [\"analyst\"]}]}";

static bool marking_known(void *arg, const char *id)
{
	(void)arg;
	return id && strlen(id) % 2 == 0;
}

static bool ref_visible(void *arg, const char *id)
{
	(void)arg;
	return !id || id[strlen(id) / 2] % 2 == 0;
}

static void setup(void)
{
	json_error_t jerr;
	rk_errctx ctx;
	json_t *doc = json_loads(DIRECTORY, 0, &jerr);

	rk_errctx_clear(&ctx);
	if (!doc || dir_from_file_json(doc, &dir, &ctx) != RK_OK)
		abort();
	json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *obj = NULL;
	rk_errctx ctx;

	if (!dir)
		setup();
	rk_errctx_clear(&ctx);
	if (rk_json_parse((const char *)data, size, RK_MAX_JSON_DEPTH, &obj, &ctx) != RK_OK)
		return 0;
	if (!json_is_object(obj) || stix_validate_object(obj, "", NULL, &ctx) != RK_OK) {
		json_decref(obj);
		return 0;
	}
	const dir_collection *col = &dir->collections[0];
	policy_audience_src src = {.dir = dir, .collection = col, .owner = "b",
				   .marking_known = marking_known};
	policy_audience a;
	unsigned flags = 0;
	rk_errctx_clear(&ctx);
	if (policy_audience_of(&src, obj, "objects[0]", &a, &flags, &ctx) == RK_OK) {
		char *key = policy_audience_key(&a), *again = NULL;
		policy_audience b;
		rk_errctx_clear(&ctx);
		if (!key || policy_audience_parse(key, &b, &ctx) != RK_OK ||
		    !(again = policy_audience_key(&b)) || strcmp(key, again) != 0)
			abort();
		policy_audience_cleanup(&b);
		free(key);
		free(again);
		const char *readers[] = {"a1", "c1"};
		for (size_t i = 0; i < 2; i++) {
			policy_subject s = policy_subject_of(dir, dir_find_user(dir, readers[i]));
			policy_resource res = {.collection = col, .audience = &a, .json = obj,
					       .ref_visible = ref_visible};
			policy_decision d = policy_decide(dir, &s, POLICY_READ_OBJECT, &res);
			if (d.view && (!d.allow || !json_is_object(d.view)))
				abort();
			json_decref(d.view);
		}
	}
	policy_audience_cleanup(&a);
	json_decref(obj);
	return 0;
}
