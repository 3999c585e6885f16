/*
 * clawnexus-link: the options shared by chat, serve and connect, merged
 * with ~/.clawnexus/config.json (flags win).
 */

#ifndef CNX_LINK_COMMON_H
#define CNX_LINK_COMMON_H

#include <getopt.h>

#include "auth.h"
#include "chan.h"
#include "link_config.h"
#include "loop.h"
#include "net.h"
#include "relay_client.h"

typedef struct {
    const char   *relay;
    const char   *id;
    const char   *token_file;
    const char   *secret_file;
    const char   *issuer;
    const char   *session;
    const char   *config;
    const char   *ca_file;
    const char   *export_file;  /* NULL: the default export, if present */
    int           no_binary;
    int           no_tailscale;
    int           ca_from_cfg;   /* ca_file came from edge.ca_file */
    const char   *registry;      /* --registry URL */
    struct link_registry_s *reg; /* its client, when used */
    char          reg_name[256]; /* the name the registry gave */
    char          reg_hint[300]; /* its relay_hint */
    char          reg_relay[320]; /* wss://HINT/relay */

    link_config_t cfg;
    link_url_t    url;
    link_auth_t   auth;
    link_sec_t    sec;
} link_common_t;

/* getopt_long entries for the shared flags (values 0x100 + n). */
#define LINK_COMMON_OPTS \
    { "relay",       required_argument, NULL, 0x101 }, \
    { "id",          required_argument, NULL, 0x102 }, \
    { "token-file",  required_argument, NULL, 0x103 }, \
    { "secret-file", required_argument, NULL, 0x104 }, \
    { "issuer",      required_argument, NULL, 0x105 }, \
    { "session",     required_argument, NULL, 0x106 }, \
    { "config",      required_argument, NULL, 0x107 }, \
    { "ca-file",     required_argument, NULL, 0x108 }, \
    { "export-file", required_argument, NULL, 0x109 }, \
    { "no-binary",   no_argument,       NULL, 0x10a }, \
    { "names-file",  required_argument, NULL, 0x10b }, \
    { "no-tailscale", no_argument,      NULL, 0x10c }, \
    { "registry",    required_argument, NULL, 0x10d }

#define LINK_COMMON_HELP \
    "  --relay URL         relay WebSocket URL, ws:// or wss:// (config:\n" \
    "                      relay.url); a URL without a path gets /relay\n" \
    "  --id CLAW_ID        our name on the relay (config: edge.id)\n" \
    "  --token-file F      file holding a relay token (JWT), re-read at\n" \
    "                      every REGISTER/JOIN\n" \
    "  --secret-file F     shared relay secret: mint 5-minute tokens\n" \
    "  --registry URL      register --id with this registry and take relay\n" \
    "                      tokens from it (config: edge.registry)\n" \
    "  --issuer ISS        iss claim of minted tokens\n" \
    "  --session MODE      v1, v2 or auto (default auto: v2 when the peer\n" \
    "                      offers it, else v1 unless its key is pinned)\n" \
    "  --config FILE       configuration (default ~/.clawnexus/config.json)\n" \
    "  --ca-file F         CA certificates for wss:// (default: system)\n" \
    "  --no-binary         do not ask the relay for binary DATA frames\n"

/* Handle one shared option; 1 if it was one, 0 if not, -1 on error. */
int link_common_opt(link_common_t *o, int c, const char *arg);

/*
 * Load the config, apply defaults, check the URL and id, set up tokens
 * and keys.  need_relay: the relay URL is mandatory.  Returns 0 or an exit
 * code (one line already printed).
 */
int link_common_setup(link_common_t *o, int need_relay);

void link_common_wipe(link_common_t *o);

/* Relay client settings from the shared options (after setup). */
void link_common_relay_cfg(link_common_t *o, link_relay_cfg_t *rc,
    int reconnect);

/* One line for a relay ERROR naming the relay, our id and the target
 * (NULL when there is none). */
void link_common_relay_error(const link_common_t *o, const char *target,
    const char *code, const char *message);

/* SIGINT and SIGTERM end the loop with LINK_EXIT_OK (polled every 200 ms:
 * a signal handler may only set a flag). */
void link_common_stop_on_signals(link_loop_t *l);

#endif
