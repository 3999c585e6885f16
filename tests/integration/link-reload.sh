#!/bin/bash
# clawnexus-link across relay reloads and a name taken over:
# - 20 `nginx -s reload` with a chat pair open: a 1001 close is never taken
#   for the peer leaving; both sides reconnect, the initiator joins again,
#   the session is re-established after every reload and messages typed
#   meanwhile arrive;
# - a long-running `connect --local` whose id a one-off command registers
#   too (REPLACED): it says so, takes the name back, and still reaches its
#   peer after the peer restarts.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/link-lib.sh"

link_need_relay
cnx_need_cmd python3
cnx_tmpdir dir
: "${LINK_WORKERS:=2}"
link_relay_start "$dir"
S=(--secret-file "$RELAY_SECRET_FILE" --issuer "$RELAY_ISS")
RELOADS=${LINK_RELOADS:-20}

# established COUNT FILE: wait until FILE has COUNT "established" lines
established() {
    local want=$1 f=$2 i
    for (( i=0; i<300; i++ )); do
        [ "$(grep -c "established" "$f")" -ge "$want" ] && return 0
        sleep 0.05
    done
    return 1
}

mkfifo "$dir/a.in" "$dir/b.in"
HOME="$dir/ha" "$CNX_LINK" -v chat --relay "$RELAY_URL" --id a.claw "${S[@]}" \
    < "$dir/a.in" > "$dir/a.out" 2> "$dir/a.err" &
apid=$!; cnx_on_exit "link_kill $apid"
exec 7> "$dir/a.in"
link_wait_grep "$dir/a.err" "registered as a.claw" || { cat "$dir/a.err" >&2; cnx_fail "chat a.claw did not register"; }
HOME="$dir/hb" "$CNX_LINK" -v chat --relay "$RELAY_URL" --id b.claw "${S[@]}" --to a.claw \
    < "$dir/b.in" > "$dir/b.out" 2> "$dir/b.err" &
bpid=$!; cnx_on_exit "link_kill $bpid"
exec 8> "$dir/b.in"
established 1 "$dir/a.err" && established 1 "$dir/b.err" ||
    { cat "$dir/a.err" "$dir/b.err" >&2; cnx_fail "the chat pair did not start"; }
echo "before the reloads" >&8
link_wait_grep "$dir/a.out" "before the reloads" || cnx_fail "first message lost"

for (( i=1; i<=RELOADS; i++ )); do
    cnx_nginx_reload "$dir/relay"
    sleep 0.3
    established $(( i + 1 )) "$dir/a.err" && established $(( i + 1 )) "$dir/b.err" ||
        { cat "$dir/a.err" "$dir/b.err" >&2; cnx_fail "reload $i: the session was not re-established"; }
    kill -0 "$apid" 2>/dev/null || { cat "$dir/a.err" >&2; cnx_fail "reload $i: chat a.claw exited"; }
    kill -0 "$bpid" 2>/dev/null || { cat "$dir/b.err" >&2; cnx_fail "reload $i: chat b.claw exited"; }
done
grep -q " left" "$dir/a.err" "$dir/b.err" && { cat "$dir/a.err" "$dir/b.err" >&2; cnx_fail "a reload was taken for the peer leaving"; }
echo "after the reloads, b to a" >&8
echo "after the reloads, a to b" >&7
link_wait_grep "$dir/a.out" "after the reloads, b to a" 20 || cnx_fail "no message b -> a after $RELOADS reloads"
link_wait_grep "$dir/b.out" "after the reloads, a to b" 20 || cnx_fail "no message a -> b after $RELOADS reloads"
cnx_log "chat pair survived $RELOADS reloads"

# the peer really leaving is still reported (status 3)
exec 8>&-
wait "$bpid"; rc=$?
[ $rc -eq 0 ] || cnx_fail "chat b.claw ended with $rc after stdin closed"
wait "$apid"; rc=$?
[ $rc -eq 3 ] || { cat "$dir/a.err" >&2; cnx_fail "chat a.claw ended with $rc when its peer left, expected 3"; }
exec 7>&-

# REPLACED: a one-off command takes the id of a long-running connect
link_echo_start
serve_office() {
    HOME="$dir/hs" "$CNX_LINK" -v serve --relay "$RELAY_URL" --id office.claw "${S[@]}" \
        --forward "127.0.0.1:$ECHO_PORT" 2>> "$dir/serve.err" &
    spid=$!; cnx_on_exit "link_kill $spid"
}
# echo_via PORT TEXT: one line through a local port, echoed back
echo_via() { python3 "$abs_top_srcdir/tests/integration/link_probe.py" echo "$1" "$2"; }
serve_office
link_wait_grep "$dir/serve.err" "registered as office.claw" || { cat "$dir/serve.err" >&2; cnx_fail "serve did not register"; }
lport=$(cnx_free_port)
HOME="$dir/hl" "$CNX_LINK" -v connect --relay "$RELAY_URL" --id home.claw "${S[@]}" \
    --local "127.0.0.1:$lport" office.claw 2> "$dir/long.err" &
lpid=$!; cnx_on_exit "link_kill $lpid"
link_wait_grep "$dir/long.err" "established" || { cat "$dir/long.err" >&2; cnx_fail "long-running connect did not start"; }
echo_via "$lport" "first" || cnx_fail "no echo through the long-running connect"
out=$(echo "one-off" | HOME="$dir/hl" timeout 20 "$CNX_LINK" connect --relay "$RELAY_URL" \
    --id home.claw "${S[@]}" office.claw 2> "$dir/oneoff.err") ||
    { cat "$dir/oneoff.err" "$dir/long.err" >&2; cnx_fail "one-off connect with the same id failed"; }
[ "$out" = "one-off" ] || cnx_fail "one-off echo returned '$out'"
link_wait_grep "$dir/long.err" "home.claw was registered by another connection (REPLACED)" ||
    { cat "$dir/long.err" >&2; cnx_fail "REPLACED not reported"; }
grep -q "^clawnexus-link: warning: relay .*: home.claw was registered by another connection" "$dir/long.err" ||
    { cat "$dir/long.err" >&2; cnx_fail "REPLACED is not reported as a warning (the process goes on)"; }
# the peer restarts: the long-running endpoint must still reach it
link_kill "$spid"
serve_office
ok=0
for (( i=0; i<100; i++ )); do
    if echo_via "$lport" "after the restart" 2>/dev/null; then ok=1; break; fi
    kill -0 "$lpid" 2>/dev/null || { cat "$dir/long.err" >&2; cnx_fail "long-running connect exited after REPLACED"; }
    sleep 0.2
done
[ $ok = 1 ] || { cat "$dir/long.err" >&2; cnx_fail "long-running connect lost its peer after REPLACED"; }
grep -q "registering home.claw on .* again" "$dir/long.err" || { cat "$dir/long.err" >&2; cnx_fail "the name was not taken back"; }
cnx_log "a long-running connect survives REPLACED and a peer restart"
