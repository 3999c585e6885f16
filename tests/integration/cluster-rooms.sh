#!/bin/bash
# Rooms across relay nodes (docs/cluster.md): one redis-server and three
# nginx nodes of 2 workers on loopback.  Pairs across nodes exchange text
# and binary DATA in order (raw WebSocket clients, the npm clawnexus@0.4.0
# RelayConnector, clawnexus-link chat); a slow receiver on one node holds
# back only its sender on another; Redis killed: rooms across nodes end
# with PEER_LEFT after an unbroken prefix of their DATA, rooms inside a
# node go on, a JOIN across nodes fails at once, and all works again when
# Redis is back; a node killed with kill -9: its peers get PEER_LEFT and
# its names are free within seconds.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"
. "$abs_top_srcdir/tests/integration/cluster-lib.sh"

cluster_setup rooms
cnx_need_node_client
pass="rp-$$-$RANDOM$RANDOM"
script="$abs_top_srcdir/tests/integration/cluster_rooms.py"
ports=()
printf '%s' "$pass" > "$dir/redis.pass"
chmod 600 "$dir/redis.pass"

cluster_redis_start "$dir" "$rport" "$pass"
for n in 1 2 3; do
    ports[n]=$(cnx_free_port)
    mkdir -p "$dir/n$n"
    cp "$dir/redis.pass" "$dir/n$n/"
    cluster_node_conf "$dir/n$n" "${ports[n]}" "redis://127.0.0.1:$rport" \
        "clawnexus_cluster_password_file redis.pass;"
    cnx_nginx_start "$dir/n$n"
    cnx_wait_port 127.0.0.1 "${ports[n]}" || cnx_fail "node $n did not listen"
done
# linked N: N workers subscribed and their route keys set (the link is
# ready only then: a REGISTER before that reaches Redis when it is)
linked() {
    cluster_expect_channels "$rport" "$pass" "$1" &&
    [ "$(cluster_cli "$rport" "$pass" --scan --pattern 'cnx:route:*' |
         grep -c .)" = "$1" ]
}
cluster_wait 15 linked 6 || cnx_fail "the nodes did not link"

logs() { tail -n 15 "$dir"/n*/logs/error.log >&2; }
step() {
    "$PY" "$script" "$1" "$secret" "${ports[1]}" "${ports[2]}" "${ports[3]}" \
        "${@:2}" || { logs; cnx_fail "step $1"; }
}
url() { echo "ws://127.0.0.1:${ports[$1]}/relay"; }

step pairs
step slow

# the real npm RelayConnector: A on node 1, B on node 2, A's newer socket
# on node 3
node "$CNX_NODE_DIR/relay-interop.js" "$(url 1)" "$secret" "" "$(url 2)" \
    "$(url 3)" > "$dir/node.out" 2>&1 ||
    { cat "$dir/node.out" >&2; logs; cnx_fail "npm RelayConnector across nodes"; }
cnx_log "ok - npm clawnexus@0.4.0 RelayConnector across nodes: $(grep -c '^ok' "$dir/node.out") checks"

# clawnexus-link chat on node 2 JOINs the daemon connector on node 3
printf '%s' "$secret" > "$dir/relay.secret"
chmod 600 "$dir/relay.secret"
node "$CNX_NODE_DIR/link-chat.js" "$(url 3)" "$secret" "" "daemon-$$.claw" \
    --send "from node 3" --expect 2 --until-left > "$dir/d.out" \
    2> "$dir/d.err" &
dpid=$!
cnx_on_exit "kill $dpid 2>/dev/null"
cluster_wait 10 grep -qs "registered daemon-$$.claw" "$dir/d.err" ||
    { cat "$dir/d.err" >&2; cnx_fail "the daemon connector did not register"; }
{
    printf 'one from node 2\ntwo from node 2\n'
    cluster_wait 15 grep -qs "from node 3" "$dir/c.out"
} | HOME="$dir" "$CNX_LINK" chat --relay "$(url 2)" --id "link-$$.claw" \
        --secret-file "$dir/relay.secret" --to "daemon-$$.claw" \
        --session v1 > "$dir/c.out" 2> "$dir/c.err" ||
    { cat "$dir/c.err" >&2; logs; cnx_fail "clawnexus-link chat across nodes"; }
wait "$dpid" || { cat "$dir/d.err" >&2; cnx_fail "the daemon connector did not get both lines"; }
diff <(printf 'got: one from node 2\ngot: two from node 2\n') "$dir/d.out" ||
    cnx_fail "the daemon connector on node 3 got the wrong lines"
grep -qx "from node 3" "$dir/c.out" || cnx_fail "clawnexus-link did not print the daemon's line"
cnx_log "ok - clawnexus-link chat on node 2 <-> RelayConnector on node 3, encrypted, both ways"

# Redis killed under rooms; then back, and rooms cross nodes again
step stream -- kill -9 "$redis_pid"
wait "$redis_pid" 2>/dev/null
cluster_redis_start "$dir" "$rport" "$pass"
cluster_wait 20 linked 6 || cnx_fail "the nodes did not link again"
step pairs

# node 3 dies without a word; a name of it that nobody looks up is swept
export CNX_SWEPT="swept-$$.claw"
step nodekill -- kill -9 "$(cnx_nginx_pid "$dir/n3")" $(cluster_worker_pids "$dir/n3")
swept() { [ -z "$(cluster_cli "$rport" "$pass" GET "cnx:name:{$CNX_SWEPT}")" ]; }
cluster_wait 15 swept || cnx_fail "the dead node's name $CNX_SWEPT stayed in Redis"
cnx_log "ok - the dead node's name nobody looked up was swept from Redis"

for n in 1 2; do cnx_nginx_stop "$dir/n$n"; done
if grep -E '\[(alert|emerg|crit)\]|Sanitizer|runtime error:' "$dir"/n*/logs/error.log >&2; then
    cnx_fail "error log has alerts (above)"
fi
cnx_log "rooms across nodes: pairs, backpressure, Redis and node failures"
