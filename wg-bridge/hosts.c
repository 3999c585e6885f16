/*
 * clawnexus-wg hosts IFACE: a marked block "ADDRESS NAME.claw NAME" in a
 * hosts file.  Only our own block is replaced; the file is written
 * atomically (or in place when it cannot be renamed over, e.g. a
 * bind-mounted /etc/hosts in a container).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "subcommands.h"

static int
read_file(const char *path, char **out, size_t *len, mode_t *mode)
{
	struct stat st;
	char *buf;
	size_t n = 0;
	ssize_t r;
	int fd;

	*mode = 0644;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			return -errno;
		*out = strdup("");
		*len = 0;
		return *out ? 0 : -ENOMEM;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > 64 * 1024 * 1024) {
		close(fd);
		return -EINVAL;
	}
	*mode = st.st_mode & 07777;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (n < (size_t)st.st_size) {
		r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int
wg_do_hosts(struct wg_ctx *ctx, const char *ifname, const char *file,
	    int remove)
{
	struct wg_names db;
	char *block = NULL, *in = NULL, *out = NULL;
	size_t i, bl = 0, inlen = 0, outlen = 0;
	mode_t mode;
	int r, ret = -1;

	wg_names_init(&db);
	if (!remove && ctx_load_names(ctx, &db) < 0)
		return -1;
	block = malloc(db.n * (INET6_ADDRSTRLEN + 2 * WG_NAME_MAX + 16) + 1);
	if (!block)
		goto out;
	block[0] = '\0';
	for (i = 0; i < db.n; i++) {
		const struct wg_allowedip *a = wg_name_address(&db.v[i]);
		char addr[INET6_ADDRSTRLEN];

		if (strcmp(db.v[i].iface, ifname) || !a)
			continue;
		inet_ntop(a->family, &a->ip4, addr, sizeof(addr));
		bl += (size_t)sprintf(block + bl, "%s %s.claw %s\n", addr,
				      db.v[i].name, db.v[i].name);
	}
	r = read_file(file, &in, &inlen, &mode);
	if (r < 0) {
		wg_err("cannot read hosts file %s: %s", file,
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
	r = wg_write_atomic(file, out, outlen, mode, 1);
	if (r < 0) {
		wg_err("cannot write hosts file %s: %s", file, strerror(-r));
		goto out;
	}
	ret = 0;
out:
	free(block);
	free(in);
	free(out);
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
