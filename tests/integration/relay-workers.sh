#!/bin/bash
# worker_processes 4: pairs whose members are served by different workers
# (shared name directory + IPC between workers), many pairs at once, a slow
# receiver across workers, kill -9 of a worker and a reload.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"

relay_need_module
cnx_need_root
relay_need_websockets

cnx_tmpdir dir
port=$(cnx_free_port)
status=$(cnx_free_port)
relay_secret "$dir" workers-secret

# reuseport spreads connections over the workers by address hash (without
# it an idle nginx may hand every connection to the same worker).  Fixed
# socket buffers: with the kernel's autotuning a relay that reads fast may
# have megabytes more of a held-back sender's bytes in its receive buffer
# (up to tcp_rmem's maximum), which "held back" would count as accepted.
# "user root" keeps the workers' /proc/PID/fd readable for the test, which
# finds the worker of each socket there.
cat > "$dir/nginx.conf" <<CONF
load_module $NGINX_MODULES/ngx_stream_module.so;
load_module $CNX_MODULE;
user root;
worker_processes 4;
events { worker_connections 512; }
error_log logs/error.log info;
stream {
    server {
        listen 127.0.0.1:$port reuseport rcvbuf=256k sndbuf=256k;
        clawnexus_relay;
        clawnexus_jwt_secret_file relay.secret;
        clawnexus_max_message 256k;
        clawnexus_send_queue 512k;
    }
    server {
        listen 127.0.0.1:$status;
        clawnexus_status;
    }
}
CONF

cnx_nginx_start "$dir"
cnx_wait_port 127.0.0.1 "$port" || cnx_fail "nginx did not listen on $port"

relay_py "$dir" "$dir/py.out" "cross-worker checks failed" \
    "$abs_top_srcdir/tests/integration/relay_workers.py" 127.0.0.1 \
    "$port" "$secret" "$(cnx_nginx_pid "$dir")" "$status"

cnx_nginx_stop "$dir"
if grep -E '\[(alert|emerg|crit)\]|Sanitizer|runtime error:' "$dir/logs/error.log" |
        grep -v 'exited on signal 9' >&2; then
    cnx_fail "error log has alerts (above)"
fi
cnx_log "pairs across 4 workers, crash and reload handled"
