#!/bin/bash
# The two-sites lab network itself behaves as the e2e scenarios assume:
# sites reach the vps, nothing reaches into a site, the WireGuard tunnel
# carries TCP between the sites, and a broken tunnel makes a TCP connect
# hang (no refusal) so that only a timeout can detect it.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/e2e/topology.sh"

cnx_need_netns
cnx_need_cmd nft wg wireguard-go python3
cnx_tmpdir dir

lab_up

# tcp_try NS HOST PORT SECONDS: prints ok, refused or timeout.
tcp_try() {
    lab_ns "$1" python3 - "$2" "$3" "$4" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(float(sys.argv[3]))
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("ok")
except ConnectionRefusedError:
    print("refused")
except (socket.timeout, TimeoutError):
    print("timeout")
except OSError as e:
    print("error:%s" % e.errno)
PY
}

# A listener in each place.
listen() {
    lab_spawn "$1" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept(); c.close()' "$2" &
    cnx_on_exit "kill $! 2>/dev/null"
    local i
    for (( i=0; i<200; i++ )); do
        lab_ns "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
        sleep 0.05
    done
    cnx_fail "the test listener in $1 did not start"
}
listen "$NS_VPS" 7000
listen "$NS_A" 7000
listen "$NS_B" 7000

r=$(tcp_try "$NS_A" "$VPS_IP" 7000 2); [ "$r" = ok ] || cnx_fail "site-a cannot reach the vps ($r)"
r=$(tcp_try "$NS_B" "$VPS_IP" 7000 2); [ "$r" = ok ] || cnx_fail "site-b cannot reach the vps ($r)"
r=$(tcp_try "$NS_VPS" "$RA_WAN" 7000 1); [ "$r" != ok ] || cnx_fail "router-a accepts inbound TCP"
r=$(tcp_try "$NS_A" "$RB_WAN" 7000 1); [ "$r" != ok ] || cnx_fail "site-a reaches into site-b without the tunnel"
r=$(tcp_try "$NS_A" "$B_IP" 7000 1); [ "$r" != ok ] || cnx_fail "site-b's LAN address is routable from site-a"
cnx_log "NAT: sites reach the vps; nothing reaches into a site"

lab_wg_up "$dir"
# The responder first, so that site-a's first initiation is answered.
lab_ns "$NS_B" wg set "$WG_IF_B" peer "$LAB_WG_PUB_A" allowed-ips "$WG_A/32"
lab_ns "$NS_A" wg set "$WG_IF_A" peer "$LAB_WG_PUB_B" allowed-ips "$WG_B/32" \
    endpoint "$RB_WAN:$WG_PORT" persistent-keepalive 5
r=$(tcp_try "$NS_A" "$WG_B" 7000 8); [ "$r" = ok ] || cnx_fail "no TCP over the tunnel ($r)"
hs=$(lab_ns "$NS_A" wg show "$WG_IF_A" latest-handshakes | awk '{print $2}')
[ "${hs:-0}" -gt 0 ] || cnx_fail "the tunnel never completed a handshake"
cnx_log "WireGuard: TCP site-a -> $WG_B:7000 over the tunnel"

lab_wg_break
# New TCP flows over the tunnel now get no answer at all.
lab_ns "$NS_A" ip neigh flush all 2>/dev/null || true
r=$(tcp_try "$NS_A" "$WG_B" 7000 2)
[ "$r" = timeout ] || cnx_fail "a broken tunnel gave '$r' instead of a hang"
cnx_log "broken tunnel: TCP connect hangs until the 2 s timeout"
lab_wg_mend
