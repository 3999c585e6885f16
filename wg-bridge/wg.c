/*
 * clawnexus-wg: ClawNexus names for WireGuard peers.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clawnexus.h"
#include "subcommands.h"



static const struct {
	const char *name;
	int (*fn)(struct wg_ctx *, int, char **);
	const char *description;
} subcommands[] = {
	{ "add", cmd_add, "record a name and add or update its peer" },
	{ "remove", cmd_remove, "remove a named peer and its record" },
	{ "show", cmd_show, "show peers with names and path status" },
	{ "resolve", cmd_resolve, "print the tunnel address of a name" },
	{ "sync", cmd_sync, "apply every named peer of an interface" },
	{ "hosts", cmd_hosts, "write the names into a hosts file block" },
	{ "hook", cmd_hook, "wg-quick PostUp/PreDown hook (up|down IFACE)" },
	{ "export", cmd_export, "named peers as JSON for clawnexus-link" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: %s [--names FILE] [--backend netlink|uapi] COMMAND "
		"[ARGS]\n"
		"       %s --help | --version | COMMAND --help\n"
		"\n"
		"ClawNexus names for WireGuard peers.  Commands:\n",
		prog_name, prog_name);
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-8s %s\n", subcommands[i].name,
			subcommands[i].description);
	fprintf(f,
		"\n"
		"--names FILE    names file (default %s)\n"
		"--backend B     netlink or uapi (default: a live UAPI socket\n"
		"                wins, otherwise the kernel)\n"
		"Exit status: 0 ok, 1 failure, 2 usage error, 5 unknown name.\n"
		"See clawnexus-wg(1).\n", WG_NAMES_DEFAULT);
}

int
main(int argc, char **argv)
{
	struct wg_ctx ctx = { WG_NAMES_DEFAULT, WG_BACKEND_AUTO };
	const char *env = getenv("CLAWNEXUS_WG_NAMES");
	size_t i;
	int a = 1;

	if (env && *env)
		ctx.names_path = env;
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: cannot initialise libsodium\n",
			prog_name);
		return WG_EXIT_FAIL;
	}
	while (a < argc && argv[a][0] == '-') {
		const char *o = argv[a], *v = NULL;

		if (wg_is_help(o)) {
			usage(stdout);
			return WG_EXIT_OK;
		}
		if (!strcmp(o, "--version")) {
			printf("clawnexus-wg %s\n", cnx_version());
			return WG_EXIT_OK;
		}
		if (!strncmp(o, "--names=", 8)) {
			v = o + 8;
			o = "--names";
		} else if (!strncmp(o, "--backend=", 10)) {
			v = o + 10;
			o = "--backend";
		} else if (!strcmp(o, "--names") || !strcmp(o, "--backend")) {
			if (a + 1 >= argc) {
				wg_err("option %s needs a value", o);
				return WG_EXIT_USAGE;
			}
			v = argv[++a];
		} else {
			wg_err("unknown option '%s'", o);
			usage(stderr);
			return WG_EXIT_USAGE;
		}
		if (!strcmp(o, "--names")) {
			if (!*v) {
				wg_err("--names needs a file name");
				return WG_EXIT_USAGE;
			}
			ctx.names_path = v;
		} else if (!strcmp(v, "netlink")) {
			ctx.backend = WG_BACKEND_NETLINK;
		} else if (!strcmp(v, "uapi")) {
			ctx.backend = WG_BACKEND_UAPI;
		} else {
			wg_err("unknown backend '%s' (netlink or uapi)", v);
			return WG_EXIT_USAGE;
		}
		a++;
	}
	if (a >= argc) {
		usage(stderr);
		return WG_EXIT_USAGE;
	}
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[a], subcommands[i].name))
			return subcommands[i].fn(&ctx, argc - a, argv + a);
	wg_err("unknown command '%s' (see --help)", argv[a]);
	return WG_EXIT_USAGE;
}
