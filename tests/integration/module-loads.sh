#!/bin/bash
# The module built from this tree loads into the stock Debian nginx after
# ngx_stream_module.so, and nginx serves with it.
. "$abs_top_srcdir/tests/lib.sh"

[ -x "$NGINX_BIN" ] || cnx_skip "needs $NGINX_BIN (nginx-core)"
[ -f "$NGINX_MODULES/ngx_stream_module.so" ] || cnx_skip "needs ngx_stream_module.so (libnginx-mod-stream)"
[ -f "$CNX_MODULE" ] || cnx_fail "module not built: $CNX_MODULE"

cnx_tmpdir dir
port=$(cnx_free_port)
cat > "$dir/nginx.conf" <<CONF
load_module $NGINX_MODULES/ngx_stream_module.so;
load_module $CNX_MODULE;
worker_processes 1;
events { worker_connections 64; }
stream {
    server { listen 127.0.0.1:$port; return "module-loaded\n"; }
}
CONF

env $(cnx_nginx_env) "$NGINX_BIN" -t -p "$dir" -c nginx.conf -e "$dir/test.log" \
    -g "pid $dir/nginx.pid;" > "$dir/t.out" 2>&1 ||
    { cat "$dir/t.out" >&2; cnx_fail "nginx -t refused the configuration"; }

# clawnexus_zone: a size too small, and a zone named after the servers
# that use it, are refused with a message naming the problem
printf 'secret-of-the-zone-test\n' > "$dir/relay.secret"; chmod 600 "$dir/relay.secret"
for bad in "clawnexus_zone z:1m;|size must be at least 4m" \
        "clawnexus_zone nosize;|expected name:size" \
        "server { listen 127.0.0.1:$port; clawnexus_status; } clawnexus_zone z:8m;|must come before"; do
    cat > "$dir/bad.conf" <<CONF
load_module $NGINX_MODULES/ngx_stream_module.so;
load_module $CNX_MODULE;
events { }
stream { ${bad%%|*} }
CONF
    if env $(cnx_nginx_env) "$NGINX_BIN" -t -p "$dir" -c bad.conf -e "$dir/test.log" \
            -g "pid $dir/nginx.pid;" > "$dir/t.out" 2>&1; then
        cnx_fail "nginx -t accepted: ${bad%%|*}"
    fi
    grep -q "${bad#*|}" "$dir/t.out" ||
        { cat "$dir/t.out" >&2; cnx_fail "no \"${bad#*|}\" for: ${bad%%|*}"; }
done

cnx_nginx_start "$dir"
cnx_wait_port 127.0.0.1 "$port" || cnx_fail "nginx did not listen on $port"
got=$(exec 3<>"/dev/tcp/127.0.0.1/$port"; cat <&3)
[ "$got" = "module-loaded" ] || cnx_fail "unexpected reply '$got'"
cnx_nginx_stop "$dir"
cnx_nginx_check_log "$dir"
cnx_log "module loads into $("$NGINX_BIN" -v 2>&1 | sed 's/.*: //') and nginx serves"
