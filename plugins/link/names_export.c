/*
 * clawnexus-link: direct addresses from the clawnexus-wg export (with the
 * peer's status) and from the tailnet, in the order they are tried.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cnx_json.h"
#include "link.h"
#include "names_export.h"
#include "tailscale.h"

void
link_bare_name(const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);

    if (n >= cap) {
        out[0] = '\0';
        return;
    }
    memcpy(out, name, n + 1);
    if (n > 5 && strcmp(out + n - 5, ".claw") == 0) {
        out[n - 5] = '\0';
    }
}

static link_wg_status_t
status_of(const char *text, const cnx_json_tok_t *t, int n, int peer)
{
    int s = cnx_json_obj_get(text, t, n, peer, "status");

    if (s < 0 || t[s].type != CNX_JSON_STRING) {
        return LINK_WG_UNSURE;   /* older exports had none */
    }
    if (cnx_json_str_eq(text, &t[s], "direct", 6)) {
        return LINK_WG_DIRECT;
    }
    if (cnx_json_str_eq(text, &t[s], "never", 5)
        || cnx_json_str_eq(text, &t[s], "absent", 6))
    {
        return LINK_WG_DOWN;
    }
    return LINK_WG_UNSURE;
}

int
link_json_object(const char *text, size_t len, cnx_json_tok_t **tp)
{
    /* every token takes at least two bytes of text, commas included */
    size_t          ntok = len / 2 + 2;
    cnx_json_tok_t *t = calloc(ntok, sizeof(*t));
    int             n;

    *tp = NULL;
    if (t == NULL) {
        return -1;
    }
    n = cnx_json_parse(text, len, t, (unsigned) ntok);
    if (n < 0 || t[0].type != CNX_JSON_OBJECT) {
        free(t);
        return -1;
    }
    *tp = t;
    return n;
}

int
link_export_parse(const char *text, size_t len, const char *name, char *out,
    size_t cap)
{
    cnx_json_tok_t *t;
    char            want[256], nm[256], addr[128];
    size_t          l;
    int             n, peers, k, m, rc = LINK_WG_NONE;

    link_bare_name(name, want, sizeof(want));
    if (want[0] == '\0') {
        return LINK_WG_NONE;
    }
    if ((n = link_json_object(text, len, &t)) < 0) {
        return -1;
    }
    peers = cnx_json_obj_get(text, t, n, 0, "peers");
    if (peers < 0 || t[peers].type != CNX_JSON_ARRAY) {
        rc = -1;
        goto done;
    }
    for (k = peers + 1, m = 0; m < (int) t[peers].size; m++, k = t[k].next) {
        int ni, ai;

        if (t[k].type != CNX_JSON_OBJECT) {
            continue;
        }
        ni = cnx_json_obj_get(text, t, n, k, "name");
        ai = cnx_json_obj_get(text, t, n, k, "address");
        if (ni < 0 || ai < 0 || t[ni].type != CNX_JSON_STRING
            || t[ai].type != CNX_JSON_STRING
            || cnx_json_str_decode(text, &t[ni], nm, sizeof(nm), &l) != 0
            || strcmp(nm, want) != 0
            || cnx_json_str_decode(text, &t[ai], addr, sizeof(addr), &l) != 0
            || l == 0)
        {
            continue;
        }
        snprintf(out, cap, strchr(addr, ':') ? "[%s]:" LINK_DIRECT_PORT
                                             : "%s:" LINK_DIRECT_PORT, addr);
        rc = status_of(text, t, n, k);
        break;
    }
done:
    free(t);
    return rc;
}

/* The export's verdict on target, or LINK_WG_NONE (a missing default file
 * is no error; any other unreadable file is, with one line). */
static int
export_lookup(const char *path, const char *target, char *out, size_t cap)
{
    struct stat st;
    char       *text;
    size_t      len;
    int         rc;

    if (path == NULL) {
        /* the variable clawnexus-wg writes to, when set */
        path = getenv("CLAWNEXUS_WG_EXPORT");
        if (path == NULL) {
            path = LINK_EXPORT_DEFAULT;
        }
        if (path[0] == '\0' || stat(path, &st) != 0) {
            return LINK_WG_NONE;
        }
    }
    text = malloc(LINK_EXPORT_MAX);
    if (text == NULL) {
        return LINK_WG_NONE;
    }
    if (link_read_file(path, text, LINK_EXPORT_MAX, &len, 0, 0) != 0) {
        free(text);
        return LINK_WG_NONE;
    }
    rc = link_export_parse(text, len, target, out, cap);
    free(text);
    if (rc < 0) {
        link_err("%s: not a clawnexus-wg export file", path);
        return LINK_WG_NONE;
    }
    return rc;
}

const char *
link_direct_lookup(const char *export_path, const char *target,
    int tailscale, char *out, size_t cap)
{
    char ts[128];
    int  wg;

    wg = export_lookup(export_path, target, out, cap);
    if (wg == LINK_WG_DIRECT) {
        link_debug("%s: %s from the WireGuard export (recent handshake)",
                   target, out);
        return out;
    }
    if (tailscale && link_tailscale_lookup(target, ts, sizeof(ts)) == 1) {
        link_debug("%s: %s from the tailnet", target, ts);
        snprintf(out, cap, "%s", ts);
        return out;
    }
    if (wg == LINK_WG_UNSURE) {
        link_debug("%s: %s from the WireGuard export", target, out);
        return out;
    }
    if (wg == LINK_WG_DOWN) {
        link_debug("%s: no WireGuard handshake with it yet (export status "
                   "never or absent): no direct attempt", target);
    }
    return NULL;
}
