# Sourced by the benchmark scripts (run.sh, cluster.sh, link-streams.sh):
# where the tools are, how relays and the generator are pinned, free ports
# and the relay's HS256 secret.  Every variable can be set from outside.

src=${abs_top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
build=${abs_top_builddir:-$src}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
NGINX_MODULES=${NGINX_MODULES:-/usr/lib/nginx/modules}
CNX_MODULE=${CNX_MODULE:-$build/nginx-module/ngx_stream_clawnexus_module.so}
LOADGEN=${LOADGEN:-$build/bench/cnx-loadgen}

# Relays on CPU 1 and the generator on CPU 0 when there are two CPUs, and
# (as root) a higher priority than background builds, so that a shared
# machine disturbs the figures less.  Both are reported by run.sh.
NICE=""
[ "$(id -u)" = 0 ] && NICE="nice -n -10"
PIN_RELAY="$NICE"
PIN_GEN="$NICE"
if [ "$(nproc)" -ge 2 ]; then
    PIN_RELAY="$NICE taskset -c 1"
    PIN_GEN="$NICE taskset -c 0"
fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_secret FILE: a fresh random HS256 secret, mode 0600, no newline
bench_secret() {
    (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '\n=' > "$1")
}
