# Helpers shared by the clawnexus-link integration tests (sourced after
# tests/lib.sh).

link_need_relay() {
    [ -x "$NGINX_BIN" ] || cnx_skip "needs $NGINX_BIN (nginx-core)"
    [ -f "$NGINX_MODULES/ngx_stream_module.so" ] || cnx_skip "needs libnginx-mod-stream"
    [ -f "$CNX_MODULE" ] || cnx_fail "module not built: $CNX_MODULE"
    [ -x "$CNX_LINK" ] || cnx_fail "clawnexus-link not built: $CNX_LINK"
}

# link_relay_start DIR: nginx with the relay module on a free loopback
# port.  Sets RELAY_URL, RELAY_SECRET (text), RELAY_SECRET_FILE, RELAY_ISS.
link_relay_start() {
    local dir=$1 port
    port=$(cnx_free_port)
    mkdir -p "$dir/relay"
    RELAY_SECRET="link-test-secret-$$-$RANDOM-$RANDOM"
    RELAY_SECRET_FILE="$dir/relay/relay.secret"
    RELAY_ISS="clawnexus-registry.test"
    ( umask 077; printf '%s\n' "$RELAY_SECRET" > "$RELAY_SECRET_FILE" )
    cat > "$dir/relay/nginx.conf" <<CONF
$(cnx_nginx_conf_head ${LINK_WORKERS:-1} 256)
stream {
    server {
        listen 127.0.0.1:$port;
        clawnexus_relay;
        clawnexus_jwt_secret_file relay.secret;
        clawnexus_jwt_issuer $RELAY_ISS;
    }
}
CONF
    cnx_nginx_start "$dir/relay"
    cnx_wait_port 127.0.0.1 "$port" || cnx_fail "nginx did not listen on $port"
    RELAY_URL="ws://127.0.0.1:$port/relay"
}

# link_wait_grep FILE PATTERN [SECONDS]: wait until FILE has PATTERN.
link_wait_grep() {
    local f=$1 pat=$2 limit=${3:-10} i
    for (( i=0; i<limit*20; i++ )); do
        grep -q -- "$pat" "$f" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# link_kill PID: stop a process this test started, then reap it.
link_kill() {
    kill "$1" 2>/dev/null || return 0
    wait "$1" 2>/dev/null || true
}

# link_echo_start: the TCP echo service of link_tcp.py on a free port
# (ECHO_PORT), stopped when the test ends.
link_echo_start() {
    ECHO_PORT=$(cnx_free_port)
    python3 "$abs_top_srcdir/tests/integration/link_tcp.py" echo "$ECHO_PORT" &
    cnx_on_exit "link_kill $!"
    cnx_wait_port 127.0.0.1 "$ECHO_PORT" || cnx_fail "echo service did not start"
}
