/*
 * Fuzz target: relay protocol messages (cnx_relay_msg.h).
 *
 * Input: one control byte, then the payload of a WebSocket frame.
 *   bit 0 = 0   text frame: cnx_relay_msg_parse();
 *   bit 0 = 1   binary frame: cnx_relay_bin_parse().
 * An accepted message is rebuilt with the builders (relay-side and
 * client-side, whichever sends that type) and parsed again: the type and
 * every field must survive, the DATA payload byte for byte (the relay
 * forwards that slice verbatim).  A binary frame's header is rebuilt.
 * The DATA fast path (cnx_relay_data_parse()) must agree with the strict
 * parser whenever it accepts, and accept the DATA messages the relay
 * itself writes.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_relay_msg.h"

static void
slice_in(const cnx_slice_t *s, const char *buf, size_t len)
{
    if (s->p == NULL) {
        return;
    }
    if (s->p < buf || s->len > len || (size_t) (s->p - buf) > len - s->len) {
        abort();
    }
}

static int
same_slice(const cnx_slice_t *a, const cnx_slice_t *b)
{
    if ((a->p == NULL) != (b->p == NULL)) {
        return 0;
    }
    return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static void
rebuild(const cnx_relay_msg_t *m, size_t len)
{
    static cnx_relay_msg_t m2;
    size_t                 cap = 2 * len + 1024;
    char                  *out = malloc(cap), msg[1024];
    size_t                 ml;
    int                    n = -1;

    if (out == NULL) {
        abort();
    }
    switch (m->type) {
    case CNX_RELAY_REGISTER:
        /* auth_token is compared raw: tokens need no escaping. */
        if (m->auth_token.len > 512 || memchr(m->auth_token.p, '\\',
                m->auth_token.len) != NULL)
        {
            goto done;
        }
        memcpy(msg, m->auth_token.p, m->auth_token.len);
        msg[m->auth_token.len] = '\0';
        n = cnx_relay_build_register(out, cap, m->claw_id_s, msg,
            m->binary == 1);
        break;
    case CNX_RELAY_REGISTERED:
        n = cnx_relay_build_registered(out, cap, m->claw_id_s,
            m->binary == 1);
        break;
    case CNX_RELAY_JOIN:
        if (m->auth_token.len > 512 || memchr(m->auth_token.p, '\\',
                m->auth_token.len) != NULL)
        {
            goto done;
        }
        memcpy(msg, m->auth_token.p, m->auth_token.len);
        msg[m->auth_token.len] = '\0';
        n = cnx_relay_build_join(out, cap, m->claw_id_s, m->target_claw_id_s,
            msg);
        break;
    case CNX_RELAY_INCOMING:
        n = cnx_relay_build_incoming(out, cap, m->room_id_s,
            m->from_claw_id_s);
        break;
    case CNX_RELAY_ACCEPT:
        n = cnx_relay_build_accept(out, cap, m->room_id_s);
        break;
    case CNX_RELAY_REJECT:
        n = cnx_relay_build_reject(out, cap, m->room_id_s);
        break;
    case CNX_RELAY_JOINED:
        n = cnx_relay_build_joined(out, cap, m->room_id_s,
            m->peer_claw_id.p ? m->peer_claw_id_s : NULL);
        break;
    case CNX_RELAY_DATA:
        n = cnx_relay_build_data(out, cap, m->room_id_s, m->payload.p,
            m->payload.len);
        if (n >= 0 && (size_t) n != cnx_relay_data_size(strlen(m->room_id_s),
                m->payload.len))
        {
            abort();
        }
        break;
    case CNX_RELAY_PEER_LEFT:
        n = cnx_relay_build_peer_left(out, cap, m->room_id_s);
        break;
    case CNX_RELAY_PING:
        n = cnx_relay_build_ping(out, cap);
        break;
    case CNX_RELAY_PONG:
        n = cnx_relay_build_pong(out, cap);
        break;
    case CNX_RELAY_ERROR:
        if (m->message.p == NULL || m->message.len >= sizeof(msg)
            || memchr(m->message.p, '\\', m->message.len) != NULL)
        {
            n = cnx_relay_build_error(out, cap, m->code_s, NULL);
        } else {
            memcpy(msg, m->message.p, m->message.len);
            msg[m->message.len] = '\0';
            n = cnx_relay_build_error(out, cap, m->code_s, msg);
        }
        break;
    default:
        abort();
    }
    if (n < 0 || (size_t) n >= cap) {
        abort();
    }
    memset(&m2, 0, sizeof(m2));
    if (m->type == CNX_RELAY_DATA) {
        cnx_relay_data_t  d;

        /* what the relay forwards takes the fast path at the next hop */
        if (!cnx_relay_data_parse(out, (size_t) n, &d)) {
            abort();
        }
    }
    if (cnx_relay_msg_parse(out, (size_t) n, &m2) != CNX_RELAY_OK
        || m2.type != m->type
        || strcmp(m2.claw_id_s, m->claw_id_s) != 0
        || strcmp(m2.target_claw_id_s, m->target_claw_id_s) != 0
        || strcmp(m2.from_claw_id_s, m->from_claw_id_s) != 0
        || strcmp(m2.room_id_s, m->room_id_s) != 0
        || strcmp(m2.code_s, m->code_s) != 0)
    {
        abort();
    }
    if (m->type == CNX_RELAY_DATA && !same_slice(&m->payload, &m2.payload)) {
        abort();
    }
    if ((m->type == CNX_RELAY_REGISTER || m->type == CNX_RELAY_JOIN)
        && !same_slice(&m->auth_token, &m2.auth_token))
    {
        abort();
    }
    if (m->type == CNX_RELAY_JOINED
        && strcmp(m2.peer_claw_id_s, m->peer_claw_id_s) != 0)
    {
        abort();
    }
    ml = m->message.len;
    if (m->type == CNX_RELAY_ERROR && m->message.p != NULL
        && ml < sizeof(msg) && memchr(m->message.p, '\\', ml) == NULL
        && !same_slice(&m->message, &m2.message))
    {
        abort();
    }
done:
    free(out);
}

/* Whenever the fast path accepts, the strict parser says the same. */
static void
check_fast(const char *buf, size_t len, int rc, const cnx_relay_msg_t *m)
{
    cnx_relay_data_t  d;

    if (!cnx_relay_data_parse(buf, len, &d)) {
        return;
    }
    if (rc != CNX_RELAY_OK || m->type != CNX_RELAY_DATA
        || d.room_id.p != m->room_id.p || d.room_id.len != m->room_id.len
        || strlen(m->room_id_s) != d.room_id.len
        || memcmp(m->room_id_s, d.room_id.p, d.room_id.len) != 0
        || d.payload.p != m->payload.p || d.payload.len != m->payload.len
        || d.payload_escaped != m->payload_escaped)
    {
        abort();
    }
}

static void
check_text(const char *buf, size_t len)
{
    static cnx_relay_msg_t m;
    int                    rc;

    memset(&m, 0, sizeof(m));
    rc = cnx_relay_msg_parse(buf, len, &m);
    check_fast(buf, len, rc, &m);
    if (rc != CNX_RELAY_OK) {
        if (rc != CNX_RELAY_EJSON && rc != CNX_RELAY_ETYPE
            && rc != CNX_RELAY_EFIELD)
        {
            abort();
        }
        if (rc == CNX_RELAY_ETYPE && m.type != CNX_RELAY_UNKNOWN) {
            abort();
        }
        return;
    }
    if (m.type == CNX_RELAY_UNKNOWN
        || strcmp(cnx_relay_type_name(m.type), "UNKNOWN") == 0)
    {
        abort();
    }
    slice_in(&m.claw_id, buf, len);
    slice_in(&m.target_claw_id, buf, len);
    slice_in(&m.auth_token, buf, len);
    slice_in(&m.room_id, buf, len);
    slice_in(&m.payload, buf, len);
    slice_in(&m.from_claw_id, buf, len);
    slice_in(&m.from_pubkey, buf, len);
    slice_in(&m.peer_claw_id, buf, len);
    slice_in(&m.code, buf, len);
    slice_in(&m.message, buf, len);
    if ((m.claw_id.p && !cnx_relay_claw_id_valid(m.claw_id_s,
            strlen(m.claw_id_s)))
        || (m.target_claw_id.p && !cnx_relay_claw_id_valid(
            m.target_claw_id_s, strlen(m.target_claw_id_s)))
        || (m.room_id.p && !cnx_relay_room_id_valid(m.room_id_s,
            strlen(m.room_id_s))))
    {
        abort();
    }
    rebuild(&m, len);
}

static void
check_binary(const uint8_t *p, size_t n)
{
    const uint8_t *room, *pl;
    uint8_t        hdr[CNX_RELAY_BIN_HEADER_MAX];
    size_t         rl, pn, hl;

    if (cnx_relay_bin_parse(p, n, &room, &rl, &pl, &pn) != 0) {
        return;
    }
    if (room < p || rl < 1 || rl > CNX_RELAY_ROOM_ID_MAX
        || pl != room + rl || pl + pn != p + n
        || !cnx_relay_room_id_valid((const char *) room, rl))
    {
        abort();
    }
    hl = cnx_relay_bin_header(hdr, (const char *) room, rl);
    if (hl != 2 + rl || memcmp(hdr, p, hl) != 0) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf;

    if (size < 1) {
        return 0;
    }
    buf = malloc(size);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data + 1, size - 1);
    if (data[0] & 1) {
        check_binary((const uint8_t *) buf, size - 1);
    } else {
        check_text(buf, size - 1);
    }
    free(buf);
    return 0;
}
