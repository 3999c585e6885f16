/*
 * clawnexus-wg: keys (base64 and hex through libsodium), allowed-IP prefixes, endpoints and
 * names.  Pure functions over strings; nothing here touches the system
 * except wg_endpoint_resolve().
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wg.h"

int
wg_key_from_base64(uint8_t key[WG_KEY_LEN], const char *s)
{
	uint8_t tmp[WG_KEY_LEN];
	size_t n = 0;
	int r;

	/* 32 bytes encode to 43 characters and exactly one '=' */
	if (!s || strlen(s) != WG_KEY_B64_LEN || s[WG_KEY_B64_LEN - 1] != '=')
		return -EINVAL;
	r = sodium_base642bin(tmp, sizeof(tmp), s, WG_KEY_B64_LEN, NULL, &n,
			      NULL, sodium_base64_VARIANT_ORIGINAL);
	if (r < 0 || n != WG_KEY_LEN) {
		sodium_memzero(tmp, sizeof(tmp));
		return -EINVAL;
	}
	memcpy(key, tmp, WG_KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return 0;
}

void
wg_key_to_base64(char out[WG_KEY_B64_LEN + 1], const uint8_t key[WG_KEY_LEN])
{
	sodium_bin2base64(out, WG_KEY_B64_LEN + 1, key, WG_KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
}

int
wg_key_from_hex(uint8_t key[WG_KEY_LEN], const char *s, size_t n)
{
	size_t got = 0;

	/* sodium_hex2bin is constant-time and takes either case */
	if (n != WG_KEY_HEX_LEN ||
	    sodium_hex2bin(key, WG_KEY_LEN, s, n, NULL, &got, NULL) < 0 ||
	    got != WG_KEY_LEN) {
		sodium_memzero(key, WG_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

void
wg_key_to_hex(char out[WG_KEY_HEX_LEN + 1], const uint8_t key[WG_KEY_LEN])
{
	sodium_bin2hex(out, WG_KEY_HEX_LEN + 1, key, WG_KEY_LEN);
}

int
wg_key_is_zero(const uint8_t key[WG_KEY_LEN])
{
	return sodium_is_zero(key, WG_KEY_LEN);
}

int
wg_key_equal(const uint8_t a[WG_KEY_LEN], const uint8_t b[WG_KEY_LEN])
{
	return sodium_memcmp(a, b, WG_KEY_LEN) == 0;
}

int
wg_ifname_valid(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n > WG_IFNAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] <= ' ' || s[i] > '~')
			return 0;
	return 1;
}

int
wg_name_valid(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n > WG_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

int
wg_parse_u16(const char *s, uint16_t *out)
{
	unsigned long v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 5)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/*
 * "ADDR/BITS" or "ADDR" (a single host).  Host bits are cleared so that
 * prefixes compare the way the kernel stores them.
 */
int
wg_allowedip_parse(struct wg_allowedip *ip, const char *s, size_t n)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	unsigned long bits = 0;
	unsigned int max, i;
	uint8_t *b;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(ip, 0, sizeof(*ip));
	slash = strchr(buf, '/');
	if (slash) {
		const char *d = slash + 1;

		if (*d == '\0' || strlen(d) > 3)
			return -EINVAL;
		for (; *d; d++) {
			if (*d < '0' || *d > '9')
				return -EINVAL;
			bits = bits * 10 + (unsigned long)(*d - '0');
		}
		buf[slash - buf] = '\0';
	}
	if (inet_pton(AF_INET, buf, &ip->ip4) == 1) {
		ip->family = AF_INET;
		max = 32;
		b = (uint8_t *)&ip->ip4;
	} else if (inet_pton(AF_INET6, buf, &ip->ip6) == 1) {
		ip->family = AF_INET6;
		max = 128;
		b = (uint8_t *)&ip->ip6;
	} else {
		return -EINVAL;
	}
	if (!slash)
		bits = max;
	if (bits > max)
		return -EINVAL;
	ip->cidr = (uint8_t)bits;
	for (i = 0; i < max / 8; i++) {
		if (i * 8 >= bits)
			b[i] = 0;
		else if (i * 8 + 8 > bits)
			b[i] &= (uint8_t)(0xff << (8 - (bits - i * 8)));
	}
	return 0;
}

int
wg_allowedip_format(char *out, size_t cap, const struct wg_allowedip *ip)
{
	char a[INET6_ADDRSTRLEN];
	int n;

	if (!inet_ntop(ip->family, ip->family == AF_INET ?
		       (const void *)&ip->ip4 : (const void *)&ip->ip6,
		       a, sizeof(a)))
		return -EINVAL;
	n = snprintf(out, cap, "%s/%u", a, ip->cidr);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int
wg_allowedip_equal(const struct wg_allowedip *a, const struct wg_allowedip *b)
{
	if (a->family != b->family || a->cidr != b->cidr)
		return 0;
	if (a->family == AF_INET)
		return !memcmp(&a->ip4, &b->ip4, sizeof(a->ip4));
	return !memcmp(&a->ip6, &b->ip6, sizeof(a->ip6));
}

int
wg_allowedip_is_host(const struct wg_allowedip *ip)
{
	return (ip->family == AF_INET && ip->cidr == 32) ||
	       (ip->family == AF_INET6 && ip->cidr == 128);
}

/* Comma-separated prefixes, spaces around commas allowed. */
int
wg_allowedips_parse_list(struct wg_peer *peer, const char *list,
			 const char **bad, size_t *badlen)
{
	const char *p = list, *e;
	struct wg_allowedip ip;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		e = p;
		while (*e && *e != ',')
			e++;
		size_t n = (size_t)(e - p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0 && *e == '\0' && p == list)
			return 0;	/* empty list */
		if (wg_allowedip_parse(&ip, p, n) < 0) {
			if (bad) {
				*bad = p;
				*badlen = n;
			}
			return -EINVAL;
		}
		if (wg_peer_add_ip(peer, &ip) < 0)
			return -ENOMEM;
		if (*e == '\0')
			return 0;
		p = e + 1;
	}
}

static int
endpoint_split(const char *s, char *host, size_t hcap, uint16_t *port)
{
	const char *colon;
	size_t hn;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		hn = (size_t)(close - s - 1);
		s++;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL;	/* IPv6 needs brackets */
		hn = (size_t)(colon - s);
	}
	if (hn == 0 || hn >= hcap)
		return -EINVAL;
	memcpy(host, s, hn);
	host[hn] = '\0';
	if (wg_parse_u16(colon + 1, port) < 0 || *port == 0)
		return -EINVAL;
	return 0;
}

int
wg_endpoint_syntax_ok(const char *s)
{
	char host[256];
	uint16_t port;
	size_t i;

	if (endpoint_split(s, host, sizeof(host), &port) < 0)
		return 0;
	for (i = 0; host[i]; i++)
		if (host[i] <= ' ' || host[i] > '~')
			return 0;
	return 1;
}

int
wg_endpoint_parse_numeric(union wg_endpoint *ep, const char *s)
{
	char host[INET6_ADDRSTRLEN + 1];
	uint16_t port;

	memset(ep, 0, sizeof(*ep));
	if (endpoint_split(s, host, sizeof(host), &port) < 0)
		return -EINVAL;
	if (inet_pton(AF_INET, host, &ep->addr4.sin_addr) == 1) {
		ep->addr4.sin_family = AF_INET;
		ep->addr4.sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &ep->addr6.sin6_addr) == 1) {
		ep->addr6.sin6_family = AF_INET6;
		ep->addr6.sin6_port = htons(port);
		return 0;
	}
	return -EINVAL;
}

int
wg_endpoint_resolve(union wg_endpoint *ep, const char *s)
{
	struct addrinfo hints, *res = NULL;
	char host[256], ports[8];
	uint16_t port;
	int r;

	if (wg_endpoint_parse_numeric(ep, s) == 0)
		return 0;
	if (endpoint_split(s, host, sizeof(host), &port) < 0)
		return -EINVAL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(ports, sizeof(ports), "%u", port);
	r = getaddrinfo(host, ports, &hints, &res);
	if (r != 0 || !res)
		return -EHOSTUNREACH;
	memset(ep, 0, sizeof(*ep));
	if (res->ai_addrlen <= sizeof(*ep))
		memcpy(ep, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return ep->addr.sa_family ? 0 : -EHOSTUNREACH;
}

int
wg_endpoint_format(char *out, size_t cap, const union wg_endpoint *ep)
{
	char a[INET6_ADDRSTRLEN];
	int n;

	if (ep->addr.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->addr4.sin_addr, a, sizeof(a));
		n = snprintf(out, cap, "%s:%u", a, ntohs(ep->addr4.sin_port));
	} else if (ep->addr.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &ep->addr6.sin6_addr, a, sizeof(a));
		n = snprintf(out, cap, "[%s]:%u", a,
			     ntohs(ep->addr6.sin6_port));
	} else {
		return -EINVAL;
	}
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int
wg_endpoint_equal(const union wg_endpoint *a, const union wg_endpoint *b)
{
	if (a->addr.sa_family != b->addr.sa_family)
		return 0;
	if (a->addr.sa_family == AF_INET)
		return a->addr4.sin_port == b->addr4.sin_port &&
		       !memcmp(&a->addr4.sin_addr, &b->addr4.sin_addr, 4);
	if (a->addr.sa_family == AF_INET6)
		return a->addr6.sin6_port == b->addr6.sin6_port &&
		       !memcmp(&a->addr6.sin6_addr, &b->addr6.sin6_addr, 16);
	return 1;
}
