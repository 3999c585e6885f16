#!/bin/bash
# clawnexus-link chat <-> the real ClawNexus daemon client (npm
# clawnexus@0.4.0 RelayConnector) through the relay module on the stock
# nginx, session v1, messages both ways, with each side initiating once.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/link-lib.sh"

link_need_relay
cnx_need_node_client
cnx_tmpdir dir
export HOME="$dir/home"
mkdir -p "$HOME"
link_relay_start "$dir"
drv="$CNX_NODE_DIR/link-chat.js"

# 1. clawnexus-link JOINs the daemon.
node "$drv" "$RELAY_URL" "$RELAY_SECRET" "$RELAY_ISS" node-a.claw \
    --send "hello from node 1" --send "héllo from node 2 ✓" --expect 2 \
    --until-left > "$dir/n1.out" 2> "$dir/n1.err" &
npid=$!
cnx_on_exit "link_kill $npid"
link_wait_grep "$dir/n1.err" "registered node-a.claw" ||
    { cat "$dir/n1.err" >&2; cnx_fail "node connector did not register"; }

{
    printf 'hello from link 1\nhéllo from link 2 ✓\n'
    # keep stdin open until both messages from node were printed
    link_wait_grep "$dir/c1.out" "from node 2" 15
} | "$CNX_LINK" chat --relay "$RELAY_URL" --id link-a.claw \
        --secret-file "$RELAY_SECRET_FILE" --issuer "$RELAY_ISS" \
        --to node-a.claw --session v1 > "$dir/c1.out" 2> "$dir/c1.err"
rc=$?
cat "$dir/c1.err"
[ $rc -eq 0 ] || cnx_fail "chat --to exited $rc (expected 0: stdin ended)"
wait $npid || { cat "$dir/n1.err" >&2; cnx_fail "node side did not get both messages"; }
diff <(printf 'hello from node 1\nhéllo from node 2 ✓\n') "$dir/c1.out" ||
    cnx_fail "clawnexus-link printed the wrong messages"
diff <(printf 'got: hello from link 1\ngot: héllo from link 2 ✓\n') "$dir/n1.out" ||
    cnx_fail "the daemon connector received the wrong messages"
grep -q "node-a.claw → relay → established (encrypted v1)" "$dir/c1.err" ||
    cnx_fail "no 'established (encrypted v1)' line"

# 2. The daemon JOINs clawnexus-link (which accepts), and then leaves:
#    chat must end with the peer-left status (3).
mkfifo "$dir/in2"
# (default --session auto: a v1 daemon whose key is not pinned gets v1)
"$CNX_LINK" -v chat --relay "$RELAY_URL" --id link-b.claw \
    --secret-file "$RELAY_SECRET_FILE" --issuer "$RELAY_ISS" \
    < "$dir/in2" > "$dir/c2.out" 2> "$dir/c2.err" &
cpid=$!
cnx_on_exit "link_kill $cpid"
exec 7> "$dir/in2"
link_wait_grep "$dir/c2.err" "registered as link-b.claw" ||
    { cat "$dir/c2.err" >&2; cnx_fail "chat did not register"; }
node "$drv" "$RELAY_URL" "$RELAY_SECRET" "$RELAY_ISS" node-b.claw \
    --join link-b.claw --send "ping from node" --expect 1 \
    > "$dir/n2.out" 2> "$dir/n2.err" &
npid=$!
link_wait_grep "$dir/c2.out" "ping from node" 15 ||
    { cat "$dir/c2.err" "$dir/n2.err" >&2; cnx_fail "chat did not print the daemon's message"; }
echo "pong from link" >&7
wait $npid || { cat "$dir/n2.err" >&2; cnx_fail "node side did not get the reply"; }
grep -qx "got: pong from link" "$dir/n2.out" || cnx_fail "daemon got '$(cat "$dir/n2.out")'"
# node disconnected after its message: chat sees PEER_LEFT
for i in $(seq 100); do kill -0 $cpid 2>/dev/null || break; sleep 0.1; done
wait $cpid
rc=$?
exec 7>&-
[ $rc -eq 3 ] || { cat "$dir/c2.err" >&2; cnx_fail "chat exited $rc after the peer left (expected 3)"; }
grep -q "left" "$dir/c2.err" || cnx_fail "chat did not say the peer left"
grep -q "node-b.claw → relay → established (encrypted v1)" "$dir/c2.err" ||
    cnx_fail "auto mode did not settle on v1 with the daemon"

cnx_nginx_stop "$dir/relay"
cnx_nginx_check_log "$dir/relay"
cnx_log "clawnexus-link chat and npm clawnexus@0.4.0 talk v1 both ways"
