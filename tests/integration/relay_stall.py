#!/usr/bin/python3
"""A receiver that reads nothing is closed; a slow one that reads is not.

usage: relay_stall.py HOST PORT SECRET MASTER_PID STALL_SECONDS
(CNX_RELAY_SCHEME=wss: the same over TLS)

With clawnexus_send_stall_timeout STALL_SECONDS and two workers: sockets
are opened until both workers hold some, then four rooms run at once,
two with both members in one worker and two with one member in each:

- a receiver that stops reading while its sender pushes 60 KB DATA: the
  relay closes it once nothing of its queue was sent for the timeout,
  and the sender gets PEER_LEFT (from the other worker too) and is read
  again (PING -> PONG);
- a receiver that reads one message every 0.2 s while the sender pushes
  as fast as the relay takes: its queue never empties, but it reads, so
  it stays open for four timeouts, gets every message in order, and its
  sender gets no PEER_LEFT.
"""

import asyncio
import json
import socket
import sys
import time

import websockets

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import relay_testlib as lib
from relay_testlib import expect, ok

HOST, PORT, SECRET, MASTER, STALL = sys.argv[1:6]
PORT = int(PORT)
MASTER = int(MASTER)
STALL = float(STALL)
URL, SSL = lib.relay_url(HOST, PORT)
TIMEOUT = 10
FILLER = "x" * 60000
SLOW_EVERY = 0.2
PUSH = 400


class Client:
    def __init__(self, ws, name, pid):
        self.ws, self.name, self.pid = ws, name, pid


async def client(name):
    # small buffers on our side, so that not reading is felt at once
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.setblocking(False)
    await asyncio.get_running_loop().sock_connect(s, (HOST, PORT))
    ws = await websockets.connect(URL, sock=s, ssl=SSL,
                                  server_hostname=HOST if SSL else None,
                                  compression=None,
                                  max_size=None, max_queue=2,
                                  read_limit=2 ** 16, write_limit=2 ** 16)
    await ws.send(json.dumps({"type": "REGISTER", "claw_id": name,
                              "auth_token": lib.mint(SECRET, name)}))
    msg = await lib.recv_json(ws, TIMEOUT)
    assert msg["type"] == "REGISTERED", msg
    port = s.getsockname()[1]
    pid = await lib.wait_socket_owner(MASTER, PORT, port)
    return Client(ws, name, pid)


async def pair(a, b):
    await a.ws.send(json.dumps({"type": "JOIN", "claw_id": a.name,
                                "target_claw_id": b.name,
                                "auth_token": lib.mint(SECRET, a.name)}))
    room = (await lib.until(b.ws, "INCOMING", TIMEOUT))["room_id"]
    await b.ws.send(json.dumps({"type": "ACCEPT", "room_id": room}))
    await lib.until(a.ws, "JOINED", TIMEOUT)
    await lib.until(b.ws, "JOINED", TIMEOUT)
    return room


async def push(a, room, stop):
    """DATA as fast as the relay reads it, PUSH messages at most (more
    than the kernel's buffers and the relay's queue hold); the number
    sent."""
    i = 0
    while not stop.is_set() and i < PUSH:
        await a.ws.send(json.dumps({"type": "DATA", "room_id": room,
                                    "payload": f"{i:08d}{FILLER}"}))
        i += 1
        await asyncio.sleep(0)      # the other rooms' tasks run too
    return i


async def stalled(kind, a, b):
    """b stops reading (it never calls recv()); a pushes."""
    room = await pair(a, b)
    stop = asyncio.Event()
    sender = asyncio.create_task(push(a, room, stop))
    t0 = time.monotonic()
    # filling the kernel's buffers and the queue first takes some seconds
    left = await lib.until(a.ws, "PEER_LEFT", STALL + 2 * TIMEOUT)
    dt = time.monotonic() - t0
    expect(left.get("room_id") == room,
           f"{kind}: a receiver that reads nothing is closed and its "
           f"sender gets PEER_LEFT ({dt:.1f} s after the first DATA)")
    stop.set()
    await asyncio.wait_for(sender, TIMEOUT)
    await a.ws.send(json.dumps({"type": "PING"}))
    while True:
        # DATA sent after the room ended gets ROOM_NOT_FOUND
        m = await lib.recv_json(a.ws, TIMEOUT)
        if m.get("type") == "PONG":
            break
        assert m.get("code") == "ROOM_NOT_FOUND", m
    ok(f"{kind}: the sender is read again afterwards")
    code = await lib.wait_closed(b.ws, TIMEOUT)
    expect(b.ws.closed, f"{kind}: the stalled receiver's connection is "
                        f"gone (close code {code})")


async def slow(kind, a, b):
    """b reads one message every SLOW_EVERY seconds; a pushes."""
    room = await pair(a, b)
    stop = asyncio.Event()
    sender = asyncio.create_task(push(a, room, stop))
    watch = asyncio.create_task(lib.until(a.ws, "PEER_LEFT", 3600))
    n = int(4 * STALL / SLOW_EVERY)
    for i in range(n):
        m = json.loads(await asyncio.wait_for(b.ws.recv(), TIMEOUT))
        if (m.get("type") != "DATA"
                or m.get("payload") != f"{i:08d}{FILLER}"):
            raise AssertionError(f"{kind}: message {i}: got "
                                 f"{str(m)[:60]}")
        await asyncio.sleep(SLOW_EVERY)
    expect(not watch.done() and not b.ws.closed,
           f"{kind}: a receiver that reads slowly stays open for "
           f"{4 * STALL:.0f} s with its queue never empty ({n} messages "
           f"in order, no PEER_LEFT)")
    stop.set()
    watch.cancel()
    # let the sender's last send() complete
    drain = asyncio.create_task(lib.wait_closed(b.ws, TIMEOUT))
    await asyncio.wait_for(sender, TIMEOUT)
    await b.ws.close()
    await a.ws.close()
    await drain


async def main():
    by = {}
    clients = []
    while len(clients) < 64:
        c = await client(f"stall{'s' if SSL else ''}{len(clients)}.id.claw")
        clients.append(c)
        by.setdefault(c.pid, []).append(c)
        if len(by) >= 2 and all(len(v) >= 4 for v in by.values()):
            break
    expect(None not in by, "every socket's worker was found")
    g = list(by.values())
    expect(len(g) == 2 and all(len(v) >= 4 for v in g),
           f"sockets in both workers ({[len(v) for v in g]})")
    await asyncio.gather(
        stalled("same worker", g[0][0], g[0][1]),
        stalled("across workers", g[0][2], g[1][0]),
        slow("same worker", g[1][1], g[1][2]),
        slow("across workers", g[1][3], g[0][3]))
    ok("stalled receivers closed, slow ones kept")
    for c in clients:
        await c.ws.close()


asyncio.run(main())
print("relay send stall: all passed")
