/*
 * ClawNexus relay protocol messages: one JSON object per WebSocket text
 * frame (docs/protocol.md), plus the binary DATA frame extension.
 *
 * Parsing is zero-copy: string fields are slices of the still-escaped
 * JSON string content (payload in particular can be forwarded
 * byte-for-byte), and the short identifiers are also decoded into small
 * NUL-terminated copies.  Unknown fields are ignored; a known field that
 * appears twice is refused.
 */

#ifndef CNX_RELAY_MSG_H
#define CNX_RELAY_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "cnx_json.h"

#define CNX_RELAY_CLAW_ID_MAX   255   /* bytes */
#define CNX_RELAY_ROOM_ID_MAX   64    /* [A-Za-z0-9_-] */
#define CNX_RELAY_CODE_MAX      63

/* ERROR codes sent by the relay. */
#define CNX_RELAY_ERR_AUTH_FAILED      "AUTH_FAILED"
#define CNX_RELAY_ERR_NOT_REGISTERED   "NOT_REGISTERED"
#define CNX_RELAY_ERR_TARGET_OFFLINE   "TARGET_OFFLINE"
#define CNX_RELAY_ERR_ROOM_NOT_FOUND   "ROOM_NOT_FOUND"  /* also: sender not
                                                            in that room */
#define CNX_RELAY_ERR_BAD_MESSAGE      "BAD_MESSAGE"
#define CNX_RELAY_ERR_TOO_LARGE        "TOO_LARGE"
#define CNX_RELAY_ERR_RATE_LIMITED     "RATE_LIMITED"
#define CNX_RELAY_ERR_TOO_MANY_ROOMS   "TOO_MANY_ROOMS"
#define CNX_RELAY_ERR_TOO_MANY_PENDING "TOO_MANY_PENDING"
#define CNX_RELAY_ERR_REPLACED         "REPLACED"
#define CNX_RELAY_ERR_INTERNAL         "INTERNAL"

typedef enum {
    CNX_RELAY_UNKNOWN = 0,
    CNX_RELAY_REGISTER,
    CNX_RELAY_REGISTERED,
    CNX_RELAY_JOIN,
    CNX_RELAY_INCOMING,
    CNX_RELAY_ACCEPT,
    CNX_RELAY_REJECT,
    CNX_RELAY_JOINED,
    CNX_RELAY_DATA,
    CNX_RELAY_PEER_LEFT,
    CNX_RELAY_PING,
    CNX_RELAY_PONG,
    CNX_RELAY_ERROR
} cnx_relay_type_t;

/* Results of cnx_relay_msg_parse(). */
#define CNX_RELAY_OK       0
#define CNX_RELAY_EJSON   (-1)  /* not one JSON object (or > 128 tokens) */
#define CNX_RELAY_ETYPE   (-2)  /* type missing, not a string, or unknown */
#define CNX_RELAY_EFIELD  (-3)  /* required field missing, wrong JSON type,
                                   repeated, or an invalid id */

typedef struct {
    cnx_relay_type_t  type;
    /* Raw slices (escaped JSON string content); p == NULL when absent. */
    cnx_slice_t       claw_id;
    cnx_slice_t       target_claw_id;
    cnx_slice_t       auth_token;
    cnx_slice_t       room_id;
    cnx_slice_t       payload;
    cnx_slice_t       from_claw_id;
    cnx_slice_t       from_pubkey;
    cnx_slice_t       peer_claw_id;
    cnx_slice_t       code;
    cnx_slice_t       message;
    int               binary;         /* -1 absent, 0 false, 1 true */
    unsigned          payload_escaped:1;  /* payload has backslashes */
    /* Decoded copies ("" when absent). */
    char              claw_id_s[CNX_RELAY_CLAW_ID_MAX + 1];
    char              target_claw_id_s[CNX_RELAY_CLAW_ID_MAX + 1];
    char              from_claw_id_s[CNX_RELAY_CLAW_ID_MAX + 1];
    char              peer_claw_id_s[CNX_RELAY_CLAW_ID_MAX + 1];
    char              room_id_s[CNX_RELAY_ROOM_ID_MAX + 1];
    char              code_s[CNX_RELAY_CODE_MAX + 1];
} cnx_relay_msg_t;

/*
 * Parse one message.  Required fields (all JSON strings unless noted):
 *   REGISTER   claw_id, auth_token; optional binary (bool)
 *   REGISTERED claw_id; optional binary (bool)
 *   JOIN       claw_id, target_claw_id, auth_token
 *   INCOMING   room_id, from_claw_id; optional from_pubkey
 *   ACCEPT, REJECT, PEER_LEFT   room_id
 *   JOINED     room_id; optional peer_claw_id
 *   DATA       room_id, payload
 *   ERROR      code; optional message
 *   PING, PONG none
 * Ids are validated with cnx_relay_claw_id_valid()/cnx_relay_room_id_valid()
 * (after decoding).  Optional fields of a wrong type are EFIELD too.
 * On ETYPE m->type is CNX_RELAY_UNKNOWN.  Returns CNX_RELAY_OK or an error.
 */
int cnx_relay_msg_parse(const char *buf, size_t len, cnx_relay_msg_t *m);

/* The fields of a DATA message, as cnx_relay_data_parse() finds them. */
typedef struct {
    cnx_slice_t       room_id;        /* a valid room id (no escapes) */
    cnx_slice_t       payload;        /* escaped JSON string content */
    unsigned          payload_escaped:1;
} cnx_relay_data_t;

/*
 * Fast path for the message a relay sees most: DATA with exactly the
 * members type, room_id and payload (any order, any JSON whitespace,
 * names without escapes, a room id without escapes).  Returns 1 and fills
 * d when buf is such a message; cnx_relay_msg_parse() would then return
 * CNX_RELAY_OK with the same type, room_id and payload.  Returns 0 for
 * anything else, valid or not, which cnx_relay_msg_parse() must decide.
 */
int cnx_relay_data_parse(const char *buf, size_t len, cnx_relay_data_t *d);

/* The wire name of a type ("REGISTER"...), "UNKNOWN" otherwise. */
const char *cnx_relay_type_name(cnx_relay_type_t type);

/* claw_id: 1..255 bytes, valid UTF-8, no control characters (< 0x20,
 * 0x7f).  Returns 1 if valid. */
int cnx_relay_claw_id_valid(const char *s, size_t n);

/* room_id: 1..64 characters of [A-Za-z0-9_-].  Returns 1 if valid. */
int cnx_relay_room_id_valid(const char *s, size_t n);

/*
 * A fresh unguessable room id: "r" + base64url of 16 random bytes (128
 * bits), 23 characters + NUL.
 */
#define CNX_RELAY_ROOM_ID_NEW_LEN  23
void cnx_relay_room_id_new(char out[CNX_RELAY_ROOM_ID_NEW_LEN + 1]);

/*
 * Builders.  Each writes one complete JSON object into out, NUL-terminated
 * when there is room, and returns its length or -1 if it does not fit.
 * String arguments are NUL-terminated and escaped as needed, except
 * payloads given as (pointer, length).
 */

/* Relay to client. */
int cnx_relay_build_registered(char *out, size_t cap, const char *claw_id,
    int binary);
int cnx_relay_build_incoming(char *out, size_t cap, const char *room_id,
    const char *from_claw_id);                 /* from_pubkey is "" */
int cnx_relay_build_joined(char *out, size_t cap, const char *room_id,
    const char *peer_claw_id);                 /* peer NULL: omitted */
/* payload is ALREADY-escaped JSON string content, copied verbatim (the
 * relay forwards the slice it parsed). */
int cnx_relay_build_data(char *out, size_t cap, const char *room_id,
    const char *payload, size_t payload_len);
/* The same for the room id room_id[0..room_len) (no NUL needed), which
 * must be a valid one: -1 otherwise. */
int cnx_relay_build_data_id(char *out, size_t cap, const char *room_id,
    size_t room_len, const char *payload, size_t payload_len);
/* Exact length cnx_relay_build_data() needs (without the NUL) for a room
 * id of room_len characters (ids need no escaping). */
size_t cnx_relay_data_size(size_t room_len, size_t payload_len);
int cnx_relay_build_peer_left(char *out, size_t cap, const char *room_id);
int cnx_relay_build_pong(char *out, size_t cap);
int cnx_relay_build_error(char *out, size_t cap, const char *code,
    const char *message);

/* Client to relay. */
int cnx_relay_build_register(char *out, size_t cap, const char *claw_id,
    const char *auth_token, int binary);       /* binary 0: omitted */
int cnx_relay_build_join(char *out, size_t cap, const char *claw_id,
    const char *target_claw_id, const char *auth_token);
int cnx_relay_build_accept(char *out, size_t cap, const char *room_id);
int cnx_relay_build_reject(char *out, size_t cap, const char *room_id);
/* DATA whose payload (raw bytes, valid UTF-8) is escaped here. */
int cnx_relay_build_data_str(char *out, size_t cap, const char *room_id,
    const char *payload, size_t payload_len);
int cnx_relay_build_ping(char *out, size_t cap);

/*
 * Binary DATA frame (extension, only for sockets that registered with
 * "binary":true): payload of a binary WebSocket message =
 *   0x01 | L (1..64) | L bytes room id | data bytes (may be empty).
 */
#define CNX_RELAY_BIN_DATA        0x01
#define CNX_RELAY_BIN_HEADER_MAX  (2 + CNX_RELAY_ROOM_ID_MAX)

/*
 * Split a binary frame payload.  Returns 0 with the pointers set (into p),
 * or -1 if the version byte, length or room id characters are wrong.
 */
int cnx_relay_bin_parse(const uint8_t *p, size_t n, const uint8_t **room,
    size_t *room_len, const uint8_t **payload, size_t *payload_len);

/*
 * Write the binary DATA header for room (room_len chars) into out
 * (>= CNX_RELAY_BIN_HEADER_MAX bytes).  Returns its length, or 0 if the
 * room id is invalid.
 */
size_t cnx_relay_bin_header(uint8_t *out, const char *room, size_t room_len);

#endif
