/*
 * clawnexus-wg: generic netlink messages of the "wireguard" family built
 * and parsed from byte buffers: split SET requests, split GET replies
 * (a peer continued in the next message, padding attributes, repeated or
 * missing device attributes), interrupted dumps, kernel errors, and
 * malformed input.  Attribute numbers: include/uapi/linux/wireguard.h.
 */

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/wireguard.h>

#include <sodium.h>

#include <linux/rtnetlink.h>
#include <netlink/msg.h>

#include "nlwire.h"
#include "routes.h"

#define FAM 0x1c	/* any family id the kernel might hand out */

/* ---- a small independent writer for canned kernel replies ---- */

struct cw {
	uint8_t b[65536];
	size_t len;
	size_t msg;	/* start of the current message */
	size_t nest[8];
	int depth;
};

static void
cw_msg(struct cw *w, uint16_t type, uint16_t flags)
{
	struct nlmsghdr h = { 0, type, flags, 7, 0 };
	struct genlmsghdr g = { WG_CMD_GET_DEVICE, 1, 0 };

	w->msg = w->len;
	memcpy(w->b + w->len, &h, sizeof(h));
	w->len += NLMSG_HDRLEN;
	if (type >= NLMSG_MIN_TYPE) {
		memcpy(w->b + w->len, &g, sizeof(g));
		w->len += GENL_HDRLEN;
	}
}

static void
cw_end(struct cw *w)
{
	uint32_t n = (uint32_t)(w->len - w->msg);

	memcpy(w->b + w->msg, &n, 4);
	w->len = NLMSG_ALIGN(w->len);
}

static void
cw_attr(struct cw *w, uint16_t type, const void *d, size_t n)
{
	struct nlattr a = { (uint16_t)(4 + n), type };

	memcpy(w->b + w->len, &a, 4);
	if (n)
		memcpy(w->b + w->len + 4, d, n);
	memset(w->b + w->len + 4 + n, 0, NLA_ALIGN(4 + n) - 4 - n);
	w->len += NLA_ALIGN(4 + n);
}

static void
cw_u16(struct cw *w, uint16_t type, uint16_t v) { cw_attr(w, type, &v, 2); }
static void
cw_u32(struct cw *w, uint16_t type, uint32_t v) { cw_attr(w, type, &v, 4); }
static void
cw_u64(struct cw *w, uint16_t type, uint64_t v) { cw_attr(w, type, &v, 8); }

static void
cw_open(struct cw *w, uint16_t type)
{
	w->nest[w->depth++] = w->len;
	cw_attr(w, type | NLA_F_NESTED, NULL, 0);
}

static void
cw_close(struct cw *w)
{
	size_t off = w->nest[--w->depth];
	uint16_t n = (uint16_t)(w->len - off);

	memcpy(w->b + off, &n, 2);
}

/* One allowed-IP entry; a is an address of family (AF_INET or AF_INET6). */
static void
cw_ip(struct cw *w, int family, const char *a, uint8_t cidr)
{
	uint8_t x[16];

	ck_assert_int_eq(inet_pton(family, a, x), 1);
	cw_open(w, 0);
	cw_u16(w, WGALLOWEDIP_A_FAMILY, (uint16_t)family);
	cw_attr(w, WGALLOWEDIP_A_IPADDR, x, family == AF_INET ? 4 : 16);
	cw_attr(w, WGALLOWEDIP_A_CIDR_MASK, &cidr, 1);
	cw_close(w);
}

static void
cw_done(struct cw *w, int32_t err)
{
	cw_msg(w, NLMSG_DONE, NLM_F_MULTI);
	memcpy(w->b + w->len, &err, 4);
	w->len += 4;
	cw_end(w);
}

static void
key_fill(uint8_t k[32], uint8_t v)
{
	memset(k, v, 32);
}

/* A dump as the kernel splits it: peer A's allowed IPs continue in the
 * second message (key + ALLOWEDIPS only, device attributes repeated), the
 * third message has PEERS alone, u64 counters preceded by type-0 pads. */
static void
canned_dump(struct cw *w, uint16_t intr_flag)
{
	uint8_t ka[32], kb[32], kd[32], zero[32] = { 0 }, ts[16] = { 0 };
	int64_t sec = 1700000000;

	key_fill(ka, 0xaa);
	key_fill(kb, 0xbb);
	key_fill(kd, 0xdd);
	memcpy(ts, &sec, 8);
	memset(w, 0, sizeof(*w));

	cw_msg(w, FAM, NLM_F_MULTI);
	cw_u32(w, WGDEVICE_A_IFINDEX, 5);
	cw_attr(w, WGDEVICE_A_IFNAME, "wg0", 4);
	cw_attr(w, WGDEVICE_A_PUBLIC_KEY, kd, 32);
	cw_u16(w, WGDEVICE_A_LISTEN_PORT, 51820);
	cw_u32(w, WGDEVICE_A_FWMARK, 0);
	cw_open(w, WGDEVICE_A_PEERS);
	cw_open(w, 0);
	cw_attr(w, WGPEER_A_PUBLIC_KEY, ka, 32);
	cw_attr(w, WGPEER_A_PRESHARED_KEY, zero, 32);
	cw_attr(w, WGPEER_A_LAST_HANDSHAKE_TIME, ts, 16);
	cw_u16(w, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
	cw_attr(w, 0, NULL, 0);			/* pad */
	cw_u64(w, WGPEER_A_TX_BYTES, 1000);
	cw_attr(w, 0, "\0\0\0\0", 4);		/* pad with a body */
	cw_u64(w, WGPEER_A_RX_BYTES, 2000);
	cw_u32(w, WGPEER_A_PROTOCOL_VERSION, 1);
	cw_open(w, WGPEER_A_ALLOWEDIPS);
	cw_ip(w, AF_INET, "10.0.0.2", 32);
	cw_ip(w, AF_INET, "10.0.1.0", 24);
	cw_close(w);
	cw_close(w);
	cw_close(w);
	cw_end(w);

	cw_msg(w, FAM, NLM_F_MULTI | intr_flag);
	cw_attr(w, WGDEVICE_A_IFNAME, "wg0", 4);
	cw_open(w, WGDEVICE_A_PEERS);
	cw_open(w, 0);
	cw_attr(w, WGPEER_A_PUBLIC_KEY, ka, 32);
	cw_open(w, WGPEER_A_ALLOWEDIPS);
	cw_ip(w, AF_INET6, "fd00::2", 128);
	cw_close(w);
	cw_close(w);
	cw_open(w, 0);
	cw_attr(w, WGPEER_A_PUBLIC_KEY, kb, 32);
	cw_close(w);
	cw_close(w);
	cw_end(w);

	cw_msg(w, FAM, NLM_F_MULTI);
	cw_open(w, WGDEVICE_A_PEERS);
	cw_open(w, 0);
	cw_attr(w, WGPEER_A_PUBLIC_KEY, kb, 32);
	cw_open(w, WGPEER_A_ALLOWEDIPS);
	cw_ip(w, AF_INET6, "fd00:1::", 64);
	cw_close(w);
	cw_close(w);
	cw_close(w);
	cw_end(w);
	cw_done(w, 0);
}

START_TEST(test_build_get)
{
	uint8_t buf[128];
	struct nlmsghdr h;
	struct genlmsghdr g;
	struct nlattr a;
	size_t n = wg_nl_build_get(buf, sizeof(buf), FAM, "wg0");

	ck_assert_uint_eq(n, NLMSG_HDRLEN + GENL_HDRLEN + 8);
	memcpy(&h, buf, sizeof(h));
	memcpy(&g, buf + NLMSG_HDRLEN, sizeof(g));
	memcpy(&a, buf + NLMSG_HDRLEN + GENL_HDRLEN, sizeof(a));
	ck_assert_uint_eq(h.nlmsg_len, n);
	ck_assert_uint_eq(h.nlmsg_type, FAM);
	ck_assert_uint_eq(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
	ck_assert_uint_eq(g.cmd, WG_CMD_GET_DEVICE);
	ck_assert_uint_eq(g.version, 1);
	ck_assert_uint_eq(a.nla_type, WGDEVICE_A_IFNAME);
	ck_assert_uint_eq(a.nla_len, 8);
	ck_assert_str_eq((char *)buf + NLMSG_HDRLEN + GENL_HDRLEN + 4, "wg0");
	ck_assert_uint_eq(wg_nl_build_get(buf, 20, FAM, "wg0"), 0);
}
END_TEST

START_TEST(test_dump_split)
{
	static struct cw w;
	struct wg_device dev;
	struct wg_nl_dump st;
	char s[64];
	size_t off;

	canned_dump(&w, 0);
	/* all at once, then one message per read */
	wg_device_init(&dev, "wg0");
	wg_nl_dump_init(&st, &dev, FAM, 7);
	ck_assert_int_eq(wg_nl_dump_feed(&st, w.b, w.len), 1);
	ck_assert_uint_eq(st.messages, 3);
	ck_assert_uint_eq(dev.npeers, 2);
	ck_assert_uint_eq(dev.ifindex, 5);
	ck_assert_int_eq(dev.listen_port, 51820);
	ck_assert(dev.flags & WGDEV_HAS_PUBLIC_KEY);
	ck_assert_int_eq(dev.peers[0].public_key[0], 0xaa);
	ck_assert_uint_eq(dev.peers[0].nips, 3);
	wg_allowedip_format(s, sizeof(s), &dev.peers[0].ips[2]);
	ck_assert_str_eq(s, "fd00::2/128");
	ck_assert_uint_eq(dev.peers[0].tx_bytes, 1000);
	ck_assert_uint_eq(dev.peers[0].rx_bytes, 2000);
	ck_assert_int_eq(dev.peers[0].last_handshake_sec, 1700000000);
	ck_assert_int_eq(dev.peers[0].keepalive, 25);
	ck_assert(!(dev.peers[0].flags & WGPEER_HAS_PRESHARED_KEY));
	ck_assert_int_eq(dev.peers[1].public_key[0], 0xbb);
	ck_assert_uint_eq(dev.peers[1].nips, 1);
	wg_allowedip_format(s, sizeof(s), &dev.peers[1].ips[0]);
	ck_assert_str_eq(s, "fd00:1::/64");
	wg_device_clear(&dev);

	wg_device_init(&dev, "wg0");
	wg_nl_dump_init(&st, &dev, FAM, 0);
	for (off = 0; off < w.len;) {
		uint32_t n;
		int r;

		memcpy(&n, w.b + off, 4);
		r = wg_nl_dump_feed(&st, w.b + off, NLMSG_ALIGN(n));
		off += NLMSG_ALIGN(n);
		ck_assert_int_eq(r, off == w.len ? 1 : 0);
	}
	ck_assert_uint_eq(dev.npeers, 2);
	ck_assert_uint_eq(dev.peers[0].nips, 3);
	wg_device_clear(&dev);

	/* replies to another request (other sequence number) are skipped */
	wg_device_init(&dev, "wg0");
	wg_nl_dump_init(&st, &dev, FAM, 8);
	ck_assert_int_eq(wg_nl_dump_feed(&st, w.b, w.len), 0);
	ck_assert_uint_eq(dev.npeers, 0);
	wg_device_clear(&dev);
}
END_TEST

START_TEST(test_dump_intr_and_errors)
{
	static struct cw w;
	struct wg_device dev;
	struct wg_nl_dump st;
	int32_t e;

	canned_dump(&w, NLM_F_DUMP_INTR);
	wg_device_init(&dev, "wg0");
	wg_nl_dump_init(&st, &dev, FAM, 0);
	ck_assert_int_eq(wg_nl_dump_feed(&st, w.b, w.len), -EINTR);
	wg_device_clear(&dev);

	/* NLMSG_ERROR carrying -ENODEV (device lookup in the dump start) */
	memset(&w, 0, sizeof(w));
	cw_msg(&w, NLMSG_ERROR, 0);
	e = -ENODEV;
	memcpy(w.b + w.len, &e, 4);
	w.len += 4 + sizeof(struct nlmsghdr);	/* the echoed request */
	cw_end(&w);
	wg_device_init(&dev, "wg0");
	wg_nl_dump_init(&st, &dev, FAM, 0);
	ck_assert_int_eq(wg_nl_dump_feed(&st, w.b, w.len), -ENODEV);
	/* an acknowledgement */
	e = 0;
	memcpy(w.b + NLMSG_HDRLEN, &e, 4);
	ck_assert_int_eq(wg_nl_dump_feed(&st, w.b, w.len), 1);
	/* an errno inside NLMSG_DONE */
	memset(&w, 0, sizeof(w));
	cw_done(&w, -EPERM);
	ck_assert_int_eq(wg_nl_dump_feed(&st, w.b, w.len), -EPERM);
	/* a message of an unexpected type */
	memset(&w, 0, sizeof(w));
	cw_msg(&w, FAM + 1, NLM_F_MULTI);
	cw_end(&w);
	ck_assert_int_eq(wg_nl_dump_feed(&st, w.b, w.len), -EPROTO);
	wg_device_clear(&dev);
}
END_TEST

static int
feed_one(const uint8_t *b, size_t n)
{
	struct wg_device dev;
	struct wg_nl_dump st;
	int r;

	wg_device_init(&dev, "wg0");
	wg_nl_dump_init(&st, &dev, FAM, 0);
	r = wg_nl_dump_feed(&st, b, n);
	wg_device_clear(&dev);
	return r;
}

START_TEST(test_dump_malformed)
{
	static struct cw w, bad;
	uint8_t k[32], *copy;
	size_t i;
	uint32_t seed = 1;

	canned_dump(&w, 0);
	/* every truncation: "need more" or an error, never "complete" */
	for (i = 0; i < w.len; i++) {
		int r = feed_one(w.b, i);

		ck_assert_msg(r == 0 || r == -EPROTO, "cut at %zu gave %d", i, r);
	}
	/* random corruption must never crash (run under ASan as well) */
	copy = malloc(w.len);
	for (i = 0; i < 20000; i++) {
		size_t j;

		memcpy(copy, w.b, w.len);
		for (j = 0; j < 4; j++) {
			seed = seed * 1103515245 + 12345;
			copy[(seed >> 8) % w.len] = (uint8_t)(seed >> 20);
		}
		feed_one(copy, w.len);
	}
	free(copy);

	key_fill(k, 1);
	/* a peer without a key */
	memset(&bad, 0, sizeof(bad));
	cw_msg(&bad, FAM, NLM_F_MULTI);
	cw_open(&bad, WGDEVICE_A_PEERS);
	cw_open(&bad, 0);
	cw_u64(&bad, WGPEER_A_RX_BYTES, 1);
	cw_close(&bad);
	cw_close(&bad);
	cw_end(&bad);
	ck_assert_int_eq(feed_one(bad.b, bad.len), -EPROTO);
	/* a key of the wrong size */
	memset(&bad, 0, sizeof(bad));
	cw_msg(&bad, FAM, NLM_F_MULTI);
	cw_open(&bad, WGDEVICE_A_PEERS);
	cw_open(&bad, 0);
	cw_attr(&bad, WGPEER_A_PUBLIC_KEY, k, 31);
	cw_close(&bad);
	cw_close(&bad);
	cw_end(&bad);
	ck_assert_int_eq(feed_one(bad.b, bad.len), -EPROTO);
	/* IPv4 with a /33 and an address of 5 bytes */
	memset(&bad, 0, sizeof(bad));
	cw_msg(&bad, FAM, NLM_F_MULTI);
	cw_open(&bad, WGDEVICE_A_PEERS);
	cw_open(&bad, 0);
	cw_attr(&bad, WGPEER_A_PUBLIC_KEY, k, 32);
	cw_open(&bad, WGPEER_A_ALLOWEDIPS);
	cw_ip(&bad, AF_INET, "10.0.0.1", 33);
	cw_close(&bad);
	cw_close(&bad);
	cw_close(&bad);
	cw_end(&bad);
	ck_assert_int_eq(feed_one(bad.b, bad.len), -EPROTO);
	/* an attribute longer than its message */
	memset(&bad, 0, sizeof(bad));
	cw_msg(&bad, FAM, NLM_F_MULTI);
	cw_u32(&bad, WGDEVICE_A_IFINDEX, 1);
	bad.b[bad.len - 8] = 200;
	cw_end(&bad);
	ck_assert_int_eq(feed_one(bad.b, bad.len), -EPROTO);
	/* an IFNAME without its NUL */
	memset(&bad, 0, sizeof(bad));
	cw_msg(&bad, FAM, NLM_F_MULTI);
	cw_attr(&bad, WGDEVICE_A_IFNAME, "wg0", 3);
	cw_end(&bad);
	ck_assert_int_eq(feed_one(bad.b, bad.len), -EPROTO);
	/* nlmsg_len smaller than a header */
	memset(&bad, 0, sizeof(bad));
	bad.b[0] = 8;
	ck_assert_int_eq(feed_one(bad.b, 16), -EPROTO);
}
END_TEST

/* ---- SET ---- */

static void
fill_device(struct wg_device *dev, size_t npeers, size_t nips, int v6)
{
	size_t i, j;

	wg_device_init(dev, "wg0");
	for (i = 0; i < npeers; i++) {
		struct wg_peer *p = wg_device_add_peer(dev);

		memset(p->public_key, 0, 32);
		p->public_key[0] = (uint8_t)(i + 1);
		p->public_key[1] = (uint8_t)((i + 1) >> 8);
		p->flags = WGPEER_REPLACE_ALLOWEDIPS;
		for (j = 0; j < nips; j++) {
			struct wg_allowedip ip;

			memset(&ip, 0, sizeof(ip));
			if (v6 && (j & 1)) {
				ip.family = AF_INET6;
				ip.cidr = 128;
				ip.ip6.s6_addr[0] = 0xfd;
				ip.ip6.s6_addr[14] = (uint8_t)(j >> 8);
				ip.ip6.s6_addr[15] = (uint8_t)j;
			} else {
				ip.family = AF_INET;
				ip.cidr = 32;
				ip.ip4.s_addr = htonl(0x0a000000 | (uint32_t)(i << 16) | (uint32_t)j);
			}
			wg_peer_add_ip(p, &ip);
		}
	}
}

/* Check the fragments one by one, then merge them and compare. */
static void
check_set_roundtrip(const struct wg_device *dev, size_t maxlen,
		    size_t *nmsgs)
{
	struct wg_nl_msgs m;
	struct wg_device all;
	size_t i, j, k;
	uint8_t last[32];
	int have_last = 0;

	ck_assert_int_eq(wg_nl_build_set(dev, FAM, maxlen, &m), 0);
	*nmsgs = m.n;
	wg_device_init(&all, "");
	for (i = 0; i < m.n; i++) {
		struct nlmsghdr h;
		struct genlmsghdr g;
		struct wg_device one;

		memcpy(&h, m.msg[i], sizeof(h));
		memcpy(&g, m.msg[i] + NLMSG_HDRLEN, sizeof(g));
		ck_assert_uint_le(m.len[i], maxlen);
		ck_assert_uint_eq(h.nlmsg_len, m.len[i]);
		ck_assert_uint_eq(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
		ck_assert_uint_eq(g.cmd, WG_CMD_SET_DEVICE);
		wg_device_init(&one, "");
		ck_assert_int_eq(wg_nl_parse_device(&one, m.msg[i] + 20, m.len[i] - 20), 0);
		ck_assert_str_eq(one.name, dev->name);
		/* REPLACE_PEERS only in the first message */
		ck_assert_int_eq(!!(one.flags & WGDEV_REPLACE_PEERS),
				 i == 0 && (dev->flags & WGDEV_REPLACE_PEERS));
		for (j = 0; j < one.npeers; j++) {
			const struct wg_peer *orig = NULL;
			int continued = have_last && j == 0 &&
					!memcmp(last, one.peers[j].public_key, 32);

			for (k = 0; k < dev->npeers; k++)
				if (!memcmp(dev->peers[k].public_key, one.peers[j].public_key, 32))
					orig = &dev->peers[k];
			ck_assert_ptr_nonnull(orig);
			/* REPLACE_ALLOWEDIPS only in a peer's first fragment */
			ck_assert_int_eq(!!(one.peers[j].flags & WGPEER_REPLACE_ALLOWEDIPS),
					 !continued && !!(orig->flags & WGPEER_REPLACE_ALLOWEDIPS));
			ck_assert_int_eq(!!(one.peers[j].flags & WGPEER_UPDATE_ONLY),
					 !!(orig->flags & WGPEER_UPDATE_ONLY));
		}
		if (one.npeers) {
			memcpy(last, one.peers[one.npeers - 1].public_key, 32);
			have_last = 1;
		}
		wg_device_clear(&one);
		ck_assert_int_eq(wg_nl_parse_device(&all, m.msg[i] + 20, m.len[i] - 20), 0);
	}
	ck_assert_uint_eq(all.npeers, dev->npeers);
	for (i = 0; i < dev->npeers; i++) {
		ck_assert_mem_eq(all.peers[i].public_key, dev->peers[i].public_key, 32);
		ck_assert_uint_eq(all.peers[i].nips, dev->peers[i].nips);
		for (j = 0; j < dev->peers[i].nips; j++)
			ck_assert(wg_allowedip_equal(&all.peers[i].ips[j], &dev->peers[i].ips[j]));
	}
	wg_device_clear(&all);
	wg_nl_msgs_free(&m);
}

START_TEST(test_set_small)
{
	struct wg_device dev;
	struct wg_nl_msgs m;
	struct wg_peer *p;
	struct wg_device back;
	struct nlattr a;
	size_t n, off;

	fill_device(&dev, 2, 2, 1);
	p = &dev.peers[0];
	p->flags |= WGPEER_HAS_KEEPALIVE | WGPEER_HAS_ENDPOINT | WGPEER_HAS_PRESHARED_KEY;
	p->keepalive = 25;
	key_fill(p->preshared_key, 0x55);
	wg_endpoint_parse_numeric(&p->endpoint, "[2001:db8::1]:51820");
	dev.peers[1].flags = WGPEER_REMOVE_ME;
	ck_assert_int_eq(wg_nl_build_set(&dev, FAM, 4096, &m), 0);
	ck_assert_uint_eq(m.n, 1);
	wg_device_init(&back, "");
	ck_assert_int_eq(wg_nl_parse_device(&back, m.msg[0] + 20, m.len[0] - 20), 0);
	ck_assert_uint_eq(back.npeers, 2);
	ck_assert_int_eq(back.peers[0].keepalive, 25);
	ck_assert(wg_endpoint_equal(&back.peers[0].endpoint, &p->endpoint));
	ck_assert_mem_eq(back.peers[0].preshared_key, p->preshared_key, 32);
	ck_assert_uint_eq(back.peers[0].nips, 2);
	ck_assert(back.peers[1].flags & WGPEER_REMOVE_ME);
	ck_assert_uint_eq(back.peers[1].nips, 0);	/* not sent for a removal */
	ck_assert(!(back.flags & WGDEV_REPLACE_PEERS));
	/* every nest carries NLA_F_NESTED (strict kernels need it) */
	for (off = 20; off < m.len[0]; off += NLA_ALIGN(a.nla_len)) {
		memcpy(&a, m.msg[0] + off, sizeof(a));
		if ((a.nla_type & NLA_TYPE_MASK) == WGDEVICE_A_PEERS)
			ck_assert(a.nla_type & NLA_F_NESTED);
	}
	wg_device_clear(&back);
	wg_nl_msgs_free(&m);
	/* too small a message size is refused */
	ck_assert_int_eq(wg_nl_build_set(&dev, FAM, 100, &m), -EINVAL);
	wg_device_clear(&dev);

	/* no peers: one message with the device attributes only */
	wg_device_init(&dev, "wg0");
	dev.flags = WGDEV_HAS_LISTEN_PORT;
	dev.listen_port = 1234;
	check_set_roundtrip(&dev, 4096, &n);
	ck_assert_uint_eq(n, 1);
	wg_device_clear(&dev);
}
END_TEST

START_TEST(test_set_split)
{
	struct wg_device dev;
	size_t n, i;

	/* one peer with thousands of allowed IPs */
	fill_device(&dev, 1, 3000, 1);
	dev.flags |= WGDEV_REPLACE_PEERS;
	check_set_roundtrip(&dev, 4096, &n);
	ck_assert_uint_gt(n, 20);
	wg_device_clear(&dev);

	/* 40 peers x 52 allowed IPs, some update-only */
	fill_device(&dev, 40, 52, 0);
	for (i = 0; i < 40; i += 3)
		dev.peers[i].flags |= WGPEER_UPDATE_ONLY;
	check_set_roundtrip(&dev, 4096, &n);
	ck_assert_uint_gt(n, 5);
	check_set_roundtrip(&dev, 1024, &n);
	ck_assert_uint_gt(n, 20);
	wg_device_clear(&dev);

	/* many empty peers, then one with addresses */
	fill_device(&dev, 200, 0, 0);
	{
		struct wg_device tail;

		fill_device(&tail, 1, 300, 1);
		tail.peers[0].public_key[2] = 0x77;
		*wg_device_add_peer(&dev) = tail.peers[0];
		tail.npeers = 0;	/* moved */
		wg_device_clear(&tail);
	}
	check_set_roundtrip(&dev, 2048, &n);
	ck_assert_uint_gt(n, 3);
	wg_device_clear(&dev);
}
END_TEST

/* Routes for allowed IPs, built through libnl: what "ip route add PREFIX
 * dev IFACE table T" sends, read back with libnl's parser. */
START_TEST(test_route_msg)
{
	struct wg_allowedip ip4, ip6;
	struct nlattr *tb[RTA_MAX + 1];
	struct nl_msg *m;
	struct nlmsghdr *h;
	struct rtmsg *rt;
	uint8_t want6[16];

	ck_assert_int_eq(wg_allowedip_parse(&ip4, "172.30.77.0/24", 14), 0);
	ck_assert_int_eq(wg_allowedip_parse(&ip6, "fd77::/64", 9), 0);
	inet_pton(AF_INET6, "fd77::", want6);

	m = wg_route_msg(1, 7, 4242, &ip4);
	ck_assert_ptr_nonnull(m);
	h = nlmsg_hdr(m);
	ck_assert_uint_eq(h->nlmsg_type, RTM_NEWROUTE);
	ck_assert_uint_eq(h->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK |
			  NLM_F_CREATE | NLM_F_EXCL);
	rt = nlmsg_data(h);
	ck_assert_uint_eq(rt->rtm_family, AF_INET);
	ck_assert_uint_eq(rt->rtm_dst_len, 24);
	ck_assert_uint_eq(rt->rtm_table, RT_TABLE_UNSPEC);	/* > 255 */
	ck_assert_uint_eq(rt->rtm_protocol, RTPROT_BOOT);
	ck_assert_uint_eq(rt->rtm_scope, RT_SCOPE_LINK);
	ck_assert_uint_eq(rt->rtm_type, RTN_UNICAST);
	ck_assert_int_eq(nlmsg_parse(h, sizeof(*rt), tb, RTA_MAX, NULL), 0);
	ck_assert_uint_eq(nla_len(tb[RTA_DST]), 4);
	ck_assert_mem_eq(nla_data(tb[RTA_DST]), "\xac\x1e\x4d\x00", 4);
	ck_assert_uint_eq(nla_get_u32(tb[RTA_OIF]), 7);
	ck_assert_uint_eq(nla_get_u32(tb[RTA_TABLE]), 4242);
	nlmsg_free(m);

	m = wg_route_msg(0, 9, RT_TABLE_MAIN, &ip6);
	h = nlmsg_hdr(m);
	ck_assert_uint_eq(h->nlmsg_type, RTM_DELROUTE);
	ck_assert_uint_eq(h->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	rt = nlmsg_data(h);
	ck_assert_uint_eq(rt->rtm_family, AF_INET6);
	ck_assert_uint_eq(rt->rtm_dst_len, 64);
	ck_assert_uint_eq(rt->rtm_table, RT_TABLE_MAIN);
	/* a delete matches any protocol, type and scope */
	ck_assert_uint_eq(rt->rtm_protocol, 0);
	ck_assert_uint_eq(rt->rtm_type, 0);
	ck_assert_uint_eq(rt->rtm_scope, RT_SCOPE_NOWHERE);
	ck_assert_int_eq(nlmsg_parse(h, sizeof(*rt), tb, RTA_MAX, NULL), 0);
	ck_assert_uint_eq(nla_len(tb[RTA_DST]), 16);
	ck_assert_mem_eq(nla_data(tb[RTA_DST]), want6, 16);
	ck_assert_uint_eq(nla_get_u32(tb[RTA_OIF]), 9);
	nlmsg_free(m);
}
END_TEST

/* Which routes a policy gives, and the Table = of a wg-quick file. */
START_TEST(test_route_policy)
{
	struct wg_route_policy p;
	struct wg_allowedip def, net;
	char v[64];
	static const char conf[] =
		"[Interface]\r\nPrivateKey = x\n  table=  1234   # main\n"
		"[Peer]\nTable = 99\n";

	wg_allowedip_parse(&def, "0.0.0.0/0", 9);
	wg_allowedip_parse(&net, "10.0.0.0/8", 10);
	ck_assert_int_eq(wg_route_policy_parse(&p, "auto"), 0);
	ck_assert_int_eq(p.mode, WG_ROUTES_AUTO);
	ck_assert_uint_eq(p.table, RT_TABLE_MAIN);
	ck_assert(wg_route_skipped(&p, &def));	/* wg-quick uses policy routing */
	ck_assert(!wg_route_skipped(&p, &net));
	ck_assert_int_eq(wg_route_policy_parse(&p, "main"), 0);
	ck_assert_uint_eq(p.table, RT_TABLE_MAIN);
	ck_assert_int_eq(wg_route_policy_parse(&p, "1234"), 0);
	ck_assert_int_eq(p.mode, WG_ROUTES_TABLE);
	ck_assert_uint_eq(p.table, 1234);
	ck_assert(!wg_route_skipped(&p, &def));
	ck_assert_int_eq(wg_route_policy_parse(&p, "off"), 0);
	ck_assert(wg_route_skipped(&p, &net));
	ck_assert_int_eq(wg_route_policy_parse(&p, "0"), -EINVAL);
	ck_assert_int_eq(wg_route_policy_parse(&p, "4294967296"), -EINVAL);
	ck_assert_int_eq(wg_route_policy_parse(&p, "12x"), -EINVAL);
	ck_assert_int_eq(wg_route_policy_parse(&p, "no-such-table-name"), -EINVAL);

	ck_assert_int_eq(wg_quick_table(conf, sizeof(conf) - 1, v, sizeof(v)), 1);
	ck_assert_str_eq(v, "1234");
	ck_assert_int_eq(wg_quick_table("[Interface]\nAddress = 1\n", 23, v, sizeof(v)), 0);
	ck_assert_int_eq(wg_quick_table("[Peer]\nTable = off\n", 19, v, sizeof(v)), 0);
	ck_assert_int_eq(wg_quick_table("[Interface]\nTable = off", 23, v, sizeof(v)), 1);
	ck_assert_str_eq(v, "off");
	ck_assert_int_eq(wg_quick_table("[Interface]\nTable = 123456789", 29, v, 4), -EINVAL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("wg_netlink");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_build_get);
	tcase_add_test(tc, test_dump_split);
	tcase_add_test(tc, test_dump_intr_and_errors);
	tcase_add_test(tc, test_dump_malformed);
	tcase_add_test(tc, test_set_small);
	tcase_add_test(tc, test_set_split);
	tcase_add_test(tc, test_route_msg);
	tcase_add_test(tc, test_route_policy);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
