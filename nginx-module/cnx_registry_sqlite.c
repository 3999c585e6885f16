/*
 * SQLite backend of the registry store.  One database file shared by every
 * worker process (WAL: readers never wait for the writer; a writer waits
 * for another through busy_timeout, on a thread-pool thread).  Each worker
 * holds one connection with prepared statements, used by one thread at a
 * time (a mutex), so the connection itself runs without SQLite's locks.
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cnx_registry_store.h"

#define CNX_SQLITE_BUSY_MS  5000

static const char  cnx_sqlite_schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS names ("
    " name BLOB PRIMARY KEY,"
    " pubkey BLOB NOT NULL,"
    " registered_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL"
    ") WITHOUT ROWID;";

enum {
    CNX_SQL_INSERT,
    CNX_SQL_RENEW,
    CNX_SQL_LOOKUP,
    CNX_SQL_N
};

static const char  *cnx_sqlite_sql[CNX_SQL_N] = {
    "INSERT OR IGNORE INTO names VALUES (?1, ?2, ?3, ?3)",
    "UPDATE names SET updated_at = ?3 WHERE name = ?1 AND pubkey = ?2",
    "SELECT pubkey, registered_at, updated_at FROM names WHERE name = ?1",
};

typedef struct {
    cnx_reg_store_t   base;
    sqlite3          *db;
    sqlite3_stmt     *stmt[CNX_SQL_N];
    pthread_mutex_t   lock;
} cnx_sqlite_store_t;

static void
cnx_sqlite_err(char *err, size_t errlen, const char *what, const char *path,
    sqlite3 *db)
{
    snprintf(err, errlen, "%s \"%s\": %s", what, path,
             db != NULL ? sqlite3_errmsg(db) : "out of memory");
}

int
cnx_reg_sqlite_setup(const char *path, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
    sqlite3  *db = NULL;
    char     *msg = NULL;
    int       fd, rc = -1;

    /* create it 0600 ourselves: SQLite would use the umask */
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create registry database \"%s\": %s",
                 path, strerror(errno));
        return -1;
    }
    if (uid != (uid_t) -1 && fchown(fd, uid, gid) != 0) {
        snprintf(err, errlen, "cannot give registry database \"%s\" to the "
                 "worker user: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL)
        != SQLITE_OK)
    {
        cnx_sqlite_err(err, errlen, "cannot open registry database", path,
                       db);
        goto done;
    }
    sqlite3_busy_timeout(db, CNX_SQLITE_BUSY_MS);
    if (sqlite3_exec(db, cnx_sqlite_schema, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "registry database \"%s\": %s", path,
                 msg != NULL ? msg : "cannot create the schema");
        sqlite3_free(msg);
        goto done;
    }
    rc = 0;

done:
    sqlite3_close(db);
    return rc;
}

static void
cnx_sqlite_close(cnx_reg_store_t *st)
{
    cnx_sqlite_store_t  *s = (cnx_sqlite_store_t *) st;
    int                  i;

    if (s == NULL) {
        return;
    }
    for (i = 0; i < CNX_SQL_N; i++) {
        sqlite3_finalize(s->stmt[i]);
    }
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static int
cnx_sqlite_fail(cnx_sqlite_store_t *s, const char *what)
{
    snprintf(s->base.err, sizeof(s->base.err), "%s: %s", what,
             sqlite3_errmsg(s->db));
    return CNX_STORE_ERROR;
}

/* Bind ?1 name, ?2 pubkey, ?3 now (those the statement has) and step once. */
static int
cnx_sqlite_run(sqlite3_stmt *q, const char *name, size_t n,
    const uint8_t *pubkey, int64_t now)
{
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    sqlite3_bind_blob(q, 1, name, (int) n, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(q) >= 2) {
        sqlite3_bind_blob(q, 2, pubkey, 32, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, now);
    }
    return sqlite3_step(q);
}

/* Read the row of the lookup statement; OK, NOTFOUND or ERROR. */
static int
cnx_sqlite_lookup_locked(cnx_sqlite_store_t *s, const char *name, size_t n,
    cnx_reg_record_t *rec)
{
    sqlite3_stmt  *q = s->stmt[CNX_SQL_LOOKUP];
    int            rc;

    rc = cnx_sqlite_run(q, name, n, NULL, 0);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(q);
        return CNX_STORE_NOTFOUND;
    }
    if (rc != SQLITE_ROW || sqlite3_column_bytes(q, 0) != 32) {
        rc = cnx_sqlite_fail(s, "lookup");
        sqlite3_reset(q);
        return rc;
    }
    memcpy(rec->pubkey, sqlite3_column_blob(q, 0), 32);
    rec->registered_at = sqlite3_column_int64(q, 1);
    rec->updated_at = sqlite3_column_int64(q, 2);
    sqlite3_reset(q);
    return CNX_STORE_OK;
}

static int
cnx_sqlite_lookup(cnx_reg_store_t *st, const char *name, size_t n,
    cnx_reg_record_t *rec)
{
    cnx_sqlite_store_t  *s = (cnx_sqlite_store_t *) st;
    int                  rc;

    pthread_mutex_lock(&s->lock);
    rc = cnx_sqlite_lookup_locked(s, name, n, rec);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/*
 * INSERT OR IGNORE creates the name for us or leaves another's; the
 * UPDATE then renews it only if the key matches.  Each statement is
 * atomic on its own, and the owner never changes once set, so no
 * transaction is needed between them.
 */
static int
cnx_sqlite_claim(cnx_reg_store_t *st, const char *name, size_t n,
    const uint8_t pubkey[32], int64_t now, cnx_reg_record_t *rec,
    int *created)
{
    cnx_sqlite_store_t  *s = (cnx_sqlite_store_t *) st;
    sqlite3_stmt        *q;
    int                  rc;

    *created = 0;
    pthread_mutex_lock(&s->lock);

    q = s->stmt[CNX_SQL_INSERT];
    if (cnx_sqlite_run(q, name, n, pubkey, now) != SQLITE_DONE) {
        rc = cnx_sqlite_fail(s, "insert");
        sqlite3_reset(q);
        goto done;
    }
    sqlite3_reset(q);

    if (sqlite3_changes(s->db) == 1) {
        *created = 1;
        memcpy(rec->pubkey, pubkey, 32);
        rec->registered_at = now;
        rec->updated_at = now;
        rc = CNX_STORE_OK;
        goto done;
    }

    q = s->stmt[CNX_SQL_RENEW];
    if (cnx_sqlite_run(q, name, n, pubkey, now) != SQLITE_DONE) {
        rc = cnx_sqlite_fail(s, "renew");
        sqlite3_reset(q);
        goto done;
    }
    sqlite3_reset(q);

    rc = cnx_sqlite_lookup_locked(s, name, n, rec);
    if (rc == CNX_STORE_NOTFOUND) {
        snprintf(s->base.err, sizeof(s->base.err), "name vanished");
        rc = CNX_STORE_ERROR;
    } else if (rc == CNX_STORE_OK && memcmp(rec->pubkey, pubkey, 32) != 0) {
        rc = CNX_STORE_CONFLICT;
    }

done:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static const cnx_reg_store_ops_t  cnx_sqlite_ops = {
    cnx_sqlite_claim,
    cnx_sqlite_lookup,
    cnx_sqlite_close,
};

cnx_reg_store_t *
cnx_reg_sqlite_open(const char *path, char *err, size_t errlen)
{
    cnx_sqlite_store_t  *s;
    int                  i;

    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &cnx_sqlite_ops;
    pthread_mutex_init(&s->lock, NULL);

    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)
        != SQLITE_OK)
    {
        cnx_sqlite_err(err, errlen, "cannot open registry database", path,
                       s->db);
        goto fail;
    }
    sqlite3_busy_timeout(s->db, CNX_SQLITE_BUSY_MS);

    /* WAL is persistent in the file; NORMAL is durable across a crash of
     * nginx (only a power loss can lose the last commits) */
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL;"
                     "PRAGMA synchronous=NORMAL;", NULL, NULL, NULL)
        != SQLITE_OK)
    {
        cnx_sqlite_err(err, errlen, "registry database", path, s->db);
        goto fail;
    }

    for (i = 0; i < CNX_SQL_N; i++) {
        if (sqlite3_prepare_v3(s->db, cnx_sqlite_sql[i], -1,
                               SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL)
            != SQLITE_OK)
        {
            cnx_sqlite_err(err, errlen, "registry database", path, s->db);
            goto fail;
        }
    }
    return &s->base;

fail:
    cnx_sqlite_close(&s->base);
    return NULL;
}
