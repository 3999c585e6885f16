#!/bin/bash
# clawnexus-link against the real tailscale CLI: the direct address it
# takes for a tailnet peer is that peer's first TailscaleIPs entry, as
# `tailscale status --json` reports it.  Needs the tailscale CLI and a
# tailscaled that is logged in to a tailnet with an online peer; skipped
# otherwise.  (link-fallback.sh checks the same path through a stand-in
# for the CLI, and test_link_config the reader on documented fields.)
. "$abs_top_srcdir/tests/lib.sh"

command -v tailscale >/dev/null 2>&1 ||
    cnx_skip "needs the tailscale CLI with a running tailscaled on a tailnet (tailscale is not installed here)"
cnx_need_cmd python3
cnx_tmpdir dir
tailscale status --json >"$dir/status.json" 2>"$dir/status.err" ||
    cnx_skip "tailscale status --json failed (is tailscaled running and logged in?): $(head -1 "$dir/status.err")"
# an online peer and the address clawnexus-link must take for it
read -r host addr < <(python3 - "$dir/status.json" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
if st.get("BackendState") == "Running":
    for p in (st.get("Peer") or {}).values():
        label = (p.get("DNSName") or "").split(".")[0]
        if p.get("Online") and p.get("TailscaleIPs") and label:
            print(label, p["TailscaleIPs"][0])
            break
PY
)
[ -n "$host" ] || cnx_skip "no online peer on the tailnet"
case $addr in *:*) want="[$addr]:7473" ;; *) want="$addr:7473" ;; esac

# No relay: connect only looks the name up, tries the address, and stops.
HOME="$dir" CLAWNEXUS_TAILSCALE="$(command -v tailscale)" timeout 20 \
    "$CNX_LINK" -v connect --id probe.claw "$host.claw" </dev/null >/dev/null 2>"$dir/err"
grep -q "$host.claw: $want from the tailnet" "$dir/err" ||
    cnx_fail "expected '$host.claw: $want from the tailnet', got: $(cat "$dir/err")"
cnx_log "$host.claw -> $want from tailscale status --json"
