# Helpers shared by the relay module integration tests (sourced after
# tests/lib.sh).

# relay_need_module: the stock nginx, its stream module and ours.
relay_need_module() {
    [ -x "$NGINX_BIN" ] || cnx_skip "needs $NGINX_BIN (nginx-core)"
    [ -f "$NGINX_MODULES/ngx_stream_module.so" ] || cnx_skip "needs libnginx-mod-stream"
    [ -f "$CNX_MODULE" ] || cnx_fail "module not built: $CNX_MODULE"
}

# relay_need_websockets: Debian's python3-websockets; sets PY.
relay_need_websockets() {
    PY=/usr/bin/python3
    "$PY" -c 'import websockets' 2>/dev/null ||
        cnx_skip "needs python3-websockets (scripts/install-deps installs it)"
}

# relay_secret DIR PREFIX: a fresh secret (no newline) in $secret and in
# DIR/relay.secret, mode 0600.
relay_secret() {
    secret="$2-$$-$RANDOM$RANDOM"
    printf '%s' "$secret" > "$1/relay.secret"
    chmod 600 "$1/relay.secret"
}

# relay_py PREFIX OUT WHAT SCRIPT ARG...: run a Python client ($PY, set by
# relay_need_websockets) against the nginx in PREFIX, its output into OUT; on
# failure show that output and the error log's last lines above [info], then
# fail with WHAT.
relay_py() {
    local prefix="$1" out="$2" what="$3"
    shift 3
    if ! "$PY" "$@" > "$out" 2>&1; then
        cat "$out" >&2
        grep -v '\[info\]' "$prefix/logs/error.log" | tail -30 >&2
        cnx_fail "$what"
    fi
    cat "$out"
}
