#!/bin/bash
# `make install DESTDIR=...` lays out the module, the programs, their man
# pages and libclawnexus with a pkg-config file that a program can build
# and link against.
. "$abs_top_srcdir/tests/lib.sh"

cnx_need_cmd make pkg-config cc
cnx_tmpdir dir
stage=$dir/stage

make -s -C "$abs_top_builddir" install DESTDIR="$stage" > "$dir/install.out" 2>&1 ||
    { tail -20 "$dir/install.out" >&2; cnx_fail "make install DESTDIR=$stage failed"; }

prefix=$(make -s -C "$abs_top_builddir" -f Makefile -pn 2>/dev/null | sed -n 's/^prefix = //p' | head -1)
libdir=$(make -s -C "$abs_top_builddir" -f Makefile -pn 2>/dev/null | sed -n 's/^libdir = //p' | head -1)
libdir=${libdir//\$\{exec_prefix\}/$prefix}
bindir=$prefix/bin
mandir=$prefix/share/man

for f in \
    "$libdir/nginx/modules/ngx_stream_clawnexus_module.so" \
    "$libdir/nginx/modules/ngx_http_clawnexus_registry_module.so" \
    "$bindir/clawnexus-link" \
    "$bindir/clawnexus-wg" \
    "$mandir/man1/clawnexus-link.1" \
    "$mandir/man1/clawnexus-wg.1" \
    "$libdir/pkgconfig/libclawnexus.pc" \
    "$prefix/include/clawnexus-edge/clawnexus.h"
do
    [ -e "$stage$f" ] || cnx_fail "make install did not create $f"
done
ls "$stage$libdir"/libclawnexus.so* > /dev/null 2>&1 || cnx_fail "no libclawnexus.so in $libdir"

# The installed programs answer --help.
for p in clawnexus-link clawnexus-wg; do
    LD_LIBRARY_PATH=$stage$libdir "$stage$bindir/$p" --help > "$dir/$p.help" 2>&1 ||
        cnx_fail "installed $p --help failed"
    grep -qi usage "$dir/$p.help" || cnx_fail "installed $p --help prints no usage"
done

# A program built with the installed pkg-config file links and runs.
cat > "$dir/use.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <clawnexus.h>
#include <cnx_base64.h>
int main(void)
{
    char out[16];
    cnx_base64_encode(out, sizeof(out), (const unsigned char *) "cnx", 3);
    printf("%s %s\n", cnx_version(), out);
    return strcmp(out, "Y254") != 0;
}
C
flags=$(PKG_CONFIG_PATH=$stage$libdir/pkgconfig \
        pkg-config --define-variable=prefix="$stage$prefix" --cflags --libs libclawnexus) ||
    cnx_fail "pkg-config does not resolve the installed libclawnexus.pc"
# A library built with --enable-sanitizers needs its users built so too.
san=
[ "$CNX_SANITIZERS" = yes ] && san="-fsanitize=address,undefined"
# shellcheck disable=SC2086
cc $san -o "$dir/use" "$dir/use.c" $flags ||
    cnx_fail "a program does not build against the installed libclawnexus.pc"
out=$(LD_LIBRARY_PATH=$stage$libdir "$dir/use") || cnx_fail "the program linked with libclawnexus fails: $out"
cnx_log "installed layout complete; pkg-config build prints '$out'"
