/*
 * Reading the relay's JWT secret file at configuration time, for every
 * module of this project (core nginx only: no stream or http types).
 */

#ifndef NGX_CLAWNEXUS_SECRET_H
#define NGX_CLAWNEXUS_SECRET_H

#include <ngx_config.h>
#include <ngx_core.h>

#define NGX_CLAWNEXUS_SECRET_MAX  4096

/*
 * Read the secret in file name (relative to the prefix) into *out,
 * allocated from cf->pool and wiped when the pool goes: a trailing
 * newline is dropped, an empty or larger than NGX_CLAWNEXUS_SECRET_MAX
 * secret is refused, a short one or a file other users can read is
 * warned about.  NGX_CONF_OK or NGX_CONF_ERROR (logged).
 */
char *ngx_clawnexus_read_secret(ngx_conf_t *cf, ngx_str_t *name,
    ngx_str_t *out);

#endif
