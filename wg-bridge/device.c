/*
 * clawnexus-wg: device and peer containers.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wg.h"

void
wg_device_init(struct wg_device *dev, const char *name)
{
	memset(dev, 0, sizeof(*dev));
	if (name) {
		strncpy(dev->name, name, WG_IFNAME_MAX);
		dev->name[WG_IFNAME_MAX] = '\0';
	}
}

void
wg_peer_clear(struct wg_peer *peer)
{
	free(peer->ips);
	sodium_memzero(peer, sizeof(*peer));
}

void
wg_device_clear(struct wg_device *dev)
{
	size_t i;

	for (i = 0; i < dev->npeers; i++)
		wg_peer_clear(&dev->peers[i]);
	free(dev->peers);
	sodium_memzero(dev, sizeof(*dev));
}

struct wg_peer *
wg_device_add_peer(struct wg_device *dev)
{
	struct wg_peer *p;

	if (dev->npeers == dev->cappeers) {
		size_t cap = dev->cappeers ? dev->cappeers * 2 : 8;

		p = realloc(dev->peers, cap * sizeof(*p));
		if (!p)
			return NULL;
		dev->peers = p;
		dev->cappeers = cap;
	}
	p = &dev->peers[dev->npeers++];
	memset(p, 0, sizeof(*p));
	return p;
}

int
wg_device_add_removal(struct wg_device *dev, const uint8_t key[WG_KEY_LEN])
{
	struct wg_peer *p = wg_device_add_peer(dev);

	if (!p)
		return -ENOMEM;
	memcpy(p->public_key, key, WG_KEY_LEN);
	p->flags = WGPEER_REMOVE_ME;
	return 0;
}

struct wg_peer *
wg_device_find_peer(struct wg_device *dev, const uint8_t key[WG_KEY_LEN])
{
	size_t i;

	/* public keys are not secret: a plain compare keeps lookups cheap */
	for (i = 0; i < dev->npeers; i++)
		if (!memcmp(dev->peers[i].public_key, key, WG_KEY_LEN))
			return &dev->peers[i];
	return NULL;
}

int
wg_peer_add_ip(struct wg_peer *peer, const struct wg_allowedip *ip)
{
	if (peer->nips == peer->capips) {
		size_t cap = peer->capips ? peer->capips * 2 : 4;
		struct wg_allowedip *n;

		n = realloc(peer->ips, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		peer->ips = n;
		peer->capips = cap;
	}
	peer->ips[peer->nips++] = *ip;
	return 0;
}

int
wg_peer_copy(struct wg_peer *dst, const struct wg_peer *src)
{
	*dst = *src;
	dst->ips = NULL;
	dst->nips = dst->capips = 0;
	if (src->nips) {
		dst->ips = malloc(src->nips * sizeof(*dst->ips));
		if (!dst->ips)
			return -ENOMEM;
		memcpy(dst->ips, src->ips, src->nips * sizeof(*dst->ips));
		dst->nips = dst->capips = src->nips;
	}
	return 0;
}

int
wg_list_append(char **list, size_t *len, size_t *cap, const char *name,
	       size_t n)
{
	if (*len + n + 2 > *cap) {
		char *nl = realloc(*list, *cap * 2 + n + 2);

		if (!nl)
			return -ENOMEM;
		*list = nl;
		*cap = *cap * 2 + n + 2;
	}
	memcpy(*list + *len, name, n);
	*len += n;
	(*list)[(*len)++] = '\0';
	(*list)[*len] = '\0';
	return 0;
}
