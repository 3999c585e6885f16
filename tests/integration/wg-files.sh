#!/bin/bash
# clawnexus-wg as root on files others may control: a hosts file in a
# folder a user owns (with the set-group-ID bit) and a symlink planted
# there, a symlinked hosts file whose real target must be edited, a hosts
# file's owner, group and mode kept, and a names file others may write.
. "$abs_top_srcdir/tests/lib.sh"

cnx_need_root
[ -x "$CNX_WG" ] || cnx_fail "not built: $CNX_WG"
id nobody >/dev/null 2>&1 || cnx_skip "needs the user 'nobody'"
grp=$(id -gn nobody)
cnx_tmpdir dir
chmod 755 "$dir"
names="$dir/names.conf"
k1=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
printf '[wg0]\noffice key=%s allowed-ips=10.0.0.2/32\n' "$k1" >"$names"
chmod 600 "$names"
cw() { "$CNX_WG" --names "$names" "$@"; }
expect_rc() {
    local want=$1 got; shift
    "$@" >"$dir/out" 2>"$dir/err"; got=$?
    [ "$got" = "$want" ] || cnx_fail "'$*' exited $got, expected $want: $(cat "$dir/err")"
}

# --- a symlink planted in a user's set-group-ID folder -----------------------
# A root-only file must not be copied into a file the user's group can read.
printf 'root-only secret\n' >"$dir/secret"
chmod 640 "$dir/secret"
mkdir "$dir/user"
chown "nobody:$grp" "$dir/user"
chmod 2775 "$dir/user"
ln -s "$dir/secret" "$dir/user/hosts"
expect_rc 1 cw hosts wg0 --file "$dir/user/hosts"
grep -q "folder $dir/user .*writable by others\|folder $dir/user .*owned by" "$dir/err" ||
    cnx_fail "user folder: unclear message: $(cat "$dir/err")"
[ -L "$dir/user/hosts" ] || cnx_fail "the planted symlink was replaced"
grep -rq "root-only secret" "$dir/user/" 2>/dev/null &&
    cnx_fail "the secret was copied into the user's folder"
grep -q office "$dir/secret" && cnx_fail "the symlink's target was edited"
# the same folder without the symlink: still refused (the user could swap
# the file between our read and our rename)
rm "$dir/user/hosts"
printf '127.0.0.1 localhost\n' >"$dir/user/hosts"
expect_rc 1 cw hosts wg0 --file "$dir/user/hosts"
# a folder writable by others without the sticky bit
mkdir -m 777 "$dir/open"
chmod 777 "$dir/open"
printf '127.0.0.1 localhost\n' >"$dir/open/hosts"
expect_rc 1 cw hosts wg0 --file "$dir/open/hosts"
grep -q "writable by others" "$dir/err" || cnx_fail "open folder: $(cat "$dir/err")"
# root's sticky folder is fine (like /tmp)
mkdir "$dir/sticky"
chmod 1777 "$dir/sticky"
printf '127.0.0.1 localhost\n' >"$dir/sticky/hosts"
expect_rc 0 cw hosts wg0 --file "$dir/sticky/hosts"
grep -qx "10.0.0.2 office.claw office" "$dir/sticky/hosts" || cnx_fail "sticky folder: not written"

# --- a symlinked hosts file (containers): its real target is edited ----------
mkdir "$dir/etc" "$dir/real"
printf '127.0.0.1 localhost\n' >"$dir/real/hosts"
ln -s ../real/hosts "$dir/etc/hosts"
expect_rc 0 cw hosts wg0 --file "$dir/etc/hosts"
[ -L "$dir/etc/hosts" ] || cnx_fail "the symlinked hosts file became a regular file"
grep -qx "10.0.0.2 office.claw office" "$dir/real/hosts" ||
    cnx_fail "the real target was not updated: $(cat "$dir/real/hosts")"
expect_rc 0 cw hook down wg0 --file "$dir/etc/hosts"
[ -L "$dir/etc/hosts" ] || cnx_fail "hook down replaced the symlink"
grep -q office "$dir/real/hosts" && cnx_fail "hook down left the block in the target"
# a symlink to something other than a regular file is refused
ln -s /dev/null "$dir/etc/devnull"
expect_rc 1 cw hosts wg0 --file "$dir/etc/devnull"

# --- owner, group and mode of the hosts file are kept ------------------------
printf '127.0.0.1 localhost\n' >"$dir/etc/hosts2"
chown "nobody:$grp" "$dir/etc/hosts2"
chmod 640 "$dir/etc/hosts2"
expect_rc 0 cw hosts wg0 --file "$dir/etc/hosts2"
grep -q office "$dir/etc/hosts2" || cnx_fail "hosts2 not written"
[ "$(stat -c '%U:%G %a' "$dir/etc/hosts2")" = "nobody:$grp 640" ] ||
    cnx_fail "hosts2 is now $(stat -c '%U:%G %a' "$dir/etc/hosts2"), was nobody:$grp 640"

# --- a names file others may write is refused, like ssh does ----------------
cp "$names" "$dir/etc/ww.conf"
chmod 666 "$dir/etc/ww.conf"
expect_rc 1 "$CNX_WG" --names "$dir/etc/ww.conf" resolve office
grep -q "names file $dir/etc/ww.conf is writable by others" "$dir/err" ||
    cnx_fail "world-writable names file: $(cat "$dir/err")"
chmod 620 "$dir/etc/ww.conf"
expect_rc 1 "$CNX_WG" --names "$dir/etc/ww.conf" resolve office
chmod 600 "$dir/etc/ww.conf"
chown nobody "$dir/etc/ww.conf"
expect_rc 1 "$CNX_WG" --names "$dir/etc/ww.conf" resolve office
grep -q "owned by" "$dir/err" || cnx_fail "names file of another user: $(cat "$dir/err")"
chown root "$dir/etc/ww.conf"
expect_rc 0 "$CNX_WG" --names "$dir/etc/ww.conf" resolve office
# ... and so is one in a folder others may write
cp "$names" "$dir/open/names.conf"
expect_rc 1 "$CNX_WG" --names "$dir/open/names.conf" resolve office
grep -q "writable by others" "$dir/err" || cnx_fail "names file in an open folder: $(cat "$dir/err")"
cnx_log "planted symlinks, open folders, symlinked hosts, owner/mode kept, unsafe names files refused"
