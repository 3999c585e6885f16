#!/usr/bin/python3
"""A receiver that stops reading while the sender pushes 100 MB.

usage: relay_backpressure.py HOST PORT SECRET MASTER_PID SEND_QUEUE

The relay must stop reading the sender (bounded memory: the worker's RSS
and the bytes the sender got rid of stay small) and, once the receiver
reads again, deliver every message once and in order.  Binary DATA
frames (the fast path) with a sequence number in each payload.
"""

import asyncio
import hashlib
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


async def client(claw_id):
    # small client-side queues so that "not reading" is felt quickly
    ws = await websockets.connect(URL, ssl=SSL, compression=None, max_size=None,
                                  max_queue=4, read_limit=2 ** 16,
                                  write_limit=2 ** 16)
    await ws.send(json.dumps({"type": "REGISTER", "claw_id": claw_id,
                              "auth_token": mint(claw_id), "binary": True}))
    msg = await recv_json(ws)
    assert msg["type"] == "REGISTERED" and msg.get("binary") is True, msg
    return ws


async def main():
    x = await client("bp-sender.id.claw")
    y = await client("bp-receiver.id.claw")
    await x.send(json.dumps({"type": "JOIN", "claw_id": "bp-sender.id.claw",
                             "target_claw_id": "bp-receiver.id.claw",
                             "auth_token": mint("bp-sender.id.claw")}))
    room = (await recv_json(y))["room_id"]
    await y.send(json.dumps({"type": "ACCEPT", "room_id": room}))
    assert (await recv_json(x))["type"] == "JOINED"
    assert (await recv_json(y))["type"] == "JOINED"

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
    want_hash = hashlib.sha256(block).digest()
    for i in range(N):
        m = await asyncio.wait_for(y.recv(), 30)
        if not m.startswith(hdr) or len(m) != len(hdr) + MSG:
            raise AssertionError(f"message {i}: bad frame ({len(m)} bytes)")
        seq = struct.unpack("!Q", m[len(hdr):len(hdr) + 8])[0]
        if seq != i:
            raise AssertionError(f"message {i}: got sequence {seq}")
        if i % 97 == 0 and hashlib.sha256(m[len(hdr) + 8:]).digest() != want_hash:
            raise AssertionError(f"message {i}: payload changed")
    await task
    dt = time.monotonic() - t0
    expect(True, f"all {N} messages ({TOTAL >> 20} MiB) delivered once, "
                 f"in order, after the receiver resumed ({dt:.1f}s)")
    await x.close()
    await y.close()


asyncio.run(main())
print("relay backpressure: all passed")
