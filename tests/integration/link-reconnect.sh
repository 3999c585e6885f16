#!/bin/bash
# The relay goes away (nginx stopped) and comes back on the same port:
# `serve` and `connect --local` reconnect by themselves, register again,
# join again, and a new stream works within 10 s.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/link-lib.sh"

link_need_relay
cnx_need_cmd python3
cnx_tmpdir dir
link_relay_start "$dir"
mkdir -p "$dir/hs" "$dir/hc"
tcp="$abs_top_srcdir/tests/integration/link_tcp.py"
echo_port=$(cnx_free_port)
python3 "$tcp" echo "$echo_port" & cnx_on_exit "link_kill $!"
cnx_wait_port 127.0.0.1 "$echo_port" || cnx_fail "echo service did not start"

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

cnx_nginx_stop "$dir/relay"
cnx_nginx_check_log "$dir/relay"
cnx_log "serve and connect --local survive a relay restart"
