/*
 * clawnexus-wg: backend selection.  Like wg(8): a live UAPI socket for the
 * interface means a userspace implementation owns it; otherwise ask the
 * kernel.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "nlwire.h"
#include "uapi.h"

static enum wg_backend_kind
choose(enum wg_backend_kind kind, const char *ifname)
{
	if (kind != WG_BACKEND_AUTO)
		return kind;
	return wg_uapi_exists(ifname) ? WG_BACKEND_UAPI : WG_BACKEND_NETLINK;
}

int
wg_backend_get(enum wg_backend_kind kind, const char *ifname,
	       struct wg_device *dev, enum wg_backend_kind *used)
{
	enum wg_backend_kind k = choose(kind, ifname);

	if (used)
		*used = k;
	if (k == WG_BACKEND_UAPI)
		return wg_uapi_get(ifname, dev);
	return wg_nl_get(ifname, dev);
}

int
wg_backend_set(enum wg_backend_kind kind, const struct wg_device *dev)
{
	if (choose(kind, dev->name) == WG_BACKEND_UAPI)
		return wg_uapi_set(dev);
	return wg_nl_set(dev);
}

char *
wg_backend_list(void)
{
	size_t len = 0, cap = 256, i, j;
	char *list = calloc(1, cap), *out;

	if (!list)
		return NULL;
	wg_uapi_list(&list, &len, &cap);
	wg_nl_list(&list, &len, &cap);
	/* drop duplicates (a name seen by both) */
	out = calloc(1, len + 2);
	if (!out) {
		free(list);
		return NULL;
	}
	for (i = 0, j = 0; i < len; i += strlen(list + i) + 1) {
		size_t k;
		int dup = 0;

		for (k = 0; k < j; k += strlen(out + k) + 1)
			if (!strcmp(out + k, list + i))
				dup = 1;
		if (!dup) {
			strcpy(out + j, list + i);
			j += strlen(list + i) + 1;
		}
	}
	out[j] = '\0';
	free(list);
	return out;
}

const char *
wg_backend_strerror(int err)
{
	switch (err) {
	case WG_ENOKERNEL:
		return "no WireGuard interface of that name: no UAPI socket "
		       "and no kernel backend (generic netlink family "
		       "'wireguard' is absent)";
	case -ENODEV:
		return "no such WireGuard interface";
	case -EOPNOTSUPP:
		return "not a WireGuard interface";
	case -EPERM:
	case -EACCES:
		return "permission denied (needs root or CAP_NET_ADMIN)";
	case -EPROTO:
		return "malformed reply from the WireGuard implementation";
	default:
		return strerror(-err);
	}
}
