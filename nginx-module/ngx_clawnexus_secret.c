/*
 * Secret files (the relay's JWT secret, the cluster's Redis password),
 * read once at configuration time.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include <sodium.h>

#include "ngx_clawnexus_secret.h"


static void
ngx_clawnexus_wipe_secret(void *data)
{
    ngx_str_t  *secret = data;

    if (secret->data) {
        sodium_memzero(secret->data, secret->len);
    }
}


char *
ngx_clawnexus_read_secret(ngx_conf_t *cf, ngx_str_t *name, ngx_str_t *out)
{
    return ngx_clawnexus_read_secret_file(cf, name, "JWT secret", 16, out);
}


char *
ngx_clawnexus_read_secret_file(ngx_conf_t *cf, ngx_str_t *name,
    const char *what, size_t short_len, ngx_str_t *out)
{
    u_char              *buf;
    ssize_t              n;
    ngx_fd_t             fd;
    ngx_file_info_t      fi;
    ngx_pool_cleanup_t  *cln;

    if (ngx_conf_full_name(cf->cycle, name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(name->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot open %s file \"%V\"", what, name);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot stat %s file \"%V\"", what, name);
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    if (fi.st_mode & (S_IROTH | S_IWOTH)) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "%s file \"%V\" is accessible by other "
                           "users; chmod 0600 or 0640 it", what, name);
    }

    buf = ngx_pnalloc(cf->pool, NGX_CLAWNEXUS_SECRET_MAX + 1);
    if (buf == NULL) {
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    out->data = buf;
    out->len = NGX_CLAWNEXUS_SECRET_MAX + 1;
    cln->handler = ngx_clawnexus_wipe_secret;
    cln->data = out;

    n = ngx_read_fd(fd, buf, NGX_CLAWNEXUS_SECRET_MAX + 1);
    ngx_close_file(fd);

    if (n < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot read %s file \"%V\"", what, name);
        return NGX_CONF_ERROR;
    }

    if (n > NGX_CLAWNEXUS_SECRET_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s file \"%V\" is larger than %d bytes",
                           what, name, NGX_CLAWNEXUS_SECRET_MAX);
        return NGX_CONF_ERROR;
    }

    /* a trailing newline from "echo secret > file" is not part of it */
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        buf[--n] = '\0';
    }

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s file \"%V\" is empty", what, name);
        return NGX_CONF_ERROR;
    }

    if ((size_t) n < short_len) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "%s in \"%V\" is shorter than %uz bytes",
                           what, name, short_len);
    }

    out->len = n;

    return NGX_CONF_OK;
}
