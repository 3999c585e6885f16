/*
 * Fuzz target: the JSON tokenizer and its helpers (cnx_json.h).
 *
 * Every accepted document is checked for token invariants, every string
 * is decoded, every number read, member lookup agrees with a linear scan,
 * and the document is rebuilt with the builder: the builder's output must
 * parse again into the same shape (differential check of escape, builder
 * and tokenizer).  Tokenizing with one token too few must say ENOMEM.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_json.h"

#define NTOKS  512

static char  dec[65536];

/*
 * Re-emit the subtree at token i with the builder; returns next index.
 * *ok becomes 0 for what the builder cannot express: strings with \u0000
 * or lone surrogates, and nesting beyond 31 levels (the builder's limit;
 * the reader accepts CNX_JSON_MAX_DEPTH, 32).
 */
#define BUILD_DEPTH  31

static int
rebuild(const char *buf, const cnx_json_tok_t *t, int i, cnx_json_buf_t *b,
    int *ok, int depth)
{
    size_t   dlen;
    uint32_t k;
    int      j;

    switch (t[i].type) {
    case CNX_JSON_OBJECT:
        if (depth >= BUILD_DEPTH) {
            *ok = 0;
            return t[i].next;
        }
        cnx_json_buf_obj_open(b);
        j = i + 1;
        for (k = 0; k < t[i].size; k++) {
            if (cnx_json_str_decode(buf, &t[j], dec, sizeof(dec), &dlen) != 0
                || memchr(dec, '\0', dlen) != NULL)
            {
                *ok = 0;
                return t[i].next;
            }
            cnx_json_buf_key(b, dec);
            j = rebuild(buf, t, j + 1, b, ok, depth + 1);
            if (!*ok) {
                return t[i].next;
            }
        }
        cnx_json_buf_obj_close(b);
        return t[i].next;

    case CNX_JSON_ARRAY:
        if (depth >= BUILD_DEPTH) {
            *ok = 0;
            return t[i].next;
        }
        cnx_json_buf_arr_open(b);
        j = i + 1;
        for (k = 0; k < t[i].size && *ok; k++) {
            j = rebuild(buf, t, j, b, ok, depth + 1);
        }
        cnx_json_buf_arr_close(b);
        return t[i].next;

    case CNX_JSON_STRING:
        if (cnx_json_str_decode(buf, &t[i], dec, sizeof(dec), &dlen) != 0) {
            *ok = 0;
        } else {
            cnx_json_buf_str(b, dec, dlen);
        }
        return i + 1;

    case CNX_JSON_NUMBER:
        cnx_json_buf_raw(b, buf + t[i].start, t[i].end - t[i].start);
        return i + 1;
    case CNX_JSON_TRUE:
        cnx_json_buf_bool(b, 1);
        return i + 1;
    case CNX_JSON_FALSE:
        cnx_json_buf_bool(b, 0);
        return i + 1;
    case CNX_JSON_NULL:
        cnx_json_buf_null(b);
        return i + 1;
    }
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cnx_json_tok_t t[NTOKS], t2[NTOKS];
    cnx_json_buf_t        b;
    char                 *buf, *out;
    size_t                dlen, cap;
    int64_t               v;
    int                   n, n2, i, j, k, ok, bv, len;

    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);

    n = cnx_json_parse(buf, size, t, NTOKS);
    if (n == 0 || n > NTOKS) {
        abort();
    }
    if (n < 0) {
        if (n != CNX_JSON_EINVAL && n != CNX_JSON_ENOMEM
            && n != CNX_JSON_EDEPTH)
        {
            abort();
        }
        free(buf);
        return 0;
    }

    /* Exactly n tokens are needed. */
    if (cnx_json_parse(buf, size, t2, (unsigned) n - 1) != CNX_JSON_ENOMEM
        && n > 1)
    {
        abort();
    }

    for (i = 0; i < n; i++) {
        if (t[i].start > t[i].end || t[i].end > size
            || t[i].next <= i || t[i].next > n)
        {
            abort();
        }
        switch (t[i].type) {
        case CNX_JSON_STRING:
            if (cnx_json_str_decode(buf, &t[i], dec, sizeof(dec), &dlen) == 0)
            {
                if (dlen > t[i].end - t[i].start
                    || !cnx_json_str_eq(buf, &t[i], dec, dlen))
                {
                    abort();
                }
            }
            break;
        case CNX_JSON_NUMBER:
            (void) cnx_json_tok_int64(buf, &t[i], &v);
            break;
        case CNX_JSON_TRUE:
        case CNX_JSON_FALSE:
            if (cnx_json_tok_bool(&t[i], &bv) != 0
                || bv != (t[i].type == CNX_JSON_TRUE))
            {
                abort();
            }
            break;
        case CNX_JSON_OBJECT:
            /* Lookup of each key finds the first member with that key. */
            j = i + 1;
            for (k = 0; k < (int) t[i].size; k++) {
                if (t[j].type != CNX_JSON_STRING) {
                    abort();
                }
                if (cnx_json_str_decode(buf, &t[j], dec, sizeof(dec), &dlen)
                        == 0 && memchr(dec, '\0', dlen) == NULL)
                {
                    int got = cnx_json_obj_get(buf, t, n, i, dec);
                    if (got < i + 2 || got > j + 1) {
                        abort();
                    }
                }
                j = t[j + 1].next;
            }
            if (j != t[i].next) {
                abort();
            }
            break;
        case CNX_JSON_ARRAY:
        case CNX_JSON_NULL:
            break;
        default:
            abort();
        }
    }
    (void) cnx_json_obj_get(buf, t, n, 0, "type");

    /* Rebuild and parse again: same token count and types. */
    cap = 3 * size + 64;   /* \b becomes \u0008 at worst */
    out = malloc(cap);
    if (out == NULL) {
        abort();
    }
    cnx_json_buf_init(&b, out, cap);
    ok = 1;
    rebuild(buf, t, 0, &b, &ok, 0);
    len = cnx_json_buf_finish(&b);
    if (ok) {
        if (len < 0) {
            abort();
        }
        n2 = cnx_json_parse(out, (size_t) len, t2, NTOKS);
        if (n2 != n) {
            abort();
        }
        for (i = 0; i < n; i++) {
            if (t2[i].type != t[i].type || t2[i].size != t[i].size
                || t2[i].next != t[i].next)
            {
                abort();
            }
        }
    }
    free(out);
    free(buf);
    return 0;
}
