#!/bin/bash
# clawnexus-wg with 1,000 named peers on a userspace WireGuard interface
# (wireguard-go in a private network namespace): CPU seconds (user+sys of
# the clawnexus-wg process: perf stat task-clock) of the first sync (adds
# 1,000 peers and their routes, writes the export file), a second sync
# (nothing to change), `show`, `show --json` and `export`.
# The CPU wireguard-go spends answering is reported beside it (from
# /proc/PID/stat).  Prints key=value lines, one per run:
#
#   bench/wg-bench.sh CLAWNEXUS_WG [RUNS] [PEERS]
#
# Needs root, network namespaces, /dev/net/tun, wireguard-go and wg.
set -u
CNX_WG=$1
runs=${2:-5}
peers=${3:-1000}

die() { printf 'wg-bench: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$CNX_WG" ] || die "not built: $CNX_WG"
command -v wireguard-go >/dev/null && command -v wg >/dev/null ||
    die "needs wireguard-go and wg"
[ -c /dev/net/tun ] || die "needs /dev/net/tun"

# A libtool wrapper script (build tree) would add a shell's CPU time to
# every figure: use the binary behind it with the wrapper's library path.
if head -c 2 "$CNX_WG" | grep -q '#!' &&
   [ -x "$(dirname "$CNX_WG")/.libs/$(basename "$CNX_WG")" ]; then
    libpath=$(sed -n 's/^ *LD_LIBRARY_PATH="\(.*\):\$LD_LIBRARY_PATH"$/\1/p' "$CNX_WG" | head -1)
    export LD_LIBRARY_PATH="$libpath${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    CNX_WG="$(dirname "$CNX_WG")/.libs/$(basename "$CNX_WG")"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cnx-wgbench.XXXXXXXX")
ns="cnxwgb$$"
ifn="cwbench$$"
ifn=${ifn:0:15}
wgpid=""
cleanup() {
    [ -n "$wgpid" ] && { kill "$wgpid" 2>/dev/null; wait "$wgpid" 2>/dev/null; }
    ip netns del "$ns" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$ns" || die "cannot create namespace"
ip -n "$ns" link set lo up

ticks() {   # utime+stime of a PID, in clock ticks
    awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
hz=$(getconf CLK_TCK)
PERF=$(command -v perf || true)
[ -n "$PERF" ] && ! "$PERF" stat -x, -e task-clock -o /dev/null true 2>/dev/null && PERF=""

# cpu NAME CMD...: run CMD (in the namespace) under /usr/bin/time; prints
# "NAME_cpu_ms=... NAME_wggo_cpu_ms=..."
cpu() {
    local name=$1 t0 t1 u s
    shift
    t0=$(ticks "$wgpid")
    # perf's task-clock: the CPU time of that process alone (not of ip),
    # at microsecond resolution; /usr/bin/time (10 ms steps) otherwise
    if [ -n "$PERF" ]; then
        ip netns exec "$ns" "$PERF" stat -x, -e task-clock -o "$tmp/perf" -- \
            "$@" > "$tmp/out" 2> "$tmp/err" || { cat "$tmp/err" >&2; return 1; }
        awk -F, '/task-clock/ { printf "%.3f\n", $1 }' "$tmp/perf" > "$tmp/ms"
    else
        ip netns exec "$ns" /usr/bin/time -f '%U %S' -o "$tmp/time" "$@" \
            > "$tmp/out" 2> "$tmp/err" || { cat "$tmp/err" >&2; return 1; }
        awk '{ printf "%.3f\n", ($1 + $2) * 1000 }' "$tmp/time" > "$tmp/ms"
    fi
    t1=$(ticks "$wgpid")
    printf ' %s_cpu_ms=%s %s_wggo_cpu_ms=%.0f' "$name" "$(cat "$tmp/ms")" \
        "$name" "$(echo "($t1 - $t0) * 1000 / $hz" | bc -l)"
}

# 1,000 random peer keys (any 32 bytes are a valid public key to set) and
# a names file that names them all.
python3 - "$peers" "$ifn" > "$tmp/names.conf" <<'PY'
import base64, os, sys
n, ifn = int(sys.argv[1]), sys.argv[2]
print("[%s]" % ifn)
for i in range(n):
    key = base64.b64encode(os.urandom(32)).decode()
    print("peer-%d key=%s allowed-ips=10.%d.%d.%d/32 endpoint=127.0.0.1:%d "
          "keepalive=25" % (i, key, 64 + i // 65536, (i // 256) % 256,
                            i % 256 or 1, 20000 + i))
PY

for (( r=1; r<=runs; r++ )); do
    ip netns exec "$ns" wireguard-go -f "$ifn" > "$tmp/wggo.log" 2>&1 &
    wgpid=$!
    for (( i=0; i<100; i++ )); do
        [ -S "/var/run/wireguard/$ifn.sock" ] && break
        sleep 0.05
    done
    [ -S "/var/run/wireguard/$ifn.sock" ] || die "wireguard-go did not start"
    ip netns exec "$ns" wg set "$ifn" private-key <(wg genkey) listen-port 51999
    ip -n "$ns" link set "$ifn" up     # routes need it, as after wg-quick up
    export CLAWNEXUS_WG_EXPORT="$tmp/export.json"
    line="test=wg backend=uapi peers=$peers run=$r ok=1"
    line+=$(cpu sync_add "$CNX_WG" --names "$tmp/names.conf" sync "$ifn") || die "sync failed"
    got=$(ip netns exec "$ns" wg show "$ifn" peers | wc -l)
    [ "$got" = "$peers" ] || die "after sync the interface has $got peers, not $peers"
    line+=$(cpu sync_noop "$CNX_WG" --names "$tmp/names.conf" sync "$ifn") || die "sync failed"
    line+=$(cpu show "$CNX_WG" --names "$tmp/names.conf" show "$ifn") || die "show failed"
    shown=$(grep -c 'peer-' "$tmp/out")
    [ "$shown" -ge "$peers" ] || die "show listed $shown named peers"
    line+=$(cpu show_json "$CNX_WG" --names "$tmp/names.conf" show "$ifn" --json) || die "show --json failed"
    line+=$(cpu export "$CNX_WG" --names "$tmp/names.conf" export "$ifn") || die "export failed"
    [ "$(grep -o '"name"' "$tmp/out" | wc -l)" = "$peers" ] || die "export lacks peers"
    [ -s "$tmp/export.json" ] || die "sync wrote no export file"
    echo "$line errors=0"
    kill "$wgpid"
    wait "$wgpid" 2>/dev/null
    wgpid=""
done
