#!/bin/bash
# Session v1 is byte-compatible with clawnexus 0.4.0, both ways: Node's own
# crypto.js and RelayConnector against libclawnexus (session_v1_tool).
. "$abs_top_srcdir/tests/lib.sh"

cnx_need_node_client
tool="$abs_top_builddir/tests/integration/session_v1_tool"
[ -x "$tool" ] || cnx_fail "not built: $tool"

node "$CNX_NODE_DIR/session-v1.js" "$tool" || cnx_fail "session v1 interop with clawnexus 0.4.0 failed (above)"
