/*
 * cnx_session_v1: the end-to-end layer of clawnexus 0.4.0, byte for byte.
 *
 *   KEY_EXCHANGE  DATA payload {"_type":"KEY_EXCHANGE","pubkey":B64}
 *                 B64 = base64(30 2a 30 05 06 03 2b 65 6e 03 21 00 || pk32)
 *                 We may add "cnx_v":2 (v1 peers ignore unknown fields).
 *   key           HKDF-SHA256(ikm = X25519(sk, peer), salt = "",
 *                 info = "clawnexus-relay-e2e", 32 bytes), both directions
 *   message       base64(iv12 || tag16 || AES-256-GCM(key, iv, text)),
 *                 random iv, no AAD
 *
 * v1 has no replay or reflection protection; see docs/session.md.
 */

#ifndef CNX_SESSION_V1_H
#define CNX_SESSION_V1_H

#include <stddef.h>
#include <stdint.h>

#define CNX_V1_SPKI_BYTES      44
#define CNX_V1_OVERHEAD        28      /* iv + tag */
/* Base64 text length of a sealed message of mlen plaintext bytes (no NUL). */
#define CNX_V1_SEALED_LEN(mlen) ((((mlen) + CNX_V1_OVERHEAD + 2) / 3) * 4)
/* Room for a KEY_EXCHANGE payload built by cnx_v1_kex_build (with NUL). */
#define CNX_V1_KEX_MAX         128

extern const uint8_t cnx_v1_spki_prefix[12];

/* A parsed KEY_EXCHANGE. */
typedef struct {
    uint8_t  pubkey[32];
    int      version;       /* 1, or the peer's "cnx_v" when present (>= 2) */
} cnx_v1_kex_t;

/* Return values of cnx_v1_kex_parse. */
#define CNX_V1_KEX          0   /* a KEY_EXCHANGE; kex filled */
#define CNX_V1_NOT_KEX      1   /* not a KEY_EXCHANGE: treat as ciphertext */
#define CNX_V1_BAD_KEX    (-1)  /* KEY_EXCHANGE with an unusable pubkey */

/* Build the payload string; version >= 2 adds "cnx_v":version.
 * Returns the string length (NUL written) or -1 if out is too small. */
int cnx_v1_kex_build(char *out, size_t outcap, const uint8_t pk[32],
    int version);

/* Parse a DATA payload the way clawnexus 0.4.0 does: a JSON object whose
 * "_type" is "KEY_EXCHANGE" and whose "pubkey" is a non-empty string is a
 * key exchange; anything else is ciphertext.  Never reads past len. */
int cnx_v1_kex_parse(cnx_v1_kex_t *kex, const char *payload, size_t len);

/* SPKI DER (44 bytes) <-> raw X25519 public key. */
void cnx_v1_spki_encode(uint8_t spki[44], const uint8_t pk[32]);
int cnx_v1_spki_decode(uint8_t pk[32], const uint8_t *spki, size_t len);

/* key = HKDF-SHA256(X25519(sk, peer_pk), "", "clawnexus-relay-e2e", 32).
 * Fails on a low-order peer key. */
int cnx_v1_derive(uint8_t key[32], const uint8_t sk[32],
    const uint8_t peer_pk[32]);

/* A v1 room key with its AEAD context. */
typedef struct cnx_v1_session cnx_v1_session_t;

cnx_v1_session_t *cnx_v1_session_new(const uint8_t key[32]);
void cnx_v1_session_free(cnx_v1_session_t *s);     /* wipes the key */

/* Encrypt text (mlen bytes) into base64 at out (outcap must hold
 * CNX_V1_SEALED_LEN(mlen) + 1).  Returns the base64 length or -1. */
int cnx_v1_seal(cnx_v1_session_t *s, char *out, size_t outcap,
    const uint8_t *m, size_t mlen);

/* Decrypt a base64 payload of b64len characters into m (mcap bytes; the
 * plaintext is at most b64len * 3 / 4 - 28 bytes).  *mlen gets the length.
 * Returns 0, or -1 on bad base64, short input or a failed tag. */
int cnx_v1_open(cnx_v1_session_t *s, uint8_t *m, size_t mcap, size_t *mlen,
    const char *b64, size_t b64len);

#endif
