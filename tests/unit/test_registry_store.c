/* Unit tests: the registry store's SQLite backend (cnx_registry_store.h). */

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cnx_registry_store.h"

static char  dir[] = "/tmp/cnx-store-XXXXXX";
static char  path[64];

static void
setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/registry.db", dir);
}

static void
teardown(void)
{
    char  cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    strcpy(dir, "/tmp/cnx-store-XXXXXX");
}

static cnx_reg_store_t *
open_store(void)
{
    char              err[256];
    cnx_reg_store_t  *st;

    ck_assert_int_eq(cnx_reg_store_setup(path, (uid_t) -1, (gid_t) -1, err,
                                         sizeof(err)), 0);
    st = cnx_reg_store_open(path, err, sizeof(err));
    ck_assert_msg(st != NULL, "%s", err);
    return st;
}

START_TEST(test_setup_mode)
{
    struct stat  sb;
    mode_t       old;

    old = umask(0);
    cnx_reg_store_t *st = open_store();
    umask(old);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    st->ops->close(st);
}
END_TEST

START_TEST(test_claim_rules)
{
    cnx_reg_store_t   *st = open_store();
    cnx_reg_record_t   rec;
    uint8_t            a[32], b[32];
    int                created;

    memset(a, 0xaa, 32);
    memset(b, 0xbb, 32);

    ck_assert_int_eq(st->ops->lookup(st, "main.claw", 9, &rec),
                     CNX_STORE_NOTFOUND);
    ck_assert_int_eq(st->ops->claim(st, "main.claw", 9, a, 100, &rec,
                                    &created), CNX_STORE_OK);
    ck_assert_int_eq(created, 1);
    ck_assert_int_eq(rec.registered_at, 100);

    /* the owner renews: same record, newer updated_at */
    ck_assert_int_eq(st->ops->claim(st, "main.claw", 9, a, 200, &rec,
                                    &created), CNX_STORE_OK);
    ck_assert_int_eq(created, 0);
    ck_assert_int_eq(rec.registered_at, 100);
    ck_assert_int_eq(rec.updated_at, 200);

    /* another key: conflict, and the owner is unchanged */
    ck_assert_int_eq(st->ops->claim(st, "main.claw", 9, b, 300, &rec,
                                    &created), CNX_STORE_CONFLICT);
    ck_assert_mem_eq(rec.pubkey, a, 32);
    ck_assert_int_eq(rec.updated_at, 200);

    /* names are bytes: a prefix or another case is another name */
    ck_assert_int_eq(st->ops->claim(st, "main.cla", 8, b, 300, &rec,
                                    &created), CNX_STORE_OK);
    ck_assert_int_eq(st->ops->claim(st, "Main.claw", 9, b, 300, &rec,
                                    &created), CNX_STORE_OK);
    ck_assert_int_eq(created, 1);

    ck_assert_int_eq(st->ops->lookup(st, "main.claw", 9, &rec), CNX_STORE_OK);
    ck_assert_mem_eq(rec.pubkey, a, 32);
    st->ops->close(st);
}
END_TEST

START_TEST(test_persists)
{
    cnx_reg_store_t   *st = open_store();
    cnx_reg_record_t   rec;
    uint8_t            a[32], b[32];
    int                created;

    memset(a, 1, 32);
    memset(b, 2, 32);
    ck_assert_int_eq(st->ops->claim(st, "x.claw", 6, a, 1, &rec, &created),
                     CNX_STORE_OK);
    st->ops->close(st);

    /* setup again (a reload) and a new connection keep the owner */
    st = open_store();
    ck_assert_int_eq(st->ops->claim(st, "x.claw", 6, b, 2, &rec, &created),
                     CNX_STORE_CONFLICT);
    ck_assert_mem_eq(rec.pubkey, a, 32);
    st->ops->close(st);
}
END_TEST

/* Two connections (two workers) race for the same names. */
typedef struct {
    uint8_t  key;
    int      won;
} racer_t;

static void *
race(void *arg)
{
    racer_t           *r = arg;
    char               err[256], name[32];
    cnx_reg_store_t   *st;
    cnx_reg_record_t   rec;
    uint8_t            k[32];
    int                i, created, rc;

    memset(k, r->key, 32);
    st = cnx_reg_store_open(path, err, sizeof(err));
    if (st == NULL) {
        return NULL;
    }
    for (i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "n%d.claw", i);
        rc = st->ops->claim(st, name, strlen(name), k, i, &rec, &created);
        if (rc == CNX_STORE_OK && created) {
            r->won++;
        } else if (rc != CNX_STORE_CONFLICT) {
            r->won = -100000;
        }
    }
    st->ops->close(st);
    return NULL;
}

START_TEST(test_race)
{
    cnx_reg_store_t  *st = open_store();
    pthread_t         t[2];
    racer_t           r[2] = { { 1, 0 }, { 2, 0 } };
    int               i;

    st->ops->close(st);
    for (i = 0; i < 2; i++) {
        pthread_create(&t[i], NULL, race, &r[i]);
    }
    for (i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
    }
    /* every name has exactly one first owner */
    ck_assert_int_ge(r[0].won, 0);
    ck_assert_int_ge(r[1].won, 0);
    ck_assert_int_eq(r[0].won + r[1].won, 200);
}
END_TEST

START_TEST(test_errors)
{
    char  err[256];

    ck_assert_int_eq(cnx_reg_store_setup("/nonexistent-dir/r.db", (uid_t) -1,
                                         (gid_t) -1, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/r.db"));
    ck_assert_ptr_null(cnx_reg_store_open("memcached://127.0.0.1:11211",
                                          err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "memcached://"));
}
END_TEST

/* Redis addresses: checked at setup, no connection until first use. */
START_TEST(test_redis_address)
{
    static const char  *bad[] = {
        "redis://", "redis://:6379", "redis://h:0", "redis://h:65536",
        "redis://h:6379x", "redis://@h:6379", "redis://[::1",
        "redis://[::1]x",
    };
    cnx_reg_store_t    *st;
    cnx_reg_record_t    rec;
    char                err[256];
    size_t              i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(cnx_reg_store_setup(bad[i], (uid_t) -1, (gid_t) -1,
                                          err, sizeof(err)) == -1, "%s",
                      bad[i]);
        ck_assert_ptr_null(cnx_reg_store_open(bad[i], err, sizeof(err)));
    }
    ck_assert_int_eq(cnx_reg_store_setup("redis://127.0.0.1:1/", (uid_t) -1,
                                         (gid_t) -1, err, sizeof(err)), 0);
    ck_assert_int_eq(cnx_reg_store_setup("redis://[::1]:6379", (uid_t) -1,
                                         (gid_t) -1, err, sizeof(err)), 0);

    /* a user needs a password; a file store takes none */
    ck_assert_ptr_null(cnx_reg_store_open("redis://u@127.0.0.1:1", err,
                                          sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "password_file"));
    st = cnx_reg_store_open_auth("redis://u@127.0.0.1:1",
                                 (const uint8_t *) "pw", 2, err, sizeof(err));
    ck_assert_ptr_nonnull(st);
    st->ops->close(st);
    ck_assert_ptr_null(cnx_reg_store_open_auth("/tmp/x.db",
                                               (const uint8_t *) "pw", 2, err,
                                               sizeof(err)));

    /* port 1: nothing listens; the error names the address */
    st = cnx_reg_store_open("redis://127.0.0.1:1", err, sizeof(err));
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(st->ops->lookup(st, "a.claw", 6, &rec), CNX_STORE_ERROR);
    ck_assert_ptr_nonnull(strstr(st->err, "127.0.0.1:1"));
    st->ops->close(st);
}
END_TEST

int
main(void)
{
    Suite   *s = suite_create("registry_store");
    TCase   *tc = tcase_create("sqlite");
    SRunner *sr;
    int      failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_setup_mode);
    tcase_add_test(tc, test_claim_rules);
    tcase_add_test(tc, test_persists);
    tcase_add_test(tc, test_race);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_redis_address);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
