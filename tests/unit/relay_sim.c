/*
 * A simulated relay around cnx_relay_core (see relay_sim.h).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_jwt.h"
#include "relay_sim.h"

typedef struct sim_remote_s  sim_remote_t;

struct sim_remote_s {
    cnx_relay_member_t   m;
    sim_t               *sim;
    int                  proc;          /* where this stand-in lives */
    sim_remote_t        *next, *prev;
};


static void
sim_log(sim_sock_t *s, const char *fmt, const char *a, const char *b)
{
    int  n;

    n = snprintf(s->log + s->log_len, sizeof(s->log) - s->log_len, fmt,
                 a ? a : "", b ? b : "");
    if (n < 0 || (size_t) n >= sizeof(s->log) - s->log_len) {
        abort();                        /* a test logs too much */
    }
    s->log_len += (size_t) n;
}


/*
 * Every socket ever opened has its own address, as nginx's are.  The last
 * process stands for a worker of another relay node of a cluster: its
 * addresses carry a node id (what the other nodes see), and otherwise the
 * same worker, pid and conn numbers as this node's could.
 */
static void
sim_addr(sim_t *sim, cnx_relay_addr_t *a, int proc)
{
    memset(a, 0, sizeof(*a));
    a->node = proc == SIM_PROCS - 1 ? SIM_NODE : 0;
    a->gen = 1;
    a->worker = proc;
    a->pid = 1000 + proc;
    a->conn = ++sim->opens;
}


/* Local members: what the client is sent. */

static int
local_incoming(cnx_relay_member_t *to, cnx_dir_room_t *r,
    cnx_relay_member_t *from)
{
    (void) from;
    sim_log(to->data, "INCOMING %s %s\n", r->id, r->name[0]);
    return CNX_RELAY_OP_OK;
}


static void
local_joined(cnx_relay_member_t *to, cnx_dir_room_t *r,
    cnx_relay_member_t *from)
{
    sim_log(to->data, "JOINED %s %s\n", r->id,
            r->name[cnx_dir_room_side(r, &from->dir)]);
}


static void
local_peer_left(cnx_relay_member_t *to, cnx_dir_room_t *r,
    cnx_relay_member_t *from)
{
    (void) from;
    sim_log(to->data, "PEER_LEFT %s%s\n", r->id, NULL);
}


static void
local_refused(cnx_relay_member_t *to, const char *id, size_t len,
    const char *code, const cnx_relay_addr_t *from)
{
    (void) to; (void) id; (void) len; (void) code; (void) from;
    abort();                            /* the core answers locally */
}


static int
local_data(cnx_relay_member_t *to, cnx_dir_room_t *r,
    cnx_relay_member_t *from, int binary, const uint8_t *p, size_t n)
{
    sim_sock_t  *s = to->data;
    char         buf[256];
    size_t       k = n < sizeof(buf) - 1 ? n : sizeof(buf) - 1;

    (void) from;
    s->ndata++;
    if (s->sim->on_data != NULL) {
        return s->sim->on_data(s->sim, s, r, binary, p, n);
    }
    memcpy(buf, p, k);
    buf[k] = '\0';
    sim_log(s, binary ? "BDATA %s %s\n" : "DATA %s %s\n", r->id, buf);
    return CNX_RELAY_OP_OK;
}


static void
local_replaced(cnx_relay_member_t *to, cnx_relay_member_t *by)
{
    (void) by;
    sim_log(to->data, "ERROR REPLACED%s%s\n", NULL, NULL);
}


static void
local_flow(cnx_relay_member_t *to, cnx_dir_room_t *r, int full)
{
    sim_sock_t  *s = to->data;

    (void) r; (void) full;
    if (s->paused != (to->nblocked > 0)) {
        s->paused = to->nblocked > 0;
        sim_log(s, s->paused ? "PAUSE%s%s\n" : "RESUME%s%s\n", NULL, NULL);
    }
}


static void
local_reply(cnx_relay_member_t *to, cnx_relay_type_t type, const char *code,
    const char *text)
{
    (void) text;
    switch (type) {
    case CNX_RELAY_REGISTERED:
        sim_log(to->data, "REGISTERED %s%s\n", to->name, NULL);
        break;
    case CNX_RELAY_PONG:
        sim_log(to->data, "PONG%s%s\n", NULL, NULL);
        break;
    default:
        sim_log(to->data, "ERROR %s%s\n", code, NULL);
    }
}


static void
local_unused(cnx_relay_member_t *m)
{
    (void) m;
    abort();                            /* never for a local member */
}


static const cnx_relay_member_ops_t  local_ops = {
    local_incoming, local_joined, local_peer_left, local_refused,
    local_data, local_replaced, local_flow, local_reply, local_unused
};


/* Remote members: records for the process the socket lives in. */

static void
send_rec(cnx_relay_member_t *to, cnx_relay_rec_type_t type,
    const cnx_relay_addr_t *from, const char *room, size_t room_len,
    const char *name, size_t name_len, unsigned flags, const uint8_t *p,
    size_t n)
{
    sim_remote_t     *x = (sim_remote_t *) to;
    sim_t            *sim = x->sim;
    cnx_relay_rec_t   rec, back;
    uint8_t          *buf;
    long              len;

    memset(&rec, 0, sizeof(rec));
    rec.type = type;
    rec.flags = flags;
    if (from != NULL) {
        rec.src = *from;
    }
    rec.dst = to->addr;
    rec.room = room;
    rec.room_len = room_len;
    rec.name = name;
    rec.name_len = name_len;
    rec.payload = p;
    rec.payload_len = n;

    buf = malloc(cnx_relay_rec_size(&rec));
    len = buf ? cnx_relay_rec_encode(&rec, buf, cnx_relay_rec_size(&rec))
              : -1;
    if (len < 0 || (size_t) len != cnx_relay_rec_size(&rec)
        || cnx_relay_rec_decode(buf, (size_t) len, 1 << 24, &back) != 0
        || back.type != type || (sim->qtail + 1) % 1024 == sim->qhead)
    {
        abort();
    }
    sim->q[sim->qtail] = buf;
    sim->qlen[sim->qtail] = (size_t) len;
    sim->qtail = (sim->qtail + 1) % 1024;
    sim->records++;
}


static int
remote_incoming(cnx_relay_member_t *to, cnx_dir_room_t *r,
    cnx_relay_member_t *from)
{
    send_rec(to, CNX_RELAY_REC_INCOMING, &from->addr, r->id, r->id_len,
             from->name, from->name_len, from->binary, NULL, 0);
    return CNX_RELAY_OP_OK;
}


static void
remote_joined(cnx_relay_member_t *to, cnx_dir_room_t *r,
    cnx_relay_member_t *from)
{
    send_rec(to, CNX_RELAY_REC_JOINED, &from->addr, r->id, r->id_len, NULL, 0,
             from->binary, NULL, 0);
}


static void
remote_peer_left(cnx_relay_member_t *to, cnx_dir_room_t *r,
    cnx_relay_member_t *from)
{
    send_rec(to, CNX_RELAY_REC_PEER_LEFT, &from->addr, r->id, r->id_len, NULL, 0,
             0, NULL, 0);
}


static void
remote_refused(cnx_relay_member_t *to, const char *id, size_t len,
    const char *code, const cnx_relay_addr_t *from)
{
    send_rec(to, CNX_RELAY_REC_REFUSED, from, id, len, code, strlen(code),
             0, NULL, 0);
}


static int
remote_data(cnx_relay_member_t *to, cnx_dir_room_t *r,
    cnx_relay_member_t *from, int binary, const uint8_t *p, size_t n)
{
    send_rec(to, binary ? CNX_RELAY_REC_DATA_BIN : CNX_RELAY_REC_DATA_TEXT,
             &from->addr, r->id, r->id_len, NULL, 0, 0, p, n);
    return CNX_RELAY_OP_OK;
}


static void
remote_replaced(cnx_relay_member_t *to, cnx_relay_member_t *by)
{
    send_rec(to, CNX_RELAY_REC_REPLACED, &by->addr, NULL, 0, by->name,
             by->name_len, 0, NULL, 0);
}


static void
remote_flow(cnx_relay_member_t *to, cnx_dir_room_t *r, int full)
{
    cnx_dir_member_t  *from = cnx_dir_room_peer(r, &to->dir);

    send_rec(to, CNX_RELAY_REC_FLOW,
             &((cnx_relay_member_t *) from->session)->addr, r->id, r->id_len, NULL, 0,
             full ? CNX_RELAY_REC_F_SET : 0, NULL, 0);
}


static void
remote_reply(cnx_relay_member_t *to, cnx_relay_type_t type,
    const char *code, const char *text)
{
    (void) to; (void) type; (void) code; (void) text;
    abort();                            /* never for a remote member */
}


static void
remote_unused(cnx_relay_member_t *m)
{
    sim_remote_t  *x = (sim_remote_t *) m;

    if (m->dir.nrooms != 0) {
        abort();
    }
    if (x->prev) {
        x->prev->next = x->next;
    } else {
        x->sim->rlist = x->next;
    }
    if (x->next) {
        x->next->prev = x->prev;
    }
    x->sim->remotes--;
    free(x);
}


static const cnx_relay_member_ops_t  remote_ops = {
    remote_incoming, remote_joined, remote_peer_left, remote_refused,
    remote_data, remote_replaced, remote_flow, remote_reply, remote_unused
};


static cnx_relay_member_t *
remote_new(sim_t *sim, int proc, const cnx_relay_addr_t *a, int binary)
{
    sim_remote_t  *x = calloc(1, sizeof(*x));

    if (x == NULL) {
        abort();
    }
    cnx_relay_member_init(&x->m, &remote_ops, NULL, NULL, a, 1);
    x->m.binary = binary ? 1 : 0;
    x->sim = sim;
    x->proc = proc;
    x->next = sim->rlist;
    if (x->next) {
        x->next->prev = x;
    }
    sim->rlist = x;
    sim->remotes++;
    return &x->m;
}


/* Host operations of process p. */

static cnx_relay_member_t *
host_member(sim_proc_t *p, int owner)
{
    sim_sock_t  *s = &p->sim->sock[owner];

    if (!s->open) {
        abort();                        /* a name outlived its socket */
    }
    if (s->proc == p->proc) {
        return &s->m;
    }
    return remote_new(p->sim, p->proc, &s->m.addr, 0);
}


static cnx_relay_member_t *
host_lookup(void *host, const char *name, size_t len)
{
    sim_proc_t  *p = host;
    int          i;

    for (i = 0; i < SIM_SOCKS; i++) {
        if (p->sim->names[i].owner >= 0
            && strlen(p->sim->names[i].name) == len
            && memcmp(p->sim->names[i].name, name, len) == 0)
        {
            return host_member(p, p->sim->names[i].owner);
        }
    }
    return NULL;
}


static int
host_bind(void *host, cnx_relay_member_t *m, cnx_relay_member_t **old)
{
    sim_proc_t  *p = host;
    sim_sock_t  *s = m->data;
    int          i, free_slot = -1, prev;

    *old = NULL;
    for (i = 0; i < SIM_SOCKS; i++) {
        if (p->sim->names[i].owner < 0) {
            if (free_slot < 0) {
                free_slot = i;
            }
            continue;
        }
        if (strcmp(p->sim->names[i].name, m->name) == 0) {
            prev = p->sim->names[i].owner;
            p->sim->names[i].owner = s->id;
            if (prev != s->id) {
                *old = host_member(p, prev);
            }
            return 0;
        }
    }
    if (free_slot < 0) {
        return -1;
    }
    strcpy(p->sim->names[free_slot].name, m->name);
    p->sim->names[free_slot].owner = s->id;
    return 0;
}


static void
host_unbind(void *host, cnx_relay_member_t *m)
{
    sim_proc_t  *p = host;
    sim_sock_t  *s = m->data;
    int          i;

    for (i = 0; i < SIM_SOCKS; i++) {
        if (p->sim->names[i].owner == s->id
            && strcmp(p->sim->names[i].name, m->name) == 0)
        {
            p->sim->names[i].owner = -1;
        }
    }
}


static cnx_relay_member_t *
host_remote(void *host, const cnx_relay_addr_t *a, int binary)
{
    sim_proc_t  *p = host;

    return remote_new(p->sim, p->proc, a, binary);
}


static int
host_auth_limit(void *host, cnx_relay_member_t *m, int failed)
{
    sim_proc_t  *p = host;

    (void) m;
    if (failed) {
        p->sim->auth_fails++;
        return 0;
    }
    return p->sim->auth_blocked ? -1 : 0;
}


static int64_t
host_now(void *host)
{
    (void) host;
    return SIM_NOW;
}


static const cnx_relay_host_ops_t  host_ops = {
    host_lookup, host_bind, host_unbind, host_remote, host_auth_limit,
    host_now
};


void
sim_init(sim_t *sim, int max_lifetime)
{
    int                  i;
    cnx_relay_limits_t  *lim = &sim->lim;

    memset(sim, 0, sizeof(*sim));
    lim->max_rooms = 4;
    lim->max_pending = 3;
    lim->max_incoming = 3;
    lim->max_pair = 2;
    lim->jwt_key = (const uint8_t *) SIM_KEY;
    lim->jwt_key_len = strlen(SIM_KEY);
    lim->jwt_leeway = 30;
    lim->jwt_max_lifetime = max_lifetime;

    for (i = 0; i < SIM_PROCS; i++) {
        sim->proc[i].sim = sim;
        sim->proc[i].proc = i;
        sim->proc[i].core = cnx_relay_core_new(&host_ops, &sim->proc[i]);
        if (sim->proc[i].core == NULL) {
            abort();
        }
    }
    for (i = 0; i < SIM_SOCKS; i++) {
        sim->names[i].owner = -1;
    }
}


void
sim_free(sim_t *sim)
{
    int  i;

    for (i = 0; i < SIM_SOCKS; i++) {
        if (sim->sock[i].open && sim->proc[sim->sock[i].proc].core) {
            sim_close(sim, &sim->sock[i]);
        }
    }
    sim_run(sim);
    for (i = 0; i < SIM_PROCS; i++) {
        cnx_relay_core_free(sim->proc[i].core);
        sim->proc[i].core = NULL;
    }
}


sim_sock_t *
sim_open(sim_t *sim, int id, int proc)
{
    sim_sock_t        *s = &sim->sock[id];
    cnx_relay_addr_t   a;

    memset(s, 0, sizeof(*s));
    sim_addr(sim, &a, proc);
    cnx_relay_member_init(&s->m, &local_ops, &sim->lim, s, &a, 0);
    s->sim = sim;
    s->proc = proc;
    s->id = id;
    s->open = 1;
    return s;
}


void
sim_close(sim_t *sim, sim_sock_t *s)
{
    if (!s->open) {
        return;
    }
    cnx_relay_core_leave(sim->proc[s->proc].core, &s->m);
    s->open = 0;
}


int
sim_text(sim_t *sim, sim_sock_t *s, const char *json)
{
    int  rc;

    rc = cnx_relay_core_text(sim->proc[s->proc].core, &s->m, json,
                             strlen(json), NULL);
    if (rc == CNX_RELAY_CLOSE) {
        s->closing = 1;
    }
    return rc;
}


int
sim_bin(sim_t *sim, sim_sock_t *s, const uint8_t *p, size_t n)
{
    return cnx_relay_core_binary(sim->proc[s->proc].core, &s->m, p, n, NULL);
}


const char *
sim_token(const char *name, int64_t iat, int64_t life)
{
    static char  tok[1024];

    if (cnx_jwt_sign(tok, sizeof(tok), (const uint8_t *) SIM_KEY,
                     strlen(SIM_KEY), name, NULL, iat, iat + life) < 0)
    {
        abort();
    }
    return tok;
}


int
sim_register(sim_t *sim, sim_sock_t *s, const char *name, int binary)
{
    char  msg[2048];

    if (cnx_relay_build_register(msg, sizeof(msg), name,
                                 sim_token(name, SIM_NOW, 300), binary) < 0)
    {
        abort();
    }
    return sim_text(sim, s, msg);
}


int
sim_join(sim_t *sim, sim_sock_t *s, const char *target)
{
    char  msg[2048];

    if (cnx_relay_build_join(msg, sizeof(msg), s->m.name, target,
                             sim_token(s->m.name, SIM_NOW, 300)) < 0)
    {
        abort();
    }
    return sim_text(sim, s, msg);
}


void
sim_run(sim_t *sim)
{
    int               i;
    uint8_t          *buf;
    size_t            len;
    sim_sock_t       *to;
    cnx_relay_rec_t   rec;

    while (sim->qhead != sim->qtail) {
        buf = sim->q[sim->qhead];
        len = sim->qlen[sim->qhead];
        sim->qhead = (sim->qhead + 1) % 1024;

        if (cnx_relay_rec_decode(buf, len, 1 << 24, &rec) != 0) {
            abort();
        }
        to = NULL;
        for (i = 0; i < SIM_SOCKS; i++) {
            if (sim->sock[i].open && sim->sock[i].proc == rec.dst.worker
                && cnx_relay_addr_eq(&sim->sock[i].m.addr, &rec.dst))
            {
                to = &sim->sock[i];
            }
        }
        /* a dead process reads nothing */
        if (sim->proc[rec.dst.worker].core != NULL) {
            cnx_relay_core_record(sim->proc[rec.dst.worker].core,
                                  to ? &to->m : NULL, &rec);
        }
        free(buf);
    }
}


void
sim_kill(sim_t *sim, int proc)
{
    int            i;
    sim_remote_t  *x, *next;

    for (i = 0; i < SIM_SOCKS; i++) {
        if (sim->names[i].owner >= 0
            && sim->sock[sim->names[i].owner].proc == proc)
        {
            sim->names[i].owner = -1;
        }
        if (sim->sock[i].open && sim->sock[i].proc == proc) {
            /* the sockets vanish without telling anyone */
            sim->sock[i].open = 0;
            cnx_dir_member_init(&sim->sock[i].m.dir, &sim->sock[i].m);
            sim->sock[i].m.nblocked = 0;
        }
    }
    /* what the dead process held goes with it */
    for (x = sim->rlist; x != NULL; x = next) {
        next = x->next;
        if (x->proc == proc) {
            x->m.dir.nrooms = 0;
            remote_unused(&x->m);
        }
    }
    cnx_relay_core_free(sim->proc[proc].core);
    sim->proc[proc].core = NULL;
    /* the others end the rooms they shared with it */
    for (x = sim->rlist; x != NULL; x = next) {
        next = x->next;
        if (x->m.addr.worker == proc) {
            cnx_relay_core_leave(sim->proc[x->proc].core, &x->m);
        }
    }
}


int
sim_take(sim_sock_t *s, const char *prefix, char *out, size_t cap)
{
    char    *p = s->log, *e;
    size_t   n, k = strlen(prefix);

    while (p < s->log + s->log_len) {
        e = memchr(p, '\n', (size_t) (s->log + s->log_len - p));
        if (e == NULL) {
            break;
        }
        if ((size_t) (e - p) >= k && memcmp(p, prefix, k) == 0) {
            n = (size_t) (e - p);
            if (out != NULL) {
                if (n >= cap) {
                    n = cap - 1;
                }
                memcpy(out, p, n);
                out[n] = '\0';
            }
            e++;
            n = (size_t) (s->log + s->log_len - e);
            memmove(s->log, e, n);
            s->log_len = n;
            s->log[n] = '\0';
            return 1;
        }
        p = e + 1;
    }
    return 0;
}


void
sim_clear(sim_sock_t *s)
{
    s->log_len = 0;
    s->log[0] = '\0';
}


void
sim_room_of(const char *line, char *id, size_t cap)
{
    const char  *p = strchr(line, ' ');
    size_t       n = 0;

    if (p == NULL) {
        abort();
    }
    p++;
    while (p[n] && p[n] != ' ' && n + 1 < cap) {
        id[n] = p[n];
        n++;
    }
    id[n] = '\0';
}
