/*
 * session_v1_tool: the C side of tests/integration/session-v1-node.sh.
 * Drives cnx_session_v1 from the command line so that a Node script using
 * clawnexus 0.4.0's own code can check it both ways.  Test use only: it
 * prints private keys.
 *
 *   keygen                 print "SK_HEX" and our KEY_EXCHANGE payload
 *   kat                    stdin: "ASK_HEX BPUB_B64 KEY_HEX PAYLOAD PT_HEX"
 *                          per line; check derive, open, and re-seal
 *   open SK_HEX PEER_KEX   stdin: payloads; stdout: plaintext lines
 *   seal SK_HEX PEER_KEX   stdin: plaintext lines; stdout: payloads
 *
 * Exit 0 on success, 1 on any mismatch or failure (named on stderr).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnx_base64.h"
#include "cnx_crypto.h"
#include "cnx_internal.h"
#include "cnx_session_v1.h"

#define LINE_MAX_BYTES (1 << 20)

static int
unhex(uint8_t *out, size_t cap, const char *hex, size_t *outlen)
{
    size_t        n = strlen(hex), i;
    unsigned int  v;

    if (n % 2 || n / 2 > cap) {
        return -1;
    }
    for (i = 0; i < n / 2; i++) {
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        out[i] = (uint8_t) v;
    }
    *outlen = n / 2;
    return 0;
}

static void
hex(const uint8_t *in, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        printf("%02x", in[i]);
    }
}

static char *
read_line(char *buf, size_t cap, size_t *len)
{
    if (fgets(buf, (int) cap, stdin) == NULL) {
        return NULL;
    }
    *len = strcspn(buf, "\n");
    buf[*len] = '\0';
    return buf;
}

static cnx_v1_session_t *
session_from(const char *skhex, const char *peer_kex)
{
    uint8_t       sk[32], key[32];
    size_t        n;
    cnx_v1_kex_t  kex;
    cnx_v1_session_t *s;

    if (unhex(sk, 32, skhex, &n) != 0 || n != 32) {
        fprintf(stderr, "session_v1_tool: bad private key hex\n");
        return NULL;
    }
    if (cnx_v1_kex_parse(&kex, peer_kex, strlen(peer_kex)) != CNX_V1_KEX) {
        fprintf(stderr, "session_v1_tool: not a KEY_EXCHANGE: %s\n",
                peer_kex);
        return NULL;
    }
    if (cnx_v1_derive(key, sk, kex.pubkey) != 0) {
        fprintf(stderr, "session_v1_tool: key agreement failed\n");
        return NULL;
    }
    s = cnx_v1_session_new(key);
    cnx_memzero(key, sizeof(key));
    cnx_memzero(sk, sizeof(sk));
    return s;
}

static int
cmd_keygen(void)
{
    uint8_t  pk[32], sk[32];
    char     kex[CNX_V1_KEX_MAX];

    if (cnx_x25519_keypair(pk, sk) != 0
        || cnx_v1_kex_build(kex, sizeof(kex), pk, 2) < 0)
    {
        return 1;
    }
    hex(sk, 32);
    printf("\n%s\n", kex);
    cnx_memzero(sk, sizeof(sk));
    return 0;
}

static int cmd_kat_run(char *line, uint8_t *m, char *out, uint8_t *pt);

static int
cmd_kat(char *line, uint8_t *m, char *out)
{
    uint8_t  *pt = malloc(LINE_MAX_BYTES);
    int       rc;

    if (pt == NULL) {
        return 1;
    }
    rc = cmd_kat_run(line, m, out, pt);
    free(pt);
    return rc;
}

static int
cmd_kat_run(char *line, uint8_t *m, char *out, uint8_t *pt)
{
    char              ask[80], bpub[80], keyhex[80], *payload, *pthex;
    uint8_t           sk[32], spki[64], bpk[32], key[32], want[32], iv[12];
    size_t            len, n, mlen, ptlen;
    int               count = 0, k;
    cnx_v1_session_t *s;

    while (read_line(line, LINE_MAX_BYTES, &len) != NULL) {
        if (sscanf(line, "%79s %79s %79s", ask, bpub, keyhex) != 3
            || (payload = strchr(line, ' ')) == NULL
            || (payload = strchr(payload + 1, ' ')) == NULL
            || (payload = strchr(payload + 1, ' ')) == NULL
            || (pthex = strchr(payload + 1, ' ')) == NULL)
        {
            fprintf(stderr, "kat: malformed line %d\n", count + 1);
            return 1;
        }
        payload++;
        *pthex++ = '\0';
        k = cnx_base64_decode(spki, sizeof(spki), bpub, strlen(bpub));
        if (unhex(sk, 32, ask, &n) != 0 || n != 32
            || unhex(want, 32, keyhex, &n) != 0 || n != 32 || k < 0
            || cnx_v1_spki_decode(bpk, spki, (size_t) k) != 0
            || unhex(pt, LINE_MAX_BYTES, pthex, &ptlen) != 0)
        {
            fprintf(stderr, "kat: bad field on line %d\n", count + 1);
            return 1;
        }
        if (cnx_v1_derive(key, sk, bpk) != 0
            || cnx_ct_compare(key, want, 32) != 0)
        {
            fprintf(stderr, "kat: line %d: session key differs from "
                    "Node's\n", count + 1);
            return 1;
        }
        s = cnx_v1_session_new(key);
        if (s == NULL
            || cnx_v1_open(s, m, LINE_MAX_BYTES, &mlen, payload,
                           strlen(payload)) != 0
            || mlen != ptlen || memcmp(m, pt, mlen) != 0)
        {
            fprintf(stderr, "kat: line %d: Node's ciphertext does not open "
                    "to its plaintext\n", count + 1);
            return 1;
        }
        /* The same iv must give Node's bytes exactly. */
        k = cnx_base64_decode(m, LINE_MAX_BYTES, payload, strlen(payload));
        memcpy(iv, m, 12);
        if (cnx_v1_seal_with_iv(s, out, LINE_MAX_BYTES * 2, pt, ptlen, iv)
            < 0 || strcmp(out, payload) != 0)
        {
            fprintf(stderr, "kat: line %d: our ciphertext differs from "
                    "Node's\n", count + 1);
            return 1;
        }
        cnx_v1_session_free(s);
        count++;
    }
    printf("ok %d\n", count);
    return count > 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
    cnx_v1_session_t *s;
    char             *line, *out;
    uint8_t          *m;
    size_t            len, mlen;
    int               rc = 0, n;

    if (cnx_crypto_init() != 0) {
        return 1;
    }
    line = malloc(LINE_MAX_BYTES);
    out = malloc(LINE_MAX_BYTES * 2);
    m = malloc(LINE_MAX_BYTES);
    if (line == NULL || out == NULL || m == NULL) {
        return 1;
    }
    if (argc == 2 && strcmp(argv[1], "keygen") == 0) {
        rc = cmd_keygen();
        goto done;
    }
    if (argc == 2 && strcmp(argv[1], "kat") == 0) {
        rc = cmd_kat(line, m, out);
        goto done;
    }
    if (argc != 4
        || (strcmp(argv[1], "open") != 0 && strcmp(argv[1], "seal") != 0))
    {
        fprintf(stderr, "usage: session_v1_tool keygen | kat | "
                "open|seal SK_HEX PEER_KEX\n");
        rc = 2;
        goto done;
    }
    s = session_from(argv[2], argv[3]);
    if (s == NULL) {
        rc = 1;
        goto done;
    }
    while (read_line(line, LINE_MAX_BYTES, &len) != NULL) {
        if (argv[1][0] == 'o') {
            if (cnx_v1_open(s, m, LINE_MAX_BYTES, &mlen, line, len) != 0) {
                fprintf(stderr, "open: payload does not decrypt: %.40s\n",
                        line);
                rc = 1;
                printf("\n");
                continue;
            }
            fwrite(m, 1, mlen, stdout);
            printf("\n");
        } else {
            n = cnx_v1_seal(s, out, LINE_MAX_BYTES * 2, (uint8_t *) line,
                            len);
            if (n < 0) {
                fprintf(stderr, "seal: failed\n");
                rc = 1;
                break;
            }
            printf("%s\n", out);
        }
    }
    cnx_v1_session_free(s);
done:
    free(line);
    free(out);
    free(m);
    return rc;
}
