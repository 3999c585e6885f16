/*
 * clawnexus-wg: the marked block "ADDRESS NAME.claw NAME" of a hosts
 * file, replaced without touching the rest (pure, unit-tested).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "subcommands.h"

#define MARK_BEGIN	"# BEGIN clawnexus-wg "
#define MARK_END	"# END clawnexus-wg "

/* Does the line [s, s+n) equal PREFIX IFNAME, optionally followed by a
 * space and a comment? */
static int
is_marker(const char *s, size_t n, const char *prefix, const char *ifname)
{
	size_t pl = strlen(prefix), il = strlen(ifname);

	while (n && (s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	if (n < pl + il || memcmp(s, prefix, pl) ||
	    memcmp(s + pl, ifname, il))
		return 0;
	return n == pl + il || s[pl + il] == ' ';
}

int
wg_hosts_edit(const char *in, size_t inlen, const char *ifname,
	      const char *block, char **out, size_t *outlen)
{
	size_t pos = 0, bl = block ? strlen(block) : 0, o = 0;
	ssize_t begin = -1, end = -1;	/* line starts */
	size_t end_after = 0;
	char *buf;

	while (pos < inlen) {
		const char *nl = memchr(in + pos, '\n', inlen - pos);
		size_t n = nl ? (size_t)(nl - in - pos) : inlen - pos;

		if (is_marker(in + pos, n, MARK_BEGIN, ifname)) {
			if (begin >= 0)
				return -EINVAL;
			begin = (ssize_t)pos;
		} else if (is_marker(in + pos, n, MARK_END, ifname)) {
			if (begin < 0 || end >= 0)
				return -EINVAL;
			end = (ssize_t)pos;
			end_after = pos + n + (nl ? 1 : 0);
		}
		pos += n + (nl ? 1 : 0);
	}
	if ((begin >= 0) != (end >= 0))
		return -EINVAL;
	buf = malloc(inlen + bl + 2 * (strlen(MARK_BEGIN) + 16 + 64) + 4);
	if (!buf)
		return -ENOMEM;
	if (begin >= 0) {
		memcpy(buf, in, (size_t)begin);
		o = (size_t)begin;
	} else {
		memcpy(buf, in, inlen);
		o = inlen;
		if (o && buf[o - 1] != '\n')
			buf[o++] = '\n';
	}
	if (bl) {
		o += (size_t)sprintf(buf + o, "%s%s (written by clawnexus-wg; "
				     "edits here are lost)\n", MARK_BEGIN,
				     ifname);
		memcpy(buf + o, block, bl);
		o += bl;
		o += (size_t)sprintf(buf + o, "%s%s\n", MARK_END, ifname);
	}
	if (begin >= 0) {
		memcpy(buf + o, in + end_after, inlen - end_after);
		o += inlen - end_after;
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return 0;
}

