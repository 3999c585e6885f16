#!/bin/bash
# The relay goes away (nginx stopped) and comes back on the same port:
# `serve` and `connect --local` reconnect by themselves, register again,
# join again, and a new stream works within 10 s.  Then the relay crashes
# (kill -9, so no PEER_LEFT): two `chat` endpoints reconnect, join again
# and go on talking.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/link-lib.sh"

link_need_relay
cnx_need_cmd python3
cnx_tmpdir dir
link_relay_start "$dir"
mkdir -p "$dir/hs" "$dir/hc"
link_echo_start
echo_port=$ECHO_PORT

HOME="$dir/hs" "$CNX_LINK" -v serve --relay "$RELAY_URL" --id office.claw \
    --secret-file "$RELAY_SECRET_FILE" --issuer "$RELAY_ISS" \
    --forward "127.0.0.1:$echo_port" 2> "$dir/serve.err" &
cnx_on_exit "link_kill $!"
link_wait_grep "$dir/serve.err" "registered as office.claw" ||
    { cat "$dir/serve.err" >&2; cnx_fail "serve did not register"; }
lport=$(cnx_free_port)
HOME="$dir/hc" "$CNX_LINK" -v connect --relay "$RELAY_URL" --id home.claw \
    --secret-file "$RELAY_SECRET_FILE" --issuer "$RELAY_ISS" \
    --local "127.0.0.1:$lport" office.claw 2> "$dir/conn.err" &
cnx_on_exit "link_kill $!"
link_wait_grep "$dir/conn.err" "established" ||
    { cat "$dir/conn.err" >&2; cnx_fail "connect --local did not establish"; }

through() { # one echo through --local, within 10 s
    python3 - "$lport" "$1" <<'PY'
import socket, sys, time
port, msg = int(sys.argv[1]), sys.argv[2].encode()
end = time.time() + 10
while time.time() < end:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=3)
        s.sendall(msg); s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            d = s.recv(4096)
            if not d: break
            got += d
        s.close()
        if got == msg:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit(1)
PY
}

through "before the restart" || cnx_fail "no stream before the restart"
cnx_nginx_stop "$dir/relay"
link_wait_grep "$dir/serve.err" "relay connection lost" ||
    cnx_fail "serve did not notice the relay going away"
sleep 1
cnx_nginx_start "$dir/relay"
t0=$(date +%s)
[ "$(grep -c "registered as office.claw" "$dir/serve.err")" -ge 1 ] || true
through "after the restart" ||
    { cat "$dir/serve.err" "$dir/conn.err" >&2; cnx_fail "no stream within 10 s of the relay's return"; }
cnx_log "stream works again $(( $(date +%s) - t0 )) s after the relay came back"
[ "$(grep -c "registered as office.claw" "$dir/serve.err")" -ge 2 ] ||
    cnx_fail "serve did not register again"
[ "$(grep -c "established" "$dir/conn.err")" -ge 2 ] ||
    cnx_fail "connect did not establish a new session"


# chats: A waits, B joins A; one line each way
mkdir -p "$dir/ca" "$dir/cb"
mkfifo "$dir/a.in" "$dir/b.in"
HOME="$dir/ca" "$CNX_LINK" -v chat --relay "$RELAY_URL" --id chat-a.claw \
    --secret-file "$RELAY_SECRET_FILE" --issuer "$RELAY_ISS" \
    < "$dir/a.in" > "$dir/a.out" 2> "$dir/a.err" &
apid=$!; cnx_on_exit "link_kill $apid"
exec 7> "$dir/a.in"
link_wait_grep "$dir/a.err" "registered as chat-a.claw" || cnx_fail "chat A did not register"
HOME="$dir/cb" "$CNX_LINK" -v chat --relay "$RELAY_URL" --id chat-b.claw \
    --secret-file "$RELAY_SECRET_FILE" --issuer "$RELAY_ISS" --to chat-a.claw \
    < "$dir/b.in" > "$dir/b.out" 2> "$dir/b.err" 7>&- &
bpid=$!; cnx_on_exit "link_kill $bpid"
exec 8> "$dir/b.in"
echo "one from B" >&8
link_wait_grep "$dir/a.out" "one from B" || { cat "$dir/a.err" "$dir/b.err" >&2; cnx_fail "chat A got nothing"; }

# crash: the workers and the master die at once
master=$(cnx_nginx_pid "$dir/relay")
kill -STOP "$master"            # so that it cannot start new workers
workers=$(pgrep -P "$master")
kill -KILL "$master" $workers
for p in $workers $master; do
    for (( i=0; i<100; i++ )); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
done
link_wait_grep "$dir/b.err" "relay connection lost" || cnx_fail "chat B did not notice the crash"
rm -f "$dir/relay/nginx.pid"
# (nginx must not inherit the chats' stdin pipes, or they never see EOF)
cnx_nginx_start "$dir/relay" 7>&- 8>&-
cnx_wait_port 127.0.0.1 "${RELAY_URL//[^0-9]/}" 2>/dev/null || true
[ "$(grep -c "established" "$dir/b.err")" -ge 1 ] || cnx_fail "chat B never established"
for (( i=0; i<300; i++ )); do
    [ "$(grep -c "established" "$dir/b.err")" -ge 2 ] && break
    sleep 0.05
done
[ "$(grep -c "established" "$dir/b.err")" -ge 2 ] ||
    { cat "$dir/a.err" "$dir/b.err" >&2; cnx_fail "the chats did not re-establish within 15 s"; }
echo "two from B" >&8
link_wait_grep "$dir/a.out" "two from B" || { cat "$dir/a.err" "$dir/b.err" >&2; cnx_fail "no message after the crash"; }
kill -0 $apid && kill -0 $bpid || cnx_fail "a chat ended during the crash"
exec 8>&-
for (( i=0; i<200; i++ )); do kill -0 $bpid 2>/dev/null || break; sleep 0.05; done
kill -0 $bpid 2>/dev/null && cnx_fail "chat B did not end 10 s after its stdin ended"
wait $bpid; rc=$?
[ $rc -eq 0 ] || cnx_fail "chat B exited $rc after its stdin ended"
exec 7>&-

cnx_nginx_stop "$dir/relay"
cnx_log "serve, connect --local and chat survive a relay restart and a crash"
