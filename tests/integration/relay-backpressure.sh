#!/bin/bash
# Backpressure: a receiver stops reading while the sender pushes 100 MB
# through the relay; the relay's memory stays bounded, and every message
# arrives once and in order when the receiver resumes.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"

relay_need_module
relay_need_websockets

cnx_tmpdir dir
port=$(cnx_free_port)
relay_secret "$dir" bp-secret

cat > "$dir/nginx.conf" <<CONF
$(cnx_nginx_conf_head 1 64)
stream {
    server {
        listen 127.0.0.1:$port;
        clawnexus_relay;
        clawnexus_jwt_secret_file relay.secret;
        clawnexus_send_queue 1m;
        clawnexus_max_message 128k;
    }
}
CONF

cnx_nginx_start "$dir"
cnx_wait_port 127.0.0.1 "$port" || cnx_fail "nginx did not listen on $port"

"$PY" "$abs_top_srcdir/tests/integration/relay_backpressure.py" 127.0.0.1 \
    "$port" "$secret" "$(cnx_nginx_pid "$dir")" 1048576 > "$dir/py.out" 2>&1 ||
    { cat "$dir/py.out" >&2; tail -20 "$dir/logs/error.log" >&2;
      cnx_fail "backpressure checks failed"; }
cat "$dir/py.out"

cnx_nginx_stop "$dir"
cnx_nginx_check_log "$dir"
cnx_log "slow receiver: sender paused, memory bounded, nothing lost"
