#!/usr/bin/python3
"""Fault tests against the relay: a receiver that stops reading, slowloris
on the upgrade and on frames, 10,000 connections from one address, 10,000
failed logins; meanwhile a separate control client measures its PING ->
PONG latency.

usage: faults.py HOST PORT STATUS_PORT SECRET MASTER_PID PER_IP MAX_FAILS
                 HANDSHAKE_TIMEOUT
       faults.py probe HOST PORT OUTFILE     (the latency probe process)

The relay on PORT runs one worker with clawnexus_max_connections_per_ip
PER_IP, clawnexus_max_auth_failures MAX_FAILS and
clawnexus_handshake_timeout HANDSHAKE_TIMEOUT (seconds).  Each check
prints "ok - ..." or raises; exit status 0 only if all passed.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import signal
import struct
import subprocess
import sys
import time

TIMEOUT = 10


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def ok(what):
    print(f"ok - {what}", flush=True)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)
    ok(what)


def expect_mem(cond, what):
    if not cond and not RSS_CHECK:
        ok(f"{what} # not enforced in a sanitizer build")
        return
    expect(cond, what)


def upgrade_request():
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET /relay HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n\r\n").encode()


def frame(opcode, payload):
    n = len(payload)
    if n < 126:
        hdr = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        hdr = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    key = os.urandom(4)
    return hdr + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


async def read_frame(r):
    """One server frame (unmasked): (opcode, payload)."""
    h = await r.readexactly(2)
    n = h[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", await r.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", await r.readexactly(8))[0]
    return h[0] & 0x0F, await r.readexactly(n)


# the latency probe (own process, so the load below does not slow it) -----

async def probe(host, port, out):
    import websockets
    ws = await websockets.connect(f"ws://{host}:{port}/relay",
                                  compression=None, ping_interval=None)
    with open(out, "w", buffering=1) as f:
        while True:
            t0 = time.monotonic()
            await ws.send('{"type":"PING"}')
            try:
                msg = await asyncio.wait_for(ws.recv(), 2)
            except asyncio.TimeoutError:
                f.write(f"{time.time():.3f} lost\n")
                continue
            if json.loads(msg).get("type") == "PONG":
                f.write(f"{time.time():.3f} "
                        f"{(time.monotonic() - t0) * 1000:.2f}\n")
            await asyncio.sleep(0.02)


if len(sys.argv) > 1 and sys.argv[1] == "probe":
    try:
        asyncio.run(probe(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
    except KeyboardInterrupt:
        pass
    sys.exit(0)


import websockets  # noqa: E402

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import relay_testlib  # noqa: E402

(HOST, PORT, STATUS, SECRET, MASTER, PER_IP, MAX_FAILS,
 HS_TIMEOUT) = sys.argv[1:9]
PORT, STATUS, MASTER = int(PORT), int(STATUS), int(MASTER)
PER_IP, MAX_FAILS, HS_TIMEOUT = int(PER_IP), int(MAX_FAILS), float(HS_TIMEOUT)
URL = f"ws://{HOST}:{PORT}/relay"
PHASES = []
# 0 in sanitizer builds, where freed memory stays in ASan's quarantine
RSS_CHECK = os.environ.get("CNX_RSS_CHECK", "1") != "0"
RSS0 = 0


def mint(sub, key=None):
    now = int(time.time())
    signing = (b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
               + "." + b64url(json.dumps({"sub": sub, "iat": now,
                                          "exp": now + 300}).encode()))
    mac = hmac.new((key or SECRET).encode(), signing.encode(), hashlib.sha256)
    return signing + "." + b64url(mac.digest())


def worker_pid():
    """PID of the master's single worker (0 if none)."""
    pids = relay_testlib.workers(MASTER)
    return pids[0] if pids else 0


def worker_rss():
    """RssAnon (KiB) of the master's single worker."""
    return relay_testlib.rss_anon(worker_pid()) or 0


async def status():
    r, w = await asyncio.open_connection(HOST, STATUS)
    w.write(b"GET /status HTTP/1.0\r\n\r\n")
    data = await r.read()
    w.close()
    return json.loads(data.split(b"\r\n\r\n", 1)[1])


class phase:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.t0 = time.time()
        print(f"# phase: {self.name}", flush=True)

    def __exit__(self, *exc):
        PHASES.append((self.name, self.t0, time.time()))


async def client(cid, **kw):
    ws = await websockets.connect(URL, compression=None, max_size=None,
                                  ping_interval=None, **kw)
    await ws.send(json.dumps({"type": "REGISTER", "claw_id": cid,
                              "auth_token": mint(cid)}))
    msg = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert msg["type"] == "REGISTERED", msg
    return ws


async def pair(a, a_id, b, b_id):
    await a.send(json.dumps({"type": "JOIN", "claw_id": a_id,
                             "target_claw_id": b_id,
                             "auth_token": mint(a_id)}))
    inc = json.loads(await asyncio.wait_for(b.recv(), TIMEOUT))
    room = inc["room_id"]
    await b.send(json.dumps({"type": "ACCEPT", "room_id": room}))
    await asyncio.wait_for(a.recv(), TIMEOUT)
    await asyncio.wait_for(b.recv(), TIMEOUT)
    return room


# 1. a receiver that stops reading -------------------------------------------

def tcp_buf_max(name):
    """The largest buffer TCP autotuning may give a socket (third field of
    /proc/sys/net/ipv4/tcp_rmem or tcp_wmem)."""
    with open(f"/proc/sys/net/ipv4/{name}") as f:
        return int(f.read().split()[2])


async def stopped_receiver():
    rss0 = worker_rss()
    st0 = await status()
    a = await client("stall-a.claw")
    b = await client("stall-b.claw", max_queue=2)
    room = await pair(a, "stall-a.claw", b, "stall-b.claw")
    chunk = "x" * 65000
    # More than all the buffers between the two could ever hold: the
    # kernel's largest send and receive buffers on both connections
    # (sender -> relay, relay -> receiver; autotuning may grow them that
    # far), the relay's send queue and a margin for the clients' own.
    kernel = 2 * (tcp_buf_max("tcp_wmem") + tcp_buf_max("tcp_rmem"))
    total = max(600, kernel // 65000 + 64)
    sent = 0

    async def send_all():
        nonlocal sent
        for i in range(total):
            await a.send(json.dumps({"type": "DATA", "room_id": room,
                                     "payload": f"{i:06d}{chunk}"}))
            sent += 1

    sender = asyncio.create_task(send_all())
    peak = rss0
    for _ in range(30):                          # b reads nothing for 3 s
        await asyncio.sleep(0.1)
        peak = max(peak, worker_rss())
    stalled_at = sent
    await asyncio.sleep(0.5)
    expect(not sender.done() and sent == stalled_at,
           f"the sender is held back while the receiver reads nothing "
           f"({stalled_at} of {total} messages of 64 KB accepted, then none "
           f"for 0.5 s)")
    expect_mem(peak - rss0 < 16 * 1024, f"worker memory stays bounded "
           f"(RssAnon {rss0} -> peak {peak} KiB)")
    st1 = await status()
    expect(st1["backpressure_pauses"] > st0["backpressure_pauses"],
           "the relay reports backpressure pauses")
    # the receiver resumes: everything arrives, once and in order
    for i in range(total):
        msg = json.loads(await asyncio.wait_for(b.recv(), TIMEOUT))
        if msg["payload"][:6] != f"{i:06d}":
            raise AssertionError(f"message {i} arrived as "
                                 f"{msg['payload'][:6]}")
    await sender
    expect(True, f"after resuming, all {total} messages arrived in order")
    await a.close()
    await b.close()


# 2. slowloris ---------------------------------------------------------------

async def slow_upgrade(n=20):
    """n connections trickle their upgrade one byte per second: each is
    closed by the handshake timeout although it keeps sending."""
    async def one():
        r, w = await asyncio.open_connection(HOST, PORT)
        req = upgrade_request()
        t0 = time.monotonic()
        for i in range(len(req)):
            try:
                w.write(req[i:i + 1])
                await w.drain()
            except (ConnectionError, OSError):
                break
            try:
                await asyncio.wait_for(r.read(4096), 1.0)
                break                            # closed (or answered)
            except asyncio.TimeoutError:
                pass
            except (ConnectionError, OSError):
                break
        took = time.monotonic() - t0
        w.close()
        return took, i
    res = await asyncio.gather(*[one() for _ in range(n)])
    worst = max(t for t, _ in res)
    expect(worst < HS_TIMEOUT + 3 and all(i < 40 for _, i in res),
           f"{n} upgrades trickled at 1 byte/s: all closed by the handshake "
           f"timeout ({HS_TIMEOUT:.0f}s) after at most {worst:.1f}s")


async def slow_frames(seconds):
    """A registered socket trickles a PING frame one byte per second: it
    holds one connection and one buffer, nothing more; once complete the
    frame is answered."""
    r, w = await asyncio.open_connection(HOST, PORT)
    w.write(upgrade_request())
    head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), TIMEOUT)
    assert head.startswith(b"HTTP/1.1 101"), head
    f = frame(1, b'{"type":"PING"}')
    cut = min(len(f) - 1, int(seconds))
    for i in range(cut):
        w.write(f[i:i + 1])
        await w.drain()
        await asyncio.sleep(1.0)
    w.write(f[cut:])
    await w.drain()
    op, payload = await asyncio.wait_for(read_frame(r), TIMEOUT)
    expect(op == 1 and json.loads(payload) == {"type": "PONG"},
           f"a PING trickled over {cut}s at 1 byte/s is answered; the "
           "socket cost one connection and its buffer meanwhile")
    w.close()


# 3. 10,000 connections from one address --------------------------------------

async def many_connections(n=10000, src="127.0.0.9", other="127.0.0.10"):
    held = []
    codes = {}

    async def one():
        try:
            r, w = await asyncio.open_connection(HOST, PORT,
                                                 local_addr=(src, 0))
        except OSError as e:
            codes["connect " + e.__class__.__name__] = \
                codes.get("connect " + e.__class__.__name__, 0) + 1
            return
        w.write(upgrade_request())
        try:
            head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), TIMEOUT)
            code = head.split(b" ", 2)[1].decode()
        except (asyncio.IncompleteReadError, ConnectionError,
                asyncio.TimeoutError):
            code = "closed"
        codes[code] = codes.get(code, 0) + 1
        if code == "101":
            held.append(w)
        else:
            w.close()

    rss0 = worker_rss()
    sem = asyncio.Semaphore(400)

    async def limited():
        async with sem:
            await one()
    t0 = time.monotonic()
    await asyncio.gather(*[limited() for _ in range(n)])
    took = time.monotonic() - t0
    rss1 = worker_rss()
    expect(codes.get("101", 0) == PER_IP and codes.get("429", 0) ==
           n - PER_IP, f"{n} connections from {src} in {took:.1f}s: "
           f"{codes.get('101', 0)} upgraded, {codes.get('429', 0)} refused "
           f"with 429 (limit {PER_IP}) {codes}")
    expect_mem(rss1 - rss0 < 8 * 1024, f"worker memory bounded ({rss0} -> "
           f"{rss1} KiB)")
    ws = await websockets.connect(URL, compression=None,
                                  local_addr=(other, 0))
    await ws.send('{"type":"PING"}')
    msg = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    expect(msg == {"type": "PONG"}, f"another address ({other}) is served "
           "while the limit is reached")
    await ws.close()
    for w in held:
        w.close()
    await asyncio.sleep(0.5)
    ws = await websockets.connect(URL, compression=None, local_addr=(src, 0))
    ok(f"after closing, {src} connects again")
    await ws.close()


# 4. 10,000 failed logins ------------------------------------------------------

async def failed_logins(n=10000, src="127.0.0.11", other="127.0.0.12"):
    cid = "brute-target.claw"
    bad = frame(1, json.dumps({"type": "REGISTER", "claw_id": cid,
                               "auth_token": mint(cid, key="guess")})
                .encode())
    per_conn = 10
    answers = {}
    closes = {}
    st0 = await status()

    async def conn(k):
        r, w = await asyncio.open_connection(HOST, PORT, local_addr=(src, 0))
        w.write(upgrade_request())
        await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), TIMEOUT)
        w.write(bad * k)
        got = 0
        try:
            while got < k:          # every attempt answered: we close
                op, p = await asyncio.wait_for(read_frame(r), TIMEOUT)
                if op == 1:
                    code = json.loads(p).get("code")
                    answers[code] = answers.get(code, 0) + 1
                    got += 1
                elif op == 8:
                    c = struct.unpack("!H", p[:2])[0] if len(p) >= 2 else 0
                    closes[c] = closes.get(c, 0) + 1
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            closes["reset"] = closes.get("reset", 0) + 1
        w.close()

    t0 = time.monotonic()
    left = n
    while left > 0:
        batch = []
        for _ in range(min(PER_IP // 2, (left + per_conn - 1) // per_conn)):
            k = min(per_conn, left)
            left -= k
            batch.append(conn(k))
        await asyncio.gather(*batch)
    took = time.monotonic() - t0
    checked = answers.get("AUTH_FAILED", 0)
    expect(checked <= MAX_FAILS and answers.get("RATE_LIMITED", 0) > 0 and
           sum(answers.values()) < n,
           f"{n} failed logins in {took:.1f}s: only {checked} tokens checked "
           f"(limit {MAX_FAILS}), then RATE_LIMITED; answers {answers}, "
           f"closes {closes}")
    expect(set(closes) <= {1008} and closes.get(1008, 0) > 0 and
           closes[1008] == sum(answers.values()),
           "each refused or rate-limited socket is closed with 1008")
    st1 = await status()
    expect(st1["auth_failures"] - st0["auth_failures"] == checked,
           "auth_failures counts the checked tokens only")
    # a good token from the same address is refused unseen, others pass
    ws = await websockets.connect(URL, compression=None, local_addr=(src, 0))
    await ws.send(json.dumps({"type": "REGISTER", "claw_id": cid,
                              "auth_token": mint(cid)}))
    msg = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    expect(msg.get("code") == "RATE_LIMITED",
           "even a valid token from that address is refused in the window")
    await ws.close()
    ws = await client(cid, local_addr=(other, 0))
    ok(f"the same name registers from another address ({other})")
    await ws.close()


# latency report ---------------------------------------------------------------

def latencies(path, t0, t1):
    vals, lost = [], 0
    with open(path) as f:
        for line in f:
            t, v = line.split()
            if t0 <= float(t) <= t1:
                if v == "lost":
                    lost += 1
                else:
                    vals.append(float(v))
    return sorted(vals), lost


def pct(vals, p):
    return vals[min(len(vals) - 1, int(len(vals) * p))] if vals else None


# 5. a worker killed with its sockets ------------------------------------------

async def killed_worker(src="127.0.0.21"):
    """kill -9 of the worker while an address holds its PER_IP
    connections: they are gone without a cleanup, and the worker that
    takes over gives their per-address counts back, so the address can
    connect again (it got 429 until a full restart before)."""
    held = [await websockets.connect(URL, compression=None,
                                     local_addr=(src, 0))
            for _ in range(PER_IP)]
    try:
        await websockets.connect(URL, compression=None, local_addr=(src, 0))
        raise AssertionError(f"connection {PER_IP + 1} from {src} accepted")
    except websockets.InvalidStatusCode as e:
        expect(e.status_code == 429, f"{src} holds its {PER_IP} connections")
    old = worker_pid()
    os.kill(old, signal.SIGKILL)
    new = 0
    for _ in range(100):
        await asyncio.sleep(0.1)
        new = worker_pid()
        if new and new != old:
            break
    expect(new and new != old, f"worker {old} killed, {new} took over")
    for ws in held:
        ws.transport.abort()
    ws = None
    for _ in range(50):
        try:
            ws = await websockets.connect(URL, compression=None,
                                          local_addr=(src, 0))
            break
        except (OSError, websockets.InvalidStatusCode):
            await asyncio.sleep(0.1)
    expect(ws is not None, f"{src} connects again after its sockets' worker "
           f"was killed")
    await ws.close()


async def main():
    out = os.environ.get("FAULTS_PROBE_OUT", "probe.out")
    prober = subprocess.Popen([sys.executable, __file__, "probe", HOST,
                               str(PORT), out])
    global RSS0
    RSS0 = worker_rss()
    try:
        await asyncio.sleep(2)
        with phase("baseline"):
            await asyncio.sleep(2)
        with phase("stopped receiver"):
            await stopped_receiver()
        with phase("slowloris on the upgrade and on frames"):
            await asyncio.gather(slow_upgrade(), slow_frames(6))
        with phase("10,000 connections from one address"):
            await many_connections()
        with phase("10,000 failed logins"):
            await failed_logins()
        await asyncio.sleep(0.3)
    finally:
        prober.terminate()
        prober.wait()
    for name, t0, t1 in PHASES:
        vals, lost = latencies(out, t0, t1)
        p50, p99 = pct(vals, 0.5), pct(vals, 0.99)
        expect(vals and lost == 0 and p99 < 200,
               f"control client during '{name}': {len(vals)} PING->PONG, "
               f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {vals[-1]:.1f} ms, "
               f"{lost} lost")
    st = await status()
    for _ in range(50):
        if st["websockets"] == 0:
            break
        await asyncio.sleep(0.1)
        st = await status()
    expect(st["websockets"] == 0 and st["names"] == 0 and st["rooms"] == 0,
           "afterwards no socket, name or room is left")
    rss = worker_rss()
    expect_mem(rss - RSS0 < 8 * 1024, f"worker RssAnon {RSS0} KiB at the start, "
           f"{rss} KiB after all faults")
    await killed_worker()
    print("faults: all limits held", flush=True)


asyncio.run(main())
