/*
 * clawnexus-wg: ClawNexus names for WireGuard peers.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clawnexus.h"
#include "routes.h"
#include "subcommands.h"

static const struct {
	const char *name;
	int (*fn)(struct wg_ctx *, int, char **);
	const char *description;
} subcommands[] = {
	{ "add", cmd_add, "record a name and add or update its peer" },
	{ "remove", cmd_remove, "remove a named peer and its record" },
	{ "name", cmd_name, "name a peer of an interface managed elsewhere" },
	{ "unname", cmd_unname, "forget such a name (the peer stays)" },
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
		"Usage: %s [--names-file FILE] [--export-file FILE]\n"
		"       [--backend netlink|uapi] [--table TABLE | --no-routes]\n"
		"       [--wg-quick-config FILE] COMMAND [ARGS]\n"
		"       %s --help | --version | COMMAND --help\n"
		"\n"
		"ClawNexus names for WireGuard peers.  Commands:\n",
		prog_name, prog_name);
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-8s %s\n", subcommands[i].name,
			subcommands[i].description);
	fprintf(f,
		"\n"
		"--names-file FILE   names file (default %s;\n"
		"                    --names is the older spelling)\n"
		"--export-file FILE  where sync and hook write the export that\n"
		"                    clawnexus-link reads (default %s;\n"
		"                    \"\" for none)\n"
		"--backend B         netlink or uapi (default: a live UAPI\n"
		"                    socket wins, otherwise the kernel)\n"
		"--table TABLE       routes for applied peers go there: main,\n"
		"                    a number, a name, auto or off (default:\n"
		"                    the interface's Table = in its wg-quick\n"
		"                    configuration, else auto = main)\n"
		"--no-routes         add or remove no routes (= --table off)\n"
		"--wg-quick-config F where to read Table = (default\n"
		"                    /etc/wireguard/IFACE.conf)\n"
		"Exit status: 0 ok, 1 failure, 2 usage error, 5 unknown name.\n"
		"See clawnexus-wg(1).\n", WG_NAMES_DEFAULT, WG_EXPORT_DEFAULT);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "names-file", required_argument, NULL, 'n' },
		{ "names", required_argument, NULL, 'n' },
		{ "export-file", required_argument, NULL, 'x' },
		{ "backend", required_argument, NULL, 'b' },
		{ "table", required_argument, NULL, 't' },
		{ "no-routes", no_argument, NULL, 'R' },
		{ "wg-quick-config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct wg_ctx ctx;
	struct wg_route_policy pol;
	const char *env;
	size_t i;
	int c;

	memset(&ctx, 0, sizeof(ctx));
	ctx.names_path = WG_NAMES_DEFAULT;
	ctx.export_path = WG_EXPORT_DEFAULT;
	ctx.backend = WG_BACKEND_AUTO;
	if ((env = getenv("CLAWNEXUS_WG_NAMES")) && *env)
		ctx.names_path = env;
	if ((env = getenv("CLAWNEXUS_WG_EXPORT")))
		ctx.export_path = env;
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: cannot initialise libsodium\n",
			prog_name);
		return WG_EXIT_FAIL;
	}
	opterr = 0;
	/* "+": options end at the command, which parses its own */
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return WG_EXIT_OK;
		case 'V':
			printf("clawnexus-wg %s\n", cnx_version());
			return WG_EXIT_OK;
		case 'n':
			if (!*optarg) {
				wg_err("--names-file needs a file name");
				return WG_EXIT_USAGE;
			}
			ctx.names_path = optarg;
			break;
		case 'x':
			ctx.export_path = optarg;
			break;
		case 'b':
			if (!strcmp(optarg, "netlink")) {
				ctx.backend = WG_BACKEND_NETLINK;
			} else if (!strcmp(optarg, "uapi")) {
				ctx.backend = WG_BACKEND_UAPI;
			} else {
				wg_err("unknown backend '%s' (netlink or "
				       "uapi)", optarg);
				return WG_EXIT_USAGE;
			}
			break;
		case 't':
			if (wg_route_policy_parse(&pol, optarg) < 0) {
				wg_err("bad table '%s' (off, auto, main, a "
				       "number or a name in "
				       "/etc/iproute2/rt_tables)", optarg);
				return WG_EXIT_USAGE;
			}
			ctx.table = optarg;
			break;
		case 'R':
			ctx.no_routes = 1;
			break;
		case 'c':
			ctx.wg_quick_config = optarg;
			break;
		case ':':
			wg_err("option %s needs a value", argv[optind - 1]);
			return WG_EXIT_USAGE;
		default:
			wg_err("unknown option '%s'", argv[optind - 1]);
			usage(stderr);
			return WG_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return WG_EXIT_USAGE;
	}
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[optind], subcommands[i].name))
			return subcommands[i].fn(&ctx, argc - optind,
						 argv + optind);
	wg_err("unknown command '%s' (see --help)", argv[optind]);
	return WG_EXIT_USAGE;
}
