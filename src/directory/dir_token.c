/*
 * dir_token.c: API tokens as the directory keeps them.
 *
 * A token is a bearer secret; the directory stores only its BLAKE2b-256
 * hash (libsodium crypto_generichash, unkeyed). No salt or slow hash is
 * needed: tokens renkei makes carry 256 random bits and tokens from files
 * must be at least RK_TOKEN_MIN_CHARS long, so guessing from the hash is no
 * easier than guessing the token. Comparison happens in dir_lookup.c, in
 * constant time.
 */
#include <string.h>

#include <sodium.h>

#include "directory.h"

void dir_token_hash(const char *token, size_t len,
		    unsigned char out[DIR_TOKEN_HASH_BYTES])
{
	/* crypto_generichash needs no sodium_init(); with it libsodium picks
	 * a faster implementation, and a failure only means none was picked. */
	if (sodium_init() < 0) {
		/* no faster implementation chosen; the portable one works */
	}
	crypto_generichash(out, DIR_TOKEN_HASH_BYTES, (const unsigned char *)token,
			   len, NULL, 0);
}

void dir_token_new(const char *prefix, char *out, size_t outlen)
{
	size_t pl = strlen(prefix);
	size_t need = pl + (pl ? 1 : 0) + 2 * RK_TOKEN_RANDOM_BYTES + 1;

	if (outlen < need) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	memcpy(out, prefix, pl);
	if (pl)
		out[pl++] = '-';
	rk_random_hex(out + pl, RK_TOKEN_RANDOM_BYTES);
}
