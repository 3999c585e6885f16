/*
 * clawnexus-wg: subcommands and the helpers they share.
 */

#ifndef CLAWNEXUS_WG_SUBCOMMANDS_H
#define CLAWNEXUS_WG_SUBCOMMANDS_H

#include <stdio.h>

#include "backend.h"
#include "export.h"
#include "names.h"

#include "routes.h"

struct wg_ctx {
	const char *names_path;
	enum wg_backend_kind backend;
	const char *export_path;	/* "" or NULL: none written */
	const char *table;		/* --table, else the interface's */
	const char *wg_quick_config;	/* where to read "Table =" */
	int no_routes;
	int route_ready;		/* route: read once, before changes */
	struct wg_route_policy route;
};

int cmd_add(struct wg_ctx *ctx, int argc, char **argv);
int cmd_remove(struct wg_ctx *ctx, int argc, char **argv);
int cmd_show(struct wg_ctx *ctx, int argc, char **argv);
int cmd_export(struct wg_ctx *ctx, int argc, char **argv);
int cmd_resolve(struct wg_ctx *ctx, int argc, char **argv);
int cmd_sync(struct wg_ctx *ctx, int argc, char **argv);
int cmd_hosts(struct wg_ctx *ctx, int argc, char **argv);
int cmd_hook(struct wg_ctx *ctx, int argc, char **argv);
int cmd_name(struct wg_ctx *ctx, int argc, char **argv);
int cmd_unname(struct wg_ctx *ctx, int argc, char **argv);

/* util.c */
void wg_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void wg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int wg_is_help(const char *s);
/* The start of a subcommand whose arguments are IFACE and nargs - 2 more:
 * --help, the count (else print need and the usage), the interface name.
 * -1 to go on, else the exit status. */
int wg_args_iface(int argc, char **argv, int nargs, void (*usage)(FILE *),
		  const char *need);
int ctx_load_names(struct wg_ctx *ctx, struct wg_names *db);
int ctx_get_device(struct wg_ctx *ctx, const char *ifname,
		   struct wg_device *dev);
int ctx_set_device(struct wg_ctx *ctx, const struct wg_device *dev);
int ctx_check_names_writable(struct wg_ctx *ctx);
int ctx_save_names(struct wg_ctx *ctx, const struct wg_names *db);
int wg_read_key_file(const char *path, uint8_t key[WG_KEY_LEN]);
/* The peer to apply for a names entry (endpoint resolved, psk read). */
int wg_name_to_peer(const struct wg_name *e, struct wg_peer *out);
/* 1 when the live peer already carries everything the entry manages. */
int wg_peer_matches(const struct wg_peer *want, const struct wg_peer *live);
/* add and name: validate IFACE, NAME and KEY into a fresh e (-1 to go
 * on, else the exit status after one line). */
int wg_entry_start(struct wg_name *e, const char *ifname, const char *name,
		   const char *key);
/* A name keeps its interface and (without replace) its key; a key has one
 * name per interface.  0, or -1 after one line; *old: e's current entry. */
int wg_entry_pinned(struct wg_names *db, const struct wg_name *e,
		    const char *key, int replace, struct wg_name **old);
/* 1 (after one line naming the interface and cmd) when ifname is
 * managed elsewhere, else 0. */
int ctx_refuse_managed(struct wg_ctx *ctx, const struct wg_names *db,
		       const char *ifname, const char *cmd);
/* The address of a name: the first single-host allowed IP recorded, else
 * (dev may be NULL) the first one of the live peer. */
const struct wg_allowedip *wg_entry_address(const struct wg_name *e,
					    const struct wg_device *dev);
/* The routes of ifname: --no-routes, --table, else "Table =" of the
 * interface's wg-quick configuration, else auto (main).  Read once; the
 * commands ask before they change anything, so that a bad table or an
 * unreadable file stops them first.  0, or -EINVAL after one line. */
int ctx_route_policy(struct wg_ctx *ctx, const char *ifname,
		     struct wg_route_policy *p);
/*
 * After req was applied to ifname (before: the interface as read before):
 * routes for the new allowed IPs of req's peers and for ensure's (may be
 * NULL), and none any more for the prefixes that changed or removed
 * peers gave up unless another peer still has them.  Failures are
 * printed; 0 or -errno.
 */
int ctx_routes_after_set(struct wg_ctx *ctx, const char *ifname,
			 const struct wg_device *before,
			 const struct wg_device *req,
			 const struct wg_peer *ensure);

/* sync.c, hosts.c: used by hook */
int wg_do_sync(struct wg_ctx *ctx, const char *ifname, int quiet);
int wg_do_unsync(struct wg_ctx *ctx, const char *ifname);
/* export.c: write the export of every interface to ctx->export_path
 * (atomically, mode 0644); a failure is a warning.  0 or -1. */
int wg_do_export_write(struct wg_ctx *ctx);
int wg_do_hosts(struct wg_ctx *ctx, const char *ifname, const char *file,
		int remove);

/* hosts-edit.c: pure block editor.  Replaces (or removes when block is NULL or
 * empty, or appends) the "# BEGIN clawnexus-wg IFACE" ... "# END ..."
 * block.  -EINVAL with only one marker present. */
int wg_hosts_edit(const char *in, size_t inlen, const char *ifname,
		  const char *block, char **out, size_t *outlen);

#endif
