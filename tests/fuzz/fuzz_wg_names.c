/*
 * Fuzz target: the clawnexus-wg names file (wg-bridge/names.h).
 *
 * An accepted file is written in the canonical format and parsed again:
 * the result must parse, and formatting it again must give the same text
 * (the format is a fixed point).  Every entry passes wg_name_check() and
 * its lookup by name finds it.  A refused file names a line in the error.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

const char *prog_name = "fuzz_wg_names";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wg_names  a, b;
    char             err[256], *t1 = NULL, *t2 = NULL, *buf;
    size_t           l1, l2, i;
    int              rc;

    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    wg_names_init(&a);
    wg_names_init(&b);

    err[0] = '\0';
    rc = wg_names_parse(&a, buf, size, err, sizeof(err));
    if (rc != 0) {
        if (rc > 0 || err[0] == '\0' || a.n != 0) {
            abort();
        }
        goto done;
    }
    for (i = 0; i < a.n; i++) {
        if (wg_name_check(&a.v[i], err, sizeof(err)) != 0
            || wg_names_find(&a, a.v[i].name) == NULL)
        {
            abort();
        }
    }
    if (wg_names_format(&a, &t1, &l1) != 0
        || wg_names_parse(&b, t1, l1, err, sizeof(err)) != 0
        || b.n != a.n
        || wg_names_format(&b, &t2, &l2) != 0
        || l1 != l2 || memcmp(t1, t2, l1) != 0)
    {
        abort();
    }
done:
    free(t1);
    free(t2);
    wg_names_clear(&a);
    wg_names_clear(&b);
    free(buf);
    return 0;
}
