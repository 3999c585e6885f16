/*
 * clawnexus-link: the ClawNexus Edge endpoint.  Entry point and
 * subcommand dispatch.
 */

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "clawnexus.h"
#include "link.h"
#include "registry.h"

static const struct {
    const char *name;
    int       (*fn)(int argc, char **argv);
    const char *what;
} commands[] = {
    { "token",   cmd_token,   "print an HS256 relay token for a claw id" },
    { "chat",    cmd_chat,    "exchange encrypted text lines with a peer" },
    { "serve",   cmd_serve,   "publish a TCP service under a claw id" },
    { "connect", cmd_connect, "open a stream to a served name" },
    { "list",    cmd_list,    "show known instances and their last path" },
    { "whoami",  cmd_whoami,  "print this instance's registry key" },
    { "id",      cmd_id,      "print this instance's key fingerprint" },
    { "peers",   cmd_peers,   "list pinned peers with their fingerprints" },
    { "forget",  cmd_forget,  "remove a peer's pin (its key changed)" },
};

static void
usage(FILE *f)
{
    size_t i;

    fprintf(f,
        "Usage: %s [-v] [--help] [--version] COMMAND [ARGS]\n"
        "\n"
        "The ClawNexus Edge endpoint: registers a name on a relay, reaches\n"
        "other names directly or through the relay, end-to-end encrypted.\n"
        "\n"
        "Commands:\n", LINK_PROG);
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].what);
    }
    fprintf(f,
        "\n"
        "'%s COMMAND --help' describes each command; see clawnexus-link(1).\n",
        LINK_PROG);
}

int
main(int argc, char **argv)
{
    size_t i;
    int    a = 1;

    signal(SIGPIPE, SIG_IGN);

    while (a < argc && argv[a][0] == '-') {
        if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
            usage(stdout);
            return LINK_EXIT_OK;
        }
        if (strcmp(argv[a], "--version") == 0) {
            printf("%s %s\n", LINK_PROG, cnx_version());
            return LINK_EXIT_OK;
        }
        if (strcmp(argv[a], "-v") == 0 || strcmp(argv[a], "--verbose") == 0) {
            link_verbose = 1;
            a++;
            continue;
        }
        link_err("unknown option '%s' (try --help)", argv[a]);
        return LINK_EXIT_USAGE;
    }
    if (a >= argc) {
        usage(stderr);
        return LINK_EXIT_USAGE;
    }
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[a], commands[i].name) == 0) {
            return commands[i].fn(argc - a, argv + a);
        }
    }
    link_err("unknown command '%s' (try --help)", argv[a]);
    return LINK_EXIT_USAGE;
}
