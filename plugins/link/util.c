/*
 * clawnexus-link: small helpers shared by every subcommand (messages,
 * files, numbers, names).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "link.h"

int link_verbose;

/* syslog priorities, as the journal reads them from a "<N>" prefix */
#define LINK_PRI_ERR      3
#define LINK_PRI_WARNING  4
#define LINK_PRI_DEBUG    7

/*
 * 1 when stderr is the journal stream systemd connected (JOURNAL_STREAM
 * names its device and inode), so lines carry a priority prefix; a child
 * whose stderr was redirected inherits the variable but not the stream.
 */
static int
link_stderr_is_journal(void)
{
    static int   known, is;
    struct stat  st;
    const char  *env;
    unsigned long long dev, ino;

    if (!known) {
        known = 1;
        env = getenv("JOURNAL_STREAM");
        is = env != NULL
             && sscanf(env, "%llu:%llu", &dev, &ino) == 2
             && fstat(STDERR_FILENO, &st) == 0
             && (unsigned long long) st.st_dev == dev
             && (unsigned long long) st.st_ino == ino;
    }
    return is;
}

/*
 * One message, one line: names, URLs and relay messages quoted in it may
 * hold any byte, so control characters become '?' (no forged second line
 * in a log).
 */
static void
link_vmsg(int pri, const char *fmt, va_list ap)
{
    char  line[1024];
    char *p;
    int   n;

    n = vsnprintf(line, sizeof(line), fmt, ap);
    if (n < 0) {
        return;
    }
    if ((size_t) n >= sizeof(line)) {
        memcpy(line + sizeof(line) - 4, "...", 4);
    }
    for (p = line; *p != '\0'; p++) {
        if ((unsigned char) *p < 0x20 || *p == 0x7f) {
            *p = '?';
        }
    }
    if (pri == LINK_PRI_ERR && strncmp(line, "warning: ", 9) == 0) {
        pri = LINK_PRI_WARNING;
    }
    if (link_stderr_is_journal()) {
        fprintf(stderr, "<%d>", pri);
    }
    fprintf(stderr, "%s: %s\n", LINK_PROG, line);
}

void
link_err(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    link_vmsg(LINK_PRI_ERR, fmt, ap);
    va_end(ap);
}

void
link_usage_hint(const char *cmd)
{
    fprintf(stderr, "Try '%s %s --help'.\n", LINK_PROG, cmd);
}

void
link_debug(const char *fmt, ...)
{
    va_list ap;

    if (!link_verbose) {
        return;
    }
    va_start(ap, fmt);
    link_vmsg(LINK_PRI_DEBUG, fmt, ap);
    va_end(ap);
}

int64_t
link_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
link_read_file(const char *path, char *buf, size_t cap, size_t *len,
    int secret, int strip)
{
    struct stat st;
    size_t      n = 0;
    ssize_t     r;
    int         fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        link_err("cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        link_err("%s is not a regular file", path);
        close(fd);
        return -1;
    }
    if (secret && (st.st_mode & 077)) {
        link_err("warning: %s is readable by group or others "
                 "(chmod 600 it)", path);
    }
    for ( ;; ) {
        if (n >= cap - 1) {
            link_err("%s is too large (limit %zu bytes)", path, cap - 1);
            close(fd);
            return -1;
        }
        r = read(fd, buf + n, cap - 1 - n);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            link_err("cannot read %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        if (r == 0) {
            break;
        }
        n += (size_t) r;
    }
    close(fd);
    if (strip && n > 0 && buf[n - 1] == '\n') {
        n--;
        if (n > 0 && buf[n - 1] == '\r') {
            n--;
        }
    }
    buf[n] = '\0';
    if (len != NULL) {
        *len = n;
    }
    return 0;
}

int
link_home_path(char *out, size_t cap, const char *rel)
{
    const char *home = getenv("HOME");
    int         n;

    if (home == NULL || home[0] == '\0') {
        home = "/";
    }
    n = snprintf(out, cap, "%s/.clawnexus%s%s", home,
                 rel[0] ? "/" : "", rel);
    return (n < 0 || (size_t) n >= cap) ? -1 : 0;
}

int
link_mkdirs(const char *path)
{
    char   tmp[PATH_MAX];
    size_t i, n = strlen(path);

    if (n == 0 || n >= sizeof(tmp)) {
        return -1;
    }
    memcpy(tmp, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];

            tmp[i] = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
                return -1;
            }
            tmp[i] = c;
        }
    }
    return 0;
}

int
link_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long  v;

    if (s == NULL || *s == '\0') {
        return -1;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

int
link_fd_limit(void)
{
    static int    limit;
    struct rlimit rl;

    if (limit == 0) {
        limit = 1024;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
            limit = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > INT_MAX
                    ? INT_MAX : (int) rl.rlim_cur;
        }
    }
    return limit;
}

void
link_addr_text(const struct sockaddr_storage *sa, unsigned len, char *out,
    size_t cap)
{
    char host[INET6_ADDRSTRLEN];

    if (getnameinfo((const struct sockaddr *) sa, len, host, sizeof(host),
                    NULL, 0, NI_NUMERICHOST) != 0)
    {
        snprintf(host, sizeof(host), "?");
    }
    snprintf(out, cap, "%s", host);
}
