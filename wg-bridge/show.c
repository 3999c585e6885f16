/*
 * clawnexus-wg show [IFACE] [--json]: the live peers of an interface
 * with their names and a path status.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "subcommands.h"

static const char *
name_of(struct wg_names *db, const char *ifname, const uint8_t *key)
{
	struct wg_name *e = wg_names_find_key(db, ifname, key);

	return e ? e->name : NULL;
}

static void
show_text(struct wg_device *dev, struct wg_names *db, time_t now)
{
	char key[WG_KEY_B64_LEN + 1], s[INET6_ADDRSTRLEN + 16];
	size_t i, j;

	printf("interface: %s\n", dev->name);
	if (dev->flags & WGDEV_HAS_PUBLIC_KEY) {
		wg_key_to_base64(key, dev->public_key);
		printf("  public key: %s\n", key);
	}
	if (dev->listen_port)
		printf("  listening port: %u\n", dev->listen_port);
	for (i = 0; i < dev->npeers; i++) {
		struct wg_peer *p = &dev->peers[i];
		const char *name = name_of(db, dev->name, p->public_key);

		wg_key_to_base64(key, p->public_key);
		printf("\npeer: %s\n  public key: %s\n  status: %s\n",
		       name ? name : "(no name)", key,
		       wg_peer_status(p, now));
		if ((p->flags & WGPEER_HAS_ENDPOINT) &&
		    wg_endpoint_format(s, sizeof(s), &p->endpoint) > 0)
			printf("  endpoint: %s\n", s);
		printf("  allowed ips: ");
		for (j = 0; j < p->nips; j++) {
			wg_allowedip_format(s, sizeof(s), &p->ips[j]);
			printf("%s%s", j ? ", " : "", s);
		}
		printf("%s\n", p->nips ? "" : "(none)");
		if (p->last_handshake_sec)
			printf("  latest handshake: %lld seconds ago\n",
			       (long long)(now - p->last_handshake_sec));
		else
			printf("  latest handshake: never\n");
		printf("  transfer: %" PRIu64 " B received, %" PRIu64
		       " B sent\n", p->rx_bytes, p->tx_bytes);
		if (p->keepalive)
			printf("  persistent keepalive: every %u seconds\n",
			       p->keepalive);
	}
}

static void
show_json(struct wg_device *dev, struct wg_names *db, time_t now)
{
	char key[WG_KEY_B64_LEN + 1], s[INET6_ADDRSTRLEN + 16];
	size_t i, j;

	printf("{\"interface\":");
	wg_json_str(stdout, dev->name);
	if (dev->flags & WGDEV_HAS_PUBLIC_KEY) {
		wg_key_to_base64(key, dev->public_key);
		printf(",\"public_key\":\"%s\"", key);
	}
	printf(",\"listen_port\":%u,\"peers\":[", dev->listen_port);
	for (i = 0; i < dev->npeers; i++) {
		struct wg_peer *p = &dev->peers[i];
		const char *name = name_of(db, dev->name, p->public_key);

		wg_key_to_base64(key, p->public_key);
		printf("%s{\"name\":", i ? "," : "");
		if (name)
			wg_json_str(stdout, name);
		else
			printf("null");
		printf(",\"public_key\":\"%s\",\"endpoint\":", key);
		if ((p->flags & WGPEER_HAS_ENDPOINT) &&
		    wg_endpoint_format(s, sizeof(s), &p->endpoint) > 0)
			printf("\"%s\"", s);
		else
			printf("null");
		printf(",\"allowed_ips\":[");
		for (j = 0; j < p->nips; j++) {
			wg_allowedip_format(s, sizeof(s), &p->ips[j]);
			printf("%s\"%s\"", j ? "," : "", s);
		}
		printf("],\"latest_handshake\":%lld,\"rx_bytes\":%" PRIu64
		       ",\"tx_bytes\":%" PRIu64 ",\"persistent_keepalive\":%u"
		       ",\"status\":\"%s\"}", (long long)p->last_handshake_sec,
		       p->rx_bytes, p->tx_bytes, p->keepalive,
		       wg_peer_status(p, now));
	}
	printf("]}");
}

static void
show_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--names FILE] [--backend netlink|uapi] show [IFACE] "
		"[--json]\n"
		"\n"
		"Lists the peers of IFACE (or of every WireGuard interface) with\n"
		"their names, endpoint, allowed IPs, latest handshake, transfer\n"
		"and status: direct (handshake within 180 s), stale or never.\n",
		prog_name);
}

int
cmd_show(struct wg_ctx *ctx, int argc, char **argv)
{
	const char *ifname = NULL;
	struct wg_names db;
	struct wg_device dev;
	char *list = NULL, *it;
	int json = 0, i, ret = WG_EXIT_OK, n = 0;
	time_t now = time(NULL);

	for (i = 1; i < argc; i++) {
		if (wg_is_help(argv[i])) {
			show_usage(stdout);
			return WG_EXIT_OK;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!ifname && argv[i][0] != '-') {
			ifname = argv[i];
		} else {
			wg_err("show: unexpected argument '%s'", argv[i]);
			show_usage(stderr);
			return WG_EXIT_USAGE;
		}
	}
	if (ifname && !wg_ifname_valid(ifname)) {
		wg_err("bad interface name '%s'", ifname);
		return WG_EXIT_USAGE;
	}
	if (ctx_load_names(ctx, &db) < 0)
		return WG_EXIT_FAIL;
	if (ifname) {
		if (ctx_get_device(ctx, ifname, &dev) < 0) {
			wg_names_clear(&db);
			return WG_EXIT_FAIL;
		}
		if (json)
			show_json(&dev, &db, now);
		else
			show_text(&dev, &db, now);
		if (json)
			printf("\n");
		wg_device_clear(&dev);
		wg_names_clear(&db);
		return WG_EXIT_OK;
	}
	list = wg_backend_list();
	if (json)
		printf("[");
	for (it = list; it && *it; it += strlen(it) + 1) {
		if (ctx_get_device(ctx, it, &dev) < 0) {
			ret = WG_EXIT_FAIL;
			continue;
		}
		if (json) {
			printf("%s", n ? "," : "");
			show_json(&dev, &db, now);
		} else {
			printf("%s", n ? "\n" : "");
			show_text(&dev, &db, now);
		}
		n++;
		wg_device_clear(&dev);
	}
	if (json)
		printf("]\n");
	free(list);
	wg_names_clear(&db);
	return ret;
}

