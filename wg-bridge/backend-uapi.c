/*
 * clawnexus-wg: the userspace backend, the UAPI text protocol spoken by
 * wireguard-go and boringtun over /var/run/wireguard/IFACE.sock.
 *
 * One command per connection (boringtun serves only one), keys in
 * lowercase hex, and the errno line checked whatever its sign
 * (wireguard-go sends negative values, boringtun positive ones).
 */

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "backend.h"
#include "uapi.h"

#define UAPI_MAX_REPLY	(256U * 1024 * 1024)
#define UAPI_TIMEOUT_SECONDS	10

const char *
wg_uapi_dir(void)
{
	const char *d = getenv("CLAWNEXUS_WG_SOCKET_DIR");

	return d && *d ? d : "/var/run/wireguard";
}

/* ---- pure part: request building ---- */

struct obuf {
	char *p;
	size_t len, cap;
	int oom;
};

static void
ob_printf(struct obuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	while (!b->oom) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			break;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			break;
		}
		size_t cap = b->cap * 2 + (size_t)n + 1;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->oom = 1;
			break;
		}
		b->p = p;
		b->cap = cap;
	}
}

int
wg_uapi_build_set(const struct wg_device *dev, char **out, size_t *len)
{
	struct obuf b = { NULL, 0, 0, 0 };
	char hex[WG_KEY_HEX_LEN + 1], s[INET6_ADDRSTRLEN + 16];
	size_t i, j;

	b.cap = 512;
	if (!(b.p = malloc(b.cap)))
		return -ENOMEM;
	ob_printf(&b, "set=1\n");
	if (dev->flags & WGDEV_HAS_PRIVATE_KEY) {
		wg_key_to_hex(hex, dev->private_key);
		ob_printf(&b, "private_key=%s\n", hex);
	}
	if (dev->flags & WGDEV_HAS_LISTEN_PORT)
		ob_printf(&b, "listen_port=%u\n", dev->listen_port);
	if (dev->flags & WGDEV_HAS_FWMARK)
		ob_printf(&b, "fwmark=%u\n", dev->fwmark);
	if (dev->flags & WGDEV_REPLACE_PEERS)
		ob_printf(&b, "replace_peers=true\n");
	for (i = 0; i < dev->npeers; i++) {
		const struct wg_peer *p = &dev->peers[i];

		wg_key_to_hex(hex, p->public_key);
		ob_printf(&b, "public_key=%s\n", hex);
		if (p->flags & WGPEER_REMOVE_ME) {
			ob_printf(&b, "remove=true\n");
			continue;
		}
		if (p->flags & WGPEER_UPDATE_ONLY)
			ob_printf(&b, "update_only=true\n");
		if (p->flags & WGPEER_HAS_PRESHARED_KEY) {
			wg_key_to_hex(hex, p->preshared_key);
			ob_printf(&b, "preshared_key=%s\n", hex);
		}
		if ((p->flags & WGPEER_HAS_ENDPOINT) &&
		    wg_endpoint_format(s, sizeof(s), &p->endpoint) > 0)
			ob_printf(&b, "endpoint=%s\n", s);
		if (p->flags & WGPEER_HAS_KEEPALIVE)
			ob_printf(&b, "persistent_keepalive_interval=%u\n",
				  p->keepalive);
		if (p->flags & WGPEER_REPLACE_ALLOWEDIPS)
			ob_printf(&b, "replace_allowed_ips=true\n");
		for (j = 0; j < p->nips; j++) {
			wg_allowedip_format(s, sizeof(s), &p->ips[j]);
			ob_printf(&b, "allowed_ip=%s\n", s);
		}
	}
	ob_printf(&b, "\n");
	sodium_memzero(hex, sizeof(hex));
	if (b.oom) {
		sodium_memzero(b.p, b.cap);
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

/* ---- pure part: reply parsing ---- */

static int
parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 20)
		return -EPROTO;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EPROTO;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -EPROTO;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "errno=N": returns 0, -|N|, or -EPROTO when malformed. */
static int
parse_errno_value(const char *v, size_t n)
{
	uint64_t e;
	int neg = 0;

	if (n && v[0] == '-') {
		neg = 1;
		v++;
		n--;
	}
	if (parse_u64(v, n, &e) < 0 || e > 4095)
		return -EPROTO;
	(void)neg;
	return -(int)e;
}

#define KEYIS(lit) (klen == sizeof(lit) - 1 && !memcmp(k, lit, klen))

int
wg_uapi_parse_get(struct wg_device *dev, const char *buf, size_t len)
{
	struct wg_peer *peer = NULL;
	size_t pos = 0;
	int have_errno = 0, err = 0, r = 0;
	uint64_t u;

	while (pos < len) {
		const char *line = buf + pos, *nl, *eq, *k, *v;
		size_t n, klen, vlen;

		nl = memchr(line, '\n', len - pos);
		if (!nl)
			return -EPROTO;	/* truncated */
		n = (size_t)(nl - line);
		pos += n + 1;
		if (n == 0)
			return have_errno ? err : -EPROTO;
		if (have_errno)
			return -EPROTO;	/* nothing may follow errno= */
		eq = memchr(line, '=', n);
		if (!eq)
			return -EPROTO;
		k = line;
		klen = (size_t)(eq - line);
		v = eq + 1;
		vlen = n - klen - 1;

		if (KEYIS("errno")) {
			err = parse_errno_value(v, vlen);
			have_errno = 1;
			if (err == -EPROTO)
				return -EPROTO;
		} else if (KEYIS("private_key")) {
			if (peer || wg_key_from_hex(dev->private_key, v,
						    vlen) < 0)
				return -EPROTO;
			dev->flags |= WGDEV_HAS_PRIVATE_KEY;
			if (!wg_key_is_zero(dev->private_key) &&
			    crypto_scalarmult_base(dev->public_key,
						   dev->private_key) == 0)
				dev->flags |= WGDEV_HAS_PUBLIC_KEY;
		} else if (KEYIS("own_public_key")) {
			/* boringtun reports the public key, not the private */
			if (peer || wg_key_from_hex(dev->public_key, v,
						    vlen) < 0)
				return -EPROTO;
			dev->flags |= WGDEV_HAS_PUBLIC_KEY;
		} else if (KEYIS("listen_port")) {
			if (peer || parse_u64(v, vlen, &u) < 0 || u > 65535)
				return -EPROTO;
			dev->listen_port = (uint16_t)u;
			dev->flags |= WGDEV_HAS_LISTEN_PORT;
		} else if (KEYIS("fwmark")) {
			if (peer || parse_u64(v, vlen, &u) < 0 ||
			    u > UINT32_MAX)
				return -EPROTO;
			dev->fwmark = (uint32_t)u;
			dev->flags |= WGDEV_HAS_FWMARK;
		} else if (KEYIS("public_key")) {
			peer = wg_device_add_peer(dev);
			if (!peer)
				return -ENOMEM;
			if (wg_key_from_hex(peer->public_key, v, vlen) < 0)
				return -EPROTO;
		} else if (!peer) {
			/* unknown device-level keys are ignored, like wg(8) */
			continue;
		} else if (KEYIS("preshared_key")) {
			if (wg_key_from_hex(peer->preshared_key, v, vlen) < 0)
				return -EPROTO;
			if (!wg_key_is_zero(peer->preshared_key))
				peer->flags |= WGPEER_HAS_PRESHARED_KEY;
		} else if (KEYIS("endpoint")) {
			char ep[INET6_ADDRSTRLEN + 16];

			if (vlen >= sizeof(ep))
				return -EPROTO;
			memcpy(ep, v, vlen);
			ep[vlen] = '\0';
			if (wg_endpoint_parse_numeric(&peer->endpoint, ep) < 0)
				return -EPROTO;
			peer->flags |= WGPEER_HAS_ENDPOINT;
		} else if (KEYIS("last_handshake_time_sec")) {
			if (parse_u64(v, vlen, &u) < 0 || u > INT64_MAX)
				return -EPROTO;
			peer->last_handshake_sec = (int64_t)u;
		} else if (KEYIS("last_handshake_time_nsec")) {
			if (parse_u64(v, vlen, &u) < 0 || u > INT64_MAX)
				return -EPROTO;
			peer->last_handshake_nsec = (int64_t)u;
		} else if (KEYIS("tx_bytes")) {
			if (parse_u64(v, vlen, &peer->tx_bytes) < 0)
				return -EPROTO;
		} else if (KEYIS("rx_bytes")) {
			if (parse_u64(v, vlen, &peer->rx_bytes) < 0)
				return -EPROTO;
		} else if (KEYIS("persistent_keepalive_interval")) {
			if (parse_u64(v, vlen, &u) < 0 || u > 65535)
				return -EPROTO;
			peer->keepalive = (uint16_t)u;
			peer->flags |= WGPEER_HAS_KEEPALIVE;
		} else if (KEYIS("allowed_ip")) {
			struct wg_allowedip ip;

			if (wg_allowedip_parse(&ip, v, vlen) < 0)
				return -EPROTO;
			r = wg_peer_add_ip(peer, &ip);
			if (r < 0)
				return r;
		}
		/* protocol_version and unknown peer keys: ignored */
	}
	return -EPROTO;	/* no blank line at the end */
}

int
wg_uapi_parse_errno(const char *buf, size_t len)
{
	const char *nl;
	int e;

	if (len < 9 || memcmp(buf, "errno=", 6))
		return -EPROTO;
	nl = memchr(buf, '\n', len);
	if (!nl || (size_t)(nl - buf) + 2 > len || nl[1] != '\n')
		return -EPROTO;
	e = parse_errno_value(buf + 6, (size_t)(nl - buf) - 6);
	return e;
}

/* ---- socket I/O ---- */

static int
uapi_path(char *out, size_t cap, const char *ifname)
{
	int n;

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	n = snprintf(out, cap, "%s/%s.sock", wg_uapi_dir(), ifname);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int
uapi_connect(const char *ifname)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { UAPI_TIMEOUT_SECONDS, 0 };
	struct stat st;
	int fd, r;

	r = uapi_path(sun.sun_path, sizeof(sun.sun_path), ifname);
	if (r < 0)
		return r;
	if (stat(sun.sun_path, &st) < 0)
		return errno == ENOENT ? -ENODEV : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENODEV;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* a hung daemon must not hang a wg-quick hook */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		close(fd);
		/* a stale socket of a dead daemon: no such device */
		return r == -ECONNREFUSED ? -ENODEV : r;
	}
	return fd;
}

int
wg_uapi_exists(const char *ifname)
{
	int fd = uapi_connect(ifname);

	if (fd == -ENODEV || fd == -EINVAL || fd == -ENAMETOOLONG)
		return 0;
	if (fd >= 0)
		close(fd);
	return 1;	/* exists (perhaps not accessible: reported later) */
}

static int
uapi_exchange(const char *ifname, const char *req, size_t reqlen,
	      char **reply, size_t *replylen)
{
	size_t len = 0, cap = 4096, off = 0;
	char *buf;
	ssize_t n;
	int fd, r = 0;

	fd = uapi_connect(ifname);
	if (fd < 0)
		return fd;
	while (off < reqlen) {
		n = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			close(fd);
			return r;
		}
		off += (size_t)n;
	}
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (len + 1 >= cap) {
			char *nb;

			if (cap >= UAPI_MAX_REPLY) {
				r = -EMSGSIZE;
				break;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = errno == EAGAIN ? -ETIMEDOUT : -errno;
			break;
		}
		if (n == 0)
			break;	/* the parser reports a truncated reply */
		len += (size_t)n;
		/* the first empty line ends the reply */
		if ((len >= 2 && buf[len - 1] == '\n' && buf[len - 2] == '\n')
		    || (len == 1 && buf[0] == '\n'))
			break;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*reply = buf;
	*replylen = len;
	return 0;
}

int
wg_uapi_get(const char *ifname, struct wg_device *dev)
{
	static const char req[] = "get=1\n\n";
	char *reply;
	size_t len;
	int r;

	r = uapi_exchange(ifname, req, sizeof(req) - 1, &reply, &len);
	if (r < 0)
		return r;
	wg_device_init(dev, ifname);
	r = wg_uapi_parse_get(dev, reply, len);
	sodium_memzero(reply, len);
	free(reply);
	if (r < 0)
		wg_device_clear(dev);
	return r;
}

int
wg_uapi_set(const struct wg_device *dev)
{
	char *req, *reply;
	size_t reqlen, len;
	int r;

	r = wg_uapi_build_set(dev, &req, &reqlen);
	if (r < 0)
		return r;
	r = uapi_exchange(dev->name, req, reqlen, &reply, &len);
	sodium_memzero(req, reqlen);
	free(req);
	if (r < 0)
		return r;
	r = wg_uapi_parse_errno(reply, len);
	free(reply);
	return r;
}

int
wg_uapi_list(char **list, size_t *len, size_t *cap)
{
	struct dirent *de;
	DIR *d = opendir(wg_uapi_dir());

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char name[WG_IFNAME_MAX + 1];

		if (n <= 5 || n - 5 > WG_IFNAME_MAX ||
		    strcmp(de->d_name + n - 5, ".sock"))
			continue;
		memcpy(name, de->d_name, n - 5);
		name[n - 5] = '\0';
		if (!wg_uapi_exists(name))
			continue;
		if (wg_list_append(list, len, cap, name, n - 5) < 0) {
			closedir(d);
			return -ENOMEM;
		}
	}
	closedir(d);
	return 0;
}
