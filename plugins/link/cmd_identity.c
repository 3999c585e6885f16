/*
 * clawnexus-link id, peers, forget: this instance's key fingerprint and
 * the pins of peers (~/.clawnexus/edge/known_peers).
 */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "cnx_crypto.h"
#include "cnx_identity.h"
#include "link.h"

static void
identity_usage(FILE *f, const char *cmd)
{
    if (strcmp(cmd, "id") == 0) {
        fprintf(f,
            "Usage: %s id\n"
            "\n"
            "Print this instance's key fingerprint (SHA256:...), the one\n"
            "peers see and pin.  The key (~/.clawnexus/edge/static.key) is\n"
            "created on first use.\n", LINK_PROG);
    } else if (strcmp(cmd, "peers") == 0) {
        fprintf(f,
            "Usage: %s peers\n"
            "\n"
            "List the pinned peers: one line NAME SHA256:FINGERPRINT each\n"
            "(~/.clawnexus/edge/known_peers).\n", LINK_PROG);
    } else {
        fprintf(f,
            "Usage: %s forget NAME\n"
            "\n"
            "Remove the pin of NAME (office and office.claw are one name),\n"
            "so that its next key is accepted (after a peer was\n"
            "reinstalled).  Status 5 if NAME has no pin.\n", LINK_PROG);
    }
}

/* Parses --help; returns -1 to go on, else an exit status. */
static int
identity_opts(int argc, char **argv, int nargs)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            identity_usage(stdout, argv[0]);
            return LINK_EXIT_OK;
        }
        link_usage_hint(argv[0]);
        return LINK_EXIT_USAGE;
    }
    if (argc - optind != nargs) {
        link_err("%s: %s", argv[0], nargs ? "needs one NAME"
                                          : "takes no arguments");
        link_usage_hint(argv[0]);
        return LINK_EXIT_USAGE;
    }
    return -1;
}

static int
pins_path(char *out, size_t cap)
{
    if (cnx_identity_default_pins(out, cap) != 0) {
        link_err("cannot locate ~/.clawnexus/edge ($HOME too long?)");
        return -1;
    }
    return 0;
}

int
cmd_id(int argc, char **argv)
{
    char    path[1024], err[512], fp[CNX_FINGERPRINT_LEN];
    uint8_t sk[32], pk[32];
    int     rc = identity_opts(argc, argv, 0);

    if (rc >= 0) {
        return rc;
    }
    if (cnx_crypto_init() != 0
        || cnx_identity_default_key(path, sizeof(path)) != 0)
    {
        link_err("cannot locate ~/.clawnexus/edge ($HOME too long?)");
        return LINK_EXIT_FAIL;
    }
    if (cnx_identity_load(path, sk, pk, err, sizeof(err)) != 0) {
        link_err("%s", err);
        return LINK_EXIT_FILE;
    }
    cnx_memzero(sk, sizeof(sk));
    cnx_identity_fingerprint(fp, pk);
    link_debug("key file %s", path);
    printf("%s\n", fp);
    return fflush(stdout) == 0 ? LINK_EXIT_OK : LINK_EXIT_FAIL;
}

static void
print_pin(void *ud, const char *name, const uint8_t pk[32])
{
    char fp[CNX_FINGERPRINT_LEN];

    (void) ud;
    cnx_identity_fingerprint(fp, pk);
    printf("%s %s\n", name, fp);
}

int
cmd_peers(int argc, char **argv)
{
    char path[1024], err[512];
    int  rc = identity_opts(argc, argv, 0);

    if (rc >= 0) {
        return rc;
    }
    if (pins_path(path, sizeof(path)) != 0) {
        return LINK_EXIT_FAIL;
    }
    if (cnx_pins_list(path, print_pin, NULL, err, sizeof(err)) < 0) {
        link_err("%s", err);
        return LINK_EXIT_FILE;
    }
    return fflush(stdout) == 0 ? LINK_EXIT_OK : LINK_EXIT_FAIL;
}

int
cmd_forget(int argc, char **argv)
{
    char        path[1024], err[512], canon[300];
    const char *name;
    int         rc = identity_opts(argc, argv, 1), n = 0, i;

    if (rc >= 0) {
        return rc;
    }
    name = argv[optind];
    if (!link_id_valid(name)
        || link_name_canon(name, canon, sizeof(canon)) != 0)
    {
        link_err("'%s' is not a valid claw id", name);
        return LINK_EXIT_ADDR;
    }
    if (pins_path(path, sizeof(path)) != 0) {
        return LINK_EXIT_FAIL;
    }
    /* the canonical form, and the name as given (older pins) */
    for (i = 0; i < 2; i++) {
        const char *which = i == 0 ? canon : name;

        if (i == 1 && strcmp(canon, name) == 0) {
            break;
        }
        rc = cnx_pins_remove(path, which, err, sizeof(err));
        if (rc < 0) {
            link_err("%s", err);
            return LINK_EXIT_FILE;
        }
        n += rc;
    }
    if (n == 0) {
        link_err("no pin for %s in %s", canon, path);
        return LINK_EXIT_ADDR;
    }
    fprintf(stderr, "%s: forgot the key of %s; its next key will be pinned "
            "on first use\n", LINK_PROG, canon);
    return LINK_EXIT_OK;
}
