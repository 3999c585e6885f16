/*
 * clawnexus-link: ~/.clawnexus/config.json.
 *
 *   {
 *     "relay": { "url": "wss://relay.example/relay", "enabled": true },
 *     "edge": {
 *       "id": "home.claw",
 *       "token_file": "...", "secret_file": "...", "issuer": "...",
 *       "ca_file": "...",            CA bundle for wss:// (default: system)
 *       "export_file": "...",        clawnexus-wg export JSON
 *                                    ("names_file": older name)
 *       "tailscale": true,           ask `tailscale status` too
 *       "registry": "https://...",   registry for names and relay tokens
 *       "peers": {
 *         "office.claw": { "direct": "10.7.0.2:7473",
 *                          "cross_network": false,
 *                          "key": "SHA256:..." }     its fingerprint
 *       }
 *     }
 *   }
 *
 * "relay" is the section ClawNexus documents; "edge" holds our keys.
 * Every key is optional; command-line flags override the file.
 */

#ifndef CNX_LINK_CONFIG_H
#define CNX_LINK_CONFIG_H

#include <stddef.h>

#define LINK_CFG_STR   512
#define LINK_CFG_PEERS 64
#define LINK_CFG_WARN  8

typedef struct {
    char name[256];
    char direct[LINK_CFG_STR];      /* "" if none */
    int  cross_network;
    char key[64];                   /* "SHA256:..." configured, or "" */
} link_peer_cfg_t;

typedef struct link_config_s {
    char            relay_url[LINK_CFG_STR];
    int             relay_enabled;  /* default 1 */
    char            id[256];
    char            token_file[LINK_CFG_STR];
    char            secret_file[LINK_CFG_STR];
    char            issuer[LINK_CFG_STR];
    char            ca_file[LINK_CFG_STR];
    char            export_file[LINK_CFG_STR];
    int             tailscale;      /* default 1 */
    char            registry[LINK_CFG_STR]; /* registry URL, "" = none */
    link_peer_cfg_t peers[LINK_CFG_PEERS];
    size_t          npeers;
    /* "LINE:COL: unknown key ..." for keys of our sections we do not know */
    char            warn[LINK_CFG_WARN][192];
    size_t          nwarn;
} link_config_t;

/*
 * Parse config text (pure, for tests).  On error returns -1 and writes
 * "LINE:COLUMN: reason" to why (why may be NULL).  Unknown keys in "edge"
 * and in a peer are not errors: they are listed in cfg->warn.
 */
int link_config_parse(link_config_t *cfg, const char *text, size_t len,
    char *why, size_t whycap);

/*
 * Load path, or ~/.clawnexus/config.json when path is NULL (a missing
 * default file is fine: defaults).  Prints one line naming the file on
 * error and returns -1.
 */
int link_config_load(link_config_t *cfg, const char *path);

/* The peer entry for name (also tried with/without ".claw"), or NULL. */
const link_peer_cfg_t *link_config_peer(const link_config_t *cfg,
    const char *name);

#endif
