#!/usr/bin/python3
"""Protocol edge cases and bad input against the relay module.

usage: relay_edge.py HOST PORT SECRET ISSUER SMALL_PORT SMALL_MAX LIMITS_PORT

SMALL_PORT is a second relay server with clawnexus_max_message SMALL_MAX;
LIMITS_PORT a third one with clawnexus_max_connections_per_ip 2 and
clawnexus_max_auth_failures 3 (clients bind other loopback addresses for
those checks so that they start from a clean count).

Uses Debian's python3-websockets as an independent WebSocket client, and a
raw socket for input no library would produce (bad upgrades, unmasked
frames, invalid UTF-8, oversize frames).  Each check prints "ok - ..." or
raises; exit status 0 only if everything passed.
"""

import asyncio
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import time

import websockets

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import relay_testlib as lib
from relay_testlib import expect, ok

HOST, PORT, SECRET, ISSUER, SMALL_PORT, SMALL_MAX, LIMITS_PORT = sys.argv[1:8]
LIMITS_PORT = int(LIMITS_PORT)
PORT = int(PORT)
SMALL_PORT = int(SMALL_PORT)
SMALL_MAX = int(SMALL_MAX)
URL = f"ws://{HOST}:{PORT}/relay"
TIMEOUT = 5


def mint(sub, ttl=300, key=None, alg="HS256", iss=None, header=None):
    return lib.mint(key or SECRET, sub, ttl,
                    {"iss": ISSUER if iss is None else iss}, header, alg)


async def recv_json(ws):
    raw = await asyncio.wait_for(ws.recv(), TIMEOUT)
    return json.loads(raw), raw


async def expect_error(ws, code, what):
    msg, _ = await recv_json(ws)
    expect(msg.get("type") == "ERROR" and msg.get("code") == code,
           f"{what} -> ERROR {code} (got {msg})")


async def client(claw_id, binary=False):
    ws = await websockets.connect(URL, compression=None, max_size=None)
    reg = {"type": "REGISTER", "claw_id": claw_id,
           "auth_token": mint(claw_id)}
    if binary:
        reg["binary"] = True
    await ws.send(json.dumps(reg))
    msg, _ = await recv_json(ws)
    assert msg["type"] == "REGISTERED" and msg["claw_id"] == claw_id, msg
    if binary:
        assert msg.get("binary") is True, msg
    return ws


async def pair(a, a_id, b, b_id):
    await a.send(json.dumps({"type": "JOIN", "claw_id": a_id,
                             "target_claw_id": b_id,
                             "auth_token": mint(a_id)}))
    inc, _ = await recv_json(b)
    assert inc["type"] == "INCOMING" and inc["from_claw_id"] == a_id, inc
    room = inc["room_id"]
    await b.send(json.dumps({"type": "ACCEPT", "room_id": room}))
    ja, _ = await recv_json(a)
    jb, _ = await recv_json(b)
    assert ja == {"type": "JOINED", "room_id": room, "peer_claw_id": b_id}, ja
    assert jb == {"type": "JOINED", "room_id": room, "peer_claw_id": a_id}, jb
    return room


async def wait_closed(ws):
    try:
        await asyncio.wait_for(ws.recv(), TIMEOUT)
        raise AssertionError("socket still open")
    except websockets.ConnectionClosed:
        pass


async def nothing_pending(ws, what):
    try:
        raw = await asyncio.wait_for(ws.recv(), 0.3)
    except asyncio.TimeoutError:
        ok(what)
        return
    raise AssertionError(f"{what}: unexpected {raw!r}")


# raw socket helpers ---------------------------------------------------------

def raw_upgrade(path="/relay", extra="", version="13", key=None, port=None):
    s = socket.create_connection((HOST, port or PORT), timeout=TIMEOUT)
    key = key or base64.b64encode(os.urandom(16)).decode()
    req = (f"GET {path} HTTP/1.1\r\nHost: {HOST}:{PORT}\r\n"
           f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {key}\r\n"
           f"Sec-WebSocket-Version: {version}\r\n{extra}\r\n")
    s.sendall(req.encode())
    return s, key


def read_head(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def frame(opcode, payload, mask=True, fin=True, rsv=0):
    b0 = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    if n < 126:
        hdr = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return hdr + payload
    key = os.urandom(4)
    return hdr + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


def read_frames(s, rest=b""):
    """Read server frames until the server closes; return [(op, payload)]."""
    buf = rest
    s.settimeout(TIMEOUT)
    while True:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        buf += chunk
    frames = []
    while len(buf) >= 2:
        op = buf[0] & 0x0F
        n = buf[1] & 0x7F
        off = 2
        if n == 126:
            n = struct.unpack("!H", buf[2:4])[0]
            off = 4
        elif n == 127:
            n = struct.unpack("!Q", buf[2:10])[0]
            off = 10
        frames.append((op, buf[off:off + n]))
        buf = buf[off + n:]
    return frames


def close_code(frames):
    for op, p in frames:
        if op == 8 and len(p) >= 2:
            return struct.unpack("!H", p[:2])[0]
    return None


def raw_session(payload_frames, port=None):
    s, _ = raw_upgrade(port=port)
    head, rest = read_head(s)
    assert head.startswith("HTTP/1.1 101"), head
    for f in payload_frames:
        s.sendall(f)
    frames = read_frames(s, rest)
    s.close()
    return frames


def raw_session_paced(pieces, port=None):
    """Send each piece after a pause, so that the relay has read all that
    came before: the rest of a large frame then arrives on its own, which
    the relay receives straight into its WebSocket reader."""
    s, _ = raw_upgrade(port=port)
    head, rest = read_head(s)
    assert head.startswith("HTTP/1.1 101"), head
    for p in pieces:
        s.sendall(p)
        time.sleep(0.05)
    frames = read_frames(s, rest)
    s.close()
    return frames


def split_at(data, cuts):
    """data cut at the given offsets (ascending; negative: from the end)."""
    offs = [c if c >= 0 else len(data) + c for c in cuts]
    return [data[a:b] for a, b in zip([0] + offs, offs + [len(data)])]


def handshake_checks():
    s, key = raw_upgrade()
    head, _ = read_head(s)
    accept = base64.b64encode(hashlib.sha1(
        (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
    expect(head.startswith("HTTP/1.1 101"), "upgrade on /relay answers 101")
    expect(f"Sec-WebSocket-Accept: {accept.decode()}" in head,
           "Sec-WebSocket-Accept is right")
    s.close()

    s, _ = raw_upgrade(extra="Sec-WebSocket-Extensions: permessage-deflate\r\n")
    head, _ = read_head(s)
    expect(head.startswith("HTTP/1.1 101") and "Extensions" not in head,
           "permessage-deflate is declined")
    s.close()

    s, _ = raw_upgrade(path="/other")
    head, _ = read_head(s)
    expect(head.startswith("HTTP/1.1 404"), "other paths get 404")
    s.close()

    s, _ = raw_upgrade(version="8")
    head, _ = read_head(s)
    expect(head.startswith("HTTP/1.1 426") and
           "Sec-WebSocket-Version: 13" in head, "version 8 gets 426")
    s.close()

    s = socket.create_connection((HOST, PORT), timeout=TIMEOUT)
    s.sendall(b"GET /relay HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _ = read_head(s)
    expect(head.startswith("HTTP/1.1 400"), "plain GET without upgrade: 400")
    s.close()

    s = socket.create_connection((HOST, PORT), timeout=TIMEOUT)
    s.sendall(b"\x16\x03\x01garbage that is not http\r\n\r\n")
    head, _ = read_head(s)
    expect(head.startswith("HTTP/1.1 4"), "garbage gets a 4xx")
    s.close()


def frame_checks():
    ping = json.dumps({"type": "PING"}).encode()
    frames = raw_session([frame(1, ping, mask=False)])
    expect(close_code(frames) == 1002, "unmasked client frame -> close 1002")

    frames = raw_session([frame(1, b"\xc3\x28")])
    expect(close_code(frames) == 1007, "invalid UTF-8 text -> close 1007")

    frames = raw_session([frame(1, b"{" + b" " * SMALL_MAX + b"}")],
                         port=SMALL_PORT)
    expect(close_code(frames) == 1009, "oversize message -> close 1009")

    # the close frame survives even when much more data is still unread
    frames = raw_session([frame(2, os.urandom(2 * 1024 * 1024))],
                         port=SMALL_PORT)
    expect(close_code(frames) == 1009,
           "2 MiB frame -> close 1009 reaches the client")

    # large frames whose payload arrives separately from their header,
    # cut at awkward places: in the header, after it, at odd offsets
    pad = b" " * 20000
    f1 = frame(1, b'{"type":' + pad, fin=False)
    f2 = frame(0, pad + pad, fin=False)
    f3 = frame(0, b'"PING"' + pad + b"}")
    frames = raw_session_paced(split_at(f1, [1, 7, 9, 10001])
                               + [frame(9, b"hi")]
                               + split_at(f2, [8, 23333, -1])
                               + split_at(f3, [5, 15, -2])
                               + [frame(8, struct.pack("!H", 1000))])
    expect(frames[:1] == [(10, b"hi")]
           and (1, b'{"type":"PONG"}') in frames
           and close_code(frames) == 1000,
           "large fragmented PING read in pieces -> PONG, close echoed")

    bad = b'"' + b"\xc3\xa9" * 50000 + b"\xc3\x28" + b'"'
    frames = raw_session_paced(split_at(frame(1, bad), [14, 8191, 70001]))
    expect(close_code(frames) == 1007,
           "invalid UTF-8 deep in a large text frame read in pieces -> 1007")

    big = os.urandom(100000)
    frames = raw_session_paced(split_at(frame(2, big, fin=False), [14, 999])
                               + split_at(frame(0, big[:40000]), [14]))
    expect(close_code(frames) == 1009,
           "fragments adding up past clawnexus_max_message -> 1009")

    frames = raw_session([frame(1, ping, rsv=0x40)])
    expect(close_code(frames) == 1002, "RSV1 without extension -> close 1002")

    frames = raw_session([frame(0, b"abc")])
    expect(close_code(frames) == 1002, "continuation without start -> 1002")

    # fragmented PING message with a control ping in the middle
    frames = raw_session([frame(1, b'{"type":', fin=False),
                          frame(9, b"hi"),
                          frame(0, b'"PING"}'),
                          frame(8, struct.pack("!H", 1000))])
    ops = [op for op, _ in frames]
    expect(frames[0] == (10, b"hi"), "control ping inside a fragmented "
           "message is answered first")
    expect((1, b'{"type":"PONG"}') in frames, "fragmented PING -> PONG")
    expect(ops[-1] == 8 and close_code(frames) == 1000,
           "client close 1000 is echoed")


async def protocol_checks():
    # healthy pair set up first; it must survive everything below
    a = await client("edge-a.id.claw")
    b = await client("edge-b.id.claw")
    room = await pair(a, "edge-a.id.claw", b, "edge-b.id.claw")
    ok("pair established")

    lone = await websockets.connect(URL, compression=None)
    await lone.send('{"type":"PING"}')
    msg, _ = await recv_json(lone)
    expect(msg == {"type": "PONG"}, "PING before REGISTER -> PONG")

    await lone.send("not json")
    await expect_error(lone, "BAD_MESSAGE", "bad JSON")
    await lone.send('{"type":"FLY"}')
    await expect_error(lone, "BAD_MESSAGE", "unknown type")
    await lone.send('{"claw_id":"x"}')
    await expect_error(lone, "BAD_MESSAGE", "missing type")
    await lone.send('{"type":"REGISTER","claw_id":5,"auth_token":"x"}')
    await expect_error(lone, "BAD_MESSAGE", "claw_id of the wrong type")
    await lone.send('[1,2,3]')
    await expect_error(lone, "BAD_MESSAGE", "array instead of object")
    await lone.send(json.dumps({"type": "JOIN", "claw_id": "lone",
                                "target_claw_id": "edge-a.id.claw",
                                "auth_token": mint("lone")}))
    await expect_error(lone, "NOT_REGISTERED", "JOIN before REGISTER")
    await lone.send(json.dumps({"type": "DATA", "room_id": room,
                                "payload": "x"}))
    await expect_error(lone, "NOT_REGISTERED", "DATA before REGISTER")
    # binary DATA follows the same rule as text DATA
    await lone.send(bytes([1, len(room)]) + room.encode() + b"x")
    await expect_error(lone, "NOT_REGISTERED", "binary DATA before REGISTER")

    cid = "lone.id.claw"
    bad_tokens = {
        "wrong secret": mint(cid, key="not-the-secret"),
        "expired": mint(cid, ttl=-3600),
        "alg none": mint(cid, alg="none"),
        "alg HS512": mint(cid, alg="HS512"),
        "other subject": mint("edge-a.id.claw"),
        "wrong issuer": mint(cid, iss="someone-else"),
        "garbage": "a.b.c",
    }
    # a token minted for longer than clawnexus_jwt_max_lifetime (24h)
    bad_tokens["lifetime 25h"] = mint(cid, ttl=25 * 3600)
    bad_tokens["exp 2^63-1"] = lib.mint(SECRET, cid, 300,
                                        {"iss": ISSUER, "exp": 2**63 - 1})
    # a refused REGISTER is answered, then the socket is closed (1008), so
    # that a daemon with a stale token reconnects and fetches a new one
    for what, tok in bad_tokens.items():
        ws = await websockets.connect(URL, compression=None)
        await ws.send(json.dumps({"type": "REGISTER", "claw_id": cid,
                                  "auth_token": tok}))
        await expect_error(ws, "AUTH_FAILED", f"token: {what}")
        try:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
            raise AssertionError(f"token: {what}: socket still open")
        except websockets.ConnectionClosed as e:
            expect(e.rcvd is not None and e.rcvd.code == 1008,
                   f"token: {what}: then closed with 1008 (got {e.rcvd})")

    # exactly the longest lifetime allowed registers
    ws = await websockets.connect(URL, compression=None)
    await ws.send(json.dumps({"type": "REGISTER", "claw_id": "day.id.claw",
                              "auth_token": mint("day.id.claw",
                                                 ttl=24 * 3600)}))
    msg, _ = await recv_json(ws)
    expect(msg.get("type") == "REGISTERED", "a token valid for 24h registers")
    await ws.close()

    await lone.send(json.dumps({"type": "REGISTER", "claw_id": cid,
                                "auth_token": mint(cid)}))
    msg, _ = await recv_json(lone)
    expect(msg == {"type": "REGISTERED", "claw_id": cid},
           "a good token after bad ones registers")

    await lone.send(json.dumps({"type": "DATA", "room_id": room,
                                "payload": "intrusion"}))
    await expect_error(lone, "ROOM_NOT_FOUND", "DATA to a room you are not in")
    await lone.send(json.dumps({"type": "ACCEPT", "room_id": room}))
    await expect_error(lone, "ROOM_NOT_FOUND", "ACCEPT of someone else's room")
    await lone.send(json.dumps({"type": "JOIN", "claw_id": "edge-a.id.claw",
                                "target_claw_id": "edge-b.id.claw",
                                "auth_token": mint("edge-a.id.claw")}))
    await expect_error(lone, "AUTH_FAILED", "JOIN as someone else")
    await lone.send(json.dumps({"type": "JOIN", "claw_id": cid,
                                "target_claw_id": "nobody.id.claw",
                                "auth_token": mint(cid)}))
    await expect_error(lone, "TARGET_OFFLINE", "JOIN to an offline name")
    await lone.send(json.dumps({"type": "JOIN", "claw_id": cid,
                                "target_claw_id": cid,
                                "auth_token": mint(cid)}))
    await expect_error(lone, "BAD_MESSAGE", "JOIN to yourself")

    # REJECT -> PEER_LEFT to the initiator
    await lone.send(json.dumps({"type": "JOIN", "claw_id": cid,
                                "target_claw_id": "edge-b.id.claw",
                                "auth_token": mint(cid)}))
    inc, _ = await recv_json(b)
    expect(inc["type"] == "INCOMING" and inc["from_claw_id"] == cid and
           inc["room_id"] != room, "JOIN -> INCOMING with a new room id")
    await lone.send(json.dumps({"type": "ACCEPT", "room_id": inc["room_id"]}))
    await expect_error(lone, "ROOM_NOT_FOUND", "the initiator cannot ACCEPT")
    await b.send(json.dumps({"type": "REJECT", "room_id": inc["room_id"]}))
    msg, _ = await recv_json(lone)
    expect(msg == {"type": "PEER_LEFT", "room_id": inc["room_id"]},
           "REJECT -> PEER_LEFT to the initiator")
    await b.send(json.dumps({"type": "DATA", "room_id": inc["room_id"],
                             "payload": "x"}))
    await expect_error(b, "ROOM_NOT_FOUND", "a rejected room is gone")

    # byte-for-byte forwarding of the escaped payload, never echoed
    payload_src = r'"\u00e9\n\\\"\/ \ud83d\ude00 end"'
    await a.send('{"type":"DATA","room_id":"' + room + '","payload":' +
                 payload_src + '}')
    _, raw = await recv_json(b)
    expect(payload_src in raw, "payload forwarded exactly as escaped")
    expect(json.loads(raw)["payload"] == json.loads(payload_src),
           "payload decodes to the sent string")
    await nothing_pending(a, "DATA is not echoed to its sender")

    # the healthy pair kept working through all of this
    for i in range(50):
        await b.send(json.dumps({"type": "DATA", "room_id": room,
                                 "payload": f"m{i}"}))
    got = [json.loads(await asyncio.wait_for(a.recv(), TIMEOUT))["payload"]
           for _ in range(50)]
    expect(got == [f"m{i}" for i in range(50)], "50 DATA in order")

    # newest REGISTER owns the name; old socket's close keeps it bound
    b2 = await client("edge-b.id.claw")
    msg, _ = await recv_json(b)
    expect(msg.get("type") == "ERROR" and msg.get("code") == "REPLACED",
           "older socket is told it was replaced")
    await b.close()
    msg, _ = await recv_json(a)
    expect(msg == {"type": "PEER_LEFT", "room_id": room},
           "old socket's room ends with PEER_LEFT")
    room2 = await pair(a, "edge-a.id.claw", b2, "edge-b.id.claw")
    expect(room2 != room, "name still owned by the newer socket")

    # binary fast path
    x = await client("bin-x.id.claw", binary=True)
    y = await client("bin-y.id.claw", binary=True)
    broom = await pair(x, "bin-x.id.claw", y, "bin-y.id.claw")
    blob = os.urandom(50000)
    hdr = bytes([1, len(broom)]) + broom.encode()
    await x.send(hdr + blob)
    got = await asyncio.wait_for(y.recv(), TIMEOUT)
    expect(isinstance(got, bytes) and got == hdr + blob,
           "binary DATA forwarded as a binary frame")
    await y.send(json.dumps({"type": "DATA", "room_id": broom,
                             "payload": "json too"}))
    msg, _ = await recv_json(x)
    expect(msg["payload"] == "json too", "binary sockets also get JSON DATA")
    # binary from x to a v1 (JSON-only) peer is converted when it is text
    v1 = await client("v1.id.claw")
    vroom = await pair(x, "bin-x.id.claw", v1, "v1.id.claw")
    await x.send(bytes([1, len(vroom)]) + vroom.encode() + "héllo".encode())
    msg, _ = await recv_json(v1)
    expect(msg == {"type": "DATA", "room_id": vroom, "payload": "héllo"},
           "binary DATA to a v1 peer arrives as JSON DATA")
    await x.send(bytes([1, len(vroom)]) + vroom.encode() + b"\xff\xfe")
    await expect_error(x, "BAD_MESSAGE", "non-UTF-8 binary to a v1 peer")
    await x.send(bytes([7, 1]) + b"r")
    await expect_error(x, "BAD_MESSAGE", "bad binary frame version")

    for ws in (a, b2, lone, x, y, v1):
        await ws.close()
    ok("protocol checks done")


async def quota_checks():
    """Strangers cannot use up a target's rooms: with the default limits
    (64 rooms, 16 pending JOINs per socket), 16 strangers send 4 JOINs
    each to one target and leave them unanswered; the target still joins
    others, and the JOINs waiting for it are capped (32, then
    TOO_MANY_PENDING)."""
    t = await client("quota-t.id.claw")
    x = await client("quota-x.id.claw")
    strangers = [await client(f"quota-s{i}.id.claw") for i in range(16)]
    for i, s in enumerate(strangers):
        for _ in range(4):
            await s.send(json.dumps({"type": "JOIN",
                                     "claw_id": f"quota-s{i}.id.claw",
                                     "target_claw_id": "quota-t.id.claw",
                                     "auth_token": mint(f"quota-s{i}.id.claw")}))
    incoming = 0
    try:
        while True:
            m, _ = await asyncio.wait_for(recv_json(t), 1)
            if m.get("type") == "INCOMING":
                incoming += 1
    except asyncio.TimeoutError:
        pass
    expect(incoming == 32, f"JOINs waiting for one target are capped "
           f"({incoming} INCOMING of 64)")
    await t.send(json.dumps({"type": "JOIN", "claw_id": "quota-t.id.claw",
                             "target_claw_id": "quota-x.id.claw",
                             "auth_token": mint("quota-t.id.claw")}))
    m, _ = await recv_json(x)
    expect(m.get("type") == "INCOMING",
           f"a target flooded with JOINs still joins others (got {m})")
    for ws in [t, x] + strangers:
        await ws.close()


async def limit_checks():
    url = f"ws://{HOST}:{LIMITS_PORT}/relay"

    # per-address connection limit (2): the third gets 429
    conns = [await websockets.connect(url, compression=None,
                                      local_addr=("127.0.0.3", 0))
             for _ in range(2)]
    try:
        await websockets.connect(url, compression=None,
                                 local_addr=("127.0.0.3", 0))
        raise AssertionError("third connection from one address accepted")
    except websockets.InvalidStatusCode as e:
        expect(e.status_code == 429, "third connection from one address: 429")
    other = await websockets.connect(url, compression=None,
                                     local_addr=("127.0.0.4", 0))
    ok("another address is not affected")
    await conns[0].close()
    await asyncio.sleep(0.2)
    again = await websockets.connect(url, compression=None,
                                     local_addr=("127.0.0.3", 0))
    ok("a closed connection frees its slot")
    for ws in conns[1:] + [again]:
        await ws.close()

    # failed-auth limit (3 per window): the 4th attempt is refused unseen
    cid = "brute.id.claw"
    # (each refused REGISTER closes its socket: one socket per attempt)
    for i in range(3):
        ws = await websockets.connect(url, compression=None,
                                      local_addr=("127.0.0.4", 0))
        await ws.send(json.dumps({"type": "REGISTER", "claw_id": cid,
                                  "auth_token": mint(cid, key="guess")}))
        await expect_error(ws, "AUTH_FAILED", f"bad token {i + 1}")
        await wait_closed(ws)
        await asyncio.sleep(0.2)
    await other.send(json.dumps({"type": "REGISTER", "claw_id": cid,
                                 "auth_token": mint(cid)}))
    await expect_error(other, "RATE_LIMITED",
                       "even a good token after 3 failures")
    try:
        await asyncio.wait_for(other.recv(), TIMEOUT)
    except websockets.ConnectionClosed:
        pass
    expect(other.close_code == 1008, "rate-limited socket closed with 1008")
    fresh = await websockets.connect(url, compression=None,
                                     local_addr=("127.0.0.5", 0))
    await fresh.send(json.dumps({"type": "REGISTER", "claw_id": cid,
                                 "auth_token": mint(cid)}))
    msg, _ = await recv_json(fresh)
    expect(msg["type"] == "REGISTERED", "other addresses still register")
    await fresh.close()


def main():
    handshake_checks()
    frame_checks()
    asyncio.run(protocol_checks())
    asyncio.run(quota_checks())
    asyncio.run(limit_checks())
    print("relay edge cases: all passed")


if __name__ == "__main__":
    main()
