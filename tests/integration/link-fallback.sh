#!/bin/bash
# Direct first, relay after 3 s: inside a private network namespace, a
# direct address whose packets are silently dropped (a veth into an empty
# namespace: no answer, no refusal) makes `clawnexus-link connect` fall
# back to the relay after the 3-second timeout; a peer marked cross_network in the config
# goes to the relay at once; an address from a clawnexus-wg export file is
# used directly.  Needs root for the namespace.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/link-lib.sh"

if [ "${LINK_FALLBACK_INNER:-}" != 1 ]; then
    link_need_relay
    cnx_need_netns
    cnx_need_cmd python3
    ns="cnxlnk$$"
    ip netns add "$ns" || cnx_fail "cannot create namespace $ns"
    cnx_on_exit "ip netns del '$ns'"
    ip -n "$ns" link set lo up
    # bh0 leads to a second namespace where nothing has an address: frames
    # for 10.213.0.2 (static neighbour, no ARP) arrive there and vanish
    ip netns add "${ns}h" || cnx_fail "cannot create namespace ${ns}h"
    cnx_on_exit "ip netns del '${ns}h'"
    ip -n "$ns" link add bh0 type veth peer name bh1 netns "${ns}h" ||
        cnx_fail "cannot create a veth pair"
    ip -n "$ns" addr add 10.213.0.1/24 dev bh0
    ip -n "$ns" link set bh0 up
    ip -n "${ns}h" link set bh1 up
    ip -n "$ns" neigh add 10.213.0.2 lladdr 02:00:5e:00:53:02 dev bh0 nud permanent
    LINK_FALLBACK_INNER=1 ip netns exec "$ns" bash "$0"
    exit $?
fi

cnx_tmpdir dir
link_relay_start "$dir"
mkdir -p "$dir/hs" "$dir/hc/.clawnexus"
tcp="$abs_top_srcdir/tests/integration/link_tcp.py"
echo_port=$(cnx_free_port)
python3 "$tcp" echo "$echo_port" & cnx_on_exit "link_kill $!"
cnx_wait_port 127.0.0.1 "$echo_port" || cnx_fail "echo service did not start"

HOME="$dir/hs" "$CNX_LINK" -v serve --relay "$RELAY_URL" --id office.claw \
    --secret-file "$RELAY_SECRET_FILE" --issuer "$RELAY_ISS" \
    --forward "127.0.0.1:$echo_port" --listen 127.0.0.1 2> "$dir/serve.err" &
cnx_on_exit "link_kill $!"
link_wait_grep "$dir/serve.err" "registered as office.claw" ||
    { cat "$dir/serve.err" >&2; cnx_fail "serve did not register"; }

conn() { # connect office.claw with extra args ($CONN_V: -v); ms to $dir/ms
    local t0 t1 out
    t0=$(date +%s%N)
    out=$(echo "$1" | HOME="$dir/hc" timeout 20 "$CNX_LINK" ${CONN_V:+-v} connect \
        --relay "$RELAY_URL" --id home.claw --secret-file "$RELAY_SECRET_FILE" \
        --issuer "$RELAY_ISS" "${@:2}" office.claw 2> "$dir/conn.err")
    local rc=$?
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000000 )) > "$dir/ms"
    [ $rc -eq 0 ] || { cat "$dir/conn.err" >&2; cnx_fail "connect $* exited $rc"; }
    [ "$out" = "$1" ] || cnx_fail "connect $*: echo returned '$out'"
}

# 1. black-holed direct address: relay after the 3-second timeout
conn "via the fallback" --direct 10.213.0.2:7473
ms=$(cat "$dir/ms")
cat "$dir/conn.err"
grep -q "direct 10.213.0.2:7473: timed out; trying the relay" "$dir/conn.err" ||
    cnx_fail "no timeout line for the black-holed address"
grep -q "office.claw → relay → established (encrypted v2" "$dir/conn.err" ||
    cnx_fail "did not establish through the relay"
[ "$ms" -ge 2900 ] || cnx_fail "fell back after $ms ms, before the 3 s timeout"
[ "$ms" -lt 5000 ] || cnx_fail "fallback, set-up and echo took $ms ms (limit 5000)"
cnx_log "black hole: relay after $ms ms"

# 2. the same address in the config, marked cross_network: relay at once
cat > "$dir/hc/.clawnexus/config.json" <<JSON
{ "relay": { "url": "$RELAY_URL", "enabled": true },
  "edge": { "peers": { "office.claw": { "direct": "10.213.0.2:7473",
                                        "cross_network": true } } } }
JSON
conn "cross network"
ms=$(cat "$dir/ms")
grep -q "trying the relay" "$dir/conn.err" && cnx_fail "tried direct for a cross_network peer"
grep -q "office.claw → relay → established" "$dir/conn.err" || cnx_fail "cross_network peer not via relay"
[ "$ms" -lt 2500 ] || cnx_fail "cross_network peer took $ms ms (it must not wait for the direct timeout)"

# 3. an address from a clawnexus-wg export file is used directly (port 7473)
cat > "$dir/names.json" <<JSON
{"version":1,"interface":"wg0","peers":[{"name":"office","address":"127.0.0.1",
 "allowed_ips":["127.0.0.1/32"],"public_key":"x","endpoint":null,
 "status":"direct","latest_handshake":0}]}
JSON
rm "$dir/hc/.clawnexus/config.json"
conn "via the export file" --export-file "$dir/names.json"
grep -q "office.claw → direct → established (encrypted v2" "$dir/conn.err" ||
    { cat "$dir/conn.err" >&2; cnx_fail "export address not used directly"; }
# the default export: the file clawnexus-wg writes ($CLAWNEXUS_WG_EXPORT
# moves it for both programs); --names-file still works, with a warning
CLAWNEXUS_WG_EXPORT="$dir/names.json" conn "via the default export"
grep -q "office.claw → direct → established" "$dir/conn.err" ||
    { cat "$dir/conn.err" >&2; cnx_fail "the default export was not read"; }
conn "via --names-file" --names-file "$dir/names.json"
grep -q "warning: --names-file is the older name of --export-file" "$dir/conn.err" ||
    cnx_fail "no warning for --names-file"
grep -q "office.claw → direct → established" "$dir/conn.err" || cnx_fail "--names-file not used"
HOME="$dir/hc" "$CNX_LINK" list | grep -Eq "^office.claw +direct " ||
    cnx_fail "list does not show office.claw as direct"

# 4. the export's status: no handshake yet ("never") means no direct
# attempt at all (the black-holed address would cost 3 s)
cat > "$dir/never.json" <<JSON
{"version":1,"peers":[{"name":"office","interface":"wg0","address":"10.213.0.2",
 "status":"never","latest_handshake":0}]}
JSON
conn "handshake never" --export-file "$dir/never.json"
ms=$(cat "$dir/ms")
grep -q "trying the relay" "$dir/conn.err" && cnx_fail "tried direct to a peer whose handshake is never"
grep -q "office.claw → relay → established" "$dir/conn.err" || cnx_fail "never: not via the relay"
[ "$ms" -lt 2500 ] || cnx_fail "a peer without handshake took $ms ms (no direct attempt expected)"
# "stale" is still tried directly
sed 's/"never"/"stale"/' "$dir/never.json" > "$dir/stale.json"
conn "handshake stale" --export-file "$dir/stale.json"
grep -q "direct 10.213.0.2:7473: timed out; trying the relay" "$dir/conn.err" ||
    cnx_fail "a stale peer was not tried directly"

# 5. the tailnet as one more source, through a stand-in for the tailscale
# CLI printing what `tailscale status --json` prints (fields of Tailscale's
# ipnstate.Status / PeerStatus); link-tailscale.sh runs the real CLI
ts_status() {   # ts_status ADDR ONLINE: a stand-in CLI answering with them
    cat > "$dir/tailscale" <<SH
#!/bin/sh
[ "\$*" = "status --json" ] || exit 2
cat <<'JSON'
{"Version":"1.80.0","BackendState":"Running","TailscaleIPs":["100.64.0.1"],
 "Self":{"HostName":"home","DNSName":"home.example.ts.net.","TailscaleIPs":["100.64.0.1"],"Online":true},
 "Peer":{"nodekey:01":{"HostName":"office-pc","DNSName":"office.example.ts.net.",
   "TailscaleIPs":["$1","fd7a:115c:a1e0::2"],"Online":$2}},"User":{}}
JSON
SH
    chmod +x "$dir/tailscale"
}
ts_status 127.0.0.1 true
CLAWNEXUS_TAILSCALE="$dir/tailscale" CONN_V=1 conn "via the tailnet"
grep -q "office.claw: 127.0.0.1:7473 from the tailnet" "$dir/conn.err" ||
    { cat "$dir/conn.err" >&2; cnx_fail "the tailnet address was not used"; }
grep -q "office.claw → direct → established" "$dir/conn.err" || cnx_fail "tailnet: not direct"
CLAWNEXUS_TAILSCALE="$dir/tailscale" conn "no tailscale" --no-tailscale
grep -q "office.claw → relay → established" "$dir/conn.err" || cnx_fail "--no-tailscale still asked the tailnet"
ts_status 127.0.0.1 false
CLAWNEXUS_TAILSCALE="$dir/tailscale" conn "offline peer"
grep -q "office.claw → relay → established" "$dir/conn.err" || cnx_fail "an offline tailnet peer was tried"
# order: a direct WireGuard peer first, then the tailnet, then a stale one
ts_status 10.213.0.2 true
CLAWNEXUS_TAILSCALE="$dir/tailscale" conn "export direct first" --export-file "$dir/names.json"
grep -q "office.claw → direct → established" "$dir/conn.err" || cnx_fail "the direct export peer was not tried first"
ts_status 127.0.0.1 true
sed 's/"10.213.0.2"/"10.213.0.3"/' "$dir/stale.json" > "$dir/stale3.json"
CLAWNEXUS_TAILSCALE="$dir/tailscale" conn "tailnet before stale" --export-file "$dir/stale3.json"
grep -q "office.claw → direct → established" "$dir/conn.err" || cnx_fail "the tailnet was not tried before a stale peer"
grep -q "10.213.0.3" "$dir/conn.err" && cnx_fail "the stale export peer was tried first"
# a CLI that hangs is given up after 2 s; one that fails is no source
printf '#!/bin/sh\nexec sleep 30\n' > "$dir/tailscale"
CLAWNEXUS_TAILSCALE="$dir/tailscale" CONN_V=1 conn "hanging CLI"
grep -q "tailscale status --json: no answer within 2000 ms" "$dir/conn.err" || cnx_fail "no time limit on the CLI"
grep -q "office.claw → relay → established" "$dir/conn.err" || cnx_fail "hanging CLI: not via the relay"
printf '#!/bin/sh\necho "failed to connect to local tailscaled" >&2\nexit 1\n' > "$dir/tailscale"
CLAWNEXUS_TAILSCALE="$dir/tailscale" conn "failing CLI"
grep -q "office.claw → relay → established" "$dir/conn.err" || cnx_fail "failing CLI: not via the relay"

cnx_nginx_stop "$dir/relay"
cnx_nginx_check_log "$dir/relay"
cnx_log "direct first, relay after the 3 s timeout, cross_network straight to the relay"
