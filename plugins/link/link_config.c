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
#define CFG_FINGERPRINT_LEN 50      /* "SHA256:" + 43 base64 characters */

/* Keys of our own sections; anything else there draws a warning (the
 * "relay" section and the top level are shared with ClawNexus). */
static const char *const edge_keys[] = {
    "id", "token_file", "secret_file", "issuer", "ca_file", "names_file",
    "export_file", "tailscale", "registry", "peers", NULL
};
static const char *const peer_keys[] = {
    "direct", "cross_network", "key", NULL
};

/* "LINE:COLUMN" of byte offset off (both from 1). */
static void
position(const char *text, size_t off, char *out, size_t cap)
{
    size_t i, line = 1, col = 1;

    for (i = 0; i < off; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char) text[i] & 0xc0) != 0x80) {
            col++;              /* count characters, not UTF-8 bytes */
        }
    }
    snprintf(out, cap, "%zu:%zu", line, col);
}

/* why = "LINE:COL: " + message about the value at offset off. */
static void
set_why_at(char *why, size_t cap, const char *text, size_t off,
    const char *fmt, const char *arg)
{
    char pos[48], msg[160];

    if (why == NULL || cap == 0) {
        return;
    }
    position(text, off, pos, sizeof(pos));
    snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
    snprintf(why, cap, "%s: %s", pos, msg);
}

/* Where a token starts (a string token: at its opening quote). */
static size_t
tok_at(const cnx_json_tok_t *t)
{
    return t->type == CNX_JSON_STRING && t->start > 0 ? t->start - 1
                                                      : t->start;
}

/* Record a warning for every key of object obj not in known. */
static void
warn_unknown(link_config_t *cfg, const char *text, const cnx_json_tok_t *t,
    int obj, const char *const *known, const char *where)
{
    int    k, m, j;
    char   key[64], pos[48];
    size_t kl;

    for (k = obj + 1, m = 0; m < (int) t[obj].size; m++, k = t[k + 1].next) {
        for (j = 0; known[j] != NULL; j++) {
            if (cnx_json_str_eq(text, &t[k], known[j], strlen(known[j]))) {
                break;
            }
        }
        if (known[j] != NULL || cfg->nwarn == LINK_CFG_WARN) {
            continue;
        }
        if (cnx_json_str_decode(text, &t[k], key, sizeof(key), &kl) != 0) {
            snprintf(key, sizeof(key), "?");
        }
        position(text, tok_at(&t[k]), pos, sizeof(pos));
        snprintf(cfg->warn[cfg->nwarn++], sizeof(cfg->warn[0]),
                 "%s: unknown key \"%s\" in %s (ignored)", pos, key, where);
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
        char msg[96];

        snprintf(msg, sizeof(msg), "\"%%s\" must be a string (at most %zu "
                 "bytes)", cap - 1);
        set_why_at(why, whycap, buf, tok_at(&t[i]), msg, key);
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
        set_why_at(why, whycap, buf, tok_at(&t[i]),
                   "\"%s\" must be true or false", key);
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
    size_t          err_at = 0;

    memset(cfg, 0, sizeof(*cfg));
    cfg->relay_enabled = 1;
    cfg->tailscale = 1;
    if (len == 0) {
        return 0;
    }
    t = calloc(CFG_MAX_TOKS, sizeof(*t));
    if (t == NULL) {
        if (why != NULL && whycap > 0) {
            snprintf(why, whycap, "out of memory");
        }
        return -1;
    }
    n = cnx_json_parse_at(text, len, t, CFG_MAX_TOKS, &err_at);
    if (n < 0) {
        set_why_at(why, whycap, text, err_at, "%s",
                   n == CNX_JSON_ENOMEM ? "too many JSON values"
                   : n == CNX_JSON_EDEPTH ? "nested too deeply"
                   : err_at >= len ? "not valid JSON (it ends too early)"
                   : "not valid JSON");
        goto done;
    }
    if (t[0].type != CNX_JSON_OBJECT) {
        set_why_at(why, whycap, text, tok_at(&t[0]), "%s",
                   "the top level must be a JSON object");
        goto done;
    }
    relay = cnx_json_obj_get(text, t, n, 0, "relay");
    if (relay >= 0) {
        if (t[relay].type != CNX_JSON_OBJECT) {
            set_why_at(why, whycap, text, tok_at(&t[relay]), "%s",
                       "\"relay\" must be an object");
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
            set_why_at(why, whycap, text, tok_at(&t[edge]), "%s",
                       "\"edge\" must be an object");
            goto done;
        }
        warn_unknown(cfg, text, t, edge, edge_keys, "\"edge\"");
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
                        whycap) != 0
            || get_str(text, t, n, edge, "registry", cfg->registry,
                       sizeof(cfg->registry), why, whycap) != 0)
        {
            goto done;
        }
        peers = cnx_json_obj_get(text, t, n, edge, "peers");
        if (peers >= 0) {
            int k, m;

            if (t[peers].type != CNX_JSON_OBJECT) {
                set_why_at(why, whycap, text, tok_at(&t[peers]), "%s",
                           "\"peers\" must be an object");
                goto done;
            }
            for (k = peers + 1, m = 0; m < (int) t[peers].size; m++) {
                link_peer_cfg_t *p;
                int              v = k + 1;
                size_t           nl;

                if (cfg->npeers == LINK_CFG_PEERS) {
                    set_why_at(why, whycap, text, tok_at(&t[k]), "%s",
                               "too many peers (at most 64)");
                    goto done;
                }
                p = &cfg->peers[cfg->npeers];
                if (cnx_json_str_decode(text, &t[k], p->name,
                                        sizeof(p->name), &nl) != 0
                    || nl == 0 || strlen(p->name) != nl)
                {
                    set_why_at(why, whycap, text, tok_at(&t[k]), "%s",
                               "bad peer name");
                    goto done;
                }
                if (t[v].type != CNX_JSON_OBJECT) {
                    set_why_at(why, whycap, text, tok_at(&t[v]),
                               "peer \"%s\" must be an object", p->name);
                    goto done;
                }
                warn_unknown(cfg, text, t, v, peer_keys, "a peer");
                if (get_str(text, t, n, v, "direct", p->direct,
                            sizeof(p->direct), why, whycap) != 0
                    || get_bool(text, t, n, v, "cross_network",
                                &p->cross_network, why, whycap) != 0
                    || get_str(text, t, n, v, "key", p->key, sizeof(p->key),
                               why, whycap) != 0)
                {
                    goto done;
                }
                if (p->key[0] != '\0'
                    && (strncmp(p->key, "SHA256:", 7) != 0
                        || strlen(p->key) != CFG_FINGERPRINT_LEN))
                {
                    set_why_at(why, whycap, text, tok_at(&t[v]),
                               "peer \"%s\": \"key\" must be a fingerprint "
                               "SHA256:... as printed by clawnexus-link id",
                               p->name);
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
    char        def[4096], why[256];
    size_t      i;
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
        link_err("%s:%s", path, why);
        return -1;
    }
    for (i = 0; i < cfg->nwarn; i++) {
        link_err("warning: %s:%s", path, cfg->warn[i]);
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
