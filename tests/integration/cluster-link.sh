#!/bin/bash
# The relay cluster's link to Redis (docs/cluster.md): three nginx nodes
# of 2 workers and one redis-server on loopback ports.  A node started
# while Redis is down starts and relays inside itself, then links; every
# worker subscribes its channel and keeps its route key alive; a node
# killed with -9 has its route keys gone within 3 s; Redis killed or hung:
# nodes keep relaying inside themselves and link again when it is back; twenty
# Redis restarts leak no descriptor; a wrong password, or a user who may
# not send CLIENT REPLY OFF, is refused, logged (without the password), and
# the node stays local.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"
. "$abs_top_srcdir/tests/integration/cluster-lib.sh"

cluster_setup cluster
url="redis://127.0.0.1:$rport"
p1=$(cnx_free_port); p2=$(cnx_free_port); p3=$(cnx_free_port)
pair="$abs_top_srcdir/tests/integration/cluster_pair.py"

route_keys() { cluster_cli "$rport" "${1:-}" --scan --pattern 'cnx:route:*' | grep -c . || true; }
linked() { [ "$(cluster_channels "$rport" "${2:-}")" = "$1" ] && [ "$(route_keys "${2:-}")" = "$1" ]; }
fds() { local w n=0; for w in $(cluster_worker_pids "$1"); do n=$((n + $(ls "/proc/$w/fd" | wc -l))); done; echo "$n"; }

# A node started while Redis is down starts and relays inside itself.
cluster_node_conf "$dir/n1" "$p1" "$url"
cnx_nginx_start "$dir/n1"
cnx_wait_port 127.0.0.1 "$p1" || cnx_fail "node 1 did not listen"
"$PY" "$pair" 127.0.0.1 "$p1" "$secret" 20 || cnx_fail "node 1 does not relay while Redis is down"
grep -q 'cannot link to Redis at redis://127.0.0.1' "$dir/n1/logs/error.log" ||
    cnx_fail "node 1 did not log that Redis is down"
cnx_log "ok - a node started while Redis is down relays inside itself"

# Redis comes; three nodes of two workers: six channels and route keys.
cluster_redis_start "$dir" "$rport"
for n in 2 3; do
    eval "p=\$p$n"
    cluster_node_conf "$dir/n$n" "$p" "$url"
    cnx_nginx_start "$dir/n$n"
done
cluster_wait 15 linked 6 || cnx_fail "expected 6 linked workers, got $(cluster_channels "$rport" '') channels and $(route_keys) route keys"
cnx_log "ok - 3 nodes x 2 workers linked: 6 channels, 6 route keys"
ready() { [ "$(cluster_metric "$1" 'clawnexus_cluster_links{state="ready"}')" = "$2" ]; }
cluster_wait 5 ready "$dir/n2" 2 || cnx_fail "/metrics of node 2 does not show 2 ready links"
rtt_ok() {
    rtt=$(cluster_metric "$dir/n2" 'clawnexus_cluster_redis_rtt_seconds{worker="1"}')
    awk -v r="$rtt" 'BEGIN { exit !(r > 0 && r < 1) }'
}
cluster_wait 3 rtt_ok || cnx_fail "/metrics of node 2 has no Redis round trip (got '$rtt')"
cnx_log "ok - /metrics: 2 ready links, Redis round trip $rtt s"
"$PY" "$pair" 127.0.0.1 "$p2" "$secret" 50 || cnx_fail "node 2 does not relay"

# kill -9 of node 3: its route keys expire within 3 s.
n3pids="$(cnx_nginx_pid "$dir/n3") $(cluster_worker_pids "$dir/n3")"
kill -9 $n3pids
start=$(date +%s%N)
cluster_wait 5 linked 4 || cnx_fail "node 3's routes did not go"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -le 3300 ] || cnx_fail "node 3's route keys took $ms ms to expire (limit 3 s)"
cnx_log "ok - kill -9 of a node: its routes gone after $ms ms"

# Redis killed: nodes relay inside themselves; back: they link again.
fd1=$(fds "$dir/n1"); fd2=$(fds "$dir/n2")
cluster_redis_kill
"$PY" "$pair" 127.0.0.1 "$p1" "$secret" 20 || cnx_fail "node 1 stopped relaying when Redis died"
cluster_wait 3 grep -q 'lost the link to Redis' "$dir/n2/logs/error.log" ||
    cnx_fail "node 2 did not notice that Redis died"
cluster_wait 3 ready "$dir/n2" 0 || cnx_fail "/metrics of node 2 still shows ready links"
[ "$(cluster_metric "$dir/n2" clawnexus_cluster_link_failures_total)" -ge 2 ] ||
    cnx_fail "/metrics of node 2 counts no link failure"
cluster_redis_start "$dir" "$rport"
cluster_wait 15 linked 4 || cnx_fail "nodes did not link again after Redis restarted"
cnx_log "ok - Redis killed: nodes relay inside themselves and link again when it returns"

# Redis hangs (SIGSTOP): replies stop, the reply timeout takes the links
# down within seconds while the nodes keep relaying inside themselves;
# SIGCONT: they link again.
before=$(cluster_metric "$dir/n1" clawnexus_cluster_link_failures_total)
kill -STOP "$redis_pid"
"$PY" "$pair" 127.0.0.1 "$p1" "$secret" 20 || { kill -CONT "$redis_pid"; cnx_fail "node 1 stopped relaying while Redis hung"; }
cluster_wait 6 ready "$dir/n1" 0 || { kill -CONT "$redis_pid"; cnx_fail "node 1's links stayed ready while Redis hung"; }
grep -q 'no reply in time\|did not come back in time' "$dir/n1/logs/error.log" ||
    { kill -CONT "$redis_pid"; cnx_fail "node 1 did not log a reply timeout"; }
kill -CONT "$redis_pid"
cluster_wait 15 linked 4 || cnx_fail "nodes did not link again after Redis resumed"
[ "$(cluster_metric "$dir/n1" clawnexus_cluster_link_failures_total)" -gt "$before" ] ||
    cnx_fail "node 1 counted no failure for the hang"
cnx_log "ok - Redis hung: reply timeout, links down, nodes relay inside; resumed: linked"

# Twenty restarts of Redis: no descriptor leaks.
for (( i = 0; i < 20; i++ )); do
    cluster_redis_kill
    sleep 0.$((RANDOM % 3))
    cluster_redis_start "$dir" "$rport"
    sleep 0.$((RANDOM % 5))
done
cluster_wait 20 linked 4 || cnx_fail "nodes did not link after 20 Redis restarts"
[ "$(fds "$dir/n1")" = "$fd1" ] && [ "$(fds "$dir/n2")" = "$fd2" ] ||
    cnx_fail "descriptors leaked: node 1 $fd1 -> $(fds "$dir/n1"), node 2 $fd2 -> $(fds "$dir/n2")"
"$PY" "$pair" 127.0.0.1 "$p2" "$secret" 20 || cnx_fail "node 2 does not relay after the restarts"
cnx_log "ok - 20 Redis restarts: linked again, descriptors $fd1 and $fd2 as before"

# Passwords: Redis now wants one; node 1 has it, node 2 a wrong one.
pass="pw-$$-$RANDOM$RANDOM"
cluster_redis_kill
cluster_redis_start "$dir" "$rport" "$pass"
printf '%s\n' "$pass" > "$dir/n1/redis.pass"
printf 'wrong-%s' "$RANDOM" > "$dir/n2/redis.pass"
chmod 600 "$dir/n1/redis.pass" "$dir/n2/redis.pass"
for n in 1 2; do
    eval "p=\$p$n"
    cluster_node_conf "$dir/n$n" "$p" "$url" "clawnexus_cluster_password_file redis.pass;"
    cnx_nginx_reload "$dir/n$n"
done
cluster_wait 15 linked 2 "$pass" || cnx_fail "expected node 1's 2 workers linked with the password, got $(cluster_channels "$rport" "$pass")"
cluster_wait 10 grep -q 'AUTH refused' "$dir/n2/logs/error.log" ||
    cnx_fail "node 2 did not log the refused password"
grep -q "$pass\|wrong-" "$dir"/n*/logs/error.log && cnx_fail "a password was written to the log"
# (a worker of the generation before the reload may still be closing and
# send 1001 to a pair that reached it: try again then)
for try in 1 2 3; do
    "$PY" "$pair" 127.0.0.1 "$p2" "$secret" 20 && break
    [ "$try" = 3 ] && cnx_fail "node 2 does not relay with a wrong password"
    sleep 1
done
sleep 3
[ "$(cluster_channels "$rport" "$pass")" = 2 ] || cnx_fail "node 2 linked with a wrong password"
cnx_log "ok - a wrong password: refused, logged without it, node stays local"

# An ACL user that may not turn replies off: PUBLISH would go unchecked,
# so the link is refused (logged), and the node stays local.
acl=$(cluster_cli "$rport" "$pass" ACL SETUSER noreply on ">$pass" '~cnx:*' '&cnx:*' +@all -client)
[ "$acl" = OK ] || cnx_fail "ACL SETUSER: $acl"
cluster_node_conf "$dir/n2" "$p2" "redis://noreply@127.0.0.1:$rport" "clawnexus_cluster_password_file redis.pass;"
cp "$dir/n1/redis.pass" "$dir/n2/redis.pass"
cnx_nginx_reload "$dir/n2"
cluster_wait 10 grep -q 'CLIENT REPLY OFF: NOPERM' "$dir/n2/logs/error.log" ||
    cnx_fail "node 2 did not log that CLIENT REPLY was refused"
sleep 1
[ "$(cluster_channels "$rport" "$pass")" = 2 ] || cnx_fail "node 2 linked though it may not turn replies off"
cnx_log "ok - a user that may not turn replies off: refused, logged, node stays local"

for n in 1 2; do cnx_nginx_stop "$dir/n$n"; done
if grep -E '\[(alert|emerg|crit)\]|Sanitizer|runtime error:' "$dir"/n[12]/logs/error.log >&2; then
    cnx_fail "error log has alerts (above)"
fi
cnx_log "cluster link: start without Redis, node death, Redis restarts, passwords"
