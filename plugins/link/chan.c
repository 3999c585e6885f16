/*
 * clawnexus-link: one end-to-end session over one carrier.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_identity.h"
#include "cnx_session.h"
#include "auth.h"
#include "chan.h"
#include "link.h"
#include "link_config.h"

struct link_chan_s {
    cnx_session_t   *s;
    link_chan_cbs_t  cbs;
    void            *ud;
    link_carrier_t   car;
    link_chan_plain_at plain_at;
    link_chan_plain_done plain_done;
    void            *plain_ud;
    int              ready;
    int              failed;
    int              had_pin;
    int              tofu;          /* may pin an unknown peer */
    const link_sec_t *sec;
    char             peer[256];
    uint8_t         *wire;          /* CNX_SESSION_WIRE_MAX */
    uint8_t         *plain;         /* CNX_RECORD_MAX + header */
    char            *reply;         /* CNX_SESSION_WIRE_MAX */
};

static int pin_lookup(const link_sec_t *sec, const char *name,
    uint8_t pk[32], char *err, size_t errlen);

int
link_sec_mode(const char *s, cnx_session_mode_t *mode)
{
    if (strcmp(s, "v1") == 0) {
        *mode = CNX_SESSION_V1;
    } else if (strcmp(s, "v2") == 0) {
        *mode = CNX_SESSION_V2;
    } else if (strcmp(s, "auto") == 0) {
        *mode = CNX_SESSION_AUTO;
    } else {
        return -1;
    }
    return 0;
}

int
link_sec_init(link_sec_t *sec, cnx_session_mode_t mode)
{
    char path[1024], err[512];

    memset(sec, 0, sizeof(*sec));
    sec->mode = mode;
    sec->tofu = 1;
    if (cnx_crypto_init() != 0) {
        link_err("cannot initialise the crypto library");
        return -1;
    }
    if (mode == CNX_SESSION_V1) {
        return 0;
    }
    if (cnx_identity_default_key(path, sizeof(path)) != 0
        || cnx_identity_default_pins(sec->pins_path,
                                     sizeof(sec->pins_path)) != 0)
    {
        link_err("cannot locate ~/.clawnexus/edge ($HOME too long?)");
        return -1;
    }
    if (cnx_identity_load(path, sec->static_sk, sec->static_pk, err,
                          sizeof(err)) != 0)
    {
        link_err("%s", err);
        return -1;
    }
    sec->have_static = 1;
    return 0;
}

void
link_sec_wipe(link_sec_t *sec)
{
    cnx_memzero(sec->static_sk, sizeof(sec->static_sk));
    sec->have_static = 0;
}

link_chan_t *
link_chan_new(const link_sec_t *sec, const char *peer, int initiator,
    const link_chan_cbs_t *cbs, void *ud)
{
    cnx_session_config_t cfg;
    link_chan_t         *ch;
    uint8_t              pin[32];
    char                 err[512];
    int                  rc = 0;

    ch = calloc(1, sizeof(*ch));
    if (ch == NULL) {
        return NULL;
    }
    ch->cbs = *cbs;
    ch->ud = ud;
    ch->sec = sec;
    ch->tofu = sec->tofu;
    snprintf(ch->peer, sizeof(ch->peer), "%s", peer);
    ch->wire = malloc(CNX_SESSION_WIRE_MAX);
    ch->plain = malloc(CNX_RECORD_MAX + CNX_RECORD_HDR + 64);
    ch->reply = malloc(CNX_SESSION_WIRE_MAX);
    if (ch->wire == NULL || ch->plain == NULL || ch->reply == NULL) {
        link_chan_free(ch);
        return NULL;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.role = initiator ? CNX_NOISE_INITIATOR : CNX_NOISE_RESPONDER;
    cfg.mode = sec->mode;
    cfg.static_sk = sec->have_static ? sec->static_sk : NULL;
    if (sec->have_static && peer[0] != '\0') {
        rc = pin_lookup(sec, peer, pin, err, sizeof(err));
        if (rc < 0) {
            link_err("%s", err);
            link_chan_free(ch);
            return NULL;
        }
        if (rc == 1) {
            cfg.peer_pin = pin;
            ch->had_pin = 1;
        }
    }
    ch->s = cnx_session_new(&cfg);
    cnx_memzero(pin, sizeof(pin));
    if (ch->s == NULL) {
        link_chan_free(ch);
        return NULL;
    }
    return ch;
}

void
link_chan_free(link_chan_t *ch)
{
    if (ch == NULL) {
        return;
    }
    cnx_session_free(ch->s);
    if (ch->plain) {
        cnx_memzero(ch->plain, CNX_RECORD_MAX + CNX_RECORD_HDR + 64);
    }
    free(ch->wire);
    free(ch->plain);
    free(ch->reply);
    free(ch);
}

void
link_chan_set_carrier(link_chan_t *ch, const link_carrier_t *car)
{
    ch->car = *car;
}

void
link_chan_plain(link_chan_t *ch, link_chan_plain_at at,
    link_chan_plain_done done, void *ud)
{
    ch->plain_at = at;
    ch->plain_done = done;
    ch->plain_ud = ud;
}

int
link_chan_ready(const link_chan_t *ch)
{
    return ch->ready && !ch->failed;
}

int
link_chan_version(const link_chan_t *ch)
{
    return cnx_session_version(ch->s);
}

const char *
link_chan_peer(const link_chan_t *ch)
{
    return ch->peer;
}

void *
link_chan_ud(const link_chan_t *ch)
{
    return ch->ud;
}

void
link_chan_set_ud(link_chan_t *ch, void *ud)
{
    ch->ud = ud;
}

static void
chan_fail(link_chan_t *ch, int code, const char *why)
{
    if (ch->failed) {
        return;
    }
    ch->failed = 1;
    if (ch->cbs.failed) {
        ch->cbs.failed(ch, code, why, ch->ud);
    }
}

int
link_chan_start(link_chan_t *ch)
{
    int n = cnx_session_start(ch->s, ch->reply, CNX_SESSION_WIRE_MAX);

    if (n < 0) {
        link_err("%s: %s", ch->peer, cnx_session_error(ch->s));
        return -1;
    }
    return ch->car.ops->send(ch->car.c, (const uint8_t *) ch->reply,
                             (size_t) n, 0);
}

/* The pin of name: under its canonical form, or (pins written before
 * names were canonical) under the name as given.  1, 0 or -1. */
static int
pin_lookup(const link_sec_t *sec, const char *name, uint8_t pk[32],
    char *err, size_t errlen)
{
    char canon[300];
    int  rc;

    if (link_name_canon(name, canon, sizeof(canon)) != 0) {
        snprintf(err, errlen, "'%s': name too long", name);
        return -1;
    }
    rc = cnx_pins_lookup(sec->pins_path, canon, pk, err, errlen);
    if (rc == 0 && strcmp(canon, name) != 0) {
        rc = cnx_pins_lookup(sec->pins_path, name, pk, err, errlen);
    }
    return rc;
}

/* After a v2 handshake: check the peer's key against its pin, and pin a
 * peer seen for the first time when the carrier authenticated its name. */
static int
chan_pin(link_chan_t *ch)
{
    const uint8_t *pk = cnx_session_peer_static(ch->s);
    uint8_t        pinned[32];
    char           err[512], fa[CNX_FINGERPRINT_LEN], fb[CNX_FINGERPRINT_LEN];
    char           canon[300], line[900];
    const link_peer_cfg_t *pc;
    int            rc;

    if (pk == NULL || !ch->sec->have_static || ch->peer[0] == '\0') {
        return 0;
    }
    cnx_identity_fingerprint(fb, pk);
    rc = pin_lookup(ch->sec, ch->peer, pinned, err, sizeof(err));
    if (rc < 0) {
        chan_fail(ch, LINK_EXIT_SESSION, err);
        return -1;
    }
    if (rc == 1) {
        if (cnx_ct_compare(pinned, pk, 32) == 0) {
            cnx_memzero(pinned, sizeof(pinned));
            return 0;
        }
        cnx_identity_fingerprint(fa, pinned);
        cnx_memzero(pinned, sizeof(pinned));
        snprintf(line, sizeof(line), "the key of %s changed: pinned %s, "
                 "presented %s; refused.  If the change is expected "
                 "(reinstalled peer): clawnexus-link forget %s", ch->peer,
                 fa, fb, ch->peer);
        chan_fail(ch, LINK_EXIT_SESSION, line);
        return -1;
    }
    pc = ch->sec->cfg ? link_config_peer(ch->sec->cfg, ch->peer) : NULL;
    if (pc != NULL && pc->key[0] != '\0') {
        /* a key the user configured authenticates the name on any
         * carrier */
        if (strcmp(pc->key, fb) != 0) {
            snprintf(line, sizeof(line), "%s presented %s, but the "
                     "configuration says its key is %s; refused", ch->peer,
                     fb, pc->key);
            chan_fail(ch, LINK_EXIT_SESSION, line);
            return -1;
        }
    } else if (!ch->tofu) {
        link_debug("%s presented %s; not pinned (the name is not "
                   "authenticated on this carrier)", ch->peer, fb);
        return 0;
    }
    if (link_name_canon(ch->peer, canon, sizeof(canon)) != 0
        || cnx_pins_set(ch->sec->pins_path, canon, pk, err, sizeof(err))
           != 0)
    {
        chan_fail(ch, LINK_EXIT_SESSION, err);
        return -1;
    }
    link_debug("pinned %s to %s (first use)", canon, fb);
    return 0;
}

void
link_chan_no_pin(link_chan_t *ch)
{
    ch->tofu = 0;
}

void
link_chan_input(link_chan_t *ch, const uint8_t *p, size_t n, int binary)
{
    cnx_record_t rec;
    uint8_t     *dst = NULL;
    size_t       rl = 0;
    int          rc;

    if (ch->failed) {
        return;
    }
    if (binary && ch->ready && ch->plain_at != NULL
        && n > CNX_AEAD_TAGBYTES + CNX_RECORD_HDR
        && n <= CNX_AEAD_TAGBYTES + CNX_RECORD_HDR + CNX_RECORD_MAX)
    {
        /* decrypt where the consumer wants the body */
        dst = ch->plain_at(ch->plain_ud, n - CNX_AEAD_TAGBYTES);
    }
    rc = cnx_session_recv(ch->s, p, n, binary, ch->reply,
                          CNX_SESSION_WIRE_MAX, &rl,
                          dst != NULL ? dst : ch->plain,
                          dst != NULL ? n - CNX_AEAD_TAGBYTES
                                      : CNX_RECORD_MAX + CNX_RECORD_HDR + 64,
                          &rec);
    if (dst != NULL) {
        ch->plain_done(ch->plain_ud);
    }
    if (rc == CNX_SE_REJECTED) {
        link_debug("%s: dropped a message that failed authentication",
                   ch->peer);
        return;
    }
    if (rc == CNX_SE_NOSPACE) {
        /* larger than a record (64 KiB): dropped, the session goes on */
        link_err("%s: dropped a message larger than %u bytes", ch->peer,
                 (unsigned) CNX_RECORD_MAX);
        return;
    }
    if (rc == CNX_SE_CLOSED) {
        char why[300];

        snprintf(why, sizeof(why), "%s left", ch->peer);
        chan_fail(ch, LINK_EXIT_PEER_LEFT, why);
        return;
    }
    if (rc < 0) {
        char why[1100];

        snprintf(why, sizeof(why), "session with %s failed: %s%s%s",
                 ch->peer, cnx_session_error(ch->s),
                 rc == CNX_SE_PIN ? ".  If the change is expected "
                                    "(reinstalled peer): clawnexus-link "
                                    "forget " : "",
                 rc == CNX_SE_PIN ? ch->peer : "");
        chan_fail(ch, rc == CNX_SE_INTERNAL || rc == CNX_SE_NOSPACE
                      ? LINK_EXIT_FAIL : LINK_EXIT_SESSION, why);
        return;
    }
    if (rc & CNX_SESSION_REPLY) {
        if (ch->car.ops->send(ch->car.c, (const uint8_t *) ch->reply, rl, 0)
            != 0)
        {
            chan_fail(ch, LINK_EXIT_UNREACHABLE, "cannot send to the carrier");
            return;
        }
    }
    if (rc & CNX_SESSION_ESTABLISHED) {
        if (cnx_session_version(ch->s) >= 2 && chan_pin(ch) != 0) {
            return;
        }
        ch->ready = 1;
        if (ch->cbs.ready) {
            ch->cbs.ready(ch, ch->ud);
        }
        if (ch->failed) {
            return;
        }
    }
    if ((rc & CNX_SESSION_RECORD) && ch->ready && ch->cbs.record) {
        ch->cbs.record(ch, &rec, ch->ud);
    }
}

int
link_chan_send(link_chan_t *ch, const cnx_record_t *rec)
{
    size_t len = 0;
    int    bin, rc;

    if (!ch->ready || ch->failed) {
        return -1;
    }
    bin = ch->car.binary && cnx_session_version(ch->s) >= 2;
    rc = cnx_session_seal(ch->s, bin, ch->wire, CNX_SESSION_WIRE_MAX, &len,
                          rec);
    if (rc < 0) {
        return -1;
    }
    return ch->car.ops->send(ch->car.c, ch->wire, len, bin);
}

int
link_chan_send_room(link_chan_t *ch, const cnx_record_t *rec)
{
    uint8_t *enc, *out;
    size_t   len = 0, cap;
    int      rc;

    if (!ch->ready || ch->failed || !ch->car.binary
        || cnx_session_version(ch->s) < 2 || rec->len > CNX_RECORD_MAX)
    {
        return link_chan_send(ch, rec);
    }
    /* the header goes into the room before the body */
    enc = (uint8_t *) rec->data - CNX_RECORD_HDR;
    if (cnx_record_encode(enc, CNX_RECORD_HDR + rec->len, rec) < 0) {
        return -1;
    }
    cap = CNX_RECORD_HDR + rec->len + CNX_AEAD_TAGBYTES;
    out = ch->car.ops->reserve != NULL ? ch->car.ops->reserve(ch->car.c, cap)
                                       : NULL;
    if (out != NULL) {
        /* sealed straight into the carrier's output buffer */
        rc = cnx_session_seal_encoded(ch->s, out, cap, &len, enc,
                                      CNX_RECORD_HDR + rec->len);
        return rc < 0 ? -1 : ch->car.ops->commit(ch->car.c, len);
    }
    rc = cnx_session_seal_encoded(ch->s, ch->wire, CNX_SESSION_WIRE_MAX, &len,
                                  enc, CNX_RECORD_HDR + rec->len);
    if (rc < 0) {
        return -1;
    }
    return ch->car.ops->send(ch->car.c, ch->wire, len, 1);
}

int
link_chan_close(link_chan_t *ch)
{
    cnx_record_t rec;

    if (!ch->ready || cnx_session_version(ch->s) < 2) {
        return -1;
    }
    memset(&rec, 0, sizeof(rec));
    rec.type = CNX_RECORD_CLOSE;
    return link_chan_send(ch, &rec);
}

int
link_chan_send_text(link_chan_t *ch, const char *text, size_t n)
{
    cnx_record_t rec;

    memset(&rec, 0, sizeof(rec));
    rec.type = CNX_RECORD_TEXT;
    rec.data = (const uint8_t *) text;
    rec.len = n;
    return link_chan_send(ch, &rec);
}
