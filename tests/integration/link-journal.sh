#!/bin/bash
# clawnexus-link's messages as the journal reads them: when standard error
# is the journal stream named by JOURNAL_STREAM (systemd sets it for a
# service), each line starts with its syslog priority (<3> error,
# <4> warning, <7> debug); otherwise lines are unchanged.  A message is
# always one line, whatever bytes the name or URL it quotes holds.
. "$abs_top_srcdir/tests/lib.sh"

cnx_tmpdir dir
export HOME="$dir/home"
mkdir -p "$HOME"
L="$CNX_LINK"

# journal_run FILE CMD...: run with stderr on FILE, announced as the
# journal stream the way systemd does (device:inode of the stream).
journal_run() {
    local f=$1; shift
    : > "$f"
    JOURNAL_STREAM=$(stat -c '%d:%i' "$f") "$@" 2>> "$f" > /dev/null < /dev/null
}

# An error: priority 3, one line, the program name kept.
journal_run "$dir/err" "$L" connect --id a.claw --direct nowhere b.claw
[ "$(cat "$dir/err")" = "<3>clawnexus-link: --direct: 'nowhere' is not HOST:PORT" ] ||
    { cat -A "$dir/err" >&2; cnx_fail "an error is not one line with priority <3>"; }

# A claw id with a newline and an escape inside: still one line, the
# control bytes shown as '?', so nobody can forge a second journal line.
journal_run "$dir/err" "$L" token --secret-file /dev/null $'bad\n<2>forged\033[1m'
[ "$(wc -l < "$dir/err")" -eq 1 ] ||
    { cat -A "$dir/err" >&2; cnx_fail "a name with a newline split the message"; }
grep -q "^<3>clawnexus-link: 'bad?<2>forged?\[1m' is not a valid claw id" "$dir/err" ||
    { cat -A "$dir/err" >&2; cnx_fail "control bytes of a name were not replaced"; }

# A warning: priority 4.
printf 'secret\n' > "$dir/wide.secret"
chmod 644 "$dir/wide.secret"
journal_run "$dir/warn" "$L" token --secret-file "$dir/wide.secret" a.claw
grep -qx "<4>clawnexus-link: warning: $dir/wide.secret is readable by group or others (chmod 600 it)" \
    "$dir/warn" || { cat -A "$dir/warn" >&2; cnx_fail "a warning has no priority <4>"; }

# Debug lines (-v): priority 7.
printf '{"edge": {"peers": {"b.claw": {"cross_network": true}}}}' > "$dir/cfg.json"
install -m 600 /dev/null "$dir/relay.secret"
printf 'secret\n' > "$dir/relay.secret"
journal_run "$dir/dbg" "$L" -v connect --config "$dir/cfg.json" --id a.claw \
    --relay "ws://127.0.0.1:$(cnx_free_port)/relay" --secret-file "$dir/relay.secret" b.claw
grep -qx '<7>clawnexus-link: b.claw is marked cross_network: using the relay' "$dir/dbg" ||
    { cat -A "$dir/dbg" >&2; cnx_fail "a debug line has no priority <7>"; }

# A JOURNAL_STREAM that names another file (inherited by a child whose
# stderr was redirected): no prefix.
: > "$dir/other"
JOURNAL_STREAM=$(stat -c '%d:%i' "$dir/other") \
    "$L" connect --id a.claw --direct nowhere b.claw 2> "$dir/plain" > /dev/null
[ "$(cat "$dir/plain")" = "clawnexus-link: --direct: 'nowhere' is not HOST:PORT" ] ||
    { cat -A "$dir/plain" >&2; cnx_fail "a prefix although stderr is not the journal"; }
cnx_log "journal priorities and one line per message"
