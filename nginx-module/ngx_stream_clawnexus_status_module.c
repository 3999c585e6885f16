/*
 * ngx_stream_clawnexus_status_module: "clawnexus_status;" makes a stream
 * server answer GET /metrics (Prometheus text) and GET /status (JSON)
 * with the relay's shared counters (ngx_stream_clawnexus.h).  A module of
 * its own, with its own session context, in the same .so as the relay.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_clawnexus.h"
#include "ngx_stream_clawnexus_cluster.h"


typedef struct {
    u_char                             *buf;
    size_t                              end;
    u_char                             *out;
    size_t                              out_pos;
    size_t                              out_len;
} ngx_stream_clawnexus_status_ctx_t;


static char *ngx_stream_clawnexus_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_stream_clawnexus_status_handler(ngx_stream_session_t *s);


static ngx_command_t  ngx_stream_clawnexus_status_commands[] = {

    { ngx_string("clawnexus_status"),
      NGX_STREAM_SRV_CONF|NGX_CONF_NOARGS,
      ngx_stream_clawnexus_status,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_stream_module_t  ngx_stream_clawnexus_status_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL                                   /* merge server configuration */
};


ngx_module_t  ngx_stream_clawnexus_status_module = {
    NGX_MODULE_V1,
    &ngx_stream_clawnexus_status_module_ctx, /* module context */
    ngx_stream_clawnexus_status_commands,  /* module directives */
    NGX_STREAM_MODULE,                     /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static char *
ngx_stream_clawnexus_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_stream_core_srv_conf_t  *cscf;

    cscf = ngx_stream_conf_get_module_srv_conf(cf, ngx_stream_core_module);

    if (cscf->handler) {
        return "conflicts with another content handler in this server";
    }

    cscf->handler = ngx_stream_clawnexus_status_handler;

    if (ngx_stream_clawnexus_add_zone(cf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


#define NGX_STREAM_CLAWNEXUS_STATUS_HEAD  4096
#define NGX_STREAM_CLAWNEXUS_STATUS_BODY  8192

/* Sum a gauge over the processes that are alive. */
static ngx_atomic_int_t
ngx_stream_clawnexus_gauge_sum(ngx_uint_t rooms)
{
    ngx_uint_t                     i;
    ngx_atomic_int_t               sum;
    ngx_stream_clawnexus_gauge_t  *g;

    if (ngx_stream_clawnexus_sh == NULL) {
        return 0;
    }

    sum = 0;

    for (i = 0; i < NGX_MAX_PROCESSES; i++) {
        g = &ngx_stream_clawnexus_sh->gauges[i];

        if (g->pid && ngx_stream_clawnexus_alive(g->pid)) {
            sum += (ngx_atomic_int_t) (rooms ? g->rooms : g->active);
        }
    }

    return sum;
}


/*
 * The counters both formats show, in their order: the /metrics name (after
 * "clawnexus_"), the /status key, the Prometheus type and help, and where
 * the value is (an offset into the shared stats, or a gauge summed over
 * the live processes).
 */

#define NGX_STREAM_CLAWNEXUS_SUM_ACTIVE  -1
#define NGX_STREAM_CLAWNEXUS_SUM_ROOMS   -2

#define ngx_stream_clawnexus_stat(field)                                      \
    offsetof(ngx_stream_clawnexus_stats_t, field)

typedef struct {
    const char                         *metric;
    const char                         *json;
    const char                         *type;
    const char                         *help;
    ngx_int_t                           at;
} ngx_stream_clawnexus_counter_t;


static const ngx_stream_clawnexus_counter_t  ngx_stream_clawnexus_counters[] =
{
    { "connections_total", "connections", "counter",
      "TCP connections accepted by relay servers.",
      ngx_stream_clawnexus_stat(connections) },
    { "websockets", "websockets", "gauge",
      "Open relay WebSockets.",
      NGX_STREAM_CLAWNEXUS_SUM_ACTIVE },
    { "handshake_failures_total", "handshake_failures", "counter",
      "Refused WebSocket upgrades.",
      ngx_stream_clawnexus_stat(handshake_failures) },
    { "names", "names", "gauge",
      "Registered names.",
      ngx_stream_clawnexus_stat(names) },
    { "registrations_total", "registrations", "counter",
      "Successful REGISTERs.",
      ngx_stream_clawnexus_stat(registrations) },
    { "rooms", "rooms", "gauge",
      "Rooms (pending and active).",
      NGX_STREAM_CLAWNEXUS_SUM_ROOMS },
    { "rooms_total", "rooms_total", "counter",
      "Rooms accepted.",
      ngx_stream_clawnexus_stat(rooms_total) },
    { "messages_total", "messages", "counter",
      "DATA messages relayed.",
      ngx_stream_clawnexus_stat(messages) },
    { "bytes_total", "bytes", "counter",
      "DATA payload bytes relayed.",
      ngx_stream_clawnexus_stat(bytes) },
    { "auth_failures_total", "auth_failures", "counter",
      "Refused tokens.",
      ngx_stream_clawnexus_stat(auth_failures) },
    { "backpressure_pauses_total", "backpressure_pauses", "counter",
      "Times a sender was paused because a receiver fell behind.",
      ngx_stream_clawnexus_stat(paused) }
};


#define NGX_STREAM_CLAWNEXUS_NCOUNTERS                                        \
    (sizeof(ngx_stream_clawnexus_counters)                                    \
     / sizeof(ngx_stream_clawnexus_counters[0]))


/* Counters by label (both formats, after the counters above): the /metrics
 * name, the /status key, the help, how many, the array in the stats, and
 * the labels (names, or else numeric codes). */

typedef struct {
    const char                         *metric;
    const char                         *json;
    const char                         *help;
    ngx_uint_t                          n;
    ngx_int_t                           at;
    const char                        **names;
    const unsigned                     *codes;
} ngx_stream_clawnexus_family_t;


static const ngx_stream_clawnexus_family_t  ngx_stream_clawnexus_families[] = {
    { "errors_total", "errors", "ERROR messages sent, by code.",
      NGX_STREAM_CLAWNEXUS_NERRORS, ngx_stream_clawnexus_stat(errors),
      ngx_stream_clawnexus_error_codes, NULL },
    { "closes_total", "closes",
      "WebSocket close frames sent by the relay, by code.",
      NGX_STREAM_CLAWNEXUS_NCLOSES, ngx_stream_clawnexus_stat(closes),
      NULL, ngx_stream_clawnexus_close_codes }
};

#define NGX_STREAM_CLAWNEXUS_NFAMILIES                                        \
    (sizeof(ngx_stream_clawnexus_families)                                    \
     / sizeof(ngx_stream_clawnexus_families[0]))


#define ngx_stream_clawnexus_at(at)                                           \
    ((ngx_atomic_t *) ((u_char *) ngx_stream_clawnexus_stats + (at)))


static ngx_atomic_int_t
ngx_stream_clawnexus_counter(const ngx_stream_clawnexus_counter_t *k)
{
    switch (k->at) {

    case NGX_STREAM_CLAWNEXUS_SUM_ACTIVE:
        return ngx_stream_clawnexus_gauge_sum(0);

    case NGX_STREAM_CLAWNEXUS_SUM_ROOMS:
        return ngx_stream_clawnexus_gauge_sum(1);

    default:
        return (ngx_atomic_int_t) *ngx_stream_clawnexus_at(k->at);
    }
}


/* Value i of a family: its label, then "sep" and the value. */
static u_char *
ngx_stream_clawnexus_labelled(u_char *p, u_char *last,
    const ngx_stream_clawnexus_family_t *f, ngx_uint_t i, const char *sep)
{
    ngx_atomic_int_t  v;

    v = (ngx_atomic_int_t) ngx_stream_clawnexus_at(f->at)[i];

    if (f->names) {
        return ngx_slprintf(p, last, "%s%s%A", f->names[i], sep, v);
    }

    return ngx_slprintf(p, last, "%ui%s%A", (ngx_uint_t) f->codes[i], sep, v);
}


static u_char *
ngx_stream_clawnexus_metrics(u_char *p, u_char *last)
{
    ngx_uint_t                             i, j;
    const ngx_stream_clawnexus_family_t   *f;
    const ngx_stream_clawnexus_counter_t  *k;

    for (i = 0; i < NGX_STREAM_CLAWNEXUS_NCOUNTERS; i++) {
        k = &ngx_stream_clawnexus_counters[i];
        p = ngx_slprintf(p, last,
                         "# HELP clawnexus_%s %s\n"
                         "# TYPE clawnexus_%s %s\n"
                         "clawnexus_%s %A\n",
                         k->metric, k->help, k->metric, k->type, k->metric,
                         ngx_stream_clawnexus_counter(k));
    }

    for (i = 0; i < NGX_STREAM_CLAWNEXUS_NFAMILIES; i++) {
        f = &ngx_stream_clawnexus_families[i];
        p = ngx_slprintf(p, last,
                         "# HELP clawnexus_%s %s\n"
                         "# TYPE clawnexus_%s counter\n",
                         f->metric, f->help, f->metric);

        for (j = 0; j < f->n; j++) {
            p = ngx_slprintf(p, last, "clawnexus_%s{code=\"", f->metric);
            p = ngx_stream_clawnexus_labelled(p, last, f, j, "\"} ");
            p = ngx_slprintf(p, last, "\n");
        }
    }

    return p;
}


static u_char *
ngx_stream_clawnexus_status_json(u_char *p, u_char *last)
{
    ngx_uint_t                             i, j;
    const ngx_stream_clawnexus_family_t   *f;
    const ngx_stream_clawnexus_counter_t  *k;

    for (i = 0; i < NGX_STREAM_CLAWNEXUS_NCOUNTERS; i++) {
        k = &ngx_stream_clawnexus_counters[i];
        p = ngx_slprintf(p, last, "%s\"%s\":%A", i ? "," : "{", k->json,
                         ngx_stream_clawnexus_counter(k));
    }

    for (i = 0; i < NGX_STREAM_CLAWNEXUS_NFAMILIES; i++) {
        f = &ngx_stream_clawnexus_families[i];
        p = ngx_slprintf(p, last, ",\"%s\":{", f->json);

        for (j = 0; j < f->n; j++) {
            p = ngx_slprintf(p, last, "%s\"", j ? "," : "");
            p = ngx_stream_clawnexus_labelled(p, last, f, j, "\":");
        }

        p = ngx_slprintf(p, last, "}");
    }

    return ngx_slprintf(p, last, "}\n");
}


static void
ngx_stream_clawnexus_status_write(ngx_event_t *ev)
{
    ssize_t                             n;
    ngx_connection_t                   *c;
    ngx_stream_session_t               *s;
    ngx_stream_clawnexus_status_ctx_t  *st;

    c = ev->data;
    s = c->data;
    st = ngx_stream_get_module_ctx(s, ngx_stream_clawnexus_status_module);

    if (ev->timedout) {
        ngx_stream_finalize_session(s, NGX_STREAM_OK);
        return;
    }

    while (st->out_pos < st->out_len) {
        n = c->send(c, st->out + st->out_pos, st->out_len - st->out_pos);

        if (n == NGX_AGAIN) {
            ngx_add_timer(ev, 10000);
            if (ngx_handle_write_event(ev, 0) != NGX_OK) {
                ngx_stream_finalize_session(s, NGX_STREAM_OK);
            }
            return;
        }

        if (n <= 0) {
            ngx_stream_finalize_session(s, NGX_STREAM_OK);
            return;
        }

        st->out_pos += n;
    }

    ngx_stream_finalize_session(s, NGX_STREAM_OK);
}


static void
ngx_stream_clawnexus_status_read(ngx_event_t *ev)
{
    u_char                             *p, *last, *body, *eol;
    ssize_t                             n;
    const char                         *status, *type;
    ngx_connection_t                   *c;
    ngx_stream_session_t               *s;
    ngx_stream_clawnexus_status_ctx_t  *st;

    c = ev->data;
    s = c->data;
    st = ngx_stream_get_module_ctx(s, ngx_stream_clawnexus_status_module);

    if (ev->timedout || c->close) {
        ngx_stream_finalize_session(s, NGX_STREAM_OK);
        return;
    }

    for ( ;; ) {
        eol = ngx_strlchr(st->buf, st->buf + st->end, '\n');
        if (eol) {
            break;
        }

        if (st->end == NGX_STREAM_CLAWNEXUS_STATUS_HEAD) {
            ngx_stream_finalize_session(s, NGX_STREAM_BAD_REQUEST);
            return;
        }

        n = c->recv(c, st->buf + st->end,
                    NGX_STREAM_CLAWNEXUS_STATUS_HEAD - st->end);

        if (n == NGX_AGAIN) {
            if (!ev->timer_set) {
                ngx_add_timer(ev, 10000);
            }

            if (ngx_handle_read_event(ev, 0) != NGX_OK) {
                ngx_stream_finalize_session(s, NGX_STREAM_OK);
            }
            return;
        }

        if (n <= 0) {
            ngx_stream_finalize_session(s, NGX_STREAM_OK);
            return;
        }

        st->end += n;
    }

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }

    /* only the request line matters: "GET /metrics HTTP/1.x" */
    st->out = ngx_pnalloc(c->pool, NGX_STREAM_CLAWNEXUS_STATUS_BODY + 256);
    body = ngx_pnalloc(c->pool, NGX_STREAM_CLAWNEXUS_STATUS_BODY);
    if (st->out == NULL || body == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    status = "200 OK";
    last = body + NGX_STREAM_CLAWNEXUS_STATUS_BODY;

#define cnx_starts(lit)                                                       \
    ((size_t) (eol - st->buf) >= sizeof(lit) - 1                              \
     && ngx_strncmp(st->buf, lit, sizeof(lit) - 1) == 0)

    if (cnx_starts("GET /metrics ") || cnx_starts("GET /metrics\r")) {
        type = "text/plain; version=0.0.4";
        p = ngx_stream_clawnexus_metrics(body, last);
        p = ngx_stream_clawnexus_cluster_metrics(p, last);

    } else if (cnx_starts("GET /status ") || cnx_starts("GET /status\r")) {
        type = "application/json";
        p = ngx_stream_clawnexus_status_json(body, last);

    } else if (cnx_starts("GET ")) {
        status = "404 Not Found";
        type = "text/plain";
        p = ngx_cpymem(body, "not found: use /metrics or /status\n",
                       sizeof("not found: use /metrics or /status\n") - 1);

    } else {
        status = "405 Method Not Allowed";
        type = "text/plain";
        p = ngx_cpymem(body, "only GET\n", sizeof("only GET\n") - 1);
    }

#undef cnx_starts

    st->out_len = ngx_sprintf(st->out,
                              "HTTP/1.0 %s\r\nContent-Type: %s\r\n"
                              "Content-Length: %uz\r\n"
                              "Cache-Control: no-store\r\n"
                              "Connection: close\r\n\r\n%*s",
                              status, type, (size_t) (p - body),
                              (size_t) (p - body), body)
                  - st->out;
    st->out_pos = 0;

    c->write->handler = ngx_stream_clawnexus_status_write;
    ngx_stream_clawnexus_status_write(c->write);
}


static void
ngx_stream_clawnexus_status_handler(ngx_stream_session_t *s)
{
    ngx_connection_t                   *c;
    ngx_stream_clawnexus_status_ctx_t  *st;

    c = s->connection;
    c->log->action = "answering a ClawNexus status request";

    st = ngx_pcalloc(c->pool, sizeof(ngx_stream_clawnexus_status_ctx_t));
    if (st == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    st->buf = ngx_pnalloc(c->pool, NGX_STREAM_CLAWNEXUS_STATUS_HEAD);
    if (st->buf == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_stream_set_ctx(s, st, ngx_stream_clawnexus_status_module);

    if (ngx_stream_clawnexus_zone && ngx_stream_clawnexus_zone->data) {
        ngx_stream_clawnexus_sh = ngx_stream_clawnexus_zone->data;
        ngx_stream_clawnexus_stats = &ngx_stream_clawnexus_sh->stats;
    }

    c->read->handler = ngx_stream_clawnexus_status_read;
    c->write->handler = ngx_stream_clawnexus_status_write;

    ngx_stream_clawnexus_status_read(c->read);
}
