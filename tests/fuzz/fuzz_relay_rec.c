/*
 * Fuzz target: the relay's inter-process records (cnx_relay_rec.h).
 *
 * The input is read as a stream of records, each cut where
 * cnx_relay_rec_length() says (cnx_relay_rec_short_length() for a short
 * one, as in a message between relay nodes; it must then decode).  A
 * record that decodes must encode back to the same bytes (with encode()
 * and with encode_head() plus its payload); its slices must lie inside the
 * input.  Decoding never reads outside the bytes it is given.  The input
 * is also read as one message between relay nodes with
 * cnx_relay_rec_next(), and decoded whole as one short DATA record
 * (cnx_relay_rec_decode_short()), which must encode back the same way.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_relay_rec.h"

#define MAX_PAYLOAD  (1 << 16)

static void
inside(const void *p, size_t n, const uint8_t *buf, size_t len)
{
    const uint8_t  *q = p;

    if (n != 0 && (q < buf || n > len || (size_t) (q - buf) > len - n)) {
        abort();
    }
}

static int
short_data(const uint8_t *data, size_t size)
{
    int              ok = 0;
    long             h;
    uint8_t         *copy, *out;
    cnx_relay_rec_t  r;

    copy = malloc(size ? size : 1);
    out = malloc(size ? size : 1);
    if (copy == NULL || out == NULL) {
        abort();
    }
    memcpy(copy, data, size);

    if (cnx_relay_rec_decode_short(copy, size, MAX_PAYLOAD, &r) == 0) {
        ok = 1;
        inside(r.room, r.room_len, copy, size);
        inside(r.payload, r.payload_len, copy, size);
        h = cnx_relay_rec_encode_short_head(&r, out, size);
        if (h < 0 || (size_t) h + r.payload_len != size
            || memcmp(out, copy, (size_t) h) != 0
            || r.payload != copy + h
            || cnx_relay_rec_encode_short_head(&r, out, (size_t) h - 1)
               != -1)
        {
            abort();
        }
    }
    free(copy);
    free(out);
    return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t               at = 0;
    long                 n, h;
    uint8_t             *copy, *out;
    cnx_relay_rec_t      r;
    cnx_relay_rec_msg_t  msg;

    (void) short_data(data, size);

    /* the input as one message between relay nodes (cnx_relay_rec_next) */
    memset(&msg, 0, sizeof(msg));
    while (at < size) {
        n = cnx_relay_rec_next(&msg, data + at, size - at, MAX_PAYLOAD, &r);
        if (n <= 0) {
            break;
        }
        if ((size_t) n > size - at) {
            abort();
        }
        inside(r.room, r.room_len, data + at, (size_t) n);
        inside(r.payload, r.payload_len, data + at, (size_t) n);
        at += (size_t) n;
    }
    at = 0;

    while (at < size) {
        if (data[at] == CNX_RELAY_REC_SHORT_VERSION) {
            n = cnx_relay_rec_short_length(data + at, size - at, MAX_PAYLOAD);
            if (n <= 0 || (size_t) n > size - at) {
                break;
            }
            if (!short_data(data + at, (size_t) n)) {
                abort();
            }
            at += (size_t) n;
            continue;
        }
        n = cnx_relay_rec_length(data + at, size - at, MAX_PAYLOAD);
        if (n <= 0 || (size_t) n > size - at) {
            break;
        }
        /* an exact copy, so that reading past it is caught */
        copy = malloc((size_t) n);
        out = malloc((size_t) n);
        if (copy == NULL || out == NULL) {
            abort();
        }
        memcpy(copy, data + at, (size_t) n);

        if (cnx_relay_rec_decode(copy, (size_t) n, MAX_PAYLOAD, &r) == 0) {
            inside(r.room, r.room_len, copy, (size_t) n);
            inside(r.name, r.name_len, copy, (size_t) n);
            inside(r.payload, r.payload_len, copy, (size_t) n);
            if (cnx_relay_rec_size(&r) != (size_t) n
                || cnx_relay_rec_encode(&r, out, (size_t) n) != n
                || memcmp(out, copy, (size_t) n) != 0)
            {
                abort();
            }
            h = cnx_relay_rec_encode_head(&r, out, (size_t) n);
            if (h < 0 || (size_t) h + r.payload_len != (size_t) n
                || memcmp(out, copy, (size_t) h) != 0
                || cnx_relay_rec_encode(&r, out, (size_t) n - 1) != -1)
            {
                abort();
            }
        }
        free(copy);
        free(out);
        at += (size_t) n;
    }
    return 0;
}
