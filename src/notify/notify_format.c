/*
 * notify_format.c: what a notification looks like on each channel.
 *
 *  - the STIX note (TAXII collection, webhook): note--UUIDv5 of the
 *    notification, by the hub's identity, object_refs the object, the
 *    object's own markings (it says no more than the object does);
 *  - the webhook body: JSON, one notification per POST, signed;
 *  - the digest mail: plain text, one per organisation per interval.
 *
 * Webhook signature (docs in renkei-notify(1)): the hub sends
 *   X-Renkei-Timestamp: <seconds since 1970>
 *   X-Renkei-Signature: v1=<hex HMAC-SHA-256(secret, "<timestamp>." + body)>
 *   X-Renkei-Delivery: <notification id>
 * A receiver recomputes the HMAC over the raw body, compares in constant
 * time, refuses timestamps more than a few minutes from its clock
 * (replay), and uses the delivery id to drop a repeat (the hub delivers
 * at least once).
 *
 * Text that came from producers (observable values) is written into mail
 * with control characters replaced, so no value can add a header line or
 * end the message.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "notify.h"
#include "policy.h"

json_t *notify_note(const notify_record *n)
{
	char name[RK_MAX_NAME + 64], uuid[RK_UUID_BUF], id[64], at[RK_TIME_BUF];
	char abstract[ASSETS_VALUE_MAX * 2 + 64], content[ASSETS_VALUE_MAX * 3 + 512];
	json_t *objs = NULL, *note = NULL, *markings = NULL;

	snprintf(name, sizeof name, "notification:%s:%lld", n->org, (long long)n->id);
	if (rk_uuid_v5(DIR_IDENTITY_NAMESPACE, name, strlen(name), uuid))
		return NULL;
	snprintf(id, sizeof id, "note--%s", uuid);
	rk_time_format(n->created - n->created % 1000, 3, at);
	snprintf(abstract, sizeof abstract, "%s %s touches your asset %s", n->obs_kind,
		 n->obs_value, n->asset);
	snprintf(content, sizeof content,
		 "%s %s (version %s) involves %s %s, which lies in %s, an asset registered by "
		 "%s. Acknowledge notification %lld when handled.",
		 n->object_type, n->object_id, n->object_version, n->obs_kind, n->obs_value,
		 n->asset, n->org, (long long)n->id);
	objs = json_loads(n->content ? n->content : "[]", 0, NULL);
	markings = json_object_get(json_array_get(objs, 0), "object_marking_refs");
	note = json_pack("{ss ss ss ss ss ss ss ss s[s]}", "type", "note", "spec_version", "2.1",
			 "id", id, "created", at, "modified", at, "created_by_ref",
			 POLICY_RENKEI_IDENTITY, "abstract", abstract, "content", content,
			 "object_refs", n->object_id);
	if (note && json_is_array(markings))
		json_object_set(note, "object_marking_refs", markings);
	json_decref(objs);
	return note;
}

rk_err notify_webhook_body(const notify_record *n, const char *hub_url, rk_buf *out)
{
	char at[RK_TIME_BUF], ack[2200];
	json_t *objs = json_loads(n->content ? n->content : "[]", 0, NULL);
	json_t *note = notify_note(n);
	rk_err err = RK_ENOMEM;

	rk_time_format(n->created, 3, at);
	snprintf(ack, sizeof ack, "%s/renkei/notify/%lld/ack/", hub_url ? hub_url : "",
		 (long long)n->id);
	if (!objs || !note || json_array_append(objs, note))
		goto out;
	json_t *body = json_pack(
		"{ss si ss s{sI ss ss ss ss ss ss s{ssss} ss} sO}", "type", "renkei-notification",
		"version", 1, "organization", n->org, "notification", "id", (json_int_t)n->id,
		"created", at, "object_id", n->object_id, "object_type", n->object_type,
		"object_version", n->object_version, "collection", n->collection, "asset", n->asset,
		"observable", "type", n->obs_kind, "value", n->obs_value, "acknowledge_url", ack,
		"objects", objs);
	if (!body)
		goto out;
	err = rk_json_dump_to(out, body, JSON_COMPACT);
	json_decref(body);
out:
	json_decref(note);
	json_decref(objs);
	return err;
}

static void hmac(const unsigned char *secret, size_t secret_len, long long timestamp,
		 const char *body, size_t len, unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;
	char ts[32];
	int tl = snprintf(ts, sizeof ts, "%lld.", timestamp);
	crypto_auth_hmacsha256_init(&st, secret, secret_len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)tl);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
}

void notify_sign(const unsigned char *secret, size_t secret_len, long long timestamp,
		 const char *body, size_t len, char out[NOTIFY_SIGNATURE_BUF])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	hmac(secret, secret_len, timestamp, body, len, mac);
	memcpy(out, "v1=", 3);
	sodium_bin2hex(out + 3, NOTIFY_SIGNATURE_BUF - 3, mac, sizeof mac);
}

bool notify_verify(const unsigned char *secret, size_t secret_len, long long timestamp,
		   const char *body, size_t len, const char *signature)
{
	char want[NOTIFY_SIGNATURE_BUF];
	if (!signature || strlen(signature) != NOTIFY_SIGNATURE_BUF - 1)
		return false;
	notify_sign(secret, secret_len, timestamp, body, len, want);
	return sodium_memcmp(want, signature, NOTIFY_SIGNATURE_BUF - 1) == 0;
}

/* Producer text into a mail line: printable ASCII and UTF-8 kept,
 * control characters replaced. */
static rk_err put_clean(rk_buf *b, const char *s)
{
	for (; s && *s; s++) {
		char c = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
		rk_err err = rk_buf_append(b, &c, 1);
		if (err)
			return err;
	}
	return RK_OK;
}

rk_err notify_digest_mail(const char *org, const char *from, const char *const *to,
			  size_t n_to, const notify_record *n, size_t count, const char *hub_url,
			  rk_time now, rk_buf *out)
{
	char date[64], at[RK_TIME_BUF];
	time_t t = (time_t)(now / 1000000);
	struct tm tm;
	rk_err err = RK_OK;

	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
#define P(...)                                                                                 \
	do {                                                                                   \
		if ((err = rk_buf_printf(out, __VA_ARGS__)))                                   \
			return err;                                                            \
	} while (0)
#define C(s)                                                                                   \
	do {                                                                                   \
		if ((err = put_clean(out, s)))                                                 \
			return err;                                                            \
	} while (0)
	P("From: %s\r\nTo: ", from);
	for (size_t i = 0; i < n_to; i++)
		P("%s%s", i ? ", " : "", to[i]);
	P("\r\nSubject: [renkei] %zu notification%s for %s\r\n", count, count == 1 ? "" : "s", org);
	P("Date: %s\r\n", date);
	P("Message-ID: <renkei-digest-%s-%lld-%lld@renkei>\r\n", org,
	  count ? (long long)n[0].id : 0LL, count ? (long long)n[count - 1].id : 0LL);
	P("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	  "Content-Transfer-Encoding: 8bit\r\n");
	P("X-Renkei-Organization: %s\r\nX-Renkei-Notifications: ", org);
	for (size_t i = 0; i < count; i++)
		P("%s%lld", i ? "," : "", (long long)n[i].id);
	P("\r\n\r\n");
	P("renkei found %zu object%s on the hub that involve%s assets registered by %s.\r\n\r\n",
	  count, count == 1 ? "" : "s", count == 1 ? "s" : "", org);
	for (size_t i = 0; i < count; i++) {
		rk_time_format(n[i].created, 0, at);
		P("[%lld] %s %s\r\n", (long long)n[i].id, n[i].object_type, n[i].object_id);
		P("     version %s, found %s\r\n     ", n[i].object_version, at);
		C(n[i].obs_kind);
		P(" ");
		C(n[i].obs_value);
		P(" in your asset %s\r\n", n[i].asset);
		P("     collection %s\r\n", n[i].collection);
		P("     acknowledge: POST %s/renkei/notify/%lld/ack/\r\n\r\n", hub_url ? hub_url : "",
		  (long long)n[i].id);
	}
	P("The objects are in your organisation's notification collection (TAXII API root\r\n"
	  "/notifications/). This mail holds only what your organisation may read.\r\n");
#undef P
#undef C
	return RK_OK;
}
