/*
 * clawnexus-wg hosts IFACE: a marked block "ADDRESS NAME.claw NAME" in a
 * hosts file.  Only our own block is replaced; the file is written
 * atomically (or in place when it cannot be renamed over, e.g. a
 * bind-mounted /etc/hosts in a container), only in a folder that nobody
 * but root (or us) controls, keeping its owner, group and mode.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "subcommands.h"

int
wg_do_hosts(struct wg_ctx *ctx, const char *ifname, const char *file,
	    int remove)
{
	struct wg_names db;
	struct wg_device dev;
	char *block = NULL, *in = NULL, *out = NULL, *real = NULL;
	char why[PATH_MAX + 256];
	size_t i, bl = 0, inlen = 0, outlen = 0;
	struct stat st;
	int r, ret = -1, have_dev = 0;

	wg_names_init(&db);
	wg_device_init(&dev, ifname);
	if (!remove && ctx_load_names(ctx, &db) < 0)
		return -1;
	block = malloc(db.n * (INET6_ADDRSTRLEN + 2 * WG_NAME_MAX + 16) + 1);
	if (!block)
		goto out;
	block[0] = '\0';
	for (i = 0; i < db.n; i++) {
		const struct wg_allowedip *a;
		char addr[INET6_ADDRSTRLEN];

		if (strcmp(db.v[i].iface, ifname))
			continue;
		/* names without a recorded address (an interface managed
		 * elsewhere) take the live one: read the interface once */
		if (!wg_name_address(&db.v[i]) && !have_dev)
			have_dev = wg_backend_get(ctx->backend, ifname, &dev,
						  NULL) == 0 ? 1 : -1;
		a = wg_entry_address(&db.v[i], have_dev > 0 ? &dev : NULL);
		if (!a)
			continue;
		inet_ntop(a->family, &a->ip4, addr, sizeof(addr));
		bl += (size_t)sprintf(block + bl, "%s %s.claw %s\n", addr,
				      db.v[i].name, db.v[i].name);
	}
	/* as root, in a folder nobody else controls; a symlinked hosts
	 * file (containers) is resolved once and its target edited */
	if (wg_safe_resolve(file, &real, why, sizeof(why)) < 0) {
		wg_err("refusing hosts file %s: %s", file, why);
		goto out;
	}
	r = wg_read_nofollow(real, 64 * 1024 * 1024, &in, &inlen, &st);
	if (r == -ENOENT) {
		memset(&st, 0, sizeof(st));
		st.st_mode = 0644;
		st.st_uid = (uid_t)-1;
		st.st_gid = (gid_t)-1;
		if (!(in = strdup("")))
			goto out;
	} else if (r < 0) {
		wg_err("cannot read hosts file %s: %s", real,
		       r == -EINVAL ? "not a regular file" : strerror(-r));
		goto out;
	}
	r = wg_hosts_edit(in, inlen, ifname, block, &out, &outlen);
	if (r == -EINVAL) {
		wg_err("hosts file %s has only one of the clawnexus-wg %s "
		       "markers (or several blocks); fix it by hand", file,
		       ifname);
		goto out;
	}
	if (r < 0)
		goto out;
	if (outlen == inlen && !memcmp(in, out, inlen)) {
		ret = 0;	/* nothing to change */
		goto out;
	}
	/* the new file keeps the owner, group and mode of the old one */
	r = wg_write_atomic(real, out, outlen, st.st_mode & 07777,
			    geteuid() == 0 ? st.st_uid : (uid_t)-1,
			    geteuid() == 0 ? st.st_gid : (gid_t)-1, 1);
	if (r < 0) {
		wg_err("cannot write hosts file %s: %s", real, strerror(-r));
		goto out;
	}
	ret = 0;
out:
	free(block);
	free(real);
	free(in);
	free(out);
	wg_device_clear(&dev);
	wg_names_clear(&db);
	return ret;
}

static void
hosts_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--names FILE] hosts IFACE [--file PATH]\n"
		"\n"
		"Writes the lines 'ADDRESS NAME.claw NAME' for the named peers of\n"
		"IFACE into a marked block of the hosts file (default /etc/hosts),\n"
		"replacing only that block.  An interface without names gets its\n"
		"block removed.\n",
		prog_name);
}

int
cmd_hosts(struct wg_ctx *ctx, int argc, char **argv)
{
	const char *file = "/etc/hosts";

	if (argc >= 2 && wg_is_help(argv[1])) {
		hosts_usage(stdout);
		return WG_EXIT_OK;
	}
	if (argc == 4 && !strcmp(argv[2], "--file"))
		file = argv[3];
	else if (argc == 3 && !strncmp(argv[2], "--file=", 7))
		file = argv[2] + 7;
	else if (argc != 2) {
		wg_err("hosts: needs IFACE [--file PATH]");
		hosts_usage(stderr);
		return WG_EXIT_USAGE;
	}
	if (!wg_ifname_valid(argv[1])) {
		wg_err("bad interface name '%s'", argv[1]);
		return WG_EXIT_USAGE;
	}
	return wg_do_hosts(ctx, argv[1], file, 0) < 0 ? WG_EXIT_FAIL :
							WG_EXIT_OK;
}
