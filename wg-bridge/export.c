/*
 * clawnexus-wg export IFACE: the named peers of an interface as JSON for
 * clawnexus-link.
 */

#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include "subcommands.h"

static void
export_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--names FILE] export IFACE\n"
		"\n"
		"Prints the named peers of IFACE as JSON for clawnexus-link: name,\n"
		"tunnel address, allowed IPs, public key, endpoint and status.\n"
		"When the interface cannot be read, status is \"unknown\".\n",
		prog_name);
}

int
cmd_export(struct wg_ctx *ctx, int argc, char **argv)
{
	char key[WG_KEY_B64_LEN + 1], s[INET6_ADDRSTRLEN + 16];
	struct wg_names db;
	struct wg_device dev;
	int have_dev, n = 0, rc;
	size_t i, j;
	time_t now = time(NULL);

	rc = wg_args_iface(argc, argv, 2, export_usage, "export: needs IFACE");
	if (rc >= 0)
		return rc;
	if (ctx_load_names(ctx, &db) < 0)
		return WG_EXIT_FAIL;
	wg_device_init(&dev, argv[1]);
	have_dev = wg_backend_get(ctx->backend, argv[1], &dev, NULL) == 0;
	if (!have_dev)
		wg_warn("interface %s cannot be read: status is unknown",
			argv[1]);
	printf("{\"version\":1,\"interface\":");
	json_str(stdout, argv[1]);
	printf(",\"peers\":[");
	for (i = 0; i < db.n; i++) {
		const struct wg_name *e = &db.v[i];
		const struct wg_allowedip *a = wg_name_address(e);
		struct wg_peer *live = NULL;

		if (strcmp(e->iface, argv[1]))
			continue;
		if (have_dev)
			live = wg_device_find_peer(&dev, e->peer.public_key);
		wg_key_to_base64(key, e->peer.public_key);
		printf("%s{\"name\":\"%s\",\"address\":", n++ ? "," : "",
		       e->name);
		if (a) {
			inet_ntop(a->family, &a->ip4, s, sizeof(s));
			printf("\"%s\"", s);
		} else {
			printf("null");
		}
		printf(",\"allowed_ips\":[");
		for (j = 0; j < e->peer.nips; j++) {
			wg_allowedip_format(s, sizeof(s), &e->peer.ips[j]);
			printf("%s\"%s\"", j ? "," : "", s);
		}
		printf("],\"public_key\":\"%s\",\"endpoint\":", key);
		if (live && (live->flags & WGPEER_HAS_ENDPOINT) &&
		    wg_endpoint_format(s, sizeof(s), &live->endpoint) > 0)
			printf("\"%s\"", s);
		else if (e->endpoint)
			json_str(stdout, e->endpoint);
		else
			printf("null");
		printf(",\"status\":\"%s\",\"latest_handshake\":%lld}",
		       !have_dev ? "unknown" : !live ? "absent" :
		       wg_peer_status(live, now),
		       live ? (long long)live->last_handshake_sec : 0LL);
	}
	printf("]}\n");
	wg_device_clear(&dev);
	wg_names_clear(&db);
	return WG_EXIT_OK;
}
