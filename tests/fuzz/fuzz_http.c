/*
 * Fuzz target: the HTTP part of the WebSocket handshake (cnx_http.h).
 *
 * Input: one control byte, then the bytes a peer sent.
 *   bit 0 = 0   server side: cnx_http_parse_upgrade() on a request head;
 *               an accepted request must have a 16-byte key and version
 *               13, every shorter prefix must say "need more", and the 101
 *               built for it must satisfy our own client parser.
 *   bit 0 = 1   client side: cnx_http_parse_response() (and the plain
 *               cnx_http_parse_reply()) on a response to
 *               a request sent with the RFC 6455 section 1.3 sample key.
 * Also: a request built by cnx_http_build_request() from input-derived
 * host and path parses on the server side with the same path.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_base64.h"
#include "cnx_http.h"
#include "cnx_ws.h"

/* RFC 6455 section 1.3 example key; its accept value is in the seeds. */
static const char sample_key[25] = "dGhlIHNhbXBsZSBub25jZQ==";

static void
slice_in(const cnx_slice_t *s, const char *buf, size_t len)
{
    if (s->p == NULL) {
        if (s->len != 0) {
            abort();
        }
        return;
    }
    if (s->p < buf || s->len > len || (size_t) (s->p - buf) > len - s->len) {
        abort();
    }
}

static void
check_server(const char *buf, size_t len)
{
    cnx_http_upgrade_t  u;
    uint8_t             raw[CNX_BASE64_DECODED_MAX(64)];
    char                key[25], accept[29], resp[512];
    size_t              k, step;
    int                 rc, rl, st, status;

    memset(&u, 0, sizeof(u));
    rc = cnx_http_parse_upgrade(buf, len, &u);
    if (rc < 0) {
        status = cnx_http_error_status(rc);
        if (status < 400 || status > 599) {
            abort();
        }
        return;
    }
    if (rc == 0) {
        return;
    }
    if ((size_t) rc > len) {
        abort();
    }
    slice_in(&u.method, buf, (size_t) rc);
    slice_in(&u.target, buf, (size_t) rc);
    slice_in(&u.path, buf, (size_t) rc);
    slice_in(&u.query, buf, (size_t) rc);
    slice_in(&u.host, buf, (size_t) rc);
    slice_in(&u.key, buf, (size_t) rc);
    slice_in(&u.origin, buf, (size_t) rc);
    slice_in(&u.user_agent, buf, (size_t) rc);
    slice_in(&u.protocol, buf, (size_t) rc);
    if (u.ws_version != 13 || u.key.p == NULL || u.key.len > 64
        || cnx_base64_decode(raw, sizeof(raw), u.key.p, u.key.len) != 16
        || u.nheaders > CNX_HTTP_MAX_HEADERS
        || memcmp(buf + rc - 4, "\r\n\r\n", 4) != 0)
    {
        abort();
    }

    /* The head arriving in pieces is not an error. */
    step = (size_t) rc / 64 + 1;
    for (k = 0; k < (size_t) rc; k += step) {
        if (cnx_http_parse_upgrade(buf, k, &u) != 0) {
            abort();
        }
    }
    rc = cnx_http_parse_upgrade(buf, len, &u);

    /* Our answer satisfies our client. */
    memcpy(key, u.key.p, 24);
    key[24] = '\0';
    if (cnx_ws_accept_key(u.key.p, u.key.len, accept) != 0) {
        abort();
    }
    rl = cnx_http_build_101(resp, sizeof(resp), accept);
    if (rl <= 0 || (size_t) rl >= sizeof(resp)) {
        abort();
    }
    st = 0;
    if (cnx_http_parse_response(resp, (size_t) rl, key, &st) != rl) {
        abort();
    }
}

static void
check_client(const char *buf, size_t len)
{
    int  rc, st = -1;

    rc = cnx_http_parse_response(buf, len, sample_key, &st);
    if (rc > 0) {
        if ((size_t) rc > len || memcmp(buf + rc - 4, "\r\n\r\n", 4) != 0) {
            abort();
        }
    } else if (rc < 0 && rc < CNX_HTTP_EEXT) {
        abort();
    }

    /* the registry client's plain reply parser on the same bytes */
    {
        cnx_http_reply_t  r;

        rc = cnx_http_parse_reply(buf, len, &r);
        if (rc > 0) {
            if ((size_t) rc > len || memcmp(buf + rc - 4, "\r\n\r\n", 4) != 0
                || r.status < 100 || r.status > 599
                || r.content_length < -1)
            {
                abort();
            }
        } else if (rc < 0 && rc != CNX_HTTP_EBAD && rc != CNX_HTTP_ETOOBIG) {
            abort();
        }
    }
}

/* Request built from input-chosen host and path must parse back. */
static void
check_request(const uint8_t *p, size_t n)
{
    static const char hchars[] = "abcdefghijklmnopqrstuvwxyz0123456789.-:";
    static const char pchars[] = "abcdefghijklmnopqrstuvwxyz0123456789/_-.?=&";
    cnx_http_upgrade_t  u;
    char                host[40], path[42], req[1024], key[25];
    size_t              i, hn, pn;
    int                 rl, rc;

    hn = n < 32 ? n : 32;
    for (i = 0; i < hn; i++) {
        host[i] = hchars[p[i] % (sizeof(hchars) - 1)];
    }
    host[hn] = '\0';
    if (hn == 0) {
        strcpy(host, "relay.test");
    }
    path[0] = '/';
    pn = n > 32 ? n - 32 : 0;
    pn = pn < 40 ? pn : 40;
    for (i = 0; i < pn; i++) {
        path[1 + i] = pchars[p[32 + i] % (sizeof(pchars) - 1)];
    }
    path[1 + pn] = '\0';

    cnx_http_client_key(key);
    rl = cnx_http_build_request(req, sizeof(req), host, path, key,
        n & 1 ? "fuzz/1" : NULL);
    if (rl <= 0) {
        abort();
    }
    memset(&u, 0, sizeof(u));
    rc = cnx_http_parse_upgrade(req, (size_t) rl, &u);
    if (rc != rl || u.target.len != strlen(path)
        || memcmp(u.target.p, path, u.target.len) != 0
        || u.host.len != strlen(host)
        || memcmp(u.host.p, host, u.host.len) != 0)
    {
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
        check_client(buf, size - 1);
    } else {
        check_server(buf, size - 1);
    }
    check_request(data + 1, size - 1);
    free(buf);
    return 0;
}
