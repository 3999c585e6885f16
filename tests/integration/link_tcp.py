# TCP test services for the clawnexus-link stream tests.
#   python3 link_tcp.py echo PORT         echo every connection back
#   python3 link_tcp.py sink PORT DIR     write sha256 and byte count of
#                                         connection N to DIR/N.sha256
import hashlib
import os
import socket
import sys
import threading


def serve(port, handler):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    n = 0
    while True:
        c, _ = s.accept()
        n += 1
        threading.Thread(target=handler, args=(c, n), daemon=True).start()


def echo(c, n):
    while True:
        d = c.recv(262144)
        if not d:
            break
        c.sendall(d)
    c.shutdown(socket.SHUT_WR)
    c.close()


def sink(outdir):
    def h(c, n):
        h = hashlib.sha256()
        total = 0
        while True:
            d = c.recv(262144)
            if not d:
                break
            h.update(d)
            total += len(d)
        c.close()
        tmp = os.path.join(outdir, "%d.tmp" % n)
        with open(tmp, "w") as f:
            f.write("%s %d\n" % (h.hexdigest(), total))
        os.rename(tmp, os.path.join(outdir, "%d.sha256" % n))
    return h


if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    serve(port, echo if mode == "echo" else sink(sys.argv[3]))
