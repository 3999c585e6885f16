#!/bin/bash
# The relay behind nginx's own TLS (listen ... ssl), with a self-signed
# certificate made here: the npm clawnexus@0.4.0 connectors over wss://,
# then a slow receiver, a reload with data flowing and kill -9 of the
# worker, all over TLS.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"

relay_need_module
cnx_need_node_client
cnx_need_cmd openssl
relay_need_websockets

cnx_tmpdir dir
port=$(cnx_free_port)
relay_secret "$dir" tls-secret
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/relay.key" -out "$dir/relay.crt" > "$dir/openssl.out" 2>&1 ||
    { cat "$dir/openssl.out" >&2; cnx_fail "openssl could not make a certificate"; }

cat > "$dir/nginx.conf" <<CONF
$(cnx_nginx_conf_head 1 256)
stream {
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate relay.crt;
        ssl_certificate_key relay.key;
        clawnexus_relay;
        clawnexus_jwt_secret_file relay.secret;
    }
}
CONF

cnx_nginx_start "$dir"
cnx_wait_port 127.0.0.1 "$port" || cnx_fail "nginx did not listen on $port"

# the connectors trust our CA through Node's standard variable
NODE_EXTRA_CA_CERTS="$dir/relay.crt" \
node "$CNX_NODE_DIR/relay-interop.js" "wss://localhost:$port/relay" \
    "$secret" > "$dir/node.out" 2>&1 ||
    { cat "$dir/node.out" >&2; tail -30 "$dir/logs/error.log" >&2;
      cnx_fail "the npm RelayConnector scenario over TLS failed"; }
cat "$dir/node.out"

# plain WebSocket on the TLS port is refused by nginx's TLS layer
got=$(exec 3<>"/dev/tcp/127.0.0.1/$port";
      printf 'GET /relay HTTP/1.1\r\nHost: x\r\n\r\n' >&3; cat <&3)
case "$got" in *"101 Switching"*) cnx_fail "plaintext upgrade accepted on the TLS port";; esac

# slow receiver over TLS, then reload (data still flowing) and kill -9
CNX_RELAY_SCHEME=wss "$PY" "$abs_top_srcdir/tests/integration/relay_backpressure.py" \
    127.0.0.1 "$port" "$secret" "$(cnx_nginx_pid "$dir")" 1048576 \
    > "$dir/bp.out" 2>&1 ||
    { cat "$dir/bp.out" >&2; cnx_fail "backpressure over TLS failed"; }
cat "$dir/bp.out"
CNX_RELAY_SCHEME=wss "$PY" "$abs_top_srcdir/tests/integration/relay_lifecycle.py" \
    127.0.0.1 "$port" "$secret" "$(cnx_nginx_pid "$dir")" > "$dir/life.out" 2>&1 ||
    { cat "$dir/life.out" >&2; tail -20 "$dir/logs/error.log" >&2;
      cnx_fail "reload / kill -9 over TLS failed"; }
cat "$dir/life.out"

cnx_nginx_stop "$dir"
# the only alert allowed is the master's report of the worker we killed;
# an SSL_shutdown() [crit] at reload would show up here
if grep -E '\[(alert|emerg|crit)\]|Sanitizer|runtime error:' "$dir/logs/error.log" |
        grep -v 'exited on signal 9' >&2; then
    cnx_fail "error log has alerts (above)"
fi
cnx_log "npm connectors, a slow receiver, reload and kill -9 over nginx TLS"
