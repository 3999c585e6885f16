/*
 * Relay protocol messages: parse (one pass over the members of the JSON
 * object) and build (through the JSON builder, so every string is
 * escaped).
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "cnx_base64.h"
#include "cnx_json.h"
#include "cnx_relay_msg.h"
#include "cnx_utf8.h"

/* Known fields, in the order of the table below. */
enum {
    F_TYPE = 0, F_CLAW_ID, F_TARGET, F_AUTH, F_ROOM, F_PAYLOAD, F_FROM,
    F_FROM_PUBKEY, F_PEER, F_CODE, F_MESSAGE, F_BINARY, F_COUNT
};

/*
 * Where a string field lands in cnx_relay_msg_t: its raw slice and, for
 * names, rooms and codes, a decoded copy (checked with valid() if set).
 */
#define SLICE(x)       offsetof(cnx_relay_msg_t, x)
#define DECODED(x, v)  offsetof(cnx_relay_msg_t, x), \
                       sizeof(((cnx_relay_msg_t *) NULL)->x), v

static const struct cnx_relay_field_s {
    const char  *name;
    size_t       len;
    size_t       slice;
    size_t       decoded;
    size_t       decoded_cap;       /* 0: no decoded copy */
    int        (*valid)(const char *s, size_t n);
} cnx_relay_fields[F_COUNT] = {
    [F_TYPE]        = { "type", 4, 0, 0, 0, NULL },
    [F_CLAW_ID]     = { "claw_id", 7, SLICE(claw_id),
                        DECODED(claw_id_s, cnx_relay_claw_id_valid) },
    [F_TARGET]      = { "target_claw_id", 14, SLICE(target_claw_id),
                        DECODED(target_claw_id_s, cnx_relay_claw_id_valid) },
    [F_AUTH]        = { "auth_token", 10, SLICE(auth_token), 0, 0, NULL },
    [F_ROOM]        = { "room_id", 7, SLICE(room_id),
                        DECODED(room_id_s, cnx_relay_room_id_valid) },
    [F_PAYLOAD]     = { "payload", 7, SLICE(payload), 0, 0, NULL },
    [F_FROM]        = { "from_claw_id", 12, SLICE(from_claw_id),
                        DECODED(from_claw_id_s, cnx_relay_claw_id_valid) },
    [F_FROM_PUBKEY] = { "from_pubkey", 11, SLICE(from_pubkey), 0, 0, NULL },
    [F_PEER]        = { "peer_claw_id", 12, SLICE(peer_claw_id),
                        DECODED(peer_claw_id_s, cnx_relay_claw_id_valid) },
    [F_CODE]        = { "code", 4, SLICE(code),
                        DECODED(code_s, NULL) },
    [F_MESSAGE]     = { "message", 7, SLICE(message), 0, 0, NULL },
    [F_BINARY]      = { "binary", 6, 0, 0, 0, NULL }
};

#define B(f)  (1u << (f))

/* Required and optional fields per message type. */
static const struct {
    const char  *name;
    unsigned     required;
    unsigned     optional;
} cnx_relay_types[] = {
    [CNX_RELAY_UNKNOWN]    = { "UNKNOWN", 0, 0 },
    [CNX_RELAY_REGISTER]   = { "REGISTER", B(F_CLAW_ID) | B(F_AUTH),
                               B(F_BINARY) },
    [CNX_RELAY_REGISTERED] = { "REGISTERED", B(F_CLAW_ID), B(F_BINARY) },
    [CNX_RELAY_JOIN]       = { "JOIN", B(F_CLAW_ID) | B(F_TARGET) | B(F_AUTH),
                               0 },
    [CNX_RELAY_INCOMING]   = { "INCOMING", B(F_ROOM) | B(F_FROM),
                               B(F_FROM_PUBKEY) },
    [CNX_RELAY_ACCEPT]     = { "ACCEPT", B(F_ROOM), 0 },
    [CNX_RELAY_REJECT]     = { "REJECT", B(F_ROOM), 0 },
    [CNX_RELAY_JOINED]     = { "JOINED", B(F_ROOM), B(F_PEER) },
    [CNX_RELAY_DATA]       = { "DATA", B(F_ROOM) | B(F_PAYLOAD), 0 },
    [CNX_RELAY_PEER_LEFT]  = { "PEER_LEFT", B(F_ROOM), 0 },
    [CNX_RELAY_PING]       = { "PING", 0, 0 },
    [CNX_RELAY_PONG]       = { "PONG", 0, 0 },
    [CNX_RELAY_ERROR]      = { "ERROR", B(F_CODE), B(F_MESSAGE) }
};

#define CNX_RELAY_NTYPES  (sizeof(cnx_relay_types) / sizeof(cnx_relay_types[0]))
#define CNX_RELAY_NTOKS   128

const char *
cnx_relay_type_name(cnx_relay_type_t type)
{
    if ((unsigned) type >= CNX_RELAY_NTYPES) {
        return "UNKNOWN";
    }
    return cnx_relay_types[type].name;
}

int
cnx_relay_claw_id_valid(const char *s, size_t n)
{
    size_t  i;

    if (s == NULL || n == 0 || n > CNX_RELAY_CLAW_ID_MAX) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            return 0;
        }
    }
    return cnx_utf8_valid((const uint8_t *) s, n);
}

/*
 * 1 for the bytes that may appear in a room id: [A-Za-z0-9_-].  Every DATA
 * checks its room id, so one load per byte and no branches.
 */
static const uint8_t  cnx_relay_room_chars[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};

int
cnx_relay_room_id_valid(const char *s, size_t n)
{
    size_t    i;
    unsigned  ok = 1;

    if (s == NULL || n == 0 || n > CNX_RELAY_ROOM_ID_MAX) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        ok &= cnx_relay_room_chars[(unsigned char) s[i]];
    }
    return (int) ok;
}

void
cnx_relay_room_id_new(char out[CNX_RELAY_ROOM_ID_NEW_LEN + 1])
{
    uint8_t  raw[16];

    randombytes_buf(raw, sizeof(raw));
    out[0] = 'r';
    (void) cnx_base64url_encode(out + 1, CNX_RELAY_ROOM_ID_NEW_LEN, raw,
                                sizeof(raw));
}

/* Decode a string field into out[cap] and check it with valid(). */
static int
cnx_relay_decode_id(const char *buf, const cnx_json_tok_t *t, char *out,
    size_t cap, int (*valid)(const char *, size_t))
{
    size_t  n;

    if (cnx_json_str_decode(buf, t, out, cap, &n) != 0) {
        out[0] = '\0';
        return -1;
    }
    if (valid != NULL && !valid(out, n)) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

int
cnx_relay_msg_parse(const char *buf, size_t len, cnx_relay_msg_t *m)
{
    cnx_json_tok_t   t[CNX_RELAY_NTOKS];
    int              at[F_COUNT];
    unsigned         f, k, mem, want, dup = 0;
    int              nt, i, v;
    const cnx_json_tok_t *tok;
    const struct cnx_relay_field_s *fld;

    memset(m, 0, sizeof(*m));
    m->type = CNX_RELAY_UNKNOWN;
    m->binary = -1;

    if (buf == NULL) {
        return CNX_RELAY_EJSON;
    }
    nt = cnx_json_parse(buf, len, t, CNX_RELAY_NTOKS);
    if (nt <= 0 || t[0].type != CNX_JSON_OBJECT) {
        return CNX_RELAY_EJSON;
    }

    for (f = 0; f < F_COUNT; f++) {
        at[f] = -1;
    }
    i = 1;
    for (mem = 0; mem < t[0].size; mem++) {
        for (f = 0; f < F_COUNT; f++) {
            if (cnx_json_str_eq(buf, &t[i], cnx_relay_fields[f].name,
                                cnx_relay_fields[f].len))
            {
                if (at[f] >= 0) {
                    dup |= B(f);
                } else {
                    at[f] = i + 1;
                }
                break;
            }
        }
        i = t[i + 1].next;
    }

    if (at[F_TYPE] < 0 || t[at[F_TYPE]].type != CNX_JSON_STRING) {
        return CNX_RELAY_ETYPE;
    }
    for (k = 1; k < CNX_RELAY_NTYPES; k++) {
        const char *name = cnx_relay_types[k].name;

        if (cnx_json_str_eq(buf, &t[at[F_TYPE]], name, strlen(name))) {
            break;
        }
    }
    if (k == CNX_RELAY_NTYPES) {
        return CNX_RELAY_ETYPE;
    }
    m->type = (cnx_relay_type_t) k;

    want = cnx_relay_types[k].required | cnx_relay_types[k].optional;
    if (dup & (want | B(F_TYPE))) {
        return CNX_RELAY_EFIELD;
    }
    for (f = 1; f < F_COUNT; f++) {
        if (!(want & B(f))) {
            continue;
        }
        if (at[f] < 0) {
            if (cnx_relay_types[k].required & B(f)) {
                return CNX_RELAY_EFIELD;
            }
            continue;
        }
        tok = &t[at[f]];

        if (f == F_BINARY) {
            if (cnx_json_tok_bool(tok, &v) != 0) {
                return CNX_RELAY_EFIELD;
            }
            m->binary = v;
            continue;
        }
        if (tok->type != CNX_JSON_STRING) {
            return CNX_RELAY_EFIELD;
        }

        fld = &cnx_relay_fields[f];
        *(cnx_slice_t *) ((char *) m + fld->slice) =
            cnx_json_tok_slice(buf, tok);

        if (fld->decoded_cap != 0
            && cnx_relay_decode_id(buf, tok, (char *) m + fld->decoded,
                                   fld->decoded_cap, fld->valid) != 0)
        {
            return CNX_RELAY_EFIELD;
        }
        if (f == F_PAYLOAD) {
            m->payload_escaped = tok->escaped != 0;
        }
    }

    return CNX_RELAY_OK;
}


/* The offset of the first byte at or after i that is not JSON whitespace. */
static size_t
cnx_relay_ws(const char *buf, size_t len, size_t i)
{
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n'
                       || buf[i] == '\r'))
    {
        i++;
    }
    return i;
}

int
cnx_relay_data_parse(const char *buf, size_t len, cnx_relay_data_t *d)
{
    unsigned  seen = 0, k;
    size_t    i, j;
    long      q;
    int       esc;

    if (buf == NULL || d == NULL || len > CNX_JSON_MAX_LEN) {
        return 0;
    }

    i = cnx_relay_ws(buf, len, 0);
    if (i >= len || buf[i] != '{') {
        return 0;
    }
    i++;

    for (k = 0; k < 3; k++) {
        i = cnx_relay_ws(buf, len, i);
        if (k > 0) {
            if (i >= len || buf[i] != ',') {
                return 0;
            }
            i = cnx_relay_ws(buf, len, i + 1);
        }

        /*
         * Only the three members, each once, with names written without
         * escapes; anything else (a repeat included) is left to the
         * strict parser, which has the last word on it.
         */
        if (len - i >= 7 && memcmp(buf + i, "\"type\"", 6) == 0) {
            j = F_TYPE;
            i += 6;
        } else if (len - i >= 10 && memcmp(buf + i, "\"room_id\"", 9) == 0) {
            j = F_ROOM;
            i += 9;
        } else if (len - i >= 10 && memcmp(buf + i, "\"payload\"", 9) == 0) {
            j = F_PAYLOAD;
            i += 9;
        } else {
            return 0;
        }
        if (seen & B(j)) {
            return 0;
        }
        seen |= B(j);

        i = cnx_relay_ws(buf, len, i);
        if (i >= len || buf[i] != ':') {
            return 0;
        }
        i = cnx_relay_ws(buf, len, i + 1);

        switch (j) {

        case F_TYPE:
            if (len - i < 6 || memcmp(buf + i, "\"DATA\"", 6) != 0) {
                return 0;
            }
            i += 6;
            break;

        case F_ROOM:
            /* a valid id is [A-Za-z0-9_-], so it has no escapes */
            if (i >= len || buf[i] != '"') {
                return 0;
            }
            for (q = (long) i + 1;
                 (size_t) q < len && (size_t) q - i <= CNX_RELAY_ROOM_ID_MAX
                 && cnx_relay_room_chars[(unsigned char) buf[q]];
                 q++)
            {
                /* void */
            }
            if ((size_t) q >= len || buf[q] != '"' || (size_t) q == i + 1) {
                return 0;
            }
            d->room_id.p = buf + i + 1;
            d->room_id.len = (size_t) q - i - 1;
            i = (size_t) q + 1;
            break;

        default: /* F_PAYLOAD */
            q = cnx_json_scan_string(buf, len, i, &esc);
            if (q < 0) {
                return 0;
            }
            d->payload.p = buf + i + 1;
            d->payload.len = (size_t) q - i - 1;
            d->payload_escaped = esc != 0;
            i = (size_t) q + 1;
            break;
        }
    }

    i = cnx_relay_ws(buf, len, i);
    if (i >= len || buf[i] != '}') {
        return 0;
    }
    return cnx_relay_ws(buf, len, i + 1) == len;
}


/* Builders ----------------------------------------------------------------- */

static void
cnx_relay_begin(cnx_json_buf_t *b, char *out, size_t cap, const char *type)
{
    cnx_json_buf_init(b, out, cap);
    cnx_json_buf_obj_open(b);
    cnx_json_buf_key(b, "type");
    cnx_json_buf_cstr(b, type);
}

static void
cnx_relay_field(cnx_json_buf_t *b, const char *key, const char *val)
{
    if (val == NULL) {
        b->err = 1;
        return;
    }
    cnx_json_buf_key(b, key);
    cnx_json_buf_cstr(b, val);
}

static int
cnx_relay_end(cnx_json_buf_t *b)
{
    cnx_json_buf_obj_close(b);
    return cnx_json_buf_finish(b);
}

int
cnx_relay_build_registered(char *out, size_t cap, const char *claw_id,
    int binary)
{
    cnx_json_buf_t  b;

    cnx_relay_begin(&b, out, cap, "REGISTERED");
    cnx_relay_field(&b, "claw_id", claw_id);
    if (binary) {
        cnx_json_buf_key(&b, "binary");
        cnx_json_buf_bool(&b, 1);
    }
    return cnx_relay_end(&b);
}

int
cnx_relay_build_incoming(char *out, size_t cap, const char *room_id,
    const char *from_claw_id)
{
    cnx_json_buf_t  b;

    cnx_relay_begin(&b, out, cap, "INCOMING");
    cnx_relay_field(&b, "room_id", room_id);
    cnx_relay_field(&b, "from_claw_id", from_claw_id);
    cnx_relay_field(&b, "from_pubkey", "");
    return cnx_relay_end(&b);
}

int
cnx_relay_build_joined(char *out, size_t cap, const char *room_id,
    const char *peer_claw_id)
{
    cnx_json_buf_t  b;

    cnx_relay_begin(&b, out, cap, "JOINED");
    cnx_relay_field(&b, "room_id", room_id);
    if (peer_claw_id != NULL) {
        cnx_relay_field(&b, "peer_claw_id", peer_claw_id);
    }
    return cnx_relay_end(&b);
}

/*
 * DATA with a valid room id and an already escaped payload: what the relay
 * forwards for every DATA.  A valid room id needs no escaping, so the
 * message is three copies (the builder below would write the same bytes,
 * more slowly).
 */
static int
cnx_relay_data_copy(char *out, size_t cap, const char *room_id,
    size_t room_len, const char *payload, size_t payload_len)
{
    static const char  head[] = "{\"type\":\"DATA\",\"room_id\":\"";
    static const char  mid[] = "\",\"payload\":\"";
    size_t             need;
    char              *p;

    /* the length first: the size of a huge payload would wrap */
    if (payload_len > 0x7fffffffu) {
        return -1;
    }
    need = cnx_relay_data_size(room_len, payload_len);
    if (out == NULL || need > cap || need > 0x7fffffffu) {
        return -1;
    }
    p = out;
    memcpy(p, head, sizeof(head) - 1);
    p += sizeof(head) - 1;
    memcpy(p, room_id, room_len);
    p += room_len;
    memcpy(p, mid, sizeof(mid) - 1);
    p += sizeof(mid) - 1;
    if (payload_len != 0) {
        memcpy(p, payload, payload_len);
        p += payload_len;
    }
    *p++ = '"';
    *p++ = '}';
    if (need < cap) {
        *p = '\0';
    }
    return (int) need;
}

/* escaped: the payload is already JSON string content, copied as is. */
static int
cnx_relay_data_msg(char *out, size_t cap, const char *room_id,
    const char *payload, size_t payload_len, int escaped)
{
    cnx_json_buf_t  b;
    size_t          room_len;

    if (payload == NULL && payload_len != 0) {
        return -1;
    }

    room_len = room_id != NULL ? strlen(room_id) : 0;
    if (escaped && cnx_relay_room_id_valid(room_id, room_len)) {
        return cnx_relay_data_copy(out, cap, room_id, room_len, payload,
              payload_len);
    }

    cnx_relay_begin(&b, out, cap, "DATA");
    cnx_relay_field(&b, "room_id", room_id);
    cnx_json_buf_key(&b, "payload");
    if (escaped) {
        cnx_json_buf_str_escaped(&b, payload, payload_len);
    } else {
        cnx_json_buf_str(&b, payload, payload_len);
    }
    return cnx_relay_end(&b);
}

int
cnx_relay_build_data(char *out, size_t cap, const char *room_id,
    const char *payload, size_t payload_len)
{
    return cnx_relay_data_msg(out, cap, room_id, payload, payload_len, 1);
}

int
cnx_relay_build_data_id(char *out, size_t cap, const char *room_id,
    size_t room_len, const char *payload, size_t payload_len)
{
    if ((payload == NULL && payload_len != 0)
        || !cnx_relay_room_id_valid(room_id, room_len))
    {
        return -1;
    }
    return cnx_relay_data_copy(out, cap, room_id, room_len, payload,
          payload_len);
}

size_t
cnx_relay_data_size(size_t room_len, size_t payload_len)
{
    return sizeof("{\"type\":\"DATA\",\"room_id\":\"\",\"payload\":\"\"}") - 1
           + room_len + payload_len;
}

int
cnx_relay_build_data_str(char *out, size_t cap, const char *room_id,
    const char *payload, size_t payload_len)
{
    return cnx_relay_data_msg(out, cap, room_id, payload, payload_len, 0);
}

static int
cnx_relay_room_msg(char *out, size_t cap, const char *type,
    const char *room_id)
{
    cnx_json_buf_t  b;

    cnx_relay_begin(&b, out, cap, type);
    cnx_relay_field(&b, "room_id", room_id);
    return cnx_relay_end(&b);
}

int
cnx_relay_build_peer_left(char *out, size_t cap, const char *room_id)
{
    return cnx_relay_room_msg(out, cap, "PEER_LEFT", room_id);
}

int
cnx_relay_build_accept(char *out, size_t cap, const char *room_id)
{
    return cnx_relay_room_msg(out, cap, "ACCEPT", room_id);
}

int
cnx_relay_build_reject(char *out, size_t cap, const char *room_id)
{
    return cnx_relay_room_msg(out, cap, "REJECT", room_id);
}

int
cnx_relay_build_pong(char *out, size_t cap)
{
    cnx_json_buf_t  b;

    cnx_relay_begin(&b, out, cap, "PONG");
    return cnx_relay_end(&b);
}

int
cnx_relay_build_ping(char *out, size_t cap)
{
    cnx_json_buf_t  b;

    cnx_relay_begin(&b, out, cap, "PING");
    return cnx_relay_end(&b);
}

int
cnx_relay_build_error(char *out, size_t cap, const char *code,
    const char *message)
{
    cnx_json_buf_t  b;

    cnx_relay_begin(&b, out, cap, "ERROR");
    cnx_relay_field(&b, "code", code);
    cnx_relay_field(&b, "message", message != NULL ? message : "");
    return cnx_relay_end(&b);
}

int
cnx_relay_build_register(char *out, size_t cap, const char *claw_id,
    const char *auth_token, int binary)
{
    cnx_json_buf_t  b;

    cnx_relay_begin(&b, out, cap, "REGISTER");
    cnx_relay_field(&b, "claw_id", claw_id);
    cnx_relay_field(&b, "auth_token", auth_token);
    if (binary) {
        cnx_json_buf_key(&b, "binary");
        cnx_json_buf_bool(&b, 1);
    }
    return cnx_relay_end(&b);
}

int
cnx_relay_build_join(char *out, size_t cap, const char *claw_id,
    const char *target_claw_id, const char *auth_token)
{
    cnx_json_buf_t  b;

    cnx_relay_begin(&b, out, cap, "JOIN");
    cnx_relay_field(&b, "claw_id", claw_id);
    cnx_relay_field(&b, "target_claw_id", target_claw_id);
    cnx_relay_field(&b, "auth_token", auth_token);
    return cnx_relay_end(&b);
}


/* Binary DATA -------------------------------------------------------------- */

int
cnx_relay_bin_parse(const uint8_t *p, size_t n, const uint8_t **room,
    size_t *room_len, const uint8_t **payload, size_t *payload_len)
{
    size_t  l;

    if (p == NULL || n < 2 || p[0] != CNX_RELAY_BIN_DATA) {
        return -1;
    }
    l = p[1];
    if (n - 2 < l || !cnx_relay_room_id_valid((const char *) p + 2, l)) {
        return -1;
    }
    *room = p + 2;
    *room_len = l;
    *payload = p + 2 + l;
    *payload_len = n - 2 - l;
    return 0;
}

size_t
cnx_relay_bin_header(uint8_t *out, const char *room, size_t room_len)
{
    if (out == NULL || !cnx_relay_room_id_valid(room, room_len)) {
        return 0;
    }
    out[0] = CNX_RELAY_BIN_DATA;
    out[1] = (uint8_t) room_len;
    memcpy(out + 2, room, room_len);
    return 2 + room_len;
}
