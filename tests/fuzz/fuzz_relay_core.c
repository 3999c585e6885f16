/*
 * Fuzz target: the relay core (cnx_relay_core.h) driven by random message
 * sequences from several sockets in three processes, which exchange real
 * records (tests/unit/relay_sim.c).
 *
 * Input: a list of operations, two bytes each (op, argument); an op may
 * take more bytes (raw messages).  Invariants checked:
 *   - DATA reaches only the other member of an active room of its sender,
 *     at most once and in the order sent (payloads carry sender and a
 *     sequence number);
 *   - a remote member exists only while a room refers to it, and nothing
 *     outlives the sockets: after every socket closed, no room, no remote
 *     member, and every counter of every member (rooms, pending, opened,
 *     incoming, blocked) is back to zero.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay_sim.h"

#define NSOCK  8

static sim_t     sim;
#define NCONN  256                      /* sockets opened per input */

static uint32_t  seq_sent;
static uint32_t  seq_seen[NCONN][NSOCK];
static char      rooms[16][CNX_RELAY_ROOM_ID_MAX + 1];
static unsigned  nrooms;

static const char  *names[] = { "a", "b", "c", "d", "a" };

static int
check_data(sim_t *s, sim_sock_t *to, cnx_dir_room_t *r, int binary,
    const uint8_t *p, size_t n)
{
    unsigned             from, seq;
    char                 buf[32];
    cnx_relay_member_t  *peer;

    (void) s;
    (void) binary;
    if (n == 0 || n >= sizeof(buf)) {
        abort();
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    /* from: the sender's connection number */
    if (sscanf(buf, "s%u.%u", &from, &seq) != 2 || from >= NCONN) {
        abort();
    }
    /* the room is active and its other member is the sender */
    peer = cnx_dir_room_peer(r, &to->m.dir)->session;
    if (r->state != CNX_DIR_ROOM_ACTIVE || peer->addr.conn != from) {
        abort();
    }
    /* once, in order */
    if (seq <= seq_seen[from][to->id]) {
        abort();
    }
    seq_seen[from][to->id] = seq;
    return CNX_RELAY_OP_OK;
}

/* Rooms a socket heard of, to answer and to send into. */
static void
harvest(sim_sock_t *s)
{
    char  line[512];

    while (sim_take(s, "INCOMING ", line, sizeof(line))
           || sim_take(s, "JOINED ", line, sizeof(line)))
    {
        sim_room_of(line, rooms[nrooms % 16], sizeof(rooms[0]));
        nrooms++;
    }
    sim_clear(s);
}

static int
usable(int i)
{
    return sim.sock[i].open && sim.proc[sim.sock[i].proc].core != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t       i = 0, k, len;
    int          j, killed = 0;
    unsigned     op, arg;
    sim_sock_t  *s;
    char         msg[512], pay[32];
    uint8_t      frame[128];

    sim_init(&sim, 86400);
    sim.on_data = check_data;
    seq_sent = 0;
    memset(seq_seen, 0, sizeof(seq_seen));
    nrooms = 0;

    while (i + 2 <= size) {
        op = data[i] % 13;
        arg = data[i + 1];
        i += 2;
        j = (int) (arg % NSOCK);
        s = &sim.sock[j];

        if (op == 0) {
            if (!s->open && sim.proc[(arg >> 3) % SIM_PROCS].core
                && sim.opens + 1 < NCONN)
            {
                sim_open(&sim, j, (int) (arg >> 3) % SIM_PROCS);
            }
            continue;
        }
        if (!usable(j)) {
            continue;
        }
        switch (op) {
        case 1:
            sim_close(&sim, s);
            break;
        case 2:
            sim_register(&sim, s, names[(arg >> 3) % 5], (arg >> 6) & 1);
            break;
        case 3:
            if (s->m.name_len) {
                sim_join(&sim, s, names[(arg >> 3) % 4]);
            }
            break;
        case 4:
        case 5:
            if (nrooms) {
                snprintf(msg, sizeof(msg), "{\"type\":\"%s\",\"room_id\":"
                         "\"%s\"}", op == 4 ? "ACCEPT" : "REJECT",
                         rooms[(arg >> 3) % (nrooms < 16 ? nrooms : 16)]);
                sim_text(&sim, s, msg);
            }
            break;
        case 6:
        case 7:
            if (nrooms) {
                snprintf(pay, sizeof(pay), "s%u.%u",
                         (unsigned) s->m.addr.conn, ++seq_sent);
                const char *room = rooms[(arg >> 3)
                                         % (nrooms < 16 ? nrooms : 16)];
                if (op == 6) {
                    snprintf(msg, sizeof(msg), "{\"type\":\"DATA\","
                             "\"room_id\":\"%s\",\"payload\":\"%s\"}",
                             room, pay);
                    sim_text(&sim, s, msg);
                } else {
                    len = cnx_relay_bin_header(frame, room, strlen(room));
                    memcpy(frame + len, pay, strlen(pay));
                    sim_bin(&sim, s, frame, len + strlen(pay));
                }
            }
            break;
        case 8:
            cnx_relay_core_flow(sim.proc[s->proc].core, &s->m, arg & 0x80);
            break;
        case 9:
            sim_run(&sim);
            break;
        case 10:
            /* raw bytes as a text or binary message */
            len = (arg >> 3) % 32;
            if (len > size - i) {
                len = size - i;
            }
            memcpy(msg, data + i, len);
            msg[len] = '\0';
            if (arg & 4) {
                sim_bin(&sim, s, (const uint8_t *) msg, len);
            } else {
                cnx_relay_core_text(sim.proc[s->proc].core, &s->m, msg, len,
                                    NULL);
            }
            i += len;
            break;
        case 11:
            sim_text(&sim, s, "{\"type\":\"PING\"}");
            break;
        case 12:
            if (!killed && (arg & 0xf0) == 0xf0) {
                killed = 1;
                sim_kill(&sim, s->proc);
            }
            break;
        }
        if ((sim.qtail + 1024 - sim.qhead) % 1024 > 512) {
            sim_run(&sim);
        }
        for (k = 0; k < NSOCK; k++) {
            if (sim.sock[k].open) {
                harvest(&sim.sock[k]);
            }
        }
    }

    sim_run(&sim);
    for (k = 0; k < NSOCK; k++) {
        if (usable((int) k)) {
            sim_close(&sim, &sim.sock[k]);
        }
    }
    sim_run(&sim);
    for (k = 0; k < SIM_PROCS; k++) {
        if (sim.proc[k].core != NULL
            && cnx_dir_room_count(cnx_relay_core_dir(sim.proc[k].core)) != 0)
        {
            abort();
        }
    }
    if (sim.remotes != 0) {
        abort();
    }
    for (k = 0; k < NSOCK; k++) {
        cnx_relay_member_t  *m = &sim.sock[k].m;

        if (m->dir.nrooms || m->dir.npending || m->dir.nopened
            || m->dir.nincoming || m->nblocked)
        {
            fprintf(stderr, "socket %zu: rooms %u pending %u opened %u "
                    "incoming %u blocked %u\n", k, m->dir.nrooms,
                    m->dir.npending, m->dir.nopened, m->dir.nincoming,
                    m->nblocked);
            abort();
        }
    }
    sim_free(&sim);
    return 0;
}
