/*
 * clawnexus-wg: the device model shared by the backends and the commands,
 * and the validation helpers for keys, prefixes, endpoints and names.
 */

#ifndef CLAWNEXUS_WG_H
#define CLAWNEXUS_WG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define WG_KEY_LEN		32
#define WG_KEY_B64_LEN		44	/* without the NUL */
#define WG_KEY_HEX_LEN		64
#define WG_IFNAME_MAX		15
#define WG_NAME_MAX		63
#define WG_DIRECT_SECONDS	180	/* recent handshake = direct */

/* exit statuses */
#define WG_EXIT_OK		0
#define WG_EXIT_FAIL		1
#define WG_EXIT_USAGE		2	/* same table as clawnexus-link */
#define WG_EXIT_UNKNOWN		5	/* name not in the names file */

extern const char *prog_name;

struct wg_allowedip {
	uint16_t family;		/* AF_INET or AF_INET6 */
	uint8_t cidr;
	union {
		struct in_addr ip4;
		struct in6_addr ip6;
	};
};

union wg_endpoint {
	struct sockaddr addr;
	struct sockaddr_in addr4;
	struct sockaddr_in6 addr6;
};

enum {
	/* what the caller asks for on set */
	WGPEER_REMOVE_ME = 1U << 0,
	WGPEER_REPLACE_ALLOWEDIPS = 1U << 1,
	WGPEER_UPDATE_ONLY = 1U << 2,
	/* which optional fields are valid */
	WGPEER_HAS_PRESHARED_KEY = 1U << 3,
	WGPEER_HAS_KEEPALIVE = 1U << 4,
	WGPEER_HAS_ENDPOINT = 1U << 5
};

struct wg_peer {
	unsigned int flags;
	uint8_t public_key[WG_KEY_LEN];
	uint8_t preshared_key[WG_KEY_LEN];
	union wg_endpoint endpoint;
	uint16_t keepalive;
	int64_t last_handshake_sec;
	int64_t last_handshake_nsec;
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	struct wg_allowedip *ips;
	size_t nips;
	size_t capips;
};

enum {
	WGDEV_REPLACE_PEERS = 1U << 0,
	WGDEV_HAS_PRIVATE_KEY = 1U << 1,
	WGDEV_HAS_PUBLIC_KEY = 1U << 2,
	WGDEV_HAS_LISTEN_PORT = 1U << 3,
	WGDEV_HAS_FWMARK = 1U << 4
};

struct wg_device {
	char name[WG_IFNAME_MAX + 1];
	uint32_t ifindex;
	unsigned int flags;
	uint8_t private_key[WG_KEY_LEN];
	uint8_t public_key[WG_KEY_LEN];
	uint16_t listen_port;
	uint32_t fwmark;
	struct wg_peer *peers;
	size_t npeers;
	size_t cappeers;
};

/* device.c: containers (arrays grown by doubling; secrets wiped on free) */
void wg_device_init(struct wg_device *dev, const char *name);
void wg_device_clear(struct wg_device *dev);
struct wg_peer *wg_device_add_peer(struct wg_device *dev);
/* A request entry that takes the peer with this key off the interface. */
int wg_device_add_removal(struct wg_device *dev,
			  const uint8_t key[WG_KEY_LEN]);
struct wg_peer *wg_device_find_peer(struct wg_device *dev,
				    const uint8_t key[WG_KEY_LEN]);
int wg_peer_add_ip(struct wg_peer *peer, const struct wg_allowedip *ip);
void wg_peer_clear(struct wg_peer *peer);
int wg_peer_copy(struct wg_peer *dst, const struct wg_peer *src);
/* Append name[0..n) to a list of NUL-terminated names that ends with an
 * extra NUL (list[len]); the buffer grows by doubling. */
int wg_list_append(char **list, size_t *len, size_t *cap, const char *name,
		   size_t n);

/* keys.c: validation and encodings */
int wg_key_from_base64(uint8_t key[WG_KEY_LEN], const char *s);
void wg_key_to_base64(char out[WG_KEY_B64_LEN + 1],
		      const uint8_t key[WG_KEY_LEN]);
int wg_key_from_hex(uint8_t key[WG_KEY_LEN], const char *s, size_t n);
void wg_key_to_hex(char out[WG_KEY_HEX_LEN + 1],
		   const uint8_t key[WG_KEY_LEN]);
int wg_key_is_zero(const uint8_t key[WG_KEY_LEN]);
int wg_key_equal(const uint8_t a[WG_KEY_LEN], const uint8_t b[WG_KEY_LEN]);
int wg_ifname_valid(const char *s);
int wg_name_valid(const char *s);
int wg_allowedip_parse(struct wg_allowedip *ip, const char *s, size_t n);
int wg_allowedip_format(char *out, size_t cap, const struct wg_allowedip *ip);
int wg_allowedip_equal(const struct wg_allowedip *a,
		       const struct wg_allowedip *b);
int wg_allowedip_is_host(const struct wg_allowedip *ip);
int wg_allowedips_parse_list(struct wg_peer *peer, const char *list,
			     const char **bad, size_t *badlen);
int wg_endpoint_parse_numeric(union wg_endpoint *ep, const char *s);
int wg_endpoint_resolve(union wg_endpoint *ep, const char *s);
int wg_endpoint_syntax_ok(const char *s);
int wg_endpoint_format(char *out, size_t cap, const union wg_endpoint *ep);
int wg_endpoint_equal(const union wg_endpoint *a, const union wg_endpoint *b);
int wg_parse_u16(const char *s, uint16_t *out);

#endif
