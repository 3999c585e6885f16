#!/usr/bin/python3
"""A receiver that stops reading while the sender pushes 100 MB.

usage: relay_backpressure.py HOST PORT SECRET MASTER_PID SEND_QUEUE

The relay must stop reading the sender (bounded memory: the worker's RSS
and the bytes the sender got rid of stay small) and, once the receiver
reads again, deliver every message once and in order.  Binary DATA
frames (the fast path) with a sequence number in each payload.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import time

import websockets

HOST, PORT, SECRET, MASTER, SEND_QUEUE = sys.argv[1:6]
# CNX_RELAY_SCHEME=wss runs the same checks over TLS (certificate not
# verified: the test made it)
SCHEME = os.environ.get("CNX_RELAY_SCHEME", "ws")
URL = f"{SCHEME}://{HOST}:{PORT}/relay"
SSL = None
if SCHEME == "wss":
    import ssl
    SSL = ssl.create_default_context()
    SSL.check_hostname = False
    SSL.verify_mode = ssl.CERT_NONE
MASTER = int(MASTER)
SEND_QUEUE = int(SEND_QUEUE)
MSG = 64 * 1024
TOTAL = 100 * 1024 * 1024
N = TOTAL // MSG
TIMEOUT = 5


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def mint(sub, ttl=300):
    now = int(time.time())
    signing = (b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
               + "." + b64url(json.dumps({"sub": sub, "iat": now,
                                          "exp": now + ttl}).encode()))
    mac = hmac.new(SECRET.encode(), signing.encode(), hashlib.sha256)
    return signing + "." + b64url(mac.digest())


def ok(what):
    print(f"ok - {what}", flush=True)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)
    ok(what)


def worker_rss_kb():
    """Sum of the RSS of the master's workers."""
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) != MASTER:
                continue
            with open(f"/proc/{d}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    if total == 0:
        raise AssertionError("no worker found")
    return total


async def recv_json(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))


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
