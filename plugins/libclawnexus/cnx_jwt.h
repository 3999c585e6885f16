/*
 * HS256 JSON Web Tokens (RFC 7519 / RFC 7515 compact form), as the
 * ClawNexus registry mints them for the relay: header
 * {"alg":"HS256","typ":"JWT"}, claims sub (= claw_id), iss, iat, exp.
 * Only HS256 is accepted; the MAC is compared in constant time.
 */

#ifndef CNX_JWT_H
#define CNX_JWT_H

#include <stddef.h>
#include <stdint.h>

#define CNX_JWT_MAX_LEN    4096    /* longer tokens are EFORMAT */
#define CNX_JWT_CLAIM_MAX  255     /* sub / iss longer than this: EFORMAT */

#define CNX_JWT_OK          0
#define CNX_JWT_EFORMAT   (-1)  /* not three base64url parts of JSON
                                   objects, bad claim types, too long */
#define CNX_JWT_EALG      (-2)  /* alg is not exactly "HS256" (none,
                                   HS512, RS256, missing...), crit present,
                                   or typ present and not "JWT" or "jwt" */
#define CNX_JWT_ESIG      (-3)  /* signature mismatch */
#define CNX_JWT_EEXPIRED  (-4)  /* exp missing, or now > exp + leeway */
#define CNX_JWT_ENOTYET   (-5)  /* nbf > now + leeway, or iat > now + leeway */
#define CNX_JWT_ESUB      (-6)  /* sub missing, empty or unexpected */
#define CNX_JWT_EISS      (-7)  /* iss missing or not the expected one */
#define CNX_JWT_ELIFETIME (-8)  /* valid for longer than max_lifetime */

typedef struct {
    const char  *sub;     /* required sub (NUL-terminated); NULL = any,
                             but a string sub must still be present */
    const char  *iss;     /* required iss; NULL = not checked */
    int64_t      leeway;  /* seconds of clock skew tolerated */
    int64_t      max_lifetime;  /* seconds; 0 = not checked.  The
                                   lifetime is exp - iat, or exp - now
                                   when there is no iat: a token minted
                                   for longer is refused even while
                                   fresh */
    const uint8_t *prev_key;    /* a second key whose signatures are also
                                   valid: the secret being rotated out
                                   (NULL = none) */
    size_t       prev_keylen;
} cnx_jwt_expect_t;

typedef struct {
    char         sub[CNX_JWT_CLAIM_MAX + 1];   /* decoded, NUL-terminated */
    char         iss[CNX_JWT_CLAIM_MAX + 1];   /* "" when absent */
    int64_t      iat;                          /* 0 when absent */
    int64_t      exp;
    int64_t      nbf;                          /* 0 when absent */
    unsigned     has_iss:1;
    unsigned     has_iat:1;
    unsigned     has_nbf:1;
} cnx_jwt_claims_t;

/*
 * Verify tok[0..len) with key (or want->prev_key) and check its claims
 * against want at time now (Unix seconds).  Order: format, alg, signature, then exp, nbf/iat,
 * lifetime, sub, iss; the first failure is returned.  Time claims must be integers.
 * out may be NULL; it is filled once the signature is valid (so a
 * caller can log the sub of an expired token).
 * Returns CNX_JWT_OK or a CNX_JWT_E* code.
 */
int cnx_jwt_verify(const char *tok, size_t len, const uint8_t *key,
    size_t keylen, const cnx_jwt_expect_t *want, int64_t now,
    cnx_jwt_claims_t *out);

/* A short English text for a CNX_JWT_* code ("bad signature", ...). */
const char *cnx_jwt_strerror(int err);

/*
 * Mint a token: header {"alg":"HS256","typ":"JWT"}, claims
 * {"sub":...,"iss":... (omitted when iss is NULL),"iat":...,"exp":...}.
 * Writes a NUL-terminated token and returns its length, or -1 if cap is
 * too small or the result would exceed CNX_JWT_MAX_LEN.
 */
int cnx_jwt_sign(char *out, size_t cap, const uint8_t *key, size_t keylen,
    const char *sub, const char *iss, int64_t iat, int64_t exp);

#endif
