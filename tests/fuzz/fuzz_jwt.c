/*
 * Fuzz target: HS256 JWT verification (cnx_jwt.h).
 *
 * Input: one control byte, then
 *   bit 0 = 0   a whole token, verified as the relay does at REGISTER;
 *   bit 0 = 1   a claims object (JSON text) that the harness signs
 *               correctly with the relay key under a header chosen by
 *               bits 1-2, so the claim checks after the signature are
 *               reached too.
 * Checks: the result is one of the documented codes; an accepted token
 * has a sub and unexpired times; any one changed character of an
 * accepted token makes it fail; a token minted by cnx_jwt_sign() for an
 * input-derived sub verifies with exactly that sub.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cnx_base64.h"
#include "cnx_jwt.h"

#define NOW  1767225600         /* 2026-01-01T00:00:00Z */

static const uint8_t key[] = "fuzz-relay-secret-0123456789abcdef";

static const char *headers[4] = {
    "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
    "{\"alg\":\"HS256\"}",
    "{\"alg\":\"none\",\"typ\":\"JWT\"}",
    "{\"typ\":\"JWT\",\"alg\":\"HS512\"}",
};

static int
verify(const char *tok, size_t len, const char *sub, cnx_jwt_claims_t *c)
{
    cnx_jwt_expect_t want = {
        .sub = sub, .iss = "clawnexus-registry.test", .leeway = 60
    };
    int              rc;

    rc = cnx_jwt_verify(tok, len, key, sizeof(key) - 1, &want, NOW, c);
    if (rc > 0 || rc < CNX_JWT_EISS || cnx_jwt_strerror(rc) == NULL) {
        abort();
    }
    return rc;
}

/* header.claims.signature with a correct HMAC-SHA256. */
static char *
sign_raw(const char *hdr, const uint8_t *claims, size_t n, size_t *len)
{
    size_t  hl = CNX_BASE64URL_ENCODED_LEN(strlen(hdr));
    size_t  cl = CNX_BASE64URL_ENCODED_LEN(n);
    size_t  cap = hl + cl + 2 + CNX_BASE64URL_ENCODED_LEN(32) + 1;
    uint8_t mac[32];
    char   *t = malloc(cap);
    int     a, b, s;

    if (t == NULL) {
        abort();
    }
    a = cnx_base64url_encode(t, cap, (const uint8_t *) hdr, strlen(hdr));
    t[a] = '.';
    b = cnx_base64url_encode(t + a + 1, cap - a - 1, claims, n);
    if (a < 0 || b < 0) {
        abort();
    }
    {
        crypto_auth_hmacsha256_state st;

        crypto_auth_hmacsha256_init(&st, key, sizeof(key) - 1);
        crypto_auth_hmacsha256_update(&st, (const uint8_t *) t,
            (size_t) a + 1 + b);
        crypto_auth_hmacsha256_final(&st, mac);
    }
    t[a + 1 + b] = '.';
    s = cnx_base64url_encode(t + a + b + 2, cap - a - b - 2, mac, 32);
    if (s < 0) {
        abort();
    }
    *len = (size_t) a + b + 2 + s;
    return t;
}

static void
check_accepted(char *tok, size_t len, const cnx_jwt_claims_t *c,
    unsigned where)
{
    size_t  i;
    char    old;

    if (c->sub[0] == '\0' || c->exp + 60 < NOW || c->nbf > NOW + 60
        || c->iat > NOW + 60
        || strcmp(c->iss, "clawnexus-registry.test") != 0)
    {
        abort();
    }
    if (len == 0) {
        abort();
    }
    i = where % len;
    old = tok[i];
    tok[i] = (char) (old == 'A' ? 'B' : 'A');
    if (verify(tok, len, NULL, NULL) == CNX_JWT_OK) {
        abort();
    }
    tok[i] = old;
}

static void
check_minted(const uint8_t *p, size_t n)
{
    cnx_jwt_claims_t  c;
    char              sub[64], tok[1024];
    size_t            i, sn = n < 40 ? n : 40;
    int               len;

    /* A claw_id-like sub: printable ASCII, quotes and backslashes too. */
    for (i = 0; i < sn; i++) {
        sub[i] = (char) (0x20 + p[i] % 95);
    }
    sub[sn] = '\0';
    if (sn == 0) {
        strcpy(sub, "office");
    }
    len = cnx_jwt_sign(tok, sizeof(tok), key, sizeof(key) - 1, sub,
        "clawnexus-registry.test", NOW - 10, NOW + 3300);
    if (len <= 0) {
        abort();
    }
    if (verify(tok, (size_t) len, sub, &c) != CNX_JWT_OK
        || strcmp(c.sub, sub) != 0 || c.exp != NOW + 3300
        || c.iat != NOW - 10)
    {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cnx_jwt_claims_t  c;
    unsigned          ctl;
    size_t            len;
    char             *tok;

    if (size < 1) {
        return 0;
    }
    ctl = data[0];
    data++;
    size--;

    if (ctl & 1) {
        tok = sign_raw(headers[(ctl >> 1) & 3], data, size, &len);
    } else {
        tok = malloc(size ? size : 1);
        if (tok == NULL) {
            return 0;
        }
        memcpy(tok, data, size);
        len = size;
    }
    memset(&c, 0, sizeof(c));
    if (verify(tok, len, NULL, &c) == CNX_JWT_OK) {
        check_accepted(tok, len, &c, ctl);
    }
    free(tok);
    check_minted(data, size);
    return 0;
}
