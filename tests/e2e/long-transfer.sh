#!/bin/bash
# Two sites, one relay: scenario 7 of the end-to-end lab (docs/lab.md), a
# long transfer (LAB_BULK_MB, default 200 MiB) from site-a to site-b through
# the relay over TLS while both sites stay up; sha256 equal both ends.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/e2e/topology.sh"
. "$abs_top_srcdir/tests/e2e/lab.sh"

lab_main 7
