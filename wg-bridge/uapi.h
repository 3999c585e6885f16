/*
 * clawnexus-wg: the userspace backend (UAPI text protocol of wireguard-go
 * and boringtun).  Private to backend.c, backend-uapi.c and the unit
 * tests; the commands use backend.h.
 */

#ifndef CLAWNEXUS_WG_UAPI_H
#define CLAWNEXUS_WG_UAPI_H

#include "wg.h"

/* The folder of the UAPI sockets ($CLAWNEXUS_WG_SOCKET_DIR overrides). */
const char *wg_uapi_dir(void);

/* backend-uapi.c: pure request building and reply parsing */
int wg_uapi_build_set(const struct wg_device *dev, char **out, size_t *len);
int wg_uapi_parse_get(struct wg_device *dev, const char *buf, size_t len);
int wg_uapi_parse_errno(const char *buf, size_t len);
/* socket I/O */
int wg_uapi_exists(const char *ifname);
int wg_uapi_get(const char *ifname, struct wg_device *dev);
int wg_uapi_set(const struct wg_device *dev);
int wg_uapi_list(char **list, size_t *len, size_t *cap);


#endif
