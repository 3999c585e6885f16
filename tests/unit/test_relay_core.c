/*
 * Unit tests of the relay core (cnx_relay_core.h): every rule and ERROR
 * code, with both members in one process and in two (through records).
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_relay_msg.h"
#include "relay_sim.h"

static sim_t  sim;

/* Expects the next line of s starting with prefix; returns it. */
static const char *
expect(sim_sock_t *s, const char *prefix)
{
    static char  line[512];

    if (!sim_take(s, prefix, line, sizeof(line))) {
        ck_abort_msg("socket %d: no \"%s\" in:\n%.*s", s->id, prefix,
                     (int) s->log_len, s->log);
    }
    return line;
}

static void
expect_empty(sim_sock_t *s)
{
    ck_assert_msg(s->log_len == 0, "socket %d: unexpected:\n%.*s", s->id,
                  (int) s->log_len, s->log);
}

/* s answers the next INCOMING it got with ACCEPT; room = its id. */
static void
accept_next(sim_sock_t *s, char *room)
{
    char  msg[256];

    sim_room_of(expect(s, "INCOMING "), room, CNX_RELAY_ROOM_ID_MAX + 1);
    snprintf(msg, sizeof(msg), "{\"type\":\"ACCEPT\",\"room_id\":\"%s\"}",
             room);
    sim_text(&sim, s, msg);
    sim_run(&sim);
}

static void
setup(void)
{
    sim_init(&sim, 86400);
}

static void
teardown(void)
{
    int  i;

    sim_free(&sim);
    ck_assert_int_eq(sim.remotes, 0);
    for (i = 0; i < SIM_SOCKS; i++) {
        ck_assert_uint_eq(sim.sock[i].m.dir.nrooms, 0);
        ck_assert_uint_eq(sim.sock[i].m.nblocked, 0);
    }
}

/* a on proc pa, b on proc pb, registered, in an active room: its id. */
static void
pair(sim_sock_t **a, sim_sock_t **b, int pa, int pb, char *room)
{
    *a = sim_open(&sim, 0, pa);
    *b = sim_open(&sim, 1, pb);
    ck_assert_int_eq(sim_register(&sim, *a, "alice", 1), CNX_RELAY_CONTINUE);
    ck_assert_int_eq(sim_register(&sim, *b, "bob", 0), CNX_RELAY_CONTINUE);
    expect(*a, "REGISTERED alice");
    expect(*b, "REGISTERED bob");
    sim_join(&sim, *a, "bob");
    sim_run(&sim);
    accept_next(*b, room);
    ck_assert_str_eq(expect(*a, "JOINED ") + 7 + strlen(room) + 1, "bob");
    ck_assert_str_eq(expect(*b, "JOINED ") + 7 + strlen(room) + 1, "alice");
    expect_empty(*a);
    expect_empty(*b);
}

static void
data(sim_sock_t *s, const char *room, const char *payload)
{
    char  msg[512];

    snprintf(msg, sizeof(msg),
             "{\"type\":\"DATA\",\"room_id\":\"%s\",\"payload\":\"%s\"}",
             room, payload);
    ck_assert_int_eq(sim_text(&sim, s, msg), CNX_RELAY_CONTINUE);
}

static void
bin(sim_sock_t *s, const char *room, const char *payload, size_t n)
{
    uint8_t  f[256];
    size_t   h = cnx_relay_bin_header(f, room, strlen(room));

    memcpy(f + h, payload, n);
    ck_assert_int_eq(sim_bin(&sim, s, f, h + n), CNX_RELAY_CONTINUE);
}

START_TEST(test_register)
{
    sim_sock_t  *a = sim_open(&sim, 0, 0);
    char         msg[2048];

    /* a good token: REGISTERED */
    ck_assert_int_eq(sim_register(&sim, a, "alice", 0), CNX_RELAY_CONTINUE);
    expect(a, "REGISTERED alice");
    ck_assert(a->m.registered);

    /* a token for another name: AUTH_FAILED, and the socket is closed */
    snprintf(msg, sizeof(msg), "{\"type\":\"REGISTER\",\"claw_id\":\"bob\","
             "\"auth_token\":\"%s\"}", sim_token("alice", SIM_NOW, 300));
    ck_assert_int_eq(sim_text(&sim, a, msg), CNX_RELAY_CLOSE);
    expect(a, "ERROR AUTH_FAILED");
    expect_empty(a);
    ck_assert_uint_eq(sim.auth_fails, 1);

    /* expired, minted for too long, garbage */
    snprintf(msg, sizeof(msg), "{\"type\":\"REGISTER\",\"claw_id\":\"alice\","
             "\"auth_token\":\"%s\"}", sim_token("alice", SIM_NOW - 400, 300));
    ck_assert_int_eq(sim_text(&sim, a, msg), CNX_RELAY_CLOSE);
    expect(a, "ERROR AUTH_FAILED");
    snprintf(msg, sizeof(msg), "{\"type\":\"REGISTER\",\"claw_id\":\"alice\","
             "\"auth_token\":\"%s\"}", sim_token("alice", SIM_NOW, 86401));
    ck_assert_int_eq(sim_text(&sim, a, msg), CNX_RELAY_CLOSE);
    expect(a, "ERROR AUTH_FAILED");
    snprintf(msg, sizeof(msg), "{\"type\":\"REGISTER\",\"claw_id\":\"alice\","
             "\"auth_token\":\"%s\"}", sim_token("alice", SIM_NOW, 86400));
    ck_assert_int_eq(sim_text(&sim, a, msg), CNX_RELAY_CONTINUE);
    expect(a, "REGISTERED alice");
    ck_assert_int_eq(sim_text(&sim, a, "{\"type\":\"REGISTER\",\"claw_id\":"
                              "\"alice\",\"auth_token\":\"x.y.z\"}"),
                     CNX_RELAY_CLOSE);
    expect(a, "ERROR AUTH_FAILED");
    ck_assert_uint_eq(cnx_relay_core_stats(sim.proc[0].core)->auth_failures,
                      4);

    /* the address is blocked: RATE_LIMITED and closed, token not read */
    sim.auth_blocked = 1;
    ck_assert_int_eq(sim_register(&sim, a, "alice", 0), CNX_RELAY_CLOSE);
    expect(a, "ERROR RATE_LIMITED");
    expect_empty(a);
    ck_assert_uint_eq(sim.auth_fails, 4);
}
END_TEST

START_TEST(test_messages)
{
    sim_sock_t  *a = sim_open(&sim, 0, 0);

    sim_text(&sim, a, "{\"type\":\"PING\"}");
    expect(a, "PONG");
    sim_text(&sim, a, "{\"type\":\"PONG\"}");
    expect_empty(a);
    sim_text(&sim, a, "not json");
    expect(a, "ERROR BAD_MESSAGE");
    sim_text(&sim, a, "{\"type\":\"NOPE\"}");
    expect(a, "ERROR BAD_MESSAGE");
    sim_text(&sim, a, "{\"type\":\"JOIN\"}");
    expect(a, "ERROR BAD_MESSAGE");
    sim_text(&sim, a, "{\"type\":\"INCOMING\",\"room_id\":\"r1\","
             "\"from_claw_id\":\"x\"}");
    expect(a, "ERROR BAD_MESSAGE");
    sim_text(&sim, a, "{\"type\":\"PEER_LEFT\",\"room_id\":\"r1\"}");
    expect(a, "ERROR BAD_MESSAGE");
    expect_empty(a);
}
END_TEST

/* Every message that needs a name answers NOT_REGISTERED first, binary
   DATA as well as text DATA. */
START_TEST(test_register_first)
{
    sim_sock_t  *a = sim_open(&sim, 0, 0);
    sim_sock_t  *b = sim_open(&sim, 1, 0);

    sim_register(&sim, b, "bob", 1);
    expect(b, "REGISTERED");
    strcpy(a->m.name, "anon");
    ck_assert_int_eq(sim_join(&sim, a, "bob"), CNX_RELAY_CONTINUE);
    expect(a, "ERROR NOT_REGISTERED");
    data(a, "r1", "x");
    expect(a, "ERROR NOT_REGISTERED");
    bin(a, "r1", "x", 1);
    expect(a, "ERROR NOT_REGISTERED");
    sim_text(&sim, a, "{\"type\":\"ACCEPT\",\"room_id\":\"r1\"}");
    expect(a, "ERROR NOT_REGISTERED");
    sim_text(&sim, a, "{\"type\":\"REJECT\",\"room_id\":\"r1\"}");
    expect(a, "ERROR NOT_REGISTERED");
    expect_empty(a);
    expect_empty(b);
}
END_TEST

static void
join_rules(int pa, int pb)
{
    sim_sock_t  *a = sim_open(&sim, 0, pa);
    sim_sock_t  *b = sim_open(&sim, 1, pb);
    char         msg[2048], room[65], line[512];

    sim_register(&sim, a, "alice", 0);
    sim_register(&sim, b, "bob", 0);
    sim_clear(a);
    sim_clear(b);

    /* claw_id must be the registered one; the token must be good */
    snprintf(msg, sizeof(msg), "{\"type\":\"JOIN\",\"claw_id\":\"bob\","
             "\"target_claw_id\":\"bob\",\"auth_token\":\"%s\"}",
             sim_token("bob", SIM_NOW, 300));
    ck_assert_int_eq(sim_text(&sim, a, msg), CNX_RELAY_CONTINUE);
    expect(a, "ERROR AUTH_FAILED");
    snprintf(msg, sizeof(msg), "{\"type\":\"JOIN\",\"claw_id\":\"alice\","
             "\"target_claw_id\":\"bob\",\"auth_token\":\"%s\"}",
             sim_token("alice", SIM_NOW - 1000, 300));
    ck_assert_int_eq(sim_text(&sim, a, msg), CNX_RELAY_CONTINUE);
    expect(a, "ERROR AUTH_FAILED");
    sim.auth_blocked = 1;
    ck_assert_int_eq(sim_join(&sim, a, "bob"), CNX_RELAY_CLOSE);
    expect(a, "ERROR RATE_LIMITED");
    sim.auth_blocked = 0;

    sim_join(&sim, a, "carol");
    expect(a, "ERROR TARGET_OFFLINE");
    sim_join(&sim, a, "alice");
    expect(a, "ERROR BAD_MESSAGE");
    expect_empty(a);

    /* REJECT: the initiator hears PEER_LEFT */
    sim_join(&sim, a, "bob");
    sim_run(&sim);
    sim_room_of(expect(b, "INCOMING "), room, sizeof(room));
    ck_assert_uint_eq(a->m.dir.npending, 1);
    /* only the target answers */
    snprintf(msg, sizeof(msg), "{\"type\":\"ACCEPT\",\"room_id\":\"%s\"}",
             room);
    sim_text(&sim, a, msg);
    expect(a, "ERROR ROOM_NOT_FOUND");
    data(a, room, "early");
    expect(a, "ERROR ROOM_NOT_FOUND");
    snprintf(msg, sizeof(msg), "{\"type\":\"REJECT\",\"room_id\":\"%s\"}",
             room);
    sim_text(&sim, b, msg);
    sim_run(&sim);
    snprintf(line, sizeof(line), "PEER_LEFT %s", room);
    expect(a, line);
    ck_assert_uint_eq(a->m.dir.nrooms, 0);
    ck_assert_uint_eq(b->m.dir.nrooms, 0);
    /* answered once */
    sim_text(&sim, b, msg);
    expect(b, "ERROR ROOM_NOT_FOUND");
    expect_empty(a);
    expect_empty(b);
    ck_assert_int_eq(sim.remotes, 0);
}

START_TEST(test_join_local)
{
    join_rules(0, 0);
}
END_TEST

START_TEST(test_join_remote)
{
    join_rules(0, 1);
}
END_TEST

static void
data_rules(int pa, int pb)
{
    sim_sock_t  *a, *b, *c;
    char         room[65], line[512];

    pair(&a, &b, pa, pb, room);
    c = sim_open(&sim, 2, pa);
    sim_register(&sim, c, "carol", 1);
    sim_clear(c);

    /* text both ways, forwarded as escaped */
    data(a, room, "hi \\\"bob\\\"");
    data(b, room, "hi alice");
    sim_run(&sim);
    snprintf(line, sizeof(line), "DATA %s hi \\\"bob\\\"", room);
    ck_assert_str_eq(expect(b, "DATA "), line);
    snprintf(line, sizeof(line), "DATA %s hi alice", room);
    ck_assert_str_eq(expect(a, "DATA "), line);

    /* binary: to a v1 peer only when it is UTF-8 */
    bin(a, room, "\xff\xfe", 2);
    expect(a, "ERROR BAD_MESSAGE");
    bin(a, room, "text", 4);
    bin(b, room, "\xff", 1);
    sim_run(&sim);
    snprintf(line, sizeof(line), "BDATA %s text", room);
    ck_assert_str_eq(expect(b, "BDATA "), line);
    expect(a, "BDATA ");
    ck_assert_int_eq(sim_bin(&sim, a, (const uint8_t *) "\x02\x01x", 3),
                     CNX_RELAY_CONTINUE);
    expect(a, "ERROR BAD_MESSAGE");

    /* a third socket is not in the room; unknown rooms */
    data(c, room, "x");
    expect(c, "ERROR ROOM_NOT_FOUND");
    bin(c, room, "x", 1);
    expect(c, "ERROR ROOM_NOT_FOUND");
    data(a, "nosuchroom", "x");
    expect(a, "ERROR ROOM_NOT_FOUND");
    sim_run(&sim);
    expect_empty(a);
    expect_empty(b);
    expect_empty(c);
    ck_assert_uint_eq(cnx_relay_core_stats(sim.proc[pa].core)->messages,
                      pa == pb ? 4 : 2);

    /* a member leaves: the other hears PEER_LEFT, nothing is left */
    sim_close(&sim, a);
    sim_run(&sim);
    snprintf(line, sizeof(line), "PEER_LEFT %s", room);
    expect(b, line);
    data(b, room, "x");
    expect(b, "ERROR ROOM_NOT_FOUND");
    ck_assert_uint_eq(b->m.dir.nrooms, 0);
    ck_assert_int_eq(sim.remotes, 0);
    ck_assert_uint_eq(cnx_dir_room_count(cnx_relay_core_dir(
                                             sim.proc[pa].core)), 0);
    ck_assert_uint_eq(cnx_dir_room_count(cnx_relay_core_dir(
                                             sim.proc[pb].core)), 0);
}

START_TEST(test_data_local)
{
    data_rules(0, 0);
}
END_TEST

START_TEST(test_data_remote)
{
    data_rules(0, 1);
}
END_TEST

/*
 * Quotas: rooms count against the socket that opened them; JOINs waiting
 * are capped per initiator, per target and per pair; strangers filling a
 * target's incoming JOINs do not stop it from joining others.
 */
static void
quota_rules(int remote)
{
    sim_sock_t  *t, *s[6], *x;
    char         name[16], room[65];
    int          i;

    t = sim_open(&sim, 0, 0);
    sim_register(&sim, t, "target", 0);
    x = sim_open(&sim, 15, 0);
    sim_register(&sim, x, "other", 0);
    for (i = 0; i < 6; i++) {
        s[i] = sim_open(&sim, 1 + i, remote ? 1 + i % 2 : 0);
        snprintf(name, sizeof(name), "s%d", i);
        sim_register(&sim, s[i], name, 0);
        sim_clear(s[i]);
    }
    sim_clear(t);
    sim_clear(x);

    /* per pair: 2 waiting */
    sim_join(&sim, s[0], "target");
    sim_join(&sim, s[0], "target");
    sim_join(&sim, s[0], "target");
    expect(s[0], "ERROR TOO_MANY_PENDING");
    sim_run(&sim);
    /* per target: 3 waiting, the 4th stranger is refused */
    sim_join(&sim, s[1], "target");
    sim_run(&sim);
    sim_join(&sim, s[2], "target");
    sim_run(&sim);
    expect(s[2], "ERROR TOO_MANY_PENDING");
    ck_assert_uint_eq(t->m.dir.nincoming, 3);

    /* the target still joins others */
    sim_join(&sim, t, "other");
    sim_run(&sim);
    accept_next(x, room);
    expect(t, "JOINED ");

    /* per initiator: 3 waiting; then 4 opened rooms */
    sim_clear(t);
    for (i = 0; i < 3; i++) {
        snprintf(name, sizeof(name), "s%d", 3 + i);
        sim_join(&sim, x, name);
        sim_run(&sim);
    }
    expect(x, "JOINED ");               /* from the first room */
    sim_join(&sim, x, "s0");
    expect(x, "ERROR TOO_MANY_PENDING");
    for (i = 0; i < 3; i++) {
        accept_next(s[3 + i], room);
    }
    ck_assert_uint_eq(x->m.dir.nopened, 3);
    sim_join(&sim, x, "s1");
    sim_run(&sim);
    ck_assert_uint_eq(x->m.dir.nopened, 4);
    sim_join(&sim, x, "s2");
    expect(x, "ERROR TOO_MANY_ROOMS");
    /* rooms x was invited to do not count against it */
    ck_assert_uint_eq(x->m.dir.nrooms, 5);
    sim_run(&sim);
}

START_TEST(test_quota_local)
{
    quota_rules(0);
}
END_TEST

START_TEST(test_quota_remote)
{
    quota_rules(1);
}
END_TEST

/* A newer socket takes the name: the old one hears REPLACED, loses its
   waiting JOINs, keeps its active rooms. */
static void
replace_rules(int pold, int pnew, int pt)
{
    sim_sock_t  *a, *b, *t, *n;
    char         room[65], room2[65], line[256];

    pair(&a, &b, pold, pt, room);
    t = sim_open(&sim, 2, pt);
    sim_register(&sim, t, "tom", 0);
    sim_clear(t);
    sim_join(&sim, a, "tom");
    sim_run(&sim);
    sim_room_of(expect(t, "INCOMING "), room2, sizeof(room2));

    n = sim_open(&sim, 3, pnew);
    sim_register(&sim, n, "alice", 0);
    sim_run(&sim);
    expect(n, "REGISTERED alice");
    expect(a, "ERROR REPLACED");
    ck_assert(!a->m.registered);
    snprintf(line, sizeof(line), "PEER_LEFT %s", room2);
    expect(t, line);
    ck_assert_uint_eq(a->m.dir.npending, 0);

    /* the old socket's active room still works, and JOIN does not */
    data(a, room, "still");
    sim_run(&sim);
    expect(b, "DATA ");
    sim_join(&sim, a, "bob");
    expect(a, "ERROR NOT_REGISTERED");
    expect_empty(a);
    expect_empty(t);
}

START_TEST(test_replaced_local)
{
    replace_rules(0, 0, 0);
}
END_TEST

START_TEST(test_replaced_remote)
{
    replace_rules(0, 1, 2);
}
END_TEST

/* A full receiver holds back the senders into its rooms, nobody else. */
static void
flow_rules(int pa, int pb)
{
    sim_sock_t  *a, *b, *c, *d;
    char         room[65], room2[65];

    pair(&a, &b, pa, pb, room);
    c = sim_open(&sim, 2, pb);
    d = sim_open(&sim, 3, pa);
    sim_register(&sim, c, "carol", 0);
    sim_register(&sim, d, "dave", 0);
    sim_join(&sim, d, "carol");
    sim_run(&sim);
    accept_next(c, room2);
    sim_clear(c);
    sim_clear(d);

    /* b is full: nobody is held back until they send into it */
    cnx_relay_core_flow(sim.proc[pb].core, &b->m, 1);
    sim_run(&sim);
    expect_empty(a);
    data(a, room, "one");
    sim_run(&sim);
    expect(a, "PAUSE");
    ck_assert_uint_eq(a->m.nblocked, 1);
    expect(b, "DATA ");
    expect_empty(b);
    /* d, sending to c, goes on */
    data(d, room2, "free");
    sim_run(&sim);
    expect(c, "DATA ");
    expect_empty(d);
    /* held once, whatever else a sends */
    data(a, room, "two");
    sim_run(&sim);
    expect_empty(a);
    ck_assert_uint_eq(a->m.nblocked, 1);
    /* full twice is full once */
    cnx_relay_core_flow(sim.proc[pb].core, &b->m, 1);
    sim_run(&sim);
    expect_empty(a);

    cnx_relay_core_flow(sim.proc[pb].core, &b->m, 0);
    sim_run(&sim);
    expect(a, "RESUME");
    ck_assert_uint_eq(a->m.nblocked, 0);
    data(a, room, "three");
    sim_run(&sim);
    expect_empty(a);

    /* a room the full member joins later holds back its sender too */
    cnx_relay_core_flow(sim.proc[pb].core, &b->m, 1);
    sim_run(&sim);
    sim_join(&sim, d, "bob");
    sim_run(&sim);
    accept_next(b, room2);
    data(d, room2, "x");
    data(a, room, "y");
    sim_run(&sim);
    expect(d, "PAUSE");
    expect(a, "PAUSE");

    /* the full member leaves: its senders go on */
    sim_close(&sim, b);
    sim_run(&sim);
    expect(a, "RESUME");
    expect(d, "RESUME");
    ck_assert_uint_eq(a->m.nblocked, 0);
    ck_assert_uint_eq(d->m.nblocked, 0);
}

START_TEST(test_flow_local)
{
    flow_rules(0, 0);
}
END_TEST

START_TEST(test_flow_remote)
{
    flow_rules(0, 1);
}
END_TEST

/* A process dies: rooms with its sockets end for the others. */
START_TEST(test_process_dies)
{
    sim_sock_t  *a, *b;
    char         room[65], line[256];

    pair(&a, &b, 0, 1, room);
    sim_join(&sim, a, "bob");           /* a pending room as well */
    sim_run(&sim);
    expect_empty(a);
    sim_clear(b);
    sim_kill(&sim, 1);
    snprintf(line, sizeof(line), "PEER_LEFT %s\n", room);
    ck_assert_ptr_nonnull(strstr(a->log, line));
    expect(a, "PEER_LEFT ");
    expect(a, "PEER_LEFT ");
    ck_assert_uint_eq(a->m.dir.nrooms, 0);
    ck_assert_int_eq(sim.remotes, 0);
    sim_join(&sim, a, "bob");
    expect(a, "ERROR TARGET_OFFLINE");
}
END_TEST

/* The target is gone when the INCOMING record arrives. */
START_TEST(test_incoming_target_gone)
{
    sim_sock_t  *a = sim_open(&sim, 0, 0), *b = sim_open(&sim, 1, 1);

    sim_register(&sim, a, "alice", 0);
    sim_register(&sim, b, "bob", 0);
    sim_clear(a);
    sim_join(&sim, a, "bob");
    sim_close(&sim, b);
    sim_run(&sim);
    expect(a, "ERROR TARGET_OFFLINE");
    ck_assert_uint_eq(a->m.dir.nrooms, 0);
    ck_assert_int_eq(sim.remotes, 0);
}
END_TEST

/* Records whose sender is not the room's other member are ignored. */
START_TEST(test_spoofed_records)
{
    sim_sock_t       *a, *b;
    char              room[65];
    cnx_relay_rec_t   rec;

    pair(&a, &b, 0, 1, room);
    memset(&rec, 0, sizeof(rec));
    rec.type = CNX_RELAY_REC_PEER_LEFT;
    rec.src = b->m.addr;
    rec.src.conn += 7;
    rec.dst = a->m.addr;
    rec.room = room;
    rec.room_len = strlen(room);
    cnx_relay_core_record(sim.proc[0].core, &a->m, &rec);
    rec.type = CNX_RELAY_REC_DATA_TEXT;
    rec.payload = (const uint8_t *) "x";
    rec.payload_len = 1;
    cnx_relay_core_record(sim.proc[0].core, &a->m, &rec);
    rec.src = b->m.addr;
    rec.room = "other";
    rec.room_len = 5;
    cnx_relay_core_record(sim.proc[0].core, &a->m, &rec);
    cnx_relay_core_record(sim.proc[0].core, NULL, &rec);
    expect_empty(a);
    ck_assert_uint_eq(a->m.dir.nrooms, 1);
}
END_TEST

/*
 * A member on another relay node (proc 2) is a remote member like any
 * other: the same rules, and a record counts as its sender's only with
 * the sender's node too.
 */
START_TEST(test_other_node)
{
    sim_sock_t       *a, *b;
    char              room[65], line[256];
    cnx_relay_rec_t   rec;

    join_rules(0, 2);
    data_rules(2, 0);
    flow_rules(0, 2);

    pair(&a, &b, 0, 2, room);
    ck_assert_uint_eq(b->m.addr.node, SIM_NODE);
    memset(&rec, 0, sizeof(rec));
    rec.type = CNX_RELAY_REC_DATA_TEXT;
    rec.src = b->m.addr;
    rec.src.node = 0;                   /* the same worker here */
    rec.dst = a->m.addr;
    rec.room = room;
    rec.room_len = strlen(room);
    rec.payload = (const uint8_t *) "x";
    rec.payload_len = 1;
    cnx_relay_core_record(sim.proc[0].core, &a->m, &rec);
    rec.src.node = SIM_NODE + 1;        /* another node */
    cnx_relay_core_record(sim.proc[0].core, &a->m, &rec);
    rec.type = CNX_RELAY_REC_PEER_LEFT;
    rec.payload = NULL;
    rec.payload_len = 0;
    cnx_relay_core_record(sim.proc[0].core, &a->m, &rec);
    expect_empty(a);
    ck_assert_uint_eq(a->m.dir.nrooms, 1);

    /* the node dies: its members leave this node's rooms */
    sim_kill(&sim, 2);
    snprintf(line, sizeof(line), "PEER_LEFT %s", room);
    expect(a, line);
    ck_assert_uint_eq(a->m.dir.nrooms, 0);
    ck_assert_int_eq(sim.remotes, 0);
}
END_TEST

int
main(void)
{
    Suite    *s = suite_create("relay_core");
    TCase    *tc = tcase_create("core");
    SRunner  *sr;
    int       failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_register);
    tcase_add_test(tc, test_messages);
    tcase_add_test(tc, test_register_first);
    tcase_add_test(tc, test_join_local);
    tcase_add_test(tc, test_join_remote);
    tcase_add_test(tc, test_data_local);
    tcase_add_test(tc, test_data_remote);
    tcase_add_test(tc, test_quota_local);
    tcase_add_test(tc, test_quota_remote);
    tcase_add_test(tc, test_replaced_local);
    tcase_add_test(tc, test_replaced_remote);
    tcase_add_test(tc, test_flow_local);
    tcase_add_test(tc, test_flow_remote);
    tcase_add_test(tc, test_process_dies);
    tcase_add_test(tc, test_incoming_target_gone);
    tcase_add_test(tc, test_spoofed_records);
    tcase_add_test(tc, test_other_node);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
