/*
 * Fuzz target: the registry's request parser and reply readers
 * (cnx_registry.h).
 *
 * Input: a request body as a client sends it to POST /register or /token.
 * Checks: the result is one of the documented codes; an accepted request
 * has a payload slice inside the body that is a JSON object, a claw_id
 * the relay accepts, and a name of at most 255 bytes when one is derived;
 * the signature check never accepts the fuzzer's bytes unless they carry
 * the harness key's real signature (made here for bit-0 inputs).  The
 * same bytes also go through the client's reply readers.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cnx_registry.h"
#include "cnx_relay_msg.h"

static uint8_t  pk[32], sk[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    uint8_t  seed[32];

    (void) argc;
    (void) argv;

    if (sodium_init() < 0) {
        abort();
    }
    memset(seed, 7, sizeof(seed));
    crypto_sign_seed_keypair(pk, sk, seed);
    return 0;
}

static void
check_request(const char *body, size_t n, int signed_by_us)
{
    cnx_reg_req_t  req;
    char           name[CNX_REG_NAME_MAX + 1];
    int            rc, len;

    rc = cnx_reg_parse(body, n, &req);
    if (rc != CNX_REG_OK && rc != CNX_REG_EJSON && rc != CNX_REG_EFIELD
        && rc != CNX_REG_ECLAW_ID && rc != CNX_REG_ETOOBIG)
    {
        abort();
    }
    if (cnx_reg_status(rc) < 200 || cnx_reg_strerror(rc) == NULL) {
        abort();
    }
    if (rc != CNX_REG_OK) {
        return;
    }
    if (req.payload.p < body || req.payload.p + req.payload.len > body + n
        || req.payload.p[0] != '{'
        || req.payload.p[req.payload.len - 1] != '}')
    {
        abort();
    }
    if (!cnx_relay_claw_id_valid(req.claw_id, req.claw_id_len)
        || strlen(req.claw_id) != req.claw_id_len)
    {
        abort();
    }
    len = cnx_reg_name(name, sizeof(name), req.claw_id, req.claw_id_len);
    if (len > CNX_REG_NAME_MAX
        || (len >= 0 && !cnx_relay_claw_id_valid(name, len)))
    {
        abort();
    }
    rc = cnx_reg_verify(&req);
    if (signed_by_us && memcmp(req.pubkey, pk, 32) == 0 && rc != CNX_REG_OK)
    {
        abort();
    }
    if (!signed_by_us && rc == CNX_REG_OK && memcmp(req.pubkey, pk, 32) == 0)
    {
        /* a fuzzer-made signature for our key would be a forgery */
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char     *buf, body[CNX_REG_BODY_MAX + 256], tok[512], hint[300],
              err[128];
    int64_t   ttl;
    int       n;

    if (size > CNX_REG_BODY_MAX + 16) {
        return 0;
    }
    buf = malloc(size ? size : 1);
    memcpy(buf, data, size);

    check_request(buf, size, 0);

    /* the same bytes as a payload, signed by the harness key */
    n = cnx_reg_build_request(body, sizeof(body), buf, size, sk);
    if (n > 0) {
        check_request(body, (size_t) n, 1);
    }

    (void) cnx_reg_parse_token_reply(buf, size, tok, sizeof(tok), hint,
                                     sizeof(hint), &ttl, err, sizeof(err));
    (void) cnx_reg_parse_register_reply(buf, size, tok, sizeof(tok), err,
                                        sizeof(err));
    free(buf);
    return 0;
}
