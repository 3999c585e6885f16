# Helpers for the relay cluster tests (sourced after tests/lib.sh and
# relay-lib.sh): one redis-server and several nginx nodes on loopback
# ports, each started, killed and restarted by PID.

# cluster_need_redis: Debian's redis-server and redis-cli.
cluster_need_redis() {
    command -v redis-server >/dev/null 2>&1 ||
        cnx_skip "needs redis-server (scripts/install-deps installs it)"
    command -v redis-cli >/dev/null 2>&1 ||
        cnx_skip "needs redis-cli (package redis-tools)"
}

# cluster_setup PREFIX: what a cluster test needs (root, the module,
# websockets, Redis); a temporary $dir with a fresh $secret, a free
# Redis port in $rport.
cluster_setup() {
    relay_need_module
    cnx_need_root
    relay_need_websockets
    cluster_need_redis
    cnx_tmpdir dir
    relay_secret "$dir" "$1"
    rport=$(cnx_free_port)
}

# cluster_redis_start DIR PORT [PASSWORD]: redis-server in the foreground
# (no persistence), its PID in $redis_pid; stopped at exit.
cluster_redis_start() {
    local dir=$1 port=$2 pass=${3:-} i
    mkdir -p "$dir/redis"
    set -- --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --dir "$dir/redis" --logfile "$dir/redis/redis.log"
    [ -n "$pass" ] && set -- "$@" --requirepass "$pass"
    redis-server "$@" &
    redis_pid=$!
    cnx_on_exit "kill -9 $redis_pid"
    for (( i=0; i<100; i++ )); do
        cluster_cli "$port" "$pass" PING 2>/dev/null | grep -q PONG && return 0
        kill -0 "$redis_pid" 2>/dev/null || break
        sleep 0.05
    done
    cat "$dir/redis/redis.log" >&2
    cnx_fail "redis-server did not start on port $port"
}

# cluster_redis_kill: kill -9 the redis-server we started.
cluster_redis_kill() {
    kill -9 "$redis_pid" 2>/dev/null
    wait "$redis_pid" 2>/dev/null || true
}

# cluster_cli PORT PASSWORD ARGS...: one redis-cli command.
cluster_cli() {
    local port=$1 pass=$2
    shift 2
    if [ -n "$pass" ]; then
        REDISCLI_AUTH="$pass" redis-cli -p "$port" --no-auth-warning "$@"
    else
        redis-cli -p "$port" "$@"
    fi
}

# cluster_node_conf DIR RELAY_PORT REDIS_URL [EXTRA]: an nginx prefix in
# DIR with 2 workers, a relay on RELAY_PORT linked to REDIS_URL (none:
# without clawnexus_cluster), its clawnexus_status on RELAY_PORT's number
# in DIR/status.port, and EXTRA lines in the stream block.  Uses $secret
# (relay_secret).
cluster_node_conf() {
    local dir=$1 port=$2 url=$3 extra=${4:-} cluster="" status
    mkdir -p "$dir/logs"
    printf '%s' "$secret" > "$dir/relay.secret"
    chmod 600 "$dir/relay.secret"
    [ "$url" = none ] || cluster="clawnexus_cluster $url;"
    [ -s "$dir/status.port" ] || cnx_free_port > "$dir/status.port"
    status=$(cat "$dir/status.port")
    {
        cnx_nginx_conf_head 2 512
        cat <<CONF
user root;
stream {
    $cluster
    $extra
    server {
        listen 127.0.0.1:$port reuseport;
        clawnexus_relay;
        clawnexus_jwt_secret_file relay.secret;
    }
    server {
        listen 127.0.0.1:$status;
        clawnexus_status;
    }
}
CONF
    } > "$dir/nginx.conf"
}

# cluster_worker_pids DIR: the worker PIDs of the nginx in DIR.
cluster_worker_pids() {
    local master
    master=$(cnx_nginx_pid "$1") || return 0
    pgrep -P "$master" | tr '\n' ' '
}

# cluster_wait TIMEOUT CMD...: run CMD every 0.1 s until it succeeds or
# TIMEOUT seconds passed; returns CMD's last status.
cluster_wait() {
    local limit=$1 i
    shift
    for (( i=0; i<limit*10; i++ )); do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}

# cluster_channels PORT PASSWORD: the number of worker channels someone
# listens to.
cluster_channels() {
    cluster_cli "$1" "$2" PUBSUB CHANNELS 'cnx:w:*' | grep -c . || true
}

# cluster_expect_channels PORT PASSWORD N
cluster_expect_channels() {
    [ "$(cluster_channels "$1" "$2")" = "$3" ]
}

# cluster_metric DIR LINE_START: the value of the first /metrics line of
# the node in DIR that starts with LINE_START ("" if none).
cluster_metric() {
    curl -s --max-time 5 "http://127.0.0.1:$(cat "$1/status.port")/metrics" |
        awk -v k="$2" 'index($0, k) == 1 { print $NF; exit }'
}
