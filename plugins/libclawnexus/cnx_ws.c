/*
 * WebSocket framing (RFC 6455): headers, masking, close payloads, the
 * accept key, and the message reader.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CNX_WS_AVX2  1
#endif

#include "cnx_base64.h"
#include "cnx_utf8.h"
#include "cnx_ws.h"

/* RFC 6455 section 1.3: the GUID appended to the client's key. */
static const char cnx_ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int
cnx_ws_accept_key(const char *key, size_t klen, char out[29])
{
    EVP_MD_CTX    *ctx;
    unsigned char  md[EVP_MAX_MD_SIZE];
    unsigned int   mdlen = 0;
    int            ok;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return -1;
    }
    ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL)
         && EVP_DigestUpdate(ctx, key, klen)
         && EVP_DigestUpdate(ctx, cnx_ws_guid, sizeof(cnx_ws_guid) - 1)
         && EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);

    if (!ok || mdlen != 20) {
        return -1;
    }
    return cnx_base64_encode(out, 29, md, 20) == 28 ? 0 : -1;
}

static int
cnx_ws_opcode_known(unsigned op)
{
    return op == CNX_WS_OP_CONT || op == CNX_WS_OP_TEXT
           || op == CNX_WS_OP_BINARY || op == CNX_WS_OP_CLOSE
           || op == CNX_WS_OP_PING || op == CNX_WS_OP_PONG;
}

int
cnx_ws_frame_parse(const uint8_t *buf, size_t len, int expect_masked,
    uint64_t max_payload, cnx_ws_frame_t *f)
{
    unsigned  op, l7, masked;
    size_t    hl;
    uint64_t  v;
    int       k;

    if (len < 1) {
        return 0;
    }

    /* Everything the first byte says is checked before more arrives. */
    op = buf[0] & 0x0f;
    if ((buf[0] & 0x70) || !cnx_ws_opcode_known(op)) {
        return -CNX_WS_CLOSE_PROTOCOL;
    }
    if (op >= 8 && !(buf[0] & 0x80)) {
        return -CNX_WS_CLOSE_PROTOCOL;          /* fragmented control */
    }
    if (len < 2) {
        return 0;
    }

    masked = buf[1] >> 7;
    l7 = buf[1] & 0x7f;
    if ((int) masked != (expect_masked != 0)) {
        return -CNX_WS_CLOSE_PROTOCOL;
    }
    if (op >= 8 && l7 > CNX_WS_MAX_CONTROL) {
        return -CNX_WS_CLOSE_PROTOCOL;
    }

    hl = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + (masked ? 4 : 0);
    if (len < hl) {
        return 0;
    }

    if (l7 == 126) {
        v = ((uint64_t) buf[2] << 8) | buf[3];
        if (v < 126) {
            return -CNX_WS_CLOSE_PROTOCOL;      /* not minimal */
        }

    } else if (l7 == 127) {
        v = 0;
        for (k = 0; k < 8; k++) {
            v = (v << 8) | buf[2 + k];
        }
        if (v >> 63) {
            return -CNX_WS_CLOSE_PROTOCOL;
        }
        if (v <= 0xffff) {
            return -CNX_WS_CLOSE_PROTOCOL;      /* not minimal */
        }

    } else {
        v = l7;
    }

    if (v > max_payload) {
        return -CNX_WS_CLOSE_TOO_BIG;
    }

    f->fin = buf[0] >> 7;
    f->opcode = op;
    f->masked = masked;
    f->payload_len = v;
    f->header_len = hl;
    if (masked) {
        memcpy(f->mask, buf + hl - 4, 4);
    } else {
        memset(f->mask, 0, 4);
    }
    return (int) hl;
}

#if defined(CNX_WS_AVX2)

/*
 * 32 bytes a step where the CPU has AVX2 (chosen at run time: the build
 * targets plain x86-64).  Returns the bytes done; *high is set to 0x80 if
 * a result byte has bit 7 set.
 */
__attribute__((target("avx2")))
static size_t
cnx_ws_unmask_avx2(uint8_t *p, size_t n, uint64_t kw, uint64_t *high)
{
    size_t   i;
    __m256i  k32, v, vacc;

    k32 = _mm256_set1_epi64x((long long) kw);
    vacc = _mm256_setzero_si256();
    for (i = 0; n - i >= 32; i += 32) {
        v = _mm256_loadu_si256((const __m256i *) (const void *) (p + i));
        v = _mm256_xor_si256(v, k32);
        _mm256_storeu_si256((__m256i *) (void *) (p + i), v);
        vacc = _mm256_or_si256(vacc, v);
    }
    if (_mm256_movemask_epi8(vacc) != 0) {
        *high = 0x80;
    }
    return i;
}

/*
 * Set while the program (or library) is loaded, before any of its threads
 * can unmask: a check on first use would be a data race between threads.
 * Unmasking from an earlier constructor sees 0 and takes the SSE2 path.
 */
static int  cnx_ws_have_avx2;

__attribute__((constructor))
static void
cnx_ws_cpu_init(void)
{
    __builtin_cpu_init();
    cnx_ws_have_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
}

#endif

/*
 * XOR p[0..n) with the mask key, starting at key phase offset, and return
 * the OR of the resulting bytes (bit 7 clear: the result is ASCII).  The
 * relay unmasks every message it reads, so this is its hottest loop after
 * the kernel's copies.
 */
static unsigned
cnx_ws_unmask(uint8_t *p, size_t n, const uint8_t key[4], size_t offset)
{
    uint8_t   k8[8];
    uint64_t  kw, w, acc = 0;
    size_t    i = 0, j;
    unsigned  tail = 0;

    if (n >= 16) {
        for (j = 0; j < 8; j++) {
            k8[j] = key[(offset + j) & 3];
        }
        memcpy(&kw, k8, 8);
#if defined(CNX_WS_AVX2)
        /* Steps of 32 keep the key phase too. */
        if (n >= 128 && cnx_ws_have_avx2) {
            i = cnx_ws_unmask_avx2(p, n, kw, &acc);
        }
#endif
#if defined(__SSE2__)
        {
            __m128i  k16, v, vacc;

            /* Steps of 16 and 8 keep the key phase, since both % 4 == 0. */
            k16 = _mm_set1_epi64x((long long) kw);
            vacc = _mm_setzero_si128();
            for ( ; n - i >= 16; i += 16) {
                v = _mm_loadu_si128((const __m128i *) (const void *) (p + i));
                v = _mm_xor_si128(v, k16);
                _mm_storeu_si128((__m128i *) (void *) (p + i), v);
                vacc = _mm_or_si128(vacc, v);
            }
            if (_mm_movemask_epi8(vacc) != 0) {
                acc = 0x80;
            }
        }
#endif
        /* Eight-byte steps keep the key phase, since 8 % 4 == 0. */
        for ( ; n - i >= 8; i += 8) {
            memcpy(&w, p + i, 8);
            w ^= kw;
            memcpy(p + i, &w, 8);
            acc |= w;
        }
    }
    for ( ; i < n; i++) {
        p[i] ^= key[(offset + i) & 3];
        tail |= p[i];
    }
    return tail | (acc & UINT64_C(0x8080808080808080) ? 0x80 : 0);
}

void
cnx_ws_mask(uint8_t *p, size_t n, const uint8_t key[4], size_t offset)
{
    (void) cnx_ws_unmask(p, n, key, offset);
}

size_t
cnx_ws_frame_header(uint8_t out[CNX_WS_MAX_HEADER], int fin, int opcode,
    uint64_t len, const uint8_t *mask)
{
    size_t  h = 2;
    int     k;

    out[0] = (uint8_t) ((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (len < 126) {
        out[1] = (uint8_t) len;

    } else if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t) (len >> 8);
        out[3] = (uint8_t) len;
        h = 4;

    } else {
        out[1] = 127;
        for (k = 0; k < 8; k++) {
            out[2 + k] = (uint8_t) (len >> (56 - 8 * k));
        }
        h = 10;
    }
    if (mask != NULL) {
        out[1] |= 0x80;
        memcpy(out + h, mask, 4);
        h += 4;
    }
    return h;
}

size_t
cnx_ws_frame_build(uint8_t *out, size_t cap, int opcode,
    const uint8_t *payload, size_t n, const uint8_t *mask)
{
    uint8_t  hdr[CNX_WS_MAX_HEADER];
    size_t   h;

    if (out == NULL || (opcode >= 8 && n > CNX_WS_MAX_CONTROL)) {
        return 0;
    }
    h = cnx_ws_frame_header(hdr, 1, opcode, n, mask);
    if (cap < h || n > cap - h) {
        return 0;
    }
    memcpy(out, hdr, h);
    if (n > 0) {
        memmove(out + h, payload, n);
        if (mask != NULL) {
            cnx_ws_mask(out + h, n, mask, 0);
        }
    }
    return h + n;
}

int
cnx_ws_close_code_valid(unsigned code)
{
    return (code >= 1000 && code <= 1003)
           || (code >= 1007 && code <= 1011)
           || (code >= 3000 && code <= 4999);
}

int
cnx_ws_close_parse(const uint8_t *p, size_t n, unsigned *code,
    const uint8_t **reason, size_t *reason_len)
{
    unsigned  c;

    if (n == 0) {
        *code = CNX_WS_CLOSE_NO_STATUS;
        if (reason != NULL) {
            *reason = p;
        }
        if (reason_len != NULL) {
            *reason_len = 0;
        }
        return 0;
    }
    if (n == 1 || n > CNX_WS_MAX_CONTROL) {
        return -CNX_WS_CLOSE_PROTOCOL;
    }
    c = ((unsigned) p[0] << 8) | p[1];
    if (!cnx_ws_close_code_valid(c)) {
        return -CNX_WS_CLOSE_PROTOCOL;
    }
    if (!cnx_utf8_valid(p + 2, n - 2)) {
        return -CNX_WS_CLOSE_INVALID_DATA;
    }
    *code = c;
    if (reason != NULL) {
        *reason = p + 2;
    }
    if (reason_len != NULL) {
        *reason_len = n - 2;
    }
    return 0;
}

size_t
cnx_ws_close_build(uint8_t out[CNX_WS_MAX_CONTROL], unsigned code,
    const char *reason, size_t n)
{
    size_t  cut;

    if (code == CNX_WS_CLOSE_NO_STATUS) {
        return 0;
    }
    out[0] = (uint8_t) (code >> 8);
    out[1] = (uint8_t) code;
    if (reason == NULL) {
        return 2;
    }
    cut = n < CNX_WS_MAX_CONTROL - 2 ? n : CNX_WS_MAX_CONTROL - 2;
    /* Do not cut inside a UTF-8 sequence. */
    while (cut > 0 && cut < n && ((unsigned char) reason[cut] & 0xc0) == 0x80)
    {
        cut--;
    }
    memcpy(out + 2, reason, cut);
    return 2 + cut;
}


/* Message reader ---------------------------------------------------------- */

void
cnx_ws_reader_init(cnx_ws_reader_t *r, size_t max_message, int expect_masked)
{
    memset(r, 0, sizeof(*r));
    r->max_message = max_message;
    r->expect_masked = expect_masked != 0;
    r->utf8 = CNX_UTF8_ACCEPT;
}

void
cnx_ws_reader_free(cnx_ws_reader_t *r)
{
    free(r->buf);
    r->buf = NULL;
    r->len = 0;
    r->cap = 0;
}

size_t
cnx_ws_reader_trim(cnx_ws_reader_t *r)
{
    size_t  n = r->cap;

    if (r->buf == NULL || r->in_frame || r->frag_opcode != 0
        || r->pending != 0)
    {
        return 0;
    }
    free(r->buf);
    r->buf = NULL;
    r->len = 0;
    r->cap = 0;
    return n;
}

/* Make room for need bytes in the assembly buffer (need <= max_message). */
static int
cnx_ws_reader_reserve(cnx_ws_reader_t *r, size_t need)
{
    size_t   ncap;
    uint8_t *nb;

    if (need <= r->cap) {
        return 0;
    }
    ncap = r->cap > 0 ? r->cap : 4096;
    while (ncap < need) {
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    }
    if (ncap > r->max_message) {
        ncap = need > r->max_message ? need : (size_t) r->max_message;
    }
    nb = realloc(r->buf, ncap);
    if (nb == NULL) {
        return -1;
    }
    r->buf = nb;
    r->cap = ncap;
    return 0;
}

/* Checks of a complete control frame payload and hand-over. */
static int
cnx_ws_reader_control(cnx_ws_reader_t *r, const uint8_t *p, size_t n,
    cnx_ws_msg_t *msg)
{
    unsigned  code;
    int       rc;

    if (r->fr.opcode == CNX_WS_OP_CLOSE) {
        rc = cnx_ws_close_parse(p, n, &code, NULL, NULL);
        if (rc < 0) {
            return rc;
        }
        r->closed = 1;
    }
    msg->opcode = (int) r->fr.opcode;
    msg->data = p;
    msg->len = n;
    return CNX_WS_MSG;
}

int
cnx_ws_reader_next(cnx_ws_reader_t *r, uint8_t *buf, size_t len,
    size_t *consumed, cnx_ws_msg_t *msg)
{
    size_t    pos = 0, avail, take;
    uint64_t  left, total;
    uint8_t  *p;
    unsigned  op, high;
    int       rc;

#define CNX_WS_RETURN(v)  do { *consumed = pos; return (v); } while (0)

    if (r->pending != 0) {
        /* what cnx_ws_reader_put() completed */
        rc = r->pending;
        r->pending = 0;
        if (rc == CNX_WS_MSG) {
            msg->opcode = r->frag_opcode;
            msg->data = r->buf;
            msg->len = r->len;
            r->frag_opcode = 0;
        }
        CNX_WS_RETURN(rc);
    }

    for ( ;; ) {
        if (r->closed) {
            pos = len;                  /* nothing follows a close */
            CNX_WS_RETURN(CNX_WS_AGAIN);
        }

        if (!r->in_frame) {
            rc = cnx_ws_frame_parse(buf + pos, len - pos, r->expect_masked,
                                    UINT64_MAX >> 1, &r->fr);
            if (rc <= 0) {
                CNX_WS_RETURN(rc);      /* AGAIN (0) or -close code */
            }
            op = r->fr.opcode;

            if (op == CNX_WS_OP_CONT && r->frag_opcode == 0) {
                CNX_WS_RETURN(-CNX_WS_CLOSE_PROTOCOL);
            }
            if ((op == CNX_WS_OP_TEXT || op == CNX_WS_OP_BINARY)
                && r->frag_opcode != 0)
            {
                CNX_WS_RETURN(-CNX_WS_CLOSE_PROTOCOL);
            }

            if (op < 8) {
                total = r->fr.payload_len
                        + (op == CNX_WS_OP_CONT ? r->len : 0);
                if (total > r->max_message) {
                    CNX_WS_RETURN(-CNX_WS_CLOSE_TOO_BIG);
                }
                if (op != CNX_WS_OP_CONT) {
                    r->frag_opcode = (int) op;
                    r->len = 0;
                    r->utf8 = CNX_UTF8_ACCEPT;
                }
            } else {
                r->ctl_len = 0;
            }

            pos += (size_t) rc;
            r->in_frame = 1;
            r->frame_done = 0;

            /* Zero copy: a whole control frame or unfragmented message. */
            avail = len - pos;
            if (r->fr.payload_len <= avail
                && (op >= 8 || (r->fr.fin && op != CNX_WS_OP_CONT)))
            {
                take = (size_t) r->fr.payload_len;
                p = buf + pos;
                high = 0x80;
                if (r->fr.masked) {
                    high = cnx_ws_unmask(p, take, r->fr.mask, 0) & 0x80;
                }
                pos += take;
                r->in_frame = 0;

                if (op >= 8) {
                    CNX_WS_RETURN(cnx_ws_reader_control(r, p, take, msg));
                }
                r->frag_opcode = 0;
                /* ASCII, as JSON messages mostly are, is valid UTF-8 */
                if (op == CNX_WS_OP_TEXT && high
                    && !cnx_utf8_valid(p, take))
                {
                    CNX_WS_RETURN(-CNX_WS_CLOSE_INVALID_DATA);
                }
                msg->opcode = (int) op;
                msg->data = p;
                msg->len = take;
                CNX_WS_RETURN(CNX_WS_MSG);
            }
            continue;
        }

        /* Inside a frame's payload: move what is here into the reader. */
        op = r->fr.opcode;
        left = r->fr.payload_len - r->frame_done;
        take = len - pos;
        if ((uint64_t) take > left) {
            take = (size_t) left;
        }
        p = buf + pos;
        if (r->fr.masked) {
            cnx_ws_mask(p, take, r->fr.mask, (size_t) (r->frame_done & 3));
        }

        if (op >= 8) {
            memcpy(r->ctl + r->ctl_len, p, take);
            r->ctl_len += take;

        } else if (take > 0) {
            if (cnx_ws_reader_reserve(r, r->len + (size_t) left) != 0) {
                CNX_WS_RETURN(-CNX_WS_CLOSE_INTERNAL);
            }
            if (r->frag_opcode == CNX_WS_OP_TEXT) {
                r->utf8 = cnx_utf8_step(r->utf8, p, take);
                if (r->utf8 == CNX_UTF8_REJECT) {
                    CNX_WS_RETURN(-CNX_WS_CLOSE_INVALID_DATA);
                }
            }
            memcpy(r->buf + r->len, p, take);
            r->len += take;
        }

        pos += take;
        r->frame_done += take;
        if (r->frame_done < r->fr.payload_len) {
            CNX_WS_RETURN(CNX_WS_AGAIN);
        }
        r->in_frame = 0;

        if (op >= 8) {
            CNX_WS_RETURN(cnx_ws_reader_control(r, r->ctl, r->ctl_len, msg));
        }
        if (!r->fr.fin) {
            continue;                   /* more fragments to come */
        }

        if (r->frag_opcode == CNX_WS_OP_TEXT && r->utf8 != CNX_UTF8_ACCEPT) {
            CNX_WS_RETURN(-CNX_WS_CLOSE_INVALID_DATA);
        }
        msg->opcode = r->frag_opcode;
        msg->data = r->buf != NULL ? r->buf : r->ctl;
        msg->len = r->len;
        r->frag_opcode = 0;
        CNX_WS_RETURN(CNX_WS_MSG);
    }

#undef CNX_WS_RETURN
}


size_t
cnx_ws_reader_room(cnx_ws_reader_t *r, uint8_t **p)
{
    uint64_t  left;

    if (r->closed || r->pending != 0 || !r->in_frame || r->fr.opcode >= 8) {
        return 0;
    }
    left = r->fr.payload_len - r->frame_done;
    if (left == 0 || cnx_ws_reader_reserve(r, r->len + (size_t) left) != 0) {
        return 0;           /* cnx_ws_reader_next() tells about memory */
    }
    *p = r->buf + r->len;
    return (size_t) left;
}

uint64_t
cnx_ws_reader_left(const cnx_ws_reader_t *r)
{
    if (r->closed || !r->in_frame) {
        return 0;
    }
    return r->fr.payload_len - r->frame_done;
}

void
cnx_ws_reader_put(cnx_ws_reader_t *r, size_t n)
{
    uint8_t  *p = r->buf + r->len;

    if (n == 0) {
        return;
    }
    if (r->fr.masked) {
        cnx_ws_mask(p, n, r->fr.mask, (size_t) (r->frame_done & 3));
    }
    if (r->frag_opcode == CNX_WS_OP_TEXT) {
        r->utf8 = cnx_utf8_step(r->utf8, p, n);
        if (r->utf8 == CNX_UTF8_REJECT) {
            r->pending = -CNX_WS_CLOSE_INVALID_DATA;
            return;
        }
    }
    r->len += n;
    r->frame_done += n;
    if (r->frame_done < r->fr.payload_len) {
        return;
    }
    r->in_frame = 0;
    if (!r->fr.fin) {
        return;             /* more fragments to come */
    }
    if (r->frag_opcode == CNX_WS_OP_TEXT && r->utf8 != CNX_UTF8_ACCEPT) {
        r->pending = -CNX_WS_CLOSE_INVALID_DATA;
        return;
    }
    r->pending = CNX_WS_MSG;
}
