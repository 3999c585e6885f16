/*
 * clawnexus-wg: names file parser and atomic writer.
 */

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "names.h"

void
wg_names_init(struct wg_names *db)
{
	memset(db, 0, sizeof(*db));
}

void
wg_name_clear(struct wg_name *e)
{
	wg_peer_clear(&e->peer);
	free(e->endpoint);
	free(e->psk_file);
	free(e->comment);
	memset(e, 0, sizeof(*e));
}

void
wg_names_clear(struct wg_names *db)
{
	size_t i;

	for (i = 0; i < db->n; i++)
		wg_name_clear(&db->v[i]);
	free(db->v);
	free(db->managed);
	free(db->header);
	free(db->trailer);
	memset(db, 0, sizeof(*db));
}

static int
seterr(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (err && cap) {
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

struct wg_name *
wg_names_find(struct wg_names *db, const char *name)
{
	size_t i;

	for (i = 0; i < db->n; i++)
		if (!strcmp(db->v[i].name, name))
			return &db->v[i];
	return NULL;
}

struct wg_name *
wg_names_find_key(struct wg_names *db, const char *iface,
		  const uint8_t key[WG_KEY_LEN])
{
	size_t i;

	for (i = 0; i < db->n; i++)
		if (!memcmp(db->v[i].peer.public_key, key, WG_KEY_LEN) &&
		    !strcmp(db->v[i].iface, iface))
			return &db->v[i];
	return NULL;
}

int
wg_names_managed(const struct wg_names *db, const char *iface)
{
	size_t i;

	for (i = 0; i < db->nmanaged; i++)
		if (!strcmp(db->managed[i], iface))
			return 1;
	return 0;
}

int
wg_names_mark_managed(struct wg_names *db, const char *iface)
{
	char (*m)[WG_IFNAME_MAX + 1];

	if (wg_names_managed(db, iface))
		return 0;
	if (!wg_ifname_valid(iface))
		return -EINVAL;
	m = realloc(db->managed, (db->nmanaged + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	db->managed = m;
	strcpy(db->managed[db->nmanaged++], iface);
	return 0;
}

int
wg_names_put(struct wg_names *db, struct wg_name *e)
{
	struct wg_name *old = wg_names_find(db, e->name);

	if (old) {
		if (!e->comment) {
			/* an updated entry keeps the comment above it */
			e->comment = old->comment;
			old->comment = NULL;
		}
		wg_name_clear(old);
		*old = *e;
		memset(e, 0, sizeof(*e));
		return 0;
	}
	if (db->n == db->cap) {
		size_t cap = db->cap ? db->cap * 2 : 8;
		struct wg_name *v = realloc(db->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		db->v = v;
		db->cap = cap;
	}
	db->v[db->n++] = *e;
	memset(e, 0, sizeof(*e));
	return 0;
}

int
wg_names_remove(struct wg_names *db, const char *name)
{
	struct wg_name *e = wg_names_find(db, name);
	size_t i;

	if (!e)
		return -ENOENT;
	i = (size_t)(e - db->v);
	wg_name_clear(e);
	memmove(&db->v[i], &db->v[i + 1], (db->n - i - 1) * sizeof(*e));
	db->n--;
	return 0;
}

const struct wg_allowedip *
wg_name_address(const struct wg_name *e)
{
	size_t i;

	for (i = 0; i < e->peer.nips; i++)
		if (wg_allowedip_is_host(&e->peer.ips[i]))
			return &e->peer.ips[i];
	return NULL;
}

static int
path_ok(const char *s)
{
	if (!*s || *s != '/')
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return 0;
	return 1;
}

int
wg_name_check(const struct wg_name *e, char *err, size_t cap)
{
	if (!wg_ifname_valid(e->iface))
		return seterr(err, cap, "bad interface name '%s'", e->iface);
	if (!wg_name_valid(e->name))
		return seterr(err, cap, "bad name '%s' (1-63 of a-z 0-9 -, "
			      "no leading or trailing -)", e->name);
	if (wg_key_is_zero(e->peer.public_key))
		return seterr(err, cap, "name '%s' has no key", e->name);
	if (e->endpoint && !wg_endpoint_syntax_ok(e->endpoint))
		return seterr(err, cap, "bad endpoint '%s' (HOST:PORT or "
			      "[IPv6]:PORT)", e->endpoint);
	if (e->psk_file && !path_ok(e->psk_file))
		return seterr(err, cap, "bad psk-file '%s' (an absolute path "
			      "without spaces)", e->psk_file);
	return 0;
}

/* One peer line: NAME key=... [allowed-ips=...] [endpoint=...] ... */
static int
parse_peer(struct wg_name *e, char *line, char *err, size_t cap)
{
	char *tok, *save = NULL, *val;
	int have_key = 0;

	tok = strtok_r(line, " \t", &save);
	if (strlen(tok) > WG_NAME_MAX || !wg_name_valid(tok))
		return seterr(err, cap, "bad name '%.70s' (1-63 of a-z 0-9 -, "
			      "no leading or trailing -)", tok);
	strcpy(e->name, tok);
	while ((tok = strtok_r(NULL, " \t", &save))) {
		val = strchr(tok, '=');
		if (!val)
			return seterr(err, cap, "expected key=value, got "
				      "'%.70s'", tok);
		*val++ = '\0';
		if (!strcmp(tok, "key")) {
			if (have_key ||
			    wg_key_from_base64(e->peer.public_key, val) < 0)
				return seterr(err, cap, "bad key for '%s' (44 "
					      "base64 characters)", e->name);
			have_key = 1;
		} else if (!strcmp(tok, "allowed-ips")) {
			const char *bad = "";
			size_t badlen = 0;

			if (e->peer.nips ||
			    wg_allowedips_parse_list(&e->peer, val, &bad,
						     &badlen) < 0)
				return seterr(err, cap, "bad allowed IP "
					      "'%.*s' for '%s'", (int)badlen,
					      bad, e->name);
		} else if (!strcmp(tok, "endpoint")) {
			if (e->endpoint || !wg_endpoint_syntax_ok(val))
				return seterr(err, cap, "bad endpoint '%.70s' "
					      "for '%s'", val, e->name);
			if (!(e->endpoint = strdup(val)))
				return -ENOMEM;
		} else if (!strcmp(tok, "keepalive")) {
			if ((e->peer.flags & WGPEER_HAS_KEEPALIVE) ||
			    wg_parse_u16(val, &e->peer.keepalive) < 0)
				return seterr(err, cap, "bad keepalive '%.70s' "
					      "for '%s' (0-65535)", val,
					      e->name);
			e->peer.flags |= WGPEER_HAS_KEEPALIVE;
		} else if (!strcmp(tok, "psk-file")) {
			if (e->psk_file || !path_ok(val))
				return seterr(err, cap, "bad psk-file '%.70s' "
					      "for '%s'", val, e->name);
			if (!(e->psk_file = strdup(val)))
				return -ENOMEM;
		} else {
			return seterr(err, cap, "unknown field '%.40s'", tok);
		}
	}
	if (!have_key)
		return seterr(err, cap, "name '%s' has no key=", e->name);
	return 0;
}

int
wg_name_only_key(const struct wg_name *e)
{
	return !e->peer.nips && !e->endpoint && !e->psk_file &&
	       !(e->peer.flags & WGPEER_HAS_KEEPALIVE);
}

/* "[wg0]" or "[wg0 managed-elsewhere]" in [s, end); -ENODEV for a bad
 * interface name (left in iface), -EINVAL for any other shape. */
static int
parse_section(const char *s, const char *end, char *iface, int *managed)
{
	const char *p = s + 1, *q;
	size_t n;

	if (end - s < 3 || end[-1] != ']')
		return -EINVAL;
	end--;
	for (q = p; q < end && *q != ' ' && *q != '\t'; q++)
		;
	n = (size_t)(q - p);
	if (n == 0 || n > WG_IFNAME_MAX)
		return -EINVAL;
	memcpy(iface, p, n);
	iface[n] = '\0';
	if (!wg_ifname_valid(iface))
		return -ENODEV;
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	*managed = q < end;
	if (*managed && ((size_t)(end - q) != strlen(WG_MANAGED_MARK) ||
			 memcmp(q, WG_MANAGED_MARK, (size_t)(end - q))))
		return -EINVAL;
	return 0;
}

int
wg_names_parse(struct wg_names *db, const char *buf, size_t len,
	       char *err, size_t cap)
{
	char iface[WG_IFNAME_MAX + 1] = "", *line, *pending = NULL;
	char lerr[256];
	size_t pos = 0, lineno = 0, n, plen = 0;
	struct wg_names plain;	/* interfaces of unmarked sections */
	struct wg_name e;
	int r, managed = 0;

	wg_names_init(db);
	wg_names_init(&plain);
	line = malloc(WG_NAMES_MAX_LINE);
	if (!line)
		return -ENOMEM;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		char *s, *end;

		n = nl ? (size_t)(nl - buf - pos) : len - pos;
		lineno++;
		if (n >= WG_NAMES_MAX_LINE) {
			r = seterr(err, cap, "line %zu: longer than %d bytes",
				   lineno, WG_NAMES_MAX_LINE - 1);
			goto fail;
		}
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		pos += n + (nl ? 1 : 0);
		if (memchr(line, '\0', n)) {
			r = seterr(err, cap, "line %zu: NUL byte", lineno);
			goto fail;
		}
		s = line;
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		end = s + strlen(s);
		while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
				   end[-1] == '\r'))
			*--end = '\0';
		if (*s == '\0')
			continue;
		if (*s == '#') {
			size_t cl = strlen(s);
			char *np = realloc(pending, plen + cl + 2);

			if (!np) {
				r = -ENOMEM;
				goto fail;
			}
			pending = np;
			memcpy(pending + plen, s, cl);
			pending[plen + cl] = '\n';
			plen += cl + 1;
			pending[plen] = '\0';
			continue;
		}
		if (*s == '[') {
			if (!iface[0] && pending && !db->header) {
				db->header = pending;
				pending = NULL;
				plen = 0;
			}
			r = parse_section(s, end, iface, &managed);
			if (r == -ENODEV) {
				r = seterr(err, cap, "line %zu: bad interface "
					   "name '%s'", lineno, iface);
				goto fail;
			}
			if (r < 0) {
				r = seterr(err, cap, "line %zu: bad section "
					   "'%.40s' (expected [INTERFACE] or "
					   "[INTERFACE " WG_MANAGED_MARK "])",
					   lineno, s);
				goto fail;
			}
			/* a mark covers the interface: every section of it
			 * must say so, or one would be read two ways */
			if (managed ? wg_names_managed(&plain, iface) :
				      wg_names_managed(db, iface)) {
				r = seterr(err, cap, "line %zu: interface %s "
					   "is marked " WG_MANAGED_MARK " in "
					   "one section and not in another",
					   lineno, iface);
				goto fail;
			}
			r = wg_names_mark_managed(managed ? db : &plain,
						  iface);
			if (r < 0)
				goto fail;
			continue;
		}
		if (!iface[0]) {
			r = seterr(err, cap, "line %zu: peer before any "
				   "[INTERFACE] section", lineno);
			goto fail;
		}
		memset(&e, 0, sizeof(e));
		strcpy(e.iface, iface);
		e.comment = pending;
		pending = NULL;
		plen = 0;
		r = parse_peer(&e, s, lerr, sizeof(lerr));
		if (r == 0 && managed && !wg_name_only_key(&e))
			r = seterr(lerr, sizeof(lerr), "'%s' is on %s, which "
				   "is managed elsewhere: only key= is "
				   "recorded there", e.name, iface);
		if (r == 0 && wg_names_find(db, e.name))
			r = seterr(lerr, sizeof(lerr), "duplicate name '%s'",
				   e.name);
		if (r == 0 && wg_names_find_key(db, iface, e.peer.public_key))
			r = seterr(lerr, sizeof(lerr), "the key of '%s' is "
				   "already named '%s' on %s", e.name,
				   wg_names_find_key(db, iface,
						     e.peer.public_key)->name,
				   iface);
		if (r == 0)
			r = wg_names_put(db, &e);
		if (r < 0) {
			wg_name_clear(&e);
			if (r == -EINVAL)
				seterr(err, cap, "line %zu: %s", lineno, lerr);
			else
				seterr(err, cap, "line %zu: out of memory",
				       lineno);
			goto fail;
		}
	}
	if (pending && !iface[0] && !db->header)
		db->header = pending;
	else
		db->trailer = pending;
	free(line);
	wg_names_clear(&plain);
	return 0;
fail:
	free(pending);
	free(line);
	wg_names_clear(&plain);
	wg_names_clear(db);
	return r;
}

struct strbuf {
	char *p;
	size_t len, cap;
	int oom;
};

static void
sb_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap * 2 + (size_t)n + 1;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

int
wg_names_format(const struct wg_names *db, char **out, size_t *outlen)
{
	struct strbuf b = { NULL, 0, 0, 0 };
	char key[WG_KEY_B64_LEN + 1], ip[INET6_ADDRSTRLEN + 8];
	size_t i, j, k;

	b.cap = 256;
	if (!(b.p = malloc(b.cap)))
		return -ENOMEM;
	b.p[0] = '\0';
	if (db->header)
		sb_printf(&b, "%s", db->header);
	else
		sb_printf(&b, "# clawnexus-wg names: one peer per line under "
			  "[INTERFACE].\n# Fields: key= allowed-ips= "
			  "endpoint= keepalive= psk-file=  (see "
			  "clawnexus-wg(1))\n# [INTERFACE " WG_MANAGED_MARK
			  "]: peers applied by another program; "
			  "only key= here\n");
	/* group by interface, in order of first appearance */
	for (i = 0; i < db->n; i++) {
		for (k = 0; k < i; k++)
			if (!strcmp(db->v[k].iface, db->v[i].iface))
				break;
		if (k < i)
			continue;
		sb_printf(&b, "\n[%s%s]\n", db->v[i].iface,
			  wg_names_managed(db, db->v[i].iface) ?
			  " " WG_MANAGED_MARK : "");
		for (k = i; k < db->n; k++) {
			const struct wg_name *e = &db->v[k];

			if (strcmp(e->iface, db->v[i].iface))
				continue;
			wg_key_to_base64(key, e->peer.public_key);
			if (e->comment)
				sb_printf(&b, "%s", e->comment);
			sb_printf(&b, "%s key=%s", e->name, key);
			for (j = 0; j < e->peer.nips; j++) {
				wg_allowedip_format(ip, sizeof(ip),
						    &e->peer.ips[j]);
				sb_printf(&b, "%s%s", j ? "," :
					  " allowed-ips=", ip);
			}
			if (e->endpoint)
				sb_printf(&b, " endpoint=%s", e->endpoint);
			if (e->peer.flags & WGPEER_HAS_KEEPALIVE)
				sb_printf(&b, " keepalive=%u",
					  e->peer.keepalive);
			if (e->psk_file)
				sb_printf(&b, " psk-file=%s", e->psk_file);
			sb_printf(&b, "\n");
		}
	}
	/* marked interfaces without names keep their mark */
	for (i = 0; i < db->nmanaged; i++) {
		for (k = 0; k < db->n; k++)
			if (!strcmp(db->v[k].iface, db->managed[i]))
				break;
		if (k == db->n)
			sb_printf(&b, "\n[%s " WG_MANAGED_MARK "]\n",
				  db->managed[i]);
	}
	/* without sections, a trailer reads back as part of the header:
	 * write it so that the output is the same either way */
	if (db->trailer)
		sb_printf(&b, db->n ? "\n%s" : "%s", db->trailer);
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*outlen = b.len;
	return 0;
}

int
wg_names_load(struct wg_names *db, const char *path, char *err, size_t cap)
{
	struct stat st;
	char *buf;
	ssize_t r;
	size_t len = 0;
	int fd, ret;

	wg_names_init(db);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		ret = -errno;
		snprintf(err, cap, "cannot read names file %s: %s", path,
			 strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > 16 * 1024 * 1024) {
		close(fd);
		snprintf(err, cap, "names file %s is not a regular file of "
			 "at most 16 MiB", path);
		return -EINVAL;
	}
	/* the names file says which keys, endpoints and key files to trust:
	 * like ssh with its keys, refuse one that others could have edited */
	if ((ret = wg_file_trusted("names file", path, &st, err, cap)) < 0) {
		close(fd);
		return ret;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len < (size_t)st.st_size) {
		r = read(fd, buf + len, (size_t)st.st_size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	{
		char lerr[300];

		ret = wg_names_parse(db, buf, len, lerr, sizeof(lerr));
		if (ret < 0)
			snprintf(err, cap, "%s: %s", path, lerr);
	}
	free(buf);
	return ret;
}

static int
write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

int
wg_write_atomic(const char *path, const char *buf, size_t len,
		unsigned int mode, uid_t uid, gid_t gid, int fallback_in_place)
{
	char *tmp, *dcopy;
	int fd, r = 0;
	size_t n = strlen(path);

	tmp = malloc(n + 16);
	dcopy = strdup(path);
	if (!tmp || !dcopy) {
		free(tmp);
		free(dcopy);
		return -ENOMEM;
	}
	snprintf(tmp, n + 16, "%s.tmpXXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	/* the owner first: fchown may clear set-ID bits that fchmod sets;
	 * the group also undoes a set-group-ID folder's group */
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0 ||
	    (r = write_all(fd, buf, len)) < 0 ||
	    fsync(fd) < 0) {
		if (!r)
			r = -errno;
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) < 0) {
		r = -errno;
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		/* a bind-mounted file (containers) cannot be renamed over */
		if (fallback_in_place && (r == -EBUSY || r == -EXDEV)) {
			fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW |
				  O_NOCTTY | O_CLOEXEC);
			if (fd < 0) {
				r = -errno;
				goto out;
			}
			r = write_all(fd, buf, len);
			if (!r && fsync(fd) < 0)
				r = -errno;
			close(fd);
		}
		goto out;
	}
	fd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
out:
	free(tmp);
	free(dcopy);
	return r;
}

int
wg_names_save(const struct wg_names *db, const char *path)
{
	char *buf;
	size_t len;
	int r;

	r = wg_names_format(db, &buf, &len);
	if (r < 0)
		return r;
	r = wg_write_atomic(path, buf, len, 0600, (uid_t)-1, (gid_t)-1, 0);
	free(buf);
	return r;
}
