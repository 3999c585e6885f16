#!/usr/bin/python3
"""A receiver that stops reading while the sender pushes 100 MB.

usage: relay_backpressure.py HOST PORT SECRET MASTER_PID SEND_QUEUE

The relay must stop reading the sender (bounded memory: the worker's RSS
and the bytes the sender got rid of stay small) and, once the receiver
reads again, deliver every message once and in order.  Binary DATA
frames (the fast path) with a sequence number in each payload.  Then the
same with many small JSON DATA messages, which the relay packs into large
writes (over TLS into shared records) that the full socket refuses and
that are retried.
"""

import asyncio
import json
import os
import struct
import sys
import time

import websockets

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import relay_testlib as lib
from relay_testlib import expect

HOST, PORT, SECRET, MASTER, SEND_QUEUE = sys.argv[1:6]
URL, SSL = lib.relay_url(HOST, PORT)
MASTER = int(MASTER)
SEND_QUEUE = int(SEND_QUEUE)
MSG = 64 * 1024
TOTAL = 100 * 1024 * 1024
N = TOTAL // MSG
TIMEOUT = 5
SMALL_N = 20000
SMALL_FILLER = "0123456789abcdef" * 24     # 384 bytes


def mint(sub):
    return lib.mint(SECRET, sub)


def worker_rss_kb():
    """Sum of the RSS of the master's workers."""
    total = lib.rss_kb(MASTER)
    if total == 0:
        raise AssertionError("no worker found")
    return total


async def recv_json(ws):
    return await lib.recv_json(ws, TIMEOUT)


async def client(claw_id, binary=True):
    # small client-side queues so that "not reading" is felt quickly
    ws = await websockets.connect(URL, ssl=SSL, compression=None, max_size=None,
                                  max_queue=4, read_limit=2 ** 16,
                                  write_limit=2 ** 16)
    reg = {"type": "REGISTER", "claw_id": claw_id,
           "auth_token": mint(claw_id)}
    if binary:
        reg["binary"] = True
    await ws.send(json.dumps(reg))
    msg = await recv_json(ws)
    assert msg["type"] == "REGISTERED" \
        and (msg.get("binary") is True) == binary, msg
    return ws


async def pair(a, b, binary=True):
    """Two registered clients in one active room."""
    x = await client(a, binary)
    y = await client(b, binary)
    await x.send(json.dumps({"type": "JOIN", "claw_id": a,
                             "target_claw_id": b, "auth_token": mint(a)}))
    room = (await recv_json(y))["room_id"]
    await y.send(json.dumps({"type": "ACCEPT", "room_id": room}))
    assert (await recv_json(x))["type"] == "JOINED"
    assert (await recv_json(y))["type"] == "JOINED"
    return x, y, room


async def small_messages(tag):
    x, y, room = await pair(f"bp-small-{tag}a.id.claw",
                            f"bp-small-{tag}b.id.claw", binary=False)

    async def sender():
        for i in range(SMALL_N):
            await x.send(json.dumps({"type": "DATA", "room_id": room,
                                     "payload": f"{i:08d}" + SMALL_FILLER}))

    task = asyncio.create_task(sender())
    await asyncio.sleep(1.0)        # the receiver does not read meanwhile
    for i in range(SMALL_N):
        m = json.loads(await asyncio.wait_for(y.recv(), 30))
        if (m.get("type") != "DATA" or m.get("room_id") != room
                or m.get("payload") != f"{i:08d}" + SMALL_FILLER):
            raise AssertionError(f"small message {i}: got {str(m)[:80]}")
    await task
    expect(True, f"pair {tag}: all {SMALL_N} small JSON messages delivered "
                 f"once, in order, intact, after the receiver paused")
    await x.close()
    await y.close()


async def main():
    x, y, room = await pair("bp-sender.id.claw", "bp-receiver.id.claw")

    hdr = bytes([1, len(room)]) + room.encode()
    block = os.urandom(MSG - 8)
    rss0 = worker_rss_kb()
    sent = 0

    async def sender():
        nonlocal sent
        for i in range(N):
            await x.send(hdr + struct.pack("!Q", i) + block)
            sent += 1

    task = asyncio.create_task(sender())
    await asyncio.sleep(2.0)
    stalled_at = sent
    await asyncio.sleep(1.0)
    rss1 = worker_rss_kb()
    expect(sent == stalled_at and sent < N,
           f"sender is held back while the receiver does not read "
           f"({sent * MSG // 1024} KiB accepted of {TOTAL // 1024})")
    expect(sent * MSG < 64 * 1024 * 1024,
           "less than 64 MiB in flight while stalled")
    growth = rss1 - rss0
    expect(growth < 32 * 1024 + 4 * SEND_QUEUE // 1024,
           f"worker RSS grew by {growth} KiB only")

    t0 = time.monotonic()
    for i in range(N):
        m = await asyncio.wait_for(y.recv(), 30)
        if not m.startswith(hdr) or len(m) != len(hdr) + MSG:
            raise AssertionError(f"message {i}: bad frame ({len(m)} bytes)")
        seq = struct.unpack("!Q", m[len(hdr):len(hdr) + 8])[0]
        if seq != i:
            raise AssertionError(f"message {i}: got sequence {seq}")
        # every byte: the relay may send a frame from where it received
        # it and copy what a full socket did not take
        if m[len(hdr) + 8:] != block:
            raise AssertionError(f"message {i}: payload changed")
    await task
    dt = time.monotonic() - t0
    expect(True, f"all {N} messages ({TOTAL >> 20} MiB) delivered once, "
                 f"in order, after the receiver resumed ({dt:.1f}s)")
    await x.close()
    await y.close()

    # two pairs at once: the writes the full sockets refuse interleave
    # (over TLS each retry must present the same bytes as the first try)
    await asyncio.gather(small_messages("1"), small_messages("2"))


asyncio.run(main())
print("relay backpressure: all passed")
