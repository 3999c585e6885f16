#!/bin/bash
# The relay behind nginx's own TLS (listen ... ssl), with a self-signed
# certificate made here: the npm clawnexus@0.4.0 connectors over wss://.
. "$abs_top_srcdir/tests/lib.sh"

[ -x "$NGINX_BIN" ] || cnx_skip "needs $NGINX_BIN (nginx-core)"
[ -f "$NGINX_MODULES/ngx_stream_module.so" ] || cnx_skip "needs libnginx-mod-stream"
[ -f "$CNX_MODULE" ] || cnx_fail "module not built: $CNX_MODULE"
cnx_need_node_client
cnx_need_cmd openssl

cnx_tmpdir dir
port=$(cnx_free_port)
secret="tls-secret-$$-$RANDOM$RANDOM"
printf '%s' "$secret" > "$dir/relay.secret"
chmod 600 "$dir/relay.secret"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/relay.key" -out "$dir/relay.crt" > "$dir/openssl.out" 2>&1 ||
    { cat "$dir/openssl.out" >&2; cnx_fail "openssl could not make a certificate"; }

cat > "$dir/nginx.conf" <<CONF
load_module $NGINX_MODULES/ngx_stream_module.so;
load_module $CNX_MODULE;
worker_processes 1;
events { worker_connections 256; }
error_log logs/error.log info;
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

cnx_nginx_stop "$dir"
cnx_nginx_check_log "$dir"
cnx_log "npm connectors work through the relay over nginx TLS"
