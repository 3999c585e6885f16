/*
 * clawnexus-wg: helpers shared by the subcommands (error lines, loading
 * and saving the names file, talking to the chosen backend).
 */

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

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

void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

const char *
wg_peer_status(const struct wg_peer *p, time_t now)
{
	if (p->last_handshake_sec == 0)
		return "never";
	if (now - p->last_handshake_sec <= WG_DIRECT_SECONDS)
		return "direct";
	return "stale";
}
