/*
 * The registry's storage: which public key owns which name.  nginx-free,
 * blocking, thread-safe; ngx_http_clawnexus_registry_module calls it from
 * nginx's thread pool, never from the event loop.
 *
 * One small interface (claim, lookup) with a backend per kind of
 * clawnexus_registry_db value, chosen by cnx_reg_store_open():
 *   FILE          SQLite (cnx_registry_sqlite.c): one database file shared
 *                 by every worker, WAL, created 0600;
 *   redis://...   Redis (cnx_registry_redis.c): one Redis shared by the
 *                 registries of several relay nodes (docs/cluster.md).
 * The rules (first come first served, 409, idempotent renewal) are the
 * backends' only job, written once per backend as one atomic claim.
 */

#ifndef CNX_REGISTRY_STORE_H
#define CNX_REGISTRY_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CNX_STORE_OK         0
#define CNX_STORE_NOTFOUND   1   /* lookup: no such name */
#define CNX_STORE_CONFLICT   2   /* claim: the name has another owner */
#define CNX_STORE_ERROR    (-1)  /* storage failed; st->err says why */

typedef struct {
    uint8_t     pubkey[32];
    int64_t     registered_at;   /* Unix seconds */
    int64_t     updated_at;
} cnx_reg_record_t;

typedef struct cnx_reg_store_s  cnx_reg_store_t;

typedef struct {
    /*
     * Give name[0..n) to pubkey if nobody owns it (*created = 1), or renew
     * it if pubkey already owns it (updated_at = now, *created = 0): OK,
     * rec = the record.  Owned by another key: CONFLICT, rec = the
     * owner's record.  Atomic against every other claim on any worker.
     */
    int   (*claim)(cnx_reg_store_t *st, const char *name, size_t n,
                   const uint8_t pubkey[32], int64_t now,
                   cnx_reg_record_t *rec, int *created);
    /* OK and rec, NOTFOUND, or ERROR. */
    int   (*lookup)(cnx_reg_store_t *st, const char *name, size_t n,
                    cnx_reg_record_t *rec);
    void  (*close)(cnx_reg_store_t *st);
} cnx_reg_store_ops_t;

struct cnx_reg_store_s {
    const cnx_reg_store_ops_t  *ops;
    char                        err[256];   /* last error, for the log */
};

/*
 * Once, in the master before workers start (nginx -t too): create the
 * storage if needed (a SQLite file with mode 0600 and its schema) and give
 * it to uid/gid (the worker user; (uid_t) -1 keeps the owner).  Returns 0,
 * or -1 with a message in err.
 */
int cnx_reg_store_setup(const char *spec, uid_t uid, gid_t gid, char *err,
    size_t errlen);

/* Per worker process: open the storage.  NULL and err on failure. */
cnx_reg_store_t *cnx_reg_store_open(const char *spec, char *err,
    size_t errlen);

/* The same with a password for a store that takes one (redis://: AUTH;
 * pass NULL or len 0: none).  The store keeps a copy, wiped at close. */
cnx_reg_store_t *cnx_reg_store_open_auth(const char *spec,
    const uint8_t *pass, size_t pass_len, char *err, size_t errlen);

/* The SQLite backend (spec = a file path). */
int cnx_reg_sqlite_setup(const char *path, uid_t uid, gid_t gid, char *err,
    size_t errlen);
cnx_reg_store_t *cnx_reg_sqlite_open(const char *path, char *err,
    size_t errlen);

/* The Redis backend (spec = redis://[USER@]HOST[:PORT]); setup checks
 * only the address, so nginx starts while Redis is down. */
int cnx_reg_redis_setup(const char *spec, char *err, size_t errlen);
cnx_reg_store_t *cnx_reg_redis_open(const char *spec, const uint8_t *pass,
    size_t pass_len, char *err, size_t errlen);

#endif
