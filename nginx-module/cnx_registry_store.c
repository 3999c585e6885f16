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

int
cnx_reg_store_setup(const char *spec, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
    if (cnx_reg_store_is_url(spec)) {
        snprintf(err, errlen, "unsupported registry database \"%s\" "
                 "(a file path is a SQLite database)", spec);
        return -1;
    }
    return cnx_reg_sqlite_setup(spec, uid, gid, err, errlen);
}

cnx_reg_store_t *
cnx_reg_store_open(const char *spec, char *err, size_t errlen)
{
    if (cnx_reg_store_is_url(spec)) {
        snprintf(err, errlen, "unsupported registry database \"%s\"", spec);
        return NULL;
    }
    return cnx_reg_sqlite_open(spec, err, errlen);
}
