/*
 * The HTTP/1.1 heads of the WebSocket opening handshake.  Only what
 * RFC 6455 section 4 needs is interpreted; the syntax checks are strict
 * (RFC 9112) because a lenient head parser in front of a relay is an
 * invitation to request smuggling and log confusion.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cnx_base64.h"
#include "cnx_http.h"
#include "cnx_ws.h"

typedef struct {
    const char  *name;
    size_t       nlen;
    const char  *val;
    size_t       vlen;
} cnx_http_hdr_t;

static int
cnx_http_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static int
cnx_http_ieq(const char *a, size_t n, const char *b)
{
    size_t  i;

    if (strlen(b) != n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (cnx_http_lower((unsigned char) a[i])
            != cnx_http_lower((unsigned char) b[i]))
        {
            return 0;
        }
    }
    return 1;
}

/* RFC 9110 tchar. */
static int
cnx_http_tchar(int c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9'))
    {
        return 1;
    }
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/*
 * Length of the head including its final CRLF CRLF, 0 if not complete,
 * or CNX_HTTP_ETOOBIG.
 */
static int
cnx_http_head_len(const char *buf, size_t len)
{
    size_t  i, lim = len < CNX_HTTP_MAX_HEAD ? len : CNX_HTTP_MAX_HEAD;

    for (i = 0; i + 4 <= lim; i++) {
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r'
            && buf[i + 3] == '\n')
        {
            return (int) (i + 4);
        }
    }
    return len >= CNX_HTTP_MAX_HEAD ? CNX_HTTP_ETOOBIG : 0;
}

/* Offset of the CRLF ending the line at pos (the head is known to end). */
static size_t
cnx_http_eol(const char *buf, size_t pos)
{
    while (!(buf[pos] == '\r' && buf[pos + 1] == '\n')) {
        pos++;
    }
    return pos;
}

/*
 * Next header line at *pos of a complete head.  Returns 1 and fills h,
 * 0 at the empty line that ends the head, or CNX_HTTP_EBAD.
 */
static int
cnx_http_next_header(const char *buf, size_t *pos, cnx_http_hdr_t *h)
{
    size_t         s = *pos, e, i, colon, vs, ve;
    unsigned char  c;

    e = cnx_http_eol(buf, s);
    if (e == s) {
        *pos = s + 2;
        return 0;
    }
    if (buf[s] == ' ' || buf[s] == '\t') {
        return CNX_HTTP_EBAD;                 /* obs-fold */
    }

    for (colon = s; colon < e && buf[colon] != ':'; colon++) {
        if (!cnx_http_tchar((unsigned char) buf[colon])) {
            return CNX_HTTP_EBAD;             /* includes space before ':' */
        }
    }
    if (colon == e || colon == s) {
        return CNX_HTTP_EBAD;
    }

    for (i = colon + 1; i < e; i++) {
        c = (unsigned char) buf[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return CNX_HTTP_EBAD;             /* CR, LF, NUL, other CTLs */
        }
    }

    vs = colon + 1;
    ve = e;
    while (vs < ve && (buf[vs] == ' ' || buf[vs] == '\t')) {
        vs++;
    }
    while (ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t')) {
        ve--;
    }

    h->name = buf + s;
    h->nlen = colon - s;
    h->val = buf + vs;
    h->vlen = ve - vs;
    *pos = e + 2;
    return 1;
}

/*
 * 1 if the comma-separated list contains the token (case-insensitive).
 * With params set, each element is "token; parameters" and only the part
 * before ';' is compared (Sec-WebSocket-Extensions).
 */
static int
cnx_http_list_has(const char *v, size_t n, const char *token, int params)
{
    size_t  i = 0, s, e, te;

    while (i <= n) {
        s = i;
        while (i < n && v[i] != ',') {
            i++;
        }
        e = i;
        te = e;
        if (params) {
            for (te = s; te < e && v[te] != ';'; te++) {
                /* find the end of the extension name */
            }
        }
        while (s < te && (v[s] == ' ' || v[s] == '\t')) {
            s++;
        }
        while (te > s && (v[te - 1] == ' ' || v[te - 1] == '\t')) {
            te--;
        }
        if (cnx_http_ieq(v + s, te - s, token)) {
            return 1;
        }
        i++;
    }
    return 0;
}

/* "HTTP/1.x" with x a digit >= 1. */
static int
cnx_http_version_ok(const char *p, size_t n)
{
    return n == 8 && memcmp(p, "HTTP/1.", 7) == 0 && p[7] >= '1'
           && p[7] <= '9';
}

int
cnx_http_parse_upgrade(const char *buf, size_t len, cnx_http_upgrade_t *u)
{
    cnx_http_hdr_t  h;
    size_t          pos, e, i, sp1, sp2;
    int             head, rc, upgrade = 0, connection = 0, nhost = 0;
    int             nkey = 0, nver = 0;
    uint8_t         raw[18];
    unsigned char   c;

    memset(u, 0, sizeof(*u));
    u->ws_version = -1;

    head = cnx_http_head_len(buf, len);
    if (head <= 0) {
        return head;
    }

    /* Request line: method SP request-target SP HTTP-version */
    e = cnx_http_eol(buf, 0);
    for (sp1 = 0; sp1 < e && buf[sp1] != ' '; sp1++) {
        if (!cnx_http_tchar((unsigned char) buf[sp1])) {
            return CNX_HTTP_EBAD;
        }
    }
    if (sp1 == 0 || sp1 == e) {
        return CNX_HTTP_EBAD;
    }
    for (sp2 = sp1 + 1; sp2 < e && buf[sp2] != ' '; sp2++) {
        c = (unsigned char) buf[sp2];
        if (c <= 0x20 || c == 0x7f) {
            return CNX_HTTP_EBAD;
        }
    }
    if (sp2 == e || sp2 == sp1 + 1 || buf[sp1 + 1] != '/') {
        return CNX_HTTP_EBAD;
    }
    if (!cnx_http_version_ok(buf + sp2 + 1, e - sp2 - 1)) {
        return CNX_HTTP_EBAD;
    }

    u->method.p = buf;
    u->method.len = sp1;
    u->target.p = buf + sp1 + 1;
    u->target.len = sp2 - sp1 - 1;
    u->path = u->target;
    for (i = 0; i < u->target.len; i++) {
        if (u->target.p[i] == '?') {
            u->path.len = i;
            u->query.p = u->target.p + i + 1;
            u->query.len = u->target.len - i - 1;
            break;
        }
    }

    pos = e + 2;
    for ( ;; ) {
        rc = cnx_http_next_header(buf, &pos, &h);
        if (rc < 0) {
            return rc;
        }
        if (rc == 0) {
            break;
        }
        if (++u->nheaders > CNX_HTTP_MAX_HEADERS) {
            return CNX_HTTP_ETOOBIG;
        }

        if (cnx_http_ieq(h.name, h.nlen, "host")) {
            nhost++;
            u->host.p = h.val;
            u->host.len = h.vlen;

        } else if (cnx_http_ieq(h.name, h.nlen, "upgrade")) {
            upgrade |= cnx_http_list_has(h.val, h.vlen, "websocket", 0);

        } else if (cnx_http_ieq(h.name, h.nlen, "connection")) {
            connection |= cnx_http_list_has(h.val, h.vlen, "upgrade", 0);

        } else if (cnx_http_ieq(h.name, h.nlen, "sec-websocket-key")) {
            nkey++;
            u->key.p = h.val;
            u->key.len = h.vlen;

        } else if (cnx_http_ieq(h.name, h.nlen, "sec-websocket-version")) {
            nver++;
            u->ws_version = -1;
            if (h.vlen >= 1 && h.vlen <= 3) {
                u->ws_version = 0;
                for (i = 0; i < h.vlen; i++) {
                    if (h.val[i] < '0' || h.val[i] > '9') {
                        u->ws_version = -1;
                        break;
                    }
                    u->ws_version = u->ws_version * 10 + (h.val[i] - '0');
                }
            }

        } else if (cnx_http_ieq(h.name, h.nlen, "sec-websocket-extensions")) {
            if (cnx_http_list_has(h.val, h.vlen, "permessage-deflate", 1)) {
                u->deflate_offered = 1;
            }

        } else if (cnx_http_ieq(h.name, h.nlen, "sec-websocket-protocol")) {
            u->protocol.p = h.val;
            u->protocol.len = h.vlen;

        } else if (cnx_http_ieq(h.name, h.nlen, "origin")) {
            u->origin.p = h.val;
            u->origin.len = h.vlen;

        } else if (cnx_http_ieq(h.name, h.nlen, "user-agent")) {
            u->user_agent.p = h.val;
            u->user_agent.len = h.vlen;
        }
    }

    if (!cnx_http_ieq(u->method.p, u->method.len, "GET")
        || memcmp(u->method.p, "GET", 3) != 0)
    {
        return CNX_HTTP_EMETHOD;
    }
    if (nhost != 1 || u->host.len == 0) {
        return CNX_HTTP_EBAD;
    }
    if (!upgrade || !connection) {
        return CNX_HTTP_ENOUPGRADE;
    }
    if (nver != 1 || u->ws_version != 13) {
        return CNX_HTTP_EVERSION;
    }
    if (nkey != 1 || u->key.len != 24
        || cnx_base64_decode(raw, sizeof(raw), u->key.p, u->key.len) != 16)
    {
        return CNX_HTTP_ENOUPGRADE;
    }

    return head;
}

int
cnx_http_error_status(int err)
{
    switch (err) {
    case CNX_HTTP_EMETHOD:
        return 405;
    case CNX_HTTP_EVERSION:
        return 426;
    case CNX_HTTP_ETOOBIG:
        return 431;
    default:
        return 400;
    }
}

static int
cnx_http_fits(int n, size_t cap)
{
    return n >= 0 && (size_t) n < cap ? n : -1;
}

int
cnx_http_build_101(char *out, size_t cap, const char accept[29])
{
    int  n;

    if (out == NULL || accept == NULL || strlen(accept) != 28) {
        return -1;
    }
    n = snprintf(out, cap,
                 "HTTP/1.1 101 Switching Protocols\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n"
                 "\r\n", accept);
    return cnx_http_fits(n, cap);
}

int
cnx_http_build_error(char *out, size_t cap, int status)
{
    const char  *reason, *extra = "";
    char         body[64];
    int          blen, n;

    switch (status) {
    case 400: reason = "Bad Request"; break;
    case 404: reason = "Not Found"; break;
    case 405:
        reason = "Method Not Allowed";
        extra = "Allow: GET\r\n";
        break;
    case 426:
        reason = "Upgrade Required";
        extra = "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n";
        break;
    case 429: reason = "Too Many Requests"; break;
    case 431: reason = "Request Header Fields Too Large"; break;
    case 503: reason = "Service Unavailable"; break;
    default:
        status = 500;
        reason = "Internal Server Error";
        break;
    }

    if (out == NULL) {
        return -1;
    }
    blen = snprintf(body, sizeof(body), "%d %s\n", status, reason);
    n = snprintf(out, cap,
                 "HTTP/1.1 %d %s\r\n"
                 "Content-Type: text/plain\r\n"
                 "Content-Length: %d\r\n"
                 "Connection: close\r\n"
                 "%s"
                 "\r\n"
                 "%s", status, reason, blen, extra, body);
    return cnx_http_fits(n, cap);
}

void
cnx_http_client_key(char key[25])
{
    uint8_t  raw[16];

    randombytes_buf(raw, sizeof(raw));
    (void) cnx_base64_encode(key, 25, raw, sizeof(raw));
}

static int
cnx_http_safe(const char *s, int allow_space)
{
    for ( ; *s != '\0'; s++) {
        if ((unsigned char) *s < 0x20 || *s == 0x7f
            || (*s == ' ' && !allow_space))
        {
            return 0;
        }
    }
    return 1;
}

/*
 * A request head: "METHOD PATH HTTP/1.1", Host, the fields in fields (each
 * line ending in CRLF), the field opt: opt_val when opt_val is not NULL,
 * the fields in more, and the empty line.  Every caller-given text is
 * checked for what would split a line.  Length, or -1.
 */
static int
cnx_http_build_head(char *out, size_t cap, const char *method,
    const char *host, const char *path, const char *fields, const char *opt,
    const char *opt_val, const char *more)
{
    int  n;

    if (out == NULL || method == NULL || host == NULL || path == NULL
        || host[0] == '\0' || path[0] != '/' || !cnx_http_safe(method, 0)
        || !cnx_http_safe(host, 0) || !cnx_http_safe(path, 0)
        || (opt_val != NULL && !cnx_http_safe(opt_val, 1)))
    {
        return -1;
    }
    n = snprintf(out, cap,
                 "%s %s HTTP/1.1\r\n"
                 "Host: %s\r\n"
                 "%s"
                 "%s%s%s%s"
                 "%s"
                 "\r\n", method, path, host, fields,
                 opt_val ? opt : "", opt_val ? ": " : "",
                 opt_val ? opt_val : "", opt_val ? "\r\n" : "", more);
    return cnx_http_fits(n, cap);
}

int
cnx_http_build_request(char *out, size_t cap, const char *host,
    const char *path, const char key[25], const char *user_agent)
{
    char  fields[128];

    if (key == NULL || strlen(key) != 24 || !cnx_http_safe(key, 0)) {
        return -1;
    }
    (void) snprintf(fields, sizeof(fields),
                    "Upgrade: websocket\r\n"
                    "Connection: Upgrade\r\n"
                    "Sec-WebSocket-Key: %s\r\n"
                    "Sec-WebSocket-Version: 13\r\n", key);
    return cnx_http_build_head(out, cap, "GET", host, path, fields,
                               "User-Agent", user_agent, "");
}

/* Status line: HTTP-version SP 3DIGIT SP [reason]; the code, and *e the
 * offset of its CRLF, or CNX_HTTP_EBAD. */
static int
cnx_http_status_line(const char *buf, size_t *e)
{
    *e = cnx_http_eol(buf, 0);
    if (*e < 12 || !cnx_http_version_ok(buf, 8) || buf[8] != ' '
        || buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9'
        || buf[11] < '0' || buf[11] > '9' || (*e > 12 && buf[12] != ' '))
    {
        return CNX_HTTP_EBAD;
    }
    return (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
}

/*
 * The head of a response: its length (0: incomplete, <0: an error), the
 * status code in *code and where the header fields start in *pos.
 */
static int
cnx_http_response_head(const char *buf, size_t len, int *code, size_t *pos)
{
    size_t  e;
    int     head;

    head = cnx_http_head_len(buf, len);
    if (head <= 0) {
        return head;
    }
    *code = cnx_http_status_line(buf, &e);
    if (*code < 0) {
        return *code;
    }
    *pos = e + 2;
    return head;
}

int
cnx_http_parse_response(const char *buf, size_t len, const char key[25],
    int *status)
{
    cnx_http_hdr_t  h;
    size_t          pos;
    int             head, rc, code, upgrade = 0, connection = 0;
    int             naccept = 0, accept_ok = 0, ext = 0;
    char            want[29];

    if (status != NULL) {
        *status = 0;
    }
    head = cnx_http_response_head(buf, len, &code, &pos);
    if (head <= 0) {
        return head;
    }
    if (status != NULL) {
        *status = code;
    }

    if (key == NULL || cnx_ws_accept_key(key, strlen(key), want) != 0) {
        return CNX_HTTP_EBAD;
    }

    for ( ;; ) {
        rc = cnx_http_next_header(buf, &pos, &h);
        if (rc < 0) {
            return rc;
        }
        if (rc == 0) {
            break;
        }
        if (cnx_http_ieq(h.name, h.nlen, "upgrade")) {
            upgrade |= cnx_http_list_has(h.val, h.vlen, "websocket", 0);

        } else if (cnx_http_ieq(h.name, h.nlen, "connection")) {
            connection |= cnx_http_list_has(h.val, h.vlen, "upgrade", 0);

        } else if (cnx_http_ieq(h.name, h.nlen, "sec-websocket-accept")) {
            naccept++;
            accept_ok = h.vlen == 28 && memcmp(h.val, want, 28) == 0;

        } else if (cnx_http_ieq(h.name, h.nlen, "sec-websocket-extensions")
                   || cnx_http_ieq(h.name, h.nlen, "sec-websocket-protocol"))
        {
            ext |= h.vlen > 0;
        }
    }

    if (code != 101) {
        return CNX_HTTP_ESTATUS;
    }
    if (!upgrade || !connection) {
        return CNX_HTTP_ENOUPGRADE;
    }
    if (naccept != 1 || !accept_ok) {
        return CNX_HTTP_EACCEPT;
    }
    if (ext) {
        return CNX_HTTP_EEXT;
    }
    return head;
}

int
cnx_http_build_call(char *out, size_t cap, const char *method,
    const char *host, const char *path, const char *content_type,
    size_t body_len)
{
    char  length[48];

    (void) snprintf(length, sizeof(length), "Content-Length: %zu\r\n",
                    body_len);
    return cnx_http_build_head(out, cap, method, host, path,
                               "Accept: application/json\r\n"
                               "Connection: close\r\n",
                               "Content-Type", content_type, length);
}

int
cnx_http_parse_reply(const char *buf, size_t len, cnx_http_reply_t *r)
{
    cnx_http_hdr_t  h;
    size_t          pos, i;
    int             head, rc, code;
    int64_t         v;

    r->status = 0;
    r->content_length = -1;

    head = cnx_http_response_head(buf, len, &code, &pos);
    if (head <= 0) {
        return head;
    }
    r->status = code;

    for ( ;; ) {
        rc = cnx_http_next_header(buf, &pos, &h);
        if (rc < 0) {
            return rc;
        }
        if (rc == 0) {
            break;
        }
        if (cnx_http_ieq(h.name, h.nlen, "transfer-encoding")) {
            return CNX_HTTP_EBAD;           /* never sent by the servers
                                               we call; refuse, don't guess */
        }
        if (cnx_http_ieq(h.name, h.nlen, "content-length")) {
            if (r->content_length >= 0 || h.vlen == 0 || h.vlen > 15) {
                return CNX_HTTP_EBAD;
            }
            for (i = 0, v = 0; i < h.vlen; i++) {
                if (h.val[i] < '0' || h.val[i] > '9') {
                    return CNX_HTTP_EBAD;
                }
                v = v * 10 + (h.val[i] - '0');
            }
            r->content_length = v;
        }
    }
    return head;
}
