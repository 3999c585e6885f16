#!/bin/bash
# Names across relay nodes (docs/cluster.md): two nginx nodes of 2
# workers and one redis-server.  The newest REGISTER of a name wins across
# nodes: the previous owner on the other node gets ERROR REPLACED (as on
# one node); a closed socket's name leaves Redis; after
# Redis restarts empty, the names of open sockets are announced again.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"
. "$abs_top_srcdir/tests/integration/cluster-lib.sh"

cluster_setup names
pass="np-$$-$RANDOM$RANDOM"
p1=$(cnx_free_port); p2=$(cnx_free_port)
script="$abs_top_srcdir/tests/integration/cluster_names.py"

cluster_redis_start "$dir" "$rport" "$pass"
for n in 1 2; do
    eval "p=\$p$n"
    printf '%s' "$pass" > "$dir/redis.pass"
    chmod 600 "$dir/redis.pass"
    mkdir -p "$dir/n$n"
    cp "$dir/redis.pass" "$dir/n$n/"
    cluster_node_conf "$dir/n$n" "$p" "redis://127.0.0.1:$rport" \
        "clawnexus_cluster_password_file redis.pass;"
    cnx_nginx_start "$dir/n$n"
    cnx_wait_port 127.0.0.1 "$p" || cnx_fail "node $n did not listen"
done
linked() { [ "$(cluster_channels "$rport" "$pass")" = 4 ]; }
cluster_wait 15 linked || cnx_fail "the nodes did not link"

"$PY" "$script" "$p1" "$p2" "$secret" "$rport" "$pass" replace ||
    { tail -n 20 "$dir"/n*/logs/error.log >&2; cnx_fail "REGISTER across nodes"; }

# a socket stays registered on node 1 while Redis restarts empty
coproc ANN { "$PY" "$script" "$p1" "$p2" "$secret" "$rport" "$pass" announce; }
cnx_on_exit "kill $ANN_PID"
read -r -t 10 word name <&"${ANN[0]}" || cnx_fail "the announcing socket did not register"
[ "$word" = registered ] || cnx_fail "unexpected: $word $name"
key="cnx:name:{$name}"
[ -n "$(cluster_cli "$rport" "$pass" GET "$key")" ] || cnx_fail "$name is not in Redis"
cluster_redis_kill
cluster_redis_start "$dir" "$rport" "$pass"
[ -z "$(cluster_cli "$rport" "$pass" GET "$key")" ] || cnx_fail "Redis did not restart empty"
has_name() { [ -n "$(cluster_cli "$rport" "$pass" GET "$key")" ]; }
cluster_wait 15 has_name || cnx_fail "$name was not announced again after Redis restarted"
cnx_log "ok - after Redis restarted empty, node 1 announced $name again"
exec {ANN[1]}>&-
wait "$ANN_PID" 2>/dev/null

for n in 1 2; do cnx_nginx_stop "$dir/n$n"; done
if grep -E '\[(alert|emerg|crit)\]|Sanitizer|runtime error:' "$dir"/n*/logs/error.log >&2; then
    cnx_fail "error log has alerts (above)"
fi
cnx_log "names across nodes: newest REGISTER wins, released, announced again"
