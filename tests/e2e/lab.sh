# The two-sites lab: the relay in vps, clawnexus-link at both sites, the
# stand-in gateway at site-b (and the real OpenClaw gateway for scenario
# 8), and the eight scenarios of docs/lab.md.
# Sourced after tests/lib.sh and tests/e2e/topology.sh by
# tests/e2e/two-sites.sh (make check) and by scripts/demo --lab.
#
# Every scenario is a function e2e_sN that asserts (cnx_fail on any
# difference) and tells the story in a few lines with lab_say, on standard
# output.  Details (the endpoints' own lines, timings) go to standard error.

LAB_TCP="$abs_top_srcdir/tests/e2e/lab_tcp.py"
LAB_SVC_PORT=18789             # the stand-in OpenClaw gateway at site-b
LAB_WSS="wss://$VPS_IP/relay"  # TLS (nginx ssl), certificate made here
LAB_WS="ws://$VPS_IP:80/relay" # plain, only for the capture scenario
: "${LAB_BULK_MB:=200}"        # size of the long transfer (scenario 7)

lab_say() { printf '%s\n' "$*"; }
lab_detail() { printf '%s\n' "$*" >&2; }

# lab_ms_since T0: milliseconds since T0 (date +%s%N).
lab_ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

lab_wait_grep() {
    local f=$1 pat=$2 limit=${3:-10} i
    for (( i=0; i<limit*20; i++ )); do
        grep -q -- "$pat" "$f" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# lab_stop PID: stop a process started here, then reap it.
lab_stop() {
    kill "$1" 2>/dev/null || return 0
    wait "$1" 2>/dev/null || true
}

# ---------------------------------------------------------------- relay --

# lab_relay_config: certificate, secret and nginx.conf in $LAB_DIR/relay.
lab_relay_config() {
    local r=$LAB_DIR/relay
    mkdir -p "$r/logs"
    LAB_SECRET="lab-secret-$$-$RANDOM$RANDOM$RANDOM"
    LAB_SECRET_FILE=$r/relay.secret
    ( umask 077; printf '%s\n' "$LAB_SECRET" > "$LAB_SECRET_FILE" )
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -days 2 -subj "/CN=$VPS_IP" -addext "subjectAltName=IP:$VPS_IP" \
        -keyout "$r/relay.key" -out "$r/relay.crt" > "$r/openssl.out" 2>&1 ||
        { cat "$r/openssl.out" >&2; cnx_fail "openssl could not make the relay's certificate"; }
    chmod 600 "$r/relay.key"
    LAB_CA=$r/relay.crt
    cat > "$r/nginx.conf" <<CONF
$(cnx_nginx_conf_head 2 512)
stream {
    clawnexus_jwt_secret_file relay.secret;
    server {
        listen $VPS_IP:443 ssl;
        ssl_certificate relay.crt;
        ssl_certificate_key relay.key;
        clawnexus_relay;
    }
    server {
        listen $VPS_IP:80;
        clawnexus_relay;
    }
}
CONF
}

# lab_relay_start: the stock nginx with the module, inside vps.
lab_relay_start() {
    local r=$LAB_DIR/relay i
    rm -f "$r/nginx.pid"
    lab_ns "$NS_VPS" env $(cnx_nginx_env) "$NGINX_BIN" -p "$r" -c nginx.conf \
        -e "$r/logs/error.log" -g "pid $r/nginx.pid;" >> "$r/logs/startup.log" 2>&1 ||
        { cat "$r/logs/startup.log" "$r/logs/error.log" >&2 2>/dev/null;
          cnx_fail "nginx did not start in $NS_VPS"; }
    for (( i=0; i<100; i++ )); do
        [ -s "$r/nginx.pid" ] && break
        sleep 0.05
    done
    [ -s "$r/nginx.pid" ] || cnx_fail "nginx wrote no pid file"
    LAB_NGINX_PID=$(cat "$r/nginx.pid")
}

lab_relay_reload() {
    local r=$LAB_DIR/relay
    lab_ns "$NS_VPS" env $(cnx_nginx_env) "$NGINX_BIN" -p "$r" -c nginx.conf \
        -e "$r/logs/error.log" -g "pid $r/nginx.pid;" -s reload 2>> "$r/logs/startup.log" ||
        cnx_fail "nginx -s reload failed"
}

# lab_relay_stop: graceful stop of the master started here, by PID.
lab_relay_stop() {
    local pid=${LAB_NGINX_PID:-} i
    [ -n "$pid" ] || return 0
    LAB_NGINX_PID=
    kill -QUIT "$pid" 2>/dev/null || return 0
    for (( i=0; i<200; i++ )); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
}

lab_relay_tail() {
    echo "--- relay error log (last lines):" >&2
    grep -v '\[info\]' "$LAB_DIR/relay/logs/error.log" | tail -20 >&2
    grep '\[info\]' "$LAB_DIR/relay/logs/error.log" | tail -10 >&2
}

# lab_relay_check_log: no [alert]/[emerg]/[crit] and no sanitizer report
# in the relay's error log, except two lines that a restart produces and
# that say nothing about the relay's work:
# - nginx 1.22 logs a client's data arriving after nginx's own TLS
#   close_notify ("application data after close notify": the client
#   answers the 1001 close frame of a reload or stop) at crit; later nginx
#   versions log it at info;
# - a worker that tells a peer worker about a closed room while that peer
#   has already exited (reload, stop) gets ECONNREFUSED (111) or ENOTCONN
#   (107) on the worker channel, logged at alert.
# Both are shown on standard error when they occur.
lab_relay_check_log() {
    local log=$LAB_DIR/relay/logs/error.log known
    known='SSL_shutdown\(\) failed \(SSL: .*application data after close notify\)|clawnexus: send\(\) to another worker failed \((111|107): '
    grep -E "$known" "$log" | sed 's/^/    tolerated: /' >&2
    if grep -E '\[(alert|emerg|crit)\]|Sanitizer|runtime error:' "$log" |
        grep -Ev "$known" >&2
    then
        cnx_fail "the relay's error log has alerts or sanitizer reports (above)"
    fi
}

# ------------------------------------------------------------ endpoints --

# Site-a's and site-b's clawnexus-link, each with its own HOME (keys,
# pins) and the relay's certificate as CA.  Programs that run in the
# background are started with a plain "ip netns exec ... &" (not through
# these functions) so that $! is the program itself and can be stopped.
lab_a() { lab_ns "$NS_A" env HOME="$LAB_DIR/a" "$@"; }
lab_b() { lab_ns "$NS_B" env HOME="$LAB_DIR/b" "$@"; }
LAB_CRED=()

cwa() { lab_ns "$NS_A" "$CNX_WG" --names "$LAB_DIR/a/wg-names.conf" "$@"; }
cwb() { lab_ns "$NS_B" "$CNX_WG" --names "$LAB_DIR/b/wg-names.conf" "$@"; }

# lab_serve NAME RELAY_URL [more serve options]: clawnexus-link serve at
# site-b in front of the gateway; waits until it registered.
lab_serve() {
    local name=$1 url=$2
    shift 2
    ip netns exec "$NS_B" env HOME="$LAB_DIR/b" "$CNX_LINK" -v serve \
        --relay "$url" "${LAB_CRED[@]}" --id "$name" \
        --forward "127.0.0.1:$LAB_SVC_PORT" "$@" 2> "$LAB_DIR/serve-$name.err" &
    local pid=$!
    cnx_on_exit "lab_stop $pid"
    lab_wait_grep "$LAB_DIR/serve-$name.err" "registered as $name" 15 ||
        { cat "$LAB_DIR/serve-$name.err" >&2; cnx_fail "serve $name did not register on $url"; }
    LAB_SERVE_PID=$pid
}

# lab_connect TAG INPUT [connect options] TARGET: one clawnexus-link
# connect from site-a, INPUT as its stream.  Sets LAB_OUT (the reply of
# the gateway), LAB_MS (whole run, ms) and leaves stderr in
# $LAB_DIR/TAG.err.  Fails unless it exits 0.
lab_connect() {
    local tag=$1 input=$2 t0 rc
    shift 2
    t0=$(date +%s%N)
    LAB_OUT=$(printf '%s' "$input" | lab_a timeout 30 "$CNX_LINK" -v connect \
        --relay "$LAB_WSS" "${LAB_CRED[@]}" --id home "$@" 2> "$LAB_DIR/$tag.err")
    rc=$?
    LAB_MS=$(lab_ms_since "$t0")
    grep -v '^clawnexus-link: ' "$LAB_DIR/$tag.err" | sed 's/^/    /' >&2
    [ $rc -eq 0 ] || { cat "$LAB_DIR/$tag.err" >&2; cnx_fail "$tag: connect exited $rc"; }
}

# lab_expect_reply INPUT: the gateway's reply must be the sha256 and the
# length of INPUT (the bytes arrived intact).
lab_expect_reply() {
    local want
    want="$(printf '%s' "$1" | sha256sum | cut -d' ' -f1) ${#1}"
    [ "$LAB_OUT" = "$want" ] ||
        cnx_fail "the gateway got other bytes: '$LAB_OUT', expected '$want'"
}

# lab_established FILE PATH VERSION: the line connect/chat print.
lab_established() {
    grep -q -- "→ $2 → established (encrypted v$3" "$1" ||
        { cat "$1" >&2; cnx_fail "no '$2 → established (encrypted v$3' line in $(basename "$1")"; }
    grep -o -- "→ $2 → established.*" "$1" | head -1
}

# ------------------------------------------------------------------ lab --

# lab_start DIR: network, WireGuard, relay, gateway and office at site-b.
lab_start() {
    LAB_DIR=$1
    mkdir -p "$LAB_DIR/a" "$LAB_DIR/b" "$LAB_DIR/gw"
    lab_up
    lab_wg_up "$LAB_DIR"
    lab_relay_config
    lab_relay_start
    cnx_on_exit "lab_relay_stop"
    local i
    for (( i=0; i<100; i++ )); do
        lab_ns "$NS_A" bash -c "exec 3<>/dev/tcp/$VPS_IP/443" 2>/dev/null && break
        sleep 0.05
    done
    LAB_CRED=(--secret-file "$LAB_SECRET_FILE" --ca-file "$LAB_CA")

    ip netns exec "$NS_B" python3 "$LAB_TCP" service "$LAB_SVC_PORT" "$LAB_DIR/gw" &
    cnx_on_exit "lab_stop $!"

    # Names for the tunnel's peers, applied with clawnexus-wg on both
    # sides (the responder first).
    cwb add "$WG_IF_B" home --public-key "$LAB_WG_PUB_A" --allowed-ips "$WG_A/32" >&2 ||
        cnx_fail "clawnexus-wg add at site-b"
    cwa add "$WG_IF_A" office --public-key "$LAB_WG_PUB_B" --allowed-ips "$WG_B/32" \
        --endpoint "$RB_WAN:$WG_PORT" --persistent-keepalive 5 >&2 ||
        cnx_fail "clawnexus-wg add at site-a"
    cwb sync "$WG_IF_B" >&2 || cnx_fail "clawnexus-wg sync at site-b"
    cwa sync "$WG_IF_A" >&2 || cnx_fail "clawnexus-wg sync at site-a"

    # office: the gateway of site-b, on the relay (TLS) and directly on
    # its tunnel address.
    lab_serve office "$LAB_WSS" --listen "$WG_B"
    LAB_OFFICE_PID=$LAB_SERVE_PID

    # A configuration for site-a that marks office as cross-network.
    cat > "$LAB_DIR/a/cross.json" <<JSON
{ "relay": { "url": "$LAB_WSS", "enabled": true },
  "edge": { "peers": { "office": { "cross_network": true } } } }
JSON
}

# wg_rx IFACE NS: bytes received on the tunnel interface.
lab_wg_rx() {
    lab_ns "$2" wg show "$1" transfer | awk '{ s += $2 } END { print s + 0 }'
}

# ------------------------------------------------------------ scenarios --

e2e_s1() {
    lab_say "[1] tunnel up: site-a reaches office directly over WireGuard"
    local addr i hs rx0 rx1 n msg="hello office, over the tunnel"
    addr=$(cwa resolve office) || cnx_fail "clawnexus-wg resolve office failed"
    [ "$addr" = "$WG_B" ] || cnx_fail "clawnexus-wg resolve office gave '$addr', not $WG_B"
    cwa export "$WG_IF_A" > "$LAB_DIR/a/wg-export.json" || cnx_fail "clawnexus-wg export"
    for (( i=0; i<100; i++ )); do
        hs=$(lab_ns "$NS_A" wg show "$WG_IF_A" latest-handshakes | awk '{print $2}')
        [ "${hs:-0}" -gt 0 ] && break
        sleep 0.05
    done
    [ "${hs:-0}" -gt 0 ] || cnx_fail "the tunnel made no handshake"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not any(p["name"] == "office" and p["address"] == sys.argv[2] for p in d["peers"]))' \
        "$LAB_DIR/a/wg-export.json" "$WG_B" ||
        { cat "$LAB_DIR/a/wg-export.json" >&2; cnx_fail "s1: clawnexus-wg export has no address $WG_B for office"; }
    lab_say "    clawnexus-wg resolve office → $addr (handshake done)"
    n=$(grep -c "home: session v2 via direct" "$LAB_DIR/serve-office.err")
    rx0=$(lab_wg_rx "$WG_IF_B" "$NS_B")
    lab_connect s1 "$msg" --export-file "$LAB_DIR/a/wg-export.json" office
    rx1=$(lab_wg_rx "$WG_IF_B" "$NS_B")
    lab_expect_reply "$msg"
    grep -q "trying the relay" "$LAB_DIR/s1.err" && cnx_fail "s1: went to the relay with the tunnel up"
    lab_say "    office $(lab_established "$LAB_DIR/s1.err" direct 2)"
    [ "$(grep -c "home: session v2 via direct" "$LAB_DIR/serve-office.err")" -gt "$n" ] ||
        cnx_fail "s1: serve at site-b saw no direct v2 session from home"
    [ $(( rx1 - rx0 )) -gt 1000 ] ||
        cnx_fail "s1: site-b's tunnel interface received only $(( rx1 - rx0 )) bytes"
    lab_say "    the session crossed $WG_IF_B ($(( rx1 - rx0 )) bytes), the gateway got the bytes intact"
}

e2e_s2() {
    lab_say "[2] tunnel broken (UDP dropped): direct times out, the relay takes over"
    local msg="hello office, tunnel down"
    lab_wg_break
    lab_connect s2 "$msg" --export-file "$LAB_DIR/a/wg-export.json" office
    lab_wg_mend
    lab_expect_reply "$msg"
    grep -q "direct $WG_B:7473: timed out; trying the relay" "$LAB_DIR/s2.err" ||
        { cat "$LAB_DIR/s2.err" >&2; cnx_fail "s2: no timeout on the direct address"; }
    lab_say "    direct $WG_B:7473 timed out; office $(lab_established "$LAB_DIR/s2.err" relay 2)"
    [ "$LAB_MS" -ge 2900 ] || cnx_fail "s2: relay after $LAB_MS ms, before the 3 s timeout"
    [ "$LAB_MS" -lt 4000 ] || cnx_fail "s2: set-up took $LAB_MS ms (limit 4000)"
    lab_say "    total $LAB_MS ms (3 s timeout + relay set-up and round trip, limit 4 s)"
}

e2e_s3() {
    lab_say "[3] office marked cross_network in site-a's config: straight to the relay"
    local msg="hello office, cross-network"
    lab_connect s3 "$msg" --config "$LAB_DIR/a/cross.json" \
        --export-file "$LAB_DIR/a/wg-export.json" office
    lab_expect_reply "$msg"
    grep -q "trying the relay" "$LAB_DIR/s3.err" && cnx_fail "s3: tried the direct path first"
    lab_say "    office $(lab_established "$LAB_DIR/s3.err" relay 2)"
    [ "$LAB_MS" -lt 1500 ] || cnx_fail "s3: took $LAB_MS ms; a cross-network peer must not wait"
    lab_say "    total $LAB_MS ms, no direct attempt (the tunnel was up)"
}

e2e_s4() {
    lab_say "[4] the relay sees only ciphertext (plain ws://, capture inside vps)"
    local marker="CNX-LAB-MARKER-$RANDOM$RANDOM-the-relay-must-never-read-this"
    local cap=$LAB_DIR/relay.pcap pid n b64 v i
    ip netns exec "$NS_VPS" tcpdump -i eth0 -n -U --immediate-mode -s 0 -w "$cap" tcp port 80 \
        2> "$LAB_DIR/tcpdump.err" &
    pid=$!
    cnx_on_exit "lab_stop $pid"
    lab_wait_grep "$LAB_DIR/tcpdump.err" "listening on" 10 ||
        { cat "$LAB_DIR/tcpdump.err" >&2; cnx_fail "tcpdump did not start"; }
    lab_serve vault "$LAB_WS"
    local vault=$LAB_SERVE_PID
    n=$(ls "$LAB_DIR/gw" | grep -c '\.sha256$')
    lab_connect s4 "$marker" --relay "$LAB_WS" vault
    lab_expect_reply "$marker"
    lab_established "$LAB_DIR/s4.err" relay 2 > /dev/null
    lab_stop "$vault"
    sleep 0.3
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    # The bytes as the gateway at site-b received them.
    i=$(( n + 1 ))
    [ -f "$LAB_DIR/gw/$i.data" ] && [ "$(cat "$LAB_DIR/gw/$i.data")" = "$marker" ] ||
        cnx_fail "s4: the gateway did not receive the marker intact"
    lab_say "    the gateway at site-b received the marker intact"
    # The capture holds the relay's traffic in clear (the upgrade, the
    # relay's own unmasked frames: REGISTERED for vault, DATA of the key
    # exchange) ...
    grep -aq "Upgrade: websocket" "$cap" && grep -aq '"REGISTERED","claw_id":"vault"' "$cap" &&
        grep -aq '"type":"DATA"' "$cap" ||
        cnx_fail "s4: the capture does not show the relay traffic (wrong interface?)"
    # ... but never the marker, neither raw nor in base64 at any alignment.
    grep -aq -- "$marker" "$cap" && cnx_fail "s4: the marker is readable in the relay's traffic"
    for v in "$marker" "x$marker" "xy$marker"; do
        b64=$(printf '%s' "$v" | base64 -w0 | cut -c5-40)
        grep -aqF -- "$b64" "$cap" && cnx_fail "s4: the marker is in the relay's traffic as base64"
    done
    lab_say "    capture: $(stat -c %s "$cap") bytes of relay traffic, marker found 0 times (raw or base64)"
}

e2e_s5() {
    lab_say "[5] the npm clawnexus@0.4.0 RelayConnector at site-b ↔ clawnexus-link chat at site-a"
    local npid rc
    ip netns exec "$NS_B" env HOME="$LAB_DIR/b" NODE_EXTRA_CA_CERTS="$LAB_CA" node "$CNX_NODE_DIR/link-chat.js" \
        "$LAB_WSS" "$LAB_SECRET" "" daemon-b --send "hello from the daemon at site-b" \
        --expect 1 --until-left > "$LAB_DIR/node.out" 2> "$LAB_DIR/node.err" &
    npid=$!
    cnx_on_exit "lab_stop $npid"
    lab_wait_grep "$LAB_DIR/node.err" "registered daemon-b" 15 ||
        { cat "$LAB_DIR/node.err" >&2; cnx_fail "s5: the RelayConnector did not register"; }
    {
        printf 'hello from clawnexus-link at site-a\n'
        lab_wait_grep "$LAB_DIR/chat.out" "daemon at site-b" 15
    } | lab_a timeout 30 "$CNX_LINK" chat --relay "$LAB_WSS" "${LAB_CRED[@]}" \
        --id laptop --to daemon-b --session v1 > "$LAB_DIR/chat.out" 2> "$LAB_DIR/chat.err"
    rc=$?
    [ $rc -eq 0 ] || { cat "$LAB_DIR/chat.err" >&2; cnx_fail "s5: chat exited $rc"; }
    wait "$npid" || { cat "$LAB_DIR/node.err" >&2; cnx_fail "s5: the RelayConnector did not get the message"; }
    [ "$(cat "$LAB_DIR/chat.out")" = "hello from the daemon at site-b" ] ||
        cnx_fail "s5: chat printed '$(cat "$LAB_DIR/chat.out")'"
    [ "$(cat "$LAB_DIR/node.out")" = "got: hello from clawnexus-link at site-a" ] ||
        cnx_fail "s5: the RelayConnector received '$(cat "$LAB_DIR/node.out")'"
    lab_say "    daemon-b $(lab_established "$LAB_DIR/chat.err" relay 1)"
    lab_say "    site-a got \"$(cat "$LAB_DIR/chat.out")\"; the daemon got \"$(sed 's/^got: //' "$LAB_DIR/node.out")\""
}

# lab_local_start: connect --local at site-a to office through the relay
# (cross_network config), kept running for scenarios 6 and 7.
lab_local_start() {
    [ -n "${LAB_LOCAL_PORT:-}" ] && return 0
    LAB_LOCAL_PORT=17000
    ip netns exec "$NS_A" env HOME="$LAB_DIR/a" "$CNX_LINK" -v connect \
        --relay "$LAB_WSS" "${LAB_CRED[@]}" --id home \
        --config "$LAB_DIR/a/cross.json" --local "127.0.0.1:$LAB_LOCAL_PORT" \
        office 2> "$LAB_DIR/local.err" &
    LAB_LOCAL_PID=$!
    cnx_on_exit "lab_stop $LAB_LOCAL_PID"
    lab_wait_grep "$LAB_DIR/local.err" "established" 15 ||
        { cat "$LAB_DIR/local.err" >&2; cnx_fail "connect --local did not establish"; }
}

# lab_send BYTES [MS_PER_MIB]: one stream through connect --local.  Prints
# the sender's line; status 0 = completed (then the sha256 must match),
# 3 = cut, 2 = no connection.
lab_send() {
    local line rc sent reply
    line=$(lab_ns "$NS_A" python3 "$LAB_TCP" send 127.0.0.1 "$LAB_LOCAL_PORT" "$@")
    rc=$?
    if [ $rc -eq 0 ]; then
        sent=${line%% | *}
        reply=${line#* | }
        [ "$sent" = "$reply" ] ||
            cnx_fail "a completed stream lost or duplicated bytes: sent '$sent', gateway got '$reply'"
    fi
    printf '%s\n' "$line"
    return $rc
}

# lab_diag: what the stream scenarios show when they fail.
lab_diag() {
    local f
    for f in send.out local.err serve-office.err; do
        echo "--- $f:" >&2
        tail -20 "$LAB_DIR/$f" >&2 2>/dev/null
    done
    ls -l "$LAB_DIR/gw" | tail -5 >&2
    lab_relay_tail
}

# lab_send_within SECONDS BYTES [MS_PER_MIB]: retry until one stream
# completes.
lab_send_within() {
    local limit=$1 t0
    shift
    t0=$(date +%s%N)
    while [ "$(lab_ms_since "$t0")" -lt $(( limit * 1000 )) ]; do
        if lab_send "$@" > "$LAB_DIR/send.out"; then
            LAB_MS=$(lab_ms_since "$t0")
            return 0
        fi
        sleep 0.2
    done
    return 1
}

e2e_s6() {
    lab_say "[6] the relay restarts while a stream is open"
    local bg rc line n0
    lab_local_start
    lab_send $(( 4 << 20 )) 50 > "$LAB_DIR/send.out" ||
        { lab_diag; cnx_fail "s6: no stream through the relay before the restart"; }
    lab_say "    stream before: 4 MiB, sha256 equal both ends"
    n0=$(grep -c "registered as office" "$LAB_DIR/serve-office.err")

    # A slow stream (about 6 s) is open while nginx reloads.
    lab_send $(( 64 << 20 )) 100 > "$LAB_DIR/slow.out" &
    bg=$!
    sleep 1.5
    lab_relay_reload
    wait "$bg"
    rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 3 ] || cnx_fail "s6: the open stream ended with status $rc"
    if [ $rc -eq 0 ]; then line="completed, sha256 equal"; else line="was cut (reported as reset, not as complete)"; fi
    lab_send_within 10 $(( 1 << 20 )) 50 ||
        { lab_diag; cnx_fail "s6: no new stream within 10 s of the reload"; }
    lab_say "    nginx -s reload: the open stream $line; a new stream worked after $LAB_MS ms"

    lab_relay_stop
    sleep 1
    lab_relay_start
    lab_send_within 10 $(( 1 << 20 )) 50 ||
        { lab_diag; cnx_fail "s6: no new stream within 10 s of the relay's restart"; }
    lab_say "    stop and start: a new stream worked after $LAB_MS ms"
    kill -0 "$LAB_OFFICE_PID" 2>/dev/null && kill -0 "$LAB_LOCAL_PID" 2>/dev/null ||
        cnx_fail "s6: an endpoint died instead of reconnecting"
    [ $(( $(grep -c "registered as office" "$LAB_DIR/serve-office.err") - n0 )) -ge 2 ] ||
        cnx_fail "s6: serve did not register again after both restarts"
    lab_say "    serve and connect --local reconnected by themselves (same processes)"
}

e2e_s7() {
    lab_say "[7] a long transfer through the relay: $LAB_BULK_MB MiB"
    local t0 ms
    lab_local_start
    t0=$(date +%s%N)
    lab_send $(( LAB_BULK_MB << 20 )) > "$LAB_DIR/bulk.out" ||
        { lab_diag; cnx_fail "s7: the long transfer did not complete"; }
    ms=$(lab_ms_since "$t0")
    lab_say "    sha256 equal both ends: $(cut -c1-16 "$LAB_DIR/bulk.out")…, $ms ms ($(( LAB_BULK_MB * 1000 / (ms + 1) )) MiB/s)"
}

# Scenario 8: the real OpenClaw gateway at site-b (token auth) on
# LAB_OC_PORT, reached from site-a on LAB_OC_LOCAL.
LAB_OC_PORT=18790
LAB_OC_LOCAL=28789

e2e_s8() {
    lab_say "[8] the real OpenClaw gateway at site-b, by name through the relay"
    local t0 pid out
    # the other scenarios still count without it: say so and go on
    if ! cnx_have_openclaw; then
        lab_say "    SKIPPED: needs Node 24 and openclaw in $CNX_OPENCLAW_DIR (scripts/install-deps installs them)"
        return 0
    fi
    t0=$(date +%s%N)
    LAB_OC_TOKEN="lab-gw-$$-$RANDOM$RANDOM"
    cnx_openclaw_start "$NS_B" "$LAB_DIR/oc" "$LAB_OC_PORT" \
        --auth token --token "$LAB_OC_TOKEN" ||
        cnx_fail "s8: the OpenClaw gateway did not answer /health at site-b"
    lab_say "    openclaw gateway run --auth token at site-b (127.0.0.1:$LAB_OC_PORT), up in $(lab_ms_since "$t0") ms"
    ip netns exec "$NS_B" env HOME="$LAB_DIR/b" "$CNX_LINK" -v serve \
        --relay "$LAB_WSS" "${LAB_CRED[@]}" --id openclaw \
        --forward "127.0.0.1:$LAB_OC_PORT" 2> "$LAB_DIR/serve-openclaw.err" &
    pid=$!
    cnx_on_exit "lab_stop $pid"
    lab_wait_grep "$LAB_DIR/serve-openclaw.err" "registered as openclaw" 15 ||
        { cat "$LAB_DIR/serve-openclaw.err" >&2; cnx_fail "s8: serve openclaw did not register"; }
    ip netns exec "$NS_A" env HOME="$LAB_DIR/a" "$CNX_LINK" -v connect \
        --relay "$LAB_WSS" "${LAB_CRED[@]}" --id home \
        --config "$LAB_DIR/a/cross.json" --local "127.0.0.1:$LAB_OC_LOCAL" \
        openclaw 2> "$LAB_DIR/oc-local.err" &
    pid=$!
    cnx_on_exit "lab_stop $pid"
    lab_wait_grep "$LAB_DIR/oc-local.err" "established" 15 ||
        { cat "$LAB_DIR/oc-local.err" >&2; cnx_fail "s8: connect --local to openclaw did not establish"; }
    lab_say "    site-a: openclaw $(lab_established "$LAB_DIR/oc-local.err" relay 2)"
    out=$(lab_ns "$NS_A" curl -sf "http://127.0.0.1:$LAB_OC_LOCAL/health") ||
        cnx_fail "s8: GET /health through the tunnel failed"
    case "$out" in *'"ok":true'*) ;; *) cnx_fail "s8: /health answered '$out'";; esac
    lab_say "    GET /health from site-a: $out"
    out=$(lab_ns "$NS_A" /usr/bin/python3 "$abs_top_srcdir/tests/e2e/openclaw_ws.py" \
          "ws://127.0.0.1:$LAB_OC_LOCAL" "$LAB_OC_TOKEN" 2>&1) ||
        { echo "$out" >&2; cnx_fail "s8: the gateway's WebSocket protocol through the relay failed"; }
    lab_say "$(sed 's/^/    WebSocket: /' <<< "$out")"
    out=$(lab_ns "$NS_A" /usr/bin/python3 "$abs_top_srcdir/tests/e2e/openclaw_ws.py" \
          "ws://127.0.0.1:$LAB_OC_LOCAL" "not-the-token" --bad 2>&1) ||
        { echo "$out" >&2; cnx_fail "s8: a wrong token was not refused"; }
    lab_say "    a wrong token through the tunnel: $(tail -1 <<< "$out")"
}

# lab_main SCENARIO...: the whole run of a test script: requirements (a
# missing one skips with the reason), the lab, the scenarios in the order
# given, the relay's error log.
lab_main() {
    local s t0 t1 dir
    cnx_need_netns
    cnx_need_cmd nft wg wireguard-go python3 openssl tcpdump
    [ -x "$NGINX_BIN" ] || cnx_skip "needs $NGINX_BIN (nginx-core)"
    [ -f "$NGINX_MODULES/ngx_stream_module.so" ] || cnx_skip "needs libnginx-mod-stream"
    [ -f "$CNX_MODULE" ] || cnx_fail "module not built: $CNX_MODULE"
    [ -x "$CNX_LINK" ] || cnx_fail "clawnexus-link not built: $CNX_LINK"
    [ -x "$CNX_WG" ] || cnx_fail "clawnexus-wg not built: $CNX_WG"
    for s in "$@"; do
        declare -F "e2e_s$s" > /dev/null || cnx_fail "no scenario '$s' (1-8)"
    done
    case " $* " in *" 5 "*) cnx_need_node_client ;; esac

    cnx_tmpdir dir
    t0=$(date +%s%N)
    lab_start "$dir"
    lab_say "lab up in $(lab_ms_since "$t0") ms: site-a and site-b behind NAT routers, the relay in vps (nginx, TLS, 2 workers), WireGuard between the sites"
    for s in "$@"; do
        t1=$(date +%s%N)
        "e2e_s$s"
        lab_detail "scenario $s: $(lab_ms_since "$t1") ms"
    done
    lab_relay_stop
    lab_relay_check_log
    lab_say "passed: scenario(s) $* in $(( $(lab_ms_since "$t0") / 1000 )) s"
}
