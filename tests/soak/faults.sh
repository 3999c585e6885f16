#!/bin/bash
# Faults (tests/soak/faults.py): a receiver that stops reading, slowloris
# on the upgrade and on frames, 10,000 connections from one address,
# 10,000 failed logins.  Limits hold, memory stays bounded, and a control
# client in its own process keeps its PING->PONG latency (p99 < 200 ms, a
# liveness bound, not a benchmark).
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"

relay_need_module
relay_need_websockets
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ASan keeps freed memory in quarantine: memory bounds are only enforced
# in a build without sanitizers (the values are printed either way)
CNX_RSS_CHECK=1
[ "$CNX_SANITIZERS" = yes ] && CNX_RSS_CHECK=0
export CNX_RSS_CHECK

cnx_tmpdir dir
port=$(cnx_free_port)
status=$(cnx_free_port)
relay_secret "$dir" faults-secret
per_ip=50
max_fails=10
hs_timeout=3

cat > "$dir/nginx.conf" <<CONF
load_module $NGINX_MODULES/ngx_stream_module.so;
load_module $CNX_MODULE;
worker_processes 1;
worker_rlimit_nofile 8192;
events { worker_connections 4096; }
error_log logs/error.log notice;
stream {
    server {
        listen 127.0.0.1:$port backlog=4096;
        clawnexus_relay;
        clawnexus_jwt_secret_file relay.secret;
        clawnexus_max_connections_per_ip $per_ip;
        clawnexus_max_auth_failures $max_fails;
        clawnexus_auth_failure_window 120s;
        clawnexus_handshake_timeout ${hs_timeout}s;
        clawnexus_send_queue 256k;
    }
    server {
        listen 127.0.0.1:$status;
        clawnexus_status;
    }
}
CONF

cnx_nginx_start "$dir"
cnx_wait_port 127.0.0.1 "$port" || cnx_fail "nginx did not listen on $port"

FAULTS_PROBE_OUT="$dir/probe.out" "$PY" "$abs_top_srcdir/tests/soak/faults.py" \
    127.0.0.1 "$port" "$status" "$secret" "$(cnx_nginx_pid "$dir")" \
    "$per_ip" "$max_fails" "$hs_timeout" > "$dir/py.out" 2>&1 ||
    { cat "$dir/py.out" >&2; tail -20 "$dir/logs/error.log" >&2;
      cnx_fail "a limit did not hold"; }
cat "$dir/py.out"

cnx_nginx_stop "$dir"
# the last phase kills the worker on purpose
if grep -E '\[(alert|emerg|crit)\]|Sanitizer|runtime error:' "$dir/logs/error.log" |
        grep -v 'exited on signal 9' >&2; then
    cnx_fail "nginx error log has alerts or sanitizer reports (above)"
fi
cnx_log "faults contained; other clients kept their latency"
