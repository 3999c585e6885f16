/*
 * clawnexus-wg: the export, the named peers as JSON for clawnexus-link
 * (format in docs/wg-bridge.md).  sync and hook write it to one file
 * that clawnexus-link reads by default.
 */

#ifndef CLAWNEXUS_WG_EXPORT_H
#define CLAWNEXUS_WG_EXPORT_H

#include <stdio.h>
#include <time.h>

#include "names.h"

#define WG_EXPORT_DEFAULT	"/run/clawnexus/wg-export.json"

/*
 * Write the named peers of interface only (NULL: of every interface of
 * the names file) to f.  devs[0..ndevs) are the interfaces as read
 * (matched by name); a named interface that is not among them has status
 * "unknown".  Pure: the time is passed in.
 */
int wg_export_format(FILE *f, const struct wg_names *db, const char *only,
		     const struct wg_device *devs, size_t ndevs, time_t now);

/* direct (a handshake within WG_DIRECT_SECONDS), stale or never. */
const char *wg_peer_status(const struct wg_peer *p, time_t now);

/* s as a JSON string. */
void wg_json_str(FILE *f, const char *s);

/* The interfaces the names file speaks of, in order of appearance, as a
 * list of NUL-ended names ending in an empty one (malloc'ed). */
char *wg_names_ifaces(const struct wg_names *db);

#endif
