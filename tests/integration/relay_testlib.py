"""Helpers shared by the relay checks (relay_*.py).

The scripts are started by path, so Python finds this module in their own
directory.  Each function takes what differs between the scripts (secret,
master PID, timeout) as an argument.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import socket
import time

import websockets


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def mint(secret, sub, ttl=300, extra=None, header=None, alg="HS256"):
    """A JWT for sub signed with secret; extra claims follow sub/iat/exp.

    alg "none" gives an unsigned token, "HS512" a SHA-512 HMAC (both are
    for checks that the relay refuses them).
    """
    now = int(time.time())
    claims = {"sub": sub, "iat": now, "exp": now + ttl}
    claims.update(extra or {})
    head = header or {"alg": alg, "typ": "JWT"}
    signing = (b64url(json.dumps(head).encode()) + "." +
               b64url(json.dumps(claims).encode()))
    if alg == "none":
        return signing + "."
    mac = hmac.new(secret.encode(), signing.encode(),
                   hashlib.sha512 if alg == "HS512" else hashlib.sha256)
    return signing + "." + b64url(mac.digest())


def ok(what):
    print(f"ok - {what}", flush=True)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)
    ok(what)


def relay_url(host, port):
    """URL and SSL context; CNX_RELAY_SCHEME=wss runs the same checks over
    TLS (certificate not verified: the test made it)."""
    scheme = os.environ.get("CNX_RELAY_SCHEME", "ws")
    ssl_ctx = None
    if scheme == "wss":
        import ssl
        ssl_ctx = ssl.create_default_context()
        ssl_ctx.check_hostname = False
        ssl_ctx.verify_mode = ssl.CERT_NONE
    return f"{scheme}://{host}:{port}/relay", ssl_ctx


def _stat_fields(pid):
    # fields after the command name, which may itself contain ")"
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def workers(master):
    """PIDs of the master's live (not zombie) children: its workers."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            fields = _stat_fields(d)
        except OSError:
            continue
        if int(fields[1]) == master and fields[0] != "Z":
            pids.append(int(d))
    return sorted(pids)


def rss_anon(pid):
    """RssAnon of a process in KiB (None if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_kb(master):
    """Sum of the RSS of the master's workers, in KiB."""
    total = 0
    for pid in workers(master):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def socket_owner(master, port, client_port):
    """PID of the worker of master holding the server side of a connection
    from 127.0.0.1:client_port to 127.0.0.1:port (found through /proc,
    which needs the workers' fd directories readable: "user root")."""
    want_local = f"0100007F:{port:04X}"
    want_rem = f"0100007F:{client_port:04X}"
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            p = line.split()
            if p[1] == want_local and p[2] == want_rem:
                inode = p[9]
                break
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in workers(master):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                        return pid
                except OSError:
                    pass
        except OSError:
            pass
    return None


async def wait_socket_owner(master, port, client_port, tries=50):
    """socket_owner(), asked again for up to 1 s: the worker that accepted
    the connection may not have its descriptor yet.  None if no worker
    holds it by then."""
    for _ in range(tries):
        pid = socket_owner(master, port, client_port)
        if pid:
            return pid
        await asyncio.sleep(0.02)
    return None


def status(host, port, timeout):
    """GET /status of a clawnexus_status server: its counters (over all
    workers) as a dict."""
    s = socket.create_connection((host, port), timeout=timeout)
    s.sendall(b"GET /status HTTP/1.0\r\n\r\n")
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    return json.loads(data.split(b"\r\n\r\n", 1)[1])


def alive(pid):
    try:
        return _stat_fields(pid)[0] != "Z"
    except OSError:
        return False


async def recv_json(ws, timeout):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def until(ws, kind, timeout=5):
    """The next message of type kind; other types are skipped, an ERROR
    (unless kind is "ERROR") fails."""
    while True:
        m = await recv_json(ws, timeout)
        if m.get("type") == kind:
            return m
        if m.get("type") == "ERROR":
            raise AssertionError(f"ERROR while waiting for {kind}: {m}")


async def wait_closed(ws, timeout):
    """Read until the connection ends; its close code."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except websockets.ConnectionClosed:
        pass
    return ws.close_code
