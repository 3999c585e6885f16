/*
 * cnx_relay_rec: encode and decode relay records (see the header).
 */

#include <string.h>

#include "cnx_relay_msg.h"
#include "cnx_relay_rec.h"


static void
put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}


static void
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}


static void
put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t) (v >> 32));
    put32(p + 4, (uint32_t) v);
}


static uint32_t
get16(const uint8_t *p)
{
    return ((uint32_t) p[0] << 8) | p[1];
}


static uint32_t
get32(const uint8_t *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | p[3];
}


static uint64_t
get64(const uint8_t *p)
{
    return ((uint64_t) get32(p) << 32) | get32(p + 4);
}


static void
put_addr(uint8_t *p, const cnx_relay_addr_t *a)
{
    put64(p, a->node);
    put32(p + 8, a->gen);
    put32(p + 12, (uint32_t) a->worker);
    put32(p + 16, (uint32_t) a->pid);
    put64(p + 20, a->conn);
}


static void
get_addr(const uint8_t *p, cnx_relay_addr_t *a)
{
    a->node = get64(p);
    a->gen = get32(p + 8);
    a->worker = (int32_t) get32(p + 12);
    a->pid = (int32_t) get32(p + 16);
    a->conn = get64(p + 20);
}


/* Whether a and b name the same worker (their connections aside). */
static int
same_worker(const cnx_relay_addr_t *a, const cnx_relay_addr_t *b)
{
    return a->node == b->node && a->gen == b->gen && a->worker == b->worker
           && a->pid == b->pid;
}


int
cnx_relay_addr_eq(const cnx_relay_addr_t *a, const cnx_relay_addr_t *b)
{
    return same_worker(a, b) && a->conn == b->conn;
}


/* An ERROR code: 1..63 characters of [A-Z_]. */
static int
code_valid(const char *s, size_t n)
{
    size_t  i;

    if (n == 0 || n > CNX_RELAY_CODE_MAX) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_')) {
            return 0;
        }
    }
    return 1;
}


/* Whether the fields a record of this type carries are all valid. */
static int
fields_valid(int type, unsigned flags, const char *room, size_t room_len,
    const char *name, size_t name_len, size_t payload_len)
{
    if (type < CNX_RELAY_REC_INCOMING || type > CNX_RELAY_REC_TYPE_MAX
        || (flags & ~(unsigned) CNX_RELAY_REC_F_SET) != 0)
    {
        return 0;
    }
    if (flags && type != CNX_RELAY_REC_INCOMING
        && type != CNX_RELAY_REC_JOINED && type != CNX_RELAY_REC_FLOW)
    {
        return 0;
    }

    if (type == CNX_RELAY_REC_REPLACED) {
        if (room_len != 0) {
            return 0;
        }
    } else if (!cnx_relay_room_id_valid(room, room_len)) {
        return 0;
    }

    switch (type) {
    case CNX_RELAY_REC_INCOMING:
    case CNX_RELAY_REC_REPLACED:
        if (!cnx_relay_claw_id_valid(name, name_len)) {
            return 0;
        }
        break;
    case CNX_RELAY_REC_REFUSED:
        if (!code_valid(name, name_len)) {
            return 0;
        }
        break;
    default:
        if (name_len != 0) {
            return 0;
        }
    }

    if (type == CNX_RELAY_REC_ACK) {
        return payload_len == CNX_RELAY_REC_ACK_LEN;
    }
    if (payload_len != 0 && type != CNX_RELAY_REC_DATA_TEXT
        && type != CNX_RELAY_REC_DATA_BIN)
    {
        return 0;
    }
    return payload_len <= UINT32_MAX;
}


size_t
cnx_relay_rec_size(const cnx_relay_rec_t *r)
{
    return CNX_RELAY_REC_HEADER + r->room_len + r->name_len + r->payload_len;
}


long
cnx_relay_rec_encode_head(const cnx_relay_rec_t *r, uint8_t *out,
    size_t cap)
{
    size_t  n;

    if (!fields_valid(r->type, r->flags, r->room, r->room_len, r->name,
                      r->name_len, r->payload_len))
    {
        return -1;
    }
    n = CNX_RELAY_REC_HEADER + r->room_len + r->name_len;
    if (cap < n) {
        return -1;
    }

    out[0] = CNX_RELAY_REC_VERSION;
    out[1] = (uint8_t) r->type;
    out[2] = (uint8_t) r->flags;
    out[3] = (uint8_t) r->room_len;
    put16(out + 4, (uint32_t) r->name_len);
    put16(out + 6, 0);
    put32(out + 8, (uint32_t) r->payload_len);
    put_addr(out + 12, &r->src);
    put_addr(out + 40, &r->dst);
    if (r->room_len) {
        memcpy(out + CNX_RELAY_REC_HEADER, r->room, r->room_len);
    }
    if (r->name_len) {
        memcpy(out + CNX_RELAY_REC_HEADER + r->room_len, r->name,
               r->name_len);
    }
    return (long) n;
}


long
cnx_relay_rec_encode(const cnx_relay_rec_t *r, uint8_t *out, size_t cap)
{
    long  h;

    if (cap < cnx_relay_rec_size(r)) {
        return -1;
    }
    h = cnx_relay_rec_encode_head(r, out, cap);
    if (h < 0) {
        return -1;
    }
    if (r->payload_len) {
        memcpy(out + h, r->payload, r->payload_len);
    }
    return h + (long) r->payload_len;
}


long
cnx_relay_rec_length(const uint8_t *p, size_t n, size_t max_payload)
{
    uint32_t  type, name_len, payload_len;

    if (n < CNX_RELAY_REC_HEADER) {
        return 0;
    }
    type = p[1];
    name_len = get16(p + 4);
    payload_len = get32(p + 8);

    if (p[0] != CNX_RELAY_REC_VERSION || type < CNX_RELAY_REC_INCOMING
        || type > CNX_RELAY_REC_TYPE_MAX || p[3] > CNX_RELAY_ROOM_ID_MAX
        || name_len > CNX_RELAY_CLAW_ID_MAX || get16(p + 6) != 0
        || payload_len > max_payload)
    {
        return -1;
    }
    return (long) (CNX_RELAY_REC_HEADER + p[3] + name_len)
           + (long) payload_len;
}


int
cnx_relay_rec_decode(const uint8_t *p, size_t n, size_t max_payload,
    cnx_relay_rec_t *r)
{
    long  len = cnx_relay_rec_length(p, n, max_payload);

    if (len <= 0 || (size_t) len != n) {
        return -1;
    }

    memset(r, 0, sizeof(*r));
    r->type = (cnx_relay_rec_type_t) p[1];
    r->flags = p[2];
    r->room_len = p[3];
    r->name_len = get16(p + 4);
    r->payload_len = get32(p + 8);
    get_addr(p + 12, &r->src);
    get_addr(p + 40, &r->dst);
    r->room = (const char *) p + CNX_RELAY_REC_HEADER;
    r->name = r->room + r->room_len;
    r->payload = (const uint8_t *) r->name + r->name_len;

    if (!fields_valid(r->type, r->flags, r->room, r->room_len, r->name,
                      r->name_len, r->payload_len))
    {
        return -1;
    }
    return 0;
}


long
cnx_relay_rec_encode_short_head(const cnx_relay_rec_t *r, uint8_t *out,
    size_t cap)
{
    size_t  n;

    if ((r->type != CNX_RELAY_REC_DATA_TEXT
         && r->type != CNX_RELAY_REC_DATA_BIN)
        || r->flags != 0 || r->name_len != 0 || r->room_len == 0
        || r->room_len > CNX_RELAY_ROOM_ID_MAX
        || r->payload_len > UINT32_MAX)
    {
        return -1;
    }
    n = CNX_RELAY_REC_SHORT_HEADER + r->room_len;
    if (cap < n) {
        return -1;
    }

    out[0] = CNX_RELAY_REC_SHORT_VERSION;
    out[1] = (uint8_t) r->type;
    out[2] = (uint8_t) r->room_len;
    out[3] = 0;
    put32(out + 4, (uint32_t) r->payload_len);
    put64(out + 8, r->src.conn);
    put64(out + 16, r->dst.conn);
    memcpy(out + CNX_RELAY_REC_SHORT_HEADER, r->room, r->room_len);
    return (long) n;
}


long
cnx_relay_rec_short_length(const uint8_t *p, size_t n, size_t max_payload)
{
    uint32_t  payload_len;

    if (n < CNX_RELAY_REC_SHORT_HEADER) {
        return 0;
    }
    payload_len = get32(p + 4);
    if (p[0] != CNX_RELAY_REC_SHORT_VERSION
        || (p[1] != CNX_RELAY_REC_DATA_TEXT && p[1] != CNX_RELAY_REC_DATA_BIN)
        || p[2] == 0 || p[2] > CNX_RELAY_ROOM_ID_MAX || p[3] != 0
        || payload_len > max_payload)
    {
        return -1;
    }
    return (long) (CNX_RELAY_REC_SHORT_HEADER + p[2]) + (long) payload_len;
}


/* The fields of a short record whose header cnx_relay_rec_short_length()
 * accepted and whose length it gave. */
static void
short_fields(const uint8_t *p, cnx_relay_rec_t *r)
{
    size_t  room_len = p[2], payload_len = get32(p + 4);

    memset(r, 0, sizeof(*r));
    r->type = (cnx_relay_rec_type_t) p[1];
    r->src.conn = get64(p + 8);
    r->dst.conn = get64(p + 16);
    r->room = (const char *) p + CNX_RELAY_REC_SHORT_HEADER;
    r->room_len = room_len;
    r->name = r->room + room_len;
    r->payload = (const uint8_t *) r->name;
    r->payload_len = payload_len;
}


int
cnx_relay_rec_decode_short(const uint8_t *p, size_t n, size_t max_payload,
    cnx_relay_rec_t *r)
{
    long  len = cnx_relay_rec_short_length(p, n, max_payload);

    if (len <= 0 || (size_t) len != n) {
        return -1;
    }
    short_fields(p, r);
    return 0;
}


long
cnx_relay_rec_next(cnx_relay_rec_msg_t *msg, const uint8_t *p, size_t n,
    size_t max_payload, cnx_relay_rec_t *r)
{
    long  len;

    if (n > 0 && p[0] == CNX_RELAY_REC_SHORT_VERSION) {
        len = cnx_relay_rec_short_length(p, n, max_payload);
        if (!msg->general || len <= 0 || (size_t) len > n) {
            return -1;
        }
        short_fields(p, r);
        msg->src.conn = r->src.conn;
        msg->dst.conn = r->dst.conn;
        r->src = msg->src;
        r->dst = msg->dst;
        return len;
    }

    len = cnx_relay_rec_length(p, n, max_payload);
    if (len <= 0 || (size_t) len > n
        || cnx_relay_rec_decode(p, (size_t) len, max_payload, r) != 0)
    {
        return -1;
    }
    msg->src = r->src;
    msg->dst = r->dst;
    msg->general = 1;
    return len;
}


long
cnx_relay_rec_put(cnx_relay_rec_msg_t *msg, const cnx_relay_rec_t *r,
    uint8_t *out, size_t cap)
{
    long  n;

    if (msg->general
        && (r->type == CNX_RELAY_REC_DATA_TEXT
            || r->type == CNX_RELAY_REC_DATA_BIN)
        && r->flags == 0 && r->name_len == 0
        && same_worker(&r->src, &msg->src) && same_worker(&r->dst, &msg->dst))
    {
        n = cnx_relay_rec_encode_short_head(r, out, cap);
        if (n < 0 || cap - (size_t) n < r->payload_len) {
            return -1;
        }
        if (r->payload_len) {
            memcpy(out + n, r->payload, r->payload_len);
        }
        return n + (long) r->payload_len;
    }

    n = cnx_relay_rec_encode(r, out, cap);
    if (n < 0) {
        return -1;
    }
    msg->src = r->src;
    msg->dst = r->dst;
    msg->general = 1;
    return n;
}


const char *
cnx_relay_rec_type_name(int type)
{
    switch (type) {
    case CNX_RELAY_REC_INCOMING:   return "INCOMING";
    case CNX_RELAY_REC_REFUSED:    return "REFUSED";
    case CNX_RELAY_REC_JOINED:     return "JOINED";
    case CNX_RELAY_REC_PEER_LEFT:  return "PEER_LEFT";
    case CNX_RELAY_REC_DATA_TEXT:  return "DATA_TEXT";
    case CNX_RELAY_REC_DATA_BIN:   return "DATA_BIN";
    case CNX_RELAY_REC_REPLACED:   return "REPLACED";
    case CNX_RELAY_REC_FLOW:       return "FLOW";
    case CNX_RELAY_REC_ACK:        return "ACK";
    default:                       return "UNKNOWN";
    }
}
