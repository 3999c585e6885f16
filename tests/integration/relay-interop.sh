#!/bin/bash
# The real ClawNexus daemon client (npm clawnexus@0.4.0 RelayConnector)
# through the relay module on the stock nginx: register, pair, key
# exchange, encrypted messages both ways, PEER_LEFT, re-register, a newer
# socket taking over a name, refused tokens.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"

relay_need_module
cnx_need_node_client

cnx_tmpdir dir
port=$(cnx_free_port)
secret="relay-test-secret-$$-$RANDOM"
printf '%s\n' "$secret" > "$dir/relay.secret"
chmod 600 "$dir/relay.secret"

cat > "$dir/nginx.conf" <<CONF
$(cnx_nginx_conf_head 1 256)
stream {
    server {
        listen 127.0.0.1:$port;
        clawnexus_relay;
        clawnexus_jwt_secret_file relay.secret;
        clawnexus_jwt_issuer clawnexus-registry.test;
    }
}
CONF

cnx_nginx_start "$dir"
cnx_wait_port 127.0.0.1 "$port" || cnx_fail "nginx did not listen on $port"

node "$CNX_NODE_DIR/relay-interop.js" "ws://127.0.0.1:$port/relay" \
    "$secret" clawnexus-registry.test > "$dir/node.out" 2>&1 ||
    { cat "$dir/node.out" >&2; tail -30 "$dir/logs/error.log" >&2;
      cnx_fail "the npm RelayConnector scenario failed"; }
cat "$dir/node.out"

grep -q "registered \"alice.id.claw\"" "$dir/logs/error.log" ||
    cnx_fail "relay did not log the registration"
cnx_nginx_stop "$dir"
cnx_nginx_check_log "$dir"
cnx_log "npm clawnexus@0.4.0 connectors work through the relay"
