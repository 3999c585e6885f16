#!/bin/bash
# Relay cluster benchmark (docs/cluster.md): rooms inside one node against
# rooms across two nodes that share one redis-server, in one run,
# interleaved run by run.  See bench/README.md, "Cluster".
#
#   bench/cluster.sh [--runs N] [--duration S]
#
# Prints one line per generator run and a summary: messages per CPU-second
# of the two relays and redis-server together (JSON 200 B and binary
# 4 KiB), pairing latency (JOIN -> both JOINED), and the latency a DATA
# takes one way (from runs with one message in flight per direction).
set -u

runs=3
dur=2
while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=$2; shift ;;
    --duration) dur=$2; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: bench/cluster.sh [--runs N] [--duration S]" >&2; exit 2 ;;
    esac
    shift
done

. "$(dirname "$0")/lib.sh"

log() { printf 'cluster-bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ -x "$LOADGEN" ] || make -C "$build" bench/cnx-loadgen >&2 ||
    die "cannot build $LOADGEN"
command -v redis-server >/dev/null || die "needs redis-server"
command -v redis-cli >/dev/null || die "needs redis-cli"

tmp=$(mktemp -d /tmp/cnx-cluster-bench.XXXXXX)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 65536 2>/dev/null || true

# relays and Redis run as $PIN_RELAY, the generator as $PIN_GEN (lib.sh)
bench_secret "$tmp/secret"

rport=$(free_port)
$PIN_RELAY redis-server --port "$rport" --bind 127.0.0.1 --save '' \
    --appendonly no --daemonize no --logfile "$tmp/redis.log" &
redis_pid=$!
pids+=("$redis_pid")

node_start() {
    local dir=$tmp/$1 port=$2 i
    mkdir -p "$dir/logs"
    cat > "$dir/nginx.conf" <<CONF
load_module $NGINX_MODULES/ngx_stream_module.so;
load_module $CNX_MODULE;
worker_processes 1;
worker_rlimit_nofile 65536;
events { worker_connections 32768; }
stream {
    clawnexus_cluster redis://127.0.0.1:$rport;
    server {
        listen 127.0.0.1:$port;
        clawnexus_relay;
        clawnexus_jwt_secret_file $tmp/secret;
    }
}
CONF
    $PIN_RELAY "$NGINX_BIN" -p "$dir" -c nginx.conf -e "$dir/logs/error.log" \
        -g "pid $dir/nginx.pid; error_log $dir/logs/error.log warn;" ||
        die "nginx did not start in $dir"
    for (( i=0; i<100; i++ )); do
        [ -s "$dir/nginx.pid" ] && pgrep -P "$(cat "$dir/nginx.pid")" >/dev/null && break
        sleep 0.05
    done
    pids+=("$(cat "$dir/nginx.pid")")
}

p1=$(free_port)
p2=$(free_port)
node_start n1 "$p1"
node_start n2 "$p2"
for (( i=0; i<100; i++ )); do
    [ "$(redis-cli -p "$rport" PUBSUB CHANNELS 'cnx:w:*' | grep -c .)" = 2 ] && break
    sleep 0.1
done
[ "$i" -lt 100 ] || die "the nodes did not link to Redis"
w1=$(pgrep -P "$(cat "$tmp/n1/nginx.pid")")
w2=$(pgrep -P "$(cat "$tmp/n2/nginx.pid")")
cpupids="$w1,$w2,$redis_pid"

raw=$tmp/raw.txt
: > "$raw"
run() {
    local label=$1 line
    shift
    line=$($PIN_GEN "$LOADGEN" --port "$p1" --secret-file "$tmp/secret" \
        --pids "$cpupids" "$@" 2>"$tmp/lg.err") ||
        { log "FAILED $label: $(head -3 "$tmp/lg.err" | tr '\n' ' ')"; return 1; }
    printf '%s %s\n' "$label" "$line" >> "$raw"
    printf '%s %s\n' "$label" "$line"
}

log "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for (( r=0; r<runs; r++ )); do
    for where in same cross; do
        x=()
        [ $where = cross ] && x=(--port2 "$p2")
        run "$where-json" --mode msgs --duration "$dur" --pairs 20 \
            --window 32 --size 200 "${x[@]}"
        run "$where-bin" --mode msgs --duration "$dur" --pairs 4 \
            --window 8 --size 4096 --path binary "${x[@]}"
        run "$where-one" --mode msgs --duration "$dur" --pairs 1 \
            --window 1 --size 64 "${x[@]}"
        run "$where-pair" --mode pair --pairs 50 --joins 4 "${x[@]}"
    done
done
log "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

# medians per label, and the ratios the goals are about
python3 - "$raw" "$redis_pid" <<'PY'
import statistics, sys
redis_pid = sys.argv[2]
rows = {}
for line in open(sys.argv[1]):
    label, *kv = line.split()
    d = dict(x.split("=", 1) for x in kv if "=" in x)
    rows.setdefault(label, []).append(d)

def med(label, key):
    v = [float(d[key]) for d in rows.get(label, []) if key in d]
    return statistics.median(v) if v else float("nan")

def redis_us(label):
    # microseconds of redis-server's CPU per message (pid_cpu= gives each
    # process's part of relay_cpu over the measured window)
    v = []
    for d in rows.get(label, []):
        part = dict(x.split(":") for x in d.get("pid_cpu", "").split(",") if ":" in x)
        if redis_pid in part and float(d.get("msgs", 0)) > 0:
            v.append(float(part[redis_pid]) * 1e6 / float(d["msgs"]))
    return statistics.median(v) if v else float("nan")

print("\nmedians (relay CPU = both nginx workers + redis-server)")

for kind, key in (("json", "msgs_per_cpu_s"), ("bin", "msgs_per_cpu_s")):
    s, c = med(f"same-{kind}", key), med(f"cross-{kind}", key)
    print(f"  {kind:5} msgs/CPU-s: same node {s:10.0f}  across nodes "
          f"{c:10.0f}  ratio {c / s:.2f} (goal >= 0.50)")
# Across nodes the two workers do at least the client work the one worker
# does inside a node, and Redis comes on top: the ratio cannot exceed
# same / (same + Redis), per message in microseconds.
for kind in ("json", "bin"):
    s_us = 1e6 / med(f"same-{kind}", "msgs_per_cpu_s")
    c_us = 1e6 / med(f"cross-{kind}", "msgs_per_cpu_s")
    r_us = redis_us(f"cross-{kind}")
    print(f"  {kind:5} CPU per message: same node {s_us:6.3f} us, across "
          f"nodes {c_us:6.3f} us of which Redis {r_us:6.3f} us: "
          f"Redis alone bounds the ratio at {s_us / (s_us + r_us):.2f}")
for where in ("same", "cross"):
    print(f"  pairing {where:5}: p50 {med(where + '-pair', 'p50_us'):7.0f} us"
          f"  p99 {med(where + '-pair', 'p99_us'):7.0f} us"
          f"  (PING p99 {med(where + '-pair', 'ping_p99_us'):5.0f} us)")
s1, c1 = med("same-one", "msgs_per_s"), med("cross-one", "msgs_per_s")
# one message in flight per direction: each direction moves one DATA per
# one-way trip, so one way = 2 / (messages per second of both)
print(f"  one DATA one way: same node {2e6 / s1:6.0f} us, across nodes "
      f"{2e6 / c1:6.0f} us: {2e6 / c1 - 2e6 / s1:+.0f} us added")
PY
