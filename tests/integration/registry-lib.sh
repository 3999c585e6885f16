# Helpers shared by the registry integration tests (registry.sh,
# registry-redis.sh, registry-daemons.sh); sourced after tests/lib.sh and
# relay-lib.sh.

# registry_need [ed25519]: the registry module built, the relay module and
# openssl; with ed25519, python3-cryptography too (registry_check.py's keys).
registry_need() {
    relay_need_module
    cnx_need_cmd openssl
    [ -f "$CNX_REGISTRY_MODULE" ] || cnx_fail "module not built: $CNX_REGISTRY_MODULE"
    if [ "${1:-}" = ed25519 ]; then
        "${PY:-python3}" -c 'from cryptography.hazmat.primitives.asymmetric import ed25519' \
            2>/dev/null || cnx_skip "needs python3-cryptography"
    fi
}

# registry_setup DIR: DIR/tls.crt and DIR/tls.key, a self-signed
# certificate for localhost and 127.0.0.1 (the relay's and the registry's),
# and DIR/state for registry_check.py.  The helpers below use DIR.
registry_setup() {
    REGISTRY_DIR=$1
    mkdir -p "$REGISTRY_DIR/state"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$REGISTRY_DIR/tls.key" -out "$REGISTRY_DIR/tls.crt" \
        > "$REGISTRY_DIR/openssl.out" 2>&1 ||
        { cat "$REGISTRY_DIR/openssl.out" >&2; cnx_fail "openssl could not make a certificate"; }
}

# registry_keys: keys A and B (admitted) and a stranger in DIR/state; the
# allow file DIR/allowed-keys lists A and B.
registry_keys() {
    "$PY" "$abs_top_srcdir/tests/integration/registry_check.py" keys - - \
        "$REGISTRY_DIR/state" > "$REGISTRY_DIR/allowed-keys" || cnx_fail "cannot make keys"
}

# registry_conf RELAY_PORT REG_PORT ISSUER HTTP_LINES [STREAM_LINES [CONNS]]
#   < LOCATIONS
# An nginx.conf on stdout: the registry module, two workers (CONNS
# connections each, 256 by default), the relay over TLS on RELAY_PORT
# (tls.crt, relay.secret; tokens must carry ISSUER unless it is empty),
# STREAM_LINES as more stream servers, HTTP_LINES at the http level, and an
# HTTPS server on REG_PORT holding the locations read from stdin.
registry_conf() {
    local iss= streams=${5:-}
    [ -n "$3" ] && iss="clawnexus_jwt_issuer $3;"
    cat <<CONF
load_module $CNX_REGISTRY_MODULE;
$(cnx_nginx_conf_head 2 "${6:-256}")
stream {
    server {
        listen 127.0.0.1:$1 ssl;
        ssl_certificate tls.crt;
        ssl_certificate_key tls.key;
        clawnexus_relay;
        clawnexus_jwt_secret_file relay.secret;
        $iss
    }
$streams
}
http {
$4
    server {
        listen 127.0.0.1:$2 ssl;
        ssl_certificate tls.crt;
        ssl_certificate_key tls.key;
$(cat)
    }
}
CONF
}

# registry_location PATH DB RELAY_PORT [LINE...]: a registry location on
# DB whose relay_hint is localhost:RELAY_PORT, with more directives.
registry_location() {
    local path=$1 db=$2 relay=$3 l
    shift 3
    printf '        location %s {\n' "$path"
    printf '            %s\n' "clawnexus_registry;" "clawnexus_registry_db $db;" \
        "clawnexus_registry_relay_hint localhost:$relay;"
    for l in "$@"; do
        printf '            %s\n' "$l"
    done
    printf '        }\n'
}

# registry_check STEP REG_PORT RELAY_PORT NGINX_DIR: registry_check.py's
# STEP against https://localhost:REG_PORT/clawnexus; its "ok" lines, or
# the failure with NGINX_DIR's error log.
registry_check() {
    "$PY" "$abs_top_srcdir/tests/integration/registry_check.py" "$1" \
        "https://localhost:$2/clawnexus" "$REGISTRY_DIR/tls.crt" \
        "$REGISTRY_DIR/state" "$3" > "$REGISTRY_DIR/check.out" 2>&1 ||
        { cat "$REGISTRY_DIR/check.out" >&2; tail -20 "$4/logs/error.log" >&2;
          cnx_fail "registry step '$1' failed (nginx in $4)"; }
    grep '^ok' "$REGISTRY_DIR/check.out"
}
