#!/bin/bash
# Runs every libFuzzer target of tests/fuzz for a bounded time on a copy of
# its seed corpus, after replaying its regression inputs (crashes found
# earlier).  Any crash, sanitizer report, leak or timeout fails the run.
#
#   make fuzz-smoke                 FUZZ_SMOKE_SECONDS per target (default 6)
#   make fuzz FUZZ_SECONDS=600      longer runs; the growing corpus is kept
#                                   in the build tree (tests/fuzz/grown/)
#   FUZZ_TARGETS="fuzz_json fuzz_ws" limits the run to some targets;
#   FUZZ_SEED=N (default 1, 0 = random) seeds the smoke run.
#
# The source tree is never written: seeds are copied, and crash inputs land
# in the build tree under tests/fuzz/artifacts/<target>/.
. "$abs_top_srcdir/tests/lib.sh"

: "${FUZZ_SMOKE_SECONDS:=6}"
: "${FUZZ_MODE:=smoke}"          # smoke | long
: "${FUZZ_TARGETS:=}"
# The smoke run in make check uses a fixed seed, so that it explores the
# same inputs on every machine (a slower machine explores a prefix of
# them); FUZZ_SEED=0 asks libFuzzer for a random one.  Long runs are random.
: "${FUZZ_SEED:=1}"

src="$abs_top_srcdir/tests/fuzz"
bld="$abs_top_builddir/tests/fuzz"

case "$FUZZ_SMOKE_SECONDS" in
    ''|*[!0-9]*) cnx_fail "FUZZ_SMOKE_SECONDS must be a number of seconds" ;;
esac

# The build writes the list of targets it knows (tests/fuzz/targets).
if [ -z "$FUZZ_TARGETS" ]; then
    [ -f "$bld/targets" ] ||
        cnx_fail "$bld/targets missing: run make fuzz-build"
    FUZZ_TARGETS=$(tr '\n' ' ' < "$bld/targets")
fi
[ -n "$FUZZ_TARGETS" ] || cnx_fail "no fuzz targets"

cnx_tmpdir tmp

# Leaks are findings too; a slow input (10 s) is reported as a timeout.
ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:${ASAN_OPTIONS:-}"
export ASAN_OPTIONS
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
common=(-error_exitcode=1 -timeout_exitcode=1 -timeout=10 -rss_limit_mb=2048)

failed=""
for t in $FUZZ_TARGETS; do
    bin="$bld/$t"
    [ -x "$bin" ] || cnx_fail "$t is not built ($bin): run make fuzz-build"
    art="$bld/artifacts/$t"
    mkdir -p "$art"

    # 1. Regression inputs: each must run to completion.
    reg=()
    if [ -d "$src/regress/$t" ]; then
        for f in "$src/regress/$t"/*; do
            [ -f "$f" ] && reg+=("$f")
        done
    fi
    if [ ${#reg[@]} -gt 0 ]; then
        if ! "$bin" "${common[@]}" "${reg[@]}" \
                > "$tmp/$t.regress.log" 2>&1; then
            cat "$tmp/$t.regress.log" >&2
            cnx_log "$t: a regression input fails again"
            failed="$failed $t"
            continue
        fi
    fi

    # 2. Bounded fuzzing on a writable copy of the seeds.
    if [ "$FUZZ_MODE" = long ]; then
        work="$bld/grown/$t"
    else
        work="$tmp/corpus-$t"
    fi
    mkdir -p "$work"
    if [ -d "$src/corpus/$t" ]; then
        cp -R "$src/corpus/$t/." "$work/"
        chmod -R u+w "$work"
    fi
    dict=()
    [ -f "$src/dict/$t.dict" ] && dict=(-dict="$src/dict/$t.dict")
    seed=()
    if [ "$FUZZ_MODE" = smoke ] && [ "$FUZZ_SEED" != 0 ]; then
        seed=(-seed="$FUZZ_SEED")
    fi
    start=$(date +%s)
    if "$bin" "${common[@]}" "${dict[@]}" "${seed[@]}" \
            -max_total_time="$FUZZ_SMOKE_SECONDS" \
            -print_final_stats=1 -artifact_prefix="$art/" \
            "$work" > "$tmp/$t.log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$t.log")
        cov=$(grep -o 'cov: [0-9]*' "$tmp/$t.log" | tail -n 1)
        files=$(ls "$work" | wc -l)
        cnx_log "$t: ok, ${runs:-?} runs in $(( $(date +%s) - start )) s," \
            "$cov, corpus $files files"
    else
        tail -n 60 "$tmp/$t.log" >&2
        for a in "$art"/*; do
            [ -f "$a" ] || continue
            cnx_log "$t: crash input $a ($(stat -c %s "$a") bytes):"
            od -A d -t x1 -v "$a" | head -n 20
        done
        cnx_log "$t: FAILED; add the input to tests/fuzz/regress/$t/ once fixed"
        failed="$failed $t"
    fi
done

[ -z "$failed" ] || cnx_fail "fuzz targets failed:$failed"
cnx_log "all targets passed:$FUZZ_TARGETS"
