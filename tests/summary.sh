#!/bin/sh
# Print one closing line for the test run from automake's .trs files:
#   "N passed, N failed, N skipped"
pass=0 fail=0 skip=0
for t in "$@"; do
    trs="${t%.*}.trs"
    [ -f "$trs" ] || trs="$t.trs"
    [ -f "$trs" ] || continue
    r=$(sed -n 's/^:test-result: //p' "$trs")
    case "$r" in
        PASS|XFAIL) pass=$((pass + 1)) ;;
        SKIP) skip=$((skip + 1)) ;;
        *) fail=$((fail + 1)) ;;
    esac
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
