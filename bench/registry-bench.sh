#!/bin/bash
# Registry throughput and latency: POST /token, POST /register (renewal
# of an owned name, and first registrations of new names) against one
# nginx worker (so the figures are per worker core) with a database of
# 100,000 names, measured with wrk.  Plain HTTP on loopback: the registry's
# own cost, without TLS.
#
#   bench/registry-bench.sh [SECONDS] [CONNECTIONS]     (defaults 10, 16)
#
# Prints one line per endpoint: requests/s, requests per CPU-second of the
# worker (the per-core figure, robust to a busy machine), p50 and p99 as
# wrk saw them, and the p99 of nginx's $request_time (the server side,
# 1 ms resolution).  Needs root only for
# the worker user's database directory.
. "$abs_top_srcdir/tests/lib.sh"

secs=${1:-10}
conns=${2:-16}
names=${BENCH_NAMES:-100000}
cnx_need_cmd wrk sqlite3 python3
PYTHON=/usr/bin/python3
[ -f "$CNX_REGISTRY_MODULE" ] || cnx_fail "module not built: $CNX_REGISTRY_MODULE"

cnx_tmpdir dir
chmod 711 "$dir"
mkdir "$dir/db" "$dir/state"
chown nobody "$dir/db" 2>/dev/null || true
port=$(cnx_free_port)
printf '%s' "bench-secret-$$-$RANDOM$RANDOM" > "$dir/relay.secret"
chmod 600 "$dir/relay.secret"

cat > "$dir/nginx.conf" <<CONF
load_module $CNX_REGISTRY_MODULE;
worker_processes 1;
events { worker_connections 1024; }
error_log logs/error.log warn;
http {
    # the server side of each request: \$request_time (ms resolution)
    log_format rt '\$request_time';
    access_log logs/rt.log rt buffer=256k flush=1s;
    clawnexus_registry_rate_limit off off;
    server {
        listen 127.0.0.1:$port;
        location /clawnexus/ {
            clawnexus_registry;
            clawnexus_registry_db db/registry.db;
            clawnexus_registry_relay_hint relay.example:443;
            clawnexus_jwt_secret_file relay.secret;
        }
    }
}
CONF
cnx_nginx_start "$dir"
cnx_wait_port 127.0.0.1 "$port" || cnx_fail "nginx did not listen"

# 100,000 names owned by other keys (names are bytes: stored as BLOB)
sqlite3 "$dir/db/registry.db" "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL
    SELECT x + 1 FROM c WHERE x < $names) INSERT INTO names SELECT
    CAST('bench-' || x || '.claw' AS BLOB), randomblob(32), 0, 0 FROM c;" ||
    cnx_fail "cannot fill the database"

# signed bodies: a token request and a renewal for one owned name, and
# 20,000 first registrations of new names
"$PYTHON" - "$dir" "http://127.0.0.1:$port/clawnexus" <<'PY' || cnx_fail "cannot make requests"
import os, sys, json, urllib.request
sys.path.insert(0, os.environ["abs_top_srcdir"] + "/tests/integration")
import registry_check as rc
d, base = sys.argv[1], sys.argv[2]
k = rc.key(d + "/state", "bench")
def body(payload):
    return rc.body(k, json.dumps(payload, separators=(",", ":")))
reg = body({"claw_id": "owner", "metadata": {"software_version": "0.4.0"}})
req = urllib.request.Request(base + "/register", data=reg.encode(),
                             headers={"Content-Type": "application/json"})
assert json.load(urllib.request.urlopen(req))["record"]["name"] == "owner.claw"
open(d + "/register.body", "w").write(reg)
open(d + "/token.body", "w").write(body({"claw_id": "owner.claw"}))
with open(d + "/new.bodies", "w") as f:
    for i in range(20000):
        f.write(body({"claw_id": "new-%d" % i}) + "\n")
PY

cat > "$dir/one.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("BODY"))
wrk.body = f:read("*a")
f:close()
LUA
cat > "$dir/many.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies, i = {}, 0
for line in io.lines(os.getenv("BODY")) do bodies[#bodies + 1] = line end
request = function()
    i = i + 1
    return wrk.format(nil, nil, nil, bodies[(i - 1) % #bodies + 1])
end
LUA

worker=$(pgrep -P "$(cnx_nginx_pid "$dir")" | head -1)
[ -n "$worker" ] || cnx_fail "no nginx worker"
# CPU time of the worker (its thread-pool threads included), in ticks
cpu_ticks() { awk '{print $14 + $15}' "/proc/$worker/stat"; }
hz=$(getconf CLK_TCK)

# p99 of $request_time over the log lines after line $1 (in ms)
server_p99() {
    sleep 1.2                               # the log buffer's flush
    tail -n +"$(( $1 + 1 ))" "$dir/logs/rt.log" | sort -n |
        awk '{ v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1;
                                  printf "%.0fms", v[i] * 1000 }'
}

run() {  # run LABEL PATH SCRIPT BODY
    local out t0 t1 n l0
    sleep 1.2
    l0=$(wc -l < "$dir/logs/rt.log")
    t0=$(cpu_ticks)
    out=$(BODY=$4 wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$dir/$3" \
          "http://127.0.0.1:$port/clawnexus$2" 2>&1) ||
        { echo "$out" >&2; cnx_fail "wrk failed"; }
    t1=$(cpu_ticks)
    n=$(awk '/requests in/ {print $1}' <<< "$out")
    printf '%-24s %8s req/s %8s req/worker-CPU-s   p50 %-9s p99 %-9s server p99 %-5s (%s)\n' "$1" \
        "$(awk '/^Requests\/sec/ {printf "%d", $2}' <<< "$out")" \
        "$(awk -v n="$n" -v t=$((t1 - t0)) -v hz="$hz" 'BEGIN {printf "%d", t ? n * hz / t : 0}')" \
        "$(awk '$1 == "50%" {print $2}' <<< "$out")" \
        "$(awk '$1 == "99%" {print $2}' <<< "$out")" "$(server_p99 "$l0")" \
        "$(grep -Eo 'Non-2xx or 3xx responses: [0-9]+' <<< "$out" || echo 'all 200')"
}

echo "registry, 1 worker, $names names, wrk 1 thread, $conns connections, ${secs}s each"
run "POST /token"            /token    one.lua  "$dir/token.body"
run "POST /register (renew)" /register one.lua  "$dir/register.body"
run "POST /register (new)"   /register many.lua "$dir/new.bodies"
echo "names in the database: $(sqlite3 "$dir/db/registry.db" 'SELECT count(*) FROM names')"
cnx_nginx_check_log "$dir"
