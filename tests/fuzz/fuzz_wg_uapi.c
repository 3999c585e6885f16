/*
 * Fuzz target: replies of userspace WireGuard (UAPI "get=1" answers of
 * wireguard-go and boringtun, and "errno=" answers to "set=1"), as
 * parsed by clawnexus-wg (wg-bridge/backend.h).
 *
 * Input: one control byte, then the reply.  bit 0 = 0: get reply;
 * bit 0 = 1: set reply.  For an accepted get reply every allowed IP and
 * endpoint is formatted and parsed back to the same value, and a set
 * request is built from the device.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "uapi.h"

const char *prog_name = "fuzz_wg_uapi";

static void
check_device(const struct wg_device *dev)
{
    struct wg_allowedip  ip;
    union wg_endpoint    ep;
    char                 txt[128], *req;
    size_t               i, j, len;
    int                  n;

    for (i = 0; i < dev->npeers; i++) {
        const struct wg_peer *p = &dev->peers[i];

        if (p->nips > p->capips) {
            abort();
        }
        for (j = 0; j < p->nips; j++) {
            const struct wg_allowedip *a = &p->ips[j];

            if (!((a->family == AF_INET && a->cidr <= 32)
                  || (a->family == AF_INET6 && a->cidr <= 128)))
            {
                abort();
            }
            n = wg_allowedip_format(txt, sizeof(txt), a);
            if (n < 0 || wg_allowedip_parse(&ip, txt, strlen(txt)) < 0
                || !wg_allowedip_equal(&ip, a))
            {
                abort();
            }
        }
        if (p->flags & WGPEER_HAS_ENDPOINT) {
            n = wg_endpoint_format(txt, sizeof(txt), &p->endpoint);
            if (n < 0 || wg_endpoint_parse_numeric(&ep, txt) < 0
                || !wg_endpoint_equal(&ep, &p->endpoint))
            {
                abort();
            }
        }
    }
    req = NULL;
    if (wg_uapi_build_set(dev, &req, &len) == 0) {
        if (req == NULL || len < 2 || memcmp(req, "set=1\n", 6) != 0
            || req[len - 1] != '\n' || req[len - 2] != '\n')
        {
            abort();
        }
    }
    free(req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wg_device  dev;
    char             *buf;
    int               rc;

    if (size < 1) {
        return 0;
    }
    buf = malloc(size);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data + 1, size - 1);

    if (data[0] & 1) {
        rc = wg_uapi_parse_errno(buf, size - 1);
        if (rc > 0) {
            abort();
        }
    } else {
        wg_device_init(&dev, "wgfuzz0");
        rc = wg_uapi_parse_get(&dev, buf, size - 1);
        if (rc > 0) {
            abort();
        }
        if (rc == 0) {
            check_device(&dev);
        }
        wg_device_clear(&dev);
    }
    free(buf);
    return 0;
}
