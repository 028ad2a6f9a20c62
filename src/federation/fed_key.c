/*
 * fed_key.c: the hub's Ed25519 key pair and the signature of pushed
 * envelopes (libsodium).
 *
 * The key pair lives in <data>/federation.key (mode 0600, made on the
 * first start: 64 bytes of secret key, which hold the public key too).
 * It is never committed and never leaves the data directory; `renkei
 * federation key` prints the public half for partners' configuration.
 *
 * What is signed (one signature per envelope): the BLAKE2b-256 hash of
 *
 *     "renkei-federation-1" NUL  collection NUL  n (8 bytes, little end)
 *     then per object: digest (32 bytes)  origin NUL
 *
 * where digest is BLAKE2b-256 of the object's bytes exactly as they stand
 * in the envelope (the hub sends stored text unchanged, and the receiver
 * hashes the slice of the body it parsed), and origin the base64 public
 * key of the hub that first published it. Binding the destination
 * collection stops a page from being replayed into another collection;
 * binding n and the order stops objects from being added or moved.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "federation.h"

#define SIGN_DOMAIN "renkei-federation-1"

void fed_b64(const unsigned char *data, size_t len, char *out, size_t outlen)
{
	sodium_bin2base64(out, outlen, data, len, sodium_base64_VARIANT_ORIGINAL);
}

static bool b64_exact(const char *b64, unsigned char *out, size_t want)
{
	size_t got = 0;
	if (!b64 || sodium_base642bin(out, want, b64, strlen(b64), NULL, &got, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	return got == want;
}

bool fed_key_parse(const char *b64, unsigned char out[32])
{
	return b64_exact(b64, out, 32);
}

static rk_err write_new_key(const char *path, fed_key *k, rk_errctx *ctx)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return rk_fail(ctx, RK_EIO, path, "cannot create the key file: %s", strerror(errno));
	crypto_sign_keypair(k->pk, k->sk);
	ssize_t w = write(fd, k->sk, sizeof k->sk);
	bool ok = w == (ssize_t)sizeof k->sk && fsync(fd) == 0;
	close(fd);
	if (!ok) {
		unlink(path);
		return rk_fail(ctx, RK_EIO, path, "cannot write the key file");
	}
	return RK_OK;
}

rk_err fed_key_load(const char *data_dir, bool create, fed_key *out, rk_errctx *ctx)
{
	char path[4096];
	struct stat sb;
	int fd;

	memset(out, 0, sizeof *out);
	if (sodium_init() < 0)
		return rk_fail(ctx, RK_EIO, NULL, "libsodium could not be initialised");
	if (strncmp(data_dir, "sqlite:", 7) == 0)
		data_dir += 7;
	snprintf(path, sizeof path, "%s/%s", data_dir, FED_KEY_FILE);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		if (errno != ENOENT || !create)
			return rk_fail(ctx, errno == ENOENT ? RK_ENOTFOUND : RK_EIO, path,
				       "cannot read the hub's federation key: %s", strerror(errno));
		rk_err rc = write_new_key(path, out, ctx);
		if (rc)
			return rc;
	} else {
		ssize_t r = read(fd, out->sk, sizeof out->sk);
		bool ok = fstat(fd, &sb) == 0 && r == (ssize_t)sizeof out->sk;
		close(fd);
		if (!ok)
			return rk_fail(ctx, RK_EIO, path, "the key file is not 64 bytes");
		if (sb.st_mode & 077)
			return rk_fail(ctx, RK_ECONFIG, path,
				       "the key file is readable by others (mode %o); chmod 600 it",
				       (unsigned)(sb.st_mode & 0777));
		crypto_sign_ed25519_sk_to_pk(out->pk, out->sk);
	}
	fed_b64(out->pk, sizeof out->pk, out->pk_b64, sizeof out->pk_b64);
	return RK_OK;
}

/* ---------------------------------------------------------------- signing */

void fed_signer_init(fed_signer *s, const fed_key *key)
{
	memset(s, 0, sizeof *s);
	s->key = key;
	rk_buf_init(&s->digests);
	rk_buf_init(&s->origins);
}

void fed_signer_cleanup(fed_signer *s)
{
	rk_buf_cleanup(&s->digests);
	rk_buf_cleanup(&s->origins);
}

void fed_signer_reset(fed_signer *s)
{
	rk_buf_reset(&s->digests);
	rk_buf_reset(&s->origins);
	s->n = 0;
}

rk_err fed_signer_add(fed_signer *s, const char *text, size_t len, const char *origin)
{
	unsigned char d[32];

	crypto_generichash(d, sizeof d, (const unsigned char *)text, len, NULL, 0);
	if (rk_buf_append(&s->digests, d, sizeof d) ||
	    rk_buf_append(&s->origins, origin, strlen(origin) + 1))
		return RK_ENOMEM;
	s->n++;
	return RK_OK;
}

/* The hash that is signed (see the top of this file). */
static void signed_hash(const char *collection, size_t n, const unsigned char *digests,
			const char *const *origins, unsigned char out[32])
{
	crypto_generichash_state st;
	unsigned char nb[8];

	for (int i = 0; i < 8; i++)
		nb[i] = (unsigned char)((uint64_t)n >> (8 * i));
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const unsigned char *)SIGN_DOMAIN, sizeof SIGN_DOMAIN);
	crypto_generichash_update(&st, (const unsigned char *)collection, strlen(collection) + 1);
	crypto_generichash_update(&st, nb, sizeof nb);
	for (size_t i = 0; i < n; i++) {
		crypto_generichash_update(&st, digests + 32 * i, 32);
		crypto_generichash_update(&st, (const unsigned char *)origins[i],
					  strlen(origins[i]) + 1);
	}
	crypto_generichash_final(&st, out, 32);
}

rk_err fed_signer_finish(fed_signer *s, const char *collection, rk_buf *out)
{
	const char **origins = calloc(s->n ? s->n : 1, sizeof *origins);
	const unsigned char *dg = (const unsigned char *)s->digests.data;
	unsigned char h[32], sig[crypto_sign_BYTES];
	char b64[128];
	rk_err rc = RK_OK;

	if (!origins)
		return RK_ENOMEM;
	const char *o = s->origins.data;
	for (size_t i = 0; i < s->n; i++) {
		origins[i] = o;
		o += strlen(o) + 1;
	}
	signed_hash(collection, s->n, dg, origins, h);
	crypto_sign_detached(sig, NULL, h, sizeof h, s->key->sk);
	rc = rk_buf_printf(out, ",\"" FED_MEMBER "\":{\"hub\":\"%s\",\"collection\":",
			   s->key->pk_b64);
	if (!rc)
		rc = rk_json_put_string(out, collection, strlen(collection));
	if (!rc)
		rc = rk_buf_puts(out, ",\"digests\":[");
	for (size_t i = 0; !rc && i < s->n; i++) {
		fed_b64(dg + 32 * i, 32, b64, sizeof b64);
		rc = rk_buf_printf(out, "%s\"%s\"", i ? "," : "", b64);
	}
	if (!rc)
		rc = rk_buf_puts(out, "],\"origins\":[");
	for (size_t i = 0; !rc && i < s->n; i++) {
		if (!rc && i)
			rc = rk_buf_puts(out, ",");
		if (!rc)
			rc = rk_json_put_string(out, origins[i], strlen(origins[i]));
	}
	fed_b64(sig, sizeof sig, b64, sizeof b64);
	if (!rc)
		rc = rk_buf_printf(out, "],\"signature\":\"%s\"}", b64);
	free(origins);
	return rc;
}

/* ---------------------------------------------------------------- verifying */

static void refuse_all(size_t n, bool *ok, char *why, size_t whylen, const char *reason)
{
	for (size_t i = 0; i < n; i++)
		ok[i] = false;
	snprintf(why, whylen, "%s", reason);
}

rk_err fed_verify(const fed_partner *p, const json_t *member, const char *collection,
		  size_t n, const char *const *texts, const size_t *lens, bool *ok,
		  const char **origins, char *why, size_t whylen)
{
	unsigned char *digests = NULL, h[32], sig[crypto_sign_BYTES], key[32];
	const json_t *dj, *oj;
	const char *hub, *coll, *sigtext;

	why[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		ok[i] = true;
		origins[i] = p->public_key_b64;
	}
	if (!member) {
		if (p->require_signature)
			refuse_all(n, ok, why, whylen,
				   "unsigned envelope from a partner that must sign");
		return RK_OK;
	}
	hub = json_string_value(json_object_get(member, "hub"));
	coll = json_string_value(json_object_get(member, "collection"));
	sigtext = json_string_value(json_object_get(member, "signature"));
	dj = json_object_get(member, "digests");
	oj = json_object_get(member, "origins");
	if (!hub || !coll || !sigtext || !json_is_array(dj) || !json_is_array(oj) ||
	    json_array_size(dj) != n || json_array_size(oj) != n) {
		refuse_all(n, ok, why, whylen,
			   "malformed " FED_MEMBER " (hub, collection, signature, and digests "
			   "and origins, one per object)");
		return RK_OK;
	}
	if (!fed_key_parse(hub, key) || sodium_memcmp(key, p->public_key, 32) != 0) {
		refuse_all(n, ok, why, whylen, "signed by a key that is not the partner's");
		return RK_OK;
	}
	if (strcmp(coll, collection) != 0) {
		refuse_all(n, ok, why, whylen, "signed for another collection");
		return RK_OK;
	}
	if (!b64_exact(sigtext, sig, sizeof sig)) {
		refuse_all(n, ok, why, whylen, "signature is not base64 of 64 bytes");
		return RK_OK;
	}
	if (!(digests = malloc(n ? 32 * n : 1)))
		return RK_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *o = json_string_value(json_array_get(oj, i));
		unsigned char okey[32];
		if (!b64_exact(json_string_value(json_array_get(dj, i)), digests + 32 * i, 32) ||
		    !o || !fed_key_parse(o, okey)) {
			refuse_all(n, ok, why, whylen, "a digest or origin is not well formed");
			free(digests);
			return RK_OK;
		}
		origins[i] = o;
	}
	signed_hash(coll, n, digests, origins, h);
	if (crypto_sign_verify_detached(sig, h, sizeof h, p->public_key) != 0) {
		refuse_all(n, ok, why, whylen, "bad signature over the envelope");
		for (size_t i = 0; i < n; i++)
			origins[i] = p->public_key_b64;
		free(digests);
		return RK_OK;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char d[32];
		if (!texts || !texts[i]) {
			ok[i] = false;
			if (!why[0])
				snprintf(why, whylen, "object bytes not available for its digest");
			continue;
		}
		crypto_generichash(d, sizeof d, (const unsigned char *)texts[i], lens[i], NULL, 0);
		if (sodium_memcmp(d, digests + 32 * i, 32) != 0) {
			ok[i] = false;
			if (!why[0])
				snprintf(why, whylen,
					 "object does not match its signed digest (altered)");
		}
	}
	free(digests);
	return RK_OK;
}
