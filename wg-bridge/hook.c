/*
 * clawnexus-wg hook up|down IFACE: the wg-quick PostUp / PreDown hook,
 * sync plus the hosts block, and its undo.
 */

#include <string.h>

#include "subcommands.h"

static void
hook_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--names FILE] hook up|down IFACE [--file HOSTS]\n"
		"\n"
		"For wg-quick:  PostUp = clawnexus-wg hook up %%i\n"
		"               PreDown = clawnexus-wg hook down %%i\n"
		"up: sync IFACE (a failure exits 1, and wg-quick then removes\n"
		"the interface), then write its block into the hosts file (a\n"
		"failure there is a warning).\n"
		"down: the undo: take the named peers off IFACE and remove the\n"
		"block; problems are warnings and the exit status stays 0 so\n"
		"that wg-quick can finish.\n",
		prog_name);
}

int
cmd_hook(struct wg_ctx *ctx, int argc, char **argv)
{
	const char *file = "/etc/hosts", *dir, *ifname;

	if (argc >= 2 && wg_is_help(argv[1])) {
		hook_usage(stdout);
		return WG_EXIT_OK;
	}
	if (argc == 5 && !strcmp(argv[3], "--file"))
		file = argv[4];
	else if (argc == 4 && !strncmp(argv[3], "--file=", 7))
		file = argv[3] + 7;
	else if (argc != 3) {
		wg_err("hook: needs up|down IFACE [--file HOSTS]");
		hook_usage(stderr);
		return WG_EXIT_USAGE;
	}
	dir = argv[1];
	ifname = argv[2];
	if (!wg_ifname_valid(ifname)) {
		wg_err("bad interface name '%s'", ifname);
		return strcmp(dir, "down") ? WG_EXIT_USAGE : WG_EXIT_OK;
	}
	if (!strcmp(dir, "up") || !strcmp(dir, "down")) {
		struct wg_names db;
		int managed;

		if (ctx_load_names(ctx, &db) < 0)
			return strcmp(dir, "up") ? WG_EXIT_OK : WG_EXIT_FAIL;
		managed = ctx_refuse_managed(ctx, &db, ifname,
					     strcmp(dir, "up") ? "hook down" :
					     "hook up");
		wg_names_clear(&db);
		if (managed)
			return strcmp(dir, "up") ? WG_EXIT_OK : WG_EXIT_FAIL;
	}
	if (!strcmp(dir, "up")) {
		/* a failing PostUp makes wg-quick delete the interface: only
		 * a peer configuration that cannot be applied is worth that;
		 * a hosts file that cannot be written is a warning */
		if (wg_do_sync(ctx, ifname, 0) < 0)
			return WG_EXIT_FAIL;
		if (wg_do_hosts(ctx, ifname, file, 0) < 0)
			wg_warn("hook up %s: the hosts block in %s was not "
				"written", ifname, file);
		return WG_EXIT_OK;
	}
	if (!strcmp(dir, "down")) {
		if (wg_do_unsync(ctx, ifname) < 0)
			wg_warn("hook down %s: named peers were not removed",
				ifname);
		wg_do_export_write(ctx);
		if (wg_do_hosts(ctx, ifname, file, 1) < 0)
			wg_warn("hook down %s: the hosts block in %s was not "
				"removed", ifname, file);
		return WG_EXIT_OK;
	}
	wg_err("hook: expected 'up' or 'down', got '%s'", dir);
	return WG_EXIT_USAGE;
}
