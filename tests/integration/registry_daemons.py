"""Two unmodified clawnexus 0.4.0 daemons get their names and relay tokens
from our registry and work through our relay (run inside the test's
network namespace by registry-daemons.sh).

    registry_daemons.py CLI REGISTRY_URL CA HOME_A API_A HOME_B API_B

Drives the daemons with their own CLI (connect, policy, propose, inbox)
and reads their HTTP API.  Prints the names, then one "ok" line per
stage, and the outcome of the task as the proposer saw it.
"""

import glob
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request


def need(cond, what):
    if not cond:
        raise AssertionError(what)


def ok(what):
    print("ok - " + what, flush=True)


def get(url, ctx=None):
    with urllib.request.urlopen(url, timeout=10, context=ctx) as r:
        return json.loads(r.read())


def cli(node_cli, api, *args):
    out = subprocess.run(["node", node_cli, *args, "--api", api],
                         capture_output=True, text=True, timeout=60)
    need(out.returncode == 0, "clawnexus %s: %s %s"
         % (" ".join(args), out.stdout, out.stderr))
    return out.stdout


def wait(what, fn, timeout):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # the daemon may not answer yet
            last = e
        time.sleep(0.5)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def registered(api):
    st = get(api + "/relay/status")
    return st["claw_id"] if st.get("state") == "registered" else None


def active_room(api, peer):
    for room in get(api + "/relay/status").get("rooms", []):
        if (room.get("peer_claw_id") == peer and room.get("state") == "active"
                and room.get("has_session_key")):
            return room["room_id"]
    return None


def history(home, task_id):
    """The proposer's record of a finished task (history/<date>.jsonl)."""
    for path in glob.glob(os.path.join(home, ".clawnexus", "tasks",
                                       "history", "*.jsonl")):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    t = json.loads(line)
                    if t.get("task_id") == task_id:
                        return t
    return None


def main():
    node_cli, reg, ca, home_a, api_a, home_b, api_b = sys.argv[1:8]
    ctx = ssl.create_default_context(cafile=ca)

    # 1. both register through CLAWNEXUS_REGISTRY_URL and reach the relay
    #    through the registry's relay_hint (wss, our CA)
    name_a = wait("A registered at the relay", lambda: registered(api_a), 120)
    name_b = wait("B registered at the relay", lambda: registered(api_b), 120)
    need({name_a, name_b} == {"main.claw", "main-1.claw"},
         "names from one OpenClaw agent id: %s %s" % (name_a, name_b))
    print("names: A=%s B=%s" % (name_a, name_b), flush=True)
    for name, api in ((name_a, api_a), (name_b, api_b)):
        who = get(api + "/whoami")
        rec = get(reg + "/resolve/" + name, ctx)["record"]
        need(rec["ownerPubkey"] == who.get("pubkey")
             or rec["ownerPubkey"] == who.get("public_key"),
             "registry owner of %s is that daemon's key: %r / %r"
             % (name, rec, who))
    relay = get(api_a + "/relay/status")["relay_url"]
    need(relay.startswith("wss://localhost:") and relay.endswith("/relay"),
         "relay URL from the hint: " + relay)
    ok("both daemons registered (the second got the 409 and its -1 name) "
       "and joined the relay at %s" % relay)

    # 2. B trusts A; A connects to B by name through the relay
    cli(node_cli, api_b, "policy", "set", "access_control.whitelist",
        json.dumps([name_a]))
    cli(node_cli, api_a, "connect", name_b)
    wait("the room active on A", lambda: active_room(api_a, name_b), 30)
    wait("the room active on B", lambda: active_room(api_b, name_a), 30)
    ok("%s connected to %s by name; both rooms active with a session key"
       % (name_a, name_b))

    # 3. a proposal reaches B's inbox and is approved
    cli(node_cli, api_a, "propose", name_b, "echo", "hello from A",
        "--input", "lang=en")
    inbox = wait("the proposal in B's inbox",
                 lambda: get(api_b + "/agent/inbox")["items"], 30)
    item = inbox[0]
    need(item["from"] == name_a and item["task"]["description"]
         == "hello from A", "inbox item: %r" % item)
    task_id = item["task"].get("task_id") or item["message_id"]
    ok("the proposal waits in B's inbox (from %s)" % item["from"])

    cli(node_cli, api_b, "inbox", "approve", item["message_id"])
    ok("B approved it")

    # 4. the outcome comes back to A
    def outcome():
        for t in glob.glob(os.path.join(home_a, ".clawnexus", "tasks",
                                        "history", "*.jsonl")):
            with open(t) as f:
                for line in f:
                    if line.strip():
                        rec = json.loads(line)
                        if rec.get("peer_claw_id") == name_b:
                            return rec
        return None

    rec = wait("the task's outcome at A", outcome, 90)
    need(rec["state"] in ("completed", "failed"),
         "terminal state at A: %r" % rec)
    print("outcome at A: state=%s error=%s result=%s"
          % (rec["state"], rec.get("error"), rec.get("result")), flush=True)
    ok("the decision and the task's final state (%s) came back to %s"
       % (rec["state"], name_a))
    del task_id


if __name__ == "__main__":
    main()
