/*
 * clawnexus-link: last-seen state of instances.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "link.h"
#include "state.h"

int
link_state_path(char *out, size_t cap)
{
    return link_home_path(out, cap, "edge/instances");
}

int
link_state_read(const char *path, link_state_ent_t *v, int max)
{
    FILE *f = fopen(path, "re");
    char  line[1024];
    int   n = 0;

    if (f == NULL) {
        return errno == ENOENT ? 0 : -1;
    }
    while (n < max && fgets(line, sizeof(line), f) != NULL) {
        link_state_ent_t *e = &v[n];
        long long         when;
        int               off = 0;

        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }
        line[strcspn(line, "\n")] = '\0';
        if (sscanf(line, "%255s %15s %lld %n", e->name, e->status, &when,
                   &off) < 3)
        {
            continue;
        }
        e->when = when;
        snprintf(e->detail, sizeof(e->detail), "%s", off ? line + off : "");
        n++;
    }
    fclose(f);
    return n;
}

void
link_state_record(const char *name, const char *status, const char *detail)
{
    link_state_ent_t *v;
    char              path[4096], dir[4096], tmp[4200];
    int               n, i, fd;
    FILE             *f;

    if (link_state_path(path, sizeof(path)) != 0
        || link_home_path(dir, sizeof(dir), "edge") != 0
        || link_mkdirs(dir) != 0)
    {
        link_debug("cannot write the state file");
        return;
    }
    v = calloc(LINK_STATE_MAX, sizeof(*v));
    if (v == NULL) {
        return;
    }
    n = link_state_read(path, v, LINK_STATE_MAX);
    if (n < 0) {
        n = 0;
    }
    for (i = 0; i < n; i++) {
        if (strcmp(v[i].name, name) == 0) {
            break;
        }
    }
    if (i == n) {
        if (n == LINK_STATE_MAX) {
            i = 0;                  /* forget the first */
        } else {
            n++;
        }
    }
    snprintf(v[i].name, sizeof(v[i].name), "%s", name);
    snprintf(v[i].status, sizeof(v[i].status), "%s", status);
    v[i].when = (int64_t) time(NULL);
    snprintf(v[i].detail, sizeof(v[i].detail), "%s", detail ? detail : "");

    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long) getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
        if (fd >= 0) {
            close(fd);
        }
        link_debug("cannot write %s: %s", tmp, strerror(errno));
        free(v);
        return;
    }
    fprintf(f, "# clawnexus-link: last path per instance "
               "(name status unix-time detail)\n");
    for (i = 0; i < n; i++) {
        fprintf(f, "%s %s %lld %s\n", v[i].name, v[i].status,
                (long long) v[i].when, v[i].detail);
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fclose(f);
        unlink(tmp);
        free(v);
        return;
    }
    fclose(f);
    if (rename(tmp, path) != 0) {
        unlink(tmp);
    }
    free(v);
}
