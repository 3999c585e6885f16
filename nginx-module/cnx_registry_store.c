/*
 * The registry store: the backend is chosen by the form of
 * clawnexus_registry_db.
 */

#include <stdio.h>
#include <string.h>

#include "cnx_registry_store.h"

static int
cnx_reg_store_is_url(const char *spec)
{
    return strstr(spec, "://") != NULL;
}

static int
cnx_reg_store_is_redis(const char *spec)
{
    return strncmp(spec, "redis://", 8) == 0;
}

int
cnx_reg_store_setup(const char *spec, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
    if (cnx_reg_store_is_redis(spec)) {
        return cnx_reg_redis_setup(spec, err, errlen);
    }
    if (cnx_reg_store_is_url(spec)) {
        snprintf(err, errlen, "unsupported registry database \"%s\" "
                 "(redis://HOST:PORT, or a file path for SQLite)", spec);
        return -1;
    }
    return cnx_reg_sqlite_setup(spec, uid, gid, err, errlen);
}

cnx_reg_store_t *
cnx_reg_store_open(const char *spec, char *err, size_t errlen)
{
    return cnx_reg_store_open_auth(spec, NULL, 0, err, errlen);
}

cnx_reg_store_t *
cnx_reg_store_open_auth(const char *spec, const uint8_t *pass,
    size_t pass_len, char *err, size_t errlen)
{
    if (cnx_reg_store_is_redis(spec)) {
        return cnx_reg_redis_open(spec, pass, pass_len, err, errlen);
    }
    if (pass != NULL && pass_len > 0) {
        snprintf(err, errlen, "registry database \"%s\" takes no password",
                 spec);
        return NULL;
    }
    if (cnx_reg_store_is_url(spec)) {
        snprintf(err, errlen, "unsupported registry database \"%s\"", spec);
        return NULL;
    }
    return cnx_reg_sqlite_open(spec, err, errlen);
}
