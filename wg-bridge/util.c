/*
 * clawnexus-wg: helpers shared by the subcommands (error lines, loading
 * and saving the names file, talking to the chosen backend).
 */

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "routes.h"
#include "subcommands.h"

const char *prog_name = "clawnexus-wg";

static void
vmsg(const char *kind, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", prog_name, kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
wg_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void
wg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

int
wg_is_help(const char *s)
{
	return !strcmp(s, "--help") || !strcmp(s, "-h");
}

int
wg_args_iface(int argc, char **argv, int nargs, void (*usage)(FILE *),
	      const char *need)
{
	if (argc >= 2 && wg_is_help(argv[1])) {
		usage(stdout);
		return WG_EXIT_OK;
	}
	if (argc != nargs) {
		wg_err("%s", need);
		usage(stderr);
		return WG_EXIT_USAGE;
	}
	if (!wg_ifname_valid(argv[1])) {
		wg_err("bad interface name '%s'", argv[1]);
		return WG_EXIT_USAGE;
	}
	return -1;
}

int
ctx_load_names(struct wg_ctx *ctx, struct wg_names *db)
{
	char err[512];
	int r;

	r = wg_names_load(db, ctx->names_path, err, sizeof(err));
	if (r < 0) {
		wg_err("%s", err);
		return r;
	}
	return 0;
}

int
ctx_get_device(struct wg_ctx *ctx, const char *ifname, struct wg_device *dev)
{
	int r;

	wg_device_init(dev, ifname);
	r = wg_backend_get(ctx->backend, ifname, dev, NULL);
	if (r < 0) {
		wg_err("interface %s: %s", ifname, wg_backend_strerror(r));
		return r;
	}
	return 0;
}

int
ctx_set_device(struct wg_ctx *ctx, const struct wg_device *dev)
{
	int r = wg_backend_set(ctx->backend, dev);

	if (r < 0)
		wg_err("interface %s: cannot apply peers: %s (errno %d)",
		       dev->name, wg_backend_strerror(r),
		       r == WG_ENOKERNEL ? 0 : -r);
	return r;
}

/* The folder must exist (it is made 0700 if missing) and be writable. */
int
ctx_check_names_writable(struct wg_ctx *ctx)
{
	char *d = strdup(ctx->names_path), *dir;
	int r = 0;

	if (!d)
		return -ENOMEM;
	dir = dirname(d);
	if (access(dir, F_OK) < 0 && mkdir(dir, 0700) < 0) {
		r = -errno;
		wg_err("cannot create folder %s for the names file: %s", dir,
		       strerror(errno));
	} else if (access(dir, W_OK) < 0) {
		r = -errno;
		wg_err("cannot write the names file %s: %s", ctx->names_path,
		       strerror(errno));
	}
	free(d);
	return r;
}

int
ctx_save_names(struct wg_ctx *ctx, const struct wg_names *db)
{
	int r = wg_names_save(db, ctx->names_path);

	if (r < 0)
		wg_err("cannot write the names file %s: %s", ctx->names_path,
		       strerror(-r));
	return r;
}

/* A key file holds one base64 key and an optional newline. */
int
wg_read_key_file(const char *path, uint8_t key[WG_KEY_LEN])
{
	char buf[WG_KEY_B64_LEN + 3];
	struct stat st;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		wg_warn("%s is accessible by other users (chmod 600 it)",
			path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	r = wg_key_from_base64(key, buf);
	sodium_memzero(buf, sizeof(buf));
	return r < 0 ? -EINVAL : 0;
}

int
wg_name_to_peer(const struct wg_name *e, struct wg_peer *out)
{
	int r;

	r = wg_peer_copy(out, &e->peer);
	if (r < 0)
		return r;
	out->flags &= WGPEER_HAS_KEEPALIVE;
	if (e->peer.nips)
		out->flags |= WGPEER_REPLACE_ALLOWEDIPS;
	if (e->endpoint) {
		r = wg_endpoint_resolve(&out->endpoint, e->endpoint);
		if (r < 0) {
			wg_err("cannot resolve endpoint %s of '%s'",
			       e->endpoint, e->name);
			wg_peer_clear(out);
			return r;
		}
		out->flags |= WGPEER_HAS_ENDPOINT;
	}
	if (e->psk_file) {
		r = wg_read_key_file(e->psk_file, out->preshared_key);
		if (r < 0) {
			wg_err("preshared key file %s of '%s': %s",
			       e->psk_file, e->name, r == -EINVAL ?
			       "not one base64 key of 44 characters" :
			       strerror(-r));
			wg_peer_clear(out);
			return r;
		}
		out->flags |= WGPEER_HAS_PRESHARED_KEY;
	}
	return 0;
}

static int
ips_same(const struct wg_peer *a, const struct wg_peer *b)
{
	size_t i, j;

	if (a->nips != b->nips)
		return 0;
	for (i = 0; i < a->nips; i++) {
		for (j = 0; j < b->nips; j++)
			if (wg_allowedip_equal(&a->ips[i], &b->ips[j]))
				break;
		if (j == b->nips)
			return 0;
	}
	return 1;
}

int
wg_peer_matches(const struct wg_peer *want, const struct wg_peer *live)
{
	if (want->nips && !ips_same(want, live))
		return 0;
	if ((want->flags & WGPEER_HAS_ENDPOINT) &&
	    !wg_endpoint_equal(&want->endpoint, &live->endpoint))
		return 0;
	if ((want->flags & WGPEER_HAS_KEEPALIVE) &&
	    want->keepalive != live->keepalive)
		return 0;
	if ((want->flags & WGPEER_HAS_PRESHARED_KEY) &&
	    !wg_key_equal(want->preshared_key, live->preshared_key))
		return 0;
	return 1;
}

int
ctx_refuse_managed(struct wg_ctx *ctx, const struct wg_names *db,
		   const char *ifname, const char *cmd)
{
	if (!wg_names_managed(db, ifname))
		return 0;
	wg_err("interface %s is managed elsewhere (marked in %s): "
	       "clawnexus-wg never adds, changes or removes its peers, so "
	       "'%s' is refused there; use 'name' and 'unname'", ifname,
	       ctx->names_path, cmd);
	return 1;
}

const struct wg_allowedip *
wg_entry_address(const struct wg_name *e, const struct wg_device *dev)
{
	const struct wg_allowedip *a = wg_name_address(e);
	const struct wg_peer *p;
	size_t i;

	if (a || !dev)
		return a;
	/* no address recorded (a managed interface): the live one */
	for (i = 0; i < dev->npeers; i++) {
		p = &dev->peers[i];
		if (!wg_key_equal(p->public_key, e->peer.public_key))
			continue;
		for (i = 0; i < p->nips; i++)
			if (wg_allowedip_is_host(&p->ips[i]))
				return &p->ips[i];
		return NULL;
	}
	return NULL;
}

/* The value of Table = in the interface's wg-quick file: 1 (in val), 0
 * none (no file at the default place, or no such line), -1 after a line. */
static int
wg_quick_file_table(struct wg_ctx *ctx, const char *ifname, char *val,
		    size_t cap, char *from, size_t fromcap)
{
	char path[64 + WG_IFNAME_MAX], *real, *buf = NULL;
	const char *conf = ctx->wg_quick_config;
	struct stat st;
	size_t len;
	int r;

	if (!conf) {
		snprintf(path, sizeof(path), "/etc/wireguard/%s.conf", ifname);
		conf = path;
	}
	snprintf(from, fromcap, "%s", conf);
	if (!(real = realpath(conf, NULL))) {
		if (errno == ENOENT && !ctx->wg_quick_config)
			return 0;	/* not a wg-quick interface */
		wg_err("cannot read the wg-quick configuration %s: %s", conf,
		       strerror(errno));
		return -1;
	}
	r = wg_read_nofollow(real, 1024 * 1024, &buf, &len, &st);
	free(real);
	if (r < 0) {
		wg_err("cannot read the wg-quick configuration %s: %s", conf,
		       r == -EINVAL ? "not a regular file of at most 1 MiB" :
		       strerror(-r));
		return -1;
	}
	r = wg_quick_table(buf, len, val, cap);
	free(buf);
	if (r < 0) {
		wg_err("%s: the Table value is too long", conf);
		return -1;
	}
	return r;
}

int
ctx_route_policy(struct wg_ctx *ctx, const char *ifname,
		 struct wg_route_policy *p)
{
	char val[64], from[PATH_MAX] = "--table";
	const char *v = ctx->table;
	int r;

	if (ctx->route_ready) {
		*p = ctx->route;
		return 0;
	}
	if (ctx->no_routes) {
		p->mode = WG_ROUTES_OFF;
		p->table = 0;
	} else {
		/* --table, else the interface's own "Table =", else auto */
		if (!v) {
			r = wg_quick_file_table(ctx, ifname, val, sizeof(val),
						from, sizeof(from));
			if (r < 0)
				return -EINVAL;
			v = r > 0 ? val : "auto";
		}
		if (wg_route_policy_parse(p, v) < 0) {
			wg_err("%s: bad table '%s' (off, auto, main, a number "
			       "or a name in /etc/iproute2/rt_tables)", from,
			       v);
			return -EINVAL;
		}
	}
	ctx->route = *p;
	ctx->route_ready = 1;
	return 0;
}

struct route_report {
	const char *ifname;
	const struct wg_route_policy *p;
	int add;
};

static void
route_failed(void *ud, const struct wg_allowedip *ip, const char *why)
{
	struct route_report *rr = ud;
	char s[INET6_ADDRSTRLEN + 8];

	wg_allowedip_format(s, sizeof(s), ip);
	wg_err("cannot %s the route %s dev %s table %u: %s",
	       rr->add ? "add" : "delete", s, rr->ifname,
	       (unsigned int)rr->p->table, why);
}

static int
has_ip(const struct wg_peer *p, const struct wg_allowedip *ip)
{
	size_t i;

	for (i = 0; i < p->nips; i++)
		if (wg_allowedip_equal(&p->ips[i], ip))
			return 1;
	return 0;
}

/* Does a live peer that req leaves alone route ip? */
static int
held_by_other(const struct wg_device *before, const struct wg_device *req,
	      const struct wg_allowedip *ip)
{
	size_t i, j;

	for (i = 0; i < before->npeers; i++) {
		for (j = 0; j < req->npeers; j++)
			if (wg_key_equal(before->peers[i].public_key,
					 req->peers[j].public_key))
				break;
		if (j == req->npeers && has_ip(&before->peers[i], ip))
			return 1;
	}
	return 0;
}

int
ctx_routes_after_set(struct wg_ctx *ctx, const char *ifname,
		     const struct wg_device *before,
		     const struct wg_device *req, const struct wg_peer *ensure)
{
	struct wg_route_policy pol;
	struct wg_peer add, drop;
	struct route_report rr = { ifname, &pol, 1 };
	size_t i, j;
	int r = 0;

	if (ctx_route_policy(ctx, ifname, &pol) < 0)
		return -EINVAL;
	if (pol.mode == WG_ROUTES_OFF)
		return 0;
	if (!if_nametoindex(ifname)) {
		/* a userspace daemon without a network interface (tests) */
		wg_warn("%s is no network interface here: no routes", ifname);
		return 0;
	}
	memset(&add, 0, sizeof(add));
	memset(&drop, 0, sizeof(drop));
	for (i = 0; ensure && i < ensure->nips && r == 0; i++)
		r = wg_peer_add_ip(&add, &ensure->ips[i]);
	for (i = 0; i < req->npeers && r == 0; i++) {
		const struct wg_peer *p = &req->peers[i];

		if (!(p->flags & WGPEER_REMOVE_ME))
			for (j = 0; j < p->nips && r == 0; j++)
				if (!has_ip(&add, &p->ips[j]))
					r = wg_peer_add_ip(&add, &p->ips[j]);
	}
	/* prefixes a changed or removed peer gave up, unless still routed
	 * for another peer */
	for (i = 0; i < req->npeers && r == 0; i++) {
		const struct wg_peer *p = &req->peers[i];
		const struct wg_peer *live = NULL;

		for (j = 0; j < before->npeers; j++)
			if (wg_key_equal(before->peers[j].public_key,
					 p->public_key))
				live = &before->peers[j];
		if (!live || !(p->flags & (WGPEER_REMOVE_ME |
					   WGPEER_REPLACE_ALLOWEDIPS)))
			continue;
		for (j = 0; j < live->nips && r == 0; j++) {
			const struct wg_allowedip *ip = &live->ips[j];

			if (!(p->flags & WGPEER_REMOVE_ME) && has_ip(p, ip))
				continue;
			if (has_ip(&add, ip) || has_ip(&drop, ip) ||
			    held_by_other(before, req, ip))
				continue;
			r = wg_peer_add_ip(&drop, ip);
		}
	}
	if (r == 0) {
		rr.add = 0;
		if (wg_route_apply(ifname, &pol, drop.ips, drop.nips, 0,
				   route_failed, &rr) < 0)
			r = -EIO;
		rr.add = 1;
		if (wg_route_apply(ifname, &pol, add.ips, add.nips, 1,
				   route_failed, &rr) < 0)
			r = -EIO;
	}
	wg_peer_clear(&add);
	wg_peer_clear(&drop);
	return r;
}

int
wg_entry_start(struct wg_name *e, const char *ifname, const char *name,
	       const char *key)
{
	memset(e, 0, sizeof(*e));
	if (!wg_ifname_valid(ifname)) {
		wg_err("bad interface name '%s' (1-15 characters, no '/')",
		       ifname);
		return WG_EXIT_USAGE;
	}
	if (!wg_name_valid(name)) {
		wg_err("bad name '%s' (1-63 of a-z 0-9 -, no leading or "
		       "trailing -)", name);
		return WG_EXIT_USAGE;
	}
	strcpy(e->iface, ifname);
	strcpy(e->name, name);
	if (wg_key_from_base64(e->peer.public_key, key) < 0) {
		wg_err("bad public key '%s' (44 base64 characters ending "
		       "in '=')", key);
		return WG_EXIT_USAGE;
	}
	return -1;
}

int
wg_entry_pinned(struct wg_names *db, const struct wg_name *e,
		const char *key, int replace, struct wg_name **oldp)
{
	struct wg_name *old = wg_names_find(db, e->name), *other;

	*oldp = old;
	if (old && strcmp(old->iface, e->iface)) {
		wg_err("name '%s' is already used on interface %s", e->name,
		       old->iface);
		return -1;
	}
	if (old && !wg_key_equal(old->peer.public_key, e->peer.public_key) &&
	    !replace) {
		wg_err("name '%s' is pinned to another key on %s (use "
		       "--replace to change it)", e->name, e->iface);
		return -1;
	}
	other = wg_names_find_key(db, e->iface, e->peer.public_key);
	if (other && strcmp(other->name, e->name)) {
		wg_err("key %s is already named '%s' on %s", key, other->name,
		       e->iface);
		return -1;
	}
	return 0;
}
