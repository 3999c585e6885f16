/*
 * clawnexus-wg unname IFACE NAME: forget the name of a peer of an
 * interface managed elsewhere.  The interface is not touched and stays
 * marked.
 */

#include <string.h>

#include "subcommands.h"

static void
unname_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--names-file FILE] unname IFACE NAME\n"
		"\n"
		"Removes the record of NAME on IFACE, an interface managed\n"
		"elsewhere; the peer itself stays on the interface.  Exit\n"
		"status 5 when NAME is not recorded for IFACE.\n",
		prog_name);
}

int
cmd_unname(struct wg_ctx *ctx, int argc, char **argv)
{
	struct wg_names db;
	struct wg_name *e;
	int ret = WG_EXIT_FAIL, rc;

	rc = wg_args_iface(argc, argv, 3, unname_usage,
			   "unname: needs IFACE NAME");
	if (rc >= 0)
		return rc;
	if (ctx_load_names(ctx, &db) < 0)
		return WG_EXIT_FAIL;
	e = wg_names_find(&db, argv[2]);
	if (!e || strcmp(e->iface, argv[1])) {
		wg_err("unknown name '%s' on %s", argv[2], argv[1]);
		ret = WG_EXIT_UNKNOWN;
		goto out;
	}
	if (!wg_names_managed(&db, argv[1])) {
		wg_err("interface %s is not managed elsewhere: use 'remove' "
		       "(it also takes the peer off the interface)", argv[1]);
		goto out;
	}
	if (ctx_check_names_writable(ctx) < 0 ||
	    wg_names_remove(&db, argv[2]) < 0 || ctx_save_names(ctx, &db) < 0)
		goto out;
	printf("%s: name removed on %s\n", argv[2], argv[1]);
	ret = WG_EXIT_OK;
out:
	wg_names_clear(&db);
	return ret;
}
