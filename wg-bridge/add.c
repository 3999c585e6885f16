/*
 * clawnexus-wg add IFACE NAME --public-key KEY [...]: record a name and
 * apply that one peer (added, or updated in place).
 */

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "subcommands.h"

static void
add_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--names FILE] add IFACE NAME --public-key KEY\n"
		"           [--allowed-ips CIDR[,CIDR...]] [--endpoint HOST:PORT]\n"
		"           [--persistent-keepalive SECONDS]\n"
		"           [--preshared-key-file FILE] [--replace]\n"
		"\n"
		"Records NAME for the peer KEY of IFACE in the names file and\n"
		"adds or updates that peer only.  A name keeps its key: use\n"
		"--replace to give an existing name another key.\n",
		prog_name);
}

int
cmd_add(struct wg_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "public-key", required_argument, NULL, 'k' },
		{ "allowed-ips", required_argument, NULL, 'a' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "persistent-keepalive", required_argument, NULL, 'p' },
		{ "preshared-key-file", required_argument, NULL, 's' },
		{ "replace", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *key = NULL, *ips = NULL, *ep = NULL, *ka = NULL;
	const char *psk = NULL, *ifname, *name, *bad = "";
	struct wg_names db;
	struct wg_name e, *old;
	struct wg_device dev, req;
	struct wg_peer *p;
	uint8_t oldkey[WG_KEY_LEN];
	int c, replace = 0, remove_old = 0, ret = WG_EXIT_FAIL;
	size_t badlen = 0;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'a': ips = optarg; break;
		case 'e': ep = optarg; break;
		case 'p': ka = optarg; break;
		case 's': psk = optarg; break;
		case 'r': replace = 1; break;
		case 'h': add_usage(stdout); return WG_EXIT_OK;
		case ':':
			wg_err("add: option %s needs a value",
			       argv[optind - 1]);
			return WG_EXIT_USAGE;
		default:
			wg_err("add: unknown option %s", argv[optind - 1]);
			add_usage(stderr);
			return WG_EXIT_USAGE;
		}
	}
	if (argc - optind != 2 || !key) {
		wg_err("add: needs IFACE NAME and --public-key KEY");
		add_usage(stderr);
		return WG_EXIT_USAGE;
	}
	ifname = argv[optind];
	name = argv[optind + 1];

	/* validate everything before touching the interface or the file */
	if ((c = wg_entry_start(&e, ifname, name, key)) >= 0)
		return c;
	if (ips && wg_allowedips_parse_list(&e.peer, ips, &bad, &badlen) < 0) {
		wg_err("bad allowed IP '%.*s' (ADDRESS/BITS)", (int)badlen,
		       bad);
		ret = WG_EXIT_USAGE;
		goto out_e;
	}
	if (ep) {
		if (!wg_endpoint_syntax_ok(ep)) {
			wg_err("bad endpoint '%s' (HOST:PORT or [IPv6]:PORT)",
			       ep);
			ret = WG_EXIT_USAGE;
			goto out_e;
		}
		e.endpoint = strdup(ep);
	}
	if (ka) {
		if (wg_parse_u16(ka, &e.peer.keepalive) < 0) {
			wg_err("bad persistent keepalive '%s' (0-65535 "
			       "seconds)", ka);
			ret = WG_EXIT_USAGE;
			goto out_e;
		}
		e.peer.flags |= WGPEER_HAS_KEEPALIVE;
	}
	if (psk) {
		char *abs = realpath(psk, NULL);

		if (!abs) {
			wg_err("preshared key file %s: %s", psk,
			       strerror(errno));
			goto out_e;
		}
		e.psk_file = abs;
	}
	if ((ep && !e.endpoint) || wg_name_check(&e, NULL, 0) < 0) {
		wg_err("add: cannot record '%s' (bad field or out of memory)",
		       name);
		goto out_e;
	}

	if (ctx_load_names(ctx, &db) < 0)
		goto out_e;
	if (ctx_refuse_managed(ctx, &db, ifname, "add"))
		goto out_db;
	if (wg_entry_pinned(&db, &e, key, replace, &old) < 0)
		goto out_db;
	if (old && !wg_key_equal(old->peer.public_key, e.peer.public_key)) {
		memcpy(oldkey, old->peer.public_key, WG_KEY_LEN);
		remove_old = 1;
	}
	if (ctx_check_names_writable(ctx) < 0 ||
	    ctx_route_policy(ctx, ifname, &ctx->route) < 0)
		goto out_db;

	wg_device_init(&req, ifname);
	if (!(p = wg_device_add_peer(&req)) || wg_name_to_peer(&e, p) < 0)
		goto out_req;
	if (!ips)
		p->flags &= ~(unsigned int)WGPEER_REPLACE_ALLOWEDIPS;

	if (ctx_get_device(ctx, ifname, &dev) < 0)
		goto out_req;
	if (remove_old && wg_device_find_peer(&dev, oldkey) &&
	    wg_device_add_removal(&req, oldkey) < 0)
		goto out_dev;
	if (ctx_set_device(ctx, &req) < 0)
		goto out_dev;
	if (wg_names_put(&db, &e) < 0 || ctx_save_names(ctx, &db) < 0)
		goto out_dev;
	printf("%s: %s on %s\n", name, old ? "updated" : "added", ifname);
	ret = ctx_routes_after_set(ctx, ifname, &dev, &req, NULL) < 0 ?
	      WG_EXIT_FAIL : WG_EXIT_OK;
out_dev:
	wg_device_clear(&dev);
out_req:
	wg_device_clear(&req);
out_db:
	wg_names_clear(&db);
out_e:
	wg_name_clear(&e);
	return ret;
}

