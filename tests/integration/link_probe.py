# Probes for the clawnexus-link robustness tests (link-robust.sh).
#   slowtarget PORT READY   a forward target that echoes its first
#                           connection, then lets its accept queue fill so
#                           that later connects hang (SYNs dropped)
#   ticker PORT OUT         through PORT (connect --local): a line every
#                           20 ms on one connection, echoed back; after 1 s
#                           a second connection is opened; after 5 s the
#                           largest gap between two echoes (ms) goes to OUT
#   stalltarget PORT READY  a forward target that never reads its first
#                           connection and echoes the others
#   stall PORT OUT          through PORT (connect --local): one connection
#                           pushes 32 MB that nobody reads; meanwhile a
#                           second one sends a line every 20 ms for 3 s;
#                           the largest gap between its echoes (ms, 9999
#                           when none came) goes to OUT
#   mute PORT READY         accepts TCP and never answers (not an endpoint)
#   idle PORT N SECONDS READY  N idle connections to PORT (from 127.0.0.x,
#                           x = 2..9) held for SECONDS; READY is written
#                           once the N connects were started
#   echo PORT TEXT          send TEXT and a newline to PORT, half-close,
#                           exit 0 if the same line comes back
#   cpu PID SECONDS         CPU seconds PID used over SECONDS, as a
#                           percentage of one core
#   unauth PORT             connections that never say hello to PORT (serve
#                           --listen): 40 from 127.0.0.2, then 100 from
#                           127.0.0.3..12; prints how many of each batch the
#                           peer had closed 1 s later, and the ms until the
#                           last one was closed (99999: still open at 15 s)
#   streams PORT N          N connections to PORT (connect --local), a line
#                           on each; prints how many were echoed and how
#                           many closed without an echo within 10 s
import os
import select
import socket
import sys
import threading
import time


def ready(path):
    with open(path + ".tmp", "w") as f:
        f.write("ready\n")
    os.rename(path + ".tmp", path)


def listener(port, backlog, rdy):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(backlog)
    ready(rdy)
    return s


def tick(sock, seconds):
    """A line every 20 ms on sock for seconds, each echoed back; the largest
    gap between two echoes in ms (9999 when none came)."""
    sock.settimeout(0.2)
    t0 = time.monotonic()
    last, gap, got, buf, n = t0, 0.0, False, b"", 0
    while time.monotonic() - t0 < seconds:
        sock.sendall(b"tick %d\n" % n)
        n += 1
        try:
            d = sock.recv(65536)
            if not d:
                break
            buf += d
            if b"\n" in buf:
                buf = buf[buf.rindex(b"\n") + 1:]
                now = time.monotonic()
                if got:
                    gap = max(gap, now - last)
                got, last = True, now
        except socket.timeout:
            pass
        time.sleep(0.02)
    if not got:
        return 9999
    return int(max(gap, time.monotonic() - last - 0.25) * 1000)


def write_result(out, v):
    with open(out, "w") as f:
        f.write("%d\n" % v)


def ticker(port, out):
    a = socket.create_connection(("127.0.0.1", port))

    def second():
        time.sleep(1.0)
        b = socket.socket()
        b.setblocking(False)
        try:
            b.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        time.sleep(3600)
    threading.Thread(target=second, daemon=True).start()
    write_result(out, tick(a, 5.0))


def slowtarget(port, rdy):
    s = listener(port, 1, rdy)
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
    echo_conn(c)
    time.sleep(3600)


def stalltarget(port, rdy):
    s = listener(port, 16, rdy)
    held, _ = s.accept()
    while True:
        c, _ = s.accept()
        threading.Thread(target=echo_conn, args=(c,), daemon=True).start()


def echo_conn(c):
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()


def stall(port, out):
    a = socket.create_connection(("127.0.0.1", port))

    def push():
        try:
            a.sendall(b"x" * (32 << 20))
        except OSError:
            pass
    threading.Thread(target=push, daemon=True).start()
    time.sleep(1.0)
    b = socket.create_connection(("127.0.0.1", port))
    write_result(out, tick(b, 3.0))


def mute(port, rdy):
    s = listener(port, 16, rdy)
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


def dial_from(src, port, n):
    socks = []
    for i in range(n):
        c = socket.socket()
        c.bind((src(i), 0))
        c.connect(("127.0.0.1", port))
        socks.append(c)
    return socks


def closed(socks):
    """How many of socks the peer closed (EOF or reset)."""
    n = 0
    for c in socks:
        r, _, _ = select.select([c], [], [], 0)
        if r:
            try:
                if c.recv(1) == b"":
                    n += 1
            except OSError:
                n += 1
    return n


def unauth(port):
    one = dial_from(lambda i: "127.0.0.2", port, 40)
    time.sleep(1)
    c1 = closed(one)
    for c in one:
        c.close()
    time.sleep(0.5)
    t0 = time.monotonic()
    many = dial_from(lambda i: "127.0.0.%d" % (3 + i % 10), port, 100)
    time.sleep(1)
    c2 = closed(many)
    last = 99999
    while time.monotonic() - t0 < 15:
        if closed(many) == len(many):
            last = int((time.monotonic() - t0) * 1000)
            break
        time.sleep(0.1)
    print(c1, c2, last)


def streams(port, n):
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5)
             for _ in range(n)]
    for i, c in enumerate(socks):
        try:
            c.sendall(b"stream %d\n" % i)
        except OSError:
            pass
    echoed, gone, bufs = 0, 0, {c: b"" for c in socks}
    pending = set(socks)
    t0 = time.monotonic()
    while pending and time.monotonic() - t0 < 10:
        r, _, _ = select.select(list(pending), [], [], 0.5)
        for c in r:
            try:
                d = c.recv(4096)
            except OSError:
                d = b""
            if not d:
                gone += 1
                pending.discard(c)
                continue
            bufs[c] += d
            if bufs[c].endswith(b"\n"):
                echoed += 1
                pending.discard(c)
    print(echoed, gone)


if __name__ == "__main__":
    m = sys.argv[1]
    if m == "slowtarget":
        slowtarget(int(sys.argv[2]), sys.argv[3])
    elif m == "ticker":
        ticker(int(sys.argv[2]), sys.argv[3])
    elif m == "stalltarget":
        stalltarget(int(sys.argv[2]), sys.argv[3])
    elif m == "stall":
        stall(int(sys.argv[2]), sys.argv[3])
    elif m == "mute":
        mute(int(sys.argv[2]), sys.argv[3])
    elif m == "idle":
        idle(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]),
             sys.argv[5])
    elif m == "echo":
        echo(int(sys.argv[2]), sys.argv[3])
    elif m == "cpu":
        cpu(int(sys.argv[2]), float(sys.argv[3]))
    elif m == "unauth":
        unauth(int(sys.argv[2]))
    elif m == "streams":
        streams(int(sys.argv[2]), int(sys.argv[3]))
    else:
        raise SystemExit("unknown probe " + m)
