/*
 * clawnexus-wg export [IFACE]: the named peers as JSON for
 * clawnexus-link; and the export file that sync and hook write.
 */

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "subcommands.h"

/* Read the interfaces of list (see wg_names_ifaces); those that cannot
 * be read are left out (their peers' status is "unknown"). */
static struct wg_device *
read_devices(struct wg_ctx *ctx, const char *list, size_t *n, int warn)
{
	struct wg_device *devs;
	const char *it;
	size_t cap = 0;

	*n = 0;
	for (it = list; *it; it += strlen(it) + 1)
		cap++;
	devs = calloc(cap ? cap : 1, sizeof(*devs));
	if (!devs)
		return NULL;
	for (it = list; *it; it += strlen(it) + 1) {
		wg_device_init(&devs[*n], it);
		if (wg_backend_get(ctx->backend, it, &devs[*n], NULL) == 0)
			(*n)++;
		else if (warn)
			wg_warn("interface %s cannot be read: status is "
				"unknown", it);
	}
	return devs;
}

static void
free_devices(struct wg_device *devs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		wg_device_clear(&devs[i]);
	free(devs);
}

/* The export of only (NULL: every interface) in a malloc'ed buffer. */
static int
render(struct wg_ctx *ctx, const struct wg_names *db, const char *only,
       int warn, char **out, size_t *len)
{
	struct wg_device *devs;
	char *list, one[WG_IFNAME_MAX + 2];
	size_t ndevs;
	FILE *f;
	int r;

	if (only) {
		memset(one, 0, sizeof(one));
		strcpy(one, only);
		list = one;
	} else if (!(list = wg_names_ifaces(db))) {
		return -ENOMEM;
	}
	devs = read_devices(ctx, list, &ndevs, warn);
	if (list != one)
		free(list);
	if (!devs)
		return -ENOMEM;
	*out = NULL;
	f = open_memstream(out, len);
	if (!f) {
		free_devices(devs, ndevs);
		return -ENOMEM;
	}
	r = wg_export_format(f, db, only, devs, ndevs, time(NULL));
	if (fclose(f) != 0 && r == 0)
		r = -ENOMEM;
	free_devices(devs, ndevs);
	if (r < 0) {
		free(*out);
		*out = NULL;
	}
	return r;
}

int
wg_do_export_write(struct wg_ctx *ctx)
{
	const char *path = ctx->export_path;
	char *buf = NULL, *real = NULL, d[PATH_MAX], why[PATH_MAX + 256];
	struct wg_names db;
	size_t len;
	int r, ret = -1;

	if (!path || !*path)
		return 0;
	if (ctx_load_names(ctx, &db) < 0)
		return -1;
	if (strlen(path) >= sizeof(d))
		goto out;
	/* /run is a tmpfs: the folder is made again after every boot, with
	 * its mode whatever the umask (hardened systems use 077), since
	 * clawnexus-link need not run as root */
	strcpy(d, path);
	if (mkdir(dirname(d), 0755) == 0) {
		chmod(d, 0755);
	} else if (errno != EEXIST) {
		wg_warn("cannot create the folder of the export %s: %s",
			path, strerror(errno));
		goto out;
	}
	if (wg_safe_resolve(path, &real, why, sizeof(why)) < 0) {
		wg_warn("not writing the export: %s", why);
		goto out;
	}
	if ((r = render(ctx, &db, NULL, 0, &buf, &len)) < 0 ||
	    (r = wg_write_atomic(real, buf, len, 0644, (uid_t)-1, (gid_t)-1,
				 0)) < 0) {
		wg_warn("cannot write the export %s: %s", path, strerror(-r));
		goto out;
	}
	ret = 0;
out:
	free(buf);
	free(real);
	wg_names_clear(&db);
	return ret;
}

static void
export_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--names-file FILE] export [IFACE]\n"
		"       %s [--names-file FILE] [--export-file FILE] export "
		"--write\n"
		"\n"
		"Prints the named peers of IFACE (or of every interface of the\n"
		"names file) as JSON for clawnexus-link: name, interface, tunnel\n"
		"address, allowed IPs, public key, endpoint and status.  When an\n"
		"interface cannot be read, its peers' status is \"unknown\".\n"
		"sync and hook write the same JSON for every interface to the\n"
		"export file (--export-file, default %s);\n"
		"--write writes it now (e.g. from a timer where another program\n"
		"applies the peers).\n",
		prog_name, prog_name, WG_EXPORT_DEFAULT);
}

int
cmd_export(struct wg_ctx *ctx, int argc, char **argv)
{
	struct wg_names db;
	char *buf = NULL;
	size_t len;
	int r;

	if (argc >= 2 && wg_is_help(argv[1])) {
		export_usage(stdout);
		return WG_EXIT_OK;
	}
	if (argc == 2 && !strcmp(argv[1], "--write")) {
		if (!ctx->export_path || !*ctx->export_path) {
			wg_err("export --write: no export file (--export-file "
			       "is empty)");
			return WG_EXIT_USAGE;
		}
		return wg_do_export_write(ctx) < 0 ? WG_EXIT_FAIL : WG_EXIT_OK;
	}
	if (argc > 2) {
		wg_err("export: takes at most IFACE");
		export_usage(stderr);
		return WG_EXIT_USAGE;
	}
	if (argc == 2 && !wg_ifname_valid(argv[1])) {
		wg_err("bad interface name '%s'", argv[1]);
		return WG_EXIT_USAGE;
	}
	if (ctx_load_names(ctx, &db) < 0)
		return WG_EXIT_FAIL;
	r = render(ctx, &db, argc == 2 ? argv[1] : NULL, 1, &buf, &len);
	wg_names_clear(&db);
	if (r < 0) {
		wg_err("export: %s", strerror(-r));
		return WG_EXIT_FAIL;
	}
	fwrite(buf, 1, len, stdout);
	free(buf);
	return WG_EXIT_OK;
}
