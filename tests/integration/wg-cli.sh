#!/bin/bash
# clawnexus-wg without root: command line, exit statuses, names file,
# hosts block, and the UAPI client against scripted daemons in the
# wireguard-go and boringtun styles (errno answers, one line of error,
# nothing recorded when the daemon refuses).
. "$abs_top_srcdir/tests/lib.sh"

cnx_need_cmd python3
[ -x "$CNX_WG" ] || cnx_fail "not built: $CNX_WG"
cnx_tmpdir dir
export CLAWNEXUS_WG_SOCKET_DIR="$dir/run"
mkdir -p "$CLAWNEXUS_WG_SOCKET_DIR"
names="$dir/names.conf"
cw() { "$CNX_WG" --names "$names" "$@"; }
expect_rc() {
    local want=$1 got; shift
    "$@" >"$dir/out" 2>"$dir/err"; got=$?
    [ "$got" = "$want" ] || cnx_fail "'$*' exited $got, expected $want: $(cat "$dir/err")"
}

# --- command line ---------------------------------------------------------
for c in add remove name unname show resolve sync hosts hook export; do
    expect_rc 0 cw "$c" --help
    grep -q "^Usage: clawnexus-wg.* $c" "$dir/out" || cnx_fail "$c --help: $(cat "$dir/out")"
done
expect_rc 0 "$CNX_WG" --help
expect_rc 2 "$CNX_WG"
expect_rc 2 "$CNX_WG" frobnicate
expect_rc 2 "$CNX_WG" --backend carrier-pigeon show
expect_rc 2 cw add wg0 office
expect_rc 2 cw add wg0 office --public-key short
expect_rc 2 cw add wg0 office --public-key "$(wg genkey 2>/dev/null || echo AAAA)" --allowed-ips 10.0.0.1/99
grep -q "bad allowed IP '10.0.0.1/99'" "$dir/err" || cnx_fail "bad prefix message: $(cat "$dir/err")"

# the export clawnexus-wg writes is the one clawnexus-link reads by default,
# under the same option name
wd=$("$CNX_WG" --help | grep -o '/run/[^ ;)]*\.json' | head -1)
ld=$("$CNX_LINK" connect --help | grep -o '/run/[^ ;)]*\.json' | head -1)
[ -n "$wd" ] && [ "$wd" = "$ld" ] || cnx_fail "default export: clawnexus-wg '$wd', clawnexus-link '$ld'"
"$CNX_WG" --help | grep -q -- "--export-file FILE" || cnx_fail "clawnexus-wg has no --export-file"
"$CNX_LINK" connect --help | grep -q -- "--export-file F" || cnx_fail "clawnexus-link has no --export-file"

# --- resolve from the names file --------------------------------------------
k1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
k2=//////////////////////////////////////////8=
cat >"$names" <<NAMES
# hand-written
[wg0]
office key=$k1 allowed-ips=10.0.0.0/24,fd00::2/128,10.0.0.2/32
[wg1]
lab key=$k2 allowed-ips=10.9.0.0/16
NAMES
expect_rc 0 cw resolve office
[ "$(cat "$dir/out")" = "fd00::2" ] || cnx_fail "resolve office printed $(cat "$dir/out")"
expect_rc 0 cw resolve office.claw
expect_rc 5 cw resolve nobody
expect_rc 5 cw resolve Office
expect_rc 1 cw resolve lab
grep -q "no single-host allowed IP" "$dir/err" || cnx_fail "resolve lab said $(cat "$dir/err")"
expect_rc 5 cw remove wg1 office

# --- a broken names file names itself and the line --------------------------
printf '[wg0]\noffice key=%s\nbad_name key=%s\n' "$k1" "$k2" >"$dir/broken.conf"
expect_rc 1 "$CNX_WG" --names "$dir/broken.conf" resolve office
grep -qx "clawnexus-wg: $dir/broken.conf: line 3: bad name 'bad_name'.*" "$dir/err" ||
    cnx_fail "broken names file said $(cat "$dir/err")"

# --- hosts block -------------------------------------------------------------
printf '127.0.0.1 localhost\n# BEGIN clawnexus-wg wg1 (written by clawnexus-wg; edits here are lost)\n10.9.0.1 other.claw other\n# END clawnexus-wg wg1\n' >"$dir/hosts"
chmod 644 "$dir/hosts"
expect_rc 0 cw hosts wg0 --file "$dir/hosts"
expect_rc 0 cw hosts wg0 --file "$dir/hosts"      # idempotent
[ "$(grep -c 'BEGIN clawnexus-wg wg0' "$dir/hosts")" = 1 ] || cnx_fail "two wg0 blocks"
grep -qx "fd00::2 office.claw office" "$dir/hosts" || cnx_fail "no office line: $(cat "$dir/hosts")"
grep -qx "10.9.0.1 other.claw other" "$dir/hosts" || cnx_fail "the wg1 block was touched"
[ "$(stat -c %a "$dir/hosts")" = 644 ] || cnx_fail "hosts lost its mode"
expect_rc 0 cw hook down wg0 --file "$dir/hosts"
grep -q "clawnexus-wg wg0" "$dir/hosts" && cnx_fail "hook down left the wg0 block"
printf '# END clawnexus-wg wg0\n' >>"$dir/hosts"
expect_rc 1 cw hosts wg0 --file "$dir/hosts"
grep -q "only one of the clawnexus-wg wg0 markers" "$dir/err" || cnx_fail "one marker: $(cat "$dir/err")"
expect_rc 0 cw hook down wg0 --file "$dir/hosts"
grep -q "warning" "$dir/err" || cnx_fail "hook down did not warn"
# hook up: a names file that cannot be read is fatal (wg-quick must see it)
expect_rc 1 "$CNX_WG" --names "$dir/broken.conf" hook up wg0 --file "$dir/hosts"

# --- scripted UAPI daemons ---------------------------------------------------
# fake_daemon IFACE STYLE REPLY...: answers each non-empty request with the
# next reply and records it in $dir/req-IFACE.N (the existence probe
# connects without sending anything).
fake_daemon() {
    local ifname=$1; shift
    python3 - "$CLAWNEXUS_WG_SOCKET_DIR/$ifname.sock" "$dir/req-$ifname" "$@" <<'PY' &
import os, socket, sys
path, rec, replies = sys.argv[1], sys.argv[2], sys.argv[3:]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(8)
open(rec + ".ready", "w").close()
n = 0
while n < len(replies):
    c, _ = s.accept()
    data = b""
    while not data.endswith(b"\n\n"):
        b = c.recv(65536)
        if not b:
            break
        data += b
    if data:
        open("%s.%d" % (rec, n), "wb").write(data)
        c.sendall(replies[n].encode().decode("unicode_escape").encode())
        n += 1
    c.close()
os.unlink(path)
PY
    local pid=$! i
    cnx_on_exit "kill $pid"
    for (( i=0; i<100; i++ )); do [ -e "$dir/req-$ifname.ready" ] && return 0; sleep 0.05; done
    cnx_fail "fake daemon for $ifname did not start"
}
hex1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
key_new=$(python3 -c 'import base64;print(base64.b64encode(bytes([7]*32)).decode())')
hex_new=$(python3 -c 'print(bytes([7]*32).hex())')

# wireguard-go style: get works, set refused with a negative errno
fake_daemon fwg "listen_port=51820\npublic_key=$hex1\nprotocol_version=1\nallowed_ip=10.0.0.0/24\nerrno=0\n\n" \
    "errno=-22\n\n"
cp "$names" "$dir/names.before"
expect_rc 1 cw add fwg newpeer --public-key "$key_new" --allowed-ips 10.0.0.5/32
[ "$(wc -l <"$dir/err")" = 1 ] || cnx_fail "more than one error line: $(cat "$dir/err")"
grep -q "interface fwg: cannot apply peers: Invalid argument (errno 22)" "$dir/err" ||
    cnx_fail "refused set said $(cat "$dir/err")"
cmp -s "$names" "$dir/names.before" || cnx_fail "the names file changed although the daemon refused"
[ "$(cat "$dir/req-fwg.0")" = "get=1" ] || cnx_fail "first request was $(cat "$dir/req-fwg.0")"
printf 'set=1\npublic_key=%s\nreplace_allowed_ips=true\nallowed_ip=10.0.0.5/32\n\n' "$hex_new" >"$dir/want"
cmp -s "$dir/req-fwg.1" "$dir/want" || cnx_fail "set request was: $(cat "$dir/req-fwg.1")"

# boringtun style: own_public_key, positive errno, then a good set
fake_daemon fbt "own_public_key=$hex1\nlisten_port=40000\npublic_key=$hex_new\nallowed_ip=10.0.0.9/32\nrx_bytes=10\ntx_bytes=20\nerrno=0\n\n" \
    "own_public_key=$hex1\nerrno=0\n\n" "errno=0\n\n" \
    "own_public_key=$hex1\npublic_key=$hex_new\nerrno=0\n\n" "errno=1\n\n"
expect_rc 0 cw show fbt --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); p=d["peers"][0]; assert d["listen_port"]==40000 and p["allowed_ips"]==["10.0.0.9/32"] and p["name"] is None and p["status"]=="never", d' \
    "$dir/out" || cnx_fail "show of the boringtun-style daemon: $(cat "$dir/out")"
expect_rc 0 cw add fbt lab2 --public-key "$key_new" --allowed-ips 10.0.0.9/32 --persistent-keepalive 15
grep -q "^lab2 key=$key_new allowed-ips=10.0.0.9/32 keepalive=15$" "$names" || cnx_fail "lab2 not recorded"
[ "$(stat -c %a "$names")" = 600 ] || cnx_fail "names file mode is $(stat -c %a "$names")"
head -1 "$names" | grep -qx "# hand-written" || cnx_fail "add lost the hand-written comment"
expect_rc 1 cw remove fbt lab2     # the daemon refuses with a positive errno
grep -q "interface fbt: cannot apply peers: permission denied.*(errno 1)" "$dir/err" ||
    cnx_fail "positive errno: $(cat "$dir/err")"
[ "$(cat "$dir/req-fbt.4")" = "$(printf 'set=1\npublic_key=%s\nremove=true' "$hex_new")" ] ||
    cnx_fail "remove request was: $(cat "$dir/req-fbt.4")"
grep -q "^lab2 " "$names" || cnx_fail "lab2 was dropped although the daemon refused"

# a daemon that is gone (stale socket) is no interface
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$CLAWNEXUS_WG_SOCKET_DIR/gone.sock"
expect_rc 1 cw --backend uapi show gone
grep -q "interface gone: no such WireGuard interface" "$dir/err" || cnx_fail "stale socket: $(cat "$dir/err")"

# permission: an unprivileged user cannot reach a root-only socket
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
   setpriv --reuid=65534 --regid=65534 --clear-groups "$CNX_WG" --version >/dev/null 2>&1; then
    fake_daemon fperm "errno=0\n\n"
    chmod 700 "$CLAWNEXUS_WG_SOCKET_DIR"
    expect_rc 1 setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$CNX_WG" --names /nonexistent/names.conf show fperm
    grep -q "interface fperm: permission denied (needs root or CAP_NET_ADMIN)" "$dir/err" ||
        cnx_fail "unprivileged show said $(cat "$dir/err")"
else
    cnx_log "permission case not run (needs root, setpriv and a build tree readable by nobody)"
fi
cnx_log "command line, names file, hosts block and UAPI daemons checked"
