/*
 * clawnexus-link: a direct address from the tailnet (`tailscale status
 * --json`).  The fields used and where they are defined: tailscale.h.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cnx_json.h"
#include "link.h"
#include "names_export.h"
#include "tailscale.h"

/* Does peer (a PeerStatus object) answer to want? */
static int
peer_matches(const char *text, const cnx_json_tok_t *t, int n, int peer,
    const char *want)
{
    char   s[256], *dot;
    size_t l;
    int    h = cnx_json_obj_get(text, t, n, peer, "HostName");
    int    d = cnx_json_obj_get(text, t, n, peer, "DNSName");

    if (h >= 0 && t[h].type == CNX_JSON_STRING
        && cnx_json_str_decode(text, &t[h], s, sizeof(s), &l) == 0
        && l > 0 && strcasecmp(s, want) == 0)
    {
        return 1;
    }
    /* "office.example.ts.net." answers to its first label */
    if (d >= 0 && t[d].type == CNX_JSON_STRING
        && cnx_json_str_decode(text, &t[d], s, sizeof(s), &l) == 0)
    {
        if ((dot = strchr(s, '.')) != NULL) {
            *dot = '\0';
        }
        return s[0] != '\0' && strcasecmp(s, want) == 0;
    }
    return 0;
}

int
link_tailscale_parse(const char *text, size_t len, const char *name,
    char *out, size_t cap)
{
    cnx_json_tok_t *t;
    char            want[256], addr[64];
    size_t          l;
    int             n, st, peers, k, m, rc = 0;

    link_bare_name(name, want, sizeof(want));
    if (want[0] == '\0') {
        return 0;
    }
    if ((n = link_json_object(text, len, &t)) < 0) {
        return -1;
    }
    st = cnx_json_obj_get(text, t, n, 0, "BackendState");
    if (st < 0 || !cnx_json_str_eq(text, &t[st], "Running", 7)) {
        goto done;      /* logged out, stopped, starting: no tailnet */
    }
    peers = cnx_json_obj_get(text, t, n, 0, "Peer");
    if (peers < 0 || t[peers].type != CNX_JSON_OBJECT) {
        goto done;      /* null when there are no peers */
    }
    /* members: a key (the node key) then the PeerStatus object */
    for (k = peers + 1, m = 0; m < (int) t[peers].size; m++) {
        int v = t[k].next, on, ips;

        k = t[v].next;
        if (t[v].type != CNX_JSON_OBJECT
            || !peer_matches(text, t, n, v, want))
        {
            continue;
        }
        on = cnx_json_obj_get(text, t, n, v, "Online");
        ips = cnx_json_obj_get(text, t, n, v, "TailscaleIPs");
        if (on < 0 || t[on].type != CNX_JSON_TRUE || ips < 0
            || t[ips].type != CNX_JSON_ARRAY || t[ips].size == 0
            || t[ips + 1].type != CNX_JSON_STRING
            || cnx_json_str_decode(text, &t[ips + 1], addr, sizeof(addr),
                                   &l) != 0
            || l == 0 || strspn(addr, "0123456789abcdefABCDEF.:") != l)
        {
            continue;   /* offline, or no usable address: next match */
        }
        snprintf(out, cap, strchr(addr, ':') ? "[%s]:" LINK_DIRECT_PORT
                                             : "%s:" LINK_DIRECT_PORT, addr);
        rc = 1;
        break;
    }
done:
    free(t);
    return rc;
}

/* The program to run: $CLAWNEXUS_TAILSCALE, else tailscale in $PATH. */
static int
find_cli(char *out, size_t cap)
{
    const char *env = getenv("CLAWNEXUS_TAILSCALE"), *path, *p, *e;

    if (env != NULL) {
        if (env[0] == '\0') {
            return -1;  /* switched off */
        }
        snprintf(out, cap, "%s", env);
        return access(out, X_OK);
    }
    path = getenv("PATH");
    for (p = path ? path : "/usr/bin:/bin"; *p; p = *e ? e + 1 : e) {
        e = strchr(p, ':');
        if (e == NULL) {
            e = p + strlen(p);
        }
        if (e > p && (size_t) (e - p) + 11 < cap) {
            snprintf(out, cap, "%.*s/tailscale", (int) (e - p), p);
            if (access(out, X_OK) == 0) {
                return 0;
            }
        }
    }
    return -1;
}

int
link_tailscale_lookup(const char *name, char *out, size_t cap)
{
    char    cli[1024], *buf;
    size_t  len = 0;
    int     fds[2], status, rc = -1, dn;
    int64_t deadline;
    pid_t   pid;

    if (find_cli(cli, sizeof(cli)) != 0) {
        return 0;       /* not installed: one source less */
    }
    buf = malloc(LINK_TAILSCALE_MAX);
    if (buf == NULL || pipe(fds) != 0) {
        free(buf);
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        free(buf);
        return -1;
    }
    if (pid == 0) {
        dn = open("/dev/null", O_RDWR);
        close(fds[0]);
        dup2(fds[1], 1);
        if (dn >= 0) {
            dup2(dn, 0);
            dup2(dn, 2);
        }
        execl(cli, cli, "status", "--json", (char *) NULL);
        _exit(127);
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    deadline = link_now_ms() + LINK_TAILSCALE_MS;
    for (;;) {
        struct pollfd pfd = { fds[0], POLLIN, 0 };
        int64_t       left = deadline - link_now_ms();
        ssize_t       r;

        if (left <= 0 || poll(&pfd, 1, (int) left) == 0) {
            link_debug("tailscale status --json: no answer within %d ms",
                       LINK_TAILSCALE_MS);
            kill(pid, SIGKILL);
            goto out;
        }
        r = read(fds[0], buf + len, LINK_TAILSCALE_MAX - len);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        len += (size_t) r;
        if (len == LINK_TAILSCALE_MAX) {
            link_debug("tailscale status --json: more than %d bytes",
                       LINK_TAILSCALE_MAX);
            kill(pid, SIGKILL);
            goto out;
        }
    }
    rc = 0;
out:
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (rc == 0) {
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            /* e.g. tailscaled not running: no tailnet to ask */
            link_debug("tailscale status --json failed (status %d)",
                       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
            rc = 0;
        } else {
            rc = link_tailscale_parse(buf, len, name, out, cap);
            if (rc < 0) {
                link_debug("tailscale status --json: not a status object");
            }
        }
    }
    free(buf);
    return rc;
}
