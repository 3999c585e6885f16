/*
 * clawnexus-link token: mint an HS256 relay token (the token source
 * itself is auth.c).
 */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "link.h"

static void
token_usage(FILE *f)
{
    fprintf(f,
        "Usage: %s token --secret-file FILE [--issuer ISS] [--ttl SECONDS]"
        " CLAW_ID\n"
        "\n"
        "Print an HS256 relay token (JWT) for CLAW_ID, signed with the\n"
        "shared secret in FILE (a trailing newline is ignored).  Claims:\n"
        "sub = CLAW_ID, iat = now, exp = now + SECONDS (default 300),\n"
        "iss = ISS when given.  Use it with self-hosted relays whose\n"
        "clawnexus_jwt_secret_file holds the same secret.\n"
        "\n"
        "  --secret-file FILE  shared secret (should be mode 0600)\n"
        "  --issuer ISS        iss claim (must match clawnexus_jwt_issuer)\n"
        "  --ttl SECONDS       lifetime, 1..31536000 (default 300)\n"
        "  --help              this text\n", LINK_PROG);
}

int
cmd_token(int argc, char **argv)
{
    static const struct option opts[] = {
        { "secret-file", required_argument, NULL, 's' },
        { "issuer",      required_argument, NULL, 'i' },
        { "ttl",         required_argument, NULL, 't' },
        { "help",        no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char  *secret_file = NULL, *issuer = NULL;
    long         ttl = 300;
    link_auth_t  a;
    char         tok[LINK_TOKEN_MAX];
    int          c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': secret_file = optarg; break;
        case 'i': issuer = optarg; break;
        case 't':
            if (link_parse_long(optarg, 1, 31536000, &ttl) != 0) {
                link_err("--ttl: '%s' is not a number of seconds "
                         "(1..31536000)", optarg);
                return LINK_EXIT_USAGE;
            }
            break;
        case 'h': token_usage(stdout); return LINK_EXIT_OK;
        default:  link_usage_hint("token"); return LINK_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || secret_file == NULL) {
        link_err("token: needs --secret-file FILE and one CLAW_ID");
        link_usage_hint("token");
        return LINK_EXIT_USAGE;
    }
    if (!link_id_valid(argv[optind])) {
        link_err("'%s' is not a valid claw id (1-255 printable bytes, "
                 "no spaces or quotes)", argv[optind]);
        return LINK_EXIT_ADDR;
    }
    if (link_auth_init(&a, NULL, secret_file, issuer, ttl) != 0) {
        return LINK_EXIT_FILE;
    }
    if (link_auth_token(&a, argv[optind], tok, sizeof(tok)) != 0) {
        link_auth_wipe(&a);
        return LINK_EXIT_FAIL;
    }
    link_auth_wipe(&a);
    printf("%s\n", tok);
    return fflush(stdout) == 0 ? LINK_EXIT_OK : LINK_EXIT_FAIL;
}
