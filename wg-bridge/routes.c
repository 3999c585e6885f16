/*
 * clawnexus-wg: routes for the allowed IPs of the peers it applies, the
 * way wg-quick adds them at "up": "ip route add PREFIX dev IFACE [table
 * T]".  Messages are built with libnl's message and attribute API (the
 * builder is unit-tested); one request and its acknowledgement at a time.
 */

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/rtnetlink.h>

#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "routes.h"

struct nl_msg *
wg_route_msg(int add, uint32_t ifindex, uint32_t table,
	     const struct wg_allowedip *ip)
{
	struct rtmsg rt;
	struct nl_msg *m;
	int alen = ip->family == AF_INET ? 4 : 16;

	m = nlmsg_alloc_simple(add ? RTM_NEWROUTE : RTM_DELROUTE,
			       NLM_F_REQUEST | NLM_F_ACK |
			       (add ? NLM_F_CREATE | NLM_F_EXCL : 0));
	if (!m)
		return NULL;
	memset(&rt, 0, sizeof(rt));
	rt.rtm_family = (unsigned char)ip->family;
	rt.rtm_dst_len = ip->cidr;
	rt.rtm_table = table < 256 ? (unsigned char)table : RT_TABLE_UNSPEC;
	if (add) {
		/* what "ip route add PREFIX dev IFACE" sends */
		rt.rtm_protocol = RTPROT_BOOT;
		rt.rtm_scope = RT_SCOPE_LINK;
		rt.rtm_type = RTN_UNICAST;
	} else {
		rt.rtm_scope = RT_SCOPE_NOWHERE;	/* any scope */
	}
	if (nlmsg_append(m, &rt, sizeof(rt), NLMSG_ALIGNTO) < 0 ||
	    nla_put(m, RTA_DST, alen, &ip->ip4) < 0 ||
	    nla_put_u32(m, RTA_OIF, ifindex) < 0 ||
	    nla_put_u32(m, RTA_TABLE, table) < 0) {
		nlmsg_free(m);
		return NULL;
	}
	return m;
}

int
wg_quick_table(const char *buf, size_t len, char *out, size_t cap)
{
	size_t pos = 0;
	int in_iface = 0, found = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - buf - pos) : len - pos;
		const char *s = buf + pos, *e = s + n, *eq, *v, *ve;

		pos += n + (nl ? 1 : 0);
		/* wg-quick drops everything after '#' and all blanks */
		if ((eq = memchr(s, '#', n)))
			e = eq;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' ||
				 e[-1] == '\r'))
			e--;
		if (s == e)
			continue;
		if (*s == '[') {
			in_iface = (size_t)(e - s) == 11 &&
				   !strncasecmp(s, "[Interface]", 11);
			continue;
		}
		if (!in_iface || !(eq = memchr(s, '=', (size_t)(e - s))))
			continue;
		ve = eq;
		while (ve > s && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if ((size_t)(ve - s) != 5 || strncasecmp(s, "Table", 5))
			continue;
		v = eq + 1;
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		if ((size_t)(e - v) >= cap)
			return -EINVAL;
		memcpy(out, v, (size_t)(e - v));
		out[e - v] = '\0';
		found = 1;	/* the last one wins, as in wg-quick */
	}
	return found;
}

/* A table named in /etc/iproute2/rt_tables ("NUMBER NAME" lines). */
static int
table_by_name(const char *name, uint32_t *table)
{
	char line[256], nm[128];
	unsigned long v;
	FILE *f = fopen("/etc/iproute2/rt_tables", "re");
	int r = -ENOENT;

	if (!f)
		return r;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lu %127s", &v, nm) == 2 &&
		    !strcmp(nm, name) && v > 0 && v <= 0xffffffffUL) {
			*table = (uint32_t)v;
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

int
wg_route_policy_parse(struct wg_route_policy *p, const char *s)
{
	char *end;
	unsigned long v;

	memset(p, 0, sizeof(*p));
	if (!strcmp(s, "off")) {
		p->mode = WG_ROUTES_OFF;
		return 0;
	}
	p->mode = WG_ROUTES_TABLE;
	if (!strcmp(s, "auto")) {
		p->mode = WG_ROUTES_AUTO;
		p->table = RT_TABLE_MAIN;
		return 0;
	}
	if (!strcmp(s, "main")) {
		p->table = RT_TABLE_MAIN;
		return 0;
	}
	if (*s >= '0' && *s <= '9') {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (*end || errno || v == 0 || v > 0xffffffffUL)
			return -EINVAL;
		p->table = (uint32_t)v;
		return 0;
	}
	return table_by_name(s, &p->table) < 0 ? -EINVAL : 0;
}

int
wg_route_skipped(const struct wg_route_policy *p,
		 const struct wg_allowedip *ip)
{
	/* wg-quick routes a /0 in "auto" through a fwmark rule and its own
	 * table; without that, a default route would take all traffic */
	return p->mode == WG_ROUTES_OFF ||
	       (p->mode == WG_ROUTES_AUTO && ip->cidr == 0);
}

/* The kernel's errno, which libnl would turn into a coarser NLE_ code. */
static int
route_err(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	(void)nla;
	*(int *)arg = e->error;
	return NL_STOP;
}

int
wg_route_apply(const char *ifname, const struct wg_route_policy *p,
	       const struct wg_allowedip *ips, size_t n, int add,
	       wg_route_err_fn report, void *ud)
{
	struct nl_sock *sk;
	unsigned int ifindex;
	size_t i;
	int r, ret = 0, kerr;

	if (p->mode == WG_ROUTES_OFF || n == 0)
		return 0;
	ifindex = if_nametoindex(ifname);
	if (!ifindex)
		return -errno;
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	if ((r = nl_connect(sk, NETLINK_ROUTE)) < 0) {
		nl_socket_free(sk);
		return -EIO;
	}
	nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, route_err, &kerr);
	for (i = 0; i < n; i++) {
		struct nl_msg *m;

		if (wg_route_skipped(p, &ips[i]))
			continue;
		if (!(m = wg_route_msg(add, ifindex, p->table, &ips[i]))) {
			ret = -ENOMEM;
			break;
		}
		kerr = 0;
		r = nl_send_auto(sk, m);
		nlmsg_free(m);
		if (r >= 0)
			r = nl_wait_for_ack(sk);
		if (r >= 0 && kerr == 0)
			continue;
		/* already there (wg-quick added it, or an earlier run), or
		 * already gone: both are what was asked for */
		if ((add && kerr == -EEXIST) ||
		    (!add && (kerr == -ESRCH || kerr == -ENOENT)))
			continue;
		if (report)
			report(ud, &ips[i], kerr ? strerror(-kerr) :
					    nl_geterror(r));
		ret = -EIO;
	}
	nl_socket_free(sk);
	return ret;
}
