/*
 * Fuzz target: relay cluster routes and owner values (cnx_cluster.h).
 *
 * The input is parsed as a route and as an owner value; whatever parses
 * is written again and must give the same bytes, and an owner's route
 * must parse to the same worker.  Redis names built from the input as an
 * id must hold it byte for byte.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_cluster.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const char          *s = (const char *) data;
    char                 out[CNX_CLUSTER_OWNER_MAX + 1], key[512];
    cnx_relay_addr_t     a, b;
    cnx_cluster_owner_t  o;
    size_t               n;
    long                 k;

    if (cnx_cluster_route_parse(s, len, &a) == 0) {
        n = cnx_cluster_route(out, &a);
        if (n != len || memcmp(out, s, len) != 0 || a.node == 0 || a.conn) {
            abort();
        }
        if (cnx_cluster_route_parse(out, n, &b) != 0
            || !cnx_relay_addr_eq(&a, &b))
        {
            abort();
        }
    }

    if (cnx_cluster_owner_parse(s, len, &o) == 0) {
        k = cnx_cluster_owner_format(out, sizeof(out), &o);
        if (k != (long) len || memcmp(out, s, len) != 0) {
            abort();
        }
    }

    k = cnx_cluster_key(key, sizeof(key), "cnx", "name", s, len);
    if (len + 11 < sizeof(key)) {
        if (k != (long) len + 11 || memcmp(key + 10, s, len) != 0
            || key[k - 1] != '}' || key[k] != '\0')
        {
            abort();
        }
    } else if (k != -1) {
        abort();
    }
    return 0;
}
