#!/usr/bin/env python3
"""clawnexus-wg on kernel WireGuard inside a qemu guest.

`wg-kernel.py gen DIR` writes the guest script DIR/guest.sh and its data
(keys, prefix lists, a names file) into DIR/data; `wg-kernel.py check LOG DIR`
reads the serial console of the guest and checks every step against
`wg show dump` taken in the guest, and against what was asked.

Also: routes for a peer whose allowed IPs lie outside the interface's
subnet (checked with `ip route`, and a TCP connection through them to a
second namespace), and an interface managed elsewhere (set up with `wg set`
as a control plane would, then only named).

The split-reply cases follow the WireGuard kernel selftest scenarios: one
peer with thousands of allowed IPs, 40 peers with 52 allowed IPs each,
many empty peers followed by one with addresses, IPv6 prefixes.
"""

import base64
import ipaddress
import json
import os
import random
import re
import sys

W = "clawnexus-wg --names /tmp/names.conf"


def key(rng):
    return base64.b64encode(bytes(rng.getrandbits(8) for _ in range(32))).decode()


def plan(seed=5):
    rng = random.Random(seed)
    p = {"office": key(rng), "big": key(rng), "v6": key(rng),
         "forty": [key(rng) for _ in range(40)],
         "empty": [key(rng) for _ in range(29)],
         "stranger": key(rng),
         "perf": [key(rng) for _ in range(1000)],
         "psk": key(rng)}
    p["big_ips"] = ["10.%d.%d.%d/32" % (1 + i // 65536, (i // 256) % 256, i % 256)
                    for i in range(2500)] + \
                   ["fd10::%x:%x/128" % (i // 65536, i % 65536) for i in range(500)]
    p["forty_ips"] = [["10.200.%d.%d/32" % (i, j) for j in range(26)] +
                      ["fd20:%x::%x/128" % (i, j) for j in range(26)]
                      for i in range(40)]
    p["v6_ips"] = ["fd30:%x::/64" % i for i in range(150)] + \
                  ["2001:db8:%x::/48" % i for i in range(47)]
    return p


def gen(d):
    p = plan()
    data = os.path.join(d, "data")
    os.makedirs(data, exist_ok=True)
    with open(os.path.join(data, "priv"), "w") as f:
        # a valid private key is any 32 bytes after clamping
        f.write(base64.b64encode(bytes(range(1, 33))).decode() + "\n")
    with open(os.path.join(data, "psk"), "w") as f:
        f.write(p["psk"] + "\n")
    os.chmod(os.path.join(data, "psk"), 0o600)
    with open(os.path.join(data, "big.ips"), "w") as f:
        f.write(",".join(p["big_ips"]))
    for i, ips in enumerate(p["forty_ips"]):
        with open(os.path.join(data, "p%d.ips" % i), "w") as f:
            f.write(",".join(ips))
    with open(os.path.join(data, "v6.ips"), "w") as f:
        f.write(",".join(p["v6_ips"]))
    with open(os.path.join(data, "perf.conf"), "w") as f:
        f.write("[wg1]\n")
        for i, k in enumerate(p["perf"]):
            f.write("n%d key=%s allowed-ips=10.%d.%d.%d/32\n" %
                    (i, k, 100 + i // 65536, (i // 256) % 256, i % 256))
    s = ["set -u",
         "export PATH=/bin",
         'step() { local n=$1; shift; echo "=== STEP $n"; "$@" 2>&1; echo "=== RC $?"; }',
         "ip link add wg0 type wireguard || echo 'KTEST FATAL ip link add wg0'",
         "wg set wg0 private-key /data/priv listen-port 51820",
         "ip link set wg0 up",
         "step add-office %s add wg0 office --public-key %s --allowed-ips 10.0.0.2/32,fd00::2/128 "
         "--endpoint 192.0.2.1:51820 --persistent-keepalive 25" % (W, p["office"]),
         "step dump-office wg show wg0 dump",
         "step show-office %s show wg0 --json" % W,
         "step resolve %s resolve office.claw" % W,
         "step netlink-explicit %s --backend netlink show wg0 --json" % W,
         'step add-big %s add wg0 big --public-key %s --allowed-ips "$(cat /data/big.ips)"' % (W, p["big"]),
         "step dump-big wg show wg0 dump",
         "step show-big %s show wg0 --json" % W]
    for i, k in enumerate(p["forty"]):
        s.append('step add-p%d %s add wg0 p%d --public-key %s --allowed-ips "$(cat /data/p%d.ips)"'
                 % (i, W, i, k, i))
    s += ["step dump-forty wg show wg0 dump",
          "step show-forty %s show wg0 --json" % W,
          "wg set wg0 " + " ".join("peer %s remove" % k for k in p["forty"]),
          "step sync-forty %s sync wg0" % W,
          "step dump-sync wg show wg0 dump",
          # changed behind our back: big loses its 3000 prefixes, office
          # its endpoint and keepalive; sync replaces big's list over many
          # messages (REPLACE_ALLOWEDIPS only in the first fragment)
          "wg set wg0 peer %s allowed-ips 10.250.0.1/32 peer %s endpoint 192.0.2.99:1 "
          "persistent-keepalive 0" % (p["big"], p["office"]),
          "step sync-update %s sync wg0" % W,
          "step dump-update wg show wg0 dump",
          "step empties wg set wg0 " + " ".join("peer %s" % k for k in p["empty"]),
          'step add-v6 %s add wg0 v6 --public-key %s --allowed-ips "$(cat /data/v6.ips)" '
          '--endpoint [2001:db8::1]:51820 --preshared-key-file /data/psk' % (W, p["v6"]),
          "step dump-v6 wg show wg0 dump",
          "step show-v6 %s show wg0 --json" % W,
          "step err-nosuch %s show nosuch0" % W,
          "step err-lo %s show lo" % W,
          "step err-add-nosuch %s add nosuch0 x --public-key %s" % (W, p["stranger"]),
          "step err-uapi %s --backend uapi show wg0" % W,
          "step remove-office %s remove wg0 office" % W,
          "step dump-final wg show wg0 dump",
          "step resolve-gone %s resolve office" % W,
          # routes for a peer whose allowed IPs lie outside the subnet:
          # wgB lives in a second namespace (its UDP socket stays in the
          # first, so the endpoints are 127.0.0.1)
          "ip netns add peerns || echo 'KTEST FATAL ip netns add'",
          "ip link add wgA type wireguard",
          "ip link add wgB type wireguard",
          "ip link set wgB netns peerns",
          "wg genkey >/tmp/ka; wg genkey >/tmp/kb",
          "PA=$(wg pubkey </tmp/ka); PB=$(wg pubkey </tmp/kb)",
          "wg set wgA private-key /tmp/ka listen-port 51830",
          "ip addr add 10.60.0.1/24 dev wgA; ip link set wgA up",
          "ip netns exec peerns wg set wgB private-key /tmp/kb listen-port 51831 "
          "peer \"$PA\" allowed-ips 10.60.0.1/32 endpoint 127.0.0.1:51830",
          "ip -n peerns addr add 10.60.0.2/24 dev wgB",
          "ip -n peerns addr add 172.31.60.2/32 dev wgB",
          "ip -n peerns link set lo up; ip -n peerns link set wgB up",
          "step route-before ip route show 172.31.60.0/24",
          "step add-office2 %s add wgA office2 --public-key \"$PB\" "
          "--allowed-ips 10.60.0.2/32,172.31.60.0/24 --endpoint 127.0.0.1:51831" % W,
          "step route-after ip route show 172.31.60.0/24",
          "(echo hello-from-b | ip netns exec peerns nc -l -p 7000 >/dev/null) &",
          "sleep 1",
          "step tcp timeout 30 bash -c 'exec 3<>/dev/tcp/172.31.60.2/7000; head -1 <&3'",
          "step remove-office2 %s remove wgA office2" % W,
          "step route-gone ip route show 172.31.60.0/24",
          # an interface managed elsewhere: the script stands in for the
          # control plane (wg set), clawnexus-wg only names its peer
          "ip link add wgM type wireguard",
          "wg genkey >/tmp/km; PHONE=$(wg genkey | wg pubkey)",
          "wg set wgM private-key /tmp/km peer \"$PHONE\" allowed-ips 10.61.0.5/32,10.61.9.0/24",
          "ip link set wgM up",
          "wg show wgM dump >/tmp/m-before",
          "step name-phone %s name wgM phone --public-key \"$PHONE\"" % W,
          "step resolve-phone %s resolve phone" % W,
          "step sync-managed %s sync wgM" % W,
          "step add-managed %s add wgM x --public-key \"$PB\" --allowed-ips 10.61.0.7/32" % W,
          "step hook-managed %s hook up wgM --file /tmp/hosts" % W,
          "step export-managed %s export wgM" % W,
          "step managed-same bash -c 'wg show wgM dump | cmp - /tmp/m-before && echo same'",
          "step managed-routes ip route show dev wgM",
          # 1,000 peers: CPU time of sync and show (emulated CPU: slower
          # than real hardware; reported, not asserted)
          "ip link add wg1 type wireguard; ip link set wg1 up",
          "export TIMEFORMAT='cpu %3U user %3S sys'",
          "step perf-sync bash -c 'time clawnexus-wg --names /data/perf.conf sync wg1'",
          "step perf-show bash -c 'time clawnexus-wg --names /data/perf.conf show wg1 --json >/tmp/o'",
          "step perf-export bash -c 'time clawnexus-wg --names /data/perf.conf export wg1 >/tmp/o'",
          "step perf-count bash -c 'wg show wg1 peers | wc -l'"]
    with open(os.path.join(d, "guest.sh"), "w") as f:
        f.write("\n".join(s) + "\n")


def norm(ip):
    return str(ipaddress.ip_network(ip, strict=False))


def parse_log(text):
    steps, cur, buf = {}, None, []
    for line in text.replace("\r", "").split("\n"):
        m = re.match(r"=== STEP (\S+)$", line)
        if m:
            cur, buf = m.group(1), []
            continue
        m = re.match(r"=== RC (\d+)$", line)
        if m and cur:
            steps[cur] = (int(m.group(1)), "\n".join(buf))
            cur = None
            continue
        if cur:
            buf.append(line)
    return steps


psks = {}


def dump_peers(out):
    """wg show dump -> {key: (endpoint, set(prefixes), keepalive)}; the
    preshared keys go to psks"""
    lines = [l for l in out.split("\n") if l.strip()]
    peers = {}
    for l in lines[1:]:
        f = l.split("\t")
        if len(f) != 8:
            raise AssertionError("bad dump line %r" % l)
        ips = set() if f[3] == "(none)" else {norm(x) for x in f[3].split(",")}
        peers[f[0]] = (f[2], ips, f[7])
        psks[f[0]] = f[1]
    return peers


def json_peers(out):
    d = json.loads(out)
    return {p["public_key"]: (p["name"], p["endpoint"] or "(none)",
                              {norm(x) for x in p["allowed_ips"]})
            for p in d["peers"]}


class Checker:
    def __init__(self, steps):
        self.steps = steps
        self.failures = []

    def ok(self, cond, what):
        if not cond:
            self.failures.append(what)
        return cond

    def step(self, name, rc=0):
        if name not in self.steps:
            self.failures.append("step %s did not run" % name)
            return None
        r, out = self.steps[name]
        if rc is not None and not self.ok(r == rc, "step %s: exit %d, expected %d: %s"
                                          % (name, r, rc, out[-300:])):
            return None
        return out

    def same(self, dump, js, names, what):
        """our show --json against wg's dump, names as recorded"""
        if dump is None or js is None:
            return
        dp, jp = dump_peers(dump), json_peers(js)
        self.ok(set(dp) == set(jp), "%s: peer sets differ (%d vs %d)" % (what, len(dp), len(jp)))
        for k in dp:
            if k not in jp:
                continue
            self.ok(jp[k][2] == dp[k][1], "%s: allowed IPs of %s differ" % (what, k))
            self.ok(jp[k][1] == dp[k][0], "%s: endpoint of %s differs" % (what, k))
            self.ok(jp[k][0] == names.get(k), "%s: name of %s is %r" % (what, k, jp[k][0]))


def check(log, d):
    p = plan()
    with open(log, errors="replace") as f:
        text = f.read()
    if "KTEST BOOTED" not in text:
        print(text[-3000:])
        print("FAIL: the guest did not boot")
        return 1
    if "KTEST FATAL" in text or "KTEST insmod failed" in text:
        print(text[-3000:])
        print("FAIL: guest set-up failed")
        return 1
    c = Checker(parse_log(text))
    names = {p["office"]: "office"}

    c.step("add-office")
    dump = c.step("dump-office")
    if dump is not None:
        o = dump_peers(dump).get(p["office"])
        c.ok(o == ("192.0.2.1:51820", {"10.0.0.2/32", "fd00::2/128"}, "25"),
             "office in the dump is %r" % (o,))
    c.same(dump, c.step("show-office"), names, "show-office")
    r = c.step("resolve")
    c.ok(r is not None and r.strip() == "10.0.0.2", "resolve printed %r" % r)
    c.same(dump, c.step("netlink-explicit"), names, "netlink-explicit")

    c.step("add-big")
    names[p["big"]] = "big"
    dump = c.step("dump-big")
    if dump is not None:
        b = dump_peers(dump).get(p["big"])
        c.ok(b is not None and b[1] == {norm(x) for x in p["big_ips"]},
             "big: the kernel does not hold exactly the 3000 prefixes")
    c.same(dump, c.step("show-big"), names, "show-big")

    for i, k in enumerate(p["forty"]):
        c.step("add-p%d" % i)
        names[k] = "p%d" % i
    dump = c.step("dump-forty")
    if dump is not None:
        dp = dump_peers(dump)
        for i, k in enumerate(p["forty"]):
            c.ok(k in dp and dp[k][1] == {norm(x) for x in p["forty_ips"][i]},
                 "p%d: prefixes differ in the dump" % i)
    c.same(dump, c.step("show-forty"), names, "show-forty")
    out = c.step("sync-forty")
    c.ok(out is not None and out.strip() == "wg0: 40 added, 0 updated, 2 unchanged",
         "sync said %r" % out)
    dump2 = c.step("dump-sync")
    if dump is not None and dump2 is not None:
        c.ok(dump_peers(dump) == dump_peers(dump2), "sync did not restore the 40 peers")

    out = c.step("sync-update")
    c.ok(out is not None and out.strip() == "wg0: 0 added, 2 updated, 40 unchanged",
         "sync after changes said %r" % out)
    dump = c.step("dump-update")
    if dump is not None:
        dp = dump_peers(dump)
        c.ok(p["big"] in dp and dp[p["big"]][1] == {norm(x) for x in p["big_ips"]},
             "sync did not restore big's 3000 prefixes exactly")
        c.ok(dp.get(p["office"]) == ("192.0.2.1:51820", {"10.0.0.2/32", "fd00::2/128"}, "25"),
             "sync did not restore office: %r" % (dp.get(p["office"]),))

    c.step("empties")
    c.step("add-v6")
    names[p["v6"]] = "v6"
    dump = c.step("dump-v6")
    if dump is not None:
        dp = dump_peers(dump)
        c.ok(all(k in dp and dp[k][1] == set() for k in p["empty"]), "empty peers missing")
        c.ok(p["v6"] in dp and dp[p["v6"]][1] == {norm(x) for x in p["v6_ips"]},
             "v6: prefixes differ in the dump")
        c.ok(p["v6"] in dp and dp[p["v6"]][0] == "[2001:db8::1]:51820",
             "v6: endpoint is %r" % (dp.get(p["v6"], ("?",))[0],))
        c.ok(psks.get(p["v6"]) == p["psk"], "v6: preshared key not applied")
        c.ok(psks.get(p["office"]) == "(none)", "office has a preshared key")
    c.same(dump, c.step("show-v6"), names, "show-v6")

    out = c.step("err-nosuch", 1)
    c.ok(out is not None and "nosuch0: no such WireGuard interface" in out and
         len(out.strip().split("\n")) == 1, "show nosuch0 said %r" % out)
    out = c.step("err-lo", 1)
    c.ok(out is not None and "lo: not a WireGuard interface" in out, "show lo said %r" % out)
    c.step("err-add-nosuch", 1)
    c.step("err-uapi", 1)
    c.step("remove-office")
    dump = c.step("dump-final")
    if dump is not None:
        dp = dump_peers(dump)
        c.ok(p["office"] not in dp, "office still present after remove")
        c.ok(len(dp) == 1 + 40 + 29 + 1, "unexpected peer count %d after remove" % len(dp))
    c.step("resolve-gone", 5)

    out = c.step("route-before")
    c.ok(out is not None and out.strip() == "", "a route for 172.31.60.0/24 before add: %r" % out)
    c.step("add-office2")
    out = c.step("route-after")
    c.ok(out is not None and re.match(r"172\.31\.60\.0/24 dev wgA\b", out.strip()),
         "no route 172.31.60.0/24 dev wgA after add: %r" % out)
    out = c.step("tcp")
    c.ok(out is not None and out.strip() == "hello-from-b",
         "TCP to 172.31.60.2 through wgA said %r" % out)
    c.step("remove-office2")
    out = c.step("route-gone")
    c.ok(out is not None and out.strip() == "", "remove left the route: %r" % out)

    c.step("name-phone")
    out = c.step("resolve-phone")
    c.ok(out is not None and out.strip() == "10.61.0.5", "resolve phone printed %r" % out)
    for s in ("sync-managed", "add-managed", "hook-managed"):
        out = c.step(s, 1)
        c.ok(out is not None and "interface wgM is managed elsewhere" in out,
             "%s said %r" % (s, out))
    out = c.step("export-managed")
    if out is not None:
        e = json.loads(out)["peers"][0]
        c.ok(e["name"] == "phone" and e["address"] == "10.61.0.5" and
             e["status"] == "never" and e["managed_elsewhere"] is True,
             "export of wgM: %r" % e)
    out = c.step("managed-same")
    c.ok(out is not None and out.strip() == "same", "wgM changed: %r" % out)
    out = c.step("managed-routes")
    c.ok(out is not None and out.strip() == "", "routes through wgM: %r" % out)
    perf = []
    for s in ("perf-sync", "perf-show", "perf-export"):
        out = c.step(s)
        if out is not None:
            perf.append("%s: %s" % (s, out.strip().split("\n")[-1]))
    out = c.step("perf-count")
    c.ok(out is not None and out.strip() == "1000", "wg1 has %r peers after sync" % out)

    if "KTEST DONE" not in text:
        c.failures.append("the guest script did not finish")
    for f in c.failures:
        print("FAIL: " + f)
    print("kernel: " + re.search(r"KTEST BOOTED (\S+)", text).group(1))
    for l in perf:
        print("1000 peers, emulated CPU, " + l)
    return 1 if c.failures else 0


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2])
        sys.exit(0)
    sys.exit(check(sys.argv[2], sys.argv[3]))
