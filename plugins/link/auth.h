/*
 * clawnexus-link: where relay tokens come from, either a token file
 * (re-read every time, so an outside process may refresh it) or a shared
 * secret from which a short-lived HS256 token is minted per use.
 */

#ifndef CNX_LINK_AUTH_H
#define CNX_LINK_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define LINK_SECRET_MAX  4096
#define LINK_TOKEN_MAX   4096

typedef struct {
    const char *token_file;     /* NULL when minting */
    uint8_t     secret[LINK_SECRET_MAX];
    size_t      secret_len;
    char        issuer[256];    /* "" = no iss claim */
    long        ttl;            /* seconds */
    int         warned;         /* permissions warning given */
} link_auth_t;

/*
 * Set up from the flags (exactly one of token_file / secret_file).  Reads
 * and checks the secret now.  Prints one line and returns -1 on error.
 */
int link_auth_init(link_auth_t *a, const char *token_file,
    const char *secret_file, const char *issuer, long ttl);

/* A token for claw id into out (NUL-terminated); 0 or -1 (line printed). */
int link_auth_token(link_auth_t *a, const char *id, char *out, size_t cap);

/* Wipe the secret. */
void link_auth_wipe(link_auth_t *a);

/* 1 if id is a usable claw id (1..255 printable bytes, no spaces). */
int link_id_valid(const char *id);

#endif
