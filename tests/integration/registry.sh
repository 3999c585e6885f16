#!/bin/bash
# The registry module (ngx_http_clawnexus_registry_module) in the stock
# nginx, over HTTPS beside the relay over TLS: names, 409, tokens the relay
# accepts, every error answer (401, 403, 404, 405, 400, 411, 413, 429) as JSON,
# the database's mode, names kept across a restart and a reload, and the
# configuration errors an operator meets.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"
. "$abs_top_srcdir/tests/integration/registry-lib.sh"

relay_need_websockets
registry_need ed25519

cnx_tmpdir dir
# the workers (nobody) reach the database directory and nothing else
chmod 711 "$dir"
mkdir "$dir/db"
chown nobody "$dir/db"
relay_port=$(cnx_free_port)
reg_port=$(cnx_free_port)
ro_port=$(cnx_free_port)
ro_relay=$(cnx_free_port)
relay_secret "$dir" registry-secret
registry_setup "$dir"

check() { registry_check "$1" "$reg_port" "$relay_port" "$dir"; }

# keys A and B (admitted) and a stranger; the allow file lists A and B
registry_keys
# and two clawnexus-link instances, by what their whoami prints
mkdir -p "$dir/la" "$dir/lb" "$dir/lc"
for h in la lb; do
    HOME=$dir/$h "$CNX_LINK" whoami >> "$dir/allowed-keys" ||
        cnx_fail "clawnexus-link whoami failed"
done
[ "$(stat -c %a "$dir/la/.clawnexus/edge/registry.key")" = 600 ] ||
    cnx_fail "the registry key is not mode 0600"
grep -Eq '^ed25519:[0-9a-f]{64}$' <(HOME=$dir/la "$CNX_LINK" whoami) ||
    cnx_fail "whoami does not print ed25519:<64 hex>"
[ "$(HOME=$dir/la "$CNX_LINK" whoami)" = "$(tail -2 "$dir/allowed-keys" | head -1)" ] ||
    cnx_fail "whoami printed another key the second time"

conf() {  # conf ADDR_RATE [KEY_RATE]
    {
        registry_location /clawnexus/ db/registry.db "$relay_port" \
            "clawnexus_registry_allow_file allowed-keys;"
        registry_location /short/ db/registry.db "$relay_port" \
            "clawnexus_registry_allow_file allowed-keys;" \
            "clawnexus_registry_token_ttl 60s;"
        registry_location /open/ db/registry.db "$relay_port"
    } | registry_conf "$relay_port" "$reg_port" registry.test "
    access_log off;
    clawnexus_jwt_secret_file relay.secret;
    clawnexus_jwt_issuer registry.test;
    clawnexus_registry_rate_limit ${2:-120r/m} $1;"
}

# configuration errors name what is wrong
conf off > "$dir/nginx.conf"
printf 'ed25519:1234\n' > "$dir/bad-keys"
sed 's|allow_file allowed-keys|allow_file bad-keys|' "$dir/nginx.conf" \
    > "$dir/bad.conf"
out=$(env $(cnx_nginx_env) "$NGINX_BIN" -t -p "$dir" -c bad.conf -e "$dir/t.log" 2>&1) &&
    cnx_fail "nginx -t accepted a malformed allow file"
case "$out" in *'bad-keys", line 1: expected "ed25519:'*) ;;
    *) cnx_fail "allow file error does not name the line: $out";; esac
sed '/relay_hint/d' "$dir/nginx.conf" > "$dir/bad.conf"
out=$(env $(cnx_nginx_env) "$NGINX_BIN" -t -p "$dir" -c bad.conf -e "$dir/t.log" 2>&1) &&
    cnx_fail "nginx -t accepted a registry without relay_hint"
case "$out" in *'needs "clawnexus_registry_relay_hint"'*) ;;
    *) cnx_fail "missing relay_hint not reported: $out";; esac
cnx_log "nginx -t names a bad allow file line and a missing relay hint"

# a worker that cannot use the database answers 503 in JSON at once (the
# directory is the master's: the workers cannot make SQLite's WAL files)
mkdir -p "$dir/ro/db" "$dir/ro/logs"
chmod 755 "$dir/ro" "$dir/ro/db"
cp "$dir/relay.secret" "$dir/tls.crt" "$dir/tls.key" "$dir/allowed-keys" "$dir/ro/"
conf off | sed "s/$reg_port/$ro_port/; s/$relay_port/$ro_relay/" > "$dir/ro/nginx.conf"
cnx_nginx_start "$dir/ro"
cnx_wait_port 127.0.0.1 "$ro_port" || cnx_fail "nginx did not listen on $ro_port"
"$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import registry_check as rc
print(rc.body(rc.key(sys.argv[2], "a"), "{\"claw_id\":\"ro\"}"))' \
    "$abs_top_srcdir/tests/integration" "$dir/state" > "$dir/ro/register.json"
for path in resolve/main.claw register; do
    got=$(curl -sk --max-time 5 -w ' %{http_code}' -H 'Content-Type: application/json' \
          $([ "$path" = register ] && echo "--data-binary @$dir/ro/register.json") \
          "https://localhost:$ro_port/clawnexus/$path")
    [ "$got" = '{"error":"registry database unavailable"} 503' ] ||
        cnx_fail "database unavailable: /$path answered '$got'"
done
# and the request ends: the worker closes the connection after the error
"$PY" - "$ro_port" <<'PY' || cnx_fail "database unavailable: the request was never finished"
import socket, ssl, sys
ctx = ssl._create_unverified_context()
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))),
                    server_hostname="localhost")
s.settimeout(5)
s.sendall(b"GET /clawnexus/resolve/main.claw HTTP/1.1\r\nHost: localhost\r\n\r\n")
got = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
except (socket.timeout, ssl.SSLError) as e:
    sys.exit("no end of the connection after %r (%s)" % (got[-60:], e))
assert b" 503 " in got.split(b"\r\n")[0], got
PY
grep -q 'clawnexus registry: .*writable by the worker user' "$dir/ro/logs/error.log" ||
    cnx_fail "the worker did not say why the database is unavailable"
cnx_nginx_stop "$dir/ro"
cnx_log "a worker without its database answers 503 in JSON and says why in the log"

conf off > "$dir/nginx.conf"
cnx_nginx_start "$dir"
cnx_wait_port 127.0.0.1 "$reg_port" || cnx_fail "nginx did not listen on $reg_port"
grep -q 'without "clawnexus_registry_allow_file" is open' \
    "$dir/logs/startup.log" "$dir/logs/error.log" ||
    cnx_fail "no warning about the open registry at /open/"
cnx_log "an open registry (no allow file) is warned about at start"

mode=$(stat -c '%a %U' "$dir/db/registry.db")
[ "$mode" = "600 nobody" ] || cnx_fail "database mode/owner is '$mode', want '600 nobody'"
cnx_log "the database is created 0600, owned by the worker user"

check first

# two clawnexus-link chats with registry tokens only (no relay secret);
# the relay comes from the registry's relay_hint, as for the daemon
reg_url="https://localhost:$reg_port/clawnexus"
mkfifo "$dir/la.in"
# A's tokens live 60 s: renewed in the background 10 s after the first
HOME=$dir/la "$CNX_LINK" -v chat --registry "https://localhost:$reg_port/short" \
    --ca-file "$dir/tls.crt" --id linka < "$dir/la.in" > "$dir/la.out" 2> "$dir/la.err" &
la_pid=$!
cnx_on_exit "kill $la_pid"
exec 7> "$dir/la.in"
for (( i=0; i<200; i++ )); do
    grep -q "registered as linka.claw" "$dir/la.err" && break
    kill -0 $la_pid 2>/dev/null || break
    sleep 0.05
done
grep -q "registered as linka.claw" "$dir/la.err" ||
    { cat "$dir/la.err" >&2; cnx_fail "link A did not register through the registry"; }
for (( i=0; i<300; i++ )); do
    [ "$(grep -c 'token for linka.claw, valid 60s' "$dir/la.err")" -ge 2 ] && break
    sleep 0.1
done
[ "$(grep -c 'token for linka.claw, valid 60s' "$dir/la.err")" -ge 2 ] ||
    { cat "$dir/la.err" >&2; cnx_fail "link A did not renew its 60 s token"; }
cnx_log "clawnexus-link renews its registry token before it expires"
printf 'hello from B\n' | HOME=$dir/lb timeout 20 "$CNX_LINK" chat \
    --registry "$reg_url" --ca-file "$dir/tls.crt" --id linkb.claw \
    --to linka.claw > "$dir/lb.out" 2> "$dir/lb.err" ||
    { cat "$dir/lb.err" >&2; cnx_fail "link B could not chat with linka.claw"; }
grep -qx 'hello from B' "$dir/la.out" ||
    { cat "$dir/la.err" >&2; cnx_fail "link A did not get B's line"; }
cnx_log "clawnexus-link chat --registry: names and tokens from the registry, relay from its hint"
exec 7>&-
wait $la_pid

# a key the allow file does not list: a clear refusal, exit code 7
HOME=$dir/lc "$CNX_LINK" chat --registry "$reg_url" --ca-file "$dir/tls.crt" \
    --id linkc < /dev/null > /dev/null 2> "$dir/lc.err"
rc=$?
[ $rc -eq 7 ] && grep -q "/register linkc: 403 public key not admitted" "$dir/lc.err" ||
    { cat "$dir/lc.err" >&2; cnx_fail "unadmitted link: exit $rc"; }
# and a name another key owns
HOME=$dir/lb "$CNX_LINK" chat --registry "$reg_url" --ca-file "$dir/tls.crt" \
    --id linka.claw < /dev/null > /dev/null 2> "$dir/lc.err"
rc=$?
[ $rc -eq 7 ] && grep -q "409 name already registered by another key" "$dir/lc.err" ||
    { cat "$dir/lc.err" >&2; cnx_fail "taken name: exit $rc"; }
cnx_log "clawnexus-link names the registry's 403 and 409 and exits 7"

cnx_nginx_stop "$dir"
cnx_nginx_start "$dir"
cnx_wait_port 127.0.0.1 "$reg_port" || cnx_fail "nginx did not come back"
check restarted

# a reload with limits per key (4/min) and per address (6/min) keeps the
# names too
conf 6r/m 4r/m > "$dir/nginx.conf"
cnx_nginx_reload "$dir"
sleep 1
check limited

cnx_nginx_stop "$dir"
if grep -E '\[(alert|emerg|crit)\]|Sanitizer|runtime error:' \
        "$dir/logs/error.log" >&2; then
    cnx_fail "error log has alerts (above)"
fi
cnx_log "registry: names, tokens, errors as JSON, restart and reload"
