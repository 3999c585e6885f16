#!/bin/bash
# Benchmark suite: measures the nginx relay module and its baselines with
# the same load generator in one run, then writes bench/results/results.md
# and PNG plots.  See bench/README.md.
#
#   bench/run.sh [--quick] [--runs N] [--only LIST] [--out DIR]
#
# LIST is a comma list of: msgs,bulk,pair,idle,workers,tls,session,wg,
# stream,syscalls (default all).  CNX_MODULE_OLD=PATH adds a second build
# of the module ("module-old", e.g. an earlier commit) to msgs and bulk;
# CNX_MODULE_OLD_LABEL names it in env.txt and results.md.  Every relay
# runs on 127.0.0.1 only.  The relay is pinned to CPU 1 and the generator
# to CPU 0 (when there are two CPUs); CPU time is read from /proc/PID/stat
# of the relay processes around each measured interval.
set -u

usage() {
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
}

quick=0
runs=5
only=all
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1; runs=2 ;;
    --runs) runs=$2; shift ;;
    --only) only=$2; shift ;;
    --out) BENCH_OUT=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
    shift
done

. "$(dirname "$0")/lib.sh"
out=${BENCH_OUT:-}
[ -n "$out" ] || out=$src/bench/results
SESSION_BENCH=$build/bench/cnx-session-bench
NODE_RELAY=$src/bench/baselines/node-relay.js
GO_RELAY=$build/bench/cnx-go-relay
CNX_MODULE_OLD=${CNX_MODULE_OLD:-}
export NODE_PATH=$src/tests/node/node_modules

if [ $quick = 1 ]; then dur=1; else dur=2; fi

want() { [ "$only" = all ] || [[ ",$only," == *",$1,"* ]]; }
log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# --- build what is missing ------------------------------------------------
if [ ! -x "$LOADGEN" ]; then
    make -C "$build" bench/cnx-loadgen >&2 || die "cannot build $LOADGEN"
fi
if want session && [ ! -x "$SESSION_BENCH" ]; then
    make -C "$build" bench/cnx-session-bench >&2 2>/dev/null ||
        log "session benchmark not built (session layer missing?)"
fi
# The Go baseline: Debian's golang-go and golang-github-gorilla-websocket-dev,
# built offline in GOPATH mode from /usr/share/gocode.
GO_OK=0
if command -v go >/dev/null &&
   [ -d /usr/share/gocode/src/github.com/gorilla/websocket ]; then
    mkdir -p "$build/bench"
    if (cd "$src/bench/baselines/go-relay" &&
        GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off \
        GOCACHE=${GOCACHE:-$build/bench/.gocache} \
        go build -o "$GO_RELAY" .) >&2; then
        GO_OK=1
    else
        log "Go baseline did not build: skipped"
    fi
else
    log "go or gorilla/websocket missing (golang-go, golang-github-gorilla-websocket-dev): Go baseline skipped"
fi
command -v node >/dev/null || die "needs node (for the baseline relay)"
[ -f "$NODE_PATH/ws/package.json" ] || die "needs ws in $NODE_PATH"

# --- scratch, processes, cleanup -----------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cnx-bench.XXXXXXXX")
pids_to_kill=()
nginx_prefixes=()
cleanup() {
    local p d i
    for p in "${pids_to_kill[@]}"; do
        kill "$p" 2>/dev/null
    done
    for d in "${nginx_prefixes[@]}"; do
        nginx_stop "$d"
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

ncpu=$(nproc)
# The HS256 secret shared by relays and generator.
bench_secret "$tmp/secret"

wait_port() {
    local i
    for (( i=0; i<200; i++ )); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# timed NAME CMD...: run CMD in the background under /usr/bin/time -v
# (whole-process CPU and peak RSS, written when it exits); sets TIMED_PID
# to the PID of CMD itself (the child of time).
timed() {
    local name=$1 tpid i
    shift
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v -o "$tmp/time-$name.txt" "$@" &
        tpid=$!
        TIMED_PID=""
        for (( i=0; i<100; i++ )); do
            TIMED_PID=$(pgrep -P "$tpid" | head -1)
            [ -n "$TIMED_PID" ] && break
            sleep 0.02
        done
        [ -n "$TIMED_PID" ] || TIMED_PID=$tpid
    else
        "$@" &
        TIMED_PID=$!
    fi
    pids_to_kill+=("$TIMED_PID")
}

# node_start VAR_PID VAR_PORT [NAME [TLS-ARGS...]]: the Node baseline
# relay, pinned.
node_start() {
    local port pid v1=$1 v2=$2 name=${3:-}
    shift 2; shift $(( $# > 0 ))
    port=$(free_port)
    timed "${name:-node-$port}" $PIN_RELAY node "$NODE_RELAY" --port "$port" \
        --secret-file "$tmp/secret" "$@" > "$tmp/node-$port.log" 2>&1
    pid=$TIMED_PID
    wait_port "$port" || die "node relay did not listen (see log)"
    printf -v "$v1" '%s' "$pid"
    printf -v "$v2" '%s' "$port"
}

# go_start VAR_PID VAR_PORT NAME [-cert PEM -key PEM]: the Go baseline.
go_start() {
    local port pid v1=$1 v2=$2 name=$3
    shift 3
    port=$(free_port)
    timed "$name" $PIN_RELAY "$GO_RELAY" -port "$port" \
        -secret-file "$tmp/secret" "$@" > "$tmp/go-$port.log" 2>&1
    pid=$TIMED_PID
    wait_port "$port" || die "go relay did not listen (see $tmp/go-$port.log)"
    printf -v "$v1" '%s' "$pid"
    printf -v "$v2" '%s' "$port"
}

node_stop() {
    local p keep=() i
    kill "$1" 2>/dev/null
    for (( i=0; i<100; i++ )); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.02
    done
    sleep 0.1
    for p in "${pids_to_kill[@]}"; do
        [ "$p" = "$1" ] || keep+=("$p")
    done
    pids_to_kill=("${keep[@]}")
}

# nginx_start DIR WORKERS KIND(relay|proxy) PORT [SINK]: stock nginx.
# NGX_SO=PATH loads another build of the module; NGX_TLS=1 listens with
# TLS (the certificate made for the tls part).
nginx_start() {
    local dir=$1 workers=$2 kind=$3 port=$4 sink=${5:-} pin=${NGX_PIN-$PIN_RELAY}
    local reuse="" i so=${NGX_SO:-$CNX_MODULE}
    mkdir -p "$dir/logs"
    [ "$workers" -gt 1 ] && { reuse=" reuseport"; pin=$NICE; }
    {
        echo "load_module $NGINX_MODULES/ngx_stream_module.so;"
        [ "$kind" = relay ] && echo "load_module $so;"
        echo "worker_processes $workers;"
        echo "worker_rlimit_nofile 65536;"
        echo "events { worker_connections 32768; }"
        echo "stream {"
        echo "  server {"
        if [ "${NGX_TLS:-0}" = 1 ]; then
            echo "    listen 127.0.0.1:$port$reuse ssl;"
            echo "    ssl_certificate $tmp/cert.pem;"
            echo "    ssl_certificate_key $tmp/key.pem;"
            # TLS 1.3 as the Go and Node baselines speak it (nginx
            # before 1.23.4 leaves it out by default)
            echo "    ssl_protocols TLSv1.2 TLSv1.3;"
        else
            echo "    listen 127.0.0.1:$port$reuse;"
        fi
        if [ "$kind" = relay ]; then
            echo "    clawnexus_relay;"
            echo "    clawnexus_jwt_secret_file $tmp/secret;"
            [ -n "${BENCH_RELAY_DIRECTIVES:-}" ] && echo "    $BENCH_RELAY_DIRECTIVES"
        else
            echo "    proxy_pass 127.0.0.1:$sink;"
        fi
        echo "  }"
        echo "}"
    } > "$dir/nginx.conf"
    $pin "$NGINX_BIN" -p "$dir" -c nginx.conf -e "$dir/logs/error.log" \
        -g "pid $dir/nginx.pid; error_log $dir/logs/error.log warn;" \
        > "$dir/logs/startup.log" 2>&1 || return 1
    nginx_prefixes+=("$dir")
    for (( i=0; i<100; i++ )); do
        [ -s "$dir/nginx.pid" ] && break
        sleep 0.05
    done
    [ -s "$dir/nginx.pid" ] || return 1
    # the workers: children of the master we started
    for (( i=0; i<100; i++ )); do
        [ "$(pgrep -P "$(cat "$dir/nginx.pid")" | wc -l)" -ge "$workers" ] && break
        sleep 0.05
    done
    return 0
}

nginx_workers() {
    pgrep -P "$(cat "$1/nginx.pid")" | paste -sd, -
}

nginx_stop() {
    local dir=$1 pid i
    pid=$(cat "$dir/nginx.pid" 2>/dev/null) || return 0
    [ -n "$pid" ] || return 0
    kill -QUIT "$pid" 2>/dev/null || return 0
    for (( i=0; i<100; i++ )); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
    rm -f "$dir/nginx.pid"
}

# run LABEL LOADGEN-ARGS...: one generator run; its line goes to raw.txt.
raw=$tmp/raw.txt
: > "$raw"
run() {
    local label=$1 line rc
    shift
    line=$($PIN_GEN "$LOADGEN" --secret-file "$tmp/secret" "$@" 2>"$tmp/lg.err")
    rc=$?
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
        log "FAILED $label: $(head -3 "$tmp/lg.err" | tr '\n' ' ')"
        line="${line:-mode=? errors=1}"
        printf '%s ok=0 %s err="%s"\n' "$label" "$line" \
            "$(head -1 "$tmp/lg.err" | tr -d '"')" >> "$raw"
        return 1
    fi
    printf '%s ok=1 %s\n' "$label" "$line" >> "$raw"
    log "$label: $line"
}

# --- environment -----------------------------------------------------------
mkdir -p "$out"
{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host_cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "ncpu=$ncpu"
    echo "kernel=$(uname -r)"
    echo "nginx=$("$NGINX_BIN" -v 2>&1 | sed 's/.*: //')"
    echo "node=$(node --version)"
    echo "ws=$(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$NODE_PATH/ws/package.json")"
    echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "runs=$runs"
    echo "duration=$dur"
    echo "pinning=$([ "$ncpu" -ge 2 ] && echo "relay on CPU 1, generator on CPU 0")${NICE:+, both at nice -10}"
} > "$tmp/env.txt"

# --- relays ----------------------------------------------------------------
node_start NODE_PID NODE_PORT node
log "node relay pid $NODE_PID port $NODE_PORT"
if [ $GO_OK = 1 ]; then
    go_start GO_PID GO_PORT go
    log "go relay pid $GO_PID port $GO_PORT"
fi
echo "go=$( [ $GO_OK = 1 ] && go version | cut -d' ' -f3 || echo 'not built')" >> "$tmp/env.txt"
echo "gorilla_websocket=$(dpkg-query -W -f '${Version}' golang-github-gorilla-websocket-dev 2>/dev/null)" >> "$tmp/env.txt"

MOD_OK=0
if [ -f "$CNX_MODULE" ] && [ -x "$NGINX_BIN" ]; then
    MOD_PORT=$(free_port)
    if nginx_start "$tmp/ngx1" 1 relay "$MOD_PORT"; then
        MOD_PIDS=$(nginx_workers "$tmp/ngx1")
        # smoke: one pair, both paths, must pass the generator's checks
        if wait_port "$MOD_PORT" &&
           $PIN_GEN "$LOADGEN" --secret-file "$tmp/secret" --port "$MOD_PORT" \
               --pairs 2 --duration 0.3 >/dev/null 2>"$tmp/smoke.err" &&
           $PIN_GEN "$LOADGEN" --secret-file "$tmp/secret" --port "$MOD_PORT" \
               --pairs 2 --duration 0.3 --path binary >/dev/null 2>>"$tmp/smoke.err"
        then
            MOD_OK=1
            log "nginx module relay workers $MOD_PIDS port $MOD_PORT"
        else
            log "nginx module relay fails the smoke run: $(head -2 "$tmp/smoke.err" | tr '\n' ' ')"
            echo "module_smoke_error=$(head -1 "$tmp/smoke.err")" >> "$tmp/env.txt"
        fi
    else
        log "nginx with the module did not start: $(cat "$tmp/ngx1/logs/startup.log" 2>/dev/null | head -2)"
        echo "module_smoke_error=nginx did not start with the module" >> "$tmp/env.txt"
    fi
else
    echo "module_smoke_error=module not built" >> "$tmp/env.txt"
fi
echo "module_ok=$MOD_OK" >> "$tmp/env.txt"

# smoke_ok PORT [--tls]: one pair, both paths, passes the generator's checks
smoke_ok() {
    $PIN_GEN "$LOADGEN" --secret-file "$tmp/secret" --port "$1" ${2:-} \
        --pairs 2 --duration 0.3 >/dev/null 2>"$tmp/smoke.err" &&
    $PIN_GEN "$LOADGEN" --secret-file "$tmp/secret" --port "$1" ${2:-} \
        --pairs 2 --duration 0.3 --path binary >/dev/null 2>>"$tmp/smoke.err"
}

# A second build of the module (the tree before a change), same run.
OLD_OK=0
if [ $MOD_OK = 1 ] && [ -n "$CNX_MODULE_OLD" ]; then
    OLD_PORT=$(free_port)
    if NGX_SO=$CNX_MODULE_OLD nginx_start "$tmp/ngx-old" 1 relay "$OLD_PORT" &&
       wait_port "$OLD_PORT" && smoke_ok "$OLD_PORT"; then
        OLD_OK=1
        OLD_PIDS=$(nginx_workers "$tmp/ngx-old")
        log "old module relay workers $OLD_PIDS port $OLD_PORT"
    else
        log "old module ($CNX_MODULE_OLD) fails to start or the smoke run"
    fi
    echo "module_old=${CNX_MODULE_OLD_LABEL:-$(basename "$CNX_MODULE_OLD")} ok=$OLD_OK" >> "$tmp/env.txt"
fi

# relays[] = "name port pids" for the comparisons
relays=("node $NODE_PORT $NODE_PID")
[ $GO_OK = 1 ] && relays+=("go $GO_PORT $GO_PID")
[ $MOD_OK = 1 ] && relays+=("module $MOD_PORT $MOD_PIDS")
[ $OLD_OK = 1 ] && relays+=("module-old $OLD_PORT $OLD_PIDS")

# 1. messages per relay CPU-second
if want msgs; then
    for (( r=1; r<=runs; r++ )); do
        for size in 64 200 4096; do
            for path in json binary; do
                for rel in "${relays[@]}"; do
                    set -- $rel
                    run "test=msgs relay=$1 run=$r" --mode msgs --port "$2" \
                        --pids "$3" --path "$path" --size "$size" \
                        --pairs 20 --window 128 --duration "$dur"
                done
            done
        done
    done
fi

# 1b. system calls per relayed message (strace -c on the relay during a
# separate msgs run; strace slows the relay, so no rate is taken from it)
if want syscalls && command -v strace >/dev/null; then
    for rel in "${relays[@]}"; do
        set -- $rel
        sargs=()
        for p in ${3//,/ }; do sargs+=(-p "$p"); done
        strace -c -f -o "$tmp/strace-$1.txt" "${sargs[@]}" 2>/dev/null &
        SPID=$!
        sleep 0.5
        line=$($PIN_GEN "$LOADGEN" --secret-file "$tmp/secret" --mode msgs \
            --port "$2" --path json --size 200 --pairs 20 --window 128 \
            --duration 1 2>/dev/null)
        kill -INT "$SPID" 2>/dev/null
        wait "$SPID" 2>/dev/null
        m=$(sed -n 's/.* msgs=\([0-9]*\) .*/\1/p' <<<"$line")
        [ -n "$m" ] && [ "$m" -gt 0 ] || continue
        awk -v relay="$1" -v m="$m" '
            # % time, seconds, usecs/call, calls, [errors], syscall
            NF >= 5 && $4 ~ /^[0-9]+$/ && $NF ~ /^[a-z_0-9]+$/ && $NF != "total" {
                calls[$NF] = $4 }
            END {
                printf "test=syscalls relay=%s ok=1 msgs=%d", relay, m
                for (k in calls) printf " %s=%.3f", k, calls[k] / m
                printf " errors=0\n" }' "$tmp/strace-$1.txt" >> "$raw"
        grep "^test=syscalls relay=$1" "$raw" | sed 's/^/bench: /' >&2
    done
fi

# 2. bulk: 64 KiB messages; and nginx proxy_pass as the byte-moving ceiling
if want bulk; then
    SINK_PORT=$(free_port)
    PROXY_PORT=$(free_port)
    PROXY_OK=0
    if nginx_start "$tmp/proxy" 1 proxy "$PROXY_PORT" "$SINK_PORT"; then
        PROXY_PIDS=$(nginx_workers "$tmp/proxy")
        PROXY_OK=1
    fi
    for (( r=1; r<=runs; r++ )); do
        for path in binary json; do
            for rel in "${relays[@]}"; do
                set -- $rel
                run "test=bulk relay=$1 run=$r" --mode msgs --port "$2" \
                    --pids "$3" --path "$path" --size 65536 --pairs 4 \
                    --window 8 --duration "$dur"
            done
        done
        if [ $PROXY_OK = 1 ]; then
            run "test=bulk relay=proxy run=$r" --mode raw --port "$PROXY_PORT" \
                --sink-port "$SINK_PORT" --pids "$PROXY_PIDS" --size 65536 \
                --pairs 4 --window 8 --duration "$dur"
        fi
    done
    [ $PROXY_OK = 1 ] && nginx_stop "$tmp/proxy"

    # magic-wormhole's transit relay (Debian magic-wormhole-transit-relay):
    # pairs two TCP connections by token, then copies raw bytes.
    TWISTD=$(command -v twistd3 || command -v twistd || true)
    if [ -n "$TWISTD" ] && /usr/bin/python3 -c 'import wormhole_transit_relay' 2>/dev/null; then
        WH_PORT=$(free_port)
        timed wormhole $PIN_RELAY "$TWISTD" -n --pidfile= transitrelay \
            --port "tcp:$WH_PORT:interface=127.0.0.1" > "$tmp/wormhole.log" 2>&1
        WH_PID=$TIMED_PID
        if wait_port "$WH_PORT"; then
            for (( r=1; r<=runs; r++ )); do
                run "test=bulk relay=wormhole run=$r" --mode raw --wormhole \
                    --port "$WH_PORT" --pids "$WH_PID" --size 65536 \
                    --pairs 4 --window 8 --duration "$dur"
            done
        else
            log "transit relay did not start: $(tail -2 "$tmp/wormhole.log")"
        fi
        node_stop "$WH_PID"
        echo "wormhole=$(dpkg-query -W -f '${Version}' magic-wormhole-transit-relay 2>/dev/null)" >> "$tmp/env.txt"
    else
        log "magic-wormhole-transit-relay not installed: skipped"
        echo "wormhole=not installed" >> "$tmp/env.txt"
    fi
fi

# 3. pairing latency, idle relay and under a steady load (10 pairs sending
# 200 B JSON DATA at 40,000 messages/s in total: the generator stays well
# below a core, so its own scheduling does not dominate the latency)
if want pair; then
    if [ $quick = 1 ]; then np=125; else np=250; fi
    for (( r=1; r<=runs; r++ )); do
        for rel in "${relays[@]}"; do
            set -- $rel
            run "test=pair relay=$1 load=idle run=$r" --mode pair --port "$2" \
                --pids "$3" --pairs "$np" --joins 4 \
                --lat-out "$tmp/lat-$1-idle-$r.txt"
            run "test=pair relay=$1 load=busy run=$r" --mode pair --port "$2" \
                --pids "$3" --pairs "$np" --joins 4 --load-pairs 10 --rate 40000 \
                --lat-out "$tmp/lat-$1-busy-$r.txt"
            # The same idle measurement with the relay and the generator in
            # the real-time class (SCHED_FIFO) for the few seconds it takes,
            # so that the other work on this shared machine cannot preempt
            # them: what the relay itself adds.  Reported beside, never
            # instead of, the run above.
            if [ "$(id -u)" = 0 ] && command -v chrt >/dev/null; then
                rt_ok=1
                for p in ${3//,/ }; do
                    chrt -a -f -p 10 "$p" 2>/dev/null || rt_ok=0
                done
                if [ $rt_ok = 1 ]; then
                    PIN_GEN_SAVE=$PIN_GEN
                    PIN_GEN="chrt -f 10 $PIN_GEN"
                    run "test=pair relay=$1 load=idle-rt run=$r" --mode pair \
                        --port "$2" --pids "$3" --pairs "$np" --joins 4 \
                        --lat-out "$tmp/lat-$1-idle-rt-$r.txt"
                    run "test=pair relay=$1 load=busy-rt run=$r" --mode pair \
                        --port "$2" --pids "$3" --pairs "$np" --joins 4 \
                        --load-pairs 10 --rate 40000 \
                        --lat-out "$tmp/lat-$1-busy-rt-$r.txt"
                    PIN_GEN=$PIN_GEN_SAVE
                fi
                for p in ${3//,/ }; do
                    chrt -a -o -p 0 "$p" 2>/dev/null
                done
            fi
        done
    done
fi

# 4. memory per idle socket and per room: fresh relay processes
if want idle; then
    node_stop "$NODE_PID"
    for count in 1000 10000; do
        node_start P PORT "node-idle-$count"
        run "test=idle relay=node count=$count run=1" --mode idle \
            --port "$PORT" --pids "$P" --count "$count"
        node_stop "$P"
        if [ $GO_OK = 1 ]; then
            go_start P PORT "go-idle-$count"
            run "test=idle relay=go count=$count run=1" --mode idle \
                --port "$PORT" --pids "$P" --count "$count"
            node_stop "$P"
        fi
        if [ $MOD_OK = 1 ]; then
            PORT=$(free_port)
            if nginx_start "$tmp/ngx-idle-$count" 1 relay "$PORT"; then
                wait_port "$PORT"
                run "test=idle relay=module count=$count run=1" --mode idle \
                    --port "$PORT" --pids "$(nginx_workers "$tmp/ngx-idle-$count")" \
                    --count "$count"
                nginx_stop "$tmp/ngx-idle-$count"
            fi
            # the same after 100 pairs (200 sockets) each moved one 1 MiB
            # binary message each way: per socket once all are idle again
            PORT=$(free_port)
            if [ $count = 10000 ] &&
               nginx_start "$tmp/ngx-big-$count" 1 relay "$PORT"; then
                wait_port "$PORT"
                run "test=idlebig relay=module count=$count run=1" --mode idle \
                    --port "$PORT" --pids "$(nginx_workers "$tmp/ngx-big-$count")" \
                    --count "$count" --path binary --big-pairs 100
                nginx_stop "$tmp/ngx-big-$count"
            fi
        fi
    done
fi

# 5. scaling with worker_processes (the 2-core machine bounds this)
if want workers && [ $MOD_OK = 1 ]; then
    for w in 1 2 4; do
        PORT=$(free_port)
        nginx_start "$tmp/ngx-w$w" "$w" relay "$PORT" || continue
        wait_port "$PORT"
        WP=$(nginx_workers "$tmp/ngx-w$w")
        for (( r=1; r<=runs; r++ )); do
            # unpinned generator: the workers float over both CPUs
            PIN_GEN_SAVE=$PIN_GEN; PIN_GEN=$NICE
            run "test=workers relay=module workers=$w run=$r" --mode msgs \
                --port "$PORT" --pids "$WP" --path json --size 200 \
                --pairs 40 --window 128 --duration "$dur"
            # every pair split across the two workers (--split re-pairs
            # the registered sockets by the worker that holds them)
            [ "$w" = 2 ] &&
                run "test=split relay=module workers=2 run=$r" --mode msgs \
                    --split --port "$PORT" --pids "$WP" --path json \
                    --size 200 --pairs 40 --window 128 --duration "$dur"
            PIN_GEN=$PIN_GEN_SAVE
        done
        nginx_stop "$tmp/ngx-w$w"
    done
fi

# 5b. wss: the relays behind TLS (nginx `listen ... ssl`, Go crypto/tls,
# Node https), the generator speaking TLS through OpenSSL.  A throwaway
# P-256 certificate; the generator does not verify it (127.0.0.1 only).
if want tls; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 1 \
        -subj /CN=127.0.0.1 2>/dev/null
    chmod 600 "$tmp/key.pem"
    tls_relays=()
    node_start TN_PID TN_PORT node-tls --cert "$tmp/cert.pem" --key "$tmp/key.pem"
    smoke_ok "$TN_PORT" --tls && tls_relays+=("node $TN_PORT $TN_PID")
    if [ $GO_OK = 1 ]; then
        go_start TG_PID TG_PORT go-tls -cert "$tmp/cert.pem" -key "$tmp/key.pem"
        smoke_ok "$TG_PORT" --tls && tls_relays+=("go $TG_PORT $TG_PID")
    fi
    if [ $MOD_OK = 1 ]; then
        TM_PORT=$(free_port)
        if NGX_TLS=1 nginx_start "$tmp/ngx-tls" 1 relay "$TM_PORT" &&
           wait_port "$TM_PORT" && smoke_ok "$TM_PORT" --tls; then
            tls_relays+=("module $TM_PORT $(nginx_workers "$tmp/ngx-tls")")
        else
            log "module relay over TLS fails: $(head -2 "$tmp/smoke.err" | tr '\n' ' ')"
        fi
    fi
    for (( r=1; r<=runs; r++ )); do
        for rel in "${tls_relays[@]}"; do
            set -- $rel
            run "test=tls relay=$1 run=$r" --tls --mode msgs --port "$2" \
                --pids "$3" --path json --size 200 --pairs 20 --window 128 \
                --duration "$dur"
            run "test=tls relay=$1 run=$r" --tls --mode msgs --port "$2" \
                --pids "$3" --path binary --size 65536 --pairs 4 --window 8 \
                --duration "$dur"
        done
    done
    node_stop "$TN_PID"
    [ $GO_OK = 1 ] && node_stop "$TG_PID"
    [ $MOD_OK = 1 ] && nginx_stop "$tmp/ngx-tls"
fi

# 6. session layer (v2 handshakes, AEAD vs OpenSSL EVP)
if want session && [ -x "$SESSION_BENCH" ]; then
    for (( r=1; r<=runs; r++ )); do
        qarg=""
        [ $quick = 1 ] && qarg=--quick
        $PIN_GEN "$SESSION_BENCH" $qarg 2>"$tmp/sb.err" |
            sed "s/^/test=session run=$r ok=1 /" >> "$raw" ||
            log "session bench failed: $(head -1 "$tmp/sb.err")"
    done
fi

# 7. a TCP stream end to end: a byte source -> clawnexus-link connect -> relay
# (module, binary frames, session v2) -> clawnexus-link serve -> a sink that
# counts bytes.  The source writes zeros in 1 MiB blocks (head -c would make
# 250,000 4 KiB writes per GB on the same 2 CPUs); its CPU time is reported
# with the others.
proc_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
if want stream; then
    # the sink: counts the bytes of the first connection that sends some
    cat > "$tmp/sink.py" <<'PY'
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
buf = bytearray(1 << 20)
n = 0
while n == 0:          # skip probes that connect and close
    c, _ = s.accept()
    t0 = None
    while True:
        k = c.recv_into(buf)
        if k == 0:
            break
        if t0 is None:
            t0 = time.monotonic()
            c0 = time.process_time()
        n += k
    c.close()
print("bytes=%d secs=%.4f cpu=%.3f" % (n, time.monotonic() - t0,
                                     time.process_time() - c0), flush=True)
PY
    # 2 GB: a run of two seconds or more measures the steady state (500 MB
    # runs of half a second varied by 8 points of the ratio from set to set)
    if [ $quick = 1 ]; then sbytes=500000000; else sbytes=2000000000; fi
    stream_pairs=$runs
    hz=$(getconf CLK_TCK)
    # the source: N zero bytes in 1 MiB writes to stdout ("-") or to a TCP
    # port; its CPU time (interpreter start-up not counted) goes to a file
    cat > "$tmp/source.py" <<'PY'
import os, socket, sys, time
n = int(sys.argv[1])
block = memoryview(bytes(1 << 20))
if sys.argv[3] == "-":
    put = lambda b: os.write(1, b)
else:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[3])))
    put = s.send
c0 = time.process_time()
try:
    while n > 0:
        n -= put(block[:min(n, len(block))])
finally:
    with open(sys.argv[2], "w") as f:
        f.write("%.3f\n" % (time.process_time() - c0))
PY
    # sink_start: the sink on a free port $SP (pid $SINK_PID)
    sink_start() {
        SP=$(free_port)
        python3 "$tmp/sink.py" "$SP" > "$tmp/sink.out" &
        SINK_PID=$!
        pids_to_kill+=("$SINK_PID")
        wait_port "$SP"
    }
    # sink_wait: until the sink has printed its count, then its figures
    # in the caller's got, secs, kcpu (the sink's CPU) and qcpu (the
    # source's); sink_stop: the sink stopped, its files gone
    sink_wait() {
        local i
        for (( i=0; i<200; i++ )); do
            [ -s "$tmp/sink.out" ] && break
            sleep 0.05
        done
        got=$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' "$tmp/sink.out")
        secs=$(sed -n 's/.*secs=\([0-9.]*\).*/\1/p' "$tmp/sink.out")
        kcpu=$(sed -n 's/.*cpu=\([0-9.]*\).*/\1/p' "$tmp/sink.out")
        qcpu=$(cat "$tmp/src.cpu" 2>/dev/null || echo 0)
    }
    sink_stop() {
        node_stop "$SINK_PID"
        rm -f "$tmp/sink.out" "$tmp/src.cpu"
    }
    LINK=${CNX_LINK_BIN:-$build/plugins/link/clawnexus-link}
    # As in wg-bench.sh: the build tree's libtool wrapper would charge a
    # shell's start-up (about 10 ms) to connect but not to serve, which is
    # measured from after its start; use the binary behind it.
    LINK_LD=${LD_LIBRARY_PATH:-}
    if [ -x "$LINK" ] && head -c 2 "$LINK" | grep -q '#!' &&
       [ -x "$(dirname "$LINK")/.libs/$(basename "$LINK")" ]; then
        libpath=$(sed -n 's/^ *LD_LIBRARY_PATH="\(.*\):\$LD_LIBRARY_PATH"$/\1/p' "$LINK" | head -1)
        LINK_LD="$libpath${LINK_LD:+:$LINK_LD}"
        LINK="$(dirname "$LINK")/.libs/$(basename "$LINK")"
    fi
    # stream_run R: one run through a relay of its own, started for this
    # run as the chain's proxies are for theirs ($NICE, not pinned), so
    # that both shapes share the CPUs alike and each run gets a fresh
    # placement of its processes
    stream_run() {
        local r=$1 rd=$tmp/ngx-stream.$1 port rpid m0 m1 s0 s1 crc got secs path
        local cu cs rcpu scpu ccpu kcpu qcpu i
        port=$(free_port)
        if ! { NGX_PIN=$NICE nginx_start "$rd" 1 relay "$port" && wait_port "$port"; }; then
            printf 'test=stream run=%d ok=0 bytes=0 errors=1 err="relay did not start"\n' "$r" >> "$raw"
            nginx_stop "$rd"
            return
        fi
        rpid=$(nginx_workers "$rd")
        sink_start
        # emptied here: the child opens its log only when it runs, and
        # the previous run's "serving" must not count
        : > "$tmp/serve.log"
        HOME=$tmp/linkhome LD_LIBRARY_PATH=$LINK_LD \
            "$LINK" serve --relay "ws://127.0.0.1:$port/relay" \
            --id "srv$r.claw" --secret-file "$tmp/secret" \
            --forward "127.0.0.1:$SP" >> "$tmp/serve.log" 2>&1 &
        SERVE_PID=$!
        pids_to_kill+=("$SERVE_PID")
        for (( i=0; i<100; i++ )); do
            grep -q serving "$tmp/serve.log" && break
            sleep 0.05
        done
        m0=$(proc_ticks "$rpid")
        s0=$(proc_ticks "$SERVE_PID")
        python3 "$tmp/source.py" "$sbytes" "$tmp/src.cpu" - |
            HOME=$tmp/linkhome LD_LIBRARY_PATH=$LINK_LD \
            /usr/bin/time -f '%U %S' -o "$tmp/conn.time" \
            timeout 120 "$LINK" connect --relay "ws://127.0.0.1:$port/relay" \
            --id "cli$r.claw" --secret-file "$tmp/secret" "srv$r.claw" \
            > /dev/null 2> "$tmp/conn.err"
        crc=$?
        sink_wait
        m1=$(proc_ticks "$rpid")
        s1=$(proc_ticks "$SERVE_PID")
        path=$(head -1 "$tmp/conn.err" | grep -o 'relay\|direct' | head -1)
        path="${path:-unknown}_$(head -1 "$tmp/conn.err" | grep -o 'encrypted v[12]' | head -1 | cut -d' ' -f2)"
        if [ "$crc" = 0 ] && [ "${got:-0}" = "$sbytes" ]; then
            read -r cu cs < "$tmp/conn.time"
            rcpu=$(echo "($m1 - $m0) / $hz" | bc -l)
            scpu=$(echo "($s1 - $s0) / $hz" | bc -l)
            ccpu=$(echo "$cu + $cs" | bc -l)
            printf 'test=stream run=%d ok=1 bytes=%s secs=%s gbps=%.3f relay_cpu=%.2f serve_cpu=%.2f connect_cpu=%.2f sink_cpu=%.2f source_cpu=%.2f cpu_per_gb=%.2f path=%s errors=0\n' \
                "$r" "$got" "$secs" "$(echo "$got / $secs / 1000000000" | bc -l)" \
                "$rcpu" "$scpu" "$ccpu" "$kcpu" "$qcpu" \
                "$(echo "($rcpu + $scpu + $ccpu + $kcpu + $qcpu) * 1000000000 / $got" | bc -l)" \
                "$path" >> "$raw"
            log "stream run $r: $got bytes in $secs s"
        else
            printf 'test=stream run=%d ok=0 bytes=%s errors=1 err="%s"\n' "$r" \
                "${got:-0}" "$(tail -1 "$tmp/conn.err" | tr -d '"')" >> "$raw"
            log "stream run $r failed: $(tail -2 "$tmp/conn.err" | tr '\n' ' ')"
        fi
        node_stop "$SERVE_PID"
        sink_stop
        nginx_stop "$rd"
    }

    # chain_run R: the same shape with nothing of ours: source -> three
    # stock nginx stream proxies (each its own process, proxy_buffer_size
    # 1m) -> sink.  The same number of user-space hops and kernel copies
    # per byte, no WebSocket framing, no encryption: what moving the bytes
    # alone costs on this machine.
    chain_run() {
        local r=$1 next h hp hd hops=() wpids=() p t0 t1 got secs pcpu kcpu qcpu
        sink_start
        next=$SP
        for h in 3 2 1; do
            hp=$(free_port)
            hd=$tmp/rawhop$h.$r
            mkdir -p "$hd/logs"
            printf '%s\n' "load_module $NGINX_MODULES/ngx_stream_module.so;" \
                "worker_processes 1;" "events { worker_connections 64; }" \
                "stream { server { listen 127.0.0.1:$hp;" \
                "  proxy_buffer_size 1m; proxy_pass 127.0.0.1:$next; } }" \
                > "$hd/nginx.conf"
            $NICE "$NGINX_BIN" -p "$hd" -c nginx.conf -e "$hd/logs/error.log" \
                -g "pid $hd/nginx.pid; error_log $hd/logs/error.log warn;" \
                > "$hd/logs/startup.log" 2>&1 || break
            nginx_prefixes+=("$hd")
            wait_port "$hp"
            hops+=("$hd")
            next=$hp
        done
        if [ ${#hops[@]} = 3 ]; then
            for hd in "${hops[@]}"; do
                wpids+=($(pgrep -P "$(cat "$hd/nginx.pid")"))
            done
            t0=0
            for p in "${wpids[@]}"; do t0=$(( t0 + $(proc_ticks "$p") )); done
            python3 "$tmp/source.py" "$sbytes" "$tmp/src.cpu" "$next"
            sink_wait
            t1=0
            for p in "${wpids[@]}"; do t1=$(( t1 + $(proc_ticks "$p") )); done
            if [ "${got:-0}" = "$sbytes" ]; then
                pcpu=$(echo "($t1 - $t0) / $hz" | bc -l)
                printf 'test=streamraw run=%d ok=1 bytes=%s secs=%s gbps=%.3f proxies_cpu=%.2f sink_cpu=%.2f source_cpu=%.2f cpu_per_gb=%.2f errors=0\n' \
                    "$r" "$got" "$secs" "$(echo "$got / $secs / 1000000000" | bc -l)" \
                    "$pcpu" "$kcpu" "$qcpu" \
                    "$(echo "($pcpu + $kcpu + $qcpu) * 1000000000 / $got" | bc -l)" >> "$raw"
                log "raw proxy chain run $r: $got bytes in $secs s"
            else
                printf 'test=streamraw run=%d ok=0 bytes=%s errors=1\n' "$r" "${got:-0}" >> "$raw"
            fi
        fi
        for hd in "${hops[@]}"; do nginx_stop "$hd"; done
        sink_stop
    }

    # The two shapes alternate run by run, so that both meet the same
    # state of the machine; a run of each per pair, STREAM_PAIRS pairs.
    mkdir -p "$tmp/linkhome"
    for (( r=1; r<=stream_pairs; r++ )); do
        if [ $MOD_OK = 1 ] && [ -x "$LINK" ]; then
            stream_run "$r"
        elif [ "$r" = 1 ]; then
            echo "stream_error=needs the module relay and clawnexus-link" >> "$tmp/env.txt"
        fi
        chain_run "$r"
    done
fi

# 8. clawnexus-wg with 1,000 peers, userspace backend (wireguard-go)
if want wg; then
    CNX_WG_BIN=$build/wg-bridge/clawnexus-wg
    if [ -x "$CNX_WG_BIN" ] && [ "$(id -u)" = 0 ] && command -v wireguard-go >/dev/null &&
       [ -c /dev/net/tun ]; then
        bash "$src/bench/wg-bench.sh" "$CNX_WG_BIN" "$runs" 1000 >> "$raw" 2>"$tmp/wg.err" ||
            { log "wg bench failed: $(head -2 "$tmp/wg.err" | tr '\n' ' ')";
              echo "wg_error=$(head -1 "$tmp/wg.err")" >> "$tmp/env.txt"; }
        grep '^test=wg' "$raw" | tail -1 | sed 's/^/bench: /' >&2
    else
        log "wg benchmark skipped (needs root, wireguard-go, /dev/net/tun and $CNX_WG_BIN)"
        echo "wg_error=skipped: needs root, wireguard-go, /dev/net/tun and clawnexus-wg" >> "$tmp/env.txt"
    fi
fi

echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$tmp/env.txt"
# peak RSS of the long-lived module worker, and the whole-process figures
[ $MOD_OK = 1 ] && echo "module_worker_vmhwm_kb=$(for p in ${MOD_PIDS//,/ }; do
    sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$p/status"; done | paste -sd+ - | bc)" >> "$tmp/env.txt"
node_stop "$NODE_PID" 2>/dev/null
[ $GO_OK = 1 ] && node_stop "$GO_PID" 2>/dev/null
for f in "$tmp"/time-*.txt; do
    [ -f "$f" ] || continue
    n=$(basename "$f" .txt); n=${n#time-}
    printf 'timev_%s=user:%s,sys:%s,maxrss_kb:%s,elapsed:%s\n' "$n" \
        "$(sed -n 's/.*User time (seconds): //p' "$f")" \
        "$(sed -n 's/.*System time (seconds): //p' "$f")" \
        "$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$f")" \
        "$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$f")" >> "$tmp/env.txt"
done
[ $MOD_OK = 1 ] && cat "$tmp/ngx1/logs/error.log" > "$tmp/module-error.log" 2>/dev/null

# --- report ------------------------------------------------------------------
cp "$raw" "$out/raw.txt"
cp "$tmp/env.txt" "$out/env.txt"
cat "$tmp"/lat-*.txt >/dev/null 2>&1 && {
    mkdir -p "$out/latency"
    rm -f "$out"/latency/*.txt
    for f in "$tmp"/lat-*.txt; do
        cp "$f" "$out/latency/"
    done
}
python3 "$src/bench/report.py" "$out" || die "report failed"
if command -v gnuplot >/dev/null; then
    (cd "$out" && gnuplot "$src/bench/plots.gp") || log "gnuplot failed"
else
    log "gnuplot not found: no plots"
fi
log "results in $out/results.md"
