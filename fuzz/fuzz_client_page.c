/*
 * fuzz_client_page.c: libFuzzer harness for what the sensor makes of a
 * hub's answer to GET objects (client_page_from, after the project's
 * bounded JSON parser): the answer is untrusted, a garbage page must be an
 * error and never data.
 *
 * Input: the first line is the X-TAXII-Date-Added-Last header value, the
 * rest the body. Whenever the page is accepted it must be what the feed
 * relies on: an array of objects, `next` present exactly when `more`, a
 * last-added date whenever there are objects, parseable as RFC 3339.
 * Anything else aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	size_t hlen = nl ? (size_t)(nl - text) : 0;
	char header[80] = "";
	json_t *answer = NULL;
	client_page page = { 0 };
	rk_errctx ctx;

	if (hlen < sizeof header && !memchr(text, '\0', hlen))
		memcpy(header, text, hlen);
	const char *body = nl ? nl + 1 : text;
	size_t blen = size - (size_t)(body - text);
	rk_errctx_clear(&ctx);
	if (blen && rk_json_parse(body, blen, RK_MAX_JSON_DEPTH, &answer, &ctx) != RK_OK)
		return 0;
	rk_errctx_clear(&ctx);
	if (client_page_from(answer, "", header, "fuzz", &page, &ctx) == RK_OK) {
		size_t i;
		json_t *o;
		rk_time t;
		if (!json_is_array(page.objects) || page.more != (page.next != NULL))
			abort();
		json_array_foreach(page.objects, i, o)
			if (!json_is_object(o))
				abort();
		if (json_array_size(page.objects) &&
		    (!page.date_added_last[0] || !rk_time_parse(page.date_added_last, &t)))
			abort();
	} else if (!ctx.msg[0]) {
		abort(); /* every refusal says why */
	}
	client_page_cleanup(&page);
	json_decref(answer);
	return 0;
}
