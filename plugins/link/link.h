/*
 * clawnexus-link: declarations shared by the subcommands.
 */

#ifndef CNX_LINK_H
#define CNX_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Exit codes (documented in clawnexus-link(1)).  Every subcommand uses
 * the same table so that scripts can tell failures apart.
 */
#define LINK_EXIT_OK           0  /* done; chat: stdin ended, all sent */
#define LINK_EXIT_FAIL         1  /* internal or unexpected failure */
#define LINK_EXIT_USAGE        2  /* bad command line */
#define LINK_EXIT_PEER_LEFT    3  /* chat/connect: the peer left first */
#define LINK_EXIT_FILE         4  /* unreadable/unsafe key, token, config */
#define LINK_EXIT_ADDR         5  /* bad URL, address or name */
#define LINK_EXIT_UNREACHABLE  6  /* relay or peer could not be reached */
#define LINK_EXIT_RELAY        7  /* the relay refused (ERROR message) */
#define LINK_EXIT_SESSION      8  /* peer failed authentication/session */

#define LINK_PROG "clawnexus-link"

/*
 * One line on stderr, prefixed with the program name (and with the syslog
 * priority when stderr is the journal: error, or warning for a message
 * starting "warning: ").  Control characters are replaced by '?'.
 */
void link_err(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* "try 'clawnexus-link CMD --help'" on stderr. */
void link_usage_hint(const char *cmd);

/* Verbose diagnostics (-v); never used for secrets. */
extern int link_verbose;
void link_debug(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Monotonic milliseconds. */
int64_t link_now_ms(void);

/*
 * Read a whole small file (at most cap - 1 bytes) into buf and NUL-terminate
 * it.  secret != 0: the file holds a secret; a group/world-readable file
 * draws a warning.  A single trailing "\n" or "\r\n" is stripped when
 * strip != 0.  Returns 0, or -1 after printing one line naming the file.
 */
int link_read_file(const char *path, char *buf, size_t cap, size_t *len,
    int secret, int strip);

/* "~/.clawnexus" under $HOME, written to out; -1 if it does not fit. */
int link_home_path(char *out, size_t cap, const char *rel);

/* Create a directory and its parents with mode 0700 (ignores EEXIST). */
int link_mkdirs(const char *path);

/* The soft limit of open descriptors (RLIMIT_NOFILE). */
int link_fd_limit(void);

/* The numeric host of a socket address ("10.7.0.2", "fd00::2"). */
struct sockaddr_storage;
void link_addr_text(const struct sockaddr_storage *sa, unsigned len,
    char *out, size_t cap);

/* Argument helpers: parse a decimal number in [min, max]. */
int link_parse_long(const char *s, long min, long max, long *out);

/* Subcommands. */
int cmd_token(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_connect(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_id(int argc, char **argv);
int cmd_peers(int argc, char **argv);
int cmd_forget(int argc, char **argv);

#endif
