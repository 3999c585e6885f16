/*
 * clawnexus-link: shared options of chat, serve and connect.
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "link.h"
#include "registry.h"

int
link_common_opt(link_common_t *o, int c, const char *arg)
{
    switch (c) {
    case 0x101: o->relay = arg; return 1;
    case 0x102: o->id = arg; return 1;
    case 0x103: o->token_file = arg; return 1;
    case 0x104: o->secret_file = arg; return 1;
    case 0x105: o->issuer = arg; return 1;
    case 0x106: o->session = arg; return 1;
    case 0x107: o->config = arg; return 1;
    case 0x108: o->ca_file = arg; return 1;
    case 0x109: o->export_file = arg; return 1;
    case 0x10a: o->no_binary = 1; return 1;
    case 0x10b:
        link_err("warning: --names-file is the older name of --export-file "
                 "(clawnexus-wg's --names-file is its own names file)");
        o->export_file = arg;
        return 1;
    case 0x10c: o->no_tailscale = 1; return 1;
    case 0x10d: o->registry = arg; return 1;
    default:    return 0;
    }
}

/* Register with the registry; its tokens become the relay tokens and its
 * name our id. */
static int
link_common_registry(link_common_t *o)
{
    int  code = 0;

    o->reg = link_registry_start(o->registry, o->id, o->ca_file,
                                 o->reg_name, sizeof(o->reg_name),
                                 o->reg_hint, sizeof(o->reg_hint), &code);
    if (o->reg == NULL) {
        return code;
    }
    memset(&o->auth, 0, sizeof(o->auth));
    link_auth_set_source(&o->auth, link_registry_token, o->reg);
    if (strcmp(o->reg_name, o->id) != 0) {
        link_err("registry %s: registered as %s", o->registry, o->reg_name);
    }
    o->id = o->reg_name;
    return 0;
}

int
link_common_setup(link_common_t *o, int need_relay)
{
    cnx_session_mode_t mode = CNX_SESSION_AUTO;
    int                code;

    if (link_config_load(&o->cfg, o->config) != 0) {
        return LINK_EXIT_FILE;
    }
    if (o->relay == NULL && o->cfg.relay_url[0] && o->cfg.relay_enabled) {
        o->relay = o->cfg.relay_url;
    }
    if (o->id == NULL && o->cfg.id[0]) {
        o->id = o->cfg.id;
    }
    if (o->token_file != NULL && o->secret_file != NULL) {
        link_err("give only one of --token-file and --secret-file");
        return LINK_EXIT_USAGE;
    }
    if (o->registry == NULL && o->token_file == NULL
        && o->secret_file == NULL && o->cfg.registry[0])
    {
        o->registry = o->cfg.registry;
    }
    if (o->token_file == NULL && o->secret_file == NULL
        && o->registry == NULL)
    {
        if (o->cfg.token_file[0]) {
            o->token_file = o->cfg.token_file;
        } else if (o->cfg.secret_file[0]) {
            o->secret_file = o->cfg.secret_file;
        }
    }
    if (o->issuer == NULL && o->cfg.issuer[0]) {
        o->issuer = o->cfg.issuer;
    }
    if (o->ca_file == NULL && o->cfg.ca_file[0]) {
        o->ca_file = o->cfg.ca_file;
        o->ca_from_cfg = 1;
    }
    if (o->export_file == NULL && o->cfg.export_file[0]) {
        o->export_file = o->cfg.export_file;
    }
    if (!o->cfg.tailscale) {
        o->no_tailscale = 1;
    }
    if (o->id == NULL) {
        link_err("no claw id: give --id (or edge.id in the config)");
        return LINK_EXIT_USAGE;
    }
    if (!link_id_valid(o->id)) {
        link_err("'%s' is not a valid claw id", o->id);
        return LINK_EXIT_ADDR;
    }
    if (o->session != NULL && link_sec_mode(o->session, &mode) != 0) {
        link_err("--session: '%s' is not v1, v2 or auto", o->session);
        return LINK_EXIT_USAGE;
    }
    if (o->registry != NULL && (o->token_file || o->secret_file)) {
        link_err("give only one of --registry, --token-file and "
                 "--secret-file");
        return LINK_EXIT_USAGE;
    }
    if (o->ca_file != NULL && access(o->ca_file, R_OK) != 0) {
        link_err("CA file %s (%s): %s", o->ca_file,
                 o->ca_from_cfg ? "edge.ca_file" : "--ca-file",
                 strerror(errno));
        return LINK_EXIT_FILE;
    }
    if (o->registry != NULL) {
        /* like the daemon: the relay is wss://<relay_hint>/relay unless
         * given */
        code = link_common_registry(o);
        if (code != 0) {
            return code;
        }
        if (o->relay == NULL && o->reg_hint[0]) {
            snprintf(o->reg_relay, sizeof(o->reg_relay), "wss://%s/relay",
                     o->reg_hint);
            o->relay = o->reg_relay;
        }
    }
    if (o->relay != NULL) {
        if (link_url_parse(o->relay, &o->url) != 0) {
            link_err("bad relay URL '%s' (expected ws://HOST[:PORT][/PATH] "
                     "or wss://...)", o->relay);
            return LINK_EXIT_ADDR;
        }
        if (o->registry == NULL) {
            if (o->token_file == NULL && o->secret_file == NULL) {
                link_err("no relay credentials: give --registry, "
                         "--token-file or --secret-file (or edge.registry, "
                         "edge.token_file or edge.secret_file in the "
                         "config)");
                return LINK_EXIT_USAGE;
            }
            code = link_auth_init_code(&o->auth, o->token_file,
                                       o->secret_file, o->issuer, 300);
            if (code != 0) {
                return code;
            }
        }
    } else if (need_relay) {
        link_err("no relay: give --relay URL (or relay.url in the config)");
        return LINK_EXIT_USAGE;
    }
    if (link_sec_init(&o->sec, mode) != 0) {
        return LINK_EXIT_FILE;
    }
    o->sec.cfg = &o->cfg;
    return 0;
}

void
link_common_wipe(link_common_t *o)
{
    link_registry_stop(o->reg);
    o->reg = NULL;
    link_auth_wipe(&o->auth);
    link_sec_wipe(&o->sec);
}

void
link_common_relay_cfg(link_common_t *o, link_relay_cfg_t *rc, int reconnect)
{
    memset(rc, 0, sizeof(*rc));
    rc->url = o->url;
    rc->url_text = o->relay;
    rc->ca_file = o->ca_file;
    rc->id = o->id;
    rc->auth = &o->auth;
    rc->want_binary = !o->no_binary;
    rc->reconnect = reconnect;
}

void
link_common_relay_error(const link_common_t *o, const char *target,
    const char *code, const char *message)
{
    const char *sep = message[0] ? ": " : "";

    if (strcmp(code, "AUTH_FAILED") == 0) {
        link_err("relay %s refused the token for %s: AUTH_FAILED%s%s "
                 "(check %s)", o->relay, o->id, sep, message,
                 o->token_file ? o->token_file
                 : o->secret_file ? o->secret_file : "the token source");
    } else if (strcmp(code, "TARGET_OFFLINE") == 0 && target != NULL) {
        link_err("relay %s: %s is not registered there: TARGET_OFFLINE%s%s",
                 o->relay, target, sep, message);
    } else if (strcmp(code, "REPLACED") == 0) {
        /* the process goes on (a long-running one takes the name back) */
        link_err("warning: relay %s: %s was registered by another connection "
                 "(REPLACED): another process uses the same id; run one "
                 "process per id", o->relay, o->id);
    } else {
        link_err("relay %s: %s%s%s (as %s%s%s)", o->relay, code, sep,
                 message, o->id, target ? ", target " : "",
                 target ? target : "");
    }
}

static volatile sig_atomic_t link_stop;

static void
link_stop_handler(int sig)
{
    (void) sig;
    link_stop = 1;
}

static void
link_stop_check(link_loop_t *l, void *ud)
{
    if (link_stop) {
        link_loop_stop(l, LINK_EXIT_OK);
        return;
    }
    link_loop_timer(l, 200, link_stop_check, ud);
}

void
link_common_stop_on_signals(link_loop_t *l)
{
    signal(SIGINT, link_stop_handler);
    signal(SIGTERM, link_stop_handler);
    link_loop_timer(l, 200, link_stop_check, NULL);
}
