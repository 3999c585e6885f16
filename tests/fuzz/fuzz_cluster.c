/*
 * Fuzz target: relay cluster records and owner values (cnx_cluster.h).
 *
 * Input: one control byte, then bytes.
 *   bit 0 = 0   a node record: cnx_cluster_rec_parse() with a max body
 *               from bits 1..3; an accepted record is written again and
 *               must come out byte for byte, every slice inside the input;
 *   bit 0 = 1   the rest is split at the first byte 0 into an owner value
 *               and a stream of credit events; a parsed owner is
 *               formatted and must give the same bytes; the credit events
 *               must keep the window's bound.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_cluster.h"

static void
inside(const void *p, size_t n, const uint8_t *buf, size_t len)
{
    const uint8_t *q = p;

    if (n == 0) {
        return;
    }
    if (q < buf || n > len || (size_t) (q - buf) > len - n) {
        abort();
    }
}

static void
record(const uint8_t *data, size_t len, size_t max_body)
{
    cnx_cluster_rec_t r;
    uint8_t          *out;
    long              n;

    if (cnx_cluster_rec_parse(data, len, max_body, &r) != 0) {
        if (r.type != CNX_CLUSTER_UNKNOWN) {
            abort();
        }
        return;
    }
    inside(r.route, r.route_len, data, len);
    inside(r.room, r.room_len, data, len);
    inside(r.a, r.a_len, data, len);
    inside(r.b, r.b_len, data, len);
    if (r.b_len > max_body || cnx_cluster_rec_size(&r) != len
        || strcmp(cnx_cluster_type_name(r.type), "UNKNOWN") == 0)
    {
        abort();
    }

    out = malloc(len);
    if (out == NULL) {
        abort();
    }
    n = cnx_cluster_rec_write(out, len, &r);
    if (n != (long) len || memcmp(out, data, len) != 0) {
        abort();
    }
    if (len > 0 && cnx_cluster_rec_write(out, len - 1, &r) != -1) {
        abort();
    }
    free(out);
}

static void
owner_and_credit(const uint8_t *data, size_t len)
{
    cnx_cluster_owner_t o;
    cnx_credit_tx_t     tx;
    cnx_credit_rx_t     rx;
    const uint8_t      *z = memchr(data, 0, len);
    size_t              olen = z ? (size_t) (z - data) : len, i;
    char                buf[CNX_CLUSTER_OWNER_MAX + 1];
    long                n;
    uint64_t            g, inflight;

    if (cnx_cluster_owner_parse((const char *) data, olen, &o) == 0) {
        n = cnx_cluster_owner_format(buf, sizeof(buf), &o);
        if (n != (long) olen || memcmp(buf, data, olen) != 0) {
            abort();
        }
    }
    if (z == NULL) {
        return;
    }

    /* credit: 1 = send up to 64 KiB if open, 0 = deliver some bytes */
    cnx_credit_tx_init(&tx, 4096);
    cnx_credit_rx_init(&rx, 4096);
    for (i = olen + 1; i + 1 < len; i += 2) {
        size_t m = (size_t) data[i + 1] * 256;

        if (data[i] & 1) {
            if (!cnx_credit_tx_open(&tx)) {
                continue;
            }
            cnx_credit_tx_sent(&tx, m);
            if (cnx_credit_rx_received(&rx, m, 65536) != 0) {
                abort();
            }
        } else {
            g = cnx_credit_rx_delivered(&rx, m);
            if (g && cnx_credit_tx_grant(&tx, g) != 0) {
                abort();
            }
        }
        inflight = tx.sent - rx.delivered;
        if (inflight > 4096 + 65536 || rx.delivered > rx.received) {
            abort();
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static const size_t bodies[8] = { 0, 1, 16, 255, 1024, 65536, 1 << 20,
                                      (size_t) -1 };

    if (len == 0) {
        return 0;
    }
    if (data[0] & 1) {
        owner_and_credit(data + 1, len - 1);
    } else {
        record(data + 1, len - 1, bodies[(data[0] >> 1) & 7]);
    }
    return 0;
}
