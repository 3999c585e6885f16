#!/usr/bin/python3
"""Pairs across nginx workers.

usage: relay_workers.py HOST PORT SECRET MASTER_PID STATUS_PORT

Opens sockets until they are spread over several workers (the worker of
each socket is found through /proc: the worker holding the accepted TCP
socket), then checks on pairs whose members live in different workers:
INCOMING/JOINED, DATA both ways in order (JSON and binary, messages larger
than one IPC chunk), a slow receiver (also of many small JSON messages,
which share datagrams between workers), REPLACED and name ownership,
PEER_LEFT on close, many pairs at once, a receiver's worker stopped for a
while (the ring between the workers fills, datagrams follow, the order
holds), kill -9 of a worker (its peers get PEER_LEFT, its names are free
again, the worker started in its place relays both ways) and a reload
(1001, new pairs work).
"""

import asyncio
import json
import os
import signal
import struct
import sys
import time

import websockets

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import relay_testlib as lib
from relay_testlib import alive, expect, ok

HOST, PORT, SECRET, MASTER, STATUS_PORT = sys.argv[1:6]
STATUS_PORT = int(STATUS_PORT)
PORT = int(PORT)
MASTER = int(MASTER)
URL = f"ws://{HOST}:{PORT}/relay"
TIMEOUT = 10


def mint(sub):
    return lib.mint(SECRET, sub)


def workers():
    return lib.workers(MASTER)


def rss_kb():
    return lib.rss_kb(MASTER)


def status():
    """GET /status of the status server (counters over all workers)."""
    return lib.status(HOST, STATUS_PORT, TIMEOUT)


async def recv_json(ws, timeout=TIMEOUT):
    return await lib.recv_json(ws, timeout)


class Client:
    def __init__(self, ws, name, pid):
        self.ws, self.name, self.pid = ws, name, pid


def stalled_rss_bounded(grown):
    """The workers' RSS growth while a receiver stalls stays bounded.
    Checked in the normal build only: AddressSanitizer keeps freed memory
    in quarantine, so there the RSS grows with what the relay allocated,
    not with what it holds."""
    if os.environ.get("CNX_SANITIZERS") == "yes":
        ok(f"workers' RSS grew by {grown} KiB while stalled (not checked "
           f"under sanitizers)")
    else:
        expect(grown < 24 * 1024,
               f"workers' RSS grew by {grown} KiB while stalled")


async def client(name, binary=False):
    # small client-side queues so that a receiver that does not read is
    # felt by the relay quickly
    ws = await websockets.connect(URL, compression=None, max_size=None,
                                  max_queue=4)
    reg = {"type": "REGISTER", "claw_id": name, "auth_token": mint(name)}
    if binary:
        reg["binary"] = True
    await ws.send(json.dumps(reg))
    msg = await recv_json(ws)
    assert msg["type"] == "REGISTERED" and msg["claw_id"] == name, msg
    port = ws.transport.get_extra_info("sockname")[1]
    pid = await lib.wait_socket_owner(MASTER, PORT, port)
    return Client(ws, name, pid)


async def pair(a, b):
    await a.ws.send(json.dumps({"type": "JOIN", "claw_id": a.name,
                                "target_claw_id": b.name,
                                "auth_token": mint(a.name)}))
    inc = await recv_json(b.ws)
    assert inc["type"] == "INCOMING" and inc["from_claw_id"] == a.name, inc
    room = inc["room_id"]
    await b.ws.send(json.dumps({"type": "ACCEPT", "room_id": room}))
    ja = await recv_json(a.ws)
    jb = await recv_json(b.ws)
    assert ja == {"type": "JOINED", "room_id": room,
                  "peer_claw_id": b.name}, ja
    assert jb == {"type": "JOINED", "room_id": room,
                  "peer_claw_id": a.name}, jb
    return room


async def exchange(a, b, room, n):
    async def send(src, tag):
        for i in range(n):
            await src.ws.send(json.dumps({"type": "DATA", "room_id": room,
                                          "payload": f"{tag}{i}"}))

    async def recv(dst, tag):
        for i in range(n):
            m = await recv_json(dst.ws)
            if m != {"type": "DATA", "room_id": room, "payload": f"{tag}{i}"}:
                raise AssertionError(f"{dst.name}: got {m}, want {tag}{i}")

    await asyncio.gather(send(a, "a"), send(b, "b"), recv(b, "a"),
                         recv(a, "b"))


async def spread(prefix, count, binary=False):
    clients = await asyncio.gather(*[client(f"{prefix}{i}.id.claw", binary)
                                     for i in range(count)])
    by = {}
    for c in clients:
        by.setdefault(c.pid, []).append(c)
    return clients, by


def cross_pairs(by, k):
    """k pairs (a, b) with a and b in different workers."""
    groups = [list(v) for pid, v in by.items() if pid]
    pairs = []
    while len(pairs) < k:
        groups = [g for g in groups if g]
        if len(groups) < 2:
            break
        groups.sort(key=len, reverse=True)
        pairs.append((groups[0].pop(), groups[1].pop()))
    return pairs


class Numbered:
    """count JSON DATA messages "<i:08d><filler>" into room: send() from
    one socket (sent counts them), stalled() waits until the sender stops
    or ends, check() reads them all, in order, at the other end."""

    def __init__(self, room, count, filler):
        self.room, self.count, self.filler, self.sent = room, count, filler, 0

    def msg(self, i):
        return {"type": "DATA", "room_id": self.room,
                "payload": f"{i:08d}" + self.filler}

    async def send(self, src):
        for i in range(self.count):
            await src.ws.send(json.dumps(self.msg(i)))
            self.sent += 1

    async def stalled(self):
        last = -1
        while self.sent != last and self.sent < self.count:
            last = self.sent
            await asyncio.sleep(0.5)

    async def check(self, dst, what):
        for i in range(self.count):
            m = json.loads(await asyncio.wait_for(dst.ws.recv(), 30))
            if m != self.msg(i):
                raise AssertionError(f"{what} {i}: got {str(m)[:80]}")


async def wait_closed(ws):
    return await lib.wait_closed(ws, TIMEOUT)


async def main():
    w0 = workers()
    expect(len(w0) == 4, f"4 workers ({w0})")

    clients, by = await spread("w", 40)
    expect(None not in by, "every socket's worker was found")
    expect(len(by) >= 2, f"sockets spread over {len(by)} workers")

    pairs = cross_pairs(by, 8)
    expect(len(pairs) >= 2, f"{len(pairs)} cross-worker pairs")
    a, b = pairs[0]
    room = await pair(a, b)
    ok(f"JOIN/INCOMING/ACCEPT/JOINED across workers {a.pid} -> {b.pid}")
    await exchange(a, b, room, 300)
    ok("300 DATA each way across workers, in order")

    rooms = await asyncio.gather(*[pair(x, y) for x, y in pairs[1:]])
    await asyncio.gather(*[exchange(x, y, r, 100)
                           for (x, y), r in zip(pairs[1:], rooms)])
    ok(f"{len(pairs) - 1} more cross-worker pairs at once, 100 DATA each way")
    st = status()
    expect(st["rooms"] == len(pairs),
           f"/status counts each cross-worker room once ({st['rooms']})")
    expect(st["names"] == 40 and st["websockets"] == 40,
           f"/status sees the 40 sockets of all workers ({st['names']})")

    # DATA to a room of another worker's pair is refused
    await pairs[1][0].ws.send(json.dumps({"type": "DATA", "room_id": room,
                                          "payload": "intrude"}))
    m = await recv_json(pairs[1][0].ws)
    expect(m.get("code") == "ROOM_NOT_FOUND", "foreign room refused")

    # newest REGISTER wins across workers
    others = [c for c in clients if c.pid != a.pid and
              c not in [x for p in pairs for x in p]]
    if others:
        o = others[0]
        await o.ws.send(json.dumps({"type": "REGISTER", "claw_id": a.name,
                                    "auth_token": mint(a.name)}))
        m = await recv_json(o.ws)
        expect(m["type"] == "REGISTERED", "another worker's socket takes a name")
        m = await recv_json(a.ws)
        expect(m.get("code") == "REPLACED",
               "older socket in another worker is told REPLACED")
        # the room of the old socket still works until it closes
        await b.ws.send(json.dumps({"type": "DATA", "room_id": room,
                                    "payload": "still"}))
        m = await recv_json(a.ws)
        expect(m.get("payload") == "still", "replaced socket keeps its room")
        await a.ws.close()
        m = await recv_json(b.ws)
        expect(m == {"type": "PEER_LEFT", "room_id": room},
               "PEER_LEFT crosses workers on close")
        # the name stays with the newer socket: a JOIN reaches it
        await b.ws.send(json.dumps({"type": "JOIN", "claw_id": b.name,
                                    "target_claw_id": a.name,
                                    "auth_token": mint(b.name)}))
        m = await recv_json(o.ws)
        expect(m["type"] == "INCOMING" and m["from_claw_id"] == b.name,
               "the old socket's close did not release the newer's name")
        await o.ws.send(json.dumps({"type": "REJECT", "room_id": m["room_id"]}))
        m = await recv_json(b.ws)
        expect(m["type"] == "PEER_LEFT", "REJECT across workers")

    # binary path with messages bigger than one IPC chunk, slow receiver
    bins, bby = await spread("bin", 16, binary=True)
    bp = cross_pairs(bby, 1)
    expect(len(bp) == 1, "a binary cross-worker pair")
    x, y = bp[0]
    broom = await pair(x, y)
    hdr = bytes([1, len(broom)]) + broom.encode()
    block = os.urandom(100 * 1024)
    count = 400                         # 40 MB
    sent = 0

    async def sender():
        nonlocal sent
        for i in range(count):
            await x.ws.send(hdr + struct.pack("!Q", i) + block)
            sent += 1

    rss0 = rss_kb()
    task = asyncio.create_task(sender())
    await asyncio.sleep(1.5)
    held = sent
    await asyncio.sleep(0.5)
    expect(sent == held and sent < count,
           f"sender held back across workers ({sent}/{count} accepted)")
    stalled_rss_bounded(rss_kb() - rss0)
    for i in range(count):
        m = await asyncio.wait_for(y.ws.recv(), 30)
        if m[:len(hdr)] != hdr or struct.unpack("!Q", m[len(hdr):len(hdr) + 8])[0] != i \
                or m[len(hdr) + 8:] != block:
            raise AssertionError(f"binary message {i} wrong")
    await task
    ok(f"{count} binary messages of 100 KiB across workers, in order, intact")

    # small JSON DATA across workers: many share one datagram between the
    # workers; a receiver that does not read still holds the sender back
    # (bounded memory) and each message arrives once, in order, intact
    smalls, sby = await spread("small", 16)
    sp = cross_pairs(sby, 1)
    expect(len(sp) == 1, "a JSON cross-worker pair")
    x, y = sp[0]
    sroom = await pair(x, y)
    # another pair into y's worker, to check that a stalled receiver holds
    # back only the senders into it (not the worker's whole IPC reader)
    others = [c for c in smalls if c not in (x, y)]
    v = next((c for c in others if c.pid == y.pid), None)
    u = next((c for c in others if c.pid not in (None, y.pid)), None)
    expect(u is not None and v is not None,
           "another cross-worker pair into the stalled receiver's worker")
    uvroom = await pair(u, v)
    scount = 48000                      # about 45 MB of frames
    small = Numbered(sroom, scount, "0123456789abcdef" * 55)
    rss0 = rss_kb()
    task = asyncio.create_task(small.send(x))
    await small.stalled()
    expect(small.sent < scount,
           f"small JSON sender held back across workers "
           f"({small.sent}/{scount} accepted)")
    stalled_rss_bounded(rss_kb() - rss0)
    await u.ws.send(json.dumps({"type": "DATA", "room_id": uvroom,
                                "payload": "past the stalled receiver"}))
    try:
        m = await recv_json(v.ws, 5)
    except asyncio.TimeoutError:
        raise AssertionError("a stalled receiver in a worker holds back "
                             "DATA to other sockets of that worker")
    expect(m.get("payload") == "past the stalled receiver",
           "while one receiver stalls, other rooms into its worker flow")
    await small.check(y, "small message")
    await task
    ok(f"{scount} small JSON messages across workers, in order, intact")
    for c in smalls:
        await c.ws.close()

    # the receiver's worker stopped (SIGSTOP): the sender's worker fills
    # the ring between the two (512 KiB), then queues datagrams, then holds
    # the sender back (the kernel's socket buffers may take all 16 MB
    # first); once the worker runs again every message arrives once, in
    # order, intact (ring regions and datagrams keep one order)
    rings, rby = await spread("ring", 16)
    rp = cross_pairs(rby, 1)
    expect(len(rp) == 1, "a cross-worker pair for the stopped worker")
    x, y = rp[0]
    rroom = await pair(x, y)
    rcount = 4000                       # about 16 MB
    big = Numbered(rroom, rcount, "0123456789abcdef" * 256)
    os.kill(y.pid, signal.SIGSTOP)
    try:
        task = asyncio.create_task(big.send(x))
        await big.stalled()
        ok(f"{big.sent}/{rcount} messages sent into a stopped worker")
    finally:
        os.kill(y.pid, signal.SIGCONT)
    await big.check(y, "message after SIGCONT")
    await task
    ok(f"{rcount} messages of 4 KiB into a worker that was stopped, "
       f"in order, intact")
    for c in rings:
        await c.ws.close()

    # kill -9 of a worker: peers elsewhere get PEER_LEFT, names are free
    k1, k2 = pairs[-1]
    kroom = rooms[-1] if len(pairs) > 1 else room
    victim = k2.pid
    survivors = [c for c in clients + bins if c.pid != victim]
    os.kill(victim, signal.SIGKILL)
    m = await recv_json(k1.ws, timeout=5)
    expect(m == {"type": "PEER_LEFT", "room_id": kroom},
           "killed worker's peer gets PEER_LEFT")
    t0 = time.monotonic()
    while True:
        try:
            c = await client(k2.name)
            break
        except (OSError, AssertionError, websockets.ConnectionClosed):
            if time.monotonic() - t0 > 10:
                raise
            await asyncio.sleep(0.1)
    expect(c.pid != victim, "the killed socket's name registers again")
    await c.ws.close()

    # the worker started in the victim's place relays across workers both
    # ways (it sends datagrams only: its predecessor's ring regions may
    # still be unread)
    fresh = set(workers()) - set(w0)
    expect(len(fresh) == 1, f"a new worker replaced {victim} ({fresh})")
    nx = ny = None
    for attempt in range(5):
        news, nby = await spread(f"new{attempt}x", 16)
        nx = next((cl for cl in news if cl.pid in fresh), None)
        ny = next((cl for cl in news if cl.pid not in fresh | {None}), None)
        for cl in news:
            if cl not in (nx, ny):
                await cl.ws.close()
        if nx and ny:
            break
        for cl in (nx, ny):
            if cl:
                await cl.ws.close()
    expect(nx is not None and ny is not None,
           "sockets in the new worker and in another one")
    nroom = await pair(nx, ny)
    await exchange(nx, ny, nroom, 2000)
    ok("2000 DATA each way between the new worker and another, in order")
    await nx.ws.close()
    await ny.ws.close()

    # reload: all sessions get 1001; new cross-worker pairs work
    old = workers()
    alive_clients = [cl for cl in survivors
                     if cl.ws.open and cl is not a]
    os.kill(MASTER, signal.SIGHUP)
    codes = await asyncio.gather(*[wait_closed(cl.ws)
                                   for cl in alive_clients])
    expect(all(cd == 1001 for cd in codes),
           f"reload closed {len(codes)} sessions with 1001")
    t0 = time.monotonic()
    while any(alive(p) for p in old) and time.monotonic() - t0 < 10:
        await asyncio.sleep(0.05)
    expect(not any(alive(p) for p in old), "old workers exited")
    clients, by = await spread("n", 24)
    np = cross_pairs(by, 1)
    expect(len(np) == 1, "cross-worker pair after reload")
    r = await pair(*np[0])
    await exchange(np[0][0], np[0][1], r, 50)
    ok("pairs across new workers after reload")
    for c in clients:
        await c.ws.close()


asyncio.run(main())
print("relay workers: all passed")
