/*
 * clawnexus-wg: the kernel backend (generic netlink family "wireguard").
 */

#include <errno.h>

#include "backend.h"

int
wg_nl_get(const char *ifname, struct wg_device *dev)
{
	(void)ifname;
	(void)dev;
	return WG_ENOKERNEL;
}

int
wg_nl_set(const struct wg_device *dev)
{
	(void)dev;
	return WG_ENOKERNEL;
}

int
wg_nl_list(char **list, size_t *len, size_t *cap)
{
	(void)list;
	(void)len;
	(void)cap;
	return 0;
}
