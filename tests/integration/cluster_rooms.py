#!/usr/bin/python3
"""Rooms across relay nodes (docs/cluster.md), one step of cluster-rooms.sh
per call:

    cluster_rooms.py STEP SECRET PORT1 PORT2 PORT3 [-- COMMAND...]

pairs       pairs across every two nodes and on one node: text and binary
            DATA both ways, in order; a v1 peer gets binary DATA as text;
            REJECT and close end a room with PEER_LEFT; a JOIN to a name
            nobody has gets TARGET_OFFLINE
stream      a room from node 1 to node 2 and one inside node 1 carry DATA
            while COMMAND runs (Redis is killed): the room across nodes
            ends with PEER_LEFT on both sides after an unbroken prefix of
            what was sent, the one inside node 1 goes on; a JOIN from node
            1 to a name on node 2 fails at once with TARGET_OFFLINE
slow        a receiver on node 2 stops reading: its sender on node 1 is
            held back (it gets rid of a bounded number of bytes) while
            another sender on node 1 goes on into another room on node 2;
            when the receiver reads again, everything arrives in order
nodekill    a room between node 1 and node 3, a name on node 3; COMMAND
            kills node 3: node 1's member gets PEER_LEFT and the name is
            free (a JOIN gets TARGET_OFFLINE, a REGISTER elsewhere is not
            REPLACED) within the time printed; it also registers
            $CNX_SWEPT on node 3, for the shell to see it swept
"""

import asyncio
import json
import os
import struct
import subprocess
import sys
import time

import websockets

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import relay_testlib as lib
from relay_testlib import expect

STEP, SECRET = sys.argv[1:3]
PORTS = [int(p) for p in sys.argv[3:6]]
COMMAND = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
TAG = f"{os.getpid()}-{os.urandom(3).hex()}"
TIMEOUT = 5


def url(node):
    return f"ws://127.0.0.1:{PORTS[node - 1]}/relay"


def name(what):
    return f"{what}-{TAG}.claw"


async def client(node, claw_id, binary=False, **kw):
    ws = await websockets.connect(url(node), compression=None,
                                  max_size=None, **kw)
    reg = {"type": "REGISTER", "claw_id": claw_id,
           "auth_token": lib.mint(SECRET, claw_id)}
    if binary:
        reg["binary"] = True
    await ws.send(json.dumps(reg))
    await lib.until(ws, "REGISTERED")
    return ws


async def join(a, a_id, b_id):
    await a.send(json.dumps({"type": "JOIN", "claw_id": a_id,
                             "target_claw_id": b_id,
                             "auth_token": lib.mint(SECRET, a_id)}))


async def join_incoming(a, a_id, b, b_id):
    """a JOINs b: the INCOMING b gets (an ERROR to a fails at once: the
    claim of a name reaches Redis before its REGISTERED is sent)."""
    await join(a, a_id, b_id)
    got_b = asyncio.ensure_future(lib.until(b, "INCOMING"))
    got_a = asyncio.ensure_future(lib.recv_json(a, TIMEOUT))
    done, _ = await asyncio.wait({got_a, got_b},
                                 return_when=asyncio.FIRST_COMPLETED)
    for t in (got_a, got_b):
        if t not in done:
            t.cancel()
            await asyncio.gather(t, return_exceptions=True)
    if got_b in done:
        return got_b.result()
    raise AssertionError(f"JOIN {b_id}: {got_a.result()}")


async def pair(na, nb, what, binary=False, **kw):
    """Clients on nodes na and nb in one active room: (a, b, room)."""
    a_id, b_id = name(f"{what}-a"), name(f"{what}-b")
    a = await client(na, a_id, binary, **kw)
    b = await client(nb, b_id, binary, **kw)
    inc = await join_incoming(a, a_id, b, b_id)
    expect(inc["from_claw_id"] == a_id,
           f"{what}: INCOMING on node {nb} names the initiator on node {na}")
    room = inc["room_id"]
    await b.send(json.dumps({"type": "ACCEPT", "room_id": room}))
    j = await lib.until(a, "JOINED")
    expect(j["room_id"] == room, f"{what}: JOINED on node {na}, same room")
    await lib.until(b, "JOINED")
    return a, b, room


async def recv_data(ws, timeout=TIMEOUT):
    """The next DATA: (room, payload as bytes or str)."""
    while True:
        m = await asyncio.wait_for(ws.recv(), timeout)
        if isinstance(m, bytes):
            n = m[1]
            return m[2:2 + n].decode(), m[2 + n:]
        d = json.loads(m)
        if d["type"] == "DATA":
            return d["room_id"], d["payload"]
        if d["type"] == "ERROR":
            raise AssertionError(f"ERROR: {d}")


def bin_frame(room, payload):
    r = room.encode()
    return bytes([1, len(r)]) + r + payload


async def exchange(a, b, room, n, what):
    for src, dst, tag in ((a, b, "a->b"), (b, a, "b->a")):
        for i in range(n):
            await src.send(json.dumps({"type": "DATA", "room_id": room,
                                       "payload": f"{tag} {i} é ✓"}))
        for i in range(n):
            r, p = await recv_data(dst)
            if r != room or p != f"{tag} {i} é ✓":
                raise AssertionError(f"{what} {tag}: got {p!r} want {i}")
    lib.ok(f"{what}: {n} text DATA each way, in order")


async def expect_type(ws, kind, what, timeout=TIMEOUT):
    while True:
        m = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if m["type"] == kind:
            lib.ok(what)
            return m
        if m["type"] not in ("DATA", "PONG"):
            raise AssertionError(f"{what}: got {m}")


async def step_pairs():
    for na, nb in ((1, 2), (2, 3), (3, 1), (1, 1)):
        a, b, room = await pair(na, nb, f"p{na}{nb}")
        await exchange(a, b, room, 200, f"node {na} <-> node {nb}")
        await a.close()
        await expect_type(b, "PEER_LEFT", f"node {na} closed: PEER_LEFT "
                          f"on node {nb}")
        await b.close()

    # binary DATA both ways across nodes, 1..256 KiB
    a, b, room = await pair(1, 3, "bin", binary=True)
    sizes = [1, 100, 4096, 65536, 262144]
    for src, dst in ((a, b), (b, a)):
        for i, n in enumerate(sizes):
            await src.send(bin_frame(room, struct.pack(">I", i) +
                                     os.urandom(n)))
        for i, n in enumerate(sizes):
            r, p = await recv_data(dst)
            if r != room or struct.unpack(">I", p[:4])[0] != i \
                    or len(p) != n + 4:
                raise AssertionError(f"binary {i}: {len(p)} bytes")
    lib.ok("binary DATA across nodes both ways, 1 B..256 KiB, in order")
    await b.close()
    await expect_type(a, "PEER_LEFT", "node 3 closed: PEER_LEFT on node 1")
    await a.close()

    # a v1 (JSON) peer on node 2 gets a v2 peer's binary DATA as text
    v2_id, v1_id = name("v2"), name("v1")
    v2 = await client(1, v2_id, binary=True)
    v1 = await client(2, v1_id)
    await join(v2, v2_id, v1_id)
    room = (await lib.until(v1, "INCOMING"))["room_id"]
    await v1.send(json.dumps({"type": "ACCEPT", "room_id": room}))
    await lib.until(v2, "JOINED")
    await v2.send(bin_frame(room, "héllo".encode()))
    r, p = await recv_data(v1)
    expect(p == "héllo", "binary DATA from node 1 reaches a JSON peer on "
           "node 2 as text")
    await v2.close()
    await v1.close()

    # REJECT across nodes
    a_id, b_id = name("rej-a"), name("rej-b")
    a = await client(2, a_id)
    b = await client(1, b_id)
    await join(a, a_id, b_id)
    room = (await lib.until(b, "INCOMING"))["room_id"]
    await b.send(json.dumps({"type": "REJECT", "room_id": room}))
    await expect_type(a, "PEER_LEFT", "REJECT on node 1: PEER_LEFT on node 2")

    # nobody has this name
    await join(a, a_id, name("nobody"))
    m = await expect_type(a, "ERROR", "JOIN to a name no node has: ERROR")
    expect(m["code"] == "TARGET_OFFLINE", "... TARGET_OFFLINE")
    await a.close()
    await b.close()


async def stream(ws, room, sent, stop):
    """Send numbered DATA into room until stop is set or the room ends."""
    i = 0
    try:
        while not stop.is_set():
            await ws.send(json.dumps({"type": "DATA", "room_id": room,
                                      "payload": f"{i}"}))
            sent.append(i)
            i += 1
            if i % 20 == 0:
                await asyncio.sleep(0.005)
    except websockets.ConnectionClosed:
        pass


async def drain_until_left(ws, room, timeout):
    """DATA payloads received in room until PEER_LEFT; (list, left?)."""
    got = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            m = json.loads(await asyncio.wait_for(
                ws.recv(), end - time.monotonic()))
        except asyncio.TimeoutError:
            break
        if m["type"] == "DATA" and m["room_id"] == room:
            got.append(int(m["payload"]))
        elif m["type"] == "PEER_LEFT" and m["room_id"] == room:
            return got, True
        elif m["type"] == "ERROR":
            raise AssertionError(f"ERROR: {m}")
    return got, False


def unbroken(got, what):
    expect(got == list(range(len(got))),
           f"{what}: {len(got)} DATA arrived once each, in order, no gap")


async def step_stream():
    a, b, room = await pair(1, 2, "x")
    c, d, local = await pair(1, 1, "l")
    far_id = name("far")
    far = await client(2, far_id)
    stop = asyncio.Event()
    sent_a, sent_b = [], []
    ta = asyncio.create_task(stream(a, room, sent_a, stop))
    tb = asyncio.create_task(stream(b, room, sent_b, stop))
    got_b = asyncio.create_task(drain_until_left(b, room, 8))
    got_a = asyncio.create_task(drain_until_left(a, room, 8))
    await asyncio.sleep(0.5)
    t0 = time.monotonic()
    subprocess.run(COMMAND, check=True)
    gb, left_b = await got_b
    ga, left_a = await got_a
    took = time.monotonic() - t0
    stop.set()
    await ta
    await tb
    expect(left_a and left_b, f"Redis gone: the room across nodes ended "
           f"with PEER_LEFT on both sides ({took:.2f} s)")
    unbroken(gb, "node 1 -> node 2 before the end")
    unbroken(ga, "node 2 -> node 1 before the end")
    expect(len(gb) > 0 and len(ga) > 0, "DATA crossed nodes before that")
    await exchange(c, d, local, 50, "without Redis, a room inside node 1")

    # a JOIN from node 1 to the name on node 2 fails at once
    x_id = name("x-a")
    t0 = time.monotonic()
    await join(a, x_id, far_id)
    while True:
        m = await expect_type(a, "ERROR", "without Redis, a JOIN across "
                              "nodes gets an ERROR")
        # DATA a sent after the room ended is answered first
        if m["code"] != "ROOM_NOT_FOUND":
            break
    took = time.monotonic() - t0
    expect(m["code"] == "TARGET_OFFLINE" and took < 1,
           f"... TARGET_OFFLINE, after {took * 1000:.0f} ms ({m})")
    for ws in (a, b, c, d, far):
        await ws.close()


async def step_slow():
    # small client buffers, so that not reading is felt at once
    kw = dict(max_queue=4, read_limit=2 ** 16, write_limit=2 ** 16,
              close_timeout=1)
    s1, r1, room1 = await pair(1, 2, "slow", binary=True, **kw)
    s2, r2, room2 = await pair(1, 2, "fast", binary=True, **kw)
    r1.transport.pause_reading()
    msg = 64 * 1024
    sent = 0
    seq = 0

    async def push():
        nonlocal sent, seq
        while True:
            await s1.send(bin_frame(room1, struct.pack(">I", seq) +
                                    b"x" * (msg - 4)))
            seq += 1
            sent += msg

    pusher = asyncio.create_task(push())
    await asyncio.sleep(2)
    before = sent
    # the other sender on node 1 goes on while the first is held back
    for i in range(200):
        await s2.send(bin_frame(room2, struct.pack(">I", i) + b"y" * 1000))
    for i in range(200):
        r, p = await recv_data(r2)
        assert struct.unpack(">I", p[:4])[0] == i, (i, p[:4])
    lib.ok("another sender on node 1 into node 2 went on meanwhile")
    await asyncio.sleep(1)
    held = sent
    expect(held - before < 4 * msg,
           f"the sender into the reader that stopped is held back: "
           f"{held // 1024} KiB in, {(held - before) // 1024} KiB in the "
           f"last 1 s")
    expect(held < 64 * 1024 * 1024,
           f"... bounded: {held // (1024 * 1024)} MiB got rid of in all")
    r1.transport.resume_reading()
    for i in range(seq - 2):
        r, p = await recv_data(r1, 10)
        got = struct.unpack(">I", p[:4])[0]
        if got != i:
            raise AssertionError(f"slow receiver: got {got}, want {i}")
    pusher.cancel()
    lib.ok(f"the reader got {seq - 2} of the held messages in order once "
           f"it read again")
    # s1's socket still holds DATA for the room that ends now (each one an
    # ERROR it does not read): no closing handshake
    s1.transport.abort()
    for ws in (r1, s2, r2):
        await ws.close()


async def step_nodekill():
    a, c, room = await pair(1, 3, "k")
    gone_id = name("gone")
    await client(3, gone_id)
    # a name nobody looks up: left to the sweep (the shell watches Redis)
    await client(3, os.environ["CNX_SWEPT"])
    t0 = time.monotonic()
    subprocess.run(COMMAND, check=True)
    m = await expect_type(a, "PEER_LEFT", "node 3 killed: PEER_LEFT on "
                          "node 1", timeout=10)
    took = time.monotonic() - t0
    expect(m["room_id"] == room and took < 5,
           f"... for the room, {took:.2f} s after the kill")
    # its name is free: nobody has it, and a new REGISTER takes it quietly
    while True:
        await join(a, name("k-a"), gone_id)
        m = json.loads(await asyncio.wait_for(a.recv(), TIMEOUT))
        if m["type"] == "ERROR" and m["code"] == "TARGET_OFFLINE":
            break
        if time.monotonic() - t0 > 10:
            raise AssertionError(f"{gone_id} still owned: {m}")
        await asyncio.sleep(0.1)
    took = time.monotonic() - t0
    expect(took < 5, f"the dead node's name is free {took:.2f} s after "
           "the kill (JOIN: TARGET_OFFLINE)")
    b = await client(2, gone_id)
    await a.send(json.dumps({"type": "PING"}))
    await expect_type(a, "PONG", "node 1 still answers")
    await b.close()
    await a.close()


if __name__ == "__main__":
    asyncio.run({"pairs": step_pairs, "stream": step_stream,
                 "slow": step_slow, "nodekill": step_nodekill}[STEP]())
    print(f"ok - step {STEP}", flush=True)
