/*
 * clawnexus-wg: the kernel backend, generic netlink family "wireguard"
 * (include/uapi/linux/wireguard.h), through libnl-genl-3: messages are
 * built with libnl's message and attribute API (genlmsg_put, nla_put,
 * nla_nest_start) and read with it (nlmsg_ok, nla_parse with policies,
 * nla_for_each_nested), over plain buffers so that the tricky parts are
 * unit-tested without a kernel:
 *  - a GET dump may split one peer over several messages (the next message
 *    repeats the public key with more allowed IPs): adjacent entries with
 *    the same key are merged; type-0 padding attributes are skipped; a
 *    dump flagged NLM_F_DUMP_INTR is read to its end and restarted;
 *  - a SET larger than one message is split; WGDEVICE_F_REPLACE_PEERS may
 *    only be in the first message and WGPEER_F_REPLACE_ALLOWEDIPS only in
 *    the first fragment of a peer (else later fragments would erase the
 *    earlier ones).
 * Errors keep the raw errno from NLMSG_ERROR / NLMSG_DONE.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/wireguard.h>

#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <sodium.h>

#include "backend.h"
#include "nlwire.h"

#define GENL_HDR_TOTAL	(NLMSG_HDRLEN + GENL_HDRLEN)

/* ---- writer ---- */

/* A request of at most maxlen bytes (libnl refuses to grow it). */
static struct nl_msg *
msg_new(uint16_t family, int flags, uint8_t cmd, size_t maxlen)
{
	struct nl_msg *m = nlmsg_alloc_size(maxlen);

	if (!m)
		return NULL;
	if (!genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, cmd,
			 WG_GENL_VERSION)) {
		nlmsg_free(m);
		return NULL;
	}
	return m;
}

static size_t
msg_len(struct nl_msg *m)
{
	return nlmsg_hdr(m)->nlmsg_len;
}

/* Secrets (private and preshared keys) may be inside: wipe, then free. */
static void
msg_free(struct nl_msg *m)
{
	sodium_memzero(nlmsg_hdr(m), msg_len(m));
	nlmsg_free(m);
}

size_t
wg_nl_build_get(uint8_t *buf, size_t cap, uint16_t family, const char *ifname)
{
	struct nl_msg *m = msg_new(family, NLM_F_REQUEST | NLM_F_DUMP,
				   WG_CMD_GET_DEVICE, cap);
	size_t n = 0;

	if (!m)
		return 0;
	if (nla_put_string(m, WGDEVICE_A_IFNAME, ifname) == 0 &&
	    msg_len(m) <= cap) {
		n = msg_len(m);
		memcpy(buf, nlmsg_hdr(m), n);
	}
	nlmsg_free(m);
	return n;
}

void
wg_nl_msgs_free(struct wg_nl_msgs *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		sodium_memzero(m->msg[i], m->len[i]);
		free(m->msg[i]);
	}
	free(m->msg);
	free(m->len);
	memset(m, 0, sizeof(*m));
}

/* Append a copy of the finished message to out; m is wiped and freed. */
static int
msgs_push(struct wg_nl_msgs *out, struct nl_msg *m)
{
	uint8_t **nm = realloc(out->msg, (out->n + 1) * sizeof(*nm));
	size_t *nl, len = msg_len(m);
	uint8_t *p;

	if (nm)
		out->msg = nm;
	nl = nm ? realloc(out->len, (out->n + 1) * sizeof(*nl)) : NULL;
	if (nl)
		out->len = nl;
	p = nl ? malloc(len) : NULL;
	if (!p) {
		msg_free(m);
		return -ENOMEM;
	}
	memcpy(p, nlmsg_hdr(m), len);
	msg_free(m);
	out->msg[out->n] = p;
	out->len[out->n] = len;
	out->n++;
	return 0;
}

static size_t
ip_entry_size(const struct wg_allowedip *ip)
{
	return NLA_HDRLEN + nla_total_size(2) +
	       nla_total_size(ip->family == AF_INET ? 4 : 16) +
	       nla_total_size(1);
}

static int
put_ip(struct nl_msg *m, const struct wg_allowedip *ip)
{
	struct nlattr *n = nla_nest_start(m, 0);

	if (!n || nla_put_u16(m, WGALLOWEDIP_A_FAMILY, ip->family) < 0 ||
	    nla_put(m, WGALLOWEDIP_A_IPADDR, ip->family == AF_INET ? 4 : 16,
		    &ip->ip4) < 0 ||
	    nla_put_u8(m, WGALLOWEDIP_A_CIDR_MASK, ip->cidr) < 0)
		return -EMSGSIZE;
	nla_nest_end(m, n);
	return 0;
}

/* Size of a peer's attributes before its allowed IPs. */
static size_t
peer_head_size(const struct wg_peer *p, int first)
{
	size_t s = NLA_HDRLEN + nla_total_size(WG_KEY_LEN) + nla_total_size(4);

	if (!first || (p->flags & WGPEER_REMOVE_ME))
		return s + NLA_HDRLEN;
	if (p->flags & WGPEER_HAS_PRESHARED_KEY)
		s += nla_total_size(WG_KEY_LEN);
	if (p->flags & WGPEER_HAS_ENDPOINT)
		s += nla_total_size(sizeof(struct sockaddr_in6));
	if (p->flags & WGPEER_HAS_KEEPALIVE)
		s += nla_total_size(2);
	return s + NLA_HDRLEN;	/* the ALLOWEDIPS nest header */
}

static int
put_peer_head(struct nl_msg *m, const struct wg_peer *p, int first)
{
	uint32_t flags = 0;

	if (nla_put(m, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, p->public_key) < 0)
		return -EMSGSIZE;
	if (p->flags & WGPEER_REMOVE_ME)
		flags |= WGPEER_F_REMOVE_ME;
	if (p->flags & WGPEER_UPDATE_ONLY)
		flags |= WGPEER_F_UPDATE_ONLY;	/* in every fragment */
	if (first && (p->flags & WGPEER_REPLACE_ALLOWEDIPS))
		flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
	if (nla_put_u32(m, WGPEER_A_FLAGS, flags) < 0)
		return -EMSGSIZE;
	if (!first || (p->flags & WGPEER_REMOVE_ME))
		return 0;
	if ((p->flags & WGPEER_HAS_PRESHARED_KEY) &&
	    nla_put(m, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN,
		    p->preshared_key) < 0)
		return -EMSGSIZE;
	if ((p->flags & WGPEER_HAS_ENDPOINT) &&
	    nla_put(m, WGPEER_A_ENDPOINT,
		    p->endpoint.addr.sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6),
		    &p->endpoint) < 0)
		return -EMSGSIZE;
	if ((p->flags & WGPEER_HAS_KEEPALIVE) &&
	    nla_put_u16(m, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
			p->keepalive) < 0)
		return -EMSGSIZE;
	return 0;
}

static int
put_device(struct nl_msg *m, const struct wg_device *dev, int first_msg)
{
	if (nla_put_string(m, WGDEVICE_A_IFNAME, dev->name) < 0)
		return -EMSGSIZE;
	if (!first_msg)
		return 0;
	if (nla_put_u32(m, WGDEVICE_A_FLAGS, (dev->flags & WGDEV_REPLACE_PEERS) ?
			WGDEVICE_F_REPLACE_PEERS : 0) < 0 ||
	    ((dev->flags & WGDEV_HAS_PRIVATE_KEY) &&
	     nla_put(m, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN,
		     dev->private_key) < 0) ||
	    ((dev->flags & WGDEV_HAS_LISTEN_PORT) &&
	     nla_put_u16(m, WGDEVICE_A_LISTEN_PORT, dev->listen_port) < 0) ||
	    ((dev->flags & WGDEV_HAS_FWMARK) &&
	     nla_put_u32(m, WGDEVICE_A_FWMARK, dev->fwmark) < 0))
		return -EMSGSIZE;
	return 0;
}

int
wg_nl_build_set(const struct wg_device *dev, uint16_t family, size_t maxlen,
		struct wg_nl_msgs *out)
{
	size_t pi = 0, ii = 0, min;
	int first_msg = 1, r;

	memset(out, 0, sizeof(*out));
	/* the largest single step must fit: headers, device attributes,
	 * one peer head and one allowed IP */
	min = GENL_HDR_TOTAL + nla_total_size(WG_IFNAME_MAX + 1) +
	      nla_total_size(4) + nla_total_size(WG_KEY_LEN) +
	      nla_total_size(2) + nla_total_size(4) + NLA_HDRLEN +
	      NLA_HDRLEN + 3 * nla_total_size(WG_KEY_LEN) + nla_total_size(4) +
	      nla_total_size(sizeof(struct sockaddr_in6)) +
	      nla_total_size(2) + NLA_HDRLEN + 40;
	if (maxlen < min || maxlen > 65535)
		return -EINVAL;
	do {
		struct nl_msg *m = msg_new(family, NLM_F_REQUEST | NLM_F_ACK,
					   WG_CMD_SET_DEVICE, maxlen);
		struct nlattr *peers = NULL;

		if (!m || put_device(m, dev, first_msg) < 0) {
			if (m)
				msg_free(m);
			wg_nl_msgs_free(out);
			return -ENOMEM;
		}
		if (pi < dev->npeers)
			peers = nla_nest_start(m, WGDEVICE_A_PEERS);
		while (peers && pi < dev->npeers) {
			const struct wg_peer *p = &dev->peers[pi];
			int first = ii == 0;
			struct nlattr *pn, *ipn;
			size_t need = peer_head_size(p, first);

			if (!(p->flags & WGPEER_REMOVE_ME) && ii < p->nips)
				need += ip_entry_size(&p->ips[ii]);
			if (msg_len(m) + need > maxlen)
				break;	/* next message */
			pn = nla_nest_start(m, 0);
			put_peer_head(m, p, first);
			if ((p->flags & WGPEER_REMOVE_ME) || p->nips == 0) {
				nla_nest_end(m, pn);
				pi++;
				ii = 0;
				continue;
			}
			ipn = nla_nest_start(m, WGPEER_A_ALLOWEDIPS);
			while (ii < p->nips &&
			       msg_len(m) + ip_entry_size(&p->ips[ii]) <= maxlen)
				put_ip(m, &p->ips[ii++]);
			nla_nest_end(m, ipn);
			nla_nest_end(m, pn);
			if (ii < p->nips)
				break;	/* the rest follows */
			pi++;
			ii = 0;
		}
		if (peers)
			nla_nest_end(m, peers);
		r = msgs_push(out, m);
		if (r < 0) {
			wg_nl_msgs_free(out);
			return r;
		}
		first_msg = 0;
	} while (pi < dev->npeers);
	return 0;
}

/* ---- parser ---- */

/* Exact sizes: libnl checks minlen and maxlen, and the NUL of strings. */
#define LEN(n)	{ .minlen = (n), .maxlen = (n) }

static struct nla_policy device_policy[WGDEVICE_A_MAX + 1] = {
	[WGDEVICE_A_IFINDEX] = LEN(4),
	[WGDEVICE_A_IFNAME] = { .type = NLA_STRING, .minlen = 1,
				.maxlen = WG_IFNAME_MAX + 1 },
	[WGDEVICE_A_PRIVATE_KEY] = LEN(WG_KEY_LEN),
	[WGDEVICE_A_PUBLIC_KEY] = LEN(WG_KEY_LEN),
	[WGDEVICE_A_FLAGS] = LEN(4),
	[WGDEVICE_A_LISTEN_PORT] = LEN(2),
	[WGDEVICE_A_FWMARK] = LEN(4),
	[WGDEVICE_A_PEERS] = { .type = NLA_NESTED },
};

static struct nla_policy peer_policy[WGPEER_A_MAX + 1] = {
	[WGPEER_A_PUBLIC_KEY] = LEN(WG_KEY_LEN),
	[WGPEER_A_PRESHARED_KEY] = LEN(WG_KEY_LEN),
	[WGPEER_A_FLAGS] = LEN(4),
	/* WGPEER_A_ENDPOINT: other sizes are ignored, as the kernel does */
	[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL] = LEN(2),
	[WGPEER_A_LAST_HANDSHAKE_TIME] = LEN(16),
	[WGPEER_A_RX_BYTES] = LEN(8),
	[WGPEER_A_TX_BYTES] = LEN(8),
	[WGPEER_A_ALLOWEDIPS] = { .type = NLA_NESTED },
};

static struct nla_policy ip_policy[WGALLOWEDIP_A_MAX + 1] = {
	[WGALLOWEDIP_A_FAMILY] = LEN(2),
	[WGALLOWEDIP_A_IPADDR] = { .minlen = 4, .maxlen = 16 },
	[WGALLOWEDIP_A_CIDR_MASK] = LEN(1),
};

/*
 * nla_parse() with a policy, after checking that the attributes fill
 * [head, head+len): nla_parse() stops quietly at an attribute cut short,
 * which here is a malformed reply.  Only the last attribute may lack its
 * padding.
 */
static int
parse_attrs(struct nlattr **tb, int max, struct nlattr *head, int len,
	    struct nla_policy *policy)
{
	struct nlattr *a;
	int rem;

	nla_for_each_attr(a, head, len, rem)
		;
	if (rem > 0)
		return -EPROTO;
	return nla_parse(tb, max, head, len, policy) < 0 ? -EPROTO : 0;
}

/* The entries of a nested array must fill it the same way. */
static int
nest_complete(struct nlattr *nest)
{
	struct nlattr *e;
	int rem;

	nla_for_each_nested(e, nest, rem)
		;
	return rem > 0 ? -EPROTO : 0;
}

static int
parse_ip(struct wg_peer *peer, struct nlattr *entry)
{
	struct nlattr *tb[WGALLOWEDIP_A_MAX + 1];
	struct wg_allowedip ip;
	int alen;

	if (parse_attrs(tb, WGALLOWEDIP_A_MAX, nla_data(entry), nla_len(entry),
			ip_policy) < 0 || !tb[WGALLOWEDIP_A_FAMILY] ||
	    !tb[WGALLOWEDIP_A_IPADDR] || !tb[WGALLOWEDIP_A_CIDR_MASK])
		return -EPROTO;
	memset(&ip, 0, sizeof(ip));
	ip.family = nla_get_u16(tb[WGALLOWEDIP_A_FAMILY]);
	ip.cidr = nla_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]);
	alen = nla_len(tb[WGALLOWEDIP_A_IPADDR]);
	if (!((ip.family == AF_INET && alen == 4 && ip.cidr <= 32) ||
	      (ip.family == AF_INET6 && alen == 16 && ip.cidr <= 128)))
		return -EPROTO;
	nla_memcpy(&ip.ip6, tb[WGALLOWEDIP_A_IPADDR], alen);
	return wg_peer_add_ip(peer, &ip);
}

static int
parse_peer(struct wg_device *dev, struct nlattr *entry)
{
	struct nlattr *tb[WGPEER_A_MAX + 1], *a;
	struct wg_peer *peer;
	uint8_t key[WG_KEY_LEN];
	uint32_t flags;
	int rem, r;

	if (parse_attrs(tb, WGPEER_A_MAX, nla_data(entry), nla_len(entry),
			peer_policy) < 0 || !tb[WGPEER_A_PUBLIC_KEY])
		return -EPROTO;
	/* the key decides whether this entry continues the previous peer */
	nla_memcpy(key, tb[WGPEER_A_PUBLIC_KEY], WG_KEY_LEN);
	if (dev->npeers &&
	    wg_key_equal(dev->peers[dev->npeers - 1].public_key, key)) {
		peer = &dev->peers[dev->npeers - 1];
	} else {
		if (!(peer = wg_device_add_peer(dev)))
			return -ENOMEM;
		memcpy(peer->public_key, key, WG_KEY_LEN);
	}
	if ((a = tb[WGPEER_A_PRESHARED_KEY])) {
		nla_memcpy(peer->preshared_key, a, WG_KEY_LEN);
		if (!wg_key_is_zero(peer->preshared_key))
			peer->flags |= WGPEER_HAS_PRESHARED_KEY;
	}
	if ((a = tb[WGPEER_A_FLAGS])) {
		flags = nla_get_u32(a);
		if (flags & WGPEER_F_REMOVE_ME)
			peer->flags |= WGPEER_REMOVE_ME;
		if (flags & WGPEER_F_REPLACE_ALLOWEDIPS)
			peer->flags |= WGPEER_REPLACE_ALLOWEDIPS;
		if (flags & WGPEER_F_UPDATE_ONLY)
			peer->flags |= WGPEER_UPDATE_ONLY;
	}
	if ((a = tb[WGPEER_A_ENDPOINT]) &&
	    (nla_len(a) == sizeof(struct sockaddr_in) ||
	     nla_len(a) == sizeof(struct sockaddr_in6))) {
		sa_family_t f;

		memcpy(&f, nla_data(a), sizeof(f));
		if ((f == AF_INET && nla_len(a) == 16) ||
		    (f == AF_INET6 && nla_len(a) == 28)) {
			memset(&peer->endpoint, 0, sizeof(peer->endpoint));
			nla_memcpy(&peer->endpoint, a, nla_len(a));
			peer->flags |= WGPEER_HAS_ENDPOINT;
		}
	}
	if ((a = tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL])) {
		peer->keepalive = nla_get_u16(a);
		peer->flags |= WGPEER_HAS_KEEPALIVE;
	}
	if ((a = tb[WGPEER_A_LAST_HANDSHAKE_TIME])) {
		memcpy(&peer->last_handshake_sec, nla_data(a), 8);
		memcpy(&peer->last_handshake_nsec, (uint8_t *)nla_data(a) + 8,
		       8);
	}
	if ((a = tb[WGPEER_A_RX_BYTES]))
		peer->rx_bytes = nla_get_u64(a);
	if ((a = tb[WGPEER_A_TX_BYTES]))
		peer->tx_bytes = nla_get_u64(a);
	if ((a = tb[WGPEER_A_ALLOWEDIPS])) {
		struct nlattr *e;

		if (nest_complete(a) < 0)
			return -EPROTO;
		nla_for_each_nested(e, a, rem)
			if ((r = parse_ip(peer, e)) < 0)
				return r;
	}
	return 0;
}

/* One generic netlink message of the wireguard family (GET reply or a
 * SET request) merged into dev. */
int
wg_nl_parse_device(struct wg_device *dev, const uint8_t *p, size_t n)
{
	struct nlattr *tb[WGDEVICE_A_MAX + 1], *a;
	int rem, r;

	if (n > 65535 || parse_attrs(tb, WGDEVICE_A_MAX, (struct nlattr *)p,
				     (int)n, device_policy) < 0)
		return -EPROTO;
	if ((a = tb[WGDEVICE_A_IFINDEX]))
		dev->ifindex = nla_get_u32(a);
	if ((a = tb[WGDEVICE_A_IFNAME]))
		nla_strlcpy(dev->name, a, sizeof(dev->name));
	if ((a = tb[WGDEVICE_A_PRIVATE_KEY])) {
		nla_memcpy(dev->private_key, a, WG_KEY_LEN);
		if (!wg_key_is_zero(dev->private_key))
			dev->flags |= WGDEV_HAS_PRIVATE_KEY;
	}
	if ((a = tb[WGDEVICE_A_PUBLIC_KEY])) {
		nla_memcpy(dev->public_key, a, WG_KEY_LEN);
		if (!wg_key_is_zero(dev->public_key))
			dev->flags |= WGDEV_HAS_PUBLIC_KEY;
	}
	if ((a = tb[WGDEVICE_A_FLAGS]) &&
	    (nla_get_u32(a) & WGDEVICE_F_REPLACE_PEERS))
		dev->flags |= WGDEV_REPLACE_PEERS;
	if ((a = tb[WGDEVICE_A_LISTEN_PORT])) {
		dev->listen_port = nla_get_u16(a);
		dev->flags |= WGDEV_HAS_LISTEN_PORT;
	}
	if ((a = tb[WGDEVICE_A_FWMARK])) {
		dev->fwmark = nla_get_u32(a);
		dev->flags |= WGDEV_HAS_FWMARK;
	}
	if ((a = tb[WGDEVICE_A_PEERS])) {
		struct nlattr *e;

		if (nest_complete(a) < 0)
			return -EPROTO;
		nla_for_each_nested(e, a, rem)
			if ((r = parse_peer(dev, e)) < 0)
				return r;
	}
	return 0;
}

void
wg_nl_dump_init(struct wg_nl_dump *st, struct wg_device *dev,
		uint16_t family, uint32_t seq)
{
	memset(st, 0, sizeof(*st));
	st->dev = dev;
	st->family = family;
	st->seq = seq;
}

int
wg_nl_dump_feed(struct wg_nl_dump *st, const uint8_t *buf, size_t len)
{
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	int rem = len > 0x7fffffff ? 0x7fffffff : (int)len;

	for (; rem > 0; h = nlmsg_next(h, &rem)) {
		int32_t e;

		if (!nlmsg_ok(h, rem))
			return -EPROTO;
		if (st->seq && h->nlmsg_seq != st->seq)
			continue;	/* not an answer to our request */
		if (h->nlmsg_flags & NLM_F_DUMP_INTR)
			st->intr = 1;
		if (h->nlmsg_type == NLMSG_ERROR) {
			if (nlmsg_datalen(h) < (int)sizeof(e))
				return -EPROTO;
			memcpy(&e, nlmsg_data(h), sizeof(e));
			if (e > 0 || e < -4095)
				return -EPROTO;
			return e < 0 ? e : 1;	/* 0: an acknowledgement */
		} else if (h->nlmsg_type == NLMSG_DONE) {
			e = 0;
			if (nlmsg_datalen(h) >= (int)sizeof(e))
				memcpy(&e, nlmsg_data(h), sizeof(e));
			if (e < 0 && e >= -4095)
				return e;
			return st->intr ? -EINTR : 1;
		} else if (h->nlmsg_type == NLMSG_NOOP) {
			continue;
		} else if (h->nlmsg_type == st->family) {
			struct genlmsghdr *g = nlmsg_data(h);
			int r;

			if (!genlmsg_valid_hdr(h, 0))
				return -EPROTO;
			r = wg_nl_parse_device(st->dev,
					       (uint8_t *)genlmsg_attrdata(g, 0),
					       (size_t)genlmsg_attrlen(g, 0));
			if (r < 0)
				return r;
			st->messages++;
			if (!(h->nlmsg_flags & NLM_F_MULTI))
				return st->intr ? -EINTR : 1;
		} else {
			return -EPROTO;
		}
	}
	return 0;
}

/* ---- I/O through libnl ---- */

static int
nl_open(struct nl_sock **out, uint16_t *family)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk)
		return -ENOMEM;
	r = genl_connect(sk);
	if (r < 0) {
		nl_socket_free(sk);
		return WG_ENOKERNEL;
	}
	nl_socket_enable_msg_peek(sk);
	nl_socket_disable_auto_ack(sk);
	r = genl_ctrl_resolve(sk, WG_GENL_NAME);
	if (r < 0) {
		nl_socket_free(sk);
		/* no family: the kernel has no WireGuard */
		return r == -NLE_OBJ_NOTFOUND ? WG_ENOKERNEL : -EIO;
	}
	*family = (uint16_t)r;
	*out = sk;
	return 0;
}

/* Send one message with a fresh sequence number and read until the
 * answer is complete. */
static int
nl_transact(struct nl_sock *sk, uint8_t *msg, size_t len,
	    struct wg_nl_dump *st)
{
	struct nlmsghdr *h = (struct nlmsghdr *)msg;
	struct sockaddr_nl peer;
	unsigned char *buf = NULL;
	int n, r;

	h->nlmsg_seq = nl_socket_use_seq(sk);
	h->nlmsg_pid = 0;
	st->seq = h->nlmsg_seq;
	if (nl_sendto(sk, msg, len) < 0)
		return -EIO;
	for (;;) {
		n = nl_recv(sk, &peer, &buf, NULL);
		if (n <= 0) {
			free(buf);
			return n == 0 ? -EPROTO : -EIO;
		}
		r = wg_nl_dump_feed(st, buf, (size_t)n);
		sodium_memzero(buf, (size_t)n);
		free(buf);
		buf = NULL;
		if (r != 0)
			return r;
	}
}

int
wg_nl_get(const char *ifname, struct wg_device *dev)
{
	struct nl_sock *sk;
	uint8_t msg[128];
	struct wg_nl_dump st;
	uint16_t family;
	size_t len;
	int r, tries;

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	r = nl_open(&sk, &family);
	if (r < 0)
		return r;
	for (tries = 0; tries < 20; tries++) {
		wg_device_init(dev, ifname);
		len = wg_nl_build_get(msg, sizeof(msg), family, ifname);
		wg_nl_dump_init(&st, dev, family, 0);
		r = nl_transact(sk, msg, len, &st);
		if (r != -EINTR)
			break;
		/* changed during the dump: read it again from the start */
		wg_device_clear(dev);
	}
	nl_socket_free(sk);
	if (r < 0) {
		wg_device_clear(dev);
		wg_device_init(dev, ifname);
		return r;
	}
	return 0;
}

int
wg_nl_set(const struct wg_device *dev)
{
	struct wg_nl_msgs m;
	struct nl_sock *sk;
	struct wg_device scratch;
	struct wg_nl_dump st;
	uint16_t family;
	size_t i;
	int r;

	r = nl_open(&sk, &family);
	if (r < 0)
		return r;
	/* well under the page-sized buffers on both sides */
	r = wg_nl_build_set(dev, family, 4096, &m);
	if (r < 0) {
		nl_socket_free(sk);
		return r;
	}
	for (i = 0; i < m.n && r >= 0; i++) {
		wg_device_init(&scratch, dev->name);
		wg_nl_dump_init(&st, &scratch, family, 0);
		r = nl_transact(sk, m.msg[i], m.len[i], &st);
		wg_device_clear(&scratch);
	}
	wg_nl_msgs_free(&m);
	nl_socket_free(sk);
	return r < 0 ? r : 0;
}

/* Kernel WireGuard links announce DEVTYPE=wireguard in their uevent. */
int
wg_nl_list(char **list, size_t *len, size_t *cap)
{
	struct dirent *de;
	DIR *d = opendir("/sys/class/net");

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[300], buf[512];
		size_t n = strlen(de->d_name);
		ssize_t got;
		int fd;

		if (de->d_name[0] == '.' || n > WG_IFNAME_MAX)
			continue;
		snprintf(path, sizeof(path), "/sys/class/net/%s/uevent",
			 de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		got = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (got <= 0)
			continue;
		buf[got] = '\0';
		if (!strstr(buf, "DEVTYPE=wireguard\n"))
			continue;
		if (wg_list_append(list, len, cap, de->d_name, n) < 0) {
			closedir(d);
			return -ENOMEM;
		}
	}
	closedir(d);
	return 0;
}
