#!/usr/bin/python3
"""Attacks on the relay that must fail, beyond those in
tests/integration/relay_edge.py (docs/hardening.md lists which test
covers which attack).

usage: attacks.py SECRET ISSUER PORT OPEN_PORT LIMIT_PORT V6_PORT MASTER_PID \
    SMALL_PORT

PORT: a relay on 127.0.0.1 (max_auth_failures 3 per 60 s).
OPEN_PORT: a relay on 127.0.0.1 with max_auth_failures 0 (every token is
  checked, for the REGISTER flood).
LIMIT_PORT: 127.0.0.1, max_connections_per_ip 2;
V6_PORT: [::] with ipv6only=off, max_connections_per_ip 2 (per-address
  counters are shared by all servers of the relay).
SMALL_PORT: 127.0.0.1, send_queue 16k, max_message 1k (a small hard cap).
Each check prints "ok - ..." or raises; exit status 0 only if all passed.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import socket
import struct
import sys
import threading
import time

import websockets

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import relay_testlib  # noqa: E402

SECRET, ISSUER = sys.argv[1:3]
PORT, OPEN_PORT, LIMIT_PORT, V6_PORT = (int(x) for x in sys.argv[3:7])
MASTER = int(sys.argv[7])
SMALL_PORT = int(sys.argv[8])
HOST = "127.0.0.1"
TIMEOUT = 5
_addr = [20]


def fresh_addr():
    """A loopback address no other check used (the auth-failure counter
    is per address)."""
    _addr[0] += 1
    return f"127.0.{_addr[0]}.{os.getpid() % 200 + 20}"


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def mint(sub, claims=None, header=None, key=None, digest=hashlib.sha256,
         sig=None):
    now = int(time.time())
    c = {"sub": sub, "iat": now, "exp": now + 300, "iss": ISSUER}
    if claims:
        c.update(claims)
        c = {k: v for k, v in c.items() if v is not None}
    h = header if header is not None else {"alg": "HS256", "typ": "JWT"}
    signing = (b64url(json.dumps(h).encode()) + "." +
               b64url(json.dumps(c).encode()))
    if sig is not None:
        return signing + "." + sig
    mac = hmac.new((key or SECRET).encode(), signing.encode(), digest)
    return signing + "." + b64url(mac.digest())


def ok(what):
    print(f"ok - {what}", flush=True)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)
    ok(what)


async def connect(port=PORT, local=None):
    kw = {}
    if local:
        kw["local_addr"] = (local, 0)
    return await websockets.connect(f"ws://{HOST}:{port}/relay",
                                    compression=None, max_size=None, **kw)


async def recv_json(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))


async def register(ws, cid):
    await ws.send(json.dumps({"type": "REGISTER", "claw_id": cid,
                              "auth_token": mint(cid)}))
    msg = await recv_json(ws)
    assert msg == {"type": "REGISTERED", "claw_id": cid}, msg


async def pair(a, a_id, b, b_id):
    await a.send(json.dumps({"type": "JOIN", "claw_id": a_id,
                             "target_claw_id": b_id,
                             "auth_token": mint(a_id)}))
    inc = await recv_json(b)
    assert inc["type"] == "INCOMING", inc
    await b.send(json.dumps({"type": "ACCEPT", "room_id": inc["room_id"]}))
    ja, jb = await recv_json(a), await recv_json(b)
    assert ja["type"] == "JOINED" and jb["type"] == "JOINED", (ja, jb)
    return inc["room_id"]


async def closed_with(ws, code, what):
    try:
        raw = await asyncio.wait_for(ws.recv(), TIMEOUT)
        raise AssertionError(f"{what}: unexpected {raw!r}")
    except websockets.ConnectionClosed as e:
        expect(e.rcvd is not None and e.rcvd.code == code,
               f"{what} (close {e.rcvd})")


async def silent(ws, what):
    try:
        raw = await asyncio.wait_for(ws.recv(), 0.3)
    except asyncio.TimeoutError:
        ok(what)
        return
    raise AssertionError(f"{what}: unexpected {raw!r}")


# tokens ---------------------------------------------------------------------

async def token_attacks():
    """Algorithms and validity times relay_edge.py does not try."""
    cid = "tok-victim.claw"
    now = int(time.time())
    bad = {
        "alg RS256 (HMAC bytes as signature)": mint(
            cid, header={"alg": "RS256", "typ": "JWT"}),
        "alg HS384": mint(cid, header={"alg": "HS384", "typ": "JWT"},
                          digest=hashlib.sha384),
        "alg ES256": mint(cid, header={"alg": "ES256", "typ": "JWT"}),
        "alg hs256 (case)": mint(cid, header={"alg": "hs256", "typ": "JWT"}),
        "alg missing": mint(cid, header={"typ": "JWT"}),
        "alg null": mint(cid, header={"alg": None, "typ": "JWT"}),
        "alg none with empty signature": mint(
            cid, header={"alg": "none", "typ": "JWT"}, sig=""),
        "alg none with an HS256 signature": mint(
            cid, header={"alg": "none", "typ": "JWT"}),
        "alg NONE": mint(cid, header={"alg": "NONE"}, sig=""),
        "crit header": mint(cid, header={"alg": "HS256", "crit": ["exp"]}),
        "expired an hour ago": mint(cid, {"exp": now - 3600}),
        "expired beyond the 30 s leeway": mint(cid, {"exp": now - 120,
                                                      "iat": now - 600}),
        "no exp": mint(cid, {"exp": None}),
        "exp as a string": mint(cid, {"exp": str(now + 300)}),
        "nbf in an hour (not yet valid)": mint(cid, {"nbf": now + 3600}),
        "nbf beyond the leeway": mint(cid, {"nbf": now + 120}),
        "iat in an hour (issued in the future)": mint(cid, {"iat": now + 3600}),
        "signature of another token": mint(cid)[:-10] + mint("x")[-10:],
        "truncated signature": mint(cid)[:-4],
        "empty token": "",
        "signature stripped": mint(cid).rsplit(".", 1)[0],
        "four segments": mint(cid) + ".e30",
    }
    # Not tried: a header with "alg" twice.  The JWT decoder reads the
    # first one; RFC 7515 section 4 asks for a refusal or the last one.
    # Only a holder of the secret can sign such a header, so it is not an
    # attack path (docs/hardening.md).
    # A refused REGISTER closes its socket (1008): one socket per token.
    async def refused(what, tok):
        ws = await connect(OPEN_PORT)
        await ws.send(json.dumps({"type": "REGISTER", "claw_id": cid,
                                  "auth_token": tok}))
        msg = await recv_json(ws)
        expect(msg.get("type") == "ERROR" and msg.get("code") == "AUTH_FAILED",
               f"token refused: {what}")
        await closed_with(ws, 1008, f"then closed: {what}")

    bad["valid for longer than 24 h"] = mint(cid, {"exp": now + 25 * 3600})
    bad["exp 2^63-1"] = mint(cid, {"exp": 2**63 - 1})
    await asyncio.gather(*[refused(what, tok) for what, tok in bad.items()])
    ws = await connect(OPEN_PORT)
    # within the leeway is accepted: the checks above are about time, not
    # about a broken minting function
    await ws.send(json.dumps({"type": "REGISTER", "claw_id": cid,
                              "auth_token": mint(cid, {"nbf": now + 5})}))
    msg = await recv_json(ws)
    expect(msg.get("type") == "REGISTERED", "nbf 5 s ahead (within leeway) "
           "is accepted, so the refusals above are real")
    # JOIN with one's own claw_id but a token for the target
    t = await connect(OPEN_PORT)
    await register(t, "tok-target.claw")
    await ws.send(json.dumps({"type": "JOIN", "claw_id": cid,
                              "target_claw_id": "tok-target.claw",
                              "auth_token": mint("tok-target.claw")}))
    msg = await recv_json(ws)
    expect(msg.get("code") == "AUTH_FAILED",
           "JOIN with a token for another name is refused")
    await ws.send(json.dumps({"type": "JOIN", "claw_id": cid,
                              "target_claw_id": "tok-target.claw",
                              "auth_token": mint(cid, {"exp": now - 3600})}))
    msg = await recv_json(ws)
    expect(msg.get("code") == "AUTH_FAILED",
           "JOIN with an expired token is refused (registered socket)")
    await silent(t, "the target saw no INCOMING from refused JOINs")
    await ws.close()
    await t.close()


# rooms and names ------------------------------------------------------------

async def room_attacks():
    a = await connect(OPEN_PORT)
    b = await connect(OPEN_PORT)
    await register(a, "room-a.claw")
    await register(b, "room-b.claw")
    room = await pair(a, "room-a.claw", b, "room-b.claw")
    expect(len(room) == 23 and room[0] == "r" and all(
        c.isalnum() or c in "-_" for c in room[1:]),
        f"room id {room} is r + 22 base64url characters")

    # room ids are distinct and do not follow a pattern
    ids = set()
    x = await connect(OPEN_PORT)
    await register(x, "room-x.claw")
    for i in range(100):
        await x.send(json.dumps({"type": "JOIN", "claw_id": "room-x.claw",
                                 "target_claw_id": "room-b.claw",
                                 "auth_token": mint("room-x.claw")}))
        inc = await recv_json(b)
        ids.add(inc["room_id"])
        await b.send(json.dumps({"type": "REJECT",
                                 "room_id": inc["room_id"]}))
        await recv_json(x)                  # PEER_LEFT
    expect(len(ids) == 100 and room not in ids, "100 JOINs: 100 new room ids")
    common = os.path.commonprefix(sorted(ids))
    expect(len(common) <= 4, f"room ids share no long prefix ({common!r})")

    # an attacker guesses: mutations of a real id, old (rejected) ids,
    # random ids, short ids; DATA, ACCEPT, REJECT and binary DATA
    m = await connect(OPEN_PORT)
    await m.send(json.dumps({"type": "REGISTER", "claw_id": "mallory.claw",
                             "auth_token": mint("mallory.claw"),
                             "binary": True}))
    assert (await recv_json(m))["type"] == "REGISTERED"
    guesses = [room[:-1] + c for c in "ABCDEFGHabcdefgh0123456789-_"
               if room[:-1] + c != room]
    guesses += list(ids)[:20]
    guesses += ["r" + b64url(os.urandom(16)) for _ in range(500)]
    guesses += ["r", "r0", "r1", "1", "a", room.lower(), room.upper()]
    guesses = [g for g in guesses if g != room]
    kinds = 0
    for g in guesses:
        for t in ("DATA", "ACCEPT", "REJECT"):
            msg = {"type": t, "room_id": g}
            if t == "DATA":
                msg["payload"] = "guess"
            await m.send(json.dumps(msg))
            r = await recv_json(m)
            if r.get("code") != "ROOM_NOT_FOUND":
                raise AssertionError(f"{t} to guessed room {g}: {r}")
            kinds += 1
    expect(True, f"{kinds} guessed room ids (DATA/ACCEPT/REJECT) -> "
           "ROOM_NOT_FOUND")
    # the real room id itself is no capability either
    await m.send(json.dumps({"type": "DATA", "room_id": room,
                             "payload": "intrusion"}))
    r = await recv_json(m)
    expect(r.get("code") == "ROOM_NOT_FOUND",
           "JSON DATA into the real room of others -> ROOM_NOT_FOUND")
    await m.send(bytes([1, len(room)]) + room.encode() + b"intrusion")
    r = await recv_json(m)
    expect(r.get("code") in ("ROOM_NOT_FOUND", "BAD_MESSAGE"),
           f"binary DATA into the room of others refused ({r.get('code')})")
    await m.send(json.dumps({"type": "REJECT", "room_id": room}))
    r = await recv_json(m)
    expect(r.get("code") == "ROOM_NOT_FOUND",
           "REJECT of an active room of others -> ROOM_NOT_FOUND")
    await silent(a, "member a received nothing from the guesses")
    await silent(b, "member b received nothing from the guesses")
    await a.send(json.dumps({"type": "DATA", "room_id": room,
                             "payload": "still here"}))
    r = await recv_json(b)
    expect(r == {"type": "DATA", "room_id": room, "payload": "still here"},
           "the attacked room still works")
    for ws in (a, b, x, m):
        await ws.close()


async def name_theft():
    """REGISTER flooding to take a name: only a valid token for the name
    takes it."""
    victim = "victim.claw"
    v = await connect(OPEN_PORT)
    await register(v, victim)
    now = int(time.time())
    forged = [
        mint(victim, key="guess"),
        mint("mallory.claw"),                       # valid, other name
        mint(victim, {"exp": now - 3600}),
        mint(victim, header={"alg": "none"}, sig=""),
        mint(victim, {"iss": "evil"}),
        mint(victim)[:-2] + "AA",
    ]
    # each refused REGISTER closes its socket: 8 sockets at a time
    n = 400

    async def flood(k):
        refused = 0
        for i in range(k, n, 8):
            ws = await connect(OPEN_PORT)
            await ws.send(json.dumps({"type": "REGISTER", "claw_id": victim,
                                      "auth_token": forged[i % len(forged)]}))
            r = await recv_json(ws)
            if r.get("code") == "AUTH_FAILED":
                refused += 1
            else:
                raise AssertionError(f"forged REGISTER answered {r}")
            await ws.close()
        return refused

    refused = sum(await asyncio.gather(*[flood(k) for k in range(8)]))
    expect(refused == n, f"{n} forged REGISTERs for a taken name: all "
           "AUTH_FAILED")
    await silent(v, "the owner was never told REPLACED")
    c = await connect(OPEN_PORT)
    await register(c, "caller.claw")
    await c.send(json.dumps({"type": "JOIN", "claw_id": "caller.claw",
                             "target_claw_id": victim,
                             "auth_token": mint("caller.claw")}))
    r = await recv_json(v)
    expect(r.get("type") == "INCOMING" and r.get("from_claw_id") ==
           "caller.claw", "a JOIN to the name still reaches its owner")
    await c.close()

    # on a relay with the failure limit (3), the flood is cut off early
    # (every refusal closes its socket: the attacker reconnects each time)
    lim = fresh_addr()
    codes = []
    for i in range(50):
        s = await connect(PORT, local=lim)
        await s.send(json.dumps({"type": "REGISTER", "claw_id": victim,
                                 "auth_token": forged[0]}))
        codes.append((await recv_json(s)).get("code"))
        try:
            await asyncio.wait_for(s.recv(), TIMEOUT)
        except websockets.ConnectionClosed:
            pass
        if codes[-1] == "RATE_LIMITED":
            break
    expect(codes[:3] == ["AUTH_FAILED"] * 3 and codes[3:] == ["RATE_LIMITED"]
           and s.close_code == 1008,
           f"with clawnexus_max_auth_failures 3 the flood ends after "
           f"{len(codes)} answers ({codes[-1]}, close {s.close_code})")
    for ws in (v, c):
        await ws.close()


# frames ---------------------------------------------------------------------

def frame(opcode, payload, mask=True, fin=True, length=None, enc=None):
    """A client frame; length/enc forge the length field."""
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload) if length is None else length
    mbit = 0x80 if mask else 0
    if enc is None:
        enc = 7 if n < 126 else 16 if n < 65536 else 64
    if enc == 7:
        hdr = struct.pack("!BB", b0, mbit | n)
    elif enc == 16:
        hdr = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return hdr + payload
    key = os.urandom(4)
    return hdr + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


def raw_upgrade(port, rcvbuf=None):
    """A socket upgraded to WebSocket by hand, and what followed the 101."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(TIMEOUT)
    s.connect((HOST, port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /relay HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, buf = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return s, buf


def raw_session(frames, port=PORT, pause=0.0):
    s, buf = raw_upgrade(port)
    try:
        for f in frames:
            s.sendall(f)
            if pause:
                time.sleep(pause)
    except (BrokenPipeError, ConnectionResetError):
        pass
    while True:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        buf += chunk
    s.close()
    out = []
    while len(buf) >= 2:
        op, n, off = buf[0] & 0x0F, buf[1] & 0x7F, 2
        if n == 126:
            n, off = struct.unpack("!H", buf[2:4])[0], 4
        elif n == 127:
            n, off = struct.unpack("!Q", buf[2:10])[0], 10
        out.append((op, buf[off:off + n]))
        buf = buf[off + n:]
    return out


def close_code(frames):
    for op, p in frames:
        if op == 8 and len(p) >= 2:
            return struct.unpack("!H", p[:2])[0]
    return None


def frame_attacks():
    ping = b'{"type":"PING"}'
    cases = [
        ("64-bit length with the top bit set",
         [frame(1, b"", length=1 << 63, enc=64)], (1002,)),
        ("64-bit length 2^64-1", [frame(2, b"", length=(1 << 64) - 1,
                                        enc=64)], (1002,)),
        ("64-bit length 2^62 (over the message limit)",
         [frame(2, b"", length=1 << 62, enc=64)], (1009,)),
        ("64-bit length 2^32+5 (over the limit, wraps in 32 bits)",
         [frame(2, b"abcde", length=(1 << 32) + 5, enc=64)], (1009,)),
        ("non-minimal 64-bit length of 15 bytes",
         [frame(1, ping, length=len(ping), enc=64)], (1002,)),
        ("non-minimal 16-bit length of 15 bytes",
         [frame(1, ping, length=len(ping), enc=16)], (1002,)),
        ("fragmented PING (FIN=0)", [frame(9, b"a", fin=False),
                                     frame(0, b"b")], (1002,)),
        ("fragmented PONG (FIN=0)", [frame(10, b"a", fin=False)], (1002,)),
        ("fragmented CLOSE (FIN=0)", [frame(8, struct.pack("!H", 1000),
                                            fin=False)], (1002,)),
        ("control frame of 126 bytes", [frame(9, b"x" * 126)], (1002,)),
        ("control frame with 16-bit length 5",
         [frame(9, b"hello", length=5, enc=16)], (1002,)),
        ("unmasked control frame", [frame(9, b"x", mask=False)], (1002,)),
        ("unmasked continuation", [frame(1, b'{"type":', fin=False),
                                   frame(0, b'"PING"}', mask=False)],
         (1002,)),
        ("overlong UTF-8 (C0 AF)", [frame(1, b'"\xc0\xaf"')], (1007,)),
        ("overlong 3-byte NUL (E0 80 80)", [frame(1, b"\xe0\x80\x80")],
         (1007,)),
        ("UTF-16 surrogate (ED A0 80)", [frame(1, b"\xed\xa0\x80")],
         (1007,)),
        ("code point above U+10FFFF (F4 90 80 80)",
         [frame(1, b"\xf4\x90\x80\x80")], (1007,)),
        ("5-byte sequence (F8 88 80 80 80)",
         [frame(1, b"\xf8\x88\x80\x80\x80")], (1007,)),
        ("lone continuation byte", [frame(1, b"ab\x80cd")], (1007,)),
        ("invalid sequence split over fragments",
         [frame(1, b"ab\xe2", fin=False), frame(0, b"\x28\xa1")], (1007,)),
        ("text ending inside a character", [frame(1, b"ab\xe2\x82")],
         (1007,)),
        ("invalid UTF-8 inside a JSON claw_id",
         [frame(1, b'{"type":"REGISTER","claw_id":"\xff","auth_token":"x"}')],
         (1007,)),
        ("invalid UTF-8 in a close reason",
         [frame(8, struct.pack("!H", 1000) + b"\xff\xfe")], (1007, 1002)),
        ("close code 1005 on the wire", [frame(8, struct.pack("!H", 1005))],
         (1002,)),
        ("close payload of one byte", [frame(8, b"\x03")], (1002,)),
        ("new TEXT inside a fragmented message",
         [frame(1, b"a", fin=False), frame(1, b"b")], (1002,)),
        ("reserved opcode 3", [frame(3, b"x")], (1002,)),
        ("reserved control opcode 0xB", [frame(11, b"x")], (1002,)),
    ]
    for what, frames, want in cases:
        got = close_code(raw_session(frames))
        expect(got in want, f"{what} -> close {got}")
    # a length field announcing more than is ever sent does not hold a
    # buffer of that size: the relay refuses on the header alone
    t0 = time.monotonic()
    got = close_code(raw_session([frame(2, b"x" * 10, length=1 << 40,
                                        enc=64)]))
    expect(got == 1009 and time.monotonic() - t0 < 3,
           "2^40 announced, 10 bytes sent -> 1009 at once")


# IPv4-mapped IPv6 -----------------------------------------------------------

async def mapped_v6():
    """A client must not escape the per-address limit by connecting as
    ::ffff:a.b.c.d to a dual-stack listener."""
    ip = fresh_addr()
    v4 = f"ws://{HOST}:{LIMIT_PORT}/relay"

    def v6sock(local):
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind((local, 0))
        s.settimeout(TIMEOUT)
        s.connect((f"::ffff:{HOST}" if local.startswith("::ffff:")
                   else "::1", V6_PORT))
        s.setblocking(False)
        return s

    async def v6(local):
        return await websockets.connect(
            f"ws://[::ffff:{HOST}]:{V6_PORT}/relay", compression=None,
            sock=v6sock(local))

    first = await websockets.connect(v4, compression=None,
                                     local_addr=(ip, 0))
    second = await v6(f"::ffff:{ip}")
    ok(f"{ip} via IPv4 and ::ffff:{ip} via [::]: two connections")
    for how, fn in (("IPv4", lambda: websockets.connect(
                        v4, compression=None, local_addr=(ip, 0))),
                    ("IPv4-mapped IPv6", lambda: v6(f"::ffff:{ip}"))):
        try:
            extra = await fn()
            await extra.close()
            raise AssertionError(f"third connection via {how} accepted")
        except websockets.InvalidStatusCode as e:
            expect(e.status_code == 429,
                   f"third connection via {how} -> 429 (counted with {ip})")
    native = await v6("::1")
    await native.send('{"type":"PING"}')
    expect(await recv_json(native) == {"type": "PONG"},
           "native IPv6 [::1] is still served")
    other = await websockets.connect(v4, compression=None,
                                     local_addr=(fresh_addr(), 0))
    ok("another IPv4 address is still served")
    await second.close()
    await asyncio.sleep(0.2)
    again = await websockets.connect(v4, compression=None,
                                     local_addr=(ip, 0))
    ok("closing the mapped connection frees the IPv4 slot")
    for ws in (first, again, native, other):
        await ws.close()


def workers_rss_kb():
    return relay_testlib.rss_kb(MASTER)


def send_unread(s, burst, total):
    """burst again and again, up to total bytes or until the relay stops
    reading s for 3 s; the bytes sent."""
    sent = 0
    s.settimeout(3)
    try:
        while sent < total:
            s.sendall(burst)
            sent += len(burst)
    except (socket.timeout, BrokenPipeError, ConnectionResetError):
        pass
    return sent


def ping_flood(total=16 << 20):
    """A socket without a token that sends WebSocket PINGs and never reads
    the PONGs: its answers count against its queue, the relay stops
    reading it (or closes it at the hard cap); the workers' memory stays
    bounded.  Not checked under sanitizers (freed memory stays in
    quarantine there)."""
    rss0 = workers_rss_kb()
    s, _ = raw_upgrade(OPEN_PORT, rcvbuf=4096)
    # PINGs with the largest payload: PONGs of 127 bytes, more than the
    # kernel's buffers take when the client reads nothing
    burst = frame(9, b"p" * 125) * 512
    sent = send_unread(s, burst, total)
    time.sleep(0.5)
    grown = workers_rss_kb() - rss0
    s.close()
    if os.environ.get("CNX_SANITIZERS") == "yes":
        ok(f"PING flood: {sent >> 10} KiB sent, workers grew by {grown} KiB "
           f"(not checked under sanitizers)")
    else:
        expect(grown < 16 * 1024,
               f"PING flood that never reads: {sent >> 10} KiB of PINGs, "
               f"workers grew by {grown} KiB")


def hard_cap(send_queue, max_message):
    """The hard cap H of docs/relay.md: a socket whose queue takes more is
    closed."""
    return (4 * send_queue + 2 * (max_message + 384 * 1024)
            + 2 * 1024 * 1024 + 60 * 1024)


def error_flood(total=8 << 20):
    """Invalid text frames (no token needed) as fast as the socket takes
    them, never reading: each is answered with an ERROR in a queue entry
    of 552 bytes, 80 times the 7 bytes of the frame.  The socket is closed
    at the hard cap (the relay handles every frame of one read of its
    256 KiB buffer, even past clawnexus_send_queue), and the worker grows
    by no more than docs/relay.md's worst case: H + M + B + 2 KiB for the
    socket, plus the worker's own buffers and reuse lists.  Memory not
    checked under sanitizers (freed memory stays in quarantine there)."""
    s_q, m, b = 16 * 1024, 1024, 16 * 1024      # SMALL_PORT's settings
    per_socket = hard_cap(s_q, m) + m + b + 2048
    per_worker = (384 + 64) * 1024 + 1024 * 552 + 3 * 1024 * 1024
    bound_kb = (per_socket + per_worker) // 1024
    rss0 = workers_rss_kb()
    peak = [rss0]
    done = threading.Event()

    def sample():
        # the queue is freed when the socket closes: keep the highest
        while not done.is_set():
            peak[0] = max(peak[0], workers_rss_kb())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    s, _ = raw_upgrade(SMALL_PORT, rcvbuf=4096)
    burst = frame(1, b"x") * (128 * 1024 // 7)   # ERROR BAD_MESSAGE each
    sent = send_unread(s, burst, total)
    done.set()
    sampler.join()
    grown = peak[0] - rss0
    # the relay lingers 2 s for its close frame, then drops the socket
    closed = False
    deadline = time.monotonic() + 8
    try:
        while time.monotonic() < deadline:
            if not s.recv(65536):
                closed = True
                break
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        pass
    s.close()
    expect(closed, f"ERROR flood that never reads ({sent >> 10} KiB of "
                   f"invalid frames): the socket is closed")
    if os.environ.get("CNX_SANITIZERS") == "yes":
        ok(f"ERROR flood: workers grew by {grown} KiB (not checked under "
           f"sanitizers)")
    else:
        expect(grown <= bound_kb,
               f"ERROR flood: workers grew by {grown} KiB at most, within the "
               f"documented worst case of {bound_kb} KiB")


async def idle_after_large(n=24):
    """Sockets that each sent one message of almost 1 MiB and then idle
    keep no reassembly buffer: the workers' memory comes back down."""
    rss0 = workers_rss_kb()
    big = json.dumps({"type": "PING", "pad": "x" * (1000 * 1024)})
    socks = []
    for _ in range(n):
        ws = await connect(OPEN_PORT)
        await ws.send(big)
        expect(await recv_json(ws) == {"type": "PONG"},
               "a message of 1000 KiB is read") if not socks else \
            await recv_json(ws)
        socks.append(ws)
    await asyncio.sleep(0.3)
    grown = workers_rss_kb() - rss0
    if os.environ.get("CNX_SANITIZERS") == "yes":
        ok(f"{n} idle sockets after one large message each: workers grew "
           f"by {grown} KiB (not checked under sanitizers)")
    else:
        expect(grown < n * 256,
               f"{n} idle sockets after one 1000 KiB message each: workers "
               f"grew by {grown} KiB")
    for ws in socks:
        await ws.close()


def main():
    error_flood()       # first: on a fresh heap its growth shows in the RSS
    asyncio.run(idle_after_large())
    ping_flood()
    asyncio.run(token_attacks())
    asyncio.run(room_attacks())
    asyncio.run(name_theft())
    frame_attacks()
    if V6_PORT:
        asyncio.run(mapped_v6())
    else:
        print("ok - # SKIP IPv4-mapped IPv6: no IPv6 on loopback", flush=True)
    print("attacks: all refused", flush=True)


if __name__ == "__main__":
    main()
