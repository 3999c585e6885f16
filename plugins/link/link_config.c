/*
 * clawnexus-link: configuration file reader, on the shared JSON codec.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cnx_json.h"
#include "link_config.h"
#include "link.h"

#define CFG_MAX_BYTES  (256 * 1024)
#define CFG_MAX_TOKS   4096

static void
set_why(char *why, size_t cap, const char *s)
{
    if (why != NULL && cap > 0) {
        snprintf(why, cap, "%s", s);
    }
}

/* Copy the string member key of object obj into out; absent is fine. */
static int
get_str(const char *buf, const cnx_json_tok_t *t, int n, int obj,
    const char *key, char *out, size_t cap, char *why, size_t whycap)
{
    size_t len;
    int    i = cnx_json_obj_get(buf, t, n, obj, key);

    if (i < 0) {
        return 0;
    }
    if (t[i].type != CNX_JSON_STRING
        || cnx_json_str_decode(buf, &t[i], out, cap, &len) != 0
        || strlen(out) != len)
    {
        if (why) {
            snprintf(why, whycap, "\"%s\" must be a string (max %zu bytes)",
                     key, cap - 1);
        }
        return -1;
    }
    return 0;
}

static int
get_bool(const char *buf, const cnx_json_tok_t *t, int n, int obj,
    const char *key, int *out, char *why, size_t whycap)
{
    int i = cnx_json_obj_get(buf, t, n, obj, key);

    if (i < 0) {
        return 0;
    }
    if (cnx_json_tok_bool(&t[i], out) != 0) {
        if (why) {
            snprintf(why, whycap, "\"%s\" must be true or false", key);
        }
        return -1;
    }
    return 0;
}

int
link_config_parse(link_config_t *cfg, const char *text, size_t len,
    char *why, size_t whycap)
{
    cnx_json_tok_t *t;
    int             n, relay, edge, peers, rc = -1;

    memset(cfg, 0, sizeof(*cfg));
    cfg->relay_enabled = 1;
    cfg->tailscale = 1;
    if (len == 0) {
        return 0;
    }
    t = calloc(CFG_MAX_TOKS, sizeof(*t));
    if (t == NULL) {
        set_why(why, whycap, "out of memory");
        return -1;
    }
    n = cnx_json_parse(text, len, t, CFG_MAX_TOKS);
    if (n < 0) {
        set_why(why, whycap, n == CNX_JSON_ENOMEM ? "too many JSON values"
                : n == CNX_JSON_EDEPTH ? "nested too deeply"
                : "not valid JSON");
        goto done;
    }
    if (t[0].type != CNX_JSON_OBJECT) {
        set_why(why, whycap, "the top level must be a JSON object");
        goto done;
    }
    relay = cnx_json_obj_get(text, t, n, 0, "relay");
    if (relay >= 0) {
        if (t[relay].type != CNX_JSON_OBJECT) {
            set_why(why, whycap, "\"relay\" must be an object");
            goto done;
        }
        if (get_str(text, t, n, relay, "url", cfg->relay_url,
                    sizeof(cfg->relay_url), why, whycap) != 0
            || get_bool(text, t, n, relay, "enabled", &cfg->relay_enabled,
                        why, whycap) != 0)
        {
            goto done;
        }
    }
    edge = cnx_json_obj_get(text, t, n, 0, "edge");
    if (edge >= 0) {
        if (t[edge].type != CNX_JSON_OBJECT) {
            set_why(why, whycap, "\"edge\" must be an object");
            goto done;
        }
        if (get_str(text, t, n, edge, "id", cfg->id, sizeof(cfg->id),
                    why, whycap) != 0
            || get_str(text, t, n, edge, "token_file", cfg->token_file,
                       sizeof(cfg->token_file), why, whycap) != 0
            || get_str(text, t, n, edge, "secret_file", cfg->secret_file,
                       sizeof(cfg->secret_file), why, whycap) != 0
            || get_str(text, t, n, edge, "issuer", cfg->issuer,
                       sizeof(cfg->issuer), why, whycap) != 0
            || get_str(text, t, n, edge, "ca_file", cfg->ca_file,
                       sizeof(cfg->ca_file), why, whycap) != 0
            || get_str(text, t, n, edge, "names_file", cfg->export_file,
                       sizeof(cfg->export_file), why, whycap) != 0
            || get_str(text, t, n, edge, "export_file", cfg->export_file,
                       sizeof(cfg->export_file), why, whycap) != 0
            || get_bool(text, t, n, edge, "tailscale", &cfg->tailscale, why,
                        whycap) != 0)
        {
            goto done;
        }
        peers = cnx_json_obj_get(text, t, n, edge, "peers");
        if (peers >= 0) {
            int k, m;

            if (t[peers].type != CNX_JSON_OBJECT) {
                set_why(why, whycap, "\"peers\" must be an object");
                goto done;
            }
            for (k = peers + 1, m = 0; m < (int) t[peers].size; m++) {
                link_peer_cfg_t *p;
                int              v = k + 1;
                size_t           nl;

                if (cfg->npeers == LINK_CFG_PEERS) {
                    set_why(why, whycap, "too many peers");
                    goto done;
                }
                p = &cfg->peers[cfg->npeers];
                if (cnx_json_str_decode(text, &t[k], p->name,
                                        sizeof(p->name), &nl) != 0
                    || nl == 0 || strlen(p->name) != nl)
                {
                    set_why(why, whycap, "bad peer name");
                    goto done;
                }
                if (t[v].type != CNX_JSON_OBJECT) {
                    if (why) {
                        snprintf(why, whycap,
                                 "peer \"%s\" must be an object", p->name);
                    }
                    goto done;
                }
                if (get_str(text, t, n, v, "direct", p->direct,
                            sizeof(p->direct), why, whycap) != 0
                    || get_bool(text, t, n, v, "cross_network",
                                &p->cross_network, why, whycap) != 0)
                {
                    goto done;
                }
                cfg->npeers++;
                k = t[v].next;
            }
        }
    }
    rc = 0;
done:
    free(t);
    return rc;
}

int
link_config_load(link_config_t *cfg, const char *path)
{
    char        def[4096], why[128];
    char       *text;
    size_t      len;
    struct stat st;
    int         rc;

    if (path == NULL) {
        if (link_home_path(def, sizeof(def), "config.json") != 0) {
            link_err("$HOME is too long");
            return -1;
        }
        if (stat(def, &st) != 0 && errno == ENOENT) {
            memset(cfg, 0, sizeof(*cfg));
            cfg->relay_enabled = 1;
            cfg->tailscale = 1;
            return 0;
        }
        path = def;
    }
    text = malloc(CFG_MAX_BYTES);
    if (text == NULL) {
        link_err("out of memory");
        return -1;
    }
    if (link_read_file(path, text, CFG_MAX_BYTES, &len, 0, 0) != 0) {
        free(text);
        return -1;
    }
    rc = link_config_parse(cfg, text, len, why, sizeof(why));
    free(text);
    if (rc != 0) {
        link_err("%s: %s", path, why);
        return -1;
    }
    return 0;
}

const link_peer_cfg_t *
link_config_peer(const link_config_t *cfg, const char *name)
{
    size_t i, nl = strlen(name);

    for (i = 0; i < cfg->npeers; i++) {
        const char *p = cfg->peers[i].name;
        size_t      pl = strlen(p);

        if (strcmp(p, name) == 0) {
            return &cfg->peers[i];
        }
        /* "office" matches "office.claw" and the reverse */
        if (pl == nl + 5 && strncmp(p, name, nl) == 0
            && strcmp(p + nl, ".claw") == 0)
        {
            return &cfg->peers[i];
        }
        if (nl == pl + 5 && strncmp(name, p, pl) == 0
            && strcmp(name + pl, ".claw") == 0)
        {
            return &cfg->peers[i];
        }
    }
    return NULL;
}
