#!/usr/bin/python3
"""Frames of every shape through the relay's bulk receive, several senders
at once on one worker.

usage: relay_bulk.py HOST PORT STATUS_PORT SECRET [SEED]

Each sender writes one stream of masked frames in pieces of random sizes,
some of them cut inside a frame header and sent a moment apart: binary
DATA of 0 to 300 KB (7-bit, 16-bit and 64-bit lengths), JSON DATA, PINGs,
fragmented binary messages with a PING between the fragments.  Every
payload is different.  The receivers stop reading now and then, so that
the relay queues, copies what their sockets refuse and pauses the
senders.  Every message must arrive once, in order, byte for byte.  Then
a receiver and a sender vanish in the middle of a large frame while the
others go on.  Last, a sender that once streamed to a peer talks to
another peer while the first one is backed up by a third sender: it is not
held back by a queue it no longer adds to.
"""

import base64
import json
import os
import random
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import relay_testlib as lib
from relay_testlib import expect

HOST, PORT, STATUS_PORT, SECRET = sys.argv[1:5]
PORT, STATUS_PORT = int(PORT), int(STATUS_PORT)
SEED = int(sys.argv[5]) if len(sys.argv) > 5 else random.randrange(1 << 30)
PAIRS = 3
STREAM = 12 * 1024 * 1024          # bytes of frames per sender
TIMEOUT = 60


def xor_mask(data, key):
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little")
            ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def frame(rng, op, payload, fin=True):
    """A masked client frame; its header length too."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | op
    if n < 126:
        hdr = bytes([b0, 0x80 | n])
    elif n < 65536:
        hdr = bytes([b0, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        hdr = bytes([b0, 0x80 | 127]) + n.to_bytes(8, "big")
    key = rng.randbytes(4)
    return hdr + key + xor_mask(payload, key), len(hdr) + 4


class Conn:
    """A WebSocket client on a plain socket, frames read one by one."""

    def __init__(self):
        self.s = socket.create_connection((HOST, PORT), timeout=TIMEOUT)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET /relay HTTP/1.1\r\nHost: {HOST}\r\n"
                        f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Key: {key}\r\n"
                        f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buf = bytearray()
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, _, rest = bytes(self.buf).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        self.buf = bytearray(rest)
        self.rng = random.Random()

    def fill(self):
        d = self.s.recv(1 << 20)
        if not d:
            raise EOFError("relay closed the connection")
        self.buf += d

    def next(self):
        """(opcode, payload) of the next frame from the relay."""
        while True:
            b = self.buf
            if len(b) >= 2:
                n = b[1] & 0x7f
                h = 2
                if n == 126 and len(b) >= 4:
                    n, h = int.from_bytes(b[2:4], "big"), 4
                elif n == 127 and len(b) >= 10:
                    n, h = int.from_bytes(b[2:10], "big"), 10
                if (b[1] & 0x7f) < 126 or h > 2:
                    assert not b[1] & 0x80, "the relay masked a frame"
                    if len(b) >= h + n:
                        op, p = b[0] & 0x0f, bytes(b[h:h + n])
                        del b[:h + n]
                        return op, p
            self.fill()

    def msg(self):
        """The next data message, PINGs and PONGs skipped."""
        while True:
            op, p = self.next()
            if op in (1, 2, 8):
                return op, p

    def send(self, op, payload):
        self.s.sendall(frame(self.rng, op, payload)[0])

    def json(self):
        op, p = self.msg()
        assert op == 1, (op, p[:60])
        return json.loads(p)


def client(claw_id):
    c = Conn()
    c.send(1, json.dumps({"type": "REGISTER", "claw_id": claw_id,
                          "auth_token": lib.mint(SECRET, claw_id),
                          "binary": True}).encode())
    m = c.json()
    assert m["type"] == "REGISTERED", m
    return c


def join(x, a, y, b):
    """A room of the registered clients x (claw id a) and y (b)."""
    x.send(1, json.dumps({"type": "JOIN", "claw_id": a, "target_claw_id": b,
                          "auth_token": lib.mint(SECRET, a)}).encode())
    room = y.json()["room_id"]
    y.send(1, json.dumps({"type": "ACCEPT", "room_id": room}).encode())
    assert x.json()["type"] == "JOINED"
    assert y.json()["type"] == "JOINED"
    return room


def pair(a, b):
    x, y = client(a), client(b)
    return x, y, join(x, a, y, b)


def pauses():
    """The relay's count of senders paused for a receiver."""
    return lib.status(HOST, STATUS_PORT, TIMEOUT)["backpressure_pauses"]


def size(rng):
    r = rng.random()
    if r < 0.25:
        return rng.randrange(0, 200)
    if r < 0.6:
        return rng.randrange(126, 65536)
    if r < 0.95:
        return rng.randrange(65536, 200 * 1024)
    return rng.randrange(200 * 1024, 300 * 1024)


def build(rng, room):
    """The stream of one sender: bytes, frame starts with header lengths,
    and the messages its receiver must get, in order."""
    hdr = bytes([1, len(room)]) + room.encode()
    out, cuts, want = bytearray(), [], []
    seq = 0

    def put(op, payload, fin=True):
        f, h = frame(rng, op, payload, fin)
        cuts.append((len(out), h))
        out.extend(f)

    while len(out) < STREAM:
        seq += 1
        r = rng.random()
        tag = struct.pack("!Q", seq)
        if r < 0.6:
            p = hdr + tag + rng.randbytes(size(rng))
            put(2, p)
            want.append((2, p))
        elif r < 0.75:
            text = f"{seq:08d}" + "".join(
                rng.choice("abcdefghij") for _ in range(rng.randrange(300)))
            put(1, json.dumps({"type": "DATA", "room_id": room,
                               "payload": text}).encode())
            want.append((1, text))
        elif r < 0.85:
            put(9, rng.randbytes(rng.randrange(126)))
        else:
            p = hdr + tag + rng.randbytes(size(rng))
            k = rng.randrange(len(p) + 1)
            put(2, p[:k], fin=False)
            put(9, rng.randbytes(rng.randrange(126)))
            put(0, p[k:])
            want.append((2, p))
    return bytes(out), cuts, want


def send_stream(c, rng, data, cuts, stop_at=None):
    """Writes data in pieces; some end inside a frame header and the next
    piece follows a moment later, so that the relay receives them apart."""
    mv = memoryview(data)
    end = len(data) if stop_at is None else stop_at
    pos, ci = 0, 0
    while pos < end:
        n = rng.choice((rng.randrange(1, 64), rng.randrange(1, 70000),
                        rng.randrange(100000, 600000)))
        stop = min(end, pos + n)
        while ci < len(cuts) and cuts[ci][0] < pos:
            ci += 1
        if ci < len(cuts) and cuts[ci][0] < stop and rng.random() < 0.3:
            start, h = cuts[ci]
            stop = min(end, start + rng.randrange(1, h))
            c.s.sendall(mv[pos:stop])
            time.sleep(0.002)
            pos = stop
            continue
        c.s.sendall(mv[pos:stop])
        pos = stop


def drain(c):
    """Reads (and drops) what the relay sends a sender: PONGs."""
    try:
        while c.s.recv(1 << 20):
            pass
    except OSError:
        pass


def receive(c, rng, want, errors, name):
    try:
        got = 0
        for i, (op, p) in enumerate(want):
            if got > 2 * 1024 * 1024 and rng.random() < 0.3:
                time.sleep(0.15)    # the relay queues, then pauses
                got = 0
            gop, gp = c.msg()
            got += len(gp)
            if op == 1:
                ok = gop == 1 and json.loads(gp).get("payload") == p
            else:
                ok = gop == 2 and gp == p
            if not ok:
                errors.append(f"{name}: message {i} of {len(want)} differs "
                              f"(opcode {gop}, {len(gp)} bytes, wanted "
                              f"opcode {op}, {len(p)} bytes)")
                return
    except Exception as e:          # reported by the main thread
        errors.append(f"{name}: {e!r}")


def run_pairs():
    rng = random.Random(SEED)
    pairs = [pair(f"bulk-{i}a.id.claw", f"bulk-{i}b.id.claw")
             for i in range(PAIRS)]
    streams = [build(random.Random(rng.random()), room)
               for _, _, room in pairs]
    errors, threads = [], []
    for i, ((x, y, _), (data, cuts, want)) in enumerate(zip(pairs, streams)):
        srng = random.Random(rng.random())
        rrng = random.Random(rng.random())
        threads.append(threading.Thread(
            target=send_stream, args=(x, srng, data, cuts), daemon=True))
        threads.append(threading.Thread(
            target=receive, args=(y, rrng, want, errors, f"pair {i}"),
            daemon=True))
        threading.Thread(target=drain, args=(x,), daemon=True).start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
        if t.is_alive():
            errors.append("a sender or receiver is stuck")
            break
    if errors:
        raise AssertionError("; ".join(errors))
    total = sum(len(w) for _, _, w in streams)
    expect(True, f"{PAIRS} senders at once, pieces cut anywhere: all "
                 f"{total} messages arrived once, in order, intact")
    for x, y, _ in pairs:
        x.s.close()
        y.s.close()


def vanish():
    """A receiver that resets its connection while a frame is half
    forwarded to it, then a sender that does so in the middle of a frame;
    the third pair goes on meanwhile."""
    rng = random.Random(SEED + 1)
    p1, p2, p3 = (pair(f"gone-{i}a.id.claw", f"gone-{i}b.id.claw")
                  for i in range(3))
    errors = []
    streams = [build(random.Random(rng.random()), room)
               for room in (p1[2], p2[2], p3[2])]
    threading.Thread(target=drain, args=(p3[0],), daemon=True).start()
    keep_send = threading.Thread(target=send_stream, args=(
        p3[0], random.Random(1), *streams[2][:2]), daemon=True)
    keep_recv = threading.Thread(target=receive, args=(
        p3[1], random.Random(2), streams[2][2], errors, "third pair"),
        daemon=True)
    keep_send.start()
    keep_recv.start()

    def gone_receiver():
        x, y, _ = p1
        threading.Thread(target=drain, args=(x,), daemon=True).start()

        def feed():
            try:
                send_stream(x, random.Random(3), *streams[0][:2])
            except OSError:
                pass                # the relay may end the session

        t = threading.Thread(target=feed, daemon=True)
        t.start()
        y.s.recv(100000)
        time.sleep(0.2)
        y.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                       struct.pack("ii", 1, 0))
        y.s.close()                 # a reset, with unread bytes
        t.join(TIMEOUT)

    def gone_sender():
        x, y, _ = p2
        data, cuts, _ = streams[1]
        big = [s for s, h in cuts if s > 1000000][0]
        threading.Thread(target=drain, args=(x,), daemon=True).start()
        send_stream(x, random.Random(4), data, cuts, stop_at=big + 5000)
        x.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                       struct.pack("ii", 1, 0))
        x.s.close()
        try:
            while True:
                op, p = y.msg()
                if op == 1 and json.loads(p).get("type") == "PEER_LEFT":
                    break
        except Exception as e:
            errors.append(f"sender gone: {e!r}")

    a = threading.Thread(target=gone_receiver, daemon=True)
    b = threading.Thread(target=gone_sender, daemon=True)
    a.start()
    b.start()
    for t in (a, b, keep_send, keep_recv):
        t.join(TIMEOUT)
        if t.is_alive():
            errors.append("stuck after a peer vanished")
            break
    if errors:
        raise AssertionError("; ".join(errors))
    expect(True, "a receiver and a sender reset mid-frame; the receiver of "
                 "the sender got PEER_LEFT, the other pair all its messages")


def unrelated():
    """A streams large frames to P, which reads them (some go out from the
    receive buffer); then P stops reading while C fills P's queue; A's
    message to Q must still get through."""
    names = [f"lend-{k}.id.claw" for k in "apcq"]
    a, p, c, q = (client(n) for n in names)
    ap = join(a, names[0], p, names[1])
    cp = join(c, names[2], p, names[1])
    aq = join(a, names[0], q, names[3])

    rng = random.Random(SEED + 2)
    frames = [bytes([1, len(ap)]) + ap.encode() + rng.randbytes(100000)
              for _ in range(20)]
    a.s.sendall(b"".join(frame(rng, 2, f)[0] for f in frames))
    for f in frames:
        op, got = p.msg()
        assert op == 2 and got == f, "a large frame arrived changed"

    # P reads no more; C's small messages fill its queue until C is paused
    base = pauses()
    filler = "x" * 1000

    def flood():
        try:
            for i in range(100000):
                c.send(1, json.dumps({"type": "DATA", "room_id": cp,
                                      "payload": f"{i} {filler}"}).encode())
        except OSError:
            pass

    threading.Thread(target=flood, daemon=True).start()
    deadline = time.monotonic() + TIMEOUT
    while pauses() == base:
        if time.monotonic() > deadline:
            raise AssertionError("the flood of a stopped receiver never "
                                 "paused its sender")
        time.sleep(0.05)

    a.send(1, json.dumps({"type": "DATA", "room_id": aq,
                          "payload": "to another peer"}).encode())
    q.s.settimeout(20)
    try:
        m = q.json()
    except socket.timeout:
        raise AssertionError("a message to another peer is held back while "
                             "a peer the sender streamed to before is full")
    expect(m.get("type") == "DATA" and m.get("payload") == "to another peer",
           "a sender that streamed to a peer which is now backed up by "
           "someone else still reaches its other peers")
    for x in (a, p, c, q):
        x.s.close()


print(f"seed {SEED}", flush=True)
run_pairs()
vanish()
unrelated()
print("relay bulk: all passed")
