/*
 * Zero-copy JSON tokenizer and bounded builder (RFC 8259).  The tokenizer
 * is iterative (an explicit stack of open containers), so hostile nesting
 * costs a fixed amount of memory and fails with CNX_JSON_EDEPTH.
 */

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "cnx_json.h"
#include "cnx_utf8.h"

enum {
    CNX_JS_VALUE,        /* a value must come next */
    CNX_JS_ARR_FIRST,    /* after '[': value or ']' */
    CNX_JS_OBJ_FIRST,    /* after '{': key or '}' */
    CNX_JS_OBJ_KEY,      /* after ',' in an object: key */
    CNX_JS_COLON,        /* after a key: ':' */
    CNX_JS_AFTER         /* after a value: ',' or a closing bracket or end */
};

static size_t
cnx_json_skip_ws(const char *buf, size_t len, size_t i)
{
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n'
                       || buf[i] == '\r'))
    {
        i++;
    }
    return i;
}

static int
cnx_json_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/*
 * 1 if none of the 8 bytes at p needs attention inside a string: no
 * control character, no '"', no backslash, no byte >= 0x80.  Uses the
 * word-wide "some byte is zero" test; a borrow can only spread upwards
 * from a byte that is already a hit, so the answer is exact.
 */
static int
cnx_json_plain8(const char *p)
{
    const uint64_t  ones = UINT64_C(0x0101010101010101);
    const uint64_t  high = UINT64_C(0x8080808080808080);
    uint64_t        w, q, b, bad;

    memcpy(&w, p, 8);
    q = w ^ (ones * 0x22);                       /* '"' becomes 0 */
    b = w ^ (ones * 0x5c);                       /* '\\' becomes 0 */
    bad = w & high;                              /* >= 0x80 */
    bad |= (w - ones * 0x20) & ~w & high;        /* < 0x20 */
    bad |= (q - ones) & ~q & high;
    bad |= (b - ones) & ~b & high;
    return bad == 0;
}

/*
 * The offset of the first byte at or after i that needs attention inside
 * a string (see cnx_json_plain8()), or len.  Payloads are mostly long
 * runs of base64, so this loop is where a relayed message spends most of
 * its parse time: 16 bytes per step with SSE2 (every x86-64 has it).
 */
static size_t
cnx_json_plain_run(const char *buf, size_t len, size_t i)
{
#if defined(__SSE2__)
    const __m128i  quote = _mm_set1_epi8('"');
    const __m128i  bslash = _mm_set1_epi8('\\');
    const __m128i  space = _mm_set1_epi8(0x20);
    __m128i        v, hit;
    unsigned       m;

    while (len - i >= 16) {
        v = _mm_loadu_si128((const __m128i *) (const void *) (buf + i));
        /* signed compare: bytes >= 0x80 are negative, so also "< 0x20" */
        hit = _mm_or_si128(_mm_cmplt_epi8(v, space),
                           _mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                        _mm_cmpeq_epi8(v, bslash)));
        m = (unsigned) _mm_movemask_epi8(hit);
        if (m != 0) {
            return i + (size_t) __builtin_ctz(m);
        }
        i += 16;
    }
#endif
    while (len - i >= 8 && cnx_json_plain8(buf + i)) {
        i += 8;
    }
    while (i < len) {
        unsigned char  c = (unsigned char) buf[i];

        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
            break;
        }
        i++;
    }
    return i;
}

long
cnx_json_scan_string(const char *buf, size_t len, size_t i, int *escaped)
{
    uint32_t       u8 = CNX_UTF8_ACCEPT;
    unsigned char  c;
    int            k;

    *escaped = 0;
    if (buf == NULL || i >= len || buf[i] != '"') {
        return -1;
    }
    for (i++; i < len; i++) {
        /* Runs of plain printable ASCII (payloads are mostly base64). */
        if (u8 == CNX_UTF8_ACCEPT) {
            i = cnx_json_plain_run(buf, len, i);
            if (i >= len) {
                break;
            }
        }
        c = (unsigned char) buf[i];

        if (c >= 0x80 || u8 != CNX_UTF8_ACCEPT) {
            u8 = cnx_utf8_step(u8, &c, 1);
            if (u8 == CNX_UTF8_REJECT) {
                return -1;
            }
            continue;
        }

        if (c == '"') {
            return (long) i;
        }
        if (c < 0x20) {
            return -1;
        }
        if (c != '\\') {
            continue;
        }

        *escaped = 1;
        if (++i >= len) {
            return -1;
        }
        switch (buf[i]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n':
        case 'r': case 't':
            break;
        case 'u':
            if (len - i < 5) {
                return -1;
            }
            for (k = 1; k <= 4; k++) {
                if (cnx_json_hex((unsigned char) buf[i + k]) < 0) {
                    return -1;
                }
            }
            i += 4;
            break;
        default:
            return -1;
        }
    }
    return -1;
}

/* Scan a number starting at buf[i]; returns the offset after it or 0. */
static size_t
cnx_json_scan_number(const char *buf, size_t len, size_t i)
{
#define CNX_DIGIT(j)  ((j) < len && buf[j] >= '0' && buf[j] <= '9')
    if (i < len && buf[i] == '-') {
        i++;
    }
    if (!CNX_DIGIT(i)) {
        return 0;
    }
    if (buf[i] == '0') {
        i++;
    } else {
        while (CNX_DIGIT(i)) {
            i++;
        }
    }
    if (i < len && buf[i] == '.') {
        i++;
        if (!CNX_DIGIT(i)) {
            return 0;
        }
        while (CNX_DIGIT(i)) {
            i++;
        }
    }
    if (i < len && (buf[i] == 'e' || buf[i] == 'E')) {
        i++;
        if (i < len && (buf[i] == '+' || buf[i] == '-')) {
            i++;
        }
        if (!CNX_DIGIT(i)) {
            return 0;
        }
        while (CNX_DIGIT(i)) {
            i++;
        }
    }
    return i;
#undef CNX_DIGIT
}

int
cnx_json_parse_at(const char *buf, size_t len, cnx_json_tok_t *toks,
    unsigned ntoks, size_t *err_at)
{
    int             stack[CNX_JSON_MAX_DEPTH];
    int             depth = 0, state = CNX_JS_VALUE, escaped, parent;
    int             rc = CNX_JSON_EINVAL;
    unsigned        n = 0;
    size_t          i = 0, e;
    long            q;
    cnx_json_tok_t *t;
    char            c;

    if (buf == NULL || toks == NULL || len > CNX_JSON_MAX_LEN) {
        return CNX_JSON_EINVAL;
    }
    if (ntoks > 0x7fffffffu) {
        ntoks = 0x7fffffffu;
    }

    for ( ;; ) {
        i = cnx_json_skip_ws(buf, len, i);

        if (state == CNX_JS_AFTER && depth == 0) {
            if (i == len) {
                return (int) n;
            }
            goto fail;
        }
        if (i >= len) {
            rc = CNX_JSON_EINVAL;
            goto fail;
        }
        c = buf[i];

        switch (state) {

        case CNX_JS_ARR_FIRST:
            if (c == ']') {
                goto close;
            }
            state = CNX_JS_VALUE;
            continue;

        case CNX_JS_OBJ_FIRST:
            if (c == '}') {
                goto close;
            }
            /* fall through */

        case CNX_JS_OBJ_KEY:
            if (c != '"') {
                rc = CNX_JSON_EINVAL;
                goto fail;
            }
            if (n >= ntoks) {
                rc = CNX_JSON_ENOMEM;
                goto fail;
            }
            q = cnx_json_scan_string(buf, len, i, &escaped);
            if (q < 0) {
                rc = CNX_JSON_EINVAL;
                goto fail;
            }
            t = &toks[n];
            t->type = CNX_JSON_STRING;
            t->escaped = (uint8_t) escaped;
            t->reserved = 0;
            t->start = (uint32_t) (i + 1);
            t->end = (uint32_t) q;
            t->size = 0;
            t->next = (int32_t) (n + 1);
            n++;
            toks[stack[depth - 1]].size++;
            i = (size_t) q + 1;
            state = CNX_JS_COLON;
            continue;

        case CNX_JS_COLON:
            if (c != ':') {
                rc = CNX_JSON_EINVAL;
                goto fail;
            }
            i++;
            state = CNX_JS_VALUE;
            continue;

        case CNX_JS_AFTER:
            parent = stack[depth - 1];
            if (c == ',') {
                i++;
                state = toks[parent].type == CNX_JSON_OBJECT
                        ? CNX_JS_OBJ_KEY : CNX_JS_VALUE;
                continue;
            }
            if ((c == '}' && toks[parent].type == CNX_JSON_OBJECT)
                || (c == ']' && toks[parent].type == CNX_JSON_ARRAY))
            {
                goto close;
            }
            rc = CNX_JSON_EINVAL;
            goto fail;

        default: /* CNX_JS_VALUE */
            break;
        }

        /* A value starts at buf[i]. */
        if (n >= ntoks) {
            rc = CNX_JSON_ENOMEM;
            goto fail;
        }
        if (depth > 0 && toks[stack[depth - 1]].type == CNX_JSON_ARRAY) {
            toks[stack[depth - 1]].size++;
        }
        t = &toks[n];
        t->escaped = 0;
        t->reserved = 0;
        t->size = 0;
        t->start = (uint32_t) i;

        switch (c) {

        case '{':
        case '[':
            if (depth >= CNX_JSON_MAX_DEPTH) {
                rc = CNX_JSON_EDEPTH;
                goto fail;
            }
            t->type = c == '{' ? CNX_JSON_OBJECT : CNX_JSON_ARRAY;
            t->end = 0;
            t->next = 0;
            stack[depth++] = (int) n;
            n++;
            i++;
            state = c == '{' ? CNX_JS_OBJ_FIRST : CNX_JS_ARR_FIRST;
            continue;

        case '"':
            q = cnx_json_scan_string(buf, len, i, &escaped);
            if (q < 0) {
                rc = CNX_JSON_EINVAL;
                goto fail;
            }
            t->type = CNX_JSON_STRING;
            t->escaped = (uint8_t) escaped;
            t->start = (uint32_t) (i + 1);
            t->end = (uint32_t) q;
            i = (size_t) q + 1;
            break;

        case 't':
        case 'f':
        case 'n':
            {
                const char *lit = c == 't' ? "true"
                                  : c == 'f' ? "false" : "null";
                size_t      ll = strlen(lit);

                if (len - i < ll || memcmp(buf + i, lit, ll) != 0) {
                    rc = CNX_JSON_EINVAL;
                    goto fail;
                }
                t->type = c == 't' ? CNX_JSON_TRUE
                          : c == 'f' ? CNX_JSON_FALSE : CNX_JSON_NULL;
                i += ll;
                t->end = (uint32_t) i;
            }
            break;

        default:
            e = cnx_json_scan_number(buf, len, i);
            if (e == 0) {
                rc = CNX_JSON_EINVAL;
                goto fail;
            }
            t->type = CNX_JSON_NUMBER;
            i = e;
            t->end = (uint32_t) i;
            break;
        }

        t->next = (int32_t) (n + 1);
        n++;
        state = CNX_JS_AFTER;
        continue;

    close:
        parent = stack[--depth];
        toks[parent].end = (uint32_t) (i + 1);
        toks[parent].next = (int32_t) n;
        i++;
        state = CNX_JS_AFTER;
    }

fail:

    if (err_at != NULL) {
        *err_at = i;
    }
    return rc;
}


int
cnx_json_parse(const char *buf, size_t len, cnx_json_tok_t *toks,
    unsigned ntoks)
{
    return cnx_json_parse_at(buf, len, toks, ntoks, NULL);
}

/*
 * Decode one character of escaped string content at s[*i]; writes 1..4
 * bytes to out and advances *i.  Returns the byte count or -1.
 */
static int
cnx_json_next_char(const char *s, size_t n, size_t *i, char out[4])
{
    uint32_t  cp, lo;
    size_t    j = *i;
    int       k, h;

    if (s[j] != '\\') {
        if ((unsigned char) s[j] < 0x20) {
            return -1;
        }
        out[0] = s[j];
        *i = j + 1;
        return 1;
    }

    if (++j >= n) {
        return -1;
    }
    switch (s[j]) {
    case '"':  out[0] = '"';  *i = j + 1; return 1;
    case '\\': out[0] = '\\'; *i = j + 1; return 1;
    case '/':  out[0] = '/';  *i = j + 1; return 1;
    case 'b':  out[0] = '\b'; *i = j + 1; return 1;
    case 'f':  out[0] = '\f'; *i = j + 1; return 1;
    case 'n':  out[0] = '\n'; *i = j + 1; return 1;
    case 'r':  out[0] = '\r'; *i = j + 1; return 1;
    case 't':  out[0] = '\t'; *i = j + 1; return 1;
    case 'u':  break;
    default:   return -1;
    }

    if (n - j < 5) {
        return -1;
    }
    cp = 0;
    for (k = 1; k <= 4; k++) {
        h = cnx_json_hex((unsigned char) s[j + k]);
        if (h < 0) {
            return -1;
        }
        cp = (cp << 4) | (uint32_t) h;
    }
    j += 5;

    if (cp >= 0xdc00 && cp <= 0xdfff) {
        return -1;                       /* lone low surrogate */
    }
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (n - j < 6 || s[j] != '\\' || s[j + 1] != 'u') {
            return -1;                   /* lone high surrogate */
        }
        lo = 0;
        for (k = 2; k <= 5; k++) {
            h = cnx_json_hex((unsigned char) s[j + k]);
            if (h < 0) {
                return -1;
            }
            lo = (lo << 4) | (uint32_t) h;
        }
        if (lo < 0xdc00 || lo > 0xdfff) {
            return -1;
        }
        j += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (cp == 0) {
        return -1;                       /* would truncate C strings */
    }
    *i = j;

    if (cp < 0x80) {
        out[0] = (char) cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char) (0xc0 | (cp >> 6));
        out[1] = (char) (0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char) (0xe0 | (cp >> 12));
        out[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char) (0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char) (0xf0 | (cp >> 18));
    out[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char) (0x80 | (cp & 0x3f));
    return 4;
}

int
cnx_json_unescape(const char *s, size_t n, char *out, size_t cap,
    size_t *outlen)
{
    size_t  i = 0, o = 0;
    char    tmp[4];
    int     k;

    if ((s == NULL && n != 0) || out == NULL || cap == 0) {
        return -1;
    }
    while (i < n) {
        k = cnx_json_next_char(s, n, &i, tmp);
        if (k < 0 || (size_t) k >= cap - o) {
            return -1;
        }
        memcpy(out + o, tmp, (size_t) k);
        o += (size_t) k;
    }
    out[o] = '\0';
    if (outlen != NULL) {
        *outlen = o;
    }
    return 0;
}

int
cnx_json_str_decode(const char *buf, const cnx_json_tok_t *tok, char *out,
    size_t cap, size_t *outlen)
{
    if (buf == NULL || tok == NULL || tok->type != CNX_JSON_STRING) {
        return -1;
    }
    return cnx_json_unescape(buf + tok->start, tok->end - tok->start, out,
                             cap, outlen);
}

int
cnx_json_str_eq(const char *buf, const cnx_json_tok_t *tok, const char *s,
    size_t n)
{
    const char *p;
    size_t      plen, i = 0, o = 0;
    char        tmp[4];
    int         k;

    if (buf == NULL || tok == NULL || tok->type != CNX_JSON_STRING) {
        return 0;
    }
    p = buf + tok->start;
    plen = tok->end - tok->start;

    if (!tok->escaped) {
        return plen == n && memcmp(p, s, n) == 0;
    }
    while (i < plen) {
        k = cnx_json_next_char(p, plen, &i, tmp);
        if (k < 0 || (size_t) k > n - o || memcmp(s + o, tmp, (size_t) k)) {
            return 0;
        }
        o += (size_t) k;
    }
    return o == n;
}

int
cnx_json_obj_get(const char *buf, const cnx_json_tok_t *t, int ntok, int obj,
    const char *key)
{
    uint32_t  m;
    size_t    klen;
    int       i;

    if (buf == NULL || t == NULL || key == NULL || obj < 0 || obj >= ntok
        || t[obj].type != CNX_JSON_OBJECT)
    {
        return -1;
    }
    klen = strlen(key);
    i = obj + 1;
    for (m = 0; m < t[obj].size; m++) {
        if (i + 1 >= ntok) {
            return -1;
        }
        if (cnx_json_str_eq(buf, &t[i], key, klen)) {
            return i + 1;
        }
        i = t[i + 1].next;
    }
    return -1;
}

cnx_slice_t
cnx_json_tok_slice(const char *buf, const cnx_json_tok_t *tok)
{
    cnx_slice_t  s;

    s.p = buf + tok->start;
    s.len = tok->end - tok->start;
    return s;
}

int
cnx_json_tok_int64(const char *buf, const cnx_json_tok_t *tok, int64_t *v)
{
    const char  *p;
    size_t       n, i = 0;
    int64_t      acc = 0;   /* accumulated negatively to reach INT64_MIN */
    int          neg = 0, d;

    if (buf == NULL || tok == NULL || tok->type != CNX_JSON_NUMBER) {
        return -1;
    }
    p = buf + tok->start;
    n = tok->end - tok->start;
    if (n > 0 && p[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i >= n) {
        return -1;
    }
    for ( ; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;                  /* fraction or exponent */
        }
        d = p[i] - '0';
        if (acc < (INT64_MIN + d) / 10) {
            return -1;
        }
        acc = acc * 10 - d;
    }
    if (!neg) {
        if (acc == INT64_MIN) {
            return -1;
        }
        acc = -acc;
    }
    *v = acc;
    return 0;
}

int
cnx_json_tok_bool(const cnx_json_tok_t *tok, int *v)
{
    if (tok == NULL
        || (tok->type != CNX_JSON_TRUE && tok->type != CNX_JSON_FALSE))
    {
        return -1;
    }
    *v = tok->type == CNX_JSON_TRUE;
    return 0;
}

size_t
cnx_json_escape(char *out, size_t cap, const char *s, size_t n)
{
    static const char  hex[] = "0123456789abcdef";
    char               e[6];
    size_t             i, o = 0, k;
    unsigned char      c;

    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];
        k = 2;
        e[0] = '\\';
        switch (c) {
        case '"':  e[1] = '"';  break;
        case '\\': e[1] = '\\'; break;
        case '\b': e[1] = 'b';  break;
        case '\f': e[1] = 'f';  break;
        case '\n': e[1] = 'n';  break;
        case '\r': e[1] = 'r';  break;
        case '\t': e[1] = 't';  break;
        default:
            if (c < 0x20) {
                e[1] = 'u';
                e[2] = '0';
                e[3] = '0';
                e[4] = hex[c >> 4];
                e[5] = hex[c & 15];
                k = 6;
            } else {
                e[0] = (char) c;
                k = 1;
            }
        }
        if (out != NULL && k <= cap && o <= cap - k) {
            memcpy(out + o, e, k);
        }
        o += k;
    }
    return o;
}

/* Builder ------------------------------------------------------------------ */

static void
cnx_json_buf_put(cnx_json_buf_t *b, const char *s, size_t n)
{
    if (b->err) {
        return;
    }
    if (n > b->cap - b->len) {
        b->err = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* Separator before a value or key: a comma unless first in its container. */
static void
cnx_json_buf_sep(cnx_json_buf_t *b)
{
    uint32_t  bit = (uint32_t) 1 << b->depth;

    if (b->after_key) {
        b->after_key = 0;
        return;
    }
    if (b->depth > 0) {
        if (!(b->first & bit)) {
            cnx_json_buf_put(b, ",", 1);
        }
        b->first &= ~bit;
    }
}

void
cnx_json_buf_init(cnx_json_buf_t *b, char *mem, size_t cap)
{
    b->p = mem;
    b->len = 0;
    b->cap = mem != NULL ? cap : 0;
    b->first = 0;
    b->depth = 0;
    b->after_key = 0;
    b->err = 0;
}

static void
cnx_json_buf_open(cnx_json_buf_t *b, const char *c)
{
    cnx_json_buf_sep(b);
    cnx_json_buf_put(b, c, 1);
    if (b->depth >= 31) {
        b->err = 1;
        return;
    }
    b->depth++;
    b->first |= (uint32_t) 1 << b->depth;
}

static void
cnx_json_buf_close(cnx_json_buf_t *b, const char *c)
{
    if (b->depth == 0 || b->after_key) {
        b->err = 1;
        return;
    }
    cnx_json_buf_put(b, c, 1);
    b->depth--;
}

void
cnx_json_buf_obj_open(cnx_json_buf_t *b)
{
    cnx_json_buf_open(b, "{");
}

void
cnx_json_buf_obj_close(cnx_json_buf_t *b)
{
    cnx_json_buf_close(b, "}");
}

void
cnx_json_buf_arr_open(cnx_json_buf_t *b)
{
    cnx_json_buf_open(b, "[");
}

void
cnx_json_buf_arr_close(cnx_json_buf_t *b)
{
    cnx_json_buf_close(b, "]");
}

static void
cnx_json_buf_quoted(cnx_json_buf_t *b, const char *s, size_t n)
{
    size_t  need;

    cnx_json_buf_put(b, "\"", 1);
    if (b->err) {
        return;
    }
    need = cnx_json_escape(b->p + b->len, b->cap - b->len, s, n);
    if (need > b->cap - b->len) {
        b->err = 1;
        return;
    }
    b->len += need;
    cnx_json_buf_put(b, "\"", 1);
}

void
cnx_json_buf_key(cnx_json_buf_t *b, const char *key)
{
    if (b->after_key || b->depth == 0) {
        b->err = 1;
        return;
    }
    cnx_json_buf_sep(b);
    cnx_json_buf_quoted(b, key, strlen(key));
    cnx_json_buf_put(b, ":", 1);
    b->after_key = 1;
}

void
cnx_json_buf_str(cnx_json_buf_t *b, const char *s, size_t n)
{
    cnx_json_buf_sep(b);
    cnx_json_buf_quoted(b, s, n);
}

void
cnx_json_buf_cstr(cnx_json_buf_t *b, const char *s)
{
    cnx_json_buf_str(b, s, strlen(s));
}

void
cnx_json_buf_str_escaped(cnx_json_buf_t *b, const char *s, size_t n)
{
    cnx_json_buf_sep(b);
    cnx_json_buf_put(b, "\"", 1);
    cnx_json_buf_put(b, s, n);
    cnx_json_buf_put(b, "\"", 1);
}

void
cnx_json_buf_int(cnx_json_buf_t *b, int64_t v)
{
    char  tmp[24];
    int   k;

    k = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
    cnx_json_buf_sep(b);
    cnx_json_buf_put(b, tmp, (size_t) k);
}

void
cnx_json_buf_bool(cnx_json_buf_t *b, int v)
{
    cnx_json_buf_sep(b);
    if (v) {
        cnx_json_buf_put(b, "true", 4);
    } else {
        cnx_json_buf_put(b, "false", 5);
    }
}

void
cnx_json_buf_null(cnx_json_buf_t *b)
{
    cnx_json_buf_sep(b);
    cnx_json_buf_put(b, "null", 4);
}

void
cnx_json_buf_raw(cnx_json_buf_t *b, const char *s, size_t n)
{
    cnx_json_buf_sep(b);
    cnx_json_buf_put(b, s, n);
}

int
cnx_json_buf_finish(cnx_json_buf_t *b)
{
    if (b->err || b->depth != 0 || b->after_key || b->len > 0x7fffffffu) {
        return -1;
    }
    if (b->len < b->cap) {
        b->p[b->len] = '\0';
    }
    return (int) b->len;
}
