/*
 * clawnexus-wg remove IFACE NAME: take a named peer off the interface and
 * its record out of the names file.
 */

#include <string.h>

#include "subcommands.h"

static void
remove_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--names FILE] remove IFACE NAME\n"
		"\n"
		"Removes the peer named NAME from IFACE and its record from the\n"
		"names file.  Exit status 5 when NAME is not recorded for IFACE.\n",
		prog_name);
}

int
cmd_remove(struct wg_ctx *ctx, int argc, char **argv)
{
	struct wg_names db;
	struct wg_name *e;
	struct wg_device dev, req;
	int ret = WG_EXIT_FAIL, rc;

	rc = wg_args_iface(argc, argv, 3, remove_usage,
			   "remove: needs IFACE NAME");
	if (rc >= 0)
		return rc;
	if (ctx_load_names(ctx, &db) < 0)
		return WG_EXIT_FAIL;
	if (ctx_refuse_managed(ctx, &db, argv[1], "remove")) {
		wg_names_clear(&db);
		return WG_EXIT_FAIL;
	}
	e = wg_names_find(&db, argv[2]);
	if (!e || strcmp(e->iface, argv[1])) {
		wg_err("unknown name '%s' on %s", argv[2], argv[1]);
		wg_names_clear(&db);
		return WG_EXIT_UNKNOWN;
	}
	if (ctx_check_names_writable(ctx) < 0 ||
	    ctx_route_policy(ctx, argv[1], &ctx->route) < 0)
		goto out_db;
	wg_device_init(&req, argv[1]);
	if (ctx_get_device(ctx, argv[1], &dev) < 0)
		goto out_req;
	if (wg_device_find_peer(&dev, e->peer.public_key)) {
		if (wg_device_add_removal(&req, e->peer.public_key) < 0 ||
		    ctx_set_device(ctx, &req) < 0)
			goto out_dev;
	}
	if (wg_names_remove(&db, argv[2]) < 0 || ctx_save_names(ctx, &db) < 0)
		goto out_dev;
	printf("%s: removed from %s\n", argv[2], argv[1]);
	ret = ctx_routes_after_set(ctx, argv[1], &dev, &req, NULL) < 0 ?
	      WG_EXIT_FAIL : WG_EXIT_OK;
out_dev:
	wg_device_clear(&dev);
out_req:
	wg_device_clear(&req);
out_db:
	wg_names_clear(&db);
	return ret;
}
