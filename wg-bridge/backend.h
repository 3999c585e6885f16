/*
 * clawnexus-wg: one interface over two backends, the kernel (generic
 * netlink family "wireguard") and userspace implementations (the UAPI
 * text protocol of wireguard-go and boringtun).  Chosen per interface the
 * way wg(8) does: a live UAPI socket wins, otherwise the kernel.
 *
 * Only get, set and list are public; the wire formats of each backend
 * are private to it (uapi.h, nlwire.h, included by the unit tests).
 */

#ifndef CLAWNEXUS_WG_BACKEND_H
#define CLAWNEXUS_WG_BACKEND_H

#include "wg.h"

enum wg_backend_kind {
	WG_BACKEND_AUTO,
	WG_BACKEND_NETLINK,
	WG_BACKEND_UAPI
};

/* Returned when the kernel has no "wireguard" generic netlink family. */
#define WG_ENOKERNEL	(-10000)

/* Read the device: 0 or -errno (WG_ENOKERNEL, -ENODEV, -EPERM...).
 * *used tells which backend answered. */
int wg_backend_get(enum wg_backend_kind kind, const char *ifname,
		   struct wg_device *dev, enum wg_backend_kind *used);
/* Apply dev (its peers and flags) to the interface dev->name. */
int wg_backend_set(enum wg_backend_kind kind, const struct wg_device *dev);
/* NUL-separated list of WireGuard interface names, ending in "\0\0". */
char *wg_backend_list(void);
/* A one-line explanation for a backend error code. */
const char *wg_backend_strerror(int err);

#endif
