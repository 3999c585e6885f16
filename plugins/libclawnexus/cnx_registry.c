/*
 * The ClawNexus registry protocol: request envelope, Ed25519 signature,
 * names, replies, and the per-key/per-address rate limiter.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cnx_base64.h"
#include "cnx_json.h"
#include "cnx_registry.h"
#include "cnx_relay_msg.h"

#define CNX_REG_TOKS  256       /* tokens of one request body */
#define CNX_REG_SUFFIX_LEN  (sizeof(CNX_REG_SUFFIX) - 1)

static const char  cnx_reg_prefix[] = "ed25519:";

int
cnx_reg_pubkey_parse(uint8_t key[CNX_REG_KEY_LEN], const char *s, size_t n)
{
    size_t  plen = sizeof(cnx_reg_prefix) - 1, bin;

    if (n != CNX_REG_PUBKEY_TEXT || memcmp(s, cnx_reg_prefix, plen) != 0) {
        return -1;
    }
    if (sodium_hex2bin(key, CNX_REG_KEY_LEN, s + plen, n - plen, NULL, &bin,
                       NULL) != 0
        || bin != CNX_REG_KEY_LEN)
    {
        return -1;
    }
    return 0;
}

void
cnx_reg_pubkey_format(char out[CNX_REG_PUBKEY_TEXT + 1],
    const uint8_t key[CNX_REG_KEY_LEN])
{
    memcpy(out, cnx_reg_prefix, sizeof(cnx_reg_prefix) - 1);
    sodium_bin2hex(out + sizeof(cnx_reg_prefix) - 1,
                   CNX_REG_KEY_LEN * 2 + 1, key, CNX_REG_KEY_LEN);
}

int
cnx_reg_parse(const char *body, size_t len, cnx_reg_req_t *req)
{
    cnx_json_tok_t  t[CNX_REG_TOKS];
    cnx_slice_t     s;
    int             nt, p, k, g, c;

    memset(req, 0, sizeof(*req));

    if (len > CNX_REG_BODY_MAX) {
        return CNX_REG_ETOOBIG;
    }
    nt = cnx_json_parse(body, len, t, CNX_REG_TOKS);
    if (nt < 1 || t[0].type != CNX_JSON_OBJECT) {
        return CNX_REG_EJSON;
    }

    p = cnx_json_obj_get(body, t, nt, 0, "payload");
    k = cnx_json_obj_get(body, t, nt, 0, "pubkey");
    g = cnx_json_obj_get(body, t, nt, 0, "signature");
    if (p < 0 || k < 0 || g < 0 || t[p].type != CNX_JSON_OBJECT
        || t[k].type != CNX_JSON_STRING || t[g].type != CNX_JSON_STRING
        || t[k].escaped || t[g].escaped)
    {
        return CNX_REG_EFIELD;
    }

    req->payload = cnx_json_tok_slice(body, &t[p]);

    s = cnx_json_tok_slice(body, &t[k]);
    if (cnx_reg_pubkey_parse(req->pubkey, s.p, s.len) != 0) {
        return CNX_REG_EFIELD;
    }
    s = cnx_json_tok_slice(body, &t[g]);
    if (cnx_base64_decode(req->sig, sizeof(req->sig), s.p, s.len)
        != CNX_REG_SIG_LEN)
    {
        return CNX_REG_EFIELD;
    }

    c = cnx_json_obj_get(body, t, nt, p, "claw_id");
    if (c < 0 || t[c].type != CNX_JSON_STRING
        || cnx_json_str_decode(body, &t[c], req->claw_id,
                               sizeof(req->claw_id), &req->claw_id_len) != 0
        || !cnx_relay_claw_id_valid(req->claw_id, req->claw_id_len))
    {
        return CNX_REG_ECLAW_ID;
    }
    return CNX_REG_OK;
}

int
cnx_reg_verify(const cnx_reg_req_t *req)
{
    if (crypto_sign_verify_detached(req->sig,
                                    (const unsigned char *) req->payload.p,
                                    req->payload.len, req->pubkey) != 0)
    {
        return CNX_REG_ESIG;
    }
    return CNX_REG_OK;
}

const char *
cnx_reg_strerror(int err)
{
    switch (err) {
    case CNX_REG_OK:        return "ok";
    case CNX_REG_EJSON:     return "request body is not a JSON object";
    case CNX_REG_EFIELD:    return "request needs payload (object), pubkey "
                                   "(\"ed25519:<64 hex>\") and signature "
                                   "(base64 of 64 bytes)";
    case CNX_REG_ECLAW_ID:  return "payload.claw_id is missing or not a "
                                   "name the relay accepts (with \".claw\" "
                                   "at most 255 bytes of UTF-8, no control "
                                   "characters)";
    case CNX_REG_ETOOBIG:   return "request body too large";
    case CNX_REG_ESIG:      return "invalid signature";
    default:                return "bad request";
    }
}

int
cnx_reg_status(int err)
{
    switch (err) {
    case CNX_REG_OK:       return 200;
    case CNX_REG_ETOOBIG:  return 413;
    case CNX_REG_ESIG:     return 401;
    default:               return 400;
    }
}

int
cnx_reg_name(char *out, size_t cap, const char *claw_id, size_t n)
{
    size_t  sl = CNX_REG_SUFFIX_LEN, len = n;

    if (n == 0 || cap == 0) {
        return -1;
    }
    if (!(n >= sl && memcmp(claw_id + n - sl, CNX_REG_SUFFIX, sl) == 0)) {
        len = n + sl;
    }
    if (len + 1 > cap || len > CNX_REG_NAME_MAX) {
        return -1;
    }
    memcpy(out, claw_id, n);
    memcpy(out + n, CNX_REG_SUFFIX, len - n);
    out[len] = '\0';
    return cnx_relay_claw_id_valid(out, len) ? (int) len : -1;
}

int
cnx_reg_build_error(char *out, size_t cap, const char *msg)
{
    cnx_json_buf_t  b;

    cnx_json_buf_init(&b, out, cap);
    cnx_json_buf_obj_open(&b);
    cnx_json_buf_key(&b, "error");
    cnx_json_buf_cstr(&b, msg);
    cnx_json_buf_obj_close(&b);
    return cnx_json_buf_finish(&b);
}

/* The record members both /register and /resolve return. */
static void
cnx_reg_record(cnx_json_buf_t *b, const char *name, const char *claw_id,
    const uint8_t pubkey[CNX_REG_KEY_LEN], const char *relay_hint,
    int64_t registered_at, int64_t updated_at)
{
    char  pk[CNX_REG_PUBKEY_TEXT + 1];

    cnx_reg_pubkey_format(pk, pubkey);

    cnx_json_buf_key(b, "record");
    cnx_json_buf_obj_open(b);
    cnx_json_buf_key(b, "name");
    cnx_json_buf_cstr(b, name);
    cnx_json_buf_key(b, "clawId");
    cnx_json_buf_cstr(b, claw_id);
    cnx_json_buf_key(b, "ownerPubkey");
    cnx_json_buf_cstr(b, pk);
    if (relay_hint != NULL) {
        cnx_json_buf_key(b, "relayHint");
        cnx_json_buf_cstr(b, relay_hint);
    }
    cnx_json_buf_key(b, "visibility");
    cnx_json_buf_cstr(b, "public");
    cnx_json_buf_key(b, "registeredAt");
    cnx_json_buf_int(b, registered_at);
    cnx_json_buf_key(b, "updatedAt");
    cnx_json_buf_int(b, updated_at);
    cnx_json_buf_obj_close(b);
}

/* The claw_id of a name: the name without its ".claw". */
static void
cnx_reg_claw_id_of(char *out, size_t cap, const char *name)
{
    size_t  n = strlen(name), sl = CNX_REG_SUFFIX_LEN;

    if (n > sl && memcmp(name + n - sl, CNX_REG_SUFFIX, sl) == 0) {
        n -= sl;
    }
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(out, name, n);
    out[n] = '\0';
}

int
cnx_reg_build_register(char *out, size_t cap, int created, const char *name,
    const char *claw_id, const uint8_t pubkey[CNX_REG_KEY_LEN],
    const char *relay_hint, int64_t registered_at, int64_t updated_at)
{
    cnx_json_buf_t  b;

    cnx_json_buf_init(&b, out, cap);
    cnx_json_buf_obj_open(&b);
    cnx_json_buf_key(&b, "action");
    cnx_json_buf_cstr(&b, created ? "registered" : "renewed");
    cnx_reg_record(&b, name, claw_id, pubkey, relay_hint, registered_at,
                   updated_at);
    cnx_json_buf_obj_close(&b);
    return cnx_json_buf_finish(&b);
}

int
cnx_reg_build_token(char *out, size_t cap, const char *token,
    const char *relay_hint, int64_t expires_in)
{
    cnx_json_buf_t  b;

    cnx_json_buf_init(&b, out, cap);
    cnx_json_buf_obj_open(&b);
    cnx_json_buf_key(&b, "token");
    cnx_json_buf_cstr(&b, token);
    cnx_json_buf_key(&b, "relay_hint");
    cnx_json_buf_cstr(&b, relay_hint);
    cnx_json_buf_key(&b, "expires_in");
    cnx_json_buf_int(&b, expires_in);
    cnx_json_buf_obj_close(&b);
    return cnx_json_buf_finish(&b);
}

int
cnx_reg_build_resolve(char *out, size_t cap, const char *name,
    const uint8_t pubkey[CNX_REG_KEY_LEN], const char *relay_hint,
    int64_t registered_at, int64_t updated_at)
{
    cnx_json_buf_t  b;
    char            claw_id[CNX_REG_NAME_MAX + 1];

    cnx_reg_claw_id_of(claw_id, sizeof(claw_id), name);

    cnx_json_buf_init(&b, out, cap);
    cnx_json_buf_obj_open(&b);
    cnx_reg_record(&b, name, claw_id, pubkey, relay_hint, registered_at,
                   updated_at);
    cnx_json_buf_obj_close(&b);
    return cnx_json_buf_finish(&b);
}

int
cnx_reg_build_request(char *out, size_t cap, const char *payload, size_t n,
    const uint8_t sk[CNX_REG_SK_LEN])
{
    uint8_t         sig[CNX_REG_SIG_LEN];
    char            sig64[CNX_BASE64_ENCODED_LEN(CNX_REG_SIG_LEN) + 1];
    char            pk[CNX_REG_PUBKEY_TEXT + 1];
    cnx_json_buf_t  b;

    /* the server checks the signature over the payload member's text,
     * which starts and ends with its braces */
    if (n < 2 || payload[0] != '{' || payload[n - 1] != '}') {
        return -1;
    }

    /* libsodium's secret key holds the public key in its second half */
    crypto_sign_detached(sig, NULL, (const unsigned char *) payload, n, sk);
    cnx_base64_encode(sig64, sizeof(sig64), sig, sizeof(sig));
    cnx_reg_pubkey_format(pk, sk + 32);

    cnx_json_buf_init(&b, out, cap);
    cnx_json_buf_obj_open(&b);
    cnx_json_buf_key(&b, "payload");
    cnx_json_buf_raw(&b, payload, n);
    cnx_json_buf_key(&b, "pubkey");
    cnx_json_buf_cstr(&b, pk);
    cnx_json_buf_key(&b, "signature");
    cnx_json_buf_cstr(&b, sig64);
    cnx_json_buf_obj_close(&b);
    return cnx_json_buf_finish(&b);
}

/* Copy string member key of object obj into out; 0, or -1. */
static int
cnx_reg_get_str(const char *buf, const cnx_json_tok_t *t, int nt, int obj,
    const char *key, char *out, size_t cap)
{
    size_t  n;
    int     i;

    i = cnx_json_obj_get(buf, t, nt, obj, key);
    if (i < 0 || t[i].type != CNX_JSON_STRING) {
        return -1;
    }
    return cnx_json_str_decode(buf, &t[i], out, cap, &n);
}

/* Parse a reply; -1 (with the error text) when it is an error reply. */
static int
cnx_reg_reply(const char *buf, size_t len, cnx_json_tok_t *t, unsigned ntoks,
    char *err, size_t err_cap)
{
    int  nt;

    if (err != NULL && err_cap > 0) {
        err[0] = '\0';
    }
    nt = cnx_json_parse(buf, len, t, ntoks);
    if (nt < 1 || t[0].type != CNX_JSON_OBJECT) {
        if (err != NULL && err_cap > 0) {
            snprintf(err, err_cap, "reply is not a JSON object");
        }
        return -1;
    }
    if (cnx_json_obj_get(buf, t, nt, 0, "error") >= 0) {
        if (err != NULL && err_cap > 0
            && cnx_reg_get_str(buf, t, nt, 0, "error", err, err_cap) != 0)
        {
            snprintf(err, err_cap, "error reply");
        }
        return -1;
    }
    return nt;
}

int
cnx_reg_parse_register_reply(const char *buf, size_t len, char *name,
    size_t name_cap, char *err, size_t err_cap)
{
    cnx_json_tok_t  t[CNX_REG_TOKS];
    int             nt, rec;

    nt = cnx_reg_reply(buf, len, t, CNX_REG_TOKS, err, err_cap);
    if (nt < 0) {
        return -1;
    }
    rec = cnx_json_obj_get(buf, t, nt, 0, "record");
    if (rec < 0 || t[rec].type != CNX_JSON_OBJECT
        || cnx_reg_get_str(buf, t, nt, rec, "name", name, name_cap) != 0)
    {
        if (err != NULL && err_cap > 0) {
            snprintf(err, err_cap, "reply has no record.name");
        }
        return -1;
    }
    return 0;
}

int
cnx_reg_parse_token_reply(const char *buf, size_t len, char *token,
    size_t token_cap, char *hint, size_t hint_cap, int64_t *expires_in,
    char *err, size_t err_cap)
{
    cnx_json_tok_t  t[CNX_REG_TOKS];
    int             nt, e;

    nt = cnx_reg_reply(buf, len, t, CNX_REG_TOKS, err, err_cap);
    if (nt < 0) {
        return -1;
    }
    if (cnx_reg_get_str(buf, t, nt, 0, "token", token, token_cap) != 0) {
        if (err != NULL && err_cap > 0) {
            snprintf(err, err_cap, "reply has no token");
        }
        return -1;
    }
    if (hint_cap > 0
        && cnx_reg_get_str(buf, t, nt, 0, "relay_hint", hint, hint_cap) != 0)
    {
        hint[0] = '\0';
    }
    *expires_in = 0;
    e = cnx_json_obj_get(buf, t, nt, 0, "expires_in");
    if (e >= 0 && cnx_json_tok_int64(buf, &t[e], expires_in) != 0) {
        *expires_in = 0;
    }
    return 0;
}


size_t
cnx_reg_limit_size(uint32_t nslots)
{
    return sizeof(cnx_reg_limit_t) + (size_t) nslots * sizeof(cnx_reg_bucket_t);
}

void
cnx_reg_limit_init(cnx_reg_limit_t *l, uint32_t nslots, uint32_t per_minute)
{
    memset(l, 0, cnx_reg_limit_size(nslots));
    randombytes_buf(l->hash_key, sizeof(l->hash_key));
    l->nslots = nslots;
    l->per_minute = per_minute;
}

int
cnx_reg_limit_take(cnx_reg_limit_t *l, const void *key, size_t n,
    int64_t now_ms)
{
    cnx_reg_bucket_t  *b;
    uint64_t           tag;
    int64_t            dt;
    uint64_t           full, tokens;

    if (l->per_minute == 0 || l->nslots == 0) {
        return 1;
    }

    crypto_shorthash((unsigned char *) &tag, key, n, l->hash_key);
    b = &l->slot[tag % l->nslots];      /* every slot, odd and even */
    tag |= 1;                           /* 0 marks a free slot */

    /* one token is 1000 milli-tokens; the bucket holds a minute's worth */
    full = (uint64_t) l->per_minute * 1000;
    if (b->tag == 0) {
        b->tag = tag;
        b->milli_tokens = (uint32_t) full;
        b->last_ms = now_ms;
    }

    dt = now_ms - b->last_ms;
    if (dt > 0) {
        tokens = b->milli_tokens + (uint64_t) dt * l->per_minute / 60;
        b->milli_tokens = (uint32_t) (tokens > full ? full : tokens);
        b->last_ms = now_ms;
    }

    if (b->tag != tag && b->milli_tokens == full) {
        b->tag = tag;                   /* an idle slot changes hands */
    }

    if (b->milli_tokens < 1000) {
        return 0;
    }
    b->milli_tokens -= 1000;
    return 1;
}
