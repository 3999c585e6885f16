/*
 * The HTTP/1.1 part of the WebSocket opening handshake (RFC 6455 section 4,
 * RFC 9112 message syntax): the server-side parser of the upgrade request,
 * the client-side parser of the 101 response, and the builders of both
 * sides' heads and of short error responses; and a plain request/response
 * pair for JSON calls (the registry client).
 *
 * Parsers follow one convention: they look at buf[0..len) and return
 *   0   the head is not complete yet (no CRLF CRLF): read more, call again;
 *  >0   the head is complete and valid: the number of bytes it used (any
 *       bytes after it are already WebSocket frames);
 *  <0   a CNX_HTTP_E* code.
 * Slices in the result point into buf.
 */

#ifndef CNX_HTTP_H
#define CNX_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "cnx_json.h"   /* cnx_slice_t */

#define CNX_HTTP_MAX_HEAD     8192  /* request/response head, bytes */
#define CNX_HTTP_MAX_HEADERS  64    /* header fields */

#define CNX_HTTP_EBAD         (-1)  /* malformed (answer 400) */
#define CNX_HTTP_EMETHOD      (-2)  /* not GET (405) */
#define CNX_HTTP_EVERSION     (-3)  /* Sec-WebSocket-Version is not 13 (426
                                       with "Sec-WebSocket-Version: 13") */
#define CNX_HTTP_ENOUPGRADE   (-4)  /* Upgrade/Connection tokens missing,
                                       or no valid Sec-WebSocket-Key (400) */
#define CNX_HTTP_ETOOBIG      (-5)  /* head > CNX_HTTP_MAX_HEAD or too many
                                       headers (400) */
#define CNX_HTTP_ESTATUS      (-6)  /* client: status is not 101 */
#define CNX_HTTP_EACCEPT      (-7)  /* client: Sec-WebSocket-Accept wrong */
#define CNX_HTTP_EEXT         (-8)  /* client: server selected an extension
                                       or subprotocol we did not offer */

typedef struct {
    cnx_slice_t  method;
    cnx_slice_t  target;    /* request-target as sent */
    cnx_slice_t  path;      /* target up to '?' (compare e.g. to "/relay") */
    cnx_slice_t  query;     /* after '?', p NULL if none */
    cnx_slice_t  host;
    cnx_slice_t  key;       /* Sec-WebSocket-Key, decodes to 16 bytes */
    cnx_slice_t  origin;    /* for logging only */
    cnx_slice_t  user_agent;/* for logging only */
    cnx_slice_t  protocol;  /* Sec-WebSocket-Protocol offered (we pick none) */
    int          ws_version;        /* value of Sec-WebSocket-Version */
    unsigned     deflate_offered:1; /* permessage-deflate offered (declined:
                                       the 101 carries no extensions) */
    unsigned     nheaders;
} cnx_http_upgrade_t;

/*
 * Server side: parse an upgrade request head.  Checks: request line
 * "GET <target> HTTP/1.x" with x >= 1 (CNX_HTTP_EMETHOD for another
 * method, EBAD for HTTP/1.0 and garbage), header syntax (token names,
 * case-insensitive; obs-fold, bare LF, NUL and missing colon are EBAD),
 * exactly one Host, Upgrade containing the token "websocket" and
 * Connection containing "upgrade" (case-insensitive, comma lists),
 * Sec-WebSocket-Key that decodes to 16 bytes, Sec-WebSocket-Version 13.
 * Headers like X-Forwarded-For are not interpreted.  The path is not
 * checked here: compare u->path yourself and answer 404 on mismatch.
 */
int cnx_http_parse_upgrade(const char *buf, size_t len,
    cnx_http_upgrade_t *u);

/* The HTTP status to answer for a CNX_HTTP_E* code of the server parser. */
int cnx_http_error_status(int err);

/*
 * Write "HTTP/1.1 101 Switching Protocols" with Upgrade, Connection and
 * Sec-WebSocket-Accept (the 28 characters from cnx_ws_accept_key(), NUL
 * terminated).  No extension or subprotocol is selected.  Returns the
 * length (NUL-terminated when room) or -1 if cap is too small.
 */
int cnx_http_build_101(char *out, size_t cap, const char accept[29]);

/*
 * Write a complete short error response for status 400, 404, 405, 426,
 * 429, 431 or 503 (any other value is written as 500): a one-line
 * text/plain body, Content-Length, Connection: close, and for 426
 * "Sec-WebSocket-Version: 13" plus "Upgrade: websocket".  Returns the
 * length or -1 if cap is too small.
 */
int cnx_http_build_error(char *out, size_t cap, int status);

/* Client side ------------------------------------------------------------ */

/*
 * Fill key[25] with a fresh random Sec-WebSocket-Key (16 random bytes,
 * base64, NUL-terminated).
 */
void cnx_http_client_key(char key[25]);

/*
 * Write the upgrade request: "GET <path> HTTP/1.1", Host, Upgrade,
 * Connection, Sec-WebSocket-Key, Sec-WebSocket-Version: 13, and a
 * User-Agent if user_agent is not NULL.  host is the Host header value
 * (host[:port]); path starts with '/'.  No extensions are offered.
 * Returns the length or -1 (too small, or CR/LF in host/path).
 */
int cnx_http_build_request(char *out, size_t cap, const char *host,
    const char *path, const char key[25], const char *user_agent);

/*
 * Parse the server's answer to the request sent with key.  Returns 0 (need
 * more), >0 (valid 101: bytes used), or: CNX_HTTP_ESTATUS (*status holds
 * the code, e.g. 404), CNX_HTTP_ENOUPGRADE (missing Upgrade: websocket or
 * Connection: upgrade), CNX_HTTP_EACCEPT, CNX_HTTP_EEXT, CNX_HTTP_EBAD,
 * CNX_HTTP_ETOOBIG.  status may be NULL.
 */
int cnx_http_parse_response(const char *buf, size_t len, const char key[25],
    int *status);


/* Plain HTTP/1.1 calls (the registry client) ----------------------------- */

/*
 * Write a request head: "METHOD path HTTP/1.1", Host, Accept:
 * application/json, Connection: close, Content-Type when not NULL and
 * Content-Length (also 0).  The body follows the head.  Returns the
 * length or -1 (too small, or a control character in an argument).
 */
int cnx_http_build_call(char *out, size_t cap, const char *method,
    const char *host, const char *path, const char *content_type,
    size_t body_len);

typedef struct {
    int      status;
    int64_t  content_length;    /* -1: absent (the body ends at EOF) */
} cnx_http_reply_t;

/*
 * Parse a response head.  0 (need more), >0 (bytes of the head; the body
 * follows), or CNX_HTTP_EBAD (also for Transfer-Encoding, a repeated or
 * malformed Content-Length) / CNX_HTTP_ETOOBIG.
 */
int cnx_http_parse_reply(const char *buf, size_t len, cnx_http_reply_t *r);

#endif
