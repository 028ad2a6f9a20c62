/*
 * notify_send.c: the two senders, over libcurl: a webhook POST and one
 * SMTP session per digest mail.
 *
 * Both run on the engine thread only, with a whole-operation timeout
 * (notify_config.timeout_seconds), no redirects, http/https or
 * smtp/smtps only, and no signals (CURLOPT_NOSIGNAL), so a receiver that
 * hangs costs the engine one timeout, never a request thread anything.
 * The webhook's answer is read up to WEBHOOK_ANSWER_MAX bytes and
 * dropped: only the status counts (2xx delivered).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "notify_int.h"

#define WEBHOOK_ANSWER_MAX RK_NOTIFY_WEBHOOK_ANSWER_MAX

static size_t drop_answer(char *p, size_t size, size_t n, void *arg)
{
	size_t *seen = arg;
	(void)p;
	*seen += size * n;
	return *seen > WEBHOOK_ANSWER_MAX ? 0 : size * n;
}

bool notify_send_webhook(const char *url, const unsigned char *secret, size_t secret_len,
			 int64_t delivery_id, const char *body, size_t len, unsigned timeout_s,
			 char *error, size_t errlen)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char ts_h[64], sig_h[NOTIFY_SIGNATURE_BUF + 32], id_h[64], sig[NOTIFY_SIGNATURE_BUF];
	char cerr[CURL_ERROR_SIZE] = "";
	size_t seen = 0;
	long status = 0;
	bool ok = false;

	if (!c) {
		snprintf(error, errlen, "out of memory");
		return false;
	}
	long long ts = (long long)time(NULL);
	notify_sign(secret, secret_len, ts, body, len, sig);
	snprintf(ts_h, sizeof ts_h, "X-Renkei-Timestamp: %lld", ts);
	snprintf(sig_h, sizeof sig_h, "X-Renkei-Signature: %s", sig);
	snprintf(id_h, sizeof id_h, "X-Renkei-Delivery: %lld", (long long)delivery_id);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, ts_h);
	h = curl_slist_append(h, sig_h);
	h = curl_slist_append(h, id_h);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)timeout_s);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "renkei-notify/1");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, drop_answer);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &seen);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR) {
		snprintf(error, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		snprintf(error, errlen, "HTTP %ld", status);
		goto out;
	}
	ok = true;
out:
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return ok;
}

typedef struct mail_src {
	const char *p;
	size_t left;
} mail_src;

static size_t read_mail(char *buf, size_t size, size_t n, void *arg)
{
	mail_src *m = arg;
	size_t k = size * n < m->left ? size * n : m->left;
	memcpy(buf, m->p, k);
	m->p += k;
	m->left -= k;
	return k;
}

bool notify_send_mail(const notify_config *cfg, const char *const *to, size_t n_to,
		      const char *message, size_t len, char *error, size_t errlen)
{
	CURL *c = curl_easy_init();
	struct curl_slist *rcpt = NULL;
	char cerr[CURL_ERROR_SIZE] = "", from[300];
	mail_src src = {message, len};
	bool ok = false;

	if (!c) {
		snprintf(error, errlen, "out of memory");
		return false;
	}
	snprintf(from, sizeof from, "<%s>", cfg->smtp_from);
	for (size_t i = 0; i < n_to; i++) {
		char r[300];
		snprintf(r, sizeof r, "<%s>", to[i]);
		rcpt = curl_slist_append(rcpt, r);
	}
	curl_easy_setopt(c, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)cfg->timeout_seconds);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)cfg->timeout_seconds);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_mail);
	curl_easy_setopt(c, CURLOPT_READDATA, &src);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	if (cfg->smtp_starttls)
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (cfg->smtp_user) {
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg->smtp_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->smtp_password);
	}
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		snprintf(error, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
		goto out;
	}
	ok = true;
out:
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	return ok;
}
