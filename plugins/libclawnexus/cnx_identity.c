/*
 * cnx_identity: the static key file and the pin store (cnx_identity.h).
 */

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cnx_base64.h"
#include "cnx_crypto.h"
#include "cnx_identity.h"

#define KEY_B64_LEN   CNX_BASE64_ENCODED_LEN(32)      /* 44 */
#define PINS_MAX      (1 << 20)                       /* file size limit */
#define NAME_MAX_LEN  255

static int
cnx_id_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static const char *
cnx_id_home(void)
{
    const char     *h = getenv("HOME");
    struct passwd  *pw;

    if (h != NULL && h[0] == '/') {
        return h;
    }
    pw = getpwuid(getuid());
    return pw != NULL ? pw->pw_dir : NULL;
}

int
cnx_identity_default_dir(char *out, size_t outcap)
{
    const char  *h = cnx_id_home();
    int          n;

    if (h == NULL) {
        return -1;
    }
    n = snprintf(out, outcap, "%s/.clawnexus/edge", h);
    return n < 0 || (size_t) n >= outcap ? -1 : 0;
}

static int
cnx_id_default_file(char *out, size_t outcap, const char *name)
{
    size_t  len;
    int     n;

    if (cnx_identity_default_dir(out, outcap) != 0) {
        return -1;
    }
    len = strlen(out);
    n = snprintf(out + len, outcap - len, "/%s", name);
    return n < 0 || (size_t) n >= outcap - len ? -1 : 0;
}

int
cnx_identity_default_key(char *out, size_t outcap)
{
    return cnx_id_default_file(out, outcap, "static.key");
}

int
cnx_identity_default_pins(char *out, size_t outcap)
{
    return cnx_id_default_file(out, outcap, "known_peers");
}

void
cnx_identity_fingerprint(char out[CNX_FINGERPRINT_LEN], const uint8_t pk[32])
{
    uint8_t  h[32];
    char     b64[CNX_BASE64_ENCODED_LEN(32) + 1];

    if (cnx_sha256(h, pk, 32) != 0) {
        snprintf(out, CNX_FINGERPRINT_LEN, "SHA256:(unavailable)");
        return;
    }
    cnx_base64_encode(b64, sizeof(b64), h, sizeof(h));
    /* "SHA256:" and the 43 significant characters, without the '='. */
    memcpy(out, "SHA256:", 7);
    memcpy(out + 7, b64, 43);
    out[50] = '\0';
}

/* mkdir -p of the directory part of path, mode 0700 for what we create. */
static int
cnx_id_mkdirs(const char *path, char *err, size_t errlen)
{
    char    dir[4096];
    char   *p;
    size_t  len = strlen(path);

    if (len >= sizeof(dir)) {
        return cnx_id_err(err, errlen, "%s: path too long", path);
    }
    memcpy(dir, path, len + 1);
    p = strrchr(dir, '/');
    if (p == NULL || p == dir) {
        return 0;
    }
    *p = '\0';
    for (p = dir + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
                return cnx_id_err(err, errlen, "%s: cannot create: %s", dir,
                                  strerror(errno));
            }
            *p = '/';
        }
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        return cnx_id_err(err, errlen, "%s: cannot create: %s", dir,
                          strerror(errno));
    }
    return 0;
}

/* Write data to path atomically: path.tmp.PID opened O_CREAT|O_EXCL with
 * mode 0600, fsync, rename. */
static int
cnx_id_write_atomic(const char *path, const char *data, size_t len,
    char *err, size_t errlen)
{
    char     tmp[4200];
    size_t   off = 0;
    ssize_t  w;
    int      fd, n;

    n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long) getpid());
    if (n < 0 || (size_t) n >= sizeof(tmp)) {
        return cnx_id_err(err, errlen, "%s: path too long", path);
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
              0600);
    if (fd < 0) {
        return cnx_id_err(err, errlen, "%s: cannot create: %s", tmp,
                          strerror(errno));
    }
    while (off < len) {
        w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            n = errno;
            close(fd);
            unlink(tmp);
            return cnx_id_err(err, errlen, "%s: write failed: %s", tmp,
                              strerror(n));
        }
        off += (size_t) w;
    }
    if (fchmod(fd, 0600) != 0 || fsync(fd) != 0 || close(fd) != 0) {
        n = errno;
        unlink(tmp);
        return cnx_id_err(err, errlen, "%s: %s", tmp, strerror(n));
    }
    if (rename(tmp, path) != 0) {
        n = errno;
        unlink(tmp);
        return cnx_id_err(err, errlen, "%s: cannot rename into place: %s",
                          path, strerror(n));
    }
    return 0;
}

/* Read a whole small file (NUL-terminated) after an fstat check; private
 * files must not be readable or writable by group or others. */
static int
cnx_id_read(const char *path, char *buf, size_t cap, size_t *len,
    int private_file, char *err, size_t errlen)
{
    struct stat  st;
    ssize_t      r;
    size_t       off = 0;
    int          fd, e;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        e = errno;
        cnx_id_err(err, errlen, "%s: cannot open: %s", path, strerror(e));
        return e == ENOENT ? 1 : -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return cnx_id_err(err, errlen, "%s: not a regular file", path);
    }
    if (private_file && (st.st_mode & 077) != 0) {
        close(fd);
        return cnx_id_err(err, errlen, "%s: mode %03o lets others read it; "
                          "refusing (chmod 600 it)", path,
                          (unsigned) (st.st_mode & 0777));
    }
    if (st.st_size < 0 || (size_t) st.st_size >= cap) {
        close(fd);
        return cnx_id_err(err, errlen, "%s: too large", path);
    }
    for (;;) {
        r = read(fd, buf + off, cap - 1 - off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            e = errno;
            close(fd);
            return cnx_id_err(err, errlen, "%s: read failed: %s", path,
                              strerror(e));
        }
        if (r == 0) {
            break;
        }
        off += (size_t) r;
        if (off == cap - 1) {
            close(fd);
            return cnx_id_err(err, errlen, "%s: too large", path);
        }
    }
    close(fd);
    buf[off] = '\0';
    *len = off;
    return 0;
}

/*
 * Read the base64 32-byte secret at path into secret, or, when the file is
 * absent, let make() fill secret and store it (0600, directory 0700).
 */
static int
cnx_id_secret(const char *path, uint8_t secret[32],
    int (*make)(uint8_t secret[32]), char *err, size_t errlen)
{
    char     buf[128];
    size_t   len;
    int      rc, n;

    if (cnx_crypto_init() != 0) {
        return cnx_id_err(err, errlen, "crypto initialisation failed");
    }
    rc = cnx_id_read(path, buf, sizeof(buf), &len, 1, err, errlen);
    if (rc == 1) {
        /* First use: make a key. */
        if (cnx_id_mkdirs(path, err, errlen) != 0 || make(secret) != 0) {
            return -1;
        }
        n = cnx_base64_encode(buf, sizeof(buf), secret, 32);
        buf[n] = '\n';
        rc = cnx_id_write_atomic(path, buf, (size_t) n + 1, err, errlen);
        cnx_memzero(buf, sizeof(buf));
        if (rc != 0) {
            cnx_memzero(secret, 32);
        }
        return rc;
    }
    if (rc != 0) {
        cnx_memzero(buf, sizeof(buf));
        return -1;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'
                       || buf[len - 1] == ' '))
    {
        len--;
    }
    n = cnx_base64_decode(secret, 32, buf, len);
    cnx_memzero(buf, sizeof(buf));
    if (n != 32) {
        cnx_memzero(secret, 32);
        return cnx_id_err(err, errlen, "%s: not a key file (expected the "
                          "base64 of 32 bytes)", path);
    }
    return 0;
}

static int
cnx_id_make_x25519(uint8_t sk[32])
{
    uint8_t  pk[32];

    return cnx_x25519_keypair(pk, sk);
}

int
cnx_identity_load(const char *path, uint8_t sk[32], uint8_t pk[32],
    char *err, size_t errlen)
{
    if (cnx_id_secret(path, sk, cnx_id_make_x25519, err, errlen) != 0) {
        return -1;
    }
    if (cnx_x25519_public(pk, sk) != 0) {
        cnx_memzero(sk, 32);
        return cnx_id_err(err, errlen, "%s: not a key file (expected the "
                          "base64 of 32 bytes)", path);
    }
    return 0;
}

static int
cnx_id_make_seed(uint8_t seed[32])
{
    randombytes_buf(seed, 32);
    return 0;
}

int
cnx_identity_default_signing(char *out, size_t outcap)
{
    return cnx_id_default_file(out, outcap, "registry.key");
}

int
cnx_identity_load_signing(const char *path, uint8_t sk[64], uint8_t pk[32],
    char *err, size_t errlen)
{
    uint8_t  seed[32];

    if (cnx_id_secret(path, seed, cnx_id_make_seed, err, errlen) != 0) {
        return -1;
    }
    crypto_sign_seed_keypair(pk, sk, seed);
    cnx_memzero(seed, sizeof(seed));
    return 0;
}

/* ---- pins ------------------------------------------------------------- */

static int
cnx_id_name_ok(const char *name)
{
    size_t  i, n = strlen(name);

    if (n == 0 || n > NAME_MAX_LEN) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if ((unsigned char) name[i] <= ' ' || name[i] == '#'
            || (unsigned char) name[i] == 0x7f)
        {
            return 0;
        }
    }
    return 1;
}

/* Find name's line in buf: returns the key field and sets the line span. */
static const char *
cnx_id_find(const char *buf, const char *name, const char **line_start,
    const char **line_end, size_t *keylen)
{
    const char  *p = buf, *eol, *sp;
    size_t       n = strlen(name);

    while (*p) {
        eol = strchr(p, '\n');
        if (eol == NULL) {
            eol = p + strlen(p);
        }
        if (*p != '#') {
            sp = memchr(p, ' ', (size_t) (eol - p));
            if (sp != NULL && (size_t) (sp - p) == n
                && memcmp(p, name, n) == 0)
            {
                *line_start = p;
                *line_end = *eol ? eol + 1 : eol;
                *keylen = (size_t) (eol - sp - 1);
                if (*keylen && sp[*keylen] == '\r') {
                    (*keylen)--;
                }
                return sp + 1;
            }
        }
        p = *eol ? eol + 1 : eol;
    }
    return NULL;
}

/* The pin file into a new buffer (*out): 1 read, 0 no file yet, -1. */
static int
cnx_id_pins_read(const char *path, char **out, size_t *len, char *err,
    size_t errlen)
{
    char *buf = malloc(PINS_MAX);
    int   rc;

    *out = NULL;
    if (buf == NULL) {
        return cnx_id_err(err, errlen, "out of memory");
    }
    rc = cnx_id_read(path, buf, PINS_MAX, len, 0, err, errlen);
    if (rc != 0) {
        free(buf);
        if (rc == 1 && err != NULL && errlen > 0) {
            err[0] = '\0';             /* no pin file yet: not an error */
        }
        return rc == 1 ? 0 : -1;
    }
    *out = buf;
    return 1;
}

int
cnx_pins_lookup(const char *path, const char *name, uint8_t pk[32],
    char *err, size_t errlen)
{
    char        *buf;
    const char  *key, *ls, *le;
    size_t       len, klen;
    int          rc;

    if (!cnx_id_name_ok(name)) {
        return cnx_id_err(err, errlen, "'%s': not a valid peer name", name);
    }
    rc = cnx_id_pins_read(path, &buf, &len, err, errlen);
    if (rc != 1) {
        return rc;
    }
    key = cnx_id_find(buf, name, &ls, &le, &klen);
    if (key == NULL) {
        free(buf);
        return 0;
    }
    rc = cnx_base64_decode(pk, 32, key, klen) == 32 ? 1 : -1;
    free(buf);
    if (rc < 0) {
        return cnx_id_err(err, errlen, "%s: the key pinned for '%s' is not "
                          "valid base64 of 32 bytes", path, name);
    }
    return 1;
}

/* Set (pk != NULL) or remove (pk == NULL) the pin of name: 1 changed,
 * 0 nothing to remove, -1 error. */
static int
cnx_id_pins_edit(const char *path, const char *name, const uint8_t *pk,
    char *err, size_t errlen)
{
    char        *buf, *out, b64[KEY_B64_LEN + 1];
    const char  *key, *ls, *le;
    size_t       len = 0, klen, o = 0, nl;
    int          rc;

    if (!cnx_id_name_ok(name)) {
        return cnx_id_err(err, errlen, "'%s': not a valid peer name", name);
    }
    buf = malloc(PINS_MAX);
    out = malloc(PINS_MAX + NAME_MAX_LEN + KEY_B64_LEN + 4);
    if (buf == NULL || out == NULL) {
        free(buf);
        free(out);
        return cnx_id_err(err, errlen, "out of memory");
    }
    rc = cnx_id_read(path, buf, PINS_MAX, &len, 0, err, errlen);
    if (rc == 1) {
        len = 0;
        buf[0] = '\0';
        rc = pk != NULL ? cnx_id_mkdirs(path, err, errlen) : 0;
        if (pk == NULL && err != NULL && errlen > 0) {
            err[0] = '\0';
        }
    }
    if (rc != 0) {
        free(buf);
        free(out);
        return -1;
    }
    key = cnx_id_find(buf, name, &ls, &le, &klen);
    if (key == NULL && pk == NULL) {
        free(buf);
        free(out);
        return 0;
    }
    if (pk != NULL) {
        cnx_base64_encode(b64, sizeof(b64), pk, 32);
    }
    if (key != NULL) {
        /* Replace (or drop) that line, keep the others as they are. */
        memcpy(out, buf, (size_t) (ls - buf));
        o = (size_t) (ls - buf);
        if (pk != NULL) {
            o += (size_t) sprintf(out + o, "%s %s\n", name, b64);
        }
        nl = len - (size_t) (le - buf);
        memcpy(out + o, le, nl);
        o += nl;
    } else {
        memcpy(out, buf, len);
        o = len;
        if (o > 0 && out[o - 1] != '\n') {
            out[o++] = '\n';
        }
        o += (size_t) sprintf(out + o, "%s %s\n", name, b64);
    }
    rc = cnx_id_write_atomic(path, out, o, err, errlen);
    free(buf);
    free(out);
    return rc == 0 ? 1 : -1;
}

int
cnx_pins_set(const char *path, const char *name, const uint8_t pk[32],
    char *err, size_t errlen)
{
    return cnx_id_pins_edit(path, name, pk, err, errlen) == 1 ? 0 : -1;
}

int
cnx_pins_remove(const char *path, const char *name, char *err,
    size_t errlen)
{
    return cnx_id_pins_edit(path, name, NULL, err, errlen);
}

int
cnx_pins_list(const char *path, cnx_pins_each_fn fn, void *ud, char *err,
    size_t errlen)
{
    char        *buf, name[NAME_MAX_LEN + 1];
    const char  *p, *eol, *sp;
    uint8_t      pk[32];
    size_t       len, n, klen;
    int          rc, count = 0;

    rc = cnx_id_pins_read(path, &buf, &len, err, errlen);
    if (rc != 1) {
        return rc;
    }
    for (p = buf; *p; p = *eol ? eol + 1 : eol) {
        eol = strchr(p, '\n');
        if (eol == NULL) {
            eol = p + strlen(p);
        }
        if (*p == '#' || p == eol) {
            continue;
        }
        sp = memchr(p, ' ', (size_t) (eol - p));
        n = sp ? (size_t) (sp - p) : 0;
        if (sp == NULL || n == 0 || n > NAME_MAX_LEN) {
            continue;
        }
        klen = (size_t) (eol - sp - 1);
        if (klen && sp[klen] == '\r') {
            klen--;
        }
        memcpy(name, p, n);
        name[n] = '\0';
        if (cnx_base64_decode(pk, 32, sp + 1, klen) != 32) {
            continue;
        }
        count++;
        if (fn != NULL) {
            fn(ud, name, pk);
        }
    }
    free(buf);
    return count;
}

int
cnx_pins_check(const char *path, const char *name, const uint8_t pk[32],
    int tofu, char *err, size_t errlen)
{
    uint8_t  pinned[32];
    char     fa[CNX_FINGERPRINT_LEN], fb[CNX_FINGERPRINT_LEN];
    int      rc;

    rc = cnx_pins_lookup(path, name, pinned, err, errlen);
    if (rc < 0) {
        return -1;
    }
    if (rc == 0) {
        if (!tofu) {
            return CNX_PIN_UNKNOWN;
        }
        return cnx_pins_set(path, name, pk, err, errlen) == 0 ? CNX_PIN_NEW
                                                              : -1;
    }
    if (cnx_ct_compare(pinned, pk, 32) == 0) {
        return CNX_PIN_MATCH;
    }
    cnx_identity_fingerprint(fa, pinned);
    cnx_identity_fingerprint(fb, pk);
    cnx_id_err(err, errlen, "%s: the key of '%s' changed: pinned %s, "
               "presented %s; refusing (remove the line from %s if the "
               "change is expected)", path, name, fa, fb, path);
    return CNX_PIN_MISMATCH;
}
