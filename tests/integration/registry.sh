#!/bin/bash
# The registry module (ngx_http_clawnexus_registry_module) in the stock
# nginx, over HTTPS beside the relay over TLS: names, 409, tokens the relay
# accepts, every error answer (401, 403, 404, 405, 400, 413, 429) as JSON,
# the database's mode, names kept across a restart and a reload, and the
# configuration errors an operator meets.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"

relay_need_module
relay_need_websockets
cnx_need_cmd openssl
"$PY" -c 'from cryptography.hazmat.primitives.asymmetric import ed25519' \
    2>/dev/null || cnx_skip "needs python3-cryptography"
[ -f "$CNX_REGISTRY_MODULE" ] || cnx_fail "module not built: $CNX_REGISTRY_MODULE"

cnx_tmpdir dir
# the workers (nobody) reach the database directory and nothing else
chmod 711 "$dir"
mkdir "$dir/db" "$dir/state"
chown nobody "$dir/db"
relay_port=$(cnx_free_port)
reg_port=$(cnx_free_port)
relay_secret "$dir" registry-secret
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/tls.key" -out "$dir/tls.crt" > "$dir/openssl.out" 2>&1 ||
    { cat "$dir/openssl.out" >&2; cnx_fail "openssl could not make a certificate"; }

check() {
    "$PY" "$abs_top_srcdir/tests/integration/registry_check.py" "$@" \
        "https://localhost:$reg_port/clawnexus" "$dir/tls.crt" "$dir/state" \
        "$relay_port" > "$dir/check.out" 2>&1 ||
        { cat "$dir/check.out" >&2; tail -20 "$dir/logs/error.log" >&2;
          cnx_fail "registry step '$1' failed"; }
    grep '^ok' "$dir/check.out"
}

# keys A and B (admitted) and a stranger; the allow file lists A and B
"$PY" "$abs_top_srcdir/tests/integration/registry_check.py" keys - - \
    "$dir/state" > "$dir/allowed-keys" || cnx_fail "cannot make keys"

conf() {  # conf ADDR_RATE
    cat <<CONF
load_module $CNX_REGISTRY_MODULE;
$(cnx_nginx_conf_head 2 256)
stream {
    server {
        listen 127.0.0.1:$relay_port ssl;
        ssl_certificate tls.crt;
        ssl_certificate_key tls.key;
        clawnexus_relay;
        clawnexus_jwt_secret_file relay.secret;
        clawnexus_jwt_issuer registry.test;
    }
}
http {
    access_log off;
    clawnexus_jwt_secret_file relay.secret;
    clawnexus_jwt_issuer registry.test;
    clawnexus_registry_rate_limit 120r/m $1;
    server {
        listen 127.0.0.1:$reg_port ssl;
        ssl_certificate tls.crt;
        ssl_certificate_key tls.key;
        location /clawnexus/ {
            clawnexus_registry;
            clawnexus_registry_db db/registry.db;
            clawnexus_registry_relay_hint localhost:$relay_port;
            clawnexus_registry_allow_file allowed-keys;
        }
        location /open/ {
            clawnexus_registry;
            clawnexus_registry_db db/registry.db;
            clawnexus_registry_relay_hint localhost:$relay_port;
        }
    }
}
CONF
}

# configuration errors name what is wrong
conf off > "$dir/nginx.conf"
printf 'ed25519:1234\n' > "$dir/bad-keys"
sed 's|allow_file allowed-keys|allow_file bad-keys|' "$dir/nginx.conf" \
    > "$dir/bad.conf"
out=$("$NGINX_BIN" -t -p "$dir" -c bad.conf -e "$dir/t.log" 2>&1) &&
    cnx_fail "nginx -t accepted a malformed allow file"
case "$out" in *'bad-keys", line 1: expected "ed25519:'*) ;;
    *) cnx_fail "allow file error does not name the line: $out";; esac
sed '/relay_hint/d' "$dir/nginx.conf" > "$dir/bad.conf"
out=$("$NGINX_BIN" -t -p "$dir" -c bad.conf -e "$dir/t.log" 2>&1) &&
    cnx_fail "nginx -t accepted a registry without relay_hint"
case "$out" in *'needs "clawnexus_registry_relay_hint"'*) ;;
    *) cnx_fail "missing relay_hint not reported: $out";; esac
cnx_log "nginx -t names a bad allow file line and a missing relay hint"

conf off > "$dir/nginx.conf"
cnx_nginx_start "$dir"
cnx_wait_port 127.0.0.1 "$reg_port" || cnx_fail "nginx did not listen on $reg_port"
grep -q 'without "clawnexus_registry_allow_file" is open' \
    "$dir/logs/startup.log" "$dir/logs/error.log" ||
    cnx_fail "no warning about the open registry at /open/"
cnx_log "an open registry (no allow file) is warned about at start"

mode=$(stat -c '%a %U' "$dir/db/registry.db")
[ "$mode" = "600 nobody" ] || cnx_fail "database mode/owner is '$mode', want '600 nobody'"
cnx_log "the database is created 0600, owned by the worker user"

check first

cnx_nginx_stop "$dir"
cnx_nginx_start "$dir"
cnx_wait_port 127.0.0.1 "$reg_port" || cnx_fail "nginx did not come back"
check restarted

# a reload with a per-address limit keeps the names too
conf 5r/m > "$dir/nginx.conf"
cnx_nginx_reload "$dir"
sleep 1
check limited

cnx_nginx_stop "$dir"
if grep -E '\[(alert|emerg|crit)\]|Sanitizer|runtime error:' \
        "$dir/logs/error.log" >&2; then
    cnx_fail "error log has alerts (above)"
fi
cnx_log "registry: names, tokens, errors as JSON, restart and reload"
