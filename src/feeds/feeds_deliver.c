/*
 * feeds_deliver.c: what happens to an import once it is read: its new and
 * changed indicators delivered to a hub collection, and the summary an
 * operator reads. `renkei feed import --hub` and the feed scheduler
 * (`renkei feed run`) both end an import here.
 *
 * Delivery goes through the TAXII client (src/client) as `renkei push`
 * does: envelopes of FEEDS_DELIVER_BATCH objects, the TLP marking
 * definition the indicators refer to first, each envelope's status read
 * back and every object's outcome counted. The hub decides everything
 * (validation, policy, ownership); a refusal is reported per object. The
 * caller writes the feed's state only after a delivery with no failure, so
 * what the hub did not take is sent again by the next run.
 */
#include <stdlib.h>
#include <string.h>

#include "feeds.h"

#define FEEDS_DELIVER_BATCH 500

rk_err feeds_deliver(const client_remote *remote, const char *collection, const feeds_import *imp,
		     stix_tlp marking, FILE *report, feeds_delivery *out, rk_errctx *ctx)
{
	json_t *objects = feeds_import_objects(imp);
	client_http *http = NULL;
	json_t *batch = NULL, *status = NULL, *mdef = NULL;
	size_t total = json_array_size(objects);
	rk_err err;

	memset(out, 0, sizeof *out);
	if (!total)
		return RK_OK;
	if ((err = client_http_new(remote, &http, ctx)))
		goto out;
	if (!(mdef = stix_tlp_marking_object(marking)))
		goto oom;
	for (size_t lo = 0; lo < total; lo += FEEDS_DELIVER_BATCH) {
		size_t hi = lo + FEEDS_DELIVER_BATCH < total ? lo + FEEDS_DELIVER_BATCH : total;
		if (!(batch = json_array()) || (lo == 0 && json_array_append(batch, mdef)))
			goto oom;
		for (size_t i = lo; i < hi; i++)
			if (json_array_append(batch, json_array_get(objects, i)))
				goto oom;
		if ((err = client_post_objects(http, collection, batch, 30, &status, ctx)))
			goto out;
		for (size_t i = 0; i < json_array_size(batch); i++) {
			const json_t *o = json_array_get(batch, i);
			const char *id = json_string_value(json_object_get(o, "id")), *msg = NULL;
			switch (client_status_outcome(status, id, &msg)) {
			case CLIENT_OUTCOME_FAILURE:
				out->failed++;
				if (report)
					fprintf(report, "failed: %s: %s\n", id,
						msg ? msg : "no reason given");
				break;
			case CLIENT_OUTCOME_PENDING: out->pending++; break;
			default: out->succeeded++; break;
			}
		}
		json_decref(status);
		status = NULL;
		json_decref(batch);
		batch = NULL;
	}
	if (report)
		fprintf(report, "hub: %llu objects sent: %llu succeeded, %llu failed, %llu pending\n",
			(unsigned long long)(out->succeeded + out->failed + out->pending),
			(unsigned long long)out->succeeded, (unsigned long long)out->failed,
			(unsigned long long)out->pending);
	err = RK_OK;
	goto out;
oom:
	err = rk_fail(ctx, RK_ENOMEM, NULL, "out of memory");
out:
	json_decref(mdef);
	json_decref(batch);
	json_decref(status);
	client_http_free(http);
	return err;
}

void feeds_import_summary(const feeds_import *imp, const feeds_warnlists *warn, FILE *out)
{
	const feeds_counts *c = feeds_import_counts(imp);
	size_t i, listed = json_array_size(feeds_import_rejects(imp));
	json_t *r;

	json_array_foreach(feeds_import_rejects(imp), i, r)
		fprintf(out, "rejected: %s: %s\n", json_string_value(json_object_get(r, "where")),
			json_string_value(json_object_get(r, "reason")));
	if (c->rejected > listed)
		fprintf(out, "rejected: %llu more not listed\n",
			(unsigned long long)(c->rejected - listed));
	fprintf(out,
		"%llu read: %llu imported (%llu new, %llu changed), %llu unchanged, "
		"%llu duplicate, %llu on warning lists (%llu dropped, %llu flagged), "
		"%llu rejected, %llu skipped, %llu gone\n",
		(unsigned long long)c->read, (unsigned long long)c->imported,
		(unsigned long long)c->fresh, (unsigned long long)c->changed,
		(unsigned long long)c->unchanged, (unsigned long long)c->duplicate,
		(unsigned long long)c->warned, (unsigned long long)c->dropped,
		(unsigned long long)c->flagged, (unsigned long long)c->rejected,
		(unsigned long long)c->skipped, (unsigned long long)c->gone);
	if (c->refanged)
		fprintf(out, "refanged: %llu defanged values (hxxp://, [.], [dot], [:] ...)\n",
			(unsigned long long)c->refanged);
	for (size_t k = 0; warn && k < feeds_warn_count(warn); k++)
		if (feeds_import_warn_hits(imp, k))
			fprintf(out, "warning list %s: %llu\n", feeds_warn_name(warn, k),
				(unsigned long long)feeds_import_warn_hits(imp, k));
}
