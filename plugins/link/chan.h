/*
 * clawnexus-link: a channel is one end-to-end session with one peer over
 * one carrier (a relay room, or a direct TCP connection).  It owns the
 * cnx_session_t (v1/v2 negotiation, sealing) and checks the peer's static
 * key against the pin store; the carrier only moves payloads.
 */

#ifndef CNX_LINK_CHAN_H
#define CNX_LINK_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "carrier.h"
#include "cnx_session.h"

typedef struct link_chan_s link_chan_t;

typedef struct {
    cnx_session_mode_t mode;
    int                have_static;
    uint8_t            static_sk[32];
    uint8_t            static_pk[32];
    char               pins_path[1024];
    int                tofu;            /* pin unknown peers on first use */
    const struct link_config_s *cfg;    /* configured keys, or NULL */
} link_sec_t;

/*
 * Load (creating) the static key and locate the pin store, for mode.
 * v1 mode needs neither.  Prints one line and returns -1 on error.
 */
int link_sec_init(link_sec_t *sec, cnx_session_mode_t mode);
void link_sec_wipe(link_sec_t *sec);
/* "v1" | "v2" | "auto" -> mode; -1 if unknown. */
int link_sec_mode(const char *s, cnx_session_mode_t *mode);

typedef struct {
    void (*ready)(link_chan_t *ch, void *ud);
    void (*record)(link_chan_t *ch, const cnx_record_t *rec, void *ud);
    /* The session failed or ended; exit code and one line. */
    void (*failed)(link_chan_t *ch, int code, const char *why, void *ud);
} link_chan_cbs_t;

link_chan_t *link_chan_new(const link_sec_t *sec, const char *peer,
    int initiator, const link_chan_cbs_t *cbs, void *ud);
void link_chan_free(link_chan_t *ch);

/* Attach the carrier (copied; see carrier.h).  Records whose data has
 * room in front (link_chan_send_room()) are sealed straight into the
 * carrier's output buffer when it offers reserve/commit. */
void link_chan_set_carrier(link_chan_t *ch, const link_carrier_t *car);

/*
 * Optional: where a received binary record (n bytes: header and body) may
 * be decrypted, so that its body lands where the record's consumer keeps
 * it and is not copied there (NULL: the channel's own buffer).  done is
 * called after decrypting, before the record callback, also when the
 * record was rejected.
 */
typedef uint8_t *(*link_chan_plain_at)(void *ud, size_t n);
typedef void (*link_chan_plain_done)(void *ud);
void link_chan_plain(link_chan_t *ch, link_chan_plain_at at,
    link_chan_plain_done done, void *ud);

/* The carrier does not authenticate the peer's name (a direct
 * connection): check an existing pin, never create one. */
void link_chan_no_pin(link_chan_t *ch);

/* Send our KEY_EXCHANGE.  0 or -1. */
int link_chan_start(link_chan_t *ch);

/* A payload from the carrier. */
void link_chan_input(link_chan_t *ch, const uint8_t *p, size_t n,
    int binary);

int link_chan_send(link_chan_t *ch, const cnx_record_t *rec);
/*
 * As link_chan_send(), for a record whose data has CNX_RECORD_HDR bytes of
 * writable room in front of it (overwritten): the record header is put
 * there and the whole is sealed into the carrier's buffer, no copy made.
 */
int link_chan_send_room(link_chan_t *ch, const cnx_record_t *rec);
int link_chan_send_text(link_chan_t *ch, const char *text, size_t n);
/* Tell the peer we end the session on purpose (v2 CLOSE record; v1 has
 * none: -1). */
int link_chan_close(link_chan_t *ch);

int  link_chan_ready(const link_chan_t *ch);
int  link_chan_version(const link_chan_t *ch);
const char *link_chan_peer(const link_chan_t *ch);
void *link_chan_ud(const link_chan_t *ch);
void link_chan_set_ud(link_chan_t *ch, void *ud);

#endif
