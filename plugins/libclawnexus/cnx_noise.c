/*
 * cnx_noise: Noise XX and IK over 25519, AESGCM and SHA256, following the
 * objects of the Noise specification (revision 34): CipherState (k, n),
 * SymmetricState (ck, h) and HandshakeState (s, e, rs, re, pattern).
 *
 *   XX:  -> e
 *        <- e, ee, s, es
 *        -> s, se
 *   IK:  <- s            (pre-message: the initiator knows rs)
 *        ...
 *        -> e, es, s, ss
 *        <- e, ee, se
 */

#include <string.h>

#include "cnx_crypto.h"
#include "cnx_internal.h"
#include "cnx_noise.h"

enum { T_E = 1, T_S, T_EE, T_ES, T_SE, T_SS, T_END = 0 };

/* Tokens of each handshake message, indexed by pattern and message. */
static const unsigned char cnx_noise_xx[3][4] = {
    { T_E, T_END },
    { T_E, T_EE, T_S, T_ES },
    { T_S, T_SE, T_END }
};
static const unsigned char cnx_noise_ik[2][5] = {
    { T_E, T_ES, T_S, T_SS, T_END },
    { T_E, T_EE, T_SE, T_END }
};

static const unsigned char *
cnx_noise_tokens(const cnx_noise_t *hs, size_t *ntok, int *nmsg)
{
    if (hs->pattern == CNX_NOISE_XX) {
        *nmsg = 3;
        *ntok = 4;
        return cnx_noise_xx[hs->msg_index];
    }
    *nmsg = 2;
    *ntok = 5;
    return cnx_noise_ik[hs->msg_index];
}

/* ---- CipherState / SymmetricState ------------------------------------- */

static void
cnx_noise_nonce(uint8_t nonce[12], uint64_t n)
{
    int  i;

    /* AESGCM: 32 bits of zeros, then the counter big-endian. */
    memset(nonce, 0, 4);
    for (i = 0; i < 8; i++) {
        nonce[4 + i] = (uint8_t) (n >> (56 - 8 * i));
    }
}

static int
cnx_noise_mix_hash(cnx_noise_t *hs, const uint8_t *data, size_t len)
{
    uint8_t  buf[128];

    /* h || data in one update when short (a public key, a sealed one, an
     * empty payload: nothing secret to wipe): one EVP call costs more
     * than the copy. */
    if (len > sizeof(buf) - 32) {
        return cnx_sha256_2_ctx(hs->md[0], hs->h, hs->h, 32, data, len);
    }
    memcpy(buf, hs->h, 32);
    if (len) {
        memcpy(buf + 32, data, len);
    }
    return cnx_sha256_2_ctx(hs->md[0], hs->h, buf, 32 + len, NULL, 0);
}

static int
cnx_noise_mix_key(cnx_noise_t *hs, const uint8_t ikm[32])
{
    if (cnx_hkdf_noise_ctx(hs->md, hs->ck, hs->k, NULL, hs->ck, ikm, 32)
        != 0)
    {
        return -1;
    }
    hs->n = 0;
    hs->has_k = 1;
    if (hs->aead == NULL) {
        hs->aead = cnx_aead_new(hs->k);
        return hs->aead != NULL ? 0 : -1;
    }
    return cnx_aead_set_key(hs->aead, hs->k);
}

static int
cnx_noise_mix_dh(cnx_noise_t *hs, const uint8_t sk[32], const uint8_t pk[32])
{
    uint8_t  dh[32];
    int      rc;

    rc = cnx_x25519_dh(dh, sk, pk);
    if (rc == 0) {
        rc = cnx_noise_mix_key(hs, dh);
    }
    cnx_memzero(dh, sizeof(dh));
    return rc;
}

/* EncryptAndHash: out gets len (+16 once a key exists) bytes. */
static int
cnx_noise_encrypt_and_hash(cnx_noise_t *hs, uint8_t *out, const uint8_t *in,
    size_t len, size_t *outlen)
{
    uint8_t  nonce[12];

    if (!hs->has_k) {
        memmove(out, in, len);
        *outlen = len;
    } else {
        if (hs->n == UINT64_MAX) {
            return -1;
        }
        cnx_noise_nonce(nonce, hs->n);
        if (cnx_aead_seal(hs->aead, out, in, len, nonce, hs->h, 32) != 0) {
            return -1;
        }
        hs->n++;
        *outlen = len + CNX_AEAD_TAGBYTES;
    }
    return cnx_noise_mix_hash(hs, out, *outlen);
}

static int
cnx_noise_decrypt_and_hash(cnx_noise_t *hs, uint8_t *out, const uint8_t *in,
    size_t len)
{
    uint8_t  nonce[12];

    if (!hs->has_k) {
        memmove(out, in, len);
    } else {
        if (hs->n == UINT64_MAX || len < CNX_AEAD_TAGBYTES) {
            return -1;
        }
        cnx_noise_nonce(nonce, hs->n);
        if (cnx_aead_open(hs->aead, out, in, len, nonce, hs->h, 32) != 0) {
            return -1;
        }
        hs->n++;
    }
    return cnx_noise_mix_hash(hs, in, len);
}

/* ---- HandshakeState --------------------------------------------------- */

void
cnx_noise_wipe(cnx_noise_t *hs)
{
    cnx_aead_free(hs->aead);
    cnx_hash_ctx_free(hs->md);
    cnx_memzero(hs, sizeof(*hs));
    hs->action = CNX_NOISE_FAILED;
}

static int
cnx_noise_fail(cnx_noise_t *hs)
{
    cnx_noise_wipe(hs);
    return -1;
}

int
cnx_noise_init(cnx_noise_t *hs, cnx_noise_pattern_t pattern,
    cnx_noise_role_t role, const uint8_t *prologue, size_t prologue_len,
    const uint8_t s_sk[32], const uint8_t *rs)
{
    return cnx_noise_init_keypair(hs, pattern, role, prologue, prologue_len,
                                  s_sk, NULL, rs);
}

int
cnx_noise_init_keypair(cnx_noise_t *hs, cnx_noise_pattern_t pattern,
    cnx_noise_role_t role, const uint8_t *prologue, size_t prologue_len,
    const uint8_t s_sk[32], const uint8_t *s_pk, const uint8_t *rs)
{
    const char  *name;

    memset(hs, 0, sizeof(*hs));
    hs->action = CNX_NOISE_FAILED;
    if (cnx_crypto_init() != 0 || s_sk == NULL
        || (pattern != CNX_NOISE_XX && pattern != CNX_NOISE_IK)
        || (role != CNX_NOISE_INITIATOR && role != CNX_NOISE_RESPONDER)
        || (prologue == NULL && prologue_len != 0)
        || prologue_len > CNX_NOISE_PROLOGUE_MAX
        || (pattern == CNX_NOISE_IK && role == CNX_NOISE_INITIATOR
            && rs == NULL))
    {
        return -1;
    }
    hs->pattern = pattern;
    hs->role = role;
    if (cnx_hash_ctx_new(hs->md) != 0) {
        return -1;
    }

    /* InitializeSymmetric: the names are 28 bytes, shorter than HASHLEN,
     * so h is the name padded with zeros. */
    name = pattern == CNX_NOISE_XX ? "Noise_XX_25519_AESGCM_SHA256"
                                   : "Noise_IK_25519_AESGCM_SHA256";
    memcpy(hs->h, name, strlen(name));
    memcpy(hs->ck, hs->h, 32);
    if (cnx_noise_mix_hash(hs, prologue, prologue_len) != 0) {
        return cnx_noise_fail(hs);
    }

    memcpy(hs->s_sk, s_sk, 32);
    if (s_pk != NULL) {
        memcpy(hs->s_pk, s_pk, 32);
    } else if (cnx_x25519_public(hs->s_pk, hs->s_sk) != 0) {
        return cnx_noise_fail(hs);
    }
    hs->has_s = 1;

    if (pattern == CNX_NOISE_IK) {
        /* Pre-message "<- s": both sides hash the responder's key. */
        if (role == CNX_NOISE_INITIATOR) {
            memcpy(hs->rs, rs, 32);
            hs->has_rs = 1;
            if (cnx_noise_mix_hash(hs, hs->rs, 32) != 0) {
                return cnx_noise_fail(hs);
            }
        } else if (cnx_noise_mix_hash(hs, hs->s_pk, 32) != 0) {
            return cnx_noise_fail(hs);
        }
    }
    hs->action = role == CNX_NOISE_INITIATOR ? CNX_NOISE_WRITE
                                             : CNX_NOISE_READ;
    return 0;
}

/* Known-answer tests only (cnx_internal.h). */
int
cnx_noise_set_ephemeral(cnx_noise_t *hs, const uint8_t e_sk[32])
{
    if (hs->action == CNX_NOISE_FAILED || hs->msg_index != 0 || hs->has_e) {
        return -1;
    }
    memcpy(hs->e_sk, e_sk, 32);
    hs->fixed_e = 1;
    return 0;
}

cnx_noise_action_t
cnx_noise_action(const cnx_noise_t *hs)
{
    return hs->action;
}

const uint8_t *
cnx_noise_remote_static(const cnx_noise_t *hs)
{
    return hs->has_rs ? hs->rs : NULL;
}

/* The DH of a token from this side's point of view. */
static int
cnx_noise_token_dh(cnx_noise_t *hs, int tok)
{
    int  init = hs->role == CNX_NOISE_INITIATOR;

    switch (tok) {
    case T_EE:
        return cnx_noise_mix_dh(hs, hs->e_sk, hs->re);
    case T_ES:
        return init ? cnx_noise_mix_dh(hs, hs->e_sk, hs->rs)
                    : cnx_noise_mix_dh(hs, hs->s_sk, hs->re);
    case T_SE:
        return init ? cnx_noise_mix_dh(hs, hs->s_sk, hs->re)
                    : cnx_noise_mix_dh(hs, hs->e_sk, hs->rs);
    case T_SS:
        return cnx_noise_mix_dh(hs, hs->s_sk, hs->rs);
    }
    return -1;
}

static void
cnx_noise_next(cnx_noise_t *hs, int nmsg)
{
    hs->msg_index++;
    if (hs->msg_index == nmsg) {
        hs->action = CNX_NOISE_SPLIT;
    } else {
        hs->action = hs->action == CNX_NOISE_WRITE ? CNX_NOISE_READ
                                                   : CNX_NOISE_WRITE;
    }
}

int
cnx_noise_write_message(cnx_noise_t *hs, uint8_t *out, size_t outcap,
    size_t *outlen, const uint8_t *payload, size_t payload_len)
{
    const unsigned char  *tok;
    size_t                ntok, i, pos = 0, n, need;
    int                   nmsg;

    if (hs->action != CNX_NOISE_WRITE) {
        return -1;
    }
    if (payload == NULL && payload_len == 0) {
        payload = (const uint8_t *) "";
    }
    tok = cnx_noise_tokens(hs, &ntok, &nmsg);
    for (i = 0; i < ntok && tok[i] != T_END; i++) {
        switch (tok[i]) {
        case T_E:
            if (outcap - pos < 32) {
                return cnx_noise_fail(hs);
            }
            if (hs->fixed_e ? cnx_x25519_public(hs->e_pk, hs->e_sk) != 0
                            : cnx_x25519_keypair(hs->e_pk, hs->e_sk) != 0)
            {
                return cnx_noise_fail(hs);
            }
            hs->has_e = 1;
            memcpy(out + pos, hs->e_pk, 32);
            pos += 32;
            if (cnx_noise_mix_hash(hs, hs->e_pk, 32) != 0) {
                return cnx_noise_fail(hs);
            }
            break;
        case T_S:
            need = 32 + (hs->has_k ? CNX_AEAD_TAGBYTES : 0);
            if (outcap - pos < need
                || cnx_noise_encrypt_and_hash(hs, out + pos, hs->s_pk, 32,
                                              &n) != 0)
            {
                return cnx_noise_fail(hs);
            }
            pos += n;
            break;
        default:
            if (cnx_noise_token_dh(hs, tok[i]) != 0) {
                return cnx_noise_fail(hs);
            }
        }
    }
    need = payload_len + (hs->has_k ? CNX_AEAD_TAGBYTES : 0);
    if ((payload == NULL && payload_len != 0) || outcap - pos < need
        || pos + need > CNX_NOISE_MSG_MAX
        || cnx_noise_encrypt_and_hash(hs, out + pos, payload, payload_len,
                                      &n) != 0)
    {
        return cnx_noise_fail(hs);
    }
    *outlen = pos + n;
    cnx_noise_next(hs, nmsg);
    return 0;
}

int
cnx_noise_read_message(cnx_noise_t *hs, uint8_t *payload, size_t pcap,
    size_t *payload_len, const uint8_t *msg, size_t msg_len)
{
    const unsigned char  *tok;
    size_t                ntok, i, pos = 0, need, rest;
    uint8_t               none[1];
    int                   nmsg;

    if (hs->action != CNX_NOISE_READ || msg_len > CNX_NOISE_MSG_MAX
        || (msg == NULL && msg_len != 0))
    {
        return cnx_noise_fail(hs);
    }
    if (msg == NULL) {
        msg = none;
    }
    tok = cnx_noise_tokens(hs, &ntok, &nmsg);
    for (i = 0; i < ntok && tok[i] != T_END; i++) {
        switch (tok[i]) {
        case T_E:
            if (msg_len - pos < 32) {
                return cnx_noise_fail(hs);
            }
            memcpy(hs->re, msg + pos, 32);
            hs->has_re = 1;
            pos += 32;
            if (cnx_noise_mix_hash(hs, hs->re, 32) != 0) {
                return cnx_noise_fail(hs);
            }
            break;
        case T_S:
            need = 32 + (hs->has_k ? CNX_AEAD_TAGBYTES : 0);
            if (msg_len - pos < need
                || cnx_noise_decrypt_and_hash(hs, hs->rs, msg + pos, need)
                   != 0)
            {
                return cnx_noise_fail(hs);
            }
            hs->has_rs = 1;
            pos += need;
            break;
        default:
            if (cnx_noise_token_dh(hs, tok[i]) != 0) {
                return cnx_noise_fail(hs);
            }
        }
    }
    rest = msg_len - pos;
    need = hs->has_k ? CNX_AEAD_TAGBYTES : 0;
    if (payload == NULL) {
        payload = none;
        pcap = 0;
    }
    if (rest < need || rest - need > pcap
        || cnx_noise_decrypt_and_hash(hs, payload, msg + pos, rest) != 0)
    {
        return cnx_noise_fail(hs);
    }
    *payload_len = rest - need;
    cnx_noise_next(hs, nmsg);
    return 0;
}

int
cnx_noise_split(cnx_noise_t *hs, cnx_noise_keys_t *keys)
{
    uint8_t  k1[32], k2[32];

    if (hs->action != CNX_NOISE_SPLIT || !hs->has_rs) {
        cnx_noise_wipe(hs);
        return -1;
    }
    if (cnx_hkdf_noise_ctx(hs->md, k1, k2, NULL, hs->ck, NULL, 0) != 0) {
        cnx_noise_wipe(hs);
        return -1;
    }
    /* k1 protects initiator -> responder, k2 the other way. */
    if (hs->role == CNX_NOISE_INITIATOR) {
        memcpy(keys->send_key, k1, 32);
        memcpy(keys->recv_key, k2, 32);
    } else {
        memcpy(keys->send_key, k2, 32);
        memcpy(keys->recv_key, k1, 32);
    }
    memcpy(keys->handshake_hash, hs->h, 32);
    memcpy(keys->remote_static, hs->rs, 32);
    cnx_memzero(k1, sizeof(k1));
    cnx_memzero(k2, sizeof(k2));
    cnx_noise_wipe(hs);
    return 0;
}
