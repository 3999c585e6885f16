/*
 * HS256 JWT verification and minting.  The token is checked in a fixed
 * order (format, alg, MAC, time, subject, issuer) so that nothing from an
 * unauthenticated payload influences the decision before the MAC has been
 * verified.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "cnx_base64.h"
#include "cnx_json.h"
#include "cnx_jwt.h"

#define CNX_JWT_PART_MAX  CNX_BASE64_DECODED_MAX(CNX_JWT_MAX_LEN)
#define CNX_JWT_LEEWAY_MAX  ((int64_t) 1 << 32)

/* base64url('{"alg":"HS256","typ":"JWT"}'), the header we mint. */
static const char cnx_jwt_header_b64[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

static void
cnx_jwt_mac(uint8_t mac[32], const uint8_t *key, size_t keylen,
    const char *msg, size_t n)
{
    crypto_auth_hmacsha256_state  st;

    crypto_auth_hmacsha256_init(&st, key, keylen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *) msg, n);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof(st));
}

/*
 * RFC 7515 4 and RFC 7519 4: a repeated member name makes a token
 * ambiguous ({"alg":"HS256","alg":"none"}); refuse it rather than pick one.
 * Names are compared decoded, so an escaped spelling is a repeat too.
 */
static int
cnx_jwt_keys_unique(const char *json, const cnx_json_tok_t *t, int nt)
{
    char    name[64];
    size_t  n;
    int     i, j;

    for (i = 1; i < nt; i = t[i + 1].next) {
        if (cnx_json_str_decode(json, &t[i], name, sizeof(name), &n) != 0) {
            return 0;               /* names this long are not ours */
        }
        for (j = t[i + 1].next; j < nt; j = t[j + 1].next) {
            if (cnx_json_str_eq(json, &t[j], name, n)) {
                return 0;
            }
        }
    }
    return 1;
}

/* Decoded JSON object of a token part, tokenized. */
static int
cnx_jwt_part(const char *p, size_t n, char *json, cnx_json_tok_t *toks,
    unsigned ntoks)
{
    int  dl, nt;

    dl = cnx_base64url_decode((uint8_t *) json, CNX_JWT_PART_MAX, p, n);
    if (dl <= 0) {
        return -1;
    }
    nt = cnx_json_parse(json, (size_t) dl, toks, ntoks);
    if (nt <= 0 || toks[0].type != CNX_JSON_OBJECT
        || !cnx_jwt_keys_unique(json, toks, nt))
    {
        return -1;
    }
    return nt;
}

/* Optional integer claim: 0 absent, 1 present, -1 wrong type. */
static int
cnx_jwt_int_claim(const char *json, const cnx_json_tok_t *t, int nt,
    const char *name, int64_t *v)
{
    int  i = cnx_json_obj_get(json, t, nt, 0, name);

    if (i < 0) {
        return 0;
    }
    return cnx_json_tok_int64(json, &t[i], v) == 0 ? 1 : -1;
}

/* Optional string claim decoded into out[256]: 0 absent, 1, -1 bad. */
static int
cnx_jwt_str_claim(const char *json, const cnx_json_tok_t *t, int nt,
    const char *name, char *out)
{
    int  i = cnx_json_obj_get(json, t, nt, 0, name);

    if (i < 0) {
        return 0;
    }
    if (cnx_json_str_decode(json, &t[i], out, CNX_JWT_CLAIM_MAX + 1, NULL)
        != 0)
    {
        return -1;
    }
    return 1;
}

int
cnx_jwt_verify(const char *tok, size_t len, const uint8_t *key,
    size_t keylen, const cnx_jwt_expect_t *want, int64_t now,
    cnx_jwt_claims_t *out)
{
    char              json[CNX_JWT_PART_MAX];
    cnx_json_tok_t    t[64];
    cnx_jwt_claims_t  c;
    uint8_t           sig[CNX_BASE64_DECODED_MAX(44)], mac[32];
    size_t            d1, d2, i;
    int64_t           leeway, base;
    int               nt, k, hs, hi, rc;

    if (tok == NULL || len == 0 || len > CNX_JWT_MAX_LEN) {
        return CNX_JWT_EFORMAT;
    }

    /* Exactly three parts. */
    d1 = d2 = 0;
    for (i = 0; i < len; i++) {
        if (tok[i] == '.') {
            if (d1 == 0) {
                d1 = i;
            } else if (d2 == 0) {
                d2 = i;
            } else {
                return CNX_JWT_EFORMAT;
            }
        }
    }
    if (d1 == 0 || d2 == 0 || d2 == d1 + 1 || d2 + 1 == len) {
        return CNX_JWT_EFORMAT;
    }

    /* Header: alg must be exactly HS256. */
    nt = cnx_jwt_part(tok, d1, json, t, 64);
    if (nt < 0) {
        return CNX_JWT_EFORMAT;
    }
    k = cnx_json_obj_get(json, t, nt, 0, "alg");
    if (k < 0 || !cnx_json_str_eq(json, &t[k], "HS256", 5)) {
        return CNX_JWT_EALG;
    }
    /* typ is optional; media type names compare case-insensitively. */
    k = cnx_json_obj_get(json, t, nt, 0, "typ");
    if (k >= 0 && !cnx_json_str_eq(json, &t[k], "JWT", 3)
        && !cnx_json_str_eq(json, &t[k], "jwt", 3))
    {
        return CNX_JWT_EALG;
    }
    if (cnx_json_obj_get(json, t, nt, 0, "crit") >= 0) {
        return CNX_JWT_EALG;                /* nothing critical is known */
    }

    /* Signature: 32 bytes of HMAC-SHA256 over "header.payload". */
    if (len - d2 - 1 != 43
        || cnx_base64url_decode(sig, sizeof(sig), tok + d2 + 1, 43) != 32)
    {
        return CNX_JWT_EFORMAT;
    }
    if (key == NULL || keylen == 0) {
        return CNX_JWT_ESIG;
    }
    cnx_jwt_mac(mac, key, keylen, tok, d2);
    rc = crypto_verify_32(mac, sig);
    if (rc != 0 && want != NULL && want->prev_key != NULL
        && want->prev_keylen > 0)
    {
        cnx_jwt_mac(mac, want->prev_key, want->prev_keylen, tok, d2);
        rc = crypto_verify_32(mac, sig);
    }
    sodium_memzero(mac, sizeof(mac));
    if (rc != 0) {
        return CNX_JWT_ESIG;
    }

    /* Claims. */
    nt = cnx_jwt_part(tok + d1 + 1, d2 - d1 - 1, json, t, 64);
    if (nt < 0) {
        return CNX_JWT_EFORMAT;
    }
    memset(&c, 0, sizeof(c));
    k = cnx_jwt_int_claim(json, t, nt, "exp", &c.exp);
    hi = cnx_jwt_int_claim(json, t, nt, "iat", &c.iat);
    rc = cnx_jwt_int_claim(json, t, nt, "nbf", &c.nbf);
    hs = cnx_jwt_str_claim(json, t, nt, "sub", c.sub);
    if (k < 0 || hi < 0 || rc < 0 || hs < 0) {
        return CNX_JWT_EFORMAT;
    }
    c.has_iat = hi == 1;
    c.has_nbf = rc == 1;
    rc = cnx_jwt_str_claim(json, t, nt, "iss", c.iss);
    if (rc < 0) {
        return CNX_JWT_EFORMAT;
    }
    c.has_iss = rc == 1;
    if (out != NULL) {
        *out = c;
    }

    leeway = want != NULL ? want->leeway : 0;
    if (leeway < 0) {
        leeway = 0;
    } else if (leeway > CNX_JWT_LEEWAY_MAX) {
        leeway = CNX_JWT_LEEWAY_MAX;
    }

    if (k != 1 || c.exp < now - leeway) {
        return CNX_JWT_EEXPIRED;
    }
    if ((c.has_nbf && c.nbf > now + leeway)
        || (c.has_iat && c.iat > now + leeway))
    {
        return CNX_JWT_ENOTYET;
    }
    if (want != NULL && want->max_lifetime > 0) {
        base = c.has_iat ? c.iat : now;
        /* unsigned: exp - base cannot overflow once exp > base */
        if (c.exp > base
            && (uint64_t) c.exp - (uint64_t) base
               > (uint64_t) want->max_lifetime)
        {
            return CNX_JWT_ELIFETIME;
        }
    }
    /* sub is a claw_id, which is never empty. */
    if (hs != 1 || c.sub[0] == '\0'
        || (want != NULL && want->sub != NULL
            && strcmp(c.sub, want->sub) != 0))
    {
        return CNX_JWT_ESUB;
    }
    if (want != NULL && want->iss != NULL
        && (!c.has_iss || strcmp(c.iss, want->iss) != 0))
    {
        return CNX_JWT_EISS;
    }
    return CNX_JWT_OK;
}

const char *
cnx_jwt_strerror(int err)
{
    switch (err) {
    case CNX_JWT_OK:        return "ok";
    case CNX_JWT_EFORMAT:   return "malformed token";
    case CNX_JWT_EALG:      return "algorithm not accepted (HS256 only)";
    case CNX_JWT_ESIG:      return "bad signature";
    case CNX_JWT_EEXPIRED:  return "token expired or without exp";
    case CNX_JWT_ELIFETIME: return "token lifetime longer than allowed";
    case CNX_JWT_ENOTYET:   return "token not yet valid";
    case CNX_JWT_ESUB:      return "subject does not match";
    case CNX_JWT_EISS:      return "issuer does not match";
    default:                return "unknown error";
    }
}

int
cnx_jwt_sign(char *out, size_t cap, const uint8_t *key, size_t keylen,
    const char *sub, const char *iss, int64_t iat, int64_t exp)
{
    char            claims[1024];
    cnx_json_buf_t  b;
    uint8_t         mac[32];
    size_t          hl, need;
    int             cl, pl, sl;

    if (out == NULL || key == NULL || keylen == 0 || sub == NULL
        || strlen(sub) > CNX_JWT_CLAIM_MAX
        || (iss != NULL && strlen(iss) > CNX_JWT_CLAIM_MAX))
    {
        return -1;
    }

    cnx_json_buf_init(&b, claims, sizeof(claims));
    cnx_json_buf_obj_open(&b);
    cnx_json_buf_key(&b, "sub");
    cnx_json_buf_cstr(&b, sub);
    if (iss != NULL) {
        cnx_json_buf_key(&b, "iss");
        cnx_json_buf_cstr(&b, iss);
    }
    cnx_json_buf_key(&b, "iat");
    cnx_json_buf_int(&b, iat);
    cnx_json_buf_key(&b, "exp");
    cnx_json_buf_int(&b, exp);
    cnx_json_buf_obj_close(&b);
    cl = cnx_json_buf_finish(&b);
    if (cl < 0) {
        return -1;
    }

    hl = sizeof(cnx_jwt_header_b64) - 1;
    need = hl + 1 + CNX_BASE64URL_ENCODED_LEN((size_t) cl) + 1 + 43;
    if (need > CNX_JWT_MAX_LEN || cap < need + 1) {
        return -1;
    }
    memcpy(out, cnx_jwt_header_b64, hl);
    out[hl] = '.';
    pl = cnx_base64url_encode(out + hl + 1, cap - hl - 1,
                              (const uint8_t *) claims, (size_t) cl);
    if (pl < 0) {
        return -1;
    }
    need = hl + 1 + (size_t) pl;
    cnx_jwt_mac(mac, key, keylen, out, need);
    out[need] = '.';
    sl = cnx_base64url_encode(out + need + 1, cap - need - 1, mac, 32);
    sodium_memzero(mac, sizeof(mac));
    if (sl != 43) {
        return -1;
    }
    return (int) (need + 1 + 43);
}
