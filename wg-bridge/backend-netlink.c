/*
 * clawnexus-wg: the kernel backend, generic netlink family "wireguard"
 * (include/uapi/linux/wireguard.h), sockets and family lookup through
 * libnl-genl-3.
 *
 * Messages are built and parsed here over plain byte buffers so that the
 * tricky parts are unit-tested without a kernel:
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

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <sodium.h>

#include "backend.h"
#include "nlwire.h"

#define ALIGN4(n)	(((n) + 3U) & ~(size_t)3U)
#define NLA_HDR		4U
#define GENL_HDR_TOTAL	(NLMSG_HDRLEN + GENL_HDRLEN)

/* ---- writer ---- */

struct nlw {
	uint8_t *p;
	size_t len;
	size_t cap;
};

static size_t
attr_size(size_t payload)
{
	return ALIGN4(NLA_HDR + payload);
}

static int
nlw_put(struct nlw *w, uint16_t type, const void *data, size_t n)
{
	struct nlattr *a;
	size_t sz = attr_size(n);

	if (w->len + sz > w->cap)
		return -EMSGSIZE;
	a = (struct nlattr *)(w->p + w->len);
	a->nla_len = (uint16_t)(NLA_HDR + n);
	a->nla_type = type;
	if (n)
		memcpy(w->p + w->len + NLA_HDR, data, n);
	memset(w->p + w->len + NLA_HDR + n, 0, sz - NLA_HDR - n);
	w->len += sz;
	return 0;
}

static int
nlw_u16(struct nlw *w, uint16_t type, uint16_t v)
{
	return nlw_put(w, type, &v, sizeof(v));
}

static int
nlw_u32(struct nlw *w, uint16_t type, uint32_t v)
{
	return nlw_put(w, type, &v, sizeof(v));
}

/* Open a nest (strict kernels require NLA_F_NESTED); returns its offset. */
static ssize_t
nlw_nest(struct nlw *w, uint16_t type)
{
	size_t off = w->len;

	if (nlw_put(w, type | NLA_F_NESTED, NULL, 0) < 0)
		return -EMSGSIZE;
	return (ssize_t)off;
}

static void
nlw_nest_end(struct nlw *w, ssize_t off)
{
	struct nlattr *a = (struct nlattr *)(w->p + off);

	a->nla_len = (uint16_t)(w->len - (size_t)off);
}

static void
nlw_header(struct nlw *w, uint16_t family, uint16_t flags, uint8_t cmd)
{
	struct nlmsghdr *h = (struct nlmsghdr *)w->p;
	struct genlmsghdr *g = (struct genlmsghdr *)(w->p + NLMSG_HDRLEN);

	memset(w->p, 0, GENL_HDR_TOTAL);
	h->nlmsg_type = family;
	h->nlmsg_flags = flags;
	g->cmd = cmd;
	g->version = WG_GENL_VERSION;
	w->len = GENL_HDR_TOTAL;
}

static void
nlw_finish(struct nlw *w)
{
	((struct nlmsghdr *)w->p)->nlmsg_len = (uint32_t)w->len;
}

size_t
wg_nl_build_get(uint8_t *buf, size_t cap, uint16_t family, const char *ifname)
{
	struct nlw w = { buf, 0, cap };

	if (cap < GENL_HDR_TOTAL + attr_size(WG_IFNAME_MAX + 1))
		return 0;
	nlw_header(&w, family, NLM_F_REQUEST | NLM_F_DUMP, WG_CMD_GET_DEVICE);
	nlw_put(&w, WGDEVICE_A_IFNAME, ifname, strlen(ifname) + 1);
	nlw_finish(&w);
	return w.len;
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

static int
msgs_push(struct wg_nl_msgs *m, uint8_t *p, size_t len)
{
	uint8_t **nm = realloc(m->msg, (m->n + 1) * sizeof(*nm));
	size_t *nl;

	if (!nm)
		return -ENOMEM;
	m->msg = nm;
	nl = realloc(m->len, (m->n + 1) * sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	m->len = nl;
	m->msg[m->n] = p;
	m->len[m->n] = len;
	m->n++;
	return 0;
}

static size_t
ip_entry_size(const struct wg_allowedip *ip)
{
	return NLA_HDR + attr_size(2) +
	       attr_size(ip->family == AF_INET ? 4 : 16) + attr_size(1);
}

static int
put_ip(struct nlw *w, const struct wg_allowedip *ip)
{
	ssize_t n = nlw_nest(w, 0);
	uint8_t cidr = ip->cidr;

	if (n < 0 || nlw_u16(w, WGALLOWEDIP_A_FAMILY, ip->family) < 0 ||
	    nlw_put(w, WGALLOWEDIP_A_IPADDR, &ip->ip4,
		    ip->family == AF_INET ? 4 : 16) < 0 ||
	    nlw_put(w, WGALLOWEDIP_A_CIDR_MASK, &cidr, 1) < 0)
		return -EMSGSIZE;
	nlw_nest_end(w, n);
	return 0;
}

/* Size of a peer's attributes before its allowed IPs. */
static size_t
peer_head_size(const struct wg_peer *p, int first)
{
	size_t s = NLA_HDR + attr_size(WG_KEY_LEN) + attr_size(4);

	if (!first || (p->flags & WGPEER_REMOVE_ME))
		return s + NLA_HDR;
	if (p->flags & WGPEER_HAS_PRESHARED_KEY)
		s += attr_size(WG_KEY_LEN);
	if (p->flags & WGPEER_HAS_ENDPOINT)
		s += attr_size(sizeof(struct sockaddr_in6));
	if (p->flags & WGPEER_HAS_KEEPALIVE)
		s += attr_size(2);
	return s + NLA_HDR;	/* the ALLOWEDIPS nest header */
}

static int
put_peer_head(struct nlw *w, const struct wg_peer *p, int first)
{
	uint32_t flags = 0;

	if (nlw_put(w, WGPEER_A_PUBLIC_KEY, p->public_key, WG_KEY_LEN) < 0)
		return -EMSGSIZE;
	if (p->flags & WGPEER_REMOVE_ME)
		flags |= WGPEER_F_REMOVE_ME;
	if (p->flags & WGPEER_UPDATE_ONLY)
		flags |= WGPEER_F_UPDATE_ONLY;	/* in every fragment */
	if (first && (p->flags & WGPEER_REPLACE_ALLOWEDIPS))
		flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
	if (nlw_u32(w, WGPEER_A_FLAGS, flags) < 0)
		return -EMSGSIZE;
	if (!first || (p->flags & WGPEER_REMOVE_ME))
		return 0;
	if ((p->flags & WGPEER_HAS_PRESHARED_KEY) &&
	    nlw_put(w, WGPEER_A_PRESHARED_KEY, p->preshared_key,
		    WG_KEY_LEN) < 0)
		return -EMSGSIZE;
	if (p->flags & WGPEER_HAS_ENDPOINT) {
		size_t n = p->endpoint.addr.sa_family == AF_INET ?
			   sizeof(struct sockaddr_in) :
			   sizeof(struct sockaddr_in6);

		if (nlw_put(w, WGPEER_A_ENDPOINT, &p->endpoint, n) < 0)
			return -EMSGSIZE;
	}
	if ((p->flags & WGPEER_HAS_KEEPALIVE) &&
	    nlw_u16(w, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
		    p->keepalive) < 0)
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
	min = GENL_HDR_TOTAL + attr_size(WG_IFNAME_MAX + 1) + attr_size(4) +
	      attr_size(WG_KEY_LEN) + attr_size(2) + attr_size(4) + NLA_HDR +
	      NLA_HDR + 3 * attr_size(WG_KEY_LEN) + attr_size(4) +
	      attr_size(sizeof(struct sockaddr_in6)) + attr_size(2) +
	      NLA_HDR + 40;
	if (maxlen < min || maxlen > 65535)
		return -EINVAL;
	do {
		struct nlw w;
		ssize_t peers = -1;

		w.cap = maxlen;
		w.p = calloc(1, maxlen);
		if (!w.p) {
			wg_nl_msgs_free(out);
			return -ENOMEM;
		}
		nlw_header(&w, family, NLM_F_REQUEST | NLM_F_ACK,
			   WG_CMD_SET_DEVICE);
		nlw_put(&w, WGDEVICE_A_IFNAME, dev->name,
			strlen(dev->name) + 1);
		if (first_msg) {
			uint32_t f = (dev->flags & WGDEV_REPLACE_PEERS) ?
				     WGDEVICE_F_REPLACE_PEERS : 0;

			nlw_u32(&w, WGDEVICE_A_FLAGS, f);
			if (dev->flags & WGDEV_HAS_PRIVATE_KEY)
				nlw_put(&w, WGDEVICE_A_PRIVATE_KEY,
					dev->private_key, WG_KEY_LEN);
			if (dev->flags & WGDEV_HAS_LISTEN_PORT)
				nlw_u16(&w, WGDEVICE_A_LISTEN_PORT,
					dev->listen_port);
			if (dev->flags & WGDEV_HAS_FWMARK)
				nlw_u32(&w, WGDEVICE_A_FWMARK, dev->fwmark);
		}
		if (pi < dev->npeers)
			peers = nlw_nest(&w, WGDEVICE_A_PEERS);
		while (pi < dev->npeers) {
			const struct wg_peer *p = &dev->peers[pi];
			int first = ii == 0;
			ssize_t pn, ipn;
			size_t need = peer_head_size(p, first);

			if (!(p->flags & WGPEER_REMOVE_ME) && ii < p->nips)
				need += ip_entry_size(&p->ips[ii]);
			if (w.len + need > w.cap)
				break;	/* next message */
			pn = nlw_nest(&w, 0);
			put_peer_head(&w, p, first);
			if ((p->flags & WGPEER_REMOVE_ME) || p->nips == 0) {
				nlw_nest_end(&w, pn);
				pi++;
				ii = 0;
				continue;
			}
			ipn = nlw_nest(&w, WGPEER_A_ALLOWEDIPS);
			while (ii < p->nips &&
			       w.len + ip_entry_size(&p->ips[ii]) <= w.cap)
				put_ip(&w, &p->ips[ii++]);
			nlw_nest_end(&w, ipn);
			nlw_nest_end(&w, pn);
			if (ii < p->nips)
				break;	/* the rest follows */
			pi++;
			ii = 0;
		}
		if (peers >= 0)
			nlw_nest_end(&w, peers);
		nlw_finish(&w);
		r = msgs_push(out, w.p, w.len);
		if (r < 0) {
			free(w.p);
			wg_nl_msgs_free(out);
			return r;
		}
		first_msg = 0;
	} while (pi < dev->npeers);
	return 0;
}

/* ---- parser ---- */

struct attr {
	uint16_t type;
	const uint8_t *data;
	size_t len;
};

/* Iterate attributes in [p, p+n): 1 with *a filled, 0 at the end,
 * -EPROTO on a malformed header. */
static int
next_attr(const uint8_t **p, size_t *n, struct attr *a)
{
	struct nlattr h;
	size_t step;

	if (*n == 0)
		return 0;
	if (*n < NLA_HDR)
		return -EPROTO;
	memcpy(&h, *p, sizeof(h));
	if (h.nla_len < NLA_HDR || h.nla_len > *n)
		return -EPROTO;
	a->type = h.nla_type & NLA_TYPE_MASK;
	a->data = *p + NLA_HDR;
	a->len = h.nla_len - NLA_HDR;
	step = ALIGN4(h.nla_len);
	if (step > *n)
		step = *n;	/* the last attribute may lack its padding */
	*p += step;
	*n -= step;
	return 1;
}

#define EXPECT_LEN(a, n) do { if ((a).len != (n)) return -EPROTO; } while (0)

static int
parse_ip(struct wg_peer *peer, const uint8_t *p, size_t n)
{
	struct wg_allowedip ip;
	struct attr a;
	int r, have_fam = 0, have_addr = 0, have_cidr = 0;
	size_t alen = 0;
	uint16_t fam = 0;

	memset(&ip, 0, sizeof(ip));
	while ((r = next_attr(&p, &n, &a)) > 0) {
		switch (a.type) {
		case WGALLOWEDIP_A_FAMILY:
			EXPECT_LEN(a, 2);
			memcpy(&fam, a.data, 2);
			have_fam = 1;
			break;
		case WGALLOWEDIP_A_IPADDR:
			if (a.len != 4 && a.len != 16)
				return -EPROTO;
			memcpy(&ip.ip6, a.data, a.len);
			alen = a.len;
			have_addr = 1;
			break;
		case WGALLOWEDIP_A_CIDR_MASK:
			EXPECT_LEN(a, 1);
			ip.cidr = a.data[0];
			have_cidr = 1;
			break;
		default:
			break;	/* padding and newer attributes */
		}
	}
	if (r < 0 || !have_fam || !have_addr || !have_cidr)
		return -EPROTO;
	if (!((fam == AF_INET && alen == 4 && ip.cidr <= 32) ||
	      (fam == AF_INET6 && alen == 16 && ip.cidr <= 128)))
		return -EPROTO;
	ip.family = fam;
	return wg_peer_add_ip(peer, &ip);
}

static int
parse_peer(struct wg_device *dev, const uint8_t *p, size_t n)
{
	struct wg_peer tmp, *peer;
	const uint8_t *q = p;
	size_t m = n;
	struct attr a;
	int r, have_key = 0;

	/* find the key first: it decides whether this entry continues the
	 * previous peer */
	memset(&tmp, 0, sizeof(tmp));
	while ((r = next_attr(&q, &m, &a)) > 0) {
		if (a.type == WGPEER_A_PUBLIC_KEY) {
			EXPECT_LEN(a, WG_KEY_LEN);
			memcpy(tmp.public_key, a.data, WG_KEY_LEN);
			have_key = 1;
		}
	}
	if (r < 0 || !have_key)
		return -EPROTO;
	if (dev->npeers && wg_key_equal(dev->peers[dev->npeers - 1].public_key,
					tmp.public_key)) {
		peer = &dev->peers[dev->npeers - 1];
	} else {
		peer = wg_device_add_peer(dev);
		if (!peer)
			return -ENOMEM;
		memcpy(peer->public_key, tmp.public_key, WG_KEY_LEN);
	}
	while ((r = next_attr(&p, &n, &a)) > 0) {
		uint32_t u32;

		switch (a.type) {
		case WGPEER_A_PRESHARED_KEY:
			EXPECT_LEN(a, WG_KEY_LEN);
			memcpy(peer->preshared_key, a.data, WG_KEY_LEN);
			if (!wg_key_is_zero(peer->preshared_key))
				peer->flags |= WGPEER_HAS_PRESHARED_KEY;
			break;
		case WGPEER_A_FLAGS:
			EXPECT_LEN(a, 4);
			memcpy(&u32, a.data, 4);
			if (u32 & WGPEER_F_REMOVE_ME)
				peer->flags |= WGPEER_REMOVE_ME;
			if (u32 & WGPEER_F_REPLACE_ALLOWEDIPS)
				peer->flags |= WGPEER_REPLACE_ALLOWEDIPS;
			if (u32 & WGPEER_F_UPDATE_ONLY)
				peer->flags |= WGPEER_UPDATE_ONLY;
			break;
		case WGPEER_A_ENDPOINT:
			/* other sizes are ignored, as the kernel does */
			if (a.len == sizeof(struct sockaddr_in) ||
			    a.len == sizeof(struct sockaddr_in6)) {
				sa_family_t f;

				memcpy(&f, a.data, sizeof(f));
				if ((f == AF_INET && a.len == 16) ||
				    (f == AF_INET6 && a.len == 28)) {
					memset(&peer->endpoint, 0,
					       sizeof(peer->endpoint));
					memcpy(&peer->endpoint, a.data, a.len);
					peer->flags |= WGPEER_HAS_ENDPOINT;
				}
			}
			break;
		case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
			EXPECT_LEN(a, 2);
			memcpy(&peer->keepalive, a.data, 2);
			peer->flags |= WGPEER_HAS_KEEPALIVE;
			break;
		case WGPEER_A_LAST_HANDSHAKE_TIME:
			EXPECT_LEN(a, 16);
			memcpy(&peer->last_handshake_sec, a.data, 8);
			memcpy(&peer->last_handshake_nsec, a.data + 8, 8);
			break;
		case WGPEER_A_RX_BYTES:
			EXPECT_LEN(a, 8);
			memcpy(&peer->rx_bytes, a.data, 8);
			break;
		case WGPEER_A_TX_BYTES:
			EXPECT_LEN(a, 8);
			memcpy(&peer->tx_bytes, a.data, 8);
			break;
		case WGPEER_A_ALLOWEDIPS: {
			const uint8_t *ip = a.data;
			size_t ipn = a.len;
			struct attr e;

			while ((r = next_attr(&ip, &ipn, &e)) > 0) {
				int rr = parse_ip(peer, e.data, e.len);

				if (rr < 0)
					return rr;
			}
			if (r < 0)
				return r;
			break;
		}
		default:
			break;	/* key, padding, version */
		}
	}
	return r;
}

/* One generic netlink message of the wireguard family (GET reply or a
 * SET request) merged into dev. */
int
wg_nl_parse_device(struct wg_device *dev, const uint8_t *p, size_t n)
{
	struct attr a;
	int r;

	while ((r = next_attr(&p, &n, &a)) > 0) {
		uint32_t u32;

		switch (a.type) {
		case WGDEVICE_A_IFINDEX:
			EXPECT_LEN(a, 4);
			memcpy(&dev->ifindex, a.data, 4);
			break;
		case WGDEVICE_A_IFNAME:
			if (a.len == 0 || a.len > WG_IFNAME_MAX + 1 ||
			    !memchr(a.data, '\0', a.len))
				return -EPROTO;
			strcpy(dev->name, (const char *)a.data);
			break;
		case WGDEVICE_A_PRIVATE_KEY:
			EXPECT_LEN(a, WG_KEY_LEN);
			memcpy(dev->private_key, a.data, WG_KEY_LEN);
			if (!wg_key_is_zero(dev->private_key))
				dev->flags |= WGDEV_HAS_PRIVATE_KEY;
			break;
		case WGDEVICE_A_PUBLIC_KEY:
			EXPECT_LEN(a, WG_KEY_LEN);
			memcpy(dev->public_key, a.data, WG_KEY_LEN);
			if (!wg_key_is_zero(dev->public_key))
				dev->flags |= WGDEV_HAS_PUBLIC_KEY;
			break;
		case WGDEVICE_A_FLAGS:
			EXPECT_LEN(a, 4);
			memcpy(&u32, a.data, 4);
			if (u32 & WGDEVICE_F_REPLACE_PEERS)
				dev->flags |= WGDEV_REPLACE_PEERS;
			break;
		case WGDEVICE_A_LISTEN_PORT:
			EXPECT_LEN(a, 2);
			memcpy(&dev->listen_port, a.data, 2);
			dev->flags |= WGDEV_HAS_LISTEN_PORT;
			break;
		case WGDEVICE_A_FWMARK:
			EXPECT_LEN(a, 4);
			memcpy(&dev->fwmark, a.data, 4);
			dev->flags |= WGDEV_HAS_FWMARK;
			break;
		case WGDEVICE_A_PEERS: {
			const uint8_t *q = a.data;
			size_t m = a.len;
			struct attr e;

			while ((r = next_attr(&q, &m, &e)) > 0) {
				int rr = parse_peer(dev, e.data, e.len);

				if (rr < 0)
					return rr;
			}
			if (r < 0)
				return r;
			break;
		}
		default:
			break;
		}
	}
	return r;
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
	while (len) {
		struct nlmsghdr h;
		size_t step;
		int32_t e;

		if (len < NLMSG_HDRLEN)
			return -EPROTO;
		memcpy(&h, buf, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len)
			return -EPROTO;
		step = NLMSG_ALIGN(h.nlmsg_len);
		if (step > len)
			step = len;
		if (st->seq && h.nlmsg_seq != st->seq)
			goto next;	/* not an answer to our request */
		if (h.nlmsg_flags & NLM_F_DUMP_INTR)
			st->intr = 1;
		if (h.nlmsg_type == NLMSG_ERROR) {
			if (h.nlmsg_len < NLMSG_HDRLEN + sizeof(e))
				return -EPROTO;
			memcpy(&e, buf + NLMSG_HDRLEN, sizeof(e));
			if (e > 0 || e < -4095)
				return -EPROTO;
			if (e < 0)
				return e;
			return 1;	/* an acknowledgement */
		} else if (h.nlmsg_type == NLMSG_DONE) {
			e = 0;
			if (h.nlmsg_len >= NLMSG_HDRLEN + sizeof(e))
				memcpy(&e, buf + NLMSG_HDRLEN, sizeof(e));
			if (e < 0 && e >= -4095)
				return e;
			return st->intr ? -EINTR : 1;
		} else if (h.nlmsg_type == NLMSG_NOOP) {
			goto next;
		} else if (h.nlmsg_type == st->family) {
			int r;

			if (h.nlmsg_len < GENL_HDR_TOTAL)
				return -EPROTO;
			r = wg_nl_parse_device(st->dev, buf + GENL_HDR_TOTAL,
					       h.nlmsg_len - GENL_HDR_TOTAL);
			if (r < 0)
				return r;
			st->messages++;
			if (!(h.nlmsg_flags & NLM_F_MULTI))
				return st->intr ? -EINTR : 1;
		} else {
			return -EPROTO;
		}
next:
		buf += step;
		len -= step;
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
