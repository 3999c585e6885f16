#!/bin/bash
# The bash completions in system/bash-completion complete the commands,
# options and arguments of clawnexus-link and clawnexus-wg, reading commands
# and options from the programs' --help (the built ones here).  The two
# helpers they take from the bash-completion package are stood in for
# (that package need not be installed to run the test).
. "$abs_top_srcdir/tests/lib.sh"

cnx_tmpdir dir
ln -s "$CNX_LINK" "$dir/clawnexus-link"
ln -s "$CNX_WG" "$dir/clawnexus-wg"
PATH="$dir:$PATH"

_init_completion() {
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
    cur=${words[cword]}
    prev=${words[cword-1]}
}
_filedir() { COMPREPLY=(FILES); }
. "$abs_top_srcdir/system/bash-completion/clawnexus-link"
. "$abs_top_srcdir/system/bash-completion/clawnexus-wg"

# expect "WANT" WORD...: complete the last word of the command line.
expect() {
    local want=$1; shift
    COMP_WORDS=("$@")
    COMP_CWORD=$(( $# - 1 ))
    COMPREPLY=()
    local fn
    fn=$(complete -p "$1" | sed 's/.*-F \([^ ]*\).*/\1/')
    "$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    [ "${COMPREPLY[*]}" = "$want" ] ||
        cnx_fail "'$*': completed '${COMPREPLY[*]}', expected '$want'"
}

expect "chat connect" clawnexus-link c
expect "serve" clawnexus-link -v s
expect "--forward" clawnexus-link serve --for
expect "--local" clawnexus-link connect --id a.claw --lo
expect "v1 v2 auto" clawnexus-link chat --session ""
expect "FILES" clawnexus-link chat --token-file ""
expect "--secret-file --session" clawnexus-link chat --se
expect "--secret-file" clawnexus-link token --sec
expect "" clawnexus-link list --relay
expect "show sync" clawnexus-wg s
expect "hosts hook" clawnexus-wg --names /x h
expect "up" clawnexus-wg hook u
expect "netlink uapi" clawnexus-wg --backend ""
expect "main auto off" clawnexus-wg --table ""
expect "--export-file" clawnexus-wg --exp
expect "show sync" clawnexus-wg --no-routes --table main --export-file /x s
expect "FILES" clawnexus-wg --wg-quick-config ""
expect "--persistent-keepalive --preshared-key-file --public-key" clawnexus-wg add wg0 office --p
expect "--json" clawnexus-wg show --j
expect "FILES" clawnexus-wg hosts wg0 --file ""
# every option of every command's --help is offered
for c in $("$CNX_LINK" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'); do
    want=$("$CNX_LINK" "$c" --help 2>&1 | grep -oE -- '--[a-z][a-z-]*' | sort -u | tr '\n' ' ')
    expect "${want% }" clawnexus-link "$c" --
done
cnx_log "bash completion of both programs"
