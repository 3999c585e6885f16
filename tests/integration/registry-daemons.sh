#!/bin/bash
# Two unmodified clawnexus 0.4.0 daemons (the npm package's own CLI and
# HTTP API, separate HOMEs and API ports) with CLAWNEXUS_REGISTRY_URL at
# our registry (nginx, HTTPS) and the relay reached through the registry's
# relay_hint over TLS; the real OpenClaw gateway (npm openclaw, Node 24) as
# their local OpenClaw.  Everything runs in a loopback-only network
# namespace made here (the gateway looks up DNS names; the daemons would
# try the public registry and mDNS).
#
# Checked: both register (the second through the 409 and its -1 name) and
# get tokens; one connects to the other by name through our relay; a
# proposal reaches the other's inbox, is approved, and the outcome comes
# back to the proposer.  The gateway refuses the daemon's gateway protocol
# 3, which the daemon's log shows; the task then ends "failed" at the
# proposer (docs/registry.md).
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"
. "$abs_top_srcdir/tests/integration/registry-lib.sh"

registry_need
cnx_need_netns
cnx_need_node_client
cnx_need_cmd curl python3
PY=/usr/bin/python3
cnx_have_openclaw ||
    cnx_skip "needs Node 24 and openclaw in $CNX_OPENCLAW_DIR (scripts/install-deps installs them)"
cli="$CNX_NODE_DIR/node_modules/clawnexus/dist/cli/index.js"

cnx_tmpdir dir
chmod 711 "$dir"
mkdir "$dir/db" "$dir/a" "$dir/b" "$dir/gw"
chown nobody "$dir/db"
ns="cnxreg$$"
ip netns add "$ns" || cnx_fail "cannot make network namespace $ns"
cnx_on_exit "ip netns del '$ns'"
ip -n "$ns" link set lo up
in_ns() { ip netns exec "$ns" "$@"; }

relay_port=$(cnx_free_port)
reg_port=$(cnx_free_port)
relay_secret "$dir" daemons-secret
registry_setup "$dir"

registry_location /clawnexus/ db/registry.db "$relay_port" \
    "clawnexus_jwt_secret_file relay.secret;" |
    registry_conf "$relay_port" "$reg_port" "" "
    access_log logs/access.log;" "
    server {
        listen 127.0.0.1:$((relay_port + 1));
        clawnexus_status;
    }" 512 > "$dir/nginx.conf"
mkdir -p "$dir/logs"
in_ns env $(cnx_nginx_env) "$NGINX_BIN" -p "$dir" -c nginx.conf \
    -e "$dir/logs/error.log" -g "pid $dir/nginx.pid;" \
    > "$dir/logs/startup.log" 2>&1 ||
    { cat "$dir/logs/startup.log" >&2; cnx_fail "nginx did not start"; }
cnx_on_exit "cnx_nginx_stop '$dir'"

# the real OpenClaw gateway, as the daemons' local OpenClaw (no auth: the
# daemon's probe sends no header); its log stays in our directory
cnx_openclaw_start "$ns" "$dir/gw" 18789 --auth none ||
    cnx_fail "the OpenClaw gateway did not answer /health"
in_ns curl -sf http://127.0.0.1:18789/__openclaw/control-ui-config.json \
    > "$dir/gw/ui.json" || cnx_fail "the gateway does not serve control-ui-config.json"
grep -q '"assistantAgentId":"main"' "$dir/gw/ui.json" ||
    cnx_fail "unexpected control-ui-config.json: $(cat "$dir/gw/ui.json")"
cnx_log "the OpenClaw gateway answers on 127.0.0.1:18789 (agent id main)"

start_daemon() {  # start_daemon HOME PORT: the CLI's own foreground entry
    # ip netns exec, not in_ns: $! must be the daemon itself
    ip netns exec "$ns" env HOME="$1" CLAWNEXUS_PORT="$2" \
        CLAWNEXUS_REGISTRY_URL="https://localhost:$reg_port/clawnexus" \
        NODE_EXTRA_CA_CERTS="$dir/tls.crt" \
        node "$cli" start --_daemon > "$1/daemon.log" 2>&1 &
    cnx_on_exit "kill -TERM $!"
}
start_daemon "$dir/a" 17890
start_daemon "$dir/b" 17892

in_ns env HOME="$dir/a" "$PY" "$abs_top_srcdir/tests/integration/registry_daemons.py" \
    "$cli" "https://localhost:$reg_port/clawnexus" "$dir/tls.crt" \
    "$dir/a" http://127.0.0.1:17890 "$dir/b" http://127.0.0.1:17892 \
    > "$dir/run.out" 2>&1 ||
    { cat "$dir/run.out" >&2; tail -15 "$dir/a/daemon.log" "$dir/b/daemon.log" \
      "$dir/logs/error.log" >&2; cnx_fail "the daemons' scenario failed"; }
cat "$dir/run.out"

# the gateway protocol: the daemon offers 3, this gateway wants 4
grep -h 'Executor\]' "$dir/b/daemon.log" | sort -u | head -5
grep -q 'protocol mismatch' "$dir/b/daemon.log" "$dir/gw/openclaw.log" \
    "$dir/gw/stdout.log" 2>/dev/null &&
    cnx_log "the gateway refused the daemon's gateway protocol 3 (protocol mismatch)"

# a daemon and clawnexus-link chat --registry, both ways: the link (no
# relay secret, relay from the registry's hint) waits; daemon A connects
# to it by name; the daemon's proposal arrives on chat's stdout, and the
# link's own proposal (a Layer-B envelope typed as a line) draws the
# daemon's reply (its default policy rejects an unknown peer)
name_a=$(sed -n 's/^names: A=\([^ ]*\) .*/\1/p' "$dir/run.out")
mkdir -p "$dir/link"
mkfifo "$dir/link.in"
ip netns exec "$ns" env HOME="$dir/link" "$CNX_LINK" -v chat \
    --registry "https://localhost:$reg_port/clawnexus" --ca-file "$dir/tls.crt" \
    --id linkuser < "$dir/link.in" > "$dir/link.out" 2> "$dir/link.err" &
link_pid=$!
cnx_on_exit "kill $link_pid"
exec 7> "$dir/link.in"
wait_grep() {  # wait_grep FILE PATTERN SECONDS
    local i
    for (( i=0; i<$3*10; i++ )); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
wait_grep "$dir/link.err" "registered as linkuser.claw" 20 ||
    { cat "$dir/link.err" >&2; cnx_fail "clawnexus-link did not register through the registry"; }
in_ns node "$cli" connect linkuser.claw --api http://127.0.0.1:17890 > /dev/null ||
    cnx_fail "clawnexus connect linkuser.claw failed"
wait_grep "$dir/link.err" "$name_a → relay → established (encrypted v1)" 20 ||
    { cat "$dir/link.err" >&2; cnx_fail "daemon A did not reach the link"; }
in_ns node "$cli" propose linkuser.claw echo "hello link" \
    --api http://127.0.0.1:17890 > /dev/null || cnx_fail "propose to the link failed"
wait_grep "$dir/link.out" '"description":"hello link"' 20 ||
    { cat "$dir/link.out" "$dir/link.err" >&2; cnx_fail "the daemon's proposal did not reach chat"; }
cnx_log "daemon -> clawnexus-link: the proposal arrived on chat's stdout"
printf '{"protocol":"clawnexus-agent","version":"1.0","message_id":"link-%s-1","from":"linkuser.claw","to":"%s","type":"propose","payload":{"task":{"task_type":"echo","description":"hello daemon"}},"timestamp":"%s","ttl":300}\n' \
    "$$" "$name_a" "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" >&7
wait_grep "$dir/link.out" "\"in_reply_to\":\"link-$$-1\"" 20 ||
    { cat "$dir/link.out" >&2; cnx_fail "no reply from the daemon to the link's proposal"; }
grep "\"in_reply_to\":\"link-$$-1\"" "$dir/link.out" | grep -q '"type":"reject"' ||
    cnx_fail "the daemon's reply is not the policy's reject: $(tail -1 "$dir/link.out")"
exec 7>&-
cnx_log "clawnexus-link -> daemon: the daemon answered the link's proposal (reject: not whitelisted)"

# the registry saw the 409 and the tokens
grep -c '"POST /clawnexus/register HTTP/1.1" 409' "$dir/logs/access.log" |
    grep -qv '^0$' || cnx_fail "no 409 on /register in the access log"
grep -q '"POST /clawnexus/token HTTP/1.1" 200' "$dir/logs/access.log" ||
    cnx_fail "no token was handed out"
cnx_nginx_check_log "$dir"
cnx_log "two daemons: registry, relay over TLS, pairing, inbox, approval, outcome"
