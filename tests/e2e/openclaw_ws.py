"""A WebSocket client of the OpenClaw gateway protocol (version 4), for the
lab: the server's connect.challenge, our connect request with the
gateway's token, hello-ok, then a health request.

    openclaw_ws.py URL TOKEN         prints one line per step; exit 0 = ok
    openclaw_ws.py URL WRONG --bad   expects the token to be refused
"""

import asyncio
import json
import sys

import websockets


async def recv(ws, want=None, timeout=15):
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if want is None or want(msg):
            return msg


class Retry(Exception):
    pass


async def main():
    # a gateway still starting answers "UNAVAILABLE, retryable": try again
    for _ in range(120):
        try:
            return await session()
        except Retry:
            await asyncio.sleep(0.5)
    sys.exit("the gateway stayed unavailable")


async def session():
    url, token = sys.argv[1], sys.argv[2]
    bad = "--bad" in sys.argv[3:]
    async with websockets.connect(url, max_size=None) as ws:
        ch = await recv(ws, lambda m: m.get("event") == "connect.challenge")
        nonce = str(ch["payload"]["nonce"])[:8]
        await ws.send(json.dumps({
            "type": "req", "id": "1", "method": "connect",
            "params": {"minProtocol": 4, "maxProtocol": 4,
                       "client": {"id": "cli", "version": "0.0.1",
                                  "platform": "linux", "mode": "cli"},
                       "role": "operator",
                       "scopes": ["operator.read", "operator.write"],
                       "caps": [], "auth": {"token": token}}}))
        if bad:
            try:
                res = await recv(ws, lambda m: m.get("id") == "1")
                if res.get("error", {}).get("retryable"):
                    raise Retry()
                print("connect answered: %s" % json.dumps(res)[:160])
                if res.get("ok"):
                    sys.exit("a wrong token was accepted")
            except websockets.ConnectionClosed:
                pass
            try:
                await recv(ws)
            except websockets.ConnectionClosed:
                print("closed with code %s" % ws.close_code)
            return
        res = await recv(ws, lambda m: m.get("id") == "1")
        if not res.get("ok") and res.get("error", {}).get("retryable"):
            raise Retry()
        if not res.get("ok"):
            sys.exit("connect refused: %s" % json.dumps(res)[:300])
        methods = res["payload"].get("features", {}).get("methods", [])
        print("challenge: nonce %s…" % nonce, flush=True)
        print("hello-ok: protocol %s, %d methods"
              % (res["payload"].get("protocol"), len(methods)), flush=True)
        await ws.send(json.dumps({"type": "req", "id": "2",
                                  "method": "health", "params": {}}))
        res = await recv(ws, lambda m: m.get("id") == "2")
        if not res.get("ok"):
            sys.exit("health failed: %s" % json.dumps(res)[:300])
        print("health: ok", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
