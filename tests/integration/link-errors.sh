#!/bin/bash
# clawnexus-link on bad input: every failure is one line on stderr naming
# the file, URL or name, with the documented exit status, and no secret
# ever appears in the output.  Also: wss:// to the relay behind nginx's TLS.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/link-lib.sh"

link_need_relay
cnx_tmpdir dir
export HOME="$dir/home"
mkdir -p "$HOME"
link_relay_start "$dir"

# expect STATUS PATTERN CMD...: run, check status, one stderr line, pattern
expect() {
    local want=$1 pat=$2 rc; shift 2
    "$@" > "$dir/out" 2> "$dir/err" < /dev/null
    rc=$?
    [ $rc -eq "$want" ] || { cat "$dir/err" >&2; cnx_fail "'$*' exited $rc, expected $want"; }
    grep -q -- "$pat" "$dir/err" || { cat "$dir/err" >&2; cnx_fail "'$*': stderr lacks '$pat'"; }
    [ "$(wc -l < "$dir/err")" -le 2 ] || { cat "$dir/err" >&2; cnx_fail "'$*': more than two lines on stderr"; }
    if grep -q -- "$RELAY_SECRET" "$dir/out" "$dir/err"; then
        cnx_fail "'$*' printed the secret"
    fi
}

L="$CNX_LINK"
S=(--secret-file "$RELAY_SECRET_FILE" --issuer "$RELAY_ISS")
expect 2 "unknown command" "$L" frobnicate
expect 2 "needs --secret-file" "$L" token
expect 4 "$dir/nope" "$L" token --secret-file "$dir/nope" a.claw
expect 5 "not a valid claw id" "$L" token --secret-file "$RELAY_SECRET_FILE" "bad id"
expect 5 "bad relay URL 'http://x/relay'" "$L" chat --relay http://x/relay --id a.claw "${S[@]}"
expect 5 "bad relay URL" "$L" chat --relay "ws://[::1/relay" --id a.claw "${S[@]}"
expect 4 "$dir/missing.token" "$L" chat --relay "$RELAY_URL" --id a.claw --token-file "$dir/missing.token"
expect 2 "no relay credentials" "$L" chat --relay "$RELAY_URL" --id a.claw
# both credentials is a usage error, not a file error
expect 2 "only one of --token-file and --secret-file" "$L" chat --relay "$RELAY_URL" --id a.claw \
    --token-file "$dir/missing.token" "${S[@]}"
# a CA file that does not exist is a file error naming it
expect 4 "CA file $dir/nope.pem (--ca-file)" "$L" chat --relay "wss://localhost:1/relay" \
    --ca-file "$dir/nope.pem" --id a.claw "${S[@]}"
expect 2 "--session" "$L" chat --relay "$RELAY_URL" --id a.claw "${S[@]}" --session v3
dead=$(cnx_free_port)
expect 6 "ws://127.0.0.1:$dead/relay: connection refused" \
    "$L" chat --relay "ws://127.0.0.1:$dead/relay" --id a.claw "${S[@]}"
printf 'not-a-token\n' > "$dir/bad.token"; chmod 600 "$dir/bad.token"
expect 7 "refused the token for a.claw: AUTH_FAILED.*$dir/bad.token" "$L" chat --relay "$RELAY_URL" --id a.claw --token-file "$dir/bad.token" --to b.claw
# a token minted with the wrong secret
printf 'some-other-secret\n' > "$dir/other.secret"; chmod 600 "$dir/other.secret"
expect 7 "refused the token for a.claw: AUTH_FAILED" "$L" chat --relay "$RELAY_URL" --id a.claw --secret-file "$dir/other.secret" --issuer "$RELAY_ISS" --to b.claw
expect 7 "nobody.claw is not registered there: TARGET_OFFLINE" "$L" chat --relay "$RELAY_URL" --id a.claw "${S[@]}" --to nobody.claw
expect 7 "nobody.claw is not registered there: TARGET_OFFLINE" "$L" connect --relay "$RELAY_URL" --id a.claw "${S[@]}" nobody.claw
expect 5 "unknown name nobody.claw" "$L" connect --id a.claw nobody.claw
expect 5 "--direct" "$L" connect --id a.claw --direct nowhere nobody.claw
printf '{"relay": [1,2]}' > "$dir/bad.json"
expect 4 "$dir/bad.json:1:11: \"relay\" must be an object" "$L" list --config "$dir/bad.json"
printf '{"relay": ' > "$dir/trunc.json"
expect 4 "$dir/trunc.json:1:11: not valid JSON" "$L" chat --config "$dir/trunc.json" --id a.claw
printf '{"edge": {\n  "id": "a.claw", "secert_file": "x"}}\n' > "$dir/typo.json"
expect 0 "warning: $dir/typo.json:2:19: unknown key \"secert_file\"" "$L" list --config "$dir/typo.json"
# a world-readable static key is refused
mkdir -p "$HOME/.clawnexus/edge"
head -c 32 /dev/urandom | base64 > "$HOME/.clawnexus/edge/static.key"
chmod 644 "$HOME/.clawnexus/edge/static.key"
expect 4 "static.key" "$L" chat --relay "$RELAY_URL" --id a.claw "${S[@]}" --to b.claw
rm -f "$HOME/.clawnexus/edge/static.key"

# token: the one place a token is printed; it verifies with the secret
tok=$("$L" token --secret-file "$RELAY_SECRET_FILE" --issuer iss.example --ttl 60 x.claw) ||
    cnx_fail "token failed"
python3 - "$tok" "$RELAY_SECRET" <<'PY' || cnx_fail "token does not verify"
import base64, hashlib, hmac, json, sys, time
tok, secret = sys.argv[1], sys.argv[2]
h, p, s = tok.split(".")
d = lambda x: base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
assert json.loads(d(h)) == {"alg": "HS256", "typ": "JWT"}
c = json.loads(d(p))
assert c["sub"] == "x.claw" and c["iss"] == "iss.example"
assert c["exp"] - c["iat"] == 60 and abs(c["iat"] - time.time()) < 60
mac = hmac.new(secret.encode(), (h + "." + p).encode(), hashlib.sha256).digest()
assert hmac.compare_digest(mac, d(s))
PY

# wss://: nginx terminates TLS in front of the relay module
if command -v openssl > /dev/null; then
    tdir="$dir/tls"; mkdir -p "$tdir/logs"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$tdir/key.pem" -out "$tdir/cert.pem" -days 2 \
        -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost" \
        > /dev/null 2>&1 || cnx_fail "openssl could not make a test certificate"
    cp "$RELAY_SECRET_FILE" "$tdir/relay.secret"
    tport=$(cnx_free_port)
    cat > "$tdir/nginx.conf" <<CONF
$(cnx_nginx_conf_head 1 64)
stream {
    server {
        listen 127.0.0.1:$tport ssl;
        ssl_certificate cert.pem;
        ssl_certificate_key key.pem;
        clawnexus_relay;
        clawnexus_jwt_secret_file relay.secret;
        clawnexus_jwt_issuer $RELAY_ISS;
    }
}
CONF
    cnx_nginx_start "$tdir"
    cnx_wait_port 127.0.0.1 "$tport" || cnx_fail "TLS relay did not listen"
    # an untrusted certificate is refused...
    expect 6 "TLS: the certificate is not trusted (self-signed certificate); .*--ca-file FILE or edge.ca_file" \
        "$L" chat --relay "wss://localhost:$tport/relay" --id a.claw "${S[@]}"
    # ...and trusted with --ca-file: two chats talk v2 over wss://
    mkfifo "$dir/tin"
    HOME="$dir/h1" "$L" -v chat --relay "wss://localhost:$tport/relay" --ca-file "$tdir/cert.pem" \
        --id tls-a.claw "${S[@]}" < "$dir/tin" > "$dir/t1.out" 2> "$dir/t1.err" &
    apid=$!; cnx_on_exit "link_kill $apid"
    exec 7> "$dir/tin"
    link_wait_grep "$dir/t1.err" "registered as tls-a.claw" ||
        { cat "$dir/t1.err" >&2; cnx_fail "chat over wss:// did not register"; }
    out=$(echo "over tls" | HOME="$dir/h2" timeout 20 "$L" chat --relay "wss://localhost:$tport/relay" \
        --ca-file "$tdir/cert.pem" --id tls-b.claw "${S[@]}" --to tls-a.claw 2>&1) ||
        { echo "$out" >&2; cnx_fail "chat over wss:// failed"; }
    link_wait_grep "$dir/t1.out" "over tls" || cnx_fail "message over wss:// not received"
    exec 7>&-
    cnx_nginx_stop "$tdir"
    cnx_nginx_check_log "$tdir"
fi

cnx_nginx_stop "$dir/relay"
cnx_nginx_check_log "$dir/relay"
cnx_log "bad input gives one line and the documented status; wss:// works"
