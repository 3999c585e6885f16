/*
 * cnx_relay_core: the relay protocol's rules (see the header).
 */

#include <stdlib.h>
#include <string.h>

#include "cnx_jwt.h"
#include "cnx_relay_core.h"
#include "cnx_utf8.h"

struct cnx_relay_core_s {
    cnx_dir_t             *dir;
    cnx_relay_host_ops_t   host;
    void                  *host_data;
    cnx_relay_stats_t      stats;
};

/* Results of auth(). */
#define AUTH_OK        0
#define AUTH_REFUSED  (-1)
#define AUTH_LIMITED  (-2)


cnx_relay_core_t *
cnx_relay_core_new(const cnx_relay_host_ops_t *host, void *host_data)
{
    cnx_relay_core_t  *core;

    core = calloc(1, sizeof(*core));
    if (core == NULL) {
        return NULL;
    }
    core->dir = cnx_dir_new();
    if (core->dir == NULL) {
        free(core);
        return NULL;
    }
    core->host = *host;
    core->host_data = host_data;
    return core;
}


void
cnx_relay_core_free(cnx_relay_core_t *core)
{
    if (core == NULL) {
        return;
    }
    cnx_dir_free(core->dir);
    free(core);
}


cnx_dir_t *
cnx_relay_core_dir(cnx_relay_core_t *core)
{
    return core->dir;
}


const cnx_relay_stats_t *
cnx_relay_core_stats(const cnx_relay_core_t *core)
{
    return &core->stats;
}


void
cnx_relay_member_init(cnx_relay_member_t *m,
    const cnx_relay_member_ops_t *ops, const cnx_relay_limits_t *lim,
    void *data, const cnx_relay_addr_t *addr, int remote)
{
    memset(m, 0, sizeof(*m));
    cnx_dir_member_init(&m->dir, m);
    m->ops = ops;
    m->lim = lim;
    m->data = data;
    if (addr != NULL) {
        m->addr = *addr;
    }
    m->remote = remote ? 1 : 0;
}


static cnx_relay_member_t *
member_of(cnx_dir_member_t *d)
{
    return d != NULL ? d->session : NULL;
}


static cnx_relay_member_t *
peer_of(cnx_dir_room_t *r, cnx_relay_member_t *m)
{
    return member_of(cnx_dir_room_peer(r, &m->dir));
}


static void
reply_error(cnx_relay_core_t *core, cnx_relay_member_t *m, const char *code,
    const char *text)
{
    core->stats.errors++;
    m->ops->reply(m, CNX_RELAY_ERROR, code, text);
}


/* A remote member no room refers to is given back to the host. */
static void
release_if_unused(cnx_relay_member_t *m)
{
    if (m != NULL && m->remote && m->dir.nrooms == 0) {
        m->ops->unused(m);
    }
}


/* Member s of r was held back for sending into r; it may go on. */
static void
release_held(cnx_dir_room_t *r, int s)
{
    cnx_relay_member_t  *o = member_of(r->member[s]);

    if (!r->held[s]) {
        return;
    }
    r->held[s] = 0;
    o->nblocked--;
    if (!o->remote) {
        o->ops->flow(o, r, 0);
    }
}


/*
 * Member s of room r is full (1) or not (0).  A member elsewhere is told
 * (it holds back its own socket there); a member here that was held back
 * for sending into r goes on.
 */
static void
set_full(cnx_dir_room_t *r, int s, int full)
{
    cnx_relay_member_t  *o;

    if (r->full[s] == full) {
        return;
    }
    r->full[s] = (unsigned char) full;
    o = member_of(r->member[1 - s]);
    if (o->remote) {
        o->ops->flow(o, r, full);
    } else if (!full) {
        release_held(r, 1 - s);
    }
}


/*
 * m (side s) just sent DATA into r: while the other member is full, m is
 * held back (its socket is not read) until that one drains.  Only senders
 * into a full member wait; what else they take part in does not matter.
 */
static void
hold_if_full(cnx_dir_room_t *r, int s)
{
    cnx_relay_member_t  *m = member_of(r->member[s]);

    if (r->full[1 - s] && !r->held[s] && !m->remote) {
        r->held[s] = 1;
        m->nblocked++;
        m->ops->flow(m, r, 1);
    }
}


/*
 * Removes r.  Its remote members that no other room refers to are given
 * back, except keep (which the caller is still using).
 */
static void
room_remove(cnx_relay_core_t *core, cnx_dir_room_t *r,
    cnx_relay_member_t *keep)
{
    int                  s;
    cnx_relay_member_t  *m[2], *o;

    for (s = 0; s < 2; s++) {
        m[s] = member_of(r->member[s]);
    }
    for (s = 0; s < 2; s++) {
        r->full[s] = 0;
        if (r->held[s]) {
            r->held[s] = 0;
            o = m[s];
            o->nblocked--;
            if (!o->remote) {
                o->ops->flow(o, r, 0);
            }
        }
    }
    cnx_dir_room_remove(core->dir, r);
    for (s = 0; s < 2; s++) {
        if (m[s] != keep) {
            release_if_unused(m[s]);
        }
    }
}


/*
 * A room just became active and its members know: one that is full
 * already holds the other back.
 */
static void
room_flow_init(cnx_dir_room_t *r)
{
    int  s;

    for (s = 0; s < 2; s++) {
        if (member_of(r->member[s])->full) {
            set_full(r, s, 1);
        }
    }
}


/*
 * Room id[0..len) of m in the wanted state; side -1: either side.  NULL
 * after answering NOT_REGISTERED or ROOM_NOT_FOUND.
 */
static cnx_dir_room_t *
room_for(cnx_relay_core_t *core, cnx_relay_member_t *m, const char *id,
    size_t len, int side, cnx_dir_room_state_e state)
{
    int              s;
    cnx_dir_room_t  *r;

    if (!m->registered && m->dir.nrooms == 0) {
        reply_error(core, m, CNX_RELAY_ERR_NOT_REGISTERED, "REGISTER first");
        return NULL;
    }
    r = cnx_dir_room_get(core->dir, id, len);
    s = r != NULL ? cnx_dir_room_side(r, &m->dir) : -1;
    if (r == NULL || r->state != state || s < 0 || (side >= 0 && s != side)) {
        reply_error(core, m, CNX_RELAY_ERR_ROOM_NOT_FOUND,
              "no such room for this connection");
        return NULL;
    }
    return r;
}


static int
auth(cnx_relay_core_t *core, cnx_relay_member_t *m, const cnx_relay_msg_t *msg,
    const char **why)
{
    int               rc;
    cnx_jwt_expect_t  want;
    void             *h = core->host_data;

    if (core->host.auth_limit != NULL && core->host.auth_limit(h, m, 0) != 0) {
        reply_error(core, m, CNX_RELAY_ERR_RATE_LIMITED,
              "too many failed authentications from this address");
        *why = "too many failed authentications";
        return AUTH_LIMITED;
    }

    memset(&want, 0, sizeof(want));
    want.sub = msg->claw_id_s;
    want.iss = m->lim->jwt_issuer;
    want.leeway = m->lim->jwt_leeway;
    want.max_lifetime = m->lim->jwt_max_lifetime;
    want.prev_key = m->lim->jwt_prev_key;
    want.prev_keylen = m->lim->jwt_prev_key_len;

    rc = cnx_jwt_verify(msg->auth_token.p, msg->auth_token.len,
                        m->lim->jwt_key, m->lim->jwt_key_len, &want,
                        core->host.now(h), NULL);
    if (rc != CNX_JWT_OK) {
        core->stats.auth_failures++;
        reply_error(core, m, CNX_RELAY_ERR_AUTH_FAILED, cnx_jwt_strerror(rc));
        if (core->host.auth_limit != NULL) {
            (void) core->host.auth_limit(h, m, 1);
        }
        *why = "authentication failed";
        return AUTH_REFUSED;
    }
    return AUTH_OK;
}


/*
 * o's name has a newer owner: o gives it up and drops the JOINs it is
 * still waiting for (a replaced socket keeps no claim on other targets).
 */
static void
replaced_local(cnx_relay_core_t *core, cnx_relay_member_t *o,
    cnx_relay_member_t *by)
{
    cnx_dir_room_t      *r, *next;
    cnx_relay_member_t  *t;

    if (!o->registered) {
        return;
    }
    o->registered = 0;
    for (r = cnx_dir_member_first(&o->dir); r != NULL; r = next) {
        next = cnx_dir_room_next(r, &o->dir);
        if (r->state == CNX_DIR_ROOM_PENDING && member_of(r->member[0]) == o)
        {
            t = member_of(r->member[1]);
            t->ops->peer_left(t, r, o);
            room_remove(core, r, NULL);
        }
    }
    o->ops->replaced(o, by);
}


static int
do_register(cnx_relay_core_t *core, cnx_relay_member_t *m,
    const cnx_relay_msg_t *msg, const char **why)
{
    size_t               len;
    cnx_relay_member_t  *old;

    /*
     * A refused REGISTER closes the socket too: a client whose token went
     * stale then reconnects and fetches a new one, instead of waiting on a
     * socket where nothing will happen.
     */
    if (auth(core, m, msg, why) != AUTH_OK) {
        return CNX_RELAY_CLOSE;
    }

    len = strlen(msg->claw_id_s);
    if (m->registered
        && (len != m->name_len || memcmp(m->name, msg->claw_id_s, len) != 0))
    {
        core->host.unbind(core->host_data, m);
        m->registered = 0;
    }
    memcpy(m->name, msg->claw_id_s, len + 1);
    m->name_len = len;

    old = NULL;
    if (core->host.bind(core->host_data, m, &old) != 0) {
        m->registered = 0;
        reply_error(core, m, CNX_RELAY_ERR_INTERNAL, "cannot register");
        return CNX_RELAY_CONTINUE;
    }
    m->registered = 1;
    m->ever = 1;
    m->binary = msg->binary == 1;

    if (old != NULL && old != m) {
        if (old->remote) {
            old->ops->replaced(old, m);
            release_if_unused(old);
        } else {
            replaced_local(core, old, m);
        }
    }

    core->stats.registrations++;
    m->ops->reply(m, CNX_RELAY_REGISTERED, NULL, NULL);
    return CNX_RELAY_CONTINUE;
}


/* Whether target t can take one more JOIN: NULL, or the ERROR code. */
static const char *
admits(cnx_relay_member_t *t)
{
    if (t->dir.nincoming >= t->lim->max_incoming) {
        return CNX_RELAY_ERR_TOO_MANY_PENDING;
    }
    return NULL;
}


/* JOINs of m to the target named name that wait for an answer. */
static unsigned
pending_to(cnx_relay_member_t *m, const char *name, size_t len)
{
    unsigned         n = 0;
    cnx_dir_room_t  *r;

    for (r = cnx_dir_member_first(&m->dir); r != NULL;
         r = cnx_dir_room_next(r, &m->dir))
    {
        if (r->state == CNX_DIR_ROOM_PENDING && r->member[0] == &m->dir
            && r->name_len[1] == len && memcmp(r->name[1], name, len) == 0)
        {
            n++;
        }
    }
    return n;
}


static int
do_join(cnx_relay_core_t *core, cnx_relay_member_t *m,
    const cnx_relay_msg_t *msg, const char **why)
{
    int                  i;
    char                 id[CNX_RELAY_ROOM_ID_NEW_LEN + 1];
    size_t               tlen;
    const char          *code, *text;
    cnx_dir_room_t      *r;
    cnx_relay_member_t  *t;

    if (!m->registered) {
        reply_error(core, m, CNX_RELAY_ERR_NOT_REGISTERED, "REGISTER first");
        return CNX_RELAY_CONTINUE;
    }
    if (strcmp(msg->claw_id_s, m->name) != 0) {
        reply_error(core, m, CNX_RELAY_ERR_AUTH_FAILED,
              "claw_id is not the registered one");
        return CNX_RELAY_CONTINUE;
    }
    switch (auth(core, m, msg, why)) {
    case AUTH_OK:
        break;
    case AUTH_LIMITED:
        return CNX_RELAY_CLOSE;
    default:
        return CNX_RELAY_CONTINUE;
    }

    tlen = strlen(msg->target_claw_id_s);
    t = core->host.lookup(core->host_data, msg->target_claw_id_s, tlen);
    if (t == NULL) {
        reply_error(core, m, CNX_RELAY_ERR_TARGET_OFFLINE,
              "target is not connected");
        return CNX_RELAY_CONTINUE;
    }
    if (t == m) {
        reply_error(core, m, CNX_RELAY_ERR_BAD_MESSAGE, "cannot join yourself");
        return CNX_RELAY_CONTINUE;
    }

    code = NULL;
    text = NULL;
    if (m->dir.npending >= m->lim->max_pending) {
        code = CNX_RELAY_ERR_TOO_MANY_PENDING;
        text = "too many JOINs waiting for an answer";
    } else if (m->dir.nopened >= m->lim->max_rooms) {
        code = CNX_RELAY_ERR_TOO_MANY_ROOMS;
        text = "too many rooms";
    } else if (pending_to(m, msg->target_claw_id_s, tlen)
               >= m->lim->max_pair)
    {
        code = CNX_RELAY_ERR_TOO_MANY_PENDING;
        text = "too many JOINs to this target waiting for an answer";
    } else if (!t->remote && (code = admits(t)) != NULL) {
        text = "the target cannot take this room";
    }
    if (code != NULL) {
        release_if_unused(t);
        reply_error(core, m, code, text);
        return CNX_RELAY_CONTINUE;
    }

    r = NULL;
    for (i = 0; i < 4 && r == NULL; i++) {
        cnx_relay_room_id_new(id);
        r = cnx_dir_room_create(core->dir, id, CNX_RELAY_ROOM_ID_NEW_LEN,
                                &m->dir, m->name, m->name_len, &t->dir,
                                msg->target_claw_id_s, tlen);
    }
    if (r == NULL) {
        release_if_unused(t);
        reply_error(core, m, CNX_RELAY_ERR_INTERNAL, "cannot create a room");
        return CNX_RELAY_CONTINUE;
    }

    if (t->ops->incoming(t, r, m) != CNX_RELAY_OP_OK) {
        room_remove(core, r, NULL);
        reply_error(core, m, CNX_RELAY_ERR_TARGET_OFFLINE,
              "target is not reachable");
    }
    return CNX_RELAY_CONTINUE;
}


static void
do_accept(cnx_relay_core_t *core, cnx_relay_member_t *m, const char *id,
    int reject)
{
    cnx_dir_room_t      *r;
    cnx_relay_member_t  *ini;

    r = room_for(core, m, id, strlen(id), 1, CNX_DIR_ROOM_PENDING);
    if (r == NULL) {
        return;
    }
    ini = member_of(r->member[0]);

    if (reject) {
        ini->ops->peer_left(ini, r, m);
        room_remove(core, r, NULL);
        return;
    }

    cnx_dir_room_activate(r);
    core->stats.rooms_total++;
    /*
     * The initiator learns the room id first, then the acceptor; across
     * processes the JOINED and the acceptor's next DATA travel in order,
     * so the initiator still sees JOINED first.
     */
    ini->ops->joined(ini, r, m);
    m->ops->joined(m, r, ini);
    room_flow_init(r);
}


static void
do_data(cnx_relay_core_t *core, cnx_relay_member_t *m, const char *id,
    size_t len, int binary, const uint8_t *p, size_t n)
{
    cnx_dir_room_t      *r;
    cnx_relay_member_t  *to;

    r = room_for(core, m, id, len, -1, CNX_DIR_ROOM_ACTIVE);
    if (r == NULL) {
        return;
    }
    to = peer_of(r, m);

    /* a peer that reads JSON only can be given text payloads */
    if (binary && !to->binary && !cnx_utf8_valid(p, n)) {
        reply_error(core, m, CNX_RELAY_ERR_BAD_MESSAGE,
              "peer reads JSON only and the payload is not UTF-8");
        return;
    }
    if (to->ops->data(to, r, m, binary, p, n) != CNX_RELAY_OP_OK) {
        reply_error(core, m, CNX_RELAY_ERR_INTERNAL, "cannot forward");
        return;
    }
    hold_if_full(r, cnx_dir_room_side(r, &m->dir));
    core->stats.messages++;
    core->stats.bytes += n;
}


int
cnx_relay_core_text(cnx_relay_core_t *core, cnx_relay_member_t *m,
    const char *p, size_t n, const char **why)
{
    int               rc;
    const char       *w = NULL;
    cnx_relay_msg_t   msg;
    cnx_relay_data_t  d;

    /* most messages are DATA in the usual shape: no full parse needed */
    if (cnx_relay_data_parse(p, n, &d)) {
        do_data(core, m, d.room_id.p, d.room_id.len, 0,
                (const uint8_t *) d.payload.p, d.payload.len);
        return CNX_RELAY_CONTINUE;
    }

    rc = cnx_relay_msg_parse(p, n, &msg);
    if (rc != CNX_RELAY_OK) {
        reply_error(core, m, CNX_RELAY_ERR_BAD_MESSAGE,
              rc == CNX_RELAY_EJSON ? "not a JSON object"
              : rc == CNX_RELAY_ETYPE ? "unknown or missing type"
              : "missing or invalid field");
        return CNX_RELAY_CONTINUE;
    }

    rc = CNX_RELAY_CONTINUE;
    switch (msg.type) {
    case CNX_RELAY_PING:
        m->ops->reply(m, CNX_RELAY_PONG, NULL, NULL);
        break;
    case CNX_RELAY_PONG:
        break;
    case CNX_RELAY_REGISTER:
        rc = do_register(core, m, &msg, &w);
        break;
    case CNX_RELAY_JOIN:
        rc = do_join(core, m, &msg, &w);
        break;
    case CNX_RELAY_ACCEPT:
    case CNX_RELAY_REJECT:
        do_accept(core, m, msg.room_id_s, msg.type == CNX_RELAY_REJECT);
        break;
    case CNX_RELAY_DATA:
        do_data(core, m, msg.room_id_s, strlen(msg.room_id_s), 0,
                (const uint8_t *) msg.payload.p, msg.payload.len);
        break;
    default:
        reply_error(core, m, CNX_RELAY_ERR_BAD_MESSAGE,
              "a client cannot send this type");
        break;
    }
    if (why != NULL) {
        *why = rc == CNX_RELAY_CLOSE ? w : NULL;
    }
    return rc;
}


int
cnx_relay_core_binary(cnx_relay_core_t *core, cnx_relay_member_t *m,
    const uint8_t *p, size_t n, const char **why)
{
    size_t          room_len, len;
    const uint8_t  *room, *payload;

    if (why != NULL) {
        *why = NULL;
    }
    if (cnx_relay_bin_parse(p, n, &room, &room_len, &payload, &len) != 0) {
        reply_error(core, m, CNX_RELAY_ERR_BAD_MESSAGE, "bad binary frame");
        return CNX_RELAY_CONTINUE;
    }
    do_data(core, m, (const char *) room, room_len, 1, payload, len);
    return CNX_RELAY_CONTINUE;
}


/*
 * The room a record names, if to is in it and its other member is the
 * record's sender; NULL otherwise.
 */
static cnx_dir_room_t *
rec_room(cnx_relay_core_t *core, cnx_relay_member_t *to,
    const cnx_relay_rec_t *rec)
{
    cnx_dir_room_t      *r;
    cnx_relay_member_t  *p;

    if (to == NULL) {
        return NULL;
    }
    r = cnx_dir_room_get(core->dir, rec->room, rec->room_len);
    if (r == NULL) {
        return NULL;
    }
    p = peer_of(r, to);
    if (p == NULL || !p->remote || !cnx_relay_addr_eq(&p->addr, &rec->src)) {
        return NULL;
    }
    return r;
}


static void
rec_incoming(cnx_relay_core_t *core, cnx_relay_member_t *to,
    const cnx_relay_rec_t *rec)
{
    const char          *code;
    cnx_dir_room_t      *r;
    cnx_relay_member_t  *px;

    px = core->host.remote(core->host_data, &rec->src,
                           rec->flags & CNX_RELAY_REC_F_SET);
    if (px == NULL) {
        return;
    }
    if (rec->name_len > CNX_RELAY_CLAW_ID_MAX) {
        px->ops->unused(px);
        return;
    }
    memcpy(px->name, rec->name, rec->name_len);
    px->name[rec->name_len] = '\0';
    px->name_len = rec->name_len;

    r = NULL;
    if (to == NULL) {
        code = CNX_RELAY_ERR_TARGET_OFFLINE;
    } else if ((code = admits(to)) == NULL) {
        r = cnx_dir_room_create(core->dir, rec->room, rec->room_len,
                                &px->dir, px->name, px->name_len, &to->dir,
                                to->name, to->name_len);
        if (r == NULL) {
            code = CNX_RELAY_ERR_INTERNAL;
        }
    }
    if (code != NULL) {
        px->ops->refused(px, rec->room, rec->room_len, code, &rec->dst);
        px->ops->unused(px);
        return;
    }
    if (to->ops->incoming(to, r, px) != CNX_RELAY_OP_OK) {
        px->ops->refused(px, rec->room, rec->room_len,
                         CNX_RELAY_ERR_INTERNAL, &rec->dst);
        room_remove(core, r, NULL);
    }
}


void
cnx_relay_core_record(cnx_relay_core_t *core, cnx_relay_member_t *to,
    const cnx_relay_rec_t *rec)
{
    int                  full;
    char                 code[CNX_RELAY_CODE_MAX + 1];
    cnx_dir_room_t      *r;
    cnx_relay_member_t  *p;

    switch (rec->type) {
    case CNX_RELAY_REC_INCOMING:
        rec_incoming(core, to, rec);
        return;

    case CNX_RELAY_REC_REPLACED:
        /*
         * Only if to still has that name and the directory says someone
         * else owns it: the record may have crossed to's next REGISTER.
         */
        if (to == NULL || !to->registered || rec->name_len != to->name_len
            || memcmp(rec->name, to->name, to->name_len) != 0)
        {
            return;
        }
        p = core->host.lookup(core->host_data, to->name, to->name_len);
        if (p == to) {
            return;
        }
        release_if_unused(p);
        replaced_local(core, to, NULL);
        return;

    default:
        break;
    }

    r = rec_room(core, to, rec);
    if (r == NULL) {
        return;
    }
    p = peer_of(r, to);

    switch (rec->type) {
    case CNX_RELAY_REC_REFUSED:
        if (r->state != CNX_DIR_ROOM_PENDING || r->member[0] != &to->dir
            || rec->name_len > CNX_RELAY_CODE_MAX)
        {
            return;
        }
        memcpy(code, rec->name, rec->name_len);
        code[rec->name_len] = '\0';
        room_remove(core, r, NULL);
        reply_error(core, to, code, "the target cannot take this room");
        return;

    case CNX_RELAY_REC_JOINED:
        if (r->state != CNX_DIR_ROOM_PENDING || r->member[0] != &to->dir) {
            return;
        }
        p->binary = (rec->flags & CNX_RELAY_REC_F_SET) ? 1 : 0;
        cnx_dir_room_activate(r);
        to->ops->joined(to, r, p);
        room_flow_init(r);
        return;

    case CNX_RELAY_REC_PEER_LEFT:
        to->ops->peer_left(to, r, p);
        room_remove(core, r, NULL);
        return;

    case CNX_RELAY_REC_DATA_TEXT:
    case CNX_RELAY_REC_DATA_BIN:
        if (r->state != CNX_DIR_ROOM_ACTIVE) {
            return;
        }
        (void) to->ops->data(to, r, p, rec->type == CNX_RELAY_REC_DATA_BIN,
                             rec->payload, rec->payload_len);
        return;

    case CNX_RELAY_REC_FLOW:
        if (r->state != CNX_DIR_ROOM_ACTIVE) {
            return;
        }
        full = (rec->flags & CNX_RELAY_REC_F_SET) ? 1 : 0;
        set_full(r, cnx_dir_room_side(r, &p->dir), full);
        return;

    default:
        return;
    }
}


void
cnx_relay_core_leave(cnx_relay_core_t *core, cnx_relay_member_t *m)
{
    cnx_dir_room_t      *r;
    cnx_relay_member_t  *p;

    if (m->left) {
        return;
    }
    m->left = 1;
    if (m->registered && !m->remote) {
        core->host.unbind(core->host_data, m);
    }
    m->registered = 0;

    while ((r = cnx_dir_member_first(&m->dir)) != NULL) {
        p = peer_of(r, m);
        p->ops->peer_left(p, r, m);
        room_remove(core, r, m);
    }
    if (m->remote) {
        m->ops->unused(m);
    }
}


void
cnx_relay_core_flow(cnx_relay_core_t *core, cnx_relay_member_t *m, int full)
{
    cnx_dir_room_t  *r;

    (void) core;
    full = full ? 1 : 0;
    if (m->full == (unsigned) full) {
        return;
    }
    m->full = full;
    for (r = cnx_dir_member_first(&m->dir); r != NULL;
         r = cnx_dir_room_next(r, &m->dir))
    {
        if (r->state == CNX_DIR_ROOM_ACTIVE) {
            set_full(r, cnx_dir_room_side(r, &m->dir), full);
        }
    }
}
