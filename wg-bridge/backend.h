/*
 * clawnexus-wg: one interface over two backends, the kernel (generic
 * netlink family "wireguard") and userspace implementations (the UAPI
 * text protocol of wireguard-go and boringtun).  Chosen per interface the
 * way wg(8) does: a live UAPI socket wins, otherwise the kernel.
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

/* The folder of the UAPI sockets ($CLAWNEXUS_WG_SOCKET_DIR overrides). */
const char *wg_uapi_dir(void);

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

/* backend-uapi.c: pure request building and reply parsing */
int wg_uapi_build_set(const struct wg_device *dev, char **out, size_t *len);
int wg_uapi_parse_get(struct wg_device *dev, const char *buf, size_t len);
int wg_uapi_parse_errno(const char *buf, size_t len);
/* socket I/O */
int wg_uapi_exists(const char *ifname);
int wg_uapi_get(const char *ifname, struct wg_device *dev);
int wg_uapi_set(const struct wg_device *dev);
int wg_uapi_list(char **list, size_t *len, size_t *cap);

/* backend-netlink.c */
int wg_nl_get(const char *ifname, struct wg_device *dev);
int wg_nl_set(const struct wg_device *dev);
int wg_nl_list(char **list, size_t *len, size_t *cap);

#endif
