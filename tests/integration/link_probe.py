# Probes for the clawnexus-link robustness tests (link-robust.sh).
#   slowtarget PORT READY   a forward target that echoes its first
#                           connection, then lets its accept queue fill so
#                           that later connects hang (SYNs dropped)
#   ticker PORT OUT         through PORT (connect --local): a line every
#                           20 ms on one connection, echoed back; after 1 s
#                           a second connection is opened; after 5 s the
#                           largest gap between two echoes (ms) goes to OUT
#   mute PORT READY         accepts TCP and never answers (not an endpoint)
#   idle PORT N SECONDS READY  N idle connections to PORT (from 127.0.0.x,
#                           x = 2..9) held for SECONDS; READY is written
#                           once the N connects were started
#   echo PORT TEXT          send TEXT and a newline to PORT, half-close,
#                           exit 0 if the same line comes back
#   cpu PID SECONDS         CPU seconds PID used over SECONDS, as a
#                           percentage of one core
import os
import socket
import sys
import threading
import time


def ready(path):
    with open(path + ".tmp", "w") as f:
        f.write("ready\n")
    os.rename(path + ".tmp", path)


def slowtarget(port, rdy):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1)
    ready(rdy)
    c, _ = s.accept()
    fillers = []
    for _ in range(4):
        f = socket.socket()
        f.setblocking(False)
        try:
            f.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(f)
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    time.sleep(3600)


def ticker(port, out):
    a = socket.create_connection(("127.0.0.1", port))
    a.settimeout(0.5)
    t0 = time.monotonic()
    last = None
    gap = 0.0
    second = None
    buf = b""
    n = 0
    while time.monotonic() - t0 < 5.0:
        a.sendall(b"tick %d\n" % n)
        n += 1
        if second is None and time.monotonic() - t0 > 1.0:
            second = socket.socket()
            second.setblocking(False)
            try:
                second.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
        try:
            while b"\n" not in buf:
                d = a.recv(65536)
                if not d:
                    raise SystemExit("stream ended")
                buf += d
            buf = buf[buf.rindex(b"\n") + 1:]
            now = time.monotonic()
            if last is not None:
                gap = max(gap, now - last)
            last = now
        except socket.timeout:
            pass
        time.sleep(0.02)
    with open(out, "w") as f:
        f.write("%d\n" % int(gap * 1000))


def mute(port, rdy):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    ready(rdy)
    held = []
    while True:
        c, _ = s.accept()
        held.append(c)


def idle(port, n, seconds, rdy):
    socks = []
    for i in range(n):
        c = socket.socket()
        c.setblocking(False)
        c.bind(("127.0.0.%d" % (2 + i % 8), 0))
        try:
            c.connect(("127.0.0.1", port))
        except (BlockingIOError, OSError):
            pass
        socks.append(c)
    ready(rdy)
    time.sleep(seconds)


def echo(port, text):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(text.encode() + b"\n")
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
    sys.exit(0 if got.decode().strip() == text else 1)


def cpu(pid, seconds):
    def ticks():
        with open("/proc/%d/stat" % pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        return int(v[11]) + int(v[12])
    hz = os.sysconf("SC_CLK_TCK")
    a = ticks()
    time.sleep(seconds)
    b = ticks()
    print(int(100 * (b - a) / hz / seconds))


if __name__ == "__main__":
    m = sys.argv[1]
    if m == "slowtarget":
        slowtarget(int(sys.argv[2]), sys.argv[3])
    elif m == "ticker":
        ticker(int(sys.argv[2]), sys.argv[3])
    elif m == "mute":
        mute(int(sys.argv[2]), sys.argv[3])
    elif m == "idle":
        idle(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]),
             sys.argv[5])
    elif m == "echo":
        echo(int(sys.argv[2]), sys.argv[3])
    elif m == "cpu":
        cpu(int(sys.argv[2]), float(sys.argv[3]))
    else:
        raise SystemExit("unknown probe " + m)
