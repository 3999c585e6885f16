#!/bin/bash
# clawnexus-link serve under many streams: PEERS endpoints (`connect
# --local`) each open STREAMS/PEERS TCP streams through the relay module to
# one `serve`, all sending as fast as they can for SECONDS; the serve's
# forward target counts the bytes of every stream over the measured window
# (after one second of warm-up).  Prints one key=value line per run:
# aggregate throughput, per-stream minimum, mean and maximum, the fairness
# ratio min/mean, and the serve's CPU seconds.
#
#   bench/link-streams.sh CLAWNEXUS_LINK MODULE_SO [RUNS] [PEERS] [STREAMS] [SECONDS]
#
# Needs the stock nginx with ngx_stream_module.so and python3.  Everything
# listens on 127.0.0.1 only.
set -u
LINK=$1
MODULE=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
runs=${3:-3}
peers=${4:-10}
streams=${5:-100}
secs=${6:-5}
. "$(dirname "$0")/lib.sh"

die() { printf 'link-streams: %s\n' "$*" >&2; exit 1; }
[ -x "$LINK" ] || die "not built: $LINK"
[ -f "$MODULE" ] || die "not built: $MODULE"
[ -x "$NGINX_BIN" ] || die "needs $NGINX_BIN"

# (a libtool wrapper script execs the binary, and the serve's CPU is read
# from /proc after it started, so the wrapper costs nothing here)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cnx-linkstreams.XXXXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    [ -s "$tmp/nginx.pid" ] && kill -QUIT "$(cat "$tmp/nginx.pid")" 2>/dev/null
    sleep 0.3
    rm -rf "$tmp"
}
trap cleanup EXIT
wait_file() { local i; for (( i=0; i<200; i++ )); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

rport=$(free_port)
bench_secret "$tmp/relay.secret"
mkdir -p "$tmp/logs"
cat > "$tmp/nginx.conf" <<CONF
load_module $NGINX_MODULES/ngx_stream_module.so;
load_module $MODULE;
worker_processes 1;
error_log logs/error.log warn;
events { worker_connections 1024; }
stream { server { listen 127.0.0.1:$rport; clawnexus_relay;
    clawnexus_jwt_secret_file relay.secret; } }
CONF
"$NGINX_BIN" -p "$tmp" -c nginx.conf -e "$tmp/logs/error.log" -g "pid $tmp/nginx.pid;" ||
    die "nginx did not start"
relay="ws://127.0.0.1:$rport/relay"
S=(--secret-file "$tmp/relay.secret")

cat > "$tmp/sink.py" <<'PY'
# Count the bytes of every connection between warm-up and warm-up + secs.
import selectors, socket, sys, time
port, secs, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(1024)
ls.setblocking(False)
sel = selectors.DefaultSelector()
sel.register(ls, selectors.EVENT_READ)
buf = bytearray(1 << 18)
count = {}
t_first = None
while True:
    now = time.monotonic()
    if t_first is not None and now > t_first + 1.0 + secs:
        break
    for key, _ in sel.select(0.2):
        if key.fileobj is ls:
            try:
                c, _ = ls.accept()
            except BlockingIOError:
                continue
            c.setblocking(False)
            sel.register(c, selectors.EVENT_READ)
            count[c] = 0
            continue
        c = key.fileobj
        try:
            k = c.recv_into(buf)
        except BlockingIOError:
            continue
        if k == 0:
            sel.unregister(c)
            continue
        now = time.monotonic()
        if t_first is None:
            t_first = now
        if t_first + 1.0 <= now <= t_first + 1.0 + secs:
            count[c] += k
with open(out, "w") as f:
    for v in count.values():
        f.write("%d\n" % v)
PY
cat > "$tmp/source.py" <<'PY'
# N connections spread over the local ports, each sending zeros in
# 64 KiB blocks until the time is up.
import socket, sys, threading, time
ports = [int(p) for p in sys.argv[1].split(",")]
n, secs = int(sys.argv[2]), float(sys.argv[3])
block = bytes(1 << 16)
end = time.monotonic() + secs
def run(port):
    s = socket.create_connection(("127.0.0.1", port))
    try:
        while time.monotonic() < end:
            s.sendall(block)
    except OSError:
        pass
    s.close()
ts = [threading.Thread(target=run, args=(ports[i % len(ports)],)) for i in range(n)]
for t in ts:
    t.start()
for t in ts:
    t.join()
PY

for (( r=1; r<=runs; r++ )); do
    sp=$(free_port)
    python3 "$tmp/sink.py" "$sp" "$secs" "$tmp/counts" & sinkpid=$!; pids+=("$sinkpid")
    sleep 0.3
    HOME="$tmp/hs" "$LINK" serve --relay "$relay" --id "srv$r.claw" "${S[@]}" \
        --forward "127.0.0.1:$sp" 2> "$tmp/serve.err" & spid=$!; pids+=("$spid")
    wait_file "$tmp/serve.err" serving || die "serve did not register: $(cat "$tmp/serve.err")"
    ports=""
    for (( p=1; p<=peers; p++ )); do
        lp=$(free_port)
        HOME="$tmp/hc$p" "$LINK" connect --relay "$relay" --id "p$p-$r.claw" "${S[@]}" \
            --local "127.0.0.1:$lp" "srv$r.claw" 2> "$tmp/c$p.err" & pids+=("$!")
        wait_file "$tmp/c$p.err" established || die "peer $p: $(cat "$tmp/c$p.err")"
        ports="${ports:+$ports,}$lp"
    done
    s0=$(ticks "$spid")
    # one source process per peer (threads of one interpreter would share
    # its lock and make the streams unequal before they reach us)
    srcs=()
    for lp in ${ports//,/ }; do
        python3 "$tmp/source.py" "$lp" "$(( streams / peers ))" "$(( secs + 2 ))" &
        srcs+=("$!")
    done
    wait "${srcs[@]}"
    wait "$sinkpid"
    s1=$(ticks "$spid")
    python3 - "$tmp/counts" "$secs" "$r" "$peers" "$streams" "$(( s1 - s0 ))" "$(getconf CLK_TCK)" <<'PY'
import sys
v = [int(x) for x in open(sys.argv[1])]
secs, r, peers, streams = float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
cpu = int(sys.argv[6]) / int(sys.argv[7])
mean = sum(v) / len(v) if v else 0
mb = lambda b: b / secs / 1e6
print("test=linkstreams run=%s peers=%s streams=%d aggregate_MBps=%.1f "
      "stream_min_MBps=%.2f stream_mean_MBps=%.2f stream_max_MBps=%.2f "
      "min_over_mean=%.2f below_half_mean=%d serve_cpu_s=%.2f"
      % (r, peers, len(v), mb(sum(v)), mb(min(v)) if v else 0, mb(mean),
         mb(max(v)) if v else 0, min(v) / mean if mean else 0,
         sum(1 for x in v if x < mean / 2), cpu))
PY
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    pids=()
done
