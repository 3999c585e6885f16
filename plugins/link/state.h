/*
 * clawnexus-link: the last path seen per instance, for `list`.
 * File ~/.clawnexus/edge/instances, one line per name:
 *     NAME STATUS UNIX_TIME [DETAIL]
 * STATUS is direct, relay or offline; DETAIL e.g. "10.7.0.2:7473" or
 * "v2 3ms".  Rewritten atomically (temporary file + rename), mode 0600.
 */

#ifndef CNX_LINK_STATE_H
#define CNX_LINK_STATE_H

#include <stdint.h>

#define LINK_STATE_MAX 256

typedef struct {
    char    name[256];
    char    status[16];
    int64_t when;
    char    detail[128];
} link_state_ent_t;

/* Path of the state file (HOME-relative); 0 or -1. */
int link_state_path(char *out, size_t cap);

/* Read up to max entries; returns the count (0 when the file is absent)
 * or -1. */
int link_state_read(const char *path, link_state_ent_t *v, int max);

/* Set the entry of name; failures are reported with link_debug only
 * (the state is a convenience). */
void link_state_record(const char *name, const char *status,
    const char *detail);

#endif
