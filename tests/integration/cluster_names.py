"""Names across relay nodes (docs/cluster.md), checked with two nodes and
their Redis:

    cluster_names.py PORT1 PORT2 SECRET REDIS_PORT REDIS_PASSWORD STEP

STEP "replace": a name registered on node 1 is in Redis; the same name
registered on node 2 makes node 1's socket get ERROR REPLACED (its
active room goes on, as when both sockets are on one node); closing node
2's socket removes the name from Redis.
STEP "announce": a socket registered on node 1 stays open (the script
keeps it and prints "registered NAME") until its stdin closes; the test
restarts Redis meanwhile and checks that the name is back.
"""

import asyncio
import json
import os
import subprocess
import sys
import time

import websockets

from relay_testlib import mint, until


def redis(port, password, *args):
    env = dict(os.environ)
    cmd = ["redis-cli", "-p", str(port)]
    if password:
        env["REDISCLI_AUTH"] = password
        cmd.append("--no-auth-warning")
    return subprocess.run(cmd + list(args), capture_output=True, text=True,
                          env=env, timeout=10).stdout.strip()


async def register(url, secret, cid):
    ws = await websockets.connect(url)
    await ws.send(json.dumps({"type": "REGISTER", "claw_id": cid,
                              "auth_token": mint(secret, cid)}))
    await until(ws, "REGISTERED")
    return ws


async def wait_for(what, cond, timeout=5):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out: {what}")


async def replace(p1, p2, secret, rport, rpass):
    u1, u2 = f"ws://127.0.0.1:{p1}/relay", f"ws://127.0.0.1:{p2}/relay"
    tag = f"{os.getpid()}-{os.urandom(3).hex()}"
    b_id, a_id = f"b-{tag}.claw", f"a-{tag}.claw"
    key = "cnx:name:{%s}" % b_id

    b1 = await register(u1, secret, b_id)
    a1 = await register(u1, secret, a_id)
    await wait_for("b in Redis", lambda: redis(rport, rpass, "GET", key))
    first = redis(rport, rpass, "GET", key)
    print(f"ok - a REGISTER on node 1 is in Redis: {first}")

    # a room on node 1: a -> b
    await a1.send(json.dumps({"type": "JOIN", "claw_id": a_id,
                              "target_claw_id": b_id,
                              "auth_token": mint(secret, a_id)}))
    room = (await until(b1, "INCOMING"))["room_id"]
    await b1.send(json.dumps({"type": "ACCEPT", "room_id": room}))
    await until(a1, "JOINED")

    b2 = await register(u2, secret, b_id)
    err = await until(b1, "ERROR")
    assert err.get("code") == "REPLACED", err
    # as on one node, an active room of the replaced socket goes on
    await a1.send(json.dumps({"type": "DATA", "room_id": room,
                              "payload": "after"}))
    m = await until(b1, "DATA")
    assert m.get("payload") == "after", m
    second = redis(rport, rpass, "GET", key)
    assert second != first and second.split("|")[0] != first.split("|")[0], \
        (first, second)
    print(f"ok - the same name on node 2: node 1's socket got REPLACED "
          f"(its active room goes on, as on one node); Redis: {second}")

    await b2.close()
    await wait_for("b gone from Redis",
                   lambda: redis(rport, rpass, "GET", key) == "")
    print("ok - node 2's socket closed: the name left Redis")
    await a1.close()
    await b1.close()


async def announce(p1, secret):
    cid = f"n-{os.getpid()}-{os.urandom(3).hex()}.claw"
    ws = await register(f"ws://127.0.0.1:{p1}/relay", secret, cid)
    print(f"registered {cid}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    await ws.close()


def main():
    p1, p2, secret, rport, rpass, step = sys.argv[1:7]
    if step == "replace":
        asyncio.run(replace(int(p1), int(p2), secret, int(rport), rpass))
    else:
        asyncio.run(announce(int(p1), secret))


if __name__ == "__main__":
    main()
