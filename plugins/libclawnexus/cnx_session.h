/*
 * cnx_session: the end-to-end session of one room (or one direct TCP
 * connection), v1 or v2, and the pieces it is made of.
 *
 * 1. cnx_transport_*: v2 transport over the keys of a Noise Split():
 *    one AES-256-GCM key per direction, nonce = 4 zero bytes || 64-bit
 *    big-endian counter, strict in-order receive (a replayed, reordered,
 *    reflected, injected or truncated message fails to open and does not
 *    advance the counter), Rekey() every rekey_after messages per direction.
 * 2. cnx_record_*: the plaintext record inside every v2 transport message:
 *      type u8 | flags u8 | stream id u32 BE | length u16 BE | body | padding
 *    (8-byte header; bytes after body are padding and ignored).
 * 3. cnx_session_*: negotiation and the whole session.  Both sides send a
 *    v1 KEY_EXCHANGE; a v2-capable side adds "cnx_v":2.  Two v2 sides run
 *    Noise (XX, or IK when the initiator has the responder's key pinned),
 *    carried as text DATA payloads {"_type":"CNX_V2","p":"XX","m":B64}.
 *    A v2 side facing a v1 peer stays v1 unless the peer's key is pinned or
 *    the mode is CNX_SESSION_V2, in which case it refuses (no downgrade).
 *    After that every payload is a sealed message: base64 text in text
 *    DATA, raw bytes in binary DATA frames or on a direct connection.
 *
 * The session does no I/O: the caller feeds payloads in and sends the
 * payloads it gets back.  See docs/session.md.
 */

#ifndef CNX_SESSION_H
#define CNX_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "cnx_base64.h"
#include "cnx_crypto.h"
#include "cnx_noise.h"

/* ---- records ---------------------------------------------------------- */

#define CNX_RECORD_HDR      8
/* Body bytes per record: header + body + tag stay within the 65535-byte
 * Noise message limit. */
#define CNX_RECORD_MAX      (65535 - CNX_RECORD_HDR - 16)

#define CNX_RECORD_TEXT     1   /* Layer-B JSON text, stream 0 */
#define CNX_RECORD_STREAM   2   /* stream bytes */
#define CNX_RECORD_CLOSE    3   /* the sender ends the session */

#define CNX_STREAM_OPEN     0x01
#define CNX_STREAM_FIN      0x02
#define CNX_STREAM_RESET    0x04
/* With OPEN: the sender uses per-stream windows (see docs/link.md);
 * alone: a window update, the body a u32 big-endian byte count. */
#define CNX_STREAM_WINDOW   0x08

typedef struct {
    uint8_t         type;
    uint8_t         flags;
    uint32_t        stream;
    const uint8_t  *data;       /* points into the decoded buffer */
    size_t          len;
} cnx_record_t;

/* Returns the encoded length (CNX_RECORD_HDR + r->len) or -1.  r->data
 * may already sit at out + CNX_RECORD_HDR (then only the header is
 * written). */
int cnx_record_encode(uint8_t *out, size_t outcap, const cnx_record_t *r);
/* Returns 0 or -1 (short, length beyond the buffer, unknown type). */
int cnx_record_decode(cnx_record_t *r, const uint8_t *buf, size_t len);

/* ---- v2 transport ----------------------------------------------------- */

#define CNX_TRANSPORT_REKEY_DEFAULT  (1ULL << 20)

typedef struct cnx_transport cnx_transport_t;

/* rekey_after: messages per direction between Rekey()s, 0 = default. */
cnx_transport_t *cnx_transport_new(const cnx_noise_keys_t *keys,
    uint64_t rekey_after);
void cnx_transport_free(cnx_transport_t *t);

/* out gets mlen + 16 bytes. */
int cnx_transport_seal(cnx_transport_t *t, uint8_t *out, size_t outcap,
    size_t *outlen, const uint8_t *m, size_t mlen);
int cnx_transport_open(cnx_transport_t *t, uint8_t *m, size_t mcap,
    size_t *mlen, const uint8_t *c, size_t clen);

/* ---- the session ------------------------------------------------------ */

typedef enum {
    CNX_SESSION_AUTO = 0,   /* offer v2, accept v1 from unpinned peers */
    CNX_SESSION_V1 = 1,     /* v1 only, v2 not offered */
    CNX_SESSION_V2 = 2      /* v2 only: refuse v1 peers */
} cnx_session_mode_t;

typedef struct {
    cnx_noise_role_t    role;       /* INITIATOR: the side that JOINed or
                                       connected; RESPONDER: ACCEPTed */
    cnx_session_mode_t  mode;
    const uint8_t      *static_sk;  /* our static key; NULL = v1 only */
    const uint8_t      *peer_pin;   /* peer's pinned static key or NULL */
    uint64_t            rekey_after;/* v2, 0 = default */
    const uint8_t      *static_pk;  /* optional: public key of static_sk
                                       (saves one X25519 per session) */
} cnx_session_config_t;

/* Largest payload a session produces or accepts (with NUL). */
#define CNX_SESSION_WIRE_MAX \
    (CNX_BASE64_ENCODED_LEN(CNX_RECORD_HDR + CNX_RECORD_MAX + CNX_AEAD_TAGBYTES) + 1)

/* Room for any reply cnx_session_recv() writes (handshake messages). */
#define CNX_SESSION_REPLY_MAX    512

/* cnx_session_recv() result bits (>= 0) ... */
#define CNX_SESSION_REPLY        0x01  /* send reply (text DATA payload) */
#define CNX_SESSION_RECORD       0x02  /* *rec holds a received record */
#define CNX_SESSION_ESTABLISHED  0x04  /* the session just became ready */

/* ... and errors (< 0).  REJECTED is not fatal: the message was dropped
 * and the session goes on.  The others end the session. */
#define CNX_SE_INTERNAL   (-1)
#define CNX_SE_REJECTED   (-2)  /* bad tag, replay, reorder, reflection */
#define CNX_SE_DOWNGRADE  (-3)  /* v1 peer, but pinned or mode V2 */
#define CNX_SE_AUTH       (-4)  /* Noise handshake failed */
#define CNX_SE_PIN        (-5)  /* peer's static key differs from the pin */
#define CNX_SE_PROTO      (-6)  /* message out of place, bad encoding */
#define CNX_SE_NOSPACE    (-7)  /* caller's buffer too small */
#define CNX_SE_STATE      (-8)  /* call not valid in this state */
#define CNX_SE_CLOSED     (-9)  /* peer sent CLOSE */

typedef struct cnx_session cnx_session_t;

cnx_session_t *cnx_session_new(const cnx_session_config_t *cfg);
void cnx_session_free(cnx_session_t *s);            /* wipes everything */

/* The KEY_EXCHANGE payload to send first (text DATA).  Returns its length
 * (NUL written) or a CNX_SE_* error. */
int cnx_session_start(cnx_session_t *s, char *out, size_t outcap);

/* Feed one received DATA payload (binary != 0: it came in a binary frame
 * or on a direct connection).  reply: a payload to send back as text DATA
 * (*replylen set, bit CNX_SESSION_REPLY); plain: where a received record's
 * body is decoded (rec->data points into it; in v2 CNX_RECORD_MAX + 8
 * bytes is always enough, in v1 inlen * 3 / 4 + 8).  In v1 every message
 * is a CNX_RECORD_TEXT record.  Call cnx_session_start() first. */
int cnx_session_recv(cnx_session_t *s, const uint8_t *in, size_t inlen,
    int binary, char *reply, size_t replycap, size_t *replylen,
    uint8_t *plain, size_t plaincap, cnx_record_t *rec);

/* Seal one record for sending.  binary != 0 gives raw bytes (binary DATA
 * frame, direct connection; rec->data may point at out + CNX_RECORD_HDR,
 * which seals in place without a copy), else base64 text (NUL written).
 * v1 always gives base64 text and carries only CNX_RECORD_TEXT. */
int cnx_session_seal(cnx_session_t *s, int binary, uint8_t *out,
    size_t outcap, size_t *outlen, const cnx_record_t *rec);
/* v2 only, raw bytes: seal a record already encoded by the caller
 * (cnx_record_encode(), reclen = CNX_RECORD_HDR + body) into out, which
 * gets reclen + 16 bytes; out may be rec itself.  Lets a caller read a
 * body behind room for the header and seal it straight into its output
 * buffer, with no copy. */
int cnx_session_seal_encoded(cnx_session_t *s, uint8_t *out, size_t outcap,
    size_t *outlen, const uint8_t *rec, size_t reclen);
int cnx_session_seal_text(cnx_session_t *s, int binary, uint8_t *out,
    size_t outcap, size_t *outlen, const char *text, size_t len);

int cnx_session_established(const cnx_session_t *s);
int cnx_session_version(const cnx_session_t *s);    /* 0 = negotiating */
/* The peer's static key after a v2 handshake (for pinning), else NULL. */
const uint8_t *cnx_session_peer_static(const cnx_session_t *s);
/* One line describing the last error (never contains secrets). */
const char *cnx_session_error(const cnx_session_t *s);

#endif
