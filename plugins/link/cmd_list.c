/*
 * clawnexus-link list: known instances and the path last seen to each.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "link_config.h"
#include "link.h"
#include "state.h"

static void
list_usage(FILE *f)
{
    fprintf(f,
        "Usage: %s list [--config FILE]\n"
        "\n"
        "Show the instances this endpoint knows (the config's edge.peers and\n"
        "every name `connect` reached) with the status seen last: direct,\n"
        "relay or offline, when, and details (session version, RTT or\n"
        "address).  Names never tried show \"-\".  The state lives in\n"
        "~/.clawnexus/edge/instances.\n", LINK_PROG);
}

static void
age(char *out, size_t cap, int64_t when)
{
    int64_t d = (int64_t) time(NULL) - when;

    if (d < 0) {
        d = 0;
    }
    if (d < 120) {
        snprintf(out, cap, "%llds ago", (long long) d);
    } else if (d < 7200) {
        snprintf(out, cap, "%lldm ago", (long long) (d / 60));
    } else if (d < 172800) {
        snprintf(out, cap, "%lldh ago", (long long) (d / 3600));
    } else {
        snprintf(out, cap, "%lldd ago", (long long) (d / 86400));
    }
}

int
cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "help",   no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char       *config = NULL;
    link_config_t     cfg;
    link_state_ent_t *v;
    char              path[4096], when[32];
    int               c, n, i;
    size_t            k;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'h': list_usage(stdout); return LINK_EXIT_OK;
        default:  link_usage_hint("list"); return LINK_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        link_err("list: unexpected argument '%s'", argv[optind]);
        return LINK_EXIT_USAGE;
    }
    if (link_config_load(&cfg, config) != 0) {
        return LINK_EXIT_FILE;
    }
    v = calloc(LINK_STATE_MAX, sizeof(*v));
    if (v == NULL || link_state_path(path, sizeof(path)) != 0) {
        free(v);
        return LINK_EXIT_FAIL;
    }
    n = link_state_read(path, v, LINK_STATE_MAX);
    if (n < 0) {
        link_err("cannot read %s", path);
        free(v);
        return LINK_EXIT_FILE;
    }
    printf("%-32s %-8s %-10s %s\n", "NAME", "STATUS", "SEEN", "DETAIL");
    for (i = 0; i < n; i++) {
        age(when, sizeof(when), v[i].when);
        printf("%-32s %-8s %-10s %s\n", v[i].name, v[i].status, when,
               v[i].detail);
    }
    for (k = 0; k < cfg.npeers; k++) {
        for (i = 0; i < n; i++) {
            if (strcmp(v[i].name, cfg.peers[k].name) == 0) {
                break;
            }
        }
        if (i == n) {
            printf("%-32s %-8s %-10s %s\n", cfg.peers[k].name, "-", "-",
                   cfg.peers[k].cross_network ? "cross-network"
                   : cfg.peers[k].direct);
        }
    }
    free(v);
    return LINK_EXIT_OK;
}
