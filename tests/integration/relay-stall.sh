#!/bin/bash
# clawnexus_send_stall_timeout, 2 workers: a receiver that reads nothing
# while DATA waits for it is closed and its peer (in the same worker or in
# the other) gets PEER_LEFT; a receiver that reads slowly is kept.  Over
# plain WebSocket and over TLS.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"

relay_need_module
cnx_need_root
cnx_need_cmd openssl
relay_need_websockets

cnx_tmpdir dir
port=$(cnx_free_port)
tls=$(cnx_free_port)
relay_secret "$dir" stall-secret
stall=2
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/relay.key" -out "$dir/relay.crt" > "$dir/openssl.out" 2>&1 ||
    { cat "$dir/openssl.out" >&2; cnx_fail "openssl could not make a certificate"; }

# "user root" keeps the workers' /proc/PID/fd readable for the test, which
# finds the worker of each socket there; reuseport spreads the sockets.
cat > "$dir/nginx.conf" <<CONF
load_module $NGINX_MODULES/ngx_stream_module.so;
load_module $CNX_MODULE;
user root;
worker_processes 2;
events { worker_connections 256; }
error_log logs/error.log info;
stream {
    clawnexus_jwt_secret_file relay.secret;
    clawnexus_send_queue 256k;
    clawnexus_send_stall_timeout ${stall}s;
    server {
        listen 127.0.0.1:$port reuseport;
        clawnexus_relay;
    }
    server {
        listen 127.0.0.1:$tls reuseport ssl;
        ssl_certificate relay.crt;
        ssl_certificate_key relay.key;
        clawnexus_relay;
    }
}
CONF

cnx_nginx_start "$dir"
cnx_wait_port 127.0.0.1 "$port" || cnx_fail "nginx did not listen on $port"

script="$abs_top_srcdir/tests/integration/relay_stall.py"
relay_py "$dir" "$dir/py.out" "send stall checks failed" "$script" \
    127.0.0.1 "$port" "$secret" "$(cnx_nginx_pid "$dir")" "$stall"
CNX_RELAY_SCHEME=wss relay_py "$dir" "$dir/tls.out" \
    "send stall checks over TLS failed" "$script" \
    127.0.0.1 "$tls" "$secret" "$(cnx_nginx_pid "$dir")" "$stall"

grep -q "client read nothing for 2000 ms" "$dir/logs/error.log" ||
    cnx_fail "no stalled receiver was logged"
cnx_nginx_stop "$dir"
cnx_nginx_check_log "$dir"
cnx_log "stalled receivers closed with PEER_LEFT to their peers, slow ones kept (ws, wss)"
