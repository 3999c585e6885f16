/*
 * Fuzz target: kernel WireGuard replies over generic netlink, as parsed by
 * clawnexus-wg (wg-bridge/nlwire.h): a GET dump split over several
 * recv() buffers, with peers continuing from one message into the next.
 *
 * Input: one control byte (bits 0-3: SET message size limit), then
 * records of a 16-bit little-endian length and that many bytes, each
 * one recv() result.  Checks: results are documented codes; a parsed
 * device has sane prefixes; building the SET messages for it (split at
 * the chosen size) and parsing them back gives the same peers and
 * allowed IPs (split writer and merging reader agree).
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "nlwire.h"

#define FAMILY  0x1c

const char *prog_name = "fuzz_wg_netlink";

static void
same_device(const struct wg_device *a, const struct wg_device *b)
{
    size_t i, j;

    if (a->npeers != b->npeers) {
        abort();
    }
    for (i = 0; i < a->npeers; i++) {
        const struct wg_peer *p = &a->peers[i], *q = &b->peers[i];

        if (memcmp(p->public_key, q->public_key, WG_KEY_LEN) != 0
            || p->nips != q->nips)
        {
            abort();
        }
        for (j = 0; j < p->nips; j++) {
            if (!wg_allowedip_equal(&p->ips[j], &q->ips[j])) {
                abort();
            }
        }
    }
}

static void
check_device(struct wg_device *dev, unsigned ctl)
{
    struct wg_nl_msgs  m;
    struct wg_device   back;
    size_t             i, j, maxlen;
    int                dup = 0;

    for (i = 0; i < dev->npeers; i++) {
        struct wg_peer *p = &dev->peers[i];

        /* Request-only flags (a reply may carry WGPEER_A_FLAGS) would
         * turn the SET below into a removal; they are not compared. */
        p->flags &= ~(unsigned) (WGPEER_REMOVE_ME | WGPEER_UPDATE_ONLY);
        if (p->nips > p->capips) {
            abort();
        }
        for (j = 0; j < p->nips; j++) {
            if (!((p->ips[j].family == AF_INET && p->ips[j].cidr <= 32)
                  || (p->ips[j].family == AF_INET6
                      && p->ips[j].cidr <= 128)))
            {
                abort();
            }
        }
        /* Two consecutive entries with one key would merge on reread. */
        if (i > 0 && memcmp(p->public_key, dev->peers[i - 1].public_key,
                            WG_KEY_LEN) == 0)
        {
            dup = 1;
        }
    }
    if (dup) {
        return;
    }

    maxlen = (size_t) 256 << (ctl & 7);
    memset(&m, 0, sizeof(m));
    if (wg_nl_build_set(dev, FAMILY, maxlen, &m) != 0) {
        wg_nl_msgs_free(&m);
        return;
    }
    wg_device_init(&back, dev->name);
    for (i = 0; i < m.n; i++) {
        if (m.len[i] > maxlen || m.len[i] < NLMSG_HDRLEN + GENL_HDRLEN) {
            abort();
        }
        if (wg_nl_parse_device(&back, m.msg[i] + NLMSG_HDRLEN + GENL_HDRLEN,
                m.len[i] - NLMSG_HDRLEN - GENL_HDRLEN) < 0)
        {
            abort();
        }
    }
    same_device(dev, &back);
    wg_device_clear(&back);
    wg_nl_msgs_free(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wg_nl_dump  st;
    struct wg_device   dev;
    uint8_t           *buf;
    size_t             off, n;
    unsigned           ctl;
    int                rc = 0;

    if (size < 1) {
        return 0;
    }
    ctl = data[0];
    wg_device_init(&dev, "wgfuzz0");
    wg_nl_dump_init(&st, &dev, FAMILY, 0);

    for (off = 1; off + 2 <= size && rc == 0; off += n) {
        n = (size_t) data[off] | (size_t) data[off + 1] << 8;
        off += 2;
        if (n > size - off) {
            n = size - off;
        }
        /* An exact-size heap copy: ASan catches reads past the recv. */
        buf = malloc(n ? n : 1);
        if (buf == NULL) {
            break;
        }
        memcpy(buf, data + off, n);
        rc = wg_nl_dump_feed(&st, buf, n);
        free(buf);
    }
    if (rc > 1 || (rc < 0 && rc < -4095)) {
        abort();
    }
    if (rc == 1) {
        check_device(&dev, ctl);
    }
    wg_device_clear(&dev);
    return 0;
}
