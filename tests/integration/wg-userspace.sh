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

tcp_hello() {   # tcp_hello ADDR PORT: a line from a server in B, via A
    # a file of its own for each server, made before it starts: the
    # background child truncates its output file only when it runs, so a
    # reused file could still show the previous server's "listening"
    local out="$dir/server-$1-$2.out"
    : > "$out"
    ip netns exec "$nsb" python3 - "$1" "$2" >>"$out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
print("listening", flush=True)
s.settimeout(20)
c, peer = s.accept()
c.sendall(("hello to %s\n" % peer[0]).encode())
c.close()
PY
    local srv=$! i got   # (a subshell: stopped here, not at exit)
    for (( i=0; i<400; i++ )); do grep -q listening "$out" 2>/dev/null && break; sleep 0.05; done
    grep -q listening "$out" 2>/dev/null ||
        { kill "$srv"; wait "$srv"; cnx_fail "the server in $nsb did not listen on $1 port $2: $(cat "$out")"; }
    got=$(ip netns exec "$nsa" python3 - "$1" "$2" 2>&1 <<'PY'
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
print(c.makefile().readline().strip())
PY
) || { kill "$srv"; wait "$srv"; cnx_fail "TCP to $1 via $ifa failed: $got (server: $(cat "$out"))"; }
    wait "$srv"
    echo "$got"
}
got=$(tcp_hello "$addr" 17474) || exit 1
[ "$got" = "hello to 10.77.0.1" ] || cnx_fail "unexpected reply '$got'"

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

# --- routes: a peer whose allowed IPs are outside the interface's subnet ---
# (wg-quick adds routes only for the peers of its configuration at "up")
ip -n "$nsb" addr add 172.30.77.2/32 dev "$ifb"
cwa add "$ifa" office --public-key "$pub_b" \
    --allowed-ips 10.77.0.2/32,fd77::2/128,172.30.77.0/24 >/dev/null || cnx_fail "add with 172.30.77.0/24 failed"
ip -n "$nsa" route show 172.30.77.0/24 | grep -q "dev $ifa" ||
    cnx_fail "no route 172.30.77.0/24 dev $ifa: $(ip -n "$nsa" route)"
ip -n "$nsa" -6 route show fd77::2/128 | grep -q "dev $ifa" ||
    cnx_fail "no route fd77::2/128 dev $ifa: $(ip -n "$nsa" -6 route)"
ip -n "$nsa" route show 10.77.0.99/32 | grep -q . && cnx_fail "a route for the unmanaged peer"
got=$(tcp_hello 172.30.77.2 17475) || exit 1
[ "$got" = "hello to 10.77.0.1" ] || cnx_fail "unexpected reply '$got'"
# the route goes with the prefix ...
cwa add "$ifa" office --public-key "$pub_b" --allowed-ips 10.77.0.2/32,fd77::2/128 >/dev/null ||
    cnx_fail "add without 172.30.77.0/24 failed"
ip -n "$nsa" route show 172.30.77.0/24 | grep -q . && cnx_fail "the route of a dropped prefix stayed"
# ... --no-routes, the interface's Table = (a number, off), --table
cwa --no-routes add "$ifa" office --public-key "$pub_b" \
    --allowed-ips 10.77.0.2/32,fd77::2/128,172.30.77.0/24 >/dev/null || cnx_fail "add --no-routes failed"
ip -n "$nsa" route show 172.30.77.0/24 | grep -q . && cnx_fail "--no-routes added a route"
printf '[Interface]\nAddress = 10.77.0.1/24\nTable = 4242 # comment\n[Peer]\nTable = 1\n' >"$dir/a.conf"
cwa --wg-quick-config "$dir/a.conf" sync "$ifa" >/dev/null || cnx_fail "sync with Table = 4242 failed"
ip -n "$nsa" route show table 4242 | grep -q "^172.30.77.0/24 dev $ifa" ||
    cnx_fail "no route in table 4242: $(ip -n "$nsa" route show table 4242)"
ip -n "$nsa" route show 172.30.77.0/24 | grep -q . && cnx_fail "Table = 4242 also routed in main"
printf '[Interface]\nTable = off\n' >"$dir/off.conf"
cwa --wg-quick-config "$dir/off.conf" add "$ifa" office --public-key "$pub_b" \
    --allowed-ips 10.77.0.2/32,fd77::2/128 >/dev/null || cnx_fail "add with Table = off failed"
ip -n "$nsa" route show table 4242 | grep -q 172.30.77.0 || cnx_fail "Table = off removed a route"
cwa --table 4242 add "$ifa" office --public-key "$pub_b" \
    --allowed-ips 10.77.0.2/32,fd77::2/128,172.30.77.0/24 >/dev/null || cnx_fail "add --table 4242 failed"
cwa --table 4242 add "$ifa" office --public-key "$pub_b" \
    --allowed-ips 10.77.0.2/32,fd77::2/128 >/dev/null || cnx_fail "add --table 4242 failed"
ip -n "$nsa" route show table 4242 | grep -q 172.30.77.0 && cnx_fail "a dropped prefix kept its route in table 4242"
"$CNX_WG" --table nosuchtable show 2>/dev/null; [ $? -eq 2 ] || cnx_fail "--table nosuchtable was accepted"

# --- an interface managed elsewhere: names only ----------------------------
ifm="cwm$$"
start_wggo "$nsa" "$ifm"
ip -n "$nsa" link set "$ifm" up
phone=$(wg genkey | wg pubkey) laptop=$(wg genkey | wg pubkey)
# the test stands in for the control plane
ip netns exec "$nsa" wg set "$ifm" private-key <(wg genkey) \
    peer "$phone" allowed-ips 10.79.0.5/32,10.79.9.0/24 peer "$laptop" allowed-ips 10.79.0.6/32
dump_m() { ip netns exec "$nsa" wg show "$ifm" dump | cut -f1-4,8 | sort; }
before_m=$(dump_m)
cwa name "$ifm" phone --public-key "$phone" >/dev/null || cnx_fail "name failed"
grep -qx "\[$ifm managed-elsewhere\]" "$names_a" || cnx_fail "no mark: $(cat "$names_a")"
grep -qx "phone key=$phone" "$names_a" || cnx_fail "phone not recorded: $(cat "$names_a")"
[ "$(cwa resolve phone)" = 10.79.0.5 ] || cnx_fail "resolve phone printed '$(cwa resolve phone 2>&1)'"
cwa show "$ifm" | grep -q "^peer: phone" || cnx_fail "show lacks phone"
expect_refused() {
    local want=$1 rc; shift
    cwa "$@" >/dev/null 2>"$dir/err"; rc=$?
    [ "$rc" = "$want" ] || cnx_fail "'$*' on a managed interface exited $rc, expected $want"
    grep -q "interface $ifm is managed elsewhere" "$dir/err" || cnx_fail "'$*' said: $(cat "$dir/err")"
}
expect_refused 1 add "$ifm" laptop --public-key "$laptop" --allowed-ips 10.79.0.7/32
expect_refused 1 remove "$ifm" phone
expect_refused 1 sync "$ifm"
expect_refused 1 hook up "$ifm" --file "$dir/hosts-m"
expect_refused 0 hook down "$ifm" --file "$dir/hosts-m"
cwa name "$ifm" phone --public-key "$phone" --allowed-ips 10.79.0.7/32 >/dev/null 2>&1 &&
    cnx_fail "name took --allowed-ips"
cwa name "$ifa" tablet --public-key "$laptop" >/dev/null 2>"$dir/err" &&
    cnx_fail "name on an interface whose peers clawnexus-wg applies"
grep -q "use 'add' there" "$dir/err" || cnx_fail "name on $ifa said: $(cat "$dir/err")"
printf '127.0.0.1 localhost\n' >"$dir/hosts-m"
cwa hosts "$ifm" --file "$dir/hosts-m" || cnx_fail "hosts on the managed interface failed"
grep -qx "10.79.0.5 phone.claw phone" "$dir/hosts-m" || cnx_fail "hosts-m: $(cat "$dir/hosts-m")"
exp=$(cwa export "$ifm") || cnx_fail "export of the managed interface failed"
python3 -c '
import json, sys
d = json.loads(sys.argv[1]); p = d["peers"][0]
assert p["name"] == "phone" and p["address"] == "10.79.0.5" and p["status"] == "never", p
assert p["allowed_ips"] == ["10.79.0.5/32", "10.79.9.0/24"] and p["managed_elsewhere"] is True, p
' "$exp" || cnx_fail "export of $ifm: $exp"
ip -n "$nsa" route show dev "$ifm" | grep -q . && cnx_fail "routes via the managed interface: $(ip -n "$nsa" route show dev "$ifm")"
cwa unname "$ifm" phone >/dev/null || cnx_fail "unname failed"
cwa resolve phone 2>/dev/null; [ $? -eq 5 ] || cnx_fail "phone still resolves after unname"
grep -qx "\[$ifm managed-elsewhere\]" "$names_a" || cnx_fail "unname dropped the mark"
expect_refused 1 sync "$ifm"
[ "$(dump_m)" = "$before_m" ] || cnx_fail "clawnexus-wg changed the managed interface: $(diff <(echo "$before_m") <(dump_m))"

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
# the routes' table is known before anything changes
check_refused "cannot read the wg-quick configuration $dir/none.conf" --wg-quick-config "$dir/none.conf" \
    add "$ifa" lab --public-key "$stranger" --allowed-ips 10.77.0.3/32
printf '[Interface]\nTable = nosuch\n' >"$dir/bad-table.conf"
check_refused "$dir/bad-table.conf: bad table 'nosuch'" --wg-quick-config "$dir/bad-table.conf" sync "$ifa"
[ "$(conf_a)" = "$before" ] || cnx_fail "a refused command changed $ifa: $(diff <(echo "$before") <(conf_a))"
[ "$(cat "$names_a")" = "$names_before" ] || cnx_fail "a refused command changed the names file"
# --backend uapi with no socket for the name
err=$(cwa --backend uapi show "nosuch$$" 2>&1) && cnx_fail "show of a missing interface succeeded"
grep -q "no such WireGuard interface" <<<"$err" || cnx_fail "show said '$err'"

# --- remove, then sync brings it back; the stranger stays ---------------
ip -n "$nsa" -6 route show fd77::2/128 | grep -q "dev $ifa" || cnx_fail "no route fd77::2/128 before remove"
cwa remove "$ifa" office >/dev/null || cnx_fail "remove failed"
[ -z "$(peer_line "$(dump_a)" "$pub_b")" ] || cnx_fail "office still on $ifa after remove"
ip -n "$nsa" -6 route show fd77::2/128 | grep -q . && cnx_fail "remove left the route fd77::2/128"
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
out=$(CLAWNEXUS_WG_EXPORT="$dir/run/export.json" cwa sync "$ifa") || cnx_fail "third sync failed"
[ "$out" = "$ifa: 0 added, 0 updated, 1 unchanged" ] || cnx_fail "sync said '$out'"
# sync writes the export for clawnexus-link (every interface of the file)
[ "$(stat -c %a "$dir/run/export.json")" = 644 ] || cnx_fail "export file mode $(stat -c %a "$dir/run/export.json")"
# readable by clawnexus-link running as a user, whatever root's umask
( umask 077; CLAWNEXUS_WG_EXPORT="$dir/run077/export.json" cwa sync "$ifa" >/dev/null ) ||
    cnx_fail "sync under umask 077 failed"
[ "$(stat -c %a "$dir/run077") $(stat -c %a "$dir/run077/export.json")" = "755 644" ] ||
    cnx_fail "export folder/file modes under umask 077: $(stat -c %a "$dir/run077" "$dir/run077/export.json")"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); p = {x["name"]: x for x in d["peers"]}
assert p["office"]["interface"] == sys.argv[2] and p["office"]["address"] == "10.77.0.2", p
assert p["office"]["status"] in ("direct", "never"), p
assert "interface" not in d, d
' "$dir/run/export.json" "$ifa" || cnx_fail "export file: $(cat "$dir/run/export.json")"
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
Table = 4243
PostUp = $CNX_WG --names $names_q --export-file $dir/run-q/export.json --wg-quick-config "\$CONFIG_FILE" hook up %i --file $dir/hosts-q
PreDown = $CNX_WG --names $names_q --export-file $dir/run-q/export.json --wg-quick-config "\$CONFIG_FILE" hook down %i --file $dir/hosts-q
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
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["peers"][0]["name"]=="lab" and d["peers"][0]["status"]=="never", d' \
    "$dir/run-q/export.json" || cnx_fail "hook up wrote no export: $(cat "$dir/run-q/export.json" 2>&1)"

# the hook read Table = from the file wg-quick was given ($CONFIG_FILE)
ip -n "$nsc" route show table 4243 | grep -q "^10.78.0.2 dev $ifq" ||
    cnx_fail "hook up added no route for lab in table 4243: $(ip -n "$nsc" route show table 4243)"
ip -n "$nsc" route show 10.78.0.2/32 | grep -q . && cnx_fail "Table = 4243, yet a route in main"
ip netns exec "$nsc" wg-quick down "$dir/$ifq.conf" >>"$dir/wgquick.log" 2>&1 ||
    { cat "$dir/wgquick.log" >&2; cnx_fail "wg-quick down failed"; }
grep -q "clawnexus-wg" "$dir/hosts-q" && cnx_fail "hook down left the hosts block"
[ "$(cat "$dir/hosts-q")" = "127.0.0.1 localhost" ] || cnx_fail "hook down damaged the hosts file"
# a failing down still exits 0 (broken hosts file: only one marker)
printf '# BEGIN clawnexus-wg %s\n' "$ifq" >"$dir/hosts-bad"
"$CNX_WG" --names "$names_q" hook down "$ifq" --file "$dir/hosts-bad" 2>/dev/null ||
    cnx_fail "hook down exited non-zero"

cnx_log "add/remove/sync/show/resolve/hosts/hook checked against wireguard-go and wg show dump"
