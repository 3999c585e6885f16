#!/bin/bash
# Soak: SOAK_CLIENTS clients (default 500) pair, exchange numbered
# messages, drop abruptly and reconnect for SOAK_SECONDS (default 50 in
# make check, 300 in make soak), with a reload every SOAK_RELOAD seconds
# (default 30) and one worker killed with SIGKILL.  Afterwards: no stale
# names or rooms, worker memory within 10% of the warmed-up start, every
# message delivered once and in order (tests/soak/soak.py checks these).
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"

relay_need_module
relay_need_websockets

: "${SOAK_SECONDS:=50}"
: "${SOAK_CLIENTS:=500}"
: "${SOAK_RELOAD:=30}"
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ASan keeps freed memory in quarantine: memory bounds are only enforced
# in a build without sanitizers (the values are printed either way)
CNX_RSS_CHECK=1
[ "$CNX_SANITIZERS" = yes ] && CNX_RSS_CHECK=0
export CNX_RSS_CHECK

cnx_tmpdir dir
port=$(cnx_free_port)
status=$(cnx_free_port)
relay_secret "$dir" soak-secret

cat > "$dir/nginx.conf" <<CONF
load_module $NGINX_MODULES/ngx_stream_module.so;
load_module $CNX_MODULE;
worker_processes 2;
worker_rlimit_nofile 8192;
events { worker_connections 4096; }
error_log logs/error.log notice;
stream {
    server {
        listen 127.0.0.1:$port reuseport;
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
cnx_log "$SOAK_CLIENTS clients for ${SOAK_SECONDS}s, reload every ${SOAK_RELOAD}s"

"$PY" "$abs_top_srcdir/tests/soak/soak.py" 127.0.0.1 "$port" "$status" \
    "$secret" "$(cnx_nginx_pid "$dir")" "$SOAK_SECONDS" "$SOAK_CLIENTS" \
    "$SOAK_RELOAD" > "$dir/py.out" 2>&1 ||
    { cat "$dir/py.out" >&2; tail -40 "$dir/logs/error.log" >&2;
      cnx_fail "soak checks failed"; }
cat "$dir/py.out"

cnx_nginx_stop "$dir"
# the only alert allowed is the master's report of the worker we killed
if grep -E '\[(alert|emerg|crit)\]|Sanitizer|runtime error:' "$dir/logs/error.log" |
        grep -v 'exited on signal 9' >&2; then
    cnx_fail "error log has alerts (above)"
fi
grep -q 'exited on signal 9' "$dir/logs/error.log" ||
    cnx_fail "no worker was killed during the soak"
cnx_log "soak held: no stale names/rooms, messages in order (memory: see above)"
