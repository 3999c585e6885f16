#!/bin/bash
# Protocol edge cases and bad input, driven by Debian's python3-websockets
# and raw sockets: bad upgrades, 404, 426, unmasked frames, invalid UTF-8,
# oversize messages, bad JSON and fields, refused tokens, DATA to foreign
# rooms, REJECT, replacement of a name, the binary DATA extension, per-
# address connection and failed-auth limits; a pair set up first must keep
# working through all of it.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"

relay_need_module
relay_need_websockets

cnx_tmpdir dir
port=$(cnx_free_port)
small=$(cnx_free_port)
limits=$(cnx_free_port)
relay_secret "$dir" edge-secret

cat > "$dir/nginx.conf" <<CONF
$(cnx_nginx_conf_head 1 256)
stream {
    clawnexus_zone edge_names:8m;
    clawnexus_jwt_secret_file relay.secret;
    clawnexus_jwt_issuer edge-issuer.test;
    server {
        listen 127.0.0.1:$port;
        clawnexus_relay;
        clawnexus_max_message 128k;
    }
    server {
        listen 127.0.0.1:$small;
        clawnexus_relay;
        clawnexus_max_message 1k;
    }
    server {
        listen 127.0.0.1:$limits;
        clawnexus_relay;
        clawnexus_max_connections_per_ip 2;
        clawnexus_max_auth_failures 3;
        clawnexus_auth_failure_window 60s;
    }
}
CONF

cnx_nginx_start "$dir"
cnx_wait_port 127.0.0.1 "$port" || cnx_fail "nginx did not listen on $port"

"$PY" "$abs_top_srcdir/tests/integration/relay_edge.py" 127.0.0.1 "$port" \
    "$secret" edge-issuer.test "$small" 1024 "$limits" > "$dir/py.out" 2>&1 ||
    { cat "$dir/py.out" >&2; tail -40 "$dir/logs/error.log" >&2;
      cnx_fail "edge case checks failed"; }
cat "$dir/py.out"

# client-caused problems are logged at info, never above
grep -q '\[info\].*clawnexus: AUTH_FAILED' "$dir/logs/error.log" ||
    cnx_fail "refused tokens were not logged at info"
if grep -E '\[(error|crit|alert|emerg)\]' "$dir/logs/error.log" >&2; then
    cnx_fail "client mistakes were logged above info"
fi
grep -q "$secret" "$dir/logs/error.log" && cnx_fail "the secret reached the log"

cnx_nginx_stop "$dir"
cnx_nginx_check_log "$dir"
cnx_log "edge cases answered as the protocol says; other sockets unaffected"
