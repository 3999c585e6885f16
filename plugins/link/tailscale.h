/*
 * clawnexus-link: a direct address from the tailnet, read from
 * `tailscale status --json` where the tailscale CLI is installed.
 *
 * Fields used, from Tailscale's public ipnstate types
 * (tailscale/tailscale: ipn/ipnstate/ipnstate.go, Status and PeerStatus):
 *   Status.BackendState    "Running" when connected (else nothing is used)
 *   Status.Peer            map of node key -> PeerStatus
 *   PeerStatus.HostName    the peer's OS host name (not unique, not DNS)
 *   PeerStatus.DNSName     its MagicDNS FQDN "host.<suffix>." (ends in '.')
 *   PeerStatus.Online      connected to the control plane
 *   PeerStatus.TailscaleIPs  its tailnet addresses, IPv4 first
 * A peer matches NAME (".claw" removed) when HostName equals it or the
 * first label of DNSName does, both without regard to case; it must be
 * Online; its first TailscaleIPs entry is used with port 7473.
 */

#ifndef CNX_LINK_TAILSCALE_H
#define CNX_LINK_TAILSCALE_H

#include <stddef.h>

#define LINK_TAILSCALE_MAX   (8 * 1024 * 1024)   /* status --json output */
#define LINK_TAILSCALE_MS    2000                /* the CLI's time limit */

/* Parse status JSON (pure): 1 found ("ADDR:7473" in out), 0 not found or
 * offline, -1 not a status object. */
int link_tailscale_parse(const char *text, size_t len, const char *name,
    char *out, size_t cap);

/* Run `tailscale status --json` ($CLAWNEXUS_TAILSCALE names another
 * program) when it is installed, at most LINK_TAILSCALE_MS, and parse its
 * output: 1 found, 0 not found / not installed / not running, -1 error
 * (one debug line). */
int link_tailscale_lookup(const char *name, char *out, size_t cap);

#endif
