/*
 * clawnexus-wg: the export as JSON (pure: the names file and the
 * interfaces as read come in, text goes out).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"

void
wg_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

const char *
wg_peer_status(const struct wg_peer *p, time_t now)
{
	if (p->last_handshake_sec == 0)
		return "never";
	if (now - p->last_handshake_sec <= WG_DIRECT_SECONDS)
		return "direct";
	return "stale";
}


/* Public keys (not secret) sorted for a binary search: thousands of
 * names against thousands of peers in any order. */
static int
cmp_peer(const void *a, const void *b)
{
	const struct wg_peer *const *x = a, *const *y = b;

	return memcmp((*x)->public_key, (*y)->public_key, WG_KEY_LEN);
}

struct peer_index {
	const struct wg_device *dev;
	const struct wg_peer **v;
};

static const struct wg_peer *
live_peer(const struct peer_index *ix, const uint8_t *key)
{
	size_t lo = 0, hi, mid;
	int c;

	if (!ix || !ix->dev)
		return NULL;
	hi = ix->dev->npeers;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = memcmp(ix->v[mid]->public_key, key, WG_KEY_LEN);
		if (c == 0)
			return ix->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const struct peer_index *
index_of(const struct peer_index *ix, size_t n, const char *iface)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(ix[i].dev->name, iface))
			return &ix[i];
	return NULL;
}

static void
put_peer(FILE *f, const struct wg_names *db, const struct wg_name *e,
	 const struct peer_index *ix, time_t now)
{
	char key[WG_KEY_B64_LEN + 1], s[INET6_ADDRSTRLEN + 16];
	const struct wg_device *dev = ix ? ix->dev : NULL;
	const struct wg_peer *live = live_peer(ix, e->peer.public_key);
	/* nothing recorded (an interface managed elsewhere): the live
	 * prefixes */
	const struct wg_peer *ips = e->peer.nips || !live ? &e->peer : live;
	const struct wg_allowedip *a = NULL;
	size_t j;

	for (j = 0; j < ips->nips && !a; j++)
		if (wg_allowedip_is_host(&ips->ips[j]))
			a = &ips->ips[j];
	fprintf(f, "{\"name\":");
	wg_json_str(f, e->name);
	fprintf(f, ",\"interface\":");
	wg_json_str(f, e->iface);
	fprintf(f, ",\"address\":");
	if (a) {
		inet_ntop(a->family, &a->ip4, s, sizeof(s));
		fprintf(f, "\"%s\"", s);
	} else {
		fprintf(f, "null");
	}
	fprintf(f, ",\"allowed_ips\":[");
	for (j = 0; j < ips->nips; j++) {
		wg_allowedip_format(s, sizeof(s), &ips->ips[j]);
		fprintf(f, "%s\"%s\"", j ? "," : "", s);
	}
	wg_key_to_base64(key, e->peer.public_key);
	fprintf(f, "],\"public_key\":\"%s\",\"endpoint\":", key);
	if (live && (live->flags & WGPEER_HAS_ENDPOINT) &&
	    wg_endpoint_format(s, sizeof(s), &live->endpoint) > 0)
		fprintf(f, "\"%s\"", s);
	else if (e->endpoint)
		wg_json_str(f, e->endpoint);
	else
		fprintf(f, "null");
	fprintf(f, ",\"status\":\"%s\",\"latest_handshake\":%lld,"
		"\"managed_elsewhere\":%s}",
		!dev ? "unknown" : !live ? "absent" : wg_peer_status(live, now),
		live ? (long long)live->last_handshake_sec : 0LL,
		wg_names_managed(db, e->iface) ? "true" : "false");
}

int
wg_export_format(FILE *f, const struct wg_names *db, const char *only,
		 const struct wg_device *devs, size_t ndevs, time_t now)
{
	struct peer_index *ix;
	size_t i, j;
	int n = 0;

	ix = calloc(ndevs ? ndevs : 1, sizeof(*ix));
	if (!ix)
		return -ENOMEM;
	for (i = 0; i < ndevs; i++) {
		ix[i].dev = &devs[i];
		ix[i].v = malloc((devs[i].npeers ? devs[i].npeers : 1) *
				 sizeof(*ix[i].v));
		if (!ix[i].v) {
			ndevs = i;
			n = -ENOMEM;
			goto out;
		}
		for (j = 0; j < devs[i].npeers; j++)
			ix[i].v[j] = &devs[i].peers[j];
		qsort(ix[i].v, devs[i].npeers, sizeof(*ix[i].v), cmp_peer);
	}
	fprintf(f, "{\"version\":1");
	if (only) {
		fprintf(f, ",\"interface\":");
		wg_json_str(f, only);
	}
	fprintf(f, ",\"peers\":[");
	for (i = 0; i < db->n; i++) {
		const struct wg_name *e = &db->v[i];

		if (only && strcmp(e->iface, only))
			continue;
		if (n++)
			fputc(',', f);
		put_peer(f, db, e, index_of(ix, ndevs, e->iface), now);
	}
	fprintf(f, "]}\n");
	n = ferror(f) ? -EIO : 0;
out:
	for (i = 0; i < ndevs; i++)
		free(ix[i].v);
	free(ix);
	return n;
}

char *
wg_names_ifaces(const struct wg_names *db)
{
	size_t len = 0, cap = 64, i, k;
	char *list = calloc(1, cap);

	if (!list)
		return NULL;
	for (i = 0; i < db->n + db->nmanaged; i++) {
		const char *name = i < db->n ? db->v[i].iface :
				   db->managed[i - db->n];
		int seen = 0;

		for (k = 0; k < len; k += strlen(list + k) + 1)
			if (!strcmp(list + k, name))
				seen = 1;
		if (!seen && wg_list_append(&list, &len, &cap, name,
					    strlen(name)) < 0) {
			free(list);
			return NULL;
		}
	}
	return list;
}
