#!/bin/bash
# The WebSocket codecs of libclawnexus against two independent
# implementations: a peer made only of cnx_http/cnx_ws (codec_ws_peer)
# serves Python websockets and Node ws clients (handshake with
# permessage-deflate declined, text, fragments split inside a character,
# ping/pong, large binary, close codes 1000/1009, 404), and as a client it
# talks to a Python websockets echo server (fragments with a ping between
# them, 300 kB binary in fragments, closing handshake, 1007 refusal).
. "$abs_top_srcdir/tests/lib.sh"

PEER="$abs_top_builddir/tests/integration/codec_ws_peer"
PY=/usr/bin/python3
[ -x "$PEER" ] || cnx_fail "not built: $PEER"

have_py=no
"$PY" -c 'import websockets' 2>/dev/null && have_py=yes
have_node=no
command -v node >/dev/null 2>&1 && [ -d "$CNX_NODE_DIR/node_modules/ws" ] &&
    have_node=yes
[ "$have_py" = yes ] || [ "$have_node" = yes ] ||
    cnx_skip "needs python3-websockets or node with tests/node/node_modules/ws (scripts/install-deps installs both)"

cnx_tmpdir dir

# wait_file FILE: wait up to 5 s for FILE to hold a line.
wait_file() {
    local i
    for i in $(seq 50); do
        [ -s "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

# start_peer_server NAME: start codec_ws_peer server, set $port.
start_peer_server() {
    "$PEER" server > "$dir/$1.port" 2> "$dir/$1.log" &
    cnx_on_exit "kill $!"
    wait_file "$dir/$1.port" || cnx_fail "codec_ws_peer server did not start"
    port=$(cat "$dir/$1.port")
}

ran=""

if [ "$have_py" = yes ]; then
    cat > "$dir/client.py" <<'PY'
import asyncio, os, sys, websockets
url = "ws://127.0.0.1:%s" % sys.argv[1]
async def main():
    async with websockets.connect(url + "/relay", max_size=1 << 21) as ws:
        assert ws.extensions == [], ws.extensions
        await ws.send("h\u00e9llo")
        assert await ws.recv() == "h\u00e9llo"
        await ws.send(["fr", "ag", "m\u00e9nt"])          # three fragments
        assert await ws.recv() == "fragm\u00e9nt"
        await asyncio.wait_for(await ws.ping(b"xyz"), 5)
        data = os.urandom(200000)
        await ws.send(data)
        assert await ws.recv() == data
        await ws.close(1000, "bye")
        assert ws.close_code == 1000, ws.close_code
    async with websockets.connect(url + "/relay", max_size=1 << 21) as ws:
        try:
            # Over the 1 MiB limit: the server may close with 1009 while
            # the message is still being sent, or right after.
            await ws.send(b"x" * ((1 << 20) + 1))
            await asyncio.wait_for(ws.recv(), 5)
            raise SystemExit("oversize message was echoed")
        except websockets.ConnectionClosed as e:
            assert e.code == 1009, e.code
    try:
        async with websockets.connect(url + "/other"):
            raise SystemExit("wrong path accepted")
    except websockets.InvalidStatusCode as e:
        assert e.status_code == 404, e.status_code
asyncio.run(main())
PY
    cat > "$dir/echo.py" <<'PY'
import asyncio, websockets
async def echo(ws, path=None):
    try:
        async for m in ws:
            await ws.send(m)
    except websockets.ConnectionClosed:
        pass
async def main():
    async with websockets.serve(echo, "127.0.0.1", 0, max_size=1 << 20) as s:
        print(s.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
PY
    start_peer_server py
    timeout 30 "$PY" "$dir/client.py" "$port" > "$dir/client.out" 2>&1 ||
        { cat "$dir/client.out" "$dir/py.log" >&2; cnx_fail "Python client against the codec server"; }
    grep -q "^server: open (deflate offered: 1)" "$dir/py.log" ||
        cnx_fail "the server did not see the permessage-deflate offer"
    grep -q "^server: error, close 1009" "$dir/py.log" ||
        { cat "$dir/py.log" >&2; cnx_fail "no 1009 for the oversize message"; }

    "$PY" "$dir/echo.py" > "$dir/echo.port" 2> "$dir/echo.log" &
    cnx_on_exit "kill $!"
    wait_file "$dir/echo.port" || cnx_fail "Python echo server did not start"
    timeout 30 "$PEER" client "$(cat "$dir/echo.port")" > "$dir/peer.out" 2>&1 ||
        { cat "$dir/peer.out" "$dir/echo.log" >&2; cnx_fail "codec client against the Python server"; }
    grep -q "all checks passed" "$dir/peer.out" || cnx_fail "codec client did not finish"
    ran="$ran python-websockets"
fi

if [ "$have_node" = yes ]; then
    cat > "$dir/client.js" <<'JS'
const WebSocket = require(process.argv[2] + '/node_modules/ws');
const crypto = require('crypto');
const ws = new WebSocket(`ws://127.0.0.1:${process.argv[3]}/relay`);
const big = crypto.randomBytes(150000);
const expect = [
  (d, bin) => !bin && d.toString() === 'h\u00e9llo',
  (d, bin) => !bin && d.toString() === 'fragm\u00e9nt',
  (d, bin) => bin && Buffer.compare(d, big) === 0,
];
let step = 0, ponged = false;
const fail = (m) => { console.error('FAILED: ' + m); process.exit(1); };
setTimeout(() => fail('timeout'), 10000).unref();
ws.on('open', () => {
  if (ws.extensions !== '') fail('extension accepted: ' + ws.extensions);
  ws.send('h\u00e9llo');
  ws.send('fr', { fin: false });
  ws.send('ag', { fin: false });
  ws.send('m\u00e9nt', { fin: true });
  ws.ping('abc');
  ws.send(big);
});
ws.on('pong', (d) => { if (d.toString() !== 'abc') fail('pong'); ponged = true; });
ws.on('message', (d, bin) => {
  if (!expect[step](d, bin)) fail('echo ' + step);
  if (++step === expect.length) ws.close(1000, 'bye');
});
ws.on('close', (code) => {
  if (code !== 1000 || step !== expect.length || !ponged) fail('close ' + code);
  process.exit(0);
});
ws.on('error', (e) => fail(String(e)));
JS
    start_peer_server node
    timeout 30 node "$dir/client.js" "$CNX_NODE_DIR" "$port" > "$dir/node.out" 2>&1 ||
        { cat "$dir/node.out" "$dir/node.log" >&2; cnx_fail "Node ws client against the codec server"; }
    ran="$ran node-ws"
fi

cnx_log "codec WebSocket peer interoperates with:$ran"
