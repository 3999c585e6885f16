/*
 * clawnexus-wg: the kernel backend.  The generic netlink wire format of
 * the "wireguard" family, built and parsed with libnl's message and
 * attribute API over byte buffers (no socket needed, unit-tested), and
 * the backend's I/O.  Private to backend.c,
 * backend-netlink.c and the unit tests; the commands use backend.h.
 */

#ifndef CLAWNEXUS_WG_NLWIRE_H
#define CLAWNEXUS_WG_NLWIRE_H

#include "wg.h"

/* A SET split into several messages (each nlmsghdr + genlmsghdr + attrs,
 * sequence numbers left 0 for the sender to fill). */
struct wg_nl_msgs {
	uint8_t **msg;
	size_t *len;
	size_t n;
};

/* GET request (NLM_F_DUMP) for ifname; returns its length or 0. */
size_t wg_nl_build_get(uint8_t *buf, size_t cap, uint16_t family,
		       const char *ifname);

/*
 * SET requests for dev, each at most maxlen bytes.  Device flags and
 * attributes go in the first message only; a peer whose allowed IPs do
 * not fit continues in the next message with its key and the remaining
 * IPs, and WGPEER_F_REPLACE_ALLOWEDIPS only in its first fragment.
 */
int wg_nl_build_set(const struct wg_device *dev, uint16_t family,
		    size_t maxlen, struct wg_nl_msgs *out);
void wg_nl_msgs_free(struct wg_nl_msgs *m);

/* The attributes of one message (after the genl header) merged into dev:
 * an entry with the key of the last peer continues that peer. */
int wg_nl_parse_device(struct wg_device *dev, const uint8_t *p, size_t n);

/* A dump (or an acknowledged request) read message by message. */
struct wg_nl_dump {
	struct wg_device *dev;
	uint16_t family;
	uint32_t seq;		/* 0: accept any */
	int intr;		/* NLM_F_DUMP_INTR seen */
	size_t messages;
};

void wg_nl_dump_init(struct wg_nl_dump *st, struct wg_device *dev,
		     uint16_t family, uint32_t seq);
/*
 * Feed what one recv() returned (one or more netlink messages).
 * Returns 0 when more is needed, 1 when complete (NLMSG_DONE, or an
 * acknowledgement), -EINTR when the dump was interrupted and must be
 * restarted, -errno from the kernel, or -EPROTO for a malformed reply.
 */
int wg_nl_dump_feed(struct wg_nl_dump *st, const uint8_t *buf, size_t len);

/* I/O through libnl-genl-3 */
int wg_nl_get(const char *ifname, struct wg_device *dev);
int wg_nl_set(const struct wg_device *dev);
int wg_nl_list(char **list, size_t *len, size_t *cap);

#endif
