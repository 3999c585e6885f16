# TCP programs for the two-sites lab (run inside the lab's namespaces).
#
#   python3 lab_tcp.py service PORT DIR
#       The stand-in for the OpenClaw gateway at site-b.  Every connection
#       is read to its end; the bytes are kept in DIR/N.data when there
#       are at most 64 KiB of them, their sha256 and count go to
#       DIR/N.sha256 ("HEX COUNT"), and the same line is sent back before
#       the connection is closed.  A client that gets this line back knows
#       the stream completed and can compare it with what it sent.
#
#   python3 lab_tcp.py echo PORT
#       Sends every connection's bytes back (scripts/demo's service).
#
#   python3 lab_tcp.py send HOST PORT BYTES [MS_PER_MIB]
#       Sends BYTES random bytes (paced: MS_PER_MIB milliseconds per MiB,
#       spread over 64 KiB pieces), half closes and prints "SENT_HEX SENT_COUNT | REPLY".  Exit 0 when the
#       reply line came back, 3 when the stream ended without it (reset or
#       cut), 2 when no connection could be made.
import hashlib
import os
import socket
import sys
import threading
import time


def service(port, outdir):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    n = 0
    lock = threading.Lock()

    def handle(c, n):
        h = hashlib.sha256()
        total = 0
        keep = bytearray()
        try:
            while True:
                d = c.recv(262144)
                if not d:
                    break
                h.update(d)
                total += len(d)
                if len(keep) <= 65536:
                    keep += d
        except OSError:
            pass
        line = "%s %d\n" % (h.hexdigest(), total)
        if total <= 65536:
            with open(os.path.join(outdir, "%d.data" % n), "wb") as f:
                f.write(keep)
        tmp = os.path.join(outdir, "%d.tmp" % n)
        with open(tmp, "w") as f:
            f.write(line)
        os.rename(tmp, os.path.join(outdir, "%d.sha256" % n))
        try:
            c.sendall(line.encode())
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        c.close()

    while True:
        c, _ = s.accept()
        with lock:
            n += 1
            k = n
        threading.Thread(target=handle, args=(c, k), daemon=True).start()


def echo(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)

    def handle(c):
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def send(host, port, count, pause_ms):
    try:
        s = socket.create_connection((host, port), timeout=10)
    except OSError:
        sys.exit(2)
    s.settimeout(60)
    h = hashlib.sha256()
    sent = 0
    # paced: 64 KiB pieces, MS_PER_MIB / 16 after each; else 1 MiB pieces
    piece = (1 << 16) if pause_ms else (1 << 20)
    try:
        while sent < count:
            chunk = os.urandom(min(piece, count - sent))
            s.sendall(chunk)
            h.update(chunk)
            sent += len(chunk)
            if pause_ms:
                time.sleep(pause_ms / 16000.0)
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            reply += d
    except OSError:
        reply = b""
    s.close()
    reply = reply.decode(errors="replace").strip()
    print("%s %d | %s" % (h.hexdigest(), sent, reply))
    sys.exit(0 if reply else 3)


if __name__ == "__main__":
    if sys.argv[1] == "service":
        service(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "echo":
        echo(int(sys.argv[2]))
    elif sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
             int(sys.argv[5]) if len(sys.argv) > 5 else 0)
    else:
        sys.exit("usage: lab_tcp.py service PORT DIR | echo PORT | "
                 "send HOST PORT BYTES [MS_PER_MIB]")
