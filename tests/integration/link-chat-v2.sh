#!/bin/bash
# Two clawnexus-link chat endpoints through the relay module negotiate
# session v2 (Noise) and exchange messages both ways; the peers' static keys
# are pinned on first use, and a changed key is refused afterwards with
# both fingerprints shown.  An endpoint in v2 mode refuses a v1-only peer.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/link-lib.sh"

link_need_relay
cnx_tmpdir dir
link_relay_start "$dir"
mkdir -p "$dir/ha" "$dir/hb" "$dir/hc"

# chat_pair TAG HOME_A HOME_B [extra args for B]: A waits, B joins A.
chat_pair() {
    local tag=$1 ha=$2 hb=$3; shift 3
    rm -f "$dir/$tag.in"
    mkfifo "$dir/$tag.in"
    HOME=$ha "$CNX_LINK" -v chat --relay "$RELAY_URL" --id alpha.claw \
        --secret-file "$RELAY_SECRET_FILE" --issuer "$RELAY_ISS" \
        --session v2 < "$dir/$tag.in" > "$dir/$tag.a.out" 2> "$dir/$tag.a.err" &
    apid=$!
    cnx_on_exit "link_kill $apid"
    exec 7> "$dir/$tag.in"
    link_wait_grep "$dir/$tag.a.err" "registered as alpha.claw" ||
        { cat "$dir/$tag.a.err" >&2; cnx_fail "$tag: chat A did not register"; }
    rm -f "$dir/$tag.bin"
    mkfifo "$dir/$tag.bin"
    HOME=$hb "$CNX_LINK" chat --relay "$RELAY_URL" --id beta.claw \
        --secret-file "$RELAY_SECRET_FILE" --issuer "$RELAY_ISS" \
        --to alpha.claw "$@" < "$dir/$tag.bin" > "$dir/$tag.b.out" \
        2> "$dir/$tag.b.err" &
    bpid=$!
    cnx_on_exit "link_kill $bpid"
    # B's stdin: two lines, then open until A's line arrived or B ended
    {
        printf 'first line from B\nsecond line from B\n'
        for (( i=0; i<300; i++ )); do
            grep -q "line from A" "$dir/$tag.b.out" 2>/dev/null && break
            kill -0 $bpid 2>/dev/null || break
            sleep 0.05
        done
    } > "$dir/$tag.bin" &
    fpid=$!
    cnx_on_exit "link_kill $fpid"
}

# 1. v2 both ways.
chat_pair t1 "$dir/ha" "$dir/hb" --session v2
link_wait_grep "$dir/t1.a.out" "second line from B" 15 ||
    { cat "$dir/t1.a.err" "$dir/t1.b.err" >&2; cnx_fail "A did not receive B's lines"; }
echo "a line from A" >&7
wait $bpid; rc=$?
[ $rc -eq 0 ] || { cat "$dir/t1.b.err" >&2; cnx_fail "chat B exited $rc"; }
exec 7>&-
wait $apid; rc=$?
[ $rc -eq 0 ] || [ $rc -eq 3 ] || { cat "$dir/t1.a.err" >&2; cnx_fail "chat A exited $rc"; }
diff <(printf 'first line from B\nsecond line from B\n') "$dir/t1.a.out" ||
    cnx_fail "A printed the wrong lines"
diff <(printf 'a line from A\n') "$dir/t1.b.out" || cnx_fail "B printed the wrong lines"
grep -q "alpha.claw → relay → established (encrypted v2)" "$dir/t1.b.err" ||
    { cat "$dir/t1.b.err" >&2; cnx_fail "B did not report session v2"; }
for h in ha hb; do
    [ "$(stat -c %a "$dir/$h/.clawnexus/edge/static.key")" = 600 ] ||
        cnx_fail "$h: static key is not mode 0600"
done
grep -q "^alpha.claw " "$dir/hb/.clawnexus/edge/known_peers" ||
    cnx_fail "B did not pin alpha.claw"

# 2. alpha.claw comes back with another key (HOME hc): B refuses it.
chat_pair t2 "$dir/hc" "$dir/hb" --session auto
wait $bpid; rc=$?
exec 7>&-
link_kill $apid
[ $rc -eq 8 ] || { cat "$dir/t2.b.err" >&2; cnx_fail "B exited $rc for a changed key (expected 8)"; }
[ "$(grep -c 'SHA256:' "$dir/t2.b.err")" -ge 1 ] &&
    grep -q "SHA256:.*SHA256:" "$dir/t2.b.err" ||
    { cat "$dir/t2.b.err" >&2; cnx_fail "the refusal does not show both fingerprints"; }
[ -s "$dir/t2.a.out" ] && cnx_fail "A printed messages from a refused session"
grep -q "clawnexus-link forget alpha.claw" "$dir/t2.b.err" ||
    { cat "$dir/t2.b.err" >&2; cnx_fail "the refusal does not say how to accept the new key"; }

# id, peers, forget: B's pin of alpha.claw is A's fingerprint; "alpha" and
# "alpha.claw" are one name; after forget the new key is accepted.
fa=$(HOME="$dir/ha" "$CNX_LINK" id) || cnx_fail "id failed"
case $fa in SHA256:*) ;; *) cnx_fail "id printed '$fa'" ;; esac
HOME="$dir/hb" "$CNX_LINK" peers > "$dir/peers.out" || cnx_fail "peers failed"
grep -qx "alpha.claw $fa" "$dir/peers.out" || { cat "$dir/peers.out" >&2; cnx_fail "peers does not show alpha.claw $fa"; }
HOME="$dir/hb" "$CNX_LINK" forget nobody > /dev/null 2>&1; [ $? -eq 5 ] || cnx_fail "forget of an unknown name did not exit 5"
HOME="$dir/hb" "$CNX_LINK" forget alpha 2> "$dir/forget.err" || { cat "$dir/forget.err" >&2; cnx_fail "forget alpha failed"; }
HOME="$dir/hb" "$CNX_LINK" peers | grep -q "^alpha.claw " && cnx_fail "alpha.claw still pinned after forget"
chat_pair t2b "$dir/hc" "$dir/hb" --session auto
link_wait_grep "$dir/t2b.a.out" "second line from B" 15 ||
    { cat "$dir/t2b.a.err" "$dir/t2b.b.err" >&2; cnx_fail "after forget: A did not receive B's lines"; }
echo "a line from A" >&7
wait $bpid; rc=$?
exec 7>&-
link_kill $apid
[ $rc -eq 0 ] || { cat "$dir/t2b.b.err" >&2; cnx_fail "B exited $rc after forget (expected 0)"; }
fc=$(HOME="$dir/hc" "$CNX_LINK" id)
HOME="$dir/hb" "$CNX_LINK" peers | grep -qx "alpha.claw $fc" || cnx_fail "the new key of alpha.claw was not pinned after forget"

# 3. A v2-only endpoint refuses a v1-only peer (no silent downgrade).
chat_pair t3 "$dir/ha" "$dir/hb" --session v1
wait $bpid; rcb=$?
exec 7>&-
for i in $(seq 50); do kill -0 $apid 2>/dev/null || break; sleep 0.1; done
link_kill $apid
grep -qi "downgrade\|v1" "$dir/t3.a.err" ||
    { cat "$dir/t3.a.err" >&2; cnx_fail "A did not refuse the v1 peer clearly"; }
[ -s "$dir/t3.a.out" ] && cnx_fail "A accepted v1 messages in v2 mode"

cnx_nginx_stop "$dir/relay"
cnx_nginx_check_log "$dir/relay"
cnx_log "two clawnexus-link chats use v2, pin keys, refuse a changed key and a downgrade"
