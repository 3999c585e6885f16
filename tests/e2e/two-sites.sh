#!/bin/bash
# Two sites, one relay: the end-to-end lab (docs/lab.md).  Builds the
# namespaces of tests/e2e/topology.sh, runs the relay (stock nginx with the
# module, TLS, two workers) in vps and clawnexus-link at both sites, and
# asserts scenarios 1-6 and 8 (the real OpenClaw gateway) of
# tests/e2e/lab.sh (7 is tests/e2e/long-transfer.sh).
#   E2E_SCENARIOS="1 2 ..."  run these instead (scripts/demo --lab: 1-8)
#   LAB_BULK_MB=N           size of the long transfer (default 200)
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/e2e/topology.sh"
. "$abs_top_srcdir/tests/e2e/lab.sh"

lab_main ${E2E_SCENARIOS:-1 2 3 4 5 6 8}
