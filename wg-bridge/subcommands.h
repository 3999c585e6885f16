/*
 * clawnexus-wg: subcommands and the helpers they share.
 */

#ifndef CLAWNEXUS_WG_SUBCOMMANDS_H
#define CLAWNEXUS_WG_SUBCOMMANDS_H

#include <stdio.h>

#include "backend.h"
#include "names.h"

struct wg_ctx {
	const char *names_path;
	enum wg_backend_kind backend;
};

int cmd_add(struct wg_ctx *ctx, int argc, char **argv);
int cmd_remove(struct wg_ctx *ctx, int argc, char **argv);
int cmd_show(struct wg_ctx *ctx, int argc, char **argv);
int cmd_export(struct wg_ctx *ctx, int argc, char **argv);
int cmd_resolve(struct wg_ctx *ctx, int argc, char **argv);
int cmd_sync(struct wg_ctx *ctx, int argc, char **argv);
int cmd_hosts(struct wg_ctx *ctx, int argc, char **argv);
int cmd_hook(struct wg_ctx *ctx, int argc, char **argv);

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
void json_str(FILE *f, const char *s);
const char *wg_peer_status(const struct wg_peer *p, time_t now);

/* sync.c, hosts.c: used by hook */
int wg_do_sync(struct wg_ctx *ctx, const char *ifname, int quiet);
int wg_do_unsync(struct wg_ctx *ctx, const char *ifname);
int wg_do_hosts(struct wg_ctx *ctx, const char *ifname, const char *file,
		int remove);

/* hosts-edit.c: pure block editor.  Replaces (or removes when block is NULL or
 * empty, or appends) the "# BEGIN clawnexus-wg IFACE" ... "# END ..."
 * block.  -EINVAL with only one marker present. */
int wg_hosts_edit(const char *in, size_t inlen, const char *ifname,
		  const char *block, char **out, size_t *outlen);

#endif
