#!/bin/sh
# Build one of this project's modules (ngx_stream_clawnexus_module.so,
# ngx_http_clawnexus_registry_module.so: the name of OUTPUT.so) with nginx's
# own configure and auto/module, using the flags the distribution built its
# nginx with, so that the result loads into the stock binary with
# load_module.  Both come from one configured tree; build them one after
# the other.
#   ngx-build.sh MODULE_DIR OUTPUT.so
# Environment: NGINX_SRC (module build tree), NGX_BUILD (scratch copy),
# NGX_CC, NGX_CC_OPT, NGX_LD_OPT.
set -eu

module_dir=$1
out=$2
: "${NGINX_SRC:?}" "${NGX_BUILD:?}"

# nginx's configure picks -O; Debian builds nginx with -O2, and so does
# every other part of this project (the relay's hot loops gain from it).
# Flags given in NGX_CC_OPT come later and win.
cc_opt="-O2 ${NGX_CC_OPT:-}"

stamp="$NGX_BUILD/.configured"
want="$NGINX_SRC|$module_dir|${NGX_CC:-cc}|$cc_opt|${NGX_LD_OPT:-}"

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] \
   || [ "$module_dir/config" -nt "$stamp" ]; then
    rm -rf "$NGX_BUILD"
    mkdir -p "$(dirname "$NGX_BUILD")"
    cp -a "$NGINX_SRC" "$NGX_BUILD"
    flags=""
    if [ -f "$NGX_BUILD/conf_flags" ]; then
        # conf_flags is a bash array assignment: NGX_CONF_FLAGS=( ... )
        flags=$(sed -n 's/^NGX_CONF_FLAGS=(\(.*\))$/\1/p' "$NGX_BUILD/conf_flags")
    fi
    # The stream flags match how Debian built ngx_stream_module.so, so the
    # structures the module sees have the layout the binary uses.
    (cd "$NGX_BUILD" && \
        eval "./configure $flags" \
            --with-compat \
            --with-stream=dynamic --with-stream_ssl_module \
            --with-stream_ssl_preread_module --with-stream_realip_module \
            --with-cc="${NGX_CC:-cc}" \
            --with-cc-opt="\"$cc_opt\"" \
            --with-ld-opt="\"${NGX_LD_OPT:-}\"" \
            --add-dynamic-module="$module_dir" \
            > "$NGX_BUILD/configure.out" 2>&1) || {
        echo "ngx-build: nginx configure failed, see $NGX_BUILD/configure.out" >&2
        tail -20 "$NGX_BUILD/configure.out" >&2
        exit 1
    }
    printf '%s' "$want" > "$stamp"
fi

name=$(basename "$out")
${MAKE:-make} -s -C "$NGX_BUILD" -f objs/Makefile "objs/$name"
cp "$NGX_BUILD/objs/$name" "$out.tmp"
mv "$out.tmp" "$out"
