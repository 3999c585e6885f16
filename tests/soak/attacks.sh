#!/bin/bash
# Attacks on the relay that must fail (tests/soak/attacks.py): token
# algorithms and validity times, guessed room ids, REGISTER floods to take
# a name, forged 64-bit lengths, fragmented control frames, invalid UTF-8,
# IPv4-mapped IPv6 against the per-address limit, floods of PINGs and of
# invalid messages from a socket that never reads.  Attacks already tried
# by tests/integration/relay_edge.py are listed in docs/hardening.md.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"

relay_need_module
relay_need_websockets

cnx_tmpdir dir
port=$(cnx_free_port)
open=$(cnx_free_port)
limit=$(cnx_free_port)
v6=$(cnx_free_port)
small=$(cnx_free_port)
relay_secret "$dir" attack-secret

v6listen="listen [::]:$v6 ipv6only=off;"
if ! "$PY" -c "import socket; s=socket.socket(socket.AF_INET6); s.bind(('::1', 0))" 2>/dev/null; then
    v6listen="listen 127.0.0.1:$v6;"
    v6=0
fi

cat > "$dir/nginx.conf" <<CONF
$(cnx_nginx_conf_head 1 512)
stream {
    clawnexus_jwt_secret_file relay.secret;
    clawnexus_jwt_issuer attack-issuer.test;
    server {
        listen 127.0.0.1:$port;
        clawnexus_relay;
        clawnexus_max_auth_failures 3;
    }
    server {
        listen 127.0.0.1:$open;
        clawnexus_relay;
        clawnexus_max_auth_failures 0;
    }
    server {
        listen 127.0.0.1:$limit;
        clawnexus_relay;
        clawnexus_max_connections_per_ip 2;
    }
    server {
        listen 127.0.0.1:$small;
        clawnexus_relay;
        clawnexus_send_queue 16k;
        clawnexus_max_message 1k;
    }
    server {
        $v6listen
        clawnexus_relay;
        clawnexus_max_connections_per_ip 2;
    }
}
CONF

cnx_nginx_start "$dir"
cnx_wait_port 127.0.0.1 "$port" || cnx_fail "nginx did not listen on $port"

"$PY" "$abs_top_srcdir/tests/soak/attacks.py" "$secret" attack-issuer.test \
    "$port" "$open" "$limit" "$v6" "$(cnx_nginx_pid "$dir")" "$small" \
    > "$dir/py.out" 2>&1 ||
    { cat "$dir/py.out" >&2; tail -40 "$dir/logs/error.log" >&2;
      cnx_fail "an attack was not refused"; }
cat "$dir/py.out"

grep -q "$secret" "$dir/logs/error.log" && cnx_fail "the secret reached the log"
grep -q "does not read, closing it.*server: 127.0.0.1:$small" "$dir/logs/error.log" ||
    cnx_fail "the ERROR flood did not reach the hard cap"
if grep -E '\[(error|crit|alert|emerg)\]' "$dir/logs/error.log" >&2; then
    cnx_fail "attacks were logged above info (above)"
fi
cnx_nginx_stop "$dir"
cnx_nginx_check_log "$dir"
cnx_log "every attack was refused"
