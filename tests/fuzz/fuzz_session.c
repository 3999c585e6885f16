/*
 * Fuzz target: the whole session state machine (cnx_session.h): v1
 * KEY_EXCHANGE and ciphertext, v2 negotiation, Noise messages carried as
 * {"_type":"CNX_V2",...} payloads, v2 records in text and binary form.
 *
 * Input: two control bytes, then data.
 *   ctl0 bit 7 = 1   injection: a fresh session (mode from bits 0-1,
 *                    role from bit 2) sends its KEY_EXCHANGE and then
 *                    receives the data as payloads, each prefixed by a
 *                    16-bit little-endian length (top bit: binary frame).
 *   ctl0 bit 7 = 0   a relay in the middle: initiator A (mode bits 0-1)
 *                    and responder B (mode bits 2-3) negotiate; the
 *                    relayed message number ctl1 & 15 is replaced by
 *                    (ctl1 bit 4 = 0) or XORed with (bit 4 = 1) the data
 *                    up to the first 0xff byte; the rest is then sent
 *                    from A to B as a record.
 * Modes: 0 AUTO, 1 V1, 2 V2, 3 AUTO with the peer's static key pinned.
 * Checks: results are documented codes; nothing the relay made up is
 * ever delivered as a record; a pinned or V2-only side never settles on
 * v1; without tampering compatible sides establish the expected version
 * and records arrive intact; in v2 a replayed or reflected record is
 * refused.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_crypto.h"
#include "cnx_session.h"

#define QMAX  64

typedef struct {
    uint8_t  *p;
    size_t    len;
    int       binary;
    int       to;           /* 0 = A, 1 = B */
} qmsg_t;

static uint8_t  sk[2][32], pk[2][32];
static char     reply[CNX_SESSION_WIRE_MAX];
static uint8_t  plain[CNX_RECORD_MAX + CNX_RECORD_HDR];
static uint8_t  sealed[CNX_SESSION_WIRE_MAX];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    if (cnx_crypto_init() != 0) {
        abort();
    }
    memset(sk[0], 0x51, 32);
    memset(sk[1], 0x62, 32);
    if (cnx_x25519_public(pk[0], sk[0]) != 0
        || cnx_x25519_public(pk[1], sk[1]) != 0)
    {
        abort();
    }
    return 0;
}

static int
documented(int rc)
{
    return rc >= 0 ? rc <= (CNX_SESSION_REPLY | CNX_SESSION_RECORD
                            | CNX_SESSION_ESTABLISHED)
                   : rc >= CNX_SE_CLOSED;
}

static cnx_session_t *
make(int mode, int role, const uint8_t *pin)
{
    cnx_session_config_t cfg;
    cnx_session_t       *s;

    memset(&cfg, 0, sizeof(cfg));
    cfg.role = role == 0 ? CNX_NOISE_INITIATOR : CNX_NOISE_RESPONDER;
    cfg.mode = mode == 3 ? CNX_SESSION_AUTO : (cnx_session_mode_t) mode;
    cfg.static_sk = sk[role];
    cfg.peer_pin = mode == 3 ? pin : NULL;
    cfg.rekey_after = 3;
    s = cnx_session_new(&cfg);
    if (s == NULL) {
        abort();
    }
    return s;
}

static int
recv1(cnx_session_t *s, const uint8_t *p, size_t n, int binary,
    size_t *rlen, cnx_record_t *rec)
{
    int rc;

    memset(rec, 0, sizeof(*rec));
    rc = cnx_session_recv(s, p, n, binary, reply, sizeof(reply), rlen,
        plain, sizeof(plain), rec);
    if (!documented(rc) || cnx_session_error(s) == NULL) {
        abort();
    }
    if (rc >= 0 && (rc & CNX_SESSION_REPLY)
        && (*rlen == 0 || *rlen >= sizeof(reply)))
    {
        abort();
    }
    if (rc >= 0 && (rc & CNX_SESSION_RECORD)
        && (rec->len > CNX_RECORD_MAX
            || (rec->len > 0 && (rec->data < plain
                || rec->data + rec->len > plain + sizeof(plain)))))
    {
        abort();
    }
    return rc;
}

static void
inject(const uint8_t *data, size_t size, unsigned ctl)
{
    cnx_session_t *s;
    cnx_record_t   rec;
    uint8_t       *p;
    size_t         off, n, rlen;
    int            rc, binary;

    s = make(ctl & 3, (ctl >> 2) & 1, pk[!((ctl >> 2) & 1)]);
    if (cnx_session_start(s, reply, sizeof(reply)) <= 0) {
        abort();
    }
    for (off = 0; off + 2 <= size; off += n) {
        n = (size_t) data[off] | (size_t) (data[off + 1] & 0x7f) << 8;
        binary = data[off + 1] >> 7;
        off += 2;
        if (n > size - off) {
            n = size - off;
        }
        p = malloc(n ? n : 1);
        if (p == NULL) {
            break;
        }
        memcpy(p, data + off, n);
        rc = recv1(s, p, n, binary, &rlen, &rec);
        free(p);
        /* The injector has no key: it cannot produce a record. */
        if (rc >= 0 && (rc & CNX_SESSION_RECORD)) {
            abort();
        }
        if (rc < 0 && rc != CNX_SE_REJECTED) {
            break;
        }
    }
    cnx_session_free(s);
}

static void
relay(const uint8_t *data, size_t size, unsigned ctl0, unsigned ctl1)
{
    cnx_session_t *s[2];
    qmsg_t         q[QMAX];
    cnx_record_t   rec, out;
    const uint8_t *app, *end;
    size_t         qh = 0, qt = 0, tlen, alen, rlen, slen, i, n;
    unsigned       target = ctl1 & 15, k = 0;
    int            mode[2], rc, tampered = 0, failed[2] = { 0, 0 };
    int            v[2], want;

    mode[0] = ctl0 & 3;
    mode[1] = (ctl0 >> 2) & 3;
    s[0] = make(mode[0], 0, pk[1]);
    s[1] = make(mode[1], 1, pk[0]);

    end = memchr(data, 0xff, size);
    tlen = end ? (size_t) (end - data) : size;
    app = end ? end + 1 : data + size;
    alen = (size_t) (data + size - app);

    for (i = 0; i < 2; i++) {
        rc = cnx_session_start(s[i], reply, sizeof(reply));
        if (rc <= 0) {
            abort();
        }
        q[qt].p = malloc((size_t) rc);
        memcpy(q[qt].p, reply, (size_t) rc);
        q[qt].len = (size_t) rc;
        q[qt].binary = 0;
        q[qt].to = !i;
        qt++;
    }

    while (qh < qt) {
        qmsg_t *m = &q[qh++];

        if (k++ == target) {
            uint8_t *t = m->p;

            if (ctl1 & 16) {
                n = m->len > tlen ? m->len : tlen;
                t = calloc(1, n ? n : 1);
                memcpy(t, m->p, m->len);
                for (i = 0; i < tlen; i++) {
                    t[i] ^= data[i];
                }
            } else {
                n = tlen;
                t = malloc(n ? n : 1);
                memcpy(t, data, n);
            }
            tampered = n != m->len || memcmp(t, m->p, n) != 0;
            free(m->p);
            m->p = t;
            m->len = n;
        }
        if (!failed[m->to]) {
            rc = recv1(s[m->to], m->p, m->len, m->binary, &rlen, &rec);
            if (rc >= 0 && (rc & CNX_SESSION_RECORD)) {
                abort();            /* no record was sent yet */
            }
            if (rc < 0 && rc != CNX_SE_REJECTED) {
                failed[m->to] = 1;
            }
            if (rc >= 0 && (rc & CNX_SESSION_REPLY) && qt < QMAX) {
                q[qt].p = malloc(rlen);
                memcpy(q[qt].p, reply, rlen);
                q[qt].len = rlen;
                q[qt].binary = 0;
                q[qt].to = !m->to;
                qt++;
            }
        }
        free(m->p);
        m->p = NULL;
    }

    for (i = 0; i < 2; i++) {
        v[i] = cnx_session_established(s[i]) ? cnx_session_version(s[i]) : 0;
        /* No downgrade: a pinned or V2-only side never runs v1. */
        if ((mode[i] == 2 || mode[i] == 3) && v[i] == 1) {
            abort();
        }
        if (v[i] == 2 && cnx_session_peer_static(s[i]) != NULL
            && memcmp(cnx_session_peer_static(s[i]), pk[!i], 32) != 0)
        {
            abort();                /* v2 authenticated the wrong peer */
        }
    }
    if (!tampered) {
        if (mode[0] != 1 && mode[1] != 1) {
            want = 2;
        } else if ((mode[0] == 1 || mode[0] == 0)
                   && (mode[1] == 1 || mode[1] == 0))
        {
            want = 1;
        } else {
            want = 0;               /* incompatible: must not settle */
        }
        if (want != 0 && (v[0] != want || v[1] != want)) {
            abort();
        }
    }

    /* A record from A to B. */
    if (v[0] != 0 && v[1] != 0) {
        int binary = v[0] == 2 && (ctl1 & 32);

        if (alen > 2048) {
            alen = 2048;
        }
        memset(&out, 0, sizeof(out));
        out.type = CNX_RECORD_TEXT;
        out.data = app;
        out.len = alen;
        if (cnx_session_seal(s[0], binary, sealed, sizeof(sealed), &slen,
                &out) != 0)
        {
            /* v1 carries only valid text. */
            goto done;
        }
        rc = recv1(s[1], sealed, slen, binary, &rlen, &rec);
        if (rc >= 0 && (rc & CNX_SESSION_RECORD)) {
            if (rec.type != CNX_RECORD_TEXT || rec.len != alen
                || (alen && memcmp(rec.data, app, alen) != 0))
            {
                abort();
            }
        } else if (!tampered) {
            abort();                /* an intact record was refused */
        }
        if (v[0] == 2 && v[1] == 2) {
            /* Replay to B and reflection to A are refused. */
            rc = recv1(s[1], sealed, slen, binary, &rlen, &rec);
            if (rc >= 0 && (rc & CNX_SESSION_RECORD)) {
                abort();
            }
            rc = recv1(s[0], sealed, slen, binary, &rlen, &rec);
            if (rc >= 0 && (rc & CNX_SESSION_RECORD)) {
                abort();
            }
        }
    }
done:
    for (i = qh; i < qt; i++) {
        free(q[i].p);
    }
    cnx_session_free(s[0]);
    cnx_session_free(s[1]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    if (data[0] & 0x80) {
        inject(data + 2, size - 2, data[0]);
    } else {
        relay(data + 2, size - 2, data[0], data[1]);
    }
    return 0;
}
