/*
 * clawnexus-wg resolve NAME[.claw]: the tunnel address of a name.
 */

#include <arpa/inet.h>
#include <string.h>

#include "subcommands.h"

/* A name without a recorded address (on an interface managed elsewhere):
 * the first single-host allowed IP of the live peer. */
static const struct wg_allowedip *
live_address(struct wg_ctx *ctx, const struct wg_name *e,
	     struct wg_device *dev)
{
	wg_device_clear(dev);
	wg_device_init(dev, e->iface);
	if (wg_backend_get(ctx->backend, e->iface, dev, NULL) < 0)
		return NULL;
	return wg_entry_address(e, dev);
}

static void
resolve_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--names FILE] resolve NAME[.claw]\n"
		"\n"
		"Prints the tunnel address of NAME (its first single-host allowed\n"
		"IP, read from the interface when the names file records none,\n"
		"as on interfaces managed elsewhere).  Exit status 5 when NAME is\n"
		"unknown, 1 when it has no single-host address.\n",
		prog_name);
}

int
cmd_resolve(struct wg_ctx *ctx, int argc, char **argv)
{
	char name[WG_NAME_MAX + 1], addr[INET6_ADDRSTRLEN];
	const struct wg_allowedip *a;
	struct wg_names db;
	struct wg_name *e;
	struct wg_device dev;
	size_t n;
	int ret;

	if (argc >= 2 && wg_is_help(argv[1])) {
		resolve_usage(stdout);
		return WG_EXIT_OK;
	}
	if (argc != 2) {
		wg_err("resolve: needs NAME");
		resolve_usage(stderr);
		return WG_EXIT_USAGE;
	}
	n = strlen(argv[1]);
	if (n > 5 && !strcmp(argv[1] + n - 5, ".claw"))
		n -= 5;
	if (n > WG_NAME_MAX) {
		wg_err("unknown name '%s'", argv[1]);
		return WG_EXIT_UNKNOWN;
	}
	memcpy(name, argv[1], n);
	name[n] = '\0';
	if (ctx_load_names(ctx, &db) < 0)
		return WG_EXIT_FAIL;
	wg_device_init(&dev, "");
	e = wg_name_valid(name) ? wg_names_find(&db, name) : NULL;
	if (!e) {
		wg_err("unknown name '%s'", argv[1]);
		ret = WG_EXIT_UNKNOWN;
	} else if (!(a = wg_name_address(e)) &&
		   !(a = live_address(ctx, e, &dev))) {
		wg_err("'%s' has no single-host allowed IP (/32 or /128)",
		       name);
		ret = WG_EXIT_FAIL;
	} else {
		inet_ntop(a->family, &a->ip4, addr, sizeof(addr));
		printf("%s\n", addr);
		ret = WG_EXIT_OK;
	}
	wg_device_clear(&dev);
	wg_names_clear(&db);
	return ret;
}
