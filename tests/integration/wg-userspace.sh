#!/bin/bash
# clawnexus-wg against real userspace WireGuard: two network namespaces
# joined by veth, wireguard-go in each, names applied with clawnexus-wg and
# checked against `wg show dump`; a TCP connection to the address that
# `resolve` prints goes through the tunnel; wg-quick runs the hook.
. "$abs_top_srcdir/tests/lib.sh"

cnx_need_netns
cnx_need_cmd wireguard-go wg wg-quick python3
[ -x "$CNX_WG" ] || cnx_fail "not built: $CNX_WG"
[ -c /dev/net/tun ] || cnx_skip "needs /dev/net/tun for wireguard-go"

cnx_tmpdir dir
nsa="cnxwga$$" nsb="cnxwgb$$" nsc="cnxwgc$$"
ifa="cwa$$" ifb="cwb$$" ifq="cwq$$"
names_a="$dir/names-a.conf" names_b="$dir/names-b.conf"
hosts="$dir/hosts"

for ns in "$nsa" "$nsb" "$nsc"; do
    ip netns add "$ns" || cnx_fail "cannot create namespace $ns"
    cnx_on_exit "ip netns del $ns"
    ip -n "$ns" link set lo up
done
ip link add "va$$" netns "$nsa" type veth peer name "vb$$" netns "$nsb" ||
    cnx_fail "cannot create the veth pair"
ip -n "$nsa" addr add 192.168.177.1/24 dev "va$$"
ip -n "$nsb" addr add 192.168.177.2/24 dev "vb$$"
ip -n "$nsa" link set "va$$" up
ip -n "$nsb" link set "vb$$" up

# wireguard-go in the foreground, stopped by PID at exit.
start_wggo() {
    local ns=$1 ifname=$2 pid i
    ip netns exec "$ns" wireguard-go -f "$ifname" >"$dir/wggo-$ifname.log" 2>&1 &
    pid=$!
    cnx_on_exit "kill $pid; wait $pid"
    for (( i=0; i<100; i++ )); do
        [ -S "/var/run/wireguard/$ifname.sock" ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    cat "$dir/wggo-$ifname.log" >&2
    cnx_fail "wireguard-go $ifname did not start"
}
start_wggo "$nsa" "$ifa"
start_wggo "$nsb" "$ifb"

priv_a=$(wg genkey) priv_b=$(wg genkey)
pub_a=$(wg pubkey <<<"$priv_a") pub_b=$(wg pubkey <<<"$priv_b")
ip netns exec "$nsa" wg set "$ifa" private-key <(echo "$priv_a") listen-port 51901
ip netns exec "$nsb" wg set "$ifb" private-key <(echo "$priv_b") listen-port 51902
ip -n "$nsa" addr add 10.77.0.1/24 dev "$ifa"
ip -n "$nsb" addr add 10.77.0.2/24 dev "$ifb"
ip -n "$nsa" link set "$ifa" up
ip -n "$nsb" link set "$ifb" up

cwa() { ip netns exec "$nsa" "$CNX_WG" --names "$names_a" "$@"; }
cwb() { ip netns exec "$nsb" "$CNX_WG" --names "$names_b" "$@"; }
dump_a() { ip netns exec "$nsa" wg show "$ifa" dump; }
# the configuration part of a dump, sorted (handshake times and
# counters move, and wg orders peers by their latest handshake)
conf_a() { dump_a | cut -f1-4,8 | sort; }
# peer_line IFACE-DUMP KEY: the dump line of one peer
peer_line() { awk -v k="$2" -F'\t' '$1 == k' <<<"$1"; }

# An unmanaged peer on A that clawnexus-wg must never touch.
stranger=$(wg genkey | wg pubkey)
ip netns exec "$nsa" wg set "$ifa" peer "$stranger" allowed-ips 10.77.0.99/32

# --- add -----------------------------------------------------------------
cwa add "$ifa" office --public-key "$pub_b" --allowed-ips 10.77.0.2/32,fd77::2/128 \
    --endpoint 192.168.177.2:51902 --persistent-keepalive 5 >/dev/null ||
    cnx_fail "add office failed"
cwb add "$ifb" home --public-key "$pub_a" --allowed-ips 10.77.0.1/32 \
    --endpoint 192.168.177.1:51901 >/dev/null || cnx_fail "add home failed"
line=$(peer_line "$(dump_a)" "$pub_b")
[ -n "$line" ] || cnx_fail "office's peer is not on $ifa after add"
IFS=$'\t' read -r k psk ep ips hs rx tx ka <<<"$line"
[ "$ep" = 192.168.177.2:51902 ] || cnx_fail "endpoint is '$ep'"
[ "$ips" = "10.77.0.2/32,fd77::2/128" ] || cnx_fail "allowed IPs are '$ips'"
[ "$ka" = 5 ] || cnx_fail "keepalive is '$ka'"
[ "$(stat -c %a "$names_a")" = 600 ] || cnx_fail "names file mode is not 0600"
grep -q "^office key=$pub_b allowed-ips=10.77.0.2/32,fd77::2/128" "$names_a" ||
    cnx_fail "names file lacks office: $(cat "$names_a")"

# --- resolve and a TCP connection through the tunnel --------------------
addr=$("$CNX_WG" --names "$names_a" resolve office.claw) || cnx_fail "resolve failed"
[ "$addr" = 10.77.0.2 ] || cnx_fail "resolve office printed '$addr'"
"$CNX_WG" --names "$names_a" resolve nobody 2>/dev/null
[ $? -eq 5 ] || cnx_fail "resolve of an unknown name did not exit 5"

ip netns exec "$nsb" python3 - 10.77.0.2 17474 >"$dir/server.out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
print("listening", flush=True)
s.settimeout(20)
c, peer = s.accept()
c.sendall(("hello from office to %s\n" % peer[0]).encode())
c.close()
PY
srv=$!
cnx_on_exit "kill $srv"
for (( i=0; i<100; i++ )); do grep -q listening "$dir/server.out" 2>/dev/null && break; sleep 0.05; done
got=$(ip netns exec "$nsa" python3 - "$addr" 17474 <<'PY'
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
print(c.makefile().readline().strip())
PY
) || cnx_fail "TCP connection to $addr through the tunnel failed"
[ "$got" = "hello from office to 10.77.0.1" ] || cnx_fail "unexpected reply '$got'"
wait "$srv"

# --- show: names, status from the real handshake ------------------------
json=$(cwa show "$ifa" --json) || cnx_fail "show --json failed"
python3 - "$json" "$pub_b" "$stranger" <<'PY' || cnx_fail "show --json is wrong: $json"
import json, sys
d = json.loads(sys.argv[1])
peers = {p["public_key"]: p for p in d["peers"]}
o = peers[sys.argv[2]]
assert o["name"] == "office" and o["status"] == "direct", o
assert o["tx_bytes"] > 0 and o["rx_bytes"] > 0, o
assert o["allowed_ips"] == ["10.77.0.2/32", "fd77::2/128"], o
s = peers[sys.argv[3]]
assert s["name"] is None and s["status"] == "never", s
PY
cwa show "$ifa" | grep -q "^peer: office" || cnx_fail "show lacks 'peer: office'"
cwa show | grep -q "^interface: $ifa" || cnx_fail "show without IFACE lacks $ifa"
exp=$(cwa export "$ifa") || cnx_fail "export failed"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); p=d["peers"][0]; assert d["interface"]==sys.argv[2] and p["name"]=="office" and p["address"]=="10.77.0.2" and p["status"]=="direct", d' \
    "$exp" "$ifa" || cnx_fail "export is wrong: $exp"

# --- bad input: one clear line, nothing applied -------------------------
before=$(conf_a) names_before=$(cat "$names_a")
check_refused() {
    local want=$1; shift
    local err
    err=$(cwa "$@" 2>&1 >/dev/null) && cnx_fail "accepted: $*"
    grep -q -- "$want" <<<"$err" || cnx_fail "'$*' said '$err', expected '$want'"
    [ "$(wc -l <<<"$err")" -eq 1 ] || cnx_fail "'$*' printed more than one line: $err"
}
check_refused "bad public key 'abc'" add "$ifa" lab --public-key abc
check_refused "bad allowed IP '10.77.0.300/32'" add "$ifa" lab --public-key "$stranger" --allowed-ips 10.77.0.3/32,10.77.0.300/32
check_refused "bad name 'Lab'" add "$ifa" Lab --public-key "$stranger"
check_refused "bad endpoint" add "$ifa" lab --public-key "$stranger" --endpoint 192.168.177.2
check_refused "pinned to another key" add "$ifa" office --public-key "$stranger"
check_refused "already named 'office'" add "$ifa" lab --public-key "$pub_b"
check_refused "interface nosuch$$: no WireGuard interface" add "nosuch$$" lab --public-key "$stranger"
check_refused "preshared key file" add "$ifa" lab --public-key "$stranger" --preshared-key-file "$dir/none"
[ "$(conf_a)" = "$before" ] || cnx_fail "a refused command changed $ifa: $(diff <(echo "$before") <(conf_a))"
[ "$(cat "$names_a")" = "$names_before" ] || cnx_fail "a refused command changed the names file"
# --backend uapi with no socket for the name
err=$(cwa --backend uapi show "nosuch$$" 2>&1) && cnx_fail "show of a missing interface succeeded"
grep -q "no such WireGuard interface" <<<"$err" || cnx_fail "show said '$err'"

# --- remove, then sync brings it back; the stranger stays ---------------
cwa remove "$ifa" office >/dev/null || cnx_fail "remove failed"
[ -z "$(peer_line "$(dump_a)" "$pub_b")" ] || cnx_fail "office still on $ifa after remove"
grep -q "^office " "$names_a" && cnx_fail "office still in the names file"
cwa remove "$ifa" office 2>/dev/null; [ $? -eq 5 ] || cnx_fail "remove of an unknown name did not exit 5"
[ -n "$(peer_line "$(dump_a)" "$stranger")" ] || cnx_fail "remove touched the unmanaged peer"

cwa add "$ifa" office --public-key "$pub_b" --allowed-ips 10.77.0.2/32 \
    --endpoint 192.168.177.2:51902 >/dev/null || cnx_fail "re-add failed"
ip netns exec "$nsa" wg set "$ifa" peer "$pub_b" remove
out=$(cwa sync "$ifa") || cnx_fail "sync failed"
[ "$out" = "$ifa: 1 added, 0 updated, 0 unchanged" ] || cnx_fail "sync said '$out'"
line=$(peer_line "$(dump_a)" "$pub_b")
[ "$(cut -f4 <<<"$line")" = 10.77.0.2/32 ] || cnx_fail "sync did not restore office: '$line'"
ip netns exec "$nsa" wg set "$ifa" peer "$pub_b" allowed-ips 10.77.0.2/32,10.77.0.50/32 endpoint 192.168.177.2:9
out=$(cwa sync "$ifa") || cnx_fail "second sync failed"
[ "$out" = "$ifa: 0 added, 1 updated, 0 unchanged" ] || cnx_fail "sync said '$out'"
line=$(peer_line "$(dump_a)" "$pub_b")
[ "$(cut -f3,4 <<<"$line")" = $'192.168.177.2:51902\t10.77.0.2/32' ] ||
    cnx_fail "sync did not update office: '$line'"
out=$(cwa sync "$ifa") || cnx_fail "third sync failed"
[ "$out" = "$ifa: 0 added, 0 updated, 1 unchanged" ] || cnx_fail "sync said '$out'"
[ -n "$(peer_line "$(dump_a)" "$stranger")" ] || cnx_fail "sync removed the unmanaged peer"
[ "$(dump_a | wc -l)" -eq 3 ] || cnx_fail "unexpected peers after sync: $(dump_a)"

# --- hosts block ----------------------------------------------------------
printf '127.0.0.1 localhost\n' >"$hosts"
cwa hosts "$ifa" --file "$hosts" || cnx_fail "hosts failed"
grep -qx "10.77.0.2 office.claw office" "$hosts" || cnx_fail "hosts block missing: $(cat "$hosts")"
head -1 "$hosts" | grep -qx "127.0.0.1 localhost" || cnx_fail "hosts lost its first line"

# --- hook down / up by hand: the named peer goes and comes back -----------
cwa hook down "$ifa" --file "$hosts" || cnx_fail "hook down failed"
[ -z "$(peer_line "$(dump_a)" "$pub_b")" ] || cnx_fail "hook down left office on $ifa"
[ -n "$(peer_line "$(dump_a)" "$stranger")" ] || cnx_fail "hook down removed the unmanaged peer"
grep -q clawnexus-wg "$hosts" && cnx_fail "hook down left the hosts block"
cwa hook up "$ifa" --file "$hosts" >/dev/null || cnx_fail "hook up failed"
[ -n "$(peer_line "$(dump_a)" "$pub_b")" ] || cnx_fail "hook up did not bring office back"
grep -qx "10.77.0.2 office.claw office" "$hosts" || cnx_fail "hook up wrote no hosts block"

# a hosts file that cannot be written does not fail hook up
cwa hook up "$ifa" --file "$dir/no/such/dir/hosts" >/dev/null 2>"$dir/err" ||
    cnx_fail "hook up failed on an unwritable hosts file"
grep -q "warning: hook up $ifa: the hosts block" "$dir/err" || cnx_fail "no warning: $(cat "$dir/err")"

# --- --replace: a pinned name moves to another key ---------------------------
newkey=$(wg genkey | wg pubkey)
cwa add "$ifa" office --public-key "$newkey" --allowed-ips 10.77.0.2/32 --replace >/dev/null ||
    cnx_fail "add --replace failed"
[ -z "$(peer_line "$(dump_a)" "$pub_b")" ] || cnx_fail "--replace left the old key's peer"
[ -n "$(peer_line "$(dump_a)" "$newkey")" ] || cnx_fail "--replace did not add the new key"
grep -q "^office key=$newkey " "$names_a" || cnx_fail "--replace did not record the new key"

# --- wg-quick with the hook (userspace fallback) ---------------------------
priv_q=$(wg genkey)
names_q="$dir/names-q.conf"
peer_q=$(wg genkey | wg pubkey)
printf '[%s]\nlab key=%s allowed-ips=10.78.0.2/32 endpoint=192.168.178.2:51999\n' \
    "$ifq" "$peer_q" >"$names_q"
printf '127.0.0.1 localhost\n' >"$dir/hosts-q"
cat >"$dir/$ifq.conf" <<CONF
[Interface]
PrivateKey = $priv_q
Address = 10.78.0.1/24
ListenPort = 51903
PostUp = $CNX_WG --names $names_q hook up %i --file $dir/hosts-q
PreDown = $CNX_WG --names $names_q hook down %i --file $dir/hosts-q
CONF
chmod 600 "$dir/$ifq.conf"
cnx_on_exit "ip netns exec $nsc wg-quick down $dir/$ifq.conf"
WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go \
    ip netns exec "$nsc" wg-quick up "$dir/$ifq.conf" >"$dir/wgquick.log" 2>&1 ||
    { cat "$dir/wgquick.log" >&2; cnx_fail "wg-quick up failed"; }
grep -q "hook up $ifq" "$dir/wgquick.log" || cnx_fail "wg-quick did not run the PostUp hook"
line=$(ip netns exec "$nsc" wg show "$ifq" dump | awk -v k="$peer_q" -F'\t' '$1 == k')
[ "$(cut -f3,4 <<<"$line")" = $'192.168.178.2:51999\t10.78.0.2/32' ] ||
    cnx_fail "hook up did not apply 'lab': '$line'"
grep -qx "10.78.0.2 lab.claw lab" "$dir/hosts-q" || cnx_fail "hook up wrote no hosts block"
ip netns exec "$nsc" wg-quick down "$dir/$ifq.conf" >>"$dir/wgquick.log" 2>&1 ||
    { cat "$dir/wgquick.log" >&2; cnx_fail "wg-quick down failed"; }
grep -q "clawnexus-wg" "$dir/hosts-q" && cnx_fail "hook down left the hosts block"
[ "$(cat "$dir/hosts-q")" = "127.0.0.1 localhost" ] || cnx_fail "hook down damaged the hosts file"
# a failing down still exits 0 (broken hosts file: only one marker)
printf '# BEGIN clawnexus-wg %s\n' "$ifq" >"$dir/hosts-bad"
"$CNX_WG" --names "$names_q" hook down "$ifq" --file "$dir/hosts-bad" 2>/dev/null ||
    cnx_fail "hook down exited non-zero"

cnx_log "add/remove/sync/show/resolve/hosts/hook checked against wireguard-go and wg show dump"
