/*
 * cnx_noise: Noise handshake state machines for
 *   Noise_XX_25519_AESGCM_SHA256   (mutual authentication, no prior keys)
 *   Noise_IK_25519_AESGCM_SHA256   (initiator already knows the responder)
 * written from the Noise Protocol Framework specification, revision 34.
 *
 * Usage: cnx_noise_init(), then alternate cnx_noise_write_message() and
 * cnx_noise_read_message() as cnx_noise_action() says, then
 * cnx_noise_split() once it says CNX_NOISE_SPLIT.  Any failure wipes the
 * state and leaves it in CNX_NOISE_FAILED.  The struct is public only so
 * that it can live on the stack; treat its fields as private.  Call
 * cnx_noise_wipe() when done (cnx_noise_split() does it for you).
 */

#ifndef CNX_NOISE_H
#define CNX_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "cnx_crypto.h"

#define CNX_NOISE_MSG_MAX       65535
#define CNX_NOISE_PROLOGUE_MAX  1024

typedef enum {
    CNX_NOISE_XX = 1,
    CNX_NOISE_IK = 2
} cnx_noise_pattern_t;

typedef enum {
    CNX_NOISE_INITIATOR = 1,
    CNX_NOISE_RESPONDER = 2
} cnx_noise_role_t;

/* What the state machine expects next. */
typedef enum {
    CNX_NOISE_FAILED = 0,
    CNX_NOISE_WRITE,
    CNX_NOISE_READ,
    CNX_NOISE_SPLIT
} cnx_noise_action_t;

typedef struct {
    /* CipherState */
    cnx_aead_t  *aead;
    /* OpenSSL EVP_MD_CTXs, made once for all hashes of the handshake */
    struct evp_md_ctx_st  *md[3];
    uint8_t      k[32];
    int          has_k;
    uint64_t     n;
    /* SymmetricState */
    uint8_t      ck[32];
    uint8_t      h[32];
    /* HandshakeState */
    uint8_t      s_sk[32], s_pk[32];
    uint8_t      e_sk[32], e_pk[32];
    uint8_t      rs[32], re[32];
    int          has_s, has_e, has_rs, has_re, fixed_e;
    cnx_noise_pattern_t pattern;
    cnx_noise_role_t    role;
    int          msg_index;
    cnx_noise_action_t  action;
} cnx_noise_t;

/* Keys after Split(): send/recv are already assigned by role. */
typedef struct {
    uint8_t  send_key[32];
    uint8_t  recv_key[32];
    uint8_t  handshake_hash[32];
    uint8_t  remote_static[32];
} cnx_noise_keys_t;

/* s_sk: our static private key (required).  rs: the responder's static
 * public key, required for the IK initiator and ignored otherwise. */
int cnx_noise_init(cnx_noise_t *hs, cnx_noise_pattern_t pattern,
    cnx_noise_role_t role, const uint8_t *prologue, size_t prologue_len,
    const uint8_t s_sk[32], const uint8_t *rs);

/* The same, with our static public key given (it must belong to s_sk;
 * NULL: computed): saves one X25519 base-point multiplication. */
int cnx_noise_init_keypair(cnx_noise_t *hs, cnx_noise_pattern_t pattern,
    cnx_noise_role_t role, const uint8_t *prologue, size_t prologue_len,
    const uint8_t s_sk[32], const uint8_t *s_pk, const uint8_t *rs);

cnx_noise_action_t cnx_noise_action(const cnx_noise_t *hs);

/* Write the next handshake message carrying payload (may be empty) into
 * out; *outlen gets its length.  At most CNX_NOISE_MSG_MAX bytes. */
int cnx_noise_write_message(cnx_noise_t *hs, uint8_t *out, size_t outcap,
    size_t *outlen, const uint8_t *payload, size_t payload_len);

/* Read a handshake message; its payload goes to payload (pcap bytes). */
int cnx_noise_read_message(cnx_noise_t *hs, uint8_t *payload, size_t pcap,
    size_t *payload_len, const uint8_t *msg, size_t msg_len);

/* The remote static key once it is known (NULL before). */
const uint8_t *cnx_noise_remote_static(const cnx_noise_t *hs);

/* Split() into per-direction transport keys; wipes hs. */
int cnx_noise_split(cnx_noise_t *hs, cnx_noise_keys_t *keys);

void cnx_noise_wipe(cnx_noise_t *hs);

#endif
