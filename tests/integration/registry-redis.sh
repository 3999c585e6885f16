#!/bin/bash
# The registry's store in Redis (clawnexus_registry_db redis://...): two
# nginx nodes, each with a relay and a registry, share one redis-server
# that wants a password.  Names registered through node 1 are taken, kept
# and resolved through node 2 (registry_check.py's "first" on node 1,
# "restarted" on node 2); while Redis is down both answer with an error
# instead of waiting, and answer again when it returns; a wrong password
# gives an error, logged without the password.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"
. "$abs_top_srcdir/tests/integration/cluster-lib.sh"

relay_need_module
relay_need_websockets
cluster_need_redis
cnx_need_cmd openssl
cnx_need_cmd curl
"$PY" -c 'from cryptography.hazmat.primitives.asymmetric import ed25519' \
    2>/dev/null || cnx_skip "needs python3-cryptography"
[ -f "$CNX_REGISTRY_MODULE" ] || cnx_fail "module not built: $CNX_REGISTRY_MODULE"

cnx_tmpdir dir
mkdir "$dir/state"
rport=$(cnx_free_port)
pass="rp-$$-$RANDOM$RANDOM"
relay_secret "$dir" registry-redis
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/tls.key" -out "$dir/tls.crt" > "$dir/openssl.out" 2>&1 ||
    { cat "$dir/openssl.out" >&2; cnx_fail "openssl could not make a certificate"; }
"$PY" "$abs_top_srcdir/tests/integration/registry_check.py" keys - - \
    "$dir/state" > "$dir/allowed-keys" || cnx_fail "cannot make keys"

node() {  # node N: an nginx prefix with a relay and a registry on Redis
    local d="$dir/n$1"
    mkdir -p "$d/logs"
    cp "$dir/tls.crt" "$dir/tls.key" "$dir/allowed-keys" "$dir/relay.secret" "$d/"
    printf '%s\n' "$pass" > "$d/redis.pass"
    chmod 600 "$d/redis.pass"
    eval "relay_port$1=\$(cnx_free_port) reg_port$1=\$(cnx_free_port)"
    eval "local rp=\$relay_port$1 gp=\$reg_port$1"
    cat > "$d/nginx.conf" <<CONF
load_module $CNX_REGISTRY_MODULE;
$(cnx_nginx_conf_head 2 256)
stream {
    server {
        listen 127.0.0.1:$rp ssl;
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
    server {
        listen 127.0.0.1:$gp ssl;
        ssl_certificate tls.crt;
        ssl_certificate_key tls.key;
        location /clawnexus/ {
            clawnexus_registry;
            clawnexus_registry_db redis://127.0.0.1:$rport;
            clawnexus_registry_db_password_file redis.pass;
            clawnexus_registry_relay_hint localhost:$rp;
            clawnexus_registry_allow_file allowed-keys;
        }
    }
}
CONF
    cnx_nginx_start "$d"
    cnx_wait_port 127.0.0.1 "$gp" || cnx_fail "node $1 did not listen on $gp"
}

check() {  # check STEP NODE
    local n=$2
    eval "local rp=\$relay_port$n gp=\$reg_port$n"
    "$PY" "$abs_top_srcdir/tests/integration/registry_check.py" "$1" \
        "https://localhost:$gp/clawnexus" "$dir/tls.crt" "$dir/state" \
        "$rp" > "$dir/check.out" 2>&1 ||
        { cat "$dir/check.out" >&2; tail -20 "$dir/n$n/logs/error.log" >&2;
          cnx_fail "registry step '$1' on node $n failed"; }
    grep '^ok' "$dir/check.out"
}

resolve() {  # resolve NODE NAME: the HTTP status of GET /resolve/NAME
    eval "local gp=\$reg_port$1"
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
        --cacert "$dir/tls.crt" "https://localhost:$gp/clawnexus/resolve/$2"
}

# nginx starts while Redis is down; the registry answers 5xx at once
node 1
node 2
start=$(date +%s%N)
code=$(resolve 2 main.claw)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
case "$code" in 5??) ;; *) cnx_fail "resolve without Redis gave $code, want 5xx";; esac
cnx_log "ok - Redis down: /resolve answers $code after $ms ms"

cluster_redis_start "$dir" "$rport" "$pass"
check first 1
check restarted 2
[ "$(resolve 2 main.claw)" = 200 ] || cnx_fail "node 2 does not resolve main.claw"
cnx_log "ok - a name registered through node 1 is taken, kept and resolved on node 2"

cluster_redis_kill
code=$(resolve 1 main.claw)
case "$code" in 5??) ;; *) cnx_fail "resolve with Redis killed gave $code, want 5xx";; esac
cluster_redis_start "$dir" "$rport" "$pass"
# Redis without persistence restarted empty: the name is free again
code=$(resolve 1 main.claw)
[ "$code" = 404 ] || cnx_fail "after Redis came back empty, resolve gave $code, want 404"
cnx_log "ok - Redis killed: an error, not a wait; back: answers again"

# a wrong password: an error at once, Redis's refusal in the log, never
# the password
printf 'wrong-%s' "$RANDOM" > "$dir/n2/redis.pass"
cnx_nginx_reload "$dir/n2"
sleep 1
code=$(resolve 2 main.claw)
case "$code" in 5??) ;; *) cnx_fail "resolve with a wrong password gave $code, want 5xx";; esac
grep -q 'refused AUTH' "$dir/n2/logs/error.log" ||
    cnx_fail "node 2 did not log Redis's refusal of a wrong password"
grep -q "$pass\|wrong-" "$dir"/n*/logs/error.log && cnx_fail "a password was written to the log"
[ "$(resolve 1 main.claw)" = 404 ] || cnx_fail "node 1 stopped answering"
cnx_log "ok - a wrong Redis password: 5xx, Redis's refusal logged without it"

for n in 1 2; do cnx_nginx_stop "$dir/n$n"; done
if grep -E '\[(alert|emerg|crit)\]|Sanitizer|runtime error:' \
        "$dir"/n[12]/logs/error.log >&2; then
    cnx_fail "error log has alerts (above)"
fi
cnx_log "registry in Redis: two nodes share names; Redis down is an error"
