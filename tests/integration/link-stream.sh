#!/bin/bash
# clawnexus-link serve/connect carry TCP streams over session v2, through
# the relay module and directly: an echo, 50 MB transfers with equal
# sha256 at both ends, several streams at once in one room (--local), a
# refused forward target, one given by host name, and `list` showing the
# path last seen.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/link-lib.sh"

link_need_relay
cnx_need_cmd sha256sum python3
cnx_tmpdir dir
# two workers: the two ends of a room may sit in different workers
: "${LINK_WORKERS:=2}"
link_relay_start "$dir"
mkdir -p "$dir/hs" "$dir/hc" "$dir/sink"
tcp="$abs_top_srcdir/tests/integration/link_tcp.py"

echo_port=$(cnx_free_port)
python3 "$tcp" echo "$echo_port" & cnx_on_exit "link_kill $!"
sink_port=$(cnx_free_port)
python3 "$tcp" sink "$sink_port" "$dir/sink" & cnx_on_exit "link_kill $!"
cnx_wait_port 127.0.0.1 "$echo_port" || cnx_fail "echo service did not start"
cnx_wait_port 127.0.0.1 "$sink_port" || cnx_fail "sink service did not start"
# (that probe was the sink's connection 1)
echo_direct=$(cnx_free_port)
sink_direct=$(cnx_free_port)
dead_port=$(cnx_free_port)

serve() { # ID FORWARD [args]
    local id=$1 fwd=$2; shift 2
    HOME="$dir/hs" "$CNX_LINK" -v serve --relay "$RELAY_URL" --id "$id" \
        --secret-file "$RELAY_SECRET_FILE" --issuer "$RELAY_ISS" \
        --forward "$fwd" "$@" 2> "$dir/serve-$id.err" &
    cnx_on_exit "link_kill $!"
    link_wait_grep "$dir/serve-$id.err" "registered as $id" ||
        { cat "$dir/serve-$id.err" >&2; cnx_fail "serve $id did not register"; }
}
conn() { # TARGET [args]: connect with stdin/stdout
    local t=$1; shift
    HOME="$dir/hc" timeout 60 "$CNX_LINK" connect --relay "$RELAY_URL" \
        --id client.claw --secret-file "$RELAY_SECRET_FILE" \
        --issuer "$RELAY_ISS" "$@" "$t"
}
sink_check() { # N WHAT
    link_wait_grep "$dir/sink/$1.sha256" . 10 || cnx_fail "$2: the sink saw nothing"
    [ "$(cat "$dir/sink/$1.sha256")" = "$want 52428800" ] ||
        cnx_fail "$2: sink got '$(cat "$dir/sink/$1.sha256")', want '$want 52428800'"
}

serve echo.claw "127.0.0.1:$echo_port" --listen "127.0.0.1:$echo_direct"
serve sink.claw "127.0.0.1:$sink_port" --listen "127.0.0.1:$sink_direct"
serve dead.claw "127.0.0.1:$dead_port"

# 1. echo through the relay, then directly
out=$(echo "hello over the relay" | conn echo.claw 2> "$dir/c1.err") ||
    { cat "$dir/c1.err" >&2; cnx_fail "connect over the relay failed"; }
[ "$out" = "hello over the relay" ] || cnx_fail "relay echo returned '$out'"
grep -Eq "^echo.claw → relay → established \(encrypted v2, [0-9]+ ms RTT\)$" "$dir/c1.err" ||
    { cat "$dir/c1.err" >&2; cnx_fail "no relay path line"; }
out=$(echo "hello direct" | conn echo.claw --direct "127.0.0.1:$echo_direct" 2> "$dir/c2.err") ||
    { cat "$dir/c2.err" >&2; cnx_fail "direct connect failed"; }
[ "$out" = "hello direct" ] || cnx_fail "direct echo returned '$out'"
grep -Eq "^echo.claw → direct → established \(encrypted v2, [0-9]+ ms RTT\)$" "$dir/c2.err" ||
    { cat "$dir/c2.err" >&2; cnx_fail "no direct path line"; }

# 2. 50 MB: to the sink over the relay and directly, and an echo both ways
head -c 50M /dev/urandom > "$dir/big"
want=$(sha256sum < "$dir/big" | cut -d' ' -f1)
conn sink.claw < "$dir/big" 2> "$dir/c3.err" ||
    { cat "$dir/c3.err" >&2; cnx_fail "50 MB to the sink over the relay failed"; }
sink_check 2 "50 MB over the relay"
conn sink.claw --direct "127.0.0.1:$sink_direct" < "$dir/big" 2> "$dir/c4.err" ||
    { cat "$dir/c4.err" >&2; cnx_fail "50 MB to the sink directly failed"; }
grep -q "sink.claw → direct → established" "$dir/c4.err" || cnx_fail "50 MB did not go direct"
sink_check 3 "50 MB direct"
conn echo.claw < "$dir/big" > "$dir/big.echo" 2> "$dir/c5.err" ||
    { cat "$dir/c5.err" >&2; cnx_fail "50 MB echo over the relay failed"; }
[ "$(sha256sum < "$dir/big.echo" | cut -d' ' -f1)" = "$want" ] ||
    cnx_fail "50 MB echo over the relay: sha256 differs"
rm -f "$dir/big" "$dir/big.echo"

# 3. --local: three TCP clients at once become three streams of one room
lport=$(cnx_free_port)
HOME="$dir/hc" "$CNX_LINK" connect --relay "$RELAY_URL" --id client.claw \
    --secret-file "$RELAY_SECRET_FILE" --issuer "$RELAY_ISS" \
    --local "127.0.0.1:$lport" echo.claw 2> "$dir/local.err" &
cnx_on_exit "link_kill $!"
link_wait_grep "$dir/local.err" "established" ||
    { cat "$dir/local.err" >&2; cnx_fail "connect --local did not establish"; }
python3 - "$lport" <<'PY' || cnx_fail "parallel streams through --local failed"
import socket, sys, threading
port = int(sys.argv[1]); errors = []
def one(i):
    msg = (b"stream %d " % i) * 20000
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    def rd(out):
        while True:
            d = s.recv(65536)
            if not d: break
            out.append(d)
    got = []; t = threading.Thread(target=rd, args=(got,)); t.start()
    s.sendall(msg); s.shutdown(socket.SHUT_WR); t.join(20); s.close()
    if b"".join(got) != msg: errors.append(i)
ts = [threading.Thread(target=one, args=(i,)) for i in range(3)]
[t.start() for t in ts]; [t.join(30) for t in ts]
sys.exit(1 if errors else 0)
PY

# 4. a forward target that refuses: the stream is reset, exit 1, one line
if echo x | conn dead.claw > /dev/null 2> "$dir/c6.err"; then
    cnx_fail "a stream to a dead forward target succeeded"
fi
grep -q "refused stream" "$dir/c6.err" || { cat "$dir/c6.err" >&2; cnx_fail "no refusal line"; }

# 4b. a forward target given by host name: looked up on the resolver
# thread, then connected like a numeric one (every address is tried)
serve named.claw "localhost:$echo_port"
out=$(echo "hello by name" | conn named.claw 2> "$dir/c7.err") ||
    { cat "$dir/c7.err" "$dir/serve-named.claw.err" >&2; cnx_fail "a stream to a forward target given by name failed"; }
[ "$out" = "hello by name" ] || cnx_fail "echo through a named forward target returned '$out'"

# 5. list shows the paths seen
HOME="$dir/hc" "$CNX_LINK" list > "$dir/list.out" || cnx_fail "list failed"
grep -Eq "^echo.claw +(relay|direct) " "$dir/list.out" || { cat "$dir/list.out" >&2; cnx_fail "list lacks echo.claw"; }
grep -Eq "^sink.claw +(relay|direct) " "$dir/list.out" || { cat "$dir/list.out" >&2; cnx_fail "list lacks sink.claw"; }

cnx_nginx_stop "$dir/relay"
cnx_nginx_check_log "$dir/relay"
cnx_log "serve/connect carry streams over the relay and directly (50 MB, sha256 equal)"
