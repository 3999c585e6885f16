#!/bin/bash
# Reload (SIGHUP) with relay sessions open: sessions get close 1001, the
# old worker exits promptly, no [alert]; then kill -9 of a worker leaves
# no stale name owner.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"

relay_need_module
relay_need_websockets

cnx_tmpdir dir
port=$(cnx_free_port)
status=$(cnx_free_port)
relay_secret "$dir" reload-secret

cat > "$dir/nginx.conf" <<CONF
load_module $NGINX_MODULES/ngx_stream_module.so;
load_module $CNX_MODULE;
worker_processes 1;
worker_shutdown_timeout 30s;
events { worker_connections 256; }
error_log logs/error.log info;
stream {
    server {
        listen 127.0.0.1:$port;
        clawnexus_relay;
        clawnexus_jwt_secret_file relay.secret;
    }
    server {
        listen 127.0.0.1:$status;
        clawnexus_status;
    }
}
CONF

cnx_nginx_start "$dir"
cnx_wait_port 127.0.0.1 "$port" || cnx_fail "nginx did not listen on $port"

# /metrics and /status keep their format to the byte (operators and tests
# parse them): the fresh relay's answers, numbers aside, are the files
for f in metrics:status-fresh.metrics status:status-fresh.json; do
    (exec 3<>"/dev/tcp/127.0.0.1/$status"; printf 'GET /%s HTTP/1.0\r\n\r\n' "${f%%:*}" >&3; cat <&3) |
        sed -E 's/^(Content-Length: )[0-9]+/\1N/; s/ [0-9]+(\r?)$/ N\1/; s/":[0-9]+/":N/g' > "$dir/${f#*:}"
    cmp -s "$abs_top_srcdir/tests/integration/${f#*:}" "$dir/${f#*:}" ||
        { diff "$abs_top_srcdir/tests/integration/${f#*:}" "$dir/${f#*:}" >&2; cnx_fail "/${f%%:*} changed its format"; }
done

"$PY" "$abs_top_srcdir/tests/integration/relay_lifecycle.py" 127.0.0.1 \
    "$port" "$secret" "$(cnx_nginx_pid "$dir")" > "$dir/py.out" 2>&1 ||
    { cat "$dir/py.out" >&2; tail -40 "$dir/logs/error.log" >&2;
      cnx_fail "reload / crash checks failed"; }
cat "$dir/py.out"

# the shared counters survived the reload and the crash
metrics=$(exec 3<>"/dev/tcp/127.0.0.1/$status";
          printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3; cat <&3)
reg=$(printf '%s\n' "$metrics" | sed -n 's/^clawnexus_registrations_total //p' | tr -d '\r')
[ "${reg:-0}" -ge 6 ] || cnx_fail "registrations_total is '$reg', expected >= 6"
# gauges: every socket is closed now, including those of the killed worker
for (( i=0; i<40; i++ )); do
    metrics=$(exec 3<>"/dev/tcp/127.0.0.1/$status";
              printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3; cat <&3)
    ws=$(printf '%s\n' "$metrics" | sed -n 's/^clawnexus_websockets //p' | tr -d '\r')
    rooms=$(printf '%s\n' "$metrics" | sed -n 's/^clawnexus_rooms //p' | tr -d '\r')
    [ "$ws" = 0 ] && [ "$rooms" = 0 ] && break
    sleep 0.05
done
[ "$ws" = 0 ] && [ "$rooms" = 0 ] ||
    cnx_fail "gauges after all sockets closed: websockets=$ws rooms=$rooms"

cnx_nginx_stop "$dir"
# the only alert allowed is the master's report of the worker we killed
if grep -E '\[(alert|emerg|crit)\]|Sanitizer|runtime error:' "$dir/logs/error.log" |
        grep -v 'exited on signal 9' >&2; then
    cnx_fail "error log has alerts (above)"
fi
grep -q 'open socket .* left in connection' "$dir/logs/error.log" &&
    cnx_fail "an exiting worker left sockets open"
cnx_log "reload closes with 1001 and old workers exit; kill -9 leaves no stale name"
