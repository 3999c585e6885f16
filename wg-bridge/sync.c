/*
 * clawnexus-wg sync IFACE: make the interface carry every named peer of
 * IFACE (add the missing ones, update the changed ones).  Peers without a
 * name are never touched and the peer list is never replaced as a whole.
 */

#include <errno.h>
#include <string.h>

#include "subcommands.h"

int
wg_do_sync(struct wg_ctx *ctx, const char *ifname, int quiet)
{
	struct wg_names db;
	struct wg_device dev, req;
	struct wg_peer ensure;
	size_t i, j, added = 0, updated = 0, same = 0;
	int ret = -1;

	if (ctx_load_names(ctx, &db) < 0)
		return -1;
	wg_device_init(&req, ifname);
	memset(&ensure, 0, sizeof(ensure));
	if (ctx_refuse_managed(ctx, &db, ifname, "sync") ||
	    ctx_route_policy(ctx, ifname, &ctx->route) < 0)
		goto out;
	/* every entry must be usable before anything is sent */
	for (i = 0; i < db.n; i++) {
		struct wg_peer *p;

		if (strcmp(db.v[i].iface, ifname))
			continue;
		if (!(p = wg_device_add_peer(&req)) ||
		    wg_name_to_peer(&db.v[i], p) < 0) {
			if (p)
				req.npeers--;
			goto out;
		}
	}
	if (ctx_get_device(ctx, ifname, &dev) < 0)
		goto out;
	/* keep only what differs; a new peer gets everything */
	for (i = 0; i < req.npeers;) {
		struct wg_peer *want = &req.peers[i];
		struct wg_peer *live = wg_device_find_peer(&dev,
							   want->public_key);

		if (!live) {
			added++;
			i++;
		} else if (!wg_peer_matches(want, live)) {
			updated++;
			i++;
		} else {
			same++;
			wg_peer_clear(want);
			memmove(want, want + 1,
				(req.npeers - i - 1) * sizeof(*want));
			req.npeers--;
		}
	}
	if (req.npeers && ctx_set_device(ctx, &req) < 0)
		goto out_dev;
	/* every named peer's prefixes are routed, also those of unchanged
	 * peers (routes go away with the interface, peers may not) */
	for (i = 0; i < db.n; i++)
		for (j = 0; j < db.v[i].peer.nips; j++)
			if (!strcmp(db.v[i].iface, ifname) &&
			    wg_peer_add_ip(&ensure, &db.v[i].peer.ips[j]) < 0)
				goto out_dev;
	if (ctx_routes_after_set(ctx, ifname, &dev, &req, &ensure) < 0)
		goto out_dev;
	if (!quiet)
		printf("%s: %zu added, %zu updated, %zu unchanged\n", ifname,
		       added, updated, same);
	/* clawnexus-link reads the export: a failure there is a warning */
	wg_do_export_write(ctx);
	ret = 0;
out_dev:
	wg_device_clear(&dev);
out:
	wg_peer_clear(&ensure);
	wg_device_clear(&req);
	wg_names_clear(&db);
	return ret;
}

/*
 * The undo of sync for "hook down": take the named peers of ifname off
 * the interface, so that wg-quick's SaveConfig does not copy them into
 * the configuration (the names file brings them back on "hook up").
 */
int
wg_do_unsync(struct wg_ctx *ctx, const char *ifname)
{
	struct wg_names db;
	struct wg_device dev, req;
	size_t i;
	int ret = -1;

	if (ctx_load_names(ctx, &db) < 0)
		return -1;
	wg_device_init(&req, ifname);
	if (ctx_refuse_managed(ctx, &db, ifname, "hook down") ||
	    ctx_route_policy(ctx, ifname, &ctx->route) < 0)
		goto out;
	if (ctx_get_device(ctx, ifname, &dev) < 0)
		goto out;
	for (i = 0; i < db.n; i++) {
		if (strcmp(db.v[i].iface, ifname) ||
		    !wg_device_find_peer(&dev, db.v[i].peer.public_key))
			continue;
		if (wg_device_add_removal(&req, db.v[i].peer.public_key) < 0)
			goto out_dev;
	}
	if (req.npeers && ctx_set_device(ctx, &req) < 0)
		goto out_dev;
	if (ctx_routes_after_set(ctx, ifname, &dev, &req, NULL) < 0)
		goto out_dev;
	ret = 0;
out_dev:
	wg_device_clear(&dev);
out:
	wg_device_clear(&req);
	wg_names_clear(&db);
	return ret;
}

static void
sync_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--names FILE] [--backend netlink|uapi] sync IFACE\n"
		"\n"
		"Adds the named peers of IFACE that the interface lacks and\n"
		"updates those that differ from the names file.  Other peers are\n"
		"left alone.\n",
		prog_name);
}

int
cmd_sync(struct wg_ctx *ctx, int argc, char **argv)
{
	int ret = wg_args_iface(argc, argv, 2, sync_usage, "sync: needs IFACE");

	if (ret >= 0)
		return ret;
	return wg_do_sync(ctx, argv[1], 0) < 0 ? WG_EXIT_FAIL : WG_EXIT_OK;
}

