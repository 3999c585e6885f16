/*
 * cnx_crypto: the primitives the session layer is built on, one header per
 * family as libsodium arranges them, each primitive from one well-kept
 * library:
 *
 *   cnx_aead.h     AES-256-GCM              OpenSSL EVP
 *   cnx_x25519.h   X25519                   libsodium
 *   cnx_hash.h     SHA-256, HMAC, HKDF      OpenSSL EVP (SHA-256)
 *   cnx_random.h   randomness               libsodium
 *
 * This header includes them all and adds the start-up call and two
 * helpers.  Functions return 0 on success and -1 on failure unless
 * documented otherwise; none of them aborts on bad input.
 */

#ifndef CNX_CRYPTO_H
#define CNX_CRYPTO_H

#include <stddef.h>

#include "cnx_aead.h"
#include "cnx_hash.h"
#include "cnx_random.h"
#include "cnx_x25519.h"

/* sodium_init() and the one fetch of SHA-256 and AES-256-GCM from
 * OpenSSL.  Idempotent
 * and thread-safe; every other entry point of the library that needs it
 * calls it. */
int cnx_crypto_init(void);

/* Wiping and constant-time comparison (0 if equal, else -1). */
void cnx_memzero(void *buf, size_t len);
int cnx_ct_compare(const void *a, const void *b, size_t len);

#endif
