/*
 * clawnexus-wg: files that root reads and writes in places others may
 * control.  A folder is trusted when its owner is root or us and nobody
 * else may write it, or when it is root's and sticky (like /tmp); a
 * symlinked file is resolved once and its real target, in a trusted
 * folder, is edited; the final component is never followed again
 * (O_NOFOLLOW), and the rewritten file keeps its owner, group and mode.
 */

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "names.h"

static int
why_set(char *why, size_t cap, int r, const char *fmt, ...)
{
	va_list ap;

	if (why && cap) {
		va_start(ap, fmt);
		vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return r;
}

static int
owner_trusted(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

int
wg_dir_trusted(const char *dir, char *why, size_t cap)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return why_set(why, cap, -errno, "folder %s: %s", dir,
			       strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return why_set(why, cap, -ENOTDIR, "%s is not a folder", dir);
	if ((st.st_mode & S_IWOTH) && !(st.st_uid == 0 &&
					(st.st_mode & S_ISVTX)))
		return why_set(why, cap, -EPERM, "folder %s is writable by "
			       "others (and not root's with the sticky bit)",
			       dir);
	if ((st.st_mode & S_IWGRP) && !(st.st_mode & S_ISVTX))
		return why_set(why, cap, -EPERM, "folder %s is writable by "
			       "others (its group)", dir);
	if (!owner_trusted(st.st_uid))
		return why_set(why, cap, -EPERM, "folder %s is owned by uid "
			       "%u, not by root or uid %u", dir,
			       (unsigned int)st.st_uid,
			       (unsigned int)geteuid());
	return 0;
}

/* The folder of path (a copy in buf). */
static const char *
dir_of(const char *path, char *buf, size_t cap)
{
	size_t n = strlen(path);

	if (n >= cap)
		return NULL;
	memcpy(buf, path, n + 1);
	return dirname(buf);
}

int
wg_file_trusted(const char *what, const char *path, const struct stat *st,
		char *why, size_t cap)
{
	char d[PATH_MAX], dwhy[PATH_MAX + 128], *real;
	const char *dir;
	int r;

	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return why_set(why, cap, -EPERM, "%s %s is writable by others "
			       "(mode %03o; chmod go-w it)", what, path,
			       (unsigned int)(st->st_mode & 0777));
	if (!owner_trusted(st->st_uid))
		return why_set(why, cap, -EPERM, "%s %s is owned by uid %u, "
			       "not by root or uid %u", what, path,
			       (unsigned int)st->st_uid,
			       (unsigned int)geteuid());
	/* whoever may write the folder may replace the file: check the
	 * folder of the path and, for a symlink, of its target */
	if (!(dir = dir_of(path, d, sizeof(d))))
		return why_set(why, cap, -ENAMETOOLONG, "%s: path too long",
			       path);
	r = wg_dir_trusted(dir, dwhy, sizeof(dwhy));
	if (r == 0 && (real = realpath(path, NULL))) {
		if ((dir = dir_of(real, d, sizeof(d))))
			r = wg_dir_trusted(dir, dwhy, sizeof(dwhy));
		free(real);
	}
	if (r < 0)
		return why_set(why, cap, r, "%s %s: %s", what, path, dwhy);
	return 0;
}

int
wg_safe_resolve(const char *path, char **real, char *why, size_t cap)
{
	char d[PATH_MAX];
	const char *dir;
	struct stat st;
	int r;

	*real = NULL;
	if (!(dir = dir_of(path, d, sizeof(d))))
		return why_set(why, cap, -ENAMETOOLONG, "%s: path too long",
			       path);
	if ((r = wg_dir_trusted(dir, why, cap)) < 0)
		return r;
	if (lstat(path, &st) < 0) {
		if (errno != ENOENT)
			return why_set(why, cap, -errno, "%s: %s", path,
				       strerror(errno));
		*real = strdup(path);
		return *real ? 0 : -ENOMEM;
	}
	if (!S_ISLNK(st.st_mode)) {
		if (!S_ISREG(st.st_mode))
			return why_set(why, cap, -EINVAL, "%s is not a "
				       "regular file", path);
		*real = strdup(path);
		return *real ? 0 : -ENOMEM;
	}
	/* resolved once; the target's folder must be trusted as well */
	*real = realpath(path, NULL);
	if (!*real)
		return why_set(why, cap, -errno, "%s: cannot resolve the "
			       "symlink: %s", path, strerror(errno));
	if (lstat(*real, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = why_set(why, cap, -EINVAL, "%s points to %s, which is "
			    "not a regular file", path, *real);
		goto fail;
	}
	if (!(dir = dir_of(*real, d, sizeof(d)))) {
		r = -ENAMETOOLONG;
		goto fail;
	}
	if ((r = wg_dir_trusted(dir, why, cap)) < 0)
		goto fail;
	return 0;
fail:
	free(*real);
	*real = NULL;
	return r;
}

int
wg_read_nofollow(const char *path, size_t max, char **out, size_t *len,
		 struct stat *st)
{
	char *buf;
	size_t n = 0;
	ssize_t r;
	int fd;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;	/* ELOOP: swapped for a symlink */
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) ||
	    (size_t)st->st_size > max) {
		close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)st->st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (n < (size_t)st->st_size) {
		r = read(fd, buf + n, (size_t)st->st_size - n);
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
