/*
 * The ClawNexus registry protocol as the clawnexus 0.4.0 daemon speaks it,
 * both sides: the server (ngx_http_clawnexus_registry_module) and the
 * client (clawnexus-link --registry).
 *
 * Every POST body is {"payload":{...},"pubkey":"ed25519:<64 hex>",
 * "signature":"<base64 of 64 bytes>"}, the signature an Ed25519 signature
 * over the raw text of the payload member exactly as it appears in the
 * body (the daemon builds both with JSON.stringify, so the server checks
 * that substring and never re-serializes).
 *
 *   POST /register {claw_id, ...}  -> {"action","record":{"name",...}}
 *   POST /token    {claw_id: NAME} -> {"token","relay_hint","expires_in"}
 *   GET  /resolve/NAME             -> {"record":{"name","clawId",...}}
 *   errors                         -> {"error":"..."}
 *
 * A registered name is the requested claw_id with ".claw" appended (kept
 * as is when it already ends in ".claw") and must be a claw_id the relay
 * accepts (cnx_relay_claw_id_valid()).
 *
 * Also here: the fixed-size rate limiter the registry applies per key and
 * per address (pure; the caller puts it in shared memory and locks it).
 */

#ifndef CNX_REGISTRY_H
#define CNX_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "cnx_json.h"
#include "cnx_relay_msg.h"

#define CNX_REG_KEY_LEN      32
#define CNX_REG_SIG_LEN      64
#define CNX_REG_SK_LEN       64      /* libsodium's Ed25519 secret key */
#define CNX_REG_PUBKEY_TEXT  72      /* "ed25519:" + 64 hex */
#define CNX_REG_NAME_MAX     CNX_RELAY_CLAW_ID_MAX
#define CNX_REG_BODY_MAX     16384   /* larger request bodies: 413 */
#define CNX_REG_SUFFIX       ".claw"

/* Results of cnx_reg_parse(); each maps to an HTTP status. */
#define CNX_REG_OK            0
#define CNX_REG_EJSON       (-1)    /* 400: not a JSON object */
#define CNX_REG_EFIELD      (-2)    /* 400: payload/pubkey/signature missing
                                       or of the wrong form */
#define CNX_REG_ECLAW_ID    (-3)    /* 400: claw_id missing or not a name
                                       the relay would accept */
#define CNX_REG_ETOOBIG     (-4)    /* 413 */
#define CNX_REG_ESIG        (-5)    /* 401: signature does not verify */

typedef struct {
    cnx_slice_t  payload;                      /* raw text, points into
                                                  the body */
    uint8_t      pubkey[CNX_REG_KEY_LEN];
    uint8_t      sig[CNX_REG_SIG_LEN];
    char         claw_id[CNX_REG_NAME_MAX + 1]; /* decoded, NUL-terminated */
    size_t       claw_id_len;
} cnx_reg_req_t;

/*
 * Parse a request body: the envelope and payload.claw_id (a string of
 * 1..255 bytes the relay accepts).  Does not verify the signature.
 * Returns CNX_REG_OK or a negative CNX_REG_E* code.
 */
int cnx_reg_parse(const char *body, size_t len, cnx_reg_req_t *req);

/* CNX_REG_OK if req->sig is req->pubkey's signature of the payload text. */
int cnx_reg_verify(const cnx_reg_req_t *req);

/* An English text for a CNX_REG_E* code, and the HTTP status it means. */
const char *cnx_reg_strerror(int err);
int cnx_reg_status(int err);

/*
 * The name /register gives claw_id: claw_id + ".claw" unless it already
 * ends in ".claw".  Writes a NUL-terminated name; returns its length, or
 * -1 if the result is not a claw_id the relay accepts.
 */
int cnx_reg_name(char *out, size_t cap, const char *claw_id, size_t n);

/* "ed25519:<64 lowercase hex>" <-> 32 bytes.  Parsing also takes
 * upper-case hex.  format writes CNX_REG_PUBKEY_TEXT chars and a NUL. */
int cnx_reg_pubkey_parse(uint8_t key[CNX_REG_KEY_LEN], const char *s,
    size_t n);
void cnx_reg_pubkey_format(char out[CNX_REG_PUBKEY_TEXT + 1],
    const uint8_t key[CNX_REG_KEY_LEN]);

/* Response bodies.  Each returns the length written or -1 if cap is too
 * small. */
int cnx_reg_build_error(char *out, size_t cap, const char *msg);
int cnx_reg_build_register(char *out, size_t cap, int created,
    const char *name, const char *claw_id,
    const uint8_t pubkey[CNX_REG_KEY_LEN], const char *relay_hint,
    int64_t registered_at, int64_t updated_at);
int cnx_reg_build_token(char *out, size_t cap, const char *token,
    const char *relay_hint, int64_t expires_in);
int cnx_reg_build_resolve(char *out, size_t cap, const char *name,
    const uint8_t pubkey[CNX_REG_KEY_LEN], const char *relay_hint,
    int64_t registered_at, int64_t updated_at);


/* Client side (clawnexus-link). */

/*
 * Sign payload[0..n) (the text of one JSON object, from '{' to '}') with
 * the Ed25519 secret key sk and write the request body.  Returns its
 * length or -1.
 */
int cnx_reg_build_request(char *out, size_t cap, const char *payload,
    size_t n, const uint8_t sk[CNX_REG_SK_LEN]);

/*
 * Read a reply body.  A reply with an "error" member returns -1 with the
 * error text copied into err (may be NULL).  register: the record's name;
 * token: the token, relay_hint ("" when absent) and expires_in (0 when
 * absent).  Strings are NUL-terminated; -1 also when one does not fit.
 */
int cnx_reg_parse_register_reply(const char *buf, size_t len,
    char *name, size_t name_cap, char *err, size_t err_cap);
int cnx_reg_parse_token_reply(const char *buf, size_t len,
    char *token, size_t token_cap, char *hint, size_t hint_cap,
    int64_t *expires_in, char *err, size_t err_cap);


/*
 * Rate limiter: a fixed table of token buckets indexed by a keyed hash of
 * the caller's key bytes (an address or a public key).  Memory is fixed
 * whatever clients send; two keys that share a slot share a bucket (a
 * client can only make another one slower, never faster), and the
 * SipHash key keeps a client from choosing whose slot it lands in.
 */
typedef struct {
    uint64_t     tag;         /* hash of the key, 0 = free */
    int64_t      last_ms;
    uint32_t     milli_tokens;
    uint32_t     reserved;
} cnx_reg_bucket_t;

typedef struct {
    uint8_t           hash_key[16];
    uint32_t          nslots;
    uint32_t          per_minute;       /* refill rate; also the burst */
    cnx_reg_bucket_t  slot[];
} cnx_reg_limit_t;

/* Bytes a table of nslots needs. */
size_t cnx_reg_limit_size(uint32_t nslots);

/* Set up a table in mem (cnx_reg_limit_size(nslots) bytes). */
void cnx_reg_limit_init(cnx_reg_limit_t *l, uint32_t nslots,
    uint32_t per_minute);

/* 1 if a request of key[0..n) at now_ms is within the limit (and
 * counted), 0 if it is over.  per_minute 0 means no limit. */
int cnx_reg_limit_take(cnx_reg_limit_t *l, const void *key, size_t n,
    int64_t now_ms);

#endif
