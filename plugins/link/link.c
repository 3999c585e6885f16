/*
 * clawnexus-link: the ClawNexus Edge endpoint.
 */

#include <stdio.h>
#include <string.h>

#include "clawnexus.h"

static void
usage(FILE *f)
{
    fprintf(f,
        "Usage: clawnexus-link [--help] [--version] COMMAND [ARGS]\n"
        "\n"
        "The ClawNexus Edge endpoint.  See clawnexus-link(1).\n");
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
        printf("clawnexus-link %s\n", cnx_version());
        return 0;
    }
    fprintf(stderr, "clawnexus-link: unknown command '%s'\n", argv[1]);
    return 64;
}
