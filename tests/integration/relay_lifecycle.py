#!/usr/bin/python3
"""Reload and worker crash with relay sessions open.

usage: relay_lifecycle.py HOST PORT SECRET MASTER_PID

1. Two registered, paired sockets; `kill -HUP master` (nginx -s reload):
   both get a close frame 1001, the old worker exits within seconds, and
   new connections (same names) register and pair on the new worker.
2. kill -9 of the worker with sessions open: the sockets see their
   connection end, the master starts a new worker, and the same names
   register again at once (no stale owner).
"""

import asyncio
import json
import os
import signal
import sys
import time

import websockets

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import relay_testlib as lib
from relay_testlib import alive, expect, ok

HOST, PORT, SECRET, MASTER = sys.argv[1:5]
URL, SSL = lib.relay_url(HOST, PORT)
MASTER = int(MASTER)
TIMEOUT = 5


def mint(sub):
    return lib.mint(SECRET, sub)


def workers():
    return lib.workers(MASTER)


async def recv_json(ws):
    return await lib.recv_json(ws, TIMEOUT)


async def wait_closed(ws):
    return await lib.wait_closed(ws, TIMEOUT)


async def client(claw_id):
    ws = await websockets.connect(URL, ssl=SSL, compression=None)
    await ws.send(json.dumps({"type": "REGISTER", "claw_id": claw_id,
                              "auth_token": mint(claw_id)}))
    msg = await recv_json(ws)
    assert msg == {"type": "REGISTERED", "claw_id": claw_id}, msg
    return ws


async def pair(a, a_id, b, b_id):
    await a.send(json.dumps({"type": "JOIN", "claw_id": a_id,
                             "target_claw_id": b_id,
                             "auth_token": mint(a_id)}))
    inc = await recv_json(b)
    room = inc["room_id"]
    await b.send(json.dumps({"type": "ACCEPT", "room_id": room}))
    assert (await recv_json(a))["type"] == "JOINED"
    assert (await recv_json(b))["type"] == "JOINED"
    await a.send(json.dumps({"type": "DATA", "room_id": room,
                             "payload": "hello"}))
    msg = await recv_json(b)
    assert msg["payload"] == "hello", msg
    return room


async def main():
    a = await client("life-a.id.claw")
    b = await client("life-b.id.claw")
    await pair(a, "life-a.id.claw", b, "life-b.id.claw")
    old = workers()
    expect(len(old) == 1, f"one worker before reload ({old})")

    # a reload while data is flowing: a keeps sending until its socket ends
    async def blast():
        try:
            while True:
                await a.send(json.dumps({"type": "PING"}))
                await asyncio.sleep(0.002)
        except websockets.ConnectionClosed:
            pass

    blaster = asyncio.create_task(blast())
    await asyncio.sleep(0.2)
    t0 = time.monotonic()
    os.kill(MASTER, signal.SIGHUP)
    codes = await asyncio.gather(wait_closed(a), wait_closed(b))
    await blaster
    expect(codes == [1001, 1001], f"reload closes sessions with 1001 {codes}")

    while alive(old[0]) and time.monotonic() - t0 < 10:
        await asyncio.sleep(0.05)
    took = time.monotonic() - t0
    # the close handshake ends each session: no waiting for the 2 s grace
    expect(not alive(old[0]) and took < 1.5,
           f"old worker exited {took:.2f}s after reload")

    a = await client("life-a.id.claw")
    b = await client("life-b.id.claw")
    await pair(a, "life-a.id.claw", b, "life-b.id.claw")
    ok("same names register and pair after reload")

    cur = workers()
    expect(len(cur) == 1 and cur != old, f"a new worker serves ({cur})")
    os.kill(cur[0], signal.SIGKILL)
    codes = await asyncio.gather(wait_closed(a), wait_closed(b))
    expect(all(c == 1006 for c in codes),
           "sockets of a killed worker end (1006: no close frame)")

    t0 = time.monotonic()
    while True:
        w = workers()
        if w and w != cur:
            break
        if time.monotonic() - t0 > 10:
            raise AssertionError("master did not start a new worker")
        await asyncio.sleep(0.05)
    for _ in range(100):
        try:
            a = await client("life-a.id.claw")
            break
        except OSError:
            await asyncio.sleep(0.05)
    b = await client("life-b.id.claw")
    await pair(b, "life-b.id.claw", a, "life-a.id.claw")
    ok("after kill -9 the same names register and pair again")
    await a.close()
    await b.close()


asyncio.run(main())
print("relay lifecycle: all passed")
