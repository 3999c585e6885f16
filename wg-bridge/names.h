/*
 * clawnexus-wg: the names file, one ClawNexus name per WireGuard peer.
 *
 *   # comment
 *   [wg0]
 *   office key=BASE64 allowed-ips=10.0.0.2/32,fd00::2/128 \
 *          endpoint=HOST:PORT keepalive=25 psk-file=/etc/clawnexus/office.psk
 *
 * (one line per peer; the backslash above is only for this comment).
 * Comment lines are kept with the entry below them when the file is
 * rewritten.  The format is described in docs/wg-bridge.md.
 */

#ifndef CLAWNEXUS_WG_NAMES_H
#define CLAWNEXUS_WG_NAMES_H

#include <sys/stat.h>
#include <sys/types.h>

#include "wg.h"

#define WG_NAMES_DEFAULT	"/etc/clawnexus/wg-names.conf"
#define WG_NAMES_MAX_LINE	(1024 * 1024)	/* many prefixes */
/* "[wg0 managed-elsewhere]": another program (a mesh manager, a control
 * plane) owns the peers of wg0; clawnexus-wg only names them. */
#define WG_MANAGED_MARK		"managed-elsewhere"

struct wg_name {
	char iface[WG_IFNAME_MAX + 1];
	char name[WG_NAME_MAX + 1];
	struct wg_peer peer;	/* public key, allowed IPs, keepalive */
	char *endpoint;		/* HOST:PORT as written, or NULL */
	char *psk_file;		/* path, or NULL */
	char *comment;		/* '#' lines just above the entry, or NULL */
};

struct wg_names {
	struct wg_name *v;
	size_t n;
	size_t cap;
	char (*managed)[WG_IFNAME_MAX + 1];	/* interfaces marked */
	size_t nmanaged;
	char *header;		/* '#' lines before the first section */
	char *trailer;		/* '#' lines after the last entry */
};

void wg_names_init(struct wg_names *db);
void wg_names_clear(struct wg_names *db);
void wg_name_clear(struct wg_name *e);

/*
 * Parse a whole names file from a buffer.  0 on success; -EINVAL with
 * "line N: what" in err on the first bad line (nothing is kept then).
 */
int wg_names_parse(struct wg_names *db, const char *buf, size_t len,
		   char *err, size_t errcap);

/* Render the database in the canonical format (malloc'ed, NUL-ended). */
int wg_names_format(const struct wg_names *db, char **out, size_t *outlen);

/* Load a file (a missing file is an empty database). */
int wg_names_load(struct wg_names *db, const char *path, char *err,
		  size_t errcap);

/* Write atomically: temp file in the same folder, mode 0600, fsync,
 * rename, fsync of the folder.  Returns 0 or -errno. */
int wg_names_save(const struct wg_names *db, const char *path);

struct wg_name *wg_names_find(struct wg_names *db, const char *name);
struct wg_name *wg_names_find_key(struct wg_names *db, const char *iface,
				  const uint8_t key[WG_KEY_LEN]);
/* Is iface marked managed elsewhere?  Mark it (0 or -errno). */
int wg_names_managed(const struct wg_names *db, const char *iface);
int wg_names_mark_managed(struct wg_names *db, const char *iface);
/* 1 when the entry records nothing but its key (what a managed
 * interface allows). */
int wg_name_only_key(const struct wg_name *e);
/* Append (takes ownership of e's allocations) or replace in place. */
int wg_names_put(struct wg_names *db, struct wg_name *e);
int wg_names_remove(struct wg_names *db, const char *name);

/* Validate one entry the way the parser does: 0 or -EINVAL with a reason. */
int wg_name_check(const struct wg_name *e, char *err, size_t errcap);

/* The address resolve prints: the first single-host allowed IP. */
const struct wg_allowedip *wg_name_address(const struct wg_name *e);

/* Write buf to path atomically with the given mode, owner and group
 * ((uid_t)-1 / (gid_t)-1: ours); used for hosts and the export too. */
int wg_write_atomic(const char *path, const char *buf, size_t len,
		    unsigned int mode, uid_t uid, gid_t gid,
		    int fallback_in_place);

/*
 * safefile.c: files in places others may control.
 *
 * wg_dir_trusted: the folder is owned by root or us and nobody else may
 * write it, or it is root's and sticky.  wg_file_trusted: also the file
 * (st from fstat) is owned by root or us and not writable by others.
 * wg_safe_resolve: path's folder is trusted; a symlink is resolved once
 * (*real, malloc'ed) to a regular file in a trusted folder; a missing
 * file resolves to itself.  All return 0 or -errno with a reason in why.
 * wg_read_nofollow: read a regular file of at most max bytes without
 * following a symlink in its last component.
 */
int wg_dir_trusted(const char *dir, char *why, size_t cap);
int wg_file_trusted(const char *what, const char *path, const struct stat *st,
		    char *why, size_t cap);
int wg_safe_resolve(const char *path, char **real, char *why, size_t cap);
int wg_read_nofollow(const char *path, size_t max, char **out, size_t *len,
		     struct stat *st);

#endif
