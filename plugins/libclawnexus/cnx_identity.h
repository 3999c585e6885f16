/*
 * cnx_identity: this instance's static X25519 key, its Ed25519 registry
 * key, and the pins of peers.
 *
 * Key file (default ~/.clawnexus/edge/static.key): one line, the base64 of
 * the 32-byte private key.  Created on first use with mode 0600 (written to
 * a temporary file opened O_CREAT|O_EXCL, then renamed); a key file that
 * group or others can read is refused.
 *
 * Pin store (default ~/.clawnexus/edge/known_peers): lines "NAME BASE64KEY",
 * '#' comments; rewritten atomically with mode 0600.
 *
 * Functions return 0 or -1 and write one line naming the file and the
 * problem into err (errlen bytes) when err is not NULL.
 */

#ifndef CNX_IDENTITY_H
#define CNX_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#define CNX_FINGERPRINT_LEN  51     /* "SHA256:" + 43 base64 chars + NUL */

/* Default paths under $HOME (or the password database). */
int cnx_identity_default_dir(char *out, size_t outcap);
int cnx_identity_default_key(char *out, size_t outcap);
int cnx_identity_default_pins(char *out, size_t outcap);

/* Load the key at path, creating it (and its directory, 0700) if absent. */
int cnx_identity_load(const char *path, uint8_t sk[32], uint8_t pk[32],
    char *err, size_t errlen);

/*
 * This instance's Ed25519 signing key for the registry (default
 * ~/.clawnexus/edge/registry.key): the same file format, holding the
 * 32-byte seed; sk is libsodium's 64-byte secret key.
 */
int cnx_identity_default_signing(char *out, size_t outcap);
int cnx_identity_load_signing(const char *path, uint8_t sk[64],
    uint8_t pk[32], char *err, size_t errlen);

/* "SHA256:" + unpadded base64 of SHA-256(pk). */
void cnx_identity_fingerprint(char out[CNX_FINGERPRINT_LEN],
    const uint8_t pk[32]);

/* Return values of cnx_pins_check. */
#define CNX_PIN_MATCH      0    /* pinned and equal */
#define CNX_PIN_NEW        1    /* unknown name; pinned now (tofu != 0) */
#define CNX_PIN_UNKNOWN    2    /* unknown name; not pinned (tofu == 0) */
#define CNX_PIN_MISMATCH (-2)   /* pinned to another key: err shows both
                                   fingerprints */

/* Look name up: 1 found (pk filled), 0 not found, -1 error.  A missing
 * file is "not found". */
int cnx_pins_lookup(const char *path, const char *name, uint8_t pk[32],
    char *err, size_t errlen);
/* Add or replace the pin of name (atomic rewrite, 0600). */
int cnx_pins_set(const char *path, const char *name, const uint8_t pk[32],
    char *err, size_t errlen);
/* Remove the pin of name: 1 removed, 0 there was none, -1 error. */
int cnx_pins_remove(const char *path, const char *name, char *err,
    size_t errlen);

/* Call fn for every valid pin, in file order; returns the count (0 when
 * the file is absent) or -1. */
typedef void (*cnx_pins_each_fn)(void *ud, const char *name,
    const uint8_t pk[32]);
int cnx_pins_list(const char *path, cnx_pins_each_fn fn, void *ud,
    char *err, size_t errlen);

/* Compare pk with the pin of name; trust on first use when tofu != 0. */
int cnx_pins_check(const char *path, const char *name, const uint8_t pk[32],
    int tofu, char *err, size_t errlen);

#endif
