/*
 * clawnexus-link: where relay tokens come from.  The relay client asks
 * link_auth_token() for a current token at every REGISTER and JOIN; the
 * token comes from, in this order:
 *   - a token source plugged in with link_auth_set_source() (a registry
 *     client, say), when one is set;
 *   - a token file, re-read every time so an outside process may refresh
 *     it;
 *   - a shared secret, from which a short-lived HS256 token is minted.
 */

#ifndef CNX_LINK_AUTH_H
#define CNX_LINK_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define LINK_SECRET_MAX  4096
#define LINK_TOKEN_MAX   4096

/*
 * A token source: writes a NUL-terminated token for claw id into out
 * (cap bytes) and returns 0, or prints one line naming what failed and
 * returns -1.  Must not block for long: it runs inside the event loop.
 */
typedef int (*link_token_source_fn)(void *ud, const char *id, char *out,
    size_t cap);

typedef struct {
    const char           *token_file;   /* NULL unless a token file */
    uint8_t               secret[LINK_SECRET_MAX];
    size_t                secret_len;
    char                  issuer[256];  /* "" = no iss claim */
    long                  ttl;          /* seconds */
    int                   warned;       /* permissions warning given */
    link_token_source_fn  source;       /* NULL = file or secret */
    void                 *source_ud;
} link_auth_t;

/*
 * Set up from the flags: at most one of token_file / secret_file (both is
 * a usage error, see link_auth_init_code()).  Reads and checks the file
 * now.  Prints one line and returns -1 on error.
 */
int link_auth_init(link_auth_t *a, const char *token_file,
    const char *secret_file, const char *issuer, long ttl);

/* As link_auth_init(), returning 0 or an exit code (LINK_EXIT_USAGE when
 * both or neither file is given, LINK_EXIT_FILE for a bad file). */
int link_auth_init_code(link_auth_t *a, const char *token_file,
    const char *secret_file, const char *issuer, long ttl);

/* Use fn for every token from now on (fn NULL: back to file/secret). */
void link_auth_set_source(link_auth_t *a, link_token_source_fn fn, void *ud);

/* A token for claw id into out (NUL-terminated); 0 or -1 (line printed). */
int link_auth_token(link_auth_t *a, const char *id, char *out, size_t cap);

/* Wipe the secret. */
void link_auth_wipe(link_auth_t *a);

/* 1 if id is a usable claw id (1..255 printable bytes, no spaces). */
int link_id_valid(const char *id);

/*
 * The form under which a peer's key is pinned: a name without a dot is
 * NAME.claw ("office" and "office.claw" are one peer).  Names on the relay
 * stay as given.  Writes to out (cap bytes); -1 if it does not fit.
 */
int link_name_canon(const char *name, char *out, size_t cap);

#endif
