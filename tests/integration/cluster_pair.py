"""A pair of sockets on one relay node: REGISTER, JOIN, ACCEPT, then COUNT
DATA messages each way, checked in order; exit 0 when all arrived.

    cluster_pair.py HOST PORT SECRET COUNT

The relay cluster tests use it to show that a node keeps relaying inside
itself whatever happens to Redis.
"""

import asyncio
import json
import os
import sys

import websockets

from relay_testlib import mint, until


async def main(host, port, secret, count):
    url = f"ws://{host}:{port}/relay"
    tag = f"{os.getpid()}-{os.urandom(3).hex()}"
    a_id, b_id = f"a-{tag}.claw", f"b-{tag}.claw"
    async with websockets.connect(url) as a, websockets.connect(url) as b:
        for ws, cid in ((a, a_id), (b, b_id)):
            await ws.send(json.dumps({"type": "REGISTER", "claw_id": cid,
                                      "auth_token": mint(secret, cid)}))
            await until(ws, "REGISTERED")
        await a.send(json.dumps({"type": "JOIN", "claw_id": a_id,
                                 "target_claw_id": b_id,
                                 "auth_token": mint(secret, a_id)}))
        room = (await until(b, "INCOMING"))["room_id"]
        await b.send(json.dumps({"type": "ACCEPT", "room_id": room}))
        await until(a, "JOINED")
        for src, dst in ((a, b), (b, a)):
            for i in range(count):
                await src.send(json.dumps({"type": "DATA", "room_id": room,
                                           "payload": f"m{i}"}))
            for i in range(count):
                m = await until(dst, "DATA")
                if m["payload"] != f"m{i}":
                    raise AssertionError(f"got {m['payload']}, want m{i}")
    print(f"ok - {count} messages each way on {host}:{port}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3],
                     int(sys.argv[4])))
