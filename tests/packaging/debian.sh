#!/bin/bash
# The Debian packages, as an operator meets them: built with
# dpkg-buildpackage from a clean clone of the current commit, checked by
# lintian, installed on this machine (dpkg -i, apt-get -f install), then
#  - the system nginx, on a test prefix whose configuration includes
#    /etc/nginx/modules-enabled/*.conf, relays for the npm clawnexus@0.4.0
#    RelayConnector and answers as a registry (database in the directory
#    the registry package made);
#  - /usr/bin/clawnexus-link and clawnexus-wg run without LD_LIBRARY_PATH;
#    clawnexus-link serve runs as its unit runs it (the options file, the
#    user clawnexus, its state directory) and carries a stream;
#  - the units pass systemd-analyze verify and security;
#  - remove keeps the module link as .removed, purge removes it,
# and the machine is left as it was: same packages, same /etc/nginx, the
# user and state the packages made removed (also when a step fails).
# Root, Debian bookworm; `make check-packages` runs it.
. "$abs_top_srcdir/tests/lib.sh"
CNX_SANITIZERS=no       # the packages are built without sanitizers
NGINX_BIN=/usr/sbin/nginx

cnx_need_root
cnx_need_cmd git dpkg-buildpackage dpkg apt-get lintian systemd-analyze runuser
cnx_need_node_client
[ -x /usr/sbin/nginx ] || cnx_skip "needs /usr/sbin/nginx (nginx-core)"
git -C "$abs_top_srcdir" rev-parse --git-dir > /dev/null 2>&1 ||
    cnx_skip "$abs_top_srcdir is not a git checkout (the test builds from a clone)"

PKGS=(libnginx-mod-stream-clawnexus libnginx-mod-http-clawnexus-registry
      clawnexus-link clawnexus-wg)
REGISTRY_DIR=/var/lib/clawnexus-registry

# One run at a time on a machine: the packages are installed system-wide.
exec 9> /run/lock/clawnexus-edge-packaging.lock
flock -w 1800 9 || cnx_fail "another packaging test holds /run/lock/clawnexus-edge-packaging.lock"

# pkg_state P: dpkg's two-letter state of P ("un" when unknown).
pkg_state() {
    dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | cut -c1-2 | grep . || echo un
}
for p in "${PKGS[@]}"; do
    [ "$(pkg_state "$p")" = un ] ||
        cnx_skip "$p is already installed here; purge it first (dpkg --purge $p)"
done

link_kill() { kill "$1" 2>/dev/null || return 0; wait "$1" 2>/dev/null || true; }
link_wait() { # FILE PATTERN: wait up to 10 s until FILE has PATTERN
    local i
    for (( i=0; i<200; i++ )); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    return 1
}

exec 8>&2               # restore() reports here (exit handlers are muted)
cnx_tmpdir dir
chmod 755 "$dir"        # the service user reads its files below

# The machine before: packages, /etc/nginx, the user and state dirs.
snapshot() {
    dpkg-query -W -f='${Package}:${Architecture} ${Version} ${db:Status-Abbrev}\n' | sort > "$1.pkgs"
    find /etc/nginx -printf '%p %y %m %l\n' | sort > "$1.nginx"
    { getent passwd clawnexus; getent group clawnexus;
      ls -ld /var/lib/clawnexus "$REGISTRY_DIR" /etc/clawnexus 2>&1; } > "$1.misc" || true
}
snapshot "$dir/before"
had_user=0; getent passwd clawnexus > /dev/null && had_user=1
had_state=0; [ -e /var/lib/clawnexus ] && had_state=1
had_registry_dir=0; [ -e "$REGISTRY_DIR" ] && had_registry_dir=1

# Package scripts must not start or reload services of this machine
# (nginx on port 80): the same policy scripts/install-deps uses.
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
fi

# dpkg ARGS...: dpkg, waiting while another process holds its lock.
dpkg_wait() {
    local i out
    for (( i=0; i<300; i++ )); do
        out=$(dpkg "$@" 2>&1) && { printf '%s\n' "$out"; return 0; }
        grep -q 'lock' <<< "$out" || { printf '%s\n' "$out" >&2; return 1; }
        sleep 2
    done
    printf '%s\n' "$out" >&2
    return 1
}

# Packages this test installed: ours, and what apt-get -f install pulled
# in for them (never what others install meanwhile on a shared machine).
ours=("${PKGS[@]}")
installed_now() {
    dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' | awk '$2 != "un" { print $1 }' | sort
}

# Put the machine back: purge what this test installed, drop the user and
# state the packages made.
restore() {
    local p purge=()
    for p in "${ours[@]}"; do
        [ "$(pkg_state "$p")" = un ] || purge+=("$p")
    done
    [ "${#purge[@]}" = 0 ] || dpkg_wait --purge "${purge[@]}" > "$dir/purge.out" 2>&1 ||
        { echo "debian.sh: could not purge ${purge[*]}:"; cat "$dir/purge.out"; } >&8
    if [ "$had_user" = 0 ] && getent passwd clawnexus > /dev/null; then
        userdel clawnexus 2>/dev/null; groupdel clawnexus 2>/dev/null
    fi
    [ "$had_state" = 0 ] && rm -rf /var/lib/clawnexus
    [ "$had_registry_dir" = 0 ] && rm -rf "$REGISTRY_DIR"
    [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    true
}
cnx_on_exit restore

# 1. Build from a clean clone of the commit.
commit=$(git -C "$abs_top_srcdir" rev-parse HEAD)
if [ -n "$(git -C "$abs_top_srcdir" status --porcelain --untracked-files=no)" ]; then
    cnx_log "note: uncommitted changes are not in the packages (built from $commit)"
fi
git clone -q --no-checkout "$abs_top_srcdir" "$dir/src" &&
    git -C "$dir/src" checkout -q "$commit" || cnx_fail "cannot clone $abs_top_srcdir at $commit"
cnx_log "building the packages of $commit"
(cd "$dir/src" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
    > "$dir/build.log" 2>&1 ||
    { tail -40 "$dir/build.log" >&2; cnx_fail "dpkg-buildpackage failed (log above)"; }
changes=$(ls "$dir"/clawnexus-edge_*.changes)
for p in "${PKGS[@]}"; do
    ls "$dir/${p}"_*.deb > /dev/null 2>&1 || cnx_fail "no $p package was built"
done

# 2. lintian: no error; anything else it says is printed (today: nothing).
lintian --pedantic --fail-on error "$changes" > "$dir/lintian.out" 2>&1 ||
    { cat "$dir/lintian.out" >&2; cnx_fail "lintian reports errors"; }
grep -v '^running with root' "$dir/lintian.out" | sed 's/^/lintian: /'

# 3. Install.
debs=()
for p in "${PKGS[@]}"; do debs+=("$(ls "$dir/${p}"_*_*.deb)"); done
if ! dpkg_wait -i "${debs[@]}" > "$dir/install.out" 2>&1; then
    # missing dependencies: apt-get -f install brings them (and they are
    # purged at the end with the packages)
    installed_now > "$dir/pre-apt"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q -y -f install \
        >> "$dir/install.out" 2>&1 ||
        { cat "$dir/install.out" >&2; cnx_fail "the packages do not install"; }
    ours+=($(comm -13 "$dir/pre-apt" <(installed_now)))
fi
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" | grep -q '^ii' ||
        { cat "$dir/install.out" >&2; cnx_fail "$p is not installed after dpkg -i"; }
done
getent passwd clawnexus > /dev/null || cnx_fail "installing clawnexus-link made no user clawnexus"
[ "$(stat -c '%U %a' "$REGISTRY_DIR" 2>/dev/null)" = "www-data 700" ] ||
    cnx_fail "the registry package made no $REGISTRY_DIR owned by www-data, mode 700"

# The modules are enabled the Debian way, ours after Debian's stream module.
reglink=/etc/nginx/modules-enabled/50-mod-http-clawnexus-registry.conf
grep -qx 'load_module modules/ngx_http_clawnexus_registry_module.so;' "$reglink" ||
    cnx_fail "$reglink does not load the registry module"
link=/etc/nginx/modules-enabled/70-mod-stream-clawnexus.conf
[ "$(readlink "$link")" = /usr/share/nginx/modules-available/mod-stream-clawnexus.conf ] ||
    cnx_fail "$link does not point at modules-available/mod-stream-clawnexus.conf"
grep -qx 'load_module modules/ngx_stream_clawnexus_module.so;' "$link" ||
    cnx_fail "$link does not load the module: $(cat "$link")"
stream_at=$(ls /etc/nginx/modules-enabled/ | grep -n 'mod-stream.conf$' | cut -d: -f1)
ours_at=$(ls /etc/nginx/modules-enabled/ | grep -n 'mod-stream-clawnexus.conf$' | cut -d: -f1)
[ -n "$stream_at" ] && [ "$stream_at" -lt "$ours_at" ] ||
    cnx_fail "mod-stream.conf does not come before mod-stream-clawnexus.conf"

# 4. The system nginx with modules-enabled, a relay and a registry on
# loopback, the npm RelayConnector through the relay.
prefix="$dir/nginx"
mkdir -p "$prefix/logs"
# the snippets say "modules/NAME.so", relative to the prefix, as in
# Debian's own /usr/share/nginx/modules
ln -s /usr/lib/nginx/modules "$prefix/modules"
port=$(cnx_free_port)
status_port=$(cnx_free_port)
reg_port=$(cnx_free_port)
secret="pkg-test-secret-$$-$RANDOM"
( umask 077; printf '%s\n' "$secret" > "$prefix/relay.secret" )
cat > "$prefix/nginx.conf" <<CONF
include /etc/nginx/modules-enabled/*.conf;
user www-data;
worker_processes 2;
events { worker_connections 256; }
error_log logs/error.log info;
stream {
    server {
        listen 127.0.0.1:$port;
        clawnexus_relay;
        clawnexus_jwt_secret_file relay.secret;
        clawnexus_jwt_issuer clawnexus-registry.test;
    }
    server {
        listen 127.0.0.1:$status_port;
        clawnexus_status;
    }
}
http {
    access_log off;
    clawnexus_jwt_secret_file relay.secret;
    server {
        listen 127.0.0.1:$reg_port;
        location /clawnexus/ {
            clawnexus_registry;
            clawnexus_registry_db $REGISTRY_DIR/pkgtest-$$.db;
            clawnexus_registry_relay_hint 127.0.0.1:$port;
        }
    }
}
CONF
NGINX_BIN=/usr/sbin/nginx
cnx_nginx_start "$prefix"
cnx_wait_port 127.0.0.1 "$port" || cnx_fail "the system nginx did not listen on $port"
node "$CNX_NODE_DIR/relay-interop.js" "ws://127.0.0.1:$port/relay" "$secret" \
    clawnexus-registry.test > "$dir/node.out" 2>&1 ||
    { cat "$dir/node.out" >&2; tail -30 "$prefix/logs/error.log" >&2;
      cnx_fail "the npm RelayConnector scenario failed through the packaged module"; }
# (the status server may end with a reset once it has answered)
grep -q '^clawnexus_registrations_total [1-9]' <(exec 3<>"/dev/tcp/127.0.0.1/$status_port";
    printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3; cat <&3 2>/dev/null) ||
    cnx_fail "the status server counts no registration"
cnx_log "npm clawnexus@0.4.0 RelayConnector through /usr/sbin/nginx and the packaged module"
reply=$(exec 3<>"/dev/tcp/127.0.0.1/$reg_port";
        printf 'GET /clawnexus/resolve/nobody.claw HTTP/1.0\r\n\r\n' >&3; cat <&3 2>/dev/null)
grep -q '^HTTP/1.[01] 404' <<< "$reply" && grep -q '"error"' <<< "$reply" ||
    cnx_fail "the packaged registry did not answer 404 with a JSON error: $reply"
[ -f "$REGISTRY_DIR/pkgtest-$$.db" ] ||
    cnx_fail "the registry made no database in $REGISTRY_DIR"
cnx_log "the packaged registry answers, its database in $REGISTRY_DIR"

# 5. The programs from /usr/bin, no LD_LIBRARY_PATH.
for p in clawnexus-link clawnexus-wg; do
    env -u LD_LIBRARY_PATH "/usr/bin/$p" --version > "$dir/$p.version" 2>&1 ||
        { cat "$dir/$p.version" >&2; cnx_fail "/usr/bin/$p --version failed"; }
    ! ldd "/usr/bin/$p" | grep -q 'not found' || cnx_fail "/usr/bin/$p misses a library"
done
env -u LD_LIBRARY_PATH CLAWNEXUS_WG_SOCKET_DIR="$dir" /usr/bin/clawnexus-wg \
    --names "$dir/names.conf" --backend uapi show nosuch0 > "$dir/wg.out" 2>&1
[ $? -eq 1 ] && grep -q nosuch0 "$dir/wg.out" ||
    { cat "$dir/wg.out" >&2; cnx_fail "/usr/bin/clawnexus-wg show did not name the missing interface"; }

# 6. clawnexus-link serve as clawnexus-link-serve@pkgtest runs it: the
# options file, the user, HOME in the state directory; a stream through it.
unit=/lib/systemd/system/clawnexus-link-serve@.service
grep -qx 'ExecStart=/usr/bin/clawnexus-link serve $CLAWNEXUS_LINK_ARGS' "$unit" ||
    cnx_fail "$unit does not run clawnexus-link serve \$CLAWNEXUS_LINK_ARGS"
grep -qx 'EnvironmentFile=/etc/clawnexus/%i.conf' "$unit" || cnx_fail "$unit reads no /etc/clawnexus/%i.conf"
echo_port=$(cnx_free_port)
python3 "$abs_top_srcdir/tests/integration/link_tcp.py" echo "$echo_port" &
cnx_on_exit "link_kill $!"
cnx_wait_port 127.0.0.1 "$echo_port" || cnx_fail "echo service did not start"
install -o clawnexus -g clawnexus -m 600 "$prefix/relay.secret" "$dir/serve.secret"
sed -e "s|wss://relay.example.org/relay|ws://127.0.0.1:$port/relay|" \
    -e "s|--token-file /etc/clawnexus/office.token|--secret-file $dir/serve.secret --issuer clawnexus-registry.test|" \
    -e "s|--forward 127.0.0.1:18789|--forward 127.0.0.1:$echo_port|" \
    -e "s|--listen 10.7.0.2|--listen 127.0.0.1:$(cnx_free_port)|" \
    /usr/share/doc/clawnexus-link/examples/serve.conf > "$dir/pkgtest.conf"
state="$dir/state/clawnexus/pkgtest"     # %S/clawnexus/%i
install -d -m 755 "$dir/state" "$dir/state/clawnexus"
install -d -o clawnexus -g clawnexus -m 700 "$state"
# systemd's EnvironmentFile syntax as used there is also shell syntax.
# shellcheck disable=SC1090,SC2086
( set -a; . "$dir/pkgtest.conf"; set +a
  exec runuser -u clawnexus -- env -u LD_LIBRARY_PATH HOME="$state" \
      /usr/bin/clawnexus-link -v serve $CLAWNEXUS_LINK_ARGS ) 2> "$dir/serve.err" &
serve_pid=$!
cnx_on_exit "link_kill $serve_pid"
link_wait "$dir/serve.err" "registered as office.claw" ||
    { cat "$dir/serve.err" >&2; cnx_fail "serve from the example options file did not register"; }
out=$(echo "through the packages" | HOME="$dir/client" timeout 30 /usr/bin/clawnexus-link \
      connect --relay "ws://127.0.0.1:$port/relay" --id home.claw \
      --secret-file "$prefix/relay.secret" --issuer clawnexus-registry.test office.claw 2> "$dir/connect.err") ||
    { cat "$dir/connect.err" "$dir/serve.err" >&2; cnx_fail "connect to the served name failed"; }
[ "$out" = "through the packages" ] || cnx_fail "the stream returned '$out'"
key="$state/.clawnexus/edge/static.key"
[ "$(stat -c '%U %a' "$key" 2>/dev/null)" = "clawnexus 600" ] ||
    cnx_fail "the service's static key is not $key, owned by clawnexus, mode 600"
link_kill "$serve_pid"
cnx_log "serve as its unit runs it: registered, echoed a stream, key in the state directory"

cnx_nginx_stop "$prefix"
cnx_nginx_check_log "$prefix"

# 7. The units, offline.
units=(clawnexus-link-serve@.service clawnexus-link-connect@.service
       clawnexus-wg-sync@.service clawnexus-wg-sync@.path)
man_opt=
command -v man > /dev/null || man_opt=--man=no    # Documentation= needs man-db
systemd-analyze verify $man_opt "${units[@]/#//lib/systemd/system/}" > "$dir/verify.out" 2>&1 ||
    { cat "$dir/verify.out" >&2; cnx_fail "systemd-analyze verify refuses a unit"; }
[ -s "$dir/verify.out" ] && { cat "$dir/verify.out" >&2; cnx_fail "systemd-analyze verify warns (above)"; }
for u in clawnexus-link-serve@.service clawnexus-link-connect@.service clawnexus-wg-sync@.service; do
    score=$(systemd-analyze security --offline=yes "/lib/systemd/system/$u" 2>&1 |
            sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
    [ -n "$score" ] || cnx_fail "systemd-analyze security gave no exposure level for $u"
    cnx_log "systemd-analyze security $u: exposure $score"
    awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' ||
        cnx_fail "$u: exposure $score, more than 2.0 (a sandbox setting was lost?)"
done

# 8. remove keeps the disabled link, purge removes it; then the machine
# is compared with the snapshot.
rm -f "$REGISTRY_DIR/pkgtest-$$".db*
dpkg_wait -r libnginx-mod-stream-clawnexus > "$dir/remove.out" ||
    cnx_fail "dpkg -r libnginx-mod-stream-clawnexus failed"
[ -L "$link.removed" ] && [ ! -e "$link" ] ||
    cnx_fail "remove did not turn $link into $link.removed"
dpkg_wait --purge "${PKGS[@]}" > "$dir/purge.out" || { cat "$dir/purge.out" >&2; cnx_fail "purge failed"; }
[ ! -e "$link.removed" ] || cnx_fail "purge left $link.removed"
restore
snapshot "$dir/after"
for s in nginx misc; do
    diff "$dir/before.$s" "$dir/after.$s" > "$dir/diff.$s" ||
        { cat "$dir/diff.$s" >&2; cnx_fail "the machine differs after purge ($s, above)"; }
done
# Every package as before; one that appeared is someone else's unless it
# is one of ours.
diff "$dir/before.pkgs" "$dir/after.pkgs" > "$dir/diff.pkgs"
if grep '^<' "$dir/diff.pkgs" >&2; then
    cnx_fail "packages changed or went missing after purge (above)"
fi
for p in "${ours[@]}"; do
    if grep -q "^> $p:" "$dir/diff.pkgs"; then
        cnx_fail "$p is still known to dpkg after purge: $(grep "^> $p:" "$dir/diff.pkgs")"
    fi
done
grep '^>' "$dir/diff.pkgs" | sed 's/^> /note: installed meanwhile by another process: /'
cnx_log "packages built, linted, installed, used and purged; machine as before"
