/*
 * clawnexus-link: relay tokens from a token file, a shared secret or a
 * plugged-in source (see auth.h).
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "auth.h"
#include "cnx_jwt.h"
#include "link.h"

int
link_auth_init_code(link_auth_t *a, const char *token_file,
    const char *secret_file, const char *issuer, long ttl)
{
    char   buf[LINK_SECRET_MAX + 1];
    size_t len;

    memset(a, 0, sizeof(*a));
    a->ttl = ttl > 0 ? ttl : 300;
    if (issuer != NULL) {
        if (strlen(issuer) >= sizeof(a->issuer)) {
            link_err("--issuer: '%.40s...' is too long (at most %zu bytes)",
                     issuer, sizeof(a->issuer) - 1);
            return LINK_EXIT_USAGE;
        }
        strcpy(a->issuer, issuer);
    }
    if ((token_file == NULL) == (secret_file == NULL)) {
        link_err("give exactly one of --token-file and --secret-file "
                 "(edge.token_file / edge.secret_file)");
        return LINK_EXIT_USAGE;
    }
    if (token_file != NULL) {
        char tok[LINK_TOKEN_MAX];
        int  rc;

        a->token_file = token_file;
        /* check it now so that a bad file fails at start */
        rc = link_auth_token(a, "", tok, sizeof(tok));
        sodium_memzero(tok, sizeof(tok));
        return rc == 0 ? 0 : LINK_EXIT_FILE;
    }
    if (link_read_file(secret_file, buf, sizeof(buf), &len, 1, 1) != 0) {
        sodium_memzero(buf, sizeof(buf));
        return LINK_EXIT_FILE;
    }
    if (len == 0) {
        link_err("secret file %s is empty", secret_file);
        return LINK_EXIT_FILE;
    }
    memcpy(a->secret, buf, len);
    a->secret_len = len;
    sodium_memzero(buf, sizeof(buf));
    return 0;
}

int
link_auth_init(link_auth_t *a, const char *token_file,
    const char *secret_file, const char *issuer, long ttl)
{
    return link_auth_init_code(a, token_file, secret_file, issuer, ttl) == 0
           ? 0 : -1;
}

void
link_auth_set_source(link_auth_t *a, link_token_source_fn fn, void *ud)
{
    a->source = fn;
    a->source_ud = ud;
}

static int
token_from_file(link_auth_t *a, char *out, size_t cap)
{
    size_t len, i;

    /* warn about loose permissions once, not at every REGISTER */
    if (link_read_file(a->token_file, out, cap, &len, !a->warned, 1) != 0) {
        return -1;
    }
    a->warned = 1;
    for (i = 0; i < len; i++) {
        if ((unsigned char) out[i] <= ' ' || out[i] == 0x7f) {
            link_err("token file %s does not hold one token",
                     a->token_file);
            return -1;
        }
    }
    if (len == 0) {
        link_err("token file %s is empty", a->token_file);
        return -1;
    }
    return 0;
}

int
link_auth_token(link_auth_t *a, const char *id, char *out, size_t cap)
{
    int64_t now;

    if (a->source != NULL) {
        return a->source(a->source_ud, id, out, cap);
    }
    if (a->token_file != NULL) {
        return token_from_file(a, out, cap);
    }
    now = (int64_t) time(NULL);
    if (cnx_jwt_sign(out, cap, a->secret, a->secret_len, id,
                     a->issuer[0] ? a->issuer : NULL, now, now + a->ttl) < 0)
    {
        link_err("cannot mint a token for '%s'", id);
        return -1;
    }
    return 0;
}

void
link_auth_wipe(link_auth_t *a)
{
    sodium_memzero(a->secret, sizeof(a->secret));
    a->secret_len = 0;
}

int
link_name_canon(const char *name, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%s", name,
                     strchr(name, '.') == NULL ? ".claw" : "");

    return n < 0 || (size_t) n >= cap ? -1 : 0;
}

int
link_id_valid(const char *id)
{
    size_t i, n = strlen(id);

    if (n == 0 || n > 255) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char) id[i];

        if (c <= ' ' || c == 0x7f || c == '"' || c == '\\') {
            return 0;
        }
    }
    return 1;
}
