/*
 * clawnexus-link: the registry client.  With --registry URL (or
 * edge.registry in the config) the endpoint does what the ClawNexus daemon
 * does: it registers its name with the registry (POST /register, signed
 * with this instance's Ed25519 key, ~/.clawnexus/edge/registry.key) and
 * fetches relay tokens from it (POST /token), so it never needs the relay
 * secret.  The first token is fetched before the event loop starts; a
 * thread of its own renews it before it expires (blocking HTTP there,
 * never in the loop), and the relay client takes the current one through
 * link_auth_set_source().
 */

#ifndef CNX_LINK_REGISTRY_H
#define CNX_LINK_REGISTRY_H

#include <stddef.h>

#include "auth.h"

typedef struct link_registry_s  link_registry_t;

/*
 * Register id at the registry url (http:// or https://, with an optional
 * path prefix) and fetch a first token; ca_file for https (NULL: the
 * system store).  name (cap bytes) receives the name the registry gave
 * (id with ".claw" appended unless it has it), hint (hcap bytes) the
 * relay's HOST[:PORT] from the registry ("" if none).  Starts the renewal
 * thread.  Returns NULL with one line printed and *code set to an exit
 * code on failure.
 */
link_registry_t *link_registry_start(const char *url, const char *id,
    const char *ca_file, char *name, size_t cap, char *hint, size_t hcap,
    int *code);

/* The token source for link_auth_set_source(): the current token. */
int link_registry_token(void *ud, const char *id, char *out, size_t cap);

/* Stop the renewal thread and wipe the token. */
void link_registry_stop(link_registry_t *r);

/* Print this instance's registry key as "ed25519:<hex>" (whoami). */
int cmd_whoami(int argc, char **argv);

#endif
