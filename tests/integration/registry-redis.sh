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
. "$abs_top_srcdir/tests/integration/registry-lib.sh"

relay_need_websockets
registry_need ed25519
cluster_need_redis
cnx_need_cmd curl

cnx_tmpdir dir
rport=$(cnx_free_port)
pass="rp-$$-$RANDOM$RANDOM"
relay_secret "$dir" registry-redis
registry_setup "$dir"
registry_keys

node() {  # node N: an nginx prefix with a relay and a registry on Redis
    local d="$dir/n$1"
    mkdir -p "$d/logs"
    cp "$dir/tls.crt" "$dir/tls.key" "$dir/allowed-keys" "$dir/relay.secret" "$d/"
    printf '%s\n' "$pass" > "$d/redis.pass"
    chmod 600 "$d/redis.pass"
    eval "relay_port$1=\$(cnx_free_port) reg_port$1=\$(cnx_free_port)"
    eval "local rp=\$relay_port$1 gp=\$reg_port$1"
    registry_location /clawnexus/ "redis://127.0.0.1:$rport" "$rp" \
        "clawnexus_registry_db_password_file redis.pass;" \
        "clawnexus_registry_allow_file allowed-keys;" |
        registry_conf "$rp" "$gp" registry.test "
    access_log off;
    clawnexus_jwt_secret_file relay.secret;
    clawnexus_jwt_issuer registry.test;" > "$d/nginx.conf"
    cnx_nginx_start "$d"
    cnx_wait_port 127.0.0.1 "$gp" || cnx_fail "node $1 did not listen on $gp"
}

check() {  # check STEP NODE
    local rp gp
    eval "rp=\$relay_port$2 gp=\$reg_port$2"
    registry_check "$1" "$gp" "$rp" "$dir/n$2"
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
