#!/bin/bash
# Rotating the relay's JWT secret without refusing anyone:
# clawnexus_jwt_previous_secret_file keeps tokens signed with the old
# secret valid while clients move to the new one, across reloads, and
# only that secret: a token signed with any other is still refused.
. "$abs_top_srcdir/tests/lib.sh"
. "$abs_top_srcdir/tests/integration/relay-lib.sh"

relay_need_module
[ -x "$CNX_LINK" ] || cnx_fail "clawnexus-link not built: $CNX_LINK"

cnx_tmpdir dir
export HOME="$dir/home"
mkdir -p "$HOME"
port=$(cnx_free_port)
for s in old new other; do
    ( umask 077; printf '%s-secret-%s-%s\n' "$s" "$$" "$RANDOM" > "$dir/$s.secret" )
    "$CNX_LINK" token --secret-file "$dir/$s.secret" a.claw > "$dir/$s.token" ||
        cnx_fail "cannot mint a token with the $s secret"
    chmod 600 "$dir/$s.token"
done

conf() { # conf SECRET [PREVIOUS]
    cat <<CONF
$(cnx_nginx_conf_head 2 256)
stream {
    server {
        listen 127.0.0.1:$port;
        clawnexus_relay;
        clawnexus_jwt_secret_file $1.secret;
        ${2:+clawnexus_jwt_previous_secret_file $2.secret;}
    }
}
CONF
}

# accepts SECRET: a REGISTER with the token of SECRET is accepted (the
# JOIN that follows finds nobody: TARGET_OFFLINE); refuses: AUTH_FAILED.
try() {
    "$CNX_LINK" chat --relay "ws://127.0.0.1:$port/relay" --id a.claw \
        --token-file "$dir/$1.token" --to nobody.claw < /dev/null > /dev/null 2> "$dir/err"
    cat "$dir/err"
}
accepts() { try "$1" | grep -q TARGET_OFFLINE || cnx_fail "$2: the $1 token was refused: $(cat "$dir/err")"; }
refuses() { try "$1" | grep -q AUTH_FAILED || cnx_fail "$2: the $1 token was not refused: $(cat "$dir/err")"; }

reload_to() { # reload_to CONF...: new configuration, old workers gone
    local master old i
    conf "$@" > "$dir/nginx.conf"
    env $(cnx_nginx_env) "$NGINX_BIN" -t -q -p "$dir" -c nginx.conf \
        -e "$dir/logs/error.log" -g "pid $dir/t.pid;" || cnx_fail "nginx -t refused: $*"
    master=$(cnx_nginx_pid "$dir")
    old=$(pgrep -P "$master" | tr '\n' ' ')
    cnx_nginx_reload "$dir"
    for (( i=0; i<200; i++ )); do
        local alive=0 p
        for p in $old; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && [ -n "$(pgrep -P "$master")" ] && return 0
        sleep 0.05
    done
    cnx_fail "the workers of the previous configuration did not exit"
}

conf old > "$dir/nginx.conf"
cnx_nginx_start "$dir"
cnx_wait_port 127.0.0.1 "$port" || cnx_fail "nginx did not listen on $port"
accepts old "before the rotation"
refuses new "before the rotation"

reload_to new old
accepts new "during the rotation"
accepts old "during the rotation"
refuses other "during the rotation"

reload_to new
accepts new "after the rotation"
refuses old "after the rotation"

# the directive names its file when it cannot be read
conf new missing > "$dir/bad.conf"
out=$(env $(cnx_nginx_env) "$NGINX_BIN" -t -p "$dir" -c bad.conf -e "$dir/t.log" -g "pid $dir/t.pid;" 2>&1) &&
    cnx_fail "nginx -t accepted a missing previous secret file"
grep -q 'missing.secret' <<< "$out" || cnx_fail "the error does not name the file: $out"

cnx_nginx_stop "$dir"
cnx_nginx_check_log "$dir"
cnx_log "a secret rotated with clawnexus_jwt_previous_secret_file refuses no valid token"
