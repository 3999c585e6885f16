/*
 * Reading secret files at configuration time (the relay's JWT secret, the
 * cluster's Redis password), for every module of this project (core
 * nginx only: no stream or http types).
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

/*
 * The same for any secret: what names it in messages ("Redis password"),
 * and one shorter than short_len bytes is warned about (0: never).
 */
char *ngx_clawnexus_read_secret_file(ngx_conf_t *cf, ngx_str_t *name,
    const char *what, size_t short_len, ngx_str_t *out);

#endif
