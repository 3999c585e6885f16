#!/bin/bash
# Functional smoke of the benchmark tools (no timing is asserted): the load
# generator talks to the Node baseline relay on loopback on both DATA paths
# and in pairing and idle modes, and its delivery checks catch a relay that
# drops, duplicates, corrupts, reorders or echoes DATA.
. "$abs_top_srcdir/tests/lib.sh"

LOADGEN="$abs_top_builddir/bench/cnx-loadgen"
RELAY="$abs_top_srcdir/bench/baselines/node-relay.js"
export NODE_PATH="$abs_top_srcdir/tests/node/node_modules"

cnx_need_cmd node
[ -f "$NODE_PATH/ws/package.json" ] ||
    cnx_skip "needs the npm package ws in tests/node (scripts/install-deps installs it)"
[ -x "$LOADGEN" ] || cnx_fail "not built: $LOADGEN"

cnx_tmpdir dir
printf 'smoke-secret-%s' "$$" > "$dir/secret"

# start_relay [FAULT]: sets relay_pid and port
start_relay() {
    port=$(cnx_free_port)
    node "$RELAY" --port "$port" --secret-file "$dir/secret" \
        ${1:+--fault "$1"} > "$dir/relay-$port.log" 2>&1 &
    relay_pid=$!
    cnx_on_exit "kill $relay_pid"
    cnx_wait_port 127.0.0.1 "$port" ||
        { cat "$dir/relay-$port.log" >&2; cnx_fail "node relay did not listen"; }
}

lg() {
    "$LOADGEN" --port "$port" --secret-file "$dir/secret" --pids "$relay_pid" "$@"
}

start_relay
for path in json binary; do
    out=$(lg --path "$path" --pairs 3 --duration 0.3 2>"$dir/err") ||
        { cat "$dir/err" >&2; cnx_fail "generator failed on a correct relay ($path)"; }
    msgs=$(sed -n 's/.* msgs=\([0-9]*\) .*/\1/p' <<<"$out")
    [ -n "$msgs" ] && [ "$msgs" -gt 0 ] || cnx_fail "no DATA delivered ($path): $out"
    cnx_log "$path path: $msgs DATA delivered and checked"
done
out=$(lg --mode pair --pairs 5 --joins 2 2>"$dir/err") ||
    { cat "$dir/err" >&2; cnx_fail "pairing mode failed"; }
grep -q ' samples=10 ' <<<"$out" || cnx_fail "expected 10 pairing samples: $out"
out=$(lg --mode idle --count 40 2>"$dir/err") ||
    { cat "$dir/err" >&2; cnx_fail "idle mode failed"; }
grep -q ' sockets=40 rooms=20 ' <<<"$out" || cnx_fail "idle mode: $out"

# A wrong token is refused by the relay, and the generator says so.
printf 'another-secret' > "$dir/wrong"
if "$LOADGEN" --port "$port" --secret-file "$dir/wrong" --pairs 1 \
       --duration 0.2 > /dev/null 2>"$dir/err"; then
    cnx_fail "generator passed with tokens the relay refuses"
fi
grep -q 'AUTH_FAILED\|registered' "$dir/err" || { cat "$dir/err" >&2; cnx_fail "no reason given"; }
kill "$relay_pid"

# A faulty relay must fail the run, whatever the fault.
for fault in drop dup corrupt reorder echo; do
    start_relay "$fault"
    if lg --pairs 2 --duration 0.3 > "$dir/out" 2>"$dir/err"; then
        cat "$dir/out" >&2
        cnx_fail "generator did not notice a relay that does '$fault'"
    fi
    grep -q 'first error: .*DATA' "$dir/err" ||
        { cat "$dir/err" >&2; cnx_fail "fault '$fault' failed the run for another reason"; }
    cnx_log "fault '$fault' caught: $(sed -n 's/^cnx-loadgen: first error: //p' "$dir/err" | head -1)"
    kill "$relay_pid"
done
exit 0
