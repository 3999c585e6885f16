"""Checks of ngx_http_clawnexus_registry_module through HTTPS, signing
requests the way the clawnexus 0.4.0 daemon does (Ed25519 over the text of
JSON.stringify(payload)), with python3-cryptography.

    registry_check.py STEP BASE_URL CA_FILE STATE_DIR [RELAY_PORT SECRET]

STEP: keys (print the allow file), first (fresh database), restarted (after an nginx restart),
limited (after a reload with a per-address limit).  Keys live in
STATE_DIR so that the steps share them.
"""

import asyncio
import base64
import json
import os
import ssl
import sys
import urllib.error
import urllib.request

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import relay_testlib as rt  # noqa: E402


def need(cond, what):
    """Like rt.expect, without a line for each of the many small checks."""
    if not cond:
        raise AssertionError(what)


def key(state, name):
    path = os.path.join(state, name + ".key")
    if os.path.exists(path):
        with open(path, "rb") as f:
            return Ed25519PrivateKey.from_private_bytes(f.read())
    k = Ed25519PrivateKey.generate()
    with open(path, "wb") as f:
        f.write(k.private_bytes(serialization.Encoding.Raw,
                                serialization.PrivateFormat.Raw,
                                serialization.NoEncryption()))
    return k


def pubkey(k):
    raw = k.public_key().public_bytes(serialization.Encoding.Raw,
                                      serialization.PublicFormat.Raw)
    return "ed25519:" + raw.hex()


def body(k, payload_text, signer=None):
    sig = (signer or k).sign(payload_text.encode())
    return ('{"payload":%s,"pubkey":"%s","signature":"%s"}'
            % (payload_text, pubkey(k), base64.b64encode(sig).decode()))


class Registry:
    def __init__(self, base, ca):
        self.base = base
        self.ctx = ssl.create_default_context(cafile=ca)

    def call(self, method, path, data=None, headers=None):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=data, headers=headers or {})
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=self.ctx,
                                        timeout=10) as r:
                status, ctype, raw = r.status, r.headers["Content-Type"], r.read()
        except urllib.error.HTTPError as e:
            status, ctype, raw = e.code, e.headers["Content-Type"], e.read()
        need(ctype == "application/json",
                  "%s %s answers application/json (got %s)"
                  % (method, path, ctype))
        doc = json.loads(raw) if method != "HEAD" else {}
        if status >= 400:
            need(isinstance(doc.get("error"), str),
                      "%s %s error %d is {\"error\": text}: %r"
                      % (method, path, status, raw))
        return status, doc

    def post(self, path, k, payload, signer=None):
        text = json.dumps(payload, separators=(",", ":"))
        return self.call("POST", path, body(k, text, signer).encode())

    def register(self, k, claw_id):
        return self.post("/register", k, {
            "claw_id": claw_id,
            "metadata": {"software_version": "0.4.0", "uptime_hours": 0,
                         "os_platform": "linux", "instance_count": 1},
            "agent_card": {"skills_count": 1,
                           "skills": ["General Assistant"]}})

    def token(self, k, name):
        return self.post("/token", k, {"claw_id": name})


def expect_status(got, want, what):
    need(got[0] == want, "%s: %d (got %d %r)" % (what, want, got[0],
                                                 got[1]))
    return got[1]


async def relay_register(port, ca, name, token):
    """The token the registry minted REGISTERs at our relay over TLS."""
    ctx = ssl.create_default_context(cafile=ca)
    async with rt.websockets.connect("wss://localhost:%d/relay" % port,
                                     ssl=ctx) as ws:
        await ws.send(json.dumps({"type": "REGISTER", "claw_id": name,
                                  "auth_token": token}))
        msg = await rt.recv_json(ws, 5)
        return msg


def first(reg, state, relay_port, ca):
    a, b, stranger = key(state, "a"), key(state, "b"), key(state, "stranger")

    doc = expect_status(reg.register(a, "main"), 200, "A registers main")
    need(doc["action"] == "registered"
              and doc["record"]["name"] == "main.claw"
              and doc["record"]["ownerPubkey"] == pubkey(a),
              "A owns main.claw: %r" % doc)
    doc = expect_status(reg.register(a, "main"), 200, "A registers again")
    need(doc["action"] == "renewed"
              and doc["record"]["name"] == "main.claw",
              "the owner's heartbeat renews the same name")
    rt.ok("first come: A is main.claw, renewals keep the name")

    expect_status(reg.register(b, "main"), 409, "B asks for main")
    doc = expect_status(reg.register(b, "main-1"), 200, "B asks for main-1")
    need(doc["record"]["name"] == "main-1.claw", "B is main-1.claw")
    rt.ok("409 for a name owned by another key; the suffix works")

    doc = expect_status(reg.token(a, "main.claw"), 200, "A's token")
    need(doc["relay_hint"] == "localhost:%d" % relay_port
              and doc["expires_in"] == 7200, "token reply: %r" % doc)
    msg = asyncio.run(relay_register(relay_port, ca, "main.claw",
                                     doc["token"]))
    need(msg.get("type") == "REGISTERED",
              "the relay accepts the registry's token: %r" % msg)
    rt.ok("/token gives the owner a token our relay accepts (wss)")

    expect_status(reg.token(b, "main.claw"), 403, "B asks main's token")
    expect_status(reg.token(a, "nobody.claw"), 404, "token of unknown")
    rt.ok("/token only for the owner: 403 for another key, 404 unknown")

    # the signature covers the raw payload text: other spacing, same sig
    spaced = '{ "claw_id" : "main.claw" }'
    st = reg.call("POST", "/token", body(a, spaced).encode())
    expect_status(st, 200, "payload text with spaces, signed as sent")
    forged = body(a, '{"claw_id":"main.claw"}').replace(
        '"main.claw"', '"main-1.claw"')
    expect_status(reg.call("POST", "/token", forged.encode()), 401,
                  "payload changed after signing")
    expect_status(reg.post("/token", a, {"claw_id": "main.claw"},
                           signer=b), 401, "signed by another key")
    rt.ok("401 for a bad signature, checked over the raw payload text")

    expect_status(reg.register(stranger, "stranger"), 403,
                  "key not in the allow file")
    rt.ok("403 for a key the allow file does not list")

    for bad, what in ((b"{", "truncated JSON"),
                      (b"[1,2]", "not an object"),
                      (b'{"payload":{"claw_id":"x"}}', "no pubkey"),
                      (body(a, '{"claw_id":"x"}').replace(
                          'ed25519:', 'rsa:').encode(), "wrong key form"),
                      (b"\xff\xfe", "not UTF-8")):
        expect_status(reg.call("POST", "/register", bad), 400, what)
    expect_status(reg.register(a, "bad\u0001name"), 400,
                  "control character in claw_id")
    expect_status(reg.register(a, "x" * 251), 400,
                  "claw_id too long for the relay with .claw")
    expect_status(reg.register(a, ""), 400, "empty claw_id")
    expect_status(reg.post("/register", a, {"claw_id": 7}), 400,
                  "claw_id not a string")
    rt.ok("400 for malformed JSON and names the relay would refuse")

    big = body(a, json.dumps({"claw_id": "main", "pad": "x" * 20000}))
    expect_status(reg.call("POST", "/register", big.encode()), 413,
                  "20 kB body")
    rt.ok("413 JSON for an oversized body")
    expect_status(reg.call("POST", "/register", iter([b"{}"])), 411,
                  "chunked body without Content-Length")
    rt.ok("411 JSON for a body without Content-Length")

    doc = expect_status(reg.call("GET", "/resolve/main.claw"), 200,
                        "resolve main.claw")
    need(doc["record"]["ownerPubkey"] == pubkey(a)
              and doc["record"]["clawId"] == "main", "resolve: %r" % doc)
    expect_status(reg.call("GET", "/resolve/nobody.claw"), 404,
                  "resolve unknown")
    expect_status(reg.call("POST", "/resolve/main.claw", b"{}"), 405,
                  "POST resolve")
    expect_status(reg.call("GET", "/register"), 405, "GET register")
    expect_status(reg.call("GET", "/nothing"), 404, "unknown endpoint")
    rt.ok("GET /resolve/NAME, 404 unknown, 405 wrong method, JSON errors")


def restarted(reg, state):
    a, b = key(state, "a"), key(state, "b")
    expect_status(reg.register(b, "main"), 409, "B asks for main again")
    doc = expect_status(reg.register(a, "main"), 200, "A after restart")
    need(doc["action"] == "renewed"
              and doc["record"]["name"] == "main.claw", "A kept main.claw")
    doc = expect_status(reg.call("GET", "/resolve/main-1.claw"), 200,
                        "resolve main-1.claw")
    need(doc["record"]["ownerPubkey"] == pubkey(b), "B kept main-1")
    rt.ok("after a restart every name keeps its owner")


def limited(reg, state):
    a, b = key(state, "a"), key(state, "b")
    got = [reg.token(a, "main.claw") for _ in range(5)]
    codes = [g[0] for g in got]
    need(codes == [200] * 4 + [429]
         and got[4][1]["error"] == "too many requests for this key",
         "per-key limit 4r/m: %r" % got[4:])
    rt.ok("429 JSON past the per-key rate limit")
    got = [reg.token(b, "main-1.claw") for _ in range(2)]
    need([g[0] for g in got] == [200, 429]
         and got[1][1]["error"] == "too many requests from this address",
         "per-address limit 6r/m, another key: %r" % got)
    rt.ok("429 JSON past the per-address rate limit")


def main():
    step, base, ca, state = sys.argv[1:5]
    if step == "keys":
        print("# admitted keys")
        for n in ("a", "b"):
            print("%s   # %s" % (pubkey(key(state, n)), n))
        key(state, "stranger")
        return
    reg = Registry(base, ca)
    if step == "first":
        first(reg, state, int(sys.argv[5]), ca)
    elif step == "restarted":
        restarted(reg, state)
    else:
        limited(reg, state)


if __name__ == "__main__":
    main()
