/*
 * clawnexus-wg: ClawNexus names for WireGuard peers.
 */

#include <stdio.h>
#include <string.h>

#include "clawnexus.h"

static void
usage(FILE *f)
{
    fprintf(f,
        "Usage: clawnexus-wg [--help] [--version] COMMAND [ARGS]\n"
        "\n"
        "ClawNexus names for WireGuard peers.  See clawnexus-wg(1).\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 64;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("clawnexus-wg %s\n", cnx_version());
        return 0;
    }
    fprintf(stderr, "clawnexus-wg: unknown command '%s'\n", argv[1]);
    return 64;
}
