/*
 * clawnexus-link: direct addresses from the clawnexus-wg export and from
 * the tailnet, and the order in which they are tried.
 *
 * The export (docs/wg-bridge.md) is written by clawnexus-wg sync / hook
 * to LINK_EXPORT_DEFAULT, read here by default; --export-file or
 * edge.export_file name another one.
 */

#ifndef CNX_LINK_NAMES_EXPORT_H
#define CNX_LINK_NAMES_EXPORT_H

#include <stddef.h>

#define LINK_EXPORT_DEFAULT  "/run/clawnexus/wg-export.json"
#define LINK_EXPORT_MAX      (16 * 1024 * 1024)
#define LINK_DIRECT_PORT     "7473"

#include "cnx_json.h"

/* name without ".claw" ("office.claw" and "office" are one peer); "" when
 * it does not fit. */
void link_bare_name(const char *name, char *out, size_t cap);

/* Tokenize text that must be one JSON object, with as many tokens as it
 * may need: the token count (*t malloc'ed) or -1. */
int link_json_object(const char *text, size_t len, cnx_json_tok_t **t);

/* What the export says about one name. */
typedef enum {
    LINK_WG_NONE = 0,       /* not in the export, or no address */
    LINK_WG_DIRECT,         /* handshake within 180 s */
    LINK_WG_UNSURE,         /* stale, unknown, or no status given */
    LINK_WG_DOWN            /* never (no handshake) or absent */
} link_wg_status_t;

/*
 * Look name (with or without ".claw") up in the text of an export.
 * Writes "ADDR:7473" (IPv6 in brackets) to out and returns its status;
 * LINK_WG_NONE when the name or its address is missing; -1 when the text
 * is not an export.  Pure.
 */
int link_export_parse(const char *text, size_t len, const char *name,
    char *out, size_t cap);

/*
 * Where TARGET is reached directly, given no --direct and no config
 * entry: a peer the export calls direct first, then the tailnet (when
 * tailscale is set), then a stale or unknown export entry; never a peer
 * whose handshake is "never" or that is absent from its interface.
 * export_path NULL: the default export ($CLAWNEXUS_WG_EXPORT when set, as
 * for clawnexus-wg; empty: none), silently skipped when missing.
 * Returns out or NULL; one debug line says which source was used.
 */
const char *link_direct_lookup(const char *export_path, const char *target,
    int tailscale, char *out, size_t cap);

#endif
