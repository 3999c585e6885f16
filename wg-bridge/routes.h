/*
 * clawnexus-wg: routes for the allowed IPs of the peers it applies, as
 * wg-quick does: the main table, or the interface's "Table =" (a number,
 * a name from /etc/iproute2/rt_tables, "auto" or "off").
 */

#ifndef CLAWNEXUS_WG_ROUTES_H
#define CLAWNEXUS_WG_ROUTES_H

#include "wg.h"

struct nl_msg;

enum wg_routes_mode {
	WG_ROUTES_AUTO,		/* main table, a /0 is left out */
	WG_ROUTES_TABLE,	/* that table, /0 included */
	WG_ROUTES_OFF
};

struct wg_route_policy {
	enum wg_routes_mode mode;
	uint32_t table;
};

/* "off", "auto", "main", a number or a name in /etc/iproute2/rt_tables:
 * 0 or -EINVAL. */
int wg_route_policy_parse(struct wg_route_policy *p, const char *s);

/* The value of "Table =" in the [Interface] section of a wg-quick
 * configuration: 1 found (copied to out), 0 absent, -EINVAL too long. */
int wg_quick_table(const char *buf, size_t len, char *out, size_t cap);

/* 1 when the policy gives ip no route. */
int wg_route_skipped(const struct wg_route_policy *p,
		     const struct wg_allowedip *ip);

/* RTM_NEWROUTE (add, NLM_F_CREATE | NLM_F_EXCL) or RTM_DELROUTE for
 * "PREFIX dev IFINDEX table TABLE", or NULL without memory. */
struct nl_msg *wg_route_msg(int add, uint32_t ifindex, uint32_t table,
			    const struct wg_allowedip *ip);

typedef void (*wg_route_err_fn)(void *ud, const struct wg_allowedip *ip,
				const char *why);

/*
 * Add (or delete) a route through ifname for each prefix the policy
 * routes.  A route that already exists (or is already gone) is fine;
 * every other failure is reported through report and makes the result
 * -EIO after the remaining prefixes were tried.
 */
int wg_route_apply(const char *ifname, const struct wg_route_policy *p,
		   const struct wg_allowedip *ips, size_t n, int add,
		   wg_route_err_fn report, void *ud);

#endif
