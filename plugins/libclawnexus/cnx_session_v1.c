/*
 * cnx_session_v1: clawnexus 0.4.0's end-to-end layer (dist/relay/crypto.js
 * and the DATA handling of dist/relay/connector.js), reproduced byte for
 * byte.  See cnx_session_v1.h for the format.
 */

#include <stdlib.h>
#include <string.h>

#include "cnx_base64.h"
#include "cnx_crypto.h"
#include "cnx_internal.h"
#include "cnx_json.h"
#include "cnx_session_v1.h"

/* SPKI DER header of an X25519 public key (RFC 8410): SEQUENCE {
 * SEQUENCE { OID 1.3.101.110 }, BIT STRING (0 unused bits) }. */
const uint8_t cnx_v1_spki_prefix[12] = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00
};

static const char cnx_v1_info[] = "clawnexus-relay-e2e";

struct cnx_v1_session {
    cnx_aead_t  *aead;
};

void
cnx_v1_spki_encode(uint8_t spki[44], const uint8_t pk[32])
{
    memcpy(spki, cnx_v1_spki_prefix, sizeof(cnx_v1_spki_prefix));
    memcpy(spki + sizeof(cnx_v1_spki_prefix), pk, 32);
}

int
cnx_v1_spki_decode(uint8_t pk[32], const uint8_t *spki, size_t len)
{
    if (len != CNX_V1_SPKI_BYTES
        || memcmp(spki, cnx_v1_spki_prefix, sizeof(cnx_v1_spki_prefix)) != 0)
    {
        return -1;
    }
    memcpy(pk, spki + sizeof(cnx_v1_spki_prefix), 32);
    return 0;
}

int
cnx_v1_kex_build(char *out, size_t outcap, const uint8_t pk[32], int version)
{
    uint8_t         spki[CNX_V1_SPKI_BYTES];
    char            b64[CNX_BASE64_ENCODED_LEN(CNX_V1_SPKI_BYTES) + 1];
    cnx_json_buf_t  b;

    cnx_v1_spki_encode(spki, pk);
    if (cnx_base64_encode(b64, sizeof(b64), spki, sizeof(spki)) < 0) {
        return -1;
    }
    /* Same member order as clawnexus: _type, then pubkey.  Our field comes
     * last; v1 peers never look at it. */
    cnx_json_buf_init(&b, out, outcap);
    cnx_json_buf_obj_open(&b);
    cnx_json_buf_key(&b, "_type");
    cnx_json_buf_cstr(&b, "KEY_EXCHANGE");
    cnx_json_buf_key(&b, "pubkey");
    cnx_json_buf_cstr(&b, b64);
    if (version >= 2) {
        cnx_json_buf_key(&b, "cnx_v");
        cnx_json_buf_int(&b, version);
    }
    cnx_json_buf_obj_close(&b);
    return cnx_json_buf_finish(&b);
}

int
cnx_v1_kex_parse(cnx_v1_kex_t *kex, const char *payload, size_t len)
{
    cnx_json_tok_t  t[64];
    uint8_t         spki[CNX_BASE64_DECODED_MAX(64)];
    char            b64[64];
    size_t          b64len;
    int64_t         v;
    int             n, ti, pi, vi, slen;

    n = cnx_json_parse(payload, len, t, sizeof(t) / sizeof(t[0]));
    if (n < 1 || t[0].type != CNX_JSON_OBJECT) {
        return CNX_V1_NOT_KEX;
    }
    ti = cnx_json_obj_get(payload, t, n, 0, "_type");
    if (ti < 0 || !cnx_json_str_eq(payload, &t[ti], "KEY_EXCHANGE", 12)) {
        return CNX_V1_NOT_KEX;
    }
    /* clawnexus takes any truthy pubkey as a key exchange: a missing or
     * empty one is ciphertext to it (and then fails to decrypt). */
    pi = cnx_json_obj_get(payload, t, n, 0, "pubkey");
    if (pi < 0 || t[pi].type == CNX_JSON_NULL
        || t[pi].type == CNX_JSON_FALSE
        || (t[pi].type == CNX_JSON_STRING && t[pi].end == t[pi].start))
    {
        return CNX_V1_NOT_KEX;
    }
    if (t[pi].type != CNX_JSON_STRING
        || cnx_json_str_decode(payload, &t[pi], b64, sizeof(b64), &b64len)
           != 0)
    {
        return CNX_V1_BAD_KEX;
    }
    slen = cnx_base64_decode(spki, sizeof(spki), b64, b64len);
    if (slen < 0 || cnx_v1_spki_decode(kex->pubkey, spki, (size_t) slen)
                    != 0)
    {
        return CNX_V1_BAD_KEX;
    }
    kex->version = 1;
    vi = cnx_json_obj_get(payload, t, n, 0, "cnx_v");
    if (vi >= 0 && cnx_json_tok_int64(payload, &t[vi], &v) == 0 && v >= 2
        && v <= 255)
    {
        kex->version = (int) v;
    }
    return CNX_V1_KEX;
}

int
cnx_v1_derive(uint8_t key[32], const uint8_t sk[32], const uint8_t peer_pk[32])
{
    uint8_t  shared[32];
    int      rc;

    if (cnx_x25519_dh(shared, sk, peer_pk) != 0) {
        cnx_memzero(key, 32);
        return -1;
    }
    /* crypto.hkdfSync("sha256", shared, "", info, 32): empty salt. */
    rc = cnx_hkdf_sha256(key, 32, NULL, 0, shared, sizeof(shared),
                         cnx_v1_info, sizeof(cnx_v1_info) - 1);
    cnx_memzero(shared, sizeof(shared));
    return rc;
}

cnx_v1_session_t *
cnx_v1_session_new(const uint8_t key[32])
{
    cnx_v1_session_t  *s;

    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    s->aead = cnx_aead_new(key);
    if (s->aead == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

void
cnx_v1_session_free(cnx_v1_session_t *s)
{
    if (s == NULL) {
        return;
    }
    cnx_aead_free(s->aead);
    free(s);
}

int
cnx_v1_seal_with_iv(cnx_v1_session_t *s, char *out, size_t outcap,
    const uint8_t *m, size_t mlen, const uint8_t iv[12])
{
    uint8_t  *bin;
    size_t    binlen;
    int       rc = -1;

    if (mlen > (size_t) 0x3fffffff || (m == NULL && mlen != 0)
        || outcap < (size_t) CNX_V1_SEALED_LEN(mlen) + 1)
    {
        return -1;
    }
    binlen = CNX_V1_OVERHEAD + mlen;
    bin = malloc(binlen);
    if (bin == NULL) {
        return -1;
    }
    memcpy(bin, iv, 12);
    if (cnx_aead_seal_detached(s->aead, bin + CNX_V1_OVERHEAD, bin + 12,
                               mlen ? m : bin, mlen, iv, NULL, 0) == 0)
    {
        rc = cnx_base64_encode(out, outcap, bin, binlen);
    }
    cnx_memzero(bin, binlen);
    free(bin);
    return rc;
}

int
cnx_v1_seal(cnx_v1_session_t *s, char *out, size_t outcap, const uint8_t *m,
    size_t mlen)
{
    uint8_t  iv[12];

    cnx_random(iv, sizeof(iv));
    return cnx_v1_seal_with_iv(s, out, outcap, m, mlen, iv);
}

int
cnx_v1_open(cnx_v1_session_t *s, uint8_t *m, size_t mcap, size_t *mlen,
    const char *b64, size_t b64len)
{
    uint8_t  *bin;
    size_t    cap;
    int       n, rc = -1;

    if (b64 == NULL || b64len > (size_t) 0x3fffffff) {
        return -1;
    }
    cap = CNX_BASE64_DECODED_MAX(b64len);
    bin = malloc(cap ? cap : 1);
    if (bin == NULL) {
        return -1;
    }
    n = cnx_base64_decode(bin, cap, b64, b64len);
    if (n >= CNX_V1_OVERHEAD && (size_t) n - CNX_V1_OVERHEAD <= mcap) {
        rc = cnx_aead_open_detached(s->aead, n > CNX_V1_OVERHEAD ? m : bin,
                                    bin + CNX_V1_OVERHEAD,
                                    (size_t) n - CNX_V1_OVERHEAD, bin + 12,
                                    bin, NULL, 0);
        if (rc == 0) {
            *mlen = (size_t) n - CNX_V1_OVERHEAD;
        }
    }
    free(bin);
    return rc;
}
