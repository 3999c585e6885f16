/*
 * cnx_session: v2 transport, records, and the negotiated session of one
 * room (see cnx_session.h and docs/session.md).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_base64.h"
#include "cnx_crypto.h"
#include "cnx_identity.h"
#include "cnx_json.h"
#include "cnx_noise.h"
#include "cnx_session.h"
#include "cnx_session_v1.h"

/* ---- records ---------------------------------------------------------- */

int
cnx_record_encode(uint8_t *out, size_t outcap, const cnx_record_t *r)
{
    if (r->len > CNX_RECORD_MAX || outcap < CNX_RECORD_HDR + r->len
        || r->type < CNX_RECORD_TEXT || r->type > CNX_RECORD_CLOSE
        || (r->data == NULL && r->len != 0))
    {
        return -1;
    }
    out[0] = r->type;
    out[1] = r->flags;
    out[2] = (uint8_t) (r->stream >> 24);
    out[3] = (uint8_t) (r->stream >> 16);
    out[4] = (uint8_t) (r->stream >> 8);
    out[5] = (uint8_t) r->stream;
    out[6] = (uint8_t) (r->len >> 8);
    out[7] = (uint8_t) r->len;
    if (r->len && r->data != out + CNX_RECORD_HDR) {
        memmove(out + CNX_RECORD_HDR, r->data, r->len);
    }
    return (int) (CNX_RECORD_HDR + r->len);
}

int
cnx_record_decode(cnx_record_t *r, const uint8_t *buf, size_t len)
{
    size_t  n;

    if (len < CNX_RECORD_HDR || buf[0] < CNX_RECORD_TEXT
        || buf[0] > CNX_RECORD_CLOSE)
    {
        return -1;
    }
    n = ((size_t) buf[6] << 8) | buf[7];
    if (n > len - CNX_RECORD_HDR) {
        return -1;
    }
    r->type = buf[0];
    r->flags = buf[1];
    r->stream = ((uint32_t) buf[2] << 24) | ((uint32_t) buf[3] << 16)
                | ((uint32_t) buf[4] << 8) | buf[5];
    r->data = buf + CNX_RECORD_HDR;
    r->len = n;
    return 0;
}

/* ---- v2 transport ----------------------------------------------------- */

struct cnx_transport {
    cnx_aead_t  *send;
    cnx_aead_t  *recv;
    uint8_t      ks[32];
    uint8_t      kr[32];
    uint64_t     ns;
    uint64_t     nr;
    uint64_t     rekey_after;
};

static void
cnx_transport_nonce(uint8_t nonce[12], uint64_t n)
{
    int  i;

    memset(nonce, 0, 4);
    for (i = 0; i < 8; i++) {
        nonce[4 + i] = (uint8_t) (n >> (56 - 8 * i));
    }
}

/* Noise Rekey(): k = first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros). */
static int
cnx_transport_rekey(cnx_aead_t *a, uint8_t k[32])
{
    uint8_t  zeros[32] = { 0 }, out[48], nonce[12];
    int      rc;

    cnx_transport_nonce(nonce, UINT64_MAX);
    rc = cnx_aead_seal(a, out, zeros, sizeof(zeros), nonce, NULL, 0);
    if (rc == 0) {
        memcpy(k, out, 32);
        rc = cnx_aead_set_key(a, k);
    }
    cnx_memzero(out, sizeof(out));
    return rc;
}

cnx_transport_t *
cnx_transport_new(const cnx_noise_keys_t *keys, uint64_t rekey_after)
{
    cnx_transport_t  *t;

    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return NULL;
    }
    memcpy(t->ks, keys->send_key, 32);
    memcpy(t->kr, keys->recv_key, 32);
    t->rekey_after = rekey_after ? rekey_after : CNX_TRANSPORT_REKEY_DEFAULT;
    t->send = cnx_aead_new(t->ks);
    t->recv = cnx_aead_new(t->kr);
    if (t->send == NULL || t->recv == NULL) {
        cnx_transport_free(t);
        return NULL;
    }
    return t;
}

void
cnx_transport_free(cnx_transport_t *t)
{
    if (t == NULL) {
        return;
    }
    cnx_aead_free(t->send);
    cnx_aead_free(t->recv);
    cnx_memzero(t, sizeof(*t));
    free(t);
}

int
cnx_transport_seal(cnx_transport_t *t, uint8_t *out, size_t outcap,
    size_t *outlen, const uint8_t *m, size_t mlen)
{
    uint8_t  nonce[12];

    if (t->ns == UINT64_MAX || mlen > CNX_NOISE_MSG_MAX
        || outcap < mlen + CNX_AEAD_TAGBYTES || (m == NULL && mlen != 0))
    {
        return -1;
    }
    cnx_transport_nonce(nonce, t->ns);
    if (cnx_aead_seal(t->send, out, mlen ? m : out, mlen, nonce, NULL, 0)
        != 0)
    {
        return -1;
    }
    t->ns++;
    if (t->ns % t->rekey_after == 0
        && cnx_transport_rekey(t->send, t->ks) != 0)
    {
        return -1;
    }
    *outlen = mlen + CNX_AEAD_TAGBYTES;
    return 0;
}

int
cnx_transport_open(cnx_transport_t *t, uint8_t *m, size_t mcap, size_t *mlen,
    const uint8_t *c, size_t clen)
{
    uint8_t  nonce[12], none[1];

    if (t->nr == UINT64_MAX || c == NULL || clen < CNX_AEAD_TAGBYTES
        || clen - CNX_AEAD_TAGBYTES > mcap)
    {
        return -1;
    }
    /* Strict order: only the next counter value is tried, so a replayed,
     * reordered or injected message fails, and a reflected one fails
     * because it was sealed with the other direction's key. */
    cnx_transport_nonce(nonce, t->nr);
    if (cnx_aead_open(t->recv, clen > CNX_AEAD_TAGBYTES ? m : none, c, clen,
                      nonce, NULL, 0) != 0)
    {
        return -1;
    }
    t->nr++;
    if (t->nr % t->rekey_after == 0
        && cnx_transport_rekey(t->recv, t->kr) != 0)
    {
        return -1;
    }
    *mlen = clen - CNX_AEAD_TAGBYTES;
    return 0;
}

/* ---- the session ------------------------------------------------------ */

enum {
    ST_NEW = 0,
    ST_KEX_SENT,        /* our KEY_EXCHANGE is out, waiting for the peer's */
    ST_V2_HS,           /* Noise handshake in progress */
    ST_V1,
    ST_V2,
    ST_FAILED
};

static const char cnx_v2_prologue[] = "ClawNexus Edge session v2";

struct cnx_session {
    int                  state;
    cnx_noise_role_t     role;
    cnx_session_mode_t   mode;
    uint64_t             rekey_after;
    uint8_t              s_sk[32], s_pk[32];
    int                  has_static;
    uint8_t              pin[32];
    int                  has_pin;
    uint8_t              e_sk[32], e_pk[32];     /* v1 KEY_EXCHANGE key */
    uint8_t              peer_e[32];
    int                  offered;                /* version we offered */
    cnx_noise_t          hs;
    cnx_noise_pattern_t  pattern;
    int                  ik_fallback;            /* XX after a failed IK */
    uint8_t              peer_static[32];
    int                  has_peer_static;
    cnx_v1_session_t    *v1;
    cnx_transport_t     *t;
    char                 err[256];
};

static int
cnx_session_fail(cnx_session_t *s, int code, const char *msg)
{
    snprintf(s->err, sizeof(s->err), "%s", msg);
    if (code != CNX_SE_REJECTED && code != CNX_SE_NOSPACE) {
        s->state = ST_FAILED;
        cnx_noise_wipe(&s->hs);
        cnx_memzero(s->e_sk, sizeof(s->e_sk));
    }
    return code;
}

cnx_session_t *
cnx_session_new(const cnx_session_config_t *cfg)
{
    cnx_session_t  *s;

    if (cnx_crypto_init() != 0
        || (cfg->role != CNX_NOISE_INITIATOR
            && cfg->role != CNX_NOISE_RESPONDER)
        || cfg->mode < CNX_SESSION_AUTO || cfg->mode > CNX_SESSION_V2
        || (cfg->mode == CNX_SESSION_V2 && cfg->static_sk == NULL))
    {
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    s->role = cfg->role;
    s->mode = cfg->mode;
    s->rekey_after = cfg->rekey_after;
    if (cfg->static_sk != NULL) {
        memcpy(s->s_sk, cfg->static_sk, 32);
        if (cfg->static_pk != NULL) {
            memcpy(s->s_pk, cfg->static_pk, 32);
        } else if (cnx_x25519_public(s->s_pk, s->s_sk) != 0) {
            cnx_session_free(s);
            return NULL;
        }
        s->has_static = 1;
    }
    if (cfg->peer_pin != NULL) {
        memcpy(s->pin, cfg->peer_pin, 32);
        s->has_pin = 1;
    }
    s->hs.action = CNX_NOISE_FAILED;
    return s;
}

void
cnx_session_free(cnx_session_t *s)
{
    if (s == NULL) {
        return;
    }
    cnx_noise_wipe(&s->hs);
    cnx_v1_session_free(s->v1);
    cnx_transport_free(s->t);
    cnx_memzero(s, sizeof(*s));
    free(s);
}

int
cnx_session_start(cnx_session_t *s, char *out, size_t outcap)
{
    int  n;

    if (s->state != ST_NEW) {
        return CNX_SE_STATE;
    }
    if (cnx_x25519_keypair(s->e_pk, s->e_sk) != 0) {
        return CNX_SE_INTERNAL;
    }
    s->offered = s->mode != CNX_SESSION_V1 && s->has_static ? 2 : 1;
    n = cnx_v1_kex_build(out, outcap, s->e_pk, s->offered);
    if (n < 0) {
        return CNX_SE_NOSPACE;
    }
    s->state = ST_KEX_SENT;
    return n;
}

/* {"_type":"CNX_V2","p":"XX","m":"<b64>"} (p only on a first message), or
 * {"_type":"CNX_V2","err":"ik"}. */
static int
cnx_session_hs_payload(char *out, size_t outcap, const char *p,
    const uint8_t *msg, size_t len, const char *err)
{
    char            b64[CNX_BASE64_ENCODED_LEN(CNX_SESSION_REPLY_MAX) + 1];
    cnx_json_buf_t  b;

    cnx_json_buf_init(&b, out, outcap);
    cnx_json_buf_obj_open(&b);
    cnx_json_buf_key(&b, "_type");
    cnx_json_buf_cstr(&b, "CNX_V2");
    if (err != NULL) {
        cnx_json_buf_key(&b, "err");
        cnx_json_buf_cstr(&b, err);
    } else {
        if (cnx_base64_encode(b64, sizeof(b64), msg, len) < 0) {
            return -1;
        }
        if (p != NULL) {
            cnx_json_buf_key(&b, "p");
            cnx_json_buf_cstr(&b, p);
        }
        cnx_json_buf_key(&b, "m");
        cnx_json_buf_cstr(&b, b64);
    }
    cnx_json_buf_obj_close(&b);
    return cnx_json_buf_finish(&b);
}

/* Noise init with the prologue that binds both v1 KEY_EXCHANGE keys.  Noise
 * makes its own ephemeral key: the KEY_EXCHANGE key pair belongs to v1 and
 * takes part in no Noise key agreement. */
static int
cnx_session_hs_init(cnx_session_t *s, cnx_noise_pattern_t pattern)
{
    uint8_t  pro[sizeof(cnx_v2_prologue) - 1 + 64];
    int      init = s->role == CNX_NOISE_INITIATOR, rc;

    memcpy(pro, cnx_v2_prologue, sizeof(cnx_v2_prologue) - 1);
    memcpy(pro + sizeof(cnx_v2_prologue) - 1, init ? s->e_pk : s->peer_e, 32);
    memcpy(pro + sizeof(cnx_v2_prologue) - 1 + 32, init ? s->peer_e : s->e_pk,
           32);
    s->pattern = pattern;
    rc = cnx_noise_init_keypair(&s->hs, pattern, s->role, pro, sizeof(pro),
                                s->s_sk, s->s_pk,
                                pattern == CNX_NOISE_IK && init ? s->pin
                                                                : NULL);
    return rc;
}

static int
cnx_session_hs_write(cnx_session_t *s, char *reply, size_t replycap,
    size_t *replylen, int first)
{
    uint8_t  msg[CNX_SESSION_REPLY_MAX];
    size_t   len;
    int      n;

    if (cnx_noise_write_message(&s->hs, msg, sizeof(msg), &len, NULL, 0)
        != 0)
    {
        return cnx_session_fail(s, CNX_SE_INTERNAL,
                                "session v2: handshake write failed");
    }
    n = cnx_session_hs_payload(reply, replycap,
                               first ? (s->pattern == CNX_NOISE_IK ? "IK"
                                                                   : "XX")
                                     : NULL, msg, len, NULL);
    if (n < 0) {
        return cnx_session_fail(s, CNX_SE_NOSPACE,
                                "session: reply buffer too small");
    }
    *replylen = (size_t) n;
    return CNX_SESSION_REPLY;
}

/* Split, check the pin, start the transport. */
static int
cnx_session_hs_finish(cnx_session_t *s)
{
    cnx_noise_keys_t  keys;
    char              fp_pin[CNX_FINGERPRINT_LEN], fp_got[CNX_FINGERPRINT_LEN];
    char              msg[256];

    if (cnx_noise_split(&s->hs, &keys) != 0) {
        return cnx_session_fail(s, CNX_SE_AUTH, "session v2: split failed");
    }
    memcpy(s->peer_static, keys.remote_static, 32);
    s->has_peer_static = 1;
    if (s->has_pin && cnx_ct_compare(s->peer_static, s->pin, 32) != 0) {
        cnx_memzero(&keys, sizeof(keys));
        cnx_identity_fingerprint(fp_pin, s->pin);
        cnx_identity_fingerprint(fp_got, s->peer_static);
        snprintf(msg, sizeof(msg), "peer's static key changed: pinned %s, "
                 "presented %s; refusing", fp_pin, fp_got);
        return cnx_session_fail(s, CNX_SE_PIN, msg);
    }
    s->t = cnx_transport_new(&keys, s->rekey_after);
    cnx_memzero(&keys, sizeof(keys));
    if (s->t == NULL) {
        return cnx_session_fail(s, CNX_SE_INTERNAL, "session: out of memory");
    }
    cnx_memzero(s->e_sk, sizeof(s->e_sk));
    s->state = ST_V2;
    s->err[0] = '\0';
    return CNX_SESSION_ESTABLISHED;
}

static int
cnx_session_on_kex(cnx_session_t *s, const cnx_v1_kex_t *kex, char *reply,
    size_t replycap, size_t *replylen)
{
    uint8_t  key[32];

    memcpy(s->peer_e, kex->pubkey, 32);

    if (s->offered >= 2 && kex->version >= 2) {
        /* v2 from here on: the v1 private key has no use left. */
        cnx_memzero(s->e_sk, sizeof(s->e_sk));
        s->state = ST_V2_HS;
        if (s->role == CNX_NOISE_RESPONDER) {
            return 0;           /* the initiator speaks first */
        }
        if (cnx_session_hs_init(s, s->has_pin ? CNX_NOISE_IK : CNX_NOISE_XX)
            != 0)
        {
            return cnx_session_fail(s, CNX_SE_INTERNAL,
                                    "session v2: handshake init failed");
        }
        return cnx_session_hs_write(s, reply, replycap, replylen, 1);
    }

    /* The peer speaks only v1 (or we offered only v1). */
    if (s->offered >= 2 && (s->has_pin || s->mode == CNX_SESSION_V2)) {
        return cnx_session_fail(s, CNX_SE_DOWNGRADE, s->has_pin
            ? "peer offers only session v1 but its static key is pinned; "
              "refusing to downgrade"
            : "peer offers only session v1 and session v2 is required");
    }
    if (cnx_v1_derive(key, s->e_sk, s->peer_e) != 0) {
        return cnx_session_fail(s, CNX_SE_PROTO,
                                "session v1: peer's key is unusable");
    }
    s->v1 = cnx_v1_session_new(key);
    cnx_memzero(key, sizeof(key));
    cnx_memzero(s->e_sk, sizeof(s->e_sk));
    if (s->v1 == NULL) {
        return cnx_session_fail(s, CNX_SE_INTERNAL, "session: out of memory");
    }
    s->state = ST_V1;
    return CNX_SESSION_ESTABLISHED;
}

/* A {"_type":"CNX_V2",...} payload during the handshake. */
static int
cnx_session_on_hs(cnx_session_t *s, const char *buf, const cnx_json_tok_t *t,
    int n, char *reply, size_t replycap, size_t *replylen)
{
    uint8_t  msg[CNX_SESSION_REPLY_MAX], pl[CNX_SESSION_REPLY_MAX];
    char     b64[CNX_BASE64_ENCODED_LEN(CNX_SESSION_REPLY_MAX) + 1];
    size_t   b64len, plen;
    int      mi, pi, ei, len, first, rc;

    if (s->state != ST_V2_HS) {
        return cnx_session_fail(s, CNX_SE_REJECTED,
                                "session: unexpected handshake message "
                                "dropped");
    }
    ei = cnx_json_obj_get(buf, t, n, 0, "err");
    if (ei >= 0) {
        /* Unauthenticated, so it can only make us try XX, which still
         * checks the pin: no downgrade is possible through it. */
        if (s->role == CNX_NOISE_INITIATOR && s->pattern == CNX_NOISE_IK
            && !s->ik_fallback && cnx_noise_action(&s->hs) == CNX_NOISE_READ)
        {
            s->ik_fallback = 1;
            cnx_noise_wipe(&s->hs);
            if (cnx_session_hs_init(s, CNX_NOISE_XX) != 0) {
                return cnx_session_fail(s, CNX_SE_INTERNAL,
                                        "session v2: handshake init failed");
            }
            return cnx_session_hs_write(s, reply, replycap, replylen, 1);
        }
        return cnx_session_fail(s, CNX_SE_AUTH,
                                "session v2: peer reports a failed handshake");
    }
    mi = cnx_json_obj_get(buf, t, n, 0, "m");
    if (mi < 0 || t[mi].type != CNX_JSON_STRING
        || cnx_json_str_decode(buf, &t[mi], b64, sizeof(b64), &b64len) != 0
        || (len = cnx_base64_decode(msg, sizeof(msg), b64, b64len)) < 0)
    {
        return cnx_session_fail(s, CNX_SE_PROTO,
                                "session v2: malformed handshake message");
    }

    first = s->role == CNX_NOISE_RESPONDER
            && cnx_noise_action(&s->hs) == CNX_NOISE_FAILED;
    if (first) {
        pi = cnx_json_obj_get(buf, t, n, 0, "p");
        if (pi >= 0 && cnx_json_str_eq(buf, &t[pi], "IK", 2)
            && !s->ik_fallback)
        {
            rc = cnx_session_hs_init(s, CNX_NOISE_IK);
        } else if (pi >= 0 && cnx_json_str_eq(buf, &t[pi], "XX", 2)) {
            rc = cnx_session_hs_init(s, CNX_NOISE_XX);
        } else {
            return cnx_session_fail(s, CNX_SE_PROTO,
                                    "session v2: unknown handshake pattern");
        }
        if (rc != 0) {
            return cnx_session_fail(s, CNX_SE_INTERNAL,
                                    "session v2: handshake init failed");
        }
    }
    if (cnx_noise_read_message(&s->hs, pl, sizeof(pl), &plen, msg,
                               (size_t) len) != 0)
    {
        if (first && s->pattern == CNX_NOISE_IK) {
            /* The initiator used an old key of ours: tell it to use XX
             * (then it sees our real key and its pin check speaks). */
            s->ik_fallback = 1;
            rc = cnx_session_hs_payload(reply, replycap, NULL, NULL, 0, "ik");
            if (rc < 0) {
                return cnx_session_fail(s, CNX_SE_NOSPACE,
                                        "session: reply buffer too small");
            }
            *replylen = (size_t) rc;
            return CNX_SESSION_REPLY;
        }
        return cnx_session_fail(s, CNX_SE_AUTH,
                                "session v2: handshake authentication failed");
    }
    if (cnx_noise_action(&s->hs) == CNX_NOISE_WRITE) {
        rc = cnx_session_hs_write(s, reply, replycap, replylen, 0);
        if (rc < 0) {
            return rc;
        }
        if (cnx_noise_action(&s->hs) != CNX_NOISE_SPLIT) {
            return rc;
        }
        len = cnx_session_hs_finish(s);
        return len < 0 ? len : rc | len;
    }
    if (cnx_noise_action(&s->hs) == CNX_NOISE_SPLIT) {
        return cnx_session_hs_finish(s);
    }
    return cnx_session_fail(s, CNX_SE_INTERNAL, "session v2: bad state");
}

/* Open a v2 transport message (raw bytes) into plain, decode the record. */
static int
cnx_session_open_v2(cnx_session_t *s, const uint8_t *c, size_t clen,
    uint8_t *plain, size_t plaincap, cnx_record_t *rec)
{
    size_t  mlen;

    if (cnx_transport_open(s->t, plain, plaincap, &mlen, c, clen) != 0) {
        return cnx_session_fail(s, CNX_SE_REJECTED, "session v2: message "
                                "rejected (bad tag, replay, reorder or "
                                "reflection)");
    }
    if (cnx_record_decode(rec, plain, mlen) != 0) {
        return cnx_session_fail(s, CNX_SE_PROTO,
                                "session v2: malformed record");
    }
    if (rec->type == CNX_RECORD_CLOSE) {
        return cnx_session_fail(s, CNX_SE_CLOSED, "peer closed the session");
    }
    return CNX_SESSION_RECORD;
}

int
cnx_session_recv(cnx_session_t *s, const uint8_t *in, size_t inlen,
    int binary, char *reply, size_t replycap, size_t *replylen,
    uint8_t *plain, size_t plaincap, cnx_record_t *rec)
{
    const char     *text = (const char *) in;
    cnx_json_tok_t  t[16];
    cnx_v1_kex_t    kex;
    uint8_t        *bin;
    size_t          mlen;
    int             rc, n, ti;

    *replylen = 0;
    if (s->state == ST_NEW || s->state == ST_FAILED) {
        return CNX_SE_STATE;
    }
    if (in == NULL) {
        return cnx_session_fail(s, CNX_SE_REJECTED, "session: empty message");
    }
    if (binary) {
        if (s->state != ST_V2) {
            return cnx_session_fail(s, CNX_SE_REJECTED, "session: binary "
                                    "message before session v2 dropped");
        }
        return cnx_session_open_v2(s, in, inlen, plain, plaincap, rec);
    }

    /* Text: a KEY_EXCHANGE, a v2 handshake message, or ciphertext, told
     * apart the way clawnexus does it (JSON first). */
    rc = cnx_v1_kex_parse(&kex, text, inlen);
    if (rc != CNX_V1_NOT_KEX) {
        if (s->state != ST_KEX_SENT) {
            /* clawnexus re-keys on any later KEY_EXCHANGE; we do not. */
            return cnx_session_fail(s, CNX_SE_REJECTED, "session: repeated "
                                    "KEY_EXCHANGE ignored");
        }
        if (rc == CNX_V1_BAD_KEX) {
            return cnx_session_fail(s, CNX_SE_PROTO,
                                    "session: peer's KEY_EXCHANGE is invalid");
        }
        return cnx_session_on_kex(s, &kex, reply, replycap, replylen);
    }
    n = cnx_json_parse(text, inlen, t, sizeof(t) / sizeof(t[0]));
    if (n >= 1 && t[0].type == CNX_JSON_OBJECT
        && (ti = cnx_json_obj_get(text, t, n, 0, "_type")) >= 0
        && cnx_json_str_eq(text, &t[ti], "CNX_V2", 6))
    {
        return cnx_session_on_hs(s, text, t, n, reply, replycap, replylen);
    }

    switch (s->state) {
    case ST_V1:
        if (plaincap < CNX_RECORD_HDR
            || cnx_v1_open(s->v1, plain + CNX_RECORD_HDR,
                           plaincap - CNX_RECORD_HDR, &mlen, text, inlen)
               != 0)
        {
            return cnx_session_fail(s, CNX_SE_REJECTED, "session v1: message "
                                    "does not decrypt; dropped");
        }
        memset(rec, 0, sizeof(*rec));
        rec->type = CNX_RECORD_TEXT;
        rec->data = plain + CNX_RECORD_HDR;
        rec->len = mlen;
        return CNX_SESSION_RECORD;

    case ST_V2:
        bin = malloc(CNX_BASE64_DECODED_MAX(inlen));
        if (bin == NULL) {
            return cnx_session_fail(s, CNX_SE_REJECTED,
                                    "session: out of memory");
        }
        n = cnx_base64_decode(bin, CNX_BASE64_DECODED_MAX(inlen), text, inlen);
        if (n < 0) {
            free(bin);
            return cnx_session_fail(s, CNX_SE_REJECTED, "session v2: "
                                    "message is not base64; dropped");
        }
        rc = cnx_session_open_v2(s, bin, (size_t) n, plain, plaincap, rec);
        free(bin);
        return rc;

    default:
        return cnx_session_fail(s, CNX_SE_REJECTED, "session: message before "
                                "the key exchange completed; dropped");
    }
}

int
cnx_session_seal(cnx_session_t *s, int binary, uint8_t *out, size_t outcap,
    size_t *outlen, const cnx_record_t *rec)
{
    uint8_t  *buf;
    size_t    clen, need;
    int       n;

    if (s->state == ST_V1) {
        if (rec->type != CNX_RECORD_TEXT) {
            return CNX_SE_STATE;        /* v1 carries only text */
        }
        n = cnx_v1_seal(s->v1, (char *) out, outcap, rec->data, rec->len);
        if (n < 0) {
            return CNX_SE_NOSPACE;
        }
        *outlen = (size_t) n;
        return 0;
    }
    if (s->state != ST_V2) {
        return CNX_SE_STATE;
    }
    if (rec->len > CNX_RECORD_MAX) {
        return CNX_SE_NOSPACE;
    }
    need = CNX_RECORD_HDR + rec->len + CNX_AEAD_TAGBYTES;
    if (binary) {
        /* Encode and seal in place in the caller's buffer. */
        if (outcap < need || cnx_record_encode(out, outcap, rec) < 0) {
            return CNX_SE_NOSPACE;
        }
        if (cnx_transport_seal(s->t, out, outcap, &clen, out,
                               CNX_RECORD_HDR + rec->len) != 0)
        {
            return CNX_SE_INTERNAL;
        }
        *outlen = clen;
        return 0;
    }
    if (outcap < (size_t) CNX_BASE64_ENCODED_LEN(need) + 1) {
        return CNX_SE_NOSPACE;
    }
    buf = malloc(need);
    if (buf == NULL) {
        return CNX_SE_INTERNAL;
    }
    if (cnx_record_encode(buf, need, rec) < 0
        || cnx_transport_seal(s->t, buf, need, &clen, buf,
                              CNX_RECORD_HDR + rec->len) != 0
        || (n = cnx_base64_encode((char *) out, outcap, buf, clen)) < 0)
    {
        cnx_memzero(buf, need);
        free(buf);
        return CNX_SE_INTERNAL;
    }
    cnx_memzero(buf, need);
    free(buf);
    *outlen = (size_t) n;
    return 0;
}

int
cnx_session_seal_encoded(cnx_session_t *s, uint8_t *out, size_t outcap,
    size_t *outlen, const uint8_t *rec, size_t reclen)
{
    cnx_record_t  r;
    size_t        clen;

    if (s->state != ST_V2) {
        return CNX_SE_STATE;
    }
    if (cnx_record_decode(&r, rec, reclen) != 0
        || r.len != reclen - CNX_RECORD_HDR)
    {
        return CNX_SE_PROTO;
    }
    if (outcap < reclen + CNX_AEAD_TAGBYTES) {
        return CNX_SE_NOSPACE;
    }
    if (cnx_transport_seal(s->t, out, outcap, &clen, rec, reclen) != 0) {
        return CNX_SE_INTERNAL;
    }
    *outlen = clen;
    return 0;
}

int
cnx_session_seal_text(cnx_session_t *s, int binary, uint8_t *out,
    size_t outcap, size_t *outlen, const char *text, size_t len)
{
    cnx_record_t  r;

    memset(&r, 0, sizeof(r));
    r.type = CNX_RECORD_TEXT;
    r.data = (const uint8_t *) text;
    r.len = len;
    return cnx_session_seal(s, binary, out, outcap, outlen, &r);
}

int
cnx_session_established(const cnx_session_t *s)
{
    return s->state == ST_V1 || s->state == ST_V2;
}

int
cnx_session_version(const cnx_session_t *s)
{
    return s->state == ST_V1 ? 1 : s->state == ST_V2 ? 2 : 0;
}

const uint8_t *
cnx_session_peer_static(const cnx_session_t *s)
{
    return s->has_peer_static ? s->peer_static : NULL;
}

const char *
cnx_session_error(const cnx_session_t *s)
{
    return s->err;
}
