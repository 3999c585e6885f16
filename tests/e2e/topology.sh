# The two-sites lab topology (sourced by the e2e tests, after tests/lib.sh).
#
#          site-a (198.51.100.2)            site-b (192.0.2.2)
#              |  lan                            |  lan
#          router-a  --- masquerade ---      router-b  (UDP 51820 forwarded to site-b)
#   203.0.113.2 |                              | 203.0.113.3
#               +------------ inet -----------+
#                             |
#                        vps (203.0.113.10): the relay
#
# All addresses are documentation/benchmark ranges, inside namespaces made
# here; nothing leaves the machine.  WireGuard (wireguard-go) joins site-a
# (198.18.0.1) and site-b (198.18.0.2) through the routers.
# Names carry a per-run suffix so that concurrent runs never clash.

LAB_ID=${LAB_ID:-$$}
LAB_SUF=$(printf '%x' "$LAB_ID" | tail -c 5)
NS_INET=cnx-inet-$LAB_SUF
NS_VPS=cnx-vps-$LAB_SUF
NS_RA=cnx-ra-$LAB_SUF
NS_RB=cnx-rb-$LAB_SUF
NS_A=cnx-a-$LAB_SUF
NS_B=cnx-b-$LAB_SUF
LAB_NAMESPACES="$NS_A $NS_B $NS_RA $NS_RB $NS_VPS $NS_INET"
VPS_IP=203.0.113.10
RA_WAN=203.0.113.2
RB_WAN=203.0.113.3
A_IP=198.51.100.2
B_IP=192.0.2.2
WG_A=198.18.0.1
WG_B=198.18.0.2
WG_PORT=51820
WG_IF_A=cnxwa$LAB_SUF
WG_IF_B=cnxwb$LAB_SUF
LAB_WG_PIDS=()

lab_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# For `lab_spawn NS CMD... &`: the background subshell becomes CMD itself,
# so $! is CMD's pid and killing it stops CMD (with lab_ns the kill would
# reach only the subshell and leave CMD running).
lab_spawn() { local ns=$1; shift; exec ip netns exec "$ns" "$@"; }

# _lab_link NS1 IF1 NS2 IF2: a veth pair between two namespaces.
_lab_link() {
    ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
    lab_ns "$1" ip link set "$2" up
    lab_ns "$3" ip link set "$4" up
}

lab_up() {
    local ns
    for ns in $LAB_NAMESPACES; do
        ip netns add "$ns"
        cnx_on_exit "ip netns del $ns"
        lab_ns "$ns" ip link set lo up
    done
    # The internet: a bridge in NS_INET.
    lab_ns "$NS_INET" ip link add br0 type bridge
    lab_ns "$NS_INET" ip link set br0 up
    _lab_link "$NS_INET" ivps "$NS_VPS" eth0
    _lab_link "$NS_INET" ira "$NS_RA" wan
    _lab_link "$NS_INET" irb "$NS_RB" wan
    for ns in ivps ira irb; do lab_ns "$NS_INET" ip link set "$ns" master br0; done
    lab_ns "$NS_VPS" ip addr add "$VPS_IP/24" dev eth0
    lab_ns "$NS_RA" ip addr add "$RA_WAN/24" dev wan
    lab_ns "$NS_RB" ip addr add "$RB_WAN/24" dev wan

    # Sites behind their routers.
    _lab_link "$NS_RA" lan "$NS_A" eth0
    _lab_link "$NS_RB" lan "$NS_B" eth0
    lab_ns "$NS_RA" ip addr add 198.51.100.1/24 dev lan
    lab_ns "$NS_RB" ip addr add 192.0.2.1/24 dev lan
    lab_ns "$NS_A" ip addr add "$A_IP/24" dev eth0
    lab_ns "$NS_B" ip addr add "$B_IP/24" dev eth0
    lab_ns "$NS_A" ip route add default via 198.51.100.1
    lab_ns "$NS_B" ip route add default via 192.0.2.1

    local r wan
    for r in "$NS_RA" "$NS_RB"; do
        lab_ns "$r" sysctl -qw net.ipv4.ip_forward=1
    done
    # Masquerade outbound; inbound only what the site asked for (and, at
    # router-b, the WireGuard port forwarded to site-b).
    lab_ns "$NS_RA" nft -f - <<NFT || cnx_fail "nftables rules for router-a"
table ip cnxlab {
    chain nat_post { type nat hook postrouting priority 100; oifname "wan" masquerade; }
    chain filter_forward { type filter hook forward priority 0; policy drop;
        ct state established,related accept
        iifname "lan" oifname "wan" accept
    }
}
NFT
    lab_ns "$NS_RB" nft -f - <<NFT || cnx_fail "nftables rules for router-b"
table ip cnxlab {
    chain nat_pre { type nat hook prerouting priority -100;
        iifname "wan" udp dport $WG_PORT dnat to $B_IP:$WG_PORT
    }
    chain nat_post { type nat hook postrouting priority 100; oifname "wan" masquerade; }
    chain filter_forward { type filter hook forward priority 0; policy drop;
        ct state established,related accept
        iifname "lan" oifname "wan" accept
        iifname "wan" ip daddr $B_IP udp dport $WG_PORT accept
    }
}
NFT
}

# lab_wg_up: a WireGuard tunnel site-a <-> site-b with wireguard-go, the
# peers given by public key only (names are applied by clawnexus-wg).
# Sets LAB_WG_PUB_A / LAB_WG_PUB_B and LAB_WG_DIR.
lab_wg_up() {
    local dir=$1 side ns ifn ip
    LAB_WG_DIR=$dir
    for side in a b; do
        (umask 077; wg genkey > "$dir/wg-$side.key")
        wg pubkey < "$dir/wg-$side.key" > "$dir/wg-$side.pub"
    done
    LAB_WG_PUB_A=$(cat "$dir/wg-a.pub")
    LAB_WG_PUB_B=$(cat "$dir/wg-b.pub")
    for side in a b; do
        if [ "$side" = a ]; then ns=$NS_A ifn=$WG_IF_A ip=$WG_A
        else ns=$NS_B ifn=$WG_IF_B ip=$WG_B; fi
        lab_spawn "$ns" wireguard-go -f "$ifn" > "$dir/wg-$side.log" 2>&1 &
        LAB_WG_PIDS+=($!)
        cnx_on_exit "kill $! 2>/dev/null; sleep 0.2"
        local i
        for (( i=0; i<100; i++ )); do
            [ -S "/var/run/wireguard/$ifn.sock" ] && break
            sleep 0.05
        done
        [ -S "/var/run/wireguard/$ifn.sock" ] || cnx_fail "wireguard-go did not start for $ifn"
        cnx_on_exit "rm -f /var/run/wireguard/$ifn.sock"
        lab_ns "$ns" wg set "$ifn" private-key "$dir/wg-$side.key" listen-port "$WG_PORT"
        lab_ns "$ns" ip addr add "$ip/24" dev "$ifn"
        lab_ns "$ns" ip link set "$ifn" up
    done
}

# lab_wg_break / lab_wg_mend: drop the tunnel's UDP at router-a, so that a
# TCP connect over the tunnel hangs (no RST, no ICMP).
lab_wg_break() {
    lab_ns "$NS_RA" nft add table ip cnxbreak
    lab_ns "$NS_RA" nft add chain ip cnxbreak filter_forward '{ type filter hook forward priority -10; }'
    lab_ns "$NS_RA" nft add rule ip cnxbreak filter_forward udp dport "$WG_PORT" drop
    lab_ns "$NS_RA" nft add rule ip cnxbreak filter_forward udp sport "$WG_PORT" drop
}

lab_wg_mend() {
    lab_ns "$NS_RA" nft delete table ip cnxbreak 2>/dev/null || true
}
