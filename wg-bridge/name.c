/*
 * clawnexus-wg name IFACE NAME --public-key KEY: name a peer of an
 * interface whose peers another program applies (a mesh manager, a
 * control plane).  Only the names file changes; the interface is read at
 * most, never written.
 */

#include <getopt.h>
#include <string.h>

#include "subcommands.h"

static void
name_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--names-file FILE] name IFACE NAME --public-key KEY "
		"[--replace]\n"
		"\n"
		"Records NAME for the peer KEY of IFACE and marks IFACE as\n"
		"managed elsewhere: clawnexus-wg will never add, change or\n"
		"remove a peer there (add, remove, sync and hook refuse), and\n"
		"show, resolve, hosts and export read the peer's address from\n"
		"the interface.  A name keeps its key: use --replace to give an\n"
		"existing name another key.\n",
		prog_name);
}

int
cmd_name(struct wg_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "public-key", required_argument, NULL, 'k' },
		{ "replace", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *key = NULL, *ifname, *name;
	struct wg_names db;
	struct wg_name e, *old;
	struct wg_device dev;
	size_t i;
	int c, replace = 0, ret = WG_EXIT_FAIL;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'r': replace = 1; break;
		case 'h': name_usage(stdout); return WG_EXIT_OK;
		case ':':
			wg_err("name: option %s needs a value",
			       argv[optind - 1]);
			return WG_EXIT_USAGE;
		default:
			wg_err("name: unknown option %s", argv[optind - 1]);
			name_usage(stderr);
			return WG_EXIT_USAGE;
		}
	}
	if (argc - optind != 2 || !key) {
		wg_err("name: needs IFACE NAME and --public-key KEY");
		name_usage(stderr);
		return WG_EXIT_USAGE;
	}
	ifname = argv[optind];
	name = argv[optind + 1];
	if ((c = wg_entry_start(&e, ifname, name, key)) >= 0)
		return c;
	if (ctx_load_names(ctx, &db) < 0)
		return WG_EXIT_FAIL;
	if (!wg_names_managed(&db, ifname)) {
		for (i = 0; i < db.n; i++)
			if (!strcmp(db.v[i].iface, ifname))
				break;
		if (i < db.n) {
			wg_err("interface %s has peers that clawnexus-wg "
			       "applies ('%s'...): use 'add' there, or "
			       "'remove' them before naming peers that "
			       "another program applies", ifname,
			       db.v[i].name);
			goto out;
		}
	}
	if (wg_entry_pinned(&db, &e, key, replace, &old) < 0)
		goto out;
	if (ctx_check_names_writable(ctx) < 0)
		goto out;
	/* the control plane may add the peer later: only say so */
	wg_device_init(&dev, ifname);
	if (wg_backend_get(ctx->backend, ifname, &dev, NULL) == 0 &&
	    !wg_device_find_peer(&dev, e.peer.public_key))
		wg_warn("%s has no peer with key %s (yet)", ifname, key);
	wg_device_clear(&dev);
	if (wg_names_mark_managed(&db, ifname) < 0 ||
	    wg_names_put(&db, &e) < 0 || ctx_save_names(ctx, &db) < 0)
		goto out;
	printf("%s: %s on %s (managed elsewhere)\n", name,
	       old ? "renamed" : "named", ifname);
	ret = WG_EXIT_OK;
out:
	wg_names_clear(&db);
	wg_name_clear(&e);
	return ret;
}
