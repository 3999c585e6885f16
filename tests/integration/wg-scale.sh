#!/bin/bash
# clawnexus-wg with 1,000 named peers on wireguard-go: sync applies all of
# them exactly, a second sync changes nothing, show names them all, and
# each command stays under 100 ms of CPU (checked in builds without
# sanitizers; the figures are printed either way).
. "$abs_top_srcdir/tests/lib.sh"

cnx_need_netns
cnx_need_cmd wireguard-go wg python3
[ -x "$CNX_WG" ] || cnx_fail "not built: $CNX_WG"
[ -c /dev/net/tun ] || cnx_skip "needs /dev/net/tun for wireguard-go"

cnx_tmpdir dir
ns="cnxwgs$$" ifname="cws$$"
ip netns add "$ns" || cnx_fail "cannot create namespace $ns"
cnx_on_exit "ip netns del $ns"
ip netns exec "$ns" wireguard-go -f "$ifname" >"$dir/wggo.log" 2>&1 &
pid=$!
cnx_on_exit "kill $pid; wait $pid"
for (( i=0; i<100; i++ )); do
    [ -S "/var/run/wireguard/$ifname.sock" ] && break
    sleep 0.05
done
[ -S "/var/run/wireguard/$ifname.sock" ] || cnx_fail "wireguard-go did not start"
ip netns exec "$ns" wg set "$ifname" private-key <(wg genkey)

names="$dir/names.conf"
python3 - "$names" "$ifname" >"$dir/expected" <<'PY'
import base64, ipaddress, os, sys
with open(sys.argv[1], "w") as f:
    f.write("[%s]\n" % sys.argv[2])
    for i in range(1000):
        k = base64.b64encode(os.urandom(32)).decode()
        v6 = ipaddress.ip_address("fd00::") + i
        ips = "10.%d.%d.%d/32,%s/128" % (100 + i // 65536, (i // 256) % 256, i % 256, v6)
        f.write("n%d key=%s allowed-ips=%s endpoint=192.0.2.%d:%d keepalive=25\n"
                % (i, k, ips, i % 250 + 1, 10000 + i))
        print("%s\t%s" % (k, ips))
PY

export TIMEFORMAT='%3U %3S'
cputime() {   # cputime VAR CMD...: run CMD, store user+sys milliseconds
    local var=$1 t; shift
    { t=$( { time "$@" >"$dir/out" 2>"$dir/err"; } 2>&1 ); } || cnx_fail "'$*' failed: $(cat "$dir/err")"
    printf -v "$var" '%s' "$(awk '{ printf "%d", ($1 + $2) * 1000 }' <<<"$t")"
}

cputime t_sync1 "$CNX_WG" --names "$names" sync "$ifname"
[ "$(cat "$dir/out")" = "$ifname: 1000 added, 0 updated, 0 unchanged" ] || cnx_fail "sync said $(cat "$dir/out")"
ip netns exec "$ns" wg show "$ifname" dump | tail -n +2 | cut -f1,4 | sort >"$dir/got"
sort "$dir/expected" | cmp -s - "$dir/got" || cnx_fail "the interface does not carry exactly the 1000 named peers"
cputime t_sync2 "$CNX_WG" --names "$names" sync "$ifname"
[ "$(cat "$dir/out")" = "$ifname: 0 added, 0 updated, 1000 unchanged" ] || cnx_fail "second sync said $(cat "$dir/out")"
cputime t_show "$CNX_WG" --names "$names" show "$ifname" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["peers"])==1000 and all(p["name"] for p in d["peers"])' \
    "$dir/out" || cnx_fail "show --json does not name 1000 peers"
cputime t_export "$CNX_WG" --names "$names" export "$ifname"

cnx_log "1000 peers, CPU ms: sync (adds all) $t_sync1, sync (no change) $t_sync2, show --json $t_show, export $t_export"
if [ "$CNX_SANITIZERS" != yes ]; then
    for v in t_sync1 t_sync2 t_show t_export; do
        [ "${!v}" -lt 100 ] || cnx_fail "$v took ${!v} ms of CPU (limit 100)"
    done
fi
