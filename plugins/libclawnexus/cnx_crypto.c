/*
 * cnx_crypto: start-up, randomness, wiping and comparison (see
 * cnx_crypto.h; the primitives are in cnx_aead.c, cnx_x25519.c and
 * cnx_hash.c).
 */

#include <pthread.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "cnx_crypto.h"
#include "cnx_internal.h"

static pthread_once_t  cnx_crypto_once = PTHREAD_ONCE_INIT;
static int             cnx_crypto_ok;
static EVP_MD         *cnx_md_sha256;
EVP_MD_CTX            *cnx_crypto_sha256_ctx0;
static EVP_CIPHER     *cnx_cipher_gcm;

static void
cnx_crypto_init_once(void)
{
    /* Fetched once: OpenSSL 3 looks an algorithm up by name at every use
     * otherwise, which costs more than hashing a short input or setting a
     * key.  Every SHA-256 starts as a copy of one initialised context:
     * EVP_DigestInit_ex2() also frees and remakes the provider's state and
     * asks for an ENGINE each time, a copy does less (docs/codecs.md). */
    if (sodium_init() < 0
        || (cnx_md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL
        || (cnx_crypto_sha256_ctx0 = EVP_MD_CTX_new()) == NULL
        || EVP_DigestInit_ex2(cnx_crypto_sha256_ctx0, cnx_md_sha256, NULL) != 1
        || (cnx_cipher_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL))
           == NULL)
    {
        return;
    }
    cnx_crypto_ok = 1;
}

int
cnx_crypto_init(void)
{
    if (pthread_once(&cnx_crypto_once, cnx_crypto_init_once) != 0) {
        return -1;
    }
    return cnx_crypto_ok ? 0 : -1;
}

const EVP_MD_CTX *
cnx_crypto_sha256_start(void)
{
    return cnx_crypto_init() == 0 ? cnx_crypto_sha256_ctx0 : NULL;
}

const EVP_CIPHER *
cnx_crypto_aes256gcm(void)
{
    return cnx_crypto_init() == 0 ? cnx_cipher_gcm : NULL;
}

void
cnx_random(void *buf, size_t len)
{
    (void) cnx_crypto_init();
    randombytes_buf(buf, len);
}

void
cnx_memzero(void *buf, size_t len)
{
    sodium_memzero(buf, len);
}

int
cnx_ct_compare(const void *a, const void *b, size_t len)
{
    return sodium_memcmp(a, b, len) == 0 ? 0 : -1;
}
