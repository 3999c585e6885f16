#!/bin/bash
# The bulk receive and in-place forwarding: several senders on one worker
# write frames of every shape in pieces cut anywhere (headers too) while
# their receivers stop reading now and then; every message arrives once,
# in order, byte for byte.  Then peers vanish in the middle of a frame.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"

relay_need_module
relay_need_websockets

cnx_tmpdir dir
port=$(cnx_free_port)
status=$(cnx_free_port)
relay_secret "$dir" bulk-secret

cat > "$dir/nginx.conf" <<CONF
$(cnx_nginx_conf_head 1 64)
stream {
    server {
        listen 127.0.0.1:$port;
        clawnexus_relay;
        clawnexus_jwt_secret_file relay.secret;
        clawnexus_send_queue 256k;
        clawnexus_max_message 1m;
    }
    server {
        listen 127.0.0.1:$status;
        clawnexus_status;
    }
}
CONF

cnx_nginx_start "$dir"
cnx_wait_port 127.0.0.1 "$port" || cnx_fail "nginx did not listen on $port"

# CNX_BULK_SEED repeats a run (the seed is printed)
"$PY" "$abs_top_srcdir/tests/integration/relay_bulk.py" 127.0.0.1 "$port" \
    "$status" "$secret" ${CNX_BULK_SEED:-} > "$dir/py.out" 2>&1 ||
    { cat "$dir/py.out" >&2; tail -20 "$dir/logs/error.log" >&2;
      cnx_fail "bulk receive checks failed"; }
cat "$dir/py.out"

cnx_nginx_stop "$dir"
cnx_nginx_check_log "$dir"
cnx_log "frames cut anywhere, several senders: nothing lost or changed"
